-- The posting core: post_journal, credit, debit, transfer; balance rules; idempotency.

SELECT pg_wallet.create_owner('partner', 'M-Pesa') AS mpesa \gset
SELECT pg_wallet.create_owner('user', 'Bob') AS bob \gset
SELECT pg_wallet.create_owner('user', 'Carol') AS carol \gset
SELECT pg_wallet.create_owner('platform', 'Fees') AS fees \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:mpesa, 'KES', 'SETTLEMENT', 'P-KES', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:mpesa, 'USD', 'SETTLEMENT', 'P-USD',
	                                          can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:bob, 'KES', 'WALLET', 'BOB')
	UNION ALL SELECT pg_wallet.create_account(:bob, 'USD', 'WALLET', 'BOB-USD')
	UNION ALL SELECT pg_wallet.create_account(:carol, 'KES', 'WALLET', 'CAROL')
	UNION ALL SELECT pg_wallet.create_account(:carol, 'KES', 'WALLET', 'CAROL-FLOOR', 5)
	UNION ALL SELECT pg_wallet.create_account(:carol, 'KES', 'WALLET', 'CAROL-OD', -20)
	UNION ALL SELECT pg_wallet.create_account(:fees, 'KES', 'FEE_INCOME', 'FEES-KES')) a;

-- credit, debit, transfer: status, replayed, and the receipt code's shape
SELECT status, replayed, receipt_code ~ '^RCP-[0-9]{4}-[0-9]{18}$' AS receipt_ok,
       sqlstate, message
FROM pg_wallet.credit('BOB', 100.00, 'P-KES', 'dep-bob-1', 'Deposit', '{"channel": "stk"}');
SELECT bal('BOB'), bal('P-KES');
SELECT status FROM pg_wallet.transfer('BOB', 'CAROL', 30.25);
SELECT status FROM pg_wallet.debit('CAROL', 0.25, 'P-KES');
SELECT bal('BOB'), bal('CAROL'), bal('P-KES');

-- a multi-leg journal with a fee leg: 10.00 from Bob, 9.50 to Carol, 0.50 fee
SELECT status FROM pg_wallet.post_journal('PAYMENT', '[
	{"account": "BOB", "side": "DR", "amount": "10.00", "description": "pay Carol"},
	{"account": "CAROL", "side": "CR", "amount": 9.5},
	{"account": "FEES-KES", "side": "CR", "amount": "0.50", "description": "fee"}]');
SELECT bal('BOB'), bal('CAROL'), bal('FEES-KES');

-- a multi-currency journal: each currency sums to zero on its own
SELECT status FROM pg_wallet.post_journal('FX_CONVERSION', '[
	{"account": "BOB", "side": "DR", "amount": 13},
	{"account": "P-KES", "side": "CR", "amount": 13},
	{"account": "P-USD", "side": "DR", "amount": 0.1},
	{"account": "BOB-USD", "side": "CR", "amount": 0.1}]');
SELECT bal('BOB'), bal('BOB-USD');
SELECT err($$SELECT pg_wallet.post_journal('FX_CONVERSION', '[
	{"account": "BOB", "side": "DR", "amount": 13},
	{"account": "BOB-USD", "side": "CR", "amount": 13}]')$$);

-- balance rules: the floor is minimum_balance; negative minimum is an overdraft limit
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 1000)$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 46.76)$$);
SELECT status FROM pg_wallet.transfer('BOB', 'CAROL', 46.75);
SELECT bal('BOB');
SELECT status FROM pg_wallet.credit('CAROL-FLOOR', 10, 'P-KES');
SELECT err($$SELECT pg_wallet.debit('CAROL-FLOOR', 5.01, 'P-KES')$$);
SELECT status FROM pg_wallet.debit('CAROL-FLOOR', 5, 'P-KES');
SELECT status FROM pg_wallet.debit('CAROL-OD', 20, 'P-KES');
SELECT err($$SELECT pg_wallet.debit('CAROL-OD', 0.01, 'P-KES')$$);
SELECT bal('CAROL-FLOOR'), bal('CAROL-OD');
-- a credit is never refused for funds, even to an account below its floor
SELECT status FROM pg_wallet.credit('CAROL-OD', 1, 'P-KES');
-- can_overdraw accounts have no floor
SELECT bal('P-KES');

-- idempotency: same key and payload replays; another payload conflicts
SELECT status, replayed FROM pg_wallet.credit('BOB', 100.00, 'P-KES', 'dep-bob-1', 'Deposit',
                                              '{"channel": "stk"}');
SELECT status, replayed FROM pg_wallet.credit('BOB', 100.0, 'P-KES', 'dep-bob-1', 'Deposit',
                                              '{"channel": "stk"}');
SELECT err($$SELECT pg_wallet.credit('BOB', 100.01, 'P-KES', 'dep-bob-1', 'Deposit',
                                     '{"channel": "stk"}')$$);
