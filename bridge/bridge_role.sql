-- bridge/bridge_role.sql — the database role of pg_wallet_bridge (run by scripts/start and
-- the e2e tests; psql -v bridge_role=NAME). The role may log in and EXECUTE the API
-- functions (pg_wallet.api_*) and nothing else: no table, no sequence, no core function.
-- Each API function is SECURITY DEFINER and authenticates the token it is given.
SELECT format('CREATE ROLE %I LOGIN NOINHERIT', :'bridge_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'bridge_role') \gexec
SELECT format('GRANT USAGE ON SCHEMA pg_wallet TO %I', :'bridge_role') \gexec
SELECT format('GRANT EXECUTE ON FUNCTION %s TO %I', p.oid::regprocedure, :'bridge_role')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'pg_wallet' AND p.proname LIKE 'api\_%' \gexec
