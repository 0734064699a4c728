/*-------------------------------------------------------------------------
 *
 * offhours_core.c
 *	  Off-hours share state (see offhours_core.h).
 *
 * IDENTIFICATION
 *	  src/core/offhours_core.c
 *
 *-------------------------------------------------------------------------
 */
#include "offhours_core.h"

#include <string.h>

static const char *const kind_names[] = {"empty", "rows", "weighted"};

void
offhours_init(offhours_core *s)
{
	memset(s, 0, sizeof(*s));
}

/* Give an empty state its kind, or check that it has this kind. */
static kpi_status
take_kind(offhours_core *s, offhours_kind kind, kpi_msg *msg)
{
	if (s->kind == OFFHOURS_EMPTY)
	{
		s->kind = kind;
		return KPI_OK;
	}
	if (s->kind != (int32_t) kind)
		return kpi_fail(msg, KPI_ERR_MISMATCH,
						"A state of %s cannot take %s; the weighted and unweighted forms of kpi.offhours_share do not mix.",
						s->kind == OFFHOURS_ROWS ? "row counts" : "weighted rows",
						kind == OFFHOURS_ROWS ? "row counts" : "weighted rows");
	return KPI_OK;
}

kpi_status
offhours_add(offhours_core *s, bool off, kpi_msg *msg)
{
	kpi_status	st = take_kind(s, OFFHOURS_ROWS, msg);

	if (st != KPI_OK)
		return st;
	s->rows++;
	s->off_rows += off;
	return KPI_OK;
}

kpi_status
offhours_add_weighted(offhours_core *s, bool off, const decsum_decimal *weight,
					  kpi_msg *msg)
{
	offhours_core next = *s;
	kpi_status	st = take_kind(&next, OFFHOURS_WEIGHTED, msg);

	if (st == KPI_OK)
		st = decsum_add_decimal(&next.weight, weight, msg);
	if (st == KPI_OK && off)
		st = decsum_add_decimal(&next.off_weight, weight, msg);
	if (st != KPI_OK)
		return st;
	next.rows++;
	next.off_rows += off;
	*s = next;
	return KPI_OK;
}

/* After a removal: a state that holds no rows again is the empty state. */
static void
settle(offhours_core *s)
{
	if (s->rows == 0)
		offhours_init(s);
}

kpi_status
offhours_remove(offhours_core *s, bool off)
{
	if (s->kind != OFFHOURS_ROWS || s->rows == 0 || (off && s->off_rows == 0) ||
		(!off && s->rows == s->off_rows))
		return KPI_CANNOT_INVERT;	/* not a row that was added */
	s->rows--;
	s->off_rows -= off;
	settle(s);
	return KPI_OK;
}

kpi_status
offhours_remove_weighted(offhours_core *s, bool off, const decsum_decimal *weight,
						 kpi_msg *msg)
{
	offhours_core next = *s;
	kpi_status	st;

	if (s->kind != OFFHOURS_WEIGHTED || s->rows == 0 || (off && s->off_rows == 0) ||
		(!off && s->rows == s->off_rows))
		return KPI_CANNOT_INVERT;
	st = decsum_remove_decimal(&next.weight, weight, msg);
	if (st == KPI_OK && off)
		st = decsum_remove_decimal(&next.off_weight, weight, msg);
	if (st != KPI_OK)
		return st;
	next.rows--;
	next.off_rows -= off;
	settle(&next);
	*s = next;
	return KPI_OK;
}

kpi_status
offhours_merge(offhours_core *dst, const offhours_core *src, kpi_msg *msg)
{
	offhours_core next = *dst;
	kpi_status	st;

	if (src->kind == OFFHOURS_EMPTY)
		return KPI_OK;
	st = take_kind(&next, (offhours_kind) src->kind, msg);
	if (st == KPI_OK && src->kind == OFFHOURS_WEIGHTED)
	{
		st = decsum_merge(&next.weight, &src->weight, msg);
		if (st == KPI_OK)
			st = decsum_merge(&next.off_weight, &src->off_weight, msg);
	}
	if (st != KPI_OK)
		return st;
	if (__builtin_add_overflow(next.rows, src->rows, &next.rows) ||
		__builtin_add_overflow(next.off_rows, src->off_rows, &next.off_rows))
		return kpi_fail(msg, KPI_ERR_OVERFLOW, "The row count of the merged state exceeds bigint.");
	*dst = next;
	return KPI_OK;
}

bool
offhours_row_share(const offhours_core *s, double *share)
{
	if (s->rows == 0)
		return false;
	*share = (double) s->off_rows / (double) s->rows;
	return true;
}

/* ------------------------------------------------------------ validation */

/*
 * Whether s is a state the transition functions could have built; text
 * and binary input both end here, so a stored state is never trusted.
 */
