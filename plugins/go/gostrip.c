/* gostrip.c — locating the runtime in binaries linked with -s -w.
 *
 * Without .symtab and DWARF three sources remain:
 *   - code: named runtime functions (names from .gopclntab) reference the
 *     variables RIP-relative; the patterns below are specific enough that
 *     each candidate is then confirmed by reading memory;
 *   - the runtime's own type descriptor of runtime.g (runtime.malg does
 *     new(g)), which carries field names and offsets;
 *   - a per-release table of the GC struct offsets, taken from the DWARF of
 *     reference builds: those structs have no type descriptor.
 * amd64 only. */
#include "goread_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CODE (64u << 10)     /* longest function body scanned */
#define MAX_TARGETS 512

/* A function's code, read from the file at its link-time address (code
 * holds no relocations, so the file and memory agree). */
struct gocode {
	uint8_t *bytes;
	size_t len;
	uint64_t addr;           /* link-time address of bytes[0] */
};

static bool code_load(struct goread *g, const char *name, struct gocode *c)
{
	struct goread_func f;
	memset(c, 0, sizeof(*c));
	if (!g->pcln || !goread_pcln_lookup(g->pcln, name, &f))
		return false;
	uint64_t end = goread_pcln_end(g->pcln, &f);
	if (end <= f.entry || end - f.entry > MAX_CODE)
		return false;
	c->len = end - f.entry;
	c->addr = f.entry - g->bias;
	c->bytes = malloc(c->len);
	if (!c->bytes || !goelf_read_vaddr(&g->elf, c->addr, c->bytes, c->len)) {
		free(c->bytes);
		c->bytes = NULL;
		return false;
	}
	return true;
}

static int32_t code_disp(const uint8_t *p)
{
	int32_t d;
	memcpy(&d, p, sizeof(d));
	return d;
}

/* If an instruction with a RIP-relative memory operand starts at i, its
 * link-time target.  Covers the forms the compiler uses for globals: LEA,
 * MOV load/store, CMP, XCHG, and immediate compares. */
static bool code_rip_target(const struct gocode *c, size_t i, uint64_t *target)
{
	size_t op = i;
	if (op < c->len && (c->bytes[op] & 0xf0) == 0x40)
		op++;                /* REX */
	if (op + 2 > c->len || (c->bytes[op + 1] & 0xc7) != 0x05)
		return false;
	size_t len;
	switch (c->bytes[op]) {
	case 0x8d: case 0x8b: case 0x89: case 0x39: case 0x3b: case 0x87: case 0x85:
		len = op - i + 6;
		break;
	case 0x83: case 0x80: case 0xc6:
		len = op - i + 7;
		break;
	default:
		return false;
	}
	if (i + len > c->len)
		return false;
	*target = c->addr + i + len + (int64_t)code_disp(c->bytes + op + 2);
	return true;
}

/* The link-time target of a CALL rel32 at i. */
static bool code_call_target(const struct gocode *c, size_t i, uint64_t *target)
{
	if (i + 5 > c->len || c->bytes[i] != 0xe8)
		return false;
	*target = c->addr + i + 5 + (int64_t)code_disp(c->bytes + i + 1);
	return true;
}

/* The variable whose address is loaded (LEA RAX, [rip+X]) shortly before a
 * call to callee: the receiver of a method call.  Runtime address or 0. */
static uint64_t code_lea_before_call(struct goread *g, const struct gocode *c, const char *callee)
{
	struct goread_func f;
	if (!goread_pcln_lookup(g->pcln, callee, &f))
		return 0;
	uint64_t want = f.entry - g->bias;
	for (size_t i = 0; i < c->len; i++) {
		uint64_t t;
		if (!code_call_target(c, i, &t) || t != want)
			continue;
		for (size_t back = 7; back <= 24 && back <= i; back++) {
			const uint8_t *p = c->bytes + i - back;
			if (p[0] == 0x48 && p[1] == 0x8d && p[2] == 0x05 &&
			    code_rip_target(c, i - back, &t))
				return t + g->bias;
		}
	}
	return 0;
}

static bool targets_has(const uint64_t *t, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i] == v)
			return true;
	return false;
}

/* runtime.allgadd appends to allgs and stores len(allgs) into allglen: the
 * slice is the referenced address whose +8 and +16 are referenced too and
 * whose memory holds a plausible slice header; allglen is the referenced
 * word that equals its length. */
