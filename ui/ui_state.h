/* ui_state.h — what the UI's parts share (internal to ui/).
 *
 * struct ui is the whole front end: the session it draws, the sampler
 * that feeds it, what the user chose (target, pane, zoom, mark), and the
 * panes.  A pane is an instance of a const struct pane_class, the way
 * htop's panels and tmux's window modes are: the loop calls update() when
 * the model changed, draw() when the screen must be redrawn and key() for
 * keys the common handler did not take.  Panes read the model only with
 * the sampler's lock held (ui.c takes it around update, draw and keys). */
#ifndef PSCOPE_UI_STATE_H
#define PSCOPE_UI_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler.h"
#include "session.h"
#include "table.h"
#include "ui.h"

enum pane_id { PANE_THREADS, PANE_STACKS, PANE_MEMORY, PANE_RESOURCES, PANE_PLUGINS, PANE_COUNT };

struct ui;
struct pane;

struct pane_class {
	const char *name;         /* title line and tab label */
	const char *keys;         /* its own keys, for the bottom bar */
	void (*init)(struct pane *p);
	/* Frees what priv holds besides itself (optional): ui.c frees the
	 * tables and priv. */
	void (*free)(struct pane *p);
	/* The model changed (a sample, the mark, the target): rebuild rows. */
	void (*update)(struct ui *ui, struct pane *p);
	void (*draw)(struct ui *ui, struct pane *p, int y, int x, int h, int w);
	/* A key the common keys did not take; true when it changed something. */
	bool (*key)(struct ui *ui, struct pane *p, int key);
	/* What `g` graphs: the series the upper table's selected row stands
	 * for (its row key) when rows_are_series and that table has the focus,
	 * else default_series. */
	bool rows_are_series;
	long default_series;
};

struct pane {
	const struct pane_class *cls;
	struct table tables[2];   /* upper and lower table, where a pane has two */
	int ntables;
	int focus;                /* which table the arrows move */
	void *priv;
};

/* What the UI remembers per target beyond the model: the baselines that
 * "new since the mark" compares against. */
struct ui_target {
	struct fd_table *fd_base;    /* at attach, or at the mark */
	struct map_table *map_base;
	struct plugin_results *plugins_base;
	uint64_t seen_nonzero;       /* bit m: built-in series m was ever > 0 */
	uid_t user_uid;              /* user_name is the name of this uid */
	char user_name[40];          /* "" until looked up */
};

enum ui_mode { MODE_NORMAL, MODE_HELP, MODE_GRAPH, MODE_SEARCH, MODE_FILTER };

struct ui {
	struct session *s;
	struct sampler sp;
	struct ui_options opt;
	struct ui_target *targets;   /* one per watch */
	size_t cur;                  /* the target shown */
	int pane;
	bool zoom, overview;
	enum ui_mode mode;
	char input[64];              /* the search or filter being typed */
	long graph_series;
	struct pane panes[PANE_COUNT];
	struct table overview_table;
	char status[160];            /* one-line message at the bottom */
	double status_at;            /* when it was set: it fades after a while */
};

extern const struct pane_class pane_threads, pane_stacks, pane_memory, pane_resources,
	pane_plugins;

/* The Stacks pane keeps the capture current at the mark, to diff with. */
void pane_stacks_mark(struct ui *ui, bool on);

/* The current target's watch. */
struct watch *ui_watch(struct ui *ui);
struct ui_target *ui_target(struct ui *ui);

/* A pane of two tables: the upper one (at most half the height, fewer
 * lines when it has fewer rows), then a title line and the lower one. */
void ui_draw_split(struct pane *p, int y, int x, int h, int w, const char *lower_title,
		   const char *lower_note);

/* Pane title line: name, and a note at its right (e.g. "37 threads"). */
void ui_draw_title(int y, int x, int w, const char *name, const char *note);
/* A series' value, change and rate as text, in its unit. */
void ui_series_text(struct ui *ui, long series, char *val, char *delta, char *rate, size_t size);
/* One row of a series table (name, now, change, rate, sparkline): the
 * upper tables of Memory and Resources. */
void ui_series_row(struct ui *ui, struct table *t, long series, const char *label);
/* Whether series is a size in kB (else a count or a percentage). */
bool ui_series_is_kb(struct ui *ui, long series);

#endif
