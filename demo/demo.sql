-- demo/demo.sql: kpi on a real wholesaler's orders (UCI Online Retail).
-- Run by scripts/demo inside a throwaway cluster; KPI_DATA_DIR points at data/.
\set ON_ERROR_STOP true
\pset footer off
\getenv data_dir KPI_DATA_DIR
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kpi;

\echo '== Loading 541,909 invoice lines of the UCI Online Retail data set (CC BY 4.0)'
CREATE TABLE online_retail (
    invoice_no text, stock_code text, description text, quantity integer,
    invoice_date timestamp, unit_price numeric(12,3), customer_id integer, country text);
\set copy_cmd 'gzip -dc ' :data_dir '/online_retail/online_retail.csv.gz'
COPY online_retail FROM PROGRAM :'copy_cmd' WITH (FORMAT csv, HEADER true);

-- One row per order: non-cancelled invoices of known customers, ordered at
-- the invoice's first timestamp (UK local time), worth the sum of its lines.
CREATE TABLE orders AS
SELECT invoice_no AS order_id, customer_id,
       CASE WHEN country = 'United Kingdom' THEN 'UK'
            WHEN country IN ('Austria', 'Belgium', 'Cyprus', 'Czech Republic', 'Denmark', 'EIRE',
                             'Finland', 'France', 'Germany', 'Greece', 'Italy', 'Lithuania', 'Malta',
                             'Netherlands', 'Poland', 'Portugal', 'Spain', 'Sweden',
                             'European Community', 'Channel Islands') THEN 'EU and islands'
            ELSE 'rest of world' END AS segment,
       min(invoice_date) AT TIME ZONE 'Europe/London' AS ordered_at,
       sum(quantity * unit_price) AS amount
FROM online_retail
WHERE invoice_no NOT LIKE 'C%' AND customer_id IS NOT NULL
GROUP BY invoice_no, customer_id, country;
SELECT count(*) AS orders, count(DISTINCT customer_id) AS customers FROM orders;

\echo '== Average order value, all orders'
SELECT kpi.aov(amount) AS aov_gbp, avg(amount) AS same_as_avg FROM orders;

\echo '== Average order value per customer segment'
SELECT segment, count(*) AS orders, round(kpi.aov(amount), 2) AS aov_gbp
FROM orders GROUP BY segment ORDER BY aov_gbp DESC;

\echo '== Average order value per month (UK time), with a 3-month rolling AOV'
SELECT to_char(month, 'YYYY-MM') AS month, orders, round(aov, 2) AS aov_gbp,
       round(kpi.aov(kpi.rollup(state) OVER (ORDER BY month ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)), 2) AS rolling_3m_gbp
FROM (SELECT date_trunc('month', ordered_at AT TIME ZONE 'Europe/London') AS month, count(*) AS orders,
             kpi.aov(amount) AS aov, kpi.aov_agg(amount) AS state
      FROM orders GROUP BY 1) m
ORDER BY month;

\echo '== Two-step: daily states in a materialized view, rolled up per quarter'
CREATE MATERIALIZED VIEW daily_aov AS
SELECT (ordered_at AT TIME ZONE 'Europe/London')::date AS day, segment, kpi.aov_agg(amount) AS state
FROM orders GROUP BY 1, 2;
SELECT to_char(date_trunc('quarter', day), 'YYYY-"Q"Q') AS quarter,
       round(kpi.aov(kpi.rollup(state)), 2) AS aov_gbp,
       kpi.aov_count(kpi.rollup(state)) AS orders
FROM daily_aov GROUP BY 1 ORDER BY 1;
\echo 'A stored state (text form, exact):'
SELECT state FROM daily_aov ORDER BY day, segment LIMIT 1;

