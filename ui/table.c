/* table.c — see table.h. */
#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sanitize.h"
#include "table.h"
#include "util.h"

void table_init(struct table *t, const struct table_col *cols, size_t ncols, int sort_col,
		bool desc)
{
	*t = (struct table){ .cols = cols, .ncols = ncols, .sort_col = sort_col, .sort_desc = desc };
}

void table_free(struct table *t)
{
	free(t->rows);
	free(t->cells);
	free(t->arena);
	free(t->view);
	*t = (struct table){ 0 };
}

void table_begin(struct table *t)
{
	uint64_t key;
	if (table_selected_key(t, &key)) {
		t->sel_key = key;
		t->have_sel_key = true;
	}
	t->nrows = 0;
	t->arena_len = 0;
}

void table_add(struct table *t, uint64_t key, enum role role)
{
	if (t->nrows == t->rows_cap) {
		t->rows_cap = t->rows_cap ? t->rows_cap * 2 : 64;
		t->rows = xrealloc(t->rows, t->rows_cap * sizeof(*t->rows));
		t->cells = xrealloc(t->cells, t->rows_cap * t->ncols * sizeof(*t->cells));
	}
	size_t i = t->nrows++;
	t->rows[i] = (struct table_row){ .key = key, .role = role, .cell0 = i * t->ncols };
	t->filled = 0;
}

void table_cell(struct table *t, const char *text, double num)
{
	if (!t->nrows || t->filled >= t->ncols)
		return;
	size_t n = strlen(text) + 1;
	if (t->arena_len + n > t->arena_cap) {
		t->arena_cap = (t->arena_len + n) * 2;
		t->arena = xrealloc(t->arena, t->arena_cap);
	}
	memcpy(t->arena + t->arena_len, text, n);
	struct table_row *r = &t->rows[t->nrows - 1];
	t->cells[r->cell0 + t->filled++] = (struct table_cell){ .text = t->arena_len, .num = num };
	t->arena_len += n;
}

void table_cell_raw(struct table *t, const char *raw, double num)
{
	char buf[512];
	sanitize_bytes(raw, strlen(raw), buf, sizeof(buf), term_utf8());
	table_cell(t, buf, num);
}

static const struct table_cell *cell_of(const struct table *t, size_t row, size_t col)
{
	return &t->cells[t->rows[row].cell0 + col];
}

static const char *text_of(const struct table *t, size_t row, size_t col)
{
	return t->arena + cell_of(t, row, col)->text;
}

/* qsort has no context argument; qsort_r does (glibc). */
static int compare_rows(const void *a, const void *b, void *ctx)
{
	const struct table *t = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = 0;
	if (t->sort_col >= 0) {
		const struct table_col *col = &t->cols[t->sort_col];
		if (col->numeric) {
			double p = cell_of(t, x, (size_t)t->sort_col)->num;
			double q = cell_of(t, y, (size_t)t->sort_col)->num;
			/* Unreadable values sort last whichever the direction. */
			if (isnan(p) || isnan(q))
				return isnan(p) - isnan(q);
			c = (p > q) - (p < q);
		} else {
			c = strcasecmp(text_of(t, x, (size_t)t->sort_col), text_of(t, y, (size_t)t->sort_col));
		}
		if (t->sort_desc)
			c = -c;
	}
	return c ? c : (x > y) - (x < y);
}

static bool row_matches(const struct table *t, size_t row, const char *text)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (strcasestr(text_of(t, row, c), text))
			return true;
	return false;
}

static void clamp(struct table *t)
{
	if (t->nview == 0) {
		t->sel = t->top = 0;
		return;
	}
	if (t->sel >= t->nview)
		t->sel = t->nview - 1;
	if (t->top > t->sel)
		t->top = t->sel;
	if (t->page > 0 && t->sel >= t->top + (size_t)t->page)
		t->top = t->sel - (size_t)t->page + 1;
}

/* Rebuild the view: filter, sort, then find the selected key again. */
static void rebuild(struct table *t)
{
	if (t->nrows > t->view_cap) {
		t->view_cap = t->nrows;
		t->view = xrealloc(t->view, t->view_cap * sizeof(*t->view));
	}
	t->nview = 0;
	for (size_t i = 0; i < t->nrows; i++)
		if (!t->filter[0] || row_matches(t, i, t->filter))
			t->view[t->nview++] = i;
	if (t->sort_col >= 0 && t->nview > 1)
		qsort_r(t->view, t->nview, sizeof(*t->view), compare_rows, t);
	if (t->have_sel_key) {
		for (size_t i = 0; i < t->nview; i++) {
			if (t->rows[t->view[i]].key == t->sel_key) {
				t->sel = i;
				break;
			}
		}
	}
	clamp(t);
}

void table_end(struct table *t)
{
	rebuild(t);
}

