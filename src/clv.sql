-- src/clv.sql: customer lifetime value.  The per-customer summary kpi.rfm,
-- the BG/NBD + Gamma-Gamma model kpi.clv_model (fit, parameters,
-- per-customer predictions), and the one-shot aggregates kpi.clv_estimate
-- and kpi.clv_simple over kpi.clv_state.
-- Availability: 0.1.0 (every object in this file)
--
-- Days are UTC calendar days of a timestamptz, whatever the session
-- TimeZone; a date is taken as given.  ordered_at and observed_until are
-- both timestamptz, both date, or timestamptz and date.  Every function
-- is STRICT (rows with a NULL argument are skipped; a NULL model gives NULL
-- predictions) and IMMUTABLE.

CREATE TYPE @extschema@.rfm;
CREATE FUNCTION @extschema@.rfm_in(cstring) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'kpi_rfm_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_out(@extschema@.rfm) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_rfm_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_recv(internal) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'kpi_rfm_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_send(@extschema@.rfm) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_rfm_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.rfm (
    INPUT = @extschema@.rfm_in,
    OUTPUT = @extschema@.rfm_out,
    RECEIVE = @extschema@.rfm_recv,
    SEND = @extschema@.rfm_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.rfm IS
    'One customer''s purchase days and amounts up to observed_until (kpi.rfm_agg ... GROUP BY customer_id); read it with kpi.rfm_frequency, kpi.rfm_recency, kpi.rfm_age, kpi.rfm_monetary_value, kpi.rfm_first_purchase, kpi.rfm_last_purchase, and fit kpi.clv_fit over customers';

CREATE TYPE @extschema@.clv_fit_state;
CREATE FUNCTION @extschema@.clv_fit_state_in(cstring) RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_fit_state_out(@extschema@.clv_fit_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_fit_state_recv(internal) RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_fit_state_send(@extschema@.clv_fit_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.clv_fit_state (
    INPUT = @extschema@.clv_fit_state_in,
    OUTPUT = @extschema@.clv_fit_state_out,
    RECEIVE = @extschema@.clv_fit_state_recv,
    SEND = @extschema@.clv_fit_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.clv_fit_state IS
    'Input of a CLV fit: the RFM summaries (x, t_x, T, m) of many customers (kpi.clv_fit_agg); store it, combine it with kpi.rollup, fit it with kpi.clv_fit';

CREATE TYPE @extschema@.clv_model;
CREATE FUNCTION @extschema@.clv_model_in(cstring) RETURNS @extschema@.clv_model
    AS 'MODULE_PATHNAME', 'kpi_clv_model_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_model_out(@extschema@.clv_model) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_clv_model_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_model_recv(internal) RETURNS @extschema@.clv_model
    AS 'MODULE_PATHNAME', 'kpi_clv_model_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_model_send(@extschema@.clv_model) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_clv_model_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.clv_model (
    INPUT = @extschema@.clv_model_in,
    OUTPUT = @extschema@.clv_model_out,
    RECEIVE = @extschema@.clv_model_recv,
    SEND = @extschema@.clv_model_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.clv_model IS
    'A fitted BG/NBD + Gamma-Gamma model (kpi.clv_fit); read it with kpi.clv_params, apply it with kpi.p_alive, kpi.expected_orders, kpi.expected_order_value and kpi.clv';

CREATE TYPE @extschema@.clv_state;
CREATE FUNCTION @extschema@.clv_state_in(cstring) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_state_out(@extschema@.clv_state) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_clv_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_state_recv(internal) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_state_send(@extschema@.clv_state) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_clv_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE @extschema@.clv_state (
    INPUT = @extschema@.clv_state_in,
    OUTPUT = @extschema@.clv_state_out,
    RECEIVE = @extschema@.clv_state_recv,
    SEND = @extschema@.clv_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.clv_state IS
    'The purchase days and amounts of many customers (kpi.clv_agg); store it, combine it with kpi.rollup, read it with kpi.clv_fit, kpi.clv_estimate and kpi.clv_simple';

-- ---------------------------------------------------------------- kpi.rfm

-- Support functions of kpi.rfm_agg and kpi.rollup(kpi.rfm).
CREATE FUNCTION @extschema@.rfm_accum(@extschema@.rfm, timestamptz, numeric, timestamptz) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'kpi_rfm_accum_timestamptz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_accum(@extschema@.rfm, date, numeric, date) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'kpi_rfm_accum_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_accum(@extschema@.rfm, timestamptz, numeric, date) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'kpi_rfm_accum_timestamptz_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_combine(@extschema@.rfm, @extschema@.rfm) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'kpi_rfm_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_final(@extschema@.rfm) RETURNS @extschema@.rfm
    AS 'MODULE_PATHNAME', 'kpi_rfm_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.rfm_agg(ordered_at timestamptz, amount numeric, observed_until timestamptz) (
    SFUNC = @extschema@.rfm_accum, STYPE = @extschema@.rfm, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.rfm_final, COMBINEFUNC = @extschema@.rfm_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rfm_agg(ordered_at timestamptz, amount numeric, observed_until timestamptz) IS
    'One customer''s RFM summary from its orders up to observed_until (UTC days); use with GROUP BY customer_id';
CREATE AGGREGATE @extschema@.rfm_agg(ordered_at date, amount numeric, observed_until date) (
    SFUNC = @extschema@.rfm_accum, STYPE = @extschema@.rfm, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.rfm_final, COMBINEFUNC = @extschema@.rfm_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rfm_agg(ordered_at date, amount numeric, observed_until date) IS
    'One customer''s RFM summary from its orders up to observed_until (UTC days); use with GROUP BY customer_id';
CREATE AGGREGATE @extschema@.rfm_agg(ordered_at timestamptz, amount numeric, observed_until date) (
    SFUNC = @extschema@.rfm_accum, STYPE = @extschema@.rfm, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.rfm_final, COMBINEFUNC = @extschema@.rfm_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rfm_agg(ordered_at timestamptz, amount numeric, observed_until date) IS
    'One customer''s RFM summary from its orders up to observed_until (UTC days); use with GROUP BY customer_id';
CREATE AGGREGATE @extschema@.rollup(@extschema@.rfm) (
    SFUNC = @extschema@.rfm_combine, STYPE = @extschema@.rfm,
    FINALFUNC = @extschema@.rfm_final, COMBINEFUNC = @extschema@.rfm_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.rfm) IS
    'Combine kpi.rfm values of one customer (e.g. monthly ones); NULL states are skipped';

-- Accessors: NULL when the customer made no purchase up to observed_until.
CREATE FUNCTION @extschema@.rfm_frequency(@extschema@.rfm) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_rfm_frequency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_frequency(@extschema@.rfm) IS
    'x: purchase days after the first one, up to observed_until';
CREATE FUNCTION @extschema@.rfm_recency(@extschema@.rfm) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_rfm_recency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_recency(@extschema@.rfm) IS
    't_x: weeks from the first to the last purchase day';
CREATE FUNCTION @extschema@.rfm_age(@extschema@.rfm) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_rfm_age' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_age(@extschema@.rfm) IS
    'T: weeks from the first purchase day to observed_until';
CREATE FUNCTION @extschema@.rfm_monetary_value(@extschema@.rfm) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_rfm_monetary_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_monetary_value(@extschema@.rfm) IS
    'm: mean amount of the repeat purchase days (same-day orders summed, the first day left out); 0 when x = 0';
CREATE FUNCTION @extschema@.rfm_first_purchase(@extschema@.rfm) RETURNS date
    AS 'MODULE_PATHNAME', 'kpi_rfm_first_purchase' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_first_purchase(@extschema@.rfm) IS
    'The first purchase day (UTC)';
CREATE FUNCTION @extschema@.rfm_last_purchase(@extschema@.rfm) RETURNS date
    AS 'MODULE_PATHNAME', 'kpi_rfm_last_purchase' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_last_purchase(@extschema@.rfm) IS
    'The last purchase day up to observed_until (UTC)';
CREATE FUNCTION @extschema@.rfm_observed_until(@extschema@.rfm) RETURNS date
    AS 'MODULE_PATHNAME', 'kpi_rfm_observed_until' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_observed_until(@extschema@.rfm) IS
    'The last day the summary counts; NULL for a summary of no orders';

-- ------------------------------------------------------------ the fit

-- Support functions of kpi.clv_fit(kpi.rfm), kpi.clv_fit_agg and
-- kpi.rollup(kpi.clv_fit_state).
CREATE FUNCTION @extschema@.clv_fit_accum(@extschema@.clv_fit_state, @extschema@.rfm) RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_fit_combine(@extschema@.clv_fit_state, @extschema@.clv_fit_state) RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_fit_final(@extschema@.clv_fit_state) RETURNS @extschema@.clv_fit_state
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_fit(@extschema@.clv_fit_state) RETURNS @extschema@.clv_model
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_summaries' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit(@extschema@.clv_fit_state) IS
    'Maximum-likelihood BG/NBD + Gamma-Gamma fit on the customers of a kpi.clv_fit_state; NULL when the data cannot identify the model';

CREATE AGGREGATE @extschema@.clv_fit(@extschema@.rfm) (
    SFUNC = @extschema@.clv_fit_accum, STYPE = @extschema@.clv_fit_state, INITCOND = '(v:1,rows:[])',
    FINALFUNC = @extschema@.clv_fit, COMBINEFUNC = @extschema@.clv_fit_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_fit(@extschema@.rfm) IS
    'BG/NBD + Gamma-Gamma model fitted on the customers'' kpi.rfm summaries; NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_fit_agg(@extschema@.rfm) (
    SFUNC = @extschema@.clv_fit_accum, STYPE = @extschema@.clv_fit_state, INITCOND = '(v:1,rows:[])',
    FINALFUNC = @extschema@.clv_fit_final, COMBINEFUNC = @extschema@.clv_fit_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_fit_agg(@extschema@.rfm) IS
    'Partial state of kpi.clv_fit: the customers'' summaries, to store and re-aggregate with kpi.rollup';
CREATE AGGREGATE @extschema@.rollup(@extschema@.clv_fit_state) (
    SFUNC = @extschema@.clv_fit_combine, STYPE = @extschema@.clv_fit_state,
    FINALFUNC = @extschema@.clv_fit_final, COMBINEFUNC = @extschema@.clv_fit_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.clv_fit_state) IS
    'Combine kpi.clv_fit_state values of disjoint sets of customers; NULL states are skipped';

-- --------------------------------------------------- model and predictions

CREATE FUNCTION @extschema@.clv_params(@extschema@.clv_model,
    OUT r double precision, OUT alpha double precision, OUT a double precision,
    OUT b double precision, OUT p double precision, OUT q double precision,
    OUT gamma double precision, OUT customers bigint, OUT repeat_customers bigint,
    OUT loglik_bgnbd double precision, OUT loglik_gg double precision)
    AS 'MODULE_PATHNAME', 'kpi_clv_params' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_params(@extschema@.clv_model) IS
    'Parameters of a CLV model: BG/NBD r, alpha (weeks), a, b; Gamma-Gamma p, q, gamma; customers fitted, those with repeat purchases, and the maximised log-likelihoods';
CREATE FUNCTION @extschema@.p_alive(@extschema@.clv_model, @extschema@.rfm) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_clv_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.p_alive(@extschema@.clv_model, @extschema@.rfm) IS
    'Probability that the customer is still active at observed_until; NULL without purchases';
CREATE FUNCTION @extschema@.expected_orders(@extschema@.clv_model, @extschema@.rfm, horizon interval) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_clv_expected_orders' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_orders(@extschema@.clv_model, @extschema@.rfm, horizon interval) IS
    'Expected purchase days of the customer in the horizon after observed_until (a month is 4.345 weeks); NULL without purchases';
CREATE FUNCTION @extschema@.expected_order_value(@extschema@.clv_model, @extschema@.rfm) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_clv_expected_order_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.expected_order_value(@extschema@.clv_model, @extschema@.rfm) IS
    'Expected amount of one future purchase day of the customer (Gamma-Gamma); NULL without purchases or when q <= 1';
CREATE FUNCTION @extschema@.clv(@extschema@.clv_model, @extschema@.rfm, horizon interval, monthly_discount double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'kpi_clv_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv(@extschema@.clv_model, @extschema@.rfm, horizon interval, monthly_discount double precision) IS
    'Customer lifetime value: sum over months i = 1..n of expected purchases in month i (4.345 weeks) times the expected order value, divided by (1 + monthly_discount)^i; horizon in whole months';

-- ---------------------------------------------- straight from the orders

-- Transition of every kpi.clv_state aggregate: (state, customer_id,
-- ordered_at, amount [, horizon] [, observed_until]); one C function reads
-- the argument types of its call site.
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, timestamptz, numeric) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, date, numeric) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, timestamptz, numeric, timestamptz) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, date, numeric, date) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, timestamptz, numeric, date) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, timestamptz, numeric, interval) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, date, numeric, interval) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, timestamptz, numeric, interval, timestamptz) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, date, numeric, interval, date) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_accum(@extschema@.clv_state, anyelement, timestamptz, numeric, interval, date) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_combine(@extschema@.clv_state, @extschema@.clv_state) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.clv_final(@extschema@.clv_state) RETURNS @extschema@.clv_state
    AS 'MODULE_PATHNAME', 'kpi_clv_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Accessors; also the final functions of the one-step aggregates.
