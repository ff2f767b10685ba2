/* symbols.c — see symbols.h.
 *
 * libdwfl finds the modules, their symbol tables and debug info; this file
 * adds what a live view needs on top:
 *  - a pc -> symbol_info hash, because a capture repeats the same few
 *    hundred PCs thousands of times;
 *  - per module, its symbols sorted by address, because
 *    dwfl_module_addrinfo scans the whole table on every call (30-150 µs
 *    for libc) where a binary search takes well under a microsecond.  The
 *    choice among aliases, sizes and labels follows libdwfl's, so names are
 *    eu-stack's;
 *  - per module, file:line from linetab.c, which decompresses only the
 *    line tables of the debug file, where dwfl_module_getsrc would first
 *    decompress all of it (75-100 ms for libc's).  libdwfl remains the
 *    fallback for modules whose line tables linetab cannot find or read;
 *  - the files of a process in a container or a chroot, opened through
 *    /proc/PID/root: the same paths here may hold other builds, or nothing;
 *  - an arena of interned strings, so what lookups hand out stays valid
 *    across refreshes until symbols_close(). */
#include "symbols.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linetab.h"
#include "util.h"

/* The Itanium C++ ABI demangler, libstdc++'s __cxa_demangle: what g++
 * itself and eu-stack use, so names read exactly as in gdb and eu-stack.
 * libstdc++ is on every Debian box (apt needs it), whereas libiberty's
 * cplus_demangle would need libiberty-dev (a static archive).  It is opened
 * at the first mangled name rather than linked: its constructors cost
 * every run 2 ms, and most targets are C. */
#define CXXLIB_SONAME "libstdc++.so.6"
typedef char *cxa_demangle_fn(const char *mangled, char *buf, size_t *len, int *status);

#define ARENA_BLOCK 65536

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

/* One cached answer.  info.module (interned) and mod_start remember which
 * mapping produced it, so a refresh can keep the entries whose module did
 * not move. */
struct sym_entry {
	uint64_t pc;
	uint64_t mod_start;
	struct symbol_info info;
	bool used;
	bool return_address;
	bool known;
};

/* A symbol of a module that dwfl_module_addrinfo may return. */
struct sym_func {
	uint64_t start, end;   /* end == start: a sizeless label */
	const char *name;      /* libdwfl's string: lives as long as the module */
	int binding;           /* global 3 > weak 2 > local 1, as libdwfl ranks */
	int index;             /* libdwfl's symbol index: its search order */
	int section;           /* labels: see symbols_section_of(); SYM_ABS */
};

#define SYM_ABS (-2)       /* an absolute label: names its own address only */
#define SYM_MAX_NEST 64    /* sized symbols containing one address */

/* The symbols libdwfl searches in one pass: the globals first, then, when
 * they name nothing, the locals. */
struct sym_pass {
	struct sym_func *sized;  /* by start, then index */
	uint64_t *max_end;       /* max_end[i]: highest end among sized[0..i] */
	size_t nsized;
	struct sym_func *labels; /* sizeless symbols, same order */
	size_t nlabels;
};

struct sym_section {
	uint64_t start, end;
};

/* Hung on the module's libdwfl userdata slot, so it is dropped exactly when
 * libdwfl drops the module. */
struct sym_table {
	pid_t pid;                    /* the process the module is mapped in */
	bool via_root;                /* its files are opened through /proc/PID/root */
	bool built;                   /* symbols and sections read */
	struct sym_pass globals, locals;
	struct sym_section *sections; /* the main file's SHF_ALLOC ones, by start */
	size_t nsections;
	/* file:line, set up on first use (symbols_module_lines). */
	bool lines_tried;
	struct linetab *lines;        /* NULL once tried: ask libdwfl */
	uint64_t lines_bias;          /* module address - link-time address */
};

struct symbols {
	pid_t pid;
	bool via_root;           /* the process sees another file tree than ours */
	Dwfl *dwfl;
	/* dwfl keeps a pointer to its callbacks, so they live as long as it. */
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;   /* NULL: libdwfl's default search path; for a
	                           process in a container, its tree's too */

	struct sym_entry *cache; /* open addressing, linear probing */
	size_t cache_cap;        /* power of two */
	size_t cache_n;

	const char **strs;       /* interned strings, open addressing */
	size_t strs_cap;         /* power of two */
	size_t strs_n;
	struct arena_block *arena;

	pthread_t warmer;
	bool warming, warmed;
	bool warm_pinned;            /* warmer starts away from our CPU */
	cpu_set_t warm_cpus;         /* then gets all of these back */

