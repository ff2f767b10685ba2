#include "batch.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "plugins.h"
#include "sanitize.h"
#include "stacks.h"

void batch_format_kb(double kb, char *buf, size_t size)
{
	static const char units[] = "KMGTP";
	double v = fabs(kb);
	int u = 0;

	if (isnan(kb)) {
		snprintf(buf, size, "?");
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	const char *sign = kb < 0 ? "-" : "";
	if (u == 0 || v >= 100)
		snprintf(buf, size, "%s%.0f%c", sign, v, units[u]);
	else
		snprintf(buf, size, "%s%.1f%c", sign, v, units[u]);
}

/* A sanitized copy for printing; the caller frees it. */
static char *clean(const char *raw, const struct batch_options *o)
{
	return sanitize_dup(raw ? raw : "", o->utf8);
}

static void print_size(FILE *f, const char *label, int64_t kb)
{
	char buf[32];

	if (kb == SAMPLE_UNREAD) {
		fprintf(f, "  %s n/a", label);
		return;
	}
	batch_format_kb((double)kb, buf, sizeof(buf));
	fprintf(f, "  %s %s", label, buf);
}

/* kb: the series is in kB and prints as a size; counts print whole when
 * they are (deltas) and with one decimal otherwise (rates). */
static void print_change(FILE *f, const char *label, double v, bool kb)
{
	char buf[32];

	if (isnan(v))
		return;
	if (kb) {
		batch_format_kb(v, buf, sizeof(buf));
		fprintf(f, "  %s %s%s", label, v >= 0 ? "+" : "", buf);
	} else if (v == floor(v)) {
		fprintf(f, "  %s %+.0f", label, v);
	} else {
		fprintf(f, "  %s %+.1f", label, v);
	}
}

static void print_header(FILE *f, const struct sample *s, const struct batch_options *o)
{
	char when[32], *comm = clean(s->id.comm, o);
	time_t t = (time_t)s->time;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (s->exited) {
		fprintf(f, "pscope %s  pid %d (%s)  exited\n", when, (int)s->id.pid, comm);
		free(comm);
		return;
	}
	long up = (long)(s->time - s->id.start_time);
	fprintf(f, "pscope %s  pid %d (%s)  state %c  uid %u  ppid %d  up %ld:%02ld:%02ld%s\n",
		when, (int)s->id.pid, comm, s->id.state, (unsigned)s->id.uid, (int)s->id.ppid,
		up / 3600, up / 60 % 60, up % 60, s->id.kernel_thread ? "  kernel thread" : "");
	free(comm);
	if (s->id.cmdline && *s->id.cmdline) {
		char *cmd = clean(s->id.cmdline, o);
		fprintf(f, "  cmd: %s\n", cmd);
		free(cmd);
	}
}

static const struct {
	const char *label;
	enum metric m;
	bool kb;
} watched[] = {
	{ "rss", M_RSS_KB, true }, { "pss", M_PSS_KB, true }, { "heap", M_HEAP_KB, true },
	{ "fds", M_FDS, false }, { "threads", M_THREADS, false }, { "sockets", M_SOCKETS, false },
	{ "close_wait", M_TCP_STATE0 + 8 - 1, false },
};

static void print_memory(FILE *f, const struct sample *s, const struct history *h,
			 const struct batch_options *o)
{
	const struct sample_memory *m = &s->mem;
	size_t n = sizeof(watched) / sizeof(watched[0]);

	fprintf(f, "  mem:");
	print_size(f, "rss", m->rss_kb);
	print_size(f, "anon", m->anon_kb);
	print_size(f, "file", m->file_kb);
	print_size(f, "shmem", m->shmem_kb);
	print_size(f, "pss", m->pss_kb);
	print_size(f, "heap", m->heap_kb);
	print_size(f, "swap", m->swap_kb);
	if (m->mappings != SAMPLE_UNREAD)
		fprintf(f, "  mappings %lld", (long long)m->mappings);
	fprintf(f, "\n  growth/min over %.0fs:", o->window_s);
	for (size_t i = 0; i < n; i++)
		print_change(f, watched[i].label,
			     history_slope_per_min(h, watched[i].m, o->window_s), watched[i].kb);
	fprintf(f, "\n  since %s (%.1fs):", history_has_mark(h) ? "mark" : "attach",
		history_delta_seconds(h));
	for (size_t i = 0; i < n; i++)
		print_change(f, watched[i].label, history_delta(h, watched[i].m), watched[i].kb);
	fprintf(f, "\n");
}

static void print_counts(FILE *f, const struct sample *s)
{
	if (sample_readable(s, PART_THREADS)) {
		fprintf(f, "  threads: %zu", s->threads.count);
		if (!isnan(s->threads.cpu_pct))
			fprintf(f, "  cpu %.1f%%", s->threads.cpu_pct);
		fprintf(f, "\n");
	}
	if (s->fd_count != SAMPLE_UNREAD)
		fprintf(f, "  fds: %lld", (long long)s->fd_count);
	if (s->fds) {
		for (int k = 0; k < FD_KIND_COUNT; k++)
			if (s->fds->by_kind[k])
				fprintf(f, "  %s %u", fd_kind_name((enum fd_kind)k), s->fds->by_kind[k]);
	}
	if (s->fd_count != SAMPLE_UNREAD)
		fprintf(f, "\n");
	if (s->fds && sample_readable(s, PART_SOCKETS) && s->fds->by_kind[FD_SOCKET]) {
		fprintf(f, "  sockets: %u", s->fds->by_kind[FD_SOCKET]);
		for (int st = 1; st < TCP_STATE_COUNT; st++)
			if (s->fds->by_state[st])
				fprintf(f, "  %s %u", tcp_state_name(st), s->fds->by_state[st]);
		fprintf(f, "\n");
	}
}

/* One line per distinct reason, naming every part it covers: a process of
 * another user makes seven parts unreadable for one reason. */
static void print_unreadable(FILE *f, const struct sample *s, const struct batch_options *o)
{
	bool done[PART_COUNT] = { false };

	for (int p = 0; p < PART_COUNT; p++) {
		if (done[p] || sample_readable(s, (enum sample_part)p))
			continue;
		fprintf(f, "  unreadable %s", sample_part_name((enum sample_part)p));
		for (int q = p + 1; q < PART_COUNT; q++) {
			if (!sample_readable(s, (enum sample_part)q) && strcmp(s->why[q], s->why[p]) == 0) {
				fprintf(f, ", %s", sample_part_name((enum sample_part)q));
				done[q] = true;
			}
		}
		char *why = clean(s->why[p], o);
		fprintf(f, ": %s\n", why);
		free(why);
	}
}

static void print_threads(FILE *f, const struct sample *s, const struct batch_options *o)
{
	if (!sample_readable(s, PART_THREADS))
		return;
	fprintf(f, "\n    TID NAME             S   CPU%%     VCSW    NVCSW WCHAN\n");
	for (size_t i = 0; i < s->threads.count; i++) {
		const struct sample_thread *t = &s->threads.list[i];
		char *name = clean(t->name, o), *wchan = clean(t->wchan, o);
		char cpu[16] = "-";
		if (!isnan(t->cpu_pct))
			snprintf(cpu, sizeof(cpu), "%.1f", t->cpu_pct);
		fprintf(f, "%7d %-16s %c %6s %8lld %8lld %s\n", (int)t->tid, name, t->state, cpu,
			(long long)t->vol_ctxsw, (long long)t->invol_ctxsw,
			sample_readable(s, PART_WCHAN) ? wchan : "n/a");
		free(name);
		free(wchan);
	}
}

static void print_socket(FILE *f, const struct sock_info *si, const struct batch_options *o)
{
	char *local = clean(si->local, o), *remote = clean(si->remote, o);
	const char *state = tcp_state_name(si->state);

	fprintf(f, "%s %s", sock_proto_name(si->proto), *local ? local : "-");
	if (*remote)
		fprintf(f, " -> %s", remote);
	if (state)
		fprintf(f, " %s", state);
	free(local);
	free(remote);
}

static void print_fds(FILE *f, const struct sample *s, const struct batch_options *o)
{
	if (!s->fds)
		return;
	const struct fd_table *t = s->fds;
	fprintf(f, "\n     FD KIND       TARGET\n");
	for (size_t i = 0; i < t->count; i++) {
		const struct fd_entry *e = &t->list[i];
		fprintf(f, "%7d %-10s ", e->fd, fd_kind_name(e->kind));
		if (e->kind == FD_SOCKET && e->sock >= 0 && (size_t)e->sock < t->nsockets &&
		    t->sockets[e->sock].proto != PROTO_OTHER) {
			print_socket(f, &t->sockets[e->sock], o);
		} else {
			char *target = clean(e->target, o);
			fprintf(f, "%s", target);
			free(target);
		}
		fprintf(f, "\n");
	}
}

static void print_plugin_value(FILE *f, const char *unit, double v)
{
	char buf[32];

	if (isnan(v)) {
		fprintf(f, "?");
	} else if (strcmp(unit, "bytes") == 0) {
		batch_format_kb(v / 1024, buf, sizeof(buf));
		fprintf(f, "%s", buf);
	} else {
		/* "12 us", "3.5%", "40" (a count needs no unit) */
		bool bare = !*unit || strcmp(unit, "count") == 0;
		fprintf(f, "%.6g%s%s", v, bare || strcmp(unit, "%") == 0 ? "" : " ", bare ? "" : unit);
	}
}

/* A plugin that applies: one line of the metrics it knows, then one line
 * per distinct reason naming the metrics it covers (like print_unreadable),
 * the plugin's own reason, and its tables unless brief. */
static void print_plugin(FILE *f, const struct plugin_result *r, const struct batch_options *o)
{
	const struct pscope_plugin *d = r->desc;
	bool *done = calloc(d->nmetrics ? d->nmetrics : 1, sizeof(bool));

	fprintf(f, "  %s:", d->name);
	for (size_t m = 0; m < d->nmetrics; m++) {
		if (isnan(r->values[m]))
			continue;
		fprintf(f, "  %s ", d->metrics[m].name);
		print_plugin_value(f, d->metrics[m].unit, r->values[m]);
	}
	fprintf(f, "\n");
	for (size_t m = 0; done && m < d->nmetrics; m++) {
		if (done[m] || !isnan(r->values[m]))
			continue;
		const char *why = r->metric_why[m] ? r->metric_why[m] : "unknown";
		fprintf(f, "  %s %s", d->name, d->metrics[m].name);
		for (size_t k = m + 1; k < d->nmetrics; k++) {
			const char *other = r->metric_why[k] ? r->metric_why[k] : "unknown";
			if (isnan(r->values[k]) && !done[k] && strcmp(other, why) == 0) {
				fprintf(f, ", %s", d->metrics[k].name);
				done[k] = true;
			}
		}
		char *clean_why = clean(why, o);
		fprintf(f, ": %s\n", clean_why);
		free(clean_why);
	}
	free(done);
	if (r->why[0]) {
		char *why = clean(r->why, o);
		fprintf(f, "  %s: %s\n", d->name, why);
		free(why);
	}
	for (size_t t = 0; t < d->ntables && !o->brief; t++) {
		const struct pscope_table_desc *td = &d->tables[t];
		const struct plugin_table *pt = &r->tables[t];
		fprintf(f, "\n   ");
		for (size_t c = 0; c < td->ncolumns; c++)
			fprintf(f, " %s", td->columns[c].name);
		fprintf(f, "\n");
		for (size_t row = 0; row < pt->nrows; row++) {
			const struct plugin_cell *cell = &pt->cells[row * td->ncolumns];
			fprintf(f, "   ");
			for (size_t c = 0; c < td->ncolumns; c++) {
				fprintf(f, " ");
				if (td->columns[c].type == PSCOPE_COL_NUMBER) {
					print_plugin_value(f, td->columns[c].unit ? td->columns[c].unit : "",
							   cell[c].num);
				} else {
					char *str = clean(cell[c].str ? cell[c].str : "-", o);
					fprintf(f, "%s", str);
					free(str);
				}
			}
			fprintf(f, "\n");
		}
	}
}

static void print_frame(FILE *f, size_t i, const struct stack_frame *fr,
			const struct batch_options *o)
{
	fprintf(f, "    #%-3zu 0x%016llx ", i, (unsigned long long)fr->pc);
	if (fr->func) {
		char *func = clean(fr->func, o);
		fprintf(f, "%s+0x%llx", func, (unsigned long long)fr->offset);
		free(func);
	} else {
		fprintf(f, "??");
	}
	if (fr->module) {
		const char *base = strrchr(fr->module, '/');
		char *mod = clean(base ? base + 1 : fr->module, o);
		fprintf(f, " (%s)", mod);
		free(mod);
	}
	if (fr->file) {
		char *file = clean(fr->file, o);
		fprintf(f, " %s:%d", file, fr->line);
		free(file);
	}
	fprintf(f, "\n");
}

/* Threads with identical stacks once each, largest group first, like a
 * merged eu-stack; then the threads that could not be captured. */
static void print_stacks(FILE *f, const struct sample *s, const struct batch_options *o)
{
	enum { MAX_TIDS_SHOWN = 12 };
	const struct stack_snapshot *st = s->stacks;
	struct stack_group_diff *diff = NULL;

	if (s->stacks_base && s->stacks_base != st) {
		diff = calloc(st->ngroups + 1, sizeof(*diff));
		if (diff)
			stacks_diff(s->stacks_base, st, diff);
	}

	size_t captured = 0;
	for (size_t gi = 0; gi < st->ngroups; gi++)
		captured += st->groups[gi].count;
	fprintf(f, "\n  stacks: %zu of %zu threads in %zu groups; stopped %.0f us median, %.0f us max%s;"
		" %.1f ms\n", captured, st->nthreads, st->ngroups, st->stop_us_median,
		st->stop_us_max, st->consistent ? " (all together)" : " (one at a time)", st->wall_ms);
	for (size_t gi = 0; gi < st->ngroups; gi++) {
		const struct stack_group *g = &st->groups[gi];
		const struct stack_thread *rep = &st->threads[g->rep];
		char *name = clean(rep->name, o);
		fprintf(f, "\n  %zu thread%s (%s", g->count, g->count == 1 ? "" : "s", name);
		free(name);
		fprintf(f, "): TID");
		for (size_t k = 0; k < g->count && k < MAX_TIDS_SHOWN; k++)
			fprintf(f, " %d", (int)g->tids[k]);
		if (g->count > MAX_TIDS_SHOWN)
			fprintf(f, " and %zu more", g->count - MAX_TIDS_SHOWN);
		if (diff && diff[gi].is_new)
			fprintf(f, "  [new since %s]", s->stacks_since_mark ? "the mark" : "attach");
		else if (diff && diff[gi].delta)
			fprintf(f, "  [%+ld since %s]", diff[gi].delta,
				s->stacks_since_mark ? "the mark" : "attach");
		fprintf(f, "\n");
		for (size_t i = 0; i < rep->nframes; i++)
			print_frame(f, i, &rep->frames[i], o);
	}
	for (size_t i = 0; i < st->nthreads; i++) {
		const struct stack_thread *t = &st->threads[i];
		if (!t->err)
			continue;
		char *name = clean(t->name, o), *why = clean(t->why, o);
		fprintf(f, "  thread %d (%s): %s\n", (int)t->tid, name, why);
		free(name);
		free(why);
	}
	free(diff);
}

int batch_write_text(FILE *f, const struct sample *s, const struct history *h,
		     const struct batch_options *o)
{
	print_header(f, s, o);
	if (!s->exited && o->stacks_only) {
		print_unreadable(f, s, o);
		if (s->stacks)
			print_stacks(f, s, o);
	} else if (!s->exited) {
		print_memory(f, s, h, o);
		print_counts(f, s);
		print_unreadable(f, s, o);
		for (size_t i = 0; s->plugins && i < s->plugins->count; i++)
			if (s->plugins->list[i]->active)
				print_plugin(f, s->plugins->list[i], o);
		if (!o->brief) {
			print_threads(f, s, o);
			print_fds(f, s, o);
		}
		if (s->stacks)
			print_stacks(f, s, o);
	}
	fprintf(f, "\n");
	if (ferror(f) || fflush(f) == EOF)
		return errno ? -errno : -EIO;
	return 0;
}
