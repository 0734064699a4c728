-- Off-hours share with a lunch break and short Fridays:
-- Mon-Thu 08:00-12:00 and 13:00-17:00, Fri 08:00-15:00, Stockholm,
-- holidays closed (issue 3).  Same answer required.
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
		'Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; tz=Europe/Stockholm; holidays=2024-01-01,2024-01-06,2024-03-29,2024-04-01,2024-05-01,2024-05-09,2024-06-06,2024-06-21,2024-06-22,2024-11-02,2024-12-24,2024-12-25,2024-12-26,2024-12-31,2025-01-01,2025-01-06,2025-04-18,2025-04-21,2025-05-01,2025-05-29,2025-06-06,2025-06-20,2025-06-21,2025-11-01,2025-12-24,2025-12-25,2025-12-26,2025-12-31'::kpi.business_calendar)
		AS share
FROM bench_orders
-- @sql
-- The weekday from extract(isodow), the time of day as a local time value
-- (as fast as it gets in SQL: about 1.5x faster than the hour * 60 +
-- minute arithmetic of 10_offhours_share, with the same boundaries).
SELECT count(*) FILTER (WHERE NOT (
			h.day IS NULL
			AND ((extract(isodow FROM o.local_ts) BETWEEN 1 AND 4
					AND (o.local_ts::time >= '08:00' AND o.local_ts::time < '12:00'
						OR o.local_ts::time >= '13:00' AND o.local_ts::time < '17:00'))
				OR (extract(isodow FROM o.local_ts) = 5
					AND o.local_ts::time >= '08:00' AND o.local_ts::time < '15:00'))
		))::float8 / nullif(count(*), 0) AS share
FROM (SELECT ordered_at AT TIME ZONE 'Europe/Stockholm' AS local_ts FROM bench_orders WHERE ordered_at IS NOT NULL) AS o
LEFT JOIN bench_holidays AS h ON h.day = o.local_ts::date
