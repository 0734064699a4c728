-- funnel_data: kpi.funnel on real data equals an independent SQL
-- computation (and the figures published with the data).
--
-- The REES46 click stream (sessions: view -> cart -> purchase) and the
-- Olist marketing funnel (lead -> closed deal) may not ship with kpi
-- (licences), so they are read from the directory in KPI_SHARED_DATA_DIR
-- (scripts/check sets it to ../shared/data next to the repository).
-- Without them this test prints SKIPPED and passes (expected output
-- funnel_data_1.out).
--
-- The reference, as in funnel_reference.sql: an entity reaches step k if
-- events for steps 1 .. k of it have non-decreasing timestamps and step k
-- is at most the window after step 1 (ts_k - ts_1 <= window); its time to
-- step k is the earliest such step-k time minus the latest step-1 time of
-- the chains ending then.
\getenv shared_dir KPI_SHARED_DATA_DIR
\if :{?shared_dir}
\else
\set shared_dir ''
\endif
\set rees46_file :shared_dir '/rees46_sample/rees46_2019oct_head.csv.gz'
\set leads_file :shared_dir '/olist_marketing_funnel/olist_marketing_qualified_leads.csv.gz'
\set deals_file :shared_dir '/olist_marketing_funnel/olist_closed_deals.csv.gz'
SELECT :'shared_dir' <> ''
       AND (pg_stat_file(:'rees46_file', true)).size IS NOT NULL
       AND (pg_stat_file(:'leads_file', true)).size IS NOT NULL
       AND (pg_stat_file(:'deals_file', true)).size IS NOT NULL AS have_data \gset
\if :have_data

-- REES46: the first 9,999 events of October 2019.
CREATE TABLE rees46 (event_time text, event_type text, product_id bigint, category_id bigint,
                     category_code text, brand text, price numeric, user_id bigint, user_session text);
SELECT 'gzip -dc "' || :'rees46_file' || '"' AS rees46_cmd \gset
COPY rees46 FROM PROGRAM :'rees46_cmd' (FORMAT csv, HEADER true);
CREATE TABLE clicks46 AS
SELECT user_session::uuid AS session, event_time::timestamptz AS ts, event_type FROM rees46;
SELECT count(*) AS events, count(DISTINCT session) AS sessions,
       count(*) FILTER (WHERE event_type = 'view') AS views,
       count(*) FILTER (WHERE event_type = 'cart') AS carts,
       count(*) FILTER (WHERE event_type = 'purchase') AS purchases
FROM clicks46;

-- The data set's README: "Session funnel (view -> cart -> purchase, each
-- step at or after the previous one, no time window): 3,188 -> 69 -> 31".
SELECT kpi.funnel(session, ts, '1000 days', event_type = 'view', event_type = 'cart', event_type = 'purchase') AS funnel,
       kpi.funnel(session, ts, '1000 days', event_type = 'view', event_type = 'cart', event_type = 'purchase')
           = '{3188,69,31}' AS as_published
FROM clicks46;

-- Against the reference, with no window and with 1 minute, by uuid and
-- by text keys.
CREATE TABLE ev46 AS
SELECT session, ts, CASE event_type WHEN 'view' THEN 1 WHEN 'cart' THEN 2 WHEN 'purchase' THEN 3 END AS k
FROM clicks46;
CREATE TABLE windows46 (w interval);
INSERT INTO windows46 VALUES ('1000 days'), ('1 min');
CREATE TABLE chain46_2 AS
SELECT w, a.session, a.ts AS t1, b.ts AS t2
FROM windows46, ev46 a JOIN ev46 b ON b.session = a.session AND b.k = 2
WHERE a.k = 1 AND b.ts >= a.ts AND b.ts - a.ts <= w;
CREATE TABLE chain46_3 AS
SELECT c.w, c.session, c.t1, d.ts AS t3
FROM chain46_2 c JOIN ev46 d ON d.session = c.session AND d.k = 3
WHERE d.ts >= c.t2 AND d.ts - c.t1 <= c.w;
SELECT w.w, f.by_uuid, f.by_text, r.counts, f.by_uuid = r.counts AND f.by_text = r.counts AS same
FROM windows46 w
JOIN LATERAL (SELECT kpi.funnel(session, ts, w.w, event_type = 'view', event_type = 'cart', event_type = 'purchase') AS by_uuid,
                     kpi.funnel(session::text, ts, w.w, event_type = 'view', event_type = 'cart', event_type = 'purchase') AS by_text
              FROM clicks46) f ON true
JOIN LATERAL (SELECT ARRAY[(SELECT count(DISTINCT session) FROM ev46 WHERE k = 1),
                           (SELECT count(DISTINCT session) FROM chain46_2 c WHERE c.w = w.w),
                           (SELECT count(DISTINCT session) FROM chain46_3 c WHERE c.w = w.w)] AS counts) r ON true
