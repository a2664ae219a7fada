-- Sessions and tokens: signing keys, login (users, WaaS clients), API-key authorization
-- (Sellapay), refresh-token rotation, authenticate(), logout, password change.
--
-- Refusals that must leave a trace (failed-login counters and locks, refresh-token reuse
-- revoking a session) are RETURNED as status REFUSED with a SQLSTATE and a message, not
-- raised: a raised error would roll back the very write that defends against guessing.

-- ---------------------------------------------------------------------------------------
-- Signing keys
-- ---------------------------------------------------------------------------------------

-- The active HS256 key, made on first use. Called by _jwt_issue (C).
CREATE OR REPLACE FUNCTION pg_wallet._jwt_signing_key()
RETURNS TABLE (key_id text, key_secret bytea)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	FOR attempt IN 1..2 LOOP
		RETURN QUERY SELECT k.kid, k.secret FROM pg_wallet.jwt_signing_keys k
			WHERE k.status = 'ACTIVE';
		IF FOUND THEN
			RETURN;
		END IF;
		-- a concurrent first use inserts too: the unique index keeps one, we read it
		INSERT INTO pg_wallet.jwt_signing_keys (kid, secret, status)
		VALUES ('k' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') || '-'
		        || pg_wallet.base64url_encode(pg_wallet._random_bytes(6)),
		        pg_wallet._random_bytes(32), 'ACTIVE')
		ON CONFLICT (status) WHERE status = 'ACTIVE' DO NOTHING;
	END LOOP;
	RAISE EXCEPTION 'no active JWT signing key could be made' USING ERRCODE = 'internal_error';
END
$$;
COMMENT ON FUNCTION pg_wallet._jwt_signing_key() IS
	'Internal: the active JWT signing key (kid, 32 random bytes), created on first use.';

CREATE OR REPLACE FUNCTION pg_wallet.rotate_signing_key()
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	new_kid text;
BEGIN
	LOCK TABLE pg_wallet.jwt_signing_keys IN SHARE ROW EXCLUSIVE MODE;
	-- a retired key verifies the tokens it signed until the longest of them expires
	UPDATE pg_wallet.jwt_signing_keys k
	SET status = 'RETIRED', retired_at = t,
		verify_until = t + make_interval(secs => greatest(cfg.jwt_lifetime_s,
		                                                  cfg.api_token_lifetime_s) + 60)
	WHERE k.status = 'ACTIVE';
	new_kid := 'k' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') || '-'
		|| pg_wallet.base64url_encode(pg_wallet._random_bytes(6));
	INSERT INTO pg_wallet.jwt_signing_keys (kid, secret, status)
	VALUES (new_kid, pg_wallet._random_bytes(32), 'ACTIVE');
	RETURN new_kid;
END
$$;
COMMENT ON FUNCTION pg_wallet.rotate_signing_key() IS
	'Operator: make a new active JWT signing key and retire the current one; tokens signed '
	'by the old key keep verifying until they expire. Returns the new kid.';

-- ---------------------------------------------------------------------------------------
-- Issuing and revoking
-- ---------------------------------------------------------------------------------------

-- A REFUSED login_result.
CREATE OR REPLACE FUNCTION pg_wallet._login_refused(
	p_sqlstate text, p_message text, p_retry_after_s integer DEFAULT NULL)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN ROW('REFUSED', p_sqlstate, p_message, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL, NULL, NULL, NULL, p_retry_after_s)::pg_wallet.login_result;
END
$$;
COMMENT ON FUNCTION pg_wallet._login_refused(text, text, integer) IS
	'Internal: a login_result with status REFUSED.';

-- Sign an access token in a session, register its jti, and (for password sessions) add a
-- refresh token; the OK login_result.
CREATE OR REPLACE FUNCTION pg_wallet._issue_tokens(
	p pg_wallet.principals, p_session_id uuid, p_profile text, p_lifetime_s integer,
	p_with_refresh boolean)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	jwt pg_wallet.jwt_issued;
	rt text;
