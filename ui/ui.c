/* ui.c — the event loop, the keys every pane shares, the header, the
 * bottom bar and the overlays (help, big graph, overview).
 *
 * The loop is flag-driven, like tmux's: it sleeps in poll() on the
 * keyboard, the sampler's pipe and a signalfd, and redraws only when
 * something changed (`dirty`).  When the terminal has not yet taken what
 * was written (a slow ssh link), the redraw waits until it has, so a burst
 * of samples or keys costs one redraw, not a queue of them. */
#include <curses.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "layout.h"
#include "metrics.h"
#include "picker.h"
#include "plugins.h"
#include "sanitize.h"
#include "term.h"
#include "ui_state.h"
#include "util.h"

/* Redraw only once the terminal has taken most of the previous one. */
enum { PENDING_MAX = 1024 };

static const struct pane_class *const pane_classes[PANE_COUNT] = {
	&pane_threads, &pane_stacks, &pane_memory, &pane_resources, &pane_plugins,
};

static const struct { enum metric m; const char *label; } vitals[] = {
	{ M_RSS_KB, "RSS" }, { M_PSS_KB, "PSS" }, { M_HEAP_KB, "heap" },
	{ M_THREADS, "threads" }, { M_FDS, "fds" }, { M_SOCKETS, "sockets" },
	{ M_CPU_PCT, "CPU" },
};
enum { NVITALS = sizeof(vitals) / sizeof(vitals[0]) };

/* ui_target.seen_nonzero has one bit per built-in series. */
_Static_assert(M_BUILTIN_COUNT <= 64, "too many built-in series for seen_nonzero");

static const double delays[] = { 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60 };

struct watch *ui_watch(struct ui *ui)
{
	return &ui->s->watches[ui->cur];
}

struct ui_target *ui_target(struct ui *ui)
{
	return &ui->targets[ui->cur];
}

bool ui_series_is_kb(struct ui *ui, long series)
{
	const char *name = series >= 0 && (size_t)series < ui_watch(ui)->hist.nseries
				   ? ui_watch(ui)->hist.names[series] : "";
	size_t n = strlen(name);
	return (n > 3 && strcmp(name + n - 3, "_kb") == 0);
}

void ui_series_text(struct ui *ui, long series, char *val, char *delta, char *rate, size_t size)
{
	struct history *h = &ui_watch(ui)->hist;
	bool kb = ui_series_is_kb(ui, series);
	bool pct = series == M_CPU_PCT;
	double v = history_last(h, (size_t)series);
	double d = history_delta(h, (size_t)series);
	double r = history_slope_per_min(h, (size_t)series, ui->s->window_s);
	if (pct) {
		format_pct(v, val, size);
		snprintf(delta, size, "%s", "");
		snprintf(rate, size, "%s", "");
	} else if (kb) {
		format_kb(v, val, size);
		format_kb_delta(d, delta, size);
		format_rate(r, true, rate, size);
	} else {
		format_count(v, val, size);
		format_count_delta(d, delta, size);
		format_rate(r, false, rate, size);
	}
}

/* The newest n values of a series (fewer when the history is shorter). */
static void series_values(struct history *h, long series, double *out, size_t n)
{
	size_t first = h->len > n ? h->len - n : 0;
	for (size_t i = first; i < h->len; i++)
		out[i - first] = history_value_at(h, (size_t)series, i);
}

void ui_series_row(struct ui *ui, struct table *t, long series, const char *label)
{
	struct history *h = &ui_watch(ui)->hist;
	char val[32], delta[32], rate[32], spark[64 * 3 + 1];
	double v[64];
	double d = history_delta(h, (size_t)series);
	table_add(t, (uint64_t)series, isnan(d) || d <= 0 ? ROLE_NORMAL : ROLE_GROW);
	table_cell(t, label, NAN);
	ui_series_text(ui, series, val, delta, rate, sizeof(val));
	table_cell(t, val, history_last(h, (size_t)series));
	table_cell(t, delta, d);
	table_cell(t, rate, history_slope_per_min(h, (size_t)series, ui->s->window_s));
	size_t n = h->len < 64 ? h->len : 64;
	series_values(h, series, v, n);
	table_cell(t, format_sparkline(v, n, 64, term_glyphs(), spark, sizeof(spark)), NAN);
}

