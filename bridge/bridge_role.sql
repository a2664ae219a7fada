-- bridge/bridge_role.sql — the database role of pg_wallet_bridge (run by scripts/start and
-- the e2e tests; psql -v bridge_role=NAME). The role may log in and EXECUTE the API
-- functions (pg_wallet.api_*) and nothing else: no table, no sequence, no core function.
-- Each API function is SECURITY DEFINER and authenticates the token it is given. The role may
-- not create temporary objects either (below).
SELECT format('CREATE ROLE %I LOGIN NOINHERIT', :'bridge_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'bridge_role') \gexec
SELECT format('GRANT USAGE ON SCHEMA pg_wallet TO %I', :'bridge_role') \gexec
SELECT format('GRANT EXECUTE ON FUNCTION %s TO %I', p.oid::regprocedure, :'bridge_role')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'pg_wallet' AND p.proname LIKE 'api\_%' \gexec
-- No temporary objects: TEMP is a database privilege that PUBLIC holds by default, so it is
-- revoked from PUBLIC (roles that need temporary tables get it granted by name) and from the
-- role itself. The API functions are SECURITY DEFINER and need no TEMP of the caller.
SELECT format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('REVOKE TEMPORARY ON DATABASE %I FROM %I', current_database(), :'bridge_role') \gexec
