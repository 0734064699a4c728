-- clv_parallel: forced parallel plans and partitionwise plans (partial
-- states combined) give exactly the serial answers of every CLV aggregate.
--
-- Data: the CDNOW sample in three segments.
\getenv test_data KPI_TEST_DATA_DIR
\set transactions :test_data '/cdnow/cdnow_transactions.csv'
CREATE TABLE clv_porders_raw (customer_id integer, ordered_at date, amount numeric(12,2));
COPY clv_porders_raw FROM :'transactions' WITH (FORMAT csv, HEADER true);
CREATE TABLE clv_porders AS
SELECT customer_id, (ARRAY['retail', 'wholesale', 'online'])[1 + customer_id % 3] AS segment,
       customer_id % 5 AS grp, ordered_at, amount
FROM clv_porders_raw;
ANALYZE clv_porders;

-- The serial answers.
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_all AS
SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text AS fit,
       kpi.clv_fit(customer_id::text, ordered_at, amount, date '1997-09-30')::text AS fit_text_ids,
       kpi.clv_estimate(customer_id, ordered_at, amount)::text AS estimate,
       kpi.clv_simple(customer_id, ordered_at, amount, '2 years')::text AS simple,
       kpi.clv_agg(customer_id, ordered_at, amount, date '1997-09-30')::text AS state
FROM clv_porders;
CREATE TABLE serial_segments AS
SELECT segment, kpi.clv_estimate(customer_id, ordered_at, amount)::text AS estimate,
       kpi.clv_estimate(customer_id, ordered_at, amount, '6 months', date '1997-09-30')::text AS estimate_6
FROM clv_porders GROUP BY segment;
CREATE TABLE serial_rfm AS
SELECT customer_id, kpi.rfm_agg(ordered_at, amount, date '1997-09-30') AS rfm
FROM clv_porders GROUP BY customer_id;
CREATE TABLE serial_rfm_groups AS
SELECT grp, kpi.rfm_agg(ordered_at, amount, date '1997-09-30')::text AS rfm
FROM clv_porders GROUP BY grp;
CREATE TABLE serial_model AS SELECT kpi.clv_fit(rfm)::text AS fit FROM serial_rfm;
ANALYZE serial_rfm;
-- the fits succeed, and the fit from orders is the fit from summaries
SELECT fit IS NOT NULL AS fitted, fit = fit_text_ids AS text_ids_same,
       fit = (SELECT fit FROM serial_model) AS same_as_rfm_fit,
       round(estimate::numeric, 2) AS estimate, round(simple::numeric, 2) AS simple
FROM serial_all;
SELECT segment, round(estimate::numeric, 2) AS estimate, round(estimate_6::numeric, 2) AS estimate_6
FROM serial_segments ORDER BY segment;

-- Forced parallel plans.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

SELECT plan_is_parallel('SELECT kpi.clv_fit(customer_id, ordered_at, amount, date ''1997-09-30'') FROM clv_porders');
SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text = s.fit AS fit_same,
       kpi.clv_fit(customer_id::text, ordered_at, amount, date '1997-09-30')::text = s.fit_text_ids AS text_ids_same,
       kpi.clv_estimate(customer_id, ordered_at, amount)::text = s.estimate AS estimate_same,
       kpi.clv_simple(customer_id, ordered_at, amount, '2 years')::text = s.simple AS simple_same,
       kpi.clv_agg(customer_id, ordered_at, amount, date '1997-09-30')::text = s.state AS state_same
FROM clv_porders, serial_all s GROUP BY s.fit, s.fit_text_ids, s.estimate, s.simple, s.state;

SET enable_hashagg = off;
SELECT plan_is_parallel('SELECT segment, kpi.clv_estimate(customer_id, ordered_at, amount) FROM clv_porders GROUP BY segment');
SELECT count(*) AS segments, count(*) FILTER (WHERE p.estimate IS NOT DISTINCT FROM s.estimate
                                                AND p.estimate_6 IS NOT DISTINCT FROM s.estimate_6) AS same
FROM (SELECT segment, kpi.clv_estimate(customer_id, ordered_at, amount)::text AS estimate,
             kpi.clv_estimate(customer_id, ordered_at, amount, '6 months', date '1997-09-30')::text AS estimate_6
      FROM clv_porders GROUP BY segment) p
JOIN serial_segments s USING (segment);

