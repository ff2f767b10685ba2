/* The line-table index (linetab_scan) on hand-made .debug_line bytes:
 * DWARF 2-5 headers, 64-bit DWARF, every address-moving opcode, several
 * sequences and units, and malformed or random input, which must be
 * refused without reading out of bounds.  Then lookups in real files (this
 * test binary, and libc's separate debug file when libc6-dbg is installed),
 * which must say what libdwfl's dwfl_module_getsrc says. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_section.h"
#include "linetab.h"
#include "self_dwfl.h"
#include "util.h"

/* Line-program bytes, built up by the helpers below. */
struct bytes {
	unsigned char v[4096];
	size_t n;
};

static void put_uint(struct bytes *b, uint64_t v, int size)
{
	assert_true(b->n + (size_t)size <= sizeof(b->v));
	for (int i = 0; i < size; i++)
		b->v[b->n++] = (unsigned char)(v >> (8 * i));
}

static void patch_uint(struct bytes *b, size_t at, uint64_t v, int size)
{
	for (int i = 0; i < size; i++)
		b->v[at + (size_t)i] = (unsigned char)(v >> (8 * i));
}

static void put_uleb(struct bytes *b, uint64_t v)
{
	do {
		unsigned char c = v & 0x7f;
		v >>= 7;
		put_uint(b, c | (v ? 0x80 : 0), 1);
	} while (v);
}

static void put_sleb(struct bytes *b, int64_t v)
{
	for (;;) {
		unsigned char c = v & 0x7f;
		v >>= 7;
		bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
		put_uint(b, c | (done ? 0 : 0x80), 1);
		if (done)
			return;
	}
}

static void put_str(struct bytes *b, const char *s)
{
	do
		put_uint(b, (unsigned char)*s, 1);
	while (*s++);
}

/* The header fields a test may want to vary or get wrong. */
struct header {
	int version;
	bool dwarf64;
	int addr_size;          /* written for DWARF 5 only */
	int min_inst_len, max_ops, line_range, opcode_base;
};

#define LINE_BASE (-5)

static struct header header_of(int version)
{
	return (struct header){ version, false, 8, 1, 1, 14, 13 };
}

/* Where a unit's lengths go: patched once the unit is complete. */
struct unit {
	size_t length_at, header_length_at, header_start;
	int offset_size;
};

/* Everything of a unit up to its line-number program, with real directory
 * and file tables (which the scanner must step over). */
static struct unit begin_unit(struct bytes *b, const struct header *h)
{
	static const unsigned char std_lengths[] = { 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1 };
	struct unit u = { .offset_size = h->dwarf64 ? 8 : 4 };
	if (h->dwarf64)
		put_uint(b, 0xffffffff, 4);
	u.length_at = b->n;
	put_uint(b, 0, u.offset_size);
	put_uint(b, (uint64_t)h->version, 2);
	if (h->version >= 5) {
		put_uint(b, (uint64_t)h->addr_size, 1);
		put_uint(b, 0, 1);                      /* segment_selector_size */
	}
	u.header_length_at = b->n;
	put_uint(b, 0, u.offset_size);
	u.header_start = b->n;
	put_uint(b, (uint64_t)h->min_inst_len, 1);
	if (h->version >= 4)
		put_uint(b, (uint64_t)h->max_ops, 1);
	put_uint(b, 1, 1);                              /* default_is_stmt */
	put_uint(b, (uint8_t)LINE_BASE, 1);
	put_uint(b, (uint64_t)h->line_range, 1);
	put_uint(b, (uint64_t)h->opcode_base, 1);
	/* Opcodes past the standard twelve take two operands. */
	for (int op = 1; op < h->opcode_base; op++)
		put_uint(b, op <= 12 ? std_lengths[op - 1] : 2, 1);
	if (h->version >= 5) {
		put_uint(b, 1, 1);                      /* directory entry format */
		put_uleb(b, DW_LNCT_path);
		put_uleb(b, DW_FORM_string);
		put_uleb(b, 1);
		put_str(b, "/src");
		put_uint(b, 2, 1);                      /* file entry format */
		put_uleb(b, DW_LNCT_path);
		put_uleb(b, DW_FORM_string);
		put_uleb(b, DW_LNCT_directory_index);
		put_uleb(b, DW_FORM_udata);
		put_uleb(b, 1);
		put_str(b, "a.c");
		put_uleb(b, 0);
	} else {
		put_uint(b, 0, 1);                      /* no include_directories */
		put_str(b, "a.c");
		put_uleb(b, 0);
		put_uleb(b, 0);
		put_uleb(b, 0);
		put_uint(b, 0, 1);
	}
	patch_uint(b, u.header_length_at, b->n - u.header_start, u.offset_size);
	return u;
}

