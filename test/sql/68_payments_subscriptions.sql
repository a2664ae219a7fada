-- Subscriptions (issue 15, sql/payments/subscriptions.sql), on the billing clock that tests
-- move (pg_wallet.test_now_offset_s): plans (who may create one, each field checked), a
-- monthly subscription anchored on 31 January billed through a year (the last day of shorter
-- months), a yearly one from 29 February (28 February, and 29 again in the next leap year), a
-- trial with its trial amount and setup fee charged at enrolment, the dunning schedule (1, 3
-- and 7 days; recovered on the fourth attempt, or cancelled), pause (nothing charged) and
-- resume (the next billing date on or after today), cancel, maximum charges (COMPLETED), one
-- live subscription per plan (SUBSCRIPTION_ACTIVE), who sees what, the customer's list and
-- its MRR, subscription:charged events. The ledger stays balanced.

CREATE FUNCTION sub_mask(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(t,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"', '"<ts>"', 'g'),
		'(PLN|SUB|TXN)-[0-9-]+', '\1-<n>', 'g')
$$;
CREATE FUNCTION sub_err(stmt text) RETURNS text LANGUAGE sql AS $$ SELECT sub_mask(err(stmt)) $$;
-- move the billing clock to noon (UTC) of a day
CREATE FUNCTION set_today(d date) RETURNS date LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('pg_wallet.test_now_offset_s', (extract(epoch FROM
		(d + time '12:00') AT TIME ZONE 'UTC') - extract(epoch FROM now()))::bigint::text,
		false);
	RETURN pg_wallet._billing_today();
END $$;
CREATE FUNCTION sub_of(ref text) RETURNS text LANGUAGE sql AS $$
	SELECT status || ' next ' || coalesce(next_charge_date::text, '-') || ' charges '
		|| charge_count || coalesce(' retry ' || next_attempt_date, '')
	FROM pg_wallet.subscriptions WHERE subscription_ref = ref $$;
CREATE FUNCTION bill() RETURNS text LANGUAGE sql AS $$
	SELECT (x - 'today')::text FROM pg_wallet.subscriptions_bill_due(100) x $$;
SET datestyle = 'ISO, YMD';

-- the parties: merchant M (a KES collections account), customers C (rich) and D (poor), a
-- stranger V, an admin
SELECT principal_id AS m, owner_id AS m_owner FROM pg_wallet.create_principal('merchant',
	'sub-m@example.com', 'Passw0rd-68', 'Sub', 'Merchant') \gset
SELECT principal_id AS c, owner_id AS c_owner FROM pg_wallet.register_user('sub-c@example.com',
	'Passw0rd-68', 'Cee', 'Sub', '+254700006801') \gset
SELECT principal_id AS d, owner_id AS d_owner FROM pg_wallet.register_user('sub-d@example.com',
	'Passw0rd-68', 'Dee', 'Sub', '+254700006802') \gset
SELECT principal_id AS v FROM pg_wallet.register_user('sub-v@example.com', 'Passw0rd-68',
	'Vee', 'Sub', '+254700006803') \gset
SELECT principal_id AS adm FROM pg_wallet.create_principal('admin', 'sub-adm@example.com',
	'Passw0rd-68') \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:m_owner, 'KES', 'AVAILABLE_COLLECTIONS', 'SB68-M')
	UNION ALL SELECT pg_wallet.create_account(:c_owner, 'KES', 'WALLET', 'SB68-C')
	UNION ALL SELECT pg_wallet.create_account(:d_owner, 'KES', 'WALLET', 'SB68-D')) x;
-- a year of billing runs in seconds of real time: the customers' KYC tier counts 200 payments
-- a day, and fraud scoring (whose velocity counts real minutes) allows them
UPDATE pg_wallet.principals SET kyc_tier = 3 WHERE owner_id IN (:c_owner, :d_owner);
INSERT INTO pg_wallet.fraud_rules (action, subject, owner_id, reason)
VALUES ('ALLOW', 'USER', :c_owner, 'billing test'), ('ALLOW', 'USER', :d_owner, 'billing test');
SELECT status FROM pg_wallet.credit('SB68-C', 900, 'SYS-SUSPENSE-KES');
SELECT status FROM pg_wallet.credit('SB68-D', 50, 'SYS-SUSPENSE-KES');

