-- DEFERRED accounts: credits are appended as deltas without locking the account; every read
-- and verify_ledger() give the same answer as a DIRECT account; debits and fold_deltas()
-- fold the deltas into the stored balance.

SELECT pg_wallet.create_owner('merchant', 'Big merchant') AS m \gset
SELECT pg_wallet.create_owner('user', 'Payer') AS u \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:m, 'KES', 'AVAILABLE_COLLECTIONS', 'HOT', credit_mode => 'DEFERRED')
	UNION ALL SELECT pg_wallet.create_account(:m, 'KES', 'AVAILABLE_COLLECTIONS', 'COLD')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'SETTLEMENT', 'PAYERS', can_overdraw => true)) a;

-- three payments in: stored balance untouched, deltas hold them, reads include them
SELECT count(*) FROM (
	SELECT pg_wallet.transfer('PAYERS', 'HOT', 10)
	UNION ALL SELECT pg_wallet.transfer('PAYERS', 'HOT', 20.50)
	UNION ALL SELECT pg_wallet.transfer('PAYERS', 'COLD', 30.50)) t;
SELECT a.account_number, a.balance AS stored, a.version,
       (SELECT count(*) FROM pg_wallet.account_deltas d WHERE d.account_id = a.id) AS deltas
FROM pg_wallet.accounts a WHERE a.account_number IN ('HOT', 'COLD') ORDER BY 1;
SELECT bal('HOT'), bal('COLD');
SELECT side, amount, balance_after FROM pg_wallet.list_entries('HOT');
SELECT s->'closing_balance' AS closing, jsonb_path_query_array(s, '$.ledgers[*].balance_after')
FROM pg_wallet.get_statement('HOT', now() - interval '1 hour', now() + interval '1 hour') s;
SELECT ledger_ok();

-- a debit folds the deltas first, so its funds check sees them
SELECT err($$SELECT pg_wallet.transfer('HOT', 'COLD', 30.51)$$);
SELECT status FROM pg_wallet.transfer('HOT', 'COLD', 5);
SELECT a.balance AS stored, a.version,
       (SELECT count(*) FROM pg_wallet.account_deltas d WHERE d.account_id = a.id) AS deltas
FROM pg_wallet.accounts a WHERE a.account_number = 'HOT';
SELECT bal('HOT'), bal('COLD');

-- more credits, then fold_deltas: balance reads the same before and after
SELECT status FROM pg_wallet.post_transfers('[
	{"from": "PAYERS", "to": "HOT", "amount": 1},
	{"from": "PAYERS", "to": "HOT", "amount": 2},
	{"from": "HOT", "to": "COLD", "amount": 3},
	{"from": "PAYERS", "to": "HOT", "amount": 4}]');
SELECT bal('HOT');
SELECT pg_wallet.fold_deltas('HOT');
SELECT pg_wallet.fold_deltas('HOT');
SELECT bal('HOT');
SELECT status FROM pg_wallet.transfer('PAYERS', 'HOT', 7);
SELECT pg_wallet.fold_deltas();
SELECT a.balance AS stored,
       (SELECT count(*) FROM pg_wallet.account_deltas d WHERE d.account_id = a.id) AS deltas
FROM pg_wallet.accounts a WHERE a.account_number = 'HOT';
SELECT err($$SELECT pg_wallet.fold_deltas('NOPE')$$);
SELECT err($$SELECT pg_wallet.fold_deltas(NULL, 0)$$);

-- holds on a DEFERRED account count its unfolded credits
SELECT status FROM pg_wallet.transfer('PAYERS', 'HOT', 100);
SELECT amount FROM pg_wallet.place_hold('HOT', 120, 'COLD');
SELECT bal('HOT');
SELECT count(*) FROM (SELECT pg_wallet.post_hold(h.id) FROM pg_wallet.holds h
                      WHERE h.status = 'ACTIVE' AND h.amount = 12000) t;
SELECT bal('HOT'), bal('COLD');
-- closing counts the deltas too
SELECT err($$SELECT pg_wallet.set_account_status('HOT', 'CLOSED')$$);

-- a DEFERRED account that can_overdraw has no funds check, so its debits are deltas too:
-- a hot source (a partner's settlement or float account) is never locked either
SELECT account_number FROM pg_wallet.create_account(:m, 'KES', 'SETTLEMENT', 'HOT-SRC',
	can_overdraw => true, credit_mode => 'DEFERRED');
SELECT count(*) FROM (
	SELECT pg_wallet.transfer('HOT-SRC', 'COLD', 1)
	UNION ALL SELECT pg_wallet.transfer('HOT-SRC', 'COLD', 2)
	UNION ALL SELECT pg_wallet.transfer('PAYERS', 'HOT-SRC', 0.5)) t;
SELECT a.balance AS stored, a.version,
       (SELECT string_agg(d.amount::text, ',' ORDER BY d.entry_id) FROM pg_wallet.account_deltas d
        WHERE d.account_id = a.id) AS deltas
FROM pg_wallet.accounts a WHERE a.account_number = 'HOT-SRC';
SELECT bal('HOT-SRC');
SELECT side, amount, balance_after FROM pg_wallet.list_entries('HOT-SRC');
SELECT pg_wallet.fold_deltas('HOT-SRC');
SELECT a.balance AS stored, a.version FROM pg_wallet.accounts a WHERE a.account_number = 'HOT-SRC';
SELECT bal('HOT-SRC');

SELECT ledger_ok();
