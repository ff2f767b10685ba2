/* symbols.h — turn a target's raw program counters into names.
 *
 * For one process: function+offset (C++ names demangled), the module (the
 * mapped ELF file, or [vdso]), and file:line where debug info exists,
 * including separate debug files found by build-id under /usr/lib/debug the
 * way eu-stack finds them.  Built on elfutils (libdwfl).  Results are cached
 * per address, so symbolizing the same stacks again is cheap.
 *
 * It never stops or touches the target's threads: stack capture records raw
 * PCs while a thread is stopped and symbolizes only after resuming it. */
#ifndef PSCOPE_SYMBOLS_H
#define PSCOPE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbols;

/* Strings are owned by the symbols cache and stay valid until
 * symbols_close(); they are raw bytes from the target's files (sanitize
 * before display).  A field that is unknown is NULL (line: 0). */
struct symbol_info {
	const char *func;      /* demangled when it was a C++ name */
	uint64_t offset;       /* pc - start of func */
	const char *module;    /* path of the mapped file, "[vdso]", ... */
	const char *file;      /* source file */
	int line;
};

/* Returns 0, or a negative errno with a one-line reason in err. */
int symbols_open(pid_t pid, struct symbols **out, char *err, size_t errlen);
void symbols_close(struct symbols *s);

/* Re-read the target's mappings (after a dlopen, say); cached names of
 * modules still mapped at the same place are kept. */
int symbols_refresh(struct symbols *s);

/* The first file:line lookup in the C library decompresses and indexes the
 * line tables of its separate debug file (libc6-dbg): 7-11 ms here, once per
 * target.  symbols_warm_begin() does that on a thread of its own (all
 * signals blocked), to overlap with other work; symbols_warm_end() waits
 * for it.
 * Between the two, no other function of this module may be called.  Only
 * the first call does anything. */
void symbols_warm_begin(struct symbols *s);
void symbols_warm_end(struct symbols *s);

/* Look up pc.  `return_address` is true for every frame but the innermost:
 * the call instruction is then at pc - 1, which is what file:line and the
 * function must describe (a call can be the last instruction of a function).
 * Returns false when nothing at all is known about pc (out is then all NULL). */
bool symbols_lookup(struct symbols *s, uint64_t pc, bool return_address,
		    struct symbol_info *out);

#endif
