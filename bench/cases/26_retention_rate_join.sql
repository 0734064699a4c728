-- Customer retention as in retention_rate (2024 customers who ordered
-- again in 2025), against the join of two distinct-customer sets that
-- many analysts write instead of EXISTS (issue 4).
-- Target: kpi at least 3x faster; same answer.
-- @needs orders
-- @compare tolerance 1e-12
-- @kpi
SELECT kpi.retention_rate(customer_id, ordered_at, timestamptz '2025-01-01 00:00:00+00') AS retention
FROM bench_orders
-- @sql
-- Customers before the cutoff LEFT JOIN customers at or after it: two
-- scans, two hash aggregates and a join.
WITH before AS (
	SELECT DISTINCT customer_id FROM bench_orders
	WHERE ordered_at < timestamptz '2025-01-01 00:00:00+00' AND customer_id IS NOT NULL
), after AS (
	SELECT DISTINCT customer_id FROM bench_orders
	WHERE ordered_at >= timestamptz '2025-01-01 00:00:00+00' AND customer_id IS NOT NULL
)
SELECT count(a.customer_id)::float8 / nullif(count(*), 0) AS retention
FROM before AS b LEFT JOIN after AS a USING (customer_id)
