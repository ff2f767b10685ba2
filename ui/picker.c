/* picker.c — see picker.h. */
#include <curses.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "format.h"
#include "layout.h"
#include "picker.h"
#include "proc2.h"
#include "proclist.h"
#include "table.h"
#include "term.h"
#include "util.h"

static const struct table_col cols[] = {
	{ "", 2, false, false }, { "PID", 8, true, true }, { "USER", 10, false, false },
	{ "RSS", 8, true, true }, { "CHANGE", 8, true, true }, { "THR", 6, true, true },
	{ "FDS", 7, true, true }, { "COMMAND", 0, false, false },
};

/* RSS at the picker's start, per PID, to show what grows while you look. */
struct first_rss {
	pid_t pid;
	int64_t rss_kb;
};

struct picker {
	struct table t;
	struct proc_list procs;
	struct first_rss *first;
	size_t nfirst;
	pid_t *marked;
	size_t nmarked;
	bool filtering;
	char filter[64];
	char status[300];
};

static int cmp_first(const void *a, const void *b)
{
	const struct first_rss *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static bool is_marked(const struct picker *pk, pid_t pid)
{
	for (size_t i = 0; i < pk->nmarked; i++)
		if (pk->marked[i] == pid)
			return true;
	return false;
}

static void toggle_mark(struct picker *pk, pid_t pid)
{
	for (size_t i = 0; i < pk->nmarked; i++) {
		if (pk->marked[i] == pid) {
			pk->marked[i] = pk->marked[--pk->nmarked];
			return;
		}
	}
	pk->marked = xrealloc(pk->marked, (pk->nmarked + 1) * sizeof(pid_t));
	pk->marked[pk->nmarked++] = pid;
}

static void reload(struct picker *pk)
{
	proclist_free(&pk->procs);
	int rc = proclist_read(&pk->procs);
	if (rc < 0)
		snprintf(pk->status, sizeof(pk->status), "cannot list processes: %s",
			 proc2_strerror(rc));
	if (!pk->first) {
		pk->nfirst = pk->procs.count;
		pk->first = xcalloc(pk->nfirst ? pk->nfirst : 1, sizeof(*pk->first));
		for (size_t i = 0; i < pk->nfirst; i++)
			pk->first[i] = (struct first_rss){ pk->procs.list[i].pid, pk->procs.list[i].rss_kb };
		qsort(pk->first, pk->nfirst, sizeof(*pk->first), cmp_first);
	}
	char b[32];
	table_begin(&pk->t);
	for (size_t i = 0; i < pk->procs.count; i++) {
		const struct proc_entry *e = &pk->procs.list[i];
		struct first_rss key = { .pid = e->pid };
		const struct first_rss *f = bsearch(&key, pk->first, pk->nfirst, sizeof(key), cmp_first);
		bool marked = is_marked(pk, e->pid);
		table_add(&pk->t, (uint64_t)e->pid, marked ? ROLE_NEW : ROLE_NORMAL);
		table_cell(&pk->t, marked ? "*" : "", marked);
		snprintf(b, sizeof(b), "%d", (int)e->pid);
		table_cell(&pk->t, b, e->pid);
		table_cell_raw(&pk->t, e->user, NAN);
		table_cell(&pk->t, format_kb((double)e->rss_kb, b, sizeof(b)), (double)e->rss_kb);
		double d = f ? (double)(e->rss_kb - f->rss_kb) : NAN;
		table_cell(&pk->t, f ? format_kb_delta(d, b, sizeof(b)) : "new", d);
		table_cell(&pk->t, format_count((double)e->threads, b, sizeof(b)), (double)e->threads);
		double fds = e->fds < 0 ? NAN : (double)e->fds;
		table_cell(&pk->t, format_count(fds, b, sizeof(b)), fds);
		table_cell_raw(&pk->t, e->cmd, NAN);
	}
	table_end(&pk->t);
}

static void draw(struct picker *pk)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	erase();
	if (w < LAYOUT_MIN_W || h < LAYOUT_MIN_H) {
		char msg[96];
		snprintf(msg, sizeof(msg), "terminal too small (%dx%d): pscope needs %dx%d", w, h,
			 LAYOUT_MIN_W, LAYOUT_MIN_H);
		term_put(0, 0, w, msg, ROLE_WARN);
		return;
	}
	char title[128];
	snprintf(title, sizeof(title), "pscope: pick processes to watch (%zu processes%s)",
		 pk->procs.count, pk->t.filter[0] ? ", filtered" : "");
	term_blank(0, 0, w, ROLE_TITLE);
	term_put(0, 0, w, title, ROLE_TITLE);
	table_draw(&pk->t, 1, 0, h - 2, w, true);
	term_blank(h - 1, 0, w, ROLE_BAR);
	if (pk->filtering) {
		char line[96];
		snprintf(line, sizeof(line), "Filter: %s_", pk->filter);
		term_text(h - 1, 0, w, line, ROLE_BAR);
	} else if (pk->status[0]) {
		term_text(h - 1, 0, w, pk->status, ROLE_WARN);
	} else {
		term_put(h - 1, 0, w, "Enter attach  Space mark  / filter  <> sort  q quit", ROLE_BAR);
	}
}

