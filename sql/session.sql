-- session: results and state texts do not depend on session settings.
CREATE TABLE sess (ordered_at timestamptz, amount numeric, w float8);
INSERT INTO sess
SELECT timestamptz '2025-03-30 00:00:00+00' + i * interval '17 minutes',
       round(((i * 7919) % 100000) / 100.0, 2), 1.0 / i
FROM generate_series(1, 2000) i;

CREATE TEMP TABLE reference AS
SELECT kpi.aov(amount)::text AS a, kpi.aov_agg(amount)::text AS s,
       kpi.aov_agg(w)::text AS fs, kpi.aov(kpi.aov_agg(w))::text AS fmean
FROM sess;

SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET extra_float_digits = -15;
SET lc_numeric = 'C';
SET search_path = pg_catalog;
SELECT kpi.aov(amount)::text = (SELECT a FROM reference) AS mean_same,
       kpi.aov_agg(amount)::text = (SELECT s FROM reference) AS state_same,
       kpi.aov_agg(w)::text = (SELECT fs FROM reference) AS float_state_same,
       kpi.aov(kpi.aov_agg(w))::text = (SELECT fmean FROM reference) AS float_mean_same
FROM public.sess;
RESET ALL;
