/*-------------------------------------------------------------------------
 *
 * aov_core.c
 *	  Average order value state (see aov_core.h).
 *
 * IDENTIFICATION
 *	  src/core/aov_core.c
 *
 *-------------------------------------------------------------------------
 */
#include "aov_core.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static const char *const kind_names[] = {"empty", "numeric", "float8"};

void
aov_init(aov_core *s)
{
	memset(s, 0, sizeof(*s));
}

/* Number of finite values. */
static int64_t
finite_count(const aov_core *s)
{
	return s->kind == AOV_NUMERIC ? s->sum.dec.count :
		s->kind == AOV_FLOAT8 ? s->sum.flt.count : 0;
}

int64_t
aov_count(const aov_core *s)
{
	return finite_count(s) + s->nan + s->pinf + s->ninf;
}

/* KPI_ERR_OVERFLOW unless count + more stays within AOV_MAX_COUNT. */
static kpi_status
count_room(int64_t count, int64_t more, kpi_msg *msg)
{
	if (more > AOV_MAX_COUNT - count)
		return kpi_fail(msg, KPI_ERR_OVERFLOW,
						"A state holds at most %lld values of each kind: finite, NaN, +Infinity and -Infinity.",
						(long long) AOV_MAX_COUNT);
	return KPI_OK;
}

/* Give an empty state its kind, or check that it has this kind. */
static kpi_status
take_kind(aov_core *s, aov_kind kind, kpi_msg *msg)
{
	if (s->kind == AOV_EMPTY)
	{
		s->kind = kind;
		if (kind == AOV_FLOAT8)
			s->sum.flt.exact = 1;
		return KPI_OK;
	}
	if (s->kind != (int32_t) kind)
		return kpi_fail(msg, KPI_ERR_MISMATCH,
						"A state of %s values cannot take %s values.",
						kind_names[s->kind], kind_names[kind]);
	return KPI_OK;
}

/* take_kind, then check there is room for one more finite value. */
static kpi_status
take_finite(aov_core *s, aov_kind kind, kpi_msg *msg)
{
	kpi_status	st = take_kind(s, kind, msg);

	return st != KPI_OK ? st : count_room(finite_count(s), 1, msg);
}

/*
 * After a transition: a state that holds nothing is the empty state, also
 * when a first value failed after the state had taken its kind.
 */
static kpi_status
settle(aov_core *s, kpi_status status)
{
	if (aov_count(s) == 0)
		aov_init(s);
	return status;
}

/* Where the decsum of a state sits: its wide limbs follow it (aov_core.h). */
#define DEC_OFFSET offsetof(aov_core, sum.dec)

_Static_assert(offsetof(aov_core, sum.dec) + sizeof(decsum) == sizeof(aov_core),
			   "the decsum must end the state, so that its wide limbs follow it");

size_t
aov_size(const aov_core *s)
{
	return s->kind == AOV_NUMERIC ? DEC_OFFSET + decsum_size(&s->sum.dec) : sizeof(aov_core);
}

/*
 * An exact value (a decimal, or an integer when d is NULL) is added or
 * removed through decsum, which may resize the state.  Always inlined, so
 * each caller gets the code of its own case.
 */
static inline __attribute__((always_inline)) kpi_status
exact_step(aov_core **s, const decsum_decimal *d, int64_t v, bool remove,
		   const kpi_allocator *mem, kpi_msg *msg)
{
	void	   *block = *s;
	kpi_status	st;

	if (remove)
	{
		if ((*s)->kind != AOV_NUMERIC)
			return KPI_CANNOT_INVERT;
		st = d != NULL ? decsum_remove_decimal_wide(&block, DEC_OFFSET, d, mem, msg) :
			decsum_remove_int64_wide(&block, DEC_OFFSET, v, mem, msg);
		*s = block;
		return settle(*s, st);
	}
	/* the common case first: a numeric state with room for one more value */
	if ((*s)->kind != AOV_NUMERIC || (*s)->sum.dec.count >= AOV_MAX_COUNT)
	{
		st = take_finite(*s, AOV_NUMERIC, msg);
		if (st != KPI_OK)
			return settle(*s, st);
	}
	st = d != NULL ? decsum_add_decimal_wide(&block, DEC_OFFSET, d, mem, msg) :
		decsum_add_int64_wide(&block, DEC_OFFSET, v, mem, msg);
	*s = block;
	/* a state that took a value is not empty */
	return st == KPI_OK ? st : settle(*s, st);
}

