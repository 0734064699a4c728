/*-------------------------------------------------------------------------
 *
 * test_decsum.c
 *	  Unit tests of the exact decimal sum (src/core/decsum.c).
 *
 * The reference is a naive ten's-complement decimal adder working digit by
 * digit on strings, so no expected sum comes from 128-bit arithmetic.
 * Inputs reach decsum the way PostgreSQL hands them over: base-10000
 * digits (built from the decimal text by unit_decimal.h), stored at an
 * odd address.  The scale rules are those of numeric_avg_accum /
 * numeric_accum_inv.
 *
 * IDENTIFICATION
 *	  test/unit/test_decsum.c
 *
 *-------------------------------------------------------------------------
 */
#include "decsum.h"
#include "unit.h"
#include "unit_alloc.h"
#include "unit_decimal.h"
#include "unit_merge.h"

#include <stdlib.h>
#include <string.h>

static const decsum empty_sum;

static bool
same_state(const decsum *a, const decsum *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The decsum's sum as text, through decsum_format. */
static const char *
sum_text(const decsum *s, char *buf)
{
	decsum_format(s->sum, s->scale, buf);
	return buf;
}

/* ------------------------------------------- numeric digits from decimal text */

/* Adds (or removes) the decimal written in text, in numeric's digit form. */
static kpi_status
add_text(decsum *s, const char *text)
{
	unit_decimal t;

	return decsum_add_decimal(s, unit_make_decimal(&t, text), NULL);
}

static kpi_status
remove_text(decsum *s, const char *text)
{
	unit_decimal t;

	return decsum_remove_decimal(s, unit_make_decimal(&t, text), NULL);
}

/*
 * What a run of decimals should sum to, from the reference: the sum, the
 * largest scale and how many values have it (numeric's bookkeeping).
 */
typedef struct expected
{
	unit_ref	total;
	int			n;
	int			maxscale;
	int			maxcount;
} expected;

static void
expect_add(expected *e, const char *text)
{
	unit_ref	r;
	int			sc = unit_text_scale(text);

	unit_ref_from_text(&r, text);
	unit_ref_add(&e->total, &r);
	if (sc > e->maxscale)
	{
		e->maxscale = sc;
		e->maxcount = 0;
	}
	if (sc == e->maxscale)
		e->maxcount++;
	e->n++;
}

/* The expectation of count texts, stride bytes apart from first. */
static expected
expect_run(const char *first, size_t stride, int count)
{
	expected	e = {{{0}}, 0, 0, 0};

	for (int k = 0; k < count; k++)
		expect_add(&e, first + stride * (size_t) k);
	return e;
}

/*
 * Whether removing text, one of e's values, cannot be undone exactly: it
 * is the last value of the largest scale, and others remain.
 */
static bool
expect_cannot_remove(const expected *e, const char *text)
{
	return unit_text_scale(text) == e->maxscale && e->maxscale > 0 && e->maxcount == 1 && e->n > 1;
}

/* Whether s, whose sum reads as got, is what e expects. */
static bool
as_expected(const decsum *s, const char *got, const expected *e)
{
	char		want[UNIT_REF_TEXT];

	unit_ref_to_text(&e->total, e->maxscale, want);
	return strcmp(got, want) == 0 && s->scale == e->maxscale && s->max_scale_count == e->maxcount &&
		s->count == e->n;
}

/* ------------------------------------------------------------------ tests */

static void
test_digit_form(void)
{
	static const struct
	{
		const char *text;
		int			weight;
		int			ndigits;
		int16_t		digits[6];
	}			cases[] = {
		{"10000", 1, 1, {1}},
		{"0.0001", -1, 1, {1}},
		{"0.00012", -1, 2, {1, 2000}},
		{"-123456789.123456789", 2, 6, {1, 2345, 6789, 1234, 5678, 9000}},
		{"0.000", 0, 0, {0}},
	};

	/* the test's own digit builder first: it must give numeric's layout */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		unit_decimal t;
		const decsum_decimal *d = unit_make_decimal(&t, cases[i].text);
		char		what[100];

		snprintf(what, sizeof(what), "digit builder: %s has weight %d and %d base-10000 digits",
				 cases[i].text, cases[i].weight, cases[i].ndigits);
		CHECK(d->weight == cases[i].weight && d->ndigits == cases[i].ndigits &&
			  ((uintptr_t) d->digits & 1) == 1 &&
			  memcmp(d->digits, cases[i].digits, sizeof(int16_t) * (size_t) d->ndigits) == 0, what);
	}
	{
		unit_decimal t;
		const decsum_decimal *d = unit_make_decimal(&t, "-123456789.123456789");

		/* the last group, 9000, sits 10 bytes after the first */
		CHECK(d->negative && memcmp((const char *) d->digits + 10, &(int16_t) {9000}, 2) == 0,
			  "digit builder: fraction digits are left-aligned in their group");
	}

	/* every digit form reaches decsum with the right value and scale */
	{
		static const struct
		{
			const char *text;
			const char *sum;
			int			scale;
		}			vals[] = {
			{"10000", "10000", 0},
			{"0.0001", "0.0001", 4},
			{"0.00012", "0.00012", 5},
			{"-123456789.123456789", "-123456789.123456789", 9},
			{"0.000", "0.000", 3},
			{"12.50", "12.50", 2},
			{"100000000", "100000000", 0},
			{"-0.5", "-0.5", 1},
			{"99999999999999999999999999999999999999", "99999999999999999999999999999999999999", 0},
			{"0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001", 38},
		};

		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		{
			decsum		s = empty_sum;
			char		buf[DECSUM_TEXT_SIZE(64)];
			char		what[120];

			snprintf(what, sizeof(what), "add_decimal: %s alone sums to %s", vals[i].text, vals[i].sum);
			CHECK(add_text(&s, vals[i].text) == KPI_OK && s.scale == vals[i].scale && s.count == 1 &&
				  s.max_scale_count == 1 && strcmp(sum_text(&s, buf), vals[i].sum) == 0, what);
		}
	}

	/*
	 * Digits that reach past dscale (PostgreSQL never stores these): the
	 * scale rises so that nothing is lost, unless the extra digits are 0.
	 */
	{
		int16_t		raw[3] = {1, 2345, 0};
		decsum_decimal d = {false, 0, 2, 2, raw};
		decsum		s = empty_sum;
		char		buf[64];

		CHECK(decsum_add_decimal(&s, &d, NULL) == KPI_OK && s.scale == 4 &&
			  strcmp(sum_text(&s, buf), "1.2345") == 0, "add_decimal: digits past dscale raise the scale");
		raw[1] = 2000;
		d.dscale = 1;
		s = empty_sum;
		CHECK(decsum_add_decimal(&s, &d, NULL) == KPI_OK && s.scale == 1 &&
			  strcmp(sum_text(&s, buf), "1.2") == 0, "add_decimal: zero digits past dscale are dropped");
		/* a zero with weight far out and a large display scale */
		d.ndigits = 0;
		d.weight = 1000;
		d.dscale = 20;
		s = empty_sum;
		CHECK(decsum_add_decimal(&s, &d, NULL) == KPI_OK && s.scale == 20 && s.sum == 0,
			  "add_decimal: zero with any weight is zero at its dscale");
	}
}

