/*-------------------------------------------------------------------------
 *
 * funnel_core.h
 *	  Funnels: how far entities get through ordered steps within a time
 *	  window (kpi.window_funnel, kpi.funnel, kpi.funnel_state).
 *
 * Semantics (per entity; ClickHouse windowFunnel's, with the best chain
 * found exactly).  Every row is reduced to (entity, ts, steps) where bit
 * k-1 of steps says that condition k is true on the row; such a row is an
 * event (ts, k) for each of its bits.  Events are taken in (ts, step)
 * order, so equal timestamps count as in order and a row true for several
 * conditions can advance several steps (1 then 2 ...).  A chain is a
 * sequence of events for steps 1, 2, ..., k in that order whose step-k
 * event is at most `window` microseconds after its step-1 event (exactly
 * `window` later still counts).  The level is the largest k for which a
 * chain exists; with no step-1 event it is 0.  Later step-1 events start
 * new chains and the best chain counts.  Modes (bits of `modes`):
 *
 * - FUNNEL_STRICT_INCREASE: consecutive events of a chain need strictly
 *	 increasing timestamps.
 * - FUNNEL_STRICT_ONCE: the events of a chain come from distinct rows.
 * - FUNNEL_STRICT_ORDER and FUNNEL_STRICT_DEDUPLICATION end the scan of
 *	 the entity's events early; the level is then the best chain among the
 *	 events before the end.  The events are scanned in groups of equal
 *	 (ts, step), a row matching no condition counting as step 0 (so it
 *	 comes before the steps of its timestamp).  With P the events scanned
 *	 so far and L(P) the level of P, the scan ends before group (ts, k)
 *	 when
 *	   strict_order: P holds a step-1 event and either k = 0, or k >= 2 and
 *		 L(P) < k - 1 (a row matching nothing, or a step whose predecessor
 *		 no chain has reached);
 *	   strict_deduplication: k >= 2 and L(P) >= k (a repeat of a step
 *		 already reached);
 *	 and, for strict_deduplication, right after a group (ts, k >= 2) of two
 *	 or more events that brought L(P) to k or more (its second event is a
 *	 repeat).  Without strict_once this is exactly event-by-event
 *	 scanning; it keeps strict_once results independent of row order.
 *	 Rows matching no condition are stored only in strict_order mode; in
 *	 the other modes a state holds only rows that match a step.
 *
 * Times.  For each step k an entity reaches, its time to step k is
 * measured on the chain that reaches step k first: the step-k event is
 * the earliest, in (ts, step) order, that ends any chain of k steps
 * (within the scan), and the step-1 event is the latest one that starts a
 * chain ending there (the shortest such chain).  The time is the
 * difference of their timestamps; the time to step 1 is 0.  The times of
 * one entity need not grow with k when it restarted: the chain that first
 * reaches step 3 may start after the one that first reached step 2.
 * funnel_evaluate reports, for each step k, the median of the times to
 * step k over the entities reaching k, as percentile_cont(0.5) does: the
 * middle value, or the mean of the two middle values for an even count.
 *
 * Evaluation sorts the events by (entity, ts, steps) and runs, per entity,
 * the dynamic programme that keeps for each level the latest step-1
 * timestamp of a chain reaching it: O(events x steps) after the sort
 * (strict_once adds a small bipartite matching when several rows share a
 * timestamp).  This is exact: a later start never hurts, since the window
 * is the only constraint that involves the start.  For strict_increase
 * the events of one timestamp extend only chains that ended before it.
 * It differs from ClickHouse only where ClickHouse misses a chain, e.g.
 * strict_increase with step 1 at 0 and 5 and step 2 at 5: level 2 here
 * (the chain 0 -> 5), 1 in ClickHouse.
 *
 * Memory.  A state is one contiguous, position-independent block: a
 * 20-byte header and 20 bytes per stored row, with 4-byte alignment.  In
 * PostgreSQL it is the payload of a kpi.funnel_state varlena, behind the
 * KpiStateHeader that every kpi state has (src/kpi.h): the glue allocates
 * blocks with kpi_state_allocator, so a block is always a whole state
 * (large transition states instead live in a memory context of their own,
 * see src/funnel.c).  The block has room for `capacity` rows, of which
 * `nevents` are used; functions that add rows grow it by doubling through
 * mem->realloc(block, new_size), use only the pointer returned and zero
 * the new room.  They never call mem->free on the old block, which is
 * what an aggregate transition value needs: kpi_state_allocator's realloc
 * returns a new state and leaves the old one alone, and nodeAgg copies the
 * new value into the aggregate context and frees the old one itself.
 * Functions that also need temporary memory (sorting) take it from a
 * separate `scratch` allocator and free it before returning.  Rows are
 * kept in arrival order, except where funnel_merge sorts two states of
 * comparable size into one; the FUNNEL_SORTED flag says whether they are
 * in canonical (entity, ts, steps) order.  A canonical block
 * (funnel_canonical_copy) is sorted, has capacity == nevents and no flag
 * but FUNNEL_SORTED, so equal states are equal bytes whatever the arrival
 * order.  A block holds at most FUNNEL_MAX_EVENTS rows (1 GB with the
 * glue's header: about 53.7 million).
 *
 * Entity keys.  A state records the kind of its entity keys: integer ids
 * stored as they are (FUNNEL_KEYS_INT) or 64-bit hashes of other types
 * (FUNNEL_KEYS_HASH; see KpiIdKeys in src/kpi.h).  The kind is one of the
 * parameters, so a state of integer keys and one of hashed keys, which
 * hold keys of two different spaces, never merge.
 *
 * A blank state (nsteps == 0, keys FUNNEL_KEYS_NONE) has no parameters
 * yet: it is what INITCOND can supply, it takes the parameters of its
 * first row, and merging it with any state gives that state.
 *
 * Text form (canonical output; input needs "v" first, then takes the
 * other fields and the events in any order, and whitespace around tokens):
 *	  (v:1,steps:3,window:3600000000,modes:[strict_order,strict_once],
 *	   keys:int,events:[(42,757382400000000,1),(42,757382460000000,6)])
 * window in microseconds; modes in the order listed below; keys "int" or
 * "hash" ("none" only in the blank state); each event is (entity, ts,
 * steps) with entity unsigned and steps the decimal bit mask.  The blank
 * state is (v:1,steps:0,window:0,modes:[],keys:none,events:[]).
 *
 * Binary form (send/recv), big-endian:
 *	  u8 KPI_STATE_VERSION, u8 nsteps, u8 modes, u8 keys, i64 window,
 *	  u32 nevents, nevents x (u64 entity, i64 ts, u32 steps) in canonical
 *	  order
 * 16 + 20 x nevents bytes.  Input accepts any event order.
 *
 * IDENTIFICATION
 *	  src/core/funnel_core.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KPI_FUNNEL_CORE_H
#define KPI_FUNNEL_CORE_H

#include "kpi_core.h"
#include "codec.h"

#define FUNNEL_MAX_STEPS 32

/* Modes, combinable. */
#define FUNNEL_STRICT_INCREASE		0x01
#define FUNNEL_STRICT_ORDER			0x02
#define FUNNEL_STRICT_DEDUPLICATION 0x04
#define FUNNEL_STRICT_ONCE			0x08
#define FUNNEL_ALL_MODES			0x0F

