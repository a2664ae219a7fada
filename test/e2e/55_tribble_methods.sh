# shellcheck shell=bash
# test/e2e/55_tribble_methods.sh — Tribble payment methods (issue 13) with curl:
# POST /payment-methods (a card, tokenised; a bank account, masked), GET /payment-methods,
# DELETE /payment-methods/:paymentMethodId, each body checked field by field against the spec
# (and nothing more: never the number, the CVV or the token); bad cards are 400 or 422 in the
# Tribble error format and change nothing; another user can neither see, delete nor fund
# from a user's method (404); POST /wallets/fund takes only the caller's active methods;
# last, neither a backup (pg_dump of the database) nor the server's and the bridge's logs
# hold a card number or a CVV. Sourced by test/e2e/run after 45_tribble (ERRFMT, reg, the card
# partner).
T=/tribble/api/v1
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
	per_day = 1000000" >/dev/null
YEAR=$(($(date -u +%Y) + 3))
PAN=4111111111111111
req POST $T/auth/register "$(reg tribble-pm-p@example.com +254700000551)"
req POST $T/auth/register "$(reg tribble-pm-q@example.com +254700000552)"
req POST $T/auth/login '{"email": "tribble-pm-p@example.com", "password": "SecurePassword123!"}'
TP=$(field .accessToken)
req POST $T/auth/login '{"email": "tribble-pm-q@example.com", "password": "SecurePassword123!"}'
TQ=$(field .accessToken)
PW=$(sql -c "SELECT (pg_wallet.create_account(owner_id, 'KES')).account_number
	FROM pg_wallet.principals WHERE email = 'tribble-pm-p@example.com'")
QW=$(sql -c "SELECT (pg_wallet.create_account(owner_id, 'KES')).account_number
	FROM pg_wallet.principals WHERE email = 'tribble-pm-q@example.com'")
pm_card() { # NUMBER MONTH YEAR CVV [EXTRA JSON FIELDS]: a card body
	echo '{"type": "card", "cardNumber": "'"$1"'", "cardholderName": "John Doe",
		"expiryMonth": '"$2"', "expiryYear": '"$3"', "cvv": "'"$4"'"'"${5:+, $5}"'}'
}
CARD_KEYS='["paymentMethodId", "type", "last4Digits", "cardholderName", "expiryMonth",
	"expiryYear", "brand", "isDefault", "isActive", "createdAt", "message"] | sort'
LIST_CARD_KEYS='["paymentMethodId", "type", "last4Digits", "brand", "expiryMonth", "expiryYear",
	"isDefault", "isActive"] | sort'
LIST_BANK_KEYS='["paymentMethodId", "type", "bankName", "accountNumber", "accountHolder",
	"isDefault", "isActive"] | sort'

# --- POST /payment-methods ---
req POST $T/payment-methods "$(pm_card $PAN 12 "$YEAR" 047 '"isDefault": true')" "$TP"
expect "a card is saved, tokenised (201, the spec's fields)" 201 \
	'.paymentMethodId | test("^card-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")' \
	'.type == "card"' '.last4Digits == "1111"' '.cardholderName == "John Doe"' \
	'.expiryMonth == 12' ".expiryYear == $YEAR" '.brand == "VISA"' '.isDefault == true' \
	'.isActive == true' '.createdAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' \
	'.message == "Card added successfully. Card has been tokenized."' "keys == ($CARD_KEYS)"
PM_CARD=$(field .paymentMethodId)
req POST $T/payment-methods '{"type": "bank_account", "bankName": "GTBank",
	"accountNumber": "0123455678", "accountHolder": "John Doe"}' "$TP"
expect "a bank account is saved, its number masked (201)" 201 \
	'.paymentMethodId | test("^bank-[0-9a-f-]{36}$")' '.type == "bank_account"' \
	'.bankName == "GTBank"' '.accountNumber == "****5678"' '.accountHolder == "John Doe"' \
	'.isDefault == false' '.isActive == true' '.createdAt | test("Z$")' \
	'.message == "Bank account added successfully."'
PM_BANK=$(field .paymentMethodId)