void ui_draw_split(struct pane *p, int y, int x, int h, int w, const char *lower_title,
		   const char *lower_note)
{
	int top_h = (int)p->tables[0].nview + 1;
	if (top_h > h / 2)
		top_h = h / 2;
	table_draw(&p->tables[0], y, x, top_h, w, p->focus == 0);
	ui_draw_title(y + top_h, x, w, lower_title, lower_note);
	table_draw(&p->tables[1], y + top_h + 1, x, h - top_h - 1, w, p->focus == 1);
}

/* Titles carry plugin descriptions, paths and reasons: sanitized, and the
 * note right-aligned by its width in columns, not bytes. */
void ui_draw_title(int y, int x, int w, const char *name, const char *note)
{
	term_blank(y, x, w, ROLE_TITLE);
	int used = term_text(y, x, w, name, ROLE_TITLE);
	if (note && *note) {
		char clean[512];
		sanitize_bytes(note, strlen(note), clean, sizeof(clean), term_utf8());
		int nw = (int)sanitize_width(clean);
		if (used + 2 + nw <= w)
			term_put(y, x + w - nw, nw, clean, ROLE_TITLE);
	}
}

/* ------------------------------------------------------------ header */

static void draw_vital(struct ui *ui, int y, int x, int w, enum metric m, const char *label)
{
	char val[32], delta[32], rate[32], spark[512];
	struct history *h = &ui_watch(ui)->hist;
	ui_series_text(ui, m, val, delta, rate, sizeof(val));
	term_blank(y, x, w, ROLE_NORMAL);
	term_put(y, x, 8, label, ROLE_LABEL);
	term_put(y, x + 8, 7, val, ROLE_NORMAL);
	double d = history_delta(h, m);
	enum role dr = isnan(d) || d == 0 ? ROLE_NORMAL : d > 0 ? ROLE_GROW : ROLE_SHRINK;
	term_put(y, x + 15, 7, delta, dr);
	term_put(y, x + 22, 9, rate, dr);
	int sw = w - 32;
	if (sw < 2)
		return;
	double v[256];
	size_t n = (size_t)(sw > 256 ? 256 : sw);
	size_t got = h->len < n ? h->len : n;
	series_values(h, m, v, got);
	format_sparkline(v, got, n, term_glyphs(), spark, sizeof(spark));
	term_put(y, x + 31, sw, spark, ROLE_GRAPH);
}

/* getpwuid can read /etc/passwd or ask NSS over the network: once per
 * target and uid, not at every redraw. */
static const char *user_name(struct ui_target *t, uid_t uid)
{
	if (!t->user_name[0] || t->user_uid != uid) {
		struct passwd *pw = getpwuid(uid);
		if (pw)
			snprintf(t->user_name, sizeof(t->user_name), "%s", pw->pw_name);
		else
			snprintf(t->user_name, sizeof(t->user_name), "%u", (unsigned)uid);
		t->user_uid = uid;
	}
	return t->user_name;
}

