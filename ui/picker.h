/* picker.h — choose processes to watch when none was named.
 *
 * Lists every process (proclist.h), largest RSS first, with its RSS change
 * since the picker opened; / filters, Space marks several, Enter attaches
 * to the marked ones (or the selected one).  Runs on an open terminal. */
#ifndef PSCOPE_PICKER_H
#define PSCOPE_PICKER_H

#include <stddef.h>

#include "session.h"
#include "ui.h"

/* 0 when at least one process was attached; -1 when the user quit (err
 * empty) or nothing could be attached (err says why). */
int picker_run(struct session *s, const struct ui_options *o, int sigfd, char *err,
	       size_t errlen);

#endif
