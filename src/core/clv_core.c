/*-------------------------------------------------------------------------
 *
 * clv_core.c
 *	  RFM summaries, BG/NBD + Gamma-Gamma maximum likelihood and the
 *	  per-customer predictions of the CLV KPI (see clv_core.h).
 *
 * Numerics, in brief:
 *
 * - Both likelihoods are maximised over the logarithms of their parameters
 *   by BFGS with analytic gradients and a weak-Wolfe line search, from up to
 *   three starting points, each run restarted once from its end point (the
 *   best converged end wins; once two starts agree the third is skipped).
 *   The scale parameters are taken relative to a scale from the data (alpha
 *   to mean T / mean x, gamma to the mean spend), so every log-parameter is
 *   dimensionless: an optimum beyond e^+-14 is the likelihood flattening out
 *   towards a limit of the model, reported as not identified, and so is a
 *   fit that needs more than 2,000 evaluations per model.  Analytic
 *   gradients are cheap here (one exp and one log1p per distinct customer
 *   row, digammas per distinct x) and a start converges in 20-110
 *   evaluations where Nelder-Mead in 4 dimensions needs several hundred.
 *   All lgamma/digamma terms depend on x only, and log(alpha + t) only on
 *   the day, so they are computed once per distinct x and per distinct day
 *   at each evaluation.  The interrupt callback runs before every
 *   evaluation.
 *
 * - The BG/NBD conditional expectation (FHL 2005, eq. 10) is
 *     E = P(alive) * c/(a-1) * [1 - 2F1(r+x, a-1; c; -tau)],
 *   c = a+b+x-1, tau = t/(alpha+T), which is the published form after
 *   Euler's and Pfaff's transformations.  Written as -c * R(r+x, a-1; c;
 *   -tau) with R = (2F1 - 1)/b and Pfaff's transformation applied, it is
 *     E/P(alive) = c (1 - (1+tau)^-(a-1)) / (a-1)
 *                  - (1+tau)^-(a-1) * c R(a+b-1-r, a-1; c; tau/(1+tau)),
 *   a series in z = tau/(1+tau) in [0, 1) whose terms shrink as x grows
 *   (the published 2F1(r+x, b+x; c; z) has terms near (1-z)^-x, which
 *   overflow) and which is analytic at a = 1 (the first part tends to
 *   c log(1+tau)).
 *
 * IDENTIFICATION
 *	  src/core/clv_core.c
 *
 *-------------------------------------------------------------------------
 */
#include "clv_core.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define RFM_HEADER_SIZE		offsetof(clv_rfm, days)
#define FITDATA_HEADER_SIZE offsetof(clv_fitdata, rows)
#define RFM_ENCODED_HEADER	43
#define FIT_ROW_ENCODED		28

#define SERIES_MAX_TERMS	(1L << 24)
#define SERIES_EPS			1e-16

#define BFGS_MAX_ITER		500
#define BFGS_GTOL			1e-9	/* gradient of the mean log-likelihood */
#define BFGS_GTOL_STALLED	1e-6	/* accepted when f stops decreasing */
#define BFGS_FTOL			1e-15	/* relative decrease that is round-off */
#define LINE_SEARCH_TRIALS	40

#define STRINGIFY_(x)		#x
#define STRINGIFY(x)		STRINGIFY_(x)
#define BFGS_MAX_STEP		3.0		/* in log-parameter units */
#define LOG_PARAM_LIMIT		25.0	/* the box the optimiser stays in */
#define LOG_PARAM_IDENTIFIED 14.0	/* |log parameter| beyond: not identified */
#define FIT_MAX_EVALUATIONS 2000	/* likelihood evaluations per model */
#define MULTISTART_AGREE	1e-6	/* log-parameters of one optimum */

/* ------------------------------------------------------- int128 helpers */

