# shellcheck shell=bash
# test/e2e/58_tribble_card_payments.sh — Tribble card payments over the bridge (issue 13,
# tribble-rest-api.md "Transactions"): a user saves cards (POST /payment-methods) and pays a
# merchant with one (POST /transactions with its paymentMethodId): 201 PROCESSING with its
# fraudScore; the outbox worker sends the authorisation to the partner simulator
# (test/partner_sim.py, a card partner of service card), whose signed callback captures it:
# GET /transactions/:id shows SUCCESS with the card (last4Digits, brand) and the partner's
# charge id, the merchant is paid, transaction:completed reaches both parties; a retry under
# metadata.reference is the same payment; a declined card ends FAILED with its reason; another
# user sees neither payment (404) and cannot pay with the card (404); a bank account cannot pay
# (422); a refund goes back to the card (201 PENDING, then COMPLETED on the partner's
# callback); the ledger verifies and every currency sums to zero. Needs the outbox worker serving
# this database (38_cashier configures it).
T=/tribble/api/v1
sql -c "CREATE TABLE public.e2e58_rate_limits AS SELECT * FROM pg_wallet.tribble_rate_limits" \
	-c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
		per_day = 1000000" >/dev/null
ERRFMT='(.statusCode | type) == "number" and (.errorCode | type) == "string" and
	(.message | type) == "string" and (.details | type) == "object" and
	(.timestamp | test("Z$")) and (.requestId | length > 0)'
# the simulator calls back through psql, as the bridge's partner would
export PGHOST=$E2E_DIR PGPORT PGDATABASE=pgwallet

SIM58_SECRET='whsec_cGdfd2FsbGV0IGUyZSBjYXJkIHNpbXVsYXRvciAhIQ=='
SIM_DB=pgwallet python3 "$E2E_ROOT/test/partner_sim.py" start "$E2E_DIR/sim58" \
	--secret "$SIM58_SECRET" --db pgwallet
SIM58_PORT=$(python3 "$E2E_ROOT/test/partner_sim.py" port "$E2E_DIR/sim58")
sql -c "SELECT pg_wallet.create_partner('Sim Cards 58', 'KE', 'card', 'generic_json',
	'http://127.0.0.1:$SIM58_PORT/p/PTN-E2E58', ARRAY['KES'], 'https://bridge.example/cb',
	'$SIM58_SECRET', partner_id => 'PTN-E2E58', priority => 0)" >/dev/null

read -r CC_U CC_O CC_ACC <<<"$(wallet_user card-c@example.com +254700000581)"
read -r CD_U CD_O CD_ACC <<<"$(wallet_user card-d@example.com +254700000582)"
read -r CM_U CM_O <<<"$(sql -c "SELECT principal_id || ' ' || owner_id
	FROM pg_wallet.create_principal('merchant', 'card-m@example.com', 'Passw0rd-e2e')")"
CM_ACC=$(sql -c "SELECT account_number FROM pg_wallet.create_account($CM_O, 'KES',
	'AVAILABLE_COLLECTIONS')")
token() { sql -c "SELECT access_token FROM pg_wallet.login('$1', 'Passw0rd-e2e', 'tribble')"; }
CT_C=$(token card-c@example.com)
CT_D=$(token card-d@example.com)
CT_M=$(token card-m@example.com)
check "the card payment parties exist" test -n "$CC_ACC" -a -n "$CD_ACC" -a -n "$CM_ACC" \
	-a -n "$CT_C" -a -n "$CT_D" -a -n "$CT_M"
CYEAR=$(($(date -u +%Y) + 3))
card() { # NUMBER TOKEN: save a card, print its paymentMethodId
	req POST $T/payment-methods '{"type": "card", "cardNumber": "'"$1"'",
		"cardholderName": "Card Payer", "expiryMonth": 12, "expiryYear": '"$CYEAR"',
		"cvv": "123"}' "$2"
	field .paymentMethodId
}
# the simulator's magic numbers: a card ending in 00 is captured, in 01 declined
CARD_OK=$(card 4111000000000800 "$CT_C")
CARD_NO=$(card 4111000000000701 "$CT_C")
req POST $T/payment-methods '{"type": "bank_account", "bankName": "GTBank",
	"accountNumber": "0123456789", "accountHolder": "Card Payer"}' "$CT_C"
BANK_C=$(field .paymentMethodId)
check "the customer saved two cards and a bank account" \
	test "${CARD_OK#card-}" != "$CARD_OK" -a "${CARD_NO#card-}" != "$CARD_NO" \
	-a "${BANK_C#bank-}" != "$BANK_C"
