/*-------------------------------------------------------------------------
 *
 * decsum.h
 *	  Exact sum of decimal values, as PostgreSQL's sum(numeric) keeps it.
 *
 * The sum is an integer scaled by 10^scale, where scale is the largest
 * display scale (digits after the decimal point) of any value added, so
 * the sum has exactly the value and display scale that numeric addition
 * would give.  The sum is narrow while it fits in 128 bits (38 significant
 * digits, whatever the scale) and wide beyond: see "Wide sums" below.
 *
 * Like numeric's aggregate state, it also counts the values that have the
 * largest scale, so that removing values (for moving window frames) can
 * tell when the largest scale of what remains is unknown: then removal
 * answers KPI_CANNOT_INVERT and the caller restarts from scratch.
 *
 * NaN and infinities are not decimals; callers count them separately.
 *
 * IDENTIFICATION
 *	  src/core/decsum.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_DECSUM_H
#define KPI_DECSUM_H

#include "bigdec.h"

#include <string.h>

/* Largest display scale of a PostgreSQL numeric (NUMERIC_DSCALE_MAX). */
#define DECSUM_MAX_SCALE 16383

/*
 * Most digits before the point of a sum: a numeric has at most 131072,
 * and adding up to 2^63 of them adds at most 19.
 */
#define DECSUM_MAX_INT_DIGITS (131072 + 19)

typedef struct decsum
{
	kpi_int128	sum;			/* value * 10^scale; zero when wide */
	int64_t		count;			/* number of values in the sum */
	int64_t		max_scale_count;	/* how many of them have scale == scale */
	int32_t		scale;			/* largest display scale added */
	int32_t		wide;			/* 0 when narrow; see "Wide sums" */
} decsum;

/*
 * A finite decimal in the base-10000 digit form of PostgreSQL's numeric:
 * value = sign * sum(digits[i] * 10000^(weight - i)), shown with dscale
 * digits after the point.  digits points at ndigits native-endian int16
 * values, which need not be aligned.
 */
typedef struct decsum_decimal
{
	bool		negative;
	int			weight;
	int			dscale;
	int			ndigits;
	const void *digits;
} decsum_decimal;

/* A numeric's digit base, and decimal digits per base-NBASE digit. */
#define DECSUM_NBASE 10000
#define DECSUM_DEC_DIGITS 4

/* 10^0 .. 10^18 */
extern const int64_t decsum_pow10[19];

/*
 * The common case of an addition, tried before the general one and inline
 * so that a transition function adds a typical amount without a call: a
 * value of at most four base-10000 digits (below 10^16) whose scale does
 * not exceed the sum's, added to a narrow sum.  It needs no int128
 * multiplication checks: |value| * 10^18 < 10^34 fits.  Returns false, s
 * unchanged, when the case does not apply or the sum would overflow; the
 * functions below then decide.
 */
static inline bool
decsum_add_small_decimal(decsum *s, const decsum_decimal *d)
{
	int64_t		acc = 0;
	int			shift = s->scale - DECSUM_DEC_DIGITS * (d->ndigits - 1 - d->weight);
	__int128	v;

	if (s->wide != 0 || d->ndigits > 4 || d->dscale > s->scale || shift > 18 || shift < -16)
		return false;
	for (int i = 0; i < d->ndigits; i++)
	{
		int16_t		digit;

		memcpy(&digit, (const char *) d->digits + i * sizeof(int16_t), sizeof(digit));
		acc = acc * DECSUM_NBASE + digit;
	}
	if (shift >= 0)
		v = (__int128) acc * decsum_pow10[shift];
	else
	{
		/*
		 * Exact, as PostgreSQL keeps no nonzero digits past dscale.  Only
		 * the last base-NBASE digit reaches past the sum's scale, so the
		 * divisor is 10, 100 or 1000: constant divisions, which compile
		 * to multiplications (a division by a variable was a quarter of
		 * this function's time).
		 */
		int64_t		quotient;

		switch (shift)
		{
			case -1:
				quotient = acc / 10;
				break;
			case -2:
				quotient = acc / 100;
				break;
			case -3:
				quotient = acc / 1000;
				break;
			default:
				return false;	/* cannot happen with dscale <= scale */
		}
		if (quotient * decsum_pow10[-shift] != acc)
			return false;
		v = quotient;
	}
	if (__builtin_add_overflow(s->sum, d->negative ? -v : v, &v))
		return false;
	s->sum = v;
	s->count++;
	if (d->dscale == s->scale)
		s->max_scale_count++;
	return true;
}

