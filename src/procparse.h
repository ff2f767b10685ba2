/* procparse.h — pure parsers for /proc/PID text files.
 *
 * Each takes the file's text (NUL-terminated; it may be truncated or
 * malformed: these files come from a process that may exit mid-read, and
 * comm may hold any byte but NUL, newline included) and fills a struct.  They never
 * touch the file system, so unit tests feed them fixtures.  Each returns 0,
 * or -EINVAL when a required field is missing or garbled; optional fields
 * that are absent are left as SAMPLE_UNREAD (or as documented). */
#ifndef PSCOPE_PROCPARSE_H
#define PSCOPE_PROCPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sample.h"

/* /proc/PID/stat and /proc/PID/task/TID/stat.  comm is between the first
 * '(' and the LAST ')' and may contain spaces, parens and control bytes. */
struct proc_stat {
	pid_t pid;
	char comm[64];
	char state;
	pid_t ppid;
	unsigned long flags;             /* PF_KTHREAD = 0x00200000 */
	uint64_t utime, stime;           /* clock ticks */
	int64_t num_threads;
	uint64_t starttime;              /* ticks after boot */
	uint64_t vsize;                  /* bytes */
	int64_t rss_pages;
	uint64_t start_brk;              /* 0 when not permitted to see it */
};
int procparse_stat(const char *text, struct proc_stat *out);

/* /proc/PID/status (also task/TID/status).  Every number is in kB as the
 * file gives it, or SAMPLE_UNREAD when the line is absent (kernel threads
 * have no Vm* lines). */
struct proc_status {
	char name[64];        /* "Name:" as printed (the kernel escapes newline and backslash) */
	char state;
	pid_t tgid, ppid, tracer_pid;
	uid_t ruid, euid;
	int64_t vm_size_kb, vm_rss_kb, rss_anon_kb, rss_file_kb, rss_shmem_kb;
	int64_t vm_data_kb, vm_swap_kb;
	int64_t threads;
	int64_t vol_ctxsw, invol_ctxsw;
};
int procparse_status(const char *text, struct proc_status *out);

/* /proc/PID/statm: sizes in pages. */
struct proc_statm {
	uint64_t size, resident, shared, text, data;
};
int procparse_statm(const char *text, struct proc_statm *out);

/* /proc/PID/smaps_rollup: totals in kB (SAMPLE_UNREAD when absent). */
struct proc_rollup {
	int64_t rss_kb, pss_kb, pss_anon_kb, pss_file_kb, pss_shmem_kb;
	int64_t anon_kb, swap_kb, swap_pss_kb;
};
int procparse_smaps_rollup(const char *text, struct proc_rollup *out);

/* /proc/PID/smaps: one map_entry per mapping (path malloc'd, raw).  On
 * success *out and *count own the entries; free them with procparse_free_maps.
 * A mapping whose header parsed but whose fields were cut off keeps
 * SAMPLE_UNREAD in those fields. */
int procparse_smaps(const char *text, struct map_entry **out, size_t *count);
/* /proc/PID/maps: same, with only the address range, perms, offset and path;
 * size_kb is computed from the range. */
int procparse_maps(const char *text, struct map_entry **out, size_t *count);
void procparse_free_maps(struct map_entry *list, size_t count);

/* /proc/PID/maps without building a table: the number of mappings and the
 * total size of those named [heap] (kB), which is all the sampler needs on
 * most ticks.  Cheaper than procparse_maps by the allocations it avoids.
 * Returns 0, or -EINVAL when a line has no address range. */
int procparse_maps_summary(const char *text, int64_t *count, int64_t *heap_kb);

/* /proc/PID/task/TID/schedstat: "run_ns wait_ns timeslices". */
struct proc_schedstat {
	uint64_t run_ns, wait_ns, timeslices;
};
int procparse_schedstat(const char *text, struct proc_schedstat *out);

/* /proc/PID/fdinfo/N: pos, flags (octal), mnt_id, ino, and for special fds
 * the first line that names what they are (eventfd-count, tfd, sigmask,
 * inotify wd, epoll tfd).  Fields absent are SAMPLE_UNREAD / 0. */
struct proc_fdinfo {
	int64_t pos;
	unsigned long flags;
	int64_t mnt_id;
	int64_t ino;
	int64_t eventfd_count;   /* eventfd only */
	int64_t epoll_targets;   /* number of "tfd:" lines */
	int64_t inotify_watches; /* number of "inotify wd:" lines */
};
int procparse_fdinfo(const char *text, struct proc_fdinfo *out);

/* Split the NUL-separated /proc/PID/cmdline (len bytes) into one string
 * with spaces between arguments; a trailing NUL is dropped.  Returns a
 * malloc'd string ("" for an empty cmdline: kernel threads and zombies). */
char *procparse_cmdline(const char *buf, size_t len);

/* /proc/PID/wchan: a symbol name or "0"; returns "" for "0". */
void procparse_wchan(const char *text, char *out, size_t outsz);

#endif
