# shellcheck shell=bash
# test/e2e/57_tribble_merchants.sh — Tribble merchants over the bridge (issue 14,
# tribble-rest-api.md "Merchants" and "Admin"): a user registers a business (201 PENDING), reads
# its profile (bank number masked) and sets its settlement (not the fee: 403); a payment to it
# is refused while its KYC is pending (403 MERCHANT_INACTIVE); an admin lists the pending
# merchants and approves it (then it is paid, and its user refunds the payment) or rejects
# another (409 on a second decision); another user sees nothing (404), a non-admin reaches no
# admin endpoint (403), bad fields are 400 naming them. The ledger verifies and every currency
# sums to zero.
T=/tribble/api/v1
sql -c "CREATE TABLE public.e2e57_rate_limits AS SELECT * FROM pg_wallet.tribble_rate_limits" \
	-c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
		per_day = 1000000" >/dev/null
ERRFMT='(.statusCode | type) == "number" and (.errorCode | type) == "string" and
	(.message | type) == "string" and (.timestamp | test("Z$")) and (.requestId | length > 0)'
read -r MU_U _ _ <<<"$(wallet_user merch-u@example.com +254700000571)"
read -r MO_U _ _ <<<"$(wallet_user merch-o@example.com +254700000572)"
read -r MC_U _ MC_ACC <<<"$(wallet_user merch-c@example.com +254700000573)"
sql -c "SELECT pg_wallet.credit('$MC_ACC', 1000, 'SYS-SUSPENSE-KES')" \
	-c "SELECT pg_wallet.create_principal('admin', 'merch-admin@example.com', 'Passw0rd-e2e')" \
	>/dev/null
token() { sql -c "SELECT access_token FROM pg_wallet.login('$1', 'Passw0rd-e2e', 'tribble')"; }
TM_U=$(token merch-u@example.com)
TM_O=$(token merch-o@example.com)
TM_C=$(token merch-c@example.com)
TM_A=$(token merch-admin@example.com)
check "the merchant parties exist" test -n "$TM_U" -a -n "$TM_O" -a -n "$TM_C" -a -n "$TM_A"
mbody() { # NAME TAXID [INDUSTRY]
	jq -nc --arg n "$1" --arg t "$2" --arg i "${3:-retail}" '{businessName: $n,
		entityType: "sole_proprietor", taxId: $t, industry: $i, bankAccount: {bankCode: "044",
		accountNumber: "1234567890", accountHolder: "John Doe"}}'
}

req POST $T/merchants/register "$(mbody "John's Store" 12345678901)" "$TM_U"
expect "POST /merchants/register: 201 PENDING with the spec's fields" 201 \
	'(.merchantId | test("^[0-9a-f-]{36}$"))' '.businessName == "John'"'"'s Store"' \
	'.kycStatus == "PENDING"' '.riskLevel == "medium"' '(.message | type) == "string"' \
	'(.createdAt | test("Z$"))' 'has("_bridge") | not'
MID=$(field .merchantId)
req POST $T/merchants/register "$(mbody "Copy Store" 12345678901)" "$TM_O"
expect "... the same taxId again is 409 CONFLICT" 409 '.errorCode == "CONFLICT"' "$ERRFMT"
req POST $T/merchants/register '{"businessName": "Shop", "entityType": "llc", "taxId": "12345",
	"industry": "retail", "bankAccount": {"bankCode": "044", "accountNumber": "1234567890",
	"accountHolder": "John Doe"}}' "$TM_U"
expect "... an unknown entityType is 400 naming it" 400 '.errorCode == "INVALID_REQUEST"' \
	'.details.field == "entityType"' "$ERRFMT"
req POST $T/merchants/register '{"businessName": "Shop", "entityType": "sole_proprietor",
	"taxId": "12345", "industry": "retail", "bankAccount": "044-1234567890"}' "$TM_U"
expect "... a bankAccount that is not an object is 400 naming it" 400 \
	'.details.field == "bankAccount"'
req POST $T/merchants/register "$(mbody "No Token" 99999999)"
expect "... without a token it is 401" 401

