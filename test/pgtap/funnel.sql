-- test/pgtap/funnel.sql: the SQL contract of the funnel aggregates and kpi.funnel_state.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS kpi;
SELECT plan(112);

-- The state type and its I/O functions.
SELECT has_type('kpi', 'funnel_state', 'type kpi.funnel_state exists');
SELECT has_function('kpi', 'funnel_state_in', ARRAY['cstring']);
SELECT has_function('kpi', 'funnel_state_out', ARRAY['kpi.funnel_state']);
SELECT has_function('kpi', 'funnel_state_recv', ARRAY['internal']);
SELECT has_function('kpi', 'funnel_state_send', ARRAY['kpi.funnel_state']);
SELECT is((SELECT typstorage::text FROM pg_type WHERE oid = 'kpi.funnel_state'::regtype), 'x',
          'kpi.funnel_state has STORAGE extended (states can be large)');

-- The aggregates and their return types.
SELECT is_aggregate('kpi', 'window_funnel', ARRAY['interval', 'timestamp with time zone', 'boolean[]'],
                    'kpi.window_funnel(window, ts, VARIADIC steps) is an aggregate');
SELECT is_aggregate('kpi', 'window_funnel', ARRAY['interval', 'text', 'timestamp with time zone', 'boolean[]'],
                    'kpi.window_funnel(window, mode, ts, VARIADIC steps) is an aggregate');
SELECT function_returns('kpi', 'window_funnel', ARRAY['interval', 'timestamp with time zone', 'boolean[]'], 'integer');
SELECT function_returns('kpi', 'window_funnel', ARRAY['interval', 'text', 'timestamp with time zone', 'boolean[]'], 'integer');
SELECT is_aggregate('kpi', 'funnel', ARRAY['anyelement', 'timestamp with time zone', 'interval', 'boolean[]'],
                    'kpi.funnel(entity, ts, window, VARIADIC steps) is an aggregate');
SELECT is_aggregate('kpi', 'funnel', ARRAY['anyelement', 'timestamp with time zone', 'interval', 'text', 'boolean[]'],
                    'kpi.funnel(entity, ts, window, mode, VARIADIC steps) is an aggregate');
SELECT function_returns('kpi', 'funnel', ARRAY['anyelement', 'timestamp with time zone', 'interval', 'boolean[]'], 'bigint[]');
SELECT function_returns('kpi', 'funnel', ARRAY['anyelement', 'timestamp with time zone', 'interval', 'text', 'boolean[]'], 'bigint[]');
SELECT is_aggregate('kpi', 'funnel_agg', ARRAY['anyelement', 'timestamp with time zone', 'interval', 'boolean[]'],
                    'kpi.funnel_agg(entity, ts, window, VARIADIC steps) is an aggregate');
SELECT is_aggregate('kpi', 'funnel_agg', ARRAY['anyelement', 'timestamp with time zone', 'interval', 'text', 'boolean[]'],
                    'kpi.funnel_agg(entity, ts, window, mode, VARIADIC steps) is an aggregate');
SELECT function_returns('kpi', 'funnel_agg', ARRAY['anyelement', 'timestamp with time zone', 'interval', 'boolean[]'], 'kpi.funnel_state');
SELECT function_returns('kpi', 'funnel_agg', ARRAY['anyelement', 'timestamp with time zone', 'interval', 'text', 'boolean[]'], 'kpi.funnel_state');
SELECT is_aggregate('kpi', 'rollup', ARRAY['kpi.funnel_state'], 'kpi.rollup(kpi.funnel_state) is an aggregate');
SELECT function_returns('kpi', 'rollup', ARRAY['kpi.funnel_state'], 'kpi.funnel_state');
SELECT ok((SELECT bool_and(provariadic = 'boolean'::regtype) FROM pg_proc
           WHERE pronamespace = 'kpi'::regnamespace AND proname IN ('window_funnel', 'funnel', 'funnel_agg') AND prokind = 'a'
             AND provariadic <> 0),
          'the steps of every VARIADIC funnel aggregate are boolean');
