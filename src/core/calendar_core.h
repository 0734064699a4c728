/*-------------------------------------------------------------------------
 *
 * calendar_core.h
 *	  Business calendars: weekly opening hours, a time zone name and
 *	  holidays, as used by kpi.offhours_share and kpi.is_business_hours.
 *
 * Text form (the input and output of SQL type kpi.business_calendar):
 *
 *	  Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; tz=America/New_York;
 *	  holidays=2024-12-24,2024-12-25
 *
 * - Parts are separated by ";" and may come in any order.  Whitespace
 *	 around every token is ignored; day names and setting names are
 *	 case-insensitive.  An empty part (";;", a trailing ";") is an error.
 * - A day spec is a comma list of days and day ranges followed by a comma
 *	 list of time ranges: "Mon", "mon,wed", "Mon-Fri 08:00-17:00".  Days
 *	 are "Mon" .. "Sun" or "Monday" .. "Sunday".  A day range runs forward
 *	 through the week and may wrap past Sunday: "Fri-Mon" is Friday,
 *	 Saturday, Sunday and Monday; "Mon-Mon" is Monday alone.  A day listed
 *	 twice in one spec counts once.
 * - A time range "HH:MM-HH:MM" (or "HH:MM:SS", one-digit hours allowed)
 *	 is half-open: the start second is inside, the end second is not.
 *	 Times run from 00:00 to 24:00, and 24:00 can only end a range, since
 *	 a range must end after it starts.  A range cannot cross midnight:
 *	 write "Fri 22:00-24:00; Sat 00:00-06:00" instead.
 * - A weekday named in several day specs gets the ranges of all of them
 *	 ("Mon-Fri 08:00-12:00; Mon 13:00-17:00"); ranges of one weekday must
 *	 not overlap, wherever they were written.  Ranges that touch
 *	 ("08:00-12:00,12:00-17:00") are merged, because they describe the
 *	 same business seconds as "08:00-17:00".
 * - At least one day spec is required: a calendar with no business hours
 *	 at all is almost certainly a mistake, and would make every moment
 *	 off-hours.
 * - "tz=<name>": the zone whose wall-clock time the calendar describes;
 *	 absent means "UTC".  The core only checks the characters (letters,
 *	 digits, ".", "_", "-", "+", separated by "/", no empty or dot-led
 *	 component, at most CALENDAR_ZONE_MAX_LEN bytes); the PostgreSQL glue
 *	 checks that the zone exists.
 * - "holidays=<date>,<date>,...": ISO dates YYYY-MM-DD from 0001-01-01 to
 *	 9999-12-31 that are off-hours all day (in the calendar's zone).  Order
 *	 and repetition do not matter; an empty list is allowed.
 *
 * Errors: text that does not follow this grammar (empty calendar or part,
 * unknown day name or setting, a setting given twice, a malformed or
 * nonexistent time or date, a day spec without time range) is
 * KPI_ERR_TEXT.  Well-formed values that cannot be accepted (a range that
 * does not end after it starts, overlapping ranges, an invalid zone name,
 * too many ranges or holidays) are KPI_ERR_PARAM.  The detail quotes the
 * offending text.
 *
 * The output is canonical: specs in week order starting on Monday, days
 * with identical ranges grouped ("Mon-Fri", "Mon,Wed,Sat-Sun"), times as
 * HH:MM (HH:MM:SS only when the seconds are not zero), then "tz=" and,
 * when there are any, "holidays=" with sorted unique dates, all joined by
 * "; ".  Parsing the output gives the same value.
 *
 * In memory a calendar is one flat, position-independent block of
 * calendar_size() bytes that needs 4-byte alignment and can be copied
 * with memcpy.  Equal calendars are byte-identical blocks (padding-free,
 * zero-filled zone name, merged and sorted ranges, sorted unique
 * holidays, a minute table derived from the ranges), so memcmp compares
 * them.  The binary form leaves out the 2.5 kB minute table, which
 * decoding rebuilds: the SQL type kpi.business_calendar stores the binary
 * form, and each call site decodes it once into a block.
 *
 * Binary form (send/recv), big-endian, version byte first:
 *	  u8 KPI_STATE_VERSION
 *	  7 x (u8 n, n x (u32 start, u32 end))	  Monday first, seconds of day
 *	  u8 zone length, zone bytes
 *	  u32 holiday count, that many i32 day numbers
 *
 * IDENTIFICATION
 *	  src/core/calendar_core.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_CALENDAR_CORE_H
#define KPI_CALENDAR_CORE_H

#include "kpi_core.h"
#include "codec.h"

#define CALENDAR_DAYS 7			/* weekdays are numbered Monday = 0 .. Sunday = 6 */
#define CALENDAR_SECONDS_PER_DAY 86400
#define CALENDAR_USECS_PER_DAY INT64_C(86400000000)
#define CALENDAR_ZONE_MAX_LEN 63	/* bytes; the longest IANA name has 32 */
#define CALENDAR_MAX_RANGES_PER_DAY 32
#define CALENDAR_MAX_HOLIDAYS 65536
#define CALENDAR_LAYOUT_VERSION 1	/* first byte of the in-memory block */

