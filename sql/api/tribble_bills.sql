-- API layer, Tribble profile: bill payments (tribble-rest-api.md "Bill Payments"), served by
-- pg_wallet_bridge under /tribble/api/v1:
--   GET  /bills/airtime/providers   pg_wallet.api_tribble_airtime_providers
--   POST /bills/airtime/topup       pg_wallet.api_tribble_airtime_topup
--   GET  /bills/topups              pg_wallet.api_tribble_airtime_topups
-- Each authenticates a Tribble token first; here only the JSON types of the body and the
-- query's numbers are checked, every rule is the payments layer's (sql/payments/bills.sql).

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_airtime_providers(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	q jsonb := coalesce(args -> 'query', '{}');
BEGIN
	RETURN pg_wallet.airtime_providers_list(me.principal_id,
			upper(pg_wallet._tribble_opt_string(q, 'currency', 3)))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_airtime_providers(text, jsonb) IS
	'Tribble GET /bills/airtime/providers[?currency]: 200 {providers [{providerId, name, '
	'logo, country, currency, amountRange {min, max}, denominations}]} (airtime_providers_list).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_airtime_topup(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['user']);
	b jsonb := args -> 'body';
	method text;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['providerId', 'phoneNumber']);
	method := pg_wallet._tribble_opt_string(b, 'paymentMethodId', 64);
	-- a wallet pays: "wallet", one of the caller's walletIds, or nothing; a saved card or bank
	-- account cannot buy airtime (yet)
	IF method ~ '^(card|bank)-' THEN
		RAISE EXCEPTION 'airtime is paid from a wallet: leave paymentMethodId out, or give '
			'"wallet" or one of your walletIds' USING ERRCODE = 'WL089',
			COLUMN = 'paymentMethodId';
	END IF;
	RETURN pg_wallet.airtime_topup(me.principal_id, pg_wallet._tribble_opt_string(b,
			'providerId', 32), pg_wallet._tribble_opt_string(b, 'phoneNumber', 32),
			pg_wallet._tribble_amount(b, true), nullif(method, 'wallet'),
			pg_wallet._tribble_opt_string(b, 'reference', 100))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_airtime_topup(text, jsonb) IS
	'Tribble POST /bills/airtime/topup {providerId, phoneNumber, amount, paymentMethodId '
	'("wallet", a walletId of the caller, or absent; a card or bank account is 422 WL089), '
	'reference (optional: the idempotency key)} by a user (airtime_topup). 201 '
	'{transactionId, type, provider, phoneNumber, phoneNumberE164, amount, currency, fee, '
	'status PROCESSING, reference, clientReference, createdAt, replayed, message}; 400 naming '
	'a bad field, 402 for insufficient funds, 404 for an unknown provider, 422 for a phone '
	'number of another country or a provider not available.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_airtime_topups(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	q jsonb := coalesce(args -> 'query', '{}');
BEGIN
	RETURN pg_wallet.airtime_topups_list(me.principal_id,
			upper(pg_wallet._tribble_opt_string(q, 'status', 20)),
			pg_wallet._tribble_query_int(q, 'limit', 20, 1, 100),
			pg_wallet._tribble_query_int(q, 'offset', 0, 0, 999999))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_airtime_topups(text, jsonb) IS
	'Tribble GET /bills/topups[?limit&offset&status]: 200 {topups [...], pagination {total, '
	'limit, offset}}, the caller''s own, newest first (airtime_topups_list).';
