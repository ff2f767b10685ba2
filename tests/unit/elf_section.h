/* elf_section.h — a section header of an ELF file a test is about to
 * corrupt, so that it knows where to write. */
#ifndef PSCOPE_TEST_ELF_SECTION_H
#define PSCOPE_TEST_ELF_SECTION_H

#include <gelf.h>
#include <string.h>

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