static void
test_hand_sums(void)
{
	decsum		s = empty_sum;
	char		buf[64];

	CHECK(add_text(&s, "1.5") == KPI_OK && add_text(&s, "2.25") == KPI_OK &&
		  add_text(&s, "-0.75") == KPI_OK, "hand: three adds");
	CHECK(strcmp(sum_text(&s, buf), "3.00") == 0 && s.scale == 2 && s.count == 3 &&
		  s.max_scale_count == 2, "hand: 1.5 + 2.25 - 0.75 = 3.00 at scale 2, two values at that scale");
	CHECK(decsum_add_int64(&s, -3, NULL) == KPI_OK && strcmp(sum_text(&s, buf), "0.00") == 0 &&
		  s.count == 4 && s.max_scale_count == 2, "hand: adding the integer -3 gives 0.00");
	CHECK(add_text(&s, "0.001") == KPI_OK && s.scale == 3 && s.max_scale_count == 1 &&
		  strcmp(sum_text(&s, buf), "0.001") == 0, "hand: a larger scale resets its count to 1");
	CHECK(add_text(&s, "7") == KPI_OK && s.scale == 3 && s.max_scale_count == 1 &&
		  strcmp(sum_text(&s, buf), "7.001") == 0, "hand: a smaller scale leaves the count");
	CHECK(s.wide == 0, "hand: the sum stays narrow");

	s = empty_sum;
	CHECK(decsum_add_int64(&s, 5, NULL) == KPI_OK && decsum_add_int64(&s, 7, NULL) == KPI_OK &&
		  s.scale == 0 && s.max_scale_count == 2, "hand: integers count at scale 0, as numeric does");
}

/* Random adds against the reference: value, scale and max-scale count. */
/*
 * decsum_add_small_decimal, the inline common case of an addition: it
 * either declines and leaves the sum as it was, or does exactly what
 * decsum_add_decimal does.
 */
static void
test_small_decimal(void)
{
	int			ok = 1;
	int			taken = 0;
	int			declined = 0;

	for (int round = 0; round < 3000; round++)
	{
		decsum		s = empty_sum;
		decsum		fast;
		decsum		general;
		char		text[64];
		unit_decimal t;
		const decsum_decimal *d;

		unit_random_decimal(text, 18, 6);
		if (add_text(&s, text) != KPI_OK)
			ok = 0;
		unit_random_decimal(text, 17, 8);
		d = unit_make_decimal(&t, text);
		fast = general = s;
		if (decsum_add_small_decimal(&fast, d))
		{
			taken++;
			if (decsum_add_decimal(&general, d, NULL) != KPI_OK || !same_state(&fast, &general))
				ok = 0;
		}
		else
		{
			declined++;
			if (!same_state(&fast, &s))
				ok = 0;
		}
	}
	CHECK(ok && taken > 0 && declined > 0,
		  "small decimal: 3000 random additions are declined unchanged or equal add_decimal's");

	/* a sum 6.9e17 below the int128 limit, at scale 18 */
	{
		decsum		s = empty_sum;
		decsum		before;
		unit_decimal t;

		CHECK(add_text(&s, "100000000000000000000.000000000000000000") == KPI_OK &&
			  add_text(&s, "70141183460469231731.000000000000000000") == KPI_OK && s.wide == 0,
			  "small decimal: a sum near the int128 limit is narrow");
		before = s;
		CHECK(!decsum_add_small_decimal(&s, unit_make_decimal(&t, "1")) && same_state(&s, &before),
			  "small decimal: an addition past 128 bits is declined, the sum unchanged");
		CHECK(decsum_add_small_decimal(&s, unit_make_decimal(&t, "-1")) && s.count == 3,
			  "small decimal: a subtraction near the limit is taken");
	}
}

static void
test_random_adds(void)
{
	int			ok = 1;

	for (int round = 0; round < 200; round++)
	{
		decsum		s = empty_sum;
		expected	e = {{{0}}, 0, 0, 0};
		int			n = 1 + (int) (unit_rng_next() % 60);
		char		got[DECSUM_TEXT_SIZE(20)];

		for (int i = 0; i < n; i++)
		{
			char		text[64];

			unit_random_decimal(text, 15, 8);
			if (add_text(&s, text) != KPI_OK)
				ok = 0;
			expect_add(&e, text);
		}
		if (!as_expected(&s, sum_text(&s, got), &e) || s.wide != 0)
		{
			if (ok)
				printf("# round %d: got %s (scale %d, count %lld)\n",
					   round, got, s.scale, (long long) s.max_scale_count);
			ok = 0;
		}
	}
	CHECK(ok, "random: 200 sequences of mixed-scale decimals equal the digit-by-digit reference");
}

