/* goread.c — open a Go executable, locate its runtime, take snapshots.
 *
 * A snapshot walks runtime.allgs like the runtime's own forEachG, counts
 * what runtime.NumGoroutine() counts (g's neither idle nor dead, and not
 * started by the runtime: isSystemGoroutine), groups them by wait reason,
 * first user function and creator, and reads the GC controller.  The
 * target keeps running, so every value read is checked before use and
 * every loop is bounded. */
#include "goread_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Goroutine states (runtime2.go); _Gscan (0x1000) is or'ed in while the GC
 * scans a stack. */
enum {
	G_IDLE = 0, G_RUNNABLE = 1, G_RUNNING = 2, G_SYSCALL = 3, G_WAITING = 4,
	G_DEAD = 6, G_COPYSTACK = 8, G_PREEMPTED = 9, G_LEAKED = 10, G_DEADEXTRA = 11,
	G_SCAN = 0x1000,
};

#define MAX_GOROUTINES 10000000u  /* beyond this allglen is a torn read */
#define MAX_FRAMES 64             /* unwinding stops here, as a guard */
#define STACK_WINDOW 2048         /* stack bytes read at once while unwinding */
#define MAX_WAIT_REASONS 256
#define MAX_PCLNTAB (256u << 20)

void goread_why_add(char *why, size_t len, const char *fmt, ...)
{
	size_t used = strlen(why);
	if (used + 3 >= len)
		return;
	if (used) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

static bool goread_read(const struct goread *g, uint64_t addr, void *buf, size_t len)
{
	return g->read_mem(g->ctx, addr, buf, len) == (ssize_t)len;
}

/* A little-endian field of 1..8 bytes at base+f.off in buf. */
static uint64_t field_get(const uint8_t *buf, struct gofield f)
{
	uint64_t v = 0;
	memcpy(&v, buf + f.off, f.size);
	return v;
}

/* ------------------------------------------------------------- opening */

/* Build info from .go.buildinfo; pointers in the pre-1.18 form are
 * resolved in the file (link-time addresses). */
static ssize_t goread_read_file(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return goelf_read_vaddr(ctx, addr, buf, len) ? (ssize_t)len : -1;
}

static int goread_load_buildinfo(struct goread *g, char *err, size_t errlen)
{
	GElf_Shdr sh;
	if (!goelf_section(&g->elf, ".go.buildinfo", &sh) || sh.sh_type == SHT_NOBITS) {
		snprintf(err, errlen, "no .go.buildinfo section: not a Go program");
		return -ENOEXEC;
	}
	size_t len = sh.sh_size < (1u << 20) ? sh.sh_size : (1u << 20);
	uint8_t *blob = malloc(len ? len : 1);
	if (!blob)
		return -ENOMEM;
	int rc = 0;
	if (pread(g->elf.fd, blob, len, (off_t)sh.sh_offset) != (ssize_t)len ||
	    goread_parse_buildinfo(blob, len, goread_read_file, &g->elf, &g->bi, err, errlen) != 0)
		rc = -ENOEXEC;
	free(blob);
	return rc;
}

static void goread_load_pclntab(struct goread *g)
{
	GElf_Shdr sh;
	if (!goelf_section(&g->elf, ".gopclntab", &sh) &&
	    !goelf_section(&g->elf, ".data.rel.ro.gopclntab", &sh)) {
		goread_why_add(g->why, sizeof(g->why), "no .gopclntab: no function names or stacks");
		return;
	}
	if (sh.sh_size > MAX_PCLNTAB) {
		goread_why_add(g->why, sizeof(g->why), ".gopclntab is too large");
		return;
	}
	/* From memory: a PIE's table holds relocated pointers. */
	uint8_t *tab = malloc(sh.sh_size);
	char err[160];
	if (!tab || !goread_read(g, sh.sh_addr + g->bias, tab, sh.sh_size)) {
		goread_why_add(g->why, sizeof(g->why), "cannot read .gopclntab from memory");
		free(tab);
		return;
	}
	g->pcln = goread_pcln_open(tab, sh.sh_size, err, sizeof(err));
	free(tab);
	if (!g->pcln) {
		goread_why_add(g->why, sizeof(g->why), "%s", err);
		return;
	}
	struct goread_func f;
	if (goread_pcln_lookup(g->pcln, "runtime.goexit", &f))
		g->goexit_entry = f.entry;
}

static void goread_find_addrs(struct goread *g)
{
	struct goaddrs *a = &g->addrs;
	uint64_t size;
	if (g->elf.has_symtab) {
		static const struct { const char *name; size_t off; } syms[] = {
			{ "runtime.allgs", offsetof(struct goaddrs, allgs) },
			{ "runtime.allglen", offsetof(struct goaddrs, allglen) },
			{ "runtime.gcController", offsetof(struct goaddrs, gc_controller) },
			{ "runtime.memstats", offsetof(struct goaddrs, memstats) },
		};
		for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
			uint64_t v;
			if (goelf_symbol(&g->elf, syms[i].name, &v, &size))
				*(uint64_t *)((char *)a + syms[i].off) = v + g->bias;
		}
		uint64_t v;
		if (goelf_symbol(&g->elf, "runtime.waitReasonStrings", &v, &size)) {
			a->wait_reasons = v + g->bias;
			a->nwait_reasons = size / 16;
		}
	}
	if (!a->allgs || !a->allglen || !a->gc_controller || !a->memstats || !a->wait_reasons)
		gostrip_find_addrs(g, a);
}

