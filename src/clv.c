/*-------------------------------------------------------------------------
 *
 * clv.c
 *	  SQL glue of customer lifetime value: the per-customer summary
 *	  kpi.rfm, the BG/NBD + Gamma-Gamma model kpi.clv_model with its fit
 *	  and predictions, and the one-shot aggregates kpi.clv_estimate and
 *	  kpi.clv_simple.  The numerics live in core/clv_core.c.
 *
 * Four state types, all varlenas with a KpiStateHeader:
 *
 * kpi.rfm            one customer's purchase days up to observed_until
 *                    (kpi.rfm_agg ... GROUP BY customer_id);
 * kpi.clv_fit_state  the summaries of many customers, the input of a fit
 *                    (kpi.clv_fit_agg(rfm));
 * kpi.clv_model      fitted parameters, fixed size;
 * kpi.clv_state      the purchase days of many customers (kpi.clv_agg), the
 *                    state of the aggregates that go straight from orders.
 *
 * Days are UTC calendar days of a timestamptz (days since 2000-01-01,
 * whatever the session TimeZone) or the date as given.  Every function is
 * STRICT: rows with a NULL argument are skipped, and a NULL model (a fit
 * that could not identify the model) gives NULL predictions.  Transition
 * and combine functions update their first argument in place inside an
 * aggregate and return a new state when it has to grow (the executor then
 * frees the old one); final functions and accessors never modify their
 * arguments and allocate in CurrentMemoryContext.
 *
 * IDENTIFICATION
 *	  src/clv.c
 *
 *-------------------------------------------------------------------------
 */
#include "kpi.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "clv_core.h"
#include "numeric_digits.h"

/*
 * A variable-size state type: its I/O, the check of a payload's size, and
 * the core functions behind its combine and final functions.
 */
typedef struct ClvStateType
{
	KpiStateType io;
	bool		(*size_ok) (const void *payload, size_t size);
	kpi_status	(*merge) (void **payload, const void *other, const kpi_allocator *mem,
						  kpi_msg *msg);
	kpi_status	(*compact) (void **payload, const kpi_allocator *mem, kpi_msg *msg);
} ClvStateType;

#define CLV_STATE_TYPE(sqlname, prefix) { \
	KPI_VARIABLE_STATE_TYPE(sqlname, prefix), \
	(bool (*) (const void *, size_t)) prefix##_size_ok, \
	(kpi_status (*) (void **, const void *, const kpi_allocator *, kpi_msg *)) prefix##_merge, \
	(kpi_status (*) (void **, const kpi_allocator *, kpi_msg *)) prefix##_compact \
}

static const ClvStateType rfm_type = CLV_STATE_TYPE("kpi.rfm", clv_rfm);
static const ClvStateType fit_type = CLV_STATE_TYPE("kpi.clv_fit_state", clv_fitdata);
static const ClvStateType orders_type = CLV_STATE_TYPE("kpi.clv_state", clv_orders);

static const KpiStateType model_type =
KPI_FIXED_STATE_TYPE("kpi.clv_model", clv_model, clv_model);

/* The one-shot estimate: 12 months at 1 % a month. */
#define CLV_ESTIMATE_MONTHS		12
#define CLV_ESTIMATE_DISCOUNT	0.01
#define DAYS_PER_JULIAN_YEAR	365.25

/* ---------------------------------------------------------- type I/O */

KPI_STATE_IO_FUNCTIONS(rfm, &rfm_type.io);
KPI_STATE_IO_FUNCTIONS(clv_fit_state, &fit_type.io);
KPI_STATE_IO_FUNCTIONS(clv_model, &model_type);
KPI_STATE_IO_FUNCTIONS(clv_state, &orders_type.io);

/* ------------------------------------------------------------- helpers */

/*
 * The variable-size state in argument argno (see kpi_state_arg for
 * for_update), the size of its payload checked against its header.
 */
static KpiStateHeader *
clv_state_header_arg(FunctionCallInfo fcinfo, int argno, const ClvStateType *type,
					 bool for_update)
{
	KpiStateHeader *s = kpi_state_arg(fcinfo, argno, &type->io, for_update);

	if (unlikely(!type->size_ok(KPI_STATE_PAYLOAD(s), KPI_STATE_PAYLOAD_SIZE(s))))
		ereport(ERROR,
				errcode(ERRCODE_DATA_CORRUPTED),
				errmsg("%s value of %zu bytes is corrupted", type->io.name,
					   KPI_STATE_PAYLOAD_SIZE(s)));
	return s;
}

