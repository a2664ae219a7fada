-- Principals and tokens: registration and its validation, login, authenticate() and every
-- way a token can be refused (missing, malformed, algorithm, key, signature, expired,
-- revoked, role), logout, refresh-token rotation and reuse detection, lockout, suspension,
-- key rotation, API keys (Sellapay), WaaS clients, password change.
-- Tokens, hashes and times are never printed: their shape and the outcome are.
-- Expiry is tested by moving the auth clock (pg_wallet.test_now_offset_s), not by sleeping.

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
-- segment n of a JWT as jsonb
CREATE FUNCTION jwt_part(tok text, n int) RETURNS jsonb LANGUAGE sql AS $$
	SELECT convert_from(pg_wallet.base64url_decode(split_part(tok, '.', n)), 'UTF8')::jsonb
$$;
-- a token with any header and payload, signed with any key
CREATE FUNCTION jwt_forge(header text, payload text, key bytea) RETURNS text LANGUAGE sql AS $$
	SELECT b64 || '.' || pg_wallet.hs256_sign(key, b64)
	FROM (SELECT pg_wallet.base64url_encode(convert_to(header, 'UTF8')) || '.'
	             || pg_wallet.base64url_encode(convert_to(payload, 'UTF8')) AS b64) s
$$;
-- authenticate() as one line: role, profile, email or the error
CREATE FUNCTION whoami(tok text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	a pg_wallet.auth_principal;
BEGIN
	a := pg_wallet.authenticate(tok);
	RETURN format('%s %s %s', a.role, a.profile, coalesce(a.email, a.username));
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Registration (Tribble POST /auth/register)
-- ---------------------------------------------------------------------------------------
SELECT principal_id AS alice, owner_id AS alice_owner
FROM pg_wallet.register_user('  Alice.Flows@Example.COM ', 'Secret123', 'Alice', 'Flows',
	'0712 345-678', '1990-01-15', 'individual') \gset
SELECT role, status, email, username, first_name, last_name, phone_number, date_of_birth,
	account_type, kyc_status, kyc_tier, email_verified, phone_verified, totp_enabled,
	last_login_at IS NULL AS never_logged_in
FROM pg_wallet.get_principal_by_id(:'alice');
-- the principal is a ledger owner: accounts can be opened for it
SELECT kind, name, external_ref = 'principal:' || :'alice' AS ref_ok
FROM pg_wallet.owners WHERE id = :alice_owner;
SELECT (pg_wallet.create_account(:alice_owner, 'KES', 'WALLET', 'FLOWS-ALICE-KES')).owner_id
	= :alice_owner AS account_opened;
-- the password is stored as an scrypt hash only
SELECT hash ~ '^scrypt\$16384\$8\$5\$' AS scrypt, position('Secret123' IN hash) = 0 AS no_plaintext
FROM pg_wallet.principal_passwords WHERE principal_id = :'alice';

-- duplicates (case-insensitive), invalid fields, missing fields
SELECT auth_err($$SELECT pg_wallet.register_user('ALICE.flows@example.com', 'Secret123', 'A', 'B',
	'0712345679')$$);
SELECT e AS email, auth_err(format($$SELECT pg_wallet.register_user(%L, 'Secret123', 'A', 'B',
	'0712345679')$$, e))
FROM unnest(ARRAY['no-at-sign', 'a@b', 'a@@flows.example.com', 'a b@flows.example.com',
                  '.a@flows.example.com', 'a..b@flows.example.com', 'a@-flows.example.com',
                  repeat('x', 65) || '@flows.example.com', '']) e;
SELECT pw AS password, auth_err(format($$SELECT pg_wallet.register_user('weak@flows.example.com',
	%L, 'A', 'B', '0712345679')$$, pw))
FROM unnest(ARRAY['short1', 'onlyletters', '1234567890']) pw;
SELECT auth_err($$SELECT pg_wallet.register_user('weak@flows.example.com', NULL, 'A', 'B',
	'0712345679')$$);
SELECT auth_err($$SELECT pg_wallet.register_user('weak@flows.example.com', 'Secret123', NULL, 'B',
	'0712345679')$$);
SELECT auth_err($$SELECT pg_wallet.register_user('weak@flows.example.com', 'Secret123', 'A', '  ',
	'0712345679')$$);
SELECT auth_err($$SELECT pg_wallet.register_user('weak@flows.example.com', 'Secret123', 'A', 'B',
	NULL)$$);
SELECT auth_err(format($$SELECT pg_wallet.register_user('weak@flows.example.com', 'Secret123', %L,
	'B', '0712345679')$$, repeat('n', 81)));
SELECT auth_err($$SELECT pg_wallet.register_user('weak@flows.example.com', 'Secret123', E'A\nB',
	'B', '0712345679')$$);
SELECT auth_err($$SELECT pg_wallet.register_user('weak@flows.example.com', 'Secret123', 'A', 'B',
	'0712345679', '2999-01-01')$$);
SELECT auth_err($$SELECT pg_wallet.register_user('weak@flows.example.com', 'Secret123', 'A', 'B',
	'0712345679', NULL, 'corporate')$$);
SELECT count(*) AS nothing_created FROM pg_wallet.principals WHERE email = 'weak@flows.example.com';

-- phone numbers: E.164; Kenyan local forms normalised
SELECT p AS input, auth_err(format('SELECT pg_wallet._normalize_phone(%L)', p)) AS refused,
	CASE WHEN auth_err(format('SELECT pg_wallet._normalize_phone(%L)', p)) = 'no error'
	     THEN pg_wallet._normalize_phone(p) END AS e164
FROM unnest(ARRAY['+254712345678', '0712345678', '712345678', '254712345678', '0112345678',
                  '112345678', '+254 712 345 678', '(0712) 345-678', '00254712345678',
                  '+234801234567', '+14155550123', '0812345678', '+25471234567',
                  '+2547123456789', '12345', '+0123456789', '07123456789', 'phone',
                  repeat('7', 40)]) p;

-- ---------------------------------------------------------------------------------------
-- Login (Tribble POST /auth/login) and the token it issues
-- ---------------------------------------------------------------------------------------
SELECT status, sqlstate, message, token_type, expires_in, refresh_expires_in,
	access_token ~ '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$' AS jwt_shape,
	refresh_token ~ '^rt_[A-Za-z0-9_-]{43}$' AS refresh_shape,
	principal_id = :'alice' AS same_principal, role, email, first_name, kyc_status, kyc_tier
FROM pg_wallet.login('ALICE.FLOWS@example.com', 'Secret123');
SELECT access_token AS tok, refresh_token AS rt, token_id AS jti
FROM pg_wallet.login('alice.flows@example.com', 'Secret123') \gset
-- header {"alg":"HS256","typ":"JWT","kid":...}; claims iss sub aud role sid jti iat exp
SELECT jwt_part(:'tok', 1) ->> 'alg' AS alg, jwt_part(:'tok', 1) ->> 'typ' AS typ,
	jwt_part(:'tok', 1) ->> 'kid' ~ '^k[0-9]{8}-[A-Za-z0-9_-]{8}$' AS kid_shape,
	(SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(jwt_part(:'tok', 2)) k) AS claims;
SELECT c ->> 'iss' AS iss, c ->> 'aud' AS aud, c ->> 'role' AS role,
	c ->> 'sub' = :'alice' AS sub_ok,
	c ->> 'jti' = :'jti' AS jti_ok, (c ->> 'exp')::bigint - (c ->> 'iat')::bigint AS lifetime_s
FROM jwt_part(:'tok', 2) c;
SELECT last_login_at IS NOT NULL AS logged_in FROM pg_wallet.get_principal_by_id(:'alice');
SELECT role, email, kyc_status FROM pg_wallet.get_principal(:'tok');

-- wrong password and unknown email answer the same; nothing is raised, so counters stick
SELECT status, sqlstate, message, access_token IS NULL AS no_token
FROM pg_wallet.login('alice.flows@example.com', 'Secret124');
SELECT status, sqlstate, message FROM pg_wallet.login('nobody@flows.example.com', 'Secret123');
SELECT status, sqlstate, message FROM pg_wallet.login('alice.flows@example.com', repeat('x', 200));
SELECT status, sqlstate, message FROM pg_wallet.login(repeat('x', 400), 'Secret123');
SELECT auth_err($$SELECT pg_wallet.login(NULL, 'Secret123')$$);
SELECT auth_err($$SELECT pg_wallet.login('alice.flows@example.com', '')$$);
SELECT auth_err($$SELECT pg_wallet.login('alice.flows@example.com', 'Secret123', 'Bad Profile')$$);
SELECT failed_logins FROM pg_wallet.principals WHERE id = :'alice';

-- ---------------------------------------------------------------------------------------
-- authenticate(): the principal, or the precise error
-- ---------------------------------------------------------------------------------------
SELECT principal_id = :'alice' AS who, role, owner_id = :alice_owner AS owner_ok, email, status,
	kyc_status, kyc_tier, token_id = :'jti' AS jti_ok, session_id IS NOT NULL AS has_session,
	profile, token_expires_at > now() AS not_expired
FROM pg_wallet.authenticate(:'tok');
SELECT whoami('Bearer ' || :'tok') AS bearer_prefix, whoami('  bearer ' || :'tok' || ' ') AS blanks;
SELECT role FROM pg_wallet.authenticate(:'tok', ARRAY['user', 'merchant']);
SELECT auth_err(format('SELECT pg_wallet.authenticate(%L, ARRAY[''admin''])', :'tok'));
SELECT auth_err(format('SELECT pg_wallet.authenticate(%L, %L::text[])', :'tok',
	ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']));
-- missing and malformed
SELECT whoami(NULL) AS null_token, whoami('') AS empty, whoami('Bearer ') AS bearer_only;
SELECT t AS token, whoami(t) FROM unnest(ARRAY['garbage', 'a.b', 'a.b.c.d', '.b.c', 'a..c',
	'e30.e30.', '!!!.e30.AAAA', 'bm90IGpzb24.e30.AAAA', 'WyJhcnJheSJd.e30.AAAA']) t;
SELECT auth_err(format('SELECT pg_wallet._jwt_verify(%L)', 'a.b.c'));
SELECT whoami(repeat('A', 5000)) AS too_long;
-- the header decides before any key is used: only HS256, a kid, no crit, typ JWT
SELECT h AS header, whoami(jwt_forge(h, '{}', '\x00')) FROM unnest(ARRAY[
	'{"alg":"none","typ":"JWT","kid":"k"}', '{"alg":"HS512","kid":"k"}',
	'{"alg":"RS256","kid":"k"}', '{"typ":"JWT","kid":"k"}', '{"alg":"hs256","kid":"k"}',
	'{"alg":"HS256"}', '{"alg":"HS256","kid":""}', '{"alg":"HS256","kid":7}',
	'{"alg":"HS256","kid":"k","crit":["exp"]}', '{"alg":"HS256","kid":"k","typ":"JOSE+JSON"}',
	'{"alg":"HS256","alg":"none","kid":"k"}', '{"alg":"HS256","kid":"k\u00e9"}',
	'{"alg":"HS256","kid":"k\"; DROP TABLE x"}', '{"alg":"HS256","kid":"no-such-key"}']) h;
-- alg "none" with no signature at all
SELECT whoami(pg_wallet.base64url_encode(convert_to('{"alg":"none","kid":"k"}', 'UTF8')) || '.'
	|| split_part(:'tok', '.', 2) || '.') AS alg_none_unsigned;
-- signature: a real header and payload with a signature by another key, or a swapped payload
SELECT whoami(split_part(:'tok', '.', 1) || '.' || split_part(:'tok', '.', 2) || '.'
	|| pg_wallet.hs256_sign('\x0001', split_part(:'tok', '.', 1) || '.'
	                                   || split_part(:'tok', '.', 2))) AS other_key;
SELECT whoami(split_part(:'tok', '.', 1) || '.'
	|| pg_wallet.base64url_encode(convert_to(replace(jwt_part(:'tok', 2)::text, '"user"',
		'"admin"'), 'UTF8'))
	|| '.' || split_part(:'tok', '.', 3)) AS role_escalation;
SELECT whoami(split_part(:'tok', '.', 1) || '.' || split_part(:'tok', '.', 2) || '.'
	|| CASE WHEN left(split_part(:'tok', '.', 3), 1) = 'A' THEN 'B' ELSE 'A' END
	|| substr(split_part(:'tok', '.', 3), 2)) AS altered_signature;
-- claims, with the real key (a superuser can read it; no API role can): what a key holder
-- could forge is still checked against the jti registry, and the role comes from the table
SELECT secret AS key FROM pg_wallet.jwt_signing_keys WHERE status = 'ACTIVE' \gset
SELECT jwt_part(:'tok', 1)::text AS hdr \gset
SELECT whoami(jwt_forge(:'hdr', (jwt_part(:'tok', 2)
	|| '{"exp": 1000000000, "iat": 999999000}')::text, :'key')) AS expired,
	whoami(jwt_forge(:'hdr', (jwt_part(:'tok', 2) - 'jti')::text, :'key')) AS no_jti,
	whoami(jwt_forge(:'hdr', (jwt_part(:'tok', 2) || '{"iss": "someone"}')::text,
		:'key')) AS other_issuer,
	whoami(jwt_forge(:'hdr', (jwt_part(:'tok', 2) || '{"exp": "later"}')::text,
		:'key')) AS text_exp,
	whoami(jwt_forge(:'hdr', (jwt_part(:'tok', 2) || '{"exp": 99999999999.5}')::text,
		:'key')) AS fractional_exp;
SELECT whoami(jwt_forge(:'hdr', (jwt_part(:'tok', 2) || jsonb_build_object('jti',
	gen_random_uuid()))::text, :'key')) AS unregistered_jti,
	whoami(jwt_forge(:'hdr', (jwt_part(:'tok', 2) || '{"role": "admin"}')::text,
		:'key')) AS forged_role_claim,
	whoami(jwt_forge(:'hdr', (jwt_part(:'tok', 2) || jsonb_build_object('sid',
		gen_random_uuid()))::text, :'key')) AS other_session,
	whoami(jwt_forge(:'hdr', '[1, 2]', :'key')) AS payload_not_object;
-- expiry, by the auth clock: valid until exp, not at exp. The offset is computed from exp and
-- now() in one transaction (now() is the transaction's start, so it cannot drift).
BEGIN;
SELECT set_config('pg_wallet.test_now_offset_s',
	((jwt_part(:'tok', 2) ->> 'exp')::bigint - floor(extract(epoch FROM now()))::bigint - 1)::text,
	true) IS NOT NULL AS clock_set;
SELECT whoami(:'tok') AS one_second_before_expiry;
SELECT set_config('pg_wallet.test_now_offset_s',
	((jwt_part(:'tok', 2) ->> 'exp')::bigint - floor(extract(epoch FROM now()))::bigint)::text,
	true) IS NOT NULL AS clock_set;
SELECT whoami(:'tok') AS at_expiry;
COMMIT;
-- issued in the future (clock skew beyond 60 s)
SET pg_wallet.test_now_offset_s = 3600;
SELECT access_token AS future_tok FROM pg_wallet.login('alice.flows@example.com', 'Secret123') \gset
RESET pg_wallet.test_now_offset_s;
SELECT auth_err(format('SELECT pg_wallet.authenticate(%L)', :'future_tok')) AS issued_in_the_future;

-- ---------------------------------------------------------------------------------------
-- Logout revokes the session: its access tokens and its refresh tokens
-- ---------------------------------------------------------------------------------------
SELECT access_token AS tok2, refresh_token AS rt2 FROM pg_wallet.login('alice.flows@example.com',
	'Secret123') \gset
SELECT pg_wallet.logout(:'tok2') AS logged_out;
SELECT whoami(:'tok2') AS after_logout, whoami(:'tok') AS other_session_unaffected;
SELECT status, sqlstate, message FROM pg_wallet.refresh_session(:'rt2');
SELECT auth_err(format('SELECT pg_wallet.logout(%L)', :'tok2'));
-- logout of one of the caller's tokens by its id (Tribble's tokenId), not someone else's
SELECT access_token AS tok3, token_id AS jti3 FROM pg_wallet.login('alice.flows@example.com',
	'Secret123') \gset
SELECT pg_wallet.logout(:'tok', :'jti3') AS logged_out_by_id;
SELECT whoami(:'tok3') AS tok3_revoked, whoami(:'tok') AS tok_still_valid;
SELECT auth_err(format('SELECT pg_wallet.logout(%L, %L)', :'tok', gen_random_uuid()));

-- ---------------------------------------------------------------------------------------
-- Refresh tokens: single use, rotated; reuse revokes the whole session
-- ---------------------------------------------------------------------------------------
SELECT access_token AS a1, refresh_token AS r1 FROM pg_wallet.login('alice.flows@example.com',
	'Secret123') \gset
SELECT status, sqlstate, expires_in, refresh_expires_in,
	access_token <> :'a1' AS new_access, refresh_token <> :'r1' AS new_refresh,
	refresh_token ~ '^rt_[A-Za-z0-9_-]{43}$' AS refresh_shape
FROM pg_wallet.refresh_session(:'r1');
SELECT access_token AS a2, refresh_token AS r2 FROM pg_wallet.refresh_session(
	(SELECT refresh_token FROM pg_wallet.login('alice.flows@example.com', 'Secret123'))) \gset
SELECT status, refresh_token AS r3 FROM pg_wallet.refresh_session(:'r2') \gset
SELECT :'status' AS rotated;
SELECT whoami(:'a2') AS a2_same_session_still_valid;
-- r2 again: it was used; whoever holds it now is not the client, so the session dies
SELECT status, sqlstate, message FROM pg_wallet.refresh_session(:'r2');
SELECT status, sqlstate, message FROM pg_wallet.refresh_session(:'r3');
SELECT whoami(:'a2') AS a2_after_reuse;
SELECT revoke_reason FROM pg_wallet.auth_sessions
WHERE id = (pg_wallet._jwt_verify(:'a2')).sid;
SELECT count(*) FILTER (WHERE r.status = 'USED') AS used,
	count(*) FILTER (WHERE r.status = 'REVOKED') AS revoked,
	count(*) FILTER (WHERE r.status = 'ACTIVE') AS active
FROM pg_wallet.refresh_tokens r WHERE r.session_id = (pg_wallet._jwt_verify(:'a2')).sid;
-- malformed, unknown, missing
SELECT status, sqlstate, message FROM pg_wallet.refresh_session('garbage');
SELECT status, sqlstate, message FROM pg_wallet.refresh_session('rt_' || repeat('A', 43));
SELECT status, sqlstate, message FROM pg_wallet.refresh_session(:'a1');
SELECT auth_err($$SELECT pg_wallet.refresh_session(NULL)$$);
-- expiry (30 days)
SELECT refresh_token AS r4 FROM pg_wallet.login('alice.flows@example.com', 'Secret123') \gset
SET pg_wallet.test_now_offset_s = 2592000;
SELECT status, sqlstate, message FROM pg_wallet.refresh_session(:'r4');
RESET pg_wallet.test_now_offset_s;
-- refresh tokens are stored as SHA-256 only
SELECT count(*) AS stored_by_hash FROM pg_wallet.refresh_tokens
WHERE token_hash = pg_wallet._secret_hash(:'r4');

-- ---------------------------------------------------------------------------------------
-- Lockout: 5 failures in a row lock for 15 minutes
-- ---------------------------------------------------------------------------------------
SELECT principal_id AS bob FROM pg_wallet.register_user('bob@flows.example.com', 'BobSecret1',
	'Bob', 'Flows', '+254700000002') \gset
SELECT access_token AS bob_tok FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1') \gset
SELECT i AS attempt, r.status, r.sqlstate, r.message, r.retry_after_s
FROM generate_series(1, 5) i, LATERAL pg_wallet.login('bob@flows.example.com', 'wrong' || i) r;
SELECT failed_logins, extract(epoch FROM locked_until - now()) BETWEEN 800 AND 900 AS locked_15_min
FROM pg_wallet.principals WHERE id = :'bob';
-- locked: even the right password is refused, without being checked
SELECT status, sqlstate, message, retry_after_s BETWEEN 800 AND 900 AS retry_after_ok
FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1');
-- a token issued before the lock still works (locking stops guessing, it is not a suspension)
SELECT whoami(:'bob_tok') AS existing_token;
-- one second before the lock ends, and at its end (offsets from locked_until in one transaction)
BEGIN;
SELECT set_config('pg_wallet.test_now_offset_s',
	(ceil(extract(epoch FROM locked_until - now()))::bigint - 1)::text,
		true) IS NOT NULL AS clock_set
FROM pg_wallet.principals WHERE id = :'bob';
SELECT status, sqlstate, message, retry_after_s FROM pg_wallet.login('bob@flows.example.com',
	'BobSecret1');
SELECT set_config('pg_wallet.test_now_offset_s',
	ceil(extract(epoch FROM locked_until - now()))::bigint::text, true) IS NOT NULL AS clock_set
FROM pg_wallet.principals WHERE id = :'bob';
SELECT status, sqlstate, message FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1');
COMMIT;
SELECT failed_logins, locked_until FROM pg_wallet.principals WHERE id = :'bob';
-- a success resets the count: 4 failures, a success, 4 failures: not locked
SELECT count(*) FILTER (WHERE r.sqlstate = 'WL020') AS refused
FROM generate_series(1, 4) i, LATERAL pg_wallet.login('bob@flows.example.com', 'wrong' || i) r;
SELECT status FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1');
SELECT count(*) FILTER (WHERE r.sqlstate = 'WL020') AS refused
FROM generate_series(1, 4) i, LATERAL pg_wallet.login('bob@flows.example.com', 'wrong' || i) r;
SELECT status FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1');
-- the count is configurable (superuser)
SET pg_wallet.max_failed_logins = 2;
SELECT i AS attempt, r.sqlstate, r.message
FROM generate_series(1, 2) i, LATERAL pg_wallet.login('bob@flows.example.com', 'wrong' || i) r;
RESET pg_wallet.max_failed_logins;
-- an operator lifts the lock by setting the principal ACTIVE
SELECT status FROM pg_wallet.set_principal_status(:'bob', 'ACTIVE');
SELECT status FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1');

-- ---------------------------------------------------------------------------------------
-- Suspension and closure revoke every session
-- ---------------------------------------------------------------------------------------
SELECT access_token AS bob_tok FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1') \gset
SELECT status FROM pg_wallet.set_principal_status(:'bob', 'SUSPENDED', 'fraud review');
SELECT whoami(:'bob_tok') AS suspended_token;
SELECT status, sqlstate, message FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1');
SELECT status, sqlstate, message FROM pg_wallet.login('bob@flows.example.com', 'wrong');
SELECT count(*) AS open_sessions FROM pg_wallet.auth_sessions
WHERE principal_id = :'bob' AND revoked_at IS NULL;
SELECT status FROM pg_wallet.set_principal_status(:'bob', 'ACTIVE');
SELECT access_token AS bob_tok FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1') \gset
-- a suspension done directly in the table (no session revocation) is still enforced
UPDATE pg_wallet.principals SET status = 'SUSPENDED' WHERE id = :'bob';
SELECT whoami(:'bob_tok') AS suspended_in_table;
UPDATE pg_wallet.principals SET status = 'ACTIVE' WHERE id = :'bob';
SELECT status FROM pg_wallet.set_principal_status(:'bob', 'CLOSED');
SELECT auth_err(format('SELECT pg_wallet.set_principal_status(%L, ''ACTIVE'')', :'bob'));
SELECT auth_err(format('SELECT pg_wallet.set_principal_status(%L, ''GONE'')', :'bob'));
SELECT auth_err(format('SELECT pg_wallet.set_principal_status(%L, ''ACTIVE'')', gen_random_uuid()));
SELECT status, sqlstate, message FROM pg_wallet.login('bob@flows.example.com', 'BobSecret1');
SELECT auth_err(format('SELECT pg_wallet.revoke_sessions(%L)', gen_random_uuid()));

-- ---------------------------------------------------------------------------------------
-- Signing-key rotation: old tokens verify until they expire
-- ---------------------------------------------------------------------------------------
SELECT access_token AS old_tok FROM pg_wallet.login('alice.flows@example.com', 'Secret123') \gset
SELECT pg_wallet.rotate_signing_key() AS new_kid \gset
SELECT access_token AS new_tok FROM pg_wallet.login('alice.flows@example.com', 'Secret123') \gset
SELECT jwt_part(:'new_tok', 1) ->> 'kid' = :'new_kid' AS new_key_signs,
	jwt_part(:'old_tok', 1) ->> 'kid' <> :'new_kid' AS old_key_differs,
	whoami(:'old_tok') AS old_token, whoami(:'new_tok') AS new_token;
SELECT count(*) FILTER (WHERE status = 'ACTIVE') AS active,
	count(*) FILTER (WHERE status = 'RETIRED' AND verify_until - retired_at = interval '86460 s')
		AS retired_until_its_tokens_expire
FROM pg_wallet.jwt_signing_keys;
-- past the retired key's verify_until, its tokens are refused by key (they are expired too)
SET pg_wallet.test_now_offset_s = 86461;
SELECT whoami(:'old_tok') AS old_token_later, whoami(:'new_tok') AS new_token_later;
-- a day later the purge drops expired tokens and the retired key (this also drops the
-- registry rows of tokens that are still valid in real time: the clock moved 2 days)
SET pg_wallet.test_now_offset_s = 172861;
SELECT pg_wallet.purge_expired_auth() > 0 AS purged;
SELECT count(*) AS retired_keys_left FROM pg_wallet.jwt_signing_keys WHERE status = 'RETIRED';
RESET pg_wallet.test_now_offset_s;

-- ---------------------------------------------------------------------------------------
-- API key and secret (Sellapay POST /authorize)
-- ---------------------------------------------------------------------------------------
SELECT principal_id AS shop, owner_id AS shop_owner
FROM pg_wallet.create_principal('merchant', 'shop@flows.example.com', first_name => 'Flows',
	last_name => 'Shop') \gset
SELECT kind FROM pg_wallet.owners WHERE id = :shop_owner;
SELECT credential_id AS cred, api_key AS key, api_secret AS secret, key_prefix
FROM pg_wallet.create_api_credential(:'shop', 'checkout') \gset
SELECT :'key' ~ '^pk_[A-Za-z0-9_-]{32}$' AS key_shape,
	:'secret' ~ '^sk_[A-Za-z0-9_-]{43}$' AS secret_shape,
	:'key_prefix' = left(:'key', 11) AS prefix_ok;
-- stored as hashes only
SELECT key_hash = pg_wallet._secret_hash(:'key') AS key_hashed,
	secret_hash = pg_wallet._secret_hash(:'secret') AS secret_hashed,
	position(:'secret' IN concat_ws('|', key_prefix, label, encode(key_hash, 'escape'),
	                                encode(secret_hash, 'escape'))) = 0 AS no_plaintext
FROM pg_wallet.api_credentials WHERE id = :cred;
SELECT status, sqlstate, message, token_type, expires_in, refresh_token IS NULL AS no_refresh,
	role, principal_id = :'shop' AS same_principal
FROM pg_wallet.authorize_api_key(:'key', :'secret');
SELECT access_token AS api_tok FROM pg_wallet.authorize_api_key(:'key', :'secret') \gset
SELECT whoami(:'api_tok') AS api_principal,
	(SELECT (c ->> 'exp')::bigint - (c ->> 'iat')::bigint FROM jwt_part(:'api_tok',
		2) c) AS lifetime_s;
SELECT status, sqlstate, message FROM pg_wallet.authorize_api_key(:'key', :'secret' || 'x');
SELECT status, sqlstate, message FROM pg_wallet.authorize_api_key(:'key', :'key');
SELECT status, sqlstate, message FROM pg_wallet.authorize_api_key('pk_unknown', :'secret');
SELECT status, sqlstate, message FROM pg_wallet.authorize_api_key(repeat('k', 300), :'secret');
SELECT auth_err($$SELECT pg_wallet.authorize_api_key(NULL, 'x')$$);
SELECT auth_err($$SELECT pg_wallet.authorize_api_key('x', '')$$);
SET pg_wallet.api_token_lifetime_s = 600;
SELECT expires_in FROM pg_wallet.authorize_api_key(:'key', :'secret');
RESET pg_wallet.api_token_lifetime_s;
SELECT last_used_at IS NOT NULL AS used FROM pg_wallet.api_credentials WHERE id = :cred;
-- revocation: the credential and every token issued for it
SELECT pg_wallet.revoke_api_credential(:cred) AS revoked,
	pg_wallet.revoke_api_credential(:cred) AS again;
SELECT whoami(:'api_tok') AS api_token_after_revoke;
SELECT status, sqlstate, message FROM pg_wallet.authorize_api_key(:'key', :'secret');
SELECT count(*) AS limit_ok FROM generate_series(1, 10) i,
	LATERAL pg_wallet.create_api_credential(:'shop', 'key ' || i) c;
SELECT auth_err(format('SELECT pg_wallet.create_api_credential(%L)', :'shop'));

-- ---------------------------------------------------------------------------------------
-- WaaS clients: username and password
-- ---------------------------------------------------------------------------------------
SELECT principal_id AS lipad, owner_id AS lipad_owner, role, username, email IS NULL AS no_email
FROM pg_wallet.create_principal('client', password => 'ClientPass1', username => 'LIPAD-Flows',
	first_name => 'Lipad') \gset
SELECT :'role' AS role, :'username' AS username, :'no_email' AS no_email;
SELECT kind, name FROM pg_wallet.owners WHERE id = :lipad_owner;
SELECT status, role, expires_in FROM pg_wallet.login_client('lipad-flows', 'ClientPass1');
SELECT whoami(access_token) FROM pg_wallet.login_client(' LIPAD-FLOWS ', 'ClientPass1');
SELECT status, sqlstate, message FROM pg_wallet.login_client('lipad-flows', 'ClientPass2');
SELECT status, sqlstate, message FROM pg_wallet.login_client('nobody-flows', 'ClientPass1');
SELECT auth_err($$SELECT pg_wallet.create_principal('client', username => 'LIPAD-flows',
	password => 'ClientPass1')$$);
SELECT auth_err($$SELECT pg_wallet.create_principal('client', username => 'x',
	password => 'ClientPass1')$$);
SELECT auth_err($$SELECT pg_wallet.create_principal('client', password => 'ClientPass1')$$);
SELECT auth_err($$SELECT pg_wallet.create_principal('superuser', 'su@flows.example.com')$$);
SELECT auth_err($$SELECT pg_wallet.create_principal('client', username => 'owned-flows',
	owner_id => -1)$$);
-- a principal linked to an existing owner (a merchant's staff member)
SELECT owner_id = :shop_owner AS shares_owner
FROM pg_wallet.create_principal('merchant', 'staff@flows.example.com', 'StaffPass1',
	owner_id => :shop_owner);

-- ---------------------------------------------------------------------------------------
-- Password change (Tribble POST /users/change-password)
-- ---------------------------------------------------------------------------------------
SELECT principal_id AS carol FROM pg_wallet.register_user('carol@flows.example.com', 'CarolPass1',
	'Carol', 'Flows', '0733000003') \gset
SELECT access_token AS carol_a FROM pg_wallet.login('carol@flows.example.com', 'CarolPass1') \gset
SELECT access_token AS carol_b FROM pg_wallet.login('carol@flows.example.com', 'CarolPass1') \gset
SELECT auth_err(format('SELECT pg_wallet.change_password(%L, ''CarolPass1'', ''weak'')',
	:'carol_a'));
SELECT * FROM pg_wallet.change_password(:'carol_a', 'WrongPass1', 'CarolPass2');
SELECT failed_logins FROM pg_wallet.principals WHERE id = :'carol';
SELECT * FROM pg_wallet.change_password(:'carol_a', 'CarolPass1', 'CarolPass2');
SELECT whoami(:'carol_a') AS this_session, whoami(:'carol_b') AS other_session;
SELECT status, sqlstate FROM pg_wallet.login('carol@flows.example.com', 'CarolPass1');
SELECT status, sqlstate FROM pg_wallet.login('carol@flows.example.com', 'CarolPass2');
SELECT auth_err($$SELECT pg_wallet.change_password(NULL, 'a', 'CarolPass3')$$);

-- old hashes are upgraded at login: plant a weaker hash, log in, find the current format
SELECT format('scrypt$1024$8$1$%s$%s',
	pg_wallet.base64url_encode('\x000102030405060708090a0b0c0d0e0f'),
	pg_wallet.base64url_encode(pg_wallet.scrypt(convert_to('CarolPass2', 'UTF8'),
		'\x000102030405060708090a0b0c0d0e0f', 1024, 8, 1, 32))) AS weak_hash \gset
UPDATE pg_wallet.principal_passwords SET hash = :'weak_hash' WHERE principal_id = :'carol';
SELECT status FROM pg_wallet.login('carol@flows.example.com', 'CarolPass2');
SELECT hash ~ '^scrypt\$16384\$8\$5\$' AS rehashed FROM pg_wallet.principal_passwords
WHERE principal_id = :'carol';
SELECT status FROM pg_wallet.login('carol@flows.example.com', 'CarolPass2');
