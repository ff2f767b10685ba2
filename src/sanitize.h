/* sanitize.h — make untrusted bytes safe for a terminal or a JSON string.
 *
 * Process and thread names, command lines, paths, socket paths and symbol
 * names come from the target and can hold any byte.  The output keeps valid
 * printable UTF-8 as it is and replaces each C0 control (including TAB and
 * newline), DEL, C1 control (U+0080..U+009F, which some terminals treat as
 * CSI/OSC) and each byte of an invalid, overlong or surrogate UTF-8 sequence
 * with one visible replacement: U+FFFD when utf8 is true, '?' otherwise.  In
 * ASCII mode every non-ASCII character becomes '?' too.  The result is
 * always NUL-terminated and never cut inside a character. */
#ifndef PSCOPE_SANITIZE_H
#define PSCOPE_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Sanitize len bytes of in into out (outsz bytes).  Returns the length
 * written; output that does not fit is truncated at a character boundary. */
size_t sanitize_bytes(const char *in, size_t len, char *out, size_t outsz, bool utf8);

/* Same for a NUL-terminated string, into a malloc'd result. */
char *sanitize_dup(const char *in, bool utf8);

/* Number of terminal columns the sanitized text takes (each replacement
 * counts one; wide characters two). */
size_t sanitize_width(const char *sanitized);

#endif
