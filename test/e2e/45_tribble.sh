# shellcheck shell=bash
# test/e2e/45_tribble.sh — the Tribble REST profile (tribble-rest-api.md) with curl: auth
# (register, login, refresh-token, logout, kyc-status), the profile, wallets (list with
# pagination, one) and wallets/fund, each documented error in the Tribble error format
# {statusCode, errorCode, message, details, timestamp, requestId}, user B against user A's
# wallets, and the per-KYC-tier rate limit (tribble_rate_limits; raised for the suite, then
# lowered to see a 429). Sourced by test/e2e/run.
T=/tribble/api/v1
check "the KYC tier rate limits are seeded as the spec's table" test "$(sql -c "SELECT
	string_agg(format('%s:%s/%s/%s', kyc_tier, per_second, per_hour, per_day), ' '
	ORDER BY kyc_tier) FROM pg_wallet.tribble_rate_limits")" = \
	"0:1/100/1000 1:5/500/10000 2:10/1000/50000 3:20/5000/100000"
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
	per_day = 1000000" >/dev/null
ERRFMT='(.statusCode | type) == "number" and (.errorCode | type) == "string" and
	(.message | type) == "string" and (.details | type) == "object" and
	(.timestamp | test("Z$")) and (.requestId | length > 0)'

reg() { # EMAIL PHONE
	jq -nc --arg e "$1" --arg p "$2" '{email: $e, password: "SecurePassword123!",
		firstName: "John", lastName: "Doe", phoneNumber: $p, dateOfBirth: "1990-01-15",
		accountType: "individual"}'
}
req POST $T/auth/register "$(reg tribble-a@example.com +254700000201)"
expect "register creates a user (201, KYC PENDING tier 0)" 201 '.userId | test("^[0-9a-f-]{36}$")' \
	'.email == "tribble-a@example.com"' '.kycStatus == "PENDING"' '.kycTier == 0' \
	'.createdAt | test("Z$")' '.message | test("Registration successful")'
TU_A=$(field .userId)
req POST $T/auth/register "$(reg tribble-a@example.com +254700000202)"
expect "register with a taken email is 409 CONFLICT" 409 '.statusCode == 409' \
	'.errorCode == "CONFLICT"' "$ERRFMT"
check "the error's requestId is the X-Request-ID header" test "$(field .requestId)" = \
	"$(header X-Request-ID)"
req POST $T/auth/register "$(reg tribble-x@example.com +254700000203 | jq -c 'del(.lastName)')"
expect "register without lastName is 400 INVALID_REQUEST naming it" 400 \
	'.errorCode == "INVALID_REQUEST"' '.message | test("lastName")' "$ERRFMT"
req POST $T/auth/register "$(reg not-an-email +254700000203)"
expect "register with a bad email is 400" 400 '.errorCode == "INVALID_REQUEST"'
req POST $T/auth/register "$(reg tribble-w@example.com +254700000203 | jq -c '.password = "weak"')"
expect "register with a weak password is 400" 400 '.errorCode == "INVALID_REQUEST"'
req POST $T/auth/register "$(reg tribble-b@example.com +254700000204)"
TU_B=$(field .userId)

req POST $T/auth/login '{"email": "tribble-a@example.com", "password": "SecurePassword123!"}'
expect "login returns tokens and the user" 200 '.accessToken | test("^eyJ")' \
	'.refreshToken | length > 20' '.expiresIn > 0' '.user.userId == "'"$TU_A"'"' \
	'.user.firstName == "John"' '.user.kycStatus == "PENDING"'
TT_A=$(field .accessToken)
TR_A=$(field .refreshToken)
req POST $T/auth/login '{"email": "tribble-a@example.com", "password": "Wrong-pass-1"}'
expect "login with a wrong password is 401 UNAUTHORIZED" 401 '.errorCode == "UNAUTHORIZED"' \
	"$ERRFMT"
req POST $T/auth/login '{"email": "tribble-a@example.com"}'
expect "login without a password is 400" 400 '.message | test("password")'
req POST $T/auth/login '{"email": "tribble-b@example.com", "password": "SecurePassword123!"}'
TT_B=$(field .accessToken)

req POST $T/auth/refresh-token '{"refreshToken": "'"$TR_A"'"}'
expect "refresh-token returns a new access token" 200 '.accessToken | test("^eyJ")' \
	'.expiresIn > 0' '.refreshToken | length > 20'
TT_A2=$(field .accessToken)
req POST $T/auth/refresh-token '{"refreshToken": "rt_not-a-real-refresh-token-at-all"}'
expect "refresh-token with a forged token is 401" 401 '.errorCode == "UNAUTHORIZED"'

