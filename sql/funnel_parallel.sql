-- funnel_parallel: forced parallel plans, partitionwise aggregation and
-- rollup of partial states give the serial answers; equal states are
-- equal bytes whatever the order rows arrive in.
--
-- 40 000 sessions of a click stream over two days: views, carts and
-- purchases, some sessions spanning midnight (so their events sit in two
-- daily states or partitions).  Deterministic: every value is a hash of
-- the row number.
CREATE FUNCTION funnel_u(i bigint, seed int) RETURNS double precision LANGUAGE sql IMMUTABLE
    AS $$ SELECT ((hashint8extended(i, seed) >> 11) & 9007199254740991)::double precision / 9007199254740992.0 $$;
CREATE TABLE funnel_clicks AS
SELECT 1 + (i % 40000) AS session_id,
       timestamptz '2025-05-01 20:00:00+00' + floor(86400 * 1.5 * funnel_u(i % 40000, 1) + 3600 * funnel_u(i, 2)) * interval '1 s' AS ts,
       CASE WHEN funnel_u(i, 3) < 0.75 THEN 'view' WHEN funnel_u(i, 3) < 0.92 THEN 'cart'
            WHEN funnel_u(i, 3) < 0.99 THEN 'purchase' ELSE 'other' END AS event
FROM generate_series(1, 300000) i;
ANALYZE funnel_clicks;

