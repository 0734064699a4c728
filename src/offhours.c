/*-------------------------------------------------------------------------
 *
 * offhours.c
 *	  SQL glue of kpi.offhours_share, the share of orders placed outside
 *	  business hours, of its state type kpi.offhours_state, and of the
 *	  value type kpi.business_calendar.  Calendars are parsed and looked
 *	  up by core/calendar_core.c, UTC offsets are cached by
 *	  core/zone_windows.c, and the counts are kept by core/offhours_core.c.
 *
 * kpi.business_calendar is stored as its binary (send/recv) form: weekly
 * ranges, zone name and holidays, about 80 bytes for a typical calendar.
 * The 2.5 kB minute table that makes the hot path a table lookup is not
 * stored: every call site expands the calendar once into its own cache
 * (fn_extra, in fn_mcxt), so the table costs ~10 us per call site rather
 * than 2.5 kB per stored value and a detoast per row.
 *
 * The zone of a calendar is validated with PostgreSQL's zone database and
 * stored in PostgreSQL's spelling ("europe/stockholm" becomes
 * "Europe/Stockholm"), so equal calendars are equal bytes.  A timestamptz
 * is turned into local time with the calendar's zone, never with the
 * session's TimeZone, so every function here is IMMUTABLE, following
 * PostgreSQL's own timezone(text, timestamptz) (AT TIME ZONE), which is
 * IMMUTABLE although an update of the zone database can change its
 * results: kpi's answers change with the zone database exactly as that
 * built-in's do.
 *
 * A moment of +-infinity has no wall-clock time: kpi.is_business_hours
 * returns NULL for it, and the aggregates skip it as they skip NULL, so
 * kpi.offhours_share(t, c) = avg((NOT kpi.is_business_hours(t, c))::int).
 *
 * Every SQL-callable function here is STRICT: rows with a NULL moment,
 * calendar or weight never reach the transition functions.  Transition,
 * inverse and combine functions update their first argument in place
 * when called by an aggregate and a copy otherwise; accessors never
 * modify their argument.
 *
 * IDENTIFICATION
 *	  src/offhours.c
 *
 *-------------------------------------------------------------------------
 */
#include "kpi.h"

#include "common/int.h"
#include "datatype/timestamp.h"
#include "libpq/pqformat.h"
#include "nodes/primnodes.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "calendar_core.h"
#include "numeric_digits.h"
#include "offhours_core.h"
#include "zone_windows.h"

#define CALENDAR_TYPE_NAME "kpi.business_calendar"

/* Seconds from the Unix epoch (pg_time_t) to PostgreSQL's (Timestamp). */
#define PG_EPOCH_UNIX_SECONDS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* ================================================= kpi.business_calendar */

/*
 * Zone names without "/" but with digits that are zone files of the IANA
 * database.  Any other such name PostgreSQL accepts is a POSIX TZ
 * specification ("UTC+3"), whose sign is the reverse of what most people
 * read into it (UTC+3 is three hours WEST of Greenwich): refused.
 */
static const char *const digit_zone_names[] = {
	"EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT", "GMT0", "GMT+0", "GMT-0"
};

/* Whether name is a POSIX TZ specification rather than a zone name. */
static bool
is_posix_spec(const char *name)
{
	if (strchr(name, '/') != NULL || strpbrk(name, "0123456789") == NULL)
		return false;
	for (size_t i = 0; i < lengthof(digit_zone_names); i++)
	{
		if (pg_strcasecmp(name, digit_zone_names[i]) == 0)
			return false;
	}
	return true;
}

/*
 * The zone named zone in PostgreSQL's zone database, or KPI_ERR_PARAM with
 * a detail.  The zone is cached by PostgreSQL for the backend's life.
 */
