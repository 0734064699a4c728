/*
 * bench/generate/clv.sql
 *	  bench_clv_orders: a CDNOW-like population for the CLV model fits.
 *
 * psql variable: clv_customers (default 200000).  Deterministic (prng.sql).
 * As in CDNOW, every customer makes a first purchase in the first 12 weeks
 * (from 2024-01-01), and purchases are followed for 78 weeks (to
 * 2025-06-29): fit with observed_until = 2024-09-29 (39 weeks), keep the
 * rest as holdout.  Per customer, a repeat-buying process of the kind
 * BG/NBD models (heterogeneous rates, customers that silently drop out):
 * - purchase rate lambda = 0.012 exp(z) a day (median once in 12 weeks);
 * - lifetime L = 250 E days; active span = min(L, end - first purchase);
 * - floor(lambda span E') repeat purchases (at most 200), on days uniform
 *   in the active span (same-day purchases happen and are merged by the
 *   model's conventions);
 * - spend: customer level 35 exp(0.5 z), each purchase that level times
 *   exp(0.4 z' - 0.08), rounded to cents, at least 1.00;
 * - ordered_at is noon UTC of the day.
 * About 4 rows per customer.
 */
\set ON_ERROR_STOP 1
SET work_mem = '1GB';
SET maintenance_work_mem = '1GB';
SET max_parallel_workers_per_gather = 0;

DROP TABLE IF EXISTS bench_clv_orders;

CREATE UNLOGGED TABLE bench_clv_orders AS
WITH drawn AS (
	SELECT id AS customer_id,
		floor(84 * bench.u(id, 501))::integer AS first_day,
		0.012 * exp(bench.z(id, 502)) AS rate,
		250 * bench.e(id, 503) AS lifetime,
		bench.e(id, 504) AS e_count,
		ln(35.0) + 0.5 * bench.z(id, 505) AS spend_mu
	FROM generate_series(1, :clv_customers) AS id
), spans AS (
	SELECT *, least(lifetime, 545 - first_day) AS span
	FROM drawn
), counted AS (
	SELECT *, least(floor(rate * span * e_count), 200)::integer AS n_repeat
	FROM spans
), purchases AS (
	SELECT customer_id, spend_mu, customer_id * 256 + j AS key,
		CASE WHEN j = 0 THEN first_day
			ELSE least(first_day + 1 + floor(bench.u(customer_id * 256 + j, 506) * span)::integer, 545)
		END AS day
	FROM counted, generate_series(0, n_repeat) AS j
)
SELECT customer_id::integer AS customer_id,
	((date '2024-01-01' + day) + interval '12 hours') AT TIME ZONE 'UTC' AS ordered_at,
	greatest(round(exp(spend_mu + 0.4 * bench.z(key, 507) - 0.08)::numeric, 2), 1.00)::numeric(12,2) AS amount
FROM purchases
ORDER BY ordered_at, customer_id;

CREATE INDEX bench_clv_orders_customer_idx ON bench_clv_orders (customer_id, ordered_at);
VACUUM (ANALYZE) bench_clv_orders;
