-- One rule per question, shared by every API profile (sql/api/common.sql, core accounts):
-- "this account belongs to the caller" (_owned_account over _owns) and "the owner's default
-- wallet" (_owner_wallet), driven here through the profiles' own API functions. A foreign
-- account number is refused by cashier, Tribble and WaaS with the same error, byte for
-- byte, as an unknown one; a WaaS tenant reaches its clients' accounts but not its own or a
-- user's; cashier transfers and Sellapay balances use the same default wallet (not CLOSED,
-- the ACTIVE one first), and Sellapay opens its KES wallet once.

-- the read of one account in each profile: 'no error' or "SQLSTATE: message"
CREATE FUNCTION scope_read(profile text, tok text, acct text) RETURNS text LANGUAGE sql AS $$
	SELECT CASE profile
		WHEN 'waas' THEN err(format('SELECT pg_wallet.api_waas_get_balance(%L, %L)', tok,
			jsonb_build_object('path', jsonb_build_object('id', acct))))
		WHEN 'cashier' THEN err(format('SELECT pg_wallet.api_cashier_message(%L, %L)', tok,
			jsonb_build_object('body', jsonb_build_object('type', 'get_account_balance',
				'data', jsonb_build_object('account_number', acct)))))
		WHEN 'tribble' THEN err(format('SELECT pg_wallet.api_tribble_wallet(%L, %L)', tok,
			jsonb_build_object('path', jsonb_build_object('id', acct))))
	END
$$;
CREATE FUNCTION cashier(tok text, t text, d jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.api_cashier_message(tok, jsonb_build_object('body',
		jsonb_build_object('type', t, 'data', d)))
$$;

-- users U and V (cashier, Tribble, Sellapay), a WaaS tenant T with one client C
SELECT principal_id AS pu, owner_id AS ou FROM pg_wallet.register_user('scope.u@example.com',
	'Secret123', 'Scope', 'U', '0712999041') \gset
SELECT principal_id AS pv, owner_id AS ov FROM pg_wallet.register_user('scope.v@example.com',
	'Secret123', 'Scope', 'V', '0712999042') \gset
SELECT owner_id AS ot FROM pg_wallet.create_principal('client', username => 'tenant41',
	password => 'Secret123') \gset
SELECT pg_wallet.create_owner('client', 'Client 41', 'waas:C41',
	jsonb_build_object('waas', jsonb_build_object('tenant_owner_id', :ot))) AS oc \gset
SELECT pg_wallet.create_owner('partner', 'Bank 41') AS obank \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:obank, 'KES', 'SETTLEMENT', 'S41-BANK', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:ou, 'KES', 'WALLET', 'S41-U')
	UNION ALL SELECT pg_wallet.create_account(:ov, 'KES', 'WALLET', 'S41-V')
	UNION ALL SELECT pg_wallet.create_account(:oc, 'KES', 'WALLET', 'S41-C')
	UNION ALL SELECT pg_wallet.create_account(:ot, 'KES', 'WALLET', 'S41-T')) a;
SELECT status FROM pg_wallet.credit('S41-U', 100, 'S41-BANK');
SELECT access_token AS tok_cashier FROM pg_wallet.login('scope.u@example.com', 'Secret123',
	'cashier') \gset
SELECT access_token AS tok_tribble FROM pg_wallet.login('scope.u@example.com', 'Secret123',
	'tribble') \gset
SELECT access_token AS tok_waas FROM pg_wallet.login_client('tenant41', 'Secret123', 'waas') \gset

-- ---------------------------------------------------------------------------------------
-- "this account belongs to the caller": one lookup, one refusal, in every profile
-- ---------------------------------------------------------------------------------------
SELECT p.profile, a.label, scope_read(p.profile, p.tok, a.number) AS result
FROM (VALUES ('cashier', :'tok_cashier'), ('tribble', :'tok_tribble'), ('waas', :'tok_waas'))
	p(profile, tok),
	(VALUES (1, 'user U', 'S41-U'), (2, 'user V', 'S41-V'), (3, 'T''s client C', 'S41-C'),
	        (4, 'tenant T itself', 'S41-T'), (5, 'unknown', 'S41-NONE'),
	        (6, '65 characters', repeat('x', 65)), (7, 'null', NULL)) a(n, label, number)
ORDER BY p.profile, a.n;
-- every refusal, of every profile, is the same error: a foreign number is an unknown one
SELECT count(*) AS refusals, count(DISTINCT r) AS distinct_errors, min(r) AS the_error
FROM (SELECT scope_read(p, t, n) AS r
      FROM (VALUES ('cashier', :'tok_cashier'), ('tribble', :'tok_tribble'),
                   ('waas', :'tok_waas')) x(p, t),
           (VALUES ('S41-U'), ('S41-V'), ('S41-C'), ('S41-T'), ('S41-NONE')) y(n)) z
WHERE r <> 'no error';
-- the paths that move money refuse the same way: WaaS transfer out of a user's account,
-- Tribble funding of V's wallet, cashier ledgers of V's account
SELECT err(format('SELECT pg_wallet.api_waas_transfer(%L, %L)', :'tok_waas', jsonb_build_object(
	'body', jsonb_build_object('source_account_number', 'S41-V',
		'destination_account_number', 'S41-C', 'client_service_code', 'NONE41',
		'transaction_amount', 1, 'source_transaction_id', 'x41', 'transaction_source', 'API',
		'transaction_date', '2025-01-01')))) AS waas_transfer;
