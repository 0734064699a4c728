-- Two-step AOV: daily kpi.aov_state rows (what a materialized view stores,
-- built in the untimed setup) rolled up to the overall AOV, against avg()
-- over the raw orders (issue 2).  Days are UTC days.
-- @needs orders
-- @setup
DROP TABLE IF EXISTS bench_aov_daily;
CREATE TABLE bench_aov_daily AS
SELECT (ordered_at AT TIME ZONE 'UTC')::date AS day, kpi.aov_agg(amount) AS state
FROM bench_orders
GROUP BY 1;
VACUUM (ANALYZE) bench_aov_daily;
-- @kpi
SELECT kpi.aov(kpi.rollup(state)) AS aov FROM bench_aov_daily
-- @sql
-- Without partial states the raw rows must be read again.
SELECT avg(amount) AS aov FROM bench_orders
