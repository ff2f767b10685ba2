#include "sockets.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netparse.h"
#include "util.h"

/* Netlink hands out at most 32 KiB per message batch; twice that leaves
 * room and never truncates. */
#define RECV_BUF_SIZE (64 * 1024)

/* TIME_WAIT and NEW_SYN_RECV sockets have no fd, so no inode to match. */
#define INET_STATES (~((1u << 6) | (1u << 12)))

struct sock_table {
	uint32_t *slots;          /* 0 empty, else index + 1 into items */
	size_t nslots;            /* a power of two */
	struct sock_info *items;
	size_t count, cap;
};

struct sock_resolver {
	pid_t pid;
	int nl;                   /* NETLINK_SOCK_DIAG in the target's netns, or -1 */
	bool nl_dirty;            /* a dump was abandoned: drain before the next */
	unsigned nl_missing;      /* families the kernel cannot dump (1u << proto) */
	int net_dirfd;            /* /proc/PID/net, opened on first use */
	int net_fds[PROTO_COUNT]; /* kept-open /proc/PID/net files */
	char *text;
	size_t text_cap;
	unsigned char *rbuf;
	uint32_t seq;
	char note[160];
	struct sock_table t;
};

static const char *const proc_net_name[PROTO_COUNT] = {
	[PROTO_TCP] = "tcp", [PROTO_TCP6] = "tcp6", [PROTO_UDP] = "udp",
	[PROTO_UDP6] = "udp6", [PROTO_UNIX] = "unix", [PROTO_RAW] = "raw",
	[PROTO_RAW6] = "raw6",
};

static size_t table_hash(uint64_t ino, size_t nslots)
{
	return (size_t)((ino * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (nslots - 1);
}

static uint32_t *table_slot(const struct sock_table *t, uint64_t ino)
{
	size_t i = table_hash(ino, t->nslots);

	while (t->slots[i] && t->items[t->slots[i] - 1].ino != ino)
		i = (i + 1) & (t->nslots - 1);
	return &t->slots[i];
}

static void table_grow(struct sock_table *t)
{
	free(t->slots);
	t->nslots = t->nslots ? t->nslots * 2 : 1024;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	for (size_t k = 0; k < t->count; k++)
		*table_slot(t, t->items[k].ino) = (uint32_t)(k + 1);
}

static void table_clear(struct sock_table *t)
{
	if (t->slots)
		memset(t->slots, 0, t->nslots * sizeof(*t->slots));
	t->count = 0;
}

/* The same inode may come twice (a retried dump, or a socket that moved
 * between tables mid-dump): the later report wins. */
static void table_put(const struct sock_info *si, void *arg)
{
	struct sock_table *t = arg;
	uint32_t *slot;

	if (si->ino == 0)
		return;
	if (2 * (t->count + 1) > t->nslots)
		table_grow(t);
	slot = table_slot(t, si->ino);
	if (*slot) {
		t->items[*slot - 1] = *si;
		return;
	}
	if (t->count == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->items = xrealloc(t->items, t->cap * sizeof(*t->items));
	}
	t->items[t->count] = *si;
	*slot = (uint32_t)++t->count;
}

static int ns_inode(const char *path, ino_t *ino)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

static int diag_socket(void)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return s < 0 ? -errno : s;
}

/* Create the netlink socket inside the target's netns: a socket stays bound
 * to the namespace it was made in, so we switch only for socket().  *stuck
 * says we could not switch back. */
static int diag_socket_in(const char *target_ns, bool *stuck)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int target, s, err;

	if (self < 0)
		return -errno;
	target = open(target_ns, O_RDONLY | O_CLOEXEC);
	if (target < 0) {
		err = -errno;
		close(self);
		return err;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		err = -errno;
		close(target);
		close(self);
		return err;
	}
	close(target);
	s = diag_socket();
	if (setns(self, CLONE_NEWNET) < 0) {
		err = -errno;
		*stuck = true;
		if (s >= 0)
			close(s);
		close(self);
		return err;
	}
	close(self);
	return s;
}

