/*-------------------------------------------------------------------------
 *
 * codec.c
 *	  Byte and text codecs shared by every kpi state (see codec.h).
 *
 * IDENTIFICATION
 *	  src/core/codec.c
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kpi_status
kpi_fail(kpi_msg *msg, kpi_status status, const char *fmt,...)
{
	if (msg != NULL)
	{
		va_list		ap;

		va_start(ap, fmt);
		vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
		va_end(ap);
	}
	return status;
}

static void *
malloc_alloc(size_t size, void *ctx)
{
	(void) ctx;
	return malloc(size);
}

static void *
malloc_realloc(void *ptr, size_t size, void *ctx)
{
	(void) ctx;
	return realloc(ptr, size);
}

static void
malloc_free(void *ptr, void *ctx)
{
	(void) ctx;
	free(ptr);
}

const kpi_allocator kpi_malloc_allocator = {
	malloc_alloc, malloc_realloc, malloc_free, NULL, false
};

/* ---------------------------------------------------------------- binary */

void
kpi_writer_init(kpi_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
}

/* Callers size the buffer exactly, so overrunning it is a programming bug. */
static void
put_bytes_be(kpi_writer *w, uint64_t v, int nbytes)
{
	if (w->len + (size_t) nbytes > w->cap)
		abort();
	for (int i = nbytes - 1; i >= 0; i--)
		w->buf[w->len++] = (uint8_t) (v >> (8 * i));
}

void
kpi_put_u8(kpi_writer *w, uint8_t v)
{
	put_bytes_be(w, v, 1);
}

void
kpi_put_u32(kpi_writer *w, uint32_t v)
{
	put_bytes_be(w, v, 4);
}

void
kpi_put_i64(kpi_writer *w, int64_t v)
{
	put_bytes_be(w, (uint64_t) v, 8);
}

void
kpi_put_i128(kpi_writer *w, __int128 v)
{
	unsigned __int128 u = (unsigned __int128) v;

	put_bytes_be(w, (uint64_t) (u >> 64), 8);
	put_bytes_be(w, (uint64_t) u, 8);
}

void
kpi_put_f64(kpi_writer *w, double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	put_bytes_be(w, bits, 8);
}

void
kpi_reader_init(kpi_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
	r->failed = false;
}

static uint64_t
get_bytes_be(kpi_reader *r, int nbytes)
{
	uint64_t	v = 0;

	if (r->failed || r->len - r->pos < (size_t) nbytes)
	{
		r->failed = true;
		return 0;
	}
	for (int i = 0; i < nbytes; i++)
		v = (v << 8) | r->buf[r->pos++];
	return v;
}

uint8_t
kpi_get_u8(kpi_reader *r)
{
	return (uint8_t) get_bytes_be(r, 1);
}

uint32_t
kpi_get_u32(kpi_reader *r)
{
	return (uint32_t) get_bytes_be(r, 4);
}

int64_t
kpi_get_i64(kpi_reader *r)
{
	return (int64_t) get_bytes_be(r, 8);
}

__int128
kpi_get_i128(kpi_reader *r)
{
	unsigned __int128 hi = get_bytes_be(r, 8);
	unsigned __int128 lo = get_bytes_be(r, 8);

	return (__int128) ((hi << 64) | lo);
}

double
kpi_get_f64(kpi_reader *r)
{
	uint64_t	bits = get_bytes_be(r, 8);
	double		v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

void
kpi_put_bytes(kpi_writer *w, const void *src, size_t n)
{
	if (n > w->cap - w->len)
		abort();
	if (n > 0)
		memcpy(w->buf + w->len, src, n);
	w->len += n;
}

const uint8_t *
kpi_get_bytes(kpi_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->failed || r->len - r->pos < n)
	{
		r->failed = true;
		return NULL;
	}
	p = r->buf + r->pos;
	r->pos += n;
	return p;
}

