/*-------------------------------------------------------------------------
 *
 * kpi_core.h
 *	  Shared definitions of kpi's pure-C core.
 *
 * The core never includes postgres.h and never longjmps: every function
 * that can fail returns a kpi_status, and the PostgreSQL glue turns it into
 * an ereport through kpi_report() (src/kpi.c).  A function may also fill a
 * kpi_msg with a detail sentence for the user ("unknown field "foo"").
 *
 * IDENTIFICATION
 *	  src/core/kpi_core.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_CORE_H
#define KPI_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Outcome of a core operation; the comment names the SQLSTATE it maps to. */
typedef enum kpi_status
{
	KPI_OK = 0,
	KPI_ERR_OVERFLOW,			/* 22003 numeric_value_out_of_range */
	KPI_ERR_PARAM,				/* 22023 invalid_parameter_value */
	KPI_ERR_MISMATCH,			/* 22023: states that cannot be merged */
	KPI_ERR_TEXT,				/* 22P02 invalid_text_representation */
	KPI_ERR_BINARY,				/* 22P03 invalid_binary_representation */
	KPI_ERR_VERSION,			/* 0A000 feature_not_supported */
	KPI_ERR_NOMEM,				/* 53200 out_of_memory */
	KPI_ERR_LIMIT,				/* 54000 program_limit_exceeded: a state
								 * would pass the 1 GB of a varlena */
	KPI_CANNOT_INVERT			/* not an error: an inverse transition cannot
								 * be done exactly; the glue returns NULL so
								 * the executor recomputes the window frame */
} kpi_status;

/* An optional detail sentence that goes with a non-OK status. */
typedef struct kpi_msg
{
	char		text[256];
} kpi_msg;

/* Fill msg (if not NULL) with a printf-style detail; returns status. */
extern kpi_status kpi_fail(kpi_msg *msg, kpi_status status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/*
 * Memory for variable-size states is obtained through these callbacks, so
 * the core allocates with palloc inside PostgreSQL and malloc in unit tests
 * (the lwgeom_set_handlers pattern).  alloc and realloc return NULL on
 * failure; the PostgreSQL versions never do (palloc raises instead).
 */
typedef struct kpi_allocator
{
	void	   *(*alloc) (size_t size, void *ctx);
	void	   *(*realloc) (void *ptr, size_t size, void *ctx);
	void		(*free) (void *ptr, void *ctx);
	void	   *ctx;

	/*
	 * True when the caller hands over the buffer that a core function
	 * updates through a pointer to it (custset_add, custset_merge): the
	 * function may then realloc it, or free it when it replaces it.  False
	 * (the usual case) when the caller frees a replaced buffer itself.
	 */
	bool		in_place;
} kpi_allocator;

/* malloc-based allocator, used by unit tests and tools. */
extern const kpi_allocator kpi_malloc_allocator;

/*
 * A 128-bit integer that needs only 8-byte alignment, so it can sit in a
 * state stored by PostgreSQL (which aligns varlena data to 8 bytes);
 * PostgreSQL's own int128 is declared the same way.
 */
typedef __int128 kpi_int128 __attribute__((aligned(8)));

#define KPI_INT128_MAX ((__int128) (((unsigned __int128) 1 << 127) - 1))
#define KPI_INT128_MIN (-KPI_INT128_MAX - 1)

/* Version byte written at the start of every encoded state. */
#define KPI_STATE_VERSION 1

#endif							/* KPI_CORE_H */