ORDER BY w.w;
CREATE TABLE times46 AS
SELECT w, 2 AS step, session, min(t2) - max(t1) AS time
FROM (SELECT *, rank() OVER (PARTITION BY w, session ORDER BY t2) AS r FROM chain46_2) c
WHERE r = 1 GROUP BY w, session
UNION ALL
SELECT w, 3, session, min(t3) - max(t1)
FROM (SELECT *, rank() OVER (PARTITION BY w, session ORDER BY t3) AS r FROM chain46_3) c
WHERE r = 1 GROUP BY w, session;
SELECT w.w, s.step, s.entities, s.conversion_from_previous, s.median_time_to_step, r.median,
       s.median_time_to_step = r.median AS same
FROM windows46 w
JOIN LATERAL kpi.funnel_steps((SELECT kpi.funnel_agg(session, ts, w.w, event_type = 'view', event_type = 'cart', event_type = 'purchase')
                               FROM clicks46)) s ON s.step >= 2
JOIN LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY time) AS median
              FROM times46 t WHERE t.w = w.w AND t.step = s.step) r ON true
ORDER BY w.w, s.step;
-- Per session: kpi.window_funnel = the reference level.
SELECT count(*) AS sessions,
       count(*) FILTER (WHERE l.level <> CASE WHEN EXISTS (SELECT FROM chain46_3 c WHERE c.w = '1 min' AND c.session = l.session) THEN 3
                                              WHEN EXISTS (SELECT FROM chain46_2 c WHERE c.w = '1 min' AND c.session = l.session) THEN 2
                                              WHEN EXISTS (SELECT FROM ev46 e WHERE e.k = 1 AND e.session = l.session) THEN 1
                                              ELSE 0 END) AS differing
FROM (SELECT session, kpi.window_funnel('1 min', ts, event_type = 'view', event_type = 'cart', event_type = 'purchase') AS level
      FROM clicks46 GROUP BY session) l;

-- Olist: 8,000 marketing qualified leads (first contact: a date) and the
-- 842 deals closed with them (won: a timestamp).  Both are read as UTC.
CREATE TABLE olist_leads (mql_id text, first_contact_date date, landing_page_id text, origin text);
CREATE TABLE olist_deals (mql_id text, seller_id text, sdr_id text, sr_id text, won_date timestamp,
                          business_segment text, lead_type text, lead_behaviour_profile text, has_company text,
                          has_gtin text, average_stock text, business_type text,
                          declared_product_catalog_size text, declared_monthly_revenue text);
SELECT 'gzip -dc "' || :'leads_file' || '"' AS leads_cmd, 'gzip -dc "' || :'deals_file' || '"' AS deals_cmd \gset
COPY olist_leads FROM PROGRAM :'leads_cmd' (FORMAT csv, HEADER true);
COPY olist_deals FROM PROGRAM :'deals_cmd' (FORMAT csv, HEADER true);
CREATE TABLE olist AS
SELECT mql_id, first_contact_date::timestamp AT TIME ZONE 'UTC' AS ts, 'lead' AS stage FROM olist_leads
UNION ALL
SELECT mql_id, won_date AT TIME ZONE 'UTC', 'won' FROM olist_deals;

-- The README: 842 / 8,000 won, "one deal is 'won' before its first
-- contact date", which no funnel counts: 841 reach step 2.
SELECT (SELECT count(*) FROM olist_leads) AS leads, (SELECT count(*) FROM olist_deals) AS deals,
       (SELECT count(*) FROM olist_deals d JOIN olist_leads l USING (mql_id)
        WHERE d.won_date < l.first_contact_date) AS won_before_contact;
CREATE TABLE olist_windows (w interval);
INSERT INTO olist_windows VALUES ('10000 days'), ('90 days'), ('14 days');
CREATE TABLE olist_ref AS
SELECT w, l.mql_id, d.ts - l.ts AS time
FROM olist_windows, olist l JOIN olist d ON d.mql_id = l.mql_id AND d.stage = 'won'
WHERE l.stage = 'lead' AND d.ts >= l.ts AND d.ts - l.ts <= w;
SELECT w.w, f.funnel, f.rate, r.counts, r.median, f.median,
       f.funnel = r.counts AND f.median = r.median AND f.rate = r.counts[2]::float8 / r.counts[1] AS same
FROM olist_windows w
JOIN LATERAL (SELECT kpi.funnel(s) AS funnel, kpi.conversion_rate(s) AS rate,
                     (SELECT median_time_to_step FROM kpi.funnel_steps(s) WHERE step = 2) AS median
              FROM (SELECT kpi.funnel_agg(mql_id, ts, w.w, stage = 'lead', stage = 'won') AS s FROM olist) a) f ON true
JOIN LATERAL (SELECT ARRAY[(SELECT count(DISTINCT mql_id) FROM olist WHERE stage = 'lead'),
                           count(DISTINCT mql_id)] AS counts,
                     percentile_cont(0.5) WITHIN GROUP (ORDER BY time) AS median
              FROM olist_ref o WHERE o.w = w.w) r ON true
ORDER BY w.w;

\else
\echo SKIPPED: the REES46 and Olist data sets were not found in KPI_SHARED_DATA_DIR (../shared/data); they may not ship with kpi
\endif
