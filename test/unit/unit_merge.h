/*-------------------------------------------------------------------------
 *
 * unit_merge.h
 *	  The merge laws as a property test, for any state that compares byte
 *	  for byte.
 *
 * A test describes its state with a unit_merge_ops and calls
 * unit_merge_round as often as it likes.  Each round accumulates a random
 * sequence of values both whole and split into random parts, then checks,
 * byte for byte (memcmp):
 *   split: merging the parts, in a rotated order, gives the whole;
 *   comm:  a + b = b + a;
 *   assoc: (a + b) + c = a + (b + c);
 *   ident: empty + a = a + empty = a;
 * on the parts a, b and c.  A law that fails, or a merge that does not
 * return KPI_OK, clears that law's flag in unit_merge_ok.
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
	size_t		size;			/* sizeof the state */
	const void *empty;			/* the empty state */
	/* into += from */
	kpi_status	(*merge) (void *into, const void *from);
	/* draws one random value and adds it to both states */
	void		(*add_random) (void *whole, void *part, void *ctx);
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

/* into = a + b; false if the merge fails */
static inline bool
unit_merge_sum(const unit_merge_ops *ops, void *into, const void *a, const void *b)
{
	memcpy(into, a, ops->size);
	return ops->merge(into, b) == KPI_OK;
}

/*
 * One round: fewer than max_values values, split into 1 to max_parts
 * parts.
 */
static inline void
unit_merge_round(const unit_merge_ops *ops, int max_values, int max_parts,
				 unit_merge_ok *ok)
{
	size_t		size = ops->size;
	int			n = (int) (unit_rng_next() % (uint64_t) max_values);
	int			parts = 1 + (int) (unit_rng_next() % (uint64_t) max_parts);
	unsigned char *mem = malloc(size * (size_t) (8 + parts));
	unsigned char *whole,
			   *merged,
			   *ab,
			   *ba,
			   *bc,
			   *a_bc,
			   *ea,
			   *ae,
			   *part;
	const unsigned char *a,
			   *b,
			   *c;

	if (mem == NULL)
		abort();
	whole = mem;
	merged = mem + size;
	ab = mem + 2 * size;
	ba = mem + 3 * size;
	bc = mem + 4 * size;
	a_bc = mem + 5 * size;
	ea = mem + 6 * size;
	ae = mem + 7 * size;
	part = mem + 8 * size;
	a = part;
	b = part + size * (size_t) (1 % parts);
	c = part + size * (size_t) (2 % parts);
	memcpy(whole, ops->empty, size);
	memcpy(merged, ops->empty, size);
	for (int p = 0; p < parts; p++)
		memcpy(part + size * (size_t) p, ops->empty, size);
	for (int i = 0; i < n; i++)
		ops->add_random(whole, part + size * (unit_rng_next() % (uint64_t) parts), ops->ctx);
	for (int k = 0, start = (int) (unit_rng_next() % (uint64_t) parts); k < parts; k++)
		if (ops->merge(merged, part + size * (size_t) ((start + k) % parts)) != KPI_OK)
			ok->split = false;
	if (memcmp(merged, whole, size) != 0)
		ok->split = false;

	if (!unit_merge_sum(ops, ab, a, b) || !unit_merge_sum(ops, ba, b, a) || memcmp(ab, ba, size) != 0)
		ok->comm = false;
	/* ab becomes (a + b) + c */
	if (ops->merge(ab, c) != KPI_OK || !unit_merge_sum(ops, bc, b, c) ||
		!unit_merge_sum(ops, a_bc, a, bc) || memcmp(ab, a_bc, size) != 0)
		ok->assoc = false;
	if (!unit_merge_sum(ops, ea, ops->empty, a) || !unit_merge_sum(ops, ae, a, ops->empty) ||
		memcmp(ea, a, size) != 0 || memcmp(ae, a, size) != 0)
		ok->ident = false;
	free(mem);
}

#endif							/* KPI_UNIT_MERGE_H */
