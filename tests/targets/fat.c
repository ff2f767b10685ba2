/*
 * fat — a deliberately heavy process for pscope's benchmark (make bench).
 *
 * By default: 1,000 blocked worker threads (64 KiB stacks, named worker-N),
 * about 10,000 fds of every kind pscope classifies, 10,000 separate mappings
 * and a heap of a few tens of MB.  This mirrors the "fat target" the cost
 * notes were measured on (work/shared/notes/proc-sampling-costs.md), so the
 * benchmark's numbers can be held against those goals.
 *
 *   fat [--threads N] [--fds N] [--maps N] [--heap-mb N] [--lifetime SECS]
 *
 * When everything exists it prints one line, counted from /proc/self (not
 * from what it meant to create):
 *   {"pid":123,"threads":1001,"fds":10000,"maps":12040}
 * then blocks until SIGTERM/SIGINT/SIGHUP, its parent's death, or --lifetime
 * seconds (default 600), so a crashed benchmark can never leave it behind.
 * Its scratch files live in a mkdtemp() directory removed on every exit but
 * SIGKILL.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

struct options {
	long threads;   /* worker threads, besides the main thread */
	long fds;       /* total open fds wanted, stdio included */
	long maps;      /* separate one-page mmaps */
	long heap_mb;   /* brk heap, touched */
	long lifetime;  /* seconds before exiting on its own */
};

static char tmpdir[PATH_MAX];   /* scratch directory; "" once removed */
static long fd_budget;          /* fds still to open */

/* ---- errors and cleanup ------------------------------------------------ */

static void remove_tmpdir(void)
{
	if (!tmpdir[0])
		return;
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static _Noreturn void die(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fputs("fat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(saved));
	exit(1);   /* atexit removes the scratch directory */
}

static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("fat: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- counting what really exists (the ready line reports these) -------- */

static long count_dir(const char *path)
{
	DIR *d = opendir(path);
	long n = 0;
	struct dirent *e;

	if (!d)
		die("opendir %s", path);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static long count_fds(void)
{
	return count_dir("/proc/self/fd") - 1;   /* minus opendir's own fd */
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	if (!f)
		die("open /proc/self/maps");
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* ---- options ----------------------------------------------------------- */

static long parse_count(const char *name, const char *s, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max) {
		fprintf(stderr, "fat: --%s wants a number from 0 to %ld (got '%s')\n", name, max, s);
		exit(64);
	}
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "fds", required_argument, NULL, 'f' },
		{ "maps", required_argument, NULL, 'm' },
		{ "heap-mb", required_argument, NULL, 'H' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .threads = 1000, .fds = 10000, .maps = 10000,
			       .heap_mb = 32, .lifetime = 600 };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->threads = parse_count("threads", optarg, 100000); break;
		case 'f': o->fds = parse_count("fds", optarg, 1000000); break;
		case 'm': o->maps = parse_count("maps", optarg, 1000000); break;
		case 'H': o->heap_mb = parse_count("heap-mb", optarg, 4096); break;
		case 'l': o->lifetime = parse_count("lifetime", optarg, 86400); break;
		case 'h':
			puts("usage: fat [--threads N] [--fds N] [--maps N] [--heap-mb N] [--lifetime SECS]");
			exit(0);
		default:
			exit(64);
		}
	}
	if (o->lifetime == 0)
		o->lifetime = 1;   /* alarm(0) would mean "never" */
}

/* ---- process setup ------------------------------------------------------ */

/* Signals that end the process.  They are blocked everywhere and collected
 * by sigwait() in main, so cleanup runs in ordinary (not handler) context and
 * the workers can stay in pause() forever. */
static void block_exit_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGALRM);
	if (pthread_sigmask(SIG_BLOCK, set, NULL))
		die("pthread_sigmask");
}

/* The benchmark must never leave a 1,000-thread process behind: die with the
 * parent, and after the lifetime in any case. */
static void bound_lifetime(long seconds)
{
	pid_t parent = getppid();

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		die("prctl(PR_SET_PDEATHSIG)");
	if (getppid() != parent)   /* the parent died before prctl */
		exit(0);
	alarm((unsigned)seconds);
}

