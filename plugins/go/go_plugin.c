/* go_plugin.c — the "go" plugin: goroutines and GC of a Go program, read
 * from outside with goread (goread.h).  Applies to any process whose
 * executable carries Go build info. */
#include "goread.h"
#include "pscope_plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	M_GOROUTINES, M_GC_COUNT, M_HEAP_LIVE, M_HEAP_INUSE, M_NEXT_GC, M_TOTAL_ALLOC,
	M_COUNT
};

static const struct pscope_metric_desc go_metrics[M_COUNT] = {
	[M_GOROUTINES] = { "goroutines", "count",
			   "goroutines, as runtime.NumGoroutine() counts them" },
	[M_GC_COUNT] = { "gc_count", "count", "completed GC cycles (NumGC)" },
	[M_HEAP_LIVE] = { "heap_live_bytes", "bytes",
			  "heap marked live by the last GC: the leak signal" },
	[M_HEAP_INUSE] = { "heap_inuse_bytes", "bytes", "bytes in in-use spans (HeapInuse)" },
	[M_NEXT_GC] = { "next_gc_bytes", "bytes", "heap size goal of the next GC (NextGC)" },
	[M_TOTAL_ALLOC] = { "total_alloc_bytes", "bytes",
			    "bytes allocated since start (TotalAlloc; lags per-P caches)" },
};

/* The groups first: the UI shows one table at a time, and the leak is there. */
enum { T_GROUPS, T_BY_WAIT_REASON, T_BUILD, T_COUNT };

static const struct pscope_column_desc build_cols[] = {
	{ "go_version", PSCOPE_COL_STRING, NULL },
	{ "module", PSCOPE_COL_STRING, NULL },
	{ "stripped", PSCOPE_COL_STRING, NULL },
};
static const struct pscope_column_desc reason_cols[] = {
	{ "reason", PSCOPE_COL_STRING, NULL },
	{ "count", PSCOPE_COL_NUMBER, "count" },
};
static const struct pscope_column_desc group_cols[] = {
	{ "state", PSCOPE_COL_STRING, NULL },
	{ "function", PSCOPE_COL_STRING, NULL },
	{ "creator", PSCOPE_COL_STRING, NULL },
	{ "count", PSCOPE_COL_NUMBER, "count" },
};

static const struct pscope_table_desc go_tables[T_COUNT] = {
	[T_BUILD] = { "build", "Go version and main module, from the build info",
		      build_cols, sizeof(build_cols) / sizeof(build_cols[0]), .keyed = false },
	[T_BY_WAIT_REASON] = { "by_wait_reason",
			       "goroutines by wait reason (or state when not waiting)",
			       reason_cols, sizeof(reason_cols) / sizeof(reason_cols[0]), .keyed = true },
	[T_GROUPS] = { "groups",
		       "goroutines by state, first user function on the stack and creator",
		       group_cols, sizeof(group_cols) / sizeof(group_cols[0]), .keyed = false },
};

struct go_state {
	const struct pscope_host *host;
	const struct pscope_target *target;
	struct goread *reader;
};

static ssize_t go_read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct go_state *st = ctx;
	ssize_t n = st->host->read_mem(st->target, addr, buf, len);
	return n < 0 ? -1 : n;
}

static int go_probe(const struct pscope_host *h, const struct pscope_target *t, char *reason,
		    size_t reason_len)
{
	const void *data;
	size_t len;
	uint64_t addr, size;
	if (h->elf_section(t, ".go.buildinfo", &data, &len, &addr) == 0 ||
	    h->elf_symbol(t, "runtime.buildVersion", &addr, &size) == 0)
		return 1;
	snprintf(reason, reason_len, "not a Go program (no .go.buildinfo section)");
	return 0;
}

static int go_open(const struct pscope_host *h, const struct pscope_target *t, void **state,
		   char *err, size_t errlen)
{
	uint64_t bias = 0;
	int rc = h->elf_bias(t, &bias);
	if (rc < 0) {
		snprintf(err, errlen, "cannot find the load bias: %s", strerror(-rc));
		return rc;
	}
	int fd = h->open_exe(t);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the executable: %s", strerror(-fd));
		return fd;
	}
	struct go_state *st = calloc(1, sizeof(*st));
	if (!st) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	st->host = h;
	st->target = t;
	rc = goread_open_fd(fd, bias, go_read_mem, st, &st->reader, err, errlen);
	if (rc < 0) {
		free(st);
		return rc;
	}
	const struct goread_buildinfo *bi = goread_buildinfo(st->reader);
	if (goread_why(st->reader)[0])
		h->log(t, PSCOPE_LOG_WARN, "%s%s: %s", bi->version,
		       goread_stripped(st->reader) ? " (stripped)" : "", goread_why(st->reader));
	*state = st;
	return 0;
}

