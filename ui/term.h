/* term.h — the terminal: curses set-up, colours, and putting it back.
 *
 * This module holds pscope's only global state, the terminal's: what is
 * needed to restore it from a crash handler, where nothing else can be
 * trusted.  term_open() switches to the alternate screen; term_close()
 * restores it, and so does a SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT before
 * the signal is re-raised to kill the process as it would have.
 *
 * Colours degrade with the terminal: 8 or more colours get hues on the
 * terminal's own background; monochrome, NO_COLOR or --no-color get bold,
 * reverse and underline instead.  Text is drawn through term_text(), which
 * sanitizes every string: nothing from the target reaches the terminal raw. */
#ifndef PSCOPE_TERM_H
#define PSCOPE_TERM_H

#include <stdbool.h>

#include "format.h"

enum role {
	ROLE_NORMAL, ROLE_TITLE, ROLE_TAB, ROLE_TAB_ACTIVE, ROLE_LABEL, ROLE_GROW,
	ROLE_SHRINK, ROLE_DIM, ROLE_NEW, ROLE_SELECTED, ROLE_BAR_KEY, ROLE_BAR,
	ROLE_GRAPH, ROLE_WARN, ROLE_COUNT
};

/* 0, or -1 with a reason (not a terminal, unknown TERM). */
int term_open(bool color, bool ascii, char *err, size_t errlen);
void term_close(void);

enum glyphs term_glyphs(void);
bool term_utf8(void);

/* Bytes written to the terminal that it has not taken yet (a slow link). */
int term_output_pending(void);

/* Draw untrusted text at (y, x), at most w columns; returns columns used. */
int term_text(int y, int x, int w, const char *raw, enum role r);
/* Same for text already known to be safe (pscope's own labels, glyphs). */
int term_put(int y, int x, int w, const char *safe, enum role r);
/* Blank w columns. */
void term_blank(int y, int x, int w, enum role r);

#endif