-- Each of the six VARIADIC aggregates has overloads taking 2 to 8 steps
-- as separate booleans (PostgreSQL prefers them for such calls).
SELECT results_eq(
    $$SELECT proname::text COLLATE "default", 'text'::regtype = ANY (proargtypes::oid[]), array_agg(nsteps ORDER BY nsteps)
      FROM (SELECT proname, proargtypes,
                   (SELECT count(*) FROM unnest(proargtypes::oid[]) t WHERE t = 'boolean'::regtype) AS nsteps
            FROM pg_proc
            WHERE pronamespace = 'kpi'::regnamespace AND proname IN ('window_funnel', 'funnel', 'funnel_agg')
              AND prokind = 'a' AND provariadic = 0) a
      GROUP BY 1, 2 ORDER BY 1, 2$$,
    $$VALUES ('funnel', false, '{2,3,4,5,6,7,8}'::bigint[]), ('funnel', true, '{2,3,4,5,6,7,8}'),
             ('funnel_agg', false, '{2,3,4,5,6,7,8}'), ('funnel_agg', true, '{2,3,4,5,6,7,8}'),
             ('window_funnel', false, '{2,3,4,5,6,7,8}'), ('window_funnel', true, '{2,3,4,5,6,7,8}')$$,
    'the funnel aggregates take 2 to 8 steps as separate booleans too');

-- Accessors.
SELECT isnt_aggregate('kpi', 'funnel', ARRAY['kpi.funnel_state'], 'kpi.funnel(kpi.funnel_state) is an accessor function');
SELECT function_returns('kpi', 'funnel', ARRAY['kpi.funnel_state'], 'bigint[]');
SELECT function_returns('kpi', 'funnel_steps', ARRAY['kpi.funnel_state'], 'setof record');
SELECT is((SELECT array_agg(n || ' ' || format_type(t, NULL) ORDER BY o)
           FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY a(n, t, m, o)
           WHERE p.oid = 'kpi.funnel_steps(kpi.funnel_state)'::regprocedure AND m = 't'),
          ARRAY['step integer', 'entities bigint', 'conversion_from_previous double precision',
                'conversion_from_first double precision', 'median_time_to_step interval'],
          'kpi.funnel_steps returns TABLE(step, entities, conversion_from_previous, conversion_from_first, median_time_to_step)');
SELECT function_returns('kpi', 'conversion_rate', ARRAY['kpi.funnel_state'], 'double precision');
SELECT volatility_is('kpi', f, ARRAY['kpi.funnel_state'], 'immutable', 'kpi.' || f || '(kpi.funnel_state) is immutable')
FROM unnest(ARRAY['funnel', 'funnel_steps', 'conversion_rate']) f;
SELECT is_strict('kpi', f, ARRAY['kpi.funnel_state'], 'kpi.' || f || '(kpi.funnel_state) is strict')
FROM unnest(ARRAY['funnel', 'funnel_steps', 'conversion_rate']) f;

-- Every funnel aggregate is parallel safe and has a combine function;
-- every funnel function is parallel safe, immutable and strict.
SELECT ok(a.aggcombinefn <> 0 AND p.proparallel = 's', p.oid::regprocedure || ' is parallel safe with a combine function')
FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = 'kpi'::regnamespace
  AND (p.proname IN ('window_funnel', 'funnel', 'funnel_agg')
       OR p.proname = 'rollup' AND p.proargtypes[0] = 'kpi.funnel_state'::regtype)
ORDER BY p.oid::regprocedure::text;
SELECT is(array_agg(p.oid::regprocedure::text ORDER BY 1), NULL,
          'every funnel function but the transitions of listed steps is parallel safe, immutable and strict')
FROM pg_proc p
WHERE p.pronamespace = 'kpi'::regnamespace AND p.prokind = 'f'
  AND (p.proname LIKE '%funnel%' OR p.proname = 'conversion_rate') AND p.prosrc NOT LIKE '%\_list'
  AND NOT (p.proparallel = 's' AND p.provolatile = 'i' AND p.proisstrict);
