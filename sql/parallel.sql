-- parallel: forced parallel plans give the serial answers, and the plan
-- really was parallel (a Partial Aggregate under a Gather).
CREATE TABLE porders AS
SELECT i % 50 AS customer, round(((i * 7919) % 100000) / 100.0, 2) AS amount,
       (i % 1000)::float8 / 8 AS weight, i AS qty
FROM generate_series(1, 200000) i;
ANALYZE porders;

CREATE TEMP TABLE serial_result AS
SELECT kpi.aov(amount)::text AS a, kpi.aov(weight) AS w, kpi.aov(qty)::text AS q,
       kpi.aov(kpi.aov_agg(amount))::text AS two_step
FROM porders;
CREATE TEMP TABLE serial_groups AS
SELECT customer, kpi.aov(amount)::text AS a FROM porders GROUP BY customer;
-- Sums past 128 bits (wide): magnitudes from 1 to 10^80 and scales up to
-- 70 in every group, so partial states of any size meet in combine.
CREATE TABLE pwide AS
SELECT i % 13 AS g, (CASE WHEN i % 3 = 0 THEN -1 ELSE 1 END) * (('1e' || (i % 81))::numeric * i + ('1e-' || (i % 71))::numeric) AS x
FROM generate_series(1, 20000) i;
ANALYZE pwide;
SELECT pg_typeof(x) AS type, max(scale(x)) AS max_scale, max(abs(x)) > 1e80 AS huge FROM pwide GROUP BY 1;
CREATE TEMP TABLE serial_wide AS
SELECT g, kpi.aov(x)::text AS a FROM pwide GROUP BY g;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

SELECT plan_is_parallel('SELECT kpi.aov(amount), kpi.aov(weight), kpi.aov(qty) FROM porders');
SELECT (SELECT a FROM serial_result) = kpi.aov(amount)::text AS numeric_same,
       (SELECT w FROM serial_result) = kpi.aov(weight) AS float8_same,
       (SELECT q FROM serial_result) = kpi.aov(qty)::text AS integer_same,
       (SELECT two_step FROM serial_result) = kpi.aov(kpi.aov_agg(amount))::text AS two_step_same,
       kpi.aov(amount)::text = avg(amount)::text AS equals_avg
FROM porders;

SET enable_hashagg = off;
SELECT plan_is_parallel('SELECT customer, kpi.aov(amount) FROM porders GROUP BY customer');
SELECT count(*) AS differing_groups
FROM (SELECT customer, kpi.aov(amount)::text AS a FROM porders GROUP BY customer) p
FULL JOIN serial_groups s USING (customer)
WHERE p.a IS DISTINCT FROM s.a;

SELECT plan_is_parallel('SELECT g, kpi.aov(x) FROM pwide GROUP BY g');
SELECT count(*) AS wide_groups, count(*) FILTER (WHERE p.a IS DISTINCT FROM s.a) AS differing_wide_groups
FROM (SELECT g, kpi.aov(x)::text AS a FROM pwide GROUP BY g) p
FULL JOIN serial_wide s USING (g);
SELECT kpi.aov(x)::text = avg(x)::text AS wide_equals_avg FROM pwide;

-- rollup of stored states runs in parallel too.
CREATE TABLE pstates AS SELECT qty % 500 AS bucket, kpi.aov_agg(amount) AS s FROM porders GROUP BY 1;
ANALYZE pstates;
SELECT plan_is_parallel('SELECT kpi.rollup(s) FROM pstates');
SELECT kpi.aov(kpi.rollup(s))::text = (SELECT a FROM serial_result) AS rollup_same FROM pstates;
RESET ALL;
