/* format.h — numbers, durations and small graphs as text, for the panes.
 *
 * Pure functions: they take numbers and write into a caller's buffer, so the
 * unit tests can check every rule.  NAN always prints as "n/a" (unreadable),
 * never as a plausible 0.  Sizes use binary units (K = 1024 bytes). */
#ifndef PSCOPE_FORMAT_H
#define PSCOPE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

/* Glyph set for graphs: Unicode blocks/braille, or plain ASCII. */
enum glyphs { GLYPHS_UTF8, GLYPHS_ASCII };

/* "812K", "12.3M", "1.2G" (batch_format_kb's rules); at most 6 columns. */
char *format_kb(double kb, char *buf, size_t size);
/* Like format_kb with an explicit sign: "+12.3M", "-512K", "0". */
char *format_kb_delta(double kb, char *buf, size_t size);
/* A count: "37", "12.3k", "4.50M"; at most 6 columns. */
char *format_count(double n, char *buf, size_t size);
char *format_count_delta(double n, char *buf, size_t size);
/* A percentage: "12.5%", "250%". */
char *format_pct(double pct, char *buf, size_t size);
/* A rate per minute of a size ("+1.2M/m") or of a count ("+3/m"). */
char *format_rate(double per_min, bool kb, char *buf, size_t size);
/* "59s", "12m05s", "3h12m", "5d03h". */
char *format_duration(double seconds, char *buf, size_t size);

/* A one-line sparkline of the last `width` of n values (oldest first),
 * scaled between their minimum and maximum; NAN becomes a blank.  Writes at
 * most width characters (each up to 3 bytes) and a NUL; returns buf. */
char *format_sparkline(const double *v, size_t n, size_t width, enum glyphs g,
		       char *buf, size_t size);

/* A graph `width` columns by `height` rows of the n values, resampled to
 * fit (each column the maximum of its bucket), filled from the bottom.
 * With UTF-8 glyphs each cell holds 2x4 braille dots.  rows[i] receives row
 * i from the top (each must hold width * 3 + 1 bytes).  *lo and *hi return
 * the scale's bounds. */
void format_graph(const double *v, size_t n, size_t width, size_t height, enum glyphs g,
		  char **rows, double *lo, double *hi);

#endif
