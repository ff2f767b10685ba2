#include "stacks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "perm.h"
#include "procparse.h"
#include "sample.h"
#include "symbols.h"
#include "unwind_remote.h"
#include "util.h"

/* How long one thread may take to reach its stop after PTRACE_INTERRUPT.
 * A thread in an uninterruptible wait (a vfork parent, a stuck NFS read)
 * stops only when that wait ends. */
#define STOP_DEADLINE_NS 1000000000ULL

/* A waited-for thread: polled without blocking, yielding the CPU at first
 * (a stop takes 8-80 µs) and then sleeping longer and longer. */
#define SPIN_NS 200000ULL
#define MAX_SLEEP_NS 1000000ULL

struct stacks_ctx {
	pid_t pid;
	int proc_dirfd;
	/* Whose maps and memory are read: the process's, or once its main
	 * thread has exited with others running on, a thread that runs (the
	 * exited leader has neither). */
	pid_t data_tid;
	int data_dirfd;
	uid_t uid;                   /* the target's, for perm_explain */
	struct perm_context perm;
	struct unwind_remote *uw;
	struct symbols *sym;         /* NULL when it could not be opened */
	bool synced;                 /* the maps were read once */

	/* Threads we seized that did not stop in time: still ours, released
	 * as soon as they stop (they cannot be detached while running). */
	pid_t *stragglers;
	size_t nstragglers;

	uint64_t pcs[STACKS_MAX_FRAMES];   /* one unwind's, before they are copied */

	char *buf;
	size_t cap;
};

/* A thread during one capture. */
enum work_state { W_LISTED, W_SEIZED, W_STOPPED, W_DONE };

struct work {
	pid_t tid;
	char name[64];               /* raw comm, read before the capture */
	enum work_state state;
	int err;
	char why[128];
	int sig;                     /* signal to hand back on detach */
	uint64_t t_interrupt, stop_ns;
	struct unwind_grab grab;     /* taken while stopped, unwound after */
	size_t npcs;
	uint64_t *pcs;               /* npcs of them; a work array stays small */
};

/* Owns the strings of one snapshot: an open-addressing set, so that each
 * distinct name is stored once however many frames use it. */
struct stacks_pool {
	char **slots;
	size_t used, cap;            /* cap: a power of two */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;   /* FNV-1a */
	return (h ^ 0xff) * 0x100000001b3ULL;                 /* end marker */
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ULL;
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ULL

/* ------------------------------------------------------------ string pool */

static const char *pool_intern(struct stacks_pool *p, const char *s)
{
	if (!s)
		return NULL;
	if (2 * (p->used + 1) > p->cap) {
		size_t ncap = p->cap ? 2 * p->cap : 64;
		char **ns = xcalloc(ncap, sizeof(*ns));
		for (size_t i = 0; i < p->cap; i++) {
			if (!p->slots[i])
				continue;
			size_t j = hash_str(HASH_SEED, p->slots[i]) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = p->slots[i];
		}
		free(p->slots);
		p->slots = ns;
		p->cap = ncap;
	}
	size_t j = hash_str(HASH_SEED, s) & (p->cap - 1);
	for (; p->slots[j]; j = (j + 1) & (p->cap - 1))
		if (!strcmp(p->slots[j], s))
			return p->slots[j];
	p->slots[j] = xstrdup(s);
	p->used++;
	return p->slots[j];
}

static void pool_free(struct stacks_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->cap; i++)
		free(p->slots[i]);
	free(p->slots);
	free(p);
}

/* ------------------------------------------------------------ snapshots */

struct stack_snapshot *stack_snapshot_ref(struct stack_snapshot *s)
{
	if (s)
		s->refs++;
	return s;
}

void stack_snapshot_unref(struct stack_snapshot *s)
{
	if (!s || --s->refs > 0)
		return;
	for (size_t i = 0; i < s->nthreads; i++)
		free(s->threads[i].frames);
	for (size_t i = 0; i < s->ngroups; i++)
		free(s->groups[i].tids);
	free(s->threads);
	free(s->groups);
	pool_free(s->pool);
	free(s);
}

