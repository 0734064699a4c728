-- Customer retention as in retention_rate_join (2024 customers who
-- ordered again in 2025, against the join of two distinct-customer sets),
-- on the data set with many small customers: 5M orders from 1M customers
-- (issue 4).
-- Target: kpi at least 3x faster; same answer.
-- @needs orders_many
-- @compare tolerance 1e-12
-- @kpi
SELECT kpi.retention_rate(customer_id, ordered_at, timestamptz '2025-01-01 00:00:00+00') AS retention
FROM bench_orders_many
-- @sql
-- Customers before the cutoff LEFT JOIN customers at or after it.
WITH before AS (
	SELECT DISTINCT customer_id FROM bench_orders_many
	WHERE ordered_at < timestamptz '2025-01-01 00:00:00+00' AND customer_id IS NOT NULL
), after AS (
	SELECT DISTINCT customer_id FROM bench_orders_many
	WHERE ordered_at >= timestamptz '2025-01-01 00:00:00+00' AND customer_id IS NOT NULL
)
SELECT count(a.customer_id)::float8 / nullif(count(*), 0) AS retention
FROM before AS b LEFT JOIN after AS a USING (customer_id)