\echo '== Off-hours orders: placed outside Mon-Fri 08:00-17:00 UK time (kpi.offhours_share)'
-- The calendar reads each order in its own zone with that day's DST rules.
-- The second calendar also closes the desk for lunch.
SELECT coalesce(segment, 'all') AS customer_segment, count(*) AS orders,
       round(100 * kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/London')::numeric, 1) AS offhours_pct,
       round(100 * kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-12:00,13:00-17:00; tz=Europe/London')::numeric, 1) AS with_lunch_break_pct,
       round(100 * kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/London', amount)::numeric, 1) AS offhours_revenue_pct
FROM orders GROUP BY ROLLUP (segment) ORDER BY grouping(segment), 1;

\echo 'When the off-hours orders come in (UK time):'
SELECT to_char(ordered_at AT TIME ZONE 'Europe/London', 'Dy') AS weekday,
       count(*) FILTER (WHERE extract(hour FROM ordered_at AT TIME ZONE 'Europe/London') < 8) AS before_8,
       count(*) FILTER (WHERE extract(hour FROM ordered_at AT TIME ZONE 'Europe/London') >= 17) AS from_17,
       count(*) FILTER (WHERE extract(isodow FROM ordered_at AT TIME ZONE 'Europe/London') > 5) AS weekend
FROM orders
WHERE NOT kpi.is_business_hours(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/London')
GROUP BY 1, extract(isodow FROM ordered_at AT TIME ZONE 'Europe/London')
ORDER BY extract(isodow FROM ordered_at AT TIME ZONE 'Europe/London');

\echo '== Customer lifetime value: BG/NBD + Gamma-Gamma fitted on the orders up to 2011-09-30'
CREATE TABLE customer_rfm AS
SELECT customer_id, kpi.rfm_agg(ordered_at, amount, date '2011-09-30') AS rfm
FROM orders GROUP BY customer_id;
CREATE TABLE clv_model AS SELECT kpi.clv_fit(rfm) AS model FROM customer_rfm;
SELECT round(r::numeric, 3) AS r, round(alpha::numeric, 2) AS alpha_weeks, round(a::numeric, 3) AS a,
       round(b::numeric, 3) AS b, round(p::numeric, 2) AS p, round(q::numeric, 2) AS q,
       round(gamma::numeric, 1) AS gamma, customers, repeat_customers
FROM clv_model, kpi.clv_params(model);

\echo 'Holdout check: purchase days predicted for 2011-10-01 .. 2011-12-09 (10 weeks) and those that happened (the model knows no season: November is the peak)'
SELECT round(sum(kpi.expected_orders(model, rfm, '10 weeks'))) AS predicted,
       (SELECT count(DISTINCT (o.customer_id, (o.ordered_at AT TIME ZONE 'UTC')::date))
        FROM orders o JOIN customer_rfm c USING (customer_id)
        WHERE o.ordered_at >= timestamptz '2011-10-01 00:00:00+00' AND kpi.rfm_frequency(c.rfm) IS NOT NULL) AS actual
FROM customer_rfm, clv_model;

\echo 'The ten most valuable customers over the next 12 months (1 % monthly discount):'
SELECT customer_id, kpi.rfm_frequency(rfm) AS repeat_days, round(kpi.p_alive(model, rfm)::numeric, 3) AS p_alive,
       round(kpi.expected_orders(model, rfm, '12 months')::numeric, 1) AS orders_12m,
       round(kpi.expected_order_value(model, rfm)::numeric, 0) AS order_value_gbp,
       round(kpi.clv(model, rfm, '12 months', 0.01)::numeric, 0) AS clv_gbp
FROM customer_rfm, clv_model
ORDER BY kpi.clv(model, rfm, '12 months', 0.01) DESC NULLS LAST LIMIT 10;

\echo '== One number per segment for a dashboard: mean 12-month CLV per customer, and the textbook formula'
SELECT segment, count(DISTINCT customer_id) AS customers,
       round(kpi.clv_estimate(customer_id, ordered_at, amount), 2) AS clv_12m_gbp,
       round(kpi.clv_simple(customer_id, ordered_at, amount, '1 year'), 2) AS textbook_1y_gbp
FROM orders GROUP BY segment ORDER BY segment;

\echo '== Reorder funnel: customers with a 2nd and a 3rd order within 90 days of an order, per segment'
-- Every order can be any step; strict_increase makes the steps distinct
-- orders at later times.  The median time to step 2 is the typical gap to
-- the next order, to step 3 the time three orders take.
SELECT segment, (s).step, (s).entities AS customers,
       round((s).conversion_from_previous::numeric, 3) AS conversion,
       justify_hours(date_trunc('hour', (s).median_time_to_step)) AS median_time
FROM (SELECT segment, kpi.funnel_steps(kpi.funnel_agg(customer_id, ordered_at, '90 days',
                                                      'strict_increase', true, true, true)) AS s
      FROM orders GROUP BY segment) f
ORDER BY segment, (s).step;

\echo '== Customer retention, month over month (kpi.retention_rate with a period; months of UTC)'
-- Of the customers who ordered in the month before the cutoff, those who
-- ordered again in the month after; "new" ordered in the month after only.
SELECT to_char(cutoff - interval '1 month', 'YYYY-MM') || ' -> ' || to_char(cutoff, 'YYYY-MM') AS months,
       kpi.base_customers(s) AS customers, kpi.retained_customers(s) AS ordered_again,
       round(kpi.retention_rate(s)::numeric, 3) AS retention, kpi.new_customers(s) AS new
FROM generate_series(timestamptz '2011-02-01 00:00+00', '2011-06-01 00:00+00', '1 month') AS cutoff
CROSS JOIN LATERAL (SELECT kpi.retention_agg(customer_id, ordered_at, cutoff, interval '1 month') AS s
                    FROM orders) r
ORDER BY cutoff;

\echo '== Repeat purchases: customers with 2 or more orders, and orders per customer'
SELECT coalesce(segment, 'all') AS customer_segment, count(DISTINCT customer_id) AS customers,
       round(kpi.repeat_rate(customer_id)::numeric, 3) AS repeat_rate,
       round(kpi.purchase_frequency(customer_id)::numeric, 2) AS orders_per_customer
FROM orders GROUP BY ROLLUP (segment) ORDER BY grouping(segment), 1;
\echo 'The same from the invoice lines, counting distinct invoices, with the order-line AOV:'
SELECT round(kpi.repeat_rate(customer_id, invoice_no)::numeric, 3) AS repeat_rate,
       round(kpi.purchase_frequency(customer_id, invoice_no)::numeric, 2) AS orders_per_customer,
       round(kpi.aov(quantity * unit_price, invoice_no), 2) AS aov_gbp
FROM online_retail WHERE invoice_no NOT LIKE 'C%' AND customer_id IS NOT NULL;

\echo '== Monthly cohorts (kpi.cohorts; months of UTC): % of each cohort ordering again 1-3 months later'
-- The data starts in December 2010, so that cohort also holds every older customer.
SELECT to_char(cohort, 'YYYY-MM') AS cohort, max(cohort_customers) AS customers,
       round(100 * max(retention) FILTER (WHERE period_offset = 1)::numeric, 1) AS month_1_pct,
       round(100 * max(retention) FILTER (WHERE period_offset = 2)::numeric, 1) AS month_2_pct,
       round(100 * max(retention) FILTER (WHERE period_offset = 3)::numeric, 1) AS month_3_pct
FROM kpi.cohorts((SELECT kpi.cohort_agg(customer_id, ordered_at, 'month') FROM orders))
WHERE period_offset <= 3
GROUP BY cohort ORDER BY cohort LIMIT 4;