static void end_unit(struct bytes *b, const struct unit *u)
{
	patch_uint(b, u->length_at, b->n - (u->length_at + (size_t)u->offset_size), u->offset_size);
}

static void op_set_address(struct bytes *b, uint64_t addr, int size)
{
	put_uint(b, 0, 1);
	put_uleb(b, 1 + (uint64_t)size);
	put_uint(b, DW_LNE_set_address, 1);
	put_uint(b, addr, size);
}

static void op_end_sequence(struct bytes *b)
{
	put_uint(b, 0, 1);
	put_uleb(b, 1);
	put_uint(b, DW_LNE_end_sequence, 1);
}

/* Advance the address by addr_adv operations and the line by line_adv,
 * then add a row. */
static void op_special(struct bytes *b, const struct header *h, int addr_adv, int line_adv)
{
	int op = (line_adv - LINE_BASE) + h->line_range * addr_adv + h->opcode_base;
	assert_in_range(op, h->opcode_base, 255);
	put_uint(b, (uint64_t)op, 1);
}

static void op_advance_pc(struct bytes *b, uint64_t n)
{
	put_uint(b, DW_LNS_advance_pc, 1);
	put_uleb(b, n);
}

/* A unit with one sequence covering [start, start + 0x20). */
static void put_simple_unit(struct bytes *b, const struct header *h, uint64_t start, int addr_size)
{
	struct unit u = begin_unit(b, h);
	op_set_address(b, start, addr_size);
	put_uint(b, DW_LNS_copy, 1);
	op_special(b, h, 4, 1);
	op_advance_pc(b, 0x1c);
	op_end_sequence(b);
	end_unit(b, &u);
}

/* linetab_scan on an exact-size heap copy of b's first len bytes, so that
 * ASan sees any read past the end. */
static int scan_prefix(const struct bytes *b, size_t len, int elf_addr_size,
		       struct linetab_seq **seqs, size_t *n)
{
	unsigned char *copy = xmalloc(len ? len : 1);
	memcpy(copy, b->v, len);
	int r = linetab_scan(copy, len, elf_addr_size, seqs, n);
	free(copy);
	return r;
}

/* Scans b's first len bytes as from a file whose addresses are
 * elf_addr_size bytes: the scan returns rc and yields exactly the nwant
 * sequences of want, in order. */
static void expect_scan(const struct bytes *b, size_t len, int elf_addr_size, int rc,
			size_t nwant, const struct linetab_seq *want)
{
	struct linetab_seq *seqs;
	size_t n;
	assert_int_equal(scan_prefix(b, len, elf_addr_size, &seqs, &n), rc);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < nwant; i++) {
		assert_int_equal(seqs[i].start, want[i].start);
		assert_int_equal(seqs[i].end, want[i].end);
		assert_int_equal(seqs[i].unit, want[i].unit);
	}
	free(seqs);
}

static void test_v2_special_opcodes(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(2);
	struct unit u = begin_unit(&b, &h);
	op_set_address(&b, 0x401000, 8);
	put_uint(&b, DW_LNS_copy, 1);
	op_special(&b, &h, 4, 1);
	op_special(&b, &h, 6, -2);
	op_advance_pc(&b, 0x10);
	op_end_sequence(&b);
	end_unit(&b, &u);

	expect_scan(&b, b.n, 8, 0, 1, (const struct linetab_seq[]){
		{ 0x401000, 0x401000 + 4 + 6 + 0x10, 0 },
	});
}

/* DWARF 3 and 4 take their address size from the ELF class, DWARF 5 from
 * its header (here 4 although the file is 64-bit); DWARF 4 and 5 headers
 * have one field more. */
static void test_versions_2_to_5(void **state)
{
	(void)state;
	for (int version = 2; version <= 5; version++) {
		struct bytes b = { .n = 0 };
		struct header h = header_of(version);
		h.addr_size = 4;
		put_simple_unit(&b, &h, 0x8000, version >= 5 ? 4 : 8);
		expect_scan(&b, b.n, 8, 0, 1, (const struct linetab_seq[]){
			{ 0x8000, 0x8020, 0 },
		});
	}
}

static void test_32bit_elf_address_size(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(4);
	put_simple_unit(&b, &h, 0x8048000, 4);
	expect_scan(&b, b.n, 4, 0, 1, (const struct linetab_seq[]){ { 0x8048000, 0x8048020, 0 } });
	/* Read as a 64-bit file, the 4-byte set_address no longer fits. */
	expect_scan(&b, b.n, 8, -EBADMSG, 0, NULL);
}

