/*-------------------------------------------------------------------------
 *
 * test_codec.c
 *	  Unit tests of the shared byte and text codecs (src/core/codec.c).
 *
 * Expected values are written out by hand (byte layouts, decimal strings)
 * or come from an independent reference: printf/strtod for numbers, an
 * exact-expansion reference for the shortest form of doubles, and checks
 * of the output's own properties (it reads back exactly, nothing shorter
 * does).
 *
 * IDENTIFICATION
 *	  test/unit/test_codec.c
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "unit.h"
#include "unit_decimal.h"

#include <float.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static double
from_bits(uint64_t bits)
{
	double		d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* ------------------------------------------------------------ binary */

static void
test_writer_layout(void)
{
	uint8_t		buf[1 + 4 + 8 + 16 + 16 + 8 + 3];
	static const uint8_t expected[] = {
		0xAB,
		0x01, 0x02, 0x03, 0x04,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
		0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0x10,
		0x3F, 0xF0, 0, 0, 0, 0, 0, 0,
		'x', 'y', 'z'
	};
	kpi_writer	w;
	kpi_reader	r;
	kpi_msg		msg;

	kpi_writer_init(&w, buf, sizeof(buf));
	kpi_put_u8(&w, 0xAB);
	kpi_put_u32(&w, 0x01020304u);
	kpi_put_i64(&w, -2);
	kpi_put_i128(&w, KPI_INT128_MIN);
	kpi_put_i128(&w, (__int128) 0x0123456789ABCDEFll * 256 + 0x10);
	kpi_put_f64(&w, 1.0);
	kpi_put_bytes(&w, "xyz", 3);
	kpi_put_bytes(&w, "", 0);
	CHECK(w.len == sizeof(expected), "writer: length is the sum of the field widths");
	CHECK(memcmp(buf, expected, sizeof(expected)) == 0, "writer: exact big-endian bytes");

	kpi_reader_init(&r, buf, w.len);
	CHECK(kpi_get_u8(&r) == 0xAB, "reader: u8");
	CHECK(kpi_get_u32(&r) == 0x01020304u, "reader: u32");
	CHECK(kpi_get_i64(&r) == -2, "reader: negative i64");
	CHECK(kpi_get_i128(&r) == KPI_INT128_MIN, "reader: INT128 min");
	CHECK(kpi_get_i128(&r) == (__int128) 0x0123456789ABCDEFll * 256 + 0x10, "reader: i128 spanning both halves");
	CHECK(kpi_get_f64(&r) == 1.0, "reader: f64");
	{
		const uint8_t *p = kpi_get_bytes(&r, 3);

		CHECK(p != NULL && memcmp(p, "xyz", 3) == 0, "reader: raw bytes");
	}
	CHECK(kpi_get_bytes(&r, 0) != NULL, "reader: zero bytes at the end are in bounds");
	CHECK(!r.failed && kpi_reader_finish(&r, NULL) == KPI_OK, "reader: fully consumed input finishes");

	/* extremes of every width */
	kpi_writer_init(&w, buf, sizeof(buf));
	kpi_put_i64(&w, INT64_MIN);
	kpi_put_i64(&w, INT64_MAX);
	kpi_put_i128(&w, KPI_INT128_MAX);
	kpi_put_u32(&w, UINT32_MAX);
	kpi_put_f64(&w, -0.0);
	kpi_reader_init(&r, buf, w.len);
	CHECK(buf[0] == 0x80 && buf[7] == 0 && buf[8] == 0x7F && buf[15] == 0xFF,
		  "writer: INT64 min and max bytes");
	CHECK(kpi_get_i64(&r) == INT64_MIN && kpi_get_i64(&r) == INT64_MAX, "reader: INT64 min and max");
	CHECK(kpi_get_i128(&r) == KPI_INT128_MAX, "reader: INT128 max");
	CHECK(kpi_get_u32(&r) == UINT32_MAX, "reader: UINT32 max");
	CHECK(same_bits(kpi_get_f64(&r), -0.0), "reader: -0.0 keeps its sign bit");
	CHECK(kpi_reader_finish(&r, &msg) == KPI_OK, "reader: extremes consumed exactly");

	/* random round trips */
	{
		int			ok = 1;

		for (int i = 0; i < 2000; i++)
		{
			uint64_t	a = unit_rng_next(),
						b = unit_rng_next();
			__int128	v = (__int128) (((unsigned __int128) a << 64) | b);
			double		d = from_bits(unit_rng_next());
			uint8_t		tmp[16 + 8 + 8];

			kpi_writer_init(&w, tmp, sizeof(tmp));
			kpi_put_i128(&w, v);
			kpi_put_f64(&w, d);
			kpi_put_i64(&w, (int64_t) a);
			/* the first byte is the most significant one */
			if (tmp[0] != (uint8_t) (a >> 56) || tmp[15] != (uint8_t) b)
				ok = 0;
			kpi_reader_init(&r, tmp, sizeof(tmp));
			if (kpi_get_i128(&r) != v || !same_bits(kpi_get_f64(&r), d) ||
				kpi_get_i64(&r) != (int64_t) a || kpi_reader_finish(&r, NULL) != KPI_OK)
				ok = 0;
		}
		CHECK(ok, "writer/reader: 2000 random i128/f64/i64 round trips, most significant byte first");
	}
}