static kpi_status
calendar_find_zone(const char *zone, pg_tz **tz, kpi_msg *msg)
{
	if (is_posix_spec(zone))
		return kpi_fail(msg, KPI_ERR_PARAM,
						"\"%s\" is a POSIX time zone specification, not a zone name; name a zone such as \"Europe/Berlin\" or \"Etc/GMT-3\" (POSIX offsets count hours west of Greenwich).",
						zone);
	if (pg_strcasecmp(zone, "localtime") == 0)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"\"localtime\" is the server's own zone; name the zone, so that every server reads the calendar alike.");
	*tz = pg_tzset(zone);
	if (*tz == NULL)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"Time zone \"%s\" is not known to PostgreSQL (see pg_timezone_names).", zone);
	if (!pg_tz_acceptable(*tz))
		return kpi_fail(msg, KPI_ERR_PARAM,
						"Time zone \"%s\" counts leap seconds, which PostgreSQL does not support.", zone);
	return KPI_OK;
}

/*
 * Checks the zone of a newly read calendar and replaces its spelling by
 * PostgreSQL's (the zone database's file name, or upper case for "GMT").
 */
static kpi_status
calendar_canonicalize_zone(calendar *cal, kpi_msg *msg)
{
	pg_tz	   *tz;
	kpi_status	st = calendar_find_zone(cal->zone, &tz, msg);

	if (st != KPI_OK)
		return st;
	return calendar_set_zone(cal, pg_get_timezone_name(tz), msg);
}

/* The stored form of a calendar: a varlena holding its binary form. */
static struct varlena *
calendar_to_varlena(const calendar *cal)
{
	size_t		size = calendar_encoded_size(cal);
	struct varlena *result = palloc(VARHDRSZ + size);
	kpi_writer	w;

	kpi_writer_init(&w, (uint8_t *) VARDATA(result), size);
	calendar_encode(cal, &w);
	SET_VARSIZE(result, VARHDRSZ + w.len);
	return result;
}

/*
 * The calendar a stored value holds, as a block allocated with mem.
 * Stored values were checked on input, so a failure here means damaged
 * data (22P03, or 0A000 for a value written by a later release).
 */
static calendar *
calendar_from_varlena(struct varlena *value, const kpi_allocator *mem)
{
	struct varlena *v = pg_detoast_datum_packed(value);
	calendar   *cal = NULL;
	kpi_msg		msg;
	kpi_status	st;

	msg.text[0] = '\0';
	st = calendar_decode((const uint8_t *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), mem, &cal, &msg);
	if (st != KPI_OK)
		kpi_report(st, &msg, "invalid %s value", CALENDAR_TYPE_NAME);
	return cal;
}

PG_FUNCTION_INFO_V1(kpi_business_calendar_in);
PG_FUNCTION_INFO_V1(kpi_business_calendar_out);
PG_FUNCTION_INFO_V1(kpi_business_calendar_recv);
PG_FUNCTION_INFO_V1(kpi_business_calendar_send);

/*
 * kpi.business_calendar text input: "Mon-Fri 08:00-17:00; tz=...;
 * holidays=...".  STRICT, IMMUTABLE; allocates in CurrentMemoryContext.
 * Malformed text is 22P02, well-formed but unacceptable values (ranges
 * out of order or overlapping, an unknown zone) 22023; both soft on PG16+.
 */
Datum
kpi_business_calendar_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	calendar   *cal = NULL;
	kpi_msg		msg;
	kpi_status	st;

	msg.text[0] = '\0';
	st = calendar_parse(text, &kpi_palloc_allocator, &cal, &msg);
	if (st == KPI_OK)
		st = calendar_canonicalize_zone(cal, &msg);
	if (st == KPI_OK)
		PG_RETURN_POINTER(calendar_to_varlena(cal));
	if (st == KPI_ERR_TEXT)
		errsave_compat(fcinfo->context,
					   errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					   errmsg("invalid input syntax for type %s: \"%s\"", CALENDAR_TYPE_NAME, text),
					   errdetail_internal("%s", msg.text));
	else
		errsave_compat(fcinfo->context,
					   errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					   errmsg("invalid value for type %s: \"%s\"", CALENDAR_TYPE_NAME, text),
					   errdetail_internal("%s", msg.text));
	PG_RETURN_NULL();
}

