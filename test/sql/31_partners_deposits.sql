-- Deposits end to end: the outbox worker sends each request over real HTTP to the partner
-- simulator (test/partner_sim.py on 127.0.0.1), which answers and calls back through
-- pg_wallet.partner_callback as the bridge would. The last two digits of the payer's phone
-- choose what the simulator does (see its header).
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
-- the status of a deposit, once it is one of the given ones (or what it is after 20 s)
CREATE OR REPLACE FUNCTION dep_status(ref text, want text[] DEFAULT '{completed,failed}')
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM wait_until(format('(SELECT status FROM pg_wallet.deposits WHERE request_ref = %L) = ANY (%L)',
		ref, want));
	RETURN (SELECT status FROM pg_wallet.deposits WHERE request_ref = ref);
END $$;
-- a generic partner's callback, signed as the partner would sign it
CREATE OR REPLACE FUNCTION signed_callback(partner text, body text, secret text,
	msg_id text DEFAULT 'cb_' || md5(random()::text), ts bigint DEFAULT extract(epoch FROM now())::bigint)
RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.partner_callback(partner, body, jsonb_build_object('Webhook-Id', msg_id,
		'Webhook-Timestamp', ts::text, 'Webhook-Signature',
		pg_wallet.webhook_signature(decode(substr(secret, 7), 'base64'), msg_id, ts, body)))
$$;

-- err() with the references that depend on the date and on earlier tests masked
CREATE OR REPLACE FUNCTION errm(stmt text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(err(stmt), '(DEP|WDL)-REQ-[0-9]{8}-[0-9]+', '\1-REQ-<ref>', 'g'),
		'message [0-9]+', 'message N', 'g')
$$;

\setenv SIM_DB :DBNAME
\! python3 test/partner_sim.py start build/partner_sim_31
\set port `python3 test/partner_sim.py port build/partner_sim_31`
\set secret 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE='

SELECT id FROM pg_wallet.create_partner('Sim Mobile', 'KE', 'sim_mobile', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-S31', ARRAY['KES'], 'https://bridge.example/cb',
	:'secret', partner_id => 'PTN-S31');
SELECT pg_wallet.create_owner('user', 'Depositor 31') AS u \gset
SELECT account_number FROM pg_wallet.create_account(:u, 'KES', 'WALLET', 'D31-KES');
SELECT pg_wallet.create_fee_schedule('DEPOSIT', 'FIXED', fixed_fee => 1, currency => 'KES') AS dfee \gset

-- refusals before anything is queued
SELECT errm($$SELECT pg_wallet.deposit_request('D31-KES', 0, 'sim_mobile')$$);
SELECT errm($$SELECT pg_wallet.deposit_request('D31-KES', 1.001, 'sim_mobile')$$);
SELECT errm($$SELECT pg_wallet.deposit_request('D31-NONE', 10, 'sim_mobile')$$);
SELECT errm($$SELECT pg_wallet.deposit_request('D31-KES', 10, 'airtime')$$);
SELECT errm($$SELECT pg_wallet.deposit_request('D31-KES', 10)$$);
SELECT errm($$SELECT pg_wallet.deposit_request('D31-KES', 10, 'sim_mobile', currency => 'USD')$$);
SELECT errm($$SELECT pg_wallet.deposit_request('D31-KES', 10, 'sim_mobile', phone => '12')$$);
SELECT errm($$SELECT pg_wallet.deposit_request('SETTLE-PTN-S31-KES', 10, 'sim_mobile')$$);
SELECT errm($$SELECT pg_wallet.deposit_request('D31-KES', 10, 'sim_mobile', expires_in_s => 0)$$);
SELECT count(*) AS queued FROM pg_wallet.outbox WHERE partner_id = 'PTN-S31';

-- one deposit per behaviour, all in flight at once
SELECT r ->> 'request_ref' AS ok_ref, r - 'request_ref' - 'created_at' - 'expires_at' AS answer
FROM pg_wallet.deposit_request('D31-KES', 100, 'sim_mobile', phone => '0712000100',
	idempotency_key => 'd31-ok', payment_method => 'mobile_money') r \gset