static void draw_header(struct ui *ui, const struct layout *l, int w)
{
	struct watch *wt = ui_watch(ui);
	const struct sample *s = &wt->last;
	char line[512], up[32], since[32];
	term_blank(0, 0, w, ROLE_NORMAL);
	int x = term_put(0, 0, w, "pscope ", ROLE_LABEL);
	if (wt->samples == 0) {
		snprintf(line, sizeof(line), "%d attaching...", (int)target_pid(wt->target));
		term_put(0, x, w - x, line, ROLE_DIM);
	} else {
		format_duration(util_now_real() - s->id.start_time, up, sizeof(up));
		snprintf(line, sizeof(line), "%d ", (int)s->id.pid);
		x += term_put(0, x, w - x, line, ROLE_NORMAL);
		x += term_text(0, x, 20, s->id.comm, ROLE_TITLE);
		if (wt->done)
			snprintf(line, sizeof(line), "  EXITED");
		else
			snprintf(line, sizeof(line), "  state %c  up %s  user %s", s->id.state ? s->id.state : '?',
				 up, user_name(ui_target(ui), s->id.uid));
		x += term_text(0, x, w - x, line, wt->done ? ROLE_WARN : ROLE_NORMAL);
	}
	/* Right side: what deltas are measured from, and the sampler's state. */
	format_duration(history_delta_seconds(&wt->hist), since, sizeof(since));
	const char *state = ui->sp.paused ? "PAUSED" : "";
	bool busy = ui->sp.busy && util_now_mono() - ui->sp.busy_since > 0.3;
	snprintf(line, sizeof(line), "changes since %s %s ago  delay %gs%s%s",
		 history_has_mark(&wt->hist) ? "mark" : "attach", since, ui->sp.delay,
		 *state ? "  " : "", state);
	if (busy)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "  sampling...");
	if (ui->s->count > 1)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "  [%zu/%zu]", ui->cur + 1,
			 ui->s->count);
	int rw = (int)strlen(line);
	if (x + 2 + rw <= w)
		term_put(0, w - rw, rw, line, ui->sp.paused ? ROLE_WARN : ROLE_DIM);

	for (int i = 0; i < NVITALS; i++) {
		int row = 1 + i / l->vital_cols, col = i % l->vital_cols;
		int vw = col == l->vital_cols - 1 ? w - col * l->vital_w : l->vital_w;
		draw_vital(ui, row, col * l->vital_w, vw - 1, vitals[i].m, vitals[i].label);
	}
	for (int row = 1 + (NVITALS + l->vital_cols - 1) / l->vital_cols; row < l->header_h; row++)
		term_blank(row, 0, w, ROLE_NORMAL);
}

static void draw_tabs(struct ui *ui, int y, int w)
{
	term_blank(y, 0, w, ROLE_TAB);
	int x = 0;
	for (int i = 0; i < PANE_COUNT && x < w; i++) {
		char tab[40];
		snprintf(tab, sizeof(tab), " %d %s ", i + 1, pane_classes[i]->name);
		x += term_put(y, x, w - x, tab, i == ui->pane && !ui->overview ? ROLE_TAB_ACTIVE : ROLE_TAB);
		x += term_put(y, x, w - x, " ", ROLE_TAB);
	}
	if (ui->s->count > 1 && x + 14 < w) {
		term_put(y, x, w - x, " o overview ", ui->overview ? ROLE_TAB_ACTIVE : ROLE_TAB);
	}
}

static void draw_bar(struct ui *ui, int y, int w)
{
	term_blank(y, 0, w, ROLE_BAR);
	if (ui->mode == MODE_SEARCH || ui->mode == MODE_FILTER) {
		char line[128];
		snprintf(line, sizeof(line), "%s: %s", ui->mode == MODE_SEARCH ? "Search" : "Filter",
			 ui->input);
		int x = term_text(y, 0, w, line, ROLE_BAR);
		term_put(y, x, 1, "_", ROLE_BAR_KEY);
		return;
	}
	if (ui->status[0]) {
		term_text(y, 0, w, ui->status, ROLE_WARN);
		return;
	}
	static const char *const common[][2] = {
		{ "F1", "Help" }, { "Tab", "Pane" }, { "/", "Search" }, { "f", "Filter" },
		{ "<>", "Sort" }, { "m", "Mark" }, { "p", "Pause" }, { "g", "Graph" }, { "q", "Quit" },
	};
	int x = 0;
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]) && x < w; i++) {
		x += term_put(y, x, w - x, common[i][0], ROLE_BAR_KEY);
		x += term_put(y, x, w - x, " ", ROLE_BAR);
		x += term_put(y, x, w - x, common[i][1], ROLE_BAR);
		x += term_put(y, x, w - x, " ", ROLE_BAR);
	}
	const char *own = ui->overview ? "[] target" : pane_classes[ui->pane]->keys;
	if (own && x + 2 < w)
		term_put(y, x + 1, w - x - 1, own, ROLE_DIM);
}

/* ------------------------------------------------------------ overlays */