/* The wait reason names, from the binary's own runtime.waitReasonStrings:
 * the enum was renumbered in 1.20, 1.24 and 1.25. */
static void goread_load_wait_reasons(struct goread *g)
{
	size_t n = g->addrs.nwait_reasons;
	if (!g->addrs.wait_reasons || n == 0 || n > MAX_WAIT_REASONS) {
		goread_why_add(g->why, sizeof(g->why),
			       "runtime.waitReasonStrings not found: wait reasons shown as \"waiting\"");
		return;
	}
	uint64_t (*hdr)[2] = calloc(n, sizeof(*hdr));
	g->wait_reasons = calloc(n, sizeof(*g->wait_reasons));
	g->wait_reason_buf = calloc(n, 64);
	if (!hdr || !g->wait_reasons || !g->wait_reason_buf ||
	    !goread_read(g, g->addrs.wait_reasons, hdr, n * sizeof(*hdr))) {
		free(hdr);
		goread_why_add(g->why, sizeof(g->why), "cannot read runtime.waitReasonStrings");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *s = g->wait_reason_buf + i * 64;
		size_t len = hdr[i][1] < 63 ? hdr[i][1] : 63;
		if (len && !goread_read(g, hdr[i][0], s, len))
			len = 0;
		s[len] = 0;
		g->wait_reasons[i] = s;
	}
	g->nwait_reasons = n;
	free(hdr);
}

static void goread_load_layouts(struct goread *g)
{
	if (goelf_dwarf_layouts(&g->elf, &g->lg, &g->lgc)) {
		g->have_g_layout = g->lg.status.size && g->lg.sched_sp.size && g->lg.startpc.size;
	} else {
		g->stripped = true;
		g->have_g_layout = gostrip_g_layout(g, &g->lg);
		if (!gostrip_gc_layout(g->bi.minor, &g->lgc))
			goread_why_add(g->why, sizeof(g->why),
				       "no DWARF and no GC offset table for %s: GC stats unavailable",
				       g->bi.version);
	}
	g->have_gc_layout = g->lgc.numgc.size && g->lgc.heap_marked.size &&
			    g->lgc.heap_inuse.size && g->lgc.total_alloc.size &&
			    g->lgc.total_free.size;
}

