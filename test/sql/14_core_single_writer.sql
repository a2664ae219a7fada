-- The single writer, enforced (core/triggers.sql, src/core/ledger_guard.c): journals, entries,
-- account_deltas and the balances, pending debits, versions and hash chains of accounts are
-- written by the posting core alone. Not the tables' owner, not a superuser, not a SECURITY
-- DEFINER function (which runs as the owner and passes every privilege check) may write them;
-- each attempt fails with 42501 and changes nothing.

SELECT pg_wallet.create_owner('user', 'Single writer') AS u \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:u, 'KES', 'SETTLEMENT', 'SW-P', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'SW-A')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'SW-HOT',
	                                          credit_mode => 'DEFERRED')) a;
SELECT count(*) FROM (
	SELECT pg_wallet.credit('SW-A', 100, 'SW-P')
	UNION ALL SELECT pg_wallet.transfer('SW-A', 'SW-HOT', 5)) t;

-- What the ledger looks like before the attempts, to show that none of them changed it.
CREATE TEMP TABLE sw_before AS
SELECT (SELECT count(*) FROM pg_wallet.journals) AS journals,
       (SELECT count(*) FROM pg_wallet.entries) AS entries,
       (SELECT count(*) FROM pg_wallet.account_deltas) AS deltas,
       (SELECT sum(balance) FROM pg_wallet.accounts) AS balances;

-- One refusal in full: the message, the trigger that refused it, the hint.
UPDATE pg_wallet.accounts SET balance = balance + 100000 WHERE account_number = 'SW-A';

-- A SECURITY DEFINER function owned by the extension's owner, called by a role that may
-- touch no table: it has every privilege on the tables, and still cannot write them.
CREATE FUNCTION sw_definer(stmt text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE ROLE t14_app NOLOGIN;
GRANT EXECUTE ON FUNCTION sw_definer(text) TO t14_app;

CREATE TEMP TABLE sw_attempts (n int, stmt text);
INSERT INTO sw_attempts VALUES
	(1, 'UPDATE pg_wallet.entries SET amount = amount + 1'),
	(2, 'DELETE FROM pg_wallet.journals'),
	(3, 'INSERT INTO pg_wallet.entries (journal_id, leg, account_id, side, amount) '
	    'VALUES (1, 1, 1, ''DR'', 1)'),
	(4, 'UPDATE pg_wallet.accounts SET balance = balance + 100000 '
	    'WHERE account_number = ''SW-A'''),
	(5, 'TRUNCATE pg_wallet.account_deltas'),
	(6, 'DELETE FROM pg_wallet.account_deltas'),
	(7, 'UPDATE pg_wallet.journals SET hash = NULL WHERE false'),
	(8, 'INSERT INTO pg_wallet.account_deltas (account_id, entry_id, amount) '
	    'SELECT id, 0, 500 FROM pg_wallet.accounts WHERE account_number = ''SW-HOT'''),
	(9, 'UPDATE pg_wallet.accounts SET pending_debit = 0, version = 0, chain_hash = ''\x'''),
	(10, 'DELETE FROM pg_wallet.accounts WHERE account_number = ''SW-A'''),
	(11, 'TRUNCATE pg_wallet.journals, pg_wallet.entries'),
	(12, 'INSERT INTO pg_wallet.accounts (account_number, owner_id, currency, exponent, '
	     'purpose, balance) SELECT ''SW-RICH'', owner_id, currency, exponent, purpose, '
	     '1000000 FROM pg_wallet.accounts WHERE account_number = ''SW-A''');

-- as the owner (the superuser who created the extension)
SELECT n, err(stmt) FROM sw_attempts ORDER BY n;
-- through the SECURITY DEFINER function, called by a role with no privilege of its own
GRANT SELECT ON sw_attempts TO t14_app;
SET ROLE t14_app;
SELECT n, public.sw_definer(stmt) FROM sw_attempts ORDER BY n;
RESET ROLE;

-- Nothing changed.
SELECT (SELECT count(*) FROM pg_wallet.journals) = b.journals AS same_journals,
       (SELECT count(*) FROM pg_wallet.entries) = b.entries AS same_entries,
       (SELECT count(*) FROM pg_wallet.account_deltas) = b.deltas AS same_deltas,
       (SELECT sum(balance) FROM pg_wallet.accounts) = b.balances AS same_balances
FROM sw_before b;

-- What is not the ledger stays writable: an account's name and metadata, its status through
-- set_account_status(), and opening an account with an empty ledger.
SELECT err($$UPDATE pg_wallet.accounts SET name = 'renamed', metadata = '{"k": 1}'
              WHERE account_number = 'SW-A'$$);
SELECT err($$INSERT INTO pg_wallet.accounts (account_number, owner_id, currency, exponent,
              purpose) SELECT 'SW-EMPTY', owner_id, currency, exponent, purpose
              FROM pg_wallet.accounts WHERE account_number = 'SW-A'$$);
SELECT status FROM pg_wallet.set_account_status('SW-EMPTY', 'INACTIVE', 'test');

-- A posting that fails while it writes leaves nothing behind and the guard closed. The core
-- writes the ledger tables directly (src/core/ledger_write.c): a CHECK of the test's own,
-- which the core does not know, is still evaluated and refuses the entry.
CREATE FUNCTION sw_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001';
END
$$;
BEGIN;
ALTER TABLE pg_wallet.entries ADD CONSTRAINT sw_never CHECK (amount < 0) NOT VALID;
SELECT err($$SELECT pg_wallet.transfer('SW-A', 'SW-HOT', 1)$$);
SELECT err('DELETE FROM pg_wallet.journals');
ROLLBACK;
-- A row-level trigger on a ledger table would not be fired by those direct writes: a posting
-- is refused while one is enabled, rather than skipping it.
BEGIN;
CREATE TRIGGER sw_boom BEFORE INSERT ON pg_wallet.entries
	FOR EACH ROW EXECUTE FUNCTION sw_boom();
SELECT err($$SELECT pg_wallet.transfer('SW-A', 'SW-HOT', 1)$$);
ALTER TABLE pg_wallet.entries DISABLE TRIGGER sw_boom;
SELECT (pg_wallet.transfer('SW-A', 'SW-HOT', 1)).status AS with_the_trigger_disabled;
ROLLBACK;
-- The fold's DELETE, a guarded SQL statement, failing (a trigger of the test's own) leaves the
-- guard closed too.
BEGIN;
CREATE TRIGGER sw_boom BEFORE DELETE ON pg_wallet.account_deltas
	FOR EACH ROW EXECUTE FUNCTION sw_boom();
