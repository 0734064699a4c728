/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  SQL glue of the distinct-customer KPIs, all kept in customer sets
 *	  (core/custset_core.c, core/custset_kpi.c):
 *	  - kpi.retention_rate, kpi.retention_agg and the retention accessors,
 *	  - kpi.cohort_agg and kpi.cohorts,
 *	  - kpi.repeat_rate, kpi.purchase_frequency and kpi.repeat_agg,
 *	  - the order-line kpi.aov(amount, order_id) and kpi.aov_agg,
 *	  with their state types kpi.retention_state, kpi.cohort_state,
 *	  kpi.repeat_state and kpi.aov_lines_state.
 *
 * Every function here is STRICT: rows with a NULL argument never reach a
 * transition function, so they are skipped.  Transition and combine
 * functions update their first argument in place when called by an
 * aggregate and a copy otherwise.  When a small set must grow, they return
 * a new, larger state (built in CurrentMemoryContext by
 * kpi_state_allocator) and the executor copies it into the aggregate
 * context and frees the old one; a set of KPI_GROWING_MIN_SIZE bytes or
 * more lives in a growing state (kpi.h) and grows in place.
 * Final functions and accessors never change the set their argument holds
 * (a growing state is reorganized in place, see set_read_arg).  The final
 * function of the two-step aggregates and of rollup returns the compact,
 * canonical copy of the state, so equal sets are stored as equal bytes.
 *
 * Customer and order ids are polymorphic.  integer, smallint and bigint
 * ids are stored as 64-bit integers, uuid as its 16 bytes, text and
 * varchar as their bytes (compared bytewise, which is equality under every
 * deterministic collation); every other type, and text under a
 * nondeterministic collation, as its 64-bit extended hash (the function of
 * the type's hash operator class, seed 0), so two ids collide with
 * probability 2^-64.
 *
 * IDENTIFICATION
 *	  src/retention.c
 *
 *-------------------------------------------------------------------------
 */
#include "kpi.h"

#include "catalog/pg_type.h"
/* the executor headers funcapi.h pulls in are not clean under -Wextra */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "funcapi.h"
#pragma GCC diagnostic pop
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "custset_kpi.h"
#include "numeric_digits.h"

/* ---------------------------------------------------------- state types */

/*
 * The KpiStateType of a customer-set state: its codecs are the core's
 * custset_state_* functions for `which`.  Encoding works from the compact
 * form; states reach send and out compact (final functions compact them),
 * so the copy made here for a non-compact one is rare.
 */
#define SET_STATE_TYPE(sqlname, prefix, which) \
static kpi_status \
prefix##_parse(const char *text, const kpi_allocator *mem, void **payload, kpi_msg *msg) \
{ \
	return custset_state_parse(which, text, mem, (custset **) payload, msg); \
} \
static kpi_status \
prefix##_decode(kpi_reader *r, const kpi_allocator *mem, void **payload, kpi_msg *msg) \
{ \
	return custset_state_decode(which, r, mem, (custset **) payload, msg); \
} \
static void \
prefix##_format(const void *payload, kpi_strbuf *out) \
{ \
	set_state_format(which, sqlname, payload, out); \
} \
static size_t \
prefix##_encoded_size(const void *payload) \
{ \
	return custset_state_encoded_size(which, set_compact(sqlname, payload)); \
} \
static void \
prefix##_encode(const void *payload, kpi_writer *w) \
{ \
	set_state_encode(which, sqlname, payload, w); \
} \
static const KpiStateType prefix##_type = { \
	.name = (sqlname), \
	.fixed_size = 0, \
	.parse_alloc = prefix##_parse, \
	.decode_alloc = prefix##_decode, \
	.format = prefix##_format, \
	.encoded_size = prefix##_encoded_size, \
	.encode = prefix##_encode, \
}

/*
 * Raise the error for a failed operation on a state of type sqlname.
 * Keys of different kinds and cohort periods meet only when states are
 * combined or periods change, hence the wording.
 */
static void pg_attribute_noreturn()
set_report(kpi_status status, const kpi_msg *msg, const char *sqlname)
{
	switch (status)
	{
		case KPI_ERR_MISMATCH:
			kpi_report(status, msg, "cannot combine %s values", sqlname);
		case KPI_ERR_LIMIT:
			kpi_report(status, msg, "%s value is too large", sqlname);
		case KPI_ERR_OVERFLOW:
			kpi_report(status, msg, "%s count out of range", sqlname);
		case KPI_ERR_BINARY:
			kpi_report(status, msg, "%s value is corrupt", sqlname);
		default:
			kpi_report(status, msg, "invalid %s operation", sqlname);
	}
}

