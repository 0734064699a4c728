-- test/pgtap/retention.sql: the SQL contract of the customer-set KPIs.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS kpi;
SELECT plan(48);

SELECT has_type('kpi', t, 'type kpi.' || t || ' exists')
FROM unnest(ARRAY['retention_state', 'cohort_state', 'repeat_state', 'aov_lines_state']) t;

SELECT is_aggregate('kpi', 'retention_rate', ARRAY['anyelement', 'timestamp with time zone', 'timestamp with time zone']);
SELECT is_aggregate('kpi', 'retention_rate', ARRAY['anyelement', 'timestamp with time zone', 'timestamp with time zone', 'interval']);
SELECT function_returns('kpi', 'retention_rate', ARRAY['anyelement', 'timestamp with time zone', 'timestamp with time zone'], 'double precision');
SELECT function_returns('kpi', 'retention_agg', ARRAY['anyelement', 'timestamp with time zone', 'timestamp with time zone'], 'kpi.retention_state');
SELECT function_returns('kpi', 'retention_agg', ARRAY['anyelement', 'timestamp with time zone', 'timestamp with time zone', 'interval'], 'kpi.retention_state');
SELECT is_aggregate('kpi', 'cohort_agg', ARRAY['anyelement', 'timestamp with time zone', 'text']);
SELECT is_aggregate('kpi', 'cohort_agg', ARRAY['anyelement', 'timestamp without time zone', 'text']);
SELECT function_returns('kpi', 'cohort_agg', ARRAY['anyelement', 'timestamp with time zone', 'text'], 'kpi.cohort_state');
SELECT has_function('kpi', 'cohorts', ARRAY['kpi.cohort_state']);
SELECT is_aggregate('kpi', f, ARRAY['anyelement'], 'kpi.' || f || '(anyelement) is an aggregate')
FROM unnest(ARRAY['repeat_rate', 'purchase_frequency', 'repeat_agg']) f;
SELECT is_aggregate('kpi', f, ARRAY['anyelement', 'anycompatible'], 'kpi.' || f || '(anyelement, anycompatible) is an aggregate')
FROM unnest(ARRAY['repeat_rate', 'purchase_frequency', 'repeat_agg']) f;
SELECT is_aggregate('kpi', 'aov', ARRAY['numeric', 'anyelement']);
SELECT function_returns('kpi', 'aov', ARRAY['numeric', 'anyelement'], 'numeric');
SELECT function_returns('kpi', 'aov_agg', ARRAY['numeric', 'anyelement'], 'kpi.aov_lines_state');
SELECT is_aggregate('kpi', 'rollup', ARRAY['kpi.' || t], 'kpi.rollup(kpi.' || t || ') is an aggregate')
FROM unnest(ARRAY['retention_state', 'cohort_state', 'repeat_state', 'aov_lines_state']) t;

-- accessors: immutable, strict functions
SELECT volatility_is('kpi', f, ARRAY['kpi.retention_state'], 'immutable', 'kpi.' || f || ' is immutable')
FROM unnest(ARRAY['retention_rate', 'churn_rate', 'base_customers', 'retained_customers', 'churned_customers', 'new_customers']) f;
SELECT is_strict('kpi', f, ARRAY['kpi.repeat_state'], 'kpi.' || f || ' is strict')
FROM unnest(ARRAY['repeat_rate', 'purchase_frequency', 'repeat_customers']) f;
SELECT is_strict('kpi', 'cohorts', ARRAY['kpi.cohort_state'], 'kpi.cohorts is strict');
SELECT isnt_aggregate('kpi', 'aov', ARRAY['kpi.aov_lines_state'], 'kpi.aov(kpi.aov_lines_state) is an accessor');
SELECT function_returns('kpi', 'aov_count', ARRAY['kpi.aov_lines_state'], 'bigint');

-- values
SELECT is(kpi.retention_rate(c, t, '2025-01-02'), 0.5::float8, 'one of two customers came back')
FROM (VALUES (1, timestamptz '2025-01-01'), (2, '2025-01-01'), (1, '2025-01-03')) v(c, t);
SELECT is(kpi.retention_rate(c, t, '2025-01-02'), NULL, 'no rows: NULL')
FROM (VALUES (1, timestamptz '2025-01-01')) v(c, t) WHERE false;

-- error codes
SELECT throws_ok($$SELECT kpi.cohort_agg(1, now(), 'fortnight')$$, '22023', NULL, 'an unknown period is 22023');
SELECT throws_ok($$SELECT kpi.cohort_agg(1, 'infinity'::timestamptz, 'day')$$, '22008', NULL, 'an infinite timestamp is 22008');
SELECT throws_ok($$SELECT kpi.retention_rate(1, now(), now(), interval '-1 month')$$, '22023', NULL,
                 'a negative retention period is 22023');
SELECT throws_ok($$SELECT kpi.rollup(s) FROM (SELECT kpi.repeat_agg(1) UNION ALL SELECT kpi.repeat_agg('a'::text)) t(s)$$,
                 '22023', NULL, 'combining states of different id kinds is 22023');
SELECT throws_ok($$SELECT 'garbage'::kpi.cohort_state$$, '22P02', NULL, 'malformed state text is 22P02');
SELECT throws_ok($$SELECT '(v:9,kind:none,n:0,customers:[])'::kpi.retention_state$$, '0A000', NULL,
                 'an unknown state version is 0A000');
SELECT throws_ok($$SELECT kpi.repeat_rate(point '(1,1)')$$, '42883', NULL, 'ids without a hash function are 42883');
SELECT throws_ok($$SELECT kpi.aov(x, 1) FROM (VALUES (1e30), (1e-9)) t(x)$$, '22003', NULL,
                 'a line sum beyond 38 significant digits is 22003');

SELECT * FROM finish();
ROLLBACK;
