# shellcheck shell=bash
# scripts/lib.sh — shared by scripts/start, scripts/stop, scripts/test and .ci/run.
#
# Sourced, never executed. Owns: the list of Debian packages the project needs (the ONE place
# it is written down), the unprivileged OS user that runs every PostgreSQL process
# (initdb/postgres refuse to run as root), and where the development cluster of
# scripts/start lives. Sourcing it only sets variables (and clears the caller's PG* and LC_*
# ones); callers decide what to ensure.

# Scripts must not be steered by the caller's libpq/locale environment: every connection below
# names its host, port, user and database, and every cluster is initialised in UTF-8.
for _pgw_var in $(compgen -e); do
	case $_pgw_var in
	PG_CONFIG | PGWALLET_*) ;;
	PG*) unset "$_pgw_var" ;;
	esac
done
unset _pgw_var LC_ALL LC_CTYPE LC_COLLATE LC_MESSAGES LC_MONETARY LC_NUMERIC LC_TIME LANGUAGE
export LANG=C.UTF-8

# Debian bookworm packages needed to build, run and test pg_wallet and its bridge
# (curl, jq, openssl, valgrind, nodejs and node-ws: the bridge's e2e and valgrind test stages;
# Node.js runs the cashier WebSocket test client only; clang and its libFuzzer runtime: the
# fuzz stage).
PGW_PACKAGES=(
	postgresql-15
	postgresql-server-dev-15
	postgresql-client-15
	postgresql-15-pgtap
	postgresql-15-plproxy
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	libcurl4-openssl-dev
	python3
	libssl-dev
	libwebsockets-dev
	libhpdf-dev
	poppler-utils
	libpq-dev
	wrk
	make
	gcc
	pkg-config
	curl
	jq
	openssl
	valgrind
	nodejs
	node-ws
	chromium
	clang
	libclang-rt-14-dev
)

PGW_USER=pgwallet
PGW_PG_MAJOR=15
PGW_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

# Use the PostgreSQL 15 binaries directly, not Debian's version-guessing wrappers in /usr/bin.
PGW_PGBIN=/usr/lib/postgresql/$PGW_PG_MAJOR/bin
export PG_CONFIG="$PGW_PGBIN/pg_config"


pgw_say() { printf '==> %s\n' "$*"; }
pgw_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

pgw_require_root() {
	[ "$(id -u)" -eq 0 ] ||
		pgw_die "$(basename "$0") must run as root (sudo $0): it installs packages and the extension"
}

# Packages of PGW_PACKAGES that are not installed, one per line.
pgw_missing_packages() {
	local p
	for p in "${PGW_PACKAGES[@]}"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed ||
			printf '%s\n' "$p"
	done
}

# Install whatever is missing; apt-get update only when something is.
pgw_ensure_packages() {
	local missing
	missing=$(pgw_missing_packages)
	[ -z "$missing" ] && return 0
	# shellcheck disable=SC2086 # one package name per word
	pgw_say "installing missing packages: "$missing
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q $missing
}

# The unprivileged OS user that owns and runs every cluster.
pgw_ensure_user() {
	id -u "$PGW_USER" >/dev/null 2>&1 && return 0
	pgw_say "creating OS user $PGW_USER"
	useradd --system --user-group --create-home --home-dir "/var/lib/$PGW_USER" \
		--shell /bin/bash --comment "pg_wallet development and test clusters" "$PGW_USER"
}

# pgw_as_user DIR CMD ARGS...: run CMD as the unprivileged user with DIR as working directory
# (never the caller's, which may be unreadable to that user, e.g. /root). pgw_user_argv DIR
# sets PGW_ARGV to the same command prefix, for callers that need to exec it themselves.
pgw_user_argv() {
	PGW_ARGV=(runuser -u "$PGW_USER" -- env -C "$1" HOME="/var/lib/$PGW_USER" PWD="$1")
}
pgw_as_user() {
	pgw_user_argv "$1"
	shift
	"${PGW_ARGV[@]}" "$@"
}

# make in the repository, as root (the build writes into the checkout), then make install.
# Arguments are passed to both makes (scripts/test passes ASSERTS=1).
pgw_build_install() {
	pgw_say "make $* && make install $* (PG_CONFIG=$PG_CONFIG)"
	make -C "$PGW_REPO" -j"$(nproc)" "$@" && make -C "$PGW_REPO" install "$@"
}