SELECT :'answer';
SELECT pg_wallet.deposit_request('D31-KES', 10, 'sim_mobile', phone => '0712000101') ->> 'request_ref' AS fail_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 12, 'sim_mobile', phone => '0712000102') ->> 'request_ref' AS slow_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 13, 'sim_mobile', phone => '0712000103') ->> 'request_ref' AS dup_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 14, 'sim_mobile', phone => '0712000104') ->> 'request_ref' AS bad_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 15, 'sim_mobile', phone => '0712000105') ->> 'request_ref' AS forged_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 16, 'sim_mobile', phone => '0712000106') ->> 'request_ref' AS hang_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 17, 'sim_mobile', phone => '0712000107') ->> 'request_ref' AS retry_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 18, 'sim_mobile', phone => '0712000108') ->> 'request_ref' AS refused_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 19, 'sim_mobile', phone => '0712000109') ->> 'request_ref' AS quiet_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 20, 'sim_mobile', phone => '0712000110') ->> 'request_ref' AS sync_ref \gset
SELECT pg_wallet.deposit_request('D31-KES', 21, 'sim_mobile', phone => '0712000111') ->> 'request_ref' AS amount_ref \gset

-- a retry under the same key returns the first answer; another request under it is refused
SELECT r ->> 'request_ref' = :'ok_ref' AS same_ref, r ->> 'replayed' AS replayed
FROM pg_wallet.deposit_request('D31-KES', 100, 'sim_mobile', phone => '0712000100',
	idempotency_key => 'd31-ok', payment_method => 'mobile_money') r;
SELECT errm($$SELECT pg_wallet.deposit_request('D31-KES', 101, 'sim_mobile', phone => '0712000100',
	idempotency_key => 'd31-ok')$$);

-- success: the partner's callback posts one CREDIT journal (settlement debited, wallet
-- credited, DEPOSIT fee) and the events follow
SELECT dep_status(:'ok_ref');
SELECT d - 'request_ref' - 'created_at' - 'expires_at' - 'completed_at' - 'receipt_code' - 'journal_id'
FROM pg_wallet.get_deposit_status(:'ok_ref') d;
SELECT (pg_wallet.get_deposit_status(:'ok_ref') ->> 'receipt_code') ~ '^RCP-' AS has_receipt;
SELECT errm(format('SELECT pg_wallet.get_deposit_status(%L, -1)', :'ok_ref'));
SELECT jsonb_path_query_array(j, '$.entries[*].account_number') AS accounts,
       jsonb_path_query_array(j, '$.entries[*].side') AS sides,
       jsonb_path_query_array(j, '$.entries[*].amount') AS amounts,
       j #>> '{journal,journal_type}' AS type, j #>> '{journal,description}' AS description
FROM pg_wallet.get_journal(pg_wallet.get_deposit_status(:'ok_ref') ->> 'receipt_code') j;
SELECT event_type, payload - 'timestamp' - 'completed_at' - 'receipt_code' - 'journal_id'
	- 'transaction_id' - 'transaction_ref' - 'user_balance' - 'balance_after' AS payload
FROM pg_wallet.events WHERE payload ->> 'transaction_ref' = :'ok_ref'
   OR payload ->> 'receipt_code' = pg_wallet.get_deposit_status(:'ok_ref') ->> 'receipt_code'
ORDER BY id;

-- the partner reports failure: failed, no journal, deposit_failed + transaction_failed
SELECT dep_status(:'fail_ref');
SELECT status, error, journal_id FROM pg_wallet.deposits WHERE request_ref = :'fail_ref';
SELECT event_type, payload ->> 'error_message' AS message, payload ->> 'error' AS error
FROM pg_wallet.events WHERE payload ->> 'transaction_ref' = :'fail_ref'
   OR (payload ->> 'transaction_type' = 'deposit' AND payload ->> 'error' = 'Payment declined')
ORDER BY id;

-- the partner answers at once and calls back 3 s later: sent_to_partner in between
SELECT dep_status(:'slow_ref', '{sent_to_partner,completed}');
SELECT dep_status(:'slow_ref');

-- the same callback twice, and again under a new id: credited once
SELECT dep_status(:'dup_ref');
\! python3 test/partner_sim.py wait build/partner_sim_31 callbacks 10 20
SELECT count(*) AS journals FROM pg_wallet.journals WHERE idempotency_key = 'deposit:' || :'dup_ref';

-- the partner refuses with HTTP 400: FAILED for good, the deposit fails
SELECT dep_status(:'refused_ref');
SELECT d.status, d.error, o.status AS outbox, o.attempts, o.last_http_status
FROM pg_wallet.deposits d JOIN pg_wallet.outbox o ON o.subject_ref = d.request_ref
WHERE d.request_ref = :'refused_ref';

