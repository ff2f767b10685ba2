/* /proc text parsers on captures from a real machine (tests/fixtures/proc,
 * Linux 6.18): pid 1, kthreadd and a kworker with a long name, a zombie, and
 * a three-threaded process whose threads are named "a) (b c\e[31m\n)" and
 * "worker two", with "/tmp/pp/my data file.bin" mapped shared, an unlinked
 * file mapped, and an eventfd (count 255), epoll, inotify (two watches),
 * timerfd and signalfd open.  Also on cut, garbled and hand-made copies.
 *
 * Overflow policy under test: a number that does not fit its field fails the
 * parse with -EINVAL; nothing is clamped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procparse.h"
#include "util.h"

#define PROC FIXTURES "/proc/"

/* Exactly the file's bytes plus a NUL on the heap, so that ASan catches a
 * parser reading past the end. */
static char *load(const char *name, size_t *len)
{
	char path[512];
	char *buf = NULL;
	size_t cap = 0;

	snprintf(path, sizeof(path), "%s%s", PROC, name);
	ssize_t n = util_read_at(-1, path, &buf, &cap);
	assert_true(n >= 0);
	char *exact = xmalloc((size_t)n + 1);
	memcpy(exact, buf, (size_t)n + 1);
	free(buf);
	if (len)
		*len = (size_t)n;
	return exact;
}

/* The first n bytes of text as their own heap string. */
static char *cut(const char *text, size_t n)
{
	return xstrndup(text, n);
}

/* A stat line with comm and fields 3..52 given as "rest". */
static char *stat_line(const char *pid_comm, const char *rest)
{
	size_t n = strlen(pid_comm) + strlen(rest) + 1;
	char *s = xmalloc(n);
	snprintf(s, n, "%s%s", pid_comm, rest);
	return s;
}

/* Fields 3..52 of a plausible process: ppid 7, flags 4194304, utime 11,
 * stime 12, 5 threads, starttime 99, vsize 4096, rss 3, start_brk 777. */
static const char stat_rest[] =
	" R 7 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3 "
	"18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 4 5 777 "
	"6 6 6 6 0\n";

/* ---- stat ---- */

static void test_stat_init(void **state)
{
	(void)state;
	char *t = load("init_stat", NULL);
	struct proc_stat st;

	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(st.pid, 1);
	assert_string_equal(st.comm, "process_api");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 0);
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.utime, 191);
	assert_int_equal(st.stime, 848);
	assert_int_equal(st.num_threads, 13);
	assert_int_equal(st.starttime, 24);
	assert_int_equal(st.vsize, 44564480);
	assert_int_equal(st.rss_pages, 3445);
	assert_int_equal(st.start_brk, 0);   /* hidden by the kernel */
	free(t);
}

static void test_stat_multithreaded(void **state)
{
	(void)state;
	char *t = load("mt_stat", NULL);
	struct proc_stat st;

	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(st.pid, 22025);
	assert_string_equal(st.comm, "fixgen");
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.num_threads, 3);
	assert_int_equal(st.starttime, 344264);
	assert_int_equal(st.vsize, 29884416);
	assert_int_equal(st.rss_pages, 1169);
	assert_int_equal(st.start_brk, 0x558fadcdd000ULL);   /* the [heap] in mt_smaps */
	assert_false(st.flags & 0x00200000);
	free(t);
}

static void test_stat_kernel_threads(void **state)
{
	(void)state;
	char *t = load("kthreadd_stat", NULL);
	struct proc_stat st;

	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(st.pid, 2);
	assert_string_equal(st.comm, "kthreadd");
	assert_true(st.flags & 0x00200000);
	assert_int_equal(st.vsize, 0);
	assert_int_equal(st.rss_pages, 0);
	free(t);

	/* stat shows a workqueue worker's full name, well past 15 bytes. */
	t = load("kworker_stat", NULL);
	assert_int_equal(procparse_stat(t, &st), 0);
	assert_string_equal(st.comm, "kworker/R-kvfree_rcu_reclaim");
	assert_int_equal(st.state, 'I');
	assert_int_equal(st.ppid, 2);
	assert_true(st.flags & 0x00200000);
	free(t);
}

static void test_stat_zombie(void **state)
{
	(void)state;
	char *t = load("zombie_stat", NULL);
	struct proc_stat st;

	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(st.pid, 22029);
	assert_int_equal(st.state, 'Z');
	assert_int_equal(st.ppid, 22025);
	assert_int_equal(st.vsize, 0);
	assert_int_equal(st.start_brk, 0);
	free(t);
}

/* The thread's comm holds ") (", a space, ESC and a raw newline: the stat
 * file really is two lines. */
static void test_stat_hostile_comm_real(void **state)
{
	(void)state;
	char *t = load("mt_task_weird_stat", NULL);
	struct proc_stat st;

	assert_true(strchr(t, '\n') < t + strlen(t) - 1);
	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(st.pid, 22027);
	assert_string_equal(st.comm, "a) (b c\x1b[31m\n)");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.num_threads, 3);
	free(t);
}

