# shellcheck shell=bash
# test/e2e/49_fraud_hold.sh — the fraud decision HOLD over the bridge (issue 12, docs/fraud.md
# "Decisions"): with the weights set so that the address alone scores and the loopback range
# listed at 75 (between hold_from 70 and block_from 80), a user's Sellapay sendFundsToSellapay
# answers 200 status "pending" with a hold_id, reserves the funds and sends nothing; a retry
# under the same reference is the same hold; an admin releases it (SQL: it posts as a
# TRANSFER) and Tribble's risk-score of the posting says HOLD; a second one is rejected and
# its funds come back; a cashier WebSocket transfer is held with the "transfer held for
# review" frame. Every currency sums to zero; the settings are restored at the end.
T=/tribble/api/v1
S=/sellapay/api/v1

read -r HU_P HO_P HACC_P <<<"$(wallet_user hold-p@example.com +254700000493)"
read -r HU_Q HO_Q HACC_Q <<<"$(wallet_user hold-q@example.com +254700000494)"
sql -c "SELECT pg_wallet.credit('$HACC_P', 400, 'SYS-SUSPENSE-KES', 'e2e-hold-p')" >/dev/null
read -r HSP_P HSPA_P <<<"$(sql -c "SELECT r ->> 'access_token', r ->> 'account'
	FROM pg_wallet.create_api_credential('$HU_P') c,
	pg_wallet.api_sellapay_authorize(NULL, jsonb_build_object('credentials',
		jsonb_build_object('api_key', c.api_key, 'api_secret', c.api_secret))) r" | tr '|' ' ')"
check "the hold users exist" test -n "$HU_P" -a -n "$HACC_Q" -a -n "$HSP_P"
balances() { # the payer's "balance available pending" and the payee's balance
	sql -c "SELECT p.balance || ' ' || p.available_balance || ' ' || p.pending_debit || ' / ' ||
		q.balance FROM pg_wallet.get_balance('$HACC_P') p, pg_wallet.get_balance('$HACC_Q') q"
}

sql -c "UPDATE pg_wallet.fraud_settings SET weight_amount = 0, weight_device = 0,
		weight_velocity = 0, weight_geo = 0, weight_ip = 100, weight_beneficiary = 0,
		weight_credential = 0, weight_round = 0, hold_from = 70, block_from = 80" \
	-c "INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
		VALUES ('127.0.0.0/8', 75, 'e2e loopback')" >/dev/null

send() { # AMOUNT REFERENCE: Sellapay sendFundsToSellapay from P to Q
	req POST $S/sendFundsToSellapay "{\"account\": \"$HACC_Q\", \"amount\": $1,
		\"reference\": \"$2\"}" "$HSP_P"
}
send 100 e2e-hold-1
expect "Sellapay: a payment that scores HOLD is 200 pending with its hold" 200 \
	'.status == "pending"' '.message == "Funds held for review"' '.hold_id | type == "number"' \
	'.transaction_id == null'
HOLD1=$(field .hold_id)
check "... the funds are reserved, nothing is sent" test "$(balances)" = \
	"400.00 300.00 100.00 / 0.00"
send 100 e2e-hold-1
expect "... a retry with the same reference is the same hold" 200 '.status == "pending"' \
	".hold_id == $HOLD1"
check "... the admins' queue lists it with its score" test "$(sql -c "SELECT score || ' ' ||
	risk_level FROM pg_wallet.fraud_reviews() WHERE hold_id = $HOLD1")" = "75 HIGH"
check "... no transfer_completed event was emitted" test "$(sql -c "SELECT count(*)
	FROM pg_wallet.events WHERE owner_id = $HO_Q")" = 0

RCPT=$(sql -c "SELECT receipt_code FROM pg_wallet.fraud_review_release($HOLD1)")
check "released by an admin: posted as a transfer" test "$(sql -c "SELECT j.journal_type
	FROM pg_wallet.journals j JOIN pg_wallet.holds h ON h.journal_id = j.id
	WHERE h.id = $HOLD1")" = TRANSFER
check "... the money moved and the reservation is gone" test "$(balances)" = \
	"300.00 300.00 0.00 / 100.00"
check "... and transfer_completed reached the payer and the payee, naming the posting" \
	test "$(sql -c "SELECT count(*) FILTER (WHERE owner_id = $HO_P) || ' ' ||
		count(*) FILTER (WHERE owner_id = $HO_Q) FROM pg_wallet.events
		WHERE event_type = 'transfer_completed' AND payload ->> 'receipt_code' = '$RCPT'
		AND (payload ->> 'amount')::numeric = 100")" = "1 1"
HTT_P=$(sql -c "SELECT access_token FROM pg_wallet.login('hold-p@example.com',
	'Passw0rd-e2e', 'tribble')")
req GET "$T/transactions/$RCPT/risk-score" "" "$HTT_P"
expect "Tribble risk-score of the released payment says HOLD" 200 \
	".transactionId == \"$RCPT\"" '.decision == "HOLD"' '.riskScore == 75' \
	'.riskLevel == "HIGH"'
send 100 e2e-hold-1
expect "Sellapay: the retry after the release is the posted payment" 200 \
	'.status == "completed"' ".transaction_id == \"$RCPT\""

send 50 e2e-hold-2
HOLD2=$(field .hold_id)
sql -c "SELECT pg_wallet.fraud_review_reject($HOLD2, 'e2e: looks like a mule')" >/dev/null
check "rejected by an admin: the funds are available again" test "$(balances)" = \
	"300.00 300.00 0.00 / 100.00"
send 50 e2e-hold-2
check "... and a retry of it is refused (409: the hold is no longer active)" \
	test "$STATUS" = 409

# the cashier WebSocket's transfer
HTOKEN_P=$(sql -c "SELECT access_token FROM pg_wallet.login('hold-p@example.com',
	'Passw0rd-e2e', 'cashier')")
export CASHIER_PSQL="$PGBIN/psql" PGHOST=$E2E_DIR PGPORT PGDATABASE=pgwallet
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "# $line" ;;
	esac
done < <(NODE_PATH=/usr/share/nodejs timeout 90 node "$E2E_ROOT/test/e2e/cashier_verify.js" \
	"${URL/http:/ws:}/cashier/svc/ws" "$HTOKEN_P" "$HU_P" "$HU_Q" hold 2>&1)
check "the cashier's held transfer reserved 25 and sent nothing" test "$(balances)" = \
	"300.00 275.00 25.00 / 100.00"
sql -c "SELECT pg_wallet.fraud_review_reject(hold_id, 'e2e: cleanup')
	FROM pg_wallet.fraud_reviews() WHERE account_number = '$HACC_P'" >/dev/null

sql -c "DELETE FROM pg_wallet.fraud_ip_reputation WHERE ip_range = '127.0.0.0/8'" \
	-c "UPDATE pg_wallet.fraud_settings SET weight_amount = DEFAULT, weight_device = DEFAULT,
		weight_velocity = DEFAULT, weight_geo = DEFAULT, weight_ip = DEFAULT,
		weight_beneficiary = DEFAULT, weight_credential = DEFAULT, weight_round = DEFAULT,
		verify_from = DEFAULT, hold_from = DEFAULT, block_from = DEFAULT" >/dev/null
check "the hold test leaves no open review and the ledger verified" test "$(sql -c \
	"SELECT count(*) FROM pg_wallet.fraud_reviews()") $(sql -c \
	"SELECT count(*) FROM pg_wallet.verify_ledger()")" = "0 0"
check "every currency sums to zero after the hold test" test -z "$(sql -c "
	SELECT a.currency FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	GROUP BY a.currency HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0")"
