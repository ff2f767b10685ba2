/* pane_resources.c — every open fd, classified, and the counts over time.
 *
 * Upper table: the count of each fd kind and of TCP sockets per state,
 * with change since attach (or the mark), rate and sparkline: a file
 * opened per request or CLOSE_WAIT sockets piling up show as a steadily
 * climbing row.  Lower table: the fd table itself; rows new since the mark
 * are marked '+' and highlighted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "metrics.h"
#include "ui_state.h"
#include "util.h"

static const struct table_col sum_cols[] = {
	{ "KIND", 17, false, false }, { "NOW", 8, true, true }, { "CHANGE", 8, true, true },
	{ "RATE", 9, true, true }, { "HISTORY", 0, false, false },
};

static const struct table_col fd_cols[] = {
	{ "", 2, false, false }, { "FD", 7, true, true }, { "KIND", 10, false, false },
	{ "PROTO", 8, false, false }, { "STATE", 12, false, false }, { "TARGET", 0, false, false },
};

struct resources_pane {
	const struct fd_table *shown, *base;
	size_t fresh;                 /* rows new since the baseline */
};

static void init(struct pane *p)
{
	table_init(&p->tables[0], sum_cols, sizeof(sum_cols) / sizeof(sum_cols[0]), -1, false);
	/* New since the mark first: that is what a leak hunt looks for. */
	table_init(&p->tables[1], fd_cols, sizeof(fd_cols) / sizeof(fd_cols[0]), 0, true);
	p->ntables = 2;
	p->focus = 1;
	p->priv = xcalloc(1, sizeof(struct resources_pane));
}

/* Kinds and states the target has ever had (ui_target.seen_nonzero): a row
 * appears when the first one opens and stays, so a count falling to 0
 * stays visible. */
static bool ever_nonzero(struct ui *ui, long m)
{
	return ui_target(ui)->seen_nonzero & (UINT64_C(1) << m);
}

static void update_summary(struct ui *ui, struct table *t)
{
	char label[48];
	table_begin(t);
	ui_series_row(ui, t, M_FDS, "all fds");
	for (int k = 0; k < FD_KIND_COUNT; k++)
		if (ever_nonzero(ui, M_FD_KIND0 + k))
			ui_series_row(ui, t, M_FD_KIND0 + k, fd_kind_name((enum fd_kind)k));
	ui_series_row(ui, t, M_SOCKETS, "sockets");
	for (int st = 1; st < TCP_STATE_COUNT; st++) {
		if (!ever_nonzero(ui, M_TCP_STATE0 + st - 1))
			continue;
		snprintf(label, sizeof(label), "tcp %s", tcp_state_name(st));
		ui_series_row(ui, t, M_TCP_STATE0 + st - 1, label);
	}
	table_end(t);
}

/* Was this fd open, as the same object, in the baseline?  Both tables are
 * sorted by fd. */
static bool in_base(const struct fd_table *base, const struct fd_entry *e)
{
	size_t lo = 0, hi = base->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (base->list[mid].fd < e->fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= base->count || base->list[lo].fd != e->fd)
		return false;
	const struct fd_entry *b = &base->list[lo];
	return b->kind == e->kind && b->ino == e->ino && b->dev == e->dev;
}

static void update_fds(struct ui *ui, struct pane *p)
{
	struct resources_pane *rp = p->priv;
	struct table *t = &p->tables[1];
	const struct fd_table *ft = ui_watch(ui)->samples ? ui_watch(ui)->last.fds : NULL;
	const struct fd_table *base = ui_target(ui)->fd_base;
	/* The fd table is shared between samples until it is rescanned:
	 * rebuild rows only when it or the baseline changed. */
	if (ft == rp->shown && base == rp->base && t->nrows)
		return;
	rp->shown = ft;
	rp->base = base;
	rp->fresh = 0;
	char b[320];
	table_begin(t);
	for (size_t i = 0; ft && i < ft->count; i++) {
		const struct fd_entry *e = &ft->list[i];
		bool is_new = base && base != ft && !in_base(base, e);
		rp->fresh += is_new;
		table_add(t, (uint64_t)e->fd, is_new ? ROLE_NEW : ROLE_NORMAL);
		table_cell(t, is_new ? "+" : "", is_new);
		snprintf(b, sizeof(b), "%d", e->fd);
		table_cell(t, b, e->fd);
		table_cell(t, fd_kind_name(e->kind), NAN);
		const struct sock_info *si = e->sock >= 0 ? &ft->sockets[e->sock] : NULL;
		if (si && si->proto != PROTO_OTHER) {
			table_cell(t, sock_proto_name(si->proto), NAN);
			const char *st = si->proto == PROTO_TCP || si->proto == PROTO_TCP6
						 ? tcp_state_name(si->state) : NULL;
			table_cell(t, st ? st : "", NAN);
			if (si->remote[0])
				snprintf(b, sizeof(b), "%s -> %s", si->local, si->remote);
			else
				snprintf(b, sizeof(b), "%s", si->local[0] ? si->local : e->target);
			table_cell_raw(t, b, NAN);
		} else {
			table_cell(t, "", NAN);
			table_cell(t, "", NAN);
			table_cell_raw(t, e->target ? e->target : "", NAN);
		}
	}
	table_end(t);
}

static void update(struct ui *ui, struct pane *p)
{
	update_summary(ui, &p->tables[0]);
	update_fds(ui, p);
}

static void draw(struct ui *ui, struct pane *p, int y, int x, int h, int w)
{
	struct resources_pane *rp = p->priv;
	struct watch *wt = ui_watch(ui);
	const struct sample *s = &wt->last;
	char note[200] = "";
	if (wt->samples && !sample_readable(s, PART_FDS))
		snprintf(note, sizeof(note), "fds unreadable: %.150s", s->why[PART_FDS]);
	else if (wt->samples && s->fds && s->fds->sock_note[0])
		snprintf(note, sizeof(note), "%.150s", s->fds->sock_note);
	ui_draw_title(y, x, w, "Resources", note);
	const struct fd_table *ft = wt->samples ? s->fds : NULL;
	note[0] = 0;
	if (ft)
		snprintf(note, sizeof(note), "%zu open, %zu new since %s", ft->count, rp->fresh,
			 history_has_mark(&wt->hist) ? "the mark" : "attach");
	ui_draw_split(p, y + 1, x, h - 1, w, "Open files", note);
}

const struct pane_class pane_resources = {
	.name = "Resources",
	.keys = "Left/Right table",
	.init = init,
	.update = update,
	.draw = draw,
	.rows_are_series = true,
	.default_series = M_FDS,
};
