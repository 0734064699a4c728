#!/usr/bin/env bash
#
# bench/run.sh -- the kpi benchmark: each KPI next to the SQL a user would
# write otherwise, on deterministic synthetic data.  See bench/README.md.
#
# Runs against an already running PostgreSQL reachable through the libpq
# environment (PGHOST, PGPORT, PGDATABASE, PGUSER), with the kpi extension
# installed (`make bench` wraps this script in pg_virtualenv).
#
# Environment:
#   KPI_BENCH_ORDERS         rows of bench_orders            (5000000)
#   KPI_BENCH_CUSTOMERS      customers in bench_orders       (20000)
#   KPI_BENCH_MANY_CUSTOMERS customers in bench_orders_many  (1000000; as
#                            many orders as bench_orders)
#   KPI_BENCH_SESSIONS       sessions in bench_events        (700000, ~5.3M events)
#   KPI_BENCH_CLV_CUSTOMERS  customers in bench_clv_orders   (200000)
#   KPI_BENCH_RUNS           timed runs per query            (5, after 1 warm-up)
#   KPI_BENCH_FILTER         regex over case names           (all cases)
#   KPI_BENCH_MODES          "serial parallel", or one of them
#   KPI_BENCH_PENDING        skip: skip cases whose kpi functions are missing;
#                            sql: still time their SQL side  (skip)
#   KPI_BENCH_WORK_MEM       work_mem of the timed sessions  (64MB)
#   KPI_BENCH_JIT            jit of the timed sessions       (off)
#   KPI_BENCH_CDNOW          path of cdnow_transactions.csv  (searched)
#   KPI_BENCH_RESULTS        markdown output                 (bench/results/latest.md)
#
# Prints the result table (markdown) on stdout and saves it; progress goes
# to stderr.  Exit status 1 when a case gives a different answer, fails
# its check or raises an error.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")

ORDERS=${KPI_BENCH_ORDERS:-5000000}
CUSTOMERS=${KPI_BENCH_CUSTOMERS:-20000}
MANY_CUSTOMERS=${KPI_BENCH_MANY_CUSTOMERS:-1000000}
SESSIONS=${KPI_BENCH_SESSIONS:-700000}
CLV_CUSTOMERS=${KPI_BENCH_CLV_CUSTOMERS:-200000}
RUNS=${KPI_BENCH_RUNS:-5}
FILTER=${KPI_BENCH_FILTER:-}
MODES=${KPI_BENCH_MODES:-serial parallel}
PENDING=${KPI_BENCH_PENDING:-skip}
WORK_MEM=${KPI_BENCH_WORK_MEM:-64MB}
JIT=${KPI_BENCH_JIT:-off}
RESULTS=${KPI_BENCH_RESULTS:-$BENCH_DIR/results/latest.md}

# Settings of each mode.  The parallel costs are lowered so that the planner
# really uses the 2 workers on these tables; the table shows whether it did.
SERIAL_SETTINGS="SET max_parallel_workers_per_gather = 0;"
PARALLEL_SETTINGS="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 100; SET parallel_tuple_cost = 0.01;
	SET min_parallel_table_scan_size = '1MB';"

die() { echo "bench: $*" >&2; exit 2; }
log() { echo "bench: $*" >&2; }

for v in ORDERS CUSTOMERS MANY_CUSTOMERS SESSIONS CLV_CUSTOMERS RUNS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "KPI_BENCH_$v must be a positive integer, not \"${!v}\""
done
((ORDERS >= CUSTOMERS)) || die "KPI_BENCH_ORDERS must be at least KPI_BENCH_CUSTOMERS (every customer has an order)"
((ORDERS >= MANY_CUSTOMERS)) ||
	die "KPI_BENCH_ORDERS must be at least KPI_BENCH_MANY_CUSTOMERS (every customer has an order)"
for m in $MODES; do
	[[ $m == serial || $m == parallel ]] || die "unknown mode \"$m\" in KPI_BENCH_MODES (serial, parallel)"
done
[[ $PENDING == skip || $PENDING == sql ]] || die "KPI_BENCH_PENDING must be skip or sql"

