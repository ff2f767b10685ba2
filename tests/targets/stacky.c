/*
 * stacky — threads parked at known depths in known functions, for pscope's
 * stack capture tests.
 *
 *   stacky [--threads N] [--spin N] [--churn] [--vfork SECS] [--mover]
 *          [--deep N] [--twins] [--lifetime SECS]
 *
 * Worker i runs thread_main -> level3 -> level2 -> level1 and blocks there
 * in pthread_cond_wait (i%3 == 0), nanosleep (1) or read on a pipe (2).
 * --spin N adds N threads that spin on clock_gettime (the vDSO), --churn a
 * thread that creates short-lived threads without pause, --vfork SECS a
 * thread that vforks a child which sleeps SECS (the parent thread is then in
 * an uninterruptible wait and cannot be stopped), --mover a thread
 * "stk-mover" that waits in mover_even or mover_odd, two functions with the
 * same frame, so only the return address on its stack tells them apart,
 * --deep N a thread "stk-deep" that recurses N times through deep_recurse,
 * whose frames hold 1 KiB each, and parks in deep_park (N = 100 puts about
 * 110 KiB of stack between its innermost frame and thread start),
 * --twins two threads "stk-twin-a" and "stk-twin-b" that park in
 * twin_park through twin_a and twin_b: the same frames at the same depth,
 * only the return address into twin_a or twin_b differs.
 *
 * Prints one JSON line when ready:
 *   {"pid":..,"threads":[{"tid":..,"name":"stk-cond-0","expect":["level1",
 *    "level2","level3","thread_main"]},..],"spinners":[tid,..],
 *    "deep":{"tid":..,"levels":N}}   ("deep" only with --deep)
 * expect lists functions that must appear in that order (innermost first).
 * Real-time signal SIGRTMIN+1 is counted in a handler; SIGUSR1 makes it print
 * {"signals":N}; SIGUSR2 moves the mover to the other function and prints
 * {"phase":N,"mover_in":"mover_even"|"mover_odd"} once it waits there;
 * SIGWINCH starts 5 more threads ("stk-leak") waiting in leak_park, like a
 * thread leak, and prints {"leaked":N} with the total.  Exits on SIGTERM/SIGINT, its parent's death or --lifetime
 * seconds (default 600).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

enum { MAX_THREADS = 2000 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static int pipe_fds[2], report_pipe[2], vfork_pipe[2];
static int nready;
static pid_t tids[MAX_THREADS];
static atomic_long signals_seen;
static int vfork_secs;
static pthread_cond_t phase_cv = PTHREAD_COND_INITIALIZER;
static int phase, mover_phase = -1;

static void die(const char *what)
{
	fprintf(stderr, "stacky: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Each level does work after its call, so no call becomes a tail jump and
 * every level keeps its own frame even at -O2. */
static volatile int sink;

NOINLINE static int level1(int kind)
{
	char c;

	if (kind == 0) {
		pthread_mutex_lock(&lock);
		for (;;)
			pthread_cond_wait(&never, &lock);
	} else if (kind == 1) {
		struct timespec ts = { 3600, 0 };
		for (;;)
			nanosleep(&ts, NULL);
	} else {
		for (;;)
			if (read(pipe_fds[0], &c, 1) == 0)
				break;
	}
	return sink + 1;
}

NOINLINE static int level2(int kind)
{
	int r = level1(kind);
	sink += r;
	return r + 1;
}

NOINLINE static int level3(int kind)
{
	int r = level2(kind);
	sink += r;
	return r + 1;
}

NOINLINE static void *thread_main(void *arg)
{
	int i = (int)(long)arg;
	char name[16];
	static const char *const kinds[] = { "cond", "sleep", "pipe" };

	snprintf(name, sizeof(name), "stk-%s-%d", kinds[i % 3], i);
	prctl(PR_SET_NAME, name);
	pthread_mutex_lock(&lock);
	tids[i] = (pid_t)syscall(SYS_gettid);
	nready++;
	pthread_cond_broadcast(&ready_cv);
	pthread_mutex_unlock(&lock);
	sink += level3(i % 3);
	return NULL;
}

/* Both wait for the next phase in the same way, from the same depth. */
NOINLINE static int mover_even(int p)
{
	pthread_mutex_lock(&lock);
	mover_phase = p;
	pthread_cond_broadcast(&phase_cv);
	while (phase == p)
		pthread_cond_wait(&phase_cv, &lock);
	pthread_mutex_unlock(&lock);
	return sink + 1;
}

