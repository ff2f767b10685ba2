/* sampler.h — the thread that samples a session for the UI.
 *
 * Reading /proc for a large target can take tens of milliseconds, so it
 * happens here, off the UI thread: session_collect() runs without the
 * lock; only the short session_commit() holds it.  After each commit the
 * sampler writes a byte to a pipe the UI polls, so the UI wakes exactly
 * when there is something new to draw.  Readers of the session (history,
 * last samples) take sampler->lock. */
#ifndef PSCOPE_SAMPLER_H
#define PSCOPE_SAMPLER_H

#include <pthread.h>
#include <stdbool.h>

#include "session.h"
#include "stacks.h"

/* Stacks of one target, captured on request (the only time the UI stops
 * the target's threads), or periodically when the user turned that on. */
struct sampler_stacks {
	struct stacks_ctx *ctx;       /* opened on the first capture */
	struct stack_snapshot *snap;  /* newest capture, or NULL */
	char err[200];                /* why the newest capture failed */
	bool requested;
	double last;                  /* monotonic time of the newest capture */
};

struct sampler {
	struct session *session;
	pthread_mutex_t lock;     /* guards the session's histories and samples */
	pthread_cond_t wake;      /* delay changed, pause toggled, quit */
	pthread_t thread;
	int notify[2];            /* pipe: [0] polled by the UI */
	double delay;             /* seconds; change under lock, then signal wake */
	bool paused, quit;
	bool busy;                /* a collection is under way */
	double busy_since;        /* monotonic seconds */
	unsigned long generation; /* commits so far */
	struct sampler_stacks *stacks;   /* one per target */
	bool no_ptrace;           /* never capture stacks */
	bool consistent;          /* stop all threads together */
	double stack_interval;    /* seconds; 0: on request only */
	bool started;
};

/* Start sampling at once, then every delay seconds.  0 or a negative errno. */
int sampler_start(struct sampler *sp, struct session *s, double delay);
/* Stop the thread (waits for a collection under way to end) and free. */
void sampler_stop(struct sampler *sp);

/* Read and discard wake-up bytes; true when there were any. */
bool sampler_drain(struct sampler *sp);

/* These three are called with sp->lock held, as the UI handles keys. */
void sampler_set_delay(struct sampler *sp, double delay);
void sampler_set_paused(struct sampler *sp, bool paused);
void sampler_request_stacks(struct sampler *sp, size_t i);

#endif
