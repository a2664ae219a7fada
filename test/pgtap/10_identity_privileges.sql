-- pgTAP: privileges of identity and authentication (DESIGN.md, "Authentication lives in the
-- database"). An API role -- the bridge's -- is granted USAGE on the schema and EXECUTE on the
-- token-facing functions only; it can log in, authenticate, verify, submit KYC, but it cannot
-- read secrets, password hashes, signing keys, refresh/verification token hashes or OTP
-- hashes, cannot call the internal functions, and cannot move the auth clock or turn on the
-- test hooks. Run by scripts/test (stage pgtap) as the superuser, in one transaction rolled
-- back.

BEGIN;
SELECT plan(65);

CREATE ROLE wallet_api;
GRANT USAGE ON SCHEMA pg_wallet TO wallet_api;
GRANT EXECUTE ON FUNCTION
	pg_wallet.register_user(text, text, text, text, text, date, text),
	pg_wallet.login(text, text, text),
	pg_wallet.login_client(text, text, text),
	pg_wallet.authorize_api_key(text, text, text),
	pg_wallet.refresh_session(text),
	pg_wallet.authenticate(text, text[], text),
	pg_wallet.logout(text, uuid),
	pg_wallet.get_principal(text),
	pg_wallet.change_password(text, text, text),
	pg_wallet.verification_request(text, text, text),
	pg_wallet.verify_otp(text, text, text),
	pg_wallet.verify_totp(text, text, text),
	pg_wallet.totp_enroll(text),
	pg_wallet.totp_confirm(text, text),
	pg_wallet.totp_disable(text, text),
	pg_wallet.kyc_status(text, text),
	pg_wallet.kyc_submit_document(text, text, text, text, jsonb),
	pg_wallet.kyc_review(text, uuid, text, integer, text, text),
	pg_wallet.kyc_pending_reviews(text, integer, bigint)
TO wallet_api;

-- Every pg_wallet function not in p_skip, called with NULL arguments as the current role;
-- returns those that were NOT refused with 42501 (see 02_privileges.sql for the OFFSET 0).
CREATE FUNCTION pg_temp.auth_calls_not_refused(p_skip regprocedure[])
RETURNS text[]
LANGUAGE plpgsql
AS $$
DECLARE
	f record;
	bad text[] := '{}';
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure AS sig, p.proname,
			(SELECT string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY i)
			 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a (t, i)) AS nulls,
			(SELECT string_agg('a' || i, ', ' ORDER BY i)
			 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a (t, i)) AS names
		FROM pg_proc p
		WHERE p.pronamespace = 'pg_wallet'::regnamespace AND p.prokind = 'f'
		  AND p.oid <> ALL (p_skip)
		ORDER BY p.oid
	LOOP
		BEGIN
			IF f.nulls IS NULL THEN
				EXECUTE format('SELECT pg_wallet.%I()', f.proname);
			ELSE
				EXECUTE format('SELECT pg_wallet.%I(%s) FROM (SELECT %s OFFSET 0) AS a (%s)',
				               f.proname, f.names, f.nulls, f.names);
			END IF;
			bad := bad || (f.sig::text || ': ok');
		EXCEPTION
			WHEN insufficient_privilege THEN
				NULL;
			WHEN OTHERS THEN
				bad := bad || (f.sig::text || ': ' || SQLSTATE);
		END;
	END LOOP;
	RETURN bad;
END
$$;

-- Data, made by the superuser: a user with a password, a refresh token, a pending OTP, a
-- TOTP secret, a verification token, an API credential, a signing key.
SELECT principal_id AS tina FROM pg_wallet.register_user('tina@pgtap.example.com', 'TinaPass1',
	'Tina', 'Tap', '0799000111') \gset
SELECT access_token AS tok, refresh_token AS rt
FROM pg_wallet.login('tina@pgtap.example.com', 'TinaPass1') \gset
SELECT (pg_wallet.verification_request(:'tok', 'otp_email', 'withdrawal')).next_step \gset
SELECT (pg_wallet.totp_enroll(:'tok')).algorithm \gset
SELECT principal_id AS shop FROM pg_wallet.create_principal('merchant',
	'shop@pgtap.example.com') \gset
SELECT api_key AS key, api_secret AS secret FROM pg_wallet.create_api_credential(:'shop') \gset
SELECT (pg_wallet.totp_confirm(:'tok',
	pg_wallet.totp_at((SELECT secret FROM pg_wallet.totp_secrets WHERE principal_id = :'tina'),
	                  floor(extract(epoch FROM pg_wallet._auth_now()))::bigint))).status \gset