/* The compact form of a state: itself, or a copy in CurrentMemoryContext. */
static const custset *
set_compact(const char *sqlname, const custset *s)
{
	custset    *compact;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (custset_is_compact(s))
		return s;
	status = custset_compact(s, &kpi_palloc_allocator, &compact, &msg);
	if (status != KPI_OK)
		set_report(status, &msg, sqlname);
	return compact;
}

static void
set_state_format(custset_state which, const char *sqlname, const custset *s, kpi_strbuf *out)
{
	kpi_msg		msg = {{0}};
	kpi_status	status = custset_state_format(which, s, &kpi_palloc_allocator, out, &msg);

	if (status != KPI_OK)
		set_report(status, &msg, sqlname);
}

static void
set_state_encode(custset_state which, const char *sqlname, const custset *s, kpi_writer *w)
{
	kpi_msg		msg = {{0}};
	kpi_status	status = custset_state_encode(which, set_compact(sqlname, s), w, &msg);

	if (status != KPI_OK)
		set_report(status, &msg, sqlname);
}

SET_STATE_TYPE("kpi.retention_state", retention_state, CUSTSET_STATE_RETENTION);
SET_STATE_TYPE("kpi.cohort_state", cohort_state, CUSTSET_STATE_COHORT);
SET_STATE_TYPE("kpi.repeat_state", repeat_state, CUSTSET_STATE_REPEAT);
SET_STATE_TYPE("kpi.aov_lines_state", aov_lines_state, CUSTSET_STATE_AOV_LINES);

KPI_STATE_IO_FUNCTIONS(retention_state, &retention_state_type);
KPI_STATE_IO_FUNCTIONS(cohort_state, &cohort_state_type);
KPI_STATE_IO_FUNCTIONS(repeat_state, &repeat_state_type);
KPI_STATE_IO_FUNCTIONS(aov_lines_state, &aov_lines_state_type);

/*
 * The result of a transition or combine function that updated the set s
 * (see kpi_state_result) with status, raised if not KPI_OK.  A growing
 * state takes s first, so that it never keeps a buffer that the update
 * freed, even on error.
 */
static inline Datum
set_updated(KpiGrowingState *growing, custset *s, kpi_status status, const kpi_msg *msg,
			const char *sqlname)
{
	Datum		result = kpi_state_result(growing, s);

	if (unlikely(status != KPI_OK))
		set_report(status, msg, sqlname);
	return result;
}

/*
 * The set in argument 0 of a final function or accessor, for reading.  A
 * growing state (an aggregate's own, see kpi.h) first moves the records
 * of its table into its body, in place, or with compact becomes compact:
 * readers then walk the body alone instead of sorting a copy of the
 * table, which can take as much memory again as the set.  What the set
 * holds stays the same, so the aggregate can go on adding to it (as a
 * window aggregate does) or call other final functions on it.
 */
static custset *
set_read_arg(FunctionCallInfo fcinfo, const KpiStateType *type, bool compact)
{
	KpiGrowingState *growing = kpi_state_growing(PG_GETARG_DATUM(0));
	custset    *s;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (growing == NULL)
		return KPI_STATE_PAYLOAD(kpi_state_arg(fcinfo, 0, type, false));
	s = KPI_STATE_PAYLOAD(growing->state);
	status = custset_consolidate(&s, compact, &growing->mem, &msg);
	growing->state = KPI_STATE_FROM_PAYLOAD(s);
	if (status != KPI_OK)
		set_report(status, &msg, type->name);
	return s;
}

/* ---------------------------------------------------------- ids as keys */

/* How one polymorphic argument's values become set keys. */
typedef struct KeyReader
{
	Oid			type;			/* argument type; InvalidOid until set up */
	custset_kind kind;
	int16		typlen;			/* CUSTSET_KIND_INT: 2, 4 or 8 */
	Oid			collation;
	FmgrInfo	hash;			/* CUSTSET_KIND_HASH: extended hash function */
} KeyReader;

