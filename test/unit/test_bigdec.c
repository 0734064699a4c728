/*-------------------------------------------------------------------------
 *
 * test_bigdec.c
 *	  Unit tests of the arbitrary-precision decimals (src/core/bigdec.c).
 *
 * Every expected value comes from outside bigdec: sums and differences
 * from the digit-by-digit adder of unit_decimal.h, 128-bit integers from
 * printf'd pieces (unit_i128_text), numeric's digit form from
 * unit_make_decimal, and byte layouts written out by hand.  The rest are
 * properties: text and binary round trips, canonical limbs, and decoders
 * that neither crash nor accept anything but canonical bytes, nor leak
 * (ASan) when they fail.
 *
 * IDENTIFICATION
 *	  test/unit/test_bigdec.c
 *
 *-------------------------------------------------------------------------
 */
#include "bigdec.h"
#include "unit.h"
#include "unit_alloc.h"
#include "unit_decimal.h"

#include <stdlib.h>
#include <string.h>

static const kpi_allocator *mem = &kpi_malloc_allocator;

/* The text of a, malloc'd. */
static char *
text_of(const bigdec *a)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, mem);
	bigdec_format(a, &sb);
	return sb.data;
}

static bool
text_is(const bigdec *a, const char *expected)
{
	return unit_text_is(text_of(a), expected);
}

/* Canonical: no zero limb on top, zero has no limbs and no sign. */
static bool
canonical(const bigdec *a)
{
	if (a->nlimbs == 0)
		return a->limbs == NULL && !a->negative;
	for (int32_t i = 0; i < a->nlimbs; i++)
		if (a->limbs[i] >= BIGDEC_BASE)
			return false;
	return a->limbs[a->nlimbs - 1] != 0;
}

static bool
parse_text(const char *text, bigdec *out)
{
	return bigdec_parse(text, strlen(text), out, mem, NULL) == KPI_OK;
}

/* What numeric writes for the decimal text: through the reference. */
static void
expected_text(const char *text, int scale, char *out)
{
	unit_ref	r;

	unit_ref_from_text(&r, text);
	unit_ref_to_text(&r, scale, out);
}

static __int128
random_i128(void)
{
	__int128	v = (__int128) (((unsigned __int128) unit_rng_next() << 64) | unit_rng_next());

	return v >> (unit_rng_next() % 128);
}

/* ------------------------------------------------------------------ tests */

