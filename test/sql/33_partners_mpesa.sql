-- The M-Pesa (Daraja) adapter against the partner simulator: STK push with the base64
-- password of shortcode + passkey + timestamp and its Body.stkCallback, B2C payment request
-- and its Result, the callback URL token, and the same behaviours as the generic adapter.
-- Every M-Pesa request carries "Authorization: Bearer <token>": the outbox worker gets the
-- token from the partner's OAuth endpoint with its consumer key and secret, caches it in
-- memory and fetches a new one when the partner rejects it (401).
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
CREATE OR REPLACE FUNCTION errm(stmt text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(err(stmt), '(DEP|WDL)-REQ-[0-9]{8}-[0-9]+', '\1-REQ-<ref>', 'g'),
		'message [0-9]+', 'message N', 'g')
$$;
CREATE OR REPLACE FUNCTION settled(tbl text, ref text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM wait_until(format('(SELECT status FROM pg_wallet.%I WHERE request_ref = %L) IN (%L, %L)',
		tbl, ref, 'completed', 'failed'));
	RETURN (SELECT d.status || coalesce(' (' || d.error || ')', '') FROM pg_wallet.deposits d WHERE d.request_ref = ref
	        UNION ALL
	        SELECT w.status || coalesce(' (' || w.error || ')', '') FROM pg_wallet.withdrawals w WHERE w.request_ref = ref);
END $$;

\setenv SIM_DB :DBNAME
\! python3 test/partner_sim.py start build/partner_sim_33
\set port `python3 test/partner_sim.py port build/partner_sim_33`
\set secret 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE='

SELECT id, adapter FROM pg_wallet.create_partner('Sim M-Pesa', 'KE', 'sim_mpesa', 'mpesa_daraja',
	'http://127.0.0.1:' || :'port' || '/p/PTN-M33', ARRAY['KES'], 'https://bridge.example/cb',
	credentials => '{"shortcode": "174379", "passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
	                 "initiator_name": "testapi", "security_credential": "c2VjcmV0",
	                 "consumer_key": "sim-consumer-key", "consumer_secret": "sim-consumer-secret-0123456789"}',
	webhook_secret => :'secret', partner_id => 'PTN-M33');
SELECT pg_wallet.create_owner('client', 'Sellapay client 33') AS c \gset
SELECT account_number FROM pg_wallet.create_account(:c, 'KES', 'WALLET', 'M33-KES');

-- Sellapay requestStkPush: the STK push goes out with the Daraja shapes
SELECT errm($$SELECT pg_wallet.request_stk_push('M33-KES', '712000300', 10.50, partner_id => 'PTN-M33')$$);
SELECT s - 'transaction_id' AS answer, s ->> 'transaction_id' AS ok_ref
FROM pg_wallet.request_stk_push('M33-KES', '712000300', 100, 'INV-12345', 'Payment for services', 'PTN-M33') s \gset
SELECT :'answer';
SELECT o.url ~ '/mpesa/stkpush/v1/processrequest$' AS stk_url,
	(SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(o.body) k) AS stored_body_keys
FROM pg_wallet.outbox o WHERE o.subject_ref = :'ok_ref';
SELECT settled('deposits', :'ok_ref');
SELECT partner_reference ~ '^SIM[0-9]{7}$' AS receipt_number, partner_request_id ~ '^ws_CO_' AS checkout_id
FROM pg_wallet.deposits WHERE request_ref = :'ok_ref';
SELECT bal('M33-KES');
-- the same reference again is the same STK push
SELECT (pg_wallet.request_stk_push('M33-KES', '712000300', 100, 'INV-12345', 'Payment for services', 'PTN-M33')
	->> 'transaction_id') = :'ok_ref' AS same;

SELECT pg_wallet.request_stk_push('M33-KES', '712000301', 11, partner_id => 'PTN-M33') ->> 'transaction_id' AS cancel_ref \gset
SELECT pg_wallet.request_stk_push('M33-KES', '712000303', 13, partner_id => 'PTN-M33') ->> 'transaction_id' AS dup_ref \gset
SELECT pg_wallet.request_stk_push('M33-KES', '712000304', 14, partner_id => 'PTN-M33') ->> 'transaction_id' AS bad_ref \gset
SELECT pg_wallet.request_stk_push('M33-KES', '712000305', 15, partner_id => 'PTN-M33') ->> 'transaction_id' AS forged_ref \gset
SELECT pg_wallet.request_stk_push('M33-KES', '712000311', 16, partner_id => 'PTN-M33') ->> 'transaction_id' AS amount_ref \gset
SELECT settled('deposits', :'cancel_ref'), settled('deposits', :'dup_ref');
\! python3 test/partner_sim.py wait build/partner_sim_33 callbacks 7 20
SELECT request_ref = :'bad_ref' AS malformed, request_ref = :'forged_ref' AS forged, status
FROM pg_wallet.deposits WHERE request_ref IN (:'bad_ref', :'forged_ref', :'amount_ref') ORDER BY id;

