/*-------------------------------------------------------------------------
 *
 * calendar_core.c
 *	  Business calendars: parsing, canonical output, binary form and
 *	  validation (see calendar_core.h for the text grammar and layout).
 *
 * Parsing collects the time ranges of each weekday, together with the text
 * they were written as (for error details), in a fixed-size builder on the
 * stack; holidays go to a growing array.  Once the whole text is read, the
 * ranges of each weekday are sorted, checked for overlaps and merged where
 * they touch, the holidays are sorted and deduplicated, and the result is
 * laid out in one block.
 *
 * IDENTIFICATION
 *	  src/core/calendar_core.c
 *
 *-------------------------------------------------------------------------
 */
#include "calendar_core.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_SIZE offsetof(calendar, items)

/* Longest user text quoted in a detail, so that a detail fits a kpi_msg. */
#define SHOWN_MAX 60

static const char *const day_abbrev[CALENDAR_DAYS] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};
static const char *const day_full[CALENDAR_DAYS] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
};

/* A piece of the input text (not NUL-terminated). */
typedef struct span
{
	const char *p;
	size_t		len;
} span;

/* Walks through the items of a span separated by one character. */
typedef struct splitter
{
	const char *p;
	const char *end;
	bool		done;
} splitter;

/* A time range as written, kept until the whole text is read. */
typedef struct written_range
{
	int32_t		start;
	int32_t		end;
	span		src;
} written_range;

typedef struct builder
{
	written_range ranges[CALENDAR_DAYS][CALENDAR_MAX_RANGES_PER_DAY];
	int			nranges[CALENDAR_DAYS];
	bool		has_zone;
	span		zone;
	bool		has_holidays;
	int32_t    *holidays;
	size_t		nholidays;
	size_t		holidays_cap;
	const kpi_allocator *mem;
} builder;

/* A quoted piece of user text, shortened to SHOWN_MAX bytes. */
typedef struct shown
{
	char		text[SHOWN_MAX + 4];
} shown;

/* ------------------------------------------------------------ text tools */

/* Whitespace as PostgreSQL's scanner sees it (ASCII only). */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* An ASCII digit, whatever the locale. */
static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ASCII lower case, whatever the locale. */
static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* The text from begin to end without surrounding whitespace. */
static span
trimmed(const char *begin, const char *end)
{
	span		s;

	while (begin < end && is_space(*begin))
		begin++;
	while (end > begin && is_space(end[-1]))
		end--;
	s.p = begin;
	s.len = (size_t) (end - begin);
	return s;
}

/* Whether s is the first n letters of the lower-case ASCII word, ignoring case. */
static bool
span_matches(span s, const char *word, size_t n)
{
	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		if (ascii_lower(s.p[i]) != word[i])
			return false;
	}
	return true;
}

/* Starts splitting s (see split_next). */
static void
split_init(splitter *sp, span s)
{
	sp->p = s.p;
	sp->end = s.p + s.len;
	sp->done = false;
}

/* The next item up to sep, trimmed; false after the last one. */
static bool
split_next(splitter *sp, char sep, span *item)
{
	const char *q;

	if (sp->done)
		return false;
	q = memchr(sp->p, sep, (size_t) (sp->end - sp->p));
	if (q == NULL)
	{
		*item = trimmed(sp->p, sp->end);
		sp->done = true;
	}
	else
	{
		*item = trimmed(sp->p, q);
		sp->p = q + 1;
	}
	return true;
}

/*
 * User text for a detail, cut to SHOWN_MAX bytes (at a UTF-8 character
 * boundary) with "..." appended when it was longer.
 */
