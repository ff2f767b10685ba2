#include "procfind.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc2.h"
#include "util.h"

enum { COMM_MAX = 15 };

static int comm_matches(const char *name, const char *comm)
{
	if (!comm)
		return 0;
	/* The kernel keeps only the first 15 bytes of a longer name. */
	if (strlen(name) > COMM_MAX)
		return strlen(comm) == COMM_MAX && strncmp(name, comm, COMM_MAX) == 0;
	return strcmp(name, comm) == 0;
}

int procfind_name_matches(const char *name, const char *comm, const char *argv0)
{
	if (comm_matches(name, comm))
		return 1;
	if (argv0 && *argv0) {
		const char *base = strrchr(argv0, '/');
		base = base ? base + 1 : argv0;
		if (strcmp(base, name) == 0)
			return 1;
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int procfind_by_name(const char *name, pid_t **pids, size_t *count)
{
	enum pids_item items[] = { PIDS_ID_PID, PIDS_CMD, PIDS_CMDLINE_V };
	enum { I_PID, I_CMD, I_ARGV };
	struct pids_stack *st;
	size_t n = 0, cap = 8;
	pid_t self = getpid();

	struct proc2 lib;
	int rc = proc2_open(&lib, items, (int)(sizeof(items) / sizeof(items[0])));
	if (rc < 0)
		return rc;
	*pids = xmalloc(cap * sizeof(pid_t));
	while ((st = proc2_next(&lib))) {
		pid_t pid = PIDS_VAL(I_PID, s_int, st, lib.info);
		char **argv = PIDS_VAL(I_ARGV, strv, st, lib.info);
		const char *argv0 = argv && argv[0] ? argv[0] : NULL;

		if (pid == self || !procfind_name_matches(name, PIDS_VAL(I_CMD, str, st, lib.info), argv0))
			continue;
		if (n == cap)
			*pids = xrealloc(*pids, (cap *= 2) * sizeof(pid_t));
		(*pids)[n++] = pid;
	}
	proc2_close(&lib);
	qsort(*pids, n, sizeof(pid_t), cmp_pid);
	*count = n;
	return 0;
}
