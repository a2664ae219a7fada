-- What a party may see of another, and the spec shapes the API functions answer (issue 11,
-- issue 10 findings 5, 9, 10), through the profiles' own functions: a cashier receipt shows
-- a party only its own balances; WaaS gives each leg its own id and REVERSE takes either;
-- Sellapay tells a recipient that cannot receive like an unknown one and answers 402 before
-- the KYC limit; Tribble names the refused field (COLUMN) and answers WL038 for a phone.

CREATE FUNCTION cashier42(tok text, t text, d jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.api_cashier_message(tok, jsonb_build_object('body',
		jsonb_build_object('type', t, 'data', d)))
$$;

SELECT principal_id AS pa, owner_id AS oa FROM pg_wallet.register_user('spec42.a@example.com',
	'Secret123', 'Spec', 'A', '0712999421') \gset
SELECT principal_id AS pb, owner_id AS ob FROM pg_wallet.register_user('spec42.b@example.com',
	'Secret123', 'Spec', 'B', '0712999422') \gset
SELECT principal_id AS pc, owner_id AS oc FROM pg_wallet.register_user('spec42.c@example.com',
	'Secret123', 'Spec', 'C', '0712999423') \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:oa, 'KES', 'WALLET', 'S42-A')
	UNION ALL SELECT pg_wallet.create_account(:ob, 'KES', 'WALLET', 'S42-B')
	UNION ALL SELECT pg_wallet.create_account(:oc, 'KES', 'WALLET', 'S42-C')
	UNION ALL SELECT pg_wallet.create_account(:ob, 'USD', 'WALLET', 'S42-B-USD')) a;
SELECT status FROM pg_wallet.credit('S42-A', 100, 'SYS-SUSPENSE-KES');
SELECT access_token AS tok_a FROM pg_wallet.login('spec42.a@example.com', 'Secret123',
	'cashier') \gset
SELECT access_token AS tok_b FROM pg_wallet.login('spec42.b@example.com', 'Secret123',
	'cashier') \gset
SELECT access_token AS tok_c FROM pg_wallet.login('spec42.c@example.com', 'Secret123',
	'cashier') \gset

-- ---------------------------------------------------------------------------------------
-- cashier: A pays B; each sees its own balance_after, never the other's (finding 5)
SELECT f #>> '{data,data,receipt_code}' AS rcp FROM cashier42(:'tok_a', 'transfer',
	jsonb_build_object('to_user_id', :'pb', 'amount', 1, 'currency', 'KES')) f \gset
SELECT f ->> 'type' AS type, f #>> '{data,message}' AS message,
       f #>> '{data,data,journal,transaction_type}' AS transaction_type,
       jsonb_path_query_array(f, '$.data.data.ledgers[*].account_number') AS accounts,
       jsonb_path_query_array(f, '$.data.data.ledgers[*].type') AS types,
       jsonb_path_query_array(f, '$.data.data.ledgers[*].balance_after') AS balances,
       f #> '{data,data,fees}' AS fees
FROM cashier42(:'tok_b', 'get_transaction_by_receipt', jsonb_build_object('receipt_code', :'rcp')) f;
SELECT jsonb_path_query_array(f, '$.data.data.ledgers[*].account_number') AS accounts,
       jsonb_path_query_array(f, '$.data.data.ledgers[*].balance_after') AS balances
FROM cashier42(:'tok_a', 'get_transaction_by_receipt', jsonb_build_object('receipt_code', :'rcp')) f;
SELECT err_col(format('SELECT cashier42(%L, %L, %L)', :'tok_c', 'get_transaction_by_receipt',
	jsonb_build_object('receipt_code', :'rcp'))) AS third_party;
-- the spec's texts
SELECT f #>> '{data,message}' AS zero_transfer FROM cashier42(:'tok_a', 'transfer',
	jsonb_build_object('to_user_id', :'pb', 'amount', 0, 'currency', 'KES')) f;
SELECT f #>> '{data,message}' AS no_target FROM cashier42(:'tok_a', 'calculate_fee',
	'{"transaction_type": "conversion", "amount": 10, "source_currency": "KES"}') f;
SELECT f #>> '{data,message}' AS unknown_type FROM cashier42(:'tok_a', 'calculate_fee',
	'{"transaction_type": "gift", "amount": 10, "source_currency": "KES"}') f;
SELECT f #>> '{data,message}' AS message FROM cashier42(:'tok_a', 'get_owner_summary', '{}') f;

-- ---------------------------------------------------------------------------------------
-- Sellapay: a recipient that cannot receive is told like an unknown one (findings 9, 10)
SELECT access_token AS sp_a FROM pg_wallet.login('spec42.a@example.com', 'Secret123',
	'sellapay') \gset
CREATE FUNCTION send42(acct text, amount numeric) RETURNS text LANGUAGE sql AS $$
	SELECT err_col(format('SELECT pg_wallet.api_sellapay_send_funds_to_sellapay(%L, %L)',
		current_setting('spec42.sp_a'), jsonb_build_object('body',
			jsonb_build_object('account', acct, 'amount', amount))))
