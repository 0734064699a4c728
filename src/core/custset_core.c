/*-------------------------------------------------------------------------
 *
 * custset_core.c
 *	  Exact, mergeable sets of customer (and order) keys (see custset_core.h).
 *
 * The code is organised around record streams: the sorted body
 * (decode_record) and the records of the hash table (copied out and sorted),
 * each strictly ascending; a merger walks up to four of them in key order,
 * merging the payloads of equal keys.  Every operation that changes the body
 * (consolidation, union, compaction, text input) writes the merger's output
 * through a body_writer into a fresh buffer, sized up front for the sum of
 * the inputs and grown by half in the rare case that interleaving makes the
 * delta codes longer.
 *
 * IDENTIFICATION
 *	  src/core/custset_core.c
 *
 *-------------------------------------------------------------------------
 */
#include "custset_core.h"

#include <string.h>

/*
 * Hash table sizing: after a consolidation into n records, the table can
 * take n / TABLE_DIVISOR new records at a load of at most 3/4.  When most
 * records of the merged table were already in the body (customers coming
 * back), the table doubles instead, up to what holds every record, or
 * TABLE_CAP_BYTES, whichever is smaller: then repeat customers are merged
 * in the table and consolidations stop.
 */
#define TABLE_DIVISOR 4
#define TABLE_MIN_SLOTS 64
#define TABLE_CAP_BYTES ((size_t) 16 << 20)

/*
 * Integer adds park their record (see "pending" in custset_core.h) only
 * when the table is larger than this: a smaller one stays in the CPU's
 * caches, and parking would only add work.  The unit tests build the core
 * once more with 0, so that their small sets park too.
 */
#ifndef CUSTSET_PARK_MIN_TABLE_BYTES
#define CUSTSET_PARK_MIN_TABLE_BYTES ((size_t) 1 << 20)
#endif

#define MAX_SLOT_SIZE 40
#define MAX_SOURCES 8

typedef enum payload_kind
{
	PAYLOAD_NONE,
	PAYLOAD_FLAGS,				/* merge by OR, values 1..3 */
	PAYLOAD_COUNT				/* merge by adding, values 1..INT64_MAX */
} payload_kind;

/* What a state's records look like: derived from the header's type and kinds. */
typedef struct set_layout
{
	custset_type type;
	int			ncomp;			/* keys per record, 1 or 2 */
	custset_kind kind[2];
	payload_kind payload;
	size_t		comp_off[2];	/* offsets of the keys in a slot */
	size_t		payload_off;	/* offset of the uint64 payload in a slot */
	size_t		slot_size;
	size_t		max_record;		/* largest body bytes of a record; 0 with text */
	bool		int_keys;		/* every key is an integer or a hash */
} set_layout;

/* A record of a set of integer keys (k2 = 0 in a one-key set). */
typedef struct int_rec
{
	int64_t		k1;
	int64_t		k2;
	uint64_t	payload;
} int_rec;

/* A stream of strictly ascending records: a body, or sorted slots. */
typedef struct rec_source
{
	bool		is_body;
	const uint8_t *p;			/* body: next byte; slots: next slot */
	const uint8_t *start;		/* body: where cur begins */
	const uint8_t *end;
	const uint8_t *base;		/* slots: buffer that text offsets refer to */
	custset_record rec[2];		/* body: current and previous record */
	int			cur_index;
	const custset_record *cur;	/* current record, NULL when exhausted */
	bool		corrupt;		/* body: malformed bytes met */
} rec_source;

/* Walks up to MAX_SOURCES sources in key order, merging equal keys. */
typedef struct merger
{
	set_layout	L;
	rec_source	src[MAX_SOURCES];
	int			nsrc;
	kpi_status	status;
	uint8_t    *scratch[2];		/* sorted copies of hash tables */
	int			nscratch;
	size_t		max_body;		/* body bytes the sources take on their own */
	const kpi_allocator *mem;
} merger;

/*
 * Appends records in ascending order to the body of s, which is followed by
 * area free bytes; s grows when the body reaches limit.
 */
typedef struct body_writer
{
	const set_layout *L;
	custset    *s;
	size_t		limit;			/* bytes of s for header, extra and body */
	size_t		area;
	const kpi_allocator *mem;
	custset_record prev;
	bool		has_prev;
} body_writer;

/*
 * An iteration: the merger's walk, or for a set of integer keys a walk
 * over the body of a compact form (s itself, or a compact copy), decoded
 * record by record.
 */
struct custset_iter
{
	merger		m;
	bool		int_walk;
	custset    *copy;			/* compact copy to free, or NULL */
	const uint8_t *p;
	const uint8_t *end;
	int_rec		prev;
	bool		has_prev;
};

/* The extra bytes and the body start 8-byte aligned. */
_Static_assert(sizeof(custset) % 8 == 0, "custset header must be a multiple of 8 bytes");

static const char *const kind_names[] = {"none", "int8", "uuid", "text", "hash"};
static const char *const type_names[] = {
	"", "retention", "cohort", "order count", "customer order", "orders"
};

/* ------------------------------------------------------------ layout */

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

static int
type_ncomp(custset_type type)
{
	return type == CUSTSET_COHORT || type == CUSTSET_CUSTOMER_ORDER ? 2 : 1;
}

static payload_kind
type_payload(custset_type type)
{
	if (type == CUSTSET_RETENTION)
		return PAYLOAD_FLAGS;
	if (type == CUSTSET_ORDER_COUNT)
		return PAYLOAD_COUNT;
	return PAYLOAD_NONE;
}

/* The second key's kind of an empty state of this type. */
static custset_kind
type_empty_kind2(custset_type type)
{
	return type == CUSTSET_COHORT ? CUSTSET_KIND_INT : CUSTSET_KIND_NONE;
}

static bool
kind_valid(int kind)
{
	return kind >= CUSTSET_KIND_INT && kind <= CUSTSET_KIND_HASH;
}

static inline bool
kind_is_integer(custset_kind kind)
{
	return kind == CUSTSET_KIND_INT || kind == CUSTSET_KIND_HASH;
}

static void
layout_init(set_layout *L, custset_type type, custset_kind kind, custset_kind kind2)
{
	size_t		off = 0;

	L->type = type;
	L->ncomp = type_ncomp(type);
	L->kind[0] = kind;
	L->kind[1] = L->ncomp == 2 ? kind2 : CUSTSET_KIND_NONE;
	L->payload = type_payload(type);
	L->max_record = L->payload == PAYLOAD_FLAGS ? 1 : L->payload == PAYLOAD_COUNT ? KPI_VARINT_MAX : 0;
	for (int c = 0; c < L->ncomp; c++)
	{
		L->comp_off[c] = off;
		off += L->kind[c] == CUSTSET_KIND_UUID ? 16 : 8;
		L->max_record += L->kind[c] == CUSTSET_KIND_UUID ? 16 : KPI_VARINT_MAX;
	}
	if (L->kind[0] == CUSTSET_KIND_TEXT || L->kind[1] == CUSTSET_KIND_TEXT)
		L->max_record = 0;
	L->payload_off = off;
	L->slot_size = off + (L->payload != PAYLOAD_NONE ? 8 : 0);
	L->int_keys = kind_is_integer(L->kind[0]) && (L->ncomp == 1 || kind_is_integer(L->kind[1]));
}

/*
 * The slot size and the largest body record of a set of integer keys,
 * as layout_init computes them, for the fast path of custset_add, which
 * does without a layout.
 */
static inline size_t
int_slot_size(int ncomp, payload_kind pk)
{
	return (size_t) ncomp * 8 + (pk != PAYLOAD_NONE ? 8 : 0);
}

static inline size_t
int_max_record(payload_kind pk)
{
	return KPI_VARINT_MAX + (pk == PAYLOAD_FLAGS ? 1 : pk == PAYLOAD_COUNT ? KPI_VARINT_MAX : 0);
}

static void
layout_of(const custset *s, set_layout *L)
{
	layout_init(L, (custset_type) s->type, (custset_kind) s->kind, (custset_kind) s->kind2);
}

static size_t
body_off(const custset *s)
{
	return sizeof(custset) + s->extra_size;
}

static const uint8_t *
body_ptr(const custset *s)
{
	return (const uint8_t *) s + body_off(s);
}

/* Where the hash table starts (8-byte aligned; see table_init). */
static size_t
slots_off(const custset *s)
{
	return s->table_off;
}

/* The end of the body, 8-byte aligned. */
static size_t
body_end8(const custset *s)
{
	return align8(body_off(s) + s->body_size);
}

/* Bytes of a table of nslots slots, its occupancy bitmap and the pending slot. */
static size_t
table_bytes(const set_layout *L, size_t nslots)
{
	return (nslots + 1) * L->slot_size + align8((nslots + 7) / 8);
}

/* The pending slot of s, whose slots take slot_size bytes: after the bitmap. */
static inline uint8_t *
pending_slot(const custset *s, size_t slot_size)
{
	return (uint8_t *) s + slots_off(s) + (size_t) s->nslots * slot_size +
		align8(((size_t) s->nslots + 7) / 8);
}

/* Records a table of nslots slots takes before it is full (load 3/4). */
static size_t
table_capacity(size_t nslots)
{
	return nslots - nslots / 4;
}

/*
 * Records of s, counting a key again for each of body, run, table and
 * pending record that holds it.
 */
static size_t
records_bound(const custset *s)
{
	return (size_t) s->nrecords + s->run_nrecords + s->nappend + s->pending;
}

/* Free bytes between the table and the text heap. */
static size_t
heap_room(const custset *s, const set_layout *L)
{
	size_t		used = slots_off(s) + table_bytes(L, s->nslots) + s->heap_size;

	return s->total_size > used ? s->total_size - used : 0;
}

/* ------------------------------------------------------------ keys */

static int
bytes_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t		n = alen < blen ? alen : blen;
	int			c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

static inline int
key_compare(custset_kind kind, const custset_key *a, const custset_key *b)
{
	if (kind_is_integer(kind))
		return (a->value > b->value) - (a->value < b->value);
	if (kind == CUSTSET_KIND_UUID)
		return memcmp(a->bytes, b->bytes, 16);
	return bytes_compare(a->bytes, a->len, b->bytes, b->len);
}

int
custset_key_compare(const custset_key *a, const custset_key *b)
{
	return key_compare(a->kind, a, b);
}

static inline int
record_compare(const set_layout *L, const custset_record *a, const custset_record *b)
{
	int			c = key_compare(L->kind[0], &a->key, &b->key);

	if (c != 0 || L->ncomp == 1)
		return c;
	return key_compare(L->kind[1], &a->key2, &b->key2);
}

/* ------------------------------------------------------------ records */

/* The largest number of body bytes rec can take. */
static size_t
record_max_size(const set_layout *L, const custset_record *rec)
{
	size_t		n = 0;

	if (L->max_record > 0)
		return L->max_record;
	for (int c = 0; c < L->ncomp; c++)
	{
		const custset_key *k = c == 0 ? &rec->key : &rec->key2;

		if (kind_is_integer(L->kind[c]))
			n += KPI_VARINT_MAX;
		else if (L->kind[c] == CUSTSET_KIND_UUID)
			n += 16;
		else
			n += kpi_varint_size(k->len) + k->len;
	}
	if (L->payload == PAYLOAD_FLAGS)
		n += 1;
	else if (L->payload == PAYLOAD_COUNT)
		n += KPI_VARINT_MAX;
	return n;
}

/* An integer without a predecessor: 0, -1, 1, -2, ... as 0, 1, 2, 3, ... */
static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
}

static inline int64_t
unzigzag(uint64_t u)
{
	return (int64_t) (u >> 1) ^ -(int64_t) (u & 1);
}

static uint8_t *
encode_key(custset_kind kind, uint8_t *p, const custset_key *k, const custset_key *prev)
{
	if (kind_is_integer(kind))
		return kpi_varint_put(p, prev != NULL ? (uint64_t) k->value - (uint64_t) prev->value
							  : zigzag(k->value));
	if (kind == CUSTSET_KIND_UUID)
	{
		memcpy(p, k->bytes, 16);
		return p + 16;
	}
	p = kpi_varint_put(p, k->len);
	if (k->len > 0)
		memcpy(p, k->bytes, k->len);
	return p + k->len;
}

/* Encodes a record's payload at p: flags one byte, a count a varint. */
static inline uint8_t *
encode_payload(payload_kind pk, uint8_t *p, uint64_t payload)
{
	if (pk == PAYLOAD_FLAGS)
		*p++ = (uint8_t) payload;
	else if (pk == PAYLOAD_COUNT)
		p = kpi_varint_put(p, payload);
	return p;
}

/*
 * Encodes the record r of a set of integer keys, which follows prev (NULL
 * for the first record), at p: the first key as a distance from prev's,
 * the second as a distance from prev's after the same first key, zigzag
 * values otherwise.
 */
static inline __attribute__((always_inline)) uint8_t *
encode_int_record(const set_layout *L, uint8_t *p, const int_rec *prev, const int_rec *r)
{
	p = kpi_varint_put(p, prev != NULL ? (uint64_t) r->k1 - (uint64_t) prev->k1 : zigzag(r->k1));
	if (L->ncomp == 2)
		p = kpi_varint_put(p, prev != NULL && prev->k1 == r->k1 ?
						   (uint64_t) r->k2 - (uint64_t) prev->k2 : zigzag(r->k2));
	return encode_payload(L->payload, p, r->payload);
}

/*
 * Decodes an integer key at p: with prev, a distance from *prev (in
 * *distance) that keeps the key within int64, else a zigzag value.
 * Returns NULL on malformed bytes.
 */
static inline __attribute__((always_inline)) const uint8_t *
decode_int_key(const uint8_t *p, const uint8_t *end, const int64_t *prev, int64_t *key,
			   uint64_t *distance)
{
	uint64_t	u;

	p = kpi_varint_get(p, end, &u);
	if (p == NULL)
		return NULL;
	*distance = u;
	if (prev == NULL)
		*key = unzigzag(u);
	else if (u > (uint64_t) INT64_MAX - (uint64_t) *prev)
		return NULL;
	else
		*key = (int64_t) ((uint64_t) *prev + u);
	return p;
}

/* Decodes a payload at p: flags 1..3, a count 1..INT64_MAX; NULL if bad. */
static inline const uint8_t *
decode_payload(payload_kind pk, const uint8_t *p, const uint8_t *end, uint64_t *payload)
{
	*payload = 0;
	if (pk == PAYLOAD_FLAGS)
	{
		if (p == end || *p < 1 || *p > (CUSTSET_BEFORE | CUSTSET_AFTER))
			return NULL;
		*payload = *p++;
	}
	else if (pk == PAYLOAD_COUNT)
	{
		p = kpi_varint_get(p, end, payload);
		if (p == NULL || *payload < 1 || *payload > INT64_MAX)
			return NULL;
	}
	return p;
}