# Session settings that make results and fingerprints independent of the
# server's defaults; work_mem and jit apply to both sides alike.
export PGOPTIONS="-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=1 -c jit=$JIT -c work_mem=$WORK_MEM -c client_min_messages=warning ${PGOPTIONS:-}"

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# first_error FILE: the first error message psql wrote to FILE, for a table cell.
first_error() {
	grep -m1 'ERROR' "$1" | sed 's/^.*ERROR: *//; s/|/\\|/g' || true
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- case files --------------------------------------------------------------

# case_section FILE NAME: the lines of section "-- @NAME" (up to the next "-- @" line).
case_section() {
	awk -v want="$2" '/^-- @/ { cur = substr($2, 2); next } cur == want { print }' "$1"
}

# case_attr FILE NAME: the value of the directive "-- @NAME value".
case_attr() {
	awk -v want="$2" '/^-- @/ && substr($2, 2) == want { sub(/^-- @[a-z_]+[ \t]*/, ""); print; exit }' "$1"
}

# case_validate FILE: every "-- @" line is a known directive or section.
case_validate() {
	local bad
	bad=$(awk '/^-- @/ { d = substr($2, 2); if (d !~ /^(needs|requires|compare|setup|kpi|sql|check)$/) print d }' "$1")
	[[ -z $bad ]] || die "$1: unknown directive \"-- @${bad%%$'\n'*}\""
	[[ -n $(case_section "$1" kpi) ]] || die "$1: no \"-- @kpi\" section"
	[[ -n $(case_section "$1" sql) || -n $(case_section "$1" check) ]] || die "$1: needs a \"-- @sql\" or a \"-- @check\" section"
}

# query_text FILE SECTION: the section without trailing blanks and semicolons.
query_text() {
	local s re='[[:space:];]$'
	s=$(case_section "$1" "$2")
	while [[ $s =~ $re ]]; do s=${s%?}; done
	printf '%s' "$s"
}

# case_requires FILE: kpi functions the case calls (kpi.name( in its
# setup, kpi and check sections, comments removed) plus "-- @requires".
case_requires() {
	{
		for s in setup kpi check; do case_section "$1" "$s"; done | sed 's/--.*$//' |
			grep -o 'kpi\.[a-z_0-9]*[[:space:]]*(' | sed 's/^kpi\.//; s/[[:space:]]*($//'
		for f in $(case_attr "$1" requires); do echo "${f#kpi.}"; done
	} | sort -u | tr '\n' ' '
}

# missing_functions NAMES: those of NAMES that are not functions in schema kpi.
missing_functions() {
	q -v names="$1" <<-'EOF'
		SELECT coalesce(string_agg('kpi.' || f, ', ' ORDER BY f), '')
		FROM unnest(string_to_array(btrim(:'names'), ' ')) AS f
		WHERE f <> '' AND NOT EXISTS (
			SELECT 1 FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
			WHERE n.nspname = 'kpi' AND p.proname = f);
	EOF
}

# --- data ---------------------------------------------------------------------

CDNOW_FILE=${KPI_BENCH_CDNOW:-}
if [[ -z $CDNOW_FILE ]]; then
	for f in "$REPO_DIR"/test/data/cdnow/cdnow_transactions.csv "$REPO_DIR"/test/data/cdnow_transactions.csv \
		"$REPO_DIR"/../shared/data/cdnow/cdnow_transactions.csv; do
		if [[ -r $f ]]; then CDNOW_FILE=$f; break; fi
	done
fi

# data_problem SET: why the data set cannot be made, or nothing.
data_problem() {
	if [[ $1 == cdnow && ! -r $CDNOW_FILE ]]; then
		echo "CDNOW data not found (set KPI_BENCH_CDNOW to cdnow_transactions.csv)"
	fi
	case $1 in orders | orders_many | order_lines | events | clv | cdnow) ;; *) echo "unknown data set \"$1\" in -- @needs" ;; esac
}

declare -A ENSURED=()
DATA_LINES=()

