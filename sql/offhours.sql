-- offhours: kpi.business_calendar and kpi.is_business_hours semantics,
-- kpi.offhours_share values against hand-computed figures and plain SQL.
SET extra_float_digits = 0;

-- The issue's calendars, in canonical form.
SELECT 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24,2024-12-25,2024-12-26'::kpi.business_calendar;
SELECT 'Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; tz=America/New_York'::kpi.business_calendar;

-- Range boundaries to the second: the start is inside, the end outside.
-- 2024-12-23 is a Monday.
CREATE TABLE oh_moments (label text, t timestamp);
INSERT INTO oh_moments VALUES
    ('Mon 07:59:59.999999', '2024-12-23 07:59:59.999999'),
    ('Mon 08:00:00', '2024-12-23 08:00:00'),
    ('Mon 11:59:59', '2024-12-23 11:59:59'),
    ('Mon 12:00:00 (lunch)', '2024-12-23 12:00:00'),
    ('Mon 12:59:59 (lunch)', '2024-12-23 12:59:59'),
    ('Mon 13:00:00', '2024-12-23 13:00:00'),
    ('Mon 16:59:59.999999', '2024-12-23 16:59:59.999999'),
    ('Mon 17:00:00', '2024-12-23 17:00:00'),
    ('Fri 14:59:59', '2024-12-27 14:59:59'),
    ('Fri 15:00:00', '2024-12-27 15:00:00'),
    ('Sat 10:00:00', '2024-12-28 10:00:00'),
    ('Sun 10:00:00', '2024-12-29 10:00:00'),
    ('Tue 10:00:00 (holiday)', '2024-12-24 10:00:00'),
    ('Wed 10:00:00 (holiday)', '2024-12-25 10:00:00'),
    ('Mon 10:00:00 next week', '2024-12-30 10:00:00');
SELECT label,
       kpi.is_business_hours(t, 'Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; holidays=2024-12-24,2024-12-25') AS business
FROM oh_moments ORDER BY t;

-- The same against a plain SQL predicate over 3 weeks of seconds-spaced
-- moments (every 7 seconds, so every second of the minute comes up).
SELECT count(*) AS oh_moments,
       count(*) FILTER (WHERE kpi.is_business_hours(t, cal) IS DISTINCT FROM
           ((extract(isodow FROM t) BETWEEN 1 AND 4
                 AND (t::time >= '08:00' AND t::time < '12:00' OR t::time >= '13:00' AND t::time < '17:00')
             OR extract(isodow FROM t) = 5 AND t::time >= '08:00' AND t::time < '15:00')
            AND t::date NOT IN ('2024-12-24', '2024-12-25'))) AS differing
FROM generate_series(timestamp '2024-12-16', '2025-01-06', '7 seconds') t,
     (VALUES ('Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; holidays=2024-12-24,2024-12-25'::kpi.business_calendar)) c(cal);

-- Ranges with seconds, and a weekday in several specs.
SELECT t::time AS local_time, kpi.is_business_hours(t, 'Mon 08:00:30-08:00:45,09:00-10:00; Mon-Tue 10:00-10:00:10') AS business
FROM (VALUES (timestamp '2024-12-23 08:00:29'), ('2024-12-23 08:00:30'), ('2024-12-23 08:00:44'),
             ('2024-12-23 08:00:45'), ('2024-12-23 09:59:59'), ('2024-12-23 10:00:09'),
             ('2024-12-23 10:00:10'), ('2024-12-24 10:00:05')) v(t)
ORDER BY t;

-- timestamp is local time already; timestamptz is read in the calendar's
-- zone.  12:30 UTC is 13:30 in Stockholm (CET) and 07:30 in New York (EST).
SELECT kpi.is_business_hours(timestamp '2024-12-23 12:30', 'Mon-Fri 13:00-17:00; tz=Europe/Stockholm') AS naive_1230,
       kpi.is_business_hours(timestamptz '2024-12-23 12:30+00', 'Mon-Fri 13:00-17:00; tz=Europe/Stockholm') AS stockholm_1330,
       kpi.is_business_hours(timestamptz '2024-12-23 12:30+00', 'Mon-Fri 08:00-17:00; tz=America/New_York') AS new_york_0730,
       kpi.is_business_hours(timestamptz '2024-12-23 12:30+00', 'Mon-Fri 12:00-13:00') AS utc_1230;
