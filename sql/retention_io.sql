-- retention_io: text and binary forms of the customer-set states round-trip
-- exactly; equal sets are equal bytes (matviews refresh concurrently); bad
-- input is refused with a clear error, never a crash.
CREATE TABLE cs_rows AS
SELECT i, (i * 37) % 101 AS c, timestamptz '2025-01-01 00:00+00' + (i % 60) * interval '1 day' AS t,
       i / 3 AS o, round(i * 1.25, 2) AS a
FROM generate_series(1, 300) i;
CREATE TABLE cs_states (id int, ret kpi.retention_state, coh kpi.cohort_state,
                        rep kpi.repeat_state, aov kpi.aov_lines_state);
INSERT INTO cs_states
SELECT 1, kpi.retention_agg(c, t, '2025-02-01'), kpi.cohort_agg(c, t, 'week'), kpi.repeat_agg(c),
       kpi.aov_agg(a, o) FROM cs_rows
UNION ALL
SELECT 2, kpi.retention_agg('x' || c || E'"\\()[]\u00e9', t, '2025-02-01'), kpi.cohort_agg(md5(c::text)::uuid, t, 'day'),
       kpi.repeat_agg(c, 'o' || o), kpi.aov_agg(a, md5(o::text)::uuid) FROM cs_rows
UNION ALL
SELECT 3, kpi.retention_agg(c::numeric, t, '2025-02-01'), kpi.cohort_agg(-c::bigint * 1000000000000, t, 'year'),
       kpi.repeat_agg(c, o::numeric), kpi.aov_agg(a, 'o' || o) FROM cs_rows
UNION ALL
SELECT 4, kpi.retention_agg(c, t, '2025-02-01'), kpi.cohort_agg(c, t, 'month'), kpi.repeat_agg(c),
       kpi.aov_agg(a, o) FROM cs_rows WHERE false;
-- small states in full
SELECT id, ret, coh FROM cs_states WHERE id = 4;
SELECT kpi.retention_agg(x, t, '2025-01-02'), kpi.cohort_agg(x, t, 'quarter'), kpi.repeat_agg(x, y), kpi.aov_agg(1.5, x)
FROM (VALUES ('a"b\c', timestamptz '2025-01-01', 'zz'), (E'\u00e9 (1)', '2025-06-01', 'zz'), ('', '2025-01-03', 'y')) v(x, t, y);

-- text: output -> input -> output is the identity
SELECT id, ret::text::kpi.retention_state::text = ret::text AS ret_text,
       coh::text::kpi.cohort_state::text = coh::text AS coh_text,
       rep::text::kpi.repeat_state::text = rep::text AS rep_text,
       aov::text::kpi.aov_lines_state::text = aov::text AS aov_text
FROM cs_states ORDER BY id;

-- binary: COPY out and in through send/recv
CREATE TABLE cs_back (LIKE cs_states);
DO $$
DECLARE
    path text := current_setting('data_directory') || '/kpi_cs_states.bin';
BEGIN
    EXECUTE format('COPY cs_states TO %L (FORMAT binary)', path);
    EXECUTE format('COPY cs_back FROM %L (FORMAT binary)', path);
END $$;
SELECT count(*) AS rows_back,
       count(*) FILTER (WHERE a.ret::text <> b.ret::text OR a.coh::text <> b.coh::text
                           OR a.rep::text <> b.rep::text OR a.aov::text <> b.aov::text) AS differing
FROM cs_states a JOIN cs_back b USING (id);

-- Equal sets are equal bytes, whatever the row order or grouping.
CREATE TYPE cs_image AS (ret kpi.retention_state, coh kpi.cohort_state, rep kpi.repeat_state, aov kpi.aov_lines_state);
SELECT ROW(s.ret, s.coh, s.rep, s.aov)::cs_image *= ROW(r.ret, r.coh, r.rep, r.aov)::cs_image AS same_image
FROM cs_states s,
     (SELECT kpi.rollup(ret) AS ret, kpi.rollup(coh) AS coh, kpi.rollup(rep) AS rep, kpi.rollup(aov) AS aov
      FROM (SELECT kpi.retention_agg(c, t, '2025-02-01' ORDER BY i DESC) AS ret,
                   kpi.cohort_agg(c, t, 'week' ORDER BY i DESC) AS coh,
                   kpi.repeat_agg(c ORDER BY i DESC) AS rep, kpi.aov_agg(a, o ORDER BY i DESC) AS aov
            FROM cs_rows GROUP BY i % 7) p) r
WHERE s.id = 1;

