/*-------------------------------------------------------------------------
 *
 * test_custset_kpi.c
 *	  Unit tests of what the SQL glue of the customer-set KPIs calls in the
 *	  core: calendar periods (custset_kpi.c), the codecs and merge rules of
 *	  the four SQL state types, and ascending ids appended to a set's body
 *	  (custset_core.c).
 *
 * Every test runs on the strict allocator of unit_alloc.h (no realloc or
 * free of NULL, junk in new bytes, moving reallocs, leak counts), and a
 * last test makes each allocation of a sequence of operations fail in
 * turn.  Expected values come from a day-by-day calendar walk written
 * here, from states and bytes worked out by hand, and from sets built in
 * other orders.
 *
 * IDENTIFICATION
 *	  test/unit/test_custset_kpi.c
 *
 *-------------------------------------------------------------------------
 */
#include "custset_kpi.h"
#include "unit.h"
#include "unit_strict_alloc.h"
#include "unit_decimal.h"

#include <stdlib.h>
#include <string.h>

static const kpi_allocator *const MEM = &unit_strict_allocator;

/* Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_DAY 10957
#define USECS_PER_DAY INT64_C(86400000000)
/* Days in 400 Gregorian years, which repeat the calendar and the weekdays. */
#define DAYS_PER_400_YEARS 146097

static void
release(void *p)
{
	if (p != NULL)
		MEM->free(p, MEM->ctx);
}

/* ------------------------------------------------------------ calendar walk */

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* A date and its day number, walked one day at a time. */
typedef struct walk
{
	int64_t		day;			/* days since 1970-01-01 */
	int64_t		y;
	int			m;
	int			d;
	int			weekday;		/* 0 = Monday */
} walk;

/* January 1st of year y, counting whole years from 1970 one by one. */
static walk
walk_start(int64_t y)
{
	walk		w = {0, y, 1, 1, 3};	/* 1970-01-01 was a Thursday */

	for (int64_t k = y; k < 1970; k++)
		w.day -= is_leap(k) ? 366 : 365;
	for (int64_t k = 1970; k < y; k++)
		w.day += is_leap(k) ? 366 : 365;
	w.weekday = (int) (((w.day + 3) % 7 + 7) % 7);
	return w;
}

static void
walk_next(walk *w)
{
	w->day++;
	w->weekday = (w->weekday + 1) % 7;
	if (++w->d > month_days(w->y, w->m))
	{
		w->d = 1;
		if (++w->m > 12)
		{
			w->m = 1;
			w->y++;
		}
	}
}

/* The day number of y-m-d, walking from January 1st. */
static int64_t
day_of(int64_t y, int m, int d)
{
	walk		w = walk_start(y);

	while (w.m != m || w.d != d)
		walk_next(&w);
	return w.day;
}

/* ------------------------------------------------------------ periods */

/*
 * Every day of 1600-2400 against the walk: each period's index, and each
 * period's first day back from its index.
 */
static void
test_periods_walk(void)
{
	walk		w = walk_start(1600);
	int64_t		first = w.day;
	int32_t		week = custset_period_of_day(CUSTSET_PERIOD_WEEK, (int32_t) w.day);
	bool		days_ok = true,
				weeks_ok = true,
				months_ok = true,
				quarters_ok = true,
				years_ok = true,
				firsts_ok = true;

	for (; w.y < 2400; walk_next(&w))
	{
		int32_t		day = (int32_t) w.day;
		int32_t		month = (int32_t) (w.y * 12 + w.m - 1);
		int32_t		quarter = (int32_t) (w.y * 4 + (w.m - 1) / 3);

		if (w.weekday == 0 && day != first)
			week++;
		days_ok &= custset_period_of_day(CUSTSET_PERIOD_DAY, day) == day &&
			custset_period_first_day(CUSTSET_PERIOD_DAY, day) == day;
		weeks_ok &= custset_period_of_day(CUSTSET_PERIOD_WEEK, day) == week;
		months_ok &= custset_period_of_day(CUSTSET_PERIOD_MONTH, day) == month;
		quarters_ok &= custset_period_of_day(CUSTSET_PERIOD_QUARTER, day) == quarter;
		years_ok &= custset_period_of_day(CUSTSET_PERIOD_YEAR, day) == w.y;
		if (w.weekday == 0)
			firsts_ok &= custset_period_first_day(CUSTSET_PERIOD_WEEK, week) == day;
		if (w.d == 1)
			firsts_ok &= custset_period_first_day(CUSTSET_PERIOD_MONTH, month) == day;
		if (w.d == 1 && (w.m - 1) % 3 == 0)
			firsts_ok &= custset_period_first_day(CUSTSET_PERIOD_QUARTER, quarter) == day;
		if (w.d == 1 && w.m == 1)
			firsts_ok &= custset_period_first_day(CUSTSET_PERIOD_YEAR, (int32_t) w.y) == day;
	}
	CHECK(days_ok, "periods: a day's index is its day number, 1600-2400");
	CHECK(weeks_ok, "periods: weeks change on Mondays, one index a week, 1600-2400");
	CHECK(months_ok, "periods: month index = year * 12 + month - 1, 1600-2400");
	CHECK(quarters_ok, "periods: quarter index = year * 4 + quarter - 1, 1600-2400");
	CHECK(years_ok, "periods: year index = the year, 1600-2400");
	CHECK(firsts_ok, "periods: each period's first day comes back from its index");
}

/*
 * The whole range of PostgreSQL dates (4714 BC to 294276 AD) through the
 * 400-year cycle: a day shifted by k cycles is in year + 400 k, same month
 * and weekday.
 */
static void
test_periods_range(void)
{
	walk		base = walk_start(1600);
	walk	   *days = MEM->alloc(DAYS_PER_400_YEARS * sizeof(walk), MEM->ctx);
	bool		ok = true;

	for (int i = 0; i < DAYS_PER_400_YEARS; i++, walk_next(&base))
		days[i] = base;
	CHECK(base.y == 2000 && base.m == 1 && base.d == 1, "periods: 400 years are 146097 days");
	for (int k = -16; k <= 731; k++)
		for (int n = 0; n < 200; n++)
		{
			const walk *w = &days[unit_rand_below(DAYS_PER_400_YEARS)];
			int64_t		y = w->y + 400 * k;
			int32_t		day = (int32_t) (w->day + (int64_t) DAYS_PER_400_YEARS * k);
			int32_t		month = (int32_t) (y * 12 + w->m - 1);

			ok &= custset_period_of_day(CUSTSET_PERIOD_YEAR, day) == y &&
				custset_period_of_day(CUSTSET_PERIOD_MONTH, day) == month &&
				custset_period_of_day(CUSTSET_PERIOD_QUARTER, day) == (int32_t) (y * 4 + (w->m - 1) / 3) &&
				custset_period_first_day(CUSTSET_PERIOD_MONTH, month) == day - (w->d - 1) &&
				custset_period_first_day(CUSTSET_PERIOD_WEEK,
										 custset_period_of_day(CUSTSET_PERIOD_WEEK, day)) == day - w->weekday;
		}
	release(days);
	CHECK(ok, "periods: years -4800 to 294000 by the 400-year cycle");
	/* the first and last dates of PostgreSQL: 4714-11-24 BC (year -4713) and 294276-12-31 */
	{
		int32_t		first = (int32_t) (day_of(1687, 11, 24) - (int64_t) DAYS_PER_400_YEARS * 16);
		int32_t		last = (int32_t) (day_of(1876, 12, 31) + (int64_t) DAYS_PER_400_YEARS * 731);

		CHECK(first == -2440588 && custset_period_of_day(CUSTSET_PERIOD_YEAR, first) == -4713 &&
			  custset_period_of_day(CUSTSET_PERIOD_MONTH, first) == -4713 * 12 + 10,
			  "periods: 4714-11-24 BC is day -2440588, year -4713 (1 BC is year 0), November");
		CHECK(custset_period_of_day(CUSTSET_PERIOD_YEAR, last) == 294276 &&
			  custset_period_of_day(CUSTSET_PERIOD_QUARTER, last) == 294276 * 4 + 3 &&
			  custset_period_first_day(CUSTSET_PERIOD_YEAR, 294277) == last + 1,
			  "periods: 294276-12-31 is the last day of year 294276");
	}
}

