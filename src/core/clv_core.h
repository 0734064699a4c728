/*-------------------------------------------------------------------------
 *
 * clv_core.h
 *	  Customer lifetime value: RFM summaries, BG/NBD + Gamma-Gamma fitting
 *	  and per-customer predictions (Fader, Hardie & Lee 2005).
 *
 * Four values travel through SQL:
 *
 * clv_rfm      one customer's purchases up to observed_until, mergeable in
 *              any order: the sorted set of distinct purchase days plus two
 *              exact decimal sums (amount of the first day, amount of all
 *              days).  One contiguous buffer, grown by doubling.
 * clv_fitdata  the input of a fit: per-customer summaries (x, t_x, T, m) as
 *              a multiset of weighted rows.  Customers with equal rows (all
 *              one-time buyers of the same first day, say) share one row.
 *              One contiguous buffer, grown by doubling.
 * clv_model    fitted BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma)
 *              parameters, fixed size.
 * clv_orders   the purchase days of many customers, for the aggregates that
 *              go straight from orders to a fit or an estimate.
 *
 * Conventions (those of the papers, of lifetimes and of BTYD): days are
 * int32 day numbers chosen by the caller (PostgreSQL: days since
 * 2000-01-01); orders after observed_until are ignored; the orders of one
 * day are one purchase, their amounts summed; x = distinct purchase days
 * after the first; t_x = days from the first to the last purchase day;
 * T = days from the first purchase day to observed_until; m = mean amount of
 * the repeat purchase days (the first day left out), 0 when x = 0.  The
 * models count time in weeks of 7 days: alpha is in weeks, horizons are
 * given in weeks, and a month is CLV_WEEKS_PER_MONTH weeks.
 *
 * Amounts are exact decimals coef * 10^-scale (coef an int128, scale
 * 0..CLV_MAX_AMOUNT_SCALE): the sums are rescaled to the largest scale
 * seen, as numeric addition does, so merging is exact and gives the same
 * bytes in any order.  Only the derived m is a double.  For a numeric the
 * glue gets coef and scale from kpi_numeric_digits() and decsum_add_decimal()
 * on a zeroed decsum (its sum and scale); more than 38 significant digits
 * is KPI_ERR_OVERFLOW there as here.
 *
 * The four values are the payloads of PostgreSQL varlena states: the
 * glue's kpi_state_allocator puts a KpiStateHeader (varlena length and
 * format version) in front of every block the core allocates, so the
 * structs here hold neither.  Growing (and compacting) calls
 * mem->realloc(ptr, new_size) and then uses only the returned pointer; the
 * glue's realloc returns a new state and leaves the old one alone, because
 * nodeAgg frees the old transition value itself when a transition function
 * returns a different one.  Equal values have equal bytes only after
 * clv_rfm_compact / clv_fitdata_compact / clv_orders_compact (capacity equal
 * to the content, sorted, zero padding); the encoded forms are canonical
 * whenever the value is.
 *
 * The fit never fails with an error for data that cannot identify the
 * model; it reports a clv_fit_outcome and the glue returns NULL.  Long loops
 * call a caller-supplied interrupt callback (CHECK_FOR_INTERRUPTS), which may
 * longjmp: all working memory comes from the allocator, none from malloc
 * (glibc qsort may use scratch memory of its own, but never across a
 * callback).
 *
 * IDENTIFICATION
 *	  src/core/clv_core.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLV_CORE_H
#define CLV_CORE_H

#include "codec.h"

#define CLV_DAYS_PER_WEEK		7.0
#define CLV_WEEKS_PER_MONTH		4.345	/* lifetimes' convention */
#define CLV_MAX_AMOUNT_SCALE	38		/* decimal places of an amount */
#define CLV_RFM_MAX_DAYS		(1 << 24)	/* distinct purchase days */
#define CLV_FITDATA_MAX_ROWS	(1 << 24)	/* distinct summary rows */
#define CLV_ORDERS_MAX_DAYS		30000000	/* customer purchase days: < 1 GB */
#define CLV_MAX_MONTHS			1200	/* longest CLV horizon */

/* Called between steps of long loops; may longjmp (CHECK_FOR_INTERRUPTS). */
typedef void (*clv_interrupt_fn) (void *arg);

/* ------------------------------------------------------------------ RFM */

/* clv_rfm.flags */
#define CLV_RFM_OBSERVED		0x01	/* observed_until is set */

