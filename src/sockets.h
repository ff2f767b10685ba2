/* sockets.h — resolve socket inodes to protocol, addresses, state, queues.
 *
 * The fast path is one NETLINK_SOCK_DIAG dump per family (tcp, tcp6, udp,
 * udp6, unix; raw and netlink/packet where the kernel has them), taken in
 * the target's network namespace: a netlink socket sees only the namespace
 * it was created in, so when the target lives elsewhere the resolver creates
 * its socket there (setns, which needs CAP_SYS_ADMIN).  When that is not
 * possible it reads /proc/PID/net/{tcp,tcp6,udp,udp6,unix}, which always show
 * the target's namespace, and says so in its note.  Only the families the
 * target uses are dumped. */
#ifndef PSCOPE_SOCKETS_H
#define PSCOPE_SOCKETS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sample.h"

struct sock_resolver;

/* Prepare a resolver for process pid.  Never fails for lack of privilege:
 * it falls back to /proc/PID/net.  Returns 0 or a negative errno. */
int sockets_open(pid_t pid, struct sock_resolver **out);
void sockets_close(struct sock_resolver *r);

/* Take a fresh snapshot of the sockets of the target's namespace.  want is a
 * bit set of (1u << enum sock_proto) for the families to dump (the caller
 * does not know them yet, so passing all is fine; the cost is per host
 * socket).  Returns 0 or a negative errno. */
int sockets_refresh(struct sock_resolver *r, unsigned want);

/* Look up an inode in the last snapshot; NULL when unknown. */
const struct sock_info *sockets_lookup(const struct sock_resolver *r, uint64_t ino);

/* A short note on how the snapshot was taken ("" when by netlink in the
 * target's namespace). */
const char *sockets_note(const struct sock_resolver *r);

#endif