const char *table_text(const struct table *t, size_t view_row, size_t col)
{
	if (view_row >= t->nview || col >= t->ncols)
		return NULL;
	return text_of(t, t->view[view_row], col);
}

bool table_selected_key(const struct table *t, uint64_t *key)
{
	if (t->sel >= t->nview)
		return false;
	*key = t->rows[t->view[t->sel]].key;
	return true;
}

static void select_at(struct table *t, size_t pos)
{
	t->sel = pos;
	clamp(t);
	uint64_t key = 0;
	t->have_sel_key = table_selected_key(t, &key);
	t->sel_key = key;
}

bool table_key(struct table *t, int key)
{
	size_t page = t->page > 1 ? (size_t)t->page - 1 : 1;
	switch (key) {
	case KEY_UP:
		select_at(t, t->sel ? t->sel - 1 : 0);
		return true;
	case KEY_DOWN:
		select_at(t, t->sel + 1);
		return true;
	case KEY_PPAGE:
		select_at(t, t->sel > page ? t->sel - page : 0);
		return true;
	case KEY_NPAGE:
		select_at(t, t->sel + page);
		return true;
	case KEY_HOME:
		select_at(t, 0);
		return true;
	case KEY_END:
		select_at(t, t->nview ? t->nview - 1 : 0);
		return true;
	case '<':
	case '>': {
		int n = (int)t->ncols;
		int c = t->sort_col < 0 ? 0 : t->sort_col + (key == '>' ? 1 : -1);
		t->sort_col = (c + n) % n;
		/* Numbers are most useful largest first, names in order. */
		t->sort_desc = t->cols[t->sort_col].numeric;
		rebuild(t);
		return true;
	}
	case 'I':
		if (t->sort_col >= 0) {
			t->sort_desc = !t->sort_desc;
			rebuild(t);
		}
		return true;
	}
	return false;
}

void table_set_filter(struct table *t, const char *filter)
{
	snprintf(t->filter, sizeof(t->filter), "%s", filter);
	rebuild(t);
}

bool table_search(struct table *t, const char *text, int dir)
{
	if (text != t->search)
		snprintf(t->search, sizeof(t->search), "%s", text);
	if (!t->search[0] || t->nview == 0)
		return false;
	for (size_t step = 1; step <= t->nview; step++) {
		size_t pos = dir > 0 ? (t->sel + step) % t->nview
				     : (t->sel + t->nview - step % t->nview) % t->nview;
		if (row_matches(t, t->view[pos], t->search)) {
			select_at(t, pos);
			return true;
		}
	}
	return false;
}

/* Column widths for w columns: fixed widths; the last takes the rest
 * unless it is a right-aligned number, which would then float far away. */
static int col_width(const struct table *t, size_t c, int x0, int w)
{
	if (c + 1 == t->ncols && !t->cols[c].right)
		return w - x0;
	int cw = t->cols[c].width;
	return x0 + cw > w ? w - x0 : cw;
}

static void draw_cell(int y, int x, int cw, const char *text, bool right, enum role r)
{
	if (cw <= 0)
		return;
	term_blank(y, x, cw, r);
	int tw = (int)sanitize_width(text);
	if (right && tw < cw - 1)
		term_put(y, x + cw - 1 - tw, tw, text, r);
	else
		term_put(y, x, cw - 1, text, r);
}

void table_draw(struct table *t, int y, int x, int h, int w, bool focused)
{
	if (h <= 0 || w <= 0)
		return;
	int cx = 0;
	term_blank(y, x, w, ROLE_LABEL);
	for (size_t c = 0; c < t->ncols && cx < w; c++) {
		int cw = col_width(t, c, cx, w);
		char title[48];
		const char *arrow = "";
		if ((int)c == t->sort_col)
			arrow = t->sort_desc ? (term_utf8() ? "▼" : "v") : (term_utf8() ? "▲" : "^");
		snprintf(title, sizeof(title), "%s%s", t->cols[c].title, arrow);
		draw_cell(y, x + cx, cw, title, t->cols[c].right, ROLE_LABEL);
		cx += cw;
	}
	t->page = h - 1;
	clamp(t);
	for (int i = 0; i < h - 1; i++) {
		size_t pos = t->top + (size_t)i;
		int ry = y + 1 + i;
		if (pos >= t->nview) {
			term_blank(ry, x, w, ROLE_NORMAL);
			continue;
		}
		const struct table_row *row = &t->rows[t->view[pos]];
		enum role r = (pos == t->sel && focused) ? ROLE_SELECTED : row->role;
		cx = 0;
		for (size_t c = 0; c < t->ncols && cx < w; c++) {
			int cw = col_width(t, c, cx, w);
			draw_cell(ry, x + cx, cw, text_of(t, t->view[pos], c), t->cols[c].right, r);
			cx += cw;
		}
		if (cx < w)
			term_blank(ry, x + cx, w - cx, r);
	}
}
