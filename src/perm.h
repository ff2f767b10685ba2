/* perm.h — say why the target's protected data could not be read.
 *
 * /proc/PID/{fd,maps,smaps*,environ} and ptrace need "ptrace read" access:
 * the same uid and a dumpable process, or CAP_SYS_PTRACE.  A denied read is
 * only useful with its reason: another user, a missing capability, a
 * process that made itself non-dumpable, Yama's ptrace_scope (which only
 * restricts attaching), or a container started without SYS_PTRACE. */
#ifndef PSCOPE_PERM_H
#define PSCOPE_PERM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct perm_context {
	uid_t euid;
	bool cap_sys_ptrace;       /* in our effective set */
	bool cap_in_bounding;      /* could we ever get it? no: a container */
	bool in_container;
	int ptrace_scope;          /* Yama's value, -1 without Yama */
};

/* Read our own credentials once at startup. */
void perm_probe(struct perm_context *c);

/* Explain err (a negative errno from reading a protected file of pid, whose
 * real uid is target_uid) in one line, without a trailing newline.  attach is
 * true for ptrace attach (stacks), false for /proc reads. */
void perm_explain(const struct perm_context *c, pid_t pid, uid_t target_uid, int err,
		  bool attach, char *buf, size_t size);

/* Pure parts, exposed for tests: the capability bit from a status line such
 * as "CapEff:\t000001ffffffffff". */
bool perm_cap_bit(const char *status_text, const char *key, int bit);

#endif
