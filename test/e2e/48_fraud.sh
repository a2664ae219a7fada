# shellcheck shell=bash
# test/e2e/48_fraud.sh — fraud scoring over the bridge (issue 12 phase 2, docs/fraud.md):
# the request context the bridge passes (the socket's address, User-Agent, X-Device-Id; not
# X-Forwarded-For) reaches the score of a Sellapay payment, and the device factor sees a
# device again; a cashier WebSocket transfer (38_cashier's) carries the handshake's address; Tribble GET /transactions/:transactionId/risk-score of one's own payment in
# the spec's shape, another user's, an unknown and an unscored transaction (404), no token
# (401); GET /admin/fraud/analytics as an admin (the day's figures, as SQL counts them), as a
# user (403), with a bad period or date (400 naming the parameter). Money moved here must
# leave every currency summing to zero. Sourced by test/e2e/run; its users are its own.
T=/tribble/api/v1
S=/sellapay/api/v1
sql -c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
	per_day = 1000000" >/dev/null
ERRFMT='(.statusCode | type) == "number" and (.errorCode | type) == "string" and
	(.message | type) == "string" and (.details | type) == "object" and
	(.timestamp | test("Z$")) and (.requestId | length > 0)'
ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# users F (the payer) and G: Tribble users over the bridge, with Sellapay API credentials too
fraud_user() { # EMAIL PHONE: registers and logs in over Tribble; prints "userId token"
	req POST $T/auth/register "$(jq -nc --arg e "$1" --arg p "$2" '{email: $e,
		password: "SecurePassword123!", firstName: "Fay", lastName: "Fraud", phoneNumber: $p}')"
	local id
	id=$(field .userId)
	req POST $T/auth/login "$(jq -nc --arg e "$1" '{email: $e, password: "SecurePassword123!"}')"
	echo "$id $(field .accessToken)"
}
sellapay_token() { # PRINCIPAL: its Sellapay "token account" (API credentials, then authorize)
	sql -c "SELECT r ->> 'access_token', r ->> 'account'
		FROM pg_wallet.create_api_credential('$1') c,
		pg_wallet.api_sellapay_authorize(NULL, jsonb_build_object('credentials',
			jsonb_build_object('api_key', c.api_key, 'api_secret', c.api_secret))) r" |
		tr '|' ' '
}
read -r FU TT_F <<<"$(fraud_user fraud-f@example.com +254700000481)"
read -r GU TT_G <<<"$(fraud_user fraud-g@example.com +254700000482)"
read -r SP_F SPA_F <<<"$(sellapay_token "$FU")"
read -r SP_G SPA_G <<<"$(sellapay_token "$GU")"
check "the fraud users have Tribble and Sellapay tokens" test -n "$TT_F" -a -n "$TT_G" \
	-a -n "$SP_F" -a -n "$SPA_G"
F_OWNER=$(sql -c "SELECT owner_id FROM pg_wallet.principals WHERE id = '$FU'")
sql -c "SELECT pg_wallet.credit('$SPA_F', 500, 'SYS-SUSPENSE-KES', 'e2e-fraud-f')" >/dev/null

# pay DEVICE AMOUNT [CURL-ARGS...]: Sellapay sendFundsToSellapay from F to G with a
# User-Agent and, when DEVICE is not empty, an X-Device-Id
pay() {
	local device=$1 amount=$2
	shift 2
	STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $SP_F" -H 'Content-Type: application/json' \
		-H 'User-Agent: e2e-fraud/1.0 (test)' ${device:+-H "X-Device-Id: $device"} "$@" \
		--data-binary "{\"account\": \"$SPA_G\", \"amount\": $amount}" "$URL$S/sendFundsToSellapay")
}
# last_score EXPR: EXPR over F's last score record (f: the record)
last_score() {
	sql -c "SELECT $1 FROM pg_wallet.fraud_scores f WHERE f.owner_id = $F_OWNER
		ORDER BY f.id DESC LIMIT 1"
}
device_factor() {
	last_score "(SELECT e ->> 'score' FROM jsonb_array_elements(pg_wallet.fraud_score_factors(f)) e
		WHERE e ->> 'name' = 'Device Mismatch')"
}
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

pay dev-e2e-fraud-1 50
expect "a payment with User-Agent and X-Device-Id is posted (200)" 200
check "its score records the client's address (the socket's)" \
	test "$(last_score "f.context ->> 'ip'")" = 127.0.0.1
check "its score records the User-Agent" \
	test "$(last_score "f.context ->> 'user_agent'")" = "e2e-fraud/1.0 (test)"
check "its score records the device, as a SHA-256 only" \
	test "$(last_score "f.context ->> 'device_sha256'")" = "$(sha dev-e2e-fraud-1)"
check "the device is new on the user's first scored payment (Device Mismatch 50)" \
	test "$(device_factor)" = 50
RCPT_1=$(last_score "pg_wallet.receipt_code(f.journal_id,
	(SELECT j.created_at FROM pg_wallet.journals j WHERE j.id = f.journal_id))")
