#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockets.h"
#include "util.h"

#define DENTS_BUF_SIZE (32 * 1024)

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum fd_kind classify_anon(const char *what)
{
	static const struct {
		const char *name;
		enum fd_kind kind;
	} known[] = {
		{ "[eventfd]", FD_EVENTFD }, { "[eventpoll]", FD_EPOLL },
		{ "[timerfd]", FD_TIMERFD }, { "[signalfd]", FD_SIGNALFD },
		{ "inotify", FD_INOTIFY },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(what, known[i].name) == 0)
			return known[i].kind;
	return FD_ANON;
}

enum fd_kind fds_classify(const char *link, mode_t mode)
{
	if (starts_with(link, "socket:["))
		return FD_SOCKET;
	if (starts_with(link, "pipe:["))
		return FD_PIPE;
	if (starts_with(link, "anon_inode:"))
		return classify_anon(link + strlen("anon_inode:"));
	if (link[0] != '/')
		return FD_OTHER;
	if (starts_with(link, "/memfd:"))
		return FD_MEMFD;
	if (S_ISDIR(mode))
		return FD_DIR;
	if (S_ISFIFO(mode))
		return FD_FIFO;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return FD_DEVICE;
	/* Unknown mode (the stat failed): the path is all there is to go by. */
	if (mode == 0 && starts_with(link, "/dev/"))
		return FD_DEVICE;
	return FD_FILE;
}

uint64_t fds_link_inode(const char *link)
{
	const char *p;
	char *end;
	uint64_t ino;

	if (link[0] == '/' || !(p = strstr(link, ":[")))
		return 0;
	p += 2;
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	ino = strtoull(p, &end, 10);
	if (errno || end[0] != ']' || end[1] != '\0')
		return 0;
	return ino;
}

/* Only "." and ".." in a small first read means the directory is empty. */
static int dir_is_empty(int dirfd)
{
	_Alignas(struct dirent64) char buf[1024];
	ssize_t n;
	size_t off = 0;
	bool empty = true;

	if (lseek(dirfd, 0, SEEK_SET) < 0)
		return -errno;
	n = getdents64(dirfd, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	while (off < (size_t)n) {
		struct dirent64 *d = (struct dirent64 *)(buf + off);
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			empty = false;
		off += d->d_reclen;
	}
	lseek(dirfd, 0, SEEK_SET);
	return empty;
}

/* A size of 0 is the truth on kernels >= 6.2 only when the process has no
 * fds; older kernels always say 0.  A one-read peek at the listing tells the
 * two apart without counting. */
long fds_count(int fd_dirfd)
{
	struct stat st;
	int empty;

	if (fstat(fd_dirfd, &st) < 0)
		return -errno;
	if (st.st_size > 0)
		return (long)st.st_size;
	empty = dir_is_empty(fd_dirfd);
	if (empty < 0)
		return empty;
	return empty ? 0 : -ENOTSUP;
}

static int cmp_fd(const void *a, const void *b)
{
	const struct fd_entry *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

static bool parse_fd_name(const char *name, int *fd)
{
	long v = 0;

	if (!*name)
		return false;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9' || v > INT_MAX / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v > INT_MAX)
		return false;
	*fd = (int)v;
	return true;
}

/* The previous scan's entry for fd when it had the same link text: both
 * tables are sorted by fd, so a moving cursor finds it in O(1) amortized. */
static const struct fd_entry *same_as_before(const struct fd_table *prev, size_t *cursor,
					     int fd, const char *link)
{
	if (!prev)
		return NULL;
	while (*cursor < prev->count && prev->list[*cursor].fd < fd)
		(*cursor)++;
	if (*cursor < prev->count && prev->list[*cursor].fd == fd &&
	    strcmp(prev->list[*cursor].target, link) == 0)
		return &prev->list[*cursor];
	return NULL;
}

/* Fills e from fd name; 1 when added, 0 when the fd vanished, or -errno. */
static int read_entry(int dirfd, const char *name, int fd, const struct fd_table *prev,
		      size_t *cursor, struct fd_entry *e)
{
	char link[PATH_MAX + 1];
	struct stat st;
	mode_t mode = 0;
	ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);

	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	link[n] = '\0';

	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->sock = -1;
	const struct fd_entry *before = link[0] == '/' ? same_as_before(prev, cursor, fd, link) : NULL;
	if (before) {
		e->dev = before->dev;
		e->ino = before->ino;
		e->kind = before->kind;
		e->target = xstrndup(link, (size_t)n);
		return 1;
	}
	if (link[0] == '/') {
		if (fstatat(dirfd, name, &st, 0) == 0) {
			mode = st.st_mode;
			e->dev = st.st_dev;
			e->ino = st.st_ino;
		}
	} else {
		e->ino = fds_link_inode(link);
	}
	e->kind = fds_classify(link, mode);
	e->target = xstrndup(link, (size_t)n);
	return 1;
}

static int list_fds(int dirfd, const struct fd_table *prev, struct fd_table *t)
{
	char *buf = xmalloc(DENTS_BUF_SIZE);
	size_t cap = 0, cursor = 0;
	int rc = 0;

	if (lseek(dirfd, 0, SEEK_SET) < 0) {
		free(buf);
		return -errno;
	}
	for (;;) {
		ssize_t n = getdents64(dirfd, buf, DENTS_BUF_SIZE);
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		for (size_t off = 0; off < (size_t)n; ) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int fd;

			off += d->d_reclen;
			if (!parse_fd_name(d->d_name, &fd))
				continue;
			if (t->count == cap) {
				cap = cap ? cap * 2 : 64;
				t->list = xrealloc(t->list, cap * sizeof(*t->list));
			}
			rc = read_entry(dirfd, d->d_name, fd, prev, &cursor, &t->list[t->count]);
			if (rc < 0)
				goto out;
			t->count += (size_t)rc;
		}
	}
out:
	free(buf);
	return rc < 0 ? rc : 0;
}

