/*-------------------------------------------------------------------------
 *
 * unit_alloc.h
 *	  An allocator that runs out of memory on demand, for the core's unit
 *	  tests.
 *
 * unit_failing_allocator allocates with malloc until unit_alloc_left
 * allocations (alloc or realloc) have been made, then returns NULL: a
 * test sets unit_alloc_left and checks that the code under test fails
 * with KPI_ERR_NOMEM, leaves its output as it was, and leaks nothing
 * (ASan).
 *
 * IDENTIFICATION
 *	  test/unit/unit_alloc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_UNIT_ALLOC_H
#define KPI_UNIT_ALLOC_H

#include "kpi_core.h"

#include <stdlib.h>

static int	unit_alloc_left;

static inline void *
unit_failing_alloc(size_t size, void *ctx)
{
	(void) ctx;
	return unit_alloc_left-- > 0 ? malloc(size) : NULL;
}

static inline void *
unit_failing_realloc(void *ptr, size_t size, void *ctx)
{
	(void) ctx;
	return unit_alloc_left-- > 0 ? realloc(ptr, size) : NULL;
}

static inline void
unit_failing_free(void *ptr, void *ctx)
{
	(void) ctx;
	free(ptr);
}

static const kpi_allocator unit_failing_allocator = {
	unit_failing_alloc, unit_failing_realloc, unit_failing_free, NULL, false
};

#endif							/* KPI_UNIT_ALLOC_H */
