-- test/pgtap/clv.sql: the SQL contract of the CLV KPI (kpi.rfm,
-- kpi.clv_fit_state, kpi.clv_model, kpi.clv_state and their functions).
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS kpi;
SELECT plan(172);

-- State types and their I/O functions.
SELECT has_type('kpi', t, 'type kpi.' || t || ' exists')
FROM unnest(ARRAY['rfm', 'clv_fit_state', 'clv_model', 'clv_state']) t;
SELECT has_function('kpi', t || f, ARRAY[CASE WHEN f IN ('_in') THEN 'cstring'
                                           WHEN f = '_recv' THEN 'internal' ELSE 'kpi.' || t END])
FROM unnest(ARRAY['rfm', 'clv_fit_state', 'clv_model', 'clv_state']) t,
     unnest(ARRAY['_in', '_out', '_recv', '_send']) f;

-- Aggregates and what they return.
CREATE TEMP TABLE aggs (name, args, ret) AS VALUES
    ('rfm_agg', ARRAY['timestamp with time zone', 'numeric', 'timestamp with time zone'], 'kpi.rfm'),
    ('rfm_agg', ARRAY['date', 'numeric', 'date'], 'kpi.rfm'),
    ('rfm_agg', ARRAY['timestamp with time zone', 'numeric', 'date'], 'kpi.rfm'),
    ('rollup', ARRAY['kpi.rfm'], 'kpi.rfm'),
    ('clv_fit', ARRAY['kpi.rfm'], 'kpi.clv_model'),
    ('clv_fit_agg', ARRAY['kpi.rfm'], 'kpi.clv_fit_state'),
    ('rollup', ARRAY['kpi.clv_fit_state'], 'kpi.clv_fit_state'),
    ('clv_fit', ARRAY['anyelement', 'timestamp with time zone', 'numeric', 'timestamp with time zone'], 'kpi.clv_model'),
    ('clv_fit', ARRAY['anyelement', 'date', 'numeric', 'date'], 'kpi.clv_model'),
    ('clv_fit', ARRAY['anyelement', 'timestamp with time zone', 'numeric', 'date'], 'kpi.clv_model'),
    ('clv_agg', ARRAY['anyelement', 'timestamp with time zone', 'numeric'], 'kpi.clv_state'),
    ('clv_agg', ARRAY['anyelement', 'date', 'numeric'], 'kpi.clv_state'),
    ('clv_agg', ARRAY['anyelement', 'timestamp with time zone', 'numeric', 'timestamp with time zone'], 'kpi.clv_state'),
    ('clv_agg', ARRAY['anyelement', 'date', 'numeric', 'date'], 'kpi.clv_state'),
    ('clv_agg', ARRAY['anyelement', 'timestamp with time zone', 'numeric', 'date'], 'kpi.clv_state'),
    ('rollup', ARRAY['kpi.clv_state'], 'kpi.clv_state'),
    ('clv_estimate', ARRAY['anyelement', 'timestamp with time zone', 'numeric'], 'numeric'),
    ('clv_estimate', ARRAY['anyelement', 'date', 'numeric'], 'numeric'),
    ('clv_estimate', ARRAY['anyelement', 'timestamp with time zone', 'numeric', 'interval'], 'numeric'),
    ('clv_estimate', ARRAY['anyelement', 'date', 'numeric', 'interval'], 'numeric'),
    ('clv_estimate', ARRAY['anyelement', 'timestamp with time zone', 'numeric', 'interval', 'timestamp with time zone'], 'numeric'),
    ('clv_estimate', ARRAY['anyelement', 'date', 'numeric', 'interval', 'date'], 'numeric'),
    ('clv_estimate', ARRAY['anyelement', 'timestamp with time zone', 'numeric', 'interval', 'date'], 'numeric'),
    ('clv_simple', ARRAY['anyelement', 'timestamp with time zone', 'numeric', 'interval'], 'numeric'),
    ('clv_simple', ARRAY['anyelement', 'date', 'numeric', 'interval'], 'numeric');
SELECT is_aggregate('kpi', name, args, 'kpi.' || name || '(' || array_to_string(args, ', ') || ') is an aggregate')
FROM aggs;
SELECT function_returns('kpi', name, args, ret) FROM aggs;

