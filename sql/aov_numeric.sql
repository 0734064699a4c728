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

-- Sums of any size.  Up to 38 significant digits the sum is an int128
-- (the state is 80 bytes); beyond, it keeps every digit (the state grows)
-- and comes back to 80 bytes when the sum fits again.  Random numerics:
-- huge ones (up to 300 digits before the point), tiny ones (up to 400
-- zeros after it), and ordinary amounts, with scales up to 1000, mixed in
-- every group.
CREATE FUNCTION random_digits(n int) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(floor(random() * 10)::int::text, ''), '')
    FROM generate_series(1, n)
$$;
CREATE FUNCTION random_decimal(int_digits int, zeros int, frac_digits int) RETURNS numeric LANGUAGE sql AS $$
    SELECT ((CASE WHEN random() < 0.5 THEN '-' ELSE '' END)
            || CASE WHEN int_digits > 0 THEN random_digits(int_digits) ELSE '0' END
            || CASE WHEN zeros + frac_digits > 0 THEN '.' || repeat('0', zeros) || random_digits(frac_digits) ELSE '' END
           )::numeric
$$;
SELECT setseed(0.2718);
CREATE TABLE wide_nums AS
SELECT i, i % 29 AS g,
       CASE i % 5
           WHEN 0 THEN random_decimal((random() * 300)::int, 0, (random() * 60)::int)
           WHEN 1 THEN random_decimal(0, (random() * 400)::int, 1 + (random() * 40)::int)
           WHEN 2 THEN random_decimal((random() * 12)::int, 0, (random() * 1000)::int)
           WHEN 3 THEN round((random() * 1000)::numeric, 2)
           ELSE round(((random() - 0.5) * 1e6)::numeric, (random() * 1000)::int)
       END AS x
FROM generate_series(1, 2000) i;

-- the data really has those shapes
SELECT max(scale(x)) BETWEEN 990 AND 1000 AS scales_to_1000,
       max(abs(x)) > 1e290 AS huge, min(abs(x)) FILTER (WHERE x <> 0) < 1e-390 AS tiny
FROM wide_nums;

-- every group: same value and display scale as avg(); all sums are wide
SELECT count(*) AS groups,
       count(*) FILTER (WHERE a::text IS DISTINCT FROM b::text) AS differing,
       count(*) FILTER (WHERE state_bytes > 80) AS wide_states
FROM (SELECT g, kpi.aov(x) AS a, avg(x) AS b, pg_column_size(kpi.aov_agg(x)) AS state_bytes
      FROM wide_nums GROUP BY g) t;

-- each shape of number alone, group by group
SELECT shape, count(*) FILTER (WHERE a::text IS DISTINCT FROM b::text) AS differing
FROM (SELECT i % 5 AS shape, g, kpi.aov(x) AS a, avg(x) AS b FROM wide_nums GROUP BY 1, 2) t
GROUP BY 1 ORDER BY 1;

-- Sums that go wide and come back: the state shrinks to its 80 bytes,
-- with exactly the bytes of a state that never went wide.
SELECT kpi.aov(x), pg_column_size(kpi.aov_agg(x)) AS bytes,
       kpi.aov_agg(x)::text
FROM (VALUES (1e40), (2.5)) t(x);
-- (10^40 + 2.5) + (-10^40 + 7): the same state as 2.5, 7, 0 and 0
SELECT kpi.rollup(s) AS back_to_narrow, pg_column_size(kpi.rollup(s)) AS bytes,
       kpi.aov_state_send(kpi.rollup(s)) = (SELECT kpi.aov_state_send(kpi.aov_agg(x))
                                           FROM (VALUES (2.5), (7), (0), (0)) v(x)) AS same_bytes
FROM (SELECT kpi.aov_agg(x) AS s FROM (VALUES (1e40), (2.5)) t(x)
      UNION ALL SELECT kpi.aov_agg(x) FROM (VALUES (-1e40), (7)) t(x)) u;

-- Moving window frames over such values: every frame equals avg().
SELECT count(*) AS frames,
       count(*) FILTER (WHERE a::text IS DISTINCT FROM b::text) AS differing
FROM (SELECT kpi.aov(x) OVER w AS a, avg(x) OVER w AS b
      FROM wide_nums WINDOW w AS (ORDER BY i ROWS BETWEEN 7 PRECEDING AND CURRENT ROW)) t;
-- frames whose sums go wide and narrow again as 1e40 enters and leaves
SELECT day, x, kpi.aov(x) OVER w, avg(x) OVER w, pg_column_size(kpi.aov_agg(x) OVER w) AS state_bytes
FROM (VALUES (1, 1.5), (2, 1e40), (3, 2.5), (4, -1e40), (5, 3.25), (6, 4)) t(day, x)
WINDOW w AS (ORDER BY day ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
ORDER BY day;

-- Rollup of partial wide states equals the one-step answer; states read
-- back from their text and binary forms are the same states.
CREATE TABLE wide_parts AS
SELECT g, i % 7 AS part, kpi.aov_agg(x) AS s FROM wide_nums GROUP BY 1, 2;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE r.a IS DISTINCT FROM o.a) AS rollup_differing
FROM (SELECT g, kpi.aov(kpi.rollup(s))::text AS a FROM wide_parts GROUP BY g) r
JOIN (SELECT g, avg(x)::text AS a FROM wide_nums GROUP BY g) o USING (g);
SELECT count(*) AS states,
       count(*) FILTER (WHERE s::text::kpi.aov_state::text <> s::text) AS text_differing,
       count(*) FILTER (WHERE pg_column_size(s) > 80) AS wide
FROM wide_parts;
CREATE TABLE wide_parts_back (LIKE wide_parts);
DO $$
DECLARE
    path text := current_setting('data_directory') || '/kpi_wide_states.bin';
BEGIN
    EXECUTE format('COPY wide_parts TO %L (FORMAT binary)', path);
    EXECUTE format('COPY wide_parts_back FROM %L (FORMAT binary)', path);
END $$;
SELECT count(*) AS states_back,
       count(*) FILTER (WHERE a.s::text <> b.s::text
                        OR kpi.aov_state_send(a.s) <> kpi.aov_state_send(b.s)) AS binary_differing
FROM wide_parts a JOIN wide_parts_back b USING (g, part);

-- A state with a 16383-digit scale is larger than TOAST's threshold: it
-- is stored compressed (STORAGE extended) and reads back whole.
CREATE TABLE big_state AS
SELECT kpi.aov_agg(x) AS s
FROM (VALUES (('1.' || repeat('0', 16382) || '1')::numeric), (1e300), (-7)) t(x);
SELECT pg_column_size(s) < octet_length(s::text) / 2 AS compressed,
       kpi.aov(s)::text = (SELECT avg(x)::text FROM (VALUES (('1.' || repeat('0', 16382) || '1')::numeric),
                                                        (1e300), (-7)) t(x)) AS same_as_avg
FROM big_state;
SELECT kpi.rollup(s)::text = (SELECT s::text FROM big_state) AS rollup_same FROM big_state;
