/*-------------------------------------------------------------------------
 *
 * funnel.c
 *	  SQL glue of the funnel aggregates kpi.window_funnel, kpi.funnel and
 *	  kpi.funnel_agg, their state type kpi.funnel_state and its accessors.
 *	  The semantics, the state and its evaluation live in
 *	  core/funnel_core.c.
 *
 * Every aggregate reduces a row to (entity, ts, step mask) and appends it
 * to a kpi.funnel_state; the final functions sort the rows and evaluate
 * the funnel.  What the glue decides:
 *
 * - The window: an interval is turned into microseconds the way
 *	 PostgreSQL compares intervals (interval_cmp_value): a day is 24 hours
 *	 and a month 30 days, so "step k at most window after step 1" is
 *	 exactly the SQL condition ts_k - ts_1 <= window.  Negative windows and
 *	 windows beyond the int64 microsecond range are 22023.
 * - The entity: a 64-bit key (KpiIdKeys, kpi.h): smallint, integer and
 *	 bigint ids are used as they are, any other type is reduced to its
 *	 extended hash, under the aggregate's collation.  Among n hashed
 *	 entities the chance that two share a key is below n^2 / 2^65 (3e-6
 *	 for ten million entities).  The state records which of the two kinds
 *	 of keys it holds (window_funnel's, with no entity: integer), so that
 *	 states of integer and of hashed keys do not combine.
 * - The steps: the VARIADIC boolean[] gives one bit per step, a NULL
 *	 element counting as false; more than 32 steps, or a multidimensional
 *	 array, is 22023.  The overloads with 2 to 8 separate boolean
 *	 arguments (src/funnel.sql) give the same bits without an array.
 * - Memory: the transition state grows by doubling (20 bytes per stored
 *	 row); the final functions need a sorted copy of the rows and 8 bytes
 *	 per entity and step for the times.  Neither is bounded by work_mem,
 *	 as for array_agg.
 *
 * The transition functions of the VARIADIC form are STRICT: a row with a
 * NULL entity, timestamp, window or mode is skipped (NULL elements of the
 * steps array are false, not NULL).  Those of the separate booleans are
 * not, so that a NULL condition is false, and skip such rows themselves.  They update the state in place when called by an
 * aggregate, and return a new state when it has to grow.  Accessors and
 * final functions never modify their argument.
 *
 * IDENTIFICATION
 *	  src/funnel.c
 *
 *-------------------------------------------------------------------------
 */
#include "kpi.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "funnel_core.h"

/* ---------------------------------------------------------- type I/O */

static kpi_status
funnel_parse_state(const char *text, const kpi_allocator *mem, void **payload, kpi_msg *msg)
{
	funnel_state *s;
	kpi_status	status = funnel_parse(text, mem, &kpi_palloc_allocator, &s, msg);

	if (status == KPI_OK)
		*payload = s;
	return status;
}

static kpi_status
funnel_decode_state(kpi_reader *r, const kpi_allocator *mem, void **payload, kpi_msg *msg)
{
	funnel_state *s;
	kpi_status	status = funnel_decode(r->buf + r->pos, r->len - r->pos, mem,
									   &kpi_palloc_allocator, &s, msg);

	if (status == KPI_OK)
	{
		r->pos = r->len;
		*payload = s;
	}
	return status;
}

static void
funnel_format_state(const void *payload, kpi_strbuf *out)
{
	kpi_msg		msg = {{0}};
	kpi_status	status = funnel_format(payload, &kpi_palloc_allocator, out, &msg);

	if (status != KPI_OK)
		kpi_report(status, &msg, "could not write kpi.funnel_state as text");
}

static size_t
funnel_encoded_state_size(const void *payload)
{
	return funnel_encoded_size(payload);
}

static void
funnel_encode_state(const void *payload, kpi_writer *w)
{
	kpi_msg		msg = {{0}};
	kpi_status	status = funnel_encode(payload, &kpi_palloc_allocator, w, &msg);

	if (status != KPI_OK)
		kpi_report(status, &msg, "could not write kpi.funnel_state in binary");
}

