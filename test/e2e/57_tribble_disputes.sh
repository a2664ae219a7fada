# shellcheck shell=bash
# test/e2e/57_tribble_disputes.sh — Tribble disputes and chargebacks over the bridge (issue 14,
# tribble-rest-api.md "Disputes & Chargebacks"), checked against the spec's text: a customer
# disputes a payment (201 OPEN with the spec's fields; the merchant cannot: 403; a stranger
# sees no such transaction: 404; a second dispute is 409 CONFLICT; after the window 400
# DISPUTE_EXPIRED); both parties add evidence (200, INVESTIGATING; a multipart upload is
# refused: docs/bridge.md deviations); GET /disputes/:id for the parties and admins only; PUT
# /disputes/:id/resolution by an admin only: APPROVED charges the merchant back (the customer's
# wallet credited, the payment's refundedAmount), a second resolution is 409, REJECTED moves
# nothing; dispute:created reached both parties' streams. The ledger verifies and every
# currency sums to zero.
T=/tribble/api/v1
sql -c "CREATE TABLE public.e2e57d_rate_limits AS SELECT * FROM pg_wallet.tribble_rate_limits" \
	-c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
		per_day = 1000000" >/dev/null
DERRFMT='(.statusCode | type) == "number" and (.errorCode | type) == "string" and
	(.message | type) == "string" and (.timestamp | test("Z$")) and (.requestId | length > 0)'
read -r DC_U DC_O DC_ACC <<<"$(wallet_user disp-c@example.com +254700005701)"
read -r DU_U _ _ <<<"$(wallet_user disp-u@example.com +254700005702)"
read -r _ _ _ <<<"$(wallet_user disp-v@example.com +254700005703)"
sql -c "SELECT pg_wallet.credit('$DC_ACC', 1000, 'SYS-SUSPENSE-KES')" \
	-c "SELECT pg_wallet.create_principal('admin', 'disp-admin@example.com', 'Passw0rd-e2e')" \
	>/dev/null
DMID=$(sql -c "SELECT pg_wallet.merchant_register('$DU_U', 'Dispute Shop', 'sole_proprietor',
	'D5700000001', 'retail', '044', '1234567890', 'You Seller') ->> 'merchantId'")
sql -c "SELECT pg_wallet.merchant_approve(id, '$DMID')
	FROM pg_wallet.principals WHERE email = 'disp-admin@example.com'" >/dev/null
DM_ACC=$(sql -c "SELECT a.account_number FROM pg_wallet.accounts a JOIN pg_wallet.merchants m
	ON m.owner_id = a.owner_id WHERE m.id = '$DMID' AND a.purpose = 'AVAILABLE_COLLECTIONS'")
dtoken() { sql -c "SELECT access_token FROM pg_wallet.login('$1', 'Passw0rd-e2e', 'tribble')"; }
TD_C=$(dtoken disp-c@example.com)
TD_U=$(dtoken disp-u@example.com)
TD_V=$(dtoken disp-v@example.com)
TD_A=$(dtoken disp-admin@example.com)
check "the dispute parties exist" test -n "$TD_C" -a -n "$TD_U" -a -n "$TD_V" -a -n "$TD_A" \
	-a -n "$DM_ACC"
dpay() { # AMOUNT REFERENCE: prints the transactionId
	req POST $T/transactions "$(jq -nc --arg m "$DMID" --arg c "$DC_U" --arg r "$2" \
		--argjson a "$1" '{amount: $a, currency: "KES", customerId: $c, merchantId: $m,
		paymentMethodId: "wallet", metadata: {reference: $r}}')" "$TD_C"
	field .transactionId
}
DT1=$(dpay 300 d57-1)
DT2=$(dpay 200 d57-2)
DT3=$(dpay 100 d57-3)
check "three payments to the merchant" test "${DT1:0:4}${DT2:0:4}${DT3:0:4}" = TXN-TXN-TXN-
dbal() { sql -c "SELECT (pg_wallet.get_balance('$1')).balance"; }

DBODY='{"reason": "product_not_received", "description": "I did not receive the ordered items",
	"evidenceFiles": ["file-id-1", "file-id-2"]}'
req POST "$T/transactions/$DT1/dispute" "$DBODY" "$TD_U"
expect "POST /transactions/:id/dispute by the merchant is 403" 403 '.errorCode == "FORBIDDEN"' \
	"$DERRFMT"
req POST "$T/transactions/$DT1/dispute" "$DBODY" "$TD_V"
expect "... by a stranger is 404" 404 '.errorCode == "NOT_FOUND"' "$DERRFMT"
req POST "$T/transactions/$DT1/dispute" "$DBODY"
expect "... without a token is 401" 401 '.errorCode == "UNAUTHORIZED"'
req POST "$T/transactions/$DT1/dispute" '{"reason": "changed_my_mind"}' "$TD_C"
expect "... an unknown reason is 400 naming it" 400 '.errorCode == "INVALID_REQUEST"' \
	'.details.field == "reason"' "$DERRFMT"
req POST "$T/transactions/$DT1/dispute" '{"reason": "other", "evidenceFiles": "file-id-1"}' \
	"$TD_C"
