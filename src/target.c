#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fds.h"
#include "procparse.h"
#include "sockets.h"
#include "stacks.h"
#include "threads.h"
#include "util.h"

/* PROCMAP_QUERY (Linux 6.11 UAPI, <linux/fs.h>) finds the VMA at an address
 * with one ioctl instead of reading all of maps.  Debian 12's headers
 * predate it, so the stable UAPI layout is spelled out here. */
#ifndef PROCMAP_QUERY
struct procmap_query {
	__u64 size;
	__u64 query_flags;
	__u64 query_addr;
	__u64 vma_start;
	__u64 vma_end;
	__u64 vma_flags;
	__u64 vma_page_size;
	__u64 vma_offset;
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	__u32 vma_name_size;
	__u32 build_id_size;
	__u64 vma_name_addr;
	__u64 build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif

/* Task flags in /proc/PID/stat (include/linux/sched.h). */
enum { PF_EXITING_FLAG = 0x00000004, PF_KTHREAD_FLAG = 0x00200000 };

struct target {
	pid_t pid;
	const struct perm_context *perm;
	struct target_options opt;
	unsigned long tick;
	long hz;
	double boot_epoch;

	int proc_dirfd, stat_fd, status_fd;
	/* Where what belongs to the whole process is read: /proc/PID, or, once
	 * the main thread has exited while others run on (pthread_exit in
	 * main), /proc/PID/task/TID of a thread that runs.  The exited
	 * leader's own fd/, maps and status are empty: read through it, the
	 * process would show 0 fds and no memory. */
	int data_dirfd;
	pid_t data_tid;
	bool reread;                /* every tier is due at the next sample */
	int fd_dirfd;               /* -1 when fd/ is not readable: see fd_err */
	int fd_err;
	char fd_why[160];
	int rollup_fd, maps_fd;     /* opened on first use; -1 until then */

	uint64_t start_ticks;
	uint64_t start_brk;         /* 0 when we may not see it */
	uid_t uid;
	bool kernel_thread;
	bool exited;
	char comm[64];
	char *cmdline, *exe;
	int exe_err;

	struct thread_reader *threads;
	int threads_err;

	struct sock_resolver *sock;
	struct fd_table *fds;
	long fds_count_at_scan;
	unsigned long fds_tick;
	bool fd_count_works;        /* fstat(fd/).st_size is the count (>= 6.2) */

	int64_t pss_kb, mappings, heap_kb;
	int pss_err, maps_err;
	bool procmap_query_ok;
	struct map_table *maps;
	struct stacks_ctx *stacks;  /* opened on the first capture */
	struct stack_snapshot *stacks_first, *stacks_last, *stacks_mark;

