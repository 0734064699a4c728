-- funnel_reference: kpi.window_funnel, kpi.funnel and kpi.funnel_steps
-- equal an independent plain-SQL computation on random data, in the modes
-- whose definition is a property of a chain (none, strict_increase,
-- strict_once, both).  The scan-ending modes (strict_order,
-- strict_deduplication) are checked on hand-worked cases in funnel.sql
-- and against a brute force in the C unit tests.
--
-- The reference: a chain is events e1 (step 1), e2 (step 2), e3 (step 3)
-- of one entity with e1.ts <= e2.ts <= e3.ts (< with strict_increase),
-- from distinct rows with strict_once, and e3.ts - e1.ts <= window (an
-- interval comparison).  An entity reaches step k if a chain of k events
-- exists.  Its time to step k: the earliest end of such a chain, minus the
-- latest start of the chains ending then.
SELECT setseed(0.25);
-- 3000 entities, up to 8 rows each over 40 seconds (whole seconds, so
-- steps tie often); most rows match one step, some two, some none; a few
-- NULL conditions, timestamps and entities.
CREATE TABLE funnel_ref_rows AS
SELECT row_number() OVER () AS rid, e, ts,
       u < 0.40 AS c1,
       CASE WHEN v < 0.03 THEN NULL ELSE u >= 0.36 AND u < 0.70 END AS c2,
       u >= 0.68 AND u < 0.95 AS c3
FROM (SELECT CASE WHEN random() < 0.01 THEN NULL ELSE e END AS e,
             CASE WHEN random() < 0.01 THEN NULL
                  ELSE timestamptz '2025-06-01 08:00:00+00' + floor(random() * 40) * interval '1 s' END AS ts,
             random() AS u, random() AS v
      FROM generate_series(1, 3000) e, generate_series(1, 8) j
      WHERE random() < 0.55) r;
ANALYZE funnel_ref_rows;

CREATE TABLE funnel_ref_modes (mode text, inc boolean, once boolean);
INSERT INTO funnel_ref_modes VALUES ('', false, false), ('strict_increase', true, false),
    ('strict_once', false, true), ('strict_increase,strict_once', true, true);

-- The reference, per mode.
CREATE TABLE funnel_ref_events AS
SELECT rid, e, ts, k FROM funnel_ref_rows, LATERAL (VALUES (1, c1), (2, c2), (3, c3)) v(k, c)
WHERE c AND e IS NOT NULL AND ts IS NOT NULL;
CREATE TABLE funnel_ref_chain2 AS
SELECT m.mode, a.e, a.ts AS t1, b.ts AS t2, a.rid AS r1, b.rid AS r2
FROM funnel_ref_modes m, funnel_ref_events a
JOIN funnel_ref_events b ON b.e = a.e AND b.k = 2
WHERE a.k = 1 AND b.ts >= a.ts AND b.ts - a.ts <= interval '12 s'
  AND (NOT m.inc OR b.ts > a.ts) AND (NOT m.once OR b.rid <> a.rid);
CREATE TABLE funnel_ref_chain3 AS
SELECT c.mode, c.e, c.t1, d.ts AS t3
FROM funnel_ref_modes m JOIN funnel_ref_chain2 c USING (mode)
JOIN funnel_ref_events d ON d.e = c.e AND d.k = 3
WHERE d.ts >= c.t2 AND d.ts - c.t1 <= interval '12 s'
  AND (NOT m.inc OR d.ts > c.t2) AND (NOT m.once OR (d.rid <> c.r1 AND d.rid <> c.r2));
CREATE TABLE funnel_ref_level AS
SELECT m.mode, e.e,
       CASE WHEN EXISTS (SELECT FROM funnel_ref_chain3 c WHERE c.mode = m.mode AND c.e = e.e) THEN 3
            WHEN EXISTS (SELECT FROM funnel_ref_chain2 c WHERE c.mode = m.mode AND c.e = e.e) THEN 2
            WHEN EXISTS (SELECT FROM funnel_ref_events v WHERE v.e = e.e AND v.k = 1) THEN 1
            ELSE 0 END AS level
FROM funnel_ref_modes m, (SELECT DISTINCT e FROM funnel_ref_rows WHERE e IS NOT NULL AND ts IS NOT NULL) e;
CREATE TABLE funnel_ref_times AS
SELECT mode, 2 AS step, e, min(t2) - max(t1) AS time
FROM (SELECT mode, e, t1, t2, rank() OVER (PARTITION BY mode, e ORDER BY t2) AS r FROM funnel_ref_chain2) c
WHERE r = 1 GROUP BY mode, e
UNION ALL
SELECT mode, 3, e, min(t3) - max(t1)
FROM (SELECT mode, e, t1, t3, rank() OVER (PARTITION BY mode, e ORDER BY t3) AS r FROM funnel_ref_chain3) c
WHERE r = 1 GROUP BY mode, e;

-- How many entities reach each level (the data exercise every level).
SELECT mode, level, count(*) FROM funnel_ref_level GROUP BY 1, 2 ORDER BY 1, 2;

