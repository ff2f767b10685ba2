/* pscope_plugin.h — the one public ABI between pscope and its plugins.
 *
 * A plugin is a shared object that exports exactly one symbol:
 *
 *     PSCOPE_PLUGIN_EXPORT const struct pscope_plugin pscope_plugin = {
 *         .abi_version = PSCOPE_PLUGIN_ABI_VERSION,
 *         .name = "cgroup", ...
 *     };
 *
 * pscope reads abi_version first (it stays the first member in every
 * version) and refuses the plugin unless it equals the version pscope was
 * built with: a mismatch is reported and skipped, never a crash.
 *
 * What a plugin describes statically:
 *   - metrics: named numbers.  pscope keeps each one in the target's history
 *     as the series "<plugin>.<metric>", so every plugin gets deltas, growth
 *     rates, sparklines, the mark and batch JSON without code of its own.
 *   - tables: named tables with typed columns; pscope draws them with its
 *     own widgets and writes them to batch JSON as arrays of objects.
 *
 * Life cycle, per attached target:
 *   probe()  does the plugin apply to this process?  Cheap; no state.
 *   open()   once, when probe() accepted; returns the plugin's state.
 *   sample() every interval_s seconds (at most once per pscope tick).
 *   close()  when pscope lets go of the target (today: at exit, also for
 *            targets that exited earlier).
 * Calls for one target never overlap.  Calls for different targets may come
 * from different threads: keep state in the state pointer, not in globals.
 *
 * Rules: a plugin runs inside pscope with pscope's privileges.  It never
 * calls curses or writes to stdout/stderr (use host->log), never writes the
 * target's memory and never stops its threads.  Everything it reads about
 * the target goes through the host helpers below, its /proc/PID files, or
 * files under host->proc_root().  Strings it hands back are copied by pscope during the
 * call; they may be raw bytes from the target (pscope sanitizes on output).
 *
 * Numbers: NAN means "unknown"; pscope shows it as unreadable, never as 0.
 * Say why in out->why (the whole plugin) or host->metric_why (one metric).
 *
 * Compatibility: members are only ever appended to struct pscope_host, so a
 * plugin built against an older minor revision keeps working (a plugin
 * that uses a member added later checks host->size first); any other
 * change bumps PSCOPE_PLUGIN_ABI_VERSION. */
#ifndef PSCOPE_PLUGIN_H
#define PSCOPE_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PSCOPE_PLUGIN_ABI_VERSION 1u

/* The exported symbol's name.  Define it with PSCOPE_PLUGIN_EXPORT so it
 * stays visible when the plugin is built with -fvisibility=hidden. */
#define PSCOPE_PLUGIN_SYMBOL "pscope_plugin"
#define PSCOPE_PLUGIN_EXPORT __attribute__((visibility("default")))

/* The target as the host sees it: opaque to plugins, passed back to every
 * helper. */
struct pscope_target;

/* One line of /proc/PID/maps. */
struct pscope_mapping {
	uint64_t start, end;      /* [start, end) in the target's address space */
	uint64_t offset;          /* file offset of start */
	char perms[5];            /* "r-xp" */
	const char *path;         /* raw; "" for anonymous, "[heap]", "[stack]"... */
};

enum pscope_log_level { PSCOPE_LOG_ERROR, PSCOPE_LOG_WARN, PSCOPE_LOG_INFO, PSCOPE_LOG_DEBUG };

struct pscope_plugin_out;

/* One table cell: .str for a string column, .num for a number column. */
union pscope_cell {
	const char *str;
	double num;
};

/* Helpers the host lends to plugins.  Every helper that can fail returns 0
 * (or a byte count) on success and a negative errno on failure; none of
 * them ever writes to the target. */
struct pscope_host {
	uint32_t abi_version;     /* PSCOPE_PLUGIN_ABI_VERSION of the host */
	uint32_t size;            /* sizeof(struct pscope_host) of the host */

	/* Identity.  Strings stay valid until close() returns. */
	pid_t (*pid)(const struct pscope_target *t);
	/* The executable's path as the target sees it (readlink of
	 * /proc/PID/exe, possibly ending in " (deleted)"); "" if unknown.
	 * For display: open the file with open_exe(). */
	const char *(*exe_path)(const struct pscope_target *t);
	/* "/proc/PID/root": prefix for paths in the target's mount namespace. */
	const char *(*proc_root)(const struct pscope_target *t);
	/* A new read-only O_CLOEXEC descriptor on the executable, opened through
	 * /proc/PID/exe so it works across mount namespaces and for a deleted
	 * file.  The caller closes it.  Negative errno on failure. */
	int (*open_exe)(const struct pscope_target *t);

	/* Read len bytes at addr with process_vm_readv (never ptrace, never a
	 * write).  Returns the bytes read, which is less than len when the range
	 * runs into unmapped memory, or a negative errno (-EFAULT when nothing
	 * at addr is mapped, -EPERM without permission, -ESRCH when gone). */
	ssize_t (*read_mem)(const struct pscope_target *t, uint64_t addr, void *buf, size_t len);

