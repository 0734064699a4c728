/*-------------------------------------------------------------------------
 *
 * test_zone_windows.c
 *	  Unit and property tests of the UTC offset window cache.
 *
 * The zone here is synthetic: a sorted list of transitions with the
 * offset after each, looked up by a linear scan (the naive reference).
 * Every offset the cache returns is compared with that scan, for moments
 * in ascending, descending and random order, and the number of lookups
 * the cache makes is checked against what caching must save.
 *
 * IDENTIFICATION
 *	  test/unit/test_zone_windows.c
 *
 *-------------------------------------------------------------------------
 */
#include "zone_windows.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define HOUR (INT64_C(3600) * 1000000)
#define DAY (24 * HOUR)
#define YEAR (365 * DAY)

/* A synthetic zone: offset[0] before transition[0], offset[i + 1] from transition[i]. */
typedef struct fake_zone
{
	int64_t    *transition;
	int64_t    *offset;			/* ntransitions + 1 entries */
	int			ntransitions;
	long		lookups;		/* calls of fake_lookup */
	bool		fail;			/* make the next lookup fail */
	bool		stall;			/* answer a transition that is not after t */
} fake_zone;

/* uniform in lo .. hi - 1 */
static int64_t
rnd_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t) (unit_rng_next() % (uint64_t) (hi - lo));
}

/* The naive reference: scan for the last transition at or before t. */
static int64_t
naive_offset(const fake_zone *z, int64_t t)
{
	int			i = 0;

	while (i < z->ntransitions && z->transition[i] <= t)
		i++;
	return z->offset[i];
}

static kpi_status
fake_lookup(int64_t t, void *arg, int64_t *offset, int64_t *next, kpi_msg *msg)
{
	fake_zone  *z = arg;
	int			i = 0;

	z->lookups++;
	if (z->fail)
		return kpi_fail(msg, KPI_ERR_PARAM, "The zone is broken.");
	while (i < z->ntransitions && z->transition[i] <= t)
		i++;
	*offset = z->offset[i];
	*next = i < z->ntransitions ? z->transition[i] : ZONE_WINDOWS_NEVER;
	if (z->stall)
		*next = t;
	return KPI_OK;
}

/* A zone with DST-like transitions: +1 h from late March to late October. */
static fake_zone
dst_zone(int years)
{
	fake_zone	z = {0};

	z.ntransitions = 2 * years;
	z.transition = malloc(sizeof(int64_t) * (size_t) z.ntransitions);
	z.offset = malloc(sizeof(int64_t) * (size_t) (z.ntransitions + 1));
	z.offset[0] = HOUR;
	for (int y = 0; y < years; y++)
	{
		z.transition[2 * y] = y * YEAR + 89 * DAY + HOUR;
		z.transition[2 * y + 1] = y * YEAR + 299 * DAY + HOUR;
		z.offset[2 * y + 1] = 2 * HOUR;
		z.offset[2 * y + 2] = HOUR;
	}
	return z;
}

/* A zone with n transitions at random gaps of 1 s .. max_gap, random offsets. */
static fake_zone
random_zone(int n, int64_t start, int64_t max_gap)
{
	fake_zone	z = {0};
	int64_t		t = start;

	z.ntransitions = n;
	z.transition = malloc(sizeof(int64_t) * (size_t) (n > 0 ? n : 1));
	z.offset = malloc(sizeof(int64_t) * (size_t) (n + 1));
	for (int i = 0; i <= n; i++)
	{
		z.offset[i] = rnd_range(-14 * HOUR, 14 * HOUR + 1) / 1000000 * 1000000;
		if (i < n)
		{
			t += rnd_range(1000000, max_gap + 1);
			z.transition[i] = t;
		}
	}
	return z;
}

static void
free_zone(fake_zone *z)
{
	free(z->transition);
	free(z->offset);
}

/* Checks the cache against the naive offsets for the moments in order. */
static bool
agrees(zone_windows *zw, const fake_zone *z, const int64_t *moments, int n)
{
	for (int i = 0; i < n; i++)
	{
		int64_t		got = 0;
		kpi_msg		msg = {{0}};

		if (zone_windows_offset(zw, moments[i], &got, &msg) != KPI_OK ||
			got != naive_offset(z, moments[i]))
		{
			printf("#   moment %lld: got %lld, expected %lld (%s)\n", (long long) moments[i],
				   (long long) got, (long long) naive_offset(z, moments[i]), msg.text);
			return false;
		}
	}
	return true;
}