CREATE FUNCTION @extschema@.clv_fit(@extschema@.clv_state) RETURNS @extschema@.clv_model
    AS 'MODULE_PATHNAME', 'kpi_clv_fit_orders' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_fit(@extschema@.clv_state) IS
    'Maximum-likelihood BG/NBD + Gamma-Gamma fit on the customers of a kpi.clv_state; NULL when the data cannot identify the model';
CREATE FUNCTION @extschema@.clv_estimate(@extschema@.clv_state) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_clv_estimate_state' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(@extschema@.clv_state) IS
    'Mean CLV per customer of a kpi.clv_state at 1 % a month over 12 months (or the horizon of the kpi.clv_estimate call that made it); NULL when the data cannot identify the model';
CREATE FUNCTION @extschema@.clv_estimate(@extschema@.clv_state, horizon interval) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_clv_estimate_state_horizon' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_estimate(@extschema@.clv_state, horizon interval) IS
    'Mean CLV per customer of a kpi.clv_state at 1 % a month over a horizon of whole months; NULL when the data cannot identify the model';
CREATE FUNCTION @extschema@.clv_simple(@extschema@.clv_state, lifespan interval) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_clv_simple_state' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_simple(@extschema@.clv_state, lifespan interval) IS
    'Textbook CLV of a kpi.clv_state: AOV x orders per customer per year x lifespan in years; NULL without orders';
