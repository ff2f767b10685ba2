/* pane_threads.c — one row per thread: what it is doing and what it costs.
 * Below the table, once stacks have been captured, the selected thread's
 * stack. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "metrics.h"
#include "stack_view.h"
#include "ui_state.h"

static const struct table_col cols[] = {
	{ "TID", 8, true, true }, { "NAME", 17, false, false }, { "S", 3, false, false },
	{ "CPU%", 7, true, true }, { "VOL-CS", 10, true, true }, { "INVOL-CS", 10, true, true },
	{ "WCHAN", 0, false, false },
};

static void init(struct pane *p)
{
	table_init(&p->tables[0], cols, sizeof(cols) / sizeof(cols[0]), 3, true);
	p->ntables = 1;
}

static void update(struct ui *ui, struct pane *p)
{
	struct table *t = &p->tables[0];
	const struct sample *s = &ui_watch(ui)->last;
	char b[32];
	table_begin(t);
	for (size_t i = 0; ui_watch(ui)->samples && i < s->threads.count; i++) {
		const struct sample_thread *th = &s->threads.list[i];
		table_add(t, (uint64_t)th->tid, th->state == 'D' ? ROLE_WARN : ROLE_NORMAL);
		snprintf(b, sizeof(b), "%d", (int)th->tid);
		table_cell(t, b, th->tid);
		table_cell_raw(t, th->name, NAN);
		snprintf(b, sizeof(b), "%c", th->state ? th->state : '?');
		table_cell(t, b, NAN);
		table_cell(t, format_pct(th->cpu_pct, b, sizeof(b)), th->cpu_pct);
		double v = th->vol_ctxsw < 0 ? NAN : (double)th->vol_ctxsw;
		table_cell(t, format_count(v, b, sizeof(b)), v);
		double iv = th->invol_ctxsw < 0 ? NAN : (double)th->invol_ctxsw;
		table_cell(t, format_count(iv, b, sizeof(b)), iv);
		const char *wchan = th->wchan;
		if (!sample_readable(s, PART_WCHAN))
			wchan = "n/a";
		table_cell_raw(t, wchan, NAN);
	}
	table_end(t);
}

static void draw(struct ui *ui, struct pane *p, int y, int x, int h, int w)
{
	const struct sample *s = &ui_watch(ui)->last;
	char note[96] = "";
	size_t running = 0;
	for (size_t i = 0; i < s->threads.count; i++)
		running += s->threads.list[i].state == 'R';
	if (ui_watch(ui)->samples)
		snprintf(note, sizeof(note), "%zu threads, %zu running", s->threads.count, running);
	ui_draw_title(y, x, w, "Threads", note);
	if (ui_watch(ui)->samples && !sample_readable(s, PART_THREADS)) {
		term_blank(y + 1, x, w, ROLE_NORMAL);
		term_text(y + 1, x, w, s->why[PART_THREADS], ROLE_DIM);
		y++;
		h--;
	}
	uint64_t tid;
	int stack_h = 0;
	if (table_selected_key(&p->tables[0], &tid) && h > 14)
		stack_h = stack_view_height(ui, (pid_t)tid, h / 3);
	table_draw(&p->tables[0], y + 1, x, h - 1 - stack_h, w, true);
	if (stack_h)
		stack_view_draw_thread(ui, (pid_t)tid, y + h - stack_h, x, stack_h, w);
}

const struct pane_class pane_threads = {
	.name = "Threads",
	.keys = "r stacks",
	.init = init,
	.update = update,
	.draw = draw,
	.default_series = M_THREADS,
};
