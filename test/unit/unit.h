/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  A minimal TAP producer for the core's unit tests.
 *
 * Each test program calls CHECK(...) any number of times and ends with
 * "return unit_done();".  Output is TAP ("ok 1 - ...", "1..N"), so prove
 * runs the programs and the test runner counts their assertions.  A
 * seeded generator serves the randomised (property) tests.
 *
 * IDENTIFICATION
 *	  test/unit/unit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_UNIT_H
#define KPI_UNIT_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	unit_count;
static int	unit_failed;

static inline void
unit_check(int ok, const char *what, const char *file, int line)
{
	unit_count++;
	if (ok)
		printf("ok %d - %s\n", unit_count, what);
	else
	{
		unit_failed++;
		printf("not ok %d - %s\n#   at %s:%d\n", unit_count, what, file, line);
	}
}

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_count);
	return unit_failed == 0 ? 0 : 1;
}

/*
 * xorshift64*: a deterministic generator, so failures reproduce.  Each
 * program seeds it once (unit_rng_seed) before its first draw.
 */
static uint64_t unit_rng_state = 1;

static inline void
unit_rng_seed(uint64_t seed)
{
	/* xorshift has the fixed point 0 */
	unit_rng_state = seed != 0 ? seed : 1;
}

static inline uint64_t
unit_rng_next(void)
{
	unit_rng_state ^= unit_rng_state >> 12;
	unit_rng_state ^= unit_rng_state << 25;
	unit_rng_state ^= unit_rng_state >> 27;
	return unit_rng_state * 0x2545F4914F6CDD1Dull;
}

/* CHECK(cond, description) */
#define CHECK(cond, what) unit_check((cond) ? 1 : 0, (what), __FILE__, __LINE__)

/* |a - b| <= tol, printing both values when it fails */
#define CHECK_NEAR(a, b, tol, what) \
	do { \
		double unit_a_ = (a), unit_b_ = (b); \
		int unit_ok_ = fabs(unit_a_ - unit_b_) <= (tol); \
		unit_check(unit_ok_, (what), __FILE__, __LINE__); \
		if (!unit_ok_) \
			printf("#   got %.17g, expected %.17g (tolerance %g)\n", unit_a_, unit_b_, (double) (tol)); \
	} while (0)

/* A number from 0 to n - 1 (n > 0), from unit_rng_next(). */
static inline int
unit_rand_below(int n)
{
	return (int) (unit_rng_next() % (uint64_t) n);
}

/*
 * Whether got, a malloc'd text, is the expected one, printing both when
 * it is not; got is freed.
 */
static inline bool
unit_text_is(char *got, const char *expected)
{
	bool		ok = strcmp(got, expected) == 0;

	if (!ok)
		printf("#   got      %s\n#   expected %s\n", got, expected);
	free(got);
	return ok;
}

#endif							/* KPI_UNIT_H */
