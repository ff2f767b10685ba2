/* config.h — the user's settings file, read with libinih.
 *
 * $XDG_CONFIG_HOME/pscope/config (or ~/.config/pscope/config), or the file
 * given with -c.  An ini file of "name = value" lines; a [pscope] section
 * header is allowed but not needed.  pscope only reads it, never writes it.
 * A value the command line also sets is overridden by the command line
 * (main applies that).  Unknown names and bad values are errors that name
 * the file and line: a typo should not be silently ignored. */
#ifndef PSCOPE_CONFIG_H
#define PSCOPE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum color_mode { COLOR_AUTO, COLOR_NEVER };

struct ui_config {
	double delay;            /* seconds; NAN when not set */
	double history_s;        /* seconds; NAN when not set */
	enum color_mode color;
	bool vim_keys;
	bool ascii;
	int default_pane;        /* 0-based pane number */
	double stack_interval;   /* seconds between stack captures, 0 = on demand */
};

void config_defaults(struct ui_config *c);
/* The default path, or "" when neither XDG_CONFIG_HOME nor HOME is set. */
void config_default_path(char *buf, size_t size);
/* Parse text (pure; `name` appears in messages).  0, or -1 with err set. */
int config_parse_text(const char *text, const char *name, struct ui_config *c, char *err,
		      size_t errlen);
/* Read a file.  A missing default file is not an error (must_exist false);
 * a missing -c file is.  0, or -1 with err set. */
int config_load(const char *path, bool must_exist, struct ui_config *c, char *err,
		size_t errlen);

/* Pane names for default_pane: "threads", "stacks", "memory", "resources",
 * "plugins"; -1 for anything else. */
int config_pane_index(const char *name);

#endif