/* Kinds of entity keys (funnel_state.keys, funnel_params.keys). */
#define FUNNEL_KEYS_NONE			0	/* a blank state's */
#define FUNNEL_KEYS_INT				1	/* integer ids as they are */
#define FUNNEL_KEYS_HASH			2	/* 64-bit hashes of other ids */

/* Bits of funnel_state.flags. */
#define FUNNEL_SORTED 0x01			/* rows are in canonical order */

/* The parameters every row and every merged state must agree on. */
typedef struct funnel_params
{
	int			nsteps;			/* 1 .. FUNNEL_MAX_STEPS */
	int64_t		window;			/* microseconds, >= 0 */
	uint32_t	modes;			/* FUNNEL_STRICT_* */
	uint32_t	keys;			/* FUNNEL_KEYS_INT or FUNNEL_KEYS_HASH */
} funnel_params;

/*
 * One stored row, 20 bytes: the 64-bit entity key and timestamp are split
 * into 32-bit halves so that the block needs only 4-byte alignment.  Use
 * the accessors below.  steps == 0 (a row matching no condition) occurs
 * only in strict_order states.
 */
typedef struct funnel_event
{
	uint32_t	entity_hi;
	uint32_t	entity_lo;
	uint32_t	ts_hi;			/* int64 timestamp, two's complement */
	uint32_t	ts_lo;
	uint32_t	steps;			/* bit k-1: condition k is true */
} funnel_event;

/*
 * The state block (the payload of a kpi.funnel_state; the version byte is
 * in the KpiStateHeader in front of it).
 */
