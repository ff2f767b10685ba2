/* The ring buffer and the growth math: what a user reads as "+2.0M/min". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "history.h"
#include "metrics.h"

static void push1(struct history *h, double t, double v)
{
	double vals[1] = { v };
	history_push(h, t, vals);
}

static void test_fit_slope_exact_line(void **state)
{
	(void)state;
	double x[] = { 0, 1, 2, 3, 4 }, y[] = { 10, 12, 14, 16, 18 };
	assert_float_equal(history_fit_slope(x, y, 5), 2.0, 1e-12);
}

static void test_fit_slope_skips_nan_and_needs_two_points(void **state)
{
	(void)state;
	double x[] = { 0, 1, 2 }, y[] = { NAN, 5, NAN };
	assert_true(isnan(history_fit_slope(x, y, 3)));
	double y2[] = { 1, NAN, 5 };
	assert_float_equal(history_fit_slope(x, y2, 3), 2.0, 1e-12);
	double same_x[] = { 3, 3 }, yy[] = { 1, 2 };
	assert_true(isnan(history_fit_slope(same_x, yy, 2)));
}

static void test_fit_slope_large_time_values(void **state)
{
	(void)state;
	/* Monotonic clocks can be large; centring keeps the precision. */
	double x[4], y[4];
	for (int i = 0; i < 4; i++) {
		x[i] = 1.7e9 + i * 0.5;
		y[i] = 100 + i * 0.5 * 3;
	}
	assert_float_equal(history_fit_slope(x, y, 4), 3.0, 1e-6);
}

static void test_ring_wraps_and_keeps_newest(void **state)
{
	(void)state;
	struct history h;
	history_init(&h, 4);
	size_t s = history_add_series(&h, "x");
	for (int i = 0; i < 10; i++)
		push1(&h, i, i * 10);
	assert_int_equal(h.len, 4);
	assert_float_equal(history_time_at(&h, 0), 6, 0);
	assert_float_equal(history_value_at(&h, s, 3), 90, 0);
	assert_float_equal(history_last(&h, s), 90, 0);
	assert_true(isnan(history_value_at(&h, s, 4)));
	history_free(&h);
}

static void test_slope_window_uses_recent_points(void **state)
{
	(void)state;
	struct history h;
	history_init(&h, 100);
	history_add_series(&h, "rss");
	/* Flat for 50 s, then +1 per second: a 10 s window sees only growth. */
	for (int t = 0; t < 60; t++)
		push1(&h, t, t < 50 ? 100 : 100 + (t - 50));
	assert_float_equal(history_slope_per_min(&h, 0, 9), 60.0, 1e-9);
	/* A window longer than the data uses all of it. */
	double all = history_slope_per_min(&h, 0, 1000);
	assert_true(all > 0 && all < 60.0);
	history_free(&h);
}

static void test_delta_since_attach_and_mark(void **state)
{
	(void)state;
	struct history h;
	history_init(&h, 8);
	history_add_series(&h, "fds");
	push1(&h, 0, NAN);     /* unreadable at first: never a fake 0 */
	push1(&h, 1, 10);
	push1(&h, 2, 15);
	assert_float_equal(history_delta(&h, 0), 5, 0);
	assert_float_equal(history_delta_seconds(&h), 1, 0);
	history_set_mark(&h);
	assert_true(history_has_mark(&h));
	assert_float_equal(history_delta(&h, 0), 0, 0);
	push1(&h, 3, 22);
	assert_float_equal(history_delta(&h, 0), 7, 0);
	assert_float_equal(history_delta_seconds(&h), 1, 0);
	history_clear_mark(&h);
	assert_float_equal(history_delta(&h, 0), 12, 0);
	history_free(&h);
}

static void test_mark_before_first_value(void **state)
{
	(void)state;
	struct history h;
	history_init(&h, 8);
	history_add_series(&h, "x");
	history_set_mark(&h);
	push1(&h, 5, 3);
	push1(&h, 6, 4);
	assert_float_equal(history_delta(&h, 0), 1, 0);
	assert_float_equal(history_delta_seconds(&h), 1, 0);
	history_free(&h);
}

static void test_series_added_later_reads_nan(void **state)
{
	(void)state;
	struct history h;
	history_init(&h, 4);
	history_add_series(&h, "a");
	push1(&h, 0, 1);
	size_t b = history_add_series(&h, "b");
	assert_true(isnan(history_value_at(&h, b, 0)));
	assert_int_equal(history_find(&h, "b"), (long)b);
	assert_int_equal(history_find(&h, "zz"), -1);
	/* Once the ring has wrapped, every slot it holds reads NAN too. */
	for (int i = 1; i <= 6; i++) {
		double v[2] = { i, i * 10 };
		history_push(&h, i, v);
	}
	size_t c = history_add_series(&h, "c");
	assert_int_equal(h.len, 4);
	for (size_t i = 0; i < h.len; i++) {
		assert_true(isnan(history_value_at(&h, c, i)));
		assert_true(history_value_at(&h, b, i) == (double)(i + 3) * 10);
	}
	history_free(&h);
}

static void test_metrics_names_are_unique_and_stable(void **state)
{
	(void)state;
	struct history h;
	char name[40];
	history_init(&h, 2);
	metrics_register(&h);
	assert_int_equal(h.nseries, M_BUILTIN_COUNT);
	assert_string_equal(metrics_name(M_RSS_KB, name, sizeof(name)), "rss_kb");
	assert_string_equal(metrics_name(M_FD_KIND0 + FD_PIPE, name, sizeof(name)), "fds.pipe");
	assert_string_equal(metrics_name(M_TCP_STATE0 + 7, name, sizeof(name)), "sockets.CLOSE_WAIT");
	for (size_t i = 0; i < h.nseries; i++)
		assert_int_equal(history_find(&h, h.names[i]), (long)i);
	history_free(&h);
}

static void test_metrics_extract_keeps_unreadable_as_nan(void **state)
{
	(void)state;
	struct sample s;
	double v[M_BUILTIN_COUNT];
	sample_init(&s);
	s.mem.rss_kb = 1234;
	sample_set_unreadable(&s, PART_THREADS, -13, "denied");
	metrics_extract(&s, v);
	assert_float_equal(v[M_RSS_KB], 1234, 0);
	assert_true(isnan(v[M_PSS_KB]));
	assert_true(isnan(v[M_THREADS]));
	assert_true(isnan(v[M_FD_KIND0 + FD_FILE]));
	assert_true(isnan(v[M_SOCKETS]));
	sample_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit_slope_exact_line),
		cmocka_unit_test(test_fit_slope_skips_nan_and_needs_two_points),
		cmocka_unit_test(test_fit_slope_large_time_values),
		cmocka_unit_test(test_ring_wraps_and_keeps_newest),
		cmocka_unit_test(test_slope_window_uses_recent_points),
		cmocka_unit_test(test_delta_since_attach_and_mark),
		cmocka_unit_test(test_mark_before_first_value),
		cmocka_unit_test(test_series_added_later_reads_nan),
		cmocka_unit_test(test_metrics_names_are_unique_and_stable),
		cmocka_unit_test(test_metrics_extract_keeps_unreadable_as_nan),
	};
	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