/* Attach to the marked processes, or to the selected one. */
static int attach(struct picker *pk, struct session *s)
{
	uint64_t sel;
	if (pk->nmarked == 0 && table_selected_key(&pk->t, &sel))
		toggle_mark(pk, (pid_t)sel);
	for (size_t i = 0; i < pk->nmarked; i++) {
		char err[256];
		if (session_add(s, pk->marked[i], err, sizeof(err)) < 0)
			snprintf(pk->status, sizeof(pk->status), "%s", err);
	}
	pk->nmarked = 0;
	return s->count ? 1 : 0;
}

/* 1: attached; 0: keep going; -1: quit. */
static int picker_key(struct picker *pk, struct session *s, int key)
{
	pk->status[0] = 0;
	if (pk->filtering) {
		size_t len = strlen(pk->filter);
		if (key == 27) {
			pk->filter[0] = 0;
			pk->filtering = false;
		} else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
			pk->filtering = false;
		} else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
			if (len)
				pk->filter[len - 1] = 0;
		} else if (key >= 32 && key < 127 && len + 1 < sizeof(pk->filter)) {
			pk->filter[len] = (char)key;
			pk->filter[len + 1] = 0;
		}
		table_set_filter(&pk->t, pk->filter);
		return 0;
	}
	uint64_t sel;
	switch (key) {
	case 'q':
	case KEY_F(10):
		return -1;
	case '/':
	case 'f':
	case KEY_F(4):
		pk->filtering = true;
		return 0;
	case ' ':
		if (table_selected_key(&pk->t, &sel)) {
			toggle_mark(pk, (pid_t)sel);
			reload(pk);
			table_key(&pk->t, KEY_DOWN);
		}
		return 0;
	case '\n':
	case '\r':
	case KEY_ENTER:
		return attach(pk, s);
	case 12:
		clearok(curscr, TRUE);
		return 0;
	}
	table_key(&pk->t, key);
	return 0;
}

int picker_run(struct session *s, const struct ui_options *o, int sigfd, char *err,
	       size_t errlen)
{
	struct picker pk = { 0 };
	table_init(&pk.t, cols, sizeof(cols) / sizeof(cols[0]), 3, true);
	reload(&pk);
	err[0] = 0;
	int result = 0;
	double next = util_now_mono() + o->delay;
	bool dirty = true;
	while (result == 0) {
		if (dirty) {
			draw(&pk);
			wnoutrefresh(stdscr);
			doupdate();
			dirty = false;
		}
		int ms = (int)((next - util_now_mono()) * 1000);
		struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
				       { .fd = sigfd, .events = POLLIN } };
		int rc = poll(p, sigfd >= 0 ? 2 : 1, ms > 0 ? ms : 0);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc > 0 && (p[1].revents & POLLIN)) {
			result = -1;
			break;
		}
		if (util_now_mono() >= next) {
			reload(&pk);
			next = util_now_mono() + o->delay;
			dirty = true;
		}
		int key;
		while (result == 0 && (key = getch()) != ERR) {
			result = picker_key(&pk, s, key);
			dirty = true;
		}
	}
	if (result < 0 && s->count == 0 && pk.status[0])
		snprintf(err, errlen, "%s", pk.status);
	table_free(&pk.t);
	proclist_free(&pk.procs);
	free(pk.first);
	free(pk.marked);
	return result > 0 ? 0 : -1;
}
