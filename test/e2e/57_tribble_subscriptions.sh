# shellcheck shell=bash
# test/e2e/57_tribble_subscriptions.sh — Tribble subscriptions over the bridge (issue 15,
# tribble-rest-api.md "Subscriptions"), checked against the spec's text: a merchant creates
# plans (201), anyone signed in reads one; a user subscribes (201 with the trial's dates; a
# second time 409 SUBSCRIPTION_ACTIVE); the expiry worker, given an interval, bills a
# subscription due today by itself (the wallet pays, subscription:charged reaches both);
# pause, resume and cancel (200, 409 in the wrong state); the customer's list and summary; the
# merchant's metrics; another customer sees and changes nothing (404), a user cannot make a
# plan for a merchant it does not act for (404), bad fields are 400 naming them. The ledger
# verifies and every currency sums to zero.
T=/tribble/api/v1
sql -c "CREATE TABLE public.e2e57s_rate_limits AS SELECT * FROM pg_wallet.tribble_rate_limits" \
	-c "UPDATE pg_wallet.tribble_rate_limits SET per_second = 1000, per_hour = 100000,
		per_day = 1000000" >/dev/null
SERRFMT='(.statusCode | type) == "number" and (.errorCode | type) == "string" and
	(.message | type) == "string" and (.timestamp | test("Z$")) and (.requestId | length > 0)'
read -r SA_U SA_O SA_ACC <<<"$(wallet_user subs-a@example.com +254700005721)"
read -r _ _ _ <<<"$(wallet_user subs-b@example.com +254700005722)"
read -r SM_U SM_O <<<"$(sql -c "SELECT principal_id || ' ' || owner_id
	FROM pg_wallet.create_principal('merchant', 'subs-m@example.com', 'Passw0rd-e2e')")"
SM_ACC=$(sql -c "SELECT account_number FROM pg_wallet.create_account($SM_O, 'KES',
	'AVAILABLE_COLLECTIONS')")
sql -c "SELECT pg_wallet.credit('$SA_ACC', 1000, 'SYS-SUSPENSE-KES')" >/dev/null
stoken() { sql -c "SELECT access_token FROM pg_wallet.login('$1', 'Passw0rd-e2e', 'tribble')"; }
TS_A=$(stoken subs-a@example.com)
TS_B=$(stoken subs-b@example.com)
TS_M=$(stoken subs-m@example.com)
check "the subscription parties exist" test -n "$TS_A" -a -n "$TS_B" -a -n "$TS_M" -a -n "$SM_ACC"
TODAY=$(sql -c "SELECT (now() AT TIME ZONE 'UTC')::date")
IN7=$(sql -c "SELECT (now() AT TIME ZONE 'UTC')::date + 7")

PBODY='{"planName": "Premium Monthly", "planDescription": "Unlimited access",
	"amount": 99.00, "currency": "KES", "billingFrequency": "monthly", "trialPeriodDays": 7,
	"setupFee": 0, "maxCharges": null}'
req POST $T/subscription-plans "$PBODY" "$TS_M"
expect "POST /subscription-plans by the merchant: 201 with the spec's fields" 201 \
	'(.planId | type) == "string"' '.planName == "Premium Monthly"' '.amount == 99' \
	'.billingFrequency == "monthly"' '.status == "ACTIVE"' '(.createdAt | test("Z$"))' \
	'has("_bridge") | not'
SP1=$(field .planId)
req POST $T/subscription-plans "$PBODY" "$TS_A"
expect "... by a user who acts for no merchant is 404" 404 '.errorCode == "NOT_FOUND"' \
	"$SERRFMT"
req POST $T/subscription-plans '{"planName": "Hourly", "amount": 1, "currency": "KES",
	"billingFrequency": "hourly"}' "$TS_M"
expect "... billingFrequency hourly is 400 naming it" 400 '.errorCode == "INVALID_REQUEST"' \
	'.details.field == "billingFrequency"'
req POST $T/subscription-plans '{"planName": "Daily", "amount": 10, "currency": "KES",
	"billingFrequency": "daily", "trialPeriodDays": -1}' "$TS_M"
expect "... a negative trialPeriodDays is 400 naming it" 400 \
	'.details.field == "trialPeriodDays"'
req POST $T/subscription-plans '{"planName": "Daily", "amount": 10, "currency": "KES",
	"billingFrequency": "daily"}' "$TS_M"
SP2=$(field .planId)

req GET "$T/subscription-plans/$SP1" '' "$TS_A"
expect "GET /subscription-plans/:id for a customer: the spec's fields" 200 \
	".planId == \"$SP1\"" ".merchantId == \"$SM_U\"" '.billingInterval == 1' \
	'.trialPeriodDays == 7' '.trialAmount == 0' '.setupFee == 0' '.maxCharges == null' \
	'.planType == "fixed"' '.isActive == true' '.currency == "KES"'
