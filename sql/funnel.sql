-- funnel: kpi.window_funnel, kpi.funnel, kpi.funnel_agg and the accessors
-- on hand-worked cases.  Every expected value is written next to its case
-- (worked out from the semantics in the README), and the queries print
-- whether the result equals it.

-- funnel_at(s): an instant s seconds after 2025-03-01 12:00 UTC.
CREATE FUNCTION funnel_at(s numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT timestamptz '2025-03-01 12:00:00+00' + s * interval '1 second' $$;

-- One entity per case: rows (seconds, steps the row matches).  A NULL
-- second is a NULL timestamp; st NULL or {NULL} makes every condition NULL.
CREATE TABLE funnel_cases (id text PRIMARY KEY, win interval, mode text, expected int, what text);
CREATE TABLE funnel_rows (id text, sec numeric, st int[]);

INSERT INTO funnel_cases VALUES
    ('b01', '10 s', NULL, 3, 'exactly window apart still counts: 1@0 2@5 3@10'),
    ('b02', '10 s', NULL, 2, 'one microsecond more does not: 1@0 2@5 3@10.000001'),
    ('b03', '10 s', NULL, 2, 'the window runs from step 1, not from the previous step: 1@0 2@9 3@11'),
    ('b04', '0 s', NULL, 3, 'equal timestamps count as in order, even with window 0: 1@7 2@7 3@7'),
    ('b05', '0 s', NULL, 3, 'the same rows listed in reverse: 3@7 2@7 1@7'),
    ('b06', '100 s', NULL, 2, 'out of order: 2@0 1@1 3@2 2@3; only 1@1 -> 2@3'),
    ('b07', '100 s', NULL, 2, 'repeated steps: 1@0 1@1 2@2 2@3'),
    ('b08', '100 s', NULL, 0, 'no step 1: 2@0 3@1'),
    ('b09', '10 s', NULL, 3, 'restart: 1@0 2@8 1@9 2@12 3@15; 0 -> 8 -> 15 is too long, 9 -> 12 -> 15 is not'),
    ('b10', '10 s', NULL, 3, 'a later step 1 keeps the earlier chain: 1@0 2@3 1@5 3@7'),
    ('b11', '10 s', NULL, 2, 'a later step 1 without successors: 1@0 2@5 1@8 3@12'),
    ('b12', '10 s', NULL, 3, 'one row matching steps 1 and 2: {1,2}@0 3@5'),
    ('b13', '10 s', NULL, 3, 'one row matching all steps: {1,2,3}@0'),
    ('b14', '10 s', NULL, 1, 'NULLs: 1@0, all conditions NULL @1, 2 with a NULL timestamp (skipped), 3@3'),
    ('b15', '10 s', NULL, 0, 'rows matching nothing: {}@0 {}@1'),
    ('b16', '10 s', NULL, 1, 'NULL step elements are false: {NULL}@0 1@1 {NULL}@2'),
    ('i01', '10 s', 'strict_increase', 1, '1@0 2@0 3@1: step 2 is not after step 1 (base: 3)'),
    ('i02', '10 s', 'strict_increase', 2, '1@0 2@1 3@1: step 3 is not after step 2'),
    ('i03', '10 s', 'strict_increase', 2, '1@0 1@5 2@5: the chain 0 -> 5 counts (ClickHouse: 1)'),
    ('i04', '10 s', 'strict_increase', 1, 'one row {1,2}@0 is one step'),
    ('o01', '10 s', 'strict_order', 1, '1@0 {}@1 2@2: a row matching nothing ends the scan (base: 2)'),
    ('o02', '10 s', 'strict_order', 2, '{}@0 1@1 2@2: before step 1 it does not'),
    ('o03', '10 s', 'strict_order', 1, '1@0 3@1 2@2: step 3 before step 2 is reached ends the scan (base: 2)'),
    ('o04', '10 s', 'strict_order', 1, '1@0 {}@5 2@5: the empty row comes first at 5'),
    ('o05', '10 s', 'strict_order', 3, '1@0 2@1 3@2 2@3: a repeat whose predecessor is reached is fine'),
    ('o06', '10 s', 'strict_order', 2, '1@0 2@20 1@21 2@22: 2@20 is out of window but in order'),
    ('d01', '10 s', 'strict_deduplication', 2, '1@0 2@1 2@2 3@3: the second 2 ends the scan (base: 3)'),
    ('d02', '10 s', 'strict_deduplication', 3, '1@0 1@1 2@2 3@3: step 1 may repeat'),
    ('d03', '10 s', 'strict_deduplication', 3, '1@0 3@1 3@2 2@3 3@4: unreached step 3 is no repeat'),
    ('d04', '10 s', 'strict_deduplication', 2, '1@0 2@1 2@1 3@2: two step-2 rows at one instant'),
    ('n01', '10 s', 'strict_once', 1, '{1,2}@0 3@1: the row is step 1 or 2, not both (base: 3)'),
    ('n02', '10 s', 'strict_once', 3, '{1,2}@0 {1,2}@0 3@1: two rows, two steps'),
    ('n03', '10 s', 'strict_once', 3, '{1,2}@0 {2,3}@0 3@1: rows matched to steps 1 and 2'),
    ('c01', '10 s', ' Strict_Order , STRICT_INCREASE', 1,
     '1@0 2@0 3@1 2@2 3@3: 2@0 is not after 1@0, so 3@1 finds step 2 unreached'),
    ('c02', '10 s', 'strict_increase', 3, 'the same rows with strict_increase alone: 0 -> 2 -> 3'),
    ('c03', '10 s', 'strict_order', 3, 'the same rows with strict_order alone: 0 -> 0 -> 1'),
    ('c04', '10 s', 'strict_deduplication,strict_once', 3, '{1,2}@0 2@1 3@2: the row at 0 is only step 1'),
    ('c05', '10 s', 'strict_increase,strict_order,strict_deduplication,strict_once', 3, '1@0 2@1 3@2'),
    ('c06', '10 s', '', 3, 'an empty mode list is the base mode: 1@0 2@5 3@10');

INSERT INTO funnel_rows VALUES
    ('b01', 0, '{1}'), ('b01', 5, '{2}'), ('b01', 10, '{3}'),
    ('b02', 0, '{1}'), ('b02', 5, '{2}'), ('b02', 10.000001, '{3}'),
    ('b03', 0, '{1}'), ('b03', 9, '{2}'), ('b03', 11, '{3}'),
    ('b04', 7, '{1}'), ('b04', 7, '{2}'), ('b04', 7, '{3}'),
    ('b05', 7, '{3}'), ('b05', 7, '{2}'), ('b05', 7, '{1}'),
    ('b06', 0, '{2}'), ('b06', 1, '{1}'), ('b06', 2, '{3}'), ('b06', 3, '{2}'),
    ('b07', 0, '{1}'), ('b07', 1, '{1}'), ('b07', 2, '{2}'), ('b07', 3, '{2}'),
    ('b08', 0, '{2}'), ('b08', 1, '{3}'),
    ('b09', 0, '{1}'), ('b09', 8, '{2}'), ('b09', 9, '{1}'), ('b09', 12, '{2}'), ('b09', 15, '{3}'),
    ('b10', 0, '{1}'), ('b10', 3, '{2}'), ('b10', 5, '{1}'), ('b10', 7, '{3}'),
    ('b11', 0, '{1}'), ('b11', 5, '{2}'), ('b11', 8, '{1}'), ('b11', 12, '{3}'),
    ('b12', 0, '{1,2}'), ('b12', 5, '{3}'),
    ('b13', 0, '{1,2,3}'),
    ('b14', 0, '{1}'), ('b14', 1, NULL), ('b14', NULL, '{2}'), ('b14', 3, '{3}'),
    ('b15', 0, '{}'), ('b15', 1, '{}'),
    ('b16', 0, '{NULL}'), ('b16', 1, '{1}'), ('b16', 2, '{NULL}'),
    ('i01', 0, '{1}'), ('i01', 0, '{2}'), ('i01', 1, '{3}'),
    ('i02', 0, '{1}'), ('i02', 1, '{2}'), ('i02', 1, '{3}'),
    ('i03', 0, '{1}'), ('i03', 5, '{1}'), ('i03', 5, '{2}'),
    ('i04', 0, '{1,2}'),
    ('o01', 0, '{1}'), ('o01', 1, '{}'), ('o01', 2, '{2}'),
    ('o02', 0, '{}'), ('o02', 1, '{1}'), ('o02', 2, '{2}'),
    ('o03', 0, '{1}'), ('o03', 1, '{3}'), ('o03', 2, '{2}'),
    ('o04', 0, '{1}'), ('o04', 5, '{}'), ('o04', 5, '{2}'),
    ('o05', 0, '{1}'), ('o05', 1, '{2}'), ('o05', 2, '{3}'), ('o05', 3, '{2}'),
    ('o06', 0, '{1}'), ('o06', 20, '{2}'), ('o06', 21, '{1}'), ('o06', 22, '{2}'),
    ('d01', 0, '{1}'), ('d01', 1, '{2}'), ('d01', 2, '{2}'), ('d01', 3, '{3}'),
    ('d02', 0, '{1}'), ('d02', 1, '{1}'), ('d02', 2, '{2}'), ('d02', 3, '{3}'),
    ('d03', 0, '{1}'), ('d03', 1, '{3}'), ('d03', 2, '{3}'), ('d03', 3, '{2}'), ('d03', 4, '{3}'),
    ('d04', 0, '{1}'), ('d04', 1, '{2}'), ('d04', 1, '{2}'), ('d04', 2, '{3}'),
    ('n01', 0, '{1,2}'), ('n01', 1, '{3}'),
    ('n02', 0, '{1,2}'), ('n02', 0, '{1,2}'), ('n02', 1, '{3}'),
    ('n03', 0, '{1,2}'), ('n03', 0, '{2,3}'), ('n03', 1, '{3}');
INSERT INTO funnel_rows
SELECT c, s, st
FROM unnest(ARRAY['c01', 'c02', 'c03']) c,
     (VALUES (0, '{1}'::int[]), (0, '{2}'), (1, '{3}'), (2, '{2}'), (3, '{3}')) r(s, st);
INSERT INTO funnel_rows VALUES
    ('c04', 0, '{1,2}'), ('c04', 1, '{2}'), ('c04', 2, '{3}'),
    ('c05', 0, '{1}'), ('c05', 1, '{2}'), ('c05', 2, '{3}'),
    ('c06', 0, '{1}'), ('c06', 5, '{2}'), ('c06', 10, '{3}');

-- Every case, through the overload without modes where it has none, and
-- with rows fed in both time orders (the result must not depend on it).
SELECT c.id, c.expected, r.asc_level, r.desc_level,
       r.asc_level = c.expected AND r.desc_level = c.expected AS ok, c.what
FROM funnel_cases c
JOIN LATERAL (
    SELECT CASE WHEN c.mode IS NULL
                THEN kpi.window_funnel(c.win, funnel_at(sec), 1 = ANY (st), 2 = ANY (st), 3 = ANY (st) ORDER BY sec, st)
                ELSE kpi.window_funnel(c.win, c.mode, funnel_at(sec), 1 = ANY (st), 2 = ANY (st), 3 = ANY (st) ORDER BY sec, st)
           END AS asc_level,
           CASE WHEN c.mode IS NULL
                THEN kpi.window_funnel(c.win, funnel_at(sec), 1 = ANY (st), 2 = ANY (st), 3 = ANY (st) ORDER BY sec DESC, st DESC)
                ELSE kpi.window_funnel(c.win, c.mode, funnel_at(sec), 1 = ANY (st), 2 = ANY (st), 3 = ANY (st) ORDER BY sec DESC, st DESC)
           END AS desc_level
    FROM funnel_rows WHERE funnel_rows.id = c.id) r ON true
ORDER BY c.id;

-- The same cases through kpi.funnel, one entity per case: per mode, the
-- number of cases reaching each step equals the count from the expected
-- levels.
SELECT coalesce(c.mode, '(none)') AS mode, c.win,
       kpi.funnel(r.id, funnel_at(r.sec), c.win, coalesce(c.mode, ''), 1 = ANY (r.st), 2 = ANY (r.st), 3 = ANY (r.st)) AS funnel,
       ARRAY[count(DISTINCT c.id) FILTER (WHERE c.expected >= 1), count(DISTINCT c.id) FILTER (WHERE c.expected >= 2),
             count(DISTINCT c.id) FILTER (WHERE c.expected >= 3)] AS expected
FROM funnel_cases c JOIN funnel_rows r USING (id)
GROUP BY 1, 2 ORDER BY 1, 2;

-- Several entities (window 20 s, 3 steps):
--   A: 1@0 2@4 3@10      level 3; times to steps 2 and 3: 4 s, 10 s
--   B: 1@100 2@107       level 2; 7 s
--   C: 1@5               level 1
--   D: 2@0 3@1           level 0
--   E: 1@50 2@51 3@90    level 2 (step 3 is 40 s after step 1); 1 s
--   F: 1@0 2@2           level 2; 2 s
--   NULL entity: 1@0 2@1 3@2, skipped
-- Funnel {5, 4, 1}; step 2 times 1 2 4 7, median (2 + 4) / 2 = 3 s; step 3: 10 s.
CREATE TABLE funnel_people (name text, num int, sec numeric, step int);
INSERT INTO funnel_people VALUES
    ('A', 1, 0, 1), ('A', 1, 4, 2), ('A', 1, 10, 3),
    ('B', 2, 100, 1), ('B', 2, 107, 2),
    ('C', 3, 5, 1),
    ('D', 4, 0, 2), ('D', 4, 1, 3),
    ('E', 5, 50, 1), ('E', 5, 51, 2), ('E', 5, 90, 3),
    ('F', 6, 0, 1), ('F', 6, 2, 2),
    (NULL, NULL, 0, 1), (NULL, NULL, 1, 2), (NULL, NULL, 2, 3);

SELECT kpi.funnel(name, funnel_at(sec), '20 s', step = 1, step = 2, step = 3) AS by_text,
       kpi.funnel(num, funnel_at(sec), '20 s', step = 1, step = 2, step = 3) AS by_int,
       kpi.funnel(num::smallint, funnel_at(sec), '20 s', step = 1, step = 2, step = 3) AS by_smallint,
       kpi.funnel(md5(name)::uuid, funnel_at(sec), '20 s', step = 1, step = 2, step = 3) AS by_uuid,
       kpi.funnel(num::numeric, funnel_at(sec), '20 s', step = 1, step = 2, step = 3) AS by_numeric,
       kpi.funnel(name, funnel_at(sec), '20 s', step = 1, step = 2, step = 3) = '{5,4,1}' AS ok
FROM funnel_people;
SELECT (s).*,
       (s).step = 1 AND (s).entities = 5 AND (s).conversion_from_previous IS NULL
           AND (s).conversion_from_first = 1 AND (s).median_time_to_step = '0 s'
       OR (s).step = 2 AND (s).entities = 4 AND (s).conversion_from_previous = 0.8
           AND (s).conversion_from_first = 0.8 AND (s).median_time_to_step = '3 s'
       OR (s).step = 3 AND (s).entities = 1 AND (s).conversion_from_previous = 0.25
           AND (s).conversion_from_first = 0.2 AND (s).median_time_to_step = '10 s' AS ok
FROM (SELECT kpi.funnel_steps(kpi.funnel_agg(name, funnel_at(sec), '20 s', step = 1, step = 2, step = 3)) AS s
      FROM funnel_people) f;
SELECT kpi.conversion_rate(st) AS conversion_rate, kpi.conversion_rate(st) = 0.2 AS ok,
       kpi.funnel(st) AS funnel
FROM (SELECT kpi.funnel_agg(num, funnel_at(sec), '20 s', step = 1, step = 2, step = 3) AS st FROM funnel_people) f;

-- Integer keys are exact: smallint, integer and bigint give the same state.
SELECT count(DISTINCT s::text) AS distinct_states
FROM (SELECT kpi.funnel_agg(num::smallint, funnel_at(sec), '20 s', step = 1, step = 2) FROM funnel_people
      UNION ALL SELECT kpi.funnel_agg(num, funnel_at(sec), '20 s', step = 1, step = 2) FROM funnel_people
      UNION ALL SELECT kpi.funnel_agg(num::bigint, funnel_at(sec), '20 s', step = 1, step = 2) FROM funnel_people) u(s);
SELECT kpi.funnel_agg(num, funnel_at(sec), '20 s', step = 1, step = 2) FROM funnel_people WHERE name IN ('A', 'D');

-- Median of an even count whose middle values differ by an odd number of
-- microseconds: 1 s and 2.000001 s -> 1.5000005 s, rounded to 1.500000 or
-- 1.500001 (the nearest microsecond either way).
SELECT step, median_time_to_step,
       median_time_to_step IN ('1.5 s', '1.500001 s') AS ok
FROM kpi.funnel_steps((SELECT kpi.funnel_agg(e, funnel_at(s), '1 min', st = 1, st = 2)
                       FROM (VALUES (1, 0, 1), (1, 1, 2), (2, 0, 1), (2, 2.000001, 2)) v(e, s, st)))
WHERE step = 2;
-- A median of more than a day is written with days, as ts - ts is.
SELECT median_time_to_step, median_time_to_step = funnel_at(93600) - funnel_at(0) AS ok
FROM kpi.funnel_steps((SELECT kpi.funnel_agg(1, funnel_at(s), '2 days', st = 1, st = 2)
                       FROM (VALUES (0, 1), (93600, 2)) v(s, st)))
WHERE step = 2;

-- Empty input: NULL (no rows reached the aggregate, so not even the
-- number of steps is known); no rows for funnel_steps.  Rows that match
-- no step: every count is 0, conversions and medians are NULL.
SELECT kpi.window_funnel('1 h', funnel_at(sec), st = 1, st = 2) AS level,
       kpi.funnel(1, funnel_at(sec), '1 h', st = 1, st = 2) AS funnel,
       kpi.funnel_agg(1, funnel_at(sec), '1 h', st = 1, st = 2) AS state
FROM (VALUES (0, 1)) v(sec, st) WHERE false;
SELECT count(*) AS steps FROM kpi.funnel_steps('(v:1,steps:0,window:0,modes:[],keys:none,events:[])');
SELECT kpi.funnel(name, funnel_at(sec), '20 s', step = 2, step = 3) AS funnel,
       kpi.conversion_rate(kpi.funnel_agg(name, funnel_at(sec), '20 s', step = 2, step = 3)) AS rate
FROM funnel_people WHERE name = 'C';
SELECT * FROM kpi.funnel_steps((SELECT kpi.funnel_agg(name, funnel_at(sec), '20 s', step = 2, step = 3)
                                FROM funnel_people WHERE name = 'C'));
SELECT kpi.window_funnel('1 h', funnel_at(sec), st = 1, st = 2) AS level
FROM (VALUES (0, 3), (1, 4)) v(sec, st);

-- The window is a fixed duration: a day is 24 hours, a month 30 days,
-- whatever the session's time zone (as in the interval comparison
-- t2 - t1 <= window).  Across the DST change of 2025-03-09 in New York,
-- 24 hours after noon on the 8th is 13:00 on the 9th.
SET TimeZone = 'America/New_York';
SELECT kpi.window_funnel('1 day', ts, st = 1, st = 2) AS one_day,
       kpi.window_funnel('23:59:59.999999', ts, st = 1, st = 2) AS one_microsecond_less