static void
test_int128(void)
{
	static const struct
	{
		const char *text;
		int			nlimbs;
		uint32_t	limbs[5];
	}			cases[] = {
		{"0", 0, {0}},
		{"1", 1, {1}},
		{"999999999", 1, {999999999}},
		{"1000000000", 2, {0, 1}},
		{"-1000000001", 2, {1, 1}},
		{"170141183460469231731687303715884105727", 5,
		{884105727, 687303715, 469231731, 141183460, 170}},
		{"-170141183460469231731687303715884105728", 5,
		{884105728, 687303715, 469231731, 141183460, 170}},
	};
	int			ok_format = 1,
				ok_back = 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		bigdec		a;
		uint32_t	buf[BIGDEC_INT128_LIMBS];
		__int128	v = 0,
					back;
		char		what[160];
		const char *p = cases[i].text;
		bool		neg = *p == '-';

		for (p += neg; *p; p++)
			v = v * 10 + (neg ? -(*p - '0') : *p - '0');
		bigdec_from_int128(&a, v, 0, buf);
		snprintf(what, sizeof(what), "int128: %s has the limbs written by hand", cases[i].text);
		CHECK(a.nlimbs == cases[i].nlimbs && a.negative == (neg && v != 0) && a.scale == 0 &&
			  (a.nlimbs == 0 || memcmp(a.limbs, cases[i].limbs, sizeof(uint32_t) * (size_t) a.nlimbs) == 0) &&
			  canonical(&a) && text_is(&a, cases[i].text), what);
		snprintf(what, sizeof(what), "int128: %s converts back", cases[i].text);
		CHECK(bigdec_to_int128(&a, &back) && back == v, what);
	}

	for (int i = 0; i < 20000; i++)
	{
		__int128	v = random_i128(),
					back = 0;
		int			scale = (int) (unit_rng_next() % 50);
		bigdec		a;
		uint32_t	buf[BIGDEC_INT128_LIMBS];
		char		want[100];
		char	   *got;

		bigdec_from_int128(&a, v, scale, buf);
		unit_i128_scaled_text(v, scale, want);
		got = text_of(&a);
		if (strcmp(got, want) != 0 || !canonical(&a))
			ok_format = 0;
		free(got);
		if (!bigdec_to_int128(&a, &back) || back != v)
			ok_back = 0;
	}
	CHECK(ok_format, "int128: 20000 random values and scales format as printf's digits say");
	CHECK(ok_back, "int128: and convert back exactly");

	/* the edges of what fits */
	{
		static const struct
		{
			const char *text;
			bool		fits;
		}			edges[] = {
			{"170141183460469231731687303715884105727", true},
			{"170141183460469231731687303715884105728", false},
			{"-170141183460469231731687303715884105728", true},
			{"-170141183460469231731687303715884105729", false},
			{"999999999999999999999999999999999999999", false},
			{"99999999999999999999999999999999999999", true},
			{"1000000000000000000000000000000000000000000000", false},
			{"17014118346046923173168730371588410572.7", true},
			{"0.00000000000000000000000000000000000000000001", true},
		};

		for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		{
			bigdec		a;
			__int128	v = 12345;
			char		what[160];

			snprintf(what, sizeof(what), "int128: %s %s", edges[i].text,
					 edges[i].fits ? "fits" : "does not fit");
			CHECK(parse_text(edges[i].text, &a) && bigdec_to_int128(&a, &v) == edges[i].fits &&
				  (edges[i].fits || v == 12345), what);
			bigdec_free(&a, mem);
		}
	}
}

static void
test_text(void)
{
	static const struct
	{
		const char *text;
		const char *out;
		int			scale;
	}			cases[] = {
		{"0", "0", 0},
		{"-0", "0", 0},
		{"-0.000", "0.000", 3},
		{"+7", "7", 0},
		{"007.50", "7.50", 2},
		{".5", "0.5", 1},
		{"-.05", "-0.05", 2},
		{"123456789012345678901234567890.123456789012345678901234567890",
		"123456789012345678901234567890.123456789012345678901234567890", 30},
		{"-1000000000", "-1000000000", 0},
		{"0.000000001000000000", "0.000000001000000000", 18},
	};
	static const char *const bad[] = {
		"", "-", "+", ".", "-.", "1.", "1.2.3", "1e5", " 1", "1 ", "abc", "0x1", "1,5", "--1", "NaN",
		"Infinity", "1-", "+-1",
	};
	int			ok_round = 1,
				ok_canon = 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		bigdec		a;
		char		what[200];

		snprintf(what, sizeof(what), "text: \"%s\" reads as %s at scale %d", cases[i].text, cases[i].out,
				 cases[i].scale);
		CHECK(parse_text(cases[i].text, &a) && a.scale == cases[i].scale && canonical(&a) &&
			  text_is(&a, cases[i].out), what);
		bigdec_free(&a, mem);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		bigdec		a = {NULL, 7, 7, true};
		kpi_msg		msg;
		char		what[120];

		msg.text[0] = '\0';
		snprintf(what, sizeof(what), "text: \"%s\" is KPI_ERR_TEXT, output untouched", bad[i]);
		CHECK(bigdec_parse(bad[i], strlen(bad[i]), &a, mem, &msg) == KPI_ERR_TEXT && msg.text[0] != '\0' &&
			  a.limbs == NULL && a.nlimbs == 7 && a.scale == 7 && a.negative, what);
	}
	{
		bigdec		a;

		CHECK(bigdec_parse("12.34junk", 5, &a, mem, NULL) == KPI_OK && text_is(&a, "12.34"),
			  "text: reads only len characters");
		bigdec_free(&a, mem);
	}

	/* random texts with leading zeros and signs: the reference's text */
	for (int i = 0; i < 3000; i++)
	{
		char		digits[700],
					text[710],
					want[UNIT_REF_TEXT];
		int			zeros = (int) (unit_rng_next() % 4);
		bool		negative;
		bigdec		a;

		unit_random_decimal(digits, 300, 300);
		negative = digits[0] == '-';
		/* a sign (or '+', or none), leading zeros, the digits */
		snprintf(text, sizeof(text), "%s%.*s%s",
				 negative ? "-" : unit_rng_next() % 5 == 0 ? "+" : "", zeros, "000",
				 digits + negative);
		expected_text(text, unit_text_scale(text), want);
		if (!parse_text(text, &a))
			ok_round = 0;
		else
		{
			char	   *got = text_of(&a);

			if (strcmp(got, want) != 0 || a.scale != unit_text_scale(text))
			{
				if (ok_round)
					printf("#   %s\n#   got  %s\n#   want %s\n", text, got, want);
				ok_round = 0;
			}
			if (!canonical(&a))
				ok_canon = 0;
			free(got);
		}
		bigdec_free(&a, mem);
	}
	CHECK(ok_round, "text: 3000 random decimals of up to 600 digits read and write back as the reference");
	CHECK(ok_canon, "text: and their limbs are canonical");
}

