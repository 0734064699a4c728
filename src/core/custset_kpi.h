/*-------------------------------------------------------------------------
 *
 * custset_kpi.h
 *	  Retention, cohort, repeat-purchase and distinct-order KPIs on custsets.
 *
 * The glue decides which rows count (the cutoff and the optional period of
 * kpi.retention_rate, the mapping of timestamps to period indexes), feeds
 * them to the *_add functions and reads the results with the *_counts and
 * table functions, which walk the set once.  Rates are false (SQL NULL)
 * when their denominator is zero.
 *
 * IDENTIFICATION
 *	  src/core/custset_kpi.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_CUSTSET_KPI_H
#define KPI_CUSTSET_KPI_H

#include "aov_core.h"
#include "custset_core.h"

/*
 * The *_add functions are called once per row: they are inline and check
 * the set's type, reporting a mismatch through custset_type_mismatch
 * (KPI_ERR_PARAM), out of line.
 */
extern kpi_status custset_type_mismatch(const custset *s, custset_type want, kpi_msg *msg)
			__attribute__((cold));

/* ---- retention (CUSTSET_RETENTION) ---- */

typedef struct custset_retention
{
	int64_t		base;			/* customers who ordered before the cutoff */
	int64_t		retained;		/* ... and also at or after it */
	int64_t		churned;		/* ... but not at or after it */
	int64_t		new_customers;	/* ordered at or after the cutoff only */
} custset_retention;

/* Records an order of customer before the cutoff or at/after it. */
static inline kpi_status
custset_retention_add(custset **state, const custset_key *customer, bool before_cutoff,
					  const kpi_allocator *mem, kpi_msg *msg)
{
	if (__builtin_expect((*state)->type != CUSTSET_RETENTION, 0))
		return custset_type_mismatch(*state, CUSTSET_RETENTION, msg);
	return custset_add(state, customer, NULL, before_cutoff ? CUSTSET_BEFORE : CUSTSET_AFTER,
					   mem, msg);
}
extern kpi_status custset_retention_counts(const custset *s, const kpi_allocator *mem,
										   custset_retention *out, kpi_msg *msg);
/* retained / base and churned / base. */
extern bool custset_retention_rate(const custset_retention *r, double *rate);
extern bool custset_churn_rate(const custset_retention *r, double *rate);

/* ---- cohorts (CUSTSET_COHORT) ---- */

/*
 * One cell of the cohort triangle: of the cohort_customers whose first
 * period is cohort, active_customers ordered in period cohort + offset.
 */
typedef struct custset_cohort_row
{
	int32_t		cohort;			/* period index of the first order */
	int32_t		offset;			/* periods after the cohort, >= 0 */
	int64_t		cohort_customers;
	int64_t		active_customers;
} custset_cohort_row;

/* Records an order of customer in the period with index period. */
static inline kpi_status
custset_cohort_add(custset **state, const custset_key *customer, int32_t period,
				   const kpi_allocator *mem, kpi_msg *msg)
{
	custset_key p = custset_key_int(period);

	if (__builtin_expect((*state)->type != CUSTSET_COHORT, 0))
		return custset_type_mismatch(*state, CUSTSET_COHORT, msg);
	return custset_add(state, customer, &p, 0, mem, msg);
}

/*
 * The cells with active_customers > 0, ordered by cohort then offset, in
 * *rows (allocated with mem; the caller frees it, NULL when *nrows is 0).
 * *last_period is the latest period of any record (0 when there is none):
 * a caller that shows the whole triangle adds the cells with no active
 * customer up to it.  KPI_ERR_OVERFLOW when an offset exceeds INT32_MAX.
 */
extern kpi_status custset_cohort_table(const custset *s, const kpi_allocator *mem,
									   custset_cohort_row **rows, size_t *nrows,
									   int32_t *last_period, kpi_msg *msg);

/* ---- repeat purchases (CUSTSET_ORDER_COUNT, CUSTSET_CUSTOMER_ORDER) ---- */

typedef struct custset_repeat
{
	int64_t		customers;		/* distinct customers */
	int64_t		repeat_customers;	/* customers with >= 2 orders */
	int64_t		orders;			/* rows, or distinct (customer, order) pairs */
} custset_repeat;

/*
 * Records an order of customer: with order == NULL one row of an
 * CUSTSET_ORDER_COUNT set, else the order id in a CUSTSET_CUSTOMER_ORDER set.
 */
static inline kpi_status
custset_repeat_add(custset **state, const custset_key *customer, const custset_key *order,
				   const kpi_allocator *mem, kpi_msg *msg)
{
	custset_type want = order == NULL ? CUSTSET_ORDER_COUNT : CUSTSET_CUSTOMER_ORDER;

	if (__builtin_expect((*state)->type != want, 0))
		return custset_type_mismatch(*state, want, msg);
	return custset_add(state, customer, order, order == NULL ? 1 : 0, mem, msg);
}
extern kpi_status custset_repeat_counts(const custset *s, const kpi_allocator *mem,
										custset_repeat *out, kpi_msg *msg);
/* repeat_customers / customers and orders / customers. */
extern bool custset_repeat_rate(const custset_repeat *r, double *rate);
extern bool custset_purchase_frequency(const custset_repeat *r, double *freq);

/* ---- distinct orders (CUSTSET_ORDERS; line-level AOV) ---- */

static inline kpi_status
custset_orders_add(custset **state, const custset_key *order, const kpi_allocator *mem,
				   kpi_msg *msg)
{
	if (__builtin_expect((*state)->type != CUSTSET_ORDERS, 0))
		return custset_type_mismatch(*state, CUSTSET_ORDERS, msg);
	/* the order of the line before again: nothing to add, nothing to call */
	if (custset_is_last_key(*state, order))
		return KPI_OK;
	return custset_add(state, order, NULL, 0, mem, msg);
}
extern kpi_status custset_orders_count(const custset *s, const kpi_allocator *mem,
									   int64_t *count, kpi_msg *msg);

