-- The fit alone: kpi.clv_fit over 200k precomputed per-customer RFM
-- summaries (kpi.rfm_agg ... GROUP BY customer_id, built in the untimed
-- setup), as a nightly job would refit them (issue 6).  Target: under 3 s.
-- @needs clv
-- @setup
DROP TABLE IF EXISTS bench_clv_rfm;
CREATE TABLE bench_clv_rfm AS
SELECT customer_id, kpi.rfm_agg(ordered_at, amount, timestamptz '2024-09-30 00:00:00+00') AS rfm
FROM bench_clv_orders
GROUP BY customer_id;
VACUUM (ANALYZE) bench_clv_rfm;
-- @kpi
SELECT kpi.clv_fit(rfm) AS model FROM bench_clv_rfm
-- @check
SELECT r > 0 AND alpha > 0 AND a > 0 AND b > 0 AND p > 0 AND q > 0 AND gamma > 0
	AND customers = (SELECT count(*) FROM bench_clv_rfm)
FROM kpi.clv_params((SELECT kpi.clv_fit(rfm) FROM bench_clv_rfm))
