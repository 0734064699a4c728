-- The one-shot dashboard form: mean 12-month CLV per customer, by segment,
-- straight from the 5M-row order table (kpi.clv_estimate fits one model
-- per segment, issue 6).  The check: one row per segment.
-- @needs orders
-- @kpi
SELECT segment, kpi.clv_estimate(customer_id, ordered_at, amount) AS clv
FROM bench_orders
GROUP BY segment
-- @check
SELECT count(*) = 3
FROM (SELECT segment, kpi.clv_estimate(customer_id, ordered_at, amount) FROM bench_orders GROUP BY segment) AS s