static void
test_remove_rules(void)
{
	decsum		s = empty_sum;
	decsum		before;
	char		buf[64];

	/* numeric_accum_inv: dscale bookkeeping */
	add_text(&s, "1.50");
	decsum_add_int64(&s, 2, NULL);
	add_text(&s, "3.25");
	CHECK(s.scale == 2 && s.max_scale_count == 2, "remove: state 1.50, 2, 3.25");
	CHECK(remove_text(&s, "1.50") == KPI_OK && s.scale == 2 && s.max_scale_count == 1 && s.count == 2 &&
		  strcmp(sum_text(&s, buf), "5.25") == 0, "remove: one of two max-scale values");
	before = s;
	CHECK(remove_text(&s, "3.25") == KPI_CANNOT_INVERT && same_state(&s, &before),
		  "remove: the last max-scale value while others remain cannot be inverted; state unchanged");
	CHECK(decsum_remove_int64(&s, 2, NULL) == KPI_OK && s.count == 1 && s.scale == 2 &&
		  strcmp(sum_text(&s, buf), "3.25") == 0, "remove: a smaller-scale value keeps the scale");
	CHECK(remove_text(&s, "3.25") == KPI_OK && same_state(&s, &empty_sum),
		  "remove: the only value resets to the all-zero state");

	s = empty_sum;
	add_text(&s, "1.234");
	CHECK(remove_text(&s, "1.234") == KPI_OK && same_state(&s, &empty_sum), "remove: add then remove is empty");

	s = empty_sum;
	decsum_add_int64(&s, 5, NULL);
	decsum_add_int64(&s, 7, NULL);
	CHECK(decsum_remove_int64(&s, 5, NULL) == KPI_OK && s.max_scale_count == 1 && s.sum == 7 &&
		  decsum_remove_int64(&s, 7, NULL) == KPI_OK && same_state(&s, &empty_sum),
		  "remove: scale-0 values always invert");

	s = empty_sum;
	CHECK(decsum_remove_int64(&s, 1, NULL) == KPI_CANNOT_INVERT && same_state(&s, &empty_sum),
		  "remove: from the empty state cannot be inverted");
	decsum_add_int64(&s, 1, NULL);
	before = s;
	CHECK(remove_text(&s, "1.0") == KPI_CANNOT_INVERT && same_state(&s, &before),
		  "remove: a value with a larger scale than the state was never added");

	/* zeros count for the scale too */
	s = empty_sum;
	add_text(&s, "0.000");
	add_text(&s, "2.5");
	CHECK(s.scale == 3 && s.max_scale_count == 1 && strcmp(sum_text(&s, buf), "2.500") == 0,
		  "remove: 0.000 sets the scale");
	before = s;
	CHECK(remove_text(&s, "0.000") == KPI_CANNOT_INVERT && same_state(&s, &before),
		  "remove: removing 0.000 leaves the scale unknown");

	/* the removal itself overflowing leaves the state unchanged */
	s = empty_sum;
	add_text(&s, "170141183460469231731687303715884105727");
	decsum_add_int64(&s, 0, NULL);
	before = s;
	CHECK(decsum_remove_int64(&s, -1, NULL) == KPI_ERR_OVERFLOW && same_state(&s, &before),
		  "remove: an overflowing removal fails and leaves the state");
}

/*
 * A moving window, as PostgreSQL runs it: add the new value, remove the
 * oldest; when removal cannot be inverted, rebuild from the frame.  After
 * every step the state equals the reference sum of the frame, its scale
 * is the largest dscale in the frame, and removal fails exactly when
 * numeric's rule says so.
 */
static void
test_moving_window(void)
{
	enum
	{
		STEPS = 4000, MAXW = 12
	};
	static char values[STEPS][40];
	decsum		s = empty_sum;
	int			head = 0,
				width = 0;
	int			ok_value = 1,
				ok_rule = 1,
				ok_unchanged = 1,
				restarts = 0,
				inverted = 0;

	for (int step = 0; step < STEPS; step++)
	{
		int			frame = 1 + (int) (unit_rng_next() % MAXW);

		unit_random_decimal(values[step], 6, 4);
		if (add_text(&s, values[step]) != KPI_OK)
			ok_value = 0;
		width++;
		while (width > frame)
		{
			const char *old = values[head];
			expected	e = expect_run(values[head], sizeof(values[0]), width);
			bool		expect_fail = expect_cannot_remove(&e, old);
			decsum		before = s;
			kpi_status	st = remove_text(&s, old);

			if ((st == KPI_CANNOT_INVERT) != expect_fail || (st != KPI_OK && st != KPI_CANNOT_INVERT))
				ok_rule = 0;
			head++;
			width--;
			if (st == KPI_CANNOT_INVERT)
			{
				if (!same_state(&s, &before))
					ok_unchanged = 0;
				restarts++;
				s = empty_sum;
				for (int k = head; k < head + width; k++)
					add_text(&s, values[k]);
			}
			else
				inverted++;
		}
		{
			expected	e = expect_run(values[head], sizeof(values[0]), width);
			char		got[64];

			if (!as_expected(&s, sum_text(&s, got), &e))
				ok_value = 0;
		}
	}
	CHECK(ok_value, "window: every frame's sum, scale and max-scale count equal the reference");
	CHECK(ok_rule, "window: removal fails exactly when the last value of the largest scale leaves");
	CHECK(ok_unchanged, "window: a failed removal leaves the state unchanged");
	CHECK(restarts > 100 && inverted > 1000, "window: both outcomes happen often");
}

static kpi_status
merge_sums(void **into, const void *from)
{
	return decsum_merge(*into, from, NULL);
}

static void
add_random_decimal(void **whole, void **part, void *ctx)
{
	char		text[40];

	(void) ctx;
	unit_random_decimal(text, 12, 6);
	add_text(*whole, text);
	add_text(*part, text);
}

static void
test_merge(void)
{
	const unit_merge_ops ops = {sizeof(decsum), NULL, &empty_sum, merge_sums, add_random_decimal, NULL};
	unit_merge_ok ok = UNIT_MERGE_OK_INIT;
	decsum		a = empty_sum,
				b = empty_sum,
				c;
	char		buf[64];

	/* the max-scale counts follow numeric_avg_combine */
	add_text(&a, "1.25");
	add_text(&b, "1.125");
	add_text(&b, "2.500");
	c = a;
	CHECK(decsum_merge(&c, &b, NULL) == KPI_OK && c.scale == 3 && c.max_scale_count == 2 && c.count == 3 &&
		  strcmp(sum_text(&c, buf), "4.875") == 0, "merge: the larger scale brings its own count");
	c = b;
	CHECK(decsum_merge(&c, &a, NULL) == KPI_OK && c.scale == 3 && c.max_scale_count == 2,
		  "merge: a smaller scale adds nothing to the count");
	add_text(&a, "0.001");
	c = a;
	CHECK(decsum_merge(&c, &b, NULL) == KPI_OK && c.max_scale_count == 3, "merge: equal scales add their counts");
	c = a;
	CHECK(decsum_merge(&c, &empty_sum, NULL) == KPI_OK && same_state(&c, &a), "merge: x + empty = x");

	for (int round = 0; round < 300; round++)
		unit_merge_round(&ops, 40, 5, &ok);
	CHECK(ok.split, "merge: 300 random splits merged in any order equal sequential adds, byte for byte");
	CHECK(ok.comm, "merge: commutative");
	CHECK(ok.assoc, "merge: associative");
	CHECK(ok.ident, "merge: empty + x = x + empty = x");
}