-- one step later (the step that confirmed cannot be used twice; now() is fixed in this
-- transaction)
SELECT verification_token AS vt FROM pg_wallet.verify_totp(:'tok',
	pg_wallet.totp_at((SELECT secret FROM pg_wallet.totp_secrets WHERE principal_id = :'tina'),
	                  floor(extract(epoch FROM pg_wallet._auth_now()))::bigint + 30),
	                  	'withdrawal') \gset

SELECT cmp_ok((SELECT count(*) FROM pg_wallet.principal_passwords
               WHERE principal_id = :'tina'), '=', 1::bigint,
	'setup: the password hash row exists (the refusals below are not vacuous)');
SELECT cmp_ok((SELECT count(*) FROM pg_wallet.jwt_signing_keys), '>=', 1::bigint,
	'setup: a signing key exists');
SELECT cmp_ok((SELECT count(*) FROM pg_wallet.otp_challenges WHERE principal_id = :'tina'),
	'=', 1::bigint, 'setup: an OTP challenge exists');
SELECT is(:'status'::text, 'OK', 'setup: TOTP enabled');
SELECT matches(:'vt'::text, '^vt_', 'setup: a verification token was issued');

-- ---------------------------------------------------------------------------------------
-- Catalog: the API role has no privilege on any auth table
-- ---------------------------------------------------------------------------------------
SELECT table_privs_are('pg_wallet', t, 'wallet_api', ARRAY[]::text[],
	'wallet_api has no privileges on pg_wallet.' || t)
FROM unnest(ARRAY['principals', 'principal_passwords', 'api_credentials', 'totp_secrets',
                  'jwt_signing_keys', 'auth_sessions', 'access_tokens', 'refresh_tokens',
                  'otp_challenges', 'verification_tokens', 'notification_outbox',
                  'kyc_documents', 'kyc_reviews', 'kyc_tier_limits']) t;

SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
	   AND has_any_column_privilege('wallet_api', c.oid, 'SELECT, INSERT, UPDATE, REFERENCES')),
	0::bigint,
	'wallet_api has no column privilege on any relation of pg_wallet');

-- no granted function returns a hash, a password, a secret or a salt -- but totp_enroll(),
-- which must show the caller the new TOTP secret once, to put in an authenticator app
SELECT set_eq(
	$$SELECT p.proname::text || '.' || a.attname::text FROM pg_proc p
	  JOIN pg_type t ON t.oid = p.prorettype
	  JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0
	  WHERE p.pronamespace = 'pg_wallet'::regnamespace
	    AND has_function_privilege('wallet_api', p.oid, 'EXECUTE')
	    AND a.attname ~ '(hash|password|secret|salt)'$$,
	ARRAY['totp_enroll.secret'],
	'no function wallet_api may call returns a hash, password, secret or salt but totp_enroll');

-- the settings that govern the checks are superuser-only
SELECT is(
	(SELECT count(*) FROM pg_settings
	 WHERE name IN ('pg_wallet.jwt_lifetime_s', 'pg_wallet.api_token_lifetime_s',
	                'pg_wallet.refresh_lifetime_s', 'pg_wallet.max_failed_logins',
	                'pg_wallet.lockout_s', 'pg_wallet.otp_ttl_s', 'pg_wallet.otp_max_attempts',
	                'pg_wallet.verification_ttl_s', 'pg_wallet.test_now_offset_s',
	                'pg_wallet.enable_test_hooks', 'pg_wallet.totp_issuer')
	   AND context = 'superuser'),
	11::bigint,
	'the 11 pg_wallet authentication settings are defined and superuser-only');

-- the tier limits table keeps the name and columns the money rules read
SELECT columns_are('pg_wallet', 'kyc_tier_limits',
	ARRAY['tier', 'currency', 'per_transaction_max_minor', 'daily_max_minor',
	      'monthly_max_minor', 'transactions_per_day'],
	'pg_wallet.kyc_tier_limits has exactly the agreed columns');

-- ---------------------------------------------------------------------------------------
-- Behaviour: as wallet_api, reading or changing a secret is refused
-- ---------------------------------------------------------------------------------------
SET ROLE wallet_api;

SELECT throws_ok($$SELECT hash FROM pg_wallet.principal_passwords$$, '42501',
	'permission denied for table principal_passwords',
	'wallet_api: password hashes cannot be read (42501)');
SELECT throws_ok($$SELECT secret FROM pg_wallet.jwt_signing_keys$$, '42501',
	'permission denied for table jwt_signing_keys',
	'wallet_api: JWT signing keys cannot be read (42501)');
SELECT throws_ok($$SELECT token_hash FROM pg_wallet.refresh_tokens$$, '42501',
	'permission denied for table refresh_tokens',
	'wallet_api: refresh token hashes cannot be read (42501)');
SELECT throws_ok($$SELECT token_hash FROM pg_wallet.verification_tokens$$, '42501',
	'permission denied for table verification_tokens',
	'wallet_api: verification token hashes cannot be read (42501)');
