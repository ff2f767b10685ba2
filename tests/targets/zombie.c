/*
 * zombie — a parent that never reaps its child, so the child stays in state Z.
 *
 *   zombie [--lifetime SECS]      (default 120)
 *
 * Prints one JSON line {"pid": PARENT, "child": ZOMBIE_PID} once the child
 * has exited, then sleeps.  When the parent exits (lifetime, SIGTERM, or its
 * own parent dying) init reaps the zombie, so nothing is left behind.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double parse_lifetime(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--lifetime"))
		return atof(argv[2]);
	if (argc == 1)
		return 120;
	fputs("usage: zombie [--lifetime SECS]\n", stderr);
	exit(64);
}

int main(int argc, char **argv)
{
	double lifetime = parse_lifetime(argc, argv);
	struct timespec ts = { (time_t)lifetime, 0 };
	pid_t child;

	prctl(PR_SET_PDEATHSIG, SIGTERM);   /* the test runner died: go too */
	child = fork();
	if (child < 0) {
		perror("zombie: fork");
		return 1;
	}
	if (child == 0)
		_exit(0);
	/* Wait (without reaping: WNOWAIT) until the child really is a zombie,
	 * so a test never samples it while it is still running. */
	siginfo_t info;
	waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT);
	printf("{\"pid\":%d,\"child\":%d}\n", (int)getpid(), (int)child);
	fflush(stdout);
	nanosleep(&ts, NULL);   /* SIGTERM's default action ends this early */
	return 0;
}
