/* The cgroup plugin's parsers (plugins/cgroup/cgroup_parse.h) on fixtures
 * (tests/fixtures/cgroup): a pure v2 host, the hybrid v1+v2 layout of a
 * container, v1 only, a Kubernetes-style sub-tree mount, and malformed
 * copies of each file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup_parse.h"
#include "util.h"

#define CG FIXTURES "/cgroup/"

static char *load(const char *name)
{
	char *buf = NULL;
	size_t cap = 0;

	assert_true(util_read_at(-1, name, &buf, &cap) >= 0);
	return buf;
}

static void test_membership_v2(void **state)
{
	struct cgroup_membership m;
	char *text = load(CG "proc_cgroup_v2");

	(void)state;
	assert_int_equal(cgroup_parse_membership(text, &m), 0);
	assert_true(m.has_v2);
	assert_false(m.has_v1);
	assert_string_equal(m.v2_path, "/user.slice/user-1000.slice/session-2.scope");
	free(text);
}

static void test_membership_hybrid_and_v1(void **state)
{
	struct cgroup_membership m;
	char *text = load(CG "proc_cgroup_hybrid");

	(void)state;
	assert_int_equal(cgroup_parse_membership(text, &m), 0);
	assert_true(m.has_v2 && m.has_v1);
	assert_string_equal(m.v2_path, "/");
	assert_true(m.v1_memory && m.v1_pids && m.v1_cpu);
	free(text);

	text = load(CG "proc_cgroup_v1");
	assert_int_equal(cgroup_parse_membership(text, &m), 0);
	assert_false(m.has_v2);
	assert_true(m.v1_memory && m.v1_pids && m.v1_cpu);   /* "cpu,cpuacct" */
	free(text);
}

static void test_membership_odd(void **state)
{
	struct cgroup_membership m;
	char *text = load(CG "proc_cgroup_colon");

	(void)state;
	assert_int_equal(cgroup_parse_membership(text, &m), 0);
	assert_string_equal(m.v2_path, "/odd:name/x");   /* split on the first two ':' */
	free(text);

	text = load(CG "proc_cgroup_bad");
	assert_int_equal(cgroup_parse_membership(text, &m), -EINVAL);
	free(text);
	assert_int_equal(cgroup_parse_membership("", &m), -EINVAL);
	assert_int_equal(cgroup_parse_membership("0::relative\n", &m), -EINVAL);
	assert_int_equal(cgroup_parse_membership("x::/\n", &m), -EINVAL);
}

static void test_mountinfo(void **state)
{
	struct cgroup_mount mnt;
	char *text;

	(void)state;
	text = load(CG "mountinfo_host");
	assert_int_equal(cgroup_parse_mountinfo(text, &mnt), 0);
	assert_string_equal(mnt.mount_point, "/sys/fs/cgroup");
	assert_string_equal(mnt.root, "/");
	free(text);

	text = load(CG "mountinfo_hybrid");
	assert_int_equal(cgroup_parse_mountinfo(text, &mnt), 0);
	assert_string_equal(mnt.mount_point, "/sys/fs/cgroup/unified");
	free(text);

	text = load(CG "mountinfo_subtree");
	assert_int_equal(cgroup_parse_mountinfo(text, &mnt), 0);
	assert_string_equal(mnt.root, "/kubepods/pod1/c1");
	free(text);

	text = load(CG "mountinfo_escaped");
	assert_int_equal(cgroup_parse_mountinfo(text, &mnt), 0);
	assert_string_equal(mnt.mount_point, "/mnt/my cgroups");
	free(text);

	text = load(CG "mountinfo_v1");
	assert_int_equal(cgroup_parse_mountinfo(text, &mnt), -ENOENT);
	free(text);
	text = load(CG "mountinfo_bad");   /* no " - " separator */
	assert_int_equal(cgroup_parse_mountinfo(text, &mnt), -EINVAL);
	free(text);
}

static void test_limits(void **state)
{
	double v;
	bool unlimited;

	(void)state;
	assert_int_equal(cgroup_parse_limit("max\n", &v, &unlimited), 0);
	assert_true(unlimited && isnan(v));
	assert_int_equal(cgroup_parse_limit("536870912\n", &v, &unlimited), 0);
	assert_false(unlimited);
	assert_true(v == 536870912.0);
	assert_int_equal(cgroup_parse_limit("0", &v, &unlimited), 0);
	assert_true(v == 0);
	assert_int_equal(cgroup_parse_limit("", &v, &unlimited), -EINVAL);
	assert_int_equal(cgroup_parse_limit("maxi\n", &v, &unlimited), -EINVAL);
	assert_int_equal(cgroup_parse_limit("-1\n", &v, &unlimited), -EINVAL);
	assert_int_equal(cgroup_parse_limit("12\n34\n", &v, &unlimited), -EINVAL);
	assert_int_equal(cgroup_parse_number("8192\n", &v), 0);
	assert_true(v == 8192);
	assert_int_equal(cgroup_parse_number("max\n", &v), -EINVAL);
}

