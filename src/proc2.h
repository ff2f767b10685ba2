/* proc2.h — libproc2 (procps-ng 4), opened when first needed.
 *
 * Only finding processes by name and the process picker use it, but linking
 * it would load libsystemd, libgcrypt and four compression libraries into
 * every run: 2.4 ms of each start here, a tenth of a one-shot sample.  So
 * the functions that need it open it with dlopen.  pscope still compiles
 * against its headers (libproc2-dev), and the pointers below take their
 * types from those prototypes: a signature that changes does not compile. */
#ifndef PSCOPE_PROC2_H
#define PSCOPE_PROC2_H

#include <libproc2/pids.h>
#include <stddef.h>

struct proc2 {
	void *lib;
	__typeof__(procps_pids_new) *pids_new;
	__typeof__(procps_pids_get) *pids_get;
	__typeof__(procps_pids_unref) *pids_unref;
};

/* Returns 0, or -ELIBACC when libproc2 cannot be loaded (the reason is
 * printed by nobody: callers say what they could not do). */
int proc2_open(struct proc2 *p);
void proc2_close(struct proc2 *p);

#endif
