# shellcheck shell=bash
# test/e2e/35_sellapay.sh — every endpoint of sellapay-api.md through the bridge: authorize
# with X-API-KEY/X-API-SECRET, getBalance, requestStkPush, sendFundsToMobile,
# sendFundsToSellapay, sendFundsToLocalBank; their 400/401/402/404 bodies, X-Process-Time,
# X-RateLimit-* and the authorize limit (10/min per address). Sourced by test/e2e/run.
S=/sellapay/api/v1

merchant() { # EMAIL: prints "api_key api_secret"
	sql -c "SELECT c.api_key || ' ' || c.api_secret FROM pg_wallet.create_api_credential(
		(pg_wallet.create_principal('merchant', email => '$1')).principal_id) c"
}
read -r KEY_A SECRET_A <<<"$(merchant shop-a@example.com)"
read -r KEY_B SECRET_B <<<"$(merchant shop-b@example.com)"
# partners on a closed port: requests stay pending (the outbox retries in the background)
sql -c "SELECT pg_wallet.create_partner('Sim M-Pesa', 'KE', 'mpesa', 'generic_json',
	'http://127.0.0.1:9/', ARRAY['KES'])" -c "SELECT pg_wallet.create_partner('Sim Bank', 'KE',
	'bank_transfer', 'generic_json', 'http://127.0.0.1:9/', ARRAY['KES'])" >/dev/null

authorize() { # KEY SECRET
	STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' -X POST \
		${1:+-H "X-API-KEY: $1"} ${2:+-H "X-API-SECRET: $2"} -d '{}' "$URL$S/authorize")
	[ -z "${E2E_RESPONSE_LOG-}" ] || record_response POST "$S/authorize"
}
authorize "$KEY_A" "$SECRET_A"
expect "authorize returns a token and the account" 200 '.message == "User authorized"' \
	'.access_token | test("^eyJ")' '.expires_in == 3600' '.account | length > 0'
SP_TOKEN_A=$(field .access_token)
SP_ACC_A=$(field .account)
check "replies carry X-Process-Time" bash -c "grep -Eqi '^x-process-time: [0-9]+ms' \
	'$E2E_DIR/headers'"
check "authorize carries X-RateLimit-Limit 10 and a reset time" bash -c \
	"grep -qi '^x-ratelimit-limit: 10' '$E2E_DIR/headers' &&
	 grep -Eqi '^x-ratelimit-reset: [0-9]{10}' '$E2E_DIR/headers'"
authorize "$KEY_B" "$SECRET_B"
SP_TOKEN_B=$(field .access_token)
SP_ACC_B=$(field .account)
authorize "$KEY_A" ""
expect "authorize without the secret is 400" 400 \
	'.error == "Missing API key or secret code"'
authorize "$(printf 'k%.0s' $(seq 300))" "$SECRET_A"
expect "authorize with a key longer than any issued is the same 401" 401 \
	'.error == "Unauthorized"' '.message == "Invalid API key or secret code"'
authorize "$KEY_A" "sk_wrong"
expect "authorize with a wrong secret is 401" 401 '.error == "Unauthorized"' \
	'.message == "Invalid API key or secret code"'

req GET $S/getBalance '' "$SP_TOKEN_A"
expect "getBalance of a new account" 200 '.message == "Balance retrieved"' \
	'.balance.KES == 0' '.primary_currency == "KES"' '.timestamp > 1700000000'
check "getBalance carries X-RateLimit-Limit 100 per token" bash -c \
	"grep -qi '^x-ratelimit-limit: 100' '$E2E_DIR/headers' &&
	 grep -qi '^x-ratelimit-remaining: 99' '$E2E_DIR/headers'"
req GET $S/getBalance
expect "getBalance without a token is 401" 401 \
	'.error == "Invalid or expired access token"' \
	'.message == "Please re-authorize to get a new token"'
req GET $S/getBalance '' "$FORGED"
expect "getBalance with a forged token is 401" 401
req GET $S/getBalance '' "$TOKEN_A"
expect "a WaaS client token is not a Sellapay token (401, the spec's body, no reason given)" \
	401 '.error == "Invalid or expired access token"' '.details == {}'

sql -c "SELECT pg_wallet.credit('$SP_ACC_A', 500, 'SYS-SUSPENSE-KES', 'e2e-fund-a')" >/dev/null
req GET $S/getBalance '' "$SP_TOKEN_A"
expect "getBalance shows the funds" 200 '.balance.KES == 500'
# (amounts below stay under the KYC tier 0 limit of 1,000 KES per transaction)

# requestStkPush
req POST $S/requestStkPush '{"phone": "612345678", "amount": 100}' "$SP_TOKEN_A"
expect "requestStkPush with a bad phone is 400 naming the field" 400 \
	'.error == "Validation error"' '.details.field == "phone"' \
	'.details.reason == "Phone must start with 7 or 1"'
req POST $S/requestStkPush '{"phone": "712345678"}' "$SP_TOKEN_A"
expect "requestStkPush without amount is 400" 400 '.details.field == "amount"'
req POST $S/requestStkPush '{"phone": "712345678", "amount": -5}' "$SP_TOKEN_A"
expect "requestStkPush with a negative amount is 400" 400 '.details.field == "amount"'
req POST $S/requestStkPush \
	'{"phone": "712345678", "amount": 100, "reference": "INV-1", "description": "Services"}' \
	"$SP_TOKEN_A"
expect "requestStkPush initiates a pending push" 200 '.message == "STK push initiated"' \
	'.phone == "254712345678"' '.amount == 100' '.status == "pending"' \
	'.transaction_id | length > 0'