static void raise_fd_limit(long want)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want + 64;   /* slack for stdio, opendir, libc */

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit");
	if (rl.rlim_cur >= need)
		return;
	rlim_t hard = rl.rlim_max;
	rl.rlim_cur = need;
	if (rl.rlim_max < need)
		rl.rlim_max = need;   /* needs CAP_SYS_RESOURCE */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("--fds %ld needs RLIMIT_NOFILE %lu but the hard limit is %lu "
		    "and cannot be raised (no CAP_SYS_RESOURCE?)", want,
		    (unsigned long)need, (unsigned long)hard);
}

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/pscope-fat.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = '\0';
		die("mkdtemp");
	}
	atexit(remove_tmpdir);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", tmpdir, name);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		die("%s/%s", tmpdir, name);
	}
}

/* ---- heap --------------------------------------------------------------- */

/* Small chunks stay below malloc's mmap threshold, so they grow [heap] (brk)
 * rather than adding mappings.  They are chained so nothing can be optimized
 * away, and written so they count in RSS. */
static void *heap_chain;

static void grow_heap(long mb)
{
	const size_t chunk = 16 * 1024;
	long n = mb * 1024 * 1024 / (long)chunk;

	for (long i = 0; i < n; i++) {
		void **p = malloc(chunk);
		if (!p)
			die("malloc");
		memset(p, 0x5a, chunk);
		*p = heap_chain;
		heap_chain = p;
	}
}

/* ---- mappings ----------------------------------------------------------- */

/* n one-page mmaps, each its own VMA: anonymous pages alternate RW and RO so
 * neighbours never merge, and every fifth page maps a file at a
 * non-contiguous offset.  They are laid out in one reserved range so the
 * pattern (and thus the count) does not depend on where the kernel puts
 * other mappings. */
static void make_maps(long n)
{
	const long page = sysconf(_SC_PAGESIZE);
	char path[PATH_MAX];

	if (n == 0)
		return;
	tmp_path(path, sizeof(path), "mapped.bin");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open %s", path);
	if (ftruncate(fd, (off_t)(2 * (n / 5 + 1) * page)) < 0)
		die("ftruncate %s", path);

	char *base = mmap(NULL, (size_t)(n * page), PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		die("reserve %ld pages", n);

	bool writable = true;
	long file_page = 0;
	for (long i = 0; i < n; i++) {
		char *addr = base + i * page;
		void *p;
		if (i % 5 == 4) {
			p = mmap(addr, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd,
				 (off_t)(file_page * page));
			file_page += 2;   /* skip a page: adjacent offsets could merge */
		} else {
			p = mmap(addr, (size_t)page, writable ? PROT_READ | PROT_WRITE : PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		}
		if (p == MAP_FAILED)
			die("mmap %ld of %ld (vm.max_map_count?)", i + 1, n);
		/* Fault pages in so smaps has RSS to walk, like a real process. */
		if (i % 5 == 4)
			(void)*(volatile char *)p;
		else if (writable)
			*(volatile char *)p = 1;
		if (i % 5 != 4)
			writable = !writable;
	}
	close(fd);   /* the mappings keep the file */
}

/* ---- file descriptors --------------------------------------------------- */

/* Every creator takes from fd_budget, so --fds is an exact total whatever
 * the mix, and a small --fds simply gets fewer kinds. */
static bool budget(long n)
{
	if (fd_budget < n)
		return false;
	fd_budget -= n;
	return true;
}

static long scaled(long per10k, long fds)
{
	return (per10k * fds + 5000) / 10000;
}

static void open_regular_files(long n)
{
	long distinct = n / 12 + 1;   /* ~250 files for 3,000 fds */
	char path[PATH_MAX], name[32];

	for (long i = 0; i < n && budget(1); i++) {
		snprintf(name, sizeof(name), "file-%04ld.log", i % distinct);
		tmp_path(path, sizeof(path), name);
		/* Mix read-only and append opens, as a real service has. */
		int flags = i % 3 ? O_RDONLY : O_WRONLY | O_APPEND;
		int fd = open(path, flags | O_CREAT, 0600);
		if (fd < 0)
			die("open %s", path);
		if (i < distinct && flags != O_RDONLY && write(fd, "x\n", 2) != 2)
			die("write %s", path);
	}
}

static void open_pipes(long pairs)
{
	for (long i = 0; i < pairs && budget(2); i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe2");
	}
}

static int first_eventfd = -1;   /* something for the epolls to watch */

static void open_eventfds(long n)
{
	for (long i = 0; i < n && budget(1); i++) {
		int fd = eventfd(0, EFD_CLOEXEC);
		if (fd < 0)
			die("eventfd");
		if (first_eventfd < 0)
			first_eventfd = fd;
	}
}

static void open_timerfds(long n)
{
	/* Armed, with an interval far beyond the lifetime: never fires. */
	struct itimerspec its = { .it_value = { 3600, 0 }, .it_interval = { 3600, 0 } };

	for (long i = 0; i < n && budget(1); i++) {
		int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0)
			die("timerfd");
	}
}

static void open_epolls(long n)
{
	for (long i = 0; i < n && budget(1); i++) {
		int fd = epoll_create1(EPOLL_CLOEXEC);
		if (fd < 0)
			die("epoll_create1");
		struct epoll_event ev = { .events = EPOLLIN };
		if (first_eventfd >= 0 && epoll_ctl(fd, EPOLL_CTL_ADD, first_eventfd, &ev) < 0)
			die("epoll_ctl");
	}
}

static void open_inotifies(long n)
{
	for (long i = 0; i < n && budget(1); i++) {
		int fd = inotify_init1(IN_CLOEXEC);
		if (fd < 0) {
			/* fs.inotify.max_user_instances (128) is per user and
			 * shared; the remainder is filled with other kinds. */
			warn("inotify_init1: %s; made %ld of %ld", strerror(errno), i, n);
			fd_budget++;
			return;
		}
		if (inotify_add_watch(fd, tmpdir, IN_CREATE | IN_DELETE) < 0)
			die("inotify_add_watch");
	}
}

static void open_signalfds(long n)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (long i = 0; i < n && budget(1); i++)
		if (signalfd(-1, &set, SFD_CLOEXEC) < 0)
			die("signalfd");
}

