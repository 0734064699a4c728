-- clv: customer lifetime value on the CDNOW sample (Fader & Hardie; shipped
-- in test/data/cdnow with its attribution).  The fit must reproduce the
-- published estimates, the summaries Hardie's own per-customer file, and
-- the predictions the model's formulas written out here in plain SQL.
\getenv test_data KPI_TEST_DATA_DIR
\set transactions :test_data '/cdnow/cdnow_transactions.csv'
\set summary :test_data '/cdnow/cdnow_customers_summary_with_transactions.csv'
CREATE TABLE cdnow (customer_id integer, ordered_at date, amount numeric(12,2));
COPY cdnow FROM :'transactions' WITH (FORMAT csv, HEADER true);
CREATE TABLE hardie (id integer, x integer, t_x numeric, "T" numeric, zbar numeric);
COPY hardie FROM :'summary' WITH (FORMAT csv, HEADER true);
SELECT count(*) AS orders, count(DISTINCT customer_id) AS customers FROM cdnow;
SELECT count(*) AS summaries, count(*) FILTER (WHERE x > 0) AS repeat_customers FROM hardie;

-- Per-customer summaries up to 1997-09-30 (the calibration period).
CREATE TABLE rfm AS
SELECT customer_id, kpi.rfm_agg(ordered_at, amount, date '1997-09-30') AS rfm
FROM cdnow GROUP BY customer_id;

-- Hardie's file: x exactly, t_x and T in weeks and m to his 0.01.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE kpi.rfm_frequency(r.rfm) = h.x) AS x_equal,
       count(*) FILTER (WHERE round(kpi.rfm_recency(r.rfm)::numeric, 2) = h.t_x) AS t_x_equal,
       count(*) FILTER (WHERE round(kpi.rfm_age(r.rfm)::numeric, 2) = h."T") AS T_equal,
       count(*) FILTER (WHERE abs(kpi.rfm_monetary_value(r.rfm) - h.zbar) <= 0.005) AS m_equal
FROM rfm r JOIN hardie h ON h.id = r.customer_id;

-- The definitions in plain SQL: orders of a day are one purchase; x =
-- purchase days after the first; t_x and T in days; m = mean of the repeat
-- days' sums.  Every accessor agrees exactly.
CREATE TABLE plain_rfm AS
WITH days AS (
    SELECT customer_id, ordered_at AS day, sum(amount) AS amount
    FROM cdnow WHERE ordered_at <= date '1997-09-30' GROUP BY 1, 2
), firsts AS (
    SELECT DISTINCT ON (customer_id) customer_id, day AS first_day, amount AS first_amount
    FROM days ORDER BY customer_id, day
)
SELECT customer_id, count(*) - 1 AS x, max(day) - first_day AS t_x,
       date '1997-09-30' - first_day AS "T", first_day, max(day) AS last_day,
       CASE WHEN count(*) > 1 THEN (sum(amount) - first_amount) / (count(*) - 1) ELSE 0 END AS m
FROM days JOIN firsts USING (customer_id)
GROUP BY customer_id, first_day, first_amount;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE kpi.rfm_frequency(r.rfm) = p.x
                          AND kpi.rfm_recency(r.rfm) = p.t_x / 7.0::float8
                          AND kpi.rfm_age(r.rfm) = p."T" / 7.0::float8
                          AND kpi.rfm_monetary_value(r.rfm) = p.m
                          AND kpi.rfm_first_purchase(r.rfm) = p.first_day
                          AND kpi.rfm_last_purchase(r.rfm) = p.last_day
                          AND kpi.rfm_observed_until(r.rfm) = date '1997-09-30') AS all_equal
FROM rfm r JOIN plain_rfm p USING (customer_id);

-- Customer 1, worked out by hand from the raw file: 1997-01-01 29.33,
-- 1997-01-18 29.73, 1997-08-02 14.96, and 1997-12-12 26.48 after the end.
SELECT rfm FROM rfm WHERE customer_id = 1;