extern kpi_status decsum_add_decimal(decsum *s, const decsum_decimal *d, kpi_msg *msg);
extern kpi_status decsum_remove_decimal(decsum *s, const decsum_decimal *d, kpi_msg *msg);
extern kpi_status decsum_add_int64(decsum *s, int64_t v, kpi_msg *msg);
extern kpi_status decsum_remove_int64(decsum *s, int64_t v, kpi_msg *msg);
/* dst += src */
extern kpi_status decsum_merge(decsum *dst, const decsum *src, kpi_msg *msg);

/*
 * Whether s could have been built by the functions above (for states read
 * from text or bytes): counts within 0 .. INT64_MAX / 4, a scale within
 * 0 .. DECSUM_MAX_SCALE that some value has, a narrow sum, and the zero
 * sum of no values.
 */
extern bool decsum_is_valid(const decsum *s);

/*
 * Writes sum as a decimal with exactly scale digits after the point
 * ("-12.50"); buf needs DECSUM_TEXT_SIZE(scale) bytes.
 */
#define DECSUM_TEXT_SIZE(scale) (44 + (size_t) (scale))
extern void decsum_format(kpi_int128 sum, int32_t scale, char *buf);
/* Parses that form back; scale is the number of digits after the point. */
extern kpi_status decsum_parse(const char *s, size_t len, kpi_int128 *sum,
							   int32_t *scale, kpi_msg *msg);

/*
 * Wide sums.  A sum that does not fit in 128 bits is wide: ->sum is zero,
 * and the sum's |wide| base-10^9 limbs (the coefficient of a bigdec at
 * ->scale) follow the struct, least significant first; wide < 0 when the
 * sum is negative.  A sum that fits is always narrow, so equal sums have
 * equal bytes.  The functions above refuse a wide decsum with
 * KPI_ERR_OVERFLOW, as they refuse any sum beyond 128 bits.
 *
 * The _wide functions below do what their namesakes do, for sums of any
 * size.  Their decsum starts offset bytes into *block and ends the block,
 * which mem allocated: when the sum changes size they reallocate the block
 * through mem, so *block may move (with kpi_state_allocator the old block
 * stays as it was: see kpi.h).  Scratch memory also comes from mem and is
 * given back.  On failure nothing changes.  With mem NULL the block keeps
 * its size and they behave exactly as their namesakes.
 */

/* Bytes of a decsum with its wide limbs. */
static inline size_t
decsum_size(const decsum *s)
{
	return sizeof(decsum) + sizeof(uint32_t) * (size_t) (s->wide < 0 ? -(int64_t) s->wide : s->wide);
}

extern kpi_status decsum_add_decimal_wide(void **block, size_t offset, const decsum_decimal *d,
										  const kpi_allocator *mem, kpi_msg *msg);
extern kpi_status decsum_remove_decimal_wide(void **block, size_t offset, const decsum_decimal *d,
											 const kpi_allocator *mem, kpi_msg *msg);
extern kpi_status decsum_add_int64_wide(void **block, size_t offset, int64_t v,
										const kpi_allocator *mem, kpi_msg *msg);
extern kpi_status decsum_remove_int64_wide(void **block, size_t offset, int64_t v,
										   const kpi_allocator *mem, kpi_msg *msg);
extern kpi_status decsum_merge_wide(void **block, size_t offset, const decsum *src,
									const kpi_allocator *mem, kpi_msg *msg);

/*
 * Sets the sum (and the scale, v's) and leaves the counts, narrow or wide
 * as v requires; KPI_ERR_OVERFLOW if v has more digits after the point
 * than DECSUM_MAX_SCALE, or more before it than DECSUM_MAX_INT_DIGITS.
 */
extern kpi_status decsum_set_sum(void **block, size_t offset, const bigdec *v,
								 const kpi_allocator *mem, kpi_msg *msg);
/*
 * decsum_set_sum from text in decsum_parse's form, with any number of
 * digits; KPI_ERR_TEXT when it is not such text or passes those limits.
 */
extern kpi_status decsum_parse_sum(void **block, size_t offset, const char *text, size_t len,
								   const kpi_allocator *mem, kpi_msg *msg);

/* The sum as a bigdec: a view of the wide limbs, or of buf. */
extern void decsum_sum(const decsum *s, bigdec *out, uint32_t buf[BIGDEC_INT128_LIMBS]);
/* Appends the sum with exactly scale digits after the point ("-12.50"). */
extern void decsum_append_sum(const decsum *s, kpi_strbuf *out);

#endif							/* KPI_DECSUM_H */
