/* Pure parts of the core: the command line, permission bits, name
 * matching, size formatting, and what the batch writers let through. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "metrics.h"
#include "options.h"
#include "perm.h"
#include "procfind.h"

static int parse(struct options *o, char *err, int argc, ...)
{
	char *argv[16];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	return options_parse(argc, argv, o, err, 256);
}

static void test_options_pids_names_and_values(void **state)
{
	(void)state;
	struct options o;
	char err[256];
	assert_int_equal(parse(&o, err, 8, "pscope", "-b", "-p", "12,34", "-d", "0.5", "56", "nginx"), 0);
	assert_true(o.batch);
	assert_int_equal(o.npids, 3);
	assert_int_equal(o.pids[0], 12);
	assert_int_equal(o.pids[2], 56);
	assert_int_equal(o.nnames, 1);
	assert_string_equal(o.names[0], "nginx");
	assert_float_equal(o.delay, 0.5, 0);
	assert_float_equal(o.window_s, 60, 0);
	options_free(&o);
}

static void test_options_reject_bad_values(void **state)
{
	(void)state;
	struct options o;
	char err[256];
	assert_int_equal(parse(&o, err, 3, "pscope", "-d", "abc"), -1);
	assert_non_null(strstr(err, "-d"));
	options_free(&o);
	assert_int_equal(parse(&o, err, 3, "pscope", "-d", "-1"), -1);
	options_free(&o);
	assert_int_equal(parse(&o, err, 3, "pscope", "-d", "nan"), -1);
	options_free(&o);
	assert_int_equal(parse(&o, err, 3, "pscope", "-n", "0"), -1);
	options_free(&o);
	assert_int_equal(parse(&o, err, 3, "pscope", "-p", "1,x"), -1);
	options_free(&o);
	assert_int_equal(parse(&o, err, 3, "pscope", "-p", ","), -1);
	options_free(&o);
	assert_int_equal(parse(&o, err, 2, "pscope", "--nope"), -1);
	assert_non_null(strstr(err, "--nope"));
	options_free(&o);
	assert_int_equal(parse(&o, err, 2, "pscope", "-d"), -1);
	assert_non_null(strstr(err, "needs a value"));
	options_free(&o);
}

/* -s is batch + stacks + no plugins, once unless -n says otherwise. */
static void test_options_stack_dump(void **state)
{
	(void)state;
	struct options o;
	char err[256];
	assert_int_equal(parse(&o, err, 3, "pscope", "-s", "42"), 0);
	assert_true(o.stack_dump && o.batch && o.stacks && o.no_plugins);
	assert_int_equal(o.count, 1);
	options_free(&o);
	assert_int_equal(parse(&o, err, 5, "pscope", "--stack-dump", "-n", "3", "42"), 0);
	assert_int_equal(o.count, 3);
	options_free(&o);
	assert_int_equal(parse(&o, err, 4, "pscope", "-s", "--no-ptrace", "42"), -1);
	assert_non_null(strstr(err, "--no-ptrace"));
	options_free(&o);
}

static void test_perm_cap_bit(void **state)
{
	(void)state;
	const char *status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000080000\n"
			     "CapBnd:\t000001ffffffffff\n";
	assert_true(perm_cap_bit(status, "CapEff", 19));
	assert_false(perm_cap_bit(status, "CapEff", 18));
	assert_true(perm_cap_bit(status, "CapBnd", 40));
	assert_false(perm_cap_bit(status, "CapPrm", 19));
	assert_false(perm_cap_bit("", "CapEff", 19));
}

static void test_procfind_name_rules(void **state)
{
	(void)state;
	assert_true(procfind_name_matches("nginx", "nginx", "/usr/sbin/nginx"));
	assert_true(procfind_name_matches("nginx", "ngx-worker", "/usr/sbin/nginx"));
	assert_false(procfind_name_matches("ngin", "nginx", "/usr/sbin/nginx"));
	/* comm is cut to 15 bytes by the kernel. */
	assert_true(procfind_name_matches("a-very-long-daemon-name", "a-very-long-dae", NULL));
	assert_false(procfind_name_matches("a-very-long-daemon-name", "a-very-long", NULL));
	assert_false(procfind_name_matches("x", NULL, ""));
}

