# shellcheck shell=bash
# test/e2e/57_tribble_bills.sh — Tribble bill payments over the bridge (issue 14,
# tribble-rest-api.md "Bill Payments"), checked against the spec's text: GET
# /bills/airtime/providers lists the providers with amountRange and denominations; POST
# /bills/airtime/topup is 201 with the spec's fields, the amount held on the wallet; the
# outbox worker sends the top-up to the partner simulator (an airtime partner, test/
# partner_sim.py --deliver http), whose signed callback reaches the bridge's partners profile
# and delivers it (SUCCESS: the wallet debited) or fails it (FAILED: nothing taken); GET
# /bills/topups pages the caller's own history with a status filter; bad fields are 400
# naming them, an unknown provider 404, a phone of another country 422, a card 422, no token
# 401, more than the wallet holds 402. The ledger verifies and every currency sums to zero.
# Needs the outbox worker serving this database (38_cashier configures it).
T=/tribble/api/v1
sql -c "CREATE TABLE public.e2e57b_rate_limits AS SELECT * FROM pg_wallet.tribble_rate_limits" \
	-c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
		per_day = 1000000" >/dev/null
BERRFMT='(.statusCode | type) == "number" and (.errorCode | type) == "string" and
	(.message | type) == "string" and (.timestamp | test("Z$")) and (.requestId | length > 0)'
SB='whsec_cGdfd2FsbGV0IGUyZSBhaXJ0aW1lIHNpbXVsYXRvciE='
SIM_DB=pgwallet python3 "$E2E_ROOT/test/partner_sim.py" start "$E2E_DIR/sim57b" \
	--secret "$SB" --db pgwallet --deliver http
SB_PORT=$(python3 "$E2E_ROOT/test/partner_sim.py" port "$E2E_DIR/sim57b")
sql -c "SELECT pg_wallet.create_partner('Sim Airtime 57', 'KE', 'airtime', 'generic_json',
	'http://127.0.0.1:$SB_PORT/p/PTN-E2E57B', ARRAY['KES'], '$URL/partners', '$SB',
	partner_id => 'PTN-E2E57B')" \
	-c "SELECT pg_wallet.airtime_provider_set('safaricom-57', 'Safaricom', 'KE', '254', 9, 'KES',
	10, 10000, 'PTN-E2E57B', logo_url => 'https://cdn.example.com/p/safaricom.png')" \
	-c "SELECT pg_wallet.airtime_provider_set('airtel-57', 'Airtel Kenya', 'KE', '254', 9, 'KES',
	20, 1000, 'PTN-E2E57B', ARRAY[20, 50, 100, 250, 500, 1000])" >/dev/null
read -r _ _ BA_ACC <<<"$(wallet_user air-a@example.com +254700005711)"
read -r _ _ _ <<<"$(wallet_user air-b@example.com +254700005712)"
sql -c "SELECT pg_wallet.credit('$BA_ACC', 500, 'SYS-SUSPENSE-KES')" >/dev/null
btoken() { sql -c "SELECT access_token FROM pg_wallet.login('$1', 'Passw0rd-e2e', 'tribble')"; }
TB_A=$(btoken air-a@example.com)
TB_B=$(btoken air-b@example.com)
check "the airtime parties exist" test -n "$TB_A" -a -n "$TB_B" -a -n "$BA_ACC"
bbal() { sql -c "SELECT (pg_wallet.get_balance('$BA_ACC')).balance"; }
bstatus() { # TRANSACTIONID: its status once it is no longer PROCESSING (10 s at most)
	local s
	for _ in $(seq 1 100); do
		s=$(sql -c "SELECT status FROM pg_wallet.airtime_topups WHERE topup_ref = '$1'")
		[ "$s" != PROCESSING ] && break
		sleep 0.1
	done
	echo "$s"
}

req GET $T/bills/airtime/providers '' "$TB_A"
expect "GET /bills/airtime/providers: the providers with their ranges" 200 \
	'[.providers[] | select(.providerId == "safaricom-57") | .amountRange] ==
		[{"min": 10, "max": 10000}]' \
	'[.providers[] | select(.providerId == "airtel-57") | .denominations] ==
		[[20, 50, 100, 250, 500, 1000]]' \
	'[.providers[] | select(.providerId == "safaricom-57") | has("denominations")] == [false]' \
	'[.providers[] | select(.providerId == "safaricom-57") | .logo] ==
		["https://cdn.example.com/p/safaricom.png"]' '.providers | all(has("name"))'
req GET $T/bills/airtime/providers
expect "... without a token is 401" 401 '.errorCode == "UNAUTHORIZED"'

tbody() { # PROVIDER PHONE AMOUNT [METHOD]
	jq -nc --arg p "$1" --arg n "$2" --argjson a "$3" --arg m "${4:-wallet}" \
		'{providerId: $p, phoneNumber: $n, amount: $a, paymentMethodId: $m}'
}
req POST $T/bills/airtime/topup "$(tbody safaricom-57 0712345600 100)" "$TB_A"
expect "POST /bills/airtime/topup: 201 with the spec's fields" 201 \
	'(.transactionId | test("^BILL-"))' '.type == "airtime_topup"' \
	'.provider == "safaricom-57"' '.phoneNumber == "0712345600"' '.amount == 100' \
	'.status == "PROCESSING"' '(.message | type) == "string"' '(.createdAt | test("Z$"))' \
	'has("reference")' 'has("_bridge") | not'
