-- clv_storage: CLV states stored in materialized views (refreshed, also
-- concurrently, and rolled up), used in window frames (final functions
-- leave the state intact), and independent of session settings.  Data: the
-- CDNOW sample, each order at a time of day between 00:00 and 23:59 UTC.
\getenv test_data KPI_TEST_DATA_DIR
\set transactions :test_data '/cdnow/cdnow_transactions.csv'
CREATE TABLE so_raw (customer_id integer, ordered_at date, amount numeric(12,2));
COPY so_raw FROM :'transactions' WITH (FORMAT csv, HEADER true);
CREATE TABLE so AS
SELECT customer_id, (ARRAY['north', 'south'])[1 + customer_id % 2] AS region,
       (ordered_at + ((customer_id * 7919 + extract(doy FROM ordered_at)::int * 104729) % 86400)
                     * interval '1 second') AT TIME ZONE 'UTC' AS ordered_at,
       amount
FROM so_raw;

-- Per-customer summaries and per-month order states in materialized views.
CREATE MATERIALIZED VIEW customer_rfm AS
SELECT customer_id, kpi.rfm_agg(ordered_at, amount, date '1997-09-30') AS rfm FROM so GROUP BY 1;
CREATE UNIQUE INDEX ON customer_rfm (customer_id);
CREATE MATERIALIZED VIEW monthly_states AS
SELECT region, date_trunc('month', ordered_at AT TIME ZONE 'UTC') AS month,
       kpi.clv_agg(customer_id, ordered_at, amount, date '1997-09-30') AS state
FROM so GROUP BY 1, 2;
CREATE UNIQUE INDEX ON monthly_states (region, month);

CREATE VIEW storage_check AS
SELECT (SELECT kpi.clv_fit(rfm)::text FROM customer_rfm)
           = (SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text FROM so) AS fit_same,
       (SELECT kpi.clv_fit(kpi.rollup(state))::text FROM monthly_states)
           = (SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text FROM so) AS rollup_fit_same,
       (SELECT kpi.rollup(state)::text FROM monthly_states)
           = (SELECT kpi.clv_agg(customer_id, ordered_at, amount, date '1997-09-30')::text FROM so) AS rollup_state_same,
       (SELECT count(*) FROM (SELECT region, kpi.clv_estimate(kpi.rollup(state), '12 months')::text AS e
                              FROM monthly_states GROUP BY region) r
                        JOIN (SELECT region, kpi.clv_estimate(customer_id, ordered_at, amount, '12 months', date '1997-09-30')::text AS e
                              FROM so GROUP BY region) o USING (region)
        WHERE r.e = o.e) AS regions_same;
SELECT * FROM storage_check;
SELECT round(r::numeric, 3) AS r, round(alpha::numeric, 3) AS alpha, round(a::numeric, 3) AS a, round(b::numeric, 3) AS b
FROM customer_rfm, kpi.clv_params((SELECT kpi.clv_fit(rfm) FROM customer_rfm)) GROUP BY 1, 2, 3, 4;

-- New and changed orders: concurrent refreshes rewrite exactly what changed.
INSERT INTO so SELECT 7, 'south', timestamptz '1997-06-01 12:00:00+00', 99.99 FROM generate_series(1, 3);
UPDATE so SET amount = amount + 1 WHERE customer_id = 11;
REFRESH MATERIALIZED VIEW CONCURRENTLY customer_rfm;
REFRESH MATERIALIZED VIEW CONCURRENTLY monthly_states;
SELECT * FROM storage_check;

-- Equal states are byte-equal (what a concurrent refresh compares): built
-- from their rows in reverse order they have the same images.
CREATE TYPE clv_rfm_image AS (s kpi.rfm);
CREATE TYPE clv_state_image AS (s kpi.clv_state);
SELECT count(*) AS customers, count(*) FILTER (WHERE NOT (ROW(c.rfm)::clv_rfm_image *= ROW(r.s)::clv_rfm_image)) AS differing_images
FROM customer_rfm c
JOIN (SELECT customer_id, kpi.rfm_agg(ordered_at, amount, date '1997-09-30' ORDER BY ordered_at DESC) AS s
      FROM so GROUP BY 1) r USING (customer_id);