-- B2C payouts (sendFundsToMobile through the M-Pesa partner)
SELECT pg_wallet.send_funds_to_mobile('M33-KES', '712000300', 40, 'B2C-1', 'Refund', 'PTN-M33') ->> 'transaction_id' AS b2c_ref \gset
SELECT pg_wallet.send_funds_to_mobile('M33-KES', '712000301', 20, 'B2C-2', 'Refund', 'PTN-M33') ->> 'transaction_id' AS b2c_fail_ref \gset
SELECT errm($$SELECT pg_wallet.send_funds_to_mobile('M33-KES', '712000300', 0.5, 'B2C-3', NULL, 'PTN-M33')$$);
SELECT o.url ~ '/mpesa/b2c/v3/paymentrequest$' AS b2c_url, o.body ->> 'CommandID' AS command,
	o.body ->> 'OriginatorConversationID' = :'b2c_ref' AS originator_is_ref, o.body ? 'SecurityCredential' AS stored_credential
FROM pg_wallet.outbox o WHERE o.subject_ref = :'b2c_ref';
SELECT settled('withdrawals', :'b2c_ref'), settled('withdrawals', :'b2c_fail_ref');
SELECT partner_reference ~ '^SIMB[0-9]{6}$' AS transaction_id FROM pg_wallet.withdrawals WHERE request_ref = :'b2c_ref';
SELECT bal('M33-KES');

-- callbacks straight to the SQL function: the URL token, unknown requests, bad shapes
SELECT encode(pg_wallet._hmac_sha256(s.webhook_secret, convert_to('mpesa-callback:PTN-M33', 'UTF8')), 'hex') AS token
FROM pg_wallet.partner_secrets s WHERE s.partner_id = 'PTN-M33' \gset
SELECT errm($$SELECT pg_wallet.mpesa_callback('PTN-M33', '{"Body": {}}', '{}')$$);
SELECT errm($$SELECT pg_wallet.mpesa_callback('PTN-M33', '{"Body": {}}', '{"X-Callback-Token": "00"}')$$);
SELECT errm(format($$SELECT pg_wallet.mpesa_callback('PTN-M33', '{"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_none", "ResultCode": 0}}}', %L)$$,
	jsonb_build_object('x-callback-token', :'token')));
SELECT errm(format($$SELECT pg_wallet.mpesa_callback('PTN-M33', '{"Body": {"stkCallback": {"ResultCode": 0}}}', %L)$$,
	jsonb_build_object('x-callback-token', :'token')));
SELECT errm(format($$SELECT pg_wallet.mpesa_callback('PTN-M33', '{"Result": {"OriginatorConversationID": "WDL-REQ-19700101-000", "ResultCode": 0}}', %L)$$,
	jsonb_build_object('x-callback-token', :'token')));
SELECT errm(format($$SELECT pg_wallet.mpesa_callback('PTN-M33', '{"Other": 1}', %L)$$,
	jsonb_build_object('x-callback-token', :'token')));
SELECT errm(format($$SELECT pg_wallet.partner_callback('PTN-M33', '{}', %L)$$,
	jsonb_build_object('x-callback-token', :'token')));
-- the forged deposit completes with the right token, once
SELECT pg_wallet.mpesa_callback('PTN-M33', format('{"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "%s", "ResultCode": 0, "ResultDesc": "ok", "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": 15}, {"Name": "MpesaReceiptNumber", "Value": "QKX1"}]}}}}',
	(SELECT partner_request_id FROM pg_wallet.deposits WHERE request_ref = :'forged_ref')),
	jsonb_build_object('x-callback-token', :'token')) - 'request_ref' AS first,
	pg_wallet.mpesa_callback('PTN-M33', format('{"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "%s", "ResultCode": 0, "ResultDesc": "ok", "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": 15}, {"Name": "MpesaReceiptNumber", "Value": "QKX1"}]}}}}',
	(SELECT partner_request_id FROM pg_wallet.deposits WHERE request_ref = :'forged_ref')),
	jsonb_build_object('x-callback-token', :'token')) - 'request_ref' AS again;