/* ------------------------------------------------------------ /proc */

/* "Name:\tvalue" of a status file, copied into out; false if absent. */
static bool status_field(const char *status, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) || p[klen] != ':')
			continue;
		p += klen + 1;
		p += strspn(p, " \t");
		size_t n = strcspn(p, "\n");
		if (n >= size)
			n = size - 1;
		memcpy(out, p, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* The tracer of a process or thread ("status" relative to dir), 0 if none. */
static pid_t tracer_of(struct stacks_ctx *c, const char *status_path)
{
	char val[32];
	if (util_read_at(c->proc_dirfd, status_path, &c->buf, &c->cap) < 0 ||
	    !status_field(c->buf, "TracerPid", val, sizeof(val)))
		return 0;
	return (pid_t)atoi(val);
}

/* "already traced by gdb (pid 1234)" */
static void explain_tracer(struct stacks_ctx *c, pid_t tracer, char *out, size_t size)
{
	char path[64], comm[64] = "?";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)tracer);
	if (util_read_at(AT_FDCWD, path, &c->buf, &c->cap) > 0) {
		size_t n = strcspn(c->buf, "\n");
		snprintf(comm, sizeof(comm), "%.*s", (int)n, c->buf);
	}
	snprintf(out, size, "already traced by %s (pid %d)", comm, (int)tracer);
}

/* The state letter of one task, '?' if unreadable; *threads gets the
 * process's thread count when not NULL. */
static char task_state(struct stacks_ctx *c, const char *stat_path, long *threads)
{
	struct proc_stat st;
	if (util_read_at(c->proc_dirfd, stat_path, &c->buf, &c->cap) < 0 ||
	    procparse_stat(c->buf, &st) < 0)
		return '?';
	if (threads)
		*threads = (long)st.num_threads;
	return st.state;
}

/* "Z" alone is not enough: a process whose main thread called
 * pthread_exit shows Z while its other threads run on.  *leader_gone says
 * that this is the case. */
static bool process_is_zombie(struct stacks_ctx *c, bool *gone, bool *leader_gone)
{
	long threads = 0;
	char st = task_state(c, "stat", &threads);
	*gone = st == '?' || st == 'X';
	*leader_gone = st == 'Z' && threads > 1;
	return st == 'Z' && threads <= 1;
}

/* (Re)open the unwinder and the symbols on data_tid's view of the process. */
static int open_readers(struct stacks_ctx *c, char *err, size_t errlen)
{
	unwind_remote_close(c->uw);
	c->uw = NULL;
	if (c->sym)
		symbols_close(c->sym);
	c->sym = NULL;
	c->synced = false;
	int rc = unwind_remote_open(c->data_tid, c->data_dirfd, &c->uw, err, errlen);
	if (rc < 0)
		return rc;
	/* Without symbols the stacks still have their PCs. */
	char serr[160];
	if (symbols_open(c->data_tid, &c->sym, serr, sizeof(serr)) < 0)
		c->sym = NULL;
	return 0;
}

/* The main thread exited and others run on: read the process through one
 * of them, unless the one used so far still runs. */
