-- src/retention.sql: the distinct-customer KPIs (retention, cohorts, repeat
-- purchases, order-line AOV) and their state types, all exact customer sets.
-- Availability: 0.1.0 (every object in this file)
--
-- Customer and order ids are polymorphic (anyelement; the order id of
-- kpi.repeat_rate & co. is anycompatible, so it may have another type than
-- the customer id): integer, smallint, bigint, uuid, text and varchar ids
-- are stored exactly, other hashable types as their 64-bit extended hash.
-- Every function is STRICT: rows with a NULL argument are skipped.

-- ---------------------------------------------------------------- types

CREATE TYPE @extschema@.retention_state;
CREATE FUNCTION @extschema@.retention_state_in(cstring) RETURNS @extschema@.retention_state
    AS 'MODULE_PATHNAME', 'kpi_retention_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.retention_state_out(@extschema@.retention_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_retention_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.retention_state_recv(internal) RETURNS @extschema@.retention_state
    AS 'MODULE_PATHNAME', 'kpi_retention_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.retention_state_send(@extschema@.retention_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_retention_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.retention_state (
    INPUT = @extschema@.retention_state_in, OUTPUT = @extschema@.retention_state_out,
    RECEIVE = @extschema@.retention_state_recv, SEND = @extschema@.retention_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE @extschema@.retention_state IS
    'Partial state of kpi.retention_rate: the distinct customers, each marked as ordering before and/or at or after the cutoff';

CREATE TYPE @extschema@.cohort_state;
CREATE FUNCTION @extschema@.cohort_state_in(cstring) RETURNS @extschema@.cohort_state
    AS 'MODULE_PATHNAME', 'kpi_cohort_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cohort_state_out(@extschema@.cohort_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_cohort_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cohort_state_recv(internal) RETURNS @extschema@.cohort_state
    AS 'MODULE_PATHNAME', 'kpi_cohort_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cohort_state_send(@extschema@.cohort_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_cohort_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.cohort_state (
    INPUT = @extschema@.cohort_state_in, OUTPUT = @extschema@.cohort_state_out,
    RECEIVE = @extschema@.cohort_state_recv, SEND = @extschema@.cohort_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE @extschema@.cohort_state IS
    'Partial state of kpi.cohort_agg: the distinct (customer, period) pairs with orders; read it with kpi.cohorts';

CREATE TYPE @extschema@.repeat_state;
CREATE FUNCTION @extschema@.repeat_state_in(cstring) RETURNS @extschema@.repeat_state
    AS 'MODULE_PATHNAME', 'kpi_repeat_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.repeat_state_out(@extschema@.repeat_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_repeat_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.repeat_state_recv(internal) RETURNS @extschema@.repeat_state
    AS 'MODULE_PATHNAME', 'kpi_repeat_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.repeat_state_send(@extschema@.repeat_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_repeat_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.repeat_state (
    INPUT = @extschema@.repeat_state_in, OUTPUT = @extschema@.repeat_state_out,
    RECEIVE = @extschema@.repeat_state_recv, SEND = @extschema@.repeat_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE @extschema@.repeat_state IS
    'Partial state of kpi.repeat_rate and kpi.purchase_frequency: order rows per customer, or distinct (customer, order) pairs';

CREATE TYPE @extschema@.aov_lines_state;
CREATE FUNCTION @extschema@.aov_lines_state_in(cstring) RETURNS @extschema@.aov_lines_state
    AS 'MODULE_PATHNAME', 'kpi_aov_lines_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_lines_state_out(@extschema@.aov_lines_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_aov_lines_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_lines_state_recv(internal) RETURNS @extschema@.aov_lines_state
    AS 'MODULE_PATHNAME', 'kpi_aov_lines_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_lines_state_send(@extschema@.aov_lines_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_aov_lines_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.aov_lines_state (
    INPUT = @extschema@.aov_lines_state_in, OUTPUT = @extschema@.aov_lines_state_out,
    RECEIVE = @extschema@.aov_lines_state_recv, SEND = @extschema@.aov_lines_state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