static void test_dwarf64(void **state)
{
	(void)state;
	for (int version = 2; version <= 5; version++) {
		struct bytes b = { .n = 0 };
		struct header h = header_of(version);
		h.dwarf64 = true;
		put_simple_unit(&b, &h, 0x10000, 8);
		put_simple_unit(&b, &h, 0x20000, 8);
		expect_scan(&b, b.n, 8, 0, 2, (const struct linetab_seq[]){
			{ 0x10000, 0x10020, 0 },
			{ 0x20000, 0x20020, b.n / 2 },
		});
	}
}

/* const_add_pc advances like special opcode 255 (scaled by the minimum
 * instruction length); fixed_advance_pc adds its operand unscaled. */
static void test_const_add_pc_and_fixed_advance_pc(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(3);
	h.min_inst_len = 4;
	struct unit u = begin_unit(&b, &h);
	op_set_address(&b, 0x1000, 8);
	put_uint(&b, DW_LNS_copy, 1);
	put_uint(&b, DW_LNS_const_add_pc, 1);           /* (255 - 13) / 14 = 17 ops */
	put_uint(&b, DW_LNS_fixed_advance_pc, 1);
	put_uint(&b, 0x123, 2);
	op_special(&b, &h, 2, 0);                       /* 2 ops */
	op_end_sequence(&b);
	end_unit(&b, &u);

	expect_scan(&b, b.n, 8, 0, 1, (const struct linetab_seq[]){
		{ 0x1000, 0x1000 + 17 * 4 + 0x123 + 2 * 4, 0 },
	});
}

/* With several operations per instruction the address moves by whole
 * instructions only: op_index keeps the remainder. */
static void test_vliw_operation_advance(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(4);
	h.min_inst_len = 8;
	h.max_ops = 3;
	struct unit u = begin_unit(&b, &h);
	op_set_address(&b, 0x1000, 8);
	put_uint(&b, DW_LNS_copy, 1);
	op_advance_pc(&b, 5);           /* 1 instruction, op_index 2 */
	op_special(&b, &h, 1, 0);       /* 1 instruction more, op_index 0 */
	op_advance_pc(&b, 2);           /* op_index 2, same instruction */
	op_end_sequence(&b);
	end_unit(&b, &u);

	expect_scan(&b, b.n, 8, 0, 1, (const struct linetab_seq[]){ { 0x1000, 0x1010, 0 } });
}

/* Sequences come out sorted by address whatever the order of units and
 * sequences, each with the offset of its own unit. */
static void test_several_sequences_and_units(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(5);
	put_simple_unit(&b, &h, 0x9000, 8);
	size_t second = b.n;
	struct unit u = begin_unit(&b, &h);
	op_set_address(&b, 0x5000, 8);
	put_uint(&b, DW_LNS_copy, 1);
	op_advance_pc(&b, 0x100);
	op_end_sequence(&b);
	op_set_address(&b, 0x1000, 8);
	op_special(&b, &h, 0, 0);
	/* set_address back down inside a sequence: the lowest row counts */
	op_set_address(&b, 0x800, 8);
	put_uint(&b, DW_LNS_copy, 1);
	op_advance_pc(&b, 0x900);
	op_end_sequence(&b);
	end_unit(&b, &u);

	expect_scan(&b, b.n, 8, 0, 3, (const struct linetab_seq[]){
		{ 0x800, 0x1100, second },
		{ 0x5000, 0x5100, second },
		{ 0x9000, 0x9020, 0 },
	});
}

/* Opcodes that move no address are stepped over, by their declared operand
 * counts for standard ones (an opcode 13 this scanner does not know, with
 * two operands) and by length for extended ones. */
static void test_other_opcodes_are_skipped(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(4);
	h.opcode_base = 14;
	struct unit u = begin_unit(&b, &h);
	op_set_address(&b, 0x2000, 8);
	put_uint(&b, DW_LNS_advance_line, 1);
	put_sleb(&b, -100000);
	put_uint(&b, DW_LNS_set_file, 1);
	put_uleb(&b, 300);
	put_uint(&b, DW_LNS_set_column, 1);
	put_uleb(&b, 1u << 20);
	put_uint(&b, DW_LNS_negate_stmt, 1);
	put_uint(&b, DW_LNS_set_basic_block, 1);
	put_uint(&b, DW_LNS_set_prologue_end, 1);
	put_uint(&b, DW_LNS_set_epilogue_begin, 1);
	put_uint(&b, DW_LNS_set_isa, 1);
	put_uleb(&b, 7);
	put_uint(&b, 13, 1);
	put_uleb(&b, 1u << 30);
	put_uleb(&b, 5);
	put_uint(&b, 0, 1);                             /* set_discriminator */
	put_uleb(&b, 3);
	put_uint(&b, DW_LNE_set_discriminator, 1);
	put_uleb(&b, 200);
	put_uint(&b, 0, 1);                             /* a vendor's, 5 bytes */
	put_uleb(&b, 5);
	put_uint(&b, DW_LNE_lo_user, 1);
	put_uint(&b, 0xffffffff, 4);
	put_uint(&b, DW_LNS_copy, 1);
	op_special(&b, &h, 3, 0);
	op_end_sequence(&b);
	end_unit(&b, &u);

	expect_scan(&b, b.n, 8, 0, 1, (const struct linetab_seq[]){ { 0x2000, 0x2003, 0 } });
}

