/*-------------------------------------------------------------------------
 *
 * unit_decimal.h
 *	  Decimal helpers shared by the core's unit tests.
 *
 * unit_i128_text writes a 128-bit integer in decimal from printf'd pieces
 * of 18 digits, an independent reference for the core's own writers, and
 * unit_i128_scaled_text puts a decimal point into those digits.
 * unit_make_decimal builds the base-10000 digit form in which PostgreSQL
 * hands a numeric to the glue (decsum_decimal) from decimal text, so tests
 * can feed decimals to the cores the way the server does.  unit_ref is a
 * naive decimal adder working digit by digit on text, the reference for
 * exact sums of any size (no 128-bit or limb arithmetic in it).
 *
 * IDENTIFICATION
 *	  test/unit/unit_decimal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_UNIT_DECIMAL_H
#define KPI_UNIT_DECIMAL_H

#include "decsum.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

/* v in decimal ("-170141183460469231731687303715884105728"); out needs 41 bytes. */
static inline void
unit_i128_text(__int128 v, char *out)
{
	unsigned __int128 u = v < 0 ? -(unsigned __int128) v : (unsigned __int128) v;
	const unsigned __int128 e18 = 1000000000000000000ull;

	if (v < 0)
		*out++ = '-';
	if (u / e18 / e18 != 0)
		sprintf(out, "%llu%018llu%018llu", (unsigned long long) (u / e18 / e18),
				(unsigned long long) (u / e18 % e18), (unsigned long long) (u % e18));
	else if (u / e18 != 0)
		sprintf(out, "%llu%018llu", (unsigned long long) (u / e18), (unsigned long long) (u % e18));
	else
		sprintf(out, "%llu", (unsigned long long) u);
}

/*
 * v * 10^-scale written with exactly scale digits after the point, from
 * unit_i128_text's digits ("-0.050" for -50 at scale 3); out needs
 * scale + 44 bytes.
 */
static inline void
unit_i128_scaled_text(__int128 v, int scale, char *out)
{
	char		digits[48];
	const char *mag;
	int			len;

	unit_i128_text(v, digits);
	mag = digits[0] == '-' ? digits + 1 : digits;
	len = (int) strlen(mag);
	if (v < 0)
		*out++ = '-';
	if (len > scale)
	{
		memcpy(out, mag, (size_t) (len - scale));
		out += len - scale;
	}
	else
		*out++ = '0';
	if (scale > 0)
	{
		*out++ = '.';
		for (int k = 0; k < scale - len; k++)
			*out++ = '0';
		strcpy(out, len > scale ? mag + len - scale : mag);
	}
	else
		*out = '\0';
}

#define UNIT_DECIMAL_MAX_GROUPS 400

/*
 * A decimal in numeric's form: base-10000 digits with leading and trailing
 * zero groups stripped, dscale = digits written after the point.  The
 * int16 digits sit at an odd address, as they may in a packed datum.
 */
typedef struct unit_decimal
{
	decsum_decimal d;
	unsigned char raw[1 + 2 * UNIT_DECIMAL_MAX_GROUPS];
} unit_decimal;

/*
 * Builds t from decimal text ("-123.4500", "+7", "007"; at most 1600
 * digits) and returns its decsum_decimal, which points into t.
 */
static inline const decsum_decimal *
unit_make_decimal(unit_decimal *t, const char *s)
{
	int16_t		groups[UNIT_DECIMAL_MAX_GROUPS];
	int			ngroups = 0;
	const char *point;
	const char *intstart;
	int			intlen,
				fraclen,
				intgroups,
				first = 0;

	memset(t, 0, sizeof(*t));
	t->d.negative = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	while (*s == '0' && s[1] != '\0' && s[1] != '.')
		s++;
	intstart = s;
	point = strchr(s, '.');
	intlen = point ? (int) (point - s) : (int) strlen(s);
	fraclen = point ? (int) strlen(point + 1) : 0;
	intgroups = (intlen + 3) / 4;
	/* integer digits, right-aligned in groups of four */
	for (int g = 0; g < intgroups; g++)
	{
		int			v = 0;

		for (int k = 0; k < 4; k++)
		{
			int			pos = intlen - 4 * (intgroups - g) + k;

			v = v * 10 + (pos >= 0 ? intstart[pos] - '0' : 0);
		}
		groups[ngroups++] = (int16_t) v;
	}
	/* fraction digits, left-aligned */
	for (int g = 0; g < (fraclen + 3) / 4; g++)
	{
		int			v = 0;

		for (int k = 0; k < 4; k++)
		{
			int			pos = 4 * g + k;

			v = v * 10 + (pos < fraclen ? point[1 + pos] - '0' : 0);
		}
		groups[ngroups++] = (int16_t) v;
	}
	t->d.weight = intgroups - 1;
	t->d.dscale = fraclen;
	while (first < ngroups && groups[first] == 0)
	{
		first++;
		t->d.weight--;
	}
	while (ngroups > first && groups[ngroups - 1] == 0)
		ngroups--;
	t->d.ndigits = ngroups - first;
	if (t->d.ndigits == 0)
	{
		t->d.weight = 0;
		t->d.negative = false;
	}
	memcpy(t->raw + 1, groups + first, sizeof(int16_t) * (size_t) t->d.ndigits);
	t->d.digits = t->raw + 1;
	return &t->d;
}

