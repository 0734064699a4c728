-- Quarter-over-quarter retention per segment as in retention_segment, with
-- the kpi query a user may write first: the period argument alone, no
-- WHERE (issue 4).  The answer is the same, but PostgreSQL groups all 5M
-- rows by their text segment before kpi sees them and drops the 3 of 4
-- outside the two quarters: the grouping takes about half of the kpi
-- query's time, while the SQL side filters first.  Kept to show why the
-- README advises the WHERE.
-- The quarter bounds are literals: "cutoff - interval '3 months'" is a
-- stable expression (it depends on the time zone), which a WHERE
-- evaluates again for every row.
-- @needs orders
-- @compare tolerance 1e-12
-- @kpi
SELECT segment,
	kpi.retention_rate(customer_id, ordered_at, timestamptz '2025-07-01 00:00:00+00', interval '3 months') AS retention
FROM bench_orders
GROUP BY segment
-- @sql
-- Distinct (segment, customer) pairs in the base quarter, EXISTS into the
-- next quarter, grouped by segment.
SELECT b.segment,
	count(*) FILTER (WHERE EXISTS (
			SELECT 1 FROM bench_orders AS a
			WHERE a.customer_id = b.customer_id AND a.segment = b.segment
				AND a.ordered_at >= timestamptz '2025-07-01 00:00:00+00'
				AND a.ordered_at < timestamptz '2025-10-01 00:00:00+00'
		))::float8 / count(*) AS retention
FROM (
	SELECT DISTINCT segment, customer_id
	FROM bench_orders
	WHERE ordered_at >= timestamptz '2025-04-01 00:00:00+00'
		AND ordered_at < timestamptz '2025-07-01 00:00:00+00'
		AND customer_id IS NOT NULL
) AS b
GROUP BY b.segment
