-- BG/NBD + Gamma-Gamma fit on the CDNOW sample (2,357 customers, 6,919
-- purchases), calibration period up to 1997-09-30 (issue 6).  No SQL
-- equivalent: the check compares the fit with the published estimates
-- (r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4; p 6.25, q 3.74,
-- gamma 15.44).  Target: under 100 ms.
-- @needs cdnow
-- @kpi
SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30') AS model FROM bench_cdnow
-- @check
SELECT round(r::numeric, 3) = 0.243 AND round(alpha::numeric, 3) = 4.414
	AND round(a::numeric, 3) = 0.793 AND round(b::numeric, 3) = 2.426
	AND round(loglik_bgnbd::numeric, 1) = -9582.4
	AND round(p::numeric, 2) = 6.25 AND round(q::numeric, 2) = 3.74 AND round(gamma::numeric, 2) = 15.44
	AND customers = 2357
FROM kpi.clv_params((SELECT kpi.clv_fit(customer_id, ordered_at, amount, date '1997-09-30') FROM bench_cdnow))
