/*
 * truth — a test target that builds a known set of threads, file descriptors,
 * sockets and heap growth, then prints ONE line of JSON ground truth.
 *
 *   truth [--threads N] [--files M] [--dirs D] [--pipes P] [--eventfds E]
 *         [--epolls X] [--timerfds T] [--signalfds S] [--inotify I]
 *         [--memfds F] [--tcp K] [--close-wait C] [--udp U] [--unix-pairs X]
 *         [--heap-kb-per-s R] [--lifetime SECS] [--nondumpable] [--hostile]
 *
 * The truth line is measured, not assumed: fds are counted from
 * /proc/self/fd and classified with readlink + fstat using the same rules as
 * pscope; TCP states come from getsockopt(TCP_INFO), an independent path from
 * the /proc/net/tcp parsing pscope does; thread names come from
 * /proc/self/task/.../comm.  So whatever the environment adds (stdin being
 * /dev/null, stderr a pipe, ...) is part of the truth.
 *
 * Signals (all blocked and taken synchronously with sigtimedwait, so no
 * worker thread can be killed by a default action):
 *   SIGUSR1          open one more regular file, print a new truth line that
 *                    names it in "added"
 *   SIGTERM/INT/HUP  remove the temp dir and exit 0
 * The process also exits by itself after --lifetime seconds (default 120)
 * and when its parent dies (PR_SET_PDEATHSIG), so no test can leave it behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

/* Hostile names: terminal escapes (ESC, BEL), a C1 control encoded in UTF-8
 * (U+009B, CSI), an invalid UTF-8 byte (0xFF).  The comm also ends in ") R 9"
 * so that a /proc/PID/stat parser splitting at the first ')' reads a wrong
 * state and ppid.  comm is at most 15 bytes. */
#define HOSTILE_COMM   "\x1b[2J\x07\xc2\x9b\xff) R 9"
#define HOSTILE_THREAD "\x1b[1m\x07\xc2\x9b\xff-w0"
#define HOSTILE_ARGV0  "\x1b]0;owned\x07\xc2\x9b\xff\n-evil"
#define HOSTILE_FILE   "\x1b[2J\x07\xc2\x9b\xff\nfile"

#define HEAP_CHUNK      (16 * 1024)          /* well below the mmap threshold */
#define HEAP_CAP_KB     (1024L * 1024)       /* never grow past 1 GiB */
#define TICK_NS         (50 * 1000 * 1000L)  /* main loop period: 50 ms */

struct options {
	int threads, files, dirs, pipes, eventfds, epolls, timerfds, signalfds;
	int inotify, memfds, tcp, close_wait, udp, unix_pairs;
	long heap_kb_per_s;
	double lifetime;
	bool nondumpable, hostile;
};

static char tmpdir[256];   /* short: paths below are tmpdir + a short name */
static int listen_fd = -1;
static int listen_port;
static int extra_files;

/* ---------------------------------------------------------------- errors */

static void remove_tmpdir(void);

static void die(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	fputs("truth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(saved));
	remove_tmpdir();
	exit(1);
}

static int check(int fd, const char *what)
{
	if (fd < 0)
		die("%s", what);
	return fd;
}

/* --------------------------------------------------------------- temp dir */

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/truth-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(tmpdir))
		die("mkdtemp");
}

/* Removes everything we created: files (including the hostile name), the
 * dir-N subdirectories, then the directory itself.  Open fds stay valid. */
static void remove_tmpdir(void)
{
	DIR *d;
	struct dirent *e;

	if (!tmpdir[0] || !(d = opendir(tmpdir)))
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

/* ---------------------------------------------------------------- threads */

static pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cv = PTHREAD_COND_INITIALIZER;

/* Worker threads block forever: nobody ever signals park_cv. */
static void *park(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&park_mu);
	for (;;)
		pthread_cond_wait(&park_cv, &park_mu);
	return NULL;
}

static void start_threads(int n, bool hostile)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		char name[32];   /* --threads <= 1000: always fits comm's 15 bytes */
		int err = pthread_create(&t, NULL, park, NULL);

		if (err) {
			errno = err;
			die("pthread_create");
		}
		snprintf(name, sizeof name, "worker-%d", i);
		if (hostile && i == 0)
			snprintf(name, sizeof name, "%s", HOSTILE_THREAD);
		err = pthread_setname_np(t, name);
		if (err) {
			errno = err;
			die("pthread_setname_np");
		}
		pthread_detach(t);
	}
}

