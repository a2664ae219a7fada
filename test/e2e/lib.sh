# shellcheck shell=bash
# test/e2e/lib.sh — harness of the bridge's end-to-end tests (sourced by test/e2e/run).
#
# Owns: a throwaway cluster (initdb in $E2E_DIR, unix socket only), the bridge's role, the
# bridge process (optionally under valgrind), curl helpers and the pass/fail counters.
# Must run as the unprivileged user; installs nothing.

E2E_PASSED=0
E2E_FAILED=0
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1)

ok() {
	E2E_PASSED=$((E2E_PASSED + 1))
	printf 'ok %d - %s\n' $((E2E_PASSED + E2E_FAILED)) "$1"
}
not_ok() {
	E2E_FAILED=$((E2E_FAILED + 1))
	printf 'not ok %d - %s\n' $((E2E_PASSED + E2E_FAILED)) "$1"
	if [ -n "${2:-}" ]; then printf '#   %s\n' "$2"; fi
	if [ -s "$E2E_DIR/body" ]; then printf '#   body: %s\n' "$(head -c 600 "$E2E_DIR/body")"; fi
	return 0
}

# check NAME COMMAND...: ok when COMMAND succeeds
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

free_port() {
	local port=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
	echo "$port"
}

sql() { "${PSQL[@]}" -h "$E2E_DIR" -p "$PGPORT" -d pgwallet -tA "$@"; }

cluster_start() {
	PGPORT=$(free_port $((56400 + ${E2E_PORT_OFFSET:-0})))
	rm -rf "$E2E_DIR/data"
	"$PGBIN/initdb" -D "$E2E_DIR/data" --auth=trust --no-sync --encoding=UTF8 \
		--locale=C.UTF-8 >"$E2E_DIR/initdb.log" 2>&1 || return 1
	{
		cat "$E2E_ROOT/test/pg_wallet_test.conf"
		echo "shared_preload_libraries = 'pg_wallet'"
		printf "listen_addresses = ''\nport = %s\nunix_socket_directories = '%s'\n" \
			"$PGPORT" "$E2E_DIR"
	} >>"$E2E_DIR/data/postgresql.conf"
	pg_start || return 1
	"$PGBIN/createdb" -h "$E2E_DIR" -p "$PGPORT" pgwallet || return 1
	sql -c 'CREATE EXTENSION pg_wallet CASCADE' || return 1
	# development against an older install: E2E_EXTRA_SQL="file ..." is loaded first
	for f in ${E2E_EXTRA_SQL:-}; do sql -f "$f" >/dev/null || return 1; done
	sql -v bridge_role=pgwallet_bridge -f "$E2E_ROOT/bridge/bridge_role.sql" >/dev/null
	if [ "${E2E_ROUTER:-0}" = 1 ]; then
		router_start || return 1
	fi
}

# E2E_ROUTER=1 (scripts/test's router stage): the bridge talks to a scale-out router
# (database pgwallet_router of the same cluster, docs/scale-out.md) whose one data node is
# database pgwallet; the tests' own SQL (sql) still goes to the node, and the bridge LISTENs
# there (events are notified where they are written).
router_start() {
	local node="host=$E2E_DIR port=$PGPORT dbname=pgwallet"
	"$PGBIN/createdb" -h "$E2E_DIR" -p "$PGPORT" pgwallet_router || return 1
	"${PSQL[@]}" -h "$E2E_DIR" -p "$PGPORT" -d pgwallet_router -q -v ON_ERROR_STOP=1 \
		-v self="host=$E2E_DIR port=$PGPORT dbname=pgwallet_router" -v node="$node" <<'SQL' || return 1
SET client_min_messages = warning;
CREATE EXTENSION pg_wallet_router CASCADE;
SELECT pg_wallet_router.configure(:'self');
SELECT pg_wallet_router.add_node(0, :'node');
SQL
	"${PSQL[@]}" -h "$E2E_DIR" -p "$PGPORT" -d pgwallet_router -q -v bridge_role=pgwallet_bridge \
		-f "$E2E_ROOT/bridge/bridge_role.sql" >/dev/null || return 1
	"${PSQL[@]}" -h "$E2E_DIR" -p "$PGPORT" -d pgwallet_router -qtA \
		-c "SELECT pg_wallet_router.grant_api('pgwallet_bridge')" >/dev/null
}

pg_start() {
	"$PGBIN/pg_ctl" -D "$E2E_DIR/data" -l "$E2E_DIR/postgres.log" -w -t 60 start >/dev/null
}

cluster_stop() {
	if [ -f "$E2E_DIR/data/postmaster.pid" ]; then
		"$PGBIN/pg_ctl" -D "$E2E_DIR/data" -m immediate -w stop >/dev/null 2>&1
	fi
	return 0
}