kpi_status
aov_add_decimal_any(aov_core **s, const decsum_decimal *d, const kpi_allocator *mem,
					kpi_msg *msg)
{
	return exact_step(s, d, 0, false, mem, msg);
}

kpi_status
aov_add_int64_wide(aov_core **s, int64_t v, const kpi_allocator *mem, kpi_msg *msg)
{
	return exact_step(s, NULL, v, false, mem, msg);
}

kpi_status
aov_remove_decimal_wide(aov_core **s, const decsum_decimal *d, const kpi_allocator *mem,
						kpi_msg *msg)
{
	return exact_step(s, d, 0, true, mem, msg);
}

kpi_status
aov_remove_int64_wide(aov_core **s, int64_t v, const kpi_allocator *mem, kpi_msg *msg)
{
	return exact_step(s, NULL, v, true, mem, msg);
}

kpi_status
aov_add_int64(aov_core *s, int64_t v, kpi_msg *msg)
{
	return aov_add_int64_wide(&s, v, NULL, msg);
}

kpi_status
aov_remove_decimal(aov_core *s, const decsum_decimal *d, kpi_msg *msg)
{
	return aov_remove_decimal_wide(&s, d, NULL, msg);
}

kpi_status
aov_remove_int64(aov_core *s, int64_t v, kpi_msg *msg)
{
	return aov_remove_int64_wide(&s, v, NULL, msg);
}

kpi_status
aov_add_float8(aov_core *s, double v, kpi_msg *msg)
{
	kpi_status	st;

	if (isnan(v))
		return aov_add_special(s, AOV_FLOAT8, AOV_NAN, msg);
	if (isinf(v))
		return aov_add_special(s, AOV_FLOAT8, v > 0 ? AOV_PINF : AOV_NINF, msg);
	st = take_finite(s, AOV_FLOAT8, msg);
	if (st == KPI_OK)
		st = fsum_add(&s->sum.flt, v, msg);
	return settle(s, st);
}

static int64_t *
special_counter(aov_core *s, aov_special which)
{
	return which == AOV_NAN ? &s->nan : which == AOV_PINF ? &s->pinf : &s->ninf;
}

kpi_status
aov_add_special(aov_core *s, aov_kind kind, aov_special which, kpi_msg *msg)
{
	kpi_status	st = take_kind(s, kind, msg);

	if (st == KPI_OK)
		st = count_room(*special_counter(s, which), 1, msg);
	if (st == KPI_OK)
		(*special_counter(s, which))++;
	return settle(s, st);
}

kpi_status
aov_remove_float8(aov_core *s, double v, kpi_msg *msg)
{
	if (isnan(v))
		return aov_remove_special(s, AOV_FLOAT8, AOV_NAN, msg);
	if (isinf(v))
		return aov_remove_special(s, AOV_FLOAT8, v > 0 ? AOV_PINF : AOV_NINF, msg);
	if (s->kind != AOV_FLOAT8)
		return KPI_CANNOT_INVERT;
	return settle(s, fsum_remove(&s->sum.flt, v));
}

kpi_status
aov_remove_special(aov_core *s, aov_kind kind, aov_special which, kpi_msg *msg)
{
	int64_t    *counter = special_counter(s, which);

	(void) msg;
	if (s->kind != (int32_t) kind || *counter == 0)
		return KPI_CANNOT_INVERT;
	(*counter)--;
	return settle(s, KPI_OK);
}

