/* pane_stacks.c — threads grouped by identical native stacks, like a
 * merged pstack, and how each group changed since the mark: a group that
 * keeps gaining threads parked in the same function is a thread leak.
 *
 * Capturing stops threads, so it happens only when asked (r), or every
 * stack_interval seconds once S turns it on. */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "metrics.h"
#include "stack_view.h"
#include "ui_state.h"
#include "util.h"

static const struct table_col cols[] = {
	{ "THREADS", 9, true, true }, { "CHANGE", 8, true, true }, { "NAMES", 18, false, false },
	{ "WHERE", 0, false, false },
};

struct stacks_pane {
	struct stack_snapshot *mark;   /* the capture current at the mark */
	const struct stack_snapshot *shown;
	bool expanded;
};

static void init(struct pane *p)
{
	table_init(&p->tables[0], cols, sizeof(cols) / sizeof(cols[0]), 0, true);
	p->ntables = 1;
	p->priv = xcalloc(1, sizeof(struct stacks_pane));
}

static void fini(struct pane *p)
{
	struct stacks_pane *sp = p->priv;
	stack_snapshot_unref(sp->mark);
}

/* The innermost frame that names a function outside the C library's
 * waiting primitives says best where a group is; fall back to frame 0. */
static const struct stack_frame *telling_frame(const struct stack_thread *th)
{
	for (size_t i = 0; i < th->nframes; i++) {
		const char *m = th->frames[i].module;
		if (th->frames[i].func && !(m && (strstr(m, "/libc.so") || strstr(m, "/libc-") ||
						  strstr(m, "vdso"))))
			return &th->frames[i];
	}
	return th->nframes ? &th->frames[0] : NULL;
}

static void update(struct ui *ui, struct pane *p)
{
	struct stacks_pane *sp = p->priv;
	const struct stack_snapshot *s = stack_view_snapshot(ui);
	struct table *t = &p->tables[0];
	sp->shown = s;
	table_begin(t);
	if (!s) {
		table_end(t);
		return;
	}
	struct stack_group_diff *diff = NULL;
	if (sp->mark && sp->mark != s) {
		diff = xcalloc(s->ngroups ? s->ngroups : 1, sizeof(*diff));
		stacks_diff(sp->mark, s, diff);
	}
	char b[512];
	for (size_t g = 0; g < s->ngroups; g++) {
		const struct stack_group *grp = &s->groups[g];
		const struct stack_thread *rep = &s->threads[grp->rep];
		enum role r = diff && (diff[g].is_new || diff[g].delta > 0) ? ROLE_NEW : ROLE_NORMAL;
		table_add(t, grp->hash, r);
		snprintf(b, sizeof(b), "%zu", grp->count);
		table_cell(t, b, (double)grp->count);
		if (diff) {
			snprintf(b, sizeof(b), diff[g].is_new ? "new" : "%+ld", diff[g].delta);
			table_cell(t, diff[g].delta == 0 && !diff[g].is_new ? "" : b, (double)diff[g].delta);
		} else {
			table_cell(t, "", NAN);
		}
		table_cell_raw(t, rep->name, NAN);
		const struct stack_frame *f = telling_frame(rep);
		if (f)
			stack_view_frame_text(f, b, sizeof(b));
		else
			snprintf(b, sizeof(b), "%s", rep->err ? rep->why : "(no frames)");
		table_cell_raw(t, b, NAN);
	}
	free(diff);
	table_end(t);
}