/* Whether the known windows are sorted, disjoint and non-empty. */
static bool
well_formed(const zone_windows *zw)
{
	for (int i = 0; i < zw->nknown; i++)
	{
		if (zw->known[i].lo >= zw->known[i].hi ||
			(i > 0 && zw->known[i - 1].hi > zw->known[i].lo))
			return false;
	}
	return zw->nknown <= zw->capacity && zw->capacity <= ZONE_WINDOWS_MAX_KNOWN;
}

static int
compare_int64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* ------------------------------------------------------------------ tests */

static void
test_orders_of_moments(void)
{
	fake_zone	z = dst_zone(3);
	enum
	{
		N = 200000
	};
	int64_t    *moments = malloc(sizeof(int64_t) * N);
	zone_windows zw;

	for (int i = 0; i < N; i++)
		moments[i] = rnd_range(-YEAR, 4 * YEAR);
	qsort(moments, N, sizeof(int64_t), compare_int64);

	zone_windows_init(&zw, fake_lookup, &z, &kpi_malloc_allocator);
	CHECK(agrees(&zw, &z, moments, N), "ascending moments get the zone's offsets");
	/* 8 periods touched; each costs a walk of a few lookups at most */
	CHECK(z.lookups <= 8 * 3, "ascending moments: a few lookups per period");
	printf("#   ascending: %ld lookups for %d moments\n", z.lookups, N);
	CHECK(well_formed(&zw), "known windows are sorted and disjoint");
	zone_windows_free(&zw);

	for (int i = 0; i < N / 2; i++)
	{
		int64_t		swap = moments[i];

		moments[i] = moments[N - 1 - i];
		moments[N - 1 - i] = swap;
	}
	z.lookups = 0;
	zone_windows_init(&zw, fake_lookup, &z, &kpi_malloc_allocator);
	CHECK(agrees(&zw, &z, moments, N), "descending moments get the zone's offsets");
	CHECK(z.lookups <= 8 * 3, "descending moments: a few lookups per period");
	printf("#   descending: %ld lookups for %d moments\n", z.lookups, N);
	CHECK(well_formed(&zw), "known windows are sorted and disjoint");
	zone_windows_free(&zw);

	for (int i = N - 1; i > 0; i--)
	{
		int			j = (int) rnd_range(0, i + 1);
		int64_t		swap = moments[i];

		moments[i] = moments[j];
		moments[j] = swap;
	}
	z.lookups = 0;
	zone_windows_init(&zw, fake_lookup, &z, &kpi_malloc_allocator);
	CHECK(agrees(&zw, &z, moments, N), "moments in random order get the zone's offsets");
	/*
	 * A period's window is extended backwards only when a moment precedes
	 * every moment seen in it so far: about ln(moments per period) times.
	 */
	CHECK(z.lookups <= 8 * 40, "random order: lookups grow with the log of the moments");
	printf("#   random: %ld lookups for %d moments\n", z.lookups, N);
	CHECK(well_formed(&zw) && zw.nknown <= 8, "one known window per period");
	zone_windows_free(&zw);

	free(moments);
	free_zone(&z);
}

static void
test_boundaries(void)
{
	fake_zone	z = dst_zone(2);
	zone_windows zw;
	int64_t		moments[12];
	int			n = 0;

	for (int i = 0; i < z.ntransitions && n + 3 <= 12; i++)
	{
		moments[n++] = z.transition[i] - 1;
		moments[n++] = z.transition[i];
		moments[n++] = z.transition[i] + 1;
	}
	zone_windows_init(&zw, fake_lookup, &z, &kpi_malloc_allocator);
	CHECK(agrees(&zw, &z, moments, n), "the microseconds around each transition");
	zone_windows_free(&zw);

	/* a zone without transitions: one open window */
	z.ntransitions = 0;
	z.lookups = 0;
	zone_windows_init(&zw, fake_lookup, &z, &kpi_malloc_allocator);
	moments[0] = INT64_MIN;
	moments[1] = INT64_MAX - 1;
	moments[2] = 0;
	moments[3] = 5 * YEAR;
	CHECK(agrees(&zw, &z, moments, 4), "a zone without transitions, at the ends of int64");
	CHECK(z.lookups <= 3, "a zone without transitions needs a lookup per distant moment at most");
	zone_windows_free(&zw);
	free_zone(&z);
}

