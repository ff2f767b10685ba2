#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "procparse.h"

static void *oom(size_t n)
{
	fprintf(stderr, "pscope: out of memory (%zu bytes)\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom(n);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	return p ? p : oom(n * size);
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	return q ? q : oom(n);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static ssize_t read_loop(int fd, bool use_pread, char **buf, size_t *cap)
{
	size_t len = 0;

	if (*cap < 4096) {
		*cap = 4096;
		*buf = xrealloc(*buf, *cap);
	}
	for (;;) {
		if (len + 1 >= *cap) {
			*cap *= 2;
			*buf = xrealloc(*buf, *cap);
		}
		ssize_t n = use_pread ? pread(fd, *buf + len, *cap - len - 1, (off_t)len)
				      : read(fd, *buf + len, *cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(*buf)[len] = '\0';
	return (ssize_t)len;
}

ssize_t util_pread_all(int fd, char **buf, size_t *cap)
{
	return read_loop(fd, true, buf, cap);
}

ssize_t util_read_at(int dirfd, const char *path, char **buf, size_t *cap)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read_loop(fd, false, buf, cap);
	close(fd);
	return n;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double util_now_real(void) { return clock_s(CLOCK_REALTIME); }
double util_now_mono(void) { return clock_s(CLOCK_MONOTONIC); }
double util_thread_cpu(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

char util_task_state(int dirfd)
{
	char buf[1024];
	int fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	struct proc_stat st;
	return procparse_stat(buf, &st) == 0 ? st.state : 0;
}

int util_open_live_task(int proc_dirfd, pid_t pid, pid_t *tid)
{
	int task = openat(proc_dirfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = task >= 0 ? fdopendir(task) : NULL;
	if (!d) {
		if (task >= 0)
			close(task);
		return -1;
	}
	int found = -1;
	for (struct dirent *de; found < 0 && (de = readdir(d));) {
		pid_t t = (pid_t)atoi(de->d_name);
		if (t <= 0 || t == pid)
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char state = fd >= 0 ? util_task_state(fd) : 0;
		if (state && state != 'Z' && state != 'X') {
			found = fd;
			*tid = t;
		} else if (fd >= 0) {
			close(fd);
		}
	}
	closedir(d);
	return found;
}

void util_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