static const char *
show(shown *buf, span s)
{
	size_t		n = s.len;

	if (n > SHOWN_MAX)
	{
		n = SHOWN_MAX;
		while (n > 0 && ((unsigned char) s.p[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(buf->text, s.p, n);
	strcpy(buf->text + n, n < s.len ? "..." : "");
	return buf->text;
}

/* ----------------------------------------------------------------- dates */

/* Gregorian leap year rule. */
static bool
is_leap_year(int year)
{
	return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

/* Length of month (1-12) in year. */
static int
days_in_month(int year, int month)
{
	static const int length[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return length[month - 1] + (month == 2 && is_leap_year(year));
}

/*
 * Days since 2000-01-01 of a proleptic Gregorian date with year >= 1
 * (H. Hinnant's days_from_civil, counted in 400-year eras from 0000-03-01).
 */
static int32_t
days_from_civil(int year, int month, int day)
{
	int			y = year - (month <= 2);
	int			era = y / 400;
	int			year_of_era = y - era * 400;
	int			day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int			day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

	/* 730425 = days from 0000-03-01 to 2000-01-01 */
	return era * 146097 + day_of_era - 730425;
}

/* The inverse of days_from_civil, for days from CALENDAR_MIN_DAY on. */
static void
civil_from_days(int32_t days, int *year, int *month, int *day)
{
	int32_t		z = days + 730425;
	int			era = z / 146097;
	int			day_of_era = z - era * 146097;
	int			year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
							   day_of_era / 146096) / 365;
	int			day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 -
											year_of_era / 100);
	int			mp = (5 * day_of_year + 2) / 153;

	*day = day_of_year - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = year_of_era + era * 400 + (*month <= 2);
}

/* n digits at s as a number, or -1 if they are not all digits. */
static int
fixed_digits(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD", an existing date from 0001-01-01 to 9999-12-31. */
static bool
parse_date(span s, int32_t *out)
{
	int			year,
				month,
				day;

	if (s.len != 10 || s.p[4] != '-' || s.p[7] != '-')
		return false;
	year = fixed_digits(s.p, 4);
	month = fixed_digits(s.p + 5, 2);
	day = fixed_digits(s.p + 8, 2);
	if (year < 1 || month < 1 || month > 12 || day < 1 ||
		day > days_in_month(year, month))
		return false;
	*out = days_from_civil(year, month, day);
	return true;
}

/* ----------------------------------------------------------------- times */

/*
 * "H:MM", "HH:MM", optionally followed by ":SS", from 00:00 to 24:00, as a
 * second of the day (86400 for 24:00).
 */
static bool
parse_time(span s, int32_t *out)
{
	int			hour_digits = (s.len > 1 && is_digit(s.p[1])) ? 2 : 1;
	int			hour,
				minute,
				second = 0;
	size_t		pos = (size_t) hour_digits;

	if (s.len != pos + 3 && s.len != pos + 6)
		return false;
	hour = fixed_digits(s.p, hour_digits);
	if (s.p[pos] != ':')
		return false;
	minute = fixed_digits(s.p + pos + 1, 2);
	if (s.len == pos + 6)
	{
		if (s.p[pos + 3] != ':')
			return false;
		second = fixed_digits(s.p + pos + 4, 2);
	}
	if (hour < 0 || minute < 0 || second < 0 || minute > 59 || second > 59 ||
		hour > 24 || (hour == 24 && (minute != 0 || second != 0)))
		return false;
	*out = hour * 3600 + minute * 60 + second;
	return true;
}

/* ------------------------------------------------------------- zone name */

/* Characters of IANA zone names (and legacy ones such as "Etc/GMT+5"). */
static bool
is_zone_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
		c == '.' || c == '_' || c == '-' || c == '+';
}

/*
 * Whether name looks like a zone name: components of allowed characters
 * separated by "/", none empty and none starting with "." (so no "..").
 */
static bool
zone_name_ok(const char *name, size_t len)
{
	bool		component_start = true;

	if (len == 0 || len > CALENDAR_ZONE_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (name[i] == '/')
		{
			if (component_start)
				return false;
			component_start = true;
			continue;
		}
		if (!is_zone_char(name[i]) || (component_start && name[i] == '.'))
			return false;
		component_start = false;
	}
	return !component_start;
}

/* The parser's and calendar_set_zone's check, with its detail. */
static kpi_status
check_zone(span zone, kpi_msg *msg)
{
	shown		z;

	if (zone.len == 0)
		return kpi_fail(msg, KPI_ERR_PARAM, "The setting \"tz\" needs a time zone name.");
	if (zone.len > CALENDAR_ZONE_MAX_LEN)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"The time zone name \"%s\" is longer than %d bytes.",
						show(&z, zone), CALENDAR_ZONE_MAX_LEN);
	if (!zone_name_ok(zone.p, zone.len))
		return kpi_fail(msg, KPI_ERR_PARAM,
						"Invalid time zone name \"%s\": zone names consist of letters, digits, \".\", \"_\", \"-\" and \"+\", separated by \"/\".",
						show(&z, zone));
	return KPI_OK;
}

/* ------------------------------------------------------------- day specs */

/* Weekday number of a day name ("Mon" or "Monday", any case), or -1. */
static int
day_number(span name)
{
	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		if (span_matches(name, day_full[d], 3) ||
			span_matches(name, day_full[d], strlen(day_full[d])))
			return d;
	}
	return -1;
}

/*
 * The days of a comma list such as "Mon-Wed, Fri" as a bit mask (bit d =
 * weekday d); part is the whole day spec, for details.
 */
static kpi_status
parse_day_list(span days, span part, unsigned *mask, kpi_msg *msg)
{
	splitter	sp;
	span		item;
	shown		a,
				b;

	*mask = 0;
	split_init(&sp, days);
	while (split_next(&sp, ',', &item))
	{
		const char *dash = memchr(item.p, '-', item.len);
		span		first_name = item;
		span		last_name = item;
		int			first,
					last;

		if (dash != NULL)
		{
			first_name = trimmed(item.p, dash);
			last_name = trimmed(dash + 1, item.p + item.len);
		}
		if (first_name.len == 0 || last_name.len == 0 ||
			memchr(last_name.p, '-', last_name.len) != NULL)
			return kpi_fail(msg, KPI_ERR_TEXT,
							"Malformed day list \"%s\" in \"%s\": days are written like \"Mon\", \"Mon-Fri\" or \"Mon,Wed\".",
							show(&a, days), show(&b, part));
		first = day_number(first_name);
		if (first < 0)
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown day name \"%s\" in \"%s\".",
							show(&a, first_name), show(&b, part));
		last = day_number(last_name);
		if (last < 0)
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown day name \"%s\" in \"%s\".",
							show(&a, last_name), show(&b, part));
		/* forward through the week, wrapping after Sunday */
		for (int d = first;; d = (d + 1) % CALENDAR_DAYS)
		{
			*mask |= 1u << d;
			if (d == last)
				break;
		}
	}
	return KPI_OK;
}

