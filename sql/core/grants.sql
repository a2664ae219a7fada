-- Privileges. The tables are the extension's alone: no role but the extension owner can
-- read or write them, so the SECURITY DEFINER functions are the only way to move money or
-- read the ledger. EXECUTE is revoked from PUBLIC on every function; a DBA grants the
-- functions an application role needs, e.g.
--   GRANT USAGE ON SCHEMA pg_wallet TO app;
--   GRANT EXECUTE ON FUNCTION pg_wallet.get_balance(text) TO app;
-- (docs/sql-api.md lists them by role).

REVOKE ALL ON ALL TABLES IN SCHEMA pg_wallet FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pg_wallet FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pg_wallet FROM PUBLIC;
REVOKE ALL ON SCHEMA pg_wallet FROM PUBLIC;
