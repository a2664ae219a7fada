-- Subscriptions (issue 15): the functions over payments/subscriptions_tables.sql; billing
-- and the merchant's metrics are in payments/subscriptions_billing.sql.
--
--   plans     a merchant (or the user who registered it, or an admin) creates plans; anyone
--             signed in reads one.
--   enrol     a user subscribes with a wallet or a saved card: the setup fee and the trial
--             amount are charged at once (each a payment; a card's waits for its partner); the
--             first period is due at the end of the trial, or on the start date. One live
--             subscription per customer and plan (WL109 SUBSCRIPTION_ACTIVE).
--   billing   subscriptions_bill_due(max) charges the subscriptions due today (the billing
--             clock), FOR UPDATE SKIP LOCKED, each in a subtransaction: one payment per
--             period and attempt (payment_create, or card_payment_create for a card: fees, KYC
--             limits, fraud scoring), its key sub:<subscription>:<period>:<attempt>. A
--             payment still PROCESSING (a card's, or one held for fraud review) leaves the
--             charge PENDING until it ends (payments_subscription_charge). Success advances
--             the schedule by
--             calendar rules (anchor + n intervals: a monthly plan anchored on the 31st
--             charges on the last day of shorter months, a yearly one from 29 February on
--             the 28th); a failure is retried 1, 3 and 7 days after the period (PAST_DUE), and
--             after the fourth the subscription is CANCELLED. subscription:charged to both
--             parties either way.
--   state     pause (PAUSED: nothing is charged), resume (the next period on or after today),
--             cancel (CANCELLED, with why).
-- The billing clock is _auth_now() (_billing_today(): its UTC day), which tests move with
-- pg_wallet.test_now_offset_s: the dates of the schedule and the times subscriptions start,
-- pause, cancel and are charged are its; the payments' own times are the real ones.
--
-- Must never: charge a period twice (one charge row per period, its payment's idempotency
-- key); skip a period of an ACTIVE subscription; move money other than through payments.
--
-- Locking: the subscription's row (FOR UPDATE, SKIP LOCKED in the billing run), then the
-- payment's.

-- The billing clock's day (UTC).
CREATE OR REPLACE FUNCTION pg_wallet._billing_today()
RETURNS date
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (pg_wallet._auth_now() AT TIME ZONE 'UTC')::date;
END
$$;
COMMENT ON FUNCTION pg_wallet._billing_today() IS
	'Internal: the billing clock''s day: _auth_now() (now() plus the test-only '
	'pg_wallet.test_now_offset_s) in UTC.';

-- The n-th billing date of a schedule: anchor plus n intervals, counted from the anchor each
-- time (never from the previous date), so month ends do not drift.
CREATE OR REPLACE FUNCTION pg_wallet._subscription_date(anchor date, frequency text,
	billing_interval integer, n integer)
RETURNS date
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE frequency
		WHEN 'daily' THEN anchor + n * billing_interval
		WHEN 'weekly' THEN anchor + 7 * n * billing_interval
		WHEN 'monthly' THEN (anchor + make_interval(months => n * billing_interval))::date
		WHEN 'yearly' THEN (anchor + make_interval(years => n * billing_interval))::date
	END;
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_date(date, text, integer, integer) IS
	'Internal: anchor + n billing intervals (daily, weekly, monthly, yearly); a month or year '
	'that lacks the anchor''s day gives its last day (31 Jan -> 28/29 Feb -> 31 Mar).';

-- A plan's amount per month (minor units, half up): what it adds to MRR.
CREATE OR REPLACE FUNCTION pg_wallet._plan_monthly_minor(p pg_wallet.subscription_plans)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN round(p.amount_minor * CASE p.frequency WHEN 'daily' THEN 365.0 / 12
		WHEN 'weekly' THEN 52.0 / 12 WHEN 'monthly' THEN 1.0 ELSE 1.0 / 12 END
		/ p.billing_interval)::bigint;
END
$$;
COMMENT ON FUNCTION pg_wallet._plan_monthly_minor(pg_wallet.subscription_plans) IS
	'Internal: a plan''s monthly recurring revenue in minor units: amount x (365/12 daily, '
	'52/12 weekly, 1 monthly, 1/12 yearly) / interval, half up.';

-- ---------------------------------------------------------------------------------------
-- Plans
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet._plan_json(p pg_wallet.subscription_plans)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('planId', p.plan_ref, 'merchantId', p.merchant_principal_id,
		'planName', p.name, 'planDescription', p.description,
		'amount', pg_wallet.amount_format(p.amount_minor, p.currency), 'currency', p.currency,
		'billingFrequency', p.frequency, 'billingInterval', p.billing_interval,
		'trialPeriodDays', p.trial_days,
		'trialAmount', pg_wallet.amount_format(p.trial_amount_minor, p.currency),
		'setupFee', pg_wallet.amount_format(p.setup_fee_minor, p.currency),
		'maxCharges', p.max_charges, 'planType', p.plan_type,
		'status', CASE WHEN p.active THEN 'ACTIVE' ELSE 'INACTIVE' END, 'isActive', p.active,
		'createdAt', pg_wallet._ts_iso(p.created_at));
END
$$;
COMMENT ON FUNCTION pg_wallet._plan_json(pg_wallet.subscription_plans) IS
	'Internal: a plan in the Tribble shape of GET /subscription-plans/:planId.';

CREATE OR REPLACE FUNCTION pg_wallet.subscription_plan_create(
	principal_id uuid,
	merchant_id text,
	name text,
	amount numeric,
	currency text,
	frequency text,
	description text DEFAULT NULL,
	billing_interval integer DEFAULT 1,
	trial_days integer DEFAULT 0,
	trial_amount numeric DEFAULT 0,
	setup_fee numeric DEFAULT 0,
	max_charges integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	mp pg_wallet.principals;
	p pg_wallet.subscription_plans;
	new_id bigint := nextval(pg_get_serial_sequence('pg_wallet.subscription_plans', 'id'));
BEGIN
	-- the merchant: the one named, else the caller when it is a merchant
	mp := pg_wallet._merchant_principal_for(principal_id,
		coalesce(merchant_id, CASE WHEN me.role = 'merchant' THEN me.id::text END));
	IF name IS NULL OR length(btrim(name)) NOT BETWEEN 2 AND 100 THEN
		RAISE EXCEPTION 'planName must be 2 to 100 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'planName';
	END IF;
	IF length(description) > 500 THEN
		RAISE EXCEPTION 'planDescription must be at most 500 characters'
			USING ERRCODE = 'string_data_right_truncation', COLUMN = 'planDescription';
	END IF;
	PERFORM pg_wallet._payment_check_args(amount, currency, NULL, NULL, NULL);
	IF frequency IS NULL OR frequency NOT IN ('daily', 'weekly', 'monthly', 'yearly') THEN
		RAISE EXCEPTION 'billingFrequency must be daily, weekly, monthly or yearly'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'billingFrequency';
	END IF;
	IF billing_interval IS NULL OR billing_interval NOT BETWEEN 1 AND 365 THEN
		RAISE EXCEPTION 'billingInterval must be 1 to 365'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'billingInterval';
	END IF;
	IF trial_days IS NULL OR trial_days NOT BETWEEN 0 AND 365 THEN
		RAISE EXCEPTION 'trialPeriodDays must be 0 to 365'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'trialPeriodDays';
	END IF;
	IF coalesce(trial_amount, 0) < 0 OR coalesce(setup_fee, 0) < 0 THEN
		RAISE EXCEPTION 'trialAmount and setupFee must not be negative'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'setupFee';
	END IF;
	IF max_charges IS NOT NULL AND max_charges NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'maxCharges must be 1 to 10000 (or null: until cancelled)'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'maxCharges';
	END IF;
	INSERT INTO pg_wallet.subscription_plans (id, plan_ref, merchant_owner_id,
		merchant_principal_id, name, description, amount_minor, currency, frequency,
		billing_interval, trial_days, trial_amount_minor, setup_fee_minor, max_charges)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, 'PLN-' || pg_wallet._padded(new_id, 6), mp.owner_id, mp.id, btrim(name),
		description, pg_wallet.amount_parse(amount, currency), currency, frequency,
		billing_interval, trial_days,
		CASE WHEN trial_days > 0 THEN pg_wallet.amount_parse(coalesce(trial_amount, 0),
			currency) ELSE 0 END,
		pg_wallet.amount_parse(coalesce(setup_fee, 0), currency), max_charges)
	RETURNING * INTO p;
	RETURN pg_wallet._plan_json(p);
END
$$;
COMMENT ON FUNCTION pg_wallet.subscription_plan_create(uuid, text, text, numeric, text, text,
	text, integer, integer, numeric, numeric, integer) IS
	'Tribble POST /subscription-plans: a plan of the merchant named (default: the caller, '
	'when it is a merchant), by who acts for it or an admin (WL085 otherwise): planName '
	'(2-100), amount > 0 and currency, billingFrequency (daily, weekly, monthly, yearly), '
	'billingInterval (1-365), planDescription (500), trialPeriodDays (0-365) and trialAmount, '
	'setupFee, maxCharges (1-10000 or null). Returns the plan (GET '
	'/subscription-plans/:planId''s shape).';

CREATE OR REPLACE FUNCTION pg_wallet._plan_row(plan_id text)
RETURNS pg_wallet.subscription_plans
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.subscription_plans;
BEGIN
	IF length(plan_id) <= 64 THEN
		SELECT * INTO p FROM pg_wallet.subscription_plans x WHERE x.plan_ref = plan_id;
	END IF;
	IF p.id IS NULL THEN
		RAISE EXCEPTION 'subscription plan not found' USING ERRCODE = 'WL108',
			COLUMN = 'planId';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._plan_row(text) IS
	'Internal: a plan by its planId, or WL108.';

CREATE OR REPLACE FUNCTION pg_wallet.subscription_plan_get(principal_id uuid, plan_id text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	p pg_wallet.subscription_plans := pg_wallet._plan_row(plan_id);
BEGIN
	-- a merchant sees its own plans only (another's are as unknown); customers see them all
	IF me.role = 'merchant' AND me.owner_id <> p.merchant_owner_id THEN
		RAISE EXCEPTION 'subscription plan not found' USING ERRCODE = 'WL108',
			COLUMN = 'planId';
	END IF;
	RETURN pg_wallet._plan_json(p);
END
$$;
COMMENT ON FUNCTION pg_wallet.subscription_plan_get(uuid, text) IS
	'Tribble GET /subscription-plans/:planId: a plan, for users (customers choose from them), '
	'admins and its own merchant; WL108 for an unknown one and, to another merchant, '
	'another''s.';

-- ---------------------------------------------------------------------------------------
-- Subscriptions
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet._subscription_json(s pg_wallet.subscriptions,
	detailed boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.subscription_plans;
	last pg_wallet.subscription_charges;
	j jsonb;
BEGIN
	SELECT * INTO STRICT p FROM pg_wallet.subscription_plans x WHERE x.id = s.plan_id;
	j := jsonb_build_object('subscriptionId', s.subscription_ref, 'planId', p.plan_ref,
		'planName', p.name, 'status', s.status, 'autoRenew', s.auto_renew,
		'amount', pg_wallet.amount_format(p.amount_minor, p.currency), 'currency', p.currency,
		'nextChargeDate', s.next_charge_date, 'trialEndDate', s.trial_end_date,
		'chargeCount', s.charge_count,
		'paymentMethodId', CASE WHEN s.payment_method_id IS NOT NULL
			THEN 'card-' || s.payment_method_id ELSE 'wallet' END,
		'createdAt', pg_wallet._ts_iso(s.created_at));
	IF NOT detailed THEN
		RETURN j;
	END IF;
	SELECT * INTO last FROM pg_wallet.subscription_charges c
	WHERE c.subscription_id = s.id AND c.status = 'SUCCEEDED'
	ORDER BY c.charged_at DESC, c.id DESC LIMIT 1;
	RETURN j || jsonb_build_object('customerId', s.customer_principal_id,
		'merchantId', p.merchant_principal_id, 'maxCharges', p.max_charges,
		'startDate', s.start_date, 'nextAttemptDate', s.next_attempt_date,
		'pausedAt', pg_wallet._ts_iso(s.paused_at), 'pauseReason', s.pause_reason,
		'cancelledAt', pg_wallet._ts_iso(s.cancelled_at), 'cancelledReason', s.cancel_reason,
		'lastChargeDate', (last.charged_at AT TIME ZONE 'UTC')::date,
		'lastChargeAmount', CASE WHEN last.id IS NOT NULL
			THEN pg_wallet.amount_format(last.amount_minor, last.currency) END,
		'charges', coalesce((SELECT jsonb_agg(jsonb_build_object('chargeId', c.charge_ref,
				'kind', c.kind, 'amount', pg_wallet.amount_format(c.amount_minor, c.currency),
				'status', c.status, 'scheduledDate', c.scheduled_date,
				'actualChargeDate', (c.charged_at AT TIME ZONE 'UTC')::date,
				'attemptCount', c.attempt_count, 'nextAttemptDate', c.next_attempt_date,
				'failureReason', c.error,
				'transactionId', (SELECT y.transaction_ref FROM pg_wallet.payments y
					WHERE y.id = c.payment_id)) ORDER BY c.scheduled_date, c.id)
			FROM pg_wallet.subscription_charges c WHERE c.subscription_id = s.id), '[]'));
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_json(pg_wallet.subscriptions, boolean) IS
	'Internal: a subscription in the Tribble shape; detailed: GET /subscriptions/:id''s, with '
	'its charges (scheduled and actual date, attempts, status, failure reason, payment).';

-- A subscription its customer (an admin; with merchants, who acts for its merchant) may see,
-- locked when asked; WL110 for anyone else and an unknown one alike.
CREATE OR REPLACE FUNCTION pg_wallet._subscription_for(subscription_id text, principal_id uuid,
	merchants boolean, p_lock boolean)
RETURNS pg_wallet.subscriptions
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	s pg_wallet.subscriptions;
BEGIN
	IF length(subscription_id) <= 64 THEN
		SELECT * INTO s FROM pg_wallet.subscriptions x WHERE x.subscription_ref = subscription_id;
	END IF;
	IF s.id IS NULL OR NOT (me.owner_id = s.customer_owner_id OR me.role = 'admin'
		OR (merchants AND pg_wallet._merchant_agent(me, (SELECT p.merchant_owner_id
			FROM pg_wallet.subscription_plans p WHERE p.id = s.plan_id)))) THEN
		RAISE EXCEPTION 'subscription not found' USING ERRCODE = 'WL110';
	END IF;
	IF p_lock THEN
		SELECT * INTO STRICT s FROM pg_wallet.subscriptions x WHERE x.id = s.id FOR UPDATE;
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_for(text, uuid, boolean, boolean) IS
	'Internal: a subscription for its customer, admins and (with merchants) who acts for its '
	'merchant, locked when asked; WL110 otherwise.';

-- One payment of a subscription: from its wallet (payment_create: posted at once, or held for
-- fraud review) or its card (card_payment_create: PROCESSING until the card partner answers).
CREATE OR REPLACE FUNCTION pg_wallet._subscription_pay(s pg_wallet.subscriptions,
	p pg_wallet.subscription_plans, amount_minor bigint, reference text, description text,
	metadata jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF s.payment_method_id IS NOT NULL THEN
		RETURN pg_wallet.card_payment_create(s.customer_principal_id,
			p.merchant_principal_id::text, pg_wallet.amount_format(amount_minor, p.currency),
			p.currency, 'card-' || s.payment_method_id, reference, description, metadata);
	END IF;
	RETURN pg_wallet.payment_create(s.customer_principal_id, p.merchant_principal_id::text,
		pg_wallet.amount_format(amount_minor, p.currency), p.currency, reference, description,
		metadata, (SELECT a.account_number FROM pg_wallet.accounts a
			WHERE a.id = s.wallet_account_id));
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_pay(pg_wallet.subscriptions,
	pg_wallet.subscription_plans, bigint, text, text, jsonb) IS
	'Internal: one payment of a subscription to its merchant, from its wallet (payment_create) '
	'or its saved card (card_payment_create, PROCESSING until the partner answers); the '
	'payment''s answer.';

-- A charge of a subscription outside the billing run (the setup fee, the trial amount): one
-- payment now; its error is the caller's.
CREATE OR REPLACE FUNCTION pg_wallet._subscription_charge_now(s pg_wallet.subscriptions,
	p pg_wallet.subscription_plans, p_kind text, amount_minor bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref text := s.subscription_ref || '-' || upper(p_kind);
	pay jsonb;
BEGIN
	pay := pg_wallet._subscription_pay(s, p, amount_minor, 'sub:' || ref,
		left(p.name || ' (' || p_kind || ')', 200), jsonb_build_object('subscriptionId',
			s.subscription_ref, 'chargeId', ref));
	IF pay ->> 'status' = 'FAILED' THEN
		RAISE EXCEPTION 'the % charge failed: %', p_kind, pay #>> '{error,message}'
			USING ERRCODE = coalesce(pay #>> '{error,code}', 'WL094');
	END IF;
	INSERT INTO pg_wallet.subscription_charges (charge_ref, subscription_id, scheduled_date,
		kind, amount_minor, currency, status, payment_id, charged_at)
	VALUES (ref, s.id, s.start_date, p_kind, amount_minor, p.currency,
		CASE pay ->> 'status' WHEN 'SUCCESS' THEN 'SUCCEEDED' ELSE 'PENDING' END,
		(SELECT y.id FROM pg_wallet.payments y WHERE y.transaction_ref = pay ->> 'transactionId'),
		pg_wallet._auth_now());
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_charge_now(pg_wallet.subscriptions,
	pg_wallet.subscription_plans, text, bigint) IS
	'Internal: charge a subscription''s setup fee or trial amount at enrolment: one payment '
	'(its refusal is the enrolment''s), recorded as a charge of that kind.';

CREATE OR REPLACE FUNCTION pg_wallet.subscription_create(
	principal_id uuid,
	plan_id text,
	payment_method_id text DEFAULT NULL,
	start_date date DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_wallet.principals := pg_wallet._payment_customer(principal_id);
	p pg_wallet.subscription_plans := pg_wallet._plan_row(plan_id);
	today date := pg_wallet._billing_today();
	d0 date := coalesce(start_date, today);
	w pg_wallet.accounts;
	card pg_wallet.payment_methods;
	s pg_wallet.subscriptions;
	new_id bigint := nextval(pg_get_serial_sequence('pg_wallet.subscriptions', 'id'));
	trial_end date;
BEGIN
	IF NOT p.active THEN
		RAISE EXCEPTION 'subscription plan % is not active', p.plan_ref USING ERRCODE = 'WL112',
			COLUMN = 'planId';
	END IF;
	IF d0 < today OR d0 > today + 365 THEN
		RAISE EXCEPTION 'startDate must be from today to a year from now'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'startDate';
	END IF;
	IF payment_method_id ~ '^bank-' THEN
		RAISE EXCEPTION 'a bank account cannot pay a subscription: pay from a wallet or a card'
			USING ERRCODE = 'WL089', COLUMN = 'paymentMethodId';
	END IF;
	PERFORM pg_wallet._payment_merchant(p.merchant_principal_id::text);	-- WL086 inactive
	IF payment_method_id ~ '^card-' THEN
		-- the one rule of a chargeable method: the customer's, active, not expired
		PERFORM pg_wallet.payment_method_check(c.owner_id, payment_method_id);
		card := pg_wallet._payment_method_row(c.owner_id, payment_method_id);
	ELSE
		w := pg_wallet._payment_customer_wallet(c.owner_id, p.currency,
			nullif(payment_method_id, 'wallet'));
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.subscriptions x
	           WHERE x.customer_owner_id = c.owner_id AND x.plan_id = p.id
	             AND x.status IN ('ACTIVE', 'PAST_DUE', 'PAUSED')) THEN
		RAISE EXCEPTION 'you already have a live subscription to plan %', p.plan_ref
			USING ERRCODE = 'WL109', COLUMN = 'planId';
	END IF;
	trial_end := CASE WHEN p.trial_days > 0 THEN d0 + p.trial_days END;
	INSERT INTO pg_wallet.subscriptions (id, subscription_ref, plan_id, customer_owner_id,
		customer_principal_id, wallet_account_id, payment_method_id, anchor_date, start_date,
		trial_end_date, next_charge_date, created_at)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, 'SUB-' || pg_wallet._padded(new_id, 6), p.id, c.owner_id, c.id, w.id, card.id,
		coalesce(trial_end, d0), d0, trial_end, coalesce(trial_end, d0), pg_wallet._auth_now())
	RETURNING * INTO s;
	IF p.setup_fee_minor > 0 THEN
		PERFORM pg_wallet._subscription_charge_now(s, p, 'setup', p.setup_fee_minor);
	END IF;
	IF p.trial_amount_minor > 0 THEN
		PERFORM pg_wallet._subscription_charge_now(s, p, 'trial', p.trial_amount_minor);
	END IF;
	RETURN pg_wallet._subscription_json(s, false) || jsonb_build_object('message',
		'Subscription activated successfully.' || CASE WHEN p.trial_days > 0
			THEN format(' Trial period: %s days', p.trial_days) ELSE '' END);
END
$$;
COMMENT ON FUNCTION pg_wallet.subscription_create(uuid, text, text, date) IS
	'Tribble POST /subscriptions: a user (WL031) subscribes to an active plan (WL108 unknown, '
	'WL112 inactive; WL086 its merchant not active) from a wallet in the plan''s currency '
	'("wallet", a walletId, or absent: WL087, WL005, WL009) or a saved card (card-<id>: '
	'WL080, WL081; a bank account is WL089) from startDate '
	'(today to a year ahead, default today). The setup fee and the trial amount are charged '
	'at once (their refusal refuses the enrolment: WL001, WL044, WL047...); the first period '
	'is due at the trial''s end, or on the start date. One live subscription per customer and '
	'plan (WL109 SUBSCRIPTION_ACTIVE). Returns subscriptionId, planId, planName, status, '
	'autoRenew, amount, currency, nextChargeDate, trialEndDate, chargeCount, createdAt, '
	'message.';

CREATE OR REPLACE FUNCTION pg_wallet.subscription_get(principal_id uuid, subscription_id text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._subscription_json(pg_wallet._subscription_for(subscription_id,
		principal_id, true, false), true);
END
$$;
COMMENT ON FUNCTION pg_wallet.subscription_get(uuid, text) IS
	'Tribble GET /subscriptions/:subscriptionId: a subscription with its charges, for its '
	'customer, who acts for its merchant and admins (WL110 otherwise).';

CREATE OR REPLACE FUNCTION pg_wallet.subscription_pause(principal_id uuid,
	subscription_id text, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.subscriptions := pg_wallet._subscription_for(subscription_id, principal_id,
		false, true);
BEGIN
	IF length(reason) > 200 THEN
		RAISE EXCEPTION 'reason must be at most 200 characters'
			USING ERRCODE = 'string_data_right_truncation', COLUMN = 'reason';
	END IF;
	IF s.status NOT IN ('ACTIVE', 'PAST_DUE') THEN
		RAISE EXCEPTION 'subscription % is % and cannot be paused', s.subscription_ref, s.status
			USING ERRCODE = 'WL111';
	END IF;
	UPDATE pg_wallet.subscriptions x
	SET status = 'PAUSED', paused_at = pg_wallet._auth_now(), pause_reason = reason,
		next_attempt_date = NULL
	WHERE x.id = s.id
	RETURNING * INTO s;
	RETURN jsonb_build_object('subscriptionId', s.subscription_ref, 'status', s.status,
		'pausedAt', pg_wallet._ts_iso(s.paused_at), 'reason', s.pause_reason,
		'message', 'Subscription paused successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.subscription_pause(uuid, text, text) IS
	'Tribble PUT /subscriptions/:id/pause {reason}: its customer or an admin pauses an '
	'ACTIVE or PAST_DUE subscription (WL111 otherwise; WL110 for anyone else): nothing is '
	'charged while PAUSED.';

CREATE OR REPLACE FUNCTION pg_wallet.subscription_resume(principal_id uuid,
	subscription_id text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.subscriptions := pg_wallet._subscription_for(subscription_id, principal_id,
		false, true);
	p pg_wallet.subscription_plans;
	today date := pg_wallet._billing_today();
	n integer;
BEGIN
	IF s.status <> 'PAUSED' THEN
		RAISE EXCEPTION 'subscription % is % and cannot be resumed', s.subscription_ref,
			s.status USING ERRCODE = 'WL111';
	END IF;
	SELECT * INTO STRICT p FROM pg_wallet.subscription_plans x WHERE x.id = s.plan_id;
	-- the next period on or after today: the ones that passed while paused are not charged
	n := s.period_index;
	WHILE pg_wallet._subscription_date(s.anchor_date, p.frequency, p.billing_interval, n)
		< today LOOP
		n := n + 1;
	END LOOP;
	UPDATE pg_wallet.subscriptions x
	SET status = 'ACTIVE', period_index = n, next_attempt_date = NULL,
		next_charge_date = pg_wallet._subscription_date(s.anchor_date, p.frequency,
			p.billing_interval, n)
	WHERE x.id = s.id
	RETURNING * INTO s;
	RETURN jsonb_build_object('subscriptionId', s.subscription_ref, 'status', s.status,
		'nextChargeDate', s.next_charge_date, 'resumedAt', pg_wallet._ts_iso(pg_wallet._auth_now()),
		'message', 'Subscription resumed successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.subscription_resume(uuid, text) IS
	'Tribble PUT /subscriptions/:id/resume: its customer or an admin resumes a PAUSED '
	'subscription (WL111 otherwise): ACTIVE, next charge on its first billing date on or after '
	'today (the periods that passed while paused are not charged).';

CREATE OR REPLACE FUNCTION pg_wallet.subscription_cancel(principal_id uuid,
	subscription_id text, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.subscriptions := pg_wallet._subscription_for(subscription_id, principal_id,
		true, true);
BEGIN
	IF length(reason) > 200 THEN
		RAISE EXCEPTION 'reason must be at most 200 characters'
			USING ERRCODE = 'string_data_right_truncation', COLUMN = 'reason';
	END IF;
	IF s.status IN ('CANCELLED', 'COMPLETED') THEN
		RAISE EXCEPTION 'subscription % is already %', s.subscription_ref, lower(s.status)
			USING ERRCODE = 'WL111';
	END IF;
	UPDATE pg_wallet.subscriptions x
	SET status = 'CANCELLED', cancelled_at = pg_wallet._auth_now(), cancel_reason = reason,
		next_charge_date = NULL, next_attempt_date = NULL
	WHERE x.id = s.id
	RETURNING * INTO s;
	UPDATE pg_wallet.subscription_charges c
	SET status = 'FAILED', next_attempt_date = NULL, updated_at = now(),
		error = coalesce(c.error, 'the subscription was cancelled')
	WHERE c.subscription_id = s.id AND c.status = 'RETRYING';
	RETURN jsonb_build_object('subscriptionId', s.subscription_ref, 'status', s.status,
		'cancelledAt', pg_wallet._ts_iso(s.cancelled_at), 'cancelledReason', s.cancel_reason,
		'message', 'Subscription cancelled successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.subscription_cancel(uuid, text, text) IS
	'Tribble PUT /subscriptions/:id/cancel {reason}: its customer, who acts for its merchant '
	'or an admin cancels a live subscription (WL111 once ended; WL110 for anyone else): '
	'nothing more is charged; a charge being retried is given up.';

CREATE OR REPLACE FUNCTION pg_wallet.customer_subscriptions(principal_id uuid,
	customer_id uuid)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	c pg_wallet.principals;
BEGIN
	SELECT * INTO c FROM pg_wallet.principals x WHERE x.id = customer_id;
	IF c.id IS NULL OR NOT (c.owner_id = me.owner_id OR me.role = 'admin') THEN
		RAISE EXCEPTION 'customer not found' USING ERRCODE = 'WL110', COLUMN = 'customerId';
	END IF;
	RETURN jsonb_build_object(
		'subscriptions', coalesce((SELECT jsonb_agg(pg_wallet._subscription_json(s, false)
				ORDER BY s.id DESC)
			FROM pg_wallet.subscriptions s WHERE s.customer_owner_id = c.owner_id), '[]'),
		'summary', (SELECT jsonb_build_object(
				'activeCount', count(*) FILTER (WHERE s.status IN ('ACTIVE', 'PAST_DUE')),
				'pausedCount', count(*) FILTER (WHERE s.status = 'PAUSED'),
				'cancelledCount', count(*) FILTER (WHERE s.status = 'CANCELLED'),
				'completedCount', count(*) FILTER (WHERE s.status = 'COMPLETED'))
			FROM pg_wallet.subscriptions s WHERE s.customer_owner_id = c.owner_id)
			|| coalesce((SELECT jsonb_build_object(
					'totalMRR', (array_agg(pg_wallet.amount_format(x.mrr, x.currency)
						ORDER BY x.n DESC, x.currency))[1],
					'mrrCurrency', (array_agg(x.currency ORDER BY x.n DESC, x.currency))[1],
					'mrrByCurrency', jsonb_object_agg(x.currency,
						pg_wallet.amount_format(x.mrr, x.currency)))
				FROM (SELECT p.currency, count(*) AS n,
						sum(pg_wallet._plan_monthly_minor(p))::bigint AS mrr
					FROM pg_wallet.subscriptions s
					JOIN pg_wallet.subscription_plans p ON p.id = s.plan_id
					WHERE s.customer_owner_id = c.owner_id
						AND s.status IN ('ACTIVE', 'PAST_DUE')
					GROUP BY p.currency) x HAVING count(*) > 0),
				'{"totalMRR": 0, "mrrCurrency": null, "mrrByCurrency": {}}'));
END
$$;
COMMENT ON FUNCTION pg_wallet.customer_subscriptions(uuid, uuid) IS
	'Tribble GET /customers/:customerId/subscriptions: the customer''s subscriptions, newest '
	'first, and summary {activeCount (ACTIVE and PAST_DUE), pausedCount, cancelledCount, '
	'completedCount, totalMRR (the active ones'' monthly amount in mrrCurrency, the currency '
	'of most of them), mrrByCurrency}; for the customer itself and admins (WL110 otherwise).';
