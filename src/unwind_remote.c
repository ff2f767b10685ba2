#include "unwind_remote.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <libunwind.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "util.h"

/* Exported by libunwind (the generic x86-64 build) but not declared in its
 * headers: it looks an IP up in an .eh_frame_hdr search table that lives in
 * the target's memory, reading it through our access_mem. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

enum {
	PAGE_SIZE_ = 4096,
	CACHE_PAGES = 64,            /* 256 KiB: a thread's stack top and the tables it touches */
	MAX_PHDRS = 64,
	FP_MAX_FRAME = 1 << 20,      /* frame-pointer walk: a frame larger than 1 MiB is garbage */
	FP_FALLBACK_DEPTH = 3,       /* try frame pointers when CFI gave fewer frames */
	FP_SCRATCH = 256,            /* frames kept from a frame-pointer walk */
	MEMO_MAX_BYTES = 64 * 1024,  /* stack bytes a remembered unwind may depend on */
	MEMO_MAX_FRAMES = 256,
	GRAB_FIRST = 32 * 1024,      /* stack copied from a thread never unwound before */
	GRAB_MIN = 4096,
	GRAB_MAX = 512 * 1024,
	GRAB_SLACK = 1024,           /* above the depth the last unwind read */
	GRAB_SLOTS = GRAB_MAX / 8,   /* the words of a grab */
	RED_ZONE = 128,              /* below the stack pointer, still the thread's */
	SHAPE_ALIGN = 4096,          /* see memo_fits() */
};

/* DWARF pointer encodings used by .eh_frame_hdr (LSB 5.0, "Exception Frames"). */
enum {
	DW_EH_PE_udata4 = 0x03,
	DW_EH_PE_sdata4 = 0x0b,
	DW_EH_PE_datarel_sdata4 = 0x3b,
};

/* One executable mapping and the unwind table that covers it. */
struct module_map {
	uint64_t start, end;
	uint64_t eh_hdr;             /* address of .eh_frame_hdr; 0: none usable */
	uint64_t fde_count;
};

struct page_slot {
	uint64_t addr;
	unsigned gen;                /* 0: empty; else valid while equal to unwind_remote.gen */
	bool fixed;                  /* in a read-only file mapping: valid until the maps change */
};

struct range {
	uint64_t start, end;
};

/* The last unwind of a thread and everything it depended on: the
 * registers libunwind asked for and the stack words it read (everything
 * else it read is in read-only file mappings, which change only with the
 * mappings, and those drop every memo).  Words are counted from the stack
 * pointer, in 8-byte slots.
 *  - A parked thread shows the same registers and words at the next
 *    capture: comparing them with its grab replaces the whole unwind.
 *  - The threads of a pool parked the same way show them too, moved by
 *    the distance between their stacks: one unwind serves them all (see
 *    memo_fits).  Unwinding costs about 20 µs a thread here, most of it
 *    the signal masking around libunwind's cache lock.
 *  - The depth sizes the next grab, so a parked thread's copy is a page,
 *    not 32 KiB. */
struct thread_memo {
	pid_t tid;                   /* 0: empty slot */
	bool valid;                  /* false: pcs cannot be reused, depth still holds */
	size_t depth;                /* stack bytes above the stack pointer the unwind read */
	unsigned seen;               /* sync generation of its last use */
	uint32_t reg_mask;           /* 1 << UNW_X86_64_* of the registers read */
	struct user_regs_struct regs;
	size_t grab_len;             /* its grab: [rsp, rsp + grab_len) was its stack */
	size_t first, nslots;        /* the slots [first, first + nslots) span the reads */
	uint64_t *words;             /* their values */
	uint64_t *read;              /* bit i: slot first + i was read */
	size_t npcs;
	uint64_t pcs[];
};

/* Threads that were unwound, by the instruction they were stopped at. */
struct shape_slot {
	uint64_t rip;
	pid_t tid;                   /* 0: empty */
};

struct unwind_remote {
	pid_t pid;
	int proc_dirfd;
	unw_addr_space_t as;

	/* The thread being unwound: its registers, its grab and the page cache. */
	struct user_regs_struct regs;
	const struct unwind_grab *grab;
	unsigned gen;
	struct page_slot slots[CACHE_PAGES];
	unsigned char (*pages)[PAGE_SIZE_];