static const KpiStateType funnel_state_type = {
	.name = "kpi.funnel_state",
	.fixed_size = 0,
	.parse_alloc = funnel_parse_state,
	.decode_alloc = funnel_decode_state,
	.format = funnel_format_state,
	.encoded_size = funnel_encoded_state_size,
	.encode = funnel_encode_state,
};

KPI_STATE_IO_FUNCTIONS(funnel_state, &funnel_state_type);

/* ------------------------------------------------------- state access */

/*
 * Large transition states are expanded objects (utils/expandeddatum.h):
 * the state's block lives in a memory context of its own, a child of the
 * aggregate context, and grows there with repalloc.  nodeAgg keeps such a
 * value as it is when the transition function returns it, where it would
 * copy a flat varlena every time the state grows (and free the old one),
 * so a state of many megabytes is never copied while it grows.  Small
 * states (window_funnel's, one per group) stay flat varlenas: a memory
 * context per group would cost more than the copies.  An expanded state is
 * flattened, without its spare room, wherever PostgreSQL needs a flat
 * value (a tuple, a parallel worker's result), and sorted on the way
 * (see funnel_expanded_flatten); the funnel functions read it in place.
 */
#define FUNNEL_EXPAND_MIN_BYTES (64 * 1024)

typedef struct FunnelExpanded
{
	ExpandedObjectHeader hdr;
	kpi_allocator mem;			/* allocates in hdr.eoh_context */
	funnel_state *core;			/* the block, in hdr.eoh_context */
} FunnelExpanded;

/* The size of the flat form of an expanded state: no spare room. */
static Size
funnel_expanded_flat_size(ExpandedObjectHeader *eohptr)
{
	const FunnelExpanded *x = (const FunnelExpanded *) eohptr;

	return sizeof(KpiStateHeader) + sizeof(funnel_state) +
		(Size) x->core->nevents * sizeof(funnel_event);
}

/*
 * Writes the flat form of an expanded state into result: its canonical
 * block, rows sorted.  A parallel worker's partial state is flattened
 * into the tuple it sends, so the sort runs in the workers, and the
 * leader merges their states (funnel_merge) instead of sorting all rows.
 * Sort scratch comes from CurrentMemoryContext and is freed.
 */
static void
funnel_expanded_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	const FunnelExpanded *x = (const FunnelExpanded *) eohptr;
	KpiStateHeader *flat = result;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	Assert(allocated_size == funnel_expanded_flat_size(eohptr));
	memset(flat, 0, sizeof(KpiStateHeader));
	SET_VARSIZE(flat, allocated_size);
	flat->version = KPI_STATE_VERSION;
	status = funnel_write_canonical(x->core, KPI_STATE_PAYLOAD(flat), &kpi_palloc_allocator, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "could not flatten kpi.funnel_state");
}

static const ExpandedObjectMethods funnel_expanded_methods = {
	funnel_expanded_flat_size,
	funnel_expanded_flatten
};

/* The expanded state a datum points to. */
static FunnelExpanded *
funnel_expanded_datum(Datum d)
{
	FunnelExpanded *x = (FunnelExpanded *) DatumGetEOHP(d);

	if (x->hdr.eoh_methods != &funnel_expanded_methods)
		elog(ERROR, "expanded object is not a kpi.funnel_state");
	return x;
}

/*
 * The flat funnel state in argument argno, checked (see kpi_state_arg);
 * its payload is *core.  A payload whose size disagrees with its own
 * header can only come from damaged storage: refused before the core
 * reads it.
 */