static void test_stat_hostile_comm_made(void **state)
{
	(void)state;
	struct proc_stat st;
	char *t = stat_line("42 () Z 1 2 (x)\x1b\x07)", stat_rest);

	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(st.pid, 42);
	assert_string_equal(st.comm, ") Z 1 2 (x)\x1b\x07");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 7);
	assert_int_equal(st.flags, 4194304);
	assert_int_equal(st.utime, 11);
	assert_int_equal(st.stime, 12);
	assert_int_equal(st.num_threads, 5);
	assert_int_equal(st.starttime, 99);
	assert_int_equal(st.vsize, 4096);
	assert_int_equal(st.rss_pages, 3);
	assert_int_equal(st.start_brk, 777);
	free(t);

	t = stat_line("43 ()", stat_rest);
	assert_int_equal(procparse_stat(t, &st), 0);
	assert_string_equal(st.comm, "");
	free(t);

	/* Longer than comm[64]: cut to 63 bytes, the fields still parse. */
	t = stat_line("44 (0123456789012345678901234567890123456789012345678901234567890123456789)",
		      stat_rest);
	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(strlen(st.comm), 63);
	assert_int_equal(st.ppid, 7);
	free(t);
}

static void check_stat_prefixes(const char *name)
{
	size_t len;
	char *t = load(name, &len);
	struct proc_stat full, st;

	assert_int_equal(procparse_stat(t, &full), 0);
	for (size_t n = 0; n < len; n++) {
		char *c = cut(t, n);
		int rc = procparse_stat(c, &st);
		if (rc == 0) {
			/* Only a prefix that holds all of field 24 may parse, and
			 * never to a different value. */
			assert_int_equal(st.pid, full.pid);
			assert_string_equal(st.comm, full.comm);
			assert_int_equal(st.ppid, full.ppid);
			assert_int_equal(st.utime, full.utime);
			assert_int_equal(st.starttime, full.starttime);
			assert_int_equal(st.vsize, full.vsize);
			assert_int_equal(st.rss_pages, full.rss_pages);
			assert_true(st.start_brk == full.start_brk || st.start_brk == 0);
		} else {
			assert_int_equal(rc, -EINVAL);
		}
		free(c);
	}
	free(t);
}

static void test_stat_truncated(void **state)
{
	(void)state;
	struct proc_stat st;
	char *t = load("mt_stat", NULL);
	/* Cut inside rss (field 24: "1169"): must not read as 116. */
	char *rss = strstr(t, " 1169 ");
	assert_non_null(rss);
	char *c = cut(t, (size_t)(rss - t) + 4);
	assert_int_equal(procparse_stat(c, &st), -EINVAL);
	free(c);
	/* Cut right after rss: every required field is complete. */
	c = cut(t, (size_t)(rss - t) + 6);
	assert_int_equal(procparse_stat(c, &st), 0);
	assert_int_equal(st.rss_pages, 1169);
	assert_int_equal(st.start_brk, 0);
	free(c);
	free(t);

	check_stat_prefixes("mt_stat");
	check_stat_prefixes("mt_task_weird_stat");
	check_stat_prefixes("kworker_stat");
}

static void test_stat_garbage(void **state)
{
	(void)state;
	struct proc_stat st;
	static const char *const bad[] = {
		"", "\n", "hello", "1 (x)", "1 (x)\n", "(x) S 1\n", "x (y) S 1\n",
		"1(x) S 1\n", "1 x) S 1 (\n", " 1 (x) S 1\n", "-1 (x)",
		"\xff\xfe\x00",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(procparse_stat(bad[i], &st), -EINVAL);

	/* Each line below differs from this good one in one place. */
	char *good = stat_line("5 (x)",
			       " R 7 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3 0\n");
	assert_int_equal(procparse_stat(good, &st), 0);
	free(good);
	static const char *const rest[] = {
		" SS 7 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3 0\n",
		" R x 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3 0\n",
		" R 7 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3x 0\n",
		" R 7  1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3 0\n",
		" R 7 1 1 0 -1 4194304 10 0 0 0 +11 12 0 0 20 0 5 0 99 4096 3 0\n",
		" R 7 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 0x10 3 0\n",
		"R 7 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3 0\n",
	};
	for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
		char *t = stat_line("5 (x)", rest[i]);
		assert_int_equal(procparse_stat(t, &st), -EINVAL);
		free(t);
	}
}

static void test_stat_huge_numbers(void **state)
{
	(void)state;
	struct proc_stat st;
	char *t;

	/* The largest values each field can hold are taken as they are. */
	t = stat_line("2147483647 (x)", " R 2147483647 1 1 0 -1 4294967295 10 0 0 0 "
		      "18446744073709551615 18446744073709551615 0 0 20 0 "
		      "9223372036854775807 0 18446744073709551615 18446744073709551615 "
		      "-9223372036854775808 0\n");
	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(st.pid, 2147483647);
	assert_int_equal(st.ppid, 2147483647);
	assert_true(st.utime == UINT64_MAX);
	assert_true(st.num_threads == INT64_MAX);
	assert_true(st.starttime == UINT64_MAX);
	assert_true(st.rss_pages == INT64_MIN);
	free(t);

	static const char *const over[] = {
		" R 2147483648 1 1 0 -1 0 10 0 0 0 1 1 0 0 20 0 1 0 1 1 1 0\n",
		" R 7 1 1 0 -1 0 10 0 0 0 18446744073709551616 1 0 0 20 0 1 0 1 1 1 0\n",
		" R 7 1 1 0 -1 0 10 0 0 0 1 1 0 0 20 0 9223372036854775808 0 1 1 1 0\n",
		" R 7 1 1 0 -1 0 10 0 0 0 1 1 0 0 20 0 1 0 99999999999999999999999 1 1 0\n",
		" R 7 1 1 0 -1 0 10 0 0 0 -1 1 0 0 20 0 1 0 1 1 1 0\n",
		" R -7 1 1 0 -1 0 10 0 0 0 1 1 0 0 20 0 1 0 1 1 1 0\n",
	};
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		t = stat_line("5 (x)", over[i]);
		assert_int_equal(procparse_stat(t, &st), -EINVAL);
		free(t);
	}
	t = stat_line("2147483648 (x)", stat_rest);
	assert_int_equal(procparse_stat(t, &st), -EINVAL);
	free(t);
	/* start_brk is optional, but a garbled one is still garbled. */
	t = stat_line("5 (x)", " R 7 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3 "
		      "0 1 2 3 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 4 5 "
		      "18446744073709551616 6 6 6 6 0\n");
	assert_int_equal(procparse_stat(t, &st), -EINVAL);
	free(t);
}

