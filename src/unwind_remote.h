/* unwind_remote.h — libunwind over one stopped thread of another process.
 *
 * One context per target keeps a libunwind address space with the global
 * cache on (without it libunwind re-reads /proc/PID/maps and re-maps ELF
 * files at every step: 47x slower), and its own accessors:
 *   memory     process_vm_readv through a small page cache, emptied for
 *              every thread (about one syscall per thread);
 *   registers  one PTRACE_GETREGS per thread;
 *   unwind     the .eh_frame_hdr table of each executable mapping, located
 *   tables     from the ELF headers in the target's own memory.  That covers
 *              the vDSO (which libunwind 1.6 cannot unwind remotely), and a
 *              module without one (Go) gets "no info" at once, so libunwind
 *              follows the frame-pointer chain instead of searching.
 * A thread that has not moved since the previous capture (same registers,
 * same stack bytes where the unwind read) gets its previous frames back
 * without unwinding: one read and a compare instead of ~1 µs per frame.
 * It only reads: registers and memory are never written. */
#ifndef PSCOPE_UNWIND_REMOTE_H
#define PSCOPE_UNWIND_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct unwind_remote;

/* proc_dirfd is an open /proc/PID directory, borrowed for the context's
 * lifetime.  Returns 0 or a negative errno with a reason in err. */
int unwind_remote_open(pid_t pid, int proc_dirfd, struct unwind_remote **out,
		       char *err, size_t errlen);
void unwind_remote_close(struct unwind_remote *u);

/* Re-read the target's executable mappings.  Returns 1 when they changed
 * since the last call (libunwind's caches are then flushed), 0 when not,
 * or a negative errno. */
int unwind_remote_sync(struct unwind_remote *u);

/* Unwind thread tid, which must be in a ptrace stop of ours.  Stores up to
 * max PCs, innermost first.  Returns how many, or a negative errno (the
 * registers could not be read). */
int unwind_remote_thread(struct unwind_remote *u, pid_t tid, uint64_t *pcs, size_t max);

#endif
