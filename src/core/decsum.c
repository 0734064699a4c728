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

static const char overflow_detail[] =
"The exact sum holds at most 38 significant digits, counting those after the decimal point.";

const int64_t decsum_pow10[19] = {
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

		if (__builtin_mul_overflow(*v, (__int128) decsum_pow10[step], v))
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
	int			own_scale = DECSUM_DEC_DIGITS * (d->ndigits - 1 - d->weight);
	int			target = d->dscale;
	int			drop = 0;
	int16_t		last = 0;

	/*
	 * Zero digits of the last group past dscale (PostgreSQL keeps up to
	 * three) are dropped before the group is added, not divided out after.
	 */
	if (d->ndigits > 0)
		memcpy(&last, (const char *) d->digits + (d->ndigits - 1) * sizeof(int16_t), sizeof(last));
	while (drop < DECSUM_DEC_DIGITS && own_scale - drop > target && last % decsum_pow10[drop + 1] == 0)
		drop++;
	for (int i = 0; i < d->ndigits; i++)
	{
		int16_t		digit;
		int64_t		base = DECSUM_NBASE;

		memcpy(&digit, (const char *) d->digits + i * sizeof(int16_t), sizeof(digit));
		if (i == d->ndigits - 1)
		{
			digit = (int16_t) (digit / decsum_pow10[drop]);
			base = decsum_pow10[DECSUM_DEC_DIGITS - drop];
		}
		/* nine digits stay below 10^36; only later ones can overflow */
		if (i < 9)
			acc = acc * base + digit;
		else if (__builtin_mul_overflow(acc, (__int128) base, &acc) ||
				 __builtin_add_overflow(acc, (__int128) digit, &acc))
			return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);
	}
	own_scale -= drop;
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

/* ------------------------------------------------------------ bookkeeping */

/*
 * The scale and counts of a sum, narrow or wide, once a value of scale
 * vscale is added, once one is removed, and once another sum is merged.
 * Removal mirrors numeric's do_numeric_discard: the sum's scale is the
 * largest scale of the remaining values, which is unknown once the last
 * value with the current largest scale leaves (unless nothing remains);
 * then it answers KPI_CANNOT_INVERT.
 */
static void
count_added(decsum *next, int32_t vscale)
{
	if (vscale > next->scale)
	{
		next->scale = vscale;
		next->max_scale_count = 0;
	}
	if (vscale == next->scale)
		next->max_scale_count++;
	next->count++;
}

static kpi_status
count_removed(decsum *next, int32_t vscale)
{
	if (vscale > next->scale || next->count == 0)
		return KPI_CANNOT_INVERT;	/* not a value that was added */
	if (vscale == next->scale)
	{
		if (next->max_scale_count > 1 || next->scale == 0)
			next->max_scale_count--;
		else if (next->count == 1)
		{
			next->scale = 0;
			next->max_scale_count = 0;
		}
		else
			return KPI_CANNOT_INVERT;
	}
	next->count--;
	return KPI_OK;
}

static void
count_merged(decsum *next, const decsum *src)
{
	if (src->scale > next->scale)
	{
		next->scale = src->scale;
		next->max_scale_count = 0;
	}
	if (src->scale == next->scale)
		next->max_scale_count += src->max_scale_count;
	next->count += src->count;
}

/* ----------------------------------------------------------- narrow sums */

/*
 * *s becomes next (its counts and scale) with the sum s->sum + v, or
 * s->sum - v with subtract, where v is scaled by 10^vscale; the zero sum
 * when next holds no values.  On failure *s is unchanged.
 */
static kpi_status
narrow_update(decsum *s, const decsum *next, __int128 v, int32_t vscale, bool subtract,
			  kpi_msg *msg)
{
	__int128	sum = s->sum;

	if (next->count == 0)
		sum = 0;
	else if (!mul_pow10(&sum, next->scale - s->scale) || !mul_pow10(&v, next->scale - vscale) ||
			 (subtract ? __builtin_sub_overflow(sum, v, &sum) : __builtin_add_overflow(sum, v, &sum)))
		return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);
	*s = *next;
	s->sum = sum;
	return KPI_OK;
}

static kpi_status
add_value(decsum *s, __int128 v, int32_t vscale, kpi_msg *msg)
{
	decsum		next = *s;

	count_added(&next, vscale);
	return narrow_update(s, &next, v, vscale, false, msg);
}

