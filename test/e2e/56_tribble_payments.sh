# shellcheck shell=bash
# test/e2e/56_tribble_payments.sh — Tribble payments and refunds over the bridge (issue 13,
# tribble-rest-api.md "Transactions" and "Refunds"): a user pays a merchant from its wallet
# (POST /transactions, 201 SUCCESS with its fraudScore), a retry under metadata.reference is
# the same payment, another request under it 409, 402 INSUFFICIENT_FUNDS (and nothing moves),
# each validation error (400 naming the field, 403, 404 for a card id not the caller's, 422 for
# another's wallet or a merchant without an account in the currency) changing nothing; GET /transactions/:id for the customer (with
# the risk factors), the merchant, and 404 for another user; GET /transactions with status,
# dates, limit, offset and sorting; refunds: 403 for the customer, 404 for another user, a
# partial one, its replay, 422 beyond what remains, the rest, GET .../refunds with its totals;
# FRAUD_BLOCK (403) and a payment held for review (PROCESSING, then released: SUCCESS); the
# transaction:completed events of both parties; every currency sums to zero.
T=/tribble/api/v1
sql -c "CREATE TABLE public.e2e56_rate_limits AS SELECT * FROM pg_wallet.tribble_rate_limits" \
	-c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
		per_day = 1000000" >/dev/null
ERRFMT='(.statusCode | type) == "number" and (.errorCode | type) == "string" and
	(.message | type) == "string" and (.details | type) == "object" and
	(.timestamp | test("Z$")) and (.requestId | length > 0)'

read -r PC_U PC_O PC_ACC <<<"$(wallet_user pay-c@example.com +254700000561)"
read -r PD_U PD_O PD_ACC <<<"$(wallet_user pay-d@example.com +254700000562)"
sql -c "SELECT pg_wallet.credit('$PC_ACC', 1000, 'SYS-SUSPENSE-KES', 'e2e-pay-c')" >/dev/null
read -r PM_U PM_O <<<"$(sql -c "SELECT principal_id || ' ' || owner_id
	FROM pg_wallet.create_principal('merchant', 'pay-m@example.com', 'Passw0rd-e2e')")"
PM_ACC=$(sql -c "SELECT account_number FROM pg_wallet.create_account($PM_O, 'KES',
	'AVAILABLE_COLLECTIONS')")
PN_U=$(sql -c "SELECT principal_id FROM pg_wallet.create_principal('merchant',
	'pay-n@example.com', 'Passw0rd-e2e')")
token() { sql -c "SELECT access_token FROM pg_wallet.login('$1', 'Passw0rd-e2e', 'tribble')"; }
PT_C=$(token pay-c@example.com)
PT_D=$(token pay-d@example.com)
PT_M=$(token pay-m@example.com)
check "the payment parties exist" test -n "$PC_ACC" -a -n "$PD_ACC" -a -n "$PM_ACC" \
	-a -n "$PN_U" -a -n "$PT_C" -a -n "$PT_M"
state() { # the customer's and the merchant's balances and the customer's payments
	sql -c "SELECT (pg_wallet.get_balance('$PC_ACC')).balance || ' ' ||
		(pg_wallet.get_balance('$PM_ACC')).balance || ' ' ||
		(SELECT count(*) FROM pg_wallet.payments WHERE customer_owner_id = $PC_O)"
}
pay() { # BODY [TOKEN]
	req POST $T/transactions "$1" "${2-$PT_C}"
}
body() { # AMOUNT REFERENCE [MERCHANT]
	jq -nc --argjson a "$1" --arg r "$2" --arg m "${3-$PM_U}" --arg c "$PC_U" '{amount: $a,
		currency: "KES", customerId: $c, merchantId: $m, paymentMethodId: "wallet",
		description: "Payment for order #12345",
		metadata: {orderId: "order-12345", reference: $r}}'
}

pay "$(body 100 REF-001)"
expect "POST /transactions: a wallet payment is 201 SUCCESS with its fraudScore" 201 \
	'.transactionId | test("^TXN-[0-9]{8}-[0-9]+$")' '.amount == 100' '.currency == "KES"' \
	'.status == "SUCCESS"' '(.fraudScore.score | type) == "number"' \
	'.fraudScore.riskLevel == "LOW"' '.fraudScore.decision == "ALLOW"' \
	'.createdAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' \
	".customerId == \"$PC_U\"" ".merchantId == \"$PM_U\"" 'has("error") | not' \
	'has("_bridge") | not'