static void
test_reader_bounds(void)
{
	static const uint8_t three[] = {1, 2, 3};
	kpi_reader	r;
	kpi_msg		msg;

	kpi_reader_init(&r, three, sizeof(three));
	CHECK(kpi_get_u32(&r) == 0 && r.failed, "reader: u32 from 3 bytes fails and reads 0");
	CHECK(kpi_get_u8(&r) == 0 && r.failed, "reader: failure is sticky even though bytes remain");
	msg.text[0] = '\0';
	CHECK(kpi_reader_finish(&r, &msg) == KPI_ERR_BINARY, "reader: finish after a short read is KPI_ERR_BINARY");
	CHECK(strcmp(msg.text, "The data ends before the state is complete.") == 0, "reader: short read detail");

	kpi_reader_init(&r, three, sizeof(three));
	CHECK(kpi_get_u8(&r) == 1, "reader: first byte");
	msg.text[0] = '\0';
	CHECK(kpi_reader_finish(&r, &msg) == KPI_ERR_BINARY, "reader: leftover bytes are KPI_ERR_BINARY");
	CHECK(strcmp(msg.text, "2 bytes are left over after the state.") == 0, "reader: leftover detail counts the bytes");

	kpi_reader_init(&r, three, sizeof(three));
	CHECK(kpi_get_bytes(&r, 4) == NULL && r.failed, "reader: raw bytes past the end give NULL");
	kpi_reader_init(&r, three, sizeof(three));
	CHECK(kpi_get_bytes(&r, SIZE_MAX) == NULL && r.failed, "reader: SIZE_MAX raw bytes give NULL");
	kpi_reader_init(&r, three, sizeof(three));
	CHECK(kpi_get_bytes(&r, 3) == three && kpi_reader_finish(&r, NULL) == KPI_OK, "reader: all raw bytes");

	kpi_reader_init(&r, NULL, 0);
	CHECK(kpi_reader_finish(&r, NULL) == KPI_OK, "reader: empty input, nothing read, finishes");
	CHECK(kpi_get_i128(&r) == 0 && r.failed, "reader: i128 from nothing fails");
	CHECK(kpi_get_f64(&r) == 0.0 && kpi_get_i64(&r) == 0, "reader: every read after failure gives 0");

	/* an i128 cut in its second half */
	{
		uint8_t		twelve[12] = {0};

		kpi_reader_init(&r, twelve, sizeof(twelve));
		(void) kpi_get_i128(&r);
		CHECK(r.failed && kpi_reader_finish(&r, NULL) == KPI_ERR_BINARY, "reader: i128 from 12 bytes fails");
	}
}

/* Overrunning the writer is a programming error: the process aborts. */
static void
test_writer_overrun(void)
{
	pid_t		pid;
	int			status = 0;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
	{
		uint8_t		buf[3];
		kpi_writer	w;

		kpi_writer_init(&w, buf, sizeof(buf));
		kpi_put_u32(&w, 1);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
		  WTERMSIG(status) == SIGABRT, "writer: writing past the capacity aborts");
}

static void
test_varint(void)
{
	static const struct
	{
		uint64_t	v;
		size_t		n;
		uint8_t		bytes[10];
	}			cases[] = {
		{0, 1, {0x00}},
		{1, 1, {0x01}},
		{127, 1, {0x7F}},
		{128, 2, {0x80, 0x01}},
		{300, 2, {0xAC, 0x02}},
		{16383, 2, {0xFF, 0x7F}},
		{16384, 3, {0x80, 0x80, 0x01}},
		{UINT64_MAX, 10, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}},
	};
	int			ok = 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		uint8_t		buf[KPI_VARINT_MAX];
		uint8_t    *end = kpi_varint_put(buf, cases[i].v);
		uint64_t	back = 12345;
		char		what[80];

		snprintf(what, sizeof(what), "varint: %llu encodes to %zu known bytes and back",
				 (unsigned long long) cases[i].v, cases[i].n);
		CHECK(kpi_varint_size(cases[i].v) == cases[i].n && (size_t) (end - buf) == cases[i].n &&
			  memcmp(buf, cases[i].bytes, cases[i].n) == 0 &&
			  kpi_varint_get(buf, end, &back) == end && back == cases[i].v, what);
		/* every proper prefix is truncated */
		for (size_t k = 0; k < cases[i].n; k++)
			if (kpi_varint_get(buf, buf + k, &back) != NULL)
				ok = 0;
	}
	CHECK(ok, "varint: every truncated encoding is rejected");

	{
		static const uint8_t redundant[] = {0x80, 0x00};
		static const uint8_t redundant2[] = {0x81, 0x80, 0x00};
		static const uint8_t too_big[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02};
		static const uint8_t too_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
		uint64_t	v;

		CHECK(kpi_varint_get(redundant, redundant + 2, &v) == NULL, "varint: redundant zero group rejected");
		CHECK(kpi_varint_get(redundant2, redundant2 + 3, &v) == NULL, "varint: redundant zero group after data rejected");
		CHECK(kpi_varint_get(too_big, too_big + 10, &v) == NULL, "varint: a value past 2^64 is rejected");
		CHECK(kpi_varint_get(too_long, too_long + 11, &v) == NULL, "varint: 11 bytes are rejected");
	}

	ok = 1;
	for (int i = 0; i < 20000; i++)
	{
		uint64_t	v = unit_rng_next() >> (unit_rng_next() % 64);
		uint8_t		buf[KPI_VARINT_MAX + 1];
		uint8_t    *end = kpi_varint_put(buf, v);
		uint64_t	back;
		size_t		bits = 0;

		for (uint64_t t = v; t != 0; t >>= 1)
			bits++;
		/* ceil(bits / 7) bytes, at least one */
		if ((size_t) (end - buf) != (bits == 0 ? 1 : (bits + 6) / 7) ||
			kpi_varint_size(v) != (size_t) (end - buf) ||
			kpi_varint_get(buf, end, &back) != end || back != v)
			ok = 0;
	}
	CHECK(ok, "varint: 20000 random values round trip in ceil(bits/7) bytes");

	/* random bytes never read past the end, and what decodes re-encodes identically */
	ok = 1;
	for (int i = 0; i < 20000; i++)
	{
		uint8_t		bytes[12];
		size_t		n = unit_rng_next() % sizeof(bytes);
		uint8_t    *heap;
		const uint8_t *end;
		uint64_t	v;

		for (size_t k = 0; k < n; k++)
			bytes[k] = (uint8_t) (unit_rng_next() | ((unit_rng_next() & 3) ? 0x80 : 0));
		heap = malloc(n ? n : 1);
		memcpy(heap, bytes, n);
		end = kpi_varint_get(heap, heap + n, &v);
		if (end != NULL)
		{
			uint8_t		again[KPI_VARINT_MAX];

			if ((size_t) (kpi_varint_put(again, v) - again) != (size_t) (end - heap) ||
				memcmp(again, heap, (size_t) (end - heap)) != 0)
				ok = 0;
		}
		free(heap);
	}
	CHECK(ok, "varint: random bytes decode only in the unique minimal form");
}

/* ---------------------------------------------------------- text output */

/* An allocator that fails once `budget` bytes have been handed out. */
typedef struct budget
{
	size_t		left;
} budget;

static void *
budget_alloc(size_t size, void *ctx)
{
	budget	   *b = ctx;

	if (size > b->left)
		return NULL;
	b->left -= size;
	return malloc(size);
}

static void *
budget_realloc(void *ptr, size_t size, void *ctx)
{
	budget	   *b = ctx;

	if (size > b->left)
		return NULL;
	b->left -= size;
	return realloc(ptr, size);
}

static void
budget_free(void *ptr, void *ctx)
{
	(void) ctx;
	free(ptr);
}

