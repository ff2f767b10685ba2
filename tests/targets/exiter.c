/*
 * exiter — lives for SECS seconds (fractions allowed), then exits 0.
 *
 *   exiter SECS
 *
 * Prints {"pid": PID} first, so a test knows whom to watch exit mid-run.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end;
	double secs = argc == 2 ? strtod(argv[1], &end) : -1;
	struct timespec ts;

	if (argc != 2 || *end || secs < 0 || secs > 3600) {
		fputs("usage: exiter SECS\n", stderr);
		return 64;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);   /* the test runner died: go too */
	printf("{\"pid\":%d}\n", (int)getpid());
	fflush(stdout);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - floor(secs)) * 1e9);
	while (nanosleep(&ts, &ts) < 0)
		;   /* interrupted by a stop/continue: sleep the rest */
	return 0;
}