/* With opcode_base 10 (as in DWARF 2), opcode 10 is already special. */
static void test_small_opcode_base(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(2);
	h.opcode_base = 10;
	struct unit u = begin_unit(&b, &h);
	op_set_address(&b, 0x3000, 8);
	put_uint(&b, 10, 1);            /* special: 0 ops, line -5 */
	put_uint(&b, 10 + 14 * 7, 1);   /* special: 7 ops */
	op_end_sequence(&b);
	end_unit(&b, &u);

	expect_scan(&b, b.n, 8, 0, 1, (const struct linetab_seq[]){ { 0x3000, 0x3007, 0 } });
}

/* A sequence without rows, or without a byte of code, covers nothing. */
static void test_empty_sequences_are_dropped(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(5);
	struct unit u = begin_unit(&b, &h);
	op_set_address(&b, 0x4000, 8);
	op_advance_pc(&b, 0x40);
	op_end_sequence(&b);
	op_set_address(&b, 0x5000, 8);
	put_uint(&b, DW_LNS_copy, 1);
	op_end_sequence(&b);
	end_unit(&b, &u);

	expect_scan(&b, b.n, 8, 0, 0, NULL);
}

/* Every proper prefix of a unit is a unit cut short. */
static void test_truncated_anywhere(void **state)
{
	(void)state;
	for (int version = 2; version <= 5; version++) {
		struct bytes b = { .n = 0 };
		struct header h = header_of(version);
		h.dwarf64 = version == 3;
		put_simple_unit(&b, &h, 0x6000, 8);
		for (size_t len = 1; len < b.n; len++) {
			expect_scan(&b, len, 8, -EBADMSG, 0, NULL);
		}
	}
}

/* A unit_length that runs past the section ends the scan; the units
 * before it are kept. */
static void test_unit_length_past_end(void **state)
{
	(void)state;
	struct header h = header_of(4);
	for (int dwarf64 = 0; dwarf64 <= 1; dwarf64++) {
		h.dwarf64 = dwarf64;
		struct bytes b = { .n = 0 };
		put_simple_unit(&b, &h, 0x1000, 8);
		size_t second = b.n;
		put_simple_unit(&b, &h, 0x2000, 8);
		size_t length_at = second + (dwarf64 ? 4 : 0);
		patch_uint(&b, length_at, b.n - second, dwarf64 ? 8 : 4);
		expect_scan(&b, b.n, 8, -EBADMSG, 1, (const struct linetab_seq[]){
			{ 0x1000, 0x1020, 0 },
		});
	}
}

static void test_reserved_unit_length(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(4);
	put_simple_unit(&b, &h, 0x1000, 8);
	patch_uint(&b, 0, 0xfffffff0, 4);
	expect_scan(&b, b.n, 8, -EBADMSG, 0, NULL);
}

/* A bad unit whose length is sound is skipped: the next one is read.
 * build() writes the bad unit's bytes. */
static void check_bad_unit_skipped(void (*build)(struct bytes *b))
{
	struct bytes b = { .n = 0 };
	build(&b);
	size_t good = b.n;
	struct header h = header_of(5);
	put_simple_unit(&b, &h, 0x7000, 8);
	expect_scan(&b, b.n, 8, -EBADMSG, 1, (const struct linetab_seq[]){
		{ 0x7000, 0x7020, good },
	});
}

static void build_header_length_past_end(struct bytes *b)
{
	struct header h = header_of(4);
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, DW_LNS_copy, 1);
	op_end_sequence(b);
	end_unit(b, &u);
	patch_uint(b, u.header_length_at, b->n - u.header_start + 1, 4);
}

/* header_length too short for the fields it must hold. */
static void build_header_length_too_short(struct bytes *b)
{
	struct header h = header_of(4);
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, DW_LNS_copy, 1);
	op_end_sequence(b);
	end_unit(b, &u);
	patch_uint(b, u.header_length_at, 3, 4);
}

