/* Symbolization of the test process itself: its own static functions (with
 * file:line from its -g build), libc through Debian's separate debug files
 * (libc6-dbg), C++ demangling, return addresses, the vDSO, the cache,
 * refreshes after dlopen/dlclose, names identical to libdwfl's, and pids
 * that are gone or not ours. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linetab.h"
#include "elf_section.h"
#include "self_dwfl.h"
#include "symbols.h"

/* noipa: no inlining, cloning or tail calls, so addresses and return
 * addresses stay where the source says they are.  Each function sits on one
 * line, so __LINE__ next to it is the line its code maps to. */
__attribute__((noipa)) static int symtest_target(int x) { return x * 3 + 1; }
enum { SYMTEST_TARGET_LINE = __LINE__ - 1 };

__attribute__((noipa)) static uintptr_t symtest_callee(void) { return (uintptr_t)__builtin_return_address(0); }

/* The asm after the call keeps it from becoming a tail call. */
__attribute__((noipa)) static uintptr_t symtest_caller(int *line)
{
	*line = __LINE__; uintptr_t ra = symtest_callee(); __asm__ volatile("" ::: "memory");
	return ra;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int setup(void **state)
{
	struct symbols *s;
	char err[256];
	int r = symbols_open(getpid(), &s, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "symbols_open: %s\n", err);
		return -1;
	}
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	symbols_close(*state);
	return 0;
}

static void test_own_static_function(void **state)
{
	struct symbols *s = *state;
	struct symbol_info si;
	assert_int_equal(symtest_target(1), 4);
	assert_true(symbols_lookup(s, (uintptr_t)&symtest_target, false, &si));
	assert_non_null(si.func);
	assert_string_equal(si.func, "symtest_target");
	assert_int_equal(si.offset, 0);
	assert_non_null(si.module);
	assert_true(ends_with(si.module, "/test_symbols"));
	assert_non_null(si.file);
	assert_true(ends_with(si.file, "test_symbols.c"));
	assert_int_equal(si.line, SYMTEST_TARGET_LINE);
}

static void test_return_address_names_the_call(void **state)
{
	struct symbols *s = *state;
	struct symbol_info si;
	int line = 0;
	uintptr_t ra = symtest_caller(&line);
	assert_true(symbols_lookup(s, ra, true, &si));
	assert_string_equal(si.func, "symtest_caller");
	/* The offset is that of the pc itself, as a debugger prints it. */
	assert_int_equal(si.offset, ra - (uintptr_t)&symtest_caller);
	assert_true(ends_with(si.file, "test_symbols.c"));
	assert_int_equal(si.line, line);
}

static void test_libc_function(void **state)
{
	struct symbols *s = *state;
	struct symbol_info si;
	assert_true(symbols_lookup(s, (uintptr_t)&getpid, false, &si));
	assert_non_null(si.func);
	assert_non_null(strstr(si.func, "getpid"));
	assert_int_equal(si.offset, 0);
	assert_non_null(strstr(si.module, "libc.so"));
	/* libc.so.6 carries no line table: this comes from libc6-dbg's file
	 * under /usr/lib/debug/.build-id. */
	assert_non_null(si.file);
	assert_true(si.line > 0);
}

static void *symtest_thread(void *arg)
{
	(void)arg;
	return __builtin_return_address(0);
}

/* start_thread is static in libc: only the separate debug file names it
 * (from the stripped libc.so.6 alone libdwfl would pick a wrong exported
 * neighbour). */
static void test_libc_static_function_from_debug_file(void **state)
{
	struct symbols *s = *state;
	struct symbol_info si;
	pthread_t t;
	void *ra;
	assert_int_equal(pthread_create(&t, NULL, symtest_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &ra), 0);
	assert_true(symbols_lookup(s, (uintptr_t)ra, true, &si));
	assert_non_null(si.func);
	if (!strstr(si.module, "libc.so"))
		skip(); /* under ASan the sanitizer runtime calls thread routines */
	assert_string_equal(si.func, "start_thread");
	assert_true(si.offset > 0);
	assert_true(ends_with(si.file, "pthread_create.c"));
}

