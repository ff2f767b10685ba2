/* plugins.h — find, check, load and run plugins (plugins/pscope_plugin.h).
 *
 * Loading.  plugins_load() looks in this order, first name wins:
 *   1. each --plugin-dir DIR, as given;
 *   2. $XDG_DATA_HOME/pscope/plugins (~/.local/share/pscope/plugins);
 *   3. PSCOPE_PLUGIN_DIR, the installed $(PREFIX)/lib/pscope/plugins;
 *   4. the build tree, found from /proc/self/exe: DIR/build/plugins for
 *      ./pscope in a checkout and DIR/../plugins for build/<flavour>/pscope.
 * Every *.so there is checked before dlopen: a plugin runs inside pscope
 * with its privileges, so the file and every directory up to / must be
 * owned by root or by the user running pscope and writable by nobody else
 * (no group or other write bit, sticky or not).  Then its ABI version and
 * descriptor are checked.  What is refused is kept with its reason.
 *
 * Running.  Per target, plugins_attach() probes every loaded plugin, opens
 * those that apply and registers their metrics in the target's history as
 * "<plugin>.<metric>" after the built-in series.  plugins_sample() calls
 * each due plugin and hangs the results on the sample: readers (batch, UI)
 * find the tables and values there, and plugins_extract() copies the values
 * into the history's row.
 *
 * Results are reference counted and immutable once published, so a sample
 * may outlive the tick that made it.  Descriptor pointers stay valid until
 * plugins_free(), which must come after every sample is freed. */
#ifndef PSCOPE_PLUGINS_H
#define PSCOPE_PLUGINS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "history.h"
#include "pscope_plugin.h"
#include "sample.h"

/* One *.so seen while loading. */
struct plugin_found {
	char *path;
	bool accepted;
	char reason[320];         /* why it was refused; "" when accepted */
	const struct pscope_plugin *desc;   /* accepted only */
	void *handle;             /* dlopen handle, accepted only */
};

struct plugin_dir {
	char *path;
	const char *origin;       /* "--plugin-dir", "XDG_DATA_HOME", ... */
	int err;                  /* 0, or why it could not be listed (-ENOENT: absent) */
};

struct plugin_set {
	struct plugin_dir *dirs;  /* the search path, in order */
	size_t ndirs;
	struct plugin_found *found;
	size_t nfound;
	bool log_stderr;          /* print plugins' warnings to stderr (batch) */
};

/* Fill set from the search path (extra: the --plugin-dir values).  Never
 * fails as a whole: each refusal is recorded in set->found.  Returns the
 * number of plugins accepted. */
size_t plugins_load(struct plugin_set *set, char *const *extra, size_t nextra, bool log_stderr);
void plugins_free(struct plugin_set *set);

/* The search path and each file found, accepted or refused with the
 * reason: the output of --list-plugins.  Returns 0 or a negative errno. */
int plugins_write_list(FILE *f, const struct plugin_set *set);

/* A table as a plugin filled it: nrows x desc->ncolumns cells, row-major.
 * A string column uses str (NULL: unknown), a number column num (NAN). */
struct plugin_cell {
	char *str;
	double num;
};
struct plugin_table {
	size_t nrows;
	struct plugin_cell *cells;
};

/* One plugin on one target at one sample. */
struct plugin_result {
	atomic_int refs;
	const struct pscope_plugin *desc;
	bool active;              /* probe accepted and open succeeded */
	int err;                  /* 0, or the negative errno of probe/open/sample */
	char why[256];            /* declined, failed, or what is missing */
	size_t series0;           /* history index of desc->metrics[0] (active only) */
	double sampled_at;        /* CLOCK_MONOTONIC seconds; 0: never sampled */
	double cost_ms;           /* CPU time of the sample() call */
	double *values;           /* desc->nmetrics, NAN = unknown */
	char **metric_why;        /* desc->nmetrics, NULL or a note */
	struct plugin_table *tables;   /* desc->ntables */
	char log[256];            /* the latest warning or error logged, "" if none */
};

/* All plugins of one target at one sample, in load order, declined ones
 * included (active false, why says why). */
struct plugin_results {
	atomic_int refs;
	size_t count;
	struct plugin_result **list;
};
struct plugin_results *plugin_results_ref(struct plugin_results *r);
void plugin_results_unref(struct plugin_results *r);

/* The plugins of one target. */
struct plugin_watch;

/* Probe and open every plugin of set on pid; registers the metrics of the
 * opened ones in h.  Returns NULL when set has no plugins. */
struct plugin_watch *plugins_attach(const struct plugin_set *set, pid_t pid, struct history *h);
void plugins_detach(struct plugin_watch *w);

/* Sample the plugins that are due and set s->plugins (s must be a live
 * sample of the watch's target).  Adds their CPU time to s->cost_ms. */
void plugins_sample(struct plugin_watch *w, struct sample *s);

/* Set (on) or clear the mark of a target's plugins: later samples carry
 * the results at the mark, or at attach without one, as plugins_base, so
 * that table rows can say how they changed.  Call between samples. */
void plugins_mark(struct plugin_watch *w, bool on);

/* The result of plugin desc in rs, or NULL. */
const struct plugin_result *plugin_results_find(const struct plugin_results *rs,
						const struct pscope_plugin *desc);

/* How row `row` of table `table` of cur changed since base (the same
 * plugin's result at the mark or at attach): rows are the same when their
 * string cells are; the value compared is the row's first number column
 * (a count, say, so a group of goroutines that keeps growing shows it).
 * False when the table has no number column or base is NULL or not
 * active; else *delta, and *is_new when base had no such row. */
bool plugin_row_delta(const struct plugin_result *base, const struct plugin_result *cur,
		      size_t table, size_t row, double *delta, bool *is_new);

/* Write the plugin metrics of s into values, a history row (the built-in
 * series come first; see metrics.h).  Series without a value are left. */
void plugins_extract(const struct sample *s, double *values);

#endif
