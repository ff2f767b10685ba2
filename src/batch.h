/* batch.h — print samples for scripts and people: JSON lines or top-like
 * text.  Both read a sample and its history and write nothing else: every
 * untrusted string (names, command lines, paths, socket paths) goes through
 * sanitize.h first, so neither a terminal nor a JSON parser ever sees raw
 * control bytes or invalid UTF-8 from the target. */
#ifndef PSCOPE_BATCH_H
#define PSCOPE_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "history.h"
#include "sample.h"

struct batch_options {
	double window_s;     /* growth window */
	bool utf8;           /* text: the terminal takes UTF-8 */
	bool maps;           /* include the per-mapping table */
	bool brief;          /* leave out the thread, fd and socket lists */
	bool stacks_only;    /* the header and the stacks, nothing else */
};

/* One JSON object on one line.  Returns 0 or a negative errno (a write
 * error such as EPIPE: the reader went away). */
int batch_write_json(FILE *f, const struct sample *s, const struct history *h,
		     const struct batch_options *o);

/* One text block: summary lines, then threads, then fds. */
int batch_write_text(FILE *f, const struct sample *s, const struct history *h,
		     const struct batch_options *o);

/* Human sizes for kB values: "812K", "12.3M", "4.0G". */
void batch_format_kb(double kb, char *buf, size_t size);

#endif
