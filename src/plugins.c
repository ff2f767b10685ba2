#include "plugins.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_host.h"
#include "sanitize.h"
#include "util.h"

#ifndef PSCOPE_PLUGIN_DIR
#define PSCOPE_PLUGIN_DIR "/usr/local/lib/pscope/plugins"
#endif

/* Bounds on a descriptor, so a corrupt one is refused rather than trusted. */
enum { MAX_NAME = 32, MAX_METRICS = 1024, MAX_TABLES = 64, MAX_COLUMNS = 64 };

/* ---------------------------------------------------------- search path */

static void add_dir(struct plugin_set *set, const char *path, const char *origin)
{
	char real[PATH_MAX];
	int err = 0;

	if (!realpath(path, real)) {
		err = -errno;
		snprintf(real, sizeof(real), "%s", path);
	}
	for (size_t i = 0; i < set->ndirs; i++)
		if (strcmp(set->dirs[i].path, real) == 0)
			return;   /* the same directory reached twice: list it once */
	set->dirs = xrealloc(set->dirs, (set->ndirs + 1) * sizeof(*set->dirs));
	set->dirs[set->ndirs++] = (struct plugin_dir){ xstrdup(real), origin, err };
}

static void add_dir_under(struct plugin_set *set, const char *base, const char *sub,
			  const char *origin)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s%s", base, sub) < (int)sizeof(path))
		add_dir(set, path, origin);
}

static void build_search_path(struct plugin_set *set, char *const *extra, size_t nextra)
{
	for (size_t i = 0; i < nextra; i++)
		add_dir(set, extra[i], "--plugin-dir");

	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	if (xdg && xdg[0] == '/')
		add_dir_under(set, xdg, "/pscope/plugins", "$XDG_DATA_HOME");
	else if (home && home[0] == '/')
		add_dir_under(set, home, "/.local/share/pscope/plugins", "~/.local/share");

	add_dir(set, PSCOPE_PLUGIN_DIR, "installed");

	/* A build tree: ./pscope next to build/plugins, or build/FLAVOUR/pscope
	 * below it. */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			add_dir_under(set, self, "/build/plugins", "build tree");
			add_dir_under(set, self, "/../plugins", "build tree");
		}
	}
}

/* ------------------------------------------------------------- security */

/* A plugin runs with pscope's privileges: whoever can replace the file, or
 * rename anything in a directory above it, can run code as the user of
 * pscope.  So path (resolved, absolute) and every directory up to / must be
 * owned by root or by us, and the file and its directory writable by no
 * one else.  A directory further up may be writable by others only with
 * the sticky bit (/tmp): then no one else can rename or remove what it
 * holds, and what it holds on the way here is ours or root's (checked one
 * step earlier). */
static int check_path_safe(const char *path, char *why, size_t len)
{
	char *p = xstrdup(path);
	uid_t me = geteuid();
	int rc = 0;

	for (int depth = 0;; depth++) {
		bool first = depth == 0;
		struct stat st;
		if (stat(p, &st) < 0) {
			rc = -errno;
			snprintf(why, len, "cannot stat %s: %s", p, strerror(errno));
			break;
		}
		const char *what = first ? "file" : "directory";
		if (first && !S_ISREG(st.st_mode)) {
			rc = -EINVAL;
			snprintf(why, len, "%s is not a regular file", p);
			break;
		}
		if (st.st_uid != 0 && st.st_uid != me) {
			rc = -EPERM;
			snprintf(why, len, "%s %s is owned by uid %u, not by root or by you (uid %u): "
				 "a plugin runs with pscope's privileges", what, p,
				 (unsigned)st.st_uid, (unsigned)me);
			break;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(depth >= 2 && (st.st_mode & S_ISVTX))) {
			rc = -EPERM;
			snprintf(why, len, "%s %s is writable by %s (mode %04o): a plugin runs with "
				 "pscope's privileges; chmod go-w it", what, p,
				 (st.st_mode & S_IWOTH) ? "others" : "its group",
				 (unsigned)(st.st_mode & 07777));
			break;
		}
		if (strcmp(p, "/") == 0)
			break;
		char *slash = strrchr(p, '/');
		if (slash == p)
			p[1] = 0;
		else
			*slash = 0;
	}
	free(p);
	return rc;
}