CREATE FUNCTION @extschema@.clv_simple_final(@extschema@.clv_state) RETURNS numeric
    AS 'MODULE_PATHNAME', 'kpi_clv_simple_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.clv_simple_final(@extschema@.clv_state) IS
    'Final function of kpi.clv_simple: the textbook CLV over the lifespan the state carries';

CREATE AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at timestamptz, amount numeric) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_final, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at timestamptz, amount numeric) IS
    'Partial state of the CLV aggregates: every customer''s purchase days (ids: integers exactly, other types by a 64-bit hash), observed until the latest order; store it, combine it with kpi.rollup';
CREATE AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at date, amount numeric) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_final, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at date, amount numeric) IS
    'Partial state of the CLV aggregates: every customer''s purchase days (ids: integers exactly, other types by a 64-bit hash), observed until the latest order; store it, combine it with kpi.rollup';
CREATE AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at timestamptz, amount numeric, observed_until timestamptz) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_final, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at timestamptz, amount numeric, observed_until timestamptz) IS
    'Partial state of the CLV aggregates: every customer''s purchase days up to observed_until (UTC days); store it, combine it with kpi.rollup';
CREATE AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at date, amount numeric, observed_until date) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_final, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at date, amount numeric, observed_until date) IS
    'Partial state of the CLV aggregates: every customer''s purchase days up to observed_until (UTC days); store it, combine it with kpi.rollup';
