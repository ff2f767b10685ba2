/* layout.h — where each part of the screen goes, for a terminal size.
 *
 * Pure arithmetic, tested on its own: the header of vital signs shrinks to
 * fewer columns on narrow terminals, panes take what is left, and below
 * LAYOUT_MIN_W x LAYOUT_MIN_H nothing is drawn but a "terminal too small"
 * line. */
#ifndef PSCOPE_LAYOUT_H
#define PSCOPE_LAYOUT_H

#include <stdbool.h>

enum { LAYOUT_MIN_W = 60, LAYOUT_MIN_H = 16 };

struct layout {
	bool too_small;
	int vital_cols;           /* vital signs per header line */
	int vital_w;              /* columns per vital sign */
	int header_h;             /* identity line + vital lines */
	int tabs_y;               /* pane tabs */
	int pane_y, pane_h;       /* the pane, its title line included */
	int bar_y;                /* bottom bar (keys, or a prompt) */
};

/* nvitals: vital signs to fit; zoom: the pane takes the whole screen but
 * the bottom bar. */
struct layout layout_compute(int w, int h, int nvitals, bool zoom);

#endif
