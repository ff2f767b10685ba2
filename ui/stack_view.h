/* stack_view.h — drawing captured stacks, shared by the Threads pane (the
 * selected thread's stack) and the Stacks pane (a group's frames). */
#ifndef PSCOPE_STACK_VIEW_H
#define PSCOPE_STACK_VIEW_H

#include <sys/types.h>

#include "stacks.h"
#include "ui_state.h"

/* The newest snapshot of the current target, or NULL. */
const struct stack_snapshot *stack_view_snapshot(struct ui *ui);
/* One frame as text: "func+0x1a  file.c:42  (module)". */
void stack_view_frame_text(const struct stack_frame *f, char *buf, size_t size);
/* Lines the thread's stack wants (title included), at most max. */
int stack_view_height(struct ui *ui, pid_t tid, int max);
void stack_view_draw_thread(struct ui *ui, pid_t tid, int y, int x, int h, int w);
/* Draw frames under a title line. */
void stack_view_draw_frames(const struct stack_thread *th, const char *title, int y, int x,
			    int h, int w);

#endif
