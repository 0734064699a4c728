/*-------------------------------------------------------------------------
 *
 * kpi.c
 *	  Module entry and the glue every KPI shares: error mapping, state
 *	  access, and the generic type I/O of state types.
 *
 * IDENTIFICATION
 *	  src/kpi.c
 *
 *-------------------------------------------------------------------------
 */
#include "kpi.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

PG_MODULE_MAGIC;

static void *
kpi_palloc(size_t size, void *ctx)
{
	(void) ctx;
	return palloc(size);
}

static void *
kpi_repalloc(void *ptr, size_t size, void *ctx)
{
	(void) ctx;
	return repalloc(ptr, size);
}

static void
kpi_pfree(void *ptr, void *ctx)
{
	(void) ctx;
	pfree(ptr);
}

const kpi_allocator kpi_palloc_allocator = {
	kpi_palloc, kpi_repalloc, kpi_pfree, NULL, false
};

static void *
kpi_context_alloc(size_t size, void *ctx)
{
	return MemoryContextAlloc((MemoryContext) ctx, size);
}

/* repalloc and pfree work in the block's own context, whichever it is. */
kpi_allocator
kpi_context_allocator(MemoryContext cxt)
{
	kpi_allocator allocator = {kpi_context_alloc, kpi_repalloc, kpi_pfree, cxt, false};

	return allocator;
}

/* A zeroed state with a payload of size bytes, in cxt; returns the payload. */
static void *
state_payload_alloc(MemoryContext cxt, size_t size)
{
	KpiStateHeader *s = MemoryContextAllocExtended(cxt, sizeof(KpiStateHeader) + size,
												   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	SET_VARSIZE(s, sizeof(KpiStateHeader) + size);
	s->version = KPI_STATE_VERSION;
	return KPI_STATE_PAYLOAD(s);
}

static void *
kpi_state_alloc(size_t size, void *ctx)
{
	(void) ctx;
	return state_payload_alloc(CurrentMemoryContext, size);
}

static void *
kpi_state_realloc(void *payload, size_t size, void *ctx)
{
	KpiStateHeader *old = KPI_STATE_FROM_PAYLOAD(payload);
	void	   *grown = kpi_state_alloc(size, ctx);

	memcpy(grown, payload, Min(size, KPI_STATE_PAYLOAD_SIZE(old)));
	return grown;
}

static void
kpi_state_free(void *payload, void *ctx)
{
	(void) payload;
	(void) ctx;
}

const kpi_allocator kpi_state_allocator = {
	kpi_state_alloc, kpi_state_realloc, kpi_state_free, NULL, false
};

/* Sets up the keys of the id in argument argno (see kpi.h). */
void
kpi_id_keys_init(KpiIdKeys *keys, FunctionCallInfo fcinfo, int argno, const char *hint)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, argno);
	TypeCacheEntry *entry;

	if (!OidIsValid(type))
		elog(ERROR, "could not determine the data type of argument %d", argno);
	keys->type = getBaseType(type);
	keys->collation = PG_GET_COLLATION();
	keys->hashed = keys->type != INT2OID && keys->type != INT4OID && keys->type != INT8OID;
	if (!keys->hashed)
		return;
	entry = lookup_type_cache(keys->type, TYPECACHE_HASH_EXTENDED_PROC_FINFO);
	if (!OidIsValid(entry->hash_extended_proc))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_FUNCTION),
				errmsg("could not identify an extended hash function for type %s",
					   format_type_be(type)),
				errhint("%s", hint));
	fmgr_info_copy(&keys->hash, &entry->hash_extended_proc_finfo, fcinfo->flinfo->fn_mcxt);
}

/* The SQLSTATE each core status stands for. */
static int
kpi_status_errcode(kpi_status status)
{
	switch (status)
	{
		case KPI_ERR_OVERFLOW:
			return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
		case KPI_ERR_PARAM:
		case KPI_ERR_MISMATCH:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case KPI_ERR_TEXT:
			return ERRCODE_INVALID_TEXT_REPRESENTATION;
		case KPI_ERR_BINARY:
			return ERRCODE_INVALID_BINARY_REPRESENTATION;
		case KPI_ERR_VERSION:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		case KPI_ERR_NOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case KPI_ERR_LIMIT:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case KPI_OK:
		case KPI_CANNOT_INVERT:
			break;
	}
	elog(ERROR, "kpi status %d has no SQLSTATE", (int) status);
	return 0;					/* keep compiler quiet */
}

