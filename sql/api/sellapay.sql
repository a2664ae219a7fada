-- API layer: the Sellapay profile (sellapay-api.md), served by pg_wallet_bridge at
-- /sellapay/api/v1. One function per endpoint:
--   pg_wallet.api_sellapay_<op>(token text, args jsonb) RETURNS jsonb
-- args is the bridge's envelope {"request_id", "path", "query", "body"}, plus
-- "credentials": {"api_key", "api_secret"} for authorize (from X-API-KEY / X-API-SECRET).
-- Each function authenticates the token first (authorize checks the API key and secret),
-- then calls the core functions that speak Sellapay (request_stk_push, send_funds_to_*).
-- Refusals that have a documented body (400 validation, 401 authorize, 402 insufficient
-- balance) are RETURNED as {"error": {"code": SQLSTATE, "message", "body": <the body>}};
-- the bridge sends the body with the status of the code. Other errors are raised with the
-- core's SQLSTATEs and shaped by the bridge.
--
-- A Sellapay account is a principal (role merchant, client or user) with API credentials;
-- its "account" is its KES wallet, opened on the first authorize. Everything it moves is
-- its own: the core functions are only ever called with the caller's own account.

-- A returned 400 refusal in Sellapay's shape.
CREATE OR REPLACE FUNCTION pg_wallet._sp_invalid(field text, reason text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('error', jsonb_build_object('code', '22023', 'message', reason,
		'body', jsonb_build_object('error', 'Validation error', 'message', reason,
			'details', jsonb_build_object('field', field, 'reason', reason))))
$$;
COMMENT ON FUNCTION pg_wallet._sp_invalid(text, text) IS
	'Internal: a Sellapay 400 "Validation error" refusal naming the field.';

-- Check the body: required fields present, amount a positive number, strings bounded.
-- NULL when valid, else the refusal.
CREATE OR REPLACE FUNCTION pg_wallet._sp_check(b jsonb, required text[], optional text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f text;
	v jsonb;
BEGIN
	FOREACH f IN ARRAY required || optional LOOP
		v := b -> f;
		IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
			IF f = ANY (required) THEN
				RETURN pg_wallet._sp_invalid(f, f || ' is required');
			END IF;
		ELSIF f = 'amount' THEN
			IF NOT (jsonb_typeof(v) = 'number'
			        OR (jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^[0-9]{1,15}(\.[0-9]{1,6})?$'))
			THEN
				RETURN pg_wallet._sp_invalid(f, 'amount must be a number');
			END IF;
			IF (v #>> '{}')::numeric <= 0 THEN
				RETURN pg_wallet._sp_invalid(f, 'amount must be greater than 0');
			END IF;
		ELSIF jsonb_typeof(v) <> 'string' OR length(v #>> '{}') NOT BETWEEN 1 AND 200 THEN
			RETURN pg_wallet._sp_invalid(f, f || ' must be a string of 1 to 200 characters');
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._sp_check(jsonb, text[], text[]) IS
	'Internal: Sellapay body validation; NULL or a 400 refusal naming the first bad field.';

-- The currency of a Sellapay account, written once: the spec states every amount in KES
-- (requestStkPush, sendFundsTo*: "Amount ... (in KES)") and getBalance's primary_currency
-- is KES. The caller's Sellapay account is its default wallet in it (_owner_wallet, in
-- sql/core/accounts.sql, opened on first use), the rule every profile shares.
CREATE OR REPLACE FUNCTION pg_wallet._sp_currency()
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN 'KES'; END $$;
COMMENT ON FUNCTION pg_wallet._sp_currency() IS
	'Internal: the currency of Sellapay accounts (KES, as the spec states every amount).';

CREATE OR REPLACE FUNCTION pg_wallet._sp_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._api_caller(token, 'sellapay', ARRAY['merchant', 'client', 'user']);
END
$$;
COMMENT ON FUNCTION pg_wallet._sp_me(text) IS
	'Internal: authenticate a Sellapay caller (roles merchant, client, user; a sellapay token).';

-- Run a money-moving core call; WL001 becomes the 402 body with required and available.
CREATE OR REPLACE FUNCTION pg_wallet._sp_insufficient(account_number text, required numeric)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('error', jsonb_build_object('code', 'WL001',
		'message', 'Your account balance is too low',
		'body', jsonb_build_object('error', 'Insufficient balance',
			'message', 'Your account balance is too low', 'required', required,
			'available', (pg_wallet.get_balance(account_number)).available_balance)))
$$;
COMMENT ON FUNCTION pg_wallet._sp_insufficient(text, numeric) IS
	'Internal: the Sellapay 402 refusal (required, available).';

-- The 503 refusal when no active partner serves a rail, saying what is unavailable (the
-- bridge would hide a raised 5xx's message as "internal error").
CREATE OR REPLACE FUNCTION pg_wallet._sp_unavailable(sqlstate text, what text, service text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('error', jsonb_build_object('code', sqlstate,
		'message', what || ' unavailable: no active partner serves it; retry later',
		'body', jsonb_build_object('error', 'Service Unavailable',
			'message', what || ' unavailable: no active partner serves it; retry later',
			'details', jsonb_build_object('service', service))))
$$;
COMMENT ON FUNCTION pg_wallet._sp_unavailable(text, text, text) IS
	'Internal: the Sellapay 503 refusal naming the rail that has no active partner.';

-- The spec's order of refusals: 400, then 402 for an amount beyond the balance, whatever
-- else is wrong with it. The ledger checks the KYC tier limit (WL044) before the funds, and a
-- payout looks for its partner (WL061, WL062) before it holds the money: on those refusals
-- the endpoint asks this, and answers 402 when the balance does not cover amount + its fee
-- (fee_type: WITHDRAWAL, TRANSFER), else the refusal itself. A replay never gets here.
CREATE OR REPLACE FUNCTION pg_wallet._sp_short(account_number text, amount numeric,
	fee_type text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	need numeric := amount + coalesce((pg_wallet.calculate_fee(fee_type, amount,
		pg_wallet._sp_currency())).fee, 0);
BEGIN
	IF (pg_wallet.get_balance(account_number)).available_balance < need THEN
		RETURN pg_wallet._sp_insufficient(account_number, need);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._sp_short(text, numeric, text) IS
	'Internal: the Sellapay 402 refusal when the available balance does not cover amount + '
	'its fee, else NULL (asked on a KYC-limit or no-partner refusal: 402 comes first).';

-- A payout's refusal in the spec's order (sendFundsToMobile, sendFundsToLocalBank): 402 for
-- the balance, then the KYC limit as raised, then 503 naming the rail; NULL: raise it as is.
CREATE OR REPLACE FUNCTION pg_wallet._sp_payout_refusal(sqlstate text, account_number text,
	amount numeric, what text, service text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF sqlstate = 'WL001' THEN
		RETURN pg_wallet._sp_insufficient(account_number, amount);
	ELSIF sqlstate = 'WL044' THEN
		RETURN pg_wallet._sp_short(account_number, amount, 'WITHDRAWAL');
	ELSIF sqlstate IN ('WL061', 'WL062') THEN
		RETURN coalesce(pg_wallet._sp_short(account_number, amount, 'WITHDRAWAL'),
			pg_wallet._sp_unavailable(sqlstate, what, service));
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._sp_payout_refusal(text, text, numeric, text, text) IS
	'Internal: the Sellapay answer to a payout''s WL001, WL044, WL061 or WL062 in the spec''s '
	'order of refusals (402 first), or NULL when the refusal is raised as it is.';

-- ---------------------------------------------------------------------------------------
-- Endpoints
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet.api_sellapay_authorize(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k text := args #>> '{credentials,api_key}';
	s text := args #>> '{credentials,api_secret}';
	r pg_wallet.login_result;
	me pg_wallet.auth_principal;
BEGIN
	IF coalesce(k, '') = '' OR coalesce(s, '') = '' THEN
		RETURN jsonb_build_object('error', jsonb_build_object('code', '22004',
			'message', 'Missing API key or secret code',
			'body', jsonb_build_object('error', 'Missing API key or secret code')));
	END IF;
	r := pg_wallet.authorize_api_key(k, s, 'sellapay');
	IF r.status <> 'OK' THEN
		-- returned, not raised: what authorize_api_key wrote must be kept
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message,
			'body', jsonb_build_object('error', 'Unauthorized',
				'message', 'Invalid API key or secret code')));
	END IF;
	me := pg_wallet._sp_me(r.access_token);
	RETURN jsonb_build_object('message', 'User authorized',
		'account', pg_wallet._owner_wallet(me.owner_id, pg_wallet._sp_currency(), true),
		'access_token', r.access_token, 'expires_in', r.expires_in);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_authorize(text, jsonb) IS
	'Sellapay POST /authorize: X-API-KEY and X-API-SECRET (in args.credentials) to '
	'{message, account, access_token, expires_in}; 400 missing, 401 invalid (returned).';

CREATE OR REPLACE FUNCTION pg_wallet.api_sellapay_get_balance(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	primary_account text := pg_wallet._owner_wallet(me.owner_id, pg_wallet._sp_currency(), true);
	balances jsonb;
BEGIN
	-- each currency's balance is its default wallet's, as every profile chooses it
	SELECT jsonb_object_agg(c.currency, b.available_balance ORDER BY c.currency) INTO balances
	FROM (SELECT DISTINCT a.currency FROM pg_wallet.accounts a
	      WHERE a.owner_id = me.owner_id AND a.purpose = 'WALLET' AND a.status <> 'CLOSED') c
	CROSS JOIN LATERAL pg_wallet.get_balance(pg_wallet._owner_wallet(me.owner_id, c.currency)) b;
	RETURN jsonb_build_object('message', 'Balance retrieved',
		'balance', coalesce(balances, '{}'), 'primary_currency',
		(SELECT a.currency FROM pg_wallet.accounts a WHERE a.account_number = primary_account),
		'timestamp', extract(epoch FROM now())::bigint);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_get_balance(text, jsonb) IS
	'Sellapay GET /getBalance: the available balance of each of the caller''s wallets by '
	'currency, primary_currency (KES), timestamp.';

CREATE OR REPLACE FUNCTION pg_wallet.api_sellapay_request_stk_push(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._sp_check(b, ARRAY['phone', 'amount'],
		ARRAY['reference', 'description']);
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF (b ->> 'phone') !~ '^[17][0-9]{8}$' THEN
		RETURN pg_wallet._sp_invalid('phone', 'Phone must start with 7 or 1');
	END IF;
	IF length(b ->> 'reference') > 20 THEN
		RETURN pg_wallet._sp_invalid('reference', 'reference must be at most 20 characters');
	END IF;
	RETURN pg_wallet.request_stk_push(
		pg_wallet._owner_wallet(me.owner_id, pg_wallet._sp_currency(), true), b ->> 'phone',
		(b ->> 'amount')::numeric, b ->> 'reference', b ->> 'description') - 'replayed';
EXCEPTION WHEN SQLSTATE 'WL061' OR SQLSTATE 'WL062' THEN
	RETURN pg_wallet._sp_unavailable(SQLSTATE, 'M-Pesa STK push is', 'mpesa');
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_request_stk_push(text, jsonb) IS
	'Sellapay POST /requestStkPush: an M-Pesa STK push into the caller''s KES wallet; 400 '
	'first, 503 naming the rail when no active partner serves it.';

CREATE OR REPLACE FUNCTION pg_wallet.api_sellapay_send_funds_to_mobile(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._sp_check(b, ARRAY['phone', 'amount'],
		ARRAY['reference', 'narrative']);
	acct text;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF (b ->> 'phone') !~ '^[17][0-9]{8}$' THEN
		RETURN pg_wallet._sp_invalid('phone', 'Phone must start with 7 or 1');
	END IF;
	acct := pg_wallet._owner_wallet(me.owner_id, pg_wallet._sp_currency(), true);
	RETURN pg_wallet.send_funds_to_mobile(acct, b ->> 'phone', (b ->> 'amount')::numeric,
		b ->> 'reference', b ->> 'narrative');
EXCEPTION WHEN SQLSTATE 'WL001' OR SQLSTATE 'WL044' OR SQLSTATE 'WL061' OR SQLSTATE 'WL062' THEN
	err := pg_wallet._sp_payout_refusal(SQLSTATE, acct, (b ->> 'amount')::numeric,
		'M-Pesa payout is', 'mpesa');
	IF err IS NULL THEN
		RAISE;
	END IF;
	RETURN err;
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_send_funds_to_mobile(text, jsonb) IS
	'Sellapay POST /sendFundsToMobile: an M-Pesa payout from the caller''s KES wallet; 400, '
	'then 402 with required and available when the balance is too low (before the KYC '
	'limit, 400), then 503 naming the rail when no active partner serves it. status pending '
	'while the partner pays (docs/bridge.md, deviations).';

CREATE OR REPLACE FUNCTION pg_wallet.api_sellapay_send_funds_to_sellapay(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._sp_check(b, ARRAY['account', 'amount'],
		ARRAY['reference', 'narrative']);
	acct text;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	acct := pg_wallet._owner_wallet(me.owner_id, pg_wallet._sp_currency(), true);
	IF b ->> 'account' = acct THEN
		RETURN pg_wallet._sp_invalid('account', 'cannot send funds to your own account');
	END IF;
	RETURN pg_wallet.send_funds_to_account(acct, b ->> 'account', (b ->> 'amount')::numeric,
		b ->> 'reference', b ->> 'narrative') - 'replayed';
EXCEPTION WHEN SQLSTATE 'WL001' THEN
	RETURN pg_wallet._sp_insufficient(acct, (b ->> 'amount')::numeric);
WHEN SQLSTATE 'WL044' THEN
	err := pg_wallet._sp_short(acct, (b ->> 'amount')::numeric, 'TRANSFER');
	IF err IS NULL THEN
		RAISE;
	END IF;
	RETURN err;
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_send_funds_to_sellapay(text, jsonb) IS
	'Sellapay POST /sendFundsToSellapay: a transfer from the caller''s KES wallet to another '
	'Sellapay account; 404 unknown recipient (WL067, also one that cannot receive), 402 '
	'insufficient balance (before the KYC limit, 400).';

CREATE OR REPLACE FUNCTION pg_wallet.api_sellapay_send_funds_to_local_bank(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._sp_check(b,
		ARRAY['bank_code', 'account_number', 'amount', 'account_name'], ARRAY['reference']);
	acct text;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.bank_codes c WHERE c.code = b ->> 'bank_code') THEN
		RETURN pg_wallet._sp_invalid('bank_code', 'Invalid bank details: unknown bank code');
	END IF;
	IF (b ->> 'account_number') !~ '^[0-9]{6,20}$' THEN
		RETURN pg_wallet._sp_invalid('account_number',
			'Invalid bank details: account number must be 6 to 20 digits');
	END IF;
	acct := pg_wallet._owner_wallet(me.owner_id, pg_wallet._sp_currency(), true);
	RETURN pg_wallet.send_funds_to_bank(acct, b ->> 'bank_code', b ->> 'account_number',
		(b ->> 'amount')::numeric, b ->> 'account_name', b ->> 'reference');
EXCEPTION WHEN SQLSTATE 'WL001' OR SQLSTATE 'WL044' OR SQLSTATE 'WL061' OR SQLSTATE 'WL062' THEN
	err := pg_wallet._sp_payout_refusal(SQLSTATE, acct, (b ->> 'amount')::numeric,
		'Bank transfer is', 'bank_transfer');
	IF err IS NULL THEN
		RAISE;
	END IF;
	RETURN err;
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_send_funds_to_local_bank(text, jsonb) IS
	'Sellapay POST /sendFundsToLocalBank: a bank payout from the caller''s KES wallet; 400 '
	'invalid bank details, then 402 insufficient balance, then 503 naming the rail when no '
	'active partner serves it.';