	uint64_t maps_hash;          /* of the maps lines that matter; 0: never read */
	struct module_map *mods;     /* sorted by start */
	size_t nmods;
	struct range *fixed;         /* read-only file mappings, sorted */
	size_t nfixed;
	struct range *vmas;          /* every mapping at the last sync, sorted */
	size_t nvmas, vma_cap;

	/* What the unwind in progress has depended on. */
	uint32_t reg_mask;
	uint64_t dep_lo, dep_hi;     /* dep_lo > dep_hi: no memory read yet */
	bool dep_failed;             /* a read failed or went past the grab: pcs not remembered */
	uint64_t *read_bits;         /* GRAB_SLOTS bits: the grab's slots read */

	struct thread_memo **memos;  /* open addressing by tid */
	size_t memo_cap;             /* a power of two, or 0 */
	size_t nmemos;
	unsigned sync_gen;
	struct shape_slot *shapes;   /* open addressing by rip; entries are hints */
	size_t shape_cap;            /* a power of two, or 0 */
	size_t nshapes;

	char *buf;
	size_t cap;
};

/* ------------------------------------------------------------ memory */

static int read_remote(const struct unwind_remote *u, uint64_t addr, void *dst, size_t len)
{
	struct iovec local = { dst, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(u->pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static bool in_grab(const struct unwind_grab *g, uint64_t addr, size_t len)
{
	return g && addr >= g->lo && addr - g->lo <= g->len && len <= g->len - (addr - g->lo);
}

/* The range of r[0..n) (sorted, disjoint) that holds addr, or NULL. */
static const struct range *range_find(const struct range *r, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < r[mid].start)
			hi = mid;
		else if (addr >= r[mid].end)
			lo = mid + 1;
		else
			return &r[mid];
	}
	return NULL;
}

static bool in_ranges(const struct range *r, size_t n, uint64_t addr)
{
	return range_find(r, n, addr) != NULL;
}

/* Note a read the unwind result depends on (see struct thread_memo).  A
 * writable byte outside the grab was read live, after the thread ran on: a
 * later capture could not tell whether it changed. */
static void depend_on(struct unwind_remote *u, uint64_t addr, size_t len)
{
	if (in_ranges(u->fixed, u->nfixed, addr))
		return;
	if (!in_grab(u->grab, addr, len)) {
		u->dep_failed = true;
	} else {
		for (uint64_t slot = (addr - u->grab->lo) / 8;
		     slot <= (addr + len - 1 - u->grab->lo) / 8; slot++)
			u->read_bits[slot / 64] |= 1ULL << (slot % 64);
	}
	if (addr < u->dep_lo)
		u->dep_lo = addr;
	if (addr + len > u->dep_hi)
		u->dep_hi = addr + len;
}

/* Stack pages are read afresh for every thread; code and unwind tables
 * (read-only file mappings) are kept for all of them. */
static bool slot_holds(const struct unwind_remote *u, const struct page_slot *slot,
		       uint64_t page)
{
	return slot->gen && slot->addr == page && (slot->fixed || slot->gen == u->gen);
}

/* The grab first; then a page that cannot be read whole (its end is
 * unmapped, say) falls back to reading just the word. */
static int read_word_untracked(struct unwind_remote *u, uint64_t addr, uint64_t *val)
{
	if (in_grab(u->grab, addr, sizeof(*val))) {
		memcpy(val, u->grab->bytes + (addr - u->grab->lo), sizeof(*val));
		return 0;
	}
	uint64_t page = addr & ~(uint64_t)(PAGE_SIZE_ - 1);
	size_t off = addr - page;

	if (off + sizeof(*val) <= PAGE_SIZE_) {
		size_t i = (page / PAGE_SIZE_) % CACHE_PAGES;
		struct page_slot *slot = &u->slots[i];
		if (!slot_holds(u, slot, page)) {
			slot->gen = 0;
			if (read_remote(u, page, u->pages[i], PAGE_SIZE_) == 0) {
				slot->addr = page;
				slot->gen = u->gen;
				slot->fixed = in_ranges(u->fixed, u->nfixed, page);
			}
		}
		if (slot->gen) {
			memcpy(val, u->pages[i] + off, sizeof(*val));
			return 0;
		}
	}
	return read_remote(u, addr, val, sizeof(*val));
}

/* One word through the page cache, noting the dependency. */
static int read_word(struct unwind_remote *u, uint64_t addr, uint64_t *val)
{
	int rc = read_word_untracked(u, addr, val);
	if (rc == 0)
		depend_on(u, addr, sizeof(*val));
	else
		u->dep_failed = true;   /* that address may be mapped next time */
	return rc;
}

static void cache_invalidate(struct unwind_remote *u)
{
	if (++u->gen == 0) {     /* wrapped: old slots could look valid again */
		memset(u->slots, 0, sizeof(u->slots));
		u->gen = 1;
	}
}

/* ------------------------------------------------------- accessors */

static int acc_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			  void *arg)
{
	(void)as;
	if (write)
		return -UNW_EINVAL;      /* read-only: never write the target */
	uint64_t v;
	if (read_word(arg, addr, &v) < 0)
		return -UNW_EINVAL;
	*val = v;
	return 0;
}