#define KPI_VERSION_HINT "The state was written by a different release of kpi; update the kpi extension on this server to the release that wrote it or a later one."

void
kpi_report(kpi_status status, const kpi_msg *msg, const char *fmt,...)
{
	char		primary[512];
	va_list		ap;
	bool		has_detail = msg != NULL && msg->text[0] != '\0';

	va_start(ap, fmt);
	vsnprintf(primary, sizeof(primary), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			errcode(kpi_status_errcode(status)),
			errmsg_internal("%s", primary),
			has_detail ? errdetail_internal("%s", msg->text) : 0,
			status == KPI_ERR_VERSION ? errhint(KPI_VERSION_HINT) : 0);
}

KpiStateHeader *
kpi_state_new(const KpiStateType *type)
{
	size_t		size = sizeof(KpiStateHeader) + type->fixed_size;
	KpiStateHeader *s = palloc0(size);

	SET_VARSIZE(s, size);
	s->version = KPI_STATE_VERSION;
	return s;
}

/* Raise the error for a state whose header this release cannot read. */
void
kpi_state_check_failed(const KpiStateHeader *s, const KpiStateType *type)
{
	if (s->version != KPI_STATE_VERSION)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("unsupported %s version %d", type->name, s->version),
				errhint(KPI_VERSION_HINT));
	ereport(ERROR,
			errcode(ERRCODE_DATA_CORRUPTED),
			errmsg("%s value has size %zu, expected %zu", type->name,
				   KPI_STATE_PAYLOAD_SIZE(s), type->fixed_size));
}

/* ---------------------------------------------------------- growing states */

/*
 * The allocator of a growing state (see kpi.h): blocks are states (a
 * KpiStateHeader in front) in the object's memory context, zeroed like
 * kpi_state_allocator's; realloc and free are real, since the core is
 * handed the state (in_place).
 */
static void *
growing_alloc(size_t size, void *ctx)
{
	return state_payload_alloc(((KpiGrowingState *) ctx)->hdr.eoh_context, size);
}

static void *
growing_realloc(void *payload, size_t size, void *ctx)
{
	KpiStateHeader *s = KPI_STATE_FROM_PAYLOAD(payload);
	Size		old_size = VARSIZE(s);
	Size		new_size = sizeof(KpiStateHeader) + size;

	(void) ctx;
	s = repalloc_huge(s, new_size);
	if (new_size > old_size)
		memset((char *) s + old_size, 0, new_size - old_size);
	SET_VARSIZE(s, new_size);
	return KPI_STATE_PAYLOAD(s);
}

static void
growing_free(void *payload, void *ctx)
{
	(void) ctx;
	pfree(KPI_STATE_FROM_PAYLOAD(payload));
}

static Size
growing_flat_size(ExpandedObjectHeader *eohptr)
{
	return VARSIZE(((KpiGrowingState *) eohptr)->state);
}

static void
growing_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	memcpy(result, ((KpiGrowingState *) eohptr)->state, allocated_size);
}

const ExpandedObjectMethods kpi_growing_methods = {
	growing_flat_size, growing_flatten
};

KpiGrowingState *
kpi_state_growing(Datum d)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(d);

		if (eoh->eoh_methods == &kpi_growing_methods)
			return (KpiGrowingState *) eoh;
	}
	return NULL;
}

KpiStateHeader *
kpi_state_detoast(struct varlena *raw)
{
	KpiGrowingState *growing = kpi_state_growing(PointerGetDatum(raw));

	if (growing != NULL)
		return growing->state;
	return (KpiStateHeader *) pg_detoast_datum(raw);
}

