/*-------------------------------------------------------------------------
 *
 * kpi.h
 *	  Glue shared by every KPI: state varlenas, type I/O, error mapping.
 *
 * Every KPI state is a varlena SQL type (kpi.<kpi>_state) laid out as a
 * KpiStateHeader followed by a payload that the pure-C core owns.  The
 * header's version byte is checked whenever a state is read, so states
 * stored by a later kpi release are refused clearly instead of misread.
 *
 * The four type I/O functions of every state type are one-liners over
 * kpi_state_in/out/recv/send, parameterised by a KpiStateType that names
 * the core's parse/format/encode/decode functions.
 *
 * IDENTIFICATION
 *	  src/kpi.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_H
#define KPI_H

#include "postgres.h"
#include "fmgr.h"
#include "catalog/pg_type_d.h"
#include "utils/expandeddatum.h"

#include "pg_compat.h"
#include "kpi_core.h"
#include "codec.h"

/* On-disk header of every kpi state; the payload follows, 8-byte aligned. */
typedef struct KpiStateHeader
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* KPI_STATE_VERSION */
	uint8		flags;			/* reserved, zero */
	uint16		reserved;		/* zero */
} KpiStateHeader;

#define KPI_STATE_PAYLOAD(s)	((void *) ((char *) (s) + sizeof(KpiStateHeader)))
#define KPI_STATE_PAYLOAD_SIZE(s)	((size_t) VARSIZE(s) - sizeof(KpiStateHeader))
#define KPI_STATE_FROM_PAYLOAD(p)	((KpiStateHeader *) ((char *) (p) - sizeof(KpiStateHeader)))

/*
 * How the generic type I/O functions reach a state type's core codecs.
 *
 * A fixed-size state (fixed_size > 0) parses and decodes into a zeroed
 * payload that the glue allocated: parse and decode.  A variable-size
 * state (fixed_size == 0) allocates its payload itself through the
 * allocator it is given (kpi_state_allocator, so the payload is already a
 * varlena state): parse_alloc and decode_alloc.  A type sets one pair.
 */
typedef struct KpiStateType
{
	const char *name;			/* SQL name, for messages: "kpi.aov_state" */
	size_t		fixed_size;		/* payload size, or 0 if variable */
	kpi_status	(*parse) (const char *text, void *payload, kpi_msg *msg);
	kpi_status	(*decode) (kpi_reader *r, void *payload, kpi_msg *msg);
	kpi_status	(*parse_alloc) (const char *text, const kpi_allocator *mem,
								void **payload, kpi_msg *msg);
	kpi_status	(*decode_alloc) (kpi_reader *r, const kpi_allocator *mem,
								 void **payload, kpi_msg *msg);
	void		(*format) (const void *payload, kpi_strbuf *out);
	size_t		(*encoded_size) (const void *payload);
	void		(*encode) (const void *payload, kpi_writer *w);
} KpiStateType;

/*
 * The KpiStateType of a fixed-size state whose core type is ctype and whose
 * codecs are prefix_parse, prefix_format, prefix_encoded_size,
 * prefix_encode and prefix_decode, each taking a ctype pointer where the
 * callback takes void *.
 */
#define KPI_FIXED_STATE_TYPE(sqlname, ctype, prefix) { \
	.name = (sqlname), \
	.fixed_size = sizeof(ctype), \
	.parse = (kpi_status (*) (const char *, void *, kpi_msg *)) prefix##_parse, \
	.decode = (kpi_status (*) (kpi_reader *, void *, kpi_msg *)) prefix##_decode, \
	.format = (void (*) (const void *, kpi_strbuf *)) prefix##_format, \
	.encoded_size = (size_t (*) (const void *)) prefix##_encoded_size, \
	.encode = (void (*) (const void *, kpi_writer *)) prefix##_encode, \
}

/*
 * The KpiStateType of a variable-size state whose codecs are prefix_parse,
 * prefix_decode (each allocating the payload through the allocator they
 * get), prefix_format, prefix_encoded_size and prefix_encode, each taking
 * a core type pointer where the callback takes void *.
 */
#define KPI_VARIABLE_STATE_TYPE(sqlname, prefix) { \
	.name = (sqlname), \
	.fixed_size = 0, \
	.parse_alloc = (kpi_status (*) (const char *, const kpi_allocator *, void **, kpi_msg *)) prefix##_parse, \
	.decode_alloc = (kpi_status (*) (kpi_reader *, const kpi_allocator *, void **, kpi_msg *)) prefix##_decode, \
	.format = (void (*) (const void *, kpi_strbuf *)) prefix##_format, \
	.encoded_size = (size_t (*) (const void *)) prefix##_encoded_size, \
	.encode = (void (*) (const void *, kpi_writer *)) prefix##_encode, \
}

/* palloc-based allocator in CurrentMemoryContext, for core functions. */
extern const kpi_allocator kpi_palloc_allocator;

/*
 * An allocator whose blocks live in cxt, whatever the current memory
 * context is when the core allocates (for caches kept in fn_mcxt).
 */
extern kpi_allocator kpi_context_allocator(MemoryContext cxt);