-- Daraja OAuth: every request above carried a valid Bearer token, fetched once and reused
\! python3 test/partner_sim.py tokens build/partner_sim_33
-- a token that expires early (the partner revokes it) is refused with 401: the message is
-- retried (a second attempt) with a new token, which is then reused
\! python3 test/partner_sim.py expire build/partner_sim_33
SELECT pg_wallet.request_stk_push('M33-KES', '712000300', 17, partner_id => 'PTN-M33') ->> 'transaction_id' AS refresh_ref \gset
SELECT settled('deposits', :'refresh_ref');
SELECT status, attempts, last_http_status, last_error FROM pg_wallet.outbox WHERE subject_ref = :'refresh_ref';
SELECT pg_wallet.send_funds_to_mobile('M33-KES', '712000300', 10, 'B2C-4', 'Refund', 'PTN-M33') ->> 'transaction_id' AS b2c_again_ref \gset
SELECT settled('withdrawals', :'b2c_again_ref');
\! python3 test/partner_sim.py tokens build/partner_sim_33

-- missing or wrong consumer credentials: the message fails for good with a clear error and
-- nothing reaches the M-Pesa endpoints; set_partner_secrets with the right ones mends it
SELECT id FROM pg_wallet.create_partner('Sim M-Pesa W', 'KE', 'sim_mpesa', 'mpesa_daraja',
	'http://127.0.0.1:' || :'port' || '/p/PTN-M33W', ARRAY['KES'], 'https://bridge.example/cb',
	credentials => '{"shortcode": "174379", "passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
	                 "initiator_name": "testapi", "security_credential": "c2VjcmV0"}',
	webhook_secret => :'secret', partner_id => 'PTN-M33W', priority => 200);
SELECT pg_wallet.request_stk_push('M33-KES', '712000300', 18, partner_id => 'PTN-M33W') ->> 'transaction_id' AS nocred_ref \gset
SELECT settled('deposits', :'nocred_ref');
SELECT pg_wallet.set_partner_secrets('PTN-M33W', credentials => '{"shortcode": "174379",
	"passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
	"consumer_key": "sim-consumer-key", "consumer_secret": "wrong-consumer-secret"}');
SELECT pg_wallet.request_stk_push('M33-KES', '712000300', 19, partner_id => 'PTN-M33W') ->> 'transaction_id' AS badcred_ref \gset
SELECT settled('deposits', :'badcred_ref');
SELECT pg_wallet.set_partner_secrets('PTN-M33W', credentials => '{"shortcode": "174379",
	"passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
	"consumer_key": "sim-consumer-key", "consumer_secret": "sim-consumer-secret-0123456789"}');
SELECT pg_wallet.request_stk_push('M33-KES', '712000300', 20, partner_id => 'PTN-M33W') ->> 'transaction_id' AS goodcred_ref \gset
SELECT settled('deposits', :'goodcred_ref');
SELECT o.subject_ref = :'nocred_ref' AS no_credentials, o.subject_ref = :'badcred_ref' AS wrong_credentials,
	o.status, o.attempts, o.last_http_status, o.last_error
FROM pg_wallet.outbox o WHERE o.partner_id = 'PTN-M33W' ORDER BY o.id;
\! python3 test/partner_sim.py tokens build/partner_sim_33

-- no consumer secret, Basic credentials or access token in the outbox (rows, errors,
-- answers), the deposits, the withdrawals, the events, or the server log
\set tokfile `pwd` '/build/partner_sim_33/tokens.txt'
WITH t AS (SELECT tok FROM regexp_split_to_table(pg_read_file(:'tokfile'), E'\n') tok WHERE tok <> ''),
	s AS (SELECT x FROM unnest(ARRAY['sim-consumer-secret-0123456789', 'wrong-consumer-secret',
		encode(convert_to('sim-consumer-key:sim-consumer-secret-0123456789', 'UTF8'), 'base64'),
		encode(convert_to('sim-consumer-key:wrong-consumer-secret', 'UTF8'), 'base64')]) x
		UNION ALL SELECT tok FROM t)
SELECT (SELECT count(*) FROM t) AS tokens_issued,
	(SELECT count(*) FROM s, pg_wallet.outbox o WHERE strpos(o::text, s.x) > 0) AS in_outbox,
	(SELECT count(*) FROM s, pg_wallet.outbox_list(partner_id => 'PTN-M33W') o WHERE strpos(o::text, s.x) > 0) AS in_outbox_list,
	(SELECT count(*) FROM s, pg_wallet.deposits d WHERE strpos(d::text, s.x) > 0) AS in_deposits,
	(SELECT count(*) FROM s, pg_wallet.withdrawals w WHERE strpos(w::text, s.x) > 0) AS in_withdrawals,
	(SELECT count(*) FROM s, pg_wallet.events e WHERE strpos(e::text, s.x) > 0) AS in_events;
\! grep -c -F -e sim-consumer-secret -e wrong-consumer-secret -f build/partner_sim_33/tokens.txt build/regress/log/postmaster.log

\! python3 test/partner_sim.py requests build/partner_sim_33
\! python3 test/partner_sim.py callbacks build/partner_sim_33
\! python3 test/partner_sim.py stop build/partner_sim_33
SELECT ledger_ok();
