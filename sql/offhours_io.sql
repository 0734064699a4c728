-- offhours_io: kpi.business_calendar and kpi.offhours_state text and
-- binary forms round-trip exactly; bad input is refused with an error
-- that names the bad part, never a crash.

-- Canonical output: week order, days with equal ranges grouped, touching
-- ranges merged, HH:MM:SS only where needed, zone in PostgreSQL's
-- spelling (UTC when absent), holidays sorted and unique.
SELECT c::kpi.business_calendar AS canonical
FROM (VALUES ('mon-fri 08:00-17:00'),
             ('  Friday 8:00-12:00 , 12:00-15:00 ;monday,WED 8:00-15:00;tz = europe/stockholm '),
             ('Sat-Mon 10:00-14:00'),
             ('Mon 08:00:30-17:00:00; Tue 00:00-24:00'),
             ('Mon-Fri 08:00-12:00; Mon 13:00-17:00; holidays=2025-12-26,2024-12-24,2024-12-24; tz=AMERICA/NEW_YORK'),
             ('Sun 00:00-24:00; holidays=; tz=utc'),
             ('Mon 09:00-17:00; tz=Etc/GMT-3')) v(c);
SELECT 'Mon 08:00-17:00; tz=Europe/Stockholm'::kpi.business_calendar::text
     = 'mon 8:00-17:00;TZ=EUROPE/STOCKHOLM'::kpi.business_calendar::text AS same_spelling;

-- Text and binary round trips of stored calendars, through COPY.
CREATE TABLE oh_calendars (id int, c kpi.business_calendar);
INSERT INTO oh_calendars VALUES
    (1, 'Mon-Fri 08:00-17:00; tz=Europe/Stockholm; holidays=2024-12-24,2024-12-25,2024-12-26'),
    (2, 'Mon-Thu 08:00-12:00,13:00-17:00; Fri 08:00-15:00; tz=America/New_York'),
    (3, 'Mon 00:00:01-23:59:59; Sun 12:00-24:00; tz=Pacific/Chatham; holidays=0001-01-01,9999-12-31'),
    (4, (SELECT ('Mon-Sat 06:00-22:00; holidays=' || string_agg(to_char(d, 'YYYY-MM-DD'), ','))::kpi.business_calendar
         FROM generate_series(date '2000-01-01', '2030-12-31', '7 days') d));
SELECT id, length(c::text) AS text_length, c::text::kpi.business_calendar::text = c::text AS text_round_trip
FROM oh_calendars ORDER BY id;
-- Stored as the binary form: about 80 bytes, 4 more per holiday.
SELECT id, pg_column_size(c) AS stored_bytes FROM oh_calendars ORDER BY id;
CREATE TABLE oh_calendars_back (LIKE oh_calendars);
DO $$
DECLARE
    path text := current_setting('data_directory') || '/kpi_io_calendars.bin';
BEGIN
    EXECUTE format('COPY oh_calendars TO %L (FORMAT binary)', path);
    EXECUTE format('COPY oh_calendars_back FROM %L (FORMAT binary)', path);
END $$;
SELECT count(*) AS rows_back, count(*) FILTER (WHERE a.c::text <> b.c::text) AS differing
FROM oh_calendars a JOIN oh_calendars_back b USING (id);
-- The binary form: version, ranges per weekday (seconds of day), zone, holidays.
SELECT kpi.business_calendar_send('Tue 08:00-09:00; tz=UTC; holidays=2000-01-02');

-- Bad text: 22P02 for what does not follow the grammar, 22023 for
-- well-formed values that cannot be accepted; the detail names the part.
SELECT ''::kpi.business_calendar;
SELECT 'tz=UTC'::kpi.business_calendar;
SELECT 'Mon-Fri 08:00-17:00;'::kpi.business_calendar;
SELECT 'Mon-Fry 08:00-17:00'::kpi.business_calendar;
SELECT 'Mon-Fri'::kpi.business_calendar;
SELECT 'Mon-Fri 8-17'::kpi.business_calendar;
SELECT 'Mon-Fri 08:00-17:60'::kpi.business_calendar;
SELECT 'Mon-Fri 24:00-24:30'::kpi.business_calendar;
SELECT 'Mon-Fri 08:00-17:00; holidays=2024-02-30'::kpi.business_calendar;
SELECT 'Mon-Fri 08:00-17:00; holidays=2024-12-24,,2024-12-25'::kpi.business_calendar;
SELECT 'Mon-Fri 08:00-17:00; tz=UTC; tz=UTC'::kpi.business_calendar;
SELECT 'Mon-Fri 08:00-17:00; zone=UTC'::kpi.business_calendar;
SELECT 'Mon-Fri 17:00-08:00'::kpi.business_calendar;
SELECT 'Mon-Fri 08:00-12:00; Wed 11:00-13:00'::kpi.business_calendar;
SELECT 'Mon 08:00-17:00; tz=Europe/Atlantis'::kpi.business_calendar;
SELECT 'Mon 08:00-17:00; tz=../../etc/passwd'::kpi.business_calendar;
SELECT 'Mon 08:00-17:00; tz=UTC+3'::kpi.business_calendar;
SELECT 'Mon 08:00-17:00; tz=right/UTC'::kpi.business_calendar;
SELECT 'Mon 08:00-17:00; tz=localtime'::kpi.business_calendar;