SELECT throws_ok($$SELECT code_hash, code_salt FROM pg_wallet.otp_challenges$$, '42501',
	'permission denied for table otp_challenges',
	'wallet_api: OTP hashes cannot be read (42501)');
SELECT throws_ok($$SELECT payload FROM pg_wallet.notification_outbox$$, '42501',
	'permission denied for table notification_outbox',
	'wallet_api: the outbox (which carries OTP codes until delivery) cannot be read (42501)');
SELECT throws_ok($$SELECT key_hash, secret_hash FROM pg_wallet.api_credentials$$, '42501',
	'permission denied for table api_credentials',
	'wallet_api: API key and secret hashes cannot be read (42501)');
SELECT throws_ok($$SELECT secret FROM pg_wallet.totp_secrets$$, '42501',
	'permission denied for table totp_secrets',
	'wallet_api: TOTP secrets cannot be read (42501)');
SELECT throws_ok($$SELECT * FROM pg_wallet.access_tokens$$, '42501',
	'permission denied for table access_tokens',
	'wallet_api: the jti registry cannot be read (42501)');
SELECT throws_ok($$UPDATE pg_wallet.access_tokens SET revoked_at = NULL$$, '42501',
	'permission denied for table access_tokens',
	'wallet_api: a revoked token cannot be un-revoked (42501)');
SELECT throws_ok($$UPDATE pg_wallet.principals SET role = 'admin'$$, '42501',
	'permission denied for table principals',
	'wallet_api: a principal cannot be made admin by UPDATE (42501)');
SELECT throws_ok($$INSERT INTO pg_wallet.jwt_signing_keys (kid, secret, status)
	VALUES ('mine', '\x00000000000000000000000000000000000000000000000000000000000000ff',
		'ACTIVE')$$,
	'42501', 'permission denied for table jwt_signing_keys',
	'wallet_api: a signing key of its own cannot be planted (42501)');
SELECT throws_ok($$DELETE FROM pg_wallet.otp_challenges$$, '42501',
	'permission denied for table otp_challenges',
	'wallet_api: OTP attempt counters cannot be reset by DELETE (42501)');
SELECT throws_ok($$UPDATE pg_wallet.principals SET failed_logins = 0, locked_until = NULL$$,
	'42501', 'permission denied for table principals',
	'wallet_api: a login lock cannot be lifted by UPDATE (42501)');

-- internal and operator functions are refused
SELECT throws_ok(format('SELECT pg_wallet.test_otp_code(%L, ''withdrawal'')', :'tina'), '42501',
	'permission denied for function test_otp_code',
	'wallet_api: the OTP test hook is refused (42501)');
SELECT throws_ok($$SELECT pg_wallet._jwt_signing_key()$$, '42501',
	'permission denied for function _jwt_signing_key',
	'wallet_api: the signing-key function is refused (42501)');
SELECT throws_ok($$SELECT pg_wallet._jwt_issue(gen_random_uuid(), 'admin', 'x', gen_random_uuid(),
	3600)$$,
	'42501', 'permission denied for function _jwt_issue',
	'wallet_api: minting a token directly is refused (42501)');
SELECT throws_ok(format('SELECT pg_wallet.consume_verification_token(%L, ''withdrawal'', %L)',
	:'tina', :'vt'),
	'42501', 'permission denied for function consume_verification_token',
	'wallet_api: consume_verification_token (used inside the extension) is refused (42501)');
SELECT throws_ok($$SELECT pg_wallet.create_principal('admin', 'evil@pgtap.example.com',
	'EvilPass1')$$,
	'42501', 'permission denied for function create_principal',
	'wallet_api: creating an admin is refused (42501)');
SELECT throws_ok($$SELECT pg_wallet.rotate_signing_key()$$, '42501',
	'permission denied for function rotate_signing_key',
	'wallet_api: rotating keys is refused (42501)');
SELECT is(
	pg_temp.auth_calls_not_refused(ARRAY[
		'pg_wallet.register_user(text,text,text,text,text,date,text)',
		'pg_wallet.login(text,text,text)', 'pg_wallet.login_client(text,text,text)',
		'pg_wallet.authorize_api_key(text,text,text)', 'pg_wallet.refresh_session(text)',
		'pg_wallet.authenticate(text,text[],text)', 'pg_wallet.logout(text,uuid)',
		'pg_wallet.get_principal(text)', 'pg_wallet.change_password(text,text,text)',
		'pg_wallet.verification_request(text,text,text)',
		'pg_wallet.verify_otp(text,text,text)', 'pg_wallet.verify_totp(text,text,text)',
		'pg_wallet.totp_enroll(text)', 'pg_wallet.totp_confirm(text,text)',
		'pg_wallet.totp_disable(text,text)', 'pg_wallet.kyc_status(text,text)',
		'pg_wallet.kyc_submit_document(text,text,text,text,jsonb)',
		'pg_wallet.kyc_review(text,uuid,text,integer,text,text)',
		'pg_wallet.kyc_pending_reviews(text,integer,bigint)']::regprocedure[]),
	'{}'::text[],
	'wallet_api: a call of every pg_wallet function it was not granted is refused with 42501');