CREATE AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at timestamptz, amount numeric, observed_until date) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_final, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_agg(customer_id anyelement, ordered_at timestamptz, amount numeric, observed_until date) IS
    'Partial state of the CLV aggregates: every customer''s purchase days up to observed_until (UTC days); store it, combine it with kpi.rollup';
CREATE AGGREGATE @extschema@.clv_fit(customer_id anyelement, ordered_at timestamptz, amount numeric, observed_until timestamptz) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_fit, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_fit(customer_id anyelement, ordered_at timestamptz, amount numeric, observed_until timestamptz) IS
    'BG/NBD + Gamma-Gamma model fitted straight from orders, one customer per customer_id, up to observed_until (UTC days); NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_fit(customer_id anyelement, ordered_at date, amount numeric, observed_until date) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_fit, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_fit(customer_id anyelement, ordered_at date, amount numeric, observed_until date) IS
    'BG/NBD + Gamma-Gamma model fitted straight from orders, one customer per customer_id, up to observed_until (UTC days); NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_fit(customer_id anyelement, ordered_at timestamptz, amount numeric, observed_until date) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_fit, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_fit(customer_id anyelement, ordered_at timestamptz, amount numeric, observed_until date) IS
    'BG/NBD + Gamma-Gamma model fitted straight from orders, one customer per customer_id, up to observed_until (UTC days); NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at timestamptz, amount numeric) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_estimate, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at timestamptz, amount numeric) IS
    'Mean 12-month CLV per customer at 1 % a month, from a model fitted on the group''s orders observed until its latest order; NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at date, amount numeric) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_estimate, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at date, amount numeric) IS
    'Mean 12-month CLV per customer at 1 % a month, from a model fitted on the group''s orders observed until its latest order; NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at timestamptz, amount numeric, horizon interval) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_estimate, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at timestamptz, amount numeric, horizon interval) IS
    'Mean CLV per customer at 1 % a month over a horizon of whole months, from a model fitted on the group''s orders observed until its latest order; NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at date, amount numeric, horizon interval) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_estimate, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at date, amount numeric, horizon interval) IS
    'Mean CLV per customer at 1 % a month over a horizon of whole months, from a model fitted on the group''s orders observed until its latest order; NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at timestamptz, amount numeric, horizon interval, observed_until timestamptz) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_estimate, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at timestamptz, amount numeric, horizon interval, observed_until timestamptz) IS
    'Mean CLV per customer at 1 % a month over a horizon of whole months, from a model fitted on the group''s orders up to observed_until (UTC days); NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at date, amount numeric, horizon interval, observed_until date) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_estimate, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at date, amount numeric, horizon interval, observed_until date) IS
    'Mean CLV per customer at 1 % a month over a horizon of whole months, from a model fitted on the group''s orders up to observed_until (UTC days); NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at timestamptz, amount numeric, horizon interval, observed_until date) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_estimate, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_estimate(customer_id anyelement, ordered_at timestamptz, amount numeric, horizon interval, observed_until date) IS
    'Mean CLV per customer at 1 % a month over a horizon of whole months, from a model fitted on the group''s orders up to observed_until (UTC days); NULL when the data cannot identify the model';