# --- GET /payment-methods ---
req GET $T/payment-methods '' "$TP"
expect "the list shows the caller's methods as the spec does (200)" 200 \
	'keys == ["paymentMethods"]' '.paymentMethods | length == 2' \
	".paymentMethods[0] | keys == ($LIST_CARD_KEYS)" \
	".paymentMethods[1] | keys == ($LIST_BANK_KEYS)" \
	'.paymentMethods[0] == {"paymentMethodId": "'"$PM_CARD"'", "type": "card",
		"last4Digits": "1111", "brand": "VISA", "expiryMonth": 12, "expiryYear": '"$YEAR"',
		"isDefault": true, "isActive": true}' \
	'.paymentMethods[1] == {"paymentMethodId": "'"$PM_BANK"'", "type": "bank_account",
		"bankName": "GTBank", "accountNumber": "****5678", "accountHolder": "John Doe",
		"isDefault": false, "isActive": true}'
req GET $T/payment-methods '' "$TQ"
expect "another user's list is their own (empty)" 200 '.paymentMethods == []'
req GET $T/payment-methods
expect "GET /payment-methods without a token is 401" 401 '.errorCode == "UNAUTHORIZED"' \
	"$ERRFMT"

# --- bad cards: 400 or 422, nothing saved; no error body holds a card number ---
NOPAN='tostring | test("4111111111111111|4111111111111112|3530111333300000|378282246310005")
	| not'
req POST $T/payment-methods "$(pm_card 4111111111111112 12 "$YEAR" 047)" "$TP"
expect "a number failing Luhn is 422 UNPROCESSABLE_ENTITY naming cardNumber" 422 \
	'.statusCode == 422' '.errorCode == "UNPROCESSABLE_ENTITY"' \
	'.details.field == "cardNumber"' '.message | test("check digit")' "$ERRFMT" "$NOPAN"
req POST $T/payment-methods "$(pm_card 3530111333300000 12 "$YEAR" 047)" "$TP"
expect "an unsupported brand is 422" 422 '.message | test("brand not supported")' "$NOPAN"
req POST $T/payment-methods "$(pm_card $PAN 1 2020 047)" "$TP"
expect "an expired card is 422 naming expiryYear" 422 '.details.field == "expiryYear"' \
	'.message | test("expired")' "$NOPAN"
req POST $T/payment-methods "$(pm_card $PAN 13 "$YEAR" 047)" "$TP"
expect "month 13 is 400 INVALID_REQUEST naming expiryMonth" 400 \
	'.errorCode == "INVALID_REQUEST"' '.details.field == "expiryMonth"' "$ERRFMT"
req POST $T/payment-methods "$(pm_card $PAN 12 "$YEAR" 4a7)" "$TP"
expect "a malformed CVV is 400 naming cvv" 400 '.details.field == "cvv"' \
	'.message == "cvv must be 3 digits (4 for AMEX)"' "$NOPAN"
req POST $T/payment-methods "$(pm_card 378282246310005 12 "$YEAR" 047)" "$TP"
expect "an AMEX with a 3-digit CVV is 400" 400 '.details.field == "cvv"'
req POST $T/payment-methods '{"type": "card", "cardNumber": 4111111111111111,
	"cardholderName": "John Doe", "expiryMonth": 12, "expiryYear": 2030, "cvv": "047"}' "$TP"
expect "a card number that is not a JSON string is 400" 400 '.details.field == "cardNumber"' \
	"$NOPAN"
req POST $T/payment-methods '{"type": "card", "cardNumber": "'"$PAN"'", "cardholderName": "'"$(
	printf 'x%.0s' {1..101})"'", "expiryMonth": 12, "expiryYear": '"$YEAR"', "cvv": "047"}' "$TP"
expect "a cardholder name over 100 characters is 400" 400 '.details.field == "cardholderName"'
req POST $T/payment-methods '{"type": "paypal"}' "$TP"
expect "an unknown type is 400 naming type" 400 '.details.field == "type"'
req POST $T/payment-methods '{"type": "bank_account", "bankName": "GTBank",
	"accountNumber": "12-34", "accountHolder": "John Doe"}' "$TP"
expect "a bank account number that is not digits is 400" 400 \
	'.details.field == "accountNumber"'
req POST $T/payment-methods "$(pm_card $PAN 6 "$YEAR" 099)" "$TP"
expect "the same card again is 409 CONFLICT" 409 '.errorCode == "CONFLICT"' "$ERRFMT" \
	"$NOPAN"
req GET $T/payment-methods '' "$TP"
expect "the refusals saved nothing" 200 '.paymentMethods | length == 2'