	bool cxxlib_tried;       /* dlopen of libstdc++ attempted */
	void *cxxlib;
	cxa_demangle_fn *demangle;
};

static uint64_t symbols_hash_pc(uint64_t pc, bool return_address)
{
	uint64_t h = (pc ^ (uint64_t)return_address) * 0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 29);
}

static uint64_t symbols_hash_str(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

static char *symbols_arena_alloc(struct symbols *s, size_t n)
{
	struct arena_block *b = s->arena;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		/* An oversized string gets a block of its own behind the current
		 * one, so the current block's free space is not wasted. */
		if (n > ARENA_BLOCK && s->arena) {
			b->next = s->arena->next;
			s->arena->next = b;
		} else {
			b->next = s->arena;
			s->arena = b;
		}
	}
	char *p = b->data + b->used;
	b->used += n;
	return p;
}

static void symbols_strs_grow(struct symbols *s)
{
	size_t cap = s->strs_cap ? s->strs_cap * 2 : 256;
	const char **strs = xcalloc(cap, sizeof(*strs));
	for (size_t i = 0; i < s->strs_cap; i++) {
		const char *str = s->strs[i];
		if (!str)
			continue;
		size_t j = symbols_hash_str(str, strlen(str)) & (cap - 1);
		while (strs[j])
			j = (j + 1) & (cap - 1);
		strs[j] = str;
	}
	free(s->strs);
	s->strs = strs;
	s->strs_cap = cap;
}

/* Module and file names repeat for every frame, so each distinct string is
 * stored once and pointer equality means string equality. */
static const char *symbols_intern(struct symbols *s, const char *str)
{
	if (!str)
		return NULL;
	if ((s->strs_n + 1) * 2 > s->strs_cap)
		symbols_strs_grow(s);
	size_t n = strlen(str);
	size_t i = symbols_hash_str(str, n) & (s->strs_cap - 1);
	for (; s->strs[i]; i = (i + 1) & (s->strs_cap - 1))
		if (strcmp(s->strs[i], str) == 0)
			return s->strs[i];
	char *copy = symbols_arena_alloc(s, n + 1);
	memcpy(copy, str, n + 1);
	s->strs[i] = copy;
	s->strs_n++;
	return copy;
}

/* Symbol tables of separate debug files name versioned symbols
 * "pthread_cond_wait@@GLIBC_2.3.2"; the version is not part of the function's
 * name, and the demangler rejects a mangled name that still carries it. */
static const char *symbols_intern_func(struct symbols *s, const char *name)
{
	const char *at = strchr(name, '@');
	char *bare = at && at != name ? xstrndup(name, (size_t)(at - name)) : NULL;
	if (bare)
		name = bare;
	char *plain = NULL;
	int status = 0;
	if (name[0] == '_' && name[1] == 'Z') {
		if (!s->cxxlib_tried) {
			s->cxxlib_tried = true;
			s->cxxlib = dlopen(CXXLIB_SONAME, RTLD_NOW | RTLD_LOCAL);
			if (s->cxxlib)
				*(void **)&s->demangle = dlsym(s->cxxlib, "__cxa_demangle");
		}
		if (s->demangle)
			plain = s->demangle(name, NULL, NULL, &status);
	}
	const char *r = symbols_intern(s, plain ? plain : name);
	free(plain);
	free(bare);
	return r;
}

static int symbols_binding_rank(const GElf_Sym *sym)
{
	switch (GELF_ST_BIND(sym->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	default:
		return 0;
	}
}

static int symbols_func_cmp(const void *pa, const void *pb)
{
	const struct sym_func *a = pa, *b = pb;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->index - b->index;
}

static int symbols_section_cmp(const void *pa, const void *pb)
{
	const struct sym_section *a = pa, *b = pb;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* The section libdwfl's same-section test puts addr in (an index into
 * t->sections, -1 for none), with its quirk: a section's end address counts
 * as inside it unless the next section starts there. */
static int symbols_section_of(const struct sym_table *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nsections;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < t->sections[mid].start)
			hi = mid;
		else if (addr > t->sections[mid].end)
			lo = mid + 1;
		else if (addr == t->sections[mid].end && mid + 1 < t->nsections &&
			 addr == t->sections[mid + 1].start)
			return (int)mid + 1;
		else
			return (int)mid;
	}
	return -1;
}

