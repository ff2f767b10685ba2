#include "sanitize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "util.h"

#define REPLACEMENT_UTF8 "\xef\xbf\xbd"   /* U+FFFD */
/* The longest output one input byte can turn into. */
#define MAX_GROWTH 3

/* Length of the well-formed UTF-8 character at s, with its code point in
 * *cp; 0 when s does not start one.  Well-formed per RFC 3629: the second
 * byte's range excludes overlong forms (E0, F0), surrogates (ED) and code
 * points above U+10FFFF (F4), and C0, C1, F5..FF never lead. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		v = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		v = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	*cp = v;
	return n;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

size_t sanitize_bytes(const char *in, size_t len, char *out, size_t outsz, bool utf8)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;

	if (!outsz)
		return 0;
	while (i < len) {
		uint32_t cp = 0;
		size_t n = utf8_decode(s + i, len - i, &cp);
		const char *piece = in + i;
		size_t plen = n;

		/* An invalid sequence costs one replacement per byte, and
		 * resynchronising on the next byte keeps a valid character
		 * that follows a truncated one. */
		if (!n)
			n = 1;
		if (plen == 0 || is_control(cp) || (!utf8 && cp >= 0x80)) {
			piece = utf8 ? REPLACEMENT_UTF8 : "?";
			plen = utf8 ? sizeof(REPLACEMENT_UTF8) - 1 : 1;
		}
		if (plen >= outsz - o)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		i += n;
	}
	out[o] = '\0';
	return o;
}

char *sanitize_dup(const char *in, bool utf8)
{
	size_t len = strlen(in);
	size_t size = (utf8 ? len * MAX_GROWTH : len) + 1;
	char *out = xmalloc(size);
	size_t n = sanitize_bytes(in, len, out, size, utf8);

	return xrealloc(out, n + 1);
}

size_t sanitize_width(const char *sanitized)
{
	const unsigned char *s = (const unsigned char *)sanitized;
	size_t len = strlen(sanitized), i = 0, width = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);

		if (!n) {
			width++;
			i++;
			continue;
		}
		/* -1 for controls and, outside a UTF-8 locale, for anything
		 * non-ASCII: one column is what a replacement takes. */
		int w = wcwidth((wchar_t)cp);
		width += w < 0 ? 1 : (size_t)w;
		i += n;
	}
	return width;
}