typedef struct funnel_state
{
	uint8_t		flags;			/* FUNNEL_SORTED */
	uint8_t		nsteps;			/* 0 = blank */
	uint8_t		modes;
	uint8_t		keys;			/* FUNNEL_KEYS_*; NONE only when blank */
	uint32_t	window_hi;		/* int64 window in microseconds */
	uint32_t	window_lo;
	uint32_t	nevents;		/* rows stored */
	uint32_t	capacity;		/* rows the block has room for */
	funnel_event events[];
} funnel_state;

/* PostgreSQL's MaxAllocSize, less room for the glue's state header */
#define FUNNEL_MAX_BYTES (0x3FFFFFFF - 16)
#define FUNNEL_MAX_EVENTS \
	((uint32_t) ((FUNNEL_MAX_BYTES - sizeof(funnel_state)) / sizeof(funnel_event)))

/* What funnel_evaluate reports; index k - 1 is step k. */
typedef struct funnel_result
{
	int			nsteps;
	int64_t		entities[FUNNEL_MAX_STEPS]; /* entities reaching at least
											 * step k */
	double		median_time[FUNNEL_MAX_STEPS];	/* microseconds from step 1
												 * to step k; NaN when no
												 * entity reaches k */
} funnel_result;

static inline uint64_t
funnel_event_entity(const funnel_event *e)
{
	return ((uint64_t) e->entity_hi << 32) | e->entity_lo;
}

static inline int64_t
funnel_event_ts(const funnel_event *e)
{
	return (int64_t) (((uint64_t) e->ts_hi << 32) | e->ts_lo);
}

/* funnel_state_size: bytes of the block, room for capacity rows included. */
static inline size_t
funnel_state_size(const funnel_state *s)
{
	return sizeof(funnel_state) + (size_t) s->capacity * sizeof(funnel_event);
}

/*
 * funnel_parse_modes
 *	  Parses a comma-separated list of mode names (len bytes, need not be
 *	  NUL-terminated; whitespace around names ignored, case-insensitive,
 *	  repeats allowed; an empty or all-blank text means no mode).  An
 *	  unknown name or an empty entry is KPI_ERR_PARAM naming it.
 */
extern kpi_status funnel_parse_modes(const char *text, size_t len, uint32_t *modes,
									 kpi_msg *msg);

/* funnel_format_modes: appends "strict_increase,strict_order" etc. */
extern void funnel_format_modes(uint32_t modes, kpi_strbuf *sb);

/*
 * funnel_check_params
 *	  KPI_ERR_PARAM unless 1 <= nsteps <= 32, window >= 0, modes holds
 *	  only known bits and keys is FUNNEL_KEYS_INT or FUNNEL_KEYS_HASH.
 */
extern kpi_status funnel_check_params(const funnel_params *p, kpi_msg *msg);

/*
 * funnel_get_params: the parameters of a state (nsteps 0 and keys
 * FUNNEL_KEYS_NONE when blank).
 */
extern void funnel_get_params(const funnel_state *s, funnel_params *p);

/*
 * funnel_create
 *	  A new empty state with the given parameters (checked), or a blank one
 *	  when params is NULL, with room for capacity rows, allocated with mem.
 */
extern kpi_status funnel_create(const funnel_params *params, uint32_t capacity,
								const kpi_allocator *mem, funnel_state **out,
								kpi_msg *msg);

/*
 * funnel_add_row
 *	  The transition: adds one input row (the glue skips rows with a NULL
 *	  timestamp and passes NULL conditions as false).  A blank state takes
 *	  params (checked); otherwise params must equal the state's
 *	  (KPI_ERR_PARAM naming the difference).  steps must have no bit at or
 *	  above nsteps (KPI_ERR_PARAM).  A row matching no condition is stored
 *	  only in strict_order mode.  May grow and move *state (see above);
 *	  KPI_ERR_LIMIT past FUNNEL_MAX_EVENTS rows.
 */
extern kpi_status funnel_add_row(funnel_state **state, const kpi_allocator *mem,
								 const funnel_params *params, uint64_t entity,
								 int64_t ts, uint32_t steps, kpi_msg *msg);

/*
 * funnel_merge
 *	  The combine: adds the rows of src to *dst (src != *dst, unchanged).
 *	  A blank side is the identity; otherwise the parameters, the kind of
 *	  entity keys included, must agree (KPI_ERR_MISMATCH naming what
 *	  differs).  May grow and move *dst;
 *	  KPI_ERR_LIMIT past FUNNEL_MAX_EVENTS rows.
 *	  When src has at least a quarter as many rows as *dst, the result is
 *	  sorted: an unsorted side is sorted first (temporary memory from
 *	  scratch, as funnel_evaluate takes), then the two are merged in one
 *	  linear pass.  That is how the partial states of parallel workers,
 *	  which arrive sorted (see funnel_write_canonical), are combined
 *	  without sorting all rows again at the end.  A smaller src is
 *	  appended, so that combining many small states costs a sort at the
 *	  end rather than a merge each.
 */