/*
 * Decodes the record of a set of integer keys after prev (NULL for the
 * first) into out and checks that it comes strictly after prev and that
 * its values are in range.  Returns the position after it, or NULL.
 */
static inline __attribute__((always_inline)) const uint8_t *
decode_int_record(const set_layout *L, const uint8_t *p, const uint8_t *end, const int_rec *prev,
				  int_rec *out)
{
	uint64_t	distance;
	bool		same;

	p = decode_int_key(p, end, prev != NULL ? &prev->k1 : NULL, &out->k1, &distance);
	if (p == NULL || (prev != NULL && distance == 0 && L->ncomp == 1))
		return NULL;
	same = prev != NULL && distance == 0;
	out->k2 = 0;
	if (L->ncomp == 2)
	{
		/* the second key is a distance only after the same first key */
		p = decode_int_key(p, end, same ? &prev->k2 : NULL, &out->k2, &distance);
		if (p == NULL || (same && distance == 0))
			return NULL;
		if (L->type == CUSTSET_COHORT && (out->k2 < INT32_MIN || out->k2 > INT32_MAX))
			return NULL;
	}
	return decode_payload(L->payload, p, end, &out->payload);
}

/* rec as an int_rec, and back (key kinds from the layout). */
static inline void
int_rec_of(const custset_record *rec, int ncomp, int_rec *r)
{
	r->k1 = rec->key.value;
	r->k2 = ncomp == 2 ? rec->key2.value : 0;
	r->payload = rec->payload;
}

static inline void
record_of_int(const set_layout *L, const int_rec *r, custset_record *rec)
{
	rec->key = (custset_key) {L->kind[0], r->k1, NULL, 0};
	rec->key2 = (custset_key) {L->kind[1], r->k2, NULL, 0};
	rec->payload = r->payload;
}

/* Encodes rec, which follows prev (NULL for the first record), at p. */
static uint8_t *
encode_record(const set_layout *L, uint8_t *p, const custset_record *prev,
			  const custset_record *rec)
{
	if (L->int_keys)
	{
		int_rec		ip,
					ir;

		int_rec_of(rec, L->ncomp, &ir);
		if (prev != NULL)
			int_rec_of(prev, L->ncomp, &ip);
		return encode_int_record(L, p, prev != NULL ? &ip : NULL, &ir);
	}
	p = encode_key(L->kind[0], p, &rec->key, prev != NULL ? &prev->key : NULL);
	if (L->ncomp == 2)
	{
		bool		same = prev != NULL && key_compare(L->kind[0], &rec->key, &prev->key) == 0;

		p = encode_key(L->kind[1], p, &rec->key2, same ? &prev->key2 : NULL);
	}
	return encode_payload(L->payload, p, rec->payload);
}

/*
 * Decodes one key; with prev, an integer is a distance from prev, else it
 * is zigzag-coded.  *order is the sign of key - prev (1 without prev).
 * Returns NULL on malformed bytes.
 */
static inline const uint8_t *
decode_key(custset_kind kind, const uint8_t *p, const uint8_t *end,
		   const custset_key *prev, int *order, custset_key *k)
{
	k->kind = kind;
	*order = 1;
	if (kind_is_integer(kind))
	{
		uint64_t	distance;

		p = decode_int_key(p, end, prev != NULL ? &prev->value : NULL, &k->value, &distance);
		if (prev != NULL)
			*order = distance > 0;
		return p;
	}
	if (kind == CUSTSET_KIND_UUID)
	{
		if (end - p < 16)
			return NULL;
		k->bytes = p;
		k->len = 16;
		p += 16;
	}
	else
	{
		uint64_t	len;

		p = kpi_varint_get(p, end, &len);
		if (p == NULL || len > (uint64_t) (end - p))
			return NULL;
		k->bytes = p;
		k->len = (size_t) len;
		p += len;
	}
	if (prev != NULL)
		*order = key_compare(kind, k, prev);
	return p;
}

/*
 * Decodes the record after prev (NULL for the first) into out and checks
 * that it comes strictly after prev and that its values are in range.
 * Returns the position after it, or NULL.
 */
static inline const uint8_t *
decode_record(const set_layout *L, const uint8_t *p, const uint8_t *end,
			  const custset_record *prev, custset_record *out)
{
	int			order;

	if (L->int_keys)
	{
		int_rec		ip,
					ir;

		if (prev != NULL)
			int_rec_of(prev, L->ncomp, &ip);
		p = decode_int_record(L, p, end, prev != NULL ? &ip : NULL, &ir);
		if (p != NULL)
			record_of_int(L, &ir, out);
		return p;
	}
	p = decode_key(L->kind[0], p, end, prev != NULL ? &prev->key : NULL, &order, &out->key);
	if (p == NULL || order < 0 || (order == 0 && L->ncomp == 1))
		return NULL;
	if (L->ncomp == 2)
	{
		/* the second key is a distance only after the same first key */
		p = decode_key(L->kind[1], p, end, order == 0 ? &prev->key2 : NULL, &order, &out->key2);
		if (p == NULL || order <= 0)
			return NULL;
		if (L->type == CUSTSET_COHORT &&
			(out->key2.value < INT32_MIN || out->key2.value > INT32_MAX))
			return NULL;
	}
	else
		out->key2.kind = CUSTSET_KIND_NONE;
	return decode_payload(L->payload, p, end, &out->payload);
}

/* ------------------------------------------------------------ hash table */

static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	return x;
}

static uint64_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t	h = mix64(n + 0x9E3779B97F4A7C15ULL);
	uint64_t	w;

	for (; n >= 8; p += 8, n -= 8)
	{
		memcpy(&w, p, 8);
		h = mix64(h ^ w);
	}
	if (n > 0)
	{
		w = 0;
		memcpy(&w, p, n);
		h = mix64(h ^ w);
	}
	return h;
}

static inline uint64_t
key_hash(custset_kind kind, const custset_key *k)
{
	if (kind_is_integer(kind))
		return mix64((uint64_t) k->value);
	return hash_bytes(k->bytes, kind == CUSTSET_KIND_UUID ? 16 : k->len);
}

/* The slot of a table of nslots where the search for a record starts. */
static inline size_t
home_of_hashes(uint64_t h1, uint64_t h2, int ncomp, uint32_t nslots)
{
	uint64_t	h = ncomp == 2 ? mix64(h1 ^ (h2 * 0x9E3779B97F4A7C15ULL)) : h1;

	return (size_t) (((unsigned __int128) h * nslots) >> 64);
}

static inline size_t
home_slot(const set_layout *L, const custset_record *rec, uint32_t nslots)
{
	return home_of_hashes(key_hash(L->kind[0], &rec->key),
						  L->ncomp == 2 ? key_hash(L->kind[1], &rec->key2) : 0, L->ncomp, nslots);
}

static inline void
slot_key(custset_kind kind, const uint8_t *p, const uint8_t *base, custset_key *k)
{
	k->kind = kind;
	if (kind_is_integer(kind))
		memcpy(&k->value, p, 8);
	else if (kind == CUSTSET_KIND_UUID)
	{
		k->bytes = p;
		k->len = 16;
	}
	else
	{
		uint32_t	ref[2];		/* offset in the buffer, length */

		memcpy(ref, p, 8);
		k->bytes = base + ref[0];
		k->len = ref[1];
	}
}

static inline void
slot_record(const set_layout *L, const uint8_t *slot, const uint8_t *base, custset_record *r)
{
	slot_key(L->kind[0], slot + L->comp_off[0], base, &r->key);
	if (L->ncomp == 2)
		slot_key(L->kind[1], slot + L->comp_off[1], base, &r->key2);
	else
		r->key2.kind = CUSTSET_KIND_NONE;
	r->payload = 0;
	if (L->payload != PAYLOAD_NONE)
		memcpy(&r->payload, slot + L->payload_off, 8);
}

static inline bool
slot_key_equals(custset_kind kind, const uint8_t *p, const uint8_t *base, const custset_key *k)
{
	if (kind_is_integer(kind))
	{
		int64_t		v;

		memcpy(&v, p, 8);
		return v == k->value;
	}
	if (kind == CUSTSET_KIND_UUID)
		return memcmp(p, k->bytes, 16) == 0;
	{
		uint32_t	ref[2];

		memcpy(ref, p, 8);
		return ref[1] == k->len && (k->len == 0 || memcmp(base + ref[0], k->bytes, k->len) == 0);
	}
}

static bool
slot_used(const uint8_t *bitmap, size_t i)
{
	return (bitmap[i >> 3] >> (i & 7)) & 1;
}

/*
 * Looks the integer keys k1 (and k2 of a pair) up in the table of s, whose
 * slots take slot_size bytes (linear probing): returns their slot with
 * *found set, or the free slot where they belong.  The fast path of
 * custset_add calls it directly; table_probe for sets of integer keys.
 */
static inline __attribute__((always_inline)) uint8_t *
int_table_probe(custset *s, size_t slot_size, int ncomp, int64_t k1, int64_t k2, bool *found)
{
	uint8_t    *slots = (uint8_t *) s + slots_off(s);
	const uint8_t *bitmap = slots + (size_t) s->nslots * slot_size;
	size_t		i = home_of_hashes(mix64((uint64_t) k1), ncomp == 2 ? mix64((uint64_t) k2) : 0, ncomp,
								   s->nslots);

	for (;;)
	{
		uint8_t    *slot = slots + i * slot_size;
		int64_t		v;

		if (!slot_used(bitmap, i))
		{
			*found = false;
			return slot;
		}
		memcpy(&v, slot, 8);
		if (v == k1)
		{
			if (ncomp == 1)
				break;
			memcpy(&v, slot + 8, 8);
			if (v == k2)
				break;
		}
		if (++i == s->nslots)
			i = 0;
	}
	*found = true;
	return slots + i * slot_size;
}

/*
 * Looks rec's key up in the table of s (linear probing): returns its slot
 * with *found set, or the free slot where it belongs.
 */
static uint8_t *
table_probe(custset *s, const set_layout *L, const custset_record *rec, bool *found)
{
	uint8_t    *base = (uint8_t *) s;
	uint8_t    *slots = base + slots_off(s);
	const uint8_t *bitmap = slots + (size_t) s->nslots * L->slot_size;
	size_t		i;

	if (L->int_keys)
		return int_table_probe(s, L->slot_size, L->ncomp, rec->key.value,
							   L->ncomp == 2 ? rec->key2.value : 0, found);
	for (i = home_slot(L, rec, s->nslots);; i = i + 1 == s->nslots ? 0 : i + 1)
	{
		uint8_t    *slot = slots + i * L->slot_size;

		if (!slot_used(bitmap, i))
		{
			*found = false;
			return slot;
		}
		if (slot_key_equals(L->kind[0], slot + L->comp_off[0], base, &rec->key) &&
			(L->ncomp == 1 || slot_key_equals(L->kind[1], slot + L->comp_off[1], base, &rec->key2)))
		{
			*found = true;
			return slot;
		}
	}
}

/*
 * Marks the slot that table_probe returned as used by a record whose first
 * key is first (see table_put).
 */
static inline void
table_claim(custset *s, size_t slot_size, uint8_t *slot, const custset_key *first)
{
	uint8_t    *slots = (uint8_t *) s + slots_off(s);
	size_t		i = (size_t) (slot - slots) / slot_size;

	slots[(size_t) s->nslots * slot_size + (i >> 3)] |= (uint8_t) (1 << (i & 7));
	if (kind_is_integer(first->kind) && (s->nappend == 0 || first->value > s->table_max))
		s->table_max = first->value;
	s->nappend++;
}

/* Writes a record of integer keys k1 (and k2 of a pair) and payload into slot. */
static inline __attribute__((always_inline)) void
int_slot_write(uint8_t *slot, int ncomp, payload_kind pk, int64_t k1, int64_t k2, uint64_t payload)
{
	memcpy(slot, &k1, 8);
	if (ncomp == 2)
		memcpy(slot + 8, &k2, 8);
	if (pk != PAYLOAD_NONE)
		memcpy(slot + (size_t) ncomp * 8, &payload, 8);
}

/* The record of integer keys in slot (see int_slot_write); k2 = 0 in a one-key set. */
static inline __attribute__((always_inline)) void
int_slot_read(const uint8_t *slot, int ncomp, payload_kind pk, int_rec *r)
{
	memcpy(&r->k1, slot, 8);
	r->k2 = 0;
	if (ncomp == 2)
		memcpy(&r->k2, slot + 8, 8);
	r->payload = 0;
	if (pk != PAYLOAD_NONE)
		memcpy(&r->payload, slot + (size_t) ncomp * 8, 8);
}

/*
 * Writes a record of integer keys k1 (and k2 of a pair) and payload into
 * the free slot that int_table_probe returned.
 */
static inline void
int_table_put(custset *s, int ncomp, payload_kind pk, uint8_t *slot, int64_t k1, int64_t k2,
			  uint64_t payload)
{
	custset_key first = custset_key_int(k1);

	int_slot_write(slot, ncomp, pk, k1, k2, payload);
	table_claim(s, int_slot_size(ncomp, pk), slot, &first);
}

/* Writes rec into the free slot; text bytes go to the heap. */
static void
table_put(custset *s, const set_layout *L, uint8_t *slot, const custset_record *rec)
{
	uint8_t    *base = (uint8_t *) s;

	if (L->int_keys)
	{
		int_table_put(s, L->ncomp, L->payload, slot, rec->key.value,
					  L->ncomp == 2 ? rec->key2.value : 0, rec->payload);
		return;
	}
	for (int c = 0; c < L->ncomp; c++)
	{
		const custset_key *k = c == 0 ? &rec->key : &rec->key2;
		uint8_t    *p = slot + L->comp_off[c];

		if (kind_is_integer(L->kind[c]))
			memcpy(p, &k->value, 8);
		else if (L->kind[c] == CUSTSET_KIND_UUID)
			memcpy(p, k->bytes, 16);
		else
		{
			uint32_t	ref[2];

			s->heap_size += (uint32_t) k->len;
			ref[0] = s->total_size - s->heap_size;
			ref[1] = (uint32_t) k->len;
			if (k->len > 0)
				memcpy(base + ref[0], k->bytes, k->len);
			memcpy(p, ref, 8);
		}
	}
	if (L->payload != PAYLOAD_NONE)
		memcpy(slot + L->payload_off, &rec->payload, 8);
	table_claim(s, L->slot_size, slot, &rec->key);
}

