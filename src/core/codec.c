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
	malloc_alloc, malloc_realloc, malloc_free, NULL
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
	size_t		n = strlen(s);

	if (!strbuf_reserve(sb, n))
		return;
	memcpy(sb->data + sb->len, s, n + 1);
	sb->len += n;
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

void
kpi_strbuf_append_f64(kpi_strbuf *sb, double v)
{
	char		buf[40];

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
	/* The shortest %g precision whose output reads back to the same bits. */
	for (int prec = 1; prec <= 17; prec++)
	{
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	kpi_strbuf_append(sb, buf);
}

/* ------------------------------------------------------------ text input */

static const char *
skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

kpi_status
kpi_text_open(kpi_text_reader *tr, const char *text, kpi_msg *msg)
{
	const char *end = text + strlen(text);
	const char *p = skip_space(text, end);

	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
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
	int64_t		version;

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
	int			depth = 0;
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
	while (f->keylen > 0 && (f->key[f->keylen - 1] == ' ' || f->key[f->keylen - 1] == '\t'))
		f->keylen--;
	if (f->keylen == 0)
	{
		*status = kpi_fail(msg, KPI_ERR_TEXT, "A field has an empty key.");
		return false;
	}

	p = skip_space(p + 1, tr->end);
	f->val = p;
	for (; p < tr->end; p++)
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
	{
		*status = kpi_fail(msg, KPI_ERR_TEXT, "Unbalanced brackets in field \"%.*s\".",
						   (int) f->keylen, f->key);
		return false;
	}
	valend = p;
	while (valend > f->val && (valend[-1] == ' ' || valend[-1] == '\t'))
		valend--;
	f->vallen = (size_t) (valend - f->val);
	tr->p = p;
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
		/* strtod would also accept "inf", "nan" and hex; we do not */
		if (*endp != '\0' || errno == ERANGE || !isfinite(*out) ||
			strpbrk(buf, "xXnNiI") != NULL)
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%s\" is not a number.", buf);
	}
	return KPI_OK;
}