/* ------------------------------------------------------------ fd families */

static int open_file_named(const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	fd = check(open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600), path);
	if (write(fd, "truth\n", 6) != 6)
		die("write %s", path);
	return fd;
}

static void open_files(int n)
{
	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof name, "file-%d", i);
		open_file_named(name);
	}
}

/* SIGUSR1: one more regular file; returns its path for the truth line. */
static const char *open_extra_file(void)
{
	static char path[512];
	char name[32];

	snprintf(name, sizeof name, "extra-%d", extra_files++);
	open_file_named(name);
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	return path;
}

static void open_dirs(int n)
{
	for (int i = 0; i < n; i++) {
		char path[512];

		snprintf(path, sizeof path, "%s/dir-%d", tmpdir, i);
		if (mkdir(path, 0700) < 0)
			die("mkdir %s", path);
		check(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), path);
	}
}

static void open_pipes(int n)
{
	for (int i = 0; i < n; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe2");
	}
}

static void open_eventfds(int n)
{
	for (int i = 0; i < n; i++)
		check(eventfd(0, EFD_CLOEXEC), "eventfd");
}

static void open_epolls(int n)
{
	for (int i = 0; i < n; i++)
		check(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
}

static void open_timerfds(int n)
{
	for (int i = 0; i < n; i++)
		check(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), "timerfd_create");
}

/* SIGUSR2 is blocked in main() and never sent: the signalfds just exist. */
static void open_signalfds(int n)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	for (int i = 0; i < n; i++)
		check(signalfd(-1, &set, SFD_CLOEXEC), "signalfd");
}

static void open_inotify(int n)
{
	for (int i = 0; i < n; i++) {
		int fd = check(inotify_init1(IN_CLOEXEC), "inotify_init1");

		if (inotify_add_watch(fd, tmpdir, IN_CREATE) < 0)
			die("inotify_add_watch");
	}
}

static void open_memfds(int n)
{
	for (int i = 0; i < n; i++) {
		char name[32];
		int fd;

		snprintf(name, sizeof name, "truth-%d", i);
		fd = check(memfd_create(name, MFD_CLOEXEC), "memfd_create");
		if (ftruncate(fd, 4096) < 0)
			die("ftruncate memfd");
	}
}

/* ---------------------------------------------------------------- sockets */

static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	return ti.tcpi_state;
}

static void open_listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = check(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
	if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	if (listen(listen_fd, 128) < 0)
		die("listen");
	if (getsockname(listen_fd, (struct sockaddr *)&a, &len) < 0)
		die("getsockname");
	listen_port = ntohs(a.sin_port);
}

/* Connects to our own listener; both ends stay in this process.  Returns the
 * client end and stores the accepted end in *server_end. */
