-- The single writer of the ledger, enforced (src/core/ledger_guard.c): the trigger functions
-- that refuse every write of journals, entries, account_deltas and the ledger columns of
-- accounts that does not come from the posting core. The triggers are in core/triggers.sql.

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
