-- online_retail: the customer-set KPIs on the UCI Online Retail invoices
-- (data/online_retail, CC BY 4.0; KPI_DATA_DIR is set by scripts/check),
-- each against an independent plain-SQL computation.
\getenv data_dir KPI_DATA_DIR
SET extra_float_digits = 0;
CREATE TABLE online_retail (
    invoice_no text, stock_code text, description text, quantity integer,
    invoice_date timestamp, unit_price numeric(12,3), customer_id integer, country text);
\set copy_cmd 'gzip -dc ' :data_dir '/online_retail/online_retail.csv.gz'
COPY online_retail FROM PROGRAM :'copy_cmd' WITH (FORMAT csv, HEADER true);
SELECT count(*) AS lines FROM online_retail;
-- invoice lines of known customers, not cancelled; dates in UTC as given
CREATE TABLE lines AS
SELECT invoice_no, customer_id, invoice_date AT TIME ZONE 'UTC' AS at, quantity * unit_price AS amount, country
FROM online_retail WHERE invoice_no NOT LIKE 'C%' AND customer_id IS NOT NULL;
CREATE INDEX ON lines (customer_id, at);
ANALYZE lines;

-- Month-over-month retention, 2011-01 .. 2011-11: of the customers with an
-- order in the month before the cutoff, the share ordering in the month after.
SELECT to_char(c, 'YYYY-MM') AS cutoff, k.rate, k.rate = s.rate AS same
FROM generate_series(timestamptz '2011-01-01 00:00+00', '2011-11-01 00:00+00', '1 month') c
CROSS JOIN LATERAL (SELECT kpi.retention_rate(customer_id, at, c, interval '1 month') AS rate FROM lines) k
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM lines a WHERE a.customer_id = b.customer_id
                                          AND a.at >= c AND a.at < c + interval '1 month'))::float8 / count(*) AS rate
    FROM (SELECT DISTINCT customer_id FROM lines WHERE at >= c - interval '1 month' AND at < c) b) s
ORDER BY 1;

-- Repeat purchase rate and purchase frequency over invoices (distinct orders).
SELECT k.rate, k.freq, k.rate = s.rate AS rate_same, k.freq = s.freq AS freq_same
FROM (SELECT kpi.repeat_rate(customer_id, invoice_no) AS rate,
             kpi.purchase_frequency(customer_id, invoice_no) AS freq FROM lines) k,
     (SELECT count(*) FILTER (WHERE n >= 2)::float8 / count(*) AS rate, sum(n)::float8 / count(*) AS freq
      FROM (SELECT customer_id, count(DISTINCT invoice_no) AS n FROM lines GROUP BY 1) c) s;

-- The monthly cohort table, against min() OVER and a generated triangle.
CREATE TEMP TABLE kpi_cohorts AS
SELECT * FROM kpi.cohorts((SELECT kpi.cohort_agg(customer_id, at, 'month') FROM lines));
CREATE TEMP TABLE sql_cohorts AS
WITH act AS (SELECT DISTINCT customer_id, date_trunc('month', at AT TIME ZONE 'UTC')::date AS m FROM lines),
     firsts AS (SELECT customer_id, m, min(m) OVER (PARTITION BY customer_id) AS cohort FROM act),
     sizes AS (SELECT cohort, count(*) AS n FROM firsts WHERE m = cohort GROUP BY 1),
     cells AS (SELECT cohort, m, count(*) AS active FROM firsts GROUP BY 1, 2)
SELECT s.cohort, (extract(year FROM age(g, s.cohort)) * 12 + extract(month FROM age(g, s.cohort)))::integer AS period_offset,
       s.n AS cohort_customers, coalesce(c.active, 0) AS active_customers,
       coalesce(c.active, 0)::float8 / s.n AS retention
FROM sizes s CROSS JOIN LATERAL generate_series(s.cohort, (SELECT max(m) FROM act), interval '1 month') g
LEFT JOIN cells c ON c.cohort = s.cohort AND c.m = g::date;
SELECT (SELECT count(*) FROM kpi_cohorts) AS cells,
       (SELECT count(*) FROM (SELECT * FROM kpi_cohorts EXCEPT ALL SELECT * FROM sql_cohorts) d) AS kpi_only,
       (SELECT count(*) FROM (SELECT * FROM sql_cohorts EXCEPT ALL SELECT * FROM kpi_cohorts) d) AS sql_only;
SELECT cohort, period_offset, cohort_customers, active_customers, round(retention::numeric, 4) AS retention
FROM kpi_cohorts WHERE cohort = '2010-12-01' ORDER BY period_offset;

-- Line-level AOV per country: sum of lines / distinct invoices.
SELECT count(*) AS countries, count(*) FILTER (WHERE k.aov::text IS DISTINCT FROM s.aov::text) AS differing
FROM (SELECT country, kpi.aov(amount, invoice_no) AS aov FROM lines GROUP BY 1) k
FULL JOIN (SELECT country, sum(amount) / count(DISTINCT invoice_no) AS aov FROM lines GROUP BY 1) s USING (country);
SELECT country, kpi.aov(amount, invoice_no) AS aov, kpi.aov_count(kpi.aov_agg(amount, invoice_no)) AS invoices
FROM lines WHERE country IN ('United Kingdom', 'Germany', 'France', 'EIRE') GROUP BY 1 ORDER BY 1;