/* ----------------------------------------------------------- descriptor */

static bool valid_name(const char *s)
{
	if (!s || !*s || strlen(s) > MAX_NAME)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Keys pscope itself writes next to a plugin's metrics and tables in
 * batch JSON. */
static bool reserved_key(const char *s)
{
	static const char *const keys[] = { "why", "metric_why", "growth", "delta", "log", "since" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(s, keys[i]) == 0)
			return true;
	return false;
}

/* A metric or table name: valid, not reserved, not used before. */
static bool check_key(const struct pscope_plugin *d, const char *name, size_t nm, size_t nt,
		      char *why, size_t len)
{
	if (!valid_name(name) || reserved_key(name)) {
		snprintf(why, len, "bad metric or table name '%s'", name ? name : "(null)");
		return false;
	}
	for (size_t i = 0; i < nm; i++)
		if (strcmp(d->metrics[i].name, name) == 0)
			goto dup;
	for (size_t i = 0; i < nt; i++)
		if (strcmp(d->tables[i].name, name) == 0)
			goto dup;
	return true;
dup:
	snprintf(why, len, "name '%s' is used twice", name);
	return false;
}

static bool check_descriptor(const struct pscope_plugin *d, char *why, size_t len)
{
	if (!valid_name(d->name)) {
		snprintf(why, len, "bad plugin name (wants [a-z0-9_], at most %d)", MAX_NAME);
		return false;
	}
	if (!d->version || !d->description || !d->probe || !d->sample ||
	    !(d->interval_s >= 0 && isfinite(d->interval_s))) {
		snprintf(why, len, "incomplete descriptor (version, description, probe, sample, "
			 "interval_s are required)");
		return false;
	}
	if (d->nmetrics > MAX_METRICS || d->ntables > MAX_TABLES ||
	    (d->nmetrics && !d->metrics) || (d->ntables && !d->tables)) {
		snprintf(why, len, "bad metric or table list");
		return false;
	}
	for (size_t i = 0; i < d->nmetrics; i++) {
		const struct pscope_metric_desc *m = &d->metrics[i];
		if (!check_key(d, m->name, i, 0, why, len))
			return false;
		if (!m->unit || !m->description) {
			snprintf(why, len, "metric '%s' lacks a unit or description", m->name);
			return false;
		}
	}
	for (size_t i = 0; i < d->ntables; i++) {
		const struct pscope_table_desc *t = &d->tables[i];
		if (!check_key(d, t->name, d->nmetrics, i, why, len))
			return false;
		if (!t->description || !t->columns || !t->ncolumns || t->ncolumns > MAX_COLUMNS) {
			snprintf(why, len, "table '%s' lacks a description or columns", t->name);
			return false;
		}
		for (size_t c = 0; c < t->ncolumns; c++) {
			const struct pscope_column_desc *col = &t->columns[c];
			if (!valid_name(col->name) ||
			    (col->type != PSCOPE_COL_STRING && col->type != PSCOPE_COL_NUMBER)) {
				snprintf(why, len, "table '%s' has a bad column %zu", t->name, c);
				return false;
			}
		}
		if (t->keyed && (t->ncolumns != 2 || t->columns[0].type != PSCOPE_COL_STRING ||
				 t->columns[1].type != PSCOPE_COL_NUMBER)) {
			snprintf(why, len, "keyed table '%s' must have a string and a number column",
				 t->name);
			return false;
		}
	}
	return true;
}

/* --------------------------------------------------------------- loading */

static const struct plugin_found *find_accepted(const struct plugin_set *set, const char *name)
{
	for (size_t i = 0; i < set->nfound; i++)
		if (set->found[i].accepted && strcmp(set->found[i].desc->name, name) == 0)
			return &set->found[i];
	return NULL;
}

static void load_file(struct plugin_set *set, const char *path)
{
	set->found = xrealloc(set->found, (set->nfound + 1) * sizeof(*set->found));
	struct plugin_found *f = &set->found[set->nfound++];
	char real[PATH_MAX];

	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	if (!realpath(path, real)) {
		snprintf(f->reason, sizeof(f->reason), "cannot resolve the path: %s", strerror(errno));
		return;
	}
	if (check_path_safe(real, f->reason, sizeof(f->reason)) < 0)
		return;

	void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(f->reason, sizeof(f->reason), "cannot load: %s", dlerror());
		return;
	}
	const struct pscope_plugin *d = dlsym(h, PSCOPE_PLUGIN_SYMBOL);
	const struct plugin_found *dup = NULL;
	if (!d)
		snprintf(f->reason, sizeof(f->reason), "no '%s' symbol: not a pscope plugin",
			 PSCOPE_PLUGIN_SYMBOL);
	else if (d->abi_version != PSCOPE_PLUGIN_ABI_VERSION)
		snprintf(f->reason, sizeof(f->reason), "plugin ABI version %u, this pscope "
			 "needs %u: rebuild it against this pscope's pscope_plugin.h",
			 (unsigned)d->abi_version, PSCOPE_PLUGIN_ABI_VERSION);
	else if (check_descriptor(d, f->reason, sizeof(f->reason)) &&
		 (dup = find_accepted(set, d->name)) != NULL)
		snprintf(f->reason, sizeof(f->reason), "a plugin named '%s' was already loaded "
			 "from %s", d->name, dup->path);
	if (f->reason[0]) {
		dlclose(h);
		return;
	}
	f->accepted = true;
	f->desc = d;
	f->handle = h;
}

