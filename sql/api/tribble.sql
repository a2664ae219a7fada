-- API layer: the Tribble REST profile (tribble-rest-api.md), served by pg_wallet_bridge at
-- /tribble/api/v1, for the endpoints whose functions exist so far. One function per endpoint:
--   pg_wallet.api_tribble_<op>(token text, args jsonb) RETURNS jsonb
-- args is the bridge's envelope {"request_id", "path": {"id"}, "query": {...}, "body": {...}}.
-- Each function authenticates the token first (a Tribble token: audience tribble; register,
-- login and refresh take no token), reaches only the caller's own wallets, and raises the
-- core's SQLSTATEs; the bridge renders them as {"statusCode", "errorCode", "message",
-- "details", "timestamp", "requestId"}; a refusal about one request field names it with
-- RAISE ... COLUMN = '<field>', which the bridge shows as details {"field", "message"} (the
-- spec's example). Field names are camelCase, times ISO 8601 UTC.
-- Rate limits per KYC tier (tribble_rate_limits): each authenticated function but logout adds
-- "_bridge": {"rate": "<per second>/<per hour>/<per day>"} for its caller's tier; the bridge
-- keeps that for the token and counts the token's next requests against it (429 beyond).

-- The "_bridge" object of a Tribble reply: the caller's rate limits (its tier's, else tier 0's;
-- an admin, who has no tier, the highest tier's) and the caller, whom the bridge counts them
-- on (per user, not per token or login).
CREATE OR REPLACE FUNCTION pg_wallet._tribble_bridge(me pg_wallet.auth_principal)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- PL/pgSQL keeps this plan per backend (a SQL function's is re-made per call)
	-- an admin has no KYC tier: it gets the highest tier's limits, not tier 0's
	RETURN (SELECT jsonb_build_object('_bridge', jsonb_build_object('rate',
			format('%s/%s/%s', l.per_second, l.per_hour, l.per_day), 'principal',
			me.principal_id))
		FROM pg_wallet.tribble_rate_limits l
		WHERE l.kyc_tier IN (coalesce(me.kyc_tier, 0), 0) OR me.role = 'admin'
		ORDER BY CASE WHEN me.role = 'admin' THEN l.kyc_tier END DESC NULLS LAST,
			l.kyc_tier = coalesce(me.kyc_tier, 0) DESC
		LIMIT 1);
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_bridge(pg_wallet.auth_principal) IS
	'Internal: {"_bridge": {"rate": "s/h/d", "principal"}}, the caller''s KYC-tier rate limits '
	'(an admin: the highest tier''s) and principal id, for the bridge (which counts the '
	'limits per user).';

CREATE OR REPLACE FUNCTION pg_wallet._tribble_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._api_caller(token, 'tribble', ARRAY['user', 'merchant', 'admin']);
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_me(text) IS
	'Internal: authenticate a Tribble caller (a token issued for the tribble audience).';

-- The body's required string fields, or 22023 naming the first missing one (its COLUMN).
CREATE OR REPLACE FUNCTION pg_wallet._tribble_require(b jsonb, fields text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f text;
BEGIN
	IF b IS NULL OR jsonb_typeof(b) <> 'object' THEN
		RAISE EXCEPTION 'the body must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH f IN ARRAY fields LOOP
		IF jsonb_typeof(b -> f) IS DISTINCT FROM 'string' OR b ->> f = '' THEN
			RAISE EXCEPTION '% is required', f
				USING ERRCODE = 'invalid_parameter_value', COLUMN = f;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_require(jsonb, text[]) IS
	'Internal: Tribble request validation: each field a non-empty string, or 22023 naming it.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_register(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	p pg_wallet.principal_info;
BEGIN
	PERFORM pg_wallet._tribble_require(b,
		ARRAY['email', 'password', 'firstName', 'lastName', 'phoneNumber']);
	IF b ->> 'email' !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' THEN
		RAISE EXCEPTION 'email is not a valid address'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'email';
	END IF;
	IF b ? 'dateOfBirth' AND coalesce(b ->> 'dateOfBirth', '') !~ '^\d{4}-\d{2}-\d{2}$' THEN
		RAISE EXCEPTION 'dateOfBirth must be YYYY-MM-DD'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'dateOfBirth';
	END IF;
	-- the spec: a malformed phone number is 422 (WL038), the other field errors 400
	BEGIN
		PERFORM pg_wallet._normalize_phone(b ->> 'phoneNumber');
	EXCEPTION WHEN invalid_parameter_value THEN
		RAISE EXCEPTION 'Invalid phone number format'
			USING ERRCODE = 'WL038', COLUMN = 'phoneNumber',
			      DETAIL = 'E.164, e.g. +234801234567, or a local Kenyan form.';
	END;
	BEGIN
		p := pg_wallet.register_user(b ->> 'email', b ->> 'password', b ->> 'firstName',
			b ->> 'lastName', b ->> 'phoneNumber', (b ->> 'dateOfBirth')::date,
			coalesce(b ->> 'accountType', 'individual'));
	EXCEPTION WHEN SQLSTATE 'WL030' THEN
		RAISE EXCEPTION USING ERRCODE = 'WL030', MESSAGE = SQLERRM, COLUMN = 'password';
	WHEN unique_violation THEN
		RAISE EXCEPTION USING ERRCODE = 'unique_violation', MESSAGE = SQLERRM, COLUMN = 'email';
	END;
	RETURN jsonb_build_object('userId', p.principal_id, 'email', p.email,
		'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier,
		'createdAt', pg_wallet._ts_iso(p.created_at),
		'message', 'Registration successful. Please verify your email and complete KYC.');
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_register(text, jsonb) IS
	'Tribble POST /auth/register: a user (register_user) with KYC PENDING tier 0; 400 for a '
	'missing field, bad email or weak password (WL030), 422 for a malformed phone number '
	'(WL038), 409 when the email is taken (23505); each naming its field (COLUMN).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_login(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	r pg_wallet.login_result;
	p pg_wallet.principal_info;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['email', 'password']);
	r := pg_wallet.login(b ->> 'email', b ->> 'password', 'tribble');
	IF r.status <> 'OK' THEN
		-- returned, not raised: the failed attempt login() counted must be kept
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message));
	END IF;
	p := pg_wallet.get_principal_by_id(r.principal_id);
	RETURN jsonb_build_object('accessToken', r.access_token, 'refreshToken', r.refresh_token,
		'expiresIn', r.expires_in,
		'user', jsonb_build_object('userId', p.principal_id, 'email', p.email,
			'firstName', p.first_name, 'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_login(text, jsonb) IS
	'Tribble POST /auth/login: a Tribble access and refresh token and the user; a refusal '
	'(401 WL020 bad credentials, 403 WL021 locked) is returned so that the attempt is counted.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_refresh(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	r pg_wallet.login_result;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['refreshToken']);
	r := pg_wallet.refresh_session(b ->> 'refreshToken');
	IF r.status <> 'OK' THEN
		-- returned: a reuse detected by refresh_session revokes the family, and that stays
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message));
	END IF;
	RETURN jsonb_build_object('accessToken', r.access_token, 'refreshToken', r.refresh_token,
		'expiresIn', r.expires_in);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_refresh(text, jsonb) IS
	'Tribble POST /auth/refresh-token: a new access token and the rotated refresh token '
	'(refresh_session; a reused refresh token revokes the session family, 401).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_logout(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	tid text := args #>> '{body,tokenId}';
