-- The single writer, enforced: only the posting core (src/core/ledger_store.c, through
-- ledger_guard_execute()) may write journals, entries, account_deltas and the balances,
-- pending debits, versions and hash chains of accounts. Statement-level, so a posting pays
-- once per statement whatever its size. Opening an account (INSERT) and changing its status
-- stay allowed; an account opens with an empty ledger. To tamper on purpose (the tests of
-- verify_ledger()), the tables' owner must ALTER TABLE ... DISABLE TRIGGER first.

CREATE OR REPLACE TRIGGER journals_single_writer
	BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.journals
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE OR REPLACE TRIGGER entries_single_writer
	BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.entries
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE OR REPLACE TRIGGER account_deltas_single_writer
	BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.account_deltas
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE OR REPLACE TRIGGER account_stripes_single_writer
	BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON pg_wallet.account_stripes
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE OR REPLACE TRIGGER accounts_single_writer
	BEFORE UPDATE OF balance, pending_debit, version, chain_hash, stripes OR DELETE OR TRUNCATE
	ON pg_wallet.accounts
	FOR EACH STATEMENT EXECUTE FUNCTION pg_wallet._ledger_guard();
CREATE OR REPLACE TRIGGER accounts_open_empty
	BEFORE INSERT ON pg_wallet.accounts
	FOR EACH ROW EXECUTE FUNCTION pg_wallet._ledger_guard_new_account();
