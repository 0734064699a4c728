-- retention: kpi.retention_rate, kpi.cohort_agg/kpi.cohorts, kpi.repeat_rate,
-- kpi.purchase_frequency and the order-line kpi.aov against independent
-- plain-SQL computations on generated data, plus hand-computed examples.
SET extra_float_digits = 0;

-- 20,000 orders of about 500 customers over 2024-2025 (some NULL ids),
-- every value a function of the row number.
CREATE TABLE r_orders AS
SELECT i AS order_id,
       CASE WHEN i % 97 = 0 THEN NULL ELSE (i * 7919) % 487 + (i % 5) * 1000 END AS customer,
       timestamptz '2024-01-01 00:00:00+00' + ((i::bigint * 104729) % (731 * 24 * 60)) * interval '1 minute' AS ordered_at,
       (ARRAY['north', 'south', 'east'])[1 + i % 3] AS segment,
       round(((i * 7907) % 100000) / 100.0, 2) AS amount
FROM generate_series(1, 20000) i;
-- order lines: 1 to 4 per order, in order-id order
CREATE TABLE r_lines AS
SELECT o.order_id, o.customer, l AS line_no, round(o.amount / (1 + o.order_id % 4) + l * 0.01, 2) AS amount,
       o.ordered_at, o.segment
FROM r_orders o, generate_series(1, 1 + (o.order_id % 4)::int) l;
-- statistics, so that the plain-SQL references below get sane plans
ANALYZE r_orders, r_lines;

-- ---------------------------------------------------------------- by hand
-- Customers 1, 2 before the cutoff; 1 and 3 after: base 2, retained 1,
-- churned 1, new 1.
CREATE TABLE hand AS
SELECT * FROM (VALUES (1, timestamptz '2025-01-01 10:00+00'), (2, '2025-01-02 00:00+00'),
                      (1, '2025-01-03 00:00+00'), (3, '2025-01-05 00:00+00'), (NULL, '2024-12-01 00:00+00'),
                      (2, NULL)) v(c, t);
SELECT kpi.retention_rate(c, t, '2025-01-03 00:00+00') AS rate,
       kpi.retention_agg(c, t, '2025-01-03 00:00+00') AS state,
       kpi.base_customers(kpi.retention_agg(c, t, '2025-01-03 00:00+00')) AS base,
       kpi.retained_customers(kpi.retention_agg(c, t, '2025-01-03 00:00+00')) AS retained,
       kpi.churned_customers(kpi.retention_agg(c, t, '2025-01-03 00:00+00')) AS churned,
       kpi.new_customers(kpi.retention_agg(c, t, '2025-01-03 00:00+00')) AS new,
       kpi.churn_rate(kpi.retention_agg(c, t, '2025-01-03 00:00+00')) AS churn
FROM hand;
-- with a 1-day period only [01-02, 01-04) counts: customer 2 before, 1 after
SELECT kpi.retention_rate(c, t, '2025-01-03 00:00+00', '1 day') AS rate,
       kpi.retention_agg(c, t, '2025-01-03 00:00+00', '1 day') AS state FROM hand;
-- no customer before the cutoff, or no rows at all: NULL
SELECT kpi.retention_rate(c, t, '2024-01-01') AS no_base FROM hand;
SELECT kpi.retention_rate(c, t, '2025-01-03') AS no_rows, kpi.retention_agg(c, t, '2025-01-03') AS empty_state
FROM hand WHERE false;

-- Cohorts by hand: a orders in Jan and Mar, b in Feb, c in Jan and Feb.
SELECT * FROM kpi.cohorts((
    SELECT kpi.cohort_agg(c, t, 'month')
    FROM (VALUES ('a', timestamptz '2025-01-31 23:59:59+00'), ('b', '2025-02-10 00:00+00'),
                 ('a', '2025-03-01 00:00+00'), ('c', '2025-01-05 00:00+00'), ('c', '2025-02-05 00:00+00'),
                 ('a', '2025-01-02 00:00+00')) v(c, t)));
-- ISO weeks start on Monday: 2025-01-05 is a Sunday, 2025-01-06 a Monday.
SELECT * FROM kpi.cohorts((
    SELECT kpi.cohort_agg(c, t, 'week')
    FROM (VALUES (1, timestamptz '2025-01-05 12:00+00'), (1, '2025-01-06 00:00+00'), (2, '2025-01-06 00:00+00')) v(c, t)));
