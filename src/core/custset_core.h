/*-------------------------------------------------------------------------
 *
 * custset_core.h
 *	  Exact, mergeable sets of customer (and order) keys with a payload.
 *
 * Every distinct-customer KPI (retention, cohorts, repeat purchases,
 * line-level AOV) keeps a custset: a set of records ordered by key, where
 * a record is one key (a customer, or an order), or a pair of keys
 * (customer and period, customer and order), plus a small payload that is
 * merged when the same key is seen again.  The custset_type fixes which:
 *
 *	 type                    record                 payload, merge
 *	 CUSTSET_RETENTION       customer               flags BEFORE|AFTER, OR
 *	 CUSTSET_COHORT          (customer, period)     none (int32 period index)
 *	 CUSTSET_ORDER_COUNT     customer               rows, add
 *	 CUSTSET_CUSTOMER_ORDER  (customer, order)      none
 *	 CUSTSET_ORDERS          order                  none
 *
 * Keys are exact for integers (int64), uuids (16 bytes) and text (bytes,
 * compared bytewise); other types come as a 64-bit hash (CUSTSET_KIND_HASH),
 * ordered and stored like integers but never merged with them.  A new
 * state has kind CUSTSET_KIND_NONE and takes the kind of its first key.
 *
 * Memory layout.  A custset is ONE contiguous, position-independent buffer,
 * 8-byte aligned, so that it can be the payload of a varlena state: in
 * PostgreSQL it follows the KpiStateHeader (src/kpi.h), which carries the
 * version byte, and every buffer comes from the glue's state allocator:
 *
 *	 [header 72 B][extra][sorted body][run] gap [hash table][bitmap][pending] free [heap]
 *
 * - extra: extra_size opaque bytes for the glue (the line-level AOV keeps
 *	 its aov_core there); copied on growth, never interpreted.
 * - body: the records in ascending key order without duplicates, encoded
 *	 exactly as in the binary form (below): an integer customer of a
 *	 retention set takes 2 bytes (dense ids) to 8 bytes (random 64-bit ids).
 * - hash table: records added since the last consolidation, at most one
 *	 per key (an add whose key is there merges its payload in place), in
 *	 fixed-width slots (8 bytes per integer or hash key, 16 per uuid, 8 per
 *	 text key pointing into the heap, +8 for a payload) with an occupancy
 *	 bitmap, filled to 3/4 at most.  Text key bytes live in the heap at the
 *	 end of the buffer.
 * - gap: room for records appended to the body directly.  A one-key set of
 *	 integer keys (retention, order counts, orders) appends a record whose
 *	 key is larger than every key of the body and of the table, which is
 *	 how ascending ids (order ids, new customers) arrive: they cost a
 *	 varint write, no hash table slot and no sort.  An order id equal to
 *	 the body's last (the next line of the same order) costs nothing.
 * - run: a second ascending run of order ids (CUSTSET_ORDERS, integer
 *	 keys), encoded like a body of its own right after the body.  An order
 *	 id below the body's last one, while the table is empty, opens it; ids
 *	 above its last one are appended to it, and repeating its last one
 *	 costs nothing.  That is how a table comes in two ascending runs: a
 *	 sequential scan that starts in the middle of the table (PostgreSQL's
 *	 synchronized scans) wraps around to its start.  When the gap is full
 *	 and the table empty, the buffer grows with body and run copied as
 *	 they are; a consolidation of the table, and compaction, merge the run
 *	 into the body (a run may repeat keys of the body).
 * - pending: one slot for the record of the last add that goes to the
 *	 table (integer keys).  An add does not probe the table for its own
 *	 record: it prefetches the record's slot, parks the record here and
 *	 probes the one parked by the previous add, whose slot the cache holds
 *	 by now.  With a table larger than the cache (many customers) that
 *	 hides a memory load per row behind PostgreSQL's work between rows;
 *	 a table of 1 MB or less, which the caches hold, is probed at once.
 *	 Every add takes the parked record first, so records reach the set in
 *	 the order they came; readers see it as one record more, which may
 *	 repeat a key of the body, the run or the table (merged like theirs).
 *	 A compact state has no table and nothing parked.
 * When the table is full, its records are sorted and merged with the body
 * into a new body followed by an empty table that can take a quarter of the
 * records again (about 5 bytes per integer customer) or, when most table
 * records were repeat customers, twice the old table up to one that holds
 * every customer (at most 16 MB): then repeat customers cost one hash
 * lookup and no merge.  So inserts cost amortised O(log n).  The merged
 * state goes back into the same buffer when it fits; else a call returns a
 * new buffer through its custset ** argument and leaves the old one to the
 * caller, who frees it (PostgreSQL's nodeAgg does that for a transition
 * value).  Sizes are limited to CUSTSET_MAX_SIZE (the 1 GB of a varlena,
 * less its header): KPI_ERR_LIMIT beyond.  Every buffer the core keeps was
 * allocated with exactly total_size bytes (or shrunk to it), so the state
 * allocator's varlena size always matches.
 *
 * Growth in place.  Given an allocator with in_place set, the caller hands
 * the buffer over, and a set of integer keys grows within it: the buffer
 * is reallocated (which for a large block remaps pages instead of copying
 * them) and the table is merged into the body in place, with the sorted
 * table records and the rest of the body parked at the buffer's end (see
 * consolidate_in_place).  The set then never needs a second buffer of its
 * size: over 200 000 random 64-bit customers (test_custset) the buffers
 * peak at 10.8 bytes per customer, against 25 when each growth writes a
 * new buffer and the caller frees the old one.
 *
 * Canonical form.  A compact state (no hash table, no spare bytes) depends
 * only on the set and the extra bytes: equal sets give byte-equal compact
 * states and byte-equal encodings, whatever the insertion order.  States
 * that are stored (the final function of a partial aggregate, rollup) and
 * send/out work from custset_compact().
 *
 * Binary form (big-endian header, then the body):
 *	 u8 version (KPI_STATE_VERSION), u8 type, u8 kind, u8 kind2,
 *	 u32 record count, u32 body bytes, body.
 * Body, record after record; an integer or hash key is a varint (LEB128) of
 * its distance to the previous record's key (unsigned 64-bit difference),
 * or for the first record (and a pair's second key after a change of the
 * first key) of its zigzag value (0, -1, 1, -2 ... as 0, 1, 2, 3 ...); a
 * uuid is 16 raw bytes; a text key is a varint length and its bytes.  Payloads: retention flags one byte (1..3),
 * row counts a varint >= 1.  Decoding checks every byte: strict ascending
 * order, minimal varints, ranges; anything else is KPI_ERR_BINARY.
 *
 * Text form, fields in this order (kind2 only for customer_order):
 *	 (v:1,kind:int8,n:3,customers:[1=both,5=before,9=after])     retention
 *	 (v:1,kind:text,n:2,customers:["acme"=[601,603],"zeta"=[600]])  cohort
 *	 (v:1,kind:uuid,n:1,customers:[0f0e...=4])                 order_count
 *	 (v:1,kind:int8,order_kind:text,n:1,customers:[7=["A1","B2"]])
 *	 (v:1,kind:int8,n:2,orders:[10,11])                         orders
 * n is the number of distinct customers (orders for CUSTSET_ORDERS).
 * Keys: int8 and hash in decimal, uuid as 8-4-4-4-12 lowercase hex, text in
 * double quotes where every byte outside 0x20-0x7E and each of " \ ( ) [ ]
 * is written \xHH (two lowercase hex digits); nothing else is escaped.
 * Lists are in ascending order without duplicates; an empty state is
 * (v:1,kind:none,n:0,customers:[]).
 *
 * IDENTIFICATION
 *	  src/core/custset_core.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_CUSTSET_CORE_H
#define KPI_CUSTSET_CORE_H

#include "codec.h"

typedef enum custset_type
{
	CUSTSET_RETENTION = 1,
	CUSTSET_COHORT = 2,
	CUSTSET_ORDER_COUNT = 3,
	CUSTSET_CUSTOMER_ORDER = 4,
	CUSTSET_ORDERS = 5
} custset_type;

typedef enum custset_kind
{
	CUSTSET_KIND_NONE = 0,		/* no key seen yet */
	CUSTSET_KIND_INT = 1,		/* integer, smallint, bigint: "int8" */
	CUSTSET_KIND_UUID = 2,		/* "uuid" */
	CUSTSET_KIND_TEXT = 3,		/* text, varchar (bytes): "text" */
	CUSTSET_KIND_HASH = 4		/* 64-bit hash of another type: "hash" */
} custset_kind;