/* ISO weeks: Monday to Sunday, counted from Monday 1969-12-29. */
static void
test_periods_weeks(void)
{
	int32_t		sun = (int32_t) day_of(2025, 1, 5);
	int32_t		mon = (int32_t) day_of(2025, 1, 6);
	int32_t		w = custset_period_of_day(CUSTSET_PERIOD_WEEK, sun);

	CHECK(custset_period_of_day(CUSTSET_PERIOD_WEEK, (int32_t) day_of(1969, 12, 29)) == 0 &&
		  custset_period_of_day(CUSTSET_PERIOD_WEEK, (int32_t) day_of(1970, 1, 4)) == 0 &&
		  custset_period_of_day(CUSTSET_PERIOD_WEEK, (int32_t) day_of(1970, 1, 5)) == 1 &&
		  custset_period_of_day(CUSTSET_PERIOD_WEEK, (int32_t) day_of(1969, 12, 28)) == -1,
		  "weeks: Monday 1969-12-29 starts week 0, Sunday 1969-12-28 ends week -1");
	CHECK(custset_period_of_day(CUSTSET_PERIOD_WEEK, mon) == w + 1 &&
		  custset_period_of_day(CUSTSET_PERIOD_WEEK, (int32_t) day_of(2024, 12, 30)) == w &&
		  custset_period_first_day(CUSTSET_PERIOD_WEEK, w) == day_of(2024, 12, 30),
		  "weeks: Sunday 2025-01-05 ends the week of Monday 2024-12-30 (ISO 2025-W01)");
}

/* Instants in microseconds: UTC days, floor for negative instants, bounds. */
static void
test_periods_usecs(void)
{
	int64_t		lo,
				hi;
	int32_t		i;
	bool		ok = true;

	/* 1999-12-31 23:59:59.999999 UTC, one microsecond before PostgreSQL's epoch */
	i = custset_period_of_usecs(CUSTSET_PERIOD_DAY, -1, PG_EPOCH_DAY, &lo, &hi);
	CHECK(i == PG_EPOCH_DAY - 1 && lo == -USECS_PER_DAY && hi == 0,
		  "instants: the last microsecond of 1999 is on day 10956, whose bounds are [-1 day, 0)");
	i = custset_period_of_usecs(CUSTSET_PERIOD_MONTH, -1, PG_EPOCH_DAY, &lo, &hi);
	CHECK(i == 1999 * 12 + 11 && lo == -31 * USECS_PER_DAY && hi == 0,
		  "instants: ... in December 1999, [-31 days, 0)");
	i = custset_period_of_usecs(CUSTSET_PERIOD_MONTH, 0, PG_EPOCH_DAY, &lo, &hi);
	CHECK(i == 2000 * 12 && lo == 0 && hi == 31 * USECS_PER_DAY,
		  "instants: 2000-01-01 00:00 UTC starts January 2000");
	i = custset_period_of_usecs(CUSTSET_PERIOD_DAY, -USECS_PER_DAY, PG_EPOCH_DAY, &lo, &hi);
	CHECK(i == PG_EPOCH_DAY - 1 && lo == -USECS_PER_DAY,
		  "instants: midnight starts its own day, before the epoch too");
	i = custset_period_of_usecs(CUSTSET_PERIOD_YEAR, 0, 0, &lo, &hi);
	CHECK(i == 1970 && lo == 0 && hi == 365 * USECS_PER_DAY,
		  "instants: counted from 1970 (epoch day 0), 1970 is one year of 365 days");
	i = custset_period_of_usecs(CUSTSET_PERIOD_WEEK, (day_of(2025, 1, 8) - PG_EPOCH_DAY) * USECS_PER_DAY + 1,
								PG_EPOCH_DAY, &lo, &hi);
	CHECK(lo == (day_of(2025, 1, 6) - PG_EPOCH_DAY) * USECS_PER_DAY && hi - lo == 7 * USECS_PER_DAY,
		  "instants: a Wednesday's week is Monday 00:00 to the next Monday 00:00");
	/* the last microsecond PostgreSQL takes: 294276-12-31 23:59:59.999999 */
	{
		int64_t		end = (day_of(1877, 1, 1) + (int64_t) DAYS_PER_400_YEARS * 731 - PG_EPOCH_DAY) *
			USECS_PER_DAY;

		i = custset_period_of_usecs(CUSTSET_PERIOD_YEAR, end - 1, PG_EPOCH_DAY, &lo, &hi);
		CHECK(i == 294276 && hi == end && lo < hi,
			  "instants: the last PostgreSQL timestamp is in year 294276, which ends in range");
		i = custset_period_of_usecs(CUSTSET_PERIOD_YEAR, INT64_MAX - 1, PG_EPOCH_DAY, &lo, &hi);
		CHECK(hi == INT64_MAX && lo <= INT64_MAX - 1, "instants: a bound past int64 is clamped");
		i = custset_period_of_usecs(CUSTSET_PERIOD_YEAR, INT64_MIN + 1, PG_EPOCH_DAY, &lo, &hi);
		CHECK(lo == INT64_MIN && hi > INT64_MIN + 1, "instants: ... at both ends");
	}
	/* random instants: inside their bounds, which belong to the same period */
	for (int n = 0; n < 20000; n++)
	{
		custset_period p = (custset_period) (CUSTSET_PERIOD_DAY + unit_rand_below(5));
		/* up to 100 million days either side of the epoch */
		int64_t		at = (int64_t) (unit_rng_next() % (uint64_t) (USECS_PER_DAY * 100000000));
		int64_t		lo2,
					hi2;

		if (unit_rng_next() & 1)
			at = -at - 1;
		i = custset_period_of_usecs(p, at, PG_EPOCH_DAY, &lo, &hi);
		ok &= lo <= at && at < hi && lo % USECS_PER_DAY == 0 &&
			custset_period_of_usecs(p, lo, PG_EPOCH_DAY, &lo2, &hi2) == i && lo2 == lo && hi2 == hi &&
			custset_period_of_usecs(p, hi - 1, PG_EPOCH_DAY, &lo2, &hi2) == i &&
			custset_period_of_usecs(p, hi, PG_EPOCH_DAY, &lo2, &hi2) == i + 1 && lo2 == hi;
	}
	CHECK(ok, "instants: random instants lie in [lower, upper) of their period, whose ends agree");
}