PT1=$(field .transactionId)
check "... the money moved from the customer's wallet to the merchant" \
	test "$(state)" = "900.00 100.00 1"
req GET "$T/transactions/$PT1/risk-score" '' "$PT_C"
expect "GET /transactions/:id/risk-score of a payment: its customer's score record" 200 \
	".transactionId == \"$PT1\"" '(.riskScore | type) == "number"' '.riskLevel == "LOW"' \
	'.decision == "ALLOW"' '(.riskFactors | type) == "array"' \
	'(.riskFactors[0].weight | type) == "number"' '(.modelVersion | type) == "string"' \
	'(.confidence | type) == "number"'
req GET "$T/transactions/$PT1/risk-score" '' "$PT_M"
expect "... the merchant cannot read the customer's score (404)" 404 \
	'.errorCode == "NOT_FOUND"' "$ERRFMT"
req GET "$T/transactions/$PT1/risk-score" '' "$PT_D"
expect "... nor can another user (404)" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/transactions/TXN-20260101-999999/risk-score" '' "$PT_C"
expect "... an unknown payment is the same 404" 404 '.errorCode == "NOT_FOUND"'
pay "$(body 100 REF-001)"
expect "... a retry under the same metadata.reference is the same payment" 201 \
	".transactionId == \"$PT1\"" '.status == "SUCCESS"'
check "... and moves nothing again" test "$(state)" = "900.00 100.00 1"
pay "$(body 101 REF-001)"
expect "... another request under that reference is 409 CONFLICT" 409 \
	'.errorCode == "CONFLICT"' "$ERRFMT"
pay "$(body 950 REF-NSF)"
expect "more than the wallet holds is 402 INSUFFICIENT_FUNDS" 402 \
	'.statusCode == 402' '.errorCode == "INSUFFICIENT_FUNDS"' "$ERRFMT" \
	'.message | test("insufficient")'
check "... no money moved (the refused payment is kept FAILED)" \
	test "$(state)" = "900.00 100.00 2"
pay "$(body 950 REF-NSF)"
expect "... and its retry gets the same 402" 402 '.errorCode == "INSUFFICIENT_FUNDS"'

# bad requests change nothing
bad() { # NAME STATUS ERRORCODE BODY [TOKEN] [JQ...]
	local name=$1 status=$2 code=$3 b=$4 t=${5-$PT_C}
	shift 5 2>/dev/null || shift $#
	pay "$b" "$t"
	expect "$name" "$status" ".errorCode == \"$code\"" "$ERRFMT" "$@"
}
bad "without merchantId: 400 naming it" 400 INVALID_REQUEST \
	"$(body 10 R-X | jq -c 'del(.merchantId)')" "$PT_C" '.details.field == "merchantId"'
bad "amount 0: 400 naming it" 400 INVALID_REQUEST "$(body 0 R-X)" "$PT_C" \
	'.details.field == "amount"' '.message == "Amount must be greater than 0"'
bad "amount as a string: 400" 400 INVALID_REQUEST "$(body 10 R-X | jq -c '.amount = "10"')" \
	"$PT_C" '.details.field == "amount"'
bad "more decimals than KES has: 400 naming amount" 400 INVALID_REQUEST "$(body 10.001 R-X)" \
	"$PT_C" '.details.field == "amount"'
bad "a currency that is not ISO 4217: 400 naming it" 400 INVALID_REQUEST \
	"$(body 10 R-X | jq -c '.currency = "KESX"')" "$PT_C" '.details.field == "currency"'
bad "a customerId other than the caller: 403" 403 FORBIDDEN \
	"$(body 10 R-X | jq -c --arg d "$PD_U" '.customerId = $d')" "$PT_C" \
	'.details.field == "customerId"'
bad "an unknown merchantId: 404" 404 NOT_FOUND "$(body 10 R-X merchant-001)" "$PT_C" \
	'.message == "merchant not found"'
bad "a user's id as merchantId: 404" 404 NOT_FOUND "$(body 10 R-X "$PD_U")"
bad "a merchant without a KES account: 422" 422 UNPROCESSABLE_ENTITY "$(body 10 R-X "$PN_U")" \
	"$PT_C" '.message | test("no account in KES")'
