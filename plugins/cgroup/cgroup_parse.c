#include "cgroup_parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A whole token of len bytes as a non-negative number. */
static bool parse_num(const char *s, size_t len, double *out)
{
	char buf[64], *end;

	if (len == 0 || len >= sizeof(buf) || s[0] == '-' || s[0] == '+')
		return false;
	memcpy(buf, s, len);
	buf[len] = 0;
	double v = strtod(buf, &end);
	if (*end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* The next line of *text, without its newline; false at the end. */
static bool next_line(const char **text, const char **line, size_t *len)
{
	const char *s = *text;

	if (!*s)
		return false;
	const char *nl = strchr(s, '\n');
	*line = s;
	*len = nl ? (size_t)(nl - s) : strlen(s);
	*text = nl ? nl + 1 : s + *len;
	return true;
}

/* "key value" lines into the fields named by keys (NULL-terminated);
 * unknown keys are skipped: kernels add new ones. */
static int parse_keyed(const char *text, const char *const *keys, double *const *fields)
{
	const char *line;
	size_t len;
	bool any = false;

	for (size_t k = 0; keys[k]; k++)
		*fields[k] = NAN;
	while (next_line(&text, &line, &len)) {
		if (len == 0)
			continue;
		const char *sp = memchr(line, ' ', len);
		double v;
		if (!sp || sp == line || !parse_num(sp + 1, len - (size_t)(sp + 1 - line), &v))
			return -EINVAL;
		for (size_t k = 0; keys[k]; k++)
			if (strlen(keys[k]) == (size_t)(sp - line) && !memcmp(keys[k], line, (size_t)(sp - line)))
				*fields[k] = v;
		any = true;
	}
	return any ? 0 : -EINVAL;
}

int cgroup_parse_mem_events(const char *text, struct cgroup_mem_events *out)
{
	static const char *const keys[] = { "low", "high", "max", "oom", "oom_kill",
					    "oom_group_kill", NULL };
	double *const fields[] = { &out->low, &out->high, &out->max, &out->oom, &out->oom_kill,
				   &out->oom_group_kill };
	return parse_keyed(text, keys, fields);
}

int cgroup_parse_cpu_stat(const char *text, struct cgroup_cpu_stat *out)
{
	static const char *const keys[] = { "usage_usec", "nr_periods", "nr_throttled",
					    "throttled_usec", NULL };
	double *const fields[] = { &out->usage_usec, &out->nr_periods, &out->nr_throttled,
				   &out->throttled_usec };
	return parse_keyed(text, keys, fields);
}

/* The single token of a one-value file, trailing newline allowed. */
static bool only_token(const char *text, size_t *len)
{
	size_t n = strcspn(text, "\n");
	if (n == 0 || (text[n] == '\n' && text[n + 1]))
		return false;
	*len = n;
	return true;
}

int cgroup_parse_number(const char *text, double *value)
{
	size_t n;
	return only_token(text, &n) && parse_num(text, n, value) ? 0 : -EINVAL;
}

int cgroup_parse_limit(const char *text, double *value, bool *unlimited)
{
	size_t n;

	if (!only_token(text, &n))
		return -EINVAL;
	*unlimited = n == 3 && !memcmp(text, "max", 3);
	if (*unlimited) {
		*value = NAN;
		return 0;
	}
	return parse_num(text, n, value) ? 0 : -EINVAL;
}

static int parse_psi_line(const char *s, size_t len, struct cgroup_psi_line *out)
{
	static const char *const keys[] = { "avg10=", "avg60=", "avg300=", "total=" };
	double *const fields[] = { &out->avg10, &out->avg60, &out->avg300, &out->total };
	size_t pos = 0;

	for (size_t k = 0; k < 4; k++) {
		size_t klen = strlen(keys[k]);
		while (pos < len && s[pos] == ' ')
			pos++;
		if (len - pos < klen || memcmp(s + pos, keys[k], klen) != 0)
			return -EINVAL;
		pos += klen;
		size_t end = pos;
		while (end < len && s[end] != ' ')
			end++;
		if (!parse_num(s + pos, end - pos, fields[k]))
			return -EINVAL;
		pos = end;
	}
	return 0;
}

int cgroup_parse_pressure(const char *text, struct cgroup_pressure *out)
{
	const char *line;
	size_t len;
	bool some = false;

	out->some = out->full = (struct cgroup_psi_line){ NAN, NAN, NAN, NAN };
	while (next_line(&text, &line, &len)) {
		if (len == 0)
			continue;
		struct cgroup_psi_line *dst;
		if (len > 5 && !memcmp(line, "some ", 5))
			dst = &out->some, some = true;
		else if (len > 5 && !memcmp(line, "full ", 5))
			dst = &out->full;
		else
			return -EINVAL;
		if (parse_psi_line(line + 5, len - 5, dst) < 0)
			return -EINVAL;
	}
	return some ? 0 : -EINVAL;
}

int cgroup_parse_membership(const char *text, struct cgroup_membership *out)
{
	const char *line;
	size_t len;
	bool any = false;

	memset(out, 0, sizeof(*out));
	while (next_line(&text, &line, &len)) {
		if (len == 0)
			continue;
		/* The path may itself hold ':', so split on the first two only. */
		const char *c1 = memchr(line, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
		double id;
		if (!c2 || !parse_num(line, (size_t)(c1 - line), &id))
			return -EINVAL;
		const char *path = c2 + 1;
		size_t plen = len - (size_t)(path - line);
		if (plen == 0 || path[0] != '/')
			return -EINVAL;
		if (id == 0 && c2 == c1 + 1) {
			if (plen >= sizeof(out->v2_path))
				return -EINVAL;
			out->has_v2 = true;
			memcpy(out->v2_path, path, plen);
			out->v2_path[plen] = 0;
		} else {
			out->has_v1 = true;
			/* Controllers: a comma-separated list between the colons. */
			const char *p = c1 + 1;
			while (p < c2) {
				const char *comma = memchr(p, ',', (size_t)(c2 - p));
				size_t n = comma ? (size_t)(comma - p) : (size_t)(c2 - p);
				if (n == 6 && !memcmp(p, "memory", 6))
					out->v1_memory = true;
				else if (n == 4 && !memcmp(p, "pids", 4))
					out->v1_pids = true;
				else if (n == 3 && !memcmp(p, "cpu", 3))
					out->v1_cpu = true;
				p += n + 1;
			}
		}
		any = true;
	}
	return any ? 0 : -EINVAL;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static bool unescape(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\' && i + 3 < len &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= size)
			return false;
		out[o++] = c;
	}
	out[o] = 0;
	return true;
}

/* Field n (0-based, space-separated) of a line. */
static bool field(const char *line, size_t len, int n, const char **f, size_t *flen)
{
	size_t pos = 0;

	for (int i = 0;; i++) {
		size_t end = pos;
		while (end < len && line[end] != ' ')
			end++;
		if (i == n) {
			*f = line + pos;
			*flen = end - pos;
			return end > pos;
		}
		if (end >= len)
			return false;
		pos = end + 1;
	}
}

int cgroup_parse_mountinfo(const char *text, struct cgroup_mount *out)
{
	const char *line;
	size_t len;

	while (next_line(&text, &line, &len)) {
		if (len == 0)
			continue;
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SRC SUPEROPTS" */
		const char *sep = NULL;
		for (size_t i = 0; i + 3 <= len; i++)
			if (!memcmp(line + i, " - ", 3)) {
				sep = line + i;
				break;
			}
		const char *root, *mnt, *fstype;
		size_t rlen, mlen, flen;
		if (!sep || !field(line, (size_t)(sep - line), 3, &root, &rlen) ||
		    !field(line, (size_t)(sep - line), 4, &mnt, &mlen) ||
		    !field(sep + 3, len - (size_t)(sep + 3 - line), 0, &fstype, &flen))
			return -EINVAL;
		if (flen != 7 || memcmp(fstype, "cgroup2", 7) != 0)
			continue;
		if (!unescape(root, rlen, out->root, sizeof(out->root)) ||
		    !unescape(mnt, mlen, out->mount_point, sizeof(out->mount_point)))
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}