/* Retention payload: the customer ordered before / at-or-after the cutoff. */
#define CUSTSET_BEFORE 1
#define CUSTSET_AFTER 2

/* Largest buffer: a varlena of PostgreSQL's MaxAllocSize, less its 8-byte header. */
#define CUSTSET_MAX_SIZE ((size_t) 0x3FFFFFFF - 8)

/* One key; bytes are borrowed, never copied by the struct itself. */
typedef struct custset_key
{
	custset_kind kind;
	int64_t		value;			/* CUSTSET_KIND_INT and CUSTSET_KIND_HASH */
	const uint8_t *bytes;		/* CUSTSET_KIND_UUID (16) and CUSTSET_KIND_TEXT */
	size_t		len;			/* CUSTSET_KIND_TEXT: number of bytes */
} custset_key;

/* One record as iteration returns it (see the table above). */
typedef struct custset_record
{
	custset_key key;			/* customer; the order for CUSTSET_ORDERS */
	custset_key key2;			/* period (kind INT) or order; else kind NONE */
	uint64_t	payload;		/* retention flags, row count; else 0 */
} custset_record;

/*
 * The buffer header.  The glue may read total_size and must not write
 * anything but the extra bytes.
 */
typedef struct custset
{
	uint8_t		type;			/* custset_type */
	uint8_t		kind;			/* custset_kind of the (first) key */
	uint8_t		kind2;			/* custset_kind of the second key, or NONE */
	uint8_t		pending;		/* 1: the pending slot holds a record; 0 in
								 * a compact state (see "pending") */
	uint32_t	extra_size;		/* bytes after the header, multiple of 8 */
	uint32_t	total_size;		/* bytes of the whole buffer */
	uint32_t	body_size;		/* bytes of the sorted body */
	uint32_t	nrecords;		/* records in the body */
	uint32_t	table_off;		/* offset of the hash table; 0 when compact */
	uint32_t	nslots;			/* slots of the hash table; 0 when compact */
	uint32_t	nappend;		/* records in the hash table */
	uint32_t	heap_size;		/* text bytes at the end of the buffer */
	uint32_t	nbody_adds;		/* records appended to the body since the
								 * table was made */
	int64_t		last_key;		/* integer first keys: the body's last one */
	int64_t		table_max;		/* integer first keys: the table's largest */
	uint32_t	run_size;		/* bytes of the run after the body */
	uint32_t	run_nrecords;	/* records in the run */
	int64_t		run_last_key;	/* the run's last key */
} custset;

