/* The UI's pure parts: number, rate and duration formatting, sparklines
 * and graphs, the layout at various terminal sizes, the config file
 * parser (malformed input included) and the table's sort, filter, search
 * and selection rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curses.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "format.h"
#include "layout.h"
#include "table.h"

static void test_format_kb(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(format_kb(0, b, sizeof(b)), "0K");
	assert_string_equal(format_kb(812, b, sizeof(b)), "812K");
	assert_string_equal(format_kb(999, b, sizeof(b)), "999K");
	assert_string_equal(format_kb(1000, b, sizeof(b)), "1000K");
	assert_string_equal(format_kb(12.3 * 1024, b, sizeof(b)), "12.3M");
	assert_string_equal(format_kb(1.21 * 1024 * 1024, b, sizeof(b)), "1.2G");
	assert_string_equal(format_kb(NAN, b, sizeof(b)), "n/a");
	assert_string_equal(format_kb_delta(512, b, sizeof(b)), "+512K");
	assert_string_equal(format_kb_delta(-2048, b, sizeof(b)), "-2.0M");
	assert_string_equal(format_kb_delta(0, b, sizeof(b)), "0K");
	assert_string_equal(format_kb_delta(NAN, b, sizeof(b)), "n/a");
	/* Every size fits six columns, whatever its magnitude. */
	for (double v = 1; v < 1e15; v *= 3.7)
		assert_true(strlen(format_kb(v, b, sizeof(b))) <= 6);
}

static void test_format_count_and_pct(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(format_count(37, b, sizeof(b)), "37");
	assert_string_equal(format_count(9999, b, sizeof(b)), "9999");
	assert_string_equal(format_count(12345, b, sizeof(b)), "12.3k");
	assert_string_equal(format_count(4.5e6, b, sizeof(b)), "4.50M");
	assert_string_equal(format_count_delta(3, b, sizeof(b)), "+3");
	assert_string_equal(format_count_delta(-3, b, sizeof(b)), "-3");
	assert_string_equal(format_count(NAN, b, sizeof(b)), "n/a");
	assert_string_equal(format_pct(12.54, b, sizeof(b)), "12.5%");
	assert_string_equal(format_pct(250, b, sizeof(b)), "250%");
	assert_string_equal(format_pct(NAN, b, sizeof(b)), "n/a");
}

static void test_format_rate(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(format_rate(60, false, b, sizeof(b)), "+60/m");
	assert_string_equal(format_rate(1.5, false, b, sizeof(b)), "+1.5/m");
	assert_string_equal(format_rate(-2, false, b, sizeof(b)), "-2.0/m");
	/* Noise from the fit is flat, not a tiny leak. */
	assert_string_equal(format_rate(0.01, false, b, sizeof(b)), "0/m");
	assert_string_equal(format_rate(1024, true, b, sizeof(b)), "+1.0M/m");
	assert_string_equal(format_rate(NAN, true, b, sizeof(b)), "n/a");
}

static void test_format_duration(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(format_duration(59.9, b, sizeof(b)), "59s");
	assert_string_equal(format_duration(725, b, sizeof(b)), "12m05s");
	assert_string_equal(format_duration(3 * 3600 + 12 * 60, b, sizeof(b)), "3h12m");
	assert_string_equal(format_duration(5 * 86400 + 3 * 3600, b, sizeof(b)), "5d03h");
	assert_string_equal(format_duration(-1, b, sizeof(b)), "n/a");
}