static __int128
load_i128(const uint8_t *p)
{
	__int128	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
store_i128(uint8_t *p, __int128 v)
{
	memcpy(p, &v, sizeof(v));
}

/* *v * 10^k; false on overflow. */
static bool
scale_up(__int128 *v, int k)
{
	for (int i = 0; i < k; i++)
		if (__builtin_mul_overflow(*v, 10, v))
			return false;
	return true;
}

static kpi_status
amount_overflow(kpi_msg *msg)
{
	return kpi_fail(msg, KPI_ERR_OVERFLOW,
					"The amounts of a customer add up to more than 38 significant digits.");
}

/* ------------------------------------------------------ growable buffers */

/*
 * The three variable-size values are one buffer each: a header, then up to
 * `max` elements, `capacity` of which are allocated.  These helpers
 * allocate, grow and shrink them; the caller records the capacity.
 */
typedef struct buffer_layout
{
	size_t		header;			/* bytes before the elements */
	size_t		elem;			/* bytes of one element */
	int32_t		max;			/* elements at most */
	const char *name;			/* for messages: "a customer summary" */
	const char *too_many;		/* a sentence with %d for the maximum */
} buffer_layout;

/* Bytes of a buffer with room for `capacity` elements. */
static size_t
buffer_size(const buffer_layout *lay, int32_t capacity)
{
	return lay->header + (size_t) capacity * lay->elem;
}

/*
 * Whether a buffer of `size` bytes whose header says `used` of `capacity`
 * elements is consistent (for values that come from outside).
 */
static bool
buffer_size_ok(const buffer_layout *lay, int32_t used, int32_t capacity, size_t size)
{
	return size >= lay->header && used >= 0 && used <= capacity && capacity <= lay->max &&
		size == buffer_size(lay, capacity);
}

/* A zeroed buffer with room for `capacity` elements. */
static kpi_status
buffer_alloc(const buffer_layout *lay, int32_t capacity, void **out,
			 const kpi_allocator *mem, kpi_msg *msg)
{
	size_t		size = buffer_size(lay, capacity);
	void	   *buf = mem->alloc(size, mem->ctx);

	if (buf == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for %s.", lay->name);
	memset(buf, 0, size);
	*out = buf;
	return KPI_OK;
}

/*
 * Resize *bufp from `from` to `to` elements (either way), zeroing a new
 * tail.  On error *bufp is unchanged.
 */
static kpi_status
buffer_resize(const buffer_layout *lay, void **bufp, int32_t from, int32_t to,
			  const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *buf = mem->realloc(*bufp, buffer_size(lay, to), mem->ctx);

	if (buf == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for %s.", lay->name);
	if (to > from)
		memset((uint8_t *) buf + lay->header + (size_t) from * lay->elem, 0,
			   (size_t) (to - from) * lay->elem);
	*bufp = buf;
	return KPI_OK;
}

/*
 * The capacity that holds `need` elements: `cap` (at least `least`)
 * doubled until it does, and with `slack` until at least half of it is
 * free; at most lay->max.  KPI_ERR_OVERFLOW when need is above the
 * maximum.
 */
static kpi_status
buffer_capacity(const buffer_layout *lay, int64_t cap, int64_t need, int64_t least,
				bool slack, int32_t *out, kpi_msg *msg)
{
	if (need > lay->max)
		return kpi_fail(msg, KPI_ERR_OVERFLOW, lay->too_many, (int) lay->max);
	cap = cap < least ? least : cap;
	while (cap < (slack ? 2 : 1) * need)
		cap *= 2;
	*out = (int32_t) (cap > lay->max ? lay->max : cap);
	return KPI_OK;
}

/* ------------------------------------------------------------------ RFM */

static const buffer_layout rfm_layout = {
	RFM_HEADER_SIZE, sizeof(int32_t), CLV_RFM_MAX_DAYS, "a customer summary",
	"A customer cannot have more than %d distinct purchase days."
};

/* Make room for `need` days, doubling; the new tail is zeroed. */
static kpi_status
rfm_reserve(clv_rfm **rfmp, int64_t need, const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *buf = *rfmp;
	int32_t		cap = 0;
	kpi_status	st;

	if (need <= (*rfmp)->capacity)
		return KPI_OK;
	if ((st = buffer_capacity(&rfm_layout, (*rfmp)->capacity, need, 4, false, &cap, msg)) != KPI_OK ||
		(st = buffer_resize(&rfm_layout, &buf, (*rfmp)->capacity, cap, mem, msg)) != KPI_OK)
		return st;
	*rfmp = buf;
	(*rfmp)->capacity = cap;
	return KPI_OK;
}

/* A zeroed empty state with room for `capacity` days. */
static kpi_status
rfm_new(int32_t capacity, clv_rfm **out, const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *buf = NULL;
	kpi_status	st = buffer_alloc(&rfm_layout, capacity, &buf, mem, msg);

	if (st != KPI_OK)
		return st;
	*out = buf;
	(*out)->capacity = capacity;
	return KPI_OK;
}

/* A new empty RFM state, 48 bytes. */
kpi_status
clv_rfm_create(clv_rfm **out, const kpi_allocator *mem, kpi_msg *msg)
{
	return rfm_new(0, out, mem, msg);
}

/* Bytes of the RFM buffer. */
size_t
clv_rfm_size(const clv_rfm *rfm)
{
	return buffer_size(&rfm_layout, rfm->capacity);
}

/* Whether an RFM buffer of `size` bytes is consistent with its header. */
bool
clv_rfm_size_ok(const clv_rfm *rfm, size_t size)
{
	return buffer_size_ok(&rfm_layout, rfm->ndays, rfm->capacity, size);
}

static kpi_status
check_scale(int scale, kpi_msg *msg)
{
	if (scale < 0 || scale > CLV_MAX_AMOUNT_SCALE)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"An amount has %d decimal places; at most %d are supported.",
						scale, CLV_MAX_AMOUNT_SCALE);
	return KPI_OK;
}

/* Index of the first day >= day (ndays if none). */
static int32_t
rfm_lower_bound(const clv_rfm *rfm, int32_t day)
{
	int32_t		lo = 0;
	int32_t		hi = rfm->ndays;

	if (hi == 0 || rfm->days[hi - 1] < day)
		return hi;				/* the usual case: orders arrive in time order */
	while (lo < hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;

		if (rfm->days[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Add one order to a customer's RFM state (see clv_core.h). */
kpi_status
clv_rfm_add(clv_rfm **rfmp, int32_t day, __int128 coef, int scale,
			int32_t observed_until, const kpi_allocator *mem, kpi_msg *msg)
{
	clv_rfm    *rfm = *rfmp;
	__int128	first;
	__int128	total;
	int			common;
	int32_t		pos;
	bool		found;
	kpi_status	st;

	if ((st = check_scale(scale, msg)) != KPI_OK)
		return st;
	if ((rfm->flags & CLV_RFM_OBSERVED) && rfm->observed_until != observed_until)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"All orders of a customer must be summarised with the same observed_until.");
	if (day > observed_until)
	{
		rfm->flags |= CLV_RFM_OBSERVED;
		rfm->observed_until = observed_until;
		return KPI_OK;
	}

	common = scale > rfm->amount_scale ? scale : rfm->amount_scale;
	first = load_i128(rfm->first_amount);
	total = load_i128(rfm->total_amount);
	if (!scale_up(&first, common - rfm->amount_scale) ||
		!scale_up(&total, common - rfm->amount_scale) ||
		!scale_up(&coef, common - scale) ||
		__builtin_add_overflow(total, coef, &total))
		return amount_overflow(msg);
	pos = rfm_lower_bound(rfm, day);
	found = pos < rfm->ndays && rfm->days[pos] == day;
	if (pos == 0 && found)
	{
		if (__builtin_add_overflow(first, coef, &first))
			return amount_overflow(msg);
	}
	else if (pos == 0)
		first = coef;			/* a new first purchase day */
	if (!found)
	{
		if ((st = rfm_reserve(rfmp, (int64_t) rfm->ndays + 1, mem, msg)) != KPI_OK)
			return st;
		rfm = *rfmp;
		memmove(&rfm->days[pos + 1], &rfm->days[pos],
				(size_t) (rfm->ndays - pos) * sizeof(int32_t));
		rfm->days[pos] = day;
		rfm->ndays++;
	}
	rfm->flags |= CLV_RFM_OBSERVED;
	rfm->observed_until = observed_until;
	rfm->amount_scale = (uint8_t) common;
	store_i128(rfm->first_amount, first);
	store_i128(rfm->total_amount, total);
	return KPI_OK;
}

/* Merge two partial RFM states of one customer, exactly. */
kpi_status
clv_rfm_merge(clv_rfm **dstp, const clv_rfm *src, const kpi_allocator *mem,
			  kpi_msg *msg)
{
	clv_rfm    *dst = *dstp;
	__int128	dfirst = load_i128(dst->first_amount);
	__int128	dtotal = load_i128(dst->total_amount);
	__int128	sfirst = load_i128(src->first_amount);
	__int128	stotal = load_i128(src->total_amount);
	__int128	first;
	__int128	total;
	int			common;
	int64_t		nunion = 0;
	int32_t		i,
				j,
				k;
	kpi_status	st;

	if (!(src->flags & CLV_RFM_OBSERVED))
		return KPI_OK;
	if ((dst->flags & CLV_RFM_OBSERVED) && dst->observed_until != src->observed_until)
		return kpi_fail(msg, KPI_ERR_MISMATCH,
						"The customer summaries were made with different observed_until days (%d and %d).",
						(int) dst->observed_until, (int) src->observed_until);
	if (src->ndays == 0)
	{
		dst->flags |= CLV_RFM_OBSERVED;
		dst->observed_until = src->observed_until;
		return KPI_OK;
	}

	common = dst->amount_scale > src->amount_scale ? dst->amount_scale : src->amount_scale;
	if (!scale_up(&dfirst, common - dst->amount_scale) ||
		!scale_up(&dtotal, common - dst->amount_scale) ||
		!scale_up(&sfirst, common - src->amount_scale) ||
		!scale_up(&stotal, common - src->amount_scale) ||
		__builtin_add_overflow(dtotal, stotal, &total))
		return amount_overflow(msg);
	if (dst->ndays == 0 || src->days[0] < dst->days[0])
		first = sfirst;
	else if (src->days[0] > dst->days[0])
		first = dfirst;
	else if (__builtin_add_overflow(dfirst, sfirst, &first))
		return amount_overflow(msg);

	/* size of the union of the two sorted day sets */
	for (i = 0, j = 0; i < dst->ndays || j < src->ndays; nunion++)
	{
		if (j == src->ndays || (i < dst->ndays && dst->days[i] < src->days[j]))
			i++;
		else if (i == dst->ndays || src->days[j] < dst->days[i])
			j++;
		else
			i++, j++;
	}
	if ((st = rfm_reserve(dstp, nunion, mem, msg)) != KPI_OK)
		return st;
	dst = *dstp;

	/* merge from the back, in place; dst's own prefix ends where it was */
	i = dst->ndays - 1;
	j = src->ndays - 1;
	k = (int32_t) nunion - 1;
	while (j >= 0)
	{
		if (i >= 0 && dst->days[i] > src->days[j])
			dst->days[k--] = dst->days[i--];
		else
		{
			if (i >= 0 && dst->days[i] == src->days[j])
				i--;
			dst->days[k--] = src->days[j--];
		}
	}
	dst->ndays = (int32_t) nunion;
	dst->flags |= CLV_RFM_OBSERVED;
	dst->observed_until = src->observed_until;
	dst->amount_scale = (uint8_t) common;
	store_i128(dst->first_amount, first);
	store_i128(dst->total_amount, total);
	return KPI_OK;
}

/* Shrink an RFM buffer to its days, giving canonical bytes. */
kpi_status
clv_rfm_compact(clv_rfm **rfmp, const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *buf = *rfmp;
	kpi_status	st;

	if ((*rfmp)->capacity == (*rfmp)->ndays)
		return KPI_OK;
	if ((st = buffer_resize(&rfm_layout, &buf, (*rfmp)->capacity, (*rfmp)->ndays, mem,
							msg)) != KPI_OK)
		return st;
	*rfmp = buf;
	(*rfmp)->capacity = (*rfmp)->ndays;
	return KPI_OK;
}

/* The observation end of an RFM state, if set. */
bool
clv_rfm_observed_until(const clv_rfm *rfm, int32_t *day)
{
	if (!(rfm->flags & CLV_RFM_OBSERVED))
		return false;
	*day = rfm->observed_until;
	return true;
}

/*
 * The summary of a customer whose ndays purchase days run from first to
 * last, with `first_amount` on the first day and `total_amount` in all,
 * both * 10^scale, observed until `end`.
 */
static kpi_status
summarize(int32_t first, int32_t last, int32_t ndays, __int128 first_amount,
		  __int128 total_amount, int scale, int32_t end, clv_summary *out, kpi_msg *msg)
{
	int64_t		T = (int64_t) end - first;

	if (last > end)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"A purchase on day %d is after the end of observation, day %d.",
						(int) last, (int) end);
	if (T > INT32_MAX)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"The observation period of a customer is longer than %d days.",
						(int) INT32_MAX);
	out->x = ndays - 1;
	out->t_x = last - first;
	out->T = (int32_t) T;
	out->first_day = first;
	out->last_day = last;
	out->m = 0.0;
	if (out->x > 0)
	{
		__int128	repeat;
		double		unit = 1.0;

		if (__builtin_sub_overflow(total_amount, first_amount, &repeat))
			return amount_overflow(msg);
		for (int i = 0; i < scale; i++)
			unit *= 10.0;
		out->m = (double) repeat / unit / out->x;
	}
	return KPI_OK;
}

/* x, t_x, T (days) and m of a customer, observed until `end`. */
kpi_status
clv_rfm_summary(const clv_rfm *rfm, int32_t end, clv_summary *out, bool *found,
				kpi_msg *msg)
{
	kpi_status	st;

	*found = false;
	if (rfm->ndays == 0)
		return KPI_OK;
	st = summarize(rfm->days[0], rfm->days[rfm->ndays - 1], rfm->ndays,
				   load_i128(rfm->first_amount), load_i128(rfm->total_amount),
				   rfm->amount_scale, end, out, msg);
	*found = st == KPI_OK;
	return st;
}

/* The exact sum of a customer's repeat purchase days. */
kpi_status
clv_rfm_repeat_amount(const clv_rfm *rfm, __int128 *coef, int *scale, kpi_msg *msg)
{
	if (__builtin_sub_overflow(load_i128(rfm->total_amount), load_i128(rfm->first_amount), coef))
		return amount_overflow(msg);
	*scale = rfm->amount_scale;
	return KPI_OK;
}

/* Consistency of a decoded or parsed state; err is BINARY or TEXT. */
static kpi_status
rfm_validate(const clv_rfm *rfm, kpi_status err, kpi_msg *msg)
{
	__int128	first = load_i128(rfm->first_amount);
	__int128	total = load_i128(rfm->total_amount);

	if (rfm->flags & ~CLV_RFM_OBSERVED)
		return kpi_fail(msg, err, "Unknown flags %d in a customer summary.", (int) rfm->flags);
	if (rfm->amount_scale > CLV_MAX_AMOUNT_SCALE)
		return kpi_fail(msg, err, "A customer summary has %d decimal places; at most %d are supported.",
						(int) rfm->amount_scale, CLV_MAX_AMOUNT_SCALE);
	if (!(rfm->flags & CLV_RFM_OBSERVED) && rfm->observed_until != 0)
		return kpi_fail(msg, err, "An empty customer summary has an observed_until day.");
	if (rfm->ndays == 0 && (first != 0 || total != 0 || rfm->amount_scale != 0))
		return kpi_fail(msg, err, "A customer summary without purchases has amounts.");
	for (int32_t i = 1; i < rfm->ndays; i++)
		if (rfm->days[i] <= rfm->days[i - 1])
			return kpi_fail(msg, err, "The purchase days of a customer summary are not strictly ascending.");
	if (rfm->ndays > 0 && rfm->days[rfm->ndays - 1] > rfm->observed_until)
		return kpi_fail(msg, err, "A purchase day of a customer summary is after its observed_until.");
	return KPI_OK;
}

static kpi_status
version_error(int version, const char *what, kpi_msg *msg)
{
	return kpi_fail(msg, KPI_ERR_VERSION,
					"The %s has format version %d; this version of kpi reads version %d.",
					what, version, KPI_STATE_VERSION);
}

/* Size of the binary form of an RFM state. */
size_t
clv_rfm_encoded_size(const clv_rfm *rfm)
{
	return RFM_ENCODED_HEADER + (size_t) rfm->ndays * 4;
}

/* Write the binary (send) form of an RFM state. */
void
clv_rfm_encode(const clv_rfm *rfm, kpi_writer *w)
{
	kpi_put_u8(w, KPI_STATE_VERSION);
	kpi_put_u8(w, rfm->flags);
	kpi_put_u32(w, (uint32_t) rfm->observed_until);
	kpi_put_u8(w, rfm->amount_scale);
	kpi_put_i128(w, load_i128(rfm->first_amount));
	kpi_put_i128(w, load_i128(rfm->total_amount));
	kpi_put_u32(w, (uint32_t) rfm->ndays);
	for (int32_t i = 0; i < rfm->ndays; i++)
		kpi_put_u32(w, (uint32_t) rfm->days[i]);
}

/* Read and validate the binary (recv) form of an RFM state. */
kpi_status
clv_rfm_decode(kpi_reader *r, const kpi_allocator *mem, clv_rfm **out, kpi_msg *msg)
{
	clv_rfm    *rfm = NULL;
	uint8_t		version;
	uint8_t		flags;
	int32_t		observed;
	uint8_t		scale;
	__int128	first;
	__int128	total;
	uint32_t	ndays;
	kpi_status	st;

	version = kpi_get_u8(r);
	if (!r->failed && version != KPI_STATE_VERSION)
		return version_error(version, "customer summary", msg);
	flags = kpi_get_u8(r);
	observed = (int32_t) kpi_get_u32(r);
	scale = kpi_get_u8(r);
	first = kpi_get_i128(r);
	total = kpi_get_i128(r);
	ndays = kpi_get_u32(r);
	if (r->failed || ndays > CLV_RFM_MAX_DAYS || r->len - r->pos < (size_t) ndays * 4)
		return kpi_fail(msg, KPI_ERR_BINARY, "The customer summary is truncated.");
	if ((st = rfm_new((int32_t) ndays, &rfm, mem, msg)) != KPI_OK)
		return st;
	rfm->flags = flags;
	rfm->observed_until = observed;
	rfm->amount_scale = scale;
	store_i128(rfm->first_amount, first);
	store_i128(rfm->total_amount, total);
	rfm->ndays = (int32_t) ndays;
	for (uint32_t i = 0; i < ndays; i++)
		rfm->days[i] = (int32_t) kpi_get_u32(r);
	if ((st = rfm_validate(rfm, KPI_ERR_BINARY, msg)) != KPI_OK)
	{
		mem->free(rfm, mem->ctx);
		return st;
	}
	*out = rfm;
	return KPI_OK;
}

/* Append the text (output) form of an RFM state. */
void
clv_rfm_format(const clv_rfm *rfm, kpi_strbuf *sb)
{
	kpi_strbuf_appendf(sb, "(v:%d", KPI_STATE_VERSION);
	if (rfm->flags & CLV_RFM_OBSERVED)
	{
		kpi_strbuf_appendf(sb, ",observed_until:%d,first_amount:", (int) rfm->observed_until);
		kpi_strbuf_append_decimal(sb, load_i128(rfm->first_amount), rfm->amount_scale);
		kpi_strbuf_append(sb, ",total_amount:");
		kpi_strbuf_append_decimal(sb, load_i128(rfm->total_amount), rfm->amount_scale);
		kpi_strbuf_append(sb, ",days:[");
		for (int32_t i = 0; i < rfm->ndays; i++)
			kpi_strbuf_appendf(sb, i == 0 ? "%d" : ",%d", (int) rfm->days[i]);
		kpi_strbuf_append(sb, "]");
	}
	kpi_strbuf_append(sb, ")");
}

/* An int32 from text. */
static kpi_status
parse_i32(const char *s, size_t len, int32_t *out, kpi_msg *msg)
{
	int64_t		v;
	kpi_status	st = kpi_parse_i64(s, len, &v, msg);

	if (st != KPI_OK)
		return st;
	if (v < INT32_MIN || v > INT32_MAX)
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is out of range.", (int) len, s);
	*out = (int32_t) v;
	return KPI_OK;
}

/* Parse the days list of an RFM text form into *rfmp. */
static kpi_status
parse_rfm_days(const kpi_text_field *f, clv_rfm **rfmp, const kpi_allocator *mem,
			   kpi_msg *msg)
{
	kpi_list_reader lr;
	const char *item;
	size_t		itemlen;
	kpi_status	st;

	if ((st = kpi_list_open(&lr, f->val, f->vallen, '[', ']', msg)) != KPI_OK)
		return st;
	while (kpi_list_next(&lr, &item, &itemlen, &st, msg))
	{
		int32_t		day = 0;

		if ((st = parse_i32(item, itemlen, &day, msg)) != KPI_OK ||
			(st = rfm_reserve(rfmp, (int64_t) (*rfmp)->ndays + 1, mem, msg)) != KPI_OK)
			return st;
		(*rfmp)->days[(*rfmp)->ndays++] = day;
	}
	return st;
}

/* Field-by-field body of clv_rfm_parse; the caller frees *rfmp on error. */
static kpi_status
parse_rfm_fields(kpi_text_reader *tr, clv_rfm **rfmp, const kpi_allocator *mem,
				 kpi_msg *msg)
{
	enum
	{
		F_OBSERVED = 1, F_FIRST = 2, F_TOTAL = 4, F_DAYS = 8, F_ALL = 15
	};
	int			seen = 0;
	__int128	first = 0;
	__int128	total = 0;
	int			first_scale = 0;
	int			total_scale = 0;
	int			common;
	kpi_text_field f;
	kpi_status	st;

	while (kpi_text_next_field(tr, &f, &st, msg))
	{
		int			bit;

		if (kpi_text_key_is(&f, "observed_until"))
		{
			bit = F_OBSERVED;
			st = parse_i32(f.val, f.vallen, &(*rfmp)->observed_until, msg);
		}
		else if (kpi_text_key_is(&f, "first_amount"))
		{
			bit = F_FIRST;
			st = kpi_parse_decimal(f.val, f.vallen, &first, &first_scale, msg);
		}
		else if (kpi_text_key_is(&f, "total_amount"))
		{
			bit = F_TOTAL;
			st = kpi_parse_decimal(f.val, f.vallen, &total, &total_scale, msg);
		}
		else if (kpi_text_key_is(&f, "days"))
		{
			bit = F_DAYS;
			st = parse_rfm_days(&f, rfmp, mem, msg);
		}
		else
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\" in a customer summary.",
							(int) f.keylen, f.key);
		if (st != KPI_OK)
			return st;
		if (seen & bit)
			return kpi_fail(msg, KPI_ERR_TEXT, "Field \"%.*s\" appears twice.",
							(int) f.keylen, f.key);
		seen |= bit;
	}
	if (st != KPI_OK)
		return st;
	if (seen == 0)
		return KPI_OK;			/* the empty state */
	if (seen != F_ALL)
		return kpi_fail(msg, KPI_ERR_TEXT,
						"A customer summary needs observed_until, first_amount, total_amount and days.");
	common = first_scale > total_scale ? first_scale : total_scale;
	if (common > CLV_MAX_AMOUNT_SCALE || !scale_up(&first, common - first_scale) ||
		!scale_up(&total, common - total_scale))
		return kpi_fail(msg, KPI_ERR_TEXT, "The amounts of a customer summary are out of range.");
	if ((*rfmp)->ndays == 0 && first == 0 && total == 0)
		common = 0;
	(*rfmp)->flags = CLV_RFM_OBSERVED;
	(*rfmp)->amount_scale = (uint8_t) common;
	store_i128((*rfmp)->first_amount, first);
	store_i128((*rfmp)->total_amount, total);
	return KPI_OK;
}

/* Read and validate the text (input) form of an RFM state. */
kpi_status
clv_rfm_parse(const char *text, const kpi_allocator *mem, clv_rfm **out, kpi_msg *msg)
{
	kpi_text_reader tr;
	clv_rfm    *rfm;
	kpi_status	st;

	if ((st = kpi_text_open_state(&tr, text, msg)) != KPI_OK)
		return st;
	if ((st = clv_rfm_create(&rfm, mem, msg)) != KPI_OK)
		return st;
	if ((st = parse_rfm_fields(&tr, &rfm, mem, msg)) != KPI_OK ||
		(st = rfm_validate(rfm, KPI_ERR_TEXT, msg)) != KPI_OK ||
		(st = clv_rfm_compact(&rfm, mem, msg)) != KPI_OK)
	{
		mem->free(rfm, mem->ctx);
		return st;
	}
	*out = rfm;
	return KPI_OK;
}

/* ------------------------------------------------------------ fit input */

static kpi_status
fit_row_check(const clv_fit_row *row, kpi_status err, kpi_msg *msg)
{
	if (row->x < 0 || row->t_x < 0 || row->t_x > row->T || row->reserved != 0 ||
		(row->x == 0 && (row->t_x != 0 || row->m != 0.0)) ||
		(row->x > 0 && row->t_x < row->x))
		return kpi_fail(msg, err,
						"The customer summary x = %d, t_x = %d, T = %d is inconsistent.",
						(int) row->x, (int) row->t_x, (int) row->T);
	if (!isfinite(row->m))
		return kpi_fail(msg, err, "A customer summary has a mean amount that is not finite.");
	if (row->weight < 1)
		return kpi_fail(msg, err, "A customer summary row has a weight below 1.");
	return KPI_OK;
}

static int
fit_row_cmp(const void *pa, const void *pb)
{
	const clv_fit_row *a = pa;
	const clv_fit_row *b = pb;

	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	if (a->t_x != b->t_x)
		return a->t_x < b->t_x ? -1 : 1;
	if (a->T != b->T)
		return a->T < b->T ? -1 : 1;
	if (a->m != b->m)
		return a->m < b->m ? -1 : 1;
	return 0;
}

static const buffer_layout fitdata_layout = {
	FITDATA_HEADER_SIZE, sizeof(clv_fit_row), CLV_FITDATA_MAX_ROWS, "the input of a CLV fit",
	"A CLV fit cannot take more than %d distinct customer summaries."
};

/* A new empty fit input, 16 bytes. */
kpi_status
clv_fitdata_create(clv_fitdata **out, const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *buf = NULL;
	kpi_status	st = buffer_alloc(&fitdata_layout, 0, &buf, mem, msg);

	if (st != KPI_OK)
		return st;
	*out = buf;
	(*out)->flags = CLV_FITDATA_NORMALIZED;
	return KPI_OK;
}

/* Bytes of the fit input buffer. */
size_t
clv_fitdata_size(const clv_fitdata *fd)
{
	return buffer_size(&fitdata_layout, fd->capacity);
}

/* Whether a fit input buffer of `size` bytes is consistent with its header. */
bool
clv_fitdata_size_ok(const clv_fitdata *fd, size_t size)
{
	return buffer_size_ok(&fitdata_layout, fd->nrows, fd->capacity, size);
}

/* Sort the rows of a fit input and fold equal ones, in place. */
kpi_status
clv_fitdata_normalize(clv_fitdata *fd, kpi_msg *msg)
{
	int64_t		total = 0;
	int32_t		n = 0;

	if (fd->flags & CLV_FITDATA_NORMALIZED)
		return KPI_OK;
	/* if the total weight fits, no folded weight can overflow */
	for (int32_t i = 0; i < fd->nrows; i++)
		if (__builtin_add_overflow(total, fd->rows[i].weight, &total))
			return kpi_fail(msg, KPI_ERR_OVERFLOW, "A CLV fit cannot count more than 2^63 customers.");
	qsort(fd->rows, (size_t) fd->nrows, sizeof(clv_fit_row), fit_row_cmp);
	for (int32_t i = 0; i < fd->nrows; i++)
	{
		if (n > 0 && fit_row_cmp(&fd->rows[n - 1], &fd->rows[i]) == 0)
			fd->rows[n - 1].weight += fd->rows[i].weight;
		else
			fd->rows[n++] = fd->rows[i];
	}
	memset(&fd->rows[n], 0, (size_t) (fd->nrows - n) * sizeof(clv_fit_row));
	fd->nrows = n;
	fd->flags |= CLV_FITDATA_NORMALIZED;
	return KPI_OK;
}

/*
 * Make room for `extra` more rows.  When full, equal rows are folded first;
 * the buffer then doubles until at least half of it is free, so sorting
 * costs O(log n) per added row, amortised.
 */
static kpi_status
fitdata_make_room(clv_fitdata **fdp, int64_t extra, const kpi_allocator *mem,
				  kpi_msg *msg)
{
	void	   *buf = *fdp;
	int32_t		cap = 0;
	kpi_status	st;

	if ((*fdp)->nrows + extra <= (*fdp)->capacity)
		return KPI_OK;
	if ((st = clv_fitdata_normalize(*fdp, msg)) != KPI_OK ||
		(st = buffer_capacity(&fitdata_layout, (*fdp)->capacity, (*fdp)->nrows + extra, 16,
							  true, &cap, msg)) != KPI_OK)
		return st;
	if (cap == (*fdp)->capacity)
		return KPI_OK;
	if ((st = buffer_resize(&fitdata_layout, &buf, (*fdp)->capacity, cap, mem, msg)) != KPI_OK)
		return st;
	*fdp = buf;
	(*fdp)->capacity = cap;
	return KPI_OK;
}

/* Append one checked row. */
static kpi_status
fitdata_append(clv_fitdata **fdp, const clv_fit_row *row, const kpi_allocator *mem,
			   kpi_msg *msg)
{
	kpi_status	st;

	if ((st = fitdata_make_room(fdp, 1, mem, msg)) != KPI_OK)
		return st;
	(*fdp)->rows[(*fdp)->nrows++] = *row;
	(*fdp)->flags &= ~CLV_FITDATA_NORMALIZED;
	return KPI_OK;
}

/* Add one customer summary to a fit input. */
kpi_status
clv_fitdata_add(clv_fitdata **fdp, const clv_summary *s, const kpi_allocator *mem,
				kpi_msg *msg)
{
	clv_fit_row row;
	kpi_status	st;

	memset(&row, 0, sizeof(row));
	row.x = s->x;
	row.t_x = s->t_x;
	row.T = s->T;
	row.m = s->m + 0.0;			/* -0.0 becomes 0.0 */
	row.weight = 1;
	if ((st = fit_row_check(&row, KPI_ERR_PARAM, msg)) != KPI_OK)
		return st;
	return fitdata_append(fdp, &row, mem, msg);
}

/* Add the rows of one fit input to another. */
kpi_status
clv_fitdata_merge(clv_fitdata **dstp, const clv_fitdata *src, const kpi_allocator *mem,
				  kpi_msg *msg)
{
	kpi_status	st;

	if (src->nrows == 0)
		return KPI_OK;
	if ((st = fitdata_make_room(dstp, src->nrows, mem, msg)) != KPI_OK)
		return st;
	memcpy(&(*dstp)->rows[(*dstp)->nrows], src->rows, (size_t) src->nrows * sizeof(clv_fit_row));
	(*dstp)->nrows += src->nrows;
	(*dstp)->flags &= ~CLV_FITDATA_NORMALIZED;
	return KPI_OK;
}

/* Normalize a fit input and shrink its buffer: canonical bytes. */
kpi_status
clv_fitdata_compact(clv_fitdata **fdp, const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *buf = *fdp;
	kpi_status	st;

	if ((st = clv_fitdata_normalize(*fdp, msg)) != KPI_OK)
		return st;
	if ((*fdp)->capacity == (*fdp)->nrows)
		return KPI_OK;
	if ((st = buffer_resize(&fitdata_layout, &buf, (*fdp)->capacity, (*fdp)->nrows, mem,
							msg)) != KPI_OK)
		return st;
	*fdp = buf;
	(*fdp)->capacity = (*fdp)->nrows;
	return KPI_OK;
}

/* Size of the binary form of a fit input. */
size_t
clv_fitdata_encoded_size(const clv_fitdata *fd)
{
	return 5 + (size_t) fd->nrows * FIT_ROW_ENCODED;
}

/* Write the binary form of a fit input. */
void
clv_fitdata_encode(const clv_fitdata *fd, kpi_writer *w)
{
	kpi_put_u8(w, KPI_STATE_VERSION);
	kpi_put_u32(w, (uint32_t) fd->nrows);
	for (int32_t i = 0; i < fd->nrows; i++)
	{
		const clv_fit_row *row = &fd->rows[i];

		kpi_put_u32(w, (uint32_t) row->x);
		kpi_put_u32(w, (uint32_t) row->t_x);
		kpi_put_u32(w, (uint32_t) row->T);
		kpi_put_f64(w, row->m);
		kpi_put_i64(w, row->weight);
	}
}

/* Compact a decoded or parsed state, or free it; err is BINARY or TEXT. */
static kpi_status
fitdata_finish_input(clv_fitdata **fdp, kpi_status err, const kpi_allocator *mem,
					 kpi_msg *msg)
{
	kpi_status	st = clv_fitdata_compact(fdp, mem, msg);

	if (st == KPI_ERR_OVERFLOW)
		st = kpi_fail(msg, err, "The weights of a CLV fit input add up to more than 2^63.");
	if (st != KPI_OK)
		mem->free(*fdp, mem->ctx);
	return st;
}

/* Read, validate and compact the binary form of a fit input. */
kpi_status
clv_fitdata_decode(kpi_reader *r, const kpi_allocator *mem, clv_fitdata **out,
				   kpi_msg *msg)
{
	clv_fitdata *fd;
	uint8_t		version;
	uint32_t	nrows;
	kpi_status	st;

	version = kpi_get_u8(r);
	if (!r->failed && version != KPI_STATE_VERSION)
		return version_error(version, "CLV fit input", msg);
	nrows = kpi_get_u32(r);
	if (r->failed || nrows > CLV_FITDATA_MAX_ROWS ||
		r->len - r->pos < (size_t) nrows * FIT_ROW_ENCODED)
		return kpi_fail(msg, KPI_ERR_BINARY, "The CLV fit input is truncated.");
	if ((st = clv_fitdata_create(&fd, mem, msg)) != KPI_OK)
		return st;
	if ((st = fitdata_make_room(&fd, nrows, mem, msg)) != KPI_OK)
	{
		mem->free(fd, mem->ctx);
		return st;
	}
	for (uint32_t i = 0; i < nrows; i++)
	{
		clv_fit_row *row = &fd->rows[fd->nrows++];

		row->x = (int32_t) kpi_get_u32(r);
		row->t_x = (int32_t) kpi_get_u32(r);
		row->T = (int32_t) kpi_get_u32(r);
		row->m = kpi_get_f64(r) + 0.0;
		row->weight = kpi_get_i64(r);
		if ((st = fit_row_check(row, KPI_ERR_BINARY, msg)) != KPI_OK)
		{
			mem->free(fd, mem->ctx);
			return st;
		}
	}
	fd->flags &= ~CLV_FITDATA_NORMALIZED;
	if ((st = fitdata_finish_input(&fd, KPI_ERR_BINARY, mem, msg)) != KPI_OK)
		return st;
	*out = fd;
	return KPI_OK;
}

/* Append the text form of a fit input. */
void
clv_fitdata_format(const clv_fitdata *fd, kpi_strbuf *sb)
{
	kpi_strbuf_appendf(sb, "(v:%d,rows:[", KPI_STATE_VERSION);
	for (int32_t i = 0; i < fd->nrows; i++)
	{
		const clv_fit_row *row = &fd->rows[i];

		kpi_strbuf_appendf(sb, "%s(%d,%d,%d,", i == 0 ? "" : ",",
						   (int) row->x, (int) row->t_x, (int) row->T);
		kpi_strbuf_append_f64(sb, row->m);
		kpi_strbuf_appendf(sb, ",%lld)", (long long) row->weight);
	}
	kpi_strbuf_append(sb, "])");
}

/* One "(x,t_x,T,m,weight)" item of the text form. */
static kpi_status
parse_fit_row(const char *item, size_t itemlen, clv_fit_row *row, kpi_msg *msg)
{
	kpi_list_reader lr;
	const char *v[5];
	size_t		vlen[5];
	int			n = 0;
	int64_t		weight;
	kpi_status	st;

	memset(row, 0, sizeof(*row));
	if ((st = kpi_list_open(&lr, item, itemlen, '(', ')', msg)) != KPI_OK)
		return st;
	while (n < 5 && kpi_list_next(&lr, &v[n], &vlen[n], &st, msg))
		n++;
	if (st != KPI_OK)
		return st;
	if (n != 5 || kpi_list_next(&lr, &v[0], &vlen[0], &st, msg))
		return kpi_fail(msg, KPI_ERR_TEXT, "A CLV fit row is written as \"(x,t_x,T,m,weight)\".");
	if ((st = parse_i32(v[0], vlen[0], &row->x, msg)) != KPI_OK ||
		(st = parse_i32(v[1], vlen[1], &row->t_x, msg)) != KPI_OK ||
		(st = parse_i32(v[2], vlen[2], &row->T, msg)) != KPI_OK ||
		(st = kpi_parse_f64(v[3], vlen[3], &row->m, msg)) != KPI_OK ||
		(st = kpi_parse_i64(v[4], vlen[4], &weight, msg)) != KPI_OK)
		return st;
	row->m += 0.0;
	row->weight = weight;
	return fit_row_check(row, KPI_ERR_TEXT, msg);
}

/* Field-by-field body of clv_fitdata_parse; the caller frees *fdp on error. */
static kpi_status
parse_fitdata_fields(kpi_text_reader *tr, clv_fitdata **fdp, const kpi_allocator *mem,
					 kpi_msg *msg)
{
	kpi_text_field f;
	kpi_list_reader lr;
	const char *item;
	size_t		itemlen;
	kpi_status	st;

	if (!kpi_text_next_field(tr, &f, &st, msg))
		return st != KPI_OK ? st :
			kpi_fail(msg, KPI_ERR_TEXT, "A CLV fit input needs a field \"rows\".");
	if (!kpi_text_key_is(&f, "rows"))
		return kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\" in a CLV fit input.",
						(int) f.keylen, f.key);
	if ((st = kpi_list_open(&lr, f.val, f.vallen, '[', ']', msg)) != KPI_OK)
		return st;
	while (kpi_list_next(&lr, &item, &itemlen, &st, msg))
	{
		clv_fit_row row;

		if ((st = parse_fit_row(item, itemlen, &row, msg)) != KPI_OK ||
			(st = fitdata_append(fdp, &row, mem, msg)) != KPI_OK)
			return st;
	}
	if (st != KPI_OK)
		return st;
	if (kpi_text_next_field(tr, &f, &st, msg))
		return kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\" in a CLV fit input.",
						(int) f.keylen, f.key);
	return st;
}

