/* pscope — inspect a live process: threads, memory, fds and sockets over
 * time.  main() owns the decisions: which processes, which output, when to
 * stop and with which exit status.  Everything else returns errors. */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "batch.h"
#include "options.h"
#include "plugins.h"
#include "proc2.h"
#include "procfind.h"
#include "session.h"
#include "ui.h"
#include "util.h"

/* Exit statuses, after eu-stack: complete, partial, nothing, usage. */
enum { EXIT_COMPLETE = 0, EXIT_PARTIAL = 1, EXIT_NOTHING = 2, EXIT_USAGE = 64 };

static int usage_error(const char *msg)
{
	fprintf(stderr, "pscope: %s\n", msg);
	fprintf(stderr, "Try 'pscope --help' for more information.\n");
	return EXIT_USAGE;
}

/* An attach failure: on stderr, and the first one kept for the UI, whose
 * screen would otherwise hide it until exit. */
static void attach_failed(const char *msg, char *first, size_t firstlen)
{
	fprintf(stderr, "pscope: %s\n", msg);
	if (!first[0])
		snprintf(first, firstlen, "%s", msg);
}

/* Attach to every PID and name; returns false when something asked for
 * could not be attached (the run is then at best partial). */
static bool attach_all(struct session *s, const struct options *o, char *first, size_t firstlen)
{
	char err[256];
	bool all = true;

	for (size_t i = 0; i < o->npids; i++) {
		if (session_add(s, o->pids[i], err, sizeof(err)) < 0) {
			attach_failed(err, first, firstlen);
			all = false;
		}
	}
	for (size_t i = 0; i < o->nnames; i++) {
		pid_t *pids;
		size_t n;
		int rc = procfind_by_name(o->names[i], &pids, &n);
		if (rc < 0 || n == 0) {
			if (rc < 0)
				snprintf(err, sizeof(err), "cannot look up '%s' by name: %s",
					 o->names[i], proc2_strerror(rc));
			else
				snprintf(err, sizeof(err), "no process named '%s'", o->names[i]);
			attach_failed(err, first, firstlen);
			all = false;
			if (rc == 0)
				free(pids);
			continue;
		}
		if (n > 1) {
			fprintf(stderr, "pscope: '%s' matches %zu processes, watching all:", o->names[i], n);
			for (size_t k = 0; k < n; k++)
				fprintf(stderr, " %d", (int)pids[k]);
			fprintf(stderr, "\n");
		}
		for (size_t k = 0; k < n; k++) {
			if (session_add(s, pids[k], err, sizeof(err)) < 0) {
				attach_failed(err, first, firstlen);
				all = false;
			}
		}
		free(pids);
	}
	return all;
}

/* Signals arrive through a signalfd, so the loop sleeps in poll() and acts
 * between samples, without a global flag: SIGINT, SIGTERM and SIGHUP end
 * the run, SIGUSR1 sets the mark (later deltas are measured from it) and
 * SIGUSR2 clears it. */
static int open_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void set_marks(struct session *s, bool on)
{
	for (size_t i = 0; i < s->count; i++) {
		if (on)
			history_set_mark(&s->watches[i].hist);
		else
			history_clear_mark(&s->watches[i].hist);
		target_mark_stacks(s->watches[i].target, on);
		plugins_mark(s->watches[i].plugins, on);
	}
}

