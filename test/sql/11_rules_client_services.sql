-- Client services (wallet-as-a-service): every CREDIT, DEBIT and transfer that names one is
-- checked against it inside the posting, and pays its fee.

SELECT pg_wallet.create_owner('client', 'Emlyn', 'client-emlyn') AS client \gset
SELECT pg_wallet.create_owner('client', 'Other client') AS other \gset
SELECT pg_wallet.create_owner('partner', 'Collections rail') AS rail \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:rail, 'UGX', 'SETTLEMENT', 'CS-RAIL', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:client, 'UGX', 'FLOAT_ACCOUNT', 'CS-FLOAT')
	UNION ALL SELECT pg_wallet.create_account(:client, 'UGX', 'AVAILABLE_COLLECTIONS', 'CS-COLL')
	UNION ALL SELECT pg_wallet.create_account(:other, 'UGX', 'WALLET', 'CS-OTHER')) a;

-- a service with a 4% fee, 1 to 100,000 per transaction, both directions
SELECT s - 'created_at' - 'client_service_id' - 'client_owner_id' AS service
FROM pg_wallet.create_client_service(:client, 'Payout UGX Kampala', 'CUSTOM_SERVICE', 1, 100000,
	fee_kind => 'PERCENTAGE', fee_value => 4, code => 'PAY1CNAELX') s;
-- a credit-only service without a fee, with a generated code
SELECT s->>'client_service_code' ~ '^COL[0-9A-F]{7}$' AS generated_code,
       s->'has_transaction_fee' AS has_fee, s->'allow_debit' AS allow_debit
FROM pg_wallet.create_client_service(:client, 'Collections', 'COLLECTION', 1, 5000000,
	allow_debit => false) s;
SELECT s->>'client_service_code' AS collect FROM pg_wallet.list_client_services(:client) s
WHERE s->>'service_code' = 'COLLECTION' \gset
SELECT count(*) FROM pg_wallet.list_client_services(:client);

-- CREDIT: the fee comes out of the credited amount (4% of 100 = 4, the wallet gets 96)
SELECT status, fee FROM pg_wallet.credit('CS-FLOAT', 100, 'CS-RAIL', 'cs-1', NULL, NULL,
                                         'PAY1CNAELX');
SELECT bal('CS-FLOAT'), bal('SYS-FEE-UGX');
-- DEBIT: the fee is added (50 + 2)
SELECT status, fee FROM pg_wallet.debit('CS-FLOAT', 50, 'CS-RAIL', 'cs-2', NULL, NULL,
                                        'PAY1CNAELX');
SELECT bal('CS-FLOAT');
-- transfer between the client's accounts under the service
SELECT status, fee FROM pg_wallet.transfer('CS-FLOAT', 'CS-COLL', 25, NULL, NULL, NULL,
                                           'PAY1CNAELX');
SELECT bal('CS-FLOAT'), bal('CS-COLL');
-- the credit-only service takes credits and refuses debits
SELECT status, fee FROM pg_wallet.credit('CS-COLL', 1000, 'CS-RAIL', NULL, NULL, NULL, :'collect');
SELECT regexp_replace(err(format($$SELECT pg_wallet.debit('CS-COLL', 1, 'CS-RAIL', NULL, NULL,
	NULL, %L)$$, :'collect')), 'COL[0-9A-F]{7}', 'COL…');

-- refusals: limits, ownership, unknown and inactive services; nothing is posted
SELECT count(*) AS journals_before FROM pg_wallet.journals \gset
SELECT err($$SELECT pg_wallet.credit('CS-FLOAT', 100001, 'CS-RAIL', NULL, NULL, NULL, 'PAY1CNAELX')$$);
SELECT err($$SELECT pg_wallet.debit('CS-FLOAT', 0.5, 'CS-RAIL', NULL, NULL, NULL, 'PAY1CNAELX')$$);
SELECT err($$SELECT pg_wallet.credit('CS-OTHER', 10, 'CS-RAIL', NULL, NULL, NULL, 'PAY1CNAELX')$$);
SELECT err($$SELECT pg_wallet.transfer('CS-OTHER', 'CS-FLOAT', 1, NULL, NULL, NULL, 'PAY1CNAELX')$$);
SELECT err($$SELECT pg_wallet.credit('CS-FLOAT', 10, 'CS-RAIL', NULL, NULL, NULL, 'NOPE123')$$);
SELECT s->'is_active' FROM pg_wallet.set_client_service_active('PAY1CNAELX', false) s;
SELECT err($$SELECT pg_wallet.credit('CS-FLOAT', 10, 'CS-RAIL', NULL, NULL, NULL, 'PAY1CNAELX')$$);
SELECT count(*) - :journals_before AS journals_added FROM pg_wallet.journals;
SELECT s->'is_active' FROM pg_wallet.set_client_service_active('PAY1CNAELX', true) s;
-- a credit whose fee is larger than the amount is refused
SELECT pg_wallet.create_client_service(:client, 'Fixed fee', 'FIXED_FEE', 1, 1000,
	fee_kind => 'FIXED', fee_value => 5, code => 'FIXED5') IS NOT NULL AS created;
SELECT err($$SELECT pg_wallet.credit('CS-FLOAT', 3, 'CS-RAIL', NULL, NULL, NULL, 'FIXED5')$$);
SELECT status, fee FROM pg_wallet.credit('CS-FLOAT', 5, 'CS-RAIL', NULL, NULL, NULL, 'FIXED5');
-- the quote for a service matches what it charges
SELECT fee, bearer FROM pg_wallet.calculate_fee('DEPOSIT', 100, 'UGX', 'PAY1CNAELX');
SELECT fee, bearer FROM pg_wallet.calculate_fee('WITHDRAWAL', 100, 'UGX', 'PAY1CNAELX');
-- a batch item names its service
SELECT item, status, sqlstate FROM pg_wallet.post_transfers('[
	{"from": "CS-FLOAT", "to": "CS-COLL", "amount": 10, "client_service_code": "PAY1CNAELX"},
	{"from": "CS-OTHER", "to": "CS-COLL", "amount": 10, "client_service_code": "PAY1CNAELX"}]',
	false);

-- administration refusals
SELECT err(format($$SELECT pg_wallet.create_client_service(%s, 'X', 'X_SVC', 1, 10,
	code => 'PAY1CNAELX')$$, :client));
SELECT err($$SELECT pg_wallet.create_client_service(999999, 'X', 'X_SVC', 1, 10)$$);
SELECT err(format($$SELECT pg_wallet.create_client_service(%s, 'X', 'bad code', 1, 10)$$, :client));
SELECT err(format($$SELECT pg_wallet.create_client_service(%s, 'X', 'X_SVC', 10, 1)$$, :client));
SELECT err(format($$SELECT pg_wallet.create_client_service(%s, 'X', 'X_SVC', 1, 10,
	allow_credit => false, allow_debit => false)$$, :client));
SELECT err(format($$SELECT pg_wallet.create_client_service(%s, 'X', 'X_SVC', 1, 10,
	fee_kind => 'PERCENTAGE', fee_value => 101)$$, :client));
SELECT err(format($$SELECT pg_wallet.create_client_service(%s, 'X', 'X_SVC', 1, 10,
	fee_kind => 'TIERED', fee_value => 1)$$, :client));
SELECT err(format($$SELECT pg_wallet.create_client_service(%s, 'X', 'X_SVC', 0.00001, 10)$$,
	:client));
SELECT err($$SELECT pg_wallet.get_client_service('NOPE123')$$);
SELECT err($$SELECT pg_wallet.set_client_service_active('NOPE123', true)$$);

SELECT ledger_ok();
