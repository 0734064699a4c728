/*-------------------------------------------------------------------------
 *
 * custset_kpi.c
 *	  Retention, cohort, repeat-purchase and distinct-order KPIs on custsets
 *	  (see custset_kpi.h).
 *
 * IDENTIFICATION
 *	  src/core/custset_kpi.c
 *
 *-------------------------------------------------------------------------
 */
#include "custset_kpi.h"

#include <stdlib.h>
#include <string.h>

kpi_status
custset_type_mismatch(const custset *s, custset_type want, kpi_msg *msg)
{
	return kpi_fail(msg, KPI_ERR_PARAM, "The customer set has type %d, not %d.",
					(int) s->type, (int) want);
}

/* KPI_OK when s is a set of type want. */
static kpi_status
wrong_type(const custset *s, custset_type want, kpi_msg *msg)
{
	return s->type == want ? KPI_OK : custset_type_mismatch(s, want, msg);
}

/* ------------------------------------------------------------ retention */

kpi_status
custset_retention_counts(const custset *s, const kpi_allocator *mem,
						 custset_retention *out, kpi_msg *msg)
{
	custset_iter *it;
	custset_record rec;
	kpi_status	status = wrong_type(s, CUSTSET_RETENTION, msg);

	if (status != KPI_OK)
		return status;
	memset(out, 0, sizeof(*out));
	status = custset_iter_begin(s, mem, &it, msg);
	if (status != KPI_OK)
		return status;
	while (custset_iter_next(it, &rec))
	{
		if (rec.payload == (CUSTSET_BEFORE | CUSTSET_AFTER))
			out->retained++;
		else if (rec.payload == CUSTSET_BEFORE)
			out->churned++;
		else
			out->new_customers++;
	}
	out->base = out->retained + out->churned;
	return custset_iter_end(it, msg);
}

bool
custset_retention_rate(const custset_retention *r, double *rate)
{
	if (r->base == 0)
		return false;
	*rate = (double) r->retained / (double) r->base;
	return true;
}

bool
custset_churn_rate(const custset_retention *r, double *rate)
{
	if (r->base == 0)
		return false;
	*rate = (double) r->churned / (double) r->base;
	return true;
}

/* ------------------------------------------------------------ cohorts */

/*
 * Counts per (cohort, offset) cell in an open-addressing hash table; a
 * count of 0 marks a free entry.
 */
typedef struct cell_table
{
	custset_cohort_row *cells;
	size_t		cap;			/* a power of two */
	size_t		n;
	const kpi_allocator *mem;
} cell_table;

static size_t
cell_hash(int32_t cohort, int32_t offset, size_t cap)
{
	uint64_t	h = ((uint64_t) (uint32_t) cohort << 32 | (uint32_t) offset) * 0x9E3779B97F4A7C15ULL;

	return (size_t) (h >> 17) & (cap - 1);
}

static bool
cell_table_resize(cell_table *t, size_t cap)
{
	custset_cohort_row *cells = t->mem->alloc(cap * sizeof(custset_cohort_row), t->mem->ctx);

	if (cells == NULL)
		return false;
	memset(cells, 0, cap * sizeof(custset_cohort_row));
	for (size_t i = 0; i < t->cap; i++)
	{
		const custset_cohort_row *c = &t->cells[i];
		size_t		h;

		if (c->active_customers == 0)
			continue;
		for (h = cell_hash(c->cohort, c->offset, cap); cells[h].active_customers != 0;)
			h = (h + 1) & (cap - 1);
		cells[h] = *c;
	}
	if (t->cells != NULL)
		t->mem->free(t->cells, t->mem->ctx);
	t->cells = cells;
	t->cap = cap;
	return true;
}

static bool
cell_table_bump(cell_table *t, int32_t cohort, int32_t offset)
{
	size_t		h;

	if (2 * (t->n + 1) > t->cap && !cell_table_resize(t, t->cap * 2))
		return false;
	for (h = cell_hash(cohort, offset, t->cap); t->cells[h].active_customers != 0;
		 h = (h + 1) & (t->cap - 1))
	{
		if (t->cells[h].cohort == cohort && t->cells[h].offset == offset)
		{
			t->cells[h].active_customers++;
			return true;
		}
	}
	t->cells[h].cohort = cohort;
	t->cells[h].offset = offset;
	t->cells[h].active_customers = 1;
	t->n++;
	return true;
}

