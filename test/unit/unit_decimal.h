/*-------------------------------------------------------------------------
 *
 * unit_decimal.h
 *	  Decimal helpers shared by the core's unit tests.
 *
 * unit_i128_text writes a 128-bit integer in decimal from printf'd pieces
 * of 18 digits, an independent reference for the core's own writers.
 * unit_make_decimal builds the base-10000 digit form in which PostgreSQL
 * hands a numeric to the glue (decsum_decimal) from decimal text, so tests
 * can feed decimals to the cores the way the server does.
 *
 * IDENTIFICATION
 *	  test/unit/unit_decimal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_UNIT_DECIMAL_H
#define KPI_UNIT_DECIMAL_H

#include "decsum.h"

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

#define UNIT_DECIMAL_MAX_GROUPS 40

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
 * Builds t from decimal text ("-123.4500", "+7", "007"; at most 160
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

#endif							/* KPI_UNIT_DECIMAL_H */
