-- retention_parallel: forced parallel plans (partial aggregation under a
-- Gather) and partitionwise aggregation give the serial answers.
CREATE TABLE p_orders AS
SELECT i AS order_id, (i * 7919) % 5003 AS customer, i / 3 AS line_order,
       timestamptz '2024-01-01 00:00+00' + ((i::bigint * 104729) % (731 * 24)) * interval '1 hour' AS at,
       (i % 4)::text AS region, round((i % 1000) / 10.0, 2) AS amount
FROM generate_series(1, 120000) i;
ANALYZE p_orders;
CREATE FUNCTION p_answers() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws('|', kpi.retention_agg(customer, at, '2025-01-01')::text,
                     kpi.retention_rate(customer, at, '2025-01-01', '3 months'),
                     kpi.cohort_agg(customer, at, 'month')::text,
                     kpi.repeat_agg(customer)::text, kpi.repeat_agg(customer, line_order)::text,
                     kpi.aov_agg(amount, line_order)::text, kpi.aov(amount, line_order))
    FROM p_orders
$$;
CREATE TEMP TABLE serial AS SELECT p_answers() AS a;
CREATE TEMP TABLE serial_groups AS
SELECT region, kpi.retention_rate(customer, at, '2025-01-01') AS r, kpi.aov(amount, line_order) AS aov
FROM p_orders GROUP BY region;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT plan_is_parallel($$SELECT kpi.retention_agg(customer, at, '2025-01-01'), kpi.cohort_agg(customer, at, 'month'),
                                  kpi.repeat_agg(customer, line_order), kpi.aov(amount, line_order) FROM p_orders$$);
SELECT concat_ws('|', kpi.retention_agg(customer, at, '2025-01-01')::text,
                 kpi.retention_rate(customer, at, '2025-01-01', '3 months'),
                 kpi.cohort_agg(customer, at, 'month')::text,
                 kpi.repeat_agg(customer)::text, kpi.repeat_agg(customer, line_order)::text,
                 kpi.aov_agg(amount, line_order)::text, kpi.aov(amount, line_order))
       = (SELECT a FROM serial) AS parallel_same
FROM p_orders;
SET enable_hashagg = off;
SELECT plan_is_parallel($$SELECT region, kpi.retention_rate(customer, at, '2025-01-01') FROM p_orders GROUP BY region$$);
SELECT count(*) AS differing_groups
FROM (SELECT region, kpi.retention_rate(customer, at, '2025-01-01') AS r, kpi.aov(amount, line_order) AS aov
      FROM p_orders GROUP BY region) p
FULL JOIN serial_groups s USING (region)
WHERE p.r IS DISTINCT FROM s.r OR p.aov IS DISTINCT FROM s.aov;
RESET ALL;

-- partitionwise: partial states per partition, combined without workers
CREATE TABLE p_parted (LIKE p_orders) PARTITION BY LIST (region);
CREATE TABLE p_parted_0 PARTITION OF p_parted FOR VALUES IN ('0', '1');
CREATE TABLE p_parted_2 PARTITION OF p_parted FOR VALUES IN ('2', '3');
INSERT INTO p_parted SELECT * FROM p_orders;
ANALYZE p_parted;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
DO $$
DECLARE
    plan text;
BEGIN
    EXPLAIN (COSTS OFF, FORMAT JSON)
        SELECT kpi.retention_agg(customer, at, '2025-01-01') FROM p_parted INTO plan;
    IF plan NOT LIKE '%"Partial Mode": "Partial"%' OR plan NOT LIKE '%"Partial Mode": "Finalize"%' THEN
        RAISE EXCEPTION 'expected partitionwise partial aggregation: %', plan;
    END IF;
END $$;
SELECT p.s = o.s AS retention_same, p.c = o.c AS cohort_same, p.a = o.a AS aov_same
FROM (SELECT kpi.retention_agg(customer, at, '2025-01-01')::text AS s,
             kpi.cohort_agg(customer, at, 'week')::text AS c, kpi.aov_agg(amount, line_order)::text AS a
      FROM p_parted) p,
     (SELECT kpi.retention_agg(customer, at, '2025-01-01')::text AS s,
             kpi.cohort_agg(customer, at, 'week')::text AS c, kpi.aov_agg(amount, line_order)::text AS a
      FROM p_orders) o;
RESET ALL;
