/* linetab.c — see linetab.h.
 *
 * The index comes from a walker of our own that runs each line-number
 * program (DWARF 5, section 6.2) only as far as addresses go: no file
 * names, no line numbers, nothing allocated per row.  libdw still does the
 * real parsing, one unit at a time, so names and lines are the ones libdwfl
 * reports.
 *
 * Every read goes through a cursor that cannot pass the end of its unit, and
 * every step of a program consumes at least one byte, so no input can make
 * the walker read out of bounds or loop forever. */
#include "linetab.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libdeflate.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* A unit's rows, parsed by libdw for the first lookup that needs them and
 * kept: libdw allocates them inside the Dwarf and frees nothing before
 * dwarf_end(), so parsing a unit again would only pile up copies. */
struct linetab_unit {
	uint64_t offset;       /* in .debug_line */
	bool parsed;
	Dwarf_Lines *lines;    /* NULL: libdw could not parse the unit */
	size_t nlines;
};

struct linetab {
	int fd;
	Elf *elf;
	Dwarf *dwarf;
	unsigned char *image;       /* the line image libdw reads, or NULL */
	size_t image_len;
	struct linetab_seq *seqs;   /* by start */
	size_t nseqs;
	struct linetab_unit *units; /* by offset */
	size_t nunits;
};

/* A read position inside one unit.  A read past end sets bad and yields 0:
 * the walker checks bad once per opcode instead of after every read. */
struct linetab_cursor {
	const unsigned char *p, *end;
	bool bad;
};

/* What the walker needs from a unit's header. */
struct linetab_header {
	unsigned addr_size;
	unsigned min_inst_len;
	unsigned max_ops;          /* operations per instruction (VLIW), >= 1 */
	unsigned line_range;       /* >= 1 */
	unsigned opcode_base;      /* >= 1 */
	const unsigned char *std_lengths; /* operand counts of opcodes 1 .. opcode_base-1 */
};

/* The state machine's address registers, and the sequence being built. */
struct linetab_regs {
	uint64_t addr, op_index;
	uint64_t low;              /* lowest row address of the open sequence */
	bool has_rows;             /* the open sequence has a row */
};

struct linetab_seqs {
	struct linetab_seq *v;
	size_t n, cap;
};