static void
test_period_names(void)
{
	custset_period p;
	kpi_msg		msg = {{0}};
	bool		ok = true;

	for (int k = CUSTSET_PERIOD_DAY; k <= CUSTSET_PERIOD_YEAR; k++)
	{
		const char *name = custset_period_name((custset_period) k);

		ok &= custset_period_parse(name, strlen(name), &p, NULL) == KPI_OK && p == (custset_period) k;
	}
	CHECK(ok && strcmp(custset_period_name(CUSTSET_PERIOD_QUARTER), "quarter") == 0,
		  "period names: each name parses back to its period");
	CHECK(custset_period_parse("MONTH", 5, &p, NULL) == KPI_OK && p == CUSTSET_PERIOD_MONTH &&
		  custset_period_parse("Week", 4, &p, NULL) == KPI_OK && p == CUSTSET_PERIOD_WEEK,
		  "period names: any case");
	CHECK(custset_period_parse("months", 6, &p, NULL) == KPI_ERR_PARAM &&
		  custset_period_parse("mon", 3, &p, NULL) == KPI_ERR_PARAM &&
		  custset_period_parse("", 0, &p, &msg) == KPI_ERR_PARAM && msg.text[0] != '\0',
		  "period names: no prefixes, plurals or empty names");
}

/* ------------------------------------------------------------ state codecs */

/* The text form of a state (to release), or NULL. */
static char *
state_text(custset_state which, const custset *s)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, MEM);
	if (custset_state_format(which, s, MEM, &sb, NULL) != KPI_OK || sb.failed)
	{
		release(sb.data);
		return NULL;
	}
	return sb.data;
}

/* The binary form of a state (to release), *len its size; NULL on failure. */
static uint8_t *
state_bytes(custset_state which, const custset *s, size_t *len)
{
	custset    *c = NULL;
	uint8_t    *buf = NULL;
	kpi_writer	w;

	if (custset_compact(s, MEM, &c, NULL) != KPI_OK)
		return NULL;
	*len = custset_state_encoded_size(which, c);
	buf = MEM->alloc(*len, MEM->ctx);
	if (buf == NULL)
	{
		release(c);
		return NULL;
	}
	kpi_writer_init(&w, buf, *len);
	if (custset_state_encode(which, c, &w, NULL) != KPI_OK || w.len != *len)
	{
		release(buf);
		buf = NULL;
	}
	release(c);
	return buf;
}

static kpi_status
state_decode(custset_state which, const uint8_t *buf, size_t len, custset **out)
{
	kpi_reader	r;
	kpi_status	st;

	kpi_reader_init(&r, buf, len);
	st = custset_state_decode(which, &r, MEM, out, NULL);
	if (st == KPI_OK && (st = kpi_reader_finish(&r, NULL)) != KPI_OK)
	{
		release(*out);
		*out = NULL;
	}
	return st;
}

/*
 * A state given by hand as text and bytes: the text reads back as itself,
 * encodes to the bytes, and the bytes decode to the text; built (a state
 * made by the caller from rows), it has the same text and bytes.  Then
 * every truncation of the bytes fails to decode.
 */
static void
check_forms(custset_state which, const char *text, const uint8_t *bytes, size_t nbytes,
			const custset *built, const char *what)
{
	custset    *parsed = NULL;
	custset    *decoded = NULL;
	char	   *t1 = NULL,
			   *t2 = NULL,
			   *t3 = NULL;
	uint8_t    *b1 = NULL,
			   *b2 = NULL;
	size_t		n1 = 0,
				n2 = 0;
	char		label[200];
	bool		trunc_ok = true;

	if (custset_state_parse(which, text, MEM, &parsed, NULL) == KPI_OK)
	{
		t1 = state_text(which, parsed);
		b1 = state_bytes(which, parsed, &n1);
	}
	if (state_decode(which, bytes, nbytes, &decoded) == KPI_OK)
		t2 = state_text(which, decoded);
	if (built != NULL)
	{
		t3 = state_text(which, built);
		b2 = state_bytes(which, built, &n2);
	}
	snprintf(label, sizeof(label), "%s: the text reads back as itself", what);
	CHECK(t1 != NULL && strcmp(t1, text) == 0, label);
	snprintf(label, sizeof(label), "%s: the text encodes to the bytes by hand", what);
	CHECK(b1 != NULL && n1 == nbytes && memcmp(b1, bytes, nbytes) == 0, label);
	snprintf(label, sizeof(label), "%s: the bytes decode to the text", what);
	CHECK(t2 != NULL && strcmp(t2, text) == 0, label);
	if (built != NULL)
	{
		snprintf(label, sizeof(label), "%s: built from rows, the same text and bytes", what);
		CHECK(t3 != NULL && strcmp(t3, text) == 0 && b2 != NULL && n2 == nbytes &&
			  memcmp(b2, bytes, nbytes) == 0, label);
	}
	for (size_t k = 0; k < nbytes; k++)
	{
		custset    *x = NULL;

		if (state_decode(which, bytes, k, &x) == KPI_OK)
		{
			trunc_ok = false;
			release(x);
		}
	}
	snprintf(label, sizeof(label), "%s: every truncation of the bytes is refused", what);
	CHECK(trunc_ok, label);
	release(parsed);
	release(decoded);
	release(t1);
	release(t2);
	release(t3);
	release(b1);
	release(b2);
}

/* Runs a call that may replace *sp; frees the replaced buffer, as nodeAgg does. */
#define STEP(sp, call) \
	do { \
		custset *old_ = *(sp); \
		kpi_status st_ = (call); \
		if (*(sp) != old_) \
			release(old_); \
		ok &= st_ == KPI_OK; \
	} while (0)

static custset *
new_state(custset_state which, custset_type type)
{
	custset    *s = NULL;

	if (custset_state_create(which, type, MEM, &s, NULL) != KPI_OK)
		return NULL;
	return s;
}

static void
test_retention_forms(void)
{
	/* header: version, type 1, kind int8, kind2 none, 3 records, 6 body bytes */
	static const uint8_t bytes[] = {
		1, 1, 1, 0, 0, 0, 0, 3, 0, 0, 0, 6,
		2, 3,					/* customer 1: zigzag 2, both */
		4, 1,					/* customer 5: +4, before */
		4, 2					/* customer 9: +4, after */
	};
	custset    *s = new_state(CUSTSET_STATE_RETENTION, 0);
	int64_t		rows[][2] = {{9, 0}, {1, 1}, {5, 1}, {1, 0}, {9, 0}};
	bool		ok = s != NULL;
	custset_retention r;

	for (int i = 0; ok && i < 5; i++)
	{
		custset_key k = custset_key_int(rows[i][0]);

		STEP(&s, custset_retention_add(&s, &k, rows[i][1] != 0, MEM, NULL));
	}
	CHECK(ok && custset_retention_counts(s, MEM, &r, NULL) == KPI_OK && r.base == 2 &&
		  r.retained == 1 && r.churned == 1 && r.new_customers == 1,
		  "retention state: 1 both, 5 before, 9 after: base 2, retained 1, churned 1, new 1");
	check_forms(CUSTSET_STATE_RETENTION, "(v:1,kind:int8,n:3,customers:[1=both,5=before,9=after])",
				bytes, sizeof(bytes), s, "retention state");
	release(s);
}

