/*-------------------------------------------------------------------------
 *
 * pg_compat.h
 *	  The one place where kpi tests PG_VERSION_NUM.
 *
 * kpi is tested on PostgreSQL 15 and written to build on 14 to 17.  Every
 * difference between those versions that the glue meets is wrapped here
 * under a *_compat name, so no other file needs a version check.
 *
 * IDENTIFICATION
 *	  src/pg_compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_PG_COMPAT_H
#define KPI_PG_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 140000
#error "kpi requires PostgreSQL 14 or later"
#endif

/*
 * Input functions report bad input softly on PostgreSQL 16 and later (so
 * pg_input_is_valid() works on kpi types): errsave() records the error in
 * fcinfo->context when the caller asked for that, and raises it otherwise.
 * Before 16 there is no soft path and the error is raised.
 */
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#define errsave_compat(context, ...) errsave(context, __VA_ARGS__)
#else
#define errsave_compat(context, ...) ereport(ERROR, __VA_ARGS__)
#endif

#endif							/* KPI_PG_COMPAT_H */
