/* format.c — see format.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "format.h"

/* A count of 10,000 and more with three significant digits and a decimal
 * unit ("12.3k", "4.50M"), so that it fits six columns. */
static void count_scaled(double v, char *buf, size_t size)
{
	static const char units[] = " kMGTPE";
	int u = 0;
	while (fabs(v) >= 999.5 && units[u + 1]) {
		v /= 1000;
		u++;
	}
	if (fabs(v) < 9.995)
		snprintf(buf, size, "%.2f%c", v, units[u]);
	else if (fabs(v) < 99.95)
		snprintf(buf, size, "%.1f%c", v, units[u]);
	else
		snprintf(buf, size, "%.0f%c", v, units[u]);
}

/* Sizes look the same here as in the batch writers' text. */
char *format_kb(double kb, char *buf, size_t size)
{
	if (isnan(kb))
		snprintf(buf, size, "n/a");
	else
		batch_format_kb(kb, buf, size);
	return buf;
}

static char *with_sign(double v, char *buf, size_t size, char *(*fmt)(double, char *, size_t))
{
	if (isnan(v) || v == 0 || size < 2)
		return fmt(v, buf, size);
	buf[0] = v < 0 ? '-' : '+';
	fmt(fabs(v), buf + 1, size - 1);
	return buf;
}

char *format_kb_delta(double kb, char *buf, size_t size)
{
	return with_sign(kb, buf, size, format_kb);
}

char *format_count(double n, char *buf, size_t size)
{
	if (isnan(n))
		snprintf(buf, size, "n/a");
	else if (fabs(n) < 9999.5)
		snprintf(buf, size, "%.0f", n);
	else
		count_scaled(n, buf, size);
	return buf;
}

char *format_count_delta(double n, char *buf, size_t size)
{
	return with_sign(n, buf, size, format_count);
}

char *format_pct(double pct, char *buf, size_t size)
{
	if (isnan(pct))
		snprintf(buf, size, "n/a");
	else if (pct < 99.95)
		snprintf(buf, size, "%.1f%%", pct);
	else
		snprintf(buf, size, "%.0f%%", pct);
	return buf;
}

char *format_rate(double per_min, bool kb, char *buf, size_t size)
{
	char tmp[32];
	if (isnan(per_min)) {
		snprintf(buf, size, "n/a");
		return buf;
	}
	/* Rates below one unit a minute are noise from the fit; show them as
	 * flat rather than as "+0.01/m" that looks like a leak. */
	if (fabs(per_min) < 0.05)
		per_min = 0;
	if (kb)
		format_kb_delta(per_min, tmp, sizeof(tmp));
	else if (fabs(per_min) < 9.95 && per_min != 0)
		snprintf(tmp, sizeof(tmp), "%+.1f", per_min);
	else
		format_count_delta(round(per_min), tmp, sizeof(tmp));
	snprintf(buf, size, "%s/m", tmp);
	return buf;
}

char *format_duration(double s, char *buf, size_t size)
{
	if (isnan(s) || s < 0) {
		snprintf(buf, size, "n/a");
		return buf;
	}
	unsigned long t = (unsigned long)s;
	if (t < 60)
		snprintf(buf, size, "%lus", t);
	else if (t < 3600)
		snprintf(buf, size, "%lum%02lus", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, size, "%luh%02lum", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, size, "%lud%02luh", t / 86400, t % 86400 / 3600);
	return buf;
}

static void bounds(const double *v, size_t n, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (v[i] < *lo)
			*lo = v[i];
		if (v[i] > *hi)
			*hi = v[i];
	}
}

/* Level 0..levels-1 of x between lo and hi; a flat series sits at the
 * bottom so that growth, when it starts, is what stands out. */
static int level(double x, double lo, double hi, int levels)
{
	if (!(hi > lo))
		return 0;
	int l = (int)((x - lo) / (hi - lo) * (levels - 1) + 0.5);
	return l < 0 ? 0 : l >= levels ? levels - 1 : l;
}

