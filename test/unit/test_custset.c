/*-------------------------------------------------------------------------
 *
 * test_custset.c
 *	  Unit and property tests of the customer sets (custset_core.c) and the
 *	  retention, cohort, repeat-purchase and distinct-order KPIs on them
 *	  (custset_kpi.c).
 *
 * Every KPI value is compared with a naive reference computed here from
 * the raw rows (qsort, then merge equal keys), and every state with states
 * built from the same rows in other orders, splits and codecs.
 *
 * Run with --bench (or KPI_BENCH=N in the environment) to time 10 million
 * distinct bigint customers (or N); the normal run times 200 000.
 *
 * IDENTIFICATION
 *	  test/unit/test_custset.c
 *
 *-------------------------------------------------------------------------
 */
#include "custset_kpi.h"
#include "unit.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * An allocator that takes over the buffers it updates (in_place), with a
 * realloc that always moves the block, so that a stale pointer to a set
 * that grew in place shows up under AddressSanitizer.  It counts the bytes
 * it has live, and their peak.
 */
static size_t moving_live,
			moving_peak;

static void
moving_count(size_t plus, size_t minus)
{
	moving_live = moving_live + plus - minus;
	if (moving_live > moving_peak)
		moving_peak = moving_live;
}

static void *
moving_alloc(size_t size, void *ctx)
{
	void	   *p = malloc(size);

	(void) ctx;
	if (p != NULL)
		moving_count(size, 0);
	return p;
}

static void *
moving_realloc(void *ptr, size_t size, void *ctx)
{
	void	   *moved = malloc(size);
	size_t		old = malloc_usable_size(ptr);

	(void) ctx;
	if (moved == NULL)
		return NULL;
	memcpy(moved, ptr, old < size ? old : size);
	/* counted as the larger block only, as glibc's realloc of a block above
	 * its mmap threshold (large sets) remaps pages instead of copying */
	moving_count(size, old);
	free(ptr);
	return moved;
}

static void
moving_free(void *ptr, void *ctx)
{
	(void) ctx;
	moving_count(0, malloc_usable_size(ptr));
	free(ptr);
}

static const kpi_allocator in_place_allocator = {
	moving_alloc, moving_realloc, moving_free, NULL, true
};

/* The allocator of the tests: malloc's, or in_place_allocator. */
static const kpi_allocator *MEM = &kpi_malloc_allocator;

/* ------------------------------------------------------------ helpers */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