/*
 * An empty table of nslots slots, gap bytes (a multiple of 8) after the
 * body; the caller made room.
 */
static void
table_init(custset *s, const set_layout *L, size_t nslots, size_t gap)
{
	uint8_t    *bitmap;

	s->table_off = (uint32_t) (body_end8(s) + gap);
	bitmap = (uint8_t *) s + slots_off(s) + nslots * L->slot_size;
	s->nslots = (uint32_t) nslots;
	s->nappend = 0;
	s->pending = 0;
	s->heap_size = 0;
	s->nbody_adds = 0;
	s->table_max = 0;
	memset(bitmap, 0, align8((nslots + 7) / 8));
}

/* into := into merged with p (OR, or add); KPI_ERR_OVERFLOW past INT64_MAX. */
static inline kpi_status
merge_payload(payload_kind pk, uint64_t *into, uint64_t p)
{
	if (pk == PAYLOAD_FLAGS)
		*into |= p;
	else if (pk == PAYLOAD_COUNT)
	{
		if (p > (uint64_t) INT64_MAX - *into)
			return KPI_ERR_OVERFLOW;
		*into += p;
	}
	return KPI_OK;
}

static kpi_status __attribute__((noinline, cold))
overflow(kpi_msg *msg)
{
	return kpi_fail(msg, KPI_ERR_OVERFLOW, "A customer's order count exceeds %lld.",
					(long long) INT64_MAX);
}

/*
 * Adds the record of integer keys k1 (and k2 of a pair) and payload to the
 * table of s in place: merges the payload into an equal key's, or takes a
 * free slot while the table holds fewer than limit records.  False, s
 * untouched, when it holds limit or a count would overflow.
 */
static inline __attribute__((always_inline)) bool
int_table_add(custset *s, int ncomp, payload_kind pk, int64_t k1, int64_t k2, uint64_t payload,
			  size_t limit)
{
	bool		found;
	uint8_t    *slot = int_table_probe(s, int_slot_size(ncomp, pk), ncomp, k1, k2, &found);

	if (found)
	{
		uint64_t	p;

		if (pk == PAYLOAD_NONE)
			return true;
		memcpy(&p, slot + (size_t) ncomp * 8, 8);
		if (merge_payload(pk, &p, payload) != KPI_OK)
			return false;
		memcpy(slot + (size_t) ncomp * 8, &p, 8);
		return true;
	}
	if (s->nappend >= limit)
		return false;
	int_table_put(s, ncomp, pk, slot, k1, k2, payload);
	return true;
}

/* Bytes a new slot for rec takes in the heap. */
static size_t
heap_need(const set_layout *L, const custset_record *rec)
{
	size_t		n = 0;

	if (L->kind[0] == CUSTSET_KIND_TEXT)
		n += rec->key.len;
	if (L->ncomp == 2 && L->kind[1] == CUSTSET_KIND_TEXT)
		n += rec->key2.len;
	return n;
}

/* ------------------------------------------------------------ sorting */

static inline int
slot_key_compare(custset_kind kind, const uint8_t *a, const uint8_t *b, const uint8_t *base)
{
	if (kind_is_integer(kind))
	{
		int64_t		x,
					y;

		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return (x > y) - (x < y);
	}
	if (kind == CUSTSET_KIND_UUID)
		return memcmp(a, b, 16);
	{
		uint32_t	ra[2],
					rb[2];

		memcpy(ra, a, 8);
		memcpy(rb, b, 8);
		return bytes_compare(base + ra[0], ra[1], base + rb[0], rb[1]);
	}
}

static inline int
slot_compare(const set_layout *L, const uint8_t *a, const uint8_t *b, const uint8_t *base)
{
	int			c = slot_key_compare(L->kind[0], a, b, base);

	if (c != 0 || L->ncomp == 1)
		return c;
	return slot_key_compare(L->kind[1], a + L->comp_off[1], b + L->comp_off[1], base);
}

/* Slots are whole 8-byte words, so they move word by word. */
static inline void
slot_copy(uint8_t *dst, const uint8_t *src, size_t size)
{
	for (size_t i = 0; i < size; i += 8)
		memcpy(dst + i, src + i, 8);
}

static inline void
slot_swap(uint8_t *a, uint8_t *b, size_t size)
{
	for (size_t i = 0; i < size; i += 8)
	{
		uint64_t	x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		memcpy(a + i, &y, 8);
		memcpy(b + i, &x, 8);
	}
}

static void
slot_sift_down(const set_layout *L, uint8_t *a, size_t root, size_t n, const uint8_t *base)
{
	size_t		sz = L->slot_size;

	for (;;)
	{
		size_t		child = 2 * root + 1;

		if (child >= n)
			return;
		if (child + 1 < n && slot_compare(L, a + child * sz, a + (child + 1) * sz, base) < 0)
			child++;
		if (slot_compare(L, a + root * sz, a + child * sz, base) >= 0)
			return;
		slot_swap(a + root * sz, a + child * sz, sz);
		root = child;
	}
}

/* Key c of a slot with its sign bit flipped: unsigned order is key order. */
static inline uint64_t
radix_key(const uint8_t *slot, int c)
{
	uint64_t	v;

	memcpy(&v, slot + 8 * c, 8);
	return v ^ ((uint64_t) 1 << 63);
}

/*
 * Sorts the n slots of integer keys in a (keys at offsets 0 and 8) into
 * key order by an LSD radix sort on the bytes of the keys, tmp holding as
 * many slots.  One pass over the slots counts the bytes of every position;
 * positions where all keys have the same byte (the high bytes of small
 * ids) need no pass of their own.  Returns a or tmp, whichever holds the
 * sorted slots.
 */
static uint8_t *
int_slot_sort(const set_layout *L, uint8_t *a, uint8_t *tmp, size_t n)
{
	size_t		sz = L->slot_size;
	uint32_t	count[16][256];
	uint8_t    *src = a;
	uint8_t    *dst = tmp;

	memset(count, 0, sizeof(count[0]) * 8 * (size_t) L->ncomp);
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < L->ncomp; c++)
		{
			uint64_t	v = radix_key(a + i * sz, c);

			for (int b = 0; b < 8; b++)
				count[c * 8 + b][(v >> (8 * b)) & 0xFF]++;
		}
	/* least significant byte first: the second key's bytes, then the first's */
	for (int c = L->ncomp - 1; c >= 0; c--)
		for (int b = 0; b < 8; b++)
		{
			const uint32_t *cnt = count[c * 8 + b];
			size_t		pos[256];
			size_t		sum = 0;
			uint8_t    *t;

			if (n == 0 || cnt[(radix_key(src, c) >> (8 * b)) & 0xFF] == n)
				continue;
			for (int d = 0; d < 256; d++)
			{
				pos[d] = sum;
				sum += cnt[d];
			}
			for (size_t i = 0; i < n; i++)
				slot_copy(dst + pos[(radix_key(src + i * sz, c) >> (8 * b)) & 0xFF]++ * sz,
						  src + i * sz, sz);
			t = src;
			src = dst;
			dst = t;
		}
	return src;
}

/*
 * Introsort of n distinct slots: quicksort, heapsort past the depth limit,
 * insertion sort at the leaves.
 */
static void
slot_sort(const set_layout *L, uint8_t *a, size_t n, const uint8_t *base, int depth)
{
	size_t		sz = L->slot_size;

	while (n > 16)
	{
		uint8_t    *mid = a + (n / 2) * sz;
		uint8_t    *last = a + (n - 1) * sz;
		size_t		i = 0,
					j = n;

		if (depth-- == 0)
		{
			for (size_t k = n / 2; k-- > 0;)
				slot_sift_down(L, a, k, n, base);
			for (size_t k = n - 1; k > 0; k--)
			{
				slot_swap(a, a + k * sz, sz);
				slot_sift_down(L, a, 0, k, base);
			}
			return;
		}
		/* median of first, middle and last as the pivot, at a[0] */
		if (slot_compare(L, mid, a, base) < 0)
			slot_swap(mid, a, sz);
		if (slot_compare(L, last, mid, base) < 0)
		{
			slot_swap(last, mid, sz);
			if (slot_compare(L, mid, a, base) < 0)
				slot_swap(mid, a, sz);
		}
		slot_swap(a, mid, sz);
		/* Hoare partition around a[0] */
		for (;;)
		{
			do
				i++;
			while (i < n && slot_compare(L, a + i * sz, a, base) < 0);
			do
				j--;
			while (slot_compare(L, a + j * sz, a, base) > 0);
			if (i >= j)
				break;
			slot_swap(a + i * sz, a + j * sz, sz);
		}
		slot_swap(a, a + j * sz, sz);
		/* recurse into the smaller side, loop on the larger */
		if (j < n - j - 1)
		{
			slot_sort(L, a, j, base, depth);
			a += (j + 1) * sz;
			n -= j + 1;
		}
		else
		{
			slot_sort(L, a + (j + 1) * sz, n - j - 1, base, depth);
			n = j;
		}
	}
	for (size_t k = 1; k < n; k++)
	{
		uint8_t		tmp[MAX_SLOT_SIZE];
		size_t		m = k;

		slot_copy(tmp, a + k * sz, sz);
		for (; m > 0 && slot_compare(L, tmp, a + (m - 1) * sz, base) < 0; m--)
			slot_copy(a + m * sz, a + (m - 1) * sz, sz);
		slot_copy(a + m * sz, tmp, sz);
	}
}

/* ------------------------------------------------------------ merger */

static void
source_advance(const set_layout *L, rec_source *src)
{
	src->start = src->p;
	if (src->p == src->end)
	{
		src->cur = NULL;
		return;
	}
	if (src->is_body)
	{
		custset_record *next = &src->rec[src->cur_index ^ 1];
		const uint8_t *p = decode_record(L, src->p, src->end, src->cur, next);

		if (p == NULL)
		{
			src->corrupt = true;
			src->cur = NULL;
			return;
		}
		src->p = p;
		src->cur_index ^= 1;
		src->cur = next;
	}
	else
	{
		slot_record(L, src->p, src->base, &src->rec[0]);
		src->p += L->slot_size;
		src->cur = &src->rec[0];
	}
}

static void
merger_init(merger *m, const set_layout *L, const kpi_allocator *mem)
{
	m->L = *L;
	m->nsrc = 0;
	m->status = KPI_OK;
	m->scratch[0] = m->scratch[1] = NULL;
	m->nscratch = 0;
	m->max_body = 0;
	m->mem = mem;
}

static void
merger_add_source(merger *m, bool is_body, const uint8_t *p, const uint8_t *end,
				  const uint8_t *base)
{
	rec_source *src = &m->src[m->nsrc++];

	src->is_body = is_body;
	src->p = p;
	src->end = end;
	src->base = base;
	src->cur = NULL;
	src->cur_index = 0;
	src->corrupt = false;
	source_advance(&m->L, src);
}

/*
 * Adds the records of s (at most two states per merger): its body, its run,
 * its pending record and a sorted copy of its hash table's records.
 */