-- HTTP 500 twice: retried with backoff, delivered on the third attempt
SELECT dep_status(:'retry_ref');
SELECT status, attempts, last_http_status FROM pg_wallet.outbox WHERE subject_ref = :'retry_ref';

-- completed in the partner's answer itself: no callback needed
SELECT dep_status(:'sync_ref');

-- malformed, forged and wrong-amount callbacks change nothing
\! python3 test/partner_sim.py wait build/partner_sim_31 callbacks 10 20
SELECT d.amount_minor, d.status FROM pg_wallet.deposits d
WHERE d.request_ref IN (:'bad_ref', :'forged_ref', :'amount_ref') ORDER BY 1;

-- no answer: every attempt times out, then the message is dead-lettered; the deposit stays
-- open until it expires (an operator may still retry)
SELECT wait_until(format($$(SELECT status FROM pg_wallet.outbox WHERE subject_ref = %L) = 'DEAD'$$, :'hang_ref'), 30);
SELECT o.status, o.attempts, o.last_http_status, o.last_error ~ 'Timeout' AS timed_out, d.status AS deposit
FROM pg_wallet.outbox o JOIN pg_wallet.deposits d ON d.request_ref = o.subject_ref
WHERE o.subject_ref = :'hang_ref';
SELECT id AS hang_msg FROM pg_wallet.outbox WHERE subject_ref = :'hang_ref' \gset
SELECT status, attempts FROM pg_wallet.outbox_retry(:hang_msg);
SELECT wait_until(format('(SELECT attempts FROM pg_wallet.outbox WHERE id = %s) >= 1', :hang_msg));
SELECT status FROM pg_wallet.outbox_cancel(:hang_msg);
SELECT errm(format('SELECT pg_wallet.outbox_cancel(%s)', (SELECT id FROM pg_wallet.outbox WHERE subject_ref = :'ok_ref')));
SELECT errm(format('SELECT pg_wallet.outbox_retry(%s)', (SELECT id FROM pg_wallet.outbox WHERE subject_ref = :'ok_ref')));
SELECT kind, subject_ref = :'hang_ref' AS hang, status FROM pg_wallet.outbox_list('cancelled', 'PTN-S31');
-- the user cancels it; now the message may not be sent again
SELECT pg_wallet.cancel_deposit(:'hang_ref', :u);
SELECT pg_wallet.cancel_deposit(:'hang_ref');
SELECT errm(format('SELECT pg_wallet.outbox_retry(%s)', :hang_msg));
SELECT errm(format('SELECT pg_wallet.cancel_deposit(%L)', :'ok_ref'));
SELECT errm(format('SELECT pg_wallet.cancel_deposit(%L, -1)', :'quiet_ref'));
SELECT errm($$SELECT pg_wallet.cancel_deposit('DEP-NOPE')$$);

-- callbacks sent straight to the SQL function, as the bridge would pass them
SELECT errm(format($$SELECT signed_callback('PTN-S31', %L, %L)$$,
	'{"type": "deposit.completed", "reference": "DEP-REQ-19700101-000"}', :'secret'));
SELECT errm($$SELECT pg_wallet.partner_callback('PTN-S31', '{}', '{}')$$);
SELECT errm(format($$SELECT signed_callback('PTN-S31', %L, %L, ts => extract(epoch FROM now())::bigint - 400)$$,
	format('{"type": "deposit.completed", "reference": "%s"}', :'bad_ref'), :'secret'));
SELECT errm(format($$SELECT signed_callback('PTN-S31', %L, %L)$$,
	format('{"type": "deposit.completed", "reference": "%s"}', :'bad_ref'),
	'whsec_' || encode('another secret, 32 bytes long!!!'::bytea, 'base64')));
SELECT errm(format($$SELECT signed_callback('PTN-S31', '{"type": ', %L)$$, :'secret'));
SELECT errm(format($$SELECT signed_callback('PTN-S31', '{"type": "deposit.done", "reference": "x"}', %L)$$, :'secret'));
SELECT errm(format($$SELECT signed_callback('PTN-S31', %L, %L)$$,
	format('{"type": "deposit.completed", "reference": "%s", "amount": "14.5"}', :'bad_ref'), :'secret'));
SELECT errm(format($$SELECT signed_callback('PTN-S31', %L, %L)$$,
	format('{"type": "deposit.completed", "reference": "%s", "currency": "USD"}', :'bad_ref'), :'secret'));
