#include "session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

void session_init(struct session *s, const struct target_options *o, size_t history_cap,
		  double window_s)
{
	memset(s, 0, sizeof(*s));
	s->topt = *o;
	s->history_cap = history_cap;
	s->window_s = window_s;
	perm_probe(&s->perm);
}

void session_free(struct session *s)
{
	for (size_t i = 0; i < s->count; i++) {
		struct watch *w = &s->watches[i];
		target_close(w->target);
		plugins_detach(w->plugins);
		history_free(&w->hist);
		sample_free(&w->last);
	}
	free(s->watches);
	memset(s, 0, sizeof(*s));
}

int session_add(struct session *s, pid_t pid, char *err, size_t errlen)
{
	struct target *t;

	for (size_t i = 0; i < s->count; i++)
		if (target_pid(s->watches[i].target) == pid)
			return 0;
	int rc = target_open(pid, &s->topt, &s->perm, &t, err, errlen);
	if (rc < 0)
		return rc;
	s->watches = xrealloc(s->watches, (s->count + 1) * sizeof(*s->watches));
	struct watch *w = &s->watches[s->count++];
	memset(w, 0, sizeof(*w));
	w->target = t;
	history_init(&w->hist, s->history_cap);
	metrics_register(&w->hist);
	if (s->plugins)
		w->plugins = plugins_attach(s->plugins, pid, &w->hist);
	return 0;
}

void session_collect(struct session *s, struct sample *out)
{
	for (size_t i = 0; i < s->count; i++) {
		struct watch *w = &s->watches[i];
		if (w->done) {
			sample_init(&out[i]);
		} else {
			target_sample(w->target, &out[i]);
			plugins_sample(w->plugins, &out[i]);
		}
	}
}

size_t session_commit(struct session *s, struct sample *in)
{
	size_t n = 0;

	for (size_t i = 0; i < s->count; i++) {
		struct watch *w = &s->watches[i];
		struct sample *next = &in[i];
		if (w->done) {
			sample_free(next);
			continue;
		}
		if (next->exited) {
			w->done = true;
		} else {
			/* Built-in series first, then the plugins' (plugins.h). */
			double *values = xmalloc(w->hist.nseries * sizeof(double));
			for (size_t k = M_BUILTIN_COUNT; k < w->hist.nseries; k++)
				values[k] = NAN;
			metrics_extract(next, values);
			plugins_extract(next, values);
			history_push(&w->hist, next->mono, values);
			free(values);
		}
		sample_free(&w->last);
		w->last = *next;
		memset(next, 0, sizeof(*next));
		w->samples++;
		n++;
	}
	return n;
}

size_t session_tick(struct session *s)
{
	struct sample *fresh = xcalloc(s->count, sizeof(*fresh));

	session_collect(s, fresh);
	size_t n = session_commit(s, fresh);
	free(fresh);
	return n;
}

size_t session_live(const struct session *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->count; i++)
		n += !s->watches[i].done;
	return n;
}

size_t session_poll_stacks(struct session *s)
{
	size_t pending = 0;
	for (size_t i = 0; i < s->count; i++)
		pending += target_poll_stacks(s->watches[i].target);
	return pending;
}