static void
test_digits(void)
{
	static const struct
	{
		const char *text;
		int32_t		digits;
	}			cases[] = {
		{"0", 0}, {"0.000", 0}, {"7", 1}, {"0.07", 1}, {"999999999", 9}, {"1000000000", 10},
		{"-123456789012345678", 18}, {"1234567890123456789", 19}, {"1.000000000000000000", 19},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		bigdec		a;
		char		what[100];

		snprintf(what, sizeof(what), "digits: %s has %d", cases[i].text, cases[i].digits);
		CHECK(parse_text(cases[i].text, &a) && bigdec_digits(&a) == cases[i].digits, what);
		bigdec_free(&a, mem);
	}
}

/* a + b and a - b of two texts against the reference; false on mismatch */
static bool
check_add_sub(const char *x, const char *y)
{
	bigdec		a,
				b,
				sum,
				diff;
	unit_ref	ra,
				rb,
				rs,
				rd;
	char		want_sum[UNIT_REF_TEXT],
				want_diff[UNIT_REF_TEXT];
	int			scale = unit_text_scale(x) > unit_text_scale(y) ? unit_text_scale(x) : unit_text_scale(y);
	bool		ok;
	char	   *got_sum,
			   *got_diff;

	if (!parse_text(x, &a) || !parse_text(y, &b))
		abort();
	unit_ref_from_text(&ra, x);
	unit_ref_from_text(&rb, y);
	rs = ra;
	unit_ref_add(&rs, &rb);
	rd = ra;
	unit_ref_sub(&rd, &rb);
	unit_ref_to_text(&rs, scale, want_sum);
	unit_ref_to_text(&rd, scale, want_diff);
	ok = bigdec_add(&sum, &a, &b, mem, NULL) == KPI_OK && bigdec_sub(&diff, &a, &b, mem, NULL) == KPI_OK;
	if (!ok)
		abort();
	got_sum = text_of(&sum);
	got_diff = text_of(&diff);
	ok = strcmp(got_sum, want_sum) == 0 && strcmp(got_diff, want_diff) == 0 &&
		sum.scale == scale && diff.scale == scale && canonical(&sum) && canonical(&diff);
	if (!ok)
		printf("#   %s and %s\n#   sum  %s, want %s\n#   diff %s, want %s\n",
			   x, y, got_sum, want_sum, got_diff, want_diff);
	free(got_sum);
	free(got_diff);
	bigdec_free(&a, mem);
	bigdec_free(&b, mem);
	bigdec_free(&sum, mem);
	bigdec_free(&diff, mem);
	return ok;
}

