-- src/aov.sql: kpi.aov, average order value, and its state type.
-- Availability: 0.1.0 (every object in this file)

CREATE TYPE @extschema@.aov_state;

CREATE FUNCTION @extschema@.aov_state_in(cstring) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_state_out(@extschema@.aov_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_aov_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_state_recv(internal) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_state_send(@extschema@.aov_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_aov_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.aov_state (
    INPUT = @extschema@.aov_state_in,
    OUTPUT = @extschema@.aov_state_out,
    RECEIVE = @extschema@.aov_state_recv,
    SEND = @extschema@.aov_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    -- A state is 80 bytes, but a numeric sum past 128 bits keeps all its
    -- digits, which (for absurd scales) can pass a page: extended allows
    -- compression and TOAST.
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.aov_state IS
    'Partial state of kpi.aov: count and exact sum of order values; store it, combine it with kpi.rollup, read it with kpi.aov';

-- Support functions.  All STRICT: NULL rows are skipped, as avg() skips them.
CREATE FUNCTION @extschema@.aov_accum(@extschema@.aov_state, numeric) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_accum_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_accum(@extschema@.aov_state, bigint) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_accum_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_accum(@extschema@.aov_state, integer) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_accum_int4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_accum(@extschema@.aov_state, double precision) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_accum_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_accum_inv(@extschema@.aov_state, numeric) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_accum_inv_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_accum_inv(@extschema@.aov_state, bigint) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_accum_inv_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_accum_inv(@extschema@.aov_state, integer) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_accum_inv_int4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_accum_inv(@extschema@.aov_state, double precision) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_accum_inv_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_combine(@extschema@.aov_state, @extschema@.aov_state) RETURNS @extschema@.aov_state
    AS 'MODULE_PATHNAME', 'kpi_aov_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Accessors; also the final functions of the one-step aggregates.
CREATE FUNCTION @extschema@.aov(@extschema@.aov_state) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_aov_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aov(@extschema@.aov_state) IS
    'Average order value of a kpi.aov_state; NULL when it holds no values';
CREATE FUNCTION @extschema@.aov_float8(@extschema@.aov_state) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_aov_float8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aov_float8(@extschema@.aov_state) IS
    'Average order value of a kpi.aov_state as double precision (what kpi.aov(double precision) returns)';
CREATE FUNCTION @extschema@.aov_count(@extschema@.aov_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_aov_count' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aov_count(@extschema@.aov_state) IS
    'Number of non-NULL order values in a kpi.aov_state';

-- One-step aggregates (what BI tools call), two-step partial aggregates
-- (what materialized views store), and rollup.  The one-step and partial
-- forms share sfunc, stype and initcond, so a query using both computes
-- one transition state.
CREATE AGGREGATE @extschema@.aov(numeric) (
    SFUNC = @extschema@.aov_accum, STYPE = @extschema@.aov_state, INITCOND = '(v:1,n:0)',
    FINALFUNC = @extschema@.aov, COMBINEFUNC = @extschema@.aov_combine,
    MSFUNC = @extschema@.aov_accum, MINVFUNC = @extschema@.aov_accum_inv,
    MSTYPE = @extschema@.aov_state, MINITCOND = '(v:1,n:0)', MFINALFUNC = @extschema@.aov,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.aov(bigint) (
    SFUNC = @extschema@.aov_accum, STYPE = @extschema@.aov_state, INITCOND = '(v:1,n:0)',
    FINALFUNC = @extschema@.aov, COMBINEFUNC = @extschema@.aov_combine,
    MSFUNC = @extschema@.aov_accum, MINVFUNC = @extschema@.aov_accum_inv,
    MSTYPE = @extschema@.aov_state, MINITCOND = '(v:1,n:0)', MFINALFUNC = @extschema@.aov,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.aov(integer) (
    SFUNC = @extschema@.aov_accum, STYPE = @extschema@.aov_state, INITCOND = '(v:1,n:0)',
    FINALFUNC = @extschema@.aov, COMBINEFUNC = @extschema@.aov_combine,
    MSFUNC = @extschema@.aov_accum, MINVFUNC = @extschema@.aov_accum_inv,
    MSTYPE = @extschema@.aov_state, MINITCOND = '(v:1,n:0)', MFINALFUNC = @extschema@.aov,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.aov(double precision) (
    SFUNC = @extschema@.aov_accum, STYPE = @extschema@.aov_state, INITCOND = '(v:1,n:0)',
    FINALFUNC = @extschema@.aov_float8, COMBINEFUNC = @extschema@.aov_combine,
    MSFUNC = @extschema@.aov_accum, MINVFUNC = @extschema@.aov_accum_inv,
    MSTYPE = @extschema@.aov_state, MINITCOND = '(v:1,n:0)', MFINALFUNC = @extschema@.aov_float8,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.aov(numeric) IS
    'Average order value: sum of non-NULL amounts / their count; equals avg() exactly';
COMMENT ON AGGREGATE @extschema@.aov(bigint) IS
    'Average order value: sum of non-NULL amounts / their count; the sum never overflows';
COMMENT ON AGGREGATE @extschema@.aov(integer) IS
    'Average order value: sum of non-NULL amounts / their count; the sum never overflows';
COMMENT ON AGGREGATE @extschema@.aov(double precision) IS
    'Average order value of double precision amounts, summed without rounding where possible';

CREATE AGGREGATE @extschema@.aov_agg(numeric) (
    SFUNC = @extschema@.aov_accum, STYPE = @extschema@.aov_state, INITCOND = '(v:1,n:0)',
    COMBINEFUNC = @extschema@.aov_combine,
    MSFUNC = @extschema@.aov_accum, MINVFUNC = @extschema@.aov_accum_inv,
    MSTYPE = @extschema@.aov_state, MINITCOND = '(v:1,n:0)',
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.aov_agg(bigint) (
    SFUNC = @extschema@.aov_accum, STYPE = @extschema@.aov_state, INITCOND = '(v:1,n:0)',
    COMBINEFUNC = @extschema@.aov_combine,
    MSFUNC = @extschema@.aov_accum, MINVFUNC = @extschema@.aov_accum_inv,
    MSTYPE = @extschema@.aov_state, MINITCOND = '(v:1,n:0)',
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.aov_agg(integer) (
    SFUNC = @extschema@.aov_accum, STYPE = @extschema@.aov_state, INITCOND = '(v:1,n:0)',
    COMBINEFUNC = @extschema@.aov_combine,
    MSFUNC = @extschema@.aov_accum, MINVFUNC = @extschema@.aov_accum_inv,
    MSTYPE = @extschema@.aov_state, MINITCOND = '(v:1,n:0)',
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.aov_agg(double precision) (
    SFUNC = @extschema@.aov_accum, STYPE = @extschema@.aov_state, INITCOND = '(v:1,n:0)',
    COMBINEFUNC = @extschema@.aov_combine,
    MSFUNC = @extschema@.aov_accum, MINVFUNC = @extschema@.aov_accum_inv,
    MSTYPE = @extschema@.aov_state, MINITCOND = '(v:1,n:0)',
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.aov_agg(numeric) IS
    'Partial state of kpi.aov, to store and re-aggregate with kpi.rollup';
COMMENT ON AGGREGATE @extschema@.aov_agg(bigint) IS
    'Partial state of kpi.aov, to store and re-aggregate with kpi.rollup';
COMMENT ON AGGREGATE @extschema@.aov_agg(integer) IS
    'Partial state of kpi.aov, to store and re-aggregate with kpi.rollup';
COMMENT ON AGGREGATE @extschema@.aov_agg(double precision) IS
    'Partial state of kpi.aov, to store and re-aggregate with kpi.rollup';

CREATE AGGREGATE @extschema@.rollup(@extschema@.aov_state) (
    SFUNC = @extschema@.aov_combine, STYPE = @extschema@.aov_state,
    COMBINEFUNC = @extschema@.aov_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.aov_state) IS
    'Combine kpi.aov_state values (e.g. daily states into a monthly one); NULL states are skipped';