/* The payload of the variable-size state in argument argno, checked. */
static inline void *
clv_state_arg(FunctionCallInfo fcinfo, int argno, const ClvStateType *type,
			  bool for_update)
{
	return KPI_STATE_PAYLOAD(clv_state_header_arg(fcinfo, argno, type, for_update));
}

/*
 * Merge the state in argument 1 into that in argument 0 (in place inside an
 * aggregate); the combine functions.  States that cannot merge are 22023.
 */
static Datum
combine_states(FunctionCallInfo fcinfo, const ClvStateType *type)
{
	void	   *state = clv_state_arg(fcinfo, 0, type, true);
	const void *other = clv_state_arg(fcinfo, 1, type, false);
	kpi_msg		msg = {{0}};
	kpi_status	status;

	status = type->merge(&state, other, &kpi_state_allocator, &msg);
	if (status == KPI_ERR_MISMATCH)
		kpi_report(status, &msg, "cannot combine %s values", type->io.name);
	if (status != KPI_OK)
		kpi_report(status, &msg, "%s value out of range", type->io.name);
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(state));
}

/*
 * A canonical copy of the state in argument 0, for final functions whose
 * result is stored: the argument is copied, then compacted (sorted, folded,
 * shrunk to its content).
 */
static Datum
compact_copy(FunctionCallInfo fcinfo, const ClvStateType *type)
{
	KpiStateHeader *s = clv_state_header_arg(fcinfo, 0, type, false);
	KpiStateHeader *copy;
	void	   *payload;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	copy = palloc(VARSIZE(s));
	memcpy(copy, s, VARSIZE(s));
	payload = KPI_STATE_PAYLOAD(copy);
	status = type->compact(&payload, &kpi_state_allocator, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "%s value out of range", type->io.name);
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(payload));
}

/* Interrupt callback of long core loops; may longjmp out of the core. */
static void
clv_check_interrupts(void *arg)
{
	(void) arg;
	CHECK_FOR_INTERRUPTS();
}

/*
 * The result of a fit: an error for a failed status, else the model, or
 * NULL with a DEBUG1 line saying why there is none.
 */
static Datum
model_result(FunctionCallInfo fcinfo, kpi_status status, const kpi_msg *msg,
			 const clv_model *model, clv_fit_outcome outcome)
{
	KpiStateHeader *s;

	if (status != KPI_OK)
		kpi_report(status, msg, "could not fit the CLV model");
	if (outcome != CLV_FIT_OK)
	{
		ereport(DEBUG1,
				errmsg_internal("kpi: no CLV model fitted"),
				errdetail_internal("%s", clv_fit_outcome_text(outcome)));
		PG_RETURN_NULL();
	}
	s = kpi_state_new(&model_type);
	memcpy(KPI_STATE_PAYLOAD(s), model, sizeof(*model));
	PG_RETURN_POINTER(s);
}

/* Days since 2000-01-01 of a UTC timestamp, rounded down. */
static int32
timestamptz_day(TimestampTz ts, const char *what)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				errmsg("%s must be a finite timestamp", what));
	return (int32) (ts >= 0 ? ts / USECS_PER_DAY : -((-ts - 1) / USECS_PER_DAY) - 1);
}

/* Days since 2000-01-01 of a date. */
static int32
date_day(DateADT d, const char *what)
{
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				errmsg("%s must be a finite date", what));
	return (int32) d;
}

/* The day of argument argno, a date or a timestamptz. */
static inline int32
day_arg(FunctionCallInfo fcinfo, int argno, bool date_input, const char *what)
{
	return date_input ? date_day(PG_GETARG_DATEADT(argno), what) :
		timestamptz_day(PG_GETARG_TIMESTAMPTZ(argno), what);
}

/* A numeric amount as coef * 10^-scale; 22023 for NaN and infinities. */
static void
amount_arg(FunctionCallInfo fcinfo, int argno, __int128 *coef, int *scale)
{
	decsum_decimal d;
	decsum		sum;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (kpi_numeric_digits(PG_GETARG_DATUM(argno), &d) != KPI_NUMERIC_FINITE)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("amount must be a finite number"));
	memset(&sum, 0, sizeof(sum));
	status = decsum_add_decimal(&sum, &d, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "amount out of range");
	*coef = sum.sum;
	*scale = sum.scale;
}

