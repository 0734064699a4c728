/*-------------------------------------------------------------------------
 *
 * zone_windows.h
 *	  A time zone's UTC offsets, cached as windows of constant offset.
 *
 * Turning a UTC moment into local wall-clock time needs the zone's UTC
 * offset at that moment.  Offsets change only at transitions (twice a
 * year in zones with daylight saving time, never in most others), so
 * asking the zone database once per row wastes almost all of the work.
 * A zone_windows remembers windows [lo, hi) of UTC time over which the
 * offset is constant:
 *
 * - the window used last is tried first, with two comparisons (inline);
 * - the other windows met so far are kept sorted and found by binary
 *	 search, so moments in random order cost no more than a few steps;
 * - only a moment in no known window asks the zone database, through a
 *	 callback, for the offset at a moment and the next transition after
 *	 it.  The new window starts at the last transition before the moment
 *	 (found by walking forward from at most ZONE_WINDOWS_LOOKBACK earlier,
 *	 or from the end of the known window before it), so that moments
 *	 arriving in ascending, descending or random order all settle into
 *	 the same few windows.
 *
 * Moments, offsets and transitions are int64 microseconds, as PostgreSQL
 * timestamps are; local = utc + offset.  The core does not know about any
 * particular zone database: the PostgreSQL glue passes a callback over
 * pg_next_dst_boundary(), and the unit tests a synthetic zone.
 *
 * IDENTIFICATION
 *	  src/core/zone_windows.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_ZONE_WINDOWS_H
#define KPI_ZONE_WINDOWS_H

#include "kpi_core.h"

/* "No transition after this moment": the end of an open window. */
#define ZONE_WINDOWS_NEVER INT64_MAX

/* How far before a moment the search for its window's start begins (400 days). */
#define ZONE_WINDOWS_LOOKBACK (INT64_C(400) * 86400 * 1000000)

/* Most windows kept; past that the known windows are forgotten and relearnt. */
#define ZONE_WINDOWS_MAX_KNOWN 4096

/* UTC moments lo <= t < hi have local time t + offset. */
typedef struct zone_window
{
	int64_t		lo;
	int64_t		hi;
	int64_t		offset;
} zone_window;

/*
 * The zone database: the offset in force at moment t, and the first
 * transition strictly after t (ZONE_WINDOWS_NEVER if there is none).
 * Anything but KPI_OK is passed on to the caller of zone_windows_offset.
 */
typedef kpi_status (*zone_windows_lookup) (int64_t t, void *arg, int64_t *offset,
										   int64_t *next_transition, kpi_msg *msg);

typedef struct zone_windows
{
	zone_window current;		/* the window used last (empty at first) */
	zone_window *known;			/* sorted by hi, pairwise disjoint */
	int			nknown;
	int			capacity;
	zone_windows_lookup lookup;
	void	   *lookup_arg;
	const kpi_allocator *mem;
} zone_windows;

/*
 * zone_windows_init
 *	  An empty cache over lookup; known windows are allocated with mem.
 */
extern void zone_windows_init(zone_windows *zw, zone_windows_lookup lookup,
							  void *lookup_arg, const kpi_allocator *mem);

/* zone_windows_free: releases the known windows; zw is empty again. */
extern void zone_windows_free(zone_windows *zw);

/*
 * zone_windows_find
 *	  The slow path of zone_windows_offset: finds or builds the window of
 *	  t and makes it the current one.  Failures of the lookup are passed
 *	  on; running out of memory only makes the cache forget windows.
 */
extern kpi_status zone_windows_find(zone_windows *zw, int64_t t, int64_t *offset,
									kpi_msg *msg);

/*
 * zone_windows_offset
 *	  The UTC offset at moment t, from the current window when t is in it.
 */
static inline kpi_status
zone_windows_offset(zone_windows *zw, int64_t t, int64_t *offset, kpi_msg *msg)
{
	if (t >= zw->current.lo && t < zw->current.hi)
	{
		*offset = zw->current.offset;
		return KPI_OK;
	}
	return zone_windows_find(zw, t, offset, msg);
}

#endif							/* KPI_ZONE_WINDOWS_H */
