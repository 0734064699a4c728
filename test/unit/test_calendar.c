/*-------------------------------------------------------------------------
 *
 * test_calendar.c
 *	  Unit and property tests of the business calendar core.
 *
 * Expected values come from hand-written figures (day numbers, weekdays,
 * canonical text, error details) or from naive references inside this
 * file: a date walk that steps one day at a time from 0001-01-01, and a
 * random calendar model that marks every business second of the week in
 * a byte array and searches its holidays linearly.
 *
 * IDENTIFICATION
 *	  test/unit/test_calendar.c
 *
 *-------------------------------------------------------------------------
 */
#include "calendar_core.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WEEK_SECONDS (7 * 86400)

/* ------------------------------------------------------------- helpers */

/* true with probability percent / 100 */
static bool
chance(int percent)
{
	return unit_rand_below(100) < percent;
}

/* Parses text; NULL (and the detail as a TAP comment) when it fails. */
static calendar *
parse(const char *text)
{
	calendar   *cal = NULL;
	kpi_msg		msg = {{0}};

	if (calendar_parse(text, &kpi_malloc_allocator, &cal, &msg) != KPI_OK)
	{
		printf("# parse of \"%s\" failed: %s\n", text, msg.text);
		return NULL;
	}
	return cal;
}

/* The canonical text of cal, malloc'ed. */
static char *
format(const calendar *cal)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, &kpi_malloc_allocator);
	if (calendar_format(cal, &sb) != KPI_OK)
		abort();
	return sb.data;
}

static bool
same_block(const calendar *a, const calendar *b)
{
	return a != NULL && b != NULL && calendar_size(a) == calendar_size(b) &&
		memcmp(a, b, calendar_size(a)) == 0;
}

/* Whether text parses and formats to exactly expected. */
static bool
formats_as(const char *text, const char *expected)
{
	calendar   *cal = parse(text);
	char	   *out;
	bool		ok;

	if (cal == NULL)
		return false;
	out = format(cal);
	ok = strcmp(out, expected) == 0;
	if (!ok)
		printf("#   \"%s\" formats as \"%s\", expected \"%s\"\n", text, out, expected);
	free(out);
	free(cal);
	return ok;
}

/* Whether two texts parse to byte-identical calendars. */
static bool
parse_equal(const char *a, const char *b)
{
	calendar   *x = parse(a);
	calendar   *y = parse(b);
	bool		ok = same_block(x, y);

	free(x);
	free(y);
	return ok;
}

static void
encode(const calendar *cal, uint8_t **buf, size_t *len)
{
	kpi_writer	w;

	*len = calendar_encoded_size(cal);
	*buf = malloc(*len);
	kpi_writer_init(&w, *buf, *len);
	calendar_encode(cal, &w);
	if (w.len != *len)
		abort();
}

/* ------------------------------------------------------- naive dates */

static bool
naive_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
naive_month_length(int y, int m)
{
	if (m == 2)
		return naive_leap(y) ? 29 : 28;
	return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
}

/* Date of a day number by walking years and months from 2000-01-01. */
static void
naive_date(int32_t day, int *y, int *m, int *d)
{
	*y = 2000;
	while (day < 0)
		day += naive_leap(--*y) ? 366 : 365;
	while (day >= (naive_leap(*y) ? 366 : 365))
		day -= naive_leap((*y)++) ? 366 : 365;
	*m = 1;
	while (day >= naive_month_length(*y, *m))
		day -= naive_month_length(*y, (*m)++);
	*d = day + 1;
}

/* Weekday, Monday = 0, counted from 2000-01-03 (a Monday). */
static int
naive_weekday(int32_t day)
{
	long		w = ((long) day - 2) % 7;

	return (int) (w < 0 ? w + 7 : w);
}

/* ------------------------------------------------------------- examples */

static void
test_issue_examples(void)
{
	calendar   *a = parse("Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24,2024-12-25,2024-12-26");
	calendar   *b = parse("Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; tz=America/New_York");

	/* 2024-12-23 (a Monday): 24 years after 2000-01-01, 6 of them leap, + 357 days */
	const int32_t mon = 24 * 365 + 6 + 357;

	CHECK(a != NULL && b != NULL, "the issue's examples parse");
	if (a == NULL || b == NULL)
		return;
	CHECK(strcmp(a->zone, "Europe/Stockholm") == 0 && strcmp(b->zone, "America/New_York") == 0,
		  "zones are kept");
	CHECK(a->nholidays == 3 && calendar_holiday_list(a)[0] == mon + 1 &&
		  calendar_holiday_list(a)[1] == mon + 2 && calendar_holiday_list(a)[2] == mon + 3,
		  "holidays are day numbers since 2000-01-01 (2024-12-24 = 9124)");
	CHECK(mon + 1 == 9124, "2024-12-24 is day 9124, as PostgreSQL's date - date gives");
	CHECK(b->nholidays == 0, "no holidays");

	CHECK(calendar_is_business_time(a, mon, 8 * 3600), "Mon 08:00:00 is inside");
	CHECK(!calendar_is_business_time(a, mon, 8 * 3600 - 1), "Mon 07:59:59 is outside");
	CHECK(calendar_is_business_time(a, mon, 17 * 3600 - 1), "Mon 16:59:59 is inside");
	CHECK(!calendar_is_business_time(a, mon, 17 * 3600), "Mon 17:00:00 is outside");
	CHECK(!calendar_is_business_time(a, mon, 0) && !calendar_is_business_time(a, mon, 86399),
		  "midnight and 23:59:59 are outside");
	CHECK(!calendar_is_business_time(a, mon + 1, 10 * 3600) &&
		  !calendar_is_business_time(a, mon + 3, 10 * 3600),
		  "holidays Tue 2024-12-24 and Thu 2024-12-26 are off all day");
	CHECK(calendar_is_business_time(a, mon + 4, 10 * 3600), "Fri 2024-12-27 10:00 is inside");
	CHECK(!calendar_is_business_time(a, mon + 5, 10 * 3600) &&
		  !calendar_is_business_time(a, mon + 6, 10 * 3600), "the weekend is outside");
	CHECK(calendar_is_business_time(a, mon + 7, 10 * 3600), "the next Monday is inside");
	CHECK(!calendar_is_business_time(a, mon, -1) && !calendar_is_business_time(a, mon, 86400) &&
		  !calendar_is_business_time(a, mon, INT32_MIN) &&
		  !calendar_is_business_time(a, mon, INT32_MAX),
		  "seconds outside the day are never business time");

	CHECK(calendar_is_business_time(b, mon + 3, 12 * 3600 - 1), "Thu 11:59:59 is inside");
	CHECK(!calendar_is_business_time(b, mon + 3, 12 * 3600), "Thu 12:00:00 (lunch) is outside");
	CHECK(!calendar_is_business_time(b, mon + 3, 13 * 3600 - 1), "Thu 12:59:59 is outside");
	CHECK(calendar_is_business_time(b, mon + 3, 13 * 3600), "Thu 13:00:00 is inside");
	CHECK(calendar_is_business_time(b, mon + 4, 15 * 3600 - 1), "Fri 14:59:59 is inside");
	CHECK(!calendar_is_business_time(b, mon + 4, 15 * 3600), "Fri 15:00:00 is outside");
	CHECK(calendar_is_business_time(b, mon + 1, 12 * 3600 + 3600), "Tue 13:00 is inside (no holidays)");

	/* every second of that week against a hand-written predicate */
	{
		int			wrong = 0;

		for (int s = 0; s < WEEK_SECONDS; s++)
		{
			int			wd = s / 86400;
			int			t = s % 86400;
			bool		expect_b = (wd <= 3 && ((t >= 28800 && t < 43200) || (t >= 46800 && t < 61200))) ||
				(wd == 4 && t >= 28800 && t < 54000);
			bool		expect_a = (wd == 0 || wd == 4) && t >= 28800 && t < 61200;

			wrong += calendar_is_business_time(b, mon + wd, t) != expect_b;
			wrong += calendar_is_business_time(a, mon + wd, t) != expect_a;
		}
		CHECK(wrong == 0, "every second of the week 2024-12-23 matches the hand-written hours");
	}

	/* timestamps: microseconds since 2000-01-01 local */
	{
		int64_t		mon_usecs = (int64_t) mon * CALENDAR_USECS_PER_DAY;

		CHECK(calendar_is_business_timestamp(a, mon_usecs + INT64_C(8) * 3600000000),
			  "timestamp Mon 08:00:00.000000 is inside");
		CHECK(!calendar_is_business_timestamp(a, mon_usecs + INT64_C(8) * 3600000000 - 1),
			  "timestamp Mon 07:59:59.999999 is outside");
		CHECK(calendar_is_business_timestamp(a, mon_usecs + INT64_C(17) * 3600000000 - 1),
			  "timestamp Mon 16:59:59.999999 is inside");
		CHECK(!calendar_is_business_timestamp(a, mon_usecs + INT64_C(17) * 3600000000),
			  "timestamp Mon 17:00:00 is outside");
		/* 1999-12-31 was a Friday, day -1 */
		CHECK(calendar_is_business_timestamp(a, -CALENDAR_USECS_PER_DAY + INT64_C(9) * 3600000000) &&
			  !calendar_is_business_timestamp(a, -1),
			  "timestamps before 2000 round down to the previous day");
		CHECK(!calendar_is_business_timestamp(a, INT64_MIN) && !calendar_is_business_timestamp(a, INT64_MAX),
			  "the int64 extremes (-infinity, infinity) do not crash");
	}
	free(a);
	free(b);
}