static int filter_so(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 3 && strcmp(e->d_name + n - 3, ".so") == 0;
}

size_t plugins_load(struct plugin_set *set, char *const *extra, size_t nextra, bool log_stderr)
{
	size_t accepted = 0;

	memset(set, 0, sizeof(*set));
	set->log_stderr = log_stderr;
	build_search_path(set, extra, nextra);
	for (size_t i = 0; i < set->ndirs; i++) {
		struct plugin_dir *d = &set->dirs[i];
		struct dirent **names;
		if (d->err)
			continue;
		int n = scandir(d->path, &names, filter_so, alphasort);
		if (n < 0) {
			d->err = -errno;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[PATH_MAX];
			if (snprintf(path, sizeof(path), "%s/%s", d->path, names[k]->d_name) <
			    (int)sizeof(path))
				load_file(set, path);
			free(names[k]);
		}
		free(names);
	}
	for (size_t i = 0; i < set->nfound; i++)
		accepted += set->found[i].accepted;
	return accepted;
}

void plugins_free(struct plugin_set *set)
{
	for (size_t i = 0; i < set->nfound; i++) {
		if (set->found[i].handle)
			dlclose(set->found[i].handle);
		free(set->found[i].path);
	}
	for (size_t i = 0; i < set->ndirs; i++)
		free(set->dirs[i].path);
	free(set->found);
	free(set->dirs);
	memset(set, 0, sizeof(*set));
}

