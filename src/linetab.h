/* linetab.h — file:line for link-time addresses from one ELF file's
 * .debug_line, without loading the rest of its DWARF.
 *
 * Contract: linetab_open() gives libdw the line tables and their strings
 * alone (every other debug section hidden, or, when they are zlib-
 * compressed, the three decompressed into a small ELF image in memory) and
 * indexes which address range belongs to which line-table unit;
 * linetab_lookup() then has libdw parse only the one unit an address
 * needs, once.  Errors are negative errno values; malformed data is
 * refused (-EBADMSG), never read out of bounds.
 *
 * Why: libdw decompresses every debug section of a file on first use, 75 ms
 * and more for libc's separate debug file, and parsing all 2,000 of its line
 * tables costs 60 ms more; a stack needs a handful of them. */
#ifndef PSCOPE_LINETAB_H
#define PSCOPE_LINETAB_H

#include <stddef.h>
#include <stdint.h>

struct linetab;

/* One sequence of a line table: the addresses its rows cover. */
struct linetab_seq {
	uint64_t start, end;   /* [start, end), link-time addresses */
	uint64_t unit;         /* offset of its unit in .debug_line */
};

/* Opens the ELF file at path.  Fails with -ENODATA when it has no line
 * table, -ENOTSUP when it is not little-endian, -EBADMSG when a line table
 * cannot be read in full (the caller can then ask libdwfl instead). */
int linetab_open(const char *path, struct linetab **out);
void linetab_close(struct linetab *lt);

/* The source file and line of link-time address addr (the module's load
 * bias already subtracted).  *file stays valid until linetab_close().
 * Returns 0, -ENOENT when no line table covers addr, -EBADMSG when the
 * covering unit cannot be parsed. */
int linetab_lookup(struct linetab *lt, uint64_t addr, const char **file, int *line);

/* The index linetab_open() builds, from the bytes of a (decompressed,
 * little-endian) .debug_line section: every sequence, sorted by start.
 * elf_addr_size (4 or 8) is the address size of units before DWARF 5, which
 * do not state it.  *out is malloc'ed (free() it).  Returns 0, or -EBADMSG
 * when some unit was malformed or of an unknown version: the sequences of
 * the units that were read are still returned. */
int linetab_scan(const unsigned char *buf, size_t len, int elf_addr_size,
		 struct linetab_seq **out, size_t *n);

#endif