static void
test_accepted_forms(void)
{
	calendar   *c;

	CHECK(parse_equal("Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24,2024-12-25,2024-12-26",
					  "  mon - FRI\t08:00 - 17:00 ;TZ = Europe/Stockholm;\n HOLIDAYS= 2024-12-26 , 2024-12-24,2024-12-25,2024-12-24 "),
		  "case, whitespace, order and repetition of holidays do not matter");
	CHECK(parse_equal("Mon-Fri 08:00-17:00", "Monday-FRIDAY 8:00-17:00:00"),
		  "full day names, one-digit hours and :00 seconds");
	CHECK(parse_equal("Mon-Fri 08:00-17:00", "Mon,Tue,Wed,Thu,Fri 08:00-17:00"), "a day range equals its list");
	CHECK(parse_equal("Mon-Fri 08:00-17:00", "Wed-Fri,Mon-Tue 08:00-17:00"), "day lists in any order");
	CHECK(parse_equal("Mon-Fri 08:00-17:00", "Mon-Fri 08:00-17:00; tz=UTC"), "absent zone is UTC");
	CHECK(parse_equal("Mon-Fri 08:00-17:00", "tz=UTC; Mon-Fri 08:00-17:00; holidays="),
		  "settings anywhere; an empty holiday list");
	CHECK(parse_equal("Mon,Fri-Sun 10:00-11:00", "Fri-Mon 10:00-11:00"), "day ranges wrap after Sunday");
	CHECK(parse_equal("Mon-Sun 08:00-09:00", "Wed-Tue 08:00-09:00"), "a wrapped range can cover the week");
	CHECK(parse_equal("Mon 08:00-09:00", "Mon-Mon 08:00-09:00") &&
		  parse_equal("Mon 08:00-09:00", "Mon,mon,MONDAY 08:00-09:00"),
		  "Mon-Mon is one day; repeated days count once");
	CHECK(parse_equal("Mon 08:00-17:00", "Mon 08:00-12:00,12:00-17:00") &&
		  parse_equal("Mon 08:00-17:00", "Mon 12:00-17:00; Mon 08:00-10:00, 10:00-12:00"),
		  "touching ranges merge, in any order and across specs");
	CHECK(parse_equal("Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-12:00,13:00-15:00",
					  "Mon-Fri 08:00-12:00; Mon-Thu 13:00-17:00; Fri 13:00-15:00"),
		  "a weekday in several specs gets the ranges of all of them");
	CHECK(parse_equal("Mon 00:00-24:00", "Mon 00:00:00-24:00:00"), "24:00:00 equals 24:00");
	CHECK(!parse_equal("Mon 08:00-17:00", "Mon 08:00:01-17:00"), "seconds are significant");

	c = parse("Sat 20:00-24:00; Sun 00:00-02:00,22:00:30-23:00");
	CHECK(c != NULL, "24:00 ends a range; HH:MM:SS");
	if (c != NULL)
	{
		const int32_t sat = 0;	/* 2000-01-01 */

		CHECK(calendar_is_business_time(c, sat, 86399) && calendar_is_business_time(c, sat, 72000) &&
			  !calendar_is_business_time(c, sat, 71999), "Sat 20:00:00 .. 23:59:59 inside");
		CHECK(calendar_is_business_time(c, sat + 1, 0) && calendar_is_business_time(c, sat + 1, 7199) &&
			  !calendar_is_business_time(c, sat + 1, 7200), "Sun 00:00:00 .. 01:59:59 inside");
		CHECK(!calendar_is_business_time(c, sat + 1, 22 * 3600 + 29) &&
			  calendar_is_business_time(c, sat + 1, 22 * 3600 + 30) &&
			  calendar_is_business_time(c, sat + 1, 23 * 3600 - 1) &&
			  !calendar_is_business_time(c, sat + 1, 23 * 3600), "Sun 22:00:30 .. 22:59:59 inside");
		CHECK(!calendar_is_business_time(c, sat + 2, 0) && !calendar_is_business_time(c, sat - 1, 86399),
			  "Mon 00:00 and Fri 23:59:59 outside");
		free(c);
	}

	c = parse("Mon 08:00:10-08:00:20,08:00:40-09:00");
	CHECK(c != NULL, "two ranges bounded inside one minute");
	if (c != NULL)
	{
		const int32_t mon = 2;	/* 2000-01-03 */
		const int32_t eight = 8 * 3600;

		CHECK(!calendar_is_business_time(c, mon, eight + 9) && calendar_is_business_time(c, mon, eight + 10) &&
			  calendar_is_business_time(c, mon, eight + 19) && !calendar_is_business_time(c, mon, eight + 20) &&
			  !calendar_is_business_time(c, mon, eight + 39) && calendar_is_business_time(c, mon, eight + 40) &&
			  calendar_is_business_time(c, mon, eight + 60) && !calendar_is_business_time(c, mon, 9 * 3600),
			  "seconds inside a minute where ranges start and end");
		free(c);
	}

	c = parse("Mon 08:00-09:00; holidays=0001-01-01,9999-12-31,2000-02-29,2024-02-29,1600-02-29");
	CHECK(c != NULL && c->nholidays == 5 && calendar_holiday_list(c)[0] == CALENDAR_MIN_DAY &&
		  calendar_holiday_list(c)[4] == CALENDAR_MAX_DAY && calendar_holiday_list(c)[2] == 59,
		  "date limits and leap days (0001-01-01 = -730119, 2000-02-29 = 59, 9999-12-31 = 2921939)");
	free(c);
}

