/*-------------------------------------------------------------------------
 *
 * test_funnel.c
 *	  Unit and property tests of the funnel core (src/core/funnel_core.c).
 *
 * Hand-worked cases state their expected level (and times) in a comment
 * worked out from the semantics in funnel_core.h.  A brute-force reference
 * (enumerate every chain of every prefix of the scan) is compared with
 * the dynamic programme on thousands of small random cases in every mode
 * combination.  Property tests cover arrival order, split + merge, the
 * codecs and hostile input; a benchmark prints timings as TAP comments
 * (KPI_FUNNEL_BENCH_EVENTS sets its size, 0 skips it; see
 * BENCH_DEFAULT_EVENTS).
 *
 * IDENTIFICATION
 *	  test/unit/test_funnel.c
 *
 *-------------------------------------------------------------------------
 */
#include "funnel_core.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S(k) (1u << ((k) - 1))	/* the bit of step k */
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static const kpi_allocator *mem = &kpi_malloc_allocator;

typedef struct row
{
	uint64_t	entity;
	int64_t		ts;
	uint32_t	steps;
} row;

/* ------------------------------------------------------------ utilities */

/*
 * A number from 0 to n - 1 (n > 0) from unit.h's generator, which each
 * test seeds; unit_rand_below with a 64-bit range.
 */
static uint64_t
random_below(uint64_t n)
{
	return unit_rng_next() % n;
}

static void
shuffle_rows(row *rows, size_t n)
{
	for (size_t i = n; i > 1; i--)
	{
		size_t		j = (size_t) random_below(i);
		row			t = rows[i - 1];

		rows[i - 1] = rows[j];
		rows[j] = t;
	}
}

/* Parameters with integer entity keys (set p.keys for hashed ones). */
static funnel_params
params(int nsteps, int64_t window, uint32_t modes)
{
	funnel_params p;

	p.nsteps = nsteps;
	p.window = window;
	p.modes = modes;
	p.keys = FUNNEL_KEYS_INT;
	return p;
}

/* A state holding rows (in the order given); NULL if anything failed. */
static funnel_state *
build(const funnel_params *p, const row *rows, size_t n)
{
	funnel_state *s;

	if (funnel_create(p, 0, mem, &s, NULL) != KPI_OK)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (funnel_add_row(&s, mem, p, rows[i].entity, rows[i].ts, rows[i].steps, NULL) != KPI_OK)
		{
			free(s);
			return NULL;
		}
	return s;
}

/* Level of rows (one entity or several: the highest); -1 on failure. */
static int
level_of(const funnel_params *p, const row *rows, size_t n)
{
	funnel_state *s = build(p, rows, n);
	int			level = -1;

	if (s != NULL && funnel_max_level(s, mem, &level, NULL) != KPI_OK)
		level = -1;
	free(s);
	return level;
}

/*
 * Checks the level of rows, taken in the order given and reversed (the
 * result must not depend on arrival order).
 */
static void
check_level(const char *what, int nsteps, int64_t window, uint32_t modes, int expected,
			const row *rows, size_t n)
{
	funnel_params p = params(nsteps, window, modes);
	row			reversed[64];
	int			got = level_of(&p, rows, n);
	int			got_rev;

	for (size_t i = 0; i < n; i++)
		reversed[i] = rows[n - 1 - i];
	got_rev = level_of(&p, reversed, n);
	CHECK(got == expected && got_rev == expected, what);
	if (got != expected || got_rev != expected)
		printf("#   level %d (reversed input %d), expected %d\n", got, got_rev, expected);
}

/* funnel_evaluate of rows; false on failure. */
static bool
evaluate_rows(const funnel_params *p, const row *rows, size_t n, funnel_result *res)
{
	funnel_state *s = build(p, rows, n);
	bool		ok = s != NULL && funnel_evaluate(s, mem, res, NULL) == KPI_OK;

	free(s);
	return ok;
}

/*
 * Checks the time to each step 2 .. nsteps of one entity (the median over
 * one entity is its time); -1 means the step is not reached.
 */
static void
check_times(const char *what, int nsteps, int64_t window, uint32_t modes, const row *rows,
			size_t n, const int64_t *expected)
{
	funnel_params p = params(nsteps, window, modes);
	funnel_result res;
	bool		ok = evaluate_rows(&p, rows, n, &res);

	for (int k = 2; ok && k <= nsteps; k++)
	{
		int64_t		e = expected[k - 2];

		if (e < 0)
			ok = res.entities[k - 1] == 0 && isnan(res.median_time[k - 1]);
		else
			ok = res.entities[k - 1] == 1 && res.median_time[k - 1] == (double) e;
		if (!ok)
			printf("#   step %d: %lld entities, time %g, expected %lld\n", k,
				   (long long) res.entities[k - 1], res.median_time[k - 1], (long long) e);
	}
	CHECK(ok, what);
}

static bool
same_block(const funnel_state *a, const funnel_state *b)
{
	return funnel_state_size(a) == funnel_state_size(b) &&
		memcmp(a, b, funnel_state_size(a)) == 0;
}

static bool
same_result(const funnel_result *a, const funnel_result *b)
{
	if (a->nsteps != b->nsteps)
		return false;
	for (int k = 0; k < a->nsteps; k++)
	{
		if (a->entities[k] != b->entities[k])
			return false;
		if (!(a->median_time[k] == b->median_time[k] ||
			  (isnan(a->median_time[k]) && isnan(b->median_time[k]))))
			return false;
	}
	return true;
}

/* The canonical copy of s (freed by the caller), or NULL. */
static funnel_state *
canonical(const funnel_state *s)
{
	funnel_state *c;

	return funnel_canonical_copy(s, mem, mem, &c, NULL) == KPI_OK ? c : NULL;
}

/*
 * True unless s claims FUNNEL_SORTED while its rows are not in canonical
 * order: the evaluation trusts the flag and skips its sort.
 */
static bool
sorted_flag_holds(const funnel_state *s)
{
	funnel_state *c;
	bool		holds;

	if (!(s->flags & FUNNEL_SORTED))
		return true;
	c = canonical(s);
	holds = c != NULL &&
		memcmp(c->events, s->events, (size_t) s->nevents * sizeof(funnel_event)) == 0;
	free(c);
	return holds;
}

/* ------------------------------------------------------ hand-worked cases */

static void
test_base_semantics(void)
{
	/* Window boundary, W = 10: 0 -> 5 -> 10 is exactly 10 apart: level 3. */
	row			boundary[] = {{1, 0, S(1)}, {1, 5, S(2)}, {1, 10, S(3)}};
	/* One microsecond more: step 3 at 11 is 11 after step 1: level 2. */
	row			beyond[] = {{1, 0, S(1)}, {1, 5, S(2)}, {1, 11, S(3)}};
	/* Window from step 1, not from the previous step: step 3 at 11 is 2
	 * after step 2 but 11 after step 1 (W = 10): level 2. */
	row			from_first[] = {{1, 0, S(1)}, {1, 9, S(2)}, {1, 11, S(3)}};
	/* W = 0, three rows at the same instant: ties count as in order: 3. */
	row			ties[] = {{1, 7, S(1)}, {1, 7, S(2)}, {1, 7, S(3)}};
	/* Same, written in reverse step order: still (7,1) (7,2) (7,3): 3. */
	row			ties_rev[] = {{1, 7, S(3)}, {1, 7, S(2)}, {1, 7, S(1)}};
	/* W = 100: step 2 at 0 precedes step 1 at 1; step 3 at 2 precedes the
	 * next step 2 (at 3): only 1@1 -> 2@3: level 2. */
	row			out_of_order[] = {{1, 0, S(2)}, {1, 1, S(1)}, {1, 2, S(3)}, {1, 3, S(2)}};
	/* Repeated steps 1 1 2 2: level 2. */
	row			repeated[] = {{1, 0, S(1)}, {1, 1, S(1)}, {1, 2, S(2)}, {1, 3, S(2)}};
	/* No step 1: level 0. */
	row			no_first[] = {{1, 0, S(2)}, {1, 1, S(3)}};
	/* W = 10: 0 -> 8 -> 15 is too long (15), the restart 9 -> 12 -> 15 is
	 * 6: level 3. */
	row			restart[] = {{1, 0, S(1)}, {1, 8, S(2)}, {1, 9, S(1)}, {1, 12, S(2)}, {1, 15, S(3)}};
	/* W = 10: the later step 1 at 5 must not erase the earlier chain's
	 * progress: 0 -> 3 -> 7 gives level 3. */
	row			keep_progress[] = {{1, 0, S(1)}, {1, 3, S(2)}, {1, 5, S(1)}, {1, 7, S(3)}};
	/* W = 10: 0 -> 5 -> 12 is 12 long; 8 has no step 2 after it: level 2. */
	row			no_restart[] = {{1, 0, S(1)}, {1, 5, S(2)}, {1, 8, S(1)}, {1, 12, S(3)}};
	/* One row for steps 1 and 2, then step 3: level 3. */
	row			multi[] = {{1, 0, S(1) | S(2)}, {1, 5, S(3)}};
	/* One row for all three steps: level 3. */
	row			all_in_one[] = {{1, 0, S(1) | S(2) | S(3)}};
	/* Rows {1,3} and {2} at one instant: events (0,1) (0,2) (0,3), although
	 * the mask of {2} sorts before the mask of {1,3}: level 3. */
	row			mask_order[] = {{1, 0, S(1) | S(3)}, {1, 0, S(2)}};
	/* A one-step funnel: any step-1 row gives level 1. */
	row			one_step[] = {{1, 42, S(1)}};

	check_level("window: exactly window apart counts", 3, 10, 0, 3, boundary, NROWS(boundary));
	check_level("window: one microsecond more does not", 3, 10, 0, 2, beyond, NROWS(beyond));
	check_level("window: measured from step 1", 3, 10, 0, 2, from_first, NROWS(from_first));
	check_level("ties: equal timestamps are in order", 3, 0, 0, 3, ties, NROWS(ties));
	check_level("ties: input order does not matter", 3, 0, 0, 3, ties_rev, NROWS(ties_rev));
	check_level("out-of-order steps", 3, 100, 0, 2, out_of_order, NROWS(out_of_order));
	check_level("repeated steps", 3, 100, 0, 2, repeated, NROWS(repeated));
	check_level("missing step 1 gives level 0", 3, 100, 0, 0, no_first, NROWS(no_first));
	check_level("restart: a later chain wins", 3, 10, 0, 3, restart, NROWS(restart));
	check_level("restart: earlier chain keeps its progress", 3, 10, 0, 3, keep_progress,
				NROWS(keep_progress));
	check_level("restart: a later step 1 without successors", 3, 10, 0, 2, no_restart,
				NROWS(no_restart));
	check_level("row matching steps 1 and 2", 3, 10, 0, 3, multi, NROWS(multi));
	check_level("row matching all steps", 3, 10, 0, 3, all_in_one, NROWS(all_in_one));
	check_level("several rows at one instant, steps across masks", 3, 0, 0, 3, mask_order,
				NROWS(mask_order));
	check_level("one-step funnel", 1, 0, 0, 1, one_step, NROWS(one_step));

	{
		/* boundary: step 2 first reached at 5 from 0, step 3 at 10 from 0. */
		int64_t		t_boundary[] = {5, 10};
		/* restart: step 2 first reached at 8 (from 0); step 3 first at 15,
		 * latest start 9: 6. */
		int64_t		t_restart[] = {8, 6};
		/* repeated: step 2 first at 2, latest start 1: 1; no step 3. */
		int64_t		t_repeated[] = {1, -1};
		/* all in one row: 0 and 0. */
		int64_t		t_all[] = {0, 0};
		/* keep_progress: step 2 at 3 from 0, step 3 at 7 from 0: 3, 7. */
		int64_t		t_keep[] = {3, 7};

		check_times("times: window boundary", 3, 10, 0, boundary, NROWS(boundary), t_boundary);
		check_times("times: restart", 3, 10, 0, restart, NROWS(restart), t_restart);
		check_times("times: repeated steps use the latest start", 3, 100, 0, repeated,
					NROWS(repeated), t_repeated);
		check_times("times: one row for all steps", 3, 10, 0, all_in_one, NROWS(all_in_one), t_all);
		check_times("times: earlier chain", 3, 10, 0, keep_progress, NROWS(keep_progress), t_keep);
	}
}