static size_t put(char *buf, size_t at, size_t size, const char *s)
{
	size_t n = strlen(s);
	if (at + n + 1 > size)
		return at;
	memcpy(buf + at, s, n);
	return at + n;
}

char *format_sparkline(const double *v, size_t n, size_t width, enum glyphs g, char *buf,
		       size_t size)
{
	static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	static const char ascii[] = "_.-~=+*#";
	size_t first = n > width ? n - width : 0, at = 0;
	double lo, hi;
	bounds(v + first, n - first, &lo, &hi);
	for (size_t i = first; i < n; i++) {
		if (isnan(v[i])) {
			at = put(buf, at, size, " ");
			continue;
		}
		int l = level(v[i], lo, hi, 8);
		if (g == GLYPHS_UTF8) {
			at = put(buf, at, size, blocks[l]);
		} else {
			char c[2] = { ascii[l], 0 };
			at = put(buf, at, size, c);
		}
	}
	if (size)
		buf[at] = 0;
	return buf;
}

/* Braille: dot bits per (column 0/1, row 0..3 from the top), Unicode's
 * U+2800 block layout. */
static const unsigned braille_bit[2][4] = { { 0x01, 0x02, 0x04, 0x40 }, { 0x08, 0x10, 0x20, 0x80 } };

static size_t put_braille(char *out, unsigned bits)
{
	unsigned cp = 0x2800 + bits;
	out[0] = (char)(0xE0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

void format_graph(const double *v, size_t n, size_t width, size_t height, enum glyphs g,
		  char **rows, double *lo, double *hi)
{
	size_t sub_x = g == GLYPHS_UTF8 ? 2 : 1, sub_y = g == GLYPHS_UTF8 ? 4 : 1;
	size_t cols = width * sub_x, levels = height * sub_y;
	double col_val[cols];
	for (size_t c = 0; c < cols; c++)
		col_val[c] = NAN;
	if (n > cols) {
		/* More samples than columns: each column is the maximum of its
		 * bucket, so a short spike is not averaged away. */
		size_t per = (n + cols - 1) / cols, used = (n + per - 1) / per;
		for (size_t b = 0; b < used; b++) {
			double m = NAN;
			for (size_t i = b * per; i < (b + 1) * per && i < n; i++)
				if (!isnan(v[i]) && (isnan(m) || v[i] > m))
					m = v[i];
			col_val[cols - used + b] = m;
		}
	} else if (n > 0) {
		/* Fewer: stretch them over the width, newest at the right edge. */
		for (size_t c = 0; c < cols; c++)
			col_val[c] = v[c * n / cols];
	}
	bounds(col_val, cols, lo, hi);
	if (!(*hi >= *lo)) {
		*lo = *hi = NAN;
	} else if (*hi == *lo) {
		*lo = *lo > 0 ? 0 : *lo - 1;
	}
	for (size_t r = 0; r < height; r++) {
		size_t at = 0;
		for (size_t x = 0; x < width; x++) {
			unsigned bits = 0;
			bool fill = false;
			for (size_t sx = 0; sx < sub_x; sx++) {
				double cv = col_val[x * sub_x + sx];
				if (isnan(cv))
					continue;
				/* Height in sub-rows, at least one dot for a readable value. */
				size_t h = (size_t)level(cv, *lo, *hi, (int)levels) + 1;
				for (size_t sy = 0; sy < sub_y; sy++) {
					size_t from_bottom = (height - 1 - r) * sub_y + (sub_y - 1 - sy);
					if (from_bottom < h) {
						bits |= braille_bit[sx][sy];
						fill = true;
					}
				}
			}
			if (g == GLYPHS_UTF8 && bits)
				at += put_braille(rows[r] + at, bits);
			else if (g == GLYPHS_UTF8)
				rows[r][at++] = ' ';
			else
				rows[r][at++] = fill ? '#' : ' ';
		}
		rows[r][at] = 0;
	}
}