static void symbols_sections_build(struct sym_table *t, Dwfl_Module *mod)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t n;
	if (!elf || elf_getshdrnum(elf, &n) != 0)
		return;
	t->sections = xmalloc((n ? n : 1) * sizeof(*t->sections));
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr shdr;
		if (gelf_getshdr(scn, &shdr) && (shdr.sh_flags & SHF_ALLOC) && shdr.sh_addr) {
			struct sym_section sec = { shdr.sh_addr + bias, shdr.sh_addr + bias + shdr.sh_size };
			t->sections[t->nsections++] = sec;
		}
	}
	qsort(t->sections, t->nsections, sizeof(*t->sections), symbols_section_cmp);
}

static void symbols_pass_sort(struct sym_pass *p)
{
	qsort(p->sized, p->nsized, sizeof(*p->sized), symbols_func_cmp);
	qsort(p->labels, p->nlabels, sizeof(*p->labels), symbols_func_cmp);
	p->max_end = xmalloc((p->nsized ? p->nsized : 1) * sizeof(*p->max_end));
	for (size_t i = 0; i < p->nsized; i++) {
		uint64_t prev = i ? p->max_end[i - 1] : 0;
		p->max_end[i] = p->sized[i].end > prev ? p->sized[i].end : prev;
	}
}

/* The candidates __libdwfl_addrsym considers, split into its two passes:
 * symbols from the module's first global on, then the locals before it. */
static void symbols_table_build(struct sym_table *t, Dwfl_Module *mod)
{
	t->built = true;
	int n = dwfl_module_getsymtab(mod);
	int first_global = dwfl_module_getsymtab_first_global(mod);
	if (n <= 0 || first_global < 0)
		return;
	symbols_sections_build(t, mod);
	struct sym_pass *passes[] = { &t->globals, &t->locals };
	for (int i = 0; i < 2; i++) {
		passes[i]->sized = xmalloc((size_t)n * sizeof(struct sym_func));
		passes[i]->labels = xmalloc((size_t)n * sizeof(struct sym_func));
	}
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf;
		Dwarf_Addr bias;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &bias);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !name[0] || sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE || type == STT_TLS)
			continue;
		struct sym_pass *p = first_global == 0 || i >= first_global ? &t->globals : &t->locals;
		struct sym_func f = { addr, addr + sym.st_size, name, symbols_binding_rank(&sym), i, 0 };
		if (sym.st_size) {
			p->sized[p->nsized++] = f;
		} else {
			f.section = shndx >= SHN_LORESERVE ? SYM_ABS : symbols_section_of(t, addr);
			p->labels[p->nlabels++] = f;
		}
	}
	symbols_pass_sort(&t->globals);
	symbols_pass_sort(&t->locals);
}

static void symbols_table_free(struct sym_table *t)
{
	if (!t)
		return;
	struct sym_pass *passes[] = { &t->globals, &t->locals };
	for (int i = 0; i < 2; i++) {
		free(passes[i]->sized);
		free(passes[i]->max_end);
		free(passes[i]->labels);
	}
	free(t->sections);
	linetab_close(t->lines);
	free(t);
}