-- Accessors and per-customer functions: not aggregates, immutable, strict.
CREATE TEMP TABLE funcs (name, args, ret) AS VALUES
    ('rfm_frequency', ARRAY['kpi.rfm'], 'integer'),
    ('rfm_recency', ARRAY['kpi.rfm'], 'double precision'),
    ('rfm_age', ARRAY['kpi.rfm'], 'double precision'),
    ('rfm_monetary_value', ARRAY['kpi.rfm'], 'numeric'),
    ('rfm_first_purchase', ARRAY['kpi.rfm'], 'date'),
    ('rfm_last_purchase', ARRAY['kpi.rfm'], 'date'),
    ('rfm_observed_until', ARRAY['kpi.rfm'], 'date'),
    ('clv_fit', ARRAY['kpi.clv_fit_state'], 'kpi.clv_model'),
    ('clv_fit', ARRAY['kpi.clv_state'], 'kpi.clv_model'),
    ('clv_params', ARRAY['kpi.clv_model'], 'record'),
    ('p_alive', ARRAY['kpi.clv_model', 'kpi.rfm'], 'double precision'),
    ('expected_orders', ARRAY['kpi.clv_model', 'kpi.rfm', 'interval'], 'double precision'),
    ('expected_order_value', ARRAY['kpi.clv_model', 'kpi.rfm'], 'double precision'),
    ('clv', ARRAY['kpi.clv_model', 'kpi.rfm', 'interval', 'double precision'], 'double precision'),
    ('clv_estimate', ARRAY['kpi.clv_state'], 'numeric'),
    ('clv_estimate', ARRAY['kpi.clv_state', 'interval'], 'numeric'),
    ('clv_simple', ARRAY['kpi.clv_state', 'interval'], 'numeric');
SELECT isnt_aggregate('kpi', name, args, 'kpi.' || name || '(' || array_to_string(args, ', ') || ') is a function')
FROM funcs;
SELECT function_returns('kpi', name, args, ret) FROM funcs;
SELECT volatility_is('kpi', name, args, 'immutable', 'kpi.' || name || ' is immutable') FROM funcs;
SELECT is_strict('kpi', name, args, 'kpi.' || name || ' is strict') FROM funcs;

-- Every CLV aggregate is parallel safe with a combine function and a final
-- function (canonical states, or the fit and the estimates).
SELECT is(count(*) FILTER (WHERE a.aggcombinefn <> 0 AND a.aggfinalfn <> 0 AND p.proparallel = 's'), count(*),
          'all ' || count(*) || ' CLV aggregates are parallel safe with combine and final functions')
FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
WHERE p.pronamespace = 'kpi'::regnamespace
  AND (p.proname IN ('rfm_agg', 'clv_fit', 'clv_fit_agg', 'clv_agg', 'clv_estimate', 'clv_simple')
       OR (p.proname = 'rollup'
           AND p.proargtypes[0] IN ('kpi.rfm'::regtype, 'kpi.clv_fit_state'::regtype, 'kpi.clv_state'::regtype)));

-- Values worked out by hand: orders on 2024-01-01 (10 + 5), 2024-01-15
-- (20), 2024-02-12 (30), 2024-05-01 (after the end), observed until
-- 2024-03-31: x = 2, t_x = 42 days = 6 weeks, T = 90 days, m = 25.
CREATE TEMP TABLE hand AS
SELECT kpi.rfm_agg(d, a, date '2024-03-31') AS rfm
FROM (VALUES (date '2024-01-01', 10.00), ('2024-01-01', 5), ('2024-01-15', 20), ('2024-02-12', 30.00),
             ('2024-05-01', 1000)) o(d, a);
SELECT is(kpi.rfm_frequency(rfm), 2, 'x counts the repeat purchase days') FROM hand;
SELECT is(kpi.rfm_recency(rfm), 6.0::float8, 't_x is 6 weeks') FROM hand;
SELECT is(kpi.rfm_age(rfm), 90 / 7.0::float8, 'T is 90 days in weeks') FROM hand;
SELECT is(kpi.rfm_monetary_value(rfm), 25::numeric, 'm is the mean of the repeat days') FROM hand;
SELECT is(kpi.rfm_first_purchase(rfm), date '2024-01-01', 'first purchase day') FROM hand;
SELECT is(kpi.rfm_last_purchase(rfm), date '2024-02-12', 'last purchase day up to observed_until') FROM hand;
SELECT is(kpi.rfm_observed_until(rfm), date '2024-03-31', 'observed_until') FROM hand;
SELECT results_eq(
    $$SELECT r, alpha, a, b, p, q, gamma, customers, repeat_customers, loglik_bgnbd, loglik_gg
      FROM kpi.clv_params('(v:1,r:0.243,alpha:4.414,a:0.793,b:2.426,p:6.25,q:3.74,gamma:15.44,customers:2357,repeat_customers:946,loglik_bgnbd:-9582.4,loglik_gg:-4055.9)')$$,
    $$VALUES (0.243::float8, 4.414::float8, 0.793::float8, 2.426::float8, 6.25::float8, 3.74::float8,
              15.44::float8, 2357::bigint, 946::bigint, -9582.4::float8, -4055.9::float8)$$,
    'kpi.clv_params returns the model''s fields in order');
SELECT is(kpi.p_alive(NULL::kpi.clv_model, rfm), NULL, 'a NULL model gives NULL predictions') FROM hand;
SELECT ok(kpi.clv_fit(rfm) IS NULL, 'one customer cannot identify the model: NULL, no error') FROM hand;
SELECT is(kpi.clv_estimate(c, d, a), NULL, 'too few customers give a NULL estimate')
FROM (VALUES (1, date '2024-01-01', 10.0), (2, '2024-01-02', 20)) o(c, d, a);
SELECT is(kpi.clv_simple(c, d, a, '365 days'), 15.0::numeric,
          'textbook CLV: revenue 30 of 2 customers over 365 days, for a lifespan of 365 days')
