# shellcheck shell=bash
# test/e2e/20_waas.sh — every endpoint of wallet-as-a-service-api.md through the bridge:
# success shapes and each documented error. Sets TOKEN_A, TOKEN_B, ACC_A1, ACC_A2, ACC_B1,
# SVC_A, SVC_B for later files. Sourced by test/e2e/run.
W=/waas/api/v1

sql -c "SELECT pg_wallet.create_principal('client', password => 'Tenant-pass1',
	username => 'tenant_a')" -c "SELECT pg_wallet.create_principal('client',
	password => 'Tenant-pass2', username => 'tenant_b')" >/dev/null

# --- auth/login
req POST $W/auth/login '{"username": "tenant_a", "password": "Tenant-pass1"}'
expect "login returns a bearer token" 200 '.token_type == "Bearer"' \
	'.access_token | test("^eyJ")' '.expires_in > 0'
TOKEN_A=$(field .access_token)
req POST $W/auth/login '{"username": "tenant_b", "password": "Tenant-pass2"}'
TOKEN_B=$(field .access_token)
req POST $W/auth/login '{"username": "tenant_a", "password": "wrong-pass9"}'
expect "login with a wrong password is 401 WL020" 401 '.error.code == "INVALID_CREDENTIALS"'
req POST $W/auth/login '{"username": "nobody", "password": "wrong-pass9"}'
expect "login of an unknown user is 401 WL020" 401 '.error.code == "INVALID_CREDENTIALS"'
req POST $W/auth/login '{"username": "tenant_a"}'
expect "login without a password is 400 naming the field" 400 \
	'.error.details[0].field == "password"'

# --- clients
CLIENT='{"client_name": "LIPAD", "client_email": "ops@lipad.example",
	"client_phone_number": "254712345678", "contact_person_name": "Admin",
	"contact_person_email": "admin@lipad.example", "contact_person_msisdn": "254712345678",
	"business_pin": "A102035", "physical_address": "456 Elm St", "country": "Kenya",
	"logo": "https://example.com/logo.png", "description": "Test", "is_active": 1}'
req POST $W/clients "$CLIENT" "$TOKEN_A"
expect "POST /clients creates a client with a client_code" 201 \
	'.client_code | test("^LIP[A-Z2-7]{7}$")' '.client_id | test("^[0-9]+$")' \
	'.client_name == "LIPAD"' '.is_active == 1' '.country == "Kenya"'
CODE_A=$(field .client_code)
req POST $W/clients "$(jq -c '.client_name = "Bravo"' <<<"$CLIENT")" "$TOKEN_B"
CODE_B=$(field .client_code)
req POST $W/clients '{"client_name": "No Email", "is_active": 1}' "$TOKEN_A"
expect "POST /clients without required fields is 400 listing them" 400 \
	'.error.code == "INVALID_REQUEST"' '[.error.details[].field] | index("client_email") != null' \
	'[.error.details[].field] | index("business_pin") != null'
req POST $W/clients "$(jq -c '.is_active = 7' <<<"$CLIENT")" "$TOKEN_A"
expect "POST /clients with is_active not 0/1 is 400" 400 \
	'.error.details[0].field == "is_active"'
req POST $W/clients "$(jq -c '.client_email = "not-an-email"' <<<"$CLIENT")" "$TOKEN_A"
expect "POST /clients with a bad email is 400" 400 '.error.details[0].field == "client_email"'

# --- accounts
account() { # CLIENT_CODE TYPE NAME [MIN] [OVERDRAW]
	jq -nc --arg c "$1" --arg t "$2" --arg n "$3" --argjson m "${4:-0}" \
		--argjson o "${5:-false}" '{client_code: $c, account_type_code: $t,
		account_name: $n, currency: "KES", minimum_balance: $m, can_overdraw: $o,
		status: "ACTIVE", status_description: "Collection Account"}'
}
req POST $W/accounts "$(account "$CODE_A" FLOAT_ACCOUNT 'Float A1')" "$TOKEN_A"
expect "POST /accounts opens a wallet" 201 '.account_number | test("^[0-9]{8}$")' \
	'.currency == "KES"' '.minimum_balance == "0.0000"' '.can_overdraw == false' \
	'.status == "ACTIVE"' '.created_at | test("Z$")'