static void follow_live_thread(struct stacks_ctx *c)
{
	if (c->data_tid != c->pid) {
		char st = util_task_state(c->data_dirfd);
		if (st && st != 'Z' && st != 'X')
			return;
	}
	pid_t tid;
	int fd = util_open_live_task(c->proc_dirfd, c->pid, &tid);
	if (fd < 0)
		return;
	if (c->data_dirfd != c->proc_dirfd)
		close(c->data_dirfd);
	c->data_dirfd = fd;
	c->data_tid = tid;
	char err[160];
	open_readers(c, err, sizeof(err));
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* The threads listed in /proc/PID/task now, sorted. */
static int list_tasks(struct stacks_ctx *c, pid_t **out, size_t *n)
{
	int fd = openat(c->proc_dirfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	size_t cap = 16;
	pid_t *tids = xmalloc(cap * sizeof(*tids));
	*n = 0;
	errno = 0;
	for (struct dirent *de; (de = readdir(d));) {
		int tid = atoi(de->d_name);
		if (tid <= 0)
			continue;
		if (*n == cap)
			tids = xrealloc(tids, (cap *= 2) * sizeof(*tids));
		tids[(*n)++] = tid;
	}
	closedir(d);
	qsort(tids, *n, sizeof(*tids), cmp_pid);
	*out = tids;
	return 0;
}

static int cmp_sample_thread(const void *a, const void *b)
{
	pid_t x = ((const struct sample_thread *)a)->tid, y = ((const struct sample_thread *)b)->tid;
	return (x > y) - (x < y);
}

/* comm is made in one piece, at most 16 bytes: one read() has it all, where
 * reading to the end would take a second call, 1,000 of them at 1,000
 * threads. */
static void read_thread_name(struct stacks_ctx *c, pid_t tid, char *out, size_t size)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "task/%d/comm", (int)tid);
	out[0] = '\0';
	int fd = openat(c->proc_dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0)
		snprintf(out, size, "%.*s", (int)n, buf);
}

/* ------------------------------------------------------------ ptrace */

static void work_fail(struct work *w, int err, const char *why)
{
	w->state = W_DONE;
	w->err = err;
	snprintf(w->why, sizeof(w->why), "%s", why);
}

/* Why PTRACE_SEIZE failed with EPERM for this thread. */
static void explain_seize(struct stacks_ctx *c, struct work *w)
{
	char path[64];
	snprintf(path, sizeof(path), "task/%d/status", (int)w->tid);
	pid_t tracer = tracer_of(c, path);
	if (tracer > 0) {
		explain_tracer(c, tracer, w->why, sizeof(w->why));
		w->err = -EBUSY;
		return;
	}
	snprintf(path, sizeof(path), "task/%d/stat", (int)w->tid);
	char st = task_state(c, path, NULL);
	if (st == 'Z' || st == 'X' || st == '?') {
		snprintf(w->why, sizeof(w->why), "%s", st == 'Z' ? "exited (a zombie thread)"
							   : "exited before it could be stopped");
		w->err = -ESRCH;
		return;
	}
	perm_explain(&c->perm, c->pid, c->uid, -EPERM, true, w->why, sizeof(w->why));
	w->err = -EPERM;
}

/* PTRACE_SEIZE (never ATTACH: if pscope dies, the kernel resumes a seized
 * thread) and PTRACE_INTERRUPT. */
static void work_seize(struct stacks_ctx *c, struct work *w)
{
	if (ptrace(PTRACE_SEIZE, w->tid, NULL, NULL) < 0) {
		w->state = W_DONE;
		if (errno == EPERM) {
			explain_seize(c, w);
		} else {
			w->err = -errno;
			snprintf(w->why, sizeof(w->why), "%s",
				 errno == ESRCH ? "exited before it could be stopped"
						: strerror(errno));
		}
		return;
	}
	w->state = W_SEIZED;
	w->t_interrupt = now_ns();
	/* If this fails the thread is exiting: the wait reports (and reaps) it. */
	ptrace(PTRACE_INTERRUPT, w->tid, NULL, NULL);
}

/* One non-blocking look at a seized thread.  Returns true when it has
 * stopped or is gone (w->state says which). */
static bool work_poll(struct work *w)
{
	int st;
	pid_t r = waitpid(w->tid, &st, __WALL | WNOHANG);   /* __WALL: non-leader threads */

	if (r == 0 || (r < 0 && errno == EINTR))
		return false;
	if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
		work_fail(w, -ESRCH, "exited while being stopped");
		return true;
	}
	if (!WIFSTOPPED(st))
		return false;
	/* A stop with no event in the high bits is a signal-delivery-stop:
	 * the signal must go back on detach or the target loses it.  The
	 * interrupt's own stop (and a group-stop) is PTRACE_EVENT_STOP. */
	if ((st >> 16) == 0)
		w->sig = WSTOPSIG(st);
	w->state = W_STOPPED;
	return true;
}