static inline KpiStateHeader *
funnel_flat_arg(FunctionCallInfo fcinfo, int argno, bool for_update, funnel_state **core)
{
	KpiStateHeader *s = kpi_state_arg(fcinfo, argno, &funnel_state_type, for_update);
	funnel_state *f = KPI_STATE_PAYLOAD(s);
	size_t		size = KPI_STATE_PAYLOAD_SIZE(s);

	if (unlikely(size < sizeof(funnel_state) || size != funnel_state_size(f) ||
				 f->nevents > f->capacity))
		ereport(ERROR,
				errcode(ERRCODE_DATA_CORRUPTED),
				errmsg("kpi.funnel_state value is corrupted"),
				errdetail_internal("Its payload has %zu bytes.", size));
	*core = f;
	return s;
}

/* The funnel state in argument argno, to read: flat or expanded, in place. */
static const funnel_state *
funnel_state_read(FunctionCallInfo fcinfo, int argno)
{
	funnel_state *core;

	if (VARATT_IS_EXTERNAL_EXPANDED(PG_GETARG_POINTER(argno)))
		return funnel_expanded_datum(PG_GETARG_DATUM(argno))->core;
	(void) funnel_flat_arg(fcinfo, argno, false, &core);
	return core;
}

/* The transition state of one call: argument 0, to update. */
typedef struct funnel_trans
{
	MemoryContext aggcontext;	/* NULL outside an aggregate */
	FunnelExpanded *expanded;	/* the state if expanded, else NULL */
	KpiStateHeader *flat;		/* else the flat state, updated in place */
	funnel_state *core;			/* the block to update */
	const kpi_allocator *mem;	/* grows it */
} funnel_trans;

/*
 * Opens the transition state in argument 0.  extra: how many rows the
 * call may add; a flat state in an aggregate that cannot take them and
 * would grow past FUNNEL_EXPAND_MIN_BYTES becomes an expanded state.
 */
static inline void
funnel_trans_open(FunctionCallInfo fcinfo, uint32 extra, funnel_trans *t)
{
	if (!AggCheckCallContext(fcinfo, &t->aggcontext))
		t->aggcontext = NULL;
	if (t->aggcontext != NULL && VARATT_IS_EXTERNAL_EXPANDED_RW(PG_GETARG_POINTER(0)))
	{
		t->expanded = funnel_expanded_datum(PG_GETARG_DATUM(0));
		t->flat = NULL;
		t->core = t->expanded->core;
		t->mem = &t->expanded->mem;
		return;
	}
	t->expanded = NULL;
	t->flat = funnel_flat_arg(fcinfo, 0, true, &t->core);
	t->mem = &kpi_state_allocator;
	if (t->aggcontext != NULL && (uint64) t->core->nevents + extra > t->core->capacity &&
		sizeof(funnel_state) + ((uint64) t->core->nevents + extra) * sizeof(funnel_event) >=
		FUNNEL_EXPAND_MIN_BYTES)
	{
		MemoryContext ctx = AllocSetContextCreate(t->aggcontext, "kpi.funnel_state",
												  ALLOCSET_DEFAULT_SIZES);
		FunnelExpanded *x = MemoryContextAlloc(ctx, sizeof(FunnelExpanded));

		EOH_init_header(&x->hdr, &funnel_expanded_methods, ctx);
		x->mem = kpi_context_allocator(ctx);
		x->core = MemoryContextAlloc(ctx, funnel_state_size(t->core));
		memcpy(x->core, t->core, funnel_state_size(t->core));
		t->expanded = x;
		t->flat = NULL;
		t->core = x->core;
		t->mem = &x->mem;
	}
}

/* The transition state to return after the core updated t->core. */
static inline Datum
funnel_trans_result(funnel_trans *t)
{
	if (t->expanded != NULL)
	{
		t->expanded->core = t->core;
		return EOHPGetRWDatum(&t->expanded->hdr);
	}
	if (t->core != KPI_STATE_PAYLOAD(t->flat))
		return PointerGetDatum(KPI_STATE_FROM_PAYLOAD(t->core));
	return PointerGetDatum(t->flat);
}

/* ------------------------------------------------------- row arguments */