req GET "$T/merchants/$MID" '' "$TM_U"
expect "GET /merchants/:id for its user: the profile, the bank number masked" 200 \
	".merchantId == \"$MID\"" '.kycStatus == "PENDING"' '.taxId == "12345678901"' \
	'.bankAccounts[0].accountNumber == "****7890"' '.bankAccounts[0].isVerified == false' \
	'.settlementSettings.frequency == "daily"' '.metrics.totalTransactions == 0'
req GET "$T/merchants/$MID" '' "$TM_O"
expect "... another user gets 404" 404 '.errorCode == "NOT_FOUND"' "$ERRFMT"

req POST "$T/merchants/$MID/settlement" '{"frequency": "weekly", "minimumAmount": 5000.00,
	"holdPeriodDays": 2}' "$TM_U"
expect "POST /merchants/:id/settlement: 200 with the new settings" 200 \
	'.settlementSettings.frequency == "weekly"' '.settlementSettings.minimumAmount == 5000' \
	'.settlementSettings.holdPeriodDays == 2' '.settlementSettings.settlementFeePercent == 0.5' \
	'(.message | type) == "string"'
req POST "$T/merchants/$MID/settlement" '{"settlementFeePercent": 0.25}' "$TM_U"
expect "... the merchant cannot change its settlement fee (403)" 403 \
	'.errorCode == "FORBIDDEN"' '.details.field == "settlementFeePercent"'
req POST "$T/merchants/$MID/settlement" '{"frequency": "hourly"}' "$TM_U"
expect "... a bad frequency is 400 naming it" 400 '.details.field == "frequency"'
req POST "$T/merchants/$MID/settlement" '{"frequency": "daily"}' "$TM_O"
expect "... another user gets 404" 404 '.errorCode == "NOT_FOUND"'

pay() { # MERCHANT REFERENCE
	req POST $T/transactions "$(jq -nc --arg m "$1" --arg c "$MC_U" --arg r "$2" '{amount: 100,
		currency: "KES", customerId: $c, merchantId: $m, paymentMethodId: "wallet",
		metadata: {reference: $r}}')" "$TM_C"
}
pay "$MID" m57-1
expect "a payment to a merchant whose KYC is pending is 403 MERCHANT_INACTIVE" 403 \
	'.errorCode == "MERCHANT_INACTIVE"' "$ERRFMT"
check "... and takes nothing from the customer" \
	test "$(sql -c "SELECT (pg_wallet.get_balance('$MC_ACC')).balance")" = "1000.00"

req GET "$T/admin/merchants/pending-kyc" '' "$TM_U"
expect "GET /admin/merchants/pending-kyc as a user is 403" 403 '.errorCode == "FORBIDDEN"'
req GET "$T/admin/merchants/pending-kyc?limit=100" '' "$TM_A"
expect "... as an admin: the queue with pagination" 200 \
	"[.merchants[] | select(.merchantId == \"$MID\")] | length == 1" \
	'(.merchants[0].riskScore | type) == "number"' '(.merchants[0].documents | type) == "array"' \
	'.pagination.limit == 100' '(.pagination.total | type) == "number"'
req GET "$T/admin/merchants/pending-kyc?limit=0" '' "$TM_A"
expect "... limit=0 is 400 naming it" 400 '.details.field == "limit"'
req POST "$T/admin/merchants/$MID/approve" '{"notes": "All documents verified."}' "$TM_U"
expect "approving as a user is 403" 403 '.errorCode == "FORBIDDEN"'
req POST "$T/admin/merchants/$MID/approve" '{"notes": "All documents verified."}' "$TM_A"
expect "POST /admin/merchants/:id/approve: 200 APPROVED" 200 '.kycStatus == "APPROVED"' \
	'(.approvedAt | test("Z$"))' '.message == "Merchant approved successfully"'
req POST "$T/admin/merchants/$MID/reject" '{"reason": "invalid_documents"}' "$TM_A"
expect "... a second decision is 409" 409 '.errorCode == "CONFLICT"'
req POST $T/merchants/register "$(mbody "Lucky Bets" P0598765 gambling)" "$TM_U"
MID2=$(field .merchantId)
req POST "$T/admin/merchants/$MID2/reject" '{"reason": "invalid_documents", "message":
	"Submitted documents do not match business requirements"}' "$TM_A"