/* The comma list of time ranges of a day spec, added to the days in mask. */
static kpi_status
parse_ranges(builder *b, unsigned mask, span ranges, span part, kpi_msg *msg)
{
	splitter	sp;
	span		item;
	shown		x,
				y;

	split_init(&sp, ranges);
	while (split_next(&sp, ',', &item))
	{
		const char *dash = memchr(item.p, '-', item.len);
		span		from,
					to;
		int32_t		start,
					end;

		if (dash == NULL)
			return kpi_fail(msg, KPI_ERR_TEXT,
							"Malformed time range \"%s\" in \"%s\": ranges are written like \"08:00-17:00\".",
							show(&x, item), show(&y, part));
		from = trimmed(item.p, dash);
		to = trimmed(dash + 1, item.p + item.len);
		if (!parse_time(from, &start))
			return kpi_fail(msg, KPI_ERR_TEXT,
							"Invalid time \"%s\" in \"%s\": times are written HH:MM or HH:MM:SS, from 00:00 to 24:00.",
							show(&x, from), show(&y, part));
		if (!parse_time(to, &end))
			return kpi_fail(msg, KPI_ERR_TEXT,
							"Invalid time \"%s\" in \"%s\": times are written HH:MM or HH:MM:SS, from 00:00 to 24:00.",
							show(&x, to), show(&y, part));
		if (end <= start)
			return kpi_fail(msg, KPI_ERR_PARAM,
							"The time range \"%s\" does not end after it starts; a range that crosses midnight must be split at 24:00.",
							show(&x, item));
		for (int d = 0; d < CALENDAR_DAYS; d++)
		{
			written_range *r;

			if (!(mask & (1u << d)))
				continue;
			if (b->nranges[d] == CALENDAR_MAX_RANGES_PER_DAY)
				return kpi_fail(msg, KPI_ERR_PARAM,
								"More than %d time ranges are given for %s.",
								CALENDAR_MAX_RANGES_PER_DAY, day_abbrev[d]);
			r = &b->ranges[d][b->nranges[d]++];
			r->start = start;
			r->end = end;
			r->src = item;
		}
	}
	return KPI_OK;
}

/* A part such as "Mon-Fri 08:00-17:00": days up to the first digit. */
static kpi_status
parse_day_spec(builder *b, span part, kpi_msg *msg)
{
	const char *first_digit = part.p;
	const char *end = part.p + part.len;
	unsigned	mask;
	kpi_status	st;
	shown		x;

	while (first_digit < end && !is_digit(*first_digit))
		first_digit++;
	if (first_digit == part.p)
		return kpi_fail(msg, KPI_ERR_TEXT,
						"The day spec \"%s\" does not start with a day name.", show(&x, part));
	if (first_digit == end)
		return kpi_fail(msg, KPI_ERR_TEXT,
						"The day spec \"%s\" has no time range such as \"08:00-17:00\".",
						show(&x, part));
	st = parse_day_list(trimmed(part.p, first_digit), part, &mask, msg);
	if (st != KPI_OK)
		return st;
	return parse_ranges(b, mask, trimmed(first_digit, end), part, msg);
}

/* ----------------------------------------------------------- settings */