static bool reg_value(const struct user_regs_struct *r, int reg, uint64_t *val)
{
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_RSP: *val = r->rsp; break;
	case UNW_X86_64_R8:  *val = r->r8; break;
	case UNW_X86_64_R9:  *val = r->r9; break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	case UNW_X86_64_RIP: *val = r->rip; break;
	default: return false;
	}
	return true;
}

static int acc_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
			  void *arg)
{
	struct unwind_remote *u = arg;
	uint64_t v;

	(void)as;
	if (write)
		return -UNW_EREADONLYREG;
	if (!reg_value(&u->regs, reg, &v))
		return -UNW_EBADREG;
	u->reg_mask |= 1u << reg;
	*val = v;
	return 0;
}

static const struct module_map *module_find(const struct unwind_remote *u, uint64_t ip)
{
	size_t lo = 0, hi = u->nmods;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ip < u->mods[mid].start)
			hi = mid;
		else if (ip >= u->mods[mid].end)
			lo = mid + 1;
		else
			return &u->mods[mid];
	}
	return NULL;
}

/* Our own lookup instead of _UPT_find_proc_info: libunwind passes the
 * find_proc_info arg on to access_mem, so with _UPT's context there our
 * accessors would not know the thread; and _UPT would open and map ELF
 * files, and cannot read the vDSO.  -UNW_ENOINFO makes libunwind fall back
 * to the frame-pointer chain. */
static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			      int need_unwind_info, void *arg)
{
	const struct module_map *m = module_find(arg, ip);

	if (!m || !m->eh_hdr)
		return -UNW_ENOINFO;
	unw_dyn_info_t di;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->start;
	di.end_ip = m->end;
	di.u.rti.segbase = m->eh_hdr;
	/* The table follows the 12-byte header; entries are two int32s. */
	di.u.rti.table_data = m->eh_hdr + 12;
	di.u.rti.table_len = m->fde_count * 8 / sizeof(unw_word_t);
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

/* Unwind info from a REMOTE_TABLE lives in libunwind's own pool, which
 * libunwind frees itself (as its own dwarf_put_unwind_info does). */
static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as; (void)pi; (void)arg;
}

/* Unwind info registered at run time (_U_dyn_register, used by a few JITs)
 * is not supported: such frames unwind through frame pointers. */
static int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as; (void)addr; (void)arg;
	return -UNW_ENOINFO;
}

/* Floating-point registers are never needed to unwind integer frames. */
static int acc_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val,
			    int write, void *arg)
{
	(void)as; (void)reg; (void)val; (void)write; (void)arg;
	return -UNW_EBADREG;
}

/* Resuming a cursor would write the target's registers: refused. */
static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as; (void)c; (void)arg;
	return -UNW_EINVAL;
}

/* Names come from symbols.h after the thread runs again. */
static int acc_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			     unw_word_t *off, void *arg)
{
	(void)as; (void)addr; (void)buf; (void)len; (void)off; (void)arg;
	return -UNW_ENOINFO;
}

/* ------------------------------------------------------------ modules */

/* Fill m->eh_hdr and m->fde_count from the ELF image whose first page is
 * mapped at base.  Anything unexpected leaves eh_hdr 0 (frame pointers). */