/* A date Datum of a day number. */
static Datum
day_datum(int32 day)
{
	return DateADTGetDatum((DateADT) day);
}

/*
 * An interval as a horizon in weeks: a month is CLV_WEEKS_PER_MONTH weeks
 * (the lifetimes convention), a day 1/7 week.
 */
static double
interval_weeks(const Interval *iv)
{
	return iv->month * CLV_WEEKS_PER_MONTH + iv->day / CLV_DAYS_PER_WEEK +
		(double) iv->time / (USECS_PER_DAY * CLV_DAYS_PER_WEEK);
}

/* The interval a state's horizon stands for. */
static Interval
horizon_interval(const clv_horizon *h)
{
	Interval	iv;

	iv.month = h->months;
	iv.day = h->days;
	iv.time = h->usecs;
	return iv;
}

/* An interval that must be a whole number of months, as that number. */
static int
interval_months(const Interval *iv, const char *what)
{
	if (iv->day != 0 || iv->time != 0)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("%s must be a whole number of months", what),
				errhint("Write it in months or years, such as '12 months'."));
	return iv->month;
}

/* The summary of the kpi.rfm in argument argno; false when it has none. */
static bool
rfm_summary_arg(FunctionCallInfo fcinfo, int argno, clv_summary *s)
{
	const clv_rfm *rfm = clv_state_arg(fcinfo, argno, &rfm_type, false);
	int32		end;
	bool		found = false;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (!clv_rfm_observed_until(rfm, &end))
		return false;
	status = clv_rfm_summary(rfm, end, s, &found, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "invalid kpi.rfm value");
	return found;
}

/* ------------------------------------------------------------- kpi.rfm */

/*
 * Add one order to the kpi.rfm in argument 0: ordered_at (argument 1),
 * amount (2), observed_until (3), each day a date or a timestamptz.
 */
static pg_attribute_always_inline Datum
rfm_step(FunctionCallInfo fcinfo, bool ordered_date, bool observed_date)
{
	clv_rfm    *rfm = clv_state_arg(fcinfo, 0, &rfm_type, true);
	int32		day = day_arg(fcinfo, 1, ordered_date, "ordered_at");
	int32		observed = day_arg(fcinfo, 3, observed_date, "observed_until");
	__int128	coef;
	int			scale;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	amount_arg(fcinfo, 2, &coef, &scale);
	status = clv_rfm_add(&rfm, day, coef, scale, observed, &kpi_state_allocator, &msg);
	if (unlikely(status != KPI_OK))
	{
		if (status == KPI_ERR_PARAM)
			kpi_report(status, &msg, "invalid order for kpi.rfm_agg");
		kpi_report(status, &msg, "kpi.rfm_agg amount out of range");
	}
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(rfm));
}

PG_FUNCTION_INFO_V1(kpi_rfm_accum_timestamptz);
PG_FUNCTION_INFO_V1(kpi_rfm_accum_date);
PG_FUNCTION_INFO_V1(kpi_rfm_accum_timestamptz_date);

/*
 * rfm_accum(rfm, ordered_at timestamptz, amount numeric, observed_until
 * timestamptz): transition of kpi.rfm_agg.  22023 when observed_until
 * differs between rows or an amount is not finite.
 */
Datum
kpi_rfm_accum_timestamptz(PG_FUNCTION_ARGS)
{
	return rfm_step(fcinfo, false, false);
}

/* rfm_accum(rfm, date, numeric, date): the same with dates. */
Datum
kpi_rfm_accum_date(PG_FUNCTION_ARGS)
{
	return rfm_step(fcinfo, true, true);
}

/* rfm_accum(rfm, timestamptz, numeric, date): observed until a date. */
Datum
kpi_rfm_accum_timestamptz_date(PG_FUNCTION_ARGS)
{
	return rfm_step(fcinfo, false, true);
}

PG_FUNCTION_INFO_V1(kpi_rfm_combine);

/*
 * rfm_combine(rfm, rfm): merges the second state into the first; combine
 * function of kpi.rfm_agg and transition of kpi.rollup(kpi.rfm).  22023 for
 * states with different observed_until.
 */