static void
test_modes(void)
{
	const uint32_t INC = FUNNEL_STRICT_INCREASE;
	const uint32_t ORD = FUNNEL_STRICT_ORDER;
	const uint32_t DED = FUNNEL_STRICT_DEDUPLICATION;
	const uint32_t ONCE = FUNNEL_STRICT_ONCE;

	/* 1@0, 2@0, 3@1: base 3; strict_increase: 2@0 is not after 1@0, so no
	 * step 2, level 1. */
	row			inc1[] = {{1, 0, S(1)}, {1, 0, S(2)}, {1, 1, S(3)}};
	/* 1@0, 2@1, 3@1: strict_increase 2 (step 3 at the same time as step 2). */
	row			inc2[] = {{1, 0, S(1)}, {1, 1, S(2)}, {1, 1, S(3)}};
	/* W = 10, 1@0, 1@5, 2@5: the chain 0 -> 5 is strictly increasing: 2
	 * (ClickHouse, which keeps only the latest start, gives 1). */
	row			inc3[] = {{1, 0, S(1)}, {1, 5, S(1)}, {1, 5, S(2)}};
	/* One row {1,2}: base 2, strict_increase 1. */
	row			inc4[] = {{1, 0, S(1) | S(2)}};

	/* 1@0, nothing@1, 2@2: strict_order 1 (the empty row ends the scan);
	 * base 2. */
	row			ord1[] = {{1, 0, S(1)}, {1, 1, 0}, {1, 2, S(2)}};
	/* nothing@0 before any step 1 is ignored: 2. */
	row			ord2[] = {{1, 0, 0}, {1, 1, S(1)}, {1, 2, S(2)}};
	/* 1@0, 3@1, 2@2: step 3 while step 2 is unreached ends the scan: 1;
	 * base 2. */
	row			ord3[] = {{1, 0, S(1)}, {1, 1, S(3)}, {1, 2, S(2)}};
	/* 1@0, nothing@5, 2@5: the empty row comes first at 5: 1. */
	row			ord4[] = {{1, 0, S(1)}, {1, 5, 0}, {1, 5, S(2)}};
	/* 1 2 3 2: a repeat whose predecessor is reached is fine: 3. */
	row			ord5[] = {{1, 0, S(1)}, {1, 1, S(2)}, {1, 2, S(3)}, {1, 3, S(2)}};
	/* W = 10: 2@20 is out of window but its predecessor is reached, so
	 * the scan goes on: 21 -> 22 gives 2. */
	row			ord6[] = {{1, 0, S(1)}, {1, 20, S(2)}, {1, 21, S(1)}, {1, 22, S(2)}};
	/* 2@0 before any step 1 does not end the scan: 2. */
	row			ord7[] = {{1, 0, S(2)}, {1, 1, S(1)}, {1, 2, S(2)}};

	/* 1 2 2 3: the second 2 is a repeat: 2; base 3. */
	row			ded1[] = {{1, 0, S(1)}, {1, 1, S(2)}, {1, 2, S(2)}, {1, 3, S(3)}};
	/* 1 1 2 3: step 1 may repeat: 3. */
	row			ded2[] = {{1, 0, S(1)}, {1, 1, S(1)}, {1, 2, S(2)}, {1, 3, S(3)}};
	/* 1 3 3 2 3: the early 3s are not repeats (step 3 not reached): 3. */
	row			ded3[] = {{1, 0, S(1)}, {1, 1, S(3)}, {1, 2, S(3)}, {1, 3, S(2)}, {1, 4, S(3)}};
	/* 1@0, two rows 2@1, 3@2: the second 2@1 is a repeat: 2. */
	row			ded4[] = {{1, 0, S(1)}, {1, 1, S(2)}, {1, 1, S(2)}, {1, 2, S(3)}};
	/* Same with one row at 1: 3. */
	row			ded5[] = {{1, 0, S(1)}, {1, 1, S(2)}, {1, 2, S(3)}};
	/* W = 10: 2@20 is out of window (level stays 1), 2@26 after the
	 * restart at 25 is no repeat: 2. */
	row			ded6[] = {{1, 0, S(1)}, {1, 20, S(2)}, {1, 25, S(1)}, {1, 26, S(2)}};

	/* Row {1,2}@0, 3@1: strict_once: the row is step 1 or step 2, not
	 * both, and step 3 needs step 2 before it: 1; base 3. */
	row			once1[] = {{1, 0, S(1) | S(2)}, {1, 1, S(3)}};
	/* Two rows {1,2}@0, 3@1: one is step 1, the other step 2: 3. */
	row			once2[] = {{1, 0, S(1) | S(2)}, {1, 0, S(1) | S(2)}, {1, 1, S(3)}};
	/* Rows {1,2} and {2,3} at 0, 3@1: {1,2} must be step 1 and {2,3} step
	 * 2 (the first row found for step 2, {1,2}, has to give it up): 3. */
	row			once3[] = {{1, 0, S(1) | S(2)}, {1, 0, S(2) | S(3)}, {1, 1, S(3)}};
	/* One row {1,2,3}: 1. */
	row			once4[] = {{1, 0, S(1) | S(2) | S(3)}};

	/* strict_order + strict_increase: 1@0, 2@0, 3@1, 2@2, 3@3.  2@0 has
	 * its predecessor reached but is not after it; 3@1 then finds step 2
	 * unreached and ends the scan: 1.  strict_increase alone: 0 -> 2 -> 3,
	 * 3; strict_order alone: 0 -> 0 -> 1, 3. */
	row			combo1[] = {{1, 0, S(1)}, {1, 0, S(2)}, {1, 1, S(3)}, {1, 2, S(2)}, {1, 3, S(3)}};
	/* strict_deduplication + strict_once: {1,2}@0, 2@1, 3@2.  The row at
	 * 0 is only step 1, so 2@1 is no repeat: 3.  strict_deduplication
	 * alone: 2@0 reaches 2, 2@1 repeats it: 2. */
	row			combo2[] = {{1, 0, S(1) | S(2)}, {1, 1, S(2)}, {1, 2, S(3)}};
	/* A clean chain passes all four modes: 3. */
	row			combo3[] = {{1, 0, S(1)}, {1, 1, S(2)}, {1, 2, S(3)}};

	check_level("strict_increase: equal timestamps do not chain", 3, 10, INC, 1, inc1, NROWS(inc1));
	check_level("base: equal timestamps chain", 3, 10, 0, 3, inc1, NROWS(inc1));
	check_level("strict_increase: level 2", 3, 10, INC, 2, inc2, NROWS(inc2));
	check_level("strict_increase: earlier start found (differs from ClickHouse)", 2, 10, INC, 2,
				inc3, NROWS(inc3));
	check_level("strict_increase: one row is one step", 2, 10, INC, 1, inc4, NROWS(inc4));
	check_level("base: one row is two steps", 2, 10, 0, 2, inc4, NROWS(inc4));

	check_level("strict_order: empty row ends the scan", 3, 10, ORD, 1, ord1, NROWS(ord1));
	check_level("base: empty row ignored", 3, 10, 0, 2, ord1, NROWS(ord1));
	check_level("strict_order: empty row before step 1 ignored", 3, 10, ORD, 2, ord2, NROWS(ord2));
	check_level("strict_order: skipped step ends the scan", 3, 10, ORD, 1, ord3, NROWS(ord3));
	check_level("base: skipped step ignored", 3, 10, 0, 2, ord3, NROWS(ord3));
	check_level("strict_order: empty row first at equal timestamps", 3, 10, ORD, 1, ord4, NROWS(ord4));
	check_level("strict_order: repeat with reached predecessor", 3, 10, ORD, 3, ord5, NROWS(ord5));
	check_level("strict_order: out-of-window step does not end the scan", 3, 10, ORD, 2, ord6,
				NROWS(ord6));
	check_level("strict_order: step 2 before any step 1", 3, 10, ORD, 2, ord7, NROWS(ord7));

	check_level("strict_deduplication: repeat ends the scan", 3, 10, DED, 2, ded1, NROWS(ded1));
	check_level("base: repeat ignored", 3, 10, 0, 3, ded1, NROWS(ded1));
	check_level("strict_deduplication: step 1 may repeat", 3, 10, DED, 3, ded2, NROWS(ded2));
	check_level("strict_deduplication: unreached step is no repeat", 3, 10, DED, 3, ded3,
				NROWS(ded3));
	check_level("strict_deduplication: two rows at one instant", 3, 10, DED, 2, ded4, NROWS(ded4));
	check_level("strict_deduplication: one row at that instant", 3, 10, DED, 3, ded5, NROWS(ded5));
	check_level("strict_deduplication: out-of-window step is no repeat", 3, 10, DED, 2, ded6,
				NROWS(ded6));

	check_level("strict_once: one row, one step", 3, 10, ONCE, 1, once1, NROWS(once1));
	check_level("base: one row, two steps", 3, 10, 0, 3, once1, NROWS(once1));
	check_level("strict_once: two rows at one instant", 3, 10, ONCE, 3, once2, NROWS(once2));
	check_level("strict_once: rows matched to steps", 3, 10, ONCE, 3, once3, NROWS(once3));
	check_level("strict_once: one row for every step", 3, 10, ONCE, 1, once4, NROWS(once4));

	check_level("strict_order+strict_increase", 3, 10, ORD | INC, 1, combo1, NROWS(combo1));
	check_level("strict_increase alone on the same rows", 3, 10, INC, 3, combo1, NROWS(combo1));
	check_level("strict_order alone on the same rows", 3, 10, ORD, 3, combo1, NROWS(combo1));
	check_level("strict_deduplication+strict_once", 3, 10, DED | ONCE, 3, combo2, NROWS(combo2));
	check_level("strict_deduplication alone on the same rows", 3, 10, DED, 2, combo2,
				NROWS(combo2));
	check_level("all four modes, clean chain", 3, 10, FUNNEL_ALL_MODES, 3, combo3, NROWS(combo3));

	{
		/* W = 10, 1@0 and row {1,2}@5.  Base: the row at 5 is both steps,
		 * time 0.  strict_once: step 2 at 5 needs the step 1 at 0: time 5. */
		row			once_time[] = {{1, 0, S(1)}, {1, 5, S(1) | S(2)}};
		int64_t		base_t[] = {0};
		int64_t		once_t[] = {5};

		check_times("times: base mode, one row two steps", 2, 10, 0, once_time,
					NROWS(once_time), base_t);
		check_times("times: strict_once uses another row", 2, 10, ONCE, once_time,
					NROWS(once_time), once_t);
	}
	{
		funnel_params p = params(3, 10, 0);
		funnel_state *s = build(&p, ord1, NROWS(ord1));

		/* The empty row is not stored outside strict_order mode. */
		CHECK(s != NULL && s->nevents == 2, "empty rows are stored only in strict_order mode");
		free(s);
		p.modes = ORD;
		s = build(&p, ord1, NROWS(ord1));
		CHECK(s != NULL && s->nevents == 3, "strict_order stores empty rows");
		free(s);
	}
}