NOINLINE static int mover_odd(int p)
{
	pthread_mutex_lock(&lock);
	mover_phase = p;
	pthread_cond_broadcast(&phase_cv);
	while (phase == p)
		pthread_cond_wait(&phase_cv, &lock);
	pthread_mutex_unlock(&lock);
	return sink + 2;
}

static void *mover_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "stk-mover");
	for (;;) {
		pthread_mutex_lock(&lock);
		int p = phase;
		pthread_mutex_unlock(&lock);
		sink += p % 2 ? mover_odd(p) : mover_even(p);
	}
	return NULL;
}

static void move_mover(void)
{
	pthread_mutex_lock(&lock);
	int p = ++phase;
	pthread_cond_broadcast(&phase_cv);
	while (mover_phase != p)
		pthread_cond_wait(&phase_cv, &lock);
	pthread_mutex_unlock(&lock);
	printf("{\"phase\":%d,\"mover_in\":\"%s\"}\n", p, p % 2 ? "mover_odd" : "mover_even");
	fflush(stdout);
}

static int nleaked;

NOINLINE static int leak_park(void)
{
	pthread_mutex_lock(&lock);
	nleaked++;
	pthread_cond_broadcast(&ready_cv);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return sink;
}

static void *leak_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "stk-leak");
	sink += leak_park();
	return NULL;
}

static void start(void *(*fn)(void *), long arg);

static void leak_threads(void)
{
	pthread_mutex_lock(&lock);
	int want = nleaked + 5;
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 5; i++)
		start(leak_main, 0);
	pthread_mutex_lock(&lock);
	while (nleaked < want)
		pthread_cond_wait(&ready_cv, &lock);
	pthread_mutex_unlock(&lock);
	printf("{\"leaked\":%d}\n", want);
	fflush(stdout);
}

static int deep_levels;
static pid_t deep_tid;

NOINLINE static int deep_park(void)
{
	pthread_mutex_lock(&lock);
	deep_tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_broadcast(&ready_cv);
	while (sink >= 0 || sink < 0)   /* forever, in a way gcc does not prove */
		pthread_cond_wait(&never, &lock);
	return sink;
}

/* The buffer is written and read after the call, so every level keeps
 * its frame (and its 1 KiB) even at -O2. */
NOINLINE static int deep_recurse(int n)
{
	volatile char pad[1024];
	pad[n % sizeof(pad)] = (char)n;
	int r = n > 1 ? deep_recurse(n - 1) : deep_park();
	return r + pad[n % sizeof(pad)];
}

static void *deep_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "stk-deep");
	sink += deep_recurse(deep_levels);
	return NULL;
}

static int twins_parked;

NOINLINE static int twin_park(void)
{
	pthread_mutex_lock(&lock);
	twins_parked++;
	pthread_cond_broadcast(&ready_cv);
	while (sink >= 0 || sink < 0)
		pthread_cond_wait(&never, &lock);
	return sink;
}

NOINLINE static int twin_a(void)
{
	int r = twin_park();
	sink += r;
	return r + 1;
}

NOINLINE static int twin_b(void)
{
	int r = twin_park();
	sink += r;
	return r + 2;
}

static void *twin_main(void *arg)
{
	prctl(PR_SET_NAME, arg ? "stk-twin-b" : "stk-twin-a");
	sink += arg ? twin_b() : twin_a();
	return NULL;
}

static void *spin_main(void *arg)
{
	struct timespec ts;
	int i = (int)(long)arg;

	prctl(PR_SET_NAME, "stk-spin");
	pthread_mutex_lock(&lock);
	tids[i] = (pid_t)syscall(SYS_gettid);
	nready++;
	pthread_cond_broadcast(&ready_cv);
	pthread_mutex_unlock(&lock);
	for (;;)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return NULL;
}

static void *short_lived(void *arg)
{
	(void)arg;
	sink++;
	return NULL;
}

static void *churn_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "stk-churn");
	for (;;) {
		pthread_t t[8];
		int n = 0;
		for (; n < 8; n++)
			if (pthread_create(&t[n], NULL, short_lived, NULL))
				break;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	}
	return NULL;
}

static void *vfork_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "stk-vfork");
	pid_t child = vfork();
	if (child == 0) {
		struct timespec ts = { vfork_secs, 0 };
		char c = 'v';
		/* The parent thread now waits, uninterruptibly, until _exit. */
		if (write(vfork_pipe[1], &c, 1) == 1)
			nanosleep(&ts, NULL);
		_exit(0);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
	for (;;)
		pause();
	return NULL;
}