req GET "$T/subscription-plans/PLN-999999" '' "$TS_A"
expect "... an unknown plan is 404" 404 '.errorCode == "NOT_FOUND"'
sql -c "SELECT pg_wallet.create_principal('merchant', 'subs-m2@example.com', 'Passw0rd-e2e')" \
	>/dev/null
req GET "$T/subscription-plans/$SP1" '' "$(stoken subs-m2@example.com)"
expect "... another merchant gets 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/merchants/$SM_U/subscription-metrics" '' "$(stoken subs-m2@example.com)"
expect "... and 404 for the merchant's metrics" 404 '.errorCode == "NOT_FOUND"'

req POST $T/subscriptions "{\"planId\": \"$SP1\", \"paymentMethodId\": \"wallet\"}" "$TS_A"
expect "POST /subscriptions: 201 ACTIVE with the trial's dates" 201 \
	'(.subscriptionId | type) == "string"' ".planId == \"$SP1\"" '.status == "ACTIVE"' \
	'.autoRenew == true' ".nextChargeDate == \"$IN7\"" ".trialEndDate == \"$IN7\"" \
	'.chargeCount == 0' '(.message | test("Trial period: 7 days"))'
SS1=$(field .subscriptionId)
req POST $T/subscriptions "{\"planId\": \"$SP1\"}" "$TS_A"
expect "... a second one to the plan is 409 SUBSCRIPTION_ACTIVE" 409 \
	'.errorCode == "SUBSCRIPTION_ACTIVE"' "$SERRFMT"
req POST $T/subscriptions "{\"planId\": \"$SP2\", \"paymentMethodId\": \"card-001\"}" "$TS_A"
expect "... a card that is not one of the caller's is 404" 404 '.errorCode == "NOT_FOUND"'
req POST $T/subscriptions "{\"planId\": \"$SP2\", \"startDate\": \"2025-02-30\"}" "$TS_A"
expect "... a startDate that does not exist is 400 naming it" 400 \
	'.details.field == "startDate"'
req POST $T/subscriptions "{\"planId\": \"$SP2\"}" "$TS_M"
expect "... a merchant cannot subscribe (403)" 403 '.errorCode == "FORBIDDEN"'

req GET "$T/subscriptions/$SS1" '' "$TS_A"
expect "GET /subscriptions/:id for its customer: the spec's fields" 200 \
	".subscriptionId == \"$SS1\"" ".customerId == \"$SA_U\"" ".merchantId == \"$SM_U\"" \
	'.planName == "Premium Monthly"' '.lastChargeDate == null' '.charges == []'
req GET "$T/subscriptions/$SS1" '' "$TS_B"
expect "... another customer gets 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/subscriptions/$SS1" '' "$TS_M"
expect "... its merchant sees it" 200 ".subscriptionId == \"$SS1\""