static void go_close(void *state)
{
	struct go_state *st = state;
	if (!st)
		return;
	goread_close(st->reader);
	free(st);
}

static void go_add_tables(struct go_state *st, const struct goread_snapshot *snap,
			  struct pscope_plugin_out *out)
{
	const struct pscope_host *h = st->host;
	const struct goread_buildinfo *bi = goread_buildinfo(st->reader);
	union pscope_cell build[3] = {
		{ .str = bi->version },
		{ .str = bi->mod[0] ? bi->mod : bi->path[0] ? bi->path : NULL },
		{ .str = goread_stripped(st->reader) ? "yes" : "no" },
	};
	h->add_row(out, T_BUILD, build);
	for (size_t i = 0; i < snap->nreasons; i++) {
		union pscope_cell row[2] = { { .str = snap->reasons[i].reason },
					     { .num = snap->reasons[i].count } };
		h->add_row(out, T_BY_WAIT_REASON, row);
	}
	for (size_t i = 0; i < snap->ngroups; i++) {
		const struct goread_group *gr = &snap->groups[i];
		union pscope_cell row[4] = { { .str = gr->state }, { .str = gr->func },
					     { .str = gr->creator }, { .num = gr->count } };
		h->add_row(out, T_GROUPS, row);
	}
}

/* Appends "; " and s to why, cutting what does not fit. */
static void go_why_append(char *why, size_t size, const char *s)
{
	size_t used = strlen(why);
	if (!s[0] || used + 3 >= size)
		return;
	if (used) {
		memcpy(why + used, "; ", 2);
		used += 2;
	}
	size_t n = strnlen(s, size - used - 1);
	memcpy(why + used, s, n);
	why[used + n] = 0;
}

static int go_sample(void *state, const struct pscope_host *h, const struct pscope_target *t,
		     struct pscope_plugin_out *out)
{
	struct go_state *st = state;
	st->host = h;
	st->target = t;
	struct goread_snapshot snap;
	char err[256];
	int rc = goread_sample(st->reader, &snap, err, sizeof(err));
	if (rc < 0) {
		snprintf(out->why, sizeof(out->why), "%s", err);
		return rc;
	}
	/* What the reader could never locate, then what this snapshot missed. */
	out->why[0] = 0;
	go_why_append(out->why, sizeof(out->why), goread_why(st->reader));
	go_why_append(out->why, sizeof(out->why), snap.why);
	if (snap.have_goroutines) {
		out->values[M_GOROUTINES] = (double)snap.goroutines;
	} else {
		h->metric_why(out, M_GOROUTINES, "goroutines could not be read (see why)");
	}
	if (snap.have_gc) {
		out->values[M_GC_COUNT] = (double)snap.gc_count;
		out->values[M_HEAP_LIVE] = (double)snap.heap_live;
		out->values[M_HEAP_INUSE] = (double)snap.heap_inuse;
		out->values[M_TOTAL_ALLOC] = (double)snap.total_alloc;
		if (snap.have_next_gc)
			out->values[M_NEXT_GC] = (double)snap.next_gc;
		else
			h->metric_why(out, M_NEXT_GC, "not computed (see why)");
	} else {
		for (size_t m = M_GC_COUNT; m < M_COUNT; m++)
			h->metric_why(out, m, "GC stats unavailable (see why)");
	}
	go_add_tables(st, &snap, out);
	goread_snapshot_free(&snap);
	return 0;
}

PSCOPE_PLUGIN_EXPORT const struct pscope_plugin pscope_plugin = {
	.abi_version = PSCOPE_PLUGIN_ABI_VERSION,
	.name = "go",
	.version = "1.0",
	.description = "Go runtime: goroutines by wait reason and function, GC and heap",
	.interval_s = 0,
	.metrics = go_metrics,
	.nmetrics = M_COUNT,
	.tables = go_tables,
	.ntables = T_COUNT,
	.probe = go_probe,
	.open = go_open,
	.close = go_close,
	.sample = go_sample,
};
