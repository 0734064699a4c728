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

-- Helpers of the later tests.
-- plan_is_parallel(query): true when the plan of query gathers partial
-- aggregates from parallel workers; raises an error showing the plan
-- otherwise.
CREATE FUNCTION plan_is_parallel(query text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    plan text;
BEGIN
    EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO plan;
    IF plan NOT LIKE '%"Partial Mode": "Partial"%' OR plan NOT LIKE '%Gather%' THEN
        RAISE EXCEPTION 'expected a parallel plan with partial aggregation: %', plan;
    END IF;
    RETURN true;
END $$;
-- copy_in(tab, field): loads `field` as the binary form of the one column
-- of table tab with COPY FROM (FORMAT binary), the path by which crafted
-- bytes reach a type's receive function; 'accepted', or the SQLSTATE and
-- message of the error.
CREATE FUNCTION copy_in(tab text, field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    copy_file bytea := '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
        || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea;
    lo oid := lo_from_bytea(0, copy_file);
BEGIN
    PERFORM lo_export(lo, 'kpi_copy_in.bin');
    PERFORM lo_unlink(lo);
    EXECUTE format('COPY %I FROM %L (FORMAT binary)', tab, 'kpi_copy_in.bin');
    RETURN 'accepted';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
