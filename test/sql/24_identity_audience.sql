-- authenticate(token, allowed_roles, expected_audience): a token is issued for one API (its
-- aud claim is the profile that issued it); with an expected audience, a token of another
-- API is refused with WL023 "access token was not issued for this API", after the token
-- itself is checked (revoked is still WL025) and before the role (WL031). NULL (the
-- default) checks nothing, as before. The API layer's _api_caller relies on it.
-- Tokens are never printed.

CREATE OR REPLACE FUNCTION aud_err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(d, '') || ')', '');
END
$$;

SELECT principal_id AS aud_user FROM pg_wallet.register_user('aud.user@example.com', 'Secret123',
	'Aud', 'User', '0712999024') \gset
SELECT access_token AS tok_tribble FROM pg_wallet.login('aud.user@example.com', 'Secret123') \gset
SELECT access_token AS tok_sellapay
FROM pg_wallet.login('aud.user@example.com', 'Secret123', 'sellapay') \gset

-- no expected audience: any API's token, as before (both signatures of the call)
SELECT profile FROM pg_wallet.authenticate(:'tok_tribble');
SELECT profile FROM pg_wallet.authenticate(:'tok_sellapay', ARRAY['user']);
SELECT profile FROM pg_wallet.authenticate(:'tok_sellapay', NULL, NULL);
-- the right audience
SELECT principal_id = :'aud_user' AS who, role, profile
FROM pg_wallet.authenticate(:'tok_sellapay', ARRAY['user', 'merchant'], 'sellapay');
SELECT profile FROM pg_wallet.authenticate(:'tok_tribble', expected_audience => 'tribble');
-- another API's token: WL023, naming both audiences
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, NULL, %L)', :'tok_tribble', 'sellapay'));
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, ARRAY[''user''], %L)', :'tok_sellapay',
	'waas'));
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, expected_audience => %L)',
	:'tok_sellapay', 'SELLAPAY')) AS case_matters;
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, expected_audience => %L)',
	:'tok_sellapay', '')) AS empty_audience;
-- the audience is checked before the role: a wrong API is WL023 even for a forbidden role
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, ARRAY[''admin''], %L)', :'tok_tribble',
	'waas')) AS wrong_api_and_role;
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, ARRAY[''admin''], %L)', :'tok_tribble',
	'tribble')) AS right_api_wrong_role;
-- and after the token itself: a malformed or revoked token keeps its own error
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, NULL, %L)', 'garbage', 'sellapay'))
	AS malformed;
SELECT pg_wallet.logout(:'tok_tribble') AS logged_out;
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, NULL, %L)', :'tok_tribble', 'sellapay'))
	AS revoked_other_api;
SELECT aud_err(format('SELECT pg_wallet.authenticate(%L, NULL, %L)', :'tok_tribble', 'tribble'))
	AS revoked_same_api;

-- the API layer: _api_caller(token, profile, roles) is authenticate(token, roles, profile)
SELECT role, profile FROM pg_wallet._api_caller(:'tok_sellapay', 'sellapay', ARRAY['user']);
SELECT aud_err(format('SELECT pg_wallet._api_caller(%L, %L, ARRAY[''user''])', :'tok_sellapay',
	'waas')) AS sellapay_token_on_waas;
SELECT aud_err(format('SELECT pg_wallet._api_caller(%L, %L, ARRAY[''client''])', :'tok_sellapay',
	'sellapay')) AS forbidden_role;
SELECT aud_err(format('SELECT pg_wallet._sp_me(%L)', :'tok_sellapay')) AS sellapay_endpoint;
SELECT aud_err(format('SELECT pg_wallet._waas_me(%L)', :'tok_sellapay')) AS waas_endpoint;
SELECT pg_wallet.api_sellapay_get_balance(:'tok_sellapay', '{}') ->> 'message' AS sellapay_api;
SELECT aud_err(format('SELECT pg_wallet.api_waas_create_client(%L, %L)', :'tok_sellapay',
	'{"body": {}}')) AS waas_api_refused;

-- the function is documented and its signature is the one the grants name
SELECT obj_description('pg_wallet.authenticate(text, text[], text)'::regprocedure, 'pg_proc')
	~ 'expected_audience' AS documented;
SELECT pg_get_function_identity_arguments('pg_wallet.authenticate(text, text[], text)'::regprocedure);