-- The fit reproduces the published estimates to the digits shown: BG/NBD
-- r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 (Fader,
-- Hardie & Lee 2005) and Gamma-Gamma p = 6.25, q = 3.74, gamma = 15.44
-- (Fader & Hardie 2013).
CREATE TABLE model AS SELECT kpi.clv_fit(rfm) AS m FROM rfm;
SELECT round(r::numeric, 3) AS r, round(alpha::numeric, 3) AS alpha,
       round(a::numeric, 3) AS a, round(b::numeric, 3) AS b,
       round(loglik_bgnbd::numeric, 1) AS loglik_bgnbd,
       round(p::numeric, 2) AS p, round(q::numeric, 2) AS q, round(gamma::numeric, 2) AS gamma,
       customers, repeat_customers
FROM model, kpi.clv_params(m);

-- The same model, bit for bit, straight from the orders: integer ids,
-- text ids (hashed), dates, timestamptz at noon UTC with a timestamptz or
-- a date observed_until; and through the two-step form split by customer.
SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30')::text = m::text AS from_orders,
       kpi.clv_fit(customer_id::text, ordered_at, amount, date '1997-09-30')::text = m::text AS text_ids,
       kpi.clv_fit(customer_id::bigint, (ordered_at + time '12:00') AT TIME ZONE 'UTC', amount,
                   timestamptz '1997-09-30 23:59:59+00')::text = m::text AS timestamptz,
       kpi.clv_fit(customer_id, (ordered_at + time '12:00') AT TIME ZONE 'UTC', amount,
                   date '1997-09-30')::text = m::text AS timestamptz_date
FROM cdnow, model GROUP BY m::text;
SELECT kpi.clv_fit(kpi.rollup(s))::text = (SELECT m::text FROM model) AS two_step
FROM (SELECT kpi.clv_fit_agg(rfm) AS s FROM rfm GROUP BY customer_id % 7) parts;

-- Integer ids (also through a domain) are kept exactly, other ids by their
-- 64-bit hash.
CREATE DOMAIN clv_customer_number AS bigint;
SELECT kpi.clv_agg(id, date '1997-01-01', 1) AS int_ids,
       kpi.clv_agg(id::clv_customer_number, date '1997-01-01', 1) AS domain_ids,
       kpi.clv_agg(id::text, date '1997-01-01', 1)::text LIKE '(v:1,keys:hash,orders:2,%' AS text_hashed
FROM (VALUES (7), (-3)) v(id);

-- FHL 2005's worked example: with the published parameters, a customer
-- with x = 2, t_x = 30.43 and T = 38.86 weeks (customer 1) expects 1.226
-- purchases in the next 39 weeks.
CREATE TABLE published AS SELECT
    '(v:1,r:0.243,alpha:4.414,a:0.793,b:2.426,p:6.25,q:3.74,gamma:15.44,customers:2357,repeat_customers:946,loglik_bgnbd:-9582.4,loglik_gg:-4055.9)'::kpi.clv_model AS m;
SELECT round(kpi.expected_orders(m, rfm, '39 weeks')::numeric, 3) AS expected_in_39_weeks
FROM published, rfm WHERE customer_id = 1;

-- P(alive) (FHL 2005 eq. 11) and the Gamma-Gamma expected order value,
-- written out in SQL, for every customer.
CREATE TABLE params AS SELECT p.* FROM model, kpi.clv_params(m) p;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE abs(kpi.p_alive(model.m, rfm) - CASE WHEN x = 0 THEN 1 ELSE
           1 / (1 + a / (b + x - 1) * ((alpha + "T" / 7.0) / (alpha + t_x / 7.0)) ^ (r + x)) END) < 1e-13) AS p_alive_equal,
       count(*) FILTER (WHERE abs(kpi.expected_order_value(model.m, rfm)
           - CASE WHEN x = 0 THEN p * gamma / (q - 1)
                  ELSE p * (gamma + x * plain_rfm.m::float8) / (p * x + q - 1) END) < 1e-11) AS order_value_equal
FROM rfm JOIN plain_rfm USING (customer_id), model, params;