kpi_status
aov_merge_wide(aov_core **dst, const aov_core *src, const kpi_allocator *mem, kpi_msg *msg)
{
	aov_core	next = **dst;	/* the fixed part; a wide sum stays in place */
	const aov_core from = *src;	/* src's fixed part: src may be *dst, which may move */
	kpi_status	st;

	if (from.kind == AOV_EMPTY)
		return KPI_OK;
	st = take_kind(&next, (aov_kind) from.kind, msg);
	if (st == KPI_OK)
		st = count_room(finite_count(&next), finite_count(&from), msg);
	if (st == KPI_OK)
		st = count_room(next.nan, from.nan, msg);
	if (st == KPI_OK)
		st = count_room(next.pinf, from.pinf, msg);
	if (st == KPI_OK)
		st = count_room(next.ninf, from.ninf, msg);
	if (st == KPI_OK && from.kind == AOV_FLOAT8)
		st = fsum_merge(&next.sum.flt, &from.sum.flt, msg);
	if (st == KPI_OK && from.kind == AOV_NUMERIC)
	{
		void	   *block = *dst;

		st = decsum_merge_wide(&block, DEC_OFFSET, &src->sum.dec, mem, msg);
		*dst = block;
	}
	if (st != KPI_OK)
		return st;
	(*dst)->kind = next.kind;
	(*dst)->nan = next.nan + from.nan;
	(*dst)->pinf = next.pinf + from.pinf;
	(*dst)->ninf = next.ninf + from.ninf;
	if (next.kind == AOV_FLOAT8)
		(*dst)->sum.flt = next.sum.flt;
	return KPI_OK;
}

kpi_status
aov_merge(aov_core *dst, const aov_core *src, kpi_msg *msg)
{
	return aov_merge_wide(&dst, src, NULL, msg);
}

aov_outcome
aov_result(const aov_core *s)
{
	if (aov_count(s) == 0)
		return AOV_NO_VALUES;
	if (s->nan > 0 || (s->pinf > 0 && s->ninf > 0))
		return AOV_MEAN_NAN;
	if (s->pinf > 0)
		return AOV_MEAN_PINF;
	if (s->ninf > 0)
		return AOV_MEAN_NINF;
	return AOV_MEAN_FINITE;
}

/* ------------------------------------------------------------ validation */

/*
 * Whether s is a state the transition functions could have built; text
 * and binary input both end here, so a stored state is never trusted.
 */
static bool
aov_is_valid(const aov_core *s, kpi_msg *msg)
{
	static const aov_core empty;

	if (s->nan < 0 || s->pinf < 0 || s->ninf < 0 ||
		s->nan > AOV_MAX_COUNT || s->pinf > AOV_MAX_COUNT || s->ninf > AOV_MAX_COUNT)
		return kpi_fail(msg, KPI_ERR_TEXT, "The counts of NaN and infinite values must be between 0 and %lld.",
						(long long) AOV_MAX_COUNT) == KPI_OK;
	switch (s->kind)
	{
		case AOV_EMPTY:
			if (memcmp(s, &empty, sizeof(*s)) != 0)
				return kpi_fail(msg, KPI_ERR_TEXT, "An empty state has no other fields.") == KPI_OK;
			return true;
		case AOV_NUMERIC:
			{
				const decsum *d = &s->sum.dec;

				/* at scale 0, every value has the largest scale */
				if (d->count < 0 || d->count > AOV_MAX_COUNT ||
					d->scale < 0 || d->scale > DECSUM_MAX_SCALE ||
					d->max_scale_count < 0 || d->max_scale_count > d->count ||
					(d->count > 0 && d->scale > 0 && d->max_scale_count == 0) ||
					(d->scale == 0 && d->max_scale_count != d->count) ||
					(d->count == 0 && (d->sum != 0 || d->wide != 0 || d->scale != 0)))
					return kpi_fail(msg, KPI_ERR_TEXT,
									"The sum, its scale and the counts do not fit together.") == KPI_OK;
				return true;
			}
		case AOV_FLOAT8:
			if (s->sum.flt.count > AOV_MAX_COUNT || !fsum_is_valid(&s->sum.flt))
				return kpi_fail(msg, KPI_ERR_TEXT,
								"The float8 sum is not finite, not normalised, or does not fit its count.") == KPI_OK;
			return true;
		default:
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown state kind %d.", (int) s->kind) == KPI_OK;
	}
}

