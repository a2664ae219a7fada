-- Subscriptions (issue 15), billing and metrics: the periods due charged by
-- subscriptions_bill_due (one payment per period and attempt, the dunning schedule, the
-- outcome of a payment that ends later), and a merchant's subscription metrics. Plans,
-- enrolment and the subscription's states are in payments/subscriptions.sql, whose header
-- has the rules both keep.
--
-- Must never: charge a period twice (one charge row per period, its payment's idempotency
-- key); skip a period of an ACTIVE subscription; move money other than through payments.
--
-- Locking: the subscription's row (FOR UPDATE, SKIP LOCKED in the billing run), then the
-- payment's.

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
