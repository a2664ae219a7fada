# shellcheck shell=bash
# test/e2e/38_cashier.sh — the cashier WebSocket profile with a Node.js `ws` client
# (cashier_client.js): handshake authentication, "connected", request types, errors, another
# user's account, fragmented messages, ping/pong, the per-user rate limit and the inactivity
# timeout. The suite's bridge runs with ws_rate_per_min=30 and ws_idle_timeout_ms=3000.
# User C (KES and USD wallets) checks FX, history, statements and ledgers; user D has no
# account. Last, a withdrawal end to end: the server restarts with the outbox worker serving
# this database, the partner simulator (test/partner_sim.py) is the payout partner, the OTP
# is read with the test hook, and withdrawal_completed must be pushed on the socket.

cashier_user() { # EMAIL PHONE FUNDS: prints "principal_id account_number token"
	sql -c "WITH p AS MATERIALIZED (SELECT * FROM pg_wallet.register_user('$1',
		'Passw0rd-e2e', 'Ann', 'Test', '$2'))
		SELECT p.principal_id || ' ' || (pg_wallet.create_account(p.owner_id, 'KES'))
			.account_number FROM p"
}
read -r CU_A CACC_A <<<"$(cashier_user cashier-a@example.com +254700000101)"
read -r CU_B CACC_B <<<"$(cashier_user cashier-b@example.com +254700000102)"
sql -c "SELECT pg_wallet.credit('$CACC_A', 100, 'SYS-SUSPENSE-KES', 'e2e-cashier-a')" >/dev/null
read -r CU_C CACC_C <<<"$(cashier_user cashier-c@example.com +254700000103)"
CUSD_C=$(sql -c "SELECT (pg_wallet.create_account(owner_id, 'USD')).account_number
	FROM pg_wallet.principals WHERE id = '$CU_C'")
read -r CU_D <<<"$(sql -c "SELECT principal_id FROM pg_wallet.register_user(
	'cashier-d@example.com', 'Passw0rd-e2e', 'Dan', 'Test', '+254700000104')")"
sql -c "SELECT pg_wallet.credit('$CACC_C', 200, 'SYS-SUSPENSE-KES', 'e2e-cashier-c')" \
	-c "SELECT pg_wallet.set_fx_rate('USD', 'KES', 125)" >/dev/null
CTOKEN_A=$(sql -c "SELECT access_token FROM pg_wallet.login('cashier-a@example.com',
	'Passw0rd-e2e', 'cashier')")
CTOKEN_B=$(sql -c "SELECT access_token FROM pg_wallet.login('cashier-b@example.com',
	'Passw0rd-e2e', 'cashier')")

CTOKEN_C=$(sql -c "SELECT access_token FROM pg_wallet.login('cashier-c@example.com',
	'Passw0rd-e2e', 'cashier')")
CTOKEN_D=$(sql -c "SELECT access_token FROM pg_wallet.login('cashier-d@example.com',
	'Passw0rd-e2e', 'cashier')")
export CASHIER_C_TOKEN=$CTOKEN_C CASHIER_C_ID=$CU_C CASHIER_C_KES=$CACC_C \
	CASHIER_C_USD=$CUSD_C CASHIER_D_TOKEN=$CTOKEN_D CASHIER_D_ID=$CU_D
export CASHIER_PSQL="$PGBIN/psql" PGHOST=$E2E_DIR PGPORT PGDATABASE=pgwallet

WS_URL=${URL/http:/ws:}/cashier/svc/ws
cashier_node() { # ARGS...: run cashier_client.js, its TAP lines become checks
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "# $line" ;;
		esac
	done < <(NODE_PATH=/usr/share/nodejs timeout 90 node "$E2E_ROOT/test/e2e/cashier_client.js" \
		"$@" 2>&1)
}
cashier_node "$WS_URL" "$CTOKEN_A" "$CTOKEN_B" "$CU_B" "$CACC_A" "$CACC_B" 3000
req GET /metrics
check "/metrics counted the WebSocket sockets" grep -q '^pgw_bridge_open_sockets ' \
	"$E2E_DIR/body"

# withdrawal end to end: the outbox worker must serve this database (a postmaster setting)
SIM_SECRET='whsec_cGdfd2FsbGV0IGUyZSBjYXNoaWVyIHNpbXVsYXRvciE='
echo "pg_wallet.database = 'pgwallet'" >>"$E2E_DIR/data/postgresql.conf"
"$PGBIN/pg_ctl" -D "$E2E_DIR/data" -m fast -w stop >/dev/null
pg_start
check "the pool reconnects after the restart with the outbox worker" wait_healthy 30
SIM_DB=pgwallet python3 "$E2E_ROOT/test/partner_sim.py" start "$E2E_DIR/sim" \
	--secret "$SIM_SECRET" --db pgwallet
SIM_PORT=$(python3 "$E2E_ROOT/test/partner_sim.py" port "$E2E_DIR/sim")
sql -c "SELECT pg_wallet.create_partner('Sim Payouts', 'KE', 'sim_payout', 'generic_json',
	'http://127.0.0.1:$SIM_PORT/p/PTN-E2E', ARRAY['KES'], 'https://bridge.example/cb',
	'$SIM_SECRET', partner_id => 'PTN-E2E')" >/dev/null
cashier_node withdraw "$WS_URL"
python3 "$E2E_ROOT/test/partner_sim.py" stop "$E2E_DIR/sim"