static void
test_canonical_text(void)
{
	CHECK(formats_as("Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24,2024-12-25,2024-12-26",
					 "Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24,2024-12-25,2024-12-26"),
		  "example 1 is canonical");
	CHECK(formats_as("Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; tz=America/New_York",
					 "Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; tz=America/New_York"),
		  "example 2 is canonical");
	CHECK(formats_as("sun 10:00-14:00;Mon,Wed 9:00-12:00; Sat 10:00-14:00",
					 "Mon,Wed 09:00-12:00; Sat-Sun 10:00-14:00; tz=UTC"),
		  "specs in week order, identical days grouped");
	CHECK(formats_as("Fri-Mon 10:00-11:00", "Mon,Fri-Sun 10:00-11:00; tz=UTC"),
		  "wrapped day ranges are written within Mon..Sun");
	CHECK(formats_as("Tue 08:00-09:00; Mon 08:00-09:00; Thu 08:00-09:00",
					 "Mon-Tue,Thu 08:00-09:00; tz=UTC"), "runs and singles");
	CHECK(formats_as("Mon 13:00-17:00:00, 08:00:30-12:00; Mon 12:00-13:00; Sat 20:00-24:00:00",
					 "Mon 08:00:30-17:00; Sat 20:00-24:00; tz=UTC"), "merged ranges, seconds only when needed, 24:00");
	CHECK(formats_as("holidays=2024-12-26,2024-12-24,2024-12-24; Mon 08:00-09:00",
					 "Mon 08:00-09:00; tz=UTC; holidays=2024-12-24,2024-12-26"), "holidays sorted and unique");
	CHECK(formats_as("Mon-Sun 00:00-24:00", "Mon-Sun 00:00-24:00; tz=UTC"), "all week");
}

/* ---------------------------------------------------------------- errors */

typedef struct error_case
{
	const char *text;
	kpi_status	status;
	const char *detail;
} error_case;

static const error_case error_cases[] = {
	{"", KPI_ERR_TEXT, "A business calendar needs at least one day spec such as \"Mon-Fri 08:00-17:00\"."},
	{" tz=UTC; holidays=2024-12-24", KPI_ERR_TEXT,
	"A business calendar needs at least one day spec such as \"Mon-Fri 08:00-17:00\"."},
	{"Mon-Fri 08:00-17:00;;tz=UTC", KPI_ERR_TEXT,
	"The calendar \"Mon-Fri 08:00-17:00;;tz=UTC\" has an empty part: parts are separated by a single \";\"."},
	{"Mon-Fri 08:00-17:00;", KPI_ERR_TEXT,
	"The calendar \"Mon-Fri 08:00-17:00;\" has an empty part: parts are separated by a single \";\"."},
	{"Mox-Fri 08:00-17:00", KPI_ERR_TEXT, "Unknown day name \"Mox\" in \"Mox-Fri 08:00-17:00\"."},
	{"Mon-Fry 08:00-17:00", KPI_ERR_TEXT, "Unknown day name \"Fry\" in \"Mon-Fry 08:00-17:00\"."},
	{"Mon Fri 08:00-17:00", KPI_ERR_TEXT, "Unknown day name \"Mon Fri\" in \"Mon Fri 08:00-17:00\"."},
	{"Mo 08:00-17:00", KPI_ERR_TEXT, "Unknown day name \"Mo\" in \"Mo 08:00-17:00\"."},
	{"Mon--Fri 08:00-17:00", KPI_ERR_TEXT,
	"Malformed day list \"Mon--Fri\" in \"Mon--Fri 08:00-17:00\": days are written like \"Mon\", \"Mon-Fri\" or \"Mon,Wed\"."},
	{"Mon,,Wed 08:00-17:00", KPI_ERR_TEXT,
	"Malformed day list \"Mon,,Wed\" in \"Mon,,Wed 08:00-17:00\": days are written like \"Mon\", \"Mon-Fri\" or \"Mon,Wed\"."},
	{"08:00-17:00", KPI_ERR_TEXT, "The day spec \"08:00-17:00\" does not start with a day name."},
	{"Mon-Fri", KPI_ERR_TEXT, "The day spec \"Mon-Fri\" has no time range such as \"08:00-17:00\"."},
	{"Mon-Fri 17:00-08:00", KPI_ERR_PARAM,
	"The time range \"17:00-08:00\" does not end after it starts; a range that crosses midnight must be split at 24:00."},
	{"Mon 08:00-08:00", KPI_ERR_PARAM,
	"The time range \"08:00-08:00\" does not end after it starts; a range that crosses midnight must be split at 24:00."},
	{"Mon 24:00-24:00", KPI_ERR_PARAM,
	"The time range \"24:00-24:00\" does not end after it starts; a range that crosses midnight must be split at 24:00."},
	{"Mon 08:00-12:00,11:00-13:00", KPI_ERR_PARAM,
	"The time ranges \"08:00-12:00\" and \"11:00-13:00\" overlap on Mon."},
	{"Mon-Fri 08:00-17:00; Fri 08:00-15:00", KPI_ERR_PARAM,
	"The time ranges \"08:00-17:00\" and \"08:00-15:00\" overlap on Fri."},
	{"Sat 12:00-13:00; Fri-Sun 09:00-12:30", KPI_ERR_PARAM,
	"The time ranges \"09:00-12:30\" and \"12:00-13:00\" overlap on Sat."},
	{"Mon 25:00-26:00", KPI_ERR_TEXT,
	"Invalid time \"25:00\" in \"Mon 25:00-26:00\": times are written HH:MM or HH:MM:SS, from 00:00 to 24:00."},
	{"Mon 08:60-17:00", KPI_ERR_TEXT,
	"Invalid time \"08:60\" in \"Mon 08:60-17:00\": times are written HH:MM or HH:MM:SS, from 00:00 to 24:00."},
	{"Mon 08:00-24:00:01", KPI_ERR_TEXT,
	"Invalid time \"24:00:01\" in \"Mon 08:00-24:00:01\": times are written HH:MM or HH:MM:SS, from 00:00 to 24:00."},
	{"Mon 08:00:60-09:00", KPI_ERR_TEXT,
	"Invalid time \"08:00:60\" in \"Mon 08:00:60-09:00\": times are written HH:MM or HH:MM:SS, from 00:00 to 24:00."},
	{"Mon 8-17", KPI_ERR_TEXT,
	"Invalid time \"8\" in \"Mon 8-17\": times are written HH:MM or HH:MM:SS, from 00:00 to 24:00."},
	{"Mon 08:00-17:00-18:00", KPI_ERR_TEXT,
	"Invalid time \"17:00-18:00\" in \"Mon 08:00-17:00-18:00\": times are written HH:MM or HH:MM:SS, from 00:00 to 24:00."},
	{"Mon 08:00", KPI_ERR_TEXT,
	"Malformed time range \"08:00\" in \"Mon 08:00\": ranges are written like \"08:00-17:00\"."},
	{"Mon 08:00-12:00, ,13:00-17:00", KPI_ERR_TEXT,
	"Malformed time range \"\" in \"Mon 08:00-12:00, ,13:00-17:00\": ranges are written like \"08:00-17:00\"."},
	{"Mon 08:00-17:00; tz=Europe/Stock holm", KPI_ERR_PARAM,
	"Invalid time zone name \"Europe/Stock holm\": zone names consist of letters, digits, \".\", \"_\", \"-\" and \"+\", separated by \"/\"."},
	{"Mon 08:00-17:00; tz=../etc/passwd", KPI_ERR_PARAM,
	"Invalid time zone name \"../etc/passwd\": zone names consist of letters, digits, \".\", \"_\", \"-\" and \"+\", separated by \"/\"."},
	{"Mon 08:00-17:00; tz=Europe//Paris", KPI_ERR_PARAM,
	"Invalid time zone name \"Europe//Paris\": zone names consist of letters, digits, \".\", \"_\", \"-\" and \"+\", separated by \"/\"."},
	{"Mon 08:00-17:00; tz=Europe/", KPI_ERR_PARAM,
	"Invalid time zone name \"Europe/\": zone names consist of letters, digits, \".\", \"_\", \"-\" and \"+\", separated by \"/\"."},
	{"Mon 08:00-17:00; tz=Europe/Zürich", KPI_ERR_PARAM,
	"Invalid time zone name \"Europe/Zürich\": zone names consist of letters, digits, \".\", \"_\", \"-\" and \"+\", separated by \"/\"."},
	{"Mon 08:00-17:00; tz= ", KPI_ERR_PARAM, "The setting \"tz\" needs a time zone name."},
	{"Mon 08:00-17:00; tz=ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKL", KPI_ERR_PARAM,
	"The time zone name \"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH...\" is longer than 63 bytes."},
	{"Mon 08:00-17:00; tz=UTC; TZ=UTC", KPI_ERR_TEXT, "The setting \"TZ\" is given more than once."},
	{"Mon 08:00-17:00; holidays=2024-12-24; Holidays=2024-12-25", KPI_ERR_TEXT,
	"The setting \"Holidays\" is given more than once."},
	{"Mon 08:00-17:00; timezone=UTC", KPI_ERR_TEXT,
	"Unknown setting \"timezone\" in \"timezone=UTC\": the settings are \"tz\" and \"holidays\"."},
	{"Mon 08:00-17:00 tz=UTC", KPI_ERR_TEXT,
	"Unknown setting \"Mon 08:00-17:00 tz\" in \"Mon 08:00-17:00 tz=UTC\": the settings are \"tz\" and \"holidays\"."},
	{"Mon 08:00-17:00; holidays=2023-02-29", KPI_ERR_TEXT,
	"Invalid holiday \"2023-02-29\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31."},
	{"Mon 08:00-17:00; holidays=1900-02-29", KPI_ERR_TEXT,
	"Invalid holiday \"1900-02-29\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31."},
	{"Mon 08:00-17:00; holidays=2024-04-31", KPI_ERR_TEXT,
	"Invalid holiday \"2024-04-31\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31."},
	{"Mon 08:00-17:00; holidays=2024-12-24,2024-13-01", KPI_ERR_TEXT,
	"Invalid holiday \"2024-13-01\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31."},
	{"Mon 08:00-17:00; holidays=2024-4-01", KPI_ERR_TEXT,
	"Invalid holiday \"2024-4-01\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31."},
	{"Mon 08:00-17:00; holidays=0000-01-01", KPI_ERR_TEXT,
	"Invalid holiday \"0000-01-01\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31."},
	{"Mon 08:00-17:00; holidays=2024-12-00", KPI_ERR_TEXT,
	"Invalid holiday \"2024-12-00\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31."},
	{"Mon 08:00-17:00; holidays=2024/12/24", KPI_ERR_TEXT,
	"Invalid holiday \"2024/12/24\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31."},
	{"Mon 08:00-17:00; holidays=2024-12-24,,2024-12-25", KPI_ERR_TEXT,
	"The holiday list \"2024-12-24,,2024-12-25\" has an empty entry."},
};

