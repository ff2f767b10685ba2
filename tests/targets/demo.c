/*
 * demo — "leakyd", a slowly dying service for `make demo`.
 *
 *   demo [--lifetime SECS]      (default 600)
 *
 * Every second, like a real service with four classic bugs, it:
 *   - opens its log file again and never closes it       (fd leak)
 *   - takes a connection on its own listener and never closes its end after
 *     the peer hangs up                                   (CLOSE_WAIT leak)
 *   - starts a "req-worker" thread that blocks forever    (thread leak)
 *   - adds 256 kB to a global cache nobody prunes         (heap growth)
 * Leaking stops at 500 fds / threads so it cannot harm the machine; it exits
 * after --lifetime seconds, on SIGTERM/SIGINT/SIGHUP, or when its parent dies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LEAKED      500            /* fds and threads: the safety cap */
#define CACHE_KB_PER_S  256
#define CACHE_ENTRY     (16 * 1024)    /* below the mmap threshold: [heap] */

static char log_path[64];
static int listen_fd = -1;
static struct sockaddr_in listen_addr;
static int leaked_fds, leaked_threads;

/* The never-pruned cache: entries chained from a global, never freed. */
struct entry { struct entry *next; char data[CACHE_ENTRY - sizeof(void *)]; };
static struct entry *cache;

static void fail(const char *what)
{
	fprintf(stderr, "leakyd: %s: %s\n", what, strerror(errno));
	unlink(log_path);
	exit(1);
}

static void start_listener(void)
{
	socklen_t len = sizeof listen_addr;

	listen_addr.sin_family = AF_INET;
	listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&listen_addr, len) < 0 ||
	    listen(listen_fd, 128) < 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&listen_addr, &len) < 0)
		fail("listener");
}

/* Bug 1: the log is reopened for every request and the fd is forgotten. */
static void leak_log_fd(void)
{
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (fd < 0)
		fail(log_path);
	dprintf(fd, "request %d handled\n", leaked_fds);
	leaked_fds++;
}

/* Bug 2: the peer (the accepted end, closed at once) hangs up; our client
 * end is never closed, so it sits in CLOSE_WAIT forever. */
static void leak_close_wait(void)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int s;

	if (c < 0 || connect(c, (struct sockaddr *)&listen_addr, sizeof listen_addr) < 0)
		fail("connect");
	s = accept(listen_fd, NULL, NULL);
	if (s < 0)
		fail("accept");
	close(s);
	leaked_fds++;
}

static void *req_worker(void *arg)
{
	(void)arg;
	pause();   /* waits for a reply that never comes */
	return NULL;
}

/* Bug 3: a worker per request that never finishes. */
static void leak_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, req_worker, NULL) != 0)
		return;
	pthread_setname_np(t, "req-worker");
	pthread_detach(t);
	leaked_threads++;
}

/* Bug 4: a cache that only grows; memset keeps its pages resident. */
static void grow_cache(void)
{
	for (int i = 0; i < CACHE_KB_PER_S * 1024 / CACHE_ENTRY; i++) {
		struct entry *e = malloc(sizeof *e);

		if (!e)
			return;
		memset(e->data, 'c', sizeof e->data);
		e->next = cache;
		cache = e;
	}
}

static void leak_once(void)
{
	if (leaked_fds + 2 <= MAX_LEAKED) {
		leak_log_fd();
		leak_close_wait();
	}
	if (leaked_threads < MAX_LEAKED)
		leak_thread();
	grow_cache();
}

static double parse_lifetime(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--lifetime") && atof(argv[2]) > 0)
		return atof(argv[2]);
	if (argc == 1)
		return 600;
	fputs("usage: demo [--lifetime SECS]\n", stderr);
	exit(64);
}

int main(int argc, char **argv)
{
	double lifetime = parse_lifetime(argc, argv);
	sigset_t stop;

	prctl(PR_SET_NAME, "leakyd");
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* Stop signals are taken synchronously below; block them before any
	 * thread exists so no req-worker is ever picked to handle one. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);

	snprintf(log_path, sizeof log_path, "/tmp/leakyd-%d.log", (int)getpid());
	start_listener();
	printf("leakyd: pid %d, leaking an fd, a CLOSE_WAIT socket, a thread and "
	       "%d kB of heap every second\n", (int)getpid(), CACHE_KB_PER_S);
	fflush(stdout);

	for (int sec = 0; sec < lifetime; sec++) {
		struct timespec one = { 1, 0 };

		leak_once();
		if (sigtimedwait(&stop, NULL, &one) > 0)
			break;
	}
	unlink(log_path);
	return 0;
}