SELECT err(format('SELECT pg_wallet.api_tribble_fund(%L, %L)', :'tok_tribble', jsonb_build_object(
	'body', jsonb_build_object('walletId', 'S41-V', 'paymentMethodId', 'card-41',
		'amount', 1)))) AS tribble_fund;
SELECT err(format('SELECT cashier(%L, %L, %L)', :'tok_cashier', 'get_ledgers',
	jsonb_build_object('account_number', 'S41-V'))) AS cashier_ledgers;
-- and the owner's own account passes the same lookup on the same paths
SELECT cashier(:'tok_cashier', 'get_ledgers', '{"account_number": "S41-U"}')
	#>> '{data,data,total}' AS own_ledger_entries;

-- ---------------------------------------------------------------------------------------
-- "the owner's default wallet": not CLOSED, the ACTIVE one first, then the oldest
-- ---------------------------------------------------------------------------------------
-- V gets a newer KES wallet and its first is LOCKED: a cashier transfer to V lands in the
-- ACTIVE one, and V's Sellapay balance is that wallet's
SELECT (pg_wallet.create_account(:ov, 'KES', 'WALLET', 'S41-V2')).account_number;
SELECT status FROM pg_wallet.set_account_status('S41-V', 'LOCKED', 'test');
SELECT f ->> 'type' AS type, f #>> '{data,message}' AS message, f #>> '{data,data,amount}' AS amount
FROM cashier(:'tok_cashier', 'transfer', jsonb_build_object('to_user_id', :'pv', 'amount', 10,
	'currency', 'kes', 'reference', 'scope-41')) f;
SELECT bal('S41-V'), bal('S41-V2');
SELECT access_token AS tok_sp_v FROM pg_wallet.login('scope.v@example.com', 'Secret123',
	'sellapay') \gset
SELECT b -> 'balance' AS balance, b ->> 'primary_currency' AS primary_currency
FROM pg_wallet.api_sellapay_get_balance(:'tok_sp_v', '{}') b;
-- back to the first wallet when it is ACTIVE again (the oldest of the ACTIVE ones)
SELECT status FROM pg_wallet.set_account_status('S41-V', 'ACTIVE', 'test');
SELECT f ->> 'type' AS type FROM cashier(:'tok_cashier', 'transfer', jsonb_build_object(
	'to_user_id', :'pv', 'amount', 5, 'currency', 'KES', 'reference', 'scope-41b')) f;
SELECT bal('S41-V'), bal('S41-V2');
-- no wallet in a currency: the same refusal from the cashier and from withdraw_request
SELECT err(format('SELECT cashier(%L, %L, %L)', :'tok_cashier', 'transfer',
	jsonb_build_object('to_user_id', :'pv', 'amount', 1, 'currency', 'EUR'))) AS cashier_eur;
SELECT err(format('SELECT pg_wallet.withdraw_request(%L, 1, %L, %L, NULL)', :'pu', 'EUR',
	'0712999041')) AS withdraw_eur;
-- Sellapay opens the caller's KES wallet on first use, once
SELECT principal_id AS pw, owner_id AS ow FROM pg_wallet.register_user('scope.w@example.com',
	'Secret123', 'Scope', 'W', '0712999043') \gset
SELECT access_token AS tok_sp_w FROM pg_wallet.login('scope.w@example.com', 'Secret123',
	'sellapay') \gset
SELECT b -> 'balance' AS balance, b ->> 'primary_currency' AS primary_currency
FROM pg_wallet.api_sellapay_get_balance(:'tok_sp_w', '{}') b;
SELECT b -> 'balance' AS balance FROM pg_wallet.api_sellapay_get_balance(:'tok_sp_w', '{}') b;
SELECT currency, purpose, status, count(*) FROM pg_wallet.accounts WHERE owner_id = :ow
GROUP BY currency, purpose, status;
-- the default wallet the cashier and withdraw_request would use for W is that one
SELECT a.account_number = (SELECT x.account_number FROM pg_wallet.accounts x
                           WHERE x.owner_id = :ow) AS same_wallet
FROM pg_wallet._owner_wallet(:ow, 'kes') a(account_number);

-- the cashier pushes the spec's seven event types only: U's stream also holds Tribble's
-- events (socket.io's), which a cashier socket is never sent
SELECT max(id) AS ev0 FROM pg_wallet.events \gset
SELECT count(*) FROM (
	SELECT pg_wallet.emit_event(:ou, 'fraud:risk_alert', '{"n": 1}')
	UNION ALL SELECT pg_wallet.emit_event(:ou, 'transaction:completed', '{"n": 2}')
	UNION ALL SELECT pg_wallet.emit_event(:ou, 'deposit_failed', '{"n": 3}')
	UNION ALL SELECT pg_wallet.emit_event(:ou, 'account:password_changed', '{"n": 4}')) e;
SELECT f ->> 'type' AS type, f -> 'data' ->> 'n' AS n, f #> '{_bridge,more}' AS more
FROM pg_wallet.api_cashier_events(:'tok_cashier', jsonb_build_object('body',
	jsonb_build_object('after_event_id', :ev0::text))) f;
SELECT f -> '_bridge' AS after_it
FROM pg_wallet.api_cashier_events(:'tok_cashier', jsonb_build_object('body',
	jsonb_build_object('after_event_id', (SELECT max(id) FROM pg_wallet.events
		WHERE owner_id = :ou AND event_type = 'deposit_failed')::text))) f;

SELECT ledger_ok();