static const char *const help_lines[] = {
	"pscope: keys",
	"",
	"  Tab / Shift-Tab, 1-5   next / previous pane, or pane by number",
	"  z                      zoom the pane to the whole screen",
	"  [ ]  o                 previous / next target; overview of all targets",
	"  Up Down PgUp PgDn      move (j k with vim keys)",
	"  Home End               first / last row (g G with vim keys)",
	"  Left Right             switch between a pane's upper and lower table",
	"  / (F3)   n  N          search; next / previous match",
	"  f (F4)                 filter rows (empty filter: all rows)",
	"  < >  (F6)  I           sort by the previous / next column; invert",
	"  m  M                   set the mark (deltas count from it); clear it",
	"  p  Z                   pause / resume sampling (the history stays)",
	"  + -                    longer / shorter delay between samples",
	"  g  v                   big graph of the selected series (v with vim keys)",
	"  Enter                  expand a stack group (Stacks pane)",
	"  r  S                   capture stacks now; periodic capture on/off",
	"  Ctrl-L                 redraw the screen",
	"  ? (F1)                 this help",
	"  q (F10)                quit",
	"",
	"n/a: unreadable (permission, exited); the reason shows in the pane.",
	"Deltas count from attach, or from the mark; rates are per minute.",
	"",
	"Press any key to return.",
};

static void draw_help(int y, int h, int w)
{
	for (int i = 0; i < h; i++) {
		term_blank(y + i, 0, w, ROLE_NORMAL);
		if ((size_t)i < sizeof(help_lines) / sizeof(help_lines[0]))
			term_put(y + i, 1, w - 2, help_lines[i], i == 0 ? ROLE_TITLE : ROLE_NORMAL);
	}
}

static void draw_graph(struct ui *ui, int y, int h, int w)
{
	struct history *hist = &ui_watch(ui)->hist;
	long series = ui->graph_series;
	char title[160], val[32], delta[32], rate[32];
	ui_series_text(ui, series, val, delta, rate, sizeof(val));
	snprintf(title, sizeof(title), "Graph: %s  now %s  change %s  rate %s",
		 hist->names[series], val, delta, rate);
	ui_draw_title(y, 0, w, title, "g/Esc: close");
	int gh = h - 2, gw = w - 10;
	if (gh < 2 || gw < 4)
		return;
	size_t n = hist->len;
	double *v = xmalloc((n ? n : 1) * sizeof(double));
	for (size_t i = 0; i < n; i++)
		v[i] = history_value_at(hist, (size_t)series, i);
	char **rows = xmalloc((size_t)gh * sizeof(char *));
	for (int i = 0; i < gh; i++)
		rows[i] = xmalloc((size_t)gw * 3 + 1);
	double lo, hi;
	format_graph(v, n, (size_t)gw, (size_t)gh, term_glyphs(), rows, &lo, &hi);
	bool kb = ui_series_is_kb(ui, series);
	for (int i = 0; i < gh; i++) {
		char axis[16] = "";
		if (i == 0 || i == gh - 1) {
			double a = i == 0 ? hi : lo;
			if (kb)
				format_kb(a, axis, sizeof(axis));
			else
				format_count(a, axis, sizeof(axis));
		}
		term_blank(y + 1 + i, 0, w, ROLE_NORMAL);
		term_put(y + 1 + i, 0, 9, axis, ROLE_DIM);
		term_put(y + 1 + i, 9, gw, rows[i], ROLE_GRAPH);
		free(rows[i]);
	}
	free(rows);
	free(v);
	char foot[96], span[32];
	format_duration(n ? history_time_at(hist, n - 1) - history_time_at(hist, 0) : 0, span,
			sizeof(span));
	snprintf(foot, sizeof(foot), "%zu samples over %s, newest at the right", n, span);
	term_blank(y + h - 1, 0, w, ROLE_NORMAL);
	term_put(y + h - 1, 9, w - 9, foot, ROLE_DIM);
}

static const struct table_col overview_cols[] = {
	{ "PID", 8, true, true }, { "COMMAND", 16, false, false }, { "RSS", 8, true, true },
	{ "dRSS", 8, true, true }, { "RSS/m", 9, true, true }, { "THR", 6, true, true },
	{ "FDS", 7, true, true }, { "dFDS", 7, true, true }, { "SOCK", 6, true, true },
	{ "CPU", 7, true, true }, { "STATE", 8, false, false },
};

