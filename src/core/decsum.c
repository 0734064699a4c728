/*-------------------------------------------------------------------------
 *
 * decsum.c
 *	  Exact sum of decimal values (see decsum.h).
 *
 * IDENTIFICATION
 *	  src/core/decsum.c
 *
 *-------------------------------------------------------------------------
 */
#include "decsum.h"

#include <string.h>

#define NBASE 10000
#define DEC_DIGITS 4

static const char overflow_detail[] =
"The exact sum holds at most 38 significant digits, counting those after the decimal point.";

/* 10^0 .. 10^18 */
static const int64_t pow10_int64[19] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
	1000000000, 10000000000, 100000000000, 1000000000000, 10000000000000,
	100000000000000, 1000000000000000, 10000000000000000,
	100000000000000000, 1000000000000000000
};

/* *v *= 10^exp, failing on overflow (zero scales to any power). */
static bool
mul_pow10(__int128 *v, int exp)
{
	while (exp > 0 && *v != 0)
	{
		int			step = exp > 18 ? 18 : exp;

		if (__builtin_mul_overflow(*v, (__int128) pow10_int64[step], v))
			return false;
		exp -= step;
	}
	return true;
}

/*
 * The decimal as an integer scaled by 10^scale, where *scale comes out as
 * d->dscale, raised if the digits reach further than dscale (PostgreSQL
 * never stores such numerics, but nothing is lost if one arrives).
 */
static kpi_status
decimal_to_scaled(const decsum_decimal *d, __int128 *out, int32_t *scale,
				  kpi_msg *msg)
{
	__int128	acc = 0;
	int			own_scale = DEC_DIGITS * (d->ndigits - 1 - d->weight);
	int			target = d->dscale;

	for (int i = 0; i < d->ndigits; i++)
	{
		int16_t		digit;

		memcpy(&digit, (const char *) d->digits + i * sizeof(int16_t), sizeof(digit));
		if (__builtin_mul_overflow(acc, (__int128) NBASE, &acc) ||
			__builtin_add_overflow(acc, (__int128) digit, &acc))
			return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);
	}
	/* acc = |value| * 10^own_scale; bring it to dscale if that is exact */
	while (own_scale > target && acc % 10 == 0)
	{
		acc /= 10;
		own_scale--;
	}
	if (own_scale > target)
		target = own_scale;
	if (!mul_pow10(&acc, target - own_scale))
		return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);
	*out = d->negative ? -acc : acc;
	*scale = target;
	return KPI_OK;
}

/*
 * s->sum += sign * v, where v is scaled by 10^vscale; raises s->scale to
 * vscale if needed.  On failure *s is unchanged.
 */
static kpi_status
add_scaled(decsum *s, __int128 v, int32_t vscale, int sign, kpi_msg *msg)
{
	__int128	sum = s->sum;
	int32_t		scale = s->scale;

	if (vscale > scale)
	{
		if (!mul_pow10(&sum, vscale - scale))
			return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);
		scale = vscale;
	}
	else if (!mul_pow10(&v, scale - vscale))
		return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);
	if (sign < 0 ? __builtin_sub_overflow(sum, v, &sum)
		: __builtin_add_overflow(sum, v, &sum))
		return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);

	if (scale > s->scale)
		s->max_scale_count = 0;
	s->sum = sum;
	s->scale = scale;
	return KPI_OK;
}

static kpi_status
add_value(decsum *s, __int128 v, int32_t vscale, kpi_msg *msg)
{
	kpi_status	st = add_scaled(s, v, vscale, +1, msg);

	if (st != KPI_OK)
		return st;
	if (vscale == s->scale)
		s->max_scale_count++;
	s->count++;
	return KPI_OK;
}

/*
 * Removal mirrors numeric's do_numeric_discard: the sum's scale is the
 * largest scale of the remaining values, which is unknown once the last
 * value with the current largest scale leaves (unless nothing remains).
 */
static kpi_status
remove_value(decsum *s, __int128 v, int32_t vscale, kpi_msg *msg)
{
	decsum		next = *s;
	kpi_status	st;

	if (vscale > s->scale || s->count == 0)
		return KPI_CANNOT_INVERT;	/* not a value that was added */
	if (vscale == s->scale)
	{
		if (s->max_scale_count > 1 || s->scale == 0)
			next.max_scale_count--;
		else if (s->count == 1)
		{
			next.scale = 0;
			next.max_scale_count = 0;
		}
		else
			return KPI_CANNOT_INVERT;
	}
	if (--next.count == 0)
	{
		next.sum = 0;
		*s = next;
		return KPI_OK;
	}
	st = add_scaled(&next, v, vscale, -1, msg);
	if (st == KPI_OK)
		*s = next;
	return st;
}

/*
 * The common case, tried before the general one: a value of at most four
 * base-10000 digits (below 10^16) whose scale does not exceed the sum's.
 * It needs no int128 multiplication checks: |value| * 10^18 < 10^34 fits.
 * Returns false when the case does not apply or the sum would overflow;
 * the general path then decides.
 */