/* Read, validate and compact the text form of a fit input. */
kpi_status
clv_fitdata_parse(const char *text, const kpi_allocator *mem, clv_fitdata **out,
				  kpi_msg *msg)
{
	kpi_text_reader tr;
	clv_fitdata *fd;
	kpi_status	st;

	if ((st = kpi_text_open_state(&tr, text, msg)) != KPI_OK)
		return st;
	if ((st = clv_fitdata_create(&fd, mem, msg)) != KPI_OK)
		return st;
	if ((st = parse_fitdata_fields(&tr, &fd, mem, msg)) != KPI_OK)
	{
		mem->free(fd, mem->ctx);
		return st;
	}
	if ((st = fitdata_finish_input(&fd, KPI_ERR_TEXT, mem, msg)) != KPI_OK)
		return st;
	*out = fd;
	return KPI_OK;
}

/* ------------------------------------------------------- special functions */

/* psi(x) for x > 0: recurrence up to 10, then the asymptotic series. */
static double
digamma(double x)
{
	double		acc = 0.0;
	double		f;

	while (x < 10.0)
	{
		acc -= 1.0 / x;
		x += 1.0;
	}
	f = 1.0 / (x * x);
	return acc + log(x) - 0.5 / x -
		f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 -
															   f * (1.0 / 132 - f * 691.0 / 32760)))));
}

/*
 * c * R(a, b; c; z) for 0 <= z < 1, where R = (2F1(a, b; c; z) - 1) / b =
 * sum_{n>=1} (a)_n (b+1)_{n-1} / ((c)_n n!) z^n.  Multiplying by c keeps
 * the sum finite as c -> 0.  The result is sum * exp(*log_scale): sum and
 * term are rescaled by 2^-600 whenever they grow past 2^600.  NaN when the
 * terms stop being finite or 2^24 terms do not reach the tolerance.
 */
static double
scaled_reduced_series(double a, double b, double c, double z, double *log_scale)
{
	double		sum = 0.0;
	double		term = a * z;

	*log_scale = 0.0;
	for (long n = 1; n <= SERIES_MAX_TERMS; n++)
	{
		double		dn = (double) n;
		double		next;

		sum += term;
		next = term * ((a + dn) * (b + dn) * z / ((c + dn) * (dn + 1.0)));
		if (!isfinite(next))
			return NAN;
		if (fabs(next) <= SERIES_EPS * fabs(sum))
		{
			double		rho;

			if (next == 0.0 && (a + dn == 0.0 || b + dn == 0.0))
				return sum;		/* a terminating series */
			/*
			 * Once a+k, b+k, c+k > 0, each later ratio is at most
			 * z max(1, (a+k)/(c+k)) max(1, (b+k)/(k+1)), and these maxima
			 * only fall as k grows: the tail is below |next| / (1 - rho).
			 */
			if (a + dn + 1.0 > 0.0 && b + dn + 1.0 > 0.0 && c + dn + 1.0 > 0.0)
			{
				rho = z * fmax(1.0, (a + dn + 1.0) / (c + dn + 1.0)) *
					fmax(1.0, (b + dn + 1.0) / (dn + 2.0));
				if (rho < 1.0 && fabs(next) <= SERIES_EPS * (1.0 - rho) * fabs(sum))
					return sum;
			}
		}
		term = next;
		if (fabs(sum) > 0x1p600 || fabs(term) > 0x1p600)
		{
			sum *= 0x1p-600;
			term *= 0x1p-600;
			*log_scale += 600.0 * M_LN2;
		}
	}
	return NAN;
}