static void module_read_table(const struct unwind_remote *u, uint64_t base, struct module_map *m)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHDRS];

	if (read_remote(u, base, &eh, sizeof(eh)) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS ||
	    read_remote(u, base + eh.e_phoff, ph, eh.e_phnum * sizeof(Elf64_Phdr)) < 0)
		return;

	/* The load bias: the segment at file offset 0 is the one mapped at base. */
	bool have_bias = false;
	uint64_t bias = 0, hdr_vaddr = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && !have_bias) {
			bias = base - (ph[i].p_vaddr & ~(uint64_t)(PAGE_SIZE_ - 1));
			have_bias = true;
		} else if (ph[i].p_type == PT_GNU_EH_FRAME) {
			hdr_vaddr = ph[i].p_vaddr;
		}
	}
	if (!have_bias || !hdr_vaddr)
		return;

	/* version, eh_frame_ptr_enc, fde_count_enc, table_enc, eh_frame_ptr, fde_count */
	unsigned char hdr[12];
	uint64_t addr = bias + hdr_vaddr;
	if (read_remote(u, addr, hdr, sizeof(hdr)) < 0 || hdr[0] != 1)
		return;
	unsigned ptr_size = hdr[1] & 0x0f;
	if ((ptr_size != DW_EH_PE_udata4 && ptr_size != DW_EH_PE_sdata4) ||
	    (hdr[2] != DW_EH_PE_udata4 && hdr[2] != DW_EH_PE_sdata4) ||
	    hdr[3] != DW_EH_PE_datarel_sdata4)
		return;
	uint32_t count;
	memcpy(&count, hdr + 8, sizeof(count));
	m->eh_hdr = addr;
	m->fde_count = count;
}

struct maps_line {
	uint64_t start, end, offset, inode;
	char perms[5];
	const char *path;            /* points into the maps buffer */
};

static bool maps_parse_line(char *line, struct maps_line *l)
{
	int pathpos = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*x:%*x %" SCNu64 " %n",
		   &l->start, &l->end, l->perms, &l->offset, &l->inode, &pathpos) < 5)
		return false;
	l->path = pathpos ? line + pathpos : "";
	return true;
}

/* The base of the image that holds exec mapping x: the mapping of the same
 * file at offset 0 below it (for the vDSO, the mapping itself). */
static uint64_t module_base(const struct maps_line *lines, size_t n, size_t x)
{
	if (lines[x].offset == 0)
		return lines[x].start;
	for (size_t i = x; i-- > 0;) {
		if (lines[i].inode == lines[x].inode && !strcmp(lines[i].path, lines[x].path) &&
		    lines[i].offset == 0)
			return lines[i].start;
	}
	(void)n;
	return 0;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;    /* FNV-1a */
	return h;
}

/* A maps line whose change matters: executable (its unwind table) or a
 * read-only file mapping (reads there are not remembered per thread, see
 * struct thread_memo).  Thread stacks, guard pages and the heap come and
 * go with threads and allocations and change neither. */
static bool maps_line_matters(const char *p, size_t n)
{
	const char *end = p + n;
	const char *f = memchr(p, ' ', n);                  /* -> perms */
	if (!f || end - f < 5)
		return false;
	if (f[3] == 'x')
		return true;
	if (f[2] == 'w')
		return false;
	for (int field = 0; field < 3 && f; field++) {      /* -> inode */
		f = memchr(f + 1, ' ', (size_t)(end - f - 1));
	}
	return f && f + 1 < end && f[1] != '0';
}

static void memo_free(struct thread_memo *m)
{
	free(m->words);
	free(m->read);
	free(m);
}

static void memo_free_all(struct unwind_remote *u)
{
	for (size_t i = 0; i < u->memo_cap; i++) {
		if (u->memos[i]) {
			memo_free(u->memos[i]);
		}
	}
	free(u->memos);
	u->memos = NULL;
	u->memo_cap = u->nmemos = 0;
	free(u->shapes);
	u->shapes = NULL;
	u->shape_cap = u->nshapes = 0;
}

