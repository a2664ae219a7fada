-- authenticate() keeps the verification key of a kid per backend (src/identity/auth_jwt.c)
-- and proves it current in its one statement (src/identity/auth_authenticate.c). Every case
-- here first makes a call succeed in this session (so the key is cached and the plans are
-- kept), then changes one thing, and the very next call must be refused, through the API
-- (api_waas_get_balance) as through authenticate() itself: the key's row gone, retired
-- (verify_until past), or holding another secret; the token revoked, its session revoked,
-- expired; the principal suspended; a token of another API; another tenant's account.
-- Each case then puts things back and the call succeeds again. Tokens are never printed.

-- one API read: 'ok <balance>' or "SQLSTATE: message"
CREATE FUNCTION read25(tok text, acct text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r jsonb;
BEGIN
	r := pg_wallet.api_waas_get_balance(tok, jsonb_build_object('path',
		jsonb_build_object('id', acct)));
	RETURN 'ok ' || (r ->> 'balance');
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- authenticate() with the WaaS audience and roles: 'ok <role>' or "SQLSTATE: message"
CREATE FUNCTION auth25(tok text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN 'ok ' || (pg_wallet.authenticate(tok, ARRAY['client', 'admin'], 'waas')).role;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- tenants T1 and T2, each with a client and a funded account
SELECT owner_id AS t1 FROM pg_wallet.create_principal('client', username => 'tenant25a',
	password => 'Secret123') \gset
SELECT owner_id AS t2 FROM pg_wallet.create_principal('client', username => 'tenant25b',
	password => 'Secret123') \gset
SELECT pg_wallet.create_owner('client', 'Client 25A', 'waas:C25A',
	jsonb_build_object('waas', jsonb_build_object('tenant_owner_id', :t1))) AS c1 \gset
SELECT pg_wallet.create_owner('client', 'Client 25B', 'waas:C25B',
	jsonb_build_object('waas', jsonb_build_object('tenant_owner_id', :t2))) AS c2 \gset
SELECT pg_wallet.create_owner('partner', 'Bank 25') AS bank \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:bank, 'KES', 'SETTLEMENT', 'K25-BANK', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:c1, 'KES', 'WALLET', 'K25-A')
	UNION ALL SELECT pg_wallet.create_account(:c2, 'KES', 'WALLET', 'K25-B')) a;
SELECT status FROM pg_wallet.credit('K25-A', 25, 'K25-BANK');
SELECT status FROM pg_wallet.credit('K25-B', 7, 'K25-BANK');
SELECT access_token AS tok1, token_id AS jti1, session_id AS sid1
FROM pg_wallet.login_client('tenant25a', 'Secret123', 'waas') \gset
SELECT access_token AS tok2 FROM pg_wallet.login_client('tenant25b', 'Secret123', 'waas') \gset
SELECT kid AS kid FROM pg_wallet.jwt_signing_keys WHERE status = 'ACTIVE' \gset

-- the calls succeed, twice (the second with the cached key and the kept plans)
SELECT read25(:'tok1', 'K25-A') AS first, read25(:'tok1', 'K25-A') AS again,
	read25(:'tok2', 'K25-B') AS tenant2;

-- ---------------------------------------------------------------------------------------
-- the cached key
-- ---------------------------------------------------------------------------------------
-- retired under the cache: its verify_until moved to the past
UPDATE pg_wallet.jwt_signing_keys SET verify_until = now() - interval '1 second'
WHERE kid = :'kid';
SELECT read25(:'tok1', 'K25-A') AS key_retired, auth25(:'tok1') AS authenticate;
UPDATE pg_wallet.jwt_signing_keys SET verify_until = NULL WHERE kid = :'kid';
SELECT read25(:'tok1', 'K25-A') AS key_back;