/* Number of entries of v[0..n) (sorted by start) that start at or below addr. */
static size_t symbols_funcs_upto(const struct sym_func *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* What one pass of __libdwfl_addrsym leaves behind. */
struct sym_search {
	uint64_t addr;
	int addr_section;
	const struct sym_func *closest;  /* a sized symbol containing addr */
	const struct sym_func *label;    /* the pass's best label */
	uint64_t min_label;              /* no label below this can be the name */
};

/* libdwfl visits symbols in index order and lets a later one replace the
 * current pick when it starts closer, has a stronger binding (even if it
 * starts farther away), or starts at the same place and is smaller. */
static bool symbols_sized_better(const struct sym_func *cur, const struct sym_func *f)
{
	if (!cur || cur->start < f->start || cur->binding < f->binding)
		return true;
	uint64_t cur_size = cur->end - cur->start, size = f->end - f->start;
	return cur->start == f->start && ((cur_size > size && cur->binding <= f->binding) ||
					  (cur_size >= size && cur->binding < f->binding));
}

static void symbols_pass_search(const struct sym_pass *p, struct sym_search *st)
{
	size_t n = symbols_funcs_upto(p->sized, p->nsized, st->addr);
	if (n && p->max_end[n - 1] > st->min_label)
		st->min_label = p->max_end[n - 1];
	/* The sized symbols containing addr, walked back only as far as
	 * max_end says one may still reach addr, then replayed in index order. */
	const struct sym_func *nest[SYM_MAX_NEST];
	size_t nnest = 0;
	for (size_t j = n; j-- > 0 && p->max_end[j] > st->addr && nnest < SYM_MAX_NEST;)
		if (p->sized[j].end > st->addr)
			nest[nnest++] = &p->sized[j];
	for (size_t i = 1; i < nnest; i++)
		for (size_t j = i; j > 0 && nest[j - 1]->index > nest[j]->index; j--) {
			const struct sym_func *tmp = nest[j];
			nest[j] = nest[j - 1];
			nest[j - 1] = tmp;
		}
	for (size_t i = 0; i < nnest; i++)
		if (symbols_sized_better(st->closest, nest[i]))
			st->closest = nest[i];

	/* Every symbol at or below addr raises min_label to its end, labels
	 * included, so only labels at the highest such address can survive;
	 * of those, the last one visited in addr's section. */
	size_t m = symbols_funcs_upto(p->labels, p->nlabels, st->addr);
	if (m == 0)
		return;
	uint64_t top = p->labels[m - 1].start;
	if (top < st->min_label)
		return;
	st->min_label = top;
	for (size_t k = m; k-- > 0 && p->labels[k].start == top;) {
		const struct sym_func *l = &p->labels[k];
		if (l->section == SYM_ABS ? l->start == st->addr : l->section == st->addr_section) {
			st->label = l;
			break;
		}
	}
}

/* dwfl_module_addrinfo's answer for addr (libdwfl's __libdwfl_addrsym),
 * from the sorted tables instead of a scan of the whole symbol table. */
static const struct sym_func *symbols_table_find(const struct sym_table *t, uint64_t addr)
{
	struct sym_search st = { addr, symbols_section_of(t, addr), NULL, NULL, 0 };
	symbols_pass_search(&t->globals, &st);
	/* Locals are searched unless a global names addr, sized or as a label
	 * exactly at addr. */
	if (!st.closest && !(st.label && st.label->start == addr))
		symbols_pass_search(&t->locals, &st);
	if (st.closest)
		return st.closest;
	return st.label && st.label->start >= st.min_label ? st.label : NULL;
}

static struct sym_table *symbols_module_table(Dwfl_Module *mod)
{
	void **userdata;
	dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	if (!*userdata)
		*userdata = xcalloc(1, sizeof(struct sym_table));
	struct sym_table *t = *userdata;
	if (!t->built)
		symbols_table_build(t, mod);
	return t;
}

/* Every module reported gets its table at once, unbuilt, so that
 * symbols_find_elf knows the process before the module's file is open. */
static int symbols_module_adopt(Dwfl_Module *mod, void **userdata, const char *name,
				Dwarf_Addr start, void *arg)
{
	(void)mod, (void)name, (void)start;
	const struct symbols *s = arg;
	if (!*userdata) {
		struct sym_table *t = xcalloc(1, sizeof(*t));
		t->pid = s->pid;
		t->via_root = s->via_root;
		*userdata = t;
	}
	return DWARF_CB_OK;
}

static bool symbols_same_file(const char *a, const char *b)
{
	struct stat x, y;
	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* Whether pid resolves paths in another file tree than ours: another mount
 * namespace (a container) or another root directory (a chroot).  The paths
 * in its maps then name its files, which here may be other builds of the
 * same library, giving wrong names, or not exist at all.  When its
 * namespace cannot be read, it is taken to be ours, as before. */
static bool symbols_other_root(pid_t pid)
{
	char ns[64], root[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)pid);
	snprintf(root, sizeof(root), "/proc/%d/root/", (int)pid);
	struct stat st;
	if (stat(ns, &st) != 0)
		return false;
	return !symbols_same_file(ns, "/proc/self/ns/mnt") || !symbols_same_file(root, "/");
}

static bool symbols_is_deleted(const char *name)
{
	static const char suffix[] = " (deleted)";
	size_t n = strlen(name), m = sizeof(suffix) - 1;
	return n > m && strcmp(name + n - m, suffix) == 0;
}

/* The mapping of pid that starts at base, as a /proc/PID/map_files entry. */
static bool symbols_map_file(pid_t pid, uint64_t base, char *path, size_t len)
{
	char dir[64], prefix[32];
	snprintf(dir, sizeof(dir), "/proc/%d/map_files", (int)pid);
	int plen = snprintf(prefix, sizeof(prefix), "%" PRIx64 "-", base);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	for (struct dirent *de; !found && (de = readdir(d));) {
		if (strncmp(de->d_name, prefix, (size_t)plen) == 0) {
			snprintf(path, len, "%s/%s", dir, de->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* Opens name as the process pid sees it, read-only, if it is a regular
 * file.  Whoever owns a container's files chooses what its paths hold: an
 * absolute symbolic link must not lead out of its root into ours
 * (RESOLVE_IN_ROOT, Linux 5.6; older kernels resolve through path, the
 * /proc/PID/root form of name), and a FIFO or a device must not hang or
 * poke pscope (O_NONBLOCK, then only a regular file is kept). */
static int symbols_open_in_root(pid_t pid, const char *name, const char *path)
{
	char root[32];
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	struct open_how how = { .flags = (uint64_t)flags,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = open(path, flags);
	close(dirfd);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* libdwfl's finder, and for a file deleted or replaced since it was
 * mapped (a package upgraded under a running service) the file the process
 * still holds: its program through /proc/PID/exe, any other module through
 * /proc/PID/map_files (which needs root or CAP_CHECKPOINT_RESTORE).  libdwfl
 * alone would name none of its functions. */
static int symbols_find_elf(Dwfl_Module *mod, void **userdata, const char *name,
			    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	const struct sym_table *t = *userdata;
	int fd = -1;
	if (t && t->via_root && name[0] == '/' && !symbols_is_deleted(name)) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)t->pid, name);
		fd = symbols_open_in_root(t->pid, name, path);
		if (fd >= 0)
			*file_name = xstrdup(path);
		return fd;   /* never our own file of that name */
	}
	fd = dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
	if (fd >= 0 || *elfp || !t || !t->pid || !symbols_is_deleted(name))
		return fd;

	char path[PATH_MAX], link[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)t->pid);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	bool is_exe = n > 0 && (size_t)n == strlen(name) && memcmp(link, name, (size_t)n) == 0;
	if (!is_exe && !symbols_map_file(t->pid, base, path, sizeof(path)))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		*file_name = xstrdup(path);
	return fd;
}

#define SYM_BUILDID_MAX 64

/* Where Debian and Fedora install the separate debug file of the module's
 * build ID: root/usr/lib/debug/.build-id/xx/rest.debug, root "" for ours
 * or /proc/PID/root for a container's.  "" without a build ID. */
static void symbols_buildid_path(Dwfl_Module *mod, const char *root, char *path, size_t len)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int idlen = dwfl_module_build_id(mod, &id, &vaddr);
	path[0] = '\0';
	if (idlen < 2 || idlen > SYM_BUILDID_MAX)
		return;
	int n = snprintf(path, len, "%s/usr/lib/debug/.build-id/%02x/", root, id[0]);
	for (int i = 1; i < idlen; i++)
		n += snprintf(path + n, len - (size_t)n, "%02x", id[i]);
	snprintf(path + n, len - (size_t)n, ".debug");
}

#define SYM_DEBUG_ROOT "/usr/lib/debug"

/* Only a regular file counts: libdwfl would open anything else too, and a
 * FIFO (in a container's tree, say) would hang it. */
static bool symbols_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool symbols_exists(const char *dir, const char *sub, const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s%s/%s", dir, sub, name);
	return n > 0 && (size_t)n < sizeof(path) && symbols_is_file(path);
}

/* The debuglink name (or the file's own name + ".debug") beside the file,
 * in its .debug/ and under /usr/lib/debug. */
static bool symbols_debuglink_exists(const char *file_name, const char *debuglink)
{
	if (!file_name || file_name[0] != '/')
		return false;
	const char *slash = strrchr(file_name, '/');
	char dir[PATH_MAX], own[NAME_MAX + 1];
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file_name), file_name);
	if (!debuglink) {
		snprintf(own, sizeof(own), "%s.debug", slash + 1);
		debuglink = own;
	}
	if (debuglink[0] == '/')
		return symbols_is_file(debuglink);
	return symbols_exists(dir, "", debuglink) || symbols_exists(dir, "/.debug", debuglink) ||
	       symbols_exists(SYM_DEBUG_ROOT, dir, debuglink);
}