/* n less the NaN and infinity counts of s, or -1 if that overflows. */
static int64_t
finite_part(int64_t n, const aov_core *s)
{
	int64_t		finite;

	if (__builtin_sub_overflow(n, s->nan, &finite) ||
		__builtin_sub_overflow(finite, s->pinf, &finite) ||
		__builtin_sub_overflow(finite, s->ninf, &finite))
		return -1;
	return finite;
}

/* ------------------------------------------------------------------ text */

void
aov_format(const aov_core *s, kpi_strbuf *out)
{
	kpi_strbuf_appendf(out, "(v:%d", KPI_STATE_VERSION);
	if (s->kind == AOV_EMPTY)
	{
		kpi_strbuf_append(out, ",n:0)");
		return;
	}
	kpi_strbuf_appendf(out, ",kind:%s,n:%lld,sum:", kind_names[s->kind],
					   (long long) aov_count(s));
	if (s->kind == AOV_NUMERIC)
	{
		decsum_append_sum(&s->sum.dec, out);
		kpi_strbuf_appendf(out, ",max_scale_count:%lld", (long long) s->sum.dec.max_scale_count);
	}
	else
	{
		kpi_strbuf_append_f64(out, s->sum.flt.hi);
		kpi_strbuf_append(out, ",sum_lo:");
		kpi_strbuf_append_f64(out, s->sum.flt.lo);
		kpi_strbuf_append(out, s->sum.flt.exact ? ",exact:true" : ",exact:false");
	}
	kpi_strbuf_appendf(out, ",nan:%lld,pinf:%lld,ninf:%lld)",
					   (long long) s->nan, (long long) s->pinf, (long long) s->ninf);
}

/* Field names in canonical order; a bit each in the `seen` mask. */
enum
{
	F_KIND, F_N, F_SUM, F_MAX_SCALE_COUNT, F_SUM_LO, F_EXACT, F_NAN, F_PINF, F_NINF, F_COUNT
};
static const char *const field_names[F_COUNT] = {
	"kind", "n", "sum", "max_scale_count", "sum_lo", "exact", "nan", "pinf", "ninf"
};

#define FIELDS_NUMERIC ((1u << F_KIND) | (1u << F_N) | (1u << F_SUM) | (1u << F_MAX_SCALE_COUNT) | \
						(1u << F_NAN) | (1u << F_PINF) | (1u << F_NINF))
#define FIELDS_FLOAT8 ((1u << F_KIND) | (1u << F_N) | (1u << F_SUM) | (1u << F_SUM_LO) | \
					   (1u << F_EXACT) | (1u << F_NAN) | (1u << F_PINF) | (1u << F_NINF))

/* The raw field values of a state text, before they are checked together. */
typedef struct aov_fields
{
	unsigned	seen;
	kpi_text_field sum;			/* parsed once the kind is known */
	aov_kind	kind;
	int64_t		n;
	int64_t		max_scale_count;
	double		sum_lo;
	bool		exact;
	int64_t		special[3];
} aov_fields;