-- A materialized view of states refreshes concurrently and rolls up.
CREATE MATERIALIZED VIEW cs_daily AS
SELECT t::date AS day, kpi.retention_agg(c, t, '2025-02-01') AS ret, kpi.cohort_agg(c, t, 'week') AS coh
FROM cs_rows GROUP BY 1;
CREATE UNIQUE INDEX ON cs_daily (day);
INSERT INTO cs_rows SELECT 1000 + i, i, timestamptz '2025-01-05 00:00+00', i, 1 FROM generate_series(1, 5) i;
REFRESH MATERIALIZED VIEW CONCURRENTLY cs_daily;
SELECT (SELECT kpi.rollup(ret)::text FROM cs_daily) = (SELECT kpi.retention_agg(c, t, '2025-02-01')::text FROM cs_rows) AS ret_same,
       (SELECT kpi.rollup(coh)::text FROM cs_daily) = (SELECT kpi.cohort_agg(c, t, 'week')::text FROM cs_rows) AS coh_same;

-- Whitespace is free on input; output is canonical.
SELECT ' ( v:1 , kind:int8 , n:2 , customers:[ 5=before , 7=both ] ) '::kpi.retention_state;
SELECT '(v:1,period:month,set:(kind:int8,n:1,customers:[7=[24300,24302]]))'::kpi.cohort_state;

-- Bad text: 22P02 with a detail; unknown version: 0A000.
SELECT 'garbage'::kpi.retention_state;
SELECT '(v:1,kind:int8,n:2,customers:[7=both,5=before])'::kpi.retention_state;
SELECT '(v:1,kind:int8,n:2,customers:[5=before,5=both])'::kpi.retention_state;
SELECT '(v:1,kind:int8,n:3,customers:[5=before,7=both])'::kpi.retention_state;
SELECT '(v:1,kind:int8,n:1,customers:[5=sometimes])'::kpi.retention_state;
SELECT '(v:1,kind:uuid,n:1,customers:[not-a-uuid])'::kpi.retention_state;
SELECT '(v:1,kind:text,n:1,customers:["abc])'::kpi.retention_state;
SELECT '(v:1,kind:int8,n:1,customers:[99999999999999999999=after])'::kpi.retention_state;
SELECT '(v:1,kind:int8,n:0,customers:[],extra:1)'::kpi.retention_state;
SELECT '(v:2,kind:none,n:0,customers:[])'::kpi.retention_state;
SELECT '(v:1,period:fortnight,set:(kind:int8,n:1,customers:[7=[1]]))'::kpi.cohort_state;
SELECT '(v:1,period:none,set:(kind:int8,n:1,customers:[7=[1]]))'::kpi.cohort_state;
SELECT '(v:1,period:day,set:(kind:int8,n:1,customers:[7=[9999999999]]))'::kpi.cohort_state;
SELECT '(v:1,kind:int8,n:1,customers:[7=0])'::kpi.repeat_state;
SELECT '(v:1,kind:int8,order_kind:int8,n:1,customers:[7=[2,1]])'::kpi.repeat_state;
SELECT '(v:1,amounts:(v:1,n:0),orders:(kind:int8,n:1,orders:[7]))'::kpi.aov_lines_state;
SELECT '(v:1,amounts:(v:1,kind:float8,n:1,sum:1,sum_lo:0,exact:true,nan:0,pinf:0,ninf:0),orders:(kind:int8,n:1,orders:[7]))'::kpi.aov_lines_state;

-- Bad binary: 22P03, written as a COPY BINARY file by hand.
CREATE TABLE cs_bad (s kpi.retention_state);
SELECT copy_in('cs_bad', kpi.retention_state_send(ret)) AS good FROM cs_states WHERE id = 1;
-- layout: version, set type, key kind, second kind, u32 records, u32 body bytes, body
SELECT copy_in('cs_bad', '\x');                                   -- nothing
SELECT copy_in('cs_bad', '\x0201000000000000000000');             -- version 2
SELECT copy_in('cs_bad', '\x0102000000000000000000');             -- a cohort set
SELECT copy_in('cs_bad', '\x01010100000000010000000102');         -- body shorter than said
SELECT copy_in('cs_bad', '\x01010100000000020000000402020003');   -- customer 1 twice
SELECT copy_in('cs_bad', '\x01010100000000010000000105');         -- flags 5
SELECT copy_in('cs_bad', substr(kpi.retention_state_send(ret), 1, 20)) FROM cs_states WHERE id = 1;
SELECT copy_in('cs_bad', kpi.retention_state_send(ret) || '\x00'::bytea) FROM cs_states WHERE id = 1;
-- random bytes and random mutations of good states: refused or accepted, never a crash
SELECT count(*) AS tries,
       count(*) FILTER (WHERE r NOT LIKE '22P03:%' AND r NOT LIKE '0A000:%' AND r <> 'accepted') AS unexpected
FROM (SELECT copy_in('cs_bad', CASE WHEN g % 2 = 0
                             THEN decode(md5(g::text) || md5((g * 7)::text), 'hex')
                             ELSE overlay(kpi.retention_state_send(s.ret)
                                          placing decode(lpad(to_hex(g % 256), 2, '0'), 'hex')
                                          from 1 + g % length(kpi.retention_state_send(s.ret)))
                        END) AS r
      FROM generate_series(1, 400) g, cs_states s WHERE s.id = 1) t;
