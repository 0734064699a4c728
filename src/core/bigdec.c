/*-------------------------------------------------------------------------
 *
 * bigdec.c
 *	  Arbitrary-precision decimals (see bigdec.h).
 *
 * Addition aligns the scales without building the rescaled operand: limb
 * i of coef * 10^k is read straight from the limbs of coef (a shifted
 * view), so a sum costs one pass over the longer operand.
 *
 * IDENTIFICATION
 *	  src/core/bigdec.c
 *
 *-------------------------------------------------------------------------
 */
#include "bigdec.h"

#include <string.h>

/*
 * More digits than any coefficient a numeric can give (131072 before the
 * point and 16383 after); a base-10000 decimal beyond it is refused before
 * anything is allocated.
 */
#define BIGDEC_MAX_DIGITS (1 << 20)

/* 10^0 .. 10^9 */
static const uint32_t pow10_u32[10] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000
};

static kpi_status
alloc_limbs(uint32_t **limbs, int64_t nlimbs, const kpi_allocator *mem, kpi_msg *msg)
{
	*limbs = mem->alloc(sizeof(uint32_t) * (size_t) nlimbs, mem->ctx);
	if (*limbs == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "No memory for a decimal of %lld digits.",
						(long long) nlimbs * BIGDEC_LIMB_DIGITS);
	return KPI_OK;
}

/* Drops zero limbs on top; a zero gives its limbs back and is not negative. */
static void
normalize(bigdec *a, const kpi_allocator *mem)
{
	while (a->nlimbs > 0 && a->limbs[a->nlimbs - 1] == 0)
		a->nlimbs--;
	if (a->nlimbs == 0)
		bigdec_free(a, mem);
}

void
bigdec_free(bigdec *a, const kpi_allocator *mem)
{
	if (a->limbs != NULL)
		mem->free(a->limbs, mem->ctx);
	a->limbs = NULL;
	a->nlimbs = 0;
	a->negative = false;
}

void
bigdec_from_int128(bigdec *out, __int128 v, int32_t scale, uint32_t buf[BIGDEC_INT128_LIMBS])
{
	unsigned __int128 u = v < 0 ? -(unsigned __int128) v : (unsigned __int128) v;
	int32_t		n = 0;

	while (u != 0)
	{
		buf[n++] = (uint32_t) (u % BIGDEC_BASE);
		u /= BIGDEC_BASE;
	}
	out->limbs = n > 0 ? buf : NULL;
	out->nlimbs = n;
	out->scale = scale;
	out->negative = v < 0;
}

bool
bigdec_to_int128(const bigdec *a, __int128 *coef)
{
	const unsigned __int128 limit = (unsigned __int128) 1 << 127;	/* |INT128_MIN| */
	unsigned __int128 u = 0;

	/* 2^127 = 170 * 10^36 + ...: five limbs with a top limb of at most 170 */
	if (a->nlimbs > BIGDEC_INT128_LIMBS ||
		(a->nlimbs == BIGDEC_INT128_LIMBS && a->limbs[BIGDEC_INT128_LIMBS - 1] > 170))
		return false;
	for (int32_t i = a->nlimbs - 1; i >= 0; i--)
		u = u * BIGDEC_BASE + a->limbs[i];
	if (u > limit || (!a->negative && u == limit))
		return false;
	*coef = a->negative ? (__int128) (0 - u) : (__int128) u;
	return true;
}

/* ------------------------------------------------------ numeric's digits */

/* Base-10000 digit i of a run (native-endian int16, maybe unaligned). */
static int
base10000_group(const void *digits, int i)
{
	int16_t		group;

	memcpy(&group, (const char *) digits + (size_t) i * sizeof(int16_t), sizeof(group));
	return group;
}

/* Decimal digits of a base-10000 digit: 1 to 4. */
static int
group_digits(int group)
{
	return group >= 1000 ? 4 : group >= 100 ? 3 : group >= 10 ? 2 : 1;
}

