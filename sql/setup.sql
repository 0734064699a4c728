-- setup: install kpi and check catalog properties every later test relies on.
CREATE EXTENSION kpi;
SELECT extversion FROM pg_extension WHERE extname = 'kpi';

-- Every object lives in schema kpi.
SELECT count(*) AS objects_outside_kpi
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'kpi')
  AND p.pronamespace <> 'kpi'::regnamespace;

-- Every function and aggregate is PARALLEL SAFE, and no function is VOLATILE.
SELECT p.oid::regprocedure AS not_parallel_safe_or_volatile
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'kpi')
  AND (p.proparallel <> 's' OR p.provolatile = 'v')
ORDER BY 1;

-- Every aggregate has a combine function and a real (non-internal) state type.
SELECT a.aggfnoid::regprocedure AS aggregate_lacking_combine_or_sql_state
FROM pg_aggregate a JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = a.aggfnoid
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'kpi')
  AND (a.aggcombinefn = 0 OR a.aggtranstype = 'internal'::regtype)
ORDER BY 1;