static void build_bad_header(struct bytes *b, struct header h)
{
	put_simple_unit(b, &h, 0x1000, 8);
}

static void build_opcode_base_0(struct bytes *b)
{
	struct header h = header_of(4);
	h.opcode_base = 0;
	build_bad_header(b, h);
}

static void build_line_range_0(struct bytes *b)
{
	struct header h = header_of(4);
	h.line_range = 0;
	/* put_simple_unit's special opcode needs a line range: write it by hand */
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, 20, 1);
	op_end_sequence(b);
	end_unit(b, &u);
}

static void build_max_ops_0(struct bytes *b)
{
	struct header h = header_of(4);
	h.max_ops = 0;
	build_bad_header(b, h);
}

static void build_version_1(struct bytes *b)
{
	build_bad_header(b, header_of(1));
}

static void build_version_6(struct bytes *b)
{
	build_bad_header(b, header_of(6));
}

static void build_v5_address_size_0(struct bytes *b)
{
	struct header h = header_of(5);
	h.addr_size = 0;
	build_bad_header(b, h);
}

static void build_v5_address_size_9(struct bytes *b)
{
	struct header h = header_of(5);
	h.addr_size = 9;
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, 0, 1);              /* the ninth byte */
	put_uint(b, DW_LNS_copy, 1);
	op_end_sequence(b);
	end_unit(b, &u);
}

/* A LEB128 whose last byte still says "more follows". */
static void build_uleb_off_the_end(struct bytes *b)
{
	struct header h = header_of(4);
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, DW_LNS_copy, 1);
	put_uint(b, DW_LNS_advance_pc, 1);
	put_uint(b, 0x80, 1);
	put_uint(b, 0x80, 1);
	end_unit(b, &u);
}

static void build_extended_length_uleb_off_the_end(struct bytes *b)
{
	struct header h = header_of(4);
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, DW_LNS_copy, 1);
	put_uint(b, 0, 1);
	put_uint(b, 0xff, 1);
	end_unit(b, &u);
}

static void build_extended_length_past_end(struct bytes *b)
{
	struct header h = header_of(4);
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, DW_LNS_copy, 1);
	put_uint(b, 0, 1);
	put_uleb(b, 3);
	put_uint(b, DW_LNE_end_sequence, 1);
	put_uint(b, 0, 1);              /* one byte of the three's payload */
	end_unit(b, &u);
}

static void build_extended_length_0(struct bytes *b)
{
	struct header h = header_of(4);
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, DW_LNS_copy, 1);
	put_uint(b, 0, 1);
	put_uleb(b, 0);
	op_end_sequence(b);
	end_unit(b, &u);
}

static void build_set_address_wrong_size(struct bytes *b)
{
	struct header h = header_of(4);
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 4);
	put_uint(b, DW_LNS_copy, 1);
	op_advance_pc(b, 4);
	op_end_sequence(b);
	end_unit(b, &u);
}

static void build_fixed_advance_pc_cut(struct bytes *b)
{
	struct header h = header_of(4);
	struct unit u = begin_unit(b, &h);
	op_set_address(b, 0x1000, 8);
	put_uint(b, DW_LNS_copy, 1);
	put_uint(b, DW_LNS_fixed_advance_pc, 1);
	put_uint(b, 1, 1);
	end_unit(b, &u);
}

static void test_malformed_units_are_skipped(void **state)
{
	(void)state;
	check_bad_unit_skipped(build_header_length_past_end);
	check_bad_unit_skipped(build_header_length_too_short);
	check_bad_unit_skipped(build_opcode_base_0);
	check_bad_unit_skipped(build_line_range_0);
	check_bad_unit_skipped(build_max_ops_0);
	check_bad_unit_skipped(build_version_1);
	check_bad_unit_skipped(build_version_6);
	check_bad_unit_skipped(build_v5_address_size_0);
	check_bad_unit_skipped(build_v5_address_size_9);
	check_bad_unit_skipped(build_uleb_off_the_end);
	check_bad_unit_skipped(build_extended_length_uleb_off_the_end);
	check_bad_unit_skipped(build_extended_length_past_end);
	check_bad_unit_skipped(build_extended_length_0);
	check_bad_unit_skipped(build_set_address_wrong_size);
	check_bad_unit_skipped(build_fixed_advance_pc_cut);
}

