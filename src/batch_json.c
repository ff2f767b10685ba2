#include "batch.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "metrics.h"
#include "plugins.h"
#include "sanitize.h"
#include "stacks.h"

/* Rates, percentages and deltas: three decimals; more would be noise. */
enum { DECIMALS = 3 };

static void kv_known(struct jsonw *w, const char *key, int64_t v)
{
	if (v != SAMPLE_UNREAD)
		jsonw_kv_int(w, key, v);
}

/* Deltas of counts and kB values are whole numbers: print them so. */
static void kv_whole(struct jsonw *w, const char *key, double v)
{
	jsonw_key(w, key);
	if (!isnan(v) && v == floor(v) && fabs(v) < 9e15)
		jsonw_int(w, (int64_t)v);
	else
		jsonw_double(w, v, DECIMALS);
}

static void write_memory(struct jsonw *w, const struct sample *s)
{
	const struct sample_memory *m = &s->mem;

	jsonw_key(w, "memory");
	jsonw_object_begin(w);
	kv_known(w, "rss_kb", m->rss_kb);
	kv_known(w, "pss_kb", m->pss_kb);
	kv_known(w, "anon_kb", m->anon_kb);
	kv_known(w, "file_kb", m->file_kb);
	kv_known(w, "shmem_kb", m->shmem_kb);
	kv_known(w, "heap_kb", m->heap_kb);
	kv_known(w, "swap_kb", m->swap_kb);
	kv_known(w, "vmdata_kb", m->vmdata_kb);
	kv_known(w, "vmsize_kb", m->vmsize_kb);
	kv_known(w, "mappings", m->mappings);
	jsonw_object_end(w);
}