static void backoff(uint64_t waited_ns)
{
	if (waited_ns < SPIN_NS) {
		sched_yield();
		return;
	}
	uint64_t ns = waited_ns / 8;
	if (ns > MAX_SLEEP_NS)
		ns = MAX_SLEEP_NS;
	struct timespec ts = { 0, (long)ns };
	nanosleep(&ts, NULL);
}

static void remember_straggler(struct stacks_ctx *c, struct work *w)
{
	c->stragglers = xrealloc(c->stragglers, (c->nstragglers + 1) * sizeof(pid_t));
	c->stragglers[c->nstragglers++] = w->tid;
	work_fail(w, -ETIMEDOUT, "did not stop in time (uninterruptible wait?)");
}

/* Wait for every seized thread in ws[0..n) until it stops or deadline. */
static void work_wait(struct stacks_ctx *c, struct work *ws, size_t n, uint64_t deadline)
{
	uint64_t start = now_ns();
	for (;;) {
		bool pending = false;
		for (size_t i = 0; i < n; i++)
			if (ws[i].state == W_SEIZED && !work_poll(&ws[i]))
				pending = true;
		if (!pending)
			return;
		uint64_t now = now_ns();
		if (now >= deadline)
			break;
		backoff(now - start);
	}
	for (size_t i = 0; i < n; i++)
		if (ws[i].state == W_SEIZED)
			remember_straggler(c, &ws[i]);
}

static void work_detach(struct work *w)
{
	/* Fails only if the thread was killed meanwhile: nothing to undo. */
	ptrace(PTRACE_DETACH, w->tid, NULL, (void *)(long)w->sig);
	w->stop_ns = now_ns() - w->t_interrupt;
	w->state = W_DONE;
}

/* While the thread is stopped: its registers and the top of its stack. */
static void work_grab(struct stacks_ctx *c, struct work *w)
{
	int rc = unwind_remote_grab(c->uw, w->tid, &w->grab);
	if (rc < 0) {
		w->err = rc;
		snprintf(w->why, sizeof(w->why), "registers unreadable: %s", strerror(-rc));
	}
}

/* Once it runs again: the unwind, from the grab. */
static void work_unwind(struct stacks_ctx *c, struct work *w)
{
	if (w->err == 0) {
		w->npcs = unwind_remote_frames(c->uw, w->tid, &w->grab, c->pcs, STACKS_MAX_FRAMES);
		w->pcs = xmalloc(w->npcs * sizeof(*w->pcs));
		memcpy(w->pcs, c->pcs, w->npcs * sizeof(*w->pcs));
	}
	unwind_grab_release(&w->grab);
}

/* Release the stragglers of earlier captures that have stopped since. */
static void release_stragglers(struct stacks_ctx *c)
{
	size_t keep = 0;
	for (size_t i = 0; i < c->nstragglers; i++) {
		struct work w = { .tid = c->stragglers[i], .state = W_SEIZED };
		if (!work_poll(&w))
			c->stragglers[keep++] = w.tid;
		else if (w.state == W_STOPPED)
			ptrace(PTRACE_DETACH, w.tid, NULL, (void *)(long)w.sig);
	}
	c->nstragglers = keep;
}

/* Permission is per process: once denied, the other threads would only be
 * denied too, each costing reads of /proc to explain. */
static bool deny_rest(struct work *ws, size_t i, size_t n)
{
	if (ws[i].err != -EPERM)
		return false;
	for (size_t k = i + 1; k < n; k++)
		work_fail(&ws[k], ws[i].err, ws[i].why);
	return true;
}

size_t stacks_poll(struct stacks_ctx *c)
{
	if (c->nstragglers)
		release_stragglers(c);
	return c->nstragglers;
}

