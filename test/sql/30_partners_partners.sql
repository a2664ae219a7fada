-- Partners, agents, bank codes, Standard Webhooks signatures, durable events and the
-- workers (issue 5). No HTTP here: 31-33 talk to the partner simulator.
CREATE OR REPLACE FUNCTION wait_until(cond text, timeout_s numeric DEFAULT 20)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	ok boolean;
	deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
	LOOP
		EXECUTE 'SELECT (' || cond || ')' INTO ok;
		IF ok THEN RETURN true; END IF;
		IF clock_timestamp() > deadline THEN RETURN false; END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;

-- the workers run (shared_preload_libraries = 'pg_wallet' in test/pg_wallet_test.conf)
SELECT pg_wallet.workers_available();
SELECT wait_until($$(SELECT count(*) FROM pg_wallet.worker_status()) = 3$$);
SELECT worker, database FROM pg_wallet.worker_status();

-- Standard Webhooks: the specification's example signs to this value
SELECT pg_wallet.webhook_signature(decode('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'),
	'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
SELECT pg_wallet._webhook_signature_ok(decode('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'),
	'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}', s) AS ok, s
FROM (VALUES ('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='),
             ('v2,abc v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='),
             ('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE'),
             ('v1,AAAA9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='),
             ('v1,!!'), ('')) v(s);
-- one byte of the body more and it no longer verifies
SELECT pg_wallet._webhook_signature_ok(decode('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'),
	'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314} ',
	'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');

-- partners: validation
SELECT err($$SELECT pg_wallet.create_partner('X', 'Kenya', 'mpesa', 'generic_json', 'http://h', ARRAY['KES'])$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'M-Pesa', 'generic_json', 'http://h', ARRAY['KES'])$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'soap', 'http://h', ARRAY['KES'])$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'generic_json', 'ftp://h', ARRAY['KES'])$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'generic_json', 'http://h x', ARRAY['KES'])$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'generic_json', 'http://h', ARRAY['KES'], webhook_secret => 'topsecret')$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'generic_json', 'http://h', ARRAY['KES'], webhook_secret => 'whsec_c2hvcnQ=')$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'mpesa_daraja', 'http://h', ARRAY['KES'])$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'generic_json', 'http://h', ARRAY['XXX'])$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'generic_json', 'http://h', '{}')$$);
SELECT err($$SELECT pg_wallet.create_partner('X', 'KE', 'mpesa', 'generic_json', 'http://h', ARRAY['KES'], partner_id => 'P-1')$$);

SELECT id, name, country, service, status, adapter, base_url, currencies, priority
FROM pg_wallet.create_partner('Safaricom M-Pesa', 'KE', 'mpesa', 'mpesa_daraja',
	'https://sandbox.example/', ARRAY['KES'], 'https://bridge.example/cb',
	credentials => '{"shortcode": "174379", "passkey": "pk", "initiator_name": "api"}',
	partner_id => 'PTN-T30A', priority => 10);
SELECT id, currencies FROM pg_wallet.create_partner('Mobile Two', 'KE', 'mpesa', 'generic_json',
	'https://two.example', ARRAY['KES', 'USD'], partner_id => 'PTN-T30B', priority => 20);
SELECT id, can_deposit, can_payout FROM pg_wallet.create_partner('Bank Rail', 'KE',
	'bank_transfer', 'generic_json', 'https://bank.example', ARRAY['KES'],
	partner_id => 'PTN-T30C', can_deposit => false);
SELECT err($$SELECT pg_wallet.create_partner('Again', 'KE', 'mpesa', 'generic_json', 'http://h', ARRAY['KES'], partner_id => 'PTN-T30A')$$);

-- a settlement account per currency: SETTLEMENT, can_overdraw, DEFERRED
SELECT a.account_number, a.purpose, a.can_overdraw, a.credit_mode, a.status
FROM pg_wallet.partner_accounts pa JOIN pg_wallet.accounts a ON a.id = pa.account_id
WHERE pa.partner_id LIKE 'PTN-T30%' ORDER BY 1;
SELECT pg_wallet.add_partner_currency('PTN-T30C', 'USD'), pg_wallet.add_partner_currency('PTN-T30C', 'USD');

-- get_partners (cashier): active partners of a service, in selection order
SELECT jsonb_pretty(pg_wallet.get_partners('mpesa'));
SELECT p ->> 'id' AS id FROM jsonb_array_elements(pg_wallet.get_partners('mpesa') -> 'partners') p
WHERE p ->> 'id' LIKE 'PTN-T30%';
SELECT err($$SELECT pg_wallet.get_partners('M-Pesa')$$);
SELECT (pg_wallet.set_partner_status('PTN-T30A', 'suspended')).status;
SELECT p ->> 'id' AS id FROM jsonb_array_elements(pg_wallet.get_partners('mpesa') -> 'partners') p
WHERE p ->> 'id' LIKE 'PTN-T30%';
SELECT err($$SELECT pg_wallet.set_partner_status('PTN-T30A', 'gone')$$);
SELECT err($$SELECT pg_wallet.set_partner_status('PTN-NOPE', 'active')$$);