/* ------------------------------------------------ reference decimal adder */

#define UNIT_REF_LEN 1600		/* digits in all */
#define UNIT_REF_FRAC 700		/* of which after the point */
#define UNIT_REF_TEXT (UNIT_REF_LEN + 3)	/* bytes of its text */

/* Ten's complement fixed point: d[0] is the 10^-UNIT_REF_FRAC digit. */
typedef struct unit_ref
{
	unsigned char d[UNIT_REF_LEN];
} unit_ref;

/* a += b */
static inline void
unit_ref_add(unit_ref *a, const unit_ref *b)
{
	int			carry = 0;

	for (int i = 0; i < UNIT_REF_LEN; i++)
	{
		int			t = a->d[i] + b->d[i] + carry;

		carry = t >= 10;
		a->d[i] = (unsigned char) (carry ? t - 10 : t);
	}
}

static inline void
unit_ref_negate(unit_ref *a)
{
	unit_ref	one = {{0}};

	for (int i = 0; i < UNIT_REF_LEN; i++)
		a->d[i] = (unsigned char) (9 - a->d[i]);
	one.d[0] = 1;
	unit_ref_add(a, &one);
}

/* a -= b */
static inline void
unit_ref_sub(unit_ref *a, const unit_ref *b)
{
	unit_ref	neg = *b;

	unit_ref_negate(&neg);
	unit_ref_add(a, &neg);
}

/* "-123.4500" -> ref */
static inline void
unit_ref_from_text(unit_ref *r, const char *s)
{
	bool		neg = *s == '-';
	const char *point;
	const char *intend;

	memset(r, 0, sizeof(*r));
	if (*s == '-' || *s == '+')
		s++;
	point = strchr(s, '.');
	intend = point ? point : s + strlen(s);
	for (const char *p = intend - 1; p >= s; p--)
		r->d[UNIT_REF_FRAC + (intend - 1 - p)] = (unsigned char) (*p - '0');
	if (point)
		for (int j = 0; point[1 + j] != '\0'; j++)
			r->d[UNIT_REF_FRAC - 1 - j] = (unsigned char) (point[1 + j] - '0');
	if (neg)
		unit_ref_negate(r);
}

/*
 * ref -> text with exactly scale digits after the point, as numeric
 * writes it ("-0.50", "0"); "?" if nonzero digits reach further.  out
 * needs UNIT_REF_TEXT bytes.
 */
static inline void
unit_ref_to_text(const unit_ref *r, int scale, char *out)
{
	unit_ref	m = *r;
	bool		neg = m.d[UNIT_REF_LEN - 1] >= 5;
	bool		zero = true;
	int			top = UNIT_REF_FRAC;
	char	   *p = out;

	if (neg)
		unit_ref_negate(&m);
	for (int i = 0; i < UNIT_REF_FRAC - scale; i++)
		if (m.d[i] != 0)
		{
			strcpy(out, "?");
			return;
		}
	for (int i = 0; i < UNIT_REF_LEN; i++)
		zero = zero && m.d[i] == 0;
	for (int i = UNIT_REF_LEN - 1; i >= UNIT_REF_FRAC; i--)
		if (m.d[i] != 0)
		{
			top = i;
			break;
		}
	if (neg && !zero)
		*p++ = '-';
	for (int i = top; i >= UNIT_REF_FRAC; i--)
		*p++ = (char) ('0' + m.d[i]);
	if (scale > 0)
	{
		*p++ = '.';
		for (int i = UNIT_REF_FRAC - 1; i >= UNIT_REF_FRAC - scale; i--)
			*p++ = (char) ('0' + m.d[i]);
	}
	*p = '\0';
}

/*
 * A random decimal with up to maxint integer and maxfrac fraction digits
 * (each count drawn uniformly; a leading zero only for "0"); out needs
 * maxint + maxfrac + 4 bytes.
 */
static inline void
unit_random_decimal(char *out, int maxint, int maxfrac)
{
	int			nint = (int) (unit_rng_next() % (uint64_t) (maxint + 1));
	int			nfrac = (int) (unit_rng_next() % (uint64_t) (maxfrac + 1));

	if (unit_rng_next() % 2)
		*out++ = '-';
	if (nint == 0)
		*out++ = '0';
	for (int i = 0; i < nint; i++)
		*out++ = (char) ('0' + (i == 0 ? 1 + unit_rng_next() % 9 : unit_rng_next() % 10));
	if (nfrac > 0)
	{
		*out++ = '.';
		for (int i = 0; i < nfrac; i++)
			*out++ = (char) ('0' + unit_rng_next() % 10);
	}
	*out = '\0';
}

/* Digits after the point of decimal text. */
static inline int
unit_text_scale(const char *text)
{
	const char *point = strchr(text, '.');

	return point ? (int) strlen(point + 1) : 0;
}

#endif							/* KPI_UNIT_DECIMAL_H */