static void
test_entities(void)
{
	/*
	 * W = 20, 3 steps.
	 *   e=UINT64_MAX: 1@0 2@4 3@10          level 3, times 4, 10
	 *   e=0:          1@100 2@107           level 2, time 7
	 *   e=2^63:       1@5                   level 1
	 *   e=7:          2@0 3@1               level 0
	 *   e=8:          1@50 2@51 3@90        3 is 40 after 1: level 2, time 1
	 *   e=9:          1@0 2@2               level 2, time 2
	 * Step 1: 5 entities, median 0.  Step 2: times 4 7 1 2 -> 1 2 4 7,
	 * median (2 + 4) / 2 = 3.  Step 3: one entity, 10.
	 */
	row			rows[] = {
		{UINT64_MAX, 0, S(1)}, {UINT64_MAX, 4, S(2)}, {UINT64_MAX, 10, S(3)},
		{0, 100, S(1)}, {0, 107, S(2)},
		{UINT64_C(1) << 63, 5, S(1)},
		{7, 0, S(2)}, {7, 1, S(3)},
		{8, 50, S(1)}, {8, 51, S(2)}, {8, 90, S(3)},
		{9, 0, S(1)}, {9, 2, S(2)}
	};
	funnel_params p = params(3, 20, 0);
	funnel_result res;
	bool		ok = evaluate_rows(&p, rows, NROWS(rows), &res);

	CHECK(ok && res.nsteps == 3, "several entities: evaluated");
	CHECK(ok && res.entities[0] == 5 && res.entities[1] == 4 && res.entities[2] == 1,
		  "several entities: 5, 4, 1 entities reach steps 1, 2, 3");
	CHECK(ok && res.median_time[0] == 0.0, "several entities: median time to step 1 is 0");
	CHECK(ok && res.median_time[1] == 3.0,
		  "several entities: even count, median is the mean of the middle two");
	CHECK(ok && res.median_time[2] == 10.0, "several entities: median time to step 3");

	/* Drop e=9: step 2 times 4 7 1 -> median 4 (odd count). */
	ok = evaluate_rows(&p, rows, NROWS(rows) - 2, &res);
	CHECK(ok && res.entities[1] == 3 && res.median_time[1] == 4.0,
		  "several entities: odd count, median is the middle value");
}

static void
test_empty_and_blank(void)
{
	funnel_params p = params(4, 100, FUNNEL_STRICT_ORDER);
	funnel_state *empty,
			   *blank,
			   *s;
	funnel_result res;
	int			level = -1;
	bool		ok = true;
	row			rows[] = {{3, 0, S(1)}, {3, 1, S(2)}};

	CHECK(funnel_create(&p, 0, mem, &empty, NULL) == KPI_OK, "empty state created");
	CHECK(funnel_create(NULL, 0, mem, &blank, NULL) == KPI_OK, "blank state created");
	CHECK(funnel_evaluate(empty, mem, &res, NULL) == KPI_OK && res.nsteps == 4,
		  "empty state evaluates");
	for (int k = 0; k < 4; k++)
		ok = ok && res.entities[k] == 0 && isnan(res.median_time[k]);
	CHECK(ok, "empty state: no entities, no medians");
	CHECK(funnel_max_level(empty, mem, &level, NULL) == KPI_OK && level == 0,
		  "empty state: level 0");
	CHECK(funnel_evaluate(blank, mem, &res, NULL) == KPI_OK && res.nsteps == 0,
		  "blank state evaluates to no steps");

	CHECK(blank->keys == FUNNEL_KEYS_NONE, "blank state: no kind of keys");
	CHECK(empty->keys == FUNNEL_KEYS_INT, "empty state: the kind of keys given");

	/* A blank state takes its parameters from its first row. */
	CHECK(funnel_add_row(&blank, mem, &p, 3, 0, S(1), NULL) == KPI_OK &&
		  blank->nsteps == 4 && blank->modes == FUNNEL_STRICT_ORDER &&
		  blank->keys == FUNNEL_KEYS_INT,
		  "blank state takes the first row's parameters");
	free(blank);
	{
		funnel_params h = p;

		h.keys = FUNNEL_KEYS_HASH;
		CHECK(funnel_create(NULL, 0, mem, &blank, NULL) == KPI_OK &&
			  funnel_add_row(&blank, mem, &h, 3, 0, S(1), NULL) == KPI_OK &&
			  blank->keys == FUNNEL_KEYS_HASH,
			  "blank state takes the first row's hashed keys");
		free(blank);
	}

	s = build(&p, rows, NROWS(rows));
	{
		funnel_state *expected = canonical(s);
		funnel_state *copy = canonical(s);
		funnel_state *merged = NULL;

		CHECK(funnel_create(NULL, 0, mem, &blank, NULL) == KPI_OK &&
			  funnel_merge(&blank, s, mem, mem, NULL) == KPI_OK &&
			  (merged = canonical(blank)) != NULL && same_block(merged, expected),
			  "blank merged with a state gives the state");
		free(merged);
		free(blank);
		CHECK(funnel_create(NULL, 0, mem, &blank, NULL) == KPI_OK &&
			  funnel_merge(&copy, blank, mem, mem, NULL) == KPI_OK && same_block(copy, expected),
			  "a state merged with blank is unchanged");
		CHECK(funnel_merge(&copy, empty, mem, mem, NULL) == KPI_OK && same_block(copy, expected),
			  "a state merged with an empty state is unchanged");
		free(copy);
		free(blank);
		free(expected);
	}
	free(empty);
	free(s);
}