static kpi_status
merger_add_state(merger *m, const custset *s, kpi_msg *msg)
{
	const set_layout *L = &m->L;
	const uint8_t *slots = (const uint8_t *) s + slots_off(s);
	const uint8_t *bitmap = slots + (size_t) s->nslots * L->slot_size;
	uint8_t    *copy;
	uint8_t    *dst;

	merger_add_source(m, true, body_ptr(s), body_ptr(s) + s->body_size, NULL);
	m->max_body += s->body_size;
	if (s->run_size > 0)
	{
		merger_add_source(m, true, body_ptr(s) + s->body_size,
						  body_ptr(s) + s->body_size + s->run_size, NULL);
		m->max_body += s->run_size;
	}
	if (s->pending)
	{
		const uint8_t *p = pending_slot(s, L->slot_size);

		merger_add_source(m, false, p, p + L->slot_size, (const uint8_t *) s);
		m->max_body += record_max_size(L, m->src[m->nsrc - 1].cur);
	}
	if (s->nappend == 0)
		return KPI_OK;
	copy = m->mem->alloc((size_t) s->nappend * L->slot_size, m->mem->ctx);
	if (copy == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while sorting a customer set.");
	m->scratch[m->nscratch] = copy;
	dst = copy;
	for (size_t i = 0; i < s->nslots; i++)
		if (slot_used(bitmap, i))
		{
			slot_copy(dst, slots + i * L->slot_size, L->slot_size);
			if (L->max_record == 0)
			{
				custset_record r;

				slot_record(L, dst, (const uint8_t *) s, &r);
				m->max_body += record_max_size(L, &r);
			}
			dst += L->slot_size;
		}
	m->max_body += (size_t) s->nappend * L->max_record;
	if (L->int_keys)
	{
		/* radix sort; the slots end up in the copy or in its twin */
		uint8_t    *twin = m->mem->alloc((size_t) s->nappend * L->slot_size, m->mem->ctx);
		uint8_t    *sorted;

		if (twin == NULL)
			return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while sorting a customer set.");
		sorted = int_slot_sort(L, copy, twin, s->nappend);
		m->mem->free(sorted == copy ? twin : copy, m->mem->ctx);
		m->scratch[m->nscratch] = copy = sorted;
		dst = sorted + (size_t) s->nappend * L->slot_size;
	}
	else
	{
		int			depth = 0;

		for (size_t k = s->nappend; k > 1; k >>= 1)
			depth += 2;
		slot_sort(L, copy, s->nappend, (const uint8_t *) s, depth);
	}
	m->nscratch++;
	merger_add_source(m, false, copy, dst, (const uint8_t *) s);
	return KPI_OK;
}

static void
merger_free(merger *m)
{
	for (int i = 0; i < 2; i++)
		if (m->scratch[i] != NULL)
			m->mem->free(m->scratch[i], m->mem->ctx);
}

/* The next distinct record, payloads merged; false at the end or on error. */
static bool
merger_next(merger *m, custset_record *out)
{
	const custset_record *min = NULL;
	int			which[MAX_SOURCES];
	int			nmin = 0;

	if (m->status != KPI_OK)
		return false;
	/* every source ascends strictly, so equal keys come from different sources */
	for (int i = 0; i < m->nsrc; i++)
	{
		const custset_record *r = m->src[i].cur;
		int			c;

		if (r == NULL)
			continue;
		c = min == NULL ? -1 : record_compare(&m->L, r, min);
		if (c < 0)
		{
			min = r;
			nmin = 0;
		}
		if (c <= 0)
			which[nmin++] = i;
	}
	if (min == NULL)
	{
		for (int i = 0; i < m->nsrc; i++)
			if (m->src[i].corrupt)
				m->status = KPI_ERR_BINARY;
		return false;
	}
	*out = *min;
	for (int k = 1; k < nmin; k++)
		if (merge_payload(m->L.payload, &out->payload, m->src[which[k]].cur->payload) != KPI_OK)
		{
			m->status = KPI_ERR_OVERFLOW;
			return false;
		}
	for (int k = 0; k < nmin; k++)
		source_advance(&m->L, &m->src[which[k]]);
	return true;
}

static kpi_status
merger_fail(const merger *m, kpi_msg *msg)
{
	if (m->status == KPI_ERR_OVERFLOW)
		return overflow(msg);
	return kpi_fail(msg, KPI_ERR_BINARY, "The customer set's stored data is corrupt.");
}

/*
 * Copies the records of the first source, a body, that come before the
 * first record of every other source to the empty writer w as they are:
 * with keys that mostly grow (new customers, order ids) that is most of the
 * body, which then is decoded but not encoded again.
 */
static void
writer_copy_prefix(body_writer *w, merger *m)
{
	rec_source *body = &m->src[0];
	const uint8_t *begin = body->start;
	const custset_record *first = NULL;
	uint32_t	n = 0;

	for (int i = 1; i < m->nsrc; i++)
		if (m->src[i].cur != NULL &&
			(first == NULL || record_compare(&m->L, m->src[i].cur, first) < 0))
			first = m->src[i].cur;
	while (body->cur != NULL && (first == NULL || record_compare(&m->L, body->cur, first) < 0))
	{
		n++;
		source_advance(&m->L, body);
	}
	if (n == 0)
		return;
	memcpy((uint8_t *) w->s + body_off(w->s), begin, (size_t) (body->start - begin));
	w->s->body_size = (uint32_t) (body->start - begin);
	w->s->nrecords = n;
	/* the last record copied: the one before cur, or the last decoded */
	w->prev = body->rec[body->cur != NULL ? body->cur_index ^ 1 : body->cur_index];
	w->has_prev = true;
}

/* ------------------------------------------------------------ building */

static kpi_status
too_large(kpi_msg *msg)
{
	return kpi_fail(msg, KPI_ERR_LIMIT, "A customer set cannot exceed %zu bytes.",
					CUSTSET_MAX_SIZE);
}

/*
 * Starts a writer on a new buffer with like's header and extra bytes, room
 * for body_cap body bytes and area free bytes after them.
 */
static kpi_status
writer_begin(body_writer *w, const set_layout *L, const custset *like, size_t body_cap,
			 size_t area, const kpi_allocator *mem, kpi_msg *msg)
{
	size_t		limit = body_off(like) + body_cap;
	size_t		total = align8(limit) + area;

	if (body_cap > CUSTSET_MAX_SIZE || total > CUSTSET_MAX_SIZE)
		return too_large(msg);
	w->s = mem->alloc(total, mem->ctx);
	if (w->s == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a customer set of %zu bytes.", total);
	memcpy(w->s, like, body_off(like));
	w->s->kind = (uint8_t) L->kind[0];
	w->s->kind2 = (uint8_t) (L->ncomp == 2 ? L->kind[1] : CUSTSET_KIND_NONE);
	w->s->total_size = (uint32_t) total;
	w->s->body_size = 0;
	w->s->nrecords = 0;
	w->s->table_off = 0;
	w->s->nslots = 0;
	w->s->nappend = 0;
	w->s->pending = 0;
	w->s->heap_size = 0;
	w->s->nbody_adds = 0;
	w->s->last_key = 0;
	w->s->table_max = 0;
	w->s->run_size = 0;
	w->s->run_nrecords = 0;
	w->s->run_last_key = 0;
	w->L = L;
	w->limit = limit;
	w->area = area;
	w->mem = mem;
	w->has_prev = false;
	return KPI_OK;
}

/* Makes room for more body bytes in w, growing its buffer by half. */
static inline kpi_status
writer_reserve(body_writer *w, size_t more, kpi_msg *msg)
{
	custset    *s = w->s;
	size_t		need = body_off(s) + s->body_size + more;
	size_t		limit,
				total;

	if (need <= w->limit)
		return KPI_OK;
	limit = w->limit + w->limit / 2 > need ? w->limit + w->limit / 2 : need;
	total = align8(limit) + w->area;
	if (total > CUSTSET_MAX_SIZE)
	{
		limit = need;
		total = align8(limit) + w->area;
		if (total > CUSTSET_MAX_SIZE)
			return too_large(msg);
	}
	s = w->mem->realloc(s, total, w->mem->ctx);
	if (s == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a customer set of %zu bytes.", total);
	s->total_size = (uint32_t) total;
	w->s = s;
	w->limit = limit;
	return KPI_OK;
}

static kpi_status
writer_put(body_writer *w, const custset_record *rec, kpi_msg *msg)
{
	kpi_status	status = writer_reserve(w, record_max_size(w->L, rec), msg);
	uint8_t    *body;
	uint8_t    *end;

	if (status != KPI_OK)
		return status;
	body = (uint8_t *) w->s + body_off(w->s);
	end = encode_record(w->L, body + w->s->body_size, w->has_prev ? &w->prev : NULL, rec);
	w->s->body_size = (uint32_t) (end - body);
	w->s->nrecords++;
	w->prev = *rec;
	w->has_prev = true;
	return KPI_OK;
}

static inline int
int_rec_compare(int ncomp, const int_rec *a, const int_rec *b)
{
	if (a->k1 != b->k1 || ncomp == 1)
		return (a->k1 > b->k1) - (a->k1 < b->k1);
	return (a->k2 > b->k2) - (a->k2 < b->k2);
}

/* One source of merge_int_state: encoded records (a body, a run), or slots. */
typedef struct int_stream
{
	bool		encoded;
	const uint8_t *p;			/* encoded: the next record; slots: the next slot */
	const uint8_t *end;
	int_rec		cur;
	bool		has;			/* cur is valid */
} int_stream;

/*
 * Moves s to its next record; false on malformed bytes.  An encoded
 * record is a distance from the stream's record before.
 */
static inline __attribute__((always_inline)) bool
int_stream_next(const set_layout *L, int_stream *s)
{
	int_rec		next;

	s->has = s->p != s->end;
	if (!s->has)
		return true;
	if (!s->encoded)
	{
		int_slot_read(s->p, L->ncomp, L->payload, &s->cur);
		s->p += L->slot_size;
		return true;
	}
	s->p = decode_int_record(L, s->p, s->end, &s->cur, &next);
	s->cur = next;
	return s->p != NULL;
}

/*
 * The merger loop for the two sources of one state of integer keys (its
 * body, and its sorted table records or its run), as merger_next and
 * writer_put do it but on int_recs: the consolidations and compactions of
 * the sets that take most rows.  Sets m->status on corrupt bytes or an
 * overflowing count.
 */
static kpi_status
merge_int_state(body_writer *w, merger *m, kpi_msg *msg)
{
	const set_layout *L = &m->L;
	int_stream	st[2];
	int_rec		prev = {0, 0, 0};

	for (int i = 0; i < 2; i++)
	{
		rec_source *src = &m->src[i];

		/* the merger's sources stand on their current record */
		st[i].encoded = src->is_body;
		st[i].has = src->cur != NULL;
		st[i].p = src->p;
		st[i].end = src->end;
		if (st[i].has)
			int_rec_of(src->cur, L->ncomp, &st[i].cur);
		if (src->corrupt)
			m->status = KPI_ERR_BINARY;
	}
	if (w->has_prev)
		int_rec_of(&w->prev, L->ncomp, &prev);
	while (m->status == KPI_OK && (st[0].has || st[1].has))
	{
		int			c = !st[1].has ? -1 : !st[0].has ? 1 :
			int_rec_compare(L->ncomp, &st[0].cur, &st[1].cur);
		int_rec		r = c <= 0 ? st[0].cur : st[1].cur;
		uint8_t    *out;
		kpi_status	status;

		if (c == 0 && merge_payload(L->payload, &r.payload, st[1].cur.payload) != KPI_OK)
			m->status = KPI_ERR_OVERFLOW;
		if ((c <= 0 && !int_stream_next(L, &st[0])) || (c >= 0 && !int_stream_next(L, &st[1])))
			m->status = KPI_ERR_BINARY;
		if (m->status != KPI_OK)
			break;
		status = writer_reserve(w, L->max_record, msg);
		if (status != KPI_OK)
			return status;
		out = (uint8_t *) w->s + body_off(w->s) + w->s->body_size;
		w->s->body_size += (uint32_t) (encode_int_record(L, out, w->has_prev ? &prev : NULL, &r) - out);
		w->s->nrecords++;
		prev = r;
		w->has_prev = true;
	}
	if (w->has_prev)
		record_of_int(L, &prev, &w->prev);
	/* the merger's own walk has nothing left */
	for (int i = 0; i < 2; i++)
	{
		m->src[i].cur = NULL;
		m->src[i].corrupt = false;
	}
	return KPI_OK;
}

/* Ends a writer: with area = 0 the buffer shrinks to its compact size. */
static custset *
writer_end(body_writer *w)
{
	custset    *s = w->s;

	if (w->has_prev && kind_is_integer(w->L->kind[0]))
		s->last_key = w->prev.key.value;
	if (w->area == 0)
	{
		custset    *shrunk;

		/* a failed shrink leaves a buffer larger than total_size: harmless */
		s->total_size = (uint32_t) (body_off(s) + s->body_size);
		shrunk = w->mem->realloc(s, s->total_size, w->mem->ctx);
		if (shrunk != NULL)
			s = shrunk;
	}
	return s;
}

/*
 * Writes the union of a and b (may be NULL) into a new buffer with a's
 * header and extra bytes, laid out by L, with at least area free bytes
 * after the body (area = 0: compact, exactly sized).
 */
static kpi_status
merge_into_new(const set_layout *L, const custset *a, const custset *b, size_t area,
			   const kpi_allocator *mem, custset **out, kpi_msg *msg)
{
	merger		m;
	body_writer w;
	custset_record rec;
	kpi_status	status;

	merger_init(&m, L, mem);
	w.s = NULL;
	status = merger_add_state(&m, a, msg);
	if (status == KPI_OK && b != NULL)
		status = merger_add_state(&m, b, msg);
	if (status == KPI_OK)
		status = writer_begin(&w, L, a, m.max_body, area, mem, msg);
	if (status == KPI_OK)
		writer_copy_prefix(&w, &m);
	if (status == KPI_OK && L->int_keys && m.nsrc == 2)
		status = merge_int_state(&w, &m, msg);
	while (status == KPI_OK && merger_next(&m, &rec))
		status = writer_put(&w, &rec, msg);
	if (status == KPI_OK && m.status != KPI_OK)
		status = merger_fail(&m, msg);
	merger_free(&m);
	if (status != KPI_OK)
	{
		if (w.s != NULL)
			mem->free(w.s, mem->ctx);
		return status;
	}
	*out = writer_end(&w);
	return KPI_OK;
}

/*
 * Slots of the hash table that follows a consolidation into nrecords
 * records (see TABLE_DIVISOR).
 */
static size_t
table_slots(const set_layout *L, size_t nrecords, size_t old_slots, bool repeats)
{
	size_t		slots = nrecords / TABLE_DIVISOR * 4 / 3 + 1;

	if (repeats)
	{
		size_t		all = (nrecords + nrecords / TABLE_DIVISOR) * 4 / 3 + 1;
		size_t		cap = TABLE_CAP_BYTES / L->slot_size;
		size_t		grown = 2 * old_slots;

		if (grown > all)
			grown = all;
		if (grown > cap)
			grown = cap;
		if (grown > slots)
			slots = grown;
	}
	return slots < TABLE_MIN_SLOTS ? TABLE_MIN_SLOTS : slots;
}

/* Free bytes after a body for a table of nslots and their text keys. */
static size_t
table_area(const set_layout *L, const custset *s, size_t nslots, size_t heap)
{
	size_t		area = table_bytes(L, nslots) + heap;

	if (L->kind[0] == CUSTSET_KIND_TEXT || L->kind[1] == CUSTSET_KIND_TEXT)
		area += table_capacity(nslots) * (s->body_size / (s->nrecords + 1) + 1);
	return align8(area);
}

/*
 * Copies the body of s, which has an empty table and no parked record, and
 * the run after it into a new buffer with area free bytes after the body:
 * both are merged already (appends only), and the run stays a run, so that
 * a table that comes in two ascending runs is merged once, when it is
 * compacted, and not at every growth.
 */
static kpi_status
copy_body(const set_layout *L, const custset *s, size_t area, const kpi_allocator *mem,
		  custset **out, kpi_msg *msg)
{
	body_writer w;
	kpi_status	status = writer_begin(&w, L, s, s->body_size, area, mem, msg);

	if (status != KPI_OK)
		return status;
	memcpy((uint8_t *) w.s + body_off(s), body_ptr(s), (size_t) s->body_size + s->run_size);
	w.s->body_size = s->body_size;
	w.s->nrecords = s->nrecords;
	w.s->last_key = s->last_key;
	w.s->run_size = s->run_size;
	w.s->run_nrecords = s->run_nrecords;
	w.s->run_last_key = s->run_last_key;
	*out = writer_end(&w);
	return KPI_OK;
}

/*
 * Gap to leave after the body of s for direct appends (to the body, or to
 * a run that is kept): half the body and run when every record added since
 * the last consolidation was appended (ascending ids keep coming), that
 * times the share of appended records when the table took some, so that
 * random ids, of which now and then one is above all others, leave next
 * to no gap, and a switch to ascending ids costs one more consolidation
 * only.  A run kept after the body is in the gap too.
 */
static size_t
append_gap(const custset *s, bool keep_run)
{
	size_t		run = keep_run ? align8(s->run_size) : 0;
	size_t		added = (size_t) s->nbody_adds + s->nappend;
	size_t		half = ((size_t) s->body_size + run) / 2;

	return run + 64 + (s->nbody_adds == 0 ? 0 :
					   align8((size_t) ((double) half * s->nbody_adds / added)));
}

/*
 * Slots of the table that follows a consolidation into merged records of
 * a set whose body held before records and whose table held nappend
 * records in nslots slots (see TABLE_DIVISOR).
 */
static size_t
next_table_slots(const set_layout *L, bool appending, size_t before, size_t nappend,
				 size_t nslots, size_t merged)
{
	/* fewer than half of the table's records were new */
	bool		repeats = 2 * (merged > before ? merged - before : 0) < nappend;

	return appending ? TABLE_MIN_SLOTS : table_slots(L, merged, nslots, repeats);
}

/*
 * consolidate for a set whose buffer the call may realloc and whose table
 * is empty with nothing parked: body and run stay where they are, and the
 * buffer is resized to hold gap bytes and a table of nslots after them.
 */
static kpi_status
regrow_in_place(custset **sp, const set_layout *L, size_t gap, size_t nslots, size_t heap,
				const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *s = *sp;
	size_t		used = body_off(s) + s->body_size + s->run_size;
	size_t		total = body_end8(s) + gap + table_area(L, s, nslots, heap);

	if (total > CUSTSET_MAX_SIZE)
		return too_large(msg);
	s = mem->realloc(s, total, mem->ctx);
	if (s == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a customer set of %zu bytes.", total);
	memset((uint8_t *) s + used, 0, total - used);
	s->total_size = (uint32_t) total;
	/* a new set takes the kinds of its first key here */
	s->kind = (uint8_t) L->kind[0];
	s->kind2 = (uint8_t) (L->ncomp == 2 ? L->kind[1] : CUSTSET_KIND_NONE);
	table_init(s, L, nslots, gap);
	*sp = s;
	return KPI_OK;
}

/*
 * consolidate for a set of integer keys without a run whose buffer the
 * call may realloc: the table's records are merged into the body within
 * the buffer itself, so the set never needs a second buffer of its size
 * (reallocating a large block remaps its pages rather than copying them).
 *
 * The parked record goes into the table first.  The buffer grows to
 * work_size bytes; the table's records are compacted to the table's
 * start, sorted into the last bytes of the buffer, and the body's records
 * from the first one at or above the smallest table record move right
 * before them (the records below stay where they are).  The merged
 * records are then written from where the moved ones began.  Each table
 * record lengthens the body by at most growth bytes (its own code, and
 * with pairs or counts the longer code of the body record after it), and
 * the body's first record may take max_record bytes more than its zigzag
 * code, so with work_size as below what is written never reaches what is
 * still to be read; every write checks that all the same.  Last, the
 * buffer shrinks (or grows) to the merged body, the gap and an empty
 * table.
 *
 * Errors: KPI_ERR_NOMEM and KPI_ERR_LIMIT leave a valid set, as does
 * KPI_ERR_OVERFLOW from the parked record; KPI_ERR_OVERFLOW from the merge
 * and KPI_ERR_BINARY (corrupt bytes, or a failed write check, which would
 * be a bug) leave a set that can only be freed.
 */
static kpi_status
consolidate_in_place(custset **sp, const set_layout *L, bool appending, size_t gap,
					 const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *s = *sp;
	const size_t sz = L->slot_size;
	const size_t bo = body_off(s);
	const size_t growth = L->max_record *
		(L->ncomp == 2 || L->payload == PAYLOAD_COUNT ? 2 : 1);
	const size_t before = s->nrecords;
	const size_t nappend = s->nappend;
	const size_t old_slots = s->nslots;
	size_t		nrec,
				out_max,
				total,
				nslots,
				kept,
				nkept = 0,
				nout = 0;
	uint64_t	work_size;
	uint8_t    *base,
			   *slots,
			   *dst,
			   *recs,
			   *tail,
			   *out;
	const uint8_t *bitmap,
			   *bp,
			   *bend;
	int_stream	st[2];
	int_rec		first,
				prev = {0, 0, 0},
				cur;
	bool		has_prev = false;

	if (s->pending)
	{
		int_rec		p;

		/*
		 * A table is at most 3/4 full, so it has a slot for the parked
		 * record even past its capacity: false is an overflowing count.
		 */
		int_slot_read(pending_slot(s, sz), L->ncomp, L->payload, &p);
		if (!int_table_add(s, L->ncomp, L->payload, p.k1, p.k2, p.payload, s->nslots))
			return overflow(msg);
		s->pending = 0;
	}
	nrec = s->nappend;
	out_max = (size_t) s->body_size + nrec * growth + L->max_record;
	work_size = (uint64_t) bo + out_max + nrec * sz;
	if (work_size < (uint64_t) slots_off(s) + 2 * (uint64_t) nrec * sz)
		work_size = (uint64_t) slots_off(s) + 2 * (uint64_t) nrec * sz;
	if (work_size < s->total_size)
		work_size = s->total_size;
	work_size = align8(work_size);
	if (work_size > CUSTSET_MAX_SIZE)
		return too_large(msg);
	s = mem->realloc(s, work_size, mem->ctx);
	if (s == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a customer set of %zu bytes.",
						(size_t) work_size);
	*sp = s;
	s->total_size = (uint32_t) work_size;
	base = (uint8_t *) s;

	/* the table's records, compacted, then sorted into the buffer's end */
	slots = base + slots_off(s);
	bitmap = slots + old_slots * sz;
	dst = slots;
	for (size_t i = 0; i < old_slots; i++)
		if (slot_used(bitmap, i))
		{
			if (dst != slots + i * sz)
				memmove(dst, slots + i * sz, sz);
			dst += sz;
		}
	tail = base + work_size - nrec * sz;
	recs = int_slot_sort(L, slots, tail, nrec);
	if (recs != tail)
		memmove(tail, recs, nrec * sz);
	int_slot_read(tail, L->ncomp, L->payload, &first);

	/* the body's records below the first table record stay */
	bp = base + bo;
	bend = bp + s->body_size;
	while (bp < bend)
	{
		const uint8_t *q = decode_int_record(L, bp, bend, has_prev ? &prev : NULL, &cur);

		if (q == NULL)
			return kpi_fail(msg, KPI_ERR_BINARY, "The customer set's stored data is corrupt.");
		if (int_rec_compare(L->ncomp, &cur, &first) >= 0)
			break;
		prev = cur;
		has_prev = true;
		bp = q;
		nkept++;
	}
	kept = (size_t) (bp - (base + bo));
	out = base + bo + kept;
	memmove(tail - (bend - bp), bp, (size_t) (bend - bp));
	bp = tail - (bend - bp);

	/*
	 * Merge the moved body records (st[0]) and the sorted table records
	 * (st[1]); nothing may be written at or past the first unread byte.
	 */
	st[0].encoded = true;
	st[0].p = bp;
	st[0].end = tail;
	st[0].has = bp < tail;
	if (st[0].has)
	{
		st[0].p = decode_int_record(L, bp, tail, has_prev ? &prev : NULL, &st[0].cur);
		if (st[0].p == NULL)
			return kpi_fail(msg, KPI_ERR_BINARY, "The customer set's stored data is corrupt.");
	}
	st[1].encoded = false;
	st[1].p = tail;
	st[1].end = base + work_size;
	int_stream_next(L, &st[1]);
	while (st[0].has || st[1].has)
	{
		int			c = !st[1].has ? -1 : !st[0].has ? 1 :
			int_rec_compare(L->ncomp, &st[0].cur, &st[1].cur);
		int_rec		r = c <= 0 ? st[0].cur : st[1].cur;
		uint8_t		code[3 * KPI_VARINT_MAX];
		size_t		len;

		if (c == 0 && merge_payload(L->payload, &r.payload, st[1].cur.payload) != KPI_OK)
			return overflow(msg);
		if (c <= 0 && !int_stream_next(L, &st[0]))
			return kpi_fail(msg, KPI_ERR_BINARY, "The customer set's stored data is corrupt.");
		if (c >= 0)
			int_stream_next(L, &st[1]);
		len = (size_t) (encode_int_record(L, code, has_prev ? &prev : NULL, &r) - code);
		if (out + len > (st[0].p < st[0].end ? st[0].p : st[1].p))
			return kpi_fail(msg, KPI_ERR_BINARY, "A customer set's merge would overrun its buffer.");
		memcpy(out, code, len);
		out += len;
		prev = r;
		has_prev = true;
		nout++;
	}
	s->body_size = (uint32_t) (out - (base + bo));
	s->nrecords = (uint32_t) (nkept + nout);
	s->last_key = prev.k1;

	/* the buffer's final size: merged body, gap, an empty table */
	nslots = next_table_slots(L, appending, before, nappend, old_slots, s->nrecords);
	total = body_end8(s) + gap + table_area(L, s, nslots, 0);
	if (total != work_size)
	{
		custset    *resized = mem->realloc(s, total, mem->ctx);

		if (resized == NULL && total > work_size)
		{
			/* a valid set all the same: its body, no table */
			table_init(s, L, 0, 0);
			s->table_off = 0;
			return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a customer set of %zu bytes.",
							total);
		}
		/* a failed shrink leaves the buffer as it was */
		if (resized != NULL)
			s = resized;
		else
			total = work_size;
	}
	s->total_size = (uint32_t) total;
	memset((uint8_t *) s + bo + s->body_size, 0, total - (bo + s->body_size));
	table_init(s, L, nslots, gap);
	*sp = s;
	return KPI_OK;
}

/*
 * Merges the hash table of *sp into its body and makes an empty table with
 * heap free heap bytes.  A buffer that is not keep (the caller's) is
 * consolidated in place when it can be (see consolidate_in_place);
 * otherwise the result goes back into the same buffer when it fits there,
 * else into a new one that replaces *sp, and the replaced buffer is freed
 * unless it is keep.
 */
static kpi_status
consolidate(custset **sp, const custset *keep, const set_layout *L, size_t heap,
			const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *s = *sp;
	custset    *fresh;
	/* the last round only appended: ascending ids need no table */
	bool		appending = s->nbody_adds > 0 && s->nappend == 0;
	size_t		gap = append_gap(s, s->nappend == 0);
	size_t		nslots = appending ? TABLE_MIN_SLOTS :
		table_slots(L, records_bound(s), s->nslots, false);
	size_t		area = gap + table_area(L, s, nslots, heap);
	kpi_status	status;

	if (s != keep && s->nappend == 0 && !s->pending)
		return regrow_in_place(sp, L, gap, nslots, heap, mem, msg);
	if (s != keep && L->int_keys && s->run_size == 0)
		return consolidate_in_place(sp, L, appending, gap, mem, msg);
	if (s->nappend == 0 && !s->pending)
		status = copy_body(L, s, area, mem, &fresh, msg);
	else
		status = merge_into_new(L, s, NULL, area, mem, &fresh, msg);
	if (status != KPI_OK)
		return status;
	nslots = next_table_slots(L, appending, (size_t) s->nrecords + s->run_nrecords, s->nappend,
							  s->nslots, fresh->nrecords);
	area = gap + table_area(L, fresh, nslots, heap);
	if (body_end8(fresh) + area <= s->total_size)
	{
		/* fits: copy the new body back and keep the buffer */
		uint32_t	total = s->total_size;

		memcpy(s, fresh, body_off(fresh) + fresh->body_size + fresh->run_size);
		s->total_size = total;
		mem->free(fresh, mem->ctx);
		table_init(s, L, nslots, gap);
		return KPI_OK;
	}
	if (body_end8(fresh) + area > fresh->total_size)
	{
		custset    *grown = mem->realloc(fresh, body_end8(fresh) + area, mem->ctx);

		if (grown == NULL)
		{
			mem->free(fresh, mem->ctx);
			return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a customer set.");
		}
		fresh = grown;
		fresh->total_size = (uint32_t) (body_end8(fresh) + area);
	}
	table_init(fresh, L, nslots, gap);
	if (s != keep)
		mem->free(s, mem->ctx);
	*sp = fresh;
	return KPI_OK;
}

/*
 * Appends the record of integer key k and payload to one of the ascending
 * streams of the one-key set s in the gap, the body or the run after it
 * (to_run), when the gap has room: a distance from the stream's last key,
 * or the zigzag value of its first record.  A body with a run after it
 * takes no more records.  False when there is no room.
 */
static inline bool
gap_append(custset *s, bool to_run, payload_kind pk, int64_t k, uint64_t payload)
{
	uint32_t   *size = to_run ? &s->run_size : &s->body_size;
	uint32_t   *count = to_run ? &s->run_nrecords : &s->nrecords;
	int64_t    *last = to_run ? &s->run_last_key : &s->last_key;
	uint8_t    *start = (uint8_t *) s + body_off(s) + (to_run ? s->body_size : 0);
	uint8_t    *p = start + *size;

	if (s->nslots == 0 || (!to_run && s->run_size > 0) ||
		body_off(s) + s->body_size + s->run_size + int_max_record(pk) > slots_off(s))
		return false;
	p = kpi_varint_put(p, *count > 0 ? (uint64_t) k - (uint64_t) *last : zigzag(k));
	p = encode_payload(pk, p, payload);
	*size = (uint32_t) (p - start);
	(*count)++;
	s->nbody_adds++;
	*last = k;
	return true;
}

/* Where a record of a one-key set of integer keys can go besides the table. */
typedef enum gap_use
{
	GAP_NONE,
	GAP_BODY,					/* appended to the body: above every key */
	GAP_RUN						/* appended to the run (see "run") */
} gap_use;

static inline gap_use
gap_for(const custset *s, payload_kind pk, int64_t k)
{
	if (s->nrecords == 0)
		return s->nappend == 0 ? GAP_BODY : GAP_NONE;
	if (s->run_size > 0)
		return k > s->run_last_key ? GAP_RUN : GAP_NONE;
	if (k > s->last_key && (s->nappend == 0 || k > s->table_max))
		return GAP_BODY;
	/* order ids that start again below the body's: a second ascending run */
	if (pk == PAYLOAD_NONE && s->kind == CUSTSET_KIND_INT && s->nappend == 0 && k < s->last_key)
		return GAP_RUN;
	return GAP_NONE;
}

/*
 * Adds rec to the hash table of *sp, merging its payload into an equal
 * key's; consolidates first when the table is full (see consolidate for
 * keep).
 */
static kpi_status
table_add(custset **sp, const custset *keep, const set_layout *L, const custset_record *rec,
		  const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *s = *sp;
	size_t		heap = heap_need(L, rec);
	uint8_t    *slot;
	bool		found;
	kpi_status	status;

	if (s->nslots > 0)
	{
		slot = table_probe(s, L, rec, &found);
		if (found)
		{
			if (L->payload != PAYLOAD_NONE)
			{
				uint64_t	p;

				memcpy(&p, slot + L->payload_off, 8);
				if (merge_payload(L->payload, &p, rec->payload) != KPI_OK)
					return overflow(msg);
				memcpy(slot + L->payload_off, &p, 8);
			}
			return KPI_OK;
		}
		if (s->nappend < table_capacity(s->nslots) && heap_room(s, L) >= heap)
		{
			table_put(s, L, slot, rec);
			return KPI_OK;
		}
	}
	status = consolidate(sp, keep, L, heap, mem, msg);
	if (status != KPI_OK)
		return status;
	s = *sp;
	slot = table_probe(s, L, rec, &found);
	table_put(s, L, slot, rec);
	return KPI_OK;
}

/* ------------------------------------------------------------ public API */

kpi_status
custset_create(custset_type type, size_t extra_size, const kpi_allocator *mem,
			   custset **out, kpi_msg *msg)
{
	custset    *s;

	if (type < CUSTSET_RETENTION || type > CUSTSET_ORDERS)
		return kpi_fail(msg, KPI_ERR_PARAM, "Unknown customer set type %d.", (int) type);
	if (extra_size > 4096)
		return kpi_fail(msg, KPI_ERR_PARAM, "The extra bytes of a customer set are limited to 4096.");
	extra_size = align8(extra_size);
	s = mem->alloc(sizeof(custset) + extra_size, mem->ctx);
	if (s == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a customer set.");
	memset(s, 0, sizeof(custset) + extra_size);
	s->type = (uint8_t) type;
	s->kind2 = (uint8_t) type_empty_kind2(type);
	s->extra_size = (uint32_t) extra_size;
	s->total_size = (uint32_t) (sizeof(custset) + extra_size);
	*out = s;
	return KPI_OK;
}

bool
custset_is_empty(const custset *s)
{
	return records_bound(s) == 0;
}

bool
custset_all_in_body(const custset *s)
{
	return s->nappend == 0 && s->run_size == 0 && s->pending == 0;
}

bool
custset_is_compact(const custset *s)
{
	return s->nslots == 0 && s->pending == 0 && s->total_size == body_off(s) + s->body_size;
}

/* Checks that key k can go where the state has keys of kind have. */
static kpi_status
check_kind(custset_kind have, const custset_key *k, kpi_msg *msg)
{
	if (k == NULL || !kind_valid(k->kind))
		return kpi_fail(msg, KPI_ERR_PARAM, "A key of an unknown kind was given.");
	if (have != CUSTSET_KIND_NONE && have != k->kind)
		return kpi_fail(msg, KPI_ERR_MISMATCH, "A %s key cannot join a set of %s keys.",
						kind_names[k->kind], kind_names[have]);
	if (k->kind == CUSTSET_KIND_TEXT && k->len > CUSTSET_MAX_SIZE / 4)
		return kpi_fail(msg, KPI_ERR_PARAM, "A text key cannot exceed %zu bytes.",
						CUSTSET_MAX_SIZE / 4);
	return KPI_OK;
}

/* True when payload is valid for a set whose payloads are of kind pk. */
static inline bool
payload_valid(payload_kind pk, uint64_t payload)
{
	if (pk == PAYLOAD_FLAGS)
		return payload >= 1 && payload <= (CUSTSET_BEFORE | CUSTSET_AFTER);
	if (pk == PAYLOAD_COUNT)
		return payload >= 1 && payload <= INT64_MAX;
	return payload == 0;
}

/*
 * Parks the record of integer keys k1 (and k2) and payload in the pending
 * slot of s, which has a table, and asks the CPU to fetch the table slot
 * and bitmap byte where its probe will start (see "pending").
 */
static inline __attribute__((always_inline)) void
park_int_record(custset *s, int ncomp, payload_kind pk, int64_t k1, int64_t k2, uint64_t payload)
{
	size_t		slot_size = int_slot_size(ncomp, pk);
	uint8_t    *slots = (uint8_t *) s + slots_off(s);
	uint8_t    *parked = pending_slot(s, slot_size);
	size_t		home = home_of_hashes(mix64((uint64_t) k1), ncomp == 2 ? mix64((uint64_t) k2) : 0,
									  ncomp, s->nslots);

	__builtin_prefetch(slots + home * slot_size, 1);
	__builtin_prefetch(slots + (size_t) s->nslots * slot_size + (home >> 3));
	int_slot_write(parked, ncomp, pk, k1, k2, payload);
	s->pending = 1;
}

/*
 * The fast path of custset_add, for a valid record of integer keys k1 (and
 * k2 of a pair) of the kinds s holds already, without a layout: first the
 * record the previous add parked goes into the table; then the new one is
 * the id of the body's last record again, or appended to the gap, or
 * parked for the next add.  That is most rows.  Returns false for the rest
 * (a full gap or table, a count that would overflow), which the general
 * path does; a record parked before is in the table or still parked then.
 * Inlined with constant ncomp and pk, once per set type.
 */
static inline __attribute__((always_inline)) bool
add_int_record(custset *s, int ncomp, payload_kind pk, int64_t k1, int64_t k2, uint64_t payload)
{
	if (s->pending)
	{
		int_rec		parked;

		int_slot_read(pending_slot(s, int_slot_size(ncomp, pk)), ncomp, pk, &parked);
		if (!int_table_add(s, ncomp, pk, parked.k1, parked.k2, parked.payload,
						   table_capacity(s->nslots)))
			return false;
		s->pending = 0;
	}
	if (ncomp == 1 && s->nrecords > 0)
	{
		gap_use		g;

		/* the last id of the body or the run again (the next line of an order) */
		if (pk == PAYLOAD_NONE &&
			(k1 == s->last_key || (s->run_size > 0 && k1 == s->run_last_key)))
			return true;
		/* ascending integer ids: see "gap" and "run" in custset_core.h */
		g = gap_for(s, pk, k1);
		if (g != GAP_NONE)
			return gap_append(s, g == GAP_RUN, pk, k1, payload);
	}
	if (s->nslots == 0)
		return false;
	/* a table that caches hold costs no wait to probe now */
	if ((size_t) s->nslots * int_slot_size(ncomp, pk) <= CUSTSET_PARK_MIN_TABLE_BYTES)
		return int_table_add(s, ncomp, pk, k1, k2, payload, table_capacity(s->nslots));
	park_int_record(s, ncomp, pk, k1, k2, payload);
	return true;
}

/*
 * Moves the record parked in *sp into its table (see "pending"),
 * consolidating first when the table is full; keep as for consolidate.
 */
static kpi_status
flush_pending(custset **sp, const custset *keep, const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *s = *sp;
	set_layout	L;
	custset_record rec;

	layout_of(s, &L);
	slot_record(&L, pending_slot(s, L.slot_size), (const uint8_t *) s, &rec);
	/* cleared first: a consolidation must not merge it in as well */
	s->pending = 0;
	return table_add(sp, keep, &L, &rec, mem, msg);
}

/*
 * custset_add for every record the fast path does not take: checks it and
 * adds it with the state's layout.  Out of line, so that the fast path
 * keeps a small frame.
 */
static kpi_status __attribute__((noinline))
add_record(custset **state, const custset_key *key, const custset_key *key2,
		   uint64_t payload, const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *s = *state;
	/* the caller's buffer, unless the caller hands it over */
	const custset *caller = mem->in_place ? NULL : s;
	custset_type type = (custset_type) s->type;
	int			ncomp = type_ncomp(type);
	payload_kind pk = type_payload(type);
	set_layout	L;
	custset_record rec;
	kpi_status	status = check_kind((custset_kind) s->kind, key, msg);

	if (status != KPI_OK)
		return status;
	if (ncomp == 2)
	{
		status = check_kind((custset_kind) s->kind2, key2, msg);
		if (status != KPI_OK)
			return status;
		if (type == CUSTSET_COHORT && (key2->value < INT32_MIN || key2->value > INT32_MAX))
			return kpi_fail(msg, KPI_ERR_PARAM, "Period index %lld is out of range.",
							(long long) key2->value);
	}
	if (!payload_valid(pk, payload))
		return kpi_fail(msg, KPI_ERR_PARAM, "Payload %llu is not valid for a %s set.",
						(unsigned long long) payload, type_names[type]);
	if (s->pending)
	{
		status = flush_pending(state, caller, mem, msg);
		if (status != KPI_OK)
			return status;
		s = *state;
	}

	layout_init(&L, type, key->kind, ncomp == 2 ? key2->kind : CUSTSET_KIND_NONE);
	rec.key = *key;
	rec.key2 = ncomp == 2 ? *key2 : (custset_key) {CUSTSET_KIND_NONE, 0, NULL, 0};
	rec.payload = payload;
	if (ncomp == 1 && kind_is_integer(L.kind[0]) &&
		(gap_for(s, pk, key->value) != GAP_NONE ||
		 (s->nrecords == 0 && (s->nappend == 0 || key->value > s->table_max) &&
		  s->nappend >= table_capacity(s->nslots))))
	{
		/*
		 * An id for the body or the run, and the gap is full (or there is
		 * no body yet, and the table is full or missing): consolidation
		 * makes a larger gap, and the id goes there.
		 */
		gap_use		g;

		status = consolidate(state, caller, &L, 0, mem, msg);
		if (status != KPI_OK)
			return status;
		g = gap_for(*state, pk, key->value);
		if (g != GAP_NONE && gap_append(*state, g == GAP_RUN, pk, key->value, payload))
			return KPI_OK;
	}
	return table_add(state, caller, &L, &rec, mem, msg);
}

/* True when key2 is an integer second key that the pair set s takes. */
static inline bool
int_second_key(const custset *s, const custset_key *key2)
{
	return key2 != NULL && key2->kind == s->kind2 && kind_is_integer(key2->kind) &&
		(s->type != CUSTSET_COHORT || (key2->value >= INT32_MIN && key2->value <= INT32_MAX));
}

kpi_status
custset_add(custset **state, const custset_key *key, const custset_key *key2,
			uint64_t payload, const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *s = *state;
	bool		done = false;

	/* the fast path, compiled for each type's key count and payload */
	if (key != NULL && key->kind == s->kind && kind_is_integer(key->kind))
	{
		switch ((custset_type) s->type)
		{
			case CUSTSET_RETENTION:
				done = payload_valid(PAYLOAD_FLAGS, payload) &&
					add_int_record(s, 1, PAYLOAD_FLAGS, key->value, 0, payload);
				break;
			case CUSTSET_ORDER_COUNT:
				done = payload_valid(PAYLOAD_COUNT, payload) &&
					add_int_record(s, 1, PAYLOAD_COUNT, key->value, 0, payload);
				break;
			case CUSTSET_ORDERS:
				done = payload == 0 && add_int_record(s, 1, PAYLOAD_NONE, key->value, 0, 0);
				break;
			case CUSTSET_COHORT:
			case CUSTSET_CUSTOMER_ORDER:
				done = payload == 0 && int_second_key(s, key2) &&
					add_int_record(s, 2, PAYLOAD_NONE, key->value, key2->value, 0);
				break;
		}
	}
	return done ? KPI_OK : add_record(state, key, key2, payload, mem, msg);
}

kpi_status
custset_merge(custset **dst, const custset *src, const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *d = *dst;
	set_layout	L;
	size_t		nsrc = records_bound(src);
	size_t		ndst = records_bound(d);
	kpi_status	status;

	if (d->type != src->type)
		return kpi_fail(msg, KPI_ERR_MISMATCH, "A %s set cannot merge with a %s set.",
						type_names[d->type], type_names[src->type]);
	if (d->extra_size != src->extra_size)
		return kpi_fail(msg, KPI_ERR_MISMATCH, "The customer sets carry different extra data.");
	if (nsrc == 0)
		return KPI_OK;
	if (ndst > 0 && (d->kind != src->kind || d->kind2 != src->kind2))
		return kpi_fail(msg, KPI_ERR_MISMATCH, "A set of %s keys cannot merge with a set of %s keys.",
						kind_names[d->kind], kind_names[src->kind]);
	layout_of(src, &L);

	if (src == d)
	{
		/* merging a state with itself: merge a copy */
		custset    *copy;

		status = custset_compact(src, mem, &copy, msg);
		if (status != KPI_OK)
			return status;
		status = custset_merge(dst, copy, mem, msg);
		mem->free(copy, mem->ctx);
		return status;
	}
	if (nsrc * TABLE_DIVISOR <= ndst)
	{
		/* small src: add its records to the hash table (amortised) */
		custset_iter *it;
		custset_record rec;

		status = custset_iter_begin(src, mem, &it, msg);
		if (status != KPI_OK)
			return status;
		while (status == KPI_OK && custset_iter_next(it, &rec))
			status = table_add(dst, mem->in_place ? NULL : d, &L, &rec, mem, msg);
		if (status == KPI_OK)
			return custset_iter_end(it, msg);
		custset_iter_end(it, NULL);
		return status;
	}
	else
	{
		custset    *fresh;
		size_t		nslots = table_slots(&L, ndst + nsrc, 0, false);
		size_t		area = table_area(&L, src, nslots, 0);

		status = merge_into_new(&L, d, src, area, mem, &fresh, msg);
		if (status != KPI_OK)
			return status;
		table_init(fresh, &L, table_slots(&L, fresh->nrecords, 0, false), 0);
		if (mem->in_place)
			mem->free(d, mem->ctx);
		*dst = fresh;
		return KPI_OK;
	}
}

kpi_status
custset_compact(const custset *s, const kpi_allocator *mem, custset **out, kpi_msg *msg)
{
	set_layout	L;

	layout_of(s, &L);
	return merge_into_new(&L, s, NULL, 0, mem, out, msg);
}

kpi_status
custset_consolidate(custset **state, bool compact, const kpi_allocator *mem, kpi_msg *msg)
{
	custset    *s = *state;
	const custset *keep = mem->in_place ? NULL : s;
	custset    *fresh;
	set_layout	L;
	kpi_status	status;

	if (custset_is_compact(s) || (!compact && custset_all_in_body(s)))
		return KPI_OK;
	layout_of(s, &L);
	if (s->nappend > 0 || s->pending)
	{
		status = consolidate(state, keep, &L, 0, mem, msg);
		if (status != KPI_OK)
			return status;
		s = *state;
	}
	/* a run after the body (order ids) is merged in by compacting */
	if (!compact && custset_all_in_body(s))
		return KPI_OK;
	if (s->run_size == 0 && s != keep)
	{
		/* the body alone: drop the table and the spare bytes */
		custset    *shrunk;

		table_init(s, &L, 0, 0);
		s->table_off = 0;
		s->total_size = (uint32_t) (body_off(s) + s->body_size);
		shrunk = mem->realloc(s, s->total_size, mem->ctx);
		/* a failed shrink leaves a buffer larger than total_size: harmless */
		*state = shrunk != NULL ? shrunk : s;
		return KPI_OK;
	}
	status = merge_into_new(&L, s, NULL, 0, mem, &fresh, msg);
	if (status != KPI_OK)
		return status;
	if (s != keep)
		mem->free(s, mem->ctx);
	*state = fresh;
	return KPI_OK;
}

kpi_status
custset_iter_begin(const custset *s, const kpi_allocator *mem, custset_iter **out, kpi_msg *msg)
{
	custset_iter *it = mem->alloc(sizeof(custset_iter), mem->ctx);
	set_layout	L;
	kpi_status	status = KPI_OK;

	if (it == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while reading a customer set.");
	layout_of(s, &L);
	merger_init(&it->m, &L, mem);
	it->int_walk = L.int_keys;
	it->copy = NULL;
	it->has_prev = false;
	if (it->int_walk)
	{
		/* the body is the set once the run and the table are merged into it */
		if (!custset_all_in_body(s))
			status = merge_into_new(&L, s, NULL, 0, mem, &it->copy, msg);
		if (status == KPI_OK)
		{
			it->p = body_ptr(it->copy != NULL ? it->copy : s);
			it->end = it->p + (it->copy != NULL ? it->copy : s)->body_size;
		}
	}
	else
		status = merger_add_state(&it->m, s, msg);
	if (status != KPI_OK)
	{
		merger_free(&it->m);
		mem->free(it, mem->ctx);
		return status;
	}
	*out = it;
	return KPI_OK;
}

bool
custset_iter_next(custset_iter *it, custset_record *rec)
{
	int_rec		r;

	if (!it->int_walk)
		return merger_next(&it->m, rec);
	if (it->m.status != KPI_OK || it->p == it->end)
		return false;
	it->p = decode_int_record(&it->m.L, it->p, it->end, it->has_prev ? &it->prev : NULL, &r);
	if (it->p == NULL)
	{
		it->m.status = KPI_ERR_BINARY;
		return false;
	}
	record_of_int(&it->m.L, &r, rec);
	it->prev = r;
	it->has_prev = true;
	return true;
}

kpi_status
custset_iter_end(custset_iter *it, kpi_msg *msg)
{
	kpi_status	status = it->m.status == KPI_OK ? KPI_OK : merger_fail(&it->m, msg);
	const kpi_allocator *mem = it->m.mem;

	merger_free(&it->m);
	if (it->copy != NULL)
		mem->free(it->copy, mem->ctx);
	mem->free(it, mem->ctx);
	return status;
}

/* ------------------------------------------------------------ binary form */

size_t
custset_encoded_size(const custset *compact)
{
	return 4 + 4 + 4 + compact->body_size;
}

kpi_status
custset_encode(const custset *compact, kpi_writer *w, kpi_msg *msg)
{
	if (!custset_is_compact(compact))
		return kpi_fail(msg, KPI_ERR_PARAM, "Only a compact customer set can be encoded.");
	kpi_put_u8(w, KPI_STATE_VERSION);
	kpi_put_u8(w, compact->type);
	kpi_put_u8(w, compact->kind);
	kpi_put_u8(w, compact->kind2);
	kpi_put_u32(w, compact->nrecords);
	kpi_put_u32(w, compact->body_size);
	kpi_put_bytes(w, body_ptr(compact), compact->body_size);
	return KPI_OK;
}

/* Checks the kinds of a state with nrecords records. */
static bool
kinds_valid(custset_type type, int kind, int kind2, uint32_t nrecords)
{
	if (nrecords == 0)
		return kind == CUSTSET_KIND_NONE && kind2 == (int) type_empty_kind2(type);
	if (!kind_valid(kind))
		return false;
	if (type == CUSTSET_COHORT)
		return kind2 == CUSTSET_KIND_INT;
	if (type == CUSTSET_CUSTOMER_ORDER)
		return kind_valid(kind2);
	return kind2 == CUSTSET_KIND_NONE;
}

/*
 * Number of records in a body, or -1 when it is malformed; *last_key is the
 * last record's integer first key (0 for other kinds or no record).
 */
static int64_t
body_validate(const set_layout *L, const uint8_t *p, const uint8_t *end, int64_t *last_key)
{
	custset_record rec[2];
	int64_t		n = 0;

	*last_key = 0;
	while (p < end)
	{
		p = decode_record(L, p, end, n > 0 ? &rec[(n - 1) & 1] : NULL, &rec[n & 1]);
		if (p == NULL)
			return -1;
		if (kind_is_integer(L->kind[0]))
			*last_key = rec[n & 1].key.value;
		n++;
	}
	return n;
}

kpi_status
custset_decode(kpi_reader *r, custset_type type, size_t extra_size,
			   const kpi_allocator *mem, custset **out, kpi_msg *msg)
{
	uint8_t		version = kpi_get_u8(r);
	uint8_t		stype,
				kind,
				kind2;
	uint32_t	nrecords,
				body_size;
	const uint8_t *body;
	set_layout	L;
	custset    *s;
	int64_t		last_key;
	kpi_status	status;

	if (type < CUSTSET_RETENTION || type > CUSTSET_ORDERS)
		return kpi_fail(msg, KPI_ERR_PARAM, "Unknown customer set type %d.", (int) type);
	if (r->failed)
		return kpi_fail(msg, KPI_ERR_BINARY, "The customer set is empty.");
	if (version != KPI_STATE_VERSION)
		return kpi_fail(msg, KPI_ERR_VERSION, "This release of kpi reads state version %d, not %d.",
						KPI_STATE_VERSION, version);
	stype = kpi_get_u8(r);
	kind = kpi_get_u8(r);
	kind2 = kpi_get_u8(r);
	nrecords = kpi_get_u32(r);
	body_size = kpi_get_u32(r);
	if (r->failed)
		return kpi_fail(msg, KPI_ERR_BINARY, "The customer set's header is truncated.");
	if (stype != type)
		return kpi_fail(msg, KPI_ERR_BINARY, "The data holds a state of type %d, not a %s set.",
						stype, type_names[type]);
	if (!kinds_valid(type, kind, kind2, nrecords))
		return kpi_fail(msg, KPI_ERR_BINARY, "The customer set's key kinds (%d, %d) are not valid.",
						kind, kind2);
	body = kpi_get_bytes(r, body_size);
	if (body == NULL)
		return kpi_fail(msg, KPI_ERR_BINARY, "The customer set's data is truncated.");
	layout_init(&L, type, (custset_kind) kind, (custset_kind) kind2);
	if (body_validate(&L, body, body + body_size, &last_key) != (int64_t) nrecords)
		return kpi_fail(msg, KPI_ERR_BINARY, "The customer set's records are malformed or out of order.");
	if (sizeof(custset) + align8(extra_size) + body_size > CUSTSET_MAX_SIZE)
		return too_large(msg);
	status = custset_create(type, extra_size, mem, &s, msg);
	if (status != KPI_OK)
		return status;
	if (body_size > 0)
	{
		custset    *grown = mem->realloc(s, s->total_size + body_size, mem->ctx);

		if (grown == NULL)
		{
			mem->free(s, mem->ctx);
			return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory for a customer set.");
		}
		s = grown;
		memcpy((uint8_t *) s + body_off(s), body, body_size);
	}
	s->kind = kind;
	s->kind2 = kind2;
	s->body_size = body_size;
	s->nrecords = nrecords;
	s->last_key = last_key;
	s->total_size += body_size;
	*out = s;
	return KPI_OK;
}

/* ------------------------------------------------------------ text output */

static bool
byte_is_plain(uint8_t b)
{
	return b >= 0x20 && b <= 0x7E && b != '"' && b != '\\' &&
		b != '(' && b != ')' && b != '[' && b != ']';
}

static void
format_key(kpi_strbuf *sb, const custset_key *k)
{
	static const char hex[] = "0123456789abcdef";

	if (kind_is_integer(k->kind))
		kpi_strbuf_appendf(sb, "%lld", (long long) k->value);
	else if (k->kind == CUSTSET_KIND_UUID)
	{
		char		buf[37];
		int			pos = 0;

		for (int i = 0; i < 16; i++)
		{
			if (i == 4 || i == 6 || i == 8 || i == 10)
				buf[pos++] = '-';
			buf[pos++] = hex[k->bytes[i] >> 4];
			buf[pos++] = hex[k->bytes[i] & 15];
		}
		buf[pos] = '\0';
		kpi_strbuf_append(sb, buf);
	}
	else
	{
		char		buf[256];
		size_t		pos = 0;

		buf[pos++] = '"';
		for (size_t i = 0; i < k->len; i++)
		{
			uint8_t		b = k->bytes[i];

			if (pos > sizeof(buf) - 6)
			{
				buf[pos] = '\0';
				kpi_strbuf_append(sb, buf);
				pos = 0;
			}
			if (byte_is_plain(b))
				buf[pos++] = (char) b;
			else
			{
				buf[pos++] = '\\';
				buf[pos++] = 'x';
				buf[pos++] = hex[b >> 4];
				buf[pos++] = hex[b & 15];
			}
		}
		buf[pos++] = '"';
		buf[pos] = '\0';
		kpi_strbuf_append(sb, buf);
	}
}

static void
format_payload(kpi_strbuf *sb, const set_layout *L, uint64_t payload)
{
	if (L->payload == PAYLOAD_FLAGS)
		kpi_strbuf_append(sb, payload == CUSTSET_BEFORE ? "=before" :
						  payload == CUSTSET_AFTER ? "=after" : "=both");
	else if (L->payload == PAYLOAD_COUNT)
		kpi_strbuf_appendf(sb, "=%llu", (unsigned long long) payload);
}

/* Number of distinct first keys (customers; orders for CUSTSET_ORDERS). */
static kpi_status
count_first_keys(const custset *s, const kpi_allocator *mem, uint64_t *n, kpi_msg *msg)
{
	custset_iter *it;
	custset_record rec;
	custset_key prev = {CUSTSET_KIND_NONE, 0, NULL, 0};
	kpi_status	status;

	*n = 0;
	if (custset_is_compact(s) && type_ncomp((custset_type) s->type) == 1)
	{
		*n = s->nrecords;
		return KPI_OK;
	}
	status = custset_iter_begin(s, mem, &it, msg);
	if (status != KPI_OK)
		return status;
	while (custset_iter_next(it, &rec))
	{
		if (*n == 0 || custset_key_compare(&rec.key, &prev) != 0)
			(*n)++;
		prev = rec.key;
	}
	return custset_iter_end(it, msg);
}

/* Writes "kind:...,n:...,customers:[...]". */
static kpi_status
format_fields(const custset *s, const kpi_allocator *mem, kpi_strbuf *sb, kpi_msg *msg)
{
	set_layout	L;
	custset_iter *it;
	custset_record rec;
	custset_key prev = {CUSTSET_KIND_NONE, 0, NULL, 0};
	uint64_t	n;
	bool		first = true;
	kpi_status	status;

	layout_of(s, &L);
	status = count_first_keys(s, mem, &n, msg);
	if (status != KPI_OK)
		return status;
	kpi_strbuf_appendf(sb, "kind:%s", kind_names[s->kind]);
	if (s->type == CUSTSET_CUSTOMER_ORDER)
		kpi_strbuf_appendf(sb, ",order_kind:%s", kind_names[s->kind2]);
	kpi_strbuf_appendf(sb, ",n:%llu,%s:[", (unsigned long long) n,
					   s->type == CUSTSET_ORDERS ? "orders" : "customers");
	status = custset_iter_begin(s, mem, &it, msg);
	if (status != KPI_OK)
		return status;
	while (custset_iter_next(it, &rec))
	{
		bool		new_key = first || key_compare(L.kind[0], &rec.key, &prev) != 0;

		if (L.ncomp == 2 && !new_key)
			kpi_strbuf_append(sb, ",");
		else
		{
			if (!first)
				kpi_strbuf_append(sb, L.ncomp == 2 ? "]," : ",");
			format_key(sb, &rec.key);
			if (L.ncomp == 2)
				kpi_strbuf_append(sb, "=[");
		}
		if (L.ncomp == 2)
			format_key(sb, &rec.key2);
		format_payload(sb, &L, rec.payload);
		prev = rec.key;
		first = false;
	}
	if (L.ncomp == 2 && !first)
		kpi_strbuf_append(sb, "]");
	kpi_strbuf_append(sb, "]");
	status = custset_iter_end(it, msg);
	if (status == KPI_OK && sb->failed)
		status = kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while writing a customer set.");
	return status;
}

kpi_status
custset_format(const custset *s, const kpi_allocator *mem, kpi_strbuf *sb, kpi_msg *msg)
{
	kpi_status	status;

	kpi_strbuf_appendf(sb, "(v:%d,", KPI_STATE_VERSION);
	status = format_fields(s, mem, sb, msg);
	kpi_strbuf_append(sb, ")");
	if (status == KPI_OK && sb->failed)
		status = kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while writing a customer set.");
	return status;
}

kpi_status
custset_format_nested(const custset *s, const kpi_allocator *mem, kpi_strbuf *sb, kpi_msg *msg)
{
	kpi_status	status;

	kpi_strbuf_append(sb, "(");
	status = format_fields(s, mem, sb, msg);
	kpi_strbuf_append(sb, ")");
	if (status == KPI_OK && sb->failed)
		status = kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while writing a customer set.");
	return status;
}

/* ------------------------------------------------------------ text input */

/* Parse stages: the fields must come in this order. */
enum
{
	STAGE_KIND,
	STAGE_ORDER_KIND,
	STAGE_N,
	STAGE_LIST,
	STAGE_DONE
};

/* A growable byte buffer for one unescaped key. */
typedef struct key_buf
{
	uint8_t    *data;
	size_t		cap;
} key_buf;

/* Reads the fields of a text form in order (see stage). */
typedef struct custset_parser
{
	custset_type type;
	size_t		extra_size;
	const kpi_allocator *mem;
	int			stage;
	custset_kind kind[2];
	uint64_t	n;
	custset    *built;			/* after the list */
	key_buf		keys[2][2];		/* [key][alternate]: current and previous */
	uint8_t		uuids[2][2][16];
} custset_parser;

/* Text list being turned into a compact state. */
typedef struct list_builder
{
	custset_parser *p;
	set_layout	L;
	body_writer w;
	uint64_t	ncustomers;
} list_builder;

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static kpi_status
bad_list(kpi_msg *msg, const char *what, const char *p, const char *end)
{
	int			n = (int) (end - p < 40 ? end - p : 40);

	return kpi_fail(msg, KPI_ERR_TEXT, "%s at \"%.*s\".", what, n, p);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
key_buf_reserve(key_buf *b, size_t n, const kpi_allocator *mem)
{
	uint8_t    *d;
	size_t		cap = b->cap > 0 ? b->cap : 32;

	if (n <= b->cap)
		return true;
	while (cap < n)
		cap *= 2;
	/* allocators need not take NULL in realloc (PostgreSQL's do not) */
	d = b->data == NULL ? mem->alloc(cap, mem->ctx) : mem->realloc(b->data, cap, mem->ctx);
	if (d == NULL)
		return false;
	b->data = d;
	b->cap = cap;
	return true;
}

/*
 * Parses one key of the given kind at *pp into k; text and uuid bytes go
 * into buf / uuid.  Whitespace before it is skipped.
 */
static kpi_status
parse_key(custset_kind kind, const char **pp, const char *end, key_buf *buf, uint8_t *uuid,
		  const kpi_allocator *mem, custset_key *k, kpi_msg *msg)
{
	const char *p = skip_ws(*pp, end);
	const char *start = p;

	k->kind = kind;
	if (kind_is_integer(kind))
	{
		while (p < end && (*p == '-' || *p == '+' || (*p >= '0' && *p <= '9')))
			p++;
		if (kpi_parse_i64(start, (size_t) (p - start), &k->value, NULL) != KPI_OK)
			return bad_list(msg, "Expected an integer key", start, end);
	}
	else if (kind == CUSTSET_KIND_UUID)
	{
		int			ndigits = 0;

		for (int i = 0; i < 36; i++)
		{
			int			h;

			if (i == 8 || i == 13 || i == 18 || i == 23)
			{
				if (p + i >= end || p[i] != '-')
					return bad_list(msg, "Expected a uuid key", start, end);
				continue;
			}
			if (p + i >= end || (h = hex_value(p[i])) < 0)
				return bad_list(msg, "Expected a uuid key", start, end);
			if (ndigits % 2 == 0)
				uuid[ndigits / 2] = (uint8_t) (h << 4);
			else
				uuid[ndigits / 2] |= (uint8_t) h;
			ndigits++;
		}
		p += 36;
		k->bytes = uuid;
		k->len = 16;
	}
	else
	{
		size_t		len = 0;

		if (p == end || *p != '"')
			return bad_list(msg, "Expected a quoted text key", start, end);
		for (p++; p < end && *p != '"'; p++)
		{
			uint8_t		b = (uint8_t) *p;

			if (b == '\\')
			{
				int			hi,
							lo;

				if (end - p < 4 || p[1] != 'x' || (hi = hex_value(p[2])) < 0 ||
					(lo = hex_value(p[3])) < 0)
					return bad_list(msg, "Expected \\xHH in a text key", p, end);
				b = (uint8_t) (hi * 16 + lo);
				p += 3;
			}
			if (!key_buf_reserve(buf, len + 1, mem))
				return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while reading a customer set.");
			buf->data[len++] = b;
		}
		if (p == end)
			return bad_list(msg, "Unterminated text key", start, end);
		p++;
		k->bytes = buf->data;
		k->len = len;
	}
	*pp = p;
	return KPI_OK;
}

/* Parses "=payload" after a key of a one-key record. */
static kpi_status
parse_payload(const set_layout *L, const char **pp, const char *end, uint64_t *payload,
			  kpi_msg *msg)
{
	static const char *const words[] = {"before", "after", "both"};
	const char *p = skip_ws(*pp, end);
	const char *start;

	*payload = 0;
	if (L->payload == PAYLOAD_NONE)
		return KPI_OK;
	if (p == end || *p != '=')
		return bad_list(msg, "Expected \"=\" after a key", p, end);
	p = skip_ws(p + 1, end);
	start = p;
	if (L->payload == PAYLOAD_FLAGS)
	{
		while (p < end && *p >= 'a' && *p <= 'z')
			p++;
		for (int i = 0; i < 3; i++)
			if ((size_t) (p - start) == strlen(words[i]) &&
				memcmp(start, words[i], strlen(words[i])) == 0)
				*payload = (uint64_t) i + 1;
		if (*payload == 0)
			return bad_list(msg, "Expected before, after or both", start, end);
	}
	else
	{
		int64_t		v;

		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (kpi_parse_i64(start, (size_t) (p - start), &v, NULL) != KPI_OK || v < 1)
			return bad_list(msg, "Expected a positive order count", start, end);
		*payload = (uint64_t) v;
	}
	*pp = p;
	return KPI_OK;
}

static kpi_status
builder_put(list_builder *b, const custset_record *rec, const char *at, const char *end,
			kpi_msg *msg)
{
	if (b->w.has_prev && record_compare(&b->L, &b->w.prev, rec) >= 0)
		return bad_list(msg, "Keys must be in ascending order without repeats", at, end);
	if (b->L.type == CUSTSET_COHORT && (rec->key2.value < INT32_MIN || rec->key2.value > INT32_MAX))
		return bad_list(msg, "Period index out of range", at, end);
	return writer_put(&b->w, rec, msg);
}

/* Parses the list "[...]" into b->w. */
static kpi_status
parse_list(list_builder *b, const char *p, const char *end, kpi_msg *msg)
{
	custset_parser *ps = b->p;
	const set_layout *L = &b->L;
	int			alt0 = 0,
				alt1 = 0;
	custset_key prev_first = {CUSTSET_KIND_NONE, 0, NULL, 0};
	kpi_status	status;

	p = skip_ws(p, end);
	if (p == end || *p != '[' || end[-1] != ']')
		return bad_list(msg, "Expected a list in brackets", p, end);
	p = skip_ws(p + 1, end - 1);
	end--;
	if (p == end)
		return KPI_OK;
	if (L->kind[0] == CUSTSET_KIND_NONE)
		return bad_list(msg, "A set of kind none must be empty", p, end);
	for (;;)
	{
		custset_record rec;
		const char *at = skip_ws(p, end);

		alt0 ^= 1;
		status = parse_key(L->kind[0], &p, end, &ps->keys[0][alt0], ps->uuids[0][alt0],
						   ps->mem, &rec.key, msg);
		if (status != KPI_OK)
			return status;
		if (b->ncustomers > 0 && key_compare(L->kind[0], &rec.key, &prev_first) <= 0)
			return bad_list(msg, "Keys must be in ascending order without repeats", at, end);
		prev_first = rec.key;
		b->ncustomers++;
		if (L->ncomp == 1)
		{
			status = parse_payload(L, &p, end, &rec.payload, msg);
			if (status == KPI_OK)
				status = builder_put(b, &rec, at, end, msg);
			if (status != KPI_OK)
				return status;
		}
		else
		{
			p = skip_ws(p, end);
			if (end - p < 2 || p[0] != '=' || (p = skip_ws(p + 1, end)) == end || *p != '[')
				return bad_list(msg, "Expected \"=[\" after a key", at, end);
			p++;
			for (;;)
			{
				const char *at2 = skip_ws(p, end);

				alt1 ^= 1;
				status = parse_key(L->kind[1], &p, end, &ps->keys[1][alt1], ps->uuids[1][alt1],
								   ps->mem, &rec.key2, msg);
				rec.payload = 0;
				if (status == KPI_OK)
					status = builder_put(b, &rec, at2, end, msg);
				if (status != KPI_OK)
					return status;
				p = skip_ws(p, end);
				if (p < end && *p == ',')
				{
					p++;
					continue;
				}
				if (p == end || *p != ']')
					return bad_list(msg, "Expected \",\" or \"]\"", p, end);
				p++;
				break;
			}
		}
		p = skip_ws(p, end);
		if (p == end)
			return KPI_OK;
		if (*p != ',')
			return bad_list(msg, "Expected \",\" between records", p, end);
		p++;
	}
}

static kpi_status
parser_begin(custset_type type, size_t extra_size, const kpi_allocator *mem,
			 custset_parser **out, kpi_msg *msg)
{
	custset_parser *p;

	if (type < CUSTSET_RETENTION || type > CUSTSET_ORDERS)
		return kpi_fail(msg, KPI_ERR_PARAM, "Unknown customer set type %d.", (int) type);
	p = mem->alloc(sizeof(custset_parser), mem->ctx);
	if (p == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while reading a customer set.");
	memset(p, 0, sizeof(custset_parser));
	p->type = type;
	p->extra_size = extra_size;
	p->mem = mem;
	p->stage = STAGE_KIND;
	p->kind[1] = type_empty_kind2(type);
	*out = p;
	return KPI_OK;
}

static kpi_status
parse_kind(const kpi_text_field *f, custset_kind *kind, kpi_msg *msg)
{
	for (int k = CUSTSET_KIND_NONE; k <= CUSTSET_KIND_HASH; k++)
		if (f->vallen == strlen(kind_names[k]) && memcmp(f->val, kind_names[k], f->vallen) == 0)
		{
			*kind = (custset_kind) k;
			return KPI_OK;
		}
	return kpi_fail(msg, KPI_ERR_TEXT, "Unknown key kind \"%.*s\".", (int) f->vallen, f->val);
}

/* The field the parser expects next. */
static const char *
stage_field(const custset_parser *p)
{
	switch (p->stage)
	{
		case STAGE_KIND:
			return "kind";
		case STAGE_ORDER_KIND:
			return "order_kind";
		case STAGE_N:
			return "n";
		case STAGE_LIST:
			return p->type == CUSTSET_ORDERS ? "orders" : "customers";
		default:
			return "";
	}
}

static kpi_status
parse_list_field(custset_parser *ps, const kpi_text_field *f, kpi_msg *msg)
{
	list_builder b;
	custset    *empty;
	kpi_status	status;

	if (!kinds_valid(ps->type, ps->kind[0], ps->kind[1], ps->n > 0 ? 1 : 0))
		return kpi_fail(msg, KPI_ERR_TEXT, "The key kinds do not fit a set of %llu keys.",
						(unsigned long long) ps->n);
	status = custset_create(ps->type, ps->extra_size, ps->mem, &empty, msg);
	if (status != KPI_OK)
		return status;
	b.p = ps;
	b.ncustomers = 0;
	layout_init(&b.L, ps->type, ps->kind[0], ps->kind[1]);
	status = writer_begin(&b.w, &b.L, empty, f->vallen, 0, ps->mem, msg);
	ps->mem->free(empty, ps->mem->ctx);
	if (status != KPI_OK)
		return status;
	status = parse_list(&b, f->val, f->val + f->vallen, msg);
	if (status == KPI_OK && b.ncustomers != ps->n)
		status = kpi_fail(msg, KPI_ERR_TEXT, "The list holds %llu keys, not n = %llu.",
						  (unsigned long long) b.ncustomers, (unsigned long long) ps->n);
	if (status != KPI_OK)
	{
		ps->mem->free(b.w.s, ps->mem->ctx);
		return status;
	}
	ps->built = writer_end(&b.w);
	return KPI_OK;
}

/* Reads field f; false (with status KPI_OK) when it is not a field of a set. */
static bool
parser_field(custset_parser *ps, const kpi_text_field *f, kpi_status *status, kpi_msg *msg)
{
	bool		is_set_field = kpi_text_key_is(f, "kind") || kpi_text_key_is(f, "order_kind") ||
		kpi_text_key_is(f, "n") || kpi_text_key_is(f, "customers") ||
		kpi_text_key_is(f, "orders");

	*status = KPI_OK;
	if (!is_set_field)
		return false;
	if (ps->stage == STAGE_ORDER_KIND && ps->type != CUSTSET_CUSTOMER_ORDER)
		ps->stage = STAGE_N;
	if (!kpi_text_key_is(f, stage_field(ps)))
	{
		*status = kpi_fail(msg, KPI_ERR_TEXT, "Field \"%.*s\" is out of place; expected \"%s\".",
						   (int) f->keylen, f->key, ps->stage == STAGE_DONE ? "the end" : stage_field(ps));
		return true;
	}
	switch (ps->stage)
	{
		case STAGE_KIND:
			*status = parse_kind(f, &ps->kind[0], msg);
			break;
		case STAGE_ORDER_KIND:
			*status = parse_kind(f, &ps->kind[1], msg);
			break;
		case STAGE_N:
			{
				int64_t		n;

				*status = kpi_parse_i64(f->val, f->vallen, &n, msg);
				if (*status == KPI_OK && n < 0)
					*status = kpi_fail(msg, KPI_ERR_TEXT, "n cannot be negative.");
				ps->n = (uint64_t) n;
				break;
			}
		default:
			*status = parse_list_field(ps, f, msg);
			break;
	}
	ps->stage++;
	return true;
}

/* Frees ps; with out, returns the state read (an error if incomplete). */
static kpi_status
parser_end(custset_parser *ps, custset **out, kpi_msg *msg)
{
	kpi_status	status = KPI_OK;

	if (out != NULL && ps->built == NULL)
		status = kpi_fail(msg, KPI_ERR_TEXT, "The customer set lacks field \"%s\".",
						  stage_field(ps));
	else if (out != NULL)
		*out = ps->built;
	else if (ps->built != NULL)
		ps->mem->free(ps->built, ps->mem->ctx);
	for (int c = 0; c < 2; c++)
		for (int a = 0; a < 2; a++)
			if (ps->keys[c][a].data != NULL)
				ps->mem->free(ps->keys[c][a].data, ps->mem->ctx);
	ps->mem->free(ps, ps->mem->ctx);
	return status;
}

/* Reads the fields left in tr into a new compact state. */
static kpi_status
parse_fields(kpi_text_reader *tr, custset_type type, size_t extra_size,
			 const kpi_allocator *mem, custset **out, kpi_msg *msg)
{
	kpi_text_field f;
	custset_parser *ps = NULL;
	kpi_status	status = parser_begin(type, extra_size, mem, &ps, msg);

	if (status != KPI_OK)
		return status;
	while (kpi_text_next_field(tr, &f, &status, msg))
	{
		if (!parser_field(ps, &f, &status, msg))
			status = kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\".", (int) f.keylen, f.key);
		if (status != KPI_OK)
			break;
	}
	if (status != KPI_OK)
	{
		parser_end(ps, NULL, NULL);
		return status;
	}
	return parser_end(ps, out, msg);
}

kpi_status
custset_parse(const char *text, custset_type type, size_t extra_size,
			  const kpi_allocator *mem, custset **out, kpi_msg *msg)
{
	kpi_text_reader tr;
	kpi_status	status = kpi_text_open_state(&tr, text, msg);

	if (status != KPI_OK)
		return status;
	return parse_fields(&tr, type, extra_size, mem, out, msg);
}

kpi_status
custset_parse_nested(const char *text, size_t len, custset_type type, size_t extra_size,
					 const kpi_allocator *mem, custset **out, kpi_msg *msg)
{
	kpi_text_reader tr;
	char	   *copy = mem->alloc(len + 1, mem->ctx);
	kpi_status	status;

	if (copy == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "Out of memory while reading a customer set.");
	memcpy(copy, text, len);
	copy[len] = '\0';
	status = kpi_text_open(&tr, copy, msg);
	if (status == KPI_OK)
		status = parse_fields(&tr, type, extra_size, mem, out, msg);
	mem->free(copy, mem->ctx);
	return status;
}