/* (1 - (1 + tau)^-e) / e = -expm1(-e L) / e with L = log(1 + tau); L at e = 0. */
static double
power_difference(double e, double L)
{
	return e == 0.0 ? L : -expm1(-e * L) / e;
}

/* (2F1(a,b;c;z) - 1) / b for z < 1, via Pfaff's transformation when z < 0. */
double
clv_hyp2f1_reduced(double a, double b, double c, double z)
{
	double		log_scale;
	double		s;
	double		L;

	if (!(z < 1.0))
		return NAN;
	if (z >= 0.0)
	{
		s = scaled_reduced_series(a, b, c, z, &log_scale);
		return s / c * exp(log_scale);
	}
	/* Pfaff: 2F1(a,b;c;z) = (1-z)^-b 2F1(c-a, b; c; z/(z-1)) */
	L = log1p(-z);
	s = scaled_reduced_series(c - a, b, c, z / (z - 1.0), &log_scale);
	return -power_difference(b, L) + s / c * exp(log_scale - b * L);
}

/*
 * Expected purchases in the next t weeks of a customer alive at T, given x
 * (see the file header): -c R(r+x, a-1; c; -tau) after Pfaff.
 */
static double
alive_expectation(const clv_model *model, double x, double T, double t)
{
	double		tau = t / (model->alpha + T);
	double		e = model->a - 1.0;
	double		c = model->a + model->b + x - 1.0;
	double		L = log1p(tau);
	double		log_scale;
	double		s;

	s = scaled_reduced_series(c - (model->r + x), e, c, tau / (1.0 + tau), &log_scale);
	return c * power_difference(e, L) - s * exp(log_scale - e * L);
}

/* ---------------------------------------------------------- predictions */

/* P(alive | x, t_x, T), FHL 2005 eq. 11, computed through its log-odds. */
double
clv_p_alive(const clv_model *model, const clv_summary *s)
{
	double		x = s->x;
	double		t_x = s->t_x / CLV_DAYS_PER_WEEK;
	double		T = s->T / CLV_DAYS_PER_WEEK;
	double		odds;

	if (s->x == 0)
		return 1.0;
	/* log of (a / (b+x-1)) ((alpha+T) / (alpha+t_x))^(r+x) */
	odds = log(model->a) - log(model->b + x - 1.0) +
		(model->r + x) * log1p((T - t_x) / (model->alpha + t_x));
	return odds > 0.0 ? exp(-odds) / (1.0 + exp(-odds)) : 1.0 / (1.0 + exp(odds));
}

/* E[purchases in the next `weeks` | x, t_x, T], FHL 2005 eq. 10. */
kpi_status
clv_expected_orders(const clv_model *model, const clv_summary *s, double weeks,
					double *out, kpi_msg *msg)
{
	if (!(weeks >= 0.0) || !isfinite(weeks))
		return kpi_fail(msg, KPI_ERR_PARAM, "The horizon must be a finite duration of at least zero.");
	*out = clv_p_alive(model, s) *
		alive_expectation(model, s->x, s->T / CLV_DAYS_PER_WEEK, weeks);
	return KPI_OK;
}

/* Gamma-Gamma conditional mean of a future purchase day's amount. */
double
clv_expected_order_value(const clv_model *model, const clv_summary *s)
{
	double		px;

	if (!(model->q > 1.0))
		return NAN;
	if (s->x == 0 || !(s->m > 0.0))
		return model->p * model->gamma / (model->q - 1.0);
	px = model->p * s->x;
	return model->p * (model->gamma + s->x * s->m) / (px + model->q - 1.0);
}

/* The horizon and discount of a CLV must be in range. */
static kpi_status
check_value_params(int months, double monthly_discount, kpi_msg *msg)
{
	if (months < 0 || months > CLV_MAX_MONTHS)
		return kpi_fail(msg, KPI_ERR_PARAM, "The horizon must be between 0 and %d months.",
						CLV_MAX_MONTHS);
	if (!isfinite(monthly_discount) || !(monthly_discount > -1.0))
		return kpi_fail(msg, KPI_ERR_PARAM, "The monthly discount rate must be finite and above -1.");
	return KPI_OK;
}

/* Discounted CLV over `months` months (lifetimes' convention). */
kpi_status
clv_value(const clv_model *model, const clv_summary *s, int months,
		  double monthly_discount, double *out, kpi_msg *msg)
{
	double		value = clv_expected_order_value(model, s);
	double		alive = clv_p_alive(model, s);
	double		T = s->T / CLV_DAYS_PER_WEEK;
	double		previous = 0.0;
	double		sum = 0.0;
	kpi_status	st;

	if ((st = check_value_params(months, monthly_discount, msg)) != KPI_OK)
		return st;
	for (int i = 1; i <= months; i++)
	{
		double		current = alive * alive_expectation(model, s->x, T, i * CLV_WEEKS_PER_MONTH);

		sum += (current - previous) / pow(1.0 + monthly_discount, i);
		previous = current;
	}
	*out = sum * value;
	return KPI_OK;
}

/* ------------------------------------------------------------ fitting */

/* Minimised objective: mean negative log-likelihood and its gradient. */
typedef double (*objective_fn) (void *ctx, const double *theta, double *grad);

typedef struct bfgs_problem
{
	objective_fn f;
	void	   *ctx;
	int			n;				/* parameters, at most 4 */
	clv_interrupt_fn interrupt;
	void	   *interrupt_arg;
	int			evaluations;	/* so far, over all starts */
} bfgs_problem;

/*
 * One evaluation of the objective, after the interrupt check.  Past
 * FIT_MAX_EVALUATIONS it is NaN without evaluating, which ends every
 * search quickly: a likelihood that needs that many evaluations is flat
 * in some direction, and the data do not identify the model.
 */
static double
evaluate(bfgs_problem *pb, const double *theta, double *grad)
{
	if (pb->interrupt != NULL)
		pb->interrupt(pb->interrupt_arg);
	if (++pb->evaluations > FIT_MAX_EVALUATIONS)
		return NAN;
	return pb->f(pb->ctx, theta, grad);
}

static double
dot(const double *u, const double *v, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += u[i] * v[i];
	return s;
}

static double
max_abs(const double *v, int n)
{
	double		m = 0.0;

	for (int i = 0; i < n; i++)
		m = fmax(m, fabs(v[i]));
	return m;
}

/*
 * Weak-Wolfe line search along d by bisection/doubling.  Points outside
 * the parameter box or with a non-finite value count as too far.  Returns
 * false if no acceptable step was found.
 */
static bool
line_search(bfgs_problem *pb, const double *theta, double fx, const double *g,
			const double *d, double *theta_new, double *f_new, double *g_new)
{
	const double c1 = 1e-4;
	const double c2 = 0.9;
	double		slope = dot(g, d, pb->n);
	double		lo = 0.0;
	double		hi = INFINITY;
	double		t = 1.0;

	for (int k = 0; k < LINE_SEARCH_TRIALS; k++)
	{
		bool		inside = true;

		for (int i = 0; i < pb->n; i++)
		{
			theta_new[i] = theta[i] + t * d[i];
			inside &= fabs(theta_new[i]) <= LOG_PARAM_LIMIT;
		}
		*f_new = inside ? evaluate(pb, theta_new, g_new) : NAN;
		if (!isfinite(*f_new) || *f_new > fx + c1 * t * slope)
			hi = t;
		else if (dot(g_new, d, pb->n) < c2 * slope)
			lo = t;
		else
			return true;
		t = isinf(hi) ? 2.0 * t : 0.5 * (lo + hi);
	}
	if (lo == 0.0)
		return false;
	/* the sufficient-decrease point found last */
	for (int i = 0; i < pb->n; i++)
		theta_new[i] = theta[i] + lo * d[i];
	*f_new = evaluate(pb, theta_new, g_new);
	return isfinite(*f_new);
}

/*
 * Minimise pb->f from theta by BFGS on the inverse Hessian.  Returns true
 * when the gradient vanished: below BFGS_GTOL, or below BFGS_GTOL_STALLED
 * once f no longer decreases beyond round-off (near the optimum the
 * gradient of a sum over many customers cannot get much smaller than its
 * rounding error).  theta and *fval hold the end point either way.
 */
static bool
bfgs_minimize(bfgs_problem *pb, double *theta, double *fval)
{
	int			n = pb->n;
	double		H[16];
	double		g[4],
				d[4],
				theta_new[4],
				g_new[4],
				s[4],
				y[4],
				Hy[4];
	double		fx = evaluate(pb, theta, g);
	double		f_new;

	if (!isfinite(fx))
		return false;
	for (int i = 0; i < n * n; i++)
		H[i] = (i % (n + 1) == 0) ? 1.0 : 0.0;
	for (int iter = 0; iter < BFGS_MAX_ITER; iter++)
	{
		double		sy,
					yHy,
					step;

		*fval = fx;
		if (max_abs(g, n) <= BFGS_GTOL)
			return true;
		for (int i = 0; i < n; i++)
			d[i] = -dot(&H[i * n], g, n);
		if (dot(g, d, n) >= 0.0)
		{
			/* not a descent direction: forget the curvature */
			for (int i = 0; i < n * n; i++)
				H[i] = (i % (n + 1) == 0) ? 1.0 : 0.0;
			for (int i = 0; i < n; i++)
				d[i] = -g[i];
		}
		step = max_abs(d, n);
		if (step > BFGS_MAX_STEP)
			for (int i = 0; i < n; i++)
				d[i] *= BFGS_MAX_STEP / step;
		if (!line_search(pb, theta, fx, g, d, theta_new, &f_new, g_new))
			return max_abs(g, n) <= BFGS_GTOL_STALLED;
		for (int i = 0; i < n; i++)
		{
			s[i] = theta_new[i] - theta[i];
			y[i] = g_new[i] - g[i];
		}
		sy = dot(s, y, n);
		if (sy > 1e-12 * sqrt(dot(s, s, n) * dot(y, y, n)))
		{
			if (iter == 0)
			{
				/* scale the initial guess to the observed curvature */
				double		scale = sy / dot(y, y, n);

				for (int i = 0; i < n * n; i++)
					H[i] *= scale;
			}
			for (int i = 0; i < n; i++)
				Hy[i] = dot(&H[i * n], y, n);
			yHy = dot(y, Hy, n);
			for (int i = 0; i < n; i++)
				for (int j = 0; j < n; j++)
					H[i * n + j] += -(s[i] * Hy[j] + Hy[i] * s[j]) / sy +
						(1.0 + yHy / sy) * s[i] * s[j] / sy;
		}
		memcpy(theta, theta_new, sizeof(double) * n);
		memcpy(g, g_new, sizeof(double) * n);
		if (fx - f_new <= BFGS_FTOL * fmax(1.0, fabs(fx)) &&
			max_abs(g, n) <= BFGS_GTOL_STALLED)
		{
			*fval = f_new;
			return true;
		}
		fx = f_new;
	}
	*fval = fx;
	return max_abs(g, n) <= BFGS_GTOL_STALLED;
}

/*
 * Best minimum over several starting points, each run restarted once from
 * its end (which rebuilds the curvature estimate and confirms convergence).
 * The parameters are logarithms of dimensionless numbers (scale parameters
 * relative to a scale taken from the data), so a minimum with one beyond
 * LOG_PARAM_IDENTIFIED is the likelihood flattening out towards a limit of
 * the model (no dropout, a Poisson rate, a single spend level), not an
 * estimate.  Once two starts end at the same point (within
 * MULTISTART_AGREE in every log-parameter) the remaining starts are
 * skipped: they would only confirm it.  Returns false when no start
 * converges to an estimate.
 */
static bool
multistart_minimize(bfgs_problem *pb, const double *starts, int nstarts,
					double *best, double *best_f)
{
	bool		found = false;

	for (int k = 0; k < nstarts; k++)
	{
		double		theta[4];
		double		diff[4];
		double		f;

		memcpy(theta, &starts[k * pb->n], sizeof(double) * pb->n);
		if (!bfgs_minimize(pb, theta, &f) || !bfgs_minimize(pb, theta, &f) ||
			max_abs(theta, pb->n) > LOG_PARAM_IDENTIFIED)
			continue;
		for (int i = 0; i < pb->n; i++)
			diff[i] = found ? theta[i] - best[i] : INFINITY;
		if (!found || f < *best_f)
		{
			memcpy(best, theta, sizeof(double) * pb->n);
			*best_f = f;
			found = true;
		}
		if (max_abs(diff, pb->n) <= MULTISTART_AGREE)
			break;
	}
	return found;
}

/* Distinct (x, t_x, T) rows of one x, for BG/NBD. */
typedef struct bg_group
{
	double		x;
	double		weight;			/* customers with this x */
	int32_t		first;			/* first row in bg_work's arrays */
	int32_t		count;
} bg_group;

typedef struct bg_work
{
	int32_t		ngroups;
	bg_group   *groups;
	int32_t	   *t_idx;			/* per row: index of t_x in day_weeks */
	int32_t	   *T_idx;			/* per row: index of T in day_weeks */
	double	   *weight;			/* per row */
	int32_t		ndays;
	double	   *day_weeks;		/* the distinct t_x and T values, in weeks */
	double	   *logs;			/* scratch: log(alpha + day_weeks) */
	double	   *invs;			/* scratch: 1 / (alpha + day_weeks) */
	double		total_weight;
	double		alpha_scale;	/* alpha = alpha_scale * exp(theta[1]) */
} bg_work;

/* Rows of one x with m > 0, for Gamma-Gamma. */
typedef struct gg_group
{
	double		x;
	double		weight;
	double		sum_wlogm;		/* sum of weight * log(m) */
	int32_t		first;
	int32_t		count;
} gg_group;

typedef struct gg_work
{
	int32_t		ngroups;
	gg_group   *groups;
	double	   *xm;				/* per row: x * m */
	double	   *weight;
	double		total_weight;
	double		mean_m;			/* gamma = mean_m * exp(theta[2]) */
} gg_work;