static void draw_intro(struct ui *ui, int y, int x, int h, int w)
{
	const char *lines[] = {
		"No stacks captured yet.",
		"",
		"r captures the native stack of every thread (ptrace + libunwind): each",
		"thread is stopped on its own for tens of microseconds, then resumed;",
		"names are looked up after it runs again.  Threads with the same stack",
		"are grouped; the CHANGE column counts threads gained since the mark (m).",
		"S turns periodic capture on or off (stack_interval in the config).",
	};
	const char *err = ui->sp.stacks ? ui->sp.stacks[ui->cur].err : "";
	for (int i = 0; i < h; i++) {
		term_blank(y + i, x, w, ROLE_NORMAL);
		if (i == 0 && ui->sp.no_ptrace)
			term_put(y, x + 1, w - 1, "Stacks are off (--no-ptrace): pscope never stops the target.",
				 ROLE_DIM);
		else if (i == 0 && err[0])
			term_text(y, x + 1, w - 1, err, ROLE_WARN);
		else if (!ui->sp.no_ptrace && (size_t)i < sizeof(lines) / sizeof(lines[0]) && !(i == 0 && err[0]))
			term_put(y + i, x + 1, w - 1, lines[i], ROLE_NORMAL);
	}
}

static void draw(struct ui *ui, struct pane *p, int y, int x, int h, int w)
{
	struct stacks_pane *sp = p->priv;
	const struct stack_snapshot *s = stack_view_snapshot(ui);
	if (sp->shown != s)
		update(ui, p);
	char note[200] = "";
	if (s) {
		char ago[32];
		format_duration(util_now_real() - s->captured_at, ago, sizeof(ago));
		snprintf(note, sizeof(note), "%zu threads in %zu groups, %s ago, stopped %.0f/%.0f us med/max%s%s",
			 s->nthreads, s->ngroups, ago, s->stop_us_median, s->stop_us_max,
			 s->consistent ? " (all at once)" : "", ui->sp.stack_interval > 0 ? ", periodic" : "");
	}
	ui_draw_title(y, x, w, "Stacks", note);
	if (!s) {
		draw_intro(ui, y + 1, x, h - 1, w);
		return;
	}
	const char *err = ui->sp.stacks[ui->cur].err;
	if (err[0]) {
		term_blank(y + 1, x, w, ROLE_NORMAL);
		term_text(y + 1, x, w, err, ROLE_WARN);
		y++;
		h--;
	}
	uint64_t key;
	int frames_h = 0;
	const struct stack_thread *rep = NULL;
	if (table_selected_key(&p->tables[0], &key)) {
		for (size_t g = 0; g < s->ngroups; g++)
			if (s->groups[g].hash == key)
				rep = &s->threads[s->groups[g].rep];
		if (rep)
			frames_h = sp->expanded ? (h - 1) * 2 / 3 : (h - 1) / 3;
	}
	table_draw(&p->tables[0], y + 1, x, h - 1 - frames_h, w, true);
	if (rep && frames_h > 1) {
		char title[160];
		snprintf(title, sizeof(title), "Frames of the selected group (thread %d%s)", (int)rep->tid,
			 sp->expanded ? "; Enter: fold" : "; Enter: expand");
		stack_view_draw_frames(rep, title, y + h - frames_h, x, frames_h, w);
	}
}

static bool key(struct ui *ui, struct pane *p, int k)
{
	struct stacks_pane *sp = p->priv;
	(void)ui;
	if (k != '\n' && k != '\r' && k != KEY_ENTER)
		return false;
	sp->expanded = !sp->expanded;
	return true;
}

/* The mark: keep the capture current now, to diff later captures with. */
void pane_stacks_mark(struct ui *ui, bool on)
{
	struct stacks_pane *sp = ui->panes[PANE_STACKS].priv;
	stack_snapshot_unref(sp->mark);
	sp->mark = NULL;
	const struct stack_snapshot *s = stack_view_snapshot(ui);
	if (on && s)
		sp->mark = stack_snapshot_ref((struct stack_snapshot *)s);
	sp->shown = NULL;
}

const struct pane_class pane_stacks = {
	.name = "Stacks",
	.keys = "r capture  S periodic  Enter expand",
	.init = init,
	.free = fini,
	.update = update,
	.draw = draw,
	.key = key,
	.default_series = M_THREADS,
};
