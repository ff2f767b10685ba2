/* cgroup — how close is the target to its cgroup's limits?
 *
 * Reads the target's cgroup v2 files: memory use against memory.max (the
 * OOM killer's line) and memory.high (throttling), OOM events, memory
 * pressure (PSI), the task count against pids.max, and CPU quota throttling.
 * The cgroup is found from /proc/PID/cgroup ("0::/path") and the cgroup2
 * mount in the target's own /proc/PID/mountinfo; when the target lives in
 * another mount namespace (a container) the files are read through
 * /proc/PID/root.  cgroup v1 is not supported: probe says so.
 *
 * Stateless: the cgroup is located again at every sample, so a process
 * moved to another cgroup is followed. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_parse.h"
#include "pscope_plugin.h"

enum {
	M_MEM_CURRENT, M_MEM_MAX, M_MEM_HIGH, M_MEM_MAX_PCT, M_OOM, M_OOM_KILL,
	M_MEM_SOME10, M_MEM_FULL10, M_PIDS_CURRENT, M_PIDS_MAX, M_NR_THROTTLED,
	M_THROTTLED_USEC, M_COUNT
};

static const struct pscope_metric_desc metrics[M_COUNT] = {
	[M_MEM_CURRENT] = { "memory_current", "bytes", "memory charged to the cgroup (memory.current)" },
	[M_MEM_MAX] = { "memory_max", "bytes", "hard limit, the OOM killer acts above it (memory.max); null: no limit" },
	[M_MEM_HIGH] = { "memory_high", "bytes", "throttling limit (memory.high); null: no limit" },
	[M_MEM_MAX_PCT] = { "memory_max_pct", "%", "memory.current as a share of memory.max" },
	[M_OOM] = { "oom", "count", "times memory.max was reached and reclaim failed (memory.events)" },
	[M_OOM_KILL] = { "oom_kill", "count", "processes of the cgroup killed by the OOM killer (memory.events)" },
	[M_MEM_SOME10] = { "memory_pressure_some_avg10", "%", "time some tasks stalled on memory, last 10 s (PSI)" },
	[M_MEM_FULL10] = { "memory_pressure_full_avg10", "%", "time all tasks stalled on memory, last 10 s (PSI)" },
	[M_PIDS_CURRENT] = { "pids_current", "count", "tasks in the cgroup (pids.current)" },
	[M_PIDS_MAX] = { "pids_max", "count", "task limit (pids.max); null: no limit" },
	[M_NR_THROTTLED] = { "cpu_nr_throttled", "count", "CPU quota periods in which the cgroup was throttled (cpu.stat)" },
	[M_THROTTLED_USEC] = { "cpu_throttled_usec", "us", "time throttled by the CPU quota (cpu.stat)" },
};

static const struct pscope_column_desc file_columns[] = {
	{ "file", PSCOPE_COL_STRING, NULL },
	{ "value", PSCOPE_COL_STRING, NULL },
	{ "note", PSCOPE_COL_STRING, NULL },
};

static const struct pscope_table_desc tables[] = {
	{ "files", "the cgroup's files as read, lines joined by '; '", file_columns, 3, false },
};

/* The files shown in the table, in this order; metrics come from them. */
enum {
	F_MEM_CURRENT, F_MEM_MAX, F_MEM_HIGH, F_MEM_LOW, F_MEM_MIN, F_MEM_EVENTS,
	F_MEM_PRESSURE, F_SWAP_CURRENT, F_SWAP_MAX, F_PIDS_CURRENT, F_PIDS_MAX,
	F_CPU_MAX, F_CPU_STAT, F_CPU_PRESSURE, F_IO_PRESSURE, F_COUNT
};
static const char *const file_names[F_COUNT] = {
	"memory.current", "memory.max", "memory.high", "memory.low", "memory.min",
	"memory.events", "memory.pressure", "memory.swap.current", "memory.swap.max",
	"pids.current", "pids.max", "cpu.max", "cpu.stat", "cpu.pressure", "io.pressure",
};