/* Days since 2000-01-01 (PostgreSQL's date epoch) of the valid holidays. */
#define CALENDAR_MIN_DAY (-730119)	/* 0001-01-01 */
#define CALENDAR_MAX_DAY 2921939	/* 9999-12-31 */

/* Codes of calendar.minutes: 2 bits per minute of the week. */
#define CALENDAR_MINUTE_CLOSED 0
#define CALENDAR_MINUTE_OPEN 1
#define CALENDAR_MINUTE_MIXED 2 /* a range starts or ends inside the minute */
#define CALENDAR_MINUTES_PER_WEEK (CALENDAR_DAYS * 1440)

/*
 * The in-memory block: a 2600-byte header, then 8 bytes per time range and
 * 4 bytes per holiday.
 *
 * items holds, first, two int32 per time range (start and end second of
 * the day, start < end, sorted, neither overlapping nor touching within a
 * weekday), weekday by weekday: the ranges of weekday d are numbers
 * day_start[d] .. day_start[d + 1] - 1.  Then come nholidays strictly
 * increasing day numbers.
 *
 * minutes is derived from the ranges, so that the hot path needs no
 * search: the code of minute m of the week (m = weekday * 1440 + minute of
 * the day) is bits 2 * (m % 4) .. 2 * (m % 4) + 1 of minutes[m / 4].  Only
 * MIXED minutes, which exist only when a range bound has seconds, look at
 * the ranges.
 */
typedef struct calendar
{
	uint8_t		layout;			/* CALENDAR_LAYOUT_VERSION */
	uint8_t		reserved[3];	/* zero */
	uint8_t		day_start[CALENDAR_DAYS + 1];
	uint32_t	nholidays;
	char		zone[CALENDAR_ZONE_MAX_LEN + 1];	/* NUL-padded */
	uint8_t		minutes[CALENDAR_MINUTES_PER_WEEK / 4];
	int32_t		items[];
} calendar;

/*
 * calendar_parse
 *	  Parses the text form (NUL-terminated) into a new block allocated with
 *	  mem (free it with mem->free).  Temporary memory also comes from mem
 *	  and is freed before returning.
 */
extern kpi_status calendar_parse(const char *text, const kpi_allocator *mem,
								 calendar **out, kpi_msg *msg);

/*
 * calendar_format
 *	  Appends the canonical text form to sb; KPI_ERR_NOMEM if sb ran out
 *	  of memory.
 */
extern kpi_status calendar_format(const calendar *cal, kpi_strbuf *sb);

/* calendar_size: bytes of the block, header included. */
extern size_t calendar_size(const calendar *cal);

/*
 * calendar_validate
 *	  Checks that size bytes at cal hold a well-formed, canonical block,
 *	  its minute table included: for a block that did not come straight
 *	  from calendar_parse or calendar_decode (the unit tests check every
 *	  block they build with it).  KPI_ERR_VERSION for an unknown layout,
 *	  KPI_ERR_BINARY for anything else.
 */
extern kpi_status calendar_validate(const calendar *cal, size_t size, kpi_msg *msg);

/*
 * calendar_set_zone
 *	  Replaces the zone name, with the same checks as the parser
 *	  (KPI_ERR_PARAM); the glue may use it to store the spelling
 *	  PostgreSQL's zone database uses.
 */
extern kpi_status calendar_set_zone(calendar *cal, const char *zone, kpi_msg *msg);

/* calendar_encoded_size: bytes calendar_encode will write. */
extern size_t calendar_encoded_size(const calendar *cal);

/* calendar_encode: writes the binary form; w needs calendar_encoded_size(). */
extern void calendar_encode(const calendar *cal, kpi_writer *w);

/*
 * calendar_decode
 *	  Reads the binary form into a new block allocated with mem.  Anything
 *	  but a complete, canonical encoding with nothing left over is
 *	  KPI_ERR_BINARY (KPI_ERR_VERSION for an unknown version byte).
 */