int goread_open_fd(int fd, uint64_t bias, goread_read_fn read_mem, void *ctx,
		   struct goread **out, char *err, size_t errlen)
{
	struct goread *g = calloc(1, sizeof(*g));
	if (!g) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	g->bias = bias;
	g->read_mem = read_mem;
	g->ctx = ctx;
	int rc = goelf_open(fd, &g->elf, err, errlen);
	if (rc == 0)
		rc = goread_load_buildinfo(g, err, errlen);
	if (rc != 0) {
		goread_close(g);
		return rc;
	}
	g->stripped = !g->elf.has_symtab || !g->elf.has_dwarf;
	goread_load_pclntab(g);
	goread_find_addrs(g);
	goread_load_wait_reasons(g);
	goread_load_layouts(g);

	if (!g->addrs.allgs || !g->addrs.allglen)
		goread_why_add(g->why, sizeof(g->why), "runtime.allgs not found: no goroutine count");
	else if (!g->have_g_layout)
		goread_why_add(g->why, sizeof(g->why),
			       "layout of runtime.g unknown: no goroutine count");
	else if (!g->pcln)
		goread_why_add(g->why, sizeof(g->why),
			       "cannot tell runtime goroutines from user ones: no goroutine count");
	if (g->have_gc_layout && (!g->addrs.gc_controller || !g->addrs.memstats))
		goread_why_add(g->why, sizeof(g->why),
			       "runtime.gcController or runtime.memstats not found: no GC stats");
	else if (!g->have_gc_layout && g->lgc.numgc.size)
		goread_why_add(g->why, sizeof(g->why),
			       "GC controller fields of %s not mapped (Go >= 1.19 needed): no GC stats",
			       g->bi.version);
	*out = g;
	return 0;
}

int goread_open(const char *exe, uint64_t bias, goread_read_fn read_mem, void *ctx,
		struct goread **out, char *err, size_t errlen)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", exe, strerror(e));
		return -e;
	}
	return goread_open_fd(fd, bias, read_mem, ctx, out, err, errlen);
}

void goread_close(struct goread *g)
{
	if (!g)
		return;
	goelf_close(&g->elf);
	if (g->elf.fd >= 0)
		close(g->elf.fd);
	goread_pcln_close(g->pcln);
	free(g->wait_reasons);
	free(g->wait_reason_buf);
	free(g->frames);
	free(g);
}

const struct goread_buildinfo *goread_buildinfo(const struct goread *g)
{
	return &g->bi;
}

const char *goread_why(const struct goread *g)
{
	return g->why;
}

bool goread_stripped(const struct goread *g)
{
	return g->stripped;
}

/* ------------------------------------------------------------ snapshot */

