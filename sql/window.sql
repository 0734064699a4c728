-- window: kpi.aov over moving frames uses the inverse transition and
-- matches avg() frame by frame; final functions leave the state intact.
SELECT setseed(0.77);
CREATE TABLE sales AS
SELECT i AS day,
       CASE WHEN i % 9 = 0 THEN NULL
            ELSE round((random() * 1000)::numeric, (i % 4)) END AS amount
FROM generate_series(1, 400) i;

-- 30-day rolling AOV: scales 0..3 enter and leave the frame, so some
-- removals must fall back to recomputing the frame; all frames agree.
SELECT count(*) AS frames,
       count(*) FILTER (WHERE a::text IS DISTINCT FROM b::text) AS differing
FROM (SELECT kpi.aov(amount) OVER w AS a, avg(amount) OVER w AS b
      FROM sales WINDOW w AS (ORDER BY day ROWS BETWEEN 29 PRECEDING AND CURRENT ROW)) t;

-- The same with integer and float8 inputs (float8 amounts here are exact
-- binary fractions, so the rolling sums are exact).
SELECT count(*) FILTER (WHERE a IS DISTINCT FROM b) AS int_differing,
       count(*) FILTER (WHERE c IS DISTINCT FROM d) AS float8_differing
FROM (SELECT kpi.aov(day) OVER w AS a, avg(day) OVER w AS b,
             kpi.aov(amount::int / 4.0::float8) OVER w AS c, avg(amount::int / 4.0::float8) OVER w AS d
      FROM sales WINDOW w AS (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)) t;

-- Frames that empty out (all NULL) give NULL, then recover.
SELECT day, x, kpi.aov(x) OVER (ORDER BY day ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
FROM (VALUES (1, 2.0), (2, NULL), (3, NULL), (4, 5.5), (5, 'NaN'), (6, 1), (7, 2)) t(day, x)
ORDER BY day;

-- A growing frame calls the final function repeatedly on one state.
SELECT day, kpi.aov(x) OVER (ORDER BY day), kpi.aov_count(kpi.aov_agg(x) OVER (ORDER BY day))
FROM (VALUES (1, 1.0), (2, 2.0), (3, 4.0)) t(day, x)
ORDER BY day;

-- Float8 sums that round do not drift: the inverse refuses, the frame is
-- recomputed, and every frame equals a fresh computation.
SELECT count(*) FILTER (WHERE a IS DISTINCT FROM b) AS float8_drift
FROM (SELECT kpi.aov(x) OVER (ORDER BY i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS a,
             (SELECT kpi.aov(y) FROM (VALUES (lag2), (lag1), (x)) v(y)) AS b
      FROM (SELECT i, x, lag(x, 1) OVER (ORDER BY i) AS lag1, lag(x, 2) OVER (ORDER BY i) AS lag2
            FROM (SELECT i, CASE WHEN i % 3 = 0 THEN 1e16 ELSE 1.0 / i END::float8 AS x
                  FROM generate_series(1, 60) i) s) t) u;