# --- another user can neither delete nor fund from it ---
req DELETE "$T/payment-methods/$PM_CARD" '' "$TQ"
expect "another user's DELETE is 404 NOT_FOUND" 404 '.statusCode == 404' \
	'.errorCode == "NOT_FOUND"' "$ERRFMT"
req DELETE "$T/payment-methods/card-00000000-0000-4000-8000-000000000000" '' "$TP"
expect "an unknown id is the same 404" 404 '.errorCode == "NOT_FOUND"' \
	'.message == "payment method not found"'
req POST $T/wallets/fund '{"walletId": "'"$QW"'", "amount": 10,
	"paymentMethodId": "'"$PM_CARD"'"}' "$TQ"
expect "another user's method cannot fund (404)" 404 '.errorCode == "NOT_FOUND"' \
	'.details.field == "paymentMethodId"'
req POST $T/wallets/fund '{"walletId": "'"$PW"'", "amount": 10,
	"paymentMethodId": "card-00000000-0000-4000-8000-000000000000"}' "$TP"
expect "an unknown method cannot fund (404)" 404 '.errorCode == "NOT_FOUND"'
req POST $T/wallets/fund '{"walletId": "'"$PW"'", "amount": 10,
	"paymentMethodId": "'"$PM_CARD"'"}' "$TP"
expect "the caller's own card funds (201 PROCESSING)" 201 '.status == "PROCESSING"' \
	'.walletId == "'"$PW"'"' '.amount == 10'
check "... and the deposit names the method" test "$(sql -c "SELECT payment_method
	FROM pg_wallet.deposits WHERE request_ref = '$(field .transactionId)'")" = "$PM_CARD"

# --- DELETE /payment-methods/:paymentMethodId ---
req DELETE "$T/payment-methods/$PM_CARD" '' "$TP"
expect "DELETE answers the spec's body (200)" 200 \
	'. == {"message": "Payment method deleted successfully", "paymentMethodId": "'"$PM_CARD"'"}'
req GET $T/payment-methods '' "$TP"
expect "the list no longer shows it; the bank account is the default now" 200 \
	'.paymentMethods | length == 1' '.paymentMethods[0].paymentMethodId == "'"$PM_BANK"'"' \
	'.paymentMethods[0].isDefault == true'
check "the row is kept, inactive" test "$(sql -c "SELECT is_active FROM pg_wallet.payment_methods
	WHERE id = '${PM_CARD#card-}'")" = f
req DELETE "$T/payment-methods/$PM_CARD" '' "$TP"
expect "deleting it again is 404" 404 '.errorCode == "NOT_FOUND"'
req POST $T/wallets/fund '{"walletId": "'"$PW"'", "amount": 10,
	"paymentMethodId": "'"$PM_CARD"'"}' "$TP"
expect "a deleted method cannot fund (404)" 404 '.errorCode == "NOT_FOUND"'

# --- no card number, no CVV in clear: a backup (pg_dump), the server's log, the bridge's ---
# a CVV is searched standing alone (not inside hex, uuids, times or numbers)
PANS_RE='4111111111111111|4111111111111112|3530111333300000|378282246310005'
CVV_RE='(^|[^0-9A-Za-z_.:+/-])(047|099|4a7)([^0-9A-Za-z_.:+/-]|$)'
no_match() { ! grep -Eq "$1" "$2"; } # REGEX FILE
"$PGBIN/pg_dump" -h "$E2E_DIR" -p "$PGPORT" -d pgwallet --data-only \
	>"$E2E_DIR/methods.dump" 2>"$E2E_DIR/methods.dump.err"
check "a backup (pg_dump) holds the payment methods (a bank account number is kept)" \
	grep -q "0123455678" "$E2E_DIR/methods.dump"
check "a backup (pg_dump) holds no card number" no_match "$PANS_RE" "$E2E_DIR/methods.dump"
check "a backup (pg_dump) holds no CVV" no_match "$CVV_RE" "$E2E_DIR/methods.dump"
check "the server's log holds no card number" no_match "$PANS_RE" "$E2E_DIR/postgres.log"
check "the server's log holds no CVV" no_match "$CVV_RE" "$E2E_DIR/postgres.log"
check "the bridge's log holds no card number" no_match "$PANS_RE" "$E2E_DIR/bridge.log"
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1, per_hour = 100, per_day = 1000
	WHERE kyc_tier = 0" >/dev/null