int plugins_write_list(FILE *f, const struct plugin_set *set)
{
	fprintf(f, "plugin search path, in order:\n");
	for (size_t i = 0; i < set->ndirs; i++) {
		const struct plugin_dir *d = &set->dirs[i];
		char *path = sanitize_dup(d->path, false);
		fprintf(f, "  %s (%s)%s%s\n", path, d->origin, d->err ? ": " : "",
			d->err == -ENOENT ? "absent" : d->err ? strerror(-d->err) : "");
		free(path);
	}
	if (!set->nfound)
		fprintf(f, "no plugins found\n");
	for (size_t i = 0; i < set->nfound; i++) {
		const struct plugin_found *p = &set->found[i];
		char *path = sanitize_dup(p->path, false);
		if (p->accepted) {
			char *desc = sanitize_dup(p->desc->description, false);
			char *ver = sanitize_dup(p->desc->version, false);
			fprintf(f, "%s: accepted: %s %s, %s\n", path, p->desc->name, ver, desc);
			free(desc);
			free(ver);
		} else {
			char *why = sanitize_dup(p->reason, false);
			fprintf(f, "%s: refused: %s\n", path, why);
			free(why);
		}
		free(path);
	}
	return fflush(f) == EOF ? -errno : 0;
}

/* ---------------------------------------------------------------- results */

static struct plugin_result *result_new(const struct pscope_plugin *d)
{
	struct plugin_result *r = xcalloc(1, sizeof(*r));

	atomic_init(&r->refs, 1);
	r->desc = d;
	r->values = xmalloc((d->nmetrics ? d->nmetrics : 1) * sizeof(double));
	for (size_t m = 0; m < d->nmetrics; m++)
		r->values[m] = NAN;
	r->metric_why = xcalloc(d->nmetrics ? d->nmetrics : 1, sizeof(char *));
	r->tables = xcalloc(d->ntables ? d->ntables : 1, sizeof(*r->tables));
	return r;
}

static struct plugin_result *result_ref(struct plugin_result *r)
{
	atomic_fetch_add(&r->refs, 1);
	return r;
}

static void result_unref(struct plugin_result *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) > 1)
		return;
	for (size_t m = 0; m < r->desc->nmetrics; m++)
		free(r->metric_why[m]);
	for (size_t t = 0; t < r->desc->ntables; t++) {
		struct plugin_table *pt = &r->tables[t];
		for (size_t c = 0; c < pt->nrows * r->desc->tables[t].ncolumns; c++)
			free(pt->cells[c].str);
		free(pt->cells);
	}
	free(r->metric_why);
	free(r->tables);
	free(r->values);
	free(r);
}

struct plugin_results *plugin_results_ref(struct plugin_results *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void plugin_results_unref(struct plugin_results *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) > 1)
		return;
	for (size_t i = 0; i < r->count; i++)
		result_unref(r->list[i]);
	free(r->list);
	free(r);
}

/* ---------------------------------------------------------------- running */

struct plugin_inst {
	const struct pscope_plugin *desc;
	pid_t pid;
	void *state;
	bool open;
	bool log_stderr;
	size_t series0;
	struct plugin_result *latest;   /* what the next samples show */
	char log[256];                  /* latest warning or error of this call */
	char printed[256];              /* latest line printed to stderr */
};

struct plugin_watch {
	struct pscope_target *target;
	size_t count;
	struct plugin_inst *list;
	/* Baselines for the tables' changes: the first results, the newest,
	 * and those at the mark. */
	struct plugin_results *first, *last, *mark;
};

/* Log lines of one plugin: warnings and errors are kept for the UI and,
 * in batch mode, printed once each (a plugin repeating itself every tick
 * must not flood stderr). */
static void inst_log(void *ctx, enum pscope_log_level level, const char *msg)
{
	struct plugin_inst *in = ctx;

	if (!in || level > PSCOPE_LOG_WARN)
		return;
	snprintf(in->log, sizeof(in->log), "%s", msg);
	if (!in->log_stderr || strcmp(in->printed, in->log) == 0)
		return;
	snprintf(in->printed, sizeof(in->printed), "%s", in->log);
	char *clean = sanitize_dup(msg, false);
	fprintf(stderr, "pscope: plugin %s (pid %d): %s\n", in->desc->name, (int)in->pid, clean);
	free(clean);
}