/* ---- calendar periods of cohorts ---- */

/*
 * The period of a cohort state, and the integer index of each period,
 * which the state stores (so it is part of the text and binary forms):
 *	 day       days since 1970-01-01
 *	 week      ISO weeks (Monday to Sunday) since Monday 1969-12-29
 *	 month     year * 12 + month - 1
 *	 quarter   year * 4 + quarter - 1
 *	 year      the year
 * in the proleptic Gregorian calendar with year 0 = 1 BC.
 */
typedef enum custset_period
{
	CUSTSET_PERIOD_NONE = 0,	/* an empty state's: no row seen yet */
	CUSTSET_PERIOD_DAY,
	CUSTSET_PERIOD_WEEK,
	CUSTSET_PERIOD_MONTH,
	CUSTSET_PERIOD_QUARTER,
	CUSTSET_PERIOD_YEAR
} custset_period;

/*
 * The period named by name[0..len) ("day" ... "year", any case);
 * KPI_ERR_PARAM for any other.
 */
extern kpi_status custset_period_parse(const char *name, size_t len, custset_period *out,
									   kpi_msg *msg);
extern const char *custset_period_name(custset_period period);
/* Index of the period holding day (days since 1970-01-01). */
extern int32_t custset_period_of_day(custset_period period, int32_t day);
/* First day (days since 1970-01-01) of the period with this index. */
extern int64_t custset_period_first_day(custset_period period, int32_t index);

/*
 * The index of the period holding the instant usecs microseconds after
 * 00:00 of day epoch_day (days since 1970-01-01): a timestamptz's periods
 * are those of UTC, a timestamp's those of its own values.  *lower and
 * *upper get the period's bounds [lower, upper) in the same unit, clamped
 * to int64, so that later instants of the same period need no conversion.
 * The instant's day must fit in int32, as every PostgreSQL timestamp's
 * does.
 */
extern int32_t custset_period_of_usecs(custset_period period, int64_t usecs, int32_t epoch_day,
									   int64_t *lower, int64_t *upper);

/* ---- the SQL state types ---- */

/*
 * Which SQL state a custset is the payload of, and what its extra bytes
 * hold:
 *	 RETENTION  kpi.retention_state  a CUSTSET_RETENTION set
 *	 COHORT     kpi.cohort_state     a CUSTSET_COHORT set; extra: custset_cohort_extra
 *	 REPEAT     kpi.repeat_state     a CUSTSET_ORDER_COUNT (rows per customer)
 *	                                 or CUSTSET_CUSTOMER_ORDER set
 *	 AOV_LINES  kpi.aov_lines_state  a CUSTSET_ORDERS set; extra: the aov_core
 *	                                 of the line amounts
 *
 * Text forms:
 *	 retention, repeat: custset_format (the type shows: order_kind only in
 *	   a customer_order set)
 *	 cohort:    (v:1,period:month,set:(kind:int8,n:1,customers:[7=[24241,24243]]))
 *	 aov_lines: (v:1,amounts:(v:1,kind:numeric,...),orders:(kind:int8,n:2,orders:[7,9]))
 * Binary forms: the custset's, then (cohort) u8 period or (aov_lines) the
 * aov_core's binary form.
 */
typedef enum custset_state
{
	CUSTSET_STATE_RETENTION,
	CUSTSET_STATE_COHORT,
	CUSTSET_STATE_REPEAT,
	CUSTSET_STATE_AOV_LINES
} custset_state;

typedef struct custset_cohort_extra
{
	int32_t		period;			/* custset_period */
	int32_t		reserved;		/* zero */
} custset_cohort_extra;

/* The empty state of a type (for REPEAT: of set type `type`). */
extern kpi_status custset_state_create(custset_state which, custset_type type,
									   const kpi_allocator *mem, custset **out,
									   kpi_msg *msg);
extern kpi_status custset_state_parse(custset_state which, const char *text,
									  const kpi_allocator *mem, custset **out,
									  kpi_msg *msg);
extern kpi_status custset_state_format(custset_state which, const custset *s,
									   const kpi_allocator *mem, kpi_strbuf *out,
									   kpi_msg *msg);
/* Binary form of a compact state (custset_compact). */
extern size_t custset_state_encoded_size(custset_state which, const custset *compact);
extern kpi_status custset_state_encode(custset_state which, const custset *compact,
									   kpi_writer *w, kpi_msg *msg);
extern kpi_status custset_state_decode(custset_state which, kpi_reader *r,
									   const kpi_allocator *mem, custset **out,
									   kpi_msg *msg);

/*
 * *dst := *dst combined with src, extras included: cohort states must have
 * the same period (an empty state takes the other's), line-amount sums add
 * up, and an empty repeat state takes the other's set type.
 * KPI_ERR_MISMATCH for states that cannot combine.  May replace *dst.
 */
extern kpi_status custset_state_merge(custset_state which, custset **dst, const custset *src,
									  const kpi_allocator *mem, kpi_msg *msg);

/* The cohort period of a cohort state; sets it on a state without one. */
static inline custset_cohort_extra *
custset_cohort_extra_of(custset *s)
{
	return (custset_cohort_extra *) custset_extra(s);
}

/* The line amounts of an aov_lines state. */
static inline aov_core *
custset_aov_of(custset *s)
{
	return (aov_core *) custset_extra(s);
}

#endif							/* KPI_CUSTSET_KPI_H */
