/*-------------------------------------------------------------------------
 *
 * numeric_digits.h
 *	  Read a numeric Datum's digits in place, without a copy or palloc.
 *
 * IDENTIFICATION
 *	  src/numeric_digits.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_NUMERIC_DIGITS_H
#define KPI_NUMERIC_DIGITS_H

#include "postgres.h"

#include "decsum.h"

/* What kind of number a numeric holds. */
typedef enum kpi_numeric_class
{
	KPI_NUMERIC_FINITE,
	KPI_NUMERIC_NAN,
	KPI_NUMERIC_PINF,
	KPI_NUMERIC_NINF
} kpi_numeric_class;

/*
 * Classify a numeric datum and, when finite, point *out at its digits.
 * The digits stay valid as long as the datum does.
 */
extern kpi_numeric_class kpi_numeric_digits(Datum num, decsum_decimal *out);

/* A numeric with the value sum * 10^-scale and display scale `scale`. */
extern Datum kpi_numeric_from_scaled(kpi_int128 sum, int32 scale);

/* A numeric with a decsum's sum as value and its scale as display scale. */
extern Datum kpi_numeric_from_decsum(const decsum *s);

#endif							/* KPI_NUMERIC_DIGITS_H */