static void
test_params_and_modes(void)
{
	uint32_t	modes = 99;
	kpi_msg		msg;
	funnel_params p;
	funnel_state *s;
	const char *all = "strict_increase,strict_order,strict_deduplication,strict_once";

	CHECK(funnel_parse_modes("", 0, &modes, NULL) == KPI_OK && modes == 0, "modes: empty text");
	CHECK(funnel_parse_modes("  \t", 3, &modes, NULL) == KPI_OK && modes == 0, "modes: blank text");
	CHECK(funnel_parse_modes(" Strict_Order ,strict_once", 26, &modes, NULL) == KPI_OK &&
		  modes == (FUNNEL_STRICT_ORDER | FUNNEL_STRICT_ONCE),
		  "modes: whitespace and case tolerated");
	CHECK(funnel_parse_modes(all, strlen(all), &modes, NULL) == KPI_OK &&
		  modes == FUNNEL_ALL_MODES, "modes: all four");
	CHECK(funnel_parse_modes("strict_order,strict_order", 25, &modes, NULL) == KPI_OK &&
		  modes == FUNNEL_STRICT_ORDER, "modes: repeats allowed");
	CHECK(funnel_parse_modes("strict_order, foo ", 18, &modes, &msg) == KPI_ERR_PARAM &&
		  strstr(msg.text, "\"foo\"") != NULL, "modes: unknown mode named in the detail");
	CHECK(funnel_parse_modes("strict", 6, &modes, &msg) == KPI_ERR_PARAM,
		  "modes: ClickHouse's old \"strict\" is unknown");
	CHECK(funnel_parse_modes("strict_order,,strict_once", 25, &modes, &msg) == KPI_ERR_PARAM,
		  "modes: empty entry rejected");
	CHECK(funnel_parse_modes("strict_order,", 13, &modes, &msg) == KPI_ERR_PARAM,
		  "modes: trailing comma rejected");
	/* Not NUL-terminated: only the first 12 bytes count. */
	CHECK(funnel_parse_modes("strict_orderXYZ", 12, &modes, NULL) == KPI_OK &&
		  modes == FUNNEL_STRICT_ORDER, "modes: length respected");

	p = params(33, 0, 0);
	CHECK(funnel_check_params(&p, &msg) == KPI_ERR_PARAM && strstr(msg.text, "33") != NULL,
		  "params: 33 steps rejected");
	p = params(0, 0, 0);
	CHECK(funnel_check_params(&p, NULL) == KPI_ERR_PARAM, "params: 0 steps rejected");
	p = params(32, 0, FUNNEL_ALL_MODES);
	CHECK(funnel_check_params(&p, NULL) == KPI_OK, "params: 32 steps, window 0 accepted");
	p = params(3, -1, 0);
	CHECK(funnel_check_params(&p, &msg) == KPI_ERR_PARAM && strstr(msg.text, "-1") != NULL,
		  "params: negative window rejected");
	CHECK(funnel_create(&p, 0, mem, &s, NULL) == KPI_ERR_PARAM, "create: negative window rejected");
	p = params(3, 10, 0x10);
	CHECK(funnel_check_params(&p, NULL) == KPI_ERR_PARAM, "params: unknown mode bit rejected");
	p = params(3, 10, 0);
	p.keys = FUNNEL_KEYS_HASH;
	CHECK(funnel_check_params(&p, NULL) == KPI_OK, "params: hashed keys accepted");
	p.keys = FUNNEL_KEYS_NONE;
	CHECK(funnel_check_params(&p, &msg) == KPI_ERR_PARAM, "params: no kind of keys rejected");
	CHECK(funnel_create(&p, 0, mem, &s, NULL) == KPI_ERR_PARAM, "create: no kind of keys rejected");
	p.keys = 3;
	CHECK(funnel_check_params(&p, &msg) == KPI_ERR_PARAM && strstr(msg.text, "kind 3") != NULL,
		  "params: unknown kind of keys rejected");

	/* Per-row parameters must not change within one state. */
	p = params(3, 10, 0);
	s = build(&p, NULL, 0);
	{
		funnel_params other = params(3, 11, 0);

		CHECK(funnel_add_row(&s, mem, &other, 1, 0, S(1), &msg) == KPI_ERR_PARAM &&
			  strstr(msg.text, "windows (10 and 11 microseconds)") != NULL,
			  "add_row: a different window is rejected with a detail");
		CHECK(funnel_add_row(&s, mem, &p, 1, 0, S(4), &msg) == KPI_ERR_PARAM,
			  "add_row: a step above nsteps is rejected");
		other = p;
		other.keys = FUNNEL_KEYS_HASH;
		CHECK(funnel_add_row(&s, mem, &other, 1, 0, S(1), &msg) == KPI_ERR_PARAM &&
			  strcmp(msg.text, "The rows of one funnel have different entity keys (int and hash).") == 0,
			  "add_row: hashed keys in an integer-keyed state are rejected with a detail");
		CHECK(s->nevents == 0 && s->keys == FUNNEL_KEYS_INT,
			  "add_row: a rejected row leaves the state alone");
	}
	free(s);

	/* 32 steps: one chain through all of them, one per microsecond. */
	{
		row			rows[32];

		for (int k = 1; k <= 32; k++)
		{
			rows[k - 1].entity = 5;
			rows[k - 1].ts = k;
			rows[k - 1].steps = S(k);
		}
		check_level("32 steps: full chain", 32, 31, 0, 32, rows, 32);
		check_level("32 steps: window one short", 32, 30, 0, 31, rows, 32);
	}
	/* Extreme timestamps: differences do not overflow. */
	{
		row			far[] = {{1, INT64_MIN, S(1)}, {1, INT64_MAX, S(2)}};
		row			near_max[] = {{1, INT64_MAX - 1, S(1)}, {1, INT64_MAX, S(2)}};

		check_level("extreme timestamps: 2^64 - 1 apart exceeds any window", 2, INT64_MAX, 0, 1,
					far, NROWS(far));
		check_level("extreme timestamps: near the maximum", 2, 1, 0, 2, near_max, NROWS(near_max));
	}
}

static void
test_mismatch(void)
{
	funnel_params a = params(3, 10, 0);
	funnel_params b = params(4, 10, 0);
	funnel_params c = params(3, 20, 0);
	funnel_params d = params(3, 10, FUNNEL_STRICT_ORDER | FUNNEL_STRICT_ONCE);
	row			rows[] = {{1, 0, S(1)}};
	funnel_state *sa = build(&a, rows, 1);
	funnel_state *sb = build(&b, rows, 1);
	funnel_state *sc = build(&c, rows, 1);
	funnel_state *sd = build(&d, rows, 1);
	kpi_msg		msg;

	CHECK(funnel_merge(&sa, sb, mem, mem, &msg) == KPI_ERR_MISMATCH &&
		  strstr(msg.text, "numbers of steps (3 and 4)") != NULL,
		  "merge: different steps named");
	CHECK(funnel_merge(&sa, sc, mem, mem, &msg) == KPI_ERR_MISMATCH &&
		  strstr(msg.text, "windows (10 and 20 microseconds)") != NULL,
		  "merge: different windows named");
	CHECK(funnel_merge(&sa, sd, mem, mem, &msg) == KPI_ERR_MISMATCH &&
		  strstr(msg.text, "modes ([] and [strict_order,strict_once])") != NULL,
		  "merge: different modes named");
	CHECK(sa->nevents == 1, "merge: a failed merge leaves the state alone");
	free(sa);
	free(sb);
	free(sc);
	free(sd);
}

/* Integer and hashed entity keys are two key spaces that never merge. */
static void
test_key_kinds(void)
{
	funnel_params pi = params(2, 10, 0);
	funnel_params ph = params(2, 10, 0);
	row			rows[] = {{1, 0, S(1)}, {1, 5, S(2)}};
	funnel_state *si,
			   *sh,
			   *blank,
			   *blank2,
			   *empty_h,
			   *expected,
			   *merged = NULL;
	kpi_msg		msg;

	ph.keys = FUNNEL_KEYS_HASH;
	si = build(&pi, rows, NROWS(rows));
	sh = build(&ph, rows, NROWS(rows));
	CHECK(si != NULL && sh != NULL && si->keys == FUNNEL_KEYS_INT && sh->keys == FUNNEL_KEYS_HASH,
		  "keys: states record the kind of their keys");

	CHECK(funnel_merge(&si, sh, mem, mem, &msg) == KPI_ERR_MISMATCH &&
		  strcmp(msg.text, "The states have different entity keys (int and hash).") == 0,
		  "merge: integer with hashed keys is a mismatch with a detail");
	CHECK(funnel_merge(&sh, si, mem, mem, &msg) == KPI_ERR_MISMATCH &&
		  strcmp(msg.text, "The states have different entity keys (hash and int).") == 0,
		  "merge: hashed with integer keys is a mismatch with a detail");
	CHECK(si->nevents == 2 && sh->nevents == 2 && si->keys == FUNNEL_KEYS_INT &&
		  sh->keys == FUNNEL_KEYS_HASH, "merge: failed merges leave both states alone");

	/* An empty state of hashed keys is not blank: it still has a kind. */
	CHECK(funnel_create(&ph, 0, mem, &empty_h, NULL) == KPI_OK &&
		  funnel_merge(&si, empty_h, mem, mem, &msg) == KPI_ERR_MISMATCH,
		  "merge: an empty state of the other kind is a mismatch too");

	/* A blank side is the identity, whatever the kind. */
	expected = canonical(sh);
	CHECK(funnel_create(NULL, 0, mem, &blank, NULL) == KPI_OK &&
		  funnel_merge(&blank, sh, mem, mem, NULL) == KPI_OK && blank->keys == FUNNEL_KEYS_HASH &&
		  (merged = canonical(blank)) != NULL && expected != NULL && same_block(merged, expected),
		  "merge: blank + hashed state gives the hashed state");
	free(merged);
	free(expected);
	free(blank);
	CHECK(funnel_create(NULL, 0, mem, &blank, NULL) == KPI_OK &&
		  funnel_merge(&sh, blank, mem, mem, NULL) == KPI_OK && sh->keys == FUNNEL_KEYS_HASH &&
		  sh->nevents == 2 && funnel_merge(&si, blank, mem, mem, NULL) == KPI_OK &&
		  si->keys == FUNNEL_KEYS_INT,
		  "merge: a state + blank keeps its kind");
	CHECK(funnel_create(NULL, 0, mem, &blank2, NULL) == KPI_OK &&
		  funnel_merge(&blank, blank2, mem, mem, NULL) == KPI_OK && blank->nsteps == 0 &&
		  blank->keys == FUNNEL_KEYS_NONE, "merge: blank + blank stays blank");
	free(blank2);
	free(blank);

	/* The same rows under either kind evaluate alike. */
	{
		funnel_result ri,
					rh;

		CHECK(funnel_evaluate(si, mem, &ri, NULL) == KPI_OK &&
			  funnel_evaluate(sh, mem, &rh, NULL) == KPI_OK && same_result(&ri, &rh) &&
			  ri.entities[1] == 1, "keys: the kind does not change the funnel");
	}
	free(empty_h);
	free(si);
	free(sh);
}

/* ----------------------------------------------------- brute-force check */

/* One step event of one row (step 0: a row matching no condition). */
typedef struct bf_event
{
	int64_t		ts;
	int			step;
	int			row;
} bf_event;

static int
bf_compare(const void *pa, const void *pb)
{
	const bf_event *a = pa;
	const bf_event *b = pb;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->step != b->step)
		return a->step < b->step ? -1 : 1;
	return a->row - b->row;
}

/* Enumerates every chain among the first np events. */
typedef struct bf_search
{
	const bf_event *ev;
	int			np;
	int64_t		window;
	uint32_t	modes;
	int			longest;		/* longest chain found */
	int			target;			/* chains of this length ... */
	int			group_start;	/* ... ending in ev[group_start .. np) */
	bool		found;
	int64_t		latest_start;	/* ... start at the latest here */
} bf_search;

