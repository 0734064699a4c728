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

/* ------------------------------------------------ reference decimal adder */

#define REF_LEN 140				/* digits in all */
#define REF_FRAC 60				/* of which after the point */

/* Ten's complement fixed point: d[0] is the 10^-REF_FRAC digit. */
typedef struct ref
{
	unsigned char d[REF_LEN];
} ref;

static void
ref_add(ref *a, const ref *b)
{
	int			carry = 0;

	for (int i = 0; i < REF_LEN; i++)
	{
		int			t = a->d[i] + b->d[i] + carry;

		a->d[i] = (unsigned char) (t % 10);
		carry = t / 10;
	}
}

static void
ref_negate(ref *a)
{
	ref			one = {{0}};

	for (int i = 0; i < REF_LEN; i++)
		a->d[i] = (unsigned char) (9 - a->d[i]);
	one.d[0] = 1;
	ref_add(a, &one);
}

/* "-123.4500" -> ref */
static void
ref_from_text(ref *r, const char *s)
{
	bool		neg = *s == '-';
	const char *point;
	const char *intend;

	memset(r, 0, sizeof(*r));
	if (*s == '-' || *s == '+')
		s++;
	point = strchr(s, '.');
	intend = point ? point : s + strlen(s);
	for (const char *p = intend - 1; p >= s; p--)
		r->d[REF_FRAC + (intend - 1 - p)] = (unsigned char) (*p - '0');
	if (point)
		for (int j = 0; point[1 + j] != '\0'; j++)
			r->d[REF_FRAC - 1 - j] = (unsigned char) (point[1 + j] - '0');
	if (neg)
		ref_negate(r);
}