static void
test_cohort_forms(void)
{
	/* type 2, kind text, kind2 int8, 3 (customer, period) records, 20 body bytes, then the period */
	static const uint8_t bytes[] = {
		1, 2, 3, 1, 0, 0, 0, 3, 0, 0, 0, 20,
		4, 'a', 'c', 'm', 'e', 0xB2, 0x09,	/* "acme", zigzag(601) = 1202 */
		4, 'a', 'c', 'm', 'e', 2,	/* "acme" again, 603 = 601 + 2 */
		4, 'z', 'e', 't', 'a', 0xB0, 0x09,	/* "zeta", zigzag(600) = 1200 */
		CUSTSET_PERIOD_MONTH
	};
	static const char text[] =
		"(v:1,period:month,set:(kind:text,n:2,customers:[\"acme\"=[601,603],\"zeta\"=[600]]))";
	custset    *s = new_state(CUSTSET_STATE_COHORT, 0);
	const char *names[] = {"zeta", "acme", "acme", "acme"};
	int32_t		periods[] = {600, 603, 601, 603};
	bool		ok = s != NULL;

	CHECK(sizeof(bytes) == 12 + 20 + 1, "cohort state: 20 body bytes by hand");
	custset_cohort_extra_of(s)->period = CUSTSET_PERIOD_MONTH;
	for (int i = 0; ok && i < 4; i++)
	{
		custset_key k = custset_key_text(names[i], 4);

		STEP(&s, custset_cohort_add(&s, &k, periods[i], MEM, NULL));
	}
	check_forms(CUSTSET_STATE_COHORT, text, bytes, sizeof(bytes), ok ? s : NULL, "cohort state");
	release(s);
}

static void
test_repeat_forms(void)
{
	/* type 3 (order count), kind int8: 7 with 2 rows, 8 with 1 */
	static const uint8_t rows_bytes[] = {
		1, 3, 1, 0, 0, 0, 0, 2, 0, 0, 0, 4,
		14, 2,					/* customer 7: zigzag 14, 2 rows */
		1, 1					/* customer 8: +1, 1 row */
	};
	/* type 4 (customer order), kind int8, order kind text: 7 with orders "A1", "B2" */
	static const uint8_t orders_bytes[] = {
		1, 4, 1, 3, 0, 0, 0, 2, 0, 0, 0, 8,
		14, 2, 'A', '1',		/* 7, "A1" */
		0, 2, 'B', '2'			/* 7 again (+0), "B2" */
	};
	custset    *rows = new_state(CUSTSET_STATE_REPEAT, CUSTSET_ORDER_COUNT);
	custset    *orders = new_state(CUSTSET_STATE_REPEAT, CUSTSET_CUSTOMER_ORDER);
	custset_key c7 = custset_key_int(7),
				c8 = custset_key_int(8),
				a1 = custset_key_text("A1", 2),
				b2 = custset_key_text("B2", 2);
	custset_repeat r;
	bool		ok = rows != NULL && orders != NULL;

	STEP(&rows, custset_repeat_add(&rows, &c8, NULL, MEM, NULL));
	STEP(&rows, custset_repeat_add(&rows, &c7, NULL, MEM, NULL));
	STEP(&rows, custset_repeat_add(&rows, &c7, NULL, MEM, NULL));
	STEP(&orders, custset_repeat_add(&orders, &c7, &b2, MEM, NULL));
	STEP(&orders, custset_repeat_add(&orders, &c7, &a1, MEM, NULL));
	STEP(&orders, custset_repeat_add(&orders, &c7, &b2, MEM, NULL));
	CHECK(ok && custset_repeat_counts(rows, MEM, &r, NULL) == KPI_OK && r.customers == 2 &&
		  r.repeat_customers == 1 && r.orders == 3,
		  "repeat state of rows: 2 customers, 1 repeat customer, 3 orders");
	CHECK(custset_repeat_counts(orders, MEM, &r, NULL) == KPI_OK && r.customers == 1 &&
		  r.repeat_customers == 1 && r.orders == 2,
		  "repeat state of orders: the order of 2 lines counts once");
	check_forms(CUSTSET_STATE_REPEAT, "(v:1,kind:int8,n:2,customers:[7=2,8=1])",
				rows_bytes, sizeof(rows_bytes), rows, "repeat state of rows");
	check_forms(CUSTSET_STATE_REPEAT, "(v:1,kind:int8,order_kind:text,n:1,customers:[7=[\"A1\",\"B2\"]])",
				orders_bytes, sizeof(orders_bytes), orders, "repeat state of orders");
	release(rows);
	release(orders);
}

static void
test_aov_lines_forms(void)
{
	/* orders 10 and 11, then the aov_core: numeric, 3 lines, 675 at scale 2 */
	static const uint8_t bytes[] = {
		1, 5, 1, 0, 0, 0, 0, 2, 0, 0, 0, 2,
		20, 1,					/* order 10: zigzag 20; 11: +1 */
		1, 1,					/* aov_core: version, numeric */
		0, 0, 0, 0, 0, 0, 0, 3, /* lines */
		0, 0, 0, 0, 0, 0, 0, 0, /* NaN */
		0, 0, 0, 0, 0, 0, 0, 0, /* +Infinity */
		0, 0, 0, 0, 0, 0, 0, 0, /* -Infinity */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0xA3,	/* sum 675 */
		0, 0, 0, 2,				/* scale 2 */
		0, 0, 0, 0, 0, 0, 0, 2	/* values at scale 2 */
	};
	static const char text[] =
		"(v:1,amounts:(v:1,kind:numeric,n:3,sum:6.75,max_scale_count:2,nan:0,pinf:0,ninf:0),"
		"orders:(kind:int8,n:2,orders:[10,11]))";
	custset    *s = new_state(CUSTSET_STATE_AOV_LINES, 0);
	const char *amounts[] = {"1.50", "2.25", "3"};
	int64_t		order_ids[] = {10, 10, 11};
	bool		ok = s != NULL;
	int64_t		n = 0;

	for (int i = 0; ok && i < 3; i++)
	{
		unit_decimal d;
		custset_key k = custset_key_int(order_ids[i]);

		ok &= aov_add_decimal(custset_aov_of(s), unit_make_decimal(&d, amounts[i]), NULL) == KPI_OK;
		STEP(&s, custset_orders_add(&s, &k, MEM, NULL));
	}
	CHECK(ok && custset_orders_count(s, MEM, &n, NULL) == KPI_OK && n == 2 &&
		  aov_count(custset_aov_of(s)) == 3, "aov_lines state: 3 lines of 2 orders");
	check_forms(CUSTSET_STATE_AOV_LINES, text, bytes, sizeof(bytes), s, "aov_lines state");
	release(s);
}

