/*-------------------------------------------------------------------------
 *
 * test_fsum.c
 *	  Unit tests of the exactness-tracking double sum (src/core/fsum.c).
 *
 * The reference is a two's-complement big integer counting units of
 * 2^-1074, the smallest subnormal, so it holds the exact sum of any
 * doubles.  A pair (hi, lo) that is normalised (fsum_is_valid) and whose
 * exact value equals the reference has hi = the sum rounded to nearest,
 * since the normalised form of a value is unique.
 *
 * IDENTIFICATION
 *	  test/unit/test_fsum.c
 *
 *-------------------------------------------------------------------------
 */
#include "fsum.h"
#include "unit.h"
#include "unit_merge.h"

#include <float.h>
#include <string.h>

static const fsum empty = FSUM_EMPTY;

static bool
same_state(const fsum *a, const fsum *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* A random amount with cents, |v| <= 10^7. */
static double
random_cents(void)
{
	int64_t		k = (int64_t) (unit_rng_next() % 2000000001ull) - 1000000000;

	/* many small amounts too, so the sum spans many binary orders */
	if (unit_rng_next() % 4 == 0)
		k %= 1000;
	return (double) k / 100.0;
}

/* ------------------------------------------------------ exact reference */

#define BIG_LIMBS 72			/* 2304 bits: 2^-1074 up to beyond 2^1200 */

typedef struct big
{
	uint32_t	w[BIG_LIMBS];	/* two's complement, least significant first */
} big;

static void
big_add(big *a, const big *b)
{
	uint64_t	carry = 0;

	for (int i = 0; i < BIG_LIMBS; i++)
	{
		uint64_t	t = (uint64_t) a->w[i] + b->w[i] + carry;

		a->w[i] = (uint32_t) t;
		carry = t >> 32;
	}
}

/* a += x exactly */
static void
big_add_double(big *a, double x)
{
	big			t;
	int			e;
	uint64_t	mant;
	int			shift;

	if (x == 0.0)
		return;
	/* |x| = mant * 2^(e - 53), mant < 2^53 */
	mant = (uint64_t) ldexp(frexp(fabs(x), &e), 53);
	shift = e - 53 + 1074;
	while (shift < 0)
	{
		/* subnormals: the low bits shifted out are zero */
		mant >>= 1;
		shift++;
	}
	memset(&t, 0, sizeof(t));
	for (int b = 0; b < 53; b++)
		if (mant >> b & 1)
			t.w[(shift + b) / 32] |= (uint32_t) 1 << ((shift + b) % 32);
	if (x < 0)
	{
		big			one;

		for (int i = 0; i < BIG_LIMBS; i++)
			t.w[i] = ~t.w[i];
		memset(&one, 0, sizeof(one));
		one.w[0] = 1;
		big_add(&t, &one);
	}
	big_add(a, &t);
}

static bool
big_equal(const big *a, const big *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Whether hi + lo of s is exactly the reference. */
static bool
pair_equals(const fsum *s, const big *ref)
{
	big			v;

	memset(&v, 0, sizeof(v));
	big_add_double(&v, s->hi);
	big_add_double(&v, s->lo);
	return big_equal(&v, ref);
}

/* Distance in units in the last place between two doubles of one sign. */
static double
ulps(double a, double b)
{
	return fabs(a - b) / (nextafter(fabs(b), INFINITY) - fabs(b));
}

/* ------------------------------------------------------------------ tests */

static void
test_hand(void)
{
	fsum		s = empty;

	CHECK(fsum_is_valid(&s) && s.count == 0 && s.exact == 1 && s.hi == 0.0 && s.lo == 0.0,
		  "hand: FSUM_EMPTY is a valid exact empty sum");

	/* 0.1 + 0.2: hi is 0.30000000000000004, lo is the -2^-55 it misses */
	CHECK(fsum_add(&s, 0.1, NULL) == KPI_OK && fsum_add(&s, 0.2, NULL) == KPI_OK, "hand: add 0.1 and 0.2");
	CHECK(s.hi == 0x1.3333333333334p-2 && s.lo == -0x1p-55 && s.exact == 1 && s.count == 2,
		  "hand: 0.1 + 0.2 is (0x1.3333333333334p-2, -2^-55), exact");
	CHECK(fsum_add(&s, 0.3, NULL) == KPI_OK && fsum_mean(&s) == 0.2,
		  "hand: mean of 0.1, 0.2, 0.3 is 0.2 (naive summation gives 0.20000000000000004)");

	/* a second order of magnitude is held exactly by lo */
	s = empty;
	fsum_add(&s, 1e300, NULL);
	fsum_add(&s, 1.0, NULL);
	CHECK(s.hi == 1e300 && s.lo == 1.0 && s.exact == 1, "hand: 1e300 + 1 is (1e300, 1), still exact");
	fsum_add(&s, -1e300, NULL);
	CHECK(s.hi == 1.0 && s.lo == 0.0 && s.exact == 1 && s.count == 3,
		  "hand: 1e300 + 1 - 1e300 = 1 exactly (a double-double holds both)");

	/* a third order of magnitude does not fit */
	s = empty;
	fsum_add(&s, 0x1p200, NULL);
	fsum_add(&s, 1.0, NULL);
	CHECK(s.exact == 1, "hand: 2^200 + 1 is exact");
	fsum_add(&s, 0x1p-200, NULL);
	CHECK(s.exact == 0 && fsum_is_valid(&s), "hand: 2^200 + 1 + 2^-200 is inexact (and still valid)");
	{
		fsum		before = s;

		CHECK(fsum_remove(&s, 1.0) == KPI_CANNOT_INVERT && same_state(&s, &before),
			  "hand: an inexact sum cannot remove; state unchanged");
		fsum_add(&s, -0x1p200, NULL);
		CHECK(s.exact == 0, "hand: inexactness is sticky even when the value comes back");
	}

	/* the removal itself rounds */
	s = empty;
	fsum_add(&s, 1e300, NULL);
	fsum_add(&s, 1.0, NULL);
	{
		fsum		before = s;

		CHECK(fsum_remove(&s, 1e-300) == KPI_CANNOT_INVERT && same_state(&s, &before),
			  "hand: a removal that would round cannot be done; state unchanged");
		CHECK(fsum_remove(&s, 1.0) == KPI_OK && s.hi == 1e300 && s.lo == 0.0 && s.count == 1 && s.exact == 1,
			  "hand: removing an exact part is exact");
		CHECK(fsum_remove(&s, 1e300) == KPI_OK && same_state(&s, &empty),
			  "hand: removing the last value gives the empty sum");
	}
	CHECK(fsum_remove(&s, 1.0) == KPI_CANNOT_INVERT && same_state(&s, &empty),
		  "hand: removing from the empty sum cannot be done");

	/* the count says which value is the last; its value is not used */
	s = empty;
	fsum_add(&s, 5.0, NULL);
	CHECK(fsum_remove(&s, 7.0) == KPI_OK && same_state(&s, &empty),
		  "hand: removing the only value resets without arithmetic");

	/* no negative zero */
	s = empty;
	fsum_add(&s, -0.0, NULL);
	CHECK(!signbit(s.hi) && !signbit(s.lo) && s.count == 1 && fsum_is_valid(&s), "hand: adding -0 gives +0");
	fsum_add(&s, -2.5, NULL);
	fsum_add(&s, 2.5, NULL);
	CHECK(s.hi == 0.0 && !signbit(s.hi) && !signbit(s.lo) && fsum_is_valid(&s), "hand: -2.5 + 2.5 is +0");

	/* subnormals are exact too */
	s = empty;
	fsum_add(&s, 1.0, NULL);
	fsum_add(&s, 0x1p-1074, NULL);
	CHECK(s.hi == 1.0 && s.lo == 0x1p-1074 && s.exact == 1 && fsum_is_valid(&s),
		  "hand: 1 + the smallest subnormal is exact");
}

static void
test_cents(void)
{
	fsum		s = empty;
	big			ref;
	int			ok_valid = 1;
	long double naive = 0;
	enum
	{
		N = 100000
	};

	memset(&ref, 0, sizeof(ref));
	for (int i = 0; i < N; i++)
	{
		double		v = random_cents();

		if (fsum_add(&s, v, NULL) != KPI_OK)
			ok_valid = 0;
		big_add_double(&ref, v);
		naive += v;
		if (i % 997 == 0 && !fsum_is_valid(&s))
			ok_valid = 0;
	}
	CHECK(ok_valid && fsum_is_valid(&s) && s.count == N, "cents: 100000 adds, always valid");
	CHECK(s.exact == 1, "cents: the sum of 100000 amounts with cents stays exact");
	CHECK(pair_equals(&s, &ref), "cents: hi + lo is the exact sum (so hi is it rounded to nearest)");
	CHECK_NEAR(fsum_mean(&s), (double) ((naive) / N), 1e-6, "cents: the mean agrees with a long double sum");
}

/* Random sequences of doubles over a wide range: flag soundness. */
static void
test_soundness(void)
{
	int			ok_sound = 1,
				ok_valid = 1,
				exact_seen = 0,
				inexact_seen = 0;

	for (int round = 0; round < 2000; round++)
	{
		fsum		s = empty;
		big			ref;
		int			n = 1 + (int) (unit_rng_next() % 30);
		int			spread = (int) (unit_rng_next() % 200);

		memset(&ref, 0, sizeof(ref));
		for (int i = 0; i < n; i++)
		{
			double		m = (double) (unit_rng_next() >> 11) * 0x1p-53;
			double		v = ldexp(unit_rng_next() % 2 ? -m : m, (int) (unit_rng_next() % (uint64_t) (spread + 1)) - spread / 2);

			fsum_add(&s, v, NULL);
			big_add_double(&ref, v);
		}
		if (!fsum_is_valid(&s))
			ok_valid = 0;
		if (s.exact)
		{
			exact_seen++;
			if (!pair_equals(&s, &ref))
				ok_sound = 0;
		}
		else
			inexact_seen++;
	}
	CHECK(ok_valid, "wide range: every sum is valid");
	CHECK(ok_sound, "wide range: whenever exact is set, hi + lo is the exact sum");
	CHECK(exact_seen > 200 && inexact_seen > 200, "wide range: both outcomes occur");
}

static void
test_remove(void)
{
	int			ok_restore = 1,
				ok_window = 1;

	/* add v then remove v gives back the same bytes */
	for (int round = 0; round < 2000; round++)
	{
		fsum		s = empty,
					before;
		int			n = 1 + (int) (unit_rng_next() % 20);
		double		v = random_cents();

		for (int i = 0; i < n; i++)
			fsum_add(&s, random_cents(), NULL);
		before = s;
		if (fsum_add(&s, v, NULL) != KPI_OK || fsum_remove(&s, v) != KPI_OK || !same_state(&s, &before))
			ok_restore = 0;
	}
	CHECK(ok_restore, "remove: add v then remove v restores the bytes (2000 random exact sums)");

	/* a sliding window stays equal to a fresh sum of the frame */
	{
		enum
		{
			STEPS = 5000, W = 9
		};
		static double vals[STEPS];
		fsum		s = empty;

		for (int i = 0; i < STEPS; i++)
		{
			fsum		fresh = empty;

			vals[i] = random_cents();
			fsum_add(&s, vals[i], NULL);
			if (i >= W && fsum_remove(&s, vals[i - W]) != KPI_OK)
				ok_window = 0;
			for (int k = i >= W ? i - W + 1 : 0; k <= i; k++)
				fsum_add(&fresh, vals[k], NULL);
			if (!same_state(&s, &fresh))
				ok_window = 0;
		}
		for (int k = STEPS - W; k < STEPS; k++)
			if (fsum_remove(&s, vals[k]) != KPI_OK)
				ok_window = 0;
		CHECK(ok_window, "remove: a moving window equals a fresh sum of its frame, byte for byte");
		CHECK(same_state(&s, &empty), "remove: removing everything gives FSUM_EMPTY");
	}
}

static kpi_status
merge_sums(void **into, const void *from)
{
	return fsum_merge(*into, from, NULL);
}

static void
add_random_cents(void **whole, void **part, void *ctx)
{
	double		v = random_cents();

	(void) ctx;
	fsum_add(*whole, v, NULL);
	fsum_add(*part, v, NULL);
}

static void
test_merge(void)
{
	const unit_merge_ops ops = {sizeof(fsum), NULL, &empty, merge_sums, add_random_cents, NULL};
	unit_merge_ok ok = UNIT_MERGE_OK_INIT;

	for (int round = 0; round < 500; round++)
		unit_merge_round(&ops, 60, 4, &ok);
	CHECK(ok.split, "merge: 500 random splits of exact sums equal sequential adds, byte for byte");
	CHECK(ok.comm, "merge: commutative");
	CHECK(ok.assoc, "merge: associative on exact sums");
	CHECK(ok.ident, "merge: FSUM_EMPTY is the identity on both sides");

	{
		fsum		exact = empty,
					inexact = empty,
					r;

		fsum_add(&exact, 1.5, NULL);
		fsum_add(&inexact, 0x1p200, NULL);
		fsum_add(&inexact, 1.0, NULL);
		fsum_add(&inexact, 0x1p-200, NULL);
		r = exact;
		CHECK(fsum_merge(&r, &inexact, NULL) == KPI_OK && r.exact == 0 && r.count == 4,
			  "merge: an inexact part makes the result inexact");
		r = inexact;
		CHECK(fsum_merge(&r, &exact, NULL) == KPI_OK && r.exact == 0, "merge: either side");
		/* two exact parts whose sum does not fit in a pair */
		{
			fsum		big1 = empty,
						small = empty;

			fsum_add(&big1, 0x1p200, NULL);
			fsum_add(&big1, 1.0, NULL);
			fsum_add(&small, 0x1p-200, NULL);
			CHECK(fsum_merge(&big1, &small, NULL) == KPI_OK && big1.exact == 0 && fsum_is_valid(&big1),
				  "merge: a merge that rounds clears exact");
		}
	}
}

static void
test_mean(void)
{
	int			ok = 1;
	double		worst = 0;

	for (int round = 0; round < 3000; round++)
	{
		fsum		s = empty;
		int			n = 1 + (int) (unit_rng_next() % 200);
		long double ref;

		for (int i = 0; i < n; i++)
			fsum_add(&s, random_cents(), NULL);
		/* the exact sum is hi + lo; long double rounds it once, then divides */
		ref = ((long double) s.hi + (long double) s.lo) / n;
		if (ref != 0)
		{
			double		e = ulps(fsum_mean(&s), (double) ref);

			if (e > worst)
				worst = e;
		}
		else if (fsum_mean(&s) != 0)
			ok = 0;
	}
	CHECK(ok && worst <= 1.0, "mean: within 1 ulp of a long double reference on 3000 random sums");
	{
		fsum		s = empty;
		long double ref = (1e16L + 3) / 4;

		fsum_add(&s, 1e16, NULL);
		for (int i = 0; i < 3; i++)
			fsum_add(&s, 1.0, NULL);
		CHECK(s.exact == 1 && ulps(fsum_mean(&s), (double) ref) <= 1.0,
			  "mean: (1e16 + 1 + 1 + 1) / 4 keeps the ones (naive double summation loses them)");
		s = empty;
		fsum_add(&s, DBL_MAX, NULL);
		fsum_add(&s, -DBL_MAX / 2, NULL);
		fsum_add(&s, DBL_MAX / 2, NULL);
		CHECK(fsum_mean(&s) == DBL_MAX / 3, "mean: near the top of the range");
	}
}

static void
test_overflow(void)
{
	fsum		s = empty,
				before;
	kpi_msg		msg;

	fsum_add(&s, DBL_MAX, NULL);
	before = s;
	msg.text[0] = '\0';
	CHECK(fsum_add(&s, DBL_MAX, &msg) == KPI_ERR_OVERFLOW && same_state(&s, &before) && msg.text[0] != '\0',
		  "overflow: DBL_MAX + DBL_MAX fails with a detail; state unchanged");
	CHECK(fsum_add(&s, 0x1p970, NULL) == KPI_ERR_OVERFLOW && same_state(&s, &before),
		  "overflow: DBL_MAX + half an ulp rounds to infinity and fails");
	CHECK(fsum_add(&s, 0x1p969, NULL) == KPI_OK && s.hi == DBL_MAX && s.lo == 0x1p969 && s.exact == 1,
		  "overflow: DBL_MAX + a quarter ulp is held exactly");
	CHECK(fsum_add(&s, -DBL_MAX, NULL) == KPI_OK && s.hi == 0x1p969 && s.lo == 0.0,
		  "overflow: then -DBL_MAX leaves the quarter ulp");
	s = empty;
	fsum_add(&s, -DBL_MAX, NULL);
	before = s;
	CHECK(fsum_add(&s, -DBL_MAX, NULL) == KPI_ERR_OVERFLOW && same_state(&s, &before),
		  "overflow: negative side");
	{
		fsum		other = empty;

		fsum_add(&other, -1e308, NULL);
		CHECK(fsum_merge(&s, &other, &msg) == KPI_ERR_OVERFLOW && same_state(&s, &before),
			  "overflow: merge fails; state unchanged");
	}
}

static void
test_is_valid(void)
{
	static const struct
	{
		fsum		s;
		bool		valid;
		const char *what;
	}			cases[] = {
		{FSUM_EMPTY, true, "is_valid: FSUM_EMPTY"},
		{{1.0, 0x1p-53, 2, 1, 0}, true, "is_valid: lo of exactly half an ulp (tie to even)"},
		{{1.0, -0x1p-54, 2, 1, 0}, true, "is_valid: negative lo below half an ulp"},
		{{1.0, 0x1p-52, 2, 1, 0}, false, "is_valid: lo of a whole ulp is not normalised"},
		{{0x1.0000000000001p0, 0x1p-53, 2, 1, 0}, false, "is_valid: half an ulp on an odd hi is not normalised"},
		{{0.0, 1.0, 2, 1, 0}, false, "is_valid: zero hi with nonzero lo"},
		{{1e300, 1.0, 2, 0, 0}, true, "is_valid: an inexact sum"},
		{{-0.0, 0.0, 1, 1, 0}, false, "is_valid: -0 hi"},
		{{1.0, -0.0, 1, 1, 0}, false, "is_valid: -0 lo"},
		{{NAN, 0.0, 1, 1, 0}, false, "is_valid: NaN hi"},
		{{1.0, NAN, 1, 1, 0}, false, "is_valid: NaN lo"},
		{{INFINITY, 0.0, 1, 1, 0}, false, "is_valid: infinite hi"},
		{{1.0, 0.0, -1, 1, 0}, false, "is_valid: negative count"},
		{{1.0, 0.0, 1, 2, 0}, false, "is_valid: exact is 0 or 1"},
		{{1.0, 0.0, 1, 1, 1}, false, "is_valid: reserved must be zero"},
		{{1.0, 0.0, 0, 1, 0}, false, "is_valid: empty with a nonzero sum"},
		{{0.0, 0.0, 0, 0, 0}, false, "is_valid: an empty sum is exact, as FSUM_EMPTY is"},
		{{0.0, 0.0, 3, 1, 0}, true, "is_valid: values summing to +0"},
		{{0x1p-1074, 0.0, 1, 1, 0}, true, "is_valid: a subnormal sum"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(fsum_is_valid(&cases[i].s) == cases[i].valid, cases[i].what);
}

int
main(void)
{
	/* line-buffered, so a sanitizer abort still shows the TAP lines before it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	unit_rng_seed(0xD1B54A32D192ED03ull);
	test_hand();
	test_cents();
	test_soundness();
	test_remove();
	test_merge();
	test_mean();
	test_overflow();
	test_is_valid();
	return unit_done();
}