/* Per-call cache in fn_extra (fn_mcxt): key readers and parsed parameters. */
typedef struct CallCache
{
	KeyReader	keys[2];
	/* retention with a period: the window of the last cutoff and period */
	bool		window_valid;
	TimestampTz window_cutoff;
	Interval	window_period;
	TimestampTz window_lower;
	TimestampTz window_upper;
	/* cohorts: the last period name seen and what it means */
	char		period_name[8];
	int			period_len;
	custset_period period;
	/* cohorts: the period of the last timestamp, [span_lower, span_upper) */
	custset_period span_period;
	int32		span_index;
	Timestamp	span_lower;
	Timestamp	span_upper;
} CallCache;

static CallCache *
call_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(CallCache));
	return (CallCache *) fcinfo->flinfo->fn_extra;
}

/* Sets kr up for argument argno of the current call (see the file header). */
static void
key_reader_init(KeyReader *kr, FunctionCallInfo fcinfo, int argno)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, argno);
	Oid			base;

	if (!OidIsValid(type))
		elog(ERROR, "could not determine the data type of argument %d", argno);
	base = getBaseType(type);
	kr->collation = PG_GET_COLLATION();
	if (base == INT2OID || base == INT4OID || base == INT8OID)
	{
		kr->kind = CUSTSET_KIND_INT;
		kr->typlen = base == INT8OID ? 8 : base == INT4OID ? 4 : 2;
	}
	else if (base == UUIDOID)
		kr->kind = CUSTSET_KIND_UUID;
	else if ((base == TEXTOID || base == VARCHAROID) &&
			 (!OidIsValid(kr->collation) || get_collation_isdeterministic(kr->collation)))
		kr->kind = CUSTSET_KIND_TEXT;
	else
	{
		TypeCacheEntry *tc = lookup_type_cache(base, TYPECACHE_HASH_EXTENDED_PROC);

		if (!OidIsValid(tc->hash_extended_proc))
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_FUNCTION),
					errmsg("could not identify an extended hash function for type %s",
						   format_type_be(type)),
					errdetail("Customer and order ids must be of a type with a hash operator class."));
		fmgr_info_cxt(tc->hash_extended_proc, &kr->hash, fcinfo->flinfo->fn_mcxt);
		kr->kind = CUSTSET_KIND_HASH;
	}
	kr->type = type;
}