-- A holiday is a date in the calendar's zone: 23:30 UTC on Dec 23 is
-- already Dec 24 (a holiday) in Stockholm, but not in New York.
SELECT kpi.is_business_hours(timestamptz '2024-12-23 23:30+00', 'Mon-Sun 00:00-24:00; tz=Europe/Stockholm; holidays=2024-12-24') AS stockholm,
       kpi.is_business_hours(timestamptz '2024-12-23 23:30+00', 'Mon-Sun 00:00-24:00; tz=America/New_York; holidays=2024-12-24') AS new_york;

-- Daylight saving time, Europe: on 2024-03-31 Berlin skips 02:00-03:00
-- (01:00 UTC), on 2024-10-27 it repeats 02:00-03:00 (00:00-02:00 UTC).
-- Business minutes counted over the UTC minutes of each weekend:
-- spring, 02:00-03:00 never happens: 0; 01:00-04:00 is two real hours: 120;
-- autumn, 02:00-03:00 happens twice: 120; 01:00-04:00 is four hours: 240.
SELECT day, range, count(*) FILTER (WHERE kpi.is_business_hours(t, ('Sun ' || range || '; tz=Europe/Berlin')::kpi.business_calendar)) AS business_minutes,
       count(*) FILTER (WHERE extract(isodow FROM t AT TIME ZONE 'Europe/Berlin') = 7
                          AND (t AT TIME ZONE 'Europe/Berlin')::time >= split_part(range, '-', 1)::time
                          AND (t AT TIME ZONE 'Europe/Berlin')::time < split_part(range, '-', 2)::time) AS by_at_time_zone
FROM (VALUES (date '2024-03-31'), ('2024-10-27')) d(day),
     (VALUES ('02:00-03:00'), ('01:00-04:00')) r(range),
     generate_series(d.day - interval '1 day', d.day + interval '2 days', interval '1 minute') g
     CROSS JOIN LATERAL (SELECT g AT TIME ZONE 'UTC') u(t)
GROUP BY 1, 2 ORDER BY 1, 2 DESC;

-- Daylight saving time, US: on 2024-03-10 New York skips 02:00-03:00, on
-- 2024-11-03 it repeats 01:00-02:00.  Expected: 0 and 60; 60 and 120.
SELECT day, range, count(*) FILTER (WHERE kpi.is_business_hours(t, ('Sun ' || range || '; tz=America/New_York')::kpi.business_calendar)) AS business_minutes,
       count(*) FILTER (WHERE extract(isodow FROM t AT TIME ZONE 'America/New_York') = 7
                          AND (t AT TIME ZONE 'America/New_York')::time >= split_part(range, '-', 1)::time
                          AND (t AT TIME ZONE 'America/New_York')::time < split_part(range, '-', 2)::time) AS by_at_time_zone
FROM (VALUES (date '2024-03-10'), ('2024-11-03')) d(day),
     (VALUES ('02:00-03:00'), ('01:00-02:00')) r(range),
     generate_series(d.day - interval '1 day', d.day + interval '2 days', interval '1 minute') g
     CROSS JOIN LATERAL (SELECT g AT TIME ZONE 'UTC') u(t)
GROUP BY 1, 2 ORDER BY 1, 2 DESC;

-- The moments at the switches, to the second (UTC -> local).
SELECT t AT TIME ZONE 'UTC' AS utc, kpi.is_business_hours(t, 'Sun 01:00-02:00; tz=America/New_York') AS ny_0100_0200,
       kpi.is_business_hours(t, 'Sun 03:00-04:00; tz=America/New_York') AS ny_0300_0400
FROM (VALUES (timestamptz '2024-03-10 06:59:59+00'), ('2024-03-10 07:00:00+00'),
             ('2024-11-03 05:59:59+00'), ('2024-11-03 06:00:00+00'),
             ('2024-11-03 06:59:59+00'), ('2024-11-03 07:00:00+00')) v(t)
ORDER BY t;

-- Nonexistent and repeated local times given as timestamp (no zone): just
-- wall-clock readings, in business hours if the calendar says so.
SELECT kpi.is_business_hours(timestamp '2024-03-31 02:30', 'Sun 02:00-03:00; tz=Europe/Berlin') AS nonexistent_naive,
       kpi.is_business_hours(timestamp '2024-10-27 02:30', 'Sun 02:00-03:00; tz=Europe/Berlin') AS repeated_naive;