static void test_cpp_names_are_demangled(void **state)
{
	struct symbols *s = *state;
	struct symbol_info si;
	void *fn = dlsym(RTLD_DEFAULT, "_ZSt9terminatev");
	if (!fn)
		skip(); /* libstdc++ not loaded into this process */
	assert_true(symbols_lookup(s, (uintptr_t)fn, false, &si));
	assert_string_equal(si.func, "std::terminate()");
}

static void test_vdso(void **state)
{
	struct symbols *s = *state;
	struct symbol_info si;
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
	if (!vdso)
		skip();
	assert_true(symbols_lookup(s, vdso, false, &si));
	assert_string_equal(si.module, "[vdso]");
}

static void test_unmapped_address(void **state)
{
	struct symbols *s = *state;
	struct symbol_info si;
	memset(&si, 0xff, sizeof(si));
	assert_false(symbols_lookup(s, 0x10, false, &si));
	assert_null(si.func);
	assert_null(si.module);
	assert_null(si.file);
	assert_int_equal(si.line, 0);
	assert_false(symbols_lookup(s, 0x10, true, &si));
	assert_null(si.func);
}

/* Repeated lookups hit the cache: the very same strings come back, and
 * return-address and plain lookups of one pc are kept apart. */
static void test_cache_returns_same_answer(void **state)
{
	struct symbols *s = *state;
	struct symbol_info a, b, c;
	uintptr_t pc = (uintptr_t)&symtest_target;
	assert_true(symbols_lookup(s, pc, false, &a));
	for (int i = 0; i < 1000; i++)
		assert_true(symbols_lookup(s, pc, false, &b));
	assert_ptr_equal(a.func, b.func);
	assert_ptr_equal(a.module, b.module);
	assert_ptr_equal(a.file, b.file);
	/* pc - 1 of a function's first byte belongs to whatever precedes it. */
	symbols_lookup(s, pc, true, &c);
	assert_true(c.func == NULL || strcmp(c.func, "symtest_target") != 0);
}

/* Many distinct PCs force the table to grow; every answer must survive. */
static void test_cache_grows(void **state)
{
	struct symbols *s = *state;
	struct symbol_info si;
	uintptr_t base = (uintptr_t)&symtest_target;
	for (uintptr_t pc = 0x1000; pc < 0x1000 + 5000; pc++)
		assert_false(symbols_lookup(s, pc, false, &si));
	assert_true(symbols_lookup(s, base, false, &si));
	assert_string_equal(si.func, "symtest_target");
}

static bool symtest_maps_have(const char *path)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, path) != NULL;
	if (f)
		fclose(f);
	return found;
}

static void test_refresh_keeps_names_and_sees_dlopen(void **state)
{
	struct symbols *s = *state;
	struct symbol_info before, after;
	assert_true(symbols_lookup(s, (uintptr_t)&symtest_target, false, &before));

	bool was_loaded = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_NOLOAD) != NULL;
	void *lib = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		skip();
	void *fn = dlsym(lib, "crypt");
	assert_non_null(fn);
	struct symbol_info si;
	/* Mapped after symbols_open: unknown (or taken for whatever was mapped
	 * around there before), and cached as such, until a refresh. */
	if (!was_loaded && symbols_lookup(s, (uintptr_t)fn, false, &si))
		assert_null(strstr(si.module, "libcrypt"));

	assert_int_equal(symbols_refresh(s), 0);
	assert_true(symbols_lookup(s, (uintptr_t)&symtest_target, false, &after));
	assert_ptr_equal(before.func, after.func);
	assert_int_equal(after.line, SYMTEST_TARGET_LINE);
	assert_true(symbols_lookup(s, (uintptr_t)fn, false, &si));
	assert_non_null(strstr(si.module, "libcrypt.so"));
	assert_non_null(si.func);
	assert_non_null(strstr(si.func, "crypt"));
	if (was_loaded) {
		dlclose(lib);
		dlclose(lib);
		return;
	}
	/* Unmapped again: the module and its symbol table go away. */
	assert_int_equal(dlclose(lib), 0);
	if (symtest_maps_have("/libcrypt.so"))
		return; /* something else loaded it meanwhile */
	assert_int_equal(symbols_refresh(s), 0);
	/* (Another library may be mapped there by now.) */
	if (symbols_lookup(s, (uintptr_t)fn, false, &si))
		assert_null(strstr(si.module, "libcrypt"));
	assert_true(symbols_lookup(s, (uintptr_t)&symtest_target, false, &after));
	assert_ptr_equal(before.func, after.func);
}

