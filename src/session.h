/* session.h — the set of attached targets, each with its history and its
 * latest sample.  The batch loop and the UI both drive a session: one
 * session_tick() samples every live target once and appends to histories. */
#ifndef PSCOPE_SESSION_H
#define PSCOPE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "history.h"
#include "perm.h"
#include "plugins.h"
#include "sample.h"
#include "target.h"

struct watch {
	struct target *target;
	struct history hist;
	struct sample last;       /* valid once samples > 0 */
	unsigned long samples;
	bool done;                /* exited: its final sample is in last */
	struct plugin_watch *plugins;   /* NULL without plugins */
};

struct session {
	struct watch *watches;
	size_t count;
	struct target_options topt;
	struct perm_context perm;
	size_t history_cap;       /* slots per target */
	double window_s;          /* growth window */
	/* Loaded plugins, or NULL; set before session_add, owned by the
	 * caller, freed after session_free. */
	const struct plugin_set *plugins;
};

void session_init(struct session *s, const struct target_options *o, size_t history_cap,
		  double window_s);
void session_free(struct session *s);

/* Attach to pid; returns 0 or a negative errno with a one-line reason. */
int session_add(struct session *s, pid_t pid, char *err, size_t errlen);

/* Sample every target that has not exited.  Returns how many were sampled. */
size_t session_tick(struct session *s);

/* session_tick in two halves, for a UI that samples on another thread:
 * session_collect() does the slow reading and touches only the targets
 * (out must have room for s->count samples; a done target's entry is left
 * with exited false and time 0); session_commit() is quick and is the only
 * part that changes what readers see (history, last), so only it needs the
 * readers' lock. */
void session_collect(struct session *s, struct sample *out);
size_t session_commit(struct session *s, struct sample *in);

/* target_poll_stacks() on every target: threads still waited for. */
size_t session_poll_stacks(struct session *s);

/* Targets still alive. */
size_t session_live(const struct session *s);

#endif
