-- pg_wallet 0.1.0 -> 0.2.0: the hand-written schema changes. The Makefile builds
-- sql/pg_wallet--0.1.0--0.2.0.sql from this file followed by every file that
-- sql/install.list names after "#@replay-on-upgrade" (the functions, all CREATE OR REPLACE,
-- then the grants), so function bodies and grants need nothing here.
--
-- What goes here (anything that a fresh CREATE EXTENSION does outside the replayed files):
--   - ALTER TABLE for a changed table (a new column goes at the END of its CREATE TABLE in
--     the tables file too: ADD COLUMN appends, and test/t/003_upgrade.pl compares column
--     order), new tables, sequences, types, indexes, triggers and seed rows (not their
--     pg_extension_config_dump(): the replayed sql/core/dump.sql registers every table);
--   - DROP FUNCTION for a function that was removed, or whose argument types, argument
--     names or defaults, or return type changed (CREATE OR REPLACE cannot change those;
--     the replay then creates the new one);
--   - COMMENT ON for a changed comment of a table, column, type or sequence.
-- The statements run once, in the transaction of ALTER EXTENSION; write names
-- schema-qualified, as the install script does.
--
-- The rule for the next version (docs/operations.md, "Upgrades"): when 0.2.0 is released,
-- commit the built sql/pg_wallet--0.2.0.sql and sql/pg_wallet--0.1.0--0.2.0.sql as they are
-- (released files are never edited again; stop ignoring them in .gitignore), set
-- EXTVERSION = 0.3.0 and UPGRADE_FROM = 0.2.0 in the Makefile and default_version in
-- pg_wallet.control, and start sql/upgrades/0.2.0--0.3.0.sql from this header. PostgreSQL
-- chains the steps (0.1.0 -> 0.2.0 -> 0.3.0); test/t/003_upgrade.pl upgrades from every
-- released install script and compares each with a fresh install.

-- One implementation per rule (issue 9): the FX rate choice is _fx_rate, "this account belongs
-- to the caller" _owns/_owned_account, "the owner's default wallet" _owner_wallet.
DROP FUNCTION pg_wallet._fx_mid(text, text);
DROP FUNCTION pg_wallet._cashier_account(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._cashier_wallet(bigint, text);
DROP FUNCTION pg_wallet._waas_account(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._waas_owns(pg_wallet.auth_principal, bigint);
DROP FUNCTION pg_wallet._tribble_wallet(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._sp_account(pg_wallet.auth_principal);
DROP FUNCTION pg_wallet._wallet_of(bigint, text);

-- The KYC tier reaches the posting core as data (issue 9): accounts.kyc_tier, kept by the
-- identity layer's triggers (sql/identity/principals.sql, replayed with the functions).
ALTER TABLE pg_wallet.accounts ADD COLUMN kyc_tier smallint CHECK (kyc_tier BETWEEN 0 AND 9);
COMMENT ON COLUMN pg_wallet.accounts.kyc_tier IS
	'The KYC tier of the owner (the highest of its principals''), NULL when it has none: KYC '
	'limits apply to money leaving the account when it is set. Kept by the identity layer; the '
	'posting core reads it as data with the account''s lock.';
UPDATE pg_wallet.accounts a
SET kyc_tier = (SELECT max(p.kyc_tier) FROM pg_wallet.principals p WHERE p.owner_id = a.owner_id)
WHERE EXISTS (SELECT 1 FROM pg_wallet.principals p WHERE p.owner_id = a.owner_id);
COMMENT ON TABLE pg_wallet.rules_generation IS
	'One row: the stamp of the posting configuration (fee schedules, system accounts), bumped '
	'by every change to it; postings read it with their account locks.';

-- The single writer, enforced (issue 9): its trigger functions and triggers
-- (core/ledger_guard.sql, core/triggers.sql) are created by the replay.

-- The layout by layers moved the C files: the comment names the new path.
COMMENT ON TABLE pg_wallet.principal_passwords IS
	'Password hashes: scrypt$N$r$p$salt$hash (src/identity/auth_password.c). Never readable by an API '
	'role; never returned by a function.';
