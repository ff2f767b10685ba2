/* The fd table: classification from link text, and a live scan of this
 * very process holding one fd of every kind, sockets resolved by netlink
 * (and, when running as root, across a network namespace). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fds.h"
#include "sockets.h"

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(fds_classify("socket:[123]", 0), FD_SOCKET);
	assert_int_equal(fds_classify("pipe:[456]", 0), FD_PIPE);
	assert_int_equal(fds_classify("anon_inode:[eventfd]", 0), FD_EVENTFD);
	assert_int_equal(fds_classify("anon_inode:[eventpoll]", 0), FD_EPOLL);
	assert_int_equal(fds_classify("anon_inode:[timerfd]", 0), FD_TIMERFD);
	assert_int_equal(fds_classify("anon_inode:[signalfd]", 0), FD_SIGNALFD);
	assert_int_equal(fds_classify("anon_inode:inotify", 0), FD_INOTIFY);
	assert_int_equal(fds_classify("anon_inode:[pidfd]", 0), FD_ANON);
	assert_int_equal(fds_classify("anon_inode:[io_uring]", 0), FD_ANON);
	assert_int_equal(fds_classify("anon_inode:bpf-map", 0), FD_ANON);
	assert_int_equal(fds_classify("/memfd:cache (deleted)", S_IFREG | 0600), FD_MEMFD);
	assert_int_equal(fds_classify("/memfd:x", 0), FD_MEMFD);
	assert_int_equal(fds_classify("/etc", S_IFDIR | 0755), FD_DIR);
	assert_int_equal(fds_classify("/tmp/f", S_IFIFO | 0600), FD_FIFO);
	assert_int_equal(fds_classify("/dev/null", S_IFCHR | 0666), FD_DEVICE);
	assert_int_equal(fds_classify("/dev/sda", S_IFBLK | 0660), FD_DEVICE);
	assert_int_equal(fds_classify("/etc/passwd", S_IFREG | 0644), FD_FILE);
	assert_int_equal(fds_classify("/var/log/x.log (deleted)", S_IFREG), FD_FILE);
	/* the stat failed: only the path is left */
	assert_int_equal(fds_classify("/dev/tty1", 0), FD_DEVICE);
	assert_int_equal(fds_classify("/home/a", 0), FD_FILE);
	assert_int_equal(fds_classify("net:[4026531840]", 0), FD_OTHER);
	assert_int_equal(fds_classify("mnt:[4026531841]", 0), FD_OTHER);
	assert_int_equal(fds_classify("", 0), FD_OTHER);
	assert_int_equal(fds_classify("socket:", 0), FD_OTHER);
}

static void test_link_inode(void **state)
{
	(void)state;
	assert_int_equal(fds_link_inode("socket:[123]"), 123);
	assert_int_equal(fds_link_inode("pipe:[4294967296]"), UINT64_C(4294967296));
	assert_int_equal(fds_link_inode("net:[4026531840]"), UINT64_C(4026531840));
	assert_int_equal(fds_link_inode("anon_inode:[eventfd]"), 0);
	assert_int_equal(fds_link_inode("socket:[12"), 0);
	assert_int_equal(fds_link_inode("socket:[12]x"), 0);
	assert_int_equal(fds_link_inode("socket:[]"), 0);
	assert_int_equal(fds_link_inode("/tmp/socket:[12]"), 0);
	assert_int_equal(fds_link_inode(""), 0);
}

static int open_fd_dir(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void test_count(void **state)
{
	(void)state;
	int dirfd = open_fd_dir(getpid());
	struct fd_table *t;

	assert_true(dirfd >= 0);
	long n = fds_count(dirfd);
	if (n == -ENOTSUP) {
		close(dirfd);
		skip();
	}
	assert_int_equal(fds_scan(dirfd, NULL, NULL, &t), 0);
	assert_int_equal(n, (long)t->count);
	assert_int_equal(fds_count(dirfd), n);   /* the kept-open fd rewinds */
	fd_table_unref(t);
	close(dirfd);

	/* a zombie has no fds left: 0, not "unknown" */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	siginfo_t si;
	assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	dirfd = open_fd_dir(child);
	assert_true(dirfd >= 0);
	assert_int_equal(fds_count(dirfd), 0);
	assert_int_equal(fds_scan(dirfd, NULL, NULL, &t), 0);
	assert_int_equal(t->count, 0);
	fd_table_unref(t);
	close(dirfd);
	waitpid(child, NULL, 0);
}

static const struct fd_entry *entry(const struct fd_table *t, int fd)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->list[i].fd == fd)
			return &t->list[i];
	return NULL;
}