req GET $T/auth/kyc-status '' "$TT_A"
expect "kyc-status shows the tier and its limits" 200 '.kycStatus == "PENDING"' \
	'.kycTier == 0' '.documents == []' '.limits.currency == "KES"'
req GET $T/auth/kyc-status
expect "kyc-status without a token is 401" 401 '.errorCode == "UNAUTHORIZED"' "$ERRFMT"
req GET $T/auth/kyc-status '' "$CTOKEN_A"
expect "a cashier token is not a Tribble token (401, no SQLSTATE shown)" 401 \
	'.errorCode == "UNAUTHORIZED"' '.details | has("code") | not'

req GET $T/users/profile '' "$TT_A"
expect "users/profile shows the caller" 200 '.userId == "'"$TU_A"'"' '.lastName == "Doe"' \
	'.phoneNumber == "+254700000201"' '.dateOfBirth == "1990-01-15"' \
	'.accountStatus == "ACTIVE"' '.lastLogin | test("Z$")' '(.password_hash // null) == null'
req GET $T/users/me '' "$TT_A"
expect "users/me is the same profile" 200 '.userId == "'"$TU_A"'"'

# wallets: A gets KES and USD, B gets KES; A's KES is credited 100
TW_A1=$(sql -c "SELECT (pg_wallet.create_account(owner_id, 'KES')).account_number
	FROM pg_wallet.principals WHERE id = '$TU_A'")
TW_A2=$(sql -c "SELECT (pg_wallet.create_account(owner_id, 'USD')).account_number
	FROM pg_wallet.principals WHERE id = '$TU_A'")
TW_B=$(sql -c "SELECT (pg_wallet.create_account(owner_id, 'KES')).account_number
	FROM pg_wallet.principals WHERE id = '$TU_B'")
sql -c "SELECT pg_wallet.credit('$TW_A1', 100, 'SYS-SUSPENSE-KES', 'e2e-tribble-a')" >/dev/null
req GET "$T/wallets" '' "$TT_A"
expect "wallets lists the caller's wallets with pagination" 200 '.wallets | length == 2' \
	'.wallets[0].walletId == "'"$TW_A1"'"' '.wallets[0].balance == 100' \
	'.pagination == {"total": 2, "limit": 20, "offset": 0, "hasMore": false}'
req GET "$T/wallets?limit=1&offset=0" '' "$TT_A"
expect "wallets?limit=1 pages (hasMore true)" 200 '.wallets | length == 1' \
	'.pagination.hasMore == true' '.pagination.total == 2'
req GET "$T/wallets?currency=USD" '' "$TT_A"
expect "wallets?currency=USD filters" 200 '.wallets | length == 1' \
	'.wallets[0].walletId == "'"$TW_A2"'"'
req GET "$T/wallets?limit=500" '' "$TT_A"
expect "wallets?limit=500 is 400" 400 '.errorCode == "INVALID_REQUEST"'
req GET "$T/wallets/$TW_A1" '' "$TT_A"
expect "wallets/:id shows balance and the last transaction" 200 '.walletId == "'"$TW_A1"'"' \
	'.userId == "'"$TU_A"'"' '.balance == 100' '.currency == "KES"' \
	'.lastTransaction.type == "CREDIT"' '.lastTransaction.transactionId | test("^RCP-")'
req GET "$T/wallets/$TW_A1" '' "$TT_B"
expect "B cannot read A's wallet (404 NOT_FOUND)" 404 '.errorCode == "NOT_FOUND"' "$ERRFMT"
req GET "$T/wallets" '' "$TT_B"
expect "B's list holds only B's wallet" 200 '.wallets | length == 1' \
	'.wallets[0].walletId == "'"$TW_B"'"'

# fund: a card partner on a closed port (the request stays PROCESSING or fails later)
sql -c "SELECT pg_wallet.create_partner('Sim Card', 'KE', 'card', 'generic_json',
	'http://127.0.0.1:9/', ARRAY['KES'])" >/dev/null
# funding takes one of the caller's saved payment methods (55_tribble_methods tests them)
req POST $T/payment-methods '{"type": "card", "cardNumber": "4532015112830366",
	"cardholderName": "John Doe", "expiryMonth": 12, "expiryYear": '"$(($(date -u +%Y) + 3))"',
	"cvv": "123", "isDefault": true}' "$TT_A"
expect "A saves a card (201)" 201 '.paymentMethodId | test("^card-")'
TPM_A=$(field .paymentMethodId)
req POST $T/wallets/fund '{"walletId": "'"$TW_A1"'", "amount": 50, "paymentMethodId": "card-001"}' \
	"$TT_A"
expect "wallets/fund with a made-up paymentMethodId is 404" 404 '.errorCode == "NOT_FOUND"' \
	'.details.field == "paymentMethodId"' "$ERRFMT"
req POST $T/wallets/fund '{"walletId": "'"$TW_A1"'", "amount": 50,
	"paymentMethodId": "'"$TPM_A"'"}' "$TT_A"