static void strip_find_allgs(struct goread *g, struct goaddrs *a)
{
	struct gocode c;
	if (!code_load(g, "runtime.allgadd", &c))
		return;
	uint64_t *t = calloc(MAX_TARGETS, sizeof(*t));
	size_t n = 0;
	for (size_t i = 0; t && i < c.len && n < MAX_TARGETS; i++) {
		uint64_t x;
		if (code_rip_target(&c, i, &x) && !targets_has(t, n, x))
			t[n++] = x;
	}
	for (size_t i = 0; t && i < n && !a->allgs; i++) {
		uint64_t hdr[3];
		if (!targets_has(t, n, t[i] + 8) || !targets_has(t, n, t[i] + 16) ||
		    g->read_mem(g->ctx, t[i] + g->bias, hdr, sizeof(hdr)) != sizeof(hdr) ||
		    !hdr[0] || !hdr[1] || hdr[1] > hdr[2])
			continue;
		for (size_t j = 0; j < n; j++) {
			uint64_t v;
			if (t[j] >= t[i] && t[j] < t[i] + 24)
				continue;
			if (g->read_mem(g->ctx, t[j] + g->bias, &v, sizeof(v)) == sizeof(v) &&
			    v == hdr[1]) {
				a->allgs = t[i] + g->bias;
				a->allglen = t[j] + g->bias;
				break;
			}
		}
	}
	free(t);
	free(c.bytes);
}

/* runtime.waitReason.String indexes waitReasonStrings after a bounds check
 * "CMP AL, len"; the table is the LEA target whose entry 1 reads
 * "GC assist marking" (the same in every release since 1.11). */
static void strip_find_wait_reasons(struct goread *g, struct goaddrs *a)
{
	struct gocode c;
	if (!code_load(g, "runtime.waitReason.String", &c))
		return;
	uint64_t count = 0;
	for (size_t i = 0; i + 2 <= c.len && !count; i++)
		if (c.bytes[i] == 0x3c)
			count = c.bytes[i + 1];
	for (size_t i = 0; i < c.len && count; i++) {
		uint64_t x, hdr[2];
		char s[17];
		if (!code_rip_target(&c, i, &x) || c.bytes[i + 1] != 0x8d ||
		    g->read_mem(g->ctx, x + g->bias + 16, hdr, sizeof(hdr)) != sizeof(hdr) ||
		    hdr[1] != 17 || g->read_mem(g->ctx, hdr[0], s, 17) != 17 ||
		    memcmp(s, "GC assist marking", 17) != 0)
			continue;
		a->wait_reasons = x + g->bias;
		a->nwait_reasons = count;
		break;
	}
	free(c.bytes);
}

void gostrip_find_addrs(struct goread *g, struct goaddrs *a)
{
	if (!g->pcln)
		return;
	if (!a->allgs || !a->allglen)
		strip_find_allgs(g, a);
	if (!a->wait_reasons)
		strip_find_wait_reasons(g, a);
	struct gocode c;
	if (!a->gc_controller && code_load(g, "runtime.gcinit", &c)) {
		a->gc_controller = code_lea_before_call(g, &c, "runtime.(*gcControllerState).init");
		free(c.bytes);
	}
	/* This finds &memstats.heapStats, which is &memstats from Go 1.19 on
	 * (heapStats became the first field). */
	if (!a->memstats && g->bi.major == 1 && g->bi.minor >= 19 &&
	    code_load(g, "runtime.(*mcache).refill", &c)) {
		a->memstats = code_lea_before_call(g, &c, "runtime.(*consistentHeapStats).acquire");
		free(c.bytes);
	}
}

/* ------------------------------------------------ type descriptor of g */

#define KIND_STRUCT 25
#define TYPE_SIZE 48             /* abi.Type (runtime._type) on amd64 */

/* The name of a struct field from its name descriptor: a flags byte, then
 * the length (uvarint from Go 1.17, 2 bytes big-endian before). */
static bool type_name(struct goread *g, uint64_t addr, char *out, size_t outlen)
{
	uint8_t b[3 + 64];
	if (g->read_mem(g->ctx, addr, b, sizeof(b)) < 4)
		return false;
	size_t len, start;
	if (g->bi.minor >= 17) {
		len = b[1] & 0x7f;
		start = 2;
		if (b[1] & 0x80) {
			len |= (size_t)(b[2] & 0x7f) << 7;
			start = 3;
			if (b[2] & 0x80)
				return false;
		}
	} else {
		len = (size_t)b[1] << 8 | b[2];
		start = 3;
	}
	if (len >= outlen || start + len > sizeof(b))
		return false;
	memcpy(out, b + start, len);
	out[len] = 0;
	return true;
}