/* Rows left open at the end of a unit: its finished sequences stay. */
static void test_missing_end_sequence(void **state)
{
	(void)state;
	struct bytes b = { .n = 0 };
	struct header h = header_of(5);
	struct unit u = begin_unit(&b, &h);
	op_set_address(&b, 0x1000, 8);
	put_uint(&b, DW_LNS_copy, 1);
	op_advance_pc(&b, 8);
	op_end_sequence(&b);
	op_set_address(&b, 0x2000, 8);
	put_uint(&b, DW_LNS_copy, 1);
	op_advance_pc(&b, 8);
	end_unit(&b, &u);

	expect_scan(&b, b.n, 8, -EBADMSG, 1, (const struct linetab_seq[]){
		{ 0x1000, 0x1008, 0 },
	});
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check_scan_survives(const struct bytes *b)
{
	struct linetab_seq *seqs;
	size_t n;
	int r = scan_prefix(b, b->n, 8, &seqs, &n);
	assert_true(r == 0 || r == -EBADMSG);
	for (size_t i = 0; i < n; i++) {
		assert_true(seqs[i].start < seqs[i].end);
		assert_true(seqs[i].unit < b->n);
		if (i)
			assert_true(seqs[i - 1].start <= seqs[i].start);
	}
	free(seqs);
}

/* Random bytes, and valid units with random bytes overwritten: whatever
 * comes back must be well formed (and ASan must stay quiet). */
static void test_garbage(void **state)
{
	(void)state;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < 20000; round++) {
		struct bytes b = { .n = 0 };
		if (round % 2) {
			size_t len = xorshift(&seed) % 200;
			for (size_t i = 0; i < len; i++)
				put_uint(&b, xorshift(&seed), 1);
		} else {
			struct header h = header_of(2 + (int)(xorshift(&seed) % 4));
			h.dwarf64 = xorshift(&seed) % 4 == 0;
			put_simple_unit(&b, &h, 0x1000, 8);
			put_simple_unit(&b, &h, 0x2000, 8);
			for (int k = 1 + (int)(xorshift(&seed) % 4); k > 0; k--)
				b.v[xorshift(&seed) % b.n] = (unsigned char)xorshift(&seed);
		}
		check_scan_survives(&b);
	}
}

/* noipa keeps these out of line, at addresses of their own. */
__attribute__((noipa)) static int lt_square(int x)
{
	return x * x;
}

__attribute__((noipa)) static int lt_sum(const int *v, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += v[i] * (i + 1);
	return s;
}

/* linetab's answer for addr must be dwfl_module_getsrc's: both a line, in
 * the same file, or neither.  Returns whether there was a line. */
static bool check_same_as_libdwfl(Dwfl_Module *mod, struct linetab *lt, uint64_t addr)
{
	Dwarf_Addr bias;
	assert_non_null(dwfl_module_getelf(mod, &bias));
	Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
	int want_line = 0;
	const char *want = l ? dwfl_lineinfo(l, NULL, &want_line, NULL, NULL, NULL) : NULL;
	const char *file;
	int line;
	int r = linetab_lookup(lt, addr - bias, &file, &line);
	if ((want != NULL) != (r == 0) || (want && (strcmp(want, file) != 0 || want_line != line)))
		print_message("%#lx (link-time %#lx): libdwfl %s:%d, linetab %s:%d (%d)\n",
			      (unsigned long)addr, (unsigned long)(addr - bias),
			      want ? want : "-", want_line, r == 0 ? file : "-", line, r);
	assert_int_equal(want != NULL, r == 0);
	if (want) {
		assert_string_equal(file, want);
		assert_int_equal(line, want_line);
	}
	return want != NULL;
}

/* Every byte of the function at addr. */
static int check_function(Dwfl_Module *mod, struct linetab *lt, uint64_t addr)
{
	GElf_Sym sym;
	GElf_Off off;
	assert_non_null(dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL));
	assert_int_equal(off, 0);
	int with_lines = 0;
	for (uint64_t a = addr; a < addr + (sym.st_size ? sym.st_size : 1); a++)
		with_lines += check_same_as_libdwfl(mod, lt, a);
	return with_lines;
}

/* Some thousands of addresses across the module's whole range, those
 * inside a function: in the padding after one, libdwfl may still name the
 * function's last line (libdw sorts a row at a sequence's end address
 * after the end_sequence there), where linetab says the sequence is over.
 * No pc of a stack is ever in padding. */
static int check_module(Dwfl_Module *mod, struct linetab *lt)
{
	Dwarf_Addr start, end;
	dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
	int with_lines = 0;
	for (uint64_t a = start; a < end; a += (end - start) / 3000 | 1) {
		GElf_Sym sym;
		GElf_Off off;
		if (dwfl_module_addrinfo(mod, a, &off, &sym, NULL, NULL, NULL) && off < sym.st_size)
			with_lines += check_same_as_libdwfl(mod, lt, a);
	}
	return with_lines;
}

