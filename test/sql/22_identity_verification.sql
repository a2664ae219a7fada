-- Verification (cashier spec): OTP by email, SMS and WhatsApp (delivery through the
-- notification outbox, code read through the test hook), expiry, attempts, superseding, rate
-- limit; TOTP enrolment, confirmation, window, replay, blocking, disabling; verification
-- tokens bound to principal and purpose, single use, 300 s.
-- Codes, tokens and secrets are never printed; expiry is tested by moving the auth clock.

CREATE OR REPLACE FUNCTION auth_err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(d, '') || ')', ''),
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END
$$;
-- the TOTP code of a base32 secret at the auth clock plus delta_s (same statement, same clock)
CREATE FUNCTION totp_now(b32 text, delta_s int) RETURNS text LANGUAGE sql AS $$
	SELECT pg_wallet.totp_at(pg_wallet.base32_decode(b32),
		floor(extract(epoch FROM pg_wallet._auth_now()))::bigint + delta_s)
$$;
-- a 6-digit code that is not the given one
CREATE FUNCTION other_code(code text, n int) RETURNS text LANGUAGE sql AS $$
	SELECT lpad(((code::int + n) % 1000000)::text, 6, '0')
$$;

SELECT principal_id AS vera FROM pg_wallet.register_user('vera@verify.example.com', 'VeraPass1',
	'Vera', 'Verify', '0722123678') \gset
SELECT access_token AS tok FROM pg_wallet.login('vera@verify.example.com', 'VeraPass1') \gset
SELECT principal_id AS other FROM pg_wallet.register_user('other@verify.example.com', 'OtherPass1',
	'Other', 'Verify', '0722000999') \gset

-- the test hook is off unless a superuser turns it on
SHOW pg_wallet.enable_test_hooks;
SELECT auth_err(format('SELECT pg_wallet.test_otp_code(%L, ''withdrawal'')', :'vera'));
SET pg_wallet.enable_test_hooks = on;

-- ---------------------------------------------------------------------------------------
-- OTP by email
-- ---------------------------------------------------------------------------------------
SELECT * FROM pg_wallet.verification_request(:'tok', 'otp_email', 'withdrawal');
-- delivery is a PENDING outbox row carrying the full address and the code
SELECT channel, recipient, template, status,
	(SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(payload) k) AS payload_keys,
	payload ->> 'purpose' AS purpose, payload ->> 'expires_in' AS expires_in,
	payload ->> 'code' ~ '^[0-9]{6}$' AS code_shape
FROM pg_wallet.notification_outbox WHERE principal_id = :'vera' ORDER BY id DESC LIMIT 1;
SELECT pg_wallet.test_otp_code(:'vera', 'withdrawal') AS code \gset
-- the challenge keeps a salted SHA-256 of the code, never the code
SELECT method, channel, recipient_masked, status, attempts, max_attempts,
	expires_at - created_at AS ttl, octet_length(code_salt) AS salt_bytes,
	code_hash = pg_wallet._secret_hash(:'code', code_salt) AS hash_matches,
	code_hash <> sha256(convert_to(:'code', 'UTF8')) AS salted
FROM pg_wallet.otp_challenges WHERE principal_id = :'vera' ORDER BY id DESC LIMIT 1;
-- wrong codes are counted (returned, not raised, so the count is kept)
SELECT status, sqlstate, message, verification_token IS NULL AS no_token, attempts_remaining
FROM pg_wallet.verify_otp(:'tok', other_code(:'code', 1), 'withdrawal');
SELECT status, sqlstate, message, attempts_remaining
FROM pg_wallet.verify_otp(:'tok', 'abcdef', 'withdrawal');
SELECT status, sqlstate, message, attempts_remaining
FROM pg_wallet.verify_otp(:'tok', NULL, 'withdrawal');
-- another purpose has no pending code
SELECT status, sqlstate, message FROM pg_wallet.verify_otp(:'tok', :'code', 'payout');
SELECT attempts, status FROM pg_wallet.otp_challenges WHERE principal_id = :'vera'
ORDER BY id DESC LIMIT 1;
-- the right code: a verification token, 300 s
SELECT status, sqlstate, message, verification_token AS vt, purpose, method, expires_in
FROM pg_wallet.verify_otp(:'tok', :'code', 'withdrawal') \gset
SELECT :'status' AS status, :'message' AS message, :'vt' ~ '^vt_[A-Za-z0-9_-]{43}$' AS token_shape,
	:'purpose' AS purpose, :'method' AS method, :'expires_in' AS expires_in;
