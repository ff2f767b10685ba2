/* proclist.c — see proclist.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc2.h"
#include "proclist.h"
#include "util.h"

/* Counting directory entries is the cheapest way to learn the fd count:
 * no readlink, no stat, one getdents batch for most processes. */
static int64_t count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int by_rss_desc(const void *a, const void *b)
{
	const struct proc_entry *x = a, *y = b;
	if (x->rss_kb != y->rss_kb)
		return x->rss_kb < y->rss_kb ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int proclist_read(struct proc_list *out)
{
	enum pids_item items[] = { PIDS_ID_PID, PIDS_ID_EUSER, PIDS_VM_RSS, PIDS_NLWP,
				   PIDS_CMDLINE, PIDS_CMD };
	enum { I_PID, I_USER, I_RSS, I_NLWP, I_CMDLINE, I_CMD };
	struct pids_stack *st;
	size_t cap = 256;
	pid_t self = getpid();

	struct proc2 lib;
	int rc = proc2_open(&lib, items, (int)(sizeof(items) / sizeof(items[0])));
	if (rc < 0)
		return rc;
	out->count = 0;
	out->list = xmalloc(cap * sizeof(*out->list));
	while ((st = proc2_next(&lib))) {
		pid_t pid = PIDS_VAL(I_PID, s_int, st, lib.info);
		if (pid == self)
			continue;
		if (out->count == cap)
			out->list = xrealloc(out->list, (cap *= 2) * sizeof(*out->list));
		struct proc_entry *e = &out->list[out->count++];
		e->pid = pid;
		snprintf(e->user, sizeof(e->user), "%s", PIDS_VAL(I_USER, str, st, lib.info));
		e->rss_kb = (int64_t)PIDS_VAL(I_RSS, ul_int, st, lib.info);
		e->threads = PIDS_VAL(I_NLWP, s_int, st, lib.info);
		e->fds = count_fds(pid);
		const char *cmdline = PIDS_VAL(I_CMDLINE, str, st, lib.info);
		/* libproc2 shows an empty command line as "-"; show [comm] the
		 * way ps does for kernel threads. */
		if (cmdline && *cmdline && strcmp(cmdline, "-") != 0) {
			e->cmd = xstrdup(cmdline);
		} else {
			const char *comm = PIDS_VAL(I_CMD, str, st, lib.info);
			e->cmd = xmalloc(strlen(comm) + 3);
			sprintf(e->cmd, "[%s]", comm);
		}
	}
	proc2_close(&lib);
	qsort(out->list, out->count, sizeof(*out->list), by_rss_desc);
	return 0;
}

void proclist_free(struct proc_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->list[i].cmd);
	free(l->list);
	l->list = NULL;
	l->count = 0;
}
