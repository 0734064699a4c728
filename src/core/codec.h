/*-------------------------------------------------------------------------
 *
 * codec.h
 *	  Byte and text codecs shared by every kpi state.
 *
 * Binary form (send/recv): big-endian fixed-width fields written with a
 * kpi_writer into a buffer whose size the caller computed, and read back
 * with a bounds-checked kpi_reader.  Any read past the end, or bytes left
 * over at the end, is KPI_ERR_BINARY.
 *
 * Text form: "(v:1,n:42,sum:1234.50)".  A kpi_strbuf accumulates output;
 * kpi_text_next_field() splits input into key/value pairs, where a value may
 * itself contain brackets "[...]" or "(...)" with commas inside.  Numbers
 * are written so that they read back exactly: integers in decimal, doubles
 * in shortest round-trip form ("%.17g" is not used).
 *
 * IDENTIFICATION
 *	  src/core/codec.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_CODEC_H
#define KPI_CODEC_H

#include "kpi_core.h"

/* ---- binary ---- */

typedef struct kpi_writer
{
	uint8_t    *buf;
	size_t		len;
	size_t		cap;
} kpi_writer;

typedef struct kpi_reader
{
	const uint8_t *buf;
	size_t		len;
	size_t		pos;
	bool		failed;			/* set by any read past the end */
} kpi_reader;

extern void kpi_writer_init(kpi_writer *w, uint8_t *buf, size_t cap);
extern void kpi_put_u8(kpi_writer *w, uint8_t v);
extern void kpi_put_u32(kpi_writer *w, uint32_t v);
extern void kpi_put_i64(kpi_writer *w, int64_t v);
extern void kpi_put_i128(kpi_writer *w, __int128 v);
extern void kpi_put_f64(kpi_writer *w, double v);

extern void kpi_reader_init(kpi_reader *r, const uint8_t *buf, size_t len);
extern uint8_t kpi_get_u8(kpi_reader *r);
extern uint32_t kpi_get_u32(kpi_reader *r);
extern int64_t kpi_get_i64(kpi_reader *r);
extern __int128 kpi_get_i128(kpi_reader *r);
extern double kpi_get_f64(kpi_reader *r);
/* KPI_OK when every read was in bounds and the input is fully consumed. */
extern kpi_status kpi_reader_finish(kpi_reader *r, kpi_msg *msg);
/*
 * Reads the version byte that every binary form starts with: KPI_ERR_BINARY
 * when there is none, KPI_ERR_VERSION when it is not KPI_STATE_VERSION.
 */
extern kpi_status kpi_get_version(kpi_reader *r, kpi_msg *msg);

/* Raw bytes: put copies n bytes; get returns a pointer to the next n (NULL past the end). */
extern void kpi_put_bytes(kpi_writer *w, const void *src, size_t n);
extern const uint8_t *kpi_get_bytes(kpi_reader *r, size_t n);

/*
 * Unsigned LEB128 varints (7 bits a byte, low group first, high bit set on
 * every byte but the last), inline because compact states decode millions
 * of them.  kpi_varint_get accepts only the minimal encoding (at most
 * KPI_VARINT_MAX bytes, no redundant zero groups), so every value has
 * exactly one byte form; it returns the position after the varint, or NULL
 * when the bytes are truncated or not minimal.
 */
#define KPI_VARINT_MAX 10

static inline size_t
kpi_varint_size(uint64_t v)
{
	size_t		n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *
kpi_varint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

static inline const uint8_t *
kpi_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	uint64_t	v = 0;

	/* one byte, the most common length: always minimal */
	if (p < end && *p < 0x80)
	{
		*out = *p;
		return p + 1;
	}
	for (int shift = 0; p < end && shift < 64; shift += 7)
	{
		uint8_t		b = *p++;

		v |= (uint64_t) (b & 0x7F) << shift;
		if (b < 0x80)
		{
			/* a last byte of zero is redundant; bits past 64 overflow */
			if ((b == 0 && shift > 0) || (shift == 63 && b > 1))
				return NULL;
			*out = v;
			return p;
		}
	}
	return NULL;
}