bad "a card id that is not one of the caller's cards: 404 (card payments: 58)" 404 NOT_FOUND \
	"$(body 10 R-X | jq -c '.paymentMethodId = "card-001"')" "$PT_C" \
	'.message == "payment method not found"' '.details.field == "paymentMethodId"'
bad "another user's wallet as paymentMethodId: 422" 422 UNPROCESSABLE_ENTITY \
	"$(body 10 R-X | jq -c --arg w "$PD_ACC" '.paymentMethodId = $w')"
bad "metadata that is not an object: 400" 400 INVALID_REQUEST \
	"$(body 10 R-X | jq -c '.metadata = [1]')" "$PT_C" '.details.field == "metadata"'
bad "a description over 200 characters: 400" 400 INVALID_REQUEST \
	"$(body 10 R-X | jq -c '.description = ("x" * 201)')" "$PT_C" \
	'.details.field == "description"'
bad "a merchant cannot pay (403)" 403 FORBIDDEN "$(body 10 R-X)" "$PT_M"
bad "no token: 401" 401 UNAUTHORIZED "$(body 10 R-X)" ""
pay "$(body 10 R-X | jq -c --arg w "$PC_ACC" '.paymentMethodId = $w | .metadata.reference = "R-W"')"
expect "paymentMethodId may name one of the caller's walletIds" 201 '.status == "SUCCESS"' \
	'.amount == 10'
check "... and nothing else moved or was kept" test "$(state)" = "890.00 110.00 3"

# GET /transactions/:transactionId
req GET "$T/transactions/$PT1" "" "$PT_C"
expect "GET /transactions/:id: the customer's payment, the spec's fields" 200 \
	".transactionId == \"$PT1\"" '.amount == 100' '.currency == "KES"' \
	".customerId == \"$PC_U\"" ".merchantId == \"$PM_U\"" '.status == "SUCCESS"' \
	'(.fraudScore.score | type) == "number"' '.fraudScore.riskLevel == "LOW"' \
	'(.fraudScore.riskFactors | length) > 0' \
	'.fraudScore.riskFactors | all(has("name") and has("weight") and has("score") and has("explanation"))' \
	'.paymentMethod == {"type": "wallet"}' '.receipt == null' \
	'.description == "Payment for order #12345"' '.metadata.orderId == "order-12345"' \
	'.createdAt | test("Z$")' '.completedAt | test("Z$")' '.refundedAmount == 0'
req GET "$T/transactions/$PT1" "" "$PT_M"
expect "... the merchant sees it too, without the customer's risk factors" 200 \
	".transactionId == \"$PT1\"" '.fraudScore | has("riskFactors") | not' \
	'.failureReason == null'
req GET "$T/transactions/$PT1" "" "$PT_D"
expect "... another user gets 404 NOT_FOUND" 404 '.errorCode == "NOT_FOUND"' "$ERRFMT"
# once its receipt is issued, the payment shows it as the spec does: {receiptId, url}
req POST "$T/transactions/$PT1/receipt/generate" '{"format": "pdf"}' "$PT_C"
PT1_RCPT=$(field .receiptId)
req GET "$T/transactions/$PT1" "" "$PT_C"
expect "... and, once its receipt is issued, the receipt's id and URL" 200 \
	".receipt.receiptId == \"$PT1_RCPT\"" \
	'.receipt.url | test("^http://[^/]+/tribble/api/v1/receipts/rcpt-[0-9a-f]{32}\\.pdf\\?token=")'
req GET "$T/transactions/TXN-20250101-999999" "" "$PT_C"
expect "... an unknown id is the same 404" 404 '.errorCode == "NOT_FOUND"' \
	'.message == "transaction not found"'

# GET /transactions
TODAY=$(date -u +%F)
req GET "$T/transactions" "" "$PT_C"
expect "GET /transactions: the caller's payments, newest first, with pagination" 200 \
	'.transactions | length == 3' '.transactions[0].amount == 10' \
	'.transactions[1].status == "FAILED"' '.pagination == {"total": 3, "limit": 20, "offset": 0, "hasMore": false}' \
	'.transactions | all(has("transactionId") and has("amount") and has("currency") and has("merchantId") and has("status") and has("createdAt"))'
