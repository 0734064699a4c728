-- clv_io: the text and binary forms of kpi.rfm, kpi.clv_fit_state,
-- kpi.clv_model and kpi.clv_state round-trip exactly; bad input is refused
-- (22P02 text, 22P03 binary, 0A000 unknown version), never a crash.
CREATE TABLE io_orders AS
SELECT i % 40 AS customer_id, date '2024-01-01' + (i * 37) % 300 AS ordered_at,
       round(((i * 7919) % 10000) / 100.0, i % 3) AS amount
FROM generate_series(1, 400) i;

CREATE TABLE io_states (id int, rfm kpi.rfm, fit kpi.clv_fit_state, model kpi.clv_model, state kpi.clv_state);
INSERT INTO io_states VALUES
    (1, (SELECT kpi.rfm_agg(ordered_at, amount, date '2024-09-30') FROM io_orders WHERE customer_id = 7),
        (SELECT kpi.clv_fit_agg(rfm) FROM (SELECT kpi.rfm_agg(ordered_at, amount, date '2024-09-30') AS rfm
                                           FROM io_orders WHERE customer_id < 6 GROUP BY customer_id) r),
        '(v:1,r:0.243,alpha:4.414,a:0.793,b:2.426,p:6.25,q:3.74,gamma:15.44,customers:2357,repeat_customers:946,loglik_bgnbd:-9582.4,loglik_gg:-4055.9)',
        (SELECT kpi.clv_agg(customer_id, ordered_at, amount, date '2024-09-30') FROM io_orders WHERE customer_id < 3)),
    (2, '(v:1)', '(v:1,rows:[])',
        '(v:1,r:1e-300,alpha:1e300,a:5e-324,b:1.7976931348623157e308,p:0.1,q:0.30000000000000004,gamma:1,customers:0,repeat_customers:0,loglik_bgnbd:-0,loglik_gg:1)',
        (SELECT kpi.clv_agg(customer_id::text, ordered_at, amount) FROM io_orders WHERE customer_id < 2)),
    (3, (SELECT kpi.rfm_agg(ordered_at, amount, date '2023-12-31') FROM io_orders WHERE customer_id = 7),
        NULL, NULL, '(v:1)'),
    (4, NULL, NULL, NULL,
        '(v:1,keys:int,horizon:[14,3,-7200000000],observed_until:9000,orders:3,days:[(-5,8999,-1.5),(9,1,0.25),(-5,8999,0.5)])');
SELECT id, rfm, fit, model, state FROM io_states ORDER BY id;

-- text: output -> input -> output is the identity
SELECT id, rfm::text::kpi.rfm::text = rfm::text AS rfm_same,
       fit::text::kpi.clv_fit_state::text = fit::text AS fit_same,
       model::text::kpi.clv_model::text = model::text AS model_same,
       state::text::kpi.clv_state::text = state::text AS state_same
FROM io_states ORDER BY id;

-- binary: COPY out and in through the send/recv functions
CREATE TABLE io_states_back (LIKE io_states);
DO $$
DECLARE
    path text := current_setting('data_directory') || '/kpi_clv_io.bin';
BEGIN
    EXECUTE format('COPY io_states TO %L (FORMAT binary)', path);
    EXECUTE format('COPY io_states_back FROM %L (FORMAT binary)', path);
END $$;
SELECT count(*) AS rows_back,
       count(*) FILTER (WHERE a.rfm::text IS DISTINCT FROM b.rfm::text OR a.fit::text IS DISTINCT FROM b.fit::text
                          OR a.model::text IS DISTINCT FROM b.model::text
                          OR a.state::text IS DISTINCT FROM b.state::text) AS differing
FROM io_states a JOIN io_states_back b USING (id);

