/*-------------------------------------------------------------------------
 *
 * numeric_digits.c
 *	  Numerics made from exact sums; reading a numeric's digits is inline
 *	  in numeric_digits.h.
 *
 * IDENTIFICATION
 *	  src/numeric_digits.c
 *
 *-------------------------------------------------------------------------
 */
#include "numeric_digits.h"

#include "kpi.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

Datum
kpi_numeric_from_scaled(kpi_int128 sum, int32 scale)
{
	char	   *text = palloc(DECSUM_TEXT_SIZE(scale));

	decsum_format(sum, scale, text);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(text),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

Datum
kpi_numeric_from_decsum(const decsum *s)
{
	kpi_strbuf	text;

	kpi_strbuf_init(&text, &kpi_palloc_allocator);
	decsum_append_sum(s, &text);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(text.data),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}