/* The key of argument argno, read through cache->keys[slot]. */
static inline custset_key
key_arg(FunctionCallInfo fcinfo, CallCache *cache, int slot, int argno)
{
	KeyReader  *kr = &cache->keys[slot];
	Datum		d = PG_GETARG_DATUM(argno);

	if (unlikely(kr->type == InvalidOid))
		key_reader_init(kr, fcinfo, argno);
	switch (kr->kind)
	{
		case CUSTSET_KIND_INT:
			return custset_key_int(kr->typlen == 8 ? DatumGetInt64(d) :
								   kr->typlen == 4 ? DatumGetInt32(d) : DatumGetInt16(d));
		case CUSTSET_KIND_UUID:
			return custset_key_uuid(DatumGetUUIDP(d)->data);
		case CUSTSET_KIND_TEXT:
			{
				text	   *t = DatumGetTextPP(d);

				return custset_key_text(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		default:
			return custset_key_hash(DatumGetUInt64(FunctionCall2Coll(&kr->hash, kr->collation,
																	 d, Int64GetDatum(0))));
	}
}

/* ---------------------------------------------------------- retention */

/*
 * The window [cutoff - period, cutoff + period) of kpi.retention_rate's
 * period form, computed in UTC (timestamp arithmetic on the UTC value, so
 * '1 month' is a calendar month of UTC and a day is 24 hours) and cached
 * while cutoff and period stay the same.  22023 unless the period is
 * positive.
 */
static void
retention_window(CallCache *cache, TimestampTz cutoff, Interval *period)
{
	if (cache->window_valid && cache->window_cutoff == cutoff &&
		memcmp(&cache->window_period, period, sizeof(Interval)) == 0)
		return;
	cache->window_lower = DatumGetTimestamp(DirectFunctionCall2(timestamp_mi_interval,
																TimestampGetDatum(cutoff),
																IntervalPGetDatum(period)));
	cache->window_upper = DatumGetTimestamp(DirectFunctionCall2(timestamp_pl_interval,
																TimestampGetDatum(cutoff),
																IntervalPGetDatum(period)));
	if (!TIMESTAMP_NOT_FINITE(cutoff) &&
		!(cache->window_lower < cutoff && cutoff < cache->window_upper))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("retention period must be positive"),
				errdetail("The period \"%s\" does not move the cutoff forward.",
						  DatumGetCString(DirectFunctionCall1(interval_out,
															  IntervalPGetDatum(period)))));
	cache->window_cutoff = cutoff;
	cache->window_period = *period;
	cache->window_valid = true;
}

/*
 * Adds argument 1 (customer) ordering at argument 2 to the retention state
 * in argument 0, before or at/after the cutoff in argument 3; with a
 * period (argument 4), rows outside the window are ignored.
 */
static pg_attribute_always_inline Datum
retention_step(FunctionCallInfo fcinfo, bool windowed)
{
	KpiGrowingState *growing;
	custset    *s = KPI_STATE_PAYLOAD(kpi_state_update(fcinfo, 0, &retention_state_type, &growing));
	CallCache  *cache = call_cache(fcinfo);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	TimestampTz cutoff = PG_GETARG_TIMESTAMPTZ(3);
	custset_key key;
	kpi_msg		msg;
	kpi_status	status;

	if (windowed)
	{
		retention_window(cache, cutoff, PG_GETARG_INTERVAL_P(4));
		if (at < cache->window_lower || at >= cache->window_upper)
			return kpi_state_result(growing, s);
	}
	key = key_arg(fcinfo, cache, 0, 1);
	msg.text[0] = '\0';
	status = custset_retention_add(&s, &key, at < cutoff, kpi_state_mem(growing), &msg);
	return set_updated(growing, s, status, &msg, retention_state_type.name);
}

PG_FUNCTION_INFO_V1(kpi_retention_accum);
PG_FUNCTION_INFO_V1(kpi_retention_accum_period);

/*
 * retention_accum(retention_state, customer anyelement, ordered_at
 * timestamptz, cutoff timestamptz [, period interval]): transition
 * function of kpi.retention_rate and kpi.retention_agg.
 */
Datum
kpi_retention_accum(PG_FUNCTION_ARGS)
{
	return retention_step(fcinfo, false);
}

Datum
kpi_retention_accum_period(PG_FUNCTION_ARGS)
{
	return retention_step(fcinfo, true);
}

/* ---------------------------------------------------------- cohorts */

/* Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define UNIX_DAYS_AT_PG_EPOCH (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE)

/* The period named by a text argument, cached while the text stays equal. */
static custset_period
period_arg(CallCache *cache, text *name)
{
	const char *p = VARDATA_ANY(name);
	int			len = VARSIZE_ANY_EXHDR(name);
	kpi_msg		msg = {{0}};

	if (len == cache->period_len && memcmp(p, cache->period_name, len) == 0)
		return cache->period;
	if (custset_period_parse(p, len, &cache->period, &msg) != KPI_OK)
		kpi_report(KPI_ERR_PARAM, &msg, "unknown cohort period \"%s\"", text_to_cstring(name));
	cache->period_len = len <= (int) sizeof(cache->period_name) ? len : -1;
	if (cache->period_len > 0)
		memcpy(cache->period_name, p, len);
	return cache->period;
}

/*
 * The index of the period holding the finite timestamp at (microseconds
 * since 2000-01-01 of UTC for a timestamptz, of its own values for a
 * timestamp).  Rows that come in time order mostly fall into the period of
 * the row before, whose bounds the cache keeps: then two comparisons do.
 */
static int32
period_index(CallCache *cache, custset_period period, Timestamp at)
{
	if (period == cache->span_period && at >= cache->span_lower && at < cache->span_upper)
		return cache->span_index;
	cache->span_index = custset_period_of_usecs(period, at, UNIX_DAYS_AT_PG_EPOCH,
												&cache->span_lower, &cache->span_upper);
	cache->span_period = period;
	return cache->span_index;
}

PG_FUNCTION_INFO_V1(kpi_cohort_accum);

/*
 * cohort_accum(cohort_state, customer anyelement, ordered_at timestamptz
 * or timestamp, period text): transition function of kpi.cohort_agg.  Both
 * timestamp types are microseconds since 2000-01-01: a timestamptz's
 * periods are those of UTC, a timestamp's those of its own values.
 * 22023 for an unknown period or one that differs from the state's, 22008
 * for an infinite timestamp.
 */
Datum
kpi_cohort_accum(PG_FUNCTION_ARGS)
{
	KpiGrowingState *growing;
	custset    *s = KPI_STATE_PAYLOAD(kpi_state_update(fcinfo, 0, &cohort_state_type, &growing));
	CallCache  *cache = call_cache(fcinfo);
	Timestamp	at = PG_GETARG_TIMESTAMP(2);
	custset_period period = period_arg(cache, PG_GETARG_TEXT_PP(3));
	custset_cohort_extra *extra = custset_cohort_extra_of(s);
	custset_key key;
	kpi_msg		msg;
	kpi_status	status;

	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				errmsg("timestamp out of range"),
				errdetail("Cohorts need finite order timestamps."));
	if (unlikely(extra->period != (int32) period))
	{
		if (extra->period != CUSTSET_PERIOD_NONE)
			ereport(ERROR,
					errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("cohort period changed from \"%s\" to \"%s\"",
						   custset_period_name(extra->period), custset_period_name(period)),
					errdetail("All rows of a cohort state need the same period."));
		extra->period = period;
	}
	key = key_arg(fcinfo, cache, 0, 1);
	msg.text[0] = '\0';
	status = custset_cohort_add(&s, &key, period_index(cache, period, at), kpi_state_mem(growing),
								&msg);
	return set_updated(growing, s, status, &msg, cohort_state_type.name);
}

