/*-------------------------------------------------------------------------
 *
 * aov.c
 *	  SQL glue of kpi.aov, average order value, and its state type
 *	  kpi.aov_state.  The arithmetic lives in core/aov_core.c.
 *
 * Every function here is STRICT and IMMUTABLE: NULL rows never reach the
 * transition functions, so they are skipped as avg() skips them.  The
 * transition, inverse and combine functions update their first argument
 * in place when called by an aggregate (the executor owns it), and a copy
 * otherwise; when a numeric sum changes size (it goes wide past 128 bits,
 * or back), they return a new state allocated in CurrentMemoryContext
 * through kpi_state_allocator, which the executor copies into the
 * aggregate context in place of the old one.  Accessors and final
 * functions never modify their argument, so window aggregation may call
 * them repeatedly.
 *
 * IDENTIFICATION
 *	  src/aov.c
 *
 *-------------------------------------------------------------------------
 */
#include "kpi.h"

#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/numeric.h"

#include "aov_core.h"
#include "numeric_digits.h"

/*
 * kpi.aov_state is variable-size: a numeric sum beyond 128 bits makes the
 * state wide (see aov_core.h), so the payload is allocated by the core.
 */
static const KpiStateType aov_state_type = {
	.name = "kpi.aov_state",
	.fixed_size = 0,
	.parse_alloc = (kpi_status (*) (const char *, const kpi_allocator *, void **, kpi_msg *)) aov_parse_wide,
	.decode_alloc = (kpi_status (*) (kpi_reader *, const kpi_allocator *, void **, kpi_msg *)) aov_decode_wide,
	.format = (void (*) (const void *, kpi_strbuf *)) aov_format,
	.encoded_size = (size_t (*) (const void *)) aov_encoded_size,
	.encode = (void (*) (const void *, kpi_writer *)) aov_encode,
};

/* ---------------------------------------------------------- type I/O */

KPI_STATE_IO_FUNCTIONS(aov_state, &aov_state_type);

/* ---------------------------------------------------------- transitions */

/* The SQL type of a transition function's second argument. */
typedef enum aov_input
{
	AOV_INPUT_NUMERIC,
	AOV_INPUT_INT8,
	AOV_INPUT_INT4,
	AOV_INPUT_FLOAT8
} aov_input;

static const aov_special numeric_specials[] = {
	[KPI_NUMERIC_NAN] = AOV_NAN,
	[KPI_NUMERIC_PINF] = AOV_PINF,
	[KPI_NUMERIC_NINF] = AOV_NINF,
};

/*
 * Raises the error of a failed transition or combination: states of
 * different kinds (22023), or a count past its ceiling (22003).
 */
static void pg_attribute_noreturn()
aov_report(kpi_status status, const kpi_msg *msg)
{
	if (status == KPI_ERR_MISMATCH)
		kpi_report(status, msg, "cannot combine kpi.aov_state values of different kinds");
	kpi_report(status, msg, "kpi.aov state out of range");
}

/*
 * Add (or, with remove, take away) argument 1 to the state in argument 0.
 * Returns the state (a new one if it had to change size), or NULL when a
 * removal cannot be done exactly: the executor then recomputes the window
 * frame from scratch.  Always inlined, so each SQL-callable wrapper
 * compiles to the code of its own input type.
 */