static void
test_overflow(void)
{
	decsum		s = empty_sum,
				before,
				other = empty_sum;
	char		buf[64];
	const char *max = "170141183460469231731687303715884105727";

	CHECK(add_text(&s, "10000000000000000000000000000000000000000") == KPI_ERR_OVERFLOW &&
		  same_state(&s, &empty_sum), "overflow: a 41-digit value fails alone; state unchanged");
	CHECK(add_text(&s, "99999999999999999999999999999999999999") == KPI_OK,
		  "overflow: 38 nines fit");
	before = s;
	CHECK(add_text(&s, "99999999999999999999999999999999999999") == KPI_ERR_OVERFLOW && same_state(&s, &before),
		  "overflow: twice 38 nines fail; state unchanged");

	s = empty_sum;
	CHECK(add_text(&s, max) == KPI_OK && strcmp(sum_text(&s, buf), max) == 0, "overflow: INT128 max fits");
	before = s;
	{
		kpi_msg		msg;

		msg.text[0] = '\0';
		CHECK(decsum_add_int64(&s, 1, &msg) == KPI_ERR_OVERFLOW && same_state(&s, &before) &&
			  msg.text[0] != '\0', "overflow: INT128 max + 1 fails with a detail; state unchanged");
	}

	/* raising the scale of the sum overflows */
	s = empty_sum;
	add_text(&s, "10000000000000000000000000000000");	/* 10^31 */
	before = s;
	CHECK(add_text(&s, "0.00000001") == KPI_ERR_OVERFLOW && same_state(&s, &before),
		  "overflow: 10^31 at scale 8 does not fit; state unchanged");
	CHECK(add_text(&s, "0.0000001") == KPI_OK && strcmp(sum_text(&s, buf), "10000000000000000000000000000000.0000001") == 0,
		  "overflow: 10^31 at scale 7 fits");
	/* raising the scale of the value overflows */
	s = empty_sum;
	add_text(&s, "0.00000000000000000000000000000001");	/* scale 32 */
	CHECK(s.scale == 32, "overflow: a value at scale 32");
	before = s;
	CHECK(add_text(&s, "10000000") == KPI_ERR_OVERFLOW && same_state(&s, &before),
		  "overflow: 10^7 at scale 32 does not fit; state unchanged");
	/* a zero with a huge scale makes any nonzero sum overflow */
	s = empty_sum;
	decsum_add_int64(&s, 1, NULL);
	before = s;
	{
		decsum_decimal zero = {false, 0, DECSUM_MAX_SCALE, 0, NULL};

		CHECK(decsum_add_decimal(&s, &zero, NULL) == KPI_ERR_OVERFLOW && same_state(&s, &before),
			  "overflow: 1 at scale 16383 does not fit; state unchanged");
		s = empty_sum;
		CHECK(decsum_add_decimal(&s, &zero, NULL) == KPI_OK && decsum_add_decimal(&s, &zero, NULL) == KPI_OK &&
			  s.scale == DECSUM_MAX_SCALE && s.sum == 0 && s.max_scale_count == 2,
			  "overflow: zeros at scale 16383 are fine");
	}

	/* merge overflow */
	s = empty_sum;
	add_text(&s, max);
	add_text(&other, "1");
	before = s;
	CHECK(decsum_merge(&s, &other, NULL) == KPI_ERR_OVERFLOW && same_state(&s, &before),
		  "overflow: merge past INT128 max fails; state unchanged");

	/* the most negative sum */
	s = empty_sum;
	CHECK(add_text(&s, "-170141183460469231731687303715884105727") == KPI_OK &&
		  decsum_add_int64(&s, -1, NULL) == KPI_OK &&
		  strcmp(sum_text(&s, buf), "-170141183460469231731687303715884105728") == 0,
		  "overflow: the sum may reach INT128 min");
	before = s;
	CHECK(decsum_add_int64(&s, -1, NULL) == KPI_ERR_OVERFLOW && same_state(&s, &before),
		  "overflow: below INT128 min fails");
}

static void
test_int64_extremes(void)
{
	decsum		s = empty_sum;
	unit_ref	total = {{0}},
				r;
	char		got[64],
				want[UNIT_REF_TEXT];
	int			ok = 1;

	unit_ref_from_text(&r, "9223372036854775807");
	for (int i = 0; i < 1000; i++)
	{
		if (decsum_add_int64(&s, INT64_MAX, NULL) != KPI_OK)
			ok = 0;
		unit_ref_add(&total, &r);
	}
	unit_ref_to_text(&total, 0, want);
	CHECK(ok && strcmp(sum_text(&s, got), want) == 0 && strcmp(want, "9223372036854775807000") == 0,
		  "int64: 1000 times INT64_MAX does not wrap");

	unit_ref_from_text(&r, "-9223372036854775808");
	for (int i = 0; i < 3000; i++)
	{
		decsum_add_int64(&s, INT64_MIN, NULL);
		unit_ref_add(&total, &r);
	}
	unit_ref_to_text(&total, 0, want);
	CHECK(strcmp(sum_text(&s, got), want) == 0 && s.count == 4000, "int64: then 3000 times INT64_MIN");
	CHECK(decsum_remove_int64(&s, INT64_MIN, NULL) == KPI_OK && decsum_remove_int64(&s, INT64_MAX, NULL) == KPI_OK,
		  "int64: remove the extremes");
	unit_ref_from_text(&r, "1");
	unit_ref_add(&total, &r);		/* - INT64_MIN - INT64_MAX = +1 */
	unit_ref_to_text(&total, 0, want);
	CHECK(strcmp(sum_text(&s, got), want) == 0 && s.count == 3998, "int64: removal of the extremes is exact");

	/* doubling by self-merge: sum INT64_MAX * 2^62 */
	s = empty_sum;
	decsum_add_int64(&s, INT64_MAX, NULL);
	unit_ref_from_text(&total, "9223372036854775807");
	ok = 1;
	for (int i = 0; i < 62; i++)
	{
		decsum		copy = s;

		if (decsum_merge(&s, &copy, NULL) != KPI_OK)
			ok = 0;
		r = total;
		unit_ref_add(&total, &r);
	}
	unit_ref_to_text(&total, 0, want);
	CHECK(ok && strcmp(sum_text(&s, got), want) == 0 && s.count == (int64_t) 1 << 62 &&
		  s.max_scale_count == s.count, "int64: 62 self-merges give INT64_MAX * 2^62 exactly");
}