/* The most cells kpi.cohorts returns (a triangle of 14,000 periods). */
#define MAX_COHORT_CELLS ((int64) 100000000)

PG_FUNCTION_INFO_V1(kpi_cohorts);

/*
 * kpi.cohorts(cohort_state) -> TABLE(cohort date, period_offset integer,
 * cohort_customers bigint, active_customers bigint, retention double
 * precision): the cohort triangle, every cohort with every offset up to
 * the last period in the state, cells without active customers included
 * (active_customers 0), ordered by cohort and offset.  No rows for an
 * empty state.  Materialized in a tuplestore; 54000 past MAX_COHORT_CELLS.
 */
Datum
kpi_cohorts(PG_FUNCTION_ARGS)
{
	custset    *s = set_read_arg(fcinfo, &cohort_state_type, false);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	custset_period period = custset_cohort_extra_of(s)->period;
	custset_cohort_row *rows;
	size_t		nrows;
	int32		last;
	int64		cells = 0;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	InitMaterializedSRF(fcinfo, 0);
	status = custset_cohort_table(s, &kpi_palloc_allocator, &rows, &nrows, &last, &msg);
	if (status != KPI_OK)
		set_report(status, &msg, cohort_state_type.name);
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].offset == 0)
			cells += (int64) last - rows[i].cohort + 1;
	if (cells > MAX_COHORT_CELLS)
		ereport(ERROR,
				errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				errmsg("cohort triangle of %lld cells is too large", (long long) cells),
				errhint("Use a longer period."));
	for (size_t i = 0; i < nrows;)
	{
		int32		cohort = rows[i].cohort;
		int64		size = rows[i].cohort_customers;
		int64		first_day = custset_period_first_day(period, cohort) - UNIX_DAYS_AT_PG_EPOCH;

		if (first_day < DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE ||
			first_day >= DATE_END_JULIAN - POSTGRES_EPOCH_JDATE)
			ereport(ERROR,
					errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					errmsg("date out of range for cohort %d", cohort));
		for (int64 offset = 0; cohort + offset <= last; offset++)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};
			int64		active = 0;

			if (i < nrows && rows[i].cohort == cohort && rows[i].offset == offset)
				active = rows[i++].active_customers;
			values[0] = DateADTGetDatum((DateADT) first_day);
			values[1] = Int32GetDatum((int32) offset);
			values[2] = Int64GetDatum(size);
			values[3] = Int64GetDatum(active);
			values[4] = Float8GetDatum((double) active / (double) size);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------- repeat purchases */

PG_FUNCTION_INFO_V1(kpi_repeat_accum);
PG_FUNCTION_INFO_V1(kpi_repeat_accum_order);

/*
 * repeat_accum(repeat_state, customer anyelement): one order row of a
 * customer; repeat_accum(repeat_state, customer anyelement, order
 * anycompatible): one line of an order of a customer.  Transition
 * functions of kpi.repeat_rate, kpi.purchase_frequency and kpi.repeat_agg.
 */
