-- io: kpi.aov_state text and binary forms round-trip exactly; bad input
-- is refused with a clear error, never a crash.
CREATE TABLE states (id int, s kpi.aov_state);
INSERT INTO states VALUES
    (1, (SELECT kpi.aov_agg(x) FROM (VALUES (10.00), (20.505), (-3)) t(x))),
    (2, (SELECT kpi.aov_agg(x) FROM (VALUES (0.1::float8), (1e300), (-1e300)) t(x))),
    (3, (SELECT kpi.aov_agg(x) FROM (VALUES (1::bigint), (9223372036854775807)) t(x))),
    (4, (SELECT kpi.aov_agg(x) FROM (VALUES ('NaN'::numeric), ('Infinity'), (2.5)) t(x))),
    (5, (SELECT kpi.aov_agg(x) FROM (VALUES (1.5::numeric)) t(x) WHERE false)),
    (6, (SELECT kpi.aov_agg(x) FROM (VALUES (0.1::float8), (0.2), (0.3)) t(x))),
    -- wide sums: past 128 bits, positive and negative
    (7, (SELECT kpi.aov_agg(x) FROM (VALUES (1e40), (0.5), ('NaN')) t(x))),
    (8, (SELECT kpi.aov_agg(x) FROM (VALUES (-1e30), (-0.000000001)) t(x)));
SELECT id, s FROM states ORDER BY id;

-- text: output -> input -> output is the identity
SELECT id, s::text::kpi.aov_state::text = s::text AS text_round_trip FROM states ORDER BY id;

-- float8 fields are written as float8out writes them (extra_float_digits
-- >= 1): the shortest digits that read back, plain for decimal exponents
-- in [-4, 15), else d.ddde+NN.  2^89 needs its 16 digits rounded up; 1e23
-- is the midpoint between two doubles, which float8out never writes.
SELECT x, kpi.aov_agg(x)
FROM (VALUES (100::float8), (12300), (123456789012345.6), (1e15), (0.0001), (1.5e-5),
             ('5e-324'), ('-1.7976931348623157e308'), (2::float8 ^ 89), ('1e23')) t(x)
GROUP BY x ORDER BY x;
-- They agree with float8out itself and read back through float8in: every
-- power of two (doubled exactly from the smallest subnormal) of either
-- sign, powers of ten, and ten random mantissas in every binade.
SET extra_float_digits = 1;
WITH RECURSIVE twos(k, x) AS (
    SELECT -1074, '5e-324'::float8
    UNION ALL
    SELECT k + 1, x * 2 FROM twos WHERE k < 1023
), doubles(x) AS (
    SELECT s * x FROM twos, (VALUES (1::float8), (-1)) sign(s)
    UNION ALL
    SELECT ('1e' || k)::float8 FROM generate_series(-323, 308) k
    UNION ALL
    SELECT (1 + random()) * x FROM twos, generate_series(1, 10)
), written(x, sum) AS (
    -- one state per double
    SELECT x, substring(kpi.aov_agg(x)::text FROM 'sum:([^,]*)')
    FROM (SELECT row_number() OVER () AS id, x FROM doubles) d
    GROUP BY id, x
)
SELECT count(*) AS doubles,
       count(*) FILTER (WHERE sum <> x::text) AS unlike_float8out,
       count(*) FILTER (WHERE sum::float8 <> x) AS not_read_back
FROM written;
RESET extra_float_digits;