ACC_A1=$(field .account_number)
req POST $W/accounts "$(account "$CODE_A" COMMISSION_ACCOUNT 'Commission A2' 0.1)" "$TOKEN_A"
expect "POST /accounts keeps minimum_balance with four decimals" 201 \
	'.minimum_balance == "0.1000"'
ACC_A2=$(field .account_number)
req POST $W/accounts "$(account "$CODE_B" FLOAT_ACCOUNT 'Float B1')" "$TOKEN_B"
ACC_B1=$(field .account_number)
req POST $W/accounts "$(account "$CODE_A" NO_SUCH_TYPE 'X')" "$TOKEN_A"
expect "POST /accounts with an unknown account_type_code is 400" 400
req POST $W/accounts "$(account "$CODE_A" FLOAT_ACCOUNT 'X' | jq -c '.currency = "XXX"')" \
	"$TOKEN_A"
expect "POST /accounts with an unknown currency is 400 WL015" 400 '.error.code == "UNKNOWN_CURRENCY"'
req POST $W/accounts "$(account "$CODE_A" FLOAT_ACCOUNT 'X' | jq -c 'del(.status)')" "$TOKEN_A"
expect "POST /accounts without status is 400" 400 '.error.details[0].field == "status"'
req POST $W/accounts "$(account NOSUCHCODE1 FLOAT_ACCOUNT 'X')" "$TOKEN_A"
expect "POST /accounts for an unknown client is 404" 404 '.error.code == "OWNER_NOT_FOUND"'

# --- client services
service() { # CLIENT_CODE [FEE_TYPE FEE]
	jq -nc --arg c "$1" --arg ft "${2:-FIXED}" --argjson f "${3:-0}" '{client_code: $c,
		client_service_name: "Payout KES Nairobi", service_code: "CUSTOM_SERVICE",
		has_transaction_fee: ($f > 0), transaction_fee_type: $ft, transaction_fee: $f,
		minimum_transaction_amount: 1.0, maximum_transaction_amount: 5000.0, is_active: 1}'
}
req POST $W/client-services "$(service "$CODE_A")" "$TOKEN_A"
expect "POST /client-services creates a service" 201 \
	'.client_service_code | length > 0' '.client_code == "'"$CODE_A"'"' \
	'.has_transaction_fee == false' '.is_active == 1' '.transaction_fee == 0'
SVC_A=$(field .client_service_code)
req POST $W/client-services "$(service "$CODE_A" PERCENTAGE 4)" "$TOKEN_A"
expect "POST /client-services with a 4% fee" 201 '.has_transaction_fee == true' \
	'.transaction_fee_type == "PERCENTAGE"' '.transaction_fee == 4'
SVC_A_FEE=$(field .client_service_code)
# the spec's own example: a FIXED fee of 0.0 keeps its type and answers the number 0
req POST $W/client-services "$(service "$CODE_A" | jq -c '.has_transaction_fee = true')" \
	"$TOKEN_A"
expect "POST /client-services with a FIXED fee of 0.0 (the spec's example)" 201 \
	'.has_transaction_fee == true' '.transaction_fee_type == "FIXED"' '.transaction_fee == 0'

req POST $W/client-services "$(service "$CODE_B")" "$TOKEN_B"
SVC_B=$(field .client_service_code)
req POST $W/client-services "$(service "$CODE_A" | jq -c 'del(.minimum_transaction_amount)')" \
	"$TOKEN_A"
expect "POST /client-services without limits is 400" 400 \
	'.error.details[0].field == "minimum_transaction_amount"'
req POST $W/client-services "$(service "$CODE_A" BOGUS 5)" "$TOKEN_A"
expect "POST /client-services with a fee but no valid fee type is 400" 400

# --- transactions: CREDIT and DEBIT
txn() { # ACCOUNT SERVICE AMOUNT REF
	jq -nc --arg a "$1" --arg s "$2" --argjson m "$3" --arg r "$4" '{account_number: $a,
		client_service_code: $s, transaction_source: "EXTERNAL", transaction_amount: $m,
		source_transaction_id: $r, source_transaction_data: {data: "test"},
		transaction_narration: "Test", transaction_date: "2024-07-29T12:34:56Z"}'
}
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 1000 c-1)" "$TOKEN_A"
expect "CREDIT shows amounts with four decimals and both balances" 201 \
	'.transaction_type == "CREDIT"' '.transaction_amount == "1000.0000"' \
	'.previous_balance == "0.0000"' '.current_balance == "1000.0000"' \
	'.currency == "KES"' '.account == "'"$ACC_A1"'"' '.client_service == "'"$SVC_A"'"' \
	'.other_party_account | test("^WAAS-SETTLE-")' '.other_party_transaction_hash == "N/A"' \
	'.source_transaction_id == "c-1"' '.source_transaction_data.data == "test"' \
	'.transaction_id | test("^[0-9]+$")'