static void
test_errors(void)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
	{
		const error_case *e = &error_cases[i];
		calendar   *cal = NULL;
		kpi_msg		msg = {{0}};
		kpi_status	st = calendar_parse(e->text, &kpi_malloc_allocator, &cal, &msg);
		char		what[400];
		bool		ok = st == e->status && strcmp(msg.text, e->detail) == 0 && cal == NULL;

		snprintf(what, sizeof(what), "error for \"%.80s\"", e->text);
		CHECK(ok, what);
		if (!ok)
			printf("#   status %d, detail: %s\n", (int) st, msg.text);
	}

	/* limits */
	{
		char		text[2048] = "Mon ";
		kpi_msg		msg = {{0}};
		calendar   *cal = NULL;
		kpi_status	st;

		for (int i = 0; i < CALENDAR_MAX_RANGES_PER_DAY; i++)
			sprintf(text + strlen(text), "%s%02d:%02d-%02d:%02d", i ? "," : "", i / 2, (i % 2) * 30,
					i / 2, (i % 2) * 30 + 10);
		cal = parse(text);
		CHECK(cal != NULL && cal->day_start[1] == CALENDAR_MAX_RANGES_PER_DAY, "32 ranges on a day are fine");
		free(cal);
		cal = NULL;
		strcat(text, ",23:00-23:30");
		st = calendar_parse(text, &kpi_malloc_allocator, &cal, &msg);
		CHECK(st == KPI_ERR_PARAM && strcmp(msg.text, "More than 32 time ranges are given for Mon.") == 0,
			  "33 ranges on a day are too many");
	}
	{
		size_t		cap = 64 + 11 * (CALENDAR_MAX_HOLIDAYS + 2);
		char	   *text = malloc(cap);
		char	   *p = text;
		kpi_msg		msg = {{0}};
		calendar   *cal = NULL;
		kpi_status	st;

		p += sprintf(p, "Mon 08:00-09:00; holidays=");
		for (int i = 0; i <= CALENDAR_MAX_HOLIDAYS; i++)
		{
			int			y,
						m,
						d;

			naive_date(i, &y, &m, &d);
			p += sprintf(p, "%s%04d-%02d-%02d", i ? "," : "", y, m, d);
		}
		st = calendar_parse(text, &kpi_malloc_allocator, &cal, &msg);
		CHECK(st == KPI_ERR_PARAM && strcmp(msg.text, "More than 65536 holidays are given.") == 0,
			  "65537 holidays are too many");
		/* drop the last date: 65536 are fine, and duplicates do not count */
		p[-11] = '\0';
		strcat(text, ",2000-01-01");
		cal = parse(text);
		CHECK(cal != NULL && cal->nholidays == CALENDAR_MAX_HOLIDAYS, "65536 unique holidays are fine");
		free(cal);
		free(text);
	}
}

/* ------------------------------------------------------- date walk */

/*
 * Walks every day from 0001-01-01 to 9999-12-31 keeping the date, day number
 * and weekday by plain counting, and checks a sample of them against the
 * parser, the formatter and the weekday of calendar_is_business_time.
 */
static void
test_date_walk(void)
{
	calendar   *monday = parse("Mon 00:00-00:01");
	int			y = 1,
				m = 1,
				d = 1,
				weekday = 0;	/* 0001-01-01 was a Monday (proleptic Gregorian) */
	int32_t		day = 0;
	int32_t		min_day = 0;
	bool		saturday_2000 = false;
	int			sampled = 0,
				bad_parse = 0,
				bad_format = 0,
				bad_weekday = 0;

	/* day counts from 0001-01-01 here; shifted by min_day once 2000 is reached */
	for (;;)
	{
		if (y == 2000 && m == 1 && d == 1)
		{
			min_day = -day;
			saturday_2000 = weekday == 5;
			break;
		}
		day++;
		weekday = (weekday + 1) % 7;
		if (++d > naive_month_length(y, m))
		{
			d = 1;
			if (++m > 12)
			{
				m = 1;
				y++;
			}
		}
	}
	CHECK(min_day == CALENDAR_MIN_DAY, "0001-01-01 is day -730119");
	CHECK(saturday_2000, "2000-01-01 was a Saturday");

	y = m = d = 1;
	weekday = 0;
	for (day = min_day;; day++)
	{
		bool		sample = (y >= 1999 && y <= 2001) || (m == 2 && d >= 28) || (m == 3 && d == 1) ||
			y == 1 || y == 9999 || unit_rand_below(300) == 0;

		if (sample)
		{
			char		text[80];
			char		expect[80];
			calendar   *cal;
			char	   *out;

			sampled++;
			snprintf(text, sizeof(text), "Mon 08:00-09:00; holidays=%04d-%02d-%02d", y, m, d);
			snprintf(expect, sizeof(expect), "Mon 08:00-09:00; tz=UTC; holidays=%04d-%02d-%02d", y, m, d);
			cal = parse(text);
			if (cal == NULL || cal->nholidays != 1 || calendar_holiday_list(cal)[0] != day)
				bad_parse++;
			else
			{
				out = format(cal);
				bad_format += strcmp(out, expect) != 0;
				free(out);
			}
			free(cal);
			bad_weekday += calendar_is_business_time(monday, day, 0) != (weekday == 0);
			bad_weekday += calendar_weekday(day) != weekday;
		}
		if (y == 9999 && m == 12 && d == 31)
			break;
		weekday = (weekday + 1) % 7;
		if (++d > naive_month_length(y, m))
		{
			d = 1;
			if (++m > 12)
			{
				m = 1;
				y++;
			}
		}
	}
	CHECK(day == CALENDAR_MAX_DAY, "9999-12-31 is day 2921939");
	CHECK(bad_parse == 0, "sampled dates parse to the walked day number");
	CHECK(bad_format == 0, "sampled dates format back to the same text");
	CHECK(bad_weekday == 0, "weekdays match the walked weekday");
	printf("# %d dates sampled\n", sampled);
	CHECK(calendar_weekday(INT32_MIN) == naive_weekday(INT32_MIN) &&
		  calendar_weekday(INT32_MAX) == naive_weekday(INT32_MAX) &&
		  calendar_weekday(-1) == 4 && calendar_weekday(-7) == 5,
		  "weekday of extreme and negative day numbers");
	free(monday);
}