pay dev-e2e-fraud-1 50
expect "a second payment from the same device is posted" 200
check "the device was seen: Device Mismatch 0 on the second call" test "$(device_factor)" = 0
pay dev-e2e-fraud-2 50 -H 'X-Forwarded-For: 203.0.113.9' -H 'X-Real-IP: 203.0.113.9'
expect "a payment from another device, with X-Forwarded-For, is posted" 200
check "another device is new (Device Mismatch 80)" test "$(device_factor)" = 80
check "X-Forwarded-For and X-Real-IP are not trusted: the address is the socket's" \
	test "$(last_score "f.context ->> 'ip'")" = 127.0.0.1
pay "$(printf 'd%.0s' {1..201})" 10 -H "User-Agent: $(printf 'u%.0s' {1..300})"
expect "a device id over 200 bytes and a User-Agent over 256 do not fail the payment" 200
check "both are left out of the context (the address stays)" test \
	"$(last_score "f.context ? 'device_sha256' OR f.context ? 'user_agent'")|$(last_score \
	"f.context ->> 'ip'")" = "f|127.0.0.1"
check "the payments moved 160 from F to G" test \
	"$(sql -c "SELECT (pg_wallet.get_balance('$SPA_F')).balance || ' ' ||
		(pg_wallet.get_balance('$SPA_G')).balance")" = "340.00 160.00"
DENIED_RULE=$(sql -c "SELECT pg_wallet.fraud_add_rule('DENY', 'DEVICE', 'dev-e2e-denied',
	'e2e: denied')")
pay dev-e2e-denied 10
expect "a payment from a denied device is FRAUD_BLOCK (403 in Sellapay)" 403
check "the blocked payment moved nothing" test \
	"$(sql -c "SELECT (pg_wallet.get_balance('$SPA_F')).balance")" = "340.00"
sql -c "SELECT pg_wallet.fraud_disable_rule($DENIED_RULE)" >/dev/null

# the cashier WebSocket passes its handshake's context with every message (38_cashier ran a
# transfer of user A's)
check "a cashier WebSocket transfer's score records the handshake's address" test "$(sql -c "
	SELECT f.context ->> 'ip' FROM pg_wallet.fraud_scores f
	JOIN pg_wallet.principals p ON p.owner_id = f.owner_id
	WHERE p.email = 'cashier-a@example.com' ORDER BY f.id DESC LIMIT 1")" = 127.0.0.1

# risk-score: F's own payment in the spec's shape; G, unknown, unscored: 404; no token: 401
req GET "$T/transactions/$RCPT_1/risk-score" '' "$TT_F"
expect "risk-score of one's own payment (200, the spec's fields)" 200 \
	'.transactionId == "'"$RCPT_1"'"' '.riskScore | type == "number" and . >= 0 and . <= 100' \
	'.riskLevel | IN("LOW", "MEDIUM", "HIGH", "CRITICAL")' '.decision == "ALLOW"' \
	'.confidence | type == "number" and . > 0 and . <= 1' '.modelVersion | type == "string"' \
	'.calculatedAt | test("'"$ISO"'")' \
	'[.riskFactors[].name] == ["Amount Deviation", "Device Mismatch", "Velocity Check",
		"Geographic Anomaly", "IP Reputation", "New Beneficiary", "Credential Change",
		"Round Amount"]' \
	'all(.riskFactors[]; (.weight | type == "number") and (.score | type == "number") and
		(.explanation | type == "string" and length > 0))' \
	'(.riskFactors[] | select(.name == "Device Mismatch") | .score) == 50' \
	'has("_bridge") | not'
req GET "$T/transactions/$RCPT_1/risk-score" '' "$TT_G"
expect "another user's transaction is 404 NOT_FOUND" 404 '.errorCode == "NOT_FOUND"' "$ERRFMT"
G_BODY=$(jq -c 'del(.timestamp, .requestId)' "$E2E_DIR/body")
req GET "$T/transactions/RCP-2020-000000000000000001/risk-score" '' "$TT_F"
expect "an unknown transaction is 404 NOT_FOUND" 404 '.errorCode == "NOT_FOUND"' "$ERRFMT"
check "unknown and another user's are the same reply" \
	test "$(jq -c 'del(.timestamp, .requestId)' "$E2E_DIR/body")" = "$G_BODY"
RCPT_DEPOSIT=$(sql -c "SELECT pg_wallet.receipt_code(j.id, j.created_at)
	FROM pg_wallet.journals j JOIN pg_wallet.entries e ON e.journal_id = j.id
	JOIN pg_wallet.accounts a ON a.id = e.account_id
	WHERE a.account_number = '$SPA_F' AND e.side = 'CR' ORDER BY j.id LIMIT 1")
req GET "$T/transactions/$RCPT_DEPOSIT/risk-score" '' "$TT_F"
expect "an unscored transaction of one's own (the deposit) is 404" 404 \
	'.errorCode == "NOT_FOUND"'
req GET "$T/transactions/$RCPT_1/risk-score"
expect "risk-score without a token is 401" 401 '.errorCode == "UNAUTHORIZED"' "$ERRFMT"

# analytics: an admin over the bridge; today's figures as SQL counts them
sql -c "SELECT pg_wallet.create_principal('admin', 'fraud-admin@example.com',
	'SecurePassword123!')" >/dev/null