static kpi_status
check_state(const offhours_core *s, kpi_status failure, kpi_msg *msg)
{
	static const offhours_core empty;
	static const decsum no_sum;

	switch (s->kind)
	{
		case OFFHOURS_EMPTY:
			if (memcmp(s, &empty, sizeof(*s)) != 0)
				return kpi_fail(msg, failure, "An empty state has no other fields.");
			return KPI_OK;
		case OFFHOURS_ROWS:
		case OFFHOURS_WEIGHTED:
			break;
		default:
			return kpi_fail(msg, failure, "Unknown state kind %d.", (int) s->kind);
	}
	if (s->rows <= 0 || s->rows > INT64_MAX / 4 || s->off_rows < 0 || s->off_rows > s->rows)
		return kpi_fail(msg, failure,
						"The off-hours row count must be between 0 and the row count, which must be positive.");
	if (s->reserved != 0)
		return kpi_fail(msg, failure, "The reserved field is not zero.");
	if (s->kind == OFFHOURS_ROWS)
	{
		if (memcmp(&s->weight, &no_sum, sizeof(no_sum)) != 0 ||
			memcmp(&s->off_weight, &no_sum, sizeof(no_sum)) != 0)
			return kpi_fail(msg, failure, "A state of row counts has no weight sums.");
		return KPI_OK;
	}
	if (!decsum_is_valid(&s->weight) || !decsum_is_valid(&s->off_weight) ||
		s->weight.count != s->rows || s->off_weight.count != s->off_rows ||
		s->off_weight.scale > s->weight.scale)
		return kpi_fail(msg, failure, "The weight sums, their scales and the counts do not fit together.");
	return KPI_OK;
}

/* ------------------------------------------------------------------ text */

/* Appends ",name:<sum>,count_name:<max_scale_count>" for a weight sum. */
static void
format_weight(kpi_strbuf *out, const char *name, const char *count_name, const decsum *d)
{
	char		buf[DECSUM_TEXT_SIZE(DECSUM_MAX_SCALE)];

	decsum_format(d->sum, d->scale, buf);
	kpi_strbuf_appendf(out, ",%s:", name);
	kpi_strbuf_append(out, buf);
	kpi_strbuf_appendf(out, ",%s:%lld", count_name, (long long) d->max_scale_count);
}

void
offhours_format(const offhours_core *s, kpi_strbuf *out)
{
	kpi_strbuf_appendf(out, "(v:%d", KPI_STATE_VERSION);
	if (s->kind == OFFHOURS_EMPTY)
	{
		kpi_strbuf_append(out, ",n:0)");
		return;
	}
	kpi_strbuf_appendf(out, ",kind:%s,n:%lld,off:%lld", kind_names[s->kind],
					   (long long) s->rows, (long long) s->off_rows);
	if (s->kind == OFFHOURS_WEIGHTED)
	{
		format_weight(out, "weight", "max_scale_count", &s->weight);
		format_weight(out, "off_weight", "off_max_scale_count", &s->off_weight);
	}
	kpi_strbuf_append(out, ")");
}

/* Field names in canonical order; a bit each in the `seen` mask. */
enum
{
	F_KIND, F_N, F_OFF, F_WEIGHT, F_MAX_SCALE_COUNT, F_OFF_WEIGHT, F_OFF_MAX_SCALE_COUNT, F_COUNT
};
static const char *const field_names[F_COUNT] = {
	"kind", "n", "off", "weight", "max_scale_count", "off_weight", "off_max_scale_count"
};

#define FIELDS_ROWS ((1u << F_KIND) | (1u << F_N) | (1u << F_OFF))
#define FIELDS_WEIGHTED (FIELDS_ROWS | (1u << F_WEIGHT) | (1u << F_MAX_SCALE_COUNT) | \
						 (1u << F_OFF_WEIGHT) | (1u << F_OFF_MAX_SCALE_COUNT))

/* Reads one field's value into s (a sum's count is set later). */
static kpi_status
parse_field(const kpi_text_field *f, int which, offhours_core *s, kpi_msg *msg)
{
	switch (which)
	{
		case F_KIND:
			for (int k = OFFHOURS_ROWS; k <= OFFHOURS_WEIGHTED; k++)
			{
				if (strlen(kind_names[k]) == f->vallen &&
					memcmp(f->val, kind_names[k], f->vallen) == 0)
				{
					s->kind = k;
					return KPI_OK;
				}
			}
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown kind \"%.*s\"; expected rows or weighted.",
							(int) f->vallen, f->val);
		case F_N:
			return kpi_parse_i64(f->val, f->vallen, &s->rows, msg);
		case F_OFF:
			return kpi_parse_i64(f->val, f->vallen, &s->off_rows, msg);
		case F_WEIGHT:
			return decsum_parse(f->val, f->vallen, &s->weight.sum, &s->weight.scale, msg);
		case F_MAX_SCALE_COUNT:
			return kpi_parse_i64(f->val, f->vallen, &s->weight.max_scale_count, msg);
		case F_OFF_WEIGHT:
			return decsum_parse(f->val, f->vallen, &s->off_weight.sum, &s->off_weight.scale, msg);
		default:
			return kpi_parse_i64(f->val, f->vallen, &s->off_weight.max_scale_count, msg);
	}
}

