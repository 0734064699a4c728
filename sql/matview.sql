-- matview: states stored in a materialized view, refreshed (also
-- concurrently), rolled up to months, equal the raw-row answers.
CREATE TABLE mv_orders (ordered_at date, amount numeric(12,2));
INSERT INTO mv_orders
SELECT date '2025-01-01' + (i % 120), ((i * 7919) % 100000) / 100.0
FROM generate_series(1, 20000) i;

CREATE MATERIALIZED VIEW daily_aov AS
SELECT ordered_at AS day, kpi.aov_agg(amount) AS state FROM mv_orders GROUP BY 1;
CREATE UNIQUE INDEX ON daily_aov (day);

CREATE VIEW monthly_check AS
SELECT month, s.from_states, r.from_rows
FROM (SELECT date_trunc('month', day)::date AS month, kpi.aov(kpi.rollup(state))::text AS from_states
      FROM daily_aov GROUP BY 1) s
FULL JOIN (SELECT date_trunc('month', ordered_at)::date AS month, avg(amount)::text AS from_rows
           FROM mv_orders GROUP BY 1) r USING (month);

SELECT month, from_states, from_states = from_rows AS same FROM monthly_check ORDER BY 1;

-- New and changed rows: a concurrent refresh updates exactly the changed days.
INSERT INTO mv_orders SELECT date '2025-02-10', 99999.99 FROM generate_series(1, 5);
UPDATE mv_orders SET amount = amount + 0.01 WHERE ordered_at = '2025-03-01';
REFRESH MATERIALIZED VIEW CONCURRENTLY daily_aov;
SELECT count(*) FILTER (WHERE from_states IS DISTINCT FROM from_rows) AS differing_months FROM monthly_check;
REFRESH MATERIALIZED VIEW daily_aov;
SELECT count(*) FILTER (WHERE from_states IS DISTINCT FROM from_rows) AS differing_months FROM monthly_check;

-- Equal states are byte-equal (what the concurrent refresh compares):
-- a day's state built from its rows in reverse order has the same image.
CREATE TYPE state_image AS (s kpi.aov_state);
SELECT count(*) AS days, count(*) FILTER (WHERE NOT (ROW(d.state)::state_image *= ROW(r.s)::state_image)) AS differing_images
FROM daily_aov d
JOIN (SELECT ordered_at, kpi.aov_agg(amount ORDER BY amount DESC) AS s FROM mv_orders GROUP BY 1) r
  ON r.ordered_at = d.day;