static void inst_attach(struct plugin_watch *w, struct plugin_inst *in, struct history *h)
{
	const struct pscope_host *host = plugin_host_get();
	const struct pscope_plugin *d = in->desc;
	struct plugin_result *r = result_new(d);
	char reason[256] = "";

	in->latest = r;
	plugin_host_begin_call(w->target, in);
	int rc = d->probe(host, w->target, reason, sizeof(reason));
	reason[sizeof(reason) - 1] = 0;
	if (rc <= 0) {
		r->err = rc < 0 ? rc : 0;
		snprintf(r->why, sizeof(r->why), "%s", reason[0] ? reason
			 : rc < 0 ? strerror(-rc) : "does not apply to this process");
		return;
	}
	if (d->open) {
		reason[0] = 0;
		plugin_host_begin_call(w->target, in);
		rc = d->open(host, w->target, &in->state, reason, sizeof(reason));
		reason[sizeof(reason) - 1] = 0;
		if (rc < 0) {
			r->err = rc;
			snprintf(r->why, sizeof(r->why), "could not start: %.200s",
				 reason[0] ? reason : strerror(-rc));
			return;
		}
	}
	in->open = true;
	in->series0 = h->nseries;
	for (size_t m = 0; m < d->nmetrics; m++) {
		char name[2 * MAX_NAME + 2];
		snprintf(name, sizeof(name), "%s.%s", d->name, d->metrics[m].name);
		history_add_series(h, name);
	}
	r->active = true;
	r->series0 = in->series0;
}

struct plugin_watch *plugins_attach(const struct plugin_set *set, pid_t pid, struct history *h)
{
	size_t n = 0;

	for (size_t i = 0; i < set->nfound; i++)
		n += set->found[i].accepted;
	if (!n)
		return NULL;
	struct plugin_watch *w = xcalloc(1, sizeof(*w));
	w->target = plugin_host_target_new(pid, inst_log);
	w->list = xcalloc(n, sizeof(*w->list));
	for (size_t i = 0; i < set->nfound; i++) {
		if (!set->found[i].accepted)
			continue;
		struct plugin_inst *in = &w->list[w->count++];
		in->desc = set->found[i].desc;
		in->pid = pid;
		in->log_stderr = set->log_stderr;
		inst_attach(w, in, h);
	}
	return w;
}

void plugins_detach(struct plugin_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->count; i++) {
		struct plugin_inst *in = &w->list[i];
		if (in->open && in->desc->close) {
			plugin_host_begin_call(w->target, in);
			in->desc->close(in->state);
		}
		result_unref(in->latest);
	}
	plugin_results_unref(w->first);
	plugin_results_unref(w->last);
	plugin_results_unref(w->mark);
	plugin_host_target_free(w->target);
	free(w->list);
	free(w);
}

/* Ticks arrive a little early or late: a plugin that wants one sample a
 * second is due when most of the second has passed. */
static bool inst_due(const struct plugin_inst *in, double now)
{
	const struct plugin_result *r = in->latest;
	return r->sampled_at == 0 || now - r->sampled_at >= in->desc->interval_s * 0.9;
}

static void inst_sample(struct plugin_watch *w, struct plugin_inst *in, double now)
{
	const struct pscope_plugin *d = in->desc;
	struct plugin_result *r = result_new(d);
	struct pscope_plugin_out out = { .values = r->values, .nvalues = d->nmetrics, .host = r };

	r->active = true;
	r->series0 = in->series0;
	in->log[0] = 0;
	plugin_host_begin_call(w->target, in);
	double cpu0 = util_thread_cpu();
	int rc = d->sample(in->state, plugin_host_get(), w->target, &out);
	r->cost_ms = (util_thread_cpu() - cpu0) * 1000;
	r->sampled_at = now;
	out.why[sizeof(out.why) - 1] = 0;
	if (rc < 0) {
		r->err = rc;
		for (size_t m = 0; m < d->nmetrics; m++)
			r->values[m] = NAN;
	}
	snprintf(r->why, sizeof(r->why), "%s", out.why[0] ? out.why : rc < 0 ? strerror(-rc) : "");
	snprintf(r->log, sizeof(r->log), "%s", in->log);
	result_unref(in->latest);
	in->latest = r;
}

