-- Quarter-over-quarter retention per segment: customers with an order in
-- [2025-04-01, 2025-07-01) who order again in [2025-07-01, 2025-10-01),
-- with the period form of kpi.retention_rate and GROUP BY (issue 4).
-- The kpi side bounds its scan to the two quarters with a WHERE, as the
-- README advises (the period argument alone gives the same answer, but
-- then every row of the table is grouped by segment first: see
-- retention_segment_unfiltered).  The quarter bounds are literals on both
-- sides: "cutoff - interval '3 months'" is a stable expression (it depends
-- on the time zone), which a WHERE evaluates again for every row.
-- Target: kpi at least 3x faster; same answer.
-- @needs orders
-- @compare tolerance 1e-12
-- @kpi
SELECT segment,
	kpi.retention_rate(customer_id, ordered_at, timestamptz '2025-07-01 00:00:00+00', interval '3 months') AS retention
FROM bench_orders
WHERE ordered_at >= timestamptz '2025-04-01 00:00:00+00'
	AND ordered_at < timestamptz '2025-10-01 00:00:00+00'
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