/* Whether a separate debug file for mod can be here, by the names libdwfl's
 * default search tries: the build ID's file, then the debuglink for the
 * file's name and for the file it links to.  When none exists, that search
 * would end by loading libdebuginfod, libcurl and twenty more libraries
 * (15 ms) just to find no server set. */
static bool symbols_debug_file_may_exist(Dwfl_Module *mod, const struct sym_table *t,
					 const char *file_name, const char *debuglink)
{
	const char *debugfile = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, &debugfile);
	if (debugfile)
		return true;   /* the debug file is found: now its dwz companion */
	char root[32], buildid_file[PATH_MAX];
	symbols_buildid_path(mod, "", buildid_file, sizeof(buildid_file));
	if (buildid_file[0] && symbols_is_file(buildid_file))
		return true;
	if (t && t->via_root) {
		snprintf(root, sizeof(root), "/proc/%d/root", (int)t->pid);
		symbols_buildid_path(mod, root, buildid_file, sizeof(buildid_file));
		if (buildid_file[0] && symbols_is_file(buildid_file))
			return true;
	}
	if (symbols_debuglink_exists(file_name, debuglink))
		return true;
	char *real = file_name ? realpath(file_name, NULL) : NULL;
	bool found = real && strcmp(real, file_name) != 0 && symbols_debuglink_exists(real, debuglink);
	free(real);
	return found;
}

