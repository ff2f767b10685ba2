/* pclntab_parse.c — function names and frame sizes from .gopclntab.
 *
 * The runtime keeps this table for its own tracebacks, so even binaries
 * linked with -s -w have it.  Formats by magic (amd64 field offsets):
 *   0xfffffffa  Go 1.16-1.17: absolute entries, 16-byte functab pairs
 *   0xfffffff0  Go 1.18-1.19: u32 entry offsets from textStart
 *   0xfffffff1  Go 1.20+:     same, _func gains startLine
 * Older tables (0xfffffffb, Go <= 1.15) are refused with a reason.
 * Every offset read from the table is checked against its length: the
 * bytes came from another process's memory. */
#include "goread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pcln_format { PCLN_116, PCLN_118, PCLN_120 };

struct goread_pcln {
	uint8_t *tab;
	size_t len;
	enum pcln_format format;
	unsigned quantum;        /* instruction size quantum: 1 on amd64 */
	int nfunc;
	uint64_t text_start;     /* 1.18+: entries are offsets from here */
	size_t funcname_off;     /* start of the function name table */
	size_t pctab_off;        /* start of the pc-value tables */
	size_t functab_off;      /* start of the function table and _func's */
};

static uint32_t pcln_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t pcln_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

struct goread_pcln *goread_pcln_open(const uint8_t *tab, size_t len, char *err, size_t errlen)
{
	if (len < 72) {
		snprintf(err, errlen, "pclntab is %zu bytes, too short", len);
		return NULL;
	}
	uint32_t magic = pcln_u32(tab);
	struct goread_pcln p = { .quantum = tab[6] };
	/* Header words after magic/pad/quantum/ptrsize: nfunc, nfiles, then
	 * (1.18+) textStart, then the table offsets. */
	size_t word = 8;
	switch (magic) {
	case 0xfffffffa: p.format = PCLN_116; break;
	case 0xfffffff0: p.format = PCLN_118; break;
	case 0xfffffff1: p.format = PCLN_120; break;
	case 0xfffffffb:
		snprintf(err, errlen, "pclntab format of Go 1.2-1.15 is not supported");
		return NULL;
	default:
		snprintf(err, errlen, "unknown pclntab magic 0x%08x", magic);
		return NULL;
	}
	if (tab[7] != 8 || p.quantum != 1) {
		snprintf(err, errlen, "pclntab is not for amd64 (pointer size %u, quantum %u)",
			 tab[7], p.quantum);
		return NULL;
	}
	uint64_t nfunc = pcln_u64(tab + word);
	word += 16;
	if (p.format != PCLN_116) {
		p.text_start = pcln_u64(tab + word);
		word += 8;
	}
	p.funcname_off = pcln_u64(tab + word);
	p.pctab_off = pcln_u64(tab + word + 24);
	p.functab_off = pcln_u64(tab + word + 32);
	size_t pair = p.format == PCLN_116 ? 16 : 8;
	if (nfunc == 0 || nfunc > 10000000 || p.funcname_off >= len || p.pctab_off >= len ||
	    p.functab_off >= len || (len - p.functab_off) / pair < nfunc + 1) {
		snprintf(err, errlen, "pclntab header is inconsistent (%llu functions)",
			 (unsigned long long)nfunc);
		return NULL;
	}
	p.nfunc = (int)nfunc;
	p.len = len;
	p.tab = malloc(len);
	struct goread_pcln *out = malloc(sizeof(*out));
	if (!p.tab || !out) {
		free(p.tab);
		free(out);
		snprintf(err, errlen, "out of memory for a %zu-byte pclntab", len);
		return NULL;
	}
	memcpy(p.tab, tab, len);
	*out = p;
	return out;
}

void goread_pcln_close(struct goread_pcln *p)
{
	if (!p)
		return;
	free(p->tab);
	free(p);
}

int goread_pcln_nfunc(const struct goread_pcln *p)
{
	return p->nfunc;
}

const char *goread_pcln_format(const struct goread_pcln *p)
{
	switch (p->format) {
	case PCLN_116: return "1.16";
	case PCLN_118: return "1.18";
	case PCLN_120: return "1.20";
	}
	return "?";
}

