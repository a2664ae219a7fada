-- The schema. PostgreSQL reserves the pg_ prefix for system schemas; the product's public
-- name is pg_wallet (DESIGN.md: pg_wallet.<api function>), so the script, which only a
-- superuser runs, lifts the reservation for this one statement. The schema is a member of
-- the extension: DROP EXTENSION pg_wallet drops it.
SET LOCAL allow_system_table_mods = on;
CREATE SCHEMA pg_wallet;
RESET allow_system_table_mods;
COMMENT ON SCHEMA pg_wallet IS 'pg_wallet: double-entry wallet and payments ledger';