COMMENT ON TYPE @extschema@.aov_lines_state IS
    'Partial state of the order-line kpi.aov(amount, order_id): exact sum of line amounts and the set of distinct orders';

-- ---------------------------------------------------------------- support functions

CREATE FUNCTION @extschema@.retention_accum(@extschema@.retention_state, anyelement, timestamptz, timestamptz)
    RETURNS @extschema@.retention_state
    AS 'MODULE_PATHNAME', 'kpi_retention_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.retention_accum(@extschema@.retention_state, anyelement, timestamptz, timestamptz, interval)
    RETURNS @extschema@.retention_state
    AS 'MODULE_PATHNAME', 'kpi_retention_accum_period' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.retention_combine(@extschema@.retention_state, @extschema@.retention_state)
    RETURNS @extschema@.retention_state
    AS 'MODULE_PATHNAME', 'kpi_retention_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.retention_final(@extschema@.retention_state) RETURNS @extschema@.retention_state
    AS 'MODULE_PATHNAME', 'kpi_retention_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.cohort_accum(@extschema@.cohort_state, anyelement, timestamptz, text)
    RETURNS @extschema@.cohort_state
    AS 'MODULE_PATHNAME', 'kpi_cohort_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cohort_accum(@extschema@.cohort_state, anyelement, timestamp, text)
    RETURNS @extschema@.cohort_state
    AS 'MODULE_PATHNAME', 'kpi_cohort_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cohort_combine(@extschema@.cohort_state, @extschema@.cohort_state)
    RETURNS @extschema@.cohort_state
    AS 'MODULE_PATHNAME', 'kpi_cohort_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cohort_final(@extschema@.cohort_state) RETURNS @extschema@.cohort_state
    AS 'MODULE_PATHNAME', 'kpi_cohort_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.repeat_accum(@extschema@.repeat_state, anyelement)
    RETURNS @extschema@.repeat_state
    AS 'MODULE_PATHNAME', 'kpi_repeat_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.repeat_accum(@extschema@.repeat_state, anyelement, anycompatible)
    RETURNS @extschema@.repeat_state
    AS 'MODULE_PATHNAME', 'kpi_repeat_accum_order' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.repeat_combine(@extschema@.repeat_state, @extschema@.repeat_state)
    RETURNS @extschema@.repeat_state
    AS 'MODULE_PATHNAME', 'kpi_repeat_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.repeat_final(@extschema@.repeat_state) RETURNS @extschema@.repeat_state
    AS 'MODULE_PATHNAME', 'kpi_repeat_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.aov_lines_accum(@extschema@.aov_lines_state, numeric, anyelement)
    RETURNS @extschema@.aov_lines_state
    AS 'MODULE_PATHNAME', 'kpi_aov_lines_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_lines_combine(@extschema@.aov_lines_state, @extschema@.aov_lines_state)
    RETURNS @extschema@.aov_lines_state
    AS 'MODULE_PATHNAME', 'kpi_aov_lines_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.aov_lines_final(@extschema@.aov_lines_state) RETURNS @extschema@.aov_lines_state
    AS 'MODULE_PATHNAME', 'kpi_aov_lines_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ---------------------------------------------------------------- accessors

CREATE FUNCTION @extschema@.retention_rate(@extschema@.retention_state) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_retention_rate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.retention_rate(@extschema@.retention_state) IS
    'Retention rate of a kpi.retention_state: retained / base customers; NULL when no customer ordered before the cutoff';
CREATE FUNCTION @extschema@.churn_rate(@extschema@.retention_state) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_churn_rate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.churn_rate(@extschema@.retention_state) IS
    'Churn rate of a kpi.retention_state: churned / base customers (1 - retention rate); NULL when the base is empty';
