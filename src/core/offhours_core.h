/*-------------------------------------------------------------------------
 *
 * offhours_core.h
 *	  Off-hours share: the state behind kpi.offhours_share and
 *	  kpi.offhours_state.
 *
 * An offhours_core counts rows and the rows among them that fall outside
 * business hours (which rows those are is the calendar's business, not
 * this state's).  It starts empty and takes its kind from the first row:
 * plain row counts (kpi.offhours_share(ordered_at, calendar)), or row
 * counts plus exact decimal sums of a weight
 * (kpi.offhours_share(ordered_at, calendar, weight)), kept by decsum so the
 * weighted share equals the plain SQL sum(weight) ratio to the last digit.
 * The two kinds do not mix.
 *
 * Weights may be negative (credit notes net out revenue), so a weighted
 * share can leave [0, 1]; a zero total weight has no share.  NaN and
 * infinite weights are the glue's to refuse: they never reach this state.
 *
 * Text form, canonical, fields in this order:
 *	 empty:     (v:1,n:0)
 *	 rows:      (v:1,kind:rows,n:40,off:12)
 *	 weighted:  (v:1,kind:weighted,n:40,off:12,weight:1234.50,max_scale_count:3,
 *				 off_weight:100.00,off_max_scale_count:1)
 * n counts every row, off the off-hours rows; weight and off_weight are
 * their weight sums, and the max_scale_counts the decsum bookkeeping that
 * lets moving window frames remove rows exactly.
 *
 * IDENTIFICATION
 *	  src/core/offhours_core.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_OFFHOURS_CORE_H
#define KPI_OFFHOURS_CORE_H

#include "codec.h"
#include "decsum.h"

typedef enum offhours_kind
{
	OFFHOURS_EMPTY = 0,
	OFFHOURS_ROWS = 1,
	OFFHOURS_WEIGHTED = 2
} offhours_kind;

typedef struct offhours_core
{
	int32_t		kind;			/* offhours_kind */
	int32_t		reserved;		/* zero */
	int64_t		rows;			/* rows counted */
	int64_t		off_rows;		/* of which outside business hours */
	decsum		weight;			/* OFFHOURS_WEIGHTED: weights of all rows */
	decsum		off_weight;		/* OFFHOURS_WEIGHTED: weights of off-hours rows */
} offhours_core;

extern void offhours_init(offhours_core *s);

/*
 * Transitions: count one row, off-hours or not, with a weight for the
 * weighted kind.  KPI_ERR_MISMATCH if the state has the other kind,
 * KPI_ERR_OVERFLOW if a weight sum leaves decsum's 38 digits.  The remove
 * variants undo an add for moving window frames; KPI_CANNOT_INVERT when
 * that cannot be done exactly (the caller then recomputes the frame).
 * On failure the state is unchanged.
 */
extern kpi_status offhours_add(offhours_core *s, bool off, kpi_msg *msg);
extern kpi_status offhours_add_weighted(offhours_core *s, bool off,
										const decsum_decimal *weight, kpi_msg *msg);
extern kpi_status offhours_remove(offhours_core *s, bool off);
extern kpi_status offhours_remove_weighted(offhours_core *s, bool off,
										   const decsum_decimal *weight, kpi_msg *msg);

/* dst += src; KPI_ERR_MISMATCH when one is weighted and the other not. */
extern kpi_status offhours_merge(offhours_core *dst, const offhours_core *src, kpi_msg *msg);

/*
 * offhours_row_share
 *	  off_rows / rows, correctly rounded (both are below 2^53 in any real
 *	  table); false for a state without rows.
 */
extern bool offhours_row_share(const offhours_core *s, double *share);

/* Codecs (see codec.h for the conventions). */
extern kpi_status offhours_parse(const char *text, offhours_core *s, kpi_msg *msg);
extern void offhours_format(const offhours_core *s, kpi_strbuf *out);
extern size_t offhours_encoded_size(const offhours_core *s);
extern void offhours_encode(const offhours_core *s, kpi_writer *w);
extern kpi_status offhours_decode(kpi_reader *r, offhours_core *s, kpi_msg *msg);

#endif							/* KPI_OFFHOURS_CORE_H */