/* Appends a day number to the builder's growing holiday array. */
static kpi_status
add_holiday(builder *b, int32_t day, kpi_msg *msg)
{
	if (b->nholidays == b->holidays_cap)
	{
		size_t		cap = b->holidays_cap == 0 ? 16 : 2 * b->holidays_cap;
		int32_t    *grown;

		if (b->holidays == NULL)
			grown = b->mem->alloc(cap * sizeof(int32_t), b->mem->ctx);
		else
			grown = b->mem->realloc(b->holidays, cap * sizeof(int32_t), b->mem->ctx);
		if (grown == NULL)
			return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while reading the holidays.");
		b->holidays = grown;
		b->holidays_cap = cap;
	}
	b->holidays[b->nholidays++] = day;
	return KPI_OK;
}

/* The value of "holidays=": a comma list of dates, possibly empty. */
static kpi_status
parse_holidays(builder *b, span list, kpi_msg *msg)
{
	splitter	sp;
	span		item;
	shown		x;

	if (list.len == 0)
		return KPI_OK;
	split_init(&sp, list);
	while (split_next(&sp, ',', &item))
	{
		int32_t		day;
		kpi_status	st;

		if (item.len == 0)
			return kpi_fail(msg, KPI_ERR_TEXT,
							"The holiday list \"%s\" has an empty entry.", show(&x, list));
		if (!parse_date(item, &day))
			return kpi_fail(msg, KPI_ERR_TEXT,
							"Invalid holiday \"%s\": dates are written YYYY-MM-DD, from 0001-01-01 to 9999-12-31.",
							show(&x, item));
		st = add_holiday(b, day, msg);
		if (st != KPI_OK)
			return st;
	}
	return KPI_OK;
}

/* A part "key=value"; eq points at the "=". */
static kpi_status
parse_setting(builder *b, span part, const char *eq, kpi_msg *msg)
{
	span		key = trimmed(part.p, eq);
	span		value = trimmed(eq + 1, part.p + part.len);
	shown		x,
				y;

	if (span_matches(key, "tz", 2))
	{
		if (b->has_zone)
			return kpi_fail(msg, KPI_ERR_TEXT, "The setting \"%s\" is given more than once.",
							show(&x, key));
		b->has_zone = true;
		b->zone = value;
		return check_zone(value, msg);
	}
	if (span_matches(key, "holidays", 8))
	{
		if (b->has_holidays)
			return kpi_fail(msg, KPI_ERR_TEXT, "The setting \"%s\" is given more than once.",
							show(&x, key));
		b->has_holidays = true;
		return parse_holidays(b, value, msg);
	}
	return kpi_fail(msg, KPI_ERR_TEXT,
					"Unknown setting \"%s\" in \"%s\": the settings are \"tz\" and \"holidays\".",
					show(&x, key), show(&y, part));
}

/* ------------------------------------------------------------- assembly */

/* Number of time ranges of weekday. */
static int
day_range_count(const calendar *cal, int weekday)
{
	return cal->day_start[weekday + 1] - cal->day_start[weekday];
}

/* qsort comparator for int32_t. */
static int
compare_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/*
 * Sorts the ranges of each weekday by start (stable, so details name them
 * in writing order), rejects overlaps and merges touching ranges.
 */
static kpi_status
normalize_ranges(builder *b, kpi_msg *msg)
{
	shown		x,
				y;

	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		written_range *r = b->ranges[d];
		int			n = b->nranges[d];
		int			kept = 0;

		for (int i = 1; i < n; i++)
		{
			written_range moving = r[i];
			int			j = i;

			for (; j > 0 && r[j - 1].start > moving.start; j--)
				r[j] = r[j - 1];
			r[j] = moving;
		}
		/* sorted by start, so only neighbours can overlap */
		for (int i = 1; i < n; i++)
		{
			if (r[i].start < r[i - 1].end)
				return kpi_fail(msg, KPI_ERR_PARAM,
								"The time ranges \"%s\" and \"%s\" overlap on %s.",
								show(&x, r[i - 1].src), show(&y, r[i].src), day_abbrev[d]);
		}
		for (int i = 0; i < n; i++)
		{
			if (kept > 0 && r[i].start == r[kept - 1].end)
				r[kept - 1].end = r[i].end;
			else
				r[kept++] = r[i];
		}
		b->nranges[d] = kept;
	}
	return KPI_OK;
}