/* Default mode: each thread is stopped, unwound and resumed alone. */
static void capture_one_by_one(struct stacks_ctx *c, struct work *ws, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct work *w = &ws[i];
		if (w->state == W_DONE)
			continue;
		unwind_remote_grab_prepare(c->uw, w->tid, &w->grab, NULL);
		work_seize(c, w);
		if (deny_rest(ws, i, n))
			break;
		if (w->state != W_SEIZED)
			continue;
		work_wait(c, w, 1, w->t_interrupt + STOP_DEADLINE_NS);
		if (w->state != W_STOPPED)
			continue;
		work_grab(c, w);
		work_detach(w);
		work_unwind(c, w);
	}
}

/* Consistent mode: stop all, grab all, resume all, then unwind.  Every
 * grab is held at once, in one mapping populated in a single call: 1,000
 * threads seen for the first time want 32 MiB, which page by page cost
 * 8,000 faults (about 100 ms here) before the first stop. */
static void capture_all_at_once(struct stacks_ctx *c, struct work *ws, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		if (ws[i].state != W_DONE)
			total += unwind_remote_grab_want(c->uw, ws[i].tid);
	unsigned char *arena = total ? mmap(NULL, total, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
				     : MAP_FAILED;
	for (size_t i = 0, off = 0; i < n; i++) {
		if (ws[i].state == W_DONE)
			continue;
		unsigned char *buf = arena != MAP_FAILED ? arena + off : NULL;
		unwind_remote_grab_prepare(c->uw, ws[i].tid, &ws[i].grab, buf);
		off += ws[i].grab.len;
	}
	for (size_t i = 0; i < n; i++) {
		if (ws[i].state == W_DONE)
			continue;
		work_seize(c, &ws[i]);
		if (deny_rest(ws, i, n))
			break;
	}
	work_wait(c, ws, n, now_ns() + STOP_DEADLINE_NS);
	for (size_t i = 0; i < n; i++)
		if (ws[i].state == W_STOPPED)
			work_grab(c, &ws[i]);
	for (size_t i = 0; i < n; i++)
		if (ws[i].state == W_STOPPED)
			work_detach(&ws[i]);
	/* Only threads grabbed without error are left with err 0. */
	for (size_t i = 0; i < n; i++)
		if (ws[i].err == 0)
			work_unwind(c, &ws[i]);
	for (size_t i = 0; i < n; i++)
		unwind_grab_release(&ws[i].grab);
	if (arena != MAP_FAILED)
		munmap(arena, total);
}

/* ------------------------------------------------------------ building */

static void frame_symbolize(struct stacks_ctx *c, struct stacks_pool *pool,
			    struct stack_frame *f, bool return_address)
{
	struct symbol_info si;
	if (!c->sym || !symbols_lookup(c->sym, f->pc, return_address, &si))
		return;
	f->func = pool_intern(pool, si.func);
	f->offset = si.offset;
	f->module = pool_intern(pool, si.module);
	f->file = pool_intern(pool, si.file);
	f->line = si.line;
}

static int cmp_by_pcs_r(const void *a, const void *b, void *arg)
{
	const struct stack_thread *th = arg;
	const struct stack_thread *x = &th[*(const size_t *)a], *y = &th[*(const size_t *)b];
	if (x->nframes != y->nframes)
		return x->nframes < y->nframes ? -1 : 1;
	for (size_t i = 0; i < x->nframes; i++)
		if (x->frames[i].pc != y->frames[i].pc)
			return x->frames[i].pc < y->frames[i].pc ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_groups(const void *a, const void *b)
{
	const struct stack_group *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return (x->tids[0] > y->tids[0]) - (x->tids[0] < y->tids[0]);
}

static bool same_pcs(const struct stack_thread *x, const struct stack_thread *y)
{
	if (x->nframes != y->nframes)
		return false;
	for (size_t i = 0; i < x->nframes; i++)
		if (x->frames[i].pc != y->frames[i].pc)
			return false;
	return true;
}

static void snapshot_group(struct stack_snapshot *s)
{
	size_t *idx = xmalloc((s->nthreads + 1) * sizeof(*idx));
	size_t n = 0;
	for (size_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].nframes)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_by_pcs_r, s->threads);

	s->groups = xcalloc(n + 1, sizeof(*s->groups));
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && same_pcs(&s->threads[idx[i]], &s->threads[idx[j]]))
			j++;
		struct stack_group *g = &s->groups[s->ngroups++];
		const struct stack_thread *rep = &s->threads[idx[i]];
		g->count = j - i;
		g->rep = idx[i];
		g->tids = xmalloc(g->count * sizeof(pid_t));
		g->hash = HASH_SEED;
		for (size_t k = 0; k < rep->nframes; k++)
			g->hash = hash_u64(g->hash, rep->frames[k].pc);
		for (size_t k = i; k < j; k++)
			g->tids[k - i] = s->threads[idx[k]].tid;   /* ascending: sorted by tid last */
		i = j;
	}
	qsort(s->groups, s->ngroups, sizeof(*s->groups), cmp_groups);
	/* threads are sorted by tid, and tid is their first member. */
	for (size_t gi = 0; gi < s->ngroups; gi++) {
		const struct stack_group *g = &s->groups[gi];
		for (size_t k = 0; k < g->count; k++) {
			struct stack_thread *t = bsearch(&g->tids[k], s->threads, s->nthreads,
							 sizeof(*s->threads), cmp_pid);
			if (t)
				t->group = (int)gi;
		}
	}
	free(idx);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static struct stack_snapshot *snapshot_build(struct stacks_ctx *c, struct work *ws, size_t n)
{
	struct stack_snapshot *s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->pool = xcalloc(1, sizeof(*s->pool));
	s->nthreads = n;
	s->threads = xcalloc(n + 1, sizeof(*s->threads));
	double *stops = xmalloc((n + 1) * sizeof(*stops));
	size_t nstops = 0;

	for (size_t i = 0; i < n; i++) {
		const struct work *w = &ws[i];
		struct stack_thread *t = &s->threads[i];
		t->tid = w->tid;
		t->group = -1;
		t->err = w->err;
		snprintf(t->why, sizeof(t->why), "%s", w->why);
		memcpy(t->name, w->name, sizeof(t->name));
		t->stop_ns = w->stop_ns;
		if (w->stop_ns)
			stops[nstops++] = (double)w->stop_ns / 1e3;
		if (w->sig) {
			s->signals_redelivered++;
			if (!t->err)
				snprintf(t->why, sizeof(t->why), "signal %d handed back", w->sig);
		}
		if (w->err == -ESRCH)
			s->exited++;
		else if (w->err == -ETIMEDOUT)
			s->not_stopped++;
		else if (w->err)
			s->failed++;
		if (w->err || !w->npcs)
			continue;
		t->nframes = w->npcs;
		t->frames = xcalloc(w->npcs, sizeof(*t->frames));
		for (size_t k = 0; k < w->npcs; k++) {
			t->frames[k].pc = w->pcs[k];
			frame_symbolize(c, s->pool, &t->frames[k], k > 0);
		}
	}
	if (nstops) {
		qsort(stops, nstops, sizeof(*stops), cmp_double);
		s->stop_us_median = nstops % 2 ? stops[nstops / 2]
					       : (stops[nstops / 2 - 1] + stops[nstops / 2]) / 2;
		s->stop_us_max = stops[nstops - 1];
	}
	free(stops);
	snapshot_group(s);
	return s;
}