static void
test_add_sub(void)
{
	static const char *const pairs[][2] = {
		{"0", "0"},
		{"0", "-0.00"},
		{"999999999", "1"},
		{"999999999999999999999999999", "0.000000001"},
		{"1000000000000000000", "-0.000000000000000001"},
		{"-1", "1"},
		{"1.5", "1.50"},
		{"123.456", "-123.456000"},
		{"0.1", "-1000000000000000000000000000000000000000"},
		{"-99999999999999999999999999999999999999999999", "-1"},
		{"5", "-0.000000001"},
		{"1000000000", "-999999999.999999999"},
	};
	int			ok = 1;

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
	{
		char		what[200];

		snprintf(what, sizeof(what), "add/sub: %s and %s", pairs[i][0], pairs[i][1]);
		CHECK(check_add_sub(pairs[i][0], pairs[i][1]), what);
	}
	for (int i = 0; i < 3000 && ok; i++)
	{
		char		x[700],
					y[700];
		int			shape = (int) (unit_rng_next() % 4);

		unit_random_decimal(x, 300, 300);
		if (shape == 0)
		{
			/* the same magnitude, or its negation: differences cancel */
			strcpy(y, x);
			if (unit_rng_next() % 2)
			{
				if (y[0] == '-')
					memmove(y, y + 1, strlen(y));
				else
				{
					memmove(y + 1, y, strlen(y) + 1);
					y[0] = '-';
				}
			}
		}
		else if (shape == 1)
			unit_random_decimal(y, 20, 20);
		else
			unit_random_decimal(y, 300, 300);
		ok = check_add_sub(x, y);
	}
	CHECK(ok, "add/sub: 3000 random pairs of up to 600 digits, any scales and signs, equal the reference");
}

static void
test_base10000(void)
{
	int			ok = 1;

	/* numeric's form of random texts: the value and the display scale */
	for (int i = 0; i < 3000; i++)
	{
		char		text[700],
					want[UNIT_REF_TEXT];
		unit_decimal t;
		const decsum_decimal *d;
		bigdec		a;
		char	   *got;

		unit_random_decimal(text, 300, 300);
		d = unit_make_decimal(&t, text);
		expected_text(text, d->dscale, want);
		if (bigdec_from_base10000(&a, d->negative, d->weight, d->dscale, d->digits, d->ndigits,
								  mem, NULL) != KPI_OK)
		{
			ok = 0;
			continue;
		}
		got = text_of(&a);
		if (strcmp(got, want) != 0 || a.scale != d->dscale || !canonical(&a))
		{
			if (ok)
				printf("#   %s: got %s\n", text, got);
			ok = 0;
		}
		free(got);
		bigdec_free(&a, mem);
	}
	CHECK(ok, "base 10000: 3000 random numerics of up to 600 digits give their value at their display scale");

	{
		/* digits past dscale raise the scale unless they are zeros */
		int16_t		raw[3] = {1, 2345, 0};
		bigdec		a;

		CHECK(bigdec_from_base10000(&a, false, 0, 2, raw, 2, mem, NULL) == KPI_OK && a.scale == 4 &&
			  text_is(&a, "1.2345"), "base 10000: digits past dscale raise the scale");
		bigdec_free(&a, mem);
		raw[1] = 2000;
		CHECK(bigdec_from_base10000(&a, true, 0, 1, raw, 2, mem, NULL) == KPI_OK && a.scale == 1 &&
			  text_is(&a, "-1.2"), "base 10000: zero digits past dscale are dropped");
		bigdec_free(&a, mem);
		CHECK(bigdec_from_base10000(&a, true, 1000, 20, raw, 0, mem, NULL) == KPI_OK && a.nlimbs == 0 &&
			  !a.negative && text_is(&a, "0.00000000000000000000"),
			  "base 10000: no digits is zero at its display scale, whatever the weight and sign");
		raw[0] = 7;
		CHECK(bigdec_from_base10000(&a, false, 3, 0, raw, 1, mem, NULL) == KPI_OK &&
			  text_is(&a, "7000000000000"), "base 10000: a weight beyond the digits appends zeros");
		bigdec_free(&a, mem);
		CHECK(bigdec_from_base10000(&a, false, -3, 12, raw, 1, mem, NULL) == KPI_OK &&
			  text_is(&a, "0.000000000007"), "base 10000: a negative weight puts zeros after the point");
		bigdec_free(&a, mem);
		CHECK(bigdec_from_base10000(&a, false, 1 << 20, 0, raw, 1, mem, NULL) == KPI_ERR_OVERFLOW &&
			  bigdec_from_base10000(&a, false, -(1 << 20), 0, raw, 1, mem, NULL) == KPI_ERR_OVERFLOW,
			  "base 10000: a weight that means millions of digits is refused before allocating them");
	}
}