/* A library deleted after it was mapped (an upgrade under a running
 * service): named through /proc/PID/map_files, which needs root. */
static void test_deleted_library_still_named(void **state)
{
	(void)state;
	const char *src = "/lib/x86_64-linux-gnu/libcrypt.so.1";
	char copy[] = "/tmp/pscope-symtest-XXXXXX";
	if (geteuid() != 0 || access(src, R_OK) != 0)
		skip();
	int out = mkstemp(copy), in = open(src, O_RDONLY | O_CLOEXEC);
	assert_true(out >= 0 && in >= 0);
	char buf[65536];
	for (ssize_t n; (n = read(in, buf, sizeof(buf))) > 0;)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	void *lib = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
	assert_int_equal(unlink(copy), 0);
	assert_non_null(lib);
	void *fn = dlsym(lib, "crypt");
	assert_non_null(fn);

	struct symbols *s;
	char err[256];
	assert_int_equal(symbols_open(getpid(), &s, err, sizeof(err)), 0);
	struct symbol_info si;
	assert_true(symbols_lookup(s, (uintptr_t)fn, false, &si));
	assert_non_null(si.module);
	assert_non_null(strstr(si.module, "(deleted)"));
	assert_non_null(si.func);
	assert_non_null(strstr(si.func, "crypt"));
	symbols_close(s);
	dlclose(lib);
}

static void test_bad_pid(void **state)
{
	(void)state;
	struct symbols *s = (struct symbols *)1;
	char err[256] = "";
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long pid_max = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid_max), 1);
	fclose(f);
	assert_int_equal(symbols_open((pid_t)(pid_max + 1), &s, err, sizeof(err)), -ESRCH);
	assert_null(s);
	assert_non_null(strstr(err, "no such process"));
	assert_null(strchr(err, '\n'));
}

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* libdwfl's name for addr as symbols reports it: without the symbol
 * version, demangled. */
static char *symtest_dwfl_name(Dwfl *dwfl, uintptr_t addr, GElf_Off *off)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
	GElf_Sym sym;
	const char *name = mod ? dwfl_module_addrinfo(mod, addr, off, &sym, NULL, NULL, NULL) : NULL;
	if (!name)
		return NULL;
	char *bare = strndup(name, strcspn(name + 1, "@") + 1);
	int status;
	char *plain = bare[0] == '_' && bare[1] == 'Z' ? __cxa_demangle(bare, NULL, NULL, &status) : NULL;
	if (plain) {
		free(bare);
		return plain;
	}
	return bare;
}

/* symbols finds names through its own sorted tables; they must pick what
 * dwfl_module_addrinfo (and so eu-stack) picks, sizes, aliases, labels and
 * section bounds included.  Sampled across every executable mapping of this
 * process: the test binary, libc (with its separate debug file), libstdc++,
 * libdw, ld.so ... */