/* n bytes (at most 8), little-endian. */
static uint64_t linetab_read_uint(struct linetab_cursor *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

/* An unsigned LEB128 (bits past the 64th are dropped).  It also skips a
 * signed one: both end at the first byte without the top bit. */
static uint64_t linetab_read_uleb(struct linetab_cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	while (!c->bad) {
		if (c->p == c->end) {
			c->bad = true;
			break;
		}
		unsigned char b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	return 0;
}

static void linetab_skip_bytes(struct linetab_cursor *c, uint64_t n)
{
	if (c->bad || (uint64_t)(c->end - c->p) < n)
		c->bad = true;
	else
		c->p += n;
}

static void linetab_add_seq(struct linetab_seqs *s, uint64_t start, uint64_t end, uint64_t unit)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = (struct linetab_seq){ start, end, unit };
}

/* Reads a unit's header (c just past unit_length, c->end at the unit's
 * end) and leaves c at the line-number program.  The directory and file
 * tables are skipped: libdw reads them when the unit is looked up.  False
 * for a malformed header or a version other than 2-5. */
static bool linetab_read_header(struct linetab_cursor *c, unsigned offset_size,
				unsigned elf_addr_size, struct linetab_header *h)
{
	unsigned version = (unsigned)linetab_read_uint(c, 2);
	if (c->bad || version < 2 || version > 5)
		return false;
	h->addr_size = elf_addr_size;
	if (version >= 5) {
		h->addr_size = (unsigned)linetab_read_uint(c, 1);
		linetab_read_uint(c, 1);  /* segment_selector_size */
	}
	uint64_t header_length = linetab_read_uint(c, offset_size);
	if (c->bad || header_length > (uint64_t)(c->end - c->p))
		return false;
	const unsigned char *program = c->p + header_length;

	h->min_inst_len = (unsigned)linetab_read_uint(c, 1);
	h->max_ops = version >= 4 ? (unsigned)linetab_read_uint(c, 1) : 1;
	linetab_read_uint(c, 1);          /* default_is_stmt */
	linetab_read_uint(c, 1);          /* line_base */
	h->line_range = (unsigned)linetab_read_uint(c, 1);
	h->opcode_base = (unsigned)linetab_read_uint(c, 1);
	h->std_lengths = c->p;
	linetab_skip_bytes(c, h->opcode_base ? h->opcode_base - 1 : 0);
	/* The fields read must lie inside header_length, and the ones the
	 * walker divides by or reads with must be usable. */
	if (c->bad || c->p > program || h->max_ops == 0 || h->line_range == 0 ||
	    h->opcode_base == 0 || h->addr_size == 0 || h->addr_size > 8)
		return false;
	c->p = program;
	return true;
}

/* DWARF's "operation advance", for VLIW targets too (max_ops > 1). */
static void linetab_advance_pc(const struct linetab_header *h, struct linetab_regs *r,
			       uint64_t op_advance)
{
	uint64_t ops = r->op_index + op_advance;
	r->addr += h->min_inst_len * (ops / h->max_ops);
	r->op_index = ops % h->max_ops;
}

static void linetab_add_row(struct linetab_regs *r)
{
	if (!r->has_rows || r->addr < r->low)
		r->low = r->addr;
	r->has_rows = true;
}

/* An extended opcode (after its 0 byte).  Only end_sequence and
 * set_address move addresses; the others (define_file, set_discriminator,
 * vendors') are skipped by their stated length. */
static bool linetab_walk_extended(struct linetab_cursor *c, const struct linetab_header *h,
				  struct linetab_regs *r, uint64_t unit, struct linetab_seqs *seqs)
{
	uint64_t len = linetab_read_uleb(c);
	if (c->bad || len == 0 || len > (uint64_t)(c->end - c->p))
		return false;
	const unsigned char *next = c->p + len;
	switch (linetab_read_uint(c, 1)) {
	case DW_LNE_end_sequence:
		if (r->has_rows && r->low < r->addr)
			linetab_add_seq(seqs, r->low, r->addr, unit);
		*r = (struct linetab_regs){ 0 };
		break;
	case DW_LNE_set_address:
		if (len - 1 != h->addr_size)
			return false;
		r->addr = linetab_read_uint(c, h->addr_size);
		r->op_index = 0;
		break;
	}
	c->p = next;
	return true;
}

static void linetab_walk_standard(struct linetab_cursor *c, const struct linetab_header *h,
				  struct linetab_regs *r, unsigned op)
{
	switch (op) {
	case DW_LNS_copy:
		linetab_add_row(r);
		break;
	case DW_LNS_advance_pc:
		linetab_advance_pc(h, r, linetab_read_uleb(c));
		break;
	case DW_LNS_const_add_pc:
		linetab_advance_pc(h, r, (255 - h->opcode_base) / h->line_range);
		break;
	case DW_LNS_fixed_advance_pc:
		r->addr += linetab_read_uint(c, 2);
		r->op_index = 0;
		break;
	default:
		/* The rest only set lines, files, columns and flags, or are
		 * unknown to us: skip as many LEB128 operands as the header
		 * declares for the opcode. */
		for (unsigned i = 0; i < h->std_lengths[op - 1]; i++)
			linetab_read_uleb(c);
	}
}

/* Runs a unit's line-number program (c from its start to the unit's end)
 * and adds each sequence it ends.  False when the program is malformed. */
static bool linetab_walk_program(struct linetab_cursor *c, const struct linetab_header *h,
				 uint64_t unit, struct linetab_seqs *seqs)
{
	struct linetab_regs r = { 0 };
	while (c->p < c->end && !c->bad) {
		unsigned op = (unsigned)linetab_read_uint(c, 1);
		if (op >= h->opcode_base) {
			/* A special opcode: advance, then add a row. */
			linetab_advance_pc(h, &r, (op - h->opcode_base) / h->line_range);
			linetab_add_row(&r);
		} else if (op == 0) {
			if (!linetab_walk_extended(c, h, &r, unit, seqs))
				return false;
		} else {
			linetab_walk_standard(c, h, &r, op);
		}
	}
	/* Rows no end_sequence closed: the program was cut short. */
	return !c->bad && !r.has_rows;
}

static int linetab_seq_cmp(const void *pa, const void *pb)
{
	const struct linetab_seq *a = pa, *b = pb;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->unit < b->unit ? -1 : a->unit > b->unit;
}

int linetab_scan(const unsigned char *buf, size_t len, int elf_addr_size,
		 struct linetab_seq **out, size_t *n)
{
	struct linetab_seqs seqs = { 0 };
	bool clean = true;
	const unsigned char *unit = buf, *end = buf + len;
	while (unit < end) {
		struct linetab_cursor c = { unit, end, false };
		unsigned offset_size = 4;
		uint64_t unit_length = linetab_read_uint(&c, 4);
		if (unit_length == 0xffffffff) {
			offset_size = 8;  /* 64-bit DWARF */
			unit_length = linetab_read_uint(&c, 8);
		} else if (unit_length >= 0xfffffff0) {
			c.bad = true;     /* reserved values */
		}
		/* Without a sound length the next unit cannot be found. */
		if (c.bad || unit_length > (uint64_t)(end - c.p)) {
			clean = false;
			break;
		}
		const unsigned char *unit_end = c.p + unit_length;
		c.end = unit_end;
		struct linetab_header h;
		/* A bad unit is skipped; the sequences it ended before going
		 * wrong are kept. */
		if (!linetab_read_header(&c, offset_size, (unsigned)elf_addr_size, &h) ||
		    !linetab_walk_program(&c, &h, (uint64_t)(unit - buf), &seqs))
			clean = false;
		unit = unit_end;
	}
	if (seqs.n)  /* seqs.v is still NULL, which qsort must not get */
		qsort(seqs.v, seqs.n, sizeof(*seqs.v), linetab_seq_cmp);
	*out = seqs.v;
	*n = seqs.n;
	return clean ? 0 : -EBADMSG;
}

/* For ".debug_X", and ".zdebug_X" (compressed the old GNU way): X.  NULL
 * for any other section. */
static const char *linetab_debug_kind(const char *name)
{
	if (strncmp(name, ".debug_", 7) == 0)
		return name + 7;
	if (strncmp(name, ".zdebug_", 8) == 0)
		return name + 8;
	return NULL;
}

/* Decompresses .debug_line, so that its bytes can be scanned, and turns
 * every other debug section except the strings that line tables point
 * into to SHT_NOBITS, which libdw skips: it decompresses none of them.
 * The change stays in our private mapping.  *line: the line section. */
static int linetab_hide_sections(Elf *elf, Elf_Scn **line)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -EBADMSG;
	*line = NULL;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr shdr;
		const char *name = gelf_getshdr(scn, &shdr) ? elf_strptr(elf, shstrndx, shdr.sh_name) : NULL;
		const char *kind = name ? linetab_debug_kind(name) : NULL;
		if (!kind || shdr.sh_type == SHT_NOBITS)
			continue;
		if (strcmp(kind, "line") == 0) {
			int r = 0;
			if (shdr.sh_flags & SHF_COMPRESSED)
				r = elf_compress(scn, 0, 0);
			else if (name[1] == 'z')
				r = elf_compress_gnu(scn, 0, 0);
			if (r < 0)
				return -EBADMSG;
			*line = scn;
		} else if (strcmp(kind, "line_str") != 0 && strcmp(kind, "str") != 0) {
			shdr.sh_type = SHT_NOBITS;
			if (!gelf_update_shdr(scn, &shdr))
				return -EIO;
		}
	}
	return 0;
}

