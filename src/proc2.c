#include "proc2.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

/* The soname of the library libproc2-dev links against. */
#define PROC2_SONAME "libproc2.so.0"

int proc2_open(struct proc2 *p, enum pids_item *items, int nitems)
{
	memset(p, 0, sizeof(*p));
	p->lib = dlopen(PROC2_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!p->lib)
		return -ELIBACC;
	/* dlsym returns void *: converting it to a function pointer is what
	 * POSIX requires to work. */
	*(void **)&p->pids_new = dlsym(p->lib, "procps_pids_new");
	*(void **)&p->pids_get = dlsym(p->lib, "procps_pids_get");
	*(void **)&p->pids_unref = dlsym(p->lib, "procps_pids_unref");
	int rc = p->pids_new && p->pids_get && p->pids_unref ? p->pids_new(&p->info, items, nitems)
							      : -ELIBACC;
	if (rc < 0)
		proc2_close(p);
	return rc < 0 ? rc : 0;
}

struct pids_stack *proc2_next(struct proc2 *p)
{
	return p->info ? p->pids_get(p->info, PIDS_FETCH_TASKS_ONLY) : NULL;
}

void proc2_close(struct proc2 *p)
{
	if (p->info)
		p->pids_unref(&p->info);
	if (p->lib)
		dlclose(p->lib);
	memset(p, 0, sizeof(*p));
}

const char *proc2_strerror(int rc)
{
	return rc == -ELIBACC ? PROC2_SONAME " missing (install libproc2-0)" : strerror(-rc);
}