-- The transitions taking one boolean per step are not strict, so that a
-- NULL condition is false; they skip NULL entities, timestamps, windows
-- and modes themselves, and give NULL for a NULL state.
SELECT is(count(*) FILTER (WHERE p.proparallel = 's' AND p.provolatile = 'i' AND NOT p.proisstrict), 28::bigint,
          'the 28 transitions of listed steps are parallel safe, immutable and not strict')
FROM pg_proc p
WHERE p.pronamespace = 'kpi'::regnamespace AND p.prokind = 'f' AND p.prosrc LIKE '%\_list';
SELECT is(kpi.funnel_accum(NULL::kpi.funnel_state, 1, now(), '1 h', true, true)::text, NULL,
          'a listed-steps transition gives NULL for a NULL state');
SELECT is(kpi.funnel_accum('(v:1,steps:0,window:0,modes:[],keys:none,events:[])', NULL::int, now(), '1 h', true, true)::text,
          '(v:1,steps:0,window:0,modes:[],keys:none,events:[])', 'a listed-steps transition skips a NULL entity');
SELECT is(kpi.window_funnel_accum('(v:1,steps:0,window:0,modes:[],keys:none,events:[])', '1 h', NULL::timestamptz, true, true)::text,
          '(v:1,steps:0,window:0,modes:[],keys:none,events:[])', 'a listed-steps transition skips a NULL timestamp');
SELECT is(kpi.window_funnel_accum('(v:1,steps:0,window:0,modes:[],keys:none,events:[])', '1 h', NULL::text, now(), true, true)::text,
          '(v:1,steps:0,window:0,modes:[],keys:none,events:[])', 'a listed-steps transition skips a NULL mode');
SELECT is(kpi.funnel_accum('(v:1,steps:0,window:0,modes:[],keys:none,events:[])', 7, '2025-01-01 00:00:00+00', '1 s', NULL, true)::text,
          '(v:1,steps:2,window:1000000,modes:[],keys:int,events:[(7,789004800000000,2)])',
          'a listed-steps transition takes a NULL condition as false');

-- Values (worked out in sql/funnel.sql).
SELECT is(kpi.window_funnel('10 s', ts, s = 1, s = 2, s = 3), 3, 'steps exactly window apart count')
FROM (VALUES (timestamptz '2025-01-01 00:00:00+00', 1), ('2025-01-01 00:00:05+00', 2), ('2025-01-01 00:00:10+00', 3)) t(ts, s);
SELECT is(kpi.window_funnel('10 s', ts, s = 1, s = 2, s = 3), 2, 'one microsecond more does not')
FROM (VALUES (timestamptz '2025-01-01 00:00:00+00', 1), ('2025-01-01 00:00:05+00', 2), ('2025-01-01 00:00:10.000001+00', 3)) t(ts, s);
SELECT is(kpi.window_funnel('10 s', 'strict_order', ts, s = 1, s = 2), 1, 'strict_order: a row matching nothing ends the scan')
FROM (VALUES (timestamptz '2025-01-01 00:00:00+00', 1), ('2025-01-01 00:00:01+00', 0), ('2025-01-01 00:00:02+00', 2)) t(ts, s);
SELECT is(kpi.window_funnel('1 h', ts, s = 1) , NULL, 'kpi.window_funnel of no rows is NULL')
FROM (VALUES (now(), 1)) t(ts, s) WHERE false;
SELECT is(kpi.funnel(e, ts, '1 h', s = 1, s = 2), '{2,1}'::bigint[], 'kpi.funnel counts entities per step')
FROM (VALUES ('a', timestamptz '2025-01-01 00:00:00+00', 1), ('a', '2025-01-01 00:30:00+00', 2),
             ('b', '2025-01-01 00:00:00+00', 1), ('b', '2025-01-01 02:00:00+00', 2)) t(e, ts, s);
