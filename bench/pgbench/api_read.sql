-- bench/run's `apiread` shape: the authenticated WaaS balance read over SQL, a random account
-- of the fixture of bench/sql/apiread_setup.sql, with the envelope the bridge builds for
-- GET /waas/api/v1/accounts/:id/balance. -D token=... -D first=... -D last=...
\set a random(:first, :last)
SELECT pg_wallet.api_waas_get_balance((:token)::text, jsonb_build_object('request_id', 'pgbench',
	'path', jsonb_build_object('id', (:a)::text), 'query', '{}'::jsonb, 'body', '{}'::jsonb));
