/* self_dwfl.h — libdwfl's view of the test process itself, set up the way
 * symbols.c sets it up: the reference that symbols and linetab answers are
 * compared with.  Free it with dwfl_end(). */
#ifndef PSCOPE_TEST_SELF_DWFL_H
#define PSCOPE_TEST_SELF_DWFL_H

#include <elfutils/libdwfl.h>
#include <unistd.h>

static inline Dwfl *self_dwfl(void)
{
	/* libdwfl keeps pointers to both for the Dwfl's lifetime. */
	static char *debuginfo_path;
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &debuginfo_path,
	};
	Dwfl *dwfl = dwfl_begin(&cb);
	assert_non_null(dwfl);
	dwfl_report_begin(dwfl);
	assert_int_equal(dwfl_linux_proc_report(dwfl, getpid()), 0);
	assert_int_equal(dwfl_report_end(dwfl, NULL, NULL), 0);
	return dwfl;
}

#endif