static int
cell_compare(const void *a, const void *b)
{
	const custset_cohort_row *x = a;
	const custset_cohort_row *y = b;

	if (x->cohort != y->cohort)
		return x->cohort < y->cohort ? -1 : 1;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

kpi_status
custset_cohort_table(const custset *s, const kpi_allocator *mem,
					 custset_cohort_row **rows, size_t *nrows, int32_t *last_period,
					 kpi_msg *msg)
{
	cell_table	t = {NULL, 0, 0, mem};
	custset_iter *it;
	custset_record rec;
	custset_key customer = {CUSTSET_KIND_NONE, 0, NULL, 0};
	int64_t		cohort = 0;
	size_t		out = 0;
	kpi_status	status = wrong_type(s, CUSTSET_COHORT, msg);

	*rows = NULL;
	*nrows = 0;
	*last_period = 0;
	if (status != KPI_OK)
		return status;
	if (!cell_table_resize(&t, 64))
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for the cohort table.");
	status = custset_iter_begin(s, mem, &it, msg);
	if (status != KPI_OK)
	{
		mem->free(t.cells, mem->ctx);
		return status;
	}
	/* records come by customer, periods ascending: the first is the cohort */
	while (custset_iter_next(it, &rec))
	{
		int64_t		offset;

		if (customer.kind == CUSTSET_KIND_NONE || custset_key_compare(&rec.key, &customer) != 0)
		{
			customer = rec.key;
			cohort = rec.key2.value;
		}
		offset = rec.key2.value - cohort;
		if (t.n == 0 || rec.key2.value > *last_period)
			*last_period = (int32_t) rec.key2.value;
		if (offset > INT32_MAX)
		{
			status = kpi_fail(msg, KPI_ERR_OVERFLOW, "Period offset %lld is out of range.",
							  (long long) offset);
			break;
		}
		if (!cell_table_bump(&t, (int32_t) cohort, (int32_t) offset))
		{
			status = kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for the cohort table.");
			break;
		}
	}
	if (status == KPI_OK)
		status = custset_iter_end(it, msg);
	else
		custset_iter_end(it, NULL);
	if (status != KPI_OK)
	{
		mem->free(t.cells, mem->ctx);
		return status;
	}

	/* pack, sort, and copy each cohort's size from its offset-0 cell */
	for (size_t i = 0; i < t.cap; i++)
		if (t.cells[i].active_customers != 0)
			t.cells[out++] = t.cells[i];
	if (out == 0)
	{
		mem->free(t.cells, mem->ctx);
		return KPI_OK;
	}
	qsort(t.cells, out, sizeof(custset_cohort_row), cell_compare);
	for (size_t i = 0; i < out; i++)
		t.cells[i].cohort_customers = t.cells[i].offset == 0 ? t.cells[i].active_customers :
			t.cells[i - 1].cohort_customers;
	*rows = t.cells;
	*nrows = out;
	return KPI_OK;
}

/* ------------------------------------------------------------ repeat purchases */

kpi_status
custset_repeat_counts(const custset *s, const kpi_allocator *mem, custset_repeat *out,
					  kpi_msg *msg)
{
	custset_iter *it;
	custset_record rec;
	custset_key customer = {CUSTSET_KIND_NONE, 0, NULL, 0};
	int64_t		orders = 0;		/* of the current customer */
	kpi_status	status;

	if (s->type != CUSTSET_ORDER_COUNT && s->type != CUSTSET_CUSTOMER_ORDER)
		return wrong_type(s, CUSTSET_ORDER_COUNT, msg);
	memset(out, 0, sizeof(*out));
	status = custset_iter_begin(s, mem, &it, msg);
	if (status != KPI_OK)
		return status;
	while (custset_iter_next(it, &rec))
	{
		/* a row count, or one more distinct order of the same customer */
		int64_t		n = s->type == CUSTSET_ORDER_COUNT ? (int64_t) rec.payload : 1;

		if (customer.kind == CUSTSET_KIND_NONE || custset_key_compare(&rec.key, &customer) != 0)
		{
			customer = rec.key;
			out->customers++;
			orders = 0;
		}
		if (orders < 2 && orders + n >= 2)
			out->repeat_customers++;
		orders += n;
		if (n > INT64_MAX - out->orders)
		{
			custset_iter_end(it, NULL);
			return kpi_fail(msg, KPI_ERR_OVERFLOW, "The number of orders exceeds %lld.",
							(long long) INT64_MAX);
		}
		out->orders += n;
	}
	return custset_iter_end(it, msg);
}

bool
custset_repeat_rate(const custset_repeat *r, double *rate)
{
	if (r->customers == 0)
		return false;
	*rate = (double) r->repeat_customers / (double) r->customers;
	return true;
}

bool
custset_purchase_frequency(const custset_repeat *r, double *freq)
{
	if (r->customers == 0)
		return false;
	*freq = (double) r->orders / (double) r->customers;
	return true;
}

/* ------------------------------------------------------------ distinct orders */

kpi_status
custset_orders_count(const custset *s, const kpi_allocator *mem, int64_t *count,
					 kpi_msg *msg)
{
	custset_iter *it;
	custset_record rec;
	kpi_status	status = wrong_type(s, CUSTSET_ORDERS, msg);

	if (status != KPI_OK)
		return status;
	*count = 0;
	if (custset_table_is_empty(s))
	{
		/* the body's records are distinct: ascending ids never leave it */
		*count = s->nrecords;
		return KPI_OK;
	}
	status = custset_iter_begin(s, mem, &it, msg);
	if (status != KPI_OK)
		return status;
	while (custset_iter_next(it, &rec))
		(*count)++;
	return custset_iter_end(it, msg);
}

/* ------------------------------------------------------------ periods */

static const char *const period_names[] = {"none", "day", "week", "month", "quarter", "year"};

kpi_status
custset_period_parse(const char *name, size_t len, custset_period *out, kpi_msg *msg)
{
	for (int p = CUSTSET_PERIOD_DAY; p <= CUSTSET_PERIOD_YEAR; p++)
	{
		const char *want = period_names[p];
		size_t		i = 0;

		while (i < len && want[i] != '\0' &&
			   (name[i] == want[i] || name[i] == want[i] - 'a' + 'A'))
			i++;
		if (i == len && want[i] == '\0')
		{
			*out = (custset_period) p;
			return KPI_OK;
		}
	}
	return kpi_fail(msg, KPI_ERR_PARAM,
					"The period must be day, week, month, quarter or year, not \"%.*s\".",
					(int) (len < 40 ? len : 40), name);
}

const char *
custset_period_name(custset_period period)
{
	return period_names[period];
}

/* Floor division for a positive divisor. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* Year, month (1..12) of a day since 1970-01-01 (H. Hinnant's civil_from_days). */
static void
civil_from_days(int64_t z, int64_t *year, int *month)
{
	int64_t		era,
				doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*month = (int) (mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

/* Days since 1970-01-01 of the first of a month (days_from_civil). */
static int64_t
days_from_civil(int64_t year, int month)
{
	int64_t		y = year - (month <= 2);
	int64_t		era = floor_div(y, 400);
	int64_t		yoe = y - era * 400;
	int64_t		doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5;
	int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int32_t
custset_period_of_day(custset_period period, int32_t day)
{
	int64_t		year;
	int			month;

	switch (period)
	{
		case CUSTSET_PERIOD_DAY:
			return day;
		case CUSTSET_PERIOD_WEEK:
			/* 1970-01-01 was a Thursday: Monday 1969-12-29 starts week 0 */
			return (int32_t) floor_div((int64_t) day + 3, 7);
		default:
			break;
	}
	civil_from_days(day, &year, &month);
	if (period == CUSTSET_PERIOD_MONTH)
		return (int32_t) (year * 12 + month - 1);
	if (period == CUSTSET_PERIOD_QUARTER)
		return (int32_t) (year * 4 + (month - 1) / 3);
	return (int32_t) year;
}

int64_t
custset_period_first_day(custset_period period, int32_t index)
{
	switch (period)
	{
		case CUSTSET_PERIOD_DAY:
			return index;
		case CUSTSET_PERIOD_WEEK:
			return (int64_t) index * 7 - 3;
		case CUSTSET_PERIOD_MONTH:
			return days_from_civil(floor_div(index, 12), (int) (index - floor_div(index, 12) * 12) + 1);
		case CUSTSET_PERIOD_QUARTER:
			return days_from_civil(floor_div(index, 4), (int) (index - floor_div(index, 4) * 4) * 3 + 1);
		default:
			return days_from_civil(index, 1);
	}
}

#define USECS_PER_DAY INT64_C(86400000000)

/* The first microsecond of period index after epoch_day, clamped to int64. */
static int64_t
period_start_usecs(custset_period period, int32_t index, int32_t epoch_day)
{
	int64_t		days = custset_period_first_day(period, index) - epoch_day;
	int64_t		usecs;

	if (__builtin_mul_overflow(days, USECS_PER_DAY, &usecs))
		return days < 0 ? INT64_MIN : INT64_MAX;
	return usecs;
}

int32_t
custset_period_of_usecs(custset_period period, int64_t usecs, int32_t epoch_day,
						int64_t *lower, int64_t *upper)
{
	int32_t		index = custset_period_of_day(period,
											  (int32_t) (floor_div(usecs, USECS_PER_DAY) + epoch_day));

	/* index + 1 cannot overflow: days in int32 have periods far within */
	*lower = period_start_usecs(period, index, epoch_day);
	*upper = period_start_usecs(period, index + 1, epoch_day);
	return index;
}

/* ------------------------------------------------------------ SQL state types */

/* The set type and extra bytes of each SQL state type. */
static custset_type
state_set_type(custset_state which)
{
	static const custset_type types[] = {
		[CUSTSET_STATE_RETENTION] = CUSTSET_RETENTION,
		[CUSTSET_STATE_COHORT] = CUSTSET_COHORT,
		[CUSTSET_STATE_REPEAT] = CUSTSET_ORDER_COUNT,
		[CUSTSET_STATE_AOV_LINES] = CUSTSET_ORDERS,
	};

	return types[which];
}

static size_t
state_extra_size(custset_state which)
{
	if (which == CUSTSET_STATE_COHORT)
		return sizeof(custset_cohort_extra);
	if (which == CUSTSET_STATE_AOV_LINES)
		return sizeof(aov_core);
	return 0;
}

kpi_status
custset_state_create(custset_state which, custset_type type, const kpi_allocator *mem,
					 custset **out, kpi_msg *msg)
{
	kpi_status	status;

	if (which != CUSTSET_STATE_REPEAT)
		type = state_set_type(which);
	else if (type != CUSTSET_ORDER_COUNT && type != CUSTSET_CUSTOMER_ORDER)
		return kpi_fail(msg, KPI_ERR_PARAM, "A repeat state counts rows or orders.");
	status = custset_create(type, state_extra_size(which), mem, out, msg);
	if (status == KPI_OK && which == CUSTSET_STATE_AOV_LINES)
		aov_init(custset_aov_of(*out));
	return status;
}

/* The set type of a repeat state's text: customer_order sets have order_kind. */
static kpi_status
repeat_text_type(const char *text, custset_type *type, kpi_msg *msg)
{
	kpi_text_reader tr;
	kpi_text_field f;
	kpi_status	status = kpi_text_open_state(&tr, text, msg);

	*type = CUSTSET_ORDER_COUNT;
	if (status != KPI_OK)
		return status;
	while (kpi_text_next_field(&tr, &f, &status, msg))
		if (kpi_text_key_is(&f, "order_kind"))
			*type = CUSTSET_CUSTOMER_ORDER;
	return status;
}

/* A NUL-terminated copy of a field's value, for parsers that want one. */
static char *
field_copy(const kpi_text_field *f, const kpi_allocator *mem)
{
	char	   *copy = mem->alloc(f->vallen + 1, mem->ctx);

	if (copy != NULL)
	{
		memcpy(copy, f->val, f->vallen);
		copy[f->vallen] = '\0';
	}
	return copy;
}

/*
 * Every line has an order id: an aov_lines state has at least as many
 * lines as orders, and lines only with orders.  (A compact set's record
 * count is its number of orders.)
 */
static bool
lines_fit_orders(const aov_core *amounts, const custset *orders)
{
	int64_t		lines = aov_count(amounts);

	return (lines == 0) == custset_is_empty(orders) && lines >= (int64_t) orders->nrecords;
}

/*
 * Parses "(v:1,<first>:...,<second>:(set))" of the cohort and aov_lines
 * states: first is the period name or the nested aov_core text.
 */
static kpi_status
parse_with_extra(custset_state which, const char *text, const kpi_allocator *mem,
				 custset **out, kpi_msg *msg)
{
	const char *first = which == CUSTSET_STATE_COHORT ? "period" : "amounts";
	const char *second = which == CUSTSET_STATE_COHORT ? "set" : "orders";
	kpi_text_reader tr;
	kpi_text_field f;
	custset_period period = CUSTSET_PERIOD_NONE;
	aov_core	amounts;
	int			seen = 0;
	kpi_status	status = kpi_text_open_state(&tr, text, msg);

	*out = NULL;
	while (status == KPI_OK && kpi_text_next_field(&tr, &f, &status, msg))
	{
		if (seen == 0 && kpi_text_key_is(&f, first))
		{
			if (which == CUSTSET_STATE_COHORT)
			{
				if (f.vallen == 4 && memcmp(f.val, "none", 4) == 0)
					period = CUSTSET_PERIOD_NONE;
				else if (custset_period_parse(f.val, f.vallen, &period, NULL) != KPI_OK ||
						 memcmp(f.val, period_names[period], f.vallen) != 0)
					status = kpi_fail(msg, KPI_ERR_TEXT, "Unknown period \"%.*s\".",
									  (int) (f.vallen < 40 ? f.vallen : 40), f.val);
			}
			else
			{
				char	   *copy = field_copy(&f, mem);

				if (copy == NULL)
					return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while reading a state.");
				status = aov_parse(copy, &amounts, msg);
				mem->free(copy, mem->ctx);
				if (status == KPI_OK && amounts.kind == AOV_FLOAT8)
					status = kpi_fail(msg, KPI_ERR_TEXT, "Line amounts are numeric, not float8.");
			}
		}
		else if (seen == 1 && kpi_text_key_is(&f, second))
			status = custset_parse_nested(f.val, f.vallen, state_set_type(which),
										  state_extra_size(which), mem, out, msg);
		else
			status = kpi_fail(msg, KPI_ERR_TEXT, "Field \"%.*s\" is out of place; expected \"%s\".",
							  (int) f.keylen, f.key, seen == 0 ? first : seen == 1 ? second : "the end");
		seen++;
	}
	if (status == KPI_OK && seen < 2)
		status = kpi_fail(msg, KPI_ERR_TEXT, "The state lacks field \"%s\".", seen == 0 ? first : second);
	if (status == KPI_OK && which == CUSTSET_STATE_COHORT &&
		(period == CUSTSET_PERIOD_NONE) != custset_is_empty(*out))
		status = kpi_fail(msg, KPI_ERR_TEXT, "Only an empty cohort state has period none.");
	if (status == KPI_OK && which == CUSTSET_STATE_AOV_LINES &&
		!lines_fit_orders(&amounts, *out))
		status = kpi_fail(msg, KPI_ERR_TEXT, "The state has fewer lines than orders.");
	if (status != KPI_OK)
	{
		if (*out != NULL)
			mem->free(*out, mem->ctx);
		*out = NULL;
		return status;
	}
	if (which == CUSTSET_STATE_COHORT)
		custset_cohort_extra_of(*out)->period = (int32_t) period;
	else
		*custset_aov_of(*out) = amounts;
	return KPI_OK;
}

kpi_status
custset_state_parse(custset_state which, const char *text, const kpi_allocator *mem,
					custset **out, kpi_msg *msg)
{
	custset_type type = state_set_type(which);
	kpi_status	status = KPI_OK;

	if (which == CUSTSET_STATE_COHORT || which == CUSTSET_STATE_AOV_LINES)
		return parse_with_extra(which, text, mem, out, msg);
	if (which == CUSTSET_STATE_REPEAT)
		status = repeat_text_type(text, &type, msg);
	if (status != KPI_OK)
		return status;
	return custset_parse(text, type, 0, mem, out, msg);
}

kpi_status
custset_state_format(custset_state which, const custset *s, const kpi_allocator *mem,
					 kpi_strbuf *out, kpi_msg *msg)
{
	kpi_status	status;

	if (which == CUSTSET_STATE_RETENTION || which == CUSTSET_STATE_REPEAT)
		return custset_format(s, mem, out, msg);
	kpi_strbuf_appendf(out, "(v:%d,", KPI_STATE_VERSION);
	if (which == CUSTSET_STATE_COHORT)
		kpi_strbuf_appendf(out, "period:%s,set:",
						   period_names[custset_cohort_extra_of((custset *) s)->period]);
	else
	{
		kpi_strbuf_append(out, "amounts:");
		aov_format(custset_aov_of((custset *) s), out);
		kpi_strbuf_append(out, ",orders:");
	}
	status = custset_format_nested(s, mem, out, msg);
	kpi_strbuf_append(out, ")");
	if (status == KPI_OK && out->failed)
		status = kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while writing a state.");
	return status;
}

size_t
custset_state_encoded_size(custset_state which, const custset *compact)
{
	size_t		n = custset_encoded_size(compact);

	if (which == CUSTSET_STATE_COHORT)
		n += 1;
	else if (which == CUSTSET_STATE_AOV_LINES)
		n += aov_encoded_size(custset_aov_of((custset *) compact));
	return n;
}

kpi_status
custset_state_encode(custset_state which, const custset *compact, kpi_writer *w, kpi_msg *msg)
{
	kpi_status	status = custset_encode(compact, w, msg);

	if (status != KPI_OK)
		return status;
	if (which == CUSTSET_STATE_COHORT)
		kpi_put_u8(w, (uint8_t) custset_cohort_extra_of((custset *) compact)->period);
	else if (which == CUSTSET_STATE_AOV_LINES)
		aov_encode(custset_aov_of((custset *) compact), w);
	return KPI_OK;
}

kpi_status
custset_state_decode(custset_state which, kpi_reader *r, const kpi_allocator *mem,
					 custset **out, kpi_msg *msg)
{
	custset_type type = state_set_type(which);
	kpi_status	status;

	/* a repeat state's set type is its second byte (after the version) */
	if (which == CUSTSET_STATE_REPEAT && r->len - r->pos >= 2 &&
		r->buf[r->pos + 1] == CUSTSET_CUSTOMER_ORDER)
		type = CUSTSET_CUSTOMER_ORDER;
	status = custset_decode(r, type, state_extra_size(which), mem, out, msg);
	if (status != KPI_OK)
		return status;
	if (which == CUSTSET_STATE_COHORT)
	{
		uint8_t		period = kpi_get_u8(r);

		if (r->failed || period > CUSTSET_PERIOD_YEAR ||
			(period == CUSTSET_PERIOD_NONE) != custset_is_empty(*out))
			status = kpi_fail(msg, KPI_ERR_BINARY, "The cohort period is missing or not valid.");
		else
			custset_cohort_extra_of(*out)->period = period;
	}
	else if (which == CUSTSET_STATE_AOV_LINES)
	{
		status = aov_decode(r, custset_aov_of(*out), msg);
		if (status == KPI_OK && custset_aov_of(*out)->kind == AOV_FLOAT8)
			status = kpi_fail(msg, KPI_ERR_BINARY, "Line amounts are numeric, not float8.");
		if (status == KPI_OK && !lines_fit_orders(custset_aov_of(*out), *out))
			status = kpi_fail(msg, KPI_ERR_BINARY, "The state has fewer lines than orders.");
	}
	if (status != KPI_OK)
	{
		mem->free(*out, mem->ctx);
		*out = NULL;
	}
	return status;
}

kpi_status
custset_state_merge(custset_state which, custset **dst, const custset *src,
					const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *d = *dst;

	if (custset_is_empty(src))
		return KPI_OK;

	if (which == CUSTSET_STATE_REPEAT && d->type != src->type)
	{
		custset    *copy;
		kpi_status	status;

		if (!custset_is_empty(d))
			return kpi_fail(msg, KPI_ERR_MISMATCH,
							"A state of rows per customer cannot combine with one of distinct orders per customer.");
		status = custset_compact(src, mem, &copy, msg);
		if (status == KPI_OK)
			*dst = copy;
		return status;
	}
	if (which == CUSTSET_STATE_COHORT)
	{
		custset_cohort_extra *de = custset_cohort_extra_of(d);
		int32_t		sp = custset_cohort_extra_of((custset *) src)->period;

		if (de->period == CUSTSET_PERIOD_NONE)
			de->period = sp;
		else if (de->period != sp)
			return kpi_fail(msg, KPI_ERR_MISMATCH,
							"A cohort state by %s cannot combine with one by %s.",
							period_names[de->period], period_names[sp]);
	}
	if (which == CUSTSET_STATE_AOV_LINES)
	{
		kpi_status	status = aov_merge(custset_aov_of(d), custset_aov_of((custset *) src), msg);

		if (status != KPI_OK)
			return status;
	}
	return custset_merge(dst, src, mem, msg);
}