/* kpi.business_calendar canonical text output.  STRICT, IMMUTABLE. */
Datum
kpi_business_calendar_out(PG_FUNCTION_ARGS)
{
	calendar   *cal = calendar_from_varlena(PG_GETARG_RAW_VARLENA_P(0), &kpi_palloc_allocator);
	kpi_strbuf	out;

	kpi_strbuf_init(&out, &kpi_palloc_allocator);
	calendar_format(cal, &out);
	PG_RETURN_CSTRING(out.data);
}

/*
 * kpi.business_calendar binary input (network byte order).  STRICT,
 * IMMUTABLE.  Bad bytes are 22P03, an unknown zone 22023; a zone spelled
 * otherwise than PostgreSQL spells it is stored in PostgreSQL's spelling.
 */
Datum
kpi_business_calendar_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	calendar   *cal = NULL;
	kpi_msg		msg;
	kpi_status	st;

	msg.text[0] = '\0';
	st = calendar_decode((const uint8_t *) buf->data + buf->cursor,
						 (size_t) (buf->len - buf->cursor), &kpi_palloc_allocator, &cal, &msg);
	if (st == KPI_OK)
		st = calendar_canonicalize_zone(cal, &msg);
	if (st == KPI_ERR_VERSION)
		kpi_report(st, &msg, "unsupported %s version", CALENDAR_TYPE_NAME);
	if (st == KPI_ERR_PARAM)
		kpi_report(st, &msg, "invalid value for type %s", CALENDAR_TYPE_NAME);
	if (st != KPI_OK)
		kpi_report(st, &msg, "invalid external representation of type %s", CALENDAR_TYPE_NAME);
	buf->cursor = buf->len;
	PG_RETURN_POINTER(calendar_to_varlena(cal));
}

/* kpi.business_calendar binary output: the stored bytes.  STRICT, IMMUTABLE. */
Datum
kpi_business_calendar_send(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	bytea	   *result = palloc(VARHDRSZ + VARSIZE_ANY_EXHDR(v));

	memcpy(VARDATA(result), VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	SET_VARSIZE(result, VARHDRSZ + VARSIZE_ANY_EXHDR(v));
	PG_RETURN_BYTEA_P(result);
}

/* ====================================================== call-site cache */

/*
 * Calendars a call site keeps expanded.  One is the usual case (a
 * constant); a few serve queries that join each order to its customer's
 * calendar without re-expanding a calendar for every row.
 */
#define CALENDAR_SITE_SLOTS 8

/* One expanded calendar of a call site, with its zone's offset windows. */
typedef struct CalendarSlot
{
	struct varlena *key;		/* the argument's bytes, as they were passed */
	calendar   *cal;
	zone_windows windows;		/* used only for timestamptz moments */
} CalendarSlot;

/* The per-call-site cache in fn_extra, allocated in fn_mcxt. */
typedef struct CalendarSite
{
	bool		constant_arg;	/* the argument cannot change at this site */
	bool		constant;		/* ... and slots[0] holds it */
	int			nslots;
	int			last;			/* slot used last */
	int			victim;			/* slot replaced next when all are used */
	kpi_allocator mem;			/* allocates in fn_mcxt */
	CalendarSlot slots[CALENDAR_SITE_SLOTS];
} CalendarSite;

/*
 * The zone database as zone_windows asks for it: the offset at moment t
 * (microseconds since 2000-01-01 UTC) and the next transition after it.
 */
static kpi_status
pg_zone_lookup(int64_t t, void *arg, int64_t *offset, int64_t *next_transition,
			   kpi_msg *msg)
{
	pg_tz	   *tz = arg;
	pg_time_t	seconds;
	pg_time_t	boundary;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	int			found;
	int64		next;

	/* nothing precedes the first timestamp: its window may start anywhere */
	if (t < MIN_TIMESTAMP)
		t = MIN_TIMESTAMP;
	seconds = (t >= 0 ? t / USECS_PER_SEC : -((-t + USECS_PER_SEC - 1) / USECS_PER_SEC)) +
		PG_EPOCH_UNIX_SECONDS;
	found = pg_next_dst_boundary(&seconds, &before_gmtoff, &before_isdst, &boundary,
								 &after_gmtoff, &after_isdst, tz);
	if (found < 0)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"The time zone database gave no UTC offset for the moment.");
	*offset = (int64) before_gmtoff * USECS_PER_SEC;
	*next_transition = ZONE_WINDOWS_NEVER;
	/* a transition past the last timestamp is as good as none */
	if (found == 1 &&
		!pg_mul_s64_overflow(boundary - PG_EPOCH_UNIX_SECONDS, USECS_PER_SEC, &next))
		*next_transition = next;
	return KPI_OK;
}