static void update_overview(struct ui *ui)
{
	struct table *t = &ui->overview_table;
	table_begin(t);
	for (size_t i = 0; i < ui->s->count; i++) {
		struct watch *w = &ui->s->watches[i];
		struct history *h = &w->hist;
		char b[32];
		table_add(t, i, w->done ? ROLE_DIM : ROLE_NORMAL);
		snprintf(b, sizeof(b), "%d", (int)w->last.id.pid);
		table_cell(t, b, w->last.id.pid);
		table_cell_raw(t, w->samples ? w->last.id.comm : "?", NAN);
		double rss = history_last(h, M_RSS_KB);
		table_cell(t, format_kb(rss, b, sizeof(b)), rss);
		double d = history_delta(h, M_RSS_KB);
		table_cell(t, format_kb_delta(d, b, sizeof(b)), d);
		double r = history_slope_per_min(h, M_RSS_KB, ui->s->window_s);
		table_cell(t, format_rate(r, true, b, sizeof(b)), r);
		double thr = history_last(h, M_THREADS);
		table_cell(t, format_count(thr, b, sizeof(b)), thr);
		double fds = history_last(h, M_FDS);
		table_cell(t, format_count(fds, b, sizeof(b)), fds);
		double dfds = history_delta(h, M_FDS);
		table_cell(t, format_count_delta(dfds, b, sizeof(b)), dfds);
		double so = history_last(h, M_SOCKETS);
		table_cell(t, format_count(so, b, sizeof(b)), so);
		double cpu = history_last(h, M_CPU_PCT);
		table_cell(t, format_pct(cpu, b, sizeof(b)), cpu);
		if (w->done)
			snprintf(b, sizeof(b), "exited");
		else
			snprintf(b, sizeof(b), "%c", w->samples && w->last.id.state ? w->last.id.state : '?');
		table_cell(t, b, NAN);
	}
	table_end(t);
}

/* ------------------------------------------------------------ drawing */

static void update_model(struct ui *ui)
{
	if (ui->overview)
		update_overview(ui);
	else
		pane_classes[ui->pane]->update(ui, &ui->panes[ui->pane]);
}

static void draw_all(struct ui *ui)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	struct layout l = layout_compute(w, h, NVITALS, ui->zoom);
	erase();
	if (l.too_small) {
		char msg[96];
		snprintf(msg, sizeof(msg), "terminal too small (%dx%d): pscope needs %dx%d", w, h,
			 LAYOUT_MIN_W, LAYOUT_MIN_H);
		term_put(0, 0, w, msg, ROLE_WARN);
		return;
	}
	if (!ui->zoom) {
		draw_header(ui, &l, w);
		draw_tabs(ui, l.tabs_y, w);
	}
	if (ui->mode == MODE_HELP) {
		draw_help(l.pane_y, l.pane_h, w);
	} else if (ui->mode == MODE_GRAPH) {
		draw_graph(ui, l.pane_y, l.pane_h, w);
	} else if (ui->overview) {
		char note[32];
		snprintf(note, sizeof(note), "%zu targets", ui->s->count);
		ui_draw_title(l.pane_y, 0, w, "Overview", note);
		table_draw(&ui->overview_table, l.pane_y + 1, 0, l.pane_h - 1, w, true);
	} else {
		struct pane *p = &ui->panes[ui->pane];
		p->cls->draw(ui, p, l.pane_y, 0, l.pane_h, w);
	}
	draw_bar(ui, l.bar_y, w);
}

/* ------------------------------------------------------------ keys */

static struct table *focused_table(struct ui *ui)
{
	if (ui->overview)
		return &ui->overview_table;
	struct pane *p = &ui->panes[ui->pane];
	return p->ntables ? &p->tables[p->focus] : NULL;
}

static void set_mark(struct ui *ui, bool on)
{
	for (size_t i = 0; i < ui->s->count; i++) {
		struct watch *w = &ui->s->watches[i];
		struct ui_target *t = &ui->targets[i];
		if (on)
			history_set_mark(&w->hist);
		else
			history_clear_mark(&w->hist);
		/* "New since the mark" compares with the tables as they are now;
		 * clearing the mark goes back to comparing with attach, which we
		 * no longer have, so the newest tables become the baseline. */
		if (w->samples && w->last.fds) {
			fd_table_unref(t->fd_base);
			t->fd_base = fd_table_ref(w->last.fds);
		}
		if (w->samples && w->last.maps) {
			map_table_unref(t->map_base);
			t->map_base = map_table_ref(w->last.maps);
		}
		if (w->samples && w->last.plugins) {
			plugin_results_unref(t->plugins_base);
			t->plugins_base = plugin_results_ref(w->last.plugins);
		}
	}
	pane_stacks_mark(ui, on);
	snprintf(ui->status, sizeof(ui->status), "%s", on ? "mark set: deltas now count from here"
							   : "mark cleared: deltas count from attach");
}