/* Sorts and deduplicates the holidays. */
static kpi_status
normalize_holidays(builder *b, kpi_msg *msg)
{
	size_t		kept = 0;

	if (b->nholidays == 0)
		return KPI_OK;
	qsort(b->holidays, b->nholidays, sizeof(int32_t), compare_int32);
	for (size_t i = 0; i < b->nholidays; i++)
	{
		if (kept == 0 || b->holidays[i] != b->holidays[kept - 1])
			b->holidays[kept++] = b->holidays[i];
	}
	b->nholidays = kept;
	if (kept > CALENDAR_MAX_HOLIDAYS)
		return kpi_fail(msg, KPI_ERR_PARAM, "More than %d holidays are given.",
						CALENDAR_MAX_HOLIDAYS);
	return KPI_OK;
}

/* Sets the 2-bit code of a minute of the week. */
static void
set_minute(uint8_t *minutes, int32_t minute, unsigned code)
{
	int			shift = minute % 4 * 2;

	minutes[minute / 4] = (uint8_t) ((minutes[minute / 4] & ~(3u << shift)) | (code << shift));
}

/*
 * The minute table of the (valid) ranges of cal: minutes wholly inside a
 * range are OPEN, minutes where a range starts or ends after second 0 are
 * MIXED.  Ranges neither touch nor overlap, so no minute is both.
 */
static void
compute_minutes(const calendar *cal, uint8_t *minutes)
{
	memset(minutes, 0, CALENDAR_MINUTES_PER_WEEK / 4);
	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		const int32_t *bound = calendar_day_bounds(cal, d);

		for (int i = 0; i < day_range_count(cal, d); i++)
		{
			int32_t		start = bound[2 * i];
			int32_t		end = bound[2 * i + 1];

			for (int32_t m = (start + 59) / 60; m < end / 60; m++)
				set_minute(minutes, d * 1440 + m, CALENDAR_MINUTE_OPEN);
			if (start % 60 != 0)
				set_minute(minutes, d * 1440 + start / 60, CALENDAR_MINUTE_MIXED);
			if (end % 60 != 0)
				set_minute(minutes, d * 1440 + end / 60, CALENDAR_MINUTE_MIXED);
		}
	}
}

/* Lays out the normalized builder as a new block. */
static kpi_status
assemble(const builder *b, calendar **out, kpi_msg *msg)
{
	int			nranges = 0;
	size_t		size;
	calendar   *cal;
	int32_t    *item;

	for (int d = 0; d < CALENDAR_DAYS; d++)
		nranges += b->nranges[d];
	if (nranges == 0)
		return kpi_fail(msg, KPI_ERR_TEXT,
						"A business calendar needs at least one day spec such as \"Mon-Fri 08:00-17:00\".");
	size = HEADER_SIZE + sizeof(int32_t) * (2 * (size_t) nranges + b->nholidays);
	cal = b->mem->alloc(size, b->mem->ctx);
	if (cal == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while building a business calendar.");
	memset(cal, 0, size);
	cal->layout = CALENDAR_LAYOUT_VERSION;
	item = cal->items;
	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		cal->day_start[d] = (uint8_t) ((item - cal->items) / 2);
		for (int i = 0; i < b->nranges[d]; i++)
		{
			*item++ = b->ranges[d][i].start;
			*item++ = b->ranges[d][i].end;
		}
	}
	cal->day_start[CALENDAR_DAYS] = (uint8_t) nranges;
	cal->nholidays = (uint32_t) b->nholidays;
	if (b->nholidays > 0)
		memcpy(item, b->holidays, b->nholidays * sizeof(int32_t));
	if (b->has_zone)
		memcpy(cal->zone, b->zone.p, b->zone.len);
	else
		strcpy(cal->zone, "UTC");
	compute_minutes(cal, cal->minutes);
	*out = cal;
	return KPI_OK;
}

/* Splits the text into parts at ";" and reads each into the builder. */
static kpi_status
parse_parts(builder *b, const char *text, kpi_msg *msg)
{
	span		all = trimmed(text, text + strlen(text));
	splitter	sp;
	span		part;
	shown		x;

	if (all.len == 0)
		return kpi_fail(msg, KPI_ERR_TEXT,
						"A business calendar needs at least one day spec such as \"Mon-Fri 08:00-17:00\".");
	split_init(&sp, all);
	while (split_next(&sp, ';', &part))
	{
		const char *eq = memchr(part.p, '=', part.len);
		kpi_status	st;

		if (part.len == 0)
			return kpi_fail(msg, KPI_ERR_TEXT,
							"The calendar \"%s\" has an empty part: parts are separated by a single \";\".",
							show(&x, all));
		st = eq != NULL ? parse_setting(b, part, eq, msg) : parse_day_spec(b, part, msg);
		if (st != KPI_OK)
			return st;
	}
	return KPI_OK;
}

/*
 * calendar_parse
 *	  Parses the text form into a new block (see calendar_core.h).
 */