static void
test_strbuf(void)
{
	kpi_strbuf	sb;
	char	   *ref = malloc(20000);
	size_t		reflen = 0;
	int			ok = 1;

	kpi_strbuf_init(&sb, &kpi_malloc_allocator);
	CHECK(!sb.failed && sb.len == 0 && sb.data[0] == '\0', "strbuf: starts empty and terminated");
	/* many appends of varying length cross several doublings */
	for (int i = 0; i < 1500; i++)
	{
		char		piece[16];
		int			n = i % 13;

		for (int k = 0; k < n; k++)
			piece[k] = (char) ('a' + (i + k) % 26);
		piece[n] = '\0';
		kpi_strbuf_append(&sb, piece);
		memcpy(ref + reflen, piece, (size_t) n);
		reflen += (size_t) n;
		if (sb.len != reflen || sb.cap <= sb.len || sb.data[sb.len] != '\0')
			ok = 0;
	}
	CHECK(ok, "strbuf: length, capacity and terminator stay right while growing");
	CHECK(sb.len == reflen && memcmp(sb.data, ref, reflen) == 0, "strbuf: content equals the reference");

	/* one append much larger than twice the capacity */
	memset(ref, 'Q', 9999);
	ref[9999] = '\0';
	{
		size_t		before = sb.len;

		kpi_strbuf_append(&sb, ref);
		CHECK(sb.len == before + 9999 && sb.data[before] == 'Q' && sb.data[sb.len - 1] == 'Q' &&
			  sb.data[sb.len] == '\0' && !sb.failed, "strbuf: a large append grows the buffer at once");
	}
	free(sb.data);

	/* append_n: exactly n bytes, NUL or not, and nothing for n = 0 */
	kpi_strbuf_init(&sb, &kpi_malloc_allocator);
	kpi_strbuf_append_n(&sb, "abcdef", 3);
	kpi_strbuf_append_n(&sb, "zzz", 0);
	kpi_strbuf_append_n(&sb, "x\0y", 3);
	CHECK(sb.len == 6 && memcmp(sb.data, "abcx\0y", 7) == 0 && sb.data[6] == '\0',
		  "strbuf: append_n copies n bytes and terminates");
	ok = 1;
	for (int i = 0; i < 200; i++)
	{
		kpi_strbuf_append_n(&sb, ref, 50);
		if (sb.len != 6 + 50 * (size_t) (i + 1) || sb.data[sb.len] != '\0' || sb.data[sb.len - 1] != 'Q')
			ok = 0;
	}
	CHECK(ok, "strbuf: append_n grows the buffer like append");
	free(sb.data);

	kpi_strbuf_init(&sb, &kpi_malloc_allocator);
	kpi_strbuf_appendf(&sb, "%s-%d-%05.1f", "x", -42, 3.25);
	kpi_strbuf_appendf(&sb, "%s", "");
	kpi_strbuf_appendf(&sb, "%0300d|", 7);
	CHECK(strncmp(sb.data, "x--42-003.2", 11) == 0 && sb.len == 11 + 301 &&
		  sb.data[11 + 299] == '7' && sb.data[11 + 300] == '|',
		  "strbuf: appendf formats like printf and grows");
	free(sb.data);

	/* append_i128 at the extremes and against printf on values that fit */
	{
		static const struct
		{
			__int128	v;
			const char *text;
		}			cases[] = {
			{0, "0"},
			{-1, "-1"},
			{9, "9"},
			{10, "10"},
			{INT64_MIN, "-9223372036854775808"},
			{(__int128) INT64_MAX + 1, "9223372036854775808"},
			{KPI_INT128_MAX, "170141183460469231731687303715884105727"},
			{KPI_INT128_MIN, "-170141183460469231731687303715884105728"},
			{KPI_INT128_MIN + 1, "-170141183460469231731687303715884105727"},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			char		what[100];

			kpi_strbuf_init(&sb, &kpi_malloc_allocator);
			kpi_strbuf_append_i128(&sb, cases[i].v);
			snprintf(what, sizeof(what), "strbuf: append_i128 writes %s", cases[i].text);
			CHECK(strcmp(sb.data, cases[i].text) == 0, what);
			free(sb.data);
		}
	}
	ok = 1;
	for (int i = 0; i < 5000; i++)
	{
		/* a random 128-bit value, against pieces of 18 digits written by printf */
		__int128	v = (__int128) (((unsigned __int128) unit_rng_next() << 64) | unit_rng_next());
		char		expect[64];

		v >>= unit_rng_next() % 128;
		unit_i128_text(v, expect);
		kpi_strbuf_init(&sb, &kpi_malloc_allocator);
		kpi_strbuf_append_i128(&sb, v);
		if (strcmp(sb.data, expect) != 0)
			ok = 0;
		free(sb.data);
	}
	CHECK(ok, "strbuf: append_i128 equals a printf-based reference on 5000 random values");

	/* allocation failure: the buffer says so and stays usable as a flag */
	{
		budget		b = {0};
		kpi_allocator mem = {budget_alloc, budget_realloc, budget_free, &b, false};

		kpi_strbuf_init(&sb, &mem);
		CHECK(sb.failed, "strbuf: init reports a failed allocation");
		kpi_strbuf_append(&sb, "abc");
		kpi_strbuf_appendf(&sb, "%d", 1);
		CHECK(sb.failed && sb.len == 0, "strbuf: appends after a failure do nothing");

		b.left = 100;
		kpi_strbuf_init(&sb, &mem);
		CHECK(!sb.failed, "strbuf: init within the budget");
		kpi_strbuf_append(&sb, "0123456789012345678901234567890123456789012345678901234567890123456789");
		CHECK(sb.failed && sb.len == 0 && sb.data[0] == '\0', "strbuf: a failed growth keeps the old content");
		free(sb.data);
	}
	free(ref);
}

static char *
f64_text(double v)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, &kpi_malloc_allocator);
	kpi_strbuf_append_f64(&sb, v);
	return sb.data;
}

/*
 * The reference for append_f64 works on exact decimals, so it shares no
 * step with the code under test: glibc's printf writes any double's exact
 * expansion, and the midpoints between neighbouring doubles are v plus or
 * minus half the gap to the neighbour (a power of two, from a table built
 * by halving and doubling digit by digit).  A candidate stands for v when
 * it lies strictly between the midpoints around v.
 *
 * A fixed decimal has FIXED_INT digits before the point and FIXED_FRAC
 * after it, enough for any double (below 2^1024, a multiple of 2^-1074)
 * and any midpoint (a multiple of 2^-1075).
 */
