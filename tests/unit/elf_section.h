/* elf_section.h — a copy of the test binary for a test to corrupt, and
 * the section headers that tell it where to write. */
#ifndef PSCOPE_TEST_ELF_SECTION_H
#define PSCOPE_TEST_ELF_SECTION_H

#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copies this test binary to a new file named from tmpl (mkstemp's
 * template, rewritten in place); returns its fd, open for reading and
 * writing. */
static inline int copy_of_self(char *tmpl)
{
	int out = mkstemp(tmpl);
	assert_true(out >= 0);
	int in = open("/proc/self/exe", O_RDONLY);
	assert_true(in >= 0);
	char buf[65536];
	ssize_t got;
	while ((got = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)got), got);
	close(in);
	return out;
}

/* The header of the section called name in the ELF file open at fd; all
 * zero when there is none. */
static inline GElf_Shdr elf_section_header(int fd, const char *name)
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	size_t shstrndx;
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	GElf_Shdr found = { 0 };
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr shdr;
		assert_non_null(gelf_getshdr(scn, &shdr));
		if (strcmp(elf_strptr(elf, shstrndx, shdr.sh_name), name) == 0)
			found = shdr;
	}
	elf_end(elf);
	return found;
}

#endif
