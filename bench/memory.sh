#!/usr/bin/env bash
#
# bench/memory.sh -- the memory a customer set takes while 10 million
# distinct bigint customers are aggregated (issue 4): the peak resident
# memory (VmHWM) of the backend that runs the aggregate, less that of a
# backend that only counts the same rows, per customer.  Dense ids (1..n)
# and pseudo-random 64-bit ids (hashint8extended), through the one-step
# kpi.retention_rate and through kpi.retention_agg (which also returns the
# stored state, whose size is shown).  See bench/README.md.
#
# Runs against an already running PostgreSQL on this machine (it reads
# /proc/<backend pid>/status), reachable through the libpq environment,
# with the kpi extension installed; `make bench` runs it after run.sh.
#
# Environment:
#   KPI_BENCH_MEMORY_CUSTOMERS  distinct customers     (10000000)
#
# Prints a markdown table on stdout.  Exit status 1 when a count is wrong.

set -euo pipefail

N=${KPI_BENCH_MEMORY_CUSTOMERS:-10000000}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "bench: KPI_BENCH_MEMORY_CUSTOMERS must be a positive integer" >&2; exit 2; }

# Runs query (serially, in a new backend) and prints its output, then the
# backend's VmHWM in kB, on one line separated by |.
peak() {
	psql -X -q -At -v ON_ERROR_STOP=1 <<SQL | paste -sd'|'
SET max_parallel_workers_per_gather = 0;
SELECT pg_backend_pid() AS pid \gset
\setenv KPI_BENCH_PID :pid
$1;
\! awk '/^VmHWM/ { print \$2 }' /proc/\$KPI_BENCH_PID/status
SQL
}

per_customer() { awk -v kb="$1" -v base="$2" -v n="$N" 'BEGIN { printf "%.1f", (kb - base) * 1024 / n }'; }

status=0
echo "| ids ($N customers) | one step: peak B/customer | retention_agg: peak B/customer | stored B/customer |"
echo "|---|---|---|---|"
for ids in dense random; do
	if [ $ids = dense ]; then id="i"; else id="hashint8extended(i, 0)"; fi
	rows="FROM generate_series(1, $N) AS i"
	base_kb=$(peak "SELECT count($id) $rows" | cut -d'|' -f2)
	one_kb=$(peak "SELECT kpi.retention_rate($id, timestamptz '2024-06-01 00:00+00', timestamptz '2025-01-01 00:00+00') $rows" | cut -d'|' -f2)
	out=$(peak "SELECT kpi.base_customers(s), pg_column_size(s)
		FROM (SELECT kpi.retention_agg($id, timestamptz '2024-06-01 00:00+00', timestamptz '2025-01-01 00:00+00') AS s $rows) AS agg")
	IFS='|' read -r customers stored agg_kb <<<"$out"
	if [ "$customers" != "$N" ]; then
		echo "bench: $ids ids: retention_agg counted $customers customers, not $N" >&2
		status=1
	fi
	echo "| $ids | $(per_customer "$one_kb" "$base_kb") | $(per_customer "$agg_kb" "$base_kb") | $(awk -v s="$stored" -v n="$N" 'BEGIN { printf "%.2f", s / n }') |"
done
exit $status
