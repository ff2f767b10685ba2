/* pane_plugins.c — one tab per plugin that applies to the target.
 *
 * A tab shows the plugin's metrics (kept in history like the built-in
 * series, so each has its change, rate and sparkline) and one of its
 * tables at a time, drawn with the same table widget as every other pane.
 * Plugins that do not apply are listed with the reason they gave.  t moves
 * to the next plugin, T to the plugin's next table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "metrics.h"
#include "plugins.h"
#include "ui_state.h"
#include "util.h"

static const struct table_col metric_cols[] = {
	{ "METRIC", 22, false, false }, { "NOW", 9, true, true }, { "CHANGE", 9, true, true },
	{ "RATE", 10, true, true }, { "HISTORY", 26, false, false }, { "NOTE", 0, false, false },
};

struct plugins_pane {
	const struct pscope_plugin *tab;   /* the plugin shown */
	size_t table;                      /* which of its tables */
	const struct pscope_plugin *cols_for;
	size_t cols_table;
	struct table_col *cols;            /* built from the plugin's columns */
	int change_col;                    /* where CHANGE is, or -1 */
};

static void init(struct pane *p)
{
	table_init(&p->tables[0], metric_cols, sizeof(metric_cols) / sizeof(metric_cols[0]), -1, false);
	table_init(&p->tables[1], NULL, 0, -1, false);
	p->ntables = 2;
	p->priv = xcalloc(1, sizeof(struct plugins_pane));
}

static void fini(struct pane *p)
{
	struct plugins_pane *pp = p->priv;
	free(pp->cols);
}

static const struct plugin_results *results(struct ui *ui)
{
	struct watch *w = ui_watch(ui);
	return w->samples ? w->last.plugins : NULL;
}

static const struct plugin_result *shown(struct ui *ui, struct plugins_pane *pp)
{
	const struct plugin_results *r = results(ui);
	const struct plugin_result *first = NULL;
	for (size_t i = 0; r && i < r->count; i++) {
		if (!r->list[i]->active)
			continue;
		if (r->list[i]->desc == pp->tab)
			return r->list[i];
		if (!first)
			first = r->list[i];
	}
	pp->tab = first ? first->desc : NULL;
	pp->table = 0;
	return first;
}

/* A number in its unit, as the rest of pscope shows it. */
static void format_unit(double v, const char *unit, char *b, size_t size)
{
	if (unit && !strcmp(unit, "bytes"))
		format_kb(v / 1024, b, size);
	else if (unit && !strcmp(unit, "%"))
		format_pct(v, b, size);
	else if (isnan(v))
		snprintf(b, size, "n/a");
	else if (unit && !strcmp(unit, "us"))
		snprintf(b, size, "%.0fus", v);
	else if (v == floor(v) && fabs(v) < 1e15)
		format_count(v, b, size);
	else
		snprintf(b, size, "%.3g", v);
}

static void format_unit_delta(double v, const char *unit, char *b, size_t size)
{
	if (isnan(v) || v == 0 || size < 2) {
		format_unit(v, unit, b, size);
		return;
	}
	b[0] = v < 0 ? '-' : '+';
	format_unit(fabs(v), unit, b + 1, size - 1);
}

static void update_metrics(struct ui *ui, struct table *t, const struct plugin_result *r)
{
	struct history *h = &ui_watch(ui)->hist;
	char val[32], delta[32], rate[40], spark[26 * 3 + 1];
	double v[26];
	table_begin(t);
	for (size_t m = 0; r && m < r->desc->nmetrics; m++) {
		const struct pscope_metric_desc *d = &r->desc->metrics[m];
		size_t s = r->series0 + m;
		double now = r->values[m], dv = history_delta(h, s);
		double rt = history_slope_per_min(h, s, ui->s->window_s);
		table_add(t, s, isnan(dv) || dv <= 0 ? ROLE_NORMAL : ROLE_GROW);
		table_cell_raw(t, d->name, NAN);
		format_unit(now, d->unit, val, sizeof(val));
		table_cell(t, val, now);
		format_unit_delta(dv, d->unit, delta, sizeof(delta));
		table_cell(t, delta, dv);
		format_unit_delta(fabs(rt) < 0.05 ? 0 : rt, d->unit, rate, sizeof(rate) - 3);
		if (!isnan(rt))
			strcat(rate, "/m");
		table_cell(t, rate, rt);
		size_t n = h->len < 26 ? h->len : 26;
		for (size_t k = 0; k < n; k++)
			v[k] = history_value_at(h, s, h->len - n + k);
		table_cell(t, format_sparkline(v, n, 26, term_glyphs(), spark, sizeof(spark)), NAN);
		table_cell_raw(t, r->metric_why[m] ? r->metric_why[m] : d->description, NAN);
	}
	table_end(t);
}