static kpi_status
parse_field(const kpi_text_field *f, int which, aov_fields *fields, kpi_msg *msg)
{
	switch (which)
	{
		case F_KIND:
			for (int k = AOV_NUMERIC; k <= AOV_FLOAT8; k++)
				if (strlen(kind_names[k]) == f->vallen &&
					memcmp(f->val, kind_names[k], f->vallen) == 0)
				{
					fields->kind = (aov_kind) k;
					return KPI_OK;
				}
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown kind \"%.*s\"; expected numeric or float8.",
							(int) f->vallen, f->val);
		case F_N:
			return kpi_parse_i64(f->val, f->vallen, &fields->n, msg);
		case F_SUM:
			fields->sum = *f;
			return KPI_OK;
		case F_MAX_SCALE_COUNT:
			return kpi_parse_i64(f->val, f->vallen, &fields->max_scale_count, msg);
		case F_SUM_LO:
			return kpi_parse_f64(f->val, f->vallen, &fields->sum_lo, msg);
		case F_EXACT:
			if (f->vallen == 4 && memcmp(f->val, "true", 4) == 0)
				fields->exact = true;
			else if (f->vallen == 5 && memcmp(f->val, "false", 5) == 0)
				fields->exact = false;
			else
				return kpi_fail(msg, KPI_ERR_TEXT, "\"exact\" is true or false, not \"%.*s\".",
								(int) f->vallen, f->val);
			return KPI_OK;
		default:
			return kpi_parse_i64(f->val, f->vallen, &fields->special[which - F_NAN], msg);
	}
}

/*
 * Parses text into *out: a state allocated by mem, which may grow, or a
 * fixed-size state when mem is NULL.
 */
static kpi_status
parse_state(const char *text, const kpi_allocator *mem, aov_core **out, kpi_msg *msg)
{
	aov_core   *s = *out;
	kpi_text_reader tr;
	kpi_text_field f;
	aov_fields	fields = {0};
	kpi_status	st = kpi_text_open_state(&tr, text, msg);
	int64_t		finite;

	if (st != KPI_OK)
		return st;
	while (kpi_text_next_field(&tr, &f, &st, msg))
	{
		int			which = 0;

		while (which < F_COUNT && !kpi_text_key_is(&f, field_names[which]))
			which++;
		if (which == F_COUNT)
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\".", (int) f.keylen, f.key);
		if (fields.seen & (1u << which))
			return kpi_fail(msg, KPI_ERR_TEXT, "Field \"%s\" appears twice.", field_names[which]);
		fields.seen |= 1u << which;
		st = parse_field(&f, which, &fields, msg);
		if (st != KPI_OK)
			return st;
	}
	if (st != KPI_OK)
		return st;

	aov_init(s);
	if (fields.seen == (1u << F_N) && fields.n == 0)
		return KPI_OK;
	if (fields.seen != (fields.kind == AOV_FLOAT8 ? FIELDS_FLOAT8 : FIELDS_NUMERIC))
		return kpi_fail(msg, KPI_ERR_TEXT, "Fields are missing or do not belong to this kind; "
						"write (v:1,n:0) for an empty state.");

	s->kind = fields.kind;
	s->nan = fields.special[0];
	s->pinf = fields.special[1];
	s->ninf = fields.special[2];
	finite = finite_part(fields.n, s);
	if (fields.kind == AOV_NUMERIC)
	{
		void	   *block = s;

		s->sum.dec.count = finite;
		s->sum.dec.max_scale_count = fields.max_scale_count;
		st = decsum_parse_sum(&block, DEC_OFFSET, fields.sum.val, fields.sum.vallen, mem, msg);
		*out = s = block;
	}
	else
	{
		st = kpi_parse_f64(fields.sum.val, fields.sum.vallen, &s->sum.flt.hi, msg);
		s->sum.flt.lo = fields.sum_lo;
		s->sum.flt.count = finite;
		s->sum.flt.exact = fields.exact ? 1 : 0;
		/* -0 reads as 0: equal states have equal bytes */
		s->sum.flt.hi += 0.0;
		s->sum.flt.lo += 0.0;
	}
	if (st != KPI_OK)
		return st;
	if (fields.n < 0 || finite < 0)
		return kpi_fail(msg, KPI_ERR_TEXT, "\"n\" must count every value, NaN and infinities included.");
	if (!aov_is_valid(s, msg))
		return KPI_ERR_TEXT;
	if (fields.n == 0)
		aov_init(s);
	return KPI_OK;
}