/* This test binary is built with -g: its own line tables. */
static void test_own_functions_match_libdwfl(void **state)
{
	(void)state;
	int v[] = { 1, 2, 3 };
	assert_int_equal(lt_square(3) + lt_sum(v, 3), 9 + 14);
	Dwfl *dwfl = self_dwfl();
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, (uintptr_t)&lt_square);
	assert_non_null(mod);
	Dwarf_Addr bias;
	assert_non_null(dwfl_module_getelf(mod, &bias));
	const char *mainfile = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	assert_non_null(mainfile);

	struct linetab *lt;
	assert_int_equal(linetab_open(mainfile, &lt), 0);
	const char *file;
	int line;
	assert_int_equal(linetab_lookup(lt, (uintptr_t)&lt_square - bias, &file, &line), 0);
	assert_non_null(strstr(file, "test_linetab.c"));
	assert_true(check_function(mod, lt, (uintptr_t)&lt_square) > 0);
	assert_true(check_function(mod, lt, (uintptr_t)&lt_sum) > 0);
	assert_true(check_function(mod, lt, (uintptr_t)&check_same_as_libdwfl) > 0);
	assert_true(check_module(mod, lt) > 100);
	/* The ELF header: no code there. */
	assert_int_equal(linetab_lookup(lt, 0, &file, &line), -ENOENT);
	assert_null(file);
	assert_int_equal(line, 0);
	linetab_close(lt);
	dwfl_end(dwfl);
}

/* A copy of this test binary with its debug sections compressed by
 * objcopy (style: "zlib" or "zlib-gnu"), at path; false when objcopy
 * cannot. */
static bool compressed_copy(const char *style, char *path, size_t len)
{
	snprintf(path, len, "/tmp/test_linetab_%s.%d", style, (int)getpid());
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "objcopy --compress-debug-sections=%s /proc/%d/exe %s 2>/dev/null", style,
		 (int)getpid(), path);
	return system(cmd) == 0;
}

/* Zlib-compressed line tables and strings (what Debian's debug files
 * carry) and the old GNU .zdebug style: the same file:line as libdwfl
 * gives for this binary. */
static void test_compressed_sections_match_libdwfl(void **state)
{
	(void)state;
	Dwfl *dwfl = self_dwfl();
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, (uintptr_t)&lt_square);
	assert_non_null(mod);
	Dwarf_Addr bias;
	assert_non_null(dwfl_module_getelf(mod, &bias));
	static const char *const styles[] = { "zlib", "zlib-gnu" };
	for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
		char path[128];
		if (!compressed_copy(styles[i], path, sizeof(path)))
			skip();
		struct linetab *lt;
		assert_int_equal(linetab_open(path, &lt), 0);
		assert_true(check_function(mod, lt, (uintptr_t)&lt_square) > 0);
		assert_true(check_module(mod, lt) > 100);
		linetab_close(lt);
		unlink(path);
	}
	dwfl_end(dwfl);
}

/* A zlib stream cut short or overwritten is refused, not read past. */
static void test_compressed_garbage_is_refused(void **state)
{
	(void)state;
	char path[128];
	if (!compressed_copy("zlib", path, sizeof(path)))
		skip();
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	GElf_Shdr line = elf_section_header(fd, ".debug_line");
	assert_true(line.sh_flags & SHF_COMPRESSED);
	/* The middle of the deflate stream, past the 24-byte header. */
	char junk[64];
	memset(junk, 0xa5, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)(line.sh_offset + line.sh_size / 2)),
			 (ssize_t)sizeof(junk));
	close(fd);
	struct linetab *lt;
	assert_int_equal(linetab_open(path, &lt), -EBADMSG);
	assert_null(lt);
	unlink(path);
}

/* libc6-dbg's file for the libc mapped here, or skip. */
static void libc_debug_file(Dwfl *dwfl, Dwfl_Module **mod, uint64_t *getpid_addr, char *path, size_t len)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(libc);
	/* libc's own getpid, even where a sanitizer interposes one */
	*getpid_addr = (uintptr_t)dlsym(libc, "getpid");
	dlclose(libc);
	*mod = dwfl_addrmodule(dwfl, *getpid_addr);
	assert_non_null(*mod);
	Dwarf_Addr bias;
	assert_non_null(dwfl_module_getelf(*mod, &bias)); /* reads the build ID */
	const unsigned char *id;
	GElf_Addr vaddr;
	int idlen = dwfl_module_build_id(*mod, &id, &vaddr);
	if (idlen < 2)
		skip();
	size_t n = (size_t)snprintf(path, len, "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (int i = 1; i < idlen; i++)
		n += (size_t)snprintf(path + n, len - n, "%02x", id[i]);
	snprintf(path + n, len - n, ".debug");
	if (access(path, R_OK) != 0)
		skip();
}