/*
 * One customer's RFM state: a 48-byte header followed by the sorted distinct
 * purchase days, 4 bytes each.  The amount sums are int128 kept as bytes so
 * that the buffer needs only 8-byte alignment (palloc's MAXALIGN).
 */
typedef struct clv_rfm
{
	uint8_t		flags;			/* CLV_RFM_OBSERVED */
	uint8_t		amount_scale;	/* decimal places of both sums */
	uint16_t	reserved;		/* zero */
	int32_t		observed_until; /* last day counted; 0 until set */
	int32_t		ndays;			/* distinct purchase days kept */
	int32_t		capacity;		/* room in days[] */
	uint8_t		first_amount[16];	/* int128: sum of the first day */
	uint8_t		total_amount[16];	/* int128: sum of all days kept */
	int32_t		days[];			/* ascending, ndays used, rest zero */
} clv_rfm;

/* A customer's summary, in days (the models convert to weeks). */
typedef struct clv_summary
{
	int32_t		x;				/* distinct purchase days after the first */
	int32_t		t_x;			/* days from the first to the last one */
	int32_t		T;				/* days from the first one to the end */
	int32_t		first_day;
	int32_t		last_day;
	double		m;				/* mean amount of the repeat days; 0 if x = 0 */
} clv_summary;

/* A new empty state (no observed_until yet): the identity of merging. */
extern kpi_status clv_rfm_create(clv_rfm **out, const kpi_allocator *mem, kpi_msg *msg);
/* Bytes of the buffer (header + capacity days). */
extern size_t clv_rfm_size(const clv_rfm *rfm);
/* Whether a buffer of `size` bytes holds a consistent header for its size. */
extern bool clv_rfm_size_ok(const clv_rfm *rfm, size_t size);

/*
 * Add one order: amount = coef * 10^-scale on day `day`.  Every row of a
 * state must carry the same observed_until (else KPI_ERR_PARAM); a day after
 * it is ignored (but still fixes observed_until).  May replace *rfm by a
 * bigger buffer.  KPI_ERR_OVERFLOW if a sum leaves int128.  On error *rfm
 * is unchanged.
 */
extern kpi_status clv_rfm_add(clv_rfm **rfm, int32_t day, __int128 coef, int scale,
							  int32_t observed_until, const kpi_allocator *mem,
							  kpi_msg *msg);

/*
 * Merge src into *dst (the union of their orders).  States with different
 * observed_until give KPI_ERR_MISMATCH; an empty state is the identity.
 * src must not be *dst.  May replace *dst.  On error *dst is unchanged.
 */
extern kpi_status clv_rfm_merge(clv_rfm **dst, const clv_rfm *src,
								const kpi_allocator *mem, kpi_msg *msg);

/*
 * Shrink the buffer to its content (capacity = ndays), giving the canonical
 * bytes of the value; for final functions whose result is stored.
 */
extern kpi_status clv_rfm_compact(clv_rfm **rfm, const kpi_allocator *mem, kpi_msg *msg);

/* False when observed_until is not set yet (an empty state). */
extern bool clv_rfm_observed_until(const clv_rfm *rfm, int32_t *day);

/*
 * The summary with T measured up to `end` (normally the state's own
 * observed_until).  Sets *found = false, and leaves *out alone, when the
 * state has no purchase day.  KPI_ERR_PARAM when a purchase day is after
 * end.
 */
extern kpi_status clv_rfm_summary(const clv_rfm *rfm, int32_t end, clv_summary *out,
								  bool *found, kpi_msg *msg);

/*
 * The exact amounts behind m: the sum of the repeat purchase days
 * (total - first day) as coef * 10^-scale.  KPI_ERR_OVERFLOW if the
 * difference leaves int128.
 */
extern kpi_status clv_rfm_repeat_amount(const clv_rfm *rfm, __int128 *coef, int *scale,
										kpi_msg *msg);

/*
 * Binary form (send/recv), 43 + 4 * ndays bytes, big-endian:
 * u8 version, u8 flags, u32 observed_until, u8 scale, i128 first_amount,
 * i128 total_amount, u32 ndays, ndays * u32 day.
 */
extern size_t clv_rfm_encoded_size(const clv_rfm *rfm);
/* Writes exactly clv_rfm_encoded_size(rfm) bytes. */
extern void clv_rfm_encode(const clv_rfm *rfm, kpi_writer *w);
/*
 * Reads and validates one state from r (the caller checks that r is then
 * used up); the result is compact.  Errors: BINARY, VERSION.
 */
extern kpi_status clv_rfm_decode(kpi_reader *r, const kpi_allocator *mem,
								 clv_rfm **out, kpi_msg *msg);