expect "wallets/fund creates a PROCESSING funding (201)" 201 '.status == "PROCESSING"' \
	'.walletId == "'"$TW_A1"'"' '.amount == 50' '.transactionId | length > 0' \
	'.totalAmount >= 50'
req POST $T/wallets/fund '{"walletId": "'"$TW_A1"'", "amount": 0,
	"paymentMethodId": "'"$TPM_A"'"}' "$TT_A"
expect "wallets/fund of 0 is 400 'Amount must be greater than 0'" 400 \
	'.message == "Amount must be greater than 0"' "$ERRFMT"
req POST $T/wallets/fund '{"walletId": "'"$TW_A1"'", "amount": 5,
	"paymentMethodId": "'"$TPM_A"'"}' "$TT_B"
expect "B cannot fund through A's wallet (404)" 404 '.errorCode == "NOT_FOUND"'
req POST $T/wallets/fund '{"walletId": "'"$TW_A1"'", "amount": 5}' "$TT_A"
expect "wallets/fund without paymentMethodId is 400" 400 '.message | test("paymentMethodId")'
req POST $T/wallets/fund '{not json' "$TT_A"
expect "malformed JSON is 400 in the Tribble format" 400 "$ERRFMT"

# logout: the token stops working
req POST $T/auth/logout '{}' "$TT_A2"
expect "logout" 200 '.message == "Logged out successfully"'
req GET $T/users/profile '' "$TT_A2"
expect "a logged-out token is 401" 401 '.errorCode == "UNAUTHORIZED"'
req POST $T/auth/logout '{"tokenId": "nope"}' "$TT_B"
expect "logout with a malformed tokenId is 400" 400 '.errorCode == "INVALID_REQUEST"'

# the per-KYC-tier rate limit, per user: tier 0 lowered to 3 a day; a new user's first
# answer tells the bridge its limits (and is counted), the next 2 pass, the 4th is refused,
# and so is the first request of another login of the same user (not a fresh budget)
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_day = 3 WHERE kyc_tier = 0" >/dev/null
req POST $T/auth/register "$(reg tribble-c@example.com +254700000203)"
req POST $T/auth/login '{"email": "tribble-c@example.com", "password": "SecurePassword123!"}'
TT_C=$(field .accessToken)
req GET $T/users/me '' "$TT_C"
expect "a token's first request is answered (and reports its tier's limits)" 200 \
	'has("_bridge") | not'
for _ in 1 2; do req GET $T/users/me '' "$TT_C"; done
expect "requests within the tier's limit pass" 200
check "X-RateLimit-Limit is the tier's daily limit" test "$(header X-RateLimit-Limit)" = 3
check "X-RateLimit-Remaining counts down to 0" test "$(header X-RateLimit-Remaining)" = 0
req GET $T/wallets '' "$TT_C"
expect "beyond the tier's limit: 429 RATE_LIMITED with retryAfter and resetAt" 429 \
	'.statusCode == 429' '.errorCode == "RATE_LIMITED"' \
	'.message == "Too many requests. Please try again later."' '.retryAfter > 0' \
	'.resetAt | test("Z$")'
check "a 429 carries Retry-After" test -n "$(header Retry-After)"
req POST $T/auth/login '{"email": "tribble-c@example.com", "password": "SecurePassword123!"}'
TT_C2=$(field .accessToken)
req GET $T/users/me '' "$TT_C2"
req GET $T/users/me '' "$TT_C2"
expect "a new login of the same user shares its budget (429)" 429 '.errorCode == "RATE_LIMITED"'
req POST $T/auth/register "$(reg tribble-d@example.com +254700000204)"
req POST $T/auth/login '{"email": "tribble-d@example.com", "password": "SecurePassword123!"}'
req GET $T/users/me '' "$(field .accessToken)"
expect "another user of the same tier is counted apart" 200
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1, per_hour = 100, per_day = 1000
	WHERE kyc_tier = 0" >/dev/null