static void
test_binary(void)
{
	/* -10000000000.5: coefficient 100000000005 at scale 1 = 100 * 10^9 + 5 */
	static const uint8_t layout[] = {
		0, 0, 0, 1,				/* scale */
		1,						/* negative */
		0, 0, 0, 2,				/* limbs */
		0, 0, 0, 100,			/* most significant first */
		0, 0, 0, 5,
	};
	bigdec		a,
				back;
	uint8_t		buf[64];
	kpi_writer	w;
	kpi_reader	r;

	parse_text("-10000000000.5", &a);
	kpi_writer_init(&w, buf, sizeof(buf));
	bigdec_encode(&a, &w);
	CHECK(bigdec_encoded_size(&a) == sizeof(layout) && w.len == sizeof(layout) &&
		  memcmp(buf, layout, sizeof(layout)) == 0, "binary: layout of -10000000000.5, by hand");
	kpi_reader_init(&r, layout, sizeof(layout));
	CHECK(bigdec_decode(&r, &back, mem, NULL) == KPI_OK && kpi_reader_finish(&r, NULL) == KPI_OK &&
		  text_is(&back, "-10000000000.5"), "binary: decodes back");
	bigdec_free(&back, mem);
	{
		int			ok = 1;

		for (size_t cut = 0; cut < sizeof(layout); cut++)
		{
			uint8_t    *heap = malloc(cut ? cut : 1);

			memcpy(heap, layout, cut);
			kpi_reader_init(&r, heap, cut);
			if (bigdec_decode(&r, &back, mem, NULL) == KPI_OK)
			{
				ok = 0;
				bigdec_free(&back, mem);
			}
			free(heap);
		}
		CHECK(ok, "binary: every truncation fails");
	}
	{
		static const struct
		{
			uint8_t		bytes[17];
			size_t		len;
			const char *what;
		}			bad[] = {
			{{0, 0, 0, 1, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5}, 17, "a zero limb on top"},
			{{0, 0, 0, 1, 0, 0, 0, 0, 1, 0x3B, 0x9A, 0xCA, 0x00}, 13, "a limb of 10^9"},
			{{0, 0, 0, 1, 1, 0, 0, 0, 0}, 9, "negative zero"},
			{{0, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 1}, 13, "a sign byte of 2"},
			{{0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}, 13, "a scale past INT32_MAX"},
			{{0, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1}, 13, "more limbs than bytes"},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			kpi_msg		msg;
			char		what[100];

			msg.text[0] = '\0';
			kpi_reader_init(&r, bad[i].bytes, bad[i].len);
			snprintf(what, sizeof(what), "binary: %s is KPI_ERR_BINARY", bad[i].what);
			CHECK(bigdec_decode(&r, &back, mem, &msg) == KPI_ERR_BINARY && msg.text[0] != '\0', what);
		}
	}
	bigdec_free(&a, mem);

	/* random values round trip; random bytes never crash or leak */
	{
		int			ok = 1,
					accepted = 0;

		for (int i = 0; i < 2000; i++)
		{
			char		text[700];
			uint8_t    *enc;
			size_t		size;

			unit_random_decimal(text, 300, 300);
			parse_text(text, &a);
			size = bigdec_encoded_size(&a);
			enc = malloc(size);
			kpi_writer_init(&w, enc, size);
			bigdec_encode(&a, &w);
			kpi_reader_init(&r, enc, size);
			if (w.len != size || bigdec_decode(&r, &back, mem, NULL) != KPI_OK ||
				kpi_reader_finish(&r, NULL) != KPI_OK || back.nlimbs != a.nlimbs ||
				back.scale != a.scale || back.negative != a.negative ||
				(a.nlimbs > 0 && memcmp(back.limbs, a.limbs, sizeof(uint32_t) * (size_t) a.nlimbs) != 0))
				ok = 0;
			bigdec_free(&back, mem);
			bigdec_free(&a, mem);
			free(enc);
		}
		CHECK(ok, "binary: 2000 random values of up to 600 digits round-trip");
		ok = 1;
		for (int i = 0; i < 50000; i++)
		{
			size_t		n = unit_rng_next() % 40;
			uint8_t    *heap = malloc(n ? n : 1);

			for (size_t k = 0; k < n; k++)
				heap[k] = (uint8_t) unit_rng_next();
			/* plausible headers: small scales and limb counts, sign 0 or 1 */
			if (n >= 9 && unit_rng_next() % 2)
			{
				memset(heap, 0, 3);
				heap[4] = (uint8_t) (unit_rng_next() % 2);
				memset(heap + 5, 0, 3);
				heap[8] = (uint8_t) (unit_rng_next() % 5);
				for (size_t k = 9; k + 4 <= n; k += 4)
					if (unit_rng_next() % 2)
						heap[k] = (uint8_t) (heap[k] & 0x3B);
			}
			kpi_reader_init(&r, heap, n);
			if (bigdec_decode(&r, &back, mem, NULL) == KPI_OK)
			{
				uint8_t		again[64];

				accepted++;
				kpi_writer_init(&w, again, sizeof(again));
				bigdec_encode(&back, &w);
				if (!canonical(&back) || w.len != r.pos || memcmp(again, heap, w.len) != 0)
					ok = 0;
				bigdec_free(&back, mem);
			}
			free(heap);
		}
		CHECK(ok, "binary: 50000 garbage inputs never crash; accepted ones are canonical and re-encode the same");
		CHECK(accepted > 100, "binary: some garbage inputs were values");
	}
}

