/* stack_view.c — see stack_view.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stack_view.h"

const struct stack_snapshot *stack_view_snapshot(struct ui *ui)
{
	return ui->sp.stacks ? ui->sp.stacks[ui->cur].snap : NULL;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	return slash ? slash + 1 : path;
}

void stack_view_frame_text(const struct stack_frame *f, char *buf, size_t size)
{
	int n;
	if (f->func)
		n = snprintf(buf, size, "%s+0x%" PRIx64, f->func, f->offset);
	else
		n = snprintf(buf, size, "0x%" PRIx64, f->pc);
	if (n < 0 || (size_t)n >= size)
		return;
	if (f->file && f->line > 0)
		n += snprintf(buf + n, size - (size_t)n, "  %s:%d", base_name(f->file), f->line);
	if ((size_t)n < size && f->module)
		snprintf(buf + n, size - (size_t)n, "  (%s)", base_name(f->module));
}

static const struct stack_thread *find_thread(const struct stack_snapshot *s, pid_t tid)
{
	for (size_t i = 0; s && i < s->nthreads; i++)
		if (s->threads[i].tid == tid)
			return &s->threads[i];
	return NULL;
}

int stack_view_height(struct ui *ui, pid_t tid, int max)
{
	const struct stack_thread *th = find_thread(stack_view_snapshot(ui), tid);
	int want = th ? (int)th->nframes + 1 : 2;
	if (th && th->err)
		want = 2;
	return want < max ? want : max;
}

void stack_view_draw_frames(const struct stack_thread *th, const char *title, int y, int x,
			    int h, int w)
{
	char line[1024];
	ui_draw_title(y, x, w, title, NULL);
	for (int i = 0; i < h - 1; i++) {
		term_blank(y + 1 + i, x, w, ROLE_NORMAL);
		if (th->err && i == 0) {
			term_text(y + 1, x + 2, w - 2, th->why, ROLE_DIM);
			continue;
		}
		if ((size_t)i >= th->nframes)
			continue;
		if (i == h - 2 && th->nframes > (size_t)(h - 1)) {
			snprintf(line, sizeof(line), "... %zu more frames", th->nframes - (size_t)i);
			term_put(y + 1 + i, x + 2, w - 2, line, ROLE_DIM);
			continue;
		}
		snprintf(line, sizeof(line), "#%-3d", i);
		int cx = term_put(y + 1 + i, x + 1, w - 1, line, ROLE_DIM);
		stack_view_frame_text(&th->frames[i], line, sizeof(line));
		term_text(y + 1 + i, x + 1 + cx, w - 1 - cx, line, ROLE_NORMAL);
	}
}

void stack_view_draw_thread(struct ui *ui, pid_t tid, int y, int x, int h, int w)
{
	const struct stack_snapshot *s = stack_view_snapshot(ui);
	const struct stack_thread *th = find_thread(s, tid);
	char title[128];
	if (!th) {
		ui_draw_title(y, x, w, s ? "Stack: this thread was not in the last capture"
					     : "Stack: not captured yet", "r: capture now");
		for (int i = 1; i < h; i++)
			term_blank(y + i, x, w, ROLE_NORMAL);
		return;
	}
	snprintf(title, sizeof(title), "Stack of thread %d", (int)tid);
	stack_view_draw_frames(th, title, y, x, h, w);
}
