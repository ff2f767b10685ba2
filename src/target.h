/* target.h — one attached process and the collector that samples it.
 *
 * target_open() pins the process: it keeps /proc/PID open (a reused PID can
 * never be mistaken for it: reads through the old directory fail with ESRCH)
 * and records its start time.  target_sample() fills one struct sample,
 * tiering the costly parts (numbers measured on a 1,000-thread, 10,000-fd,
 * 12,000-mapping process on a 2-core VM):
 *   every tick    stat + status (~30 us), every thread's schedstat (~1 ms),
 *                 the fd count (fstat of fd/, ~1 us), the heap via PROCMAP_QUERY
 *   fd table      when the fd count changed, or every full_every ticks (~40 ms)
 *                 sockets with it, through sockets.h (~6 ms)
 *   threads       every threads_full_every ticks, stat of threads that did not run
 *   smaps_rollup  every rollup_every ticks (~6 ms)
 *   maps          every maps_every ticks: mapping count, heap fallback (~7 ms)
 *   smaps         every smaps_every ticks when asked for (~40 ms)
 * Parts that cannot be read are marked unreadable with their reason. */
#ifndef PSCOPE_TARGET_H
#define PSCOPE_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

#include "perm.h"
#include "sample.h"

struct target_options {
	int full_every;      /* fd table + sockets */
	int rollup_every;
	int maps_every;
	int smaps_every;     /* 0: never collect the per-mapping table */
	int threads_full_every;
	bool stacks;         /* capture native stacks every sample (stops threads) */
	bool stacks_only;    /* sample identity and stacks, nothing else */
	bool consistent;     /* stacks: stop all threads together */
	bool no_ptrace;      /* never stop or trace the target: overrides stacks */
};
void target_options_default(struct target_options *o);

struct target;

/* Attach to pid.  Fails with -ESRCH for an unknown PID (err says so) and
 * other negative errnos; *out is set on success only. */
int target_open(pid_t pid, const struct target_options *o, const struct perm_context *perm,
		struct target **out, char *err, size_t errlen);
void target_close(struct target *t);
pid_t target_pid(const struct target *t);

/* Compare later stacks with the newest capture (on) or again with the
 * first one (off), like the mark of the history. */
void target_mark_stacks(struct target *t, bool on);
/* Release threads of an earlier stack capture that did not stop in time
 * and have stopped since (stacks_poll).  Returns how many are still
 * waited for: the caller should come back within milliseconds while it is
 * not 0, so that no thread stays stopped until the next sample. */
size_t target_poll_stacks(struct target *t);

/* Take one sample.  A process that is gone (or whose PID now belongs to
 * another process) yields s->exited = true and the identity of the last
 * sample; later calls keep saying so.  Returns 0 or a negative errno. */
int target_sample(struct target *t, struct sample *s);

#endif
