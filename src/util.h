/* util.h — small helpers shared by the core: allocation that never returns
 * NULL (pscope cannot do anything useful out of memory), whole-file reads
 * through kept-open descriptors, and clocks.
 *
 * Library code returns errors as negative errno values; only main() exits. */
#ifndef PSCOPE_UTIL_H
#define PSCOPE_UTIL_H

#include <stddef.h>
#include <sys/types.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Read a whole /proc file through a kept-open fd with pread(fd, 0): seq_file
 * restarts at offset 0, so this returns fresh contents.  *buf grows as
 * needed (*cap tracks its size) and is NUL-terminated.  Returns the length,
 * or a negative errno (-ESRCH when the task is gone). */
ssize_t util_pread_all(int fd, char **buf, size_t *cap);

/* open+read+close of a path relative to dirfd (or absolute).  Same result
 * convention as util_pread_all. */
ssize_t util_read_at(int dirfd, const char *path, char **buf, size_t *cap);

double util_now_real(void);  /* seconds since the epoch */
double util_now_mono(void);  /* CLOCK_MONOTONIC seconds */
double util_thread_cpu(void); /* CPU seconds used by the calling thread */

/* The state letter of the task whose /proc directory is dirfd ('R', 'S',
 * 'Z'...), from its stat; 0 when that cannot be read. */
char util_task_state(int dirfd);

/* When a process's main thread has exited while others run on (pthread_exit
 * in main), /proc/PID shows Z and an empty fd/, maps and status; the
 * directory of a thread that runs still shows the process's.  Opens
 * /proc/PID/task/TID of such a thread (proc_dirfd is /proc/PID) and sets
 * *tid; returns the descriptor, or -1 when every other thread has exited. */
int util_open_live_task(int proc_dirfd, pid_t pid, pid_t *tid);

/* Raise RLIMIT_NOFILE's soft limit to the hard limit: pscope keeps per-thread
 * files of the target open, and 1,000 threads need 2,000 descriptors. */
void util_raise_nofile(void);

#endif