-- timestamptz -> local time agrees with AT TIME ZONE for zones with odd
-- offsets, abolished or exotic DST, a skipped day (Apia 2011), local mean
-- time before 1900 and rules extrapolated past 2037.
CREATE TABLE oh_zone_check AS
SELECT z AS zone, timestamptz '1850-01-01 00:00+00' + (r * 300 * 365.25) * interval '24 hours' AS t
FROM unnest(ARRAY['UTC', 'Europe/Stockholm', 'Europe/London', 'America/New_York', 'America/Sao_Paulo',
                  'America/St_Johns', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe',
                  'Pacific/Chatham', 'Pacific/Apia', 'Africa/Casablanca', 'Antarctica/Troll']) z,
     (SELECT (hashint8(i) & 1048575) / 1048576.0 FROM generate_series(1, 3000) i) h(r);
-- plus every 7th second of the two hours around each transition of 2024
INSERT INTO oh_zone_check
SELECT z, h + s * interval '1 second'
FROM unnest(ARRAY['Europe/Stockholm', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham',
                  'Africa/Casablanca', 'America/St_Johns']) z,
     generate_series(timestamptz '2024-01-01 00:00+00', '2025-01-01 00:00+00', interval '1 hour') h,
     generate_series(-3600, 3600, 7) s
WHERE ((h + interval '1 hour') AT TIME ZONE z) - (h AT TIME ZONE z) <> interval '1 hour';
SELECT count(DISTINCT zone) AS zones, count(*) > 50000 AS many_moments,
       count(*) FILTER (WHERE kpi.is_business_hours(t, cal) IS DISTINCT FROM
                              kpi.is_business_hours(t AT TIME ZONE zone, cal)) AS differing
FROM oh_zone_check,
     LATERAL (SELECT ('Mon-Fri 08:00-12:00,12:00:30-17:00; Sat 00:00-00:10,23:59-24:00; Sun 01:30-02:30; tz=' || zone)::kpi.business_calendar) c(cal);

-- +-infinity has no wall-clock time: NULL, and the aggregates skip it.
SELECT kpi.is_business_hours(timestamptz 'infinity', 'Mon-Fri 08:00-17:00') AS pinf,
       kpi.is_business_hours(timestamp '-infinity', 'Mon-Fri 08:00-17:00') AS ninf;
SELECT kpi.offhours_share(t, 'Mon-Fri 08:00-17:00') AS share, kpi.offhours_total(kpi.offhours_agg(t, 'Mon-Fri 08:00-17:00')) AS counted
FROM (VALUES (timestamp '2024-12-23 09:00'), ('infinity'), ('2024-12-23 18:00'), ('-infinity'), (NULL)) v(t);

-- ------------------------------------------------------------ aggregates
CREATE TABLE oh_orders AS
SELECT i AS id, i % 7 AS region,
       timestamptz '2024-01-01 00:00+00' + (hashint4(i) & 65535) * interval '7 minutes 13 seconds' AS ordered_at,
       CASE WHEN i % 17 = 0 THEN NULL ELSE round(((hashint4(i * 3) & 65535) - 6000) / 100.0, 2) END AS amount
FROM generate_series(1, 20000) i;
INSERT INTO oh_orders VALUES (20001, 0, NULL, 5.00);

-- Hand-computed: of 5 moments, 2 are outside Mon-Fri 08:00-17:00 (a
-- Saturday and 17:00 sharp); NULL moments are skipped.
SELECT kpi.offhours_share(t, 'Mon-Fri 08:00-17:00') AS share
FROM (VALUES (timestamp '2024-12-23 09:00'), ('2024-12-28 10:00'), ('2024-12-23 17:00'),
             ('2024-12-24 08:00'), (NULL), ('2024-12-27 16:59:59')) v(t);
-- No rows, or only NULLs: NULL.
SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00') IS NULL AS empty_is_null FROM oh_orders WHERE false;
SELECT kpi.offhours_share(t, 'Mon-Fri 08:00-17:00') IS NULL AS all_null_is_null FROM (VALUES (NULL::timestamptz)) v(t);
-- A NULL calendar skips the row too.
SELECT kpi.offhours_share(t, c) AS share
FROM (VALUES (timestamp '2024-12-28 10:00', NULL::kpi.business_calendar),
             (timestamp '2024-12-23 09:00', 'Mon-Fri 08:00-17:00')) v(t, c);

