-- aov: values of kpi.aov against avg() and hand-computed means.
SET extra_float_digits = 0;
CREATE TABLE orders (id int, day date, customer int, amount numeric(12,2), qty int, big bigint, weight float8);
INSERT INTO orders
SELECT i, date '2025-01-01' + (i % 10), i % 7,
       CASE WHEN i % 11 = 0 THEN NULL ELSE round(((i * 7919) % 100000) / 100.0 + 1, 2) END,
       CASE WHEN i % 13 = 0 THEN NULL ELSE (i * 31) % 50 END,
       CASE WHEN i % 17 = 0 THEN NULL ELSE 9000000000000000000 - i END,
       CASE WHEN i % 19 = 0 THEN NULL ELSE ((i * 37) % 1000) / 8.0 END
FROM generate_series(1, 5000) i;

-- Hand-computed: (10.00 + 20.50 + 30.25) / 3 = 20.25, NULLs skipped.
SELECT kpi.aov(x) FROM (VALUES (10.00), (NULL), (20.50), (30.25)) t(x);
-- (1 + 2 + 4) / 3 = 2.333..., and what bigint and float8 inputs give.
SELECT kpi.aov(x::integer) AS int4, kpi.aov(x::bigint) AS int8, kpi.aov(x::float8) AS float8
FROM (VALUES (1), (2), (4)) t(x);
-- Empty input and all-NULL input give NULL, like avg().
SELECT kpi.aov(amount) IS NULL AS empty_is_null FROM orders WHERE false;
SELECT kpi.aov(x) IS NULL AS all_null_is_null FROM (VALUES (NULL::numeric), (NULL)) t(x);

-- Equal to avg() in value and display scale, overall and per group.
SELECT kpi.aov(amount)::text = avg(amount)::text AS numeric_same,
       kpi.aov(qty)::text = avg(qty)::text AS integer_same,
       kpi.aov(big)::text = avg(big)::text AS bigint_same,
       kpi.aov(weight) = avg(weight) AS float8_same
FROM orders;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE a::text IS DISTINCT FROM b::text) AS differing
FROM (SELECT customer, kpi.aov(amount) AS a, avg(amount) AS b FROM orders GROUP BY customer) g;

-- The bigint sums here pass 2^63 many times over without wrapping:
-- the mean of 9000000000000000000 - i over the non-NULL i.
SELECT kpi.aov(big) = (SELECT avg(big) FROM orders) AS huge_sum_exact,
       sum(big) > 9223372036854775807 AS sum_exceeds_bigint
FROM orders;
SELECT kpi.aov(x) FROM (VALUES (9223372036854775807::bigint), (9223372036854775807), (9223372036854775806)) t(x);
SELECT kpi.aov(x) FROM (VALUES ('-9223372036854775808'::bigint), ('-9223372036854775808'), ('-9223372036854775807')) t(x);

-- NaN and infinities behave as in avg(numeric).
SELECT kpi.aov(x), avg(x) FROM (VALUES (1.5), ('NaN')) t(x);
SELECT kpi.aov(x), avg(x) FROM (VALUES (1.5), ('Infinity')) t(x);
SELECT kpi.aov(x), avg(x) FROM (VALUES ('-Infinity'::numeric), (2)) t(x);
SELECT kpi.aov(x), avg(x) FROM (VALUES ('-Infinity'::numeric), ('Infinity')) t(x);
SELECT kpi.aov(x), avg(x) FROM (VALUES ('Infinity'::float8), ('-Infinity')) t(x);

-- Sums past 38 significant digits stay exact.  By hand: (10^30 + 10^-9) / 2
-- = 500000000000000000000000000000.0000000005, which numeric division (as
-- avg() does it) rounds half away from zero to the sum's 9 decimals.
SELECT kpi.aov(x), kpi.aov(x)::text = avg(x)::text AS same_as_avg,
       kpi.aov(x)::text = '500000000000000000000000000000.000000001' AS hand_computed
FROM (VALUES (1e30), (0.000000001)) t(x);
-- Only counts have a ceiling (2^61 - 1 values of each kind): 22003.
SELECT kpi.rollup(s)
FROM (VALUES ('(v:1,kind:numeric,n:2305843009213693951,sum:1,max_scale_count:2305843009213693951,nan:0,pinf:0,ninf:0)'::kpi.aov_state),
             ('(v:1,kind:numeric,n:1,sum:1,max_scale_count:1,nan:0,pinf:0,ninf:0)')) t(s);

-- Two-step form: the partial state, its accessors, and rollup over days
-- give what the one-step aggregate gives over the raw rows.
SELECT kpi.aov_agg(x) FROM (VALUES (10.00), (20.50), (30.25)) t(x);
SELECT kpi.aov(kpi.aov_agg(x)), kpi.aov_float8(kpi.aov_agg(x)), kpi.aov_count(kpi.aov_agg(x))
FROM (VALUES (10.00), (20.50), (30.25)) t(x);
CREATE TABLE daily AS SELECT day, kpi.aov_agg(amount) AS s FROM orders GROUP BY day;
SELECT kpi.aov(kpi.rollup(s))::text = (SELECT kpi.aov(amount)::text FROM orders) AS rollup_equals_raw,
       kpi.aov_count(kpi.rollup(s)) = (SELECT count(amount) FROM orders) AS rollup_count
FROM daily;
-- rollup skips NULL states and gives NULL on no states.
SELECT kpi.aov(kpi.rollup(s)) IS NULL AS no_states FROM daily WHERE false;
SELECT kpi.aov(kpi.rollup(s)) = 15.00 AS null_state_skipped
FROM (VALUES ('(v:1,kind:numeric,n:2,sum:30.00,max_scale_count:2,nan:0,pinf:0,ninf:0)'::kpi.aov_state), (NULL)) t(s);
-- float8 partial states read through kpi.aov_float8 (and kpi.aov as numeric).
SELECT kpi.aov_float8(kpi.rollup(s)), kpi.aov(kpi.rollup(s))
FROM (SELECT kpi.aov_agg(x) AS s FROM (VALUES (0.5::float8), (0.25)) t(x)
      UNION ALL SELECT kpi.aov_agg(1.0::float8)) t;
-- numeric and float8 states do not mix.
SELECT kpi.rollup(s) FROM (SELECT kpi.aov_agg(1.5::numeric) UNION ALL SELECT kpi.aov_agg(1.5::float8)) t(s);

-- One-step and partial aggregates in one query share one state.
SELECT kpi.aov(amount) = kpi.aov(kpi.aov_agg(amount)) AS shared FROM orders;