/* Texts and bytes that must be refused, with the status they get. */
static void
test_state_errors(void)
{
	static const struct
	{
		custset_state which;
		const char *text;
		kpi_status	want;
		const char *what;
	}			texts[] = {
		{CUSTSET_STATE_COHORT, "(v:1,period:none,set:(kind:int8,n:1,customers:[7=[1]]))", KPI_ERR_TEXT,
		"a cohort state with rows needs a period"},
		{CUSTSET_STATE_COHORT, "(v:1,period:month,set:(kind:none,n:0,customers:[]))", KPI_ERR_TEXT,
		"an empty cohort state has period none"},
		{CUSTSET_STATE_COHORT, "(v:1,period:Month,set:(kind:int8,n:1,customers:[7=[1]]))", KPI_ERR_TEXT,
		"period names are written in lower case"},
		{CUSTSET_STATE_COHORT, "(v:1,set:(kind:int8,n:1,customers:[7=[1]]),period:month)", KPI_ERR_TEXT,
		"the period comes first"},
		{CUSTSET_STATE_COHORT, "(v:1,period:month)", KPI_ERR_TEXT, "the set is not optional"},
		{CUSTSET_STATE_COHORT, "(v:1,period:month,set:(kind:int8,n:1,customers:[7=[2147483648]]))",
		KPI_ERR_TEXT, "period indexes are int32"},
		{CUSTSET_STATE_AOV_LINES,
			"(v:1,amounts:(v:1,kind:numeric,n:1,sum:6.75,max_scale_count:1,nan:0,pinf:0,ninf:0),"
			"orders:(kind:int8,n:2,orders:[10,11]))", KPI_ERR_TEXT, "an aov_lines state has a line per order at least"},
		{CUSTSET_STATE_AOV_LINES,
			"(v:1,amounts:(v:1,kind:float8,n:1,sum:1,sum_lo:0,exact:true,nan:0,pinf:0,ninf:0),"
			"orders:(kind:int8,n:1,orders:[10]))", KPI_ERR_TEXT, "line amounts are numeric"},
		{CUSTSET_STATE_AOV_LINES, "(v:1,amounts:(v:1,n:0),orders:(kind:int8,n:1,orders:[10]))", KPI_ERR_TEXT,
		"orders without lines"},
		{CUSTSET_STATE_REPEAT, "(v:1,kind:int8,n:1,customers:[7=0])", KPI_ERR_TEXT, "row counts start at 1"},
		{CUSTSET_STATE_RETENTION, "(v:2,kind:int8,n:1,customers:[7=both])", KPI_ERR_VERSION,
		"another version"},
	};
	static const uint8_t cohort_no_period[] = {1, 2, 1, 1, 0, 0, 0, 1, 0, 0, 0, 2, 14, 2};
	static const uint8_t cohort_bad_period[] = {1, 2, 1, 1, 0, 0, 0, 1, 0, 0, 0, 2, 14, 2, 6};
	static const uint8_t cohort_none_period[] = {1, 2, 1, 1, 0, 0, 0, 1, 0, 0, 0, 2, 14, 2, 0};
	static const uint8_t retention_as_cohort[] = {1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 2, 2, 3, 3};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		custset    *s = NULL;
		kpi_msg		msg = {{0}};
		kpi_status	st = custset_state_parse(texts[i].which, texts[i].text, MEM, &s, &msg);
		char		label[160];

		snprintf(label, sizeof(label), "state text refused: %s", texts[i].what);
		CHECK(st == texts[i].want && s == NULL && msg.text[0] != '\0', label);
		if (st == KPI_OK)
			release(s);
	}
	{
		custset    *s = NULL;

		CHECK(state_decode(CUSTSET_STATE_COHORT, cohort_no_period, sizeof(cohort_no_period), &s) == KPI_ERR_BINARY &&
			  state_decode(CUSTSET_STATE_COHORT, cohort_bad_period, sizeof(cohort_bad_period), &s) == KPI_ERR_BINARY &&
			  state_decode(CUSTSET_STATE_COHORT, cohort_none_period, sizeof(cohort_none_period), &s) == KPI_ERR_BINARY &&
			  state_decode(CUSTSET_STATE_COHORT, retention_as_cohort, sizeof(retention_as_cohort), &s) == KPI_ERR_BINARY,
			  "state bytes refused: a cohort's missing, unknown or none period; another state's bytes");
		CHECK(state_decode(CUSTSET_STATE_RETENTION, retention_as_cohort, sizeof(retention_as_cohort), &s) == KPI_ERR_BINARY &&
			  state_decode(CUSTSET_STATE_RETENTION, retention_as_cohort, sizeof(retention_as_cohort) - 1, &s) == KPI_OK,
			  "state bytes refused: a byte after a retention state; without it, it reads");
		release(s);
	}
}

/*
 * Random mutations of each state's bytes and text: refused, or read as a
 * state whose forms read back as themselves; never a crash or a leak.
 */
static void
test_state_garbage(void)
{
	static const custset_state which[] = {
		CUSTSET_STATE_RETENTION, CUSTSET_STATE_COHORT, CUSTSET_STATE_REPEAT, CUSTSET_STATE_AOV_LINES
	};
	static const char *const texts[] = {
		"(v:1,kind:int8,n:3,customers:[1=both,5=before,9=after])",
		"(v:1,period:week,set:(kind:uuid,n:1,customers:[0f0e0d0c-0b0a-0908-0706-050403020100=[-3,7]]))",
		"(v:1,kind:text,order_kind:int8,n:2,customers:[\"a\"=[1,2],\"b\"=[-5]])",
		"(v:1,amounts:(v:1,kind:numeric,n:4,sum:-1.5,max_scale_count:1,nan:1,pinf:0,ninf:0),"
		"orders:(kind:hash,n:2,orders:[-9,12]))",
	};
	bool		ok = true;
	int			accepted = 0;

	for (int t = 0; t < 4; t++)
	{
		custset    *s = NULL;
		uint8_t    *bytes;
		size_t		len = 0;

		if (custset_state_parse(which[t], texts[t], MEM, &s, NULL) != KPI_OK)
		{
			ok = false;
			continue;
		}
		bytes = state_bytes(which[t], s, &len);
		release(s);
		for (int n = 0; n < 1500 && bytes != NULL; n++)
		{
			uint8_t    *b = MEM->alloc(len, MEM->ctx);
			char	   *x = MEM->alloc(strlen(texts[t]) + 1, MEM->ctx);
			custset    *got = NULL;

			memcpy(b, bytes, len);
			strcpy(x, texts[t]);
			for (int k = 1 + unit_rand_below(3); k > 0; k--)
			{
				b[unit_rand_below((int) len)] ^= (uint8_t) (1 + unit_rand_below(255));
				x[unit_rand_below((int) strlen(x))] = "0123456789,:[]()=\"-abcfnv"[unit_rand_below(25)];
			}
			if (state_decode(which[t], b, len, &got) == KPI_OK)
			{
				char	   *t1 = state_text(which[t], got);
				custset    *again = NULL;
				char	   *t2 = NULL;

				accepted++;
				if (t1 != NULL && custset_state_parse(which[t], t1, MEM, &again, NULL) == KPI_OK)
					t2 = state_text(which[t], again);
				ok &= t1 != NULL && t2 != NULL && strcmp(t1, t2) == 0;
				release(t1);
				release(t2);
				release(again);
				release(got);
			}
			if (custset_state_parse(which[t], x, MEM, &got, NULL) == KPI_OK)
			{
				char	   *t1 = state_text(which[t], got);

				ok &= t1 != NULL;
				release(t1);
				release(got);
			}
			release(b);
			release(x);
		}
		release(bytes);
	}
	CHECK(ok, "state garbage: mutated bytes and text are refused or read back consistently");
	printf("# state garbage: %d of 6000 mutated encodings were still valid states\n", accepted);
}