static int connect_pair(int *server_end)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int c = check(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(listen_port);
	if (connect(c, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	*server_end = check(accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC), "accept");
	return c;
}

static void open_tcp(int n)
{
	for (int i = 0; i < n; i++) {
		int s;

		connect_pair(&s);
	}
}

/* Closing the accepted end sends a FIN: the client end we keep goes to
 * CLOSE_WAIT (the closed end lingers in FIN_WAIT2 but is no fd of ours).
 * Wait until the kernel says so, so the truth line is never early. */
static void open_close_wait(int n)
{
	for (int i = 0; i < n; i++) {
		int s, c = connect_pair(&s);
		struct pollfd p = { .fd = c, .events = POLLRDHUP };

		close(s);
		for (int tries = 0; tries < 200 && tcp_state(c) != TCP_CLOSE_WAIT; tries++)
			poll(&p, 1, 10);
		if (tcp_state(c) != TCP_CLOSE_WAIT) {
			errno = EAGAIN;
			die("connection %d did not reach CLOSE_WAIT", i);
		}
	}
}

static void open_udp(int n)
{
	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		int fd = check(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket");

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
			die("bind udp");
	}
}

static void open_unix_pairs(int n)
{
	for (int i = 0; i < n; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair");
	}
}

/* ------------------------------------------------------------------- heap */

/* Chunks are chained through their first bytes so the compiler cannot prove
 * them dead and drop the malloc + memset. */
static void *heap_chain;
static long heap_grown_kb;

/* Allocates until rate * elapsed kB have been added.  Small chunks, with the
 * mmap threshold raised, come from brk: the growth shows in [heap]. */
static void grow_heap(long kb_per_s, double elapsed)
{
	double due_kb = kb_per_s * elapsed;

	while (heap_grown_kb + HEAP_CHUNK / 1024 <= due_kb && heap_grown_kb < HEAP_CAP_KB) {
		void **chunk = malloc(HEAP_CHUNK);

		if (!chunk)
			return;
		memset(chunk, 0x5a, HEAP_CHUNK);   /* touch every page: resident */
		*chunk = heap_chain;
		heap_chain = chunk;
		heap_grown_kb += HEAP_CHUNK / 1024;
	}
}

/* ------------------------------------------------------------ measurement */

enum kind {
	K_FILE, K_DIR, K_PIPE, K_FIFO, K_SOCKET, K_EVENTFD, K_EPOLL, K_TIMERFD,
	K_SIGNALFD, K_INOTIFY, K_MEMFD, K_ANON_INODE, K_DEVICE, K_OTHER, K_COUNT
};
static const char *const kind_names[K_COUNT] = {
	"file", "dir", "pipe", "fifo", "socket", "eventfd", "epoll", "timerfd",
	"signalfd", "inotify", "memfd", "anon_inode", "device", "other",
};

/* Kernel TCP state numbers (include/net/tcp_states.h) -> names. */
static const char *const tcp_names[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV",
	[4] = "FIN_WAIT1", [5] = "FIN_WAIT2", [6] = "TIME_WAIT", [7] = "CLOSE",
	[8] = "CLOSE_WAIT", [9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING",
	[12] = "NEW_SYN_RECV",
};
#define TCP_NSTATES 13

struct census {
	int fds;
	int kind[K_COUNT];
	int tcp[TCP_NSTATES];
	int tcp4, tcp6, udp4, udp6, unix_socks, other_socks;
};

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The same rules pscope uses: the link text first, then st_mode for paths. */
static enum kind classify(int fd)
{
	char link[64], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof target - 1);
	if (n < 0)
		return K_OTHER;
	target[n] = '\0';
	if (starts(target, "socket:["))
		return K_SOCKET;
	if (starts(target, "pipe:["))
		return K_PIPE;
	if (!strcmp(target, "anon_inode:[eventfd]"))
		return K_EVENTFD;
	if (!strcmp(target, "anon_inode:[eventpoll]"))
		return K_EPOLL;
	if (!strcmp(target, "anon_inode:[timerfd]"))
		return K_TIMERFD;
	if (!strcmp(target, "anon_inode:[signalfd]"))
		return K_SIGNALFD;
	if (!strcmp(target, "anon_inode:inotify"))
		return K_INOTIFY;
	if (starts(target, "anon_inode:"))
		return K_ANON_INODE;
	if (starts(target, "/memfd:"))
		return K_MEMFD;
	if (target[0] != '/' || fstat(fd, &st) < 0)
		return K_OTHER;
	if (S_ISDIR(st.st_mode))
		return K_DIR;
	if (S_ISFIFO(st.st_mode))
		return K_FIFO;
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return K_DEVICE;
	if (S_ISREG(st.st_mode))
		return K_FILE;
	return K_OTHER;
}

static void count_socket(struct census *c, int fd)
{
	int domain = 0, proto = 0;
	socklen_t len = sizeof domain;

	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	len = sizeof proto;
	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
	if (domain == AF_UNIX) {
		c->unix_socks++;
	} else if ((domain == AF_INET || domain == AF_INET6) && proto == IPPROTO_TCP) {
		int st = tcp_state(fd);

		if (domain == AF_INET)
			c->tcp4++;
		else
			c->tcp6++;
		if (st > 0 && st < TCP_NSTATES)
			c->tcp[st]++;
	} else if ((domain == AF_INET || domain == AF_INET6) && proto == IPPROTO_UDP) {
		if (domain == AF_INET)
			c->udp4++;
		else
			c->udp6++;
	} else {
		c->other_socks++;
	}
}

/* Every fd open right now, except the one opendir() itself uses. */
static void take_census(struct census *c)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	memset(c, 0, sizeof *c);
	if (!d)
		die("opendir /proc/self/fd");
	while ((e = readdir(d))) {
		int fd;
		enum kind k;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		k = classify(fd);
		c->fds++;
		c->kind[k]++;
		if (k == K_SOCKET)
			count_socket(c, fd);
	}
	closedir(d);
}