-- plans: the merchant's own; a stranger cannot make one for it; each field checked
SELECT sub_mask(pg_wallet.subscription_plan_create(:'m', NULL, 'Premium Monthly', 30, 'KES',
	'monthly', 'Unlimited access')::text) AS monthly;
SELECT pg_wallet.subscription_plan_create(:'m', NULL, 'Yearly', 12, 'KES', 'yearly')
	->> 'planId' AS p_yearly \gset
SELECT pg_wallet.subscription_plan_create(:'m', NULL, 'Weekly', 20, 'KES', 'weekly')
	->> 'planId' AS p_weekly \gset
SELECT pg_wallet.subscription_plan_create(:'adm', :'m', 'Trial Daily', 5, 'KES', 'daily',
	trial_days => 7, trial_amount => 1, setup_fee => 3, max_charges => 3) ->> 'planId'
	AS p_trial \gset
SELECT plan_ref AS p_monthly FROM pg_wallet.subscription_plans WHERE name = 'Premium Monthly'
\gset
SELECT sub_err(format($$SELECT pg_wallet.subscription_plan_create(%L, %L, 'Mine', 10, 'KES',
	'monthly')$$, :'v', :'m'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_plan_create(%L, NULL, 'X', 10, 'KES',
	'monthly')$$, :'m'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_plan_create(%L, NULL, 'Plan', 0, 'KES',
	'monthly')$$, :'m'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_plan_create(%L, NULL, 'Plan', 10, 'KES',
	'hourly')$$, :'m'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_plan_create(%L, NULL, 'Plan', 10, 'KES',
	'monthly', billing_interval => 0)$$, :'m'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_plan_create(%L, NULL, 'Plan', 10, 'KES',
	'monthly', max_charges => 0)$$, :'m'));
SELECT sub_mask(pg_wallet.subscription_plan_get(:'c', :'p_trial')::text) AS trial_plan;
SELECT sub_err(format($$SELECT pg_wallet.subscription_plan_get(%L, 'PLN-999999')$$, :'c'));
-- another merchant does not see the plan
SELECT principal_id AS m2 FROM pg_wallet.create_principal('merchant', 'sub-m2@example.com',
	'Passw0rd-68') \gset
SELECT sub_err(format($$SELECT pg_wallet.subscription_plan_get(%L, %L)$$, :'m2', :'p_trial'));
SELECT pg_wallet.subscription_plan_get(:'m', :'p_trial') ->> 'planName' AS its_merchant_sees;

-- a monthly subscription from 31 January 2027, billed through a year
SELECT set_today('2027-01-31');
SELECT sub_mask(pg_wallet.subscription_create(:'c', :'p_monthly')::text) AS enrolled;
SELECT subscription_ref AS s_monthly FROM pg_wallet.subscriptions
WHERE plan_id = (SELECT id FROM pg_wallet.subscription_plans WHERE plan_ref = :'p_monthly') \gset
SELECT sub_err(format($$SELECT pg_wallet.subscription_create(%L, %L)$$, :'c', :'p_monthly'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_create(%L, %L, 'bank-123')$$, :'c',
	:'p_weekly'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_create(%L, %L, NULL, '2027-01-30')$$,
	:'c', :'p_weekly'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_create(%L, %L)$$, :'m', :'p_weekly'));
-- bill_through(ref, n): n billing days of a subscription, each on its next charge date
CREATE FUNCTION bill_through(ref text, n integer)
RETURNS TABLE (day date, result text, state text) LANGUAGE plpgsql AS $$
DECLARE
	next date;
BEGIN
	FOR i IN 1..n LOOP
		SELECT x.next_charge_date INTO next FROM pg_wallet.subscriptions x
		WHERE x.subscription_ref = ref;
		EXIT WHEN next IS NULL;
		PERFORM set_today(next);
		day := next;
		result := bill();
		state := sub_of(ref);
		RETURN NEXT;
	END LOOP;