static void assert_kind(const struct fd_table *t, int fd, enum fd_kind kind)
{
	const struct fd_entry *e = entry(t, fd);

	assert_non_null(e);
	if (e->kind != kind)
		fail_msg("fd %d (%s): %s, expected %s", fd, e->target,
			 fd_kind_name(e->kind), fd_kind_name(kind));
}

static const struct sock_info *sock_of(const struct fd_table *t, int fd)
{
	const struct fd_entry *e = entry(t, fd);

	assert_non_null(e);
	assert_int_equal(e->kind, FD_SOCKET);
	assert_true(e->sock >= 0 && (size_t)e->sock < t->nsockets);
	return &t->sockets[e->sock];
}

static uint16_t local_port(int s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static uint64_t fd_inode(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static void test_live_scan(void **state)
{
	(void)state;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char want[64];
	sigset_t mask;
	int fds[32], n = 0;

	int file = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	if (file < 0)
		file = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	int efd = eventfd(0, EFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	int ino = inotify_init1(IN_CLOEXEC);
	int mfd = memfd_create("pscope-test", MFD_CLOEXEC);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int lis = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lis, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lis, 4), 0);
	assert_int_equal(getsockname(lis, (struct sockaddr *)&a, &alen), 0);
	int cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cli, (struct sockaddr *)&a, sizeof(a)), 0);
	int srv = accept4(lis, NULL, NULL, SOCK_CLOEXEC);
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);

	int all[] = { file, dir, pipefd[0], pipefd[1], efd, ep, tfd, sfd, ino, mfd, null,
		      lis, cli, srv, sp[0], sp[1], nl };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_true(all[i] >= 0);
		fds[n++] = all[i];
	}

	struct sock_resolver *r;
	struct fd_table *t;
	int dirfd = open_fd_dir(getpid());
	assert_true(dirfd >= 0);
	assert_int_equal(sockets_open(getpid(), &r), 0);
	assert_int_equal(fds_scan(dirfd, r, NULL, &t), 0);

	assert_int_equal(t->refs, 1);
	for (size_t i = 1; i < t->count; i++)
		assert_true(t->list[i - 1].fd < t->list[i].fd);
	assert_kind(t, file, FD_FILE);
	assert_kind(t, dir, FD_DIR);
	assert_kind(t, pipefd[0], FD_PIPE);
	assert_kind(t, pipefd[1], FD_PIPE);
	assert_int_equal(entry(t, pipefd[0])->ino, fd_inode(pipefd[0]));
	assert_kind(t, efd, FD_EVENTFD);
	assert_kind(t, ep, FD_EPOLL);
	assert_kind(t, tfd, FD_TIMERFD);
	assert_kind(t, sfd, FD_SIGNALFD);
	assert_kind(t, ino, FD_INOTIFY);
	assert_kind(t, mfd, FD_MEMFD);
	assert_kind(t, null, FD_DEVICE);
	assert_kind(t, dirfd, FD_DIR);
	assert_kind(t, nl, FD_SOCKET);
	assert_int_equal(entry(t, file)->ino, fd_inode(file));
	assert_int_equal(entry(t, mfd)->ino, fd_inode(mfd));
	assert_int_equal(entry(t, efd)->sock, -1);
	assert_true(t->by_kind[FD_SOCKET] >= 6);
	assert_int_equal(t->nsockets, t->by_kind[FD_SOCKET]);
	assert_true(t->by_kind[FD_PIPE] >= 2);

	assert_int_equal(t->sock_err, 0);
	assert_string_equal(t->sock_note, "");
	const struct sock_info *si = sock_of(t, lis);
	assert_int_equal(si->proto, PROTO_TCP);
	assert_int_equal(si->state, 10);
	snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(a.sin_port));
	assert_string_equal(si->local, want);
	assert_int_equal(si->ino, fd_inode(lis));

	si = sock_of(t, cli);
	assert_int_equal(si->proto, PROTO_TCP);
	assert_int_equal(si->state, 1);
	assert_string_equal(si->remote, want);
	snprintf(want, sizeof(want), "127.0.0.1:%u", local_port(cli));
	assert_string_equal(si->local, want);

	si = sock_of(t, srv);
	assert_int_equal(si->state, 1);
	assert_string_equal(si->remote, want);
	assert_true(t->by_state[1] >= 2);
	assert_true(t->by_state[10] >= 1);

	/* A rescan that reuses the previous stats sees the same table, and a
	 * path re-opened under another number is stat'ed afresh. */
	int moved = dup(file);
	struct fd_table *again;
	assert_int_equal(fds_scan(dirfd, r, t, &again), 0);
	assert_true(again->count >= t->count + 1);
	assert_kind(again, file, FD_FILE);
	assert_kind(again, dir, FD_DIR);
	assert_kind(again, moved, FD_FILE);
	assert_int_equal(entry(again, file)->ino, fd_inode(file));
	assert_int_equal(entry(again, moved)->ino, fd_inode(file));
	fd_table_unref(again);
	close(moved);

	si = sock_of(t, sp[0]);
	assert_int_equal(si->proto, PROTO_UNIX);
	assert_int_equal(si->state, 1);
	snprintf(want, sizeof(want), "peer ino %llu", (unsigned long long)fd_inode(sp[1]));
	assert_string_equal(si->remote, want);
	fd_table_unref(t);

	/* without a resolver the sockets are listed but unknown */
	assert_int_equal(fds_scan(dirfd, NULL, NULL, &t), 0);
	assert_int_equal(t->sock_err, -ENOTSUP);
	si = sock_of(t, lis);
	assert_int_equal(si->proto, PROTO_OTHER);
	assert_int_equal(si->state, 0);
	assert_int_equal(si->ino, fd_inode(lis));
	fd_table_unref(t);

	sockets_close(r);
	close(dirfd);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Drop CAP_SYS_ADMIN from the effective set: setns must then fail. */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	return (int)syscall(SYS_capset, &h, d);
}

