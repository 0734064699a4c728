/*
 * bench/generate/cdnow.sql
 *	  bench_cdnow: the CDNOW 1/10 sample (Fader & Hardie), 2,357 customers,
 *	  6,919 purchases, for the CLV fit benchmark.
 *
 * run.sh feeds the CSV file (customer_id,ordered_at,amount with a header
 * line, see test data / ../shared/data/cdnow/README.md for its origin and
 * terms) on standard input.
 */
\set ON_ERROR_STOP 1

DROP TABLE IF EXISTS bench_cdnow;
CREATE TABLE bench_cdnow (
	customer_id integer NOT NULL,
	ordered_at date NOT NULL,
	amount numeric(12,2) NOT NULL
);
\copy bench_cdnow FROM pstdin WITH (FORMAT csv, HEADER true)
VACUUM (ANALYZE) bench_cdnow;
