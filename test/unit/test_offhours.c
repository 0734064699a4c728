/*-------------------------------------------------------------------------
 *
 * test_offhours.c
 *	  Unit and property tests of the off-hours share state.
 *
 * Expected values are hand-computed, or come from a naive model kept next
 * to the state: plain int64 row counts and weight sums held as integers
 * at a fixed scale of 4 digits (every weight here has at most 4).
 *
 * IDENTIFICATION
 *	  test/unit/test_offhours.c
 *
 *-------------------------------------------------------------------------
 */
#include "offhours_core.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* A decimal coef * 10^-scale in numeric's base-10000 digit form. */
typedef struct test_decimal
{
	int16_t		digits[12];
	decsum_decimal d;
} test_decimal;

static void
make_decimal(test_decimal *t, int64_t coef, int scale)
{
	int			padded = (scale + 3) / 4 * 4;
	unsigned __int128 v = coef < 0 ? (unsigned __int128) (-(__int128) coef) : (unsigned __int128) coef;
	int16_t		reversed[12];
	int			n = 0;

	for (int i = scale; i < padded; i++)
		v *= 10;
	while (v != 0)
	{
		reversed[n++] = (int16_t) (v % 10000);
		v /= 10000;
	}
	for (int i = 0; i < n; i++)
		t->digits[i] = reversed[n - 1 - i];
	t->d.negative = coef < 0;
	t->d.weight = n - 1 - padded / 4;
	t->d.dscale = scale;
	t->d.ndigits = n;
	t->d.digits = t->digits;
}

/* One row of a random stream: off-hours or not, and a weight. */
typedef struct row
{
	bool		off;
	int64_t		coef;
	int			scale;
} row;

static void
random_rows(row *rows, int n)
{
	for (int i = 0; i < n; i++)
	{
		rows[i].off = unit_rand_below(3) == 0;
		rows[i].scale = unit_rand_below(5);
		rows[i].coef = (int64_t) unit_rand_below(2000000) - 400000;	/* credit notes too */
	}
}

/* Accumulates rows [from, to) into s, weighted or not. */
static kpi_status
accumulate(offhours_core *s, const row *rows, int from, int to, bool weighted)
{
	for (int i = from; i < to; i++)
	{
		kpi_status	st;

		if (weighted)
		{
			test_decimal w;

			make_decimal(&w, rows[i].coef, rows[i].scale);
			st = offhours_add_weighted(s, rows[i].off, &w.d, NULL);
		}
		else
			st = offhours_add(s, rows[i].off, NULL);
		if (st != KPI_OK)
			return st;
	}
	return KPI_OK;
}

/* The weight as an integer at scale 4. */
static __int128
at_scale4(const row *r)
{
	__int128	v = r->coef;

	for (int i = r->scale; i < 4; i++)
		v *= 10;
	return v;
}

/* The decsum's value at scale 4 (its scale is at most 4 here). */
static __int128
decsum_at_scale4(const decsum *d)
{
	__int128	v = d->sum;

	for (int i = d->scale; i < 4; i++)
		v *= 10;
	return v;
}

static bool
same_state(const offhours_core *a, const offhours_core *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static char *
format(const offhours_core *s)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, &kpi_malloc_allocator);
	offhours_format(s, &sb);
	return sb.data;
}

/* Whether text parses, and formats back to exactly expected. */
static bool
reformats_as(const char *text, const char *expected)
{
	offhours_core s;
	kpi_msg		msg = {{0}};
	char	   *out;
	bool		ok;

	if (offhours_parse(text, &s, &msg) != KPI_OK)
	{
		printf("#   \"%s\" did not parse: %s\n", text, msg.text);
		return false;
	}
	out = format(&s);
	ok = strcmp(out, expected) == 0;
	if (!ok)
		printf("#   \"%s\" formats as \"%s\"\n", text, out);
	free(out);
	return ok;
}

static bool
parse_fails(const char *text, kpi_status expected)
{
	offhours_core s;
	kpi_msg		msg = {{0}};
	kpi_status	st = offhours_parse(text, &s, &msg);

	if (st != expected || msg.text[0] == '\0')
	{
		printf("#   \"%s\": status %d, detail \"%s\"\n", text, (int) st, msg.text);
		return false;
	}
	return true;
}