CREATE FUNCTION @extschema@.base_customers(@extschema@.retention_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_base_customers' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.base_customers(@extschema@.retention_state) IS
    'Customers who ordered before the cutoff';
CREATE FUNCTION @extschema@.retained_customers(@extschema@.retention_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_retained_customers' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.retained_customers(@extschema@.retention_state) IS
    'Customers who ordered before the cutoff and again at or after it';
CREATE FUNCTION @extschema@.churned_customers(@extschema@.retention_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_churned_customers' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.churned_customers(@extschema@.retention_state) IS
    'Customers who ordered before the cutoff but not at or after it';
CREATE FUNCTION @extschema@.new_customers(@extschema@.retention_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_new_customers' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.new_customers(@extschema@.retention_state) IS
    'Customers who ordered at or after the cutoff but not before it';

CREATE FUNCTION @extschema@.cohorts(@extschema@.cohort_state)
    RETURNS TABLE (cohort date, period_offset integer, cohort_customers bigint,
                   active_customers bigint, retention double precision)
    AS 'MODULE_PATHNAME', 'kpi_cohorts' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION @extschema@.cohorts(@extschema@.cohort_state) IS
    'Cohort triangle: per cohort (first day of the period of a customer''s first order) and offset up to the last period, the cohort size, its customers active in period cohort + offset, and their share';

CREATE FUNCTION @extschema@.repeat_rate(@extschema@.repeat_state) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_repeat_rate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.repeat_rate(@extschema@.repeat_state) IS
    'Repeat purchase rate of a kpi.repeat_state: the share of customers with at least 2 orders; NULL when empty';
CREATE FUNCTION @extschema@.purchase_frequency(@extschema@.repeat_state) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_purchase_frequency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.purchase_frequency(@extschema@.repeat_state) IS
    'Purchase frequency of a kpi.repeat_state: orders per customer; NULL when empty';
CREATE FUNCTION @extschema@.repeat_customers(@extschema@.repeat_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_repeat_customers' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.repeat_customers(@extschema@.repeat_state) IS
    'Customers with at least 2 orders in a kpi.repeat_state';

CREATE FUNCTION @extschema@.aov(@extschema@.aov_lines_state) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_aov_lines' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aov(@extschema@.aov_lines_state) IS
    'Order-line AOV of a kpi.aov_lines_state: sum of line amounts / distinct orders, equal to sum(amount) / count(DISTINCT order_id); NULL when empty';
CREATE FUNCTION @extschema@.aov_count(@extschema@.aov_lines_state) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_aov_lines_count' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.aov_count(@extschema@.aov_lines_state) IS
    'Number of distinct orders in a kpi.aov_lines_state';

-- ---------------------------------------------------------------- aggregates
-- One-step aggregates (what BI tools call) and two-step partial aggregates
-- (what materialized views store) share sfunc, stype and initcond, so a
-- query using both computes one transition state.  The partial aggregates
-- and rollup end with the compact, canonical copy of the state.

CREATE AGGREGATE @extschema@.retention_rate(anyelement, timestamptz, timestamptz) (
    SFUNC = @extschema@.retention_accum, STYPE = @extschema@.retention_state,
    INITCOND = '(v:1,kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.retention_rate, COMBINEFUNC = @extschema@.retention_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.retention_rate(anyelement, timestamptz, timestamptz) IS
    'Retention rate (customer_id, ordered_at, cutoff): of the customers with an order before cutoff, the share with an order at or after it; NULL when none ordered before';
CREATE AGGREGATE @extschema@.retention_rate(anyelement, timestamptz, timestamptz, interval) (
    SFUNC = @extschema@.retention_accum, STYPE = @extschema@.retention_state,
    INITCOND = '(v:1,kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.retention_rate, COMBINEFUNC = @extschema@.retention_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.retention_rate(anyelement, timestamptz, timestamptz, interval) IS
    'Retention rate (customer_id, ordered_at, cutoff, period) over [cutoff - period, cutoff) and [cutoff, cutoff + period) (UTC calendar); other rows are ignored';
CREATE AGGREGATE @extschema@.retention_agg(anyelement, timestamptz, timestamptz) (
    SFUNC = @extschema@.retention_accum, STYPE = @extschema@.retention_state,
    INITCOND = '(v:1,kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.retention_final, COMBINEFUNC = @extschema@.retention_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.retention_agg(anyelement, timestamptz, timestamptz) IS
    'Partial state of kpi.retention_rate, to store and combine with kpi.rollup (set union)';
CREATE AGGREGATE @extschema@.retention_agg(anyelement, timestamptz, timestamptz, interval) (
    SFUNC = @extschema@.retention_accum, STYPE = @extschema@.retention_state,
    INITCOND = '(v:1,kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.retention_final, COMBINEFUNC = @extschema@.retention_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.retention_agg(anyelement, timestamptz, timestamptz, interval) IS
    'Partial state of kpi.retention_rate with a period, to store and combine with kpi.rollup (set union)';
CREATE AGGREGATE @extschema@.rollup(@extschema@.retention_state) (
    SFUNC = @extschema@.retention_combine, STYPE = @extschema@.retention_state,
    FINALFUNC = @extschema@.retention_final, COMBINEFUNC = @extschema@.retention_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.retention_state) IS
    'Union of kpi.retention_state values built with the same cutoff (e.g. per segment into all); NULL states are skipped';

CREATE AGGREGATE @extschema@.cohort_agg(anyelement, timestamptz, text) (
    SFUNC = @extschema@.cohort_accum, STYPE = @extschema@.cohort_state,
    INITCOND = '(v:1,period:none,set:(kind:none,n:0,customers:[]))',
    FINALFUNC = @extschema@.cohort_final, COMBINEFUNC = @extschema@.cohort_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.cohort_agg(anyelement, timestamptz, text) IS
    'Cohort state (customer_id, ordered_at, period): periods day, week (ISO, Monday), month, quarter or year of UTC; read it with kpi.cohorts';
CREATE AGGREGATE @extschema@.cohort_agg(anyelement, timestamp, text) (
    SFUNC = @extschema@.cohort_accum, STYPE = @extschema@.cohort_state,
    INITCOND = '(v:1,period:none,set:(kind:none,n:0,customers:[]))',
    FINALFUNC = @extschema@.cohort_final, COMBINEFUNC = @extschema@.cohort_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.cohort_agg(anyelement, timestamp, text) IS
    'Cohort state (customer_id, ordered_at, period) of timestamps without time zone, taken as they are; read it with kpi.cohorts';
CREATE AGGREGATE @extschema@.rollup(@extschema@.cohort_state) (
    SFUNC = @extschema@.cohort_combine, STYPE = @extschema@.cohort_state,
    FINALFUNC = @extschema@.cohort_final, COMBINEFUNC = @extschema@.cohort_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.cohort_state) IS
    'Union of kpi.cohort_state values of the same period (e.g. monthly states into all time); NULL states are skipped';

CREATE AGGREGATE @extschema@.repeat_rate(anyelement) (
    SFUNC = @extschema@.repeat_accum, STYPE = @extschema@.repeat_state,
    INITCOND = '(v:1,kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.repeat_rate, COMBINEFUNC = @extschema@.repeat_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.repeat_rate(anyelement) IS
    'Repeat purchase rate (customer_id) of an order table: the share of customers with at least 2 rows';
CREATE AGGREGATE @extschema@.repeat_rate(anyelement, anycompatible) (
    SFUNC = @extschema@.repeat_accum, STYPE = @extschema@.repeat_state,
    INITCOND = '(v:1,kind:none,order_kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.repeat_rate, COMBINEFUNC = @extschema@.repeat_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.repeat_rate(anyelement, anycompatible) IS
    'Repeat purchase rate (customer_id, order_id) of an order-line table: the share of customers with at least 2 distinct orders';
CREATE AGGREGATE @extschema@.purchase_frequency(anyelement) (
    SFUNC = @extschema@.repeat_accum, STYPE = @extschema@.repeat_state,
    INITCOND = '(v:1,kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.purchase_frequency, COMBINEFUNC = @extschema@.repeat_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.purchase_frequency(anyelement) IS
    'Purchase frequency (customer_id) of an order table: rows per distinct customer';
CREATE AGGREGATE @extschema@.purchase_frequency(anyelement, anycompatible) (
    SFUNC = @extschema@.repeat_accum, STYPE = @extschema@.repeat_state,
    INITCOND = '(v:1,kind:none,order_kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.purchase_frequency, COMBINEFUNC = @extschema@.repeat_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.purchase_frequency(anyelement, anycompatible) IS
    'Purchase frequency (customer_id, order_id) of an order-line table: distinct orders per distinct customer';
CREATE AGGREGATE @extschema@.repeat_agg(anyelement) (
    SFUNC = @extschema@.repeat_accum, STYPE = @extschema@.repeat_state,
    INITCOND = '(v:1,kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.repeat_final, COMBINEFUNC = @extschema@.repeat_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.repeat_agg(anyelement) IS
    'Partial state of kpi.repeat_rate / kpi.purchase_frequency over order rows, to store and combine with kpi.rollup';
CREATE AGGREGATE @extschema@.repeat_agg(anyelement, anycompatible) (
    SFUNC = @extschema@.repeat_accum, STYPE = @extschema@.repeat_state,
    INITCOND = '(v:1,kind:none,order_kind:none,n:0,customers:[])',
    FINALFUNC = @extschema@.repeat_final, COMBINEFUNC = @extschema@.repeat_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.repeat_agg(anyelement, anycompatible) IS
    'Partial state of kpi.repeat_rate / kpi.purchase_frequency over order lines, to store and combine with kpi.rollup';
CREATE AGGREGATE @extschema@.rollup(@extschema@.repeat_state) (
    SFUNC = @extschema@.repeat_combine, STYPE = @extschema@.repeat_state,
    FINALFUNC = @extschema@.repeat_final, COMBINEFUNC = @extschema@.repeat_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.repeat_state) IS
    'Combine kpi.repeat_state values (row counts add up, orders unite); NULL states are skipped';

CREATE AGGREGATE @extschema@.aov(numeric, anyelement) (
    SFUNC = @extschema@.aov_lines_accum, STYPE = @extschema@.aov_lines_state,
    INITCOND = '(v:1,amounts:(v:1,n:0),orders:(kind:none,n:0,orders:[]))',
    FINALFUNC = @extschema@.aov, COMBINEFUNC = @extschema@.aov_lines_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.aov(numeric, anyelement) IS
    'Order-line AOV (amount, order_id): sum of line amounts / number of distinct orders; equals sum(amount) / count(DISTINCT order_id) exactly';
CREATE AGGREGATE @extschema@.aov_agg(numeric, anyelement) (
    SFUNC = @extschema@.aov_lines_accum, STYPE = @extschema@.aov_lines_state,
    INITCOND = '(v:1,amounts:(v:1,n:0),orders:(kind:none,n:0,orders:[]))',
    FINALFUNC = @extschema@.aov_lines_final, COMBINEFUNC = @extschema@.aov_lines_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.aov_agg(numeric, anyelement) IS
    'Partial state of the order-line kpi.aov(amount, order_id), to store and combine with kpi.rollup';
CREATE AGGREGATE @extschema@.rollup(@extschema@.aov_lines_state) (
    SFUNC = @extschema@.aov_lines_combine, STYPE = @extschema@.aov_lines_state,
    FINALFUNC = @extschema@.aov_lines_final, COMBINEFUNC = @extschema@.aov_lines_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.aov_lines_state) IS
    'Combine kpi.aov_lines_state values (amounts add up, orders unite); NULL states are skipped';
