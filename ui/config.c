/* config.c — see config.h. */
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

static const char *const pane_names[] = { "threads", "stacks", "memory", "resources", "plugins" };

int config_pane_index(const char *name)
{
	for (size_t i = 0; i < sizeof(pane_names) / sizeof(pane_names[0]); i++)
		if (strcasecmp(name, pane_names[i]) == 0)
			return (int)i;
	return -1;
}

void config_defaults(struct ui_config *c)
{
	*c = (struct ui_config){ .delay = NAN, .history_s = NAN, .color = COLOR_AUTO };
}

void config_default_path(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(buf, size, "%s/pscope/config", xdg);
	else if (home && *home)
		snprintf(buf, size, "%s/.config/pscope/config", home);
	else if (size)
		buf[0] = 0;
}

struct parse_state {
	struct ui_config *c;
	char msg[200];           /* why the first bad line was refused */
};

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return false;
	return true;
}

static bool parse_seconds(const char *v, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= min && d <= max))
		return false;
	*out = d;
	return true;
}

/* inih calls this once per "name = value"; returning 0 stops at that line. */
static int on_setting(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	struct ui_config *c = st->c;
	bool ok;
	if (*section && strcasecmp(section, "pscope") != 0) {
		snprintf(st->msg, sizeof(st->msg), "unknown section [%.40s]", section);
		return 0;
	}
	if (!strcasecmp(name, "delay")) {
		ok = parse_seconds(value, 0.1, 3600, &c->delay);
	} else if (!strcasecmp(name, "history")) {
		ok = parse_seconds(value, 10, 7 * 86400, &c->history_s);
	} else if (!strcasecmp(name, "color") || !strcasecmp(name, "colour")) {
		bool on;
		ok = parse_bool(value, &on) || !strcasecmp(value, "auto") || !strcasecmp(value, "never");
		if (ok)
			c->color = (!strcasecmp(value, "never") || (parse_bool(value, &on) && !on))
					   ? COLOR_NEVER : COLOR_AUTO;
	} else if (!strcasecmp(name, "vim_keys")) {
		ok = parse_bool(value, &c->vim_keys);
	} else if (!strcasecmp(name, "ascii")) {
		ok = parse_bool(value, &c->ascii);
	} else if (!strcasecmp(name, "default_pane")) {
		int p = config_pane_index(value);
		ok = p >= 0;
		if (ok)
			c->default_pane = p;
	} else if (!strcasecmp(name, "stack_interval")) {
		ok = parse_seconds(value, 0, 86400, &c->stack_interval);
	} else {
		snprintf(st->msg, sizeof(st->msg), "unknown setting '%.40s'", name);
		return 0;
	}
	if (!ok)
		snprintf(st->msg, sizeof(st->msg), "bad value '%.40s' for %.40s", value, name);
	return ok;
}

static int report(int rc, struct parse_state *st, const char *name, char *err, size_t errlen)
{
	if (rc == 0)
		return 0;
	if (rc > 0)
		snprintf(err, errlen, "%s line %d: %s", name, rc,
			 st->msg[0] ? st->msg : "not a 'name = value' line");
	else
		snprintf(err, errlen, "%s: cannot read it", name);
	return -1;
}

int config_parse_text(const char *text, const char *name, struct ui_config *c, char *err,
		      size_t errlen)
{
	struct parse_state st = { .c = c };
	return report(ini_parse_string(text, on_setting, &st), &st, name, err, errlen);
}

int config_load(const char *path, bool must_exist, struct ui_config *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct parse_state st = { .c = c };
	int rc = ini_parse_file(f, on_setting, &st);
	fclose(f);
	return report(rc, &st, path, err, errlen);
}