SELECT (pg_wallet.transfer('SW-A', 'SW-HOT', 1)).status AS delta_posted;
SELECT err($$SELECT pg_wallet.fold_deltas('SW-HOT')$$);
SELECT err('DELETE FROM pg_wallet.journals');
ROLLBACK;

-- The posting core writes as before: a transfer (entries, journals, account rows, a delta of
-- the DEFERRED account), a fold (which deletes the deltas), and the ledger balances.
SELECT count(*) FROM (
	SELECT pg_wallet.transfer('SW-A', 'SW-HOT', 7)
	UNION ALL SELECT pg_wallet.transfer('SW-A', 'SW-P', 3)) t;
SELECT pg_wallet.fold_deltas('SW-HOT') > 0 AS folded;
SELECT count(*) AS unfolded FROM pg_wallet.account_deltas d
	JOIN pg_wallet.accounts a ON a.id = d.account_id WHERE a.account_number = 'SW-HOT';
SELECT bal('SW-A');
SELECT bal('SW-HOT');
SELECT ledger_ok();
SELECT count(*) > 0 AS some_currencies, count(*) FILTER (WHERE total <> 0) AS unbalanced
FROM (SELECT a.currency, sum(a.balance) + coalesce(sum(d.unfolded), 0) AS total
      FROM pg_wallet.accounts a
      LEFT JOIN (SELECT account_id, sum(amount) AS unfolded FROM pg_wallet.account_deltas
                 GROUP BY account_id) d ON d.account_id = a.id
      GROUP BY a.currency) c;

DROP FUNCTION sw_definer(text);
DROP FUNCTION sw_boom();
DROP TABLE sw_attempts;
DROP ROLE t14_app;
