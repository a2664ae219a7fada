-- Subscriptions (issue 15): the functions over payments/subscriptions_tables.sql.
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

-- ---------------------------------------------------------------------------------------
-- Billing
-- ---------------------------------------------------------------------------------------

-- The dunning schedule: the day of attempt n + 1 after the period's date, or NULL when attempt
-- n was the last (4 attempts: on the day, then 1, 3 and 7 days later).
CREATE OR REPLACE FUNCTION pg_wallet._dunning_next(period date, attempt integer)
RETURNS date
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN period + CASE attempt WHEN 1 THEN 1 WHEN 2 THEN 3 WHEN 3 THEN 7 END;
END
$$;
COMMENT ON FUNCTION pg_wallet._dunning_next(date, integer) IS
	'Internal: when a failed subscription charge is tried again: 1, 3 and 7 days after its '
	'period; NULL after the fourth attempt (the subscription is then cancelled).';

-- subscription:charged to the customer and the merchant.
CREATE OR REPLACE FUNCTION pg_wallet._subscription_events(s pg_wallet.subscriptions,
	p pg_wallet.subscription_plans, c pg_wallet.subscription_charges)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet._events_enqueue(ARRAY[s.customer_owner_id, p.merchant_owner_id],
		'subscription:charged', jsonb_build_object('subscriptionId', s.subscription_ref,
			'chargeId', c.charge_ref, 'amount', pg_wallet.amount_format(c.amount_minor,
				c.currency), 'currency', c.currency, 'status', c.status,
			'attemptCount', c.attempt_count, 'nextChargeDate', s.next_charge_date,
			'subscriptionStatus', s.status, 'timestamp', pg_wallet._ts_iso(pg_wallet._auth_now())),
		ARRAY[s.customer_principal_id, p.merchant_principal_id]);
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_events(pg_wallet.subscriptions,
	pg_wallet.subscription_plans, pg_wallet.subscription_charges) IS
	'Internal: subscription:charged {subscriptionId, chargeId, amount, currency, status, '
	'attemptCount, nextChargeDate, subscriptionStatus, timestamp} to the customer and the '
	'merchant.';

-- What an ended attempt at a period does to its subscription (locked): success counts the
-- period and moves to the next billing date (COMPLETED at maxCharges); a failure waits for the
-- dunning schedule's next day (PAST_DUE), or ends the subscription after the last one.
CREATE OR REPLACE FUNCTION pg_wallet._subscription_outcome(s pg_wallet.subscriptions,
	p pg_wallet.subscription_plans, c pg_wallet.subscription_charges)
RETURNS pg_wallet.subscriptions
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF c.status = 'SUCCEEDED' THEN
		UPDATE pg_wallet.subscriptions x
		SET charge_count = x.charge_count + 1, period_index = x.period_index + 1,
			status = CASE WHEN p.max_charges <= x.charge_count + 1 THEN 'COMPLETED'
				WHEN x.status = 'PAUSED' THEN 'PAUSED' ELSE 'ACTIVE' END,
			next_charge_date = CASE WHEN p.max_charges <= x.charge_count + 1 THEN NULL
				ELSE pg_wallet._subscription_date(x.anchor_date, p.frequency,
					p.billing_interval, x.period_index + 1) END,
			next_attempt_date = NULL
		WHERE x.id = s.id
		RETURNING * INTO s;
	ELSIF c.status = 'FAILED' THEN
		UPDATE pg_wallet.subscriptions x
		SET status = 'CANCELLED', cancelled_at = pg_wallet._auth_now(), next_charge_date = NULL,
			next_attempt_date = NULL,
			cancel_reason = format('the charge of %s failed %s times', c.scheduled_date,
				c.attempt_count)
		WHERE x.id = s.id
		RETURNING * INTO s;
	ELSIF c.status = 'RETRYING' THEN
		UPDATE pg_wallet.subscriptions x
		SET status = CASE WHEN x.status = 'PAUSED' THEN 'PAUSED' ELSE 'PAST_DUE' END,
			next_attempt_date = c.next_attempt_date
		WHERE x.id = s.id
		RETURNING * INTO s;
	END IF;
	PERFORM pg_wallet._subscription_events(s, p, c);
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_outcome(pg_wallet.subscriptions,
	pg_wallet.subscription_plans, pg_wallet.subscription_charges) IS
	'Internal: apply an attempt''s outcome to its subscription (locked): SUCCEEDED counts the '
	'period and moves the schedule on (COMPLETED at maxCharges), RETRYING makes it PAST_DUE '
	'until the next attempt, FAILED cancels it, PENDING (a payment held for fraud review) '
	'leaves it waiting; subscription:charged either way.';