/* BG/NBD: -LL / customers and its gradient in log(r, alpha, a, b). */
static double
bg_objective(void *ctx, const double *theta, double *grad)
{
	const bg_work *w = ctx;
	double		r = exp(theta[0]);
	double		alpha = w->alpha_scale * exp(theta[1]);
	double		a = exp(theta[2]);
	double		b = exp(theta[3]);
	double		log_alpha = log(alpha);
	double		log_a = log(a);
	double		lg_r = lgamma(r);
	double		lg_b = lgamma(b);
	double		lg_ab = lgamma(a + b);
	double		psi_r = digamma(r);
	double		psi_b = digamma(b);
	double		psi_ab = digamma(a + b);
	double		ll = 0.0,
				dr = 0.0,
				dalpha = 0.0,
				da = 0.0,
				db = 0.0;

	for (int32_t k = 0; k < w->ndays; k++)
	{
		w->logs[k] = log(alpha + w->day_weeks[k]);
		w->invs[k] = 1.0 / (alpha + w->day_weeks[k]);
	}
	for (int32_t gi = 0; gi < w->ngroups; gi++)
	{
		const bg_group *g = &w->groups[gi];
		double		x = g->x;
		double		rx = r + x;
		double		psi_abx = digamma(a + b + x);
		double		sum_L = 0.0,
					sum_I = 0.0,
					sum_s4 = 0.0;

		ll += g->weight * (lgamma(rx) - lg_r + r * log_alpha + lg_ab +
						   lgamma(b + x) - lg_b - lgamma(a + b + x));
		dr += g->weight * (digamma(rx) - psi_r + log_alpha);
		dalpha += g->weight * r / alpha;
		da += g->weight * (psi_ab - psi_abx);
		db += g->weight * (psi_ab + digamma(b + x) - psi_b - psi_abx);
		if (x == 0.0)
		{
			for (int32_t i = g->first; i < g->first + g->count; i++)
			{
				sum_L += w->weight[i] * w->logs[w->T_idx[i]];
				sum_I += w->weight[i] * w->invs[w->T_idx[i]];
			}
			ll -= rx * sum_L;
		}
		else
		{
			double		log_ab = log_a - log(b + x - 1.0);

			for (int32_t i = g->first; i < g->first + g->count; i++)
			{
				double		LT = w->logs[w->T_idx[i]];
				double		Lt = w->logs[w->t_idx[i]];
				double		A3 = -rx * LT;	/* alive throughout */
				double		A4 = log_ab - rx * Lt;	/* dropped after t_x */
				double		e = exp(-fabs(A3 - A4));
				double		s3 = A3 >= A4 ? 1.0 / (1.0 + e) : e / (1.0 + e);
				double		s4 = A3 >= A4 ? e / (1.0 + e) : 1.0 / (1.0 + e);

				ll += w->weight[i] * (fmax(A3, A4) + log1p(e));
				sum_L += w->weight[i] * (s3 * LT + s4 * Lt);
				sum_I += w->weight[i] * (s3 * w->invs[w->T_idx[i]] + s4 * w->invs[w->t_idx[i]]);
				sum_s4 += w->weight[i] * s4;
			}
			da += sum_s4 / a;
			db -= sum_s4 / (b + x - 1.0);
		}
		dr -= sum_L;
		dalpha -= rx * sum_I;
	}
	grad[0] = -dr * r / w->total_weight;
	grad[1] = -dalpha * alpha / w->total_weight;
	grad[2] = -da * a / w->total_weight;
	grad[3] = -db * b / w->total_weight;
	return -ll / w->total_weight;
}

/* Gamma-Gamma: -LL / customers and its gradient in log(p, q, gamma). */
static double
gg_objective(void *ctx, const double *theta, double *grad)
{
	const gg_work *w = ctx;
	double		p = exp(theta[0]);
	double		q = exp(theta[1]);
	double		gam = w->mean_m * exp(theta[2]);
	double		log_gam = log(gam);
	double		lg_q = lgamma(q);
	double		psi_q = digamma(q);
	double		ll = 0.0,
				dp = 0.0,
				dq = 0.0,
				dgam = 0.0;

	for (int32_t gi = 0; gi < w->ngroups; gi++)
	{
		const gg_group *g = &w->groups[gi];
		double		x = g->x;
		double		px = p * x;
		double		log_x = log(x);
		double		psi_pxq = digamma(px + q);
		double		sum_log = 0.0,
					sum_inv = 0.0;

		for (int32_t i = g->first; i < g->first + g->count; i++)
		{
			double		v = w->xm[i] + gam;

			sum_log += w->weight[i] * log(v);
			sum_inv += w->weight[i] / v;
		}
		ll += g->weight * (lgamma(px + q) - lgamma(px) - lg_q + q * log_gam + px * log_x) +
			(px - 1.0) * g->sum_wlogm - (px + q) * sum_log;
		dp += x * (g->weight * (psi_pxq - digamma(px) + log_x) + g->sum_wlogm - sum_log);
		dq += g->weight * (psi_pxq - psi_q + log_gam) - sum_log;
		dgam += g->weight * q / gam - (px + q) * sum_inv;
	}
	grad[0] = -dp * p / w->total_weight;
	grad[1] = -dq * q / w->total_weight;
	grad[2] = -dgam * gam / w->total_weight;
	return -ll / w->total_weight;
}

static int
int32_cmp(const void *pa, const void *pb)
{
	int32_t		a = *(const int32_t *) pa;
	int32_t		b = *(const int32_t *) pb;

	return a < b ? -1 : a > b;
}

static int32_t
day_index(const int32_t *days, int32_t n, int32_t day)
{
	const int32_t *hit = bsearch(&day, days, (size_t) n, sizeof(int32_t), int32_cmp);

	return (int32_t) (hit - days);
}

/* Allocation of the fit's working arrays, freed together. */
typedef struct fit_memory
{
	const kpi_allocator *mem;
	int			n;
	void	   *blocks[16];
} fit_memory;

static void *
fit_alloc(fit_memory *fm, size_t count, size_t size)
{
	void	   *p;

	if (fm->n == (int) (sizeof(fm->blocks) / sizeof(fm->blocks[0])))
		return NULL;
	p = fm->mem->alloc(count == 0 ? 1 : count * size, fm->mem->ctx);
	if (p != NULL)
		fm->blocks[fm->n++] = p;
	return p;
}

static void
fit_free_all(fit_memory *fm)
{
	while (fm->n > 0)
		fm->mem->free(fm->blocks[--fm->n], fm->mem->ctx);
}

/* Build the BG/NBD and Gamma-Gamma arrays from rows sorted by (x, t_x, T, m). */
static bool
fit_prepare(fit_memory *fm, const clv_fit_row *rows, int32_t nrows, bg_work *bg,
			gg_work *gg)
{
	int32_t		ntriples = 0,
				nbg_groups = 0,
				ngg_rows = 0,
				ngg_groups = 0,
				ndays = 0;
	int32_t    *days;
	double		sum_wm = 0.0;

	int32_t		last_gg_x = -1;

	for (int32_t i = 0; i < nrows; i++)
	{
		const clv_fit_row *row = &rows[i];
		bool		new_x = i == 0 || row->x != rows[i - 1].x;

		if (new_x || row->t_x != rows[i - 1].t_x || row->T != rows[i - 1].T)
			ntriples++;
		nbg_groups += new_x;
		if (row->x > 0 && row->m > 0.0)
		{
			ngg_groups += row->x != last_gg_x;
			last_gg_x = row->x;
			ngg_rows++;
		}
	}
	bg->groups = fit_alloc(fm, nbg_groups, sizeof(bg_group));
	bg->t_idx = fit_alloc(fm, ntriples, sizeof(int32_t));
	bg->T_idx = fit_alloc(fm, ntriples, sizeof(int32_t));
	bg->weight = fit_alloc(fm, ntriples, sizeof(double));
	days = fit_alloc(fm, 2 * (size_t) ntriples, sizeof(int32_t));
	gg->groups = fit_alloc(fm, ngg_groups, sizeof(gg_group));
	gg->xm = fit_alloc(fm, ngg_rows, sizeof(double));
	gg->weight = fit_alloc(fm, ngg_rows, sizeof(double));
	if (bg->groups == NULL || bg->t_idx == NULL || bg->T_idx == NULL ||
		bg->weight == NULL || days == NULL || gg->groups == NULL ||
		gg->xm == NULL || gg->weight == NULL)
		return false;

	/* the distinct t_x and T days, which each triple then indexes */
	for (int32_t i = 0; i < nrows; i++)
		if (i == 0 || rows[i].x != rows[i - 1].x || rows[i].t_x != rows[i - 1].t_x ||
			rows[i].T != rows[i - 1].T)
		{
			days[ndays++] = rows[i].t_x;
			days[ndays++] = rows[i].T;
		}
	qsort(days, (size_t) ndays, sizeof(int32_t), int32_cmp);
	{
		int32_t		n = 0;

		for (int32_t k = 0; k < ndays; k++)
			if (n == 0 || days[k] != days[n - 1])
				days[n++] = days[k];
		ndays = n;
	}
	bg->ndays = ndays;
	bg->day_weeks = fit_alloc(fm, ndays, sizeof(double));
	bg->logs = fit_alloc(fm, ndays, sizeof(double));
	bg->invs = fit_alloc(fm, ndays, sizeof(double));
	if (bg->day_weeks == NULL || bg->logs == NULL || bg->invs == NULL)
		return false;
	for (int32_t k = 0; k < ndays; k++)
		bg->day_weeks[k] = days[k] / CLV_DAYS_PER_WEEK;

	bg->ngroups = 0;
	bg->total_weight = 0.0;
	gg->ngroups = 0;
	gg->total_weight = 0.0;
	ntriples = 0;
	ngg_rows = 0;
	for (int32_t i = 0; i < nrows; i++)
	{
		const clv_fit_row *row = &rows[i];
		double		w = (double) row->weight;
		bool		new_x = i == 0 || row->x != rows[i - 1].x;

		if (new_x)
		{
			bg_group   *g = &bg->groups[bg->ngroups++];

			g->x = row->x;
			g->weight = 0.0;
			g->first = ntriples;
			g->count = 0;
		}
		if (new_x || row->t_x != rows[i - 1].t_x || row->T != rows[i - 1].T)
		{
			bg->t_idx[ntriples] = day_index(days, ndays, row->t_x);
			bg->T_idx[ntriples] = day_index(days, ndays, row->T);
			bg->weight[ntriples] = 0.0;
			bg->groups[bg->ngroups - 1].count++;
			ntriples++;
		}
		bg->weight[ntriples - 1] += w;
		bg->groups[bg->ngroups - 1].weight += w;
		bg->total_weight += w;

		if (row->x > 0 && row->m > 0.0)
		{
			gg_group   *g;

			if (gg->ngroups == 0 || gg->groups[gg->ngroups - 1].x != row->x)
			{
				g = &gg->groups[gg->ngroups++];
				g->x = row->x;
				g->weight = 0.0;
				g->sum_wlogm = 0.0;
				g->first = ngg_rows;
				g->count = 0;
			}
			g = &gg->groups[gg->ngroups - 1];
			gg->xm[ngg_rows] = row->x * row->m;
			gg->weight[ngg_rows] = w;
			g->weight += w;
			g->sum_wlogm += w * log(row->m);
			g->count++;
			gg->total_weight += w;
			sum_wm += w * row->m;
			ngg_rows++;
		}
	}
	gg->mean_m = gg->total_weight > 0.0 ? sum_wm / gg->total_weight : 0.0;
	return true;
}

/* Fit BG/NBD; false when no start converges. */
static bool
fit_bgnbd(bg_work *bg, const bfgs_problem *base, clv_model *model)
{
	bfgs_problem pb = *base;
	double		sum_x = 0.0,
				sum_T = 0.0;
	double		starts[12];
	static const double shapes[3][3] = {{1.0, 1.0, 1.0}, {0.25, 0.75, 2.5}, {3.0, 2.0, 6.0}};
	double		theta[4];
	double		f;

	/* scale alpha to the mean purchase rate so that E[lambda] starts right */
	for (int32_t gi = 0; gi < bg->ngroups; gi++)
		for (int32_t i = bg->groups[gi].first; i < bg->groups[gi].first + bg->groups[gi].count; i++)
		{
			sum_x += bg->weight[i] * bg->groups[gi].x;
			sum_T += bg->weight[i] * bg->day_weeks[bg->T_idx[i]];
		}
	if (!(sum_x > 0.0) || !(sum_T > 0.0))
		return false;
	bg->alpha_scale = sum_T / sum_x;
	for (int k = 0; k < 3; k++)
	{
		starts[4 * k + 0] = log(shapes[k][0]);
		starts[4 * k + 1] = log(shapes[k][0]);
		starts[4 * k + 2] = log(shapes[k][1]);
		starts[4 * k + 3] = log(shapes[k][2]);
	}
	pb.f = bg_objective;
	pb.ctx = bg;
	pb.n = 4;
	if (!multistart_minimize(&pb, starts, 3, theta, &f))
		return false;
	model->r = exp(theta[0]);
	model->alpha = bg->alpha_scale * exp(theta[1]);
	model->a = exp(theta[2]);
	model->b = exp(theta[3]);
	model->loglik_bgnbd = -f * bg->total_weight;
	return isfinite(model->loglik_bgnbd);
}

/* Fit Gamma-Gamma; false when no start converges. */
static bool
fit_gamma_gamma(gg_work *gg, const bfgs_problem *base, clv_model *model)
{
	bfgs_problem pb = *base;
	double		starts[9];
	static const double shapes[3][3] = {{1.0, 2.0, 1.0}, {4.0, 4.0, 0.75}, {0.5, 1.5, 1.0}};
	double		theta[3];
	double		f;

	/* each start has the population mean p gamma / (q - 1) equal to mean m */
	for (int k = 0; k < 3; k++)
	{
		starts[3 * k + 0] = log(shapes[k][0]);
		starts[3 * k + 1] = log(shapes[k][1]);
		starts[3 * k + 2] = log(shapes[k][2]);
	}
	pb.f = gg_objective;
	pb.ctx = gg;
	pb.n = 3;
	if (!multistart_minimize(&pb, starts, 3, theta, &f))
		return false;
	model->p = exp(theta[0]);
	model->q = exp(theta[1]);
	model->gamma = gg->mean_m * exp(theta[2]);
	model->loglik_gg = -f * gg->total_weight;
	return isfinite(model->loglik_gg);
}

