/*-------------------------------------------------------------------------
 *
 * unit_merge.h
 *	  The merge laws as a property test, for any state that compares byte
 *	  for byte.
 *
 * A test describes its state with a unit_merge_ops and calls
 * unit_merge_round as often as it likes.  Each round accumulates a random
 * sequence of values both whole and split into random parts, then checks,
 * byte for byte (same size, then memcmp):
 *   split: merging the parts, in a rotated order, gives the whole;
 *   comm:  a + b = b + a;
 *   assoc: (a + b) + c = a + (b + c);
 *   ident: empty + a = a + empty = a;
 * on the parts a, b and c.  A law that fails, or a merge that does not
 * return KPI_OK, clears that law's flag in unit_merge_ok.
 *
 * States live in malloc'd blocks, which merge and add_random may
 * reallocate (states whose size changes: set size_of).
 *
 * IDENTIFICATION
 *	  test/unit/unit_merge.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_UNIT_MERGE_H
#define KPI_UNIT_MERGE_H

#include "kpi_core.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

typedef struct unit_merge_ops
{
	size_t		size;			/* sizeof a fixed-size state */
	size_t		(*size_of) (const void *state);	/* or NULL: size */
	const void *empty;			/* the empty state */
	/* *into += from; may realloc *into */
	kpi_status	(*merge) (void **into, const void *from);
	/* draws one random value and adds it to both states (may realloc them) */
	void		(*add_random) (void **whole, void **part, void *ctx);
	void	   *ctx;			/* passed to add_random */
} unit_merge_ops;

typedef struct unit_merge_ok
{
	bool		split;
	bool		comm;
	bool		assoc;
	bool		ident;
} unit_merge_ok;

#define UNIT_MERGE_OK_INIT {true, true, true, true}

static inline size_t
unit_merge_size(const unit_merge_ops *ops, const void *state)
{
	return ops->size_of != NULL ? ops->size_of(state) : ops->size;
}

/* A malloc'd copy of a state. */
static inline void *
unit_merge_copy(const unit_merge_ops *ops, const void *state)
{
	size_t		size = unit_merge_size(ops, state);
	void	   *copy = malloc(size);

	if (copy == NULL)
		abort();
	memcpy(copy, state, size);
	return copy;
}

static inline bool
unit_merge_same(const unit_merge_ops *ops, const void *a, const void *b)
{
	size_t		size = unit_merge_size(ops, a);

	return size == unit_merge_size(ops, b) && memcmp(a, b, size) == 0;
}

/* A new malloc'd a + b, or NULL if the merge fails. */
static inline void *
unit_merge_sum(const unit_merge_ops *ops, const void *a, const void *b)
{
	void	   *sum = unit_merge_copy(ops, a);

	if (ops->merge(&sum, b) != KPI_OK)
	{
		free(sum);
		return NULL;
	}
	return sum;
}

/*
 * One round: fewer than max_values values, split into 1 to max_parts
 * parts.
 */
static inline void
unit_merge_round(const unit_merge_ops *ops, int max_values, int max_parts,
				 unit_merge_ok *ok)
{
	int			n = (int) (unit_rng_next() % (uint64_t) max_values);
	int			parts = 1 + (int) (unit_rng_next() % (uint64_t) max_parts);
	void	   *whole = unit_merge_copy(ops, ops->empty);
	void	   *merged = unit_merge_copy(ops, ops->empty);
	void	  **part = malloc(sizeof(void *) * (size_t) parts);
	void	   *ab,
			   *ba,
			   *bc,
			   *ab_c,
			   *a_bc,
			   *ea,
			   *ae;
	const void *a,
			   *b,
			   *c;

	if (part == NULL)
		abort();
	for (int p = 0; p < parts; p++)
		part[p] = unit_merge_copy(ops, ops->empty);
	for (int i = 0; i < n; i++)
		ops->add_random(&whole, &part[unit_rng_next() % (uint64_t) parts], ops->ctx);
	for (int k = 0, start = (int) (unit_rng_next() % (uint64_t) parts); k < parts; k++)
		if (ops->merge(&merged, part[(start + k) % parts]) != KPI_OK)
			ok->split = false;
	if (!unit_merge_same(ops, merged, whole))
		ok->split = false;

	a = part[0];
	b = part[1 % parts];
	c = part[2 % parts];
	ab = unit_merge_sum(ops, a, b);
	ba = unit_merge_sum(ops, b, a);
	if (ab == NULL || ba == NULL || !unit_merge_same(ops, ab, ba))
		ok->comm = false;
	bc = unit_merge_sum(ops, b, c);
	ab_c = ab != NULL ? unit_merge_sum(ops, ab, c) : NULL;
	a_bc = bc != NULL ? unit_merge_sum(ops, a, bc) : NULL;
	if (ab_c == NULL || a_bc == NULL || !unit_merge_same(ops, ab_c, a_bc))
		ok->assoc = false;
	ea = unit_merge_sum(ops, ops->empty, a);
	ae = unit_merge_sum(ops, a, ops->empty);
	if (ea == NULL || ae == NULL || !unit_merge_same(ops, ea, a) || !unit_merge_same(ops, ae, a))
		ok->ident = false;

	free(ab);
	free(ba);
	free(bc);
	free(ab_c);
	free(a_bc);
	free(ea);
	free(ae);
	for (int p = 0; p < parts; p++)
		free(part[p]);
	free(part);
	free(whole);
	free(merged);
}

#endif							/* KPI_UNIT_MERGE_H */
