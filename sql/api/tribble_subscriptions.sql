-- API layer, Tribble profile: subscriptions (tribble-rest-api.md "Subscriptions"), served by
-- pg_wallet_bridge under /tribble/api/v1:
--   POST /subscription-plans                         pg_wallet.api_tribble_plan_create
--   GET  /subscription-plans/:planId                 pg_wallet.api_tribble_plan
--   POST /subscriptions                              pg_wallet.api_tribble_subscribe
--   GET  /subscriptions/:subscriptionId              pg_wallet.api_tribble_subscription
--   PUT  /subscriptions/:subscriptionId/pause        pg_wallet.api_tribble_subscription_pause
--   PUT  /subscriptions/:subscriptionId/resume       pg_wallet.api_tribble_subscription_resume
--   PUT  /subscriptions/:subscriptionId/cancel       pg_wallet.api_tribble_subscription_cancel
--   GET  /customers/:customerId/subscriptions        pg_wallet.api_tribble_customer_subscriptions
--   GET  /merchants/:merchantId/subscription-metrics pg_wallet.api_tribble_subscription_metrics
-- Each authenticates a Tribble token first; here only the JSON types of the body and the
-- query are checked, every rule is the payments layer's (sql/payments/subscriptions.sql).

-- An optional whole number of a body (NULL when absent or null), or 22023 naming it.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_opt_int(b jsonb, name text, lo integer,
	hi integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF b -> name IS NULL OR jsonb_typeof(b -> name) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(b -> name) <> 'number' OR (b ->> name) !~ '^[0-9]{1,9}$'
		OR (b ->> name)::integer NOT BETWEEN lo AND hi THEN
		RAISE EXCEPTION '% must be a whole number from % to %', name, lo, hi
			USING ERRCODE = 'invalid_parameter_value', COLUMN = name;
	END IF;
	RETURN (b ->> name)::integer;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_opt_int(jsonb, text, integer, integer) IS
	'Internal: an optional whole number of a Tribble body within [lo, hi] (NULL when absent), '
	'or 22023 naming it.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_plan_create(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['planName', 'currency', 'billingFrequency']);
	RETURN pg_wallet.subscription_plan_create(me.principal_id,
			pg_wallet._tribble_opt_string(b, 'merchantId', 64), b ->> 'planName',
			pg_wallet._tribble_amount(b, true), b ->> 'currency', b ->> 'billingFrequency',
			pg_wallet._tribble_opt_string(b, 'planDescription', 500),
			coalesce(pg_wallet._tribble_opt_int(b, 'billingInterval', 1, 365), 1),
			coalesce(pg_wallet._tribble_opt_int(b, 'trialPeriodDays', 0, 365), 0),
			coalesce(pg_wallet._tribble_opt_number(b, 'trialAmount'), 0),
			coalesce(pg_wallet._tribble_opt_number(b, 'setupFee'), 0),
			pg_wallet._tribble_opt_int(b, 'maxCharges', 1, 10000))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_plan_create(text, jsonb) IS
	'Tribble POST /subscription-plans {planName, planDescription, amount, currency, '
	'billingFrequency, billingInterval, trialPeriodDays, trialAmount, setupFee, maxCharges, '
	'merchantId (default: the caller, a merchant)}: 201 the plan (subscription_plan_create); '
	'400 naming a bad field; 404 for a merchant the caller does not act for.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_plan(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
BEGIN
	RETURN pg_wallet.subscription_plan_get(me.principal_id, args #>> '{path,id}')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_plan(text, jsonb) IS
	'Tribble GET /subscription-plans/:planId: 200 the plan (subscription_plan_get); 404 '
	'unknown, or another merchant''s for a merchant.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_subscribe(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['user']);
	b jsonb := args -> 'body';
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['planId']);
	RETURN pg_wallet.subscription_create(me.principal_id, b ->> 'planId',
			pg_wallet._tribble_opt_string(b, 'paymentMethodId', 64),
			pg_wallet._tribble_query_date(b, 'startDate', NULL))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_subscribe(text, jsonb) IS
	'Tribble POST /subscriptions {planId, paymentMethodId ("wallet", a walletId, a saved '
	'card-<id>, or absent; a bank account is 422), startDate (YYYY-MM-DD)} by a user: 201 '
	'(subscription_create); 400 naming a bad field, 404 unknown plan or card, 409 '
	'SUBSCRIPTION_ACTIVE, 402 when the setup fee or trial amount cannot be paid.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_subscription(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
BEGIN
	RETURN pg_wallet.subscription_get(me.principal_id, args #>> '{path,id}')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_subscription(text, jsonb) IS
	'Tribble GET /subscriptions/:subscriptionId: 200 with its charges; 404 for anyone but its '
	'customer, its merchant and admins.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_subscription_pause(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := coalesce(args -> 'body', '{}');
BEGIN
	PERFORM pg_wallet._tribble_require(b, '{}');	-- a JSON object
	RETURN pg_wallet.subscription_pause(me.principal_id, args #>> '{path,id}',
			pg_wallet._tribble_opt_string(b, 'reason', 200))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_subscription_pause(text, jsonb) IS
	'Tribble PUT /subscriptions/:subscriptionId/pause {reason}: 200 PAUSED; 409 when it is '
	'not active; 404 for anyone but its customer and admins.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_subscription_resume(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
BEGIN
	RETURN pg_wallet.subscription_resume(me.principal_id, args #>> '{path,id}')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_subscription_resume(text, jsonb) IS
	'Tribble PUT /subscriptions/:subscriptionId/resume: 200 ACTIVE with nextChargeDate; 409 '
	'when it is not paused; 404 for anyone but its customer and admins.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_subscription_cancel(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := coalesce(args -> 'body', '{}');
BEGIN
	PERFORM pg_wallet._tribble_require(b, '{}');	-- a JSON object
	RETURN pg_wallet.subscription_cancel(me.principal_id, args #>> '{path,id}',
			pg_wallet._tribble_opt_string(b, 'reason', 200))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_subscription_cancel(text, jsonb) IS
	'Tribble PUT /subscriptions/:subscriptionId/cancel {reason}: 200 CANCELLED; 409 once '
	'ended; 404 for anyone but its customer, its merchant and admins.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_customer_subscriptions(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	id text := args #>> '{path,id}';
BEGIN
	IF id IS NULL OR id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
		RAISE EXCEPTION 'customer not found' USING ERRCODE = 'WL110';
	END IF;
	RETURN pg_wallet.customer_subscriptions(me.principal_id, id::uuid)
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_customer_subscriptions(text, jsonb) IS
	'Tribble GET /customers/:customerId/subscriptions: 200 {subscriptions, summary} for the '
	'customer itself and admins; 404 otherwise.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_subscription_metrics(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	q jsonb := coalesce(args -> 'query', '{}');
BEGIN
	RETURN pg_wallet.subscription_metrics(me.principal_id, args #>> '{path,id}',
			pg_wallet._tribble_query_date(q, 'startDate', NULL),
			pg_wallet._tribble_query_date(q, 'endDate', NULL))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_subscription_metrics(text, jsonb) IS
	'Tribble GET /merchants/:merchantId/subscription-metrics[?startDate&endDate]: 200 '
	'{merchantId, currency, period, metrics} (subscription_metrics); 400 naming a bad date; '
	'404 for a merchant the caller does not act for.';