static kpi_status
remove_value(decsum *s, __int128 v, int32_t vscale, kpi_msg *msg)
{
	decsum		next = *s;
	kpi_status	st = count_removed(&next, vscale);

	return st != KPI_OK ? st : narrow_update(s, &next, v, vscale, true, msg);
}

/* The narrow operations on a narrow sum; the public ones check first. */
static kpi_status
add_decimal_narrow(decsum *s, const decsum_decimal *d, kpi_msg *msg)
{
	__int128	v;
	int32_t		vscale;
	kpi_status	st;

	if (decsum_add_small_decimal(s, d))
		return KPI_OK;
	st = decimal_to_scaled(d, &v, &vscale, msg);
	return st != KPI_OK ? st : add_value(s, v, vscale, msg);
}

static kpi_status
remove_decimal_narrow(decsum *s, const decsum_decimal *d, kpi_msg *msg)
{
	__int128	v;
	int32_t		vscale;
	kpi_status	st = decimal_to_scaled(d, &v, &vscale, msg);

	return st != KPI_OK ? st : remove_value(s, v, vscale, msg);
}

/* The common case of an integer: a narrow sum of integers, nothing to rescale. */
static inline bool
add_small_int64(decsum *s, int64_t v)
{
	__int128	sum;

	if (s->wide != 0 || s->scale != 0 || __builtin_add_overflow(s->sum, (__int128) v, &sum))
		return false;
	s->sum = sum;
	s->count++;
	s->max_scale_count++;
	return true;
}

static kpi_status
add_int64_narrow(decsum *s, int64_t v, kpi_msg *msg)
{
	return add_small_int64(s, v) ? KPI_OK : add_value(s, v, 0, msg);
}

static kpi_status
merge_narrow(decsum *dst, const decsum *src, kpi_msg *msg)
{
	decsum		next = *dst;

	if (src->count == 0)
		return KPI_OK;
	count_merged(&next, src);
	return narrow_update(dst, &next, src->sum, src->scale, false, msg);
}

/* A narrow operation on a wide sum: it does not fit, by definition. */
static kpi_status
wide_refused(kpi_msg *msg)
{
	return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);
}

kpi_status
decsum_add_decimal(decsum *s, const decsum_decimal *d, kpi_msg *msg)
{
	return s->wide != 0 ? wide_refused(msg) : add_decimal_narrow(s, d, msg);
}

kpi_status
decsum_remove_decimal(decsum *s, const decsum_decimal *d, kpi_msg *msg)
{
	return s->wide != 0 ? wide_refused(msg) : remove_decimal_narrow(s, d, msg);
}

kpi_status
decsum_add_int64(decsum *s, int64_t v, kpi_msg *msg)
{
	return s->wide != 0 ? wide_refused(msg) : add_int64_narrow(s, v, msg);
}

kpi_status
decsum_remove_int64(decsum *s, int64_t v, kpi_msg *msg)
{
	return s->wide != 0 ? wide_refused(msg) : remove_value(s, v, 0, msg);
}

kpi_status
decsum_merge(decsum *dst, const decsum *src, kpi_msg *msg)
{
	return dst->wide != 0 || src->wide != 0 ? wide_refused(msg) : merge_narrow(dst, src, msg);
}

bool
decsum_is_valid(const decsum *s)
{
	return s->count >= 0 && s->count <= INT64_MAX / 4 &&
		s->scale >= 0 && s->scale <= DECSUM_MAX_SCALE &&
		s->max_scale_count >= 0 && s->max_scale_count <= s->count &&
		!(s->count > 0 && s->scale > 0 && s->max_scale_count == 0) &&
		!(s->count == 0 && (s->sum != 0 || s->scale != 0 || s->max_scale_count != 0)) &&
		s->wide == 0;
}

/* ------------------------------------------------------------- wide sums */

static decsum *
decsum_at(void *block, size_t offset)
{
	return (decsum *) ((char *) block + offset);
}

void
decsum_sum(const decsum *s, bigdec *out, uint32_t buf[BIGDEC_INT128_LIMBS])
{
	if (s->wide == 0)
	{
		bigdec_from_int128(out, s->sum, s->scale, buf);
		return;
	}
	/* a view: the limbs are never written through it */
	out->limbs = (uint32_t *) (s + 1);
	out->nlimbs = s->wide < 0 ? -s->wide : s->wide;
	out->scale = s->scale;
	out->negative = s->wide < 0;
}