-- Expected purchases (FHL 2005 eq. 10) with 2F1 summed term by term in SQL,
-- for customers with x from 0 to 21 and horizons of 10, 39 and 78 weeks.
WITH RECURSIVE cases AS (
    SELECT customer_id, x, t_x / 7.0::float8 AS t_x, "T" / 7.0::float8 AS "T", t, rfm
    FROM plain_rfm JOIN rfm USING (customer_id), (VALUES (10.0::float8), (39), (78)) h(t)
    WHERE customer_id IN (1, 2, 3, 14, 80, 157, 1001, 1516)
), hyp (customer_id, t, n, term, total) AS (
    SELECT customer_id, t, 0, 1.0::float8, 1.0::float8 FROM cases
    UNION ALL
    SELECT h.customer_id, h.t, n + 1,
           term * (r + c.x + n) * (b + c.x + n) / ((a + b + c.x - 1 + n) * (n + 1))
               * (h.t / (alpha + c."T" + h.t)),
           total + term * (r + c.x + n) * (b + c.x + n) / ((a + b + c.x - 1 + n) * (n + 1))
               * (h.t / (alpha + c."T" + h.t))
    FROM hyp h JOIN cases c USING (customer_id, t), params
    WHERE n < 400
), f AS (
    SELECT customer_id, t, total AS f21 FROM hyp WHERE n = 400
)
SELECT c.customer_id, c.x, c.t AS weeks,
       round(kpi.expected_orders(model.m, c.rfm, c.t * interval '1 week')::numeric, 6) AS expected,
       abs(kpi.expected_orders(model.m, c.rfm, c.t * interval '1 week')
           - (a + b + c.x - 1) / (a - 1) * (1 - ((alpha + c."T") / (alpha + c."T" + c.t)) ^ (r + c.x) * f21)
             / (1 + CASE WHEN c.x > 0 THEN a / (b + c.x - 1) * ((alpha + c."T") / (alpha + c.t_x)) ^ (r + c.x) ELSE 0 END))
         < 1e-10 AS same_as_series
FROM cases c JOIN f USING (customer_id, t), model, params
ORDER BY c.customer_id, c.t;

-- CLV: the discounted monthly increments of expected purchases (a month is
-- 4.345 weeks) times the expected order value; without discount, 12
-- months' expected purchases times the expected order value.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE abs(clv - by_months) <= 1e-10 * greatest(clv, 1)) AS clv_equal,
       count(*) FILTER (WHERE abs(undiscounted - by_horizon) <= 1e-10 * greatest(undiscounted, 1)) AS undiscounted_equal,
       round(avg(clv)::numeric, 4) AS mean_clv
FROM (
    SELECT kpi.clv(m, rfm, '12 months', 0.01) AS clv,
           kpi.clv(m, rfm, '1 year', 0) AS undiscounted,
           kpi.expected_orders(m, rfm, '12 months') * kpi.expected_order_value(m, rfm) AS by_horizon,
           (SELECT sum((kpi.expected_orders(m, rfm, i * interval '1 month')
                        - kpi.expected_orders(m, rfm, (i - 1) * interval '1 month')) / 1.01 ^ i)
            FROM generate_series(1, 12) i) * kpi.expected_order_value(m, rfm) AS by_months
    FROM rfm, model
) c;

-- One-shot estimates equal the two-step computation: the mean 12-month CLV
-- at 1 % a month, with the given observed_until, and without it (observed
-- until the latest order of the group).
SELECT round(estimate, 4) AS estimate, abs(estimate - two_step) <= 1e-12 * two_step AS same_as_two_step
FROM (SELECT kpi.clv_estimate(customer_id, ordered_at, amount, '12 months', date '1997-09-30') AS estimate,
             (SELECT avg(kpi.clv(m, rfm, '12 months', 0.01)) FROM rfm, model)::numeric AS two_step
      FROM cdnow) e;
WITH ends AS (SELECT max(ordered_at) AS last_order FROM cdnow),
     full_rfm AS (SELECT kpi.rfm_agg(ordered_at, amount, last_order) AS rfm FROM cdnow, ends GROUP BY customer_id),
     full_model AS (SELECT kpi.clv_fit(rfm) AS m FROM full_rfm)