/* Fit BG/NBD and Gamma-Gamma by maximum likelihood (see clv_core.h). */
kpi_status
clv_fit(const clv_fitdata *fd, const kpi_allocator *mem, clv_interrupt_fn interrupt,
		void *interrupt_arg, clv_model *model, clv_fit_outcome *outcome, kpi_msg *msg)
{
	fit_memory	fm = {mem, 0, {NULL}};
	clv_fit_row *rows;
	bg_work		bg;
	gg_work		gg;
	bfgs_problem base = {NULL, NULL, 0, interrupt, interrupt_arg, 0};
	int64_t		customers = 0,
				repeaters = 0,
				spenders = 0;
	clv_model	result;

	if (fd->nrows < 0 || fd->nrows > fd->capacity)
		return kpi_fail(msg, KPI_ERR_PARAM, "The input of the CLV fit is damaged.");
	for (int32_t i = 0; i < fd->nrows; i++)
	{
		const clv_fit_row *row = &fd->rows[i];

		if (__builtin_add_overflow(customers, row->weight, &customers))
			return kpi_fail(msg, KPI_ERR_OVERFLOW, "A CLV fit cannot count more than 2^63 customers.");
		repeaters += row->x > 0 ? row->weight : 0;
		spenders += row->x > 0 && row->m > 0.0 ? row->weight : 0;
	}
	if (customers < CLV_FIT_MIN_CUSTOMERS)
	{
		*outcome = CLV_FIT_TOO_FEW_CUSTOMERS;
		return KPI_OK;
	}
	if (spenders < CLV_FIT_MIN_REPEATERS)
	{
		*outcome = CLV_FIT_TOO_FEW_REPEATERS;
		return KPI_OK;
	}

	/* a sorted private copy: the input may be a value we must not modify */
	rows = fit_alloc(&fm, fd->nrows, sizeof(clv_fit_row));
	if (rows == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a CLV fit.");
	memcpy(rows, fd->rows, (size_t) fd->nrows * sizeof(clv_fit_row));
	if (!(fd->flags & CLV_FITDATA_NORMALIZED))
		qsort(rows, (size_t) fd->nrows, sizeof(clv_fit_row), fit_row_cmp);
	if (!fit_prepare(&fm, rows, fd->nrows, &bg, &gg))
	{
		fit_free_all(&fm);
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a CLV fit.");
	}

	memset(&result, 0, sizeof(result));
	result.customers = customers;
	result.repeat_customers = repeaters;
	if (!fit_bgnbd(&bg, &base, &result))
		*outcome = CLV_FIT_BGNBD_FAILED;
	else if (!fit_gamma_gamma(&gg, &base, &result))
		*outcome = CLV_FIT_GG_FAILED;
	else
	{
		*outcome = CLV_FIT_OK;
		*model = result;
	}
	fit_free_all(&fm);
	return KPI_OK;
}

/* A sentence for each fit outcome. */
const char *
clv_fit_outcome_text(clv_fit_outcome outcome)
{
	switch (outcome)
	{
		case CLV_FIT_OK:
			return "The model was fitted.";
		case CLV_FIT_TOO_FEW_CUSTOMERS:
			return "Fewer than " STRINGIFY(CLV_FIT_MIN_CUSTOMERS)
				" customers cannot identify the model.";
		case CLV_FIT_TOO_FEW_REPEATERS:
			return "Fewer than " STRINGIFY(CLV_FIT_MIN_REPEATERS)
				" customers with repeat purchases of a positive amount cannot identify the model.";
		case CLV_FIT_BGNBD_FAILED:
			return "The BG/NBD likelihood has no maximum inside the parameter range.";
		case CLV_FIT_GG_FAILED:
			return "The Gamma-Gamma likelihood has no maximum inside the parameter range.";
	}
	return "Unknown fit outcome.";
}

/* ---------------------------------------------------------- model codec */

/* The seven parameters of the model, in encoding and text order. */
static const char *const model_param_names[7] = {"r", "alpha", "a", "b", "p", "q", "gamma"};
static const size_t model_param_offsets[7] = {
	offsetof(clv_model, r), offsetof(clv_model, alpha), offsetof(clv_model, a),
	offsetof(clv_model, b), offsetof(clv_model, p), offsetof(clv_model, q),
	offsetof(clv_model, gamma)
};

#define MODEL_PARAM(model, i) \
	(*(double *) ((char *) (model) + model_param_offsets[i]))
#define MODEL_PARAM_VALUE(model, i) \
	(*(const double *) ((const char *) (model) + model_param_offsets[i]))

static kpi_status
model_validate(const clv_model *model, kpi_status err, kpi_msg *msg)
{
	for (int i = 0; i < 7; i++)
	{
		double		v = MODEL_PARAM_VALUE(model, i);

		if (!isfinite(v) || !(v > 0.0))
			return kpi_fail(msg, err, "Model parameter \"%s\" must be finite and positive.",
							model_param_names[i]);
	}
	if (model->customers < 0 || model->repeat_customers < 0 ||
		model->repeat_customers > model->customers)
		return kpi_fail(msg, err, "The customer counts of the model are inconsistent.");
	if (!isfinite(model->loglik_bgnbd) || !isfinite(model->loglik_gg))
		return kpi_fail(msg, err, "The log-likelihoods of the model must be finite.");
	return KPI_OK;
}

/* Size of the binary form of a model: always CLV_MODEL_ENCODED_SIZE. */
size_t
clv_model_encoded_size(const clv_model *model)
{
	(void) model;
	return CLV_MODEL_ENCODED_SIZE;
}

/* Write the 89-byte binary form of a model. */
void
clv_model_encode(const clv_model *model, kpi_writer *w)
{
	kpi_put_u8(w, KPI_STATE_VERSION);
	for (int i = 0; i < 7; i++)
		kpi_put_f64(w, MODEL_PARAM_VALUE(model, i));
	kpi_put_i64(w, model->customers);
	kpi_put_i64(w, model->repeat_customers);
	kpi_put_f64(w, model->loglik_bgnbd);
	kpi_put_f64(w, model->loglik_gg);
}

/* Read and validate the binary form of a model. */
kpi_status
clv_model_decode(kpi_reader *r, clv_model *model, kpi_msg *msg)
{
	clv_model	m;
	uint8_t		version;
	kpi_status	st;

	memset(&m, 0, sizeof(m));
	version = kpi_get_u8(r);
	if (!r->failed && version != KPI_STATE_VERSION)
		return version_error(version, "CLV model", msg);
	for (int i = 0; i < 7; i++)
		MODEL_PARAM(&m, i) = kpi_get_f64(r);
	m.customers = kpi_get_i64(r);
	m.repeat_customers = kpi_get_i64(r);
	m.loglik_bgnbd = kpi_get_f64(r) + 0.0;	/* -0 becomes 0 */
	m.loglik_gg = kpi_get_f64(r) + 0.0;
	if (r->failed)
		return kpi_fail(msg, KPI_ERR_BINARY, "The CLV model is truncated.");
	if ((st = model_validate(&m, KPI_ERR_BINARY, msg)) != KPI_OK)
		return st;
	*model = m;
	return KPI_OK;
}

/* Append the text form of a model; doubles read back exactly. */
void
clv_model_format(const clv_model *model, kpi_strbuf *sb)
{
	kpi_strbuf_appendf(sb, "(v:%d", KPI_STATE_VERSION);
	for (int i = 0; i < 7; i++)
	{
		kpi_strbuf_appendf(sb, ",%s:", model_param_names[i]);
		kpi_strbuf_append_f64(sb, MODEL_PARAM_VALUE(model, i));
	}
	kpi_strbuf_appendf(sb, ",customers:%lld,repeat_customers:%lld,loglik_bgnbd:",
					   (long long) model->customers, (long long) model->repeat_customers);
	kpi_strbuf_append_f64(sb, model->loglik_bgnbd);
	kpi_strbuf_append(sb, ",loglik_gg:");
	kpi_strbuf_append_f64(sb, model->loglik_gg);
	kpi_strbuf_append(sb, ")");
}

/* Read and validate the text form of a model. */
kpi_status
clv_model_parse(const char *text, clv_model *model, kpi_msg *msg)
{
	kpi_text_reader tr;
	kpi_text_field f;
	clv_model	m;
	int			seen = 0;
	kpi_status	st;

	memset(&m, 0, sizeof(m));
	if ((st = kpi_text_open_state(&tr, text, msg)) != KPI_OK)
		return st;
	while (kpi_text_next_field(&tr, &f, &st, msg))
	{
		int			bit = -1;

		for (int i = 0; i < 7; i++)
			if (kpi_text_key_is(&f, model_param_names[i]))
			{
				bit = i;
				st = kpi_parse_f64(f.val, f.vallen, &MODEL_PARAM(&m, i), msg);
			}
		if (kpi_text_key_is(&f, "customers"))
		{
			bit = 7;
			st = kpi_parse_i64(f.val, f.vallen, &m.customers, msg);
		}
		else if (kpi_text_key_is(&f, "repeat_customers"))
		{
			bit = 8;
			st = kpi_parse_i64(f.val, f.vallen, &m.repeat_customers, msg);
		}
		else if (kpi_text_key_is(&f, "loglik_bgnbd"))
		{
			bit = 9;
			st = kpi_parse_f64(f.val, f.vallen, &m.loglik_bgnbd, msg);
		}
		else if (kpi_text_key_is(&f, "loglik_gg"))
		{
			bit = 10;
			st = kpi_parse_f64(f.val, f.vallen, &m.loglik_gg, msg);
		}
		if (bit < 0)
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\" in a CLV model.",
							(int) f.keylen, f.key);
		if (st != KPI_OK)
			return st;
		if (seen & (1 << bit))
			return kpi_fail(msg, KPI_ERR_TEXT, "Field \"%.*s\" appears twice.",
							(int) f.keylen, f.key);
		seen |= 1 << bit;
	}
	if (st != KPI_OK)
		return st;
	if (seen != (1 << 11) - 1)
		return kpi_fail(msg, KPI_ERR_TEXT,
						"A CLV model needs r, alpha, a, b, p, q, gamma, customers, repeat_customers, loglik_bgnbd and loglik_gg.");
	if ((st = model_validate(&m, KPI_ERR_TEXT, msg)) != KPI_OK)
		return st;
	m.loglik_bgnbd += 0.0;		/* -0 becomes 0 */
	m.loglik_gg += 0.0;
	*model = m;
	return KPI_OK;
}

/* ---------------------------------------------- orders of many customers */

#define ORDERS_HEADER_SIZE		offsetof(clv_orders, days)
#define ORDERS_ENCODED_HEADER	35
#define ORDER_DAY_ENCODED		28
#define ORDERS_SETTINGS_FLAGS	(CLV_ORDERS_SET | CLV_ORDERS_HASHED | \
								 CLV_ORDERS_OBSERVED | CLV_ORDERS_HORIZON)
#define INTERRUPT_EVERY			1024	/* customers between interrupt checks */

/* Order of purchase days: by customer key, then day. */
static int
order_day_cmp(const void *pa, const void *pb)
{
	const clv_order_day *a = pa;
	const clv_order_day *b = pb;

	if (a->customer != b->customer)
		return a->customer < b->customer ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return 0;
}

/* The flags that stand for a set of settings. */
static uint8_t
settings_flags(const clv_orders_settings *set)
{
	return CLV_ORDERS_SET |
		(set->hashed_keys ? CLV_ORDERS_HASHED : 0) |
		(set->observed ? CLV_ORDERS_OBSERVED : 0) |
		(set->has_horizon ? CLV_ORDERS_HORIZON : 0);
}

/*
 * What differs between a state's settings and `set`, as a noun for a
 * message; NULL when they agree or the state has none yet.
 */
static const char *
settings_difference(const clv_orders *o, const clv_orders_settings *set)
{
	uint8_t		flags = settings_flags(set);

	if (!(o->flags & CLV_ORDERS_SET))
		return NULL;
	if ((o->flags ^ flags) & CLV_ORDERS_HASHED)
		return "kind of customer ids";
	if (((o->flags ^ flags) & CLV_ORDERS_OBSERVED) ||
		(set->observed && o->observed_until != set->observed_until))
		return "observed_until";
	if (((o->flags ^ flags) & CLV_ORDERS_HORIZON) ||
		(set->has_horizon && (o->horizon.months != set->horizon.months ||
							  o->horizon.days != set->horizon.days ||
							  o->horizon.usecs != set->horizon.usecs)))
		return "horizon";
	return NULL;
}

static void
apply_settings(clv_orders *o, const clv_orders_settings *set)
{
	o->flags = (o->flags & CLV_ORDERS_NORMALIZED) | settings_flags(set);
	o->observed_until = set->observed ? set->observed_until : 0;
	if (set->has_horizon)
		o->horizon = set->horizon;
	else
		memset(&o->horizon, 0, sizeof(o->horizon));
}

/* The settings of a state; false for the empty state. */
bool
clv_orders_get_settings(const clv_orders *o, clv_orders_settings *out)
{
	if (!(o->flags & CLV_ORDERS_SET))
		return false;
	memset(out, 0, sizeof(*out));
	out->hashed_keys = (o->flags & CLV_ORDERS_HASHED) != 0;
	out->observed = (o->flags & CLV_ORDERS_OBSERVED) != 0;
	out->observed_until = o->observed_until;
	out->has_horizon = (o->flags & CLV_ORDERS_HORIZON) != 0;
	out->horizon = o->horizon;
	return true;
}

static const buffer_layout orders_layout = {
	ORDERS_HEADER_SIZE, sizeof(clv_order_day), CLV_ORDERS_MAX_DAYS,
	"the orders of a CLV aggregate",
	"A CLV aggregate cannot hold more than %d distinct customer purchase days."
};

/* A new empty state, 40 bytes. */
kpi_status
clv_orders_create(clv_orders **out, const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *buf = NULL;
	kpi_status	st = buffer_alloc(&orders_layout, 0, &buf, mem, msg);

	if (st != KPI_OK)
		return st;
	*out = buf;
	(*out)->flags = CLV_ORDERS_NORMALIZED;
	return KPI_OK;
}

/* Bytes of the buffer. */
size_t
clv_orders_size(const clv_orders *o)
{
	return buffer_size(&orders_layout, o->capacity);
}

/* Whether a buffer of `size` bytes is consistent with its header. */
bool
clv_orders_size_ok(const clv_orders *o, size_t size)
{
	return buffer_size_ok(&orders_layout, o->ndays, o->capacity, size);
}

/*
 * Bring every amount to `scale` decimal places (at least the state's),
 * checking all of them first so that an overflow leaves the state alone.
 */
static kpi_status
orders_rescale(clv_orders *o, int scale, kpi_msg *msg)
{
	int			k = scale - o->amount_scale;

	if (k == 0)
		return KPI_OK;
	for (int32_t i = 0; i < o->ndays; i++)
	{
		__int128	v = o->days[i].amount;

		if (!scale_up(&v, k))
			return amount_overflow(msg);
	}
	for (int32_t i = 0; i < o->ndays; i++)
	{
		__int128	v = o->days[i].amount;

		scale_up(&v, k);
		o->days[i].amount = v;
	}
	o->amount_scale = (uint8_t) scale;
	return KPI_OK;
}

/*
 * Byte b (0 = least significant) of the sort key (customer, day) of a
 * purchase day, with the sign bits flipped so that unsigned byte order is
 * the signed order.
 */
static inline unsigned
order_day_key_byte(const clv_order_day *d, int b)
{
	if (b < 4)
		return (((uint32_t) d->day ^ UINT32_C(0x80000000)) >> (8 * b)) & 0xFF;
	return (((uint64_t) d->customer ^ UINT64_C(0x8000000000000000)) >> (8 * (b - 4))) & 0xFF;
}

/*
 * Sort purchase days by (customer, day): a stable LSD radix sort over the
 * 12 key bytes that skips the bytes all keys share (ids and days vary in
 * few of them), through a scratch buffer from mem; short arrays go to
 * qsort.
 */
