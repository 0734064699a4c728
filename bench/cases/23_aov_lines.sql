-- Line-level AOV on an order-line table (about 3 lines per order): sum of
-- line amounts / number of distinct orders (issue 4).  The lines add up
-- to bench_orders, so the value also equals avg(amount) there.
-- Target: kpi at least 2x faster than sum / count(DISTINCT); same answer.
-- @needs order_lines
-- @kpi
SELECT kpi.aov(amount, order_id) AS aov FROM bench_order_lines
-- @sql
-- count(DISTINCT) sorts all lines.
SELECT sum(amount) / count(DISTINCT order_id) AS aov
FROM bench_order_lines
WHERE amount IS NOT NULL
