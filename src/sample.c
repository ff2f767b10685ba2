#include "sample.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins.h"
#include "stacks.h"

static const char *const part_names[PART_COUNT] = {
	[PART_CMDLINE] = "cmdline", [PART_EXE] = "exe", [PART_MEMORY] = "memory",
	[PART_PSS] = "pss", [PART_HEAP] = "heap", [PART_MAPS] = "maps",
	[PART_SMAPS] = "smaps", [PART_THREADS] = "threads", [PART_WCHAN] = "wchan",
	[PART_FDS] = "fds", [PART_SOCKETS] = "sockets", [PART_STACKS] = "stacks",
};

static const char *const kind_names[FD_KIND_COUNT] = {
	[FD_FILE] = "file", [FD_DIR] = "dir", [FD_SOCKET] = "socket",
	[FD_PIPE] = "pipe", [FD_FIFO] = "fifo", [FD_EVENTFD] = "eventfd",
	[FD_EPOLL] = "epoll", [FD_TIMERFD] = "timerfd", [FD_SIGNALFD] = "signalfd",
	[FD_INOTIFY] = "inotify", [FD_MEMFD] = "memfd", [FD_ANON] = "anon_inode",
	[FD_DEVICE] = "device", [FD_OTHER] = "other",
};

static const char *const proto_names[PROTO_COUNT] = {
	[PROTO_TCP] = "tcp", [PROTO_TCP6] = "tcp6", [PROTO_UDP] = "udp",
	[PROTO_UDP6] = "udp6", [PROTO_UNIX] = "unix", [PROTO_NETLINK] = "netlink",
	[PROTO_RAW] = "raw", [PROTO_RAW6] = "raw6", [PROTO_PACKET] = "packet",
	[PROTO_OTHER] = "other",
};

/* include/net/tcp_states.h */
static const char *const tcp_state_names[TCP_STATE_COUNT] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV", [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2", [6] = "TIME_WAIT", [7] = "CLOSE", [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
};

const char *sample_part_name(enum sample_part p)
{
	return (unsigned)p < PART_COUNT ? part_names[p] : "?";
}

const char *fd_kind_name(enum fd_kind k)
{
	return (unsigned)k < FD_KIND_COUNT ? kind_names[k] : "other";
}

const char *sock_proto_name(enum sock_proto p)
{
	return (unsigned)p < PROTO_COUNT ? proto_names[p] : "other";
}

const char *tcp_state_name(int state)
{
	return state > 0 && state < TCP_STATE_COUNT ? tcp_state_names[state] : NULL;
}

struct fd_table *fd_table_ref(struct fd_table *t)
{
	if (t)
		t->refs++;
	return t;
}

void fd_table_unref(struct fd_table *t)
{
	if (!t || --t->refs > 0)
		return;
	for (size_t i = 0; i < t->count; i++)
		free(t->list[i].target);
	free(t->list);
	free(t->sockets);
	free(t);
}

struct map_table *map_table_ref(struct map_table *t)
{
	if (t)
		t->refs++;
	return t;
}

void map_table_unref(struct map_table *t)
{
	if (!t || --t->refs > 0)
		return;
	for (size_t i = 0; i < t->count; i++)
		free(t->list[i].path);
	free(t->list);
	free(t);
}

void sample_init(struct sample *s)
{
	memset(s, 0, sizeof(*s));
	struct sample_memory *m = &s->mem;
	m->rss_kb = m->anon_kb = m->file_kb = m->shmem_kb = SAMPLE_UNREAD;
	m->pss_kb = m->swap_kb = m->vmdata_kb = m->vmsize_kb = SAMPLE_UNREAD;
	m->heap_kb = m->mappings = SAMPLE_UNREAD;
	s->id.num_threads = SAMPLE_UNREAD;
	s->fd_count = SAMPLE_UNREAD;
	s->threads.cpu_pct = NAN;
}

void sample_free(struct sample *s)
{
	free(s->id.cmdline);
	free(s->id.exe);
	free(s->threads.list);
	fd_table_unref(s->fds);
	map_table_unref(s->maps);
	stack_snapshot_unref(s->stacks);
	stack_snapshot_unref(s->stacks_base);
	plugin_results_unref(s->plugins_base);
	plugin_results_unref(s->plugins);
	memset(s, 0, sizeof(*s));
}

void sample_set_unreadable(struct sample *s, enum sample_part p, int err, const char *fmt, ...)
{
	va_list ap;

	s->part_err[p] = err < 0 ? err : -err;
	va_start(ap, fmt);
	vsnprintf(s->why[p], sizeof(s->why[p]), fmt, ap);
	va_end(ap);
}

bool sample_readable(const struct sample *s, enum sample_part p)
{
	return s->part_err[p] == 0;
}

int64_t sample_socket_count(const struct sample *s)
{
	return s->fds ? (int64_t)s->fds->by_kind[FD_SOCKET] : SAMPLE_UNREAD;
}
