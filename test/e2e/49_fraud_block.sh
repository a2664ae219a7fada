# shellcheck shell=bash
# test/e2e/49_fraud_block.sh — FRAUD_BLOCK (WL047) over the bridge, end to end (issue 12,
# docs/fraud.md "Over the bridge: FRAUD_BLOCK"). User X's debits are blocked, first by a DENY
# rule naming X, then by the score itself (127.0.0.1 in an IP reputation range of score 100,
# block_from lowered to the score that gives; both restored after). Every bridge path that
# debits a user's account is driven over a real socket: the cashier WebSocket's transfer,
# convert_and_transfer and withdraw_request (cashier_client.js block), and Sellapay's
# sendFundsToSellapay, sendFundsToMobile and sendFundsToLocalBank of a user's token (403, the
# Sellapay error body, its reason exactly). Nothing may post: X's balance, entries, holds,
# withdrawals, events, statistics and score records stay as they were, and no body carries
# the device id, a token or the SQLSTATE. The paths that can never answer FRAUD_BLOCK are
# shown to post under the same deny rule and range: Tribble POST /wallets/fund (a deposit),
# a WaaS DEBIT (a client's account) and a Sellapay merchant's transfer and payout (not a
# user's). Last, with the settings restored, X pays again. Sourced by test/e2e/run after
# 35_sellapay (its partners), 38_cashier (the FX rate, cashier_node) and 48_fraud.
T=/tribble/api/v1
S=/sellapay/api/v1
W=/waas/api/v1
BLOCK_DEVICE=dev-e2e-block-7f3a

block_user() { # EMAIL PHONE: prints "principal_id owner_id KES-account"
	sql -c "WITH p AS MATERIALIZED (SELECT * FROM pg_wallet.register_user('$1',
		'Passw0rd-e2e', 'Bea', 'Block', '$2'))
		SELECT p.principal_id || ' ' || p.owner_id || ' ' ||
			(pg_wallet.create_account(p.owner_id, 'KES')).account_number FROM p"
}
read -r XU X_OWNER X_KES <<<"$(block_user block-x@example.com +254700000491)"
read -r YU _ Y_KES <<<"$(block_user block-y@example.com +254700000492)"
sql -c "SELECT pg_wallet.create_account($X_OWNER, 'USD')" >/dev/null
sql -c "SELECT pg_wallet.credit('$X_KES', 300, 'SYS-SUSPENSE-KES', 'e2e-block-x')" >/dev/null
X_CASHIER=$(sql -c "SELECT access_token FROM pg_wallet.login('block-x@example.com',
	'Passw0rd-e2e', 'cashier')")
X_TRIBBLE=$(sql -c "SELECT access_token FROM pg_wallet.login('block-x@example.com',
	'Passw0rd-e2e', 'tribble')")
block_sp_token() { # PRINCIPAL: "token account" of new API credentials, authorized
	sql -c "SELECT r ->> 'access_token', r ->> 'account'
		FROM pg_wallet.create_api_credential('$1') c,
		pg_wallet.api_sellapay_authorize(NULL, jsonb_build_object('credentials',
			jsonb_build_object('api_key', c.api_key, 'api_secret', c.api_secret))) r" |
		tr '|' ' '
}
read -r X_SP X_SP_ACC <<<"$(block_sp_token "$XU")"
check "user X has cashier, Tribble and Sellapay tokens; its Sellapay account is its KES wallet" \
	test -n "$X_CASHIER" -a -n "$X_TRIBBLE" -a -n "$X_SP" -a "$X_SP_ACC" = "$X_KES" -a -n "$Y_KES"

# what a blocked request must leave as it was: X's money and every trace of a posting
x_state() {
	sql -c "SELECT concat_ws(' ', b.balance, b.available_balance, b.pending_debit,
		(SELECT count(*) FROM pg_wallet.entries e JOIN pg_wallet.accounts a
			ON a.id = e.account_id WHERE a.owner_id = $X_OWNER),
		(SELECT count(*) FROM pg_wallet.holds h JOIN pg_wallet.accounts a
			ON a.id = h.account_id WHERE a.owner_id = $X_OWNER),
		(SELECT count(*) FROM pg_wallet.withdrawals w WHERE w.owner_id = $X_OWNER),
		(SELECT count(*) FROM pg_wallet.events v WHERE v.owner_id = $X_OWNER),
		(SELECT count(*) FROM pg_wallet.fraud_owner_stats s WHERE s.owner_id = $X_OWNER),
		(SELECT count(*) FROM pg_wallet.fraud_scores f WHERE f.owner_id = $X_OWNER),
		(SELECT count(*) FROM pg_wallet.fraud_known_devices d WHERE d.owner_id = $X_OWNER))
		FROM pg_wallet.get_balance('$X_KES') b"
}
X_BEFORE=$(x_state)
check "X starts with 300 KES and no trace of a scored posting" \
	test "$X_BEFORE" = "300.00 300.00 0.00 1 0 0 0 0 0 0"

