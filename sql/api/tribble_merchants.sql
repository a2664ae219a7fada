-- API layer, Tribble profile: merchants and their KYC review (tribble-rest-api.md,
-- "Merchants" and "Admin"), served by pg_wallet_bridge under /tribble/api/v1:
--   POST /merchants/register                   pg_wallet.api_tribble_merchant_register
--   GET  /merchants/:merchantId                pg_wallet.api_tribble_merchant
--   POST /merchants/:merchantId/settlement     pg_wallet.api_tribble_merchant_settlement
--   GET  /merchants/:merchantId/analytics      pg_wallet.api_tribble_merchant_analytics
--   GET  /merchants/:merchantId/dashboard      pg_wallet.api_tribble_merchant_dashboard
--   GET  /admin/merchants/pending-kyc          pg_wallet.api_tribble_admin_merchants_pending
--   POST /admin/merchants/:merchantId/approve  pg_wallet.api_tribble_admin_merchant_approve
--   POST /admin/merchants/:merchantId/reject   pg_wallet.api_tribble_admin_merchant_reject
-- Each authenticates a Tribble token first (the admin ones for role admin only: 403 WL031);
-- here only the JSON types of the body are checked, every rule is the payments layer's
-- (sql/payments/merchants.sql): who acts for a merchant, the fields' bounds, the review.

-- An optional number of a body: NULL when absent or null, else a JSON number, else 22023
-- naming it.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_opt_number(b jsonb, name text)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF b -> name IS NULL OR jsonb_typeof(b -> name) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(b -> name) <> 'number' OR length(b ->> name) > 24 THEN
		RAISE EXCEPTION '% must be a number', name
			USING ERRCODE = 'invalid_parameter_value', COLUMN = name;
	END IF;
	RETURN (b ->> name)::numeric;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_opt_number(jsonb, text) IS
	'Internal: an optional JSON number of a Tribble body (NULL when absent), or 22023 naming '
	'it.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_merchant_register(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
	bank jsonb;
BEGIN
	PERFORM pg_wallet._tribble_require(b, '{}');	-- a JSON object
	PERFORM pg_wallet._tribble_strings(b, ARRAY['businessName', 'entityType', 'taxId',
		'industry']);
	bank := b -> 'bankAccount';
	IF jsonb_typeof(bank) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'bankAccount must be an object {bankCode, accountNumber, accountHolder}'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'bankAccount';
	END IF;
	RETURN pg_wallet.merchant_register(me.principal_id, b ->> 'businessName',
			b ->> 'entityType', b ->> 'taxId', b ->> 'industry',
			pg_wallet._tribble_opt_string(bank, 'bankCode', 6),
			pg_wallet._tribble_opt_string(bank, 'accountNumber', 20),
			pg_wallet._tribble_opt_string(bank, 'accountHolder', 100),
			pg_wallet._tribble_opt_string(b, 'currency', 3))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_merchant_register(text, jsonb) IS
	'Tribble POST /merchants/register: {businessName, entityType, taxId, industry, '
	'bankAccount {bankCode, accountNumber, accountHolder}, currency (optional)} by a user '
	'(merchant_register). 201 {merchantId, businessName, kycStatus PENDING, riskLevel, '
	'message, createdAt}; 400 naming a bad field; 409 for a taxId already registered; 422 '
	'beyond 5 merchants; 403 for a caller that is not a user.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_merchant(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