expect "... evidenceFiles that is not an array is 400 naming it" 400 \
	'.details.field == "evidenceFiles"'
req POST "$T/transactions/$DT1/dispute" "$DBODY" "$TD_C"
expect "... by the customer: 201 OPEN with the spec's fields" 201 \
	'(.disputeId | test("^DSP-"))' ".transactionId == \"$DT1\"" \
	'.reason == "product_not_received"' '.amount == 300' '.status == "OPEN"' \
	'(.deadline | test("Z$"))' '(.createdAt | test("Z$"))' \
	'(.message | test("10 days to respond"))' 'has("_bridge") | not'
DD1=$(field .disputeId)
req POST "$T/transactions/$DT1/dispute" "$DBODY" "$TD_C"
expect "... the same request again replays it" 201 ".disputeId == \"$DD1\"" '.replayed == true'
req POST "$T/transactions/$DT1/dispute" '{"reason": "duplicate_charge"}' "$TD_C"
expect "... another dispute of the payment is 409 CONFLICT" 409 '.errorCode == "CONFLICT"' \
	"$DERRFMT"
sql -c "UPDATE pg_wallet.payments SET created_at = now() - interval '130 days',
	completed_at = now() - interval '130 days' WHERE transaction_ref = '$DT3'" >/dev/null
req POST "$T/transactions/$DT3/dispute" '{"reason": "other"}' "$TD_C"
expect "... after the dispute window it is 400 DISPUTE_EXPIRED" 400 \
	'.errorCode == "DISPUTE_EXPIRED"' "$DERRFMT"

req GET "$T/disputes/$DD1" '' "$TD_C"
expect "GET /disputes/:id for the customer: the spec's fields" 200 ".disputeId == \"$DD1\"" \
	".transactionId == \"$DT1\"" ".customerId == \"$DC_U\"" ".merchantId == \"$DMID\"" \
	'.amount == 300' '.status == "OPEN"' '.resolution == null' '(.deadline | test("Z$"))' \
	'[.evidence[].fileId] == ["file-id-1", "file-id-2"]' \
	'(.evidence[0] | has("evidenceId") and has("type") and has("fileUrl") and has("uploadedAt"))' \
	'.investigation.merchantResponse == null' \
	'.investigation.notes == "Awaiting merchant response"' \
	'(.investigation.merchantResponseDeadline | test("Z$"))'
req GET "$T/disputes/$DD1" '' "$TD_U"
expect "... for the merchant's user" 200 ".disputeId == \"$DD1\""
req GET "$T/disputes/$DD1" '' "$TD_A"
expect "... for an admin" 200 ".disputeId == \"$DD1\""
req GET "$T/disputes/$DD1" '' "$TD_V"
expect "... a stranger gets 404" 404 '.errorCode == "NOT_FOUND"' "$DERRFMT"
req GET "$T/disputes/DSP-20250101-000999" '' "$TD_C"
expect "... an unknown dispute is 404" 404 '.errorCode == "NOT_FOUND"'

req POST "$T/disputes/$DD1/evidence" '{"files": [{"fileId": "tracking-1",
	"type": "proof_of_delivery", "size": 4096}, {"fileId": "invoice-1", "type": "receipt",
	"size": 1024, "url": "https://cdn.example.com/invoice-1.pdf"}],
	"description": "Courier tracking and the invoice"}' "$TD_U"
expect "POST /disputes/:id/evidence by the merchant: 200, the investigation starts" 200 \
	".disputeId == \"$DD1\"" '.evidenceCount == 2' '.totalFileSize == 5120' \
	'(.uploadedAt | test("Z$"))' '.message == "Evidence uploaded successfully"'
req POST "$T/disputes/$DD1/evidence" '{"files": ["chat-1"], "description": "Seller chat"}' \
	"$TD_C"
expect "... by the customer" 200 '.evidenceCount == 1' '.totalEvidence == 5'
req POST "$T/disputes/$DD1/evidence" '{"files": ["x"]}' "$TD_V"
expect "... by a stranger is 404" 404 '.errorCode == "NOT_FOUND"'
req POST "$T/disputes/$DD1/evidence" '{"files": ["../../etc/passwd"]}' "$TD_C"
expect "... a file id with a path in it is 400 naming files" 400 '.details.field == "files"'
req POST "$T/disputes/$DD1/evidence" '{}' "$TD_C"
expect "... neither files nor a description is 400" 400 '.details.field == "files"'
STATUS=$(curl -sk -o "$E2E_DIR/body" -w '%{http_code}' -H "Authorization: Bearer $TD_C" \
	-F "files=@$E2E_ROOT/README.md" -F "description=upload" "$URL$T/disputes/$DD1/evidence")
check "... a multipart upload is refused with a 4xx error body (references only)" \
	test "${STATUS:0:1}" = 4 -a "$(jq -r .errorCode "$E2E_DIR/body")" != null
