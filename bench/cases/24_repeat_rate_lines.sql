-- Repeat purchase rate (share of customers with at least 2 distinct
-- orders) and purchase frequency (distinct orders per customer) on the
-- order-line table (issue 4).
-- @needs order_lines
-- @compare tolerance 1e-12
-- @kpi
SELECT kpi.repeat_rate(customer_id, order_id) AS repeat_rate,
	kpi.purchase_frequency(customer_id, order_id) AS purchase_frequency
FROM bench_order_lines
-- @sql
-- Distinct orders per customer, then the two ratios.
SELECT count(*) FILTER (WHERE orders >= 2)::float8 / nullif(count(*), 0) AS repeat_rate,
	sum(orders)::float8 / nullif(count(*), 0) AS purchase_frequency
FROM (
	SELECT customer_id, count(DISTINCT order_id) AS orders
	FROM bench_order_lines
	WHERE customer_id IS NOT NULL
	GROUP BY customer_id
) AS c