kpi_status
kpi_reader_finish(kpi_reader *r, kpi_msg *msg)
{
	if (r->failed)
		return kpi_fail(msg, KPI_ERR_BINARY, "The data ends before the state is complete.");
	if (r->pos != r->len)
		return kpi_fail(msg, KPI_ERR_BINARY, "%zu bytes are left over after the state.",
						r->len - r->pos);
	return KPI_OK;
}

kpi_status
kpi_get_version(kpi_reader *r, kpi_msg *msg)
{
	uint8_t		version = kpi_get_u8(r);

	if (r->failed)
		return kpi_fail(msg, KPI_ERR_BINARY, "The data is empty.");
	if (version != KPI_STATE_VERSION)
		return kpi_fail(msg, KPI_ERR_VERSION, "This release of kpi reads version %d, not %d.",
						KPI_STATE_VERSION, version);
	return KPI_OK;
}

/* ----------------------------------------------------------- text output */

void
kpi_strbuf_init(kpi_strbuf *sb, const kpi_allocator *mem)
{
	sb->mem = mem;
	sb->len = 0;
	sb->cap = 64;
	sb->failed = false;
	sb->data = mem->alloc(sb->cap, mem->ctx);
	if (sb->data == NULL)
	{
		sb->failed = true;
		sb->cap = 0;
		return;
	}
	sb->data[0] = '\0';
}

static bool
strbuf_reserve(kpi_strbuf *sb, size_t extra)
{
	size_t		need;

	if (sb->failed)
		return false;
	need = sb->len + extra + 1;
	if (need > sb->cap)
	{
		size_t		newcap = sb->cap * 2;
		char	   *p;

		while (newcap < need)
			newcap *= 2;
		p = sb->mem->realloc(sb->data, newcap, sb->mem->ctx);
		if (p == NULL)
		{
			sb->failed = true;
			return false;
		}
		sb->data = p;
		sb->cap = newcap;
	}
	return true;
}

void
kpi_strbuf_append(kpi_strbuf *sb, const char *s)
{
	kpi_strbuf_append_n(sb, s, strlen(s));
}

