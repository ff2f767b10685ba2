/* sampler.c — see sampler.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sampler.h"
#include "util.h"

static struct timespec abs_deadline(double mono)
{
	struct timespec ts;
	ts.tv_sec = (time_t)mono;
	ts.tv_nsec = (long)((mono - (double)ts.tv_sec) * 1e9);
	return ts;
}

/* Capture the stacks asked for, or due; called without the lock, since a
 * capture takes milliseconds.  Only this thread ever ptraces. */
static void capture_stacks(struct sampler *sp, bool *which)
{
	for (size_t i = 0; i < sp->session->count; i++) {
		if (!which[i])
			continue;
		struct sampler_stacks *st = &sp->stacks[i];
		struct watch *w = &sp->session->watches[i];
		char err[200] = "";
		struct stack_snapshot *snap = NULL;
		int rc = 0;
		if (!st->ctx)
			rc = stacks_open(target_pid(w->target), &st->ctx, err, sizeof(err));
		if (rc == 0)
			rc = stacks_capture(st->ctx, sp->consistent, NULL, &snap, err, sizeof(err));
		pthread_mutex_lock(&sp->lock);
		if (rc == 0) {
			stack_snapshot_unref(st->snap);
			st->snap = snap;
			st->err[0] = 0;
		} else {
			snprintf(st->err, sizeof(st->err), "%s", err);
		}
		st->last = util_now_mono();
		pthread_mutex_unlock(&sp->lock);
	}
}

/* stacks_poll() on every target's context: threads still waited for.
 * Only this thread ptraces, so only it may poll. */
static size_t poll_stacks(struct sampler *sp)
{
	size_t pending = 0;
	for (size_t i = 0; i < sp->session->count; i++)
		if (sp->stacks[i].ctx)
			pending += stacks_poll(sp->stacks[i].ctx);
	return pending;
}

static void *sampler_main(void *arg)
{
	struct sampler *sp = arg;
	size_t n = sp->session->count ? sp->session->count : 1;
	struct sample *buf = xcalloc(n, sizeof(*buf));
	bool *want = xcalloc(n, sizeof(*want));
	double next = util_now_mono();

	pthread_mutex_lock(&sp->lock);
	while (!sp->quit) {
		double now = util_now_mono();
		bool any = false;
		for (size_t i = 0; i < sp->session->count; i++) {
			struct sampler_stacks *st = &sp->stacks[i];
			want[i] = !sp->no_ptrace && !sp->session->watches[i].done &&
				  (st->requested || (sp->stack_interval > 0 && !sp->paused &&
						     now - st->last >= sp->stack_interval));
			st->requested = false;
			any |= want[i];
		}
		if (any) {
			sp->busy = true;
			sp->busy_since = now;
			pthread_mutex_unlock(&sp->lock);
			capture_stacks(sp, want);
			pthread_mutex_lock(&sp->lock);
			sp->busy = false;
			sp->generation++;
			(void)!write(sp->notify[1], "k", 1);
			continue;
		}
		if (sp->paused || now < next) {
			if (sp->paused && poll_stacks(sp) > 0) {
				struct timespec ts = abs_deadline(now + 0.01);
				pthread_cond_timedwait(&sp->wake, &sp->lock, &ts);
			} else if (sp->paused) {
				pthread_cond_wait(&sp->wake, &sp->lock);
				next = util_now_mono();
			} else {
				/* Threads a capture is still waiting for are released
				 * within milliseconds of stopping. */
				double until = next;
				if (poll_stacks(sp) > 0 && until > now + 0.01)
					until = now + 0.01;
				struct timespec ts = abs_deadline(until);
				pthread_cond_timedwait(&sp->wake, &sp->lock, &ts);
			}
			continue;
		}
		sp->busy = true;
		sp->busy_since = now;
		pthread_mutex_unlock(&sp->lock);

		session_collect(sp->session, buf);

		pthread_mutex_lock(&sp->lock);
		session_commit(sp->session, buf);
		sp->busy = false;
		sp->generation++;
		(void)!write(sp->notify[1], "s", 1);
		/* Keep the rhythm, but a slow sample must not cause a burst. */
		next += sp->delay;
		if (next < util_now_mono())
			next = util_now_mono() + sp->delay;
	}
	pthread_mutex_unlock(&sp->lock);
	free(want);
	free(buf);
	return NULL;
}

int sampler_start(struct sampler *sp, struct session *s, double delay)
{
	bool no_ptrace = sp->no_ptrace, consistent = sp->consistent;
	double interval = sp->stack_interval;
	*sp = (struct sampler){ .session = s, .delay = delay, .no_ptrace = no_ptrace,
				.consistent = consistent, .stack_interval = interval };
	if (pipe2(sp->notify, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sp->stacks = xcalloc(s->count ? s->count : 1, sizeof(*sp->stacks));
	pthread_mutex_init(&sp->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sp->wake, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals belong to the UI thread (its signalfd and curses' SIGWINCH):
	 * the sampler starts with all of them blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&sp->thread, NULL, sampler_main, sp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(sp->notify[0]);
		close(sp->notify[1]);
		free(sp->stacks);
		return -rc;
	}
	sp->started = true;
	return 0;
}

void sampler_stop(struct sampler *sp)
{
	if (!sp->started)
		return;
	pthread_mutex_lock(&sp->lock);
	sp->quit = true;
	pthread_cond_signal(&sp->wake);
	pthread_mutex_unlock(&sp->lock);
	pthread_join(sp->thread, NULL);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->wake);
	close(sp->notify[0]);
	close(sp->notify[1]);
	for (size_t i = 0; i < sp->session->count; i++) {
		stack_snapshot_unref(sp->stacks[i].snap);
		if (sp->stacks[i].ctx)
			stacks_close(sp->stacks[i].ctx);
	}
	free(sp->stacks);
	sp->started = false;
}

void sampler_request_stacks(struct sampler *sp, size_t i)
{
	sp->stacks[i].requested = true;
	pthread_cond_signal(&sp->wake);
}

void sampler_set_delay(struct sampler *sp, double delay)
{
	sp->delay = delay;
	pthread_cond_signal(&sp->wake);
}

void sampler_set_paused(struct sampler *sp, bool paused)
{
	sp->paused = paused;
	pthread_cond_signal(&sp->wake);
}

bool sampler_drain(struct sampler *sp)
{
	char buf[64];
	bool any = false;
	while (read(sp->notify[0], buf, sizeof(buf)) > 0)
		any = true;
	return any;
}