/* The table widget wants its columns for the table's life: rebuild them
 * when the plugin or the table shown changes. */
static void set_columns(struct plugins_pane *pp, struct table *t, const struct pscope_table_desc *td)
{
	if (pp->cols_for == pp->tab && pp->cols_table == pp->table && t->cols)
		return;
	table_free(t);
	free(pp->cols);
	/* After the first number column (a count), its CHANGE since the mark:
	 * the group that keeps growing is the leak. */
	pp->cols = xcalloc(td->ncolumns + 1, sizeof(*pp->cols));
	pp->change_col = -1;
	size_t n = 0;
	int sort = -1;
	for (size_t c = 0; c < td->ncolumns; c++) {
		bool num = td->columns[c].type == PSCOPE_COL_NUMBER;
		size_t w = strlen(td->columns[c].name) + 2;
		pp->cols[n++] = (struct table_col){ td->columns[c].name, num ? (int)(w > 10 ? w : 10) : 28,
						    num, num };
		if (num && pp->change_col < 0) {
			sort = (int)n - 1;
			pp->change_col = (int)n;
			pp->cols[n++] = (struct table_col){ "CHANGE", 9, true, true };
		}
	}
	table_init(t, pp->cols, n, sort, true);
	pp->cols_for = pp->tab;
	pp->cols_table = pp->table;
}

static void update_table(struct plugins_pane *pp, struct table *t, const struct plugin_result *r,
			 const struct plugin_result *base)
{
	if (!r || r->desc->ntables == 0) {
		table_begin(t);
		table_end(t);
		return;
	}
	const struct pscope_table_desc *td = &r->desc->tables[pp->table % r->desc->ntables];
	size_t tab = pp->table % r->desc->ntables;
	const struct plugin_table *pt = &r->tables[tab];
	set_columns(pp, t, td);
	char b[64];
	table_begin(t);
	for (size_t row = 0; row < pt->nrows; row++) {
		double delta = NAN;
		bool is_new = false;
		bool known = plugin_row_delta(base, r, tab, row, &delta, &is_new);
		table_add(t, row, is_new ? ROLE_NEW : known && delta > 0 ? ROLE_GROW : ROLE_NORMAL);
		for (size_t c = 0; c < td->ncolumns; c++) {
			const struct plugin_cell *cell = &pt->cells[row * td->ncolumns + c];
			if (td->columns[c].type == PSCOPE_COL_NUMBER) {
				format_unit(cell->num, td->columns[c].unit, b, sizeof(b));
				table_cell(t, b, cell->num);
			} else {
				table_cell_raw(t, cell->str ? cell->str : "?", NAN);
			}
			if ((int)c + 1 == pp->change_col) {
				if (is_new)
					snprintf(b, sizeof(b), "new");
				else
					format_unit_delta(delta, td->columns[c].unit, b, sizeof(b));
				table_cell(t, known ? b : "", delta);
			}
		}
	}
	table_end(t);
}

static void update(struct ui *ui, struct pane *p)
{
	struct plugins_pane *pp = p->priv;
	const struct plugin_result *r = shown(ui, pp);
	update_metrics(ui, &p->tables[0], r);
	update_table(pp, &p->tables[1], r,
		     r ? plugin_results_find(ui_target(ui)->plugins_base, r->desc) : NULL);
}

