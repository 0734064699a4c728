/*-------------------------------------------------------------------------
 *
 * fsum.h
 *	  Sum of doubles that knows whether it is still exact.
 *
 * The sum is kept as an unevaluated pair hi + lo (double-double).  Each
 * addition uses error-free transformations, so as long as no rounding
 * happens the pair is the exact sum of the inputs, and the flag `exact`
 * stays set: realistic amounts (a few hundred thousand values with cents)
 * never round.  Removing a value (moving window frames) is only done
 * while the sum is exact and the removal itself is exact; otherwise it
 * answers KPI_CANNOT_INVERT and the caller recomputes the frame, so a
 * moving aggregate never drifts from a fresh one.
 *
 * Only finite values are added; callers count NaN and infinities.
 *
 * IDENTIFICATION
 *	  src/core/fsum.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_FSUM_H
#define KPI_FSUM_H

#include "kpi_core.h"

typedef struct fsum
{
	double		hi;				/* the sum rounded to a double */
	double		lo;				/* what hi misses, |lo| <= ulp(hi) / 2 */
	int64_t		count;			/* number of values in the sum */
	int32_t		exact;			/* 1 while hi + lo is the exact sum */
	int32_t		reserved;		/* zero */
} fsum;

#define FSUM_EMPTY {0.0, 0.0, 0, 1, 0}

/* Adds a finite value; KPI_ERR_OVERFLOW if the sum leaves double's range. */
extern kpi_status fsum_add(fsum *s, double v, kpi_msg *msg);
/* Removes a value added before; KPI_CANNOT_INVERT unless exact. */
extern kpi_status fsum_remove(fsum *s, double v);
/* dst += src */
extern kpi_status fsum_merge(fsum *dst, const fsum *src, kpi_msg *msg);
/* The mean sum / count, rounded once more than the sum; count > 0. */
extern double fsum_mean(const fsum *s);
/* Whether hi, lo, count and exact form a state fsum could have made. */
extern bool fsum_is_valid(const fsum *s);

#endif							/* KPI_FSUM_H */
