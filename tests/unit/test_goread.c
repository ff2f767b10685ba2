/* The Go plugin's pure parsers: .go.buildinfo blobs (tests/fixtures/go: the
 * section of a real Go 1.19 build, a Go 1.13-1.17 pointer-form blob as it
 * sits in memory, and cut or corrupt copies), the pcvalue decoder, and a
 * small .gopclntab built here in the Go 1.18 layout, whole and damaged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/goread.h"

#define GO FIXTURES "/go/"

static uint8_t *load(const char *name, size_t *len)
{
	FILE *f = fopen(name, "rb");
	assert_non_null(f);
	static uint8_t buf[4096];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

/* ---------------------------------------------------------- build info */

static void test_buildinfo_inline(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(GO "buildinfo_go119.bin", &len);
	struct goread_buildinfo bi;
	char err[128];
	assert_int_equal(goread_parse_buildinfo(b, len, NULL, NULL, &bi, err, sizeof(err)), 0);
	assert_string_equal(bi.version, "go1.19.8");
	assert_string_equal(bi.path, "pscope.test/leaky");
	assert_string_equal(bi.mod, "pscope.test/leaky");
	assert_int_equal(bi.major, 1);
	assert_int_equal(bi.minor, 19);
}

/* Cut inside the module info: the version still reads, the module is "". */
static void test_buildinfo_cut_module(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(GO "buildinfo_go119_cut.bin", &len);
	struct goread_buildinfo bi;
	char err[128];
	assert_int_equal(goread_parse_buildinfo(b, len, NULL, NULL, &bi, err, sizeof(err)), 0);
	assert_string_equal(bi.version, "go1.19.8");
	assert_string_equal(bi.mod, "");
}

static void test_buildinfo_broken(void **state)
{
	(void)state;
	static const char *const broken[] = { "buildinfo_go119_cutver.bin", "buildinfo_badlen.bin" };
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), GO "%s", broken[i]);
		size_t len;
		uint8_t *b = load(path, &len);
		struct goread_buildinfo bi;
		char err[128] = "";
		assert_int_equal(goread_parse_buildinfo(b, len, NULL, NULL, &bi, err, sizeof(err)), -1);
		assert_true(err[0] != 0);
	}
	uint8_t zero[64] = { 0 };
	struct goread_buildinfo bi;
	char err[128];
	assert_int_equal(goread_parse_buildinfo(zero, sizeof(zero), NULL, NULL, &bi, err,
						sizeof(err)), -1);
	assert_int_equal(goread_parse_buildinfo(zero, 10, NULL, NULL, &bi, err, sizeof(err)), -1);
}

/* The pointer form reads strings through the memory callback; the fixture
 * is memory starting at 0x1000. */
struct fake_mem {
	const uint8_t *bytes;
	size_t len;
	uint64_t base;
};

static ssize_t fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct fake_mem *m = ctx;
	if (addr < m->base || addr - m->base > m->len || m->len - (addr - m->base) < len)
		return -1;
	memcpy(buf, m->bytes + (addr - m->base), len);
	return (ssize_t)len;
}

static void test_buildinfo_pointers(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(GO "buildinfo_go117_mem.bin", &len);
	struct fake_mem mem = { b, len, 0x1000 };
	struct goread_buildinfo bi;
	char err[128];
	assert_int_equal(goread_parse_buildinfo(b, len, fake_read, &mem, &bi, err, sizeof(err)), 0);
	assert_string_equal(bi.version, "go1.17.13");
	assert_string_equal(bi.path, "example.com/old/cmd");
	assert_string_equal(bi.mod, "example.com/old");
	assert_int_equal(bi.minor, 17);
	/* Pointers into unmapped memory: an error, not garbage. */
	mem.base = 0x9000;
	assert_int_equal(goread_parse_buildinfo(b, len, fake_read, &mem, &bi, err, sizeof(err)), -1);
	assert_int_equal(goread_parse_buildinfo(b, len, NULL, NULL, &bi, err, sizeof(err)), -1);
}

static void test_parse_version(void **state)
{
	(void)state;
	int ma, mi;
	assert_true(goread_parse_version("go1.22rc1", &ma, &mi));
	assert_int_equal(mi, 22);
	assert_true(goread_parse_version("go1.9", &ma, &mi));
	assert_int_equal(mi, 9);
	assert_false(goread_parse_version("devel +abc", &ma, &mi));
	assert_false(goread_parse_version("go1", &ma, &mi));
}

/* ------------------------------------------------------------- pcvalue */

/* sp delta 0 on [0,4), 24 on [4,32), then the end. */
static const uint8_t pcsp[] = { 0x02, 0x04, 0x30, 0x1c, 0x00 };

static void test_pcvalue(void **state)
{
	(void)state;
	int32_t v;
	assert_true(goread_pcvalue(pcsp, sizeof(pcsp), 0x1000, 1, 0x1000, &v));
	assert_int_equal(v, 0);
	assert_true(goread_pcvalue(pcsp, sizeof(pcsp), 0x1000, 1, 0x1003, &v));
	assert_int_equal(v, 0);
	assert_true(goread_pcvalue(pcsp, sizeof(pcsp), 0x1000, 1, 0x1004, &v));
	assert_int_equal(v, 24);
	assert_true(goread_pcvalue(pcsp, sizeof(pcsp), 0x1000, 1, 0x101f, &v));
	assert_int_equal(v, 24);
	/* Past the table, and a table cut in the middle of a pair. */
	assert_false(goread_pcvalue(pcsp, sizeof(pcsp), 0x1000, 1, 0x1020, &v));
	assert_false(goread_pcvalue(pcsp, 3, 0x1000, 1, 0x1010, &v));
	/* A negative delta (zigzag 3 = -2, from the start value -1). */
	static const uint8_t neg[] = { 0x03, 0x10, 0x00 };
	assert_true(goread_pcvalue(neg, sizeof(neg), 0, 1, 5, &v));
	assert_int_equal(v, -3);
}

