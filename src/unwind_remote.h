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
 * While a thread is stopped only its registers and the top of its stack are
 * copied (a grab: one PTRACE_GETREGS, one process_vm_readv); the unwind runs
 * on that copy after the thread is resumed, so the stop does not grow with
 * the unwinder's cold start (250-450 µs for the first thread of each kind).
 * The copy is sized by how deep the thread's last unwind read; reads beyond
 * it go to the live stack.
 * A thread that has not moved since the previous capture (same registers,
 * same stack words where the unwind read) gets its previous frames back
 * without unwinding, and so does a thread parked exactly like another one
 * already unwound (a pool of identical workers): a compare instead of
 * about 20 µs of unwinding.
 * It only reads: registers and memory are never written. */
#ifndef PSCOPE_UNWIND_REMOTE_H
#define PSCOPE_UNWIND_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

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

/* A stopped thread's registers and a copy of its stack from the stack
 * pointer up: [lo, lo + len). */
struct unwind_grab {
	struct user_regs_struct regs;
	uint64_t lo;
	size_t len;
	unsigned char *bytes;
	bool borrowed;           /* bytes belong to the caller */
};

/* How many bytes thread tid's grab will want: about a page for a thread
 * parked where it was last unwound, 32 KiB for one never seen. */
size_t unwind_remote_grab_want(struct unwind_remote *u, pid_t tid);

/* Before thread tid is stopped: a buffer of the size its grab will want,
 * already written to, so that no page fault of ours lengthens the stop.
 * With buf (at least unwind_remote_grab_want() bytes, already written to)
 * the grab uses it instead of a buffer of its own. */
void unwind_remote_grab_prepare(struct unwind_remote *u, pid_t tid, struct unwind_grab *g,
				unsigned char *buf);

/* Fill the prepared g from thread tid, which must be in a ptrace stop of
 * ours.  Returns 0, or a negative errno when the registers could not be
 * read.  Release g in either case. */
int unwind_remote_grab(struct unwind_remote *u, pid_t tid, struct unwind_grab *g);
void unwind_grab_release(struct unwind_grab *g);

/* Unwind what g holds of thread tid; the thread may run again meanwhile.
 * Stores up to max PCs, innermost first, and returns how many (at least 1). */
size_t unwind_remote_frames(struct unwind_remote *u, pid_t tid, const struct unwind_grab *g,
			    uint64_t *pcs, size_t max);

#endif