void
decsum_append_sum(const decsum *s, kpi_strbuf *out)
{
	bigdec		v;
	uint32_t	buf[BIGDEC_INT128_LIMBS];

	decsum_sum(s, &v, buf);
	bigdec_format(&v, out);
}

/*
 * The decsum at offset in *block takes next's counts and the sum v (whose
 * scale becomes the decsum's): narrow when v fits in 128 bits, wide
 * otherwise, resizing the block when the sum's size changes.  v must not
 * point into the block.
 */
static kpi_status
store(void **block, size_t offset, const decsum *next, const bigdec *v,
	  const kpi_allocator *mem, kpi_msg *msg)
{
	decsum	   *s = decsum_at(*block, offset);
	__int128	narrow = 0;
	bool		fits = bigdec_to_int128(v, &narrow);
	int32_t		nlimbs = fits ? 0 : v->nlimbs;
	size_t		size = sizeof(decsum) + sizeof(uint32_t) * (size_t) nlimbs;

	if (v->scale > DECSUM_MAX_SCALE)
		return kpi_fail(msg, KPI_ERR_OVERFLOW, "A sum of numeric values has at most %d digits after the decimal point.",
						DECSUM_MAX_SCALE);
	if (bigdec_digits(v) - v->scale > DECSUM_MAX_INT_DIGITS)
		return kpi_fail(msg, KPI_ERR_OVERFLOW, "A sum of numeric values has at most %d digits before the decimal point.",
						DECSUM_MAX_INT_DIGITS);
	if (size != decsum_size(s))
	{
		void	   *resized;

		if (mem == NULL)
			return kpi_fail(msg, KPI_ERR_OVERFLOW, overflow_detail);
		resized = mem->realloc(*block, offset + size, mem->ctx);
		if (resized == NULL)
			return kpi_fail(msg, KPI_ERR_NOMEM, "No memory for a sum of %d digits.", bigdec_digits(v));
		*block = resized;
		s = decsum_at(resized, offset);
	}
	*s = *next;
	s->sum = narrow;
	s->scale = v->scale;
	s->wide = fits ? 0 : v->negative ? -nlimbs : nlimbs;
	if (!fits)
		memcpy(s + 1, v->limbs, sizeof(uint32_t) * (size_t) nlimbs);
	return KPI_OK;
}

/*
 * The general path of every operation: the decsum at offset in *block
 * takes next's counts and the sum s->sum + v (or - v with subtract); the
 * zero sum when next holds no values.
 */
static kpi_status
wide_update(void **block, size_t offset, const decsum *next, const bigdec *v, bool subtract,
			const kpi_allocator *mem, kpi_msg *msg)
{
	bigdec		current,
				result = {NULL, 0, 0, false};
	uint32_t	buf[BIGDEC_INT128_LIMBS];
	kpi_status	st = KPI_OK;

	if (next->count > 0)
	{
		decsum_sum(decsum_at(*block, offset), &current, buf);
		st = subtract ? bigdec_sub(&result, &current, v, mem, msg) :
			bigdec_add(&result, &current, v, mem, msg);
	}
	if (st == KPI_OK)
		st = store(block, offset, next, &result, mem, msg);
	bigdec_free(&result, mem);
	return st;
}

/* Adds or removes v, which has its own scale, through the general path. */
static kpi_status
wide_value(void **block, size_t offset, const bigdec *v, bool remove,
		   const kpi_allocator *mem, kpi_msg *msg)
{
	decsum		next = *decsum_at(*block, offset);
	kpi_status	st = KPI_OK;

	if (remove)
		st = count_removed(&next, v->scale);
	else
		count_added(&next, v->scale);
	return st != KPI_OK ? st : wide_update(block, offset, &next, v, remove, mem, msg);
}

/*
 * A narrow sum tries the narrow path first; only a sum that does not fit
 * (and a wide one) takes the general path, which needs an allocator.  The
 * narrow attempt fills msg only when there is no general path to take.
 * Kept out of line, so the public functions' common cases stay short.
 */