# ensure SET: make the tables of a data set unless they exist at this scale.
# bench_meta records the scale, the generator's checksum, a fingerprint of
# the data and how long generation took.
ensure() {
	local set=$1 table file scale current reused t0 secs fp
	local -a vars=()
	[[ -n ${ENSURED[$set]:-} ]] && return
	case $set in
		orders)
			table=bench_orders; file=orders.sql
			scale="orders=$ORDERS customers=$CUSTOMERS"
			vars=(-v "orders=$ORDERS" -v "customers=$CUSTOMERS") ;;
		orders_many)
			table=bench_orders_many; file=orders.sql
			scale="orders=$ORDERS customers=$MANY_CUSTOMERS"
			vars=(-v "orders=$ORDERS" -v "customers=$MANY_CUSTOMERS"
				-v customers_table=bench_customers_many -v orders_table=bench_orders_many) ;;
		order_lines)
			ensure orders
			table=bench_order_lines; file=order_lines.sql
			scale="lines of [$(q -c "SELECT scale FROM bench_meta WHERE name = 'orders'")]" ;;
		events)
			table=bench_events; file=events.sql
			scale="sessions=$SESSIONS"
			vars=(-v "sessions=$SESSIONS") ;;
		clv)
			table=bench_clv_orders; file=clv.sql
			scale="clv_customers=$CLV_CUSTOMERS"
			vars=(-v "clv_customers=$CLV_CUSTOMERS") ;;
		cdnow)
			table=bench_cdnow; file=cdnow.sql
			scale="file md5 $(md5sum < "$CDNOW_FILE" | cut -c1-12)" ;;
	esac
	scale="$scale gen $(cat "$BENCH_DIR/generate/prng.sql" "$BENCH_DIR/generate/$file" | md5sum | cut -c1-12)"
	current=$(q <<< "SELECT scale FROM bench_meta WHERE name = '$set' AND to_regclass('$table') IS NOT NULL")
	# the tables are unlogged: a server crash leaves them empty
	if [[ -n $current ]] && [[ $(q -c "SELECT NOT EXISTS (SELECT FROM $table)") == t ]]; then
		current=""
	fi
	if [[ $current == "$scale" ]]; then
		log "reusing $table ($scale)"
	else
		log "generating $table ($scale) ..."
		t0=$(now)
		if [[ $set == cdnow ]]; then
			q "${vars[@]}" -f "$BENCH_DIR/generate/$file" < "$CDNOW_FILE"
		else
			q "${vars[@]}" -f "$BENCH_DIR/generate/$file"
		fi
		secs=$(elapsed "$t0" "$(now)")
		fp=$(q -c "SELECT bench.fingerprint('$table')")
		q -v name="$set" -v scale="$scale" -v secs="$secs" -v fp="$fp" <<-'EOF'
			INSERT INTO bench_meta (name, scale, seconds, fingerprint, generated_at)
			VALUES (:'name', :'scale', :'secs', :'fp', now())
			ON CONFLICT (name) DO UPDATE SET scale = EXCLUDED.scale, seconds = EXCLUDED.seconds,
				fingerprint = EXCLUDED.fingerprint, generated_at = EXCLUDED.generated_at;
		EOF
		log "generated $table in $secs s: $fp"
	fi
	reused=""
	if [[ $current == "$scale" ]]; then reused=" (in an earlier run; reused)"; fi
	DATA_LINES+=("$(q <<< "SELECT format('- %s: %s; %s; generated in %s s', '$table', scale, fingerprint, seconds)
		FROM bench_meta WHERE name = '$set'")$reused")
	ENSURED[$set]=1
}

# --- measuring ----------------------------------------------------------------

# run_mode MODE KPI_QUERY SQL_QUERY TOLERANCE CHECK: compare (or check) and
# time the case in one session; prints "same|kpi ms|sql ms|kpi plan|sql
# plan|kpi runs|sql runs".  SQL_QUERY empty: kpi-only case with CHECK.
run_mode() {
	local settings tol_sql judge
	if [[ $1 == serial ]]; then settings=$SERIAL_SETTINGS; else settings=$PARALLEL_SETTINGS; fi
	if [[ -n $4 ]]; then tol_sql=$4; else tol_sql=NULL; fi
	if [[ -n $3 ]]; then
		judge="SELECT bench.compare(:'kq', :'sq', $tol_sql) AS same \\gset"
	else
		judge="SELECT CASE WHEN ($5
			) IS TRUE THEN 'check ok' ELSE 'CHECK FAILED' END AS same \\gset"
	fi
	q -F '|' -v kq="$2" -v sq="$3" -v runs="$RUNS" <<-EOF
		$settings
		$judge
		SELECT :'same', m.* FROM bench.measure(:'kq', nullif(:'sq', ''), :runs) AS m;
	EOF
}