/* Before Linux 3.3 stat stopped at field 44: no start_brk. */
static void test_stat_old_kernel(void **state)
{
	(void)state;
	struct proc_stat st;
	char *t = stat_line("5 (x)", " R 7 1 1 0 -1 4194304 10 0 0 0 11 12 0 0 20 0 5 0 99 4096 3 "
			    "0 1 2 3 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");

	assert_int_equal(procparse_stat(t, &st), 0);
	assert_int_equal(st.rss_pages, 3);
	assert_int_equal(st.start_brk, 0);
	free(t);
}

/* ---- status ---- */

static void test_status_multithreaded(void **state)
{
	(void)state;
	char *t = load("mt_status", NULL);
	struct proc_status s;

	assert_int_equal(procparse_status(t, &s), 0);
	assert_string_equal(s.name, "fixgen");
	assert_int_equal(s.state, 'S');
	assert_int_equal(s.tgid, 22025);
	assert_int_equal(s.ppid, 1);
	assert_int_equal(s.tracer_pid, 0);
	assert_int_equal(s.ruid, 0);
	assert_int_equal(s.euid, 0);
	assert_int_equal(s.vm_size_kb, 29184);
	assert_int_equal(s.vm_rss_kb, 4796);
	assert_int_equal(s.rss_anon_kb, 3192);
	assert_int_equal(s.rss_file_kb, 1604);
	assert_int_equal(s.rss_shmem_kb, 0);
	assert_int_equal(s.vm_data_kb, 26852);
	assert_int_equal(s.vm_swap_kb, 0);
	assert_int_equal(s.threads, 3);
	assert_int_equal(s.vol_ctxsw, 1);
	assert_int_equal(s.invol_ctxsw, 2);
	free(t);

	t = load("init_status", NULL);
	assert_int_equal(procparse_status(t, &s), 0);
	assert_string_equal(s.name, "process_api");
	assert_int_equal(s.tgid, 1);
	assert_int_equal(s.vm_rss_kb, 13928);
	assert_int_equal(s.rss_shmem_kb, 6452);
	free(t);
}

static void test_status_no_mm(void **state)
{
	(void)state;
	static const char *const files[] = { "kthreadd_status", "zombie_status" };
	struct proc_status s;

	for (size_t i = 0; i < 2; i++) {
		char *t = load(files[i], NULL);
		assert_int_equal(procparse_status(t, &s), 0);
		assert_int_equal(s.vm_size_kb, SAMPLE_UNREAD);
		assert_int_equal(s.vm_rss_kb, SAMPLE_UNREAD);
		assert_int_equal(s.rss_anon_kb, SAMPLE_UNREAD);
		assert_int_equal(s.rss_file_kb, SAMPLE_UNREAD);
		assert_int_equal(s.rss_shmem_kb, SAMPLE_UNREAD);
		assert_int_equal(s.vm_data_kb, SAMPLE_UNREAD);
		assert_int_equal(s.vm_swap_kb, SAMPLE_UNREAD);
		assert_int_equal(s.threads, 1);
		free(t);
	}
	char *t = load("zombie_status", NULL);
	assert_int_equal(procparse_status(t, &s), 0);
	assert_int_equal(s.state, 'Z');
	assert_int_equal(s.ppid, 22025);
	free(t);
}

/* status escapes the newline in a name (as "\n") but not ESC. */
static void test_status_hostile_name(void **state)
{
	(void)state;
	char *t = load("mt_task_weird_status", NULL);
	struct proc_status s;

	assert_int_equal(procparse_status(t, &s), 0);
	assert_string_equal(s.name, "a) (b c\x1b[31m\\n)");
	assert_int_equal(s.tgid, 22025);
	assert_int_equal(s.threads, 3);
	free(t);

	const char *lead = "Name:\t  two  \nState:\tR (running)\nTgid:\t5\nPPid:\t1\n"
			   "Uid:\t1000\t1001\t1002\t1003\n";
	assert_int_equal(procparse_status(lead, &s), 0);
	assert_string_equal(s.name, "  two  ");
	assert_int_equal(s.ruid, 1000);
	assert_int_equal(s.euid, 1001);
	assert_int_equal(s.tracer_pid, 0);
	assert_int_equal(s.vol_ctxsw, SAMPLE_UNREAD);
}

