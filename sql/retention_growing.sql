-- retention_growing: customer sets past KPI_GROWING_MIN_SIZE (64 kB) grow
-- in place inside the aggregate (kpi.h, "Growing transition states").
-- Every executor path that keeps, shares, passes on or flattens a
-- transition state gives the answers of plain SQL: plain, hashed and
-- sorted aggregation, ORDER BY in the aggregate, a state shared by two
-- final functions, a window whose frame grows, partial aggregation in
-- workers and per partition, and rollup.
CREATE TABLE g_orders AS
SELECT ((i % 75000) * 2654435761) % 4294967311 AS customer,
       timestamptz '2024-01-01 00:00+00' + ((i::bigint * 7919) % (731 * 24)) * interval '1 hour' AS at,
       i / 2 AS line_order,
       (i % 2)::text AS half,
       round((i % 1000) / 10.0, 2) AS amount
FROM generate_series(1, 150000) i;
ANALYZE g_orders;

-- The states of the whole table are past 64 kB.
SELECT pg_column_size(kpi.retention_agg(customer, at, '2025-01-01')) > 65536 AS retention_large,
       pg_column_size(kpi.cohort_agg(customer, at, 'month')) > 65536 AS cohort_large,
       pg_column_size(kpi.repeat_agg(customer)) > 65536 AS repeat_large,
       pg_column_size(kpi.aov_agg(amount, line_order)) > 65536 AS aov_large
FROM g_orders;

-- Per customer: ordered before the cutoff, at or after it.
CREATE TEMP TABLE g_flags AS
SELECT customer, half, bool_or(at < '2025-01-01') AS b, bool_or(at >= '2025-01-01') AS a
FROM g_orders GROUP BY customer, half;
CREATE TEMP TABLE g_ref AS
SELECT count(*) FILTER (WHERE b) AS base, count(*) FILTER (WHERE b AND a) AS retained,
       count(*) FILTER (WHERE a AND NOT b) AS new_customers
FROM (SELECT customer, bool_or(b) AS b, bool_or(a) AS a FROM g_flags GROUP BY customer) c;

-- Serial, one step and two step; the two aggregates share one state.
SELECT kpi.retention_rate(customer, at, '2025-01-01') = r.retained::float8 / r.base AS rate_ok,
       kpi.base_customers(kpi.retention_agg(customer, at, '2025-01-01')) = r.base AS base_ok,
       kpi.retained_customers(kpi.retention_agg(customer, at, '2025-01-01')) = r.retained AS retained_ok,
       kpi.new_customers(kpi.retention_agg(customer, at, '2025-01-01')) = r.new_customers AS new_ok
FROM g_orders, g_ref r
GROUP BY r.base, r.retained, r.new_customers;
CREATE TEMP TABLE g_serial AS
SELECT kpi.retention_agg(customer, at, '2025-01-01')::text AS s FROM g_orders;

-- Another insertion order gives the same canonical state.
SELECT kpi.retention_agg(customer, at, '2025-01-01' ORDER BY at)::text = (SELECT s FROM g_serial) AS ordered_same
FROM g_orders;

-- Hashed and sorted GROUP BY: one large state per group.
SELECT count(*) AS groups,
       count(*) FILTER (WHERE k.base = r.base AND k.retained = r.retained) AS matching
FROM (SELECT half, kpi.base_customers(kpi.retention_agg(customer, at, '2025-01-01')) AS base,
             kpi.retained_customers(kpi.retention_agg(customer, at, '2025-01-01')) AS retained
      FROM g_orders GROUP BY half) k
JOIN (SELECT half, count(*) FILTER (WHERE b) AS base, count(*) FILTER (WHERE b AND a) AS retained
      FROM g_flags GROUP BY half) r USING (half);
SET enable_hashagg = off;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE k.rate = r.retained::float8 / r.base) AS matching
FROM (SELECT half, kpi.retention_rate(customer, at, '2025-01-01') AS rate
      FROM g_orders GROUP BY half) k
JOIN (SELECT half, count(*) FILTER (WHERE b) AS base, count(*) FILTER (WHERE b AND a) AS retained
      FROM g_flags GROUP BY half) r USING (half);
RESET enable_hashagg;

-- Windows whose frame grows month by month: the final function reads the
-- state (kpi.retention_rate's counts, rollup's compact copy), then more
-- rows are added to it.  Up to each month, the base customers are those
-- whose first order before the cutoff came in that month or earlier, and
-- the retained ones those of them whose first order after it did too.
CREATE TEMP TABLE g_firsts AS
SELECT customer,
       min(date_trunc('month', at, 'UTC')) FILTER (WHERE at < '2025-01-01') AS before_month,
       min(date_trunc('month', at, 'UTC')) FILTER (WHERE at >= '2025-01-01') AS after_month
FROM g_orders GROUP BY customer;
SELECT count(*) AS months,
       count(*) FILTER (WHERE rate = (SELECT count(*) FILTER (WHERE after_month <= w.month)::float8 / count(*)
                                      FROM g_firsts f WHERE f.before_month <= w.month)) AS matching