/* Encode, decode, compare. */
static bool
binary_round_trip(const offhours_core *s)
{
	uint8_t		buf[256];
	kpi_writer	w;
	kpi_reader	r;
	offhours_core back;

	kpi_writer_init(&w, buf, sizeof(buf));
	offhours_encode(s, &w);
	if (w.len != offhours_encoded_size(s))
		return false;
	kpi_reader_init(&r, buf, w.len);
	if (offhours_decode(&r, &back, NULL) != KPI_OK || kpi_reader_finish(&r, NULL) != KPI_OK)
		return false;
	return same_state(s, &back);
}

static bool
text_round_trip(const offhours_core *s)
{
	char	   *text = format(s);
	offhours_core back;
	bool		ok = offhours_parse(text, &back, NULL) == KPI_OK && same_state(s, &back);

	free(text);
	return ok;
}

/* ------------------------------------------------------------------ tests */

static void
test_hand_computed(void)
{
	offhours_core s;
	test_decimal a,
				b,
				c;
	double		share = -1;
	char	   *text;

	offhours_init(&s);
	CHECK(!offhours_row_share(&s, &share), "the empty state has no share");
	offhours_add(&s, true, NULL);
	offhours_add(&s, false, NULL);
	offhours_add(&s, false, NULL);
	offhours_add(&s, true, NULL);
	offhours_add(&s, false, NULL);
	CHECK(offhours_row_share(&s, &share) && share == 0.4, "2 off-hours rows of 5: 0.4");
	text = format(&s);
	CHECK(strcmp(text, "(v:1,kind:rows,n:5,off:2)") == 0, "row state text");
	free(text);

	/* 12.50 off-hours, 7.5 in hours, -2.25 (a credit note) off-hours */
	offhours_init(&s);
	make_decimal(&a, 1250, 2);
	make_decimal(&b, 75, 1);
	make_decimal(&c, -225, 2);
	CHECK(offhours_add_weighted(&s, true, &a.d, NULL) == KPI_OK &&
		  offhours_add_weighted(&s, false, &b.d, NULL) == KPI_OK &&
		  offhours_add_weighted(&s, true, &c.d, NULL) == KPI_OK, "weighted rows add");
	text = format(&s);
	CHECK(strcmp(text, "(v:1,kind:weighted,n:3,off:2,weight:17.75,max_scale_count:2,"
				 "off_weight:10.25,off_max_scale_count:2)") == 0,
		  "weighted state text: 12.50 + 7.5 - 2.25 = 17.75, off 12.50 - 2.25 = 10.25");
	free(text);
	CHECK(offhours_row_share(&s, &share) && share == 2.0 / 3.0, "a weighted state keeps row counts");
}

static void
test_kinds(void)
{
	offhours_core rows,
				weighted,
				empty;
	test_decimal w;
	kpi_msg		msg = {{0}};

	offhours_init(&rows);
	offhours_init(&weighted);
	offhours_init(&empty);
	make_decimal(&w, 5, 0);
	offhours_add(&rows, false, NULL);
	offhours_add_weighted(&weighted, true, &w.d, NULL);
	CHECK(offhours_add_weighted(&rows, true, &w.d, &msg) == KPI_ERR_MISMATCH && msg.text[0] != '\0',
		  "a row state takes no weights");
	CHECK(offhours_add(&weighted, true, NULL) == KPI_ERR_MISMATCH, "a weighted state takes no bare rows");
	CHECK(offhours_merge(&rows, &weighted, NULL) == KPI_ERR_MISMATCH &&
		  offhours_merge(&weighted, &rows, NULL) == KPI_ERR_MISMATCH, "the kinds do not merge");
	CHECK(rows.rows == 1 && weighted.rows == 1, "a failed merge leaves the state alone");
	CHECK(offhours_merge(&empty, &weighted, NULL) == KPI_OK && same_state(&empty, &weighted),
		  "merging into the empty state copies");
}

