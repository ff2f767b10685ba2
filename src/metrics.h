/* metrics.h — the built-in numeric series of a sample.
 *
 * Every number a user may want to watch grow (memory, threads, CPU, fds per
 * kind, sockets per TCP state) is a named series.  metrics_register() adds
 * them to a history in a fixed order, so enum metric is also the series
 * index; metrics_extract() turns a sample into one value per series, NAN for
 * what was not readable. */
#ifndef PSCOPE_METRICS_H
#define PSCOPE_METRICS_H

#include <stddef.h>

#include "history.h"
#include "sample.h"

enum metric {
	M_RSS_KB, M_PSS_KB, M_ANON_KB, M_FILE_KB, M_SHMEM_KB, M_HEAP_KB,
	M_SWAP_KB, M_VMDATA_KB, M_MAPPINGS, M_THREADS, M_CPU_PCT, M_FDS,
	M_FD_KIND0,                                   /* one per enum fd_kind */
	M_SOCKETS = M_FD_KIND0 + FD_KIND_COUNT,
	M_TCP_STATE0,                                 /* one per TCP state 1..12 */
	M_BUILTIN_COUNT = M_TCP_STATE0 + TCP_STATE_COUNT - 1
};

/* Series names: "rss_kb", ..., "fds", "fds.pipe", "sockets",
 * "sockets.CLOSE_WAIT"; written into buf (40 bytes are enough). */
const char *metrics_name(enum metric m, char *buf, size_t size);
void metrics_register(struct history *h);
void metrics_extract(const struct sample *s, double *values);

#endif