SELECT errm(format($$SELECT pg_wallet.partner_callback('PTN-S31', repeat('x', 70000), '{}')$$));
SELECT errm(format($$SELECT pg_wallet.mpesa_callback('PTN-S31', '{}', '{}')$$));
-- a good callback completes the deposit the forged one could not; its repeat is replayed
SELECT signed_callback('PTN-S31', format('{"type": "deposit.completed", "reference": "%s", "amount": "15.00", "currency": "KES"}', :'forged_ref'), :'secret', 'cb_t31_1') - 'request_ref';
SELECT signed_callback('PTN-S31', format('{"type": "deposit.completed", "reference": "%s", "amount": "15.00", "currency": "KES"}', :'forged_ref'), :'secret', 'cb_t31_1') - 'request_ref';
SELECT errm(format($$SELECT signed_callback('PTN-S31', %L, %L, 'cb_t31_1')$$,
	format('{"type": "deposit.failed", "reference": "%s"}', :'forged_ref'), :'secret'));
SELECT errm(format($$SELECT signed_callback('PTN-S31', %L, %L)$$,
	format('{"type": "deposit.failed", "reference": "%s"}', :'forged_ref'), :'secret'));
-- a success after the user cancelled is still credited (the money arrived): late
SELECT pg_wallet.cancel_deposit(:'quiet_ref') ->> 'message';
SELECT signed_callback('PTN-S31', format('{"type": "deposit.completed", "reference": "%s"}', :'quiet_ref'), :'secret') - 'request_ref';
SELECT status, late FROM pg_wallet.deposits WHERE request_ref = :'quiet_ref';

-- expiry: an open deposit past expires_at is expired by the sweep ("Payment timeout")
UPDATE pg_wallet.deposits SET expires_at = now() - interval '1 second'
WHERE request_ref IN (:'bad_ref', :'amount_ref');
SELECT pg_wallet.expire_deposits();
SELECT status, error FROM pg_wallet.deposits WHERE request_ref IN (:'bad_ref', :'amount_ref');
SELECT event_type, payload ->> 'error_message' AS message FROM pg_wallet.events
WHERE payload ->> 'transaction_ref' = :'bad_ref' ORDER BY id;
SELECT errm($$SELECT pg_wallet.expire_deposits(0)$$);

-- what the simulator saw: every request signed (webhook-id, -timestamp, -signature,
-- Idempotency-Key), the 500s and the time-outs retried under the same key
\! python3 test/partner_sim.py requests build/partner_sim_31
\! python3 test/partner_sim.py callbacks build/partner_sim_31

-- history, newest first
SELECT jsonb_path_query_array(pg_wallet.get_history(:u, 'deposits', 100), '$.deposits[*].status');
SELECT pg_wallet.get_history(:u, 'withdrawals');
SELECT errm(format('SELECT pg_wallet.get_history(%s, %L)', :u, 'refunds'));
SELECT bal('D31-KES');

-- Sellapay requestStkPush and Tribble wallets/fund are deposits too
SELECT errm($$SELECT pg_wallet.request_stk_push('D31-KES', '+254712000100', 10)$$);
SELECT errm($$SELECT pg_wallet.fund_wallet('D31-KES', 10, NULL)$$);
SELECT id FROM pg_wallet.create_partner('Sim Card', 'KE', 'card', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-S31C', ARRAY['KES'], NULL, :'secret',
	partner_id => 'PTN-S31C');
SELECT f - 'transactionId' - 'createdAt' AS answer, f ->> 'transactionId' AS card_ref
FROM pg_wallet.fund_wallet('D31-KES', 50, 'card-001') f \gset
SELECT :'answer';
SELECT pg_wallet.set_fee_schedule_active(:dfee, false);
SELECT dep_status(:'card_ref');
SELECT event_type, payload - 'timestamp' - 'transactionId' AS payload FROM pg_wallet.events
WHERE payload ->> 'transactionId' = :'card_ref';

-- a reference never cuts its id (lpad did: id 1280 got DEP-REQ-<date>-128, the ref of id 128)
SELECT pg_wallet._padded(7, 3) AS short, pg_wallet._padded(1280, 3) AS long,
	pg_wallet._padded(1234567, 6) AS longer;

\! python3 test/partner_sim.py stop build/partner_sim_31
SELECT ledger_ok();