/* A new empty state from mem, or NULL. */
static aov_core *
new_state(const kpi_allocator *mem)
{
	aov_core   *s = mem->alloc(sizeof(aov_core), mem->ctx);

	if (s != NULL)
		aov_init(s);
	return s;
}

/* Hands a state made by a _wide decoder to its caller, or frees it. */
static kpi_status
deliver(kpi_status st, aov_core *s, const kpi_allocator *mem, aov_core **out, kpi_msg *msg)
{
	if (s == NULL)
		return kpi_fail(msg, KPI_ERR_NOMEM, "No memory for a state.");
	if (st != KPI_OK)
	{
		mem->free(s, mem->ctx);
		return st;
	}
	*out = s;
	return KPI_OK;
}

kpi_status
aov_parse_wide(const char *text, const kpi_allocator *mem, aov_core **out, kpi_msg *msg)
{
	aov_core   *s = new_state(mem);
	kpi_status	st = s == NULL ? KPI_ERR_NOMEM : parse_state(text, mem, &s, msg);

	return deliver(st, s, mem, out, msg);
}

kpi_status
aov_parse(const char *text, aov_core *s, kpi_msg *msg)
{
	return parse_state(text, NULL, &s, msg);
}

/* ---------------------------------------------------------------- binary */

/* The kind byte of a numeric state whose sum is wide. */
#define AOV_WIRE_NUMERIC_WIDE 3

size_t
aov_encoded_size(const aov_core *s)
{
	bigdec		wide;
	uint32_t	buf[BIGDEC_INT128_LIMBS];

	switch (s->kind)
	{
		case AOV_NUMERIC:
			if (s->sum.dec.wide == 0)
				return 2 + 4 * 8 + 16 + 4 + 8;
			decsum_sum(&s->sum.dec, &wide, buf);
			return 2 + 4 * 8 + bigdec_encoded_size(&wide) + 8;
		case AOV_FLOAT8:
			return 2 + 4 * 8 + 8 + 8 + 1;
		default:
			return 2;
	}
}

void
aov_encode(const aov_core *s, kpi_writer *w)
{
	bool		wide = s->kind == AOV_NUMERIC && s->sum.dec.wide != 0;

	kpi_put_u8(w, KPI_STATE_VERSION);
	kpi_put_u8(w, wide ? AOV_WIRE_NUMERIC_WIDE : (uint8_t) s->kind);
	if (s->kind == AOV_EMPTY)
		return;
	kpi_put_i64(w, aov_count(s));
	kpi_put_i64(w, s->nan);
	kpi_put_i64(w, s->pinf);
	kpi_put_i64(w, s->ninf);
	if (wide)
	{
		bigdec		sum;
		uint32_t	buf[BIGDEC_INT128_LIMBS];

		decsum_sum(&s->sum.dec, &sum, buf);
		bigdec_encode(&sum, w);
		kpi_put_i64(w, s->sum.dec.max_scale_count);
	}
	else if (s->kind == AOV_NUMERIC)
	{
		kpi_put_i128(w, s->sum.dec.sum);
		kpi_put_u32(w, (uint32_t) s->sum.dec.scale);
		kpi_put_i64(w, s->sum.dec.max_scale_count);
	}
	else
	{
		kpi_put_f64(w, s->sum.flt.hi);
		kpi_put_f64(w, s->sum.flt.lo);
		kpi_put_u8(w, (uint8_t) s->sum.flt.exact);
	}
}

/*
 * Decodes into *out: a state allocated by mem, which may grow, or a
 * fixed-size state when mem is NULL (which refuses wide sums).
 */