-- Bad binary: 22P03 (22023 for an unknown zone), written as COPY BINARY
-- files by hand; a zone spelled otherwise than PostgreSQL spells it is
-- stored in PostgreSQL's spelling.
CREATE TABLE oh_bad_calendars (c kpi.business_calendar);
-- Tue 08:00-09:00, zone "utc" (non-canonical spelling), no holidays: accepted
SELECT copy_in('oh_bad_calendars', '\x01' || '\x0001000070800000 7e90'::bytea || '\x0000000000' || '\x03757463' || '\x00000000');
SELECT c FROM oh_bad_calendars;
SELECT copy_in('oh_bad_calendars', '\x');
SELECT copy_in('oh_bad_calendars', '\x02');
SELECT copy_in('oh_bad_calendars', '\x0100000000000000');
-- no ranges at all
SELECT copy_in('oh_bad_calendars', '\x01'::bytea || '\x00000000000000' || '\x03555443' || '\x00000000');
-- a range that ends before it starts
SELECT copy_in('oh_bad_calendars', '\x01' || '\x0001000080700000 7e90'::bytea || '\x0000000000' || '\x03555443' || '\x00000000');
-- an unknown zone
SELECT copy_in('oh_bad_calendars', '\x01' || '\x0001000070800000 7e90'::bytea || '\x0000000000' || '\x03585858' || '\x00000000');
-- holidays out of order
SELECT copy_in('oh_bad_calendars', '\x01' || '\x0001000070800000 7e90'::bytea || '\x0000000000' || '\x03555443' || '\x000000020000000200000001');
-- trailing garbage, and every truncation of a good value
SELECT copy_in('oh_bad_calendars', kpi.business_calendar_send(c) || '\x00'::bytea) FROM oh_calendars WHERE id = 1;
SELECT count(*) AS truncations, count(*) FILTER (WHERE copy_in('oh_bad_calendars', substr(b, 1, n)) LIKE '22P03:%') AS refused
FROM (SELECT kpi.business_calendar_send(c) AS b FROM oh_calendars WHERE id = 3) s,
     generate_series(0, length(b) - 1) n;
-- random bytes after a good version byte: refused or accepted, never a crash
SELECT setseed(0.3);
SELECT count(*) AS tries, count(*) FILTER (WHERE r LIKE '22P03:%' OR r LIKE '22023:%' OR r = 'accepted') AS answered
FROM (SELECT copy_in('oh_bad_calendars', '\x01'::bytea || decode(string_agg(lpad(to_hex((random() * 255)::int), 2, '0'), ''), 'hex')) AS r
      FROM generate_series(1, 200) t, generate_series(1, 1 + t % 40) k GROUP BY t) s;

-- kpi.offhours_state: round trips and bad input.
CREATE TABLE oh_states (id int, s kpi.offhours_state);
INSERT INTO oh_states VALUES
    (1, (SELECT kpi.offhours_agg(t, 'Mon-Fri 08:00-17:00') FROM (VALUES (timestamp '2024-12-23 09:00'), ('2024-12-28 09:00')) v(t))),
    (2, (SELECT kpi.offhours_agg(t, 'Mon-Fri 08:00-17:00', w) FROM (VALUES (timestamp '2024-12-23 09:00', 10.5), ('2024-12-28 09:00', -0.125)) v(t, w))),
    (3, (SELECT kpi.offhours_agg(t, 'Mon-Fri 08:00-17:00') FROM (VALUES (timestamp '2024-12-23 09:00')) v(t) WHERE false));
SELECT id, s, s::text::kpi.offhours_state::text = s::text AS text_round_trip FROM oh_states ORDER BY id;
CREATE TABLE oh_states_back (LIKE oh_states);
DO $$
DECLARE
    path text := current_setting('data_directory') || '/kpi_io_offhours_states.bin';
BEGIN
    EXECUTE format('COPY oh_states TO %L (FORMAT binary)', path);
    EXECUTE format('COPY oh_states_back FROM %L (FORMAT binary)', path);
END $$;
SELECT count(*) AS rows_back, count(*) FILTER (WHERE a.s::text <> b.s::text) AS differing
FROM oh_states a JOIN oh_states_back b USING (id);
SELECT ' ( v:1 , n:2, off:1, kind:rows ) '::kpi.offhours_state;
SELECT '(v:1,kind:rows,n:2,off:3)'::kpi.offhours_state;
SELECT '(v:1,kind:rows,n:0,off:0)'::kpi.offhours_state;
SELECT '(v:1,kind:weighted,n:2,off:1)'::kpi.offhours_state;
SELECT '(v:1,kind:rows,n:2,off:1,extra:0)'::kpi.offhours_state;
SELECT '(v:2,n:0)'::kpi.offhours_state;
SELECT kpi.offhours_state_send(s) FROM oh_states ORDER BY id;