/* After a sample: the baselines at attach (the first tables each target
 * shows), and which fd kinds and TCP states it has ever had. */
static void note_sample(struct ui *ui)
{
	for (size_t i = 0; i < ui->s->count; i++) {
		struct watch *w = &ui->s->watches[i];
		struct ui_target *t = &ui->targets[i];
		for (size_t m = 0; m < M_BUILTIN_COUNT; m++)
			if (history_last(&w->hist, m) > 0)
				t->seen_nonzero |= UINT64_C(1) << m;
		if (!t->fd_base && w->samples && w->last.fds)
			t->fd_base = fd_table_ref(w->last.fds);
		if (!t->map_base && w->samples && w->last.maps)
			t->map_base = map_table_ref(w->last.maps);
		if (!t->plugins_base && w->samples && w->last.plugins)
			t->plugins_base = plugin_results_ref(w->last.plugins);
	}
}

static void request_stacks(struct ui *ui)
{
	if (ui->sp.no_ptrace) {
		snprintf(ui->status, sizeof(ui->status), "stacks are off (--no-ptrace)");
		return;
	}
	sampler_request_stacks(&ui->sp, ui->cur);
	snprintf(ui->status, sizeof(ui->status), "capturing stacks...");
}

static void toggle_periodic_stacks(struct ui *ui)
{
	if (ui->sp.no_ptrace) {
		snprintf(ui->status, sizeof(ui->status), "stacks are off (--no-ptrace)");
		return;
	}
	if (ui->sp.stack_interval > 0) {
		ui->sp.stack_interval = 0;
		snprintf(ui->status, sizeof(ui->status), "periodic stack capture off");
	} else {
		ui->sp.stack_interval = ui->opt.stack_interval > 0 ? ui->opt.stack_interval : 10;
		snprintf(ui->status, sizeof(ui->status), "periodic stack capture on: every %g s",
			 ui->sp.stack_interval);
	}
	pthread_cond_signal(&ui->sp.wake);
}

static void change_delay(struct ui *ui, int dir)
{
	size_t n = sizeof(delays) / sizeof(delays[0]), i = 0;
	double now = ui->sp.delay;
	while (i + 1 < n && delays[i] < now - 1e-9)
		i++;
	if (dir > 0 && delays[i] <= now + 1e-9 && i + 1 < n)
		i++;
	else if (dir < 0 && i > 0)
		i--;
	sampler_set_delay(&ui->sp, delays[i]);
	snprintf(ui->status, sizeof(ui->status), "delay %g s", delays[i]);
}

static long graph_series_for(struct ui *ui)
{
	if (ui->overview)
		return M_RSS_KB;
	struct pane *p = &ui->panes[ui->pane];
	uint64_t key;
	if (p->cls->rows_are_series && p->focus == 0 && table_selected_key(&p->tables[0], &key))
		return (long)key;
	return p->cls->default_series;
}

static void prompt_key(struct ui *ui, int key)
{
	size_t len = strlen(ui->input);
	struct table *t = focused_table(ui);
	if (key == 27) {
		if (ui->mode == MODE_FILTER && t)
			table_set_filter(t, "");
		ui->mode = MODE_NORMAL;
		return;
	}
	if (key == '\n' || key == '\r' || key == KEY_ENTER) {
		if (ui->mode == MODE_SEARCH && t && ui->input[0] && !table_search(t, ui->input, 1))
			snprintf(ui->status, sizeof(ui->status), "not found: %s", ui->input);
		ui->mode = MODE_NORMAL;
		return;
	}
	if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		if (len)
			ui->input[len - 1] = 0;
	} else if (key >= 32 && key < 127 && len + 1 < sizeof(ui->input)) {
		ui->input[len] = (char)key;
		ui->input[len + 1] = 0;
	}
	if (ui->mode == MODE_FILTER && t)
		table_set_filter(t, ui->input);
}

/* Vim keys, when enabled, become the keys they stand for. */
static int translate_key(struct ui *ui, int key)
{
	if (!ui->opt.vim_keys)
		return key;
	switch (key) {
	case 'j': return KEY_DOWN;
	case 'k': return KEY_UP;
	case 'h': return KEY_LEFT;
	case 'l': return KEY_RIGHT;
	case 'g': return KEY_HOME;
	case 'G': return KEY_END;
	}
	return key;
}