/* libdwfl's search for separate debug info, which ends by asking the
 * debuginfod servers in DEBUGINFOD_URLS (main leaves that set only with
 * --debuginfod).  Without servers, a module whose debug file cannot be
 * here skips the search. */
static int symbols_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				  GElf_Addr base, const char *file_name, const char *debuglink,
				  GElf_Word crc, char **debuginfo_file_name)
{
	const char *servers = getenv("DEBUGINFOD_URLS");
	if ((!servers || !*servers) && !symbols_debug_file_may_exist(mod, *userdata, file_name, debuglink))
		return -1;
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink,
					    crc, debuginfo_file_name);
}

/* The module's line tables, opened on first use from the first of: its
 * main file (built with -g), the separate debug file libdwfl found for the
 * symbol table, the build ID's debug file.  NULL when none of them has line
 * tables linetab can read: libdwfl then answers, as before, from whatever
 * debug info it finds (a .gnu_debuglink, say). */
static struct linetab *symbols_module_lines(Dwfl_Module *mod, struct sym_table *t)
{
	if (t->lines_tried)
		return t->lines;
	t->lines_tried = true;
	Dwarf_Addr bias = 0;
	if (!dwfl_module_getelf(mod, &bias))
		return NULL;
	t->lines_bias = bias;

	const char *mainfile = NULL, *debugfile = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
	char root[32] = "", buildid_file[PATH_MAX], theirs[PATH_MAX];
	symbols_buildid_path(mod, "", buildid_file, sizeof(buildid_file));
	if (t->via_root)
		snprintf(root, sizeof(root), "/proc/%d/root", (int)t->pid);
	symbols_buildid_path(mod, root, theirs, sizeof(theirs));
	const char *candidates[] = { mainfile, debugfile, buildid_file, t->via_root ? theirs : NULL };
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && !t->lines; i++)
		if (candidates[i] && candidates[i][0])
			linetab_open(candidates[i], &t->lines);
	return t->lines;
}

/* dwfl_report_end's callback.  Its prototype says void *, but libdwfl
 * passes the address of the userdata slot, as dwfl_getmodules does. */
static int symbols_module_removed(Dwfl_Module *mod, void *userdata, const char *name,
				  Dwarf_Addr start, void *arg)
{
	(void)mod, (void)name, (void)start, (void)arg;
	void **slot = userdata;
	symbols_table_free(*slot);
	*slot = NULL;
	return DWARF_CB_OK;
}

static int symbols_module_free(Dwfl_Module *mod, void **userdata, const char *name,
			       Dwarf_Addr start, void *arg)
{
	(void)mod, (void)name, (void)start, (void)arg;
	symbols_table_free(*userdata);
	*userdata = NULL;
	return DWARF_CB_OK;
}

static struct sym_entry *symbols_cache_slot(struct sym_entry *cache, size_t cap,
					    uint64_t pc, bool return_address)
{
	size_t i = symbols_hash_pc(pc, return_address) & (cap - 1);
	while (cache[i].used && (cache[i].pc != pc || cache[i].return_address != return_address))
		i = (i + 1) & (cap - 1);
	return &cache[i];
}

/* Rebuild the table with room for `cap` slots, keeping the entries `keep`
 * accepts (all of them when NULL).  Deleting from a linear-probing table in
 * place would break probe chains; rebuilding is simpler and rare. */
static void symbols_cache_rebuild(struct symbols *s, size_t cap,
				  bool (*keep)(struct symbols *, const struct sym_entry *))
{
	struct sym_entry *cache = xcalloc(cap, sizeof(*cache));
	size_t n = 0;
	for (size_t i = 0; i < s->cache_cap; i++) {
		const struct sym_entry *e = &s->cache[i];
		if (!e->used || (keep && !keep(s, e)))
			continue;
		*symbols_cache_slot(cache, cap, e->pc, e->return_address) = *e;
		n++;
	}
	free(s->cache);
	s->cache = cache;
	s->cache_cap = cap;
	s->cache_n = n;
}