static void
bf_extend(bf_search *b, int last, int len, int64_t start, uint32_t rows_used)
{
	if (len > b->longest)
		b->longest = len;
	if (len == b->target && last >= b->group_start && (!b->found || start > b->latest_start))
	{
		b->found = true;
		b->latest_start = start;
	}
	for (int i = last + 1; i < b->np; i++)
	{
		const bf_event *e = &b->ev[i];

		if (e->step != len + 1 || e->ts - start > b->window)
			continue;
		if ((b->modes & FUNNEL_STRICT_INCREASE) && e->ts <= b->ev[last].ts)
			continue;
		if ((b->modes & FUNNEL_STRICT_ONCE) && (rows_used & (1u << e->row)))
			continue;
		bf_extend(b, i, len + 1, start, rows_used | (1u << e->row));
	}
}

/*
 * The level of one entity's rows by the definition in funnel_core.h:
 * groups of equal (ts, step) in order, the level of each prefix found by
 * enumerating all its chains.  times[k] as defined there.
 */
static int
bf_entity(const row *rows, int n, const funnel_params *p, int64_t *times)
{
	bf_event	ev[256];
	int			ne = 0;
	int			level = 0;
	bool		seen_first = false;

	for (int r = 0; r < n; r++)
	{
		if (rows[r].steps == 0)
			ev[ne++] = (bf_event) {rows[r].ts, 0, r};
		for (int k = 1; k <= p->nsteps; k++)
			if (rows[r].steps & S(k))
				ev[ne++] = (bf_event) {rows[r].ts, k, r};
	}
	qsort(ev, (size_t) ne, sizeof(bf_event), bf_compare);
	for (int i = 0, j; i < ne; i = j)
	{
		int			k = ev[i].step;
		bf_search	b = {ev, 0, p->window, p->modes, 0, level + 1, i, false, 0};

		for (j = i; j < ne && ev[j].ts == ev[i].ts && ev[j].step == k; j++)
			;
		if ((p->modes & FUNNEL_STRICT_ORDER) && seen_first &&
			(k == 0 || (k >= 2 && level < k - 1)))
			break;
		if ((p->modes & FUNNEL_STRICT_DEDUPLICATION) && k >= 2 && level >= k)
			break;
		b.np = j;
		for (int s = 0; s < j; s++)
			if (ev[s].step == 1)
				bf_extend(&b, s, 1, ev[s].ts, 1u << ev[s].row);
		if (b.longest > level)
		{
			if (b.longest != level + 1 || !b.found)
				return -100;	/* the definition says this cannot happen */
			level = b.longest;
			times[level] = ev[i].ts - b.latest_start;
		}
		if (k == 1)
			seen_first = true;
		if ((p->modes & FUNNEL_STRICT_DEDUPLICATION) && k >= 2 && j - i >= 2 && level >= k)
			break;
	}
	return level;
}

static int
compare_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

/* Median of v[0 .. n) by sorting, percentile_cont(0.5) style. */
static double
naive_median(int64_t *v, int n)
{
	if (n == 0)
		return NAN;
	qsort(v, (size_t) n, sizeof(int64_t), compare_i64);
	return n % 2 ? (double) v[n / 2] : ((double) v[n / 2 - 1] + (double) v[n / 2]) / 2.0;
}

static void
print_case(const funnel_params *p, const row *rows, int n)
{
	printf("#   steps %d window %lld modes 0x%x rows:", p->nsteps, (long long) p->window,
		   (unsigned) p->modes);
	for (int i = 0; i < n; i++)
		printf(" (%llu,%lld,%u)", (unsigned long long) rows[i].entity,
			   (long long) rows[i].ts, (unsigned) rows[i].steps);
	printf("\n");
}

/* Random rows of nent entities (numbered 0 ..), at most 8 rows each. */
static int
random_case(const funnel_params *p, int nent, row *rows)
{
	int			n = 0;
	int64_t		span = (int64_t) random_below(9);

	for (int e = 0; e < nent; e++)
	{
		int			m = (int) random_below(9);

		for (int i = 0; i < m; i++)
		{
			uint32_t	steps = 0;

			if (random_below(6) != 0)
				for (int k = 1; k <= p->nsteps; k++)
					if (random_below(100) < 40)
						steps |= S(k);
			rows[n++] = (row) {(uint64_t) e, (int64_t) random_below((uint64_t) span + 1), steps};
		}
	}
	return n;
}

/*
 * The dynamic programme against the brute force, per entity (level and
 * times) and over all entities (counts and medians), for one mode set.
 */
static void
test_brute_force_modes(uint32_t modes, int cases)
{
	int			failures = 0;
	char		what[120];

	for (int c = 0; c < cases; c++)
	{
		funnel_params p = params(1 + (int) random_below(4), (int64_t) random_below(7), modes);
		int			nent = 1 + (int) random_below(3);
		row			rows[64];
		int			n = random_case(&p, nent, rows);
		int64_t		lists[FUNNEL_MAX_STEPS + 1][8];
		int			counts[FUNNEL_MAX_STEPS + 1] = {0};
		funnel_result all;
		bool		ok = evaluate_rows(&p, rows, (size_t) n, &all);

		for (int e = 0; e < nent && ok; e++)
		{
			row			mine[16];
			int			m = 0;
			int64_t		times[FUNNEL_MAX_STEPS + 1];
			int			expected;
			funnel_result one;

			for (int i = 0; i < n; i++)
				if (rows[i].entity == (uint64_t) e)
					mine[m++] = rows[i];
			expected = bf_entity(mine, m, &p, times);
			ok = expected >= 0 && evaluate_rows(&p, mine, (size_t) m, &one);
			for (int k = 1; ok && k <= p.nsteps; k++)
			{
				ok = one.entities[k - 1] == (k <= expected);
				if (ok && k <= expected)
				{
					int64_t		t = k == 1 ? 0 : times[k];

					ok = one.median_time[k - 1] == (double) t;
					lists[k][counts[k]++] = t;
				}
			}
			if (!ok && failures++ < 3)
			{
				printf("#   entity %d: expected level %d\n", e, expected);
				print_case(&p, mine, m);
			}
		}
		for (int k = 1; ok && k <= p.nsteps; k++)
		{
			double		med = naive_median(lists[k], counts[k]);

			ok = all.entities[k - 1] == counts[k] &&
				(all.median_time[k - 1] == med || (isnan(med) && isnan(all.median_time[k - 1])));
			if (!ok && failures++ < 3)
			{
				printf("#   all entities, step %d: %lld entities, median %g; expected %d, %g\n",
					   k, (long long) all.entities[k - 1], all.median_time[k - 1], counts[k], med);
				print_case(&p, rows, n);
			}
		}
		if (!ok && failures == 0)
			failures++;
	}
	snprintf(what, sizeof(what), "brute force = DP on %d random cases, modes 0x%x", cases,
			 (unsigned) modes);
	CHECK(failures == 0, what);
}

static void
test_brute_force(void)
{
	unit_rng_seed(12345);

	for (uint32_t modes = 0; modes <= FUNNEL_ALL_MODES; modes++)
		test_brute_force_modes(modes, modes == 0 || modes == FUNNEL_STRICT_INCREASE ? 3000 : 700);
}

/* ---------------------------------------------------- property tests */

/* Random rows for property tests: up to maxrows rows over nent entities. */
static size_t
random_rows(const funnel_params *p, size_t maxrows, int nent, int64_t span, row *rows)
{
	size_t		n = (size_t) random_below(maxrows + 1);

	for (size_t i = 0; i < n; i++)
	{
		uint32_t	steps = (uint32_t) random_below((uint64_t) 1 << p->nsteps);

		rows[i].entity = random_below((uint64_t) nent) * UINT64_C(0x9E3779B97F4A7C15);
		rows[i].ts = (int64_t) random_below((uint64_t) span) - span / 2;
		rows[i].steps = steps;
	}
	return n;
}

/* Random parameters, integer or hashed keys. */
static funnel_params
random_params(void)
{
	funnel_params p = params(1 + (int) random_below(5), (int64_t) random_below(30),
							 (uint32_t) random_below(FUNNEL_ALL_MODES + 1));

	if (random_below(2) == 0)
		p.keys = FUNNEL_KEYS_HASH;
	return p;
}

static void
test_arrival_order(void)
{
	unit_rng_seed(777);
	bool		same_bytes = true,
				same_eval = true;

	for (int trial = 0; trial < 200; trial++)
	{
		funnel_params p = random_params();
		row			rows[400];
		size_t		n = random_rows(&p, 400, 1 + (int) random_below(30), 60, rows);
		funnel_state *a = build(&p, rows, n),
				   *b,
				   *ca,
				   *cb;
		funnel_result ra,
					rb,
					rc;

		shuffle_rows(rows, n);
		b = build(&p, rows, n);
		ca = canonical(a);
		cb = canonical(b);
		same_bytes = same_bytes && ca != NULL && cb != NULL && same_block(ca, cb);
		same_eval = same_eval &&
			funnel_evaluate(a, mem, &ra, NULL) == KPI_OK &&
			funnel_evaluate(b, mem, &rb, NULL) == KPI_OK &&
			funnel_evaluate(ca, mem, &rc, NULL) == KPI_OK &&
			same_result(&ra, &rb) && same_result(&ra, &rc);
		free(a);
		free(b);
		free(ca);
		free(cb);
	}
	CHECK(same_bytes, "arrival order: shuffled rows give the same canonical bytes");
	CHECK(same_eval, "arrival order: shuffled rows give the same funnel");
}