BEGIN
	jwt := pg_wallet._jwt_issue(p.id, p.role, p_profile, p_session_id, p_lifetime_s);
	INSERT INTO pg_wallet.access_tokens (jti, session_id, principal_id, issued_at, expires_at)
	VALUES (jwt.jti, p_session_id, p.id, jwt.issued_at, jwt.expires_at);
	IF p_with_refresh THEN
		rt := pg_wallet._random_token('rt_', 32);
		INSERT INTO pg_wallet.refresh_tokens (token_hash, session_id, principal_id, issued_at,
			expires_at)
		VALUES (pg_wallet._secret_hash(rt), p_session_id, p.id, t,
			t + make_interval(secs => cfg.refresh_lifetime_s));
	END IF;
	RETURN ROW('OK', NULL, NULL, jwt.token, rt, 'Bearer', p_lifetime_s,
		CASE WHEN p_with_refresh THEN cfg.refresh_lifetime_s END, jwt.jti, p_session_id,
		p.id, p.role, p.email, p.first_name, p.kyc_status, p.kyc_tier,
		NULL)::pg_wallet.login_result;
END
$$;
COMMENT ON FUNCTION pg_wallet._issue_tokens(pg_wallet.principals, uuid, text, integer, boolean) IS
	'Internal: issue an access token (and a refresh token) in a session.';

-- Revoke a session: its access tokens and its refresh-token family.
CREATE OR REPLACE FUNCTION pg_wallet._revoke_session(p_session_id uuid, p_reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := pg_wallet._auth_now();
BEGIN
	UPDATE pg_wallet.auth_sessions s SET revoked_at = t, revoke_reason = left(p_reason, 200)
	WHERE s.id = p_session_id AND s.revoked_at IS NULL;
	UPDATE pg_wallet.access_tokens a SET revoked_at = t
	WHERE a.session_id = p_session_id AND a.revoked_at IS NULL;
	UPDATE pg_wallet.refresh_tokens r SET status = 'REVOKED'
	WHERE r.session_id = p_session_id AND r.status = 'ACTIVE';
END
$$;
COMMENT ON FUNCTION pg_wallet._revoke_session(uuid, text) IS
	'Internal: revoke a session, every access token issued in it and its refresh tokens.';

CREATE OR REPLACE FUNCTION pg_wallet.revoke_sessions(
	principal_id uuid,
	reason text DEFAULT 'revoked by an operator')
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s record;
	n integer := 0;
BEGIN
	PERFORM pg_wallet._principal_row(principal_id);
	FOR s IN SELECT x.id FROM pg_wallet.auth_sessions x
	         WHERE x.principal_id = revoke_sessions.principal_id AND x.revoked_at IS NULL
	         ORDER BY x.id
	LOOP
		PERFORM pg_wallet._revoke_session(s.id, reason);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet.revoke_sessions(uuid, text) IS
	'Operator: revoke every session (all tokens) of a principal; returns how many.';

-- ---------------------------------------------------------------------------------------
-- Login
-- ---------------------------------------------------------------------------------------

-- The password check shared by login and login_client, on a row locked FOR UPDATE (or
-- none: unknown principal, same cost). Counts failures, locks after max_failed_logins.
-- Check a principal's password: NULL when it is right (the failure count is reset and an
-- old hash upgraded), else the refusal, counted towards the lockout. p.id NULL (no such
-- principal) costs the same time as a wrong password.
CREATE OR REPLACE FUNCTION pg_wallet._password_check(
	p pg_wallet.principals, p_password text, p_invalid_message text)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	stored text;
	ok boolean;
BEGIN
	IF p.id IS NOT NULL AND p.locked_until > t THEN
		RETURN pg_wallet._login_refused('WL021', 'account locked',
			ceil(extract(epoch FROM p.locked_until - t))::integer);
	END IF;
	SELECT h.hash INTO stored FROM pg_wallet.principal_passwords h WHERE h.principal_id = p.id;
	-- too long cannot match; a missing hash costs the same as a wrong password
	IF octet_length(p_password) > 128 THEN
		ok := false;
	ELSE
		ok := pg_wallet._password_verify(p_password, stored) AND stored IS NOT NULL;
	END IF;
	IF p.id IS NULL THEN
		RETURN pg_wallet._login_refused('WL020', p_invalid_message);
	END IF;
	IF NOT ok THEN
		IF p.failed_logins + 1 >= cfg.max_failed_logins THEN
			UPDATE pg_wallet.principals x SET failed_logins = 0, updated_at = now(),
				locked_until = t + make_interval(secs => cfg.lockout_s)
			WHERE x.id = p.id;
			RETURN pg_wallet._login_refused('WL021', 'account locked', cfg.lockout_s);
		END IF;
		UPDATE pg_wallet.principals x SET failed_logins = x.failed_logins + 1
		WHERE x.id = p.id;
		RETURN pg_wallet._login_refused('WL020', p_invalid_message);
	END IF;
	IF p.status <> 'ACTIVE' THEN
		RETURN pg_wallet._login_refused('WL021', 'account ' || lower(p.status));
	END IF;
	UPDATE pg_wallet.principals x SET failed_logins = 0, locked_until = NULL, last_login_at = t
	WHERE x.id = p.id;
	IF pg_wallet._password_needs_rehash(stored) THEN
		UPDATE pg_wallet.principal_passwords h
		SET hash = pg_wallet._password_hash(p_password), updated_at = now()
		WHERE h.principal_id = p.id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._password_check(pg_wallet.principals, text, text) IS
	'Internal: NULL when the password is right (constant time), else the counted refusal '
	'(WL020, WL021 with the lockout).';