BEGIN
	RETURN pg_wallet.merchant_get(me.principal_id, args #>> '{path,id}')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_merchant(text, jsonb) IS
	'Tribble GET /merchants/:merchantId: a merchant''s profile for who acts for it and for '
	'admins (merchant_get); 404 for anyone else.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_merchant_settlement(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
BEGIN
	PERFORM pg_wallet._tribble_require(b, '{}');	-- a JSON object
	RETURN pg_wallet.merchant_settlement_set(me.principal_id, args #>> '{path,id}',
			pg_wallet._tribble_opt_string(b, 'frequency', 20),
			pg_wallet._tribble_opt_number(b, 'minimumAmount'),
			pg_wallet._tribble_opt_number(b, 'settlementFeePercent'),
			CASE WHEN b ? 'holdPeriodDays' THEN pg_wallet._tribble_small_int(b, 'holdPeriodDays')
			END)
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_merchant_settlement(text, jsonb) IS
	'Tribble POST /merchants/:merchantId/settlement: {frequency, minimumAmount, '
	'settlementFeePercent, holdPeriodDays}, each optional (merchant_settlement_set). 200 '
	'{merchantId, settlementSettings, message}; 400 naming a bad field; 403 when a merchant '
	'changes the fee (WL099); 404 for a merchant the caller does not act for.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_admin_merchants_pending(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['admin']);
	q jsonb := coalesce(args -> 'query', '{}');
BEGIN
	RETURN pg_wallet.merchants_pending_kyc(me.principal_id,
			pg_wallet._tribble_query_int(q, 'limit', 20, 1, 100),
			pg_wallet._tribble_query_int(q, 'offset', 0, 0, 999999))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_admin_merchants_pending(text, jsonb) IS
	'Tribble GET /admin/merchants/pending-kyc?limit&offset (admins only: 403): the merchants '
	'waiting for a KYC decision (merchants_pending_kyc); 400 naming a bad parameter.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_admin_merchant_approve(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['admin']);
	b jsonb := coalesce(args -> 'body', '{}');
BEGIN
	PERFORM pg_wallet._tribble_require(b, '{}');	-- a JSON object
	RETURN pg_wallet.merchant_approve(me.principal_id, args #>> '{path,id}',
			pg_wallet._tribble_opt_string(b, 'notes', 500))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_admin_merchant_approve(text, jsonb) IS
	'Tribble POST /admin/merchants/:merchantId/approve {notes} (admins only: 403): '
	'merchant_approve; 404 unknown, 409 already decided.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_admin_merchant_reject(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['admin']);
	b jsonb := args -> 'body';
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['reason']);
	RETURN pg_wallet.merchant_reject(me.principal_id, args #>> '{path,id}', b ->> 'reason',
			pg_wallet._tribble_opt_string(b, 'message', 500))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_admin_merchant_reject(text, jsonb) IS
	'Tribble POST /admin/merchants/:merchantId/reject {reason, message} (admins only: 403): '
	'merchant_reject; 400 naming a bad field, 404 unknown, 409 already decided.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_merchant_analytics(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	q jsonb := coalesce(args -> 'query', '{}');
	d_end date := pg_wallet._tribble_query_date(q, 'endDate', (now() AT TIME ZONE 'UTC')::date);
	d_start date := pg_wallet._tribble_query_date(q, 'startDate', d_end - 29);
BEGIN
	IF q ? 'currency' AND coalesce(q ->> 'currency', '') !~ '^[A-Za-z]{3}$' THEN
		RAISE EXCEPTION 'currency must be an ISO 4217 code'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'currency';
	END IF;
	RETURN pg_wallet.merchant_analytics(me.principal_id, args #>> '{path,id}', d_start, d_end,
			coalesce(q ->> 'groupBy', 'daily'), q ->> 'currency')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_merchant_analytics(text, jsonb) IS
	'Tribble GET /merchants/:merchantId/analytics?startDate&endDate&groupBy&currency '
	'(merchant_analytics; default the last 30 UTC days, daily): 200 {merchantId, currency, '
	'groupBy, period, summary, dailyMetrics, topCustomers}; 400 naming a bad parameter; 404 '
	'for a merchant the caller does not act for.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_merchant_dashboard(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	q jsonb := coalesce(args -> 'query', '{}');
BEGIN
	RETURN pg_wallet.merchant_dashboard(me.principal_id, args #>> '{path,id}',
			pg_wallet._tribble_query_date(q, 'startDate', NULL),
			pg_wallet._tribble_query_date(q, 'endDate', NULL))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_merchant_dashboard(text, jsonb) IS
	'Tribble GET /merchants/:merchantId/dashboard[?startDate&endDate] (merchant_dashboard; '
	'default the month so far): 200 {merchantId, currency, period, metrics, settlements, '
	'topProducts}; 400 naming a bad date; 404 for a merchant the caller does not act for.';