-- Per entity: kpi.window_funnel = the reference level.
SELECT m.mode, count(*) AS entities, count(*) FILTER (WHERE w.level <> r.level) AS differing
FROM funnel_ref_modes m
JOIN LATERAL (SELECT e, kpi.window_funnel('12 s', m.mode, ts, c1, c2, c3) AS level
              FROM funnel_ref_rows WHERE e IS NOT NULL GROUP BY e) w ON true
JOIN funnel_ref_level r ON r.mode = m.mode AND r.e = w.e
GROUP BY m.mode ORDER BY m.mode;

-- All entities at once: kpi.funnel (integer and text keys) = the
-- reference counts.
SELECT m.mode, f.by_int, f.by_text,
       f.by_int = r.counts AND f.by_text = r.counts AS same
FROM funnel_ref_modes m
JOIN LATERAL (SELECT kpi.funnel(e, ts, '12 s', m.mode, c1, c2, c3) AS by_int,
                     kpi.funnel('entity ' || e, ts, '12 s', m.mode, c1, c2, c3) AS by_text
              FROM funnel_ref_rows) f ON true
JOIN LATERAL (SELECT ARRAY[count(*) FILTER (WHERE level >= 1), count(*) FILTER (WHERE level >= 2),
                           count(*) FILTER (WHERE level >= 3)] AS counts
              FROM funnel_ref_level WHERE funnel_ref_level.mode = m.mode) r ON true
ORDER BY m.mode;

-- Median times to steps 2 and 3 = percentile_cont(0.5) of the reference
-- times.
SELECT m.mode, s.step, s.median_time_to_step, r.median,
       s.median_time_to_step = r.median AS same
FROM funnel_ref_modes m
JOIN LATERAL kpi.funnel_steps((SELECT kpi.funnel_agg(e, ts, '12 s', m.mode, c1, c2, c3) FROM funnel_ref_rows)) s ON s.step >= 2
JOIN LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY time) AS median
              FROM funnel_ref_times t WHERE t.mode = m.mode AND t.step = s.step) r ON true
ORDER BY m.mode, s.step;

-- A call listing 2 to 8 conditions goes to the overload with one boolean
-- per step (no array built per row; NULL conditions are false there too),
-- VARIADIC ARRAY[...] to the array form: both give equal states and
-- levels in every mode, the scan-ending ones included.
SELECT m.mode,
       listed.state = arrayed.state AS same_state,
       listed.levels = arrayed.levels AS same_levels,
       listed.funnel2 = arrayed.funnel2 AS same_two_steps
FROM unnest(ARRAY['', 'strict_increase', 'strict_order', 'strict_deduplication', 'strict_once',
                  'strict_order,strict_deduplication,strict_once']) m(mode)
JOIN LATERAL (SELECT kpi.funnel_agg(e, ts, '12 s', m.mode, c1, c2, c3)::text AS state,
                     (SELECT array_agg(l ORDER BY e)
                      FROM (SELECT e, kpi.window_funnel('12 s', m.mode, ts, c1, c2, c3) AS l
                            FROM funnel_ref_rows GROUP BY e) w) AS levels,
                     kpi.funnel(e, ts, '12 s', m.mode, c2, c3) AS funnel2
              FROM funnel_ref_rows) listed ON true
JOIN LATERAL (SELECT kpi.funnel_agg(e, ts, '12 s', m.mode, VARIADIC ARRAY[c1, c2, c3])::text AS state,
                     (SELECT array_agg(l ORDER BY e)
                      FROM (SELECT e, kpi.window_funnel('12 s', m.mode, ts, VARIADIC ARRAY[c1, c2, c3]) AS l
                            FROM funnel_ref_rows GROUP BY e) w) AS levels,
                     kpi.funnel(e, ts, '12 s', m.mode, VARIADIC ARRAY[c2, c3]) AS funnel2
              FROM funnel_ref_rows) arrayed ON true
ORDER BY m.mode;

-- Which aggregate a call resolves to, read from a view's dependencies.
CREATE VIEW funnel_calls AS
SELECT kpi.funnel(e, ts, '12 s', c1, c2, c3) AS listed3,
       kpi.funnel(e, ts, '12 s', 'strict_once', c1, c2, c3, c1, c2, c3, c1, c2) AS listed8,
       kpi.funnel(e, ts, '12 s', c1) AS one_step,
       kpi.funnel(e, ts, '12 s', c1, c2, c3, c1, c2, c3, c1, c2, c3) AS nine_steps,
       kpi.funnel(e, ts, '12 s', VARIADIC ARRAY[c1, c2]) AS explicit_array
FROM funnel_ref_rows;
SELECT d.refobjid::regprocedure AS aggregate
FROM pg_depend d JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
WHERE r.ev_class = 'funnel_calls'::regclass AND d.refclassid = 'pg_proc'::regclass
ORDER BY 1::text;
DROP VIEW funnel_calls;
