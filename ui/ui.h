/* ui.h — the interactive front end.
 *
 * ui_run() takes over the terminal, samples the session's targets on a
 * thread of its own (so a key never waits for a slow sample), and draws
 * the model: a header of vital signs and five panes.  It returns when the
 * user quits or a SIGINT, SIGTERM or SIGHUP arrives, with the terminal
 * restored.  With no target in the session it first shows the process
 * picker. */
#ifndef PSCOPE_UI_H
#define PSCOPE_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "session.h"

struct ui_options {
	double delay;             /* seconds between samples */
	bool color;               /* false with NO_COLOR, --no-color or color = never */
	bool ascii;
	bool vim_keys;
	int default_pane;
	double stack_interval;    /* seconds between captures once S turns them on */
	bool periodic_stacks;     /* start with periodic capture on (--stacks) */
	bool no_ptrace;           /* never stop the target: no stacks */
	bool consistent;          /* stacks: stop all threads together */
	const char *notice;       /* shown at the bottom at start (an attach error) */
};

/* 0 on a normal exit; -1 with a one-line reason when the terminal could
 * not be used or nothing could be attached from the picker. */
int ui_run(struct session *s, const struct ui_options *o, char *err, size_t errlen);

#endif
