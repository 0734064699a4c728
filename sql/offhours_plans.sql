-- offhours_plans: kpi.offhours_share gives the serial answer under forced
-- parallel and partitionwise plans (the plans asserted), from states
-- stored in a materialized view, and under any session settings.
CREATE TABLE ph_orders AS
SELECT i AS id, i % 40 AS customer,
       timestamptz '2024-01-01 00:00+00' + ((i::bigint * 7919) % 31536000) * interval '1 second' AS ordered_at,
       round(((i::bigint * 104729) % 100000) / 100.0 - 50, 2) AS amount
FROM generate_series(1, 200000) i;
ANALYZE ph_orders;

CREATE TEMP TABLE oh_serial_result AS
SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24') AS share,
       kpi.offhours_share(ordered_at AT TIME ZONE 'Europe/Stockholm', 'Mon-Fri 08:00-17:00; holidays=2024-12-24') AS local_share,
       kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24', amount) AS weighted,
       kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24', amount)::text AS state
FROM ph_orders;
CREATE TEMP TABLE oh_serial_groups AS
SELECT customer, kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=America/New_York') AS share
FROM ph_orders GROUP BY customer;
-- The serial answer is the plain SQL answer.
SELECT (SELECT share FROM oh_serial_result) =
       (SELECT count(*) FILTER (WHERE NOT (extract(isodow FROM l) BETWEEN 1 AND 5 AND l::time >= '08:00'
                                           AND l::time < '17:00' AND l::date <> '2024-12-24'))::float8 / count(*)
        FROM (SELECT ordered_at AT TIME ZONE 'Europe/Stockholm' AS l FROM ph_orders) o) AS serial_equals_sql,
       (SELECT share = local_share FROM oh_serial_result) AS timestamp_equals_timestamptz;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

