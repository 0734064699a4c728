/*-------------------------------------------------------------------------
 *
 * zone_windows.c
 *	  A time zone's UTC offsets, cached as windows of constant offset
 *	  (see zone_windows.h).
 *
 * Every window lies inside one period between two consecutive transitions
 * of the zone, and ends where that period ends; so two windows either end
 * at the same transition (they are in the same period, and merge into one
 * by taking the earlier start) or are disjoint.  The known windows are
 * therefore kept sorted by their end, which sorts them by start too.
 *
 * IDENTIFICATION
 *	  src/core/zone_windows.c
 *
 *-------------------------------------------------------------------------
 */
#include "zone_windows.h"

#include <string.h>

/* Transitions walked past before giving up on finding the window's start. */
#define MAX_WALK 64

void
zone_windows_init(zone_windows *zw, zone_windows_lookup lookup, void *lookup_arg,
				  const kpi_allocator *mem)
{
	memset(zw, 0, sizeof(*zw));
	zw->lookup = lookup;
	zw->lookup_arg = lookup_arg;
	zw->mem = mem;
}

void
zone_windows_free(zone_windows *zw)
{
	if (zw->known != NULL)
		zw->mem->free(zw->known, zw->mem->ctx);
	zone_windows_init(zw, zw->lookup, zw->lookup_arg, zw->mem);
}

/* Index of the first known window that ends after t (nknown if none). */
static int
first_ending_after(const zone_windows *zw, int64_t t)
{
	int			lo = 0;
	int			hi = zw->nknown;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (zw->known[mid].hi > t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Asks the zone database for the window of t, starting the walk at start
 * (<= t): the window runs from the last transition at or before t (or from
 * start, if there is none after start) to the first transition after t.
 */
static kpi_status
build_window(zone_windows *zw, int64_t t, int64_t start, zone_window *w, kpi_msg *msg)
{
	for (int step = 0;; step++)
	{
		int64_t		offset;
		int64_t		next;
		kpi_status	st;

		if (step == MAX_WALK)
			start = t;			/* a zone this busy: settle for [t, next) */
		st = zw->lookup(start, zw->lookup_arg, &offset, &next, msg);
		if (st != KPI_OK)
			return st;
		if (next <= start)
			return kpi_fail(msg, KPI_ERR_PARAM,
							"The time zone database gave a transition that does not follow the moment asked about.");
		if (next > t)
		{
			w->lo = start;
			w->hi = next;
			w->offset = offset;
			return KPI_OK;
		}
		start = next;
	}
}

/* Records w at position at (the first known window ending after w.lo). */
static void
remember(zone_windows *zw, int at, const zone_window *w)
{
	if (at < zw->nknown && zw->known[at].hi == w->hi)
	{
		/* the same period: the new window reaches further back */
		if (w->lo < zw->known[at].lo)
			zw->known[at].lo = w->lo;
		return;
	}
	if (zw->nknown == zw->capacity)
	{
		int			capacity = zw->capacity == 0 ? 16 : 2 * zw->capacity;
		zone_window *grown = NULL;

		if (capacity <= ZONE_WINDOWS_MAX_KNOWN)
			grown = zw->known == NULL ?
				zw->mem->alloc(capacity * sizeof(zone_window), zw->mem->ctx) :
				zw->mem->realloc(zw->known, capacity * sizeof(zone_window), zw->mem->ctx);
		if (grown == NULL)
		{
			/* full, or out of memory: forget everything but w */
			zw->nknown = 0;
			at = 0;
			if (zw->capacity == 0)
				return;
		}
		else
		{
			zw->known = grown;
			zw->capacity = capacity;
		}
	}
	memmove(zw->known + at + 1, zw->known + at, (size_t) (zw->nknown - at) * sizeof(zone_window));
	zw->known[at] = *w;
	zw->nknown++;
}

kpi_status
zone_windows_find(zone_windows *zw, int64_t t, int64_t *offset, kpi_msg *msg)
{
	int			at = first_ending_after(zw, t);
	zone_window w;
	int64_t		start;
	kpi_status	st;

	if (at < zw->nknown && zw->known[at].lo <= t)
	{
		zw->current = zw->known[at];
		*offset = zw->current.offset;
		return KPI_OK;
	}
	/* walk from the end of the window before t, if it is close enough */
	start = t < INT64_MIN + ZONE_WINDOWS_LOOKBACK ? INT64_MIN : t - ZONE_WINDOWS_LOOKBACK;
	if (at > 0 && zw->known[at - 1].hi > start)
		start = zw->known[at - 1].hi;
	st = build_window(zw, t, start, &w, msg);
	if (st != KPI_OK)
		return st;
	remember(zw, at, &w);
	zw->current = w;
	*offset = w.offset;
	return KPI_OK;
}
