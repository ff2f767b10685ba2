/* table.h — the scrolling, sortable, searchable table every pane draws.
 *
 * A pane refills a table from the model whenever a sample arrives
 * (table_begin, table_add, table_cell, table_end); the table keeps the
 * selection on the same row key across refills (a tid, an fd number), and
 * re-applies the filter and the sort.  Keys and drawing touch only the
 * visible rows, so a 10,000-row table moves as fast as a 10-row one.
 *
 * Cell text is already sanitized by the pane (term_text's rules) when it
 * is added: it comes from the target. */
#ifndef PSCOPE_TABLE_H
#define PSCOPE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "term.h"

struct table_col {
	const char *title;
	int width;        /* columns; a last text column takes what is left */
	bool right;       /* right-aligned (numbers) */
	bool numeric;     /* sorts by the cell's number */
};

struct table_row {
	uint64_t key;
	enum role role;   /* ROLE_NORMAL, ROLE_NEW, ROLE_GROW, ROLE_DIM */
	size_t cell0;     /* index of its first cell in cells[] */
};

struct table_cell {
	size_t text;      /* offset into the string arena */
	double num;       /* sort value of a numeric column; NAN sorts last */
};

struct table {
	const struct table_col *cols;
	size_t ncols;
	struct table_row *rows;
	size_t nrows, rows_cap;
	struct table_cell *cells;   /* ncols per row, rows_cap rows */
	size_t filled;              /* cells set in the newest row */
	char *arena;
	size_t arena_len, arena_cap;
	size_t *view;     /* rows that pass the filter, in sort order */
	size_t nview, view_cap;
	size_t sel, top;  /* positions in view */
	uint64_t sel_key;
	bool have_sel_key;
	int sort_col;     /* -1: the order rows were added */
	bool sort_desc;
	char filter[64];  /* rows whose text contains it (case-insensitive) */
	char search[64];  /* last search, for n and N */
	int page;         /* rows shown at the last draw, for PgUp/PgDn */
};

void table_init(struct table *t, const struct table_col *cols, size_t ncols, int sort_col,
		bool desc);
void table_free(struct table *t);

void table_begin(struct table *t);
/* Add a row; then set each of its cells in order with table_cell. */
void table_add(struct table *t, uint64_t key, enum role role);
void table_cell(struct table *t, const char *safe_text, double num);
/* Same, sanitizing untrusted text first. */
void table_cell_raw(struct table *t, const char *raw, double num);
void table_end(struct table *t);

/* Text of a cell of a row in view order; NULL when out of range. */
const char *table_text(const struct table *t, size_t view_row, size_t col);
/* Key of the selected row; false when the table is empty. */
bool table_selected_key(const struct table *t, uint64_t *key);

/* Movement and sort keys (arrows, PgUp/PgDn, Home/End, < > I); true when
 * the key was the table's. */
bool table_key(struct table *t, int key);
void table_set_filter(struct table *t, const char *filter);
/* Select the next (dir 1) or previous (dir -1) row containing text, from
 * the selection, wrapping; false when none does. */
bool table_search(struct table *t, const char *text, int dir);

/* Draw the header line at y and rows below it, h lines in all. */
void table_draw(struct table *t, int y, int x, int h, int w, bool focused);

#endif