kpi_status
calendar_parse(const char *text, const kpi_allocator *mem, calendar **out, kpi_msg *msg)
{
	builder		b;
	kpi_status	st;

	memset(&b, 0, sizeof(b));
	b.mem = mem;
	st = parse_parts(&b, text, msg);
	if (st == KPI_OK)
		st = normalize_ranges(&b, msg);
	if (st == KPI_OK)
		st = normalize_holidays(&b, msg);
	if (st == KPI_OK)
		st = assemble(&b, out, msg);
	if (b.holidays != NULL)
		mem->free(b.holidays, mem->ctx);
	return st;
}

/* ---------------------------------------------------------------- output */

/* A second of the day as HH:MM, or HH:MM:SS when the seconds are not zero. */
static void
append_time(kpi_strbuf *sb, int32_t second)
{
	if (second % 60 != 0)
		kpi_strbuf_appendf(sb, "%02d:%02d:%02d", (int) (second / 3600),
						   (int) (second / 60 % 60), (int) (second % 60));
	else
		kpi_strbuf_appendf(sb, "%02d:%02d", (int) (second / 3600), (int) (second / 60 % 60));
}

/* Whether weekdays d and e have identical time ranges. */
static bool
same_ranges(const calendar *cal, int d, int e)
{
	return day_range_count(cal, d) == day_range_count(cal, e) &&
		memcmp(calendar_day_bounds(cal, d), calendar_day_bounds(cal, e),
			   2 * sizeof(int32_t) * (size_t) day_range_count(cal, d)) == 0;
}

/* The days of mask as runs within Monday..Sunday: "Mon-Wed,Fri". */
static void
append_days(kpi_strbuf *sb, unsigned mask)
{
	const char *separator = "";

	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		int			last = d;

		if (!(mask & (1u << d)))
			continue;
		while (last + 1 < CALENDAR_DAYS && (mask & (1u << (last + 1))))
			last++;
		kpi_strbuf_append(sb, separator);
		kpi_strbuf_append(sb, day_abbrev[d]);
		if (last > d)
		{
			kpi_strbuf_append(sb, "-");
			kpi_strbuf_append(sb, day_abbrev[last]);
		}
		separator = ",";
		d = last;
	}
}

/*
 * calendar_format
 *	  Appends the canonical text: grouped day specs, "tz=", "holidays=".
 */
kpi_status
calendar_format(const calendar *cal, kpi_strbuf *sb)
{
	unsigned	done = 0;
	const int32_t *holiday = calendar_holiday_list(cal);

	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		unsigned	group = 0;
		const int32_t *bound = calendar_day_bounds(cal, d);

		if ((done & (1u << d)) || day_range_count(cal, d) == 0)
			continue;
		for (int e = d; e < CALENDAR_DAYS; e++)
		{
			if (same_ranges(cal, d, e))
				group |= 1u << e;
		}
		if (done != 0)
			kpi_strbuf_append(sb, "; ");
		done |= group;
		append_days(sb, group);
		for (int i = 0; i < day_range_count(cal, d); i++)
		{
			kpi_strbuf_append(sb, i == 0 ? " " : ",");
			append_time(sb, bound[2 * i]);
			kpi_strbuf_append(sb, "-");
			append_time(sb, bound[2 * i + 1]);
		}
	}
	kpi_strbuf_append(sb, "; tz=");
	kpi_strbuf_append(sb, cal->zone);
	for (uint32_t i = 0; i < cal->nholidays; i++)
	{
		int			year,
					month,
					day;

		civil_from_days(holiday[i], &year, &month, &day);
		kpi_strbuf_append(sb, i == 0 ? "; holidays=" : ",");
		kpi_strbuf_appendf(sb, "%04d-%02d-%02d", year, month, day);
	}
	return sb->failed ? KPI_ERR_NOMEM : KPI_OK;
}

/*
 * calendar_size
 *	  Bytes of the block: header, ranges and holidays.
 */
size_t
calendar_size(const calendar *cal)
{
	return HEADER_SIZE +
		sizeof(int32_t) * (2 * (size_t) cal->day_start[CALENDAR_DAYS] + cal->nholidays);
}

/*
 * calendar_set_zone
 *	  Replaces the zone name after the parser's checks.
 */
kpi_status
calendar_set_zone(calendar *cal, const char *zone, kpi_msg *msg)
{
	span		name = {zone, strlen(zone)};
	kpi_status	st = check_zone(name, msg);

	if (st != KPI_OK)
		return st;
	memset(cal->zone, 0, sizeof(cal->zone));
	memcpy(cal->zone, zone, name.len);
	return KPI_OK;
}

/* ------------------------------------------------------------ validation */