/*
 * Allocator whose blocks are payloads of varlena states: alloc returns a
 * zeroed payload in CurrentMemoryContext with a KpiStateHeader in front
 * (KPI_STATE_FROM_PAYLOAD gives the Datum).  realloc returns a NEW state
 * holding the old payload and leaves the old state alone, and free does
 * nothing: when a transition function returns a different state than it
 * was given, the executor copies the new one into the aggregate context
 * and frees the old one itself.  Growing a transition state is therefore:
 * let the core realloc, return KPI_STATE_FROM_PAYLOAD(new payload).
 */
extern const kpi_allocator kpi_state_allocator;

/*
 * Ids (customers, sessions, leads) of any type as 64-bit keys: smallint,
 * integer and bigint ids, and domains over them, are their own value (so
 * 5 and 5::bigint are one id); an id of any other type with a hash
 * operator class is its 64-bit extended hash, the one hash partitioning
 * uses (stable across platforms and releases), under the call's
 * collation.  n distinct hashed ids share a key with probability below
 * n^2 / 2^65.
 */
typedef struct KpiIdKeys
{
	Oid			type;			/* the id's type, a domain's base type */
	bool		hashed;			/* keys are hashes (not an integer type) */
	Oid			collation;
	FmgrInfo	hash;			/* the type's extended hash function */
} KpiIdKeys;

/*
 * Sets keys up for argument argno of the current call, in fn_mcxt.  An id
 * type without an extended hash function is 42883, with hint as errhint.
 */
extern void kpi_id_keys_init(KpiIdKeys *keys, FunctionCallInfo fcinfo, int argno,
							 const char *hint);

/* The 64-bit key of an id (two's complement for negative integers). */
static inline uint64
kpi_id_key(KpiIdKeys *keys, Datum id)
{
	switch (keys->type)
	{
		case INT2OID:
			return (uint64) (int64) DatumGetInt16(id);
		case INT4OID:
			return (uint64) (int64) DatumGetInt32(id);
		case INT8OID:
			return (uint64) DatumGetInt64(id);
	}
	return DatumGetUInt64(FunctionCall2Coll(&keys->hash, keys->collation, id, Int64GetDatum(0)));
}

/*
 * Raise the error that a non-OK core status stands for.  fmt is the
 * primary message; msg, if filled, becomes the errdetail.  Callers test
 * the status first (hot paths must not pay for a varargs call).
 */
extern void kpi_report(kpi_status status, const kpi_msg *msg, const char *fmt,...)
			pg_attribute_printf(3, 4) pg_attribute_noreturn();

/* A new zeroed state of a fixed-size type, in CurrentMemoryContext. */
extern KpiStateHeader *kpi_state_new(const KpiStateType *type);

extern void kpi_state_check_failed(const KpiStateHeader *s, const KpiStateType *type)
			pg_attribute_noreturn();

/*
 * Growing transition states.
 *
 * When a transition function returns another pointer than its state
 * argument, the executor copies the new state into the aggregate context
 * and frees the old one, so a state that grows by half, say, exists as
 * old, new and copy for a moment: 4 times its old size.  A read/write
 * expanded object whose memory context is a child of the aggregate context
 * is kept as it is instead (ExecAggTransReparent).  So the transition
 * functions of variable-size states (customer sets) turn a state of
 * KPI_GROWING_MIN_SIZE bytes or more into a KpiGrowingState: an expanded
 * object holding the flat state, which the core then grows in place
 * through the object's allocator (kpi_allocator.in_place; a realloc of a
 * large block remaps its pages rather than copying them).  The object
 * flattens into the same bytes whenever the state leaves the aggregate
 * (partial aggregation, a stored value), and kpi_state_arg reads it
 * without flattening.  Smaller states stay flat: an expanded object costs
 * a memory context, about 1 kB.
 */
typedef struct KpiGrowingState
{
	ExpandedObjectHeader hdr;
	KpiStateHeader *state;		/* the flat state, in hdr.eoh_context */
	kpi_allocator mem;			/* in_place; allocates in hdr.eoh_context */
} KpiGrowingState;

#define KPI_GROWING_MIN_SIZE ((Size) 64 * 1024)

extern const ExpandedObjectMethods kpi_growing_methods;

/*
 * A state that is compressed, toasted, packed or an expanded object, as a
 * plain one: a growing state's own flat state, else detoasted.
 */
extern KpiStateHeader *kpi_state_detoast(struct varlena *raw);

/* The growing state that a (read/write or read-only) datum points to, or NULL. */
extern KpiGrowingState *kpi_state_growing(Datum d);

/*
 * In aggregate context, a new growing state holding a copy of state (the
 * executor frees the original when it gets the new one); elsewhere state
 * itself, with *growing NULL.
 */
extern KpiStateHeader *kpi_state_start_growing(FunctionCallInfo fcinfo, KpiStateHeader *state,
											   KpiGrowingState **growing);