/* ------------------------------------------------------------ the API */

int stacks_open(pid_t pid, struct stacks_ctx **out, char *err, size_t errlen)
{
	char path[64];

	if (pid == getpid()) {
		/* ptrace refuses threads of the tracer's own process. */
		snprintf(err, errlen, "pscope cannot stop its own threads");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s", e == ENOENT ? "no such process" : strerror(e));
		return e == ENOENT ? -ESRCH : -e;
	}
	struct stacks_ctx *c = xcalloc(1, sizeof(*c));
	c->pid = c->data_tid = pid;
	c->proc_dirfd = c->data_dirfd = dirfd;
	perm_probe(&c->perm);
	char val[64];
	if (util_read_at(dirfd, "status", &c->buf, &c->cap) >= 0 &&
	    status_field(c->buf, "Uid", val, sizeof(val)))
		c->uid = (uid_t)strtoul(val, NULL, 10);
	bool gone, leader_gone;
	if (process_is_zombie(c, &gone, &leader_gone) || gone) {
		snprintf(err, errlen, "%s", gone ? "no such process"
			 : "zombie: exited, waiting for its parent to reap it");
		stacks_close(c);
		return -ESRCH;
	}
	if (leader_gone)
		follow_live_thread(c);
	int rc = c->uw ? 0 : open_readers(c, err, errlen);
	if (rc < 0) {
		stacks_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void stacks_close(struct stacks_ctx *c)
{
	if (!c)
		return;
	/* A straggler still running cannot be detached; it is released when
	 * it stops, or by the kernel when this thread of pscope exits. */
	if (c->nstragglers) {
		uint64_t deadline = now_ns() + STOP_DEADLINE_NS / 10;
		while (c->nstragglers && now_ns() < deadline) {
			release_stragglers(c);
			backoff(SPIN_NS);
		}
	}
	if (c->sym)
		symbols_close(c->sym);
	unwind_remote_close(c->uw);
	if (c->data_dirfd != c->proc_dirfd)
		close(c->data_dirfd);
	if (c->proc_dirfd >= 0)
		close(c->proc_dirfd);
	free(c->stragglers);
	free(c->buf);
	free(c);
}

/* Also the grabs of threads that were never unwound (they failed). */
static void works_free(struct work *ws, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ws[i].pcs);
		unwind_grab_release(&ws[i].grab);
	}
	free(ws);
}

