/*-------------------------------------------------------------------------
 *
 * unit_strict_alloc.h
 *	  A strict kpi_allocator for the core's unit tests.
 *
 * The cores reach memory only through a kpi_allocator; in PostgreSQL that
 * is palloc, which is stricter than malloc.  This allocator is stricter
 * still, so that tests catch what the server would not forgive:
 * - realloc(NULL) and free(NULL) are refused (repalloc and pfree take no
 *   NULL): each is a violation, and nothing is allocated or freed;
 * - every block starts after a header holding a magic number and its size:
 *   realloc or free of anything but a live block is a violation;
 * - new bytes are filled with 0xA5 (palloc does not zero them), and
 *   realloc always moves the block and frees the old one, so that a stale
 *   pointer shows up under AddressSanitizer;
 * - live blocks are counted: a test that freed what it was given ends
 *   with unit_alloc_live() == 0, else something leaked;
 * - unit_alloc_fail_after(n) makes the allocation or reallocation after n
 *   more succeed fail (NULL), once, to test the out-of-memory paths.
 *
 * Blocks are 16-byte aligned, as malloc's are (the cores need 8).
 *
 * IDENTIFICATION
 *	  test/unit/unit_strict_alloc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_UNIT_STRICT_ALLOC_H
#define KPI_UNIT_STRICT_ALLOC_H

#include "kpi_core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_ALLOC_LIVE 0x6B70692D6C697665ULL	/* "kpi-live" */
#define UNIT_ALLOC_DEAD 0x6B70692D64656164ULL	/* "kpi-dead" */

typedef struct unit_alloc_header
{
	uint64_t	magic;
	uint64_t	size;
} unit_alloc_header;

static long unit_alloc_live_blocks;
static long unit_alloc_violation_count;
static long unit_alloc_countdown = -1;	/* < 0: no failure planned */

static inline unit_alloc_header *
unit_alloc_header_of(void *ptr)
{
	return (unit_alloc_header *) ptr - 1;
}

/* A live block of ours?  (Reads the 16 bytes before ptr.) */
static inline int
unit_alloc_owns(void *ptr)
{
	return ptr != NULL && unit_alloc_header_of(ptr)->magic == UNIT_ALLOC_LIVE;
}

/* True when the planned failure is due now. */
static inline int
unit_alloc_fails_now(void)
{
	if (unit_alloc_countdown < 0)
		return 0;
	return unit_alloc_countdown-- == 0;
}

static void *
unit_strict_alloc(size_t size, void *ctx)
{
	unit_alloc_header *h;

	(void) ctx;
	if (unit_alloc_fails_now())
		return NULL;
	h = malloc(sizeof(unit_alloc_header) + size);
	if (h == NULL)
		return NULL;
	h->magic = UNIT_ALLOC_LIVE;
	h->size = size;
	memset(h + 1, 0xA5, size);
	unit_alloc_live_blocks++;
	return h + 1;
}

static void
unit_strict_free(void *ptr, void *ctx)
{
	unit_alloc_header *h;

	(void) ctx;
	if (!unit_alloc_owns(ptr))
	{
		unit_alloc_violation_count++;
		return;
	}
	h = unit_alloc_header_of(ptr);
	h->magic = UNIT_ALLOC_DEAD;
	unit_alloc_live_blocks--;
	free(h);
}

static void *
unit_strict_realloc(void *ptr, size_t size, void *ctx)
{
	void	   *moved;
	size_t		old;

	if (!unit_alloc_owns(ptr))
	{
		unit_alloc_violation_count++;
		return NULL;
	}
	old = (size_t) unit_alloc_header_of(ptr)->size;
	moved = unit_strict_alloc(size, ctx);
	if (moved == NULL)
		return NULL;			/* ptr stays valid, as with realloc */
	memcpy(moved, ptr, old < size ? old : size);
	unit_strict_free(ptr, ctx);
	return moved;
}

static const kpi_allocator unit_strict_allocator = {
	unit_strict_alloc, unit_strict_realloc, unit_strict_free, NULL, false
};

/* Blocks allocated and not freed. */
static inline long
unit_alloc_live(void)
{
	return unit_alloc_live_blocks;
}

/* realloc(NULL), free(NULL) and other calls on pointers that are not live blocks. */
static inline long
unit_alloc_violations(void)
{
	return unit_alloc_violation_count;
}

/* The allocation after n more successful ones fails; n < 0: none fails. */
static inline void
unit_alloc_fail_after(long n)
{
	unit_alloc_countdown = n;
}

#endif							/* KPI_UNIT_STRICT_ALLOC_H */