cbody() { # AMOUNT REFERENCE METHOD
	jq -nc --argjson a "$1" --arg r "$2" --arg p "$3" --arg m "$CM_U" --arg c "$CC_U" \
		'{amount: $a, currency: "KES", customerId: $c, merchantId: $m, paymentMethodId: $p,
		description: "Card payment for order #58", metadata: {orderId: "order-58", reference: $r}}'
}
# wait_status ID TOKEN STATUS: GET /transactions/:id until it shows STATUS (10 s at most)
wait_status() {
	local i
	for i in $(seq 1 50); do
		req GET "$T/transactions/$1" '' "$2"
		if [ "$(field .status)" = "$3" ]; then return 0; fi
		sleep 0.2
	done
	return 1
}
merchant_balance() { sql -c "SELECT (pg_wallet.get_balance('$CM_ACC')).balance"; }

# a card payment: PROCESSING at once, then the partner's callback captures it
req POST $T/transactions "$(cbody 120 CARD-REF-1 "$CARD_OK")" "$CT_C"
expect "POST /transactions with a card: 201 PROCESSING with its fraudScore" 201 \
	'.transactionId | test("^TXN-[0-9]{8}-[0-9]+$")' '.amount == 120' '.currency == "KES"' \
	'.status == "PROCESSING"' '(.fraudScore.score | type) == "number"' \
	'.fraudScore.decision == "ALLOW"' '.createdAt | test("Z$")' \
	".customerId == \"$CC_U\"" ".merchantId == \"$CM_U\"" 'has("error") | not' \
	'has("_bridge") | not'
CT1=$(field .transactionId)
check "... the customer's wallet is not touched" \
	test "$(sql -c "SELECT (pg_wallet.get_balance('$CC_ACC')).balance")" = "0.00"
check "... the partner's signed callback captures it: GET shows SUCCESS" \
	wait_status "$CT1" "$CT_C" SUCCESS
expect "... with the card, the partner's charge id and completedAt" 200 \
	'.paymentMethod.type == "card"' '.paymentMethod.last4Digits == "0800"' \
	'.paymentMethod.brand == "VISA"' '.processorChargeId | test("^SIM-")' \
	'.processorResponse.status == "success"' '.completedAt | test("Z$")' \
	'.metadata.orderId == "order-58"' '.description == "Card payment for order #58"' \
	'.fraudScore.decision == "ALLOW"' '(.fraudScore.riskFactors | type) == "array"'
check "... the merchant was paid" test "$(merchant_balance)" = "120.00"
req GET "$T/transactions/$CT1" '' "$CT_M"
expect "... the merchant sees it SUCCESS, without the risk factors" 200 \
	'.status == "SUCCESS"' '.fraudScore.riskFactors == null' '.paymentMethod.type == "card"'
req POST $T/transactions "$(cbody 120 CARD-REF-1 "$CARD_OK")" "$CT_C"
expect "... a retry under the same metadata.reference is the same payment" 201 \
	".transactionId == \"$CT1\"" '.status == "SUCCESS"'
check "... and charges nothing again" test "$(merchant_balance)" = "120.00"
req POST $T/transactions "$(cbody 121 CARD-REF-1 "$CARD_OK")" "$CT_C"
expect "... another request under that reference is 409 CONFLICT" 409 \
	'.errorCode == "CONFLICT"' "$ERRFMT"
events_moved
check "transaction:completed reached the customer and the merchant" \
	test "$(sql -c "SELECT count(*) FILTER (WHERE owner_id = $CC_O) || ' ' ||
		count(*) FILTER (WHERE owner_id = $CM_O) FROM pg_wallet.events
		WHERE event_type = 'transaction:completed' AND payload ->> 'transactionId' = '$CT1'
		AND payload ->> 'status' = 'SUCCESS'")" = "1 1"

# a declined card: PROCESSING, then FAILED with its reason; nothing moves
req POST $T/transactions "$(cbody 30 CARD-REF-2 "$CARD_NO")" "$CT_C"
expect "a card the partner declines: 201 PROCESSING" 201 '.status == "PROCESSING"'
CT2=$(field .transactionId)
check "... then FAILED" wait_status "$CT2" "$CT_C" FAILED
expect "... with its reason, for the customer" 200 \
	'.failureReason | test("card payment failed: Payment declined")' \
	'.processorResponse.status == "failed"' '.completedAt == null'
