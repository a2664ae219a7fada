-- Subscriptions (issue 15; tribble-rest-api.md "Subscriptions"): tables only; the functions are
-- in payments/subscriptions.sql.
--
-- A merchant's plan (amount, currency, frequency and interval, trial, setup fee, a limit of
-- charges); a customer's subscription to it (its payment method, its anchor day, the next
-- charge date, ACTIVE / PAST_DUE / PAUSED / CANCELLED / COMPLETED); one charge per
-- subscription and billing period, whose payment is the charge's money (payments.sql: fees,
-- KYC limits and fraud scoring as for any payment), retried on the dunning schedule.

CREATE TABLE pg_wallet.subscription_plans (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	plan_ref text NOT NULL UNIQUE CHECK (length(plan_ref) BETWEEN 1 AND 64),	-- PLN-<id>
	merchant_owner_id bigint NOT NULL,
	merchant_principal_id uuid NOT NULL,	-- the API's merchantId
	name text NOT NULL CHECK (length(name) BETWEEN 2 AND 100),
	description text CHECK (length(description) <= 500),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'yearly')),
	billing_interval smallint NOT NULL DEFAULT 1 CHECK (billing_interval BETWEEN 1 AND 365),
	trial_days smallint NOT NULL DEFAULT 0 CHECK (trial_days BETWEEN 0 AND 365),
	trial_amount_minor bigint NOT NULL DEFAULT 0 CHECK (trial_amount_minor >= 0),
	setup_fee_minor bigint NOT NULL DEFAULT 0 CHECK (setup_fee_minor >= 0),
	max_charges integer CHECK (max_charges > 0),	-- NULL: until cancelled
	plan_type text NOT NULL DEFAULT 'fixed' CHECK (plan_type IN ('fixed')),
	active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_plans_merchant_idx ON pg_wallet.subscription_plans
	(merchant_owner_id, id);
COMMENT ON TABLE pg_wallet.subscription_plans IS
	'Subscription plans of merchants (Tribble POST /subscription-plans): amount and currency, '
	'billing frequency and interval, trial days and amount, setup fee, maximum charges, '
	'active.';

CREATE TABLE pg_wallet.subscriptions (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subscription_ref text NOT NULL UNIQUE CHECK (length(subscription_ref) BETWEEN 1 AND 64),
	plan_id bigint NOT NULL REFERENCES pg_wallet.subscription_plans (id),
	customer_owner_id bigint NOT NULL,
	customer_principal_id uuid NOT NULL,	-- the API's customerId
	wallet_account_id bigint,				-- the wallet charged, or:
	payment_method_id uuid REFERENCES pg_wallet.payment_methods (id),	-- the card charged
	-- the day the schedule is counted from: the first charge (after the trial), so that a
	-- monthly plan anchored on the 31st charges on the last day of shorter months
	anchor_date date NOT NULL,
	start_date date NOT NULL,
	trial_end_date date,					-- NULL: no trial
	next_charge_date date,				-- NULL once it ended
	-- the period next_charge_date is: anchor_date plus this many intervals
	period_index integer NOT NULL DEFAULT 0 CHECK (period_index >= 0),
	next_attempt_date date,				-- PAST_DUE: the dunning schedule's next attempt
	charge_count integer NOT NULL DEFAULT 0,	-- periods charged (the setup fee aside)
	status text NOT NULL DEFAULT 'ACTIVE'
		CHECK (status IN ('ACTIVE', 'PAST_DUE', 'PAUSED', 'CANCELLED', 'COMPLETED')),
	auto_renew boolean NOT NULL DEFAULT true,
	paused_at timestamptz,
	pause_reason text CHECK (length(pause_reason) <= 200),
	cancelled_at timestamptz,
	cancel_reason text CHECK (length(cancel_reason) <= 200),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((status IN ('CANCELLED', 'COMPLETED')) = (next_charge_date IS NULL)),
	CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL)),
	CHECK ((wallet_account_id IS NULL) <> (payment_method_id IS NULL))
);
-- one live subscription of a customer to a plan (SUBSCRIPTION_ACTIVE otherwise)
CREATE UNIQUE INDEX subscriptions_live_idx ON pg_wallet.subscriptions
	(customer_owner_id, plan_id) WHERE status IN ('ACTIVE', 'PAST_DUE', 'PAUSED');
-- the billing run: what is due
CREATE INDEX subscriptions_due_idx ON pg_wallet.subscriptions (next_charge_date, id)
	WHERE status IN ('ACTIVE', 'PAST_DUE');
CREATE INDEX subscriptions_customer_idx ON pg_wallet.subscriptions (customer_owner_id, id);
COMMENT ON TABLE pg_wallet.subscriptions IS
	'Customers'' subscriptions to plans (Tribble POST /subscriptions): the wallet or card '
	'charged, the '
	'anchor day of the schedule, trial end, next charge date, charges made, ACTIVE, PAST_DUE '
	'(a charge failed, retried), PAUSED, CANCELLED (with why), COMPLETED (max charges).';

CREATE TABLE pg_wallet.subscription_charges (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	charge_ref text NOT NULL UNIQUE CHECK (length(charge_ref) BETWEEN 1 AND 64),
	subscription_id bigint NOT NULL REFERENCES pg_wallet.subscriptions (id),
	-- the billing period: its scheduled date (the setup fee: the start date, kind setup)
	scheduled_date date NOT NULL,
	kind text NOT NULL DEFAULT 'period' CHECK (kind IN ('setup', 'trial', 'period')),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	-- PENDING: its payment is held for fraud review (the review decides)
	status text NOT NULL CHECK (status IN ('SUCCEEDED', 'PENDING', 'FAILED', 'RETRYING')),
	attempt_count smallint NOT NULL DEFAULT 1 CHECK (attempt_count BETWEEN 1 AND 10),
	next_attempt_date date,				-- RETRYING: the dunning schedule's next day
	payment_id bigint REFERENCES pg_wallet.payments (id),	-- the succeeding payment
	error text CHECK (length(error) <= 500),
	charged_at timestamptz,				-- the actual charge
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (subscription_id, kind, scheduled_date),	-- one charge per period
	CHECK ((status IN ('SUCCEEDED', 'PENDING')) = (payment_id IS NOT NULL)),
	CHECK ((status = 'RETRYING') = (next_attempt_date IS NOT NULL))
);
-- a payment held for fraud review finds the charge it pays when the review ends it
CREATE INDEX subscription_charges_payment_idx ON pg_wallet.subscription_charges (payment_id)
	WHERE status = 'PENDING';
COMMENT ON TABLE pg_wallet.subscription_charges IS
	'One charge per subscription and billing period (and its setup fee): the scheduled date, '
	'the amount, SUCCEEDED (its payment), RETRYING (the next attempt''s day on the dunning '
	'schedule) or FAILED (given up: the subscription cancelled), the attempts, why.';