#define FIXED_INT 310
#define FIXED_FRAC 1076
#define FIXED_LEN (FIXED_INT + FIXED_FRAC)
#define POW2_MIN (-1075)
#define POW2_MAX 970

typedef struct fixed
{
	char		d[FIXED_LEN + 1];
} fixed;

/* v finite, >= 0 */
static void
fixed_from_double(double v, fixed *f)
{
	char		text[FIXED_LEN + 8];
	int			intlen = snprintf(text, sizeof(text), "%.*f", FIXED_FRAC, v) - FIXED_FRAC - 1;

	memset(f->d, '0', (size_t) (FIXED_INT - intlen));
	memcpy(f->d + FIXED_INT - intlen, text, (size_t) intlen);
	memcpy(f->d + FIXED_INT, text + intlen + 1, FIXED_FRAC);
	f->d[FIXED_LEN] = '\0';
}

/* r = a + b, or a - b (a >= b) when sign is -1 */
static void
fixed_add(const fixed *a, const fixed *b, int sign, fixed *r)
{
	int			carry = 0;

	for (int i = FIXED_LEN - 1; i >= 0; i--)
	{
		int			t = (a->d[i] - '0') + sign * (b->d[i] - '0') + carry;

		carry = t < 0 ? -1 : t / 10;
		r->d[i] = (char) ('0' + t - 10 * carry);
	}
	r->d[FIXED_LEN] = '\0';
}

/* 2^k for k in [POW2_MIN, POW2_MAX] */
static const fixed *
fixed_pow2(int k)
{
	static fixed table[POW2_MAX - POW2_MIN + 1];
	static bool built;

	if (!built)
	{
		built = true;
		memset(table[-POW2_MIN].d, '0', FIXED_LEN);
		table[-POW2_MIN].d[FIXED_INT - 1] = '1';
		table[-POW2_MIN].d[FIXED_LEN] = '\0';
		for (int j = 1; j <= POW2_MAX; j++)
			fixed_add(&table[j - 1 - POW2_MIN], &table[j - 1 - POW2_MIN], 1, &table[j - POW2_MIN]);
		for (int j = -1; j >= POW2_MIN; j--)
		{
			/* halve digit by digit from the left */
			const fixed *from = &table[j + 1 - POW2_MIN];
			fixed	   *to = &table[j - POW2_MIN];
			int			rest = 0;

			for (int i = 0; i < FIXED_LEN; i++)
			{
				int			t = 10 * rest + (from->d[i] - '0');

				to->d[i] = (char) ('0' + t / 2);
				rest = t % 2;
			}
			to->d[FIXED_LEN] = '\0';
		}
	}
	return &table[k - POW2_MIN];
}

/* The significant digits of f > 0 (no trailing zeros) and the exponent of the first. */
static int
fixed_digits(const fixed *f, char *digits)
{
	int			first = 0,
				last = FIXED_LEN - 1;

	while (f->d[first] == '0')
		first++;
	while (f->d[last] == '0')
		last--;
	memcpy(digits, f->d + first, (size_t) (last - first + 1));
	digits[last - first + 1] = '\0';
	return FIXED_INT - 1 - first;
}

/*
 * A positive decimal as its significant digits (no trailing zeros) and the
 * decimal exponent of the first.
 */
typedef struct decimal
{
	char		digits[FIXED_LEN + 1];
	int			exponent;
} decimal;

static void
decimal_from_fixed(const fixed *f, decimal *d)
{
	d->exponent = fixed_digits(f, d->digits);
}