# the worker bills a subscription due today by itself once it has an interval
req POST $T/subscriptions "{\"planId\": \"$SP2\", \"startDate\": \"$TODAY\"}" "$TS_A"
expect "a daily subscription from today: due now" 201 ".nextChargeDate == \"$TODAY\""
SS2=$(field .subscriptionId)
sql -c "ALTER SYSTEM SET pg_wallet.expiry_interval_s = 1" -c "SELECT pg_reload_conf()" >/dev/null
charged=0
for _ in $(seq 1 100); do
	charged=$(sql -c "SELECT charge_count FROM pg_wallet.subscriptions
		WHERE subscription_ref = '$SS2'")
	[ "$charged" = 1 ] && break
	sleep 0.1
done
sql -c "ALTER SYSTEM RESET pg_wallet.expiry_interval_s" -c "SELECT pg_reload_conf()" >/dev/null
check "... the expiry worker billed it by itself" test "$charged" = 1
req GET "$T/subscriptions/$SS2" '' "$TS_A"
expect "... GET shows the charge, its dates and the next one" 200 '.chargeCount == 1' \
	'.charges[0].status == "SUCCEEDED"' ".charges[0].scheduledDate == \"$TODAY\"" \
	'.charges[0].attemptCount == 1' '.lastChargeAmount == 10' '(.nextChargeDate != null)'
check "... the wallet paid the 10" \
	test "$(sql -c "SELECT (pg_wallet.get_balance('$SA_ACC')).balance")" = "990.00"
events_moved
check "... subscription:charged reached the customer and the merchant" \
	test "$(sql -c "SELECT count(DISTINCT owner_id) FROM pg_wallet.events
		WHERE event_type = 'subscription:charged' AND payload ->> 'subscriptionId' = '$SS2'")" = 2

req PUT "$T/subscriptions/$SS1/pause" '{"reason": "Temporarily pausing service"}' "$TS_B"
expect "PUT /subscriptions/:id/pause by another customer is 404" 404
req PUT "$T/subscriptions/$SS1/pause" '{"reason": "Temporarily pausing service"}' "$TS_A"
expect "... by its customer: 200 PAUSED" 200 ".subscriptionId == \"$SS1\"" \
	'.status == "PAUSED"' '(.pausedAt | test("Z$"))' '(.message | type) == "string"'
req PUT "$T/subscriptions/$SS1/pause" '{}' "$TS_A"
expect "... paused again is 409" 409 '.errorCode == "CONFLICT"'
req PUT "$T/subscriptions/$SS1/resume" '' "$TS_A"
expect "PUT /subscriptions/:id/resume: 200 ACTIVE with the next charge date" 200 \
	'.status == "ACTIVE"' ".nextChargeDate == \"$IN7\"" '(.resumedAt | test("Z$"))'
req PUT "$T/subscriptions/$SS1/resume" '' "$TS_A"
expect "... resumed again is 409" 409 '.errorCode == "CONFLICT"'
req PUT "$T/subscriptions/$SS1/cancel" '{"reason": "No longer need the service"}' "$TS_A"
expect "PUT /subscriptions/:id/cancel: 200 CANCELLED with the reason" 200 \
	'.status == "CANCELLED"' '.cancelledReason == "No longer need the service"' \
	'(.cancelledAt | test("Z$"))'
req PUT "$T/subscriptions/$SS1/cancel" '{}' "$TS_A"
expect "... cancelled again is 409" 409 '.errorCode == "CONFLICT"'

req GET "$T/customers/$SA_U/subscriptions" '' "$TS_A"
expect "GET /customers/:id/subscriptions: the list and its summary" 200 \
	'.subscriptions | length == 2' \
	'.subscriptions[0] | has("subscriptionId") and has("planName") and has("status") and
		has("nextChargeDate") and has("amount")' \
	'.summary.activeCount == 1' '.summary.pausedCount == 0' '.summary.cancelledCount == 1' \
	'(.summary.totalMRR | type) == "number"'
req GET "$T/customers/$SA_U/subscriptions" '' "$TS_B"
expect "... another customer gets 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/customers/not-a-uuid/subscriptions" '' "$TS_A"
expect "... a customerId that is not one is 404" 404

req GET "$T/merchants/$SM_U/subscription-metrics?startDate=$TODAY&endDate=$TODAY" '' "$TS_M"
expect "GET /merchants/:id/subscription-metrics: the spec's metrics" 200 \
	".merchantId == \"$SM_U\"" ".period.startDate == \"$TODAY\"" \
	'.metrics | has("mrr") and has("arr") and has("churnRate") and has("trialConversions")
		and has("trialConversionRate") and has("failedCharges") and has("recoveredCharges")
		and has("recoveryRate") and has("expansionMrr") and has("contractionMrr")' \
	'.metrics.newSubscriptions == 2' '.metrics.cancelledSubscriptions == 1' \
	'.metrics.activeSubscriptions == 1' '.metrics.arr == .metrics.mrr * 12'
req GET "$T/merchants/$SM_U/subscription-metrics" '' "$TS_A"
expect "... a customer gets 404" 404 '.errorCode == "NOT_FOUND"'
req GET "$T/merchants/$SM_U/subscription-metrics?startDate=2025-13-01" '' "$TS_M"
expect "... a bad startDate is 400 naming it" 400 '.details.field == "startDate"'

sql -c "SELECT pg_wallet.subscription_cancel(id, '$SS2') FROM pg_wallet.principals
	WHERE email = 'subs-a@example.com'" >/dev/null
check "the ledger verifies after the subscriptions" \
	test "$(sql -c "SELECT count(*) FROM pg_wallet.verify_ledger()")" = 0
check "every currency sums to zero after the subscriptions" \
	test "$(sql -c "SELECT count(*) FROM (SELECT a.currency FROM pg_wallet.accounts a
		GROUP BY a.currency
		HAVING sum((pg_wallet.get_balance(a.account_number)).balance) <> 0) x")" = 0
sql -c "UPDATE pg_wallet.tribble_rate_limits l SET per_second = s.per_second,
		per_hour = s.per_hour, per_day = s.per_day
		FROM public.e2e57s_rate_limits s WHERE s.kyc_tier = l.kyc_tier" \
	-c "DROP TABLE public.e2e57s_rate_limits" >/dev/null
