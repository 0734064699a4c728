/*-------------------------------------------------------------------------
 *
 * numeric_digits.h
 *	  Read a numeric Datum's digits in place, without a copy or palloc.
 *
 * Summing numerics through numeric_add would palloc a result per row; the
 * transition functions instead read the digits and add them into an exact
 * sum (decsum), an int128 while it fits.  PostgreSQL's numeric.h does not
 * expose the layout, so it is decoded here from the on-disk format, which
 * pg_upgrade guarantees stable across releases
 * (src/backend/utils/adt/numeric.c, "NumericData"):
 *
 *	 varlena header, then either
 *	 short:  uint16 header = 1 0 sign dscale(6) weight-sign weight(6)
 *	 long:   uint16 sign(2) dscale(14), int16 weight
 *	 special (NaN, +-Infinity): uint16 header 11xx..., no digits
 *	 followed by base-10000 int16 digits, most significant first.
 *
 * Values reach us with a 4-byte or a 1-byte varlena header (packed in a
 * tuple); only compressed or external values need detoasting.
 *
 * kpi_numeric_digits is inline: transition functions call it on every row.
 *
 * IDENTIFICATION
 *	  src/numeric_digits.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_NUMERIC_DIGITS_H
#define KPI_NUMERIC_DIGITS_H

#include "postgres.h"

#include "fmgr.h"

#include "decsum.h"

/* What kind of number a numeric holds. */
typedef enum kpi_numeric_class
{
	KPI_NUMERIC_FINITE,
	KPI_NUMERIC_NAN,
	KPI_NUMERIC_PINF,
	KPI_NUMERIC_NINF
} kpi_numeric_class;

/* The header bits, as numeric.c names them (it does not export them). */
#define NUMERIC_SIGN_MASK		0xC000
#define NUMERIC_NEG				0x4000
#define NUMERIC_SHORT			0x8000
#define NUMERIC_SPECIAL			0xC000
#define NUMERIC_EXT_SIGN_MASK	0xF000
#define NUMERIC_NAN				0xC000
#define NUMERIC_PINF			0xD000
#define NUMERIC_NINF			0xF000
#define NUMERIC_SHORT_SIGN_MASK			0x2000
#define NUMERIC_SHORT_DSCALE_MASK		0x1F80
#define NUMERIC_SHORT_DSCALE_SHIFT		7
#define NUMERIC_SHORT_WEIGHT_SIGN_MASK	0x0040
#define NUMERIC_SHORT_WEIGHT_MASK		0x003F
#define NUMERIC_DSCALE_MASK		0x3FFF

/*
 * Classify a numeric datum and, when finite, point *out at its digits.
 * The digits stay valid as long as the datum does.
 */
static inline kpi_numeric_class
kpi_numeric_digits(Datum num, decsum_decimal *out)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(num);
	const char *data;
	size_t		len;
	uint16		header;

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		v = pg_detoast_datum(v);
	data = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	if (len < sizeof(uint16))
		elog(ERROR, "numeric datum of %zu bytes is too short", len);
	memcpy(&header, data, sizeof(header));

	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SPECIAL)
	{
		switch (header & NUMERIC_EXT_SIGN_MASK)
		{
			case NUMERIC_PINF:
				return KPI_NUMERIC_PINF;
			case NUMERIC_NINF:
				return KPI_NUMERIC_NINF;
			default:
				Assert((header & NUMERIC_EXT_SIGN_MASK) == NUMERIC_NAN);
				return KPI_NUMERIC_NAN;
		}
	}
	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SHORT)
	{
		out->negative = (header & NUMERIC_SHORT_SIGN_MASK) != 0;
		out->dscale = (header & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT;
		out->weight = (header & NUMERIC_SHORT_WEIGHT_MASK) |
			((header & NUMERIC_SHORT_WEIGHT_SIGN_MASK) ? ~NUMERIC_SHORT_WEIGHT_MASK : 0);
		data += sizeof(uint16);
		len -= sizeof(uint16);
	}
	else
	{
		int16		weight;

		if (len < sizeof(uint16) + sizeof(int16))
			elog(ERROR, "numeric datum of %zu bytes is too short", len);
		out->negative = (header & NUMERIC_SIGN_MASK) == NUMERIC_NEG;
		out->dscale = header & NUMERIC_DSCALE_MASK;
		memcpy(&weight, data + sizeof(uint16), sizeof(weight));
		out->weight = weight;
		data += sizeof(uint16) + sizeof(int16);
		len -= sizeof(uint16) + sizeof(int16);
	}
	out->ndigits = (int) (len / sizeof(int16));
	out->digits = data;
	return KPI_NUMERIC_FINITE;
}

/* A numeric with the value sum * 10^-scale and display scale `scale`. */
extern Datum kpi_numeric_from_scaled(kpi_int128 sum, int32 scale);

/* A numeric with a decsum's sum as value and its scale as display scale. */
extern Datum kpi_numeric_from_decsum(const decsum *s);

#endif							/* KPI_NUMERIC_DIGITS_H */
