# shellcheck shell=bash
# test/e2e/30_tenants.sh — one client (tenant B) trying to read or move another client's
# (tenant A's) money through every endpoint: all must fail, as "not found", and A's
# balances must not change. Sourced by test/e2e/run after 20_waas.sh.
W=/waas/api/v1

balance_of() { sql -c "SELECT balance FROM pg_wallet.get_balance('$1')"; }
BEFORE_A1=$(balance_of "$ACC_A1")

req POST $W/accounts "$(account "$CODE_A" FLOAT_ACCOUNT 'stolen')" "$TOKEN_B"
expect "B cannot open an account for A's client" 404 '.error.code == "OWNER_NOT_FOUND"'
req POST $W/client-services "$(service "$CODE_A")" "$TOKEN_B"
expect "B cannot create a service for A's client" 404 '.error.code == "OWNER_NOT_FOUND"'
req POST "$W/transactions?command=DEBIT" "$(txn "$ACC_A1" "$SVC_B" 10 b-1)" "$TOKEN_B"
expect "B cannot DEBIT A's account" 404 '.error.code == "ACCOUNT_NOT_FOUND"'
req POST "$W/transactions?command=CREDIT" "$(txn "$ACC_A1" "$SVC_B" 10 b-2)" "$TOKEN_B"
expect "B cannot CREDIT A's account" 404 '.error.code == "ACCOUNT_NOT_FOUND"'
req POST "$W/transactions?command=DEBIT" "$(txn "$ACC_B1" "$SVC_A" 10 b-3)" "$TOKEN_B"
expect "B cannot use A's client service" 404 '.error.code == "SERVICE_NOT_FOUND"'
req POST $W/account-transfers "$(xfer "$ACC_A1" "$ACC_B1" "$SVC_B" 10 b-4)" "$TOKEN_B"
expect "B cannot transfer out of A's account" 404 '.error.code == "ACCOUNT_NOT_FOUND"'
req POST $W/account-transfers "$(xfer "$ACC_B1" "$ACC_A1" "$SVC_B" 10 b-5)" "$TOKEN_B"
expect "B cannot transfer into A's account" 404 '.error.code == "ACCOUNT_NOT_FOUND"'
req POST "$W/transactions/$CREDIT_ID?command=REVERSE" '' "$TOKEN_B"
expect "B cannot reverse A's transaction" 404 '.error.code == "JOURNAL_NOT_FOUND"'
req POST $W/account-transfers "$(xfer "$ACC_A1" "$ACC_A2" "$SVC_A" 10 a-x)" "$TOKEN_B"
expect "B cannot use A's accounts and service together" 404
check "A's balance is unchanged" test "$(balance_of "$ACC_A1")" = "$BEFORE_A1"
req GET "$W/accounts/$ACC_A1/balance" '' "$TOKEN_B"
expect "B cannot read the balance of A's account (404)" 404 '.error.code == "ACCOUNT_NOT_FOUND"'

# a token of a logged-out session is refused
req POST $W/auth/login '{"username": "tenant_b", "password": "Tenant-pass2"}'
TOKEN_B2=$(field .access_token)
sql -c "SELECT pg_wallet.logout('$TOKEN_B2')" >/dev/null
req POST $W/clients "$CLIENT" "$TOKEN_B2"
expect "a revoked token is 401 WL025" 401 '.error.code == "TOKEN_REVOKED"'

# the bridge's role can run the API functions and nothing else
check "the bridge role cannot read tables" bash -c "! '${PSQL[0]}' -X -h '$E2E_DIR' \
	-p '$PGPORT' -U pgwallet_bridge -d pgwallet -c 'SELECT * FROM pg_wallet.accounts' \
	>/dev/null 2>&1"
check "the bridge role cannot call core functions" bash -c "! '${PSQL[0]}' -X -h '$E2E_DIR' \
	-p '$PGPORT' -U pgwallet_bridge -d pgwallet \
	-c \"SELECT pg_wallet.credit('$ACC_A1', 1, '$ACC_A2')\" >/dev/null 2>&1"