-- (5 groups of customers, so that the planner aggregates partially: the
-- summary of a group is that of all its orders, as if of one customer)
SELECT plan_is_parallel('SELECT grp, kpi.rfm_agg(ordered_at, amount, date ''1997-09-30'') FROM clv_porders GROUP BY grp');
SELECT count(*) AS groups, count(*) FILTER (WHERE p.rfm = s.rfm) AS same
FROM (SELECT grp, kpi.rfm_agg(ordered_at, amount, date '1997-09-30')::text AS rfm
      FROM clv_porders GROUP BY grp) p
JOIN serial_rfm_groups s USING (grp);

SELECT plan_is_parallel('SELECT kpi.clv_fit(rfm) FROM serial_rfm');
SELECT kpi.clv_fit(rfm)::text = (SELECT fit FROM serial_model) AS rfm_fit_same,
       kpi.clv_fit(kpi.clv_fit_agg(rfm))::text = (SELECT fit FROM serial_model) AS two_step_same
FROM serial_rfm;
-- rollup of stored partial states runs in parallel too
CREATE TABLE fit_parts AS
SELECT customer_id % 200 AS part, kpi.clv_fit_agg(rfm) AS s FROM serial_rfm GROUP BY 1;
CREATE TABLE state_parts AS
SELECT customer_id % 200 AS part, kpi.clv_agg(customer_id, ordered_at, amount, date '1997-09-30') AS s
FROM clv_porders GROUP BY 1;
ANALYZE fit_parts, state_parts;
SELECT plan_is_parallel('SELECT kpi.rollup(s) FROM state_parts');
SELECT kpi.clv_fit(kpi.rollup(s))::text = (SELECT fit FROM serial_model) AS fit_rollup_same FROM fit_parts;
SELECT kpi.rollup(s)::text = (SELECT state FROM serial_all) AS state_rollup_same,
       kpi.clv_fit(kpi.rollup(s))::text = (SELECT fit FROM serial_all) AS fit_from_rollup_same
FROM state_parts;
RESET ALL;

-- Partitionwise: partial states per partition (each holding part of many
-- customers' orders), combined without workers.
CREATE TABLE parted_orders (customer_id int, segment text, ordered_at date, amount numeric)
    PARTITION BY RANGE (ordered_at);
CREATE TABLE parted_orders_1 PARTITION OF parted_orders FOR VALUES FROM ('1997-01-01') TO ('1997-04-01');
CREATE TABLE parted_orders_2 PARTITION OF parted_orders FOR VALUES FROM ('1997-04-01') TO ('1997-08-01');
CREATE TABLE parted_orders_3 PARTITION OF parted_orders FOR VALUES FROM ('1997-08-01') TO ('1998-07-01');
INSERT INTO parted_orders SELECT customer_id, segment, ordered_at, amount FROM clv_porders;
ANALYZE parted_orders;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
DO $$
DECLARE
    plan text;
BEGIN
    EXPLAIN (COSTS OFF, FORMAT JSON)
        SELECT segment, kpi.clv_estimate(customer_id, ordered_at, amount) FROM parted_orders GROUP BY segment
        INTO plan;
    IF plan NOT LIKE '%"Partial Mode": "Partial"%' OR plan NOT LIKE '%"Partial Mode": "Finalize"%' THEN
        RAISE EXCEPTION 'expected partitionwise partial aggregation: %', plan;
    END IF;
END $$;
SELECT count(*) AS segments, count(*) FILTER (WHERE p.estimate IS NOT DISTINCT FROM s.estimate) AS same
FROM (SELECT segment, kpi.clv_estimate(customer_id, ordered_at, amount)::text AS estimate
      FROM parted_orders GROUP BY segment) p
JOIN serial_segments s USING (segment);
SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text = s.fit AS fit_same,
       kpi.clv_agg(customer_id, ordered_at, amount, date '1997-09-30')::text = s.state AS state_same,
       kpi.clv_simple(customer_id, ordered_at, amount, '2 years')::text = s.simple AS simple_same
FROM parted_orders, serial_all s GROUP BY s.fit, s.state, s.simple;
SELECT count(*) AS differing_customers
FROM (SELECT customer_id, kpi.rfm_agg(ordered_at, amount, date '1997-09-30')::text AS rfm
      FROM parted_orders GROUP BY customer_id) p
FULL JOIN serial_rfm s USING (customer_id)
WHERE p.rfm IS DISTINCT FROM s.rfm::text;
RESET ALL;