-- A password session of a principal whose credentials were checked: its tokens.
CREATE OR REPLACE FUNCTION pg_wallet._password_session(p pg_wallet.principals, p_profile text)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	session_id uuid;
BEGIN
	INSERT INTO pg_wallet.auth_sessions (principal_id, kind, profile, created_at)
	VALUES (p.id, 'password', p_profile, pg_wallet._auth_now())
	RETURNING id INTO session_id;
	RETURN pg_wallet._issue_tokens(p, session_id, p_profile,
		(pg_wallet._auth_config()).jwt_lifetime_s, true);
END
$$;
COMMENT ON FUNCTION pg_wallet._password_session(pg_wallet.principals, text) IS
	'Internal: open a password session for a principal whose credentials passed; its tokens.';

CREATE OR REPLACE FUNCTION pg_wallet._password_login(
	p pg_wallet.principals, p_password text, p_profile text, p_invalid_message text)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	refused pg_wallet.login_result := pg_wallet._password_check(p, p_password,
		p_invalid_message);
BEGIN
	IF refused.status IS NOT NULL THEN
		RETURN refused;
	END IF;
	RETURN pg_wallet._password_session(p, p_profile);
END
$$;
COMMENT ON FUNCTION pg_wallet._password_login(pg_wallet.principals, text, text, text) IS
	'Internal: check a password (constant time, counted, lockout) and open a session.';