/* --------------------------------------------------- random calendars */

#define MAX_TEMPLATES 3
#define MAX_MODEL_HOLIDAYS 12

/* A random calendar as its naive meaning, and the way to write it down. */
typedef struct model
{
	unsigned char *open;		/* [weekday * 86400 + second] */
	int			ntemplates;
	int			nbounds[MAX_TEMPLATES];
	int32_t		bounds[MAX_TEMPLATES][8];
	int			day_template[7];	/* -1: closed */
	const char *zone;			/* NULL: not written (UTC) */
	int32_t		holidays[MAX_MODEL_HOLIDAYS];	/* unsorted, repeats allowed */
	int			nholidays;
} model;

static const char *const zones[] = {
	"Europe/Stockholm", "America/New_York", "UTC", "Etc/GMT+5", "America/Port-au-Prince",
	"Asia/Kolkata", "EST5EDT", "America/Argentina/Buenos_Aires"
};

static int32_t
random_boundary(void)
{
	switch (unit_rand_below(4))
	{
		case 0:
			return unit_rand_below(25) * 3600;
		case 1:
			return unit_rand_below(24 * 4 + 1) * 900;
		case 2:
			return unit_rand_below(24 * 60 + 1) * 60;
		default:
			return unit_rand_below(86401);
	}
}

static int
compare_i32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

static void
random_model(model *md)
{
	bool		any = false;

	memset(md->open, 0, WEEK_SECONDS);
	md->ntemplates = 1 + unit_rand_below(MAX_TEMPLATES);
	for (int t = 0; t < md->ntemplates; t++)
	{
		int			want = 2 * (1 + unit_rand_below(4));
		int			n = 0;

		/* distinct sorted boundaries, paired into ranges */
		while (n < want)
		{
			int32_t		b = random_boundary();
			bool		seen = false;

			for (int i = 0; i < n; i++)
				seen |= md->bounds[t][i] == b;
			if (!seen)
				md->bounds[t][n++] = b;
		}
		qsort(md->bounds[t], (size_t) n, sizeof(int32_t), compare_i32);
		md->nbounds[t] = n;
	}
	while (!any)
	{
		for (int d = 0; d < 7; d++)
		{
			md->day_template[d] = chance(30) ? -1 : unit_rand_below(md->ntemplates);
			any |= md->day_template[d] >= 0;
		}
	}
	for (int d = 0; d < 7; d++)
	{
		int			t = md->day_template[d];

		if (t < 0)
			continue;
		for (int i = 0; i < md->nbounds[t]; i += 2)
			memset(md->open + d * 86400 + md->bounds[t][i], 1,
				   (size_t) (md->bounds[t][i + 1] - md->bounds[t][i]));
	}
	md->zone = chance(70) ? zones[unit_rand_below(sizeof(zones) / sizeof(zones[0]))] : NULL;
	md->nholidays = chance(40) ? 0 : unit_rand_below(MAX_MODEL_HOLIDAYS + 1);
	for (int i = 0; i < md->nholidays; i++)
		md->holidays[i] = (i > 0 && chance(15)) ? md->holidays[unit_rand_below(i)] : unit_rand_below(15000) - 3000;
}

static bool
naive_is_business(const model *md, int32_t day, int32_t second)
{
	if (second < 0 || second >= 86400 || !md->open[naive_weekday(day) * 86400 + second])
		return false;
	for (int i = 0; i < md->nholidays; i++)
	{
		if (md->holidays[i] == day)
			return false;
	}
	return true;
}

/* Appends with random spaces around. */
static void
append_spaced(char *buf, const char *s)
{
	static const char *const spaces[] = {"", "", "", " ", "  ", "\t"};

	strcat(buf, spaces[unit_rand_below(6)]);
	strcat(buf, s);
	strcat(buf, spaces[unit_rand_below(6)]);
}

static void
append_day_name(char *buf, int d)
{
	static const char *const full[] = {
		"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
	};
	char		name[16];
	size_t		n = chance(20) ? strlen(full[d]) : 3;

	for (size_t i = 0; i < n; i++)
	{
		char		c = full[d][i];

		/* mostly "Mon", sometimes "MON", "mOn" */
		if ((i == 0 && !chance(10)) || chance(10))
			c = (char) (c - 'a' + 'A');
		name[i] = c;
	}
	name[n] = '\0';
	append_spaced(buf, name);
}

/* The days of mask as a random day list, ranges possibly wrapping. */
static void
append_days(char *buf, unsigned mask)
{
	bool		cyclic = chance(50);
	bool		first = true;

	if (mask == 0x7F && cyclic)
	{
		int			x = unit_rand_below(7);

		append_day_name(buf, x);
		strcat(buf, "-");
		append_day_name(buf, (x + 6) % 7);
		return;
	}
	for (int d = 0; d < 7; d++)
	{
		int			prev = cyclic ? (d + 6) % 7 : d - 1;
		int			len = 1;

		if (!(mask & (1u << d)) || (prev >= 0 && (mask & (1u << prev))))
			continue;
		while (len < 7)
		{
			int			next = cyclic ? (d + len) % 7 : d + len;

			if (next >= 7 || !(mask & (1u << next)))
				break;
			len++;
		}
		if (len > 1 && chance(60))
		{
			if (!first)
				strcat(buf, ",");
			append_day_name(buf, d);
			strcat(buf, "-");
			append_day_name(buf, (d + len - 1) % 7);
		}
		else
		{
			for (int i = 0; i < len; i++)
			{
				if (!first || i > 0)
					strcat(buf, ",");
				append_day_name(buf, (d + i) % 7);
			}
		}
		first = false;
	}
}

static void
append_time_text(char *buf, int32_t s)
{
	char		t[16];
	int			h = s / 3600;

	if (s % 60 != 0 || chance(10))
		snprintf(t, sizeof(t), h < 10 && chance(30) ? "%d:%02d:%02d" : "%02d:%02d:%02d",
				 h, s / 60 % 60, s % 60);
	else
		snprintf(t, sizeof(t), h < 10 && chance(30) ? "%d:%02d" : "%02d:%02d", h, s / 60 % 60);
	append_spaced(buf, t);
}