/*
 * Expands the calendar argument raw into slot, replacing what the slot
 * held (zoned: for timestamptz moments, so the zone is looked up).  The
 * slot is changed only once everything succeeded.
 */
static void
calendar_slot_fill(CalendarSite *site, CalendarSlot *slot, struct varlena *raw, bool zoned)
{
	calendar   *cal = calendar_from_varlena(raw, &site->mem);
	pg_tz	   *tz = NULL;
	struct varlena *key;

	if (zoned)
	{
		kpi_msg		msg;
		kpi_status	st;

		msg.text[0] = '\0';
		st = calendar_find_zone(cal->zone, &tz, &msg);
		if (st != KPI_OK)
			kpi_report(st, &msg, "time zone \"%s\" of a %s is not available", cal->zone,
					   CALENDAR_TYPE_NAME);
	}
	key = MemoryContextAlloc(site->mem.ctx, VARSIZE_ANY(raw));
	memcpy(key, raw, VARSIZE_ANY(raw));
	if (slot->cal != NULL)
	{
		pfree(slot->key);
		pfree(slot->cal);
		zone_windows_free(&slot->windows);
	}
	slot->key = key;
	slot->cal = cal;
	zone_windows_init(&slot->windows, pg_zone_lookup, tz, &site->mem);
}

/* Whether the calendar argument of the aggregate or function is a constant. */
static bool
calendar_arg_is_constant(FunctionCallInfo fcinfo, int argno)
{
	Aggref	   *aggref = AggGetAggref(fcinfo);

	if (aggref != NULL)
	{
		/*
		 * A transition function (argument 0 is the state): the same test as
		 * get_fn_expr_arg_stable() makes of a plain function's argument.
		 */
		Node	   *arg = (Node *) list_nth_node(TargetEntry, aggref->args, argno - 1)->expr;

		return IsA(arg, Const) ||
			(IsA(arg, Param) && ((Param *) arg)->paramkind == PARAM_EXTERN);
	}
	return get_fn_expr_arg_stable(fcinfo->flinfo, argno);
}

/*
 * The slot of the calendar in argument argno: found by the argument's
 * bytes among the slots, or expanded into a new one.
 */
static pg_noinline CalendarSlot *
calendar_site_lookup(FunctionCallInfo fcinfo, int argno, bool zoned)
{
	CalendarSite *site = fcinfo->flinfo->fn_extra;
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(argno);
	int			chosen;

	if (VARATT_IS_EXTERNAL(raw))
		raw = pg_detoast_datum_packed(raw);
	if (site == NULL)
	{
		site = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CalendarSite));
		site->mem = kpi_context_allocator(fcinfo->flinfo->fn_mcxt);
		site->constant_arg = calendar_arg_is_constant(fcinfo, argno);
		fcinfo->flinfo->fn_extra = site;
	}
	for (int i = 0; i < site->nslots; i++)
	{
		int			probe = (site->last + i) % site->nslots;
		CalendarSlot *slot = &site->slots[probe];

		if (VARSIZE_ANY(slot->key) == VARSIZE_ANY(raw) &&
			memcmp(slot->key, raw, VARSIZE_ANY(raw)) == 0)
		{
			site->last = probe;
			return slot;
		}
	}
	chosen = site->nslots < CALENDAR_SITE_SLOTS ? site->nslots : site->victim;
	calendar_slot_fill(site, &site->slots[chosen], raw, zoned);
	if (chosen == site->nslots)
		site->nslots++;
	else
		site->victim = (site->victim + 1) % CALENDAR_SITE_SLOTS;
	site->last = chosen;
	/* a constant argument needs no comparison from now on */
	site->constant = site->constant_arg;
	return &site->slots[chosen];
}