static void draw_tabs(struct ui *ui, struct plugins_pane *pp, int y, int x, int w)
{
	const struct plugin_results *r = results(ui);
	term_blank(y, x, w, ROLE_NORMAL);
	int cx = 0;
	for (size_t i = 0; r && i < r->count && cx < w; i++) {
		if (!r->list[i]->active)
			continue;
		char tab[64];
		snprintf(tab, sizeof(tab), " %s ", r->list[i]->desc->name);
		cx += term_text(y, x + cx, w - cx, tab, r->list[i]->desc == pp->tab ? ROLE_TAB_ACTIVE : ROLE_TAB);
		cx += term_put(y, x + cx, w - cx, " ", ROLE_NORMAL);
	}
}

static void draw_declined(struct ui *ui, int y, int x, int h, int w)
{
	const struct plugin_results *r = results(ui);
	int row = 0;
	for (size_t i = 0; r && i < r->count && row < h; i++) {
		if (r->list[i]->active)
			continue;
		char line[400];
		snprintf(line, sizeof(line), "%s: %s", r->list[i]->desc->name, r->list[i]->why);
		term_blank(y + row, x, w, ROLE_NORMAL);
		term_text(y + row++, x + 1, w - 1, line, ROLE_DIM);
	}
	for (; row < h; row++)
		term_blank(y + row, x, w, ROLE_NORMAL);
}

static void draw(struct ui *ui, struct pane *p, int y, int x, int h, int w)
{
	struct plugins_pane *pp = p->priv;
	const struct plugin_result *r = shown(ui, pp);
	if (r && (pp->cols_for != pp->tab || pp->cols_table != pp->table))
		update(ui, p);
	char note[320] = "";
	if (r)
		snprintf(note, sizeof(note), "%s %s: %s", r->desc->name, r->desc->version ? r->desc->version : "",
			 r->desc->description ? r->desc->description : "");
	ui_draw_title(y, x, w, "Plugins", note);
	if (!r) {
		term_blank(y + 1, x, w, ROLE_NORMAL);
		term_put(y + 1, x + 1, w - 1, results(ui) ? "No plugin applies to this process:"
			 : "No plugins loaded (see pscope --list-plugins).", ROLE_NORMAL);
		draw_declined(ui, y + 2, x, h - 2, w);
		return;
	}
	draw_tabs(ui, pp, y + 1, x, w);
	y += 2;
	h -= 2;
	if (r->why[0] || r->log[0]) {
		term_blank(y, x, w, ROLE_NORMAL);
		term_text(y, x + 1, w - 1, r->why[0] ? r->why : r->log, ROLE_WARN);
		y++;
		h--;
	}
	if (!r->desc->ntables) {
		table_draw(&p->tables[0], y, x, h, w, p->focus == 0);
		return;
	}
	const struct pscope_table_desc *td = &r->desc->tables[pp->table % r->desc->ntables];
	char title[200];
	snprintf(title, sizeof(title), "%s: %s", td->name, td->description ? td->description : "");
	ui_draw_split(p, y, x, h, w, title, r->desc->ntables > 1 ? "T: next table" : "");
}

static bool key(struct ui *ui, struct pane *p, int k)
{
	struct plugins_pane *pp = p->priv;
	const struct plugin_results *r = results(ui);
	if (k == 't' && r) {
		size_t cur = 0, n = 0;
		const struct pscope_plugin *active[64];
		for (size_t i = 0; i < r->count && n < 64; i++)
			if (r->list[i]->active) {
				if (r->list[i]->desc == pp->tab)
					cur = n;
				active[n++] = r->list[i]->desc;
			}
		if (n) {
			pp->tab = active[(cur + 1) % n];
			pp->table = 0;
			update(ui, p);
		}
		return true;
	}
	if (k == 'T') {
		pp->table++;
		const struct plugin_result *res = shown(ui, pp);
		if (res && res->desc->ntables)
			pp->table %= res->desc->ntables;
		update(ui, p);
		return true;
	}
	return false;
}

const struct pane_class pane_plugins = {
	.name = "Plugins",
	.keys = "t plugin  T table",
	.init = init,
	.free = fini,
	.update = update,
	.draw = draw,
	.key = key,
	.rows_are_series = true,
	.default_series = M_RSS_KB,
};
