-- Webshop funnel with three steps (view -> cart -> purchase within 1 hour
-- of the view) over about 5.3M events in 700k sessions: kpi.funnel
-- against the self-joins most analysts write for a short funnel (issue 5).
-- Target: kpi at least 10x faster; same answer.
-- @needs events
-- @kpi
SELECT kpi.funnel(session_id, ts, interval '1 hour',
		event_type = 'view', event_type = 'cart', event_type = 'purchase') AS funnel
FROM bench_events
-- @sql
-- A session reaches step 2 if some cart is at or after some view and at
-- most 1 hour after it, step 3 if some purchase is at or after that cart
-- and at most 1 hour after the view: one self-join per step, counted
-- with count(DISTINCT).  Equal timestamps count as in order, as in
-- kpi.funnel (a view and a cart at the same second do chain).
WITH views AS (
	SELECT session_id, ts FROM bench_events WHERE event_type = 'view'
), carts AS (
	SELECT session_id, ts FROM bench_events WHERE event_type = 'cart'
), purchases AS (
	SELECT session_id, ts FROM bench_events WHERE event_type = 'purchase'
), to_cart AS (
	SELECT v.session_id, v.ts AS viewed, c.ts AS carted
	FROM views AS v
	JOIN carts AS c ON c.session_id = v.session_id AND c.ts >= v.ts AND c.ts <= v.ts + interval '1 hour'
)
SELECT ARRAY[
	(SELECT count(DISTINCT session_id) FROM views),
	(SELECT count(DISTINCT session_id) FROM to_cart),
	(SELECT count(DISTINCT t.session_id)
	 FROM to_cart AS t
	 JOIN purchases AS p ON p.session_id = t.session_id AND p.ts >= t.carted AND p.ts <= t.viewed + interval '1 hour')
] AS funnel