static void test_format_kb(void **state)
{
	(void)state;
	char b[32];
	batch_format_kb(812, b, sizeof(b));
	assert_string_equal(b, "812K");
	batch_format_kb(12.3 * 1024, b, sizeof(b));
	assert_string_equal(b, "12.3M");
	batch_format_kb(-2048, b, sizeof(b));
	assert_string_equal(b, "-2.0M");
	batch_format_kb(NAN, b, sizeof(b));
	assert_string_equal(b, "?");
}

static char *render(const struct sample *s, bool json)
{
	struct history h;
	struct batch_options bo = { .window_s = 60, .utf8 = true };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	double v[M_BUILTIN_COUNT];

	history_init(&h, 4);
	metrics_register(&h);
	metrics_extract(s, v);
	history_push(&h, 1, v);
	if (json)
		batch_write_json(f, s, &h, &bo);
	else
		batch_write_text(f, s, &h, &bo);
	fclose(f);
	history_free(&h);
	return out;
}

static void assert_no_raw_controls(const char *out)
{
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		assert_true(*p >= 0x20 || *p == '\n');
		assert_true(*p != 0x7f);
		/* U+0080..U+009F encode as C2 80..C2 9F */
		if (*p == 0xc2)
			assert_true(p[1] < 0x80 || p[1] > 0x9f);
	}
}

static void test_writers_sanitize_hostile_names(void **state)
{
	(void)state;
	struct sample s;
	sample_init(&s);
	s.id.pid = 42;
	s.id.state = 'S';
	snprintf(s.id.comm, sizeof(s.id.comm), "\x1b]2;PWNED\x07\xc2\x9b" "31m\xff");
	s.id.cmdline = strdup("evil \x1b[31mred\n\x7f");
	s.threads.count = 1;
	s.threads.list = calloc(1, sizeof(*s.threads.list));
	s.threads.list[0].tid = 43;
	s.threads.list[0].state = 'S';
	s.threads.list[0].cpu_pct = NAN;
	snprintf(s.threads.list[0].name, sizeof(s.threads.list[0].name), "w\x1b[2J");

	char *json = render(&s, true), *text = render(&s, false);
	assert_no_raw_controls(json);
	assert_no_raw_controls(text);
	assert_non_null(strstr(json, "\"pid\":42"));
	assert_non_null(strstr(text, "pid 42"));
	assert_null(strstr(json, "PWNED\\u0007"));
	free(json);
	free(text);
	sample_free(&s);
}

static void test_json_omits_unreadable_instead_of_zero(void **state)
{
	(void)state;
	struct sample s;
	sample_init(&s);
	s.id.pid = 7;
	s.id.state = 'S';
	s.mem.rss_kb = 100;
	sample_set_unreadable(&s, PART_PSS, -13, "permission denied: test");
	sample_set_unreadable(&s, PART_FDS, -13, "permission denied: test");
	char *json = render(&s, true);
	/* pss_kb is left out of memory, not written as 0. */
	assert_non_null(strstr(json, "\"memory\":{\"rss_kb\":100}"));
	assert_non_null(strstr(json, "\"unreadable\":[\"pss\",\"fds\"]"));
	assert_non_null(strstr(json, "\"unreadable_why\""));
	free(json);
	sample_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_pids_names_and_values),
		cmocka_unit_test(test_options_reject_bad_values),
		cmocka_unit_test(test_options_stack_dump),
		cmocka_unit_test(test_perm_cap_bit),
		cmocka_unit_test(test_procfind_name_rules),
		cmocka_unit_test(test_format_kb),
		cmocka_unit_test(test_writers_sanitize_hostile_names),
		cmocka_unit_test(test_json_omits_unreadable_instead_of_zero),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