# pgw_npm_ci DIR [ARGS...]: DIR's Node.js packages exactly as its package-lock.json pins them
# (npm ci, no install scripts), into DIR/node_modules; npm comes from Debian when missing.
pgw_npm_ci() {
	local dir=$1
	shift
	[ -f "$dir/package-lock.json" ] || return 0
	command -v npm >/dev/null || apt-get install -y -q npm >/dev/null || return 1
	(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --prefer-offline \
		--loglevel=error "$@")
}

# A TCP port on 127.0.0.1 that nothing listens on, searching upward from $1.
pgw_free_port() {
	local port=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	printf '%s\n' "$port"
}

# Stop every cluster whose data directory lies under $1 (throwaway clusters of scripts/test,
# pg_regress temporary instances left behind by an interrupted run). Immediate: data is scrap.
pgw_stop_clusters_under() {
	local pidfile
	[ -d "$1" ] || return 0
	while IFS= read -r pidfile; do
		pgw_as_user / "$PGW_PGBIN/pg_ctl" -D "$(dirname "$pidfile")" -m immediate -w stop \
			>/dev/null 2>&1 || true
	done < <(find "$1" -name postmaster.pid -type f 2>/dev/null)
}

# pgw_bridge_stop STATE: stop the pg_wallet_bridge that scripts/start started (SIGTERM to the
# pid in STATE/run/bridge.pid, only when that process is a pg_wallet_bridge), and wait for it.
pgw_bridge_stop() {
	local pidfile=$1/run/bridge.pid pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pg_wallet_bridg ]; then
		pgw_say "stopping pg_wallet_bridge (pid $pid)"
		kill -TERM "$pid"
		for ((i = 0; i < 150; i++)); do
			[ -d "/proc/$pid" ] || break
			sleep 0.1
		done
	fi
	rm -f "$pidfile"
}

# --- the development cluster of scripts/start ------------------------------------------------
#
# State directory: $PGW_REPO/.local when the unprivileged user can reach it (every directory
# above the checkout searchable by it) and the socket path stays short; otherwise
# /var/tmp/pg_wallet-<first 12 hex of sha256(repo path)>, root-owned 0755, with .local made a
# symlink to it. Inside: pgdata/ (0700, the user's), run/ (unix socket), postgres.log.

PGW_SOCKET_PATH_MAX=100 # sun_path is 108 bytes; leave room for "/.s.PGSQL.NNNNN"

pgw_repo_reachable() {
	runuser -u "$PGW_USER" -- test -x "$PGW_REPO" 2>/dev/null
}

pgw_fallback_state_dir() {
	printf '/var/tmp/pg_wallet-%s\n' \
		"$(printf '%s' "$PGW_REPO" | sha256sum | cut -c1-12)"
}

# Print the state directory of the development cluster (a real path). With "create", make it
# (and the .local symlink) when missing; without, print nothing if there is none.
pgw_state_dir() {
	local mode=${1:-lookup} local_dir="$PGW_REPO/.local" dir
	if [ -L "$local_dir" ]; then
		dir=$(readlink -f "$local_dir")
	elif [ -d "$local_dir" ]; then
		dir=$local_dir
		if [ "$mode" = create ] && ! pgw_repo_reachable; then
			pgw_die "$local_dir is a directory but user $PGW_USER cannot reach $PGW_REPO;" \
				"stop the cluster, remove $local_dir and run again (state then goes to" \
				"$(pgw_fallback_state_dir))"
		fi
	elif [ "$mode" != create ]; then
		return 0
	elif pgw_repo_reachable && [ $((${#local_dir} + 16)) -le $PGW_SOCKET_PATH_MAX ]; then
		mkdir -m 0755 "$local_dir"
		dir=$local_dir
	else
		dir=$(pgw_fallback_state_dir)
		ln -s "$dir" "$local_dir"
	fi
	if [ "$mode" = create ]; then
		if [ -e "$dir" ] && { [ -L "$dir" ] || [ "$(stat -c %u "$dir")" != 0 ]; }; then
			pgw_die "$dir exists but is not a root-owned directory; refusing to use it"
		fi
		[ -d "$dir" ] || mkdir -m 0755 "$dir"
	fi
	if [ -d "$dir" ]; then printf '%s\n' "$dir"; fi
}