# sp_x PATH BODY: a Sellapay call with X's token, a device id and a User-Agent
sp_x() {
	STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $X_SP" -H 'Content-Type: application/json' \
		-H 'User-Agent: e2e-block/1.0' -H "X-Device-Id: $BLOCK_DEVICE" --data-binary "$2" \
		"$URL$S/$1")
}
# no_secret NAME: the last body holds neither the device id (nor its hash), a token, the
# SQLSTATE nor the user's ids
no_secret() {
	check "$1: the body holds no device id, token, SQLSTATE or user id" bash -c "! grep -qiE \
		'$BLOCK_DEVICE|$(printf '%s' "$BLOCK_DEVICE" | sha256sum | cut -c1-16)|eyJ|WL047|$XU|$X_KES' \
		'$E2E_DIR/body'"
}
# sellapay_blocked CASE REASON: the three Sellapay debits of X are 403 with the exact body
sellapay_blocked() {
	local want
	want=$(jq -nc --arg r "$2" '{error: "Forbidden",
		message: "transaction blocked by fraud detection", details: {reason: $r}}')
	sp_x sendFundsToSellapay "{\"account\": \"$Y_KES\", \"amount\": 10, \"reference\": \"blk-1\"}"
	expect "$1: Sellapay sendFundsToSellapay is 403 Forbidden, the reason exactly" 403 \
		". == $want"
	no_secret "$1: sendFundsToSellapay"
	check "$1: the 403 carries X-Process-Time and X-RateLimit-Limit" bash -c \
		"grep -Eqi '^x-process-time: [0-9]+ms' '$E2E_DIR/headers' &&
		 grep -qi '^x-ratelimit-limit: 100' '$E2E_DIR/headers'"
	sp_x sendFundsToMobile '{"phone": "712000491", "amount": 10, "reference": "blk-2"}'
	expect "$1: Sellapay sendFundsToMobile is 403 Forbidden, the reason exactly" 403 \
		". == $want"
	no_secret "$1: sendFundsToMobile"
	sp_x sendFundsToLocalBank '{"bank_code": "001", "account_number": "1234567890",
		"amount": 10, "account_name": "Bea Block", "reference": "blk-3"}'
	expect "$1: Sellapay sendFundsToLocalBank is 403 Forbidden, the reason exactly" 403 \
		". == $want"
	no_secret "$1: sendFundsToLocalBank"
}
cashier_blocked() { # CASE: the cashier WebSocket's debits of X are the FRAUD_BLOCK frame
	BLOCK_TOKEN=$X_CASHIER BLOCK_USER_ID=$XU BLOCK_TO_USER=$YU BLOCK_KES=$X_KES \
		BLOCK_DEVICE=$BLOCK_DEVICE cashier_node block "$WS_URL" "$1"
}

# 1. a DENY rule naming X (its owner id); X's score is 10: a new device on a first posting
RULE_X=$(sql -c "SELECT pg_wallet.fraud_add_rule('DENY', 'USER', '$X_OWNER', 'e2e: blocked')")
cashier_blocked "deny rule"
sellapay_blocked "deny rule" "a fraud rule applies"
check "deny rule: nothing of X's moved and no score was kept" test "$(x_state)" = "$X_BEFORE"
sql -c "SELECT pg_wallet.fraud_disable_rule($RULE_X)" >/dev/null

# 2. the score: 127.0.0.1 in a range of score 100 gives IP Reputation 100 x 0.20 = 20, the
# new device 50 x 0.20 = 10: 30, MEDIUM, with phase 1's weights (the later factors weighed 0);
# block_from lowered to 30 for the test
BLOCK_FROM=$(sql -c "SELECT block_from FROM pg_wallet.fraud_settings")
sql -c "UPDATE pg_wallet.fraud_settings SET block_from = 30, weight_amount = 25,
	weight_device = 20, weight_velocity = 20, weight_geo = 15, weight_ip = 20,
	weight_beneficiary = 0, weight_credential = 0, weight_round = 0" >/dev/null