SELECT is(kpi.funnel(e, ts, '1 h', s = 1, s = 2), NULL, 'kpi.funnel of no rows is NULL')
FROM (VALUES (1, now(), 1)) t(e, ts, s) WHERE false;
SELECT results_eq(
    $$SELECT * FROM kpi.funnel_steps((SELECT kpi.funnel_agg(e, ts, '1 h', s = 1, s = 2)
      FROM (VALUES (1, timestamptz '2025-01-01 00:00:00+00', 1), (1, '2025-01-01 00:30:00+00', 2),
                   (2, '2025-01-01 00:00:00+00', 1)) t(e, ts, s)))$$,
    $$VALUES (1, 2::bigint, NULL::float8, 1::float8, interval '0'), (2, 1, 0.5, 0.5, interval '30 min')$$,
    'kpi.funnel_steps: entities, conversions and median times');
SELECT is(kpi.conversion_rate(kpi.funnel_agg(e, ts, '1 h', s = 1, s = 2)), 0.5::float8, 'kpi.conversion_rate: last step / first')
FROM (VALUES (1, timestamptz '2025-01-01 00:00:00+00', 1), (1, '2025-01-01 00:30:00+00', 2),
             (2, '2025-01-01 00:00:00+00', 1)) t(e, ts, s);

-- Error codes.
SELECT throws_ok($$SELECT kpi.window_funnel('-1 s', now(), true)$$, '22023', NULL, 'a negative window is 22023');
SELECT throws_ok($$SELECT kpi.funnel(1, now(), '1 h', VARIADIC array_fill(true, ARRAY[33]))$$, '22023', NULL,
                 'more than 32 steps is 22023');
SELECT throws_ok($$SELECT kpi.window_funnel('1 h', 'strict_order,foo', now(), true)$$, '22023', NULL, 'an unknown mode is 22023');
SELECT throws_ok($$SELECT kpi.window_funnel('1 h', 'strict', now(), true)$$, '22023', NULL,
                 'ClickHouse''s old mode "strict" is 22023');
SELECT throws_ok($$SELECT kpi.window_funnel('1 h', 'strict_order,', now(), true)$$, '22023', NULL,
                 'an empty mode entry is 22023');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1, now(), '1 h', true)
                   UNION ALL SELECT kpi.funnel_agg(1, now(), '2 h', true)) u(s)$$, '22023', NULL,
                 'combining states with different windows is 22023');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1, now(), '1 h', true)
                   UNION ALL SELECT kpi.funnel_agg(1, now(), '1 h', true, true)) u(s)$$, '22023', NULL,
                 'combining states with different steps is 22023');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1, now(), '1 h', true)
                   UNION ALL SELECT kpi.funnel_agg(1, now(), '1 h', 'strict_once', true)) u(s)$$, '22023', NULL,
                 'combining states with different modes is 22023');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1::bigint, now(), '1 h', true)
                   UNION ALL SELECT kpi.funnel_agg('1'::text, now(), '1 h', true)) u(s)$$, '22023',
                 'cannot combine kpi.funnel_state values with different parameters',
                 'combining states of integer and of hashed entity keys is 22023');
SELECT throws_ok($$SELECT kpi.window_funnel(w, now(), true) FROM (VALUES (interval '1 h'), ('2 h')) v(w)$$, '22023', NULL,
                 'a window that changes between rows is 22023');
SELECT throws_ok($$SELECT kpi.funnel(p, now(), '1 h', true) FROM (VALUES (point(1, 2))) v(p)$$, '42883', NULL,
                 'an entity type without a hash function is 42883');
SELECT throws_ok($$SELECT 'garbage'::kpi.funnel_state$$, '22P02', NULL, 'malformed state text is 22P02');
SELECT throws_ok($$SELECT '(v:1,steps:2,window:60,modes:[],keys:int,events:[(1,5,4)])'::kpi.funnel_state$$, '22P02', NULL,
                 'a state event naming a step beyond the funnel is 22P02');
SELECT throws_ok($$SELECT '(v:2,steps:0,window:0,modes:[],keys:none,events:[])'::kpi.funnel_state$$, '0A000', NULL,
                 'an unknown state version is 0A000');
SELECT lives_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.funnel_agg(1, now(), '1 h', 'strict_once', true)
                  UNION ALL SELECT '(v:1,steps:0,window:0,modes:[],keys:none,events:[])') u(s)$$,
                'a blank state combines with any state');

SELECT * FROM finish();
ROLLBACK;