SELECT status, verified_at IS NOT NULL AS verified FROM pg_wallet.otp_challenges
WHERE principal_id = :'vera' ORDER BY id DESC LIMIT 1;
-- a code works once
SELECT status, sqlstate, message FROM pg_wallet.verify_otp(:'tok', :'code', 'withdrawal');
-- the verification token is stored as a hash, bound to principal and purpose
SELECT purpose, method, expires_at - created_at AS ttl, used_at IS NULL AS unused
FROM pg_wallet.verification_tokens WHERE token_hash = pg_wallet._secret_hash(:'vt');

-- ---------------------------------------------------------------------------------------
-- Consuming a verification token (what a withdrawal does), with the spec's errors
-- ---------------------------------------------------------------------------------------
SELECT pg_wallet.consume_verification_token(:'vera', 'withdrawal', :'vt') AS verified_by;
SELECT auth_err(format('SELECT pg_wallet.consume_verification_token(%L, ''withdrawal'', %L)',
	:'vera', :'vt'));
SELECT left(t, 16) AS token, length(t) AS length,
	auth_err(format('SELECT pg_wallet.consume_verification_token(%L, ''withdrawal'', %L)', :'vera',
		t))
FROM unnest(ARRAY[NULL, '', '   ', 'garbage', 'vt_' || repeat('A', 43), 'vt_' || repeat('A',
	300)]) t;

-- ---------------------------------------------------------------------------------------
-- SMS and WhatsApp; a new request supersedes the pending one
-- ---------------------------------------------------------------------------------------
SELECT message, method, channel, recipient, next_step, expires_in
FROM pg_wallet.verification_request(:'tok', 'otp_sms', 'withdrawal');
SELECT pg_wallet.test_otp_code(:'vera', 'withdrawal') AS sms_code \gset
SELECT message, method, channel, recipient, next_step, expires_in
FROM pg_wallet.verification_request(:'tok', 'otp_whatsapp', 'withdrawal');
SELECT pg_wallet.test_otp_code(:'vera', 'withdrawal') AS wa_code \gset
SELECT channel, recipient, template FROM pg_wallet.notification_outbox
WHERE principal_id = :'vera' ORDER BY id DESC LIMIT 2;
SELECT method, status FROM pg_wallet.otp_challenges WHERE principal_id = :'vera'
ORDER BY id DESC LIMIT 2;
-- the superseded SMS code no longer works (it is checked against the WhatsApp challenge)
SELECT status, sqlstate, message, attempts_remaining
FROM pg_wallet.verify_otp(:'tok', CASE WHEN :'sms_code' = :'wa_code' THEN other_code(:'wa_code', 1)
                                       ELSE :'sms_code' END, 'withdrawal');
SELECT status, method, verification_token AS vt2
FROM pg_wallet.verify_otp(:'tok', :'wa_code', 'withdrawal') \gset
SELECT :'status' AS status, :'method' AS method;
-- bound to the principal and the purpose it was issued for
SELECT auth_err(format('SELECT pg_wallet.consume_verification_token(%L, ''payout'', %L)', :'vera',
	:'vt2'));
SELECT auth_err(format('SELECT pg_wallet.consume_verification_token(%L, ''withdrawal'', %L)',
	:'other', :'vt2'));
-- valid 300 s
SET pg_wallet.test_now_offset_s = 300;
SELECT auth_err(format('SELECT pg_wallet.consume_verification_token(%L, ''withdrawal'', %L)',
	:'vera', :'vt2'));
RESET pg_wallet.test_now_offset_s;
-- consumed inside a transaction that fails (a withdrawal refused later): still unused
BEGIN;
SELECT pg_wallet.consume_verification_token(:'vera', 'withdrawal', :'vt2') IS NOT NULL AS consumed;
ROLLBACK;
SELECT used_at IS NULL AS unused FROM pg_wallet.verification_tokens
WHERE token_hash = pg_wallet._secret_hash(:'vt2');
-- refusals consumed nothing: the token still works, once
SELECT pg_wallet.consume_verification_token(:'vera', 'withdrawal', :'vt2') AS verified_by;
SELECT used_at IS NOT NULL AS used FROM pg_wallet.verification_tokens
WHERE token_hash = pg_wallet._secret_hash(:'vt2');

