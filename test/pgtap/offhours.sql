-- test/pgtap/offhours.sql: the SQL contract of kpi.offhours_share,
-- kpi.is_business_hours, kpi.business_calendar and kpi.offhours_state.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS kpi;
SELECT plan(85);

-- The types and their I/O functions.
SELECT has_type('kpi', t, 'type kpi.' || t || ' exists') FROM unnest(ARRAY['business_calendar', 'offhours_state']) t;
SELECT has_function('kpi', t || '_in', ARRAY['cstring']) FROM unnest(ARRAY['business_calendar', 'offhours_state']) t;
SELECT has_function('kpi', t || '_out', ARRAY['kpi.' || t]) FROM unnest(ARRAY['business_calendar', 'offhours_state']) t;
SELECT has_function('kpi', t || '_recv', ARRAY['internal']) FROM unnest(ARRAY['business_calendar', 'offhours_state']) t;
SELECT has_function('kpi', t || '_send', ARRAY['kpi.' || t]) FROM unnest(ARRAY['business_calendar', 'offhours_state']) t;

-- kpi.is_business_hours for timestamptz and timestamp.
SELECT function_returns('kpi', 'is_business_hours', ARRAY[t, 'kpi.business_calendar'], 'boolean')
FROM unnest(ARRAY['timestamp with time zone', 'timestamp without time zone']) t;
SELECT volatility_is('kpi', 'is_business_hours', ARRAY[t, 'kpi.business_calendar'], 'immutable',
                     'kpi.is_business_hours(' || t || ', kpi.business_calendar) is immutable')
FROM unnest(ARRAY['timestamp with time zone', 'timestamp without time zone']) t;
SELECT is_strict('kpi', 'is_business_hours', ARRAY[t, 'kpi.business_calendar'],
                 'kpi.is_business_hours(' || t || ', kpi.business_calendar) is strict')
FROM unnest(ARRAY['timestamp with time zone', 'timestamp without time zone']) t;

-- One-step and partial aggregates, for both moment types, with and without weight.
SELECT is_aggregate('kpi', f, a, 'kpi.' || f || '(' || array_to_string(a, ', ') || ') is an aggregate')
FROM unnest(ARRAY['offhours_share', 'offhours_agg']) f,
     (VALUES (ARRAY['timestamp with time zone', 'kpi.business_calendar']),
             (ARRAY['timestamp without time zone', 'kpi.business_calendar']),
             (ARRAY['timestamp with time zone', 'kpi.business_calendar', 'numeric']),
             (ARRAY['timestamp without time zone', 'kpi.business_calendar', 'numeric'])) v(a);
SELECT function_returns('kpi', f, a, CASE f WHEN 'offhours_share' THEN 'double precision' ELSE 'kpi.offhours_state' END)
FROM unnest(ARRAY['offhours_share', 'offhours_agg']) f,
     (VALUES (ARRAY['timestamp with time zone', 'kpi.business_calendar']),
             (ARRAY['timestamp without time zone', 'kpi.business_calendar']),
             (ARRAY['timestamp with time zone', 'kpi.business_calendar', 'numeric']),
             (ARRAY['timestamp without time zone', 'kpi.business_calendar', 'numeric'])) v(a);
SELECT is_aggregate('kpi', 'rollup', ARRAY['kpi.offhours_state'], 'kpi.rollup(kpi.offhours_state) is an aggregate');
SELECT function_returns('kpi', 'rollup', ARRAY['kpi.offhours_state'], 'kpi.offhours_state');

-- Accessors: immutable, strict, read-only.
SELECT isnt_aggregate('kpi', 'offhours_share', ARRAY['kpi.offhours_state'], 'kpi.offhours_share(kpi.offhours_state) is an accessor');
SELECT function_returns('kpi', f, ARRAY['kpi.offhours_state'], r)
FROM (VALUES ('offhours_share', 'double precision'), ('offhours_count', 'bigint'), ('offhours_total', 'bigint'),
             ('offhours_weight', 'numeric'), ('offhours_total_weight', 'numeric')) v(f, r);
SELECT volatility_is('kpi', f, ARRAY['kpi.offhours_state'], 'immutable', 'kpi.' || f || ' is immutable')
FROM unnest(ARRAY['offhours_share', 'offhours_count', 'offhours_total', 'offhours_weight', 'offhours_total_weight']) f;
SELECT is_strict('kpi', f, ARRAY['kpi.offhours_state'], 'kpi.' || f || ' is strict')
FROM unnest(ARRAY['offhours_share', 'offhours_count', 'offhours_total', 'offhours_weight', 'offhours_total_weight']) f;

