# shellcheck shell=bash
# test/e2e/75_socketio.sh — Tribble's socket.io events (issue 16) over real sockets: the
# official socket.io-client (test/package.json, installed by scripts/test) in its default
# configuration (polling, then the upgrade to WebSocket) and with transports: ['websocket']
# (socketio_client.js): a missing and a bad token get CONNECT_ERROR, a good one connects, an
# EVENT is acknowledged, an event caused by a posting arrives with the spec's payload, no user
# ever gets another's, an admin receives a user's fraud:risk_alert (socketio_admin.js), a client whose network drops reconnects by itself and receives what it
# missed; then the bridge is restarted and a client resumes from its offset; then raw sockets
# (socketio_raw.js) check the framing: Engine.IO's error codes, oversized payloads refused,
# bad and binary packets ending the session, two polls at once, missed pongs; last, 1,000 idle
# connections whose bridge must not grow (socketio_idle.js). Runs bridges of its own (after
# 72_limits left one with low limits); the card partner is 45_tribble's, whose callback is
# played by pg_wallet._deposit_complete.
T=/tribble/api/v1
# (pings every 6 s: a poll is held longer than lws's own few seconds for a request)
SIO_ENV=(PGW_BRIDGE_SIO_PING_INTERVAL_MS=6000 PGW_BRIDGE_SIO_PING_TIMEOUT_MS=3000)
bridge_stop >/dev/null 2>&1
# (45_tribble lowered the per-tier REST limits to see a 429; the fundings here need room)
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
	per_day = 1000000" >/dev/null
if ! bridge_start "${SIO_ENV[@]}"; then
	not_ok "75_socketio: the bridge starts"
fi

sio_user() { # EMAIL PHONE: prints "owner_id wallet token" (a Tribble token); saves a card
	sql -c "SELECT p.owner_id || ' ' || (pg_wallet.create_account(p.owner_id, 'KES')).account_number
		FROM pg_wallet.register_user('$1', 'Passw0rd-e2e', 'Sio', 'Test', '$2') p" | tr '\n' ' '
	sql -c "SELECT pg_wallet.payment_method_add_card(p.owner_id, '4532015112830366', 'Sio Test',
		12, extract(year FROM now())::integer + 3, '123') FROM pg_wallet.principals p
		WHERE p.email = '$1'" >/dev/null
	sql -c "SELECT access_token FROM pg_wallet.login('$1', 'Passw0rd-e2e', 'tribble')"
}
read -r SO_A SW_A ST_A <<<"$(sio_user sio-a@example.com +254700000301)"
read -r SO_B SW_B ST_B <<<"$(sio_user sio-b@example.com +254700000302)"
export SIO_PSQL="$PGBIN/psql" PGHOST=$E2E_DIR PGPORT PGDATABASE=pgwallet

sio_node() { # SCRIPT ARGS...: its TAP lines become checks
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done < <(cd "$E2E_ROOT/test/e2e" && timeout 120 node "$@" 2>&1)
}
for mode in default websocket; do
	sio_node socketio_client.js "$mode" "$URL" "$ST_A" "$ST_B" "$SW_A" "$SW_B"
done

# admins receive the fraud alerts: every user's fraud:risk_alert, from the fraud-alerts
# stream; a plain user does not get another's
sql -c "SELECT 1 FROM pg_wallet.create_principal('admin', 'sio-admin@example.com',
	'Passw0rd-e2e')" >/dev/null
ST_ADM=$(sql -c "SELECT access_token FROM pg_wallet.login('sio-admin@example.com',
	'Passw0rd-e2e', 'tribble')")
for mode in default websocket; do
	sio_node socketio_admin.js "$mode" "$URL" "$ST_ADM" "$ST_B" "$SO_A" "$SO_B"
done

# a bridge restart: A connects and records its offset, the bridge goes away, an event commits
# meanwhile, and A, connecting again with that offset (as the client's recovery does), gets it
sio_node socketio_resume.js start "$URL" "$ST_A" "$E2E_DIR/sio-offset" "$SW_A"
bridge_stop >/dev/null 2>&1
REF=$(sql -c "SELECT f ->> 'transactionId' FROM pg_wallet.fund_wallet('$SW_A', 13, 'card-001') f")
sql -c "SELECT pg_wallet._deposit_complete('$REF', 'psp-$REF')" >/dev/null
if ! bridge_start "${SIO_ENV[@]}"; then
	not_ok "75_socketio: the bridge starts again"
fi
sio_node socketio_resume.js resume "$URL" "$ST_A" "$E2E_DIR/sio-offset" "$REF"

sio_node socketio_raw.js "$URL" 8192 "$ST_A"
req GET /metrics
check "/metrics counts socket.io protocol refusals" \
	grep -Eq '^pgw_bridge_refused_total\{reason="sio_protocol"\} [1-9]' "$E2E_DIR/body"
check "after the socket.io fundings every currency sums to zero (verify_ledger() is clean)" test \
	"$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0

# 1,000 idle socket.io connections held by one bridge (a bridge of their own: more
# connections from one address, more sessions per user, slower pings), whose memory must
# not grow while they only answer pings
bridge_stop >/dev/null 2>&1
ulimit -n 4096 2>/dev/null
if bridge_start PGW_BRIDGE_SIO_PING_INTERVAL_MS=3000 PGW_BRIDGE_SIO_PING_TIMEOUT_MS=5000 \
	PGW_BRIDGE_CONNECTIONS_PER_IP=2000 PGW_BRIDGE_CONNECTIONS_MAX=2000 \
	PGW_BRIDGE_WS_SESSIONS_PER_USER=2000 PGW_BRIDGE_PREAUTH_RATE_PER_MIN=5000; then
	sio_node socketio_idle.js "$URL" "$ST_A" 1000 "$BRIDGE_PID"
else
	not_ok "75_socketio: the bridge for 1,000 connections starts"
fi