kpi_status
bigdec_from_base10000(bigdec *out, bool negative, int weight, int dscale,
					  const void *digits, int ndigits, const kpi_allocator *mem,
					  kpi_msg *msg)
{
	/*
	 * The digits spell a decimal string of 4 * ndigits digits, own_scale
	 * of them after the point (negative: zeros to append).  Only the
	 * groups [first, end) hold nonzero digits.
	 */
	int64_t		own_scale = 4 * ((int64_t) ndigits - 1 - weight);
	int			first = 0,
				end = ndigits;
	int64_t		lead,
				trail = 0,
				scale,
				pad,
				coef_digits;
	bigdec		r = {NULL, 0, 0, false};
	kpi_status	st;

	while (first < end && base10000_group(digits, first) == 0)
		first++;
	while (end > first && base10000_group(digits, end - 1) == 0)
		end--;
	if (first == end)
	{
		/* zero, at its display scale */
		*out = r;
		out->scale = dscale;
		return KPI_OK;
	}
	for (int i = first; i < end; i++)
		if (base10000_group(digits, i) < 0 || base10000_group(digits, i) >= 10000)
			return kpi_fail(msg, KPI_ERR_PARAM, "A base-10000 digit is %d.", base10000_group(digits, i));
	lead = 4 * (int64_t) first + 4 - group_digits(base10000_group(digits, first));
	while (base10000_group(digits, end - 1) % pow10_u32[trail + 1] == 0)
		trail++;
	trail += 4 * (int64_t) (ndigits - end);
	/* the scale is dscale unless nonzero digits reach past it */
	scale = own_scale - trail > dscale ? own_scale - trail : dscale;
	pad = scale - own_scale;	/* zeros appended (< 0: trailing zeros dropped) */
	coef_digits = 4 * (int64_t) ndigits - lead + pad;
	if (coef_digits > BIGDEC_MAX_DIGITS || scale > BIGDEC_MAX_DIGITS)
		return kpi_fail(msg, KPI_ERR_OVERFLOW, "A decimal has more than %d digits.", BIGDEC_MAX_DIGITS);

	r.nlimbs = (int32_t) ((coef_digits + BIGDEC_LIMB_DIGITS - 1) / BIGDEC_LIMB_DIGITS);
	st = alloc_limbs(&r.limbs, r.nlimbs, mem, msg);
	if (st != KPI_OK)
		return st;
	memset(r.limbs, 0, sizeof(uint32_t) * (size_t) r.nlimbs);

	/*
	 * Group i is worth group * 10^p in the coefficient.  Groups cover
	 * different digits, so adding them into the limbs never carries.
	 */
	for (int i = first; i < end; i++)
	{
		int64_t		p = 4 * ((int64_t) ndigits - 1 - i) + pad;
		uint64_t	v = (uint64_t) base10000_group(digits, i);

		if (p < 0)
		{
			/* the last group, whose dropped digits are zeros */
			v /= pow10_u32[-p];
			p = 0;
		}
		v *= pow10_u32[p % BIGDEC_LIMB_DIGITS];
		r.limbs[p / BIGDEC_LIMB_DIGITS] += (uint32_t) (v % BIGDEC_BASE);
		if (v >= BIGDEC_BASE)
			r.limbs[p / BIGDEC_LIMB_DIGITS + 1] += (uint32_t) (v / BIGDEC_BASE);
	}
	r.scale = (int32_t) scale;
	r.negative = negative;
	*out = r;
	return KPI_OK;
}

/* ------------------------------------------------------------ arithmetic */

/* |a| * 10^k, read limb by limb without being built. */
typedef struct shifted
{
	const uint32_t *limbs;
	int32_t		nlimbs;
	int32_t		whole;			/* k / 9: zero limbs below */
	int32_t		part;			/* k % 9 */
	int32_t		len;			/* limbs of the product (the top one may be 0) */
} shifted;

static void
shift_init(shifted *s, const bigdec *a, int32_t k)
{
	s->limbs = a->limbs;
	s->nlimbs = a->nlimbs;
	s->whole = k / BIGDEC_LIMB_DIGITS;
	s->part = k % BIGDEC_LIMB_DIGITS;
	s->len = a->nlimbs == 0 ? 0 : a->nlimbs + s->whole + (s->part != 0);
}

/*
 * Limb i of the product: the low digits of limb j moved up by part, under
 * the high digits of limb j - 1 moved in.  The two cannot overlap, so the
 * sum stays below 10^9.
 */
static inline uint32_t
shifted_limb(const shifted *s, int32_t i)
{
	int32_t		j = i - s->whole;
	uint32_t	limb = 0;

	if (s->part == 0)
		return j >= 0 && j < s->nlimbs ? s->limbs[j] : 0;
	if (j >= 0 && j < s->nlimbs)
		limb = s->limbs[j] % pow10_u32[BIGDEC_LIMB_DIGITS - s->part] * pow10_u32[s->part];
	if (j >= 1 && j - 1 < s->nlimbs)
		limb += s->limbs[j - 1] / pow10_u32[BIGDEC_LIMB_DIGITS - s->part];
	return limb;
}