/* ------------------------------------------------------------------- JSON */

/* JSON string.  Bytes >= 0x80 are written as \u00XX (their Latin-1 reading)
 * so the line stays valid UTF-8 even for --hostile names; the tests never
 * compare hostile names, only that they exist. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void read_line_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* "threads" and "thread_names", from /proc/self/task. */
static void json_threads(FILE *f)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int count = 0;

	if (!d)
		die("opendir /proc/self/task");
	fputs("\"thread_names\":[", f);
	while ((e = readdir(d))) {
		char path[300], name[64];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		read_line_file(path, name, sizeof name);
		fputs(count++ ? "," : "", f);
		json_str(f, name);
	}
	closedir(d);
	fprintf(f, "],\"threads\":%d", count);
}

static void json_census(FILE *f, const struct census *c)
{
	fprintf(f, ",\"fds\":%d,\"by_kind\":{", c->fds);
	for (int k = 0; k < K_COUNT; k++)
		fprintf(f, "%s\"%s\":%d", k ? "," : "", kind_names[k], c->kind[k]);
	/* The three states the tests check are always present; others if any. */
	fprintf(f, "},\"tcp\":{\"ESTABLISHED\":%d,\"CLOSE_WAIT\":%d,\"LISTEN\":%d",
		c->tcp[1], c->tcp[8], c->tcp[10]);
	for (int s = 1; s < TCP_NSTATES; s++)
		if (c->tcp[s] && s != 1 && s != 8 && s != 10)
			fprintf(f, ",\"%s\":%d", tcp_names[s], c->tcp[s]);
	fprintf(f, "},\"sockets\":{\"count\":%d,\"tcp\":%d,\"tcp6\":%d,\"udp\":%d,"
		"\"udp6\":%d,\"unix\":%d,\"other\":%d}",
		c->kind[K_SOCKET], c->tcp4, c->tcp6, c->udp4, c->udp6,
		c->unix_socks, c->other_socks);
}

/* One line, written with a single write so a reader never sees half. */
static void print_truth(const struct options *o, const char *added)
{
	struct census c;
	char comm[64];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	take_census(&c);                 /* before open_memstream: no fd, but */
	f = open_memstream(&buf, &len);  /* measure first all the same */
	if (!f)
		die("open_memstream");
	read_line_file("/proc/self/comm", comm, sizeof comm);
	fprintf(f, "{\"pid\":%d,\"uid\":%d,\"comm\":", (int)getpid(), (int)getuid());
	json_str(f, comm);
	fputc(',', f);
	json_threads(f);
	json_census(f, &c);
	fprintf(f, ",\"heap_kb_per_s\":%ld,\"listen_port\":%d,\"tmpdir\":",
		o->heap_kb_per_s, listen_port);
	json_str(f, tmpdir);
	if (added) {
		fputs(",\"added\":", f);
		json_str(f, added);
	}
	fputs("}\n", f);
	fclose(f);
	if (write(STDOUT_FILENO, buf, len) != (ssize_t)len)
		die("write truth line");
	free(buf);
}

/* ---------------------------------------------------------------- options */

static void usage(void)
{
	fputs("usage: truth [--threads N] [--files N] [--dirs N] [--pipes N] "
	      "[--eventfds N] [--epolls N] [--timerfds N] [--signalfds N] "
	      "[--inotify N] [--memfds N] [--tcp N] [--close-wait N] [--udp N] "
	      "[--unix-pairs N] [--heap-kb-per-s N] [--lifetime SECS] "
	      "[--nondumpable] [--hostile]\n", stderr);
	exit(64);
}