/* The whole capture failed: say why with the first thread's reason. */
static int capture_error(struct work *ws, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (ws[i].err == -EBUSY || ws[i].err == -EPERM) {
			snprintf(err, errlen, "%s", ws[i].why);
			return ws[i].err;
		}
	}
	snprintf(err, errlen, "process exited during the capture");
	return -ESRCH;
}

void stacks_prepare(struct stacks_ctx *c)
{
	symbols_warm_begin(c->sym);
}

/* A thread's name from the caller's list, else from /proc. */
static void name_thread(struct stacks_ctx *c, const struct sample_threads *known, pid_t tid,
			char *out, size_t size)
{
	if (known && known->count) {
		struct sample_thread key = { .tid = tid };
		const struct sample_thread *t = bsearch(&key, known->list, known->count,
							sizeof(*known->list), cmp_sample_thread);
		if (t) {
			snprintf(out, size, "%s", t->name);
			return;
		}
	}
	read_thread_name(c, tid, out, size);
}

int stacks_capture(struct stacks_ctx *c, bool consistent, const struct sample_threads *known,
		   struct stack_snapshot **out, char *err, size_t errlen)
{
	/* What comes before the first stop runs while the symbols are still
	 * warming (stacks_prepare), on the other CPU. */
	double t0 = util_now_mono(), captured_at = util_now_real();

	release_stragglers(c);
	bool gone, leader_gone;
	if (process_is_zombie(c, &gone, &leader_gone) || gone) {
		snprintf(err, errlen, "%s", gone ? "process exited"
			 : "zombie: exited, waiting for its parent to reap it");
		return -ESRCH;
	}
	if (leader_gone)
		follow_live_thread(c);
	if (!c->uw) {
		snprintf(err, errlen, "no thread left to read the process through");
		return -ESRCH;
	}
	/* A straggler of ours would show our own thread as its tracer. */
	pid_t tracer = tracer_of(c, "status");
	if (tracer > 0 && tracer != getpid() && tracer != gettid()) {
		explain_tracer(c, tracer, err, errlen);
		return -EBUSY;
	}
	int rc = unwind_remote_sync(c->uw);
	if (rc == -EACCES || rc == -EPERM) {
		/* maps needs the same access as ptrace: explain it once here. */
		perm_explain(&c->perm, c->pid, c->uid, rc, true, err, errlen);
		return -EPERM;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot read the mappings: %s", strerror(-rc));
		return rc;
	}
	/* The first sync only reads what symbols_open already saw. */
	if (rc > 0 && c->synced && c->sym) {
		symbols_warm_end(c->sym);
		symbols_refresh(c->sym);
	}
	c->synced = true;

