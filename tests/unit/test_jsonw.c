/* The streaming JSON writer: commas, escaping, numbers, hostile strings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "jsonw.h"

static void test_nesting_and_commas(void **state)
{
	(void)state;
	struct jsonw w;
	jsonw_init(&w);
	jsonw_object_begin(&w);
	jsonw_kv_int(&w, "a", 1);
	jsonw_key(&w, "list");
	jsonw_array_begin(&w);
	jsonw_int(&w, 1);
	jsonw_object_begin(&w);
	jsonw_object_end(&w);
	jsonw_array_begin(&w);
	jsonw_array_end(&w);
	jsonw_null(&w);
	jsonw_array_end(&w);
	jsonw_kv_bool(&w, "ok", true);
	jsonw_object_end(&w);
	assert_string_equal(w.buf, "{\"a\":1,\"list\":[1,{},[],null],\"ok\":true}");
	jsonw_reset(&w);
	jsonw_array_begin(&w);
	jsonw_array_end(&w);
	assert_string_equal(w.buf, "[]");
	jsonw_free(&w);
}

static void test_strings_are_escaped_and_sanitized(void **state)
{
	(void)state;
	struct jsonw w;
	jsonw_init(&w);
	jsonw_array_begin(&w);
	jsonw_string(&w, "q\"b\\s/");
	jsonw_string(&w, "caf\xc3\xa9");
	jsonw_string(&w, "\x1b]2;T\x07\xc2\x9b\xff");
	jsonw_string(&w, NULL);
	jsonw_array_end(&w);
	/* Controls, C1 and invalid bytes become U+FFFD before escaping. */
	assert_string_equal(w.buf, "[\"q\\\"b\\\\s/\",\"caf\xc3\xa9\","
			    "\"\xef\xbf\xbd]2;T\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\",\"\"]");
	jsonw_free(&w);
}

static void test_long_string_takes_the_slow_path(void **state)
{
	(void)state;
	char big[2000];
	struct jsonw w;
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 100 ? 'x' : '\n';
	big[sizeof(big) - 1] = '\0';
	jsonw_init(&w);
	jsonw_string(&w, big);
	assert_int_equal(w.len, 2 + 1999 + 20 * 2);   /* 20 newlines, 3 bytes each */
	jsonw_free(&w);
}

static void test_numbers(void **state)
{
	(void)state;
	struct jsonw w;
	jsonw_init(&w);
	jsonw_array_begin(&w);
	jsonw_double(&w, 2.5, 3);
	jsonw_double(&w, 3, 3);
	jsonw_double(&w, -0.0001, 3);
	jsonw_double(&w, NAN, 3);
	jsonw_double(&w, INFINITY, 3);
	jsonw_double(&w, 1795346051.2567, 3);
	jsonw_int(&w, INT64_MIN);
	jsonw_array_end(&w);
	assert_string_equal(w.buf, "[2.5,3.0,0.0,null,null,1795346051.257,-9223372036854775808]");
	jsonw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_strings_are_escaped_and_sanitized),
		cmocka_unit_test(test_long_string_takes_the_slow_path),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
