-- verify_ledger() proves the invariants; here history is tampered with (as superuser, inside
-- rolled-back transactions) to show that each kind of rewrite is caught. The ledger tables
-- refuse writes that do not come from the posting core (core/triggers.sql), so the tampering
-- starts by disabling those triggers, deliberately, as an attacker would have to.

SELECT pg_wallet.create_owner('user', 'Verifier') AS u \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:u, 'KES', 'SETTLEMENT', 'VF-P', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'VF-A')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'VF-B')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'VF-HOT',
	                                          credit_mode => 'DEFERRED')) a;
SELECT count(*) FROM (
	SELECT pg_wallet.credit('VF-A', 100, 'VF-P')
	UNION ALL SELECT pg_wallet.transfer('VF-A', 'VF-B', 10)
	UNION ALL SELECT pg_wallet.transfer('VF-A', 'VF-B', 20)
	UNION ALL SELECT pg_wallet.transfer('VF-A', 'VF-HOT', 5)) t;
SELECT hold_id AS h FROM pg_wallet.place_hold('VF-A', 1, 'VF-B') \gset
SELECT id AS j2 FROM pg_wallet.journals WHERE id = (
	SELECT journal_id FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	WHERE a.account_number = 'VF-B' ORDER BY e.id LIMIT 1) \gset
SELECT ledger_ok();

ALTER TABLE pg_wallet.journals DISABLE TRIGGER journals_single_writer;
ALTER TABLE pg_wallet.entries DISABLE TRIGGER entries_single_writer;
ALTER TABLE pg_wallet.account_deltas DISABLE TRIGGER account_deltas_single_writer;
ALTER TABLE pg_wallet.accounts DISABLE TRIGGER accounts_single_writer;

-- 1. one entry's amount changed
BEGIN;
UPDATE pg_wallet.entries SET amount = amount + 1 WHERE journal_id = :j2 AND side = 'CR';
SELECT check_name, count(*) FROM pg_wallet.verify_ledger() GROUP BY 1 ORDER BY 1;
ROLLBACK;

-- 2. a consistent rewrite of a journal (both legs and both balances): only hashes catch it
BEGIN;
UPDATE pg_wallet.entries SET amount = amount + 100 WHERE journal_id = :j2;
UPDATE pg_wallet.entries SET balance_after = balance_after - 100
WHERE account_id = (SELECT id FROM pg_wallet.accounts WHERE account_number = 'VF-A')
  AND journal_id >= :j2;
UPDATE pg_wallet.entries SET balance_after = balance_after + 100
WHERE account_id = (SELECT id FROM pg_wallet.accounts WHERE account_number = 'VF-B')
  AND journal_id >= :j2;
UPDATE pg_wallet.accounts SET balance = balance - 100 WHERE account_number = 'VF-A';
UPDATE pg_wallet.accounts SET balance = balance + 100 WHERE account_number = 'VF-B';
SELECT check_name, subject ~ '^(journal|account) [0-9]+$' AS names_subject
FROM pg_wallet.verify_ledger() ORDER BY 1, 2;
ROLLBACK;

-- 3. a whole journal deleted, balances adjusted to match: the account chains catch it
BEGIN;
UPDATE pg_wallet.accounts SET balance = balance + 1000 WHERE account_number = 'VF-A';
UPDATE pg_wallet.accounts SET balance = balance - 1000 WHERE account_number = 'VF-B';
DELETE FROM pg_wallet.entries WHERE journal_id = :j2;
DELETE FROM pg_wallet.journals WHERE id = :j2;
SELECT check_name, detail ~ 'version' AS about_versions FROM pg_wallet.verify_ledger() ORDER BY 1;
ROLLBACK;

-- 4. a stored balance changed
BEGIN;
UPDATE pg_wallet.accounts SET balance = balance + 1 WHERE account_number = 'VF-B';
SELECT check_name, subject, detail FROM pg_wallet.verify_ledger();
ROLLBACK;

-- 5. pending_debit that no hold explains
BEGIN;
UPDATE pg_wallet.accounts SET pending_debit = 0 WHERE account_number = 'VF-A';
SELECT check_name, subject, detail FROM pg_wallet.verify_ledger();
ROLLBACK;

-- 6. an unfolded credit with no entry behind it
BEGIN;
INSERT INTO pg_wallet.account_deltas (account_id, entry_id, amount)
SELECT id, 0, 500 FROM pg_wallet.accounts WHERE account_number = 'VF-HOT';
SELECT check_name, subject FROM pg_wallet.verify_ledger() ORDER BY 1;
ROLLBACK;

-- 7. a journal's stored hash replaced; 8. a balance_after rewritten
BEGIN;
UPDATE pg_wallet.journals SET hash = sha256('x') WHERE id = :j2;
UPDATE pg_wallet.entries SET balance_after = 1 WHERE id = (
	SELECT max(e.id) FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	WHERE a.account_number = 'VF-B');
SELECT check_name, detail FROM pg_wallet.verify_ledger() ORDER BY 1;
ROLLBACK;

-- 9. an entry pointing at no journal
BEGIN;
UPDATE pg_wallet.entries SET journal_id = 999999999 WHERE journal_id = :j2 AND side = 'DR';
SELECT DISTINCT check_name FROM pg_wallet.verify_ledger() ORDER BY 1;
ROLLBACK;

ALTER TABLE pg_wallet.journals ENABLE TRIGGER journals_single_writer;
ALTER TABLE pg_wallet.entries ENABLE TRIGGER entries_single_writer;
ALTER TABLE pg_wallet.account_deltas ENABLE TRIGGER account_deltas_single_writer;
ALTER TABLE pg_wallet.accounts ENABLE TRIGGER accounts_single_writer;

-- untouched, it is consistent (and the posting core still writes with the triggers back on)
SELECT status FROM pg_wallet.void_hold(:h);
SELECT ledger_ok();