/*
 * Merges src into *dst (freeing the buffer it replaces) and checks the
 * text of the result.
 */
static void
check_merged(custset_state which, custset **dst, const custset *src, const char *want,
			 const char *what)
{
	custset    *old = *dst;
	kpi_status	st = custset_state_merge(which, dst, src, MEM, NULL);
	char	   *t;

	if (*dst != old)
		release(old);
	t = st == KPI_OK ? state_text(which, *dst) : NULL;
	CHECK(t != NULL && strcmp(t, want) == 0, what);
	release(t);
}

/* The merge rules of custset_state_merge beyond the set union. */
static void
test_state_merge(void)
{
	custset    *month = NULL,
			   *week = NULL,
			   *empty = new_state(CUSTSET_STATE_COHORT, 0);
	custset    *rows = NULL,
			   *orders = NULL,
			   *empty_rows = new_state(CUSTSET_STATE_REPEAT, CUSTSET_ORDER_COUNT);
	custset    *lines_a = NULL,
			   *lines_b = NULL;
	bool		ok = true;

	ok &= custset_state_parse(CUSTSET_STATE_COHORT, "(v:1,period:month,set:(kind:int8,n:1,customers:[7=[24300]]))",
							  MEM, &month, NULL) == KPI_OK;
	ok &= custset_state_parse(CUSTSET_STATE_COHORT, "(v:1,period:week,set:(kind:int8,n:1,customers:[7=[2900]]))",
							  MEM, &week, NULL) == KPI_OK;
	ok &= custset_state_parse(CUSTSET_STATE_REPEAT, "(v:1,kind:int8,n:1,customers:[7=3])",
							  MEM, &rows, NULL) == KPI_OK;
	ok &= custset_state_parse(CUSTSET_STATE_REPEAT, "(v:1,kind:int8,order_kind:int8,n:1,customers:[7=[1,2]])",
							  MEM, &orders, NULL) == KPI_OK;
	ok &= custset_state_parse(CUSTSET_STATE_AOV_LINES,
							  "(v:1,amounts:(v:1,kind:numeric,n:2,sum:3.5,max_scale_count:1,nan:0,pinf:0,ninf:0),"
							  "orders:(kind:int8,n:1,orders:[10]))", MEM, &lines_a, NULL) == KPI_OK;
	ok &= custset_state_parse(CUSTSET_STATE_AOV_LINES,
							  "(v:1,amounts:(v:1,kind:numeric,n:1,sum:0.25,max_scale_count:1,nan:0,pinf:0,ninf:0),"
							  "orders:(kind:int8,n:1,orders:[10]))", MEM, &lines_b, NULL) == KPI_OK;
	CHECK(ok && empty != NULL && empty_rows != NULL, "state merge: the states parse");
	if (!ok || empty == NULL || empty_rows == NULL)
		return;

	CHECK(custset_state_merge(CUSTSET_STATE_COHORT, &month, week, MEM, NULL) == KPI_ERR_MISMATCH,
		  "state merge: cohorts by month and by week do not combine");
	check_merged(CUSTSET_STATE_COHORT, &empty, week,
				 "(v:1,period:week,set:(kind:int8,n:1,customers:[7=[2900]]))",
				 "state merge: an empty cohort state takes the other's period");
	CHECK(custset_state_merge(CUSTSET_STATE_REPEAT, &rows, orders, MEM, NULL) == KPI_ERR_MISMATCH,
		  "state merge: rows per customer and orders per customer do not combine");
	check_merged(CUSTSET_STATE_REPEAT, &empty_rows, orders,
				 "(v:1,kind:int8,order_kind:int8,n:1,customers:[7=[1,2]])",
				 "state merge: an empty repeat state takes the other's set type");
	check_merged(CUSTSET_STATE_AOV_LINES, &lines_a, lines_b,
				 "(v:1,amounts:(v:1,kind:numeric,n:3,sum:3.75,max_scale_count:1,nan:0,pinf:0,ninf:0),"
				 "orders:(kind:int8,n:1,orders:[10]))",
				 "state merge: line amounts add up, their orders unite");
	release(month);
	release(week);
	release(empty);
	release(rows);
	release(orders);
	release(empty_rows);
	release(lines_a);
	release(lines_b);
}

/* ------------------------------------------------------------ ascending ids */

/* A compact copy (to release) of s. */
static custset *
compact_of(const custset *s)
{
	custset    *c = NULL;

	return custset_compact(s, MEM, &c, NULL) == KPI_OK ? c : NULL;
}

static bool
same_compact(const custset *a, const custset *b)
{
	custset    *x = compact_of(a);
	custset    *y = compact_of(b);
	bool		same = x != NULL && y != NULL && x->total_size == y->total_size &&
		memcmp(x, y, x->total_size) == 0;

	release(x);
	release(y);
	return same;
}

/*
 * Order ids that grow, as order lines come (several lines an order): they
 * go to the body, never to the hash table; the order of the line before
 * changes nothing; and the set equals one built in random order.
 */
