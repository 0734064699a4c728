-- test/pgtap/aov.sql: the SQL contract of kpi.aov and kpi.aov_state.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS kpi;
SELECT plan(61);

-- The state type and its I/O functions.
SELECT has_type('kpi', 'aov_state', 'type kpi.aov_state exists');
SELECT has_function('kpi', 'aov_state_in', ARRAY['cstring']);
SELECT has_function('kpi', 'aov_state_out', ARRAY['kpi.aov_state']);
SELECT has_function('kpi', 'aov_state_recv', ARRAY['internal']);
SELECT has_function('kpi', 'aov_state_send', ARRAY['kpi.aov_state']);

-- One-step aggregates and their return types.
SELECT is_aggregate('kpi', 'aov', ARRAY[t], 'kpi.aov(' || t || ') is an aggregate')
FROM unnest(ARRAY['numeric', 'bigint', 'integer', 'double precision']) t;
SELECT function_returns('kpi', 'aov', ARRAY['numeric'], 'numeric');
SELECT function_returns('kpi', 'aov', ARRAY['bigint'], 'numeric');
SELECT function_returns('kpi', 'aov', ARRAY['integer'], 'numeric');
SELECT function_returns('kpi', 'aov', ARRAY['double precision'], 'double precision');

-- Two-step: partial aggregates, rollup, accessors.
SELECT is_aggregate('kpi', 'aov_agg', ARRAY[t], 'kpi.aov_agg(' || t || ') is an aggregate')
FROM unnest(ARRAY['numeric', 'bigint', 'integer', 'double precision']) t;
SELECT function_returns('kpi', 'aov_agg', ARRAY[t], 'kpi.aov_state')
FROM unnest(ARRAY['numeric', 'bigint', 'integer', 'double precision']) t;
SELECT is_aggregate('kpi', 'rollup', ARRAY['kpi.aov_state'], 'kpi.rollup(kpi.aov_state) is an aggregate');
SELECT function_returns('kpi', 'rollup', ARRAY['kpi.aov_state'], 'kpi.aov_state');
SELECT isnt_aggregate('kpi', 'aov', ARRAY['kpi.aov_state'], 'kpi.aov(kpi.aov_state) is an accessor function');
SELECT function_returns('kpi', 'aov', ARRAY['kpi.aov_state'], 'numeric');
SELECT function_returns('kpi', 'aov_float8', ARRAY['kpi.aov_state'], 'double precision');
SELECT function_returns('kpi', 'aov_count', ARRAY['kpi.aov_state'], 'bigint');

-- Accessors are immutable and strict.
SELECT volatility_is('kpi', f, ARRAY['kpi.aov_state'], 'immutable', 'kpi.' || f || ' is immutable')
FROM unnest(ARRAY['aov', 'aov_float8', 'aov_count']) f;
SELECT is_strict('kpi', f, ARRAY['kpi.aov_state'], 'kpi.' || f || ' is strict')
FROM unnest(ARRAY['aov', 'aov_float8', 'aov_count']) f;

-- Every aggregate is parallel safe and has a combine function (those over
-- kpi.aov_state: other KPIs have kpi.rollup overloads of their own).
SELECT ok(a.aggcombinefn <> 0 AND p.proparallel = 's', p.oid::regprocedure || ' is parallel safe with a combine function')
FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = 'kpi'::regnamespace AND p.proname IN ('aov', 'aov_agg', 'rollup')
  AND a.aggtranstype = 'kpi.aov_state'::regtype
ORDER BY p.oid::regprocedure::text;
-- Moving-aggregate support: every one-step and partial aggregate has an inverse.
SELECT ok(a.aggminvtransfn <> 0, p.oid::regprocedure || ' has an inverse transition')
FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = 'kpi'::regnamespace AND p.proname IN ('aov', 'aov_agg')
  AND a.aggtranstype = 'kpi.aov_state'::regtype
ORDER BY p.oid::regprocedure::text;

-- Values.
SELECT is(kpi.aov(x), 20.25, 'kpi.aov skips NULLs: (10 + 20.5 + 30.25) / 3')
FROM (VALUES (10.00), (NULL), (20.50), (30.25)) t(x);
SELECT is(kpi.aov(x), NULL, 'kpi.aov of no rows is NULL') FROM (VALUES (1.0)) t(x) WHERE false;
SELECT is(kpi.aov_count(kpi.aov_agg(x)), 0::bigint, 'an empty partial state counts 0')
FROM (VALUES (1.0)) t(x) WHERE false;

-- Error codes.
SELECT throws_ok($$SELECT 'garbage'::kpi.aov_state$$, '22P02', NULL, 'malformed state text is 22P02');
SELECT throws_ok($$SELECT '(v:1,kind:numeric,n:1,sum:1,max_scale_count:1,nan:0,pinf:0)'::kpi.aov_state$$,
                 '22P02', NULL, 'a state missing a field is 22P02');
SELECT throws_ok($$SELECT '(v:9,n:0)'::kpi.aov_state$$, '0A000', NULL, 'an unknown state version is 0A000');
SELECT is((SELECT kpi.aov(x)::text FROM (VALUES (1e30), (1e-9)) t(x)),
          (SELECT avg(x)::text FROM (VALUES (1e30), (1e-9)) t(x)),
          'a numeric sum beyond 38 significant digits stays exact: kpi.aov = avg');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (VALUES
                     ('(v:1,kind:numeric,n:2305843009213693951,sum:0,max_scale_count:2305843009213693951,nan:0,pinf:0,ninf:0)'::kpi.aov_state),
                     ('(v:1,kind:numeric,n:1,sum:10000000000000000000000000000000000000000,max_scale_count:1,nan:0,pinf:0,ninf:0)')) t(s)$$, '22003', NULL,
                 'a count past its ceiling is 22003, also beside a wide sum');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.aov_agg(1.5) UNION ALL SELECT kpi.aov_agg(1.5::float8)) t(s)$$,
                 '22023', NULL, 'combining numeric and float8 states is 22023');
SELECT throws_ok($$SELECT kpi.aov(x) FROM (VALUES (1e308::float8), (1e308)) t(x)$$, '22003', NULL,
                 'a float8 sum beyond double range is 22003');
SELECT lives_ok($$SELECT kpi.aov(x) FROM (VALUES (9223372036854775807::bigint), (9223372036854775807)) t(x)$$,
                'a bigint sum past 2^63 keeps working');

SELECT * FROM finish();
ROLLBACK;
