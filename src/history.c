#include "history.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void history_init(struct history *h, size_t cap)
{
	memset(h, 0, sizeof(*h));
	h->cap = cap ? cap : 1;
	h->t = xcalloc(h->cap, sizeof(double));
	h->mark_t = NAN;
}

void history_free(struct history *h)
{
	for (size_t s = 0; s < h->nseries; s++) {
		free(h->names[s]);
		free(h->v[s]);
	}
	free(h->names);
	free(h->v);
	free(h->t);
	free(h->first);
	free(h->first_t);
	free(h->mark);
	memset(h, 0, sizeof(*h));
}

size_t history_add_series(struct history *h, const char *name)
{
	size_t s = h->nseries++;

	h->names = xrealloc(h->names, h->nseries * sizeof(*h->names));
	h->v = xrealloc(h->v, h->nseries * sizeof(*h->v));
	h->first = xrealloc(h->first, h->nseries * sizeof(double));
	h->first_t = xrealloc(h->first_t, h->nseries * sizeof(double));
	h->mark = xrealloc(h->mark, h->nseries * sizeof(double));
	h->names[s] = xstrdup(name);
	/* Only the slots that hold samples are written: a long history at a
	 * short delay reserves much (an hour at 0.01 s: 2.9 MB a series) that
	 * is touched, and costs, only as the ring fills. */
	h->v[s] = xmalloc(h->cap * sizeof(double));
	for (size_t i = 0; i < h->len; i++)
		h->v[s][i] = NAN;
	h->first[s] = h->first_t[s] = h->mark[s] = NAN;
	return s;
}

long history_find(const struct history *h, const char *name)
{
	for (size_t s = 0; s < h->nseries; s++)
		if (strcmp(h->names[s], name) == 0)
			return (long)s;
	return -1;
}

void history_push(struct history *h, double t, const double *values)
{
	size_t slot = h->head;

	h->t[slot] = t;
	for (size_t s = 0; s < h->nseries; s++) {
		double v = values[s];
		h->v[s][slot] = v;
		if (isnan(v))
			continue;
		if (isnan(h->first[s])) {
			h->first[s] = v;
			h->first_t[s] = t;
		}
		if (h->marked && isnan(h->mark[s]))
			h->mark[s] = v;
	}
	if (h->marked && isnan(h->mark_t))
		h->mark_t = t;
	h->head = (h->head + 1) % h->cap;
	if (h->len < h->cap)
		h->len++;
}

static size_t slot_of(const struct history *h, size_t i)
{
	return (h->head + h->cap - h->len + i) % h->cap;
}

double history_time_at(const struct history *h, size_t i)
{
	return i < h->len ? h->t[slot_of(h, i)] : NAN;
}

double history_value_at(const struct history *h, size_t s, size_t i)
{
	return s < h->nseries && i < h->len ? h->v[s][slot_of(h, i)] : NAN;
}

double history_last(const struct history *h, size_t s)
{
	return h->len ? history_value_at(h, s, h->len - 1) : NAN;
}

double history_fit_slope(const double *x, const double *y, size_t n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	size_t k = 0;

	/* Centre x on the first point: epoch-sized x values squared would lose
	 * the precision the slope needs. */
	double x0 = NAN;
	for (size_t i = 0; i < n; i++) {
		if (isnan(y[i]) || isnan(x[i]))
			continue;
		if (isnan(x0))
			x0 = x[i];
		double xi = x[i] - x0;
		sx += xi;
		sy += y[i];
		sxx += xi * xi;
		sxy += xi * y[i];
		k++;
	}
	if (k < 2)
		return NAN;
	double den = (double)k * sxx - sx * sx;
	if (den <= 0)
		return NAN;
	return ((double)k * sxy - sx * sy) / den;
}

double history_slope_per_min(const struct history *h, size_t s, double window_s)
{
	if (h->len < 2 || s >= h->nseries)
		return NAN;
	double tnew = history_time_at(h, h->len - 1);
	size_t from = h->len - 1;
	while (from > 0 && tnew - history_time_at(h, from - 1) <= window_s + 1e-9)
		from--;

	size_t n = h->len - from;
	double *x = xmalloc(n * sizeof(double));
	double *y = xmalloc(n * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		x[i] = history_time_at(h, from + i);
		y[i] = history_value_at(h, s, from + i);
	}
	double slope = history_fit_slope(x, y, n);
	free(x);
	free(y);
	return slope * 60.0;
}

void history_set_mark(struct history *h)
{
	h->marked = true;
	h->mark_t = h->len ? history_time_at(h, h->len - 1) : NAN;
	for (size_t s = 0; s < h->nseries; s++)
		h->mark[s] = history_last(h, s);
}

void history_clear_mark(struct history *h)
{
	h->marked = false;
	h->mark_t = NAN;
	for (size_t s = 0; s < h->nseries; s++)
		h->mark[s] = NAN;
}

bool history_has_mark(const struct history *h)
{
	return h->marked;
}

double history_delta(const struct history *h, size_t s)
{
	if (s >= h->nseries)
		return NAN;
	double base = history_has_mark(h) ? h->mark[s] : h->first[s];
	return history_last(h, s) - base;
}

double history_delta_seconds(const struct history *h)
{
	if (!h->len)
		return NAN;
	double tnew = history_time_at(h, h->len - 1);
	if (h->marked)
		return isnan(h->mark_t) ? 0 : tnew - h->mark_t;
	double t0 = HUGE_VAL;
	for (size_t s = 0; s < h->nseries; s++)
		if (!isnan(h->first_t[s]) && h->first_t[s] < t0)
			t0 = h->first_t[s];
	return isinf(t0) ? 0 : tnew - t0;
}