static pg_attribute_always_inline Datum
aov_step(FunctionCallInfo fcinfo, aov_input input, bool remove)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &aov_state_type, true);
	aov_core   *core = KPI_STATE_PAYLOAD(state);
	kpi_msg		msg;
	kpi_status	status;

	msg.text[0] = '\0';
	switch (input)
	{
		case AOV_INPUT_NUMERIC:
			{
				decsum_decimal d;
				kpi_numeric_class class = kpi_numeric_digits(PG_GETARG_DATUM(1), &d);

				if (class != KPI_NUMERIC_FINITE)
					status = remove ?
						aov_remove_special(core, AOV_NUMERIC, numeric_specials[class], &msg) :
						aov_add_special(core, AOV_NUMERIC, numeric_specials[class], &msg);
				else
					status = remove ? aov_remove_decimal_wide(&core, &d, &kpi_state_allocator, &msg) :
						aov_add_decimal_wide(&core, &d, &kpi_state_allocator, &msg);
				break;
			}
		case AOV_INPUT_INT8:
		case AOV_INPUT_INT4:
			{
				int64		v = input == AOV_INPUT_INT8 ? PG_GETARG_INT64(1) : PG_GETARG_INT32(1);

				status = remove ? aov_remove_int64_wide(&core, v, &kpi_state_allocator, &msg) :
					aov_add_int64_wide(&core, v, &kpi_state_allocator, &msg);
				break;
			}
		case AOV_INPUT_FLOAT8:
			status = remove ? aov_remove_float8(core, PG_GETARG_FLOAT8(1), &msg) :
				aov_add_float8(core, PG_GETARG_FLOAT8(1), &msg);
			break;
	}
	if (unlikely(status != KPI_OK))
	{
		if (status == KPI_CANNOT_INVERT)
			PG_RETURN_NULL();
		aov_report(status, &msg);
	}
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(core));
}

PG_FUNCTION_INFO_V1(kpi_aov_accum_numeric);
PG_FUNCTION_INFO_V1(kpi_aov_accum_int8);
PG_FUNCTION_INFO_V1(kpi_aov_accum_int4);
PG_FUNCTION_INFO_V1(kpi_aov_accum_float8);
PG_FUNCTION_INFO_V1(kpi_aov_accum_inv_numeric);
PG_FUNCTION_INFO_V1(kpi_aov_accum_inv_int8);
PG_FUNCTION_INFO_V1(kpi_aov_accum_inv_int4);
PG_FUNCTION_INFO_V1(kpi_aov_accum_inv_float8);

/* aov_accum(aov_state, numeric|bigint|integer|float8): adds one value. */
Datum
kpi_aov_accum_numeric(PG_FUNCTION_ARGS)
{
	return aov_step(fcinfo, AOV_INPUT_NUMERIC, false);
}

Datum
kpi_aov_accum_int8(PG_FUNCTION_ARGS)
{
	return aov_step(fcinfo, AOV_INPUT_INT8, false);
}

Datum
kpi_aov_accum_int4(PG_FUNCTION_ARGS)
{
	return aov_step(fcinfo, AOV_INPUT_INT4, false);
}

Datum
kpi_aov_accum_float8(PG_FUNCTION_ARGS)
{
	return aov_step(fcinfo, AOV_INPUT_FLOAT8, false);
}

/*
 * aov_accum_inv(aov_state, numeric|bigint|integer|float8): removes a value
 * that left a moving window frame; NULL when that cannot be done exactly.
 */
Datum
kpi_aov_accum_inv_numeric(PG_FUNCTION_ARGS)
{
	return aov_step(fcinfo, AOV_INPUT_NUMERIC, true);
}

Datum
kpi_aov_accum_inv_int8(PG_FUNCTION_ARGS)
{
	return aov_step(fcinfo, AOV_INPUT_INT8, true);
}

Datum
kpi_aov_accum_inv_int4(PG_FUNCTION_ARGS)
{
	return aov_step(fcinfo, AOV_INPUT_INT4, true);
}

Datum
kpi_aov_accum_inv_float8(PG_FUNCTION_ARGS)
{
	return aov_step(fcinfo, AOV_INPUT_FLOAT8, true);
}

PG_FUNCTION_INFO_V1(kpi_aov_combine);

/*
 * aov_combine(aov_state, aov_state): merges the second state into the
 * first.  Combine function of every aov aggregate and transition function
 * of kpi.rollup(aov_state).  22023 if one state holds numeric values and
 * the other float8 values.
 */
