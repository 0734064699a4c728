-- AOV per customer (about 20k groups): kpi.aov against avg, compared as
-- sets of (customer_id, aov) rows.
-- @needs orders
-- @kpi
SELECT customer_id, kpi.aov(amount) AS aov FROM bench_orders GROUP BY customer_id
-- @sql
SELECT customer_id, avg(amount) AS aov FROM bench_orders GROUP BY customer_id