/* ------------------------------------------------------------ pclntab */

/* A Go 1.18-layout table with main.f at text+0 (32 bytes, pcsp above) and
 * runtime.goexit at text+0x40 (until +0x60). */
#define TEXT 0x401000
#define NAMES 72
#define PCTAB 96
#define FUNCTAB 104

static size_t build_pclntab(uint8_t *t)
{
	memset(t, 0, 256);
	uint32_t magic = 0xfffffff0;
	memcpy(t, &magic, 4);
	t[6] = 1;                        /* quantum */
	t[7] = 8;                        /* pointer size */
	uint64_t words[] = { 2, 0, TEXT, NAMES, 0, 0, PCTAB, FUNCTAB };
	memcpy(t + 8, words, sizeof(words));
	memcpy(t + NAMES, "main.f\0runtime.goexit\0", 22);
	memcpy(t + PCTAB + 1, pcsp, sizeof(pcsp));       /* offset 0 means "none" */
	uint32_t ft[] = { 0x0, 24, 0x40, 64, 0x60, 0 };
	memcpy(t + FUNCTAB, ft, sizeof(ft));
	uint32_t f1[] = { 0x0, 0, 0, 0, 1 }, f2[] = { 0x40, 7, 0, 0, 0 };
	memcpy(t + FUNCTAB + 24, f1, sizeof(f1));
	memcpy(t + FUNCTAB + 64, f2, sizeof(f2));
	return FUNCTAB + 64 + 40;
}

static void test_pclntab(void **state)
{
	(void)state;
	uint8_t t[256];
	size_t len = build_pclntab(t);
	char err[128];
	struct goread_pcln *p = goread_pcln_open(t, len, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(goread_pcln_nfunc(p), 2);
	assert_string_equal(goread_pcln_format(p), "1.18");

	struct goread_func f;
	assert_true(goread_pcln_find(p, TEXT + 0x10, &f));
	assert_string_equal(f.name, "main.f");
	assert_int_equal(f.entry, TEXT);
	int32_t d;
	assert_true(goread_pcln_spdelta(p, &f, TEXT + 0x10, &d));
	assert_int_equal(d, 24);
	assert_true(goread_pcln_find(p, TEXT + 0x5f, &f));
	assert_string_equal(f.name, "runtime.goexit");
	assert_int_equal(goread_pcln_end(p, &f), TEXT + 0x60);
	assert_false(goread_pcln_spdelta(p, &f, TEXT + 0x41, &d));  /* no pcsp table */
	assert_false(goread_pcln_find(p, TEXT + 0x60, &f));
	assert_false(goread_pcln_find(p, TEXT - 1, &f));

	assert_true(goread_pcln_lookup(p, "runtime.goexit", &f));
	assert_int_equal(f.entry, TEXT + 0x40);
	assert_false(goread_pcln_lookup(p, "main.g", &f));
	goread_pcln_close(p);
}

static void test_pclntab_damaged(void **state)
{
	(void)state;
	uint8_t t[256];
	char err[128];
	size_t len = build_pclntab(t);

	/* Cut: the header, or the function table. */
	assert_null(goread_pcln_open(t, 40, err, sizeof(err)));
	assert_null(goread_pcln_open(t, FUNCTAB + 8, err, sizeof(err)));

	/* Go 1.2-1.15 and unknown formats are refused with a reason. */
	uint32_t old = 0xfffffffb;
	memcpy(t, &old, 4);
	assert_null(goread_pcln_open(t, len, err, sizeof(err)));
	assert_non_null(strstr(err, "1.15"));
	memset(t, 0x5a, 4);
	assert_null(goread_pcln_open(t, len, err, sizeof(err)));

	/* An absurd function count. */
	len = build_pclntab(t);
	uint64_t n = 1ull << 40;
	memcpy(t + 8, &n, 8);
	assert_null(goread_pcln_open(t, len, err, sizeof(err)));

	/* A name offset past the name table: that function is not found,
	 * the others still are. */
	len = build_pclntab(t);
	int32_t bad = 100000;
	memcpy(t + FUNCTAB + 24 + 4, &bad, 4);
	struct goread_pcln *p = goread_pcln_open(t, len, err, sizeof(err));
	assert_non_null(p);
	struct goread_func f;
	assert_false(goread_pcln_find(p, TEXT + 1, &f));
	assert_true(goread_pcln_find(p, TEXT + 0x41, &f));
	goread_pcln_close(p);

	/* A _func offset past the end. */
	len = build_pclntab(t);
	uint32_t far = 5000;
	memcpy(t + FUNCTAB + 4, &far, 4);
	p = goread_pcln_open(t, len, err, sizeof(err));
	assert_non_null(p);
	assert_false(goread_pcln_find(p, TEXT + 1, &f));
	goread_pcln_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buildinfo_inline),
		cmocka_unit_test(test_buildinfo_cut_module),
		cmocka_unit_test(test_buildinfo_broken),
		cmocka_unit_test(test_buildinfo_pointers),
		cmocka_unit_test(test_parse_version),
		cmocka_unit_test(test_pcvalue),
		cmocka_unit_test(test_pclntab),
		cmocka_unit_test(test_pclntab_damaged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