-- choosing a partner: given (checked) or the first active one by priority
SELECT (pg_wallet._select_partner(NULL, 'mpesa', 'KES', false)).id;
SELECT (pg_wallet._select_partner(NULL, 'mpesa', 'USD', true)).id;
SELECT err($$SELECT pg_wallet._select_partner('PTN-T30A', 'mpesa', 'KES', false)$$);
SELECT err($$SELECT pg_wallet._select_partner('PTN-T30C', NULL, 'KES', false)$$);
SELECT err($$SELECT pg_wallet._select_partner('PTN-T30B', 'bank_transfer', 'KES', true)$$);
SELECT err($$SELECT pg_wallet._select_partner('PTN-T30B', 'mpesa', 'EUR', true)$$);
SELECT err($$SELECT pg_wallet._select_partner(NULL, 'airtime', 'KES', false)$$);
SELECT (pg_wallet.set_partner_status('PTN-T30A', 'active')).status;

-- secrets are write-only: no function returns them, no role but the owner reads the tables
SELECT pg_wallet.rotate_partner_secret('PTN-T30B') ~ '^whsec_[A-Za-z0-9+/]{43}=$' AS rotated;
SELECT pg_wallet.set_partner_secrets('PTN-T30B', credentials => '{"api_key": "k"}');
SELECT err($$SELECT pg_wallet.set_partner_secrets('PTN-T30B', 'whsec_not base64')$$);
CREATE ROLE t30_api NOLOGIN;
SELECT has_table_privilege('t30_api', 'pg_wallet.partner_secrets', 'SELECT') AS secrets,
       has_table_privilege('t30_api', 'pg_wallet.outbox', 'SELECT') AS outbox,
       has_function_privilege('t30_api', 'pg_wallet.get_partners(text)', 'EXECUTE') AS get_partners;
DROP ROLE t30_api;
SELECT count(*) AS secret_columns FROM pg_attribute
WHERE attrelid IN ('pg_wallet.partner_info'::regclass, 'pg_wallet.outbox_info'::regclass)
  AND attname ~ 'secret|credential|password';

-- agents and banks
SELECT (a - 'owner_id') - 'accounts' AS agent, jsonb_object_keys(a -> 'accounts') AS currency
FROM pg_wallet.create_agent('John''s Agent Shop', ARRAY['KES'], 'AGT-T30') a;
SELECT err($$SELECT pg_wallet.create_agent('Again', ARRAY['KES'], 'AGT-T30')$$);
SELECT (pg_wallet._agent_account('AGT-T30', 'KES')).account_number ~ '^ACC-AGENT-KES-' AS ok;
SELECT err($$SELECT pg_wallet._agent_account('AGT-T30', 'USD')$$);
SELECT err($$SELECT pg_wallet._agent_account('AGT-NONE', 'KES')$$);
SELECT code, name FROM pg_wallet.get_bank_codes();

-- durable events: per-owner streams, ids increasing, resume after an id
SELECT pg_wallet.create_owner('user', 'Events T30') AS ev \gset
SELECT pg_wallet.emit_event(:ev, 'deposit_completed', '{"n": 1}') AS e1 \gset
SELECT pg_wallet.emit_event(:ev, 'fraud:risk_alert', '{"n": 2}') AS e2 \gset
SELECT pg_wallet.emit_event(:ev, 'subscription:charged', '{"n": 3}') AS e3 \gset
SELECT :e1 < :e2 AND :e2 < :e3 AS increasing;
SELECT event_type, payload FROM pg_wallet.get_events(:ev);
SELECT event_type, payload FROM pg_wallet.get_events(:ev, :e1);
SELECT event_type, payload FROM pg_wallet.get_events(:ev, :e1, 1);
SELECT count(*) FROM pg_wallet.get_events(:ev, :e3);
SELECT event_count, last_event_id = :e3 AS last FROM pg_wallet.event_streams WHERE owner_id = :ev;
SELECT err($$SELECT pg_wallet.emit_event($$ || :ev || $$, 'deposit_done', '{}')$$);
SELECT err($$SELECT pg_wallet.emit_event($$ || :ev || $$, 'deposit_failed', '[1]')$$);
SELECT err($$SELECT pg_wallet.emit_event(-1, 'deposit_failed', '{}')$$);
SELECT err($$SELECT pg_wallet.get_events(1, 0, 0)$$);
-- an event of a rolled-back transaction never existed
BEGIN;
SELECT pg_wallet.emit_event(:ev, 'deposit_failed', '{"n": 4}') > 0 AS emitted;
ROLLBACK;
SELECT count(*) FROM pg_wallet.get_events(:ev);

-- outbox operations on what does not exist
SELECT err($$SELECT pg_wallet.outbox_get(-1)$$);
SELECT err($$SELECT pg_wallet.outbox_retry(-1)$$);
SELECT err($$SELECT pg_wallet.outbox_list(page_size => 0)$$);

SELECT ledger_ok();
