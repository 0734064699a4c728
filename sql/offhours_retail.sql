-- offhours_retail: the off-hours share of a real wholesaler's orders (UCI
-- Online Retail, shipped in data/online_retail, CC BY 4.0) equals an
-- independent plain-SQL computation on the same table.  An order is a
-- non-cancelled invoice with a customer id, placed at the invoice's
-- earliest timestamp, which is UK local time.
-- scripts/check exports KPI_DATA_DIR; a plain "make installcheck" in the
-- source tree finds data/ from the current directory.
\getenv data_dir KPI_DATA_DIR
\if :{?data_dir}
\else
\set data_dir `pwd`/data
\endif
SET extra_float_digits = 0;
CREATE TABLE oh_online_retail (
    invoice_no text, stock_code text, description text, quantity integer,
    invoice_date timestamp, unit_price numeric(12,3), customer_id integer, country text);
\set copy_cmd 'gzip -dc ' :data_dir '/online_retail/online_retail.csv.gz'
COPY oh_online_retail FROM PROGRAM :'copy_cmd' WITH (FORMAT csv, HEADER true);

CREATE TABLE oh_retail_orders AS
SELECT invoice_no, min(invoice_date) AS ordered_at, sum(quantity * unit_price) AS amount
FROM oh_online_retail
WHERE invoice_no NOT LIKE 'C%' AND customer_id IS NOT NULL
GROUP BY invoice_no;
SELECT count(*) AS orders, min(ordered_at) AS first_order, max(ordered_at) AS last_order FROM oh_retail_orders;

-- The independent computation: weekday and wall-clock time with extract
-- and a cast to time, no kpi function involved.
CREATE TABLE oh_retail_reference AS
SELECT count(*) FILTER (WHERE NOT in_hours) AS off, count(*) AS n,
       sum(amount) FILTER (WHERE NOT in_hours) AS off_amount, sum(amount) AS total_amount
FROM (SELECT amount, extract(isodow FROM ordered_at) BETWEEN 1 AND 5
                     AND ordered_at::time >= '08:00' AND ordered_at::time < '17:00' AS in_hours
      FROM oh_retail_orders) o;

-- kpi, on the UK wall-clock times as they are (timestamp), and on the
-- same moments as timestamptz read back in Europe/London.
SELECT s.off, s.n, round(s.share::numeric, 6) AS offhours_share,
       s.share = r.off::float8 / r.n AS share_equals_sql,
       s.off = r.off AND s.n = r.n AS counts_equal_sql,
       s.share_tz = s.share AS timestamptz_same,
       round(s.revenue_share::numeric, 6) AS offhours_revenue_share,
       s.revenue_share = (r.off_amount / r.total_amount)::float8 AS revenue_share_equals_sql
FROM oh_retail_reference r,
     (SELECT kpi.offhours_count(kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00')) AS off,
             kpi.offhours_total(kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00')) AS n,
             kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00') AS share,
             kpi.offhours_share(ordered_at AT TIME ZONE 'Europe/London', 'Mon-Fri 08:00-17:00; tz=Europe/London') AS share_tz,
             kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00', amount) AS revenue_share
      FROM oh_retail_orders) s;

-- Per month (UK time), kpi and SQL agree in every month.
SELECT count(*) AS months,
       count(*) FILTER (WHERE k.share IS DISTINCT FROM q.share) AS differing
FROM (SELECT date_trunc('month', ordered_at) AS month, kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00') AS share
      FROM oh_retail_orders GROUP BY 1) k
FULL JOIN (SELECT date_trunc('month', ordered_at) AS month,
                  count(*) FILTER (WHERE NOT (extract(isodow FROM ordered_at) BETWEEN 1 AND 5
                                              AND ordered_at::time >= '08:00' AND ordered_at::time < '17:00'))::float8
                      / count(*) AS share
           FROM oh_retail_orders GROUP BY 1) q USING (month);
