-- Webshop funnel over about 5.3M events in 700k sessions: sessions that
-- reach view -> cart -> checkout -> purchase within 1 hour of the view,
-- the whole funnel in one aggregate (issue 5, default mode).
-- Target: kpi at least 10x faster; same answer.
-- @needs events
-- @kpi
SELECT kpi.funnel(session_id, ts, interval '1 hour',
		event_type = 'view', event_type = 'cart', event_type = 'checkout', event_type = 'purchase') AS funnel
FROM bench_events
-- @sql
-- The exact semantics in window functions.  For every view, the chain that
-- takes the earliest cart at or after it, the earliest checkout at or after
-- that cart and the earliest purchase at or after that checkout is the best
-- chain starting there (earliest choices never hurt).  Each "earliest ... at
-- or after" is a running min() over the session's events in reverse (ts,
-- step) order; stacking three such passes carries the later steps' times
-- back to the view.  A view reaches step k if the k-th time is at most
-- 1 hour after it; a session's level is its best view's.  The three passes
-- share one sort; a self-join per step would multiply rows instead.
WITH steps AS (
	SELECT session_id, ts,
		CASE event_type WHEN 'view' THEN 1 WHEN 'cart' THEN 2 WHEN 'checkout' THEN 3 WHEN 'purchase' THEN 4 END AS step
	FROM bench_events
	WHERE event_type IN ('view', 'cart', 'checkout', 'purchase')
), purchase_after AS (
	SELECT session_id, ts, step,
		min(ts) FILTER (WHERE step = 4) OVER later AS t4
	FROM steps
	WINDOW later AS (PARTITION BY session_id ORDER BY ts DESC, step DESC)
), checkout_after AS (
	SELECT session_id, ts, step,
		min(ts) FILTER (WHERE step = 3) OVER later AS t3,
		min(t4) FILTER (WHERE step = 3) OVER later AS t34
	FROM purchase_after
	WINDOW later AS (PARTITION BY session_id ORDER BY ts DESC, step DESC)
), cart_after AS (
	SELECT session_id, ts, step,
		min(ts) FILTER (WHERE step = 2) OVER later AS t2,
		min(t3) FILTER (WHERE step = 2) OVER later AS t23,
		min(t34) FILTER (WHERE step = 2) OVER later AS t234
	FROM checkout_after
	WINDOW later AS (PARTITION BY session_id ORDER BY ts DESC, step DESC)
), levels AS (
	SELECT session_id,
		max(CASE
			WHEN t234 <= ts + interval '1 hour' THEN 4
			WHEN t23 <= ts + interval '1 hour' THEN 3
			WHEN t2 <= ts + interval '1 hour' THEN 2
			ELSE 1
		END) AS level
	FROM cart_after
	WHERE step = 1
	GROUP BY session_id
)
SELECT ARRAY[count(*), count(*) FILTER (WHERE level >= 2), count(*) FILTER (WHERE level >= 3),
		count(*) FILTER (WHERE level >= 4)] AS funnel
FROM levels
