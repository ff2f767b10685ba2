/* goelf.c — sections, symbols and DWARF struct layouts of a Go executable.
 *
 * Field offsets come from DWARF by name, so a runtime that moved a field
 * still reads right.  Go 1.20 wrapped several fields in atomic types
 * (atomic.Uint64 {noCopy; _ align64; value uint64}): a field whose type is
 * a struct with a member named "value" is read through that member. */
#include "goread_int.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int goelf_open(int fd, struct goelf *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	elf_version(EV_CURRENT);
	e->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
		snprintf(err, errlen, "not an ELF file");
		if (e->elf)
			elf_end(e->elf);
		e->elf = NULL;
		return -ENOEXEC;
	}
	GElf_Ehdr eh;
	if (!gelf_getehdr(e->elf, &eh) || eh.e_machine != EM_X86_64) {
		snprintf(err, errlen, "not an x86-64 executable");
		elf_end(e->elf);
		e->elf = NULL;
		return -ENOEXEC;
	}
	GElf_Shdr sh;
	e->has_symtab = goelf_section(e, ".symtab", &sh);
	e->has_dwarf = goelf_section(e, ".debug_info", &sh) || goelf_section(e, ".zdebug_info", &sh);
	return 0;
}

void goelf_close(struct goelf *e)
{
	if (e->elf)
		elf_end(e->elf);
	e->elf = NULL;
}

static Elf_Scn *goelf_find_scn(struct goelf *e, const char *name, GElf_Shdr *shdr)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(e->elf, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = elf_nextscn(e->elf, NULL); scn; scn = elf_nextscn(e->elf, scn)) {
		if (!gelf_getshdr(scn, shdr))
			continue;
		const char *n = elf_strptr(e->elf, shstrndx, shdr->sh_name);
		if (n && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

bool goelf_section(struct goelf *e, const char *name, GElf_Shdr *shdr)
{
	return goelf_find_scn(e, name, shdr) != NULL;
}

bool goelf_symbol(struct goelf *e, const char *name, uint64_t *value, uint64_t *size)
{
	GElf_Shdr sh;
	Elf_Scn *scn = goelf_find_scn(e, ".symtab", &sh);
	if (!scn || sh.sh_entsize == 0)
		return false;
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d)
		return false;
	size_t n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(d, (int)i, &sym))
			break;
		const char *s = elf_strptr(e->elf, sh.sh_link, sym.st_name);
		if (s && strcmp(s, name) == 0) {
			*value = sym.st_value;
			*size = sym.st_size;
			return true;
		}
	}
	return false;
}

bool goelf_read_vaddr(struct goelf *e, uint64_t vaddr, void *buf, size_t len)
{
	for (Elf_Scn *scn = elf_nextscn(e->elf, NULL); scn; scn = elf_nextscn(e->elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (vaddr < sh.sh_addr || vaddr - sh.sh_addr > sh.sh_size ||
		    sh.sh_size - (vaddr - sh.sh_addr) < len)
			continue;
		return pread(e->fd, buf, len, (off_t)(sh.sh_offset + vaddr - sh.sh_addr)) == (ssize_t)len;
	}
	return false;
}

/* ---------------------------------------------------------------- DWARF */

/* The type DIE of die, with typedefs peeled. */
static bool dwarf_type_of(Dwarf_Die *die, Dwarf_Die *type)
{
	Dwarf_Attribute attr;
	if (!dwarf_attr_integrate(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, type))
		return false;
	while (dwarf_tag(type) == DW_TAG_typedef) {
		if (!dwarf_attr_integrate(type, DW_AT_type, &attr) || !dwarf_formref_die(&attr, type))
			return false;
	}
	return true;
}

static bool dwarf_member(Dwarf_Die *st, const char *name, Dwarf_Die *member)
{
	if (dwarf_child(st, member) != 0)
		return false;
	do {
		const char *n = dwarf_diename(member);
		if (dwarf_tag(member) == DW_TAG_member && n && strcmp(n, name) == 0)
			return true;
	} while (dwarf_siblingof(member, member) == 0);
	return false;
}

static bool dwarf_member_offset(Dwarf_Die *member, uint32_t *off)
{
	Dwarf_Attribute attr;
	Dwarf_Word w;
	if (!dwarf_attr(member, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &w) != 0)
		return false;
	*off = (uint32_t)w;
	return true;
}

/* Resolves a dotted field path ("sched.pc") inside struct st. */
static struct gofield dwarf_field(Dwarf_Die *st, const char *path)
{
	struct gofield f = { 0, 0 };
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	Dwarf_Die cur = *st, member, type;
	uint32_t off = 0;
	for (char *save = NULL, *part = strtok_r(buf, ".", &save); part;
	     part = strtok_r(NULL, ".", &save)) {
		uint32_t o;
		if (!dwarf_member(&cur, part, &member) || !dwarf_member_offset(&member, &o) ||
		    !dwarf_type_of(&member, &type))
			return f;
		off += o;
		cur = type;
	}
	/* Atomic wrappers: read the value inside. */
	if (dwarf_tag(&cur) == DW_TAG_structure_type && dwarf_member(&cur, "value", &member)) {
		uint32_t o;
		if (!dwarf_member_offset(&member, &o) || !dwarf_type_of(&member, &type))
			return f;
		off += o;
		cur = type;
	}
	Dwarf_Word size;
	if (dwarf_aggregate_size(&cur, &size) != 0 || size == 0 || size > 8)
		return f;
	f.off = off;
	f.size = (uint32_t)size;
	return f;
}

static void layout_g_span(struct golayout_g *g)
{
	const struct gofield *all[] = { &g->stack_hi, &g->sched_sp, &g->sched_pc, &g->status,
					&g->waitreason, &g->startpc, &g->gopc, &g->syscallsp,
					&g->syscallpc };
	g->span = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->size && all[i]->off + all[i]->size > g->span)
			g->span = all[i]->off + all[i]->size;
}