Datum
kpi_rfm_combine(PG_FUNCTION_ARGS)
{
	return combine_states(fcinfo, &rfm_type);
}

PG_FUNCTION_INFO_V1(kpi_rfm_final);

/*
 * rfm_final(rfm): the canonical copy of a state; final function of
 * kpi.rfm_agg and kpi.rollup(kpi.rfm), so stored states compare equal.
 */
Datum
kpi_rfm_final(PG_FUNCTION_ARGS)
{
	return compact_copy(fcinfo, &rfm_type);
}

PG_FUNCTION_INFO_V1(kpi_rfm_frequency);
PG_FUNCTION_INFO_V1(kpi_rfm_recency);
PG_FUNCTION_INFO_V1(kpi_rfm_age);
PG_FUNCTION_INFO_V1(kpi_rfm_monetary_value);
PG_FUNCTION_INFO_V1(kpi_rfm_first_purchase);
PG_FUNCTION_INFO_V1(kpi_rfm_last_purchase);
PG_FUNCTION_INFO_V1(kpi_rfm_observed_until);

/*
 * The accessors of kpi.rfm.  Each is NULL when the customer made no
 * purchase up to observed_until.  rfm_frequency: x, repeat purchase days.
 */
Datum
kpi_rfm_frequency(PG_FUNCTION_ARGS)
{
	clv_summary s;

	if (!rfm_summary_arg(fcinfo, 0, &s))
		PG_RETURN_NULL();
	PG_RETURN_INT32(s.x);
}

/* rfm_recency: t_x, weeks from the first to the last purchase day. */
Datum
kpi_rfm_recency(PG_FUNCTION_ARGS)
{
	clv_summary s;

	if (!rfm_summary_arg(fcinfo, 0, &s))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s.t_x / CLV_DAYS_PER_WEEK);
}

/* rfm_age: T, weeks from the first purchase day to observed_until. */
Datum
kpi_rfm_age(PG_FUNCTION_ARGS)
{
	clv_summary s;

	if (!rfm_summary_arg(fcinfo, 0, &s))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s.T / CLV_DAYS_PER_WEEK);
}

/*
 * rfm_monetary_value: m, the exact mean amount of the repeat purchase days
 * (numeric division of their exact sum by x); 0 when x = 0.
 */
Datum
kpi_rfm_monetary_value(PG_FUNCTION_ARGS)
{
	const clv_rfm *rfm = clv_state_arg(fcinfo, 0, &rfm_type, false);
	clv_summary s;
	__int128	coef;
	int			scale;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (!rfm_summary_arg(fcinfo, 0, &s))
		PG_RETURN_NULL();
	if (s.x == 0)
		PG_RETURN_DATUM(kpi_numeric_from_scaled(0, 0));
	status = clv_rfm_repeat_amount(rfm, &coef, &scale, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "kpi.rfm amount out of range");
	PG_RETURN_DATUM(DirectFunctionCall2(numeric_div, kpi_numeric_from_scaled(coef, scale),
										NumericGetDatum(int64_to_numeric(s.x))));
}

/* rfm_first_purchase: the first purchase day (UTC). */
Datum
kpi_rfm_first_purchase(PG_FUNCTION_ARGS)
{
	clv_summary s;

	if (!rfm_summary_arg(fcinfo, 0, &s))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(day_datum(s.first_day));
}

/* rfm_last_purchase: the last purchase day up to observed_until (UTC). */
Datum
kpi_rfm_last_purchase(PG_FUNCTION_ARGS)
{
	clv_summary s;

	if (!rfm_summary_arg(fcinfo, 0, &s))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(day_datum(s.last_day));
}

/*
 * rfm_observed_until: the day observation ends; NULL only for the empty
 * state (no order at all).
 */
Datum
kpi_rfm_observed_until(PG_FUNCTION_ARGS)
{
	const clv_rfm *rfm = clv_state_arg(fcinfo, 0, &rfm_type, false);
	int32		day;

	if (!clv_rfm_observed_until(rfm, &day))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(day_datum(day));
}

/* ------------------------------------------------- fit from summaries */

PG_FUNCTION_INFO_V1(kpi_clv_fit_accum);

/*
 * clv_fit_accum(clv_fit_state, rfm): adds one customer's summary;
 * transition of kpi.clv_fit(kpi.rfm) and kpi.clv_fit_agg.  A customer
 * without a purchase up to its observed_until is skipped.
 */
