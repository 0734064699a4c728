/*-------------------------------------------------------------------------
 *
 * funnel_core.c
 *	  Funnels: the event state, its evaluation and its codecs (see
 *	  funnel_core.h for the semantics and the layout).
 *
 * Sorting: rows are sorted by entity with an MSD radix sort (11-bit
 * digits; one pass finds the first digit on which the rows of a bucket
 * differ, so dense and hashed keys alike take about two scatter passes),
 * then each entity's rows by (ts, steps): a merge sort for short runs, an
 * LSD radix sort for long ones.
 *
 * Evaluation: per entity, the rows of one timestamp are taken together.
 * Their step events come in step order across the rows (rows are sorted
 * by their bit mask, not by step).  best[k] is the latest step-1 timestamp
 * of a chain reaching level k; a step-k event at t extends a chain ending
 * at level k - 1 whose start is within window of t.  In strict_increase
 * mode the extended chain must have ended before t, so the values before
 * the timestamp are used; in strict_once mode the steps a chain takes at
 * t must come from distinct rows of t, which is a small bipartite matching
 * (steps against groups of identical rows).
 *
 * IDENTIFICATION
 *	  src/core/funnel_core.c
 *
 *-------------------------------------------------------------------------
 */
#include "funnel_core.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define RADIX_BITS 11
#define RADIX_BUCKETS (1u << RADIX_BITS)
#define DIGITS_PER_WORD 3		/* 11 + 11 + 10 bits */
#define TIME_KEY_WORDS 3
#define ENTITY_DIGITS 6			/* 5 x 11 + 9 bits, most significant first */
#define RADIX_COUNTS_BYTES \
	((size_t) (ENTITY_DIGITS + TIME_KEY_WORDS * DIGITS_PER_WORD) * RADIX_BUCKETS * \
	 sizeof(uint32_t))
#define MSD_MIN_ROWS 64			/* fewer rows are merge-sorted */
#define RADIX_MIN_ROWS 4096		/* shorter runs of one entity are merge-sorted */
#define INSERTION_MAX_ROWS 24
#define INITIAL_CAPACITY 8
#define SHOWN_MAX 60			/* longest user text quoted in a detail */
#define MODES_TEXT_MAX 64		/* all mode names, comma-separated, NUL */
#define NO_GROUP SIZE_MAX
#define ENCODED_HEADER 16
#define ENCODED_EVENT 20
#define MERGE_MIN_SHARE 4		/* see funnel_merge in funnel_core.h */

static const char *const mode_names[] = {
	"strict_increase", "strict_order", "strict_deduplication", "strict_once"
};

#define NMODES ((int) (sizeof(mode_names) / sizeof(mode_names[0])))

/* The text of each kind of entity keys, indexed by FUNNEL_KEYS_*. */
static const char *const key_kind_names[] = {"none", "int", "hash"};

#define NKEY_KINDS ((int) (sizeof(key_kind_names) / sizeof(key_kind_names[0])))

/* -------------------------------------------------------------- helpers */

static int64_t
join_i64(uint32_t hi, uint32_t lo)
{
	return (int64_t) (((uint64_t) hi << 32) | lo);
}

static int64_t
state_window(const funnel_state *s)
{
	return join_i64(s->window_hi, s->window_lo);
}

static void
set_event(funnel_event *e, uint64_t entity, int64_t ts, uint32_t steps)
{
	e->entity_hi = (uint32_t) (entity >> 32);
	e->entity_lo = (uint32_t) entity;
	e->ts_hi = (uint32_t) ((uint64_t) ts >> 32);
	e->ts_lo = (uint32_t) ts;
	e->steps = steps;
}