static void test_libc_matches_libdwfl(void **state)
{
	(void)state;
	Dwfl *dwfl = self_dwfl();
	Dwfl_Module *mod;
	uint64_t getpid_addr;
	char path[256];
	libc_debug_file(dwfl, &mod, &getpid_addr, path, sizeof(path));

	struct linetab *lt;
	assert_int_equal(linetab_open(path, &lt), 0);
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(libc);
	/* C, assembler (memchr, strlen: whichever variant the IFUNC picked),
	 * and functions that are a thread's or a process's first frames. */
	static const char *const names[] = {
		"getpid", "malloc", "free", "printf", "qsort", "strtol", "fopen",
		"pthread_create", "pthread_cond_wait", "memchr", "strlen", "__libc_start_main",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *fn = dlsym(libc, names[i]);
		assert_non_null(fn);
		assert_true(check_function(mod, lt, (uintptr_t)fn) > 0);
	}
	dlclose(libc);
	assert_true(check_module(mod, lt) > 1000);
	linetab_close(lt);
	dwfl_end(dwfl);
}

/* A copy of this test binary whose first line table claims DWARF 9. */
static void test_open_refuses_corrupt_line_table(void **state)
{
	(void)state;
	char tmp[] = "/tmp/test_linetab.XXXXXX";
	int out = copy_of_self(tmp);
	GElf_Shdr line = elf_section_header(out, ".debug_line");
	if (line.sh_size == 0 || (line.sh_flags & SHF_COMPRESSED)) {
		close(out);
		unlink(tmp);
		skip();
	}
	struct linetab *lt;
	assert_int_equal(linetab_open(tmp, &lt), 0);
	linetab_close(lt);
	/* The version follows a 32-bit unit_length. */
	const unsigned char version9[2] = { 9, 0 };
	assert_int_equal(pwrite(out, version9, 2, (off_t)line.sh_offset + 4), 2);
	close(out);
	assert_int_equal(linetab_open(tmp, &lt), -EBADMSG);
	assert_null(lt);
	unlink(tmp);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct linetab *lt = (struct linetab *)1;
	assert_int_equal(linetab_open("/nonexistent/file", &lt), -ENOENT);
	assert_null(lt);

	char tmp[] = "/tmp/test_linetab.XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
	close(fd);
	assert_int_equal(linetab_open(tmp, &lt), -ENOEXEC);
	assert_null(lt);
	unlink(tmp);

	/* A FIFO where a debug file should be: refused, not waited on. */
	assert_int_equal(mkfifo(tmp, 0600), 0);
	assert_int_equal(linetab_open(tmp, &lt), -ENOEXEC);
	assert_null(lt);
	unlink(tmp);

	/* The libc that is mapped is stripped of its line tables. */
	Dwfl *dwfl = self_dwfl();
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(libc);
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, (uintptr_t)dlsym(libc, "getpid"));
	dlclose(libc);
	assert_non_null(mod);
	const char *mainfile = NULL;
	Dwarf_Addr bias;
	assert_non_null(dwfl_module_getelf(mod, &bias));
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	assert_non_null(mainfile);
	assert_int_equal(linetab_open(mainfile, &lt), -ENODATA);
	assert_null(lt);
	dwfl_end(dwfl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_special_opcodes),
		cmocka_unit_test(test_versions_2_to_5),
		cmocka_unit_test(test_32bit_elf_address_size),
		cmocka_unit_test(test_dwarf64),
		cmocka_unit_test(test_const_add_pc_and_fixed_advance_pc),
		cmocka_unit_test(test_vliw_operation_advance),
		cmocka_unit_test(test_several_sequences_and_units),
		cmocka_unit_test(test_other_opcodes_are_skipped),
		cmocka_unit_test(test_small_opcode_base),
		cmocka_unit_test(test_empty_sequences_are_dropped),
		cmocka_unit_test(test_truncated_anywhere),
		cmocka_unit_test(test_unit_length_past_end),
		cmocka_unit_test(test_reserved_unit_length),
		cmocka_unit_test(test_malformed_units_are_skipped),
		cmocka_unit_test(test_missing_end_sequence),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_own_functions_match_libdwfl),
		cmocka_unit_test(test_libc_matches_libdwfl),
		cmocka_unit_test(test_compressed_sections_match_libdwfl),
		cmocka_unit_test(test_compressed_garbage_is_refused),
		cmocka_unit_test(test_open_refuses_corrupt_line_table),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests_name("linetab", tests, NULL, NULL);
}
