-- Verification (cashier spec: verification_request, verify_otp, verify_totp): one-time
-- codes by email/SMS/WhatsApp, TOTP enrolment, and the short-lived single-use verification
-- tokens that sensitive operations (withdrawals) consume.
--
-- Wrong codes are RETURNED as status REFUSED (WL026/WL027) with the attempts left, not
-- raised, so that the attempt counter is committed. Messages are the spec's texts.

-- The purpose argument: what a verification is for (withdrawal, email_verification, ...).
CREATE OR REPLACE FUNCTION pg_wallet._check_purpose(purpose text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF purpose IS NULL OR purpose !~ '^[a-z][a-z0-9_]{1,39}$' THEN
		RAISE EXCEPTION 'purpose must be 2 to 40 lower-case letters, digits or "_"'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'For example: withdrawal.';
	END IF;
	RETURN purpose;
END
$$;
COMMENT ON FUNCTION pg_wallet._check_purpose(text) IS
	'Internal: validate a verification purpose such as withdrawal.';

-- A new verification token for a principal and purpose; only its hash is stored.
CREATE OR REPLACE FUNCTION pg_wallet._issue_verification_token(
	p_principal_id uuid, p_purpose text, p_method text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := pg_wallet._auth_now();
	vt text := pg_wallet._random_token('vt_', 32);
BEGIN
	INSERT INTO pg_wallet.verification_tokens (token_hash, principal_id, purpose, method,
		created_at, expires_at)
	VALUES (pg_wallet._secret_hash(vt), p_principal_id, p_purpose, p_method, t,
		t + make_interval(secs => (pg_wallet._auth_config()).verification_ttl_s));
	RETURN vt;
END
$$;
COMMENT ON FUNCTION pg_wallet._issue_verification_token(uuid, text, text) IS
	'Internal: a verification token (vt_...) bound to principal and purpose, valid '
	'pg_wallet.verification_ttl_s (300 s), stored as SHA-256.';

-- ---------------------------------------------------------------------------------------
-- One-time codes by email, SMS, WhatsApp; and the TOTP branch of verification_request
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet.verification_request(token text, method text, purpose text)
RETURNS pg_wallet.verification_challenge
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	p pg_wallet.principals;
	v_channel text;
	v_recipient text;
	v_masked text;
	v_code text;
	v_salt bytea;
	challenge_id bigint;
BEGIN
	PERFORM pg_wallet._check_purpose(purpose);
	IF method IS NULL OR method NOT IN ('totp', 'otp_email', 'otp_sms', 'otp_whatsapp') THEN
		RAISE EXCEPTION 'verification method must be totp, otp_email, otp_sms or otp_whatsapp'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF method = 'totp' THEN
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.totp_secrets s
		               WHERE s.principal_id = me.principal_id AND s.confirmed_at IS NOT NULL) THEN
			RAISE EXCEPTION '2FA is not enabled for your account. %',
				'Please use OTP verification instead.' USING ERRCODE = 'WL029';
		END IF;
		RETURN ('2FA enabled. Please provide your TOTP code', 'totp', NULL, NULL, purpose,
			'verify_totp', NULL)::pg_wallet.verification_challenge;
	END IF;
	p := pg_wallet._principal_row(me.principal_id, true);	-- one request at a time
	v_channel := CASE method WHEN 'otp_email' THEN 'email' WHEN 'otp_sms' THEN 'sms'
	                         ELSE 'whatsapp' END;
	v_recipient := CASE v_channel WHEN 'email' THEN p.email ELSE p.phone_number END;
	IF v_recipient IS NULL THEN
		RAISE EXCEPTION 'no % on file for this account',
			CASE v_channel WHEN 'email' THEN 'email address' ELSE 'phone number' END
			USING ERRCODE = 'WL036';
	END IF;
	IF (SELECT count(*) FROM pg_wallet.otp_challenges o
	    WHERE o.principal_id = p.id AND o.created_at > t - interval '10 minutes') >= 5 THEN
		RAISE EXCEPTION 'too many verification requests. Please try again later.'
			USING ERRCODE = 'WL037', DETAIL = 'At most 5 codes are sent in 10 minutes.';
	END IF;
	UPDATE pg_wallet.otp_challenges o SET status = 'SUPERSEDED'
	WHERE o.principal_id = p.id AND o.purpose = verification_request.purpose
	  AND o.status = 'PENDING';
	v_code := pg_wallet._random_digits(6);
	v_salt := pg_wallet._random_bytes(16);
	v_masked := CASE v_channel WHEN 'email' THEN pg_wallet._mask_email(v_recipient)
	                           ELSE pg_wallet._mask_phone(v_recipient) END;
	INSERT INTO pg_wallet.otp_challenges (principal_id, purpose, method, channel,
		recipient_masked, code_salt, code_hash, max_attempts, created_at, expires_at)
	VALUES (p.id, purpose, method, v_channel, v_masked, v_salt,
		pg_wallet._secret_hash(v_code, v_salt), cfg.otp_max_attempts, t,
		t + make_interval(secs => cfg.otp_ttl_s))
	RETURNING id INTO challenge_id;
	INSERT INTO pg_wallet.notification_outbox (principal_id, channel, recipient, template, payload)
	VALUES (p.id, v_channel, v_recipient, 'otp_code',
		jsonb_build_object('code', v_code, 'purpose', purpose, 'expires_in', cfg.otp_ttl_s,
		                   'challenge_id', challenge_id));
	RETURN (format('OTP sent to %s via %s', v_masked,
	               CASE v_channel WHEN 'email' THEN 'email' WHEN 'sms' THEN 'SMS'
	                              ELSE 'WhatsApp' END),
		method, v_channel, v_masked, purpose, 'verify_otp',
		cfg.otp_ttl_s)::pg_wallet.verification_challenge;
END
$$;
COMMENT ON FUNCTION pg_wallet.verification_request(text, text, text) IS
	'Cashier verification_request: method otp_email/otp_sms/otp_whatsapp sends a 6-digit code '
	'(a notification_outbox row; expires in pg_wallet.otp_ttl_s = 180 s; supersedes a pending '
	'one; at most 5 in 10 minutes, WL037) to the masked recipient; method totp answers '
	'next_step verify_totp, or WL029 "2FA is not enabled ..." when it is not.';

CREATE OR REPLACE FUNCTION pg_wallet.verify_otp(token text, code text, purpose text)
RETURNS pg_wallet.verification_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	t timestamptz := pg_wallet._auth_now();
	ch pg_wallet.otp_challenges;
BEGIN
	PERFORM pg_wallet._check_purpose(purpose);
	SELECT * INTO ch FROM pg_wallet.otp_challenges o
	WHERE o.principal_id = me.principal_id AND o.purpose = verify_otp.purpose
	ORDER BY o.id DESC LIMIT 1
	FOR UPDATE;
	IF NOT FOUND OR ch.status IN ('VERIFIED', 'SUPERSEDED') THEN
		RETURN ('REFUSED', 'WL027', 'no pending OTP for this purpose. Please request a new one.',
			NULL, purpose, NULL, NULL, 0)::pg_wallet.verification_result;
	END IF;
	IF ch.status = 'EXHAUSTED' THEN
		RETURN ('REFUSED', 'WL027', 'too many invalid attempts. Please request a new OTP.',
			NULL, purpose, ch.method, NULL, 0)::pg_wallet.verification_result;
	END IF;
	IF ch.status = 'EXPIRED' OR ch.expires_at <= t THEN
		UPDATE pg_wallet.otp_challenges o SET status = 'EXPIRED' WHERE o.id = ch.id;
		RETURN ('REFUSED', 'WL027', 'OTP has expired. Please request a new one.',
			NULL, purpose, ch.method, NULL, 0)::pg_wallet.verification_result;
	END IF;
	IF code IS NULL OR octet_length(code) <> 6 OR code !~ '^[0-9]{6}$'
		OR NOT pg_wallet._ct_equal(pg_wallet._secret_hash(code, ch.code_salt), ch.code_hash) THEN
		UPDATE pg_wallet.otp_challenges o
		SET attempts = o.attempts + 1,
			status = CASE WHEN o.attempts + 1 >= o.max_attempts THEN 'EXHAUSTED' ELSE o.status END
		WHERE o.id = ch.id;
		RETURN ('REFUSED', 'WL026', 'invalid OTP code', NULL, purpose, ch.method, NULL,
			ch.max_attempts - ch.attempts - 1)::pg_wallet.verification_result;
	END IF;
	UPDATE pg_wallet.otp_challenges o SET status = 'VERIFIED', verified_at = t WHERE o.id = ch.id;
	IF purpose = 'email_verification' AND ch.channel = 'email' THEN
		UPDATE pg_wallet.principals x SET email_verified_at = t WHERE x.id = me.principal_id;
	ELSIF purpose = 'phone_verification' AND ch.channel IN ('sms', 'whatsapp') THEN
		UPDATE pg_wallet.principals x SET phone_verified_at = t WHERE x.id = me.principal_id;
	END IF;
	RETURN ('OK', NULL, 'verification successful',
		pg_wallet._issue_verification_token(me.principal_id, purpose, ch.method), purpose,
		ch.method, (pg_wallet._auth_config()).verification_ttl_s,
		NULL)::pg_wallet.verification_result;
END
$$;
COMMENT ON FUNCTION pg_wallet.verify_otp(text, text, text) IS
	'Cashier verify_otp: the code of the latest OTP for the purpose to a verification token '
	'(300 s, single use). REFUSED WL026 "invalid OTP code" (attempts_remaining), WL027 '
	'expired, attempts exhausted, or none pending. Purpose email_verification / '
	'phone_verification also marks the address verified.';

-- ---------------------------------------------------------------------------------------
-- TOTP (RFC 6238) two-factor authentication
-- ---------------------------------------------------------------------------------------

-- Check a TOTP code against a locked totp_secrets row: counts failures (blocking for
-- pg_wallet.lockout_s after otp_max_attempts in a row) and remembers the step used.
CREATE OR REPLACE FUNCTION pg_wallet._totp_check(
	s pg_wallet.totp_secrets, p_code text,
	OUT outcome text, OUT attempts_remaining integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	step bigint;
BEGIN
	IF s.blocked_until > t THEN
		outcome := 'BLOCKED';
		attempts_remaining := 0;
		RETURN;
	END IF;
	IF octet_length(p_code) = 6 THEN
		step := pg_wallet._totp_match(s.secret, p_code, s.last_step);
	END IF;
	IF step IS NULL THEN
		attempts_remaining := greatest(cfg.otp_max_attempts - s.failed_attempts - 1, 0);
		UPDATE pg_wallet.totp_secrets x
		SET failed_attempts = CASE WHEN attempts_remaining = 0 THEN 0
		                           ELSE x.failed_attempts + 1 END,
			blocked_until = CASE WHEN attempts_remaining = 0
			                     THEN t + make_interval(secs => cfg.lockout_s) END
		WHERE x.principal_id = s.principal_id;
		outcome := 'INVALID';
		RETURN;
	END IF;
	UPDATE pg_wallet.totp_secrets x
	SET last_step = step, failed_attempts = 0, blocked_until = NULL
	WHERE x.principal_id = s.principal_id;
	outcome := 'OK';
END
$$;
COMMENT ON FUNCTION pg_wallet._totp_check(pg_wallet.totp_secrets, text) IS
	'Internal: check a TOTP code (window +-1 step, each step once), counting failures.';

-- The caller's totp_secrets row, locked; NULL fields when there is none.
CREATE OR REPLACE FUNCTION pg_wallet._totp_row(p_principal_id uuid)
RETURNS pg_wallet.totp_secrets
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.totp_secrets;
BEGIN
	SELECT * INTO s FROM pg_wallet.totp_secrets x WHERE x.principal_id = p_principal_id
	FOR UPDATE;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._totp_row(uuid) IS
	'Internal: the totp_secrets row of a principal, locked (all NULL when none).';

CREATE OR REPLACE FUNCTION pg_wallet.verify_totp(token text, code text, purpose text)
RETURNS pg_wallet.verification_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	s pg_wallet.totp_secrets;
	r record;
BEGIN
	PERFORM pg_wallet._check_purpose(purpose);
	s := pg_wallet._totp_row(me.principal_id);
	IF s.confirmed_at IS NULL THEN
		RAISE EXCEPTION '2FA is not enabled for your account. Please use OTP verification instead.'
			USING ERRCODE = 'WL029';
	END IF;
	r := pg_wallet._totp_check(s, code);
	IF r.outcome = 'BLOCKED' THEN
		RETURN ('REFUSED', 'WL027', 'too many invalid TOTP codes. Please try again later.',
			NULL, purpose, 'totp', NULL, 0)::pg_wallet.verification_result;
	ELSIF r.outcome = 'INVALID' THEN
		RETURN ('REFUSED', 'WL026', 'invalid TOTP code', NULL, purpose, 'totp', NULL,
			r.attempts_remaining)::pg_wallet.verification_result;
	END IF;
	RETURN ('OK', NULL, 'verification successful',
		pg_wallet._issue_verification_token(me.principal_id, purpose, 'totp'), purpose, 'totp',
		(pg_wallet._auth_config()).verification_ttl_s, NULL)::pg_wallet.verification_result;
END
$$;
COMMENT ON FUNCTION pg_wallet.verify_totp(text, text, text) IS
	'Cashier verify_totp: a current TOTP code (6 digits, 30 s, +-1 step, each step once) to '
	'a verification token. WL029 "2FA is not enabled ..." without TOTP; REFUSED WL026 '
	'"invalid TOTP code", WL027 blocked after pg_wallet.otp_max_attempts wrong codes.';

CREATE OR REPLACE FUNCTION pg_wallet.totp_enroll(token text)
RETURNS pg_wallet.totp_enrollment
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	p pg_wallet.principals := pg_wallet._principal_row(me.principal_id, true);
	s pg_wallet.totp_secrets := pg_wallet._totp_row(me.principal_id);
	v_secret bytea := pg_wallet._random_bytes(20);
BEGIN
	IF s.confirmed_at IS NOT NULL THEN
		RAISE EXCEPTION '2FA is already enabled' USING ERRCODE = 'WL034',
			HINT = 'Disable it with totp_disable() before enrolling a new secret.';
	END IF;
	INSERT INTO pg_wallet.totp_secrets (principal_id, secret, created_at)
	VALUES (p.id, v_secret, pg_wallet._auth_now())
	ON CONFLICT (principal_id) DO UPDATE
	SET secret = EXCLUDED.secret, confirmed_at = NULL, last_step = NULL, failed_attempts = 0,
		blocked_until = NULL, created_at = EXCLUDED.created_at;
	RETURN (pg_wallet.base32_encode(v_secret),
		pg_wallet._totp_uri(v_secret, (pg_wallet._auth_config()).totp_issuer,
		                    coalesce(p.email, p.username, p.id::text)),
		'SHA1', 6, 30)::pg_wallet.totp_enrollment;
END
$$;
COMMENT ON FUNCTION pg_wallet.totp_enroll(text) IS
	'Start TOTP enrolment: a new 160-bit secret (base32) and its otpauth:// URI; 2FA is '
	'enabled once totp_confirm() gets a valid code. WL034 when already enabled.';

CREATE OR REPLACE FUNCTION pg_wallet.totp_confirm(token text, code text)
RETURNS pg_wallet.auth_outcome
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	s pg_wallet.totp_secrets := pg_wallet._totp_row(me.principal_id);
	r record;
BEGIN
	IF s.principal_id IS NULL THEN
		RAISE EXCEPTION 'no 2FA enrolment is pending' USING ERRCODE = 'WL029',
			HINT = 'Call totp_enroll() first.';
	END IF;
	IF s.confirmed_at IS NOT NULL THEN
		RAISE EXCEPTION '2FA is already enabled' USING ERRCODE = 'WL034';
	END IF;
	r := pg_wallet._totp_check(s, code);
	IF r.outcome = 'BLOCKED' THEN
		RETURN ('REFUSED', 'WL027', 'too many invalid TOTP codes. Please try again later.')
			::pg_wallet.auth_outcome;
	ELSIF r.outcome = 'INVALID' THEN
		RETURN ('REFUSED', 'WL026', 'invalid TOTP code')::pg_wallet.auth_outcome;
	END IF;
	UPDATE pg_wallet.totp_secrets x SET confirmed_at = pg_wallet._auth_now()
	WHERE x.principal_id = me.principal_id;
	RETURN ('OK', NULL, '2FA enabled')::pg_wallet.auth_outcome;
END
$$;
COMMENT ON FUNCTION pg_wallet.totp_confirm(text, text) IS
	'Finish TOTP enrolment with a code from the authenticator: enables 2FA. REFUSED WL026 '
	'invalid code, WL027 blocked; WL029 nothing pending, WL034 already enabled.';

CREATE OR REPLACE FUNCTION pg_wallet.totp_disable(token text, code text)
RETURNS pg_wallet.auth_outcome
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	s pg_wallet.totp_secrets := pg_wallet._totp_row(me.principal_id);
	r record;
BEGIN
	IF s.confirmed_at IS NULL THEN
		RAISE EXCEPTION '2FA is not enabled for your account. Please use OTP verification instead.'
			USING ERRCODE = 'WL029';
	END IF;
	r := pg_wallet._totp_check(s, code);
	IF r.outcome = 'BLOCKED' THEN
		RETURN ('REFUSED', 'WL027', 'too many invalid TOTP codes. Please try again later.')
			::pg_wallet.auth_outcome;
	ELSIF r.outcome = 'INVALID' THEN
		RETURN ('REFUSED', 'WL026', 'invalid TOTP code')::pg_wallet.auth_outcome;
	END IF;
	DELETE FROM pg_wallet.totp_secrets x WHERE x.principal_id = me.principal_id;
	RETURN ('OK', NULL, '2FA disabled')::pg_wallet.auth_outcome;
END
$$;
COMMENT ON FUNCTION pg_wallet.totp_disable(text, text) IS
	'Turn TOTP off; needs a current code. REFUSED WL026/WL027; WL029 when not enabled.';

-- ---------------------------------------------------------------------------------------
-- Verification tokens, consumed by sensitive operations
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet.consume_verification_token(
	principal_id uuid,
	purpose text,
	verification_token text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := pg_wallet._auth_now();
	v pg_wallet.verification_tokens;
	problem text;
BEGIN
	IF verification_token IS NULL OR btrim(verification_token) = '' THEN
		RAISE EXCEPTION 'verification_token is required. Please complete verification first.'
			USING ERRCODE = 'WL033';
	END IF;
	IF octet_length(verification_token) <> 46
		OR verification_token !~ '^vt_[A-Za-z0-9_-]{43}$' THEN
		problem := 'The token is malformed.';
	ELSE
		SELECT * INTO v FROM pg_wallet.verification_tokens x
		WHERE x.token_hash = pg_wallet._secret_hash(verification_token)
		FOR UPDATE;
		problem := CASE
			WHEN v.token_hash IS NULL THEN 'No such token.'
			WHEN v.principal_id IS DISTINCT FROM consume_verification_token.principal_id
				THEN 'The token was issued to another principal.'
			WHEN v.purpose IS DISTINCT FROM consume_verification_token.purpose
				THEN 'The token was issued for another purpose.'
			WHEN v.used_at IS NOT NULL THEN 'The token was already used.'
			WHEN v.expires_at <= t THEN 'The token has expired.'
		END;
	END IF;
	IF problem IS NOT NULL THEN
		RAISE EXCEPTION 'invalid or expired verification token. Please verify again.'
			USING ERRCODE = 'WL028', DETAIL = problem;
	END IF;
	UPDATE pg_wallet.verification_tokens x SET used_at = t WHERE x.token_hash = v.token_hash;
	-- fraud scoring: the owner is verified for the rest of this transaction
	PERFORM pg_wallet._fraud_verified(p.owner_id, v.method)
	FROM pg_wallet.principals p WHERE p.id = v.principal_id;
	RETURN v.method;
END
$$;
COMMENT ON FUNCTION pg_wallet.consume_verification_token(uuid, text, text) IS
	'Use up a verification token in the caller''s transaction (a withdrawal calls it): WL033 '
	'"verification_token is required. Please complete verification first." when missing, '
	'WL028 "invalid or expired verification token. Please verify again." when unknown, '
	'expired, used, or bound to another principal or purpose. Returns the method that '
	'verified (otp_email, otp_sms, otp_whatsapp, totp). The principal''s owner then counts '
	'as verified for fraud scoring until the transaction ends (REQUIRE_VERIFICATION).';

CREATE OR REPLACE FUNCTION pg_wallet.test_otp_code(principal_id uuid, purpose text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet._require_test_hooks();
	RETURN (SELECT n.payload ->> 'code' FROM pg_wallet.notification_outbox n
	        WHERE n.principal_id = test_otp_code.principal_id AND n.template = 'otp_code'
	          AND n.payload ->> 'purpose' = test_otp_code.purpose
	        ORDER BY n.id DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION pg_wallet.test_otp_code(uuid, text) IS
	'Test hook: the last OTP code sent to a principal for a purpose. Raises 42501 unless a '
	'superuser set pg_wallet.enable_test_hooks = on; never grant it.';