FROM (SELECT DISTINCT date_trunc('month', at, 'UTC') AS month,
             kpi.retention_rate(customer, at, '2025-01-01') OVER (ORDER BY date_trunc('month', at, 'UTC')) AS rate
      FROM g_orders) w;
SELECT count(*) AS months,
       count(*) FILTER (WHERE base = (SELECT count(*) FROM g_firsts f WHERE f.before_month <= w.month)) AS matching
FROM (SELECT month, kpi.base_customers(kpi.rollup(s) OVER (ORDER BY month)) AS base
      FROM (SELECT date_trunc('month', at, 'UTC') AS month, kpi.retention_agg(customer, at, '2025-01-01') AS s
            FROM g_orders GROUP BY 1) m) w;

-- A frame whose start moves (the last 5 months): the aggregate restarts
-- for every frame, dropping its growing state with the aggregate context.
CREATE TEMP TABLE g_months AS
SELECT customer, date_trunc('month', at, 'UTC') AS month,
       bool_or(at < '2025-01-01') AS b, bool_or(at >= '2025-01-01') AS a
FROM g_orders GROUP BY 1, 2;
SELECT count(*) AS months, count(*) FILTER (WHERE w.rate IS NOT DISTINCT FROM r.rate) AS matching
FROM (SELECT DISTINCT date_trunc('month', at, 'UTC') AS month,
             kpi.retention_rate(customer, at, '2025-01-01')
                 OVER (ORDER BY date_trunc('month', at, 'UTC')
                       RANGE BETWEEN interval '5 months' PRECEDING AND CURRENT ROW) AS rate
      FROM g_orders) w,
LATERAL (SELECT count(*) FILTER (WHERE b AND a)::float8 / nullif(count(*) FILTER (WHERE b), 0) AS rate
         FROM (SELECT customer, bool_or(b) AS b, bool_or(a) AS a
               FROM g_months
               WHERE month BETWEEN w.month - interval '5 months' AND w.month
               GROUP BY customer) c) r;

-- Cohorts, repeat purchases and line-level AOV on large states.
WITH months AS (
    SELECT DISTINCT customer, date_trunc('month', at AT TIME ZONE 'UTC') AS month FROM g_orders
), firsts AS (
    SELECT customer, min(month) AS cohort FROM months GROUP BY customer
), ref AS (
    SELECT f.cohort::date AS cohort,
           ((extract(year FROM m.month) - extract(year FROM f.cohort)) * 12
            + extract(month FROM m.month) - extract(month FROM f.cohort))::int AS period_offset,
           count(*) AS active_customers
    FROM months m JOIN firsts f USING (customer)
    GROUP BY 1, 2
)
SELECT count(*) AS active_cells,
       count(*) FILTER (WHERE k.active_customers = r.active_customers) AS matching
FROM kpi.cohorts((SELECT kpi.cohort_agg(customer, at, 'month') FROM g_orders)) k
FULL JOIN ref r USING (cohort, period_offset)
WHERE k.active_customers > 0 OR r.active_customers IS NOT NULL;
SELECT kpi.repeat_rate(customer) =
           (SELECT count(*) FILTER (WHERE n >= 2)::float8 / count(*)
            FROM (SELECT count(*) AS n FROM g_orders GROUP BY customer) c) AS repeat_rate_ok,
       kpi.purchase_frequency(customer, line_order) =
           (SELECT count(*)::float8 / count(DISTINCT customer)
            FROM (SELECT DISTINCT customer, line_order FROM g_orders) p) AS frequency_ok,
       kpi.aov(amount, line_order) = sum(amount) / count(DISTINCT line_order) AS aov_ok
FROM g_orders;

-- Partial aggregation in workers: growing states are flattened into the
-- tuple queue and combined into a growing state of the leader.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT plan_is_parallel($$SELECT kpi.retention_agg(customer, at, '2025-01-01') FROM g_orders$$);
SELECT kpi.retention_agg(customer, at, '2025-01-01')::text = (SELECT s FROM g_serial) AS parallel_same,
       kpi.aov(amount, line_order) = sum(amount) / count(DISTINCT line_order) AS parallel_aov_ok
FROM g_orders;
RESET ALL;

-- Partitionwise: each partition's growing state reaches the combine
-- function as a read-only expanded datum.
CREATE TABLE g_parted (LIKE g_orders) PARTITION BY LIST (half);
CREATE TABLE g_parted_0 PARTITION OF g_parted FOR VALUES IN ('0');
CREATE TABLE g_parted_1 PARTITION OF g_parted FOR VALUES IN ('1');
INSERT INTO g_parted SELECT * FROM g_orders;
ANALYZE g_parted;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
SELECT kpi.retention_agg(customer, at, '2025-01-01')::text = (SELECT s FROM g_serial) AS partitionwise_same
FROM g_parted;
RESET ALL;

-- rollup of the two halves' stored states is the whole.
SELECT kpi.rollup(s)::text = (SELECT s FROM g_serial) AS rollup_same
FROM (SELECT kpi.retention_agg(customer, at, '2025-01-01') AS s FROM g_orders GROUP BY half) h;