static long number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		usage();
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "threads", 1, 0, 't' }, { "files", 1, 0, 'f' },
		{ "dirs", 1, 0, 'D' }, { "pipes", 1, 0, 'p' },
		{ "eventfds", 1, 0, 'e' }, { "epolls", 1, 0, 'E' },
		{ "timerfds", 1, 0, 'T' }, { "signalfds", 1, 0, 's' },
		{ "inotify", 1, 0, 'i' }, { "memfds", 1, 0, 'm' },
		{ "tcp", 1, 0, 'k' }, { "close-wait", 1, 0, 'c' },
		{ "udp", 1, 0, 'u' }, { "unix-pairs", 1, 0, 'x' },
		{ "heap-kb-per-s", 1, 0, 'r' }, { "lifetime", 1, 0, 'l' },
		{ "nondumpable", 0, 0, 'N' }, { "hostile", 0, 0, 'H' },
		{ 0, 0, 0, 0 },
	};
	int c;

	*o = (struct options){ .lifetime = 120 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->threads = number(optarg, 1000); break;
		case 'f': o->files = number(optarg, 1000); break;
		case 'D': o->dirs = number(optarg, 1000); break;
		case 'p': o->pipes = number(optarg, 1000); break;
		case 'e': o->eventfds = number(optarg, 1000); break;
		case 'E': o->epolls = number(optarg, 1000); break;
		case 'T': o->timerfds = number(optarg, 1000); break;
		case 's': o->signalfds = number(optarg, 1000); break;
		case 'i': o->inotify = number(optarg, 100); break;
		case 'm': o->memfds = number(optarg, 1000); break;
		case 'k': o->tcp = number(optarg, 1000); break;
		case 'c': o->close_wait = number(optarg, 1000); break;
		case 'u': o->udp = number(optarg, 1000); break;
		case 'x': o->unix_pairs = number(optarg, 1000); break;
		case 'r': o->heap_kb_per_s = number(optarg, 1 << 20); break;
		case 'l': o->lifetime = strtod(optarg, NULL); break;
		case 'N': o->nondumpable = true; break;
		case 'H': o->hostile = true; break;
		default: usage();
		}
	}
	if (optind != argc || o->lifetime <= 0)
		usage();
}

/* --hostile: re-exec ourselves once with a hostile argv[0] so /proc/PID/
 * cmdline carries it too.  The new argv[0] marks the second run. */
static void reexec_hostile(int argc, char **argv)
{
	char **nargv = calloc((size_t)argc + 1, sizeof *nargv);

	if (!strcmp(argv[0], HOSTILE_ARGV0))
		return;
	if (!nargv)
		die("calloc");
	nargv[0] = HOSTILE_ARGV0;
	for (int i = 1; i < argc; i++)
		nargv[i] = argv[i];
	execv("/proc/self/exe", nargv);
	die("execv /proc/self/exe");
}

/* ------------------------------------------------------------------- main */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	/* Before any thread exists, so every thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

static void build_everything(const struct options *o)
{
	make_tmpdir();
	start_threads(o->threads, o->hostile);
	open_files(o->files);
	if (o->hostile)
		open_file_named(HOSTILE_FILE);
	open_dirs(o->dirs);
	open_pipes(o->pipes);
	open_eventfds(o->eventfds);
	open_epolls(o->epolls);
	open_timerfds(o->timerfds);
	open_signalfds(o->signalfds);
	open_inotify(o->inotify);
	open_memfds(o->memfds);
	if (o->tcp + o->close_wait > 0)
		open_listener();
	open_tcp(o->tcp);
	open_close_wait(o->close_wait);
	open_udp(o->udp);
	open_unix_pairs(o->unix_pairs);
}

int main(int argc, char **argv)
{
	struct options o;
	sigset_t set;
	double start;

	parse_options(argc, argv, &o);
	if (o.hostile)
		reexec_hostile(argc, argv);
	prctl(PR_SET_PDEATHSIG, SIGTERM);    /* the test runner died: go too */
	block_signals(&set);
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);  /* growth lands in [heap] */
	if (o.hostile)
		prctl(PR_SET_NAME, HOSTILE_COMM);
	if (o.nondumpable)
		prctl(PR_SET_DUMPABLE, 0);

	build_everything(&o);
	start = now();
	grow_heap(o.heap_kb_per_s, 0);
	print_truth(&o, NULL);

	for (double t = 0; t < o.lifetime; t = now() - start) {
		struct timespec tick = { 0, TICK_NS };
		int sig;

		grow_heap(o.heap_kb_per_s, t);
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGUSR1)
			print_truth(&o, open_extra_file());
		else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			break;
	}
	remove_tmpdir();
	return 0;
}