extern kpi_status funnel_merge(funnel_state **dst, const funnel_state *src,
							   const kpi_allocator *mem, const kpi_allocator *scratch,
							   kpi_msg *msg);

/*
 * funnel_canonical_copy
 *	  A new canonical block (sorted, no spare room) holding the same state,
 *	  allocated with mem; what a final function returns for storage.  The
 *	  sort's temporary memory (see funnel_evaluate) comes from scratch.
 */
extern kpi_status funnel_canonical_copy(const funnel_state *s, const kpi_allocator *mem,
										const kpi_allocator *scratch, funnel_state **out,
										kpi_msg *msg);

/*
 * funnel_write_canonical
 *	  Writes the canonical block of s into out, which has room for
 *	  s->nevents rows (sizeof(funnel_state) + nevents * sizeof(funnel_event)
 *	  bytes) and does not overlap s: what funnel_canonical_copy does in
 *	  memory it allocates, for a caller that has the memory already.
 */
extern kpi_status funnel_write_canonical(const funnel_state *s, funnel_state *out,
										 const kpi_allocator *scratch, kpi_msg *msg);

/*
 * funnel_evaluate
 *	  The funnel over all entities: per step, the entities reaching it and
 *	  the median time to it.  Read-only.  Unless the state is
 *	  FUNNEL_SORTED it works on a sorted copy of the rows; the sort takes
 *	  120 kB and a temporary array as large as the largest group of rows
 *	  the first radix pass makes (all rows at worst, e.g. one entity).
 *	  The times to each step take 8 bytes per entity reaching it.  All of
 *	  it comes from mem and is freed before returning.  A blank state
 *	  gives nsteps = 0.
 */
extern kpi_status funnel_evaluate(const funnel_state *s, const kpi_allocator *mem,
								  funnel_result *out, kpi_msg *msg);

/*
 * funnel_max_level
 *	  The highest level any entity reaches (0 for a blank or empty state),
 *	  without the times: window_funnel, whose glue adds every row of a
 *	  group with entity key 0.  Memory as funnel_evaluate.
 */
extern kpi_status funnel_max_level(const funnel_state *s, const kpi_allocator *mem,
								   int *level, kpi_msg *msg);

/*
 * funnel_parse
 *	  Reads the text form (NUL-terminated) into a new canonical block
 *	  allocated with mem (sorting with scratch when the events are not in
 *	  order).  Anything malformed, out of range or inconsistent with the
 *	  parameters is KPI_ERR_TEXT; an unknown version KPI_ERR_VERSION.
 */
extern kpi_status funnel_parse(const char *text, const kpi_allocator *mem,
							   const kpi_allocator *scratch, funnel_state **out,
							   kpi_msg *msg);

/*
 * funnel_format
 *	  Appends the canonical text form to sb (sorting a copy when needed);
 *	  KPI_ERR_NOMEM if mem or sb ran out of memory.
 */
extern kpi_status funnel_format(const funnel_state *s, const kpi_allocator *mem,
								kpi_strbuf *sb, kpi_msg *msg);

/* funnel_encoded_size: bytes funnel_encode will write. */
extern size_t funnel_encoded_size(const funnel_state *s);

/*
 * funnel_encode
 *	  Writes the binary form; w needs funnel_encoded_size() bytes.  Sorts a
 *	  copy with mem when the state is not FUNNEL_SORTED.
 */
extern kpi_status funnel_encode(const funnel_state *s, const kpi_allocator *mem,
								kpi_writer *w, kpi_msg *msg);

/*
 * funnel_decode
 *	  Reads the binary form into a new canonical block allocated with mem
 *	  (sorting with scratch when the events are not in order).  Anything
 *	  but a complete, consistent encoding with nothing left over is
 *	  KPI_ERR_BINARY (KPI_ERR_VERSION for an unknown version byte).
 */
extern kpi_status funnel_decode(const uint8_t *buf, size_t len, const kpi_allocator *mem,
								const kpi_allocator *scratch, funnel_state **out,
								kpi_msg *msg);

#endif							/* KPI_FUNNEL_CORE_H */