static void test_status_truncated(void **state)
{
	(void)state;
	size_t len;
	char *t = load("mt_status", &len);
	struct proc_status full, s;

	assert_int_equal(procparse_status(t, &full), 0);
	size_t need = (size_t)(strstr(t, "\nUid:") - t);
	for (size_t n = 0; n < len; n++) {
		char *c = cut(t, n);
		int rc = procparse_status(c, &s);
		if (n <= need) {
			assert_int_equal(rc, -EINVAL);
		} else if (rc == 0) {
			assert_int_equal(s.tgid, full.tgid);
			/* A line is taken whole or not at all. */
			assert_true(s.vm_rss_kb == full.vm_rss_kb || s.vm_rss_kb == SAMPLE_UNREAD);
			assert_true(s.vm_data_kb == full.vm_data_kb || s.vm_data_kb == SAMPLE_UNREAD);
			assert_true(s.invol_ctxsw == full.invol_ctxsw ||
				    s.invol_ctxsw == SAMPLE_UNREAD);
		} else {
			assert_int_equal(rc, -EINVAL);
		}
		free(c);
	}
	/* "VmRSS:\t    4796 kB" cut to "VmRSS:\t    47" must not read as 47. */
	char *rss = strstr(t, "VmRSS:");
	char *c = cut(t, (size_t)(rss - t) + 13);
	assert_int_equal(procparse_status(c, &s), 0);
	assert_int_equal(s.vm_rss_kb, SAMPLE_UNREAD);
	free(c);
	free(t);
}

static void test_status_garbage_and_overflow(void **state)
{
	(void)state;
	struct proc_status s;
	static const char base[] = "Name:\tx\nState:\tS (sleeping)\nTgid:\t5\nPPid:\t1\n"
				   "Uid:\t0\t0\t0\t0\n";
	static const char *const extra[] = {
		"VmRSS:\tabc kB\n", "VmRSS:\t12\n", "VmRSS:\t12 MB\n", "VmRSS:\t-12 kB\n",
		"VmRSS:\t9223372036854775808 kB\n", "VmRSS:\t99999999999999999999 kB\n",
		"Threads:\tmany\n", "Threads:\t-1\n", "Tgid:\t2147483648\n", "PPid:\t-1\n",
		"Uid:\t4294967296\t0\t0\t0\n", "Uid:\t0\n", "Uid:\t-1\t0\t0\t0\n",
		"TracerPid:\t\n", "State:\t\n",
	};
	char buf[512];

	assert_int_equal(procparse_status(base, &s), 0);
	assert_int_equal(procparse_status("", &s), -EINVAL);
	assert_int_equal(procparse_status("garbage\n\n\x01\x02", &s), -EINVAL);
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", base, extra[i]);
		assert_int_equal(procparse_status(buf, &s), -EINVAL);
	}
	/* Every required line missing in turn. */
	static const char *const required[] = { "Name:", "State:", "Tgid:", "PPid:", "Uid:" };
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", base);
		char *l = strstr(buf, required[i]);
		l[0] = 'X';   /* an unknown key now */
		assert_int_equal(procparse_status(buf, &s), -EINVAL);
	}
	snprintf(buf, sizeof(buf), "%sVmRSS:\t9223372036854775807 kB\nUid:\t4294967295\t1\t1\t1\n",
		 base);
	assert_int_equal(procparse_status(buf, &s), 0);
	assert_true(s.vm_rss_kb == INT64_MAX);
	assert_true(s.ruid == 4294967295u);
}

/* ---- statm, schedstat ---- */

static void test_statm(void **state)
{
	(void)state;
	struct proc_statm m;
	char *t = load("mt_statm", NULL);

	assert_int_equal(procparse_statm(t, &m), 0);
	assert_int_equal(m.size, 7296);
	assert_int_equal(m.resident, 1199);
	assert_int_equal(m.shared, 401);
	assert_int_equal(m.text, 1);
	assert_int_equal(m.data, 6746);
	free(t);
	t = load("kthreadd_statm", NULL);
	assert_int_equal(procparse_statm(t, &m), 0);
	assert_int_equal(m.size, 0);
	assert_int_equal(m.data, 0);
	free(t);

	assert_int_equal(procparse_statm("", &m), -EINVAL);
	assert_int_equal(procparse_statm("7296 1199 401 1 0 67", &m), -EINVAL);
	assert_int_equal(procparse_statm("7296 1199 401 1 0\n", &m), -EINVAL);
	assert_int_equal(procparse_statm("7296 x 401 1 0 6746 0\n", &m), -EINVAL);
	assert_int_equal(procparse_statm("-1 1 1 1 0 1 0\n", &m), -EINVAL);
	assert_int_equal(procparse_statm("18446744073709551616 1 1 1 0 1 0\n", &m), -EINVAL);
	assert_int_equal(procparse_statm("18446744073709551615 1 1 1 0 1 0\n", &m), 0);
	assert_true(m.size == UINT64_MAX);
}

static void test_schedstat(void **state)
{
	(void)state;
	struct proc_schedstat ss;
	char *t = load("mt_task_weird_schedstat", NULL);

	assert_int_equal(procparse_schedstat(t, &ss), 0);
	assert_int_equal(ss.run_ns, 15013);
	assert_int_equal(ss.wait_ns, 29243);
	assert_int_equal(ss.timeslices, 1);
	free(t);

	assert_int_equal(procparse_schedstat("", &ss), -EINVAL);
	assert_int_equal(procparse_schedstat("15013 29243", &ss), -EINVAL);
	/* The last number must be ended: "1" may be the start of "12". */
	assert_int_equal(procparse_schedstat("15013 29243 1", &ss), -EINVAL);
	assert_int_equal(procparse_schedstat("a b c\n", &ss), -EINVAL);
	assert_int_equal(procparse_schedstat("1 2 99999999999999999999\n", &ss), -EINVAL);
	assert_int_equal(procparse_schedstat("18446744073709551615 2 3\n", &ss), 0);
	assert_true(ss.run_ns == UINT64_MAX);
}