/*
 * How a transition function finds its arguments (-1: not present).  The
 * step conditions start at argument `steps`: one boolean[] there (the
 * VARIADIC form), or one boolean per step up to the last argument (the
 * overloads with a fixed number of steps, which spare the executor
 * building an array for every row).
 */
typedef struct funnel_args
{
	const char *fname;			/* SQL name, for messages */
	int			entity;
	int			ts;
	int			window;
	int			mode;
	int			steps;
	bool		steps_array;	/* steps is one boolean[] argument */
} funnel_args;

static const funnel_args funnel_entity_args = {"kpi.funnel", 1, 2, 3, -1, 4, true};
static const funnel_args funnel_entity_mode_args = {"kpi.funnel", 1, 2, 3, 4, 5, true};
static const funnel_args window_funnel_args = {"kpi.window_funnel", -1, 2, 1, -1, 3, true};
static const funnel_args window_funnel_mode_args = {"kpi.window_funnel", -1, 3, 1, 2, 4, true};
static const funnel_args funnel_entity_list_args = {"kpi.funnel", 1, 2, 3, -1, 4, false};
static const funnel_args funnel_entity_mode_list_args = {"kpi.funnel", 1, 2, 3, 4, 5, false};
static const funnel_args window_funnel_list_args = {"kpi.window_funnel", -1, 2, 1, -1, 3, false};
static const funnel_args window_funnel_mode_list_args = {"kpi.window_funnel", -1, 3, 1, 2, 4, false};

/* Per-call-site cache in fn_extra: entity keys, window and mode. */
typedef struct funnel_cache
{
	KpiIdKeys	keys;			/* of the entity argument, if any */
	bool		have_window;	/* window holds the last window argument */
	Interval	window;
	int64		window_usecs;	/* its length */
	bool		have_mode;		/* mode_text holds the last mode argument */
	uint32		modes;			/* its parsed form */
	int			mode_len;
	char	   *mode_text;		/* in fn_mcxt */
} funnel_cache;

static funnel_cache *
funnel_get_cache(FunctionCallInfo fcinfo, const funnel_args *args)
{
	funnel_cache *cache = fcinfo->flinfo->fn_extra;

	if (likely(cache != NULL))
		return cache;
	cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(funnel_cache));
	if (args->entity >= 0)
		kpi_id_keys_init(&cache->keys, fcinfo, args->entity,
						 "Use an entity key of a type with a hash operator class, such as bigint, text or uuid.");
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

/*
 * The window in argument argno in microseconds, 1 day = 24 h and 1 month
 * = 30 days as in PostgreSQL's interval comparison; 22023 when negative or
 * too large.  The last window seen is cached.
 */
static inline int64
funnel_window_usecs(FunctionCallInfo fcinfo, funnel_cache *cache, int argno, const char *fname)
{
	const Interval *window = PG_GETARG_INTERVAL_P(argno);
	int128		usecs;

	if (likely(cache->have_window && window->time == cache->window.time &&
			   window->day == cache->window.day && window->month == cache->window.month))
		return cache->window_usecs;
	usecs = (int128) window->time + (int128) window->day * USECS_PER_DAY +
		(int128) window->month * DAYS_PER_MONTH * USECS_PER_DAY;
	if (usecs < 0 || usecs > PG_INT64_MAX)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				usecs < 0 ? errmsg("%s window must not be negative", fname) :
				errmsg("%s window is too large", fname),
				errdetail("The window is \"%s\"; a day counts as 24 hours and a month as 30 days.",
						  DatumGetCString(DirectFunctionCall1(interval_out,
															  IntervalPGetDatum(window)))));
	cache->window = *window;
	cache->window_usecs = (int64) usecs;
	cache->have_window = true;
	return cache->window_usecs;
}