void plugins_sample(struct plugin_watch *w, struct sample *s)
{
	if (!w || s->exited)
		return;
	double now = util_now_mono();
	struct plugin_results *rs = xcalloc(1, sizeof(*rs));

	atomic_init(&rs->refs, 1);
	rs->count = w->count;
	rs->list = xcalloc(w->count ? w->count : 1, sizeof(*rs->list));
	for (size_t i = 0; i < w->count; i++) {
		struct plugin_inst *in = &w->list[i];
		if (in->open && inst_due(in, now)) {
			inst_sample(w, in, now);
			s->cost_ms += in->latest->cost_ms;
		}
		rs->list[i] = result_ref(in->latest);
	}
	plugin_results_unref(s->plugins);
	s->plugins = rs;
	if (!w->first)
		w->first = plugin_results_ref(rs);
	plugin_results_unref(w->last);
	w->last = plugin_results_ref(rs);
	plugin_results_unref(s->plugins_base);
	s->plugins_base = plugin_results_ref(w->mark ? w->mark : w->first);
	s->plugins_since_mark = w->mark != NULL;
}

void plugins_mark(struct plugin_watch *w, bool on)
{
	if (!w)
		return;
	plugin_results_unref(w->mark);
	w->mark = on && w->last ? plugin_results_ref(w->last) : NULL;
}

const struct plugin_result *plugin_results_find(const struct plugin_results *rs,
						const struct pscope_plugin *desc)
{
	for (size_t i = 0; rs && i < rs->count; i++)
		if (rs->list[i]->desc == desc)
			return rs->list[i];
	return NULL;
}

static bool rows_match(const struct pscope_table_desc *td, const struct plugin_cell *a,
		       const struct plugin_cell *b)
{
	for (size_t c = 0; c < td->ncolumns; c++) {
		if (td->columns[c].type != PSCOPE_COL_STRING)
			continue;
		if (!a[c].str || !b[c].str ? a[c].str != b[c].str : strcmp(a[c].str, b[c].str) != 0)
			return false;
	}
	return true;
}

bool plugin_row_delta(const struct plugin_result *base, const struct plugin_result *cur,
		      size_t table, size_t row, double *delta, bool *is_new)
{
	if (!base || !base->active || !cur->active || table >= cur->desc->ntables)
		return false;
	const struct pscope_table_desc *td = &cur->desc->tables[table];
	size_t num = td->ncolumns;
	for (size_t c = 0; c < td->ncolumns && num == td->ncolumns; c++)
		if (td->columns[c].type == PSCOPE_COL_NUMBER)
			num = c;
	if (num == td->ncolumns)
		return false;
	const struct plugin_cell *mine = &cur->tables[table].cells[row * td->ncolumns];
	const struct plugin_table *old = &base->tables[table];
	/* Tables are small (groups, reasons): a linear scan is enough. */
	for (size_t r = 0; r < old->nrows; r++) {
		const struct plugin_cell *theirs = &old->cells[r * td->ncolumns];
		if (rows_match(td, mine, theirs)) {
			*delta = mine[num].num - theirs[num].num;
			*is_new = false;
			return true;
		}
	}
	*delta = mine[num].num;
	*is_new = true;
	return true;
}

void plugins_extract(const struct sample *s, double *values)
{
	const struct plugin_results *rs = s->plugins;

	for (size_t i = 0; rs && i < rs->count; i++) {
		const struct plugin_result *r = rs->list[i];
		if (r->active)
			for (size_t m = 0; m < r->desc->nmetrics; m++)
				values[r->series0 + m] = r->values[m];
	}
}
