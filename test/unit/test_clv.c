/*-------------------------------------------------------------------------
 *
 * test_clv.c
 *	  Unit and property tests of the CLV core (src/core/clv_core.c).
 *
 * Reads the CDNOW sample from test/data/cdnow/ relative to the working
 * directory (the repository root), or from the transactions file given as
 * argv[1] with Hardie's summary next to it.  Expected values come from the
 * published CDNOW estimates, Hardie's per-customer summary, closed forms
 * of 2F1, and a quadrature of the BG/NBD model written here independently of
 * the core's series.  Timings are printed as TAP comments and enforced only
 * in builds without AddressSanitizer.
 *
 * IDENTIFICATION
 *	  test/unit/test_clv.c
 *
 *-------------------------------------------------------------------------
 */
#include "clv_core.h"
#include "unit.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define TIMING_ENFORCED 0
#else
#define TIMING_ENFORCED 1
#endif

#define CDNOW_CUSTOMERS 2357
#define DEFAULT_TRANSACTIONS "test/data/cdnow/cdnow_transactions.csv"
#define SUMMARY_FILE "cdnow_customers_summary_with_transactions.csv"

static const kpi_allocator *mem = &kpi_malloc_allocator;

/* ------------------------------------------------------------ utilities */

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	uint64_t	z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* uniform in (0, 1) */
static double
rng_uniform(void)
{
	return ((double) (rng_next() >> 11) + 0.5) * 0x1p-53;
}

static int
rng_below(int n)
{
	return (int) (rng_next() % (uint64_t) n);
}

static double
rng_normal(void)
{
	return sqrt(-2.0 * log(rng_uniform())) * cos(2.0 * M_PI * rng_uniform());
}

/* Gamma(shape, rate) by Marsaglia and Tsang, boosted below shape 1. */
static double
rng_gamma(double shape, double rate)
{
	double		d,
				c;

	if (shape < 1.0)
		return rng_gamma(shape + 1.0, rate) * pow(rng_uniform(), 1.0 / shape);
	d = shape - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;)
	{
		double		x = rng_normal();
		double		v = 1.0 + c * x;

		if (v <= 0.0)
			continue;
		v = v * v * v;
		if (log(rng_uniform()) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v / rate;
	}
}

static double
rng_beta(double a, double b)
{
	double		x = rng_gamma(a, 1.0);

	return x / (x + rng_gamma(b, 1.0));
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 2000-01-01, counted naively year by year and month by month. */
static int32_t
day_number(int y, int m, int d)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int32_t		n = 0;

	for (int yy = 2000; yy < y; yy++)
		n += is_leap(yy) ? 366 : 365;
	for (int yy = y; yy < 2000; yy++)
		n -= is_leap(yy) ? 366 : 365;
	for (int mm = 1; mm < m; mm++)
		n += mdays[mm - 1] + (mm == 2 && is_leap(y));
	return n + d - 1;
}

static char *
format_text(void (*fmt) (const void *, kpi_strbuf *), const void *value)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, mem);
	fmt(value, &sb);
	if (sb.failed)
	{
		free(sb.data);
		return NULL;
	}
	return sb.data;
}

