/* sample.h — one snapshot of one target at one tick.
 *
 * Collectors (target.c) fill a struct sample; history, the batch writers and
 * the UI only read it.  Data flows one way.  Strings here are raw bytes from
 * the target (comm, cmdline, paths): every writer sanitizes at output time.
 *
 * A number that could not be read is SAMPLE_UNREAD, never a plausible 0, and
 * the part it belongs to carries a reason in part_err/why.  The fd table and
 * the mapping table are costly, so they are refreshed on slower tiers and
 * shared between consecutive samples by reference count. */
#ifndef PSCOPE_SAMPLE_H
#define PSCOPE_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SAMPLE_UNREAD INT64_C(-1)

struct plugin_results;   /* plugins.h */
struct stack_snapshot;   /* stacks.h */

/* The parts of a sample that can independently fail to be read. */
enum sample_part {
	PART_CMDLINE,
	PART_EXE,
	PART_MEMORY,   /* status/statm: RSS and its parts, swap, VmData */
	PART_PSS,      /* smaps_rollup */
	PART_HEAP,     /* the [heap] mapping */
	PART_MAPS,     /* the mapping count */
	PART_SMAPS,    /* the per-mapping table */
	PART_THREADS,
	PART_WCHAN,
	PART_FDS,
	PART_SOCKETS,
	PART_STACKS,   /* native stacks, when asked for */
	PART_COUNT
};
const char *sample_part_name(enum sample_part p);

struct sample_identity {
	pid_t pid, ppid;
	uid_t uid;
	char comm[64];            /* raw; user names are up to 15 bytes, kernel threads longer */
	char *cmdline;            /* argv joined by spaces; NULL if unreadable */
	char *exe;                /* readlink of /proc/PID/exe; NULL if unreadable */
	char state;               /* R S D Z T t X I P */
	uint64_t start_ticks;     /* stat field 22: the PID-reuse guard */
	double start_time;        /* epoch seconds */
	bool kernel_thread;       /* PF_KTHREAD */
	bool zombie;
	int64_t num_threads;
};

struct sample_memory {
	int64_t rss_kb, anon_kb, file_kb, shmem_kb;   /* status Rss* */
	int64_t pss_kb, swap_kb;                      /* smaps_rollup (swap also status) */
	int64_t vmdata_kb, vmsize_kb;
	int64_t heap_kb;                              /* size of [heap] */
	int64_t mappings;                             /* number of VMAs */
};

struct sample_thread {
	pid_t tid;
	char name[64];            /* raw comm of the thread */
	char state;
	double cpu_pct;           /* of one CPU since the previous sample; NAN at first */
	uint64_t cpu_ns;          /* total CPU time (schedstat, or stat ticks) */
	int64_t vol_ctxsw, invol_ctxsw;
	char wchan[64];           /* "" when running or unknown; see PART_WCHAN */
};

struct sample_threads {
	size_t count;
	struct sample_thread *list;   /* sorted by tid */
	double cpu_pct;               /* process total, NAN at first */
};

/* File descriptors. */
enum fd_kind {
	FD_FILE, FD_DIR, FD_SOCKET, FD_PIPE, FD_FIFO, FD_EVENTFD, FD_EPOLL,
	FD_TIMERFD, FD_SIGNALFD, FD_INOTIFY, FD_MEMFD, FD_ANON, FD_DEVICE,
	FD_OTHER, FD_KIND_COUNT
};
const char *fd_kind_name(enum fd_kind k);   /* "file", "dir", "socket", ... */

enum sock_proto {
	PROTO_TCP, PROTO_TCP6, PROTO_UDP, PROTO_UDP6, PROTO_UNIX, PROTO_NETLINK,
	PROTO_RAW, PROTO_RAW6, PROTO_PACKET, PROTO_OTHER, PROTO_COUNT
};
const char *sock_proto_name(enum sock_proto p);   /* "tcp", "tcp6", ... */

/* TCP states in the kernel's numbering (include/net/tcp_states.h). */
enum { TCP_STATE_COUNT = 13 };
const char *tcp_state_name(int state);   /* "ESTABLISHED", ...; NULL if out of range */

struct sock_info {
	uint64_t ino;
	enum sock_proto proto;
	int state;                /* kernel TCP state number; unix and udp use it too */
	char local[128];          /* "127.0.0.1:80", "[::1]:80", unix path or "" */
	char remote[128];         /* peer address; for unix "peer ino N" when known */
	uint32_t rqueue, wqueue;
};

struct fd_entry {
	int fd;
	enum fd_kind kind;
	uint64_t dev, ino;        /* identity with fd and kind: numbers get reused */
	char *target;             /* raw readlink text */
	int sock;                 /* index into fd_table.sockets, or -1 */
};

struct fd_table {
	int refs;
	double scanned_at;        /* epoch seconds */
	size_t count;
	struct fd_entry *list;    /* sorted by fd */
	unsigned by_kind[FD_KIND_COUNT];
	size_t nsockets;
	struct sock_info *sockets; /* resolved sockets; entries whose socket could
	                              not be matched keep proto PROTO_OTHER */
	unsigned by_state[TCP_STATE_COUNT];  /* tcp and tcp6 sockets per state */
	int sock_err;             /* 0, or negative errno: socket details unknown */
	char sock_note[160];      /* e.g. "netlink dump from another netns: used /proc/PID/net" */
};
struct fd_table *fd_table_ref(struct fd_table *t);
void fd_table_unref(struct fd_table *t);

struct map_entry {
	uint64_t start, end, offset;
	char perms[5];
	char *path;               /* raw; "[heap]", "[stack]", "" for anonymous */
	int64_t size_kb, rss_kb, pss_kb, anon_kb, swap_kb;
};

struct map_table {
	int refs;
	double scanned_at;
	size_t count;
	struct map_entry *list;   /* in address order */
};
struct map_table *map_table_ref(struct map_table *t);
void map_table_unref(struct map_table *t);

struct sample {
	double time;              /* epoch seconds */
	double mono;              /* CLOCK_MONOTONIC seconds, for rates */
	bool exited;              /* the process is gone (or its PID was reused) */
	struct sample_identity id;
	struct sample_memory mem;
	struct sample_threads threads;
	int64_t fd_count;         /* every tick, even when the table is older */
	struct fd_table *fds;     /* shared; NULL when unreadable */
	struct map_table *maps;   /* shared; NULL unless the smaps tier ran */
	struct plugin_results *plugins; /* shared; NULL without plugins (plugins.h) */
	struct plugin_results *plugins_base; /* shared: the results at the mark, or
	                              at attach, that table rows compare with */
	bool plugins_since_mark;  /* plugins_base is the mark's */
	struct stack_snapshot *stacks;  /* shared; NULL unless stacks were captured */
	struct stack_snapshot *stacks_base; /* shared: what stacks is compared with, the
	                          first capture or the one at the mark; may be stacks */
	bool stacks_since_mark;   /* stacks_base is the capture at the mark */
	double cost_ms;           /* pscope's own CPU time spent on this sample */
	int part_err[PART_COUNT]; /* 0, or a negative errno */
	char why[PART_COUNT][160];/* human reason for an unreadable part */
};

void sample_init(struct sample *s);
void sample_free(struct sample *s);
/* Mark a part unreadable with errno err and a reason (printf-style). */
void sample_set_unreadable(struct sample *s, enum sample_part p, int err,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool sample_readable(const struct sample *s, enum sample_part p);
/* Number of tcp/tcp6/udp/... sockets among the fds, or SAMPLE_UNREAD. */
int64_t sample_socket_count(const struct sample *s);

#endif