-- ---------------------------------------------------------------------------------------
-- Expiry (180 s) and attempts (5)
-- ---------------------------------------------------------------------------------------
SELECT expires_in FROM pg_wallet.verification_request(:'tok', 'otp_email', 'withdrawal');
SELECT pg_wallet.test_otp_code(:'vera', 'withdrawal') AS code \gset
SET pg_wallet.test_now_offset_s = 180;
SELECT status, sqlstate, message FROM pg_wallet.verify_otp(:'tok', :'code', 'withdrawal');
RESET pg_wallet.test_now_offset_s;
SELECT status, sqlstate, message FROM pg_wallet.verify_otp(:'tok', :'code', 'withdrawal');
SELECT status FROM pg_wallet.otp_challenges WHERE principal_id = :'vera' ORDER BY id DESC LIMIT 1;

SELECT expires_in FROM pg_wallet.verification_request(:'tok', 'otp_email', 'withdrawal');
SELECT pg_wallet.test_otp_code(:'vera', 'withdrawal') AS code \gset
SELECT i AS attempt, r.status, r.sqlstate, r.message, r.attempts_remaining
FROM generate_series(1, 5) i,
	LATERAL pg_wallet.verify_otp(:'tok', other_code(:'code', i), 'withdrawal') r;
SELECT status, sqlstate, message, attempts_remaining
FROM pg_wallet.verify_otp(:'tok', :'code', 'withdrawal');
SELECT status, attempts FROM pg_wallet.otp_challenges WHERE principal_id = :'vera'
ORDER BY id DESC LIMIT 1;

-- ---------------------------------------------------------------------------------------
-- Rate limit: 5 codes in 10 minutes (Vera has had 5)
-- ---------------------------------------------------------------------------------------
SELECT auth_err(format('SELECT pg_wallet.verification_request(%L, ''otp_email'', ''withdrawal'')',
	:'tok'));
SET pg_wallet.test_now_offset_s = 601;
SELECT message FROM pg_wallet.verification_request(:'tok', 'otp_email', 'login_check');
RESET pg_wallet.test_now_offset_s;

-- ---------------------------------------------------------------------------------------
-- Refusals of the request
-- ---------------------------------------------------------------------------------------
SELECT auth_err(format('SELECT pg_wallet.verification_request(%L, ''otp_pigeon'', ''withdrawal'')',
	:'tok'));
SELECT auth_err(format('SELECT pg_wallet.verification_request(%L, NULL, ''withdrawal'')', :'tok'));
SELECT p AS purpose, auth_err(format('SELECT pg_wallet.verification_request(%L, ''otp_email'', %L)',
	:'tok', p))
FROM unnest(ARRAY['Withdrawal', 'w', 'with drawal', NULL, repeat('w', 41)]) p;
SELECT auth_err($$SELECT pg_wallet.verification_request(NULL, 'otp_email', 'withdrawal')$$);
SELECT auth_err($$SELECT pg_wallet.verify_otp('garbage', '123456', 'withdrawal')$$);
-- no phone on file: SMS and WhatsApp are unavailable, email works
SELECT principal_id AS nophone FROM pg_wallet.create_principal('user', 'nophone@verify.example.com',
	'NoPhone12', 'No', 'Phone') \gset
SELECT access_token AS nophone_tok FROM pg_wallet.login('nophone@verify.example.com',
	'NoPhone12') \gset
SELECT auth_err(format('SELECT pg_wallet.verification_request(%L, ''otp_sms'', ''withdrawal'')',
	:'nophone_tok'));
SELECT auth_err(format(
	'SELECT pg_wallet.verification_request(%L, ''otp_whatsapp'', ''withdrawal'')', :'nophone_tok'));
-- email verification: a verified OTP for purpose email_verification marks the address
SELECT message FROM pg_wallet.verification_request(:'nophone_tok', 'otp_email',
	'email_verification');
SELECT email_verified FROM pg_wallet.get_principal_by_id(:'nophone');
SELECT status FROM pg_wallet.verify_otp(:'nophone_tok',
	pg_wallet.test_otp_code(:'nophone', 'email_verification'), 'email_verification');