req POST $T/auth/login '{"email": "fraud-admin@example.com", "password": "SecurePassword123!"}'
TT_ADMIN=$(field .accessToken)
TODAY=$(sql -c "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
WANT=$(sql -c "SELECT jsonb_build_object('totalTransactions', count(*),
		'blockedTransactions', count(*) FILTER (WHERE decision = 'BLOCK'),
		'fraudulentTransactions', count(*) FILTER (WHERE decision <> 'ALLOW'),
		'averageFraudScore', coalesce(round(avg(score), 2), 0),
		'LOW', count(*) FILTER (WHERE risk_level = 'LOW'),
		'devices', count(*) FILTER (WHERE EXISTS (SELECT 1
			FROM jsonb_array_elements(pg_wallet.fraud_score_factors(fraud_scores)) e
			WHERE e ->> 'name' = 'Device Mismatch' AND (e ->> 'score')::int > 0)))
	FROM pg_wallet.fraud_scores WHERE created_at >= (now() AT TIME ZONE 'UTC')::date::timestamp
		AT TIME ZONE 'UTC'")
req GET "$T/admin/fraud/analytics?startDate=$TODAY&endDate=$TODAY&groupBy=daily" '' "$TT_ADMIN"
expect "analytics as an admin: today's figures (200)" 200 \
	'.period == {"startDate": "'"$TODAY"'", "endDate": "'"$TODAY"'"}' \
	'.summary.totalTransactions == '"$(jq .totalTransactions <<<"$WANT")" \
	'.summary.totalTransactions >= 4' \
	'.summary.blockedTransactions == '"$(jq .blockedTransactions <<<"$WANT")" \
	'.summary.fraudulentTransactions == '"$(jq .fraudulentTransactions <<<"$WANT")" \
	'.summary.averageFraudScore == '"$(jq .averageFraudScore <<<"$WANT")" \
	'.summary.fraudRate | type == "number"' '.summary.declinedTransactions | type == "number"' \
	'.riskLevelDistribution.LOW == '"$(jq .LOW <<<"$WANT")" \
	'([.riskLevelDistribution[]] | add) == .summary.totalTransactions' \
	'(.topFraudFactors[] | select(.factor == "Device Mismatch") | .occurrences) == '"$(jq \
		.devices <<<"$WANT")" \
	'all(.topFraudFactors[]; (.percentage | type == "number") and .occurrences > 0)' \
	'.series | length == 1' '.series[0].period == "'"$TODAY"'"' \
	'.series[0].totalTransactions == .summary.totalTransactions' 'has("_bridge") | not'
req GET "$T/admin/fraud/analytics?startDate=$TODAY&endDate=$TODAY" '' "$TT_F"
expect "analytics as a user is 403 FORBIDDEN" 403 '.errorCode == "FORBIDDEN"' "$ERRFMT"
req GET "$T/admin/fraud/analytics"
expect "analytics without a token is 401" 401 '.errorCode == "UNAUTHORIZED"'
req GET "$T/admin/fraud/analytics?startDate=2025-01-01&endDate=2026-06-01" '' "$TT_ADMIN"
expect "a period over a year is 400 naming endDate" 400 '.errorCode == "INVALID_REQUEST"' \
	'.details.field == "endDate"' "$ERRFMT"
req GET "$T/admin/fraud/analytics?startDate=2025-11-10&endDate=2025-11-01" '' "$TT_ADMIN"
expect "endDate before startDate is 400 naming endDate" 400 '.details.field == "endDate"'
req GET "$T/admin/fraud/analytics?startDate=2025-13-01&endDate=2025-11-10" '' "$TT_ADMIN"
expect "a bad startDate is 400 naming it" 400 '.details.field == "startDate"'
req GET "$T/admin/fraud/analytics?startDate=2025-11-01&endDate=2025-11-10&groupBy=yearly" '' \
	"$TT_ADMIN"
expect "an unknown groupBy is 400 naming it" 400 '.details.field == "groupBy"'

check "after the fraud payments verify_ledger() is clean" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "after the fraud payments every currency's entries sum to zero" test "$(sql -c "
	SELECT count(*) FROM (SELECT a.currency FROM pg_wallet.entries e
		JOIN pg_wallet.accounts a ON a.id = e.account_id GROUP BY a.currency
		HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0) x")" = 0
# the spec's rate limits again, every tier (tribble-rest-api.md "Rate Limiting")
sql -c "UPDATE pg_wallet.tribble_rate_limits l SET (per_second, per_hour, per_day) =
	(x.s, x.h, x.d) FROM (VALUES (0, 1, 100, 1000), (1, 5, 500, 10000), (2, 10, 1000, 50000),
	(3, 20, 5000, 100000)) AS x(t, s, h, d) WHERE l.kyc_tier = x.t" >/dev/null
