# shellcheck shell=bash
# test/e2e/70_attack.sh — the bridge under attack, over real sockets (issue 10): slow request
# bodies, connection and in-flight floods from one address, request smuggling primitives,
# header slowloris, WebSocket frame abuse and session hoarding, keepalive, the bind address,
# and the classes that held before (cross-user reads answer like "does not exist", token
# tampering, malformed and huge JSON). After each class /healthz must answer 200 and
# verify_ledger() must be clean. Runs after 60_shutdown (which stopped the suite's bridge)
# with a bridge of its own with small limits, so that every slow-client test is bounded to
# seconds; test/e2e/attack.py does the raw-socket work. Sourced by test/e2e/run.
W=/waas/api/v1

attack() { # ARGS...: run attack.py against the bridge; its TAP lines become checks
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done < <(timeout 120 python3 "$E2E_ROOT/test/e2e/attack.py" "$@" 2>&1)
}

still_fine() { # CLASS: the bridge still answers and the ledger is consistent
	req GET /healthz
	expect "after $1: /healthz answers 200" 200 '.status == "ok"'
	check "after $1: verify_ledger() is clean" \
		test "$(sql -c 'SELECT count(*) FROM pg_wallet.verify_ledger()')" = 0
}

bound_address() { # PORT: the local address of the listening socket (ss), e.g. 127.0.0.1:8080
	ss -Hltn "sport = :$1" | awk '{print $4}'
}

ATTACK_LIMITS=(PGW_BRIDGE_INFLIGHT_MAX=4 PGW_BRIDGE_CONNECTIONS_PER_IP=6
	PGW_BRIDGE_INFLIGHT_PER_IP=2 PGW_BRIDGE_BODY_TIMEOUT_MS=1500 PGW_BRIDGE_BODY_MIN_RATE=200
	PGW_BRIDGE_WS_SESSIONS_PER_USER=2 PGW_BRIDGE_WS_IDLE_TIMEOUT_MS=2000
	PGW_BRIDGE_WS_PING_INTERVAL_MS=700)
bridge_stop >/dev/null 2>&1
if ! bridge_start "${ATTACK_LIMITS[@]}"; then
	not_ok "the attack suite's bridge starts"
	return 0