-- Fields in any order and spacing; the rows of a fit input and the days of
-- a kpi.clv_state in any order too, and output is sorted, folded and
-- canonical (a kpi.rfm's days must be ascending).
SELECT ' ( v:1 , days:[ 1, 3 ], total_amount:2.5, observed_until:3, first_amount:1 ) '::kpi.rfm;
SELECT '(v:1,rows:[(2,30,40,1.5,1),(0,0,9,0,2),(2,30,40,1.5,3)])'::kpi.clv_fit_state;
SELECT '(v:1,orders:4,keys:hash,days:[(3,2,1.5),(-1,7,2),(3,2,0.25),(3,1,0)])'::kpi.clv_state;

-- Bad text: 22P02 with a detail naming the problem; unknown version 0A000.
SELECT 'garbage'::kpi.rfm;
SELECT '(v:1,observed_until:5,first_amount:1,total_amount:1,days:[6])'::kpi.rfm;
SELECT '(v:1,observed_until:5,first_amount:1,total_amount:1,days:[1,1])'::kpi.rfm;
SELECT '(v:1,observed_until:5,first_amount:1,total_amount:1)'::kpi.rfm;
SELECT '(v:2)'::kpi.rfm;
SELECT '(v:1,rows:[(3,2,9,1,1)])'::kpi.clv_fit_state;
SELECT '(v:1,rows:[(1,2,9,1,0)])'::kpi.clv_fit_state;
SELECT '(v:1,rows:[(1,2,9,1)])'::kpi.clv_fit_state;
SELECT '(v:1)'::kpi.clv_fit_state;
SELECT '(v:1,r:-1,alpha:1,a:1,b:1,p:1,q:1,gamma:1,customers:1,repeat_customers:1,loglik_bgnbd:-1,loglik_gg:-1)'::kpi.clv_model;
SELECT '(v:1,r:1,alpha:1,a:1,b:1,p:1,q:1,gamma:1,customers:1,repeat_customers:2,loglik_bgnbd:-1,loglik_gg:-1)'::kpi.clv_model;
SELECT '(v:1,r:1,alpha:1)'::kpi.clv_model;
SELECT '(v:3,r:1)'::kpi.clv_model;
SELECT '(v:1,keys:uuid,orders:0,days:[])'::kpi.clv_state;
SELECT '(v:1,keys:int,observed_until:5,orders:1,days:[(1,6,1)])'::kpi.clv_state;
SELECT '(v:1,keys:int,orders:1,days:[(1,2,1),(1,3,1)])'::kpi.clv_state;
SELECT '(v:1,keys:int,orders:1,days:[(1,2)])'::kpi.clv_state;
SELECT '(v:1,keys:int,horizon:[1,2],orders:0,days:[])'::kpi.clv_state;
SELECT '(v:1,orders:0)'::kpi.clv_state;

-- Text fuzz: 4,000 random mutations of valid texts parse or fail with
-- 22P02 (0A000 for a mutated version), never anything else.
CREATE FUNCTION mutate(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    alphabet text := '()[],:v0123456789.-+eE naIN';
    pos int;
BEGIN
    FOR k IN 1 .. 1 + floor(random() * 4)::int LOOP
        pos := 1 + floor(random() * length(t))::int;
        t := overlay(t PLACING substr(alphabet, 1 + floor(random() * length(alphabet))::int, 1) FROM pos FOR 1);
    END LOOP;
    RETURN t;
END $$;
CREATE FUNCTION text_fuzz(seed text, typ regtype, n int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    accepted int := 0;
    refused int := 0;
    other text := '';
BEGIN
    FOR i IN 1 .. n LOOP
        BEGIN
            EXECUTE format('SELECT %L::%s', mutate(seed), typ);
            accepted := accepted + 1;
        EXCEPTION WHEN invalid_text_representation OR feature_not_supported THEN
            refused := refused + 1;
        WHEN others THEN
            other := other || SQLSTATE || ' ';
        END;
    END LOOP;
    RETURN CASE WHEN other = '' AND accepted + refused = n THEN 'ok' ELSE 'unexpected: ' || other END;
END $$;
SELECT setseed(0.25);
SELECT typ, text_fuzz(seed, typ, 1000) AS outcome
FROM (SELECT 'kpi.rfm'::regtype AS typ, rfm::text AS seed FROM io_states WHERE id = 1
      UNION ALL SELECT 'kpi.clv_fit_state', substr(fit::text, 1, 120) || '])' FROM io_states WHERE id = 1
      UNION ALL SELECT 'kpi.clv_model', model::text FROM io_states WHERE id = 1
      UNION ALL SELECT 'kpi.clv_state', state::text FROM io_states WHERE id = 4) s
ORDER BY typ::text;

-- Bad binary: 22P03, written as a COPY BINARY file by hand (header, one
-- row of one field, the field's bytes, trailer).
CREATE TABLE bad_rfm (s kpi.rfm);
CREATE TABLE bad_fit (s kpi.clv_fit_state);
CREATE TABLE bad_model (s kpi.clv_model);
CREATE TABLE bad_state (s kpi.clv_state);
SELECT copy_in('bad_rfm', '\x');
SELECT copy_in('bad_rfm', '\x02');
SELECT copy_in('bad_rfm', substr(kpi.rfm_send(rfm), 1, 45)) FROM io_states WHERE id = 1;
SELECT copy_in('bad_rfm', kpi.rfm_send(rfm) || '\x00'::bytea) FROM io_states WHERE id = 1;
SELECT copy_in('bad_fit', '\x01ffffffff');
SELECT copy_in('bad_fit', '\x0100000001'::bytea || '\x00000003000000020000000a3ff0000000000000'::bytea
                              || '\x0000000000000001'::bytea);
SELECT copy_in('bad_model', substr(kpi.clv_model_send(model), 1, 88)) FROM io_states WHERE id = 1;
SELECT copy_in('bad_model', '\x01' || repeat('00', 88)::bytea) ;
SELECT copy_in('bad_state', '\x0100000000000000000000000000000000000000000000000000000000000000000000');
SELECT copy_in('bad_state', '\x0120000000000000000000000000000000000000000000000000000000000000000000');
SELECT copy_in('bad_state', kpi.clv_state_send(state) || '\x00'::bytea) FROM io_states WHERE id = 1;
-- the good bytes of every stored state are accepted
SELECT id, t, copy_in('bad_' || t, bytes)
FROM (SELECT id, 'rfm' AS t, kpi.rfm_send(rfm) AS bytes FROM io_states
      UNION ALL SELECT id, 'fit', kpi.clv_fit_state_send(fit) FROM io_states
      UNION ALL SELECT id, 'model', kpi.clv_model_send(model) FROM io_states
      UNION ALL SELECT id, 'state', kpi.clv_state_send(state) FROM io_states) s
WHERE bytes IS NOT NULL ORDER BY id, t;
SELECT (SELECT count(*) FROM bad_rfm) AS rfm, (SELECT count(*) FROM bad_fit) AS fit,
       (SELECT count(*) FROM bad_model) AS model, (SELECT count(*) FROM bad_state) AS state;

-- Binary fuzz: 1,200 corrupted byte strings are accepted or refused with
-- 22P03 (0A000 for a corrupted version byte), never anything else.
CREATE FUNCTION binary_fuzz(tab text, good bytea, n int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    b bytea;
    outcome text;
    bad text := '';
BEGIN
    FOR i IN 1 .. n LOOP
        b := good;
        FOR k IN 1 .. 1 + floor(random() * 3)::int LOOP
            b := set_byte(b, floor(random() * length(b))::int, floor(random() * 256)::int);
        END LOOP;
        IF random() < 0.3 THEN
            b := substr(b, 1, floor(random() * length(b))::int);
        END IF;
        outcome := copy_in(tab, b);
        IF outcome <> 'accepted' AND outcome NOT LIKE '22P03:%' AND outcome NOT LIKE '0A000:%' THEN
            bad := bad || outcome || '; ';
        END IF;
    END LOOP;
    RETURN CASE WHEN bad = '' THEN 'ok' ELSE bad END;
END $$;
SELECT setseed(0.5);
SELECT binary_fuzz('bad_rfm', kpi.rfm_send(rfm), 300) AS rfm,
       binary_fuzz('bad_fit', kpi.clv_fit_state_send(fit), 300) AS fit,
       binary_fuzz('bad_model', kpi.clv_model_send(model), 300) AS model,
       binary_fuzz('bad_state', kpi.clv_state_send(state), 300) AS state
FROM io_states WHERE id = 1;