static void resolve_sockets(struct fd_table *t, struct sock_resolver *r)
{
	size_t k = 0;

	t->nsockets = t->by_kind[FD_SOCKET];
	t->sockets = xcalloc(t->nsockets, sizeof(*t->sockets));
	if (!r) {
		t->sock_err = -ENOTSUP;
		snprintf(t->sock_note, sizeof(t->sock_note), "no socket resolver for this target");
	} else {
		/* Even a failed refresh leaves the families that did work. */
		t->sock_err = sockets_refresh(r, (1u << PROTO_COUNT) - 1);
		snprintf(t->sock_note, sizeof(t->sock_note), "%s", sockets_note(r));
	}
	for (size_t i = 0; i < t->count; i++) {
		struct fd_entry *e = &t->list[i];
		const struct sock_info *si = r ? sockets_lookup(r, e->ino) : NULL;

		if (e->kind != FD_SOCKET)
			continue;
		if (si) {
			t->sockets[k] = *si;
		} else {
			t->sockets[k].ino = e->ino;
			t->sockets[k].proto = PROTO_OTHER;
		}
		e->sock = (int)k;
		if ((t->sockets[k].proto == PROTO_TCP || t->sockets[k].proto == PROTO_TCP6) &&
		    t->sockets[k].state > 0 && t->sockets[k].state < TCP_STATE_COUNT)
			t->by_state[t->sockets[k].state]++;
		k++;
	}
}

int fds_scan(int fd_dirfd, struct sock_resolver *resolver, const struct fd_table *prev,
	     struct fd_table **out)
{
	struct fd_table *t = xcalloc(1, sizeof(*t));
	int rc;

	t->refs = 1;
	rc = list_fds(fd_dirfd, prev, t);
	if (rc < 0) {
		fd_table_unref(t);
		return rc;
	}
	if (t->count)
		qsort(t->list, t->count, sizeof(*t->list), cmp_fd);
	for (size_t i = 0; i < t->count; i++)
		t->by_kind[t->list[i].kind]++;
	if (t->by_kind[FD_SOCKET])
		resolve_sockets(t, resolver);
	t->scanned_at = util_now_real();
	*out = t;
	return 0;
}