/* The modes named by the text in argument argno, parsed once per text. */
static uint32
funnel_modes_arg(FunctionCallInfo fcinfo, funnel_cache *cache, int argno, const char *fname)
{
	text	   *mode = PG_GETARG_TEXT_PP(argno);
	const char *data = VARDATA_ANY(mode);
	int			len = VARSIZE_ANY_EXHDR(mode);
	kpi_msg		msg = {{0}};
	uint32_t	modes;
	kpi_status	status;

	if (likely(cache->have_mode && cache->mode_len == len &&
			   memcmp(cache->mode_text, data, len) == 0))
		return cache->modes;
	status = funnel_parse_modes(data, (size_t) len, &modes, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "invalid %s mode list \"%s\"", fname, text_to_cstring(mode));
	if (cache->mode_text != NULL)
		pfree(cache->mode_text);
	cache->mode_text = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, Max(len, 1));
	memcpy(cache->mode_text, data, len);
	cache->mode_len = len;
	cache->modes = modes;
	cache->have_mode = true;
	return modes;
}

/*
 * The step mask of the boolean array in argument argno (bit k - 1 for a
 * true element k; NULL elements are false), and the number of steps.
 */
static inline uint32
funnel_steps_arg(FunctionCallInfo fcinfo, int argno, const char *fname, int *nsteps)
{
	ArrayType  *steps = PG_GETARG_ARRAYTYPE_P(argno);
	int			n = ARR_NDIM(steps) == 1 ? ARR_DIMS(steps)[0] :
		ArrayGetNItems(ARR_NDIM(steps), ARR_DIMS(steps));
	const bool *values = (const bool *) ARR_DATA_PTR(steps);
	const bits8 *nulls = ARR_NULLBITMAP(steps);
	uint32		mask = 0;

	if (unlikely(n > FUNNEL_MAX_STEPS))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("%s takes at most %d steps", fname, FUNNEL_MAX_STEPS),
				errdetail("It was given %d.", n));
	if (unlikely(ARR_NDIM(steps) > 1))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("%s steps must be a one-dimensional list", fname));
	for (int i = 0; i < n; i++)
	{
		if (nulls != NULL && (nulls[i / 8] & (1 << (i % 8))) == 0)
			continue;			/* NULL: false, and no value stored */
		if (*values++)
			mask |= (uint32) 1 << i;
	}
	*nsteps = n;
	return mask;
}

/*
 * The step mask of the boolean arguments from argno to the last one (bit
 * k - 1 for a true argument k; NULL is false), and the number of steps.
 * The SQL declarations keep their number within FUNNEL_MAX_STEPS.
 */
static inline uint32
funnel_steps_list(FunctionCallInfo fcinfo, int argno, int *nsteps)
{
	uint32		mask = 0;

	for (int i = argno; i < PG_NARGS(); i++)
		if (!PG_ARGISNULL(i) && PG_GETARG_BOOL(i))
			mask |= (uint32) 1 << (i - argno);
	*nsteps = PG_NARGS() - argno;
	return mask;
}

/* ---------------------------------------------------------- transitions */

/*
 * Adds the row in the arguments to the state in argument 0 and returns
 * the state: the same one, or a grown copy (kpi_state_allocator).
 */
static pg_attribute_always_inline Datum
funnel_accum_row(FunctionCallInfo fcinfo, const funnel_args *args)
{
	funnel_cache *cache = funnel_get_cache(fcinfo, args);
	funnel_trans t;
	funnel_params params;
	uint32		steps;
	uint64		entity = args->entity >= 0 ? kpi_id_key(&cache->keys, PG_GETARG_DATUM(args->entity)) : 0;
	kpi_msg		msg;
	kpi_status	status;

	params.window = funnel_window_usecs(fcinfo, cache, args->window, args->fname);
	params.modes = args->mode >= 0 ? funnel_modes_arg(fcinfo, cache, args->mode, args->fname) : 0;
	params.keys = args->entity >= 0 && cache->keys.hashed ? FUNNEL_KEYS_HASH : FUNNEL_KEYS_INT;
	if (args->steps_array)
		steps = funnel_steps_arg(fcinfo, args->steps, args->fname, &params.nsteps);
	else
		steps = funnel_steps_list(fcinfo, args->steps, &params.nsteps);
	funnel_trans_open(fcinfo, 1, &t);
	msg.text[0] = '\0';
	status = funnel_add_row(&t.core, t.mem, &params, entity, PG_GETARG_TIMESTAMPTZ(args->ts),
							steps, &msg);
	if (unlikely(status != KPI_OK))
	{
		if (status == KPI_ERR_PARAM)
			kpi_report(status, &msg, "invalid %s arguments", args->fname);
		kpi_report(status, &msg, "%s state is too large", args->fname);
	}
	PG_RETURN_DATUM(funnel_trans_result(&t));
}

