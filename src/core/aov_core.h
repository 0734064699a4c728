/*-------------------------------------------------------------------------
 *
 * aov_core.h
 *	  Average order value: the state behind kpi.aov and kpi.aov_state.
 *
 * An aov_core is a position-independent struct (it is the payload of the
 * SQL type kpi.aov_state).  It starts empty and takes its kind from the
 * first value: exact (numeric and integer inputs, summed by decsum, so the
 * mean equals avg() to the last digit) or float8 (summed by fsum).  NaN
 * and infinities are counted apart from the sum, as avg() does: any NaN,
 * or both infinities, make the mean NaN; one kind of infinity makes it
 * that infinity.
 *
 * Size.  The decsum of a numeric state is the struct's last member, so
 * when its sum is wide (beyond 128 bits, see decsum.h) the sum's limbs
 * follow the struct and the state has aov_size() bytes instead of
 * sizeof(aov_core).  The _wide functions work on such variable-size
 * states: the state was allocated by the allocator they are given, and
 * they may reallocate it (hence aov_core **).  The other functions work on
 * a fixed-size aov_core (one embedded in another state, as in
 * kpi.aov_lines_state), where a sum that does not fit in 128 bits is
 * KPI_ERR_OVERFLOW; each is its _wide namesake without an allocator.
 *
 * Text form, canonical, fields in this order:
 *	 empty:    (v:1,n:0)
 *	 numeric:  (v:1,kind:numeric,n:3,sum:12.50,max_scale_count:2,nan:0,pinf:0,ninf:0)
 *	 float8:   (v:1,kind:float8,n:3,sum:12.5,sum_lo:0,exact:true,nan:0,pinf:0,ninf:0)
 * where n counts every non-NULL value, NaN and infinities included, and a
 * numeric sum has all its digits, however many.
 *
 * Binary form (big-endian): u8 version, u8 kind (0 empty: nothing follows),
 * i64 n, i64 nan, i64 pinf, i64 ninf, then
 *	 numeric (1):       i128 sum * 10^scale, u32 scale, i64 max_scale_count
 *	 numeric wide (3):  the sum as bigdec_encode writes it, i64 max_scale_count
 *	 float8 (2):        f64 sum, f64 sum_lo, u8 exact
 * A numeric sum is written wide exactly when it does not fit in 128 bits.
 *
 * IDENTIFICATION
 *	  src/core/aov_core.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_AOV_CORE_H
#define KPI_AOV_CORE_H

#include "codec.h"
#include "decsum.h"
#include "fsum.h"

typedef enum aov_kind
{
	AOV_EMPTY = 0,
	AOV_NUMERIC = 1,
	AOV_FLOAT8 = 2
} aov_kind;

/* A value that is not a finite number. */
typedef enum aov_special
{
	AOV_NAN,
	AOV_PINF,
	AOV_NINF
} aov_special;

typedef struct aov_core
{
	int32_t		kind;			/* aov_kind */
	int32_t		reserved;		/* zero */
	int64_t		nan;			/* NaN values */
	int64_t		pinf;			/* +Infinity values */
	int64_t		ninf;			/* -Infinity values */
	union
	{
		decsum		dec;		/* AOV_NUMERIC */
		fsum		flt;		/* AOV_FLOAT8 */
	}			sum;			/* all zero while AOV_EMPTY */
} aov_core;

/* What the mean of a state is. */
typedef enum aov_outcome
{
	AOV_NO_VALUES,				/* empty: the mean is NULL */
	AOV_MEAN_NAN,
	AOV_MEAN_PINF,
	AOV_MEAN_NINF,
	AOV_MEAN_FINITE				/* sum / count of the finite values */
} aov_outcome;

/* The empty state (of sizeof(aov_core) bytes). */
extern void aov_init(aov_core *s);
/* Bytes of a state, its wide sum included. */
extern size_t aov_size(const aov_core *s);

