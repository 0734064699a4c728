/*-------------------------------------------------------------------------
 *
 * test_aov.c
 *	  Unit tests of the average-order-value state (src/core/aov_core.c).
 *
 * Outcomes are checked against IEEE arithmetic on the same values (which
 * is what avg() does with NaN and infinities), texts and byte layouts are
 * written out by hand, and the rest are properties: merging in any split
 * or order gives the same bytes, removal undoes addition down to the
 * all-zero empty state, every state survives both codecs byte for byte,
 * and no input text or bytes can crash the decoder or yield a state that
 * the codecs do not reproduce exactly.
 *
 * IDENTIFICATION
 *	  test/unit/test_aov.c
 *
 *-------------------------------------------------------------------------
 */
#include "aov_core.h"
#include "unit.h"
#include "unit_decimal.h"
#include "unit_merge.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static const aov_core zero_state;

static bool
same(const aov_core *a, const aov_core *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* ------------------------------------------------------------ helpers */

/* Adds (or removes) the decimal written in text, in numeric's digit form. */
static kpi_status
add_text(aov_core *s, const char *text)
{
	unit_decimal t;

	return aov_add_decimal(s, unit_make_decimal(&t, text), NULL);
}

static kpi_status
remove_text(aov_core *s, const char *text)
{
	unit_decimal t;

	return aov_remove_decimal(s, unit_make_decimal(&t, text), NULL);
}

/* The text form, malloc'd. */
static char *
format(const aov_core *s)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, &kpi_malloc_allocator);
	aov_format(s, &sb);
	return sb.data;
}

static bool
format_is(const aov_core *s, const char *expected)
{
	return unit_text_is(format(s), expected);
}

/* text and binary round trips of s give back the same bytes (and text) */
static bool
round_trips(const aov_core *s)
{
	char	   *t = format(s);
	char	   *t2;
	aov_core	back;
	uint8_t		buf[128];
	kpi_writer	w;
	kpi_reader	r;
	bool		ok;

	memset(&back, 0x5A, sizeof(back));
	ok = aov_parse(t, &back, NULL) == KPI_OK && same(&back, s);
	if (ok)
	{
		t2 = format(&back);
		ok = strcmp(t, t2) == 0;
		free(t2);
	}
	free(t);

	kpi_writer_init(&w, buf, aov_encoded_size(s));
	aov_encode(s, &w);
	ok = ok && w.len == aov_encoded_size(s);
	memset(&back, 0x5A, sizeof(back));
	kpi_reader_init(&r, buf, w.len);
	ok = ok && aov_decode(&r, &back, NULL) == KPI_OK && kpi_reader_finish(&r, NULL) == KPI_OK &&
		same(&back, s);
	return ok;
}

/* decode + finish, as the glue does */
static kpi_status
decode_all(const uint8_t *buf, size_t len, aov_core *s)
{
	kpi_reader	r;
	kpi_status	st;

	kpi_reader_init(&r, buf, len);
	st = aov_decode(&r, s, NULL);
	return st != KPI_OK ? st : kpi_reader_finish(&r, NULL);
}

/* One input value of a random sequence. */
typedef struct value
{
	enum
	{
		V_DECIMAL, V_INT, V_FLOAT, V_SPECIAL
	}			type;
	char		text[24];
	int64_t		i;
	double		f;
	aov_special which;
} value;