-- Against plain SQL, overall and per region, in Stockholm time with holidays.
CREATE TABLE oh_sql_reference AS
SELECT region,
       count(*) FILTER (WHERE NOT (extract(isodow FROM l) BETWEEN 1 AND 5 AND l::time >= '08:00' AND l::time < '17:00'
                                   AND l::date NOT IN ('2024-03-29', '2024-04-01', '2024-05-01'))) AS off,
       count(*) AS n,
       sum(amount) FILTER (WHERE NOT (extract(isodow FROM l) BETWEEN 1 AND 5 AND l::time >= '08:00' AND l::time < '17:00'
                                      AND l::date NOT IN ('2024-03-29', '2024-04-01', '2024-05-01'))) AS off_amount,
       sum(amount) AS amount
FROM (SELECT region, ordered_at AT TIME ZONE 'Europe/Stockholm' AS l, amount FROM oh_orders WHERE ordered_at IS NOT NULL) o
GROUP BY ROLLUP (region);
SELECT r.region, s.share = r.off::float8 / r.n AS share_same,
       s.weighted = (r.off_amount / r.amount)::float8 AS weighted_same,
       s.state_off = r.off AND s.state_n = r.n AS counts_same,
       s.weight_off = r.off_amount AND s.weight_total = r.amount AS weights_same
FROM oh_sql_reference r
JOIN (SELECT region,
             kpi.offhours_share(ordered_at, cal) AS share,
             kpi.offhours_share(ordered_at, cal, amount) AS weighted,
             kpi.offhours_count(kpi.offhours_agg(ordered_at, cal)) AS state_off,
             kpi.offhours_total(kpi.offhours_agg(ordered_at, cal)) AS state_n,
             kpi.offhours_weight(kpi.offhours_agg(ordered_at, cal, amount)) AS weight_off,
             kpi.offhours_total_weight(kpi.offhours_agg(ordered_at, cal, amount)) AS weight_total
      FROM oh_orders, (VALUES ('Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-03-29,2024-04-01,2024-05-01'::kpi.business_calendar)) c(cal)
      GROUP BY ROLLUP (region)) s ON s.region IS NOT DISTINCT FROM r.region
ORDER BY r.region;

-- Weighted: hand-computed revenue share with a credit note, NULL weights
-- skipped: off-hours 100.00 - 30.50 = 69.50 of 69.50 + 40.25 = 109.75.
SELECT kpi.offhours_share(t, 'Mon-Fri 08:00-17:00', w) AS revenue_share,
       69.50 / 109.75 AS by_hand,
       kpi.offhours_weight(kpi.offhours_agg(t, 'Mon-Fri 08:00-17:00', w)) AS off_revenue,
       kpi.offhours_total_weight(kpi.offhours_agg(t, 'Mon-Fri 08:00-17:00', w)) AS revenue
FROM (VALUES (timestamp '2024-12-28 10:00', 100.00), ('2024-12-23 20:00', -30.50),
             ('2024-12-23 10:00', 40.25), ('2024-12-23 21:00', NULL)) v(t, w);
-- A zero total weight has no share; an unweighted state has no weights.
SELECT kpi.offhours_share(t, 'Mon-Fri 08:00-17:00', w) IS NULL AS zero_total_is_null
FROM (VALUES (timestamp '2024-12-28 10:00', 10.0), ('2024-12-23 10:00', -10.0)) v(t, w);
SELECT kpi.offhours_weight(kpi.offhours_agg(timestamp '2024-12-23 10:00', 'Mon 08:00-17:00')) IS NULL AS unweighted_has_no_weight;
-- NaN and infinite weights are refused.
SELECT kpi.offhours_share(timestamp '2024-12-23 10:00', 'Mon 08:00-17:00', 'NaN'::numeric);
SELECT kpi.offhours_share(timestamp '2024-12-23 10:00', 'Mon 08:00-17:00', '-Infinity'::numeric);

-- Two-step: daily states rolled up equal the one-step answer.
CREATE TABLE oh_daily AS
SELECT (ordered_at AT TIME ZONE 'UTC')::date AS day, kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') AS s,
       kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm', amount) AS ws
