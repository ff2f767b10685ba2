/* goread.h — read a running Go program's runtime state from outside.
 *
 * Given the path of the target's executable, its load bias and a callback
 * that reads target memory (process_vm_readv in pscope), goread finds the
 * Go runtime's own variables and reports what runtime.NumGoroutine() and
 * runtime.ReadMemStats() would, plus goroutines grouped by wait reason,
 * first user function and creator.  It never stops the target and never
 * writes its memory: every value is read while the program runs, so loops
 * are bounded and everything read is validated before it is believed.
 *
 * amd64 only.  Function names and stacks come from .gopclntab (Go 1.16+),
 * variables from .symtab, struct layouts from DWARF; stripped binaries fall
 * back to code patterns, the runtime's type descriptor of runtime.g and a
 * small per-version offset table.  What cannot be located is left out and
 * named in a "why" string: never a guessed number. */
#ifndef PSCOPE_GOREAD_H
#define PSCOPE_GOREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads len bytes of target memory at addr into buf; returns the number of
 * bytes read (short on a partial read) or -1. */
typedef ssize_t (*goread_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* ---------------------------------------------------------- build info */

#define GOREAD_BUILDINFO_MAGIC "\xff Go buildinf:"
#define GOREAD_BUILDINFO_MAGIC_LEN 14
#define GOREAD_BUILDINFO_HDR 32

struct goread_buildinfo {
	char version[64];      /* "go1.19.8" */
	char path[256];        /* main package path ("path" line), "" if none */
	char mod[256];         /* main module path ("mod" line), "" if none */
	int major, minor;      /* 1, 19; 0, 0 when the version does not parse */
};

/* Parses a .go.buildinfo blob (the 32-byte header and what follows).
 * Go >= 1.18 keeps both strings inline; older ones store pointers to Go
 * string headers, resolved through read_mem (may be NULL for the inline
 * form only).  Returns 0, or -1 with a reason in err. */
int goread_parse_buildinfo(const uint8_t *blob, size_t len, goread_read_fn read_mem,
			   void *ctx, struct goread_buildinfo *out, char *err, size_t errlen);

/* "go1.21.13" -> 1, 21; "go1.22rc1" -> 1, 22.  false when it does not parse. */
bool goread_parse_version(const char *version, int *major, int *minor);

/* ------------------------------------------------------------ pclntab */

struct goread_pcln;

/* Indexes .gopclntab as it is in target memory (PIE relocates its
 * pointers, so read it from memory, not from the file).  The bytes are
 * copied; the caller keeps its buffer.  Returns NULL with a reason in err. */
struct goread_pcln *goread_pcln_open(const uint8_t *tab, size_t len, char *err, size_t errlen);
void goread_pcln_close(struct goread_pcln *p);

struct goread_func {
	uint64_t entry;        /* in target memory */
	const char *name;      /* owned by the pcln, valid until it is closed */
	uint32_t pcsp;         /* offset of the pc->sp-delta table */
	uint8_t func_id;       /* the runtime's funcID (goexit, ...) */
	int index;
};

/* The function containing pc (in target memory), false when none. */
bool goread_pcln_find(const struct goread_pcln *p, uint64_t pc, struct goread_func *out);
/* The function whose name is exactly name, false when none. */
bool goread_pcln_lookup(const struct goread_pcln *p, const char *name, struct goread_func *out);
/* [entry, end) of function f. */
uint64_t goread_pcln_end(const struct goread_pcln *p, const struct goread_func *f);
/* The sp delta at pc inside f, as the runtime's funcspdelta; false when
 * the table does not cover pc or is malformed. */
bool goread_pcln_spdelta(const struct goread_pcln *p, const struct goread_func *f,
			 uint64_t pc, int32_t *delta);
/* Number of functions and the pclntab format's Go version ("1.20+"...). */
int goread_pcln_nfunc(const struct goread_pcln *p);
const char *goread_pcln_format(const struct goread_pcln *p);

/* Decodes one pcvalue table (the runtime's pcvalue): the value at
 * target_pc for a function starting at entry.  Exposed for tests. */
bool goread_pcvalue(const uint8_t *tab, size_t len, uint64_t entry, unsigned quantum,
		    uint64_t target_pc, int32_t *value);

/* -------------------------------------------------------------- reader */

struct goread;

/* Opens exe (libelf) and locates the runtime.  Returns 0; -ENOEXEC when
 * exe is not a Go program (err says why); another negative errno when it
 * is Go but nothing could be set up.  A Go program whose runtime could
 * only partly be located still opens: goread_why() names what is missing
 * and the snapshot leaves those values out. */
int goread_open(const char *exe, uint64_t bias, goread_read_fn read_mem, void *ctx,
		struct goread **out, char *err, size_t errlen);
/* The same on an open descriptor of the executable, which goread owns from
 * then on (closed by goread_close, or here on failure). */
int goread_open_fd(int fd, uint64_t bias, goread_read_fn read_mem, void *ctx,
		   struct goread **out, char *err, size_t errlen);
void goread_close(struct goread *g);

const struct goread_buildinfo *goread_buildinfo(const struct goread *g);
/* What could not be located and what that disables, or "" when nothing. */
const char *goread_why(const struct goread *g);
/* true when the program is stripped (no .symtab or no DWARF). */
bool goread_stripped(const struct goread *g);

/* Goroutines sharing a state, a first user function and a creator.
 * Strings belong to the reader and live until goread_close(). */
struct goread_group {
	const char *state;     /* the wait reason, or "runnable", "running"... */
	const char *func;      /* first user function on the stack, "?" unknown */
	const char *creator;   /* the function whose go statement made it,
				  "(runtime)" for the main goroutine */
	uint32_t count;
};

struct goread_reason {
	const char *reason;
	uint32_t count;
};

struct goread_snapshot {
	bool have_goroutines;
	uint64_t goroutines;        /* == runtime.NumGoroutine() */
	uint64_t system_goroutines; /* started by the runtime itself */
	struct goread_reason *reasons;  /* user goroutines by state, count desc */
	size_t nreasons;
	struct goread_group *groups;    /* user goroutines, count desc */
	size_t ngroups;
	uint32_t unwind_failures;       /* stacks that changed under us */

	bool have_gc;
	uint64_t gc_count;          /* NumGC */
	uint64_t heap_live;         /* heap marked live by the last GC */
	uint64_t heap_inuse;        /* HeapInuse */
	uint64_t heap_alloc;        /* HeapAlloc (lags: per-P caches) */
	uint64_t total_alloc;       /* TotalAlloc (lags: per-P caches) */
	bool have_next_gc;
	uint64_t next_gc;           /* NextGC */

	char why[256];              /* what this snapshot left out and why */
};

/* Takes one snapshot.  Returns 0 (possibly with parts left out, see
 * snap->why), or a negative errno when the target cannot be read at all. */
int goread_sample(struct goread *g, struct goread_snapshot *snap, char *err, size_t errlen);
void goread_snapshot_free(struct goread_snapshot *snap);

#endif