static void
test_nomem(void)
{
	const kpi_allocator *failing = &unit_failing_allocator;
	bigdec		a,
				b,
				out = {NULL, 3, 3, true};
	int16_t		raw[1] = {5};
	uint8_t		enc[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7};
	kpi_reader	r;
	kpi_msg		msg;

	parse_text("123456789012345678901234567890", &a);
	parse_text("-0.5", &b);
	unit_alloc_left = 0;
	msg.text[0] = '\0';
	CHECK(bigdec_add(&out, &a, &b, failing, &msg) == KPI_ERR_NOMEM && msg.text[0] != '\0' &&
		  bigdec_sub(&out, &a, &b, failing, NULL) == KPI_ERR_NOMEM &&
		  bigdec_parse("12", 2, &out, failing, NULL) == KPI_ERR_NOMEM &&
		  bigdec_from_base10000(&out, false, 0, 0, raw, 1, failing, NULL) == KPI_ERR_NOMEM &&
		  out.limbs == NULL && out.nlimbs == 3 && out.scale == 3 && out.negative,
		  "no memory: every allocating function fails cleanly, output untouched");
	kpi_reader_init(&r, enc, sizeof(enc));
	CHECK(bigdec_decode(&r, &out, failing, NULL) == KPI_ERR_NOMEM && out.nlimbs == 3,
		  "no memory: so does the decoder");
	bigdec_free(&a, mem);
	bigdec_free(&b, mem);
}

int
main(void)
{
	/* line-buffered, so a sanitizer abort still shows the TAP lines before it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	unit_rng_seed(0x9E3779B97F4A7C15ull);
	test_int128();
	test_text();
	test_digits();
	test_add_sub();
	test_base10000();
	test_binary();
	test_nomem();
	return unit_done();
}