/*
 * Text form: "(v:1)" for the empty state, else
 * "(v:1,observed_until:-823,first_amount:29.33,total_amount:74.02,
 *   days:[-1095,-1078,-882])".  Amounts are exact decimals.
 */
extern void clv_rfm_format(const clv_rfm *rfm, kpi_strbuf *sb);
/* Parses and validates the text form.  Errors: TEXT, VERSION. */
extern kpi_status clv_rfm_parse(const char *text, const kpi_allocator *mem,
								clv_rfm **out, kpi_msg *msg);

/* ------------------------------------------------------------ fit input */

/* A customer summary row with its multiplicity: 32 bytes. */
typedef struct clv_fit_row
{
	int32_t		x;
	int32_t		t_x;			/* days */
	int32_t		T;				/* days */
	int32_t		reserved;		/* zero */
	double		m;				/* 0 when x = 0 */
	int64_t		weight;			/* customers with this row, >= 1 */
} clv_fit_row;

/* clv_fitdata.flags */
#define CLV_FITDATA_NORMALIZED	0x01	/* rows sorted and distinct */

/* The input of a fit: a 16-byte header followed by the rows. */
typedef struct clv_fitdata
{
	uint8_t		flags;			/* CLV_FITDATA_NORMALIZED */
	uint8_t		reserved[3];	/* zero */
	int32_t		nrows;
	int32_t		capacity;
	int32_t		padding;		/* zero */
	clv_fit_row rows[];
} clv_fitdata;

extern kpi_status clv_fitdata_create(clv_fitdata **out, const kpi_allocator *mem,
									 kpi_msg *msg);
extern size_t clv_fitdata_size(const clv_fitdata *fd);
/* Whether a buffer of `size` bytes holds a consistent header for its size. */
extern bool clv_fitdata_size_ok(const clv_fitdata *fd, size_t size);
/* Add one customer.  KPI_ERR_PARAM for an inconsistent summary. */
extern kpi_status clv_fitdata_add(clv_fitdata **fd, const clv_summary *s,
								  const kpi_allocator *mem, kpi_msg *msg);
/* Add all rows of src (the union of the multisets).  src must not be *fd. */
extern kpi_status clv_fitdata_merge(clv_fitdata **dst, const clv_fitdata *src,
									const kpi_allocator *mem, kpi_msg *msg);

/*
 * Sort the rows and fold equal ones (weights summed), in place; does not
 * write at all when the state is already normalized.  The value (the
 * multiset) does not change.  Adding and merging leave a state
 * unnormalized.
 */
extern kpi_status clv_fitdata_normalize(clv_fitdata *fd, kpi_msg *msg);
/* Normalize and shrink the buffer to its rows: canonical bytes. */
extern kpi_status clv_fitdata_compact(clv_fitdata **fd, const kpi_allocator *mem,
									  kpi_msg *msg);

/*
 * Binary form, 5 + 28 * nrows bytes: u8 version, u32 nrows, then per row
 * u32 x, u32 t_x, u32 T, f64 m, i64 weight, in memory order (sorted when
 * the state is normalized).
 */
extern size_t clv_fitdata_encoded_size(const clv_fitdata *fd);
extern void clv_fitdata_encode(const clv_fitdata *fd, kpi_writer *w);
/* Decodes, validates and compacts.  Errors: BINARY, VERSION. */
extern kpi_status clv_fitdata_decode(kpi_reader *r, const kpi_allocator *mem,
									 clv_fitdata **out, kpi_msg *msg);
/* "(v:1,rows:[(0,0,272,0,12),(2,213,272,22.35,1)])": (x,t_x,T,m,weight). */
extern void clv_fitdata_format(const clv_fitdata *fd, kpi_strbuf *sb);
/* Parses, validates and compacts.  Errors: TEXT, VERSION. */
extern kpi_status clv_fitdata_parse(const char *text, const kpi_allocator *mem,
									clv_fitdata **out, kpi_msg *msg);

/* ---------------------------------------------------------------- model */

typedef struct clv_model
{
	double		r;				/* BG/NBD: purchase rate ~ Gamma(r, alpha) */
	double		alpha;			/* in weeks */
	double		a;				/* BG/NBD: dropout probability ~ Beta(a, b) */
	double		b;
	double		p;				/* Gamma-Gamma: spend ~ Gamma(p, nu), */
	double		q;				/* nu ~ Gamma(q, gamma) */
	double		gamma;
	int64_t		customers;		/* customers in the fit */
	int64_t		repeat_customers;	/* of which x > 0 */
	double		loglik_bgnbd;	/* maximised log-likelihoods */
	double		loglik_gg;
} clv_model;

