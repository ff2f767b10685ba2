/* jsonw.h — a streaming JSON writer into a growable buffer.
 *
 * Batch mode prints one object per target per sample; on a process with
 * 10,000 fds that is 1.2 MB a line.  Building it as a jansson tree cost
 * about 28 ms of CPU per line (an allocation per value), more than the
 * sampling itself; writing straight into a buffer costs a few ms.  The
 * writer tracks commas itself, escapes every string (control characters as
 * \u00XX) and sanitizes untrusted text (sanitize.h) so the output is always
 * valid UTF-8.  Numbers that are NAN or infinite are written as null. */
#ifndef PSCOPE_JSONW_H
#define PSCOPE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { JSONW_MAX_DEPTH = 32 };

struct jsonw {
	char *buf;
	size_t len, cap;
	int depth;
	bool need_comma[JSONW_MAX_DEPTH];
	bool after_key;
};

void jsonw_init(struct jsonw *w);
void jsonw_free(struct jsonw *w);
void jsonw_reset(struct jsonw *w);     /* empty the buffer, keep its memory */

void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);
void jsonw_key(struct jsonw *w, const char *key);   /* key: trusted ASCII */

/* An untrusted string: sanitized, then escaped. */
void jsonw_string(struct jsonw *w, const char *raw);
void jsonw_int(struct jsonw *w, int64_t v);
/* decimals: digits after the point (trailing zeros trimmed). */
void jsonw_double(struct jsonw *w, double v, int decimals);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* Key/value shorthands. */
void jsonw_kv_string(struct jsonw *w, const char *key, const char *raw);
void jsonw_kv_int(struct jsonw *w, const char *key, int64_t v);
void jsonw_kv_double(struct jsonw *w, const char *key, double v, int decimals);
void jsonw_kv_bool(struct jsonw *w, const char *key, bool v);

#endif