/* The expanded calendar of argument argno; the hot path for constants. */
static inline CalendarSlot *
calendar_site_slot(FunctionCallInfo fcinfo, int argno, bool zoned)
{
	CalendarSite *site = fcinfo->flinfo->fn_extra;

	if (likely(site != NULL && site->constant))
		return &site->slots[0];
	return calendar_site_lookup(fcinfo, argno, zoned);
}

/* What a moment is, for a calendar. */
typedef enum moment_class
{
	MOMENT_OFF_HOURS,
	MOMENT_BUSINESS_HOURS,
	MOMENT_INFINITE				/* +-infinity: no wall-clock time */
} moment_class;

/*
 * Classifies the moment in argument argno by the calendar in argno + 1.
 * zoned: the moment is a timestamptz, turned into the calendar zone's
 * local time; otherwise a timestamp already in local time.  Inlined, so
 * each caller compiles to the code of its own input type.
 */
static pg_attribute_always_inline moment_class
classify_moment(FunctionCallInfo fcinfo, int argno, bool zoned)
{
	int64		t = PG_GETARG_INT64(argno);
	CalendarSlot *slot;

	if (unlikely(TIMESTAMP_NOT_FINITE(t)))
		return MOMENT_INFINITE;
	slot = calendar_site_slot(fcinfo, argno + 1, zoned);
	if (zoned)
	{
		int64_t		offset;
		kpi_msg		msg;
		kpi_status	st;

		msg.text[0] = '\0';
		st = zone_windows_offset(&slot->windows, t, &offset, &msg);
		if (unlikely(st != KPI_OK))
			kpi_report(st, &msg, "could not find the UTC offset of time zone \"%s\"",
					   slot->cal->zone);
		t += offset;
	}
	return calendar_is_business_timestamp(slot->cal, t) ?
		MOMENT_BUSINESS_HOURS : MOMENT_OFF_HOURS;
}

PG_FUNCTION_INFO_V1(kpi_is_business_hours_timestamptz);
PG_FUNCTION_INFO_V1(kpi_is_business_hours_timestamp);

/*
 * kpi.is_business_hours(timestamptz, business_calendar) -> boolean:
 * whether the moment, in the calendar zone's local time, is in business
 * hours.  STRICT, IMMUTABLE; NULL for +-infinity.  The expanded calendar
 * and the zone's offset windows are cached in fn_extra (fn_mcxt).
 */
Datum
kpi_is_business_hours_timestamptz(PG_FUNCTION_ARGS)
{
	moment_class class = classify_moment(fcinfo, 0, true);

	if (class == MOMENT_INFINITE)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(class == MOMENT_BUSINESS_HOURS);
}

/*
 * kpi.is_business_hours(timestamp, business_calendar) -> boolean: the
 * same for a moment already in local business time (the calendar's zone
 * is not applied).  STRICT, IMMUTABLE; NULL for +-infinity.
 */
Datum
kpi_is_business_hours_timestamp(PG_FUNCTION_ARGS)
{
	moment_class class = classify_moment(fcinfo, 0, false);

	if (class == MOMENT_INFINITE)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(class == MOMENT_BUSINESS_HOURS);
}

/* ==================================================== kpi.offhours_state */

static const KpiStateType offhours_state_type =
KPI_FIXED_STATE_TYPE("kpi.offhours_state", offhours_core, offhours);

KPI_STATE_IO_FUNCTIONS(offhours_state, &offhours_state_type);

/*
 * Counts (or, with remove, uncounts) the row in arguments 1..3 into the
 * state in argument 0: moment, calendar and, when weighted, the weight.
 * Returns the state, or NULL when a removal cannot be done exactly (the
 * executor then recomputes the window frame).  Always inlined, so each
 * SQL-callable wrapper compiles to the code of its own input types.
 */