/* ---- smaps_rollup ---- */

static void test_rollup(void **state)
{
	(void)state;
	struct proc_rollup r;
	char *t = load("mt_smaps_rollup", NULL);

	assert_int_equal(procparse_smaps_rollup(t, &r), 0);
	assert_int_equal(r.rss_kb, 4796);
	assert_int_equal(r.pss_kb, 3371);
	assert_int_equal(r.pss_anon_kb, 3192);
	assert_int_equal(r.pss_file_kb, 179);
	assert_int_equal(r.pss_shmem_kb, 0);
	assert_int_equal(r.anon_kb, 3192);
	assert_int_equal(r.swap_kb, 0);
	assert_int_equal(r.swap_pss_kb, 0);

	/* Cut inside "Pss:                3371 kB": Pss is not there. */
	char *pss = strstr(t, " 3371 kB");
	char *c = cut(t, (size_t)(pss - t) + 3);
	assert_int_equal(procparse_smaps_rollup(c, &r), 0);
	assert_int_equal(r.rss_kb, 4796);
	assert_int_equal(r.pss_kb, SAMPLE_UNREAD);
	free(c);
	free(t);

	/* A task without an mm has nothing to sum. */
	assert_int_equal(procparse_smaps_rollup("", &r), 0);
	assert_int_equal(r.pss_kb, SAMPLE_UNREAD);
	assert_int_equal(r.rss_kb, SAMPLE_UNREAD);

	assert_int_equal(procparse_smaps_rollup("garbage\n", &r), -EINVAL);
	assert_int_equal(procparse_smaps_rollup("Pss: x kB\n", &r), -EINVAL);
	assert_int_equal(procparse_smaps_rollup("Pss: 9223372036854775808 kB\n", &r), -EINVAL);
	assert_int_equal(procparse_smaps_rollup(": 1 kB\n", &r), -EINVAL);
}

/* ---- smaps and maps ---- */

static const struct map_entry *find_path(const struct map_entry *list, size_t n,
					 const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].path, path) == 0)
			return &list[i];
	return NULL;
}

static size_t count_headers(const char *text)
{
	size_t n = 0;

	for (const char *l = text; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *p = l;
		while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
			p++;
		n += p > l && *p == '-';
	}
	return n;
}

static void test_smaps_real(void **state)
{
	(void)state;
	char *t = load("mt_smaps", NULL);
	struct map_entry *list;
	size_t n;

	assert_int_equal(procparse_smaps(t, &list, &n), 0);
	assert_int_equal(n, count_headers(t));
	assert_int_equal(n, 31);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(list[i].path);
		assert_int_equal(strlen(list[i].perms), 4);
		assert_true(list[i].start < list[i].end);
		assert_true(i == 0 || list[i - 1].end <= list[i].start);
		assert_int_equal(list[i].size_kb, (int64_t)((list[i].end - list[i].start) / 1024));
		assert_true(list[i].rss_kb >= 0 && list[i].pss_kb >= 0);
		assert_true(list[i].anon_kb >= 0 && list[i].swap_kb >= 0);
	}
	const struct map_entry *e = find_path(list, n, "[heap]");
	assert_non_null(e);
	assert_int_equal(e->start, 0x558fadcdd000ULL);
	assert_int_equal(e->size_kb, 132);
	assert_int_equal(e->rss_kb, 8);
	e = find_path(list, n, "/tmp/pp/my data file.bin");
	assert_non_null(e);
	assert_string_equal(e->perms, "rw-s");
	assert_int_equal(e->size_kb, 64);
	assert_int_equal(e->rss_kb, 8);
	assert_int_equal(e->offset, 0);
	e = find_path(list, n, "/tmp/pp/gone.bin (deleted)");
	assert_non_null(e);
	assert_string_equal(e->perms, "r--p");
	e = find_path(list, n, "");
	assert_non_null(e);   /* the anonymous 10 MiB malloc */
	e = find_path(list, n, "[stack]");
	assert_non_null(e);
	procparse_free_maps(list, n);
	free(t);

	/* No mm, no mappings: a valid, empty table. */
	t = load("kthreadd_smaps", NULL);
	assert_int_equal(procparse_smaps(t, &list, &n), 0);
	assert_int_equal(n, 0);
	procparse_free_maps(list, n);
	free(t);
}

static const char made_smaps[] =
	"00400000-00452000 r-xp 00001000 fd:01 1234                       /opt/my app/bin/x y\n"
	"Size:                328 kB\n"
	"KernelPageSize:        4 kB\n"
	"Rss:                 300 kB\n"
	"Pss:                 150 kB\n"
	"Anonymous:             0 kB\n"
	"Swap:                  0 kB\n"
	"THPeligible:    0\n"
	"ProtectionKey:         0\n"
	"VmFlags: rd ex mr mw me dw\n"
	"7f0000000000-7f0000100000 rw-p 00000000 00:00 0\n"
	"Size:               1024 kB\n"
	"Rss:                 512 kB\n"
	"Pss:                 512 kB\n"
	"Anonymous:           512 kB\n"
	"Swap:                 64 kB\n"
	"VmFlags: rd wr mr mw me ac\n"
	"7f0000200000-7f0000201000 rw-s 00000000 00:01 77     /memfd:buf (deleted)\n"
	"Size:                  4 kB\n"
	"Rss:                   4 kB\n"
	"Pss:                   2 kB\n"
	"Anonymous:             0 kB\n"
	"Swap:                  0 kB\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
	"Size:                  4 kB\n"
	"Rss:                   0 kB\n"
	"Pss:                   0 kB\n"
	"Anonymous:             0 kB\n"
	"Swap:                  0 kB\n";