static int linetab_unit_cmp(const void *pa, const void *pb)
{
	const struct linetab_unit *a = pa, *b = pb;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* One entry per unit that has a sequence, by offset. */
static void linetab_index_units(struct linetab *lt)
{
	lt->units = xcalloc(lt->nseqs ? lt->nseqs : 1, sizeof(*lt->units));
	for (size_t i = 0; i < lt->nseqs; i++)
		lt->units[i].offset = lt->seqs[i].unit;
	qsort(lt->units, lt->nseqs, sizeof(*lt->units), linetab_unit_cmp);
	for (size_t i = 0; i < lt->nseqs; i++)
		if (lt->nunits == 0 || lt->units[lt->nunits - 1].offset != lt->units[i].offset)
			lt->units[lt->nunits++] = lt->units[i];
}

/* Both ways of loading end here: line is .debug_line, decompressed, and
 * lt->elf what libdw is to read. */
static int linetab_index(struct linetab *lt, const unsigned char *line, size_t len, int addr_size)
{
	int r = linetab_scan(line, len, addr_size, &lt->seqs, &lt->nseqs);
	if (r < 0)
		return r;
	lt->dwarf = dwarf_begin_elf(lt->elf, DWARF_C_READ, NULL);
	if (!lt->dwarf)
		return -EIO;
	linetab_index_units(lt);
	return 0;
}

/* ------------------------------------------------------------ the line image */

/* The sections libdw reads for line tables, as laid out in a line image. */
enum { IMG_LINE, IMG_LINE_STR, IMG_STR, IMG_COUNT };
static const char *const linetab_img_names[IMG_COUNT] = {
	".debug_line", ".debug_line_str", ".debug_str"
};

struct linetab_src {
	const unsigned char *bytes;  /* as stored in the file; NULL: no such section */
	size_t len;
	size_t size;                 /* once decompressed */
	bool zlib;                   /* ELF-compressed with zlib (after its Chdr) */
	uint64_t off;                /* where it goes in the image */
};

enum {
	IMG_MAX = 1u << 30,          /* a larger image is a malformed file */
	ZLIB_MAX_RATIO = 1032,       /* deflate's best: 1032 output bytes per input byte */
};

static size_t linetab_align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The section named name as a line image source.  0; 1 when it is stored
 * in a way the image does not take (compressed other than with zlib, or
 * the old GNU way); -EBADMSG when its headers do not hold together. */
static int linetab_img_source(Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr, struct linetab_src *src)
{
	if (shdr->sh_size == 0)
		return 0;   /* as good as absent */
	Elf_Data *raw = elf_rawdata(scn, NULL);
	if (!raw || !raw->d_buf || raw->d_size != shdr->sh_size)
		return -EBADMSG;
	src->bytes = raw->d_buf;
	src->len = raw->d_size;
	src->size = raw->d_size;
	if (!(shdr->sh_flags & SHF_COMPRESSED))
		return 0;
	GElf_Chdr chdr;
	if (!gelf_getchdr(scn, &chdr))
		return -EBADMSG;
	if (chdr.ch_type != ELFCOMPRESS_ZLIB)
		return 1;
	size_t hdr = gelf_getclass(elf) == ELFCLASS64 ? sizeof(Elf64_Chdr) : sizeof(Elf32_Chdr);
	if (src->len < hdr || chdr.ch_size > IMG_MAX ||
	    chdr.ch_size / ZLIB_MAX_RATIO > src->len - hdr)
		return -EBADMSG;
	src->bytes += hdr;
	src->len -= hdr;
	src->size = chdr.ch_size;
	src->zlib = true;
	return 0;
}

/* Lays out an ELF file holding only srcs (decompressed) in one mapping
 * populated in a single call. */
static int linetab_img_build(struct linetab *lt, const GElf_Ehdr *ehdr, struct linetab_src *srcs)
{
	static const char shstrtab[] = "\0.debug_line\0.debug_line_str\0.debug_str\0.shstrtab";
	const size_t name_at[IMG_COUNT] = { 1, 13, 29 }, shstrtab_name = 40;
	size_t off = sizeof(Elf64_Ehdr), nscn = 1;
	for (int i = 0; i < IMG_COUNT; i++) {
		if (!srcs[i].bytes)
			continue;
		srcs[i].off = off;
		off = linetab_align8(off + srcs[i].size);
		nscn++;
	}
	size_t strtab_off = off;
	size_t shdr_off = linetab_align8(off + sizeof(shstrtab));
	size_t len = shdr_off + (nscn + 1) * sizeof(Elf64_Shdr);
	if (len > IMG_MAX)
		return -EBADMSG;
	unsigned char *img = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (img == MAP_FAILED)
		return -errno;
	lt->image = img;
	lt->image_len = len;

	struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
	if (!inflater)
		return -ENOMEM;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + shdr_off);
	size_t k = 1;
	int r = 0;
	for (int i = 0; i < IMG_COUNT && r == 0; i++) {
		const struct linetab_src *src = &srcs[i];
		if (!src->bytes)
			continue;
		if (src->zlib) {
			size_t got;
			if (libdeflate_zlib_decompress(inflater, src->bytes, src->len, img + src->off,
						       src->size, &got) != LIBDEFLATE_SUCCESS ||
			    got != src->size)
				r = -EBADMSG;
		} else {
			memcpy(img + src->off, src->bytes, src->size);
		}
		sh[k++] = (Elf64_Shdr){ .sh_name = (Elf64_Word)name_at[i], .sh_type = SHT_PROGBITS,
					.sh_offset = src->off, .sh_size = src->size, .sh_addralign = 1 };
	}
	libdeflate_free_decompressor(inflater);
	if (r < 0)
		return r;
	memcpy(img + strtab_off, shstrtab, sizeof(shstrtab));
	sh[k] = (Elf64_Shdr){ .sh_name = (Elf64_Word)shstrtab_name, .sh_type = SHT_STRTAB,
			      .sh_offset = strtab_off, .sh_size = sizeof(shstrtab), .sh_addralign = 1 };

	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ehdr->e_ident, EI_NIDENT);
	eh->e_type = ehdr->e_type;
	eh->e_machine = ehdr->e_machine;
	eh->e_version = EV_CURRENT;
	eh->e_shoff = shdr_off;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = (Elf64_Half)(k + 1);
	eh->e_shstrndx = (Elf64_Half)k;
	return 0;
}