/* Why a fit gave no model (the glue returns NULL for anything but OK). */
typedef enum clv_fit_outcome
{
	CLV_FIT_OK = 0,
	CLV_FIT_TOO_FEW_CUSTOMERS,	/* < CLV_FIT_MIN_CUSTOMERS */
	CLV_FIT_TOO_FEW_REPEATERS,	/* < CLV_FIT_MIN_REPEATERS with x > 0, m > 0 */
	CLV_FIT_BGNBD_FAILED,		/* no interior maximum found */
	CLV_FIT_GG_FAILED			/* no interior maximum found */
} clv_fit_outcome;

#define CLV_FIT_MIN_CUSTOMERS	10
#define CLV_FIT_MIN_REPEATERS	3	/* with x > 0 and m > 0 */

/*
 * Maximum-likelihood fit of BG/NBD on all customers and of Gamma-Gamma on
 * those with x > 0 and m > 0 (a customer whose repeat days sum to 0 or less
 * counts for BG/NBD only).  Returns KPI_OK with *outcome telling whether
 * *model is set; the only errors are KPI_ERR_NOMEM, KPI_ERR_OVERFLOW (more
 * than 2^63 customers) and KPI_ERR_PARAM (a damaged input).  interrupt may
 * be NULL.  fd is not modified.
 */
extern kpi_status clv_fit(const clv_fitdata *fd, const kpi_allocator *mem,
						  clv_interrupt_fn interrupt, void *interrupt_arg,
						  clv_model *model, clv_fit_outcome *outcome, kpi_msg *msg);
/* A sentence describing an outcome, for a DEBUG or NOTICE message. */
extern const char *clv_fit_outcome_text(clv_fit_outcome outcome);

/* Binary form: u8 version, 7 * f64 parameters, 2 * i64 counts, 2 * f64. */
#define CLV_MODEL_ENCODED_SIZE	89
extern size_t clv_model_encoded_size(const clv_model *model);
extern void clv_model_encode(const clv_model *model, kpi_writer *w);
/*
 * Reads one model from r (the caller checks that r is then used up).
 * Errors: BINARY (also for parameters that are not finite and > 0), VERSION.
 */
extern kpi_status clv_model_decode(kpi_reader *r, clv_model *model, kpi_msg *msg);
/*
 * "(v:1,r:0.2425,alpha:4.4136,a:0.7929,b:2.4259,p:6.2488,q:3.7448,
 *   gamma:15.4424,customers:2357,repeat_customers:946,
 *   loglik_bgnbd:-9582.43,loglik_gg:-4055.92)" (digits shortened here).
 */
extern void clv_model_format(const clv_model *model, kpi_strbuf *sb);
extern kpi_status clv_model_parse(const char *text, clv_model *model, kpi_msg *msg);

/* ---------------------------------------------------------- predictions */

/* Probability that the customer is still active at the end of observation. */
extern double clv_p_alive(const clv_model *model, const clv_summary *s);

/*
 * Expected number of purchase days in the `weeks` after the end of
 * observation (FHL 2005, eq. 10).  *out is NaN when the series cannot be
 * summed (a horizon vastly longer than alpha + T); the glue returns NULL.
 * KPI_ERR_PARAM for a negative or non-finite horizon.
 */
extern kpi_status clv_expected_orders(const clv_model *model, const clv_summary *s,
									  double weeks, double *out, kpi_msg *msg);

/*
 * Expected amount of one future purchase day (Gamma-Gamma conditional mean);
 * the population mean p gamma / (q - 1) when x = 0 or m <= 0.  NaN when
 * q <= 1 (the mean is infinite).
 */
extern double clv_expected_order_value(const clv_model *model, const clv_summary *s);

/*
 * CLV over `months` months: sum over i = 1..months of the expected purchases
 * in month i, E[N(i M)] - E[N((i-1) M)] with M = CLV_WEEKS_PER_MONTH weeks,
 * times the expected order value, divided by (1 + monthly_discount)^i.
 * *out is NaN when either factor is.  KPI_ERR_PARAM for months outside
 * 0..CLV_MAX_MONTHS or a discount that is not finite and > -1.
 */
extern kpi_status clv_value(const clv_model *model, const clv_summary *s, int months,
							double monthly_discount, double *out, kpi_msg *msg);