SELECT count(*) AS months, count(*) FILTER (WHERE NOT (ROW(m.state)::clv_state_image *= ROW(r.s)::clv_state_image)) AS differing_images
FROM monthly_states m
JOIN (SELECT region, date_trunc('month', ordered_at AT TIME ZONE 'UTC') AS month,
             kpi.clv_agg(customer_id, ordered_at, amount, date '1997-09-30' ORDER BY customer_id DESC, amount) AS s
      FROM so GROUP BY 1, 2) r USING (region, month);

-- Window frames: the running summary of each customer, row by row, counts
-- the distinct purchase days so far; a growing frame of 100, 200, ...
-- customers refits the model and re-estimates exactly as separate queries
-- over the same customers do, so the final functions never disturb the
-- state they read.
SELECT count(*) AS rows, count(*) FILTER (WHERE x = days_so_far - 1) AS x_right
FROM (SELECT kpi.rfm_frequency(kpi.rfm_agg(ordered_at, amount, date '1998-06-30') OVER w) AS x,
             dense_rank() OVER (PARTITION BY customer_id ORDER BY (ordered_at AT TIME ZONE 'UTC')::date) AS days_so_far
      FROM so
      WINDOW w AS (PARTITION BY customer_id ORDER BY ordered_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) t;
CREATE TABLE prefix_results AS
SELECT DISTINCT (customer_id - 1) / 100 AS block,
       kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30') OVER w::text AS fit,
       kpi.clv_estimate(customer_id, ordered_at, amount) OVER w::text AS estimate
FROM so WHERE customer_id <= 800
WINDOW w AS (ORDER BY (customer_id - 1) / 100 RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
SELECT count(*) AS prefixes, count(fit) AS fitted,
       count(*) FILTER (WHERE fit IS NOT DISTINCT FROM (
           SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text
           FROM so WHERE (customer_id - 1) / 100 <= p.block AND customer_id <= 800)) AS same_fits,
       count(*) FILTER (WHERE estimate IS NOT DISTINCT FROM (
           SELECT kpi.clv_estimate(customer_id, ordered_at, amount)::text
           FROM so WHERE (customer_id - 1) / 100 <= p.block AND customer_id <= 800)) AS same_estimates
FROM prefix_results p;

-- Session settings: days are UTC days whatever the TimeZone; texts do not
-- depend on DateStyle, IntervalStyle, extra_float_digits or search_path.
CREATE TEMP TABLE reference AS
SELECT (SELECT string_agg(rfm::text, ';' ORDER BY customer_id) FROM
            (SELECT customer_id, kpi.rfm_agg(ordered_at, amount, timestamptz '1997-09-30 23:00:00+00') AS rfm
             FROM so GROUP BY 1) r) AS rfms,
       (SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text FROM so) AS fit,
       (SELECT kpi.clv_estimate(customer_id, ordered_at, amount, '6 months')::text FROM so) AS estimate,
       (SELECT string_agg(to_char(kpi.rfm_first_purchase(rfm), 'YYYY-MM-DD'), ',' ORDER BY customer_id)
        FROM customer_rfm) AS firsts;
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = -15;
SET search_path = pg_catalog;
SELECT (SELECT string_agg(rfm::text, ';' ORDER BY customer_id) FROM
            (SELECT customer_id, kpi.rfm_agg(ordered_at, amount, timestamptz '1997-09-30 23:00:00+00') AS rfm
             FROM public.so GROUP BY 1) r) = rfms AS rfms_same,
       (SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text FROM public.so) = fit AS fit_same,
       (SELECT kpi.clv_estimate(customer_id, ordered_at, amount, '6 months')::text FROM public.so) = estimate AS estimate_same
FROM pg_temp.reference;
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'ISO, YMD';
SELECT (SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text FROM public.so) = fit AS fit_same,
       (SELECT string_agg(to_char(kpi.rfm_first_purchase(rfm), 'YYYY-MM-DD'), ',' ORDER BY customer_id)
        FROM public.customer_rfm) = firsts AS firsts_same
FROM pg_temp.reference;
RESET ALL;