/*
 * Each count (finite values, NaN, +Infinity, -Infinity) stays at most
 * this, so that n, their sum, cannot overflow: a transition that would
 * pass it fails with KPI_ERR_OVERFLOW, and input beyond it is rejected.
 */
#define AOV_MAX_COUNT (INT64_MAX / 4)

/* Transition: add one value; `remove` variants undo it (moving frames). */
extern kpi_status aov_add_decimal_any(aov_core **s, const decsum_decimal *d,
									  const kpi_allocator *mem, kpi_msg *msg);

/*
 * aov_add_decimal_any, inline for the common case: an amount that
 * decsum_add_small_decimal takes, added to a numeric state with room for
 * one more value, costs a transition function no call.
 */
static inline kpi_status
aov_add_decimal_wide(aov_core **s, const decsum_decimal *d, const kpi_allocator *mem,
					 kpi_msg *msg)
{
	aov_core   *state = *s;

	if (state->kind == AOV_NUMERIC && state->sum.dec.count < AOV_MAX_COUNT &&
		decsum_add_small_decimal(&state->sum.dec, d))
		return KPI_OK;
	return aov_add_decimal_any(s, d, mem, msg);
}

extern kpi_status aov_add_int64_wide(aov_core **s, int64_t v, const kpi_allocator *mem,
									 kpi_msg *msg);
extern kpi_status aov_remove_decimal_wide(aov_core **s, const decsum_decimal *d,
										  const kpi_allocator *mem, kpi_msg *msg);
extern kpi_status aov_remove_int64_wide(aov_core **s, int64_t v, const kpi_allocator *mem,
										kpi_msg *msg);
extern kpi_status aov_add_int64(aov_core *s, int64_t v, kpi_msg *msg);

/* aov_add_decimal_wide on a state that keeps its size (no allocator). */
static inline kpi_status
aov_add_decimal(aov_core *s, const decsum_decimal *d, kpi_msg *msg)
{
	return aov_add_decimal_wide(&s, d, NULL, msg);
}

extern kpi_status aov_add_float8(aov_core *s, double v, kpi_msg *msg);
extern kpi_status aov_add_special(aov_core *s, aov_kind kind, aov_special which, kpi_msg *msg);
extern kpi_status aov_remove_decimal(aov_core *s, const decsum_decimal *d, kpi_msg *msg);
extern kpi_status aov_remove_int64(aov_core *s, int64_t v, kpi_msg *msg);
extern kpi_status aov_remove_float8(aov_core *s, double v, kpi_msg *msg);
extern kpi_status aov_remove_special(aov_core *s, aov_kind kind, aov_special which, kpi_msg *msg);

/* dst += src; KPI_ERR_MISMATCH when one is numeric and the other float8. */
extern kpi_status aov_merge_wide(aov_core **dst, const aov_core *src,
								 const kpi_allocator *mem, kpi_msg *msg);
extern kpi_status aov_merge(aov_core *dst, const aov_core *src, kpi_msg *msg);

extern aov_outcome aov_result(const aov_core *s);
/* Number of non-NULL values, NaN and infinities included. */
extern int64_t aov_count(const aov_core *s);

/*
 * Codecs (see codec.h for the conventions).  The _wide decoders allocate
 * the state through mem (nothing is left allocated when they fail).
 */
extern kpi_status aov_parse_wide(const char *text, const kpi_allocator *mem, aov_core **out,
								 kpi_msg *msg);
extern kpi_status aov_parse(const char *text, aov_core *s, kpi_msg *msg);
extern void aov_format(const aov_core *s, kpi_strbuf *out);
extern size_t aov_encoded_size(const aov_core *s);
extern void aov_encode(const aov_core *s, kpi_writer *w);
extern kpi_status aov_decode_wide(kpi_reader *r, const kpi_allocator *mem, aov_core **out,
								  kpi_msg *msg);
extern kpi_status aov_decode(kpi_reader *r, aov_core *s, kpi_msg *msg);

#endif							/* KPI_AOV_CORE_H */