SELECT email_verified, phone_verified FROM pg_wallet.get_principal_by_id(:'nophone');
-- another principal's code does not verify Vera
SELECT message FROM pg_wallet.verification_request(:'nophone_tok', 'otp_email', 'login_check');
SELECT status, sqlstate, message FROM pg_wallet.verify_otp(:'tok',
	pg_wallet.test_otp_code(:'nophone', 'login_check'), 'login_check');

-- ---------------------------------------------------------------------------------------
-- TOTP: not enabled
-- ---------------------------------------------------------------------------------------
SELECT auth_err(format('SELECT pg_wallet.verification_request(%L, ''totp'', ''withdrawal'')',
	:'tok'));
SELECT auth_err(format('SELECT pg_wallet.verify_totp(%L, ''123456'', ''withdrawal'')', :'tok'));
SELECT auth_err(format('SELECT pg_wallet.totp_confirm(%L, ''123456'')', :'tok'));
SELECT auth_err(format('SELECT pg_wallet.totp_disable(%L, ''123456'')', :'tok'));

-- ---------------------------------------------------------------------------------------
-- TOTP: enrolment and confirmation
-- ---------------------------------------------------------------------------------------
SELECT secret AS b32, otpauth_uri AS uri, algorithm, digits, period_s
FROM pg_wallet.totp_enroll(:'tok') \gset
SELECT :'b32' ~ '^[A-Z2-7]{32}$' AS base32_160_bits,
	regexp_replace(:'uri', 'secret=[A-Z2-7]{32}&', 'secret=<secret>&') AS uri,
	position(:'b32' IN :'uri') > 0 AS uri_has_secret, :'algorithm' AS algorithm,
	:'digits' AS digits, :'period_s' AS period_s;
SELECT secret = pg_wallet.base32_decode(:'b32') AS stored_secret_matches,
	confirmed_at IS NULL AS pending
FROM pg_wallet.totp_secrets WHERE principal_id = :'vera';
SELECT totp_enabled FROM pg_wallet.get_principal_by_id(:'vera');
-- pending is not enabled
SELECT auth_err(format('SELECT pg_wallet.verification_request(%L, ''totp'', ''withdrawal'')',
	:'tok'));
-- a wrong code does not confirm
SELECT * FROM pg_wallet.totp_confirm(:'tok', other_code(totp_now(:'b32', 0), 500000));
-- enrolling again replaces the pending secret
SELECT secret AS b32 FROM pg_wallet.totp_enroll(:'tok') \gset
SELECT secret = pg_wallet.base32_decode(:'b32') AS replaced, failed_attempts
FROM pg_wallet.totp_secrets WHERE principal_id = :'vera';
SELECT totp_now(:'b32', 0) AS c0 \gset
SELECT * FROM pg_wallet.totp_confirm(:'tok', :'c0');
SELECT totp_enabled FROM pg_wallet.get_principal_by_id(:'vera');
SELECT auth_err(format('SELECT pg_wallet.totp_enroll(%L)', :'tok'));
SELECT auth_err(format('SELECT pg_wallet.totp_confirm(%L, %L)', :'tok', :'c0'));

-- ---------------------------------------------------------------------------------------
-- TOTP: verification
-- ---------------------------------------------------------------------------------------
SELECT * FROM pg_wallet.verification_request(:'tok', 'totp', 'withdrawal');
-- the code that confirmed enrolment cannot be used again (replay)
SELECT status, sqlstate, message, attempts_remaining FROM pg_wallet.verify_totp(:'tok', :'c0',
	'withdrawal');
-- later: the previous step, the current one and the next are accepted, each once
SET pg_wallet.test_now_offset_s = 300;
SELECT status, sqlstate, message, verification_token AS vt3, method, expires_in
FROM pg_wallet.verify_totp(:'tok', totp_now(:'b32', -30), 'withdrawal') \gset
SELECT :'status' AS status, :'message' AS message, :'vt3' ~ '^vt_[A-Za-z0-9_-]{43}$' AS token_shape,
	:'method' AS method, :'expires_in' AS expires_in;
SELECT status, sqlstate FROM pg_wallet.verify_totp(:'tok', totp_now(:'b32', 30), 'withdrawal');
SELECT status, sqlstate, message FROM pg_wallet.verify_totp(:'tok', totp_now(:'b32', 60),
	'withdrawal');
SELECT status, sqlstate, message FROM pg_wallet.verify_totp(:'tok', totp_now(:'b32', -60),
	'withdrawal');