IP_RANGE=$(sql -c "INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
	VALUES ('127.0.0.1/32', 100, 'e2e: loopback as a bad range') RETURNING id")
cashier_blocked "score"
sellapay_blocked "score" "the transaction's risk is too high"
check "score: nothing of X's moved and no score was kept" test "$(x_state)" = "$X_BEFORE"

# the paths that never answer FRAUD_BLOCK go through under the same range (and X's funding
# under a deny rule naming X): X's Tribble funding (a deposit), a WaaS client's DEBIT, a Sellapay
# merchant's transfer and payout
req POST $W/auth/login '{"username": "tenant_a", "password": "Tenant-pass1"}'
W_TOKEN=$(field .access_token)
WAAS_OWNER=$(sql -c "SELECT owner_id FROM pg_wallet.accounts WHERE account_number = '$ACC_A1'")
read -r M_PRINCIPAL M_OWNER <<<"$(sql -c "SELECT id || ' ' || owner_id FROM pg_wallet.principals
	WHERE email = 'shop-a@example.com'")"
read -r M_SP M_SP_ACC <<<"$(block_sp_token "$M_PRINCIPAL")"
RULES_NEVER=$(sql -c "SELECT pg_wallet.fraud_add_rule('DENY', 'USER', '$X_OWNER',
	'e2e: never scored')")
# a USER rule can name only a user: a client's or a merchant's debits are never scored
for o in "$WAAS_OWNER" "$M_OWNER"; do
	NONUSER=$(sql -c "SELECT pg_wallet.fraud_add_rule('DENY', 'USER', '$o', 'e2e: x')" 2>&1)
	check "a USER rule naming a client or merchant owner is refused (it could never apply)" \
		bash -c '[[ $1 == *"is not a user"* ]]' _ "$NONUSER"
done
X_CARD=$(sql -c "SELECT pg_wallet.payment_method_add_card($X_OWNER, '4532015112830366',
	'Block X', 12, extract(year FROM now())::integer + 3, '123') ->> 'paymentMethodId'")
req POST $T/wallets/fund "{\"walletId\": \"$X_KES\", \"amount\": 20,
	\"paymentMethodId\": \"$X_CARD\"}" "$X_TRIBBLE"
expect "Tribble wallets/fund of a denied user is 201 (a deposit: not scored)" 201 \
	'.status == "PROCESSING"' '.walletId == "'"$X_KES"'"' '.amount == 20' \
	'.newBalance == 300'

sql -c "SELECT pg_wallet.credit('$M_SP_ACC', 50, 'SYS-SUSPENSE-KES', 'e2e-block-m')" >/dev/null
req POST "$W/transactions?command=DEBIT" "$(txn "$ACC_A1" "$SVC_A" 10 blk-waas)" "$W_TOKEN"
expect "a WaaS DEBIT of a client's account under a deny rule is 201 (clients are not scored)" \
	201 '.account == "'"$ACC_A1"'"'
req POST $S/sendFundsToSellapay "{\"account\": \"$Y_KES\", \"amount\": 10}" "$M_SP"
expect "a Sellapay merchant's transfer under a deny rule is 200 (merchants are not scored)" \
	200 '.message == "Funds sent successfully"'
req POST $S/sendFundsToMobile '{"phone": "712000492", "amount": 10}' "$M_SP"
expect "a Sellapay merchant's payout under a deny rule is 200 (merchants are not scored)" \
	200 '.status == "pending"'
check "no score was recorded for the client or the merchant" test "$(sql -c "SELECT count(*)
	FROM pg_wallet.fraud_scores WHERE owner_id IN ($WAAS_OWNER, $M_OWNER)")" = 0

# restored: the range, block_from and the rules; X pays again
sql -c "DELETE FROM pg_wallet.fraud_ip_reputation WHERE id = $IP_RANGE" \
	-c "UPDATE pg_wallet.fraud_settings SET block_from = $BLOCK_FROM, weight_amount = DEFAULT,
		weight_device = DEFAULT, weight_velocity = DEFAULT, weight_geo = DEFAULT,
		weight_ip = DEFAULT, weight_beneficiary = DEFAULT, weight_credential = DEFAULT,
		weight_round = DEFAULT" \
	-c "SELECT pg_wallet.fraud_disable_rule(r::bigint)
		FROM unnest(string_to_array('$RULES_NEVER', ',')) r" >/dev/null
check "the fraud settings are restored (no active rule of this test, no range)" test "$(sql -c "
	SELECT concat_ws(' ', (SELECT count(*) FROM pg_wallet.fraud_rules WHERE is_active
		AND reason IN ('e2e: blocked', 'e2e: never scored')),
		(SELECT count(*) FROM pg_wallet.fraud_ip_reputation),
		(SELECT block_from FROM pg_wallet.fraud_settings))")" = "0 0 $BLOCK_FROM"
sp_x sendFundsToSellapay "{\"account\": \"$Y_KES\", \"amount\": 10, \"reference\": \"blk-ok\"}"
expect "restored: X's sendFundsToSellapay posts (200)" 200 '.status == "completed"'
check "restored: X paid 10 to Y, and its one score record is an ALLOW" test "$(sql -c "
	SELECT (pg_wallet.get_balance('$X_KES')).balance || ' ' ||
		(pg_wallet.get_balance('$Y_KES')).balance || ' ' ||
		string_agg(f.decision, ',') FROM pg_wallet.fraud_scores f
	WHERE f.owner_id = $X_OWNER")" = "290.00 20.00 ALLOW"

check "after FRAUD_BLOCK verify_ledger() is clean" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "after FRAUD_BLOCK every currency's entries sum to zero" test "$(sql -c "
	SELECT count(*) FROM (SELECT a.currency FROM pg_wallet.entries e
		JOIN pg_wallet.accounts a ON a.id = e.account_id GROUP BY a.currency
		HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0) x")" = 0