/* Sleep until the monotonic deadline; false when a signal asked to stop. */
static bool wait_until(struct session *s, int sigfd, double deadline)
{
	for (;;) {
		double left = deadline - util_now_mono();
		if (left <= 0)
			return true;
		struct pollfd p = { .fd = sigfd, .events = POLLIN };
		int ms = (int)ceil(left * 1000);
		/* A thread that did not stop in time during a stack capture
		 * stops later: release it within milliseconds, not at the next
		 * sample. */
		if (session_poll_stacks(s) > 0 && ms > 10)
			ms = 10;
		int rc = poll(&p, sigfd >= 0 ? 1 : 0, ms);
		if (rc < 0 && errno != EINTR)
			return true;
		if (rc <= 0)
			continue;
		struct signalfd_siginfo si;
		if (read(sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			continue;
		if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2)
			set_marks(s, si.ssi_signo == SIGUSR1);
		else
			return false;
	}
}

/* Refusals are worth a line each: the user put a file there for a reason. */
static void report_refused(const struct plugin_set *ps)
{
	for (size_t i = 0; i < ps->nfound; i++)
		if (!ps->found[i].accepted)
			fprintf(stderr, "pscope: plugin %s refused: %s\n", ps->found[i].path,
				ps->found[i].reason);
}

/* The UI's settings: the config file, then the command line over it.
 * A broken config file is a usage error: better to say so than to run
 * with settings the user did not mean. */
static int ui_settings(struct options *o, struct ui_options *uo, char *err, size_t errlen)
{
	struct ui_config c;
	char path[4096];
	config_defaults(&c);
	if (o->config)
		snprintf(path, sizeof(path), "%s", o->config);
	else
		config_default_path(path, sizeof(path));
	if (path[0] && config_load(path, o->config != NULL, &c, err, errlen) < 0)
		return -1;
	if (!o->delay_set && !isnan(c.delay))
		o->delay = c.delay;
	if (!o->history_set && !isnan(c.history_s))
		o->history_s = c.history_s;
	const char *no_color = getenv("NO_COLOR");
	*uo = (struct ui_options){
		.delay = o->delay,
		.color = !o->no_color && c.color != COLOR_NEVER && !(no_color && *no_color),
		.ascii = o->ascii || c.ascii,
		.vim_keys = c.vim_keys,
		.default_pane = c.default_pane,
		.stack_interval = c.stack_interval,
		.periodic_stacks = o->stacks,
		.no_ptrace = o->no_ptrace,
		.consistent = o->consistent,
	};
	return 0;
}

static int run_ui(struct session *s, const struct ui_options *uo)
{
	char err[256];
	if (ui_run(s, uo, err, sizeof(err)) < 0) {
		fprintf(stderr, "pscope: %s\n", err);
		return s->count ? EXIT_PARTIAL : EXIT_NOTHING;
	}
	return EXIT_COMPLETE;
}

static int run_batch(struct session *s, const struct options *o, bool attached_all)
{
	struct batch_options bo = {
		.window_s = o->window_s,
		.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0,
		.maps = o->maps,
		.brief = o->brief,
		.stacks_only = o->stack_dump,
	};
	int sigfd = open_signalfd();
	bool partial = !attached_all, stop = false;
	double next = util_now_mono();

	for (long round = 0; !stop && session_live(s) > 0 && (!o->count || round < o->count); round++) {
		if (round > 0 && !wait_until(s, sigfd, next))
			break;
		next += o->delay;
		session_tick(s);
		for (size_t i = 0; i < s->count && !stop; i++) {
			struct watch *w = &s->watches[i];
			if (w->samples != (unsigned long)round + 1)
				continue;   /* exited earlier: its final record is out */
			for (int p = 0; p < PART_COUNT; p++)
				partial |= !w->last.exited && !sample_readable(&w->last, (enum sample_part)p);
			if (w->last.exited && o->count)
				partial = true;
			int rc = o->json ? batch_write_json(stdout, &w->last, &w->hist, &bo)
					 : batch_write_text(stdout, &w->last, &w->hist, &bo);
			if (rc < 0)
				stop = true;   /* the reader went away (EPIPE) */
		}
		/* A slow sample must not make the next ones pile up. */
		if (next < util_now_mono())
			next = util_now_mono();
	}
	if (sigfd >= 0)
		close(sigfd);
	return partial ? EXIT_PARTIAL : EXIT_COMPLETE;
}

int main(int argc, char **argv)
{
	struct options o;
	char err[256];

	/* Only the character set comes from the environment: a locale whose
	 * decimal point is a comma would print "time":1796197561,484 and break
	 * every JSON line, and pscope's own words are English anyway. */
	setlocale(LC_CTYPE, "");
	if (options_parse(argc, argv, &o, err, sizeof(err)) < 0)
		return usage_error(err);
	if (o.help) {
		fputs(options_usage, stdout);
		options_free(&o);
		return EXIT_COMPLETE;
	}
	/* libdwfl asks the servers in DEBUGINFOD_URLS for every file whose
	 * debug info is not installed here; Debian sets that variable for
	 * every login shell.  A server that does not answer held a stack dump
	 * for 90 s, deaf to Ctrl-C: only on request.  Before any thread. */
	if (!o.debuginfod)
		unsetenv("DEBUGINFOD_URLS");
	if (o.version) {
		printf("pscope %s\n", PSCOPE_VERSION);
		options_free(&o);
		return EXIT_COMPLETE;
	}
	struct plugin_set plugins = { 0 };
	if (o.list_plugins) {
		plugins_load(&plugins, o.plugin_dirs, o.nplugin_dirs, false);
		int rc = plugins_write_list(stdout, &plugins);
		plugins_free(&plugins);
		options_free(&o);
		return rc < 0 ? EXIT_PARTIAL : EXIT_COMPLETE;
	}
	if (o.batch && o.npids == 0 && o.nnames == 0) {
		options_free(&o);
		return usage_error("no process given: pass -p PID, a PID or a process name");
	}
	struct ui_options uo = { 0 };
	if (!o.batch && ui_settings(&o, &uo, err, sizeof(err)) < 0) {
		options_free(&o);
		return usage_error(err);
	}

	util_raise_nofile();
	struct target_options topt;
	target_options_default(&topt);
	topt.full_every = o.full_every;
	/* The UI's Memory pane shows the mapping table, so it always reads it. */
	topt.smaps_every = o.maps || !o.batch ? o.maps_every : 0;
	topt.stacks = o.stacks && o.batch;   /* the UI captures on its own thread */
	topt.stacks_only = o.stack_dump;
	topt.consistent = o.consistent;
	topt.no_ptrace = o.no_ptrace;
	double slots = ceil(o.history_s / o.delay);
	size_t cap = slots > 1000000 ? 1000000 : (size_t)slots + 1;
	/* A run of -n samples never holds more (pscope -s: one). */
	if (o.batch && o.count > 0 && (size_t)o.count < cap)
		cap = (size_t)o.count;

	struct session s;
	session_init(&s, &topt, cap, o.window_s);
	/* A stack dump prints stacks alone: plugins would read for nothing. */
	if (!o.no_plugins && !o.stack_dump) {
		/* Plugins' warnings go to stderr in batch mode only: the UI shows
		 * them in the plugin's tab, stderr would tear the screen. */
		plugins_load(&plugins, o.plugin_dirs, o.nplugin_dirs, o.batch);
		report_refused(&plugins);
		s.plugins = &plugins;
	}
	char first_err[256] = "";
	bool all = attach_all(&s, &o, first_err, sizeof(first_err));
	uo.notice = first_err;
	int status;
	if (s.count == 0 && (o.batch || o.npids || o.nnames))
		status = EXIT_NOTHING;
	else if (o.batch)
		status = run_batch(&s, &o, all);
	else
		status = run_ui(&s, &uo);
	session_free(&s);
	plugins_free(&plugins);   /* after every sample: they point into plugins */
	options_free(&o);
	return status;
}