/* The text form of a value of a core type, malloc'd (NULL when out of memory). */
#define FORMAT_TEXT(prefix, value) \
	format_text((void (*) (const void *, kpi_strbuf *)) prefix##_format, (value))

/*
 * The binary form of a value, malloc'd: encode through a writer sized by
 * encoded_size, checking that exactly that many bytes were written.
 */
#define ENCODE(prefix, value, lenp) \
	encode_with((void (*) (const void *, kpi_writer *)) prefix##_encode, \
				prefix##_encoded_size(value), (value), (lenp))

static uint8_t *
encode_with(void (*encode) (const void *, kpi_writer *), size_t size, const void *value,
			size_t *len)
{
	uint8_t    *buf = malloc(size + 1);
	kpi_writer	w;

	kpi_writer_init(&w, buf, size);
	encode(value, &w);
	*len = w.len;
	return w.len == size ? buf : NULL;
}

/*
 * Decode a whole buffer as the glue's recv does: the decoder, then a check
 * that every byte was used.  Frees the value when bytes are left over.
 */
#define DECODE_WHOLE(prefix, buf, len, out) \
	decode_whole((kpi_status (*) (kpi_reader *, const kpi_allocator *, void **, kpi_msg *)) prefix##_decode, \
				 (buf), (len), (void **) (out))

static kpi_status
decode_whole(kpi_status (*decode) (kpi_reader *, const kpi_allocator *, void **, kpi_msg *),
			 const uint8_t *buf, size_t len, void **out)
{
	kpi_reader	r;
	kpi_status	st;

	kpi_reader_init(&r, buf, len);
	st = decode(&r, mem, out, NULL);
	if (st == KPI_OK && (st = kpi_reader_finish(&r, NULL)) != KPI_OK)
		free(*out);
	return st;
}

static kpi_status
model_decode_whole(const uint8_t *buf, size_t len, clv_model *out)
{
	kpi_reader	r;
	kpi_status	st;

	kpi_reader_init(&r, buf, len);
	st = clv_model_decode(&r, out, NULL);
	return st == KPI_OK ? kpi_reader_finish(&r, NULL) : st;
}


/*
 * Feed a decoder the valid encoding buf[0 .. len) cut short at a dozen
 * points, with 1 to 3 bytes changed (300 times), and 2,000 random strings
 * of up to `random_len` bytes after a valid version byte.  True when every
 * cut is KPI_ERR_BINARY and everything else decodes or fails with
 * KPI_ERR_BINARY or KPI_ERR_VERSION: never a crash (ASan watches).
 */
#define DECODE_FUZZ(prefix, buf, len, random_len) \
	decode_fuzz((kpi_status (*) (kpi_reader *, const kpi_allocator *, void **, kpi_msg *)) prefix##_decode, \
				(buf), (len), (random_len))

static bool
decode_fuzz(kpi_status (*decode) (kpi_reader *, const kpi_allocator *, void **, kpi_msg *),
			const uint8_t *buf, size_t len, size_t random_len)
{
	uint8_t    *junk = malloc(len > random_len ? len : random_len);
	void	   *back;
	bool		ok = true;

	for (size_t cut = 0; cut < len; cut += 1 + len / 13)
		ok &= decode_whole(decode, buf, cut, &back) == KPI_ERR_BINARY;
	for (int k = 0; k < 2300; k++)
	{
		size_t		n = len;
		kpi_status	st;

		if (k < 300)
		{
			memcpy(junk, buf, len);
			for (int j = 0; j < 3; j++)
				junk[rng_below((int) len)] ^= (uint8_t) (1 + rng_below(255));
		}
		else
		{
			n = (size_t) rng_below((int) random_len);
			for (size_t j = 0; j < n; j++)
				junk[j] = (uint8_t) rng_next();
			if (n > 0)
				junk[0] = KPI_STATE_VERSION;
		}
		st = decode_whole(decode, junk, n, &back);
		if (st == KPI_OK)
			free(back);
		else
			ok &= st == KPI_ERR_BINARY || st == KPI_ERR_VERSION;
	}
	free(junk);
	return ok;
}

static clv_model
make_model(double r, double alpha, double a, double b, double p, double q, double gamma)
{
	clv_model	m;

	memset(&m, 0, sizeof(m));
	m.r = r;
	m.alpha = alpha;
	m.a = a;
	m.b = b;
	m.p = p;
	m.q = q;
	m.gamma = gamma;
	m.customers = 100;
	m.repeat_customers = 40;
	m.loglik_bgnbd = -1.0;
	m.loglik_gg = -1.0;
	return m;
}

static clv_summary
make_summary(int x, int t_x, int T, double m)
{
	clv_summary s;

	memset(&s, 0, sizeof(s));
	s.x = x;
	s.t_x = t_x;
	s.T = T;
	s.m = m;
	return s;
}

/* ----------------------------------------------- independent references */

/* 2F1 by its defining series in long double; |z| < 1. */
static double
naive_hyp2f1(double a, double b, double c, double z)
{
	long double term = 1.0L,
				sum = 1.0L;

	for (int n = 0; n < 1000000; n++)
	{
		term *= (long double) (a + n) * (b + n) / ((c + n) * (n + 1.0L)) * z;
		sum += term;
		if (fabsl(term) < 1e-20L * fabsl(sum))
			break;
	}
	return (double) sum;
}

/* FHL 2005 eq. 10 as published, with the naive 2F1. */
static double
fhl_expected_orders(const clv_model *m, double x, double t_x, double T, double t)
{
	double		F = naive_hyp2f1(m->r + x, m->b + x, m->a + m->b + x - 1.0, t / (m->alpha + T + t));
	double		num = (m->a + m->b + x - 1.0) / (m->a - 1.0) *
		(1.0 - pow((m->alpha + T) / (m->alpha + T + t), m->r + x) * F);
	double		den = 1.0 + (x > 0) * m->a / (m->b + x - 1.0) *
		pow((m->alpha + T) / (m->alpha + t_x), m->r + x);

	return num / den;
}

/*
 * Expected purchases in the next t weeks of a customer alive at T, straight
 * from the model: with rate lambda and dropout probability p an active
 * customer buys (1 - exp(-lambda p t)) / p; the posterior of an alive
 * customer is lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x), and
 * integrating lambda out leaves (1 - (1 + p tau)^-(r+x)) / p, tau =
 * t/(alpha+T).  The p integral is done by tanh-sinh quadrature.
 */
static double
quad_alive_expectation(const clv_model *m, double x, double T, double t)
{
	double		A = m->r + x;
	double		B = m->b + x;
	double		tau = t / (m->alpha + T);
	double		lognorm = lgamma(m->a + B) - lgamma(m->a) - lgamma(B);
	const double h = 1.0 / 128;
	double		sum = 0.0;

	for (int k = -7 * 128; k <= 7 * 128; k++)
	{
		double		s = k * h;
		double		u = M_PI * sinh(s);
		double		logp = -log1p(exp(-u));
		double		logq = -log1p(exp(u));
		double		p = exp(logp);

		if (p == 0.0 || isinf(logq))
			continue;
		sum += exp(lognorm + m->a * logp + B * logq) * M_PI * cosh(s) *
			(-expm1(-A * log1p(tau * p)) / p);
	}
	return sum * h;
}

/* P(alive) as written in FHL 2005 eq. 11. */
static double
naive_p_alive(const clv_model *m, double x, double t_x, double T)
{
	if (x == 0)
		return 1.0;
	return 1.0 / (1.0 + m->a / (m->b + x - 1.0) * pow((m->alpha + T) / (m->alpha + t_x), m->r + x));
}

/* Gamma-Gamma conditional mean as a credibility-weighted average. */
static double
weighted_order_value(const clv_model *m, double x, double mean)
{
	double		w = (m->q - 1.0) / (m->p * x + m->q - 1.0);

	return w * m->p * m->gamma / (m->q - 1.0) + (1.0 - w) * mean;
}

/* ------------------------------------------------------------ CDNOW data */

typedef struct order
{
	int32_t		customer;
	int32_t		day;
	__int128	coef;
	int			scale;
} order;

typedef struct hardie_row
{
	int			x;
	double		t_x;
	double		T;
	double		zbar;
} hardie_row;

static order *orders;
static int	norders;
static hardie_row hardie[CDNOW_CUSTOMERS + 1];

static bool
load_cdnow(const char *transactions)
{
	char		path[1024];
	char		line[256];
	const char *slash = strrchr(transactions, '/');
	FILE	   *f = fopen(transactions, "r");
	int			cap = 8192;
	int			n = 0;

	if (f == NULL)
		return false;
	orders = malloc(sizeof(order) * cap);
	if (fgets(line, sizeof(line), f) == NULL)
	{
		fclose(f);
		return false;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		int			id,
					y,
					mo,
					d;
		char		amount[64];
		order	   *o;

		if (sscanf(line, "%d,%d-%d-%d,%63[0-9.]", &id, &y, &mo, &d, amount) != 5)
			continue;
		if (norders == cap)
			orders = realloc(orders, sizeof(order) * (cap *= 2));
		o = &orders[norders++];
		o->customer = id;
		o->day = day_number(y, mo, d);
		if (kpi_parse_decimal(amount, strlen(amount), &o->coef, &o->scale, NULL) != KPI_OK)
			return false;
	}
	fclose(f);

	snprintf(path, sizeof(path), "%.*s%s", slash ? (int) (slash - transactions + 1) : 0,
			 transactions, SUMMARY_FILE);
	f = fopen(path, "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		int			id;
		hardie_row	h;

		if (sscanf(line, "%d,%d,%lf,%lf,%lf", &id, &h.x, &h.t_x, &h.T, &h.zbar) == 5 &&
			id >= 1 && id <= CDNOW_CUSTOMERS)
		{
			hardie[id] = h;
			n++;
		}
	}
	fclose(f);
	return n == CDNOW_CUSTOMERS && norders == 6919;
}

/* One state per customer (index = id) from the orders listed in idx. */
static clv_rfm **
build_states(const int *idx, int n, int32_t observed)
{
	clv_rfm   **states = calloc(CDNOW_CUSTOMERS + 1, sizeof(clv_rfm *));
	bool		ok = true;

	for (int c = 1; c <= CDNOW_CUSTOMERS; c++)
		ok &= clv_rfm_create(&states[c], mem, NULL) == KPI_OK;
	for (int i = 0; i < n; i++)
	{
		const order *o = &orders[idx[i]];

		ok &= clv_rfm_add(&states[o->customer], o->day, o->coef, o->scale,
						  observed, mem, NULL) == KPI_OK;
	}
	return ok ? states : NULL;
}

static void
free_states(clv_rfm **states)
{
	for (int c = 1; c <= CDNOW_CUSTOMERS; c++)
		free(states[c]);
	free(states);
}

/* The two states have the same canonical bytes, in memory and encoded. */
static bool
rfm_same(clv_rfm **a, clv_rfm **b)
{
	size_t		na,
				nb;
	uint8_t    *ea,
			   *eb;

	bool		same;

	if (clv_rfm_compact(a, mem, NULL) != KPI_OK || clv_rfm_compact(b, mem, NULL) != KPI_OK)
		return false;
	na = clv_rfm_encoded_size(*a);
	nb = clv_rfm_encoded_size(*b);
	if (na != nb || clv_rfm_size(*a) != clv_rfm_size(*b) ||
		memcmp(*a, *b, clv_rfm_size(*a)) != 0)
		return false;
	ea = ENCODE(clv_rfm, *a, &na);
	eb = ENCODE(clv_rfm, *b, &nb);
	same = ea != NULL && eb != NULL && memcmp(ea, eb, na) == 0;
	free(ea);
	free(eb);
	return same;
}

static void
shuffle(int *v, int n)
{
	for (int i = n - 1; i > 0; i--)
	{
		int			j = rng_below(i + 1);
		int			t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* ------------------------------------------------------- codec helpers */

static void
test_codec_helpers(void)
{
	static const struct
	{
		const char *text;
		long long	coef;
		int			scale;
		const char *canonical;
	}			decimals[] = {
		{"29.33", 2933, 2, "29.33"}, {"-0.05", -5, 2, "-0.05"}, {"7", 7, 0, "7"},
		{".5", 5, 1, "0.5"}, {"5.", 5, 0, "5"}, {"+12.300", 12300, 3, "12.300"},
		{"0", 0, 0, "0"}, {"-0.000", 0, 3, "0.000"}
	};
	static const char *bad_decimals[] = {"", "-", ".", "1e5", "1.2.3", "12a", " 1",
	"123456789012345678901234567890123456789012"};
	kpi_list_reader lr;
	const char *item;
	size_t		len;
	kpi_status	st;
	int			n;
	bool		ok = true;

	for (size_t i = 0; i < sizeof(decimals) / sizeof(decimals[0]); i++)
	{
		__int128	coef;
		int			scale;
		kpi_strbuf	sb;

		ok &= kpi_parse_decimal(decimals[i].text, strlen(decimals[i].text), &coef, &scale, NULL) == KPI_OK &&
			coef == decimals[i].coef && scale == decimals[i].scale;
		kpi_strbuf_init(&sb, mem);
		kpi_strbuf_append_decimal(&sb, coef, scale);
		ok &= strcmp(sb.data, decimals[i].canonical) == 0;
		free(sb.data);
	}
	CHECK(ok, "decimal text parses to (coef, scale) and prints canonically");
	ok = true;
	for (size_t i = 0; i < sizeof(bad_decimals) / sizeof(bad_decimals[0]); i++)
	{
		__int128	coef;
		int			scale;

		ok &= kpi_parse_decimal(bad_decimals[i], strlen(bad_decimals[i]), &coef, &scale, NULL) == KPI_ERR_TEXT;
	}
	CHECK(ok, "malformed or oversized decimals are KPI_ERR_TEXT");
	{
		kpi_strbuf	sb;
		__int128	big = ((__int128) 1 << 126) * -2;	/* INT128_MIN */
		__int128	back;
		int			scale;

		kpi_strbuf_init(&sb, mem);
		kpi_strbuf_append_decimal(&sb, big, 38);
		CHECK(kpi_parse_decimal(sb.data, sb.len, &back, &scale, NULL) == KPI_OK &&
			  back == big && scale == 38, "the most negative int128 round-trips at scale 38");
		free(sb.data);
	}

	n = 0;
	ok = kpi_list_open(&lr, " [ 1, -2 ,(3,4), [5] ] ", 23, '[', ']', NULL) == KPI_OK;
	while (kpi_list_next(&lr, &item, &len, &st, NULL))
	{
		static const char *expect[] = {"1", "-2", "(3,4)", "[5]"};

		ok &= n < 4 && len == strlen(expect[n]) && memcmp(item, expect[n], len) == 0;
		n++;
	}
	CHECK(ok && st == KPI_OK && n == 4, "a list yields its trimmed items, nested brackets kept");
	ok = kpi_list_open(&lr, "[]", 2, '[', ']', NULL) == KPI_OK &&
		!kpi_list_next(&lr, &item, &len, &st, NULL) && st == KPI_OK;
	CHECK(ok, "an empty list has no items");
	{
		static const char *bad[] = {"[1,,2]", "[1,]", "[,1]", "[(1,2]", "[1", "1]", "(1)"};

		ok = true;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			st = kpi_list_open(&lr, bad[i], strlen(bad[i]), '[', ']', NULL);
			while (st == KPI_OK && kpi_list_next(&lr, &item, &len, &st, NULL))
				;
			ok &= st == KPI_ERR_TEXT;
		}
		CHECK(ok, "malformed lists are KPI_ERR_TEXT");
	}
}

/* ------------------------------------------------------------------ RFM */

static void
test_rfm_by_hand(void)
{
	clv_rfm    *s;
	clv_rfm    *t;
	clv_summary sum;
	bool		found;
	kpi_msg		msg;
	char	   *text;

	/* days 10 (1.5 + 2.25), 20 (3), 40 (4.125); day 60 is after observed 50 */
	clv_rfm_create(&s, mem, NULL);
	{
		int32_t		end;

		CHECK(clv_rfm_summary(s, 50, &sum, &found, NULL) == KPI_OK && !found &&
			  !clv_rfm_observed_until(s, &end), "an empty state has no summary and no observed_until");
	}
	CHECK(clv_rfm_add(&s, 20, 3, 0, 50, mem, NULL) == KPI_OK &&
		  clv_rfm_add(&s, 60, 100, 0, 50, mem, NULL) == KPI_OK &&
		  clv_rfm_add(&s, 10, 15, 1, 50, mem, NULL) == KPI_OK &&
		  clv_rfm_add(&s, 40, 4125, 3, 50, mem, NULL) == KPI_OK &&
		  clv_rfm_add(&s, 10, 225, 2, 50, mem, NULL) == KPI_OK, "orders in any order are accepted");
	CHECK(clv_rfm_summary(s, 50, &sum, &found, NULL) == KPI_OK && found &&
		  sum.x == 2 && sum.t_x == 30 && sum.T == 40 && sum.first_day == 10 &&
		  sum.last_day == 40 && sum.m == (3.0 + 4.125) / 2,
		  "same-day orders are one purchase; x, t_x, T, m by hand");
	text = FORMAT_TEXT(clv_rfm, s);
	CHECK(text != NULL && strcmp(text, "(v:1,observed_until:50,first_amount:3.750,"
								 "total_amount:10.875,days:[10,20,40])") == 0,
		  "text form with exact amounts at the largest scale");
	CHECK(clv_rfm_parse(text, mem, &t, NULL) == KPI_OK && rfm_same(&s, &t),
		  "text form reads back to the same bytes");
	free(text);
	free(t);
	CHECK(clv_rfm_add(&s, 5, 1, 0, 51, mem, &msg) == KPI_ERR_PARAM,
		  "another observed_until in the same state is KPI_ERR_PARAM");
	CHECK(clv_rfm_add(&s, 5, 1, CLV_MAX_AMOUNT_SCALE + 1, 50, mem, NULL) == KPI_ERR_PARAM,
		  "more than 38 decimal places is KPI_ERR_PARAM");
	{
		clv_rfm    *tiny;

		clv_rfm_create(&tiny, mem, NULL);
		CHECK(clv_rfm_add(&tiny, 5, 7, 38, 50, mem, NULL) == KPI_OK &&
			  clv_rfm_add(&tiny, 6, 1, 0, 50, mem, NULL) == KPI_OK &&
			  clv_rfm_add(&tiny, 7, 2, 0, 50, mem, NULL) == KPI_ERR_OVERFLOW,
			  "scale 38 is exact until the sum passes 38 significant digits");
		free(tiny);
	}
	CHECK(clv_rfm_summary(s, 30, &sum, &found, NULL) == KPI_ERR_PARAM,
		  "a summary ending before the last purchase is KPI_ERR_PARAM");
	{
		clv_rfm    *other;

		clv_rfm_create(&other, mem, NULL);
		clv_rfm_add(&other, 1, 1, 0, 49, mem, NULL);
		CHECK(clv_rfm_merge(&s, other, mem, &msg) == KPI_ERR_MISMATCH,
			  "merging states with different observed_until is KPI_ERR_MISMATCH");
		printf("# detail: %s\n", msg.text);
		free(other);
	}
	{
		/* a new first day moves the old first day's amount into the repeats */
		clv_rfm_add(&s, 2, 1, 0, 50, mem, NULL);
		CHECK(clv_rfm_summary(s, 50, &sum, &found, NULL) == KPI_OK && sum.x == 3 &&
			  sum.m == (3.75 + 3.0 + 4.125) / 3 && sum.T == 48,
			  "an earlier first day turns the old first day into a repeat day");
	}
	free(s);

	/* orders only after observed_until: observed, but no purchase */
	clv_rfm_create(&s, mem, NULL);
	clv_rfm_add(&s, 70, 5, 0, 50, mem, NULL);
	text = FORMAT_TEXT(clv_rfm, s);
	{
		int32_t		end = 0;

		CHECK(text != NULL && strcmp(text, "(v:1,observed_until:50,first_amount:0,total_amount:0,days:[])") == 0 &&
			  clv_rfm_summary(s, 50, &sum, &found, NULL) == KPI_OK && !found &&
			  clv_rfm_observed_until(s, &end) && end == 50,
			  "orders after observed_until are ignored but fix observed_until");
	}
	free(text);
	free(s);

	/* int128 overflow of the sums */
	clv_rfm_create(&s, mem, NULL);
	{
		__int128	big = ((__int128) 1 << 126);

		CHECK(clv_rfm_add(&s, 1, big, 0, 50, mem, NULL) == KPI_OK &&
			  clv_rfm_add(&s, 2, big, 0, 50, mem, NULL) == KPI_ERR_OVERFLOW &&
			  clv_rfm_add(&s, 2, 1, 1, 50, mem, NULL) == KPI_ERR_OVERFLOW &&
			  s->ndays == 1, "sums beyond int128 are KPI_ERR_OVERFLOW and leave the state alone");
	}
	free(s);
}

static void
test_rfm_cdnow(void)
{
	int32_t		observed = day_number(1997, 9, 30);
	int		   *idx = malloc(sizeof(int) * norders);
	clv_rfm   **in_order;
	clv_rfm   **merged;
	int			x_equal = 0,
				t_equal = 0,
				m_equal = 0;
	double		t0;

	for (int i = 0; i < norders; i++)
		idx[i] = i;
	t0 = now_ms();
	in_order = build_states(idx, norders, observed);
	printf("# RFM of 6,919 CDNOW orders in file order: %.2f ms\n", now_ms() - t0);
	CHECK(in_order != NULL, "CDNOW orders build one RFM state per customer");
	if (in_order == NULL)
		return;
	for (int c = 1; c <= CDNOW_CUSTOMERS; c++)
	{
		clv_summary s;
		bool		found;

		if (clv_rfm_summary(in_order[c], observed, &s, &found, NULL) != KPI_OK || !found)
			continue;
		x_equal += s.x == hardie[c].x;
		t_equal += fabs(s.t_x / 7.0 - hardie[c].t_x) <= 0.005 + 1e-9 &&
			fabs(s.T / 7.0 - hardie[c].T) <= 0.005 + 1e-9;
		m_equal += fabs(s.m - hardie[c].zbar) <= 0.005 + 1e-9;
	}
	printf("# matches with Hardie's summary: x %d, t_x and T %d, m %d of %d\n",
		   x_equal, t_equal, m_equal, CDNOW_CUSTOMERS);
	CHECK(x_equal == CDNOW_CUSTOMERS, "x equals Hardie's for all 2,357 customers");
	CHECK(t_equal == CDNOW_CUSTOMERS, "t_x and T equal Hardie's weeks to his 0.01 rounding");
	CHECK(m_equal == CDNOW_CUSTOMERS, "m equals Hardie's zbar to his 0.01 rounding");
	{
		char	   *text = FORMAT_TEXT(clv_rfm, in_order[1]);

		/* 1997-01-01 29.33, 1997-01-18 29.73, 1997-08-02 14.96; 1997-12-12 after the end */
		CHECK(text != NULL && strcmp(text, "(v:1,observed_until:-823,first_amount:29.33,"
									 "total_amount:74.02,days:[-1095,-1078,-882])") == 0,
			  "customer 1's state, worked out by hand from the raw file");
		free(text);
	}

	/* shuffled orders, split into two partial states per customer, merged */
	for (int round = 0; round < 3; round++)
	{
		int			cut = rng_below(norders + 1);
		clv_rfm   **part;
		bool		ok = true;

		shuffle(idx, norders);
		merged = build_states(idx, cut, observed);
		part = build_states(idx + cut, norders - cut, observed);
		for (int c = 1; c <= CDNOW_CUSTOMERS; c++)
		{
			if (round == 1)
			{
				/* the other way round: part absorbs merged */
				ok &= clv_rfm_merge(&part[c], merged[c], mem, NULL) == KPI_OK;
				ok &= rfm_same(&part[c], &in_order[c]);
			}
			else
			{
				ok &= clv_rfm_merge(&merged[c], part[c], mem, NULL) == KPI_OK;
				ok &= rfm_same(&merged[c], &in_order[c]);
			}
		}
		CHECK(ok, round == 1 ? "shuffled, split and merged the other way: same bytes for every customer" :
			  "shuffled, split at random and merged: same bytes for every customer");
		free_states(merged);
		free_states(part);
	}
	free_states(in_order);
	free(idx);
}

/* A random state over a few days; amounts at mixed scales. */
static clv_rfm *
random_rfm(int32_t observed, int norders_max)
{
	clv_rfm    *s;
	int			n = rng_below(norders_max + 1);

	clv_rfm_create(&s, mem, NULL);
	for (int i = 0; i < n; i++)
		clv_rfm_add(&s, rng_below(40), rng_below(100000) - 1000, rng_below(4),
					observed, mem, NULL);
	return s;
}

/* A malloc'd copy of n bytes. */
static void *
memdup(const void *p, size_t n)
{
	void	   *c = malloc(n);

	memcpy(c, p, n);
	return c;
}

static clv_rfm *
rfm_copy(const clv_rfm *s)
{
	return memdup(s, clv_rfm_size(s));
}

static void
test_rfm_properties(void)
{
	bool		assoc = true,
				commut = true,
				ident = true,
				bin = true,
				txt = true,
				garbage = true,
				truncated = true;

	for (int trial = 0; trial < 300; trial++)
	{
		clv_rfm    *a = random_rfm(30, 12);
		clv_rfm    *b = random_rfm(30, 12);
		clv_rfm    *c = random_rfm(30, 12);
		clv_rfm    *empty;
		clv_rfm    *ab_c,
				   *a_bc,
				   *bc,
				   *ba,
				   *ab,
				   *back;
		uint8_t    *buf;
		size_t		len;
		char	   *text;

		clv_rfm_create(&empty, mem, NULL);
		ab = rfm_copy(a);
		clv_rfm_merge(&ab, b, mem, NULL);
		ba = rfm_copy(b);
		clv_rfm_merge(&ba, a, mem, NULL);
		commut &= rfm_same(&ab, &ba);
		ab_c = rfm_copy(ab);
		clv_rfm_merge(&ab_c, c, mem, NULL);
		bc = rfm_copy(b);
		clv_rfm_merge(&bc, c, mem, NULL);
		a_bc = rfm_copy(a);
		clv_rfm_merge(&a_bc, bc, mem, NULL);
		assoc &= rfm_same(&ab_c, &a_bc);
		back = rfm_copy(a);
		clv_rfm_merge(&back, empty, mem, NULL);
		ident &= rfm_same(&back, &a);
		free(back);
		clv_rfm_merge(&empty, a, mem, NULL);
		ident &= rfm_same(&empty, &a);

		buf = ENCODE(clv_rfm, ab_c, &len);
		bin &= DECODE_WHOLE(clv_rfm, buf, len, &back) == KPI_OK && rfm_same(&back, &ab_c);
		free(back);
		for (size_t cut = 0; cut < len; cut += 1 + len / 7)
			truncated &= DECODE_WHOLE(clv_rfm, buf, cut, &back) != KPI_OK;
		for (int k = 0; k < 20; k++)
		{
			kpi_status	st;

			buf[rng_below((int) len)] ^= (uint8_t) (1 + rng_below(255));
			st = DECODE_WHOLE(clv_rfm, buf, len, &back);
			if (st == KPI_OK)
				free(back);
			else
				garbage &= st == KPI_ERR_BINARY || st == KPI_ERR_VERSION;
		}
		free(buf);
		text = FORMAT_TEXT(clv_rfm, ab_c);
		txt &= text != NULL && clv_rfm_parse(text, mem, &back, NULL) == KPI_OK &&
			rfm_same(&back, &ab_c);
		free(back);
		free(text);
		free(a);
		free(b);
		free(c);
		free(ab);
		free(ba);
		free(bc);
		free(ab_c);
		free(a_bc);
		free(empty);
	}
	CHECK(commut, "RFM merge is commutative (same bytes)");
	CHECK(assoc, "RFM merge is associative (same bytes)");
	CHECK(ident, "the empty RFM state is the identity on both sides");
	CHECK(bin, "RFM binary form round-trips");
	CHECK(txt, "RFM text form round-trips");
	CHECK(truncated, "truncated RFM bytes are rejected");
	CHECK(garbage, "corrupted RFM bytes decode to a valid state or an error, never a crash");
	{
		uint8_t		random_bytes[200];
		bool		ok = true;

		for (int k = 0; k < 2000; k++)
		{
			size_t		len = (size_t) rng_below(sizeof(random_bytes));
			clv_rfm    *back;
			kpi_status	st;

			for (size_t i = 0; i < len; i++)
				random_bytes[i] = (uint8_t) rng_next();
			if (len > 0 && k % 2 == 0)
				random_bytes[0] = KPI_STATE_VERSION;
			st = DECODE_WHOLE(clv_rfm, random_bytes, len, &back);
			if (st == KPI_OK)
				free(back);
			ok &= st != KPI_OK || len >= 43;
		}
		CHECK(ok, "random bytes never decode into a crash");
	}
	{
		static const char *bad[] = {
			"", "(v:1", "(v:2)", "(x:1)", "(v:1,observed_until:5)",
			"(v:1,observed_until:5,first_amount:1,total_amount:1,days:[6])",
			"(v:1,observed_until:5,first_amount:1,total_amount:1,days:[2,1])",
			"(v:1,observed_until:5,first_amount:1,total_amount:1,days:[1,1])",
			"(v:1,observed_until:5,first_amount:1,total_amount:1,days:[])",
			"(v:1,observed_until:5,first_amount:1,total_amount:1,days:[1],days:[1])",
			"(v:1,observed_until:5,first_amount:1e3,total_amount:1,days:[1])",
			"(v:1,observed_until:9999999999,first_amount:1,total_amount:1,days:[1])",
			"(v:1,observed_until:5,first_amount:1,total_amount:1,days:[1],extra:2)"
		};
		bool		ok = true;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			clv_rfm    *back;
			kpi_status	st = clv_rfm_parse(bad[i], mem, &back, NULL);

			ok &= st == KPI_ERR_TEXT || (i == 2 && st == KPI_ERR_VERSION);
			if (st == KPI_OK)
				free(back);
		}
		CHECK(ok, "malformed RFM text is KPI_ERR_TEXT (KPI_ERR_VERSION for v:2)");
	}
}

/* ------------------------------------------------------------ fit input */

static clv_fitdata *
cdnow_fitdata(clv_rfm **states, int from, int to, int32_t observed)
{
	clv_fitdata *fd;

	clv_fitdata_create(&fd, mem, NULL);
	for (int c = from; c < to; c++)
	{
		clv_summary s;
		bool		found;

		if (clv_rfm_summary(states[c], observed, &s, &found, NULL) == KPI_OK && found)
			clv_fitdata_add(&fd, &s, mem, NULL);
	}
	return fd;
}

static bool
fitdata_same(clv_fitdata **a, clv_fitdata **b)
{
	return clv_fitdata_compact(a, mem, NULL) == KPI_OK &&
		clv_fitdata_compact(b, mem, NULL) == KPI_OK &&
		clv_fitdata_size(*a) == clv_fitdata_size(*b) &&
		memcmp(*a, *b, clv_fitdata_size(*a)) == 0;
}

static clv_fitdata *
fitdata_copy(const clv_fitdata *fd)
{
	return memdup(fd, clv_fitdata_size(fd));
}

static void
test_fitdata(clv_fitdata *whole)
{
	bool		ok = true;
	int64_t		customers = 0;
	clv_fitdata *back;
	uint8_t    *buf;
	size_t		len;
	char	   *text;

	for (int32_t i = 0; i < whole->nrows; i++)
	{
		customers += whole->rows[i].weight;
		ok &= i == 0 || memcmp(&whole->rows[i - 1], &whole->rows[i], 16) != 0 ||
			whole->rows[i - 1].m != whole->rows[i].m;
	}
	printf("# CDNOW fit input: %d distinct rows for %lld customers, %zu bytes\n",
		   (int) whole->nrows, (long long) customers, clv_fitdata_size(whole));
	CHECK(ok && customers == CDNOW_CUSTOMERS && whole->nrows < CDNOW_CUSTOMERS,
		  "equal customer rows are folded with weights");

	buf = ENCODE(clv_fitdata, whole, &len);
	CHECK(DECODE_WHOLE(clv_fitdata, buf, len, &back) == KPI_OK && fitdata_same(&back, &whole),
		  "fit input binary form round-trips");
	free(back);
	CHECK(DECODE_FUZZ(clv_fitdata, buf, len, 64),
		  "truncated, corrupted or random fit input bytes are errors, never crashes");
	free(buf);
	text = FORMAT_TEXT(clv_fitdata, whole);
	CHECK(text != NULL && clv_fitdata_parse(text, mem, &back, NULL) == KPI_OK &&
		  fitdata_same(&back, &whole), "fit input text form round-trips");
	free(back);
	free(text);
	{
		const char *shuffled = "(v:1,rows:[(2,30,40,1.5,1),(0,0,9,0,2),(2,30,40,1.5,3)])";

		text = NULL;
		CHECK(clv_fitdata_parse(shuffled, mem, &back, NULL) == KPI_OK &&
			  (text = FORMAT_TEXT(clv_fitdata, back)) != NULL &&
			  strcmp(text, "(v:1,rows:[(0,0,9,0,2),(2,30,40,1.5,4)])") == 0,
			  "text input in any order is sorted and folded");
		free(text);
		free(back);
	}
	{
		static const char *bad[] = {
			"(v:1,rows:[(0,1,9,0,1)])", "(v:1,rows:[(0,0,9,2,1)])", "(v:1,rows:[(3,2,9,1,1)])",
			"(v:1,rows:[(1,10,9,1,1)])", "(v:1,rows:[(1,2,9,1,0)])", "(v:1,rows:[(1,2,9,NaN,1)])",
			"(v:1,rows:[(1,2,9,1)])", "(v:1,rows:[(1,2,9,1,1,1)])", "(v:1)", "(v:1,rows:[],x:1)",
			"(v:1,rows:[(1,2,9,1,9223372036854775807),(1,2,9,1,1)])"
		};
		bool		all = true;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			kpi_status	st = clv_fitdata_parse(bad[i], mem, &back, NULL);

			all &= st == KPI_ERR_TEXT;
			if (st == KPI_OK)
				free(back);
		}
		CHECK(all, "inconsistent or malformed fit rows are KPI_ERR_TEXT");
	}
	{
		clv_summary s = make_summary(3, 2, 10, 1.0);
		clv_fitdata *fd;

		clv_fitdata_create(&fd, mem, NULL);
		CHECK(clv_fitdata_add(&fd, &s, mem, NULL) == KPI_ERR_PARAM && fd->nrows == 0,
			  "adding an impossible summary (x > t_x) is KPI_ERR_PARAM");
		free(fd);
	}
}

static void
test_fitdata_properties(clv_rfm **states, int32_t observed, clv_fitdata *whole)
{
	bool		split_ok = true,
				assoc = true,
				commut = true,
				ident = true;

	for (int trial = 0; trial < 20; trial++)
	{
		int			c1 = 1 + rng_below(CDNOW_CUSTOMERS);
		int			c2 = c1 + rng_below(CDNOW_CUSTOMERS + 1 - c1 + 1);
		clv_fitdata *a = cdnow_fitdata(states, 1, c1, observed);
		clv_fitdata *b = cdnow_fitdata(states, c1, c2, observed);
		clv_fitdata *c = cdnow_fitdata(states, c2, CDNOW_CUSTOMERS + 1, observed);
		clv_fitdata *empty;
		clv_fitdata *ab = fitdata_copy(a),
				   *ba = fitdata_copy(b),
				   *bc = fitdata_copy(b),
				   *ab_c,
				   *a_bc = fitdata_copy(a),
				   *ae = fitdata_copy(a);

		clv_fitdata_create(&empty, mem, NULL);
		clv_fitdata_merge(&ab, b, mem, NULL);
		clv_fitdata_merge(&ba, a, mem, NULL);
		commut &= fitdata_same(&ab, &ba);
		ab_c = fitdata_copy(ab);
		clv_fitdata_merge(&ab_c, c, mem, NULL);
		clv_fitdata_merge(&bc, c, mem, NULL);
		clv_fitdata_merge(&a_bc, bc, mem, NULL);
		assoc &= fitdata_same(&ab_c, &a_bc);
		split_ok &= fitdata_same(&ab_c, &whole);
		clv_fitdata_merge(&ae, empty, mem, NULL);
		ident &= fitdata_same(&ae, &a);
		clv_fitdata_merge(&empty, a, mem, NULL);
		ident &= fitdata_same(&empty, &a);
		free(a);
		free(b);
		free(c);
		free(ab);
		free(ba);
		free(bc);
		free(ab_c);
		free(a_bc);
		free(ae);
		free(empty);
	}
	CHECK(split_ok, "fit input of any 3-way split of the customers, merged, equals the whole");
	CHECK(commut, "fit input merge is commutative");
	CHECK(assoc, "fit input merge is associative");
	CHECK(ident, "the empty fit input is the identity");
}

/* ----------------------------------------------------------------- 2F1 */

static void
test_hyp2f1(void)
{
	static const double zs[] = {-50.0, -3.0, -0.5, -1e-3, 0.2, 0.9, 0.999};
	bool		ok = true;
	double		worst = 0.0;

	/*
	 * Tolerances: round-off grows with the number of terms (7,000 at
	 * z = 0.999), and 1 + b R loses digits where 2F1 itself is tiny.
	 */
	for (size_t i = 0; i < sizeof(zs) / sizeof(zs[0]); i++)
	{
		double		z = zs[i];
		double		want = -log1p(-z) / z;

		ok &= fabs(clv_hyp2f1(1, 1, 2, z) - want) <= 1e-12 * fabs(want);
		ok &= fabs(clv_hyp2f1_reduced(2.5, 0.0, 2.5, z) + log1p(-z)) <= 1e-12 * fabs(log1p(-z));
		ok &= fabs(clv_hyp2f1(2.7, 1.3, 1.3, z) - pow(1 - z, -2.7)) <= 1e-11 * pow(1 - z, -2.7);
	}
	CHECK(ok, "2F1(1,1;2;z) = -ln(1-z)/z, (2F1(c,b;c;z)-1)/b at b=0 = -ln(1-z), 2F1(a,b;b;z) = (1-z)^-a");
	ok = true;
	for (double v = 0.5; v < 200.0; v *= 3.0)
		ok &= fabs(clv_hyp2f1(0.5, 1, 1.5, -v * v) - atan(v) / v) <= 1e-11 * atan(v) / v;
	ok &= fabs(clv_hyp2f1(0.5, 0.5, 1.5, 0.81) - asin(0.9) / 0.9) <= 1e-14;
	CHECK(ok, "2F1(1/2,1;3/2;-v^2) = atan(v)/v and 2F1(1/2,1/2;3/2;z^2) = asin(z)/z");
	ok = true;
	for (int k = 0; k < 400; k++)
	{
		double		a = 0.05 + 6 * rng_uniform();
		double		b = (k % 3 == 0 ? -1.0 : 1.0) * 4 * rng_uniform();
		double		c = 0.1 + 8 * rng_uniform();
		double		z = -0.8 + 1.6 * rng_uniform();
		double		want = naive_hyp2f1(a, b, c, z);
		double		got = clv_hyp2f1(a, b, c, z);
		double		err = fabs(got - want) / fmax(1.0, fabs(want));

		worst = fmax(worst, err);
		ok &= err <= 1e-12;
	}
	printf("# 2F1 vs its direct series, 400 random cases with |z| <= 0.8: worst relative error %.2g\n", worst);
	CHECK(ok, "2F1 (Pfaff for z < 0) agrees with the direct series where that converges");
	CHECK(isnan(clv_hyp2f1(1, 1, 2, 1.0)) && isnan(clv_hyp2f1_reduced(1, 1, 2, 1.5)),
		  "2F1 at z >= 1 is NaN");
	CHECK(fabs(clv_hyp2f1_reduced(-3, 2, 1.5, 0.5) -
			   (naive_hyp2f1(-3, 2, 1.5, 0.5) - 1.0) / 2.0) < 1e-15,
		  "a terminating series (a = -3) stops exactly");
	{
		/*
		 * The published form 2F1(r+x, b+x; a+b+x-1; z) grows like (1-z)^-x:
		 * at x = 900, z = 1/2 its terms pass 2^600 and are rescaled.
		 */
		double		x = 900;
		double		got = clv_hyp2f1(0.243 + x, 2.426 + x, 0.793 + 2.426 + x - 1, 0.5);
		double		want = naive_hyp2f1(0.243 + x, 2.426 + x, 0.793 + 2.426 + x - 1, 0.5);

		CHECK(want > 1e270 && fabs(got / want - 1) < 1e-12,
			  "2F1 of the published form at x = 900 (value 1e271) is summed with rescaling");
	}
}

/* ---------------------------------------------------------------- fit */

static int	interrupt_calls;

static void
count_interrupts(void *arg)
{
	(void) arg;
	interrupt_calls++;
}

static void
test_fit_cdnow(const clv_fitdata *fd, clv_model *fitted)
{
	clv_fit_outcome outcome;
	double		t0,
				best = INFINITY;
	kpi_status	st = KPI_OK;

	for (int k = 0; k < 5; k++)
	{
		interrupt_calls = 0;
		t0 = now_ms();
		st = clv_fit(fd, mem, count_interrupts, NULL, fitted, &outcome, NULL);
		best = fmin(best, now_ms() - t0);
	}
	printf("# fit on CDNOW (2,357 customers): %.2f ms (best of 5), %d interrupt checks\n",
		   best, interrupt_calls);
	CHECK(st == KPI_OK && outcome == CLV_FIT_OK, "CDNOW fit succeeds");
	if (outcome != CLV_FIT_OK)
		return;
	printf("# r %.6f alpha %.6f a %.6f b %.6f LL %.4f | p %.6f q %.6f gamma %.6f LL %.4f\n",
		   fitted->r, fitted->alpha, fitted->a, fitted->b, fitted->loglik_bgnbd,
		   fitted->p, fitted->q, fitted->gamma, fitted->loglik_gg);
	CHECK_NEAR(fitted->r, 0.243, 0.0005, "r = 0.243 (FHL 2005)");
	CHECK_NEAR(fitted->alpha, 4.414, 0.0005, "alpha = 4.414 (FHL 2005)");
	CHECK_NEAR(fitted->a, 0.793, 0.0005, "a = 0.793 (FHL 2005)");
	CHECK_NEAR(fitted->b, 2.426, 0.0005, "b = 2.426 (FHL 2005)");
	CHECK_NEAR(fitted->loglik_bgnbd, -9582.4, 0.05, "BG/NBD log-likelihood = -9582.4 (FHL 2005)");
	CHECK_NEAR(fitted->p, 6.25, 0.005, "p = 6.25 (Fader & Hardie 2013)");
	CHECK_NEAR(fitted->q, 3.74, 0.005, "q = 3.74 (Fader & Hardie 2013)");
	CHECK_NEAR(fitted->gamma, 15.44, 0.005, "gamma = 15.44 (Fader & Hardie 2013)");
	CHECK_NEAR(fitted->loglik_gg, -4055.9177, 0.001,
			   "Gamma-Gamma log-likelihood = -4055.9177 (CLVTools' CDNOW correctness test)");
	CHECK(fitted->customers == 2357 && fitted->repeat_customers == 946,
		  "2,357 customers, 946 with repeat purchases");
	CHECK(interrupt_calls > 0, "the fit calls the interrupt callback");
	if (TIMING_ENFORCED)
		CHECK(best < 100.0, "CDNOW fit takes under 100 ms");
}

static void
test_fit_row_order(const clv_fitdata *whole, const clv_model *fitted)
{
	clv_fitdata *reversed = fitdata_copy(whole);
	clv_model	model;
	clv_fit_outcome outcome;
	bool		same = true;

	for (int32_t i = 0; i < reversed->nrows; i++)
		reversed->rows[i] = whole->rows[whole->nrows - 1 - i];
	reversed->flags &= ~CLV_FITDATA_NORMALIZED;
	CHECK(clv_fit(reversed, mem, NULL, NULL, &model, &outcome, NULL) == KPI_OK &&
		  outcome == CLV_FIT_OK, "the fit sorts an unnormalized input itself");
	for (int i = 0; i < 7; i++)
	{
		double		params[2][7] = {
			{model.r, model.alpha, model.a, model.b, model.p, model.q, model.gamma},
			{fitted->r, fitted->alpha, fitted->a, fitted->b, fitted->p, fitted->q, fitted->gamma}
		};

		same &= fabs(params[0][i] / params[1][i] - 1) < 1e-6;
	}
	CHECK(same && memcmp(reversed->rows, whole->rows, 16) != 0,
		  "the fit does not depend on row order, and leaves its input alone");
	free(reversed);
}

/* Mutated text forms never crash a parser; they parse or fail with TEXT/VERSION. */
static void
test_text_fuzz(const char *rfm_text, const char *fit_text, const char *model_text,
			   const char *orders_text)
{
	const char *seeds[4] = {rfm_text, fit_text, model_text, orders_text};
	static const char alphabet[] = "()[],:v0123456789.-+eE naIN";
	bool		ok = true;

	for (int k = 0; k < 4000; k++)
	{
		const char *seed = seeds[k % 4];
		size_t		len = strlen(seed);
		char	   *t = malloc(len + 1);
		kpi_status	st;

		memcpy(t, seed, len + 1);
		for (int j = 0; j < 1 + rng_below(4); j++)
		{
			size_t		at = (size_t) rng_below((int) len);

			if (rng_below(4) == 0)
				t[at] = '\0';
			else
				t[at] = alphabet[rng_below((int) sizeof(alphabet) - 1)];
		}
		if (k % 4 == 0)
		{
			clv_rfm    *r;

			st = clv_rfm_parse(t, mem, &r, NULL);
			if (st == KPI_OK)
				free(r);
		}
		else if (k % 4 == 1)
		{
			clv_fitdata *fd;

			st = clv_fitdata_parse(t, mem, &fd, NULL);
			if (st == KPI_OK)
				free(fd);
		}
		else if (k % 4 == 2)
		{
			clv_model	m;

			st = clv_model_parse(t, &m, NULL);
		}
		else
		{
			clv_orders *o;

			st = clv_orders_parse(t, mem, &o, NULL);
			if (st == KPI_OK)
				free(o);
		}
		ok &= st == KPI_OK || st == KPI_ERR_TEXT || st == KPI_ERR_VERSION;
		free(t);
	}
	CHECK(ok, "4,000 mutated text forms parse or fail with KPI_ERR_TEXT/VERSION");
}

static void
test_fit_degenerate(void)
{
	clv_fitdata *fd;
	clv_model	model;
	clv_fit_outcome outcome;
	clv_summary s;

	clv_fitdata_create(&fd, mem, NULL);
	for (int i = 0; i < 9; i++)
	{
		s = make_summary(i % 3, 10 * (i % 3), 50 + i, i % 3 ? 10.0 + i : 0.0);
		clv_fitdata_add(&fd, &s, mem, NULL);
	}
	CHECK(clv_fit(fd, mem, NULL, NULL, &model, &outcome, NULL) == KPI_OK &&
		  outcome == CLV_FIT_TOO_FEW_CUSTOMERS, "9 customers: no model, no error");
	free(fd);

	clv_fitdata_create(&fd, mem, NULL);
	for (int i = 0; i < 500; i++)
	{
		s = make_summary(0, 0, 10 + i % 50, 0.0);
		clv_fitdata_add(&fd, &s, mem, NULL);
	}
	CHECK(clv_fit(fd, mem, NULL, NULL, &model, &outcome, NULL) == KPI_OK &&
		  outcome == CLV_FIT_TOO_FEW_REPEATERS, "no repeat purchases: no model, no error");

	/*
	 * Repeat buyers of 1 to 4 repeat days who all bought in the last weeks
	 * of a short history: nothing tells dropout from a low rate, and the
	 * likelihood rises towards a model without dropout (a -> 0).  The fit
	 * gives up within its evaluation budget (2,000 per model).
	 */
	for (int i = 0; i < 200; i++)
	{
		s = make_summary(1 + i % 4, 20 + i % 30, 60 + i % 7, 25.0 + i % 5);
		clv_fitdata_add(&fd, &s, mem, NULL);
	}
	interrupt_calls = 0;
	CHECK(clv_fit(fd, mem, count_interrupts, NULL, &model, &outcome, NULL) == KPI_OK &&
		  outcome == CLV_FIT_BGNBD_FAILED && interrupt_calls <= 2000,
		  "a likelihood without an interior maximum: no model, no error, a bounded effort");
	printf("# outcome: %s (%d evaluations)\n", clv_fit_outcome_text(outcome), interrupt_calls);
	free(fd);
}

/* CDNOW's purchase histories with every repeat spend the same amount. */
static void
test_fit_identical_spends(const clv_fitdata *whole)
{
	clv_fitdata *flat = fitdata_copy(whole);
	clv_model	model;
	clv_fit_outcome outcome;

	for (int32_t i = 0; i < flat->nrows; i++)
		if (flat->rows[i].x > 0)
			flat->rows[i].m = 25.0;
	flat->flags &= ~CLV_FITDATA_NORMALIZED;
	CHECK(clv_fit(flat, mem, NULL, NULL, &model, &outcome, NULL) == KPI_OK &&
		  outcome == CLV_FIT_GG_FAILED, "identical spends cannot identify Gamma-Gamma: no model, no error");
	printf("# outcome: %s\n", clv_fit_outcome_text(outcome));
	free(flat);
}

/* An allocator that remembers its blocks, so a longjmp leaks nothing. */
typedef struct tracked
{
	void	   *blocks[64];
	int			n;
} tracked;

static void *
tracked_alloc(size_t size, void *ctx)
{
	tracked    *t = ctx;
	void	   *p;

	if (t->n == 64)
		return NULL;
	p = malloc(size);
	t->blocks[t->n++] = p;
	return p;
}

static void *
tracked_realloc(void *ptr, size_t size, void *ctx)
{
	tracked    *t = ctx;

	for (int i = 0; i < t->n; i++)
		if (t->blocks[i] == ptr)
			return t->blocks[i] = realloc(ptr, size);
	return NULL;
}

static void
tracked_free(void *ptr, void *ctx)
{
	tracked    *t = ctx;

	for (int i = 0; i < t->n; i++)
		if (t->blocks[i] == ptr)
		{
			t->blocks[i] = t->blocks[--t->n];
			free(ptr);
			return;
		}
}

static jmp_buf interrupt_jump;

static void
interrupt_by_longjmp(void *arg)
{
	if (++*(int *) arg == 5)
		longjmp(interrupt_jump, 1);
}

static void
test_fit_interrupt(const clv_fitdata *fd)
{
	tracked		t = {{NULL}, 0};
	kpi_allocator tracking = {tracked_alloc, tracked_realloc, tracked_free, &t, false};
	clv_model	model;
	clv_fit_outcome outcome;
	volatile int jumped = 0;
	int			calls = 0;

	if (setjmp(interrupt_jump) == 0)
		clv_fit(fd, &tracking, interrupt_by_longjmp, &calls, &model, &outcome, NULL);
	else
		jumped = 1;
	CHECK(jumped && t.n > 0, "an interrupt may longjmp out of the fit");
	while (t.n > 0)
		tracked_free(t.blocks[0], &t);
	CHECK(t.n == 0, "all memory of an interrupted fit came from the allocator (none leaked)");
}

/* ----------------------------------------------- orders of many customers */

static const clv_orders_settings open_ended = {false, false, false, 0, {0, 0, 0}};

static clv_orders_settings
observed_settings(int32_t observed)
{
	clv_orders_settings set = open_ended;

	set.observed = true;
	set.observed_until = observed;
	return set;
}

static clv_orders *
orders_copy(const clv_orders *o)
{
	return memdup(o, clv_orders_size(o));
}

/* Same canonical bytes after compacting, in memory and encoded. */
static bool
orders_same(clv_orders **a, clv_orders **b)
{
	size_t		na,
				nb;
	uint8_t    *ea,
			   *eb;
	bool		same;

	if (clv_orders_compact(a, mem, NULL) != KPI_OK || clv_orders_compact(b, mem, NULL) != KPI_OK ||
		clv_orders_size(*a) != clv_orders_size(*b) ||
		memcmp(*a, *b, clv_orders_size(*a)) != 0)
		return false;
	ea = ENCODE(clv_orders, *a, &na);
	eb = ENCODE(clv_orders, *b, &nb);
	same = ea != NULL && eb != NULL && na == nb && memcmp(ea, eb, na) == 0;
	free(ea);
	free(eb);
	return same;
}

static void
test_orders_by_hand(void)
{
	clv_orders_settings at50 = observed_settings(50);
	clv_orders *o;
	clv_orders *back;
	clv_summary *sums;
	int32_t		n;
	clv_orders_totals tot;
	bool		found;
	char	   *text;
	kpi_msg		msg;

	/*
	 * customer 7: day 10 (1.5 + 2.25), day 20 (3), day 60 (after 50);
	 * customer -3: day 40 (4.125); customer 9: day 12 (0.5), day 30 (1)
	 */
	clv_orders_create(&o, mem, NULL);
	CHECK(clv_orders_add(&o, &at50, 7, 20, 3, 0, mem, NULL) == KPI_OK &&
		  clv_orders_add(&o, &at50, 7, 60, 100, 0, mem, NULL) == KPI_OK &&
		  clv_orders_add(&o, &at50, -3, 40, 4125, 3, mem, NULL) == KPI_OK &&
		  clv_orders_add(&o, &at50, 7, 10, 15, 1, mem, NULL) == KPI_OK &&
		  clv_orders_add(&o, &at50, 9, 30, 1, 0, mem, NULL) == KPI_OK &&
		  clv_orders_add(&o, &at50, 7, 10, 225, 2, mem, NULL) == KPI_OK &&
		  clv_orders_add(&o, &at50, 9, 12, 5, 1, mem, NULL) == KPI_OK,
		  "orders of several customers in any order are accepted");
	CHECK(clv_orders_summaries(o, mem, &sums, &n, NULL) == KPI_OK && n == 3 &&
		  sums[0].x == 0 && sums[0].T == 10 && sums[0].first_day == 40 && sums[0].m == 0.0 &&
		  sums[1].x == 1 && sums[1].t_x == 10 && sums[1].T == 40 && sums[1].m == 3.0 &&
		  sums[2].x == 1 && sums[2].t_x == 18 && sums[2].T == 38 && sums[2].m == 1.0,
		  "per-customer summaries by hand, in key order (-3, 7, 9)");
	free(sums);
	CHECK(clv_orders_get_totals(o, mem, &tot, &found, NULL) == KPI_OK && found &&
		  tot.customers == 3 && tot.orders == 6 && tot.revenue == 12375 && tot.scale == 3 &&
		  tot.first_day == 10 && tot.end_day == 50,
		  "totals by hand: 3 customers, 6 orders (day 60 ignored), 12.375, days 10..50");
	text = FORMAT_TEXT(clv_orders, o);
	clv_orders_compact(&o, mem, NULL);
	free(text);
	text = FORMAT_TEXT(clv_orders, o);
	CHECK(text != NULL && strcmp(text, "(v:1,keys:int,observed_until:50,orders:6,days:["
								 "(-3,40,4.125),(7,10,3.750),(7,20,3.000),(9,12,0.500),(9,30,1.000)])") == 0,
		  "canonical text form: sorted, same-day amounts summed, exact at the largest scale");
	CHECK(clv_orders_parse(text, mem, &back, NULL) == KPI_OK && orders_same(&back, &o),
		  "the text form reads back to the same bytes");
	free(back);
	free(text);
	{
		clv_orders_settings other = observed_settings(51);
		clv_orders_settings hashed = at50;
		clv_orders_settings horizon = at50;

		hashed.hashed_keys = true;
		horizon.has_horizon = true;
		horizon.horizon.months = 12;
		CHECK(clv_orders_add(&o, &other, 1, 1, 1, 0, mem, &msg) == KPI_ERR_PARAM &&
			  strstr(msg.text, "observed_until") != NULL &&
			  clv_orders_add(&o, &open_ended, 1, 1, 1, 0, mem, NULL) == KPI_ERR_PARAM &&
			  clv_orders_add(&o, &hashed, 1, 1, 1, 0, mem, &msg) == KPI_ERR_PARAM &&
			  strstr(msg.text, "customer ids") != NULL &&
			  clv_orders_add(&o, &horizon, 1, 1, 1, 0, mem, &msg) == KPI_ERR_PARAM &&
			  strstr(msg.text, "horizon") != NULL,
			  "rows with other settings are KPI_ERR_PARAM, naming what differs");
		printf("# detail: %s\n", msg.text);
		clv_orders_create(&back, mem, NULL);
		clv_orders_add(&back, &hashed, 1, 1, 1, 0, mem, NULL);
		CHECK(clv_orders_merge(&o, back, mem, &msg) == KPI_ERR_MISMATCH,
			  "merging states of other settings is KPI_ERR_MISMATCH");
		printf("# detail: %s\n", msg.text);
		free(back);
	}
	free(o);

	/* hashed keys, a horizon, a negative amount: text in, canonical text out */
	{
		clv_orders_settings got;

		CHECK(clv_orders_parse("(v:1,keys:hash,observed_until:90,horizon:[12,0,0],orders:5,"
							   "days:[(2,90,-1),(-7,40,2.25),(2,9,0.00),(-7,3,1.5)])",
							   mem, &o, NULL) == KPI_OK &&
			  (text = FORMAT_TEXT(clv_orders, o)) != NULL &&
			  strcmp(text, "(v:1,keys:hash,observed_until:90,horizon:[12,0,0],orders:5,"
					 "days:[(-7,3,1.50),(-7,40,2.25),(2,9,0.00),(2,90,-1.00)])") == 0 &&
			  clv_orders_get_settings(o, &got) && got.hashed_keys && got.observed &&
			  got.observed_until == 90 && got.has_horizon && got.horizon.months == 12,
			  "a state with hashed keys and a horizon reads in any order and prints canonically");
		free(text);
		free(o);
	}

	/* open-ended observation ends at the latest purchase day */
	clv_orders_create(&o, mem, NULL);
	clv_orders_add(&o, &open_ended, 1, 100, 10, 0, mem, NULL);
	clv_orders_add(&o, &open_ended, 1, 107, 20, 0, mem, NULL);
	clv_orders_add(&o, &open_ended, 2, 130, 5, 0, mem, NULL);
	CHECK(clv_orders_summaries(o, mem, &sums, &n, NULL) == KPI_OK && n == 2 &&
		  sums[0].T == 30 && sums[0].t_x == 7 && sums[0].m == 20.0 && sums[1].T == 0,
		  "without observed_until T runs to the latest purchase day of the state");
	free(sums);
	free(o);

	/* rows after observed_until only: settings fixed, nothing counted */
	clv_orders_create(&o, mem, NULL);
	clv_orders_add(&o, &at50, 1, 51, 10, 2, mem, NULL);
	text = FORMAT_TEXT(clv_orders, o);
	CHECK(text != NULL && strcmp(text, "(v:1,keys:int,observed_until:50,orders:0,days:[])") == 0 &&
		  clv_orders_get_totals(o, mem, &tot, &found, NULL) == KPI_OK && !found,
		  "orders after observed_until are ignored but fix the settings");
	free(text);
	free(o);

	/* amounts: rescaling and int128 limits leave the value alone on error */
	clv_orders_create(&o, mem, NULL);
	{
		__int128	big = ((__int128) 1 << 126);

		CHECK(clv_orders_add(&o, &at50, 1, 1, big, 0, mem, NULL) == KPI_OK &&
			  clv_orders_add(&o, &at50, 2, 1, 1, 1, mem, NULL) == KPI_ERR_OVERFLOW &&
			  clv_orders_add(&o, &at50, 1, 1, big, 0, mem, NULL) == KPI_ERR_OVERFLOW &&
			  o->amount_scale == 0 && o->ndays == 1 && o->orders == 1 && o->days[0].amount == big,
			  "amounts past int128, also by rescaling, are KPI_ERR_OVERFLOW and change nothing");
	}
	free(o);

	/* rows in key order are never sorted */
	clv_orders_create(&o, mem, NULL);
	for (int i = 0; i < 1000; i++)
		clv_orders_add(&o, &at50, i / 4, i % 4, i, 2, mem, NULL);
	CHECK((o->flags & CLV_ORDERS_NORMALIZED) && o->ndays == 1000 && o->capacity >= 1000,
		  "rows arriving in (customer, day) order keep the state sorted");
	clv_orders_add(&o, &at50, 3, 0, 1, 0, mem, NULL);
	CHECK(!(o->flags & CLV_ORDERS_NORMALIZED) && o->ndays == 1001,
		  "a row out of order marks the state unsorted");
	CHECK(clv_orders_compact(&o, mem, NULL) == KPI_OK && o->ndays == 1000 &&
		  o->capacity == 1000 && o->days[12].amount == 12 + 100 && o->orders == 1001,
		  "compacting folds the late row into its (customer, day)");
	free(o);
}

/* Build a state from the orders idx[0..n) of CDNOW with given settings. */
static clv_orders *
cdnow_orders(const int *idx, int n, const clv_orders_settings *set, bool hashed)
{
	clv_orders *o;
	bool		ok = true;

	clv_orders_create(&o, mem, NULL);
	for (int i = 0; i < n; i++)
	{
		const order *od = &orders[idx[i]];
		/* a hash-like key: an odd multiplier permutes the 64-bit integers */
		int64_t		key = hashed ? (int64_t) ((uint64_t) od->customer * 0x9E3779B97F4A7C15ULL) :
			od->customer;

		ok &= clv_orders_add(&o, set, key, od->day, od->coef, od->scale, mem, NULL) == KPI_OK;
	}
	if (!ok)
	{
		free(o);
		return NULL;
	}
	return o;
}

static void
test_orders_cdnow(clv_rfm **states, const clv_model *fitted)
{
	int32_t		observed = day_number(1997, 9, 30);
	clv_orders_settings set = observed_settings(observed);
	int		   *idx = malloc(sizeof(int) * norders);
	clv_orders *whole;
	clv_summary *sums;
	int32_t		n;
	bool		ok = true;
	double		t0,
				t_build;

	for (int i = 0; i < norders; i++)
		idx[i] = i;
	shuffle(idx, norders);
	t0 = now_ms();
	whole = cdnow_orders(idx, norders, &set, false);
	t_build = now_ms() - t0;
	printf("# CLV orders state of the 6,919 CDNOW orders, shuffled: %.2f ms, %d purchase days\n",
		   t_build, whole ? (int) whole->ndays : -1);
	CHECK(whole != NULL && clv_orders_summaries(whole, mem, &sums, &n, NULL) == KPI_OK &&
		  n == CDNOW_CUSTOMERS, "all 2,357 CDNOW customers have a summary");
	if (whole == NULL || n != CDNOW_CUSTOMERS)
		return;
	for (int c = 1; c <= CDNOW_CUSTOMERS; c++)
	{
		clv_summary r;
		bool		found;

		ok &= clv_rfm_summary(states[c], observed, &r, &found, NULL) == KPI_OK && found &&
			r.x == sums[c - 1].x && r.t_x == sums[c - 1].t_x && r.T == sums[c - 1].T &&
			r.first_day == sums[c - 1].first_day && r.last_day == sums[c - 1].last_day &&
			r.m == sums[c - 1].m;
		ok &= sums[c - 1].x == hardie[c].x &&
			fabs(sums[c - 1].m - hardie[c].zbar) <= 0.005 + 1e-9;
	}
	CHECK(ok, "each summary equals the customer's own RFM summary and Hardie's x and zbar");
	free(sums);

	/* split at random into 3 shuffled parts, merged in two orders */
	for (int round = 0; round < 3; round++)
	{
		int			c1 = rng_below(norders + 1);
		int			c2 = c1 + rng_below(norders - c1 + 1);
		clv_orders *a,
				   *b,
				   *c,
				   *empty,
				   *ab_c,
				   *bc;

		shuffle(idx, norders);
		a = cdnow_orders(idx, c1, &set, false);
		b = cdnow_orders(idx + c1, c2 - c1, &set, false);
		c = cdnow_orders(idx + c2, norders - c2, &set, false);
		clv_orders_create(&empty, mem, NULL);
		ab_c = orders_copy(a);
		bc = orders_copy(b);
		ok = clv_orders_merge(&ab_c, b, mem, NULL) == KPI_OK &&
			clv_orders_merge(&ab_c, c, mem, NULL) == KPI_OK &&
			clv_orders_merge(&ab_c, empty, mem, NULL) == KPI_OK &&
			clv_orders_merge(&bc, c, mem, NULL) == KPI_OK &&
			clv_orders_merge(&empty, bc, mem, NULL) == KPI_OK &&
			clv_orders_merge(&empty, a, mem, NULL) == KPI_OK;
		ok &= orders_same(&ab_c, &whole) && orders_same(&empty, &whole);
		CHECK(ok, "orders split in 3 at random, merged as (a+b)+c and (0+(b+c))+a: same bytes as in one go");
		free(a);
		free(b);
		free(c);
		free(empty);
		free(ab_c);
		free(bc);
	}

	/* codecs */
	{
		size_t		len;
		uint8_t    *buf = ENCODE(clv_orders, whole, &len);
		clv_orders *back;
		char	   *text = FORMAT_TEXT(clv_orders, whole);

		CHECK(buf != NULL && DECODE_WHOLE(clv_orders, buf, len, &back) == KPI_OK &&
			  orders_same(&back, &whole), "orders binary form round-trips");
		free(back);
		CHECK(text != NULL && clv_orders_parse(text, mem, &back, NULL) == KPI_OK &&
			  orders_same(&back, &whole), "orders text form round-trips");
		free(back);
		free(text);
		CHECK(DECODE_FUZZ(clv_orders, buf, len, 128),
			  "truncated, corrupted or random orders bytes are errors, never crashes");
		free(buf);
	}

	/* the fit and the mean CLV straight from the orders */
	{
		clv_model	model;
		clv_fit_outcome outcome;
		double		mean = 0.0,
					want = 0.0;

		t0 = now_ms();
		CHECK(clv_orders_fit(whole, mem, NULL, NULL, &model, &outcome, NULL) == KPI_OK &&
			  outcome == CLV_FIT_OK && memcmp(&model, fitted, sizeof(model)) == 0,
			  "the fit from orders equals the fit from the customers' RFM states, bit for bit");
		printf("# fit from the CDNOW orders state (summaries included): %.2f ms\n", now_ms() - t0);
		for (int c = 1; c <= CDNOW_CUSTOMERS; c++)
		{
			clv_summary r;
			bool		found;
			double		v;

			clv_rfm_summary(states[c], observed, &r, &found, NULL);
			clv_value(fitted, &r, 12, 0.01, &v, NULL);
			want += v;
		}
		want /= CDNOW_CUSTOMERS;
		CHECK(clv_orders_mean_value(whole, 12, 0.01, mem, NULL, NULL, &mean, &outcome, NULL) == KPI_OK &&
			  outcome == CLV_FIT_OK && fabs(mean - want) <= 1e-12 * want,
			  "mean 12-month CLV from orders = mean of the per-customer CLVs of the RFM fit");
		printf("# CDNOW mean 12-month CLV at 1 %%: %.4f\n", mean);
		CHECK(clv_orders_mean_value(whole, -1, 0.01, mem, NULL, NULL, &mean, &outcome, NULL) == KPI_ERR_PARAM &&
			  clv_orders_mean_value(whole, 12, -2, mem, NULL, NULL, &mean, &outcome, NULL) == KPI_ERR_PARAM,
			  "a bad horizon or discount is KPI_ERR_PARAM before any fitting");
	}

	/* hashed keys give the same customers, hence the same fit */
	{
		clv_orders_settings hset = set;
		clv_orders *hashed;
		clv_model	model,
					plain;
		clv_fit_outcome o1,
					o2;

		hset.hashed_keys = true;
		hashed = cdnow_orders(idx, norders, &hset, true);
		CHECK(hashed != NULL &&
			  clv_orders_fit(hashed, mem, NULL, NULL, &model, &o1, NULL) == KPI_OK &&
			  clv_orders_fit(whole, mem, NULL, NULL, &plain, &o2, NULL) == KPI_OK &&
			  o1 == CLV_FIT_OK && memcmp(&model, &plain, sizeof(model)) == 0,
			  "permuted (hashed) customer keys give the same fit");
		free(hashed);
	}
	free(whole);
	free(idx);
}

/* -------------------------------------------------------- predictions */

static void
test_predictions(const clv_model *fitted)
{
	clv_model	pub = make_model(0.243, 4.414, 0.793, 2.426, 6.25, 3.74, 15.44);
	clv_summary c1 = make_summary(2, 213, 272, 22.345);
	double		e;
	bool		ok;
	double		worst = 0.0;

	/* FHL 2005: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in 39 weeks */
	clv_expected_orders(&pub, &c1, 39.0, &e, NULL);
	printf("# E[Y(39) | x=2, t_x=30.43, T=38.86] = %.6f (published 1.226)\n", e);
	CHECK_NEAR(e, 1.226, 0.0005, "expected purchases in 39 weeks for x=2, t_x=30.43, T=38.86 = 1.226 (FHL 2005)");
	CHECK_NEAR(e, fhl_expected_orders(&pub, 2, 213 / 7.0, 272 / 7.0, 39.0), 1e-12,
			   "same as FHL eq. 10 summed naively");

	/* the core's series against the quadrature of the model */
	ok = true;
	{
		static const double params[][4] = {
			{0.243, 4.414, 0.793, 2.426}, {1.7, 12.0, 3.2, 5.5}, {0.5, 2.0, 1.0, 1.5},
			{0.5, 2.0, 1.0 + 1e-9, 1.5}, {0.5, 2.0, 1.0 - 1e-9, 1.5}, {0.9, 6.0, 0.3, 0.4},
			{2.0, 1.0, 0.05, 20.0}, {0.3, 50.0, 7.0, 1.2}
		};
		static const int xs[][3] = {{0, 0, 80}, {1, 40, 60}, {2, 213, 272}, {7, 300, 305},
		{40, 500, 520}, {500, 3000, 3100}, {5000, 36000, 36400}};
		static const double horizons[] = {1.0, 39.0, 520.0};

		for (size_t pi = 0; pi < sizeof(params) / sizeof(params[0]); pi++)
			for (size_t xi = 0; xi < sizeof(xs) / sizeof(xs[0]); xi++)
				for (size_t hi = 0; hi < 3; hi++)
				{
					clv_model	m = make_model(params[pi][0], params[pi][1], params[pi][2],
											   params[pi][3], 1, 2, 1);
					clv_summary s = make_summary(xs[xi][0], xs[xi][1], xs[xi][2], 0);
					double		T = xs[xi][2] / 7.0;
					double		want = naive_p_alive(&m, s.x, s.t_x / 7.0, T) *
						quad_alive_expectation(&m, s.x, T, horizons[hi]);
					double		err;

					if (clv_expected_orders(&m, &s, horizons[hi], &e, NULL) != KPI_OK)
						ok = false;
					err = fabs(e - want) / fmax(want, 1e-300);
					worst = fmax(worst, err);
					if (!(err <= 1e-9))
					{
						printf("# params %zu x %d horizon %g: got %.17g want %.17g\n",
							   pi, s.x, horizons[hi], e, want);
						ok = false;
					}
				}
	}
	printf("# expected orders vs quadrature, 168 cases (x up to 5000, a = 1 and 1 +- 1e-9): worst relative error %.2g\n",
		   worst);
	CHECK(ok, "expected orders agree with a quadrature of the model (incl. a = 1, large x)");
	{
		clv_model	m0 = make_model(0.5, 2.0, 1.0, 1.5, 1, 2, 1);
		clv_model	m1 = make_model(0.5, 2.0, 1.0 + 1e-7, 1.5, 1, 2, 1);
		clv_summary s = make_summary(3, 30, 70, 0);
		double		e0,
					e1;

		clv_expected_orders(&m0, &s, 52.0, &e0, NULL);
		clv_expected_orders(&m1, &s, 52.0, &e1, NULL);
		CHECK(isfinite(e0) && fabs(e0 - e1) < 1e-6 * e0, "expected orders are continuous at a = 1");
	}
	{
		clv_summary s = make_summary(1, 1, 10, 0);

		CHECK(clv_expected_orders(&pub, &s, -1.0, &e, NULL) == KPI_ERR_PARAM &&
			  clv_expected_orders(&pub, &s, NAN, &e, NULL) == KPI_ERR_PARAM &&
			  clv_expected_orders(&pub, &s, 0.0, &e, NULL) == KPI_OK && e == 0.0,
			  "a negative or NaN horizon is KPI_ERR_PARAM; a zero horizon expects 0");
	}

	/* P(alive) */
	{
		bool		mono_tx = true,
					mono_T = true,
					formula = true;
		double		prev = 0.0;
		clv_summary s;

		for (int tx = 2; tx <= 272; tx += 10)
		{
			double		pa;

			s = make_summary(2, tx, 272, 0);
			pa = clv_p_alive(fitted, &s);
			mono_tx &= pa > prev && pa < 1.0;
			formula &= fabs(pa - naive_p_alive(fitted, 2, tx / 7.0, 272 / 7.0)) < 1e-14;
			prev = pa;
		}
		prev = 1.0;
		for (int T = 100; T <= 2000; T += 50)
		{
			double		pa;

			s = make_summary(5, 100, T, 0);
			pa = clv_p_alive(fitted, &s);
			mono_T &= pa < prev && pa > 0.0;
			prev = pa;
		}
		CHECK(mono_tx, "P(alive) rises with recency t_x");
		CHECK(mono_T, "P(alive) falls with age T at fixed recency");
		CHECK(formula, "P(alive) equals FHL eq. 11");
		s = make_summary(0, 0, 272, 0);
		CHECK(clv_p_alive(fitted, &s) == 1.0, "P(alive) = 1 without repeat purchases");
		s = make_summary(200000, 1000000, 10000000, 0);
		CHECK(clv_p_alive(fitted, &s) >= 0.0 && clv_p_alive(fitted, &s) < 1e-300,
			  "P(alive) underflows to 0 without NaN for extreme histories");
	}

	/* expected order value */
	{
		clv_summary s0 = make_summary(0, 0, 272, 0);

		CHECK_NEAR(clv_expected_order_value(fitted, &c1), weighted_order_value(fitted, 2, 22.345), 1e-12,
				   "expected order value = credibility-weighted mean of the population's and the customer's");
		CHECK_NEAR(clv_expected_order_value(fitted, &s0), fitted->p * fitted->gamma / (fitted->q - 1), 1e-12,
				   "expected order value without repeat purchases = p gamma / (q - 1)");
		{
			clv_model	heavy = *fitted;

			heavy.q = 0.9;
			CHECK(isnan(clv_expected_order_value(&heavy, &c1)), "q <= 1 has no expected order value (NaN)");
		}
	}

	/* CLV */
	{
		clv_summary s = make_summary(4, 200, 250, 31.5);
		double		v0,
					v1,
					want = 0.0,
					prev = 0.0,
					eov = weighted_order_value(fitted, 4, 31.5),
					pa = naive_p_alive(fitted, 4, 200 / 7.0, 250 / 7.0);

		for (int i = 1; i <= 12; i++)
		{
			double		cur = pa * quad_alive_expectation(fitted, 4, 250 / 7.0, i * 4.345);

			want += (cur - prev) * eov / pow(1.01, i);
			prev = cur;
		}
		CHECK(clv_value(fitted, &s, 12, 0.01, &v1, NULL) == KPI_OK, "CLV computes");
		CHECK_NEAR(v1, want, 1e-9 * want, "12-month CLV at 1 % = discounted monthly increments (quadrature)");
		clv_value(fitted, &s, 12, 0.0, &v0, NULL);
		clv_expected_orders(fitted, &s, 12 * 4.345, &e, NULL);
		CHECK_NEAR(v0, e * eov, 1e-9 * v0, "undiscounted CLV = E[orders in 12 months] * expected order value");
		CHECK(v1 < v0, "discounting lowers CLV");
		CHECK(clv_value(fitted, &s, -1, 0.01, &v0, NULL) == KPI_ERR_PARAM &&
			  clv_value(fitted, &s, 12, -1.0, &v0, NULL) == KPI_ERR_PARAM &&
			  clv_value(fitted, &s, CLV_MAX_MONTHS + 1, 0.01, &v0, NULL) == KPI_ERR_PARAM,
			  "bad horizons and discounts are KPI_ERR_PARAM");
	}
}

static void
test_model_codec(const clv_model *fitted)
{
	uint8_t		buf[CLV_MODEL_ENCODED_SIZE];
	kpi_writer	w;
	clv_model	back;
	char	   *text = FORMAT_TEXT(clv_model, fitted);
	bool		ok = true;

	printf("# model: %s\n", text ? text : "(null)");
	CHECK(text != NULL && strncmp(text, "(v:1,r:", 7) == 0 &&
		  strstr(text, ",alpha:") && strstr(text, ",gamma:") &&
		  strstr(text, ",customers:2357,repeat_customers:946,loglik_bgnbd:-9582.") &&
		  strstr(text, ",loglik_gg:"), "model text shows every field");
	CHECK(clv_model_parse(text, &back, NULL) == KPI_OK && memcmp(&back, fitted, sizeof(back)) == 0,
		  "model text reads back exactly");
	free(text);
	kpi_writer_init(&w, buf, sizeof(buf));
	clv_model_encode(fitted, &w);
	CHECK(model_decode_whole(buf, sizeof(buf), &back) == KPI_OK &&
		  memcmp(&back, fitted, sizeof(back)) == 0, "model binary form round-trips");
	for (size_t cut = 0; cut < sizeof(buf); cut++)
		ok &= model_decode_whole(buf, cut, &back) == KPI_ERR_BINARY;
	buf[0] = 2;
	ok &= model_decode_whole(buf, sizeof(buf), &back) == KPI_ERR_VERSION;
	CHECK(ok, "truncated model bytes are KPI_ERR_BINARY, version 2 is KPI_ERR_VERSION");
	{
		static const char *bad[] = {
			"(v:1,r:1,alpha:1,a:1,b:1,p:1,q:1,gamma:1,customers:1,repeat_customers:1,loglik_bgnbd:-1)",
			"(v:1,r:-1,alpha:1,a:1,b:1,p:1,q:1,gamma:1,customers:1,repeat_customers:1,loglik_bgnbd:-1,loglik_gg:-1)",
			"(v:1,r:1,alpha:1,a:1,b:1,p:1,q:1,gamma:1,customers:1,repeat_customers:2,loglik_bgnbd:-1,loglik_gg:-1)",
			"(v:1,r:1,r:1,alpha:1,a:1,b:1,p:1,q:1,gamma:1,customers:1,repeat_customers:1,loglik_bgnbd:-1,loglik_gg:-1)",
			"(v:1,r:1,alpha:Infinity,a:1,b:1,p:1,q:1,gamma:1,customers:1,repeat_customers:1,loglik_bgnbd:-1,loglik_gg:-1)",
			"(v:1,r:1,alpha:1,a:1,b:1,p:1,q:1,gamma:1,customers:1,repeat_customers:1,loglik_bgnbd:-1,loglik_gg:-1,z:1)"
		};
		const char *good = "(v:1,r:0.243,alpha:4.414,a:0.793,b:2.426,p:6.25,q:3.74,gamma:15.44,"
			"customers:2357,repeat_customers:946,loglik_bgnbd:-9582.4,loglik_gg:-4055.9)";

		ok = true;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ok &= clv_model_parse(bad[i], &back, NULL) == KPI_ERR_TEXT;
		CHECK(ok, "incomplete, duplicate, non-positive or unknown model fields are KPI_ERR_TEXT");
		CHECK(clv_model_parse(good, &back, NULL) == KPI_OK && back.r == 0.243 && back.gamma == 15.44,
			  "a model typed in by hand (published parameters) parses");
	}
	{
		uint8_t		junk[CLV_MODEL_ENCODED_SIZE];

		ok = true;
		for (int k = 0; k < 2000; k++)
		{
			kpi_status	st;

			for (size_t i = 0; i < sizeof(junk); i++)
				junk[i] = (uint8_t) rng_next();
			junk[0] = KPI_STATE_VERSION;
			st = model_decode_whole(junk, sizeof(junk), &back);
			ok &= st == KPI_OK || st == KPI_ERR_BINARY;
		}
		CHECK(ok, "random model bytes decode or fail with KPI_ERR_BINARY");
	}
}

/* ------------------------------------------------ simulated population */

static void
test_simulated_population(void)
{
	const clv_model truth = make_model(0.243, 4.414, 0.793, 2.426, 6.25, 3.74, 15.44);
	const int	ncustomers = 200000;
	const int32_t observed = 272;
	clv_summary *summaries = malloc(sizeof(clv_summary) * ncustomers);
	clv_fitdata *fd;
	clv_model	model;
	clv_fit_outcome outcome = CLV_FIT_TOO_FEW_CUSTOMERS;
	double		t0,
				t_rfm,
				t_fit,
				t_pred;
	double		sum_clv = 0.0;
	int			nsum = 0;
	bool		ok = true;

	rng_state = 20250601;
	t0 = now_ms();
	clv_fitdata_create(&fd, mem, NULL);
	for (int i = 0; i < ncustomers; i++)
	{
		clv_rfm    *rfm;
		double		lambda = rng_gamma(truth.r, truth.alpha);
		double		p = rng_beta(truth.a, truth.b);
		double		nu = rng_gamma(truth.q, truth.gamma);
		int32_t		first = rng_below(84);
		double		t = first / 7.0;
		bool		found;

		clv_rfm_create(&rfm, mem, NULL);
		for (bool alive = true; alive;)
		{
			int32_t		day = (int32_t) floor(t * 7.0);

			ok &= clv_rfm_add(&rfm, day, llround(rng_gamma(truth.p, nu) * 100.0), 2,
							  observed, mem, NULL) == KPI_OK;
			t += -log(rng_uniform()) / lambda;
			alive = day <= observed && floor(t * 7.0) <= observed + 30 &&
				(day == first || rng_uniform() >= p);
		}
		ok &= clv_rfm_summary(rfm, observed, &summaries[nsum], &found, NULL) == KPI_OK && found;
		ok &= clv_fitdata_add(&fd, &summaries[nsum++], mem, NULL) == KPI_OK;
		free(rfm);
	}
	ok &= clv_fitdata_normalize(fd, NULL) == KPI_OK;
	t_rfm = now_ms() - t0;
	printf("# simulated 200k customers, RFM and fit input built in %.0f ms: %d distinct rows, %zu bytes\n",
		   t_rfm, (int) fd->nrows, clv_fitdata_size(fd));
	CHECK(ok, "a simulated BG/NBD population of 200k customers goes through RFM and fit input");

	t0 = now_ms();
	interrupt_calls = 0;
	ok = clv_fit(fd, mem, count_interrupts, NULL, &model, &outcome, NULL) == KPI_OK &&
		outcome == CLV_FIT_OK;
	t_fit = now_ms() - t0;
	printf("# fit on 200k simulated customers: %.0f ms, %d likelihood evaluations\n", t_fit,
		   interrupt_calls);
	printf("# recovered r %.4f alpha %.4f a %.4f b %.4f | p %.4f q %.4f gamma %.4f\n",
		   model.r, model.alpha, model.a, model.b, model.p, model.q, model.gamma);
	CHECK(ok, "the simulated population fits");
	if (!ok)
	{
		free(fd);
		free(summaries);
		return;
	}
	CHECK(fabs(model.r / truth.r - 1) < 0.1 && fabs(model.alpha / truth.alpha - 1) < 0.1 &&
		  fabs(model.a / truth.a - 1) < 0.1 && fabs(model.b / truth.b - 1) < 0.1,
		  "BG/NBD parameters recovered within 10 %");
	CHECK(fabs(model.p / truth.p - 1) < 0.1 && fabs(model.q / truth.q - 1) < 0.1 &&
		  fabs(model.gamma / truth.gamma - 1) < 0.1,
		  "Gamma-Gamma parameters recovered within 10 %");
	if (TIMING_ENFORCED)
		CHECK(t_fit < 3000.0, "fit on 200k customers takes under 3 s");

	t0 = now_ms();
	ok = true;
	for (int i = 0; i < nsum; i++)
	{
		double		e,
					v;

		ok &= clv_p_alive(&model, &summaries[i]) > 0.0;
		ok &= clv_expected_orders(&model, &summaries[i], 39.0, &e, NULL) == KPI_OK && e >= 0.0;
		ok &= clv_expected_order_value(&model, &summaries[i]) > 0.0;
		ok &= clv_value(&model, &summaries[i], 12, 0.01, &v, NULL) == KPI_OK && isfinite(v);
		sum_clv += v;
	}
	t_pred = now_ms() - t0;
	printf("# predictions (P(alive), 39-week orders, order value, 12-month CLV) for 200k customers: %.0f ms; mean CLV %.2f\n",
		   t_pred, sum_clv / nsum);
	CHECK(ok, "every simulated customer gets finite predictions");
	if (TIMING_ENFORCED)
		CHECK(t_pred < 2000.0, "predictions for 200k customers take under 2 s");
	free(fd);
	free(summaries);
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : DEFAULT_TRANSACTIONS;
	int32_t		observed = day_number(1997, 9, 30);
	clv_rfm   **states;
	clv_fitdata *whole;
	clv_model	fitted;
	int		   *idx;

	rng_state = 42;
	test_codec_helpers();
	test_rfm_by_hand();
	test_rfm_properties();
	test_hyp2f1();
	test_fit_degenerate();
	test_orders_by_hand();

	CHECK(load_cdnow(path), "CDNOW sample loads (6,919 orders, 2,357 summary rows)");
	if (norders != 6919)
		return unit_done();
	test_rfm_cdnow();

	idx = malloc(sizeof(int) * norders);
	for (int i = 0; i < norders; i++)
		idx[i] = i;
	states = build_states(idx, norders, observed);
	free(idx);
	whole = cdnow_fitdata(states, 1, CDNOW_CUSTOMERS + 1, observed);
	/* compact now, so that comparisons through copies of the pointer never move it */
	clv_fitdata_compact(&whole, mem, NULL);
	test_fitdata(whole);
	test_fitdata_properties(states, observed, whole);
	memset(&fitted, 0, sizeof(fitted));
	test_fit_cdnow(whole, &fitted);
	test_fit_interrupt(whole);
	test_fit_identical_spends(whole);
	test_fit_row_order(whole, &fitted);
	test_predictions(&fitted);
	test_model_codec(&fitted);
	test_orders_cdnow(states, &fitted);
	{
		char	   *rfm_text = FORMAT_TEXT(clv_rfm, states[1]);
		char	   *fit_text = FORMAT_TEXT(clv_fitdata, whole);
		char	   *model_text = FORMAT_TEXT(clv_model, &fitted);
		const char *orders_text = "(v:1,keys:hash,observed_until:90,horizon:[12,0,0],orders:5,"
			"days:[(-7,3,1.50),(-7,40,2.25),(2,9,0.00),(2,90,-1.00)])";

		/* a short fit input keeps the fuzz loop quick */
		fit_text[strcspn(fit_text, ")") + 1] = '\0';
		strcat(fit_text, "])");
		test_text_fuzz(rfm_text, fit_text, model_text, orders_text);
		free(rfm_text);
		free(fit_text);
		free(model_text);
	}
	free(whole);
	free_states(states);
	free(orders);

	test_simulated_population();
	return unit_done();
}