SELECT count(*) AS days, count(*) FILTER (WHERE period_offset = 0) AS cohorts,
       sum(active_customers) FILTER (WHERE period_offset = 0)
         = (SELECT count(DISTINCT customer) FROM r_orders WHERE order_id <= 2000) AS sizes_add_up
FROM kpi.cohorts((SELECT kpi.cohort_agg(customer, ordered_at, 'day') FROM r_orders WHERE order_id <= 2000));
SELECT count(*) AS empty_cohorts FROM kpi.cohorts((SELECT kpi.cohort_agg(1, now(), 'day') WHERE false));

-- Repeat purchases by hand: customer 1 has 3 rows in 2 orders, 2 one row.
SELECT kpi.repeat_rate(c) AS rows_rate, kpi.purchase_frequency(c) AS rows_freq,
       kpi.repeat_rate(c, o) AS orders_rate, kpi.purchase_frequency(c, o) AS orders_freq,
       kpi.repeat_customers(kpi.repeat_agg(c, o)) AS repeaters,
       kpi.repeat_agg(c, o) AS state
FROM (VALUES (1, 10::bigint), (1, 10), (1, 11), (2, 12), (NULL, 13), (3, NULL)) v(c, o);

-- Order-line AOV by hand: orders 10 (1.50 + 2.25) and 11 (3): 6.75 / 2.
SELECT kpi.aov(a, o) AS aov, kpi.aov_count(kpi.aov_agg(a, o)) AS orders, kpi.aov_agg(a, o) AS state
FROM (VALUES (1.50, 10), (2.25, 10), (3, 11), (NULL, 12), (4, NULL)) v(a, o);
SELECT kpi.aov(a, o) AS no_lines FROM (VALUES (1.5, 1)) v(a, o) WHERE false;
SELECT kpi.aov(a, o) AS nan_aov FROM (VALUES (1.5, 1), ('NaN', 2)) v(a, o);

-- ---------------------------------------------------------------- retention
-- Independent SQL: distinct customers before, each checked for an order at
-- or after the cutoff.
CREATE FUNCTION sql_retention(cutoff timestamptz, seg text, lo timestamptz, hi timestamptz,
    OUT base bigint, OUT retained bigint, OUT new_customers bigint) LANGUAGE sql AS $$
    WITH o AS (SELECT customer, ordered_at FROM r_orders
               WHERE customer IS NOT NULL AND (seg IS NULL OR segment = seg)
                 AND ordered_at >= lo AND ordered_at < hi),
         b AS (SELECT DISTINCT customer FROM o WHERE ordered_at < cutoff),
         a AS (SELECT DISTINCT customer FROM o WHERE ordered_at >= cutoff)
    SELECT (SELECT count(*) FROM b), (SELECT count(*) FROM b JOIN a USING (customer)),
           (SELECT count(*) FROM (SELECT customer FROM a EXCEPT SELECT customer FROM b) n)
$$;

-- month-over-month cutoffs, whole table and per segment
SELECT count(*) AS cutoffs,
       count(*) FILTER (WHERE k.rate IS DISTINCT FROM s.retained::float8 / nullif(s.base, 0)
                           OR k.base <> s.base OR k.retained <> s.retained
                           OR k.churned <> s.base - s.retained OR k.new <> s.new_customers) AS differing
FROM generate_series(timestamptz '2024-02-01 00:00+00', '2025-12-01 00:00+00', '1 month') AS c(cutoff)
CROSS JOIN LATERAL (
    SELECT kpi.retention_rate(customer, ordered_at, c.cutoff) AS rate,
           kpi.base_customers(kpi.retention_agg(customer, ordered_at, c.cutoff)) AS base,
           kpi.retained_customers(kpi.retention_agg(customer, ordered_at, c.cutoff)) AS retained,
           kpi.churned_customers(kpi.retention_agg(customer, ordered_at, c.cutoff)) AS churned,
           kpi.new_customers(kpi.retention_agg(customer, ordered_at, c.cutoff)) AS new
    FROM r_orders) k
CROSS JOIN LATERAL sql_retention(c.cutoff, NULL, '-infinity', 'infinity') s;

-- the period form: each month against the next, per segment, in one scan
SELECT count(*) AS segment_months,
       count(*) FILTER (WHERE k.rate IS DISTINCT FROM s.retained::float8 / nullif(s.base, 0)) AS differing