static void switch_pane(struct ui *ui, int pane)
{
	ui->pane = (pane + PANE_COUNT) % PANE_COUNT;
	ui->overview = false;
	update_model(ui);
}

/* Returns false when the user quits. */
static bool handle_key(struct ui *ui, int key)
{
	if (key == KEY_RESIZE || key == 12 /* Ctrl-L */) {
		if (key == 12)
			clearok(curscr, TRUE);
		return true;
	}
	if (ui->mode == MODE_SEARCH || ui->mode == MODE_FILTER) {
		prompt_key(ui, key);
		return true;
	}
	ui->status[0] = 0;
	if (ui->mode == MODE_HELP) {
		ui->mode = MODE_NORMAL;   /* any key closes the help; q also quits */
		return key != 'q' && key != KEY_F(10);
	}
	if (ui->mode == MODE_GRAPH && (key == 27 || key == 'g' || key == 'v' || key == 'q')) {
		ui->mode = MODE_NORMAL;
		return true;
	}
	key = translate_key(ui, key);
	struct table *t = focused_table(ui);
	switch (key) {
	case 'q':
	case KEY_F(10):
		return false;
	case '?':
	case KEY_F(1):
		ui->mode = MODE_HELP;
		return true;
	case '\t':
		switch_pane(ui, ui->pane + 1);
		return true;
	case KEY_BTAB:
		switch_pane(ui, ui->pane - 1);
		return true;
	case '1': case '2': case '3': case '4': case '5':
		switch_pane(ui, key - '1');
		return true;
	case 'z':
		ui->zoom = !ui->zoom;
		return true;
	case 'o':
		ui->overview = !ui->overview && ui->s->count > 1;
		update_model(ui);
		return true;
	case '[':
	case ']':
		ui->cur = (ui->cur + ui->s->count + (key == ']' ? 1 : ui->s->count - 1)) % ui->s->count;
		update_model(ui);
		return true;
	case '/':
	case KEY_F(3):
		ui->mode = MODE_SEARCH;
		ui->input[0] = 0;
		return true;
	case 'n':
	case 'N':
		if (t && t->search[0] && !table_search(t, t->search, key == 'n' ? 1 : -1))
			snprintf(ui->status, sizeof(ui->status), "not found: %s", t->search);
		return true;
	case 'f':
	case KEY_F(4):
		ui->mode = MODE_FILTER;
		snprintf(ui->input, sizeof(ui->input), "%s", t ? t->filter : "");
		return true;
	case KEY_F(6):
		key = '>';
		break;
	case 'm':
	case 'M':
		set_mark(ui, key == 'm');
		update_model(ui);
		return true;
	case 'p':
	case 'Z':
		sampler_set_paused(&ui->sp, !ui->sp.paused);
		return true;
	case '+':
	case '=':
	case '-':
		change_delay(ui, key == '-' ? -1 : 1);
		return true;
	case 'r':
		request_stacks(ui);
		return true;
	case 'S':
		toggle_periodic_stacks(ui);
		return true;
	case 'g':
	case 'v':
		ui->graph_series = graph_series_for(ui);
		ui->mode = MODE_GRAPH;
		return true;
	case KEY_LEFT:
	case KEY_RIGHT:
		if (!ui->overview && ui->panes[ui->pane].ntables > 1) {
			struct pane *p = &ui->panes[ui->pane];
			p->focus = (p->focus + 1) % p->ntables;
			return true;
		}
		break;
	}
	if (t && table_key(t, key))
		return true;
	if (!ui->overview) {
		struct pane *p = &ui->panes[ui->pane];
		if (p->cls->key && p->cls->key(ui, p, key))
			return true;
	}
	return true;
}

/* ------------------------------------------------------------ loop */