	char *buf;
	size_t cap;
};

void target_options_default(struct target_options *o)
{
	o->full_every = 5;
	o->rollup_every = 5;
	o->maps_every = 10;
	o->smaps_every = 0;
	o->threads_full_every = 10;
	o->stacks = o->stacks_only = o->consistent = o->no_ptrace = false;
}

pid_t target_pid(const struct target *t)
{
	return t->pid;
}

static double boot_epoch(void)
{
	struct timespec boot;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return util_now_real() - ((double)boot.tv_sec + (double)boot.tv_nsec / 1e9);
}

static int open_in(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void explain(const struct target *t, int err, char *buf, size_t size)
{
	perm_explain(t->perm, t->pid, t->uid, err, false, buf, size);
}

/* Everything an unreadable part needs in one place: errno and the reason. */
static void unreadable(const struct target *t, struct sample *s, enum sample_part p, int err)
{
	char why[160];

	if (t->kernel_thread && (p == PART_MEMORY || p == PART_PSS || p == PART_HEAP ||
				 p == PART_MAPS || p == PART_EXE || p == PART_SMAPS)) {
		sample_set_unreadable(s, p, err, "kernel thread: no user address space");
		return;
	}
	if (s->id.zombie && p != PART_FDS && p != PART_SOCKETS) {
		sample_set_unreadable(s, p, err, "zombie: exited, waiting for its parent to reap it");
		return;
	}
	explain(t, err, why, sizeof(why));
	sample_set_unreadable(s, p, err, "%s", why);
}

static int keep_open(struct target *t, int *fd, const char *name)
{
	if (*fd < 0)
		*fd = open_in(t->data_dirfd, name);
	return *fd;
}

/* One ioctl on maps: the VMA that starts at start_brk is the heap. */
static int query_heap(struct target *t, uint64_t start_brk, int64_t *kb)
{
	struct procmap_query q = { .size = sizeof(q), .query_addr = start_brk };

	if (keep_open(t, &t->maps_fd, "maps") < 0)
		return t->maps_fd;
	if (ioctl(t->maps_fd, PROCMAP_QUERY, &q) < 0) {
		if (errno != ENOENT)
			return -errno;
		*kb = 0;   /* no VMA at start_brk: the heap is empty */
		return 0;
	}
	*kb = q.vma_start == start_brk ? (int64_t)((q.vma_end - q.vma_start) / 1024) : 0;
	return 0;
}

/* Opening /proc/PID/fd can succeed where listing it is refused, so list
 * one entry to learn whether we have ptrace-read access. */
static int open_fd_dir(int proc_dirfd, int *out)
{
	char buf[512];

	*out = -1;
	int fd = openat(proc_dirfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_getdents64, fd, buf, sizeof(buf)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	lseek(fd, 0, SEEK_SET);
	*out = fd;
	return 0;
}

/* Stacks asked for: prepare their names while the first sample reads
 * /proc.  A failure here is reported by the first capture. */
static void target_open_stacks(struct target *t)
{
	char err[160];
	if (t->opt.stacks && !t->opt.no_ptrace && !t->kernel_thread &&
	    stacks_open(t->pid, &t->stacks, err, sizeof(err)) == 0)
		stacks_prepare(t->stacks);
}

int target_open(pid_t pid, const struct target_options *o, const struct perm_context *perm,
		struct target **out, char *err, size_t errlen)
{
	char path[32];
	struct proc_stat st;
	struct proc_status status;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "no such process: %d", (int)pid);
		else
			snprintf(err, errlen, "cannot open /proc/%d: %s", (int)pid, strerror(e));
		return e == ENOENT ? -ESRCH : -e;
	}

	struct target *t = xcalloc(1, sizeof(*t));
	t->pid = pid;
	t->perm = perm;
	t->opt = *o;
	t->hz = sysconf(_SC_CLK_TCK);
	t->boot_epoch = boot_epoch();
	t->proc_dirfd = t->data_dirfd = dirfd;
	t->data_tid = pid;
	t->fd_dirfd = t->rollup_fd = t->maps_fd = -1;
	t->stat_fd = open_in(dirfd, "stat");
	t->status_fd = open_in(dirfd, "status");
	t->pss_kb = t->mappings = t->heap_kb = SAMPLE_UNREAD;

	int rc = t->stat_fd < 0 ? t->stat_fd : t->status_fd < 0 ? t->status_fd : 0;
	if (!rc && util_pread_all(t->stat_fd, &t->buf, &t->cap) < 0)
		rc = -ESRCH;
	if (!rc && procparse_stat(t->buf, &st) < 0)
		rc = -ESRCH;
	if (!rc && (util_pread_all(t->status_fd, &t->buf, &t->cap) < 0 ||
		    procparse_status(t->buf, &status) < 0))
		rc = -ESRCH;
	if (rc) {
		snprintf(err, errlen, "no such process: %d (it exited)", (int)pid);
		target_close(t);
		return rc;
	}
	if (status.tgid != pid) {
		snprintf(err, errlen, "%d is a thread of process %d; attach to %d", (int)pid,
			 (int)status.tgid, (int)status.tgid);
		target_close(t);
		return -EINVAL;
	}
	t->start_ticks = st.starttime;
	t->start_brk = st.start_brk;
	t->kernel_thread = st.flags & PF_KTHREAD_FLAG;
	t->uid = status.ruid;
	snprintf(t->comm, sizeof(t->comm), "%s", st.comm);
	if (t->opt.stacks_only) {
		target_open_stacks(t);
		*out = t;
		return 0;
	}

	t->fd_err = open_fd_dir(dirfd, &t->fd_dirfd);
	if (t->fd_err)
		explain(t, t->fd_err, t->fd_why, sizeof(t->fd_why));
	/* The kernel prints "0" as the wchan of a task we may not inspect, so
	 * read wchan only when ptrace-read access (which fd/ needs too) holds. */
	t->threads_err = threads_open(pid, dirfd, t->fd_dirfd >= 0, &t->threads);
	if (t->fd_dirfd >= 0)
		sockets_open(pid, &t->sock);
	/* PROCMAP_QUERY (Linux 6.11) gives the heap in one ioctl; older kernels
	 * and start_brk hidden from us fall back to the maps tier. */
	int64_t kb;
	t->procmap_query_ok = t->start_brk && query_heap(t, t->start_brk, &kb) == 0;
	target_open_stacks(t);
	*out = t;
	return 0;
}

void target_close(struct target *t)
{
	if (!t)
		return;
	if (t->data_dirfd != t->proc_dirfd)
		close(t->data_dirfd);
	int fds[] = { t->proc_dirfd, t->stat_fd, t->status_fd, t->fd_dirfd, t->rollup_fd, t->maps_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	threads_close(t->threads);
	sockets_close(t->sock);
	fd_table_unref(t->fds);
	map_table_unref(t->maps);
	stacks_close(t->stacks);
	stack_snapshot_unref(t->stacks_first);
	stack_snapshot_unref(t->stacks_last);
	stack_snapshot_unref(t->stacks_mark);
	free(t->cmdline);
	free(t->exe);
	free(t->buf);
	free(t);
}

/* Tiers run at different offsets of their period so that their costs do
 * not pile up on the same tick; the first sample runs them all. */
static bool due(const struct target *t, int every, int offset)
{
	if (every <= 0)
		return false;
	return t->tick == 0 || t->reread ||
	       t->tick % (unsigned long)every == (unsigned long)offset % (unsigned long)every;
}

static void mark_exited(struct target *t, struct sample *s)
{
	t->exited = true;
	s->exited = true;
	s->id.pid = t->pid;
	s->id.uid = t->uid;
	s->id.start_ticks = t->start_ticks;
	snprintf(s->id.comm, sizeof(s->id.comm), "%s", t->comm);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Point data_dirfd at a thread of the process that still runs, and reopen
 * what is read through it.  False when none was found. */
static bool follow_live_thread(struct target *t)
{
	pid_t tid;
	int found = util_open_live_task(t->proc_dirfd, t->pid, &tid);
	if (found < 0)
		return false;

	if (t->data_dirfd != t->proc_dirfd)
		close(t->data_dirfd);
	t->data_dirfd = found;
	t->data_tid = tid;
	close_fd(&t->status_fd);
	close_fd(&t->fd_dirfd);
	close_fd(&t->rollup_fd);
	close_fd(&t->maps_fd);
	t->status_fd = open_in(found, "status");
	sockets_close(t->sock);
	t->sock = NULL;
	if (!t->opt.stacks_only) {
		t->fd_err = open_fd_dir(found, &t->fd_dirfd);
		if (t->fd_err)
			explain(t, t->fd_err, t->fd_why, sizeof(t->fd_why));
		if (t->fd_dirfd >= 0)
			sockets_open(tid, &t->sock);   /* /proc/PID/net went with the leader */
	}
	fd_table_unref(t->fds);
	t->fds = NULL;
	t->reread = true;
	return true;
}

/* stat + status: identity and the memory totals.  -ESRCH when gone. */
static int read_identity(struct target *t, struct sample *s)
{
	struct proc_stat st;
	struct proc_status status;

	if (util_pread_all(t->stat_fd, &t->buf, &t->cap) < 0 || procparse_stat(t->buf, &st) < 0)
		return -ESRCH;
	/* Unreachable through a kept-open /proc/PID, but cheap to be sure. */
	if (st.starttime != t->start_ticks || st.state == 'X')
		return -ESRCH;
	/* A leader that exited with others running shows 'Z': the process
	 * does not, so its state is that of the thread it is read through. */
	char state = st.state;
	if (state == 'Z' && st.num_threads > 1) {
		char now = t->data_tid != t->pid ? util_task_state(t->data_dirfd) : 0;
		if ((!now || now == 'Z' || now == 'X') && follow_live_thread(t))
			now = util_task_state(t->data_dirfd);
		if (now)
			state = now;
	}
	struct sample_identity *id = &s->id;
	id->pid = t->pid;
	id->ppid = st.ppid;
	id->state = state;
	id->zombie = state == 'Z';
	id->kernel_thread = t->kernel_thread;
	id->start_ticks = st.starttime;
	id->start_time = t->boot_epoch + (double)st.starttime / (double)t->hz;
	id->num_threads = st.num_threads;
	t->start_brk = st.start_brk;
	snprintf(id->comm, sizeof(id->comm), "%s", st.comm);
	snprintf(t->comm, sizeof(t->comm), "%s", st.comm);

	bool read = util_pread_all(t->status_fd, &t->buf, &t->cap) >= 0 &&
		    procparse_status(t->buf, &status) == 0;
	/* The thread read through may have exited since: another one will do. */
	if (!read && t->data_tid != t->pid && follow_live_thread(t))
		read = util_pread_all(t->status_fd, &t->buf, &t->cap) >= 0 &&
		       procparse_status(t->buf, &status) == 0;
	if (!read)
		return -ESRCH;
	id->uid = status.ruid;

	struct sample_memory *m = &s->mem;
	if (status.vm_rss_kb == SAMPLE_UNREAD) {
		unreadable(t, s, PART_MEMORY, -ENODATA);
		return 0;
	}
	m->rss_kb = status.vm_rss_kb;
	m->anon_kb = status.rss_anon_kb;
	m->file_kb = status.rss_file_kb;
	m->shmem_kb = status.rss_shmem_kb;
	m->swap_kb = status.vm_swap_kb;
	m->vmdata_kb = status.vm_data_kb;
	m->vmsize_kb = status.vm_size_kb;
	return 0;
}

/* cmdline and exe change rarely (exec, or a process rewriting its argv):
 * they are re-read on the fd tier. */
static void read_names(struct target *t, struct sample *s, bool refresh)
{
	if (refresh) {
		ssize_t n = util_read_at(t->data_dirfd, "cmdline", &t->buf, &t->cap);
		if (n >= 0) {
			free(t->cmdline);
			t->cmdline = procparse_cmdline(t->buf, (size_t)n);
		}
		char link[4096];
		ssize_t len = readlinkat(t->data_dirfd, "exe", link, sizeof(link) - 1);
		t->exe_err = len < 0 ? -errno : 0;
		free(t->exe);
		t->exe = len >= 0 ? xstrndup(link, (size_t)len) : NULL;
	}
	if (t->cmdline)
		s->id.cmdline = xstrdup(t->cmdline);
	else
		unreadable(t, s, PART_CMDLINE, -ESRCH);
	if (t->exe)
		s->id.exe = xstrdup(t->exe);
	else
		unreadable(t, s, PART_EXE, t->exe_err);
}

static void read_threads(struct target *t, struct sample *s)
{
	int rc = t->threads_err;
	if (!rc)
		rc = threads_read(t->threads, s->mono, due(t, t->opt.threads_full_every, 3),
				  (long)s->id.num_threads, &s->threads);
	if (rc < 0) {
		unreadable(t, s, PART_THREADS, rc);
		unreadable(t, s, PART_WCHAN, rc);
	} else if (t->fd_dirfd < 0) {
		unreadable(t, s, PART_WCHAN, t->fd_err);
	}
}

static void read_fds(struct target *t, struct sample *s)
{
	struct stat st;

	if (fstatat(t->data_dirfd, "fd", &st, 0) == 0 && (st.st_size > 0 || t->fd_count_works))
		s->fd_count = st.st_size;

	if (t->fd_dirfd < 0) {
		sample_set_unreadable(s, PART_FDS, t->fd_err, "%s", t->fd_why);
		sample_set_unreadable(s, PART_SOCKETS, t->fd_err, "%s", t->fd_why);
		return;
	}
	bool changed = s->fd_count == SAMPLE_UNREAD || s->fd_count != t->fds_count_at_scan;
	if (!t->fds || changed || t->tick - t->fds_tick >= (unsigned long)t->opt.full_every) {
		struct fd_table *tab;
		int rc = fds_scan(t->fd_dirfd, t->sock, t->fds, &tab);
		if (rc < 0) {
			unreadable(t, s, PART_FDS, rc);
			unreadable(t, s, PART_SOCKETS, rc);
			return;
		}
		/* Kernels before 6.2 report size 0 for fd/: then the scan is the count. */
		if (!t->fds && s->fd_count == (int64_t)tab->count && tab->count > 0)
			t->fd_count_works = true;
		fd_table_unref(t->fds);
		t->fds = tab;
		t->fds_tick = t->tick;
		t->fds_count_at_scan = s->fd_count == SAMPLE_UNREAD ? -1 : (long)s->fd_count;
	}
	if (s->fd_count == SAMPLE_UNREAD || !t->fd_count_works)
		s->fd_count = (int64_t)t->fds->count;
	s->fds = fd_table_ref(t->fds);
	if (t->fds->sock_err && t->fds->by_kind[FD_SOCKET])
		sample_set_unreadable(s, PART_SOCKETS, t->fds->sock_err, "socket details: %s",
				      t->fds->sock_note[0] ? t->fds->sock_note : strerror(-t->fds->sock_err));
}

static void read_rollup(struct target *t, struct sample *s)
{
	struct proc_rollup r;

	if (due(t, t->opt.rollup_every, 1)) {
		int fd = keep_open(t, &t->rollup_fd, "smaps_rollup");
		ssize_t n = fd < 0 ? fd : util_pread_all(fd, &t->buf, &t->cap);
		if (n < 0) {
			t->pss_err = (int)n;
			if (fd >= 0)
				close(fd);
			t->rollup_fd = -1;
		} else if (n == 0 || procparse_smaps_rollup(t->buf, &r) < 0 || r.pss_kb == SAMPLE_UNREAD) {
			t->pss_err = -ENODATA;  /* empty for kernel threads and zombies */
		} else {
			t->pss_err = 0;
			t->pss_kb = r.pss_kb;
		}
	}
	if (t->pss_err)
		unreadable(t, s, PART_PSS, t->pss_err);
	else
		s->mem.pss_kb = t->pss_kb;
}

static void take_maps(struct target *t, struct map_entry *list, size_t count)
{
	t->mappings = (int64_t)count;
	t->heap_kb = 0;
	for (size_t i = 0; i < count; i++)
		if (list[i].path && strcmp(list[i].path, "[heap]") == 0)
			t->heap_kb += (int64_t)((list[i].end - list[i].start) / 1024);
}

static void read_maps(struct target *t, struct sample *s)
{
	struct map_entry *list;
	size_t count;

	if (due(t, t->opt.smaps_every, 4)) {
		ssize_t n = util_read_at(t->data_dirfd, "smaps", &t->buf, &t->cap);
		t->maps_err = n < 0 ? (int)n : procparse_smaps(t->buf, &list, &count);
		if (!t->maps_err) {
			take_maps(t, list, count);
			struct map_table *mt = xcalloc(1, sizeof(*mt));
			mt->refs = 1;
			mt->scanned_at = s->time;
			mt->list = list;
			mt->count = count;
			map_table_unref(t->maps);
			t->maps = mt;
		}
	} else if (due(t, t->opt.maps_every, 2)) {
		int fd = keep_open(t, &t->maps_fd, "maps");
		ssize_t n = fd < 0 ? fd : util_pread_all(fd, &t->buf, &t->cap);
		t->maps_err = n < 0 ? (int)n : procparse_maps_summary(t->buf, &t->mappings, &t->heap_kb);
	}
	if (t->maps_err) {
		unreadable(t, s, PART_MAPS, t->maps_err);
		unreadable(t, s, PART_HEAP, t->maps_err);
		if (t->opt.smaps_every)
			unreadable(t, s, PART_SMAPS, t->maps_err);
		return;
	}
	if (t->kernel_thread) {
		/* No user address space: its empty maps are no mapping count. */
		unreadable(t, s, PART_MAPS, -ENODATA);
		unreadable(t, s, PART_HEAP, -ENODATA);
		if (t->opt.smaps_every)
			unreadable(t, s, PART_SMAPS, -ENODATA);
		return;
	}
	s->mem.mappings = t->mappings;
	s->maps = map_table_ref(t->maps);

	int64_t kb;
	if (t->procmap_query_ok && query_heap(t, t->start_brk, &kb) == 0)
		t->heap_kb = kb;
	s->mem.heap_kb = t->heap_kb;
}

/* Whether the thread the process is read through has begun to exit (or is
 * gone), read after everything else. */
static bool exiting_now(struct target *t)
{
	struct proc_stat st;
	ssize_t n = t->data_dirfd == t->proc_dirfd ? util_pread_all(t->stat_fd, &t->buf, &t->cap)
						    : util_read_at(t->data_dirfd, "stat", &t->buf, &t->cap);
	if (n <= 0 || procparse_stat(t->buf, &st) < 0)
		return true;
	return (st.flags & PF_EXITING_FLAG) || st.state == 'Z' || st.state == 'X';
}

/* A process that exits drops its mappings, then its fds, some time before
 * it shows as a zombie: tearing down a large address space takes tens of
 * ms.  What was read in that window is not the process's, and a zombie has
 * no address space: either way, say so rather than show zero mappings and
 * heap (a zombie's zero fds are true, and kept).  Only a sample that read
 * the signs of that window (no memory, no mapping, no fd) costs another
 * read of stat. */
static void distrust_exit(struct target *t, struct sample *s)
{
	bool zombie = s->id.zombie;
	bool torn_signs = s->part_err[PART_MEMORY] == -ENODATA || s->mem.mappings == 0 ||
			  s->fd_count == 0;
	if (!zombie && !(torn_signs && exiting_now(t)))
		return;
	enum sample_part parts[] = { PART_MAPS, PART_HEAP, PART_SMAPS, PART_PSS,
				     PART_FDS, PART_SOCKETS };
	size_t nparts = zombie ? 3 : sizeof(parts) / sizeof(parts[0]);
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i] == PART_SMAPS && !t->opt.smaps_every)
			continue;
		if (zombie)
			unreadable(t, s, parts[i], -ESRCH);
		else if (t->data_tid != t->pid)
			sample_set_unreadable(s, parts[i], -ESRCH,
					      "exiting: thread %d, read through, was exiting",
					      (int)t->data_tid);
		else
			sample_set_unreadable(s, parts[i], -ESRCH,
					      "exiting: read while the process was exiting");
	}
	s->mem.mappings = s->mem.heap_kb = SAMPLE_UNREAD;
	map_table_unref(s->maps);
	s->maps = NULL;
	if (zombie)
		return;
	s->mem.pss_kb = SAMPLE_UNREAD;
	s->fd_count = SAMPLE_UNREAD;
	fd_table_unref(s->fds);
	s->fds = NULL;
}