/* dirs, devices, memfds, a FIFO and pidfds: a few of each so every kind
 * pscope names shows up. */
static void open_odd_kinds(long n)
{
	char fifo[PATH_MAX];

	tmp_path(fifo, sizeof(fifo), "fifo");
	if (n > 0 && mkfifo(fifo, 0600) < 0)
		die("mkfifo %s", fifo);
	for (long i = 0; i < n && budget(1); i++) {
		int fd;
		switch (i % 5) {
		case 0: fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); break;
		case 1: fd = open(i % 2 ? "/dev/null" : "/dev/zero", O_RDONLY | O_CLOEXEC); break;
		case 2: fd = memfd_create("fat-memfd", MFD_CLOEXEC); break;
		case 3: fd = open(fifo, O_RDWR | O_CLOEXEC); break;   /* O_RDWR: no blocking */
		default: fd = (int)syscall(SYS_pidfd_open, getpid(), 0); break;
		}
		if (fd < 0)
			die("open odd kind %ld", i % 5);
	}
}

/* -- sockets -- */

union addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
};

static socklen_t loopback(union addr *a, int family)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_addr = in6addr_loopback;
		return sizeof(a->in6);
	}
	a->in4.sin_family = AF_INET;
	a->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(a->in4);
}

/* A listener on an ephemeral loopback port; its address goes to *a.
 * Returns -1 (with a warning) when the family is unavailable, e.g. no IPv6. */
static int tcp_listener(int family, union addr *a, socklen_t *len)
{
	*len = loopback(a, family);
	int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, &a->sa, *len) < 0 || listen(l, 128) < 0 ||
	    getsockname(l, &a->sa, len) < 0) {
		warn("no %s loopback listener: %s", family == AF_INET6 ? "tcp6" : "tcp",
		     strerror(errno));
		if (l >= 0)
			close(l);
		return -1;
	}
	return l;
}

/* Closing with SO_LINGER 0 sends RST: when fat exits, its hundreds of
 * loopback connections vanish at once instead of lingering in TIME_WAIT for a
 * minute and inflating the host socket table the next run is measured on. */
static void linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0)
		die("SO_LINGER");
}

/* One connection to our own listener.  A blocking loopback connect completes
 * the handshake before it returns, so accept() does not wait.  close_wait:
 * the client shuts its side down, which leaves the accepted end in
 * CLOSE_WAIT (the classic leak pscope exists to show) and the client in
 * FIN_WAIT2.  shutdown, not close: a closed client would be an orphan that
 * outlives fat by a minute. */
static void tcp_connection(int l, const union addr *a, socklen_t len, bool close_wait)
{
	int c = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, &a->sa, len) < 0)
		die("tcp connect");
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		die("tcp accept");
	linger0(c);
	linger0(s);
	if (close_wait && shutdown(c, SHUT_WR) < 0)
		die("shutdown");
}

