-- src/funnel.sql: funnels (kpi.window_funnel, kpi.funnel, kpi.funnel_agg)
-- and their state type kpi.funnel_state.
-- Availability: 0.1.0 (every object in this file)

CREATE TYPE @extschema@.funnel_state;

CREATE FUNCTION @extschema@.funnel_state_in(cstring) RETURNS @extschema@.funnel_state
    AS 'MODULE_PATHNAME', 'kpi_funnel_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.funnel_state_out(@extschema@.funnel_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_funnel_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.funnel_state_recv(internal) RETURNS @extschema@.funnel_state
    AS 'MODULE_PATHNAME', 'kpi_funnel_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.funnel_state_send(@extschema@.funnel_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_funnel_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE extended: a state holds 20 bytes per event and can be large.
CREATE TYPE @extschema@.funnel_state (
    INPUT = @extschema@.funnel_state_in,
    OUTPUT = @extschema@.funnel_state_out,
    RECEIVE = @extschema@.funnel_state_recv,
    SEND = @extschema@.funnel_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.funnel_state IS
    'Partial state of the funnel aggregates: steps, window, modes and the step events of every entity; store it, combine it with kpi.rollup, read it with kpi.funnel, kpi.funnel_steps or kpi.conversion_rate';

-- Support functions.  The transition functions are STRICT: a row with a
-- NULL entity, timestamp, window or mode is skipped (a NULL step condition
-- is false).
CREATE FUNCTION @extschema@.funnel_accum(@extschema@.funnel_state, anyelement, timestamptz, interval, boolean[])
    RETURNS @extschema@.funnel_state
    AS 'MODULE_PATHNAME', 'kpi_funnel_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.funnel_accum(@extschema@.funnel_state, anyelement, timestamptz, interval, text, boolean[])
    RETURNS @extschema@.funnel_state
    AS 'MODULE_PATHNAME', 'kpi_funnel_accum_mode' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_accum(@extschema@.funnel_state, interval, timestamptz, boolean[])
    RETURNS @extschema@.funnel_state
    AS 'MODULE_PATHNAME', 'kpi_window_funnel_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_accum(@extschema@.funnel_state, interval, text, timestamptz, boolean[])
    RETURNS @extschema@.funnel_state
    AS 'MODULE_PATHNAME', 'kpi_window_funnel_accum_mode' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.funnel_combine(@extschema@.funnel_state, @extschema@.funnel_state)
    RETURNS @extschema@.funnel_state
    AS 'MODULE_PATHNAME', 'kpi_funnel_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.funnel_agg_final(@extschema@.funnel_state) RETURNS @extschema@.funnel_state
    AS 'MODULE_PATHNAME', 'kpi_funnel_agg_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_final(@extschema@.funnel_state) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_window_funnel_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Accessors; kpi.funnel(funnel_state) is also the final function of kpi.funnel.
CREATE FUNCTION @extschema@.funnel(@extschema@.funnel_state) RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'kpi_funnel_entities' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.funnel(@extschema@.funnel_state) IS
    'Funnel of a kpi.funnel_state: element k is the number of entities reaching at least step k; NULL for a state without rows';
CREATE FUNCTION @extschema@.funnel_steps(@extschema@.funnel_state)
    RETURNS TABLE (step integer, entities bigint, conversion_from_previous double precision,
                   conversion_from_first double precision, median_time_to_step interval)
    AS 'MODULE_PATHNAME', 'kpi_funnel_steps' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION @extschema@.funnel_steps(@extschema@.funnel_state) IS
    'One row per funnel step: entities reaching it, conversion from the previous and from the first step, median time from step 1 to it';
CREATE FUNCTION @extschema@.conversion_rate(@extschema@.funnel_state) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_funnel_conversion_rate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.conversion_rate(@extschema@.funnel_state) IS
    'Entities reaching the last step / entities reaching the first; NULL when none reached the first';

-- kpi.window_funnel: the level one group (one entity) reaches.
CREATE AGGREGATE @extschema@.window_funnel(interval, timestamptz, VARIADIC boolean[]) (
    SFUNC = @extschema@.window_funnel_accum, STYPE = @extschema@.funnel_state,
    INITCOND = '(v:1,steps:0,window:0,modes:[],keys:none,events:[])',
    FINALFUNC = @extschema@.window_funnel_final, COMBINEFUNC = @extschema@.funnel_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.window_funnel(interval, text, timestamptz, VARIADIC boolean[]) (
    SFUNC = @extschema@.window_funnel_accum, STYPE = @extschema@.funnel_state,
    INITCOND = '(v:1,steps:0,window:0,modes:[],keys:none,events:[])',
    FINALFUNC = @extschema@.window_funnel_final, COMBINEFUNC = @extschema@.funnel_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.window_funnel(interval, timestamptz, VARIADIC boolean[]) IS
    'Funnel level of one group (ClickHouse windowFunnel): the largest k such that steps 1..k occur in order with step k at most window after step 1';
COMMENT ON AGGREGATE @extschema@.window_funnel(interval, text, timestamptz, VARIADIC boolean[]) IS
    'Funnel level of one group with modes (comma-separated: strict_increase, strict_order, strict_deduplication, strict_once)';

-- kpi.funnel: the whole funnel over all entities; kpi.funnel_agg: its
-- partial state.  Same sfunc, stype and initcond, so a query using both
-- computes one transition state.
CREATE AGGREGATE @extschema@.funnel(anyelement, timestamptz, interval, VARIADIC boolean[]) (
    SFUNC = @extschema@.funnel_accum, STYPE = @extschema@.funnel_state,
    INITCOND = '(v:1,steps:0,window:0,modes:[],keys:none,events:[])',
    FINALFUNC = @extschema@.funnel, COMBINEFUNC = @extschema@.funnel_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.funnel(anyelement, timestamptz, interval, text, VARIADIC boolean[]) (
    SFUNC = @extschema@.funnel_accum, STYPE = @extschema@.funnel_state,
    INITCOND = '(v:1,steps:0,window:0,modes:[],keys:none,events:[])',
    FINALFUNC = @extschema@.funnel, COMBINEFUNC = @extschema@.funnel_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.funnel(anyelement, timestamptz, interval, VARIADIC boolean[]) IS
    'Funnel over all entities: element k is the number of entities reaching at least step k within window';
COMMENT ON AGGREGATE @extschema@.funnel(anyelement, timestamptz, interval, text, VARIADIC boolean[]) IS
    'Funnel over all entities with modes (comma-separated: strict_increase, strict_order, strict_deduplication, strict_once)';

CREATE AGGREGATE @extschema@.funnel_agg(anyelement, timestamptz, interval, VARIADIC boolean[]) (
    SFUNC = @extschema@.funnel_accum, STYPE = @extschema@.funnel_state,
    INITCOND = '(v:1,steps:0,window:0,modes:[],keys:none,events:[])',
    FINALFUNC = @extschema@.funnel_agg_final, COMBINEFUNC = @extschema@.funnel_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.funnel_agg(anyelement, timestamptz, interval, text, VARIADIC boolean[]) (
    SFUNC = @extschema@.funnel_accum, STYPE = @extschema@.funnel_state,
    INITCOND = '(v:1,steps:0,window:0,modes:[],keys:none,events:[])',
    FINALFUNC = @extschema@.funnel_agg_final, COMBINEFUNC = @extschema@.funnel_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.funnel_agg(anyelement, timestamptz, interval, VARIADIC boolean[]) IS
    'Partial state of kpi.funnel, to store and re-aggregate with kpi.rollup';
COMMENT ON AGGREGATE @extschema@.funnel_agg(anyelement, timestamptz, interval, text, VARIADIC boolean[]) IS
    'Partial state of kpi.funnel with modes, to store and re-aggregate with kpi.rollup';

-- The same aggregates with 2 to 8 separate boolean steps.  For a call
-- that lists 2 to 8 conditions PostgreSQL picks these over the VARIADIC
-- form (it prefers a non-variadic match), which spares the executor
-- building a boolean[] for every row: about 20 % of kpi.funnel's time
-- over 5M events.  Their transitions are not STRICT, so that a NULL
-- condition still counts as false; they skip rows with a NULL entity,
-- timestamp, window or mode themselves.
DO $overloads$
DECLARE
    transition record;
    aggregate record;
    steps text;
BEGIN
    FOR n IN 2..8 LOOP
        steps := array_to_string(array_fill('boolean'::text, ARRAY[n]), ', ');
        FOR transition IN
            SELECT * FROM (VALUES
                ('funnel_accum', 'anyelement, timestamptz, interval', 'kpi_funnel_accum_list'),
                ('funnel_accum', 'anyelement, timestamptz, interval, text', 'kpi_funnel_accum_mode_list'),
                ('window_funnel_accum', 'interval, timestamptz', 'kpi_window_funnel_accum_list'),
                ('window_funnel_accum', 'interval, text, timestamptz', 'kpi_window_funnel_accum_mode_list')
            ) t(name, args, symbol)
        LOOP
            EXECUTE format('CREATE FUNCTION @extschema@.%s(@extschema@.funnel_state, %s, %s)
                                RETURNS @extschema@.funnel_state
                                AS %L, %L LANGUAGE C IMMUTABLE PARALLEL SAFE',
                           transition.name, transition.args, steps, 'MODULE_PATHNAME', transition.symbol);
        END LOOP;
        FOR aggregate IN
            SELECT * FROM (VALUES
                ('window_funnel', 'interval, timestamptz', 'window_funnel_accum', 'window_funnel_final', ''),
                ('window_funnel', 'interval, text, timestamptz', 'window_funnel_accum', 'window_funnel_final', ' with modes'),
                ('funnel', 'anyelement, timestamptz, interval', 'funnel_accum', 'funnel', ''),
                ('funnel', 'anyelement, timestamptz, interval, text', 'funnel_accum', 'funnel', ' with modes'),
                ('funnel_agg', 'anyelement, timestamptz, interval', 'funnel_accum', 'funnel_agg_final', ''),
                ('funnel_agg', 'anyelement, timestamptz, interval, text', 'funnel_accum', 'funnel_agg_final', ' with modes')
            ) a(name, args, sfunc, finalfunc, modes)
        LOOP
            EXECUTE format('CREATE AGGREGATE @extschema@.%1$s(%2$s, %3$s) (
                                SFUNC = @extschema@.%4$s, STYPE = @extschema@.funnel_state,
                                INITCOND = %5$L, FINALFUNC = @extschema@.%6$s,
                                COMBINEFUNC = @extschema@.funnel_combine, PARALLEL = SAFE);
                            COMMENT ON AGGREGATE @extschema@.%1$s(%2$s, %3$s) IS %7$L',
                           aggregate.name, aggregate.args, steps, aggregate.sfunc,
                           '(v:1,steps:0,window:0,modes:[],keys:none,events:[])', aggregate.finalfunc,
                           format('kpi.%s%s, %s steps given one by one', aggregate.name, aggregate.modes, n));
        END LOOP;
    END LOOP;
END
$overloads$;

CREATE AGGREGATE @extschema@.rollup(@extschema@.funnel_state) (
    SFUNC = @extschema@.funnel_combine, STYPE = @extschema@.funnel_state,
    FINALFUNC = @extschema@.funnel_agg_final, COMBINEFUNC = @extschema@.funnel_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.funnel_state) IS
    'Combine kpi.funnel_state values (partitions, days, shards) into one; they must agree on steps, window, modes and kind of entity keys (integer or hashed); NULL states are skipped';