END $$;
SELECT * FROM bill_through(:'s_monthly', 13);
SELECT charge_count, sum(x.amount_minor) AS paid_minor FROM pg_wallet.subscriptions s
JOIN pg_wallet.subscription_charges x ON x.subscription_id = s.id
WHERE s.subscription_ref = :'s_monthly' GROUP BY 1;
-- the same day again: nothing due
SELECT bill() AS again;

-- a yearly subscription from 29 February 2028: the 28th in common years, the 29th in 2032
SELECT set_today('2028-02-29');
SELECT pg_wallet.subscription_create(:'c', :'p_yearly') ->> 'nextChargeDate' AS first;
SELECT subscription_ref AS s_yearly FROM pg_wallet.subscriptions
WHERE plan_id = (SELECT id FROM pg_wallet.subscription_plans WHERE plan_ref = :'p_yearly') \gset
SELECT day, state FROM bill_through(:'s_yearly', 5);
-- (both end here, so that the rest of the test bills only what it looks at)
SELECT pg_wallet.subscription_cancel(:'c', :'s_monthly', 'test over') ->> 'status',
	pg_wallet.subscription_cancel(:'c', :'s_yearly', 'test over') ->> 'status';

-- a trial: the setup fee and the trial amount at once, the first period at the trial's end,
-- then COMPLETED after its 3 charges
SELECT set_today('2033-06-01');
SELECT sub_mask(pg_wallet.subscription_create(:'c', :'p_trial', 'SB68-C')::text) AS trial;
SELECT subscription_ref AS s_trial FROM pg_wallet.subscriptions
WHERE plan_id = (SELECT id FROM pg_wallet.subscription_plans WHERE plan_ref = :'p_trial') \gset
SELECT x.kind, x.amount_minor, x.status, x.scheduled_date FROM pg_wallet.subscription_charges x
JOIN pg_wallet.subscriptions s ON s.id = x.subscription_id WHERE s.subscription_ref = :'s_trial'
ORDER BY x.id;
SELECT bill() AS during_trial;
SELECT day, state FROM bill_through(:'s_trial', 5);

-- dunning: D cannot pay the weekly 20 (it holds 50... after two weeks, 10): retried 1, 3 and 7
-- days after the period, PAST_DUE; recovered on the fourth attempt once funded
SELECT set_today('2033-07-04');
SELECT pg_wallet.subscription_create(:'d', :'p_weekly') ->> 'status' AS enrolled;
SELECT subscription_ref AS s_dun FROM pg_wallet.subscriptions WHERE customer_owner_id = :d_owner
\gset
SELECT day, state FROM bill_through(:'s_dun', 3);
SELECT set_today('2033-07-19'), bill(), sub_of(:'s_dun');
SELECT set_today('2033-07-21'), bill(), sub_of(:'s_dun');
SELECT status FROM pg_wallet.credit('SB68-D', 100, 'SYS-SUSPENSE-KES');
SELECT set_today('2033-07-25'), bill(), sub_of(:'s_dun');
SELECT x.scheduled_date, x.status, x.attempt_count, x.error IS NULL AS cleared
FROM pg_wallet.subscription_charges x JOIN pg_wallet.subscriptions s
	ON s.id = x.subscription_id
WHERE s.subscription_ref = :'s_dun' ORDER BY x.scheduled_date;
-- ... and cancelled after four failed attempts
SELECT status FROM pg_wallet.debit('SB68-D', (pg_wallet.get_balance('SB68-D')).balance,
	'SYS-SUSPENSE-KES');
SELECT set_today('2033-08-01'), bill(), sub_of(:'s_dun');
SELECT set_today('2033-08-02'), bill(), sub_of(:'s_dun');
SELECT set_today('2033-08-04'), bill(), sub_of(:'s_dun');
SELECT set_today('2033-08-08'), bill(), sub_of(:'s_dun');
SELECT cancel_reason FROM pg_wallet.subscriptions WHERE subscription_ref = :'s_dun';

