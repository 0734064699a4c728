-- funnel_io: kpi.funnel_state text and binary forms round-trip exactly;
-- bad input is refused with 22P02, 22P03 or 0A000, never a crash (also
-- under random mutations); states stored in a materialized view refresh
-- (also concurrently) and roll up; results and state texts do not depend
-- on session settings.
CREATE TABLE fstates (id int, s kpi.funnel_state);
INSERT INTO fstates VALUES
    (1, (SELECT kpi.funnel_agg(e, ts, '1 h', st = 1, st = 2, st = 3)
         FROM (VALUES (7, timestamptz '2025-01-01 10:00+00', 1), (7, '2025-01-01 10:20+00', 2),
                      (-3, '1999-12-31 23:59:59.999999+00', 1), (9223372036854775807, 'infinity', 3)) v(e, ts, st))),
    (2, (SELECT kpi.funnel_agg(e, ts, '90 days', 'strict_order,strict_once', st = 1, st = 2)
         FROM (VALUES ('lead a', timestamptz '2025-01-01+00', 1), ('lead a', '2025-02-01+00', 0),
                      ('lead b', '-infinity', 2)) v(e, ts, st))),
    (3, (SELECT kpi.funnel_agg(1, now(), '0 s', true) WHERE false)),
    (4, (SELECT kpi.funnel_agg(1, timestamptz '2025-01-01+00', '1 s', false, false) )),
    (5, (SELECT kpi.funnel_agg(i % 100, timestamptz '2025-01-01+00' + i * interval '1 s', '10 min',
                               VARIADIC ARRAY[i % 3 = 0, i % 5 = 0, i % 7 = 0, i % 11 = 0])
         FROM generate_series(1, 2000) i));
SELECT id, s FROM fstates WHERE id <= 4 ORDER BY id;
SELECT id, kpi.funnel(s) FROM fstates ORDER BY id;

-- text: output -> input -> output is the identity
SELECT id, s::text::kpi.funnel_state::text = s::text AS text_round_trip FROM fstates ORDER BY id;

-- binary: COPY out and in through send/recv (a file in the data directory)
CREATE TABLE fstates_back (LIKE fstates);
DO $$
DECLARE
    path text := current_setting('data_directory') || '/kpi_funnel_states.bin';
BEGIN
    EXECUTE format('COPY fstates TO %L (FORMAT binary)', path);
    EXECUTE format('COPY fstates_back FROM %L (FORMAT binary)', path);
END $$;
SELECT count(*) AS rows_back, count(*) FILTER (WHERE a.s::text <> b.s::text) AS differing
FROM fstates a JOIN fstates_back b USING (id);
-- The binary form: version, steps, modes, keys (1 int, 2 hash, 0 none),
-- window (8 bytes), count (4), then 20 bytes per event (entity, ts,
-- steps), sorted.
SELECT kpi.funnel_state_send(s) FROM fstates WHERE id IN (2, 3) ORDER BY id;

-- Input takes any event order, whitespace and field order; output is canonical.
SELECT ' ( v:1, events:[ (2, 5, 1), (1, 9, 3) ,(1, -4, 2) ], keys: hash , modes:[ STRICT_ONCE ], window: 60, steps:2 ) '::kpi.funnel_state;

-- Bad text: 22P02 with a detail; unknown version: 0A000.
SELECT 'garbage'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:int,events:[(1,5,1)]'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:int)'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],events:[])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:int,events:[],extra:1)'::kpi.funnel_state;
SELECT '(v:1,steps:33,window:60,modes:[],keys:int,events:[])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:-1,modes:[],keys:int,events:[])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[strict],keys:int,events:[])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:uuid,events:[])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:none,events:[(1,5,1)])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:int,events:[(1,5,4)])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:int,events:[(1,5,0)])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:int,events:[(-1,5,1)])'::kpi.funnel_state;
SELECT '(v:1,steps:2,window:60,modes:[],keys:int,events:[(1,9223372036854775808,1)])'::kpi.funnel_state;
SELECT '(v:1,steps:0,window:60,modes:[],keys:none,events:[])'::kpi.funnel_state;
SELECT '(v:1,steps:0,window:0,modes:[],keys:int,events:[])'::kpi.funnel_state;
SELECT '(v:2,steps:2,window:60,modes:[],keys:int,events:[])'::kpi.funnel_state;

-- Bad binary: 22P03 (0A000 for an unknown version), as a hand-written COPY BINARY file.
CREATE TABLE bad_fstates (s kpi.funnel_state);
-- Header: version, steps, modes, keys, window (8 bytes), event count (4).
-- The blank state and an empty state of hashed keys are accepted; the
-- rest are not (the blank state with int keys, a state with steps but no
-- keys, an unknown kind of keys).
SELECT copy_in('bad_fstates', '\x01000000' || '\x0000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', '\x01020002' || '\x0000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', '\x');
SELECT copy_in('bad_fstates', '\x02000000' || '\x0000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', '\x01000000' || '\x0000000000000000'::bytea || '\x000000'::bytea);
SELECT copy_in('bad_fstates', '\x01210001' || '\x0000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', '\x01021001' || '\x0000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', '\x01020001' || '\x8000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', '\x01000001' || '\x0000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', '\x01020000' || '\x0000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', '\x01020003' || '\x0000000000000000'::bytea || '\x00000000'::bytea);
SELECT copy_in('bad_fstates', substr(kpi.funnel_state_send(s), 1, 40)) FROM fstates WHERE id = 1;
SELECT copy_in('bad_fstates', kpi.funnel_state_send(s) || '\x00'::bytea) FROM fstates WHERE id = 1;
-- one event (entity 1, ts 5) naming step 3 of a 2-step funnel
SELECT copy_in('bad_fstates', '\x01020001' || '\x0000000000000000'::bytea || '\x00000001'::bytea
                      || '\x0000000000000001'::bytea || '\x0000000000000005'::bytea || '\x00000004'::bytea);