static void
test_format_parse(void)
{
	static const struct
	{
		__int128	sum;
		int32_t		scale;
		const char *text;
	}			cases[] = {
		{0, 0, "0"},
		{0, 3, "0.000"},
		{5, 3, "0.005"},
		{-5, 3, "-0.005"},
		{-12345, 2, "-123.45"},
		{100, 2, "1.00"},
		{12345, 0, "12345"},
		{1, 1, "0.1"},
		{-1, 0, "-1"},
		{-10, 1, "-1.0"},
		{KPI_INT128_MAX, 0, "170141183460469231731687303715884105727"},
		{KPI_INT128_MAX, 38, "1.70141183460469231731687303715884105727"},
		{KPI_INT128_MAX, 39, "0.170141183460469231731687303715884105727"},
		{KPI_INT128_MIN, 0, "-170141183460469231731687303715884105728"},
		{KPI_INT128_MIN, 45, "-0.000000170141183460469231731687303715884105728"},
	};
	static const char *const bad[] = {
		"", "-", "+", ".", "-.", "1.", "1.2.3", "1e5", " 1", "1 ", "abc", "0x1", "1,5", "--1",
		"1000000000000000000000000000000000000000",
		"170141183460469231731687303715884105728",
		"-170141183460469231731687303715884105729",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		buf[DECSUM_TEXT_SIZE(45)];
		__int128	sum = 12345;
		int32_t		scale = -1;
		char		what[120];

		decsum_format(cases[i].sum, cases[i].scale, buf);
		snprintf(what, sizeof(what), "format: %s", cases[i].text);
		CHECK(strcmp(buf, cases[i].text) == 0, what);
		snprintf(what, sizeof(what), "parse: %s reads back", cases[i].text);
		CHECK(decsum_parse(buf, strlen(buf), &sum, &scale, NULL) == KPI_OK &&
			  sum == cases[i].sum && scale == cases[i].scale, what);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		__int128	sum = 7;
		int32_t		scale = 7;
		kpi_msg		msg;
		char		what[120];

		msg.text[0] = '\0';
		snprintf(what, sizeof(what), "parse: \"%s\" is KPI_ERR_TEXT", bad[i]);
		CHECK(decsum_parse(bad[i], strlen(bad[i]), &sum, &scale, &msg) == KPI_ERR_TEXT &&
			  sum == 7 && scale == 7 && msg.text[0] != '\0', what);
	}
	{
		__int128	sum;
		int32_t		scale;

		CHECK(decsum_parse("+1.5", 4, &sum, &scale, NULL) == KPI_OK && sum == 15 && scale == 1, "parse: +1.5");
		CHECK(decsum_parse("007", 3, &sum, &scale, NULL) == KPI_OK && sum == 7 && scale == 0, "parse: 007");
		CHECK(decsum_parse("-0.00", 5, &sum, &scale, NULL) == KPI_OK && sum == 0 && scale == 2,
			  "parse: -0.00 is zero at scale 2");
		CHECK(decsum_parse("12.34junk", 5, &sum, &scale, NULL) == KPI_OK && sum == 1234 && scale == 2,
			  "parse: reads only len characters");
	}

	/* zero at the largest scale, and one digit more */
	{
		size_t		size = DECSUM_TEXT_SIZE(DECSUM_MAX_SCALE + 1);
		char	   *buf = malloc(size);
		__int128	sum;
		int32_t		scale;
		bool		zeros = true;

		decsum_format(0, DECSUM_MAX_SCALE, buf);
		for (int i = 2; i < 2 + DECSUM_MAX_SCALE; i++)
			zeros = zeros && buf[i] == '0';
		CHECK(strlen(buf) == 2 + DECSUM_MAX_SCALE && buf[0] == '0' && buf[1] == '.' && zeros,
			  "format: zero at scale 16383");
		CHECK(decsum_parse(buf, strlen(buf), &sum, &scale, NULL) == KPI_OK && sum == 0 &&
			  scale == DECSUM_MAX_SCALE, "parse: zero at scale 16383");
		strcat(buf, "0");
		CHECK(decsum_parse(buf, strlen(buf), &sum, &scale, NULL) == KPI_ERR_TEXT,
			  "parse: 16384 digits after the point are too many");
		free(buf);
	}

	/* random values: format equals an independent rendering, parse inverts */
	{
		int			ok_format = 1,
					ok_parse = 1;

		for (int i = 0; i < 20000; i++)
		{
			__int128	v = (__int128) (((unsigned __int128) unit_rng_next() << 64) | unit_rng_next());
			int32_t		scale = (int32_t) (unit_rng_next() % 50);
			char		want[128],
						got[DECSUM_TEXT_SIZE(50)];
			__int128	back;
			int32_t		backscale;

			v >>= unit_rng_next() % 128;
			unit_i128_scaled_text(v, scale, want);
			decsum_format(v, scale, got);
			if (strcmp(got, want) != 0)
				ok_format = 0;
			if (decsum_parse(got, strlen(got), &back, &backscale, NULL) != KPI_OK ||
				back != v || backscale != scale)
				ok_parse = 0;
		}
		CHECK(ok_format, "format: 20000 random sums and scales equal an independent rendering");
		CHECK(ok_parse, "parse: 20000 random formatted sums read back exactly");
	}
}

/* ------------------------------------------------------------ wide sums */

static const kpi_allocator *mem = &kpi_malloc_allocator;

/* A decsum alone in a malloc'd block, as the _wide functions want it. */
static decsum *
block_new(void)
{
	decsum	   *s = malloc(sizeof(decsum));

	*s = empty_sum;
	return s;
}

static decsum *
block_copy(const decsum *s)
{
	decsum	   *copy = malloc(decsum_size(s));

	memcpy(copy, s, decsum_size(s));
	return copy;
}

static bool
block_same(const decsum *a, const decsum *b)
{
	return decsum_size(a) == decsum_size(b) && memcmp(a, b, decsum_size(a)) == 0;
}

/* Adds (or removes) decimal text to a decsum alone in its block. */
static kpi_status
wide_step(decsum **s, const char *text, bool remove)
{
	unit_decimal t;
	const decsum_decimal *d = unit_make_decimal(&t, text);
	void	   *block = *s;
	kpi_status	st = remove ? decsum_remove_decimal_wide(&block, 0, d, mem, NULL) :
		decsum_add_decimal_wide(&block, 0, d, mem, NULL);

	*s = block;
	return st;
}

static kpi_status
wide_add(decsum **s, const char *text)
{
	return wide_step(s, text, false);
}

static kpi_status
wide_remove(decsum **s, const char *text)
{
	return wide_step(s, text, true);
}

static kpi_status
wide_merge(decsum **s, const decsum *src)
{
	void	   *block = *s;
	kpi_status	st = decsum_merge_wide(&block, 0, src, mem, NULL);

	*s = block;
	return st;
}

/* The sum's text, through decsum_append_sum (malloc'd). */
static char *
wide_text(const decsum *s)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, mem);
	decsum_append_sum(s, &sb);
	return sb.data;
}

static bool
wide_text_is(const decsum *s, const char *expected)
{
	return unit_text_is(wide_text(s), expected);
}

