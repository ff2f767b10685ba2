#include "plugin_host.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "plugins.h"
#include "procparse.h"
#include "util.h"

struct pscope_target {
	pid_t pid;
	char proc_root[32];       /* "/proc/PID/root" */
	char proc_exe[32];        /* "/proc/PID/exe" */
	char *exe;                /* readlink of proc_exe, "" when unknown */
	plugin_log_fn *log;
	void *log_ctx;

	bool maps_fresh;          /* read during the current plugin call */
	struct map_entry *maps;
	size_t nmaps;
	struct pscope_mapping *pmaps;

	bool elf_tried;
	int elf_err;              /* 0, or why the executable could not be opened */
	int exe_fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	bool bias_known;
	uint64_t bias;
};

/* Helpers receive a const target (plugins must not change it) but cache
 * what they read in it.  Every target is allocated non-const by
 * plugin_host_target_new(), so writing through the cast is defined. */
static struct pscope_target *mut(const struct pscope_target *t)
{
	return (struct pscope_target *)t;
}

struct pscope_target *plugin_host_target_new(pid_t pid, plugin_log_fn *log)
{
	struct pscope_target *t = xcalloc(1, sizeof(*t));
	char buf[4096];

	t->pid = pid;
	t->log = log;
	t->exe_fd = -1;
	snprintf(t->proc_root, sizeof(t->proc_root), "/proc/%d/root", (int)pid);
	snprintf(t->proc_exe, sizeof(t->proc_exe), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(t->proc_exe, buf, sizeof(buf) - 1);
	t->exe = xstrndup(buf, n > 0 ? (size_t)n : 0);
	return t;
}

static void drop_maps(struct pscope_target *t)
{
	procparse_free_maps(t->maps, t->nmaps);
	free(t->pmaps);
	t->maps = NULL;
	t->pmaps = NULL;
	t->nmaps = 0;
}

void plugin_host_target_free(struct pscope_target *t)
{
	if (!t)
		return;
	drop_maps(t);
	if (t->elf)
		elf_end(t->elf);
	if (t->exe_fd >= 0)
		close(t->exe_fd);
	free(t->exe);
	free(t);
}

void plugin_host_begin_call(struct pscope_target *t, void *log_ctx)
{
	t->maps_fresh = false;
	t->log_ctx = log_ctx;
}

/* ------------------------------------------------------------ identity */

static pid_t host_pid(const struct pscope_target *t)
{
	return t->pid;
}

static const char *host_exe_path(const struct pscope_target *t)
{
	return t->exe;
}

static const char *host_proc_root(const struct pscope_target *t)
{
	return t->proc_root;
}

static int host_open_exe(const struct pscope_target *t)
{
	int fd = open(t->proc_exe, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

/* -------------------------------------------------------------- memory */

static ssize_t read_once(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	return n >= 0 ? n : -errno;
}

/* One call reads the whole range when it is mapped.  When it is not, the
 * kernel may stop at the first bad page or fail outright, so read again a
 * page at a time to return exactly the readable prefix. */
static ssize_t host_read_mem(const struct pscope_target *t, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	ssize_t n = read_once(t->pid, addr, buf, len);
	if (n == (ssize_t)len || (n < 0 && n != -EFAULT))
		return n;

	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t done = n > 0 ? (size_t)n : 0;
	while (done < len) {
		uint64_t at = addr + done;
		size_t chunk = (size_t)(page - at % page);
		if (chunk > len - done)
			chunk = len - done;
		ssize_t got = read_once(t->pid, at, (char *)buf + done, chunk);
		if (got <= 0)
			return done ? (ssize_t)done : (got < 0 ? got : -EFAULT);
		done += (size_t)got;
		if ((size_t)got < chunk)
			break;
	}
	return (ssize_t)done;
}

/* ------------------------------------------------------------ mappings */

static int host_mappings(const struct pscope_target *ct, const struct pscope_mapping **list,
			 size_t *count)
{
	struct pscope_target *t = mut(ct);

	if (!t->maps_fresh) {
		char path[32], *buf = NULL;
		size_t cap = 0;
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
		ssize_t n = util_read_at(AT_FDCWD, path, &buf, &cap);
		if (n < 0) {
			free(buf);
			return (int)n;
		}
		drop_maps(t);
		int rc = procparse_maps(buf, &t->maps, &t->nmaps);
		free(buf);
		if (rc < 0)
			return rc;
		t->pmaps = xcalloc(t->nmaps ? t->nmaps : 1, sizeof(*t->pmaps));
		for (size_t i = 0; i < t->nmaps; i++) {
			const struct map_entry *m = &t->maps[i];
			struct pscope_mapping *p = &t->pmaps[i];
			p->start = m->start;
			p->end = m->end;
			p->offset = m->offset;
			memcpy(p->perms, m->perms, sizeof(p->perms));
			p->path = m->path ? m->path : "";
		}
		t->maps_fresh = true;
	}
	*list = t->pmaps;
	*count = t->nmaps;
	return 0;
}

/* ----------------------------------------------------------------- ELF */

/* Open the executable once per target, through /proc/PID/exe: that is the
 * file the process runs even in another mount namespace or when deleted. */
static int elf_ready(struct pscope_target *t)
{
	if (t->elf_tried)
		return t->elf_err;
	t->elf_tried = true;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return t->elf_err = -ENOSYS;
	t->exe_fd = host_open_exe(t);
	if (t->exe_fd < 0)
		return t->elf_err = t->exe_fd;
	t->elf = elf_begin(t->exe_fd, ELF_C_READ, NULL);
	if (!t->elf || elf_kind(t->elf) != ELF_K_ELF || !gelf_getehdr(t->elf, &t->ehdr))
		return t->elf_err = -ENOEXEC;
	return 0;
}

/* The bias of a PIE is where its first PT_LOAD segment was mapped minus
 * its link-time address; that mapping is the executable's one at the
 * segment's page-aligned file offset. */
static int host_elf_bias(const struct pscope_target *ct, uint64_t *bias)
{
	struct pscope_target *t = mut(ct);
	int rc = elf_ready(t);

	if (rc < 0)
		return rc;
	if (t->bias_known) {
		*bias = t->bias;
		return 0;
	}
	if (t->ehdr.e_type != ET_DYN) {
		t->bias_known = true;
		*bias = t->bias = 0;
		return 0;
	}
	size_t nphdr;
	if (elf_getphdrnum(t->elf, &nphdr) != 0)
		return -ENOEXEC;
	GElf_Phdr load = { 0 };
	bool found = false;
	for (size_t i = 0; i < nphdr && !found; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(t->elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
			load = ph;
			found = true;
		}
	}
	if (!found)
		return -ENOEXEC;

	const struct pscope_mapping *maps;
	size_t n;
	rc = host_mappings(t, &maps, &n);
	if (rc < 0)
		return rc;
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(maps[i].path, t->exe) == 0 && maps[i].offset == load.p_offset / page * page) {
			t->bias = maps[i].start - load.p_vaddr / page * page;
			t->bias_known = true;
			*bias = t->bias;
			return 0;
		}
	}
	return -ENOENT;
}

/* Linear search: plugins look up a few symbols when they open. */
static bool find_in_symtab(Elf *elf, GElf_Word type, const char *name, GElf_Sym *out)
{
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t count = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			const char *s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (s && strcmp(s, name) == 0) {
				*out = sym;
				return true;
			}
		}
	}
	return false;
}