expect "POST /admin/merchants/:id/reject: 200 REJECTED with the reason" 200 \
	'.kycStatus == "REJECTED"' '.rejectionReason == "invalid_documents"' \
	'(.rejectedAt | test("Z$"))'
req POST "$T/admin/merchants/00000000-0000-0000-0000-000000000000/approve" '{}' "$TM_A"
expect "... an unknown merchant is 404" 404 '.errorCode == "NOT_FOUND"'

pay "$MID" m57-2
expect "once approved, the merchant is paid (201 SUCCESS)" 201 '.status == "SUCCESS"'
PTX=$(field .transactionId)
req POST "$T/transactions/$PTX/refund" '{"amount": 10}' "$TM_U"
expect "... the user who registered it refunds the payment (201)" 201 '.status == "COMPLETED"'
req GET "$T/transactions/$PTX" '' "$TM_O"
expect "... another user does not see the payment (404)" 404
pay "$MID2" m57-3
expect "a rejected merchant is not paid (403 MERCHANT_INACTIVE)" 403 \
	'.errorCode == "MERCHANT_INACTIVE"'
req GET "$T/merchants/$MID" '' "$TM_U"
expect "the profile counts the payment" 200 '.metrics.totalTransactions == 1' \
	'.metrics.totalVolume == 100' '.kycStatus == "APPROVED"' '.bankAccounts[0].isVerified'
TODAY=$(sql -c "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
req GET "$T/merchants/$MID/analytics?startDate=$TODAY&endDate=$TODAY&groupBy=daily" '' "$TM_U"
expect "GET /merchants/:id/analytics: summary, dailyMetrics, topCustomers" 200 \
	".merchantId == \"$MID\"" ".period.startDate == \"$TODAY\"" \
	'.summary.totalTransactions == 1' '.summary.successfulTransactions == 1' \
	'.summary.totalVolume == 100' '.summary.successRate == 100' \
	".dailyMetrics == [{\"date\": \"$TODAY\", \"transactionCount\": 1, \"totalVolume\": 100,
		\"averageAmount\": 100, \"successRate\": 100}]" \
	".topCustomers == [{\"customerId\": \"$MC_U\", \"transactionCount\": 1,
		\"totalSpent\": 100}]"
req GET "$T/merchants/$MID/dashboard" '' "$TM_U"
expect "GET /merchants/:id/dashboard: the month's metrics, settlements, top products" 200 \
	".merchantId == \"$MID\"" '.metrics.totalTransactions == 1' '.metrics.totalVolume == 100' \
	'.metrics.refundCount == 1' '.metrics.refundAmount == 10' '.metrics.chargebackCount == 0' \
	'.settlements.totalSettled == 0' '.settlements.pendingAmount == 90' \
	'(.settlements.nextSettlementDate | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))' \
	'.topProducts | length == 1'
req GET "$T/merchants/$MID/dashboard" '' "$TM_O"
expect "... another user gets 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/merchants/$MID/analytics?groupBy=hourly" '' "$TM_U"
expect "... groupBy=hourly is 400 naming it" 400 '.details.field == "groupBy"'
req GET "$T/merchants/$MID/analytics?startDate=2025-02-30" '' "$TM_U"
expect "... a date that does not exist is 400 naming it" 400 '.details.field == "startDate"'
req GET "$T/merchants/$MID/analytics" '' "$TM_O"
expect "... another user gets 404" 404 '.errorCode == "NOT_FOUND"'
check "the customer paid 100 and got 10 back" \
	test "$(sql -c "SELECT (pg_wallet.get_balance('$MC_ACC')).balance")" = "910.00"

check "the ledger verifies after the merchants" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "every currency sums to zero after the merchants" \
	test "$(sql -c "SELECT count(*) FROM (SELECT a.currency FROM pg_wallet.accounts a
		GROUP BY a.currency
		HAVING sum((pg_wallet.get_balance(a.account_number)).balance) <> 0) x")" = 0
sql -c "UPDATE pg_wallet.tribble_rate_limits l SET per_second = s.per_second,
		per_hour = s.per_hour, per_day = s.per_day
		FROM public.e2e57_rate_limits s WHERE s.kyc_tier = l.kyc_tier" \
	-c "DROP TABLE public.e2e57_rate_limits" >/dev/null
