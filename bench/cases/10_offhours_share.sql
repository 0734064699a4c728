-- Share of orders placed outside office hours, Mon-Fri 08:00-17:00 in
-- Stockholm, holidays closed (issue 3).  Target: kpi at least 3x faster,
-- serial and parallel; same answer.
-- @needs orders
-- @compare tolerance 1e-12
-- @setup
-- Swedish public holidays and the days the shop closes (Midsummer Eve,
-- Christmas Eve, New Year's Eve), 2024-2025, as a table users keep.
DROP TABLE IF EXISTS bench_holidays;
CREATE TABLE bench_holidays (day date PRIMARY KEY);
INSERT INTO bench_holidays VALUES
	(date '2024-01-01'), (date '2024-01-06'), (date '2024-03-29'), (date '2024-04-01'),
	(date '2024-05-01'), (date '2024-05-09'), (date '2024-06-06'), (date '2024-06-21'),
	(date '2024-06-22'), (date '2024-11-02'), (date '2024-12-24'), (date '2024-12-25'),
	(date '2024-12-26'), (date '2024-12-31'), (date '2025-01-01'), (date '2025-01-06'),
	(date '2025-04-18'), (date '2025-04-21'), (date '2025-05-01'), (date '2025-05-29'),
	(date '2025-06-06'), (date '2025-06-20'), (date '2025-06-21'), (date '2025-11-01'),
	(date '2025-12-24'), (date '2025-12-25'), (date '2025-12-26'), (date '2025-12-31');
ANALYZE bench_holidays;
-- @kpi
SELECT kpi.offhours_share(ordered_at,
		'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-01-01,2024-01-06,2024-03-29,2024-04-01,2024-05-01,2024-05-09,2024-06-06,2024-06-21,2024-06-22,2024-11-02,2024-12-24,2024-12-25,2024-12-26,2024-12-31,2025-01-01,2025-01-06,2025-04-18,2025-04-21,2025-05-01,2025-05-29,2025-06-06,2025-06-20,2025-06-21,2025-11-01,2025-12-24,2025-12-25,2025-12-26,2025-12-31'::kpi.business_calendar) AS share
FROM bench_orders
-- @sql
-- Local wall-clock time in the shop's zone (AT TIME ZONE applies the DST
-- rules of each instant), weekday and minute of the day from extract(),
-- holidays by an outer join to the holiday table.
SELECT count(*) FILTER (WHERE NOT (
			h.day IS NULL
			AND extract(isodow FROM o.local_ts) <= 5
			AND extract(hour FROM o.local_ts) * 60 + extract(minute FROM o.local_ts) >= 8 * 60
			AND extract(hour FROM o.local_ts) * 60 + extract(minute FROM o.local_ts) < 17 * 60
		))::float8 / nullif(count(*), 0) AS share
FROM (SELECT ordered_at AT TIME ZONE 'Europe/Stockholm' AS local_ts FROM bench_orders WHERE ordered_at IS NOT NULL) AS o
LEFT JOIN bench_holidays AS h ON h.day = o.local_ts::date