/* One day spec: days of mask with the given pieces, in random order. */
static void
append_spec(char *buf, unsigned mask, int32_t (*pieces)[2], int npieces)
{
	append_days(buf, mask);
	strcat(buf, " ");
	for (int i = npieces - 1; i > 0; i--)
	{
		int			j = unit_rand_below(i + 1);
		int32_t		a = pieces[i][0],
					b = pieces[i][1];

		pieces[i][0] = pieces[j][0];
		pieces[i][1] = pieces[j][1];
		pieces[j][0] = a;
		pieces[j][1] = b;
	}
	for (int i = 0; i < npieces; i++)
	{
		if (i > 0)
			strcat(buf, ",");
		append_time_text(buf, pieces[i][0]);
		strcat(buf, "-");
		append_time_text(buf, pieces[i][1]);
	}
}

/* Writes the model as text, with random choices that keep its meaning. */
static void
render(const model *md, char *out)
{
	char		parts[24][600];
	int			nparts = 0;

	for (int t = 0; t < md->ntemplates; t++)
	{
		unsigned	mask = 0;
		unsigned	masks[2];
		int			nmasks = 1;

		for (int d = 0; d < 7; d++)
			mask |= (md->day_template[d] == t) ? 1u << d : 0;
		if (mask == 0)
			continue;
		masks[0] = mask;
		/* sometimes the days are written in two specs with the same ranges */
		if ((mask & (mask - 1)) != 0 && chance(30))
		{
			unsigned	sub = 0;

			while (sub == 0 || sub == mask)
				sub = (unsigned) unit_rand_below(128) & mask;
			masks[0] = sub;
			masks[1] = mask & ~sub;
			nmasks = 2;
		}
		for (int k = 0; k < nmasks; k++)
		{
			int32_t		pieces[8][2];
			int			npieces = 0;

			/* a range is sometimes written as two touching pieces */
			for (int i = 0; i < md->nbounds[t]; i += 2)
			{
				int32_t		a = md->bounds[t][i],
							b = md->bounds[t][i + 1];

				if (b - a >= 2 && chance(25))
				{
					int32_t		mid = a + 1 + unit_rand_below(b - a - 1);

					pieces[npieces][0] = a;
					pieces[npieces++][1] = mid;
					pieces[npieces][0] = mid;
					pieces[npieces++][1] = b;
				}
				else
				{
					pieces[npieces][0] = a;
					pieces[npieces++][1] = b;
				}
			}
			/* and the ranges of one day are sometimes spread over two specs */
			if (npieces >= 2 && chance(30))
			{
				int			split = 1 + unit_rand_below(npieces - 1);

				parts[nparts][0] = '\0';
				append_spec(parts[nparts++], masks[k], pieces, split);
				parts[nparts][0] = '\0';
				append_spec(parts[nparts++], masks[k], pieces + split, npieces - split);
			}
			else
			{
				parts[nparts][0] = '\0';
				append_spec(parts[nparts++], masks[k], pieces, npieces);
			}
		}
	}
	if (md->zone != NULL)
	{
		parts[nparts][0] = '\0';
		append_spaced(parts[nparts], chance(50) ? "tz" : "TZ");
		strcat(parts[nparts], "=");
		append_spaced(parts[nparts++], md->zone);
	}
	if (md->nholidays > 0 || chance(10))
	{
		char	   *p = parts[nparts];

		p[0] = '\0';
		append_spaced(p, chance(50) ? "holidays" : "Holidays");
		strcat(p, "=");
		for (int i = 0; i < md->nholidays; i++)
		{
			int			y,
						m,
						d;
			char		date[16];

			naive_date(md->holidays[i], &y, &m, &d);
			snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
			if (i > 0)
				strcat(p, ",");
			append_spaced(p, date);
		}
		nparts++;
	}
	for (int i = nparts - 1; i > 0; i--)
	{
		char		tmp[600];
		int			j = unit_rand_below(i + 1);

		memcpy(tmp, parts[i], sizeof(tmp));
		memcpy(parts[i], parts[j], sizeof(tmp));
		memcpy(parts[j], tmp, sizeof(tmp));
	}
	out[0] = '\0';
	for (int i = 0; i < nparts; i++)
	{
		if (i > 0)
			strcat(out, ";");
		append_spaced(out, parts[i]);
	}
}

/* A random moment, often near a range boundary or on a holiday. */
static void
random_moment(const model *md, int32_t *day, int32_t *second)
{
	*day = unit_rand_below(16000) - 3500;
	if (md->nholidays > 0 && chance(30))
		*day = md->holidays[unit_rand_below(md->nholidays)] + unit_rand_below(3) - 1;
	*second = unit_rand_below(86400);
	if (chance(50))
	{
		int			t = unit_rand_below(md->ntemplates);

		*second = md->bounds[t][unit_rand_below(md->nbounds[t])] + unit_rand_below(3) - 1;
		if (*second < 0 || *second >= 86400)
			*second = 86399;
	}
}

static void
test_random_calendars(void)
{
	model		md;
	int			ncalendars = 1500;
	int			bad_parse = 0,
				bad_valid = 0,
				bad_roundtrip = 0,
				bad_canonical = 0,
				bad_binary = 0,
				bad_equal = 0,
				bad_zone = 0,
				bad_business = 0,
				bad_timestamp = 0;
	long		moments = 0;

	md.open = malloc(WEEK_SECONDS);
	for (int n = 0; n < ncalendars; n++)
	{
		char		text[8192];
		char		text2[8192];
		calendar   *cal,
				   *again,
				   *other,
				   *decoded = NULL;
		char	   *out,
				   *out2;
		uint8_t    *bytes;
		size_t		len;

		random_model(&md);
		render(&md, text);
		cal = parse(text);
		if (cal == NULL)
		{
			bad_parse++;
			continue;
		}
		bad_valid += calendar_validate(cal, calendar_size(cal), NULL) != KPI_OK;
		bad_zone += strcmp(cal->zone, md.zone ? md.zone : "UTC") != 0;

		/* canonical text round trip, byte for byte */
		out = format(cal);
		again = parse(out);
		if (!same_block(cal, again) && bad_roundtrip++ == 0)
			printf("#   \"%s\" -> \"%s\" does not round-trip\n", text, out);
		if (again != NULL)
		{
			out2 = format(again);
			bad_canonical += strcmp(out, out2) != 0;
			free(out2);
		}

		/* another random writing of the same calendar gives the same bytes */
		render(&md, text2);
		other = parse(text2);
		bad_equal += !same_block(cal, other);
		if (!same_block(cal, other) && bad_equal == 1)
			printf("#   \"%s\" and \"%s\" differ\n", text, text2);

		/* binary round trip */
		encode(cal, &bytes, &len);
		bad_binary += calendar_decode(bytes, len, &kpi_malloc_allocator, &decoded, NULL) != KPI_OK ||
			!same_block(cal, decoded);
		free(bytes);
		free(decoded);

		/* brute force against the model */
		for (int i = 0; i < 2000; i++)
		{
			int32_t		day,
						second;
			int64_t		usecs;

			random_moment(&md, &day, &second);
			moments++;
			if (calendar_is_business_time(cal, day, second) != naive_is_business(&md, day, second))
			{
				if (bad_business++ == 0)
					printf("#   \"%s\": day %d second %d wrong\n", text, day, second);
			}
			usecs = (int64_t) day * CALENDAR_USECS_PER_DAY + (int64_t) second * 1000000 +
				unit_rand_below(1000000);
			bad_timestamp += calendar_is_business_timestamp(cal, usecs) != naive_is_business(&md, day, second);
		}
		free(out);
		free(again);
		free(other);
		free(cal);
	}
	free(md.open);
	CHECK(bad_parse == 0, "random calendars parse");
	CHECK(bad_valid == 0, "parsed calendars validate");
	CHECK(bad_zone == 0, "zones are kept, UTC by default");
	CHECK(bad_roundtrip == 0, "parse(format(x)) == x byte for byte");
	CHECK(bad_canonical == 0, "format(parse(format(x))) == format(x)");
	CHECK(bad_equal == 0, "different writings of one calendar give identical bytes");
	CHECK(bad_binary == 0, "decode(encode(x)) == x byte for byte");
	CHECK(bad_business == 0, "is_business_time matches the naive model");
	CHECK(bad_timestamp == 0, "is_business_timestamp matches the naive model");
	printf("# %d random calendars, %ld moments checked\n", ncalendars, moments);
}

