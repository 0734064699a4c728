-- Per-customer 12-month CLV (1 % monthly discount) for 200k customers from
-- a stored model and their RFM summaries (issue 6).  Target: under 2 s.
-- The check: every customer gets a finite, non-negative value.
-- @needs clv
-- @setup
DROP TABLE IF EXISTS bench_clv_rfm, bench_clv_model;
CREATE TABLE bench_clv_rfm AS
SELECT customer_id, kpi.rfm_agg(ordered_at, amount, timestamptz '2024-09-30 00:00:00+00') AS rfm
FROM bench_clv_orders
GROUP BY customer_id;
VACUUM (ANALYZE) bench_clv_rfm;
CREATE TABLE bench_clv_model AS SELECT kpi.clv_fit(rfm) AS model FROM bench_clv_rfm;
-- @kpi
SELECT r.customer_id, kpi.clv(m.model, r.rfm, interval '12 months', 0.01) AS clv
FROM bench_clv_rfm AS r CROSS JOIN bench_clv_model AS m
-- @check
SELECT count(*) FILTER (WHERE c.clv >= 0 AND c.clv < 'Infinity') = (SELECT count(*) FROM bench_clv_rfm)
FROM (
	SELECT kpi.clv(m.model, r.rfm, interval '12 months', 0.01) AS clv
	FROM bench_clv_rfm AS r CROSS JOIN bench_clv_model AS m
) AS c