int sockets_open(pid_t pid, struct sock_resolver **out)
{
	struct sock_resolver *r = xcalloc(1, sizeof(*r));
	char path[64];
	ino_t self_ino = 0, target_ino = 0;
	bool stuck = false;
	int rc;

	r->pid = pid;
	r->nl = r->net_dirfd = -1;
	for (int i = 0; i < PROTO_COUNT; i++)
		r->net_fds[i] = -1;
	r->rbuf = xmalloc(RECV_BUF_SIZE);

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	rc = ns_inode("/proc/thread-self/ns/net", &self_ino);
	if (rc == 0)
		rc = ns_inode(path, &target_ino);
	if (rc < 0) {
		snprintf(r->note, sizeof(r->note),
			 "cannot compare network namespaces (%s); read /proc/%d/net",
			 strerror(-rc), (int)pid);
	} else if (self_ino == target_ino) {
		rc = diag_socket();
		if (rc < 0)
			snprintf(r->note, sizeof(r->note),
				 "netlink sock_diag unavailable (%s); read /proc/%d/net",
				 strerror(-rc), (int)pid);
	} else {
		rc = diag_socket_in(path, &stuck);
		/* Carrying on would show this thread the target's network. */
		if (stuck) {
			sockets_close(r);
			return rc;
		}
		if (rc == -EPERM)
			snprintf(r->note, sizeof(r->note),
				 "target in another network namespace; read /proc/%d/net (no CAP_SYS_ADMIN)",
				 (int)pid);
		else if (rc < 0)
			snprintf(r->note, sizeof(r->note),
				 "target in another network namespace (%s); read /proc/%d/net",
				 strerror(-rc), (int)pid);
	}
	r->nl = rc >= 0 ? rc : -1;
	*out = r;
	return 0;
}

void sockets_close(struct sock_resolver *r)
{
	if (!r)
		return;
	if (r->nl >= 0)
		close(r->nl);
	if (r->net_dirfd >= 0)
		close(r->net_dirfd);
	for (int i = 0; i < PROTO_COUNT; i++)
		if (r->net_fds[i] >= 0)
			close(r->net_fds[i]);
	free(r->t.slots);
	free(r->t.items);
	free(r->text);
	free(r->rbuf);
	free(r);
}

/* Finish whatever an abandoned dump left queued: the kernel refuses a new
 * dump on a socket whose previous one still runs. */
static void diag_drain(struct sock_resolver *r)
{
	while (recv(r->nl, r->rbuf, RECV_BUF_SIZE, MSG_DONTWAIT) > 0 || errno == EINTR)
		;
	r->nl_dirty = false;
}

