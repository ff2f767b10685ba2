/* proc2.h — libproc2 (procps-ng 4), opened when first needed.
 *
 * Only finding processes by name and the process picker use it, but linking
 * it would load libsystemd, libgcrypt and four compression libraries into
 * every run: 2.4 ms of each start here, a tenth of a one-shot sample.  So
 * the functions that need it open it with dlopen, read every process once
 * and close it.  pscope still compiles against its headers (libproc2-dev),
 * and the pointers below take their types from those prototypes: a
 * signature that changes does not compile. */
#ifndef PSCOPE_PROC2_H
#define PSCOPE_PROC2_H

#include <libproc2/pids.h>

struct proc2 {
	void *lib;
	struct pids_info *info;
	__typeof__(procps_pids_new) *pids_new;
	__typeof__(procps_pids_get) *pids_get;
	__typeof__(procps_pids_unref) *pids_unref;
};

/* Opens libproc2 to read items of every process.  Returns 0, or a negative
 * errno: -ELIBACC when libproc2 cannot be loaded. */
int proc2_open(struct proc2 *p, enum pids_item *items, int nitems);
/* The next process's items (read them with PIDS_VAL), or NULL after the last. */
struct pids_stack *proc2_next(struct proc2 *p);
void proc2_close(struct proc2 *p);
/* What a negative errno from proc2_open() means, for a message. */
const char *proc2_strerror(int rc);

#endif