/* ---------------------------------------------------------------- binary */

/* Whether decoding buf is safe: an error, or a value that encodes back to buf. */
static bool
decode_is_sound(const uint8_t *buf, size_t len, bool *accepted)
{
	calendar   *cal = NULL;
	kpi_msg		msg = {{0}};
	kpi_status	st = calendar_decode(buf, len, &kpi_malloc_allocator, &cal, &msg);
	bool		ok;

	*accepted = st == KPI_OK;
	if (st != KPI_OK)
		return (st == KPI_ERR_BINARY || st == KPI_ERR_VERSION) && cal == NULL && msg.text[0] != '\0';
	{
		uint8_t    *again;
		size_t		again_len;

		encode(cal, &again, &again_len);
		ok = again_len == len && memcmp(again, buf, len) == 0 &&
			calendar_validate(cal, calendar_size(cal), NULL) == KPI_OK;
		free(again);
	}
	free(cal);
	return ok;
}

static void
test_binary(void)
{
	calendar   *cal = parse("Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00:30; tz=America/New_York; holidays=2024-12-24,1999-12-31");
	uint8_t    *bytes;
	size_t		len;
	int			unsound = 0,
				truncated_accepted = 0,
				accepted = 0;
	bool		acc;

	if (cal == NULL)
	{
		CHECK(false, "binary test calendar parses");
		return;
	}
	encode(cal, &bytes, &len);
	/* 1 + 7 + 9 ranges * 8 + 1 + 16 + 4 + 2 * 4 */
	CHECK(len == 1 + 7 + 72 + 1 + 16 + 4 + 8, "encoded size");
	CHECK(bytes[0] == KPI_STATE_VERSION && bytes[1] == 2 &&
		  bytes[2] == 0 && bytes[3] == 0 && bytes[4] == 0x70 && bytes[5] == 0x80,
		  "version byte, then Monday's range count and 08:00 = 28800 = 0x7080 big-endian");
	CHECK(calendar_size(cal) == 2600 + 9 * 8 + 2 * 4,
		  "in-memory size: 2600-byte header, 8 per range, 4 per holiday");

	for (size_t n = 0; n < len; n++)
	{
		unsound += !decode_is_sound(bytes, n, &acc);
		truncated_accepted += acc;
	}
	CHECK(unsound == 0 && truncated_accepted == 0, "every truncation is rejected");
	{
		uint8_t    *longer = malloc(len + 1);

		memcpy(longer, bytes, len);
		longer[len] = 0;
		CHECK(decode_is_sound(longer, len + 1, &acc) && !acc, "a trailing byte is rejected");
		free(longer);
	}
	{
		calendar   *out = NULL;
		kpi_status	st;

		bytes[0] = 2;
		st = calendar_decode(bytes, len, &kpi_malloc_allocator, &out, NULL);
		CHECK(st == KPI_ERR_VERSION && out == NULL, "an unknown version byte is KPI_ERR_VERSION");
		bytes[0] = KPI_STATE_VERSION;
	}

	/* single-byte changes of a valid encoding, then random bytes */
	for (int i = 0; i < 20000; i++)
	{
		uint8_t    *mutated = malloc(len);

		memcpy(mutated, bytes, len);
		for (int k = 1 + unit_rand_below(3); k > 0; k--)
			mutated[unit_rand_below((int) len)] = (uint8_t) (chance(50) ? unit_rand_below(256) : mutated[unit_rand_below((int) len)] + unit_rand_below(3) - 1);
		unsound += !decode_is_sound(mutated, len, &acc);
		accepted += acc;
		free(mutated);
	}
	for (int i = 0; i < 200000; i++)
	{
		size_t		n = (size_t) unit_rand_below(80);
		uint8_t    *garbage = malloc(n + 1);

		for (size_t k = 0; k < n; k++)
			garbage[k] = (uint8_t) (chance(50) ? unit_rand_below(256) : unit_rand_below(3));
		if (n > 0 && chance(80))
			garbage[0] = KPI_STATE_VERSION;
		unsound += !decode_is_sound(garbage, n, &acc);
		accepted += acc;
		free(garbage);
	}
	CHECK(unsound == 0, "mutated and random bytes are rejected, or are a canonical encoding");
	printf("# %d of the mutated or random inputs were valid encodings\n", accepted);
	free(bytes);
	free(cal);
}

static void
test_validate(void)
{
	calendar   *cal = parse("Mon 08:00-12:00,13:00-17:00; tz=UTC; holidays=2024-12-24,2024-12-25");
	size_t		size;
	calendar   *copy;
	int			unsound = 0;

	if (cal == NULL)
	{
		CHECK(false, "validate test calendar parses");
		return;
	}
	size = calendar_size(cal);
	copy = malloc(size);
	CHECK(calendar_validate(cal, size, NULL) == KPI_OK, "a parsed calendar is valid");
	CHECK(calendar_validate(cal, size - 1, NULL) == KPI_ERR_BINARY &&
		  calendar_validate(cal, 10, NULL) == KPI_ERR_BINARY, "wrong sizes are rejected");

#define CORRUPT(change, status, what) \
	do { \
		memcpy(copy, cal, size); \
		change; \
		CHECK(calendar_validate(copy, size, NULL) == (status), what); \
	} while (0)

	CORRUPT(copy->layout = 2, KPI_ERR_VERSION, "an unknown layout is KPI_ERR_VERSION");
	CORRUPT(copy->reserved[1] = 1, KPI_ERR_BINARY, "reserved bytes must be zero");
	CORRUPT(copy->items[1] = copy->items[2], KPI_ERR_BINARY, "touching ranges must be merged");
	CORRUPT(copy->items[1] = copy->items[2] + 1, KPI_ERR_BINARY, "overlapping ranges");
	CORRUPT(copy->items[3] = 86401, KPI_ERR_BINARY, "a range past 24:00");
	CORRUPT(copy->items[0] = -1, KPI_ERR_BINARY, "a negative start");
	CORRUPT(copy->items[4] = copy->items[5], KPI_ERR_BINARY, "unsorted holidays");
	CORRUPT(copy->items[5] = CALENDAR_MAX_DAY + 1, KPI_ERR_BINARY, "a holiday after 9999-12-31");
	CORRUPT(copy->zone[5] = 'x', KPI_ERR_BINARY, "bytes after the zone name must be zero");
	CORRUPT(memset(copy->zone, 0, sizeof(copy->zone)), KPI_ERR_BINARY, "an empty zone name");
	CORRUPT(copy->zone[0] = '/', KPI_ERR_BINARY, "a malformed zone name");
	CORRUPT(copy->day_start[7] = 3, KPI_ERR_BINARY, "range counts that do not match the size");
	CORRUPT(copy->day_start[3] = 1, KPI_ERR_BINARY, "decreasing range offsets");
	CORRUPT((copy->nholidays = 1), KPI_ERR_BINARY, "a holiday count that does not match the size");
	CORRUPT(copy->minutes[8 * 60 / 4] ^= 1, KPI_ERR_BINARY, "a minute table that does not match the ranges");
#undef CORRUPT

	/* random byte changes: rejected, or still a calendar that round-trips */
	for (int i = 0; i < 50000; i++)
	{
		memcpy(copy, cal, size);
		for (int k = 1 + unit_rand_below(3); k > 0; k--)
			((uint8_t *) copy)[unit_rand_below((int) size)] = (uint8_t) unit_rng_next();
		if (calendar_validate(copy, size, NULL) == KPI_OK)
		{
			char	   *out = format(copy);
			calendar   *again = parse(out);

			unsound += !same_block(copy, again);
			free(again);
			free(out);
		}
	}
	CHECK(unsound == 0, "randomly changed blocks are rejected or round-trip");
	free(copy);
	free(cal);
}

