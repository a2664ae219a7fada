# shellcheck shell=bash
# test/e2e/59_partner_callbacks.sh — partners deliver their callbacks to the bridge over HTTP
# (docs/bridge.md, "Profile: partner callbacks"): the partner simulator (test/partner_sim.py
# --deliver http) POSTs each callback, byte for byte with its headers, to the URL the request
# named: {callback_url}/{partner}/callback for a generic_json partner (Standard Webhooks
# signature), {callback_url}/{partner}/mpesa/{token} for Daraja (the token in the URL), with
# callback_url the bridge's /partners. Deposits complete, fail, replay, and a forged or
# wrong-amount callback is refused and changes nothing; then direct attacks on the routes
# (no signature, a stale or over-long one, another partner's secret, a wrong Daraja token, an
# unknown partner, a body that is not JSON). The ledger verifies and every currency sums to
# zero. Needs the outbox worker serving this database (38_cashier configures it).
P=/partners
S59='whsec_cGdfd2FsbGV0IGUyZSBIVFRQIGNhbGxiYWNrcyA1OSE='
# the simulator calls back over HTTP: the bridge is its only way in
SIM_DB=pgwallet python3 "$E2E_ROOT/test/partner_sim.py" start "$E2E_DIR/sim59" \
	--secret "$S59" --db pgwallet --deliver http
SIM59_PORT=$(python3 "$E2E_ROOT/test/partner_sim.py" port "$E2E_DIR/sim59")
sql -c "SELECT pg_wallet.create_partner('Sim HTTP 59', 'KE', 'sim_http59', 'generic_json',
	'http://127.0.0.1:$SIM59_PORT/p/PTN-E2E59', ARRAY['KES'], '$URL$P', '$S59',
	partner_id => 'PTN-E2E59')" \
	-c "SELECT pg_wallet.create_partner('Sim Daraja 59', 'KE', 'sim_daraja59', 'mpesa_daraja',
	'http://127.0.0.1:$SIM59_PORT/p/PTN-E2E59M', ARRAY['KES'], '$URL$P',
	credentials => '{\"shortcode\": \"174379\",
		\"passkey\": \"bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919\",
		\"initiator_name\": \"testapi\", \"security_credential\": \"c2VjcmV0\",
		\"consumer_key\": \"sim-consumer-key\",
		\"consumer_secret\": \"sim-consumer-secret-0123456789\"}',
	webhook_secret => '$S59', partner_id => 'PTN-E2E59M')" >/dev/null
read -r _ _ ACC59 <<<"$(wallet_user http-cb@example.com +254700000591)"
check "the partners and the depositor exist" test -n "$ACC59"
dep() { # AMOUNT PHONE: a deposit through the generic partner; prints its reference
	sql -c "SELECT pg_wallet.deposit_request('$ACC59', $1, partner_id => 'PTN-E2E59',
		phone => '$2') ->> 'request_ref'"
}
stk() { # AMOUNT PHONE: an STK push through the Daraja partner; prints its reference
	sql -c "SELECT pg_wallet.request_stk_push('$ACC59', '$2', $1,
		partner_id => 'PTN-E2E59M') ->> 'transaction_id'"
}
status() { sql -c "SELECT status FROM pg_wallet.deposits WHERE request_ref = '$1'"; }
balance() { sql -c "SELECT (pg_wallet.get_balance('$ACC59')).balance"; }
# the magic numbers: 00 success, 01 failure, 03 success then two replays, 05 forged, 11 wrong
# amount
D_OK=$(dep 100 0712000900)
D_FAIL=$(dep 10 0712000901)
D_DUP=$(dep 13 0712000903)
D_FORGED=$(dep 15 0712000905)
D_AMOUNT=$(dep 16 0712000911)
M_OK=$(stk 50 712000900)
M_FAIL=$(stk 11 712000901)
M_FORGED=$(stk 17 712000905)
check "eight deposits are queued for the partners" test -n "$D_OK" -a -n "$D_FAIL" \
	-a -n "$D_DUP" -a -n "$D_FORGED" -a -n "$D_AMOUNT" -a -n "$M_OK" -a -n "$M_FAIL" \
	-a -n "$M_FORGED"
# 10 deliveries: one each, two more for the replays
check "the simulator delivered every callback over HTTP" \
	python3 "$E2E_ROOT/test/partner_sim.py" wait "$E2E_DIR/sim59" callbacks 10 60