FROM generate_series(timestamptz '2024-02-01 00:00+00', '2025-12-01 00:00+00', '1 month') AS c(cutoff)
CROSS JOIN LATERAL (
    SELECT segment, kpi.retention_rate(customer, ordered_at, c.cutoff, interval '1 month') AS rate
    FROM r_orders GROUP BY segment) k
CROSS JOIN LATERAL sql_retention(c.cutoff, k.segment, c.cutoff - interval '1 month', c.cutoff + interval '1 month') s;
-- the README's advice: a WHERE on the two periods, bounded in UTC as they
-- are, gives the same answer with fewer rows grouped (also in a session
-- time zone where local bounds would cut elsewhere)
SET timezone = 'America/New_York';
SELECT count(*) AS segments,
       count(*) FILTER (WHERE u.rate IS DISTINCT FROM f.rate) AS differing
FROM (SELECT segment, kpi.retention_rate(customer, ordered_at, '2025-04-01+00', interval '3 months') AS rate
      FROM r_orders GROUP BY segment) u
JOIN (SELECT segment, kpi.retention_rate(customer, ordered_at, '2025-04-01+00', interval '3 months') AS rate
      FROM r_orders WHERE ordered_at >= '2025-01-01+00' AND ordered_at < '2025-07-01+00'
      GROUP BY segment) f USING (segment);
RESET timezone;

-- Every id type gives the same answer: exact (int, bigint, text, uuid) and
-- hashed (numeric, date, char(n)); customers are the same under each mapping.
SELECT kpi.retention_rate(customer, ordered_at, '2025-01-01') AS int_ids,
       kpi.retention_rate(customer::bigint, ordered_at, '2025-01-01') = kpi.retention_rate(customer, ordered_at, '2025-01-01') AS bigint_same,
       kpi.retention_rate('c-' || customer, ordered_at, '2025-01-01') = kpi.retention_rate(customer, ordered_at, '2025-01-01') AS text_same,
       kpi.retention_rate(md5(customer::text)::uuid, ordered_at, '2025-01-01') = kpi.retention_rate(customer, ordered_at, '2025-01-01') AS uuid_same,
       kpi.retention_rate(customer::numeric(12,2), ordered_at, '2025-01-01') = kpi.retention_rate(customer, ordered_at, '2025-01-01') AS numeric_same,
       kpi.retention_rate(date '2000-01-01' + customer, ordered_at, '2025-01-01') = kpi.retention_rate(customer, ordered_at, '2025-01-01') AS date_same,
       kpi.retention_rate(customer::char(8), ordered_at, '2025-01-01') = kpi.retention_rate(customer, ordered_at, '2025-01-01') AS bpchar_same
FROM r_orders;
-- numeric ids equal in value are one customer (1.0 = 1.00), as in DISTINCT
SELECT kpi.repeat_rate(x) AS numeric_repeat FROM (VALUES (1.0), (1.00), (2)) v(x);
-- text under a case-insensitive (nondeterministic) collation: equal ids are one customer
CREATE COLLATION r_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
SELECT kpi.repeat_rate(x COLLATE r_ci) AS ci_repeat, kpi.repeat_rate(x) AS bytewise_repeat,
       (SELECT count(DISTINCT x COLLATE r_ci) FROM (VALUES ('Acme'), ('ACME'), ('zeta')) w(x)) AS ci_distinct
FROM (VALUES ('Acme'), ('ACME'), ('zeta')) v(x);

-- ---------------------------------------------------------------- cohorts
-- Independent SQL: first period per customer by min() OVER, distinct
-- (customer, period) pairs counted per (cohort, offset), the full triangle
-- up to the last period from generate_series.
CREATE FUNCTION sql_cohorts(unit text)
RETURNS TABLE (cohort date, period_offset integer, cohort_customers bigint, active_customers bigint,
               retention double precision) LANGUAGE sql AS $$
    WITH act AS (SELECT DISTINCT customer, date_trunc(unit, ordered_at AT TIME ZONE 'UTC')::date AS p
                 FROM r_orders WHERE customer IS NOT NULL),
         firsts AS (SELECT customer, p, min(p) OVER (PARTITION BY customer) AS cohort FROM act),
         sizes AS (SELECT cohort, count(DISTINCT customer) AS n FROM firsts GROUP BY cohort),
         cells AS (SELECT cohort, p, count(*) AS active FROM firsts GROUP BY cohort, p),
         tri AS (SELECT s.cohort, s.n, g::date AS p
                 FROM sizes s, generate_series(s.cohort, (SELECT max(p) FROM act),
                                               ('1 ' || CASE unit WHEN 'quarter' THEN 'month' ELSE unit END)::interval
                                               * CASE unit WHEN 'quarter' THEN 3 ELSE 1 END) g)
    SELECT t.cohort,
           (row_number() OVER (PARTITION BY t.cohort ORDER BY t.p) - 1)::integer,
           t.n, coalesce(c.active, 0), coalesce(c.active, 0)::float8 / t.n
    FROM tri t LEFT JOIN cells c ON c.cohort = t.cohort AND c.p = t.p
