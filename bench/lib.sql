/*
 * bench/lib.sql
 *	  Measuring and comparing queries for the kpi benchmark harness, in
 *	  schema "bench".
 *
 * Loaded by bench/run.sh before anything else (idempotent).  Everything
 * runs inside the server, so psql start-up and result transfer are not
 * timed.  The data generator's functions are in generate/prng.sql.
 */
CREATE SCHEMA IF NOT EXISTS bench;

/*
 * bench.fingerprint(table): row count and a 64-bit sum of row hashes, to
 * show that two machines generated the same data.  Depends on the text form
 * of the rows, so run.sh fixes TimeZone, DateStyle and extra_float_digits.
 */
CREATE OR REPLACE FUNCTION bench.fingerprint(tab regclass)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	result text;
BEGIN
	EXECUTE format('SELECT count(*) || '' rows, hash '' || coalesce(sum(hashtext(t::text)::bigint), 0) FROM %s t', tab)
		INTO result;
	RETURN result;
END
$$;

/*
 * bench.run_once(query): run query once under EXPLAIN (ANALYZE, TIMING OFF)
 * and return planning + execution time in ms as the server measured it,
 * whether the plan has a Gather (Merge) node, and how many workers were
 * launched in total.  The result rows are computed and discarded.
 */
CREATE OR REPLACE FUNCTION bench.run_once(query text,
	OUT ms double precision, OUT gather boolean, OUT workers integer)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || query INTO plan;
	ms := (plan -> 0 ->> 'Planning Time')::double precision
		+ (plan -> 0 ->> 'Execution Time')::double precision;
	SELECT coalesce(bool_or(v #>> '{}' LIKE 'Gather%'), false) INTO gather
		FROM jsonb_path_query(plan, 'strict $.**."Node Type"') AS v;
	SELECT coalesce(sum((v #>> '{}')::integer), 0) INTO workers
		FROM jsonb_path_query(plan, 'strict $.**."Workers Launched"') AS v;
END
$$;

/*
 * bench.probe(query): the message of the "does not exist" error that stops
 * query from being planned (a kpi function overload or type not built yet),
 * else NULL.  Other errors are left for the measurement to report.
 */
CREATE OR REPLACE FUNCTION bench.probe(query text)
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
	EXECUTE 'EXPLAIN ' || query;
	RETURN NULL;
EXCEPTION
	WHEN undefined_function OR undefined_object THEN
		IF SQLERRM ~ '^(function|type) .* does not exist$' THEN
			RETURN SQLERRM;
		END IF;
		RETURN NULL;
	WHEN OTHERS THEN
		RETURN NULL;
END
$$;

/* bench.median(values): the median of an array of timings. */
CREATE OR REPLACE FUNCTION bench.median(vals double precision[])
RETURNS double precision
LANGUAGE sql IMMUTABLE
AS $$
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(vals) AS v
$$;

/* bench.plan_label(gather, min workers, max workers): "yes(2)", "yes(1-2)" or "no". */
CREATE OR REPLACE FUNCTION bench.plan_label(gather boolean, wmin integer, wmax integer)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE
		WHEN NOT gather THEN 'no'
		WHEN wmin = wmax THEN 'yes(' || wmin || ')'
		ELSE 'yes(' || wmin || '-' || wmax || ')'
	END
$$;

/*
 * bench.measure(kpi query, sql query, runs): one warm-up run of each query,
 * then runs timed runs, alternating kpi and sql so that drift affects both
 * alike.  sql query may be NULL (kpi-only case).  Returns the medians, the
 * plan labels and the individual timings.
 */
CREATE OR REPLACE FUNCTION bench.measure(kpi_query text, sql_query text, runs integer,
	OUT kpi_ms double precision, OUT sql_ms double precision,
	OUT kpi_plan text, OUT sql_plan text,
	OUT kpi_runs text, OUT sql_runs text)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	k double precision[] := '{}';
	s double precision[] := '{}';
	kw integer[] := '{}';
	sw integer[] := '{}';
	kg boolean := false;
	sg boolean := false;
	r record;
BEGIN
	PERFORM bench.run_once(kpi_query);
	IF sql_query IS NOT NULL THEN
		PERFORM bench.run_once(sql_query);
	END IF;
	FOR i IN 1 .. runs LOOP
		r := bench.run_once(kpi_query);
		k := k || r.ms;
		kw := kw || r.workers;
		kg := kg OR r.gather;
		IF sql_query IS NOT NULL THEN
			r := bench.run_once(sql_query);
			s := s || r.ms;
			sw := sw || r.workers;
			sg := sg OR r.gather;
		END IF;
	END LOOP;
	kpi_ms := bench.median(k);
	kpi_plan := bench.plan_label(kg, (SELECT min(x) FROM unnest(kw) x), (SELECT max(x) FROM unnest(kw) x));
	kpi_runs := array_to_string(ARRAY(SELECT round(x::numeric, 1) FROM unnest(k) x), ' ');
	IF sql_query IS NOT NULL THEN
		sql_ms := bench.median(s);
		sql_plan := bench.plan_label(sg, (SELECT min(x) FROM unnest(sw) x), (SELECT max(x) FROM unnest(sw) x));
		sql_runs := array_to_string(ARRAY(SELECT round(x::numeric, 1) FROM unnest(s) x), ' ');
	END IF;
END
$$;

/*
 * bench.close(a, b, tol): a and b are equal, both NULL, or differ by at most
 * tol relative to the larger magnitude.
 */
CREATE OR REPLACE FUNCTION bench.close(a double precision, b double precision, tol double precision)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
	SELECT (a IS NULL AND b IS NULL)
		OR a = b
		OR coalesce(abs(a - b) <= tol * greatest(abs(a), abs(b)), false)
$$;

/*
 * bench.compare(kpi query, sql query, tol): do the two queries return the
 * same answer?  Both results are stored in temporary tables (CREATE TABLE AS
 * runs under the session's parallel settings) and compared by column
 * position, as multisets: row order does not matter.
 *
 * tol NULL: exact comparison (EXCEPT ALL both ways, so numeric 1.50 = 1.5).
 * tol given: columns of type real or double precision on either side are
 * compared with relative tolerance tol; the other columns exactly.  Rows are
 * paired after sorting both sides by their exact columns first, so those
 * must identify a row (a group key), as they do in every grouped KPI.
 *
 * Returns 'yes', 'yes (rel. tol. 1e-12)' or 'NO: <what differs>'.
 */
CREATE OR REPLACE FUNCTION bench.compare(kpi_query text, sql_query text, tol double precision)
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	kcols text[];
	scols text[];
	ktypes regtype[];
	stypes regtype[];
	nk bigint;
	ns bigint;
	ndiff bigint;
	approx boolean[] := '{}';
	korder text[] := '{}';
	sorder text[] := '{}';
	ksel text[] := '{}';
	ssel text[] := '{}';
	conds text[] := '{}';
	c text;
BEGIN
	DROP TABLE IF EXISTS pg_temp.bench_ans_kpi, pg_temp.bench_ans_sql;
	EXECUTE 'CREATE TEMP TABLE bench_ans_kpi AS ' || kpi_query;
	EXECUTE 'CREATE TEMP TABLE bench_ans_sql AS ' || sql_query;

	SELECT array_agg(quote_ident(attname) ORDER BY attnum), array_agg(atttypid::regtype ORDER BY attnum)
		INTO kcols, ktypes
		FROM pg_attribute WHERE attrelid = 'pg_temp.bench_ans_kpi'::regclass AND attnum > 0 AND NOT attisdropped;
	SELECT array_agg(quote_ident(attname) ORDER BY attnum), array_agg(atttypid::regtype ORDER BY attnum)
		INTO scols, stypes
		FROM pg_attribute WHERE attrelid = 'pg_temp.bench_ans_sql'::regclass AND attnum > 0 AND NOT attisdropped;
	IF cardinality(kcols) <> cardinality(scols) THEN
		RETURN format('NO: %s vs %s columns', cardinality(kcols), cardinality(scols));
	END IF;

	SELECT count(*) INTO nk FROM pg_temp.bench_ans_kpi;
	SELECT count(*) INTO ns FROM pg_temp.bench_ans_sql;
	IF nk <> ns THEN
		RETURN format('NO: %s vs %s rows', nk, ns);
	END IF;

	FOR i IN 1 .. cardinality(kcols) LOOP
		approx := approx || (tol IS NOT NULL AND
			(ktypes[i] IN ('real', 'double precision') OR stypes[i] IN ('real', 'double precision')));
	END LOOP;

	IF NOT (true = ANY (approx)) THEN
		SELECT count(*) INTO ndiff FROM (
			(TABLE pg_temp.bench_ans_kpi EXCEPT ALL TABLE pg_temp.bench_ans_sql)
			UNION ALL
			(TABLE pg_temp.bench_ans_sql EXCEPT ALL TABLE pg_temp.bench_ans_kpi)) AS d;
		IF ndiff > 0 THEN
			RETURN format('NO: %s of %s rows differ', ndiff / 2, nk);
		END IF;
		RETURN 'yes';
	END IF;

	/* exact columns first in the sort key, approximate ones last */
	FOR pass IN 0 .. 1 LOOP
		FOR i IN 1 .. cardinality(kcols) LOOP
			IF approx[i] = (pass = 1) THEN
				korder := korder || kcols[i];
				sorder := sorder || scols[i];
			END IF;
		END LOOP;
	END LOOP;
	FOR i IN 1 .. cardinality(kcols) LOOP
		c := 'c' || i;
		ksel := ksel || (kcols[i] || ' AS ' || c);
		ssel := ssel || (scols[i] || ' AS ' || c);
		IF approx[i] THEN
			conds := conds || format('NOT bench.close(k.%1$s::double precision, s.%1$s::double precision, %2$s)', c, tol);
		ELSE
			conds := conds || format('k.%1$s IS DISTINCT FROM s.%1$s', c);
		END IF;
	END LOOP;
	EXECUTE format(
		'SELECT count(*) FROM (SELECT row_number() OVER (ORDER BY %s) AS rn, %s FROM pg_temp.bench_ans_kpi) AS k '
		'JOIN (SELECT row_number() OVER (ORDER BY %s) AS rn, %s FROM pg_temp.bench_ans_sql) AS s USING (rn) '
		'WHERE %s',
		array_to_string(korder, ', '), array_to_string(ksel, ', '),
		array_to_string(sorder, ', '), array_to_string(ssel, ', '),
		array_to_string(conds, ' OR '))
		INTO ndiff;
	IF ndiff > 0 THEN
		RETURN format('NO: %s of %s rows differ (rel. tol. %s)', ndiff, nk, tol);
	END IF;
	RETURN format('yes (rel. tol. %s)', tol);
END
$$;