/*
 * Whether the coefficient of decimal text (its digits without the point)
 * fits in 128 bits, decided on the digits: fewer than 39, or 39 that do
 * not pass 2^127 - 1 (2^127 when negative).
 */
static bool
coef_fits(const char *text)
{
	char		digits[UNIT_REF_TEXT];
	size_t		n = 0;
	bool		neg = text[0] == '-';

	for (const char *p = text; *p; p++)
		if (*p >= '0' && *p <= '9' && (n > 0 || *p != '0'))
			digits[n++] = *p;
	digits[n] = '\0';
	if (n != 39)
		return n < 39;
	return strcmp(digits, neg ? "170141183460469231731687303715884105728" :
				  "170141183460469231731687303715884105727") <= 0;
}

/* A state is canonical: narrow exactly when its sum fits, zero sum narrow. */
static bool
canonical_sum(const decsum *s)
{
	char	   *t = wide_text(s);
	bool		ok = (s->wide == 0) == coef_fits(t) && (s->wide == 0 || s->sum == 0);

	free(t);
	return ok;
}

static void
test_wide_switch(void)
{
	const char *nines = "99999999999999999999999999999999999999";	/* 38 */
	decsum	   *s = block_new();
	decsum	   *fresh = block_new();

	CHECK(wide_add(&s, nines) == KPI_OK && s->wide == 0 && decsum_size(s) == sizeof(decsum),
		  "switch: 38 nines stay narrow");
	CHECK(wide_add(&s, nines) == KPI_OK && s->wide == 5 && s->sum == 0 &&
		  decsum_size(s) == sizeof(decsum) + 5 * sizeof(uint32_t) && s->count == 2 &&
		  s->max_scale_count == 2 && wide_text_is(s, "199999999999999999999999999999999999998"),
		  "switch: twice 38 nines go wide: 5 limbs after the struct, the sum exact");
	{
		decsum_decimal zero = {false, 0, 0, 0, NULL};

		CHECK(decsum_add_decimal(s, &zero, NULL) == KPI_ERR_OVERFLOW && decsum_add_int64(s, 1, NULL) == KPI_ERR_OVERFLOW &&
			  decsum_merge(s, &empty_sum, NULL) == KPI_ERR_OVERFLOW,
			  "switch: the narrow functions refuse a wide sum");
	}
	CHECK(wide_remove(&s, nines) == KPI_OK && s->wide == 0 && decsum_size(s) == sizeof(decsum),
		  "switch: removing one goes back to narrow");
	wide_add(&fresh, nines);
	CHECK(block_same(s, fresh), "switch: the same bytes as a state that never went wide");

	/* the example: 10^30 and 10^-9 in one group */
	free(s);
	s = block_new();
	CHECK(wide_add(&s, "1000000000000000000000000000000") == KPI_OK &&
		  wide_add(&s, "0.000000001") == KPI_OK && s->wide == 5 && s->scale == 9 &&
		  s->max_scale_count == 1 && wide_text_is(s, "1000000000000000000000000000000.000000001"),
		  "switch: 10^30 + 10^-9 is exact at scale 9");
	CHECK(wide_add(&s, "-1000000000000000000000000000000") == KPI_OK && s->wide == 0 &&
		  s->scale == 9 && s->sum == 1 && s->count == 3 && wide_text_is(s, "0.000000001"),
		  "switch: adding -10^30 cancels back to a narrow 10^-9");

	/* the edges of 128 bits */
	free(s);
	s = block_new();
	CHECK(wide_add(&s, "170141183460469231731687303715884105727") == KPI_OK && s->wide == 0,
		  "switch: 2^127 - 1 is narrow");
	{
		void	   *block = s;

		CHECK(decsum_add_int64_wide(&block, 0, 1, mem, NULL) == KPI_OK &&
			  ((decsum *) block)->wide == 5 && wide_text_is(block, "170141183460469231731687303715884105728"),
			  "switch: + 1 is 2^127, wide");
		CHECK(decsum_remove_int64_wide(&block, 0, 1, mem, NULL) == KPI_OK && ((decsum *) block)->wide == 0 &&
			  ((decsum *) block)->sum == KPI_INT128_MAX, "switch: - 1 again is narrow");
		s = block;
	}
	free(s);
	s = block_new();
	CHECK(wide_add(&s, "-170141183460469231731687303715884105728") == KPI_OK && s->wide == 0 &&
		  s->sum == KPI_INT128_MIN, "switch: -2^127 is narrow");
	CHECK(wide_add(&s, "-1") == KPI_OK && s->wide == -5 &&
		  wide_text_is(s, "-170141183460469231731687303715884105729"), "switch: - 1 is wide and negative");

	/* without an allocator the block cannot grow */
	{
		decsum		before = *fresh;
		void	   *block = fresh;
		unit_decimal t;
		kpi_msg		msg;

		msg.text[0] = '\0';
		CHECK(decsum_add_decimal_wide(&block, 0, unit_make_decimal(&t, nines), NULL, &msg) == KPI_ERR_OVERFLOW &&
			  block == fresh && same_state(fresh, &before) && msg.text[0] != '\0',
			  "switch: with mem NULL a sum past 128 bits fails as before; state unchanged");
	}
	free(s);
	free(fresh);
}

/* Random adds of huge, tiny and ordinary decimals against the reference. */
static void
test_wide_random(void)
{
	int			ok = 1,
				canon = 1,
				went_wide = 0;

	for (int round = 0; round < 150; round++)
	{
		decsum	   *s = block_new();
		expected	e = {{{0}}, 0, 0, 0};
		int			n = 1 + (int) (unit_rng_next() % 40);
		char	   *got;

		for (int i = 0; i < n; i++)
		{
			char		text[200];

			if (unit_rng_next() % 3 == 0)
				unit_random_decimal(text, 8, 2);
			else
				unit_random_decimal(text, 60, 60);
			if (wide_add(&s, text) != KPI_OK)
				ok = 0;
			expect_add(&e, text);
			if (!canonical_sum(s))
				canon = 0;
			went_wide += s->wide != 0;
		}
		got = wide_text(s);
		if (!as_expected(s, got, &e))
		{
			if (ok)
				printf("# round %d: got %s\n", round, got);
			ok = 0;
		}
		free(got);
		free(s);
	}
	CHECK(ok, "wide: 150 sequences of decimals up to 10^60 and 10^-60 equal the digit-by-digit reference");
	CHECK(canon, "wide: after every add the sum is narrow exactly when it fits in 128 bits");
	CHECK(went_wide > 1000, "wide: most of those sums were wide");
}

