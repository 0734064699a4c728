-- Monthly cohort triangle: cohort = UTC month of a customer's first order,
-- active customers and retention at each month offset (issue 4).
-- Target: kpi at least 3x faster; same answer.  Cells with no active
-- customer are absent on the SQL side (none occur at the default scale).
-- @needs orders
-- @compare tolerance 1e-12
-- @kpi
SELECT cohort, period_offset, cohort_customers, active_customers, retention
FROM kpi.cohorts((SELECT kpi.cohort_agg(customer_id, ordered_at, 'month') FROM bench_orders))
-- @sql
-- The usual window-function cohort query: distinct (customer, month), the
-- first month per customer by min() OVER, counts per (cohort, offset), the
-- cohort size from offset 0 by first_value() OVER.
WITH activity AS (
	SELECT DISTINCT customer_id, date_trunc('month', ordered_at AT TIME ZONE 'UTC')::date AS month
	FROM bench_orders
	WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL
), cohorted AS (
	SELECT customer_id, month, min(month) OVER (PARTITION BY customer_id) AS cohort
	FROM activity
), cells AS (
	SELECT cohort,
		((extract(year FROM month) - extract(year FROM cohort)) * 12
			+ extract(month FROM month) - extract(month FROM cohort))::integer AS period_offset,
		count(*) AS active_customers
	FROM cohorted
	GROUP BY 1, 2
)
SELECT cohort, period_offset,
	first_value(active_customers) OVER (PARTITION BY cohort ORDER BY period_offset) AS cohort_customers,
	active_customers,
	active_customers::float8 / first_value(active_customers) OVER (PARTITION BY cohort ORDER BY period_offset) AS retention
FROM cells