static int diag_request(struct sock_resolver *r, enum sock_proto proto)
{
	struct {
		struct nlmsghdr h;
		union {
			struct inet_diag_req_v2 inet;
			struct unix_diag_req ux;
		} r;
	} req;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	size_t plen;

	memset(&req, 0, sizeof(req));
	if (proto == PROTO_UNIX) {
		req.r.ux.sdiag_family = AF_UNIX;
		req.r.ux.udiag_states = ~0u;
		req.r.ux.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
		plen = sizeof(req.r.ux);
	} else {
		bool v6 = proto == PROTO_TCP6 || proto == PROTO_UDP6 || proto == PROTO_RAW6;
		req.r.inet.sdiag_family = v6 ? AF_INET6 : AF_INET;
		if (proto == PROTO_TCP || proto == PROTO_TCP6)
			req.r.inet.sdiag_protocol = IPPROTO_TCP;
		else if (proto == PROTO_UDP || proto == PROTO_UDP6)
			req.r.inet.sdiag_protocol = IPPROTO_UDP;
		else
			req.r.inet.sdiag_protocol = IPPROTO_RAW;
		/* For raw, this byte is sdiag_raw_protocol: IPPROTO_RAW asks for all. */
		if (req.r.inet.sdiag_protocol == IPPROTO_RAW)
			req.r.inet.pad = IPPROTO_RAW;
		req.r.inet.idiag_states = INET_STATES;
		plen = sizeof(req.r.inet);
	}
	req.h.nlmsg_len = NLMSG_LENGTH(plen);
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = ++r->seq;

	for (;;) {
		if (sendto(r->nl, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel,
			   sizeof(kernel)) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* One dump of one family into the table.  -EINTR means the kernel saw the
 * tables change mid-dump (or a signal cut the read): worth one retry. */
static int diag_dump(struct sock_resolver *r, enum sock_proto proto)
{
	bool intr = false;
	int rc, done = 0;

	if (r->nl_dirty)
		diag_drain(r);
	rc = diag_request(r, proto);
	if (rc < 0)
		return rc;
	while (!done) {
		struct iovec iov = { r->rbuf, RECV_BUF_SIZE };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(r->nl, &msg, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r->nl_dirty = true;
			return -errno;
		}
		if (n == 0 || (msg.msg_flags & MSG_TRUNC)) {
			r->nl_dirty = true;
			return -EMSGSIZE;
		}
		if (proto == PROTO_UNIX)
			rc = netparse_diag_unix(r->rbuf, (size_t)n, table_put, &r->t, &done);
		else
			rc = netparse_diag_inet(r->rbuf, (size_t)n, proto, table_put, &r->t, &done);
		if (rc == -EINTR)
			intr = true;
		else if (rc < 0) {
			r->nl_dirty = !done;
			return rc;
		}
	}
	return intr ? -EINTR : 0;
}

static int proc_read(struct sock_resolver *r, enum sock_proto proto)
{
	ssize_t n;
	int rc;

	if (r->net_dirfd < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/net", (int)r->pid);
		r->net_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->net_dirfd < 0)
			return errno == ENOENT ? -ESRCH : -errno;
	}
	if (r->net_fds[proto] < 0) {
		r->net_fds[proto] = openat(r->net_dirfd, proc_net_name[proto], O_RDONLY | O_CLOEXEC);
		if (r->net_fds[proto] < 0)
			return -errno;
	}
	n = util_pread_all(r->net_fds[proto], &r->text, &r->text_cap);
	if (n < 0)
		return (int)n;
	if (proto == PROTO_UNIX)
		rc = netparse_proc_unix(r->text, table_put, &r->t);
	else
		rc = netparse_proc_inet(r->text, proto, table_put, &r->t);
	return rc < 0 ? rc : 0;
}

/* A family the kernel cannot dump by netlink (raw without raw_diag, say)
 * is read from /proc/PID/net instead. */
static int refresh_one(struct sock_resolver *r, enum sock_proto proto)
{
	int rc;

	if (r->nl < 0 || (r->nl_missing & (1u << proto)))
		return proc_read(r, proto);
	rc = diag_dump(r, proto);
	if (rc == -EINTR || rc == -ENOBUFS)
		rc = diag_dump(r, proto);
	if (rc == -ENOENT || rc == -EOPNOTSUPP || rc == -EINVAL || rc == -EPROTONOSUPPORT) {
		r->nl_missing |= 1u << proto;
		rc = proc_read(r, proto);
	}
	return rc;
}

/* Families that fail leave their sockets unresolved but do not stop the
 * others: the first error is returned along with a usable table. */
int sockets_refresh(struct sock_resolver *r, unsigned want)
{
	int first_err = 0;

	table_clear(&r->t);
	for (int p = 0; p < PROTO_COUNT; p++) {
		if (!(want & (1u << p)) || !proc_net_name[p])
			continue;
		int rc = refresh_one(r, (enum sock_proto)p);
		/* No /proc/PID/net/tcp6 (IPv6 disabled): no such sockets exist. */
		if (rc == -ENOENT && r->net_dirfd >= 0)
			rc = 0;
		if (rc < 0 && !first_err)
			first_err = rc;
	}
	return first_err;
}

const struct sock_info *sockets_lookup(const struct sock_resolver *r, uint64_t ino)
{
	uint32_t slot;

	if (!r->t.count || ino == 0)
		return NULL;
	slot = *table_slot(&r->t, ino);
	return slot ? &r->t.items[slot - 1] : NULL;
}

const char *sockets_note(const struct sock_resolver *r)
{
	return r->note;
}