static kpi_status
sort_order_days(clv_order_day *days, int32_t n, const kpi_allocator *mem, kpi_msg *msg)
{
	clv_order_day *scratch;
	clv_order_day *src = days;
	clv_order_day *dst;

	if (n < 256)
	{
		qsort(days, (size_t) n, sizeof(clv_order_day), order_day_cmp);
		return KPI_OK;
	}
	scratch = mem->alloc((size_t) n * sizeof(clv_order_day), mem->ctx);
	if (scratch == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for the orders of a CLV aggregate.");
	dst = scratch;
	for (int b = 0; b < 12; b++)
	{
		size_t		start[256] = {0};
		size_t		pos = 0;
		clv_order_day *t;

		for (int32_t i = 0; i < n; i++)
			start[order_day_key_byte(&src[i], b)]++;
		if (start[order_day_key_byte(&src[0], b)] == (size_t) n)
			continue;			/* every key has this byte */
		for (int v = 0; v < 256; v++)
		{
			size_t		count = start[v];

			start[v] = pos;
			pos += count;
		}
		for (int32_t i = 0; i < n; i++)
			dst[start[order_day_key_byte(&src[i], b)]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != days)
		memcpy(days, src, (size_t) n * sizeof(clv_order_day));
	mem->free(scratch, mem->ctx);
	return KPI_OK;
}

/*
 * Sort the purchase days and fold equal (customer, day) pairs.  The sums
 * are checked before anything is folded, so an overflow leaves the value
 * alone (sorted).
 */
static kpi_status
orders_normalize(clv_orders *o, const kpi_allocator *mem, kpi_msg *msg)
{
	int32_t		n = 0;
	kpi_status	st;

	if (o->flags & CLV_ORDERS_NORMALIZED)
		return KPI_OK;
	if ((st = sort_order_days(o->days, o->ndays, mem, msg)) != KPI_OK)
		return st;
	for (int32_t i = 0, j; i < o->ndays; i = j)
	{
		__int128	sum = o->days[i].amount;

		for (j = i + 1; j < o->ndays && order_day_cmp(&o->days[j], &o->days[i]) == 0; j++)
			if (__builtin_add_overflow(sum, (__int128) o->days[j].amount, &sum))
				return amount_overflow(msg);
	}
	for (int32_t i = 0; i < o->ndays; i++)
	{
		if (n > 0 && order_day_cmp(&o->days[n - 1], &o->days[i]) == 0)
			o->days[n - 1].amount = (__int128) o->days[n - 1].amount + o->days[i].amount;
		else
			o->days[n++] = o->days[i];
	}
	memset(&o->days[n], 0, (size_t) (o->ndays - n) * sizeof(clv_order_day));
	o->ndays = n;
	o->flags |= CLV_ORDERS_NORMALIZED;
	return KPI_OK;
}

/*
 * Make room for `extra` more purchase days: when full, normalize first,
 * then double until there is room, and, with `slack` (for one row at a
 * time), until at least half of the buffer is free, so that sorting costs
 * O(log n) per row.
 */
static kpi_status
orders_make_room(clv_orders **op, int64_t extra, bool slack, const kpi_allocator *mem,
				 kpi_msg *msg)
{
	void	   *buf = *op;
	int32_t		cap = 0;
	kpi_status	st;

	if ((*op)->ndays + extra <= (*op)->capacity)
		return KPI_OK;
	if ((st = orders_normalize(*op, mem, msg)) != KPI_OK ||
		(st = buffer_capacity(&orders_layout, (*op)->capacity, (*op)->ndays + extra, 16,
							  slack, &cap, msg)) != KPI_OK)
		return st;
	if (cap == (*op)->capacity)
		return KPI_OK;
	if ((st = buffer_resize(&orders_layout, &buf, (*op)->capacity, cap, mem, msg)) != KPI_OK)
		return st;
	*op = buf;
	(*op)->capacity = cap;
	return KPI_OK;
}

/* Add one order row (see clv_core.h). */
kpi_status
clv_orders_add(clv_orders **op, const clv_orders_settings *set, int64_t customer,
			   int32_t day, __int128 coef, int scale, const kpi_allocator *mem,
			   kpi_msg *msg)
{
	clv_orders *o = *op;
	const char *differs = settings_difference(o, set);
	clv_order_day entry;
	int			common;
	kpi_status	st;

	if (differs != NULL)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"Every row of a CLV aggregate must have the same %s.", differs);
	if ((st = check_scale(scale, msg)) != KPI_OK)
		return st;
	if (set->observed && day > set->observed_until)
	{
		apply_settings(o, set);
		return KPI_OK;
	}
	if (o->orders == INT64_MAX)
		return kpi_fail(msg, KPI_ERR_OVERFLOW, "A CLV aggregate cannot count more than 2^63 orders.");
	common = scale > o->amount_scale ? scale : o->amount_scale;
	if (!scale_up(&coef, common - scale))
		return amount_overflow(msg);
	if ((st = orders_rescale(o, common, msg)) != KPI_OK)
		return st;

	if (o->ndays > 0 && o->days[o->ndays - 1].customer == customer &&
		o->days[o->ndays - 1].day == day)
	{
		/* the usual case for orders listed by customer: the same day again */
		__int128	sum;

		if (__builtin_add_overflow((__int128) o->days[o->ndays - 1].amount, coef, &sum))
			return amount_overflow(msg);
		o->days[o->ndays - 1].amount = sum;
	}
	else
	{
		if ((st = orders_make_room(op, 1, true, mem, msg)) != KPI_OK)
			return st;
		o = *op;
		memset(&entry, 0, sizeof(entry));
		entry.customer = customer;
		entry.day = day;
		entry.amount = coef;
		if (o->ndays > 0 && order_day_cmp(&o->days[o->ndays - 1], &entry) >= 0)
			o->flags &= ~CLV_ORDERS_NORMALIZED;
		o->days[o->ndays++] = entry;
	}
	o->orders++;
	apply_settings(o, set);
	return KPI_OK;
}

/* Merge two states of the same aggregate. */
kpi_status
clv_orders_merge(clv_orders **dstp, const clv_orders *src, const kpi_allocator *mem,
				 kpi_msg *msg)
{
	clv_orders *dst = *dstp;
	clv_orders_settings set;
	const char *differs;
	int			common;
	int64_t		orders;
	bool		sorted;
	kpi_status	st;

	if (!clv_orders_get_settings(src, &set))
		return KPI_OK;
	if ((differs = settings_difference(dst, &set)) != NULL)
		return kpi_fail(msg, KPI_ERR_MISMATCH, "The CLV states have a different %s.", differs);
	if (__builtin_add_overflow(dst->orders, src->orders, &orders))
		return kpi_fail(msg, KPI_ERR_OVERFLOW, "A CLV aggregate cannot count more than 2^63 orders.");
	common = dst->amount_scale > src->amount_scale ? dst->amount_scale : src->amount_scale;
	for (int32_t i = 0; i < src->ndays; i++)
	{
		__int128	v = src->days[i].amount;

		if (!scale_up(&v, common - src->amount_scale))
			return amount_overflow(msg);
	}
	if ((st = orders_rescale(dst, common, msg)) != KPI_OK ||
		(st = orders_make_room(dstp, src->ndays, false, mem, msg)) != KPI_OK)
		return st;
	dst = *dstp;
	/* states of disjoint, ordered key ranges (say, per partition) stay sorted */
	sorted = (dst->flags & CLV_ORDERS_NORMALIZED) && (src->flags & CLV_ORDERS_NORMALIZED) &&
		(dst->ndays == 0 || src->ndays == 0 ||
		 order_day_cmp(&dst->days[dst->ndays - 1], &src->days[0]) < 0);
	for (int32_t i = 0; i < src->ndays; i++)
	{
		__int128	v = src->days[i].amount;

		scale_up(&v, common - src->amount_scale);
		dst->days[dst->ndays] = src->days[i];
		dst->days[dst->ndays++].amount = v;
	}
	if (!sorted)
		dst->flags &= ~CLV_ORDERS_NORMALIZED;
	dst->orders = orders;
	apply_settings(dst, &set);
	return KPI_OK;
}

/* Sort, fold and shrink: the canonical bytes of the value. */
kpi_status
clv_orders_compact(clv_orders **op, const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *buf = *op;
	kpi_status	st;

	if ((st = orders_normalize(*op, mem, msg)) != KPI_OK)
		return st;
	if ((*op)->capacity == (*op)->ndays)
		return KPI_OK;
	if ((st = buffer_resize(&orders_layout, &buf, (*op)->capacity, (*op)->ndays, mem,
							msg)) != KPI_OK)
		return st;
	*op = buf;
	(*op)->capacity = (*op)->ndays;
	return KPI_OK;
}

/* Size of the binary form. */
size_t
clv_orders_encoded_size(const clv_orders *o)
{
	return ORDERS_ENCODED_HEADER + (size_t) o->ndays * ORDER_DAY_ENCODED;
}

/* Write the binary form. */
void
clv_orders_encode(const clv_orders *o, kpi_writer *w)
{
	kpi_put_u8(w, KPI_STATE_VERSION);
	kpi_put_u8(w, o->flags & ORDERS_SETTINGS_FLAGS);
	kpi_put_u8(w, o->amount_scale);
	kpi_put_u32(w, (uint32_t) o->observed_until);
	kpi_put_u32(w, (uint32_t) o->horizon.months);
	kpi_put_u32(w, (uint32_t) o->horizon.days);
	kpi_put_i64(w, o->horizon.usecs);
	kpi_put_i64(w, o->orders);
	kpi_put_u32(w, (uint32_t) o->ndays);
	for (int32_t i = 0; i < o->ndays; i++)
	{
		kpi_put_i64(w, o->days[i].customer);
		kpi_put_u32(w, (uint32_t) o->days[i].day);
		kpi_put_i128(w, o->days[i].amount);
	}
}

/*
 * The settings of a decoded or parsed header, checked; err is BINARY or
 * TEXT.  *set is left zeroed for the empty state.
 */
static kpi_status
check_settings(uint8_t flags, int32_t observed_until, const clv_horizon *horizon,
			   clv_orders_settings *set, kpi_status err, kpi_msg *msg)
{
	memset(set, 0, sizeof(*set));
	if (flags & ~ORDERS_SETTINGS_FLAGS)
		return kpi_fail(msg, err, "Unknown flags %d in the orders of a CLV aggregate.", (int) flags);
	if (!(flags & CLV_ORDERS_SET) && flags != 0)
		return kpi_fail(msg, err, "An empty CLV aggregate state has settings.");
	if ((!(flags & CLV_ORDERS_OBSERVED) && observed_until != 0) ||
		(!(flags & CLV_ORDERS_HORIZON) &&
		 (horizon->months != 0 || horizon->days != 0 || horizon->usecs != 0)))
		return kpi_fail(msg, err, "A CLV aggregate state has a value for a setting it does not have.");
	set->hashed_keys = (flags & CLV_ORDERS_HASHED) != 0;
	set->observed = (flags & CLV_ORDERS_OBSERVED) != 0;
	set->observed_until = observed_until;
	set->has_horizon = (flags & CLV_ORDERS_HORIZON) != 0;
	set->horizon = *horizon;
	return KPI_OK;
}

/*
 * Finish a decoded or parsed state whose days were added with
 * clv_orders_add (one order each): check the day count against the
 * declared orders, set those, compact.  Frees the state on error.
 */
static kpi_status
orders_finish_input(clv_orders **op, bool empty, int64_t orders, kpi_status err,
					const kpi_allocator *mem, kpi_msg *msg)
{
	kpi_status	st = clv_orders_compact(op, mem, msg);

	if (st == KPI_OK && (orders < (*op)->ndays || (empty && orders != 0)))
		st = kpi_fail(msg, err, "A CLV aggregate state counts fewer orders than purchase days.");
	else if (st == KPI_ERR_OVERFLOW)
		st = kpi_fail(msg, err, "The amounts of a CLV aggregate state are out of range.");
	if (st != KPI_OK)
	{
		mem->free(*op, mem->ctx);
		return st;
	}
	(*op)->orders = orders;
	return KPI_OK;
}

/* Add one decoded or parsed purchase day, which must be observed. */
static kpi_status
orders_input_day(clv_orders **op, const clv_orders_settings *set, int64_t customer,
				 int32_t day, __int128 coef, int scale, kpi_status err,
				 const kpi_allocator *mem, kpi_msg *msg)
{
	kpi_status	st;

	if (set->observed && day > set->observed_until)
		return kpi_fail(msg, err, "A purchase day of a CLV aggregate state is after its observed_until.");
	st = clv_orders_add(op, set, customer, day, coef, scale, mem, msg);
	if (st == KPI_ERR_PARAM || st == KPI_ERR_OVERFLOW)
		return kpi_fail(msg, err, "An amount of a CLV aggregate state is out of range.");
	return st;
}

/* Read, validate and compact the binary form. */
kpi_status
clv_orders_decode(kpi_reader *r, const kpi_allocator *mem, clv_orders **out, kpi_msg *msg)
{
	clv_orders *o;
	clv_orders_settings set;
	clv_horizon horizon;
	uint8_t		version;
	uint8_t		flags;
	uint8_t		scale;
	int32_t		observed;
	int64_t		orders;
	uint32_t	ndays;
	kpi_status	st;

	version = kpi_get_u8(r);
	if (!r->failed && version != KPI_STATE_VERSION)
		return version_error(version, "CLV aggregate state", msg);
	flags = kpi_get_u8(r);
	scale = kpi_get_u8(r);
	observed = (int32_t) kpi_get_u32(r);
	horizon.months = (int32_t) kpi_get_u32(r);
	horizon.days = (int32_t) kpi_get_u32(r);
	horizon.usecs = kpi_get_i64(r);
	orders = kpi_get_i64(r);
	ndays = kpi_get_u32(r);
	if (r->failed || ndays > CLV_ORDERS_MAX_DAYS ||
		r->len - r->pos < (size_t) ndays * ORDER_DAY_ENCODED)
		return kpi_fail(msg, KPI_ERR_BINARY, "The CLV aggregate state is truncated.");
	if ((st = check_settings(flags, observed, &horizon, &set, KPI_ERR_BINARY, msg)) != KPI_OK)
		return st;
	if (scale > CLV_MAX_AMOUNT_SCALE || (ndays == 0 && scale != 0) ||
		(!(flags & CLV_ORDERS_SET) && ndays != 0))
		return kpi_fail(msg, KPI_ERR_BINARY, "The CLV aggregate state is inconsistent.");
	if ((st = clv_orders_create(&o, mem, msg)) != KPI_OK)
		return st;
	if (flags & CLV_ORDERS_SET)
		apply_settings(o, &set);
	for (uint32_t i = 0; i < ndays; i++)
	{
		int64_t		customer = kpi_get_i64(r);
		int32_t		day = (int32_t) kpi_get_u32(r);
		__int128	amount = kpi_get_i128(r);

		if ((st = orders_input_day(&o, &set, customer, day, amount, scale,
								   KPI_ERR_BINARY, mem, msg)) != KPI_OK)
		{
			mem->free(o, mem->ctx);
			return st;
		}
	}
	if ((st = orders_finish_input(&o, !(flags & CLV_ORDERS_SET), orders, KPI_ERR_BINARY,
								  mem, msg)) != KPI_OK)
		return st;
	*out = o;
	return KPI_OK;
}

/* Append the text form. */
void
clv_orders_format(const clv_orders *o, kpi_strbuf *sb)
{
	kpi_strbuf_appendf(sb, "(v:%d", KPI_STATE_VERSION);
	if (o->flags & CLV_ORDERS_SET)
	{
		kpi_strbuf_append(sb, (o->flags & CLV_ORDERS_HASHED) ? ",keys:hash" : ",keys:int");
		if (o->flags & CLV_ORDERS_OBSERVED)
			kpi_strbuf_appendf(sb, ",observed_until:%d", (int) o->observed_until);
		if (o->flags & CLV_ORDERS_HORIZON)
			kpi_strbuf_appendf(sb, ",horizon:[%d,%d,%lld]", (int) o->horizon.months,
							   (int) o->horizon.days, (long long) o->horizon.usecs);
		kpi_strbuf_appendf(sb, ",orders:%lld,days:[", (long long) o->orders);
		for (int32_t i = 0; i < o->ndays; i++)
		{
			kpi_strbuf_appendf(sb, "%s(%lld,%d,", i == 0 ? "" : ",",
							   (long long) o->days[i].customer, (int) o->days[i].day);
			kpi_strbuf_append_decimal(sb, o->days[i].amount, o->amount_scale);
			kpi_strbuf_append(sb, ")");
		}
		kpi_strbuf_append(sb, "]");
	}
	kpi_strbuf_append(sb, ")");
}

/* The fields of an orders text form, as read. */
typedef struct orders_text
{
	int			seen;			/* ORDERS_F_* */
	bool		hashed;
	int32_t		observed_until;
	clv_horizon horizon;
	int64_t		orders;
	kpi_text_field days;
} orders_text;

#define ORDERS_F_KEYS		0x01
#define ORDERS_F_OBSERVED	0x02
#define ORDERS_F_HORIZON	0x04
#define ORDERS_F_ORDERS		0x08
#define ORDERS_F_DAYS		0x10

/* A horizon "[months,days,usecs]". */
static kpi_status
parse_horizon(const kpi_text_field *f, clv_horizon *h, kpi_msg *msg)
{
	kpi_list_reader lr;
	const char *item[3];
	size_t		len[3];
	int			n = 0;
	kpi_status	st;

	if ((st = kpi_list_open(&lr, f->val, f->vallen, '[', ']', msg)) != KPI_OK)
		return st;
	while (n < 3 && kpi_list_next(&lr, &item[n], &len[n], &st, msg))
		n++;
	if (st != KPI_OK)
		return st;
	if (n != 3 || kpi_list_next(&lr, &item[0], &len[0], &st, msg))
		return kpi_fail(msg, KPI_ERR_TEXT, "A horizon is written as \"[months,days,usecs]\".");
	if ((st = parse_i32(item[0], len[0], &h->months, msg)) != KPI_OK ||
		(st = parse_i32(item[1], len[1], &h->days, msg)) != KPI_OK)
		return st;
	return kpi_parse_i64(item[2], len[2], &h->usecs, msg);
}

/* Read the fields of an orders text form (the days list is kept as text). */
static kpi_status
parse_orders_fields(kpi_text_reader *tr, orders_text *ot, kpi_msg *msg)
{
	kpi_text_field f;
	kpi_status	st;

	memset(ot, 0, sizeof(*ot));
	while (kpi_text_next_field(tr, &f, &st, msg))
	{
		int			bit;

		if (kpi_text_key_is(&f, "keys"))
		{
			bit = ORDERS_F_KEYS;
			ot->hashed = f.vallen == 4 && memcmp(f.val, "hash", 4) == 0;
			if (!ot->hashed && !(f.vallen == 3 && memcmp(f.val, "int", 3) == 0))
				return kpi_fail(msg, KPI_ERR_TEXT, "The keys of a CLV aggregate state are \"int\" or \"hash\".");
		}
		else if (kpi_text_key_is(&f, "observed_until"))
		{
			bit = ORDERS_F_OBSERVED;
			st = parse_i32(f.val, f.vallen, &ot->observed_until, msg);
		}
		else if (kpi_text_key_is(&f, "horizon"))
		{
			bit = ORDERS_F_HORIZON;
			st = parse_horizon(&f, &ot->horizon, msg);
		}
		else if (kpi_text_key_is(&f, "orders"))
		{
			bit = ORDERS_F_ORDERS;
			st = kpi_parse_i64(f.val, f.vallen, &ot->orders, msg);
		}
		else if (kpi_text_key_is(&f, "days"))
		{
			bit = ORDERS_F_DAYS;
			ot->days = f;
		}
		else
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\" in a CLV aggregate state.",
							(int) f.keylen, f.key);
		if (st != KPI_OK)
			return st;
		if (ot->seen & bit)
			return kpi_fail(msg, KPI_ERR_TEXT, "Field \"%.*s\" appears twice.",
							(int) f.keylen, f.key);
		ot->seen |= bit;
	}
	if (st != KPI_OK)
		return st;
	if (ot->seen != 0 &&
		(ot->seen & (ORDERS_F_KEYS | ORDERS_F_ORDERS | ORDERS_F_DAYS)) !=
		(ORDERS_F_KEYS | ORDERS_F_ORDERS | ORDERS_F_DAYS))
		return kpi_fail(msg, KPI_ERR_TEXT, "A CLV aggregate state needs keys, orders and days.");
	return KPI_OK;
}

