#include "threads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "procparse.h"
#include "util.h"

struct thread_slot {
	pid_t tid;
	int stat_fd, sched_fd;       /* -1 when not kept open */
	bool have_sched;
	bool no_sched;               /* no schedstat file (kernel without SCHED_INFO) */
	struct proc_schedstat sched;
	uint64_t cpu_ns;             /* at the previous read */
	struct sample_thread last;
};

struct thread_reader {
	clockid_t cpu_clock;         /* the process's CPU clock */
	bool have_clock;
	bool have_cpu;               /* cpu_ns holds the clock at the previous tick */
	uint64_t cpu_ns;
	int task_dirfd;
	DIR *task_dir;
	bool read_wchan;
	bool have_prev;
	double prev_mono;
	long hz;
	size_t open_budget;          /* descriptors we may keep open */
	size_t open_now;
	struct thread_slot *slots;   /* sorted by tid */
	size_t nslots;
	char *buf;
	size_t cap;
};

int threads_open(pid_t pid, int proc_dirfd, bool read_wchan, struct thread_reader **out)
{
	int fd = openat(proc_dirfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *dir = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	if (!dir) {
		int err = -errno;
		if (dupfd >= 0)
			close(dupfd);
		close(fd);
		return err;
	}

	struct thread_reader *r = xcalloc(1, sizeof(*r));
	struct rlimit rl = { 1024, 1024 };
	getrlimit(RLIMIT_NOFILE, &rl);
	/* Half the limit for kept-open thread files leaves room for the fd
	 * scan, sockets and several targets. */
	r->open_budget = rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : rl.rlim_cur / 2;
	r->have_clock = clock_getcpuclockid(pid, &r->cpu_clock) == 0;
	r->task_dirfd = fd;
	r->task_dir = dir;
	r->read_wchan = read_wchan;
	r->hz = sysconf(_SC_CLK_TCK);
	*out = r;
	return 0;
}

static void slot_close(struct thread_reader *r, struct thread_slot *s)
{
	if (s->stat_fd >= 0) {
		close(s->stat_fd);
		r->open_now--;
	}
	if (s->sched_fd >= 0) {
		close(s->sched_fd);
		r->open_now--;
	}
	s->stat_fd = s->sched_fd = -1;
}

void threads_close(struct thread_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nslots; i++)
		slot_close(r, &r->slots[i]);
	free(r->slots);
	closedir(r->task_dir);
	close(r->task_dirfd);
	free(r->buf);
	free(r);
}

static int cmp_tid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

static int list_tids(struct thread_reader *r, pid_t **tids, size_t *n)
{
	size_t cap = r->nslots + 16, k = 0;
	struct dirent *de;

	*tids = xmalloc(cap * sizeof(pid_t));
	rewinddir(r->task_dir);
	errno = 0;
	while ((de = readdir(r->task_dir))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0)
			continue;
		if (k == cap)
			*tids = xrealloc(*tids, (cap *= 2) * sizeof(pid_t));
		(*tids)[k++] = (pid_t)tid;
	}
	if (errno) {
		free(*tids);
		return -errno;
	}
	qsort(*tids, k, sizeof(pid_t), cmp_tid);
	*n = k;
	return 0;
}