/*
 * The state in argument argno, checked (version, size).  With for_update
 * it may be modified: in aggregate context that is the argument itself (the
 * executor owns it), elsewhere a copy.  A state stored with STORAGE
 * extended may arrive packed (1-byte header), compressed or toasted: it is
 * detoasted into a copy, also with for_update, and a transition function
 * that returns that copy hands the executor a new state, which it adopts as
 * it adopts a grown one.  Inline: transition functions call it once per row.
 */
static inline KpiStateHeader *
kpi_state_arg(FunctionCallInfo fcinfo, int argno, const KpiStateType *type,
			  bool for_update)
{
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(argno);
	KpiStateHeader *s;

	if (for_update && !AggCheckCallContext(fcinfo, NULL))
		s = (KpiStateHeader *) pg_detoast_datum_copy(raw);
	else if (unlikely(VARATT_IS_EXTENDED(raw)))
		s = kpi_state_detoast(raw);
	else
		s = (KpiStateHeader *) raw;
	if (unlikely(s->version != KPI_STATE_VERSION ||
				 (type->fixed_size != 0 && KPI_STATE_PAYLOAD_SIZE(s) != type->fixed_size)))
		kpi_state_check_failed(s, type);
	return s;
}

/*
 * The variable-size state in argument argno of a transition or combine
 * function, for update as kpi_state_arg gives it, with *growing the
 * growing state that holds it (NULL for a flat one): an aggregate's own
 * growing state, or a new one for a flat state of KPI_GROWING_MIN_SIZE
 * bytes or more.  The function updates the payload with
 * kpi_state_mem(*growing) and returns kpi_state_result(*growing, payload).
 * Inline: transition functions call it once per row.
 */
static inline KpiStateHeader *
kpi_state_update(FunctionCallInfo fcinfo, int argno, const KpiStateType *type,
				 KpiGrowingState **growing)
{
	Pointer		raw = PG_GETARG_POINTER(argno);
	KpiStateHeader *s;

	if (VARATT_IS_EXTERNAL_EXPANDED_RW(raw) && AggCheckCallContext(fcinfo, NULL))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(PointerGetDatum(raw));

		if (eoh->eoh_methods == &kpi_growing_methods)
		{
			*growing = (KpiGrowingState *) eoh;
			return (*growing)->state;
		}
	}
	*growing = NULL;
	s = kpi_state_arg(fcinfo, argno, type, true);
	if (unlikely(VARSIZE(s) >= KPI_GROWING_MIN_SIZE))
		s = kpi_state_start_growing(fcinfo, s, growing);
	return s;
}

/* The allocator for updating a state that kpi_state_update returned. */
static inline const kpi_allocator *
kpi_state_mem(KpiGrowingState *growing)
{
	return growing != NULL ? &growing->mem : &kpi_state_allocator;
}

/*
 * The result of a transition or combine function whose state (from
 * kpi_state_update) now has payload, which may have moved.
 */
static inline Datum
kpi_state_result(KpiGrowingState *growing, void *payload)
{
	if (growing == NULL)
		return PointerGetDatum(KPI_STATE_FROM_PAYLOAD(payload));
	growing->state = KPI_STATE_FROM_PAYLOAD(payload);
	return EOHPGetRWDatum(&growing->hdr);
}

extern Datum kpi_state_in(FunctionCallInfo fcinfo, const KpiStateType *type);
extern Datum kpi_state_out(FunctionCallInfo fcinfo, const KpiStateType *type);
extern Datum kpi_state_recv(FunctionCallInfo fcinfo, const KpiStateType *type);
extern Datum kpi_state_send(FunctionCallInfo fcinfo, const KpiStateType *type);

/*
 * KPI_STATE_IO_FUNCTIONS(name, type) defines the four type I/O functions
 * of a state type described by the KpiStateType pointer `type`, named as
 * the SQL declarations' C symbols:
 *	 kpi_<name>_in(cstring)	   text input (the core's text form, see the
 *							   type's core header); 22P02 if malformed
 *	 kpi_<name>_out(state)	   canonical text output, reads back exactly
 *	 kpi_<name>_recv(internal) binary input (network byte order); 22P03 if
 *							   malformed
 *	 kpi_<name>_send(state)	   binary output
 * An unknown version byte is 0A000.  All are STRICT in SQL and allocate
 * their result in CurrentMemoryContext.
 */
#define KPI_STATE_IO_FUNCTIONS(name, type) \
	PG_FUNCTION_INFO_V1(kpi_##name##_in); \
	PG_FUNCTION_INFO_V1(kpi_##name##_out); \
	PG_FUNCTION_INFO_V1(kpi_##name##_recv); \
	PG_FUNCTION_INFO_V1(kpi_##name##_send); \
	Datum kpi_##name##_in(PG_FUNCTION_ARGS) { return kpi_state_in(fcinfo, (type)); } \
	Datum kpi_##name##_out(PG_FUNCTION_ARGS) { return kpi_state_out(fcinfo, (type)); } \
	Datum kpi_##name##_recv(PG_FUNCTION_ARGS) { return kpi_state_recv(fcinfo, (type)); } \
	Datum kpi_##name##_send(PG_FUNCTION_ARGS) { return kpi_state_send(fcinfo, (type)); } \
	extern int no_such_variable		/* swallows the caller's semicolon */

#endif							/* KPI_H */