/* The zone field: a valid name followed by NUL bytes only. */
static bool
zone_field_ok(const char *field)
{
	size_t		len = 0;

	while (len < sizeof(((calendar *) NULL)->zone) && field[len] != '\0')
		len++;
	for (size_t i = len; i < sizeof(((calendar *) NULL)->zone); i++)
	{
		if (field[i] != '\0')
			return false;
	}
	return zone_name_ok(field, len);
}

/* Everything calendar_validate checks except the derived minute table. */
static kpi_status
check_contents(const calendar *cal, size_t size, kpi_msg *msg)
{
	const int32_t *holiday;

	if (size < HEADER_SIZE)
		return kpi_fail(msg, KPI_ERR_BINARY,
						"The business calendar is %zu bytes long, shorter than its header.", size);
	if (cal->layout != CALENDAR_LAYOUT_VERSION)
		return kpi_fail(msg, KPI_ERR_VERSION,
						"Unknown business calendar layout version %u.", (unsigned) cal->layout);
	if (cal->reserved[0] != 0 || cal->reserved[1] != 0 || cal->reserved[2] != 0)
		return kpi_fail(msg, KPI_ERR_BINARY, "The reserved bytes of the business calendar are not zero.");
	if (cal->day_start[0] != 0)
		return kpi_fail(msg, KPI_ERR_BINARY, "The business calendar has invalid range counts.");
	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		if (cal->day_start[d + 1] < cal->day_start[d] ||
			day_range_count(cal, d) > CALENDAR_MAX_RANGES_PER_DAY)
			return kpi_fail(msg, KPI_ERR_BINARY, "The business calendar has invalid range counts.");
	}
	if (cal->day_start[CALENDAR_DAYS] == 0)
		return kpi_fail(msg, KPI_ERR_BINARY, "The business calendar has no business hours.");
	if (cal->nholidays > CALENDAR_MAX_HOLIDAYS)
		return kpi_fail(msg, KPI_ERR_BINARY, "The business calendar has more than %d holidays.",
						CALENDAR_MAX_HOLIDAYS);
	if (size != calendar_size(cal))
		return kpi_fail(msg, KPI_ERR_BINARY,
						"The business calendar is %zu bytes long, but its contents take %zu.",
						size, calendar_size(cal));
	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		const int32_t *bound = calendar_day_bounds(cal, d);
		int32_t		previous_end = -1;

		for (int i = 0; i < day_range_count(cal, d); i++)
		{
			int32_t		start = bound[2 * i];
			int32_t		end = bound[2 * i + 1];

			/* strictly after the previous end: touching ranges are merged */
			if (start <= previous_end || start < 0 || end <= start ||
				end > CALENDAR_SECONDS_PER_DAY)
				return kpi_fail(msg, KPI_ERR_BINARY,
								"The business calendar has an invalid time range on %s.",
								day_abbrev[d]);
			previous_end = end;
		}
	}
	if (!zone_field_ok(cal->zone))
		return kpi_fail(msg, KPI_ERR_BINARY, "The business calendar has an invalid time zone name.");
	holiday = calendar_holiday_list(cal);
	for (uint32_t i = 0; i < cal->nholidays; i++)
	{
		if (holiday[i] < CALENDAR_MIN_DAY || holiday[i] > CALENDAR_MAX_DAY ||
			(i > 0 && holiday[i] <= holiday[i - 1]))
			return kpi_fail(msg, KPI_ERR_BINARY,
							"The holidays of the business calendar are not sorted unique dates from 0001-01-01 to 9999-12-31.");
	}
	return KPI_OK;
}

/*
 * calendar_validate
 *	  Checks a block read from storage, its minute table included.
 */
kpi_status
calendar_validate(const calendar *cal, size_t size, kpi_msg *msg)
{
	uint8_t		minutes[CALENDAR_MINUTES_PER_WEEK / 4];
	kpi_status	st = check_contents(cal, size, msg);

	if (st != KPI_OK)
		return st;
	compute_minutes(cal, minutes);
	if (memcmp(minutes, cal->minutes, sizeof(minutes)) != 0)
		return kpi_fail(msg, KPI_ERR_BINARY,
						"The minute table of the business calendar does not match its time ranges.");
	return KPI_OK;
}

/* ---------------------------------------------------------------- binary */

/*
 * calendar_encoded_size
 *	  Bytes of the binary form.
 */
size_t
calendar_encoded_size(const calendar *cal)
{
	return 1 + CALENDAR_DAYS + 8 * (size_t) cal->day_start[CALENDAR_DAYS] +
		1 + strlen(cal->zone) + 4 + 4 * (size_t) cal->nholidays;
}

/*
 * calendar_encode
 *	  Writes the binary form (the minute table is left out).
 */
