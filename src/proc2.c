#include "proc2.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

/* The soname of the library libproc2-dev links against. */
#define PROC2_SONAME "libproc2.so.0"

int proc2_open(struct proc2 *p)
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
	if (!p->pids_new || !p->pids_get || !p->pids_unref) {
		proc2_close(p);
		return -ELIBACC;
	}
	return 0;
}

void proc2_close(struct proc2 *p)
{
	if (p->lib)
		dlclose(p->lib);
	memset(p, 0, sizeof(*p));
}