req GET "$T/disputes/$DD1" '' "$TD_C"
expect "... the dispute is INVESTIGATING with the merchant's response" 200 \
	'.status == "INVESTIGATING"' '.evidence | length == 5' \
	'.investigation.merchantResponse == "Courier tracking and the invoice"' \
	'(.investigation.startedAt | test("Z$"))' \
	'[.evidence[] | select(.fileId == "invoice-1") | .fileUrl] ==
		["https://cdn.example.com/invoice-1.pdf"]'

req PUT "$T/disputes/$DD1/resolution" '{"resolution": "APPROVED"}' "$TD_C"
expect "PUT /disputes/:id/resolution by the customer is 403" 403 '.errorCode == "FORBIDDEN"'
req PUT "$T/disputes/$DD1/resolution" '{"resolution": "APPROVED"}' "$TD_U"
expect "... by the merchant is 403" 403 '.errorCode == "FORBIDDEN"'
req PUT "$T/disputes/$DD1/resolution" '{"resolution": "PARTIAL"}' "$TD_A"
expect "... an unknown resolution is 400 naming it" 400 '.details.field == "resolution"'
req PUT "$T/disputes/$DD1/resolution" '{"resolution": "APPROVED", "refundAmount": 301}' "$TD_A"
expect "... more than the payment is 422" 422 '.errorCode == "UNPROCESSABLE_ENTITY"'
req PUT "$T/disputes/$DD1/resolution" '{"resolution": "APPROVED", "refundAmount": "300"}' \
	"$TD_A"
expect "... a refundAmount that is not a number is 400 naming it" 400 \
	'.details.field == "refundAmount"'
C_BEFORE=$(dbal "$DC_ACC")
M_BEFORE=$(dbal "$DM_ACC")
req PUT "$T/disputes/$DD1/resolution" '{"resolution": "APPROVED", "refundAmount": 300.00,
	"notes": "Evidence clearly shows product was not delivered"}' "$TD_A"
expect "... by an admin: 200 RESOLVED APPROVED with the refund" 200 ".disputeId == \"$DD1\"" \
	'.status == "RESOLVED"' '.resolution == "APPROVED"' '(.refundId | test("^RFD-"))' \
	'.refundAmount == 300' '(.resolvedAt | test("Z$"))' \
	'.message == "Dispute resolved and refund initiated"'
check "... the customer's wallet got the 300 back" \
	test "$(sql -c "SELECT $(dbal "$DC_ACC") - $C_BEFORE")" = "300.00"
check "... the merchant was charged the 300" \
	test "$(sql -c "SELECT $M_BEFORE - $(dbal "$DM_ACC")")" = "300.00"
req PUT "$T/disputes/$DD1/resolution" '{"resolution": "REJECTED"}' "$TD_A"
expect "... a second resolution is 409 CONFLICT" 409 '.errorCode == "CONFLICT"' "$DERRFMT"
req POST "$T/disputes/$DD1/evidence" '{"description": "one more thing"}' "$TD_C"
expect "... no evidence after the resolution (409)" 409 '.errorCode == "CONFLICT"'
req GET "$T/transactions/$DT1" '' "$TD_C"
expect "the payment shows the chargeback as refunded" 200 '.refundedAmount == 300'
req GET "$T/transactions/$DT1/refunds" '' "$TD_C"
expect "... and lists it among its refunds" 200 '.refunds[0].reason == "chargeback"' \
	'.summary.totalRefunded == 300' '.summary.remaining == 0'

req POST "$T/transactions/$DT2/dispute" '{"reason": "product_not_as_described"}' "$TD_C"
DD2=$(field .disputeId)
C_BEFORE=$(dbal "$DC_ACC")
req PUT "$T/disputes/$DD2/resolution" '{"resolution": "REJECTED", "notes": "As described"}' \
	"$TD_A"
expect "REJECTED: 200 RESOLVED, no refund" 200 '.status == "RESOLVED"' \
	'.resolution == "REJECTED"' '.refundId == null'
check "... and the customer's balance did not move" test "$(dbal "$DC_ACC")" = "$C_BEFORE"

events_moved
check "dispute:created reached the customer and the merchant's streams" \
	test "$(sql -c "SELECT count(DISTINCT owner_id) FROM pg_wallet.events
		WHERE event_type = 'dispute:created' AND payload ->> 'disputeId' = '$DD1'")" = 3
req GET "$T/merchants/$DMID/dashboard" '' "$TD_U"
expect "the merchant's dashboard counts the disputes and the chargeback" 200 \
	'.metrics.disputeCount == 2' '.metrics.chargebackCount == 1' '.metrics.refundCount == 0'

check "the ledger verifies after the disputes" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "every currency sums to zero after the disputes" \
	test "$(sql -c "SELECT count(*) FROM (SELECT a.currency FROM pg_wallet.accounts a
		GROUP BY a.currency
		HAVING sum((pg_wallet.get_balance(a.account_number)).balance) <> 0) x")" = 0
sql -c "UPDATE pg_wallet.tribble_rate_limits l SET per_second = s.per_second,
		per_hour = s.per_hour, per_day = s.per_day
		FROM public.e2e57d_rate_limits s WHERE s.kyc_tier = l.kyc_tier" \
	-c "DROP TABLE public.e2e57d_rate_limits" >/dev/null