# sendFundsToMobile
req POST $S/sendFundsToMobile '{"phone": "712345678", "amount": 800}' "$SP_TOKEN_A"
expect "sendFundsToMobile beyond the balance is 402 with required and available" 402 \
	'.error == "Insufficient balance"' '.required == 800' '.available == 500'
req POST $S/sendFundsToMobile '{"phone": "0712345678", "amount": 10}' "$SP_TOKEN_A"
expect "sendFundsToMobile with a bad phone is 400" 400 '.details.field == "phone"'
req POST $S/sendFundsToMobile '{"phone": "712345678", "amount": 100, "reference": "M-1"}' \
	"$SP_TOKEN_A"
expect "sendFundsToMobile sends" 200 '.message == "Funds sent successfully"' \
	'.phone == "254712345678"' '.amount == 100'

# sendFundsToSellapay
req POST $S/sendFundsToSellapay "{\"account\": \"$SP_ACC_B\", \"amount\": 50,
	\"reference\": \"S-1\"}" "$SP_TOKEN_A"
expect "sendFundsToSellapay moves funds to another account" 200 \
	'.message == "Funds sent successfully"' '.recipient_account == "'"$SP_ACC_B"'"' \
	'.amount == 50' '.status == "completed"'
req GET $S/getBalance '' "$SP_TOKEN_B"
expect "the recipient sees the funds" 200 '.balance.KES == 50'
req POST $S/sendFundsToSellapay '{"account": "NO-SUCH-ACCOUNT", "amount": 5}' "$SP_TOKEN_A"
expect "sendFundsToSellapay to an unknown account is 404" 404 '.error == "Not Found"'
# the base path alone (no route): 404 in Sellapay's shape, not another profile's
req GET $S '' "$SP_TOKEN_A"
expect "the bare base path $S is Sellapay's 404" 404 '.error == "Not Found"' \
	'.details == {}'
req GET /tribble/api/v1 '' ""
expect "... and Tribble's base path Tribble's 404" 404 '.statusCode == 404' \
	'.errorCode == "NOT_FOUND"'
req POST $S/sendFundsToSellapay '{"amount": 5}' "$SP_TOKEN_A"
expect "sendFundsToSellapay without account is 400" 400 '.details.field == "account"'
req POST $S/sendFundsToSellapay "{\"account\": \"$SP_ACC_A\", \"amount\": 800}" "$SP_TOKEN_B"
expect "sendFundsToSellapay beyond the balance is 402" 402 '.available == 50'

# sendFundsToLocalBank
BANK='{"bank_code": "015", "account_number": "0123456789", "amount": 900,
	"account_name": "John Doe"}'
req POST $S/sendFundsToLocalBank "$BANK" "$SP_TOKEN_A"
expect "sendFundsToLocalBank beyond the balance is 402" 402 '.error == "Insufficient balance"'
req POST $S/sendFundsToLocalBank "$(jq -c '.amount = 20 | .reference = "B-1"' <<<"$BANK")" \
	"$SP_TOKEN_A"
expect "sendFundsToLocalBank sends to a known bank" 200 '.bank | length > 0' \
	'.account_number == "0123456789"' '.amount == 20'
req POST $S/sendFundsToLocalBank "$(jq -c '.bank_code = "999" | .amount = 10' <<<"$BANK")" \
	"$SP_TOKEN_A"
expect "sendFundsToLocalBank with an unknown bank is 400" 400 '.error == "Validation error"'
req POST $S/sendFundsToLocalBank "$(jq -c 'del(.account_name)' <<<"$BANK")" "$SP_TOKEN_A"
expect "sendFundsToLocalBank without account_name is 400" 400 \
	'.details.field == "account_name"'

# B cannot spend A's money: every Sellapay call moves the caller's own account only
req GET $S/getBalance '' "$SP_TOKEN_A"
BAL_A=$(field .balance.KES)
req POST $S/sendFundsToMobile '{"phone": "712345678", "amount": 1, "reference": "M-1"}' \
	"$SP_TOKEN_B"
expect "B may use a reference A used: references are per merchant" 200 \
	'.message == "Funds sent successfully"' '.amount == 1'
TX_B=$(field .transaction_id)
req POST $S/sendFundsToMobile '{"phone": "712345678", "amount": 1, "reference": "M-1"}' \
	"$SP_TOKEN_B"
expect "B's retry with its reference replays B's payout" 200 ".transaction_id == \"$TX_B\""
req GET $S/getBalance '' "$SP_TOKEN_A"
expect "B reusing A's reference does not touch A's balance" 200 ".balance.KES == $BAL_A"

# the authorize limit: 10 per minute per address, in fixed wall-clock minutes: 22 tries, so
# that a minute that ends during the loop (its count starting again) still leaves 11 in one
for _ in $(seq 22); do
	authorize "$KEY_A" "$SECRET_A"
	[ "$STATUS" = 429 ] && break
done
expect "authorize over 10/min is 429" 429 '.error == "Too Many Requests"'
check "a 429 carries Retry-After and X-RateLimit-Remaining 0" bash -c \
	"grep -qi '^retry-after: [0-9]' '$E2E_DIR/headers' &&
	 grep -qi '^x-ratelimit-remaining: 0' '$E2E_DIR/headers'"

req POST /waas/api/v1/clients "$CLIENT" "$SP_TOKEN_A"
expect "a Sellapay token is not a WaaS token (401 WL023)" 401 '.error.code == "TOKEN_SIGNATURE"'