static void
test_ascending_orders(void)
{
	enum
	{
		NLINES = 60000
	};
	int64_t    *ids = MEM->alloc(NLINES * sizeof(int64_t), MEM->ctx);
	custset    *asc = NULL,
			   *shuffled = NULL,
			   *c;
	bool		ok = true,
				table_empty = true,
				repeat_free = true;
	int64_t		id = -1000,
				count = 0;
	size_t		distinct = 0;

	ok &= custset_create(CUSTSET_ORDERS, 0, MEM, &asc, NULL) == KPI_OK;
	ok &= custset_create(CUSTSET_ORDERS, 0, MEM, &shuffled, NULL) == KPI_OK;
	for (size_t i = 0; i < NLINES; i++)
	{
		/* 1 to 4 lines an order; ids from -1000 up, a gap now and then */
		if (i == 0 || unit_rand_below(3) == 0)
		{
			id += unit_rand_below(20) == 0 ? 1 + unit_rand_below(100000) : 1;
			distinct++;
		}
		ids[i] = id;
	}
	for (size_t i = 0; ok && i < NLINES; i++)
	{
		custset_key k = custset_key_int(ids[i]);
		uint32_t	before = asc->body_size;
		bool		same_id = i > 0 && ids[i] == ids[i - 1];
		bool		has_body = asc->nrecords > 0;

		STEP(&asc, custset_orders_add(&asc, &k, MEM, NULL));
		/* the first ids fill the table up to the first consolidation */
		if (has_body)
			table_empty &= custset_all_in_body(asc);
		if (same_id)
			repeat_free &= asc->body_size == before;
	}
	CHECK(ok && table_empty && asc->nrecords > 0,
		  "ascending ids: once the body has ids, every new order id is appended to it");
	CHECK(repeat_free && asc->nrecords == distinct,
		  "ascending ids: the order of the line before adds nothing");
	CHECK(custset_orders_count(asc, MEM, &count, NULL) == KPI_OK && count == (int64_t) distinct,
		  "ascending ids: the count is the body's record count");
	c = compact_of(asc);
	CHECK(c != NULL && c->body_size < distinct * 2 + 8,
		  "ascending ids: about a byte per order when ids are mostly consecutive");
	release(c);
	for (size_t i = NLINES; i > 1; i--)
	{
		size_t		j = (size_t) unit_rand_below((int) i);
		int64_t		t = ids[i - 1];

		ids[i - 1] = ids[j];
		ids[j] = t;
	}
	for (size_t i = 0; ok && i < NLINES; i++)
	{
		custset_key k = custset_key_int(ids[i]);

		STEP(&shuffled, custset_orders_add(&shuffled, &k, MEM, NULL));
	}
	CHECK(ok && same_compact(asc, shuffled), "ascending ids: the same set, byte for byte, as in random order");
	release(asc);
	release(shuffled);
	release(ids);
}

/*
 * Ascending ids mixed with others (late lines, new customers at the end of
 * a retention set): appends and table records meet in one set, which
 * equals the set built in sorted order; extreme ids included.
 */
typedef struct keyed_row
{
	int64_t		key;
	uint64_t	payload;
	bool		ascending;		/* larger than every key before it */
} keyed_row;