/* Add the "(customer,day,amount)" items of the days list. */
static kpi_status
parse_orders_days(const kpi_text_field *f, const clv_orders_settings *set, clv_orders **op,
				  const kpi_allocator *mem, kpi_msg *msg)
{
	kpi_list_reader lr;
	const char *item;
	size_t		itemlen;
	kpi_status	st;

	if ((st = kpi_list_open(&lr, f->val, f->vallen, '[', ']', msg)) != KPI_OK)
		return st;
	while (kpi_list_next(&lr, &item, &itemlen, &st, msg))
	{
		kpi_list_reader ir;
		const char *v[3];
		size_t		vlen[3];
		int			n = 0;
		int64_t		customer = 0;
		int32_t		day = 0;
		__int128	coef = 0;
		int			scale = 0;

		if ((st = kpi_list_open(&ir, item, itemlen, '(', ')', msg)) != KPI_OK)
			return st;
		while (n < 3 && kpi_list_next(&ir, &v[n], &vlen[n], &st, msg))
			n++;
		if (st != KPI_OK)
			return st;
		if (n != 3 || kpi_list_next(&ir, &v[0], &vlen[0], &st, msg))
			return kpi_fail(msg, KPI_ERR_TEXT,
							"A purchase day of a CLV aggregate state is written as \"(customer,day,amount)\".");
		if ((st = kpi_parse_i64(v[0], vlen[0], &customer, msg)) != KPI_OK ||
			(st = parse_i32(v[1], vlen[1], &day, msg)) != KPI_OK ||
			(st = kpi_parse_decimal(v[2], vlen[2], &coef, &scale, msg)) != KPI_OK ||
			(st = orders_input_day(op, set, customer, day, coef, scale, KPI_ERR_TEXT,
								   mem, msg)) != KPI_OK)
			return st;
	}
	return st;
}

/* Read, validate and compact the text form. */
kpi_status
clv_orders_parse(const char *text, const kpi_allocator *mem, clv_orders **out,
				 kpi_msg *msg)
{
	kpi_text_reader tr;
	orders_text ot;
	clv_orders_settings set;
	clv_orders *o;
	uint8_t		flags;
	kpi_status	st;

	if ((st = kpi_text_open_state(&tr, text, msg)) != KPI_OK ||
		(st = parse_orders_fields(&tr, &ot, msg)) != KPI_OK)
		return st;
	flags = ot.seen == 0 ? 0 : CLV_ORDERS_SET |
		(ot.hashed ? CLV_ORDERS_HASHED : 0) |
		((ot.seen & ORDERS_F_OBSERVED) ? CLV_ORDERS_OBSERVED : 0) |
		((ot.seen & ORDERS_F_HORIZON) ? CLV_ORDERS_HORIZON : 0);
	if ((st = check_settings(flags, ot.observed_until, &ot.horizon, &set, KPI_ERR_TEXT,
							 msg)) != KPI_OK ||
		(st = clv_orders_create(&o, mem, msg)) != KPI_OK)
		return st;
	if (flags != 0)
	{
		apply_settings(o, &set);
		if ((st = parse_orders_days(&ot.days, &set, &o, mem, msg)) != KPI_OK)
		{
			mem->free(o, mem->ctx);
			return st;
		}
	}
	if ((st = orders_finish_input(&o, flags == 0, ot.orders, KPI_ERR_TEXT, mem, msg)) != KPI_OK)
		return st;
	*out = o;
	return KPI_OK;
}

/*
 * The purchase days of a state sorted by customer and day: the state's own
 * when it is normalized, else a sorted copy in *copy (which the caller
 * frees), in which equal (customer, day) pairs may still repeat.
 */
static kpi_status
orders_sorted_days(const clv_orders *o, const kpi_allocator *mem,
				   const clv_order_day **days, clv_order_day **copy, kpi_msg *msg)
{
	kpi_status	st;

	*copy = NULL;
	*days = o->days;
	if (o->flags & CLV_ORDERS_NORMALIZED)
		return KPI_OK;
	*copy = mem->alloc((size_t) o->ndays * sizeof(clv_order_day), mem->ctx);
	if (*copy == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for the orders of a CLV aggregate.");
	memcpy(*copy, o->days, (size_t) o->ndays * sizeof(clv_order_day));
	*days = *copy;
	if ((st = sort_order_days(*copy, o->ndays, mem, msg)) != KPI_OK)
	{
		mem->free(*copy, mem->ctx);
		*copy = NULL;
	}
	return st;
}

/* The end of observation: observed_until, else the latest purchase day. */
static int32_t
orders_end(const clv_orders *o)
{
	int32_t		end = INT32_MIN;

	if (o->flags & CLV_ORDERS_OBSERVED)
		return o->observed_until;
	for (int32_t i = 0; i < o->ndays; i++)
		end = o->days[i].day > end ? o->days[i].day : end;
	return end;
}

/* Summaries of every customer of a state. */
kpi_status
clv_orders_summaries(const clv_orders *o, const kpi_allocator *mem, clv_summary **out,
					 int32_t *n, kpi_msg *msg)
{
	const clv_order_day *days;
	clv_order_day *copy;
	clv_summary *sums = NULL;
	int32_t		count = 0;
	int32_t		end = orders_end(o);
	kpi_status	st;

	*out = NULL;
	*n = 0;
	if (o->ndays == 0)
		return KPI_OK;
	if ((st = orders_sorted_days(o, mem, &days, &copy, msg)) != KPI_OK)
		return st;
	for (int32_t i = 0; i < o->ndays; i++)
		count += i == 0 || days[i].customer != days[i - 1].customer;
	sums = mem->alloc((size_t) count * sizeof(clv_summary), mem->ctx);
	if (sums == NULL)
		st = kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for the orders of a CLV aggregate.");
	count = 0;
	for (int32_t i = 0; st == KPI_OK && i < o->ndays;)
	{
		int32_t		j = i;
		int32_t		ndistinct = 0;
		__int128	first = 0;
		__int128	total = 0;

		for (; j < o->ndays && days[j].customer == days[i].customer; j++)
		{
			ndistinct += j == i || days[j].day != days[j - 1].day;
			if ((days[j].day == days[i].day &&
				 __builtin_add_overflow(first, (__int128) days[j].amount, &first)) ||
				__builtin_add_overflow(total, (__int128) days[j].amount, &total))
				st = amount_overflow(msg);
		}
		if (st == KPI_OK)
			st = summarize(days[i].day, days[j - 1].day, ndistinct, first, total,
						   o->amount_scale, end, &sums[count++], msg);
		i = j;
	}
	if (copy != NULL)
		mem->free(copy, mem->ctx);
	if (st != KPI_OK)
	{
		if (sums != NULL)
			mem->free(sums, mem->ctx);
		return st;
	}
	*out = sums;
	*n = count;
	return KPI_OK;
}

/* The summaries and the fitted model of a state. */
static kpi_status
orders_fit(const clv_orders *o, const kpi_allocator *mem, clv_interrupt_fn interrupt,
		   void *interrupt_arg, clv_summary **sums, int32_t *n, clv_model *model,
		   clv_fit_outcome *outcome, kpi_msg *msg)
{
	clv_fitdata *fd;
	kpi_status	st;

	if ((st = clv_orders_summaries(o, mem, sums, n, msg)) != KPI_OK)
		return st;
	if ((st = clv_fitdata_create(&fd, mem, msg)) == KPI_OK)
	{
		for (int32_t i = 0; st == KPI_OK && i < *n; i++)
			st = clv_fitdata_add(&fd, &(*sums)[i], mem, msg);
		if (st == KPI_OK)
			st = clv_fit(fd, mem, interrupt, interrupt_arg, model, outcome, msg);
		mem->free(fd, mem->ctx);
	}
	if (st != KPI_OK && *sums != NULL)
		mem->free(*sums, mem->ctx);
	return st;
}

/* Fit the model on every customer of a state. */
kpi_status
clv_orders_fit(const clv_orders *o, const kpi_allocator *mem, clv_interrupt_fn interrupt,
			   void *interrupt_arg, clv_model *model, clv_fit_outcome *outcome, kpi_msg *msg)
{
	clv_summary *sums;
	int32_t		n;
	kpi_status	st = orders_fit(o, mem, interrupt, interrupt_arg, &sums, &n, model,
								outcome, msg);

	if (st == KPI_OK && sums != NULL)
		mem->free(sums, mem->ctx);
	return st;
}

/* Fit, then the mean CLV of the state's customers. */
kpi_status
clv_orders_mean_value(const clv_orders *o, int months, double monthly_discount,
					  const kpi_allocator *mem, clv_interrupt_fn interrupt,
					  void *interrupt_arg, double *mean, clv_fit_outcome *outcome,
					  kpi_msg *msg)
{
	clv_summary *sums;
	int32_t		n;
	clv_model	model;
	double		total = 0.0;
	kpi_status	st;

	if ((st = check_value_params(months, monthly_discount, msg)) != KPI_OK ||
		(st = orders_fit(o, mem, interrupt, interrupt_arg, &sums, &n, &model, outcome,
						 msg)) != KPI_OK)
		return st;
	for (int32_t i = 0; *outcome == CLV_FIT_OK && i < n; i++)
	{
		double		v;

		if (interrupt != NULL && i % INTERRUPT_EVERY == 0)
			interrupt(interrupt_arg);
		clv_value(&model, &sums[i], months, monthly_discount, &v, NULL);
		total += v;
	}
	if (*outcome == CLV_FIT_OK)
		*mean = total / n;
	if (sums != NULL)
		mem->free(sums, mem->ctx);
	return KPI_OK;
}

/* Customers, orders, revenue and observation period of a state. */
kpi_status
clv_orders_get_totals(const clv_orders *o, const kpi_allocator *mem,
					  clv_orders_totals *out, bool *found, kpi_msg *msg)
{
	const clv_order_day *days;
	clv_order_day *copy;
	clv_orders_totals t;
	kpi_status	st;

	*found = false;
	if (o->ndays == 0)
		return KPI_OK;
	if ((st = orders_sorted_days(o, mem, &days, &copy, msg)) != KPI_OK)
		return st;
	memset(&t, 0, sizeof(t));
	t.orders = o->orders;
	t.scale = o->amount_scale;
	t.first_day = INT32_MAX;
	t.end_day = orders_end(o);
	for (int32_t i = 0; i < o->ndays; i++)
	{
		t.customers += i == 0 || days[i].customer != days[i - 1].customer;
		t.first_day = days[i].day < t.first_day ? days[i].day : t.first_day;
		if (__builtin_add_overflow(t.revenue, (__int128) days[i].amount, &t.revenue))
		{
			st = kpi_fail(msg, KPI_ERR_OVERFLOW,
						  "The amounts of a CLV aggregate add up to more than 38 significant digits.");
			break;
		}
	}
	if (copy != NULL)
		mem->free(copy, mem->ctx);
	if (st != KPI_OK)
		return st;
	*out = t;
	*found = true;
	return KPI_OK;
}
