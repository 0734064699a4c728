/*-------------------------------------------------------------------------
 *
 * fsum.c
 *	  Sum of doubles that knows whether it is still exact (see fsum.h).
 *
 * IDENTIFICATION
 *	  src/core/fsum.c
 *
 *-------------------------------------------------------------------------
 */
#include "fsum.h"

#include <math.h>

/* s + err == a + b exactly (Knuth's TwoSum; needs round-to-nearest). */
static double
two_sum(double a, double b, double *err)
{
	double		s = a + b;
	double		bb = s - a;

	*err = (a - (s - bb)) + (b - bb);
	return s;
}

/*
 * Sets out->hi, out->lo to (s->hi, s->lo) + (vhi, vlo), normalised.
 * Returns false if the result left the range of double; *exact is cleared
 * if any rounding happened.
 */
static bool
add_pair(const fsum *s, double vhi, double vlo, fsum *out, bool *exact)
{
	double		e1,
				e2,
				e3,
				e4;
	double		hi = two_sum(s->hi, vhi, &e1);
	double		lo = two_sum(s->lo, vlo, &e2);
	double		t = two_sum(lo, e1, &e3);

	/* exact sum = hi + t + e2 + e3 */
	out->hi = two_sum(hi, t, &e4);
	out->lo = e4;
	if (!isfinite(out->hi) || !isfinite(out->lo))
		return false;
	if (e2 != 0.0 || e3 != 0.0)
		*exact = false;
	if (out->hi == 0.0)
		out->hi = 0.0;			/* no negative zero: canonical bytes */
	if (out->lo == 0.0)
		out->lo = 0.0;
	return true;
}

kpi_status
fsum_add(fsum *s, double v, kpi_msg *msg)
{
	fsum		next = *s;
	bool		exact = s->exact != 0;

	if (!add_pair(s, v, 0.0, &next, &exact))
		return kpi_fail(msg, KPI_ERR_OVERFLOW, "The sum of the values exceeds the range of double precision.");
	next.exact = exact ? 1 : 0;
	next.count++;
	*s = next;
	return KPI_OK;
}

kpi_status
fsum_remove(fsum *s, double v)
{
	fsum		next = *s;
	bool		exact = true;

	if (!s->exact || s->count == 0)
		return KPI_CANNOT_INVERT;
	if (--next.count == 0)
	{
		next.hi = next.lo = 0.0;
		*s = next;
		return KPI_OK;
	}
	if (!add_pair(s, -v, 0.0, &next, &exact) || !exact)
		return KPI_CANNOT_INVERT;
	*s = next;
	return KPI_OK;
}

kpi_status
fsum_merge(fsum *dst, const fsum *src, kpi_msg *msg)
{
	fsum		next = *dst;
	bool		exact = dst->exact && src->exact;

	if (src->count == 0)
		return KPI_OK;
	if (!add_pair(dst, src->hi, src->lo, &next, &exact))
		return kpi_fail(msg, KPI_ERR_OVERFLOW, "The sum of the values exceeds the range of double precision.");
	next.exact = exact ? 1 : 0;
	next.count = dst->count + src->count;
	*dst = next;
	return KPI_OK;
}

double
fsum_mean(const fsum *s)
{
	double		n = (double) s->count;
	double		q = s->hi / n;

	/* one correction step with the remainder hi - q*n + lo */
	return q + (fma(-q, n, s->hi) + s->lo) / n;
}

bool
fsum_is_valid(const fsum *s)
{
	double		err;

	if (!isfinite(s->hi) || !isfinite(s->lo) || s->count < 0 ||
		(s->exact != 0 && s->exact != 1) || s->reserved != 0)
		return false;
	/* canonical: zero is +0 */
	if ((s->hi == 0.0 && signbit(s->hi)) || (s->lo == 0.0 && signbit(s->lo)))
		return false;
	/* empty: FSUM_EMPTY, the only empty sum that adds and removals make */
	if (s->count == 0)
		return s->hi == 0.0 && s->lo == 0.0 && s->exact == 1;
	/* normalised: hi is the pair rounded to a double */
	return two_sum(s->hi, s->lo, &err) == s->hi && err == s->lo;
}