static void write_threads(struct jsonw *w, const struct sample *s, bool brief)
{
	bool wchan = sample_readable(s, PART_WCHAN);

	jsonw_key(w, "threads");
	jsonw_object_begin(w);
	jsonw_kv_int(w, "count", (int64_t)s->threads.count);
	jsonw_kv_double(w, "cpu_pct", s->threads.cpu_pct, DECIMALS);
	if (brief) {
		jsonw_object_end(w);
		return;
	}
	jsonw_key(w, "list");
	jsonw_array_begin(w);
	for (size_t i = 0; i < s->threads.count; i++) {
		const struct sample_thread *t = &s->threads.list[i];
		char state[2] = { t->state, 0 };
		jsonw_object_begin(w);
		jsonw_kv_int(w, "tid", t->tid);
		jsonw_kv_string(w, "name", t->name);
		jsonw_kv_string(w, "state", state);
		jsonw_kv_double(w, "cpu_pct", t->cpu_pct, DECIMALS);
		if (wchan)
			jsonw_kv_string(w, "wchan", t->wchan);
		kv_known(w, "vol_ctxsw", t->vol_ctxsw);
		kv_known(w, "invol_ctxsw", t->invol_ctxsw);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void write_fds(struct jsonw *w, const struct sample *s, bool brief)
{
	jsonw_key(w, "fds");
	jsonw_object_begin(w);
	kv_known(w, "count", s->fd_count);
	if (s->fds) {
		const struct fd_table *t = s->fds;
		jsonw_kv_double(w, "scanned_at", t->scanned_at, DECIMALS);
		jsonw_key(w, "by_kind");
		jsonw_object_begin(w);
		for (int k = 0; k < FD_KIND_COUNT; k++)
			jsonw_kv_int(w, fd_kind_name((enum fd_kind)k), t->by_kind[k]);
		jsonw_object_end(w);
	}
	if (s->fds && !brief) {
		const struct fd_table *t = s->fds;
		jsonw_key(w, "list");
		jsonw_array_begin(w);
		for (size_t i = 0; i < t->count; i++) {
			const struct fd_entry *e = &t->list[i];
			jsonw_object_begin(w);
			jsonw_kv_int(w, "fd", e->fd);
			jsonw_kv_string(w, "kind", fd_kind_name(e->kind));
			jsonw_kv_string(w, "target", e->target);
			jsonw_object_end(w);
		}
		jsonw_array_end(w);
	}
	jsonw_object_end(w);
}

static void write_socket(struct jsonw *w, int fd, const struct sock_info *si)
{
	const char *st = tcp_state_name(si->state);

	jsonw_object_begin(w);
	jsonw_kv_int(w, "fd", fd);
	jsonw_kv_string(w, "proto", sock_proto_name(si->proto));
	jsonw_kv_string(w, "local", si->local);
	jsonw_kv_string(w, "remote", si->remote);
	if (st)
		jsonw_kv_string(w, "state", st);
	jsonw_kv_int(w, "rx_queue", si->rqueue);
	jsonw_kv_int(w, "tx_queue", si->wqueue);
	jsonw_kv_int(w, "inode", (int64_t)si->ino);
	jsonw_object_end(w);
}

static void write_sockets(struct jsonw *w, const struct sample *s, bool brief)
{
	const struct fd_table *t = s->fds;
	unsigned by_proto[PROTO_COUNT] = { 0 };

	jsonw_key(w, "sockets");
	jsonw_object_begin(w);
	jsonw_kv_int(w, "count", t->by_kind[FD_SOCKET]);
	if (!brief) {
		jsonw_key(w, "list");
		jsonw_array_begin(w);
	}
	for (size_t i = 0; i < t->count; i++) {
		const struct fd_entry *e = &t->list[i];
		if (e->kind != FD_SOCKET || e->sock < 0 || (size_t)e->sock >= t->nsockets)
			continue;
		by_proto[t->sockets[e->sock].proto]++;
		if (!brief)
			write_socket(w, e->fd, &t->sockets[e->sock]);
	}
	if (!brief)
		jsonw_array_end(w);
	jsonw_key(w, "by_proto");
	jsonw_object_begin(w);
	for (int p = 0; p < PROTO_COUNT; p++)
		jsonw_kv_int(w, sock_proto_name((enum sock_proto)p), by_proto[p]);
	jsonw_object_end(w);
	jsonw_key(w, "by_state");
	jsonw_object_begin(w);
	for (int st = 1; st < TCP_STATE_COUNT; st++)
		jsonw_kv_int(w, tcp_state_name(st), t->by_state[st]);
	jsonw_object_end(w);
	if (t->sock_note[0])
		jsonw_kv_string(w, "note", t->sock_note);
	jsonw_object_end(w);
}

static void write_maps(struct jsonw *w, const struct map_table *t)
{
	char range[64];

	jsonw_key(w, "maps");
	jsonw_array_begin(w);
	for (size_t i = 0; i < t->count; i++) {
		const struct map_entry *m = &t->list[i];
		snprintf(range, sizeof(range), "%llx-%llx", (unsigned long long)m->start,
			 (unsigned long long)m->end);
		jsonw_object_begin(w);
		jsonw_kv_string(w, "range", range);
		jsonw_kv_string(w, "perms", m->perms);
		jsonw_kv_string(w, "path", m->path);
		kv_known(w, "size_kb", m->size_kb);
		kv_known(w, "rss_kb", m->rss_kb);
		kv_known(w, "pss_kb", m->pss_kb);
		kv_known(w, "anon_kb", m->anon_kb);
		kv_known(w, "swap_kb", m->swap_kb);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static const struct {
	const char *rate, *delta;
	enum metric m;
} watched[] = {
	{ "rss_kb_per_min", "rss_kb", M_RSS_KB }, { "pss_kb_per_min", "pss_kb", M_PSS_KB },
	{ "anon_kb_per_min", "anon_kb", M_ANON_KB }, { "heap_kb_per_min", "heap_kb", M_HEAP_KB },
	{ "swap_kb_per_min", "swap_kb", M_SWAP_KB }, { "fds_per_min", "fds", M_FDS },
	{ "threads_per_min", "threads", M_THREADS }, { "sockets_per_min", "sockets", M_SOCKETS },
	{ "close_wait_per_min", "close_wait", M_TCP_STATE0 + 8 - 1 },
};

static void write_growth(struct jsonw *w, const struct history *h, double window_s)
{
	jsonw_key(w, "growth");
	jsonw_object_begin(w);
	jsonw_kv_double(w, "window_s", window_s, DECIMALS);
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		jsonw_kv_double(w, watched[i].rate,
				history_slope_per_min(h, watched[i].m, window_s), DECIMALS);
	jsonw_object_end(w);

	jsonw_key(w, "delta");
	jsonw_object_begin(w);
	jsonw_kv_string(w, "since", history_has_mark(h) ? "mark" : "attach");
	jsonw_kv_double(w, "seconds", history_delta_seconds(h), DECIMALS);
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		kv_whole(w, watched[i].delta, history_delta(h, watched[i].m));
	jsonw_object_end(w);
}

/* One "name": number pair of a keyed table; names come from the target
 * (a Go binary's own tables), so they are sanitized like any string. */
static void write_keyed_cell(struct jsonw *w, const struct plugin_cell *key, double v)
{
	char clean[256];
	if (!key->str)
		return;
	sanitize_bytes(key->str, strlen(key->str), clean, sizeof(clean), true);
	kv_whole(w, clean, v);
}

/* A table: an array of row objects, each with its change since the mark
 * (or attach) when the table counts something ("delta", and "new" for a
 * row that was not there).  A keyed table is one object from name to
 * number; its changes go under the plugin's "delta". */
static void write_plugin_table(struct jsonw *w, const struct plugin_result *res, size_t t,
			       const struct plugin_result *base)
{
	const struct pscope_table_desc *td = &res->desc->tables[t];
	const struct plugin_table *pt = &res->tables[t];
	double delta;
	bool is_new;

	jsonw_key(w, td->name);
	if (td->keyed) {
		jsonw_object_begin(w);
		for (size_t r = 0; r < pt->nrows; r++)
			write_keyed_cell(w, &pt->cells[r * 2], pt->cells[r * 2 + 1].num);
		jsonw_object_end(w);
		return;
	}
	jsonw_array_begin(w);
	for (size_t r = 0; r < pt->nrows; r++) {
		const struct plugin_cell *row = &pt->cells[r * td->ncolumns];
		jsonw_object_begin(w);
		for (size_t c = 0; c < td->ncolumns; c++) {
			if (td->columns[c].type == PSCOPE_COL_NUMBER) {
				kv_whole(w, td->columns[c].name, row[c].num);
			} else {
				jsonw_key(w, td->columns[c].name);
				if (row[c].str)
					jsonw_string(w, row[c].str);
				else
					jsonw_null(w);
			}
		}
		if (plugin_row_delta(base, res, t, r, &delta, &is_new)) {
			kv_whole(w, "delta", delta);
			if (is_new)
				jsonw_kv_bool(w, "new", true);
		}
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

/* The changes of a keyed table's rows, as an object like the table. */
static void write_keyed_deltas(struct jsonw *w, const struct plugin_result *res, size_t t,
			       const struct plugin_result *base)
{
	const struct plugin_table *pt = &res->tables[t];
	double delta;
	bool is_new;

	jsonw_key(w, res->desc->tables[t].name);
	jsonw_object_begin(w);
	for (size_t r = 0; r < pt->nrows; r++)
		if (plugin_row_delta(base, res, t, r, &delta, &is_new))
			write_keyed_cell(w, &pt->cells[r * 2], delta);
	jsonw_object_end(w);
}

/* "<plugin>": its metrics (null when unknown), tables, the growth and
 * delta of each metric from the history, and the reasons it gave. */
static void write_plugin(struct jsonw *w, const struct sample *s, const struct plugin_result *r,
			 const struct history *h, const struct batch_options *o)
{
	const struct pscope_plugin *d = r->desc;
	char key[80];

	jsonw_key(w, d->name);
	jsonw_object_begin(w);
	for (size_t m = 0; m < d->nmetrics; m++)
		kv_whole(w, d->metrics[m].name, r->values[m]);
	const struct plugin_result *base = plugin_results_find(s->plugins_base, d);
	for (size_t t = 0; t < d->ntables && !o->brief; t++)
		write_plugin_table(w, r, t, base);
	if (d->nmetrics && r->series0 + d->nmetrics <= h->nseries) {
		jsonw_key(w, "growth");
		jsonw_object_begin(w);
		for (size_t m = 0; m < d->nmetrics; m++) {
			snprintf(key, sizeof(key), "%s_per_min", d->metrics[m].name);
			jsonw_kv_double(w, key, history_slope_per_min(h, r->series0 + m, o->window_s),
					DECIMALS);
		}
		jsonw_object_end(w);
		jsonw_key(w, "delta");
		jsonw_object_begin(w);
		jsonw_kv_string(w, "since", history_has_mark(h) ? "mark" : "attach");
		for (size_t m = 0; m < d->nmetrics; m++)
			kv_whole(w, d->metrics[m].name, history_delta(h, r->series0 + m));
		for (size_t t = 0; t < d->ntables && !o->brief && base; t++)
			if (d->tables[t].keyed)
				write_keyed_deltas(w, r, t, base);
		jsonw_object_end(w);
	}
	bool any_why = false;
	for (size_t m = 0; m < d->nmetrics; m++)
		any_why |= r->metric_why[m] != NULL;
	if (any_why) {
		jsonw_key(w, "metric_why");
		jsonw_object_begin(w);
		for (size_t m = 0; m < d->nmetrics; m++)
			if (r->metric_why[m])
				jsonw_kv_string(w, d->metrics[m].name, r->metric_why[m]);
		jsonw_object_end(w);
	}
	if (r->why[0])
		jsonw_kv_string(w, "why", r->why);
	if (r->log[0])
		jsonw_kv_string(w, "log", r->log);
	jsonw_object_end(w);
}

/* "plugins" holds the plugins that apply to this process;
 * "plugins_declined" says why the others do not. */
static void write_plugins(struct jsonw *w, const struct sample *s, const struct history *h,
			  const struct batch_options *o)
{
	const struct plugin_results *rs = s->plugins;
	bool declined = false;

	jsonw_key(w, "plugins");
	jsonw_object_begin(w);
	for (size_t i = 0; i < rs->count; i++) {
		if (rs->list[i]->active)
			write_plugin(w, s, rs->list[i], h, o);
		else
			declined = true;
	}
	jsonw_object_end(w);
	if (!declined)
		return;
	jsonw_key(w, "plugins_declined");
	jsonw_object_begin(w);
	for (size_t i = 0; i < rs->count; i++)
		if (!rs->list[i]->active)
			jsonw_kv_string(w, rs->list[i]->desc->name, rs->list[i]->why);
	jsonw_object_end(w);
}

static void kv_string_or_null(struct jsonw *w, const char *key, const char *raw)
{
	jsonw_key(w, key);
	if (raw)
		jsonw_string(w, raw);
	else
		jsonw_null(w);
}

static void write_frames(struct jsonw *w, const struct stack_thread *t)
{
	jsonw_key(w, "frames");
	jsonw_array_begin(w);
	for (size_t i = 0; i < t->nframes; i++) {
		const struct stack_frame *f = &t->frames[i];
		char pc[24];
		snprintf(pc, sizeof(pc), "0x%llx", (unsigned long long)f->pc);
		jsonw_object_begin(w);
		jsonw_kv_string(w, "pc", pc);
		kv_string_or_null(w, "func", f->func);
		jsonw_kv_int(w, "offset", (int64_t)f->offset);
		kv_string_or_null(w, "module", f->module);
		kv_string_or_null(w, "file", f->file);
		jsonw_kv_int(w, "line", f->line);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

/* Native stacks: every thread (unless brief), then the groups of threads
 * with identical stacks, largest first, each with how many more threads
 * share its functions than at attach (or the mark): the thread-leak sign. */
static void write_stacks(struct jsonw *w, const struct sample *s, bool brief)
{
	const struct stack_snapshot *st = s->stacks;
	struct stack_group_diff *diff = NULL;

	if (s->stacks_base) {
		diff = calloc(st->ngroups + 1, sizeof(*diff));
		if (diff)
			stacks_diff(s->stacks_base, st, diff);
	}
	jsonw_key(w, "stacks");
	jsonw_object_begin(w);
	jsonw_kv_double(w, "captured_at", st->captured_at, DECIMALS);
	jsonw_kv_double(w, "wall_ms", st->wall_ms, DECIMALS);
	jsonw_kv_bool(w, "consistent", st->consistent);
	jsonw_key(w, "stop_us");
	jsonw_object_begin(w);
	jsonw_kv_double(w, "median", st->stop_us_median, 1);
	jsonw_kv_double(w, "max", st->stop_us_max, 1);
	jsonw_object_end(w);
	jsonw_kv_int(w, "exited", st->exited);
	jsonw_kv_int(w, "not_stopped", st->not_stopped);
	jsonw_kv_int(w, "failed", st->failed);
	jsonw_kv_int(w, "signals_redelivered", st->signals_redelivered);
	if (diff)
		jsonw_kv_string(w, "since", s->stacks_since_mark ? "mark" : "attach");
	if (!brief) {
		jsonw_key(w, "threads");
		jsonw_array_begin(w);
		for (size_t i = 0; i < st->nthreads; i++) {
			const struct stack_thread *t = &st->threads[i];
			jsonw_object_begin(w);
			jsonw_kv_int(w, "tid", t->tid);
			jsonw_kv_string(w, "name", t->name);
			jsonw_kv_double(w, "stop_us", (double)t->stop_ns / 1e3, 1);
			if (t->err)
				jsonw_kv_string(w, "error", t->why);
			else
				write_frames(w, t);
			jsonw_object_end(w);
		}
		jsonw_array_end(w);
	}
	jsonw_key(w, "groups");
	jsonw_array_begin(w);
	for (size_t i = 0; i < st->ngroups; i++) {
		const struct stack_group *g = &st->groups[i];
		jsonw_object_begin(w);
		jsonw_kv_int(w, "count", (int64_t)g->count);
		if (diff) {
			jsonw_kv_int(w, "delta", diff[i].delta);
			jsonw_kv_bool(w, "new", diff[i].is_new);
		}
		jsonw_key(w, "tids");
		jsonw_array_begin(w);
		for (size_t k = 0; k < g->count; k++)
			jsonw_int(w, g->tids[k]);
		jsonw_array_end(w);
		write_frames(w, &st->threads[g->rep]);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
	free(diff);
}

static void write_unreadable(struct jsonw *w, const struct sample *s)
{
	bool any = false;

	for (int p = 0; p < PART_COUNT; p++)
		any |= !sample_readable(s, (enum sample_part)p);
	if (!any)
		return;
	jsonw_key(w, "unreadable");
	jsonw_array_begin(w);
	for (int p = 0; p < PART_COUNT; p++)
		if (!sample_readable(s, (enum sample_part)p))
			jsonw_string(w, sample_part_name((enum sample_part)p));
	jsonw_array_end(w);
	jsonw_key(w, "unreadable_why");
	jsonw_object_begin(w);
	for (int p = 0; p < PART_COUNT; p++)
		if (!sample_readable(s, (enum sample_part)p))
			jsonw_kv_string(w, sample_part_name((enum sample_part)p), s->why[p]);
	jsonw_object_end(w);
}

int batch_write_json(FILE *f, const struct sample *s, const struct history *h,
		     const struct batch_options *o)
{
	const struct sample_identity *id = &s->id;
	struct jsonw w;

	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_kv_double(&w, "time", s->time, DECIMALS);
	jsonw_kv_int(&w, "pid", id->pid);
	jsonw_kv_string(&w, "comm", id->comm);
	jsonw_kv_bool(&w, "exited", s->exited);
	if (!s->exited) {
		char state[2] = { id->state, 0 };
		if (id->cmdline)
			jsonw_kv_string(&w, "cmdline", id->cmdline);
		if (id->exe)
			jsonw_kv_string(&w, "exe", id->exe);
		jsonw_kv_int(&w, "uid", id->uid);
		jsonw_kv_int(&w, "ppid", id->ppid);
		jsonw_kv_string(&w, "state", state);
		jsonw_kv_double(&w, "start_time", id->start_time, 2);
		jsonw_kv_bool(&w, "kernel_thread", id->kernel_thread);
	}
	if (!s->exited && !o->stacks_only) {
		write_memory(&w, s);
		if (sample_readable(s, PART_THREADS))
			write_threads(&w, s, o->brief);
		write_fds(&w, s, o->brief);
		if (s->fds && sample_readable(s, PART_SOCKETS))
			write_sockets(&w, s, o->brief);
		if (o->maps && s->maps && !o->brief)
			write_maps(&w, s->maps);
		write_growth(&w, h, o->window_s);
		if (s->plugins)
			write_plugins(&w, s, h, o);
	}
	if (!s->exited) {
		if (s->stacks)
			write_stacks(&w, s, o->brief);
		jsonw_kv_double(&w, "pscope_cpu_ms", s->cost_ms, DECIMALS);
		write_unreadable(&w, s);
	}
	jsonw_object_end(&w);

	bool ok = fwrite(w.buf, 1, w.len, f) == w.len && fputc('\n', f) != EOF && fflush(f) != EOF;
	jsonw_free(&w);
	return ok ? 0 : (errno ? -errno : -EIO);
}
