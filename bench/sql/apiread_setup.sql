-- bench/sql/apiread_setup.sql — the fixture of bench/run's `apiread` shape, built through the
-- WaaS API functions themselves, as bench/bridge_run builds its own: one tenant (a principal
-- of role client with a random password), its access token from api_waas_login, one client
-- of the tenant, one client service, :accounts FLOAT_ACCOUNT accounts of consecutive numbers,
-- each credited 5,000.00 KES by api_waas_transaction.
--
-- psql -v accounts=N -f bench/sql/apiread_setup.sql <bench database>, after
-- CREATE EXTENSION pg_wallet. It leaves one row in public.bench_apiread (token, the first and
-- the last account number) that bench/run reads to run bench/pgbench/api_read.sql.
\set ON_ERROR_STOP on

SET client_min_messages = warning;
DROP TABLE IF EXISTS public.bench_apiread;
CREATE TABLE public.bench_apiread (token text NOT NULL, first_account bigint NOT NULL,
	last_account bigint NOT NULL);

SELECT 'Bench-' || encode(pg_wallet._random_bytes(12), 'hex') AS pass \gset
SELECT (pg_wallet.create_principal('client', password => :'pass',
	username => 'bench_apiread')).principal_id IS NOT NULL AS created \gset
SELECT pg_wallet.api_waas_login(NULL, jsonb_build_object('body', jsonb_build_object(
	'username', 'bench_apiread', 'password', :'pass'))) ->> 'access_token' AS token \gset

SELECT pg_wallet.api_waas_create_client(:'token', jsonb_build_object('body', jsonb_build_object(
	'client_name', 'Bench reads', 'client_email', 'reads@bench.example',
	'client_phone_number', '254712345678', 'contact_person_name', 'Bench',
	'contact_person_email', 'reads@bench.example', 'contact_person_msisdn', '254712345678',
	'business_pin', 'A102036', 'physical_address', '1 Bench St', 'country', 'Kenya',
	'logo', 'https://example.com/logo.png', 'description', 'bench reads', 'is_active', 1)))
	->> 'client_code' AS code \gset
SELECT pg_wallet.api_waas_create_client_service(:'token', jsonb_build_object('body',
	jsonb_build_object('client_code', :'code', 'client_service_name', 'Bench funding',
	'service_code', 'CUSTOM_SERVICE', 'has_transaction_fee', false,
	'transaction_fee_type', 'FIXED', 'transaction_fee', 0, 'minimum_transaction_amount', 1.0,
	'maximum_transaction_amount', 5000.0, 'is_active', 1))) ->> 'client_service_code' AS svc
\gset

SELECT count(*) FILTER (WHERE r ? 'account_number') AS opened,
	min((r ->> 'account_number')::bigint) AS first, max((r ->> 'account_number')::bigint) AS last
FROM generate_series(1, :accounts) i,
	LATERAL pg_wallet.api_waas_create_account(:'token', jsonb_build_object('body',
		jsonb_build_object('client_code', :'code', 'account_type_code', 'FLOAT_ACCOUNT',
		'account_name', 'Bench read ' || i, 'currency', 'KES', 'minimum_balance', 0,
		'can_overdraw', false, 'status', 'ACTIVE', 'status_description', 'bench'))) r \gset
SELECT count(*) FILTER (WHERE r ? 'transaction_id') AS funded
FROM generate_series(:first, :last) a,
	LATERAL pg_wallet.api_waas_transaction(:'token', jsonb_build_object(
		'query', jsonb_build_object('command', 'CREDIT'), 'body', jsonb_build_object(
		'account_number', a::text, 'client_service_code', :'svc', 'transaction_source',
		'EXTERNAL', 'transaction_amount', 5000, 'source_transaction_id', 'read-fund-' || a,
		'source_transaction_data', '{}'::jsonb, 'transaction_narration', 'funding',
		'transaction_date', '2024-07-29T12:34:56Z'))) r \gset

-- consecutive numbers, all opened and funded, or the fixture fails
SELECT :opened = :accounts AND :funded = :accounts AND :last - :first + 1 = :accounts AS ok \gset
\if :ok
\else
	\warn 'apiread fixture: opened' :opened 'funded' :funded 'numbers' :first '..' :last
	SELECT 1 / 0 AS apiread_fixture_incomplete;
\endif
INSERT INTO public.bench_apiread VALUES (:'token', :first, :last);
-- the funding debited the tenant's DEFERRED settlement account through deltas: fold them, as
-- the expiry worker does, so that reads find the table as a running system keeps it
SELECT pg_wallet.fold_deltas() AS folded \gset
VACUUM ANALYZE pg_wallet.account_deltas;
VACUUM ANALYZE pg_wallet.accounts;
VACUUM ANALYZE pg_wallet.access_tokens;
VACUUM ANALYZE pg_wallet.auth_sessions;
VACUUM ANALYZE pg_wallet.principals;
VACUUM ANALYZE pg_wallet.owners;