static bool name_has_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* isSystemGoroutine: started by a runtime function, except the ones that
 * run user code (runtime.main; runfinq only while it runs finalizers,
 * which NumGoroutine's bookkeeping does not follow either). */
static bool name_is_system_start(const char *name)
{
	return name_has_prefix(name, "runtime.") && strcmp(name, "runtime.main") != 0 &&
	       strcmp(name, "runtime.handleAsyncEvent") != 0 &&
	       strcmp(name, "runtime.corostart") != 0;
}

/* User code: package main, the main module, or a package whose path starts
 * with a domain ("github.com/..."); the standard library has no dot in its
 * first path element. */
static bool goread_is_user_func(const struct goread *g, const char *name)
{
	if (name_has_prefix(name, "main."))
		return true;
	size_t mlen = strlen(g->bi.mod);
	if (mlen && strncmp(name, g->bi.mod, mlen) == 0 && (name[mlen] == '.' || name[mlen] == '/'))
		return true;
	const char *slash = strchr(name, '/');
	if (!slash)
		return false;
	const char *dot = memchr(name, '.', (size_t)(slash - name));
	return dot != NULL;
}

static bool name_is_runtime(const char *name)
{
	return name_has_prefix(name, "runtime.") || name_has_prefix(name, "internal/runtime/");
}

/* What a snapshot needs to know about a pc, cached: thousands of leaked
 * goroutines park at the same few pcs, and decoding a pcsp table is the
 * costly part of unwinding. */
struct goframe {
	uint64_t pc;                  /* 0: empty slot */
	const char *name;             /* NULL: no function at pc */
	int32_t spdelta;
	bool has_delta, user, runtime, goexit, system_start;
};

#define FRAME_CACHE 8192          /* slots, a power of two */

static const struct goframe *goread_frame(struct goread *g, uint64_t pc)
{
	static const struct goframe none = { 0 };
	if (!g->frames && !(g->frames = calloc(FRAME_CACHE, sizeof(*g->frames))))
		return &none;
	struct goframe *fr = &g->frames[(pc * 0x9e3779b97f4a7c15ull >> 40) & (FRAME_CACHE - 1)];
	if (fr->pc == pc && pc)
		return fr;
	struct goread_func f;
	*fr = (struct goframe){ .pc = pc };
	if (!goread_pcln_find(g->pcln, pc, &f))
		return fr;
	fr->name = f.name;
	fr->has_delta = goread_pcln_spdelta(g->pcln, &f, pc, &fr->spdelta) && fr->spdelta >= 0;
	fr->user = goread_is_user_func(g, f.name);
	fr->runtime = name_is_runtime(f.name);
	fr->goexit = f.entry == g->goexit_entry;
	fr->system_start = name_is_system_start(f.name);
	return fr;
}

/* Unwinds one parked goroutine from pc/sp and returns the first user
 * function (else the first non-runtime one, else the innermost), or NULL
 * when the stack could not be followed.  Frame sizes come from the pcsp
 * tables, exactly as the runtime's own traceback does on amd64.  win holds
 * win_len bytes of stack read from sp; deeper frames are read here. */
static const char *goread_first_user(struct goread *g, uint64_t pc, uint64_t sp,
				     uint64_t stack_hi, const uint8_t *win, uint64_t win_len)
{
	uint8_t more[STACK_WINDOW];
	uint64_t win_lo = sp;
	const char *fallback = NULL, *top = NULL;
	for (int depth = 0; depth < MAX_FRAMES; depth++) {
		const struct goframe *fr = goread_frame(g, pc);
		if (!fr->name)
			return fallback ? fallback : top;
		if (fr->goexit)
			break;
		if (fr->user)
			return fr->name;
		if (!top)
			top = fr->name;
		if (!fallback && !fr->runtime)
			fallback = fr->name;
		if (!fr->has_delta)
			return NULL;
		uint64_t fp = sp + (uint64_t)fr->spdelta + 8;
		if (fp > stack_hi || fp < sp)
			return NULL;
		uint64_t ra_at = fp - 8;
		if (ra_at < win_lo || ra_at + 8 > win_lo + win_len) {
			win_lo = ra_at;
			win_len = stack_hi - ra_at < STACK_WINDOW ? stack_hi - ra_at : STACK_WINDOW;
			if (win_len < 8 || !goread_read(g, win_lo, more, win_len))
				return NULL;
			win = more;
		}
		memcpy(&pc, win + (ra_at - win_lo), 8);
		sp = fp;
	}
	return fallback ? fallback : top;
}

/* Batched reads: one process_vm_readv per run of nearby regions instead of
 * one per region (g structs and goroutine stacks sit side by side in their
 * spans), which is most of a large snapshot's cost. */
struct goreq {
	uint64_t addr;
	uint8_t *dst;
	uint32_t len;
	uint32_t got;             /* bytes read; may be short for a stack */
};

#define BATCH_GAP 4096            /* merge regions at most this far apart */
#define BATCH_MAX (256u << 10)    /* bytes read at once */

static int goreq_cmp(const void *a, const void *b)
{
	const struct goreq *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void goread_batch(const struct goread *g, struct goreq *r, size_t n, uint8_t *scratch)
{
	qsort(r, n, sizeof(*r), goreq_cmp);
	for (size_t i = 0; i < n;) {
		uint64_t lo = r[i].addr, hi = r[i].addr + r[i].len;
		size_t j = i + 1;
		while (j < n && r[j].addr <= hi + BATCH_GAP && r[j].addr + r[j].len - lo <= BATCH_MAX) {
			if (r[j].addr + r[j].len > hi)
				hi = r[j].addr + r[j].len;
			j++;
		}
		ssize_t got = g->read_mem(g->ctx, lo, scratch, hi - lo);
		for (size_t k = i; k < j; k++) {
			if (got > 0 && r[k].addr + r[k].len <= lo + (uint64_t)got) {
				memcpy(r[k].dst, scratch + (r[k].addr - lo), r[k].len);
				r[k].got = r[k].len;
			} else {
				/* The run crossed unmapped memory: this one alone. */
				ssize_t one = g->read_mem(g->ctx, r[k].addr, r[k].dst, r[k].len);
				r[k].got = one > 0 ? (uint32_t)one : 0;
			}
		}
		i = j;
	}
}

static const char *goread_state_name(const struct goread *g, uint32_t status, uint64_t reason)
{
	switch (status) {
	case G_RUNNABLE: return "runnable";
	case G_RUNNING: return "running";
	case G_SYSCALL: return "syscall";
	case G_COPYSTACK: return "copystack";
	case G_PREEMPTED: return "preempted";
	case G_LEAKED: return "leaked";
	default: break;
	}
	if (reason < g->nwait_reasons && g->wait_reasons[reason][0])
		return g->wait_reasons[reason];
	return "waiting";
}

/* Groups keyed by interned string pointers: states and function names all
 * point into the reader's own tables, so equal strings are equal pointers. */
struct group_table {
	struct goread_group *slots;
	size_t cap, used;
};

static size_t group_hash(const char *a, const char *b, const char *c)
{
	uint64_t h = (uint64_t)(uintptr_t)a * 0x9e3779b97f4a7c15ull;
	h ^= (uint64_t)(uintptr_t)b * 0xc2b2ae3d27d4eb4full;
	h ^= (uint64_t)(uintptr_t)c * 0x165667b19e3779f9ull;
	return (size_t)(h ^ (h >> 29));
}

static bool group_add(struct group_table *t, const char *state, const char *func,
		      const char *creator)
{
	if (2 * (t->used + 1) > t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 64;
		struct goread_group *n = calloc(ncap, sizeof(*n));
		if (!n)
			return false;
		for (size_t i = 0; i < t->cap; i++) {
			struct goread_group *o = &t->slots[i];
			if (!o->count)
				continue;
			size_t j = group_hash(o->state, o->func, o->creator) & (ncap - 1);
			while (n[j].count)
				j = (j + 1) & (ncap - 1);
			n[j] = *o;
		}
		free(t->slots);
		t->slots = n;
		t->cap = ncap;
	}
	size_t j = group_hash(state, func, creator) & (t->cap - 1);
	while (t->slots[j].count) {
		struct goread_group *s = &t->slots[j];
		if (s->state == state && s->func == func && s->creator == creator) {
			s->count++;
			return true;
		}
		j = (j + 1) & (t->cap - 1);
	}
	t->slots[j] = (struct goread_group){ state, func, creator, 1 };
	t->used++;
	return true;
}

static int group_cmp(const void *a, const void *b)
{
	const struct goread_group *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	int c = strcmp(x->state, y->state);
	if (c)
		return c;
	c = strcmp(x->func, y->func);
	return c ? c : strcmp(x->creator, y->creator);
}

static int reason_cmp(const void *a, const void *b)
{
	const struct goread_reason *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->reason, y->reason);
}

/* Packs the hash table into snap->groups and sums snap->reasons. */
static int goread_finish_groups(struct group_table *t, struct goread_snapshot *snap)
{
	snap->groups = calloc(t->used ? t->used : 1, sizeof(*snap->groups));
	snap->reasons = calloc(t->used ? t->used : 1, sizeof(*snap->reasons));
	if (!snap->groups || !snap->reasons)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const struct goread_group *s = &t->slots[i];
		if (!s->count)
			continue;
		snap->groups[snap->ngroups++] = *s;
		size_t r = 0;
		while (r < snap->nreasons && snap->reasons[r].reason != s->state)
			r++;
		if (r == snap->nreasons)
			snap->reasons[snap->nreasons++] = (struct goread_reason){ s->state, 0 };
		snap->reasons[r].count += s->count;
	}
	qsort(snap->groups, snap->ngroups, sizeof(*snap->groups), group_cmp);
	qsort(snap->reasons, snap->nreasons, sizeof(*snap->reasons), reason_cmp);
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Goroutines are read CHUNK at a time: their g structs in one batch, then
 * the tops of the stacks to unwind in another. */
#define CHUNK 4096

struct gchunk {
	uint8_t *gbufs;           /* CHUNK g structs */
	uint8_t *stacks;          /* CHUNK stack windows */
	struct goreq *reqs;
	uint8_t *scratch;         /* BATCH_MAX */
	struct gslot {
		const char *state, *creator;
		uint64_t pc, sp, hi;
		uint32_t stack_got;
		bool user, unwind;
	} *slots;
};

static void gchunk_free(struct gchunk *c)
{
	free(c->gbufs);
	free(c->stacks);
	free(c->reqs);
	free(c->scratch);
	free(c->slots);
}

/* Buffers for up to max goroutines (at most CHUNK): a small service
 * should not pay for a large one's buffers. */
static bool gchunk_alloc(struct gchunk *c, uint32_t span, size_t max)
{
	if (max == 0)
		max = 1;
	c->gbufs = malloc(max * span);
	c->stacks = malloc(max * STACK_WINDOW);
	c->reqs = malloc(max * sizeof(*c->reqs));
	c->scratch = malloc(BATCH_MAX);
	c->slots = malloc(max * sizeof(*c->slots));
	return c->gbufs && c->stacks && c->reqs && c->scratch && c->slots;
}

/* Classifies the m g's read into c->gbufs: counts, and marks the user
 * goroutines whose stacks can be unwound (not running: a running g's
 * saved registers are stale). */
static void goread_classify(struct goread *g, struct gchunk *c, size_t m,
			    struct goread_snapshot *snap, uint32_t *unreadable)
{
	const struct golayout_g *l = &g->lg;
	for (size_t k = 0; k < m; k++) {
		struct gslot *sl = &c->slots[k];
		const uint8_t *gb = c->gbufs + k * l->span;
		sl->user = sl->unwind = false;
		if (c->reqs[k].got != l->span) {
			(*unreadable)++;
			continue;
		}
		uint32_t status = (uint32_t)field_get(gb, l->status) & ~(uint32_t)G_SCAN;
		if (status == G_IDLE || status == G_DEAD || status == G_DEADEXTRA)
			continue;
		if (status > G_DEADEXTRA || status == 5 || status == 7) {
			(*unreadable)++;
			continue;
		}
		if (goread_frame(g, field_get(gb, l->startpc))->system_start) {
			snap->system_goroutines++;
			continue;
		}
		snap->goroutines++;
		sl->user = true;
		uint64_t reason = l->waitreason.size ? field_get(gb, l->waitreason) : ~0ull;
		sl->state = goread_state_name(g, status, reason);
		/* The main goroutine and a few others are started by the runtime
		 * itself (runtime.newproc from rt0_go): name no runtime internal. */
		uint64_t gopc = l->gopc.size ? field_get(gb, l->gopc) : 0;
		const struct goframe *cf = gopc ? goread_frame(g, gopc - 1) : NULL;
		sl->creator = !cf || !cf->name ? "?" : cf->runtime ? "(runtime)" : cf->name;
		if (status == G_RUNNING || status == G_COPYSTACK)
			continue;
		bool sys = status == G_SYSCALL && l->syscallsp.size;
		sl->pc = field_get(gb, sys ? l->syscallpc : l->sched_pc);
		sl->sp = field_get(gb, sys ? l->syscallsp : l->sched_sp);
		sl->hi = field_get(gb, l->stack_hi);
		sl->unwind = true;
	}
}

/* Reads the top of every stack to unwind in one batch. */
static void goread_read_stacks(struct goread *g, struct gchunk *c, size_t m)
{
	size_t nreq = 0;
	for (size_t k = 0; k < m; k++) {
		struct gslot *sl = &c->slots[k];
		sl->stack_got = 0;
		if (!sl->unwind || !sl->sp || sl->sp >= sl->hi)
			continue;
		uint64_t len = sl->hi - sl->sp < STACK_WINDOW ? sl->hi - sl->sp : STACK_WINDOW;
		c->reqs[nreq++] = (struct goreq){ sl->sp, c->stacks + k * STACK_WINDOW,
						  (uint32_t)len, 0 };
	}
	goread_batch(g, c->reqs, nreq, c->scratch);
	for (size_t i = 0; i < nreq; i++) {
		size_t k = (size_t)(c->reqs[i].dst - c->stacks) / STACK_WINDOW;
		c->slots[k].stack_got = c->reqs[i].got;
	}
}

static int goread_sample_goroutines(struct goread *g, struct goread_snapshot *snap)
{
	uint64_t slice[3], allglen;
	if (!goread_read(g, g->addrs.allgs, slice, sizeof(slice)) ||
	    !goread_read(g, g->addrs.allglen, &allglen, sizeof(allglen)))
		return -EFAULT;
	uint64_t n = allglen < slice[1] ? allglen : slice[1];
	if (slice[1] > slice[2] || n > MAX_GOROUTINES) {
		goread_why_add(snap->why, sizeof(snap->why), "runtime.allgs changed while read");
		return -EAGAIN;
	}
	uint64_t *gptrs = malloc((n ? n : 1) * sizeof(*gptrs));
	struct gchunk c = { 0 };
	struct group_table groups = { 0 };
	int rc = 0;
	if (!gptrs || !gchunk_alloc(&c, g->lg.span, n < CHUNK ? (size_t)n : CHUNK)) {
		rc = -ENOMEM;
		goto out;
	}
	if (n && !goread_read(g, slice[0], gptrs, n * sizeof(*gptrs))) {
		rc = -EFAULT;
		goto out;
	}
	/* In address order, neighbours merge into one read. */
	qsort(gptrs, n, sizeof(*gptrs), u64_cmp);
	uint32_t unreadable = 0;
	for (uint64_t start = 0; start < n; start += CHUNK) {
		size_t m = n - start < CHUNK ? (size_t)(n - start) : CHUNK;
		for (size_t k = 0; k < m; k++)
			c.reqs[k] = (struct goreq){ gptrs[start + k], c.gbufs + k * g->lg.span,
						    g->lg.span, 0 };
		goread_batch(g, c.reqs, m, c.scratch);
		goread_classify(g, &c, m, snap, &unreadable);
		goread_read_stacks(g, &c, m);
		for (size_t k = 0; k < m; k++) {
			struct gslot *sl = &c.slots[k];
			if (!sl->user)
				continue;
			const char *func = "?";
			if (sl->unwind) {
				const char *f = sl->stack_got >= 8
					? goread_first_user(g, sl->pc, sl->sp, sl->hi,
							    c.stacks + k * STACK_WINDOW, sl->stack_got)
					: NULL;
				if (f)
					func = f;
				else
					snap->unwind_failures++;
			}
			if (!group_add(&groups, sl->state, func, sl->creator)) {
				rc = -ENOMEM;
				goto out;
			}
		}
	}
	if (unreadable)
		goread_why_add(snap->why, sizeof(snap->why),
			       "%u goroutines changed while read", unreadable);
	rc = goread_finish_groups(&groups, snap);
	snap->have_goroutines = rc == 0;
out:
	free(groups.slots);
	free(gptrs);
	gchunk_free(&c);
	return rc;
}

/* NextGC as the runtime's heapGoal() computes it without a memory limit:
 * the GOGC goal, raised to the sweep-distance trigger, and at least 64 KiB
 * past the point the current cycle triggered. */
static void goread_next_gc(const struct goread *g, const uint8_t *gc, struct goread_snapshot *snap)
{
	const struct golayout_gc *l = &g->lgc;
	if (l->heap_goal.size) {
		snap->next_gc = field_get(gc, l->heap_goal);
		snap->have_next_gc = true;
		return;
	}
	if (!l->percent_goal.size || !l->sweep_min_trigger.size || !l->triggered.size)
		return;
	if (l->memory_limit.size && field_get(gc, l->memory_limit) != (uint64_t)INT64_MAX) {
		goread_why_add(snap->why, sizeof(snap->why),
			       "GOMEMLIMIT is set: next_gc not computed");
		return;
	}
	uint64_t goal = field_get(gc, l->percent_goal);
	uint64_t sweep = field_get(gc, l->sweep_min_trigger);
	uint64_t triggered = field_get(gc, l->triggered);
	if (sweep > goal)
		goal = sweep;
	if (triggered != ~0ull && goal < triggered + (64u << 10))
		goal = triggered + (64u << 10);
	snap->next_gc = goal;
	snap->have_next_gc = true;
}

static int goread_sample_gc(struct goread *g, struct goread_snapshot *snap)
{
	const struct golayout_gc *l = &g->lgc;
	const struct gofield *all[] = { &l->heap_marked, &l->heap_inuse, &l->total_alloc,
					&l->total_free, &l->heap_goal, &l->percent_goal,
					&l->sweep_min_trigger, &l->triggered, &l->memory_limit };
	uint32_t span = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->size && all[i]->off + all[i]->size > span)
			span = all[i]->off + all[i]->size;
	uint8_t *gc = malloc(span);
	uint8_t ms[8];
	if (!gc)
		return -ENOMEM;
	if (!goread_read(g, g->addrs.gc_controller, gc, span) ||
	    !goread_read(g, g->addrs.memstats + l->numgc.off, ms, l->numgc.size)) {
		free(gc);
		return -EFAULT;
	}
	struct gofield f0 = { 0, l->numgc.size };
	snap->gc_count = field_get(ms, f0);
	snap->heap_live = field_get(gc, l->heap_marked);
	snap->heap_inuse = field_get(gc, l->heap_inuse);
	snap->total_alloc = field_get(gc, l->total_alloc);
	uint64_t freed = field_get(gc, l->total_free);
	snap->heap_alloc = snap->total_alloc >= freed ? snap->total_alloc - freed : 0;
	goread_next_gc(g, gc, snap);
	free(gc);
	/* Sanity: a torn or misplaced read shows as impossible sizes. */
	if (snap->heap_live > (1ull << 48) || snap->heap_inuse > (1ull << 48) ||
	    snap->total_alloc < freed) {
		goread_why_add(snap->why, sizeof(snap->why), "GC fields read inconsistent values");
		return -EAGAIN;
	}
	snap->have_gc = true;
	return 0;
}

int goread_sample(struct goread *g, struct goread_snapshot *snap, char *err, size_t errlen)
{
	memset(snap, 0, sizeof(*snap));
	int rc_g = -ENOENT, rc_gc = -ENOENT;
	if (g->addrs.allgs && g->addrs.allglen && g->have_g_layout && g->pcln)
		rc_g = goread_sample_goroutines(g, snap);
	if (g->have_gc_layout && g->addrs.gc_controller && g->addrs.memstats)
		rc_gc = goread_sample_gc(g, snap);
	if (rc_g == -EFAULT || rc_gc == -EFAULT)
		goread_why_add(snap->why, sizeof(snap->why), "target memory unreadable");
	if (rc_g != 0 && rc_gc != 0 && rc_g != -ENOENT) {
		snprintf(err, errlen, "%s", snap->why[0] ? snap->why : strerror(-rc_g));
		return rc_g;
	}
	return 0;
}

void goread_snapshot_free(struct goread_snapshot *snap)
{
	free(snap->groups);
	free(snap->reasons);
	snap->groups = NULL;
	snap->reasons = NULL;
	snap->ngroups = snap->nreasons = 0;
}