cb_result() { # REF KIND: the results of the callbacks of REF of that kind, space-separated
	jq -rs --arg r "$1" --arg k "$2" '[.[] | select(.ref == $r and .kind == $k) |
		.result + (if .replayed then "+replayed" else "" end)] | join(" ")' \
		"$E2E_DIR/sim59/callbacks.jsonl"
}
M_OK_ID=$(sql -c "SELECT partner_request_id FROM pg_wallet.deposits WHERE request_ref = '$M_OK'")
M_FAIL_ID=$(sql -c "SELECT partner_request_id FROM pg_wallet.deposits
	WHERE request_ref = '$M_FAIL'")
M_FORGED_ID=$(sql -c "SELECT partner_request_id FROM pg_wallet.deposits
	WHERE request_ref = '$M_FORGED'")
check "a signed success callback over HTTP completes the deposit (200)" \
	test "$(cb_result "$D_OK" success)" = ok -a "$(status "$D_OK")" = completed
check "a signed failure callback fails the deposit" \
	test "$(cb_result "$D_FAIL" failure)" = ok -a "$(status "$D_FAIL")" = failed
check "a repeated callback is answered as replayed, by id and by state" \
	test "$(cb_result "$D_DUP" success)" = ok \
	-a "$(cb_result "$D_DUP" duplicate)" = "ok+replayed ok+replayed" \
	-a "$(status "$D_DUP")" = completed
check "a forged signature is refused (CALLBACK_SIGNATURE) and the deposit stays sent_to_partner" \
	test "$(cb_result "$D_FORGED" forged)" = CALLBACK_SIGNATURE \
	-a "$(status "$D_FORGED")" = sent_to_partner
check "a callback with another amount is refused (CALLBACK_MISMATCH)" \
	test "$(cb_result "$D_AMOUNT" wrong_amount)" = CALLBACK_MISMATCH \
	-a "$(status "$D_AMOUNT")" = sent_to_partner
check "Daraja's STK callback to the token URL completes the deposit" \
	test "$(cb_result "$M_OK_ID" success)" = ok -a "$(status "$M_OK")" = completed
check "Daraja's cancelled STK push fails the deposit" \
	test "$(cb_result "$M_FAIL_ID" failure)" = ok -a "$(status "$M_FAIL")" = failed
check "a Daraja callback to a wrong token is refused and changes nothing" \
	test "$(cb_result "$M_FORGED_ID" forged)" = CALLBACK_SIGNATURE \
	-a "$(status "$M_FORGED")" = sent_to_partner
check "the depositor holds exactly the three completed deposits (100 + 13 + 50)" \
	test "$(balance)" = "163.00"

# direct calls, as an attacker or a misconfigured partner would make them
SECRET59=$(printf '%s' "${S59#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n')
signed() { # BODY [ID] [TIMESTAMP] [SECRET_HEX]: POST BODY signed to the generic route
	local body=$1 id=${2:-cb_e2e59_$RANDOM$RANDOM} ts=${3:-$(date +%s)} key=${4:-$SECRET59} sig
	sig=$(printf '%s.%s.%s' "$id" "$ts" "$body" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64)
	STATUS=$(curl -sk -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' -H "webhook-id: $id" -H "webhook-timestamp: $ts" \
		-H "webhook-signature: v1,$sig" --data-binary "$body" "$URL$P/PTN-E2E59/callback")
	[ -z "${E2E_RESPONSE_LOG-}" ] || record_response POST "$P/PTN-E2E59/callback"
}
ERR='(.error.code | type) == "string" and (.error.message | type) == "string"'
OKBODY='{"type": "deposit.completed", "reference": "'"$D_OK"'", "amount": "100.00",
 "currency": "KES", "partner_reference": "SIM-E2E59"}'
TOKEN59=$(sql -c "SELECT split_part(pg_wallet._mpesa_callback_url(p, s.webhook_secret), '/', -1)
	FROM pg_wallet.partners p JOIN pg_wallet.partner_secrets s ON s.partner_id = p.id
	WHERE p.id = 'PTN-E2E59M'")
STK59="{\"Body\": {\"stkCallback\": {\"MerchantRequestID\": \"mr-e2e59\",
 \"CheckoutRequestID\": \"$M_FORGED_ID\", \"ResultCode\": 0, \"ResultDesc\": \"ok\",
 \"CallbackMetadata\": {\"Item\": [{\"Name\": \"Amount\", \"Value\": 17},
 {\"Name\": \"MpesaReceiptNumber\", \"Value\": \"E2E59RCPT\"}]}}}}"
req POST "$P/PTN-E2E59M/mpesa/$TOKEN59" "$STK59"
expect "Daraja's STK callback to the right token URL is acknowledged as Daraja expects" 200 \
	'.ResultCode == 0' '.ResultDesc == "Accepted"' '.replayed == false'
check "and completes the deposit the forged callback could not" \
	test "$(status "$M_FORGED")" = completed -a "$(balance)" = "180.00"
BEFORE=$(balance)
signed "$OKBODY" cb_e2e59_again
expect "a signed repeat of a completed deposit's callback is 200 replayed" 200 \
	'.replayed == true' '.status == "completed"'
signed "$OKBODY" cb_e2e59_again
expect "the same webhook-id again is 200 replayed" 200 '.replayed == true'
signed "$(printf '%s\n' "$OKBODY" | sed 's/  */  /g')" cb_e2e59_again
expect "the same webhook-id with another body is refused (400 CALLBACK_MALFORMED)" 400 \
	'.error.code == "CALLBACK_MALFORMED"' "$ERR"
signed "$OKBODY" cb_e2e59_stale $(($(date +%s) - 600))
expect "a timestamp 10 minutes old is refused (401 CALLBACK_SIGNATURE)" 401 \
	'.error.code == "CALLBACK_SIGNATURE"' "$ERR"
signed "$OKBODY" cb_e2e59_other "" "$(printf 'another secret of 32 bytes......' | od -An -tx1 |
	tr -d ' \n')"
expect "a body signed with another secret is refused (401)" 401 \
	'.error.code == "CALLBACK_SIGNATURE"'
req POST "$P/PTN-E2E59/callback" "$OKBODY"
expect "a callback without signature headers is refused (401)" 401 \
	'.error.code == "CALLBACK_SIGNATURE"' "$ERR"
STATUS=$(curl -sk -o "$E2E_DIR/body" -w '%{http_code}' -X POST -H "webhook-id: cb_e2e59_long" \
	-H "webhook-timestamp: $(date +%s)" -H "webhook-signature: v1,$(head -c 1500 /dev/zero |
	tr '\0' A)" --data-binary "$OKBODY" "$URL$P/PTN-E2E59/callback")
expect "an over-long signature header is left out and the callback refused (401)" 401 \
	'.error.code == "CALLBACK_SIGNATURE"'
req POST "$P/PTN-E2E59/callback" '{"type": "deposit.completed", "reference": '
expect "a body that is not JSON is refused before the database (400)" 400 \
	'.error.code == "INVALID_JSON"'
req POST "$P/PTN-NOPE/callback" "$OKBODY"
expect "an unknown partner is 404" 404 '.error.code == "PARTNER_NOT_FOUND"' "$ERR"
req GET "$P/PTN-E2E59/callback"
expect "GET on a callback route is 404" 404
req POST "$P/PTN-E2E59M/mpesa/$(printf '0%.0s' $(seq 64))" \
	'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_x", "ResultCode": 0}}}'
expect "a Daraja callback with a wrong URL token is refused (401)" 401 \
	'.error.code == "CALLBACK_SIGNATURE"'
req POST "$P/PTN-E2E59/mpesa/abc" '{"Body": {}}'
expect "the Daraja route for a generic partner is refused (400)" 400 \
	'.error.code == "INVALID_REQUEST"'
req POST "$P/PTN-E2E59M/mpesa/$TOKEN59" "$STK59"
expect "the same STK callback again is acknowledged, replayed" 200 '.ResultCode == 0' \
	'.replayed == true'
check "none of the refused or repeated callbacks moved money" test "$(balance)" = "$BEFORE"
check "no secret or token appears in the bridge's log" \
	test "$(grep -c -e "$TOKEN59" -e "${S59#whsec_}" "$E2E_DIR/bridge.log")" = 0

python3 "$E2E_ROOT/test/partner_sim.py" stop "$E2E_DIR/sim59"
check "the ledger verifies after the HTTP callbacks" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "every currency sums to zero after the HTTP callbacks" \
	test "$(sql -c "SELECT count(*) FROM (SELECT a.currency FROM pg_wallet.accounts a
		GROUP BY a.currency
		HAVING sum((pg_wallet.get_balance(a.account_number)).balance) <> 0) x")" = 0
sql -c "UPDATE pg_wallet.partners SET status = 'inactive'
	WHERE id IN ('PTN-E2E59', 'PTN-E2E59M')" >/dev/null
