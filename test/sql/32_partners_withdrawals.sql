-- Withdrawals and payouts end to end against the partner simulator: the verification token,
-- the hold (amount + WITHDRAWAL fee) at request time, post_hold on the partner's success,
-- void_hold on failure, refusal or timeout, agent commission, Sellapay payouts to phones,
-- banks and other wallets, the expiry worker.
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
CREATE OR REPLACE FUNCTION wd_status(ref text, want text[] DEFAULT '{completed,failed}')
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM wait_until(format('(SELECT status FROM pg_wallet.withdrawals WHERE request_ref = %L) = ANY (%L)',
		ref, want));
	RETURN (SELECT status FROM pg_wallet.withdrawals WHERE request_ref = ref);
END $$;
CREATE OR REPLACE FUNCTION errm(stmt text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(err(stmt), '(DEP|WDL)-REQ-[0-9]{8}-[0-9]+', '\1-REQ-<ref>', 'g'),
		'message [0-9]+', 'message N', 'g')
$$;
CREATE OR REPLACE FUNCTION signed_callback(partner text, body text, secret text,
	msg_id text DEFAULT 'cb_' || md5(random()::text), ts bigint DEFAULT extract(epoch FROM now())::bigint)
RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.partner_callback(partner, body, jsonb_build_object('Webhook-Id', msg_id,
		'Webhook-Timestamp', ts::text, 'Webhook-Signature',
		pg_wallet.webhook_signature(decode(substr(secret, 7), 'base64'), msg_id, ts, body)))
$$;

\setenv SIM_DB :DBNAME
\! python3 test/partner_sim.py start build/partner_sim_32
\set port `python3 test/partner_sim.py port build/partner_sim_32`
\set secret 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE='

SELECT id FROM pg_wallet.create_partner('Sim Payouts', 'KE', 'sim_payout', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-S32', ARRAY['KES'], 'https://bridge.example/cb',
	:'secret', partner_id => 'PTN-S32');
SELECT id FROM pg_wallet.create_partner('Sim Bank', 'KE', 'bank_transfer', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-S32B', ARRAY['KES'], 'https://bridge.example/cb',
	:'secret', partner_id => 'PTN-S32B', priority => 0);
SELECT pg_wallet.create_agent('John''s Agent Shop', ARRAY['KES'], 'AGT-T32') ->> 'agent_id';
SELECT pg_wallet.create_owner('user', 'Withdrawer 32') AS u \gset
SELECT pg_wallet.create_owner('user', 'Recipient 32') AS r \gset
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('user', :u, 2)
RETURNING id AS pid \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'W32-KES')
	UNION ALL SELECT pg_wallet.create_account(:r, 'KES', 'WALLET', 'R32-KES')
	UNION ALL SELECT pg_wallet.create_account(:r, 'USD', 'WALLET', 'R32-USD')) a;
SELECT status FROM pg_wallet.credit('W32-KES', 30, 'SETTLE-PTN-S32-KES');
SELECT pg_wallet.create_fee_schedule('WITHDRAWAL', 'FIXED', fixed_fee => 2, currency => 'KES',
	commission_rate => 0.75) AS wfee \gset
-- a verification token for the withdrawal purpose (the identity flow issues it after an OTP)
CREATE OR REPLACE FUNCTION vt() RETURNS text LANGUAGE sql AS $$
	SELECT pg_wallet._issue_verification_token(
		(SELECT id FROM pg_wallet.principals WHERE owner_id = (SELECT owner_id FROM pg_wallet.accounts
		 WHERE account_number = 'W32-KES')), 'withdrawal', 'otp_email')
$$;

-- the spec's refusals, in its order: token, then money
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 10, %L, %L, NULL, %L)', :'pid', 'KES', '0712000200', 'sim_payout'));
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 10, %L, %L, %L, %L)', :'pid', 'KES', '0712000200', 'vt_nope', 'sim_payout'));
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 50, %L, %L, vt(), %L)', :'pid', 'KES', '0712000200', 'sim_payout'));
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 28.01, %L, %L, vt(), %L)', :'pid', 'KES', '0712000200', 'sim_payout'));
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 10, %L, %L, vt(), %L)', :'pid', 'EUR', '0712000200', 'sim_payout'));
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 10, %L, %L, vt(), %L)', :'pid', 'KES', '12', 'sim_payout'));
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 10, %L, %L, vt(), %L, %L)', :'pid', 'KES', '0712000200', 'sim_payout', 'AGT-NONE'));
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 0, %L, %L, vt(), %L)', :'pid', 'KES', '0712000200', 'sim_payout'));
-- a token is single use
SELECT vt() AS token \gset
SELECT (pg_wallet.withdraw_request(:'pid', 10, 'KES', '0712000200', :'token', 'sim_payout',
	idempotency_key => 'w32-ok') -> 'data') - 'request_ref' - 'created_at' AS answer,
	pg_wallet.withdraw_request(:'pid', 10, 'KES', '0712000200', :'token', 'sim_payout',
	idempotency_key => 'w32-ok') #>> '{data,request_ref}' AS ok_ref \gset