-- another secret under the same kid: the cached key is not the table's, the token's
-- signature does not verify with the table's
SELECT secret AS old_secret FROM pg_wallet.jwt_signing_keys WHERE kid = :'kid' \gset
UPDATE pg_wallet.jwt_signing_keys SET secret = pg_wallet._random_bytes(32) WHERE kid = :'kid';
SELECT read25(:'tok1', 'K25-A') AS key_replaced, auth25(:'tok2') AS authenticate;
-- a token signed with the new secret verifies (the cache took the table's key)
SELECT access_token AS tok3 FROM pg_wallet.login_client('tenant25a', 'Secret123', 'waas') \gset
SELECT read25(:'tok3', 'K25-A') AS new_key_token;
UPDATE pg_wallet.jwt_signing_keys SET secret = :'old_secret' WHERE kid = :'kid';
SELECT read25(:'tok1', 'K25-A') AS old_key_back, read25(:'tok3', 'K25-A') AS new_token_now;

-- the key's row gone (a compromised key deleted by an operator)
SELECT read25(:'tok1', 'K25-A') AS cached_again;
CREATE TEMP TABLE key25 AS SELECT * FROM pg_wallet.jwt_signing_keys WHERE kid = :'kid';
DELETE FROM pg_wallet.jwt_signing_keys WHERE kid = :'kid';
SELECT read25(:'tok1', 'K25-A') AS key_deleted, auth25(:'tok2') AS authenticate;
INSERT INTO pg_wallet.jwt_signing_keys SELECT * FROM key25;
SELECT read25(:'tok1', 'K25-A') AS key_restored;

-- rolled back: a change the call's snapshot does not see is not taken for the table's
BEGIN;
DELETE FROM pg_wallet.jwt_signing_keys WHERE kid = :'kid';
SELECT read25(:'tok1', 'K25-A') AS deleted_in_this_transaction;
ROLLBACK;
SELECT read25(:'tok1', 'K25-A') AS after_rollback;

-- ---------------------------------------------------------------------------------------
-- the token, its session, its principal, its audience, the tenant: refused on the next call
-- ---------------------------------------------------------------------------------------
UPDATE pg_wallet.access_tokens SET revoked_at = now() WHERE jti = :'jti1';
SELECT read25(:'tok1', 'K25-A') AS token_revoked;
UPDATE pg_wallet.access_tokens SET revoked_at = NULL WHERE jti = :'jti1';
SELECT read25(:'tok1', 'K25-A') AS token_back;

UPDATE pg_wallet.auth_sessions SET revoked_at = now() WHERE id = :'sid1';
SELECT read25(:'tok1', 'K25-A') AS session_revoked;
UPDATE pg_wallet.auth_sessions SET revoked_at = NULL WHERE id = :'sid1';
SELECT read25(:'tok1', 'K25-A') AS session_back;

-- the registry row of the jti gone (purged) is a revoked token
CREATE TEMP TABLE tok25 AS SELECT * FROM pg_wallet.access_tokens WHERE jti = :'jti1';
DELETE FROM pg_wallet.access_tokens WHERE jti = :'jti1';
SELECT read25(:'tok1', 'K25-A') AS jti_unknown;
INSERT INTO pg_wallet.access_tokens SELECT * FROM tok25;
SELECT read25(:'tok1', 'K25-A') AS jti_back;

UPDATE pg_wallet.principals SET status = 'SUSPENDED' WHERE username = 'tenant25a';
SELECT read25(:'tok1', 'K25-A') AS principal_suspended;
UPDATE pg_wallet.principals SET status = 'CLOSED' WHERE username = 'tenant25a';
SELECT read25(:'tok1', 'K25-A') AS principal_closed;
UPDATE pg_wallet.principals SET status = 'ACTIVE' WHERE username = 'tenant25a';
SELECT read25(:'tok1', 'K25-A') AS principal_back;

-- expired (the auth clock moved past exp; the key is current: WL024)
SET pg_wallet.test_now_offset_s = 90000;
SELECT read25(:'tok1', 'K25-A') AS expired;
RESET pg_wallet.test_now_offset_s;
SELECT read25(:'tok1', 'K25-A') AS not_expired;

-- another tenant's account, and a token of another API
SELECT read25(:'tok1', 'K25-B') AS other_tenant, read25(:'tok2', 'K25-A') AS other_tenant_2;
SELECT access_token AS tok_sp FROM pg_wallet.login_client('tenant25a', 'Secret123',
	'sellapay') \gset
SELECT read25(:'tok_sp', 'K25-A') AS sellapay_token;

-- a logout through the API functions, then the next read
SELECT pg_wallet.logout(:'tok1') AS logged_out;
SELECT read25(:'tok1', 'K25-A') AS after_logout, read25(:'tok2', 'K25-B') AS other_session;

-- the role list: more than 8 is refused, a NULL element matches nothing
SELECT err(format('SELECT pg_wallet.authenticate(%L, ARRAY[''a'',''b'',''c'',''d'',''e'',''f'',''g'',''h'',''client''])',
	:'tok2')) AS nine_roles;
SELECT err(format('SELECT pg_wallet.authenticate(%L, ARRAY[NULL, ''user''])', :'tok2'))
	AS null_role;
SELECT err(format('SELECT pg_wallet.authenticate(%L, ARRAY[]::text[])', :'tok2')) AS no_role;

SELECT ledger_ok();