static void
test_split_merge(void)
{
	unit_rng_seed(4242);
	bool		ok_split = true,
				ok_sorted_split = true,
				ok_flag = true,
				ok_commute = true,
				ok_eval = true;
	int			sorted_results = 0;

	for (int trial = 0; trial < 200; trial++)
	{
		funnel_params p = random_params();
		row			rows[300];
		size_t		n = random_rows(&p, 300, 1 + (int) random_below(20), 40, rows);
		int			nparts = 1 + (int) random_below(6);
		funnel_state *parts[6];
		funnel_state *whole = build(&p, rows, n);
		funnel_state *cw = canonical(whole);
		funnel_state *merged,
				   *cm,
				   *ab,
				   *ba;
		int			order[6];
		funnel_result rw,
					rm;

		for (int i = 0; i < nparts; i++)
		{
			parts[i] = build(&p, NULL, 0);
			order[i] = i;
		}
		for (size_t i = 0; i < n; i++)
		{
			int			k = (int) random_below((uint64_t) nparts);

			funnel_add_row(&parts[k], mem, &p, rows[i].entity, rows[i].ts, rows[i].steps, NULL);
		}
		for (int i = nparts; i > 1; i--)
		{
			int			j = (int) random_below((uint64_t) i);
			int			t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		/* Merge into a blank state, in a random order. */
		funnel_create(NULL, 0, mem, &merged, NULL);
		for (int i = 0; i < nparts; i++)
			ok_split = ok_split && funnel_merge(&merged, parts[order[i]], mem, mem, NULL) == KPI_OK;
		cm = canonical(merged);
		ok_split = ok_split && same_block(cm, cw);
		ok_flag = ok_flag && sorted_flag_holds(merged);
		ok_eval = ok_eval && funnel_evaluate(merged, mem, &rm, NULL) == KPI_OK &&
			funnel_evaluate(whole, mem, &rw, NULL) == KPI_OK && same_result(&rm, &rw);
		free(merged);

		/*
		 * The same with sorted parts, as parallel workers send them: merged
		 * in a random order after one unsorted part (the leader's own).
		 */
		merged = build(&p, NULL, 0);
		ok_sorted_split = ok_sorted_split &&
			funnel_merge(&merged, parts[order[0]], mem, mem, NULL) == KPI_OK;
		for (int i = 1; i < nparts; i++)
		{
			funnel_state *sorted_part = canonical(parts[order[i]]);

			ok_sorted_split = ok_sorted_split && sorted_part != NULL &&
				funnel_merge(&merged, sorted_part, mem, mem, NULL) == KPI_OK;
			ok_flag = ok_flag && sorted_flag_holds(merged);
			free(sorted_part);
		}
		sorted_results += (merged->flags & FUNNEL_SORTED) != 0;
		free(cm);
		cm = canonical(merged);
		ok_sorted_split = ok_sorted_split && same_block(cm, cw);
		ok_eval = ok_eval && funnel_evaluate(merged, mem, &rm, NULL) == KPI_OK &&
			same_result(&rm, &rw);

		/* merge(a, b) and merge(b, a) are the same state. */
		ab = canonical(parts[0]);
		ba = canonical(parts[nparts - 1]);
		funnel_merge(&ab, parts[nparts - 1], mem, mem, NULL);
		funnel_merge(&ba, parts[0], mem, mem, NULL);
		free(cm);
		cm = canonical(ab);
		free(ab);
		ab = cm;
		cm = canonical(ba);
		free(ba);
		ba = cm;
		ok_commute = ok_commute && same_block(ab, ba);

		for (int i = 0; i < nparts; i++)
			free(parts[i]);
		free(whole);
		free(cw);
		free(merged);
		free(ab);
		free(ba);
	}
	CHECK(ok_split, "split + merge in any order equals the whole");
	CHECK(ok_sorted_split, "split + merge of sorted parts after an unsorted one equals the whole");
	CHECK(ok_flag, "merged states flagged sorted have their rows in canonical order");
	CHECK(sorted_results > 50, "merges of parts of comparable size give sorted states");
	CHECK(ok_eval, "split + merge evaluates like the whole");
	CHECK(ok_commute, "merge is commutative");
}

/* The binary form of s in a new buffer (*len bytes), or NULL. */
static uint8_t *
encode(const funnel_state *s, size_t *len)
{
	kpi_writer	w;
	uint8_t    *buf = malloc(funnel_encoded_size(s));

	kpi_writer_init(&w, buf, funnel_encoded_size(s));
	if (funnel_encode(s, mem, &w, NULL) != KPI_OK || w.len != funnel_encoded_size(s))
	{
		free(buf);
		return NULL;
	}
	*len = w.len;
	return buf;
}

/* The text form of s (malloc'd), or NULL. */
static char *
format(const funnel_state *s)
{
	kpi_strbuf	sb;

	kpi_strbuf_init(&sb, mem);
	if (funnel_format(s, mem, &sb, NULL) != KPI_OK)
	{
		free(sb.data);
		return NULL;
	}
	return sb.data;
}

static void
test_codec_round_trips(void)
{
	unit_rng_seed(99);
	bool		ok_bin = true,
				ok_text = true,
				ok_trunc_bin = true,
				ok_trunc_text = true;

	for (int trial = 0; trial < 150; trial++)
	{
		funnel_params p = random_params();
		row			rows[100];
		size_t		n = random_rows(&p, 100, 1 + (int) random_below(10), 1000, rows);
		funnel_state *s = trial == 0 ? NULL : build(&p, rows, n);
		funnel_state *c,
				   *back = NULL;
		uint8_t    *bin,
				   *bin_c;
		size_t		len,
					len_c;
		char	   *text,
				   *text2 = NULL;

		if (s == NULL)
			funnel_create(NULL, 0, mem, &s, NULL);	/* the blank state */
		c = canonical(s);
		bin = encode(s, &len);
		bin_c = encode(c, &len_c);
		ok_bin = ok_bin && bin != NULL && bin_c != NULL && len == len_c &&
			memcmp(bin, bin_c, len) == 0 &&
			funnel_decode(bin, len, mem, mem, &back, NULL) == KPI_OK && same_block(back, c);
		free(back);
		back = NULL;
		for (size_t cut = 0; cut < len && ok_trunc_bin; cut += 1 + cut / 16)
		{
			kpi_status	st = funnel_decode(bin, cut, mem, mem, &back, NULL);

			ok_trunc_bin = st == KPI_ERR_BINARY;
		}

		text = format(s);
		ok_text = ok_text && text != NULL &&
			funnel_parse(text, mem, mem, &back, NULL) == KPI_OK && same_block(back, c) &&
			(text2 = format(back)) != NULL && strcmp(text, text2) == 0;
		for (size_t cut = 0; text != NULL && cut < strlen(text) && ok_trunc_text; cut += 1 + cut / 16)
		{
			char	   *prefix = strndup(text, cut);
			funnel_state *t = NULL;

			ok_trunc_text = funnel_parse(prefix, mem, mem, &t, NULL) != KPI_OK;
			free(prefix);
		}
		free(back);
		free(text);
		free(text2);
		free(bin);
		free(bin_c);
		free(s);
		free(c);
	}
	CHECK(ok_bin, "binary round trip, canonical whatever the row order");
	CHECK(ok_text, "text round trip, exact");
	CHECK(ok_trunc_bin, "every truncated encoding is rejected");
	CHECK(ok_trunc_text, "every truncated text is rejected");
}

static void
test_codec_forms(void)
{
	funnel_params p = params(2, 10, FUNNEL_STRICT_ORDER);
	row			rows[] = {{UINT64_MAX, -3, S(1)}, {1, 7, S(1) | S(2)}, {1, 5, 0}};
	funnel_state *s = build(&p, rows, NROWS(rows));
	funnel_state *t = NULL;
	char	   *text = format(s);
	uint8_t    *bin;
	size_t		len;
	kpi_msg		msg;

	/* Sorted by entity (unsigned), then time. */
	CHECK(text != NULL && strcmp(text, "(v:1,steps:2,window:10,modes:[strict_order],keys:int,"
								 "events:[(1,5,0),(1,7,3),(18446744073709551615,-3,1)])") == 0,
		  "text form");
	free(text);
	bin = encode(s, &len);
	{
		/* version, steps, modes, keys, window (8 bytes), count (4), then
		 * 20-byte events: entity, ts, steps. */
		static const uint8_t expected[] = {
			1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 3,
			0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3,
			255, 255, 255, 255, 255, 255, 255, 255,
			255, 255, 255, 255, 255, 255, 255, 253, 0, 0, 0, 1
		};

		CHECK(bin != NULL && len == sizeof(expected) && memcmp(bin, expected, len) == 0,
			  "binary form, 20 bytes per event");
	}
	{
		funnel_state *c = canonical(s);

		CHECK(c != NULL && funnel_state_size(c) == 20 + 3 * 20 && c->capacity == 3,
			  "in-memory form: 20-byte header, 20 bytes per event");
		free(c);
	}

	/* Binary errors. */
	bin[0] = 2;
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_ERR_VERSION, "binary: unknown version");
	bin[0] = 1;
	bin[15] = 4;				/* four events announced, three present */
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_ERR_BINARY, "binary: count too large");
	bin[15] = 2;				/* two announced, one left over */
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_ERR_BINARY, "binary: bytes left over");
	bin[15] = 3;
	bin[55] = 4;				/* step mask names step 3 */
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_ERR_BINARY, "binary: step above nsteps");
	bin[55] = 3;
	bin[3] = 0;					/* steps but no kind of keys */
	CHECK(funnel_decode(bin, len, mem, mem, &t, &msg) == KPI_ERR_BINARY &&
		  strstr(msg.text, "not none") != NULL, "binary: keys none in a state with steps");
	bin[3] = 3;
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_ERR_BINARY, "binary: unknown kind of keys");
	bin[3] = 2;
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_OK && t->keys == FUNNEL_KEYS_HASH &&
		  t->nevents == 3, "binary: hashed keys decode");
	free(t);
	t = NULL;
	bin[3] = 1;
	bin[2] = 0;					/* no strict_order, but an empty row */
	CHECK(funnel_decode(bin, len, mem, mem, &t, &msg) == KPI_ERR_BINARY, "binary: empty row without strict_order");
	bin[2] = 0x12;
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_ERR_BINARY, "binary: unknown mode bit");
	bin[2] = 2;
	bin[1] = 33;
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_ERR_BINARY, "binary: 33 steps");
	bin[1] = 2;
	bin[4] = 0x80;				/* negative window */
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_ERR_BINARY, "binary: negative window");
	bin[4] = 0;
	CHECK(funnel_decode(bin, len, mem, mem, &t, NULL) == KPI_OK && t->keys == FUNNEL_KEYS_INT,
		  "binary: restored bytes decode");
	free(t);
	free(bin);
	free(s);

	/* The blank state: keys none, and only it. */
	{
		funnel_state *blank = NULL;
		static const uint8_t blank_bin[16] = {1, 0, 0, 0};
		uint8_t		bad[16];

		CHECK(funnel_create(NULL, 0, mem, &blank, NULL) == KPI_OK &&
			  (text = format(blank)) != NULL &&
			  strcmp(text, "(v:1,steps:0,window:0,modes:[],keys:none,events:[])") == 0,
			  "text form of the blank state");
		free(text);
		bin = encode(blank, &len);
		CHECK(bin != NULL && len == sizeof(blank_bin) && memcmp(bin, blank_bin, len) == 0,
			  "binary form of the blank state: 16 bytes");
		free(bin);
		free(blank);
		memcpy(bad, blank_bin, sizeof(bad));
		bad[3] = 1;
		CHECK(funnel_decode(bad, sizeof(bad), mem, mem, &t, &msg) == KPI_ERR_BINARY,
			  "binary: a blank state with integer keys");
		bad[3] = 2;
		CHECK(funnel_decode(bad, sizeof(bad), mem, mem, &t, &msg) == KPI_ERR_BINARY,
			  "binary: a blank state with hashed keys");
	}

	/* A state of hashed keys: both forms carry the kind and round-trip. */
	{
		funnel_params ph = p;
		funnel_state *h,
				   *back = NULL;

		ph.keys = FUNNEL_KEYS_HASH;
		h = build(&ph, rows, NROWS(rows));
		text = format(h);
		CHECK(text != NULL && strcmp(text, "(v:1,steps:2,window:10,modes:[strict_order],keys:hash,"
									 "events:[(1,5,0),(1,7,3),(18446744073709551615,-3,1)])") == 0,
			  "text form of hashed keys");
		CHECK(text != NULL && funnel_parse(text, mem, mem, &back, NULL) == KPI_OK &&
			  back->keys == FUNNEL_KEYS_HASH && back->nevents == 3,
			  "text input of hashed keys");
		free(back);
		back = NULL;
		free(text);
		bin = encode(h, &len);
		CHECK(bin != NULL && len == 16 + 3 * 20 && bin[3] == FUNNEL_KEYS_HASH &&
			  funnel_decode(bin, len, mem, mem, &back, NULL) == KPI_OK &&
			  back->keys == FUNNEL_KEYS_HASH && back->nevents == 3,
			  "binary round trip of hashed keys");
		free(back);
		free(bin);
		free(h);
	}

	/* Text errors. */
	{
		static const struct
		{
			const char *text;
			kpi_status	status;
			const char *what;
		}			bad[] = {
			{"(v:2,steps:1,window:0,modes:[],keys:int,events:[])", KPI_ERR_VERSION, "text: unknown version"},
			{"(v:1,steps:1,window:0,modes:[],keys:int)", KPI_ERR_TEXT, "text: missing field"},
			{"(v:1,steps:1,window:0,modes:[],events:[])", KPI_ERR_TEXT, "text: missing keys"},
			{"(v:1,steps:1,steps:1,window:0,modes:[],keys:int,events:[])", KPI_ERR_TEXT, "text: field twice"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,keys:int,events:[])", KPI_ERR_TEXT, "text: keys twice"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,events:[],x:1)", KPI_ERR_TEXT, "text: unknown field"},
			{"(v:1,steps:33,window:0,modes:[],keys:int,events:[])", KPI_ERR_TEXT, "text: 33 steps"},
			{"(v:1,steps:1,window:-1,modes:[],keys:int,events:[])", KPI_ERR_TEXT, "text: negative window"},
			{"(v:1,steps:1,window:0,modes:[foo],keys:int,events:[])", KPI_ERR_TEXT, "text: unknown mode"},
			{"(v:1,steps:1,window:0,modes:strict_order,keys:int,events:[])", KPI_ERR_TEXT, "text: modes without brackets"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,events:[(1,2,2)])", KPI_ERR_TEXT, "text: step above nsteps"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,events:[(1,2,0)])", KPI_ERR_TEXT, "text: empty row without strict_order"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,events:[(18446744073709551616,2,1)])", KPI_ERR_TEXT, "text: entity out of range"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,events:[(-1,2,1)])", KPI_ERR_TEXT, "text: negative entity"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,events:[(1,2)])", KPI_ERR_TEXT, "text: short event"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,events:[(1,2,1),])", KPI_ERR_TEXT, "text: trailing comma"},
			{"(v:1,steps:1,window:0,modes:[],keys:int,events:[(1,2,1)]x)", KPI_ERR_TEXT, "text: junk after events"},
			{"(v:1,steps:0,window:5,modes:[],keys:none,events:[])", KPI_ERR_TEXT, "text: blank with a window"},
			{"(v:1,steps:0,window:0,modes:[],keys:int,events:[])", KPI_ERR_TEXT, "text: blank with integer keys"},
			{"(v:1,steps:0,window:0,modes:[],keys:hash,events:[])", KPI_ERR_TEXT, "text: blank with hashed keys"},
			{"(v:1,steps:1,window:0,modes:[],keys:none,events:[])", KPI_ERR_TEXT, "text: keys none with steps"},
			{"(v:1,steps:1,window:0,modes:[],keys:none,events:[(1,2,1)])", KPI_ERR_TEXT, "text: keys none with events"},
			{"(v:1,steps:1,window:0,modes:[],keys:uuid,events:[])", KPI_ERR_TEXT, "text: unknown kind of keys"},
			{"(v:1,steps:1,window:0,modes:[],keys:Int,events:[])", KPI_ERR_TEXT, "text: kinds of keys are lower case"},
			{"(v:1,steps:1,window:0,modes:[],keys:[int],events:[])", KPI_ERR_TEXT, "text: keys in brackets"},
			{"(v:1,steps:1,window:0,modes:[],keys:,events:[])", KPI_ERR_TEXT, "text: empty keys"},
			{"(v:1,steps:0,window:0,modes:[],events:[])", KPI_ERR_TEXT, "text: blank without keys"},
		};

		for (size_t i = 0; i < NROWS(bad); i++)
		{
			funnel_state *u = NULL;
			kpi_status	st = funnel_parse(bad[i].text, mem, mem, &u, &msg);

			CHECK(st == bad[i].status, bad[i].what);
			if (st != bad[i].status)
				printf("#   status %d: %s\n", (int) st, msg.text);
			if (st == KPI_OK)
				free(u);
		}
	}
	/* Text input takes any order and whitespace; output is canonical. */
	{
		funnel_state *u = NULL;
		char	   *out = NULL;

		CHECK(funnel_parse(" ( v:1, steps:2 , window:10, modes:[ strict_order ],"
						   " events:[ (18446744073709551615, -3, 1), (1,7,3) ,(1,5,0)], keys: hash ) ",
						   mem, mem, &u, NULL) == KPI_OK &&
			  (out = format(u)) != NULL &&
			  strcmp(out, "(v:1,steps:2,window:10,modes:[strict_order],keys:hash,"
					 "events:[(1,5,0),(1,7,3),(18446744073709551615,-3,1)])") == 0,
			  "text input: any order and whitespace, canonical output");
		free(out);
		free(u);
	}
}

