-- Striped accounts (issue 20, docs/operations.md "Hot accounts"): a hot account's debits take
-- a stripe's allowance with SKIP LOCKED instead of its row lock, its credits are deltas; a
-- debit that no stripe covers, a hold or a status change takes the plain path. Every read,
-- statement and verify_ledger() give the same answers as the unstriped design.

SELECT pg_wallet.create_owner('client', 'Striped float') AS c \gset
SELECT pg_wallet.create_owner('user', 'Striped users') AS u \gset
SELECT pg_wallet.create_owner('partner', 'Striped settlement') AS p \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:c, 'KES', 'FLOAT_ACCOUNT', 'SFLOAT')
	UNION ALL SELECT pg_wallet.create_account(:c, 'KES', 'WALLET', 'SMER')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'SU1')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'SU2')
	UNION ALL SELECT pg_wallet.create_account(:u, 'USD', 'WALLET', 'SUSD')
	UNION ALL SELECT pg_wallet.create_account(:p, 'KES', 'SETTLEMENT', 'SSETTLE',
	                                          can_overdraw => true)) a;
SELECT status FROM pg_wallet.credit('SFLOAT', 1000, 'SSETTLE');

-- What a striped account looks like: stored balance, version, deltas, and its stripes'
-- allowances, largest first (which stripe a debit takes depends on the backend's pid).
CREATE FUNCTION stripes(acct text) RETURNS text LANGUAGE sql AS $$
	SELECT format('stored %s version %s deltas %s stripes %s [%s]', a.balance, a.version,
	              (SELECT count(*) FROM pg_wallet.account_deltas d WHERE d.account_id = a.id),
	              a.stripes,
	              (SELECT string_agg(s.allowance::text, ' ' ORDER BY s.allowance DESC)
	               FROM pg_wallet.account_stripes s WHERE s.account_id = a.id))
	FROM pg_wallet.accounts a WHERE a.account_number = acct
$$;

-- bounds and errors
SELECT err($$SELECT pg_wallet.set_account_stripes('SFLOAT', 65)$$);
SELECT err($$SELECT pg_wallet.set_account_stripes('SFLOAT', -1)$$);
SELECT err($$SELECT pg_wallet.set_account_stripes('NOPE', 4)$$);
SELECT err($$SELECT pg_wallet.set_account_stripes('SYS-FEE-KES', 4)$$);

-- four stripes: the available 1,000.00 dealt out evenly
SELECT pg_wallet.set_account_stripes('SFLOAT', 4);
SELECT stripes('SFLOAT');
SELECT bal('SFLOAT');
SELECT ledger_ok();

-- a debit that a stripe covers: the account row is not written, the stripe is, the entry is a
-- delta; every read is the same
SELECT status FROM pg_wallet.transfer('SFLOAT', 'SU1', 10);
SELECT stripes('SFLOAT');
SELECT bal('SFLOAT'), bal('SU1');
SELECT side, amount, balance_after FROM pg_wallet.list_entries('SFLOAT');
SELECT s->'closing_balance' AS closing
FROM pg_wallet.get_statement('SFLOAT', now() - interval '1 hour', now() + interval '1 hour') s;
SELECT ledger_ok();

-- a debit larger than any stripe: the plain path (row and all stripes locked, deltas folded),
-- then the stripes are refilled with what is left
SELECT status FROM pg_wallet.transfer('SFLOAT', 'SU1', 300);
SELECT stripes('SFLOAT');
SELECT bal('SFLOAT');
SELECT ledger_ok();

-- the account as a whole is never refused what it has: all of it in one debit
SELECT status FROM pg_wallet.transfer('SFLOAT', 'SU2', 690);
SELECT stripes('SFLOAT');
-- and never overdrawn: one cent more is refused, as for an unstriped account
SELECT err($$SELECT pg_wallet.transfer('SFLOAT', 'SU2', 0.01)$$);
SELECT stripes('SFLOAT');
SELECT ledger_ok();

-- credits are deltas (no row lock); the empty stripes make the next debit take the plain path,
-- which sees them and refills
SELECT count(*) FROM (
	SELECT pg_wallet.transfer('SU1', 'SFLOAT', 100)
	UNION ALL SELECT pg_wallet.transfer('SU2', 'SFLOAT', 20)) t;
SELECT stripes('SFLOAT');
SELECT bal('SFLOAT');
SELECT status FROM pg_wallet.transfer('SFLOAT', 'SU2', 0.5);
SELECT stripes('SFLOAT');
SELECT ledger_ok();

-- a batch: every debit from one stripe; a refused item is refused (per item) without touching it
SELECT status, sqlstate FROM pg_wallet.post_transfers('[
	{"from": "SFLOAT", "to": "SU1", "amount": 1},
	{"from": "SFLOAT", "to": "SU2", "amount": 2},
	{"from": "SFLOAT", "to": "SUSD", "amount": 3},
	{"from": "SFLOAT", "to": "SU1", "amount": 4}]', atomic => false);
SELECT stripes('SFLOAT');
-- an atomic batch whose debits no stripe covers together goes plain, all or nothing
SELECT err($$SELECT pg_wallet.post_transfers('[
	{"from": "SFLOAT", "to": "SU1", "amount": 50},
	{"from": "SFLOAT", "to": "SU2", "amount": 60},
	{"from": "SFLOAT", "to": "SU1", "amount": 1000}]')$$);
SELECT stripes('SFLOAT');
SELECT ledger_ok();

-- idempotency: the retry replays the first result, over a stripe as without
SELECT journal_id AS j1 FROM pg_wallet.transfer('SFLOAT', 'SU1', 1, 'stripe-key-1') \gset
SELECT journal_id = :j1 AS same_journal, replayed
FROM pg_wallet.transfer('SFLOAT', 'SU1', 1, 'stripe-key-1');
SELECT err($$SELECT pg_wallet.transfer('SFLOAT', 'SU1', 2, 'stripe-key-1')$$);
SELECT stripes('SFLOAT');

-- holds: placing one consolidates; its reservation is taken out of what the stripes may give
SELECT bal('SFLOAT');
SELECT hold_id AS h FROM pg_wallet.place_hold('SFLOAT', 90, 'SU1') \gset
SELECT stripes('SFLOAT');
SELECT bal('SFLOAT');
SELECT err($$SELECT pg_wallet.transfer('SFLOAT', 'SU2', 22)$$);
SELECT status FROM pg_wallet.transfer('SFLOAT', 'SU2', 21);
SELECT stripes('SFLOAT');
SELECT status FROM pg_wallet.post_hold(:h);
SELECT stripes('SFLOAT');
SELECT bal('SFLOAT');
SELECT ledger_ok();

-- status: a LOCKED striped account refuses debits (over a stripe too) and credits.
-- The credit makes the available 100.80, so the refill deals 50.40 out as four equal
-- stripes: with a remainder (stripe 0 gets it) the stripe the next debit takes, chosen by
-- the backend's pid, would show in the sorted allowances.
SELECT status FROM pg_wallet.credit('SFLOAT', 100.30, 'SSETTLE');
SELECT pg_wallet.rebalance_stripes('SFLOAT');
SELECT stripes('SFLOAT');
SELECT (pg_wallet.set_account_status('SFLOAT', 'LOCKED', 'review')).status;
SELECT err($$SELECT pg_wallet.transfer('SFLOAT', 'SU1', 1)$$);
SELECT err($$SELECT pg_wallet.transfer('SU1', 'SFLOAT', 1)$$);
SELECT (pg_wallet.set_account_status('SFLOAT', 'ACTIVE')).status;
SELECT status FROM pg_wallet.transfer('SFLOAT', 'SU1', 1);
SELECT stripes('SFLOAT');
SELECT ledger_ok();

-- a hot DIRECT destination: striped, its credits are deltas too; its debits work as above
SELECT pg_wallet.set_account_stripes('SMER', 2);
SELECT count(*) FROM (
	SELECT pg_wallet.transfer('SU1', 'SMER', 5)
	UNION ALL SELECT pg_wallet.transfer('SU2', 'SMER', 7)) t;
SELECT stripes('SMER');
SELECT bal('SMER');
SELECT status FROM pg_wallet.transfer('SMER', 'SU1', 12);
SELECT err($$SELECT pg_wallet.transfer('SMER', 'SU1', 0.01)$$);
SELECT stripes('SMER');
SELECT ledger_ok();

-- the worker's rebalance: money that came in is dealt out to the stripes; reads unchanged
SELECT status FROM pg_wallet.transfer('SU1', 'SMER', 8);
SELECT pg_wallet.rebalance_stripes(NULL, 10);
SELECT stripes('SMER');
SELECT bal('SMER');
SELECT pg_wallet.rebalance_stripes(NULL, 10);
SELECT pg_wallet.fold_deltas('SFLOAT');
SELECT stripes('SFLOAT');
SELECT ledger_ok();

-- fewer stripes, then none: the plain design again, same balance
SELECT pg_wallet.set_account_stripes('SFLOAT', 2);
SELECT stripes('SFLOAT');
SELECT pg_wallet.set_account_stripes('SFLOAT', 0);
SELECT stripes('SFLOAT');
SELECT status FROM pg_wallet.transfer('SFLOAT', 'SU1', 1);
SELECT stripes('SFLOAT');
SELECT bal('SFLOAT');
SELECT ledger_ok();

-- the single writer: stripes and the stripe count are the posting core's
SELECT err($$UPDATE pg_wallet.account_stripes SET allowance = allowance + 1$$);
SELECT err($$INSERT INTO pg_wallet.account_stripes (account_id, stripe, allowance) VALUES (1, 9, 1)$$);
SELECT err($$UPDATE pg_wallet.accounts SET stripes = 3 WHERE account_number = 'SU1'$$);

-- verify_ledger() finds stripes that allow more than the account has, or strays
ALTER TABLE pg_wallet.account_stripes DISABLE TRIGGER account_stripes_single_writer;
UPDATE pg_wallet.account_stripes SET allowance = allowance + 1000000
WHERE account_id = (SELECT id FROM pg_wallet.accounts WHERE account_number = 'SMER') AND stripe = 1;
INSERT INTO pg_wallet.account_stripes (account_id, stripe, allowance)
SELECT id, 0, 0 FROM pg_wallet.accounts WHERE account_number = 'SU2';
SELECT check_name, subject FROM pg_wallet.verify_ledger() ORDER BY 1, 2;
UPDATE pg_wallet.account_stripes SET allowance = allowance - 1000000
WHERE account_id = (SELECT id FROM pg_wallet.accounts WHERE account_number = 'SMER') AND stripe = 1;
DELETE FROM pg_wallet.account_stripes
WHERE account_id = (SELECT id FROM pg_wallet.accounts WHERE account_number = 'SU2');
ALTER TABLE pg_wallet.account_stripes ENABLE TRIGGER account_stripes_single_writer;
SELECT ledger_ok();

-- each currency sums to zero (stored balances plus unfolded deltas)
SELECT count(*) AS currencies_off FROM (
	SELECT a.currency FROM pg_wallet.accounts a
	LEFT JOIN (SELECT account_id, sum(amount) AS amount FROM pg_wallet.account_deltas
	           GROUP BY account_id) d ON d.account_id = a.id
	GROUP BY a.currency HAVING sum(a.balance) + coalesce(sum(d.amount), 0) <> 0) c;
DROP FUNCTION stripes(text);