static void test_sparkline(void **state)
{
	(void)state;
	char b[256];
	double up[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	assert_string_equal(format_sparkline(up, 8, 8, GLYPHS_ASCII, b, sizeof(b)), "_.-~=+*#");
	assert_string_equal(format_sparkline(up, 8, 8, GLYPHS_UTF8, b, sizeof(b)), "▁▂▃▄▅▆▇█");
	/* Only the newest `width` values; unreadable ones are gaps. */
	double gap[] = { 100, 0, NAN, 7 };
	assert_string_equal(format_sparkline(gap, 4, 3, GLYPHS_ASCII, b, sizeof(b)), "_ #");
	/* A flat series sits at the bottom: growth is what must stand out. */
	double flat[] = { 5, 5, 5 };
	assert_string_equal(format_sparkline(flat, 3, 10, GLYPHS_ASCII, b, sizeof(b)), "___");
	assert_string_equal(format_sparkline(up, 0, 10, GLYPHS_ASCII, b, sizeof(b)), "");
	/* A buffer too small is cut at a glyph boundary, never mid-character. */
	char small[8];
	format_sparkline(up, 8, 8, GLYPHS_UTF8, small, sizeof(small));
	assert_string_equal(small, "▁▂");
}

static void test_graph(void **state)
{
	(void)state;
	char r0[64], r1[64];
	char *rows[] = { r0, r1 };
	double lo, hi;
	double v[] = { 0, 10 };
	format_graph(v, 2, 2, 2, GLYPHS_ASCII, rows, &lo, &hi);
	assert_true(lo == 0 && hi == 10);
	assert_string_equal(r0, " #");
	assert_string_equal(r1, "##");
	double none[] = { NAN, NAN };
	format_graph(none, 2, 2, 2, GLYPHS_ASCII, rows, &lo, &hi);
	assert_true(isnan(lo) && isnan(hi));
	assert_string_equal(r0, "  ");
	/* Braille: a full cell is U+28FF, an empty one a space. */
	double full[] = { 1, 1, 1, 1 };
	format_graph(full, 4, 2, 1, GLYPHS_UTF8, rows, &lo, &hi);
	assert_string_equal(r0, "⣿⣿");
	double many[1000];
	for (int i = 0; i < 1000; i++)
		many[i] = i == 500 ? 100 : 1;
	format_graph(many, 1000, 10, 2, GLYPHS_ASCII, rows, &lo, &hi);
	/* A one-sample spike survives resampling to 10 columns. */
	assert_true(hi == 100);
	assert_non_null(strchr(r0, '#'));
}

static void test_layout(void **state)
{
	(void)state;
	struct layout l = layout_compute(80, 24, 7, false);
	assert_false(l.too_small);
	assert_int_equal(l.vital_cols, 2);
	assert_int_equal(l.header_h, 5);
	assert_int_equal(l.pane_y, 6);
	assert_int_equal(l.bar_y, 23);
	assert_int_equal(l.pane_y + l.pane_h, l.bar_y);
	l = layout_compute(200, 50, 7, false);
	assert_int_equal(l.vital_cols, 3);
	assert_int_equal(l.header_h, 4);
	l = layout_compute(60, 20, 7, false);
	assert_int_equal(l.vital_cols, 1);
	assert_true(l.pane_h >= 3);
	l = layout_compute(80, 24, 7, true);
	assert_int_equal(l.pane_y, 0);
	assert_int_equal(l.pane_h, 23);
	assert_true(layout_compute(59, 24, 7, false).too_small);
	assert_true(layout_compute(80, 15, 7, false).too_small);
	assert_true(layout_compute(0, 0, 7, false).too_small);
}

static void test_config(void **state)
{
	(void)state;
	struct ui_config c;
	char err[256];
	config_defaults(&c);
	assert_true(isnan(c.delay));
	assert_int_equal(config_parse_text("# comment\n[pscope]\ndelay = 0.5\nhistory=600\n"
					   "vim_keys = yes\nascii = off\ncolor = never\n"
					   "default_pane = Resources\nstack_interval = 30\n",
					   "cfg", &c, err, sizeof(err)), 0);
	assert_true(c.delay == 0.5 && c.history_s == 600 && c.stack_interval == 30);
	assert_true(c.vim_keys && !c.ascii && c.color == COLOR_NEVER);
	assert_int_equal(c.default_pane, 3);
	assert_int_equal(config_parse_text("", "cfg", &c, err, sizeof(err)), 0);

	struct { const char *text, *want; } bad[] = {
		{ "delay = fast\n", "cfg line 1: bad value 'fast' for delay" },
		{ "delay = 0\n", "cfg line 1: bad value '0' for delay" },
		{ "\n\nvim_keys = maybe\n", "cfg line 3: bad value 'maybe' for vim_keys" },
		{ "colour = purple\n", "cfg line 1: bad value 'purple' for colour" },
		{ "frobnicate = 1\n", "cfg line 1: unknown setting 'frobnicate'" },
		{ "[other]\ndelay = 1\n", "cfg line 2: unknown section [other]" },
		{ "default_pane = nope\n", "cfg line 1: bad value 'nope' for default_pane" },
		{ "just words\n", "cfg line 1: not a 'name = value' line" },
		{ "[unterminated\n", "cfg line 1: not a 'name = value' line" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&c);
		assert_int_equal(config_parse_text(bad[i].text, "cfg", &c, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].want);
	}
	assert_int_equal(config_load("/nonexistent/pscope.conf", false, &c, err, sizeof(err)), 0);
	assert_int_equal(config_load("/nonexistent/pscope.conf", true, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

static const struct table_col cols[] = {
	{ "ID", 5, true, true }, { "NAME", 0, false, false },
};

static void fill(struct table *t, int n)
{
	char b[32];
	table_begin(t);
	for (int i = 0; i < n; i++) {
		table_add(t, (uint64_t)i, ROLE_NORMAL);
		snprintf(b, sizeof(b), "%d", i);
		table_cell(t, b, i);
		snprintf(b, sizeof(b), "%s-%d", i % 2 ? "odd" : "even", i);
		table_cell(t, b, NAN);
	}
	table_end(t);
}

static void test_table(void **state)
{
	(void)state;
	struct table t;
	uint64_t key;
	table_init(&t, cols, 2, 0, true);
	fill(&t, 100);
	/* Sorted by ID, largest first; selection on the first row. */
	assert_string_equal(table_text(&t, 0, 0), "99");
	assert_true(table_selected_key(&t, &key) && key == 99);
	t.page = 10;
	table_key(&t, KEY_DOWN);
	table_key(&t, KEY_NPAGE);
	assert_true(table_selected_key(&t, &key) && key == 89);
	/* A refill keeps the selection on the same key. */
	fill(&t, 120);
	assert_true(table_selected_key(&t, &key) && key == 89);
	/* Invert, then the filter hides what does not match. */
	table_key(&t, 'I');
	assert_string_equal(table_text(&t, 0, 0), "0");
	table_set_filter(&t, "ODD-1");
	assert_int_equal(t.nview, 16);   /* odd-1, odd-11..19 and odd-101..119 */
	table_set_filter(&t, "");
	assert_int_equal(t.nview, 120);
	/* Search wraps around, forward and back. */
	assert_true(table_search(&t, "even-118", 1));
	assert_true(table_selected_key(&t, &key) && key == 118);
	assert_true(table_search(&t, "even-2", -1));
	assert_true(table_selected_key(&t, &key) && key == 28);
	assert_false(table_search(&t, "nothing", 1));
	table_key(&t, KEY_END);
	assert_true(table_selected_key(&t, &key) && key == 119);
	table_key(&t, KEY_HOME);
	assert_true(table_selected_key(&t, &key) && key == 0);
	/* The sort moves to the name column: text order. */
	table_key(&t, '>');
	assert_int_equal(t.sort_col, 1);
	assert_string_equal(table_text(&t, 0, 1), "even-0");
	table_free(&t);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_kb),
		cmocka_unit_test(test_format_count_and_pct),
		cmocka_unit_test(test_format_rate),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_graph),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
