-- pg_wallet 0.1.0 -> 0.2.0: the hand-written schema changes. The Makefile builds
-- sql/pg_wallet--0.1.0--0.2.0.sql from this file followed by every file that
-- sql/install.list names after "#@replay-on-upgrade" (the functions, all CREATE OR REPLACE,
-- then the grants), so function bodies and grants need nothing here.
--
-- What goes here (anything that a fresh CREATE EXTENSION does outside the replayed files):
--   - ALTER TABLE for a changed table (a new column goes at the END of its CREATE TABLE in
--     the tables file too: ADD COLUMN appends, and test/t/003_upgrade.pl compares column
--     order), new tables, sequences, types, indexes, triggers, seed rows, and
--     pg_extension_config_dump() for a new table that holds configuration;
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

-- The layout by layers moved the C files: the comment names the new path.
COMMENT ON TABLE pg_wallet.principal_passwords IS
	'Password hashes: scrypt$N$r$p$salt$hash (src/identity/auth_password.c). Never readable by an API '
	'role; never returned by a function.';