static void test_smaps_made(void **state)
{
	(void)state;
	struct map_entry *list;
	size_t n;

	assert_int_equal(procparse_smaps(made_smaps, &list, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(list[0].path, "/opt/my app/bin/x y");
	assert_int_equal(list[0].start, 0x400000);
	assert_int_equal(list[0].end, 0x452000);
	assert_int_equal(list[0].offset, 0x1000);
	assert_string_equal(list[0].perms, "r-xp");
	assert_int_equal(list[0].size_kb, 328);
	assert_int_equal(list[0].rss_kb, 300);
	assert_int_equal(list[0].pss_kb, 150);
	assert_string_equal(list[1].path, "");
	assert_int_equal(list[1].anon_kb, 512);
	assert_int_equal(list[1].swap_kb, 64);
	assert_string_equal(list[2].path, "/memfd:buf (deleted)");
	assert_int_equal(list[2].pss_kb, 2);
	assert_string_equal(list[3].path, "[vsyscall]");
	assert_true(list[3].end == 0xffffffffff601000ULL);
	procparse_free_maps(list, n);
}

static void check_smaps_prefix(const char *text, size_t len, const struct map_entry *full,
			       size_t nfull)
{
	struct map_entry *list;
	size_t n;
	char *c = cut(text, len);

	assert_int_equal(procparse_smaps(c, &list, &n), 0);
	assert_true(n <= nfull);
	for (size_t i = 0; i < n; i++) {
		assert_true(list[i].start == full[i].start && list[i].end == full[i].end);
		assert_string_equal(list[i].path, full[i].path);
		assert_string_equal(list[i].perms, full[i].perms);
		/* Fields of the last mapping may be missing, never wrong. */
		const int64_t *got = &list[i].size_kb, *want = &full[i].size_kb;
		for (int f = 0; f < 5; f++) {
			if (i + 1 < n)
				assert_true(got[f] == want[f]);
			else
				assert_true(got[f] == want[f] || got[f] == SAMPLE_UNREAD);
		}
	}
	procparse_free_maps(list, n);
	free(c);
}

static void test_smaps_cut(void **state)
{
	(void)state;
	size_t len;
	char *t = load("mt_smaps", &len);
	struct map_entry *full, *list;
	size_t nfull, n;

	assert_int_equal(procparse_smaps(t, &full, &nfull), 0);
	/* Every cut in the first mappings, then a sample of the rest. */
	for (size_t i = 0; i < len; i += i < 2048 ? 1 : 7)
		check_smaps_prefix(t, i, full, nfull);

	/* Cut mid-mapping, after "Rss:" of the heap: Pss onwards unread. */
	const char *heap = strstr(t, "[heap]\n");
	const char *pss = strstr(heap, "\nPss:");
	char *c = cut(t, (size_t)(pss - t) + 1);
	assert_int_equal(procparse_smaps(c, &list, &n), 0);
	assert_string_equal(list[n - 1].path, "[heap]");
	assert_int_equal(list[n - 1].size_kb, 132);
	assert_int_equal(list[n - 1].rss_kb, 8);
	assert_int_equal(list[n - 1].pss_kb, SAMPLE_UNREAD);
	assert_int_equal(list[n - 1].anon_kb, SAMPLE_UNREAD);
	assert_int_equal(list[n - 1].swap_kb, SAMPLE_UNREAD);
	procparse_free_maps(list, n);
	free(c);

	/* Cut inside the heap's header line: the heap is not there at all. */
	c = cut(t, (size_t)(heap - t) + 3);
	assert_int_equal(procparse_smaps(c, &list, &n), 0);
	assert_null(find_path(list, n, "[heap]"));
	assert_null(find_path(list, n, "[he"));
	assert_true(n > 0 && list[n - 1].end <= 0x558fadcdd000ULL);
	procparse_free_maps(list, n);
	free(c);

	procparse_free_maps(full, nfull);
	free(t);
}

static void test_smaps_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Size: 4 kB\n",                                   /* field before any header */
		"00400000-00452000 r-xp 00000000 fd:01 1 /x\nhello\n",
		"00400000-00452000 r-xp 00000000 fd:01 1 /x\n\n",
		"00400000-00452000 r-xp 00000000 fd:01 1 /x\nRss: lots kB\n",
		"00400000-00452000 r-xp 00000000 fd:01 1 /x\nRss: 4\n",
		"00400000-00452000 r-xp 00000000 fd:01 1 /x\nRss: 9223372036854775808 kB\n",
		"00400000-00452000 r-xp 00000000 fd:01 1 /x\n: 4 kB\n",
		"00452000-00400000 r-xp 00000000 fd:01 1 /x\n",   /* end before start */
		"00400000-00452000 r-x 00000000 fd:01 1 /x\n",
		"00400000-00452000 r-xpp 00000000 fd:01 1 /x\n",
		"00400000-00452000 r-xp 00000000 fd01 1 /x\n",
		"00400000-00452000 r-xp 00000000 fd:01 x /x\n",
		"00400000-00452000 r-xp zz fd:01 1 /x\n",
		"00400000-\n",
		"10000000000000000-20000000000000000 r-xp 00000000 fd:01 1 /x\n",
		"0x400000-0x452000 r-xp 00000000 fd:01 1 /x\n",
		"00400000-0x452000 r-xp 00000000 fd:01 1 /x\n",
	};
	struct map_entry dummy, *list;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		list = &dummy;
		n = 99;
		assert_int_equal(procparse_smaps(bad[i], &list, &n), -EINVAL);
		assert_null(list);
		assert_int_equal(n, 0);
	}
	/* A failure after good mappings frees them (ASan checks). */
	char buf[4096];
	snprintf(buf, sizeof(buf), "%sgarbage\n", made_smaps);
	assert_int_equal(procparse_smaps(buf, &list, &n), -EINVAL);
	assert_int_equal(procparse_smaps("", &list, &n), 0);
	assert_int_equal(n, 0);
	procparse_free_maps(list, n);
}

