/* threads.h — read every thread of a target, cheaply enough for 1,000s.
 *
 * Per-thread stat and schedstat files are kept open and re-read with pread.
 * schedstat (run time in ns and a count of times scheduled) is read for
 * every thread every tick: it is 6x cheaper than stat.  A thread whose
 * schedstat did not change has not run since the last tick, so its state,
 * name, context switches and wchan are taken from the cache instead of being
 * read again; every full_every-th tick re-reads everything, which catches a
 * sleeper woken but not yet run.  When the process's CPU clock (the run
 * time of all its threads, in ns: one clock_gettime) has not moved and its
 * thread count has not changed, no thread ran: the last tick's threads are
 * handed out again at 0% CPU without a read per thread, which on 1,000
 * idle threads is most of a sample's cost.  Threads that exit between
 * listing and reading are dropped silently. */
#ifndef PSCOPE_THREADS_H
#define PSCOPE_THREADS_H

#include <stdbool.h>
#include <sys/types.h>

#include "sample.h"

struct thread_reader;

/* proc_dirfd is an open fd on /proc/PID (kept by the caller), pid the
 * process.  read_wchan is false when wchan is not readable for us: the
 * kernel then prints "0", which must not pass for "not blocked". */
int threads_open(pid_t pid, int proc_dirfd, bool read_wchan, struct thread_reader **out);
void threads_close(struct thread_reader *r);

/* Fill out (count, list sorted by tid, per-thread CPU% since the previous
 * call; NAN on the first).  full forces every thread to be re-read and the
 * task directory to be listed; otherwise the listing (15% of a tick on
 * 1,000 threads) is skipped while expected, the thread count from the
 * process's stat, equals the threads already known.  A thread that exits
 * and another that starts between two ticks are then seen on the next full
 * pass.  Returns 0, or a negative errno (-ESRCH: the process is gone). */
int threads_read(struct thread_reader *r, double mono, bool full, long expected,
		 struct sample_threads *out);

#endif