static void dwarf_fill_g(Dwarf_Die *st, struct golayout_g *g)
{
	g->stack_hi = dwarf_field(st, "stack.hi");
	g->sched_sp = dwarf_field(st, "sched.sp");
	g->sched_pc = dwarf_field(st, "sched.pc");
	g->status = dwarf_field(st, "atomicstatus");
	g->waitreason = dwarf_field(st, "waitreason");
	g->startpc = dwarf_field(st, "startpc");
	g->gopc = dwarf_field(st, "gopc");
	g->syscallsp = dwarf_field(st, "syscallsp");
	g->syscallpc = dwarf_field(st, "syscallpc");
	layout_g_span(g);
}

static void dwarf_fill_gc(Dwarf_Die *st, struct golayout_gc *gc)
{
	gc->heap_marked = dwarf_field(st, "heapMarked");
	gc->heap_inuse = dwarf_field(st, "heapInUse");
	gc->total_alloc = dwarf_field(st, "totalAlloc");
	gc->total_free = dwarf_field(st, "totalFree");
	gc->heap_goal = dwarf_field(st, "heapGoal");
	gc->percent_goal = dwarf_field(st, "gcPercentHeapGoal");
	gc->sweep_min_trigger = dwarf_field(st, "sweepDistMinTrigger");
	gc->triggered = dwarf_field(st, "triggered");
	gc->memory_limit = dwarf_field(st, "memoryLimit");
}

bool goelf_dwarf_layouts(struct goelf *e, struct golayout_g *g, struct golayout_gc *gc)
{
	if (!e->has_dwarf)
		return false;
	Dwarf *dw = dwarf_begin_elf(e->elf, DWARF_C_READ, NULL);
	if (!dw)
		return false;
	bool found_g = false, found_gc = false, found_ms = false;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (!(found_g && found_gc && found_ms) &&
	       dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				if (dwarf_tag(&die) != DW_TAG_structure_type)
					continue;
				const char *n = dwarf_diename(&die);
				if (!n || strncmp(n, "runtime.", 8) != 0)
					continue;
				if (!found_g && strcmp(n, "runtime.g") == 0) {
					dwarf_fill_g(&die, g);
					found_g = true;
				} else if (!found_gc && strcmp(n, "runtime.gcControllerState") == 0) {
					dwarf_fill_gc(&die, gc);
					found_gc = true;
				} else if (!found_ms && strcmp(n, "runtime.mstats") == 0) {
					gc->numgc = dwarf_field(&die, "numgc");
					found_ms = true;
				}
			} while (dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
	dwarf_end(dw);
	return found_g;
}