fi
HOST_PORT=${URL#http://}
A_PORT=${HOST_PORT##*:}

# --- the bind address: exactly where configured, never the dual-stack wildcard
check "listen_address 127.0.0.1 binds 127.0.0.1 only (ss)" \
	test "$(bound_address "$A_PORT")" = "127.0.0.1:$A_PORT"

# --- slow request bodies (8000 bytes at 5 bytes/s) from 127.0.0.2: more of them than
# inflight_max; they hold no slot, the API and /healthz are served, each is cut off
attack 127.0.0.1 "$A_PORT" slow-body 5 127.0.0.2
check "the bridge logged the slow bodies it closed" grep -q 'request body was too slow' \
	"$E2E_DIR/bridge.log"
still_fine "slow bodies"

# --- connection and in-flight caps per address
attack 127.0.0.1 "$A_PORT" conn-cap 6 127.0.0.3
sql -c "SELECT pg_wallet.create_principal('client', password => 'Attack-pass1',
	username => 'attack_tenant')" >/dev/null
attack 127.0.0.1 "$A_PORT" inflight-cap 8 127.0.0.4 \
	'{"username": "attack_tenant", "password": "Attack-pass1"}'
still_fine "connection floods"

# --- smuggling primitives and header slowloris
attack 127.0.0.1 "$A_PORT" smuggle
attack 127.0.0.1 "$A_PORT" header-slowloris
still_fine "smuggling"

# --- what held before: cross-user reads, token tampering, malformed and huge JSON
req GET "$W/accounts/$ACC_A1/balance" '' "$TOKEN_B"
cp "$E2E_DIR/body" "$E2E_DIR/other.body"
OTHER_STATUS=$STATUS
req GET "$W/accounts/99999999/balance" '' "$TOKEN_B"
check "another tenant's account answers exactly like one that does not exist" \
	test "$OTHER_STATUS" = 404 -a "$STATUS" = 404 -a \
	"$(sha256sum <"$E2E_DIR/other.body")" = "$(sha256sum <"$E2E_DIR/body")"
req GET "$W/accounts/$ACC_B1/balance" '' "$TOKEN_B"
expect "the owner reads its own balance with its token" 200
IFS=. read -r JWT_H JWT_P JWT_S <<<"$TOKEN_B"
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
unb64url() { local s=${1//-/+}; s=${s//_//}; while ((${#s} % 4)); do s+='='; done; base64 -d <<<"$s"; }
LAST=${JWT_S: -1}
if [ "$LAST" = A ]; then FLIP=B; else FLIP=A; fi
ADMIN_P=$(unb64url "$JWT_P" | jq -c '.role = "admin" | .sub = "0"' | b64url)
NONE_H=$(printf '{"alg":"none","typ":"JWT"}' | b64url)
declare -A TAMPERED=(
	["a changed signature"]="$JWT_H.$JWT_P.${JWT_S%?}$FLIP"
	["a payload made admin under the old signature"]="$JWT_H.$ADMIN_P.$JWT_S"
	["alg none"]="$NONE_H.$JWT_P."
	["no signature"]="$JWT_H.$JWT_P"
	["a cashier token on WaaS"]="$CTOKEN_A"
	["the token twice"]="$TOKEN_B $TOKEN_B"
)
for what in "${!TAMPERED[@]}"; do
	req GET "$W/accounts/$ACC_B1/balance" '' "${TAMPERED[$what]}"
	expect "a token with $what is 401" 401 '.error.code | test("^TOKEN_(MALFORMED|SIGNATURE|EXPIRED|REVOKED)$")'
done
req POST $W/auth/login '{"username": "attack_tenant", "password": "Attack-pass1"'
expect "truncated JSON is 400" 400 '.error.code == "INVALID_JSON"'
req POST $W/auth/login "$(printf '{"username": "\xff\xfe"}')"
expect "invalid UTF-8 in JSON is refused" 400
req POST $W/auth/login "$(printf '%0.s[' $(seq 200))"
expect "JSON nested 200 deep is 400" 400 '.error.code == "INVALID_JSON"'
req POST $W/auth/login "{\"password\": \"$(head -c 9000 /dev/zero | tr '\0' x)\"}"
expect "a body over body_bytes_max is 413" 413 '.error.code == "PAYLOAD_TOO_LARGE"'
still_fine "tampering and malformed input"

# --- the bridge role may not create temporary objects
check "the bridge role cannot create a TEMP table" bash -c "! '$PGBIN/psql' -X -q -h '$E2E_DIR' \
	-p '$PGPORT' -U pgwallet_bridge -d pgwallet -c 'CREATE TEMP TABLE t (x int)' 2>/dev/null"

# --- WebSocket: handshake refusals, session hoarding, frames, keepalive
CTOKEN_A2=$(sql -c "SELECT access_token FROM pg_wallet.login('cashier-a@example.com',
	'Passw0rd-e2e', 'cashier')")
attack 127.0.0.1 "$A_PORT" ws /cashier/svc/ws "$CTOKEN_A" "$CTOKEN_A2" 2 2000
still_fine "WebSocket abuse"

# --- the open_sockets gauge comes back to this request alone once the attacks are over
for _ in $(seq 100); do
	req GET /metrics
	grep -q '^pgw_bridge_open_sockets 1$' "$E2E_DIR/body" && break
	sleep 0.1
done
check "open_sockets is 1 (this request) once the attacks are over" \
	grep -q '^pgw_bridge_open_sockets 1$' "$E2E_DIR/body"
check "/metrics counts the refusals by reason" \
	grep -q '^pgw_bridge_refused_total{reason="connections_per_ip"} [1-9]' "$E2E_DIR/body"
rc=0
bridge_stop || rc=$?
check "the attack suite's bridge exits 0" test "$rc" = 0

# --- an IPv6 listen_address: bound exactly there
if BRIDGE_HOST='[::1]' bridge_start PGW_BRIDGE_LISTEN_ADDRESS=::1; then
	V6_PORT=${URL##*:}
	check "listen_address ::1 binds [::1] only (ss)" \
		test "$(bound_address "$V6_PORT")" = "[::1]:$V6_PORT"
	req GET /healthz
	expect "the bridge answers on [::1]" 200
	check "nothing answers on 127.0.0.1 at that port" \
		bash -c "! curl -s -o /dev/null --max-time 2 http://127.0.0.1:$V6_PORT/healthz"
	rc=0
	bridge_stop || rc=$?
	check "the IPv6 bridge exits 0" test "$rc" = 0
else
	not_ok "the bridge starts with listen_address ::1"
fi
