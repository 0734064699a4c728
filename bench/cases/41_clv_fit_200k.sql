-- BG/NBD + Gamma-Gamma fit straight from the orders of a generated
-- 200k-customer population (bench_clv_orders, about 1M purchases),
-- calibration up to 2024-09-30 (issue 6).  Target: under 3 s.
-- The check: the fit converged and saw every customer.
-- @needs clv
-- @kpi
SELECT kpi.clv_fit(customer_id, ordered_at, amount, timestamptz '2024-09-30 00:00:00+00') AS model
FROM bench_clv_orders
-- @check
SELECT r > 0 AND alpha > 0 AND a > 0 AND b > 0 AND p > 0 AND q > 0 AND gamma > 0
	AND customers = (SELECT count(DISTINCT customer_id) FROM bench_clv_orders)
FROM kpi.clv_params((
	SELECT kpi.clv_fit(customer_id, ordered_at, amount, timestamptz '2024-09-30 00:00:00+00')
	FROM bench_clv_orders))