/* <0, 0, >0 as a (digits and exponent) is below, at or above b */
static int
decimal_cmp(const char *digits, int exponent, const decimal *b)
{
	size_t		alen = strlen(digits),
				blen = strlen(b->digits);

	if (exponent != b->exponent)
		return exponent < b->exponent ? -1 : 1;
	for (size_t i = 0; i < alen || i < blen; i++)
	{
		char		x = i < alen ? digits[i] : '0',
					y = i < blen ? b->digits[i] : '0';

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* Finite v > 0 exactly, and the midpoints to its neighbours. */
typedef struct f64_interval
{
	decimal		low;			/* the midpoint to the lower neighbour */
	decimal		high;			/* the midpoint to the upper neighbour */
	decimal		v;
} f64_interval;

/* The exponent k of half the gap between v and w, a power of two 2^k. */
static int
half_gap_exponent(double v, double w)
{
	int			k;

	(void) frexp(fabs(w - v), &k);	/* the gap is 2^(k - 1) */
	return k - 2;
}

static void
f64_interval_of(double v, f64_interval *iv)
{
	fixed		fv,
				mid;
	double		below = nextafter(v, 0),
				above = nextafter(v, INFINITY);

	fixed_from_double(v, &fv);
	decimal_from_fixed(&fv, &iv->v);
	fixed_add(&fv, fixed_pow2(half_gap_exponent(v, below)), -1, &mid);
	decimal_from_fixed(&mid, &iv->low);
	/* above DBL_MAX, the gap would be the one below */
	fixed_add(&fv, fixed_pow2(half_gap_exponent(v, isinf(above) ? below : above)), 1, &mid);
	decimal_from_fixed(&mid, &iv->high);
}

/*
 * v cut to len significant digits, rounded down (up = false) or up: the
 * digits (len of them, zeros kept) to out, and whether they stand for v.
 */
static bool
f64_candidate(const f64_interval *iv, int len, bool up, char *out, int *exponent)
{
	int			n = (int) strlen(iv->v.digits);

	*exponent = iv->v.exponent;
	for (int i = 0; i < len; i++)
		out[i] = i < n ? iv->v.digits[i] : '0';
	out[len] = '\0';
	if (up && n > len)
	{
		int			i = len - 1;

		for (; i >= 0 && out[i] == '9'; i--)
			out[i] = '0';
		if (i >= 0)
			out[i]++;
		else
		{
			out[0] = '1';
			(*exponent)++;
		}
	}
	return decimal_cmp(out, *exponent, &iv->low) > 0 && decimal_cmp(out, *exponent, &iv->high) < 0;
}

/*
 * float8out's text of finite v > 0: the fewest digits that stand for v,
 * of the two candidates of that length the nearer one (the even one on a
 * tie), written plain for exponents in [-4, 15), else as d.ddde+NN.
 */
static void
reference_f64(const f64_interval *iv, char *out, size_t outsize)
{
	static const char zeros[] = "000000000000000";
	char		digits[20];
	int			exponent;
	int			n;

	for (int len = 1;; len++)
	{
		char		up[20];
		int			eup;
		bool		down_ok = f64_candidate(iv, len, false, digits, &exponent),
					up_ok = f64_candidate(iv, len, true, up, &eup);

		if (down_ok && up_ok)
		{
			/* the digits cut off, against a half unit: "5" then zeros */
			const char *rest = (int) strlen(iv->v.digits) > len ? iv->v.digits + len : "0";
			int			cmp = rest[0] != '5' ? rest[0] - '5' : rest[1] != '\0';

			if (cmp == 0)
				cmp = (digits[len - 1] - '0') % 2 == 0 ? -1 : 1;
			down_ok = cmp < 0;
		}
		if (down_ok)
			break;
		if (up_ok)
		{
			strcpy(digits, up);
			exponent = eup;
			break;
		}
	}
	n = (int) strlen(digits);
	while (n > 1 && digits[n - 1] == '0')
		digits[--n] = '\0';
	if (exponent < -4 || exponent >= 15)
		snprintf(out, outsize, "%c%s%se%+03d", digits[0], n > 1 ? "." : "", digits + 1, exponent);
	else if (exponent < 0)
		snprintf(out, outsize, "0.%.*s%s", -exponent - 1, zeros, digits);
	else if (n <= exponent + 1)
		/* pad with zeros to the units digit */
		snprintf(out, outsize, "%s%.*s", digits, exponent + 1 - n, zeros);
	else
		snprintf(out, outsize, "%.*s.%s", exponent + 1, digits, digits + exponent + 1);
}

/*
 * Whether append_f64 writes v (finite, nonzero) as the reference does,
 * and (checked apart from the reference's choice) whether no candidate
 * with fewer significant digits than written stands for v.
 */
static void
check_f64(double v, int *ok_reference, int *ok_short)
{
	static f64_interval iv;
	char		expect[40];
	char	   *t = f64_text(v);
	int			written = 0;

	f64_interval_of(fabs(v), &iv);
	expect[0] = '-';
	reference_f64(&iv, expect + (v < 0), sizeof(expect) - 1);
	if (strcmp(t, expect) != 0)
	{
		if (*ok_reference)
			printf("#   %a: got \"%s\", expected \"%s\"\n", v, t, expect);
		*ok_reference = 0;
	}
	/* the significant digits written: all but the sign, point, exponent and zeros around */
	{
		const char *first = t + strcspn(t, "123456789");
		const char *end = first + strcspn(first, "e");

		while (end > first && (end[-1] == '0' || end[-1] == '.'))
			end--;
		written = (int) (end - first) - (memchr(first, '.', (size_t) (end - first)) != NULL);
	}
	for (int up = 0; up <= 1 && written > 1; up++)
	{
		char		digits[20];
		int			exponent;

		if (f64_candidate(&iv, written - 1, up, digits, &exponent))
			*ok_short = 0;
	}
	free(t);
}

static void
test_append_f64(void)
{
	static const struct
	{
		double		v;
		const char *text;
	}			cases[] = {
		{0.0, "0"},
		{-0.0, "-0"},
		{1.0, "1"},
		{-2.5, "-2.5"},
		{0.1, "0.1"},
		{0.30000000000000004, "0.30000000000000004"},
		{1.0 / 3, "0.3333333333333333"},
		{2.0 / 3, "0.6666666666666666"},
		/* plain while the decimal exponent is in [-4, 15), as float8out */
		{100.0, "100"},
		{1234.5, "1234.5"},
		{12300.0, "12300"},
		{123.45, "123.45"},
		{-1e14, "-100000000000000"},
		{999999999999999.9, "999999999999999.9"},
		{123456789012345.6, "123456789012345.6"},
		{0.0001, "0.0001"},
		{-0.00012345, "-0.00012345"},
		/* else d.ddde+NN, at least two exponent digits */
		{1e15, "1e+15"},
		{9007199254740992.0, "9.007199254740992e+15"},
		{1e16, "1e+16"},
		{-1e21, "-1e+21"},
		{1e100, "1e+100"},
		{1e-5, "1e-05"},
		{1.5e-5, "1.5e-05"},
		{1e-7, "1e-07"},
		{DBL_MAX, "1.7976931348623157e+308"},
		{DBL_MIN, "2.2250738585072014e-308"},
		{-1.5e-310, "-1.5e-310"},
		{4.9406564584124654e-324, "5e-324"},

		/*
		 * 2^89 = 618970019642690137449562112: the double below is 2^36 away
		 * and the one above 2^37, so what reads back lies within 2^35 =
		 * 3.44e10 below or 2^36 = 6.87e10 above.  Of its 16-digit
		 * neighbours, ...690100000000000 (3.74e10 below) does not read
		 * back and ...690200000000000 (6.26e10 above) does: the 16 digits
		 * are rounded up although 2^89 is nearer the ones below.  2^-1017
		 * is another such power of two.
		 */
		{0x1p89, "6.189700196426902e+26"},
		{0x1p-1017, "7.120236347223045e-307"},

		/*
		 * 1e23 is the midpoint of the doubles 99999999999999991611392 and
		 * 100000000000000008388608: "1e+23" reads back to the even first
		 * one, but float8out never writes a midpoint.  Likewise
		 * 47858519907456780 is the midpoint below 47858519907456784 (the
		 * doubles there are 8 apart).
		 */
		{1e23, "9.999999999999999e+22"},
		{47858519907456784.0, "4.7858519907456784e+16"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char	   *t = f64_text(cases[i].v);
		char		what[100];

		snprintf(what, sizeof(what), "append_f64: writes \"%s\"", cases[i].text);
		CHECK(strcmp(t, cases[i].text) == 0, what);
		free(t);
	}
	{
		char	   *a = f64_text(NAN),
				   *b = f64_text(-NAN),
				   *c = f64_text(INFINITY),
				   *d = f64_text(-INFINITY);

		CHECK(strcmp(a, "NaN") == 0 && strcmp(b, "NaN") == 0, "append_f64: NaN of either sign is \"NaN\"");
		CHECK(strcmp(c, "Infinity") == 0 && strcmp(d, "-Infinity") == 0, "append_f64: infinities");
		free(a);
		free(b);
		free(c);
		free(d);
	}

	/*
	 * Random doubles (random bit patterns, which include subnormals, plus
	 * amounts with cents): the text reads back to the same bits through
	 * strtod and through kpi_parse_f64; and for every fourth (the
	 * reference is slow), no shorter form stands for the double and the
	 * text is the reference's.
	 */
	{
		int			ok_strtod = 1,
					ok_parse = 1,
					ok_short = 1,
					ok_reference = 1,
					subnormals = 0;

		for (int i = 0; i < 60000; i++)
		{
			double		v;
			char	   *t;
			double		back;

			if (i % 3 == 0)
				v = (double) ((int64_t) (unit_rng_next() % 2000000001) - 1000000000) / 100.0;
			else if (i % 3 == 1)
				v = from_bits(unit_rng_next() >> (unit_rng_next() % 12 == 0 ? 12 : 0));
			else
				v = from_bits(unit_rng_next());
			if (!isfinite(v) || v == 0)
				continue;
			if (fabs(v) < DBL_MIN)
				subnormals++;
			t = f64_text(v);
			if (!same_bits(strtod(t, NULL), v))
				ok_strtod = 0;
			if (kpi_parse_f64(t, strlen(t), &back, NULL) != KPI_OK || !same_bits(back, v))
			{
				if (ok_parse)
					printf("# kpi_parse_f64 does not read back \"%s\"\n", t);
				ok_parse = 0;
			}
			if (i % 4 == 0)
				check_f64(v, &ok_reference, &ok_short);
			free(t);
		}
		CHECK(subnormals > 100, "append_f64: the random sample contains subnormals");
		CHECK(ok_strtod, "append_f64: 60000 random doubles read back bit-exactly with strtod");
		CHECK(ok_parse, "append_f64: 60000 random doubles read back bit-exactly with kpi_parse_f64");
		CHECK(ok_short, "append_f64: no shorter form, rounded down or up, stands for 15000 random doubles");
		CHECK(ok_reference, "append_f64: 15000 random doubles are written as the exact-decimal reference writes them");
	}

	/* powers of two (uneven gaps) and of ten, with their neighbours */
	{
		int			ok_reference = 1,
					ok_short = 1;

		for (int k = -1074; k <= 1023; k++)
		{
			check_f64(ldexp(1.0, k), &ok_reference, &ok_short);
			check_f64(-ldexp(1.0, k), &ok_reference, &ok_short);
		}
		for (int k = -323; k <= 308; k++)
		{
			char		text[16];
			double		p;

			snprintf(text, sizeof(text), "1e%d", k);
			p = strtod(text, NULL);
			check_f64(p, &ok_reference, &ok_short);
			check_f64(nextafter(p, 0), &ok_reference, &ok_short);
			check_f64(nextafter(p, INFINITY), &ok_reference, &ok_short);
		}
		CHECK(ok_reference && ok_short,
			  "append_f64: every power of two and of ten (and its neighbours) as the reference writes it, and shortest");
	}
}

/* ------------------------------------------------------------ text input */

static void
test_text_open(void)
{
	kpi_text_reader tr;
	kpi_text_field f;
	kpi_status	st;
	kpi_msg		msg;
	static const char *const bad[] = {
		"", "   ", "v:1", "(v:1", "v:1)", "(", ")", ")(", "x(v:1)", "(v:1)x", "[v:1]", " ( v:1 ) ;"
	};

	CHECK(kpi_text_open(&tr, "()", NULL) == KPI_OK, "text_open: () is an empty state");
	CHECK(!kpi_text_next_field(&tr, &f, &st, NULL) && st == KPI_OK, "text_open: () has no field");
	CHECK(kpi_text_open(&tr, " \t\n( \r\n )\n\t ", NULL) == KPI_OK, "text_open: whitespace around and inside");
	CHECK(!kpi_text_next_field(&tr, &f, &st, NULL) && st == KPI_OK, "text_open: only whitespace inside");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char		what[80];

		msg.text[0] = '\0';
		snprintf(what, sizeof(what), "text_open: \"%s\" is KPI_ERR_TEXT with a detail", bad[i]);
		CHECK(kpi_text_open(&tr, bad[i], &msg) == KPI_ERR_TEXT && msg.text[0] != '\0', what);
	}
}

/* Copies s into out with control characters escaped, for a one-line TAP description. */
static const char *
one_line(const char *s, char *out, size_t outsize)
{
	size_t		n = 0;

	for (; *s && n + 3 < outsize; s++)
	{
		if (*s == '\n' || *s == '\t' || *s == '\r')
		{
			out[n++] = '\\';
			out[n++] = *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r';
		}
		else
			out[n++] = *s;
	}
	out[n] = '\0';
	return out;
}

/* Reads every field of text into keys/vals ("k=v;" pairs); returns the final status. */
static kpi_status
read_all(const char *text, char *out, size_t outsize)
{
	kpi_text_reader tr;
	kpi_text_field f;
	kpi_status	st = kpi_text_open(&tr, text, NULL);
	size_t		len = 0;

	out[0] = '\0';
	if (st != KPI_OK)
		return st;
	while (kpi_text_next_field(&tr, &f, &st, NULL))
		len += (size_t) snprintf(out + len, outsize - len, "%.*s=%.*s;",
								 (int) f.keylen, f.key, (int) f.vallen, f.val);
	return st;
}

static void
test_text_fields(void)
{
	char		out[400];
	static const struct
	{
		const char *text;
		const char *fields;
	}			good[] = {
		{"(a:1)", "a=1;"},
		{"(v:1,n:42,sum:1234.50)", "v=1;n=42;sum=1234.50;"},
		{"( a : 1 ,\tb\t:\t2\t)", "a=1;b=2;"},
		{"(\n a:1,\n b:2\n)", "a=1;b=2;"},
		{"(a\r\n:1\r\n,b:[1,\t2]\n)", "a=1;b=[1,\t2];"},
		{"(list:[1,2,3],t:(x:1,y:[2,(3,4)]),z:0)", "list=[1,2,3];t=(x:1,y:[2,(3,4)]);z=0;"},
		{"(a:[[[]]],b:())", "a=[[[]]];b=();"},
		{"(a:x y z,b:c:d)", "a=x y z;b=c:d;"},
		{"(a:)", "a=;"},
		{"(a:,b:)", "a=;b=;"},
		{"(a: [ 1 , 2 ] )", "a=[ 1 , 2 ];"},
	};
	static const struct
	{
		const char *text;
		const char *detail;
	}			bad[] = {
		{"(a:1,)", "A field is missing after a trailing comma."},
		{"(a:1, \t)", "A field is missing after a trailing comma."},
		{"(a)", "Each field is written as \"key:value\"."},
		{"(a:1,b)", "Each field is written as \"key:value\"."},
		{"(a:1,,b:2)", "Each field is written as \"key:value\"."},
		{"(,a:1)", "Each field is written as \"key:value\"."},
		{"(:1)", "A field has an empty key."},
		{"( \t:1)", "A field has an empty key."},
		{"(a:1, :2)", "A field has an empty key."},
		{"(a:[1,2)", "Unbalanced brackets in field \"a\"."},
		{"(a:(1,b:2)", "Unbalanced brackets in field \"a\"."},
		{"(a:1],b:2)", "Unbalanced brackets in field \"a\"."},
		{"(a:1,bb:x))", "Unbalanced brackets in field \"bb\"."},
		{"(a:[[1]],b:[)", "Unbalanced brackets in field \"b\"."},
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		char		what[160];
		char		shown[80];
		kpi_status	st = read_all(good[i].text, out, sizeof(out));

		snprintf(what, sizeof(what), "text fields: \"%s\" splits as %s",
				 one_line(good[i].text, shown, sizeof(shown)), good[i].fields);
		CHECK(st == KPI_OK && strcmp(out, good[i].fields) == 0, what);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		kpi_text_reader tr;
		kpi_text_field f;
		kpi_status	st = KPI_OK;
		kpi_msg		msg;
		char		what[160];
		char		shown[80];

		msg.text[0] = '\0';
		if (kpi_text_open(&tr, bad[i].text, NULL) == KPI_OK)
			while (kpi_text_next_field(&tr, &f, &st, &msg))
				;
		snprintf(what, sizeof(what), "text fields: \"%s\" fails: %s",
				 one_line(bad[i].text, shown, sizeof(shown)), bad[i].detail);
		CHECK(st == KPI_ERR_TEXT && strcmp(msg.text, bad[i].detail) == 0, what);
	}

	/* key comparison is exact, not a prefix match */
	{
		kpi_text_reader tr;
		kpi_text_field f;
		kpi_status	st;

		CHECK(kpi_text_open(&tr, "(nan:1)", NULL) == KPI_OK && kpi_text_next_field(&tr, &f, &st, NULL),
			  "text fields: one field");
		CHECK(kpi_text_key_is(&f, "nan") && !kpi_text_key_is(&f, "n") && !kpi_text_key_is(&f, "nans") &&
			  !kpi_text_key_is(&f, "NAN"), "text_key_is: exact, case-sensitive match");
	}
}

static void
test_text_open_state(void)
{
	kpi_text_reader tr;
	kpi_text_field f;
	kpi_status	st;
	kpi_msg		msg;
	static const struct
	{
		const char *text;
		kpi_status	expect;
	}			cases[] = {
		{"(v:1)", KPI_OK},
		{"( v : 1 , n:0)", KPI_OK},
		{"(v:+1)", KPI_OK},
		{"(v:2,n:0)", KPI_ERR_VERSION},
		{"(v:0)", KPI_ERR_VERSION},
		{"(v:-1)", KPI_ERR_VERSION},
		{"(v:9223372036854775807)", KPI_ERR_VERSION},
		{"(v:99999999999999999999999)", KPI_ERR_TEXT},
		{"(v:x)", KPI_ERR_TEXT},
		{"(v:)", KPI_ERR_TEXT},
		{"(v:1.0)", KPI_ERR_TEXT},
		{"(n:0,v:1)", KPI_ERR_TEXT},
		{"(V:1)", KPI_ERR_TEXT},
		{"()", KPI_ERR_TEXT},
		{"(v:1", KPI_ERR_TEXT},
		{"(v:[1)", KPI_ERR_TEXT},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		what[100];

		msg.text[0] = '\0';
		st = kpi_text_open_state(&tr, cases[i].text, &msg);
		snprintf(what, sizeof(what), "text_open_state: \"%s\" gives status %d", cases[i].text, (int) cases[i].expect);
		CHECK(st == cases[i].expect && (st == KPI_OK || msg.text[0] != '\0'), what);
	}
	msg.text[0] = '\0';
	(void) kpi_text_open_state(&tr, "(v:2)", &msg);
	CHECK(strcmp(msg.text, "This release of kpi reads state version 1, not 2.") == 0, "text_open_state: version detail");

	CHECK(kpi_text_open_state(&tr, "(v:1, n:5 ,x:[1])", NULL) == KPI_OK, "text_open_state: more fields follow");
	CHECK(kpi_text_next_field(&tr, &f, &st, NULL) && kpi_text_key_is(&f, "n") && f.vallen == 1 && f.val[0] == '5',
		  "text_open_state: the next field is the one after v");
	CHECK(kpi_text_next_field(&tr, &f, &st, NULL) && kpi_text_key_is(&f, "x") && f.vallen == 3,
		  "text_open_state: bracketed last field");
	CHECK(!kpi_text_next_field(&tr, &f, &st, NULL) && st == KPI_OK, "text_open_state: then the end");
}

static void
test_parse_ints(void)
{
	int64_t		v64;
	__int128	v128;
	static const char *const bad[] = {
		"", "-", "+", "1a", " 1", "1 ", "0x10", "--1", "+-1", "1.0", "1e3", "١"
	};

	CHECK(kpi_parse_i64("0", 1, &v64, NULL) == KPI_OK && v64 == 0, "parse_i64: 0");
	CHECK(kpi_parse_i64("-0", 2, &v64, NULL) == KPI_OK && v64 == 0, "parse_i64: -0");
	CHECK(kpi_parse_i64("+17", 3, &v64, NULL) == KPI_OK && v64 == 17, "parse_i64: +17");
	CHECK(kpi_parse_i64("000042", 6, &v64, NULL) == KPI_OK && v64 == 42, "parse_i64: leading zeros");
	CHECK(kpi_parse_i64("9223372036854775807", 19, &v64, NULL) == KPI_OK && v64 == INT64_MAX, "parse_i64: INT64 max");
	CHECK(kpi_parse_i64("-9223372036854775808", 20, &v64, NULL) == KPI_OK && v64 == INT64_MIN, "parse_i64: INT64 min");
	CHECK(kpi_parse_i64("9223372036854775808", 19, &v64, NULL) == KPI_ERR_TEXT, "parse_i64: INT64 max + 1");
	CHECK(kpi_parse_i64("-9223372036854775809", 20, &v64, NULL) == KPI_ERR_TEXT, "parse_i64: INT64 min - 1");
	CHECK(kpi_parse_i64("123456", 3, &v64, NULL) == KPI_OK && v64 == 123, "parse_i64: reads only len characters");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char		what[60];
		kpi_msg		msg;

		msg.text[0] = '\0';
		v64 = 77;
		snprintf(what, sizeof(what), "parse_i64: \"%s\" is not an integer", bad[i]);
		CHECK(kpi_parse_i64(bad[i], strlen(bad[i]), &v64, &msg) == KPI_ERR_TEXT && v64 == 77 &&
			  msg.text[0] != '\0', what);
	}

	CHECK(kpi_parse_i128("170141183460469231731687303715884105727", 39, &v128, NULL) == KPI_OK &&
		  v128 == KPI_INT128_MAX, "parse_i128: INT128 max");
	CHECK(kpi_parse_i128("-170141183460469231731687303715884105728", 40, &v128, NULL) == KPI_OK &&
		  v128 == KPI_INT128_MIN, "parse_i128: INT128 min");
	CHECK(kpi_parse_i128("170141183460469231731687303715884105728", 39, &v128, NULL) == KPI_ERR_TEXT,
		  "parse_i128: INT128 max + 1");
	CHECK(kpi_parse_i128("-170141183460469231731687303715884105729", 40, &v128, NULL) == KPI_ERR_TEXT,
		  "parse_i128: INT128 min - 1");
	CHECK(kpi_parse_i128("340282366920938463463374607431768211456", 39, &v128, NULL) == KPI_ERR_TEXT,
		  "parse_i128: 2^128 (wraps to 0 unsigned) is out of range");
	CHECK(kpi_parse_i128("1000000000000000000000000000000000000000000", 43, &v128, NULL) == KPI_ERR_TEXT,
		  "parse_i128: 43 digits");
	CHECK(kpi_parse_i128("-00000000000000000000000000000000000000000000001", 48, &v128, NULL) == KPI_OK &&
		  v128 == -1, "parse_i128: many leading zeros");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char		what[60];

		snprintf(what, sizeof(what), "parse_i128: \"%s\" is not an integer", bad[i]);
		CHECK(kpi_parse_i128(bad[i], strlen(bad[i]), &v128, NULL) == KPI_ERR_TEXT, what);
	}

	/* random values against printf */
	{
		int			ok = 1;

		for (int i = 0; i < 5000; i++)
		{
			int64_t		v = (int64_t) unit_rng_next() >> (unit_rng_next() % 64);
			char		text[32];

			snprintf(text, sizeof(text), "%lld", (long long) v);
			if (kpi_parse_i64(text, strlen(text), &v64, NULL) != KPI_OK || v64 != v ||
				kpi_parse_i128(text, strlen(text), &v128, NULL) != KPI_OK || v128 != v)
				ok = 0;
		}
		CHECK(ok, "parse_i64/i128: 5000 random printf'd integers");
	}
}