SELECT :'answer';
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 1, %L, %L, %L, %L)', :'pid', 'KES', '0712000200', :'token', 'sim_payout'));
-- the key promises the whole request (idempotency_keys): another amount or destination under
-- it is WL003 before the token is looked at; a key a payout took cannot post a transfer
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 11, %L, %L, vt(), %L, idempotency_key => %L)', :'pid', 'KES', '0712000200', 'sim_payout', 'w32-ok'));
SELECT errm(format('SELECT pg_wallet.withdraw_request(%L, 10, %L, %L, vt(), %L, idempotency_key => %L)', :'pid', 'KES', '0712000209', 'sim_payout', 'w32-ok'));
SELECT errm($$SELECT pg_wallet.transfer('W32-KES', 'SETTLE-PTN-S32-KES', 1, 'w32-ok')$$);
SELECT kind, count(*) FROM pg_wallet.idempotency_keys WHERE key = 'w32-ok' GROUP BY kind;
-- held at once: amount + fee leave the available balance
SELECT bal('W32-KES');
SELECT wd_status(:'ok_ref');
SELECT bal('W32-KES');
SELECT w - 'request_ref' - 'created_at' - 'completed_at' - 'receipt_code'
FROM pg_wallet._withdrawal_json(pg_wallet._withdrawal_row(:'ok_ref')) w;
SELECT event_type, payload - 'timestamp' - 'receipt_code' - 'request_ref' - 'transaction_id' AS payload
FROM pg_wallet.events WHERE owner_id = :u ORDER BY id;
SELECT h.status, h.amount, h.fee FROM pg_wallet.withdrawals w, pg_wallet.get_hold(w.hold_id) h
WHERE w.request_ref = :'ok_ref';