-- pause: nothing is charged; resume: the next billing date on or after today
SELECT set_today('2033-09-01');
SELECT pg_wallet.subscription_create(:'c', :'p_weekly') ->> 'subscriptionId' AS s_week \gset
SELECT bill(), sub_of(:'s_week');
SELECT sub_mask(pg_wallet.subscription_pause(:'c', :'s_week', 'Travelling')::text);
SELECT sub_err(format($$SELECT pg_wallet.subscription_pause(%L, %L)$$, :'c', :'s_week'));
SELECT set_today('2033-09-20'), bill(), sub_of(:'s_week');
SELECT sub_mask(pg_wallet.subscription_resume(:'c', :'s_week')::text);
SELECT bill(), sub_of(:'s_week');
-- who may: a stranger sees and changes nothing (WL110); the merchant sees it and may cancel it
SELECT sub_err(format($$SELECT pg_wallet.subscription_get(%L, %L)$$, :'v', :'s_week'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_pause(%L, %L)$$, :'v', :'s_week'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_pause(%L, %L)$$, :'m', :'s_week'));
SELECT pg_wallet.subscription_get(:'m', :'s_week') ->> 'status' AS merchant_sees;
SELECT sub_mask((pg_wallet.subscription_get(:'c', :'s_week') - 'createdAt' - 'pausedAt'
	- 'charges')::text) AS details;
SELECT jsonb_agg(x - 'chargeId' - 'transactionId') AS charges
FROM jsonb_array_elements(pg_wallet.subscription_get(:'c', :'s_week') -> 'charges') x;
-- cancel: by the customer; again WL111; a cancelled one cannot resume
SELECT sub_mask(pg_wallet.subscription_cancel(:'c', :'s_week', 'No longer needed')::text);
SELECT sub_err(format($$SELECT pg_wallet.subscription_cancel(%L, %L)$$, :'c', :'s_week'));
SELECT sub_err(format($$SELECT pg_wallet.subscription_resume(%L, %L)$$, :'c', :'s_week'));
-- a plan that is not active takes no one new (WL112)
UPDATE pg_wallet.subscription_plans SET active = false WHERE plan_ref = :'p_weekly';
SELECT sub_err(format($$SELECT pg_wallet.subscription_create(%L, %L)$$, :'c', :'p_weekly'));

-- the customer's list and summary (MRR: 30 a month, and 12 a year as 1 a month); a
-- stranger's view of it is WL110
UPDATE pg_wallet.subscription_plans SET active = true WHERE plan_ref = :'p_weekly';
SELECT pg_wallet.subscription_create(:'c', :'p_monthly') ->> 'status' AS monthly_again,
	pg_wallet.subscription_create(:'c', :'p_yearly') ->> 'status' AS yearly_again,
	pg_wallet.subscription_pause(:'c', pg_wallet.subscription_create(:'c', :'p_weekly')
		->> 'subscriptionId') ->> 'status' AS weekly_paused;
SELECT sub_mask((pg_wallet.customer_subscriptions(:'c', :'c') -> 'summary')::text) AS summary;
SELECT string_agg(x ->> 'planName' || ' ' || (x ->> 'status'), ', ') AS subscriptions
FROM jsonb_array_elements(pg_wallet.customer_subscriptions(:'adm', :'c') -> 'subscriptions') x;
SELECT sub_err(format($$SELECT pg_wallet.customer_subscriptions(%L, %L)$$, :'v', :'c'));

-- every charge sent subscription:charged to both parties
SELECT events_settled();
SELECT e.payload ->> 'status' AS status, count(*) FROM pg_wallet.events e
WHERE e.event_type = 'subscription:charged' AND e.owner_id = :m_owner GROUP BY 1 ORDER BY 1;
SELECT count(*) AS customer_events FROM pg_wallet.events e
WHERE e.event_type = 'subscription:charged' AND e.owner_id IN (:c_owner, :d_owner);