-- events in any order are accepted and stored sorted
SELECT copy_in('bad_fstates', '\x01020001' || '\x000000000000003c'::bytea || '\x00000002'::bytea
                      || '\x0000000000000002'::bytea || '\x0000000000000005'::bytea || '\x00000001'::bytea
                      || '\x0000000000000001'::bytea || '\x0000000000000009'::bytea || '\x00000003'::bytea);
SELECT s FROM bad_fstates;
-- and the good bytes of every stored state are accepted
SELECT id, copy_in('bad_fstates', kpi.funnel_state_send(s)) FROM fstates ORDER BY id;

-- Random mutations of a valid text: each is refused with 22P02 or read
-- back to a state whose text reads back to itself; never a crash.
DO $$
DECLARE
    good text := (SELECT s::text FROM fstates WHERE id = 1);
    alphabet text := '()[],:-0123456789 vstepwindowmodesevents_kyinthah';
    t text;
    st kpi.funnel_state;
    accepted int := 0;
    refused int := 0;
BEGIN
    PERFORM setseed(0.5);
    FOR i IN 1 .. 3000 LOOP
        t := good;
        FOR j IN 1 .. 1 + floor(random() * 3)::int LOOP
            t := overlay(t PLACING substr(alphabet, 1 + floor(random() * length(alphabet))::int, 1)
                         FROM 1 + floor(random() * length(t))::int FOR floor(random() * 2)::int);
        END LOOP;
        BEGIN
            st := t::kpi.funnel_state;
            IF st::text::kpi.funnel_state::text <> st::text THEN
                RAISE EXCEPTION 'not a round trip: %', t;
            END IF;
            PERFORM kpi.funnel(st);
            accepted := accepted + 1;
        EXCEPTION WHEN invalid_text_representation OR feature_not_supported THEN
            refused := refused + 1;
        END;
    END LOOP;
    RAISE NOTICE 'mutated texts: % refused, % accepted and consistent', refused, accepted;
END $$;

-- Materialized view: daily states, refreshed (also concurrently), rolled
-- up to the whole period, equal the one-step funnel over the raw rows.
CREATE TABLE fclicks AS
SELECT 1 + i % 3000 AS session_id,
       timestamptz '2025-02-01 00:00:00+00' + ((i % 3000) * 317 % 864000 + (i * 7919) % 2400) * interval '1 s' AS ts,
       (ARRAY['view', 'view', 'cart', 'view', 'purchase'])[1 + (i / 3000 * 3 + i) % 5] AS event
FROM generate_series(1, 30000) i;
CREATE MATERIALIZED VIEW daily_funnel AS
SELECT (ts AT TIME ZONE 'UTC')::date AS day,
       kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') AS state
FROM fclicks GROUP BY 1;
CREATE UNIQUE INDEX ON daily_funnel (day);
CREATE VIEW funnel_check AS
SELECT (SELECT kpi.funnel(kpi.rollup(state)) FROM daily_funnel) AS from_states,
       (SELECT kpi.funnel(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase') FROM fclicks) AS from_rows;
SELECT from_states, from_states = from_rows AS same FROM funnel_check;
INSERT INTO fclicks SELECT session_id, ts + interval '1 min', 'purchase' FROM fclicks WHERE event = 'cart' AND session_id % 10 = 0;
DELETE FROM fclicks WHERE session_id % 17 = 0;
REFRESH MATERIALIZED VIEW CONCURRENTLY daily_funnel;
SELECT from_states, from_states = from_rows AS same FROM funnel_check;
REFRESH MATERIALIZED VIEW daily_funnel;
SELECT from_states = from_rows AS same FROM funnel_check;

-- Session settings change neither results nor state texts.
CREATE TEMP TABLE funnel_reference AS
SELECT kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')::text AS s
FROM fclicks;
CREATE TEMP TABLE funnel_reference_steps AS
SELECT * FROM kpi.funnel_steps((SELECT kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')
                                FROM fclicks));
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = -15;
SET search_path = pg_catalog;
SELECT kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')::text
           = (SELECT s FROM funnel_reference) AS state_same
FROM public.fclicks;
SELECT count(*) AS steps,
       count(*) FILTER (WHERE (x.entities, x.conversion_from_previous, x.conversion_from_first, x.median_time_to_step)
                              IS DISTINCT FROM
                              (r.entities, r.conversion_from_previous, r.conversion_from_first, r.median_time_to_step)) AS differing
FROM kpi.funnel_steps((SELECT kpi.funnel_agg(session_id, ts, '30 min', event = 'view', event = 'cart', event = 'purchase')
                       FROM public.fclicks)) x
JOIN funnel_reference_steps r USING (step);
RESET ALL;
