-- AOV over all orders: kpi.aov(numeric) against avg(numeric), which gives
-- the same value by definition (issue 2).  Target: kpi <= 1.10 x avg,
-- serial and parallel.
-- @needs orders
-- @kpi
SELECT kpi.aov(amount) AS aov FROM bench_orders
-- @sql
-- What everyone writes today.
SELECT avg(amount) AS aov FROM bench_orders
