/*-------------------------------------------------------------------------
 *
 * bigdec.h
 *	  Arbitrary-precision decimals, for exact sums that outgrow 128 bits.
 *
 * A bigdec is the value (-1)^negative * coef * 10^-scale, where coef is a
 * natural number held in base-10^9 limbs, least significant first.  Base
 * 10^9 makes decimal text a matter of writing each limb as nine digits,
 * and multiplying by 10^k is a shift by whole limbs and a small multiply
 * whose result still fits in 64 bits.
 *
 * Canonical form: the top limb is not zero (zero has no limbs at all), and
 * zero is never negative.  Every function returns canonical values and
 * the decoders accept nothing else, so equal values have equal limbs.
 *
 * Functions that make a bigdec allocate its limbs through the allocator
 * they are given, and bigdec_free returns them.  A bigdec can also be a
 * view of limbs that live elsewhere (in a state, or in a caller's buffer):
 * a view is never freed.  Nothing here keeps a pointer to its arguments.
 *
 * IDENTIFICATION
 *	  src/core/bigdec.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_BIGDEC_H
#define KPI_BIGDEC_H

#include "codec.h"

#define BIGDEC_BASE 1000000000u
#define BIGDEC_LIMB_DIGITS 9
/* Limbs of the largest 128-bit magnitude, 2^127 (39 digits). */
#define BIGDEC_INT128_LIMBS 5

typedef struct bigdec
{
	uint32_t   *limbs;			/* least significant first; NULL if none */
	int32_t		nlimbs;			/* no zero limb on top; 0 for zero */
	int32_t		scale;			/* digits after the point, >= 0 */
	bool		negative;		/* never for zero */
} bigdec;

/* v * 10^-scale, a view of buf (which receives the limbs). */
extern void bigdec_from_int128(bigdec *out, __int128 v, int32_t scale,
							   uint32_t buf[BIGDEC_INT128_LIMBS]);

/* Whether the coefficient fits in 128 bits, as (-1)^negative * coef. */
extern bool bigdec_to_int128(const bigdec *a, __int128 *coef);

/*
 * A decimal given in PostgreSQL numeric's digit form: the base-10000
 * digits (native-endian int16, possibly unaligned) of
 * sum(digits[i] * 10000^(weight - i)).  The scale is dscale, or more when
 * nonzero digits reach further (PostgreSQL never stores such numerics,
 * but nothing is lost if one arrives).
 */
extern kpi_status bigdec_from_base10000(bigdec *out, bool negative, int weight,
										int dscale, const void *digits, int ndigits,
										const kpi_allocator *mem, kpi_msg *msg);

/*
 * out = a + b and out = a - b, exactly, at the larger of the two scales.
 * Fails only when memory runs out (KPI_ERR_NOMEM, out untouched).
 */
extern kpi_status bigdec_add(bigdec *out, const bigdec *a, const bigdec *b,
							 const kpi_allocator *mem, kpi_msg *msg);
extern kpi_status bigdec_sub(bigdec *out, const bigdec *a, const bigdec *b,
							 const kpi_allocator *mem, kpi_msg *msg);

/* Decimal digits of the coefficient (0 for zero). */
extern int32_t bigdec_digits(const bigdec *a);

/*
 * Text: the value with exactly scale digits after the point ("-0.050",
 * "12", "0.000"), and back.  bigdec_parse reads [+-]digits[.digits]
 * (".5" too; not "1.", no exponent), scale = the digits after the point.
 */
extern void bigdec_format(const bigdec *a, kpi_strbuf *out);
extern kpi_status bigdec_parse(const char *s, size_t len, bigdec *out,
							   const kpi_allocator *mem, kpi_msg *msg);

/*
 * Binary: u32 scale, u8 negative, u32 nlimbs, then the limbs as u32, most
 * significant first (big-endian, like the rest of the state).  Decoding
 * accepts only canonical values (KPI_ERR_BINARY otherwise).
 */
extern size_t bigdec_encoded_size(const bigdec *a);
extern void bigdec_encode(const bigdec *a, kpi_writer *w);
extern kpi_status bigdec_decode(kpi_reader *r, bigdec *out,
								const kpi_allocator *mem, kpi_msg *msg);

/* Gives back the limbs of a bigdec made by the functions above. */
extern void bigdec_free(bigdec *a, const kpi_allocator *mem);

#endif							/* KPI_BIGDEC_H */