SELECT plan_is_parallel($$SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') FROM ph_orders$$);
SELECT share = (SELECT share FROM oh_serial_result) AS share_same,
       local_share = (SELECT local_share FROM oh_serial_result) AS local_share_same,
       weighted = (SELECT weighted FROM oh_serial_result) AS weighted_same,
       state = (SELECT state FROM oh_serial_result) AS state_same
FROM (SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24') AS share,
             kpi.offhours_share(ordered_at AT TIME ZONE 'Europe/Stockholm', 'Mon-Fri 08:00-17:00; holidays=2024-12-24') AS local_share,
             kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24', amount) AS weighted,
             kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24', amount)::text AS state
      FROM ph_orders) p;

SET enable_hashagg = off;
SELECT plan_is_parallel($$SELECT customer, kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=America/New_York') FROM ph_orders GROUP BY customer$$);
SELECT count(*) AS differing_groups
FROM (SELECT customer, kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=America/New_York') AS share
      FROM ph_orders GROUP BY customer) p
FULL JOIN oh_serial_groups s USING (customer)
WHERE p.share IS DISTINCT FROM s.share;

-- rollup of stored states runs in parallel too.
CREATE TABLE ph_states AS
SELECT id % 500 AS bucket, kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24', amount) AS s
FROM ph_orders GROUP BY 1;
ANALYZE ph_states;
SELECT plan_is_parallel('SELECT kpi.rollup(s) FROM ph_states');
SELECT kpi.rollup(s)::text = (SELECT state FROM oh_serial_result) AS rollup_same FROM ph_states;
RESET ALL;

-- Partitionwise aggregation: partial states per partition, combined
-- without parallel workers.
CREATE TABLE ph_parted (id int, parity int, ordered_at timestamptz, region text) PARTITION BY LIST (region);
CREATE TABLE ph_parted_n PARTITION OF ph_parted FOR VALUES IN ('north');
CREATE TABLE ph_parted_s PARTITION OF ph_parted FOR VALUES IN ('south');
CREATE TABLE ph_parted_e PARTITION OF ph_parted FOR VALUES IN ('east');
INSERT INTO ph_parted SELECT id, id % 2, ordered_at, (ARRAY['north', 'south', 'east'])[1 + id % 3] FROM ph_orders WHERE id <= 30000;
ANALYZE ph_parted;
SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
DO $$
DECLARE
    plan text;
BEGIN
    EXPLAIN (COSTS OFF, FORMAT JSON)
        SELECT parity, kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') FROM ph_parted GROUP BY 1 INTO plan;
    IF plan NOT LIKE '%"Partial Mode": "Partial"%' OR plan NOT LIKE '%"Partial Mode": "Finalize"%' THEN
        RAISE EXCEPTION 'expected partitionwise partial aggregation: %', plan;
    END IF;
END $$;
SELECT count(*) AS groups, count(*) FILTER (WHERE p.share IS DISTINCT FROM r.share) AS differing
FROM (SELECT parity, kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') AS share
      FROM ph_parted GROUP BY 1) p
FULL JOIN (SELECT id % 2 AS parity, kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') AS share
           FROM ph_orders WHERE id <= 30000 GROUP BY 1) r USING (parity);
RESET ALL;

-- Daily states in a materialized view, refreshed (also concurrently),
-- rolled up per month, equal the raw-row answers.
CREATE MATERIALIZED VIEW ph_daily AS
SELECT (ordered_at AT TIME ZONE 'Europe/Stockholm')::date AS day,
       kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') AS state
FROM ph_orders GROUP BY 1;
CREATE UNIQUE INDEX ON ph_daily (day);
CREATE VIEW ph_monthly_check AS
SELECT month, s.from_states, r.from_rows
FROM (SELECT date_trunc('month', day)::date AS month, kpi.offhours_share(kpi.rollup(state)) AS from_states
      FROM ph_daily GROUP BY 1) s
FULL JOIN (SELECT date_trunc('month', ordered_at AT TIME ZONE 'Europe/Stockholm')::date AS month,
                  kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') AS from_rows
           FROM ph_orders GROUP BY 1) r USING (month);
SELECT count(*) AS months, count(*) FILTER (WHERE from_states IS DISTINCT FROM from_rows) AS differing_months
FROM ph_monthly_check;
INSERT INTO ph_orders SELECT 300000 + i, 0, timestamptz '2024-06-01 23:00+00' + i * interval '1 minute', 1 FROM generate_series(1, 100) i;
REFRESH MATERIALIZED VIEW CONCURRENTLY ph_daily;
SELECT count(*) FILTER (WHERE from_states IS DISTINCT FROM from_rows) AS differing_months FROM ph_monthly_check;
-- Equal states are byte-equal: a day's state built from its rows in
-- reverse order has the same image.
CREATE TYPE ph_state_image AS (s kpi.offhours_state);
SELECT count(*) AS days, count(*) FILTER (WHERE NOT (ROW(d.state)::ph_state_image *= ROW(r.s)::ph_state_image)) AS differing_images
FROM ph_daily d
JOIN (SELECT (ordered_at AT TIME ZONE 'Europe/Stockholm')::date AS day,
             kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm' ORDER BY ordered_at DESC) AS s
      FROM ph_orders GROUP BY 1) r USING (day);

-- Session settings change nothing: the same answers and texts under other
-- TimeZone, DateStyle, IntervalStyle, extra_float_digits and search_path.
CREATE TEMP TABLE ph_reference AS
SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') AS share,
       kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm', amount)::text AS state,
       'mon-fri 8:00-17:00; tz=europe/stockholm; holidays=2024-12-24'::kpi.business_calendar::text AS calendar,
       count(*) FILTER (WHERE kpi.is_business_hours(ordered_at, 'Mon-Fri 08:00-17:00; tz=America/New_York')) AS business
FROM ph_orders;
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -15;
SET search_path = pg_catalog;
SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') = (SELECT share FROM ph_reference) AS share_same,
       kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm', amount)::text = (SELECT state FROM ph_reference) AS state_same,
       'mon-fri 8:00-17:00; tz=europe/stockholm; holidays=2024-12-24'::kpi.business_calendar::text = (SELECT calendar FROM ph_reference) AS calendar_same,
       count(*) FILTER (WHERE kpi.is_business_hours(ordered_at, 'Mon-Fri 08:00-17:00; tz=America/New_York')) = (SELECT business FROM ph_reference) AS business_same
FROM public.ph_orders;
SET TimeZone = 'America/Los_Angeles';
SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') = (SELECT share FROM ph_reference) AS share_same
FROM public.ph_orders;
RESET ALL;
