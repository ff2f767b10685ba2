/* The sanitizer: what reaches a terminal or a JSON string from a hostile
 * process name.  An invalid UTF-8 sequence costs one replacement per byte;
 * a control character (C0, DEL, C1) costs one per character. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

#define REP "\xef\xbf\xbd"

/* Sanitize exactly len bytes (which may hold NULs) with room to spare. */
static void check(const char *in, size_t len, bool utf8, const char *want)
{
	char out[256];
	size_t n = sanitize_bytes(in, len, out, sizeof(out), utf8);

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

#define CHECK(lit, utf8, want) check(lit, sizeof(lit) - 1, utf8, want)

static void test_ascii_unchanged(void **state)
{
	(void)state;
	CHECK("", true, "");
	CHECK("nginx: worker process", true, "nginx: worker process");
	CHECK("nginx: worker process", false, "nginx: worker process");
	CHECK(" !~{}[]()\"\\'/", true, " !~{}[]()\"\\'/");
}

static void test_utf8_unchanged(void **state)
{
	(void)state;
	CHECK("caf\xc3\xa9", true, "caf\xc3\xa9");                   /* é */
	CHECK("\xe6\x97\xa5\xe6\x9c\xac", true, "\xe6\x97\xa5\xe6\x9c\xac");   /* 日本 */
	CHECK("\xf0\x9f\x98\x80!", true, "\xf0\x9f\x98\x80!");       /* U+1F600 */
	/* The edges of each valid range. */
	CHECK("\xc2\xa0", true, "\xc2\xa0");                         /* U+00A0, after C1 */
	CHECK("\xdf\xbf", true, "\xdf\xbf");                         /* U+07FF */
	CHECK("\xe0\xa0\x80", true, "\xe0\xa0\x80");                 /* U+0800 */
	CHECK("\xed\x9f\xbf", true, "\xed\x9f\xbf");                 /* U+D7FF */
	CHECK("\xee\x80\x80", true, "\xee\x80\x80");                 /* U+E000 */
	CHECK("\xef\xbf\xbd", true, "\xef\xbf\xbd");                 /* U+FFFD */
	CHECK("\xf0\x90\x80\x80", true, "\xf0\x90\x80\x80");         /* U+10000 */
	CHECK("\xf4\x8f\xbf\xbf", true, "\xf4\x8f\xbf\xbf");         /* U+10FFFF */
}

static void test_controls_replaced(void **state)
{
	(void)state;
	CHECK("\x1b]2;PWNED\x07", true, REP "]2;PWNED" REP);
	CHECK("a\nb\tc\rd", true, "a" REP "b" REP "c" REP "d");
	CHECK("x\x7fy", true, "x" REP "y");
	CHECK("\x01\x1f", true, REP REP);
	/* C1: CSI (U+009B) is one character, one replacement. */
	CHECK("\xc2\x9b" "31m", true, REP "31m");
	CHECK("\xc2\x80\xc2\x9f", true, REP REP);
	/* A NUL inside the given length is a C0 control like the others. */
	CHECK("a\0b", true, "a" REP "b");
	CHECK("\x1b[2J\n", false, "?[2J?");
	CHECK("\xc2\x9b", false, "?");
}

static void test_invalid_bytes_replaced(void **state)
{
	(void)state;
	CHECK("\xff", true, REP);
	CHECK("\xfe\xf5\xf8", true, REP REP REP);
	CHECK("\x80", true, REP);                                    /* lone continuation */
	CHECK("a\xbf" "b", true, "a" REP "b");
	CHECK("\xe2\x82", true, REP REP);                            /* cut 3-byte sequence */
	CHECK("\xe2\x82" "A", true, REP REP "A");                    /* 'A' survives */
	CHECK("\xe2\x82\xe2\x82\xac", true, REP REP "\xe2\x82\xac"); /* then a good € */
	CHECK("\xc0\xaf", true, REP REP);                            /* overlong '/' */
	CHECK("\xc1\xbf", true, REP REP);
	CHECK("\xe0\x80\xaf", true, REP REP REP);                    /* overlong, 3 bytes */
	CHECK("\xf0\x80\x80\xaf", true, REP REP REP REP);            /* overlong, 4 bytes */
	CHECK("\xed\xa0\x80", true, REP REP REP);                    /* surrogate U+D800 */
	CHECK("\xed\xbf\xbf", true, REP REP REP);                    /* surrogate U+DFFF */
	CHECK("\xf4\x90\x80\x80", true, REP REP REP REP);            /* U+110000 */
	CHECK("\xf0\x9f\x98", true, REP REP REP);                    /* cut emoji */
	CHECK("\xc3", true, REP);
	CHECK("\xc3 ", true, REP " ");
	CHECK("\xff\x80", false, "??");
	CHECK("\xed\xa0\x80", false, "???");
}

static void test_ascii_mode(void **state)
{
	(void)state;
	/* One '?' per character, not per byte. */
	CHECK("caf\xc3\xa9", false, "caf?");
	CHECK("\xe6\x97\xa5\xe6\x9c\xac", false, "??");
	CHECK("\xf0\x9f\x98\x80!", false, "?!");
	CHECK("\xc2\xa0", false, "?");
	CHECK("plain", false, "plain");
}

static void test_truncation_on_boundaries(void **state)
{
	(void)state;
	const char *jp = "\xe6\x97\xa5\xe6\x9c\xac";   /* 日本 */
	char out[16];

	/* 日 takes 3 bytes and the NUL one: 本 does not fit in 5 or 6. */
	assert_int_equal(sanitize_bytes(jp, 6, out, 5, true), 3);
	assert_string_equal(out, "\xe6\x97\xa5");
	assert_int_equal(sanitize_bytes(jp, 6, out, 6, true), 3);
	assert_int_equal(sanitize_bytes(jp, 6, out, 7, true), 6);
	assert_int_equal(sanitize_bytes(jp, 6, out, 3, true), 0);
	assert_string_equal(out, "");
	/* A replacement is a character too. */
	assert_int_equal(sanitize_bytes("a\x1b", 2, out, 4, true), 1);
	assert_string_equal(out, "a");
	assert_int_equal(sanitize_bytes("a\x1b", 2, out, 5, true), 4);
	assert_string_equal(out, "a" REP);
	assert_int_equal(sanitize_bytes("abc", 3, out, 3, true), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(sanitize_bytes("\xc3\xa9x", 3, out, 2, false), 1);
	assert_string_equal(out, "?");
	assert_int_equal(sanitize_bytes("abc", 3, out, 1, true), 0);
	assert_string_equal(out, "");

	/* No room at all: nothing is written, not even a NUL. */
	memset(out, 'z', sizeof(out));
	assert_int_equal(sanitize_bytes("abc", 3, out, 0, true), 0);
	assert_int_equal(out[0], 'z');
	assert_int_equal(sanitize_bytes(NULL, 0, out, sizeof(out), true), 0);
	assert_string_equal(out, "");
}

static void test_dup(void **state)
{
	(void)state;
	char *s = sanitize_dup("\xff\xfe\x1b", true);   /* the worst growth: 3x */
	assert_string_equal(s, REP REP REP);
	free(s);
	s = sanitize_dup("\xff\xfe\x1b", false);
	assert_string_equal(s, "???");
	free(s);
	s = sanitize_dup("", true);
	assert_string_equal(s, "");
	free(s);
	s = sanitize_dup("top \xe2\x80\x94 \xe6\x97\xa5", true);
	assert_string_equal(s, "top \xe2\x80\x94 \xe6\x97\xa5");
	free(s);
}

/* Deterministic bytes, biased towards the interesting ones. */
static unsigned char next_byte(uint32_t *x)
{
	static const unsigned char pick[] = {
		0x00, 0x1b, 0x7f, 0x80, 0x9b, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed,
		0xef, 0xf0, 0xf4, 0xf5, 0xff, 'a', ' ',
	};
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x & 1 ? pick[(*x >> 1) % sizeof(pick)] : (unsigned char)(*x >> 8);
}

/* Checks out is well-formed UTF-8 holding no control character. */
static void assert_clean_utf8(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;

		assert_true(c < 0x80 || (c >= 0xc2 && c <= 0xf4));
		assert_true(i + len <= n);
		for (size_t k = 1; k < len; k++) {
			assert_int_equal(p[i + k] & 0xc0, 0x80);
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		assert_false(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f));
		assert_false(cp >= 0xd800 && cp <= 0xdfff);
		assert_true(cp <= 0x10ffff);
		assert_true(len == 1 || cp >= (len == 2 ? 0x80u : len == 3 ? 0x800u : 0x10000u));
		i += len;
	}
}

static void test_random_bytes(void **state)
{
	(void)state;
	uint32_t x = 2463534242u;
	unsigned char in[24];
	char full[3 * sizeof(in) + 1], part[sizeof(full)];

	for (int round = 0; round < 3000; round++) {
		size_t len = round % sizeof(in);
		for (size_t i = 0; i < len; i++)
			in[i] = next_byte(&x);
		for (int utf8 = 0; utf8 < 2; utf8++) {
			size_t n = sanitize_bytes((const char *)in, len, full, sizeof(full), utf8);
			assert_int_equal(strlen(full), n);
			if (utf8)
				assert_clean_utf8((const unsigned char *)full, n);
			for (size_t i = 0; i < n; i++)
				assert_true(utf8 || ((unsigned char)full[i] >= 0x20 &&
						     (unsigned char)full[i] < 0x7f));
			/* Any smaller buffer gets the longest prefix of whole
			 * characters that fits. */
			for (size_t sz = 1; sz <= n + 1; sz++) {
				size_t m = sanitize_bytes((const char *)in, len, part, sz, utf8);
				assert_true(m < sz);
				assert_memory_equal(part, full, m);
				assert_int_equal(part[m], '\0');
				assert_true(m == n || (m + 4 >= sz && ((unsigned char)full[m] & 0xc0) != 0x80));
			}
		}
	}
}

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(sanitize_width(""), 0);
	assert_int_equal(sanitize_width("abc"), 3);
	assert_int_equal(sanitize_width(REP "x"), 2);
	/* Raw (unsanitized) input still yields a number. */
	assert_int_equal(sanitize_width("\x1b\xff"), 2);

	/* wcwidth knows wide characters only in a UTF-8 locale, which the
	 * program sets up and the library must not. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		skip();
	assert_int_equal(sanitize_width("caf\xc3\xa9"), 4);
	assert_int_equal(sanitize_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);
	assert_int_equal(sanitize_width("\xf0\x9f\x98\x80"), 2);
	assert_int_equal(sanitize_width("e\xcc\x81"), 1);   /* e + combining acute */
	assert_int_equal(sanitize_width(REP), 1);
	char *s = sanitize_dup("\x1b[31m\xe6\x97\xa5", true);
	assert_int_equal(sanitize_width(s), 1 + 4 + 2);
	free(s);
	setlocale(LC_CTYPE, "C");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_unchanged),
		cmocka_unit_test(test_utf8_unchanged),
		cmocka_unit_test(test_controls_replaced),
		cmocka_unit_test(test_invalid_bytes_replaced),
		cmocka_unit_test(test_ascii_mode),
		cmocka_unit_test(test_truncation_on_boundaries),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_width),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