Datum
kpi_repeat_accum(PG_FUNCTION_ARGS)
{
	KpiGrowingState *growing;
	custset    *s = KPI_STATE_PAYLOAD(kpi_state_update(fcinfo, 0, &repeat_state_type, &growing));
	custset_key key = key_arg(fcinfo, call_cache(fcinfo), 0, 1);
	kpi_msg		msg;
	kpi_status	status;

	msg.text[0] = '\0';
	status = custset_repeat_add(&s, &key, NULL, kpi_state_mem(growing), &msg);
	return set_updated(growing, s, status, &msg, repeat_state_type.name);
}

Datum
kpi_repeat_accum_order(PG_FUNCTION_ARGS)
{
	KpiGrowingState *growing;
	custset    *s = KPI_STATE_PAYLOAD(kpi_state_update(fcinfo, 0, &repeat_state_type, &growing));
	CallCache  *cache = call_cache(fcinfo);
	custset_key key = key_arg(fcinfo, cache, 0, 1);
	custset_key order = key_arg(fcinfo, cache, 1, 2);
	kpi_msg		msg;
	kpi_status	status;

	msg.text[0] = '\0';
	status = custset_repeat_add(&s, &key, &order, kpi_state_mem(growing), &msg);
	return set_updated(growing, s, status, &msg, repeat_state_type.name);
}

/* ---------------------------------------------------------- order-line AOV */

PG_FUNCTION_INFO_V1(kpi_aov_lines_accum);

/*
 * aov_lines_accum(aov_lines_state, amount numeric, order_id anyelement):
 * adds one order line: its amount to the exact sum, its order to the set
 * of distinct orders.  Transition function of kpi.aov(numeric, anyelement)
 * and kpi.aov_agg(numeric, anyelement).
 */
Datum
kpi_aov_lines_accum(PG_FUNCTION_ARGS)
{
	KpiGrowingState *growing;
	custset    *s = KPI_STATE_PAYLOAD(kpi_state_update(fcinfo, 0, &aov_lines_state_type, &growing));
	aov_core   *amounts = custset_aov_of(s);
	decsum_decimal d;
	kpi_numeric_class class = kpi_numeric_digits(PG_GETARG_DATUM(1), &d);
	custset_key order;
	kpi_msg		msg;
	kpi_status	status;

	msg.text[0] = '\0';
	switch (class)
	{
		case KPI_NUMERIC_FINITE:
			status = aov_add_decimal(amounts, &d, &msg);
			break;
		case KPI_NUMERIC_NAN:
			status = aov_add_special(amounts, AOV_NUMERIC, AOV_NAN, &msg);
			break;
		case KPI_NUMERIC_PINF:
			status = aov_add_special(amounts, AOV_NUMERIC, AOV_PINF, &msg);
			break;
		default:
			status = aov_add_special(amounts, AOV_NUMERIC, AOV_NINF, &msg);
			break;
	}
	if (unlikely(status != KPI_OK))
		kpi_report(status, &msg, "kpi.aov sum out of range");
	order = key_arg(fcinfo, call_cache(fcinfo), 0, 2);
	status = custset_orders_add(&s, &order, kpi_state_mem(growing), &msg);
	return set_updated(growing, s, status, &msg, aov_lines_state_type.name);
}

/* ---------------------------------------------------------- combine, final */

/* Merges the state in argument 1 into the one in argument 0. */
static Datum
set_combine(FunctionCallInfo fcinfo, custset_state which, const KpiStateType *type)
{
	KpiGrowingState *growing;
	custset    *s = KPI_STATE_PAYLOAD(kpi_state_update(fcinfo, 0, type, &growing));
	KpiStateHeader *other = kpi_state_arg(fcinfo, 1, type, false);
	kpi_msg		msg = {{0}};
	kpi_status	status;

	status = custset_state_merge(which, &s, KPI_STATE_PAYLOAD(other), kpi_state_mem(growing), &msg);
	return set_updated(growing, s, status, &msg, type->name);
}

/*
 * The compact canonical copy of the state in argument 0 (or itself); a
 * growing state is compacted in place and copied out.
 */
static Datum
set_final(FunctionCallInfo fcinfo, const KpiStateType *type)
{
	KpiStateHeader *state;
	custset    *s;
	custset    *compact;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (kpi_state_growing(PG_GETARG_DATUM(0)) != NULL)
	{
		state = KPI_STATE_FROM_PAYLOAD(set_read_arg(fcinfo, type, true));
		PG_RETURN_POINTER(memcpy(palloc(VARSIZE(state)), state, VARSIZE(state)));
	}
	state = kpi_state_arg(fcinfo, 0, type, false);
	s = KPI_STATE_PAYLOAD(state);
	if (custset_is_compact(s))
		PG_RETURN_POINTER(state);
	status = custset_compact(s, &kpi_state_allocator, &compact, &msg);
	if (status != KPI_OK)
		set_report(status, &msg, type->name);
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(compact));
}