static int open_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void ui_loop(struct ui *ui, int sigfd)
{
	bool dirty = true, running = true;
	while (running) {
		if (dirty && term_output_pending() <= PENDING_MAX) {
			pthread_mutex_lock(&ui->sp.lock);
			draw_all(ui);
			pthread_mutex_unlock(&ui->sp.lock);
			wnoutrefresh(stdscr);
			doupdate();
			dirty = false;
		}
		/* Wake up for a pending redraw, or to show that a slow sample is
		 * under way; otherwise sleep until a key, a sample or a signal. */
		int timeout = dirty ? 20 : (ui->sp.busy ? 150 : -1);
		struct pollfd p[3] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = ui->sp.notify[0], .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};
		int rc = poll(p, sigfd >= 0 ? 3 : 2, timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0) {
			/* The busy indicator, or KEY_RESIZE from curses' SIGWINCH. */
			int key = getch();
			if (key != ERR)
				running = handle_key(ui, key);
			dirty = true;
			continue;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				break;
		}
		if (p[1].revents & POLLIN && sampler_drain(&ui->sp)) {
			pthread_mutex_lock(&ui->sp.lock);
			/* A message has been read by now; the bar goes back to keys. */
			if (ui->status[0] && util_now_mono() - ui->status_at > 3)
				ui->status[0] = 0;
			note_sample(ui);
			update_model(ui);
			pthread_mutex_unlock(&ui->sp.lock);
			dirty = true;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int key;
			if (p[0].revents & (POLLHUP | POLLERR) && !(p[0].revents & POLLIN))
				break;   /* the terminal went away */
			while (running && (key = getch()) != ERR) {
				pthread_mutex_lock(&ui->sp.lock);
				char before[sizeof(ui->status)];
				memcpy(before, ui->status, sizeof(before));
				running = handle_key(ui, key);
				if (strcmp(before, ui->status) != 0)
					ui->status_at = util_now_mono();
				pthread_mutex_unlock(&ui->sp.lock);
			}
			dirty = true;
		}
	}
}

int ui_run(struct session *s, const struct ui_options *o, char *err, size_t errlen)
{
	struct ui ui = { .s = s, .opt = *o, .pane = o->default_pane };
	int sigfd = open_signals();
	if (term_open(o->color, o->ascii, err, errlen) < 0) {
		if (sigfd >= 0)
			close(sigfd);
		return -1;
	}
	if (s->count == 0 && picker_run(s, o, sigfd, err, errlen) < 0) {
		term_close();
		if (sigfd >= 0)
			close(sigfd);
		return err[0] ? -1 : 0;
	}
	ui.targets = xcalloc(s->count, sizeof(*ui.targets));
	if (o->notice && o->notice[0]) {
		snprintf(ui.status, sizeof(ui.status), "%s", o->notice);
		ui.status_at = util_now_mono() + 5;   /* stays a while longer */
	}
	for (int i = 0; i < PANE_COUNT; i++) {
		ui.panes[i].cls = pane_classes[i];
		pane_classes[i]->init(&ui.panes[i]);
	}
	table_init(&ui.overview_table, overview_cols, sizeof(overview_cols) / sizeof(overview_cols[0]),
		   -1, false);
	ui.sp.no_ptrace = o->no_ptrace;
	ui.sp.consistent = o->consistent;
	/* Capturing stops threads: on demand only, unless asked for. */
	ui.sp.stack_interval = !o->periodic_stacks ? 0 : o->stack_interval > 0 ? o->stack_interval : 10;
	int rc = sampler_start(&ui.sp, s, o->delay);
	if (rc < 0) {
		snprintf(err, errlen, "cannot start the sampler: %s", strerror(-rc));
	} else {
		pthread_mutex_lock(&ui.sp.lock);
		update_model(&ui);
		pthread_mutex_unlock(&ui.sp.lock);
		ui_loop(&ui, sigfd);
		sampler_stop(&ui.sp);
	}
	term_close();
	for (int i = 0; i < PANE_COUNT; i++) {
		struct pane *p = &ui.panes[i];
		if (p->cls->free)
			p->cls->free(p);
		table_free(&p->tables[0]);
		table_free(&p->tables[1]);
		free(p->priv);
	}
	table_free(&ui.overview_table);
	for (size_t i = 0; i < s->count; i++) {
		fd_table_unref(ui.targets[i].fd_base);
		map_table_unref(ui.targets[i].map_base);
		plugin_results_unref(ui.targets[i].plugins_base);
	}
	free(ui.targets);
	if (sigfd >= 0)
		close(sigfd);
	return rc < 0 ? -1 : 0;
}