/* ref -> text with exactly scale digits after the point ("?" if it has more) */
static void
ref_to_text(const ref *r, int scale, char *out)
{
	ref			m = *r;
	bool		neg = m.d[REF_LEN - 1] >= 5;
	int			top = REF_FRAC;
	char	   *p = out;

	if (neg)
		ref_negate(&m);
	for (int i = 0; i < REF_FRAC - scale; i++)
		if (m.d[i] != 0)
		{
			strcpy(out, "?");
			return;
		}
	for (int i = REF_LEN - 1; i >= REF_FRAC; i--)
		if (m.d[i] != 0)
		{
			top = i;
			break;
		}
	if (neg)
		*p++ = '-';
	for (int i = top; i >= REF_FRAC; i--)
		*p++ = (char) ('0' + m.d[i]);
	if (scale > 0)
	{
		*p++ = '.';
		for (int i = REF_FRAC - 1; i >= REF_FRAC - scale; i--)
			*p++ = (char) ('0' + m.d[i]);
	}
	*p = '\0';
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

static int
text_scale(const char *text)
{
	const char *point = strchr(text, '.');

	return point ? (int) strlen(point + 1) : 0;
}

/* A random decimal with up to maxint integer and maxfrac fraction digits. */
static void
random_decimal(char *out, int maxint, int maxfrac)
{
	int			nint = (int) (unit_rng_next() % (uint64_t) (maxint + 1));
	int			nfrac = (int) (unit_rng_next() % (uint64_t) (maxfrac + 1));

	if (unit_rng_next() % 2)
		*out++ = '-';
	if (nint == 0)
		*out++ = '0';
	for (int i = 0; i < nint; i++)
		*out++ = (char) ('0' + (i == 0 ? 1 + unit_rng_next() % 9 : unit_rng_next() % 10));
	if (nfrac > 0)
	{
		*out++ = '.';
		for (int i = 0; i < nfrac; i++)
			*out++ = (char) ('0' + unit_rng_next() % 10);
	}
	*out = '\0';
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
	CHECK(s.reserved == 0, "hand: reserved stays zero");

	s = empty_sum;
	CHECK(decsum_add_int64(&s, 5, NULL) == KPI_OK && decsum_add_int64(&s, 7, NULL) == KPI_OK &&
		  s.scale == 0 && s.max_scale_count == 2, "hand: integers count at scale 0, as numeric does");
}

/* Random adds against the reference: value, scale and max-scale count. */
static void
test_random_adds(void)
{
	int			ok = 1;

	for (int round = 0; round < 200; round++)
	{
		decsum		s = empty_sum;
		ref			total = {{0}};
		int			n = 1 + (int) (unit_rng_next() % 60);
		int			maxscale = 0,
					maxcount = 0;

		for (int i = 0; i < n; i++)
		{
			char		text[64];
			ref			r;
			int			sc;

			random_decimal(text, 15, 8);
			sc = text_scale(text);
			if (add_text(&s, text) != KPI_OK)
				ok = 0;
			ref_from_text(&r, text);
			ref_add(&total, &r);
			if (sc > maxscale)
			{
				maxscale = sc;
				maxcount = 1;
			}
			else if (sc == maxscale)
				maxcount++;
		}
		{
			char		got[DECSUM_TEXT_SIZE(20)];
			char		want[REF_LEN + 4];

			ref_to_text(&total, maxscale, want);
			if (strcmp(sum_text(&s, got), want) != 0 || s.scale != maxscale ||
				s.max_scale_count != maxcount || s.count != n || s.reserved != 0)
			{
				if (ok)
					printf("# round %d: got %s (scale %d, count %lld), want %s (scale %d, count %d)\n",
						   round, got, s.scale, (long long) s.max_scale_count, want, maxscale, maxcount);
				ok = 0;
			}
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

		random_decimal(values[step], 6, 4);
		if (add_text(&s, values[step]) != KPI_OK)
			ok_value = 0;
		width++;
		while (width > frame)
		{
			const char *old = values[head];
			int			oldscale = text_scale(old);
			int			maxscale = 0,
						maxcount = 0;
			bool		expect_fail;
			decsum		before = s;
			kpi_status	st;

			for (int k = head; k < head + width; k++)
			{
				int			sc = text_scale(values[k]);

				if (sc > maxscale)
				{
					maxscale = sc;
					maxcount = 0;
				}
				if (sc == maxscale)
					maxcount++;
			}
			expect_fail = oldscale == maxscale && maxscale > 0 && maxcount == 1 && width > 1;
			st = remove_text(&s, old);
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
			ref			total = {{0}};
			int			maxscale = 0,
						maxcount = 0;
			char		got[64],
						want[REF_LEN + 4];

			for (int k = head; k < head + width; k++)
			{
				ref			r;
				int			sc = text_scale(values[k]);

				ref_from_text(&r, values[k]);
				ref_add(&total, &r);
				if (sc > maxscale)
				{
					maxscale = sc;
					maxcount = 0;
				}
				if (sc == maxscale)
					maxcount++;
			}
			ref_to_text(&total, maxscale, want);
			if (strcmp(sum_text(&s, got), want) != 0 || s.scale != maxscale ||
				s.max_scale_count != maxcount || s.count != width)
				ok_value = 0;
		}
	}
	CHECK(ok_value, "window: every frame's sum, scale and max-scale count equal the reference");
	CHECK(ok_rule, "window: removal fails exactly when the last value of the largest scale leaves");
	CHECK(ok_unchanged, "window: a failed removal leaves the state unchanged");
	CHECK(restarts > 100 && inverted > 1000, "window: both outcomes happen often");
}

static kpi_status
merge_sums(void *into, const void *from)
{
	return decsum_merge(into, from, NULL);
}

static void
add_random_decimal(void *whole, void *part, void *ctx)
{
	char		text[40];

	(void) ctx;
	random_decimal(text, 12, 6);
	add_text(whole, text);
	add_text(part, text);
}

static void
test_merge(void)
{
	const unit_merge_ops ops = {sizeof(decsum), &empty_sum, merge_sums, add_random_decimal, NULL};
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
	ref			total = {{0}},
				r;
	char		got[64],
				want[REF_LEN + 4];
	int			ok = 1;

	ref_from_text(&r, "9223372036854775807");
	for (int i = 0; i < 1000; i++)
	{
		if (decsum_add_int64(&s, INT64_MAX, NULL) != KPI_OK)
			ok = 0;
		ref_add(&total, &r);
	}
	ref_to_text(&total, 0, want);
	CHECK(ok && strcmp(sum_text(&s, got), want) == 0 && strcmp(want, "9223372036854775807000") == 0,
		  "int64: 1000 times INT64_MAX does not wrap");

	ref_from_text(&r, "-9223372036854775808");
	for (int i = 0; i < 3000; i++)
	{
		decsum_add_int64(&s, INT64_MIN, NULL);
		ref_add(&total, &r);
	}
	ref_to_text(&total, 0, want);
	CHECK(strcmp(sum_text(&s, got), want) == 0 && s.count == 4000, "int64: then 3000 times INT64_MIN");
	CHECK(decsum_remove_int64(&s, INT64_MIN, NULL) == KPI_OK && decsum_remove_int64(&s, INT64_MAX, NULL) == KPI_OK,
		  "int64: remove the extremes");
	ref_from_text(&r, "1");
	ref_add(&total, &r);		/* - INT64_MIN - INT64_MAX = +1 */
	ref_to_text(&total, 0, want);
	CHECK(strcmp(sum_text(&s, got), want) == 0 && s.count == 3998, "int64: removal of the extremes is exact");

	/* doubling by self-merge: sum INT64_MAX * 2^62 */
	s = empty_sum;
	decsum_add_int64(&s, INT64_MAX, NULL);
	ref_from_text(&total, "9223372036854775807");
	ok = 1;
	for (int i = 0; i < 62; i++)
	{
		decsum		copy = s;

		if (decsum_merge(&s, &copy, NULL) != KPI_OK)
			ok = 0;
		r = total;
		ref_add(&total, &r);
	}
	ref_to_text(&total, 0, want);
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
			char		digits[64],
						want[128],
						got[DECSUM_TEXT_SIZE(50)];
			const char *mag;
			int			len;
			char	   *p = want;
			__int128	back;
			int32_t		backscale;

			v >>= unit_rng_next() % 128;
			unit_i128_text(v, digits);
			mag = digits[0] == '-' ? digits + 1 : digits;
			len = (int) strlen(mag);
			if (v < 0)
				*p++ = '-';
			if (len > scale)
			{
				memcpy(p, mag, (size_t) (len - scale));
				p += len - scale;
			}
			else
				*p++ = '0';
			if (scale > 0)
			{
				*p++ = '.';
				for (int k = 0; k < scale - len; k++)
					*p++ = '0';
				strcpy(p, len > scale ? mag + len - scale : mag);
			}
			else
				*p = '\0';
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

int
main(void)
{
	/* line-buffered, so a sanitizer abort still shows the TAP lines before it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	unit_rng_seed(0x2545F4914F6CDD1Dull);
	test_digit_form();
	test_hand_sums();
	test_random_adds();
	test_remove_rules();
	test_moving_window();
	test_merge();
	test_overflow();
	test_int64_extremes();
	test_format_parse();
	return unit_done();
}