# bridge_start [VAR=VALUE ...]: start the bridge with extra environment; sets BRIDGE_PID, URL
# (BRIDGE_HOST: the host part of URL, default 127.0.0.1; "[::1]" for an IPv6 listen_address)
bridge_start() {
	BRIDGE_PORT=$(free_port $((18400 + ${E2E_PORT_OFFSET:-0})))
	URL=${URL_SCHEME:-http}://${BRIDGE_HOST:-127.0.0.1}:$BRIDGE_PORT
	local runner=() bin=$E2E_ROOT/bridge/pg_wallet_bridge
	if [ "${E2E_ASAN:-0}" = 1 ]; then # AddressSanitizer + UBSan build: reports to asan.<pid>
		bin=$E2E_ROOT/bridge/pg_wallet_bridge-asan
		runner=(env ASAN_OPTIONS="log_path=$E2E_DIR/asan:detect_leaks=1:abort_on_error=0"
			UBSAN_OPTIONS="log_path=$E2E_DIR/asan:print_stacktrace=1")
	fi
	if [ "${E2E_VALGRIND:-0}" = 1 ]; then
		runner=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible
			--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
			--log-file="$E2E_DIR/valgrind.%p.log")
	fi
	local db=pgwallet
	[ "${E2E_ROUTER:-0}" = 1 ] && db=pgwallet_router
	env PGW_BRIDGE_PORT="$BRIDGE_PORT" PGW_BRIDGE_POOL_SIZE=3 \
		PGW_BRIDGE_CONNINFO="host=$E2E_DIR port=$PGPORT dbname=$db user=pgwallet_bridge" \
		PGW_BRIDGE_LISTEN_CONNINFO="host=$E2E_DIR port=$PGPORT dbname=pgwallet user=pgwallet_bridge" \
		PGW_BRIDGE_BODY_BYTES_MAX=8192 PGW_BRIDGE_JSON_DEPTH_MAX=8 \
		PGW_BRIDGE_JSON_FIELDS_MAX=64 PGW_BRIDGE_RECONNECT_MAX_MS=500 \
		PGW_BRIDGE_WS_RATE_PER_MIN=30 PGW_BRIDGE_WS_IDLE_TIMEOUT_MS=3000 \
		PGW_BRIDGE_LOGIN_RATE_PER_MIN=600 PGW_BRIDGE_DOCS_DIR="$E2E_ROOT/docs/api" \
		PGW_BRIDGE_CASHIER_PAGE_DIR="$E2E_ROOT/bridge/cashier_page" "$@" \
		"${runner[@]}" "$bin" >>"$E2E_DIR/bridge.log" 2>&1 &
	BRIDGE_PID=$!
	wait_healthy 60
}

# wait_healthy SECONDS: until /healthz says ok
wait_healthy() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		curl -sfk -o /dev/null "${URL}/healthz" && return 0
		sleep 0.1
	done
	return 1
}

# bridge_stop: SIGTERM and wait; returns the bridge's exit status
bridge_stop() {
	[ -n "${BRIDGE_PID:-}" ] || return 0
	kill -TERM "$BRIDGE_PID" 2>/dev/null
	local rc=0
	wait "$BRIDGE_PID" || rc=$?
	BRIDGE_PID=
	return "$rc"
}

# req METHOD PATH [BODY] [TOKEN]: sets STATUS; the reply body is in $E2E_DIR/body and its
# headers in $E2E_DIR/headers. PATH is appended to $URL.
req() {
	local m=$1 p=$2 body=${3-} token=${4-} args=()
	if [ -n "$token" ]; then args+=(-H "Authorization: Bearer $token"); fi
	if [ -n "$body" ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$body")
	fi
	STATUS=$(curl -sk -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' -X "$m" \
		"${args[@]}" "$URL$p")
	[ -z "${E2E_RESPONSE_LOG-}" ] || record_response "$m" "$p"
}

# record_response METHOD PATH: one line of JSON per reply in $E2E_RESPONSE_LOG (method, path
# without the query, status, content type, body: JSON when it parses, else its text), for
# test/contract/responses.js to check against the OpenAPI documents (docs/api/openapi).
record_response() {
	local type
	type=$(header Content-Type)
	jq -cn --arg m "$1" --arg p "${2%%\?*}" --argjson s "${STATUS:-0}" --arg t "$type" \
		--rawfile raw "$E2E_DIR/body" --arg f "${E2E_FILE-}" \
		'{method: $m, path: $p, status: $s, type: $t, file: $f,
		  body: (try ($raw | fromjson) catch $raw)}' >>"$E2E_RESPONSE_LOG" 2>/dev/null || true
}

# expect NAME STATUS [JQ-EXPRESSION...]: the last reply had STATUS and each expression holds
expect() {
	local name=$1 want=$2 e
	shift 2
	if [ "$STATUS" != "$want" ]; then
		not_ok "$name" "status $STATUS, expected $want"
		return 0
	fi
	for e in "$@"; do
		if ! jq -e "$e" "$E2E_DIR/body" >/dev/null 2>&1; then
			not_ok "$name" "jq: $e"
			return 0
		fi
	done
	ok "$name"
}

field() { jq -r "$1" "$E2E_DIR/body"; }
header() { grep -i "^$1:" "$E2E_DIR/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# wallet_user EMAIL PHONE: a registered user (password Passw0rd-e2e) with a KES wallet; prints
# "principal_id owner_id account_number"
wallet_user() {
	sql -c "WITH p AS MATERIALIZED (SELECT * FROM pg_wallet.register_user('$1',
		'Passw0rd-e2e', 'Eve', 'Test', '$2'))
		SELECT p.principal_id || ' ' || p.owner_id || ' ' ||
			(pg_wallet.create_account(p.owner_id, 'KES')).account_number FROM p"
}

# events_moved: wait (10 s at most) until the outbox worker has moved every queued event into
# its stream (payments queue theirs: docs/sql-api.md, "Queued events")
events_moved() {
	for _ in $(seq 1 100); do
		[ "$(sql -c "SELECT count(*) FROM pg_wallet.event_queue")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