BEGIN
	IF tid IS NOT NULL AND tid !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
	THEN
		RAISE EXCEPTION 'tokenId must be a token identifier (uuid)'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'tokenId';
	END IF;
	PERFORM pg_wallet.logout(token, tid::uuid);
	RETURN jsonb_build_object('message', 'Logged out successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_logout(text, jsonb) IS
	'Tribble POST /auth/logout: revoke the caller''s session (or the token tokenId names).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_kyc_status(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	-- limits in the currency asked for, else the user's wallet currency (its default wallet:
	-- the oldest ACTIVE one, else the oldest not CLOSED), else KES
	cur text := coalesce(upper(left(args #>> '{query,currency}', 3)),
		(SELECT a.currency FROM pg_wallet.accounts a
		 WHERE a.owner_id = me.owner_id AND a.purpose = 'WALLET' AND a.status <> 'CLOSED'
		 ORDER BY a.status = 'ACTIVE' DESC, a.id LIMIT 1), 'KES');
BEGIN
	RETURN pg_wallet.kyc_status_of(me.principal_id, cur) || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_kyc_status(text, jsonb) IS
	'Tribble GET /auth/kyc-status[?currency=XXX]: the caller''s KYC status, documents and the '
	'tier''s limits in the currency asked for, else in the user''s wallet currency (KES for a '
	'user without a wallet); no limits when none are defined in that currency.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_me(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	p pg_wallet.principal_info := pg_wallet.get_principal_by_id(me.principal_id);
BEGIN
	RETURN jsonb_build_object('userId', p.principal_id, 'email', p.email,
		'firstName', p.first_name, 'lastName', p.last_name, 'phoneNumber', p.phone_number,
		'dateOfBirth', p.date_of_birth, 'accountType', p.account_type,
		'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier,
		'createdAt', pg_wallet._ts_iso(p.created_at),
		'lastLogin', pg_wallet._ts_iso(p.last_login_at), 'accountStatus', p.status)
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_me(text, jsonb) IS
	'Tribble GET /users/profile (also /users/me): the caller''s profile, no secrets.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_wallets(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	q jsonb := coalesce(args -> 'query', '{}');
	lim integer;
	off integer;
	total bigint;
	items jsonb;
BEGIN
	IF coalesce(q ->> 'limit', '20') !~ '^[0-9]{1,3}$' OR coalesce(q ->> 'limit', '20')::integer
		NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'limit must be between 1 and 100'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'limit';
	END IF;
	IF coalesce(q ->> 'offset', '0') !~ '^[0-9]{1,6}$' THEN
		RAISE EXCEPTION 'offset must be between 0 and 999999'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'offset';
	END IF;
	lim := coalesce(q ->> 'limit', '20')::integer;
	off := coalesce(q ->> 'offset', '0')::integer;
	WITH mine AS (
		SELECT a.account_number, a.currency, a.status, a.account_id
		FROM pg_wallet.list_accounts(me.owner_id, 1000) a
		WHERE a.purpose = 'WALLET' AND a.status <> 'CLOSED'
		  AND (q ->> 'currency' IS NULL OR a.currency = upper(q ->> 'currency'))
		  AND (q ->> 'status' IS NULL OR a.status = upper(q ->> 'status')))
	SELECT (SELECT count(*) FROM mine),
		coalesce((SELECT jsonb_agg(jsonb_build_object('walletId', m.account_number,
				'currency', m.currency,
				'balance', (pg_wallet.get_balance(m.account_number)).balance,
				'status', m.status) ORDER BY m.account_id)
			FROM (SELECT * FROM mine ORDER BY account_id LIMIT lim OFFSET off) m), '[]')
	INTO total, items;
	RETURN jsonb_build_object('wallets', items, 'pagination', jsonb_build_object(
		'total', total, 'limit', lim, 'offset', off, 'hasMore', off + lim < total))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_wallets(text, jsonb) IS
	'Tribble GET /wallets[?currency&status&limit&offset]: the caller''s wallets with balances, '
	'and pagination {total, limit (1-100, default 20), offset, hasMore}.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_wallet(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	a pg_wallet.account_info := pg_wallet._owned_account(me, args #>> '{path,id}');
	last jsonb;
BEGIN
	SELECT jsonb_build_object('transactionId', pg_wallet.receipt_code(j.id, j.created_at),
		'amount', pg_wallet.amount_format(e.amount, a.currency),
		'type', CASE e.side WHEN 'CR' THEN 'CREDIT' ELSE 'DEBIT' END,
		'timestamp', pg_wallet._ts_iso(e.created_at))
	INTO last
	FROM pg_wallet.entries e JOIN pg_wallet.journals j ON j.id = e.journal_id
	WHERE e.account_id = a.account_id
	ORDER BY e.created_at DESC, e.id DESC LIMIT 1;
	RETURN jsonb_build_object('walletId', a.account_number, 'userId', me.principal_id,
		'balance', (pg_wallet.get_balance(a.account_number)).balance, 'currency', a.currency,
		'status', a.status, 'createdAt', pg_wallet._ts_iso(a.created_at),
		'lastTransaction', last) || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_wallet(text, jsonb) IS
	'Tribble GET /wallets/:walletId: one of the caller''s wallets with its balance and last '
	'transaction; another user''s wallet is 404.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_fund(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
	a pg_wallet.account_info;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['walletId', 'paymentMethodId']);
	IF jsonb_typeof(b -> 'amount') IS DISTINCT FROM 'number' OR (b ->> 'amount')::numeric <= 0
	THEN
		RAISE EXCEPTION 'Amount must be greater than 0'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'amount';
	END IF;
	a := pg_wallet._owned_account(me, b ->> 'walletId');
	-- the method must be the caller's, active, and (a card) not expired: 404 WL080, 422 WL081
	PERFORM pg_wallet.payment_method_check(me.owner_id, b ->> 'paymentMethodId');
	RETURN pg_wallet.fund_wallet(a.account_number, (b ->> 'amount')::numeric,
		b ->> 'paymentMethodId',
		b ->> 'idempotencyKey')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_fund(text, jsonb) IS
	'Tribble POST /wallets/fund: fund one of the caller''s wallets from one of the caller''s '
	'payment methods (payment_method_check: an unknown, removed or another user''s method is '
	'404 WL080, an expired card 422 WL081; then fund_wallet: a card deposit, PROCESSING until '
	'the partner''s callback).';
