/*
 * bench/generate/prng.sql
 *	  The deterministic pseudo-random generator of the synthetic data, in
 *	  schema "bench".
 *
 * No random(): every value is a pure function of (row key, seed) through
 * hashint8extended(), whose result is defined on the integer value (not its
 * bytes), so it is the same on every machine and every PostgreSQL since 11.
 * Derived floating values (ln, exp, cos) are bit-identical on machines with
 * the same libm; a different libm could only move a value that lies within
 * one ulp of a rounding boundary.  Loaded by run.sh before the generators;
 * a change here regenerates every data set.
 */
CREATE SCHEMA IF NOT EXISTS bench;

/*
 * bench.u(key, seed): uniform double in [0, 1) from the top 53 bits of a
 * 64-bit hash of key.  Different seeds give independent streams.
 */
CREATE OR REPLACE FUNCTION bench.u(key bigint, seed integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT ((hashint8extended(key, seed) >> 11) & 9007199254740991)::double precision
		/ 9007199254740992.0::double precision
$$;

/* bench.z(key, seed): standard normal variate (Box-Muller on two streams). */
CREATE OR REPLACE FUNCTION bench.z(key bigint, seed integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT sqrt(-2.0 * ln(1.0 - bench.u(key, seed)))
		* cos(2.0 * pi() * bench.u(key, seed + 1000000))
$$;

/* bench.e(key, seed): exponential variate with mean 1. */
CREATE OR REPLACE FUNCTION bench.e(key bigint, seed integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT -ln(1.0 - bench.u(key, seed))
$$;