static void
test_random_zones(void)
{
	bool		ok = true;
	bool		shaped = true;

	for (int round = 0; round < 200; round++)
	{
		int			n = (int) rnd_range(0, 40);
		int64_t		max_gap = rnd_range(2, 3 * YEAR / 1000000) * 1000000;
		fake_zone	z = random_zone(n, rnd_range(-YEAR, YEAR), max_gap);
		int64_t		lo = n > 0 ? z.transition[0] - 2 * max_gap : -YEAR;
		int64_t		hi = n > 0 ? z.transition[n - 1] + 2 * max_gap : YEAR;
		int64_t		moments[500];
		zone_windows zw;

		for (int i = 0; i < 500; i++)
		{
			/* mostly random, sometimes exactly at or next to a transition */
			moments[i] = rnd_range(lo, hi);
			if (n > 0 && unit_rng_next() % 4 == 0)
				moments[i] = z.transition[rnd_range(0, n)] + rnd_range(-1, 2);
		}
		zone_windows_init(&zw, fake_lookup, &z, &kpi_malloc_allocator);
		ok = ok && agrees(&zw, &z, moments, 500);
		shaped = shaped && well_formed(&zw);
		zone_windows_free(&zw);
		free_zone(&z);
	}
	CHECK(ok, "random zones, random moments: the cache agrees with the naive scan");
	CHECK(shaped, "random zones: known windows stay sorted and disjoint");
}

static void
test_many_periods(void)
{
	/* a transition every hour for a year: more periods than the cache keeps */
	int			n = 365 * 24;
	fake_zone	z = random_zone(0, 0, 2);
	zone_windows zw;
	enum
	{
		M = 9000
	};
	int64_t    *moments = malloc(sizeof(int64_t) * M);

	free_zone(&z);
	z.ntransitions = n;
	z.transition = malloc(sizeof(int64_t) * (size_t) n);
	z.offset = malloc(sizeof(int64_t) * (size_t) (n + 1));
	for (int i = 0; i <= n; i++)
	{
		z.offset[i] = (i % 3) * HOUR;
		if (i < n)
			z.transition[i] = (int64_t) (i + 1) * HOUR;
	}
	for (int i = 0; i < M; i++)
		moments[i] = rnd_range(0, (int64_t) (n + 2) * HOUR);
	zone_windows_init(&zw, fake_lookup, &z, &kpi_malloc_allocator);
	CHECK(agrees(&zw, &z, moments, M), "more periods than the cache keeps: still right");
	CHECK(well_formed(&zw), "the cache stays within its size");
	zone_windows_free(&zw);
	free(moments);
	free_zone(&z);
}

static void *
failing_alloc(size_t size, void *ctx)
{
	(void) size;
	(void) ctx;
	return NULL;
}

static void *
failing_realloc(void *ptr, size_t size, void *ctx)
{
	(void) ptr;
	(void) size;
	(void) ctx;
	return NULL;
}

static void
no_free(void *ptr, void *ctx)
{
	(void) ptr;
	(void) ctx;
}

static void
test_failures(void)
{
	static const kpi_allocator no_memory = {failing_alloc, failing_realloc, no_free, NULL, false};
	fake_zone	z = dst_zone(3);
	zone_windows zw;
	int64_t		moments[1000];
	int64_t		offset;
	kpi_msg		msg = {{0}};

	for (int i = 0; i < 1000; i++)
		moments[i] = rnd_range(0, 3 * YEAR);
	zone_windows_init(&zw, fake_lookup, &z, &no_memory);
	CHECK(agrees(&zw, &z, moments, 1000), "without memory the cache still answers right");
	CHECK(zw.nknown == 0, "without memory nothing is kept but the current window");
	zone_windows_free(&zw);

	zone_windows_init(&zw, fake_lookup, &z, &kpi_malloc_allocator);
	z.fail = true;
	CHECK(zone_windows_offset(&zw, YEAR, &offset, &msg) == KPI_ERR_PARAM &&
		  strcmp(msg.text, "The zone is broken.") == 0, "a failing lookup is passed on with its detail");
	z.fail = false;
	z.stall = true;
	CHECK(zone_windows_offset(&zw, YEAR, &offset, &msg) == KPI_ERR_PARAM,
		  "a lookup whose next transition does not follow is refused, not looped on");
	z.stall = false;
	CHECK(zone_windows_offset(&zw, YEAR, &offset, &msg) == KPI_OK && offset == naive_offset(&z, YEAR),
		  "after failures the cache works");
	zone_windows_free(&zw);
	free_zone(&z);
}

int
main(void)
{
	unit_rng_seed(0x9E3779B97F4A7C15ull);
	test_orders_of_moments();
	test_boundaries();
	test_random_zones();
	test_many_periods();
	test_failures();
	return unit_done();
}