FROM (VALUES (timestamptz '2025-03-08 12:00', 1), (timestamptz '2025-03-09 13:00', 2)) v(ts, st);
RESET TimeZone;
SELECT w, kpi.window_funnel(w, funnel_at(sec), st = 1, st = 2) AS level,
       max(funnel_at(sec)) - min(funnel_at(sec)) <= w AS sql_says_within
FROM (VALUES ('1 mon'::interval), ('1 year'), ('1 day 2 hours'), ('1 mon -1 day'), ('29 days 23:59:59')) ws(w),
     (VALUES (0, 1), (30 * 86400, 2)) v(sec, st)
GROUP BY w ORDER BY w;

-- A window function: the running level of one case, a growing frame that
-- calls the final function repeatedly on the same state.
SELECT sec, st, kpi.window_funnel('10 s', funnel_at(sec), 1 = ANY (st), 2 = ANY (st), 3 = ANY (st))
                    OVER (ORDER BY sec ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_level
FROM funnel_rows WHERE id = 'b09' ORDER BY sec;

-- 32 steps, one per second: window 31 s reaches all, 30 s one less.
SELECT kpi.window_funnel(w, funnel_at(k), VARIADIC steps) AS level
FROM (SELECT k, array_agg(k = i ORDER BY i) AS steps FROM generate_series(1, 32) k, generate_series(1, 32) i GROUP BY k) s,
     (VALUES ('31 s'::interval), ('30 s')) ws(w)
GROUP BY w ORDER BY w DESC;

-- Errors: 22023 for a bad window, step list or mode, and for parameters
-- that differ between rows or between combined states.
SELECT kpi.window_funnel('-1 s', funnel_at(0), true);
SELECT kpi.window_funnel('1 mon -31 days', funnel_at(0), true);
SELECT kpi.funnel(1, funnel_at(0), '300000 years', true);
SELECT kpi.funnel(1, funnel_at(0), '1 h', VARIADIC array_fill(true, ARRAY[33]));
SELECT kpi.funnel(1, funnel_at(0), '1 h', VARIADIC '{}'::boolean[]);
SELECT kpi.funnel(1, funnel_at(0), '1 h', VARIADIC '{{true},{false}}'::boolean[]);
SELECT kpi.window_funnel('1 h', 'strict_order,foo', funnel_at(0), true);
SELECT kpi.window_funnel('1 h', 'strict_order,,strict_once', funnel_at(0), true);
SELECT kpi.window_funnel('1 h', 'strict', funnel_at(0), true);
SELECT kpi.window_funnel(w, funnel_at(s), true) FROM (VALUES ('1 h'::interval, 0), ('2 h', 1)) v(w, s);
SELECT kpi.window_funnel('1 h', m, funnel_at(s), true) FROM (VALUES ('', 0), ('strict_once', 1)) v(m, s);
SELECT kpi.window_funnel('1 h', funnel_at(s), VARIADIC st) FROM (VALUES ('{true}'::boolean[], 0), ('{true,false}', 1)) v(st, s);
SELECT kpi.funnel(p, funnel_at(0), '1 h', true) FROM (VALUES (point(1, 2))) v(p);
SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1, funnel_at(0), '1 h', true)
                           UNION ALL SELECT kpi.funnel_agg(1, funnel_at(0), '2 h', true)) u(s);
SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1, funnel_at(0), '1 h', true)
                           UNION ALL SELECT kpi.funnel_agg(1, funnel_at(0), '1 h', true, false)) u(s);
SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1, funnel_at(0), '1 h', true)
                           UNION ALL SELECT kpi.funnel_agg(1, funnel_at(0), '1 h', 'strict_once', true)) u(s);
-- bigint and text session ids are keys of two spaces (ids as they are,
-- and 64-bit hashes): their states do not combine, and a transition does
-- not add a text key to a state of integer keys.
SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1::bigint, funnel_at(0), '1 h', true)
                           UNION ALL SELECT kpi.funnel_agg('1'::text, funnel_at(0), '1 h', true)) u(s);
SELECT kpi.funnel_accum(kpi.funnel_agg(1, funnel_at(0), '1 h', true, false), 'x'::text, funnel_at(1), '1 h', true, false);
-- Two states of text keys combine: session a has step 1 in one state and
-- step 2, a minute later, in the other, so it reaches step 2; b only
-- step 1.  The same state as from all the rows at once.
SELECT kpi.funnel(kpi.rollup(s)) AS funnel,
       kpi.rollup(s)::text LIKE '%,keys:hash,%' AS hashed_keys,
       kpi.rollup(s)::text = (SELECT kpi.funnel_agg(e, funnel_at(sec), '1 h', st = 1, st = 2)::text
                              FROM (VALUES ('a', 0, 1), ('b', 10, 1), ('a', 60, 2)) v(e, sec, st)) AS same_as_whole
FROM (SELECT kpi.funnel_agg(e, funnel_at(sec), '1 h', st = 1, st = 2)
      FROM (VALUES ('a', 0, 1), ('b', 10, 1)) v(e, sec, st)
      UNION ALL
      SELECT kpi.funnel_agg(e, funnel_at(sec), '1 h', st = 1, st = 2)
      FROM (VALUES ('a', 60, 2)) v(e, sec, st)) u(s);
-- A blank state (no rows) combines with anything.
SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1, funnel_at(0), '1 h', 'strict_once', true)
                           UNION ALL SELECT '(v:1,steps:0,window:0,modes:[],keys:none,events:[])') u(s);
