/* fds.h — the target's file descriptor table.
 *
 * fds_scan() lists /proc/PID/fd through a kept-open directory fd
 * (getdents64 + readlinkat), classifies each entry from its link text (and an
 * fstatat only for path targets, where the text cannot tell a file from a
 * directory, fifo or device), and resolves socket inodes through sockets.h.
 * Entries that vanish between listing and readlink are skipped: fds churn.
 * fds_count() is the cheap per-tick count (fstat of the directory). */
#ifndef PSCOPE_FDS_H
#define PSCOPE_FDS_H

#include <sys/stat.h>

#include "sample.h"

struct sock_resolver;

/* Classify one fd from its readlink text and, for path targets, its st_mode
 * (0 when unknown).  Pure: unit-tested on fixtures. */
enum fd_kind fds_classify(const char *link, mode_t mode);

/* Inode in "socket:[123]", "pipe:[456]"; 0 when the text has none. */
uint64_t fds_link_inode(const char *link);

/* Number of open fds from fstat(dirfd).st_size (kernel >= 6.2), or a
 * negative errno; -ENOTSUP when the kernel reports no size. */
long fds_count(int fd_dirfd);

/* Scan the table.  fd_dirfd is an open O_DIRECTORY fd on /proc/PID/fd;
 * resolver may be NULL (sockets then stay unresolved and sock_err says why).
 * prev, the previous scan or NULL, saves the fstatat of every fd whose
 * number and path are unchanged (a quarter of the scan on path-heavy
 * processes); a file re-opened under the same number and path between two
 * scans then keeps its old inode.  Returns 0 and a new table with refs 1,
 * or a negative errno. */
int fds_scan(int fd_dirfd, struct sock_resolver *resolver, const struct fd_table *prev,
	     struct fd_table **out);

#endif
