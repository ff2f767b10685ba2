#include "batch.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sanitize.h"

/* jansson keeps references: json_object_set_new steals them, so every
 * helper here returns a new reference that its caller hands over. */

static json_t *jstr(const char *raw)
{
	char *clean = sanitize_dup(raw ? raw : "", true);
	json_t *j = json_string(clean);
	free(clean);
	return j ? j : json_string("");
}

static json_t *jnum(double v)
{
	/* Three decimals: more would be noise (and 0.30000000000000004). */
	return isnan(v) || isinf(v) ? json_null() : json_real(round(v * 1000) / 1000);
}

/* Deltas of counts and kB values are whole numbers: print them so. */
static json_t *jwhole(double v)
{
	if (isnan(v) || isinf(v))
		return json_null();
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return jnum(v);
}

static void set_int(json_t *o, const char *key, int64_t v)
{
	if (v != SAMPLE_UNREAD)
		json_object_set_new(o, key, json_integer(v));
}

static json_t *memory_json(const struct sample *s)
{
	const struct sample_memory *m = &s->mem;
	json_t *o = json_object();

	set_int(o, "rss_kb", m->rss_kb);
	set_int(o, "pss_kb", m->pss_kb);
	set_int(o, "anon_kb", m->anon_kb);
	set_int(o, "file_kb", m->file_kb);
	set_int(o, "shmem_kb", m->shmem_kb);
	set_int(o, "heap_kb", m->heap_kb);
	set_int(o, "swap_kb", m->swap_kb);
	set_int(o, "vmdata_kb", m->vmdata_kb);
	set_int(o, "vmsize_kb", m->vmsize_kb);
	set_int(o, "mappings", m->mappings);
	return o;
}

static json_t *threads_json(const struct sample *s)
{
	json_t *o = json_object(), *list = json_array();
	bool wchan = sample_readable(s, PART_WCHAN);

	json_object_set_new(o, "count", json_integer((json_int_t)s->threads.count));
	json_object_set_new(o, "cpu_pct", jnum(s->threads.cpu_pct));
	for (size_t i = 0; i < s->threads.count; i++) {
		const struct sample_thread *t = &s->threads.list[i];
		json_t *j = json_object();
		char state[2] = { t->state, 0 };
		json_object_set_new(j, "tid", json_integer(t->tid));
		json_object_set_new(j, "name", jstr(t->name));
		json_object_set_new(j, "state", jstr(state));
		json_object_set_new(j, "cpu_pct", jnum(t->cpu_pct));
		if (wchan)
			json_object_set_new(j, "wchan", jstr(t->wchan));
		set_int(j, "vol_ctxsw", t->vol_ctxsw);
		set_int(j, "invol_ctxsw", t->invol_ctxsw);
		json_array_append_new(list, j);
	}
	json_object_set_new(o, "list", list);
	return o;
}

static json_t *fds_json(const struct sample *s)
{
	json_t *o = json_object();

	set_int(o, "count", s->fd_count);
	if (!s->fds)
		return o;
	const struct fd_table *t = s->fds;
	json_t *kinds = json_object(), *list = json_array();
	json_object_set_new(o, "scanned_at", json_real(t->scanned_at));
	for (int k = 0; k < FD_KIND_COUNT; k++)
		json_object_set_new(kinds, fd_kind_name((enum fd_kind)k), json_integer(t->by_kind[k]));
	json_object_set_new(o, "by_kind", kinds);
	for (size_t i = 0; i < t->count; i++) {
		const struct fd_entry *e = &t->list[i];
		json_t *j = json_object();
		json_object_set_new(j, "fd", json_integer(e->fd));
		json_object_set_new(j, "kind", json_string(fd_kind_name(e->kind)));
		json_object_set_new(j, "target", jstr(e->target));
		json_array_append_new(list, j);
	}
	json_object_set_new(o, "list", list);
	return o;
}

static json_t *sockets_json(const struct sample *s)
{
	const struct fd_table *t = s->fds;
	json_t *o = json_object(), *protos = json_object(), *states = json_object();
	json_t *list = json_array();
	unsigned by_proto[PROTO_COUNT] = { 0 };

	json_object_set_new(o, "count", json_integer(t->by_kind[FD_SOCKET]));
	for (size_t i = 0; i < t->count; i++) {
		const struct fd_entry *e = &t->list[i];
		if (e->kind != FD_SOCKET || e->sock < 0 || (size_t)e->sock >= t->nsockets)
			continue;
		const struct sock_info *si = &t->sockets[e->sock];
		by_proto[si->proto]++;
		json_t *j = json_object();
		json_object_set_new(j, "fd", json_integer(e->fd));
		json_object_set_new(j, "proto", json_string(sock_proto_name(si->proto)));
		json_object_set_new(j, "local", jstr(si->local));
		json_object_set_new(j, "remote", jstr(si->remote));
		const char *st = tcp_state_name(si->state);
		if (st)
			json_object_set_new(j, "state", json_string(st));
		json_object_set_new(j, "rx_queue", json_integer(si->rqueue));
		json_object_set_new(j, "tx_queue", json_integer(si->wqueue));
		json_object_set_new(j, "inode", json_integer((json_int_t)si->ino));
		json_array_append_new(list, j);
	}
	for (int p = 0; p < PROTO_COUNT; p++)
		json_object_set_new(protos, sock_proto_name((enum sock_proto)p), json_integer(by_proto[p]));
	for (int st = 1; st < TCP_STATE_COUNT; st++)
		json_object_set_new(states, tcp_state_name(st), json_integer(t->by_state[st]));
	json_object_set_new(o, "by_proto", protos);
	json_object_set_new(o, "by_state", states);
	json_object_set_new(o, "list", list);
	if (t->sock_note[0])
		json_object_set_new(o, "note", jstr(t->sock_note));
	return o;
}