PG_FUNCTION_INFO_V1(kpi_retention_combine);
PG_FUNCTION_INFO_V1(kpi_cohort_combine);
PG_FUNCTION_INFO_V1(kpi_repeat_combine);
PG_FUNCTION_INFO_V1(kpi_aov_lines_combine);
PG_FUNCTION_INFO_V1(kpi_retention_final);
PG_FUNCTION_INFO_V1(kpi_cohort_final);
PG_FUNCTION_INFO_V1(kpi_repeat_final);
PG_FUNCTION_INFO_V1(kpi_aov_lines_final);

/*
 * <kpi>_combine(state, state): set union of two states (payloads merged:
 * retention flags OR'ed, row counts added, line amounts summed).  Combine
 * function of every aggregate of the type and transition function of
 * kpi.rollup.  22023 for states that cannot combine: ids of different
 * kinds (bigint and text, say), cohorts by different periods, repeat
 * states of rows and of distinct orders.
 */
Datum
kpi_retention_combine(PG_FUNCTION_ARGS)
{
	return set_combine(fcinfo, CUSTSET_STATE_RETENTION, &retention_state_type);
}

Datum
kpi_cohort_combine(PG_FUNCTION_ARGS)
{
	return set_combine(fcinfo, CUSTSET_STATE_COHORT, &cohort_state_type);
}

Datum
kpi_repeat_combine(PG_FUNCTION_ARGS)
{
	return set_combine(fcinfo, CUSTSET_STATE_REPEAT, &repeat_state_type);
}

Datum
kpi_aov_lines_combine(PG_FUNCTION_ARGS)
{
	return set_combine(fcinfo, CUSTSET_STATE_AOV_LINES, &aov_lines_state_type);
}

/*
 * <kpi>_final(state): final function of the two-step aggregates and of
 * kpi.rollup: the compact, canonical copy, in CurrentMemoryContext.
 */
Datum
kpi_retention_final(PG_FUNCTION_ARGS)
{
	return set_final(fcinfo, &retention_state_type);
}

Datum
kpi_cohort_final(PG_FUNCTION_ARGS)
{
	return set_final(fcinfo, &cohort_state_type);
}

Datum
kpi_repeat_final(PG_FUNCTION_ARGS)
{
	return set_final(fcinfo, &repeat_state_type);
}

Datum
kpi_aov_lines_final(PG_FUNCTION_ARGS)
{
	return set_final(fcinfo, &aov_lines_state_type);
}

/* ---------------------------------------------------------- accessors */

/* The retention counts of the state in argument 0. */
static custset_retention
retention_arg(FunctionCallInfo fcinfo)
{
	custset    *s = set_read_arg(fcinfo, &retention_state_type, false);
	custset_retention r;
	kpi_msg		msg = {{0}};
	kpi_status	status = custset_retention_counts(s, &kpi_palloc_allocator, &r, &msg);

	if (status != KPI_OK)
		set_report(status, &msg, retention_state_type.name);
	return r;
}

PG_FUNCTION_INFO_V1(kpi_retention_rate);
PG_FUNCTION_INFO_V1(kpi_churn_rate);
PG_FUNCTION_INFO_V1(kpi_base_customers);
PG_FUNCTION_INFO_V1(kpi_retained_customers);
PG_FUNCTION_INFO_V1(kpi_churned_customers);
PG_FUNCTION_INFO_V1(kpi_new_customers);

/*
 * kpi.retention_rate(retention_state) -> double precision: retained /
 * base customers; also the final function of the one-step
 * kpi.retention_rate.  kpi.churn_rate: churned / base.  NULL when no
 * customer ordered before the cutoff.
 */
Datum
kpi_retention_rate(PG_FUNCTION_ARGS)
{
	custset_retention r = retention_arg(fcinfo);
	double		rate;

	if (!custset_retention_rate(&r, &rate))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rate);
}

Datum
kpi_churn_rate(PG_FUNCTION_ARGS)
{
	custset_retention r = retention_arg(fcinfo);
	double		rate;

	if (!custset_churn_rate(&r, &rate))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rate);
}

