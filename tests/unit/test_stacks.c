/* Stack capture: the snapshot diff on hand-built snapshots, the errors for
 * a process that is gone, and one capture of a real child (stacky), after
 * which none of its threads may be left stopped.  The process-level cases
 * (signals, SIGKILL, churn, tracers) are in tests/integration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stacks.h"

#define STACKY FIXTURES "/../../build/targets/stacky"

/* ------------------------------------------------------------ diff */

/* A snapshot of groups given as (count, function name) pairs, one frame
 * each, built the way stacks_capture lays them out. */
static struct stack_snapshot *fake_snapshot(size_t ngroups, const size_t *counts,
					    const char *const *funcs)
{
	struct stack_snapshot *s = calloc(1, sizeof(*s));
	s->refs = 1;
	s->nthreads = ngroups;
	s->threads = calloc(ngroups, sizeof(*s->threads));
	s->ngroups = ngroups;
	s->groups = calloc(ngroups, sizeof(*s->groups));
	for (size_t i = 0; i < ngroups; i++) {
		struct stack_thread *t = &s->threads[i];
		t->tid = (pid_t)(100 + i);
		t->nframes = 1;
		t->frames = calloc(1, sizeof(*t->frames));
		t->frames[0].pc = 0x1000 + i;   /* different PCs: diff must go by name */
		t->frames[0].func = funcs[i];
		t->frames[0].module = "/lib/x.so";
		s->groups[i].count = counts[i];
		s->groups[i].tids = calloc(counts[i], sizeof(pid_t));
		s->groups[i].rep = i;
	}
	return s;
}

static void test_diff_by_function_names(void **state)
{
	(void)state;
	const char *old_funcs[] = { "worker_wait", "main_loop" };
	const size_t old_counts[] = { 10, 1 };
	const char *new_funcs[] = { "worker_wait", "leak_wait", "main_loop" };
	const size_t new_counts[] = { 50, 3, 1 };
	struct stack_snapshot *old = fake_snapshot(2, old_counts, old_funcs);
	struct stack_snapshot *cur = fake_snapshot(3, new_counts, new_funcs);
	struct stack_group_diff d[3];

	stacks_diff(old, cur, d);
	assert_int_equal(d[0].delta, 40);
	assert_false(d[0].is_new);
	assert_int_equal(d[1].delta, 3);
	assert_true(d[1].is_new);
	assert_int_equal(d[2].delta, 0);
	assert_false(d[2].is_new);
	stack_snapshot_unref(old);
	stack_snapshot_unref(cur);
}

static void test_snapshot_refcount(void **state)
{
	(void)state;
	const char *funcs[] = { "f" };
	const size_t counts[] = { 1 };
	struct stack_snapshot *s = fake_snapshot(1, counts, funcs);

	assert_ptr_equal(stack_snapshot_ref(s), s);
	assert_int_equal(s->refs, 2);
	stack_snapshot_unref(s);
	assert_int_equal(s->refs, 1);
	stack_snapshot_unref(s);        /* freed: ASan would catch a leak or double free */
	stack_snapshot_unref(NULL);
}

/* ------------------------------------------------------------ processes */

static void test_open_gone_process(void **state)
{
	(void)state;
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);         /* reaped: the PID is free */

	struct stacks_ctx *c = NULL;
	char err[160] = "";
	assert_int_equal(stacks_open(child, &c, err, sizeof(err)), -ESRCH);
	assert_null(c);
	assert_non_null(strstr(err, "no such process"));
}

static void test_open_self_refused(void **state)
{
	(void)state;
	struct stacks_ctx *c = NULL;
	char err[160] = "";
	assert_int_equal(stacks_open(getpid(), &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "own threads"));
}

static void test_open_zombie(void **state)
{
	(void)state;
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	usleep(100000);                  /* exited, not reaped yet */

	struct stacks_ctx *c = NULL;
	char err[160] = "";
	assert_int_equal(stacks_open(child, &c, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "zombie"));
	waitpid(child, NULL, 0);
}

/* The state letter of every thread of pid, concatenated. */
static void thread_states(pid_t pid, char *out, size_t size)
{
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "cat /proc/%d/task/*/stat 2>/dev/null", (int)pid);
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	char line[1024];
	while (p && fgets(line, sizeof(line), p) && n + 1 < size) {
		char *rp = strrchr(line, ')');
		if (rp && rp[1] == ' ')
			out[n++] = rp[2];
	}
	out[n] = '\0';
	if (p)
		pclose(p);
}

static void test_capture_real_child(void **state)
{
	(void)state;
	if (access(STACKY, X_OK) != 0)
		skip();   /* build/targets/stacky is built by make test */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t child = fork();
	if (child == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(STACKY, "stacky", "--threads", "3", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char truth[4096];
	ssize_t n = read(fds[0], truth, sizeof(truth) - 1);   /* the ready line */
	assert_true(n > 0);

	struct stacks_ctx *c;
	char err[160];
	assert_int_equal(stacks_open(child, &c, err, sizeof(err)), 0);
	for (int consistent = 0; consistent < 2; consistent++) {
		struct stack_snapshot *s;
		assert_int_equal(stacks_capture(c, consistent, NULL, &s, err, sizeof(err)), 0);
		assert_int_equal(s->nthreads, 4);
		assert_int_equal(s->consistent, consistent);
		size_t grouped = 0;
		for (size_t g = 0; g < s->ngroups; g++)
			grouped += s->groups[g].count;
		assert_int_equal(grouped, 4);
		for (size_t i = 0; i < s->nthreads; i++) {
			const struct stack_thread *t = &s->threads[i];
			assert_int_equal(t->err, 0);
			assert_true(t->nframes >= 3);
			assert_true(t->stop_ns > 0);
			assert_true(t->group >= 0);
		}
		assert_true(s->stop_us_max >= s->stop_us_median && s->stop_us_median > 0);
		stack_snapshot_unref(s);
	}
	stacks_close(c);

	char states[64];
	thread_states(child, states, sizeof(states));
	assert_int_equal(strlen(states), 4);
	assert_null(strchr(states, 't'));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_by_function_names),
		cmocka_unit_test(test_snapshot_refcount),
		cmocka_unit_test(test_open_gone_process),
		cmocka_unit_test(test_open_self_refused),
		cmocka_unit_test(test_open_zombie),
		cmocka_unit_test(test_capture_real_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