	/* The target's mappings in address order, read fresh on the first call
	 * during each probe/open/sample call.  The array belongs to the host and
	 * stays valid until the plugin's current call returns. */
	int (*mappings)(const struct pscope_target *t, const struct pscope_mapping **list,
			size_t *count);

	/* ELF helpers on the target's main executable (the file, not memory).
	 * elf_symbol: address and size of a symbol by exact name, from .symtab,
	 * else .dynsym, with the load bias of a PIE already added: the address
	 * is where it lives in the target now (size may be NULL).  -ENOENT if
	 * absent (stripped?).  Not meant for TLS symbols. */
	int (*elf_symbol)(const struct pscope_target *t, const char *name, uint64_t *addr,
			  uint64_t *size);
	/* elf_section: a section's bytes by exact name (".go.buildinfo",
	 * ".gopclntab", ...) as stored in the file; *addr is its address in the
	 * target (bias added; addr may be NULL), or 0 when the section is not
	 * loaded or the bias could not be found.  The bytes
	 * belong to the host, are read once per target and stay valid until
	 * close() returns.  -ENOENT if absent, -ENODATA for SHT_NOBITS. */
	int (*elf_section)(const struct pscope_target *t, const char *name, const void **data,
			   size_t *len, uint64_t *addr);
	/* The load bias: runtime address minus link-time address (0 for a
	 * non-PIE executable). */
	int (*elf_bias)(const struct pscope_target *t, uint64_t *bias);

	/* Messages for the user: batch mode prints warnings and errors to
	 * stderr prefixed with the plugin's name; the UI shows them in the
	 * plugin's tab.  One line each, no trailing newline needed. */
	void (*log)(const struct pscope_target *t, enum pscope_log_level level,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

	/* Output, during sample() only.  metric_why: the reason metric m is NAN
	 * (or a note such as "no limit"); copied.  add_row: append one row to
	 * table tab; cells has one entry per column of that table (a string
	 * column reads .str, NULL = unknown; a number column reads .num, NAN =
	 * unknown); copied.  Both return 0 or -EINVAL for a bad index. */
	int (*metric_why)(struct pscope_plugin_out *out, size_t m, const char *reason);
	int (*add_row)(struct pscope_plugin_out *out, size_t tab,
		       const union pscope_cell *cells);
};

/* One metric: a number kept in history as "<plugin>.<name>". */
struct pscope_metric_desc {
	const char *name;         /* [a-z0-9_]+, unique within the plugin */
	const char *unit;         /* "bytes", "count", "us", "%", "" ... */
	const char *description;  /* one line for the UI and the man page */
};

enum pscope_col_type { PSCOPE_COL_STRING, PSCOPE_COL_NUMBER };

struct pscope_column_desc {
	const char *name;         /* [a-z0-9_]+: JSON key and column header */
	enum pscope_col_type type;
	const char *unit;         /* for numbers; "" or NULL otherwise */
};

struct pscope_table_desc {
	const char *name;         /* [a-z0-9_]+, unique within the plugin and
	                             distinct from its metric names */
	const char *description;
	const struct pscope_column_desc *columns;
	size_t ncolumns;
	/* A table of exactly two columns, a string then a number, may be a
	 * map: batch JSON then writes it as one object {"<key>": number, ...}
	 * (rows with an unknown key are left out) instead of an array. */
	bool keyed;
};

/* What sample() fills.  The host presets values to NAN and why to "". */
struct pscope_plugin_out {
	double *values;           /* one per metric, in descriptor order */
	size_t nvalues;
	char why[256];            /* why something is missing, for the user */
	void *host;               /* the host's; tables and reasons live there */
};

struct pscope_plugin {
	uint32_t abi_version;     /* must be the first member, forever */
	const char *name;         /* [a-z0-9_]+: JSON key, series prefix, tab */
	const char *version;
	const char *description;  /* one line */
	double interval_s;        /* preferred seconds between samples; 0 = every tick */

	const struct pscope_metric_desc *metrics;
	size_t nmetrics;
	const struct pscope_table_desc *tables;
	size_t ntables;

	/* Does the plugin apply to this target?  1 yes; 0 no, with the reason
	 * in reason ("not a Go binary"); negative errno when it could not tell
	 * (reason says why).  reason has reason_len bytes. */
	int (*probe)(const struct pscope_host *h, const struct pscope_target *t, char *reason,
		     size_t reason_len);
	/* Set *state.  0, or a negative errno with a reason in err; close() is
	 * not called after a failure.  open and close may be NULL for a
	 * stateless plugin (sample then gets a NULL state). */
	int (*open)(const struct pscope_host *h, const struct pscope_target *t, void **state,
		    char *err, size_t errlen);
	void (*close)(void *state);
	/* Fill out.  0, or a negative errno when nothing could be read (out->why
	 * says why; values left NAN).  Partial results return 0 with NAN values
	 * and reasons. */
	int (*sample)(void *state, const struct pscope_host *h, const struct pscope_target *t,
		      struct pscope_plugin_out *out);
};

#endif
