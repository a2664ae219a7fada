# shellcheck shell=bash
# test/e2e/49_fraud_verify.sh — the fraud decision REQUIRE_VERIFICATION over the bridge
# (issue 12, docs/fraud.md "Decisions"): with the weights set so that the address alone
# scores, and the loopback range listed at 65 (HIGH, between verify_from 60 and hold_from
# 70), a cashier WebSocket transfer is refused until it carries a payment verification
# token (cashier_verify.js), and Sellapay's sendFundsToSellapay answers 403 with the reason.
# The verified transfer's record keeps the decision and names the verification, and Tribble's
# risk-score endpoint shows it. Nothing else posts; every currency sums to zero. The settings
# (back to their defaults) and the range are restored at the end. Sourced by test/e2e/run; its users are its own.
T=/tribble/api/v1
S=/sellapay/api/v1

read -r VU_P VO_P VACC_P <<<"$(wallet_user verify-p@example.com +254700000491)"
read -r VU_Q VO_Q VACC_Q <<<"$(wallet_user verify-q@example.com +254700000492)"
sql -c "SELECT pg_wallet.credit('$VACC_P', 300, 'SYS-SUSPENSE-KES', 'e2e-verify-p')" >/dev/null
VTOKEN_P=$(sql -c "SELECT access_token FROM pg_wallet.login('verify-p@example.com',
	'Passw0rd-e2e', 'cashier')")
check "the verification users exist" test -n "$VU_P" -a -n "$VACC_Q" -a -n "$VTOKEN_P"

sql -c "UPDATE pg_wallet.fraud_settings SET weight_amount = 0, weight_device = 0,
		weight_velocity = 0, weight_geo = 0, weight_ip = 100, weight_beneficiary = 0,
		weight_credential = 0, weight_round = 0, verify_from = 60, block_from = 80" \
	-c "INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
		VALUES ('127.0.0.0/8', 65, 'e2e loopback')" >/dev/null

export CASHIER_PSQL="$PGBIN/psql" PGHOST=$E2E_DIR PGPORT PGDATABASE=pgwallet
RECEIPT=
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	"receipt "*) RECEIPT=${line#receipt } ;;
	*) echo "# $line" ;;
	esac
done < <(NODE_PATH=/usr/share/nodejs timeout 90 node "$E2E_ROOT/test/e2e/cashier_verify.js" \
	"${URL/http:/ws:}/cashier/svc/ws" "$VTOKEN_P" "$VU_P" "$VU_Q" 2>&1)

check "only the verified transfer posted (300 - 10)" test "$(sql -c \
	"SELECT (pg_wallet.get_balance('$VACC_P')).available_balance")" = "290.00"
check "the verified transfer's record keeps REQUIRE_VERIFICATION and names the verification" \
	test "$(sql -c "SELECT f.risk_level || ' ' || f.decision || ' ' || (SELECT e ->> 'explanation'
		FROM jsonb_array_elements(pg_wallet.fraud_score_factors(f)) e WHERE e ->> 'name' = 'Verification')
		FROM pg_wallet.fraud_scores f WHERE f.owner_id = $VO_P AND f.journal_id IS NOT NULL
		ORDER BY f.id DESC LIMIT 1")" = \
	"HIGH REQUIRE_VERIFICATION Step-up verification presented (otp_sms)"

# the same payer's risk score over Tribble
VTT_P=$(sql -c "SELECT access_token FROM pg_wallet.login('verify-p@example.com',
	'Passw0rd-e2e', 'tribble')")
req GET "$T/transactions/$RECEIPT/risk-score" "" "$VTT_P"
expect "Tribble risk-score of the verified transfer says REQUIRE_VERIFICATION" 200 \
	".transactionId == \"$RECEIPT\"" '.decision == "REQUIRE_VERIFICATION"' \
	'.riskLevel == "HIGH"' '.riskScore == 65' \
	'[.riskFactors[] | select(.name == "Verification")] | length == 1'

# Sellapay: a user's payment is scored too; it has no way to carry a token: 403 with the reason
read -r SPT_P SPA_P <<<"$(sql -c "SELECT r ->> 'access_token', r ->> 'account'
	FROM pg_wallet.create_api_credential('$VU_P') c,
	pg_wallet.api_sellapay_authorize(NULL, jsonb_build_object('credentials',
		jsonb_build_object('api_key', c.api_key, 'api_secret', c.api_secret))) r" | tr '|' ' ')"
req POST $S/sendFundsToSellapay "{\"account\": \"$VACC_Q\", \"amount\": 5}" "$SPT_P"
check "Sellapay answers 403 when a verification is required" test "$STATUS" = 403
check "... and its body names the reason, not the score's inputs" \
	grep -q 'verification required by fraud detection' "$E2E_DIR/body"
check "... and nothing posted" test "$(sql -c \
	"SELECT (pg_wallet.get_balance('$VACC_P')).available_balance")" = "290.00"

sql -c "DELETE FROM pg_wallet.fraud_ip_reputation WHERE ip_range = '127.0.0.0/8'" \
	-c "UPDATE pg_wallet.fraud_settings SET weight_amount = DEFAULT, weight_device = DEFAULT,
		weight_velocity = DEFAULT, weight_geo = DEFAULT, weight_ip = DEFAULT,
		weight_beneficiary = DEFAULT, weight_credential = DEFAULT, weight_round = DEFAULT,
		verify_from = DEFAULT, hold_from = DEFAULT, block_from = DEFAULT" >/dev/null
check "the verification test leaves the ledger verified" test "$(sql -c \
	"SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "every currency sums to zero after the verification test" test -z "$(sql -c "
	SELECT a.currency FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	GROUP BY a.currency HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0")"