typedef struct custset_iter custset_iter;

static inline custset_key
custset_key_int(int64_t v)
{
	custset_key k = {CUSTSET_KIND_INT, v, NULL, 0};

	return k;
}

static inline custset_key
custset_key_hash(uint64_t h)
{
	custset_key k = {CUSTSET_KIND_HASH, (int64_t) h, NULL, 0};

	return k;
}

static inline custset_key
custset_key_uuid(const uint8_t *bytes16)
{
	custset_key k = {CUSTSET_KIND_UUID, 0, bytes16, 16};

	return k;
}

static inline custset_key
custset_key_text(const void *bytes, size_t len)
{
	custset_key k = {CUSTSET_KIND_TEXT, 0, (const uint8_t *) bytes, len};

	return k;
}

/*
 * custset_create
 *		A new, empty, compact state; extra_size (rounded up to 8) zeroed
 *		bytes are reserved for the caller.
 */
extern kpi_status custset_create(custset_type type, size_t extra_size,
								 const kpi_allocator *mem, custset **out,
								 kpi_msg *msg);

/* custset_extra: the caller's extra bytes (8-byte aligned). */
static inline void *
custset_extra(custset *s)
{
	return (uint8_t *) s + sizeof(custset);
}

/*
 * custset_add
 *		Adds one record: key2 is the period (custset_key_int) for cohorts, the
 *		order for CUSTSET_CUSTOMER_ORDER, else NULL; payload is the retention
 *		flags, the row count (1 per row) or 0.  May replace *state with a
 *		larger buffer: the old one is the caller's to free, unless
 *		mem->in_place, when the call reallocs or frees it itself (see
 *		"Growth in place").  KPI_ERR_MISMATCH when a key's kind differs from
 *		the state's, KPI_ERR_PARAM for a payload or period the type does not
 *		allow.
 */
extern kpi_status custset_add(custset **state, const custset_key *key,
							  const custset_key *key2, uint64_t payload,
							  const kpi_allocator *mem, kpi_msg *msg);

/*
 * True when key is the integer key of the last record of the sorted body
 * or of the run of a one-key set, which the set holds already: lines of an
 * order come one after the other (see "gap" and "run" above).
 */