/* ---- text output ---- */

typedef struct kpi_strbuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	const kpi_allocator *mem;
	bool		failed;			/* allocation failed */
} kpi_strbuf;

extern void kpi_strbuf_init(kpi_strbuf *sb, const kpi_allocator *mem);
extern void kpi_strbuf_append(kpi_strbuf *sb, const char *s);
/* Appends the n bytes at s (which need not end in NUL). */
extern void kpi_strbuf_append_n(kpi_strbuf *sb, const char *s, size_t n);
extern void kpi_strbuf_appendf(kpi_strbuf *sb, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void kpi_strbuf_append_i128(kpi_strbuf *sb, __int128 v);
/*
 * A double as PostgreSQL's float8out writes it with extra_float_digits >= 1:
 * the shortest digits strictly between the midpoints to the neighbouring
 * doubles (so they read back to the same double), the nearest of those,
 * plain when the decimal exponent is in [-4, 15) ("100", "0.0001"), else
 * "d.ddde+NN" or "d.ddde-NN" ("1e+15", "1.5e-05"); "-0", "NaN",
 * "Infinity", "-Infinity".
 */
extern void kpi_strbuf_append_f64(kpi_strbuf *sb, double v);

/* ---- text input ---- */

typedef struct kpi_text_field
{
	const char *key;
	size_t		keylen;
	const char *val;
	size_t		vallen;
} kpi_text_field;

typedef struct kpi_text_reader
{
	const char *p;				/* next unread character */
	const char *end;			/* the closing ')' */
	bool		first;
} kpi_text_reader;

/* Checks the outer "( ... )" (whitespace around is allowed). */
extern kpi_status kpi_text_open(kpi_text_reader *tr, const char *text, kpi_msg *msg);
/*
 * kpi_text_open, then reads the first field, which must be "v:<version>":
 * KPI_ERR_VERSION for a version other than KPI_STATE_VERSION.
 */
extern kpi_status kpi_text_open_state(kpi_text_reader *tr, const char *text, kpi_msg *msg);
/* Next "key:value"; returns false at the end.  *status is set on error. */
extern bool kpi_text_next_field(kpi_text_reader *tr, kpi_text_field *f,
								kpi_status *status, kpi_msg *msg);
extern bool kpi_text_key_is(const kpi_text_field *f, const char *key);
extern kpi_status kpi_parse_i64(const char *s, size_t len, int64_t *out, kpi_msg *msg);
extern kpi_status kpi_parse_i128(const char *s, size_t len, __int128 *out, kpi_msg *msg);
extern kpi_status kpi_parse_f64(const char *s, size_t len, double *out, kpi_msg *msg);

/* ---- exact decimals and bracketed lists (text forms) ---- */

/* Append coef * 10^-scale exactly, with scale fraction digits ("-12.30"). */
extern void kpi_strbuf_append_decimal(kpi_strbuf *sb, __int128 coef, int scale);
/*
 * Parse a plain decimal ("-12.30", "7", ".5"; no exponent) into coef and
 * scale (the number of fraction digits), so that value = coef * 10^-scale.
 */
extern kpi_status kpi_parse_decimal(const char *s, size_t len, __int128 *coef,
									int *scale, kpi_msg *msg);

/*
 * Items of a bracketed, comma-separated list such as "[1,2,3]" or
 * "[(1,2),(3,4)]"; items may themselves contain brackets.  "[]" is empty.
 */
typedef struct kpi_list_reader
{
	const char *p;				/* next unread character */
	const char *end;			/* the closing bracket */
	bool		first;
} kpi_list_reader;

/* Checks that [val, val + len) is enclosed in open ... close. */
extern kpi_status kpi_list_open(kpi_list_reader *lr, const char *val, size_t len,
								char open, char close, kpi_msg *msg);
/* Next item, trimmed; returns false at the end.  *status is set on error. */
extern bool kpi_list_next(kpi_list_reader *lr, const char **item, size_t *itemlen,
						  kpi_status *status, kpi_msg *msg);

#endif							/* KPI_CODEC_H */