PG_FUNCTION_INFO_V1(kpi_funnel_accum);
PG_FUNCTION_INFO_V1(kpi_funnel_accum_mode);
PG_FUNCTION_INFO_V1(kpi_window_funnel_accum);
PG_FUNCTION_INFO_V1(kpi_window_funnel_accum_mode);

/*
 * funnel_accum(funnel_state, entity anyelement, ts timestamptz,
 * window interval, steps boolean[]): transition of kpi.funnel and
 * kpi.funnel_agg.
 */
Datum
kpi_funnel_accum(PG_FUNCTION_ARGS)
{
	return funnel_accum_row(fcinfo, &funnel_entity_args);
}

/* funnel_accum(funnel_state, entity, ts, window, mode text, steps): with modes. */
Datum
kpi_funnel_accum_mode(PG_FUNCTION_ARGS)
{
	return funnel_accum_row(fcinfo, &funnel_entity_mode_args);
}

/*
 * window_funnel_accum(funnel_state, window interval, ts timestamptz,
 * steps boolean[]): transition of kpi.window_funnel; every row belongs to
 * one entity (key 0), the group.
 */
Datum
kpi_window_funnel_accum(PG_FUNCTION_ARGS)
{
	return funnel_accum_row(fcinfo, &window_funnel_args);
}

/* window_funnel_accum(funnel_state, window, mode text, ts, steps): with modes. */
Datum
kpi_window_funnel_accum_mode(PG_FUNCTION_ARGS)
{
	return funnel_accum_row(fcinfo, &window_funnel_mode_args);
}

/*
 * The transitions with one boolean argument per step (2 .. 8 steps, see
 * src/funnel.sql), same arguments otherwise.  Not STRICT, so that a NULL
 * condition counts as false: a NULL state gives NULL, a row with a NULL
 * entity, timestamp, window or mode is skipped, as STRICT would do.
 */
static pg_attribute_always_inline Datum
funnel_accum_list(FunctionCallInfo fcinfo, const funnel_args *args)
{
	for (int i = 0; i < args->steps; i++)
		if (PG_ARGISNULL(i))
		{
			if (i == 0)
				PG_RETURN_NULL();
			PG_RETURN_DATUM(PG_GETARG_DATUM(0));
		}
	return funnel_accum_row(fcinfo, args);
}

PG_FUNCTION_INFO_V1(kpi_funnel_accum_list);
PG_FUNCTION_INFO_V1(kpi_funnel_accum_mode_list);
PG_FUNCTION_INFO_V1(kpi_window_funnel_accum_list);
PG_FUNCTION_INFO_V1(kpi_window_funnel_accum_mode_list);

/* funnel_accum(funnel_state, entity, ts, window, boolean, boolean, ...) */
Datum
kpi_funnel_accum_list(PG_FUNCTION_ARGS)
{
	return funnel_accum_list(fcinfo, &funnel_entity_list_args);
}

/* funnel_accum(funnel_state, entity, ts, window, mode, boolean, boolean, ...) */
Datum
kpi_funnel_accum_mode_list(PG_FUNCTION_ARGS)
{
	return funnel_accum_list(fcinfo, &funnel_entity_mode_list_args);
}

