/*
 * exiter — lives for SECS seconds (fractions allowed), then exits 0.
 *
 *   exiter SECS [--touch MB] [--files N]
 *
 * Prints {"pid": PID} first, so a test knows whom to watch exit mid-run.
 * --touch MB writes to MB MiB of anonymous memory first, so that the kernel
 * takes a while to tear it down at exit (tens of ms for a few hundred MiB):
 * a window in which the process still runs but has no mappings left.
 * --files N keeps N more descriptors open (on /dev/null) until the exit.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fputs("usage: exiter SECS [--touch MB] [--files N]\n", stderr);
	return 64;
}

int main(int argc, char **argv)
{
	char *end;
	double secs = argc >= 2 ? strtod(argv[1], &end) : -1;
	long touch_mb = 0, files = 0;
	struct timespec ts;

	if (argc < 2 || *end || secs < 0 || secs > 3600)
		return usage();
	for (int i = 2; i < argc; i++) {
		long *dst = strcmp(argv[i], "--touch") == 0 ? &touch_mb
			    : strcmp(argv[i], "--files") == 0 ? &files : NULL;
		if (!dst || i + 1 >= argc)
			return usage();
		*dst = strtol(argv[++i], &end, 10);
		if (*end || *dst < 0 || *dst > 65536)
			return usage();
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);   /* the test runner died: go too */
	if (touch_mb) {
		size_t len = (size_t)touch_mb << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("exiter: mmap");
			return 1;
		}
		memset(p, 1, len);
	}
	for (long i = 0; i < files; i++)
		if (open("/dev/null", O_RDONLY) < 0) {
			perror("exiter: open");
			return 1;
		}
	printf("{\"pid\":%d}\n", (int)getpid());
	fflush(stdout);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - floor(secs)) * 1e9);
	while (nanosleep(&ts, &ts) < 0)
		;   /* interrupted by a stop/continue: sleep the rest */
	return 0;
}
