# scripts/lib.sh: shared by scripts/demo and scripts/check (sourced, not run).
#
# kpi_prepare installs what is missing (as root, with apt-get), then builds
# and installs kpi into the PostgreSQL that pg_config names.

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