/*
 * (2F1(a, b; c; z) - 1) / b, the Gauss hypergeometric function less its
 * first term, divided by b: analytic in b (its b = 0 value is the limit), so
 * differences such as those of the a = 1 BG/NBD limit lose no digits.
 * Defined for z < 1 and c not a non-positive integer; for z < 0 it uses
 * Pfaff's transformation, so any z < 1 is summed by a convergent series,
 * with rescaling so that no term overflows.  NaN when z >= 1 or the series
 * does not converge within 2^24 terms.
 */
extern double clv_hyp2f1_reduced(double a, double b, double c, double z);

/* 2F1(a, b; c; z) for z < 1, through clv_hyp2f1_reduced. */
static inline double
clv_hyp2f1(double a, double b, double c, double z)
{
	return 1.0 + b * clv_hyp2f1_reduced(a, b, c, z);
}

/* ---------------------------------------------- orders of many customers */

/*
 * The state of the aggregates that take orders of many customers at once
 * (the one-shot kpi.clv_estimate and kpi.clv_simple, and kpi.clv_fit
 * straight from orders): for every customer, the purchase days with each
 * day's exact amount, as entries (customer key, day, amount) sorted by key
 * and day.  A customer key is the id itself for integer ids and a 64-bit
 * hash of it otherwise (the caller decides and says which in the
 * settings).  Rows are appended and sorted lazily: when the buffer is full
 * the entries are sorted and equal (customer, day) pairs folded, then the
 * buffer doubles until at least half of it is free, so sorting costs
 * O(log n) per row, amortised; rows that arrive in key order are never
 * sorted at all.
 *
 * Settings fixed by the first row and the same for every later row and
 * every merged state: the kind of keys, observed_until (optional: without
 * it the observation ends at the latest purchase day of the state) and a
 * horizon (an interval the one-step aggregates carry to their final
 * function; the core only stores and compares it).
 */

/* An interval as PostgreSQL stores it. */
typedef struct clv_horizon
{
	int32_t		months;
	int32_t		days;
	int64_t		usecs;
} clv_horizon;

typedef struct clv_orders_settings
{
	bool		hashed_keys;	/* keys are hashes of the customer ids */
	bool		observed;		/* observed_until is given */
	bool		has_horizon;
	int32_t		observed_until;
	clv_horizon horizon;
} clv_orders_settings;

/* One customer's purchase day: 32 bytes. */
typedef struct clv_order_day
{
	int64_t		customer;		/* the id, or its hash */
	int32_t		day;
	int32_t		reserved;		/* zero */
	kpi_int128	amount;			/* the day's amounts, * 10^amount_scale */
} clv_order_day;

/* clv_orders.flags */
#define CLV_ORDERS_SET			0x01	/* the settings are fixed */
#define CLV_ORDERS_HASHED		0x02	/* settings: hashed keys */
#define CLV_ORDERS_OBSERVED		0x04	/* settings: observed_until given */
#define CLV_ORDERS_HORIZON		0x08	/* settings: horizon given */
#define CLV_ORDERS_NORMALIZED	0x10	/* days sorted and distinct */

/* A 40-byte header followed by the purchase days. */
typedef struct clv_orders
{
	uint8_t		flags;
	uint8_t		amount_scale;	/* decimal places of every amount */
	uint16_t	reserved;		/* zero */
	int32_t		observed_until; /* if CLV_ORDERS_OBSERVED, else 0 */
	int32_t		ndays;
	int32_t		capacity;
	int64_t		orders;			/* rows counted (up to observed_until) */
	clv_horizon horizon;		/* if CLV_ORDERS_HORIZON, else zero */
	clv_order_day days[];
} clv_orders;

/* A new empty state (no settings yet): the identity of merging. */
extern kpi_status clv_orders_create(clv_orders **out, const kpi_allocator *mem,
									kpi_msg *msg);
extern size_t clv_orders_size(const clv_orders *o);
/* Whether a buffer of `size` bytes holds a consistent header for its size. */
extern bool clv_orders_size_ok(const clv_orders *o, size_t size);
/* The state's settings; false for the empty state, which has none. */
extern bool clv_orders_get_settings(const clv_orders *o, clv_orders_settings *out);

/*
 * Add one order row: amount = coef * 10^-scale on day `day`.  Settings that
 * differ from the state's are KPI_ERR_PARAM; a day after observed_until is
 * ignored (but fixes the settings).  KPI_ERR_OVERFLOW when an amount passes
 * 38 significant digits at the state's scale or the state would pass
 * CLV_ORDERS_MAX_DAYS purchase days.  May replace *o.  On error the value
 * of *o is unchanged (its entries may have been sorted).
 */