/* Debian's debug files compress their debug sections with zlib.  libelf
 * would inflate them with zlib into memory faulted in page by page: about
 * 10 ms for the C library's 1.3 MB of line tables here.  libdeflate,
 * writing into memory populated in one call, takes 4.5 ms.  So the three
 * sections libdw needs for line tables are laid out, decompressed, in a
 * small ELF image that libdw then reads like a file.  Returns 1 when the
 * file does not qualify (not 64-bit, .debug_line not zlib-compressed, a
 * section compressed another way): the caller takes the general path. */
static int linetab_load_image(struct linetab *lt, const GElf_Ehdr *ehdr)
{
	size_t shstrndx;
	if (ehdr->e_ident[EI_CLASS] != ELFCLASS64)
		return 1;
	if (elf_getshdrstrndx(lt->elf, &shstrndx) != 0)
		return -EBADMSG;
	struct linetab_src srcs[IMG_COUNT] = { 0 };
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(lt->elf, scn));) {
		GElf_Shdr shdr;
		const char *name = gelf_getshdr(scn, &shdr) ? elf_strptr(lt->elf, shstrndx, shdr.sh_name) : NULL;
		if (!name || shdr.sh_type == SHT_NOBITS)
			continue;
		if (strncmp(name, ".zdebug_", 8) == 0)
			return 1;
		for (int i = 0; i < IMG_COUNT; i++) {
			if (strcmp(name, linetab_img_names[i]) != 0)
				continue;
			int r = linetab_img_source(lt->elf, scn, &shdr, &srcs[i]);
			if (r != 0)
				return r;
		}
	}
	if (!srcs[IMG_LINE].bytes || !srcs[IMG_LINE].zlib)
		return 1;
	int r = linetab_img_build(lt, ehdr, srcs);
	if (r < 0)
		return r;
	/* The file is read through: from now on libdw reads the image. */
	elf_end(lt->elf);
	lt->elf = elf_memory((char *)lt->image, lt->image_len);
	if (!lt->elf)
		return -ENOMEM;
	return linetab_index(lt, lt->image + srcs[IMG_LINE].off, srcs[IMG_LINE].size, 8);
}