static __attribute__((noinline)) kpi_status
decimal_step(void **block, size_t offset, const decsum_decimal *d, bool remove,
			 const kpi_allocator *mem, kpi_msg *msg)
{
	decsum	   *s = decsum_at(*block, offset);
	bigdec		v;
	kpi_status	st;

	if (s->wide == 0)
	{
		kpi_msg    *narrow_msg = mem == NULL ? msg : NULL;

		st = remove ? remove_decimal_narrow(s, d, narrow_msg) : add_decimal_narrow(s, d, narrow_msg);
		if (st != KPI_ERR_OVERFLOW)
			return st;
	}
	if (mem == NULL)
		return wide_refused(msg);
	st = bigdec_from_base10000(&v, d->negative, d->weight, d->dscale, d->digits, d->ndigits, mem, msg);
	if (st != KPI_OK)
		return st;
	st = wide_value(block, offset, &v, remove, mem, msg);
	bigdec_free(&v, mem);
	return st;
}

static __attribute__((noinline)) kpi_status
int64_step(void **block, size_t offset, int64_t v, bool remove, const kpi_allocator *mem,
		   kpi_msg *msg)
{
	decsum	   *s = decsum_at(*block, offset);
	bigdec		value;
	uint32_t	buf[BIGDEC_INT128_LIMBS];

	if (s->wide == 0)
	{
		kpi_msg    *narrow_msg = mem == NULL ? msg : NULL;
		kpi_status	st = remove ? remove_value(s, v, 0, narrow_msg) : add_int64_narrow(s, v, narrow_msg);

		if (st != KPI_ERR_OVERFLOW)
			return st;
	}
	if (mem == NULL)
		return wide_refused(msg);
	bigdec_from_int128(&value, v, 0, buf);
	return wide_value(block, offset, &value, remove, mem, msg);
}

kpi_status
decsum_add_decimal_wide(void **block, size_t offset, const decsum_decimal *d,
						const kpi_allocator *mem, kpi_msg *msg)
{
	/* the common case first, without a detour */
	if (decsum_add_small_decimal(decsum_at(*block, offset), d))
		return KPI_OK;
	return decimal_step(block, offset, d, false, mem, msg);
}

kpi_status
decsum_remove_decimal_wide(void **block, size_t offset, const decsum_decimal *d,
						   const kpi_allocator *mem, kpi_msg *msg)
{
	return decimal_step(block, offset, d, true, mem, msg);
}

kpi_status
decsum_add_int64_wide(void **block, size_t offset, int64_t v, const kpi_allocator *mem,
					  kpi_msg *msg)
{
	if (add_small_int64(decsum_at(*block, offset), v))
		return KPI_OK;
	return int64_step(block, offset, v, false, mem, msg);
}

kpi_status
decsum_remove_int64_wide(void **block, size_t offset, int64_t v, const kpi_allocator *mem,
						 kpi_msg *msg)
{
	return int64_step(block, offset, v, true, mem, msg);
}

kpi_status
decsum_merge_wide(void **block, size_t offset, const decsum *src, const kpi_allocator *mem,
				  kpi_msg *msg)
{
	decsum	   *dst = decsum_at(*block, offset);
	decsum		next = *dst;
	bigdec		v;
	uint32_t	buf[BIGDEC_INT128_LIMBS];

	if (dst->wide == 0 && src->wide == 0)
	{
		kpi_status	st = merge_narrow(dst, src, mem == NULL ? msg : NULL);

		if (st != KPI_ERR_OVERFLOW)
			return st;
	}
	if (src->count == 0)
		return KPI_OK;
	if (mem == NULL)
		return wide_refused(msg);
	count_merged(&next, src);
	decsum_sum(src, &v, buf);
	return wide_update(block, offset, &next, &v, false, mem, msg);
}

kpi_status
decsum_set_sum(void **block, size_t offset, const bigdec *v, const kpi_allocator *mem,
			   kpi_msg *msg)
{
	decsum		next = *decsum_at(*block, offset);

	return store(block, offset, &next, v, mem, msg);
}

kpi_status
decsum_parse_sum(void **block, size_t offset, const char *text, size_t len,
				 const kpi_allocator *mem, kpi_msg *msg)
{
	decsum	   *s = decsum_at(*block, offset);
	bigdec		v;
	kpi_status	st;

	if (mem == NULL)
		return decsum_parse(text, len, &s->sum, &s->scale, msg);
	st = bigdec_parse(text, len, &v, mem, msg);
	if (st != KPI_OK)
		return st;
	st = decsum_set_sum(block, offset, &v, mem, msg);
	bigdec_free(&v, mem);
	/* a sum beyond numeric's digits is bad text, not an overflow */
	return st == KPI_ERR_OVERFLOW ? KPI_ERR_TEXT : st;
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
