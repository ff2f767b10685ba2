#include "metrics.h"

#include <math.h>
#include <stdio.h>

static const char *const fixed_names[] = {
	[M_RSS_KB] = "rss_kb", [M_PSS_KB] = "pss_kb", [M_ANON_KB] = "anon_kb",
	[M_FILE_KB] = "file_kb", [M_SHMEM_KB] = "shmem_kb", [M_HEAP_KB] = "heap_kb",
	[M_SWAP_KB] = "swap_kb", [M_VMDATA_KB] = "vmdata_kb", [M_MAPPINGS] = "mappings",
	[M_THREADS] = "threads", [M_CPU_PCT] = "cpu_pct", [M_FDS] = "fds",
};

const char *metrics_name(enum metric m, char *buf, size_t size)
{
	if (m < M_FD_KIND0)
		snprintf(buf, size, "%s", fixed_names[m]);
	else if (m < M_SOCKETS)
		snprintf(buf, size, "fds.%s", fd_kind_name((enum fd_kind)(m - M_FD_KIND0)));
	else if (m == M_SOCKETS)
		snprintf(buf, size, "sockets");
	else
		snprintf(buf, size, "sockets.%s", tcp_state_name(m - M_TCP_STATE0 + 1));
	return buf;
}

void metrics_register(struct history *h)
{
	char name[40];

	for (int m = 0; m < M_BUILTIN_COUNT; m++)
		history_add_series(h, metrics_name((enum metric)m, name, sizeof(name)));
}

static double num(int64_t v)
{
	return v == SAMPLE_UNREAD ? NAN : (double)v;
}

void metrics_extract(const struct sample *s, double *values)
{
	const struct sample_memory *m = &s->mem;

	values[M_RSS_KB] = num(m->rss_kb);
	values[M_PSS_KB] = num(m->pss_kb);
	values[M_ANON_KB] = num(m->anon_kb);
	values[M_FILE_KB] = num(m->file_kb);
	values[M_SHMEM_KB] = num(m->shmem_kb);
	values[M_HEAP_KB] = num(m->heap_kb);
	values[M_SWAP_KB] = num(m->swap_kb);
	values[M_VMDATA_KB] = num(m->vmdata_kb);
	values[M_MAPPINGS] = num(m->mappings);
	values[M_THREADS] = sample_readable(s, PART_THREADS) ? (double)s->threads.count : NAN;
	values[M_CPU_PCT] = s->threads.cpu_pct;
	values[M_FDS] = num(s->fd_count);
	for (int k = 0; k < FD_KIND_COUNT; k++)
		values[M_FD_KIND0 + k] = s->fds ? s->fds->by_kind[k] : NAN;
	values[M_SOCKETS] = num(sample_socket_count(s));
	bool sockets_known = s->fds && !s->fds->sock_err;
	for (int st = 1; st < TCP_STATE_COUNT; st++)
		values[M_TCP_STATE0 + st - 1] = sockets_known ? s->fds->by_state[st] : NAN;
}