$$;
SELECT u AS unit, (SELECT count(*) FROM sql_cohorts(u)) AS cells,
       (SELECT count(*) FROM (SELECT * FROM kpi.cohorts((SELECT kpi.cohort_agg(customer, ordered_at, u) FROM r_orders))
                              EXCEPT ALL SELECT * FROM sql_cohorts(u)) d) AS kpi_only,
       (SELECT count(*) FROM (SELECT * FROM sql_cohorts(u)
                              EXCEPT ALL SELECT * FROM kpi.cohorts((SELECT kpi.cohort_agg(customer, ordered_at, u) FROM r_orders))) d) AS sql_only
FROM unnest(ARRAY['week', 'month', 'quarter', 'year']) u;
-- timestamp without time zone: periods of the values as given
SELECT count(*) AS differing FROM (
    SELECT * FROM kpi.cohorts((SELECT kpi.cohort_agg(customer, ordered_at AT TIME ZONE 'UTC', 'Month') FROM r_orders))
    EXCEPT ALL SELECT * FROM sql_cohorts('month')) d;
-- periods of timestamptz values are UTC's, whatever the session time zone
SET TimeZone = 'Pacific/Kiritimati';
SELECT count(*) AS differing_in_kiritimati FROM (
    SELECT * FROM kpi.cohorts((SELECT kpi.cohort_agg(customer, ordered_at, 'month') FROM r_orders))
    EXCEPT ALL SELECT * FROM sql_cohorts('month')) d;
RESET TimeZone;

-- ---------------------------------------------------------------- repeat purchases
-- (orders of every 7th row, so that many customers order once)
SELECT k0.rows_rate = s.rows_rate AS rows_rate_same, k0.rows_freq = s.rows_freq AS rows_freq_same,
       k1.orders_rate = s2.orders_rate AS orders_rate_same, k1.orders_freq = s2.orders_freq AS orders_freq_same,
       k0.rows_rate, k1.orders_freq
FROM (SELECT kpi.repeat_rate(customer) AS rows_rate, kpi.purchase_frequency(customer) AS rows_freq
      FROM r_orders WHERE order_id % 7 = 0) k0,
     (SELECT kpi.repeat_rate(customer, order_id) AS orders_rate,
             kpi.purchase_frequency(customer, order_id) AS orders_freq
      FROM r_lines) k1,
     (SELECT count(*) FILTER (WHERE n >= 2)::float8 / count(*) AS rows_rate, sum(n)::float8 / count(*) AS rows_freq
      FROM (SELECT customer, count(*) AS n FROM r_orders WHERE customer IS NOT NULL AND order_id % 7 = 0
            GROUP BY 1) c) s,
     (SELECT count(*) FILTER (WHERE n >= 2)::float8 / count(*) AS orders_rate, sum(n)::float8 / count(*) AS orders_freq
      FROM (SELECT customer, count(DISTINCT order_id) AS n FROM r_lines
            WHERE customer IS NOT NULL AND order_id IS NOT NULL GROUP BY 1) c) s2;
-- order ids of another type than customer ids (anycompatible)
SELECT kpi.repeat_rate(customer, 'order-' || order_id) = kpi.repeat_rate(customer, order_id) AS text_orders_same
FROM r_lines;

-- ---------------------------------------------------------------- order-line AOV
SELECT k.aov, k.aov::text = s.aov::text AS same_as_sql
FROM (SELECT kpi.aov(amount, order_id) AS aov FROM r_lines) k,
     (SELECT sum(amount) / count(DISTINCT order_id) AS aov FROM r_lines) s;