-- a charge held for fraud review (customer E, from a suspicious address: score 75, HOLD) is
-- PENDING: nothing bills the subscription until the review ends; released, it counts and the
-- schedule moves on; rejected, it is retried on the dunning schedule
CREATE TEMP TABLE saved_fraud AS SELECT * FROM pg_wallet.fraud_settings;
UPDATE pg_wallet.fraud_settings SET weight_amount = 0, weight_device = 0, weight_velocity = 0,
	weight_geo = 0, weight_ip = 100, weight_beneficiary = 0, weight_credential = 0,
	weight_round = 0;
INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
VALUES ('100.64.68.0/24', 75, 'subscription test hold');
SELECT principal_id AS e, owner_id AS e_owner FROM pg_wallet.register_user('sub-e@example.com',
	'Passw0rd-68', 'Eee', 'Sub', '+254700006804') \gset
UPDATE pg_wallet.principals SET kyc_tier = 3 WHERE owner_id = :e_owner;
SELECT count(*) FROM (SELECT pg_wallet.create_account(:e_owner, 'KES', 'WALLET', 'SB68-E')) x;
SELECT status FROM pg_wallet.credit('SB68-E', 100, 'SYS-SUSPENSE-KES');
SELECT set_today('2033-10-03');
SELECT pg_wallet.subscription_create(:'e', :'p_weekly') ->> 'subscriptionId' AS s_held \gset
-- (the request context lasts one transaction: the run and the address together)
CREATE FUNCTION bill_from(ip text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_wallet.set_request_context(jsonb_build_object('ip', ip));
	RETURN bill();
END $$;
SELECT bill_from('100.64.68.9'), sub_of(:'s_held');
SELECT bill_from('100.64.68.9') AS waits, sub_of(:'s_held');
SELECT fraud_review_release AS released FROM (SELECT status AS fraud_review_release
	FROM pg_wallet.fraud_review_release((SELECT y.hold_id FROM pg_wallet.payments y
		JOIN pg_wallet.subscription_charges x ON x.payment_id = y.id
		JOIN pg_wallet.subscriptions s ON s.id = x.subscription_id
		WHERE s.subscription_ref = :'s_held'))) r;
SELECT sub_of(:'s_held');
SELECT set_today('2033-10-10');
SELECT bill_from('100.64.68.9'), sub_of(:'s_held');
SELECT status FROM pg_wallet.fraud_review_reject((SELECT y.hold_id FROM pg_wallet.payments y
	JOIN pg_wallet.subscription_charges x ON x.payment_id = y.id
	JOIN pg_wallet.subscriptions s ON s.id = x.subscription_id
	WHERE s.subscription_ref = :'s_held' AND x.status = 'PENDING'), 'not the customer');
SELECT sub_of(:'s_held');
SELECT x.scheduled_date, x.status, x.attempt_count, x.next_attempt_date, x.error
FROM pg_wallet.subscription_charges x JOIN pg_wallet.subscriptions s ON s.id = x.subscription_id
WHERE s.subscription_ref = :'s_held' ORDER BY x.scheduled_date;
UPDATE pg_wallet.fraud_settings f SET (weight_amount, weight_device, weight_velocity,
	weight_geo, weight_ip, weight_beneficiary, weight_credential, weight_round) =
	(s.weight_amount, s.weight_device, s.weight_velocity, s.weight_geo, s.weight_ip,
	 s.weight_beneficiary, s.weight_credential, s.weight_round) FROM saved_fraud s;
DELETE FROM pg_wallet.fraud_ip_reputation WHERE label = 'subscription test hold';
SELECT pg_wallet.subscription_cancel(:'e', :'s_held') ->> 'status' AS ended;

-- the merchant's metrics over June to September 2033 (a customer sees none: WL085)
SELECT pg_wallet.subscription_metrics(:'m', :'m', '2033-06-01', '2033-09-30') -> 'metrics'
	AS metrics;
SELECT sub_err(format($$SELECT pg_wallet.subscription_metrics(%L, %L)$$, :'c', :'m'));

RESET pg_wallet.test_now_offset_s;
SELECT ledger_ok();