/* Random bytes and mutated encodings must be rejected or read back sanely. */
static void
test_hostile_input(void)
{
	unit_rng_seed(31337);
	funnel_params p = params(3, 50, FUNNEL_STRICT_ORDER);
	row			rows[40];
	size_t		n = random_rows(&p, 40, 4, 100, rows);
	funnel_state *s = build(&p, rows, n);
	size_t		len;
	uint8_t    *valid = encode(s, &len);
	char	   *valid_text = format(s);
	size_t		text_len = strlen(valid_text);
	int			accepted = 0;
	bool		sane = true;
	static const char alphabet[] = "()[],:-0123456789 vstepwindowmodesevents_rcioykha";

	for (int trial = 0; trial < 20000; trial++)
	{
		uint8_t		buf[512];
		size_t		blen;
		funnel_state *t = NULL;

		if (trial % 2 == 0)
		{
			blen = (size_t) random_below(120);
			for (size_t i = 0; i < blen; i++)
				buf[i] = (uint8_t) unit_rng_next();
			if (blen > 0 && random_below(4) != 0)
				buf[0] = 1;
		}
		else
		{
			blen = len <= sizeof(buf) ? len : sizeof(buf);
			memcpy(buf, valid, blen);
			for (int m = 0; m < 1 + (int) random_below(4); m++)
				buf[random_below(blen)] = (uint8_t) unit_rng_next();
			if (random_below(3) == 0)
				blen = (size_t) random_below(blen + 1);
		}
		if (funnel_decode(buf, blen, mem, mem, &t, NULL) == KPI_OK)
		{
			funnel_result res;
			size_t		l2;
			uint8_t    *again = encode(t, &l2);
			funnel_state *u = NULL;

			accepted++;
			sane = sane && funnel_evaluate(t, mem, &res, NULL) == KPI_OK && again != NULL &&
				funnel_decode(again, l2, mem, mem, &u, NULL) == KPI_OK && same_block(t, u);
			free(again);
			free(u);
			free(t);
		}
	}
	CHECK(sane, "random and mutated bytes: rejected, or accepted and consistent");
	printf("# hostile binary: %d of 20000 inputs accepted\n", accepted);

	accepted = 0;
	for (int trial = 0; trial < 5000; trial++)
	{
		char	   *txt = strdup(valid_text);
		funnel_state *t = NULL;

		for (int m = 0; m < 1 + (int) random_below(3); m++)
			txt[random_below(text_len)] = alphabet[random_below(sizeof(alphabet) - 1)];
		if (funnel_parse(txt, mem, mem, &t, NULL) == KPI_OK)
		{
			char	   *again = format(t);
			funnel_state *u = NULL;

			accepted++;
			sane = sane && again != NULL && funnel_parse(again, mem, mem, &u, NULL) == KPI_OK &&
				same_block(t, u);
			free(again);
			free(u);
			free(t);
		}
		free(txt);
	}
	CHECK(sane, "mutated text: rejected, or accepted and consistent");
	printf("# hostile text: %d of 5000 inputs accepted\n", accepted);
	free(valid);
	free(valid_text);
	free(s);
}