/* splitmix64 */
static uint64_t
rnd(void)
{
	uint64_t	z = (rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static size_t
rnd_below(size_t n)
{
	return (size_t) (rnd() % n);
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One input row: the keys and payload given to custset_add. */
typedef struct ref_row
{
	custset_key k1;
	custset_key k2;
	uint64_t	payload;
} ref_row;

static int
type_pairs(custset_type type)
{
	return type == CUSTSET_COHORT || type == CUSTSET_CUSTOMER_ORDER;
}

/* Reference key order, written independently of the core. */
static int
ref_key_cmp(const custset_key *a, const custset_key *b)
{
	size_t		n;
	int			c;

	if (a->kind == CUSTSET_KIND_INT || a->kind == CUSTSET_KIND_HASH)
		return a->value < b->value ? -1 : a->value > b->value ? 1 : 0;
	n = a->len < b->len ? a->len : b->len;
	c = n > 0 ? memcmp(a->bytes, b->bytes, n) : 0;
	if (c != 0)
		return c < 0 ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static int	ref_pairs;			/* qsort comparator context */

static int
ref_row_cmp(const void *x, const void *y)
{
	const ref_row *a = x;
	const ref_row *b = y;
	int			c = ref_key_cmp(&a->k1, &b->k1);

	if (c != 0 || !ref_pairs)
		return c;
	return ref_key_cmp(&a->k2, &b->k2);
}

/* Sorted distinct records of rows, payloads merged (OR for flags, + for counts). */
static ref_row *
ref_records(custset_type type, const ref_row *rows, size_t n, size_t *nout)
{
	ref_row    *r = malloc((n + 1) * sizeof(ref_row));
	size_t		m = 0;

	memcpy(r, rows, n * sizeof(ref_row));
	ref_pairs = type_pairs(type);
	qsort(r, n, sizeof(ref_row), ref_row_cmp);
	for (size_t i = 0; i < n; i++)
	{
		if (m > 0 && ref_row_cmp(&r[m - 1], &r[i]) == 0)
		{
			if (type == CUSTSET_RETENTION)
				r[m - 1].payload |= r[i].payload;
			else if (type == CUSTSET_ORDER_COUNT)
				r[m - 1].payload += r[i].payload;
		}
		else
			r[m++] = r[i];
	}
	*nout = m;
	return r;
}

static custset *
new_set(custset_type type)
{
	custset    *s = NULL;

	custset_create(type, 0, MEM, &s, NULL);
	return s;
}

/*
 * Runs a call that may replace s (given as &s) and frees the replaced
 * buffer, as nodeAgg does, unless the allocator took it over.
 */
#define GROW(s, call) \
	do { \
		custset *old_ = (s); \
		(void) (call); \
		if ((s) != old_ && !MEM->in_place) \
			free(old_); \
	} while (0)

/* Adds a row; frees the replaced buffer as the glue's caller would. */
static kpi_status
add_row(custset **s, const ref_row *r)
{
	custset    *old = *s;
	kpi_status	st = custset_add(s, &r->k1, type_pairs((custset_type) old->type) ? &r->k2 : NULL,
								 r->payload, MEM, NULL);

	if (*s != old && !MEM->in_place)
		free(old);
	return st;
}

/* custset_consolidate, freeing a replaced buffer as add_row does. */
static kpi_status
consolidate_set(custset **s, bool compact)
{
	custset    *old = *s;
	kpi_status	st = custset_consolidate(s, compact, MEM, NULL);

	if (*s != old && !MEM->in_place)
		free(old);
	return st;
}

static kpi_status
merge_into(custset **dst, const custset *src)
{
	custset    *old = *dst;
	kpi_status	st = custset_merge(dst, src, MEM, NULL);

	if (*dst != old && !MEM->in_place)
		free(old);
	return st;
}

static custset *
build(custset_type type, const ref_row *rows, size_t n)
{
	custset    *s = new_set(type);

	for (size_t i = 0; i < n; i++)
		if (add_row(&s, &rows[i]) != KPI_OK)
		{
			free(s);
			return NULL;
		}
	return s;
}

static custset *
compacted(const custset *s)
{
	custset    *c = NULL;

	if (custset_compact(s, MEM, &c, NULL) != KPI_OK)
		return NULL;
	return c;
}

/* Both compact and byte-equal. */
static bool
same_bytes(const custset *a, const custset *b)
{
	return a != NULL && b != NULL && custset_is_compact(a) && custset_is_compact(b) &&
		a->total_size == b->total_size && memcmp(a, b, a->total_size) == 0;
}

/* Compact copy of s equals the compact copy of t. */
static bool
same_set(const custset *s, const custset *t)
{
	custset    *a = compacted(s);
	custset    *b = compacted(t);
	bool		ok = same_bytes(a, b);

	free(a);
	free(b);
	return ok;
}

/* The iteration of s equals the reference records. */
static bool
matches_reference(const custset *s, const ref_row *ref, size_t nref)
{
	custset_iter *it;
	custset_record rec;
	size_t		i = 0;
	bool		ok = true;

	if (custset_iter_begin(s, MEM, &it, NULL) != KPI_OK)
		return false;
	ref_pairs = type_pairs((custset_type) s->type);
	while (custset_iter_next(it, &rec))
	{
		ref_row		got = {rec.key, rec.key2, rec.payload};

		if (i >= nref || ref_row_cmp(&got, &ref[i]) != 0 || rec.payload != ref[i].payload ||
			rec.key.kind != ref[i].k1.kind)
			ok = false;
		i++;
	}
	return custset_iter_end(it, NULL) == KPI_OK && ok && i == nref;
}

static uint8_t *
encode(const custset *s, size_t *len)
{
	custset    *c = compacted(s);
	kpi_writer	w;
	uint8_t    *buf;

	*len = custset_encoded_size(c);
	buf = malloc(*len);
	kpi_writer_init(&w, buf, *len);
	custset_encode(c, &w, NULL);
	free(c);
	return buf;
}

static kpi_status
decode(const uint8_t *buf, size_t len, custset_type type, size_t extra, custset **out)
{
	kpi_reader	r;
	kpi_status	st;

	kpi_reader_init(&r, buf, len);
	st = custset_decode(&r, type, extra, MEM, out, NULL);
	if (st == KPI_OK && (st = kpi_reader_finish(&r, NULL)) != KPI_OK)
		free(*out);
	return st;
}

/* Text form of s (malloc'd). */
static char *
to_text(const custset *s)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, MEM);
	if (custset_format(s, MEM, &sb, NULL) != KPI_OK)
	{
		free(sb.data);
		return NULL;
	}
	return sb.data;
}

/* ------------------------------------------------------------ key pools */

typedef struct key_pool
{
	custset_kind kind;
	size_t		n;
	custset_key *keys;
} key_pool;

static void
pool_make(key_pool *p, custset_kind kind, size_t n)
{
	/* bytes of text keys: the troublesome ones often */
	static const uint8_t alphabet[] = {
		'a', 'b', 'c', ',', '"', '(', ')', '[', ']', '\\', '=', ':', ' ', 'x',
		0x01, 0x7f, 0x80, 0xc3, 0xa9, 0xff
	};

	p->kind = kind;
	p->n = n;
	p->keys = calloc(n, sizeof(custset_key));
	for (size_t i = 0; i < n; i++)
	{
		custset_key *k = &p->keys[i];

		k->kind = kind;
		if (kind == CUSTSET_KIND_INT)
		{
			/* small ids, negatives and the extremes */
			switch (rnd_below(6))
			{
				case 0:
					k->value = rnd_below(2) ? INT64_MAX - (int64_t) rnd_below(3) :
						INT64_MIN + (int64_t) rnd_below(3);
					break;
				case 1:
					k->value = (int64_t) rnd();
					break;
				case 2:
					k->value = -(int64_t) rnd_below(1000);
					break;
				default:
					k->value = (int64_t) rnd_below(100000);
			}
		}
		else if (kind == CUSTSET_KIND_HASH)
			k->value = (int64_t) rnd();
		else if (kind == CUSTSET_KIND_UUID)
		{
			uint8_t    *b = malloc(16);

			for (int j = 0; j < 16; j++)
				b[j] = (uint8_t) (j < 2 && rnd_below(2) ? 0x42 : rnd());
			k->bytes = b;
			k->len = 16;
		}
		else
		{
			size_t		len = rnd_below(10);
			size_t		keep = 0;
			uint8_t    *b = malloc(len + 1);

			/* some keys extend the previous one, so prefixes occur */
			if (i > 0 && rnd_below(4) == 0 && p->keys[i - 1].len <= len)
			{
				keep = p->keys[i - 1].len;
				memcpy(b, p->keys[i - 1].bytes, keep);
			}
			for (size_t j = keep; j < len; j++)
				b[j] = alphabet[rnd_below(sizeof(alphabet))];
			k->bytes = b;
			k->len = len;
		}
	}
}

static void
pool_free(key_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free((void *) p->keys[i].bytes);
	free(p->keys);
}

/* n random rows of a type, customers from c, orders from o. */
static ref_row *
make_rows(custset_type type, const key_pool *c, const key_pool *o, size_t n)
{
	ref_row    *rows = calloc(n + 1, sizeof(ref_row));
	int64_t		base = (int64_t) rnd_below(2000) - 1000;

	for (size_t i = 0; i < n; i++)
	{
		ref_row    *r = &rows[i];

		r->k1 = c->keys[rnd_below(c->n)];
		switch (type)
		{
			case CUSTSET_RETENTION:
				r->payload = 1 + rnd_below(2);
				break;
			case CUSTSET_COHORT:
				r->k2 = custset_key_int(base + (int64_t) rnd_below(24));
				break;
			case CUSTSET_ORDER_COUNT:
				r->payload = 1;
				break;
			case CUSTSET_CUSTOMER_ORDER:
				r->k2 = o->keys[rnd_below(o->n)];
				break;
			case CUSTSET_ORDERS:
				break;
		}
	}
	return rows;
}

static void
shuffle_rows(ref_row *rows, size_t n)
{
	for (size_t i = n; i > 1; i--)
	{
		size_t		j = rnd_below(i);
		ref_row		t = rows[i - 1];

		rows[i - 1] = rows[j];
		rows[j] = t;
	}
}

/* ------------------------------------------------------------ reference KPIs */

static custset_retention
ref_retention(const ref_row *rec, size_t n)
{
	custset_retention r = {0, 0, 0, 0};

	for (size_t i = 0; i < n; i++)
	{
		bool		before = rec[i].payload & CUSTSET_BEFORE;
		bool		after = rec[i].payload & CUSTSET_AFTER;

		r.base += before;
		r.retained += before && after;
		r.churned += before && !after;
		r.new_customers += after && !before;
	}
	return r;
}

static custset_repeat
ref_repeat(custset_type type, const ref_row *rec, size_t n)
{
	custset_repeat r = {0, 0, 0};
	size_t		i = 0;

	while (i < n)
	{
		size_t		j = i;
		uint64_t	orders = 0;

		for (; j < n && ref_key_cmp(&rec[j].k1, &rec[i].k1) == 0; j++)
			orders += type == CUSTSET_ORDER_COUNT ? rec[j].payload : 1;
		r.customers++;
		r.repeat_customers += orders >= 2;
		r.orders += (int64_t) orders;
		i = j;
	}
	return r;
}

static int
cell_cmp(const void *x, const void *y)
{
	const custset_cohort_row *a = x;
	const custset_cohort_row *b = y;

	if (a->cohort != b->cohort)
		return a->cohort < b->cohort ? -1 : 1;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Reference cohort table: one (cohort, offset) per record, sorted, runs counted. */
static custset_cohort_row *
ref_cohorts(const ref_row *rec, size_t n, size_t *nrows)
{
	custset_cohort_row *cells = calloc(n + 1, sizeof(custset_cohort_row));
	custset_cohort_row *rows = calloc(n + 1, sizeof(custset_cohort_row));
	size_t		m = 0;
	int64_t		cohort = 0;

	for (size_t i = 0; i < n; i++)
	{
		if (i == 0 || ref_key_cmp(&rec[i].k1, &rec[i - 1].k1) != 0)
			cohort = rec[i].k2.value;
		cells[i].cohort = (int32_t) cohort;
		cells[i].offset = (int32_t) (rec[i].k2.value - cohort);
	}
	qsort(cells, n, sizeof(custset_cohort_row), cell_cmp);
	for (size_t i = 0; i < n; i++)
	{
		if (m > 0 && cell_cmp(&rows[m - 1], &cells[i]) == 0)
			rows[m - 1].active_customers++;
		else
		{
			rows[m] = cells[i];
			rows[m++].active_customers = 1;
		}
	}
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < m; j++)
			if (rows[j].cohort == rows[i].cohort && rows[j].offset == 0)
				rows[i].cohort_customers = rows[j].active_customers;
	free(cells);
	*nrows = m;
	return rows;
}

/* Checks every KPI value of s against the reference records. */
static bool
kpis_match(const custset *s, const ref_row *rec, size_t n)
{
	switch ((custset_type) s->type)
	{
		case CUSTSET_RETENTION:
			{
				custset_retention got,
							want = ref_retention(rec, n);

				return custset_retention_counts(s, MEM, &got, NULL) == KPI_OK &&
					memcmp(&got, &want, sizeof(got)) == 0;
			}
		case CUSTSET_COHORT:
			{
				custset_cohort_row *got,
						   *want;
				size_t		ngot,
							nwant;
				int32_t		last_period,
							want_last = 0;
				bool		ok;

				want = ref_cohorts(rec, n, &nwant);
				for (size_t i = 0; i < n; i++)
					if (i == 0 || rec[i].k2.value > want_last)
						want_last = (int32_t) rec[i].k2.value;
				if (custset_cohort_table(s, MEM, &got, &ngot, &last_period, NULL) != KPI_OK)
				{
					free(want);
					return false;
				}
				ok = ngot == nwant && (ngot == 0 || memcmp(got, want, ngot * sizeof(*got)) == 0) &&
					last_period == want_last;
				free(got);
				free(want);
				return ok;
			}
		case CUSTSET_ORDER_COUNT:
		case CUSTSET_CUSTOMER_ORDER:
			{
				custset_repeat got,
							want = ref_repeat((custset_type) s->type, rec, n);

				return custset_repeat_counts(s, MEM, &got, NULL) == KPI_OK &&
					memcmp(&got, &want, sizeof(got)) == 0;
			}
		case CUSTSET_ORDERS:
			{
				int64_t		got;

				return custset_orders_count(s, MEM, &got, NULL) == KPI_OK && got == (int64_t) n;
			}
	}
	return false;
}

/* ------------------------------------------------------------ tests */

static void
test_varint(void)
{
	static const struct
	{
		uint64_t	v;
		const char *bytes;
		size_t		len;
	}			cases[] = {
		{0, "\x00", 1},
		{127, "\x7f", 1},
		{128, "\x80\x01", 2},
		{300, "\xac\x02", 2},
		{UINT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10},
	};
	uint8_t		buf[16];
	uint64_t	v;
	bool		ok = true;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		uint8_t    *end = kpi_varint_put(buf, cases[i].v);

		ok &= (size_t) (end - buf) == cases[i].len && memcmp(buf, cases[i].bytes, cases[i].len) == 0;
		ok &= kpi_varint_size(cases[i].v) == cases[i].len;
		ok &= kpi_varint_get(buf, end, &v) == end && v == cases[i].v;
	}
	CHECK(ok, "varint: published LEB128 encodings (0, 127, 128, 300, 2^64-1)");
	CHECK(kpi_varint_get((const uint8_t *) "\x80\x00", (const uint8_t *) "\x80\x00" + 2, &v) == NULL,
		  "varint: a redundant zero group is rejected");
	CHECK(kpi_varint_get((const uint8_t *) "\x80", (const uint8_t *) "\x80" + 1, &v) == NULL,
		  "varint: truncated input is rejected");
	memcpy(buf, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
	CHECK(kpi_varint_get(buf, buf + 10, &v) == NULL, "varint: more than 64 bits is rejected");
	memcpy(buf, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x01", 11);
	CHECK(kpi_varint_get(buf, buf + 11, &v) == NULL, "varint: more than 10 bytes is rejected");
	ok = true;
	for (int i = 0; i < 10000; i++)
	{
		uint64_t	x = rnd() >> rnd_below(64);
		uint8_t    *end = kpi_varint_put(buf, x);

		ok &= kpi_varint_get(buf, end, &v) == end && v == x;
	}
	CHECK(ok, "varint: random values round-trip");
}

/* Small states whose values and forms are worked out by hand. */
static void
test_examples(void)
{
	custset    *s = new_set(CUSTSET_RETENTION);
	custset    *c;
	custset_retention r;
	double		rate;
	char	   *text;
	uint8_t    *bin;
	size_t		len;
	static const uint8_t want_bin[] = {
		1, CUSTSET_RETENTION, CUSTSET_KIND_INT, 0,	/* version, type, kinds */
		0, 0, 0, 3, 0, 0, 0, 6,	/* 3 records, 6 body bytes */
		0x02, 0x03,				/* zigzag(1) = 2, both */
		0x01, 0x01,				/* 2 = 1 + 1, before */
		0x01, 0x02				/* 3 = 2 + 1, after */
	};

	/* 1 before and after, 2 before (twice), 3 after */
	custset_key k1 = custset_key_int(1),
				k2 = custset_key_int(2),
				k3 = custset_key_int(3);

	GROW(s, custset_retention_add(&s, &k1, true, MEM, NULL));
	GROW(s, custset_retention_add(&s, &k2, true, MEM, NULL));
	GROW(s, custset_retention_add(&s, &k1, false, MEM, NULL));
	GROW(s, custset_retention_add(&s, &k3, false, MEM, NULL));
	GROW(s, custset_retention_add(&s, &k2, true, MEM, NULL));
	CHECK(custset_retention_counts(s, MEM, &r, NULL) == KPI_OK && r.base == 2 &&
		  r.retained == 1 && r.churned == 1 && r.new_customers == 1,
		  "retention example: base 2, retained 1, churned 1, new 1");
	CHECK(custset_retention_rate(&r, &rate) && rate == 0.5, "retention example: rate 0.5");
	CHECK(custset_churn_rate(&r, &rate) && rate == 0.5, "retention example: churn rate 0.5");
	text = to_text(s);
	CHECK(text != NULL && strcmp(text, "(v:1,kind:int8,n:3,customers:[1=both,2=before,3=after])") == 0,
		  "retention example: text form");
	free(text);
	bin = encode(s, &len);
	CHECK(len == sizeof(want_bin) && memcmp(bin, want_bin, len) == 0,
		  "retention example: binary form, byte by byte");
	free(bin);
	c = compacted(s);
	CHECK(c->total_size == sizeof(custset) + 6, "retention example: compact state is header + body");
	free(c);
	free(s);

	/* empty retention: rate is NULL */
	s = new_set(CUSTSET_RETENTION);
	CHECK(custset_retention_counts(s, MEM, &r, NULL) == KPI_OK && r.base == 0 &&
		  !custset_retention_rate(&r, &rate), "retention of an empty state is NULL");
	text = to_text(s);
	CHECK(text != NULL && strcmp(text, "(v:1,kind:none,n:0,customers:[])") == 0, "empty state text");
	free(text);
	free(s);

	/* cohorts: a 600,601; b 600,602; c 601,602; d 601 */
	{
		static const struct
		{
			const char *name;
			int32_t		period;
		}			orders[] = {
			{"c", 602}, {"a", 601}, {"b", 600}, {"d", 601}, {"a", 600},
			{"c", 601}, {"b", 602}, {"a", 601}
		};
		static const custset_cohort_row want[] = {
			{600, 0, 2, 2}, {600, 1, 2, 1}, {600, 2, 2, 1}, {601, 0, 2, 2}, {601, 1, 2, 1}
		};
		custset_cohort_row *rows;
		size_t		nrows;
		int32_t		last_period;

		s = new_set(CUSTSET_COHORT);
		for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
		{
			custset_key k = custset_key_text(orders[i].name, 1);
			custset    *old = s;

			custset_cohort_add(&s, &k, orders[i].period, MEM, NULL);
			if (s != old)
				free(old);
		}
		CHECK(custset_cohort_table(s, MEM, &rows, &nrows, &last_period, NULL) == KPI_OK &&
			  nrows == 5 && memcmp(rows, want, sizeof(want)) == 0 && last_period == 602,
			  "cohort example: the triangle by hand, last period 602");
		free(rows);
		text = to_text(s);
		CHECK(text != NULL && strcmp(text, "(v:1,kind:text,n:4,customers:[\"a\"=[600,601],"
									 "\"b\"=[600,602],\"c\"=[601,602],\"d\"=[601]])") == 0,
			  "cohort example: text form");
		free(text);
		free(s);
	}

	/*
	 * repeat purchases: rows of customers 1,3,2,1,3,3 with orders
	 * 10,13,12,12,13,13, so the distinct pairs are (1,10),(1,12),(2,12),(3,13)
	 */
	{
		static const int64_t cust[] = {1, 3, 2, 1, 3, 3};
		static const int64_t ord[] = {10, 13, 12, 12, 13, 13};
		custset    *byorder = new_set(CUSTSET_CUSTOMER_ORDER);
		custset_repeat rp;
		double		f;

		s = new_set(CUSTSET_ORDER_COUNT);
		for (int i = 0; i < 6; i++)
		{
			custset_key k = custset_key_int(cust[i]);
			custset_key o = custset_key_int(ord[i]);

			GROW(s, custset_repeat_add(&s, &k, NULL, MEM, NULL));
			GROW(byorder, custset_repeat_add(&byorder, &k, &o, MEM, NULL));
		}
		CHECK(custset_repeat_counts(s, MEM, &rp, NULL) == KPI_OK && rp.customers == 3 &&
			  rp.repeat_customers == 2 && rp.orders == 6 &&
			  custset_repeat_rate(&rp, &rate) && rate == 2.0 / 3.0 &&
			  custset_purchase_frequency(&rp, &f) && f == 2.0,
			  "repeat example by rows: 3 customers, 2 repeat, 6 orders");
		CHECK(custset_repeat_counts(byorder, MEM, &rp, NULL) == KPI_OK && rp.customers == 3 &&
			  rp.repeat_customers == 1 && rp.orders == 4,
			  "repeat example by order id: 3 customers, 1 repeat, 4 orders");
		text = to_text(byorder);
		CHECK(text != NULL && strcmp(text, "(v:1,kind:int8,order_kind:int8,n:3,"
									 "customers:[1=[10,12],2=[12],3=[13]])") == 0,
			  "repeat example: customer_order text form");
		free(text);
		text = to_text(s);
		CHECK(text != NULL && strcmp(text, "(v:1,kind:int8,n:3,customers:[1=2,2=1,3=3])") == 0,
			  "repeat example: order_count text form");
		free(text);
		free(s);
		free(byorder);
	}

	/* distinct orders 10, 11, 10, 12 */
	{
		static const int64_t ord[] = {10, 11, 10, 12};
		int64_t		n;

		s = new_set(CUSTSET_ORDERS);
		for (int i = 0; i < 4; i++)
		{
			custset_key k = custset_key_int(ord[i]);

			GROW(s, custset_orders_add(&s, &k, MEM, NULL));
		}
		CHECK(custset_orders_count(s, MEM, &n, NULL) == KPI_OK && n == 3, "orders example: 3 distinct orders");
		text = to_text(s);
		CHECK(text != NULL && strcmp(text, "(v:1,kind:int8,n:3,orders:[10,11,12])") == 0,
			  "orders example: text form");
		free(text);
		free(s);
	}

	/* text escaping: a,"b"[c](d)\ e-acute, and a uuid */
	{
		static const char key[] = "a,\"b\"[c](d)\\\xc3\xa9";
		static const uint8_t u[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
		custset_key k = custset_key_text(key, strlen(key));
		custset_key ku = custset_key_uuid(u);
		custset    *back = NULL;

		s = new_set(CUSTSET_ORDERS);
		GROW(s, custset_orders_add(&s, &k, MEM, NULL));
		text = to_text(s);
		CHECK(text != NULL && strcmp(text, "(v:1,kind:text,n:1,orders:[\"a,\\x22b\\x22\\x5bc\\x5d"
									 "\\x28d\\x29\\x5c\\xc3\\xa9\"])") == 0,
			  "text key escaping by hand");
		CHECK(custset_parse(text, CUSTSET_ORDERS, 0, MEM, &back, NULL) == KPI_OK && same_set(back, s),
			  "escaped text key reads back");
		free(back);
		free(text);
		free(s);
		s = new_set(CUSTSET_ORDERS);
		GROW(s, custset_orders_add(&s, &ku, MEM, NULL));
		text = to_text(s);
		CHECK(text != NULL && strcmp(text, "(v:1,kind:uuid,n:1,orders:[00112233-4455-6677-8899-aabbccddeeff])") == 0,
			  "uuid key text form");
		free(text);
		free(s);
	}
}

/* Random data against the reference, for one type and key kinds. */
static void
test_random(custset_type type, custset_kind kind, custset_kind okind, const char *label)
{
	key_pool	cp,
				op;
	bool		ref_ok = true,
				kpi_ok = true,
				shuffle_ok = true,
				split_ok = true,
				assoc_ok = true,
				comm_ok = true,
				ident_ok = true,
				bin_ok = true,
				text_ok = true,
				self_ok = true,
				resume_ok = true,
				consolidate_ok = true;
	char		what[160];

	pool_make(&cp, kind, 2 + rnd_below(300));
	pool_make(&op, okind, 2 + rnd_below(300));
	for (int round = 0; round < 12; round++)
	{
		size_t		n = round == 0 ? 0 : rnd_below(round < 6 ? 50 : 4000);
		ref_row    *rows = make_rows(type, &cp, &op, n);
		size_t		nref;
		ref_row    *ref = ref_records(type, rows, n, &nref);
		custset    *whole = build(type, rows, n);
		custset    *empty = new_set(type);

		ref_ok &= whole != NULL && matches_reference(whole, ref, nref);
		kpi_ok &= whole != NULL && kpis_match(whole, ref, nref);

		/* shuffled insertion order gives the same bytes */
		{
			custset    *other;

			shuffle_rows(rows, n);
			other = build(type, rows, n);
			shuffle_ok &= same_set(whole, other);
			free(other);
		}

		/* any split, merged in any order and through any codec, is the whole */
		{
			int			k = 1 + (int) rnd_below(5);
			custset    *parts[5];
			size_t		cut[6];
			custset    *acc;

			cut[0] = 0;
			cut[k] = n;
			for (int i = 1; i < k; i++)
				cut[i] = rnd_below(n + 1);
			for (int i = 1; i < k; i++)
				for (int j = i + 1; j < k; j++)
					if (cut[j] < cut[i])
					{
						size_t		t = cut[i];

						cut[i] = cut[j];
						cut[j] = t;
					}
			for (int i = 0; i < k; i++)
			{
				parts[i] = build(type, rows + cut[i], cut[i + 1] - cut[i]);
				if (rnd_below(3) == 0)
				{
					/* through the binary form */
					size_t		len;
					uint8_t    *bin = encode(parts[i], &len);
					custset    *d = NULL;

					split_ok &= decode(bin, len, type, 0, &d) == KPI_OK;
					free(parts[i]);
					parts[i] = d;
					free(bin);
				}
				else if (rnd_below(2) == 0)
				{
					/* through the text form */
					char	   *t = to_text(parts[i]);
					custset    *d = NULL;

					split_ok &= custset_parse(t, type, 0, MEM, &d, NULL) == KPI_OK;
					free(parts[i]);
					parts[i] = d;
					free(t);
				}
			}
			acc = new_set(type);
			for (int i = 0; i < k; i++)
			{
				int			pick = (int) rnd_below((size_t) (k - i));
				custset    *t = parts[pick];

				split_ok &= t != NULL && merge_into(&acc, t) == KPI_OK;
				free(t);
				parts[pick] = parts[k - i - 1];
			}
			split_ok &= same_set(acc, whole) && matches_reference(acc, ref, nref);
			free(acc);
		}

		/* associativity, commutativity, identity on three parts */
		{
			size_t		a = rnd_below(n + 1),
						b = a + rnd_below(n - a + 1);
			custset    *x = build(type, rows, a);
			custset    *y = build(type, rows + a, b - a);
			custset    *z = build(type, rows + b, n - b);
			custset    *xy_z = compacted(x),
					   *x_yz = compacted(x),
					   *yz = compacted(y),
					   *yx = compacted(y),
					   *xy = compacted(x),
					   *ex = compacted(empty),
					   *xe = compacted(x);

			merge_into(&xy_z, y);
			merge_into(&xy_z, z);
			merge_into(&yz, z);
			merge_into(&x_yz, yz);
			assoc_ok &= same_set(xy_z, x_yz) && same_set(xy_z, whole);
			merge_into(&xy, y);
			merge_into(&yx, x);
			comm_ok &= same_set(xy, yx);
			merge_into(&ex, x);
			merge_into(&xe, empty);
			ident_ok &= same_set(ex, x) && same_set(xe, x);
			free(x);
			free(y);
			free(z);
			free(xy_z);
			free(x_yz);
			free(yz);
			free(yx);
			free(xy);
			free(ex);
			free(xe);
		}

		/*
		 * a state in the making (its table, a parked record) takes a merge
		 * and goes on adding: readers between adds, and the end, see the whole
		 */
		{
			size_t		a = rnd_below(n + 1),
						b = a + rnd_below(n - a + 1);
			custset    *x = build(type, rows, a);
			custset    *y = build(type, rows + a, b - a);

			resume_ok &= x != NULL && y != NULL && merge_into(&x, y) == KPI_OK;
			for (size_t i = b; resume_ok && i < n; i++)
			{
				resume_ok &= add_row(&x, &rows[i]) == KPI_OK;
				if (i == b || rnd_below(64) == 0)
				{
					size_t		nprefix;
					ref_row    *prefix = ref_records(type, rows, i + 1, &nprefix);

					resume_ok &= matches_reference(x, prefix, nprefix) &&
						kpis_match(x, prefix, nprefix) &&
						custset_is_empty(x) == (nprefix == 0);
					free(prefix);
				}
			}
			resume_ok &= x != NULL && same_set(x, whole) && kpis_match(x, ref, nref);
			free(x);
			free(y);
		}

		/* consolidation keeps the set: all of it in the body, or compact */
		{
			custset    *x = build(type, rows, n);
			custset    *y = build(type, rows, n);
			custset    *c = compacted(whole);
			custset    *twice = build(type, rows, n);

			consolidate_ok &= x != NULL && consolidate_set(&x, false) == KPI_OK &&
				custset_all_in_body(x) && matches_reference(x, ref, nref) &&
				kpis_match(x, ref, nref);
			consolidate_ok &= y != NULL && consolidate_set(&y, true) == KPI_OK && same_bytes(y, c);
			/* and adding goes on: the rows once more */
			for (size_t i = 0; consolidate_ok && i < n; i++)
				consolidate_ok &= add_row(&x, &rows[i]) == KPI_OK && add_row(&y, &rows[i]) == KPI_OK &&
					add_row(&twice, &rows[i]) == KPI_OK;
			consolidate_ok &= same_set(x, twice) && same_set(y, twice);
			free(x);
			free(y);
			free(c);
			free(twice);
		}

		/* codecs: binary and text round trips are exact */
		{
			size_t		len,
						len2;
			uint8_t    *bin = encode(whole, &len);
			custset    *d = NULL;
			custset    *c = compacted(whole);
			char	   *t = to_text(whole);
			char	   *t2 = NULL;
			custset    *p = NULL;

			bin_ok &= decode(bin, len, type, 0, &d) == KPI_OK && same_bytes(d, c);
			if (d != NULL)
			{
				uint8_t    *bin2 = encode(d, &len2);

				bin_ok &= len2 == len && memcmp(bin, bin2, len) == 0;
				free(bin2);
			}
			text_ok &= t != NULL && custset_parse(t, type, 0, MEM, &p, NULL) == KPI_OK && same_bytes(p, c);
			if (p != NULL)
				t2 = to_text(p);
			text_ok &= t2 != NULL && strcmp(t, t2) == 0;
			free(bin);
			free(d);
			free(c);
			free(t);
			free(t2);
			free(p);
		}

		/* merging a state with itself: sets are unchanged, row counts double */
		{
			custset    *twice = build(type, rows, n);
			ref_row    *rows2 = malloc((2 * n + 1) * sizeof(ref_row));
			size_t		nref2;
			ref_row    *ref2;

			memcpy(rows2, rows, n * sizeof(ref_row));
			memcpy(rows2 + n, rows, n * sizeof(ref_row));
			ref2 = ref_records(type, rows2, 2 * n, &nref2);
			self_ok &= merge_into(&twice, twice) == KPI_OK && matches_reference(twice, ref2, nref2);
			free(twice);
			free(rows2);
			free(ref2);
		}

		free(whole);
		free(empty);
		free(ref);
		free(rows);
	}
	snprintf(what, sizeof(what), "%s: records equal the reference (qsort + merge)", label);
	CHECK(ref_ok, what);
	snprintf(what, sizeof(what), "%s: KPI values equal the reference", label);
	CHECK(kpi_ok, what);
	snprintf(what, sizeof(what), "%s: shuffled input gives byte-equal compact states", label);
	CHECK(shuffle_ok, what);
	snprintf(what, sizeof(what), "%s: any split, through codecs, merges to the whole", label);
	CHECK(split_ok, what);
	snprintf(what, sizeof(what), "%s: merge is associative", label);
	CHECK(assoc_ok, what);
	snprintf(what, sizeof(what), "%s: merge is commutative", label);
	CHECK(comm_ok, what);
	snprintf(what, sizeof(what), "%s: the empty state is the identity", label);
	CHECK(ident_ok, what);
	snprintf(what, sizeof(what), "%s: binary round trip is exact", label);
	CHECK(bin_ok, what);
	snprintf(what, sizeof(what), "%s: text round trip is exact", label);
	CHECK(text_ok, what);
	snprintf(what, sizeof(what), "%s: merging a state with itself", label);
	CHECK(self_ok, what);
	snprintf(what, sizeof(what), "%s: a state merged into while built goes on adding", label);
	CHECK(resume_ok, what);
	snprintf(what, sizeof(what), "%s: consolidation keeps the set and canonical bytes", label);
	CHECK(consolidate_ok, what);
	pool_free(&cp);
	pool_free(&op);
}

/* A merge with a small src appends; with a large one it rewrites.  Both paths, many times. */
static void
test_rollup(void)
{
	key_pool	cp;
	ref_row    *rows;
	size_t		n = 20000,
				nref;
	ref_row    *ref;
	custset    *acc = new_set(CUSTSET_ORDER_COUNT);
	bool		ok = true;

	pool_make(&cp, CUSTSET_KIND_TEXT, 500);
	rows = make_rows(CUSTSET_ORDER_COUNT, &cp, &cp, n);
	ref = ref_records(CUSTSET_ORDER_COUNT, rows, n, &nref);
	for (size_t i = 0; i < n;)
	{
		size_t		len = 1 + rnd_below(i < 1000 ? 500 : 60);
		custset    *part;

		if (len > n - i)
			len = n - i;
		part = build(CUSTSET_ORDER_COUNT, rows + i, len);
		ok &= merge_into(&acc, part) == KPI_OK;
		free(part);
		i += len;
	}
	CHECK(ok && matches_reference(acc, ref, nref) && kpis_match(acc, ref, nref),
		  "rollup of many small text-keyed states equals the reference");
	free(acc);
	free(ref);
	free(rows);
	pool_free(&cp);
}

/* Long text keys exercise the heap at the end of the buffer. */
static void
test_long_keys(void)
{
	key_pool	cp;
	ref_row    *rows;
	size_t		n = 3000,
				nref;
	ref_row    *ref;
	custset    *s;

	cp.kind = CUSTSET_KIND_TEXT;
	cp.n = 400;
	cp.keys = calloc(cp.n, sizeof(custset_key));
	for (size_t i = 0; i < cp.n; i++)
	{
		size_t		len = rnd_below(3000);
		uint8_t    *b = malloc(len + 1);

		for (size_t j = 0; j < len; j++)
			b[j] = (uint8_t) (j + 1 < len ? 'k' : rnd());
		cp.keys[i] = custset_key_text(b, len);
	}
	rows = make_rows(CUSTSET_RETENTION, &cp, &cp, n);
	ref = ref_records(CUSTSET_RETENTION, rows, n, &nref);
	s = build(CUSTSET_RETENTION, rows, n);
	CHECK(s != NULL && matches_reference(s, ref, nref) && kpis_match(s, ref, nref),
		  "text keys of up to 3000 bytes, sharing long prefixes");
	free(s);
	free(ref);
	free(rows);
	pool_free(&cp);
}

static void
test_errors(void)
{
	custset    *a = new_set(CUSTSET_RETENTION);
	custset    *b = new_set(CUSTSET_RETENTION);
	custset    *c = new_set(CUSTSET_ORDERS);
	custset    *d = NULL;
	custset_key ki = custset_key_int(5),
				kh = custset_key_hash(5),
				kt = custset_key_text("5", 1);
	kpi_msg		msg;
	custset_cohort_row *rows;
	size_t		nrows;

	GROW(a, custset_retention_add(&a, &ki, true, MEM, NULL));
	GROW(b, custset_retention_add(&b, &kh, true, MEM, NULL));
	GROW(c, custset_orders_add(&c, &ki, MEM, NULL));
	CHECK(custset_merge(&a, b, MEM, &msg) == KPI_ERR_MISMATCH, "int8 and hash states do not merge");
	CHECK(custset_merge(&a, c, MEM, NULL) == KPI_ERR_MISMATCH, "states of different types do not merge");
	CHECK(custset_retention_add(&a, &kt, true, MEM, NULL) == KPI_ERR_MISMATCH,
		  "a text key does not join an int8 set");
	CHECK(custset_add(&a, &ki, NULL, 4, MEM, NULL) == KPI_ERR_PARAM, "retention flags 4 are rejected");
	CHECK(custset_orders_count(a, MEM, &(int64_t) {0}, NULL) == KPI_ERR_PARAM,
		  "an accessor of another type is rejected");
	free(b);
	free(c);

	/* extra bytes of the glue survive growth and merges; different sizes mismatch */
	{
		custset    *e = NULL,
				   *f = NULL;
		bool		ok = true;

		custset_create(CUSTSET_ORDERS, 20, MEM, &e, NULL);
		custset_create(CUSTSET_ORDERS, 24, MEM, &f, NULL);
		CHECK(e->extra_size == 24 && custset_merge(&a, e, MEM, NULL) == KPI_ERR_MISMATCH,
			  "extra size rounds up to 8 and must match to merge");
		memset(custset_extra(e), 0xAB, 24);
		for (int i = 0; i < 5000; i++)
		{
			custset_key k = custset_key_int((int64_t) rnd());
			custset    *old = e;

			custset_orders_add(&e, &k, MEM, NULL);
			if (e != old)
				free(old);
		}
		memset(custset_extra(f), 0xCD, 24);
		merge_into(&f, e);
		for (int i = 0; i < 24; i++)
			ok &= ((uint8_t *) custset_extra(e))[i] == 0xAB && ((uint8_t *) custset_extra(f))[i] == 0xCD;
		CHECK(ok, "extra bytes survive growth, and a merge keeps the destination's");
		free(e);
		free(f);
	}

	/* order counts that pass INT64_MAX */
	{
		custset    *x = NULL,
				   *y = NULL;
		custset_repeat rp;
		kpi_status	st;

		custset_parse("(v:1,kind:int8,n:1,customers:[1=9223372036854775807])", CUSTSET_ORDER_COUNT,
					  0, MEM, &x, NULL);
		custset_parse("(v:1,kind:int8,n:1,customers:[1=1])", CUSTSET_ORDER_COUNT, 0, MEM, &y, NULL);
		CHECK(x != NULL && y != NULL && merge_into(&x, y) == KPI_ERR_OVERFLOW,
			  "an order count past INT64_MAX overflows in a merge");
		free(y);
		y = NULL;
		custset_parse("(v:1,kind:int8,n:2,customers:[1=9223372036854775807,2=1])", CUSTSET_ORDER_COUNT,
					  0, MEM, &y, NULL);
		st = y != NULL ? custset_repeat_counts(y, MEM, &rp, &msg) : KPI_ERR_PARAM;
		CHECK(st == KPI_ERR_OVERFLOW, "a total of orders past INT64_MAX overflows");
		free(x);
		free(y);
	}

	/* cohort offsets beyond int32 */
	{
		custset    *x = new_set(CUSTSET_COHORT);
		int32_t		last_period;

		GROW(x, custset_cohort_add(&x, &ki, INT32_MIN, MEM, NULL));
		GROW(x, custset_cohort_add(&x, &ki, INT32_MAX, MEM, NULL));
		CHECK(custset_cohort_table(x, MEM, &rows, &nrows, &last_period, NULL) == KPI_ERR_OVERFLOW,
			  "a cohort offset beyond int32 is KPI_ERR_OVERFLOW");
		free(x);
	}

	/* versions */
	{
		static const uint8_t v2[] = {2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

		CHECK(decode(v2, sizeof(v2), CUSTSET_RETENTION, 0, &d) == KPI_ERR_VERSION,
			  "binary version 2 is KPI_ERR_VERSION");
		CHECK(custset_parse("(v:2,kind:none,n:0,customers:[])", CUSTSET_RETENTION, 0, MEM, &d, NULL)
			  == KPI_ERR_VERSION, "text version 2 is KPI_ERR_VERSION");
	}

	/* text that is well-formed but not canonical, or wrong */
	{
		static const char *const bad[] = {
			"(v:1,kind:int8,n:2,customers:[2=both,1=both])",	/* descending */
			"(v:1,kind:int8,n:2,customers:[1=both,1=after])",	/* repeated */
			"(v:1,kind:int8,n:3,customers:[1=both,2=after])",	/* wrong n */
			"(v:1,kind:int8,n:0,customers:[])",	/* empty must be none */
			"(v:1,kind:none,n:1,customers:[1=both])",
			"(v:1,n:1,kind:int8,customers:[1=both])",	/* field order */
			"(v:1,kind:int8,n:1,customers:[1=sometimes])",
			"(v:1,kind:int8,n:1,customers:[1])",
			"(v:1,kind:int8,n:1,customers:[1=both],extra:1)",
			"(v:1,kind:int8,n:1)",
			"(v:1,kind:float,n:0,customers:[])",
			"(v:1,kind:text,n:1,customers:[\"a=both])",
			"(v:1,kind:text,n:1,customers:[\"a\\x4\"=both])",
			"(v:1,kind:uuid,n:1,customers:[00112233-4455-6677-8899-aabbccddeef=both])",
			"(v:1,kind:int8,n:1,customers:[99999999999999999999=both])",
		};
		bool		ok = true;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			d = NULL;
			ok &= custset_parse(bad[i], CUSTSET_RETENTION, 0, MEM, &d, &msg) == KPI_ERR_TEXT && d == NULL;
		}
		CHECK(ok, "malformed or non-canonical retention text is KPI_ERR_TEXT");
		ok = custset_parse("(v:1,kind:int8,n:1,customers:[1=[5,5]])", CUSTSET_COHORT, 0, MEM, &d, NULL) == KPI_ERR_TEXT &&
			custset_parse("(v:1,kind:int8,n:2,customers:[1=[5],1=[6]])", CUSTSET_COHORT, 0, MEM, &d, NULL) == KPI_ERR_TEXT &&
			custset_parse("(v:1,kind:int8,n:1,customers:[1=[2147483648]])", CUSTSET_COHORT, 0, MEM, &d, NULL) == KPI_ERR_TEXT &&
			custset_parse("(v:1,kind:int8,n:1,customers:[1=[]])", CUSTSET_COHORT, 0, MEM, &d, NULL) == KPI_ERR_TEXT &&
			custset_parse("(v:1,kind:int8,order_kind:none,n:1,customers:[1=[1]])", CUSTSET_CUSTOMER_ORDER, 0, MEM, &d, NULL) == KPI_ERR_TEXT;
		CHECK(ok, "malformed pair lists are KPI_ERR_TEXT");
	}

	/* a lenient but equal spelling reads back to the canonical state */
	{
		custset    *x = NULL;
		char	   *t = NULL;

		CHECK(custset_parse(" ( v:1 , kind:text , n:2 , customers:[ \"a\\x2C\" = before , \"\xc3\xa9\"=after ] ) ",
							CUSTSET_RETENTION, 0, MEM, &x, NULL) == KPI_OK &&
			  (t = to_text(x)) != NULL &&
			  strcmp(t, "(v:1,kind:text,n:2,customers:[\"a,\"=before,\"\\xc3\\xa9\"=after])") == 0,
			  "whitespace, raw UTF-8 and upper-case escapes are read; output is canonical");
		free(t);
		free(x);
	}

	/* a glue type with binary fields of its own around the set */
	{
		custset    *x = new_set(CUSTSET_CUSTOMER_ORDER);
		custset    *back = NULL;
		custset_key o = custset_key_int(7);
		uint8_t		buf[64];
		kpi_writer	w;
		kpi_reader	rd;
		bool		ok;

		CHECK(custset_add(&x, &ki, NULL, 0, MEM, NULL) == KPI_ERR_PARAM,
			  "a pair set needs its second key");
		GROW(x, custset_repeat_add(&x, &ki, &o, MEM, NULL));
		kpi_writer_init(&w, buf, sizeof(buf));
		kpi_put_u8(&w, 42);
		ok = custset_encode(x, &w, NULL) == KPI_ERR_PARAM;	/* not compact */
		GROW(x, custset_compact(x, MEM, &x, NULL));
		ok &= custset_encode(x, &w, NULL) == KPI_OK;
		kpi_put_u32(&w, 4242);
		kpi_reader_init(&rd, buf, w.len);
		ok &= kpi_get_u8(&rd) == 42 &&
			custset_decode(&rd, CUSTSET_CUSTOMER_ORDER, 0, MEM, &back, NULL) == KPI_OK &&
			kpi_get_u32(&rd) == 4242 && kpi_reader_finish(&rd, NULL) == KPI_OK && same_bytes(back, x);
		CHECK(ok, "a glue type reads and writes its own binary fields around the set's");
		free(back);
		free(x);
	}

	/* a glue type with text fields of its own nests the set in one */
	{
		kpi_text_reader tr;
		kpi_text_field f;
		kpi_status	st = kpi_text_open_state(&tr, "(v:1,sum:12.50,orders:( kind:int8,n:2,orders:[7,9] ))", NULL);
		bool		saw_sum = false;
		custset    *x = NULL;
		kpi_strbuf	sb;
		int64_t		n;

		while (st == KPI_OK && kpi_text_next_field(&tr, &f, &st, NULL))
		{
			if (kpi_text_key_is(&f, "sum"))
				saw_sum = true;
			else if (kpi_text_key_is(&f, "orders"))
				st = custset_parse_nested(f.val, f.vallen, CUSTSET_ORDERS, 16, MEM, &x, NULL);
		}
		CHECK(st == KPI_OK && saw_sum && x != NULL && x->extra_size == 16 &&
			  custset_orders_count(x, MEM, &n, NULL) == KPI_OK && n == 2,
			  "a glue type reads the set nested in one of its text fields");
		kpi_strbuf_init(&sb, MEM);
		custset_format_nested(x, MEM, &sb, NULL);
		CHECK(strcmp(sb.data, "(kind:int8,n:2,orders:[7,9])") == 0,
			  "custset_format_nested writes the fields without the version");
		free(sb.data);
		free(x);
	}
	free(a);
}

/* Random and mutated bytes and text never crash and never decode to a non-canonical state. */
static void
test_garbage(void)
{
	static const custset_type types[] = {
		CUSTSET_RETENTION, CUSTSET_COHORT, CUSTSET_ORDER_COUNT, CUSTSET_CUSTOMER_ORDER, CUSTSET_ORDERS
	};
	static const custset_kind kinds[] = {
		CUSTSET_KIND_INT, CUSTSET_KIND_UUID, CUSTSET_KIND_TEXT, CUSTSET_KIND_HASH
	};
	bool		trunc_ok = true,
				canon_ok = true,
				text_ok = true;
	int			accepted = 0;

	for (int round = 0; round < 400; round++)
	{
		custset_type type = types[rnd_below(5)];
		key_pool	cp,
					op;
		ref_row    *rows;
		custset    *s;
		size_t		len;
		uint8_t    *bin;
		char	   *text;
		size_t		n = rnd_below(40);

		pool_make(&cp, kinds[rnd_below(4)], 1 + rnd_below(30));
		pool_make(&op, kinds[rnd_below(4)], 1 + rnd_below(30));
		rows = make_rows(type, &cp, &op, n);
		s = build(type, rows, n);
		bin = encode(s, &len);
		text = to_text(s);

		/* every truncation fails */
		for (size_t cut = 0; cut < len; cut++)
		{
			custset    *d = NULL;

			trunc_ok &= decode(bin, cut, type, 0, &d) != KPI_OK;
		}
		/* random corruption: rejected, or decodes to a state that re-encodes to the same bytes */
		for (int m = 0; m < 20; m++)
		{
			uint8_t    *mut = malloc(len + 8);
			size_t		mlen = len;
			custset    *d = NULL;

			memcpy(mut, bin, len);
			for (int k = 1 + (int) rnd_below(3); k > 0; k--)
			{
				size_t		at = 1 + rnd_below(mlen - 1);

				switch (rnd_below(3))
				{
					case 0:
						mut[at] ^= (uint8_t) (1 << rnd_below(8));
						break;
					case 1:
						mut[at] = (uint8_t) rnd();
						break;
					default:
						if (mlen < len + 8)
							mut[mlen++] = (uint8_t) rnd();
				}
			}
			if (decode(mut, mlen, type, 0, &d) == KPI_OK)
			{
				size_t		len2;
				uint8_t    *again = encode(d, &len2);

				accepted++;
				canon_ok &= len2 == mlen && memcmp(again, mut, mlen) == 0;
				free(again);
				free(d);
			}
			free(mut);
		}
		/* pure noise behind a plausible header */
		{
			uint8_t		noise[64];
			size_t		nlen = 12 + rnd_below(52);
			custset    *d = NULL;

			for (size_t i = 0; i < nlen; i++)
				noise[i] = (uint8_t) rnd();
			noise[0] = 1;
			noise[1] = (uint8_t) type;
			noise[2] = (uint8_t) (1 + rnd_below(4));
			noise[3] = (uint8_t) rnd_below(5);
			noise[4] = noise[5] = noise[6] = 0;
			noise[8] = noise[9] = noise[10] = 0;
			noise[11] = (uint8_t) (nlen - 12);
			if (decode(noise, nlen, type, 0, &d) == KPI_OK)
			{
				size_t		len2;
				uint8_t    *again = encode(d, &len2);

				canon_ok &= len2 == nlen && memcmp(again, noise, nlen) == 0;
				free(again);
				free(d);
			}
		}
		/* mutated text: an error, or a state that formats and reads back */
		for (int m = 0; m < 10 && text != NULL; m++)
		{
			size_t		tlen = strlen(text);
			char	   *mut = malloc(tlen + 2);
			custset    *d = NULL;
			static const char junk[] = "[](),=\"\\x:-0123456789abz ";

			memcpy(mut, text, tlen + 1);
			for (int k = 1 + (int) rnd_below(3); k > 0; k--)
			{
				size_t		at = rnd_below(tlen);

				if (rnd_below(3) == 0)
					memmove(mut + at, mut + at + 1, tlen - at);
				else
					mut[at] = junk[rnd_below(sizeof(junk) - 1)];
				tlen = strlen(mut);
				if (tlen == 0)
					break;
			}
			if (custset_parse(mut, type, 0, MEM, &d, NULL) == KPI_OK)
			{
				char	   *t2 = to_text(d);
				custset    *d2 = NULL;

				text_ok &= t2 != NULL && custset_parse(t2, type, 0, MEM, &d2, NULL) == KPI_OK &&
					same_bytes(d, d2);
				free(t2);
				free(d2);
				free(d);
			}
			free(mut);
		}
		free(bin);
		free(text);
		free(s);
		free(rows);
		pool_free(&cp);
		pool_free(&op);
	}
	CHECK(trunc_ok, "every truncation of an encoded state is rejected");
	CHECK(canon_ok, "corrupted bytes are rejected or decode to a canonical state (same bytes)");
	CHECK(text_ok, "mutated text is rejected or reads back consistently");
	printf("# garbage: %d of 8000 mutated encodings were still valid states\n", accepted);
}

/* ------------------------------------------------------------ performance */

/* Inserts n distinct bigint customers in random order into a retention state. */
static void
bench_retention(size_t n, bool dense)
{
	int64_t    *ids = malloc(n * sizeof(int64_t));
	uint8_t    *before = malloc(n);
	custset    *s = new_set(CUSTSET_RETENTION);
	custset    *c;
	custset_retention r;
	int64_t		want_base = 0;
	size_t		peak = 0,
				len;
	uint8_t    *bin;
	double		t0,
				t1,
				t2,
				t3;
	char		what[160];

	for (size_t i = 0; i < n; i++)
	{
		/* dense: 1..n shuffled; sparse: a random odd multiplier makes distinct 64-bit ids */
		ids[i] = dense ? (int64_t) i + 1 : (int64_t) ((uint64_t) (i + 1) * 0x9E3779B97F4A7C15ULL);
		before[i] = (uint8_t) (rnd() & 1);
		want_base += before[i];
	}
	for (size_t i = n; i > 1; i--)
	{
		size_t		j = rnd_below(i);
		int64_t		t = ids[i - 1];

		ids[i - 1] = ids[j];
		ids[j] = t;
	}
	moving_live = moving_peak = 0;
	if (MEM->in_place)
		moving_count(s->total_size, 0);
	t0 = now_sec();
	for (size_t i = 0; i < n; i++)
	{
		custset_key k = custset_key_int(ids[i]);
		custset    *old = s;

		custset_retention_add(&s, &k, before[i], MEM, NULL);
		if (s != old && !MEM->in_place)
		{
			if ((size_t) old->total_size + s->total_size > peak)
				peak = (size_t) old->total_size + s->total_size;
			free(old);
		}
	}
	t1 = now_sec();
	if (MEM->in_place)
		peak = moving_peak;
	custset_retention_counts(s, MEM, &r, NULL);
	t2 = now_sec();
	c = compacted(s);
	t3 = now_sec();
	bin = encode(c, &len);
	snprintf(what, sizeof(what), "bench: %zu %s bigint customers give base %lld + new %lld",
			 n, dense ? "dense" : "random", (long long) r.base, (long long) r.new_customers);
	CHECK(r.base == want_base && r.new_customers == (int64_t) n - want_base && r.retained == 0, what);
	snprintf(what, sizeof(what), "bench: %s ids take <= 16 bytes per customer in memory and encoded",
			 dense ? "dense" : "random");
	CHECK((double) s->total_size / n <= 16 && (double) len / n <= 16, what);
	if (MEM->in_place)
	{
		snprintf(what, sizeof(what), "bench: %s ids growing in place peak at <= 16 bytes per customer",
				 dense ? "dense" : "random");
		CHECK((double) peak / n <= 16, what);
	}
	printf("# retention, %zu distinct %s bigint customers in random order%s:\n"
		   "#   insert %.3f s (%.0f ns/row), counts %.3f s, compact %.3f s\n"
		   "#   in memory %.2f B/customer (state %zu B), peak during growth (%s) %.2f B/customer\n"
		   "#   compact %.2f B/customer, encoded %.2f B/customer\n",
		   n, dense ? "dense (1..n)" : "random 64-bit", MEM->in_place ? ", growing in place" : "",
		   t1 - t0, (t1 - t0) * 1e9 / n, t2 - t1, t3 - t2,
		   (double) s->total_size / n, (size_t) s->total_size,
		   MEM->in_place ? "all live bytes" : "old+new", (double) peak / n,
		   (double) c->total_size / n, (double) len / n);
	free(bin);
	free(c);
	free(s);
	free(ids);
	free(before);
}

/*
 * rows orders of ncustomers repeat customers, in random order, into a
 * retention and a cohort state (24 periods), and ids that grow (orders of a
 * line-level AOV, 4 lines each) into an order set.
 */
static void
bench_repeat(size_t rows, size_t ncustomers)
{
	custset    *ret = new_set(CUSTSET_RETENTION);
	custset    *coh = new_set(CUSTSET_COHORT);
	custset    *ord = new_set(CUSTSET_ORDERS);
	custset_retention r;
	custset_retention want = {0, 0, 0, 0};
	uint8_t    *flags = calloc(ncustomers, 1);
	uint8_t    *seen = calloc(ncustomers, 1);
	custset_cohort_row *cells;
	int32_t		last_period;
	size_t		ncells;
	int64_t		norders,
				cohort_total = 0,
				want_cohort_total = 0;
	double		t0,
				t1,
				t2,
				t3;
	char		what[120];

	t0 = now_sec();
	for (size_t i = 0; i < rows; i++)
	{
		uint64_t	x = rnd();
		custset_key k = custset_key_int((int64_t) (x % ncustomers));

		GROW(ret, custset_retention_add(&ret, &k, (x >> 40) & 1, MEM, NULL));
		flags[x % ncustomers] |= (x >> 40) & 1 ? CUSTSET_BEFORE : CUSTSET_AFTER;
	}
	t1 = now_sec();
	for (size_t i = 0; i < rows; i++)
	{
		uint64_t	x = rnd();
		custset_key k = custset_key_int((int64_t) (x % ncustomers));

		GROW(coh, custset_cohort_add(&coh, &k, (int32_t) ((x >> 40) % 24), MEM, NULL));
		seen[x % ncustomers] = 1;
	}
	t2 = now_sec();
	for (size_t i = 0; i < rows; i++)
	{
		custset_key k = custset_key_int((int64_t) (1000000 + i / 4));

		GROW(ord, custset_orders_add(&ord, &k, MEM, NULL));
	}
	t3 = now_sec();
	custset_retention_counts(ret, MEM, &r, NULL);
	custset_cohort_table(coh, MEM, &cells, &ncells, &last_period, NULL);
	custset_orders_count(ord, MEM, &norders, NULL);
	for (size_t i = 0; i < ncustomers; i++)
	{
		want.base += (flags[i] & CUSTSET_BEFORE) != 0;
		want.retained += flags[i] == (CUSTSET_BEFORE | CUSTSET_AFTER);
		want.churned += flags[i] == CUSTSET_BEFORE;
		want.new_customers += flags[i] == CUSTSET_AFTER;
		want_cohort_total += seen[i];
	}
	for (size_t i = 0; i < ncells; i++)
		cohort_total += cells[i].offset == 0 ? cells[i].cohort_customers : 0;
	snprintf(what, sizeof(what), "bench: %zu rows of %zu repeat customers give the reference values",
			 rows, ncustomers);
	CHECK(memcmp(&r, &want, sizeof(r)) == 0 && cohort_total == want_cohort_total &&
		  norders == (int64_t) ((rows + 3) / 4), what);
	printf("# %zu rows of %zu repeat customers (random order): retention %.1f ns/row (state %u B),\n"
		   "#   cohort (24 periods) %.1f ns/row (state %u B); %zu order lines, 4 per growing order id:\n"
		   "#   distinct orders %.1f ns/row (state %u B)\n",
		   rows, ncustomers, (t1 - t0) * 1e9 / rows, ret->total_size,
		   (t2 - t1) * 1e9 / rows, coh->total_size, rows, (t3 - t2) * 1e9 / rows, ord->total_size);
	free(cells);
	free(flags);
	free(seen);
	free(ret);
	free(coh);
	free(ord);
}

/* Union of two compact states of n/2 random customers each. */
static void
bench_union(size_t n)
{
	custset    *half[2];
	double		t0,
				t1;
	char		what[120];

	for (int h = 0; h < 2; h++)
	{
		custset    *s = new_set(CUSTSET_RETENTION);

		for (size_t i = 0; i < n / 2; i++)
		{
			/* interleaved halves: even and odd multiples */
			custset_key k = custset_key_int((int64_t) ((uint64_t) (2 * i + h + 1) * 0x9E3779B97F4A7C15ULL));
			custset    *old = s;

			custset_retention_add(&s, &k, h == 0, MEM, NULL);
			if (s != old)
				free(old);
		}
		half[h] = compacted(s);
		free(s);
	}
	t0 = now_sec();
	merge_into(&half[0], half[1]);
	t1 = now_sec();
	snprintf(what, sizeof(what), "bench: union of two %zu-customer states has %zu records",
			 n / 2, (size_t) (n / 2) * 2);
	CHECK(half[0]->nrecords == (n / 2) * 2, what);
	printf("# union of two compact states of %zu random customers: %.3f s (%.1f ns/customer)\n",
		   n / 2, t1 - t0, (t1 - t0) * 1e9 / n);
	free(half[0]);
	free(half[1]);
}

/*
 * Order ids that start again below the first ones open a run after the
 * body (see "run" in custset_core.h): consolidation merges it in too.
 */
static void
test_consolidate_run(void)
{
	for (int in_place = 0; in_place < 2; in_place++)
	{
		custset    *s;
		custset    *c;
		static const int64_t ids[] = {10, 11, 12, 5, 6};

		MEM = in_place ? &in_place_allocator : &kpi_malloc_allocator;
		s = new_set(CUSTSET_ORDERS);
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		{
			custset_key k = custset_key_int(ids[i]);

			GROW(s, custset_orders_add(&s, &k, MEM, NULL));
		}
		c = compacted(s);
		CHECK(s->run_size > 0 && consolidate_set(&s, false) == KPI_OK && custset_all_in_body(s) &&
			  same_bytes(s, c),
			  in_place ? "in place: consolidating merges a run of order ids into the body"
			  : "consolidating merges a run of order ids into the body");
		free(s);
		free(c);
	}
	MEM = &kpi_malloc_allocator;
}

/* The sets test_random builds; in_place: also with in_place_allocator. */
typedef struct random_case
{
	custset_type type;
	custset_kind kind;
	custset_kind kind2;
	const char *label;
	bool		in_place;
} random_case;

static const random_case random_cases[] = {
	{CUSTSET_RETENTION, CUSTSET_KIND_INT, CUSTSET_KIND_NONE, "retention int8", true},
	{CUSTSET_RETENTION, CUSTSET_KIND_TEXT, CUSTSET_KIND_NONE, "retention text", true},
	{CUSTSET_RETENTION, CUSTSET_KIND_UUID, CUSTSET_KIND_NONE, "retention uuid", false},
	{CUSTSET_RETENTION, CUSTSET_KIND_HASH, CUSTSET_KIND_NONE, "retention hash", true},
	{CUSTSET_COHORT, CUSTSET_KIND_INT, CUSTSET_KIND_INT, "cohort int8", true},
	{CUSTSET_COHORT, CUSTSET_KIND_TEXT, CUSTSET_KIND_INT, "cohort text", false},
	{CUSTSET_ORDER_COUNT, CUSTSET_KIND_INT, CUSTSET_KIND_NONE, "order count int8", true},
	{CUSTSET_ORDER_COUNT, CUSTSET_KIND_UUID, CUSTSET_KIND_NONE, "order count uuid", true},
	{CUSTSET_CUSTOMER_ORDER, CUSTSET_KIND_INT, CUSTSET_KIND_TEXT, "customer order int8/text", true},
	{CUSTSET_CUSTOMER_ORDER, CUSTSET_KIND_TEXT, CUSTSET_KIND_UUID, "customer order text/uuid", false},
	{CUSTSET_CUSTOMER_ORDER, CUSTSET_KIND_HASH, CUSTSET_KIND_INT, "customer order hash/int8", true},
	{CUSTSET_ORDERS, CUSTSET_KIND_INT, CUSTSET_KIND_NONE, "orders int8", true},
	{CUSTSET_ORDERS, CUSTSET_KIND_TEXT, CUSTSET_KIND_NONE, "orders text", false},
};

int
main(int argc, char **argv)
{
	size_t		bench_n = 200000;
	const char *env = getenv("KPI_BENCH");

	if (env != NULL)
		bench_n = (size_t) strtoull(env, NULL, 10);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--bench") == 0)
			bench_n = 10000000;

	test_varint();
	test_examples();
	for (int pass = 0; pass < 2; pass++)
	{
		/* the second pass with sets that grow in place */
		MEM = pass == 0 ? &kpi_malloc_allocator : &in_place_allocator;
		for (size_t i = 0; i < sizeof(random_cases) / sizeof(random_cases[0]); i++)
		{
			const random_case *c = &random_cases[i];
			char		label[80];

			if (pass == 1 && !c->in_place)
				continue;
			snprintf(label, sizeof(label), "%s%s", pass == 1 ? "in place: " : "", c->label);
			test_random(c->type, c->kind, c->kind2, label);
		}
	}
	MEM = &kpi_malloc_allocator;
	test_consolidate_run();
	test_rollup();
	test_long_keys();
	test_errors();
	test_garbage();
	bench_retention(bench_n, true);
	bench_retention(bench_n, false);
	MEM = &in_place_allocator;
	bench_retention(bench_n, true);
	bench_retention(bench_n, false);
	MEM = &kpi_malloc_allocator;
	bench_union(bench_n);
	bench_repeat(bench_n / 2, 20000);
	return unit_done();
}
