/*
 * small — a typical small process for pscope's benchmark (make bench):
 * 10 blocked worker threads (named worker-N) and exactly 20 fds, stdio
 * included, among them a couple of sockets (a TCP listener with one loopback
 * connection, a UDP socket, a unix socketpair).
 *
 *   small [--lifetime SECS]
 *
 * Prints {"pid":..,"threads":..,"fds":..,"maps":..} (counted from /proc/self)
 * when ready, then blocks until SIGTERM/SIGINT/SIGHUP, its parent's death, or
 * --lifetime seconds (default 600).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

enum { WORKERS = 10, TOTAL_FDS = 20 };

static void die(const char *what)
{
	fprintf(stderr, "small: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long count_lines_or_entries(const char *path, int is_dir)
{
	long n = 0;

	if (is_dir) {
		DIR *d = opendir(path);
		struct dirent *e;
		if (!d)
			die(path);
		while ((e = readdir(d)))
			n += e->d_name[0] != '.';
		closedir(d);
		return n;
	}
	FILE *f = fopen(path, "r");
	int c;
	if (!f)
		die(path);
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static long count_fds(void)
{
	return count_lines_or_entries("/proc/self/fd", 1) - 1;   /* opendir's own */
}

/* A loopback TCP listener and one accepted connection: 3 fds. */
static void open_tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 8) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		die("tcp listener");
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, len) < 0 ||
	    accept4(l, NULL, NULL, SOCK_CLOEXEC) < 0)
		die("tcp connect");
}

static void open_fds(void)
{
	struct sockaddr_in u = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct itimerspec its = { .it_value = { 3600, 0 } };
	int p[2], sv[2];

	/* Its own executable stands in for the files a service keeps open. */
	if (open("/proc/self/exe", O_RDONLY | O_CLOEXEC) < 0 ||
	    open("/proc/self/exe", O_RDONLY | O_CLOEXEC) < 0 ||
	    open("/dev/null", O_WRONLY | O_CLOEXEC) < 0)
		die("open");
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe2");
	int efd = eventfd(0, EFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	if (efd < 0 || tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0)
		die("eventfd/timerfd/epoll");
	open_tcp();
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (udp < 0 || bind(udp, (struct sockaddr *)&u, sizeof(u)) < 0)
		die("udp");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	/* Top up to exactly TOTAL_FDS, whatever stdio the caller left open. */
	for (long n = count_fds(); n < TOTAL_FDS; n++)
		if (eventfd(0, EFD_CLOEXEC) < 0)
			die("eventfd");
}

static sem_t named;

static void *worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "worker-%ld", (long)(intptr_t)arg);
	prctl(PR_SET_NAME, name);
	sem_post(&named);
	for (;;)
		pause();   /* every signal is blocked */
	return NULL;
}

static long parse_lifetime(int argc, char **argv)
{
	if (argc == 1)
		return 600;
	char *end;
	long v = argc == 3 && !strcmp(argv[1], "--lifetime") ? strtol(argv[2], &end, 10) : -1;
	if (v <= 0 || *end) {
		fputs("usage: small [--lifetime SECS]\n", stderr);
		exit(64);
	}
	return v;
}

int main(int argc, char **argv)
{
	long lifetime = parse_lifetime(argc, argv);
	pid_t parent = getppid();
	sigset_t exits;
	int sig;

	/* Exit signals are collected by sigwait below; the workers inherit the
	 * mask and so never see them. */
	sigemptyset(&exits);
	sigaddset(&exits, SIGTERM);
	sigaddset(&exits, SIGINT);
	sigaddset(&exits, SIGHUP);
	sigaddset(&exits, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &exits, NULL);
	/* Never outlive the benchmark that started it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		return 0;
	alarm((unsigned)lifetime);

	open_fds();
	sem_init(&named, 0, 0);
	for (long i = 0; i < WORKERS; i++) {
		pthread_t t;
		if ((errno = pthread_create(&t, NULL, worker, (void *)(intptr_t)i)))
			die("pthread_create");
	}
	/* Ready only once every worker carries its name. */
	for (long i = 0; i < WORKERS; i++)
		while (sem_wait(&named) < 0 && errno == EINTR)
			;

	printf("{\"pid\":%d,\"threads\":%ld,\"fds\":%ld,\"maps\":%ld}\n", getpid(),
	       count_lines_or_entries("/proc/self/task", 1), count_fds(),
	       count_lines_or_entries("/proc/self/maps", 0));
	fflush(stdout);
	while (sigwait(&exits, &sig) != 0)
		;
	return 0;
}