req GET "$T/transactions?status=SUCCESS&startDate=$TODAY&endDate=$TODAY&limit=1&offset=1" "" "$PT_C"
expect "... status, startDate, endDate, limit and offset" 200 \
	'.transactions | length == 1' ".transactions[0].transactionId == \"$PT1\"" \
	'.pagination == {"total": 2, "limit": 1, "offset": 1, "hasMore": false}'
req GET "$T/transactions?sortBy=amount&sortOrder=asc" "" "$PT_C"
expect "... sortBy=amount&sortOrder=asc" 200 '[.transactions[].amount] == [10, 100, 950]'
req GET "$T/transactions?endDate=2020-01-01" "" "$PT_C"
expect "... an endDate before every payment lists none" 200 '.pagination.total == 0'
req GET "$T/transactions" "" "$PT_M"
expect "... a merchant lists the payments it received" 200 '.pagination.total == 3'
req GET "$T/transactions" "" "$PT_D"
expect "... another user sees none of them" 200 '.transactions == []' '.pagination.total == 0'
for q in status=DONE limit=0 limit=101 offset=-1 startDate=2025-13-01 sortBy=merchant \
	sortOrder=up; do
	req GET "$T/transactions?$q" "" "$PT_C"
	expect "... $q is 400 naming the parameter" 400 '.errorCode == "INVALID_REQUEST"' \
		".details.field == \"${q%%=*}\""
done

# refunds
refund() { # TRANSACTION BODY TOKEN
	req POST "$T/transactions/$1/refund" "$2" "$3"
}
refund "$PT1" '{"amount": 10}' "$PT_C"
expect "POST .../refund by the customer is 403 FORBIDDEN" 403 '.errorCode == "FORBIDDEN"' \
	"$ERRFMT"
refund "$PT1" '{"amount": 10}' "$PT_D"
expect "... by another user is 404" 404 '.errorCode == "NOT_FOUND"'
refund "$PT1" '{"amount": 0}' "$PT_M"
expect "... amount 0 is 400 naming it" 400 '.details.field == "amount"'
check "... none of them moved money" test "$(state)" = "890.00 110.00 3"
refund "$PT1" '{"amount": 30.00, "reason": "partial_refund", "description": "Partial refund for damaged item", "idempotencyKey": "RFK-1"}' "$PT_M"
expect "... a partial refund by the merchant is 201 COMPLETED" 201 \
	'.refundId | test("^RFD-[0-9]{8}-[0-9]+$")' ".transactionId == \"$PT1\"" \
	'.amount == 30' '.status == "COMPLETED"' '.reason == "partial_refund"' \
	'.createdAt | test("Z$")' '.remaining == 70' '(.message | type) == "string"'
PR1=$(field .refundId)
check "... the merchant paid it back to the customer" test "$(state)" = "920.00 80.00 3"
refund "$PT1" '{"amount": 30.00, "reason": "partial_refund", "description": "Partial refund for damaged item", "idempotencyKey": "RFK-1"}' "$PT_M"
expect "... its retry under the same idempotencyKey is the same refund" 201 \
	".refundId == \"$PR1\""
refund "$PT1" '{"amount": 70.01}' "$PT_M"
expect "... more than remains is 422" 422 '.errorCode == "UNPROCESSABLE_ENTITY"' \
	'.message | test("exceeds the 70.00 KES")'
check "... nothing moved for the retry and the refusal" test "$(state)" = "920.00 80.00 3"
refund "$PT1" '{}' "$PT_M"
expect "... without an amount: the rest" 201 '.amount == 70' '.remaining == 0'
refund "$PT1" '{"amount": 1}' "$PT_M"
expect "... then nothing is left (422)" 422 '.message | test("refunded in full")'
req GET "$T/transactions/$PT1/refunds" "" "$PT_C"
expect "GET .../refunds: the refunds with their totals" 200 ".transactionId == \"$PT1\"" \
	'.refunds | length == 2' ".refunds[0].refundId == \"$PR1\"" '.refunds[0].amount == 30' \
	'.refunds[0].status == "COMPLETED"' '.refunds[0].reason == "partial_refund"' \
	'.refunds[0].createdAt | test("Z$")' '.refunds[0].completedAt | test("Z$")' \
	'.summary == {"totalRefunded": 100, "refundCount": 2, "remaining": 0}'
