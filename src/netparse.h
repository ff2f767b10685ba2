/* netparse.h — pure parsers for socket tables.
 *
 * /proc/PID/net/{tcp,tcp6,udp,udp6,raw,raw6} lines and /proc/PID/net/unix
 * lines, and NETLINK_SOCK_DIAG replies (inet_diag_msg and unix_diag_msg with
 * their attributes), each turned into struct sock_info.  They take bytes and
 * return structs, so fixtures (malformed and truncated included) test them. */
#ifndef PSCOPE_NETPARSE_H
#define PSCOPE_NETPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "sample.h"

/* Called once per parsed socket. */
typedef void (*netparse_sink)(const struct sock_info *si, void *arg);

/* A whole /proc/net/{tcp,udp,raw}[6] file; proto says which.  Returns the
 * number of sockets parsed, or -EINVAL when the header is not recognised.
 * Garbled lines are skipped. */
int netparse_proc_inet(const char *text, enum sock_proto proto, netparse_sink sink, void *arg);

/* A whole /proc/net/unix file. */
int netparse_proc_unix(const char *text, netparse_sink sink, void *arg);

/* One buffer of netlink messages from a sock_diag dump (len bytes).
 * Returns the number of sockets parsed, 0 when the buffer ends the dump
 * (NLMSG_DONE seen: *done is set), or a negative errno (an NLMSG_ERROR). */
int netparse_diag_inet(const void *buf, size_t len, enum sock_proto proto,
		       netparse_sink sink, void *arg, int *done);
int netparse_diag_unix(const void *buf, size_t len, netparse_sink sink, void *arg, int *done);

/* Format an address as "1.2.3.4:80" or "[::1]:80" into out. */
void netparse_format_inet(int family, const void *addr, uint16_t port, char *out, size_t outsz);

#endif