static void
test_merge_properties(void)
{
	enum
	{
		N = 300
	};
	row			rows[N];
	bool		split_ok = true,
				assoc_ok = true,
				comm_ok = true,
				identity_ok = true,
				model_ok = true;

	for (int round = 0; round < 200; round++)
	{
		bool		weighted = round % 2 == 1;
		int			i = unit_rand_below(N + 1);
		int			j = i + unit_rand_below(N + 1 - i);
		offhours_core whole,
					a,
					b,
					c,
					ab_c,
					a_bc,
					bc,
					ba,
					empty;
		int64_t		off = 0;
		__int128	weight = 0,
					off_weight = 0;

		random_rows(rows, N);
		offhours_init(&whole);
		offhours_init(&a);
		offhours_init(&b);
		offhours_init(&c);
		offhours_init(&empty);
		accumulate(&whole, rows, 0, N, weighted);
		accumulate(&a, rows, 0, i, weighted);
		accumulate(&b, rows, i, j, weighted);
		accumulate(&c, rows, j, N, weighted);

		ab_c = a;
		offhours_merge(&ab_c, &b, NULL);
		offhours_merge(&ab_c, &c, NULL);
		split_ok = split_ok && same_state(&ab_c, &whole);

		bc = b;
		offhours_merge(&bc, &c, NULL);
		a_bc = a;
		offhours_merge(&a_bc, &bc, NULL);
		assoc_ok = assoc_ok && same_state(&a_bc, &ab_c);

		ba = b;
		offhours_merge(&ba, &a, NULL);
		offhours_merge(&a, &b, NULL);
		comm_ok = comm_ok && same_state(&a, &ba);

		offhours_merge(&empty, &whole, NULL);
		identity_ok = identity_ok && same_state(&empty, &whole);
		offhours_init(&empty);
		offhours_merge(&whole, &empty, NULL);
		identity_ok = identity_ok && same_state(&empty, &(offhours_core) {0}) && same_state(&ab_c, &whole);

		for (int k = 0; k < N; k++)
		{
			off += rows[k].off;
			weight += at_scale4(&rows[k]);
			off_weight += rows[k].off ? at_scale4(&rows[k]) : 0;
		}
		model_ok = model_ok && whole.rows == N && whole.off_rows == off &&
			(!weighted || (decsum_at_scale4(&whole.weight) == weight &&
						   decsum_at_scale4(&whole.off_weight) == off_weight));
	}
	CHECK(split_ok, "accumulating a sequence == merging the parts of any split");
	CHECK(assoc_ok, "merge is associative");
	CHECK(comm_ok, "merge is commutative");
	CHECK(identity_ok, "the empty state is the identity of merge");
	CHECK(model_ok, "counts and weight sums equal the naive model");
}

static void
test_remove(void)
{
	enum
	{
		N = 200
	};
	row			rows[N];
	bool		rows_ok = true,
				weighted_ok = true;
	int			inverted = 0,
				refused = 0;
	offhours_core s;
	test_decimal w;

	for (int round = 0; round < 100; round++)
	{
		bool		weighted = round % 2 == 1;
		int			from = unit_rand_below(N);
		offhours_core frame,
					expected;

		random_rows(rows, N);
		/* a moving frame: add everything, then take the first rows away */
		offhours_init(&frame);
		accumulate(&frame, rows, 0, N, weighted);
		for (int i = 0; i < from; i++)
		{
			kpi_status	st;

			if (weighted)
			{
				make_decimal(&w, rows[i].coef, rows[i].scale);
				st = offhours_remove_weighted(&frame, rows[i].off, &w.d, NULL);
			}
			else
				st = offhours_remove(&frame, rows[i].off);
			if (st == KPI_CANNOT_INVERT)
			{
				/* what the executor does: recompute the frame */
				refused++;
				offhours_init(&frame);
				accumulate(&frame, rows, i + 1, N, weighted);
			}
			else
				inverted++;
		}
		offhours_init(&expected);
		accumulate(&expected, rows, from, N, weighted);
		if (weighted)
			weighted_ok = weighted_ok && same_state(&frame, &expected);
		else
			rows_ok = rows_ok && same_state(&frame, &expected);
	}
	CHECK(rows_ok, "removing rows from a row state gives the state of the rest");
	CHECK(weighted_ok, "removing weighted rows (or recomputing) gives the state of the rest");
	CHECK(inverted > 0 && refused > 0, "removals happen, and some weighted ones are refused");
	printf("#   %d removals, %d refused\n", inverted, refused);

	offhours_init(&s);
	CHECK(offhours_remove(&s, true) == KPI_CANNOT_INVERT, "nothing to remove from the empty state");
	offhours_add(&s, false, NULL);
	CHECK(offhours_remove(&s, true) == KPI_CANNOT_INVERT, "no off-hours row to remove");
	CHECK(offhours_remove(&s, false) == KPI_OK && same_state(&s, &(offhours_core) {0}),
		  "removing the last row gives the empty state");
}