CREDIT_ID=$(field .transaction_id)
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 1000 c-1)" "$TOKEN_A"
expect "a retried CREDIT (same source_transaction_id) returns the first result" 201 \
	'.transaction_id == "'"$CREDIT_ID"'"' '.current_balance == "1000.0000"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 999 c-1)" "$TOKEN_A"
expect "the same source_transaction_id with another amount is 409 WL003" 409 \
	'.error.code == "IDEMPOTENCY_CONFLICT"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A_FEE" 100 c-fee)" "$TOKEN_A"
expect "CREDIT under a 4% service credits the net amount (spec: 100 -> 96.0000)" 201 \
	'.transaction_amount == "96.0000"' '.previous_balance == "1000.0000"' \
	'.current_balance == "1096.0000"'
req POST "$W/transactions?command=DEBIT" "$(txn "$ACC_A1" "$SVC_A" 96 d-1)" "$TOKEN_A"
expect "DEBIT lowers the balance" 201 '.transaction_type == "DEBIT"' \
	'.previous_balance == "1096.0000"' '.current_balance == "1000.0000"'
req POST "$W/transactions?command=DEBIT" "$(txn "$ACC_A2" "$SVC_A" 5 d-2)" "$TOKEN_A"
expect "DEBIT beyond the balance is 422 WL001" 422 '.error.code == "INSUFFICIENT_FUNDS"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 0.5 c-small)" "$TOKEN_A"
expect "an amount under the service minimum is 422 WL042" 422 '.error.code == "SERVICE_AMOUNT"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 9000 c-big)" "$TOKEN_A"
expect "an amount over the service maximum is 422 WL042" 422 '.error.code == "SERVICE_AMOUNT"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 1.001 c-dec)" "$TOKEN_A"
expect "more decimals than KES has is 400 WL010" 400 '.error.code == "INVALID_AMOUNT"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" -5 c-neg)" "$TOKEN_A"
expect "a negative amount is 400 WL010" 400 '.error.code == "INVALID_AMOUNT"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" '"ten"' c-txt)" "$TOKEN_A"
expect "a non-numeric amount is 400 naming the field" 400 \
	'.error.details[0].field == "transaction_amount"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_A" 10 c-nodate |
	jq -c 'del(.transaction_date)')" "$TOKEN_A"
expect "a transaction without transaction_date is 400" 400 \
	'.error.details[0].field == "transaction_date"'
req POST "$W/transactions?command=PAY" "$(txn "$ACC_A1" "$SVC_A" 10 c-cmd)" "$TOKEN_A"
expect "an unknown command is 400" 400
req POST "$W/transactions" "$(txn "$ACC_A1" "$SVC_A" 10 c-nocmd)" "$TOKEN_A"
expect "a missing command is 400" 400
req POST "$W/transactions?command=CREDIT" "$(txn 99999999 "$SVC_A" 10 c-acc)" "$TOKEN_A"
expect "an unknown account is 404 WL005" 404 '.error.code == "ACCOUNT_NOT_FOUND"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" NOSUCHSVC 10 c-svc)" "$TOKEN_A"
expect "an unknown client service is 404 WL040" 404 '.error.code == "SERVICE_NOT_FOUND"'

# --- account transfers
xfer() { # FROM TO SERVICE AMOUNT REF
	jq -nc --arg f "$1" --arg t "$2" --arg s "$3" --argjson m "$4" --arg r "$5" '{
		source_account_number: $f, destination_account_number: $t, client_service_code: $s,
		transaction_amount: $m, source_transaction_id: $r, transaction_source: "INTERNAL",
		source_transaction_data: {}, transaction_narration: "Transfer for payment",
		transaction_date: "2022-07-29T12:34:56Z"}'
}
req POST $W/account-transfers "$(xfer "$ACC_A1" "$ACC_A2" "$SVC_A" 10 t-1)" "$TOKEN_A"
expect "POST /account-transfers shows both sides" 201 \
	'.source_transaction.transaction_type == "DEBIT"' \
	'.source_transaction.previous_balance == "1000.0000"' \
	'.source_transaction.current_balance == "990.0000"' \
	'.source_transaction.other_party_account == "'"$ACC_A2"'"' \
	'.destination_transaction.transaction_type == "CREDIT"' \
	'.destination_transaction.transaction_amount == "10.0000"' \
	'.destination_transaction.previous_balance == "0.0000"' \
	'.destination_transaction.current_balance == "10.0000"' \
	'.source_transaction.transaction_id != .destination_transaction.transaction_id'