static int linetab_load(struct linetab *lt)
{
	GElf_Ehdr ehdr;
	if (elf_kind(lt->elf) != ELF_K_ELF || !gelf_getehdr(lt->elf, &ehdr))
		return -ENOEXEC;
	/* The scanner reads little-endian; relocatable files would need
	 * their relocations applied first. */
	if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB || ehdr.e_type == ET_REL)
		return -ENOTSUP;
	int r = linetab_load_image(lt, &ehdr);
	if (r <= 0)
		return r;
	Elf_Scn *line;
	r = linetab_hide_sections(lt->elf, &line);
	if (r < 0)
		return r;
	Elf_Data *data = line ? elf_getdata(line, NULL) : NULL;
	if (!data || !data->d_buf || data->d_size == 0)
		return -ENODATA;
	int addr_size = ehdr.e_ident[EI_CLASS] == ELFCLASS32 ? 4 : 8;
	return linetab_index(lt, data->d_buf, data->d_size, addr_size);
}

int linetab_open(const char *path, struct linetab **out)
{
	*out = NULL;
	elf_version(EV_CURRENT);
	/* O_NONBLOCK and a regular file only: a FIFO put in a debug file's
	 * place must not hang us. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	struct linetab *lt = xcalloc(1, sizeof(*lt));
	lt->fd = fd;
	/* A private mapping: the section headers are edited in memory. */
	lt->elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL);
	int r = lt->elf ? linetab_load(lt) : -ENOEXEC;
	if (r < 0) {
		linetab_close(lt);
		return r;
	}
	*out = lt;
	return 0;
}

