/* cgroup_parse.h — pure parsers for the cgroup plugin: text in, struct out.
 *
 * They never read files, so tests feed them fixtures (tests/fixtures/cgroup)
 * including malformed ones.  A value a file does not carry is NAN.  Each
 * returns 0, or -EINVAL for text that is not what the file should hold. */
#ifndef PSCOPE_CGROUP_PARSE_H
#define PSCOPE_CGROUP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* /proc/PID/cgroup: "0::/path" for cgroup v2, "N:controllers:/path" for v1
 * hierarchies.  v1_memory: the memory controller is on a v1 hierarchy (a
 * v1-only or hybrid system: no memory.* files on v2). */
struct cgroup_membership {
	bool has_v2;
	char v2_path[4096];        /* relative to the cgroup namespace's root */
	bool has_v1;
	bool v1_memory, v1_pids, v1_cpu;
};
int cgroup_parse_membership(const char *text, struct cgroup_membership *out);

/* /proc/PID/mountinfo: the first cgroup2 mount.  mount_point is where it is
 * mounted in that mount namespace, root the cgroup it shows at that point.
 * -ENOENT when there is no cgroup2 mount. */
struct cgroup_mount {
	char mount_point[4096];
	char root[4096];
};
int cgroup_parse_mountinfo(const char *text, struct cgroup_mount *out);

/* memory.max, memory.high, pids.max, ...: a number or "max".  unlimited is
 * true for "max" (value is then NAN). */
int cgroup_parse_limit(const char *text, double *value, bool *unlimited);

/* memory.current, pids.current: one number. */
int cgroup_parse_number(const char *text, double *value);

/* memory.events */
struct cgroup_mem_events {
	double low, high, max, oom, oom_kill, oom_group_kill;
};
int cgroup_parse_mem_events(const char *text, struct cgroup_mem_events *out);

/* cpu.stat */
struct cgroup_cpu_stat {
	double usage_usec, nr_periods, nr_throttled, throttled_usec;
};
int cgroup_parse_cpu_stat(const char *text, struct cgroup_cpu_stat *out);

/* memory.pressure, cpu.pressure, io.pressure (PSI).  The "full" line is
 * absent from cpu.pressure on older kernels. */
struct cgroup_psi_line {
	double avg10, avg60, avg300, total;
};
struct cgroup_pressure {
	struct cgroup_psi_line some, full;
};
int cgroup_parse_pressure(const char *text, struct cgroup_pressure *out);

#endif