static void test_maps(void **state)
{
	(void)state;
	char *t = load("mt_maps", NULL);
	struct map_entry *list;
	size_t n;

	assert_int_equal(procparse_maps(t, &list, &n), 0);
	assert_int_equal(n, 31);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(list[i].size_kb, (int64_t)((list[i].end - list[i].start) / 1024));
		assert_int_equal(list[i].rss_kb, SAMPLE_UNREAD);
		assert_int_equal(list[i].pss_kb, SAMPLE_UNREAD);
	}
	const struct map_entry *e = find_path(list, n, "/tmp/pp/my data file.bin");
	assert_non_null(e);
	assert_int_equal(e->size_kb, 64);
	assert_non_null(find_path(list, n, "/tmp/pp/gone.bin (deleted)"));
	assert_non_null(find_path(list, n, "[heap]"));
	procparse_free_maps(list, n);

	/* A cut last line is dropped, the rest kept. */
	char *c = cut(t, (size_t)(strstr(t, "[heap]") - t) + 2);
	assert_int_equal(procparse_maps(c, &list, &n), 0);
	assert_null(find_path(list, n, "[heap]"));
	assert_true(n > 0);
	procparse_free_maps(list, n);
	free(c);
	free(t);

	/* smaps is not maps: its field lines are garbage here. */
	assert_int_equal(procparse_maps(made_smaps, &list, &n), -EINVAL);
	assert_int_equal(procparse_maps("nonsense\n", &list, &n), -EINVAL);
	assert_int_equal(procparse_maps("", &list, &n), 0);
	assert_int_equal(n, 0);
	procparse_free_maps(list, n);
}

static void test_maps_summary(void **state)
{
	(void)state;
	char *t = load("mt_maps", NULL);
	struct map_entry *list;
	size_t n;
	int64_t count, heap;

	/* Agrees with the full parser on a real capture. */
	assert_int_equal(procparse_maps(t, &list, &n), 0);
	assert_int_equal(procparse_maps_summary(t, &count, &heap), 0);
	assert_int_equal(count, (int64_t)n);
	assert_int_equal(heap, find_path(list, n, "[heap]")->size_kb);
	procparse_free_maps(list, n);

	/* A cut last line is not counted; garbage is refused. */
	char *c = cut(t, (size_t)(strstr(t, "[heap]") - t) + 2);
	assert_int_equal(procparse_maps_summary(c, &count, &heap), 0);
	assert_int_equal(heap, 0);
	assert_true(count > 0 && count < (int64_t)n);
	free(c);
	free(t);
	assert_int_equal(procparse_maps_summary("nonsense\n", &count, &heap), -EINVAL);
	assert_int_equal(procparse_maps_summary("2000-1000 rw-p 0 00:00 0 [heap]\n", &count, &heap), -EINVAL);
	assert_int_equal(procparse_maps_summary("", &count, &heap), 0);
	assert_int_equal(count, 0);
}

/* ---- fdinfo ---- */

static void test_fdinfo_real(void **state)
{
	(void)state;
	struct proc_fdinfo fi;
	char *t = load("fdinfo_file", NULL);

	assert_int_equal(procparse_fdinfo(t, &fi), 0);
	assert_int_equal(fi.pos, 1234);
	assert_int_equal(fi.flags, 0100002);   /* O_LARGEFILE | O_RDWR, octal */
	assert_int_equal(fi.mnt_id, 27);
	assert_int_equal(fi.ino, 10953119);
	assert_int_equal(fi.eventfd_count, SAMPLE_UNREAD);
	assert_int_equal(fi.epoll_targets, 0);
	assert_int_equal(fi.inotify_watches, 0);
	free(t);

	/* eventfd-count is printed in hex: 255 shows as "ff". */
	t = load("fdinfo_eventfd", NULL);
	assert_int_equal(procparse_fdinfo(t, &fi), 0);
	assert_int_equal(fi.eventfd_count, 255);
	assert_int_equal(fi.flags, 04002);
	free(t);

	t = load("fdinfo_epoll", NULL);
	assert_int_equal(procparse_fdinfo(t, &fi), 0);
	assert_int_equal(fi.epoll_targets, 1);
	free(t);

	t = load("fdinfo_inotify", NULL);
	assert_int_equal(procparse_fdinfo(t, &fi), 0);
	assert_int_equal(fi.inotify_watches, 2);
	assert_int_equal(fi.flags, 0);
	free(t);

	static const char *const other[] = { "fdinfo_timerfd", "fdinfo_signalfd" };
	for (size_t i = 0; i < 2; i++) {
		t = load(other[i], NULL);
		assert_int_equal(procparse_fdinfo(t, &fi), 0);
		assert_int_equal(fi.pos, 0);
		assert_int_equal(fi.ino, 1038);
		assert_int_equal(fi.eventfd_count, SAMPLE_UNREAD);
		free(t);
	}
}