static int
compare_rows(const void *pa, const void *pb)
{
	const row  *a = pa;
	const row  *b = pb;

	if (a->entity != b->entity)
		return a->entity < b->entity ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->steps < b->steps ? -1 : a->steps > b->steps;
}

/* An allocator over malloc that counts what it hands out and gets back. */
typedef struct counted
{
	int			allocs;			/* blocks handed out (realloc moves one) */
	int			frees;
} counted;

static void *
counted_alloc(size_t size, void *ctx)
{
	((counted *) ctx)->allocs++;
	return malloc(size);
}

static void *
counted_realloc(void *ptr, size_t size, void *ctx)
{
	if (ptr == NULL)
		((counted *) ctx)->allocs++;
	return realloc(ptr, size);
}

static void
counted_free(void *ptr, void *ctx)
{
	((counted *) ctx)->frees++;
	free(ptr);
}

/*
 * Functions that make a block and sort take the block from mem and every
 * temporary from scratch, and give all of scratch back: the glue passes a
 * state allocator that never frees as mem.
 */
static void
test_scratch_memory(void)
{
	unit_rng_seed(4242);
	funnel_params p = params(3, 100, FUNNEL_STRICT_ORDER);
	row			rows[3000];
	size_t		n;
	funnel_state *s,
			   *c = NULL,
			   *t = NULL;
	counted		block = {0, 0},
				scratch = {0, 0};
	kpi_allocator block_mem = {counted_alloc, counted_realloc, counted_free, &block, false};
	kpi_allocator scratch_mem = {counted_alloc, counted_realloc, counted_free, &scratch, false};
	char	   *text;
	funnel_result res;

	for (n = 0; n < NROWS(rows); n++)
		rows[n] = (row) {random_below(500) * UINT64_C(0x9E3779B97F4A7C15),
			(int64_t) random_below(1000), (uint32_t) random_below(8)};
	s = build(&p, rows, n);
	CHECK(s != NULL && !(s->flags & FUNNEL_SORTED), "scratch: the state to copy is unsorted");
	CHECK(funnel_canonical_copy(s, &block_mem, &scratch_mem, &c, NULL) == KPI_OK &&
		  block.allocs == 1 && block.frees == 0 && scratch.allocs >= 2 &&
		  scratch.frees == scratch.allocs,
		  "canonical copy: one block from mem, every temporary from scratch, given back");
	CHECK(funnel_evaluate(s, &scratch_mem, &res, NULL) == KPI_OK && scratch.frees == scratch.allocs,
		  "evaluate: every temporary given back");

	/* The text lists the events of the reversed rows, unsorted. */
	{
		kpi_strbuf	sb;

		kpi_strbuf_init(&sb, mem);
		kpi_strbuf_append(&sb, "(v:1,steps:3,window:100,modes:[strict_order],keys:int,events:[");
		for (size_t i = n; i-- > 0;)
			kpi_strbuf_appendf(&sb, "%s(%llu,%lld,%u)", i + 1 < n ? "," : "",
							   (unsigned long long) rows[i].entity, (long long) rows[i].ts,
							   (unsigned) rows[i].steps);
		kpi_strbuf_append(&sb, "])");
		text = sb.data;
	}
	block = (counted) {0, 0};
	scratch = (counted) {0, 0};
	CHECK(text != NULL && funnel_parse(text, &block_mem, &scratch_mem, &t, NULL) == KPI_OK &&
		  block.allocs == 1 && block.frees == 0 && scratch.allocs >= 2 &&
		  scratch.frees == scratch.allocs && same_block(t, c),
		  "parse of unsorted events: one block from mem, sorted through scratch");
	free(text);
	free(t);
	free(c);
	free(s);
}

/* The radix paths (many rows, long runs, full 64-bit keys) against qsort. */
static void
test_large_sort(void)
{
	unit_rng_seed(2024);
	size_t		n = 60000;
	row		   *rows = malloc(n * sizeof(row));
	funnel_params p = params(4, 1000, FUNNEL_STRICT_ORDER);
	bool		ok = true;

	for (int variant = 0; variant < 2; variant++)
	{
		funnel_state *s,
				   *c;

		for (size_t i = 0; i < n; i++)
		{
			/* variant 0: three entities (runs of ~20000 rows, radix on
			 * time); variant 1: hashed 64-bit keys, negative times. */
			rows[i].entity = variant == 0 ? random_below(3) : unit_rng_next() % 5000 * UINT64_C(0xD1B54A32D192ED03);
			rows[i].ts = variant == 0 ? (int64_t) random_below(1000000)
				: (int64_t) unit_rng_next() >> (int) random_below(40);
			rows[i].steps = (uint32_t) random_below(16);
		}
		s = build(&p, rows, n);
		c = canonical(s);
		qsort(rows, n, sizeof(row), compare_rows);
		for (size_t i = 0; ok && i < n; i++)
			ok = funnel_event_entity(&c->events[i]) == rows[i].entity &&
				funnel_event_ts(&c->events[i]) == rows[i].ts && c->events[i].steps == rows[i].steps;
		free(s);
		free(c);
	}
	CHECK(ok, "large states sort like qsort (radix paths)");
	free(rows);
}

/* ------------------------------------------------------------ benchmark */

/* CPU seconds of this process: meaningful on a busy machine too. */
static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * nevents rows over nevents / 10 entities, 4 steps, one hour window:
 * each entity's rows fall within two hours of its own start; each row is
 * step 1 (50 %), 2 (25 %), 3 (15 %) or 4 (10 %); rows arrive shuffled.
 */
static void
bench(size_t nevents, bool hashed)
{
	const int64_t hour = INT64_C(3600000000);
	funnel_params p = params(4, hour, 0);
	uint64_t	nent = nevents / 10 > 0 ? nevents / 10 : 1;
	unit_rng_seed(hashed ? 2 : 1);
	funnel_state *s,
			   *c,
			   *d = NULL;
	funnel_result r1,
				r2;
	double		t0,
				t_add,
				t_eval,
				t_canon,
				t_eval_sorted,
				t_enc,
				t_dec;
	uint8_t    *bin;
	size_t		len;
	bool		ok = true;

	funnel_create(&p, 0, mem, &s, NULL);
	t0 = now_seconds();
	for (size_t i = 0; i < nevents; i++)
	{
		uint64_t	id = random_below(nent);
		uint64_t	key = hashed ? (id + 1) * UINT64_C(0x9E3779B97F4A7C15) : id;
		int64_t		start = (int64_t) ((id * UINT64_C(2654435761)) % (30 * 24 * (uint64_t) hour));
		uint64_t	pick = random_below(100);
		uint32_t	steps = pick < 50 ? S(1) : pick < 75 ? S(2) : pick < 90 ? S(3) : S(4);

		ok = ok && funnel_add_row(&s, mem, &p, key, start + (int64_t) random_below(2 * (uint64_t) hour),
								  steps, NULL) == KPI_OK;
	}
	t_add = now_seconds() - t0;
	t0 = now_seconds();
	ok = ok && funnel_evaluate(s, mem, &r1, NULL) == KPI_OK;
	t_eval = now_seconds() - t0;
	t0 = now_seconds();
	c = canonical(s);
	t_canon = now_seconds() - t0;
	t0 = now_seconds();
	ok = ok && c != NULL && funnel_evaluate(c, mem, &r2, NULL) == KPI_OK;
	t_eval_sorted = now_seconds() - t0;
	t0 = now_seconds();
	bin = encode(c, &len);
	t_enc = now_seconds() - t0;
	t0 = now_seconds();
	ok = ok && bin != NULL && funnel_decode(bin, len, mem, mem, &d, NULL) == KPI_OK && same_block(c, d);
	t_dec = now_seconds() - t0;
	ok = ok && same_result(&r1, &r2);
	printf("# bench %zu events, %llu %s entities, 4 steps:\n", nevents,
		   (unsigned long long) nent, hashed ? "hashed 64-bit" : "dense");
	printf("#   CPU seconds: add_row %.3f, evaluate (unsorted: copy + sort + scan) %.3f,\n"
		   "#   canonical copy (sort) %.3f, evaluate sorted %.3f, encode %.3f, decode %.3f\n",
		   t_add, t_eval, t_canon, t_eval_sorted, t_enc, t_dec);
	printf("#   entities reaching steps 1..4: %lld %lld %lld %lld; median s to steps 2..4: %.1f %.1f %.1f\n",
		   (long long) r1.entities[0], (long long) r1.entities[1], (long long) r1.entities[2],
		   (long long) r1.entities[3], r1.median_time[1] / 1e6, r1.median_time[2] / 1e6,
		   r1.median_time[3] / 1e6);
	if (c != NULL)
		printf("#   bytes per event: in memory %.2f (canonical block), binary %.2f\n",
			   (double) funnel_state_size(c) / (double) nevents, (double) len / (double) nevents);
	CHECK(ok, hashed ? "benchmark ran consistently (hashed keys)" : "benchmark ran consistently (dense keys)");
	free(s);
	free(c);
	free(d);
	free(bin);
}

/*
 * The benchmark's default size: 5 million rows, or 500 000 under
 * AddressSanitizer, whose timings mean nothing (build with -O2 and no
 * sanitizer for the figures).
 */
#ifdef __SANITIZE_ADDRESS__
#define BENCH_DEFAULT_EVENTS 500000
#else
#define BENCH_DEFAULT_EVENTS 5000000
#endif

int
main(void)
{
	const char *env = getenv("KPI_FUNNEL_BENCH_EVENTS");
	size_t		bench_events = env != NULL ? (size_t) strtoull(env, NULL, 10) : BENCH_DEFAULT_EVENTS;

	test_base_semantics();
	test_modes();
	test_entities();
	test_empty_and_blank();
	test_params_and_modes();
	test_mismatch();
	test_key_kinds();
	test_brute_force();
	test_arrival_order();
	test_split_merge();
	test_codec_round_trips();
	test_codec_forms();
	test_hostile_input();
	test_large_sort();
	test_scratch_memory();
	if (bench_events > 0)
	{
		bench(bench_events, false);
		bench(bench_events, true);
	}
	return unit_done();
}
