# scripts/lib.sh: shared by scripts/demo and scripts/check (sourced, not run).
#
# kpi_prepare installs what is missing (as root, with apt-get), then builds
# and installs kpi into the PostgreSQL that pg_config names.
#
# kpi_stage_data copies the data files into a temporary directory that the
# PostgreSQL server (user postgres) can read, wherever the checkout lives
# (a clone under /root is not readable by it), and exports:
#   KPI_DATA_DIR         data/        (shipped with kpi)
#   KPI_TEST_DATA_DIR    test/data/   (shipped with kpi, tests only)
#   KPI_SHARED_DATA_DIR  ../shared/data, only if that folder exists (data
#                        that may not ship; the tests that need it skip
#                        themselves when the variable is unset)
# The directory is removed when the calling script exits.

KPI_PACKAGES="make gcc libc6-dev postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl"

kpi_missing_packages() {
	local missing="" p
	for p in $KPI_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	echo "$missing"
}

kpi_prepare() {
	local missing
	missing=$(kpi_missing_packages)
	if [ -n "$missing" ]; then
		if [ "$(id -u)" != 0 ]; then
			echo "kpi needs these Debian packages, which are not installed:$missing" >&2
			echo "Install them as root, then run this command again:" >&2
			echo "    apt-get update && apt-get install -y$missing" >&2
			exit 1
		fi
		echo "== installing Debian packages:$missing"
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "Installing kpi into PostgreSQL's directories needs root; run this command as root." >&2
		exit 1
	fi
	export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	echo "== building and installing kpi"
	make -s PG_CONFIG="$PG_CONFIG" COPT="${COPT:-}"
	make -s PG_CONFIG="$PG_CONFIG" install
}

kpi_stage_data() {
	KPI_STAGE_DIR=$(mktemp -d /tmp/kpi-data.XXXXXX)
	trap 'rm -rf "$KPI_STAGE_DIR"' EXIT
	cp -r data "$KPI_STAGE_DIR/data"
	export KPI_DATA_DIR="$KPI_STAGE_DIR/data"
	if [ -d test/data ]; then
		cp -r test/data "$KPI_STAGE_DIR/test_data"
		export KPI_TEST_DATA_DIR="$KPI_STAGE_DIR/test_data"
	fi
	if [ -d ../shared/data ]; then
		cp -r ../shared/data "$KPI_STAGE_DIR/shared_data"
		export KPI_SHARED_DATA_DIR="$KPI_STAGE_DIR/shared_data"
	else
		unset KPI_SHARED_DATA_DIR
	fi
	chmod -R a+rX "$KPI_STAGE_DIR"
}