static void
test_text(void)
{
	CHECK(reformats_as(" ( v:1 , n:0 ) ", "(v:1,n:0)"), "the empty state, with spaces");
	CHECK(reformats_as("(v:1,off:3,n:10,kind:rows)", "(v:1,kind:rows,n:10,off:3)"),
		  "fields in any order; output canonical");
	CHECK(reformats_as("(v:1,kind:weighted,n:2,off:0,weight:-0.50,max_scale_count:1,"
					   "off_weight:0,off_max_scale_count:0)",
					   "(v:1,kind:weighted,n:2,off:0,weight:-0.50,max_scale_count:1,"
					   "off_weight:0,off_max_scale_count:0)"), "a weighted state");

	CHECK(parse_fails("garbage", KPI_ERR_TEXT), "not a state");
	CHECK(parse_fails("(v:2,n:0)", KPI_ERR_VERSION), "unknown version");
	CHECK(parse_fails("(v:1,n:1)", KPI_ERR_TEXT), "rows without a kind");
	CHECK(parse_fails("(v:1,kind:rows,n:0,off:0)", KPI_ERR_TEXT), "an empty state written with a kind");
	CHECK(parse_fails("(v:1,kind:rows,n:3,off:4)", KPI_ERR_TEXT), "more off-hours rows than rows");
	CHECK(parse_fails("(v:1,kind:rows,n:3,off:-1)", KPI_ERR_TEXT), "negative count");
	CHECK(parse_fails("(v:1,kind:rows,n:3,off:1,off:1)", KPI_ERR_TEXT), "a field twice");
	CHECK(parse_fails("(v:1,kind:rows,n:3,off:1,extra:1)", KPI_ERR_TEXT), "an unknown field");
	CHECK(parse_fails("(v:1,kind:hours,n:3,off:1)", KPI_ERR_TEXT), "an unknown kind");
	CHECK(parse_fails("(v:1,kind:rows,n:3,off:1,weight:1,max_scale_count:1,off_weight:0,"
					  "off_max_scale_count:0)", KPI_ERR_TEXT), "weights in a row state");
	CHECK(parse_fails("(v:1,kind:weighted,n:3,off:1)", KPI_ERR_TEXT), "a weighted state without weights");
	CHECK(parse_fails("(v:1,kind:weighted,n:1,off:0,weight:1.5,max_scale_count:0,off_weight:0,"
					  "off_max_scale_count:0)", KPI_ERR_TEXT), "a scale no value has");
	CHECK(parse_fails("(v:1,kind:weighted,n:1,off:0,weight:1.5,max_scale_count:1,off_weight:2,"
					  "off_max_scale_count:1)", KPI_ERR_TEXT), "an off-hours weight without off-hours rows");
	CHECK(parse_fails("(v:1,kind:weighted,n:2,off:1,weight:1,max_scale_count:2,off_weight:0.5,"
					  "off_max_scale_count:1)", KPI_ERR_TEXT), "an off-hours weight finer than the total");
	CHECK(parse_fails("(v:1,kind:weighted,n:1,off:0,weight:1x,max_scale_count:1,off_weight:0,"
					  "off_max_scale_count:0)", KPI_ERR_TEXT), "a malformed sum");
}

