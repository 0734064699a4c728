/*
 * bench/generate/order_lines.sql
 *	  bench_order_lines: the lines of every order in bench_orders, the way
 *	  ERPs store orders (one row per line, the order id repeated).
 *
 * Needs bench_orders (generate/orders.sql).  Deterministic (prng.sql).
 * - lines per order: n = 1 + floor(2.5 E), E exponential(1), at most 20:
 *   mean 3.0, so about 15 million lines for the default 5 million orders.
 * - line amounts split the order amount, in cents, at integer cut points
 *   c(k) = 1000 k + floor(800 (u - 0.5)) of c(n) = 1000 n: line k gets
 *   floor(cents c(k) / c(n)) - floor(cents c(k - 1) / c(n)).  The lines of
 *   an order sum to its amount exactly and each is at least 0.19 (amount
 *   >= 20.00, cut gaps >= 200 of 20000).  So line-level AOV (sum of lines
 *   / distinct orders) equals avg(amount) over bench_orders; the script
 *   checks the sums.
 * - no index: no case looks lines up.
 */
\set ON_ERROR_STOP 1
SET work_mem = '1GB';
SET max_parallel_workers_per_gather = 0;

/*
 * bench.line_cut(order, k, n): cut point k of n of an order, in units of
 * 1/1000 line.  Not STRICT, so that the planner inlines it (a CASE is not
 * provably strict).
 */
DROP FUNCTION IF EXISTS bench.line_cut(bigint, integer, integer);
CREATE FUNCTION bench.line_cut(order_id bigint, k integer, n integer)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN k = 0 OR k = n THEN 1000 * k
		ELSE 1000 * k + floor(800 * (bench.u(order_id * 32 + k, 302) - 0.5))::bigint
	END
$$;

DROP TABLE IF EXISTS bench_order_lines;

/* OFFSET 0 makes n_lines and cents plain columns, so line_cut is inlined */
CREATE UNLOGGED TABLE bench_order_lines AS
WITH counted AS (
	SELECT order_id, customer_id, ordered_at, (amount * 100)::bigint AS cents,
		least(1 + floor(2.5 * bench.e(order_id, 301))::integer, 20) AS n_lines
	FROM bench_orders
	OFFSET 0
)
SELECT o.order_id, line_no, o.customer_id,
	((o.cents * bench.line_cut(o.order_id, line_no, o.n_lines) / (1000 * o.n_lines)
		- o.cents * bench.line_cut(o.order_id, line_no - 1, o.n_lines) / (1000 * o.n_lines))
		* 0.01)::numeric(12,2) AS amount,
	o.ordered_at
FROM counted AS o, generate_series(1, o.n_lines) AS line_no;

DO $$
BEGIN
	IF (SELECT sum(amount) FROM bench_order_lines) IS DISTINCT FROM (SELECT sum(amount) FROM bench_orders)
		OR (SELECT min(amount) FROM bench_order_lines) <= 0 THEN
		RAISE EXCEPTION 'bench_order_lines do not add up to bench_orders';
	END IF;
END
$$;

VACUUM (ANALYZE) bench_order_lines;
