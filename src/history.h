/* history.h — bounded time series of every numeric metric of one target.
 *
 * A ring of `cap` slots shared by all series: one timestamp per slot and one
 * double per series per slot, NAN where the value was unreadable.  Memory is
 * reserved at creation: 8 bytes x (series + 1) x cap, about 1.2 MB for the
 * 39 built-in series over one hour at one sample a second; series added
 * later (plugins) cost the same per slot.  Pages are touched only as the
 * ring fills, and nothing grows beyond that.
 *
 * Growth is a least-squares slope per minute over a time window; deltas are
 * measured from the first readable value since attach, or from the mark. */
#ifndef PSCOPE_HISTORY_H
#define PSCOPE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

struct history {
	size_t cap;          /* slots */
	size_t len;          /* slots filled, <= cap */
	size_t head;         /* next slot to write */
	size_t nseries;
	char **names;
	double *t;           /* cap timestamps (monotonic seconds) */
	double **v;          /* nseries arrays of cap values */
	double *first, *first_t;   /* first readable value since attach */
	bool marked;
	double *mark;        /* baseline value per series at the mark */
	double mark_t;       /* time of the mark's baseline; NAN until known */
};

void history_init(struct history *h, size_t cap);
void history_free(struct history *h);

/* Register a series; returns its index.  Existing slots read NAN. */
size_t history_add_series(struct history *h, const char *name);
/* Index of a named series, or -1. */
long history_find(const struct history *h, const char *name);

/* Append one slot; values has nseries entries (NAN = unreadable). */
void history_push(struct history *h, double t, const double *values);

/* i = 0 is the oldest kept slot, len - 1 the newest. */
double history_time_at(const struct history *h, size_t i);
double history_value_at(const struct history *h, size_t s, size_t i);
double history_last(const struct history *h, size_t s);

/* Least-squares slope of series s in units per minute over the slots of the
 * last window_s seconds (all of them when fewer exist).  NAN when fewer than
 * two readable points or no time elapsed. */
double history_slope_per_min(const struct history *h, size_t s, double window_s);

/* The mark: later deltas are measured from it.  Setting it records the
 * newest values; a series unreadable then takes its first readable value
 * after the mark. */
void history_set_mark(struct history *h);
void history_clear_mark(struct history *h);
bool history_has_mark(const struct history *h);

/* Newest value minus the value at the mark (or at attach when there is no
 * mark).  NAN when either is unknown. */
double history_delta(const struct history *h, size_t s);
/* Seconds covered by history_delta. */
double history_delta_seconds(const struct history *h);

/* Pure least-squares slope of y over x (n points, NAN points skipped);
 * exposed for tests.  NAN when it is undefined. */
double history_fit_slope(const double *x, const double *y, size_t n);

#endif