/*
 * The moving window of test_moving_window over values that make the sum
 * go wide and come back: every frame equals the reference, and the state
 * has the bytes of a fresh one built from the frame.
 */
static void
test_wide_window(void)
{
	enum
	{
		STEPS = 1500, MAXW = 8
	};
	static char values[STEPS][120];
	decsum	   *s = block_new();
	int			head = 0,
				width = 0;
	int			ok_value = 1,
				ok_bytes = 1,
				ok_rule = 1,
				restarts = 0,
				narrow_after_wide = 0;
	bool		was_wide = false;

	for (int step = 0; step < STEPS; step++)
	{
		int			frame = 1 + (int) (unit_rng_next() % MAXW);

		if (unit_rng_next() % 2)
			unit_random_decimal(values[step], 45, 4);
		else
			unit_random_decimal(values[step], 5, 30);
		if (wide_add(&s, values[step]) != KPI_OK)
			ok_value = 0;
		width++;
		while (width > frame)
		{
			expected	e = expect_run(values[head], sizeof(values[0]), width);
			bool		expect_fail = expect_cannot_remove(&e, values[head]);
			decsum	   *before = block_copy(s);
			kpi_status	st = wide_remove(&s, values[head]);

			if ((st == KPI_CANNOT_INVERT) != expect_fail || (st != KPI_OK && st != KPI_CANNOT_INVERT) ||
				(st != KPI_OK && !block_same(s, before)))
				ok_rule = 0;
			free(before);
			head++;
			width--;
			if (st == KPI_CANNOT_INVERT)
			{
				restarts++;
				free(s);
				s = block_new();
				for (int k = head; k < head + width; k++)
					wide_add(&s, values[k]);
			}
		}
		{
			expected	e = expect_run(values[head], sizeof(values[0]), width);
			decsum	   *fresh = block_new();
			char	   *got = wide_text(s);

			for (int k = head; k < head + width; k++)
				wide_add(&fresh, values[k]);
			if (!as_expected(s, got, &e))
				ok_value = 0;
			if (!block_same(s, fresh))
				ok_bytes = 0;
			free(got);
			free(fresh);
		}
		if (was_wide && s->wide == 0)
			narrow_after_wide++;
		was_wide = s->wide != 0;
	}
	CHECK(ok_value, "wide window: every frame's sum equals the reference");
	CHECK(ok_bytes, "wide window: every frame has the bytes of a fresh state (narrow when it fits)");
	CHECK(ok_rule, "wide window: removal fails exactly by numeric's rule, leaving the state as it was");
	CHECK(restarts > 50 && narrow_after_wide > 50, "wide window: restarts and wide-to-narrow returns both happen");
	free(s);
}

static size_t
block_size(const void *s)
{
	return decsum_size(s);
}

static kpi_status
merge_blocks(void **into, const void *from)
{
	return decsum_merge_wide(into, 0, from, mem, NULL);
}

static void
add_random_huge(void **whole, void **part, void *ctx)
{
	char		text[130];
	unit_decimal t;

	(void) ctx;
	if (unit_rng_next() % 2)
		unit_random_decimal(text, 50, 50);
	else
		unit_random_decimal(text, 6, 2);
	decsum_add_decimal_wide(whole, 0, unit_make_decimal(&t, text), mem, NULL);
	decsum_add_decimal_wide(part, 0, unit_make_decimal(&t, text), mem, NULL);
}

static void
test_wide_merge(void)
{
	const unit_merge_ops ops = {0, block_size, &empty_sum, merge_blocks, add_random_huge, NULL};
	unit_merge_ok ok = UNIT_MERGE_OK_INIT;
	decsum	   *wide = block_new(),
			   *narrow = block_new(),
			   *s;

	wide_add(&wide, "123456789012345678901234567890123456789012.5");
	wide_add(&narrow, "-0.25");
	s = block_copy(narrow);
	CHECK(wide_merge(&s, wide) == KPI_OK && s->wide == 5 && s->scale == 2 && s->count == 2 &&
		  s->max_scale_count == 1 && wide_text_is(s, "123456789012345678901234567890123456789012.25"),
		  "merge: wide into narrow");
	free(s);
	s = block_copy(wide);
	CHECK(wide_merge(&s, narrow) == KPI_OK && s->wide == 5 && wide_text_is(s, "123456789012345678901234567890123456789012.25"),
		  "merge: narrow into wide, the same");
	free(s);
	free(narrow);
	narrow = block_new();
	wide_add(&narrow, "-123456789012345678901234567890123456789012.5");
	s = block_copy(wide);
	CHECK(wide_merge(&s, narrow) == KPI_OK && s->wide == 0 && s->sum == 0 && s->scale == 1 &&
		  s->count == 2 && s->max_scale_count == 2, "merge: wide + its negation is a narrow zero at scale 1");
	free(s);
	s = block_copy(wide);
	CHECK(wide_merge(&s, &empty_sum) == KPI_OK && block_same(s, wide), "merge: wide + empty = wide");
	free(s);
	free(wide);
	free(narrow);

	for (int round = 0; round < 300; round++)
		unit_merge_round(&ops, 30, 5, &ok);
	CHECK(ok.split, "merge: 300 random splits of huge and tiny sums merged in any order equal sequential adds, byte for byte");
	CHECK(ok.comm, "merge: commutative with wide sums");
	CHECK(ok.assoc, "merge: associative with wide sums");
	CHECK(ok.ident, "merge: empty + x = x + empty = x with wide sums");
}

/* A decsum at the end of a larger block: what comes before it stays. */
static void
test_wide_offset(void)
{
	enum
	{
		HEAD = 24
	};
	char	   *block = malloc(HEAD + sizeof(decsum));
	void	   *b;
	unit_decimal t;
	bool		ok = true;

	memset(block, 0xA5, HEAD);
	memcpy(block + HEAD, &empty_sum, sizeof(decsum));
	b = block;
	ok = decsum_add_decimal_wide(&b, HEAD, unit_make_decimal(&t, "100000000000000000000000000000000000000000000000000"),
								 mem, NULL) == KPI_OK;
	block = b;
	ok = ok && ((decsum *) (block + HEAD))->wide == 6;
	for (int i = 0; i < HEAD; i++)
		ok = ok && (unsigned char) block[i] == 0xA5;
	CHECK(ok, "offset: a decsum after 24 bytes of its owner grows; the owner's bytes stay");
	ok = decsum_remove_decimal_wide(&b, HEAD, unit_make_decimal(&t, "100000000000000000000000000000000000000000000000000"),
									mem, NULL) == KPI_OK;
	block = b;
	ok = ok && memcmp(block + HEAD, &empty_sum, sizeof(decsum)) == 0;
	for (int i = 0; i < HEAD; i++)
		ok = ok && (unsigned char) block[i] == 0xA5;
	CHECK(ok, "offset: and shrinks back to the empty sum");
	free(block);
}