void
calendar_encode(const calendar *cal, kpi_writer *w)
{
	size_t		zone_len = strlen(cal->zone);
	const int32_t *holiday = calendar_holiday_list(cal);

	kpi_put_u8(w, KPI_STATE_VERSION);
	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		const int32_t *bound = calendar_day_bounds(cal, d);

		kpi_put_u8(w, (uint8_t) day_range_count(cal, d));
		for (int i = 0; i < 2 * day_range_count(cal, d); i++)
			kpi_put_u32(w, (uint32_t) bound[i]);
	}
	kpi_put_u8(w, (uint8_t) zone_len);
	for (size_t i = 0; i < zone_len; i++)
		kpi_put_u8(w, (uint8_t) cal->zone[i]);
	kpi_put_u32(w, cal->nholidays);
	for (uint32_t i = 0; i < cal->nholidays; i++)
		kpi_put_u32(w, (uint32_t) holiday[i]);
}

/*
 * calendar_decode
 *	  Reads the binary form, checks it and rebuilds the minute table.
 */
kpi_status
calendar_decode(const uint8_t *buf, size_t len, const kpi_allocator *mem,
				calendar **out, kpi_msg *msg)
{
	kpi_reader	r;
	int32_t		bounds[2 * CALENDAR_DAYS * CALENDAR_MAX_RANGES_PER_DAY];
	uint8_t		day_start[CALENDAR_DAYS + 1];
	char		zone[CALENDAR_ZONE_MAX_LEN + 1];
	unsigned	zone_len;
	uint32_t	nholidays;
	int			nranges = 0;
	size_t		size;
	calendar   *cal;
	int32_t    *holiday;
	kpi_status	st;

	kpi_reader_init(&r, buf, len);
	st = kpi_get_version(&r, msg);
	if (st != KPI_OK)
		return st;
	for (int d = 0; d < CALENDAR_DAYS; d++)
	{
		unsigned	n = kpi_get_u8(&r);

		if (n > CALENDAR_MAX_RANGES_PER_DAY)
			return kpi_fail(msg, KPI_ERR_BINARY,
							"%s has %u time ranges, more than %d.", day_abbrev[d], n,
							CALENDAR_MAX_RANGES_PER_DAY);
		day_start[d] = (uint8_t) nranges;
		for (unsigned i = 0; i < 2 * n; i++)
			bounds[2 * nranges + (int) i] = (int32_t) kpi_get_u32(&r);
		nranges += (int) n;
	}
	day_start[CALENDAR_DAYS] = (uint8_t) nranges;
	zone_len = kpi_get_u8(&r);
	if (zone_len > CALENDAR_ZONE_MAX_LEN)
		return kpi_fail(msg, KPI_ERR_BINARY,
						"The time zone name is %u bytes long, more than %d.", zone_len,
						CALENDAR_ZONE_MAX_LEN);
	memset(zone, 0, sizeof(zone));
	for (unsigned i = 0; i < zone_len; i++)
		zone[i] = (char) kpi_get_u8(&r);
	nholidays = kpi_get_u32(&r);
	if (r.failed)
		return kpi_reader_finish(&r, msg);
	if (memchr(zone, '\0', zone_len) != NULL)
		return kpi_fail(msg, KPI_ERR_BINARY, "The time zone name contains a NUL byte.");
	if (nholidays > CALENDAR_MAX_HOLIDAYS)
		return kpi_fail(msg, KPI_ERR_BINARY, "The business calendar has more than %d holidays.",
						CALENDAR_MAX_HOLIDAYS);

	size = HEADER_SIZE + sizeof(int32_t) * (2 * (size_t) nranges + nholidays);
	cal = mem->alloc(size, mem->ctx);
	if (cal == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while reading a business calendar.");
	memset(cal, 0, size);
	cal->layout = CALENDAR_LAYOUT_VERSION;
	memcpy(cal->day_start, day_start, sizeof(day_start));
	cal->nholidays = nholidays;
	memcpy(cal->zone, zone, sizeof(zone));
	memcpy(cal->items, bounds, 2 * sizeof(int32_t) * (size_t) nranges);
	holiday = cal->items + 2 * nranges;
	for (uint32_t i = 0; i < nholidays; i++)
		holiday[i] = (int32_t) kpi_get_u32(&r);
	st = kpi_reader_finish(&r, msg);
	if (st == KPI_OK)
		st = check_contents(cal, size, msg);
	if (st != KPI_OK)
	{
		mem->free(cal, mem->ctx);
		return st;
	}
	compute_minutes(cal, cal->minutes);
	*out = cal;
	return KPI_OK;
}
