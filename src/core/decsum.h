/*-------------------------------------------------------------------------
 *
 * decsum.h
 *	  Exact sum of decimal values, as PostgreSQL's sum(numeric) keeps it.
 *
 * The sum is an integer scaled by 10^scale, where scale is the largest
 * display scale (digits after the decimal point) of any value added, so
 * the sum has exactly the value and display scale that numeric addition
 * would give.  It holds 38 significant digits; beyond that, adding fails
 * with KPI_ERR_OVERFLOW instead of losing digits.
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

#include "kpi_core.h"

/* Largest display scale of a PostgreSQL numeric (NUMERIC_DSCALE_MAX). */
#define DECSUM_MAX_SCALE 16383

typedef struct decsum
{
	kpi_int128	sum;			/* value * 10^scale */
	int64_t		count;			/* number of values in the sum */
	int64_t		max_scale_count;	/* how many of them have scale == scale */
	int32_t		scale;			/* largest display scale added */
	int32_t		reserved;		/* zero */
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

extern kpi_status decsum_add_decimal(decsum *s, const decsum_decimal *d, kpi_msg *msg);
extern kpi_status decsum_remove_decimal(decsum *s, const decsum_decimal *d, kpi_msg *msg);
extern kpi_status decsum_add_int64(decsum *s, int64_t v, kpi_msg *msg);
extern kpi_status decsum_remove_int64(decsum *s, int64_t v, kpi_msg *msg);
/* dst += src */
extern kpi_status decsum_merge(decsum *dst, const decsum *src, kpi_msg *msg);

/*
 * Whether s could have been built by the functions above (for states read
 * from text or bytes): counts within 0 .. INT64_MAX / 4, a scale within
 * 0 .. DECSUM_MAX_SCALE that some value has, zero reserved bytes, and the
 * zero sum of no values.
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

#endif							/* KPI_DECSUM_H */