/* Native stacks stop threads, so only when asked for and never with
 * --no-ptrace. */
static void read_stacks(struct target *t, struct sample *s)
{
	char err[160];

	if (!t->opt.stacks || t->opt.no_ptrace)
		return;
	if (t->kernel_thread) {
		sample_set_unreadable(s, PART_STACKS, -EINVAL, "kernel thread: no user stack");
		return;
	}
	int rc = t->stacks ? 0 : stacks_open(t->pid, &t->stacks, err, sizeof(err));
	if (rc == 0)
		rc = stacks_capture(t->stacks, t->opt.consistent,
				    sample_readable(s, PART_THREADS) ? &s->threads : NULL,
				    &s->stacks, err, sizeof(err));
	if (rc < 0) {
		sample_set_unreadable(s, PART_STACKS, rc, "%s", err);
		return;
	}
	if (!t->stacks_first)
		t->stacks_first = stack_snapshot_ref(s->stacks);
	stack_snapshot_unref(t->stacks_last);
	t->stacks_last = stack_snapshot_ref(s->stacks);
	s->stacks_since_mark = t->stacks_mark != NULL;
	s->stacks_base = stack_snapshot_ref(t->stacks_mark ? t->stacks_mark : t->stacks_first);
}

void target_mark_stacks(struct target *t, bool on)
{
	stack_snapshot_unref(t->stacks_mark);
	t->stacks_mark = on ? stack_snapshot_ref(t->stacks_last) : NULL;
}

size_t target_poll_stacks(struct target *t)
{
	return t->stacks ? stacks_poll(t->stacks) : 0;
}

int target_sample(struct target *t, struct sample *s)
{
	double cpu0 = util_thread_cpu();
	double now = util_now_real(), mono = util_now_mono();

	sample_init(s);
	s->time = now;
	s->mono = mono;
	if (t->exited || read_identity(t, s) < 0) {
		sample_free(s);
		sample_init(s);
		s->time = now;
		s->mono = mono;
		mark_exited(t, s);
		return 0;
	}
	if (!t->opt.stacks_only) {
		read_names(t, s, due(t, t->opt.full_every, 0));
		read_threads(t, s);
		read_fds(t, s);
		read_rollup(t, s);
		read_maps(t, s);
		distrust_exit(t, s);
	}
	read_stacks(t, s);
	t->tick++;
	t->reread = false;
	s->cost_ms = (util_thread_cpu() - cpu0) * 1000.0;
	return 0;
}