static void test_names_match_libdwfl(void **state)
{
	struct symbols *s = *state;
	Dwfl *dwfl = self_dwfl();
	/* Libraries loaded since setup (by earlier tests) must be known too. */
	assert_int_equal(symbols_refresh(s), 0);

	FILE *maps = fopen("/proc/self/maps", "r");
	assert_non_null(maps);
	char line[1024];
	int compared = 0;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 || perm[2] != 'x' ||
		    !strchr(line, '/'))
			continue;
		/* An odd stride lands at all sorts of offsets into functions. */
		for (uintptr_t a = lo; a < hi; a += (hi - lo) / 300 | 1) {
			struct symbol_info si;
			GElf_Off off = 0;
			char *want = symtest_dwfl_name(dwfl, a, &off);
			symbols_lookup(s, a, false, &si);
			if ((want == NULL) != (si.func == NULL) ||
			    (want && (strcmp(want, si.func) != 0 || off != si.offset)))
				print_message("%#lx: libdwfl %s+%lu, symbols %s+%lu\n", (unsigned long)a,
					      want ? want : "-", (unsigned long)off,
					      si.func ? si.func : "-", (unsigned long)si.offset);
			assert_true((want == NULL) == (si.func == NULL));
			if (want) {
				assert_string_equal(si.func, want);
				assert_int_equal(si.offset, off);
			}
			free(want);
			compared++;
		}
	}
	fclose(maps);
	dwfl_end(dwfl);
	assert_true(compared > 1000);
}

/* libc's file:line comes from symbols' own reading of the line tables in
 * its separate debug file; it must be what dwfl_module_getsrc says, at
 * every few bytes of C and assembler functions. */
static void test_libc_lines_match_libdwfl(void **state)
{
	struct symbols *s = *state;
	Dwfl *dwfl = self_dwfl();
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(libc);

	/* dlsym on libc's handle: libc's own, even under a sanitizer. */
	static const char *const names[] = {
		"getpid", "malloc", "free", "printf", "qsort", "fopen",
		"pthread_create", "pthread_cond_wait", "memchr", "__libc_start_main",
	};
	int with_lines = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uintptr_t fn = (uintptr_t)dlsym(libc, names[i]);
		Dwfl_Module *mod = dwfl_addrmodule(dwfl, fn);
		GElf_Sym sym;
		GElf_Off off;
		assert_non_null(mod);
		assert_non_null(dwfl_module_addrinfo(mod, fn, &off, &sym, NULL, NULL, NULL));
		for (uintptr_t a = fn; a < fn + sym.st_size; a += 7) {
			Dwfl_Line *l = dwfl_module_getsrc(mod, a);
			int want_line = 0;
			const char *want = l ? dwfl_lineinfo(l, NULL, &want_line, NULL, NULL, NULL) : NULL;
			struct symbol_info si;
			assert_true(symbols_lookup(s, a, false, &si));
			if ((want == NULL) != (si.file == NULL) ||
			    (want && (strcmp(want, si.file) != 0 || want_line != si.line)))
				print_message("%s %#lx: libdwfl %s:%d, symbols %s:%d\n", names[i],
					      (unsigned long)a, want ? want : "-", want_line,
					      si.file ? si.file : "-", si.line);
			assert_true((want == NULL) == (si.file == NULL));
			if (want) {
				assert_string_equal(si.file, want);
				assert_int_equal(si.line, want_line);
				with_lines++;
			}
		}
	}
	dlclose(libc);
	dwfl_end(dwfl);
	assert_true(with_lines > 100);
}

/* A copy of this test binary whose last line table claims DWARF 9: the
 * others, this file's among them, stay readable to libdwfl.  Returns
 * false when its .debug_line is compressed (not patchable in place). */
static bool symtest_copy_with_bad_line_table(char *path)
{
	int out = copy_of_self(path);
	assert_int_equal(fchmod(out, 0700), 0);

	GElf_Shdr line = elf_section_header(out, ".debug_line");
	bool ok = line.sh_size > 0 && !(line.sh_flags & SHF_COMPRESSED);
	/* Walk the 32-bit unit lengths to the last unit; its version follows. */
	off_t unit = (off_t)line.sh_offset, end = unit + (off_t)line.sh_size;
	for (uint32_t len; ok && pread(out, &len, 4, unit) == 4 && unit + 4 + (off_t)len < end;)
		unit += 4 + (off_t)len;
	const unsigned char version9[2] = { 9, 0 };
	if (ok)
		assert_int_equal(pwrite(out, version9, 2, unit + 4), 2);
	close(out);
	return ok;
}

