#include "jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "util.h"

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

void jsonw_free(struct jsonw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void jsonw_reset(struct jsonw *w)
{
	w->len = 0;
	w->depth = 0;
	w->after_key = false;
	memset(w->need_comma, 0, sizeof(w->need_comma));
	if (w->buf)
		w->buf[0] = '\0';
}

static void reserve(struct jsonw *w, size_t more)
{
	if (w->len + more + 1 <= w->cap)
		return;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + more + 1)
		cap *= 2;
	w->buf = xrealloc(w->buf, cap);
	w->cap = cap;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	reserve(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* Commas go before every value but the first of its container; a value
 * right after its key needs none. */
static void begin_value(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		put(w, ",", 1);
	w->need_comma[w->depth] = true;
}

static void open_container(struct jsonw *w, char c)
{
	begin_value(w);
	put(w, &c, 1);
	if (w->depth + 1 < JSONW_MAX_DEPTH)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_container(struct jsonw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	put(w, &c, 1);
}

void jsonw_object_begin(struct jsonw *w) { open_container(w, '{'); }
void jsonw_object_end(struct jsonw *w) { close_container(w, '}'); }
void jsonw_array_begin(struct jsonw *w) { open_container(w, '['); }
void jsonw_array_end(struct jsonw *w) { close_container(w, ']'); }

static void put_escaped(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	reserve(w, n * 6 + 2);
	char *o = w->buf + w->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	*o = '\0';
	w->len = (size_t)(o - w->buf);
}

void jsonw_key(struct jsonw *w, const char *key)
{
	begin_value(w);
	put_escaped(w, key, strlen(key));
	put(w, ":", 1);
	w->after_key = true;
}

void jsonw_string(struct jsonw *w, const char *raw)
{
	char small[512];
	const char *in = raw ? raw : "";
	size_t len = strlen(in);

	begin_value(w);
	/* Sanitizing can triple the length (each bad byte becomes U+FFFD). */
	if (len * 3 + 1 <= sizeof(small)) {
		size_t n = sanitize_bytes(in, len, small, sizeof(small), true);
		put_escaped(w, small, n);
		return;
	}
	char *clean = sanitize_dup(in, true);
	put_escaped(w, clean, strlen(clean));
	free(clean);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", (long long)v);
	begin_value(w);
	put(w, num, (size_t)n);
}

void jsonw_double(struct jsonw *w, double v, int decimals)
{
	char num[64];

	if (isnan(v) || isinf(v)) {
		jsonw_null(w);
		return;
	}
	int n = snprintf(num, sizeof(num), "%.*f", decimals, v);
	/* "2.500" -> "2.5", "3.000" -> "3.0": still a JSON number, and a real. */
	if (decimals > 0 && n > 0 && (size_t)n < sizeof(num)) {
		while (n > 2 && num[n - 1] == '0' && num[n - 2] != '.')
			n--;
	}
	num[n] = '\0';
	if (num[0] == '-' && strspn(num + 1, "0.") == strlen(num + 1))
		memmove(num, num + 1, strlen(num));   /* "-0.0" is zero */
	begin_value(w);
	put(w, num, strlen(num));
}

void jsonw_bool(struct jsonw *w, bool v)
{
	begin_value(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
	begin_value(w);
	put(w, "null", 4);
}

void jsonw_kv_string(struct jsonw *w, const char *key, const char *raw)
{
	jsonw_key(w, key);
	jsonw_string(w, raw);
}

void jsonw_kv_int(struct jsonw *w, const char *key, int64_t v)
{
	jsonw_key(w, key);
	jsonw_int(w, v);
}

void jsonw_kv_double(struct jsonw *w, const char *key, double v, int decimals)
{
	jsonw_key(w, key);
	jsonw_double(w, v, decimals);
}

void jsonw_kv_bool(struct jsonw *w, const char *key, bool v)
{
	jsonw_key(w, key);
	jsonw_bool(w, v);
}