/* window_funnel_accum(funnel_state, window, ts, boolean, boolean, ...) */
Datum
kpi_window_funnel_accum_list(PG_FUNCTION_ARGS)
{
	return funnel_accum_list(fcinfo, &window_funnel_list_args);
}

/* window_funnel_accum(funnel_state, window, mode, ts, boolean, boolean, ...) */
Datum
kpi_window_funnel_accum_mode_list(PG_FUNCTION_ARGS)
{
	return funnel_accum_list(fcinfo, &window_funnel_mode_list_args);
}

PG_FUNCTION_INFO_V1(kpi_funnel_combine);

/*
 * funnel_combine(funnel_state, funnel_state): adds the rows of the
 * second state to the first (in place in aggregate context, else on a
 * copy), merging sorted when they are of comparable size (funnel_merge;
 * sort scratch in CurrentMemoryContext, freed); returns the first, or its
 * grown copy.  Combine function of every funnel aggregate and transition
 * function of kpi.rollup(funnel_state).
 * A blank state (no rows yet) is the identity; states with different
 * steps, window, modes or kinds of entity keys (integer or hashed) are
 * 22023.
 */
Datum
kpi_funnel_combine(PG_FUNCTION_ARGS)
{
	const funnel_state *other = funnel_state_read(fcinfo, 1);
	funnel_trans t;
	kpi_msg		msg;
	kpi_status	status;

	funnel_trans_open(fcinfo, other->nevents, &t);
	msg.text[0] = '\0';
	status = funnel_merge(&t.core, other, t.mem, &kpi_palloc_allocator, &msg);
	if (status == KPI_ERR_MISMATCH)
		kpi_report(status, &msg, "cannot combine kpi.funnel_state values with different parameters");
	if (status != KPI_OK)
		kpi_report(status, &msg, "kpi.funnel_state is too large");
	PG_RETURN_DATUM(funnel_trans_result(&t));
}

/* ------------------------------------------------------------- finals */

PG_FUNCTION_INFO_V1(kpi_funnel_agg_final);

/*
 * funnel_agg_final(funnel_state) -> funnel_state: a canonical copy
 * (rows sorted, no spare room), so that equal states are equal bytes when
 * stored.  Final function of kpi.funnel_agg and kpi.rollup(funnel_state).
 * Allocates the copy and the sort's scratch in CurrentMemoryContext.
 */
Datum
kpi_funnel_agg_final(PG_FUNCTION_ARGS)
{
	const funnel_state *core = funnel_state_read(fcinfo, 0);
	funnel_state *copy;
	kpi_msg		msg = {{0}};
	kpi_status	status;

	status = funnel_canonical_copy(core, &kpi_state_allocator, &kpi_palloc_allocator,
								   &copy, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "could not copy kpi.funnel_state");
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(copy));
}

/*
 * Evaluates the funnel of the state in argument 0 into *result; false for
 * a blank state (no row reached the aggregate).  Scratch memory comes from
 * CurrentMemoryContext and is freed.
 */
static bool
funnel_evaluate_arg(FunctionCallInfo fcinfo, funnel_result *result)
{
	const funnel_state *core = funnel_state_read(fcinfo, 0);
	kpi_msg		msg = {{0}};
	kpi_status	status;

	if (core->nsteps == 0)
		return false;
	status = funnel_evaluate(core, &kpi_palloc_allocator, result, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "could not evaluate kpi.funnel_state");
	return true;
}

PG_FUNCTION_INFO_V1(kpi_window_funnel_final);

/*
 * window_funnel_final(funnel_state) -> integer: the highest level any
 * entity of the state reaches; final function of kpi.window_funnel.  NULL
 * when no row reached the aggregate; 0 when none reached step 1.
 */
