/* procfind.h — find processes by exact name, through libproc2.
 *
 * A name matches a process whose comm equals it (the kernel cuts comm to 15
 * bytes, so a longer name matches on its first 15) or whose argv[0] has it as
 * basename, as pidof does.  pscope's own process is never matched. */
#ifndef PSCOPE_PROCFIND_H
#define PSCOPE_PROCFIND_H

#include <stddef.h>
#include <sys/types.h>

/* On success *pids (malloc'd, sorted) holds *count matches, possibly 0.
 * Returns 0 or a negative errno (-ELIBACC: libproc2 could not be loaded). */
int procfind_by_name(const char *name, pid_t **pids, size_t *count);

/* Pure matching rule, exposed for tests. */
int procfind_name_matches(const char *name, const char *comm, const char *argv0);

#endif