struct cg_file {
	char text[4096];
	int err;                  /* 0 or negative errno */
};

/* Where the target's cgroup is, as pscope can reach it. */
struct cg_place {
	char dir[8192];
	char cgroup[4096];        /* as the target sees it: "/system.slice/x.service" */
	char note[256];           /* how it was reached, when that is unusual */
	struct cgroup_membership m;
};

/* Whole small file into buf (NUL-terminated); length or negative errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

/* A file of any size (mountinfo of a busy host is large); caller frees. */
static char *read_all(const char *path, int *err)
{
	size_t cap = 16384;
	char *buf = NULL;

	for (;;) {
		char *bigger = realloc(buf, cap);
		if (!bigger) {
			free(buf);
			*err = -ENOMEM;
			return NULL;
		}
		buf = bigger;
		ssize_t n = read_small(path, buf, cap);
		if (n < 0) {
			free(buf);
			*err = (int)n;
			return NULL;
		}
		if ((size_t)n + 1 < cap)
			return buf;
		cap *= 2;
	}
}

static bool same_ns(const struct pscope_host *h, const struct pscope_target *t, const char *ns)
{
	char path[64];
	struct stat a, b;

	char self[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)h->pid(t), ns);
	snprintf(self, sizeof(self), "/proc/self/ns/%s", ns);
	return stat(path, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

/* 1: found, with p filled; 0: does not apply (why says so); negative
 * errno: could not tell (why says so). */
static int locate(const struct pscope_host *h, const struct pscope_target *t,
		  struct cg_place *p, char *why, size_t len)
{
	char path[64], buf[8192];
	int pid = (int)h->pid(t), err = 0;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n < 0) {
		snprintf(why, len, "cannot read %s: %s", path, strerror((int)-n));
		return (int)n;
	}
	if (cgroup_parse_membership(buf, &p->m) < 0) {
		snprintf(why, len, "cannot parse %s", path);
		return -EINVAL;
	}
	if (!p->m.has_v2) {
		snprintf(why, len, "cgroup v1 only: not supported (this plugin reads cgroup v2)");
		return 0;
	}
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", p->m.v2_path);

	bool same_mnt = same_ns(h, t, "mnt");
	if (same_mnt && !same_ns(h, t, "cgroup")) {
		snprintf(why, len, "in another cgroup namespace but our mount namespace: its "
			 "cgroup path cannot be resolved");
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	char *mi = read_all(path, &err);
	if (!mi) {
		snprintf(why, len, "cannot read %s: %s", path, strerror(-err));
		return err;
	}
	struct cgroup_mount mnt;
	int rc = cgroup_parse_mountinfo(mi, &mnt);
	free(mi);
	if (rc < 0) {
		snprintf(why, len, rc == -ENOENT ? "no cgroup2 file system mounted in the "
			 "target's mount namespace" : "cannot parse %s", path);
		return rc == -ENOENT ? 0 : rc;
	}
	/* A mount of a sub-tree shows the cgroups below its root only. */
	const char *rel = p->cgroup;
	size_t rlen = strlen(mnt.root);
	if (strcmp(mnt.root, "/") != 0) {
		if (strncmp(rel, mnt.root, rlen) != 0 || (rel[rlen] && rel[rlen] != '/')) {
			snprintf(why, len, "its cgroup %s is outside the cgroup2 mount (which shows %s)",
				 rel, mnt.root);
			return 0;
		}
		rel += rlen;
	}
	const char *prefix = same_mnt ? "" : h->proc_root(t);
	if (!same_mnt)
		snprintf(p->note, sizeof(p->note), "read through %s: the target has its own mount "
			 "namespace", prefix);
	snprintf(p->dir, sizeof(p->dir), "%s%s%s", prefix,
		 strcmp(mnt.mount_point, "/") ? mnt.mount_point : "", rel);
	char procs[sizeof(p->dir) + 16];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", p->dir);
	if (access(procs, F_OK) < 0) {
		err = -errno;
		snprintf(why, len, "cannot reach its cgroup at %s: %s", p->dir, strerror(errno));
		return err;
	}
	return 1;
}

static int cg_probe(const struct pscope_host *h, const struct pscope_target *t, char *reason,
		    size_t reason_len)
{
	struct cg_place *p = malloc(sizeof(*p));

	if (!p)
		return -ENOMEM;
	int rc = locate(h, t, p, reason, reason_len);
	free(p);
	return rc;
}

/* Why a controller's files are missing, in words the user can act on. */
static void absent_why(const struct cg_place *p, const char *ctl, bool on_v1, char *buf,
		       size_t len)
{
	if (on_v1)
		snprintf(buf, len, "the %s controller is on cgroup v1 here (hybrid setup): "
			 "not supported", ctl);
	else if (strcmp(p->cgroup, "/") == 0)
		snprintf(buf, len, "the root cgroup has no %s files", ctl);
	else
		snprintf(buf, len, "the %s controller is not enabled for %.160s", ctl, p->cgroup);
}

/* A "max"-or-number file into metric m: "no limit" for max. */
static void set_limit(const struct pscope_host *h, struct pscope_plugin_out *out, size_t m,
		      const struct cg_file *f, const char *absent)
{
	bool unlimited;

	if (f->err)
		h->metric_why(out, m, absent);
	else if (cgroup_parse_limit(f->text, &out->values[m], &unlimited) < 0)
		h->metric_why(out, m, "unexpected contents");
	else if (unlimited)
		h->metric_why(out, m, "no limit");
}

static void set_number(const struct pscope_host *h, struct pscope_plugin_out *out, size_t m,
		       const struct cg_file *f, const char *absent)
{
	if (f->err)
		h->metric_why(out, m, absent);
	else if (cgroup_parse_number(f->text, &out->values[m]) < 0)
		h->metric_why(out, m, "unexpected contents");
}

static void fill_memory(const struct pscope_host *h, struct pscope_plugin_out *out,
			const struct cg_file *f, const struct cg_place *p)
{
	char absent[256];
	double *v = out->values;

	absent_why(p, "memory", p->m.v1_memory, absent, sizeof(absent));
	set_number(h, out, M_MEM_CURRENT, &f[F_MEM_CURRENT], absent);
	set_limit(h, out, M_MEM_MAX, &f[F_MEM_MAX], absent);
	set_limit(h, out, M_MEM_HIGH, &f[F_MEM_HIGH], absent);
	if (!isnan(v[M_MEM_CURRENT]) && !isnan(v[M_MEM_MAX]) && v[M_MEM_MAX] > 0)
		v[M_MEM_MAX_PCT] = 100.0 * v[M_MEM_CURRENT] / v[M_MEM_MAX];
	else
		h->metric_why(out, M_MEM_MAX_PCT, f[F_MEM_MAX].err ? absent : "no limit");

	struct cgroup_mem_events ev;
	if (f[F_MEM_EVENTS].err || cgroup_parse_mem_events(f[F_MEM_EVENTS].text, &ev) < 0) {
		const char *why = f[F_MEM_EVENTS].err ? absent : "unexpected contents";
		h->metric_why(out, M_OOM, why);
		h->metric_why(out, M_OOM_KILL, why);
	} else {
		v[M_OOM] = ev.oom;
		v[M_OOM_KILL] = ev.oom_kill;
	}

	struct cgroup_pressure ps;
	const struct cg_file *pf = &f[F_MEM_PRESSURE];
	if (pf->err || cgroup_parse_pressure(pf->text, &ps) < 0) {
		const char *why = pf->err == -EOPNOTSUPP ? "PSI is disabled (boot with psi=1)"
				: pf->err ? "no memory.pressure file" : "unexpected contents";
		h->metric_why(out, M_MEM_SOME10, why);
		h->metric_why(out, M_MEM_FULL10, why);
	} else {
		v[M_MEM_SOME10] = ps.some.avg10;
		v[M_MEM_FULL10] = ps.full.avg10;
	}
}

static void fill_pids_cpu(const struct pscope_host *h, struct pscope_plugin_out *out,
			  const struct cg_file *f, const struct cg_place *p)
{
	char absent[256];

	absent_why(p, "pids", p->m.v1_pids, absent, sizeof(absent));
	set_number(h, out, M_PIDS_CURRENT, &f[F_PIDS_CURRENT], absent);
	set_limit(h, out, M_PIDS_MAX, &f[F_PIDS_MAX], absent);

	/* cpu.stat always exists on v2; the throttling lines only with the
	 * cpu controller enabled. */
	struct cgroup_cpu_stat cs = { NAN, NAN, NAN, NAN };
	if (!f[F_CPU_STAT].err)
		cgroup_parse_cpu_stat(f[F_CPU_STAT].text, &cs);
	absent_why(p, "cpu", p->m.v1_cpu, absent, sizeof(absent));
	out->values[M_NR_THROTTLED] = cs.nr_throttled;
	out->values[M_THROTTLED_USEC] = cs.throttled_usec;
	if (isnan(cs.nr_throttled))
		h->metric_why(out, M_NR_THROTTLED, absent);
	if (isnan(cs.throttled_usec))
		h->metric_why(out, M_THROTTLED_USEC, absent);
}

/* One table row; multi-line files are joined with "; ". */
static void add_file_row(const struct pscope_host *h, struct pscope_plugin_out *out,
			 const char *name, const char *text, const char *note)
{
	char joined[4096];
	size_t o = 0;

	for (const char *s = text; s && *s && o + 3 < sizeof(joined); s++) {
		if (*s != '\n') {
			joined[o++] = *s;
		} else if (s[1]) {
			joined[o++] = ';';
			joined[o++] = ' ';
		}
	}
	joined[o] = 0;
	union pscope_cell row[3] = { { .str = name }, { .str = text ? joined : NULL },
				     { .str = note } };
	h->add_row(out, 0, row);
}

static int cg_sample(void *state, const struct pscope_host *h, const struct pscope_target *t,
		     struct pscope_plugin_out *out)
{
	struct cg_place *p = malloc(sizeof(*p));
	struct cg_file *f = malloc(F_COUNT * sizeof(*f));
	int rc = -ENOMEM;

	(void)state;
	if (!p || !f)
		goto done;
	rc = locate(h, t, p, out->why, sizeof(out->why));
	if (rc <= 0) {
		rc = rc < 0 ? rc : -ENOENT;   /* it moved somewhere we cannot follow */
		goto done;
	}
	rc = 0;
	add_file_row(h, out, "(cgroup)", p->cgroup, p->note[0] ? p->note : NULL);
	for (int i = 0; i < F_COUNT; i++) {
		char path[8400];
		snprintf(path, sizeof(path), "%s/%s", p->dir, file_names[i]);
		ssize_t n = read_small(path, f[i].text, sizeof(f[i].text));
		f[i].err = n < 0 ? (int)n : 0;
		add_file_row(h, out, file_names[i], n < 0 ? NULL : f[i].text,
			     n == -ENOENT ? "absent" : n < 0 ? strerror((int)-n) : NULL);
	}
	fill_memory(h, out, f, p);
	fill_pids_cpu(h, out, f, p);
done:
	free(p);
	free(f);
	return rc;
}

PSCOPE_PLUGIN_EXPORT const struct pscope_plugin pscope_plugin = {
	.abi_version = PSCOPE_PLUGIN_ABI_VERSION,
	.name = "cgroup",
	.version = "1.0",
	.description = "cgroup v2 limits, OOM kills, memory pressure and CPU throttling",
	/* About fifteen small files a sample: as much as pscope's own sampling
	 * of a small process.  Limits, OOM counts and PSI's 10-second averages
	 * change slowly; every 2 s is enough. */
	.interval_s = 2,
	.metrics = metrics,
	.nmetrics = M_COUNT,
	.tables = tables,
	.ntables = 1,
	.probe = cg_probe,
	.sample = cg_sample,
};