-- the clock, the lifetimes and the test hooks cannot be changed by the API role
SELECT throws_ok($$SET pg_wallet.test_now_offset_s = 999999$$, '42501', NULL,
	'wallet_api: SET pg_wallet.test_now_offset_s is refused (42501)');
SELECT throws_ok($$SET pg_wallet.enable_test_hooks = on$$, '42501', NULL,
	'wallet_api: SET pg_wallet.enable_test_hooks is refused (42501)');
SELECT throws_ok($$SELECT set_config('pg_wallet.jwt_lifetime_s', '2592000', false)$$, '42501', NULL,
	'wallet_api: set_config of pg_wallet.jwt_lifetime_s is refused (42501)');
SELECT throws_ok($$SET pg_wallet.max_failed_logins = 100$$, '42501', NULL,
	'wallet_api: SET pg_wallet.max_failed_logins is refused (42501)');

-- ---------------------------------------------------------------------------------------
-- Behaviour: what wallet_api was granted works, through the SECURITY DEFINER functions
-- ---------------------------------------------------------------------------------------
SELECT is((pg_wallet.login('tina@pgtap.example.com', 'TinaPass1')).status, 'OK',
	'wallet_api: login() works');
SELECT is((pg_wallet.login('tina@pgtap.example.com', 'wrong-pass-1')).sqlstate, 'WL020',
	'wallet_api: a wrong password is refused with WL020');
SELECT is((pg_wallet.authenticate(:'tok')).role, 'user', 'wallet_api: authenticate() works');
SELECT is((pg_wallet.get_principal(:'tok')).email, 'tina@pgtap.example.com',
	'wallet_api: get_principal() works');
SELECT throws_ok(format('SELECT pg_wallet.authenticate(%L, ARRAY[''admin''])', :'tok'), 'WL031',
	NULL,
	'wallet_api: authenticate() with a role the caller lacks is WL031');
SELECT is((pg_wallet.register_user('tom@pgtap.example.com', 'TomPass12', 'Tom', 'Tap',
	'0799000222')).kyc_status, 'PENDING', 'wallet_api: register_user() works');
SELECT is((pg_wallet.verification_request(:'tok', 'otp_sms', 'withdrawal')).recipient,
	'+2547****111', 'wallet_api: verification_request() works and shows a masked number');
SELECT is((pg_wallet.verify_otp(:'tok', '000000', 'withdrawal')).attempts_remaining, 4,
	'wallet_api: a wrong OTP is counted');
SELECT is((pg_wallet.authorize_api_key(:'key', :'secret')).status, 'OK',
	'wallet_api: authorize_api_key() works');
SELECT is((pg_wallet.refresh_session(:'rt')).status, 'OK', 'wallet_api: refresh_session() works');
SELECT is((pg_wallet.kyc_status(:'tok')) ->> 'kycStatus', 'PENDING',
	'wallet_api: kyc_status() works');
SELECT is(pg_wallet.logout(:'tok'), true, 'wallet_api: logout() works');
SELECT throws_ok(format('SELECT pg_wallet.authenticate(%L)', :'tok'), 'WL025', NULL,
	'wallet_api: the logged-out token is refused with WL025');

RESET ROLE;

-- ---------------------------------------------------------------------------------------
-- The superuser too needs the test hooks turned on to read a code
-- ---------------------------------------------------------------------------------------
SELECT throws_ok(format('SELECT pg_wallet.test_otp_code(%L, ''withdrawal'')', :'tina'), '42501',
	'test hooks are disabled', 'superuser: test_otp_code() raises while the hooks are off');
SET LOCAL pg_wallet.enable_test_hooks = on;
SELECT matches(pg_wallet.test_otp_code(:'tina', 'withdrawal'), '^[0-9]{6}$',
	'superuser: with pg_wallet.enable_test_hooks on, the hook returns the code');

-- the refused attempts above left their trace (returned, not raised, so committed)
SELECT is((SELECT attempts FROM pg_wallet.otp_challenges WHERE principal_id = :'tina'
           ORDER BY id DESC LIMIT 1), 1, 'the wrong OTP made by wallet_api was counted');
SELECT is((SELECT failed_logins FROM pg_wallet.principals WHERE id = :'tina'), 1,
	'the wrong password given by wallet_api was counted');

SELECT * FROM finish();
ROLLBACK;