static void
test_set_parse_sum(void)
{
	static const struct
	{
		const char *text;
		const char *out;
		int			wide;
	}			cases[] = {
		{"0", "0", 0},
		{"-0.00", "0.00", 0},
		{"170141183460469231731687303715884105727", "170141183460469231731687303715884105727", 0},
		{"-170141183460469231731687303715884105728", "-170141183460469231731687303715884105728", 0},
		{"170141183460469231731687303715884105728", "170141183460469231731687303715884105728", 5},
		{"-0.000000000000000000000000000000000000000001", "-0.000000000000000000000000000000000000000001", 0},
		{"-1000000000000000000000000000000000000000000000.5", "-1000000000000000000000000000000000000000000000.5", -6},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		decsum	   *s = block_new();
		void	   *b = s;
		char		what[200];

		s->count = 1;
		s->max_scale_count = 1;
		snprintf(what, sizeof(what), "parse_sum: %s is %s", cases[i].text, cases[i].wide ? "wide" : "narrow");
		CHECK(decsum_parse_sum(&b, 0, cases[i].text, strlen(cases[i].text), mem, NULL) == KPI_OK &&
			  ((decsum *) b)->wide == cases[i].wide && ((decsum *) b)->count == 1 &&
			  ((decsum *) b)->max_scale_count == 1 && wide_text_is(b, cases[i].out), what);
		free(b);
	}
	{
		/* 16383 digits after the point are fine, 16384 are not */
		size_t		len = 2 + DECSUM_MAX_SCALE + 1;
		char	   *text = malloc(len + 1);
		decsum	   *s = block_new();
		void	   *b = s;
		kpi_msg		msg;

		memset(text, '0', len);
		text[1] = '.';
		text[len - 1] = '1';
		text[len] = '\0';
		msg.text[0] = '\0';
		CHECK(decsum_parse_sum(&b, 0, text, len, mem, &msg) == KPI_ERR_TEXT && msg.text[0] != '\0' &&
			  b == s && same_state(s, &empty_sum), "parse_sum: 16384 digits after the point are bad text");
		text[len - 2] = '1';
		CHECK(decsum_parse_sum(&b, 0, text, len - 1, mem, NULL) == KPI_OK &&
			  ((decsum *) b)->scale == DECSUM_MAX_SCALE && ((decsum *) b)->wide == 0 && ((decsum *) b)->sum == 1,
			  "parse_sum: 10^-16383 is the narrow coefficient 1 at scale 16383");
		text[0] = '1';
		CHECK(decsum_parse_sum(&b, 0, text, len - 1, mem, NULL) == KPI_OK &&
			  ((decsum *) b)->scale == DECSUM_MAX_SCALE && ((decsum *) b)->wide == (16384 + 8) / 9,
			  "parse_sum: 1 + 10^-16383 is wide: 16384 digits in 1821 limbs");
		free(b);
		free(text);
	}
	{
		/* digits before the point: DECSUM_MAX_INT_DIGITS, and one more */
		size_t		len = DECSUM_MAX_INT_DIGITS + 1;
		char	   *text = malloc(len + 1);
		decsum	   *s = block_new();
		void	   *b = s;

		memset(text, '9', len);
		text[len] = '\0';
		CHECK(decsum_parse_sum(&b, 0, text, len, mem, NULL) == KPI_ERR_TEXT && same_state(b, &empty_sum),
			  "parse_sum: more digits before the point than any sum of numerics is bad text");
		CHECK(decsum_parse_sum(&b, 0, text, len - 1, mem, NULL) == KPI_OK &&
			  bigdec_digits(&(bigdec) {(uint32_t *) ((decsum *) b + 1), ((decsum *) b)->wide, 0, false}) ==
			  DECSUM_MAX_INT_DIGITS, "parse_sum: exactly that many are fine");
		free(b);
		free(text);
	}
	{
		/* crafted digits whose scale passes numeric's: refused, state unchanged */
		int16_t		raw[1] = {1};
		decsum_decimal d = {false, -5000, 0, 1, raw};
		decsum	   *s = block_new();
		void	   *b = s;

		wide_add(&s, "5");
		b = s;
		CHECK(decsum_add_decimal_wide(&b, 0, &d, mem, NULL) == KPI_ERR_OVERFLOW && b == s && s->sum == 5 &&
			  s->count == 1, "limits: a value with 20000 digits after the point is refused; state unchanged");
		free(s);
	}
}

static void
test_wide_nomem(void)
{
	const kpi_allocator *failing = &unit_failing_allocator;
	int			ok = 1;

	/* fail the first, second, ... allocation of a switch to wide and back */
	for (int budget = 0; budget < 6; budget++)
	{
		decsum	   *s = block_new();
		decsum	   *before;
		void	   *b;
		unit_decimal t;
		kpi_status	st;

		wide_add(&s, "99999999999999999999999999999999999999");
		before = block_copy(s);
		b = s;
		unit_alloc_left = budget;
		st = decsum_add_decimal_wide(&b, 0, unit_make_decimal(&t, "99999999999999999999999999999999999999"),
									 failing, NULL);
		if (st == KPI_OK ? ((decsum *) b)->wide != 5 : (st != KPI_ERR_NOMEM || !block_same(b, before)))
			ok = 0;
		free(before);
		before = block_copy(b);
		unit_alloc_left = budget;
		st = decsum_remove_decimal_wide(&b, 0, unit_make_decimal(&t, "99999999999999999999999999999999999999"),
										failing, NULL);
		if (st == KPI_OK ? ((decsum *) b)->wide != 0 : (st != KPI_ERR_NOMEM || !block_same(b, before)))
			ok = 0;
		free(before);
		free(b);
	}
	CHECK(ok, "no memory: a failed allocation at any point leaves the state as it was, and leaks nothing");
}

int
main(void)
{
	/* line-buffered, so a sanitizer abort still shows the TAP lines before it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	unit_rng_seed(0x2545F4914F6CDD1Dull);
	test_digit_form();
	test_hand_sums();
	test_small_decimal();
	test_random_adds();
	test_remove_rules();
	test_moving_window();
	test_merge();
	test_overflow();
	test_int64_extremes();
	test_format_parse();
	test_wide_switch();
	test_wide_random();
	test_wide_window();
	test_wide_merge();
	test_wide_offset();
	test_set_parse_sum();
	test_wide_nomem();
	return unit_done();
}