Datum
kpi_clv_fit_accum(PG_FUNCTION_ARGS)
{
	clv_fitdata *fd = clv_state_arg(fcinfo, 0, &fit_type, true);
	clv_summary s;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (rfm_summary_arg(fcinfo, 1, &s))
	{
		status = clv_fitdata_add(&fd, &s, &kpi_state_allocator, &msg);
		if (status != KPI_OK)
			kpi_report(status, &msg, "invalid customer summary for kpi.clv_fit");
	}
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(fd));
}

PG_FUNCTION_INFO_V1(kpi_clv_fit_combine);

/* clv_fit_combine(clv_fit_state, clv_fit_state): the union of two inputs. */
Datum
kpi_clv_fit_combine(PG_FUNCTION_ARGS)
{
	return combine_states(fcinfo, &fit_type);
}

PG_FUNCTION_INFO_V1(kpi_clv_fit_final);

/* clv_fit_final(clv_fit_state): the canonical copy (kpi.clv_fit_agg). */
Datum
kpi_clv_fit_final(PG_FUNCTION_ARGS)
{
	return compact_copy(fcinfo, &fit_type);
}

PG_FUNCTION_INFO_V1(kpi_clv_fit_summaries);

/*
 * kpi.clv_fit(clv_fit_state) -> clv_model: the maximum-likelihood fit;
 * final function of kpi.clv_fit(kpi.rfm).  NULL (never an error) when the
 * data cannot identify the model; checks for interrupts while it runs.
 */
Datum
kpi_clv_fit_summaries(PG_FUNCTION_ARGS)
{
	const clv_fitdata *fd = clv_state_arg(fcinfo, 0, &fit_type, false);
	clv_model	model;
	clv_fit_outcome outcome;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	status = clv_fit(fd, &kpi_palloc_allocator, clv_check_interrupts, NULL, &model,
					 &outcome, &msg);
	return model_result(fcinfo, status, &msg, &model, outcome);
}

/* ---------------------------------------------------- model accessors */

PG_FUNCTION_INFO_V1(kpi_clv_params);

/*
 * kpi.clv_params(clv_model) -> record: the parameters (alpha in weeks),
 * the customer counts and the two maximised log-likelihoods.
 */
Datum
kpi_clv_params(PG_FUNCTION_ARGS)
{
	KpiStateHeader *s = kpi_state_arg(fcinfo, 0, &model_type, false);
	const clv_model *m = KPI_STATE_PAYLOAD(s);
	TupleDesc	desc;
	Datum		values[11];
	bool		nulls[11] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "kpi.clv_params must return a record");
	values[0] = Float8GetDatum(m->r);
	values[1] = Float8GetDatum(m->alpha);
	values[2] = Float8GetDatum(m->a);
	values[3] = Float8GetDatum(m->b);
	values[4] = Float8GetDatum(m->p);
	values[5] = Float8GetDatum(m->q);
	values[6] = Float8GetDatum(m->gamma);
	values[7] = Int64GetDatum(m->customers);
	values[8] = Int64GetDatum(m->repeat_customers);
	values[9] = Float8GetDatum(m->loglik_bgnbd);
	values[10] = Float8GetDatum(m->loglik_gg);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* The model in argument 0. */
static const clv_model *
model_arg(FunctionCallInfo fcinfo)
{
	return KPI_STATE_PAYLOAD(kpi_state_arg(fcinfo, 0, &model_type, false));
}

