# shellcheck shell=bash
# test/e2e/38_cashier.sh — the cashier WebSocket profile with a Node.js `ws` client
# (cashier_client.js): handshake authentication, "connected", request types, errors, another
# user's account, fragmented messages, ping/pong, the per-user rate limit and the inactivity
# timeout. The suite's bridge runs with ws_rate_per_min=30 and ws_idle_timeout_ms=3000.

cashier_user() { # EMAIL PHONE FUNDS: prints "principal_id account_number token"
	sql -c "WITH p AS MATERIALIZED (SELECT * FROM pg_wallet.register_user('$1',
		'Passw0rd-e2e', 'Ann', 'Test', '$2'))
		SELECT p.principal_id || ' ' || (pg_wallet.create_account(p.owner_id, 'KES'))
			.account_number FROM p"
}
read -r CU_A CACC_A <<<"$(cashier_user cashier-a@example.com +254700000101)"
read -r CU_B CACC_B <<<"$(cashier_user cashier-b@example.com +254700000102)"
sql -c "SELECT pg_wallet.credit('$CACC_A', 100, 'SYS-SUSPENSE-KES', 'e2e-cashier-a')" >/dev/null
CTOKEN_A=$(sql -c "SELECT access_token FROM pg_wallet.login('cashier-a@example.com',
	'Passw0rd-e2e', 'cashier')")
CTOKEN_B=$(sql -c "SELECT access_token FROM pg_wallet.login('cashier-b@example.com',
	'Passw0rd-e2e', 'cashier')")

WS_URL=${URL/http:/ws:}/cashier/svc/ws
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "# $line" ;;
	esac
done < <(NODE_PATH=/usr/share/nodejs timeout 60 node "$E2E_ROOT/test/e2e/cashier_client.js" \
	"$WS_URL" "$CTOKEN_A" "$CTOKEN_B" "$CU_B" "$CACC_A" "$CACC_B" 3000 2>&1)
req GET /metrics
check "/metrics counted the WebSocket sockets" grep -q '^pgw_bridge_open_sockets ' \
	"$E2E_DIR/body"