SELECT (SELECT last_order FROM ends) AS observed_until,
       round((SELECT kpi.clv_estimate(customer_id, ordered_at, amount) FROM cdnow), 4) AS estimate,
       abs((SELECT kpi.clv_estimate(customer_id, ordered_at, amount) FROM cdnow)
           - avg(kpi.clv(m, rfm, '12 months', 0.01))::numeric) <= 1e-12 * 30 AS same_as_two_step,
       round((SELECT kpi.clv_estimate(customer_id, ordered_at, amount, '24 months') FROM cdnow), 4) AS estimate_24,
       abs((SELECT kpi.clv_estimate(customer_id, ordered_at, amount, '24 months') FROM cdnow)
           - avg(kpi.clv(m, rfm, '24 months', 0.01))::numeric) <= 1e-12 * 50 AS same_24
FROM full_rfm, full_model;

-- The textbook formula, its factors in SQL: AOV = revenue / orders;
-- orders per customer per year = orders / customers / (days from the first
-- to the last order, both counted, / 365.25); times the lifespan in years.
SELECT round(kpi.clv_simple(customer_id, ordered_at, amount, '3 years'), 6) AS clv_simple,
       round(((sum(amount) / count(*))
              * (count(*)::numeric / count(DISTINCT customer_id) / ((max(ordered_at) - min(ordered_at) + 1) / 365.25))
              * 3), 6) AS by_hand,
       round(kpi.clv_simple(customer_id, ordered_at, amount, '18 months 73 days'), 6) AS clv_simple_odd,
       round(((sum(amount) / count(*))
              * (count(*)::numeric / count(DISTINCT customer_id) / ((max(ordered_at) - min(ordered_at) + 1) / 365.25))
              * (1.5 + 73 / 365.25)), 6) AS by_hand_odd
FROM cdnow;

-- When the data cannot identify the model the result is NULL, never an
-- error, also next to groups that fit: too few customers, no repeat
-- purchases, every repeat purchase of the same amount.
SELECT segment, count(DISTINCT customer_id) AS customers,
       kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30') IS NOT NULL AS fitted,
       round(kpi.clv_estimate(customer_id, ordered_at, amount), 2) AS estimate
FROM (
    SELECT 'all' AS segment, * FROM cdnow
    UNION ALL SELECT 'nine customers', * FROM cdnow WHERE customer_id <= 9
    UNION ALL SELECT 'first purchases only', customer_id, min(ordered_at), min(amount) FROM cdnow GROUP BY customer_id
    UNION ALL SELECT 'flat spend', customer_id, ordered_at, 10.00 FROM cdnow
) s
GROUP BY segment ORDER BY segment;
SELECT kpi.clv_fit(m) IS NULL AS no_model, kpi.p_alive(NULL::kpi.clv_model, rfm) IS NULL AS no_prediction
FROM (SELECT kpi.clv_fit_agg(rfm) AS m FROM rfm WHERE customer_id <= 9) s, rfm WHERE customer_id = 1;
-- no rows at all
SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30') AS fit,
       kpi.clv_estimate(customer_id, ordered_at, amount) AS estimate,
       kpi.clv_simple(customer_id, ordered_at, amount, '1 year') AS simple,
       kpi.rfm_agg(ordered_at, amount, date '1997-09-30') AS rfm,
       kpi.clv_agg(customer_id, ordered_at, amount) AS state
FROM cdnow WHERE false;
-- a customer whose orders all come after observed_until has no summary
SELECT rfm, kpi.rfm_frequency(rfm), kpi.rfm_first_purchase(rfm), kpi.rfm_observed_until(rfm),
       kpi.p_alive((SELECT m FROM model), rfm)
FROM (SELECT kpi.rfm_agg(ordered_at, amount, date '1996-12-31') AS rfm FROM cdnow WHERE customer_id = 1) s;