void linetab_close(struct linetab *lt)
{
	if (!lt)
		return;
	dwarf_end(lt->dwarf);
	elf_end(lt->elf);
	if (lt->image)
		munmap(lt->image, lt->image_len);
	close(lt->fd);
	free(lt->seqs);
	free(lt->units);
	free(lt);
}

/* The sequence holding addr.  Sequences of a linked file do not overlap
 * (except those of code the linker discarded, piled up at address 0 where
 * nothing runs), so only the last one starting at or below addr can. */
static const struct linetab_seq *linetab_find_seq(const struct linetab *lt, uint64_t addr)
{
	size_t lo = 0, hi = lt->nseqs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (lt->seqs[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && addr < lt->seqs[lo - 1].end ? &lt->seqs[lo - 1] : NULL;
}

/* The unit at offset, parsed.  Every sequence's unit is in the index. */
static struct linetab_unit *linetab_get_unit(struct linetab *lt, uint64_t offset)
{
	struct linetab_unit key = { .offset = offset };
	struct linetab_unit *u = bsearch(&key, lt->units, lt->nunits, sizeof(*u), linetab_unit_cmp);
	if (!u->parsed) {
		u->parsed = true;
		Dwarf_Off next;
		/* .debug_info is hidden, so there is no CU: DWARF 4 file names
		 * stay relative to the compilation directory. */
		Dwarf_CU *cu = NULL;
		if (dwarf_next_lines(lt->dwarf, offset, &next, &cu, NULL, NULL, &u->lines, &u->nlines) != 0)
			u->lines = NULL;
	}
	return u;
}

int linetab_lookup(struct linetab *lt, uint64_t addr, const char **file, int *line)
{
	*file = NULL;
	*line = 0;
	const struct linetab_seq *seq = linetab_find_seq(lt, addr);
	if (!seq)
		return -ENOENT;
	struct linetab_unit *u = linetab_get_unit(lt, seq->unit);
	if (!u->lines)
		return -EBADMSG;
	/* libdw sorts rows by address (an end_sequence before a row at the
	 * same address).  As libdwfl does: the last row at or below addr,
	 * unless it ends a sequence. */
	size_t lo = 0, hi = u->nlines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		Dwarf_Addr a;
		if (dwarf_lineaddr(dwarf_onesrcline(u->lines, mid), &a) == 0 && a <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	Dwarf_Line *row = lo > 0 ? dwarf_onesrcline(u->lines, lo - 1) : NULL;
	bool end_sequence;
	if (!row || dwarf_lineendsequence(row, &end_sequence) != 0 || end_sequence)
		return -ENOENT;
	const char *name = dwarf_linesrc(row, NULL, NULL);
	int lineno;
	if (!name || dwarf_lineno(row, &lineno) != 0)
		return -ENOENT;
	*file = name;
	*line = lineno;
	return 0;
}
