/* Parsers for /proc/PID text files.
 *
 * Two rules hold for every parser here, so that a file cut short by a
 * process exiting mid-read never yields a plausible but wrong number:
 *
 *  - A value counts only when something ends it.  A line without its
 *    newline, or a number that runs into the terminating NUL, may have been
 *    cut in the middle ("VmRSS: 12" of "VmRSS: 1234 kB"), so it is treated
 *    as absent.  Every real /proc file ends its last line or field with a
 *    separator, so nothing complete is lost.
 *
 *  - A number that does not fit its field is garbled, not clamped: the
 *    parse fails with -EINVAL.  A clamped value would look like a real one.
 *
 * A field we recognise whose value does not parse also fails the parse with
 * -EINVAL; lines we do not know are skipped, since kernels keep adding them. */
#include "procparse.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* stat fields we use, numbered as in proc(5). */
enum {
	STAT_STATE = 3, STAT_PPID = 4, STAT_FLAGS = 9, STAT_UTIME = 14,
	STAT_STIME = 15, STAT_NUM_THREADS = 20, STAT_STARTTIME = 22,
	STAT_VSIZE = 23, STAT_RSS = 24, STAT_START_BRK = 47,
	STAT_LAST_REQUIRED = STAT_RSS,
};

static bool is_digit_in(char c, int base)
{
	switch (base) {
	case 8:
		return c >= '0' && c <= '7';
	case 16:
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		       (c >= 'A' && c <= 'F');
	default:
		return c >= '0' && c <= '9';
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* strtoull accepts leading blanks, a sign (negating unsigned values without
 * reporting it) and a "0x" prefix; /proc never prints those, so a number
 * here must start with a digit.  Sets *end past the digits. */
static int parse_u64(const char *s, int base, uint64_t *out, const char **end)
{
	char *e;

	if (!is_digit_in(*s, base))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &e, base);
	if (errno == ERANGE)
		return -EINVAL;
	/* "0x12" in base 16: strtoull would skip the prefix. */
	if (base == 16 && e > s + 1 && (s[1] == 'x' || s[1] == 'X'))
		return -EINVAL;
	*out = v;
	*end = e;
	return 0;
}

static int parse_s64(const char *s, int64_t *out, const char **end)
{
	char *e;
	const char *digits = *s == '-' ? s + 1 : s;

	if (!is_digit_in(*digits, 10))
		return -EINVAL;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (errno == ERANGE)
		return -EINVAL;
	*out = v;
	*end = e;
	return 0;
}

/* A whole token [s, end) as one number in [min, max]. */
static int token_s64(const char *s, const char *end, int64_t min, int64_t max, int64_t *out)
{
	const char *e;
	int64_t v;

	if (parse_s64(s, &v, &e) < 0 || e != end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

struct line {
	const char *s;
	const char *end;          /* at the '\n' */
	const char *key_end;      /* at the ':' or NULL */
	const char *val;          /* after ':' and blanks */
};

/* Next complete line of *cursor.  A last line without '\n' was cut off and
 * is not returned. */
static bool line_next(const char **cursor, struct line *l)
{
	const char *nl = strchr(*cursor, '\n');

	if (!nl)
		return false;
	l->s = *cursor;
	l->end = nl;
	l->key_end = memchr(l->s, ':', (size_t)(nl - l->s));
	l->val = NULL;
	if (l->key_end) {
		l->val = l->key_end + 1;
		while (l->val < nl && is_blank(*l->val))
			l->val++;
	}
	*cursor = nl + 1;
	return true;
}

static bool line_is(const struct line *l, const char *key)
{
	size_t n = strlen(key);

	return l->key_end && (size_t)(l->key_end - l->s) == n && memcmp(l->s, key, n) == 0;
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && is_blank(*s))
		s++;
	return s;
}

/* The value of a line: one number and nothing else but blanks. */
static int line_s64(const struct line *l, int64_t min, int64_t max, int64_t *out)
{
	const char *e;
	int64_t v;

	if (parse_s64(l->val, &v, &e) < 0 || skip_blanks(e, l->end) != l->end ||
	    v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "   1234 kB" */
static int line_kb(const struct line *l, int64_t *out)
{
	const char *e;
	uint64_t v;

	if (parse_u64(l->val, 10, &v, &e) < 0 || v > INT64_MAX)
		return -EINVAL;
	e = skip_blanks(e, l->end);
	if (l->end - e < 2 || memcmp(e, "kB", 2) != 0 || skip_blanks(e + 2, l->end) != l->end)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

struct line_field {
	const char *key;
	size_t off;               /* of an int64_t in the output struct */
};

/* Returns 1 when l is one of fields (stored in base), 0 when it is not, or
 * -EINVAL when it is but its value is garbled. */
static int kb_field_store(const struct line *l, const struct line_field *fields, size_t n,
			  void *base)
{
	for (size_t i = 0; i < n; i++) {
		if (!line_is(l, fields[i].key))
			continue;
		int64_t v;
		if (line_kb(l, &v) < 0)
			return -EINVAL;
		memcpy((char *)base + fields[i].off, &v, sizeof(v));
		return 1;
	}
	return 0;
}

static void copy_bytes(char *dst, size_t dstsz, const char *src, size_t len)
{
	if (len >= dstsz)
		len = dstsz - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

struct span {
	const char *s, *end;
};

static int span_u64(struct span f, uint64_t max, uint64_t *out)
{
	const char *e;
	uint64_t v;

	if (parse_u64(f.s, 10, &v, &e) < 0 || e != f.end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int span_s64(struct span f, int64_t min, int64_t max, int64_t *out)
{
	return token_s64(f.s, f.end, min, max, out);
}

/* Splits what follows comm into fields: f[i] is field i + STAT_STATE.
 * Returns the number of the last complete field. */
static int stat_split(const char *p, struct span *f)
{
	int last = STAT_STATE - 1;

	while (last < STAT_START_BRK && *p == ' ') {
		const char *start = ++p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if (!*p || p == start)
			break;   /* cut off inside the field, or an empty one */
		f[last + 1 - STAT_STATE] = (struct span){ start, p };
		last++;
	}
	return last;
}

int procparse_stat(const char *text, struct proc_stat *out)
{
	struct span f[STAT_START_BRK - STAT_STATE + 1];
	const char *open = strchr(text, '(');
	const char *close = strrchr(text, ')');
	uint64_t u;
	int64_t s;

	memset(out, 0, sizeof(*out));
	/* The pid, one space, then '(' right after it. */
	if (!open || !close || close < open || open == text || open[-1] != ' ' ||
	    token_s64(text, open - 1, 1, INT_MAX, &s) < 0)
		return -EINVAL;
	out->pid = (pid_t)s;
	copy_bytes(out->comm, sizeof(out->comm), open + 1, (size_t)(close - open - 1));

	int last = stat_split(close + 1, f);
	if (last < STAT_LAST_REQUIRED)
		return -EINVAL;
	struct span state = f[STAT_STATE - STAT_STATE];
	if (state.end - state.s != 1)
		return -EINVAL;
	out->state = *state.s;
	if (span_s64(f[STAT_PPID - STAT_STATE], 0, INT_MAX, &s) < 0)
		return -EINVAL;
	out->ppid = (pid_t)s;
	if (span_u64(f[STAT_FLAGS - STAT_STATE], ULONG_MAX, &u) < 0)
		return -EINVAL;
	out->flags = (unsigned long)u;
	if (span_u64(f[STAT_UTIME - STAT_STATE], UINT64_MAX, &out->utime) < 0 ||
	    span_u64(f[STAT_STIME - STAT_STATE], UINT64_MAX, &out->stime) < 0 ||
	    span_s64(f[STAT_NUM_THREADS - STAT_STATE], 0, INT64_MAX, &out->num_threads) < 0 ||
	    span_u64(f[STAT_STARTTIME - STAT_STATE], UINT64_MAX, &out->starttime) < 0 ||
	    span_u64(f[STAT_VSIZE - STAT_STATE], UINT64_MAX, &out->vsize) < 0 ||
	    span_s64(f[STAT_RSS - STAT_STATE], INT64_MIN, INT64_MAX, &out->rss_pages) < 0)
		return -EINVAL;
	/* Older kernels stop before start_brk; 0 then, as when not permitted. */
	if (last >= STAT_START_BRK &&
	    span_u64(f[STAT_START_BRK - STAT_STATE], UINT64_MAX, &out->start_brk) < 0)
		return -EINVAL;
	return 0;
}

static const struct line_field status_kb[] = {
	{ "VmSize", offsetof(struct proc_status, vm_size_kb) },
	{ "VmRSS", offsetof(struct proc_status, vm_rss_kb) },
	{ "RssAnon", offsetof(struct proc_status, rss_anon_kb) },
	{ "RssFile", offsetof(struct proc_status, rss_file_kb) },
	{ "RssShmem", offsetof(struct proc_status, rss_shmem_kb) },
	{ "VmData", offsetof(struct proc_status, vm_data_kb) },
	{ "VmSwap", offsetof(struct proc_status, vm_swap_kb) },
};

static const struct line_field status_counts[] = {
	{ "Threads", offsetof(struct proc_status, threads) },
	{ "voluntary_ctxt_switches", offsetof(struct proc_status, vol_ctxsw) },
	{ "nonvoluntary_ctxt_switches", offsetof(struct proc_status, invol_ctxsw) },
};

enum {
	HAVE_NAME = 1, HAVE_STATE = 2, HAVE_TGID = 4, HAVE_PPID = 8, HAVE_UID = 16,
	HAVE_REQUIRED = 31,
};

static int status_pid(const struct line *l, pid_t *out)
{
	int64_t v;

	if (line_s64(l, 0, INT_MAX, &v) < 0)
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

/* "Uid:\treal\teffective\tsaved\tfs" */
static int status_uids(const struct line *l, uid_t *ruid, uid_t *euid)
{
	const char *e;
	uint64_t r, u;

	if (parse_u64(l->val, 10, &r, &e) < 0 || r > UINT_MAX || e >= l->end || !is_blank(*e))
		return -EINVAL;
	e = skip_blanks(e, l->end);
	if (parse_u64(e, 10, &u, &e) < 0 || u > UINT_MAX || (e != l->end && !is_blank(*e)))
		return -EINVAL;
	*ruid = (uid_t)r;
	*euid = (uid_t)u;
	return 0;
}

static int status_line(const struct line *l, struct proc_status *out, unsigned *have)
{
	if (line_is(l, "Name")) {
		/* The name may start with a blank: skip only the tab the kernel puts. */
		const char *name = l->key_end + 1;
		if (name < l->end && *name == '\t')
			name++;
		copy_bytes(out->name, sizeof(out->name), name, (size_t)(l->end - name));
		*have |= HAVE_NAME;
		return 0;
	}
	if (line_is(l, "State")) {
		if (l->val == l->end)
			return -EINVAL;
		out->state = *l->val;
		*have |= HAVE_STATE;
		return 0;
	}
	if (line_is(l, "Tgid")) {
		*have |= HAVE_TGID;
		return status_pid(l, &out->tgid);
	}
	if (line_is(l, "PPid")) {
		*have |= HAVE_PPID;
		return status_pid(l, &out->ppid);
	}
	if (line_is(l, "TracerPid"))
		return status_pid(l, &out->tracer_pid);
	if (line_is(l, "Uid")) {
		*have |= HAVE_UID;
		return status_uids(l, &out->ruid, &out->euid);
	}
	int kb = kb_field_store(l, status_kb, sizeof(status_kb) / sizeof(status_kb[0]), out);
	if (kb)
		return kb < 0 ? -EINVAL : 0;
	for (size_t i = 0; i < sizeof(status_counts) / sizeof(status_counts[0]); i++) {
		if (!line_is(l, status_counts[i].key))
			continue;
		int64_t v;
		if (line_s64(l, 0, INT64_MAX, &v) < 0)
			return -EINVAL;
		memcpy((char *)out + status_counts[i].off, &v, sizeof(v));
		return 0;
	}
	return 0;
}

int procparse_status(const char *text, struct proc_status *out)
{
	struct line l;
	unsigned have = 0;

	memset(out, 0, sizeof(*out));
	out->vm_size_kb = out->vm_rss_kb = out->rss_anon_kb = out->rss_file_kb = SAMPLE_UNREAD;
	out->rss_shmem_kb = out->vm_data_kb = out->vm_swap_kb = SAMPLE_UNREAD;
	out->threads = out->vol_ctxsw = out->invol_ctxsw = SAMPLE_UNREAD;
	while (line_next(&text, &l))
		if (status_line(&l, out, &have) < 0)
			return -EINVAL;
	return have == HAVE_REQUIRED ? 0 : -EINVAL;
}

/* n unsigned decimal numbers separated by blanks, each ended by a blank or
 * newline. */
static int parse_u64_fields(const char *text, uint64_t *vals, size_t n)
{
	const char *p = text;

	for (size_t i = 0; i < n; i++) {
		while (is_blank(*p))
			p++;
		if (parse_u64(p, 10, &vals[i], &p) < 0 || (!is_blank(*p) && *p != '\n'))
			return -EINVAL;
	}
	return 0;
}

int procparse_statm(const char *text, struct proc_statm *out)
{
	/* size resident shared text lib data dt; lib is always 0. */
	uint64_t v[6];

	memset(out, 0, sizeof(*out));
	if (parse_u64_fields(text, v, 6) < 0)
		return -EINVAL;
	out->size = v[0];
	out->resident = v[1];
	out->shared = v[2];
	out->text = v[3];
	out->data = v[5];
	return 0;
}

int procparse_schedstat(const char *text, struct proc_schedstat *out)
{
	uint64_t v[3];

	memset(out, 0, sizeof(*out));
	if (parse_u64_fields(text, v, 3) < 0)
		return -EINVAL;
	out->run_ns = v[0];
	out->wait_ns = v[1];
	out->timeslices = v[2];
	return 0;
}

/* A mapping header starts with hex digits and '-'; "Key:" lines never do. */
static bool map_is_header(const struct line *l)
{
	const char *p = l->s;

	while (p < l->end && is_digit_in(*p, 16))
		p++;
	return p > l->s && p < l->end && *p == '-';
}

/* "start-end perms offset major:minor inode [path]".  The path runs to the
 * end of the line: it may hold spaces and ends in " (deleted)" for an
 * unlinked file (the kernel escapes a newline in it as \012). */
static int map_parse_header(const struct line *l, struct map_entry *e)
{
	const char *p = l->s, *q;
	uint64_t v;

	if (parse_u64(p, 16, &e->start, &p) < 0 || *p != '-' ||
	    parse_u64(p + 1, 16, &e->end, &p) < 0 || *p != ' ' || e->end < e->start)
		return -EINVAL;
	q = ++p;
	while (q < l->end && !is_blank(*q))
		q++;
	if (q - p != 4 || *q != ' ')
		return -EINVAL;
	memcpy(e->perms, p, 4);
	e->perms[4] = '\0';
	if (parse_u64(q + 1, 16, &e->offset, &p) < 0 || *p != ' ' ||
	    parse_u64(p + 1, 16, &v, &p) < 0 || *p != ':' ||
	    parse_u64(p + 1, 16, &v, &p) < 0 || *p != ' ' ||
	    parse_u64(p + 1, 10, &v, &p) < 0 || (p != l->end && *p != ' '))
		return -EINVAL;
	p = skip_blanks(p, l->end);
	e->path = xstrndup(p, (size_t)(l->end - p));
	return 0;
}

static const struct line_field smaps_kb[] = {
	{ "Size", offsetof(struct map_entry, size_kb) },
	{ "Rss", offsetof(struct map_entry, rss_kb) },
	{ "Pss", offsetof(struct map_entry, pss_kb) },
	{ "Anonymous", offsetof(struct map_entry, anon_kb) },
	{ "Swap", offsetof(struct map_entry, swap_kb) },
};

void procparse_free_maps(struct map_entry *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(list[i].path);
	free(list);
}

/* with_fields: smaps (headers each followed by "Key: value" lines) rather
 * than maps (headers only). */
static int parse_mappings(const char *text, bool with_fields, struct map_entry **out,
			  size_t *count)
{
	struct map_entry *list = NULL;
	size_t n = 0, cap = 0;
	struct line l;

	*out = NULL;
	*count = 0;
	while (line_next(&text, &l)) {
		if (map_is_header(&l)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				list = xrealloc(list, cap * sizeof(*list));
			}
			struct map_entry *e = &list[n];
			memset(e, 0, sizeof(*e));
			e->size_kb = e->rss_kb = e->pss_kb = e->anon_kb = e->swap_kb = SAMPLE_UNREAD;
			if (map_parse_header(&l, e) < 0)
				goto bad;
			if (!with_fields)
				e->size_kb = (int64_t)((e->end - e->start) / 1024);
			n++;
			continue;
		}
		/* "VmFlags: rd wr" and "THPeligible: 0" are skipped here:
		 * only the kB fields we keep are parsed. */
		if (!with_fields || !n || !l.key_end || l.key_end == l.s ||
		    kb_field_store(&l, smaps_kb, sizeof(smaps_kb) / sizeof(smaps_kb[0]),
				   &list[n - 1]) < 0)
			goto bad;
	}
	*out = list;
	*count = n;
	return 0;
bad:
	procparse_free_maps(list, n);
	return -EINVAL;
}

int procparse_smaps(const char *text, struct map_entry **out, size_t *count)
{
	return parse_mappings(text, true, out, count);
}

int procparse_maps(const char *text, struct map_entry **out, size_t *count)
{
	return parse_mappings(text, false, out, count);
}

static const struct line_field rollup_kb[] = {
	{ "Rss", offsetof(struct proc_rollup, rss_kb) },
	{ "Pss", offsetof(struct proc_rollup, pss_kb) },
	{ "Pss_Anon", offsetof(struct proc_rollup, pss_anon_kb) },
	{ "Pss_File", offsetof(struct proc_rollup, pss_file_kb) },
	{ "Pss_Shmem", offsetof(struct proc_rollup, pss_shmem_kb) },
	{ "Anonymous", offsetof(struct proc_rollup, anon_kb) },
	{ "Swap", offsetof(struct proc_rollup, swap_kb) },
	{ "SwapPss", offsetof(struct proc_rollup, swap_pss_kb) },
};

/* Empty text is valid: a task without an mm (kernel thread, zombie) has no
 * totals, and every field stays SAMPLE_UNREAD. */
int procparse_smaps_rollup(const char *text, struct proc_rollup *out)
{
	struct line l;

	out->rss_kb = out->pss_kb = out->pss_anon_kb = out->pss_file_kb = SAMPLE_UNREAD;
	out->pss_shmem_kb = out->anon_kb = out->swap_kb = out->swap_pss_kb = SAMPLE_UNREAD;
	while (line_next(&text, &l)) {
		if (map_is_header(&l))
			continue;
		if (!l.key_end || l.key_end == l.s ||
		    kb_field_store(&l, rollup_kb, sizeof(rollup_kb) / sizeof(rollup_kb[0]), out) < 0)
			return -EINVAL;
	}
	return 0;
}

/* A line with something other than a number in it ("tfd: 5 events: 19")
 * only needs its leading number. */
static int fdinfo_number(const struct line *l, int base, int64_t *out)
{
	const char *e;
	uint64_t v;

	if (parse_u64(l->val, base, &v, &e) < 0 || v > INT64_MAX ||
	    skip_blanks(e, l->end) != l->end)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

static int fdinfo_line(const struct line *l, struct proc_fdinfo *out, unsigned *have)
{
	int64_t v;

	if (line_is(l, "pos")) {
		*have |= 1;
		return line_s64(l, INT64_MIN, INT64_MAX, &out->pos);
	}
	if (line_is(l, "flags")) {
		*have |= 2;
		if (fdinfo_number(l, 8, &v) < 0 || (uint64_t)v > ULONG_MAX)
			return -EINVAL;
		out->flags = (unsigned long)v;
		return 0;
	}
	if (line_is(l, "mnt_id"))
		return line_s64(l, INT64_MIN, INT64_MAX, &out->mnt_id);
	if (line_is(l, "ino"))
		return fdinfo_number(l, 10, &out->ino);
	/* Printed with %16llx: hexadecimal, padded with spaces. */
	if (line_is(l, "eventfd-count"))
		return fdinfo_number(l, 16, &out->eventfd_count);
	if (line_is(l, "tfd"))
		out->epoll_targets++;
	else if (line_is(l, "inotify wd"))
		out->inotify_watches++;
	return 0;
}

/* Drivers print their own fdinfo lines, so unknown lines (even ones
 * without a key) are skipped; pos and flags are always there. */
int procparse_fdinfo(const char *text, struct proc_fdinfo *out)
{
	struct line l;
	unsigned have = 0;

	memset(out, 0, sizeof(*out));
	out->pos = out->mnt_id = out->ino = out->eventfd_count = SAMPLE_UNREAD;
	while (line_next(&text, &l))
		if (fdinfo_line(&l, out, &have) < 0)
			return -EINVAL;
	return have == 3 ? 0 : -EINVAL;
}

char *procparse_cmdline(const char *buf, size_t len)
{
	if (len && buf[len - 1] == '\0')
		len--;
	char *s = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		s[i] = buf[i] ? buf[i] : ' ';
	s[len] = '\0';
	return s;
}

void procparse_wchan(const char *text, char *out, size_t outsz)
{
	if (!outsz)
		return;
	size_t len = strcspn(text, "\n");
	if (len == 1 && text[0] == '0')
		len = 0;
	copy_bytes(out, outsz, text, len);
}

int procparse_maps_summary(const char *text, int64_t *count, int64_t *heap_kb)
{
	int64_t n = 0, heap = 0;

	for (const char *line = text; *line; ) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (!eol)
			break;   /* a last line without its newline was cut off */
		char *end;
		errno = 0;
		unsigned long long start = strtoull(line, &end, 16);
		if (errno || end == line || *end != '-')
			return -EINVAL;
		unsigned long long stop = strtoull(end + 1, &end, 16);
		if (errno || stop < start)
			return -EINVAL;
		static const char tag[] = "[heap]";
		if (len >= sizeof(tag) - 1 && memcmp(line + len - (sizeof(tag) - 1), tag, sizeof(tag) - 1) == 0)
			heap += (int64_t)((stop - start) / 1024);
		n++;
		line = eol + 1;
	}
	*count = n;
	*heap_kb = heap;
	return 0;
}