static void on_rt(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

static void on_report(int sig)
{
	char c = sig == SIGUSR2 ? 'm' : sig == SIGWINCH ? 'l' : 'r';
	ssize_t r = write(report_pipe[1], &c, 1);
	(void)r;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static void start(void *(*fn)(void *), long arg)
{
	pthread_t t;
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	if (pthread_create(&t, &a, fn, (void *)arg))
		die("pthread_create");
	pthread_attr_destroy(&a);
}

int main(int argc, char **argv)
{
	int nthreads = 4, nspin = 0, churn = 0, mover = 0, twins = 0, lifetime = 600;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--spin") && i + 1 < argc)
			nspin = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--churn"))
			churn = 1;
		else if (!strcmp(argv[i], "--mover"))
			mover = 1;
		else if (!strcmp(argv[i], "--twins"))
			twins = 1;
		else if (!strcmp(argv[i], "--deep") && i + 1 < argc)
			deep_levels = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vfork") && i + 1 < argc)
			vfork_secs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--lifetime") && i + 1 < argc)
			lifetime = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: stacky [--threads N] [--spin N] [--churn] "
				"[--vfork SECS] [--mover] [--deep N] [--twins] [--lifetime SECS]\n");
			return 2;
		}
	}
	if (nthreads < 0 || nspin < 0 || nthreads + nspin > MAX_THREADS || deep_levels < 0 ||
	    deep_levels > 200)
		die("too many threads");
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (pipe(pipe_fds) || pipe(report_pipe) || pipe(vfork_pipe))
		die("pipe");

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_rt;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	sa.sa_handler = on_report;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	for (long i = 0; i < nthreads; i++)
		start(thread_main, i);
	for (long i = 0; i < nspin; i++)
		start(spin_main, nthreads + i);
	pthread_mutex_lock(&lock);
	while (nready < nthreads + nspin)
		pthread_cond_wait(&ready_cv, &lock);
	pthread_mutex_unlock(&lock);
	if (churn)
		start(churn_main, 0);
	if (vfork_secs) {
		char c;
		start(vfork_main, 0);
		if (read(vfork_pipe[0], &c, 1) != 1)   /* the child runs: the parent waits */
			die("vfork");
	}
	if (deep_levels) {
		start(deep_main, 0);
		pthread_mutex_lock(&lock);
		while (!deep_tid)
			pthread_cond_wait(&ready_cv, &lock);
		pthread_mutex_unlock(&lock);
	}
	if (twins) {
		start(twin_main, 0);
		start(twin_main, 1);
		pthread_mutex_lock(&lock);
		while (twins_parked < 2)
			pthread_cond_wait(&ready_cv, &lock);
		pthread_mutex_unlock(&lock);
	}
	if (mover) {
		start(mover_main, 0);
		pthread_mutex_lock(&lock);
		while (mover_phase != 0)
			pthread_cond_wait(&phase_cv, &lock);
		pthread_mutex_unlock(&lock);
	}

	printf("{\"pid\":%d,\"threads\":[", (int)getpid());
	for (int i = 0; i < nthreads; i++) {
		static const char *const kinds[] = { "cond", "sleep", "pipe" };
		printf("%s{\"tid\":%d,\"name\":\"stk-%s-%d\",\"expect\":"
		       "[\"level1\",\"level2\",\"level3\",\"thread_main\"]}",
		       i ? "," : "", (int)tids[i], kinds[i % 3], i);
	}
	printf("],\"spinners\":[");
	for (int i = 0; i < nspin; i++)
		printf("%s%d", i ? "," : "", (int)tids[nthreads + i]);
	printf("]");
	if (deep_levels)
		printf(",\"deep\":{\"tid\":%d,\"levels\":%d}", (int)deep_tid, deep_levels);
	printf("}\n");
	fflush(stdout);

	/* The main thread answers SIGUSR1 with the signal count. */
	alarm((unsigned)lifetime);
	signal(SIGALRM, on_term);
	for (;;) {
		char c;
		ssize_t r = read(report_pipe[0], &c, 1);
		if (r == 1 && c == 'm') {
			move_mover();
		} else if (r == 1 && c == 'l') {
			leak_threads();
		} else if (r == 1) {
			printf("{\"signals\":%ld}\n", atomic_load(&signals_seen));
			fflush(stdout);
		} else if (r < 0 && errno != EINTR) {
			die("read");
		}
	}
}