static pg_attribute_always_inline Datum
offhours_step(FunctionCallInfo fcinfo, bool zoned, bool weighted, bool remove)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &offhours_state_type, true);
	offhours_core *core = KPI_STATE_PAYLOAD(state);
	moment_class class = classify_moment(fcinfo, 1, zoned);
	bool		off = class == MOMENT_OFF_HOURS;
	kpi_msg		msg;
	kpi_status	st;

	if (class == MOMENT_INFINITE)
		PG_RETURN_POINTER(state);
	msg.text[0] = '\0';
	if (weighted)
	{
		decsum_decimal weight;

		kpi_numeric_class weight_class = kpi_numeric_digits(PG_GETARG_DATUM(3), &weight);

		if (weight_class != KPI_NUMERIC_FINITE)
			ereport(ERROR,
					errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("kpi.offhours_share weight must be a finite number"),
					errdetail("Weight %s has no place in an exact sum.",
							  weight_class == KPI_NUMERIC_NAN ? "NaN" :
							  weight_class == KPI_NUMERIC_PINF ? "Infinity" : "-Infinity"));
		st = remove ? offhours_remove_weighted(core, off, &weight, &msg) :
			offhours_add_weighted(core, off, &weight, &msg);
	}
	else
		st = remove ? offhours_remove(core, off) : offhours_add(core, off, &msg);
	if (unlikely(st != KPI_OK))
	{
		if (st == KPI_CANNOT_INVERT)
			PG_RETURN_NULL();
		if (st == KPI_ERR_MISMATCH)
			kpi_report(st, &msg, "cannot mix weighted and unweighted rows in a kpi.offhours_state");
		kpi_report(st, &msg, "kpi.offhours_share weight sum out of range");
	}
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(kpi_offhours_accum_timestamptz);
PG_FUNCTION_INFO_V1(kpi_offhours_accum_timestamp);
PG_FUNCTION_INFO_V1(kpi_offhours_accum_timestamptz_weighted);
PG_FUNCTION_INFO_V1(kpi_offhours_accum_timestamp_weighted);
PG_FUNCTION_INFO_V1(kpi_offhours_accum_inv_timestamptz);
PG_FUNCTION_INFO_V1(kpi_offhours_accum_inv_timestamp);
PG_FUNCTION_INFO_V1(kpi_offhours_accum_inv_timestamptz_weighted);
PG_FUNCTION_INFO_V1(kpi_offhours_accum_inv_timestamp_weighted);

/*
 * offhours_accum(offhours_state, timestamptz|timestamp, business_calendar
 * [, numeric]): counts one row.  22023 for a NaN or infinite weight.
 */
Datum
kpi_offhours_accum_timestamptz(PG_FUNCTION_ARGS)
{
	return offhours_step(fcinfo, true, false, false);
}

Datum
kpi_offhours_accum_timestamp(PG_FUNCTION_ARGS)
{
	return offhours_step(fcinfo, false, false, false);
}

Datum
kpi_offhours_accum_timestamptz_weighted(PG_FUNCTION_ARGS)
{
	return offhours_step(fcinfo, true, true, false);
}

Datum
kpi_offhours_accum_timestamp_weighted(PG_FUNCTION_ARGS)
{
	return offhours_step(fcinfo, false, true, false);
}

/*
 * offhours_accum_inv(...): uncounts a row that left a moving window frame;
 * NULL when that cannot be done exactly.
 */
Datum
kpi_offhours_accum_inv_timestamptz(PG_FUNCTION_ARGS)
{
	return offhours_step(fcinfo, true, false, true);
}

Datum
kpi_offhours_accum_inv_timestamp(PG_FUNCTION_ARGS)
{
	return offhours_step(fcinfo, false, false, true);
}

Datum
kpi_offhours_accum_inv_timestamptz_weighted(PG_FUNCTION_ARGS)
{
	return offhours_step(fcinfo, true, true, true);
}

Datum
kpi_offhours_accum_inv_timestamp_weighted(PG_FUNCTION_ARGS)
{
	return offhours_step(fcinfo, false, true, true);
}