static bool
add_small_decimal(decsum *s, const decsum_decimal *d)
{
	int64_t		acc = 0;
	int			shift = s->scale - DEC_DIGITS * (d->ndigits - 1 - d->weight);
	__int128	v;

	if (d->ndigits > 4 || d->dscale > s->scale || shift > 18 || shift < -16)
		return false;
	for (int i = 0; i < d->ndigits; i++)
	{
		int16_t		digit;

		memcpy(&digit, (const char *) d->digits + i * sizeof(int16_t), sizeof(digit));
		acc = acc * NBASE + digit;
	}
	if (shift >= 0)
		v = (__int128) acc * pow10_int64[shift];
	else
	{
		/* exact, as PostgreSQL keeps no nonzero digits past dscale */
		v = acc / pow10_int64[-shift];
		if (v * pow10_int64[-shift] != acc)
			return false;
	}
	if (__builtin_add_overflow(s->sum, d->negative ? -v : v, &v))
		return false;
	s->sum = v;
	s->count++;
	if (d->dscale == s->scale)
		s->max_scale_count++;
	return true;
}

kpi_status
decsum_add_decimal(decsum *s, const decsum_decimal *d, kpi_msg *msg)
{
	__int128	v;
	int32_t		vscale;
	kpi_status	st;

	if (add_small_decimal(s, d))
		return KPI_OK;
	st = decimal_to_scaled(d, &v, &vscale, msg);
	return st != KPI_OK ? st : add_value(s, v, vscale, msg);
}

kpi_status
decsum_remove_decimal(decsum *s, const decsum_decimal *d, kpi_msg *msg)
{
	__int128	v;
	int32_t		vscale;
	kpi_status	st = decimal_to_scaled(d, &v, &vscale, msg);

	return st != KPI_OK ? st : remove_value(s, v, vscale, msg);
}

kpi_status
decsum_add_int64(decsum *s, int64_t v, kpi_msg *msg)
{
	__int128	sum;

	/* common case: an integer sum, where nothing needs rescaling */
	if (s->scale == 0 && !__builtin_add_overflow(s->sum, (__int128) v, &sum))
	{
		s->sum = sum;
		s->count++;
		s->max_scale_count++;
		return KPI_OK;
	}
	return add_value(s, v, 0, msg);
}

kpi_status
decsum_remove_int64(decsum *s, int64_t v, kpi_msg *msg)
{
	return remove_value(s, v, 0, msg);
}

kpi_status
decsum_merge(decsum *dst, const decsum *src, kpi_msg *msg)
{
	decsum		next = *dst;
	kpi_status	st;

	if (src->count == 0)
		return KPI_OK;
	st = add_scaled(&next, src->sum, src->scale, +1, msg);
	if (st != KPI_OK)
		return st;
	/* add_scaled zeroed max_scale_count if src raised the scale */
	if (src->scale == next.scale)
		next.max_scale_count += src->max_scale_count;
	next.count += src->count;
	*dst = next;
	return KPI_OK;
}

bool
decsum_is_valid(const decsum *s)
{
	return s->count >= 0 && s->count <= INT64_MAX / 4 &&
		s->scale >= 0 && s->scale <= DECSUM_MAX_SCALE &&
		s->max_scale_count >= 0 && s->max_scale_count <= s->count &&
		!(s->count > 0 && s->scale > 0 && s->max_scale_count == 0) &&
		!(s->count == 0 && (s->sum != 0 || s->scale != 0 || s->max_scale_count != 0)) &&
		s->reserved == 0;
}

void
decsum_format(kpi_int128 sum, int32_t scale, char *buf)
{
	char		digits[48];
	int			ndigits = 0;
	unsigned __int128 u = sum < 0 ? -(unsigned __int128) sum : (unsigned __int128) sum;
	char	   *p = buf;
	int			intdigits;

	do
	{
		digits[ndigits++] = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u != 0);
	/* digits[] is least significant first; pad to scale + 1 digits */
	if (sum < 0)
		*p++ = '-';
	intdigits = ndigits > scale ? ndigits - scale : 1;
	for (int i = intdigits - 1; i >= 0; i--)
		*p++ = (i + scale < ndigits) ? digits[i + scale] : '0';
	if (scale > 0)
	{
		*p++ = '.';
		for (int i = scale - 1; i >= 0; i--)
			*p++ = i < ndigits ? digits[i] : '0';
	}
	*p = '\0';
}

kpi_status
decsum_parse(const char *s, size_t len, kpi_int128 *sum, int32_t *scale,
			 kpi_msg *msg)
{
	const char *p = s;
	const char *end = s + len;
	bool		negative = false;
	bool		seen_point = false;
	int			ndigits = 0;
	int32_t		frac = 0;
	__int128	acc = 0;

	if (p < end && (*p == '-' || *p == '+'))
		negative = (*p++ == '-');
	for (; p < end; p++)
	{
		if (*p == '.' && !seen_point)
		{
			seen_point = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not a decimal number.", (int) len, s);
		ndigits++;
		if (seen_point && ++frac > DECSUM_MAX_SCALE)
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" has more than %d digits after the decimal point.",
							(int) len, s, DECSUM_MAX_SCALE);
		/* accumulate toward the sign, so the most negative sum reads back */
		if (__builtin_mul_overflow(acc, (__int128) 10, &acc) ||
			__builtin_add_overflow(acc, (__int128) (negative ? '0' - *p : *p - '0'), &acc))
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is out of range.", (int) len, s);
	}
	if (ndigits == 0 || (seen_point && frac == 0))
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not a decimal number.", (int) len, s);
	*sum = acc;
	*scale = frac;
	return KPI_OK;
}