$$;
SELECT set_config('spec42.sp_a', :'sp_a', false) IS NOT NULL AS set;
SELECT send42('S42-NOBODY', 1) AS unknown;
SELECT send42('S42-B-USD', 1) AS other_currency;
SELECT status FROM pg_wallet.set_account_status('S42-C', 'INACTIVE', 'test');
SELECT send42('S42-C', 1) AS inactive;
SELECT status FROM pg_wallet.set_account_status('S42-C', 'ACTIVE', 'test');
-- beyond the balance and the tier-0 limit (1,000 KES): the 402 body, returned first
SELECT r #>> '{error,code}' AS code, r #> '{error,body}' AS body
FROM pg_wallet.api_sellapay_send_funds_to_sellapay(:'sp_a',
	'{"body": {"account": "S42-C", "amount": 5000}}') r;

-- ---------------------------------------------------------------------------------------
-- Tribble: the refused field is named (COLUMN); a malformed phone is WL038 (422)
SELECT err_col($$SELECT pg_wallet.api_tribble_register(NULL, '{"body": {"email": "t42@example.com",
	"password": "Secret123", "firstName": "T", "lastName": "F", "phoneNumber": "12ab"}}')$$)
	AS phone;
SELECT err_col($$SELECT pg_wallet.api_tribble_register(NULL, '{"body": {"email": "t42@example.com",
	"password": "Secret123", "firstName": "T", "phoneNumber": "+234801234567"}}')$$)
	AS missing;
SELECT err_col($$SELECT pg_wallet.api_tribble_register(NULL, '{"body": {"email": "t42@example.com",
	"password": "short", "firstName": "T", "lastName": "F", "phoneNumber": "+234801234567"}}')$$)
	AS weak;

-- ---------------------------------------------------------------------------------------
-- WaaS: a transfer's legs have ids of their own, either one names the transfer to REVERSE
SELECT owner_id AS ot FROM pg_wallet.create_principal('client', username => 'tenant42',
	password => 'Secret123') \gset
SELECT pg_wallet.create_owner('client', 'Client 42', 'waas:C42',
	jsonb_build_object('waas', jsonb_build_object('tenant_owner_id', :ot))) AS ocl \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:ocl, 'KES', 'WALLET', 'W42-1')
	UNION ALL SELECT pg_wallet.create_account(:ocl, 'KES', 'WALLET', 'W42-2')) a;
SELECT pg_wallet.create_client_service(:ocl, 'Svc 42', 'S42', 1, 1000, true, true)
	->> 'client_service_code' AS svc \gset
SELECT status FROM pg_wallet.credit('W42-1', 50, 'SYS-SUSPENSE-KES');
SELECT access_token AS tok_w FROM pg_wallet.login_client('tenant42', 'Secret123', 'waas') \gset
SELECT r #>> '{source_transaction,transaction_id}' AS leg1,
       r #>> '{destination_transaction,transaction_id}' AS leg2
FROM pg_wallet.api_waas_transfer(:'tok_w', jsonb_build_object('body', jsonb_build_object(
	'source_account_number', 'W42-1', 'destination_account_number', 'W42-2',
	'client_service_code', :'svc', 'transaction_amount', 5, 'source_transaction_id', 't42',
	'transaction_source', 'INTERNAL', 'transaction_date', '2024-01-01'))) r \gset
SELECT :'leg1' <> :'leg2' AS distinct_ids,
       (SELECT count(DISTINCT e.journal_id) FROM pg_wallet.entries e
        WHERE e.id IN (:'leg1'::bigint, :'leg2'::bigint)) AS journals;
SELECT r #>> '{source_transaction,account}' AS debited,
       r #>> '{destination_transaction,account}' AS credited,
       r #>> '{source_transaction,transaction_id}' <> r #>> '{destination_transaction,transaction_id}'
           AS distinct_ids
FROM pg_wallet.api_waas_reverse(:'tok_w', jsonb_build_object('path',
	jsonb_build_object('id', :'leg2'), 'query', jsonb_build_object('command', 'REVERSE'))) r;
SELECT err_col(format('SELECT pg_wallet.api_waas_reverse(%L, %L)', :'tok_w', jsonb_build_object(
	'path', jsonb_build_object('id', '999999999'), 'query',
	jsonb_build_object('command', 'REVERSE')))) AS unknown_id;
-- a returned refusal: the SQLSTATE for the bridge's status, a public code for the client
SELECT r #>> '{error,code}' AS sqlstate, r #>> '{error,body,error,code}' AS code,
       jsonb_array_length(r #> '{error,body,error,details}') AS details
FROM pg_wallet.api_waas_create_client(:'tok_w', '{"body": {"client_name": "X"}}') r;

SELECT ledger_ok();