SELECT err($$SELECT pg_wallet.credit('BOB', 100.00, 'P-KES', 'dep-bob-1', 'Deposit')$$);
-- the key is BOB's owner's (test 15 shows another owner's key space is its own)
SELECT err($$SELECT pg_wallet.debit('BOB', 1.00, 'P-KES', 'dep-bob-1')$$);
SELECT count(*) AS journals_under_key FROM pg_wallet.journals
WHERE idempotency_key = 'dep-bob-1';
SELECT bal('BOB');
-- a replay still answers after the account was locked
SELECT status FROM pg_wallet.set_account_status('BOB', 'LOCKED');
SELECT status, replayed FROM pg_wallet.credit('BOB', 100.00, 'P-KES', 'dep-bob-1', 'Deposit',
                                              '{"channel": "stk"}');
SELECT status FROM pg_wallet.set_account_status('BOB', 'ACTIVE');

-- a refusal recorded under its key is the answer to every retry, even once funds arrive
SELECT status, replayed, sqlstate, message FROM pg_wallet.post_journal('TRANSFER',
	'[{"account": "CAROL", "side": "DR", "amount": 5000},
	  {"account": "BOB", "side": "CR", "amount": 5000}]', 'big-1', record_refusal => true);
SELECT status FROM pg_wallet.credit('CAROL', 10000, 'P-KES');
SELECT status, replayed, sqlstate FROM pg_wallet.post_journal('TRANSFER',
	'[{"account": "CAROL", "side": "DR", "amount": 5000},
	  {"account": "BOB", "side": "CR", "amount": 5000}]', 'big-1', record_refusal => true);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": "CAROL", "side": "DR", "amount": 5000},
	  {"account": "BOB", "side": "CR", "amount": 5000}]', 'big-1')$$);
SELECT status, replayed, sqlstate, message FROM pg_wallet.post_journal('TRANSFER',
	'[{"account": "CAROL", "side": "DR", "amount": 4000},
	  {"account": "BOB", "side": "CR", "amount": 4000}]', 'big-1', record_refusal => true);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER', '[]', NULL, record_refusal => true)$$);
-- the same for transfer, credit and debit
SELECT status, replayed, sqlstate FROM pg_wallet.transfer('BOB', 'CAROL', 100000, 'big-2',
	record_refusal => true);
SELECT status FROM pg_wallet.credit('BOB', 200000, 'P-KES');
SELECT status, replayed, sqlstate FROM pg_wallet.transfer('BOB', 'CAROL', 100000, 'big-2',
	record_refusal => true);
SELECT status, replayed FROM pg_wallet.debit('BOB', 200000, 'P-KES', 'big-3',
	record_refusal => true);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 1, record_refusal => true)$$);

-- validation: every malformed request is refused and changes nothing
SELECT count(*) AS journals_before FROM pg_wallet.journals \gset
SELECT err($$SELECT pg_wallet.transfer('BOB', 'BOB', 1)$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'NOPE', 1)$$);
SELECT err($$SELECT pg_wallet.transfer('NOPE', 'BOB', 1)$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'BOB-USD', 1)$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 0)$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', -1)$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 0.001)$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 'NaN')$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', NULL)$$);
SELECT err($$SELECT pg_wallet.transfer(NULL, 'CAROL', 1)$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 1, repeat('k', 129))$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 1, '')$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 1, NULL, repeat('d', 501))$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 1, NULL, NULL, '[1, 2]')$$);
SELECT err($$SELECT pg_wallet.transfer('BOB', 'CAROL', 1, NULL, NULL,
                                       jsonb_build_object('x', repeat('m', 9000)))$$);
SELECT err($$SELECT pg_wallet.transfer(repeat('A', 65), 'CAROL', 1)$$);
SELECT err($$SELECT pg_wallet.post_journal('transfer', '[]')$$);
SELECT err($$SELECT pg_wallet.post_journal('T', '[]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER', NULL)$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER', '{}')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER', '[1, 2]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": "BOB", "side": "DR", "amount": 1}]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER', (SELECT jsonb_agg(
	jsonb_build_object('account', 'BOB', 'side', 'DR', 'amount', 1)) FROM generate_series(1, 65)))$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": "BOB", "side": "LEFT", "amount": 1}, {"account": "CAROL", "side": "CR", "amount": 1}]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": "BOB", "side": "DR"}, {"account": "CAROL", "side": "CR", "amount": 1}]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": "BOB", "side": "DR", "amount": true}, {"account": "CAROL", "side": "CR", "amount": 1}]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": 7, "side": "DR", "amount": 1}, {"account": "CAROL", "side": "CR", "amount": 1}]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"side": "DR", "amount": 1}, {"account": "CAROL", "side": "CR", "amount": 1}]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": "BOB", "side": "DR", "amount": "1.5"}, {"account": "CAROL", "side": "CR", "amount": "1.49"}]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": "BOB", "side": "DR", "amount": "abc"}, {"account": "CAROL", "side": "CR", "amount": 1}]')$$);
SELECT err($$SELECT pg_wallet.post_journal('TRANSFER',
	'[{"account": "BOB", "side": "DR", "amount": 92233720368547758.07},
	  {"account": "CAROL", "side": "CR", "amount": 92233720368547758.07},
	  {"account": "CAROL", "side": "CR", "amount": 92233720368547758.07}]')$$);
SELECT count(*) - :journals_before AS journals_added FROM pg_wallet.journals;

-- balance_after on every entry, and the entries of a journal
SELECT a.account_number, e.leg, e.side, e.amount, e.balance_after
FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
WHERE e.journal_id = (SELECT max(id) FROM pg_wallet.journals WHERE journal_type = 'PAYMENT')
ORDER BY e.leg;

SELECT ledger_ok();