/* Read a per-thread file, through its kept-open fd when there is one. */
static ssize_t read_thread_file(struct thread_reader *r, pid_t tid, const char *name, int *keep)
{
	char path[64];

	if (*keep >= 0)
		return util_pread_all(*keep, &r->buf, &r->cap);
	snprintf(path, sizeof(path), "%d/%s", (int)tid, name);
	if (r->open_now + 1 <= r->open_budget) {
		int fd = openat(r->task_dirfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		*keep = fd;
		r->open_now++;
		return util_pread_all(fd, &r->buf, &r->cap);
	}
	return util_read_at(r->task_dirfd, path, &r->buf, &r->cap);
}

/* Re-read a thread's stat, and its status and wchan too when it ran
 * (details) or when stat shows that its state or name changed: a sleeper
 * that did not run keeps its context switches and its wait channel.
 * Returns 0 or a negative errno. */
static int read_full(struct thread_reader *r, struct thread_slot *s, bool details)
{
	struct sample_thread *t = &s->last;
	struct proc_stat st;
	struct proc_status status;
	char path[64];

	ssize_t n = read_thread_file(r, s->tid, "stat", &s->stat_fd);
	if (n < 0)
		return (int)n;
	if (procparse_stat(r->buf, &st) < 0)
		return -ESRCH;   /* cut short: the thread died while we read */
	bool changed = t->state != st.state || strcmp(t->name, st.comm) != 0;
	t->tid = s->tid;
	t->state = st.state;
	snprintf(t->name, sizeof(t->name), "%s", st.comm);
	if (!s->have_sched)
		s->sched.run_ns = (st.utime + st.stime) * (1000000000ull / (uint64_t)r->hz);
	if (!details && !changed)
		return 0;

	t->vol_ctxsw = t->invol_ctxsw = SAMPLE_UNREAD;
	snprintf(path, sizeof(path), "%d/status", (int)s->tid);
	if (util_read_at(r->task_dirfd, path, &r->buf, &r->cap) > 0 &&
	    procparse_status(r->buf, &status) == 0) {
		t->vol_ctxsw = status.vol_ctxsw;
		t->invol_ctxsw = status.invol_ctxsw;
	}

	t->wchan[0] = '\0';
	if (r->read_wchan && (t->state == 'S' || t->state == 'D' || t->state == 'I')) {
		snprintf(path, sizeof(path), "%d/wchan", (int)s->tid);
		if (util_read_at(r->task_dirfd, path, &r->buf, &r->cap) >= 0)
			procparse_wchan(r->buf, t->wchan, sizeof(t->wchan));
	}
	return 0;
}

/* Returns 1 when the thread ran since the last read, 0 when it did not,
 * or a negative errno. */
static int read_sched(struct thread_reader *r, struct thread_slot *s)
{
	struct proc_schedstat now;

	if (s->no_sched)
		return 1;   /* nothing tells whether it ran: always read stat */
	ssize_t n = read_thread_file(r, s->tid, "schedstat", &s->sched_fd);
	if (n == -ENOENT && s->sched_fd < 0) {
		s->no_sched = true;
		return 1;
	}
	if (n < 0)
		return (int)n;
	if (procparse_schedstat(r->buf, &now) < 0)
		return -ESRCH;
	int ran = !s->have_sched || now.run_ns != s->sched.run_ns ||
		  now.timeslices != s->sched.timeslices;
	s->sched = now;
	s->have_sched = true;
	return ran;
}

/* Whether no thread has run since the previous tick: the process's CPU
 * clock has not moved and no thread was born or has exited. */
static bool nothing_ran(struct thread_reader *r, long expected)
{
	struct timespec ts;
	bool known = r->have_clock && clock_gettime(r->cpu_clock, &ts) == 0;
	uint64_t ns = known ? (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec : 0;
	bool still = known && r->have_cpu && ns == r->cpu_ns && r->nslots > 0 &&
		     expected == (long)r->nslots;
	r->have_cpu = known;
	r->cpu_ns = ns;
	return still;
}

/* The previous tick's threads again, none of which ran. */
static void repeat_threads(struct thread_reader *r, double dt, struct sample_threads *out)
{
	double pct = r->have_prev && dt > 0 ? 0.0 : NAN;
	out->count = r->nslots;
	out->list = xcalloc(r->nslots, sizeof(*out->list));
	for (size_t i = 0; i < r->nslots; i++) {
		out->list[i] = r->slots[i].last;
		out->list[i].cpu_pct = pct;
	}
	out->cpu_pct = pct;
}

int threads_read(struct thread_reader *r, double mono, bool full, long expected,
		 struct sample_threads *out)
{
	pid_t *tids;
	size_t ntids = 0;

	if (nothing_ran(r, expected) && !full) {
		repeat_threads(r, r->have_prev ? mono - r->prev_mono : 0, out);
		r->have_prev = true;
		r->prev_mono = mono;
		return 0;
	}

	if (!full && r->nslots > 0 && expected == (long)r->nslots) {
		ntids = r->nslots;
		tids = xmalloc(ntids * sizeof(pid_t));
		for (size_t i = 0; i < ntids; i++)
			tids[i] = r->slots[i].tid;
	} else {
		int rc = list_tids(r, &tids, &ntids);
		if (rc < 0)
			return rc;
	}
	if (ntids == 0) {
		free(tids);
		return -ESRCH;
	}

	struct thread_slot *slots = xcalloc(ntids, sizeof(*slots));
	struct sample_thread *list = xcalloc(ntids, sizeof(*list));
	double dt = r->have_prev ? mono - r->prev_mono : 0;
	double total_ns = 0;
	size_t k = 0, old = 0;

	for (size_t i = 0; i < ntids; i++) {
		pid_t tid = tids[i];
		while (old < r->nslots && r->slots[old].tid < tid)
			slot_close(r, &r->slots[old++]);
		struct thread_slot s;
		bool known = old < r->nslots && r->slots[old].tid == tid;
		if (known) {
			s = r->slots[old++];
		} else {
			memset(&s, 0, sizeof(s));
			s.tid = tid;
			s.stat_fd = s.sched_fd = -1;
		}

		int ran = read_sched(r, &s);
		if (ran >= 0 && (ran || full || !known))
			ran = read_full(r, &s, ran || !known) < 0 ? -ESRCH : 1;
		if (ran < 0) {   /* exited between listing and reading */
			slot_close(r, &s);
			continue;
		}

		uint64_t cpu = s.sched.run_ns;
		s.last.cpu_ns = cpu;
		s.last.cpu_pct = NAN;
		if (known && dt > 0) {
			double used = cpu >= s.cpu_ns ? (double)(cpu - s.cpu_ns) : 0;
			s.last.cpu_pct = used / (dt * 1e9) * 100.0;
			total_ns += used;
		}
		s.cpu_ns = cpu;
		slots[k] = s;
		list[k++] = s.last;
	}
	while (old < r->nslots)
		slot_close(r, &r->slots[old++]);
	free(tids);
	free(r->slots);
	r->slots = slots;
	r->nslots = k;

	if (k == 0) {
		free(list);
		return -ESRCH;
	}
	out->count = k;
	out->list = list;
	/* Threads born since the previous tick count from their birth, which
	 * the total then slightly underestimates; never overestimates. */
	out->cpu_pct = r->have_prev && dt > 0 ? total_ns / (dt * 1e9) * 100.0 : NAN;
	r->have_prev = true;
	r->prev_mono = mono;
	return 0;
}