void
kpi_strbuf_append_n(kpi_strbuf *sb, const char *s, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return;
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
kpi_strbuf_appendf(kpi_strbuf *sb, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_reserve(sb, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t) n;
}

void
kpi_strbuf_append_i128(kpi_strbuf *sb, __int128 v)
{
	char		digits[48];
	int			pos = (int) sizeof(digits) - 1;
	unsigned __int128 u = v < 0 ? -(unsigned __int128) v : (unsigned __int128) v;

	digits[pos] = '\0';
	do
	{
		digits[--pos] = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u != 0);
	if (v < 0)
		digits[--pos] = '-';
	kpi_strbuf_append(sb, digits + pos);
}

/* Whether coef * 10^scale equals odd * 2^exp2 exactly (coef > 0, odd odd; both below 2^57). */
static bool
decimal_equals_dyadic(uint64_t coef, int scale, uint64_t odd, int exp2)
{
	int			twos = scale;
	unsigned __int128 lhs,
				rhs = odd;

	while (coef % 2 == 0)
	{
		coef /= 2;
		twos++;
	}
	/* coef * 5^scale and odd * 5^-scale are odd: they and the twos must agree */
	if (twos != exp2 || scale > 24 || scale < -24)
		return false;
	lhs = coef;
	for (int i = 0; i < scale; i++)
		lhs *= 5;
	for (int i = 0; i < -scale; i++)
		rhs *= 5;
	return lhs == rhs;
}

/*
 * Whether coef * 10^scale stands for v (finite, > 0) in float8out's
 * terms: it lies strictly between the midpoints from v to its neighbours.
 * A midpoint itself may read back to v (ties go to the even double), but
 * float8out never writes one.
 */
static bool
stands_for(double v, uint64_t coef, int scale)
{
	char		text[40];
	uint64_t	bits;
	uint64_t	m;
	int			biased,
				e;

	snprintf(text, sizeof(text), "%llue%d", (unsigned long long) coef, scale);
	if (strtod(text, NULL) != v)
		return false;
	/* v = m * 2^e */
	memcpy(&bits, &v, sizeof(bits));
	biased = (int) (bits >> 52);
	m = bits & ((UINT64_C(1) << 52) - 1);
	e = (biased == 0 ? 1 : biased) - 1075;
	if (biased != 0)
		m |= UINT64_C(1) << 52;
	/* the lower neighbour of a power of two is nearer than its upper one */
	if (m == UINT64_C(1) << 52 && biased > 1)
		return !decimal_equals_dyadic(coef, scale, 2 * m + 1, e - 1) &&
			!decimal_equals_dyadic(coef, scale, 4 * m - 1, e - 2);
	return !decimal_equals_dyadic(coef, scale, 2 * m + 1, e - 1) &&
		!decimal_equals_dyadic(coef, scale, 2 * m - 1, e - 1);
}

/*
 * Whether v (finite, > 0) rounded to prec significant digits stands for
 * v, or, when it does not, one unit more does; sets coef * 10^scale to the
 * one that does.  These are the only two prec-digit candidates: when v
 * rounded up does not stand for v, v rounded down (farther away) does not
 * either.  But when v rounded down does not, v rounded up still may if v
 * is a power of two, whose lower neighbour is nearer than its upper one.
 */
static bool
rounded_stands_for(double v, int prec, uint64_t *coef, int *scale)
{
	char		text[40];
	int			e;

	/* "d.ddde+XX" */
	snprintf(text, sizeof(text), "%.*e", prec - 1, v);
	*coef = 0;
	for (const char *p = text; *p != 'e'; p++)
		if (*p != '.')
			*coef = *coef * 10 + (uint64_t) (*p - '0');
	*scale = atoi(strchr(text, 'e') + 1) - (prec - 1);
	if (stands_for(v, *coef, *scale))
		return true;
	if (frexp(v, &e) == 0.5 && stands_for(v, *coef + 1, *scale))
	{
		(*coef)++;
		return true;
	}
	return false;
}

/*
 * The shortest decimal digits for v (finite, > 0), chosen as PostgreSQL's
 * float8out chooses them: the fewest significant digits that stand for v
 * (see stands_for), and of the two candidates of that length around v
 * (v rounded down and up) the nearer one, or the only one that stands for
 * v.  Writes the digits without trailing zeros, NUL-terminated, to digits
 * (24 bytes) and returns the decimal exponent of the first:
 * v ~ 0.<digits> * 10^(exponent + 1).
 */
static int
shortest_digits(double v, char *digits)
{
	uint64_t	coef;
	int			scale;
	int			low = 1,
				high = 17;
	int			n;

	/*
	 * When a decimal of prec digits stands for v, so does one of prec + 1
	 * (with a trailing zero), and 17 digits always do: a binary search
	 * finds the fewest.
	 */
	while (low < high)
	{
		int			mid = (low + high) / 2;

		if (rounded_stands_for(v, mid, &coef, &scale))
			high = mid;
		else
			low = mid + 1;
	}
	(void) rounded_stands_for(v, low, &coef, &scale);
	n = snprintf(digits, 24, "%llu", (unsigned long long) coef);
	scale += n - 1;
	while (n > 1 && digits[n - 1] == '0')
		digits[--n] = '\0';
	return scale;
}

void
kpi_strbuf_append_f64(kpi_strbuf *sb, double v)
{
	char		digits[24];
	char		text[32];
	char	   *p = text;
	int			exponent,
				ndigits;

	if (isnan(v))
	{
		kpi_strbuf_append(sb, "NaN");
		return;
	}
	if (isinf(v))
	{
		kpi_strbuf_append(sb, v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (v == 0)
	{
		kpi_strbuf_append(sb, signbit(v) ? "-0" : "0");
		return;
	}
	if (v < 0)
		*p++ = '-';
	exponent = shortest_digits(fabs(v), digits);
	ndigits = (int) strlen(digits);
	if (exponent < -4 || exponent >= 15)
	{
		/* d.ddde+XX: at least two exponent digits */
		*p++ = digits[0];
		if (ndigits > 1)
			p += sprintf(p, ".%s", digits + 1);
		sprintf(p, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent));
	}
	else if (exponent < 0)
	{
		/* 0.ddd to 0.000ddd */
		sprintf(p, "0.%.*s%s", -exponent - 1, "000", digits);
	}
	else
	{
		/* ddd.ddd, or ddd000 when the digits end before the point */
		for (int i = 0; i < ndigits || i <= exponent; i++)
		{
			if (i == exponent + 1)
				*p++ = '.';
			*p++ = i < ndigits ? digits[i] : '0';
		}
		*p = '\0';
	}
	kpi_strbuf_append(sb, text);
}

/* ------------------------------------------------------------ text input */

/* The whitespace allowed around the parts of a state text. */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
skip_space(const char *p, const char *end)
{
	while (p < end && is_space(*p))
		p++;
	return p;
}

/*
 * Scans a value from p up to the first comma or closing bracket at depth
 * zero (or end); brackets "[...]" and "(...)" nest.  Sets *stop there and
 * returns the value's end with trailing whitespace trimmed, or NULL if the
 * brackets do not balance.
 */
static const char *
scan_value(const char *start, const char *end, const char **stop)
{
	int			depth = 0;
	const char *p = start;
	const char *valend;

	for (; p < end; p++)
	{
		if (*p == '[' || *p == '(')
			depth++;
		else if (*p == ']' || *p == ')')
		{
			if (--depth < 0)
				break;
		}
		else if (*p == ',' && depth == 0)
			break;
	}
	if (depth != 0)
		return NULL;
	*stop = p;
	valend = p;
	while (valend > start && is_space(valend[-1]))
		valend--;
	return valend;
}

kpi_status
kpi_text_open(kpi_text_reader *tr, const char *text, kpi_msg *msg)
{
	const char *end = text + strlen(text);
	const char *p = skip_space(text, end);

	while (end > p && is_space(end[-1]))
		end--;
	if (p == end || *p != '(' || end[-1] != ')' || end - p < 2)
		return kpi_fail(msg, KPI_ERR_TEXT, "A state is written as \"(key:value,...)\".");
	tr->p = p + 1;
	tr->end = end - 1;
	tr->first = true;
	return KPI_OK;
}

kpi_status
kpi_text_open_state(kpi_text_reader *tr, const char *text, kpi_msg *msg)
{
	kpi_text_field f;
	kpi_status	status = kpi_text_open(tr, text, msg);
	int64_t		version = 0;

	if (status != KPI_OK)
		return status;
	if (!kpi_text_next_field(tr, &f, &status, msg))
		return status != KPI_OK ? status :
			kpi_fail(msg, KPI_ERR_TEXT, "The state is empty; it must start with \"v:%d\".", KPI_STATE_VERSION);
	if (!kpi_text_key_is(&f, "v"))
		return kpi_fail(msg, KPI_ERR_TEXT, "The first field must be \"v\", the state version.");
	status = kpi_parse_i64(f.val, f.vallen, &version, msg);
	if (status != KPI_OK)
		return status;
	if (version != KPI_STATE_VERSION)
		return kpi_fail(msg, KPI_ERR_VERSION, "This release of kpi reads state version %d, not %lld.",
						KPI_STATE_VERSION, (long long) version);
	return KPI_OK;
}

bool
kpi_text_next_field(kpi_text_reader *tr, kpi_text_field *f,
					kpi_status *status, kpi_msg *msg)
{
	const char *p = skip_space(tr->p, tr->end);
	const char *valend;

	*status = KPI_OK;
	if (p == tr->end)
		return false;
	if (!tr->first)
	{
		/* the previous call stopped at the comma */
		if (*p != ',')
		{
			*status = kpi_fail(msg, KPI_ERR_TEXT, "Fields must be separated by commas.");
			return false;
		}
		p = skip_space(p + 1, tr->end);
		if (p == tr->end)
		{
			*status = kpi_fail(msg, KPI_ERR_TEXT, "A field is missing after a trailing comma.");
			return false;
		}
	}
	tr->first = false;

	f->key = p;
	while (p < tr->end && *p != ':' && *p != ',')
		p++;
	if (p == tr->end || *p != ':')
	{
		*status = kpi_fail(msg, KPI_ERR_TEXT, "Each field is written as \"key:value\".");
		return false;
	}
	f->keylen = (size_t) (p - f->key);
	while (f->keylen > 0 && is_space(f->key[f->keylen - 1]))
		f->keylen--;
	if (f->keylen == 0)
	{
		*status = kpi_fail(msg, KPI_ERR_TEXT, "A field has an empty key.");
		return false;
	}

	f->val = skip_space(p + 1, tr->end);
	valend = scan_value(f->val, tr->end, &tr->p);
	if (valend == NULL)
	{
		*status = kpi_fail(msg, KPI_ERR_TEXT, "Unbalanced brackets in field \"%.*s\".",
						   (int) f->keylen, f->key);
		return false;
	}
	f->vallen = (size_t) (valend - f->val);
	return true;
}

bool
kpi_text_key_is(const kpi_text_field *f, const char *key)
{
	return strlen(key) == f->keylen && memcmp(f->key, key, f->keylen) == 0;
}

kpi_status
kpi_parse_i128(const char *s, size_t len, __int128 *out, kpi_msg *msg)
{
	const char *p = s;
	const char *end = s + len;
	bool		neg = false;
	unsigned __int128 acc = 0;
	const unsigned __int128 limit = ((unsigned __int128) 1) << 127;

	if (p < end && (*p == '-' || *p == '+'))
		neg = (*p++ == '-');
	if (p == end)
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not an integer.", (int) len, s);
	for (; p < end; p++)
	{
		if (*p < '0' || *p > '9')
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not an integer.", (int) len, s);
		if (acc > (limit - (unsigned) (*p - '0')) / 10)
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is out of range.", (int) len, s);
		acc = acc * 10 + (unsigned) (*p - '0');
	}
	if (!neg && acc == limit)
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is out of range.", (int) len, s);
	*out = neg ? (__int128) (0 - acc) : (__int128) acc;
	return KPI_OK;
}

kpi_status
kpi_parse_i64(const char *s, size_t len, int64_t *out, kpi_msg *msg)
{
	__int128	v;
	kpi_status	st = kpi_parse_i128(s, len, &v, msg);

	if (st != KPI_OK)
		return st;
	if (v < INT64_MIN || v > INT64_MAX)
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is out of range.", (int) len, s);
	*out = (int64_t) v;
	return KPI_OK;
}

kpi_status
kpi_parse_f64(const char *s, size_t len, double *out, kpi_msg *msg)
{
	char		buf[64];
	char	   *endp;

	if (len == 0 || len >= sizeof(buf))
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not a number.", (int) len, s);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strcmp(buf, "NaN") == 0)
		*out = NAN;
	else if (strcmp(buf, "Infinity") == 0)
		*out = INFINITY;
	else if (strcmp(buf, "-Infinity") == 0)
		*out = -INFINITY;
	else
	{
		errno = 0;
		*out = strtod(buf, &endp);
		/*
		 * strtod would also accept "inf", "nan" and hex; we do not.  ERANGE
		 * with a nonzero result is a subnormal, which append_f64 writes.
		 */
		if (*endp != '\0' || (errno == ERANGE && *out == 0.0) || !isfinite(*out) ||
			strpbrk(buf, "xXnNiI") != NULL)
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%s\" is not a number.", buf);
	}
	return KPI_OK;
}

/* ------------------------------------------- exact decimals, bracketed lists */

void
kpi_strbuf_append_decimal(kpi_strbuf *sb, __int128 coef, int scale)
{
	char		digits[64];
	int			pos = (int) sizeof(digits) - 1;
	unsigned __int128 u = coef < 0 ? -(unsigned __int128) coef : (unsigned __int128) coef;

	/* 39 integer digits, the point and the sign fit whatever the scale */
	if (scale < 0 || scale > 40)
		abort();
	digits[pos] = '\0';
	for (int n = 0; u != 0 || n <= scale; n++)
	{
		if (n == scale && scale > 0)
			digits[--pos] = '.';
		digits[--pos] = (char) ('0' + (int) (u % 10));
		u /= 10;
	}
	if (coef < 0)
		digits[--pos] = '-';
	kpi_strbuf_append(sb, digits + pos);
}

kpi_status
kpi_parse_decimal(const char *s, size_t len, __int128 *coef, int *scale,
				  kpi_msg *msg)
{
	const char *p = s;
	const char *end = s + len;
	bool		neg = false;
	bool		seen_point = false;
	int			ndigits = 0;
	int			frac = 0;
	unsigned __int128 acc = 0;
	const unsigned __int128 limit = ((unsigned __int128) 1) << 127;

	if (p < end && (*p == '-' || *p == '+'))
		neg = (*p++ == '-');
	for (; p < end; p++)
	{
		if (*p == '.' && !seen_point)
		{
			seen_point = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not a decimal number.", (int) len, s);
		if (acc > (limit - (unsigned) (*p - '0')) / 10 || frac >= 40)
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is out of range.", (int) len, s);
		acc = acc * 10 + (unsigned) (*p - '0');
		ndigits++;
		if (seen_point)
			frac++;
	}
	if (ndigits == 0)
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not a decimal number.", (int) len, s);
	if (!neg && acc == limit)
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is out of range.", (int) len, s);
	*coef = neg ? (__int128) (0 - acc) : (__int128) acc;
	*scale = frac;
	return KPI_OK;
}

kpi_status
kpi_list_open(kpi_list_reader *lr, const char *val, size_t len, char open,
			  char close, kpi_msg *msg)
{
	const char *end = val + len;
	const char *p = skip_space(val, end);

	while (end > p && is_space(end[-1]))
		end--;
	if (end - p < 2 || *p != open || end[-1] != close)
		return kpi_fail(msg, KPI_ERR_TEXT, "A list is written as \"%c...%c\".", open, close);
	lr->p = p + 1;
	lr->end = end - 1;
	lr->first = true;
	return KPI_OK;
}

bool
kpi_list_next(kpi_list_reader *lr, const char **item, size_t *itemlen,
			  kpi_status *status, kpi_msg *msg)
{
	const char *p = skip_space(lr->p, lr->end);
	const char *start;
	const char *stop;

	*status = KPI_OK;
	if (p == lr->end)
		return false;
	if (!lr->first)
	{
		/* the previous call stopped at the comma */
		if (*p != ',')
		{
			*status = kpi_fail(msg, KPI_ERR_TEXT, "List items must be separated by commas.");
			return false;
		}
		p = skip_space(p + 1, lr->end);
	}
	lr->first = false;
	start = p;
	stop = scan_value(start, lr->end, &lr->p);
	if (stop == NULL)
	{
		*status = kpi_fail(msg, KPI_ERR_TEXT, "Unbalanced brackets in a list.");
		return false;
	}
	if (stop == start)
	{
		*status = kpi_fail(msg, KPI_ERR_TEXT, "A list has an empty item.");
		return false;
	}
	*item = start;
	*itemlen = (size_t) (stop - start);
	return true;
}