static int host_elf_symbol(const struct pscope_target *ct, const char *name, uint64_t *addr,
			   uint64_t *size)
{
	struct pscope_target *t = mut(ct);
	int rc = elf_ready(t);
	GElf_Sym sym;

	if (rc < 0)
		return rc;
	if (!find_in_symtab(t->elf, SHT_SYMTAB, name, &sym) &&
	    !find_in_symtab(t->elf, SHT_DYNSYM, name, &sym))
		return -ENOENT;
	uint64_t bias = 0;
	if (sym.st_shndx != SHN_ABS) {
		rc = host_elf_bias(t, &bias);
		if (rc < 0)
			return rc;
	}
	*addr = sym.st_value + bias;
	if (size)
		*size = sym.st_size;
	return 0;
}

static int host_elf_section(const struct pscope_target *ct, const char *name, const void **data,
			    size_t *len, uint64_t *addr)
{
	struct pscope_target *t = mut(ct);
	int rc = elf_ready(t);
	size_t shstrndx;

	if (rc < 0)
		return rc;
	if (elf_getshdrstrndx(t->elf, &shstrndx) != 0)
		return -ENOEXEC;
	for (Elf_Scn *scn = elf_nextscn(t->elf, NULL); scn; scn = elf_nextscn(t->elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *s = elf_strptr(t->elf, shstrndx, sh.sh_name);
		if (!s || strcmp(s, name) != 0)
			continue;
		if (sh.sh_type == SHT_NOBITS)
			return -ENODATA;
		/* libelf keeps the bytes until elf_end(), at target free. */
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			return -EIO;
		uint64_t bias;
		*data = d->d_buf;
		*len = d->d_size;
		if (addr)
			*addr = (sh.sh_flags & SHF_ALLOC) && host_elf_bias(t, &bias) == 0
					? sh.sh_addr + bias : 0;
		return 0;
	}
	return -ENOENT;
}

/* ----------------------------------------------------------------- log */

static void host_log(const struct pscope_target *t, enum pscope_log_level level,
		     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!t->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = 0;
	t->log(t->log_ctx, level, msg);
}

/* -------------------------------------------------------------- output */

static int host_metric_why(struct pscope_plugin_out *out, size_t m, const char *reason)
{
	struct plugin_result *r = out->host;

	if (m >= r->desc->nmetrics || !reason)
		return -EINVAL;
	free(r->metric_why[m]);
	r->metric_why[m] = xstrdup(reason);
	return 0;
}

static int host_add_row(struct pscope_plugin_out *out, size_t tab, const union pscope_cell *cells)
{
	struct plugin_result *r = out->host;

	if (tab >= r->desc->ntables || !cells)
		return -EINVAL;
	const struct pscope_table_desc *td = &r->desc->tables[tab];
	struct plugin_table *pt = &r->tables[tab];
	size_t nc = td->ncolumns;

	/* Capacity doubles: it is the next power of two of nrows. */
	if ((pt->nrows & (pt->nrows - 1)) == 0) {
		size_t cap = pt->nrows ? pt->nrows * 2 : 1;
		pt->cells = xrealloc(pt->cells, cap * (nc ? nc : 1) * sizeof(*pt->cells));
	}
	struct plugin_cell *row = &pt->cells[pt->nrows * nc];
	for (size_t c = 0; c < nc; c++) {
		if (td->columns[c].type == PSCOPE_COL_STRING) {
			row[c].str = cells[c].str ? xstrdup(cells[c].str) : NULL;
			row[c].num = NAN;
		} else {
			row[c].str = NULL;
			row[c].num = cells[c].num;
		}
	}
	pt->nrows++;
	return 0;
}

static const struct pscope_host host = {
	.abi_version = PSCOPE_PLUGIN_ABI_VERSION,
	.size = sizeof(struct pscope_host),
	.pid = host_pid,
	.exe_path = host_exe_path,
	.proc_root = host_proc_root,
	.open_exe = host_open_exe,
	.read_mem = host_read_mem,
	.mappings = host_mappings,
	.elf_symbol = host_elf_symbol,
	.elf_section = host_elf_section,
	.elf_bias = host_elf_bias,
	.log = host_log,
	.metric_why = host_metric_why,
	.add_row = host_add_row,
};

const struct pscope_host *plugin_host_get(void)
{
	return &host;
}