static json_t *maps_json(const struct map_table *t)
{
	json_t *list = json_array();
	char range[64];

	for (size_t i = 0; i < t->count; i++) {
		const struct map_entry *m = &t->list[i];
		json_t *j = json_object();
		snprintf(range, sizeof(range), "%llx-%llx", (unsigned long long)m->start,
			 (unsigned long long)m->end);
		json_object_set_new(j, "range", json_string(range));
		json_object_set_new(j, "perms", jstr(m->perms));
		json_object_set_new(j, "path", jstr(m->path));
		set_int(j, "size_kb", m->size_kb);
		set_int(j, "rss_kb", m->rss_kb);
		set_int(j, "pss_kb", m->pss_kb);
		set_int(j, "anon_kb", m->anon_kb);
		set_int(j, "swap_kb", m->swap_kb);
		json_array_append_new(list, j);
	}
	return list;
}

static json_t *growth_json(const struct history *h, double window_s)
{
	static const struct { const char *key; enum metric m; } rates[] = {
		{ "rss_kb_per_min", M_RSS_KB }, { "pss_kb_per_min", M_PSS_KB },
		{ "anon_kb_per_min", M_ANON_KB }, { "heap_kb_per_min", M_HEAP_KB },
		{ "swap_kb_per_min", M_SWAP_KB }, { "fds_per_min", M_FDS },
		{ "threads_per_min", M_THREADS }, { "sockets_per_min", M_SOCKETS },
		{ "close_wait_per_min", M_TCP_STATE0 + 8 - 1 },
	};
	json_t *o = json_object();

	json_object_set_new(o, "window_s", json_real(window_s));
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		json_object_set_new(o, rates[i].key,
				    jnum(history_slope_per_min(h, rates[i].m, window_s)));
	return o;
}

static json_t *delta_json(const struct history *h)
{
	static const struct { const char *key; enum metric m; } deltas[] = {
		{ "rss_kb", M_RSS_KB }, { "pss_kb", M_PSS_KB }, { "anon_kb", M_ANON_KB },
		{ "heap_kb", M_HEAP_KB }, { "swap_kb", M_SWAP_KB }, { "fds", M_FDS },
		{ "threads", M_THREADS }, { "sockets", M_SOCKETS },
		{ "close_wait", M_TCP_STATE0 + 8 - 1 },
	};
	json_t *o = json_object();

	json_object_set_new(o, "since", json_string(history_has_mark(h) ? "mark" : "attach"));
	json_object_set_new(o, "seconds", jnum(history_delta_seconds(h)));
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++)
		json_object_set_new(o, deltas[i].key, jwhole(history_delta(h, deltas[i].m)));
	return o;
}

static void add_unreadable(json_t *root, const struct sample *s)
{
	json_t *names = json_array(), *why = json_object();

	for (int p = 0; p < PART_COUNT; p++) {
		if (sample_readable(s, (enum sample_part)p))
			continue;
		json_array_append_new(names, json_string(sample_part_name((enum sample_part)p)));
		json_object_set_new(why, sample_part_name((enum sample_part)p), jstr(s->why[p]));
	}
	if (json_array_size(names)) {
		json_object_set_new(root, "unreadable", names);
		json_object_set_new(root, "unreadable_why", why);
	} else {
		json_decref(names);
		json_decref(why);
	}
}

int batch_write_json(FILE *f, const struct sample *s, const struct history *h,
		     const struct batch_options *o)
{
	json_t *root = json_object();
	const struct sample_identity *id = &s->id;

	json_object_set_new(root, "time", json_real(s->time));
	json_object_set_new(root, "pid", json_integer(id->pid));
	json_object_set_new(root, "comm", jstr(id->comm));
	json_object_set_new(root, "exited", json_boolean(s->exited));
	if (!s->exited) {
		char state[2] = { id->state, 0 };
		if (id->cmdline)
			json_object_set_new(root, "cmdline", jstr(id->cmdline));
		if (id->exe)
			json_object_set_new(root, "exe", jstr(id->exe));
		json_object_set_new(root, "uid", json_integer(id->uid));
		json_object_set_new(root, "ppid", json_integer(id->ppid));
		json_object_set_new(root, "state", jstr(state));
		json_object_set_new(root, "start_time", json_real(id->start_time));
		json_object_set_new(root, "kernel_thread", json_boolean(id->kernel_thread));
		json_object_set_new(root, "memory", memory_json(s));
		if (sample_readable(s, PART_THREADS))
			json_object_set_new(root, "threads", threads_json(s));
		json_object_set_new(root, "fds", fds_json(s));
		if (s->fds && sample_readable(s, PART_SOCKETS))
			json_object_set_new(root, "sockets", sockets_json(s));
		if (o->maps && s->maps)
			json_object_set_new(root, "maps", maps_json(s->maps));
		json_object_set_new(root, "growth", growth_json(h, o->window_s));
		json_object_set_new(root, "delta", delta_json(h));
		json_object_set_new(root, "pscope_cpu_ms", json_real(s->cost_ms));
		add_unreadable(root, s);
	}

	int rc = json_dumpf(root, f, JSON_COMPACT | JSON_REAL_PRECISION(13));
	json_decref(root);
	if (rc < 0 || fputc('\n', f) == EOF || fflush(f) == EOF)
		return errno ? -errno : -EIO;
	return 0;
}