/* The name shown for a module: the vDSO has no file; every other module is
 * reported under the path /proc/PID/maps gives for it, which is also its
 * main file's path (dwfl_module_info's mainfile is that same string, but
 * only once the ELF has been opened). */
static const char *symbols_module_name(struct symbols *s, Dwfl_Module *mod, Dwarf_Addr *start)
{
	const char *name = dwfl_module_info(mod, NULL, start, NULL, NULL, NULL, NULL, NULL);
	if (!name)
		return NULL;
	if (strncmp(name, "[vdso", 5) == 0)
		return symbols_intern(s, "[vdso]");
	return symbols_intern(s, name);
}

static void symbols_resolve(struct symbols *s, struct sym_entry *e)
{
	/* The call instruction of a return address ends at pc, so pc - 1 lies
	 * inside it even when the call is the last instruction of a
	 * noreturn caller and pc already belongs to the next function. */
	Dwarf_Addr addr = e->return_address && e->pc > 0 ? e->pc - 1 : e->pc;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return;
	e->known = true;

	struct sym_table *t = symbols_module_table(mod);
	const struct sym_func *fn = symbols_table_find(t, addr);
	if (fn) {
		e->info.func = symbols_intern_func(s, fn->name);
		e->info.offset = e->pc - fn->start;
	}

	struct linetab *lines = symbols_module_lines(mod, t);
	const char *file = NULL;
	int lineno = 0;
	if (lines) {
		linetab_lookup(lines, addr - t->lines_bias, &file, &lineno);
	} else {
		Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
		file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	}
	if (file) {
		e->info.file = symbols_intern(s, file);
		e->info.line = lineno;
	}

	Dwarf_Addr start = 0;
	e->info.module = symbols_module_name(s, mod, &start);
	e->mod_start = start;
}

bool symbols_lookup(struct symbols *s, uint64_t pc, bool return_address,
		    struct symbol_info *out)
{
	if ((s->cache_n + 1) * 2 > s->cache_cap)
		symbols_cache_rebuild(s, s->cache_cap ? s->cache_cap * 2 : 1024, NULL);
	struct sym_entry *e = symbols_cache_slot(s->cache, s->cache_cap, pc, return_address);
	if (!e->used) {
		e->used = true;
		e->pc = pc;
		e->return_address = return_address;
		symbols_resolve(s, e);
		s->cache_n++;
	}
	*out = e->info;
	return e->known;
}

/* Turn dwfl_linux_proc_report's result (an errno, or -1 for a libdwfl
 * error) into a negative errno; a vanished /proc/PID means the process is
 * gone. */
static int symbols_report_error(int r)
{
	if (r == 0)
		return 0;
	if (r < 0)
		return -EIO;
	return r == ENOENT ? -ESRCH : -r;
}

static bool symbols_entry_still_mapped(struct symbols *s, const struct sym_entry *e)
{
	if (!e->known)
		return false; /* a module may be mapped there now */
	Dwarf_Addr addr = e->return_address && e->pc > 0 ? e->pc - 1 : e->pc;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return false;
	Dwarf_Addr start = 0;
	const char *name = symbols_module_name(s, mod, &start);
	return name == e->info.module && start == e->mod_start;
}

int symbols_refresh(struct symbols *s)
{
	/* dwfl_report_begin (not _begin_add) so that unmapped modules go away;
	 * a module reported again with the same name and bounds is kept by
	 * libdwfl together with its loaded ELF and debug info. */
	dwfl_report_begin(s->dwfl);
	int r = dwfl_linux_proc_report(s->dwfl, s->pid);
	if (dwfl_report_end(s->dwfl, symbols_module_removed, NULL) != 0 && r == 0)
		r = -1;
	dwfl_getmodules(s->dwfl, symbols_module_adopt, s, 0);
	if (s->cache_cap)
		symbols_cache_rebuild(s, s->cache_cap, symbols_entry_still_mapped);
	return symbols_report_error(r);
}

