/* pane_memory.c — where the memory goes and how fast it grows.
 *
 * Upper table: each memory series with its value, change since attach (or
 * the mark), growth per minute and a sparkline.  Lower table: the mappings
 * from /proc/PID/smaps (read on a slower tier), each with its RSS and its
 * change since the mark, largest growth first: the mapping that grows is
 * where the leak lives ([heap], an anonymous arena, a file). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "metrics.h"
#include "ui_state.h"
#include "util.h"

static const enum metric rows[] = {
	M_RSS_KB, M_PSS_KB, M_ANON_KB, M_FILE_KB, M_SHMEM_KB, M_HEAP_KB, M_SWAP_KB,
	M_VMDATA_KB, M_MAPPINGS,
};
enum { NROWS = sizeof(rows) / sizeof(rows[0]) };

static const struct table_col series_cols[] = {
	{ "SERIES", 11, false, false }, { "NOW", 9, true, true }, { "CHANGE", 9, true, true },
	{ "RATE", 10, true, true }, { "HISTORY", 0, false, false },
};

static const struct table_col map_cols[] = {
	{ "ADDRESS", 27, false, false }, { "PERM", 5, false, false }, { "RSS", 8, true, true },
	{ "CHANGE", 8, true, true }, { "SIZE", 8, true, true }, { "SWAP", 7, true, true },
	{ "PATH", 0, false, false },
};

struct memory_pane {
	const struct map_table *shown, *base;
};

static void init(struct pane *p)
{
	table_init(&p->tables[0], series_cols, sizeof(series_cols) / sizeof(series_cols[0]), -1, false);
	table_init(&p->tables[1], map_cols, sizeof(map_cols) / sizeof(map_cols[0]), 3, true);
	p->ntables = 2;
	p->priv = xcalloc(1, sizeof(struct memory_pane));
}

static void update_series(struct ui *ui, struct table *t)
{
	char name[48];
	table_begin(t);
	for (size_t i = 0; i < NROWS; i++)
		ui_series_row(ui, t, rows[i], metrics_name(rows[i], name, sizeof(name)));
	table_end(t);
}

static const struct map_entry *find_base(const struct map_table *base, const struct map_entry *m)
{
	if (!base)
		return NULL;
	/* The base is in address order: binary search on the start address,
	 * then require the same file, since an address can be reused. */
	size_t lo = 0, hi = base->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (base->list[mid].start < m->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < base->count && base->list[lo].start == m->start &&
	    strcmp(base->list[lo].path ? base->list[lo].path : "", m->path ? m->path : "") == 0)
		return &base->list[lo];
	return NULL;
}

static void update_maps(struct ui *ui, struct pane *p)
{
	struct memory_pane *mp = p->priv;
	struct table *t = &p->tables[1];
	const struct map_table *mt = ui_watch(ui)->samples ? ui_watch(ui)->last.maps : NULL;
	const struct map_table *base = ui_target(ui)->map_base;
	if (mt == mp->shown && base == mp->base && t->nrows)
		return;
	mp->shown = mt;
	mp->base = base;
	char b[64];
	table_begin(t);
	for (size_t i = 0; mt && i < mt->count; i++) {
		const struct map_entry *m = &mt->list[i];
		const struct map_entry *old = find_base(base, m);
		double rss = m->rss_kb < 0 ? NAN : (double)m->rss_kb;
		double change = old ? (old->rss_kb < 0 ? NAN : rss - (double)old->rss_kb) : rss;
		table_add(t, m->start, !old && base ? ROLE_NEW : (change > 0 ? ROLE_GROW : ROLE_NORMAL));
		snprintf(b, sizeof(b), "%012" PRIx64 "-%012" PRIx64, m->start, m->end);
		table_cell(t, b, (double)m->start);
		table_cell(t, m->perms, NAN);
		table_cell(t, format_kb(rss, b, sizeof(b)), rss);
		table_cell(t, format_kb_delta(change, b, sizeof(b)), change);
		double size = m->size_kb < 0 ? NAN : (double)m->size_kb;
		table_cell(t, format_kb(size, b, sizeof(b)), size);
		double swap = m->swap_kb < 0 ? NAN : (double)m->swap_kb;
		table_cell(t, format_kb(swap, b, sizeof(b)), swap);
		table_cell_raw(t, m->path && *m->path ? m->path : "[anon]", NAN);
	}
	table_end(t);
}

static void update(struct ui *ui, struct pane *p)
{
	update_series(ui, &p->tables[0]);
	update_maps(ui, p);
}

static void draw(struct ui *ui, struct pane *p, int y, int x, int h, int w)
{
	struct watch *wt = ui_watch(ui);
	const struct sample *s = &wt->last;
	char note[128] = "";
	if (wt->samples && !sample_readable(s, PART_MEMORY))
		snprintf(note, sizeof(note), "memory unreadable: %.100s", s->why[PART_MEMORY]);
	ui_draw_title(y, x, w, "Memory", note);

	const struct map_table *mt = wt->samples ? s->maps : NULL;
	if (mt) {
		char ago[32];
		snprintf(note, sizeof(note), "%zu mappings, read %s ago%s", mt->count,
			 format_duration(s->time - mt->scanned_at, ago, sizeof(ago)),
			 ui_target(ui)->map_base ? "; CHANGE since the mark or attach" : "");
	} else if (wt->samples && !sample_readable(s, PART_SMAPS)) {
		snprintf(note, sizeof(note), "unreadable: %.100s", s->why[PART_SMAPS]);
	} else {
		snprintf(note, sizeof(note), "first read of smaps pending");
	}
	ui_draw_split(p, y + 1, x, h - 1, w, "Mappings", note);
}

const struct pane_class pane_memory = {
	.name = "Memory",
	.keys = "Left/Right table",
	.init = init,
	.update = update,
	.draw = draw,
	.rows_are_series = true,
	.default_series = M_RSS_KB,
};