check "... nothing moved" test "$(merchant_balance)" = "120.00"

# who may see and use what
req GET "$T/transactions/$CT1" '' "$CT_D"
expect "another user cannot see the card payment (404)" 404 '.errorCode == "NOT_FOUND"' \
	"$ERRFMT"
req GET "$T/transactions/$CT2" '' "$CT_D"
expect "... nor the declined one (404)" 404 '.errorCode == "NOT_FOUND"'
req POST $T/transactions "$(cbody 10 CARD-REF-D "$CARD_OK" |
	jq -c --arg d "$CD_U" '.customerId = $d')" "$CT_D"
expect "another user cannot pay with the customer's card (404 naming paymentMethodId)" 404 \
	'.errorCode == "NOT_FOUND"' '.details.field == "paymentMethodId"' "$ERRFMT"
req POST $T/transactions "$(cbody 10 CARD-REF-B "$BANK_C")" "$CT_C"
expect "a bank account cannot pay a merchant (422)" 422 '.errorCode == "UNPROCESSABLE_ENTITY"' \
	'.details.field == "paymentMethodId"' "$ERRFMT"
req DELETE "$T/payment-methods/$CARD_NO" '' "$CT_C"
req POST $T/transactions "$(cbody 10 CARD-REF-R "$CARD_NO")" "$CT_C"
expect "a removed card cannot pay (404)" 404 '.errorCode == "NOT_FOUND"'
# a refund goes back to the card through the partner: 201 PENDING, then COMPLETED on its
# callback (the spec's "Refund initiated" then the refunds list), the merchant paying it
req POST "$T/transactions/$CT1/refund" '{"amount": 10, "reason": "partial_refund",
	"description": "Damaged item"}' "$CT_M"
expect "a card payment's refund is 201 PENDING, back to the card through the partner" 201 \
	'.status == "PENDING"' '.amount == 10' '.refundId | test("^RFD-[0-9]{8}-[0-9]+$")' \
	".transactionId == \"$CT1\"" '(.message | type) == "string"' '.remaining == 110'
check "... the refund is held on the merchant's account meanwhile" \
	test "$(sql -c "SELECT (pg_wallet.get_balance('$CM_ACC')).available_balance")" = "110.00"
for i in $(seq 1 50); do
	req GET "$T/transactions/$CT1/refunds" '' "$CT_C"
	if [ "$(field '.refunds[0].status')" = COMPLETED ]; then break; fi
	sleep 0.2
done
expect "... COMPLETED once the partner's callback confirms it" 200 \
	'.refunds | length == 1' '.refunds[0].status == "COMPLETED"' '.refunds[0].amount == 10' \
	'.summary.totalRefunded == 10' '.summary.refundCount == 1' '(.refunds[0].completedAt | test("Z$"))'
check "... and the merchant paid it" test "$(merchant_balance)" = "110.00"
req POST "$T/transactions/$CT1/refund" '{"amount": 111}' "$CT_M"
expect "a card refund beyond what remains is refused (422)" 422 \
	'.errorCode == "UNPROCESSABLE_ENTITY"'

python3 "$E2E_ROOT/test/partner_sim.py" stop "$E2E_DIR/sim58"
check "no card number was queued for the partner (the simulator refuses one)" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.outbox WHERE partner_id = 'PTN-E2E58'
		AND (body::text ~ '4111000000000(800|701)' OR body::text ~ 'cardNumber')")" = 0 \
	-a "$(grep -c card-with-pan "$E2E_DIR/sim58/requests.jsonl")" = 0
check "the card funding account is empty again" \
	test "$(sql -c "SELECT (pg_wallet.get_balance('CARD-$CC_O-KES')).balance")" = "0.00"
check "the ledger verifies after the card payments" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "every currency sums to zero after the card payments" \
	test "$(sql -c "SELECT count(*) FROM (SELECT a.currency FROM pg_wallet.accounts a
		GROUP BY a.currency
		HAVING sum((pg_wallet.get_balance(a.account_number)).balance) <> 0) x")" = 0
sql -c "UPDATE pg_wallet.partners SET status = 'inactive' WHERE id = 'PTN-E2E58'" \
	-c "UPDATE pg_wallet.tribble_rate_limits l SET per_second = s.per_second,
		per_hour = s.per_hour, per_day = s.per_day
		FROM public.e2e58_rate_limits s WHERE s.kyc_tier = l.kyc_tier" \
	-c "DROP TABLE public.e2e58_rate_limits" >/dev/null