-- The profile argument: a short lower-case name.
CREATE OR REPLACE FUNCTION pg_wallet._check_profile(profile text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF profile IS NULL OR profile !~ '^[a-z0-9_-]{1,32}$' THEN
		RAISE EXCEPTION 'profile must be 1 to 32 lower-case letters, digits, "_" or "-"'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN profile;
END
$$;
COMMENT ON FUNCTION pg_wallet._check_profile(text) IS
	'Internal: validate an API profile name (tribble, waas, sellapay, cashier, ...).';

-- The principal an email signs in as, locked (all NULL when none: the password check then
-- costs what a wrong password does); the profile, email and password are checked first.
CREATE OR REPLACE FUNCTION pg_wallet._login_principal(p_email text, p_password text,
	p_profile text)
RETURNS pg_wallet.principals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals;
BEGIN
	PERFORM pg_wallet._check_profile(p_profile);
	IF p_email IS NULL OR btrim(p_email) = '' OR p_password IS NULL OR p_password = '' THEN
		RAISE EXCEPTION 'email and password are required'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF octet_length(p_email) <= 320 THEN
		SELECT * INTO p FROM pg_wallet.principals x WHERE x.email = lower(btrim(p_email))
		FOR UPDATE;
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._login_principal(text, text, text) IS
	'Internal: the principal of a sign-in''s email, locked (NULL fields when none), after '
	'checking the profile name and that email and password are given.';

CREATE OR REPLACE FUNCTION pg_wallet.login(email text, password text, profile text DEFAULT 'tribble')
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._password_login(pg_wallet._login_principal(email, password, profile),
		password, profile, 'invalid email or password');
END
$$;
COMMENT ON FUNCTION pg_wallet.login(text, text, text) IS
	'Tribble POST /auth/login: email and password to an access token (HS256 JWT, '
	'pg_wallet.jwt_lifetime_s) and a refresh token. Refusals are returned (status REFUSED): '
	'WL020 invalid email or password (also for an unknown email, in the same time), WL021 '
	'account locked (after pg_wallet.max_failed_logins failures, for pg_wallet.lockout_s) or '
	'suspended/closed.';

-- Sign-in with the second factor where the principal has one: the password first (as
-- login), then, when TOTP is enabled (confirmed), its code; a refusal is returned so that
-- what was counted stays.
CREATE OR REPLACE FUNCTION pg_wallet.login_with_totp(email text, password text,
	totp_code text, profile text DEFAULT 'cashier')
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._login_principal(email, password, profile);
	refused pg_wallet.login_result;
	s pg_wallet.totp_secrets;
	c record;
BEGIN
	refused := pg_wallet._password_check(p, password, 'invalid email or password');
	IF refused.status IS NOT NULL THEN
		RETURN refused;
	END IF;
	s := pg_wallet._totp_row(p.id);
	IF s.confirmed_at IS NOT NULL THEN
		IF totp_code IS NULL OR totp_code = '' THEN
			RETURN pg_wallet._login_refused('WL039',
				'a second factor is required: send the code of your authenticator app');
		END IF;
		c := pg_wallet._totp_check(s, totp_code);
		IF c.outcome = 'BLOCKED' THEN
			RETURN pg_wallet._login_refused('WL027',
				'too many wrong codes: two-factor sign-in is blocked for a while');
		ELSIF c.outcome <> 'OK' THEN
			RETURN pg_wallet._login_refused('WL026', 'invalid code');
		END IF;
	END IF;
	RETURN pg_wallet._password_session(p, profile);
END
$$;
COMMENT ON FUNCTION pg_wallet.login_with_totp(text, text, text, text) IS
	'Sign-in with two factors where enabled (the cashier web page): email and password as '
	'login(), then, for a principal with TOTP enabled, its current code (WL039 when none is '
	'given, WL026 a wrong one, counted by the TOTP lockout; WL027 blocked). A principal '
	'without TOTP signs in with the password alone. Refusals are returned (status REFUSED).';

CREATE OR REPLACE FUNCTION pg_wallet.login_client(username text, password text, profile text DEFAULT 'waas')
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals;
BEGIN
	PERFORM pg_wallet._check_profile(profile);
	IF username IS NULL OR btrim(username) = '' OR password IS NULL OR password = '' THEN
		RAISE EXCEPTION 'username and password are required'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF octet_length(username) <= 64 THEN
		SELECT * INTO p FROM pg_wallet.principals x
		WHERE x.username = lower(btrim(login_client.username))
		FOR UPDATE;
	END IF;
	RETURN pg_wallet._password_login(p, password, profile, 'invalid username or password');
END
$$;
COMMENT ON FUNCTION pg_wallet.login_client(text, text, text) IS
	'WaaS POST /auth/login: username and password to tokens; same rules as login().';

CREATE OR REPLACE FUNCTION pg_wallet.authorize_api_key(
	api_key text,
	api_secret text,
	profile text DEFAULT 'sellapay')
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	c pg_wallet.api_credentials;
	p pg_wallet.principals;
	session_id uuid;
BEGIN
	PERFORM pg_wallet._check_profile(profile);
	IF api_key IS NULL OR api_key = '' OR api_secret IS NULL OR api_secret = '' THEN
		RAISE EXCEPTION 'missing API key or secret code' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF octet_length(api_key) <= 256 AND octet_length(api_secret) <= 256 THEN
		SELECT * INTO c FROM pg_wallet.api_credentials a
		WHERE a.key_hash = pg_wallet._secret_hash(api_key)
		FOR UPDATE;
	END IF;
	IF c.id IS NULL OR c.status <> 'ACTIVE'
		OR NOT pg_wallet._ct_equal(c.secret_hash, pg_wallet._secret_hash(api_secret)) THEN
		RETURN pg_wallet._login_refused('WL020', 'invalid API key or secret code');
	END IF;
	p := pg_wallet._principal_row(c.principal_id);
	IF p.status <> 'ACTIVE' THEN
		RETURN pg_wallet._login_refused('WL021', 'account ' || lower(p.status));
	END IF;
	UPDATE pg_wallet.api_credentials a SET last_used_at = t WHERE a.id = c.id;
	INSERT INTO pg_wallet.auth_sessions (principal_id, kind, profile, api_credential_id,
		created_at)
	VALUES (p.id, 'api_key', profile, c.id, t)
	RETURNING id INTO session_id;
	RETURN pg_wallet._issue_tokens(p, session_id, profile, cfg.api_token_lifetime_s, false);
END
$$;
COMMENT ON FUNCTION pg_wallet.authorize_api_key(text, text, text) IS
	'Sellapay POST /authorize: X-API-KEY and X-API-SECRET to an access token '
	'(pg_wallet.api_token_lifetime_s, no refresh token). 22004 "missing API key or secret '
	'code"; REFUSED WL020 "invalid API key or secret code", WL021 suspended.';

CREATE OR REPLACE FUNCTION pg_wallet.refresh_session(refresh_token text)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	r pg_wallet.refresh_tokens;
	s pg_wallet.auth_sessions;
	p pg_wallet.principals;
BEGIN
	IF refresh_token IS NULL OR refresh_token = '' THEN
		RAISE EXCEPTION 'refresh token is missing' USING ERRCODE = 'WL022';
	END IF;
	IF refresh_token !~ '^rt_[A-Za-z0-9_-]{43}$' THEN
		RETURN pg_wallet._login_refused('WL022', 'refresh token is invalid');
	END IF;
	SELECT * INTO r FROM pg_wallet.refresh_tokens x
	WHERE x.token_hash = pg_wallet._secret_hash(refresh_token)
	FOR UPDATE;
	IF NOT FOUND THEN
		RETURN pg_wallet._login_refused('WL022', 'refresh token is invalid');
	END IF;
	SELECT * INTO s FROM pg_wallet.auth_sessions x WHERE x.id = r.session_id FOR UPDATE;
	IF r.status = 'USED' AND s.revoked_at IS NULL THEN
		-- a used token presented again: stolen, or the thief already used it. Revoke all.
		PERFORM pg_wallet._revoke_session(s.id, 'refresh token reused');
		RETURN pg_wallet._login_refused('WL025',
			'refresh token was already used; the session has been revoked');
	END IF;
	IF r.status <> 'ACTIVE' OR s.revoked_at IS NOT NULL THEN
		RETURN pg_wallet._login_refused('WL025', 'refresh token has been revoked');
	END IF;
	IF r.expires_at <= t THEN
		RETURN pg_wallet._login_refused('WL024', 'refresh token has expired');
	END IF;
	p := pg_wallet._principal_row(r.principal_id);
	IF p.status <> 'ACTIVE' THEN
		RETURN pg_wallet._login_refused('WL021', 'account ' || lower(p.status));
	END IF;
	UPDATE pg_wallet.refresh_tokens x SET status = 'USED', used_at = t
	WHERE x.token_hash = r.token_hash;
	RETURN pg_wallet._issue_tokens(p, s.id, s.profile, cfg.jwt_lifetime_s, true);
END
$$;
COMMENT ON FUNCTION pg_wallet.refresh_session(text) IS
	'Tribble POST /auth/refresh-token: a refresh token to a new access token and a new '
	'refresh token (rotation; the old one is used up). Presenting a used refresh token again '
	'revokes the whole session (WL025). REFUSED WL022 invalid, WL024 expired, WL025 revoked.';

-- ---------------------------------------------------------------------------------------
-- Authenticate: what every API function calls first
-- ---------------------------------------------------------------------------------------

-- C (src/identity/auth_authenticate.c): the token verified with the per-backend cached key
-- of its kid, then ONE statement reads the jti's registry row, its session and principal by
-- primary key and proves the cached key still current. Issue 20: the PL/pgSQL version behind
-- two SQL wrappers was a third of an authenticated read.
CREATE OR REPLACE FUNCTION pg_wallet.authenticate(
	token text,
	allowed_roles text[] DEFAULT NULL,
	expected_audience text DEFAULT NULL)
RETURNS pg_wallet.auth_principal
AS 'MODULE_PATHNAME', 'wallet_authenticate'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.authenticate(text, text[], text) IS
	'Token (optionally "Bearer ...") to the calling principal, or the precise error: WL022 '
	'missing/malformed, WL023 algorithm not HS256/unknown key/bad signature, WL024 expired, '
	'WL025 revoked (logout, session revoked, unknown jti), WL021 account suspended/closed, '
	'WL023 "access token was not issued for this API" when expected_audience is given and '
	'the token''s aud (the profile that issued it) differs, WL031 role not in allowed_roles '
	'(checked last). NULL allowed_roles or expected_audience: no check. Every API function '
	'calls it first.';

CREATE OR REPLACE FUNCTION pg_wallet.get_principal(token text)
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._principal_info(
		pg_wallet._principal_row((pg_wallet.authenticate(token)).principal_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.get_principal(text) IS
	'Tribble GET /users/profile: the calling principal (no secrets).';

CREATE OR REPLACE FUNCTION pg_wallet.logout(token text, token_id uuid DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	target uuid;
BEGIN
	SELECT a.session_id INTO target FROM pg_wallet.access_tokens a
	WHERE a.jti = coalesce(token_id, me.token_id) AND a.principal_id = me.principal_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'token_id does not identify a token of the caller'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_wallet._revoke_session(target, 'logout');
	RETURN true;
END
$$;
COMMENT ON FUNCTION pg_wallet.logout(text, uuid) IS
	'Tribble POST /auth/logout: revoke the session of the token (or of the caller''s token '
	'token_id): its access tokens stop working (WL025) and its refresh tokens are revoked.';

CREATE OR REPLACE FUNCTION pg_wallet.change_password(
	token text,
	current_password text,
	new_password text)
RETURNS pg_wallet.auth_outcome
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	p pg_wallet.principals := pg_wallet._principal_row(me.principal_id, true);
	stored text;
	ok boolean;
	s record;
BEGIN
	PERFORM pg_wallet._password_check_strength(new_password);
	IF p.locked_until > t THEN
		RETURN ('REFUSED', 'WL021', 'account locked')::pg_wallet.auth_outcome;
	END IF;
	SELECT h.hash INTO stored FROM pg_wallet.principal_passwords h WHERE h.principal_id = p.id;
	IF current_password IS NULL OR octet_length(current_password) > 128 THEN
		ok := false;
	ELSE
		ok := pg_wallet._password_verify(current_password, stored) AND stored IS NOT NULL;
	END IF;
	IF NOT ok THEN
		UPDATE pg_wallet.principals x
		SET failed_logins = CASE WHEN x.failed_logins + 1 >= cfg.max_failed_logins THEN 0
		                         ELSE x.failed_logins + 1 END,
			locked_until = CASE WHEN x.failed_logins + 1 >= cfg.max_failed_logins
			                    THEN t + make_interval(secs => cfg.lockout_s) END
		WHERE x.id = p.id;
		RETURN ('REFUSED', 'WL020', 'current password is incorrect')::pg_wallet.auth_outcome;
	END IF;
	UPDATE pg_wallet.principal_passwords h
	SET hash = pg_wallet._password_hash(new_password), updated_at = now()
	WHERE h.principal_id = p.id;
	UPDATE pg_wallet.principals x SET failed_logins = 0, updated_at = now() WHERE x.id = p.id;
	-- fraud scoring's Credential Change factor (the rules layer keeps the stamp)
	PERFORM pg_wallet._fraud_note_credential_change(p.owner_id, 'password');
	FOR s IN SELECT x.id FROM pg_wallet.auth_sessions x
	         WHERE x.principal_id = p.id AND x.revoked_at IS NULL AND x.id <> me.session_id
	LOOP
		PERFORM pg_wallet._revoke_session(s.id, 'password changed');
	END LOOP;
	RETURN ('OK', NULL, 'Password changed successfully')::pg_wallet.auth_outcome;
END
$$;
COMMENT ON FUNCTION pg_wallet.change_password(text, text, text) IS
	'Tribble POST /users/change-password: needs the current password (a wrong one counts as '
	'a failed login: REFUSED WL020, WL021 when locked); the new one must pass the policy '
	'(WL030). Every other session of the principal is revoked.';

CREATE OR REPLACE FUNCTION pg_wallet.purge_expired_auth()
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := pg_wallet._auth_now();
	n bigint;
	total bigint := 0;
BEGIN
	DELETE FROM pg_wallet.access_tokens a WHERE a.expires_at < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.refresh_tokens r WHERE r.expires_at < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.verification_tokens v WHERE v.expires_at < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.otp_challenges o WHERE o.expires_at < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.auth_sessions s
	WHERE s.created_at < t - interval '1 day'
	  AND NOT EXISTS (SELECT 1 FROM pg_wallet.access_tokens a WHERE a.session_id = s.id)
	  AND NOT EXISTS (SELECT 1 FROM pg_wallet.refresh_tokens r WHERE r.session_id = s.id);
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.jwt_signing_keys k
	WHERE k.status = 'RETIRED' AND k.verify_until < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	RETURN total;
END
$$;
COMMENT ON FUNCTION pg_wallet.purge_expired_auth() IS
	'Operator or worker: delete tokens, codes, sessions and retired keys that expired more '
	'than a day ago; returns the number of rows deleted.';