static void
test_round_trips(void)
{
	enum
	{
		N = 50
	};
	row			rows[N];
	bool		text_ok = true,
				binary_ok = true;

	for (int round = 0; round < 300; round++)
	{
		offhours_core s;

		random_rows(rows, N);
		offhours_init(&s);
		accumulate(&s, rows, 0, unit_rand_below(N + 1), round % 2 == 1);
		text_ok = text_ok && text_round_trip(&s);
		binary_ok = binary_ok && binary_round_trip(&s);
	}
	CHECK(text_ok, "text output reads back to the same bytes");
	CHECK(binary_ok, "binary output reads back to the same bytes");
}

static void
test_bad_bytes(void)
{
	uint8_t		good[256];
	uint8_t		buf[256];
	kpi_writer	w;
	offhours_core s;
	row			rows[20];
	bool		truncated_ok = true;
	int			accepted = 0;

	random_rows(rows, 20);
	offhours_init(&s);
	accumulate(&s, rows, 0, 20, true);
	kpi_writer_init(&w, good, sizeof(good));
	offhours_encode(&s, &w);
	for (size_t len = 0; len < w.len; len++)
	{
		kpi_reader	r;
		offhours_core back;
		kpi_status	st;

		kpi_reader_init(&r, good, len);
		st = offhours_decode(&r, &back, NULL);
		if (st == KPI_OK)
			st = kpi_reader_finish(&r, NULL);
		truncated_ok = truncated_ok && st != KPI_OK;
	}
	CHECK(truncated_ok, "every truncation of a state is refused");

	for (int round = 0; round < 100000; round++)
	{
		size_t		len = (size_t) unit_rand_below(80);
		kpi_reader	r;
		offhours_core back;
		kpi_status	st;

		if (unit_rand_below(2) == 0)
		{
			/* a good state with a few bytes changed */
			len = w.len;
			memcpy(buf, good, len);
			for (int k = unit_rand_below(3); k >= 0; k--)
				buf[unit_rand_below((int) len)] ^= (uint8_t) (1 + unit_rand_below(255));
		}
		else
		{
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t) unit_rng_next();
			if (len > 1)
				buf[0] = KPI_STATE_VERSION;
		}
		kpi_reader_init(&r, buf, len);
		st = offhours_decode(&r, &back, NULL);
		if (st == KPI_OK)
			st = kpi_reader_finish(&r, NULL);
		if (st == KPI_OK)
		{
			accepted++;
			/* whatever is accepted is a valid state: it round-trips */
			if (!text_round_trip(&back) || !binary_round_trip(&back))
				truncated_ok = false;
		}
	}
	CHECK(truncated_ok, "random and damaged bytes: refused, or a valid state");
	printf("#   %d of 100000 random byte strings were valid states\n", accepted);
}

static void
test_text_garbage(void)
{
	static const char *const tokens[] = {
		"(", ")", "v:1", "v:2", ",", "n:", "kind:", "rows", "weighted", "off:", "weight:",
		"max_scale_count:", "off_weight:", "off_max_scale_count:", "0", "1", "-1", "3",
		"1.50", "9999999999999999999999999999999999999999", " ", "[", "]", ":"
	};
	int			ntokens = (int) (sizeof(tokens) / sizeof(tokens[0]));
	bool		ok = true;

	for (int round = 0; round < 50000; round++)
	{
		char		text[512] = "";
		int			n = 1 + unit_rand_below(16);
		offhours_core s;
		kpi_msg		msg = {{0}};

		for (int k = 0; k < n; k++)
			strcat(text, tokens[unit_rand_below(ntokens)]);
		if (offhours_parse(text, &s, &msg) == KPI_OK)
			ok = ok && text_round_trip(&s);
		else
			ok = ok && msg.text[0] != '\0';
	}
	CHECK(ok, "token soup: refused with a detail, or a state that round-trips");
}

int
main(void)
{
	unit_rng_seed(0x9E3779B97F4A7C15ull);
	test_hand_computed();
	test_kinds();
	test_merge_properties();
	test_remove();
	test_text();
	test_round_trips();
	test_bad_bytes();
	test_text_garbage();
	return unit_done();
}