static void test_fdinfo_made(void **state)
{
	(void)state;
	struct proc_fdinfo fi;

	assert_int_equal(procparse_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t15\n"
					  "tfd:        3 events:       19 data: 3  pos:0 ino:1 sdev:f\n"
					  "tfd:        4 events:       19 data: 4  pos:0 ino:2 sdev:f\n",
					  &fi), 0);
	assert_int_equal(fi.epoll_targets, 2);
	assert_int_equal(fi.ino, SAMPLE_UNREAD);   /* absent on older kernels */

	/* Old kernels: no mnt_id either. */
	assert_int_equal(procparse_fdinfo("pos:\t-1\nflags:\t0100000\n", &fi), 0);
	assert_int_equal(fi.pos, -1);
	assert_int_equal(fi.mnt_id, SAMPLE_UNREAD);
	/* Unknown driver lines are not garbage. */
	assert_int_equal(procparse_fdinfo("pos:\t0\nflags:\t02\ndrm-driver:\ti915\nno colon\n",
					  &fi), 0);

	static const char *const bad[] = {
		"", "pos:\t0\n", "flags:\t02\n", "pos:\t0\nflags:\t09\n",
		"pos:\tx\nflags:\t02\n", "pos:\t0\nflags:\t02\nmnt_id:\t\n",
		"pos:\t99999999999999999999\nflags:\t02\n",
		"pos:\t0\nflags:\t02\neventfd-count:   fffffffffffffffff\n",
		"pos:\t0\nflags:\t02\nino:\t18446744073709551615\n",
		"pos:\t0\nflags:\t02\neventfd-count: 0x10\n",
		"pos:\t0\nflags:\t02",   /* flags cut: maybe "020" */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(procparse_fdinfo(bad[i], &fi), -EINVAL);
}

/* ---- cmdline, wchan ---- */

static void test_cmdline(void **state)
{
	(void)state;
	size_t len;
	char *t = load("mt_cmdline", &len);
	char *s = procparse_cmdline(t, len);

	/* argv: "./fixgen" "arg one" "" "tab\targ" */
	assert_string_equal(s, "./fixgen arg one  tab\targ");
	free(s);
	free(t);

	t = load("zombie_cmdline", &len);
	assert_int_equal(len, 0);
	s = procparse_cmdline(t, len);
	assert_string_equal(s, "");
	free(s);
	free(t);

	s = procparse_cmdline(NULL, 0);
	assert_string_equal(s, "");
	free(s);
	/* A process that rewrote its argv may leave no NUL at all. */
	s = procparse_cmdline("nginx: worker process", 21);
	assert_string_equal(s, "nginx: worker process");
	free(s);
	s = procparse_cmdline("a\0", 2);
	assert_string_equal(s, "a");
	free(s);
	s = procparse_cmdline("\0", 1);
	assert_string_equal(s, "");
	free(s);
}

static void test_wchan(void **state)
{
	(void)state;
	char out[64], small[6];
	char *t = load("mt_wchan", NULL);

	procparse_wchan(t, out, sizeof(out));
	assert_string_equal(out, "__do_sys_pause");
	procparse_wchan(t, small, sizeof(small));
	assert_string_equal(small, "__do_");
	free(t);

	t = load("zombie_wchan", NULL);
	procparse_wchan(t, out, sizeof(out));
	assert_string_equal(out, "");
	free(t);

	procparse_wchan("0\n", out, sizeof(out));
	assert_string_equal(out, "");
	procparse_wchan("", out, sizeof(out));
	assert_string_equal(out, "");
	procparse_wchan("00", out, sizeof(out));
	assert_string_equal(out, "00");
	procparse_wchan("do_wait\n", out, sizeof(out));
	assert_string_equal(out, "do_wait");
	out[0] = 'x';
	procparse_wchan("do_wait", out, 0);
	assert_int_equal(out[0], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_init),
		cmocka_unit_test(test_stat_multithreaded),
		cmocka_unit_test(test_stat_kernel_threads),
		cmocka_unit_test(test_stat_zombie),
		cmocka_unit_test(test_stat_hostile_comm_real),
		cmocka_unit_test(test_stat_hostile_comm_made),
		cmocka_unit_test(test_stat_truncated),
		cmocka_unit_test(test_stat_garbage),
		cmocka_unit_test(test_stat_huge_numbers),
		cmocka_unit_test(test_stat_old_kernel),
		cmocka_unit_test(test_status_multithreaded),
		cmocka_unit_test(test_status_no_mm),
		cmocka_unit_test(test_status_hostile_name),
		cmocka_unit_test(test_status_truncated),
		cmocka_unit_test(test_status_garbage_and_overflow),
		cmocka_unit_test(test_statm),
		cmocka_unit_test(test_schedstat),
		cmocka_unit_test(test_rollup),
		cmocka_unit_test(test_smaps_real),
		cmocka_unit_test(test_smaps_made),
		cmocka_unit_test(test_smaps_cut),
		cmocka_unit_test(test_smaps_garbage),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_maps_summary),
		cmocka_unit_test(test_fdinfo_real),
		cmocka_unit_test(test_fdinfo_made),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_wchan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