KpiStateHeader *
kpi_state_start_growing(FunctionCallInfo fcinfo, KpiStateHeader *state, KpiGrowingState **growing)
{
	MemoryContext aggcontext;
	MemoryContext cxt;
	KpiGrowingState *g;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		return state;
	cxt = AllocSetContextCreate(aggcontext, "kpi growing state", ALLOCSET_SMALL_SIZES);
	g = MemoryContextAlloc(cxt, sizeof(KpiGrowingState));
	EOH_init_header(&g->hdr, &kpi_growing_methods, cxt);
	g->state = MemoryContextAllocHuge(cxt, VARSIZE(state));
	memcpy(g->state, state, VARSIZE(state));
	g->mem = (kpi_allocator) {growing_alloc, growing_realloc, growing_free, g, true};
	*growing = g;
	return g->state;
}

/* ---------------------------------------------------------- type I/O */

/*
 * Generic input function: text -> state.  STRICT, IMMUTABLE.  Allocates
 * the state in CurrentMemoryContext.  Bad text is 22P02 (softly on PG16+),
 * an unknown version 0A000.
 */
Datum
kpi_state_in(FunctionCallInfo fcinfo, const KpiStateType *type)
{
	char	   *text = PG_GETARG_CSTRING(0);
	kpi_msg		msg = {{0}};
	kpi_status	status;
	void	   *payload;

	if (type->fixed_size != 0)
	{
		payload = KPI_STATE_PAYLOAD(kpi_state_new(type));
		status = type->parse(text, payload, &msg);
	}
	else
		status = type->parse_alloc(text, &kpi_state_allocator, &payload, &msg);
	if (status == KPI_OK)
		PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(payload));
	if (status == KPI_ERR_VERSION)
		kpi_report(status, &msg, "unsupported %s version in \"%s\"", type->name, text);
	errsave_compat(fcinfo->context,
				   errcode(kpi_status_errcode(status)),
				   errmsg("invalid input syntax for type %s: \"%s\"", type->name, text),
				   msg.text[0] != '\0' ? errdetail_internal("%s", msg.text) : 0);
	PG_RETURN_NULL();
}

/* Generic output function: state -> canonical text.  STRICT, IMMUTABLE. */
Datum
kpi_state_out(FunctionCallInfo fcinfo, const KpiStateType *type)
{
	KpiStateHeader *s = kpi_state_arg(fcinfo, 0, type, false);
	kpi_strbuf	out;

	kpi_strbuf_init(&out, &kpi_palloc_allocator);
	type->format(KPI_STATE_PAYLOAD(s), &out);
	PG_RETURN_CSTRING(out.data);
}

/*
 * Generic receive function: network-order bytes -> state.  STRICT,
 * IMMUTABLE.  Consumes the whole message; bad bytes are 22P03.
 */
Datum
kpi_state_recv(FunctionCallInfo fcinfo, const KpiStateType *type)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	kpi_msg		msg = {{0}};
	kpi_reader	r;
	kpi_status	status;
	void	   *payload;

	kpi_reader_init(&r, (const uint8_t *) buf->data + buf->cursor,
					(size_t) (buf->len - buf->cursor));
	if (type->fixed_size != 0)
	{
		payload = KPI_STATE_PAYLOAD(kpi_state_new(type));
		status = type->decode(&r, payload, &msg);
	}
	else
		status = type->decode_alloc(&r, &kpi_state_allocator, &payload, &msg);
	if (status == KPI_OK)
		status = kpi_reader_finish(&r, &msg);
	if (status == KPI_ERR_VERSION)
		kpi_report(status, &msg, "unsupported %s version", type->name);
	if (status != KPI_OK)
		kpi_report(status, &msg, "invalid external representation of type %s", type->name);
	buf->cursor = buf->len;
	PG_RETURN_POINTER(KPI_STATE_FROM_PAYLOAD(payload));
}

/* Generic send function: state -> network-order bytes.  STRICT, IMMUTABLE. */
Datum
kpi_state_send(FunctionCallInfo fcinfo, const KpiStateType *type)
{
	KpiStateHeader *s = kpi_state_arg(fcinfo, 0, type, false);
	const void *payload = KPI_STATE_PAYLOAD(s);
	size_t		size = type->encoded_size(payload);
	bytea	   *result = palloc(VARHDRSZ + size);
	kpi_writer	w;

	kpi_writer_init(&w, (uint8_t *) VARDATA(result), size);
	type->encode(payload, &w);
	SET_VARSIZE(result, VARHDRSZ + w.len);
	PG_RETURN_BYTEA_P(result);
}
