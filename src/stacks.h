/* stacks.h — the native stack of every thread of a live process.
 *
 * Contract:
 *  - Read-only.  A thread is stopped with PTRACE_SEIZE + PTRACE_INTERRUPT
 *    (never PTRACE_ATTACH: if pscope dies the kernel resumes a seized
 *    thread), its registers and stack are read, and it is detached at once.
 *    Nothing is ever written to the target.  A signal that arrives while a
 *    thread is stopped is handed back on detach, so the target loses none.
 *  - While a thread is stopped, only its registers and the top of its
 *    stack are copied; it is unwound from that copy once it runs again,
 *    and names are looked up (symbols.h) after every thread runs again.
 *  - Default mode stops one thread at a time (tens of µs each); consistent
 *    mode stops all threads, copies them, then resumes all: a true snapshot
 *    that freezes the whole process meanwhile (3-11 ms per 100 threads on
 *    a 2-vCPU VM).
 *  - No call waits forever: a thread that does not stop within a second is
 *    reported "did not stop in time".  It cannot be released while it runs
 *    on (in an uninterruptible wait); stacks_poll() releases it once it has
 *    stopped, and so do the next capture and stacks_close().  Call
 *    stacks_poll() on every tick; if pscope exits, the kernel releases it.
 *  - Errors are negative errnos with a one-line reason in err.
 *  - Use a context from one thread only: ptrace ties each stopped thread to
 *    the thread of pscope that stopped it.
 *
 * A snapshot is immutable and reference counted, like struct fd_table: its
 * strings are its own, so it outlives the context that captured it. */
#ifndef PSCOPE_STACKS_H
#define PSCOPE_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { STACKS_MAX_FRAMES = 256 };

/* One frame, innermost first.  Strings are raw bytes from the target's
 * files (sanitize before display); NULL (line: 0) when unknown. */
struct stack_frame {
	uint64_t pc;
	const char *func;
	uint64_t offset;          /* pc - start of func */
	const char *module;
	const char *file;
	int line;
};

struct stack_thread {
	pid_t tid;
	char name[64];            /* raw comm of the thread */
	int err;                  /* 0, or a negative errno: then no frames */
	char why[128];            /* the reason when err; else a note or "" */
	size_t nframes;
	struct stack_frame *frames;
	uint64_t stop_ns;         /* how long it was stopped; 0 if never */
	int group;                /* index into groups, -1 without frames */
};

/* Threads whose PC sequences are identical. */
struct stack_group {
	size_t count;
	pid_t *tids;              /* ascending */
	size_t rep;               /* index into threads of one member */
	uint64_t hash;            /* of the PCs */
};

struct stack_snapshot {
	int refs;
	double captured_at;       /* epoch seconds, when the capture started */
	double wall_ms;           /* whole capture, symbolization included */
	bool consistent;          /* all threads were stopped together */
	size_t nthreads;
	struct stack_thread *threads;   /* sorted by tid */
	size_t ngroups;
	struct stack_group *groups;     /* by count, largest first */
	double stop_us_median, stop_us_max;   /* over the threads stopped */
	unsigned exited;          /* listed, but gone before they could be stopped */
	unsigned not_stopped;     /* did not stop in time */
	unsigned failed;          /* any other per-thread error */
	unsigned signals_redelivered;
	struct stacks_pool *pool; /* owns the frame strings */
};

struct stack_snapshot *stack_snapshot_ref(struct stack_snapshot *s);
void stack_snapshot_unref(struct stack_snapshot *s);

struct stacks_ctx;
struct sample_threads;   /* sample.h */

/* Prepare to capture pid's stacks; stops nothing.  Fails for a process that
 * is gone (-ESRCH) or a zombie (-ESRCH, "zombie: ...") */
int stacks_open(pid_t pid, struct stacks_ctx **out, char *err, size_t errlen);
void stacks_close(struct stacks_ctx *c);

/* Start the one-time costly part of naming frames (the C library's line
 * tables) on another thread, so it overlaps with whatever the caller does
 * next (reading /proc for the first sample, say) and with the parts of the
 * first capture that stop nothing (listing threads, reading their names).
 * That capture waits for it before stopping any thread: a thread stopped
 * while another one of ours takes the CPU stays stopped longer. */
void stacks_prepare(struct stacks_ctx *c);

/* Capture every thread listed in /proc/PID/task now (threads born during
 * the capture are missed).  Threads in known (a sample's list, sorted by
 * tid; may be NULL) take their names from it instead of /proc: a thousand
 * threads' names cost 5 ms to read again.  Per-thread failures are in the
 * snapshot; the whole capture fails (and *out is untouched) when no thread
 * could be captured for a process-wide reason: already traced by another
 * tracer (-EBUSY, naming it), no permission (-EPERM, explained), gone
 * (-ESRCH). */
int stacks_capture(struct stacks_ctx *c, bool consistent, const struct sample_threads *known,
		   struct stack_snapshot **out, char *err, size_t errlen);

/* Release the threads of earlier captures that did not stop in time and
 * have stopped since.  Cheap when there are none.  Returns how many are
 * still waited for. */
size_t stacks_poll(struct stacks_ctx *c);

/* Compare a new snapshot with an older one (the mark).  Groups are matched
 * by their frames' function names and modules, not raw PCs, so the same
 * code paths match across re-symbolized captures.  For each group i of cur,
 * out[i].delta is how many more threads (negative: fewer) share its frames
 * than in old, and out[i].is_new says that old had none.  Groups of cur
 * whose frames name the same functions count as one: each shows the total. */
struct stack_group_diff {
	long delta;
	bool is_new;
};
void stacks_diff(const struct stack_snapshot *old, const struct stack_snapshot *cur,
		 struct stack_group_diff *out);

#endif