/* A prediction as float8; NaN (a sum that cannot be done) is NULL. */
static Datum
prediction_result(FunctionCallInfo fcinfo, double v)
{
	if (isnan(v))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(kpi_clv_p_alive);
PG_FUNCTION_INFO_V1(kpi_clv_expected_orders);
PG_FUNCTION_INFO_V1(kpi_clv_expected_order_value);
PG_FUNCTION_INFO_V1(kpi_clv_value);

/*
 * kpi.p_alive(clv_model, rfm) -> float8: probability that the customer is
 * still active at observed_until.  NULL for a customer without purchases.
 */
Datum
kpi_clv_p_alive(PG_FUNCTION_ARGS)
{
	const clv_model *model = model_arg(fcinfo);
	clv_summary s;

	if (!rfm_summary_arg(fcinfo, 1, &s))
		PG_RETURN_NULL();
	return prediction_result(fcinfo, clv_p_alive(model, &s));
}

/*
 * kpi.expected_orders(clv_model, rfm, horizon interval) -> float8: expected
 * purchase days in the horizon after observed_until (a month counts 4.345
 * weeks).  22023 for a negative horizon.
 */
Datum
kpi_clv_expected_orders(PG_FUNCTION_ARGS)
{
	const clv_model *model = model_arg(fcinfo);
	clv_summary s;
	double		v;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (!rfm_summary_arg(fcinfo, 1, &s))
		PG_RETURN_NULL();
	status = clv_expected_orders(model, &s, interval_weeks(PG_GETARG_INTERVAL_P(2)), &v, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "invalid horizon for kpi.expected_orders");
	return prediction_result(fcinfo, v);
}

/*
 * kpi.expected_order_value(clv_model, rfm) -> float8: expected amount of
 * one future purchase day.  NULL when the model has no finite mean (q <= 1).
 */
Datum
kpi_clv_expected_order_value(PG_FUNCTION_ARGS)
{
	const clv_model *model = model_arg(fcinfo);
	clv_summary s;

	if (!rfm_summary_arg(fcinfo, 1, &s))
		PG_RETURN_NULL();
	return prediction_result(fcinfo, clv_expected_order_value(model, &s));
}

/*
 * kpi.clv(clv_model, rfm, horizon interval, monthly_discount float8) ->
 * float8: the discounted value of the customer's expected purchases over a
 * horizon of whole months.  22023 for a horizon that is not 0 to 1200
 * months or a discount rate not above -1.
 */
Datum
kpi_clv_value(PG_FUNCTION_ARGS)
{
	const clv_model *model = model_arg(fcinfo);
	int			months = interval_months(PG_GETARG_INTERVAL_P(2), "horizon");
	clv_summary s;
	double		v;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (!rfm_summary_arg(fcinfo, 1, &s))
		PG_RETURN_NULL();
	status = clv_value(model, &s, months, PG_GETARG_FLOAT8(3), &v, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "invalid parameter for kpi.clv");
	return prediction_result(fcinfo, v);
}

/* ------------------------------------------------- straight from orders */

/*
 * How a kpi.clv_accum call site reads its arguments, worked out on the
 * first call and kept in fn_extra: the SQL signatures are (clv_state,
 * customer_id anyelement, ordered_at, amount numeric [, horizon interval]
 * [, observed_until]), with ordered_at and observed_until dates or
 * timestamptz.
 */
typedef struct ClvAccumArgs
{
	KpiIdKeys	keys;			/* of customer_id */
	bool		ordered_date;	/* ordered_at is a date */
	bool		observed_date;	/* observed_until is a date */
	int			horizon_argno;	/* -1 if none */
	int			observed_argno; /* -1 if none */
} ClvAccumArgs;

static ClvAccumArgs *
accum_args(FunctionCallInfo fcinfo)
{
	ClvAccumArgs *args = fcinfo->flinfo->fn_extra;
	int			next = 4;

	if (likely(args != NULL))
		return args;
	args = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ClvAccumArgs));
	kpi_id_keys_init(&args->keys, fcinfo, 1,
					 "Customer ids must be integers or of a type with a hash operator class.");
	args->ordered_date = get_fn_expr_argtype(fcinfo->flinfo, 2) == DATEOID;
	args->horizon_argno = args->observed_argno = -1;
	if (PG_NARGS() > next && get_fn_expr_argtype(fcinfo->flinfo, next) == INTERVALOID)
		args->horizon_argno = next++;
	if (PG_NARGS() > next)
	{
		args->observed_argno = next;
		args->observed_date = get_fn_expr_argtype(fcinfo->flinfo, next) == DATEOID;
	}
	fcinfo->flinfo->fn_extra = args;
	return args;
}

PG_FUNCTION_INFO_V1(kpi_clv_accum);

/*
 * clv_accum(clv_state, customer_id anyelement, ordered_at, amount
 * [, horizon] [, observed_until]): adds one order; transition of
 * kpi.clv_agg, kpi.clv_fit (from orders), kpi.clv_estimate and
 * kpi.clv_simple.  Integer ids (smallint, integer, bigint) are kept
 * exactly; ids of other types by their 64-bit hash.  22023 when
 * observed_until or the horizon differs between rows or an amount is not
 * finite.
 */