XFER_ID=$(field .source_transaction.transaction_id)
req POST $W/account-transfers "$(xfer "$ACC_A2" "$ACC_A1" "$SVC_A" 50 t-2)" "$TOKEN_A"
expect "a transfer below the source's minimum balance is 422 WL001" 422 \
	'.error.code == "INSUFFICIENT_FUNDS"'
req POST $W/account-transfers "$(xfer "$ACC_A1" "$ACC_A2" "$SVC_A" 10 t-3 |
	jq -c 'del(.destination_account_number)')" "$TOKEN_A"
expect "a transfer without destination is 400" 400 \
	'.error.details[0].field == "destination_account_number"'

# --- reversal
req POST "$W/transactions/$XFER_ID?command=REVERSE" '' "$TOKEN_A"
expect "REVERSE that would take an account below its minimum balance is 422 WL001" 422 \
	'.error.code == "INSUFFICIENT_FUNDS"'
req POST "$W/transactions?command=DEBIT" "$(txn "$ACC_A1" "$SVC_A" 100 d-rev)" "$TOKEN_A"
DEBIT_ID=$(field .transaction_id)
req POST "$W/transactions/$DEBIT_ID?command=REVERSE" '' "$TOKEN_A"
expect "REVERSE mirrors a DEBIT with both balances" 201 \
	'.destination_transaction.account == "'"$ACC_A1"'"' \
	'.destination_transaction.transaction_type == "CREDIT"' \
	'.destination_transaction.previous_balance == "890.0000"' \
	'.destination_transaction.current_balance == "990.0000"' \
	'.destination_transaction.transaction_amount == "100.0000"' \
	'.source_transaction.account | test("^WAAS-SETTLE-")' \
	'.source_transaction.transaction_type == "DEBIT"'
REV_ID=$(field .source_transaction.transaction_id)
req POST "$W/transactions/$DEBIT_ID?command=REVERSE" '' "$TOKEN_A"
expect "reversing again returns the first reversal (idempotent)" 201 \
	'.source_transaction.transaction_id == "'"$REV_ID"'"' \
	'.destination_transaction.current_balance == "990.0000"'
req POST "$W/transactions/$REV_ID?command=REVERSE" '' "$TOKEN_A"
expect "reversing a reversal is 409 WL007" 409 '.error.code == "NOT_REVERSIBLE"'
req POST "$W/transactions/99999999?command=REVERSE" '' "$TOKEN_A"
expect "reversing an unknown transaction is 404 WL014" 404 '.error.code == "JOURNAL_NOT_FOUND"'
req POST "$W/transactions/abc?command=REVERSE" '' "$TOKEN_A"
expect "a non-numeric transaction id is 404" 404
req POST "$W/transactions/$CREDIT_ID?command=CREDIT" '' "$TOKEN_A"
expect "POST /transactions/:id needs command=REVERSE" 400

# --- GET /accounts/:id/balance (an addition to the spec: the read of bench/bridge_run)
req GET "$W/accounts/$ACC_A1/balance" '' "$TOKEN_A"
expect "GET /accounts/:id/balance shows the balance with four decimals" 200 \
	'.account_number == "'"$ACC_A1"'"' '.currency == "KES"' \
	'.balance | test("^[0-9]+\\.[0-9]{4}$")' '.available_balance == .balance' \
	'.status == "ACTIVE"'
req GET "$W/accounts/99999999/balance" '' "$TOKEN_A"
expect "GET /accounts/:id/balance of an unknown account is 404 WL005" 404 \
	'.error.code == "ACCOUNT_NOT_FOUND"'
req GET "$W/accounts/$ACC_A1/balance"
expect "GET /accounts/:id/balance without a token is 401" 401