CREATE AGGREGATE @extschema@.clv_simple(customer_id anyelement, ordered_at timestamptz, amount numeric, lifespan interval) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_simple_final, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_simple(customer_id anyelement, ordered_at timestamptz, amount numeric, lifespan interval) IS
    'Textbook CLV: AOV (revenue / orders) x orders per customer per year (orders / customers / years from the first to the latest order day) x lifespan in years; NULL without orders';
CREATE AGGREGATE @extschema@.clv_simple(customer_id anyelement, ordered_at date, amount numeric, lifespan interval) (
    SFUNC = @extschema@.clv_accum, STYPE = @extschema@.clv_state, INITCOND = '(v:1)',
    FINALFUNC = @extschema@.clv_simple_final, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.clv_simple(customer_id anyelement, ordered_at date, amount numeric, lifespan interval) IS
    'Textbook CLV: AOV (revenue / orders) x orders per customer per year (orders / customers / years from the first to the latest order day) x lifespan in years; NULL without orders';
CREATE AGGREGATE @extschema@.rollup(@extschema@.clv_state) (
    SFUNC = @extschema@.clv_combine, STYPE = @extschema@.clv_state,
    FINALFUNC = @extschema@.clv_final, COMBINEFUNC = @extschema@.clv_combine,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.rollup(@extschema@.clv_state) IS
    'Combine kpi.clv_state values (e.g. per-month ones); NULL states are skipped';