static kpi_status
decode_state(kpi_reader *r, const kpi_allocator *mem, aov_core **out, kpi_msg *msg)
{
	aov_core   *s = *out;
	uint8_t		version = kpi_get_u8(r);
	uint8_t		wire;
	int64_t		n;
	int64_t		finite;
	bigdec		wide = {NULL, 0, 0, false};
	kpi_status	st = KPI_OK;

	aov_init(s);
	if (r->failed)
		return kpi_fail(msg, KPI_ERR_BINARY, "The data is empty.");
	if (version != KPI_STATE_VERSION)
		return kpi_fail(msg, KPI_ERR_VERSION, "This release of kpi reads state version %d, not %d.",
						KPI_STATE_VERSION, version);
	wire = kpi_get_u8(r);
	if (wire == AOV_EMPTY)
		return KPI_OK;
	if (wire != AOV_NUMERIC && wire != AOV_FLOAT8 && wire != AOV_WIRE_NUMERIC_WIDE)
		return kpi_fail(msg, KPI_ERR_BINARY, "Unknown state kind %d.", (int) wire);
	if (wire == AOV_WIRE_NUMERIC_WIDE && mem == NULL)
		return kpi_fail(msg, KPI_ERR_BINARY, "The sum has more than the 38 digits this state holds.");
	s->kind = wire == AOV_FLOAT8 ? AOV_FLOAT8 : AOV_NUMERIC;
	n = kpi_get_i64(r);
	s->nan = kpi_get_i64(r);
	s->pinf = kpi_get_i64(r);
	s->ninf = kpi_get_i64(r);
	finite = finite_part(n, s);
	if (wire == AOV_NUMERIC)
	{
		s->sum.dec.sum = kpi_get_i128(r);
		s->sum.dec.scale = (int32_t) kpi_get_u32(r);
		s->sum.dec.max_scale_count = kpi_get_i64(r);
		s->sum.dec.count = finite;
	}
	else if (wire == AOV_WIRE_NUMERIC_WIDE)
	{
		st = bigdec_decode(r, &wide, mem, msg);
		s->sum.dec.max_scale_count = kpi_get_i64(r);
		s->sum.dec.count = finite;
	}
	else
	{
		s->sum.flt.hi = kpi_get_f64(r);
		s->sum.flt.lo = kpi_get_f64(r);
		s->sum.flt.exact = kpi_get_u8(r);
		s->sum.flt.count = finite;
	}
	if (st == KPI_OK && r->failed)
		st = kpi_fail(msg, KPI_ERR_BINARY, "The data ends before the state is complete.");
	if (st == KPI_OK && wire == AOV_WIRE_NUMERIC_WIDE)
	{
		__int128	narrow;
		void	   *block = s;

		if (bigdec_to_int128(&wide, &narrow))
			st = kpi_fail(msg, KPI_ERR_BINARY, "A sum that fits in 128 bits must be written as kind 1.");
		else
			st = decsum_set_sum(&block, DEC_OFFSET, &wide, mem, msg);
		*out = s = block;
		if (st == KPI_ERR_OVERFLOW)
			st = KPI_ERR_BINARY;
	}
	bigdec_free(&wide, mem);
	if (st != KPI_OK)
		return st;
	if (n <= 0 || finite < 0 || !aov_is_valid(s, msg))
		return kpi_fail(msg, KPI_ERR_BINARY, "The counts and sums do not form a valid state.");
	return KPI_OK;
}

kpi_status
aov_decode_wide(kpi_reader *r, const kpi_allocator *mem, aov_core **out, kpi_msg *msg)
{
	aov_core   *s = new_state(mem);
	kpi_status	st = s == NULL ? KPI_ERR_NOMEM : decode_state(r, mem, &s, msg);

	return deliver(st, s, mem, out, msg);
}

kpi_status
aov_decode(kpi_reader *r, aov_core *s, kpi_msg *msg)
{
	kpi_status	st = decode_state(r, NULL, &s, msg);

	if (st != KPI_OK)
		aov_init(s);
	return st;
}