-- binary: COPY out and in through the send/recv functions (a file in the
-- cluster's data directory)
CREATE TABLE states_back (LIKE states);
DO $$
DECLARE
    path text := current_setting('data_directory') || '/kpi_io_states.bin';
BEGIN
    EXECUTE format('COPY states TO %L (FORMAT binary)', path);
    EXECUTE format('COPY states_back FROM %L (FORMAT binary)', path);
END $$;
SELECT count(*) AS differing FROM states a JOIN states_back b USING (id) WHERE a.s::text <> b.s::text;
SELECT count(*) AS rows_back FROM states_back;

-- Whitespace and field order are free on input; output is canonical.
SELECT ' ( v:1 , n:3, kind:numeric, sum:1.50, max_scale_count:1, nan:0, pinf:0, ninf:0 ) '::kpi.aov_state;
SELECT '(v:1,kind:numeric,n:0,sum:0,max_scale_count:0,nan:0,pinf:0,ninf:0)'::kpi.aov_state;

-- Bad text: 22P02 with a detail naming the problem; unknown version: 0A000.
SELECT 'garbage'::kpi.aov_state;
SELECT '(v:1,n:0'::kpi.aov_state;
SELECT '(v:1,n:1)'::kpi.aov_state;
SELECT '(v:1,kind:numeric,n:1,sum:1.5,max_scale_count:1,nan:0,pinf:0,ninf:0,extra:1)'::kpi.aov_state;
SELECT '(v:1,kind:numeric,n:1,n:1,sum:1.5,max_scale_count:1,nan:0,pinf:0,ninf:0)'::kpi.aov_state;
SELECT '(v:1,kind:decimal,n:1,sum:1.5,max_scale_count:1,nan:0,pinf:0,ninf:0)'::kpi.aov_state;
SELECT '(v:1,kind:numeric,n:1,sum:1.5x,max_scale_count:1,nan:0,pinf:0,ninf:0)'::kpi.aov_state;
SELECT '(v:1,kind:numeric,n:1,sum:1.5,max_scale_count:5,nan:0,pinf:0,ninf:0)'::kpi.aov_state;
SELECT '(v:1,kind:numeric,n:-1,sum:1.5,max_scale_count:1,nan:0,pinf:0,ninf:0)'::kpi.aov_state;
SELECT '(v:1,kind:float8,n:1,sum:1,sum_lo:1,exact:true,nan:0,pinf:0,ninf:0)'::kpi.aov_state;
-- A sum of any size is fine (here 42 nines); past numeric's digits it is not.
SELECT '(v:1,kind:numeric,n:1,sum:999999999999999999999999999999999999999999,max_scale_count:1,nan:0,pinf:0,ninf:0)'::kpi.aov_state;
CREATE FUNCTION input_error(text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    PERFORM $1::kpi.aov_state;
    RETURN 'accepted';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || detail;
END $$;
SELECT input_error('(v:1,kind:numeric,n:1,sum:0.' || repeat('0', 16382) || '1,max_scale_count:1,nan:0,pinf:0,ninf:0)')
    AS scale_16383,
       input_error('(v:1,kind:numeric,n:1,sum:0.' || repeat('0', 16383) || '1,max_scale_count:1,nan:0,pinf:0,ninf:0)')
    AS scale_16384,
       input_error('(v:1,kind:numeric,n:1,sum:' || repeat('9', 131091) || ',max_scale_count:1,nan:0,pinf:0,ninf:0)')
    AS int_digits_131091,
       input_error('(v:1,kind:numeric,n:1,sum:' || repeat('9', 131092) || ',max_scale_count:1,nan:0,pinf:0,ninf:0)')
    AS int_digits_131092;
SELECT '(v:2,n:0)'::kpi.aov_state;

-- Bad binary: 22P03, written as a COPY BINARY file by hand.
-- Header, one row of one field, then the field's bytes, then the trailer.
CREATE TABLE bad_states (s kpi.aov_state);
-- the empty state is accepted; the rest are not
SELECT copy_in('bad_states', '\x0100');
SELECT copy_in('bad_states', '\x');
SELECT copy_in('bad_states', '\x0200');
SELECT copy_in('bad_states', '\x0109');
SELECT copy_in('bad_states', '\x010100');
SELECT copy_in('bad_states', '\x010000');
SELECT copy_in('bad_states', substr(kpi.aov_state_send(s), 1, 30)) FROM states WHERE id = 1;
SELECT copy_in('bad_states', kpi.aov_state_send(s) || '\x00'::bytea) FROM states WHERE id = 1;
-- a wide state cut short, and the sum 1 written wide (not canonical)
SELECT copy_in('bad_states', substr(kpi.aov_state_send(s), 1, 50)) FROM states WHERE id = 7;
SELECT copy_in('bad_states', '\x0103'::bytea || '\x0000000000000001' || '\x0000000000000000' || '\x0000000000000000'
               || '\x0000000000000000' || '\x00000000' || '\x00' || '\x00000001' || '\x00000001'
               || '\x0000000000000001'::bytea);
-- and the good bytes of every stored state are accepted
SELECT id, copy_in('bad_states', kpi.aov_state_send(s)) FROM states ORDER BY id;
SELECT count(*) AS accepted FROM bad_states;