SELECT status, sqlstate, message FROM pg_wallet.verify_totp(:'tok', '12345', 'withdrawal');
RESET pg_wallet.test_now_offset_s;
SELECT pg_wallet.consume_verification_token(:'vera', 'withdrawal', :'vt3') AS verified_by;
-- 5 wrong codes in a row block TOTP for pg_wallet.lockout_s; a success resets the count
SET pg_wallet.test_now_offset_s = 600;
SELECT status FROM pg_wallet.verify_totp(:'tok', totp_now(:'b32', 0), 'withdrawal');
SELECT failed_attempts FROM pg_wallet.totp_secrets WHERE principal_id = :'vera';
SELECT i AS attempt, r.status, r.sqlstate, r.message, r.attempts_remaining
FROM generate_series(1, 5) i,
	LATERAL pg_wallet.verify_totp(:'tok', other_code(totp_now(:'b32', 0), 100000 * i + 7),
	                              'withdrawal') r;
SELECT status, sqlstate, message FROM pg_wallet.verify_totp(:'tok', totp_now(:'b32', 30),
	'withdrawal');
SELECT blocked_until IS NOT NULL AS blocked FROM pg_wallet.totp_secrets
WHERE principal_id = :'vera';
SET pg_wallet.test_now_offset_s = 1600;
SELECT status, sqlstate FROM pg_wallet.verify_totp(:'tok', totp_now(:'b32', 0), 'withdrawal');

-- ---------------------------------------------------------------------------------------
-- TOTP: sign-in with two factors (the cashier web page: login_with_totp)
-- ---------------------------------------------------------------------------------------
SET pg_wallet.test_now_offset_s = 1700;
-- the password alone: the second factor is asked for (the password was right)
SELECT status, sqlstate, message, access_token IS NULL AS no_token
FROM pg_wallet.login_with_totp('vera@verify.example.com', 'VeraPass1', NULL);
-- a right code with a wrong password, then a wrong code: refused, nothing issued
SELECT status, sqlstate, message FROM pg_wallet.login_with_totp('vera@verify.example.com',
	'NotVera1', totp_now(:'b32', 0));
SELECT status, sqlstate, message FROM pg_wallet.login_with_totp('vera@verify.example.com',
	'VeraPass1', other_code(totp_now(:'b32', 0), 500000));
SELECT failed_logins, (SELECT failed_attempts FROM pg_wallet.totp_secrets
	WHERE principal_id = :'vera') AS totp_failures
FROM pg_wallet.principals WHERE id = :'vera';
-- both: a session of the asked profile; the same code again is a replay
SELECT status, role, access_token IS NOT NULL AS token, refresh_token IS NOT NULL AS refresh
FROM pg_wallet.login_with_totp('vera@verify.example.com', 'VeraPass1', totp_now(:'b32', 0));
SELECT kind, profile FROM pg_wallet.auth_sessions WHERE principal_id = :'vera'
ORDER BY created_at DESC, id LIMIT 1;
SELECT status, sqlstate FROM pg_wallet.login_with_totp('vera@verify.example.com', 'VeraPass1',
	totp_now(:'b32', 0));
-- a user without TOTP signs in with the password alone; an unknown one is refused alike
SELECT status FROM pg_wallet.login_with_totp('other@verify.example.com', 'OtherPass1', NULL);
SELECT status, sqlstate, message FROM pg_wallet.login_with_totp('nobody@verify.example.com',
	'OtherPass1', '123456');

-- ---------------------------------------------------------------------------------------
-- TOTP: disabling needs a current code
-- ---------------------------------------------------------------------------------------
SET pg_wallet.test_now_offset_s = 1800;
SELECT * FROM pg_wallet.totp_disable(:'tok', other_code(totp_now(:'b32', 30), 500000));
SELECT * FROM pg_wallet.totp_disable(:'tok', totp_now(:'b32', 30));
RESET pg_wallet.test_now_offset_s;
SELECT totp_enabled FROM pg_wallet.get_principal_by_id(:'vera');
SELECT auth_err(format('SELECT pg_wallet.verification_request(%L, ''totp'', ''withdrawal'')',
	:'tok'));
SELECT count(*) AS secrets_left FROM pg_wallet.totp_secrets WHERE principal_id = :'vera';

RESET pg_wallet.enable_test_hooks;