Datum
kpi_clv_accum(PG_FUNCTION_ARGS)
{
	ClvAccumArgs *args = accum_args(fcinfo);
	clv_orders *o = clv_state_arg(fcinfo, 0, &orders_type, true);
	clv_orders_settings set;
	__int128	coef;
	int			scale;
	int32		day = day_arg(fcinfo, 2, args->ordered_date, "ordered_at");
	kpi_msg		msg = {{0}};
	kpi_status	status;

	memset(&set, 0, sizeof(set));
	set.hashed_keys = args->keys.hashed;
	if (args->observed_argno >= 0)
	{
		set.observed = true;
		set.observed_until = day_arg(fcinfo, args->observed_argno, args->observed_date,
									 "observed_until");
	}
	if (args->horizon_argno >= 0)
	{
		const Interval *iv = PG_GETARG_INTERVAL_P(args->horizon_argno);

		set.has_horizon = true;
		set.horizon.months = iv->month;
		set.horizon.days = iv->day;
		set.horizon.usecs = iv->time;
	}
	amount_arg(fcinfo, 3, &coef, &scale);
	status = clv_orders_add(&o, &set, (int64) kpi_id_key(&args->keys, PG_GETARG_DATUM(1)), day, coef, scale,
							&kpi_state_allocator, &msg);
	if (unlikely(status != KPI_OK))
	{
		if (status == KPI_ERR_PARAM)
			kpi_report(status, &msg, "invalid order for a kpi CLV aggregate");
		kpi_report(status, &msg, "kpi CLV aggregate out of range");
	}
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(o));
}

PG_FUNCTION_INFO_V1(kpi_clv_combine);

/*
 * clv_combine(clv_state, clv_state): merges the second state into the
 * first; combine function of every kpi.clv_state aggregate and transition
 * of kpi.rollup(kpi.clv_state).  22023 for states with different settings.
 */
Datum
kpi_clv_combine(PG_FUNCTION_ARGS)
{
	return combine_states(fcinfo, &orders_type);
}

PG_FUNCTION_INFO_V1(kpi_clv_final);

/* clv_final(clv_state): the canonical copy (kpi.clv_agg, kpi.rollup). */
Datum
kpi_clv_final(PG_FUNCTION_ARGS)
{
	return compact_copy(fcinfo, &orders_type);
}

PG_FUNCTION_INFO_V1(kpi_clv_fit_orders);

/*
 * kpi.clv_fit(clv_state) -> clv_model: the fit on every customer of the
 * state; final function of kpi.clv_fit(customer_id, ordered_at, amount,
 * observed_until).  NULL (never an error) when the data cannot identify
 * the model.
 */
Datum
kpi_clv_fit_orders(PG_FUNCTION_ARGS)
{
	const clv_orders *o = clv_state_arg(fcinfo, 0, &orders_type, false);
	clv_model	model;
	clv_fit_outcome outcome;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	status = clv_orders_fit(o, &kpi_palloc_allocator, clv_check_interrupts, NULL, &model,
							&outcome, &msg);
	return model_result(fcinfo, status, &msg, &model, outcome);
}

/* The mean CLV of a state's customers over `months`, as numeric; or NULL. */
static Datum
estimate_result(FunctionCallInfo fcinfo, const clv_orders *o, int months)
{
	double		mean = 0.0;
	clv_fit_outcome outcome;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	status = clv_orders_mean_value(o, months, CLV_ESTIMATE_DISCOUNT, &kpi_palloc_allocator,
								   clv_check_interrupts, NULL, &mean, &outcome, &msg);
	if (status == KPI_ERR_PARAM)
		kpi_report(status, &msg, "invalid horizon for kpi.clv_estimate");
	if (status != KPI_OK)
		kpi_report(status, &msg, "could not estimate the CLV");
	if (outcome != CLV_FIT_OK || isnan(mean))
	{
		ereport(DEBUG1,
				errmsg_internal("kpi: no CLV estimate"),
				errdetail_internal("%s", outcome != CLV_FIT_OK ? clv_fit_outcome_text(outcome) :
								   "The fitted spend model has no finite mean."));
		PG_RETURN_NULL();
	}
	PG_RETURN_DATUM(DirectFunctionCall1(float8_numeric, Float8GetDatum(mean)));
}

