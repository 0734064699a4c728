-- aov_numeric: kpi.aov(numeric) equals avg(numeric) exactly, in value and
-- display scale, on numerics of every shape: mixed scales (0..12), large
-- and tiny magnitudes, negative values, trailing zeros, values whose
-- base-10000 digit groups have been stripped (1e8, 0.0001), and scales
-- that change between the rows of one group.
SELECT setseed(0.4242);
CREATE TABLE nums AS
SELECT i % 97 AS g,
       round(((random() - 0.4) * 10 ^ (random() * 24 - 6))::numeric, (random() * 12)::int) AS x
FROM generate_series(1, 30000) i;
INSERT INTO nums VALUES (1, 100000000), (1, 0.0001), (2, 1e20), (2, -1e-12), (3, 0.50), (3, 10.000);

SELECT count(*) AS groups,
       count(*) FILTER (WHERE a::text IS DISTINCT FROM b::text) AS differing
FROM (SELECT g, kpi.aov(x) AS a, avg(x) AS b FROM nums GROUP BY g) t;

-- The numerics go through the tuple's packed (1-byte header) form too:
-- a table with short numerics, read straight from disk.
CREATE TABLE short_nums (x numeric);
INSERT INTO short_nums SELECT (i % 1000) / 10.0 FROM generate_series(1, 1000) i;
SELECT kpi.aov(x)::text = avg(x)::text AS packed_same FROM short_nums;

-- A state's text form gives back the same mean after a round trip.
SELECT count(*) FILTER (WHERE kpi.aov(s::text::kpi.aov_state)::text IS DISTINCT FROM kpi.aov(s)::text) AS round_trip_differing
FROM (SELECT g, kpi.aov_agg(x) AS s FROM nums GROUP BY g) t;