FROM (VALUES (1, date '2024-01-01', 10.0), (2, '2024-12-30', 20)) o(c, d, a);
SELECT is(kpi.clv_estimate(c, d, a), NULL, 'no rows: NULL') FROM (VALUES (1, date '2024-01-01', 1.0)) o(c, d, a) WHERE false;

-- Error codes.
SELECT throws_ok($$SELECT kpi.rfm_agg(d, 1, d) FROM (VALUES (date '2024-01-01'), ('2024-01-02')) o(d)$$,
                 '22023', NULL, 'observed_until differing between rows is 22023');
SELECT throws_ok($$SELECT kpi.rfm_agg(date '2024-01-01', 'NaN', date '2024-02-01')$$,
                 '22023', NULL, 'a NaN amount is 22023');
SELECT throws_ok($$SELECT kpi.rfm_agg(date '2024-01-01', 1e-39, date '2024-02-01')$$,
                 '22023', NULL, 'an amount with more than 38 decimal places is 22023');
SELECT throws_ok($$SELECT kpi.rfm_agg(date '2024-01-01', 1e39, date '2024-02-01')$$,
                 '22003', NULL, 'an amount beyond 38 significant digits is 22003');
SELECT throws_ok($$SELECT kpi.rfm_agg(timestamptz 'infinity', 1, date '2024-02-01')$$,
                 '22008', NULL, 'an infinite ordered_at is 22008');
SELECT throws_ok($$SELECT kpi.rollup(r) FROM (SELECT kpi.rfm_agg(date '2024-01-01', 1, date '2024-02-01')
                                            UNION ALL SELECT kpi.rfm_agg(date '2024-01-01', 1, date '2024-03-01')) s(r)$$,
                 '22023', NULL, 'combining summaries of different observed_until is 22023');
SELECT throws_ok($$SELECT kpi.clv(m, rfm, '1 year 1 day', 0.01)
                   FROM hand, (SELECT '(v:1,r:0.243,alpha:4.414,a:0.793,b:2.426,p:6.25,q:3.74,gamma:15.44,customers:2357,repeat_customers:946,loglik_bgnbd:-9582.4,loglik_gg:-4055.9)'::kpi.clv_model AS m) s$$,
                 '22023', NULL, 'a horizon that is not whole months is 22023');
SELECT throws_ok($$SELECT kpi.clv(m, rfm, '1 year', -1.5)
                   FROM hand, (SELECT '(v:1,r:0.243,alpha:4.414,a:0.793,b:2.426,p:6.25,q:3.74,gamma:15.44,customers:2357,repeat_customers:946,loglik_bgnbd:-9582.4,loglik_gg:-4055.9)'::kpi.clv_model AS m) s$$,
                 '22023', NULL, 'a discount rate not above -1 is 22023');
SELECT throws_ok($$SELECT kpi.expected_orders(m, rfm, '-2 weeks')
                   FROM hand, (SELECT '(v:1,r:0.243,alpha:4.414,a:0.793,b:2.426,p:6.25,q:3.74,gamma:15.44,customers:2357,repeat_customers:946,loglik_bgnbd:-9582.4,loglik_gg:-4055.9)'::kpi.clv_model AS m) s$$,
                 '22023', NULL, 'a negative horizon is 22023');
SELECT throws_ok($$SELECT kpi.clv_simple(1, date '2024-01-01', 1, '-1 day')$$,
                 '22023', NULL, 'a negative lifespan is 22023');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.clv_agg(1, date '2024-01-01', 1)
                                            UNION ALL SELECT kpi.clv_agg('a'::text, date '2024-01-01', 1)) t(s)$$,
                 '22023', NULL, 'combining integer-id and hashed-id states is 22023');
SELECT throws_ok($$SELECT kpi.clv_agg(point(1, 1), date '2024-01-01', 1)$$,
                 '42883', NULL, 'customer ids without a hash function are 42883');
SELECT throws_ok($$SELECT 'garbage'::kpi.rfm$$, '22P02', NULL, 'malformed kpi.rfm text is 22P02');
SELECT throws_ok($$SELECT '(v:1,rows:[(0,1,2,0,1)])'::kpi.clv_fit_state$$, '22P02', NULL,
                 'an inconsistent kpi.clv_fit_state row is 22P02');
SELECT throws_ok($$SELECT '(v:1,r:1)'::kpi.clv_model$$, '22P02', NULL, 'an incomplete kpi.clv_model is 22P02');
SELECT throws_ok($$SELECT '(v:1,keys:int,orders:0)'::kpi.clv_state$$, '22P02', NULL,
                 'a kpi.clv_state without days is 22P02');
SELECT throws_ok('SELECT ''(v:2)''::kpi.' || t, '0A000', NULL, 'an unknown kpi.' || t || ' version is 0A000')
FROM unnest(ARRAY['rfm', 'clv_fit_state', 'clv_model', 'clv_state']) t;

SELECT * FROM finish();
ROLLBACK;