BT1=$(field .transactionId)
check "... delivered by the partner's callback through the bridge: SUCCESS" \
	test "$(bstatus "$BT1")" = SUCCESS
check "... and the wallet paid the 100" test "$(bbal)" = "400.00"
req POST $T/bills/airtime/topup "$(tbody airtel-57 +254712345601 50)" "$TB_A"
expect "a top-up the network fails: 201 PROCESSING" 201 '.status == "PROCESSING"'
BT2=$(field .transactionId)
check "... then FAILED, and the wallet keeps its money" \
	test "$(bstatus "$BT2")" = FAILED -a "$(bbal)" = "400.00"

req POST $T/bills/airtime/topup "$(tbody mtn-ng 08012345678 100)" "$TB_A"
expect "an unknown provider is 404" 404 '.errorCode == "NOT_FOUND"' "$BERRFMT"
req POST $T/bills/airtime/topup "$(tbody safaricom-57 08012345678 100)" "$TB_A"
expect "... a number of another country is 422 naming phoneNumber" 422 \
	'.details.field == "phoneNumber"'
req POST $T/bills/airtime/topup "$(tbody airtel-57 0712345600 30)" "$TB_A"
expect "... an amount that is not a denomination is 400 naming it" 400 \
	'.errorCode == "INVALID_REQUEST"' '.details.field == "amount"'
req POST $T/bills/airtime/topup "$(tbody safaricom-57 0712345600 5)" "$TB_A"
expect "... an amount below the range is 400 naming it" 400 '.details.field == "amount"'
req POST $T/bills/airtime/topup '{"providerId": "safaricom-57", "phoneNumber": "0712345600",
	"amount": "100"}' "$TB_A"
expect "... an amount that is not a number is 400 naming it" 400 '.details.field == "amount"'
req POST $T/bills/airtime/topup '{"phoneNumber": "0712345600", "amount": 100}' "$TB_A"
expect "... no providerId is 400 naming it" 400 '.details.field == "providerId"'
req POST $T/bills/airtime/topup "$(tbody safaricom-57 0712345600 100 card-001)" "$TB_A"
expect "... a card is 422 naming paymentMethodId" 422 '.details.field == "paymentMethodId"'
req POST $T/bills/airtime/topup "$(tbody safaricom-57 0712345600 900)" "$TB_A"
expect "... more than the wallet holds is 402" 402 '.errorCode == "INSUFFICIENT_FUNDS"'
req POST $T/bills/airtime/topup "$(tbody safaricom-57 0712345600 100)"
expect "... without a token is 401" 401
check "... and none of them took anything" test "$(bbal)" = "400.00"

req POST $T/bills/airtime/topup "$(jq -nc '{providerId: "safaricom-57",
	phoneNumber: "0712345600", amount: 20, reference: "air-57-1"}')" "$TB_A"
BT3=$(field .transactionId)
req POST $T/bills/airtime/topup "$(jq -nc '{providerId: "safaricom-57",
	phoneNumber: "0712345600", amount: 20, reference: "air-57-1"}')" "$TB_A"
expect "a retry under the same reference is the same top-up" 201 \
	".transactionId == \"$BT3\"" '.replayed == true' '.message | length > 0'
check "... charged once" test "$(bstatus "$BT3")" = SUCCESS -a "$(bbal)" = "380.00"

req GET "$T/bills/topups?limit=2&offset=0" '' "$TB_A"
expect "GET /bills/topups: the caller's, newest first, paginated" 200 \
	'.pagination == {"total": 3, "limit": 2, "offset": 0}' '.topups | length == 2' \
	".topups[0].transactionId == \"$BT3\"" \
	'.topups[0] | has("provider") and has("phoneNumber") and has("amount") and
		has("status") and has("reference") and has("createdAt")'
req GET "$T/bills/topups?status=SUCCESS" '' "$TB_A"
expect "... status=SUCCESS filters" 200 '.pagination.total == 2' \
	'[.topups[].status] == ["SUCCESS", "SUCCESS"]'
req GET "$T/bills/topups" '' "$TB_B"
expect "... another user sees none of them" 200 '.topups == []' '.pagination.total == 0'
req GET "$T/bills/topups?limit=0" '' "$TB_A"
expect "... limit=0 is 400 naming it" 400 '.details.field == "limit"'
req GET "$T/bills/topups?status=DONE" '' "$TB_A"
expect "... an unknown status is 400 naming it" 400 '.details.field == "status"'

check "the partner's callbacks came through the bridge (its log names the route)" \
	grep -q "/partners/PTN-E2E57B/callback" "$E2E_DIR/bridge.log"
python3 "$E2E_ROOT/test/partner_sim.py" stop "$E2E_DIR/sim57b"
check "the ledger verifies after the top-ups" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "every currency sums to zero after the top-ups" \
	test "$(sql -c "SELECT count(*) FROM (SELECT a.currency FROM pg_wallet.accounts a
		GROUP BY a.currency
		HAVING sum((pg_wallet.get_balance(a.account_number)).balance) <> 0) x")" = 0
sql -c "UPDATE pg_wallet.partners SET status = 'inactive' WHERE id = 'PTN-E2E57B'" \
	-c "UPDATE pg_wallet.tribble_rate_limits l SET per_second = s.per_second,
		per_hour = s.per_hour, per_day = s.per_day
		FROM public.e2e57b_rate_limits s WHERE s.kyc_tier = l.kyc_tier" \
	-c "DROP TABLE public.e2e57b_rate_limits" >/dev/null