CREATE TEMP TABLE serial_result AS
SELECT kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') AS f,
       kpi.funnel(session_id, ts, '30 min', 'strict_order', event = 'view', event = 'cart', event = 'purchase') AS f_order,
       kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')::text AS state,
       (SELECT array_agg(s ORDER BY s.step)
        FROM kpi.funnel_steps(kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')) s)::text AS steps
FROM funnel_clicks;
CREATE TEMP TABLE serial_levels AS
SELECT session_id, kpi.window_funnel('30 min', ts, event = 'view', event = 'cart', event = 'purchase') AS level
FROM funnel_clicks GROUP BY session_id;
SELECT f, f_order, steps FROM serial_result;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

SELECT plan_is_parallel($$SELECT kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart') FROM funnel_clicks$$);
SELECT kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') = (SELECT f FROM serial_result) AS funnel_same,
       kpi.funnel(session_id, ts, '30 min', 'strict_order', event = 'view', event = 'cart', event = 'purchase') = (SELECT f_order FROM serial_result) AS strict_order_same,
       kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')::text = (SELECT state FROM serial_result) AS state_same
FROM funnel_clicks;
-- With the leader scanning too, its own partial state reaches the combine
-- unsorted, next to the workers' sorted ones.
SET parallel_leader_participation = on;
SELECT kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') = (SELECT f FROM serial_result) AS funnel_same,
       kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')::text = (SELECT state FROM serial_result) AS state_same
FROM funnel_clicks;
SET parallel_leader_participation = off;

SET enable_hashagg = off;
SELECT plan_is_parallel($$SELECT session_id, kpi.window_funnel('30 min', ts, event = 'view', event = 'cart') FROM funnel_clicks GROUP BY session_id$$);
SELECT count(*) AS differing_sessions
FROM (SELECT session_id, kpi.window_funnel('30 min', ts, event = 'view', event = 'cart', event = 'purchase') AS level
      FROM funnel_clicks GROUP BY session_id) p
FULL JOIN serial_levels s USING (session_id)
WHERE p.level IS DISTINCT FROM s.level;
RESET enable_hashagg;

-- Rollup of partial states: per hour of the click (a session's events are
-- spread over several states) and bucket of sessions, and per day; also
-- in parallel.
CREATE TABLE funnel_hourly AS
SELECT date_trunc('hour', ts AT TIME ZONE 'UTC') AS hour, session_id % 16 AS bucket,
       kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') AS s
FROM funnel_clicks GROUP BY 1, 2;
ANALYZE funnel_hourly;
SELECT count(*) AS states, count(DISTINCT hour) AS hours FROM funnel_hourly;
SELECT plan_is_parallel('SELECT kpi.rollup(s) FROM funnel_hourly');
SELECT kpi.funnel(kpi.rollup(s)) = (SELECT f FROM serial_result) AS rollup_same,
       kpi.rollup(s)::text = (SELECT state FROM serial_result) AS rollup_state_same
FROM funnel_hourly;
RESET ALL;
SELECT kpi.funnel(kpi.rollup(s)) = (SELECT f FROM serial_result) AS serial_rollup_same,
       kpi.rollup(s)::text = (SELECT state FROM serial_result) AS serial_rollup_state_same
FROM (SELECT s FROM funnel_hourly ORDER BY hour DESC, bucket) h;
SELECT kpi.funnel(kpi.rollup(s)) = (SELECT f FROM serial_result) AS daily_rollup_same
FROM (SELECT kpi.rollup(s) AS s FROM funnel_hourly GROUP BY hour::date) d;

-- Partitionwise: partial aggregation per partition (by time, so sessions
-- cross partitions), combined without workers.
CREATE TABLE funnel_pclicks (session_id int, ts timestamptz, event text) PARTITION BY RANGE (ts);
CREATE TABLE funnel_pclicks_1 PARTITION OF funnel_pclicks FOR VALUES FROM (MINVALUE) TO ('2025-05-02 00:00:00+00');
CREATE TABLE funnel_pclicks_2 PARTITION OF funnel_pclicks FOR VALUES FROM ('2025-05-02 00:00:00+00') TO ('2025-05-02 12:00:00+00');
CREATE TABLE funnel_pclicks_3 PARTITION OF funnel_pclicks FOR VALUES FROM ('2025-05-02 12:00:00+00') TO (MAXVALUE);
INSERT INTO funnel_pclicks SELECT * FROM funnel_clicks;
ANALYZE funnel_pclicks;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
DO $$
DECLARE
    plan text;
BEGIN
    EXPLAIN (COSTS OFF, FORMAT JSON)
        SELECT kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart') FROM funnel_pclicks INTO plan;
    IF plan NOT LIKE '%"Partial Mode": "Partial"%' OR plan NOT LIKE '%"Partial Mode": "Finalize"%' THEN
        RAISE EXCEPTION 'expected partitionwise partial aggregation: %', plan;
    END IF;
END $$;
SELECT kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') = (SELECT f FROM serial_result) AS partitionwise_same,
       kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')::text = (SELECT state FROM serial_result) AS partitionwise_state_same
FROM funnel_pclicks;
RESET ALL;

-- Equal states are equal bytes: the same rows fed in opposite orders give
-- identical record images (what REFRESH MATERIALIZED VIEW CONCURRENTLY
-- compares), and the state has no spare room.
CREATE TYPE funnel_image AS (s kpi.funnel_state);
SELECT ROW(a)::funnel_image *= ROW(b)::funnel_image AS same_image,
       pg_column_size(a) = pg_column_size(b) AS same_size
FROM (SELECT kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart' ORDER BY ts, session_id) AS a,
             kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart' ORDER BY ts DESC, session_id DESC) AS b
      FROM funnel_clicks WHERE session_id <= 2000) t;
-- Bytes per stored event: 20, plus a 28-byte header (8 + 20).
SELECT n AS events, bytes, bytes - 28 = 20 * n AS twenty_bytes_per_event
FROM (SELECT count(*) FILTER (WHERE event IN ('view', 'cart')) AS n,
             length(kpi.funnel_state_send(kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart'))) AS send_bytes,
             pg_column_size(kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart')) AS bytes
      FROM funnel_clicks WHERE session_id <= 2000) t;

-- A running funnel (a window function with a growing frame) over enough
-- rows that its transition state outgrows 64 kB: the final function reads
-- the state in place, call after call, and every 700th frame equals the
-- aggregate over the same rows.
CREATE TEMP TABLE numbered AS
SELECT row_number() OVER (ORDER BY ts, session_id, event) AS n, *
FROM funnel_clicks WHERE session_id <= 1000;
SELECT count(*) AS rows, count(*) FILTER (WHERE w.f IS DISTINCT FROM d.f) AS differing_frames
FROM (SELECT n, kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')
                    OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS f
      FROM numbered) w
JOIN LATERAL (SELECT kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') AS f
              FROM numbered x WHERE x.n <= w.n) d ON true
WHERE w.n % 700 = 0;

-- Large states per group under hash and sort aggregation, also when the
-- hash aggregation spills groups to disk, give the same funnels.
CREATE TEMP TABLE by_sort AS
SELECT session_id % 30 AS g, kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') AS f
FROM funnel_clicks GROUP BY 1;
SET enable_sort = off;
SET work_mem = '64kB';
DO $$
DECLARE
    plan json;
BEGIN
    EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON)
        SELECT session_id % 30, kpi.funnel(session_id, ts, '30 min', event = 'view') FROM funnel_clicks GROUP BY 1 INTO plan;
    IF plan -> 0 -> 'Plan' ->> 'Strategy' <> 'Hashed' OR (plan -> 0 -> 'Plan' ->> 'HashAgg Batches')::int < 2 THEN
        RAISE EXCEPTION 'expected a hash aggregation that spills: %', plan;
    END IF;
END $$;
SELECT count(*) AS groups, count(*) FILTER (WHERE h.f IS DISTINCT FROM s.f) AS differing
FROM (SELECT session_id % 30 AS g, kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') AS f
      FROM funnel_clicks GROUP BY 1) h
FULL JOIN by_sort s USING (g);
RESET ALL;