/* Resolve a socket of a process in its own network namespace: sock_diag in
 * that namespace when we may enter it, /proc/PID/net when we may not. */
static void test_other_netns(void **state)
{
	(void)state;
	int ready[2];
	uint64_t inos[2];

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct sockaddr_un un = { .sun_family = AF_UNIX };
		struct stat st;
		int s;

		close(ready[0]);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		memcpy(un.sun_path, "\0pscope-netns", 13);
		if (bind(s, (struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + 13) < 0 ||
		    listen(s, 1) < 0 || fstat(s, &st) < 0)
			_exit(1);
		inos[0] = st.st_ino;
		/* only a bound udp socket is in the tables */
		struct sockaddr_in any = { .sin_family = AF_INET };
		s = socket(AF_INET, SOCK_DGRAM, 0);
		if (bind(s, (struct sockaddr *)&any, sizeof(any)) < 0 || fstat(s, &st) < 0)
			_exit(1);
		inos[1] = st.st_ino;
		if (write(ready[1], inos, sizeof(inos)) != sizeof(inos))
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ssize_t got = read(ready[0], inos, sizeof(inos));
	close(ready[0]);
	if (got != sizeof(inos)) {
		waitpid(child, NULL, 0);
		skip();   /* no unshare here: not root */
	}

	/* Gather everything before asserting: a failed assertion must not
	 * leave the child behind. */
	struct sock_resolver *r = NULL;
	const struct sock_info *si;
	int open_rc = sockets_open(child, &r), refresh_rc = -1;
	bool direct = false, unix_ok = false, udp_ok = false;
	if (open_rc == 0) {
		refresh_rc = sockets_refresh(r, 1u << PROTO_UNIX | 1u << PROTO_UDP);
		direct = strcmp(sockets_note(r), "") == 0;
		si = sockets_lookup(r, inos[0]);
		unix_ok = si && si->state == 10 && strcmp(si->local, "@pscope-netns") == 0;
		si = sockets_lookup(r, inos[1]);
		udp_ok = si && si->proto == PROTO_UDP && strcmp(si->local, "0.0.0.0:0") != 0;
		sockets_close(r);
	}

	pid_t helper = fork();
	if (helper == 0) {
		if (drop_sys_admin() < 0 || sockets_open(child, &r) < 0)
			_exit(2);
		if (!strstr(sockets_note(r), "another network namespace"))
			_exit(3);
		if (sockets_refresh(r, 1u << PROTO_UNIX) < 0)
			_exit(4);
		si = sockets_lookup(r, inos[0]);
		if (!si || si->state != 10 || strcmp(si->local, "@pscope-netns") != 0)
			_exit(5);
		if (sockets_lookup(r, inos[1]))   /* udp was not asked for */
			_exit(6);
		sockets_close(r);
		_exit(0);
	}
	int status = -1;
	if (helper > 0)
		waitpid(helper, &status, 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(open_rc, 0);
	assert_int_equal(refresh_rc, 0);
	assert_true(direct);
	assert_true(unix_ok);
	assert_true(udp_ok);
	assert_true(helper > 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_link_inode),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_live_scan),
		cmocka_unit_test(test_other_netns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