static void
test_set_zone(void)
{
	calendar   *cal = parse("Mon 08:00-17:00; tz=america/new_YORK");
	calendar   *want = parse("Mon 08:00-17:00; tz=America/New_York");
	kpi_msg		msg = {{0}};

	if (cal == NULL || want == NULL)
	{
		CHECK(false, "set_zone calendars parse");
		return;
	}
	CHECK(!same_block(cal, want), "zone spelling is kept as written");
	CHECK(calendar_set_zone(cal, "America/New_York", &msg) == KPI_OK && same_block(cal, want),
		  "set_zone replaces the name and zero-pads");
	CHECK(calendar_set_zone(cal, "Etc/GMT+10", &msg) == KPI_OK &&
		  calendar_set_zone(cal, "UTC", &msg) == KPI_OK &&
		  calendar_validate(cal, calendar_size(cal), NULL) == KPI_OK &&
		  strcmp(cal->zone, "UTC") == 0, "a shorter name leaves no bytes behind");
	CHECK(calendar_set_zone(cal, "Bad Zone", &msg) == KPI_ERR_PARAM &&
		  strcmp(msg.text, "Invalid time zone name \"Bad Zone\": zone names consist of letters, digits, \".\", \"_\", \"-\" and \"+\", separated by \"/\".") == 0 &&
		  strcmp(cal->zone, "UTC") == 0, "set_zone rejects a bad name and keeps the old one");
	free(cal);
	free(want);
}

/* Whether parsing text is sound: an error with a detail, or a value that round-trips. */
static bool
parse_is_sound(const char *text, bool *accepted)
{
	calendar   *cal = NULL;
	kpi_msg		msg = {{0}};
	kpi_status	st = calendar_parse(text, &kpi_malloc_allocator, &cal, &msg);
	char	   *out;
	calendar   *again;
	bool		ok;

	*accepted = st == KPI_OK;
	if (st != KPI_OK)
		return (st == KPI_ERR_TEXT || st == KPI_ERR_PARAM) && cal == NULL && msg.text[0] != '\0';
	out = format(cal);
	again = parse(out);
	ok = calendar_validate(cal, calendar_size(cal), NULL) == KPI_OK && same_block(cal, again);
	free(again);
	free(out);
	free(cal);
	return ok;
}

/*
 * Random token soup, and valid random calendars with a few characters
 * deleted, doubled or replaced: rejected with a detail, or sound.
 */
static void
test_text_garbage(void)
{
	static const char *const tokens[] = {
		"Mon", "fri", "Sun", "-", ",", ";", " ", "=", "tz", "holidays", "08:00", "17:00", "24:00",
		"12:30:15", "2024-02-29", "2023-02-29", "UTC", "Europe/Oslo", "0", "9", ":", "x", "\t"
	};
	static const char replacements[] = ";,-:= 0123456789MonFritzhol/\t.+";
	model		md;
	int			unsound = 0,
				soup_accepted = 0,
				mutant_accepted = 0;
	bool		acc;

	for (int i = 0; i < 50000; i++)
	{
		char		text[400] = "";

		for (int k = unit_rand_below(16); k > 0; k--)
			strcat(text, tokens[unit_rand_below(sizeof(tokens) / sizeof(tokens[0]))]);
		unsound += !parse_is_sound(text, &acc);
		soup_accepted += acc;
	}
	md.open = malloc(WEEK_SECONDS);
	for (int i = 0; i < 5000; i++)
	{
		char		text[8192];

		random_model(&md);
		render(&md, text);
		for (int k = 1 + unit_rand_below(3); k > 0; k--)
		{
			size_t		len = strlen(text);
			size_t		at = (size_t) unit_rand_below((int) len);

			switch (unit_rand_below(3))
			{
				case 0:
					memmove(text + at, text + at + 1, len - at);
					break;
				case 1:
					memmove(text + at + 1, text + at, len - at + 1);
					break;
				default:
					text[at] = replacements[unit_rand_below(sizeof(replacements) - 1)];
			}
		}
		unsound += !parse_is_sound(text, &acc);
		mutant_accepted += acc;
	}
	free(md.open);
	CHECK(unsound == 0, "garbage text is rejected with a detail, or round-trips");
	printf("# valid: %d of 50000 token soups, %d of 5000 mutated calendars\n",
		   soup_accepted, mutant_accepted);
}

/* --------------------------------------------------------------- timing */

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
compare_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* Times both entry points over the moments; returns how many are inside. */
static long
time_calls(const calendar *cal, const int64_t *usecs, int n, const char *label)
{
	const int	rounds = 8;
	int32_t    *day = malloc((size_t) n * sizeof(int32_t));
	int32_t    *second = malloc((size_t) n * sizeof(int32_t));
	long		inside = 0,
				inside_ts = 0;
	double		t0,
				t1,
				t2;

	for (int i = 0; i < n; i++)
	{
		day[i] = (int32_t) (usecs[i] / CALENDAR_USECS_PER_DAY);
		second[i] = (int32_t) (usecs[i] % CALENDAR_USECS_PER_DAY / 1000000);
	}
	t0 = now_ns();
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			inside += calendar_is_business_time(cal, day[i], second[i]);
	t1 = now_ns();
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			inside_ts += calendar_is_business_timestamp(cal, usecs[i]);
	t2 = now_ns();
	CHECK(inside == inside_ts && inside > 0, "both entry points agree on the timing data");
	printf("# %s: calendar_is_business_time %.2f ns/call, calendar_is_business_timestamp %.2f ns/call "
		   "(%d calls each, %.1f%% inside)\n", label,
		   (t1 - t0) / ((double) n * rounds), (t2 - t1) / ((double) n * rounds),
		   n * rounds, 100.0 * inside / ((double) n * rounds));
	free(day);
	free(second);
	return inside / rounds;
}

static void
test_speed(void)
{
	calendar   *cal = parse("Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; tz=Europe/Stockholm; "
							"holidays=2024-01-01,2024-01-06,2024-03-29,2024-04-01,2024-05-01,2024-05-09,"
							"2024-06-06,2024-06-21,2024-12-24,2024-12-25,2024-12-26,2024-12-31");
	const int	n = 1 << 20;
	int64_t    *usecs = malloc((size_t) n * sizeof(int64_t));
	long		inside_random,
				inside_sorted;

	/* orders spread over 2024 (day 8766 is 2024-01-01) */
	for (int i = 0; i < n; i++)
		usecs[i] = (int64_t) (8766 + unit_rand_below(366)) * CALENDAR_USECS_PER_DAY + (int64_t) unit_rand_below(86400) * 1000000;
	inside_random = time_calls(cal, usecs, n, "random order");
	/* as a table filled in order of arrival would be scanned */
	qsort(usecs, (size_t) n, sizeof(int64_t), compare_i64);
	inside_sorted = time_calls(cal, usecs, n, "time order");
	CHECK(inside_random == inside_sorted, "the order of the moments does not change the count");
	free(usecs);
	free(cal);
}

int
main(void)
{
	unit_rng_seed(0x9E3779B97F4A7C15ull);
	test_issue_examples();
	test_accepted_forms();
	test_canonical_text();
	test_errors();
	test_date_walk();
	test_random_calendars();
	test_binary();
	test_validate();
	test_set_zone();
	test_text_garbage();
	test_speed();
	return unit_done();
}