/* Looks up field `name` of the struct type at type_addr: offset, type. */
static bool type_field(struct goread *g, uint64_t type_addr, const char *name, uint64_t *off,
		       uint64_t *ftype)
{
	uint8_t t[TYPE_SIZE + 32];
	if (g->read_mem(g->ctx, type_addr, t, sizeof(t)) != sizeof(t) ||
	    (t[23] & 0x1f) != KIND_STRUCT)
		return false;
	uint64_t fields, nfields;
	memcpy(&fields, t + TYPE_SIZE + 8, 8);
	memcpy(&nfields, t + TYPE_SIZE + 16, 8);
	if (nfields > 256)
		return false;
	for (uint64_t i = 0; i < nfields; i++) {
		uint64_t sf[3];
		char fname[64];
		if (g->read_mem(g->ctx, fields + i * 24, sf, sizeof(sf)) != sizeof(sf))
			return false;
		if (!type_name(g, sf[0], fname, sizeof(fname)) || strcmp(fname, name) != 0)
			continue;
		/* Before Go 1.19 the word is offset<<1 | embedded. */
		*off = g->bi.minor >= 19 ? sf[2] : sf[2] >> 1;
		*ftype = sf[1];
		return true;
	}
	return false;
}

/* A dotted field path in the struct at type_addr, descending into the
 * atomic wrappers' "value" as the DWARF reader does. */
static struct gofield type_path(struct goread *g, uint64_t type_addr, const char *path)
{
	struct gofield f = { 0, 0 };
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", path);
	uint64_t off = 0, t = type_addr, o;
	for (char *save = NULL, *part = strtok_r(buf, ".", &save); part;
	     part = strtok_r(NULL, ".", &save)) {
		if (!type_field(g, t, part, &o, &t))
			return f;
		off += o;
	}
	uint64_t ft;
	if (type_field(g, t, "value", &o, &ft)) {
		off += o;
		t = ft;
	}
	uint64_t size;
	if (g->read_mem(g->ctx, t, &size, sizeof(size)) != sizeof(size) || size == 0 || size > 8 ||
	    off > 4096)
		return f;
	f.off = (uint32_t)off;
	f.size = (uint32_t)size;
	return f;
}

bool gostrip_g_layout(struct goread *g, struct golayout_g *lg)
{
	struct gocode c;
	if (!g->pcln || !code_load(g, "runtime.malg", &c))
		return false;
	uint64_t gtype = code_lea_before_call(g, &c, "runtime.newobject");
	free(c.bytes);
	if (!gtype)
		return false;
	lg->stack_hi = type_path(g, gtype, "stack.hi");
	lg->sched_sp = type_path(g, gtype, "sched.sp");
	lg->sched_pc = type_path(g, gtype, "sched.pc");
	lg->status = type_path(g, gtype, "atomicstatus");
	lg->waitreason = type_path(g, gtype, "waitreason");
	lg->startpc = type_path(g, gtype, "startpc");
	lg->gopc = type_path(g, gtype, "gopc");
	lg->syscallsp = type_path(g, gtype, "syscallsp");
	lg->syscallpc = type_path(g, gtype, "syscallpc");
	const struct gofield *all[] = { &lg->stack_hi, &lg->sched_sp, &lg->sched_pc, &lg->status,
					&lg->waitreason, &lg->startpc, &lg->gopc, &lg->syscallsp,
					&lg->syscallpc };
	lg->span = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!all[i]->size)
			return false;
		if (all[i]->off + all[i]->size > lg->span)
			lg->span = all[i]->off + all[i]->size;
	}
	return true;
}

/* ------------------------------------------------- GC offsets by release */

/* runtime.gcControllerState and mstats.numgc offsets, amd64, from the DWARF
 * of reference builds (off/size).  Only releases measured here are listed:
 * an unlisted release reports no GC stats rather than guessed ones. */
static const struct {
	int minor;
	struct golayout_gc gc;
} strip_gc_table[] = {
	{ 19, { .heap_marked = { 184, 8 }, .heap_inuse = { 304, 8 }, .total_alloc = { 328, 8 },
		.total_free = { 336, 8 }, .percent_goal = { 104, 8 },
		.sweep_min_trigger = { 112, 8 }, .triggered = { 120, 8 },
		.memory_limit = { 8, 8 }, .numgc = { 7704, 4 } } },
#define GC_121_TO_123 { .heap_marked = { 152, 8 }, .heap_inuse = { 272, 8 }, \
		.total_alloc = { 296, 8 }, .total_free = { 304, 8 }, .percent_goal = { 72, 8 }, \
		.sweep_min_trigger = { 80, 8 }, .triggered = { 88, 8 }, .memory_limit = { 8, 8 }, \
		.numgc = { 7704, 4 } }
	{ 21, GC_121_TO_123 },
	{ 22, GC_121_TO_123 },
	{ 23, GC_121_TO_123 },
#undef GC_121_TO_123
};

bool gostrip_gc_layout(int minor, struct golayout_gc *gc)
{
	for (size_t i = 0; i < sizeof(strip_gc_table) / sizeof(strip_gc_table[0]); i++) {
		if (strip_gc_table[i].minor == minor) {
			*gc = strip_gc_table[i].gc;
			return true;
		}
	}
	return false;
}