static void test_mem_events(void **state)
{
	struct cgroup_mem_events ev;
	char *text;

	(void)state;
	text = load(CG "memory.events");
	assert_int_equal(cgroup_parse_mem_events(text, &ev), 0);
	assert_true(ev.high == 12 && ev.max == 7 && ev.oom == 3 && ev.oom_kill == 2);
	assert_true(ev.oom_group_kill == 0);
	free(text);

	text = load(CG "memory.events_old");   /* before oom_group_kill existed */
	assert_int_equal(cgroup_parse_mem_events(text, &ev), 0);
	assert_true(ev.oom_kill == 1 && isnan(ev.oom_group_kill));
	free(text);

	text = load(CG "memory.events_bad");
	assert_int_equal(cgroup_parse_mem_events(text, &ev), -EINVAL);
	free(text);
	assert_int_equal(cgroup_parse_mem_events("", &ev), -EINVAL);
}

static void test_cpu_stat(void **state)
{
	struct cgroup_cpu_stat cs;
	char *text;

	(void)state;
	text = load(CG "cpu.stat");
	assert_int_equal(cgroup_parse_cpu_stat(text, &cs), 0);
	assert_true(cs.usage_usec == 5000 && cs.nr_periods == 40);
	assert_true(cs.nr_throttled == 7 && cs.throttled_usec == 123456);
	free(text);

	text = load(CG "cpu.stat_nocpu");   /* no cpu controller: no throttling lines */
	assert_int_equal(cgroup_parse_cpu_stat(text, &cs), 0);
	assert_true(cs.usage_usec == 5000 && isnan(cs.nr_throttled) && isnan(cs.throttled_usec));
	free(text);

	text = load(CG "cpu.stat_bad");
	assert_int_equal(cgroup_parse_cpu_stat(text, &cs), -EINVAL);
	free(text);
}

static void test_pressure(void **state)
{
	struct cgroup_pressure ps;
	char *text;

	(void)state;
	text = load(CG "memory.pressure");
	assert_int_equal(cgroup_parse_pressure(text, &ps), 0);
	assert_true(ps.some.avg10 == 1.25 && ps.some.avg60 == 0.5 && ps.some.total == 123456);
	assert_true(ps.full.avg10 == 0.75 && ps.full.avg300 == 0.05);
	free(text);

	text = load(CG "cpu.pressure_some_only");
	assert_int_equal(cgroup_parse_pressure(text, &ps), 0);
	assert_true(ps.some.avg10 == 3 && isnan(ps.full.avg10));
	free(text);

	text = load(CG "pressure_bad");
	assert_int_equal(cgroup_parse_pressure(text, &ps), -EINVAL);
	free(text);
	assert_int_equal(cgroup_parse_pressure("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
					       &ps), -EINVAL);   /* no "some" line */
	assert_int_equal(cgroup_parse_pressure("some avg10=1.00\n", &ps), -EINVAL);
}

/* Every prefix of every fixture: no crash, no read past the end. */
static void test_every_prefix(void **state)
{
	static const char *const names[] = {
		"proc_cgroup_hybrid", "mountinfo_subtree", "memory.events", "memory.pressure",
		"cpu.stat",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), CG "%s", names[i]);
		char *text = load(path);
		size_t len = strlen(text);
		for (size_t n = 0; n <= len; n++) {
			char *cut = xstrndup(text, n);
			struct cgroup_membership m;
			struct cgroup_mount mnt;
			struct cgroup_mem_events ev;
			struct cgroup_cpu_stat cs;
			struct cgroup_pressure ps;
			cgroup_parse_membership(cut, &m);
			cgroup_parse_mountinfo(cut, &mnt);
			cgroup_parse_mem_events(cut, &ev);
			cgroup_parse_cpu_stat(cut, &cs);
			cgroup_parse_pressure(cut, &ps);
			free(cut);
		}
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_membership_v2),
		cmocka_unit_test(test_membership_hybrid_and_v1),
		cmocka_unit_test(test_membership_odd),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mem_events),
		cmocka_unit_test(test_cpu_stat),
		cmocka_unit_test(test_pressure),
		cmocka_unit_test(test_every_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