PG_FUNCTION_INFO_V1(kpi_offhours_combine);

/*
 * offhours_combine(offhours_state, offhours_state): merges the second
 * state into the first.  Combine function of every offhours aggregate and
 * transition function of kpi.rollup(offhours_state).  22023 if one state
 * is weighted and the other not.
 */
Datum
kpi_offhours_combine(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &offhours_state_type, true);
	KpiStateHeader *other = kpi_state_arg(fcinfo, 1, &offhours_state_type, false);
	kpi_msg		msg;
	kpi_status	st;

	msg.text[0] = '\0';
	st = offhours_merge(KPI_STATE_PAYLOAD(state), KPI_STATE_PAYLOAD(other), &msg);
	if (st == KPI_ERR_MISMATCH)
		kpi_report(st, &msg, "cannot combine weighted and unweighted kpi.offhours_state values");
	if (st != KPI_OK)
		kpi_report(st, &msg, "kpi.offhours_state sum out of range");
	PG_RETURN_POINTER(state);
}

/* ------------------------------------------------------------- accessors */

PG_FUNCTION_INFO_V1(kpi_offhours_share);
PG_FUNCTION_INFO_V1(kpi_offhours_count);
PG_FUNCTION_INFO_V1(kpi_offhours_total);
PG_FUNCTION_INFO_V1(kpi_offhours_weight);
PG_FUNCTION_INFO_V1(kpi_offhours_total_weight);

/*
 * kpi.offhours_share(offhours_state) -> double precision: off-hours rows /
 * rows, or for a weighted state off-hours weight / total weight (computed
 * as numeric, as sum(weight) ratios are, then rounded once to double).
 * Also the final function of kpi.offhours_share.  NULL for an empty
 * state and for a zero total weight.
 */
Datum
kpi_offhours_share(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &offhours_state_type, false);
	const offhours_core *core = KPI_STATE_PAYLOAD(state);
	double		share;
	Datum		ratio;

	if (core->kind != OFFHOURS_WEIGHTED)
	{
		if (!offhours_row_share(core, &share))
			PG_RETURN_NULL();
		PG_RETURN_FLOAT8(share);
	}
	if (core->weight.sum == 0)
		PG_RETURN_NULL();
	ratio = DirectFunctionCall2(numeric_div,
								kpi_numeric_from_scaled(core->off_weight.sum, core->off_weight.scale),
								kpi_numeric_from_scaled(core->weight.sum, core->weight.scale));
	PG_RETURN_DATUM(DirectFunctionCall1(numeric_float8, ratio));
}

/* kpi.offhours_count(offhours_state) -> bigint: rows outside business hours. */
Datum
kpi_offhours_count(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &offhours_state_type, false);

	PG_RETURN_INT64(((const offhours_core *) KPI_STATE_PAYLOAD(state))->off_rows);
}

/* kpi.offhours_total(offhours_state) -> bigint: all rows counted. */
Datum
kpi_offhours_total(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &offhours_state_type, false);

	PG_RETURN_INT64(((const offhours_core *) KPI_STATE_PAYLOAD(state))->rows);
}

/*
 * kpi.offhours_weight(offhours_state) -> numeric: the weight of the
 * off-hours rows (0 if there are none); NULL unless the state is weighted.
 */
Datum
kpi_offhours_weight(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &offhours_state_type, false);
	const offhours_core *core = KPI_STATE_PAYLOAD(state);

	if (core->kind != OFFHOURS_WEIGHTED)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(kpi_numeric_from_scaled(core->off_weight.sum, core->off_weight.scale));
}

/*
 * kpi.offhours_total_weight(offhours_state) -> numeric: the weight of all
 * rows; NULL unless the state is weighted.
 */
Datum
kpi_offhours_total_weight(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &offhours_state_type, false);
	const offhours_core *core = KPI_STATE_PAYLOAD(state);

	if (core->kind != OFFHOURS_WEIGHTED)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(kpi_numeric_from_scaled(core->weight.sum, core->weight.scale));
}