req GET "$T/transactions/$PT1/refunds" "" "$PT_D"
expect "... another user gets 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/transactions/$PT1" "" "$PT_C"
expect "... the payment stays SUCCESS, refundedAmount 100" 200 '.status == "SUCCESS"' \
	'.refundedAmount == 100'
check "the refunds gave the customer its 100.00 back" test "$(state)" = "990.00 10.00 3"

# fraud scoring of the payment (docs/fraud.md): the loopback address alone scores 75 (HOLD)
# or 95 (BLOCK); the settings are restored after
fraud_ip() { # SCORE
	sql -c "DELETE FROM pg_wallet.fraud_ip_reputation WHERE ip_range = '127.0.0.0/8'" \
		-c "INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
			VALUES ('127.0.0.0/8', $1, 'e2e payments')" >/dev/null
}
sql -c "UPDATE pg_wallet.fraud_settings SET weight_amount = 0, weight_device = 0,
	weight_velocity = 0, weight_geo = 0, weight_ip = 100, weight_beneficiary = 0,
	weight_credential = 0, weight_round = 0, hold_from = 70, block_from = 80" >/dev/null
fraud_ip 95
pay "$(body 20 REF-BLOCK)"
expect "a payment that scores BLOCK is 403 FRAUD_BLOCK" 403 '.errorCode == "FRAUD_BLOCK"' \
	"$ERRFMT" '.message == "transaction blocked by fraud detection"'
fraud_ip 75
pay "$(body 20 REF-HOLD)"
expect "a payment that scores HOLD is 201 PROCESSING, its score says HOLD" 201 \
	'.status == "PROCESSING"' '.fraudScore.decision == "HOLD"' '.fraudScore.score == 75'
PT_H=$(field .transactionId)
refund "$PT_H" '{}' "$PT_M"
expect "... it cannot be refunded while PROCESSING (422)" 422 \
	'.message | test("PROCESSING and cannot be refunded")'
sql -c "SELECT pg_wallet.fraud_review_release(hold_id) FROM pg_wallet.payments
	WHERE transaction_ref = '$PT_H'" >/dev/null
req GET "$T/transactions/$PT_H" "" "$PT_C"
expect "... released by an admin: SUCCESS" 200 '.status == "SUCCESS"' \
	'.completedAt | test("Z$")' '.fraudScore.decision == "HOLD"'
sql -c "DELETE FROM pg_wallet.fraud_ip_reputation WHERE ip_range = '127.0.0.0/8'" \
	-c "UPDATE pg_wallet.fraud_settings SET weight_amount = DEFAULT, weight_device = DEFAULT,
		weight_velocity = DEFAULT, weight_geo = DEFAULT, weight_ip = DEFAULT,
		weight_beneficiary = DEFAULT, weight_credential = DEFAULT, weight_round = DEFAULT,
		hold_from = DEFAULT, block_from = DEFAULT" >/dev/null
check "... after the release: 20.00 more paid, the blocked one kept FAILED" \
	test "$(state)" = "970.00 30.00 5"

# transaction:completed, to the customer and to the merchant: queued in the payment's
# transaction and moved into the streams by the outbox worker (it serves this database since
# 38_cashier), never by this test
check "payments' events are queued and the outbox worker moves them into the streams" \
	test "$(sql -c "SELECT pg_wallet._event_queue_here()")" = t
check "... the queue is empty within 10 s" events_moved
check "transaction:completed reached the customer and the merchant, in the spec's shape" \
	test "$(sql -c "SELECT count(*) FILTER (WHERE owner_id = $PC_O) || ' ' ||
		count(*) FILTER (WHERE owner_id = $PM_O) FROM pg_wallet.events
		WHERE event_type = 'transaction:completed' AND payload ->> 'transactionId' = '$PT1'
		AND (payload ->> 'amount')::numeric = 100 AND payload ->> 'status' = 'SUCCESS'
		AND payload ->> 'merchantId' = '$PM_U' AND payload ->> 'timestamp' ~ 'Z$'")" = "1 1"
check "every currency sums to zero after the payments and refunds" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
sql -c "UPDATE pg_wallet.tribble_rate_limits l SET per_second = s.per_second,
		per_hour = s.per_hour, per_day = s.per_day
		FROM public.e2e56_rate_limits s WHERE s.kyc_tier = l.kyc_tier" \
	-c "DROP TABLE public.e2e56_rate_limits" >/dev/null
