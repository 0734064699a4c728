-- Funnel level per session (GROUP BY session_id, ClickHouse windowFunnel
-- style), summarised as sessions per level 0..4 (issue 5).
-- @needs events
-- @kpi
SELECT level, count(*) AS sessions
FROM (
	SELECT session_id, kpi.window_funnel(interval '1 hour', ts,
			event_type = 'view', event_type = 'cart', event_type = 'checkout', event_type = 'purchase') AS level
	FROM bench_events
	GROUP BY session_id
) AS s
GROUP BY level
-- @sql
-- The window-function formulation of 30_funnel.sql, with level 0 for
-- sessions that have no view.
WITH steps AS (
	SELECT session_id, ts,
		CASE event_type WHEN 'view' THEN 1 WHEN 'cart' THEN 2 WHEN 'checkout' THEN 3 WHEN 'purchase' THEN 4 END AS step
	FROM bench_events
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
		coalesce(max(CASE
			WHEN t234 <= ts + interval '1 hour' THEN 4
			WHEN t23 <= ts + interval '1 hour' THEN 3
			WHEN t2 <= ts + interval '1 hour' THEN 2
			ELSE 1
		END) FILTER (WHERE step = 1), 0) AS level
	FROM cart_after
	GROUP BY session_id
)
SELECT level, count(*) AS sessions
FROM levels
GROUP BY level