static void open_tcp(int family, long established, long close_wait)
{
	union addr a;
	socklen_t len;

	if (!budget(1))
		return;
	int l = tcp_listener(family, &a, &len);
	if (l < 0) {
		fd_budget++;
		return;
	}
	for (long i = 0; i < established && budget(2); i++)
		tcp_connection(l, &a, len, false);
	for (long i = 0; i < close_wait && budget(2); i++)
		tcp_connection(l, &a, len, true);
}

static void open_udp(int family, long n)
{
	union addr a;

	for (long i = 0; i < n && budget(1); i++) {
		socklen_t len = loopback(&a, family);
		int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, &a.sa, len) < 0) {
			warn("no %s socket: %s", family == AF_INET6 ? "udp6" : "udp", strerror(errno));
			if (fd >= 0)
				close(fd);
			fd_budget++;
			return;
		}
	}
}

/* A unix listener (abstract name: nothing to clean up) and pairs made through
 * it, so unix sockets with a peer address exist besides socketpairs. */
static void open_unix_listener(long pairs)
{
	union addr a = { .un = { .sun_family = AF_UNIX } };
	int len = snprintf(a.un.sun_path + 1, sizeof(a.un.sun_path) - 1, "pscope-fat-%d", getpid());
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);

	if (!budget(1))
		return;
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, &a.sa, alen) < 0 || listen(l, 128) < 0)
		die("unix listener");
	for (long i = 0; i < pairs && budget(2); i++) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0 || connect(c, &a.sa, alen) < 0 || accept4(l, NULL, NULL, SOCK_CLOEXEC) < 0)
			die("unix connect");
	}
}

/* Whatever the budget has left: socketpairs, and one eventfd if odd. */
static void fill_remainder(void)
{
	for (long i = 0; budget(2); i++) {
		int sv[2];
		int type = (i % 4 ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC;
		if (socketpair(AF_UNIX, type, 0, sv) < 0)
			die("socketpair");
	}
	open_eventfds(fd_budget);
}

/* The mix per 10,000 fds, after the notes' fat target but with ~300 TCP
 * connections: files 30 %, pipes 16 %, eventfds 10 %, a few hundred TCP,
 * UDP and unix sockets, and socketpairs for the rest. */
static void open_fds(long total)
{
	fd_budget = total - count_fds();
	if (fd_budget < 0)
		fd_budget = 0;

	open_regular_files(scaled(3000, total));
	open_pipes(scaled(800, total));
	open_eventfds(scaled(1000, total));
	open_timerfds(scaled(150, total));
	open_epolls(scaled(50, total));
	open_inotifies(scaled(50, total));
	open_signalfds(scaled(50, total));
	open_odd_kinds(scaled(35, total));
	open_tcp(AF_INET, scaled(220, total), scaled(60, total));
	open_tcp(AF_INET6, scaled(50, total), scaled(5, total));
	open_udp(AF_INET, scaled(200, total));
	open_udp(AF_INET6, scaled(100, total));
	open_unix_listener(scaled(50, total));
	fill_remainder();
}

/* ---- threads ------------------------------------------------------------ */

static sem_t threads_named;

static void *worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "worker-%ld", (long)(intptr_t)arg);
	prctl(PR_SET_NAME, name);
	sem_post(&threads_named);
	for (;;)
		pause();   /* every signal is blocked: blocked for good */
	return NULL;
}

static void start_threads(long n)
{
	pthread_attr_t attr;

	if (sem_init(&threads_named, 0, 0) < 0)
		die("sem_init");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		int err = pthread_create(&t, &attr, worker, (void *)(intptr_t)i);
		if (err) {
			errno = err;
			die("pthread_create %ld of %ld", i + 1, n);
		}
	}
	pthread_attr_destroy(&attr);
	/* Report ready only once every thread carries its name. */
	for (long i = 0; i < n; i++)
		while (sem_wait(&threads_named) < 0 && errno == EINTR)
			;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct options o;
	sigset_t exit_signals;
	int sig;

	parse_options(argc, argv, &o);
	block_exit_signals(&exit_signals);
	bound_lifetime(o.lifetime);
	raise_fd_limit(o.fds);
	make_tmpdir();

	grow_heap(o.heap_mb);   /* first, from the main thread: brk, not an arena */
	make_maps(o.maps);
	open_fds(o.fds);
	start_threads(o.threads);

	printf("{\"pid\":%d,\"threads\":%ld,\"fds\":%ld,\"maps\":%ld}\n",
	       getpid(), count_dir("/proc/self/task"), count_fds(), count_maps());
	fflush(stdout);

	while (sigwait(&exit_signals, &sig) != 0)
		;
	return 0;   /* exit() runs remove_tmpdir and ends the workers */
}
