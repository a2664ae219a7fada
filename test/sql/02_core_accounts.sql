-- Owners and accounts: creation, look-up, listing, status changes, and every refusal.

SELECT pg_wallet.create_owner('platform', 'Platform') AS platform_id \gset
SELECT pg_wallet.create_owner('user', 'Alice', 'user-alice', '{"tier": 1}') AS alice_id \gset
SELECT pg_wallet.create_owner('merchant', 'Shop') AS shop_id \gset

SELECT err($$SELECT pg_wallet.create_owner('robot', 'R2')$$);
SELECT err($$SELECT pg_wallet.create_owner(NULL, 'R2')$$);
SELECT err($$SELECT pg_wallet.create_owner('user', '')$$);
SELECT err($$SELECT pg_wallet.create_owner('user', repeat('x', 201))$$);
SELECT err($$SELECT pg_wallet.create_owner('user', 'Alice again', 'user-alice')$$);
SELECT err($$SELECT pg_wallet.create_owner('user', 'X', repeat('r', 101))$$);
SELECT err($$SELECT pg_wallet.create_owner('user', 'X', NULL, '[1]')$$);

-- explicit and generated account numbers
SELECT account_number, currency, purpose, minimum_balance, can_overdraw, credit_mode, status
FROM pg_wallet.create_account(:platform_id, 'KES', 'SETTLEMENT', 'ACC-MPESA-KES',
                              can_overdraw => true);
SELECT account_number ~ '^ACC-USER-KES-[0-9]+$' AS generated, minimum_balance, status
FROM pg_wallet.create_account(:alice_id, 'KES');
SELECT account_number, currency, minimum_balance, name
FROM pg_wallet.create_account(:alice_id, 'BHD', 'WALLET', 'ALICE-BHD', 1.5, name => 'Dinars');
SELECT account_number, minimum_balance
FROM pg_wallet.create_account(:alice_id, 'KES', 'WALLET', 'ALICE-OD', -50);
SELECT account_number, credit_mode
FROM pg_wallet.create_account(:shop_id, 'KES', 'AVAILABLE_COLLECTIONS', 'SHOP-KES',
                              credit_mode => 'DEFERRED');

-- refusals
SELECT err($$SELECT pg_wallet.create_account(999999, 'KES')$$);
SELECT err(format($$SELECT pg_wallet.create_account(%s, 'XYZ')$$, :alice_id));
SELECT err(format($$SELECT pg_wallet.create_account(%s, 'KES', 'PIGGY_BANK')$$, :alice_id));
SELECT err(format($$SELECT pg_wallet.create_account(%s, 'KES', 'WALLET', 'ACC-MPESA-KES')$$,
                  :alice_id));
SELECT err(format($$SELECT pg_wallet.create_account(%s, 'KES', 'WALLET', 'bad number!')$$,
                  :alice_id));
SELECT err(format($$SELECT pg_wallet.create_account(%s, 'KES', 'WALLET', repeat('a', 65))$$,
                  :alice_id));
SELECT err(format($$SELECT pg_wallet.create_account(%s, 'KES', 'WALLET', NULL, 0.001)$$,
                  :alice_id));
SELECT err(format($$SELECT pg_wallet.create_account(%s, 'KES', credit_mode => 'LAZY')$$,
                  :alice_id));
SELECT err(format($$SELECT pg_wallet.create_account(%s, 'KES', metadata => '"x"')$$,
                  :alice_id));

-- look-up and listing with pagination
SELECT account_number, currency, status FROM pg_wallet.get_account('ALICE-BHD');
SELECT err($$SELECT pg_wallet.get_account('NOPE')$$);
SELECT regexp_replace(account_number, '-[0-9]+$', '-<id>') AS account_number
FROM pg_wallet.list_accounts(:alice_id) ORDER BY account_id;
SELECT count(*) FROM pg_wallet.list_accounts(:alice_id, 2);
SELECT account_number FROM pg_wallet.list_accounts(:alice_id, 2,
	(SELECT max(account_id) FROM pg_wallet.list_accounts(:alice_id, 2)));
SELECT err(format($$SELECT pg_wallet.list_accounts(%s, 0)$$, :alice_id));
SELECT err(format($$SELECT pg_wallet.list_accounts(%s, 1001)$$, :alice_id));
SELECT count(*) FROM pg_wallet.list_accounts(999999);

-- statuses: LOCKED and INACTIVE accounts refuse postings, CLOSED needs a zero balance
SELECT (pg_wallet.credit('ALICE-OD', 10, 'ACC-MPESA-KES')).status AS funded;
SELECT status, status_reason FROM pg_wallet.set_account_status('ALICE-OD', 'LOCKED', 'fraud');
SELECT err($$SELECT pg_wallet.credit('ALICE-OD', 1, 'ACC-MPESA-KES')$$);
SELECT err($$SELECT pg_wallet.debit('ALICE-OD', 1, 'ACC-MPESA-KES')$$);
SELECT status FROM pg_wallet.set_account_status('ALICE-OD', 'INACTIVE');
SELECT err($$SELECT pg_wallet.credit('ALICE-OD', 1, 'ACC-MPESA-KES')$$);
SELECT err($$SELECT pg_wallet.set_account_status('ALICE-OD', 'CLOSED')$$);
SELECT status FROM pg_wallet.set_account_status('ALICE-OD', 'ACTIVE');
SELECT (pg_wallet.debit('ALICE-OD', 10, 'ACC-MPESA-KES')).status AS emptied;
SELECT status FROM pg_wallet.set_account_status('ALICE-OD', 'CLOSED', 'customer request');
SELECT err($$SELECT pg_wallet.set_account_status('ALICE-OD', 'ACTIVE')$$);
SELECT err($$SELECT pg_wallet.credit('ALICE-OD', 1, 'ACC-MPESA-KES')$$);
SELECT err($$SELECT pg_wallet.set_account_status('ALICE-BHD', 'FROZEN')$$);
SELECT err($$SELECT pg_wallet.set_account_status('NOPE', 'LOCKED')$$);
SELECT err($$SELECT pg_wallet.set_account_status('ALICE-BHD', 'LOCKED', repeat('r', 501))$$);
SELECT status FROM pg_wallet.get_account('ALICE-BHD');

SELECT ledger_ok();