/* Entry pc of function table slot i (0..nfunc; slot nfunc is the end). */
static uint64_t pcln_entry(const struct goread_pcln *p, int i)
{
	const uint8_t *ft = p->tab + p->functab_off;
	if (p->format == PCLN_116)
		return pcln_u64(ft + (size_t)i * 16);
	return p->text_start + pcln_u32(ft + (size_t)i * 8);
}

/* Fills out for slot i; false when its _func lies outside the table or
 * its name is not a terminated string inside the name table. */
static bool pcln_func_at(const struct goread_pcln *p, int i, struct goread_func *out)
{
	const uint8_t *ft = p->tab + p->functab_off;
	uint64_t funcoff = p->format == PCLN_116 ? pcln_u64(ft + (size_t)i * 16 + 8)
						  : pcln_u32(ft + (size_t)i * 8 + 4);
	size_t fsize = p->format == PCLN_118 ? 40 : 44;
	if (funcoff > p->len - p->functab_off || p->len - p->functab_off - funcoff < fsize)
		return false;
	const uint8_t *f = ft + funcoff;
	size_t nameoff_at = p->format == PCLN_116 ? 8 : 4;
	int32_t nameoff = (int32_t)pcln_u32(f + nameoff_at);
	if (nameoff < 0 || (size_t)nameoff >= p->len - p->funcname_off)
		return false;
	const char *name = (const char *)p->tab + p->funcname_off + nameoff;
	if (!memchr(name, 0, p->len - p->funcname_off - (size_t)nameoff))
		return false;
	out->entry = pcln_entry(p, i);
	out->name = name;
	out->pcsp = pcln_u32(f + nameoff_at + 12);
	out->func_id = f[p->format == PCLN_120 ? 40 : p->format == PCLN_118 ? 36 : 40];
	out->index = i;
	return true;
}

bool goread_pcln_find(const struct goread_pcln *p, uint64_t pc, struct goread_func *out)
{
	if (pc < pcln_entry(p, 0) || pc >= pcln_entry(p, p->nfunc))
		return false;
	int lo = 0, hi = p->nfunc - 1;
	/* The last slot whose entry <= pc. */
	while (lo < hi) {
		int mid = lo + (hi - lo + 1) / 2;
		if (pcln_entry(p, mid) <= pc)
			lo = mid;
		else
			hi = mid - 1;
	}
	return pcln_func_at(p, lo, out);
}

bool goread_pcln_lookup(const struct goread_pcln *p, const char *name, struct goread_func *out)
{
	for (int i = 0; i < p->nfunc; i++)
		if (pcln_func_at(p, i, out) && strcmp(out->name, name) == 0)
			return true;
	return false;
}

uint64_t goread_pcln_end(const struct goread_pcln *p, const struct goread_func *f)
{
	return pcln_entry(p, f->index + 1);
}

/* A uvarint from a table, advancing *p; false when cut short. */
static bool pcln_uvarint(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
	uint32_t v = 0;
	for (unsigned shift = 0; shift < 35; shift += 7) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

bool goread_pcvalue(const uint8_t *tab, size_t len, uint64_t entry, unsigned quantum,
		    uint64_t target_pc, int32_t *value)
{
	const uint8_t *p = tab, *end = tab + len;
	uint64_t pc = entry;
	int32_t val = -1;
	/* Each step: a zigzag value delta, then a pc delta in quanta; a zero
	 * value delta ends the table, except on the first step. */
	for (bool first = true;; first = false) {
		uint32_t vdelta, pcdelta;
		if (!pcln_uvarint(&p, end, &vdelta) || (vdelta == 0 && !first))
			return false;
		val += (int32_t)(-(vdelta & 1) ^ (vdelta >> 1));
		if (!pcln_uvarint(&p, end, &pcdelta))
			return false;
		pc += (uint64_t)pcdelta * quantum;
		if (target_pc < pc) {
			*value = val;
			return true;
		}
	}
}

bool goread_pcln_spdelta(const struct goread_pcln *p, const struct goread_func *f,
			 uint64_t pc, int32_t *delta)
{
	if (f->pcsp == 0 || f->pcsp >= p->len - p->pctab_off)
		return false;
	size_t off = p->pctab_off + f->pcsp;
	return goread_pcvalue(p->tab + off, p->len - off, f->entry, p->quantum, pc, delta);
}
