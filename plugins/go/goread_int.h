/* goread_int.h — internals shared by the goread source files. */
#ifndef PSCOPE_GOREAD_INT_H
#define PSCOPE_GOREAD_INT_H

#include "goread.h"

#include <gelf.h>
#include <libelf.h>

/* A struct field in target memory: offset and width in bytes; size 0 when
 * it could not be located. */
struct gofield {
	uint32_t off;
	uint32_t size;
};

/* The fields of runtime.g that a snapshot reads. */
struct golayout_g {
	struct gofield stack_hi, sched_sp, sched_pc, status, waitreason, startpc, gopc,
		syscallsp, syscallpc;
	uint32_t span;            /* bytes to read per g: covers every field */
};

/* The GC fields, in runtime.gcControllerState and runtime.mstats. */
struct golayout_gc {
	struct gofield heap_marked, heap_inuse, total_alloc, total_free, heap_goal,
		percent_goal, sweep_min_trigger, triggered, memory_limit;
	struct gofield numgc;     /* in mstats */
};

/* Addresses of the runtime variables (bias added); 0 when not found. */
struct goaddrs {
	uint64_t allgs, allglen, gc_controller, memstats, wait_reasons;
	uint64_t nwait_reasons;
};

/* The executable as libelf sees it. */
struct goelf {
	int fd;
	Elf *elf;
	bool has_symtab, has_dwarf;
};

int goelf_open(int fd, struct goelf *e, char *err, size_t errlen);
void goelf_close(struct goelf *e);
/* Section by name: header copy; false when absent. */
bool goelf_section(struct goelf *e, const char *name, GElf_Shdr *shdr);
/* Symbol value and size from .symtab; false when absent. */
bool goelf_symbol(struct goelf *e, const char *name, uint64_t *value, uint64_t *size);
/* Reads file bytes at link-time address vaddr from the section holding it. */
bool goelf_read_vaddr(struct goelf *e, uint64_t vaddr, void *buf, size_t len);
/* Struct field offsets from DWARF.  false when there is no DWARF at all. */
bool goelf_dwarf_layouts(struct goelf *e, struct golayout_g *g, struct golayout_gc *gc);

/* Stripped fallbacks (gostrip.c). */
struct goread;
void gostrip_find_addrs(struct goread *g, struct goaddrs *a);
bool gostrip_g_layout(struct goread *g, struct golayout_g *lg);
bool gostrip_gc_layout(int minor, struct golayout_gc *gc);

struct goframe;

struct goread {
	struct goelf elf;
	uint64_t bias;
	goread_read_fn read_mem;
	void *ctx;

	struct goread_buildinfo bi;
	struct goread_pcln *pcln;     /* NULL: no stacks, no system/user split */
	struct goaddrs addrs;
	struct golayout_g lg;
	struct golayout_gc lgc;
	bool have_g_layout, have_gc_layout;
	bool stripped;

	uint64_t goexit_entry;        /* stop unwinding here */
	const char **wait_reasons;    /* read from the binary, count nwait_reasons */
	size_t nwait_reasons;
	char *wait_reason_buf;
	struct goframe *frames;       /* pc -> function facts, filled lazily */

	char why[512];
};

/* Appends a "; "-separated reason to a why buffer. */
void goread_why_add(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