extern kpi_status clv_orders_add(clv_orders **o, const clv_orders_settings *settings,
								 int64_t customer, int32_t day, __int128 coef, int scale,
								 const kpi_allocator *mem, kpi_msg *msg);
/*
 * Merge src into *dst.  Different settings are KPI_ERR_MISMATCH; the empty
 * state is the identity.  src must not be *dst.  May replace *dst.
 */
extern kpi_status clv_orders_merge(clv_orders **dst, const clv_orders *src,
								   const kpi_allocator *mem, kpi_msg *msg);
/* Sort, fold and shrink the buffer to its content: canonical bytes. */
extern kpi_status clv_orders_compact(clv_orders **o, const kpi_allocator *mem,
									 kpi_msg *msg);

/*
 * Binary form, 35 + 28 * ndays bytes, big-endian: u8 version, u8 flags
 * (without NORMALIZED), u8 scale, u32 observed_until, u32 horizon months,
 * u32 horizon days, i64 horizon usecs, i64 orders, u32 ndays, then per day
 * i64 customer, u32 day, i128 amount, in memory order.
 */
extern size_t clv_orders_encoded_size(const clv_orders *o);
extern void clv_orders_encode(const clv_orders *o, kpi_writer *w);
/* Decodes, validates and compacts.  Errors: BINARY, VERSION. */
extern kpi_status clv_orders_decode(kpi_reader *r, const kpi_allocator *mem,
									clv_orders **out, kpi_msg *msg);
/*
 * Text form: "(v:1)" for the empty state, else
 * "(v:1,keys:int,observed_until:-823,orders:3,days:[(1,-1095,29.33),
 *   (1,-1078,29.73),(2,-1090,5.00)])", keys "int" or "hash", the fields
 * observed_until and horizon ("[months,days,usecs]") only when set;
 * each day is (customer, day, amount), amounts at the state's scale.
 */
extern void clv_orders_format(const clv_orders *o, kpi_strbuf *sb);
/* Parses, validates and compacts.  Errors: TEXT, VERSION. */
extern kpi_status clv_orders_parse(const char *text, const kpi_allocator *mem,
								   clv_orders **out, kpi_msg *msg);

/*
 * The summaries of all customers with a purchase day, in key order, with T
 * up to observed_until or, without it, up to the latest purchase day of the
 * state.  *out is allocated from mem (NULL when *n = 0); o is not modified.
 */
extern kpi_status clv_orders_summaries(const clv_orders *o, const kpi_allocator *mem,
									   clv_summary **out, int32_t *n, kpi_msg *msg);

/* clv_fit on the summaries of every customer of the state. */
extern kpi_status clv_orders_fit(const clv_orders *o, const kpi_allocator *mem,
								 clv_interrupt_fn interrupt, void *interrupt_arg,
								 clv_model *model, clv_fit_outcome *outcome, kpi_msg *msg);

/*
 * Fit the model on every customer of the state, then the mean over those
 * customers of clv_value(months, monthly_discount).  *mean is set only when
 * *outcome is CLV_FIT_OK (NaN when a customer's value is).  KPI_ERR_PARAM
 * for a bad horizon or discount (see clv_value), checked before fitting.
 */
extern kpi_status clv_orders_mean_value(const clv_orders *o, int months,
										double monthly_discount, const kpi_allocator *mem,
										clv_interrupt_fn interrupt, void *interrupt_arg,
										double *mean, clv_fit_outcome *outcome,
										kpi_msg *msg);

/* Totals of a state for the textbook CLV formula. */
typedef struct clv_orders_totals
{
	int64_t		customers;		/* with a purchase day */
	int64_t		orders;			/* rows */
	__int128	revenue;		/* sum of all amounts, * 10^scale */
	int			scale;
	int32_t		first_day;		/* the earliest purchase day */
	int32_t		end_day;		/* observed_until, else the latest day */
} clv_orders_totals;

/*
 * The totals; *found = false when the state has no purchase day.  o is
 * not modified (a sorted copy of its days may be made from mem).
 * KPI_ERR_OVERFLOW when the revenue passes 38 significant digits.
 */
extern kpi_status clv_orders_get_totals(const clv_orders *o, const kpi_allocator *mem,
										clv_orders_totals *out, bool *found, kpi_msg *msg);

#endif							/* CLV_CORE_H */