static struct thread_memo **memo_slot(struct thread_memo **table, size_t cap, pid_t tid)
{
	size_t i = ((size_t)tid * 0x9e3779b97f4a7c15ULL) & (cap - 1);
	while (table[i] && table[i]->tid != tid)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

/* Rehash into a table twice as large: at most half full keeps probes short. */
static void memo_grow(struct unwind_remote *u)
{
	size_t cap = u->memo_cap ? 2 * u->memo_cap : 64;
	struct thread_memo **table = xcalloc(cap, sizeof(*table));
	for (size_t i = 0; i < u->memo_cap; i++)
		if (u->memos[i])
			*memo_slot(table, cap, u->memos[i]->tid) = u->memos[i];
	free(u->memos);
	u->memos = table;
	u->memo_cap = cap;
}

/* Keep the memos of threads unwound since the last sync: the others have
 * exited, or will be unwound afresh. */
static void memo_prune(struct unwind_remote *u)
{
	size_t cap = 64;
	size_t live = 0;
	for (size_t i = 0; i < u->memo_cap; i++)
		live += u->memos[i] && u->memos[i]->seen == u->sync_gen;
	while (cap < 2 * live + 2)
		cap *= 2;
	struct thread_memo **table = xcalloc(cap, sizeof(*table));
	for (size_t i = 0; i < u->memo_cap; i++) {
		struct thread_memo *m = u->memos[i];
		if (!m)
			continue;
		if (m->seen == u->sync_gen) {
			*memo_slot(table, cap, m->tid) = m;
		} else {
			memo_free(m);
		}
	}
	free(u->memos);
	u->memos = table;
	u->memo_cap = cap;
	u->nmemos = live;
}

/* "start-end ..." at the head of a maps line.  Thread stacks come and go
 * with threads, so the list is rebuilt at every sync. */
static void vma_note(struct unwind_remote *u, const char *line)
{
	char *end;
	uint64_t start = strtoull(line, &end, 16);
	if (*end != '-')
		return;
	uint64_t stop = strtoull(end + 1, &end, 16);
	if (*end != ' ' || stop <= start)
		return;
	if (u->nvmas == u->vma_cap) {
		u->vma_cap = u->vma_cap ? 2 * u->vma_cap : 256;
		u->vmas = xrealloc(u->vmas, u->vma_cap * sizeof(*u->vmas));
	}
	u->vmas[u->nvmas++] = (struct range){ start, stop };
}

int unwind_remote_sync(struct unwind_remote *u)
{
	ssize_t len = util_read_at(u->proc_dirfd, "maps", &u->buf, &u->cap);
	if (len < 0)
		return (int)len;

	uint64_t h = 0xcbf29ce484222325ULL;
	size_t nlines = 0;
	u->nvmas = 0;
	for (char *p = u->buf; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (maps_line_matters(p, n))
			h = hash_bytes(h, p, n);
		vma_note(u, p);
		nlines++;
		p += n + (nl != NULL);
	}
	if (h == u->maps_hash) {
		memo_prune(u);
		u->sync_gen++;
		return 0;
	}

	struct maps_line *lines = xcalloc(nlines, sizeof(*lines));
	size_t n = 0;
	for (char *p = u->buf; *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (maps_parse_line(p, &lines[n]))
			n++;
		p = nl ? nl + 1 : p + strlen(p);
	}

	free(u->mods);
	free(u->fixed);
	u->mods = xcalloc(n, sizeof(*u->mods));
	u->fixed = xcalloc(n, sizeof(*u->fixed));
	u->nmods = u->nfixed = 0;
	for (size_t i = 0; i < n; i++) {
		const struct maps_line *l = &lines[i];
		if (l->perms[1] != 'w' && (l->inode || l->perms[2] == 'x'))
			u->fixed[u->nfixed++] = (struct range){ l->start, l->end };
		if (l->perms[2] != 'x')
			continue;
		struct module_map *m = &u->mods[u->nmods++];
		m->start = l->start;
		m->end = l->end;
		uint64_t base = module_base(lines, n, i);
		/* Anonymous executable memory (JIT code) has no ELF image. */
		if (base && (l->inode || l->path[0] == '['))
			module_read_table(u, base, m);
	}
	free(lines);
	u->maps_hash = h;
	unw_flush_cache(u->as, 0, 0);
	memset(u->slots, 0, sizeof(u->slots));
	memo_free_all(u);
	u->sync_gen++;
	return 1;
}

/* ------------------------------------------------------------ threads */

/* The rbp chain: [rbp] is the caller's rbp, [rbp+8] the return address.
 * Used when the CFI unwind stopped almost at once (code without unwind
 * tables that keeps frame pointers). */
static size_t unwind_frame_pointers(struct unwind_remote *u, uint64_t *pcs, size_t max)
{
	size_t n = 0;
	uint64_t fp = u->regs.rbp;

	pcs[n++] = u->regs.rip;
	while (n < max) {
		uint64_t next, ret;
		if (fp & 7 || read_word(u, fp, &next) < 0 || read_word(u, fp + 8, &ret) < 0 ||
		    ret == 0)
			break;
		pcs[n++] = ret;
		if (next <= fp || next - fp > FP_MAX_FRAME)
			break;
		fp = next;
	}
	return n;
}

static struct thread_memo *memo_find(struct unwind_remote *u, pid_t tid)
{
	return u->memo_cap ? *memo_slot(u->memos, u->memo_cap, tid) : NULL;
}

static uint64_t grab_word(const struct unwind_grab *g, size_t slot)
{
	uint64_t v;
	memcpy(&v, g->bytes + slot * 8, sizeof(v));
	return v;
}

/* A value m's unwind read, and the same one in another thread whose stack
 * lies delta bytes away: equal, or both pointing into their own stacks at
 * the same place. */
static bool value_fits(const struct thread_memo *m, uint64_t then, uint64_t now, uint64_t delta)
{
	if (then == now)
		return true;
	return delta && then - (m->regs.rsp - RED_ZONE) < m->grab_len + RED_ZONE &&
	       now == then + delta;
}

/* Would unwinding g read what m's unwind read, relative to the stack
 * pointer?  Then it takes the same steps and finds the same pcs: the code
 * and unwind tables are the same, every stack address it computes is m's
 * moved by delta, and every value it loads is m's (or, pointing into the
 * stack, m's moved by delta).  The rip must be the same.  delta must be a
 * multiple of SHAPE_ALIGN, so that realigning the stack (CFI that masks
 * the stack pointer) moves by delta too; thread stacks are page-aligned
 * mappings, so the threads of a pool parked the same way qualify. */
static bool memo_fits(const struct thread_memo *m, const struct unwind_grab *g)
{
	uint64_t delta = g->regs.rsp - m->regs.rsp;
	if (!m->valid || g->regs.rip != m->regs.rip || delta % SHAPE_ALIGN ||
	    (m->first + m->nslots) * 8 > g->len)
		return false;
	for (int r = 0; r <= UNW_X86_64_RIP; r++) {
		uint64_t now, then;
		if ((m->reg_mask & (1u << r)) && reg_value(&g->regs, r, &now) &&
		    reg_value(&m->regs, r, &then) && !value_fits(m, then, now, delta))
			return false;
	}
	for (size_t i = 0; i < m->nslots; i++)
		if ((m->read[i / 64] >> (i % 64) & 1) &&
		    !value_fits(m, m->words[i], grab_word(g, m->first + i), delta))
			return false;
	return true;
}

/* Put m in tid's slot, dropping what was there. */
static void memo_put(struct unwind_remote *u, pid_t tid, struct thread_memo *m)
{
	if (!memo_find(u, tid) && 2 * (u->nmemos + 1) > u->memo_cap)
		memo_grow(u);
	struct thread_memo **slot = memo_slot(u->memos, u->memo_cap, tid);
	if (*slot)
		memo_free(*slot);
	else
		u->nmemos++;
	*slot = m;
}

/* A memo for tid, grabbed as g, with the pcs and the reads of src (an
 * unwind just done, or another thread's memo that fits g): its words are
 * g's own. */
static struct thread_memo *memo_new(struct unwind_remote *u, pid_t tid,
				    const struct unwind_grab *g, const struct thread_memo *src,
				    const uint64_t *pcs, size_t n)
{
	struct thread_memo *m = xmalloc(sizeof(*m) + n * sizeof(*pcs));
	*m = *src;
	m->tid = tid;
	m->seen = u->sync_gen;
	m->regs = g->regs;
	m->grab_len = g->len;
	m->npcs = n;
	memcpy(m->pcs, pcs, n * sizeof(*pcs));
	size_t nwords = (m->nslots + 63) / 64;
	m->words = m->nslots ? xmalloc(m->nslots * sizeof(*m->words)) : NULL;
	m->read = m->nslots ? xmalloc(nwords * sizeof(*m->read)) : NULL;
	for (size_t i = 0; i < m->nslots; i++)
		m->words[i] = grab_word(g, m->first + i);
	if (m->nslots)
		memcpy(m->read, src->read, nwords * sizeof(*m->read));
	return m;
}

/* Remember the unwind of tid just done: its pcs, when everything it read
 * is in the grab, and in any case how deep it read. */
static void memo_store(struct unwind_remote *u, pid_t tid, const uint64_t *pcs, size_t n)
{
	const struct unwind_grab *g = u->grab;
	struct thread_memo src = {
		.valid = !u->dep_failed && n <= MEMO_MAX_FRAMES &&
			 (u->dep_lo >= u->dep_hi || u->dep_hi - u->dep_lo <= MEMO_MAX_BYTES),
		.depth = u->dep_lo < u->dep_hi && u->dep_hi > g->lo ? u->dep_hi - g->lo : 0,
		.reg_mask = u->reg_mask,
	};
	uint64_t bits[MEMO_MAX_BYTES / 8 / 64 + 2];
	if (src.valid && u->dep_lo < u->dep_hi) {
		/* !dep_failed: every word read is in the grab. */
		src.first = (u->dep_lo - g->lo) / 8;
		src.nslots = (u->dep_hi - g->lo + 7) / 8 - src.first;
		memset(bits, 0, (src.nslots + 63) / 64 * sizeof(*bits));
		for (size_t i = 0; i < src.nslots; i++) {
			size_t slot = src.first + i;
			if (u->read_bits[slot / 64] >> (slot % 64) & 1)
				bits[i / 64] |= 1ULL << (i % 64);
		}
		src.read = bits;
	}
	memo_put(u, tid, memo_new(u, tid, g, &src, pcs, src.valid ? n : 0));
}

static struct shape_slot *shape_slot(struct shape_slot *table, size_t cap, uint64_t rip)
{
	size_t i = (size_t)((rip * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
	while (table[i].tid && table[i].rip != rip)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

/* The last thread unwound at rip is the candidate for the next ones. */
static void shape_note(struct unwind_remote *u, uint64_t rip, pid_t tid)
{
	if (2 * (u->nshapes + 1) > u->shape_cap) {
		size_t cap = u->shape_cap ? 2 * u->shape_cap : 64;
		struct shape_slot *table = xcalloc(cap, sizeof(*table));
		for (size_t i = 0; i < u->shape_cap; i++)
			if (u->shapes[i].tid)
				*shape_slot(table, cap, u->shapes[i].rip) = u->shapes[i];
		free(u->shapes);
		u->shapes = table;
		u->shape_cap = cap;
	}
	struct shape_slot *e = shape_slot(u->shapes, u->shape_cap, rip);
	u->nshapes += !e->tid;
	*e = (struct shape_slot){ rip, tid };
}

static const struct thread_memo *shape_find(struct unwind_remote *u, uint64_t rip)
{
	if (!u->shape_cap)
		return NULL;
	const struct shape_slot *e = shape_slot(u->shapes, u->shape_cap, rip);
	return e->tid ? memo_find(u, e->tid) : NULL;
}

size_t unwind_remote_grab_want(struct unwind_remote *u, pid_t tid)
{
	const struct thread_memo *m = memo_find(u, tid);
	size_t want = m ? m->depth + GRAB_SLACK : GRAB_FIRST;
	return want < GRAB_MIN ? GRAB_MIN : want > GRAB_MAX ? GRAB_MAX : want;
}

void unwind_remote_grab_prepare(struct unwind_remote *u, pid_t tid, struct unwind_grab *g,
				unsigned char *buf)
{
	memset(g, 0, sizeof(*g));
	g->len = unwind_remote_grab_want(u, tid);
	g->borrowed = buf != NULL;
	if (buf) {
		g->bytes = buf;
		return;
	}
	g->bytes = xmalloc(g->len);
	memset(g->bytes, 0, g->len);
}

int unwind_remote_grab(struct unwind_remote *u, pid_t tid, struct unwind_grab *g)
{
	size_t want = g->len;
	g->len = 0;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &g->regs) < 0)
		return -errno;
	g->lo = g->regs.rsp;
	/* Never past the stack's own mapping: the next one up may be another
	 * thread's stack or a library, and reading its untouched pages would
	 * fault them in, in the target, while the thread waits.  Without a
	 * known mapping the read stops at the first unreadable page. */
	const struct range *vma = range_find(u->vmas, u->nvmas, g->lo);
	if (vma && vma->end - g->lo < want)
		want = vma->end - g->lo;
	struct iovec local = { g->bytes, want };
	struct iovec remote = { (void *)(uintptr_t)g->lo, want };
	ssize_t got = process_vm_readv(u->pid, &local, 1, &remote, 1, 0);
	g->len = got > 0 ? (size_t)got : 0;
	return 0;
}

void unwind_grab_release(struct unwind_grab *g)
{
	if (!g->borrowed)
		free(g->bytes);
	memset(g, 0, sizeof(*g));
}

size_t unwind_remote_frames(struct unwind_remote *u, pid_t tid, const struct unwind_grab *g,
			    uint64_t *pcs, size_t max)
{
	if (max == 0)
		return 0;
	u->regs = g->regs;
	u->grab = g;
	struct thread_memo *m = memo_find(u, tid);
	if (m && m->npcs <= max && memo_fits(m, g)) {
		m->seen = u->sync_gen;
		memcpy(pcs, m->pcs, m->npcs * sizeof(*pcs));
		u->grab = NULL;
		return m->npcs;
	}
	const struct thread_memo *shape = shape_find(u, g->regs.rip);
	if (shape && shape != m && shape->npcs <= max && memo_fits(shape, g)) {
		size_t n = shape->npcs;
		memcpy(pcs, shape->pcs, n * sizeof(*pcs));
		memo_put(u, tid, memo_new(u, tid, g, shape, shape->pcs, n));
		u->grab = NULL;
		return n;
	}

	cache_invalidate(u);
	u->reg_mask = 0;
	u->dep_lo = UINT64_MAX;
	u->dep_hi = 0;
	u->dep_failed = false;
	memset(u->read_bits, 0, (g->len / 8 + 64) / 64 * sizeof(*u->read_bits));
	unw_cursor_t cursor;
	size_t n = 0;
	int step = -UNW_EUNSPEC;
	if (unw_init_remote(&cursor, u->as, u) == 0) {
		do {
			unw_word_t ip;
			if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
				break;
			pcs[n++] = ip;
			step = unw_step(&cursor);
		} while (step > 0 && n < max);
	}
	if (n == 0 || (step < 0 && n < FP_FALLBACK_DEPTH)) {
		/* Both read the registers directly. */
		u->reg_mask |= 1u << UNW_X86_64_RIP | 1u << UNW_X86_64_RBP;
	}
	if (n == 0) {
		pcs[n++] = u->regs.rip;
		step = -UNW_EUNSPEC;
	}
	if (step < 0 && n < FP_FALLBACK_DEPTH) {
		uint64_t fp_pcs[FP_SCRATCH];
		size_t fp_n = unwind_frame_pointers(u, fp_pcs, max < FP_SCRATCH ? max : FP_SCRATCH);
		if (fp_n > n) {
			memcpy(pcs, fp_pcs, fp_n * sizeof(*pcs));
			n = fp_n;
		}
	}
	memo_store(u, tid, pcs, n);
	if (memo_find(u, tid)->valid)
		shape_note(u, g->regs.rip, tid);
	u->grab = NULL;
	return n;
}

/* ------------------------------------------------------ open / close */

int unwind_remote_open(pid_t pid, int proc_dirfd, struct unwind_remote **out, char *err,
		       size_t errlen)
{
	struct unwind_remote *u = xcalloc(1, sizeof(*u));

	u->pid = pid;
	u->proc_dirfd = proc_dirfd;
	u->gen = 1;
	/* libunwind copies the accessors into the address space. */
	unw_accessors_t accessors = {
		.find_proc_info = acc_find_proc_info,
		.put_unwind_info = acc_put_unwind_info,
		.get_dyn_info_list_addr = acc_get_dyn_info_list_addr,
		.access_mem = acc_access_mem,
		.access_reg = acc_access_reg,
		.access_fpreg = acc_access_fpreg,
		.resume = acc_resume,
		.get_proc_name = acc_get_proc_name,
	};
	u->as = unw_create_addr_space(&accessors, 0);
	if (!u->as) {
		snprintf(err, errlen, "libunwind could not create an address space");
		free(u);
		return -ENOMEM;
	}
	/* Reuse parsed unwind info across threads and captures: the one
	 * setting that matters most (see the header). */
	unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
	u->pages = xmalloc(CACHE_PAGES * sizeof(*u->pages));
	u->read_bits = xcalloc(GRAB_SLOTS / 64 + 1, sizeof(*u->read_bits));
	*out = u;
	return 0;
}

void unwind_remote_close(struct unwind_remote *u)
{
	if (!u)
		return;
	unw_destroy_addr_space(u->as);
	memo_free_all(u);
	free(u->read_bits);
	free(u->pages);
	free(u->mods);
	free(u->fixed);
	free(u->vmas);
	free(u->buf);
	free(u);
}
