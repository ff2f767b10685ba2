/*
 * leaderless — a process whose main thread has exited (pthread_exit) while
 * another thread runs on: /proc/PID then shows state Z and an empty fd/,
 * maps and status, although the process holds files, a socket and memory.
 *
 *   leaderless [--files N] [--lifetime SECS]     (defaults 5 and 120)
 *
 * Before its main thread exits it prints one JSON line:
 *   {"pid":..,"worker":TID,"fds":N,"files":N,"listen":1}
 * fds counts /proc/self/fd as the main thread saw it last.  The worker
 * "lead-worker" waits in worker_park and ends the process after the
 * lifetime; SIGTERM (default action) or its parent's death end it sooner.
 */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static pid_t worker_tid;
static int lifetime = 120;

NOINLINE static void worker_park(void)
{
	struct timespec ts = { lifetime, 0 };
	nanosleep(&ts, NULL);
}

static void *worker_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "lead-worker");
	pthread_mutex_lock(&lock);
	worker_tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_signal(&ready);
	pthread_mutex_unlock(&lock);
	worker_park();
	exit(0);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;   /* the directory's own fd */
}

int main(int argc, char **argv)
{
	int files = 5;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--files") && i + 1 < argc)
			files = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--lifetime") && i + 1 < argc)
			lifetime = atoi(argv[++i]);
		else {
			fputs("usage: leaderless [--files N] [--lifetime SECS]\n", stderr);
			return 64;
		}
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (int i = 0; i < files; i++)
		if (open("/proc/self/exe", O_RDONLY | O_CLOEXEC) < 0)
			return 1;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
		return 1;

	pthread_t t;
	if (pthread_create(&t, NULL, worker_main, NULL))
		return 1;
	pthread_mutex_lock(&lock);
	while (!worker_tid)
		pthread_cond_wait(&ready, &lock);
	pthread_mutex_unlock(&lock);
	printf("{\"pid\":%d,\"worker\":%d,\"fds\":%d,\"files\":%d,\"listen\":1}\n", (int)getpid(),
	       (int)worker_tid, count_fds(), files);
	fflush(stdout);
	pthread_exit(NULL);
}