int symbols_open(pid_t pid, struct symbols **out, char *err, size_t errlen)
{
	*out = NULL;
	struct symbols *s = xcalloc(1, sizeof(*s));
	s->pid = pid;
	s->via_root = symbols_other_root(pid);
	s->callbacks.find_elf = symbols_find_elf;
	s->callbacks.find_debuginfo = symbols_find_debuginfo;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	if (s->via_root) {
		/* libdwfl's default, and the same place in the container's tree. */
		size_t len = sizeof(":.debug:/usr/lib/debug:/proc//root/usr/lib/debug") + 12;
		s->debuginfo_path = xmalloc(len);
		snprintf(s->debuginfo_path, len, ":.debug:/usr/lib/debug:/proc/%d/root/usr/lib/debug",
			 (int)pid);
	}
	s->dwfl = dwfl_begin(&s->callbacks);
	if (!s->dwfl) {
		snprintf(err, errlen, "cannot start libdwfl: %s", dwfl_errmsg(-1));
		free(s->debuginfo_path);
		free(s);
		return -ENOMEM;
	}

	dwfl_report_begin(s->dwfl);
	int r = dwfl_linux_proc_report(s->dwfl, pid);
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 && r == 0)
		r = -1;
	dwfl_getmodules(s->dwfl, symbols_module_adopt, s, 0);
	int e = symbols_report_error(r);
	if (e < 0) {
		if (e == -ESRCH)
			snprintf(err, errlen, "no such process: %d", (int)pid);
		else
			snprintf(err, errlen, "cannot read /proc/%d/maps: %s", (int)pid,
				 r < 0 ? dwfl_errmsg(-1) : strerror(-e));
		symbols_close(s);
		return e;
	}
	*out = s;
	return 0;
}

/* Only the C library: nearly every stack ends in it (a blocked thread
 * waits in one of its functions), and its line tables are the big ones. */
static bool symbols_worth_warming(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libc-", 5) == 0 ||
	       strncmp(base, "libpthread", 10) == 0;
}

static int symbols_warm_module(Dwfl_Module *mod, void **userdata, const char *name,
			       Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	(void)arg;
	if (!name || !symbols_worth_warming(name))
		return DWARF_CB_OK;
	/* Opening the line tables decompresses and indexes them.  Where
	 * libdwfl will answer instead, have it load its debug info now. */
	Dwarf_Addr bias;
	if (!symbols_module_lines(mod, symbols_module_table(mod)))
		dwfl_module_getdwarf(mod, &bias);
	return DWARF_CB_OK;
}

static void *symbols_warm_main(void *arg)
{
	struct symbols *s = arg;
	if (s->warm_pinned)
		sched_setaffinity(0, sizeof(s->warm_cpus), &s->warm_cpus);
	dwfl_getmodules(s->dwfl, symbols_warm_module, s, 0);
	return NULL;
}

void symbols_warm_begin(struct symbols *s)
{
	if (!s || s->warmed)
		return;
	s->warmed = true;
	/* A signal meant for pscope must not land on this thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* Started on another CPU than this one: left to itself, the kernel put
	 * it beside its creator about half the time here, and one of the two
	 * then waited 3-5 ms (a scheduler tick) for the idle CPU.  Once
	 * running, it may go anywhere again. */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	int cpu = sched_getcpu();
	if (sched_getaffinity(0, sizeof(s->warm_cpus), &s->warm_cpus) == 0 &&
	    CPU_COUNT(&s->warm_cpus) > 1 && cpu >= 0 && cpu < CPU_SETSIZE) {
		cpu_set_t others = s->warm_cpus;
		CPU_CLR(cpu, &others);
		s->warm_pinned = pthread_attr_setaffinity_np(&attr, sizeof(others), &others) == 0;
	}
	s->warming = pthread_create(&s->warmer, &attr, symbols_warm_main, s) == 0;
	if (!s->warming && s->warm_pinned) {
		/* A sandbox may refuse to set affinities: start it anywhere. */
		s->warm_pinned = false;
		s->warming = pthread_create(&s->warmer, NULL, symbols_warm_main, s) == 0;
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void symbols_warm_end(struct symbols *s)
{
	if (s && s->warming) {
		pthread_join(s->warmer, NULL);
		s->warming = false;
	}
}

void symbols_close(struct symbols *s)
{
	if (!s)
		return;
	symbols_warm_end(s);
	if (s->dwfl) {
		dwfl_getmodules(s->dwfl, symbols_module_free, NULL, 0);
		dwfl_end(s->dwfl);
	}
	while (s->arena) {
		struct arena_block *next = s->arena->next;
		free(s->arena);
		s->arena = next;
	}
	free(s->strs);
	free(s->cache);
	free(s->debuginfo_path);
	if (s->cxxlib)
		dlclose(s->cxxlib);
	free(s);
}