-- Errors.
SELECT kpi.rfm_agg(ordered_at, amount, ordered_at) FROM cdnow WHERE customer_id = 1;
SELECT kpi.rfm_agg(ordered_at, 'NaN', date '1997-09-30') FROM cdnow WHERE customer_id = 1;
SELECT kpi.rfm_agg(ordered_at, 1e-40, date '1997-09-30') FROM cdnow WHERE customer_id = 1;
SELECT kpi.rfm_agg(ordered_at, 1e40, date '1997-09-30') FROM cdnow WHERE customer_id = 1;
SELECT kpi.rfm_agg('infinity'::date, 1, date '1997-09-30');
SELECT kpi.rollup(r) FROM (SELECT kpi.rfm_agg(date '1997-01-01', 1, date '1997-09-30')
                           UNION ALL
                           SELECT kpi.rfm_agg(date '1997-01-01', 1, date '1997-10-31')) v(r);
SELECT kpi.clv(m, rfm, '1 year 2 days', 0.01) FROM model, rfm WHERE customer_id = 1;
SELECT kpi.clv(m, rfm, '101 years', 0.01) FROM model, rfm WHERE customer_id = 1;
SELECT kpi.clv(m, rfm, '12 months', -1) FROM model, rfm WHERE customer_id = 1;
SELECT kpi.expected_orders(m, rfm, '-1 day') FROM model, rfm WHERE customer_id = 1;
SELECT kpi.clv_estimate(customer_id, ordered_at, amount, '26 weeks') FROM cdnow;
SELECT kpi.clv_simple(customer_id, ordered_at, amount, '-1 year') FROM cdnow;
SELECT kpi.clv_estimate(customer_id, ordered_at, amount, '12 months', ordered_at) FROM cdnow;
SELECT kpi.clv_estimate(point(customer_id, 0), ordered_at, amount) FROM cdnow;
SELECT kpi.rollup(s) FROM (SELECT kpi.clv_agg(customer_id, ordered_at, amount) FROM cdnow
                           UNION ALL
                           SELECT kpi.clv_agg(customer_id::text, ordered_at, amount) FROM cdnow) v(s);
SELECT kpi.rollup(s) FROM (SELECT kpi.clv_agg(customer_id, ordered_at, amount) FROM cdnow
                           UNION ALL
                           SELECT kpi.clv_agg(customer_id, ordered_at, amount, date '1997-09-30') FROM cdnow) v(s);
SELECT kpi.clv_simple_final(kpi.clv_agg(customer_id, ordered_at, amount)) FROM cdnow;

-- statement_timeout stops a long fit.  The input: CDNOW's histories
-- observed for 50 different lengths (T + 0 to 49 days), 51,500 distinct
-- customer rows, fitted once in full; then again with a timeout of a tenth
-- of that time (at most 100 ms), which must cancel it well before it would
-- have ended.
CREATE TABLE big_fit AS
SELECT ('(v:1,rows:[' || string_agg(format('(%s,%s,%s,%s,1)', x, t_x, "T" + k, m), ',') || '])')::kpi.clv_fit_state AS s
FROM plain_rfm, generate_series(0, 49) k;
CREATE TEMP TABLE timing (what text, ms float8, fitted boolean);
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
    fitted boolean;
BEGIN
    SELECT kpi.clv_fit(s) IS NOT NULL INTO fitted FROM big_fit;
    INSERT INTO timing VALUES ('full', extract(epoch FROM clock_timestamp() - t0) * 1000, fitted);
END $$;
SELECT fitted, set_config('statement_timeout', least(greatest(1, ms / 10), 100)::int || 'ms', false) IS NOT NULL AS timeout_set
FROM timing WHERE what = 'full';
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM kpi.clv_fit(s) FROM big_fit;
    INSERT INTO timing VALUES ('completed', extract(epoch FROM clock_timestamp() - t0) * 1000);
EXCEPTION WHEN query_canceled THEN
    INSERT INTO timing VALUES ('cancelled', extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;
RESET statement_timeout;
SELECT c.what, c.ms < f.ms / 2 AS well_before_the_end
FROM timing c, timing f WHERE f.what = 'full' AND c.what <> 'full';
