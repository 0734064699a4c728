/*
 * bench/generate/events.sql
 *	  bench_events: a webshop click stream (view -> cart -> checkout ->
 *	  purchase) for the funnel benchmarks.
 *
 * psql variable: sessions.  Deterministic (prng.sql).  Per session:
 * - user_id: sessions / 4 users, skewed (user = 1 + floor(users u^2)).
 * - start: a day of 2024-2025, time of day (Europe/Stockholm) 75 % normal
 *   around 13:00 (sd 3.5 h), 25 % uniform; length D = 60 s + 900 s E.
 * - 1 + floor(6.5 E) product views (mean 7, at most 60): the first at the
 *   start, the others uniform in [0, D).
 * - 30 % put something in the cart (1 or, for 35 % of those, 2 cart
 *   events, uniform in [0, D)); 55 % of those check out (at D plus
 *   300 s E); 70 % of those buy, 2 min E later, or 1 h to 49 h later for
 *   12 % of them, which a 1-hour funnel window must not count.
 * - 4 % of sessions start with the cart (carts in [0, D/2), views in
 *   [D/2, D)); 2 % are re-orders: no product view, a purchase in [0, D)
 *   (and maybe the cart events above), so they never enter the funnel.
 * - whole seconds, so steps tie now and then.
 * About 7.7 events per session: 5.4 million for the default 700k sessions.
 * Stored in time order, like an event log, with an index on
 * (session_id, ts).
 */
\set ON_ERROR_STOP 1
SET work_mem = '1GB';
SET maintenance_work_mem = '1GB';
SET max_parallel_workers_per_gather = 0;

DROP TABLE IF EXISTS bench_events;

CREATE UNLOGGED TABLE bench_events AS
WITH drawn AS (
	SELECT id AS session_id,
		1 + floor(:sessions / 4 * bench.u(id, 401) ^ 2)::integer AS user_id,
		floor(bench.u(id, 402) * 731)::integer AS day,
		CASE
			WHEN bench.u(id, 403) < 0.75 THEN least(greatest(floor((13.0 + 3.5 * bench.z(id, 404)) * 3600), 0), 86399)
			ELSE floor(bench.u(id, 405) * 86400)
		END AS second_of_day,
		60 + floor(900 * bench.e(id, 406)) AS duration,
		CASE
			WHEN bench.u(id, 417) < 0.02 THEN 0
			ELSE 1 + least(floor(6.5 * bench.e(id, 407)), 59)::integer
		END AS n_views,
		bench.u(id, 408) < 0.04 AS cart_first,
		CASE WHEN bench.u(id, 409) < 0.30 THEN 1 + (bench.u(id, 410) < 0.35)::integer ELSE 0 END AS n_carts,
		bench.u(id, 411) < 0.55 AS checks_out,
		bench.u(id, 412) < 0.70 AS buys,
		floor(300 * bench.e(id, 413)) AS checkout_delay,
		CASE
			WHEN bench.u(id, 414) < 0.12 THEN 3600 + floor(172800 * bench.u(id, 415))
			ELSE floor(120 * bench.e(id, 416))
		END AS purchase_delay,
		bench.u(id, 417) < 0.02 AS reorders
	FROM generate_series(1, :sessions) AS id
), sessions AS (
	SELECT *,
		((date '2024-01-01' + day) + make_interval(secs => second_of_day)) AT TIME ZONE 'Europe/Stockholm'
			AS start_ts
	FROM drawn
)
SELECT session_id, user_id, event_type, ts
FROM (
	SELECT session_id, user_id, 'view' AS event_type,
		start_ts + make_interval(secs => CASE
			WHEN cart_first THEN floor(duration * (0.5 + 0.5 * bench.u(session_id * 64 + j, 420)))
			WHEN j = 1 THEN 0
			ELSE floor(duration * bench.u(session_id * 64 + j, 420))
		END) AS ts
	FROM sessions, generate_series(1, n_views) AS j
	UNION ALL
	SELECT session_id, user_id, 'cart',
		start_ts + make_interval(secs => floor(duration * bench.u(session_id * 64 + j, 421)
			* CASE WHEN cart_first THEN 0.5 ELSE 1.0 END))
	FROM sessions, generate_series(1, n_carts) AS j
	UNION ALL
	SELECT session_id, user_id, 'checkout',
		start_ts + make_interval(secs => duration + checkout_delay)
	FROM sessions
	WHERE n_carts > 0 AND checks_out
	UNION ALL
	SELECT session_id, user_id, 'purchase',
		start_ts + make_interval(secs => duration + checkout_delay + purchase_delay)
	FROM sessions
	WHERE n_carts > 0 AND checks_out AND buys
	UNION ALL
	SELECT session_id, user_id, 'purchase',
		start_ts + make_interval(secs => floor(duration * bench.u(session_id, 422)))
	FROM sessions
	WHERE reorders
) AS events
ORDER BY ts, session_id, event_type;

CREATE INDEX bench_events_session_idx ON bench_events (session_id, ts);
VACUUM (ANALYZE) bench_events;