static void
random_value(value *v, aov_kind kind)
{
	uint64_t	r = unit_rng_next() % 100;

	memset(v, 0, sizeof(*v));
	if (r < 8)
	{
		v->type = V_SPECIAL;
		v->which = (aov_special) (unit_rng_next() % 3);
		return;
	}
	if (kind == AOV_FLOAT8)
	{
		v->type = V_FLOAT;
		v->f = (double) ((int64_t) (unit_rng_next() % 2000001) - 1000000) / 100.0;
		return;
	}
	if (r < 30)
	{
		v->type = V_INT;
		v->i = (int64_t) (unit_rng_next() % 2000001) - 1000000;
		return;
	}
	{
		/* up to 9 integer and 4 fraction digits */
		char	   *p = v->text;
		int			nint = 1 + (int) (unit_rng_next() % 9),
					nfrac = (int) (unit_rng_next() % 5);

		v->type = V_DECIMAL;
		if (unit_rng_next() % 2)
			*p++ = '-';
		for (int i = 0; i < nint; i++)
			*p++ = (char) ('0' + unit_rng_next() % 10);
		if (nfrac > 0)
		{
			*p++ = '.';
			for (int i = 0; i < nfrac; i++)
				*p++ = (char) ('0' + unit_rng_next() % 10);
		}
		*p = '\0';
		/* strip leading zeros of the integer part */
		{
			char	   *digits = v->text + (v->text[0] == '-');

			while (digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9')
				memmove(digits, digits + 1, strlen(digits));
		}
	}
}

static kpi_status
apply(aov_core *s, const value *v, aov_kind kind, bool remove)
{
	switch (v->type)
	{
		case V_DECIMAL:
			return remove ? remove_text(s, v->text) : add_text(s, v->text);
		case V_INT:
			return remove ? aov_remove_int64(s, v->i, NULL) : aov_add_int64(s, v->i, NULL);
		case V_FLOAT:
			return remove ? aov_remove_float8(s, v->f, NULL) : aov_add_float8(s, v->f, NULL);
		case V_SPECIAL:
			return remove ? aov_remove_special(s, kind, v->which, NULL) :
				aov_add_special(s, kind, v->which, NULL);
	}
	return KPI_ERR_PARAM;
}

/* A random state: numeric, float8, special-only or empty, with odd corners. */
static void
random_state(aov_core *s)
{
	aov_kind	kind = unit_rng_next() % 2 ? AOV_NUMERIC : AOV_FLOAT8;
	int			n = (int) (unit_rng_next() % 12);
	uint64_t	corner = unit_rng_next() % 16;

	aov_init(s);
	for (int i = 0; i < n; i++)
	{
		value		v;

		random_value(&v, kind);
		apply(s, &v, kind, false);
	}
	if (kind == AOV_FLOAT8 && corner == 0)
	{
		/* inexact */
		aov_add_float8(s, 0x1p200, NULL);
		aov_add_float8(s, 1.0, NULL);
		aov_add_float8(s, 0x1p-200, NULL);
	}
	else if (kind == AOV_FLOAT8 && corner == 1)
	{
		/* a subnormal lo */
		aov_add_float8(s, 1.0, NULL);
		aov_add_float8(s, 0x1p-1070, NULL);
	}
	else if (kind == AOV_NUMERIC && corner == 0)
	{
		/* a zero with a large display scale */
		decsum_decimal zero = {false, 0, 30, 0, NULL};

		aov_add_decimal(s, &zero, NULL);
	}
	else if (kind == AOV_NUMERIC && corner == 1)
		add_text(s, "-170141183460469231731687303715884105727");
}

/* ------------------------------------------------------------------ tests */

static void
test_kinds(void)
{
	aov_core	s,
				before;
	kpi_msg		msg;

	aov_init(&s);
	CHECK(same(&s, &zero_state) && aov_count(&s) == 0 && aov_result(&s) == AOV_NO_VALUES,
		  "kinds: aov_init is all zero bytes, no values");
	CHECK(aov_add_int64(&s, 42, NULL) == KPI_OK && s.kind == AOV_NUMERIC && aov_count(&s) == 1 &&
		  aov_result(&s) == AOV_MEAN_FINITE, "kinds: an integer makes a numeric state");
	before = s;
	msg.text[0] = '\0';
	CHECK(aov_add_float8(&s, 1.0, &msg) == KPI_ERR_MISMATCH && same(&s, &before) &&
		  strcmp(msg.text, "A state of numeric values cannot take float8 values.") == 0,
		  "kinds: a numeric state refuses a float8, with a detail; state unchanged");
	CHECK(aov_add_float8(&s, NAN, NULL) == KPI_ERR_MISMATCH && aov_add_float8(&s, -INFINITY, NULL) == KPI_ERR_MISMATCH &&
		  aov_add_special(&s, AOV_FLOAT8, AOV_NAN, NULL) == KPI_ERR_MISMATCH && same(&s, &before),
		  "kinds: nor a float8 NaN or infinity");
	CHECK(add_text(&s, "1.5") == KPI_OK && aov_add_special(&s, AOV_NUMERIC, AOV_PINF, NULL) == KPI_OK &&
		  s.pinf == 1 && aov_count(&s) == 3, "kinds: numeric takes decimals and numeric specials");

	aov_init(&s);
	CHECK(aov_add_float8(&s, NAN, NULL) == KPI_OK && s.kind == AOV_FLOAT8 && s.nan == 1 &&
		  s.sum.flt.count == 0 && s.sum.flt.exact == 1 && aov_count(&s) == 1,
		  "kinds: a float8 NaN first makes an (exact, empty-sum) float8 state");
	before = s;
	CHECK(aov_add_int64(&s, 1, NULL) == KPI_ERR_MISMATCH && add_text(&s, "1") == KPI_ERR_MISMATCH &&
		  aov_add_special(&s, AOV_NUMERIC, AOV_NINF, NULL) == KPI_ERR_MISMATCH && same(&s, &before),
		  "kinds: a float8 state refuses numeric values");

	aov_init(&s);
	CHECK(aov_add_special(&s, AOV_NUMERIC, AOV_NINF, NULL) == KPI_OK && s.kind == AOV_NUMERIC && s.ninf == 1,
		  "kinds: a numeric -Infinity first makes a numeric state");

	/* removals that cannot apply */
	aov_init(&s);
	CHECK(remove_text(&s, "1") == KPI_CANNOT_INVERT && aov_remove_int64(&s, 1, NULL) == KPI_CANNOT_INVERT &&
		  aov_remove_float8(&s, 1.0, NULL) == KPI_CANNOT_INVERT &&
		  aov_remove_float8(&s, NAN, NULL) == KPI_CANNOT_INVERT &&
		  aov_remove_special(&s, AOV_NUMERIC, AOV_NAN, NULL) == KPI_CANNOT_INVERT && same(&s, &zero_state),
		  "kinds: nothing can be removed from the empty state");
	aov_add_int64(&s, 3, NULL);
	before = s;
	CHECK(aov_remove_float8(&s, 3.0, NULL) == KPI_CANNOT_INVERT &&
		  aov_remove_float8(&s, INFINITY, NULL) == KPI_CANNOT_INVERT &&
		  aov_remove_special(&s, AOV_NUMERIC, AOV_PINF, NULL) == KPI_CANNOT_INVERT && same(&s, &before),
		  "kinds: a float8 or an absent special cannot be removed from a numeric state");
	aov_init(&s);
	aov_add_float8(&s, 3.0, NULL);
	before = s;
	CHECK(aov_remove_int64(&s, 3, NULL) == KPI_CANNOT_INVERT && remove_text(&s, "3") == KPI_CANNOT_INVERT &&
		  same(&s, &before), "kinds: a numeric cannot be removed from a float8 state");
}

/* avg() outcomes: what IEEE arithmetic gives for the same values */
static void
test_outcomes(void)
{
	int			ok = 1,
				combos = 0;

	for (int kind = AOV_NUMERIC; kind <= AOV_FLOAT8; kind++)
		for (int nan = 0; nan <= 2; nan++)
			for (int pinf = 0; pinf <= 2; pinf++)
				for (int ninf = 0; ninf <= 2; ninf++)
					for (int finite = 0; finite <= 3; finite += 3)
					{
						aov_core	s;
						double		sum = 0;
						int			n = nan + pinf + ninf + finite;
						aov_outcome expect;

						aov_init(&s);
						/* interleave, so order cannot matter */
						for (int i = 0; i < 3; i++)
						{
							if (i < finite)
							{
								if (kind == AOV_NUMERIC)
									aov_add_int64(&s, 2, NULL);
								else
									aov_add_float8(&s, 2.0, NULL);
								sum += 2.0;
							}
							if (i < nan)
							{
								aov_add_special(&s, (aov_kind) kind, AOV_NAN, NULL);
								sum += NAN;
							}
							if (i < pinf)
							{
								aov_add_special(&s, (aov_kind) kind, AOV_PINF, NULL);
								sum += INFINITY;
							}
							if (i < ninf)
							{
								aov_add_special(&s, (aov_kind) kind, AOV_NINF, NULL);
								sum += -INFINITY;
							}
						}
						if (n == 0)
							expect = AOV_NO_VALUES;
						else if (isnan(sum / n))
							expect = AOV_MEAN_NAN;
						else if (isinf(sum / n))
							expect = sum > 0 ? AOV_MEAN_PINF : AOV_MEAN_NINF;
						else
							expect = AOV_MEAN_FINITE;
						if (aov_result(&s) != expect || aov_count(&s) != n)
							ok = 0;
						combos++;
					}
	CHECK(ok && combos == 108, "outcomes: 108 mixes of NaN, infinities and finite values match IEEE avg");

	{
		aov_core	s;

		aov_init(&s);
		aov_add_float8(&s, INFINITY, NULL);
		aov_add_float8(&s, 5.0, NULL);
		CHECK(aov_result(&s) == AOV_MEAN_PINF, "outcomes: +Infinity with finite values is +Infinity");
		aov_add_float8(&s, -INFINITY, NULL);
		CHECK(aov_result(&s) == AOV_MEAN_NAN, "outcomes: +Infinity and -Infinity give NaN");
		aov_remove_float8(&s, INFINITY, NULL);
		CHECK(aov_result(&s) == AOV_MEAN_NINF, "outcomes: removing +Infinity leaves -Infinity");
		aov_add_float8(&s, NAN, NULL);
		CHECK(aov_result(&s) == AOV_MEAN_NAN, "outcomes: NaN wins over -Infinity");
	}
}

static void
test_removal_to_empty(void)
{
	aov_core	s;

	aov_init(&s);
	add_text(&s, "1.50");
	aov_add_int64(&s, 2, NULL);
	aov_add_special(&s, AOV_NUMERIC, AOV_NAN, NULL);
	aov_add_special(&s, AOV_NUMERIC, AOV_PINF, NULL);
	aov_add_special(&s, AOV_NUMERIC, AOV_NINF, NULL);
	add_text(&s, "3.25");
	CHECK(aov_count(&s) == 6, "removal: six numeric values");
	CHECK(aov_remove_special(&s, AOV_NUMERIC, AOV_NAN, NULL) == KPI_OK &&
		  aov_remove_special(&s, AOV_NUMERIC, AOV_PINF, NULL) == KPI_OK &&
		  aov_remove_special(&s, AOV_NUMERIC, AOV_NINF, NULL) == KPI_OK &&
		  aov_remove_int64(&s, 2, NULL) == KPI_OK && remove_text(&s, "1.50") == KPI_OK,
		  "removal: specials, the integer and one of the two scale-2 values");
	CHECK(remove_text(&s, "3.25") == KPI_OK && same(&s, &zero_state),
		  "removal: the last value gives the all-zero empty state");

	aov_init(&s);
	aov_add_float8(&s, 0.5, NULL);
	aov_add_float8(&s, NAN, NULL);
	aov_add_float8(&s, -INFINITY, NULL);
	aov_add_float8(&s, 2.25, NULL);
	CHECK(aov_remove_float8(&s, 0.5, NULL) == KPI_OK && aov_remove_float8(&s, NAN, NULL) == KPI_OK &&
		  aov_remove_float8(&s, 2.25, NULL) == KPI_OK && s.kind == AOV_FLOAT8 && aov_count(&s) == 1,
		  "removal: float8 values and NaN");
	CHECK(aov_remove_float8(&s, -INFINITY, NULL) == KPI_OK && same(&s, &zero_state),
		  "removal: removing the last special gives the all-zero empty state");

	aov_init(&s);
	aov_add_special(&s, AOV_NUMERIC, AOV_NAN, NULL);
	CHECK(aov_remove_special(&s, AOV_NUMERIC, AOV_NAN, NULL) == KPI_OK && same(&s, &zero_state),
		  "removal: a NaN-only state empties too");

	/* a moving window over random values always matches a fresh state */
	{
		enum
		{
			STEPS = 3000, W = 7
		};
		static value vals[STEPS];
		int			ok = 1,
					restarts = 0;

		for (int k = AOV_NUMERIC; k <= AOV_FLOAT8; k++)
		{
			aov_init(&s);
			for (int i = 0; i < STEPS; i++)
			{
				aov_core	fresh;

				random_value(&vals[i], (aov_kind) k);
				apply(&s, &vals[i], (aov_kind) k, false);
				if (i >= W)
				{
					kpi_status	st = apply(&s, &vals[i - W], (aov_kind) k, true);

					if (st == KPI_CANNOT_INVERT)
					{
						restarts++;
						aov_init(&s);
						for (int j = i - W + 1; j <= i; j++)
							apply(&s, &vals[j], (aov_kind) k, false);
					}
					else if (st != KPI_OK)
						ok = 0;
				}
				aov_init(&fresh);
				for (int j = i >= W ? i - W + 1 : 0; j <= i; j++)
					apply(&fresh, &vals[j], (aov_kind) k, false);
				if (!same(&s, &fresh))
					ok = 0;
			}
		}
		CHECK(ok, "removal: moving windows (numeric and float8) equal fresh states, byte for byte");
		CHECK(restarts > 0, "removal: some numeric removals had to restart");
	}
}

static kpi_status
merge_states(void **into, const void *from)
{
	return aov_merge(*into, from, NULL);
}

/* ctx points to the aov_kind of the values */
static void
add_random_value(void **whole, void **part, void *ctx)
{
	aov_kind	kind = *(const aov_kind *) ctx;
	value		v;

	random_value(&v, kind);
	apply(*whole, &v, kind, false);
	apply(*part, &v, kind, false);
}

static void
test_merge(void)
{
	aov_core	num,
				flt,
				before;
	kpi_msg		msg;
	unit_merge_ok ok = UNIT_MERGE_OK_INIT;

	aov_init(&num);
	aov_init(&flt);
	aov_add_int64(&num, 1, NULL);
	aov_add_float8(&flt, 1.0, NULL);
	before = num;
	msg.text[0] = '\0';
	CHECK(aov_merge(&num, &flt, &msg) == KPI_ERR_MISMATCH && same(&num, &before) && msg.text[0] != '\0',
		  "merge: numeric + float8 is KPI_ERR_MISMATCH; state unchanged");
	before = flt;
	CHECK(aov_merge(&flt, &num, NULL) == KPI_ERR_MISMATCH && same(&flt, &before),
		  "merge: float8 + numeric is KPI_ERR_MISMATCH; state unchanged");
	aov_init(&flt);
	aov_add_float8(&flt, NAN, NULL);
	CHECK(aov_merge(&num, &flt, NULL) == KPI_ERR_MISMATCH, "merge: even a special-only float8 state");

	for (int round = 0; round < 1500; round++)
	{
		aov_kind	kind = round % 2 ? AOV_NUMERIC : AOV_FLOAT8;
		const unit_merge_ops ops = {sizeof(aov_core), NULL, &zero_state, merge_states, add_random_value, &kind};

		unit_merge_round(&ops, 40, 4, &ok);
	}
	CHECK(ok.split, "merge: 1500 random splits merged in any order equal sequential adds, byte for byte");
	CHECK(ok.comm, "merge: commutative, byte for byte");
	CHECK(ok.assoc, "merge: associative, byte for byte");
	CHECK(ok.ident, "merge: the empty state is the identity on both sides");
}

static void
test_format_hand(void)
{
	aov_core	s,
				back;

	aov_init(&s);
	CHECK(format_is(&s, "(v:1,n:0)"), "format: empty");
	add_text(&s, "1.50");
	aov_add_int64(&s, 2, NULL);
	add_text(&s, "3.25");
	CHECK(format_is(&s, "(v:1,kind:numeric,n:3,sum:6.75,max_scale_count:2,nan:0,pinf:0,ninf:0)"),
		  "format: numeric 1.50, 2, 3.25");
	aov_add_special(&s, AOV_NUMERIC, AOV_NAN, NULL);
	CHECK(format_is(&s, "(v:1,kind:numeric,n:4,sum:6.75,max_scale_count:2,nan:1,pinf:0,ninf:0)"),
		  "format: n counts the NaN too");
	CHECK(aov_parse("(v:1,kind:numeric,n:4,sum:6.75,max_scale_count:2,nan:1,pinf:0,ninf:0)", &back, NULL) == KPI_OK &&
		  same(&back, &s), "parse: the numeric text gives the same bytes");
	CHECK(aov_parse(" (\n v : 1 ,\n ninf:0, pinf : 0 ,nan:1,max_scale_count:2,sum: 6.75 ,n:4,kind:numeric\n) ", &back, NULL) == KPI_OK &&
		  same(&back, &s), "parse: fields in any order, with whitespace");

	aov_init(&s);
	aov_add_float8(&s, 0.5, NULL);
	aov_add_float8(&s, 0.25, NULL);
	CHECK(format_is(&s, "(v:1,kind:float8,n:2,sum:0.75,sum_lo:0,exact:true,nan:0,pinf:0,ninf:0)"),
		  "format: float8 0.5, 0.25");
	aov_init(&s);
	aov_add_float8(&s, 0.1, NULL);
	aov_add_float8(&s, 0.2, NULL);
	CHECK(format_is(&s, "(v:1,kind:float8,n:2,sum:0.30000000000000004,sum_lo:-2.7755575615628914e-17,"
					"exact:true,nan:0,pinf:0,ninf:0)"), "format: float8 0.1 + 0.2 keeps what hi misses");
	CHECK(aov_parse("(v:1,kind:float8,n:2,sum:0.30000000000000004,sum_lo:-2.7755575615628914e-17,"
					"exact:true,nan:0,pinf:0,ninf:0)", &back, NULL) == KPI_OK && same(&back, &s),
		  "parse: the float8 text gives the same bytes");
	aov_init(&s);
	aov_add_float8(&s, INFINITY, NULL);
	CHECK(format_is(&s, "(v:1,kind:float8,n:1,sum:0,sum_lo:0,exact:true,nan:0,pinf:1,ninf:0)"),
		  "format: float8 with only +Infinity");
	CHECK(aov_parse("(v:1,kind:float8,n:1,sum:-0,sum_lo:-0,exact:true,nan:0,pinf:1,ninf:0)", &back, NULL) == KPI_OK &&
		  same(&back, &s), "parse: -0 reads as +0");
	CHECK(aov_parse("(v:1,kind:numeric,n:0,sum:0,max_scale_count:0,nan:0,pinf:0,ninf:0)", &back, NULL) == KPI_OK &&
		  same(&back, &zero_state), "parse: a numeric state with n:0 is the empty state");
	CHECK(aov_parse("(v:1,n:0)", &back, NULL) == KPI_OK && same(&back, &zero_state), "parse: (v:1,n:0)");
}

static void
test_round_trips(void)
{
	int			ok = 1,
				kinds[3] = {0};

	for (int i = 0; i < 4000; i++)
	{
		aov_core	s;

		random_state(&s);
		kinds[s.kind]++;
		if (!round_trips(&s))
		{
			if (ok)
			{
				char	   *t = format(&s);

				printf("# does not round-trip: %s\n", t);
				free(t);
			}
			ok = 0;
		}
	}
	CHECK(ok, "round trip: 4000 random states survive text and binary, byte for byte");
	CHECK(kinds[0] > 50 && kinds[1] > 1000 && kinds[2] > 1000, "round trip: all three kinds were covered");
}

static void
test_encode_layout(void)
{
	aov_core	s;
	uint8_t		buf[128];
	kpi_writer	w;
	static const uint8_t numeric[62] = {
		1, 1,
		0, 0, 0, 0, 0, 0, 0, 4,		/* n */
		0, 0, 0, 0, 0, 0, 0, 1,		/* nan */
		0, 0, 0, 0, 0, 0, 0, 0,		/* pinf */
		0, 0, 0, 0, 0, 0, 0, 0,		/* ninf */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0xA3,	/* sum 675 */
		0, 0, 0, 2,				/* scale */
		0, 0, 0, 0, 0, 0, 0, 2	/* max_scale_count */
	};
	static const uint8_t float8[51] = {
		1, 2,
		0, 0, 0, 0, 0, 0, 0, 3,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 1,
		0x3F, 0xE8, 0, 0, 0, 0, 0, 0,	/* 0.75 */
		0, 0, 0, 0, 0, 0, 0, 0,
		1
	};

	aov_init(&s);
	kpi_writer_init(&w, buf, sizeof(buf));
	aov_encode(&s, &w);
	CHECK(aov_encoded_size(&s) == 2 && w.len == 2 && buf[0] == 1 && buf[1] == 0, "encode: empty is 01 00");

	add_text(&s, "1.50");
	aov_add_int64(&s, 2, NULL);
	add_text(&s, "3.25");
	aov_add_special(&s, AOV_NUMERIC, AOV_NAN, NULL);
	kpi_writer_init(&w, buf, sizeof(buf));
	aov_encode(&s, &w);
	CHECK(aov_encoded_size(&s) == 62 && w.len == 62 && memcmp(buf, numeric, 62) == 0,
		  "encode: numeric layout, big-endian, 62 bytes");

	aov_init(&s);
	aov_add_float8(&s, 0.5, NULL);
	aov_add_float8(&s, 0.25, NULL);
	aov_add_float8(&s, -INFINITY, NULL);
	kpi_writer_init(&w, buf, sizeof(buf));
	aov_encode(&s, &w);
	CHECK(aov_encoded_size(&s) == 51 && w.len == 51 && memcmp(buf, float8, 51) == 0,
		  "encode: float8 layout, big-endian, 51 bytes");
	{
		aov_core	back;

		CHECK(decode_all(float8, 51, &back) == KPI_OK && same(&back, &s), "decode: the float8 bytes");
		CHECK(decode_all(numeric, 62, &back) == KPI_OK && back.sum.dec.sum == 675 && back.nan == 1,
			  "decode: the numeric bytes");
	}
}

static void
test_parse_errors(void)
{
	static const struct
	{
		const char *text;
		kpi_status	expect;
		const char *what;
	}			cases[] = {
		{"(v:2,n:0)", KPI_ERR_VERSION, "another version"},
		{"hello", KPI_ERR_TEXT, "not a state"},
		{"(v:1,n:0", KPI_ERR_TEXT, "no closing parenthesis"},
		{"(v:1)", KPI_ERR_TEXT, "no fields"},
		{"(v:1,n:5)", KPI_ERR_TEXT, "n without kind"},
		{"(v:1,n:0,foo:1)", KPI_ERR_TEXT, "unknown field"},
		{"(v:1,n:0,n:0)", KPI_ERR_TEXT, "duplicate n"},
		{"(v:1,kind:numeric,kind:numeric,n:1,sum:1,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "duplicate kind"},
		{"(v:1,kind:numeric,n:1,sum:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "missing max_scale_count"},
		{"(v:1,kind:numeric,n:1,sum:1,max_scale_count:1,pinf:0,ninf:0)", KPI_ERR_TEXT, "missing nan"},
		{"(v:1,kind:numeric,sum:1,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "missing n"},
		{"(v:1,kind:float8,n:1,sum:1,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "numeric fields on float8"},
		{"(v:1,kind:numeric,n:1,sum:1,max_scale_count:1,sum_lo:0,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "sum_lo on numeric"},
		{"(v:1,kind:decimal,n:1,sum:1,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "unknown kind"},
		{"(v:1,kind:empty,n:0)", KPI_ERR_TEXT, "kind empty is not written"},
		{"(v:1,kind:,n:1,sum:1,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "empty kind"},
		{"(v:1,kind:numeric,n:1,sum:1,max_scale_count:1,nan:2,pinf:0,ninf:0)", KPI_ERR_TEXT, "n below the specials"},
		{"(v:1,kind:numeric,n:-1,sum:0,max_scale_count:0,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "negative n"},
		{"(v:1,kind:numeric,n:1,sum:5,max_scale_count:0,nan:1,pinf:0,ninf:0)", KPI_ERR_TEXT, "a sum without values"},
		{"(v:1,kind:numeric,n:1,sum:0.0,max_scale_count:0,nan:1,pinf:0,ninf:0)", KPI_ERR_TEXT, "a scale without values"},
		{"(v:1,kind:numeric,n:2,sum:1.5,max_scale_count:3,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "max_scale_count above count"},
		{"(v:1,kind:numeric,n:2,sum:1.5,max_scale_count:0,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "no value at the max scale"},
		{"(v:1,kind:numeric,n:2,sum:1.5,max_scale_count:-1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "negative max_scale_count"},
		{"(v:1,kind:numeric,n:2,sum:3,max_scale_count:0,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT,
		"scale 0 with max_scale_count below count"},
		{"(v:1,kind:numeric,n:2,sum:3,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT,
		"scale 0 with max_scale_count 1 of 2"},
		{"(v:1,kind:numeric,n:1,sum:1e5,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "exponent in a numeric sum"},
		{"(v:1,kind:numeric,n:1,sum:NaN,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "NaN numeric sum"},
		{"(v:1,kind:numeric,n:1,sum:[1],max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "bracketed sum"},
		{"(v:1,kind:numeric,n:1,sum:1,max_scale_count:1,nan:0,pinf:0,ninf:-0x1)", KPI_ERR_TEXT, "hex count"},
		{"(v:1,kind:numeric,n:2305843009213693952,sum:1,max_scale_count:2305843009213693952,nan:0,pinf:0,ninf:0)",
		KPI_ERR_TEXT, "count above INT64_MAX / 4"},
		{"(v:1,kind:numeric,n:2305843009213693952,sum:0,max_scale_count:0,nan:2305843009213693952,pinf:0,ninf:0)",
		KPI_ERR_TEXT, "NaN count above INT64_MAX / 4"},
		{"(v:1,kind:numeric,n:-9223372036854775808,sum:0,max_scale_count:0,nan:1,pinf:0,ninf:0)", KPI_ERR_TEXT,
		"n - nan overflows"},
		{"(v:1,kind:numeric,n:9223372036854775807,sum:0,max_scale_count:0,nan:-9223372036854775808,pinf:0,ninf:0)",
		KPI_ERR_TEXT, "n - negative nan overflows"},
		{"(v:1,kind:float8,n:1,sum:NaN,sum_lo:0,exact:true,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "NaN float8 sum"},
		{"(v:1,kind:float8,n:1,sum:Infinity,sum_lo:0,exact:true,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "infinite float8 sum"},
		{"(v:1,kind:float8,n:2,sum:1,sum_lo:1,exact:true,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "unnormalised pair"},
		{"(v:1,kind:float8,n:1,sum:1,sum_lo:0,exact:yes,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "exact is true or false"},
		{"(v:1,kind:float8,n:1,sum:abc,sum_lo:0,exact:true,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT, "float8 sum not a number"},
		{"(v:1,kind:float8,n:1,sum:1,sum_lo:0,exact:true,max_scale_count:1,nan:0,pinf:0,ninf:0)", KPI_ERR_TEXT,
		"max_scale_count on float8"},
		{"(v:1,kind:float8,n:1,sum:1,sum_lo:0,exact:true,nan:1,pinf:0,ninf:0)", KPI_ERR_TEXT, "float8 sum without values"},
		{"(v:1,kind:float8,n:1,sum:0,sum_lo:0,exact:false,nan:1,pinf:0,ninf:0)", KPI_ERR_TEXT,
		"an empty float8 sum is exact"},
		{"(v:1,kind:numeric,n:1,sum:1,max_scale_count:1,nan:0,pinf:0,ninf:0,)", KPI_ERR_TEXT, "trailing comma"},
	};
	aov_core	s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		what[400];
		kpi_msg		msg;
		kpi_status	st;

		msg.text[0] = '\0';
		st = aov_parse(cases[i].text, &s, &msg);
		snprintf(what, sizeof(what), "parse error: %s (status %d, \"%s\")", cases[i].what, (int) st, msg.text);
		CHECK(st == cases[i].expect && msg.text[0] != '\0', what);
	}
	{
		kpi_msg		msg;

		CHECK(aov_parse("(v:1,n:0,foo:1)", &s, &msg) == KPI_ERR_TEXT && strcmp(msg.text, "Unknown field \"foo\".") == 0,
			  "parse error: the unknown field is named");
		CHECK(aov_parse("(v:1,n:0,n:0)", &s, &msg) == KPI_ERR_TEXT && strcmp(msg.text, "Field \"n\" appears twice.") == 0,
			  "parse error: the duplicate field is named");
	}
	/* every count at the limit: n is then INT64_MAX - 3, which does not overflow */
	CHECK(aov_parse("(v:1,kind:numeric,n:9223372036854775804,sum:0,max_scale_count:2305843009213693951,"
					"nan:2305843009213693951,pinf:2305843009213693951,ninf:2305843009213693951)", &s, NULL) == KPI_OK &&
		  aov_count(&s) == INT64_MAX - 3 && round_trips(&s), "parse: all four counts at INT64_MAX / 4");
	CHECK(aov_parse("(v:1,kind:numeric,n:6917529027641081853,sum:0,max_scale_count:0,nan:2305843009213693951,"
					"pinf:2305843009213693951,ninf:2305843009213693951)", &s, NULL) == KPI_OK &&
		  aov_count(&s) == 6917529027641081853ll, "parse: every count at INT64_MAX / 4 is accepted");
}

static void
test_decode_errors(void)
{
	aov_core	s,
				valid[2];
	uint8_t		enc[2][64];
	size_t		len[2];

	{
		static const uint8_t v2[] = {2, 0};
		static const uint8_t v0[] = {0};
		static const uint8_t kind4[] = {1, 4};
		static const uint8_t one[] = {1};
		static const uint8_t extra[] = {1, 0, 0};
		kpi_reader	r;
		kpi_msg		msg;

		CHECK(decode_all(NULL, 0, &s) == KPI_ERR_BINARY && same(&s, &zero_state), "decode: no bytes");
		CHECK(decode_all(v2, 2, &s) == KPI_ERR_VERSION, "decode: version 2 is KPI_ERR_VERSION");
		CHECK(decode_all(v0, 1, &s) == KPI_ERR_VERSION, "decode: version 0 is KPI_ERR_VERSION");
		kpi_reader_init(&r, kind4, 2);
		msg.text[0] = '\0';
		CHECK(aov_decode(&r, &s, &msg) == KPI_ERR_BINARY && strcmp(msg.text, "Unknown state kind 4.") == 0,
			  "decode: an unknown kind is named");
		CHECK(decode_all(one, 1, &s) == KPI_ERR_BINARY, "decode: a version byte alone");
		CHECK(decode_all(extra, 3, &s) == KPI_ERR_BINARY, "decode: a byte after the empty state");
	}

	/* crafted fields */
	{
		aov_core	t;
		uint8_t		buf[64];
		kpi_writer	w;

		aov_init(&t);
		add_text(&t, "1.5");
		kpi_writer_init(&w, buf, sizeof(buf));
		aov_encode(&t, &w);
		CHECK(decode_all(buf, w.len, &s) == KPI_OK && same(&s, &t), "decode: a numeric state");
		/* n = INT64_MIN, nan = 1: n - nan overflows */
		buf[2] = 0x80;
		memset(buf + 3, 0, 7);
		buf[17] = 1;
		CHECK(decode_all(buf, w.len, &s) == KPI_ERR_BINARY && same(&s, &zero_state),
			  "decode: counts whose difference overflows are rejected; state left empty");
		kpi_writer_init(&w, buf, sizeof(buf));
		aov_encode(&t, &w);
		buf[50] = 0x80;			/* scale 0x80000001, negative */
		CHECK(decode_all(buf, w.len, &s) == KPI_ERR_BINARY, "decode: a negative scale");
		aov_init(&t);
		aov_add_float8(&t, 2.0, NULL);
		kpi_writer_init(&w, buf, sizeof(buf));
		aov_encode(&t, &w);
		buf[50] = 2;
		CHECK(decode_all(buf, w.len, &s) == KPI_ERR_BINARY, "decode: exact byte 2");
		buf[50] = 0;
		CHECK(decode_all(buf, w.len, &s) == KPI_OK && s.sum.flt.exact == 0, "decode: exact byte 0");
		buf[34] = 0x7F;
		buf[35] = 0xF8;			/* hi = NaN */
		CHECK(decode_all(buf, w.len, &s) == KPI_ERR_BINARY, "decode: a NaN sum");
	}

	/* every truncation of valid encodings fails */
	for (int k = 0; k < 2; k++)
	{
		kpi_writer	w;

		aov_init(&valid[k]);
		if (k == 0)
		{
			add_text(&valid[k], "12.5");
			aov_add_special(&valid[k], AOV_NUMERIC, AOV_PINF, NULL);
		}
		else
		{
			aov_add_float8(&valid[k], 12.5, NULL);
			aov_add_float8(&valid[k], NAN, NULL);
		}
		kpi_writer_init(&w, enc[k], sizeof(enc[k]));
		aov_encode(&valid[k], &w);
		len[k] = w.len;
	}
	{
		int			ok = 1;

		for (int k = 0; k < 2; k++)
			for (size_t cut = 0; cut < len[k]; cut++)
			{
				uint8_t    *heap = malloc(cut ? cut : 1);

				memcpy(heap, enc[k], cut);
				if (decode_all(heap, cut, &s) == KPI_OK)
					ok = 0;
				free(heap);
			}
		CHECK(ok, "decode: every truncation of a numeric and a float8 encoding fails (exact-size heap copies)");
	}

	/*
	 * Garbage: random bytes biased towards plausible headers, and random
	 * mutations of valid encodings.  Nothing may crash (ASan, UBSan), and
	 * whatever decodes must be a state the codecs reproduce exactly.
	 */
	{
		int			ok = 1,
					accepted = 0;

		for (int i = 0; i < 100000; i++)
		{
			size_t		n;
			uint8_t    *heap;

			if (i % 2 == 0)
			{
				static const size_t sizes[] = {0, 1, 2, 3, 50, 51, 52, 61, 62, 63};

				n = unit_rng_next() % 4 ? sizes[unit_rng_next() % 10] : unit_rng_next() % 80;
				heap = malloc(n ? n : 1);
				for (size_t k = 0; k < n; k++)
					heap[k] = (uint8_t) unit_rng_next();
				if (n > 0 && unit_rng_next() % 2)
					heap[0] = 1;
				if (n > 1 && unit_rng_next() % 2)
					heap[1] = (uint8_t) (unit_rng_next() % 3);
				/* small counts, so some states get through */
				for (size_t k = 2; k + 8 <= n && k < 34; k += 8)
					if (unit_rng_next() % 2)
						memset(heap + k, 0, 7);
			}
			else
			{
				int			k = (int) (unit_rng_next() % 2);
				int			flips = 1 + (int) (unit_rng_next() % 3);

				n = len[k];
				heap = malloc(n);
				memcpy(heap, enc[k], n);
				for (int f = 0; f < flips; f++)
				{
					size_t		at = unit_rng_next() % n;

					heap[at] = unit_rng_next() % 2 ? (uint8_t) unit_rng_next() : (uint8_t) (heap[at] ^ (1u << (unit_rng_next() % 8)));
				}
			}
			memset(&s, 0x77, sizeof(s));
			if (decode_all(heap, n, &s) == KPI_OK)
			{
				uint8_t		again[64];
				kpi_writer	w;

				accepted++;
				kpi_writer_init(&w, again, sizeof(again));
				aov_encode(&s, &w);
				if (w.len != n || memcmp(again, heap, n) != 0 || !round_trips(&s))
					ok = 0;
			}
			free(heap);
		}
		CHECK(ok, "decode: 100000 garbage inputs never crash; accepted ones re-encode to the same bytes");
		CHECK(accepted > 100, "decode: some garbage inputs were valid states");
	}
}

/* Text input must not crash either; what parses must be canonical. */
static void
test_parse_garbage(void)
{
	static const char alphabet[] = "(),:[]-.0123456789 vnkindumercflot8sum_lxapiNIfyE";
	static const char *const seeds[] = {
		"(v:1,kind:numeric,n:3,sum:6.75,max_scale_count:2,nan:0,pinf:0,ninf:1)",
		"(v:1,kind:float8,n:2,sum:0.75,sum_lo:0,exact:true,nan:1,pinf:0,ninf:0)",
		"(v:1,n:0)",
	};
	int			ok = 1,
				accepted = 0;

	for (int i = 0; i < 30000; i++)
	{
		char		text[128];
		size_t		n;
		aov_core	s;

		if (i % 2)
		{
			n = unit_rng_next() % 100;
			for (size_t k = 0; k < n; k++)
				text[k] = alphabet[unit_rng_next() % (sizeof(alphabet) - 1)];
			text[n] = '\0';
		}
		else
		{
			int			flips = 1 + (int) (unit_rng_next() % 2);

			strcpy(text, seeds[unit_rng_next() % 3]);
			n = strlen(text);
			for (int f = 0; f < flips; f++)
				text[unit_rng_next() % n] = alphabet[unit_rng_next() % (sizeof(alphabet) - 1)];
		}
		if (aov_parse(text, &s, NULL) == KPI_OK)
		{
			accepted++;
			if (!round_trips(&s))
				ok = 0;
		}
	}
	CHECK(ok, "parse: 30000 garbage texts never crash; accepted ones are canonical states");
	CHECK(accepted > 100, "parse: some garbage texts were valid states");
}

/*
 * Counts stay within what the codecs accept: a transition either fails
 * or gives a state that can be written and read back.
 */
static void
test_count_limits(void)
{
	aov_core	s,
				before,
				copy;
	kpi_status	st;

	CHECK(aov_parse("(v:1,kind:numeric,n:2305843009213693951,sum:0,max_scale_count:0,"
					"nan:2305843009213693951,pinf:0,ninf:0)", &s, NULL) == KPI_OK,
		  "limits: a state with INT64_MAX / 4 NaNs");
	before = s;
	copy = s;
	st = aov_merge(&s, &copy, NULL);
	CHECK(st == KPI_ERR_OVERFLOW && same(&s, &before), "limits: merging it with itself overflows; state unchanged");
	/* repeated merges must never wrap */
	for (int i = 0; i < 6; i++)
		(void) aov_merge(&s, &copy, NULL);
	CHECK(s.nan >= 0 && round_trips(&s), "limits: repeated merges never wrap");
	s = before;
	CHECK(aov_add_special(&s, AOV_NUMERIC, AOV_NAN, NULL) == KPI_ERR_OVERFLOW && same(&s, &before),
		  "limits: one more NaN overflows; state unchanged");
	CHECK(aov_add_special(&s, AOV_NUMERIC, AOV_PINF, NULL) == KPI_OK && round_trips(&s),
		  "limits: another kind of special still fits");

	CHECK(aov_parse("(v:1,kind:numeric,n:2305843009213693951,sum:2305843009213693951,"
					"max_scale_count:2305843009213693951,nan:0,pinf:0,ninf:0)", &s, NULL) == KPI_OK,
		  "limits: a state with INT64_MAX / 4 values");
	before = s;
	CHECK(aov_add_int64(&s, 1, NULL) == KPI_ERR_OVERFLOW && same(&s, &before),
		  "limits: one more integer overflows; state unchanged");
	CHECK(add_text(&s, "1.5") == KPI_ERR_OVERFLOW && same(&s, &before), "limits: one more decimal too");
	CHECK(aov_parse("(v:1,kind:float8,n:2305843009213693951,sum:1,sum_lo:0,exact:true,nan:0,pinf:0,ninf:0)",
					&s, NULL) == KPI_OK, "limits: a float8 state with INT64_MAX / 4 values");
	before = s;
	CHECK(aov_add_float8(&s, 1.0, NULL) == KPI_ERR_OVERFLOW && same(&s, &before),
		  "limits: one more float8 overflows; state unchanged");
	copy = s;
	CHECK(aov_merge(&s, &copy, NULL) == KPI_ERR_OVERFLOW && same(&s, &before), "limits: and so does a merge");
	CHECK(aov_remove_float8(&s, 1.0, NULL) == KPI_OK && aov_add_float8(&s, 1.0, NULL) == KPI_OK && same(&s, &before),
		  "limits: room again after a removal");

	/*
	 * Random adds and merges on random states, including ones at the
	 * limits.  (Removals are only defined for values that were added;
	 * the moving-window tests cover them.)
	 */
	{
		int			ok = 1;
		static const char *const big[] = {
			"(v:1,kind:numeric,n:2305843009213693951,sum:0,max_scale_count:0,nan:0,pinf:2305843009213693951,ninf:0)",
			"(v:1,kind:numeric,n:2305843009213693951,sum:-170141183460469231731687303715884105728,"
			"max_scale_count:2305843009213693951,nan:0,pinf:0,ninf:0)",
			"(v:1,kind:float8,n:4611686018427387902,sum:1.7976931348623157e+308,sum_lo:0,exact:false,"
			"nan:2305843009213693951,pinf:0,ninf:0)",
		};

		aov_core	bigstate[3];
		bool		parsed = true;

		for (int k = 0; k < 3; k++)
			parsed = parsed && aov_parse(big[k], &bigstate[k], NULL) == KPI_OK && round_trips(&bigstate[k]);
		CHECK(parsed, "limits: states at the count, sum and range limits parse and round-trip");
		for (int i = 0; i < 20000; i++)
		{
			aov_core	a,
						b;
			bool		merge = unit_rng_next() % 3 == 0;

			if (unit_rng_next() % 4 == 0)
				a = bigstate[unit_rng_next() % 3];
			else
				random_state(&a);
			if (unit_rng_next() % 4 == 0)
				b = bigstate[unit_rng_next() % 3];
			else
				random_state(&b);
			before = a;
			if (merge)
				st = aov_merge(&a, &b, NULL);
			else
			{
				value		v;
				aov_kind	kind = a.kind == AOV_EMPTY ? AOV_NUMERIC : (aov_kind) a.kind;

				random_value(&v, kind);
				if (unit_rng_next() % 8 == 0)
				{
					v.type = V_FLOAT;
					v.f = (unit_rng_next() % 2 ? 1 : -1) * DBL_MAX;
				}
				st = apply(&a, &v, kind, false);
			}
			if (st == KPI_OK ? !round_trips(&a) : !same(&a, &before))
				ok = 0;
		}
		CHECK(ok, "limits: 20000 random adds and merges either fail leaving the state, or give a state that round-trips");
	}
}

/* A failed first value leaves no kind behind. */
static void
test_failed_first_add(void)
{
	aov_core	s;

	aov_init(&s);
	CHECK(add_text(&s, "10000000000000000000000000000000000000000") == KPI_ERR_OVERFLOW && same(&s, &zero_state),
		  "failed add: an overflowing first value leaves the all-zero empty state");
	CHECK(round_trips(&s), "failed add: which still round-trips");
	aov_add_special(&s, AOV_NUMERIC, AOV_NAN, NULL);
	{
		aov_core	before = s;

		CHECK(add_text(&s, "10000000000000000000000000000000000000000") == KPI_ERR_OVERFLOW && same(&s, &before),
			  "failed add: on a NaN-only numeric state, the state is unchanged");
	}
}

/* ------------------------------------------------------------ wide sums */

static const kpi_allocator *mem = &kpi_malloc_allocator;

/* Variable-size states live in malloc'd blocks. */
static aov_core *
state_new(void)
{
	aov_core   *s = malloc(sizeof(aov_core));

	aov_init(s);
	return s;
}

static aov_core *
state_copy(const aov_core *s)
{
	aov_core   *copy = malloc(aov_size(s));

	memcpy(copy, s, aov_size(s));
	return copy;
}

static bool
state_same(const aov_core *a, const aov_core *b)
{
	return aov_size(a) == aov_size(b) && memcmp(a, b, aov_size(a)) == 0;
}

static kpi_status
wide_add(aov_core **s, const char *text)
{
	unit_decimal t;

	return aov_add_decimal_wide(s, unit_make_decimal(&t, text), mem, NULL);
}

static kpi_status
wide_remove(aov_core **s, const char *text)
{
	unit_decimal t;

	return aov_remove_decimal_wide(s, unit_make_decimal(&t, text), mem, NULL);
}

/* text and binary round trips of a variable-size state give back its bytes */
static bool
wide_round_trips(const aov_core *s)
{
	char	   *t = format(s);
	size_t		size = aov_encoded_size(s);
	uint8_t    *buf = malloc(size);
	aov_core   *back = NULL;
	kpi_writer	w;
	kpi_reader	r;
	bool		ok;

	ok = aov_parse_wide(t, mem, &back, NULL) == KPI_OK && state_same(back, s);
	if (ok)
	{
		char	   *t2 = format(back);

		ok = strcmp(t, t2) == 0;
		free(t2);
	}
	free(back);
	back = NULL;
	free(t);
	kpi_writer_init(&w, buf, size);
	aov_encode(s, &w);
	kpi_reader_init(&r, buf, w.len);
	ok = ok && w.len == size && aov_decode_wide(&r, mem, &back, NULL) == KPI_OK &&
		kpi_reader_finish(&r, NULL) == KPI_OK && state_same(back, s);
	free(back);
	free(buf);
	return ok;
}

/* A value of the wide tests: like random_value, with huge and tiny decimals. */
static void
random_wide_value(value *v, char *text)
{
	random_value(v, AOV_NUMERIC);
	if (v->type == V_DECIMAL && unit_rng_next() % 2)
		unit_random_decimal(text, 45, 45);
	else
		strcpy(text, v->text);
}

static kpi_status
apply_wide(aov_core **s, const value *v, const char *text, bool remove)
{
	switch (v->type)
	{
		case V_DECIMAL:
			return remove ? wide_remove(s, text) : wide_add(s, text);
		case V_INT:
			return remove ? aov_remove_int64_wide(s, v->i, mem, NULL) : aov_add_int64_wide(s, v->i, mem, NULL);
		default:
			return apply(*s, v, AOV_NUMERIC, remove);
	}
}

static void
test_wide_transitions(void)
{
	aov_core   *s = state_new(),
			   *fresh = state_new(),
			   *before;
	kpi_status	st;

	CHECK(wide_add(&s, "1000000000000000000000000000000") == KPI_OK && wide_add(&s, "0.000000001") == KPI_OK &&
		  aov_size(s) == sizeof(aov_core) + 5 * sizeof(uint32_t) &&
		  format_is(s, "(v:1,kind:numeric,n:2,sum:1000000000000000000000000000000.000000001,"
					"max_scale_count:1,nan:0,pinf:0,ninf:0)") && wide_round_trips(s),
		  "wide: 10^30 and 10^-9 give an exact wide state of 92 bytes that round-trips");
	CHECK(aov_add_special(s, AOV_NUMERIC, AOV_NAN, NULL) == KPI_OK && aov_count(s) == 3 &&
		  aov_result(s) == AOV_MEAN_NAN && aov_size(s) == sizeof(aov_core) + 20 &&
		  aov_remove_special(s, AOV_NUMERIC, AOV_NAN, NULL) == KPI_OK && aov_result(s) == AOV_MEAN_FINITE,
		  "wide: NaN comes and goes beside a wide sum");
	CHECK(wide_remove(&s, "1000000000000000000000000000000") == KPI_OK && aov_size(s) == sizeof(aov_core),
		  "wide: removing 10^30 shrinks the state back to 72 bytes");
	wide_add(&fresh, "0.000000001");
	CHECK(state_same(s, fresh), "wide: with the bytes of a state that never went wide");
	CHECK(wide_remove(&s, "0.000000001") == KPI_OK && same(s, &zero_state), "wide: then to the empty state");

	/* integers: only a parsed state goes wide with them */
	free(s);
	CHECK(aov_parse_wide("(v:1,kind:numeric,n:1,sum:170141183460469231731687303715884105727,max_scale_count:1,"
						 "nan:0,pinf:0,ninf:0)", mem, &s, NULL) == KPI_OK && aov_size(s) == sizeof(aov_core),
		  "wide: 2^127 - 1 parses narrow");
	CHECK(aov_add_int64_wide(&s, 1, mem, NULL) == KPI_OK && aov_size(s) == sizeof(aov_core) + 20 &&
		  format_is(s, "(v:1,kind:numeric,n:2,sum:170141183460469231731687303715884105728,max_scale_count:2,"
					"nan:0,pinf:0,ninf:0)"), "wide: + 1 goes wide");
	CHECK(aov_remove_int64_wide(&s, 1, mem, NULL) == KPI_OK && aov_size(s) == sizeof(aov_core) &&
		  s->sum.dec.sum == KPI_INT128_MAX, "wide: - 1 comes back");

	/* the narrow functions keep refusing, the count ceiling stays */
	free(s);
	s = state_new();
	wide_add(&s, "99999999999999999999999999999999999999");
	before = state_copy(s);
	CHECK(add_text(s, "99999999999999999999999999999999999999") == KPI_ERR_OVERFLOW && state_same(s, before),
		  "wide: the fixed-size functions still refuse a sum past 128 bits");
	free(before);
	free(s);
	CHECK(aov_parse_wide("(v:1,kind:numeric,n:2305843009213693951,sum:-1e1",
						 mem, &s, NULL) == KPI_ERR_TEXT, "wide: bad text is bad text");
	CHECK(aov_parse_wide("(v:1,kind:numeric,n:2305843009213693951,sum:1000000000000000000000000000000000000000000,"
						 "max_scale_count:2305843009213693951,nan:0,pinf:0,ninf:0)", mem, &s, NULL) == KPI_OK,
		  "wide: a wide state with INT64_MAX / 4 values");
	before = state_copy(s);
	{
		kpi_msg		msg;

		msg.text[0] = '\0';
		st = wide_add(&s, "1");
		CHECK(aov_add_decimal_wide(&s, &(decsum_decimal) {false, 0, 0, 0, NULL}, mem, &msg) == KPI_ERR_OVERFLOW &&
			  st == KPI_ERR_OVERFLOW && state_same(s, before) && strstr(msg.text, "at most") != NULL,
			  "wide: one more value passes the count ceiling (22003); state unchanged");
	}
	free(before);
	free(s);
	free(fresh);
}

/* A moving window over wide sums: every frame equals a fresh state. */
static void
test_wide_window(void)
{
	enum
	{
		STEPS = 1500, W = 6
	};
	static value vals[STEPS];
	static char texts[STEPS][100];
	aov_core   *s = state_new();
	int			ok = 1,
				restarts = 0,
				wide_frames = 0;

	for (int i = 0; i < STEPS; i++)
	{
		aov_core   *fresh = state_new();

		random_wide_value(&vals[i], texts[i]);
		if (apply_wide(&s, &vals[i], texts[i], false) != KPI_OK)
			ok = 0;
		if (i >= W)
		{
			kpi_status	st = apply_wide(&s, &vals[i - W], texts[i - W], true);

			if (st == KPI_CANNOT_INVERT)
			{
				restarts++;
				free(s);
				s = state_new();
				for (int j = i - W + 1; j <= i; j++)
					apply_wide(&s, &vals[j], texts[j], false);
			}
			else if (st != KPI_OK)
				ok = 0;
		}
		for (int j = i >= W ? i - W + 1 : 0; j <= i; j++)
			apply_wide(&fresh, &vals[j], texts[j], false);
		if (!state_same(s, fresh))
			ok = 0;
		wide_frames += aov_size(s) > sizeof(aov_core);
		free(fresh);
	}
	CHECK(ok, "wide window: moving frames over huge, tiny and special values equal fresh states, byte for byte");
	CHECK(restarts > 20 && wide_frames > 200 && wide_frames < STEPS - 100,
		  "wide window: frames go wide and come back, and some removals restart");
	free(s);
}

static size_t
state_size(const void *s)
{
	return aov_size(s);
}

static kpi_status
merge_wide_states(void **into, const void *from)
{
	aov_core   *s = *into;
	kpi_status	st = aov_merge_wide(&s, from, mem, NULL);

	*into = s;
	return st;
}

static void
add_random_wide(void **whole, void **part, void *ctx)
{
	value		v;
	char		text[100];
	aov_core   *w = *whole,
			   *p = *part;

	(void) ctx;
	random_wide_value(&v, text);
	apply_wide(&w, &v, text, false);
	apply_wide(&p, &v, text, false);
	*whole = w;
	*part = p;
}

static void
test_wide_merge(void)
{
	const unit_merge_ops ops = {0, state_size, &zero_state, merge_wide_states, add_random_wide, NULL};
	unit_merge_ok ok = UNIT_MERGE_OK_INIT;
	aov_core   *wide = state_new(),
			   *flt = state_new(),
			   *s,
			   *before;

	for (int round = 0; round < 400; round++)
		unit_merge_round(&ops, 30, 4, &ok);
	CHECK(ok.split, "wide merge: 400 random splits of huge and tiny sums merged in any order equal sequential adds, byte for byte");
	CHECK(ok.comm, "wide merge: commutative");
	CHECK(ok.assoc, "wide merge: associative");
	CHECK(ok.ident, "wide merge: the empty state is the identity on both sides");

	wide_add(&wide, "-123456789012345678901234567890123456789012.5");
	s = state_copy(wide);
	CHECK(aov_merge_wide(&s, s, mem, NULL) == KPI_OK && aov_count(s) == 2 &&
		  format_is(s, "(v:1,kind:numeric,n:2,sum:-246913578024691357802469135780246913578025.0,"
					"max_scale_count:2,nan:0,pinf:0,ninf:0)"), "wide merge: a wide state merged with itself doubles");
	free(s);
	aov_add_float8(flt, 1.5, NULL);
	s = state_copy(wide);
	before = state_copy(wide);
	CHECK(aov_merge_wide(&s, flt, mem, NULL) == KPI_ERR_MISMATCH && state_same(s, before) &&
		  aov_merge_wide(&flt, wide, mem, NULL) == KPI_ERR_MISMATCH,
		  "wide merge: a wide numeric and a float8 state do not merge; states unchanged");
	free(s);
	s = state_new();
	CHECK(aov_merge_wide(&s, wide, mem, NULL) == KPI_OK && state_same(s, wide),
		  "wide merge: empty + wide = wide, the wide digits copied");
	free(s);
	s = state_new();
	CHECK(aov_merge(s, wide, NULL) == KPI_ERR_OVERFLOW && same(s, &zero_state),
		  "wide merge: the fixed-size merge refuses a wide state; state unchanged");
	free(s);
	free(before);
	free(wide);
	free(flt);
}

static void
test_wide_codecs(void)
{
	/* 10^40, one value: its coefficient is 10000 * 10^36 */
	static const uint8_t layout[71] = {
		1, 3,
		0, 0, 0, 0, 0, 0, 0, 1,		/* n */
		0, 0, 0, 0, 0, 0, 0, 0,		/* nan */
		0, 0, 0, 0, 0, 0, 0, 0,		/* pinf */
		0, 0, 0, 0, 0, 0, 0, 0,		/* ninf */
		0, 0, 0, 0,				/* scale */
		0,						/* not negative */
		0, 0, 0, 5,				/* limbs */
		0, 0, 0x27, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 1	/* max_scale_count */
	};
	/* the same layout with a sum that fits: 1 */
	static const uint8_t narrow_as_wide[55] = {
		1, 3,
		0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0,
		0,
		0, 0, 0, 1,
		0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 1
	};
	const char *text = "(v:1,kind:numeric,n:1,sum:10000000000000000000000000000000000000000,max_scale_count:1,"
		"nan:0,pinf:0,ninf:0)";
	aov_core   *s = state_new(),
			   *back = NULL;
	aov_core	fixed;
	uint8_t		buf[128];
	kpi_writer	w;
	kpi_reader	r;
	kpi_msg		msg;

	wide_add(&s, "10000000000000000000000000000000000000000");
	CHECK(format_is(s, text), "wide codecs: the text carries every digit");
	kpi_writer_init(&w, buf, sizeof(buf));
	aov_encode(s, &w);
	CHECK(aov_encoded_size(s) == 71 && w.len == 71 && memcmp(buf, layout, 71) == 0,
		  "wide codecs: binary layout of 10^40, kind 3, by hand");
	kpi_reader_init(&r, layout, 71);
	CHECK(aov_decode_wide(&r, mem, &back, NULL) == KPI_OK && kpi_reader_finish(&r, NULL) == KPI_OK &&
		  state_same(back, s), "wide codecs: the bytes decode back");
	free(back);
	back = NULL;
	CHECK(aov_parse_wide(text, mem, &back, NULL) == KPI_OK && state_same(back, s), "wide codecs: so does the text");
	free(back);
	back = NULL;
	msg.text[0] = '\0';
	kpi_reader_init(&r, layout, 71);
	CHECK(aov_decode(&r, &fixed, &msg) == KPI_ERR_BINARY && same(&fixed, &zero_state) && msg.text[0] != '\0' &&
		  aov_parse(text, &fixed, NULL) == KPI_ERR_TEXT,
		  "wide codecs: the fixed-size decoders refuse a wide sum");
	kpi_reader_init(&r, narrow_as_wide, 55);
	msg.text[0] = '\0';
	CHECK(aov_decode_wide(&r, mem, &back, &msg) == KPI_ERR_BINARY && back == NULL && strstr(msg.text, "kind 1") != NULL,
		  "wide codecs: a sum that fits, written wide, is not canonical and refused");
	{
		int			ok = 1;

		for (size_t cut = 0; cut < 71; cut++)
		{
			uint8_t    *heap = malloc(cut ? cut : 1);

			memcpy(heap, layout, cut);
			kpi_reader_init(&r, heap, cut);
			/* as the glue does: decode, then check that all was read */
			if (aov_decode_wide(&r, mem, &back, NULL) == KPI_OK)
			{
				if (kpi_reader_finish(&r, NULL) == KPI_OK)
					ok = 0;
				free(back);
				back = NULL;
			}
			free(heap);
		}
		CHECK(ok, "wide codecs: every truncation fails, and nothing is leaked");
	}

	/* random wide states round-trip; mutations of their bytes never crash */
	{
		int			ok = 1,
					accepted = 0,
					wide_states = 0;

		for (int i = 0; i < 3000; i++)
		{
			aov_core   *t = state_new();
			int			n = (int) (unit_rng_next() % 8);
			size_t		size;
			uint8_t    *enc;

			for (int k = 0; k < n; k++)
			{
				value		v;
				char		vt[100];

				random_wide_value(&v, vt);
				apply_wide(&t, &v, vt, false);
			}
			wide_states += aov_size(t) > sizeof(aov_core);
			if (!wide_round_trips(t))
				ok = 0;
			size = aov_encoded_size(t);
			enc = malloc(size);
			kpi_writer_init(&w, enc, size);
			aov_encode(t, &w);
			for (int f = 0, flips = 1 + (int) (unit_rng_next() % 3); f < flips; f++)
			{
				size_t		at = unit_rng_next() % size;

				enc[at] = unit_rng_next() % 2 ? (uint8_t) unit_rng_next() : (uint8_t) (enc[at] ^ (1u << (unit_rng_next() % 8)));
			}
			kpi_reader_init(&r, enc, size);
			if (aov_decode_wide(&r, mem, &back, NULL) == KPI_OK && kpi_reader_finish(&r, NULL) == KPI_OK)
			{
				uint8_t    *again = malloc(aov_encoded_size(back));

				accepted++;
				kpi_writer_init(&w, again, aov_encoded_size(back));
				aov_encode(back, &w);
				if (w.len != size || memcmp(again, enc, size) != 0 || !wide_round_trips(back))
					ok = 0;
				free(again);
			}
			free(back);
			back = NULL;
			free(enc);
			free(t);
		}
		CHECK(ok, "wide codecs: 3000 random states round-trip; mutated bytes never crash, accepted ones re-encode the same");
		CHECK(wide_states > 1000 && accepted > 100, "wide codecs: most states were wide, and some mutations valid");
	}
	free(s);
}

int
main(void)
{
	/* line-buffered, so a sanitizer abort still shows the TAP lines before it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	unit_rng_seed(0xA0761D6478BD642Full);
	test_kinds();
	test_outcomes();
	test_removal_to_empty();
	test_merge();
	test_format_hand();
	test_round_trips();
	test_encode_layout();
	test_parse_errors();
	test_decode_errors();
	test_parse_garbage();
	test_count_limits();
	test_failed_first_add();
	test_wide_transitions();
	test_wide_window();
	test_wide_merge();
	test_wide_codecs();
	return unit_done();
}
