-- API layer: signing in to the cashier from a web page (issue 17: the bridge's /cashier/ page).
-- A browser cannot put an Authorization header on a WebSocket, so the page signs in over REST
-- and the bridge keeps the access token in an HttpOnly cookie (never readable by the page's
-- script), which authenticates the cashier socket of the same origin:
--   pg_wallet.api_cashier_login(token, args)   POST /cashier/svc/auth/login
--       {"email", "password", "totpCode"?}: the password, then the TOTP code where the user
--       enabled two factors (login_with_totp); the answer names the user, and "_bridge"
--       carries the token for the bridge's Set-Cookie (never in the body);
--   pg_wallet.api_cashier_session(token, args) GET /cashier/svc/auth/session: who the cookie
--       signs in (the page, loaded again, goes on without a new sign-in), or nobody;
--   pg_wallet.api_cashier_logout(token, args)  POST /cashier/svc/auth/logout: the cookie's
--       session is revoked and the bridge clears the cookie.

-- The signed-in user as the web page shows it (sign-in and session answer the same).
CREATE OR REPLACE FUNCTION pg_wallet._cashier_user(principal_id uuid)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principal_info := pg_wallet.get_principal_by_id(principal_id);
BEGIN
	RETURN jsonb_build_object('userId', p.principal_id, 'email', p.email,
		'firstName', p.first_name, 'lastName', p.last_name);
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_user(uuid) IS
	'Internal: {userId, email, firstName, lastName} of the cashier web page''s user.';

CREATE OR REPLACE FUNCTION pg_wallet.api_cashier_login(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	f text;
	r pg_wallet.login_result;
BEGIN
	FOREACH f IN ARRAY ARRAY['email', 'password'] LOOP
		IF jsonb_typeof(b -> f) IS DISTINCT FROM 'string' THEN
			RAISE EXCEPTION '% is required (a string)', f
				USING ERRCODE = 'invalid_parameter_value', COLUMN = f;
		END IF;
	END LOOP;
	IF b ? 'totpCode' AND (jsonb_typeof(b -> 'totpCode') IS DISTINCT FROM 'string'
		OR length(b ->> 'totpCode') > 16) THEN
		RAISE EXCEPTION 'totpCode must be the code of your authenticator app (a string)'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'totpCode';
	END IF;
	r := pg_wallet.login_with_totp(b ->> 'email', b ->> 'password', b ->> 'totpCode',
		'cashier');
	IF r.status <> 'OK' THEN
		-- returned, not raised: the failed attempt (password or code) must stay counted
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message));
	END IF;
	RETURN jsonb_build_object('user', pg_wallet._cashier_user(r.principal_id),
		'expiresIn', r.expires_in,
		'_bridge', jsonb_build_object('cookie', r.access_token, 'cookie_max_age', r.expires_in));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_login(text, jsonb) IS
	'Cashier web sign-in (POST /cashier/svc/auth/login): {email, password, totpCode?} to '
	'{user, expiresIn}; the access token (cashier audience) goes to the bridge in '
	'"_bridge".cookie for an HttpOnly cookie, never in the body. Refusals are returned so '
	'that they stay counted: WL020 (401), WL021 (403), WL039 a TOTP code is needed (401), '
	'WL026 a wrong code, WL027 blocked.';

CREATE OR REPLACE FUNCTION pg_wallet.api_cashier_logout(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._cashier_me(token);
BEGIN
	PERFORM pg_wallet.logout(token);
	RETURN jsonb_build_object('message', 'signed out',
		'_bridge', jsonb_build_object('owner_id', me.owner_id, 'cookie', '',
			'cookie_max_age', 0));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_logout(text, jsonb) IS
	'Cashier web sign-out (POST /cashier/svc/auth/logout): the session of the cookie''s '
	'token is revoked (its tokens stop working at once, sockets included at their next '
	'call) and the bridge clears the cookie.';

CREATE OR REPLACE FUNCTION pg_wallet.api_cashier_session(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal;
	left_s integer;
BEGIN
	IF token IS NULL THEN
		RETURN jsonb_build_object('user', NULL);
	END IF;
	BEGIN
		me := pg_wallet._cashier_me(token);
	EXCEPTION WHEN SQLSTATE 'WL021' OR SQLSTATE 'WL022' OR SQLSTATE 'WL023'
		OR SQLSTATE 'WL024' OR SQLSTATE 'WL025' OR SQLSTATE 'WL031' THEN
		-- a cookie that signs nobody in any more (expired, revoked): nobody, and it goes
		RETURN jsonb_build_object('user', NULL,
			'_bridge', jsonb_build_object('cookie', '', 'cookie_max_age', 0));
	END;
	left_s := greatest(ceil(extract(epoch FROM me.token_expires_at - now()))::integer, 1);
	RETURN jsonb_build_object('user', pg_wallet._cashier_user(me.principal_id),
		'expiresIn', left_s, '_bridge', jsonb_build_object('owner_id', me.owner_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_session(text, jsonb) IS
	'Cashier web session (GET /cashier/svc/auth/session): {user, expiresIn (seconds left)} '
	'of the cookie''s token, or {user: null} without a cookie; a cookie whose token no longer '
	'signs in (expired, revoked, locked) answers {user: null} and is cleared.';
