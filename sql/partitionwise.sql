-- partitionwise: partial aggregation per partition, combined without
-- parallel workers, gives the serial answer.
CREATE TABLE parted (day date, region text, amount numeric) PARTITION BY RANGE (day);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
CREATE TABLE parted_3 PARTITION OF parted FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
INSERT INTO parted
SELECT date '2025-01-01' + (i % 90), (ARRAY['north', 'south', 'east'])[1 + i % 3],
       round(((i::bigint * 104729) % 100000) / 1000.0, (i % 4))
FROM generate_series(1, 30000) i;
ANALYZE parted;

CREATE TEMP TABLE expected_regions AS
SELECT region, avg(amount)::text AS a FROM parted GROUP BY region;

SET enable_partitionwise_aggregate = on;
SET max_parallel_workers_per_gather = 0;
DO $$
DECLARE
    plan text;
BEGIN
    EXPLAIN (COSTS OFF, FORMAT JSON) SELECT region, kpi.aov(amount) FROM parted GROUP BY region INTO plan;
    IF plan NOT LIKE '%"Partial Mode": "Partial"%' OR plan NOT LIKE '%"Partial Mode": "Finalize"%' THEN
        RAISE EXCEPTION 'expected partitionwise partial aggregation: %', plan;
    END IF;
END $$;
SELECT count(*) AS differing_regions
FROM (SELECT region, kpi.aov(amount)::text AS a FROM parted GROUP BY region) p
FULL JOIN expected_regions e USING (region)
WHERE p.a IS DISTINCT FROM e.a;
SELECT kpi.aov(kpi.aov_agg(amount))::text = (SELECT avg(amount)::text FROM parted) AS two_step_same
FROM parted;
RESET ALL;