FROM oh_orders GROUP BY 1;
SELECT kpi.offhours_share(kpi.rollup(s)) = (SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') FROM oh_orders) AS rollup_same,
       kpi.offhours_share(kpi.rollup(ws)) = (SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm', amount) FROM oh_orders) AS weighted_rollup_same,
       kpi.rollup(s)::text = (SELECT kpi.offhours_agg(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm')::text FROM oh_orders) AS state_same
FROM oh_daily;
-- rollup skips NULL states, and gives NULL on none; kinds do not mix.
SELECT kpi.offhours_share(kpi.rollup(s)) AS share
FROM (VALUES ('(v:1,kind:rows,n:4,off:1)'::kpi.offhours_state), (NULL), ('(v:1,kind:rows,n:4,off:2)')) v(s);
SELECT kpi.offhours_share(kpi.rollup(s)) IS NULL AS no_states FROM oh_daily WHERE false;
SELECT kpi.rollup(s) FROM (SELECT kpi.offhours_agg(timestamp '2024-12-23 10:00', 'Mon 08:00-17:00')
                           UNION ALL SELECT kpi.offhours_agg(timestamp '2024-12-23 10:00', 'Mon 08:00-17:00', 1)) v(s);
SELECT kpi.offhours_agg(t, 'Mon 08:00-17:00'), kpi.offhours_agg(t, 'Mon 08:00-17:00', 2.50)
FROM (VALUES (timestamp '2024-12-23 10:00'), ('2024-12-23 18:00')) v(t);

-- A calendar per row (each region its own zone and hours): every row gets
-- its own calendar's answer, through the per-call-site calendar cache,
-- with more distinct calendars (10) than the cache keeps (8).
CREATE TABLE oh_region_calendars AS
SELECT r AS region, z AS zone, ('Mon-Fri 0' || (7 + r % 3) || ':00-17:00; tz=' || z)::kpi.business_calendar AS cal
FROM unnest(ARRAY['Europe/Stockholm', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney', 'UTC',
                  'America/Los_Angeles', 'Europe/London', 'Asia/Tokyo', 'Africa/Casablanca', 'Pacific/Auckland'])
     WITH ORDINALITY AS u(z, r);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE kpi.is_business_hours(o.ordered_at, c.cal) IS DISTINCT FROM
           (extract(isodow FROM o.ordered_at AT TIME ZONE c.zone) BETWEEN 1 AND 5
            AND (o.ordered_at AT TIME ZONE c.zone)::time >= make_time(7 + c.region::int % 3, 0, 0)
            AND (o.ordered_at AT TIME ZONE c.zone)::time < '17:00')) AS differing
FROM oh_orders o JOIN oh_region_calendars c ON c.region = 1 + o.id % 10;
SELECT bool_and(s.share = r.share) AS per_region_same
FROM (SELECT c.region, kpi.offhours_share(o.ordered_at, c.cal) AS share
      FROM oh_orders o JOIN oh_region_calendars c ON c.region = 1 + o.id % 10 GROUP BY 1) s
JOIN (SELECT c.region, avg((NOT kpi.is_business_hours(o.ordered_at, c.cal))::int::float8) AS share
      FROM oh_orders o JOIN oh_region_calendars c ON c.region = 1 + o.id % 10 GROUP BY 1) r USING (region);

-- A calendar passed as a parameter of a prepared statement with a generic
-- plan: each execution reads its own calendar.  08:30 is in Mon-Fri
-- 08:00-17:00 (share 0), not in Mon-Fri 09:00-17:00 (share 0.5).
PREPARE oh_share(kpi.business_calendar) AS
SELECT kpi.offhours_share(t, $1) AS share, kpi.is_business_hours(timestamp '2024-12-23 08:30', $1) AS at_0830
FROM (VALUES (timestamp '2024-12-23 08:30'), ('2024-12-23 12:00')) v(t);
SET plan_cache_mode = force_generic_plan;
EXECUTE oh_share('Mon-Fri 08:00-17:00');
EXECUTE oh_share('Mon-Fri 09:00-17:00');
RESET plan_cache_mode;
DEALLOCATE oh_share;

-- Moving window frames: a rolling 500-order off-hours share equals the
-- share recomputed from the frame's rows.
SELECT count(*) AS frames,
       count(*) FILTER (WHERE kpi_share IS DISTINCT FROM sql_share) AS differing,
       count(*) FILTER (WHERE kpi_weighted IS DISTINCT FROM sql_weighted) AS weighted_differing
FROM (SELECT kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm') OVER w AS kpi_share,
             (count(*) FILTER (WHERE NOT kpi.is_business_hours(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm')) OVER w)::float8
                 / nullif(count(ordered_at) OVER w, 0) AS sql_share,
             kpi.offhours_share(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm', amount) OVER w AS kpi_weighted,
             ((sum(amount) FILTER (WHERE NOT kpi.is_business_hours(ordered_at, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm')) OVER w)
                 / nullif(sum(amount) FILTER (WHERE ordered_at IS NOT NULL) OVER w, 0))::float8 AS sql_weighted
      FROM oh_orders WINDOW w AS (ORDER BY id ROWS BETWEEN 499 PRECEDING AND CURRENT ROW)) f;
