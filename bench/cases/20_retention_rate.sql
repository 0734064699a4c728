-- Customer retention: of the customers who ordered in 2024 (before the
-- cutoff 2025-01-01), the share who ordered again in 2025 (issue 4).
-- Target: kpi at least 3x faster; same answer.
-- @needs orders
-- @compare tolerance 1e-12
-- @kpi
SELECT kpi.retention_rate(customer_id, ordered_at, timestamptz '2025-01-01 00:00:00+00') AS retention
FROM bench_orders
-- @sql
-- The distinct customers before the cutoff, each probed with EXISTS for an
-- order at or after it (the (customer_id, ordered_at) index serves it).
SELECT count(*) FILTER (WHERE EXISTS (
			SELECT 1 FROM bench_orders AS a
			WHERE a.customer_id = b.customer_id AND a.ordered_at >= timestamptz '2025-01-01 00:00:00+00'
		))::float8 / nullif(count(*), 0) AS retention
FROM (
	SELECT DISTINCT customer_id
	FROM bench_orders
	WHERE ordered_at < timestamptz '2025-01-01 00:00:00+00' AND customer_id IS NOT NULL
) AS b