Datum
kpi_aov_combine(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &aov_state_type, true);
	KpiStateHeader *other = kpi_state_arg(fcinfo, 1, &aov_state_type, false);
	aov_core   *core = KPI_STATE_PAYLOAD(state);
	kpi_msg		msg;
	kpi_status	status;

	msg.text[0] = '\0';
	status = aov_merge_wide(&core, KPI_STATE_PAYLOAD(other), &kpi_state_allocator, &msg);
	if (status != KPI_OK)
		aov_report(status, &msg);
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(core));
}

/* ------------------------------------------------------------- accessors */

/* The exact mean of a numeric state, as avg(numeric) computes it. */
static Datum
aov_numeric_mean(const aov_core *core)
{
	Datum		sum = kpi_numeric_from_decsum(&core->sum.dec);
	Datum		count = NumericGetDatum(int64_to_numeric(core->sum.dec.count));

	return DirectFunctionCall2(numeric_div, sum, count);
}

/* A float8 as the numeric with the same shortest decimal digits. */
static Datum
float8_to_exact_numeric(double v)
{
	kpi_strbuf	text;

	kpi_strbuf_init(&text, &kpi_palloc_allocator);
	kpi_strbuf_append_f64(&text, v);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(text.data),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

PG_FUNCTION_INFO_V1(kpi_aov_numeric);

/*
 * kpi.aov(aov_state) -> numeric: the mean of a state; also the final
 * function of kpi.aov(numeric|bigint|integer).  NULL for an empty state.
 * Numeric states give exactly avg()'s value and display scale; a float8
 * state gives its float8 mean written as an exact numeric.
 */
Datum
kpi_aov_numeric(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &aov_state_type, false);
	const aov_core *core = KPI_STATE_PAYLOAD(state);

	switch (aov_result(core))
	{
		case AOV_NO_VALUES:
			PG_RETURN_NULL();
		case AOV_MEAN_NAN:
			PG_RETURN_DATUM(float8_to_exact_numeric(get_float8_nan()));
		case AOV_MEAN_PINF:
			PG_RETURN_DATUM(float8_to_exact_numeric(get_float8_infinity()));
		case AOV_MEAN_NINF:
			PG_RETURN_DATUM(float8_to_exact_numeric(-get_float8_infinity()));
		case AOV_MEAN_FINITE:
			break;
	}
	if (core->kind == AOV_NUMERIC)
		PG_RETURN_DATUM(aov_numeric_mean(core));
	PG_RETURN_DATUM(float8_to_exact_numeric(fsum_mean(&core->sum.flt)));
}

PG_FUNCTION_INFO_V1(kpi_aov_float8);

/*
 * kpi.aov_float8(aov_state) -> double precision: the mean as a float8;
 * also the final function of kpi.aov(double precision).  NULL for an
 * empty state.  A numeric state's exact mean is rounded to float8 once.
 */
Datum
kpi_aov_float8(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &aov_state_type, false);
	const aov_core *core = KPI_STATE_PAYLOAD(state);

	switch (aov_result(core))
	{
		case AOV_NO_VALUES:
			PG_RETURN_NULL();
		case AOV_MEAN_NAN:
			PG_RETURN_FLOAT8(get_float8_nan());
		case AOV_MEAN_PINF:
			PG_RETURN_FLOAT8(get_float8_infinity());
		case AOV_MEAN_NINF:
			PG_RETURN_FLOAT8(-get_float8_infinity());
		case AOV_MEAN_FINITE:
			break;
	}
	if (core->kind == AOV_NUMERIC)
		PG_RETURN_DATUM(DirectFunctionCall1(numeric_float8, aov_numeric_mean(core)));
	PG_RETURN_FLOAT8(fsum_mean(&core->sum.flt));
}

PG_FUNCTION_INFO_V1(kpi_aov_count);

/* kpi.aov_count(aov_state) -> bigint: the number of values in a state. */
Datum
kpi_aov_count(PG_FUNCTION_ARGS)
{
	KpiStateHeader *state = kpi_state_arg(fcinfo, 0, &aov_state_type, false);

	PG_RETURN_INT64(aov_count(KPI_STATE_PAYLOAD(state)));
}