static int
compare_shifted(const shifted *a, const shifted *b)
{
	for (int32_t i = (a->len > b->len ? a->len : b->len) - 1; i >= 0; i--)
	{
		uint32_t	x = shifted_limb(a, i);
		uint32_t	y = shifted_limb(b, i);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* out = a + (-1)^b_negative * |b|, at the larger scale. */
static kpi_status
add_signed(bigdec *out, const bigdec *a, const bigdec *b, bool b_negative,
		   const kpi_allocator *mem, kpi_msg *msg)
{
	int32_t		scale = a->scale > b->scale ? a->scale : b->scale;
	bigdec		r = {NULL, 0, scale, false};
	shifted		x,
				y;
	const shifted *big = &x,
			   *small = &y;
	kpi_status	st;

	shift_init(&x, a, scale - a->scale);
	shift_init(&y, b, scale - b->scale);
	r.nlimbs = (x.len > y.len ? x.len : y.len) + 1;
	if (a->negative == b_negative)
		r.negative = a->negative;
	else
	{
		int			order = compare_shifted(&x, &y);

		if (order == 0)
		{
			*out = r;
			out->nlimbs = 0;
			return KPI_OK;
		}
		if (order < 0)
		{
			big = &y;
			small = &x;
		}
		r.negative = order > 0 ? a->negative : b_negative;
	}
	st = alloc_limbs(&r.limbs, r.nlimbs, mem, msg);
	if (st != KPI_OK)
		return st;
	if (a->negative == b_negative)
	{
		uint32_t	carry = 0;

		for (int32_t i = 0; i < r.nlimbs; i++)
		{
			uint32_t	t = shifted_limb(&x, i) + shifted_limb(&y, i) + carry;

			carry = t >= BIGDEC_BASE;
			r.limbs[i] = carry ? t - BIGDEC_BASE : t;
		}
	}
	else
	{
		uint32_t	borrow = 0;

		for (int32_t i = 0; i < r.nlimbs; i++)
		{
			uint32_t	sub = shifted_limb(small, i) + borrow;
			uint32_t	from = shifted_limb(big, i);

			borrow = from < sub;
			r.limbs[i] = borrow ? from + BIGDEC_BASE - sub : from - sub;
		}
	}
	normalize(&r, mem);
	*out = r;
	return KPI_OK;
}

kpi_status
bigdec_add(bigdec *out, const bigdec *a, const bigdec *b, const kpi_allocator *mem,
		   kpi_msg *msg)
{
	return add_signed(out, a, b, b->negative, mem, msg);
}

kpi_status
bigdec_sub(bigdec *out, const bigdec *a, const bigdec *b, const kpi_allocator *mem,
		   kpi_msg *msg)
{
	return add_signed(out, a, b, !b->negative, mem, msg);
}

int32_t
bigdec_digits(const bigdec *a)
{
	uint32_t	top;
	int32_t		d = 1;

	if (a->nlimbs == 0)
		return 0;
	top = a->limbs[a->nlimbs - 1];
	while (d < BIGDEC_LIMB_DIGITS && top >= pow10_u32[d])
		d++;
	return (a->nlimbs - 1) * BIGDEC_LIMB_DIGITS + d;
}

/* ------------------------------------------------------------------ text */

/* Appends the coefficient's digits from position hi down to lo (10^p). */
static void
append_digits(kpi_strbuf *out, const bigdec *a, int64_t hi, int64_t lo)
{
	char		buf[64];
	size_t		n = 0;

	for (int64_t p = hi; p >= lo; p--)
	{
		int64_t		i = p / BIGDEC_LIMB_DIGITS;

		buf[n++] = (char) ('0' + (i < a->nlimbs ? a->limbs[i] / pow10_u32[p % BIGDEC_LIMB_DIGITS] % 10 : 0));
		if (n == sizeof(buf))
		{
			kpi_strbuf_append_n(out, buf, n);
			n = 0;
		}
	}
	kpi_strbuf_append_n(out, buf, n);
}

void
bigdec_format(const bigdec *a, kpi_strbuf *out)
{
	int32_t		ndigits = bigdec_digits(a);

	if (a->negative)
		kpi_strbuf_append(out, "-");
	if (ndigits > a->scale)
		append_digits(out, a, ndigits - 1, a->scale);
	else
		kpi_strbuf_append(out, "0");
	if (a->scale > 0)
	{
		kpi_strbuf_append(out, ".");
		append_digits(out, a, a->scale - 1, 0);
	}
}

kpi_status
bigdec_parse(const char *s, size_t len, bigdec *out, const kpi_allocator *mem,
			 kpi_msg *msg)
{
	const char *p = s;
	const char *end = s + len;
	int			shown = len > 64 ? 64 : (int) len;
	bool		negative = false;
	bool		seen_point = false;
	int64_t		ndigits = 0,
				significant = 0,
				frac = 0;
	bigdec		r = {NULL, 0, 0, false};
	kpi_status	st;

	if (p < end && (*p == '-' || *p == '+'))
		negative = (*p++ == '-');
	for (const char *q = p; q < end; q++)
	{
		if (*q == '.' && !seen_point)
		{
			seen_point = true;
			continue;
		}
		if (*q < '0' || *q > '9')
			return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not a decimal number.", shown, s);
		ndigits++;
		frac += seen_point;
		if (significant > 0 || *q != '0')
			significant++;
	}
	if (ndigits == 0 || (seen_point && frac == 0))
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" is not a decimal number.", shown, s);
	if (frac > INT32_MAX)
		return kpi_fail(msg, KPI_ERR_TEXT, "\"%.*s\" has too many digits.", shown, s);

	r.scale = (int32_t) frac;
	r.nlimbs = (int32_t) ((significant + BIGDEC_LIMB_DIGITS - 1) / BIGDEC_LIMB_DIGITS);
	if (r.nlimbs > 0)
	{
		int64_t		at = 0;		/* position of the next digit, from the last */

		st = alloc_limbs(&r.limbs, r.nlimbs, mem, msg);
		if (st != KPI_OK)
			return st;
		memset(r.limbs, 0, sizeof(uint32_t) * (size_t) r.nlimbs);
		for (const char *q = end - 1; q >= p && at < significant; q--)
		{
			if (*q == '.')
				continue;
			r.limbs[at / BIGDEC_LIMB_DIGITS] += (uint32_t) (*q - '0') * pow10_u32[at % BIGDEC_LIMB_DIGITS];
			at++;
		}
		r.negative = negative;
	}
	*out = r;
	return KPI_OK;
}

/* ---------------------------------------------------------------- binary */

size_t
bigdec_encoded_size(const bigdec *a)
{
	return 4 + 1 + 4 + 4 * (size_t) a->nlimbs;
}

void
bigdec_encode(const bigdec *a, kpi_writer *w)
{
	kpi_put_u32(w, (uint32_t) a->scale);
	kpi_put_u8(w, a->negative ? 1 : 0);
	kpi_put_u32(w, (uint32_t) a->nlimbs);
	for (int32_t i = a->nlimbs - 1; i >= 0; i--)
		kpi_put_u32(w, a->limbs[i]);
}

kpi_status
bigdec_decode(kpi_reader *r, bigdec *out, const kpi_allocator *mem, kpi_msg *msg)
{
	uint32_t	scale = kpi_get_u32(r);
	uint8_t		negative = kpi_get_u8(r);
	uint32_t	nlimbs = kpi_get_u32(r);
	bigdec		d = {NULL, 0, 0, false};
	kpi_status	st;

	if (r->failed || (size_t) nlimbs * 4 > r->len - r->pos)
		return kpi_fail(msg, KPI_ERR_BINARY, "The data ends before the decimal is complete.");
	if (scale > INT32_MAX || negative > 1 || (nlimbs == 0 && negative))
		return kpi_fail(msg, KPI_ERR_BINARY, "The decimal's scale or sign is invalid.");
	d.scale = (int32_t) scale;
	d.nlimbs = (int32_t) nlimbs;
	d.negative = negative;
	if (nlimbs == 0)
	{
		*out = d;
		return KPI_OK;
	}
	st = alloc_limbs(&d.limbs, nlimbs, mem, msg);
	if (st != KPI_OK)
		return st;
	for (int32_t i = d.nlimbs - 1; i >= 0; i--)
		d.limbs[i] = kpi_get_u32(r);
	for (int32_t i = 0; i < d.nlimbs; i++)
		if (d.limbs[i] >= BIGDEC_BASE)
		{
			bigdec_free(&d, mem);
			return kpi_fail(msg, KPI_ERR_BINARY, "A limb of the decimal is not below 10^9.");
		}
	if (d.limbs[d.nlimbs - 1] == 0)
	{
		bigdec_free(&d, mem);
		return kpi_fail(msg, KPI_ERR_BINARY, "The decimal has a zero limb on top.");
	}
	*out = d;
	return KPI_OK;
}
