-- src/offhours.sql: kpi.offhours_share, the share of orders placed outside
-- business hours, the calendar type it reads, and its state type.
-- Availability: 0.1.0 (every object in this file)
--
-- Every function is IMMUTABLE: a timestamptz is read in the calendar's own
-- zone, never in the session's TimeZone, as timezone(text, timestamptz)
-- (AT TIME ZONE with a constant zone, IMMUTABLE in PostgreSQL) reads it.

-- ---------------------------------------------------------- the calendar

CREATE TYPE @extschema@.business_calendar;

CREATE FUNCTION @extschema@.business_calendar_in(cstring) RETURNS @extschema@.business_calendar
    AS 'MODULE_PATHNAME', 'kpi_business_calendar_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.business_calendar_out(@extschema@.business_calendar) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_business_calendar_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.business_calendar_recv(internal) RETURNS @extschema@.business_calendar
    AS 'MODULE_PATHNAME', 'kpi_business_calendar_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.business_calendar_send(@extschema@.business_calendar) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_business_calendar_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Stored as its compact binary form: about 80 bytes, 4 more per holiday.
-- EXTENDED, because a long holiday list can outgrow a page (up to 65536
-- holidays) and must then move out of line.
CREATE TYPE @extschema@.business_calendar (
    INPUT = @extschema@.business_calendar_in,
    OUTPUT = @extschema@.business_calendar_out,
    RECEIVE = @extschema@.business_calendar_recv,
    SEND = @extschema@.business_calendar_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.business_calendar IS
    'Weekly business hours, a time zone and holidays, e.g. ''Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24,2024-12-25''';

CREATE FUNCTION @extschema@.is_business_hours(timestamptz, @extschema@.business_calendar) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_is_business_hours_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.is_business_hours(timestamptz, @extschema@.business_calendar) IS
    'Whether the moment, in the calendar zone''s local time, falls in business hours; NULL for +-infinity';
CREATE FUNCTION @extschema@.is_business_hours(timestamp, @extschema@.business_calendar) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_is_business_hours_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.is_business_hours(timestamp, @extschema@.business_calendar) IS
    'Whether a local wall-clock time falls in business hours (the calendar''s zone is not applied); NULL for +-infinity';

-- ------------------------------------------------------------- the state

CREATE TYPE @extschema@.offhours_state;

CREATE FUNCTION @extschema@.offhours_state_in(cstring) RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_state_out(@extschema@.offhours_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_offhours_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_state_recv(internal) RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_state_send(@extschema@.offhours_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_offhours_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.offhours_state (
    INPUT = @extschema@.offhours_state_in,
    OUTPUT = @extschema@.offhours_state_out,
    RECEIVE = @extschema@.offhours_state_recv,
    SEND = @extschema@.offhours_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.offhours_state IS
    'Partial state of kpi.offhours_share: exact counts (and weight sums) of all and of off-hours rows; store it, combine it with kpi.rollup, read it with kpi.offhours_share';

-- Support functions.  All STRICT: rows with a NULL moment, calendar or
-- weight are skipped.
CREATE FUNCTION @extschema@.offhours_accum(@extschema@.offhours_state, timestamptz, @extschema@.business_calendar)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_accum_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_accum(@extschema@.offhours_state, timestamp, @extschema@.business_calendar)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_accum_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_accum(@extschema@.offhours_state, timestamptz, @extschema@.business_calendar, numeric)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_accum_timestamptz_weighted' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_accum(@extschema@.offhours_state, timestamp, @extschema@.business_calendar, numeric)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_accum_timestamp_weighted' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_accum_inv(@extschema@.offhours_state, timestamptz, @extschema@.business_calendar)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_accum_inv_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_accum_inv(@extschema@.offhours_state, timestamp, @extschema@.business_calendar)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_accum_inv_timestamp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_accum_inv(@extschema@.offhours_state, timestamptz, @extschema@.business_calendar, numeric)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_accum_inv_timestamptz_weighted' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_accum_inv(@extschema@.offhours_state, timestamp, @extschema@.business_calendar, numeric)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_accum_inv_timestamp_weighted' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.offhours_combine(@extschema@.offhours_state, @extschema@.offhours_state)
    RETURNS @extschema@.offhours_state
    AS 'MODULE_PATHNAME', 'kpi_offhours_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Accessors; kpi.offhours_share(state) is also the final function.
CREATE FUNCTION @extschema@.offhours_share(@extschema@.offhours_state) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_offhours_share' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.offhours_share(@extschema@.offhours_state) IS
    'Off-hours share of a kpi.offhours_state: off-hours rows / rows, or off-hours weight / total weight; NULL when there is nothing to divide by';
CREATE FUNCTION @extschema@.offhours_count(@extschema@.offhours_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_offhours_count' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.offhours_count(@extschema@.offhours_state) IS
    'Number of rows of a kpi.offhours_state that fall outside business hours';
CREATE FUNCTION @extschema@.offhours_total(@extschema@.offhours_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_offhours_total' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.offhours_total(@extschema@.offhours_state) IS
    'Number of rows a kpi.offhours_state counted';
CREATE FUNCTION @extschema@.offhours_weight(@extschema@.offhours_state) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_offhours_weight' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.offhours_weight(@extschema@.offhours_state) IS
    'Exact weight of the off-hours rows of a weighted kpi.offhours_state; NULL for an unweighted one';
CREATE FUNCTION @extschema@.offhours_total_weight(@extschema@.offhours_state) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_offhours_total_weight' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.offhours_total_weight(@extschema@.offhours_state) IS
    'Exact weight of all rows of a weighted kpi.offhours_state; NULL for an unweighted one';

-- One-step aggregates, partial aggregates and rollup.  The one-step and
-- partial forms share sfunc, stype and initcond, so a query using both
-- computes one transition state.
CREATE AGGREGATE @extschema@.offhours_share(timestamptz, @extschema@.business_calendar) (
    SFUNC = @extschema@.offhours_accum, STYPE = @extschema@.offhours_state, INITCOND = '(v:1,n:0)',
    FINALFUNC = @extschema@.offhours_share, COMBINEFUNC = @extschema@.offhours_combine,
    MSFUNC = @extschema@.offhours_accum, MINVFUNC = @extschema@.offhours_accum_inv,
    MSTYPE = @extschema@.offhours_state, MINITCOND = '(v:1,n:0)', MFINALFUNC = @extschema@.offhours_share,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.offhours_share(timestamp, @extschema@.business_calendar) (
    SFUNC = @extschema@.offhours_accum, STYPE = @extschema@.offhours_state, INITCOND = '(v:1,n:0)',
    FINALFUNC = @extschema@.offhours_share, COMBINEFUNC = @extschema@.offhours_combine,
    MSFUNC = @extschema@.offhours_accum, MINVFUNC = @extschema@.offhours_accum_inv,
    MSTYPE = @extschema@.offhours_state, MINITCOND = '(v:1,n:0)', MFINALFUNC = @extschema@.offhours_share,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.offhours_share(timestamptz, @extschema@.business_calendar, numeric) (
    SFUNC = @extschema@.offhours_accum, STYPE = @extschema@.offhours_state, INITCOND = '(v:1,n:0)',
    FINALFUNC = @extschema@.offhours_share, COMBINEFUNC = @extschema@.offhours_combine,
    MSFUNC = @extschema@.offhours_accum, MINVFUNC = @extschema@.offhours_accum_inv,
    MSTYPE = @extschema@.offhours_state, MINITCOND = '(v:1,n:0)', MFINALFUNC = @extschema@.offhours_share,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.offhours_share(timestamp, @extschema@.business_calendar, numeric) (
    SFUNC = @extschema@.offhours_accum, STYPE = @extschema@.offhours_state, INITCOND = '(v:1,n:0)',
    FINALFUNC = @extschema@.offhours_share, COMBINEFUNC = @extschema@.offhours_combine,
    MSFUNC = @extschema@.offhours_accum, MINVFUNC = @extschema@.offhours_accum_inv,
    MSTYPE = @extschema@.offhours_state, MINITCOND = '(v:1,n:0)', MFINALFUNC = @extschema@.offhours_share,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.offhours_share(timestamptz, @extschema@.business_calendar) IS
    'Share of orders placed outside business hours, in the calendar zone''s local time; NULL on no rows';
COMMENT ON AGGREGATE @extschema@.offhours_share(timestamp, @extschema@.business_calendar) IS
    'Share of orders placed outside business hours; the timestamps are already local business time';
COMMENT ON AGGREGATE @extschema@.offhours_share(timestamptz, @extschema@.business_calendar, numeric) IS
    'Weighted off-hours share (e.g. revenue placed off-hours / all revenue); rows with NULL weight are skipped';
COMMENT ON AGGREGATE @extschema@.offhours_share(timestamp, @extschema@.business_calendar, numeric) IS
    'Weighted off-hours share of local timestamps; rows with NULL weight are skipped';

CREATE AGGREGATE @extschema@.offhours_agg(timestamptz, @extschema@.business_calendar) (
    SFUNC = @extschema@.offhours_accum, STYPE = @extschema@.offhours_state, INITCOND = '(v:1,n:0)',
    COMBINEFUNC = @extschema@.offhours_combine,
    MSFUNC = @extschema@.offhours_accum, MINVFUNC = @extschema@.offhours_accum_inv,
    MSTYPE = @extschema@.offhours_state, MINITCOND = '(v:1,n:0)',
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.offhours_agg(timestamp, @extschema@.business_calendar) (
    SFUNC = @extschema@.offhours_accum, STYPE = @extschema@.offhours_state, INITCOND = '(v:1,n:0)',
    COMBINEFUNC = @extschema@.offhours_combine,
    MSFUNC = @extschema@.offhours_accum, MINVFUNC = @extschema@.offhours_accum_inv,
    MSTYPE = @extschema@.offhours_state, MINITCOND = '(v:1,n:0)',
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.offhours_agg(timestamptz, @extschema@.business_calendar, numeric) (
    SFUNC = @extschema@.offhours_accum, STYPE = @extschema@.offhours_state, INITCOND = '(v:1,n:0)',
    COMBINEFUNC = @extschema@.offhours_combine,
    MSFUNC = @extschema@.offhours_accum, MINVFUNC = @extschema@.offhours_accum_inv,
    MSTYPE = @extschema@.offhours_state, MINITCOND = '(v:1,n:0)',
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.offhours_agg(timestamp, @extschema@.business_calendar, numeric) (
    SFUNC = @extschema@.offhours_accum, STYPE = @extschema@.offhours_state, INITCOND = '(v:1,n:0)',
    COMBINEFUNC = @extschema@.offhours_combine,
    MSFUNC = @extschema@.offhours_accum, MINVFUNC = @extschema@.offhours_accum_inv,
    MSTYPE = @extschema@.offhours_state, MINITCOND = '(v:1,n:0)',
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.offhours_agg(timestamptz, @extschema@.business_calendar) IS
    'Partial state of kpi.offhours_share, to store and re-aggregate with kpi.rollup';
COMMENT ON AGGREGATE @extschema@.offhours_agg(timestamp, @extschema@.business_calendar) IS
    'Partial state of kpi.offhours_share, to store and re-aggregate with kpi.rollup';
COMMENT ON AGGREGATE @extschema@.offhours_agg(timestamptz, @extschema@.business_calendar, numeric) IS
    'Partial state of the weighted kpi.offhours_share, to store and re-aggregate with kpi.rollup';
COMMENT ON AGGREGATE @extschema@.offhours_agg(timestamp, @extschema@.business_calendar, numeric) IS
    'Partial state of the weighted kpi.offhours_share, to store and re-aggregate with kpi.rollup';

CREATE AGGREGATE @extschema@.rollup(@extschema@.offhours_state) (
    SFUNC = @extschema@.offhours_combine, STYPE = @extschema@.offhours_state,
    COMBINEFUNC = @extschema@.offhours_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.offhours_state) IS
    'Combine kpi.offhours_state values (e.g. daily states into a monthly one); NULL states are skipped';