-- agent-assisted: the agent's commission account takes its share of the fee
SELECT status FROM pg_wallet.credit('W32-KES', 100, 'SETTLE-PTN-S32-KES');
SELECT pg_wallet.withdraw_request(:'pid', 20, 'KES', '0712000200', vt(), 'sim_payout', 'AGT-T32') AS a \gset
SELECT (:'a'::jsonb -> 'data') - 'request_ref' - 'created_at' - 'agent_account' AS answer,
	(:'a'::jsonb #>> '{data,agent_account}') ~ '^ACC-AGENT-KES-' AS agent_account;
SELECT wd_status(:'a'::jsonb #>> '{data,request_ref}');
SELECT event_type, payload - 'timestamp' - 'receipt_code' - 'request_ref' - 'transaction_id' AS payload
FROM pg_wallet.events WHERE owner_id = :u AND payload ->> 'request_ref' = :'a'::jsonb #>> '{data,request_ref}'
ORDER BY id;
SELECT (pg_wallet.get_balance(:'a'::jsonb #>> '{data,agent_account}')).balance AS agent_commission;

-- the partner reports failure: the hold is voided, the money is available again
SELECT pg_wallet.withdraw_request(:'pid', 5, 'KES', '0712000201', vt(), 'sim_payout') #>> '{data,request_ref}' AS fail_ref \gset
SELECT pg_wallet.withdraw_request(:'pid', 6, 'KES', '0712000208', vt(), 'sim_payout') #>> '{data,request_ref}' AS refused_ref \gset
SELECT pg_wallet.withdraw_request(:'pid', 7, 'KES', '0712000209', vt(), 'sim_payout', timeout_s => 1) #>> '{data,request_ref}' AS quiet_ref \gset
SELECT wd_status(:'fail_ref'), wd_status(:'refused_ref');
SELECT w.status, w.error, h.status AS hold FROM pg_wallet.withdrawals w, pg_wallet.get_hold(w.hold_id) h
WHERE w.request_ref IN (:'fail_ref', :'refused_ref') ORDER BY w.id;
SELECT event_type, payload - 'timestamp' - 'request_ref' AS payload FROM pg_wallet.events
WHERE owner_id = :u AND (payload ->> 'request_ref' = :'fail_ref'
   OR payload ->> 'error' = 'Destination account invalid') ORDER BY id;

-- no result before the deadline: the expiry worker fails it and voids the hold
ALTER SYSTEM SET pg_wallet.expiry_interval_s = 1;
SELECT pg_reload_conf();
SELECT wd_status(:'quiet_ref');
ALTER SYSTEM RESET pg_wallet.expiry_interval_s;
SELECT pg_reload_conf();
SELECT w.status, w.error, h.status AS hold FROM pg_wallet.withdrawals w, pg_wallet.get_hold(w.hold_id) h
WHERE w.request_ref = :'quiet_ref';
-- a success reported after the timeout is refused for reconciliation
SELECT errm(format($$SELECT signed_callback('PTN-S32', %L, %L)$$,
	format('{"type": "payout.completed", "reference": "%s"}', :'quiet_ref'), :'secret'));
SELECT errm(format($$SELECT signed_callback('PTN-S32', %L, %L)$$,
	'{"type": "payout.completed", "reference": "WDL-REQ-19700101-000"}', :'secret'));
SELECT errm(format($$SELECT signed_callback('PTN-S32', %L, %L)$$,
	format('{"type": "payout.failed", "reference": "%s"}', :'ok_ref'), :'secret'));
SELECT errm(format($$SELECT signed_callback('PTN-S32', %L, %L)$$,
	format('{"type": "payout.completed", "reference": "%s", "amount": "11"}', :'ok_ref'), :'secret'));
SELECT signed_callback('PTN-S32', format('{"type": "payout.completed", "reference": "%s"}', :'ok_ref'), :'secret') - 'request_ref';
SELECT bal('W32-KES');

-- Sellapay sendFundsToMobile
SELECT errm($$SELECT pg_wallet.send_funds_to_mobile('W32-KES', '0712000200', 10)$$);
SELECT errm($$SELECT pg_wallet.send_funds_to_mobile('W32-KES', '712000200', 1000, partner_id => 'PTN-S32')$$);
SELECT m - 'transaction_id' - 'timestamp' AS answer, m ->> 'transaction_id' AS m_ref
FROM pg_wallet.send_funds_to_mobile('W32-KES', '712000200', 10, 'REF-32-1', 'Refund', 'PTN-S32') m \gset
SELECT :'answer';
SELECT (pg_wallet.send_funds_to_mobile('W32-KES', '712000200', 10, 'REF-32-1', 'Refund', 'PTN-S32') ->> 'transaction_id') = :'m_ref' AS replayed;
SELECT wd_status(:'m_ref');

-- Sellapay sendFundsToLocalBank
SELECT errm($$SELECT pg_wallet.send_funds_to_bank('W32-KES', '999', '0123456700', 10, 'John Doe')$$);
SELECT errm($$SELECT pg_wallet.send_funds_to_bank('W32-KES', '015', '12-34', 10, 'John Doe')$$);
SELECT errm($$SELECT pg_wallet.send_funds_to_bank('W32-KES', '015', '0123456700', 10, '')$$);
SELECT b - 'transaction_id' - 'timestamp' AS answer, b ->> 'transaction_id' AS b_ref
FROM pg_wallet.send_funds_to_bank('W32-KES', '015', '0123456700', 10, 'John Doe', 'BANK-32') b \gset
SELECT :'answer';
SELECT wd_status(:'b_ref');
SELECT w.kind, w.partner_id, w.bank_code, w.account_name, w.status FROM pg_wallet.withdrawals w
WHERE w.request_ref = :'b_ref';

-- Sellapay sendFundsToSellapay: an internal transfer, 404 for an unknown recipient
SELECT errm($$SELECT pg_wallet.send_funds_to_account('W32-KES', 'NOBODY', 1)$$);
SELECT errm($$SELECT pg_wallet.send_funds_to_account('W32-KES', 'SYS-FEE-KES', 1)$$);
SELECT errm($$SELECT pg_wallet.send_funds_to_account('W32-KES', 'R32-USD', 1)$$);
SELECT errm($$SELECT pg_wallet.send_funds_to_account('W32-KES', 'R32-KES', 100000)$$);
SELECT s - 'transaction_id' - 'timestamp' AS answer
FROM pg_wallet.send_funds_to_account('W32-KES', 'R32-KES', 5, 'P2P-32', 'Payment invoice 001') s;
SELECT s ->> 'replayed' AS replayed
FROM pg_wallet.send_funds_to_account('W32-KES', 'R32-KES', 5, 'P2P-32', 'Payment invoice 001') s;
SELECT owner_id = :u AS sender, event_type, payload - 'timestamp' - 'receipt_code' - 'transaction_id' AS payload
FROM pg_wallet.events WHERE event_type = 'transfer_completed' AND owner_id IN (:u, :r) ORDER BY id;
SELECT bal('R32-KES');

-- history and what the partner saw
SELECT jsonb_path_query_array(pg_wallet.get_history(:u, 'withdrawals', 100), '$.withdrawals[*].status');
\! python3 test/partner_sim.py requests build/partner_sim_32
\! python3 test/partner_sim.py callbacks build/partner_sim_32
\! python3 test/partner_sim.py stop build/partner_sim_32
SELECT pg_wallet.set_fee_schedule_active(:wfee, false);
SELECT bal('W32-KES');
SELECT ledger_ok();
