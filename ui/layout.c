/* layout.c — see layout.h. */
#include "layout.h"

struct layout layout_compute(int w, int h, int nvitals, bool zoom)
{
	struct layout l = { 0 };
	if (w < LAYOUT_MIN_W || h < LAYOUT_MIN_H) {
		l.too_small = true;
		return l;
	}
	/* A vital sign needs about 40 columns to show value, change, rate and
	 * a useful sparkline; wide terminals get longer sparklines, not more
	 * columns than three. */
	l.vital_cols = w / 40;
	if (l.vital_cols > 3)
		l.vital_cols = 3;
	if (l.vital_cols < 1)
		l.vital_cols = 1;
	l.vital_w = w / l.vital_cols;
	int vital_lines = (nvitals + l.vital_cols - 1) / l.vital_cols;
	l.header_h = zoom ? 0 : 1 + vital_lines;
	l.tabs_y = l.header_h;
	l.pane_y = zoom ? 0 : l.tabs_y + 1;
	l.bar_y = h - 1;
	l.pane_h = l.bar_y - l.pane_y;
	return l;
}