PG_FUNCTION_INFO_V1(kpi_clv_estimate_state);
PG_FUNCTION_INFO_V1(kpi_clv_estimate_state_horizon);

/*
 * kpi.clv_estimate(clv_state) -> numeric: the mean CLV per customer at 1 %
 * a month over the horizon the state carries (that of the one-step
 * aggregate's call), else 12 months; final function of kpi.clv_estimate.
 * NULL when the model cannot be identified.
 */
Datum
kpi_clv_estimate_state(PG_FUNCTION_ARGS)
{
	const clv_orders *o = clv_state_arg(fcinfo, 0, &orders_type, false);
	clv_orders_settings set;
	int			months = CLV_ESTIMATE_MONTHS;

	if (clv_orders_get_settings(o, &set) && set.has_horizon)
	{
		Interval	iv = horizon_interval(&set.horizon);

		months = interval_months(&iv, "horizon");
	}
	return estimate_result(fcinfo, o, months);
}

/* kpi.clv_estimate(clv_state, horizon interval) -> numeric: the same. */
Datum
kpi_clv_estimate_state_horizon(PG_FUNCTION_ARGS)
{
	const clv_orders *o = clv_state_arg(fcinfo, 0, &orders_type, false);

	return estimate_result(fcinfo, o, interval_months(PG_GETARG_INTERVAL_P(1), "horizon"));
}

/*
 * The textbook CLV of a state over a lifespan: AOV x orders per customer
 * per year x lifespan in years, where AOV = revenue / orders, the
 * frequency = orders / customers / observed years, observed years = days
 * from the first purchase day to the end of observation, both counted,
 * / 365.25, and a lifespan of m months, d days and t time is m / 12 +
 * (d + t / 1 day) / 365.25 years.  NULL without orders.
 */
static Datum
simple_result(FunctionCallInfo fcinfo, const clv_orders *o, const Interval *lifespan)
{
	clv_orders_totals t;
	bool		found;
	double		years_observed;
	double		years_life;
	double		aov;
	double		frequency;
	double		unit = 1.0;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	years_life = lifespan->month / 12.0 +
		(lifespan->day + (double) lifespan->time / USECS_PER_DAY) / DAYS_PER_JULIAN_YEAR;
	if (years_life < 0.0)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("lifespan must not be negative"));
	status = clv_orders_get_totals(o, &kpi_palloc_allocator, &t, &found, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "kpi.clv_simple revenue out of range");
	if (!found)
		PG_RETURN_NULL();
	for (int i = 0; i < t.scale; i++)
		unit *= 10.0;
	years_observed = ((double) t.end_day - t.first_day + 1.0) / DAYS_PER_JULIAN_YEAR;
	aov = (double) t.revenue / unit / t.orders;
	frequency = t.orders / (double) t.customers / years_observed;
	PG_RETURN_DATUM(DirectFunctionCall1(float8_numeric,
										Float8GetDatum(aov * frequency * years_life)));
}

PG_FUNCTION_INFO_V1(kpi_clv_simple_state);
PG_FUNCTION_INFO_V1(kpi_clv_simple_final);

/* kpi.clv_simple(clv_state, lifespan interval) -> numeric (see above). */
Datum
kpi_clv_simple_state(PG_FUNCTION_ARGS)
{
	const clv_orders *o = clv_state_arg(fcinfo, 0, &orders_type, false);

	return simple_result(fcinfo, o, PG_GETARG_INTERVAL_P(1));
}

/*
 * kpi.clv_simple_final(clv_state) -> numeric: kpi.clv_simple over the
 * lifespan the state carries; final function of kpi.clv_simple.  22023
 * for a state without one.
 */
Datum
kpi_clv_simple_final(PG_FUNCTION_ARGS)
{
	const clv_orders *o = clv_state_arg(fcinfo, 0, &orders_type, false);
	clv_orders_settings set;
	Interval	iv;

	if (!clv_orders_get_settings(o, &set))
		PG_RETURN_NULL();
	if (!set.has_horizon)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("kpi.clv_state value carries no lifespan"),
				errhint("Use kpi.clv_simple(state, lifespan)."));
	iv = horizon_interval(&set.horizon);
	return simple_result(fcinfo, o, &iv);
}