-- Every aggregate is parallel safe with a combine function; the one-step
-- and partial ones support moving frames.
SELECT ok(a.aggcombinefn <> 0 AND p.proparallel = 's', p.oid::regprocedure || ' is parallel safe with a combine function')
FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = 'kpi'::regnamespace
  AND (p.proname IN ('offhours_share', 'offhours_agg') OR p.oid = 'kpi.rollup(kpi.offhours_state)'::regprocedure)
ORDER BY p.oid::regprocedure::text;
SELECT ok(a.aggminvtransfn <> 0, p.oid::regprocedure || ' has an inverse transition')
FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = 'kpi'::regnamespace AND p.proname IN ('offhours_share', 'offhours_agg')
ORDER BY p.oid::regprocedure::text;

-- Values.
SELECT is(kpi.offhours_share(t, 'Mon-Fri 08:00-17:00'), 0.4::float8, 'two of five moments are off-hours')
FROM (VALUES (timestamp '2024-12-23 09:00'), ('2024-12-28 10:00'), ('2024-12-23 17:00'),
             ('2024-12-24 08:00'), (NULL), ('2024-12-27 16:59:59')) v(t);
SELECT is(kpi.offhours_share(t, 'Mon-Fri 08:00-17:00'), NULL, 'no rows: NULL')
FROM (VALUES (timestamp '2024-12-23 09:00')) v(t) WHERE false;
SELECT is(kpi.is_business_hours(timestamptz '2024-03-31 00:30+00', 'Sun 01:00-02:00; tz=Europe/Berlin'), true,
          '00:30 UTC is 01:30 CET in Berlin');
SELECT is(kpi.is_business_hours(timestamptz '2024-03-31 01:30+00', 'Sun 02:00-03:00; tz=Europe/Berlin'), false,
          '01:30 UTC is 03:30 CEST: Berlin skips 02:00-03:00');
SELECT is(kpi.is_business_hours(timestamptz 'infinity', 'Mon-Fri 08:00-17:00'), NULL, 'infinity: NULL');
SELECT is('mon-fri 8:00-17:00; tz=europe/stockholm'::kpi.business_calendar::text,
          'Mon-Fri 08:00-17:00; tz=Europe/Stockholm', 'canonical calendar text');

-- Error codes.
SELECT throws_ok($$SELECT 'Mon-Fry 08:00-17:00'::kpi.business_calendar$$, '22P02', NULL, 'an unknown day name is 22P02');
SELECT throws_ok($$SELECT 'Mon-Fri 8-17'::kpi.business_calendar$$, '22P02', NULL, 'a malformed time is 22P02');
SELECT throws_ok($$SELECT 'Mon-Fri 08:00-17:00; holidays=2024-02-30'::kpi.business_calendar$$, '22P02', NULL,
                 'a nonexistent holiday date is 22P02');
SELECT throws_ok($$SELECT 'Mon-Fri 17:00-08:00'::kpi.business_calendar$$, '22023', NULL, 'a range ending before it starts is 22023');
SELECT throws_ok($$SELECT 'Mon-Fri 08:00-12:00; Wed 11:00-13:00'::kpi.business_calendar$$, '22023', NULL,
                 'overlapping ranges are 22023');
SELECT throws_ok($$SELECT 'Mon-Fri 08:00-17:00; tz=Europe/Atlantis'::kpi.business_calendar$$, '22023', NULL,
                 'an unknown zone is 22023');
SELECT throws_ok($$SELECT 'Mon-Fri 08:00-17:00; tz=UTC+3'::kpi.business_calendar$$, '22023', NULL,
                 'a POSIX zone specification is 22023');
SELECT throws_ok($$SELECT kpi.offhours_share(timestamp '2024-12-23 10:00', 'Mon 08:00-17:00', 'NaN'::numeric)$$,
                 '22023', NULL, 'a NaN weight is 22023');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.offhours_agg(timestamp '2024-12-23 10:00', 'Mon 08:00-17:00')
                                              UNION ALL SELECT kpi.offhours_agg(timestamp '2024-12-23 10:00', 'Mon 08:00-17:00', 1)) v(s)$$,
                 '22023', NULL, 'combining weighted and unweighted states is 22023');
SELECT throws_ok($$SELECT kpi.offhours_share(t, 'Mon 08:00-17:00', w) FROM (VALUES (timestamp '2024-12-23 10:00', 1e30), ('2024-12-23 10:00', 1e-9)) v(t, w)$$,
                 '22003', NULL, 'a weight sum beyond 38 significant digits is 22003');
SELECT throws_ok($$SELECT '(v:1,kind:rows,n:2,off:3)'::kpi.offhours_state$$, '22P02', NULL, 'an impossible state text is 22P02');
SELECT throws_ok($$SELECT '(v:9,n:0)'::kpi.offhours_state$$, '0A000', NULL, 'an unknown state version is 0A000');

SELECT * FROM finish();
ROLLBACK;