Datum
kpi_window_funnel_final(PG_FUNCTION_ARGS)
{
	const funnel_state *core = funnel_state_read(fcinfo, 0);
	kpi_msg		msg = {{0}};
	kpi_status	status;
	int			level;

	if (core->nsteps == 0)
		PG_RETURN_NULL();
	status = funnel_max_level(core, &kpi_palloc_allocator, &level, &msg);
	if (status != KPI_OK)
		kpi_report(status, &msg, "could not evaluate kpi.funnel_state");
	PG_RETURN_INT32(level);
}

PG_FUNCTION_INFO_V1(kpi_funnel_entities);

/*
 * kpi.funnel(funnel_state) -> bigint[]: element k is the number of
 * entities reaching at least step k; also the final function of
 * kpi.funnel.  NULL when no row reached the aggregate.
 */
Datum
kpi_funnel_entities(PG_FUNCTION_ARGS)
{
	funnel_result result;
	Datum		counts[FUNNEL_MAX_STEPS];

	if (!funnel_evaluate_arg(fcinfo, &result))
		PG_RETURN_NULL();
	for (int k = 0; k < result.nsteps; k++)
		counts[k] = Int64GetDatum(result.entities[k]);
	PG_RETURN_ARRAYTYPE_P(construct_array(counts, result.nsteps, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(kpi_funnel_conversion_rate);

/*
 * kpi.conversion_rate(funnel_state) -> double precision: entities
 * reaching the last step / entities reaching the first.  NULL when no
 * entity reached step 1 or no row reached the aggregate.
 */
Datum
kpi_funnel_conversion_rate(PG_FUNCTION_ARGS)
{
	funnel_result result;

	if (!funnel_evaluate_arg(fcinfo, &result) || result.entities[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((double) result.entities[result.nsteps - 1] / (double) result.entities[0]);
}

/* A median time in microseconds as an interval, days split off as ts - ts does. */
static Interval *
funnel_time_interval(double usecs)
{
	Interval   *iv = palloc0(sizeof(Interval));
	int64		whole = (int64) rint(usecs);

	iv->day = (int32) (whole / USECS_PER_DAY);
	iv->time = whole % USECS_PER_DAY;
	return iv;
}

PG_FUNCTION_INFO_V1(kpi_funnel_steps);

/*
 * kpi.funnel_steps(funnel_state) -> TABLE(step, entities,
 * conversion_from_previous, conversion_from_first, median_time_to_step):
 * one row per step.  Conversions are NULL where their denominator is 0
 * (and conversion_from_previous for step 1); the median time is NULL when
 * no entity reaches the step.  No rows for a blank state.  Value-per-call
 * SRF: the funnel is evaluated once, into multi_call_memory_ctx.
 */
Datum
kpi_funnel_steps(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	funnel_result *result;
	int			k;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		TupleDesc	tupdesc;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "kpi.funnel_steps must return a composite type");
		funcctx->tuple_desc = BlessTupleDesc(tupdesc);
		result = palloc(sizeof(funnel_result));
		funcctx->max_calls = funnel_evaluate_arg(fcinfo, result) ? result->nsteps : 0;
		funcctx->user_fctx = result;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	result = funcctx->user_fctx;
	if (funcctx->call_cntr >= funcctx->max_calls)
		SRF_RETURN_DONE(funcctx);

	k = (int) funcctx->call_cntr;
	values[0] = Int32GetDatum(k + 1);
	values[1] = Int64GetDatum(result->entities[k]);
	if (k == 0 || result->entities[k - 1] == 0)
		nulls[2] = true;
	else
		values[2] = Float8GetDatum((double) result->entities[k] / (double) result->entities[k - 1]);
	if (result->entities[0] == 0)
		nulls[3] = true;
	else
		values[3] = Float8GetDatum((double) result->entities[k] / (double) result->entities[0]);
	if (isnan(result->median_time[k]))
		nulls[4] = true;
	else
		values[4] = IntervalPGetDatum(funnel_time_interval(result->median_time[k]));
	SRF_RETURN_NEXT(funcctx,
					HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
}