-- One attempt at a due subscription's current period (the subscription locked): its payment,
-- then _subscription_outcome. A payment held for fraud review leaves the charge PENDING: the
-- review decides (_subscription_payment_ended), and nothing bills the subscription meanwhile.
CREATE OR REPLACE FUNCTION pg_wallet._subscription_bill(s pg_wallet.subscriptions)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.subscription_plans;
	c pg_wallet.subscription_charges;
	period date := s.next_charge_date;
	attempt integer;
	pay jsonb;
	err text;
	retry date;
BEGIN
	SELECT * INTO STRICT p FROM pg_wallet.subscription_plans x WHERE x.id = s.plan_id;
	SELECT * INTO c FROM pg_wallet.subscription_charges x
	WHERE x.subscription_id = s.id AND x.kind = 'period' AND x.scheduled_date = period
	FOR UPDATE;
	attempt := coalesce(c.attempt_count, 0) + 1;
	BEGIN
		pay := pg_wallet._subscription_pay(s, p, p.amount_minor,
			format('sub:%s:%s:%s', s.subscription_ref, period, attempt), left(p.name, 200),
			jsonb_build_object('subscriptionId', s.subscription_ref, 'period', period));
		IF pay ->> 'status' = 'FAILED' THEN
			err := left(coalesce(pay #>> '{error,code}', 'WL094') || ': '
				|| coalesce(pay #>> '{error,message}', 'failed'), 500);
		END IF;
	EXCEPTION WHEN OTHERS THEN
		err := left(SQLSTATE || ': ' || SQLERRM, 500);
	END;
	retry := CASE WHEN err IS NOT NULL THEN pg_wallet._dunning_next(period, attempt) END;
	-- a retry day that is already past (the run was late) is tried at the next run
	INSERT INTO pg_wallet.subscription_charges AS x (charge_ref, subscription_id,
		scheduled_date, amount_minor, currency, status, attempt_count, next_attempt_date,
		payment_id, error, charged_at)
	VALUES (format('CHG-%s-%s', s.subscription_ref, to_char(period, 'YYYYMMDD')), s.id,
		period, p.amount_minor, p.currency,
		CASE WHEN err IS NULL THEN CASE pay ->> 'status' WHEN 'SUCCESS' THEN 'SUCCEEDED'
			ELSE 'PENDING' END WHEN retry IS NULL THEN 'FAILED' ELSE 'RETRYING' END,
		attempt, retry,
		CASE WHEN err IS NULL THEN (SELECT y.id FROM pg_wallet.payments y
			WHERE y.transaction_ref = pay ->> 'transactionId') END,
		err, CASE WHEN err IS NULL THEN pg_wallet._auth_now() END)
	ON CONFLICT (subscription_id, kind, scheduled_date) DO UPDATE
	SET status = EXCLUDED.status, attempt_count = EXCLUDED.attempt_count,
		next_attempt_date = EXCLUDED.next_attempt_date, payment_id = EXCLUDED.payment_id,
		error = EXCLUDED.error, charged_at = EXCLUDED.charged_at, updated_at = now()
	RETURNING * INTO c;
	PERFORM pg_wallet._subscription_outcome(s, p, c);
	RETURN c.status;
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_bill(pg_wallet.subscriptions) IS
	'Internal: one attempt at a due subscription''s period (locked): a payment (key '
	'sub:<subscription>:<period>:<attempt>): SUCCEEDED, PENDING (held for fraud review: the '
	'review decides), or RETRYING on the dunning schedule and FAILED after the fourth '
	'attempt; then _subscription_outcome. Returns the charge''s status.';

-- The trigger payments_subscription_charge (payments/subscriptions_triggers.sql): a payment
-- that was held for fraud review ended. The PENDING charge it paid follows it: SUCCEEDED (the
-- schedule moves on), or, released never, RETRYING on the dunning schedule (a setup or trial
-- charge: FAILED).
CREATE OR REPLACE FUNCTION pg_wallet._subscription_payment_ended()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_wallet.subscription_charges;
	s pg_wallet.subscriptions;
	p pg_wallet.subscription_plans;
	retry date;
BEGIN
	SELECT * INTO c FROM pg_wallet.subscription_charges x
	WHERE x.payment_id = NEW.id AND x.status = 'PENDING' FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO STRICT s FROM pg_wallet.subscriptions x WHERE x.id = c.subscription_id
	FOR UPDATE;
	SELECT * INTO STRICT p FROM pg_wallet.subscription_plans x WHERE x.id = s.plan_id;
	IF NEW.status = 'SUCCESS' THEN
		UPDATE pg_wallet.subscription_charges x
		SET status = 'SUCCEEDED', charged_at = pg_wallet._auth_now(), updated_at = now()
		WHERE x.id = c.id
		RETURNING * INTO c;
	ELSE
		retry := CASE WHEN c.kind = 'period'
			THEN pg_wallet._dunning_next(c.scheduled_date, c.attempt_count) END;
		UPDATE pg_wallet.subscription_charges x
		SET status = CASE WHEN retry IS NULL THEN 'FAILED' ELSE 'RETRYING' END,
			next_attempt_date = retry, payment_id = NULL, charged_at = NULL, updated_at = now(),
			error = left(coalesce(NEW.error_code || ': ', '') || coalesce(NEW.error_message,
				'failed'), 500)
		WHERE x.id = c.id
		RETURNING * INTO c;
	END IF;
	-- (a subscription paused meanwhile stays PAUSED; a cancelled one has nothing to move)
	IF c.kind = 'period' AND s.status IN ('ACTIVE', 'PAST_DUE', 'PAUSED') THEN
		PERFORM pg_wallet._subscription_outcome(s, p, c);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._subscription_payment_ended() IS
	'Internal, trigger payments_subscription_charge: a PENDING subscription charge follows '
	'its payment when the fraud review ends it: SUCCEEDED (the schedule moves on), or RETRYING '
	'on the dunning schedule (FAILED after the fourth attempt, or for a setup or trial '
	'charge).';

CREATE OR REPLACE FUNCTION pg_wallet.subscriptions_bill_due(max_subscriptions integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	today date := pg_wallet._billing_today();
	s pg_wallet.subscriptions;
	st text;
	counts jsonb := '{"SUCCEEDED": 0, "PENDING": 0, "RETRYING": 0, "FAILED": 0}';
BEGIN
	IF max_subscriptions IS NULL OR max_subscriptions NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'max_subscriptions must be 1 to 10000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR s IN
		SELECT x.* FROM pg_wallet.subscriptions x
		WHERE x.status IN ('ACTIVE', 'PAST_DUE') AND x.next_charge_date <= today
			AND (x.next_attempt_date IS NULL OR x.next_attempt_date <= today)
			-- a charge held for fraud review waits for the review
			AND NOT EXISTS (SELECT 1 FROM pg_wallet.subscription_charges c
			                WHERE c.subscription_id = x.id AND c.status = 'PENDING')
		-- a customer's subscriptions together: a concurrent run, skipping the locked ones,
		-- takes other customers, whose wallets this transaction does not hold
		ORDER BY x.next_charge_date, x.customer_owner_id, x.id
		LIMIT max_subscriptions
		FOR UPDATE SKIP LOCKED
	LOOP
		st := pg_wallet._subscription_bill(s);
		counts := jsonb_set(counts, ARRAY[st], to_jsonb((counts ->> st)::integer + 1));
	END LOOP;
	RETURN jsonb_build_object('today', today, 'charged', counts -> 'SUCCEEDED',
		'pending', counts -> 'PENDING', 'retrying', counts -> 'RETRYING',
		'failed', counts -> 'FAILED');
END
$$;
COMMENT ON FUNCTION pg_wallet.subscriptions_bill_due(integer) IS
	'Admin (the billing worker, or a scheduler): one attempt at up to max_subscriptions '
	'(1-10000) subscriptions due on the billing clock''s day, oldest period first, FOR UPDATE '
	'SKIP LOCKED (concurrent runs never take the same one), in one transaction. Returns '
	'{today, charged, pending, retrying, failed}; call again until they are all 0: a '
	'subscription whose run was late has one period billed per call.';

-- ---------------------------------------------------------------------------------------
-- Metrics (GET /merchants/:merchantId/subscription-metrics)
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet.subscription_metrics(principal_id uuid, merchant_id text,
	start_date date DEFAULT NULL, end_date date DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	mp pg_wallet.principals := pg_wallet._merchant_principal_for(principal_id, merchant_id);
	d1 date := coalesce(end_date, pg_wallet._billing_today());
	d0 date := coalesce(start_date, date_trunc('month', d1)::date);
	t0 timestamptz := d0::timestamp AT TIME ZONE 'UTC';
	t1 timestamptz := (d1 + 1)::timestamp AT TIME ZONE 'UTC';
	cur text;
	m record;
BEGIN
	IF d1 < d0 OR d1 - d0 > 366 THEN
		RAISE EXCEPTION 'the period must run from startDate to endDate, at most 367 days'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'startDate';
	END IF;
	-- one currency: the one most of the merchant's plans use
	SELECT p.currency INTO cur FROM pg_wallet.subscription_plans p
	WHERE p.merchant_owner_id = mp.owner_id GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1;
	SELECT
		coalesce(sum(pg_wallet._plan_monthly_minor(p)) FILTER (WHERE s.status IN ('ACTIVE',
			'PAST_DUE') AND s.created_at < t1), 0)::bigint AS mrr,
		count(*) FILTER (WHERE s.status IN ('ACTIVE', 'PAST_DUE') AND s.created_at < t1)
			AS active,
		count(*) FILTER (WHERE s.created_at >= t0 AND s.created_at < t1) AS new,
		count(*) FILTER (WHERE s.cancelled_at >= t0 AND s.cancelled_at < t1) AS cancelled,
		count(*) FILTER (WHERE s.status = 'PAUSED' AND s.paused_at < t1) AS paused,
		count(*) FILTER (WHERE s.created_at < t0 AND (s.cancelled_at IS NULL
			OR s.cancelled_at >= t0)) AS at_start,
		count(*) FILTER (WHERE s.trial_end_date BETWEEN d0 AND d1) AS trials_ended,
		count(*) FILTER (WHERE s.trial_end_date BETWEEN d0 AND d1 AND EXISTS (
			SELECT 1 FROM pg_wallet.subscription_charges x
			WHERE x.subscription_id = s.id AND x.kind = 'period'
				AND x.scheduled_date = s.trial_end_date AND x.status = 'SUCCEEDED'))
			AS converted
	INTO m
	FROM pg_wallet.subscriptions s JOIN pg_wallet.subscription_plans p ON p.id = s.plan_id
	WHERE p.merchant_owner_id = mp.owner_id AND p.currency = cur;
	RETURN jsonb_build_object('merchantId', mp.id, 'currency', cur,
		'period', jsonb_build_object('startDate', d0, 'endDate', d1),
		'metrics', (SELECT jsonb_build_object(
			'mrr', pg_wallet.amount_format(m.mrr, coalesce(cur, 'KES')),
			'arr', pg_wallet.amount_format(m.mrr * 12, coalesce(cur, 'KES')),
			'activeSubscriptions', m.active, 'newSubscriptions', m.new,
			'cancelledSubscriptions', m.cancelled, 'pausedSubscriptions', m.paused,
			'churnRate', CASE WHEN m.at_start > 0
				THEN round(100.0 * m.cancelled / m.at_start, 2) ELSE 0 END,
			'trialConversions', m.converted,
			'trialConversionRate', CASE WHEN m.trials_ended > 0
				THEN round(100.0 * m.converted / m.trials_ended, 2) ELSE 0 END,
			'failedCharges', count(*), 'recoveredCharges', count(*) FILTER (
				WHERE x.status = 'SUCCEEDED'),
			'recoveryRate', CASE WHEN count(*) > 0 THEN round(100.0 * count(*) FILTER (
				WHERE x.status = 'SUCCEEDED') / count(*), 2) ELSE 0 END,
			'expansionMrr', pg_wallet.amount_format(0, coalesce(cur, 'KES')),
			'contractionMrr', pg_wallet.amount_format(0, coalesce(cur, 'KES')))
			-- charges of the period whose first attempt failed
			FROM pg_wallet.subscription_charges x
			JOIN pg_wallet.subscriptions s ON s.id = x.subscription_id
			JOIN pg_wallet.subscription_plans p ON p.id = s.plan_id
			WHERE p.merchant_owner_id = mp.owner_id AND p.currency = cur
				AND x.kind = 'period' AND x.scheduled_date BETWEEN d0 AND d1
				AND (x.attempt_count > 1 OR x.status IN ('FAILED', 'RETRYING'))));
END
$$;
COMMENT ON FUNCTION pg_wallet.subscription_metrics(uuid, text, date, date) IS
	'Tribble GET /merchants/:merchantId/subscription-metrics: for who acts for the merchant '
	'and admins (WL085 otherwise), over start_date..end_date (UTC days of the billing clock; '
	'default the month so far, at most 367 days), in the currency of most of its plans: mrr '
	'(the monthly amounts of the subscriptions ACTIVE or PAST_DUE now and created by the '
	'end), arr (12 x mrr), activeSubscriptions (those), newSubscriptions (created in the '
	'period), cancelledSubscriptions (cancelled in it), pausedSubscriptions (PAUSED now, '
	'paused by the end), churnRate (cancelled in the period / live at its start, %), '
	'trialConversions and trialConversionRate (trials that ended in the period and whose '
	'first charge succeeded / trials that ended, %), failedCharges (charges of the period '
	'whose first attempt failed), recoveredCharges (those since succeeded), recoveryRate (%), '
	'expansionMrr and contractionMrr (0: a subscription cannot change plan).';