/*
 * kpi.base_customers, retained_customers, churned_customers,
 * new_customers(retention_state) -> bigint: customers who ordered before
 * the cutoff; of them, those who ordered again at or after it, and those
 * who did not; customers who ordered only at or after it.
 */
Datum
kpi_base_customers(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(retention_arg(fcinfo).base);
}

Datum
kpi_retained_customers(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(retention_arg(fcinfo).retained);
}

Datum
kpi_churned_customers(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(retention_arg(fcinfo).churned);
}

Datum
kpi_new_customers(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(retention_arg(fcinfo).new_customers);
}

/* The repeat-purchase counts of the state in argument 0. */
static custset_repeat
repeat_arg(FunctionCallInfo fcinfo)
{
	custset    *s = set_read_arg(fcinfo, &repeat_state_type, false);
	custset_repeat r;
	kpi_msg		msg = {{0}};
	kpi_status	status = custset_repeat_counts(s, &kpi_palloc_allocator, &r, &msg);

	if (status != KPI_OK)
		set_report(status, &msg, repeat_state_type.name);
	return r;
}

PG_FUNCTION_INFO_V1(kpi_repeat_rate);
PG_FUNCTION_INFO_V1(kpi_purchase_frequency);
PG_FUNCTION_INFO_V1(kpi_repeat_customers);

/*
 * kpi.repeat_rate(repeat_state) -> double precision: the share of
 * customers with at least 2 orders; kpi.purchase_frequency: orders per
 * customer.  Also the final functions of the one-step aggregates.  NULL
 * for an empty state.  kpi.repeat_customers: customers with >= 2 orders.
 */
Datum
kpi_repeat_rate(PG_FUNCTION_ARGS)
{
	custset_repeat r = repeat_arg(fcinfo);
	double		rate;

	if (!custset_repeat_rate(&r, &rate))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rate);
}

Datum
kpi_purchase_frequency(PG_FUNCTION_ARGS)
{
	custset_repeat r = repeat_arg(fcinfo);
	double		freq;

	if (!custset_purchase_frequency(&r, &freq))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(freq);
}

Datum
kpi_repeat_customers(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(repeat_arg(fcinfo).repeat_customers);
}

/* The number of distinct orders of an aov_lines state. */
static int64
aov_lines_orders(const custset *s)
{
	int64		n;
	kpi_msg		msg = {{0}};
	kpi_status	status = custset_orders_count(s, &kpi_palloc_allocator, &n, &msg);

	if (status != KPI_OK)
		set_report(status, &msg, aov_lines_state_type.name);
	return n;
}

/* A numeric NaN or infinity. */
static Datum
numeric_special(const char *text)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(text),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

PG_FUNCTION_INFO_V1(kpi_aov_lines);
PG_FUNCTION_INFO_V1(kpi_aov_lines_count);

/*
 * kpi.aov(aov_lines_state) -> numeric: the sum of the line amounts divided
 * by the number of distinct orders, computed as numeric division, so it
 * equals sum(amount) / count(DISTINCT order_id) digit for digit; also the
 * final function of kpi.aov(numeric, anyelement).  NULL for an empty
 * state; NaN and infinities as sum() gives them.
 */
Datum
kpi_aov_lines(PG_FUNCTION_ARGS)
{
	custset    *s = set_read_arg(fcinfo, &aov_lines_state_type, false);
	const aov_core *amounts = custset_aov_of(s);
	Datum		sum;

	switch (aov_result(amounts))
	{
		case AOV_NO_VALUES:
			PG_RETURN_NULL();
		case AOV_MEAN_NAN:
			PG_RETURN_DATUM(numeric_special("NaN"));
		case AOV_MEAN_PINF:
			PG_RETURN_DATUM(numeric_special("Infinity"));
		case AOV_MEAN_NINF:
			PG_RETURN_DATUM(numeric_special("-Infinity"));
		case AOV_MEAN_FINITE:
			break;
	}
	sum = kpi_numeric_from_scaled(amounts->sum.dec.sum, amounts->sum.dec.scale);
	PG_RETURN_DATUM(DirectFunctionCall2(numeric_div, sum,
										NumericGetDatum(int64_to_numeric(aov_lines_orders(s)))));
}

/* kpi.aov_count(aov_lines_state) -> bigint: the number of distinct orders. */
Datum
kpi_aov_lines_count(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(aov_lines_orders(set_read_arg(fcinfo, &aov_lines_state_type, false)));
}