SELECT count(*) AS segments, count(*) FILTER (WHERE k.aov::text IS DISTINCT FROM s.aov::text) AS differing
FROM (SELECT segment, kpi.aov(amount, order_id) AS aov FROM r_lines GROUP BY 1) k
FULL JOIN (SELECT segment, sum(amount) / count(DISTINCT order_id) AS aov FROM r_lines GROUP BY 1) s USING (segment);
-- lines in any order give the same state, byte for byte
SELECT (SELECT kpi.aov_agg(amount, order_id) FROM r_lines)::text
     = (SELECT kpi.aov_agg(amount, order_id ORDER BY order_id DESC, line_no) FROM r_lines)::text AS order_independent;

-- ---------------------------------------------------------------- two-step and rollup
-- per-day states rolled up equal the one-step answers
CREATE TABLE r_daily AS
SELECT ordered_at::date AS day, segment,
       kpi.retention_agg(customer, ordered_at, '2025-01-01') AS ret,
       kpi.cohort_agg(customer, ordered_at, 'quarter') AS coh,
       kpi.repeat_agg(customer) AS rep
FROM r_orders GROUP BY 1, 2;
CREATE TABLE r_daily_lines AS
SELECT ordered_at::date AS day, kpi.repeat_agg(customer, order_id) AS rep, kpi.aov_agg(amount, order_id) AS aov
FROM r_lines GROUP BY 1;
SELECT (SELECT kpi.retention_rate(kpi.rollup(ret)) FROM r_daily)
         = (SELECT kpi.retention_rate(customer, ordered_at, '2025-01-01') FROM r_orders) AS retention_same,
       (SELECT kpi.rollup(ret)::text FROM r_daily)
         = (SELECT kpi.retention_agg(customer, ordered_at, '2025-01-01')::text FROM r_orders) AS retention_state_same,
       (SELECT kpi.rollup(coh)::text FROM r_daily)
         = (SELECT kpi.cohort_agg(customer, ordered_at, 'quarter')::text FROM r_orders) AS cohort_state_same,
       (SELECT kpi.rollup(rep)::text FROM r_daily)
         = (SELECT kpi.repeat_agg(customer)::text FROM r_orders) AS repeat_rows_same,
       (SELECT kpi.rollup(rep)::text FROM r_daily_lines)
         = (SELECT kpi.repeat_agg(customer, order_id)::text FROM r_lines) AS repeat_orders_same,
       (SELECT kpi.aov(kpi.rollup(aov))::text FROM r_daily_lines)
         = (SELECT (sum(amount) / count(DISTINCT order_id))::text FROM r_lines) AS aov_same;
-- segment states rolled up, and the one-step / accessor forms agree
SELECT count(*) AS segments,
       count(*) FILTER (WHERE one_step IS DISTINCT FROM kpi.retention_rate(state)) AS differing
FROM (SELECT segment, kpi.retention_rate(customer, ordered_at, '2025-01-01') AS one_step,
             kpi.retention_agg(customer, ordered_at, '2025-01-01') AS state
      FROM r_orders GROUP BY segment) t;
SELECT kpi.rollup(s) IS NULL AS rollup_of_nothing FROM (SELECT NULL::kpi.retention_state) t(s);
-- an empty state combines with a state of either kind (the empty one is the identity)
SELECT kpi.rollup(s)::text AS rows_with_empty_orders_state
FROM (SELECT kpi.repeat_agg(c) FROM (VALUES (1), (1)) v(c)
      UNION ALL SELECT kpi.repeat_agg(c, o) FROM (VALUES (1, 2)) v(c, o) WHERE false) t(s);

-- ---------------------------------------------------------------- errors
SELECT kpi.cohort_agg(1, now(), 'fortnight');
SELECT kpi.cohort_agg(1, t, p) FROM (VALUES (now(), 'month'), (now(), 'week')) v(t, p);
SELECT kpi.cohort_agg(1, timestamptz 'infinity', 'month');
SELECT kpi.retention_rate(1, now(), now(), interval '-1 day');
SELECT kpi.retention_rate(1, now(), now(), interval '0');
SELECT kpi.rollup(s) FROM (SELECT kpi.retention_agg(1, now(), now()) UNION ALL SELECT kpi.retention_agg('x'::text, now(), now())) t(s);
SELECT kpi.rollup(s) FROM (SELECT kpi.cohort_agg(1, now(), 'month') UNION ALL SELECT kpi.cohort_agg(1, now(), 'week')) t(s);
SELECT kpi.rollup(s) FROM (SELECT kpi.repeat_agg(1) UNION ALL SELECT kpi.repeat_agg(1, 2)) t(s);
SELECT kpi.repeat_rate(x) FROM (VALUES (point '(1,2)')) v(x);