static void
test_parse_f64(void)
{
	double		v;
	static const struct
	{
		const char *text;
		double		value;
	}			good[] = {
		{"0", 0.0},
		{"1.5", 1.5},
		{"-2.25", -2.25},
		{"+3", 3.0},
		{"1e3", 1000.0},
		{"1E-2", 0.01},
		{".5", 0.5},
		{"1.7976931348623157e+308", DBL_MAX},
		{"2.2250738585072014e-308", DBL_MIN},
		{"5e-324", 4.9406564584124654e-324},
		{"1e-310", 1e-310},
		{"-2.2250738585072009e-308", -2.2250738585072009e-308},
	};
	static const char *const bad[] = {
		"", "abc", "1.5x", "1e309", "-1e309", "1e-400", "inf", "-inf", "nan", "NAN", "infinity",
		"+Infinity", "0x1p3", "1,5", "1e", "-", "Inf", "nan(123)"
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		char		what[80];

		snprintf(what, sizeof(what), "parse_f64: \"%s\"", good[i].text);
		CHECK(kpi_parse_f64(good[i].text, strlen(good[i].text), &v, NULL) == KPI_OK &&
			  same_bits(v, good[i].value), what);
	}
	CHECK(kpi_parse_f64("-0", 2, &v, NULL) == KPI_OK && same_bits(v, -0.0), "parse_f64: -0 keeps its sign");
	CHECK(kpi_parse_f64("NaN", 3, &v, NULL) == KPI_OK && isnan(v), "parse_f64: NaN");
	CHECK(kpi_parse_f64("Infinity", 8, &v, NULL) == KPI_OK && v == INFINITY, "parse_f64: Infinity");
	CHECK(kpi_parse_f64("-Infinity", 9, &v, NULL) == KPI_OK && v == -INFINITY, "parse_f64: -Infinity");
	CHECK(kpi_parse_f64("1.25junk", 4, &v, NULL) == KPI_OK && v == 1.25, "parse_f64: reads only len characters");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char		what[60];
		kpi_msg		msg;

		msg.text[0] = '\0';
		snprintf(what, sizeof(what), "parse_f64: \"%s\" is KPI_ERR_TEXT", bad[i]);
		CHECK(kpi_parse_f64(bad[i], strlen(bad[i]), &v, &msg) == KPI_ERR_TEXT && msg.text[0] != '\0', what);
	}
	{
		char		longnum[80];

		memset(longnum, '0', sizeof(longnum));
		longnum[1] = '.';
		longnum[62] = '1';
		CHECK(kpi_parse_f64(longnum, 63, &v, NULL) == KPI_OK && v == 1e-61, "parse_f64: 63 characters");
		CHECK(kpi_parse_f64(longnum, 64, &v, NULL) == KPI_ERR_TEXT, "parse_f64: 64 characters are too long");
	}
}

static void
test_fail(void)
{
	kpi_msg		msg;
	char		big[400];

	CHECK(kpi_fail(NULL, KPI_ERR_PARAM, "x %d", 1) == KPI_ERR_PARAM, "kpi_fail: returns the status without a msg");
	CHECK(kpi_fail(&msg, KPI_ERR_TEXT, "Value \"%s\" is %d.", "ab", 7) == KPI_ERR_TEXT &&
		  strcmp(msg.text, "Value \"ab\" is 7.") == 0, "kpi_fail: formats the detail");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	kpi_fail(&msg, KPI_ERR_TEXT, "%s", big);
	CHECK(strlen(msg.text) == sizeof(msg.text) - 1, "kpi_fail: a long detail is truncated and terminated");
}

int
main(void)
{
	/* line-buffered, so a sanitizer abort still shows the TAP lines before it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	unit_rng_seed(0x9E3779B97F4A7C15ull);
	test_writer_layout();
	test_reader_bounds();
	test_writer_overrun();
	test_varint();
	test_strbuf();
	test_append_f64();
	test_text_open();
	test_text_fields();
	test_text_open_state();
	test_parse_ints();
	test_parse_f64();
	test_fail();
	return unit_done();
}