/* Canonical order: entity, then timestamp, then bit mask. */
static int
compare_events(const funnel_event *a, const funnel_event *b)
{
	uint64_t	ea = funnel_event_entity(a);
	uint64_t	eb = funnel_event_entity(b);
	int64_t		ta,
				tb;

	if (ea != eb)
		return ea < eb ? -1 : 1;
	ta = funnel_event_ts(a);
	tb = funnel_event_ts(b);
	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (a->steps != b->steps)
		return a->steps < b->steps ? -1 : 1;
	return 0;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

static int
shown_len(size_t len)
{
	return (int) (len > SHOWN_MAX ? SHOWN_MAX : len);
}

/* ---------------------------------------------------------- parameters */

/* The mode list as written in the text form; buf holds MODES_TEXT_MAX. */
static void
modes_to_cstring(uint32_t modes, char *buf, size_t size)
{
	size_t		len = 0;

	buf[0] = '\0';
	for (int i = 0; i < NMODES; i++)
	{
		if ((modes & (1u << i)) == 0)
			continue;
		len += (size_t) snprintf(buf + len, size - len, "%s%s",
								 len > 0 ? "," : "", mode_names[i]);
	}
}

void
funnel_format_modes(uint32_t modes, kpi_strbuf *sb)
{
	char		buf[MODES_TEXT_MAX];

	modes_to_cstring(modes, buf, sizeof(buf));
	kpi_strbuf_append(sb, buf);
}

kpi_status
funnel_parse_modes(const char *text, size_t len, uint32_t *modes, kpi_msg *msg)
{
	const char *p = text;
	const char *end = text + len;
	uint32_t	result = 0;

	while (p < end && is_space(*p))
		p++;
	if (p == end)
	{
		*modes = 0;
		return KPI_OK;
	}
	p = text;
	for (;;)
	{
		const char *comma = memchr(p, ',', (size_t) (end - p));
		const char *item_end = comma != NULL ? comma : end;
		const char *item = p;
		size_t		item_len;
		int			found = -1;

		while (item < item_end && is_space(*item))
			item++;
		while (item_end > item && is_space(item_end[-1]))
			item_end--;
		item_len = (size_t) (item_end - item);
		if (item_len == 0)
			return kpi_fail(msg, KPI_ERR_PARAM,
							"The funnel mode list \"%.*s\" has an empty entry.",
							shown_len(len), text);
		for (int i = 0; i < NMODES && found < 0; i++)
		{
			size_t		n = strlen(mode_names[i]);
			size_t		c = 0;

			if (n != item_len)
				continue;
			while (c < n && ascii_lower(item[c]) == mode_names[i][c])
				c++;
			if (c == n)
				found = i;
		}
		if (found < 0)
			return kpi_fail(msg, KPI_ERR_PARAM,
							"Unknown funnel mode \"%.*s\"; the modes are strict_increase, "
							"strict_order, strict_deduplication and strict_once.",
							shown_len(item_len), item);
		result |= 1u << found;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*modes = result;
	return KPI_OK;
}

kpi_status
funnel_check_params(const funnel_params *p, kpi_msg *msg)
{
	if (p->nsteps < 1 || p->nsteps > FUNNEL_MAX_STEPS)
		return kpi_fail(msg, KPI_ERR_PARAM, "A funnel has 1 to %d steps, not %d.",
						FUNNEL_MAX_STEPS, p->nsteps);
	if (p->window < 0)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"The funnel window is %lld microseconds; it must not be negative.",
						(long long) p->window);
	if ((p->modes & ~(uint32_t) FUNNEL_ALL_MODES) != 0)
		return kpi_fail(msg, KPI_ERR_PARAM, "Unknown funnel mode bits 0x%x.",
						(unsigned) (p->modes & ~(uint32_t) FUNNEL_ALL_MODES));
	if (p->keys != FUNNEL_KEYS_INT && p->keys != FUNNEL_KEYS_HASH)
		return kpi_fail(msg, KPI_ERR_PARAM,
						"The funnel entity keys are of kind %u; they must be int (%d) or hash (%d).",
						(unsigned) p->keys, FUNNEL_KEYS_INT, FUNNEL_KEYS_HASH);
	return KPI_OK;
}

void
funnel_get_params(const funnel_state *s, funnel_params *p)
{
	p->nsteps = s->nsteps;
	p->window = state_window(s);
	p->modes = s->modes;
	p->keys = s->keys;
}

static void
set_params(funnel_state *s, const funnel_params *p)
{
	s->nsteps = (uint8_t) p->nsteps;
	s->modes = (uint8_t) p->modes;
	s->keys = (uint8_t) p->keys;
	s->window_hi = (uint32_t) ((uint64_t) p->window >> 32);
	s->window_lo = (uint32_t) p->window;
}

/* The text of a kind of entity keys ("int"); "?" for an unknown one. */
static const char *
key_kind_name(uint32_t keys)
{
	return keys < (uint32_t) NKEY_KINDS ? key_kind_names[keys] : "?";
}

/*
 * Writes into buf what differs between a and b ("numbers of steps (3 and
 * 4)"); false when they agree.
 */
static bool
describe_difference(const funnel_params *a, const funnel_params *b, char *buf, size_t size)
{
	if (a->nsteps != b->nsteps)
		snprintf(buf, size, "numbers of steps (%d and %d)", a->nsteps, b->nsteps);
	else if (a->window != b->window)
		snprintf(buf, size, "windows (%lld and %lld microseconds)",
				 (long long) a->window, (long long) b->window);
	else if (a->modes != b->modes)
	{
		char		ma[MODES_TEXT_MAX],
					mb[MODES_TEXT_MAX];

		modes_to_cstring(a->modes, ma, sizeof(ma));
		modes_to_cstring(b->modes, mb, sizeof(mb));
		snprintf(buf, size, "modes ([%s] and [%s])", ma, mb);
	}
	else if (a->keys != b->keys)
		snprintf(buf, size, "entity keys (%s and %s)", key_kind_name(a->keys),
				 key_kind_name(b->keys));
	else
		return false;
	return true;
}

/* --------------------------------------------------------------- blocks */

static size_t
block_bytes(uint32_t capacity)
{
	return sizeof(funnel_state) + (size_t) capacity * sizeof(funnel_event);
}

static kpi_status
too_many_events(kpi_msg *msg)
{
	return kpi_fail(msg, KPI_ERR_LIMIT, "A funnel state holds at most %u rows.",
					(unsigned) FUNNEL_MAX_EVENTS);
}

static kpi_status
out_of_memory(kpi_msg *msg)
{
	return kpi_fail(msg, KPI_ERR_NOMEM, "The funnel state could not get memory.");
}

/* A block with a zeroed header, room for capacity rows (not zeroed). */
static kpi_status
alloc_block(const kpi_allocator *mem, uint32_t capacity, funnel_state **out, kpi_msg *msg)
{
	funnel_state *s;

	if (capacity > FUNNEL_MAX_EVENTS)
		return too_many_events(msg);
	s = mem->alloc(block_bytes(capacity), mem->ctx);
	if (s == NULL)
		return out_of_memory(msg);
	memset(s, 0, sizeof(funnel_state));
	s->flags = FUNNEL_SORTED;
	s->capacity = capacity;
	*out = s;
	return KPI_OK;
}

kpi_status
funnel_create(const funnel_params *params, uint32_t capacity, const kpi_allocator *mem,
			  funnel_state **out, kpi_msg *msg)
{
	funnel_state *s;
	kpi_status	st;

	if (params != NULL && (st = funnel_check_params(params, msg)) != KPI_OK)
		return st;
	if ((st = alloc_block(mem, capacity, &s, msg)) != KPI_OK)
		return st;
	memset(s->events, 0, (size_t) capacity * sizeof(funnel_event));
	if (params != NULL)
		set_params(s, params);
	*out = s;
	return KPI_OK;
}

/* Makes room for extra more rows, doubling the block (see the header). */
static kpi_status
reserve(funnel_state **state, const kpi_allocator *mem, uint32_t extra, kpi_msg *msg)
{
	funnel_state *s = *state;
	uint64_t	need = (uint64_t) s->nevents + extra;
	uint64_t	newcap;
	funnel_state *grown;

	if (need <= s->capacity)
		return KPI_OK;
	if (need > FUNNEL_MAX_EVENTS)
		return too_many_events(msg);
	newcap = (uint64_t) s->capacity * 2;
	if (newcap < INITIAL_CAPACITY)
		newcap = INITIAL_CAPACITY;
	if (newcap > FUNNEL_MAX_EVENTS)
		newcap = FUNNEL_MAX_EVENTS;
	if (newcap < need)
		newcap = need;
	grown = mem->realloc(s, block_bytes((uint32_t) newcap), mem->ctx);
	if (grown == NULL)
		return out_of_memory(msg);
	memset(&grown->events[grown->capacity], 0,
		   (size_t) (newcap - grown->capacity) * sizeof(funnel_event));
	grown->capacity = (uint32_t) newcap;
	*state = grown;
	return KPI_OK;
}

/* KPI_OK when steps fits the parameters; status otherwise. */
static kpi_status
check_steps(const funnel_params *p, uint32_t steps, kpi_status status, kpi_msg *msg)
{
	if (((uint64_t) steps >> p->nsteps) != 0)
		return kpi_fail(msg, status, "The step mask %u names a step above %d.",
						(unsigned) steps, p->nsteps);
	if (steps == 0 && (p->modes & FUNNEL_STRICT_ORDER) == 0)
		return kpi_fail(msg, status,
						"Rows matching no step are stored only in strict_order mode.");
	return KPI_OK;
}

kpi_status
funnel_add_row(funnel_state **state, const kpi_allocator *mem, const funnel_params *params,
			   uint64_t entity, int64_t ts, uint32_t steps, kpi_msg *msg)
{
	funnel_state *s = *state;
	kpi_status	st;
	funnel_event *e;

	/* the hot path: parameters as before, a stored row, room for it */
	if (s->nsteps != params->nsteps || s->modes != params->modes ||
		s->keys != params->keys || state_window(s) != params->window)
	{
		funnel_params have;
		char		what[160];

		if (s->nsteps == 0)
		{
			if ((st = funnel_check_params(params, msg)) != KPI_OK)
				return st;
			set_params(s, params);
		}
		funnel_get_params(s, &have);
		if (describe_difference(&have, params, what, sizeof(what)))
			return kpi_fail(msg, KPI_ERR_PARAM, "The rows of one funnel have different %s.", what);
	}
	if (steps == 0 && (s->modes & FUNNEL_STRICT_ORDER) == 0)
		return KPI_OK;
	if (((uint64_t) steps >> s->nsteps) != 0)
		return check_steps(params, steps, KPI_ERR_PARAM, msg);
	if (s->nevents == s->capacity)
	{
		if ((st = reserve(state, mem, 1, msg)) != KPI_OK)
			return st;
		s = *state;
	}
	e = &s->events[s->nevents];
	set_event(e, entity, ts, steps);
	if ((s->flags & FUNNEL_SORTED) && s->nevents > 0 && compare_events(e - 1, e) > 0)
		s->flags &= (uint8_t) ~FUNNEL_SORTED;
	s->nevents++;
	return KPI_OK;
}

static kpi_status merge_sorted(funnel_state *d, const funnel_state *src,
								const kpi_allocator *scratch, kpi_msg *msg);

kpi_status
funnel_merge(funnel_state **dst, const funnel_state *src, const kpi_allocator *mem,
			 const kpi_allocator *scratch, kpi_msg *msg)
{
	funnel_state *d = *dst;
	funnel_params dp,
				sp;
	char		what[160];
	kpi_status	st;
	bool		sorted;

	if (src->nsteps == 0)
		return KPI_OK;
	funnel_get_params(src, &sp);
	if (d->nsteps == 0)
		set_params(d, &sp);
	funnel_get_params(d, &dp);
	if (describe_difference(&dp, &sp, what, sizeof(what)))
		return kpi_fail(msg, KPI_ERR_MISMATCH, "The states have different %s.", what);
	if (src->nevents == 0)
		return KPI_OK;
	if ((st = reserve(dst, mem, src->nevents, msg)) != KPI_OK)
		return st;
	d = *dst;
	/* appending keeps the rows sorted when src is sorted and follows them */
	sorted = (src->flags & FUNNEL_SORTED) &&
		(d->nevents == 0 ||
		 ((d->flags & FUNNEL_SORTED) &&
		  compare_events(&d->events[d->nevents - 1], &src->events[0]) <= 0));
	if (!sorted && d->nevents > 0 && (uint64_t) src->nevents * MERGE_MIN_SHARE >= d->nevents)
		return merge_sorted(d, src, scratch, msg);
	memcpy(&d->events[d->nevents], src->events, (size_t) src->nevents * sizeof(funnel_event));
	d->nevents += src->nevents;
	if (sorted)
		d->flags |= FUNNEL_SORTED;
	else
		d->flags &= (uint8_t) ~FUNNEL_SORTED;
	return KPI_OK;
}

/* -------------------------------------------------------------- sorting */

/* A 32-bit word of the sort key: its offset in a row and a bit to flip. */
typedef struct key_word
{
	size_t		offset;
	uint32_t	flip;			/* turns a signed high word into an unsigned key */
} key_word;

/* The (ts, steps) key, least significant word first. */
static const key_word time_key[] = {
	{offsetof(funnel_event, steps), 0},
	{offsetof(funnel_event, ts_lo), 0},
	{offsetof(funnel_event, ts_hi), UINT32_C(0x80000000)}
};

static inline uint32_t
key_value(const funnel_event *e, const key_word *w)
{
	uint32_t	v;

	memcpy(&v, (const char *) e + w->offset, sizeof(v));
	return v ^ w->flip;
}

/*
 * Stable LSD radix sort of data[0 .. n) on the key words (least
 * significant first), through tmp; counts needs RADIX_COUNTS_BYTES.  A
 * digit on which all rows agree costs no pass.
 */
static void
radix_sort(funnel_event *data, funnel_event *tmp, size_t n, const key_word *words,
		   int nwords, uint32_t *counts)
{
	int			npass = nwords * DIGITS_PER_WORD;
	funnel_event *from = data;
	funnel_event *to = tmp;

	memset(counts, 0, (size_t) npass * RADIX_BUCKETS * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		for (int w = 0; w < nwords; w++)
		{
			uint32_t	v = key_value(&data[i], &words[w]);
			uint32_t   *c = counts + (size_t) w * DIGITS_PER_WORD * RADIX_BUCKETS;

			for (int d = 0; d < DIGITS_PER_WORD; d++)
				c[d * RADIX_BUCKETS + ((v >> (d * RADIX_BITS)) & (RADIX_BUCKETS - 1))]++;
		}

	for (int pass = 0; pass < npass; pass++)
	{
		const key_word *w = &words[pass / DIGITS_PER_WORD];
		int			shift = (pass % DIGITS_PER_WORD) * RADIX_BITS;
		uint32_t   *c = counts + (size_t) pass * RADIX_BUCKETS;
		uint32_t	sum = 0;
		funnel_event *swap;

		if (c[(key_value(&from[0], w) >> shift) & (RADIX_BUCKETS - 1)] == n)
			continue;
		for (uint32_t b = 0; b < RADIX_BUCKETS; b++)
		{
			uint32_t	k = c[b];

			c[b] = sum;
			sum += k;
		}
		for (size_t i = 0; i < n; i++)
			to[c[(key_value(&from[i], w) >> shift) & (RADIX_BUCKETS - 1)]++] = from[i];
		swap = from;
		from = to;
		to = swap;
	}
	if (from != data)
		memcpy(data, from, n * sizeof(funnel_event));
}

static void
insertion_sort(funnel_event *data, size_t n)
{
	for (size_t i = 1; i < n; i++)
	{
		funnel_event v = data[i];
		size_t		j = i;

		while (j > 0 && compare_events(&data[j - 1], &v) > 0)
		{
			data[j] = data[j - 1];
			j--;
		}
		data[j] = v;
	}
}

/* Merge sort of data[0 .. n) through tmp (n rows). */
static void
merge_sort(funnel_event *data, funnel_event *tmp, size_t n)
{
	size_t		half = n / 2;
	size_t		i = 0,
				j = half,
				k = 0;

	if (n <= INSERTION_MAX_ROWS)
	{
		insertion_sort(data, n);
		return;
	}
	merge_sort(data, tmp, half);
	merge_sort(data + half, tmp + half, n - half);
	if (compare_events(&data[half - 1], &data[half]) <= 0)
		return;
	memcpy(tmp, data, n * sizeof(funnel_event));
	while (i < half && j < n)
		data[k++] = compare_events(&tmp[j], &tmp[i]) < 0 ? tmp[j++] : tmp[i++];
	while (i < half)
		data[k++] = tmp[i++];
	while (j < n)
		data[k++] = tmp[j++];
}

/* Entity digit d, d = 0 being the most significant. */
static inline uint32_t
entity_digit(const funnel_event *e, int d)
{
	uint64_t	entity = funnel_event_entity(e);

	return d < ENTITY_DIGITS - 1
		? (uint32_t) (entity >> (64 - RADIX_BITS * (d + 1))) & (RADIX_BUCKETS - 1)
		: (uint32_t) entity & ((1u << (64 - RADIX_BITS * (ENTITY_DIGITS - 1))) - 1);
}

/*
 * The first entity digit on which rows[0 .. n) (n > 0) do not all agree,
 * ENTITY_DIGITS if they are all one entity: one pass over the rows finds
 * it, where a histogram per digit would take a pass per digit (dense keys
 * agree on most of their high digits).
 */
static int
first_split_digit(const funnel_event *rows, size_t n)
{
	uint64_t	first = funnel_event_entity(&rows[0]);
	uint64_t	diff = 0;
	int			digit;

	for (size_t i = 1; i < n; i++)
		diff |= funnel_event_entity(&rows[i]) ^ first;
	if (diff == 0)
		return ENTITY_DIGITS;
	digit = __builtin_clzll(diff) / RADIX_BITS;
	return digit < ENTITY_DIGITS ? digit : ENTITY_DIGITS - 1;
}

/* Counts the values of entity digit `digit` of rows[0 .. n) into c. */
static void
digit_histogram(const funnel_event *rows, size_t n, int digit, uint32_t *c)
{
	memset(c, 0, RADIX_BUCKETS * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		c[entity_digit(&rows[i], digit)]++;
}

/*
 * Moves src[0 .. n) to dst bucket by bucket of entity digit `digit`,
 * whose histogram c becomes the end offsets of the buckets; returns the
 * size of the largest bucket.
 */
static size_t
scatter_by_digit(const funnel_event *src, funnel_event *dst, size_t n, int digit, uint32_t *c)
{
	uint32_t	sum = 0;
	uint32_t	largest = 0;

	for (uint32_t b = 0; b < RADIX_BUCKETS; b++)
	{
		uint32_t	k = c[b];

		c[b] = sum;
		sum += k;
		if (k > largest)
			largest = k;
	}
	for (size_t i = 0; i < n; i++)
		dst[c[entity_digit(&src[i], digit)]++] = src[i];
	return largest;
}

static void sort_buckets(funnel_event *data, funnel_event *tmp, int digit, uint32_t *counts);

/*
 * Sorts data[0 .. n) into canonical order through tmp (n rows): MSD radix
 * sort on the entity (digits on which all rows agree cost no pass), then
 * the rows of one entity by time.  Level d of the radix sort keeps its
 * bucket offsets in slice d of counts; the time sort uses the slices
 * after them.
 */
static void
sort_events(funnel_event *data, funnel_event *tmp, size_t n, uint32_t *counts)
{
	int			digit = n > MSD_MIN_ROWS ? first_split_digit(data, n) : 0;

	if (n > MSD_MIN_ROWS && digit < ENTITY_DIGITS)
	{
		uint32_t   *c = counts + (size_t) digit * RADIX_BUCKETS;

		digit_histogram(data, n, digit, c);
		scatter_by_digit(data, tmp, n, digit, c);
		memcpy(data, tmp, n * sizeof(funnel_event));
		sort_buckets(data, tmp, digit, counts);
		return;
	}
	if (digit == ENTITY_DIGITS && n >= RADIX_MIN_ROWS)
		radix_sort(data, tmp, n, time_key, TIME_KEY_WORDS,
				   counts + (size_t) ENTITY_DIGITS * RADIX_BUCKETS);
	else
		merge_sort(data, tmp, n);
}

/*
 * Sorts each bucket of data, as left by scatter_by_digit on digit, on the
 * digits after it; the buckets take turns with tmp, which needs as many
 * rows as the largest bucket.
 */
static void
sort_buckets(funnel_event *data, funnel_event *tmp, int digit, uint32_t *counts)
{
	const uint32_t *c = counts + (size_t) digit * RADIX_BUCKETS;
	size_t		start = 0;

	for (uint32_t b = 0; b < RADIX_BUCKETS; b++)
	{
		if (c[b] - start > 1)
			sort_events(data + start, tmp, c[b] - start, counts);
		start = c[b];
	}
}

/*
 * Writes the rows src[0 .. n) to dst in canonical order (dst may be src).
 * Scratch from mem, freed before returning: the radix counts, and rows as
 * many as the largest bucket of the first entity digit that splits them
 * when dst is not src (the first pass then goes straight from src to dst),
 * else n rows.
 */
static kpi_status
sort_rows(const funnel_event *src, funnel_event *dst, size_t n, const kpi_allocator *mem,
		  kpi_msg *msg)
{
	funnel_event small[MSD_MIN_ROWS];
	uint32_t   *counts;
	funnel_event *tmp;
	size_t		tmp_rows = n;
	int			digit;
	bool		scattered = false;

	if (n <= MSD_MIN_ROWS)
	{
		memmove(dst, src, n * sizeof(funnel_event));
		merge_sort(dst, small, n);
		return KPI_OK;
	}
	counts = mem->alloc(RADIX_COUNTS_BYTES, mem->ctx);
	if (counts == NULL)
		return out_of_memory(msg);
	digit = first_split_digit(src, n);
	if (dst != src && digit < ENTITY_DIGITS)
	{
		digit_histogram(src, n, digit, counts + (size_t) digit * RADIX_BUCKETS);
		tmp_rows = scatter_by_digit(src, dst, n, digit, counts + (size_t) digit * RADIX_BUCKETS);
		scattered = true;
	}
	else
		memmove(dst, src, n * sizeof(funnel_event));
	tmp = mem->alloc(tmp_rows * sizeof(funnel_event), mem->ctx);
	if (tmp == NULL)
	{
		mem->free(counts, mem->ctx);
		return out_of_memory(msg);
	}
	if (scattered)
		sort_buckets(dst, tmp, digit, counts);
	else
		sort_events(dst, tmp, n, counts);
	mem->free(tmp, mem->ctx);
	mem->free(counts, mem->ctx);
	return KPI_OK;
}

/*
 * The rows of s in canonical order: s->events when sorted, else a sorted
 * copy; *owned is then the memory to free (NULL otherwise).
 */
static kpi_status
sorted_rows(const funnel_state *s, const kpi_allocator *mem, const funnel_event **rows,
			void **owned, kpi_msg *msg)
{
	funnel_event *copy;
	kpi_status	st;

	*owned = NULL;
	*rows = s->events;
	if (s->flags & FUNNEL_SORTED)
		return KPI_OK;
	copy = mem->alloc((size_t) s->nevents * sizeof(funnel_event), mem->ctx);
	if (copy == NULL)
		return out_of_memory(msg);
	if ((st = sort_rows(s->events, copy, s->nevents, mem, msg)) != KPI_OK)
	{
		mem->free(copy, mem->ctx);
		return st;
	}
	*rows = copy;
	*owned = copy;
	return KPI_OK;
}

/*
 * d := d merged with src, sorted: d (which has room for the rows of src)
 * is sorted in place unless it is sorted already, and the rows of src, or
 * a sorted copy of them, are merged into it from the back, so that no row
 * of d is overwritten before it has moved.  Scratch memory for the sorts
 * comes from scratch.  On failure d holds its own rows, possibly sorted.
 */
static kpi_status
merge_sorted(funnel_state *d, const funnel_state *src, const kpi_allocator *scratch,
			 kpi_msg *msg)
{
	const funnel_event *rows;
	void	   *owned;
	size_t		i = d->nevents,
				j = src->nevents,
				k = (size_t) d->nevents + src->nevents;
	kpi_status	st;

	if (!(d->flags & FUNNEL_SORTED))
	{
		if ((st = sort_rows(d->events, d->events, d->nevents, scratch, msg)) != KPI_OK)
			return st;
		d->flags |= FUNNEL_SORTED;
	}
	if ((st = sorted_rows(src, scratch, &rows, &owned, msg)) != KPI_OK)
		return st;
	while (j > 0)
	{
		if (i > 0 && compare_events(&d->events[i - 1], &rows[j - 1]) > 0)
			d->events[--k] = d->events[--i];
		else
			d->events[--k] = rows[--j];
	}
	d->nevents += src->nevents;
	if (owned != NULL)
		scratch->free(owned, scratch->ctx);
	return KPI_OK;
}

kpi_status
funnel_write_canonical(const funnel_state *s, funnel_state *out, const kpi_allocator *scratch,
					   kpi_msg *msg)
{
	kpi_status	st = KPI_OK;

	memset(out, 0, sizeof(funnel_state));
	out->flags = FUNNEL_SORTED;
	out->nsteps = s->nsteps;
	out->modes = s->modes;
	out->keys = s->keys;
	out->window_hi = s->window_hi;
	out->window_lo = s->window_lo;
	out->nevents = s->nevents;
	out->capacity = s->nevents;
	if (s->flags & FUNNEL_SORTED)
		memcpy(out->events, s->events, (size_t) s->nevents * sizeof(funnel_event));
	else
		st = sort_rows(s->events, out->events, s->nevents, scratch, msg);
	return st;
}

kpi_status
funnel_canonical_copy(const funnel_state *s, const kpi_allocator *mem,
					  const kpi_allocator *scratch, funnel_state **out, kpi_msg *msg)
{
	funnel_state *c;
	kpi_status	st;

	if ((st = alloc_block(mem, s->nevents, &c, msg)) != KPI_OK)
		return st;
	if ((st = funnel_write_canonical(s, c, scratch, msg)) != KPI_OK)
	{
		mem->free(c, mem->ctx);
		return st;
	}
	*out = c;
	return KPI_OK;
}

/* ---------------------------------------------------------- evaluation */

typedef struct scan_config
{
	int			nsteps;
	uint64_t	window;
	uint32_t	modes;
} scan_config;

/* The dynamic programme over one entity's rows. */
typedef struct entity_scan
{
	const scan_config *cfg;
	int			level;			/* highest level any chain reached */
	int			level_before;	/* level before the current timestamp */
	bool		seen_first;		/* a step-1 event was scanned */
	int64_t		best[FUNNEL_MAX_STEPS + 1]; /* [k]: latest start of a chain
											 * reaching k, k <= level */
	int64_t		best_before[FUNNEL_MAX_STEPS + 1];	/* best before the current
													 * timestamp */
	int64_t    *times;			/* [k]: time to step k, 2 <= k <= level */
} entity_scan;

/*
 * Matching of the steps lo .. hi a chain takes at one timestamp to the
 * rows of that timestamp (strict_once).  Identical rows are adjacent (rows
 * are sorted) and form a group, named by its first index, that can serve
 * as many steps as it has rows.
 */
typedef struct row_matching
{
	const funnel_event *rows;
	size_t		nrows;
	int			lo;
	int			hi;
	size_t		group_of[FUNNEL_MAX_STEPS + 1]; /* NO_GROUP when unmatched */
} row_matching;

static size_t
group_end(const row_matching *m, size_t g)
{
	size_t		e = g + 1;

	while (e < m->nrows && m->rows[e].steps == m->rows[g].steps)
		e++;
	return e;
}

static size_t
group_load(const row_matching *m, size_t g)
{
	size_t		load = 0;

	for (int x = m->lo; x <= m->hi; x++)
		load += m->group_of[x] == g;
	return load;
}

/*
 * Finds a group for step s (unmatched), moving other steps along an
 * augmenting path if needed; never uses group skip.  visited marks the
 * steps already tried in this search.
 */
static bool
augment(row_matching *m, int s, size_t skip, uint64_t *visited)
{
	uint32_t	bit = 1u << (s - 1);

	for (size_t g = 0, e; g < m->nrows; g = e)
	{
		e = group_end(m, g);
		if (g != skip && (m->rows[g].steps & bit) && group_load(m, g) < e - g)
		{
			m->group_of[s] = g;
			return true;
		}
	}
	for (size_t g = 0, e; g < m->nrows; g = e)
	{
		e = group_end(m, g);
		if (g == skip || !(m->rows[g].steps & bit))
			continue;
		for (int x = m->lo; x <= m->hi; x++)
		{
			if (m->group_of[x] != g || (*visited & ((uint64_t) 1 << x)))
				continue;
			*visited |= (uint64_t) 1 << x;
			if (augment(m, x, g, visited))
			{
				m->group_of[s] = g;
				return true;
			}
		}
	}
	return false;
}

/*
 * strict_once: the latest start of a chain ending with a step-k event at t.
 * Such a chain reached some level a before t (a = 0: it starts at t) and
 * takes steps a + 1 .. k from distinct rows of t.  If that works for a, it
 * works for any larger a, and best is non-increasing in a, so the answer
 * is the smallest a for which the rows can be matched.
 */
static bool
once_chain_start(const entity_scan *sc, const funnel_event *rows, size_t nrows,
				 int64_t t, int k, int64_t *start)
{
	row_matching m;
	int			found = -1;

	m.rows = rows;
	m.nrows = nrows;
	m.hi = k;
	for (int x = 0; x <= FUNNEL_MAX_STEPS; x++)
		m.group_of[x] = NO_GROUP;
	for (int a = k - 1; a >= 0; a--)
	{
		uint64_t	visited = 0;

		m.lo = a + 1;
		if (!augment(&m, a + 1, NO_GROUP, &visited))
			break;
		if (a == 0 || a <= sc->level_before)
			found = a;
	}
	if (found < 0)
		return false;
	*start = found == 0 ? t : sc->best_before[found];
	return true;
}

/* The latest start of a chain that a step-k event at t extends. */
static bool
chain_start(const entity_scan *sc, const funnel_event *rows, size_t nrows, int64_t t,
			int k, int64_t *start)
{
	uint32_t	modes = sc->cfg->modes;

	if (k == 1)
	{
		*start = t;
		return true;
	}
	if (modes & FUNNEL_STRICT_INCREASE)
	{
		if (sc->level_before < k - 1)
			return false;
		*start = sc->best_before[k - 1];
		return true;
	}
	if (modes & FUNNEL_STRICT_ONCE)
		return once_chain_start(sc, rows, nrows, t, k, start);
	if (sc->level < k - 1)
		return false;
	*start = sc->best[k - 1];
	return true;
}

/*
 * Scans the rows of one timestamp t (present: the steps they match,
 * repeated: the steps two or more of them match); false when the scan
 * ends (strict_order, strict_deduplication).
 */
static bool
scan_timestamp(entity_scan *sc, const funnel_event *rows, size_t nrows, int64_t t,
			   uint32_t present, uint32_t repeated)
{
	uint32_t	modes = sc->cfg->modes;

	sc->level_before = sc->level;
	if (modes & (FUNNEL_STRICT_INCREASE | FUNNEL_STRICT_ONCE))
		memcpy(sc->best_before + 1, sc->best + 1, (size_t) sc->level * sizeof(int64_t));
	for (uint32_t rest = present; rest != 0; rest &= rest - 1)
	{
		int			k = __builtin_ctz(rest) + 1;
		int64_t		start;

		if (k >= 2 && (modes & FUNNEL_STRICT_DEDUPLICATION) && sc->level >= k)
			return false;
		if (k >= 2 && (modes & FUNNEL_STRICT_ORDER) && sc->seen_first && sc->level < k - 1)
			return false;
		if (chain_start(sc, rows, nrows, t, k, &start) &&
			(uint64_t) t - (uint64_t) start <= sc->cfg->window)
		{
			if (k > sc->level)
			{
				sc->level = k;
				sc->best[k] = start;
				sc->times[k] = (int64_t) ((uint64_t) t - (uint64_t) start);
			}
			else if (start > sc->best[k])
				sc->best[k] = start;
		}
		if (k == 1)
			sc->seen_first = true;
		if (k >= 2 && (modes & FUNNEL_STRICT_DEDUPLICATION) &&
			(repeated & (1u << (k - 1))) && sc->level >= k)
			return false;
	}
	return true;
}

/*
 * The level of one entity's rows (sorted), and times[k] for 2 <= k <=
 * level.
 */
static int
scan_entity(const scan_config *cfg, const funnel_event *rows, size_t n, int64_t *times)
{
	entity_scan sc;
	size_t		i = 0;

	sc.cfg = cfg;
	sc.level = 0;
	sc.seen_first = false;
	sc.times = times;
	while (i < n && sc.level < cfg->nsteps)
	{
		int64_t		t = funnel_event_ts(&rows[i]);
		uint32_t	present = 0,
					repeated = 0;
		bool		nomatch = false;
		size_t		j;

		for (j = i; j < n && funnel_event_ts(&rows[j]) == t; j++)
		{
			nomatch |= rows[j].steps == 0;
			repeated |= present & rows[j].steps;
			present |= rows[j].steps;
		}
		if (nomatch && sc.seen_first && (cfg->modes & FUNNEL_STRICT_ORDER))
			break;
		if (!scan_timestamp(&sc, rows + i, j - i, t, present, repeated))
			break;
		i = j;
	}
	return sc.level;
}

/* A growing list of times to one step. */
typedef struct time_list
{
	int64_t    *v;
	size_t		n;
	size_t		cap;
} time_list;

static bool
time_list_push(time_list *l, int64_t v, const kpi_allocator *mem)
{
	if (l->n == l->cap)
	{
		size_t		cap = l->cap == 0 ? 1024 : 2 * l->cap;
		int64_t    *p = l->v == NULL ? mem->alloc(cap * sizeof(int64_t), mem->ctx)
			: mem->realloc(l->v, cap * sizeof(int64_t), mem->ctx);

		if (p == NULL)
			return false;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = v;
	return true;
}

/*
 * Rearranges v[0 .. n) so that v[k] is its k-th smallest value, smaller
 * ones before it and larger ones after; returns it.  Quickselect with a
 * three-way partition (times repeat a lot) and pseudo-random pivots.
 */
static int64_t
select_kth(int64_t *v, size_t n, size_t k)
{
	size_t		lo = 0,
				hi = n - 1;
	uint64_t	rng = UINT64_C(0x9E3779B97F4A7C15) ^ n;

	while (lo < hi)
	{
		size_t		lt = lo,
					i = lo,
					gt = hi + 1;	/* v[gt ..] > pivot */
		int64_t		pivot;

		rng = rng * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
		pivot = v[lo + (size_t) ((rng >> 33) % (hi - lo + 1))];
		while (i < gt)
		{
			int64_t		x = v[i];

			if (x < pivot)
			{
				v[i++] = v[lt];
				v[lt++] = x;
			}
			else if (x > pivot)
			{
				v[i] = v[--gt];
				v[gt] = x;
			}
			else
				i++;
		}
		if (k < lt)
			hi = lt - 1;
		else if (k >= gt)
			lo = gt;
		else
			return pivot;
	}
	return v[k];
}

/* The median as percentile_cont(0.5); NaN for no values. */
static double
median(int64_t *v, size_t n)
{
	int64_t		lower,
				upper;

	if (n == 0)
		return NAN;
	if (n % 2 == 1)
		return (double) select_kth(v, n, n / 2);
	lower = select_kth(v, n, n / 2 - 1);
	upper = v[n / 2];
	for (size_t i = n / 2 + 1; i < n; i++)
		if (v[i] < upper)
			upper = v[i];
	return (double) lower + (double) (upper - lower) / 2.0;
}

/*
 * Scans every entity; fills out (with the medians) when it is not NULL,
 * and *max_level.
 */
static kpi_status
evaluate(const funnel_state *s, const kpi_allocator *mem, funnel_result *out,
		 int *max_level, kpi_msg *msg)
{
	scan_config cfg;
	const funnel_event *rows;
	void	   *owned;
	int64_t		at_level[FUNNEL_MAX_STEPS + 1] = {0};
	time_list	lists[FUNNEL_MAX_STEPS + 1];
	kpi_status	st;
	size_t		start = 0;
	int			top = 0;

	memset(lists, 0, sizeof(lists));
	cfg.nsteps = s->nsteps;
	cfg.window = (uint64_t) state_window(s);
	cfg.modes = s->modes;
	if ((st = sorted_rows(s, mem, &rows, &owned, msg)) != KPI_OK)
		return st;
	while (start < s->nevents && st == KPI_OK)
	{
		uint64_t	entity = funnel_event_entity(&rows[start]);
		size_t		end = start + 1;
		int64_t		times[FUNNEL_MAX_STEPS + 1];
		int			level;

		while (end < s->nevents && funnel_event_entity(&rows[end]) == entity)
			end++;
		level = scan_entity(&cfg, rows + start, end - start, times);
		at_level[level]++;
		if (level > top)
			top = level;
		for (int k = 2; out != NULL && k <= level && st == KPI_OK; k++)
			if (!time_list_push(&lists[k], times[k], mem))
				st = out_of_memory(msg);
		start = end;
	}
	if (st == KPI_OK && out != NULL)
	{
		int64_t		reaching = 0;

		out->nsteps = s->nsteps;
		for (int k = FUNNEL_MAX_STEPS; k >= 1; k--)
		{
			reaching += at_level[k];
			if (k > s->nsteps)
				continue;
			out->entities[k - 1] = reaching;
			out->median_time[k - 1] = k == 1 ? (reaching > 0 ? 0.0 : NAN)
				: median(lists[k].v, lists[k].n);
		}
	}
	*max_level = top;
	for (int k = 0; k <= FUNNEL_MAX_STEPS; k++)
		if (lists[k].v != NULL)
			mem->free(lists[k].v, mem->ctx);
	if (owned != NULL)
		mem->free(owned, mem->ctx);
	return st;
}

kpi_status
funnel_evaluate(const funnel_state *s, const kpi_allocator *mem, funnel_result *out,
				kpi_msg *msg)
{
	int			top;

	memset(out, 0, sizeof(*out));
	return evaluate(s, mem, out, &top, msg);
}

kpi_status
funnel_max_level(const funnel_state *s, const kpi_allocator *mem, int *level, kpi_msg *msg)
{
	return evaluate(s, mem, NULL, level, msg);
}

/* ----------------------------------------------------------------- text */

kpi_status
funnel_format(const funnel_state *s, const kpi_allocator *mem, kpi_strbuf *sb, kpi_msg *msg)
{
	const funnel_event *rows;
	void	   *owned;
	kpi_status	st;

	if ((st = sorted_rows(s, mem, &rows, &owned, msg)) != KPI_OK)
		return st;
	kpi_strbuf_appendf(sb, "(v:%d,steps:%d,window:%lld,modes:[", KPI_STATE_VERSION,
					   s->nsteps, (long long) state_window(s));
	funnel_format_modes(s->modes, sb);
	kpi_strbuf_appendf(sb, "],keys:%s,events:[", key_kind_name(s->keys));
	for (uint32_t i = 0; i < s->nevents; i++)
	{
		char		item[80];	/* 1 + 20 + 1 + 20 + 1 + 10 + 1 + 1 + NUL */

		snprintf(item, sizeof(item), "%s(%llu,%lld,%u)", i > 0 ? "," : "",
				 (unsigned long long) funnel_event_entity(&rows[i]),
				 (long long) funnel_event_ts(&rows[i]), (unsigned) rows[i].steps);
		kpi_strbuf_append(sb, item);
	}
	kpi_strbuf_append(sb, "])");
	if (owned != NULL)
		mem->free(owned, mem->ctx);
	if (sb->failed)
		return kpi_fail(msg, KPI_ERR_NOMEM, "The text form of the funnel state could not get memory.");
	return KPI_OK;
}

/* An integer list item in [min, max]. */
static bool
integer_item(const char *item, size_t len, __int128 min, __int128 max, __int128 *out)
{
	return kpi_parse_i128(item, len, out, NULL) == KPI_OK && *out >= min && *out <= max;
}

/* A field value as an int64 in [min, max]. */
static kpi_status
field_integer(const kpi_text_field *f, int64_t min, int64_t max, int64_t *out, kpi_msg *msg)
{
	kpi_status	st = kpi_parse_i64(f->val, f->vallen, out, msg);

	if (st != KPI_OK)
		return st;
	if (*out < min || *out > max)
		return kpi_fail(msg, KPI_ERR_TEXT, "The value \"%.*s\" of field \"%.*s\" is out of range.",
						shown_len(f->vallen), f->val, (int) f->keylen, f->key);
	return KPI_OK;
}

/* Parses "[mode,...]". */
static kpi_status
parse_mode_list(const kpi_text_field *f, uint32_t *modes, kpi_msg *msg)
{
	kpi_list_reader lr;
	const char *item;
	size_t		len;
	kpi_status	st;

	*modes = 0;
	if ((st = kpi_list_open(&lr, f->val, f->vallen, '[', ']', msg)) != KPI_OK)
		return st;
	while (kpi_list_next(&lr, &item, &len, &st, msg))
	{
		uint32_t	one;

		if (funnel_parse_modes(item, len, &one, msg) != KPI_OK)
			return KPI_ERR_TEXT;
		*modes |= one;
	}
	return st;
}

/* Parses "none", "int" or "hash" into a FUNNEL_KEYS_* kind. */
static kpi_status
parse_key_kind(const kpi_text_field *f, uint32_t *keys, kpi_msg *msg)
{
	for (int i = 0; i < NKEY_KINDS; i++)
		if (f->vallen == strlen(key_kind_names[i]) &&
			memcmp(f->val, key_kind_names[i], f->vallen) == 0)
		{
			*keys = (uint32_t) i;
			return KPI_OK;
		}
	return kpi_fail(msg, KPI_ERR_TEXT,
					"The keys of a funnel state are \"int\", \"hash\" or \"none\", not \"%.*s\".",
					shown_len(f->vallen), f->val);
}

/* Parses one event "(entity,ts,steps)" into e. */
static kpi_status
parse_event(const char *text, size_t len, const funnel_params *p, funnel_event *e,
			uint32_t number, kpi_msg *msg)
{
	static const __int128 min[3] = {0, INT64_MIN, 0};
	static const __int128 max[3] = {UINT64_MAX, INT64_MAX, UINT32_MAX};
	__int128	v[3];
	kpi_list_reader lr;
	const char *item;
	size_t		itemlen;
	kpi_status	st = kpi_list_open(&lr, text, len, '(', ')', NULL);
	int			n = 0;

	while (st == KPI_OK && kpi_list_next(&lr, &item, &itemlen, &st, NULL))
	{
		if (n == 3 || !integer_item(item, itemlen, min[n], max[n], &v[n]))
			st = KPI_ERR_TEXT;
		n++;
	}
	if (st != KPI_OK || n != 3)
		return kpi_fail(msg, KPI_ERR_TEXT,
						"Event %u is not written as \"(entity,ts,steps)\" with integers in range.",
						(unsigned) number);
	if ((st = check_steps(p, (uint32_t) v[2], KPI_ERR_TEXT, msg)) != KPI_OK)
		return st;
	set_event(e, (uint64_t) v[0], (int64_t) v[1], (uint32_t) v[2]);
	return KPI_OK;
}

/* Parses "[(entity,ts,steps),...]" into the rows of s (room for them). */
static kpi_status
parse_event_list(const kpi_text_field *f, funnel_state *s, kpi_msg *msg)
{
	kpi_list_reader lr;
	const char *item;
	size_t		len;
	kpi_status	st;
	funnel_params p;

	funnel_get_params(s, &p);
	if ((st = kpi_list_open(&lr, f->val, f->vallen, '[', ']', msg)) != KPI_OK)
		return st;
	while (kpi_list_next(&lr, &item, &len, &st, msg))
	{
		/* each event holds one '(', and the block has room for them all */
		if ((st = parse_event(item, len, &p, &s->events[s->nevents], s->nevents + 1, msg)) != KPI_OK)
			return st;
		s->nevents++;
	}
	return st;
}

/*
 * Checks decoded parameters; a blank state has no window, modes, keys or
 * rows, and only a blank state has keys FUNNEL_KEYS_NONE.  status is what
 * to report.
 */
static kpi_status
check_decoded_params(const funnel_params *p, uint32_t nevents, kpi_status status,
					 kpi_msg *msg)
{
	kpi_status	st;

	if (p->nsteps == 0)
	{
		if (p->window != 0 || p->modes != 0 || p->keys != FUNNEL_KEYS_NONE || nevents != 0)
			return kpi_fail(msg, status,
							"A blank funnel state (0 steps) has no window, modes, keys or events.");
		return KPI_OK;
	}
	if (p->keys == FUNNEL_KEYS_NONE)
		return kpi_fail(msg, status,
						"A funnel state with %d steps has int or hash keys, not none.", p->nsteps);
	if ((st = funnel_check_params(p, msg)) != KPI_OK)
		return status;
	return KPI_OK;
}

/*
 * Sorts a block just filled from outside (through scratch), or frees it
 * on error.
 */
static kpi_status
finish_block(funnel_state *s, kpi_status st, const kpi_allocator *mem,
			 const kpi_allocator *scratch, funnel_state **out, kpi_msg *msg)
{
	for (uint32_t i = 1; i < s->nevents && st == KPI_OK; i++)
		if (compare_events(&s->events[i - 1], &s->events[i]) > 0)
		{
			st = sort_rows(s->events, s->events, s->nevents, scratch, msg);
			break;
		}
	if (st != KPI_OK)
	{
		mem->free(s, mem->ctx);
		return st;
	}
	*out = s;
	return KPI_OK;
}

kpi_status
funnel_parse(const char *text, const kpi_allocator *mem, const kpi_allocator *scratch,
			 funnel_state **out, kpi_msg *msg)
{
	enum
	{
		F_STEPS, F_WINDOW, F_MODES, F_KEYS, F_EVENTS, NFIELDS
	};
	static const char *const keys[NFIELDS] = {"steps", "window", "modes", "keys", "events"};
	kpi_text_field fields[NFIELDS];
	bool		seen[NFIELDS] = {false};
	kpi_text_reader tr;
	kpi_text_field f;
	kpi_status	st;
	funnel_params p;
	int64_t		nsteps;
	uint32_t	count = 0;
	funnel_state *s;

	if ((st = kpi_text_open_state(&tr, text, msg)) != KPI_OK)
		return st;
	while (kpi_text_next_field(&tr, &f, &st, msg))
	{
		int			i = 0;

		while (i < NFIELDS && !kpi_text_key_is(&f, keys[i]))
			i++;
		if (i == NFIELDS)
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\".",
							shown_len(f.keylen), f.key);
		if (seen[i])
			return kpi_fail(msg, KPI_ERR_TEXT, "The field \"%s\" is given twice.", keys[i]);
		seen[i] = true;
		fields[i] = f;
	}
	if (st != KPI_OK)
		return st;
	for (int i = 0; i < NFIELDS; i++)
		if (!seen[i])
			return kpi_fail(msg, KPI_ERR_TEXT, "The field \"%s\" is missing.", keys[i]);
	if ((st = field_integer(&fields[F_STEPS], 0, FUNNEL_MAX_STEPS, &nsteps, msg)) != KPI_OK ||
		(st = field_integer(&fields[F_WINDOW], 0, INT64_MAX, &p.window, msg)) != KPI_OK ||
		(st = parse_mode_list(&fields[F_MODES], &p.modes, msg)) != KPI_OK ||
		(st = parse_key_kind(&fields[F_KEYS], &p.keys, msg)) != KPI_OK)
		return st;
	p.nsteps = (int) nsteps;
	for (size_t i = 0; i < fields[F_EVENTS].vallen; i++)
		count += fields[F_EVENTS].val[i] == '(';
	if ((st = check_decoded_params(&p, count, KPI_ERR_TEXT, msg)) != KPI_OK ||
		(st = alloc_block(mem, count, &s, msg)) != KPI_OK)
		return st;
	set_params(s, &p);
	st = parse_event_list(&fields[F_EVENTS], s, msg);
	return finish_block(s, st, mem, scratch, out, msg);
}

/* --------------------------------------------------------------- binary */

size_t
funnel_encoded_size(const funnel_state *s)
{
	return ENCODED_HEADER + (size_t) s->nevents * ENCODED_EVENT;
}

kpi_status
funnel_encode(const funnel_state *s, const kpi_allocator *mem, kpi_writer *w, kpi_msg *msg)
{
	const funnel_event *rows;
	void	   *owned;
	kpi_status	st;

	if ((st = sorted_rows(s, mem, &rows, &owned, msg)) != KPI_OK)
		return st;
	kpi_put_u8(w, KPI_STATE_VERSION);
	kpi_put_u8(w, s->nsteps);
	kpi_put_u8(w, s->modes);
	kpi_put_u8(w, s->keys);
	kpi_put_i64(w, state_window(s));
	kpi_put_u32(w, s->nevents);
	for (uint32_t i = 0; i < s->nevents; i++)
	{
		kpi_put_u32(w, rows[i].entity_hi);
		kpi_put_u32(w, rows[i].entity_lo);
		kpi_put_u32(w, rows[i].ts_hi);
		kpi_put_u32(w, rows[i].ts_lo);
		kpi_put_u32(w, rows[i].steps);
	}
	if (owned != NULL)
		mem->free(owned, mem->ctx);
	return KPI_OK;
}

kpi_status
funnel_decode(const uint8_t *buf, size_t len, const kpi_allocator *mem,
			  const kpi_allocator *scratch, funnel_state **out, kpi_msg *msg)
{
	kpi_reader	r;
	uint8_t		version;
	funnel_params p;
	uint32_t	count;
	funnel_state *s;
	kpi_status	st;

	kpi_reader_init(&r, buf, len);
	version = kpi_get_u8(&r);
	if (r.failed)
		return kpi_fail(msg, KPI_ERR_BINARY, "The funnel state is empty.");
	if (version != KPI_STATE_VERSION)
		return kpi_fail(msg, KPI_ERR_VERSION, "Unknown funnel state version %u.",
						(unsigned) version);
	p.nsteps = kpi_get_u8(&r);
	p.modes = kpi_get_u8(&r);
	p.keys = kpi_get_u8(&r);
	p.window = kpi_get_i64(&r);
	count = kpi_get_u32(&r);
	if (r.failed || count > (len - r.pos) / ENCODED_EVENT)
		return kpi_fail(msg, KPI_ERR_BINARY, "The data ends before the state is complete.");
	if ((st = check_decoded_params(&p, count, KPI_ERR_BINARY, msg)) != KPI_OK ||
		(st = alloc_block(mem, count, &s, msg)) != KPI_OK)
		return st;
	set_params(s, &p);
	for (uint32_t i = 0; i < count && st == KPI_OK; i++)
	{
		funnel_event *e = &s->events[i];

		e->entity_hi = kpi_get_u32(&r);
		e->entity_lo = kpi_get_u32(&r);
		e->ts_hi = kpi_get_u32(&r);
		e->ts_lo = kpi_get_u32(&r);
		e->steps = kpi_get_u32(&r);
		st = check_steps(&p, e->steps, KPI_ERR_BINARY, msg);
	}
	s->nevents = count;
	if (st == KPI_OK)
		st = kpi_reader_finish(&r, msg);
	return finish_block(s, st, mem, scratch, out, msg);
}