static int
keyed_row_cmp(const void *a, const void *b)
{
	const keyed_row *x = a;
	const keyed_row *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

/*
 * Ascending ids mixed with others (late lines, new customers at the end of
 * a retention set): appends and table records meet in one set, which
 * equals the set built in key order; extreme ids included.
 */
static void
test_ascending_mixed(void)
{
	static const custset_type types[] = {CUSTSET_ORDERS, CUSTSET_RETENTION, CUSTSET_ORDER_COUNT};
	enum
	{
		N = 20000
	};
	bool		ok = true,
				same = true,
				appended = true;

	for (int t = 0; t < 3; t++)
	{
		custset    *mixed = NULL,
				   *sorted = NULL;
		keyed_row  *rows = MEM->alloc(N * sizeof(keyed_row), MEM->ctx);
		int64_t		next = INT64_MIN;

		ok &= custset_create(types[t], 0, MEM, &mixed, NULL) == KPI_OK;
		ok &= custset_create(types[t], 0, MEM, &sorted, NULL) == KPI_OK;
		for (size_t i = 0; i < N; i++)
		{
			/* mostly the next ascending id, else one from the past */
			rows[i].ascending = i == N - 1 || i == 0 || unit_rand_below(4) != 0;
			if (i == N - 1)
				rows[i].key = INT64_MAX;
			else if (!rows[i].ascending)
				rows[i].key = rows[unit_rand_below((int) i)].key + unit_rand_below(2);
			else
			{
				rows[i].key = next;
				next += 1 + unit_rand_below(1 << 20);
			}
			rows[i].payload = types[t] == CUSTSET_RETENTION ? (uint64_t) (1 + unit_rand_below(2)) :
				types[t] == CUSTSET_ORDER_COUNT ? 1 : 0;
		}
		for (size_t i = 0; ok && i < N; i++)
		{
			custset_key k = custset_key_int(rows[i].key);
			/* records in the table or parked for it (see "pending") */
			uint32_t	table_records = mixed->nappend + mixed->pending;
			bool		has_body = mixed->nrecords > 0;

			STEP(&mixed, custset_add(&mixed, &k, NULL, rows[i].payload, MEM, NULL));

			/*
			 * with a body, a key above every key so far never goes to the
			 * hash table: the add may only move a parked record into it
			 */
			if (has_body && rows[i].ascending &&
				mixed->nappend + mixed->pending > table_records)
				appended = false;
		}
		qsort(rows, N, sizeof(keyed_row), keyed_row_cmp);
		for (size_t i = 0; ok && i < N; i++)
		{
			custset_key k = custset_key_int(rows[i].key);

			STEP(&sorted, custset_add(&sorted, &k, NULL, rows[i].payload, MEM, NULL));
		}
		same &= ok && same_compact(mixed, sorted);
		release(mixed);
		release(sorted);
		release(rows);
	}
	CHECK(ok, "ascending ids mixed with late ones: every add succeeds");
	CHECK(appended, "ascending ids mixed with late ones: ids above all others go to the body");
	CHECK(same, "ascending ids mixed with late ones: the set equals the one built in key order "
		  "(orders, retention flags, row counts; INT64_MIN to INT64_MAX)");
}

/*
 * Order lines read by a scan that starts in the middle of the table and
 * wraps around (PostgreSQL's synchronized scans), or in a few ascending
 * stretches: the ids of each stretch after the first go to the run, not
 * to the table; the set, its count and its union with another such set
 * equal the sets built in order.
 */
static void
test_ascending_runs(void)
{
	enum
	{
		NORDERS = 30000
	};
	int64_t    *lines = MEM->alloc(NORDERS * 4 * sizeof(int64_t), MEM->ctx);
	custset    *sets[2] = {NULL, NULL},
			   *sorted = NULL;
	bool		ok = true,
				no_table = true,
				ran = false,
				run_kept = true,
				counts_ok = true;
	size_t		n = 0;
	uint32_t	run_records = 0;

	/* orders 1..NORDERS, 1 to 4 lines each */
	for (int64_t id = 1; id <= NORDERS; id++)
		for (int k = 1 + unit_rand_below(4); k > 0; k--)
			lines[n++] = id;
	for (int v = 0; v < 2; v++)
	{
		/* v = 0: the scan starts at 40 %; v = 1: stretches of 10 % in a shuffled order */
		uint8_t    *seen = MEM->alloc(NORDERS + 1, MEM->ctx);
		int64_t		distinct = 0;
		int			nstretch = v == 0 ? 2 : 10;

		memset(seen, 0, NORDERS + 1);
		ok &= custset_create(CUSTSET_ORDERS, 0, MEM, &sets[v], NULL) == KPI_OK;
		for (int i = 0; ok && i < nstretch; i++)
		{
			size_t		from = v == 0 ? (i == 0 ? n * 2 / 5 : 0) : n * (size_t) ((i * 7) % 10) / 10;
			size_t		to = v == 0 ? (i == 0 ? n : n * 2 / 5) : from + n / 10;

			for (size_t j = from; ok && j < to; j++)
			{
				custset_key k = custset_key_int(lines[j]);
				int64_t		count = 0;

				STEP(&sets[v], custset_orders_add(&sets[v], &k, MEM, NULL));
				/* v = 0: the run, once open, grows with the buffer and is never merged */
				if (v == 0 && ran)
					run_kept &= sets[v]->run_nrecords >= run_records;
				run_records = sets[v]->run_nrecords;
				ran |= sets[v]->run_size > 0;
				if (v == 0)
					no_table &= sets[v]->nappend == 0;
				distinct += !seen[lines[j]];
				seen[lines[j]] = 1;
				if (j % 4001 == 0)
					counts_ok &= custset_orders_count(sets[v], MEM, &count, NULL) == KPI_OK &&
						count == distinct;
			}
		}
		release(seen);
	}
	ok &= custset_create(CUSTSET_ORDERS, 0, MEM, &sorted, NULL) == KPI_OK;
	for (size_t j = 0; ok && j < n; j++)
	{
		custset_key k = custset_key_int(lines[j]);

		STEP(&sorted, custset_orders_add(&sorted, &k, MEM, NULL));
	}
	CHECK(ok && ran && no_table, "runs: a scan that wraps around appends its second stretch to a run");
	CHECK(ok && run_kept, "runs: the buffer grows without merging the run into the body");
	CHECK(counts_ok, "runs: the count of distinct orders is right at every step");
	CHECK(same_compact(sets[0], sorted) && same_compact(sets[1], sorted),
		  "runs: the sets equal the one built in order, byte for byte");
	STEP(&sets[0], custset_merge(&sets[0], sets[1], MEM, NULL));
	CHECK(ok && same_compact(sets[0], sorted), "runs: the union of two sets with runs");
	release(sets[0]);
	release(sets[1]);
	release(sorted);
	release(lines);
}

/* ------------------------------------------------------------ out of memory */

/*
 * A sequence of operations over every state type: states from rows of
 * growing and random ids, merged, compacted, counted, written and read
 * back.  Returns the first failed status (all frees done either way).
 */
static kpi_status
memory_workout(void)
{
	static const custset_state which[] = {
		CUSTSET_STATE_RETENTION, CUSTSET_STATE_COHORT, CUSTSET_STATE_REPEAT, CUSTSET_STATE_AOV_LINES
	};
	kpi_status	result = KPI_OK;

	for (int t = 0; t < 4 && result == KPI_OK; t++)
	{
		custset    *a = NULL,
				   *b = NULL,
				   *back = NULL;
		kpi_strbuf	sb;
		kpi_status	st = custset_state_create(which[t], CUSTSET_ORDER_COUNT, MEM, &a, NULL);

		if (st == KPI_OK)
			st = custset_state_create(which[t], CUSTSET_ORDER_COUNT, MEM, &b, NULL);
		for (int i = 0; st == KPI_OK && i < 600; i++)
		{
			custset   **s = i % 3 == 0 ? &b : &a;
			custset    *old = *s;
			char		name[16];
			custset_key k = custset_key_int(i % 2 == 0 ? i : (i * 7919) % 401);
			custset_key txt;

			snprintf(name, sizeof(name), "c%d", (i * 31) % 97);
			txt = custset_key_text(name, strlen(name));
			switch (which[t])
			{
				case CUSTSET_STATE_RETENTION:
					st = custset_retention_add(s, &k, i % 5 == 0, MEM, NULL);
					break;
				case CUSTSET_STATE_COHORT:
					custset_cohort_extra_of(*s)->period = CUSTSET_PERIOD_DAY;
					st = custset_cohort_add(s, &txt, i % 13, MEM, NULL);
					break;
				case CUSTSET_STATE_REPEAT:
					st = custset_repeat_add(s, &k, NULL, MEM, NULL);
					break;
				case CUSTSET_STATE_AOV_LINES:
					st = aov_add_int64(custset_aov_of(*s), i, NULL);
					if (st == KPI_OK)
						st = custset_orders_add(s, &k, MEM, NULL);
					break;
			}
			if (*s != old)
				release(old);
		}
		if (st == KPI_OK)
		{
			custset    *old = a;

			st = custset_state_merge(which[t], &a, b, MEM, NULL);
			if (a != old)
				release(old);
		}
		if (st == KPI_OK)
		{
			kpi_strbuf_init(&sb, MEM);
			st = custset_state_format(which[t], a, MEM, &sb, NULL);
			if (st == KPI_OK && sb.failed)
				st = KPI_ERR_NOMEM;
			if (st == KPI_OK)
				st = custset_state_parse(which[t], sb.data, MEM, &back, NULL);
			release(sb.data);
		}
		if (st == KPI_OK)
		{
			size_t		len = 0;
			uint8_t    *bytes = state_bytes(which[t], back, &len);

			release(back);
			back = NULL;
			if (bytes == NULL)
				st = KPI_ERR_NOMEM;
			else
				st = state_decode(which[t], bytes, len, &back);
			release(bytes);
		}
		release(a);
		release(b);
		release(back);
		result = st;
	}
	return result;
}

/*
 * Each allocation of the workout fails in turn: every failure comes back
 * as KPI_ERR_NOMEM (or is absorbed), never a crash, a leak or a bad free.
 */
static void
test_out_of_memory(void)
{
	long		allocations = 0;
	bool		statuses_ok = true;
	bool		clean = true;
	kpi_status	st;

	/* a run without failures, then one failing run per allocation */
	unit_alloc_fail_after(-1);
	st = memory_workout();
	CHECK(st == KPI_OK && unit_alloc_live() == 0, "out of memory: the workout runs and frees all it takes");
	for (long n = 0;; n++)
	{
		unit_alloc_fail_after(n);
		st = memory_workout();
		statuses_ok &= st == KPI_OK || st == KPI_ERR_NOMEM;
		clean &= unit_alloc_live() == 0 && unit_alloc_violations() == 0;
		if (unit_alloc_countdown >= 0)
		{
			/* fewer than n + 1 allocations: every one has failed once */
			allocations = n;
			break;
		}
	}
	unit_alloc_fail_after(-1);
	CHECK(statuses_ok, "out of memory: every failed allocation returns KPI_ERR_NOMEM");
	CHECK(clean, "out of memory: nothing leaks and nothing bad is freed on the failure paths");
	printf("# out of memory: the workout's %ld allocations each failed once\n", allocations);
}

int
main(void)
{
	unit_rng_seed(20261122);
	test_periods_walk();
	test_periods_range();
	test_periods_weeks();
	test_periods_usecs();
	test_period_names();
	test_retention_forms();
	test_cohort_forms();
	test_repeat_forms();
	test_aov_lines_forms();
	test_state_errors();
	test_state_garbage();
	test_state_merge();
	test_ascending_orders();
	test_ascending_mixed();
	test_ascending_runs();
	CHECK(unit_alloc_live() == 0 && unit_alloc_violations() == 0,
		  "strict allocator: no leak, no realloc or free of NULL or of a foreign pointer so far");
	test_out_of_memory();
	return unit_done();
}