/* Where pid has mapped the start of the file at path. */
static uintptr_t symtest_map_base(pid_t pid, const char *path)
{
	char maps[64], line[1024];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(maps, "r");
	unsigned long base = 0;
	while (f && !base && fgets(line, sizeof(line), f))
		if (!strstr(line, path) || sscanf(line, "%lx-", &base) != 1)
			base = 0;
	if (f)
		fclose(f);
	return base;
}

/* When symbols cannot read a module's line tables itself, libdwfl still
 * answers: nothing that had a line before loses it. */
static void test_unreadable_line_tables_fall_back_to_libdwfl(void **state)
{
	(void)state;
	char path[] = "/tmp/test_symbols.XXXXXX";
	if (!symtest_copy_with_bad_line_table(path)) {
		unlink(path);
		skip();
	}
	struct linetab *lt;
	assert_int_equal(linetab_open(path, &lt), -EBADMSG);

	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* should the test crash */
		execl(path, path, "--sleep", (char *)NULL);
		_exit(127);
	}
	uintptr_t child_base = 0;
	for (int i = 0; i < 500 && !child_base; i++) {
		usleep(10000);
		child_base = symtest_map_base(child, path);
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	uintptr_t self_base = symtest_map_base(getpid(), self);

	/* Look up first, check after the child is gone. */
	struct symbols *s = NULL;
	struct symbol_info si = { 0 };
	char err[256];
	uintptr_t pc = (uintptr_t)&symtest_target - self_base + child_base;
	bool found = child_base && self_base && symbols_open(child, &s, err, sizeof(err)) == 0 &&
		     symbols_lookup(s, pc, false, &si);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	unlink(path);
	assert_true(found);
	assert_string_equal(si.func, "symtest_target");
	assert_non_null(si.file);
	assert_true(ends_with(si.file, "test_symbols.c"));
	assert_int_equal(si.line, SYMTEST_TARGET_LINE);
	symbols_close(s);
}

static bool symtest_pid1_refused(void)
{
	struct symbols *s;
	char err[256] = "";
	int r = symbols_open(1, &s, err, sizeof(err));
	return r == -EACCES && s == NULL && strstr(err, "/proc/1/") && strstr(err, "ermission denied");
}

/* Another user's process: the message names the file and the reason.  As
 * root the check runs in a child that gives up root first. */
static void test_foreign_pid_is_refused(void **state)
{
	(void)state;
	if (getuid() != 0) {
		assert_true(symtest_pid1_refused());
		return;
	}
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		_exit(symtest_pid1_refused() ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
	/* test_unreadable_line_tables_fall_back_to_libdwfl's child */
	if (argc > 1 && strcmp(argv[1], "--sleep") == 0) {
		pause();
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_static_function),
		cmocka_unit_test(test_return_address_names_the_call),
		cmocka_unit_test(test_libc_function),
		cmocka_unit_test(test_libc_static_function_from_debug_file),
		cmocka_unit_test(test_cpp_names_are_demangled),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_unmapped_address),
		cmocka_unit_test(test_cache_returns_same_answer),
		cmocka_unit_test(test_cache_grows),
		cmocka_unit_test(test_names_match_libdwfl),
		cmocka_unit_test(test_libc_lines_match_libdwfl),
		cmocka_unit_test(test_unreadable_line_tables_fall_back_to_libdwfl),
		cmocka_unit_test(test_refresh_keeps_names_and_sees_dlopen),
		cmocka_unit_test(test_deleted_library_still_named),
		cmocka_unit_test(test_bad_pid),
		cmocka_unit_test(test_foreign_pid_is_refused),
	};
	return cmocka_run_group_tests_name("symbols", tests, setup, teardown);
}