	pid_t *tids = NULL;
	size_t n = 0;
	rc = list_tasks(c, &tids, &n);
	if (rc < 0) {
		snprintf(err, errlen, "cannot list threads: %s",
			 rc == -ESRCH || rc == -ENOENT ? "process exited" : strerror(-rc));
		return rc == -ENOENT ? -ESRCH : rc;
	}
	struct work *ws = xcalloc(n + 1, sizeof(*ws));
	for (size_t i = 0; i < n; i++) {
		ws[i].tid = tids[i];
		name_thread(c, known, tids[i], ws[i].name, sizeof(ws[i].name));
		/* Still ours from an earlier capture: seizing it again would fail. */
		for (size_t k = 0; k < c->nstragglers; k++)
			if (c->stragglers[k] == tids[i])
				work_fail(&ws[i], -ETIMEDOUT,
					  "did not stop in time (since an earlier capture)");
	}
	free(tids);

	symbols_warm_end(c->sym);
	if (consistent)
		capture_all_at_once(c, ws, n);
	else
		capture_one_by_one(c, ws, n);

	size_t ok = 0;
	for (size_t i = 0; i < n; i++)
		ok += ws[i].err == 0;
	if (ok == 0) {
		rc = capture_error(ws, n, err, errlen);
		works_free(ws, n);
		return rc;
	}
	/* Every thread runs again: now the slow part, names. */
	struct stack_snapshot *s = snapshot_build(c, ws, n);
	works_free(ws, n);
	s->captured_at = captured_at;
	s->consistent = consistent;
	s->wall_ms = (util_now_mono() - t0) * 1e3;
	*out = s;
	return 0;
}

/* ------------------------------------------------------------ diff */

/* A group's frames by name: function and module, or the PC where the
 * function is unknown. */
static uint64_t group_key(const struct stack_snapshot *s, const struct stack_group *g)
{
	const struct stack_thread *t = &s->threads[g->rep];
	uint64_t h = HASH_SEED;
	for (size_t i = 0; i < t->nframes; i++) {
		const struct stack_frame *f = &t->frames[i];
		if (f->func)
			h = hash_str(h, f->func);
		else
			h = hash_u64(h, f->pc);
		h = hash_str(h, f->module ? f->module : "");
	}
	return h;
}

static long count_key(const struct stack_snapshot *s, const uint64_t *keys, uint64_t key)
{
	long n = 0;
	for (size_t i = 0; i < s->ngroups; i++)
		if (keys[i] == key)
			n += (long)s->groups[i].count;
	return n;
}

void stacks_diff(const struct stack_snapshot *old, const struct stack_snapshot *cur,
		 struct stack_group_diff *out)
{
	uint64_t *ok = xmalloc((old->ngroups + 1) * sizeof(*ok));
	uint64_t *ck = xmalloc((cur->ngroups + 1) * sizeof(*ck));
	for (size_t i = 0; i < old->ngroups; i++)
		ok[i] = group_key(old, &old->groups[i]);
	for (size_t i = 0; i < cur->ngroups; i++)
		ck[i] = group_key(cur, &cur->groups[i]);
	for (size_t i = 0; i < cur->ngroups; i++) {
		long before = count_key(old, ok, ck[i]);
		out[i].delta = count_key(cur, ck, ck[i]) - before;
		out[i].is_new = before == 0;
	}
	free(ok);
	free(ck);
}