# --- main ---------------------------------------------------------------------

q -c "SELECT 1" > /dev/null || die "cannot connect to PostgreSQL (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} PGDATABASE=${PGDATABASE:-})"
if [[ $(q -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'kpi'") == 1 ]]; then
	q -c "CREATE EXTENSION IF NOT EXISTS kpi"
else
	log "the kpi extension is not installed on this server (make install): every case is pending"
fi
q -f "$BENCH_DIR/lib.sql" -f "$BENCH_DIR/generate/prng.sql"
q -c "CREATE TABLE IF NOT EXISTS bench_meta (name text PRIMARY KEY, scale text NOT NULL, seconds numeric,
	fingerprint text, generated_at timestamptz)"

shopt -s nullglob
CASE_FILES=("$BENCH_DIR"/cases/*.sql)
((${#CASE_FILES[@]} > 0)) || die "no case files in $BENCH_DIR/cases"

# Pass 1: select the cases; find those whose kpi functions are missing
# (pending) or whose data cannot be made; make the data the others need.
declare -a SELECTED=() ROWS=() RAW=()
declare -A SKIP_REASON=()
for f in "${CASE_FILES[@]}"; do
	name=$(basename "$f" .sql)
	name=${name#[0-9][0-9]_}
	if [[ -n $FILTER && ! $name =~ $FILTER ]]; then continue; fi
	case_validate "$f"
	SELECTED+=("$f")
	reason=""
	for set in $(case_attr "$f" needs); do
		problem=$(data_problem "$set")
		if [[ -n $problem ]]; then reason="skipped: $problem"; break; fi
	done
	if [[ -z $reason ]]; then
		missing=$(missing_functions "$(case_requires "$f")")
		if [[ -n $missing ]]; then reason="pending: $missing missing"; fi
	fi
	SKIP_REASON[$f]=$reason
	if [[ -z $reason || ($reason == pending:* && $PENDING == sql && -n $(case_section "$f" sql)) ]]; then
		for set in $(case_attr "$f" needs); do ensure "$set"; done
	fi
done

# Pass 2: run.
FAILED=0
ERRFILE=$(mktemp)
trap 'rm -f "$ERRFILE"' EXIT
for f in "${SELECTED[@]}"; do
	name=$(basename "$f" .sql)
	name=${name#[0-9][0-9]_}
	reason=${SKIP_REASON[$f]}
	if [[ -n $reason && ! ($reason == pending:* && $PENDING == sql && -n $(case_section "$f" sql)) ]]; then
		log "$name: $reason"
		ROWS+=("| $name | - | - | - | - | $reason | - |")
		continue
	fi
	kq=$(query_text "$f" kpi)
	sq=$(query_text "$f" sql)
	check=$(query_text "$f" check)
	tol=""
	compare=$(case_attr "$f" compare)
	case $compare in
		"" | exact) ;;
		tolerance\ *) tol=${compare#tolerance }
			[[ $tol =~ ^[0-9.]+(e-?[0-9]+)?$ ]] || die "$f: bad tolerance \"$tol\"" ;;
		*) die "$f: -- @compare must be \"exact\" or \"tolerance <relative>\"" ;;
	esac
	# Setup (untimed).  A kpi function or type that does not exist yet, in
	# the setup or in the kpi query, makes the case pending.
	setup_ok=1
	if [[ -n $(case_section "$f" setup) ]]; then
		log "$name: setup"
		if ! case_section "$f" setup | q -f - > /dev/null 2> "$ERRFILE"; then
			setup_ok=""
			missing=$(grep -m1 -oE '(function kpi\.[^)]*\)|type "kpi\.[^"]*") does not exist' "$ERRFILE" || true)
			if [[ -n $missing ]]; then
				reason=${reason:-"pending: $missing"}
			elif [[ -z $reason ]]; then
				cat "$ERRFILE" >&2
				err=$(first_error "$ERRFILE")
				ROWS+=("| $name | - | - | - | - | ERROR in setup: ${err:-see log} | - |")
				FAILED=1
				continue
			fi
		fi
	fi
	if [[ -z $reason ]]; then
		missing=$(q -v query="$kq" <<< "SELECT bench.probe(:'query')")
		if [[ -n $missing ]]; then reason="pending: $missing"; fi
	fi
	sql_only=""
	if [[ -n $reason ]]; then
		if [[ $PENDING == sql && -n $sq && -n $setup_ok ]]; then
			# KPI_BENCH_PENDING=sql: time the SQL side alone
			sql_only=1; kq=$sq; sq=""; check="true"
		else
			log "$name: $reason"
			ROWS+=("| $name | - | - | - | - | $reason | - |")
			continue
		fi
	fi
	for mode in $MODES; do
		log "$name: $mode ..."
		t0=$(now)
		if ! out=$(run_mode "$mode" "$kq" "$sq" "$tol" "$check" 2> "$ERRFILE"); then
			cat "$ERRFILE" >&2
			err=$(first_error "$ERRFILE")
			ROWS+=("| $name | $mode | - | - | - | ERROR: ${err:-see log} | - |")
			FAILED=1
			continue
		fi
		IFS='|' read -r same kms sms kplan splan kruns sruns <<< "$(tail -n 1 <<< "$out")"
		log "$name: $mode done in $(elapsed "$t0" "$(now)") s: $same"
		if [[ -n $sql_only ]]; then
			ROWS+=("$(printf '| %s | %s | - | %.1f | - | %s (sql side only) | -/%s |' "$name" "$mode" "$kms" "$reason" "$kplan")")
			RAW+=("- $name, $mode: sql ${kruns}")
			continue
		fi
		[[ $same == yes* || $same == "check ok" ]] || FAILED=1
		if [[ -n $sq ]]; then
			ratio=$(awk -v k="$kms" -v s="$sms" 'BEGIN { printf "%.2f", (s > 0 ? k / s : 0) }')
			ROWS+=("$(printf '| %s | %s | %.1f | %.1f | %s | %s | %s/%s |' "$name" "$mode" "$kms" "$sms" "$ratio" "$same" "$kplan" "$splan")")
			RAW+=("- $name, $mode: kpi ${kruns}; sql ${sruns}")
		else
			ROWS+=("$(printf '| %s | %s | %.1f | - | - | %s | %s/- |' "$name" "$mode" "$kms" "$same" "$kplan")")
			RAW+=("- $name, $mode: kpi ${kruns}")
		fi
	done
done

# --- report -------------------------------------------------------------------

report() {
	local pg ext rev
	pg=$(q -c "SELECT split_part(version(), ' (', 1)")
	ext=$(q -c "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'kpi'), 'not installed')")
	rev=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo "none")
	echo "# kpi benchmark"
	echo
	echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) CPUs; $pg; kpi $ext; commit $rev"
	echo "- median of $RUNS runs after 1 warm-up, server-side time (EXPLAIN ANALYZE, TIMING OFF: planning + execution)," \
		"kpi and SQL alternating; work_mem=$WORK_MEM, jit=$JIT, shared_buffers=$(q -c 'SHOW shared_buffers')"
	echo "- serial: max_parallel_workers_per_gather=0; parallel: max_parallel_workers_per_gather=2," \
		"parallel_setup_cost=100, parallel_tuple_cost=0.01, min_parallel_table_scan_size=1MB;" \
		"\"gather\" = the plan has a Gather node (workers launched)"
	echo "- same answer: result sets compared as multisets, exactly, or floats to the stated relative tolerance"
	if ((${#DATA_LINES[@]} > 0)); then
		echo
		echo "Data:"
		echo
		printf '%s\n' "${DATA_LINES[@]}"
	fi
	echo
	echo "| case | mode | kpi median ms | sql median ms | ratio kpi/sql | same answer | gather kpi/sql |"
	echo "|---|---|---:|---:|---:|---|---|"
	printf '%s\n' "${ROWS[@]}"
	if ((${#RAW[@]} > 0)); then
		echo
		echo "Timed runs (ms):"
		echo
		printf '%s\n' "${RAW[@]}"
	fi
}

mkdir -p "$(dirname "$RESULTS")"
report | tee "$RESULTS"
log "saved $RESULTS"
exit $FAILED
