/*
 * bench/generate/orders.sql
 *	  bench_customers and bench_orders: a synthetic B2B order history.
 *
 * psql variables: orders (total rows of bench_orders), customers, and
 * optionally customers_table and orders_table, the names of the two tables
 * (bench_customers and bench_orders by default; run.sh makes the data set
 * with many customers, bench_orders_many, under other names).
 * Deterministic: every value comes from bench.u/z/e of a row key (prng.sql).
 *
 * The shop, as generated:
 * - customers: 15 % distributors, 30 % wholesale, 55 % retail; 60 % were
 *   already customers on 2024-01-01, 40 % start on a day spread over the
 *   first 700 days; 25 % churn (their last possible order day is uniform
 *   between their first day and the end).
 * - activity is heavily skewed: a customer's share of the orders is
 *   proportional to exp(2 z) (z normal, clipped to +-2.5), times 3 for
 *   distributors and 1.5 for wholesale, times the length of their active
 *   period.  Every customer has at least one order; the rest is split by
 *   largest remainder so the total is exact.  At the default scale (5M
 *   orders, 20k customers) the median customer orders about once a month
 *   and the largest about 20 times a day (EDI); at small scales most
 *   customers order a handful of times.
 * - order days are uniform over the customer's active period (a new
 *   customer's first order is on their first day); 85 % of the orders
 *   that fall on a weekend move to a weekday of the same week.  Time of
 *   day, local time in Europe/Stockholm: 88 % in office peaks (normal
 *   around 10:00, sd 1.4 h, and 14:12, sd 1.6 h, clipped to 05:00-22:00),
 *   12 % uniform over the 24 hours.  Whole seconds.
 * - amounts are log-normal around a per-customer level (segment medians
 *   150, 700, 1800; customer sd 0.5, order sd 0.8), rounded to cents and
 *   clamped to the shop's range 20.00 .. 20000.00.
 * - order_id numbers the orders in time order, and the table is stored in
 *   that order (an append-only order table).
 */
\set ON_ERROR_STOP 1
SET work_mem = '1GB';
SET maintenance_work_mem = '1GB';
SET max_parallel_workers_per_gather = 0;

\if :{?customers_table}
\else
\set customers_table bench_customers
\endif
\if :{?orders_table}
\else
\set orders_table bench_orders
\endif

DROP TABLE IF EXISTS :orders_table, :customers_table;

CREATE UNLOGGED TABLE :customers_table AS
WITH draw AS (
	SELECT id,
		CASE
			WHEN bench.u(id, 101) < 0.15 THEN 'distributor'
			WHEN bench.u(id, 101) < 0.45 THEN 'wholesale'
			ELSE 'retail'
		END AS segment,
		CASE WHEN bench.u(id, 102) < 0.6 THEN 0 ELSE floor(bench.u(id, 103) * 700)::integer END AS first_day,
		bench.u(id, 104) < 0.25 AS churns,
		bench.u(id, 105) AS u_last,
		least(greatest(bench.z(id, 106), -2.5), 2.5) AS z_activity,
		bench.z(id, 107) AS z_spend
	FROM generate_series(1, :customers) AS id
), period AS (
	SELECT id, segment, first_day,
		CASE WHEN churns THEN first_day + floor(u_last * (731 - first_day))::integer ELSE 730 END AS last_day,
		z_activity, z_spend
	FROM draw
), weighted AS (
	SELECT id, segment, first_day, last_day,
		exp(2.0 * z_activity)
			* CASE segment WHEN 'distributor' THEN 3.0 WHEN 'wholesale' THEN 1.5 ELSE 1.0 END
			* (last_day - first_day + 1) / 731.0 AS weight,
		ln(CASE segment WHEN 'distributor' THEN 1800.0 WHEN 'wholesale' THEN 700.0 ELSE 150.0 END)
			+ 0.5 * z_spend AS spend_mu
	FROM period
), quota AS (
	SELECT *, weight / sum(weight) OVER () * (:orders - :customers) AS quota
	FROM weighted
), share AS (
	SELECT *, floor(quota)::bigint AS base, quota - floor(quota) AS remainder
	FROM quota
), counted AS (
	SELECT *,
		1 + base + CASE
			WHEN row_number() OVER (ORDER BY remainder DESC, id) <= (:orders - :customers) - sum(base) OVER () THEN 1
			ELSE 0
		END AS n_orders
	FROM share
)
SELECT id::integer AS customer_id, segment, first_day, last_day, weight, spend_mu, n_orders,
	(sum(n_orders) OVER (ORDER BY id) - n_orders)::bigint AS first_key
FROM counted
ORDER BY id;

CREATE UNLOGGED TABLE :orders_table AS
WITH drawn AS (
	SELECT c.customer_id, c.segment, c.spend_mu, k, c.first_key + k AS key,
		CASE
			WHEN k = 0 AND c.first_day > 0 THEN c.first_day
			ELSE c.first_day + floor(bench.u(c.first_key + k, 201) * (c.last_day - c.first_day + 1))::integer
		END AS raw_day
	FROM :customers_table AS c, generate_series(0, c.n_orders - 1) AS k
), dated AS (
	SELECT *,
		CASE	/* day 0 = 2024-01-01 is a Monday: day % 7 >= 5 is a weekend */
			WHEN raw_day % 7 >= 5 AND bench.u(key, 202) < 0.85
				THEN raw_day - raw_day % 7 + floor(bench.u(key, 208) * 5)::integer
			ELSE raw_day
		END AS day,
		CASE
			WHEN bench.u(key, 203) >= 0.88 THEN floor(bench.u(key, 204) * 86400)
			WHEN bench.u(key, 205) < 0.55 THEN
				least(greatest(floor((10.0 + 1.4 * bench.z(key, 206)) * 3600), 5 * 3600), 22 * 3600 - 1)
			ELSE
				least(greatest(floor((14.2 + 1.6 * bench.z(key, 206)) * 3600), 5 * 3600), 22 * 3600 - 1)
		END AS second_of_day
	FROM drawn
), priced AS (
	SELECT customer_id, segment, k,
		((date '2024-01-01' + day) + make_interval(secs => second_of_day)) AT TIME ZONE 'Europe/Stockholm'
			AS ordered_at,
		least(greatest(round(exp(spend_mu + 0.8 * bench.z(key, 207))::numeric, 2), 20.00), 20000.00)
			AS amount
	FROM dated
)
SELECT row_number() OVER (ORDER BY ordered_at, customer_id, k)::bigint AS order_id,
	customer_id, segment, ordered_at, amount::numeric(12,2) AS amount
FROM priced
ORDER BY order_id;

ALTER TABLE :customers_table ADD PRIMARY KEY (customer_id);
ALTER TABLE :orders_table ADD PRIMARY KEY (order_id);
CREATE INDEX ON :orders_table (customer_id, ordered_at);
VACUUM (ANALYZE) :customers_table, :orders_table;