kpi_status
offhours_parse(const char *text, offhours_core *s, kpi_msg *msg)
{
	kpi_text_reader tr;
	kpi_text_field f;
	unsigned	seen = 0;
	kpi_status	st = kpi_text_open_state(&tr, text, msg);

	offhours_init(s);
	if (st != KPI_OK)
		return st;
	while (kpi_text_next_field(&tr, &f, &st, msg))
	{
		int			which = 0;

		while (which < F_COUNT && !kpi_text_key_is(&f, field_names[which]))
			which++;
		if (which == F_COUNT)
			return kpi_fail(msg, KPI_ERR_TEXT, "Unknown field \"%.*s\".", (int) f.keylen, f.key);
		if (seen & (1u << which))
			return kpi_fail(msg, KPI_ERR_TEXT, "Field \"%s\" appears twice.", field_names[which]);
		seen |= 1u << which;
		st = parse_field(&f, which, s, msg);
		if (st != KPI_OK)
			return st;
	}
	if (st != KPI_OK)
		return st;
	if (seen == (1u << F_N) && s->rows == 0)
		return KPI_OK;
	if (seen != (s->kind == OFFHOURS_WEIGHTED ? FIELDS_WEIGHTED : FIELDS_ROWS))
		return kpi_fail(msg, KPI_ERR_TEXT, "Fields are missing or do not belong to this kind; "
						"write (v:1,n:0) for an empty state.");
	if (s->kind == OFFHOURS_WEIGHTED)
	{
		s->weight.count = s->rows;
		s->off_weight.count = s->off_rows;
	}
	return check_state(s, KPI_ERR_TEXT, msg);
}

/* ---------------------------------------------------------------- binary */

/* Bytes of a weight sum: sum, scale, max_scale_count. */
#define WEIGHT_BYTES (16 + 4 + 8)

size_t
offhours_encoded_size(const offhours_core *s)
{
	switch (s->kind)
	{
		case OFFHOURS_ROWS:
			return 2 + 2 * 8;
		case OFFHOURS_WEIGHTED:
			return 2 + 2 * 8 + 2 * WEIGHT_BYTES;
		default:
			return 2;
	}
}

static void
encode_weight(kpi_writer *w, const decsum *d)
{
	kpi_put_i128(w, d->sum);
	kpi_put_u32(w, (uint32_t) d->scale);
	kpi_put_i64(w, d->max_scale_count);
}

void
offhours_encode(const offhours_core *s, kpi_writer *w)
{
	kpi_put_u8(w, KPI_STATE_VERSION);
	kpi_put_u8(w, (uint8_t) s->kind);
	if (s->kind == OFFHOURS_EMPTY)
		return;
	kpi_put_i64(w, s->rows);
	kpi_put_i64(w, s->off_rows);
	if (s->kind == OFFHOURS_WEIGHTED)
	{
		encode_weight(w, &s->weight);
		encode_weight(w, &s->off_weight);
	}
}

static void
decode_weight(kpi_reader *r, decsum *d, int64_t count)
{
	d->sum = kpi_get_i128(r);
	d->scale = (int32_t) kpi_get_u32(r);
	d->max_scale_count = kpi_get_i64(r);
	d->count = count;
}

kpi_status
offhours_decode(kpi_reader *r, offhours_core *s, kpi_msg *msg)
{
	kpi_status	st = kpi_get_version(r, msg);

	offhours_init(s);
	if (st != KPI_OK)
		return st;
	s->kind = kpi_get_u8(r);
	if (s->kind == OFFHOURS_EMPTY)
		return KPI_OK;
	s->rows = kpi_get_i64(r);
	s->off_rows = kpi_get_i64(r);
	if (s->kind == OFFHOURS_WEIGHTED)
	{
		decode_weight(r, &s->weight, s->rows);
		decode_weight(r, &s->off_weight, s->off_rows);
	}
	if (r->failed)
	{
		offhours_init(s);
		return kpi_fail(msg, KPI_ERR_BINARY, "The data ends before the state is complete.");
	}
	st = check_state(s, KPI_ERR_BINARY, msg);
	if (st != KPI_OK)
		offhours_init(s);
	return st;
}
