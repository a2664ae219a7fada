-- pg_wallet 0.1.0 -> 0.2.0: the schema changes of this version (function bodies are replayed).

-- The single writer, enforced (issue 9): the guard's trigger functions (also in
-- core/ledger_guard.sql, replayed; declared here too because the triggers need them first)
-- and the triggers of core/triggers.sql.
CREATE OR REPLACE FUNCTION pg_wallet._ledger_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'wallet_ledger_guard'
LANGUAGE C;
COMMENT ON FUNCTION pg_wallet._ledger_guard() IS
	'Internal trigger (BEFORE, FOR EACH STATEMENT): refuses with 42501 any INSERT, UPDATE, '
	'DELETE or TRUNCATE of the ledger tables that the posting core does not run.';

CREATE OR REPLACE FUNCTION pg_wallet._ledger_guard_new_account()
RETURNS trigger
AS 'MODULE_PATHNAME', 'wallet_ledger_guard_new_account'
LANGUAGE C;
COMMENT ON FUNCTION pg_wallet._ledger_guard_new_account() IS
	'Internal trigger (BEFORE INSERT, FOR EACH ROW on accounts): refuses with 42501 an '
	'account that opens with a balance, pending debit, version or hash chain.';
REVOKE ALL ON FUNCTION pg_wallet._ledger_guard(), pg_wallet._ledger_guard_new_account()
	FROM PUBLIC;

CREATE TRIGGER journals_single_writer
	BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.journals
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE TRIGGER entries_single_writer
	BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.entries
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE TRIGGER account_deltas_single_writer
	BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.account_deltas
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE TRIGGER accounts_single_writer
	BEFORE UPDATE OF balance, pending_debit, version, chain_hash OR DELETE OR TRUNCATE
	ON pg_wallet.accounts
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE TRIGGER accounts_open_empty
	BEFORE INSERT ON pg_wallet.accounts
	FOR EACH ROW EXECUTE FUNCTION pg_wallet._ledger_guard_new_account();
