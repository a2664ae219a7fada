# shellcheck shell=bash
# test/e2e/52_trusted_proxy.sh — trusted_proxies (docs/bridge.md "Configuration", docs/fraud.md
# "Request context"): a second bridge that trusts 127.0.0.1/32 believes X-Forwarded-For for
# fraud scoring: the client is the rightmost address that is not a trusted proxy (a spoofed
# address further left is ignored); an element that is not an address literal or a header
# over 1024 bytes leaves the proxy's own address; IPv6 is written canonically. The suite's
# main bridge trusts nobody (48_fraud checks that it ignores the header). Sellapay payments
# of a user of this script's own carry the addresses; the ledger stays balanced.
S=/sellapay/api/v1
MAIN_URL=$URL
MAIN_PID=$BRIDGE_PID
bridge_start PGW_BRIDGE_TRUSTED_PROXIES="127.0.0.1/32, 10.9.0.0/16"
check "a bridge with trusted_proxies starts" test -n "$BRIDGE_PID"

# proxy_user EMAIL PHONE: a funded user with a Sellapay token: "owner account token" (a KYC
# tier 0 user makes at most 5 payments a day: two users share the checks)
proxy_user() {
	local p o acc
	read -r p o acc <<<"$(sql -c "WITH p AS MATERIALIZED (SELECT * FROM
		pg_wallet.register_user('$1', 'Passw0rd-e2e', 'Pax', 'Test', '$2'))
		SELECT p.principal_id || ' ' || p.owner_id || ' ' ||
			(pg_wallet.create_account(p.owner_id, 'KES')).account_number FROM p")"
	sql -c "SELECT pg_wallet.credit('$acc', 100, 'SYS-SUSPENSE-KES', 'e2e-$1')" >/dev/null
	echo "$o $acc $(sql -c "SELECT r ->> 'access_token'
		FROM pg_wallet.create_api_credential('$p') c,
		pg_wallet.api_sellapay_authorize(NULL, jsonb_build_object('credentials',
			jsonb_build_object('api_key', c.api_key, 'api_secret', c.api_secret))) r")"
}
read -r PX_O PX_ACC PX_TOKEN <<<"$(proxy_user proxy-p@example.com +254700000521)"
read -r PY_O PY_ACC PY_TOKEN <<<"$(proxy_user proxy-r@example.com +254700000522)"
PX_Q=$(sql -c "SELECT (pg_wallet.create_account(pg_wallet.create_owner('user', 'Proxy Q'),
	'KES')).account_number")

# forwarded XFF: a Sellapay payment of 1 by the current user (PX_*) with that
# X-Forwarded-For; prints the address its new score record holds, or "refused STATUS"
forwarded() {
	local before
	before=$(sql -c "SELECT count(*) FROM pg_wallet.fraud_scores WHERE owner_id = $PX_O")
	STATUS=$(curl -s -o "$E2E_DIR/body" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $PX_TOKEN" -H 'Content-Type: application/json' \
		-H "X-Forwarded-For: $1" --data-binary "{\"account\": \"$PX_Q\", \"amount\": 1}" \
		"$URL$S/sendFundsToSellapay")
	if [ "$STATUS" != 200 ] || [ "$(sql -c "SELECT count(*) FROM pg_wallet.fraud_scores
		WHERE owner_id = $PX_O")" != $((before + 1)) ]; then
		echo "refused $STATUS"
		return
	fi
	sql -c "SELECT coalesce(context ->> 'ip', '-') FROM pg_wallet.fraud_scores
		WHERE owner_id = $PX_O ORDER BY id DESC LIMIT 1"
}
check "the client is the address the trusted proxy forwards" \
	test "$(forwarded '198.51.100.23')" = 198.51.100.23
check "trusted proxies on the right are skipped" \
	test "$(forwarded '198.51.100.24, 10.9.3.4, 127.0.0.1')" = 198.51.100.24
check "an address left of the first untrusted one is not believed (spoofable)" \
	test "$(forwarded '203.0.113.66, 198.51.100.25')" = 198.51.100.25
check "IPv6 is written canonically" \
	test "$(forwarded '2001:DB8:0:0:0:0:0:1')" = 2001:db8::1
PX_O=$PY_O PX_TOKEN=$PY_TOKEN
check "an element that is not an address leaves the proxy's address" \
	test "$(forwarded 'unknown')" = 127.0.0.1
check "... and stops the walk there" \
	test "$(forwarded '198.51.100.26, not-an-ip, 127.0.0.1')" = 127.0.0.1
check "a header over 1024 bytes is not read" \
	test "$(forwarded "$(printf '198.51.100.27,%.0s' $(seq 1 80))198.51.100.28")" = 127.0.0.1
check "the payments moved 4 and 3" test "$(sql -c "SELECT
	(pg_wallet.get_balance('$PX_ACC')).balance || ' ' ||
	(pg_wallet.get_balance('$PY_ACC')).balance")" = "96.00 97.00"

rc=0
bridge_stop || rc=$?
check "the trusted-proxy bridge exits 0 on SIGTERM" test "$rc" = 0
URL=$MAIN_URL
BRIDGE_PID=$MAIN_PID

check "a bad trusted_proxies stops the bridge at start (exit 2)" bash -c \
	'PGW_BRIDGE_TRUSTED_PROXIES="10.0.0.0/33" "$1" >/dev/null 2>&1; test $? = 2' _ \
	"$E2E_ROOT/bridge/pg_wallet_bridge"
check "the proxy test leaves the ledger verified, every currency summing to zero" test "$(sql -c \
	"SELECT count(*) FROM pg_wallet.verify_ledger()") $(sql -c "SELECT count(*) FROM (
	SELECT a.currency FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	GROUP BY a.currency HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END)
	<> 0) x")" = "0 0"