static inline bool
custset_is_last_key(const custset *s, const custset_key *key)
{
	return key->kind == (custset_kind) s->kind && s->nrecords > 0 &&
		(key->kind == CUSTSET_KIND_INT || key->kind == CUSTSET_KIND_HASH) &&
		(key->value == s->last_key || (s->run_size > 0 && key->value == s->run_last_key));
}

/*
 * custset_merge
 *		*dst := *dst UNION src, merging payloads; src is not modified (it
 *		may be *dst itself).  O(|dst| + |src|); a src of less than a quarter
 *		of dst goes through dst's hash table instead (amortised).  May
 *		replace *dst (the old buffer is the caller's to free, unless
 *		mem->in_place, as for custset_add).  KPI_ERR_MISMATCH for other
 *		types, key kinds or extra sizes, KPI_ERR_OVERFLOW when a row count
 *		passes INT64_MAX.
 */
extern kpi_status custset_merge(custset **dst, const custset *src,
								const kpi_allocator *mem, kpi_msg *msg);

/* True when the state is in canonical compact form (see above). */
extern bool custset_is_compact(const custset *s);

/* custset_compact: a new canonical copy of s (s is not modified). */
extern kpi_status custset_compact(const custset *s, const kpi_allocator *mem,
								  custset **out, kpi_msg *msg);

/*
 * custset_consolidate
 *		Moves every record of *state into the sorted body, leaving an empty
 *		table (or none, when a run had to be merged), or with compact makes
 *		*state canonical compact; the set stays the same.  Readers then walk the body alone, where a table would cost
 *		them a sorted copy of its records.  With mem->in_place this happens
 *		within the buffer as far as it can (see "Growth in place"); else
 *		*state may be replaced as by custset_add, and is updated in place
 *		otherwise.
 */
extern kpi_status custset_consolidate(custset **state, bool compact,
									  const kpi_allocator *mem, kpi_msg *msg);

/*
 * True when every record is in the sorted body (none in the run or the
 * hash table): then nrecords counts the distinct records.
 */
extern bool custset_all_in_body(const custset *s);

/* True when the state holds no record. */
extern bool custset_is_empty(const custset *s);

/*
 * Iteration over the distinct records in ascending key order, payloads
 * merged.  Record keys point into s (or into scratch memory freed by
 * custset_iter_end), valid until the next call.  custset_iter_end frees the
 * iterator and reports an error met on the way (KPI_ERR_OVERFLOW).
 */
extern kpi_status custset_iter_begin(const custset *s, const kpi_allocator *mem,
									 custset_iter **it, kpi_msg *msg);
extern bool custset_iter_next(custset_iter *it, custset_record *rec);
extern kpi_status custset_iter_end(custset_iter *it, kpi_msg *msg);

/* Comparison of two keys of the same kind: <0, 0, >0. */
extern int	custset_key_compare(const custset_key *a, const custset_key *b);

/*
 * Binary form; encode needs a compact state (KPI_ERR_PARAM otherwise).
 * decode reads one state from r (which may hold other fields around it) and
 * returns a new compact state with extra_size zeroed extra bytes.
 */
extern size_t custset_encoded_size(const custset *compact);
extern kpi_status custset_encode(const custset *compact, kpi_writer *w, kpi_msg *msg);
extern kpi_status custset_decode(kpi_reader *r, custset_type type, size_t extra_size,
								 const kpi_allocator *mem, custset **out,
								 kpi_msg *msg);

/*
 * Text form.  custset_format writes "(v:1,kind:...,n:...,customers:[...])"
 * and custset_parse reads it.  A glue type with fields of its own (the
 * line-level AOV) nests the set as one field's value without the version,
 * "(v:1,sum:...,orders:(kind:int8,n:2,orders:[7,9]))": custset_format_nested
 * writes "(kind:...)" and custset_parse_nested reads it from the field's
 * value (len bytes, not NUL-terminated).
 */
extern kpi_status custset_format(const custset *s, const kpi_allocator *mem,
								 kpi_strbuf *out, kpi_msg *msg);
extern kpi_status custset_format_nested(const custset *s, const kpi_allocator *mem,
										kpi_strbuf *out, kpi_msg *msg);
extern kpi_status custset_parse(const char *text, custset_type type, size_t extra_size,
								const kpi_allocator *mem, custset **out, kpi_msg *msg);
extern kpi_status custset_parse_nested(const char *text, size_t len, custset_type type,
									   size_t extra_size, const kpi_allocator *mem,
									   custset **out, kpi_msg *msg);

#endif							/* KPI_CUSTSET_CORE_H */