extern kpi_status calendar_decode(const uint8_t *buf, size_t len,
								  const kpi_allocator *mem, calendar **out,
								  kpi_msg *msg);

/*
 * calendar_day_bounds
 *	  The time ranges of weekday (Monday = 0): start/end pairs of seconds.
 */
static inline const int32_t *
calendar_day_bounds(const calendar *cal, int weekday)
{
	return cal->items + 2 * cal->day_start[weekday];
}

/* calendar_holiday_list: the nholidays sorted day numbers. */
static inline const int32_t *
calendar_holiday_list(const calendar *cal)
{
	return cal->items + 2 * cal->day_start[CALENDAR_DAYS];
}

/*
 * calendar_weekday
 *	  Weekday (Monday = 0) of a day number, for any int32; 2000-01-01 was a
 *	  Saturday.  Adding 2147483651 (a multiple of 7, plus 5) makes every
 *	  day number positive, so an unsigned remainder needs no sign fix.
 */
static inline int
calendar_weekday(int32_t day)
{
	return (int) ((uint64_t) ((int64_t) day + INT64_C(2147483651)) % 7u);
}

/*
 * calendar_is_holiday
 *	  Whether day (days since 2000-01-01) is a holiday: a branch-free
 *	  binary search after a range check.
 */
static inline bool
calendar_is_holiday(const calendar *cal, int32_t day)
{
	const int32_t *base = calendar_holiday_list(cal);
	uint32_t	n = cal->nholidays;

	if (n == 0 || day < base[0] || day > base[n - 1])
		return false;
	/* invariant: the last holiday <= day is in base[0 .. n-1] */
	while (n > 1)
	{
		uint32_t	half = n / 2;

		base = base[half] <= day ? base + half : base;
		n -= half;
	}
	return *base == day;
}

/*
 * calendar_in_ranges
 *	  Whether second_of_day is in a time range of weekday (a linear scan;
 *	  the hot path uses it only for MIXED minutes).
 */
static inline bool
calendar_in_ranges(const calendar *cal, int weekday, int32_t second_of_day)
{
	const int32_t *bound = calendar_day_bounds(cal, weekday);
	const int32_t *stop = calendar_day_bounds(cal, weekday + 1);

	/* the first range ending after the moment is the only candidate */
	for (; bound < stop; bound += 2)
	{
		if (second_of_day < bound[1])
			return second_of_day >= bound[0];
	}
	return false;
}

/*
 * calendar_is_business_time
 *	  The hot path: whether the local wall-clock moment second_of_day on
 *	  local_day (days since 2000-01-01) is in business hours.  Ranges are
 *	  half-open; seconds outside 0 .. 86399 are never business time.  One
 *	  table lookup and a holiday search, both without data-dependent
 *	  branches (a range scan only in MIXED minutes).  No allocation, no
 *	  failure.
 */
static inline bool
calendar_is_business_time(const calendar *cal, int32_t local_day, int32_t second_of_day)
{
	int			weekday;
	uint32_t	minute;
	unsigned	code;

	if ((uint32_t) second_of_day >= CALENDAR_SECONDS_PER_DAY)
		return false;
	weekday = calendar_weekday(local_day);
	minute = (uint32_t) weekday * 1440 + (uint32_t) second_of_day / 60;
	code = (cal->minutes[minute / 4] >> (minute % 4 * 2)) & 3;
	if (code == CALENDAR_MINUTE_MIXED)
		code = calendar_in_ranges(cal, weekday, second_of_day);
	/* "&", not "&&": no branch on whether the moment is inside a range */
	return (code != CALENDAR_MINUTE_CLOSED) & !calendar_is_holiday(cal, local_day);
}

/*
 * calendar_is_business_timestamp
 *	  The same for a local timestamp in PostgreSQL's representation
 *	  (microseconds since 2000-01-01 00:00 local time, any int64), rounded
 *	  down to the second.
 */
static inline bool
calendar_is_business_timestamp(const calendar *cal, int64_t local_usecs)
{
	int64_t		day = local_usecs / CALENDAR_USECS_PER_DAY;
	int64_t		usec = local_usecs % CALENDAR_USECS_PER_DAY;

	if (usec < 0)
	{
		usec += CALENDAR_USECS_PER_DAY;
		day--;
	}
	return calendar_is_business_time(cal, (int32_t) day, (int32_t) (usec / 1000000));
}

#endif							/* KPI_CALENDAR_CORE_H */
