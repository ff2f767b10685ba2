/* proclist.h — every process on the system, for the process picker.
 *
 * One pass through libproc2 (PID, user, RSS, threads, command line) plus a
 * count of each process's open fds where /proc/PID/fd is readable (-1 where
 * it is not: another user's process without privilege).  Strings are raw
 * bytes from the processes; sanitize before display.  pscope's own process
 * is left out. */
#ifndef PSCOPE_PROCLIST_H
#define PSCOPE_PROCLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_entry {
	pid_t pid;
	char user[32];
	int64_t rss_kb;
	int64_t threads;
	int64_t fds;          /* -1 when unreadable */
	char *cmd;            /* command line, or [comm] when it has none */
};

struct proc_list {
	size_t count;
	struct proc_entry *list;   /* sorted by RSS, largest first */
};

/* Returns 0 or a negative errno (-ELIBACC: libproc2 could not be loaded). */
int proclist_read(struct proc_list *out);
void proclist_free(struct proc_list *l);

#endif
