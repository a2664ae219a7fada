-- Idempotency keys are per owner: two merchants may use the same reference (Sellapay
-- requestStkPush, sendFundsToMobile, sendFundsToLocalBank, sendFundsToSellapay) or the same
-- idempotency key (cashier deposit_request, withdraw_request, Tribble fund_wallet)
-- independently, while a retry by the same owner still replays and a different request of
-- the same owner under its key is still WL003. Then the principal of events: the principal
-- that caused one (a cashier withdrawal), else the owner's only principal, else null; in
-- events, get_events() and the NOTIFY payload (owner_id stays the routing key).
-- Partner calls go to the simulator, whose magic number 09 accepts and never calls back, so
-- nothing here depends on callbacks.
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
	SELECT regexp_replace(err(stmt), '(DEP|WDL)-REQ-[0-9]{8}-[0-9]+', '\1-REQ-<ref>', 'g')
$$;

\setenv SIM_DB :DBNAME
\! python3 test/partner_sim.py start build/partner_sim_34
\set port `python3 test/partner_sim.py port build/partner_sim_34`
\set secret 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE='

SELECT id FROM pg_wallet.create_partner('Sim 34', 'KE', 'sim34', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-S34', ARRAY['KES'], 'https://bridge.example/cb',
	:'secret', partner_id => 'PTN-S34');
SELECT id FROM pg_wallet.create_partner('Sim Bank 34', 'KE', 'bank_transfer', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-S34B', ARRAY['KES'], 'https://bridge.example/cb',
	:'secret', partner_id => 'PTN-S34B');
-- two merchants, each with one principal and a KES wallet
SELECT pg_wallet.create_owner('merchant', 'Merchant A 34') AS oa \gset
SELECT pg_wallet.create_owner('merchant', 'Merchant B 34') AS ob \gset
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('merchant', :oa, 2)
RETURNING id AS pa \gset
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('merchant', :ob, 2)
RETURNING id AS pb \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:oa, 'KES', 'WALLET', 'K34-A')
	UNION ALL SELECT pg_wallet.create_account(:ob, 'KES', 'WALLET', 'K34-B')) a;
SELECT status FROM pg_wallet.credit('K34-A', 200, 'SETTLE-PTN-S34-KES');
SELECT status FROM pg_wallet.credit('K34-B', 200, 'SETTLE-PTN-S34-KES');

-- ---------------------------------------------------------------------------------------
-- requestStkPush: the same reference for A and B, two deposits; A's retry replays
-- ---------------------------------------------------------------------------------------
SELECT r ->> 'transaction_id' AS stk_a, r ->> 'replayed' AS replayed
FROM pg_wallet.request_stk_push('K34-A', '712000109', 10, 'INV-34', partner_id => 'PTN-S34') r
\gset
SELECT :'replayed' AS a_replayed;
SELECT r ->> 'transaction_id' AS stk_b, r ->> 'replayed' AS b_replayed
FROM pg_wallet.request_stk_push('K34-B', '712000109', 10, 'INV-34', partner_id => 'PTN-S34') r
\gset
SELECT :'b_replayed' AS b_replayed, :'stk_a' <> :'stk_b' AS two_deposits;
SELECT (r ->> 'transaction_id') = :'stk_a' AS same_deposit, r ->> 'replayed' AS replayed
FROM pg_wallet.request_stk_push('K34-A', '712000109', 10, 'INV-34', partner_id => 'PTN-S34') r;
SELECT (r ->> 'transaction_id') = :'stk_b' AS same_deposit, r ->> 'replayed' AS replayed
FROM pg_wallet.request_stk_push('K34-B', '712000109', 10, 'INV-34', partner_id => 'PTN-S34') r;
-- the same owner reusing its reference for another request is still refused
SELECT errm($$SELECT pg_wallet.request_stk_push('K34-A', '712000109', 11, 'INV-34',
	partner_id => 'PTN-S34')$$);
SELECT d.owner_id = :oa AS owner_a, d.idempotency_key, d.amount_minor
FROM pg_wallet.deposits d WHERE d.request_ref IN (:'stk_a', :'stk_b') ORDER BY d.id;

-- ---------------------------------------------------------------------------------------
-- cashier deposit_request and Tribble fund_wallet: the caller's key, per owner
-- ---------------------------------------------------------------------------------------
SELECT pg_wallet.deposit_request('K34-A', 20, 'sim34', phone => '0712000109',
	idempotency_key => 'dep-34') ->> 'request_ref' AS dep_a \gset
SELECT pg_wallet.deposit_request('K34-B', 20, 'sim34', phone => '0712000109',
	idempotency_key => 'dep-34') ->> 'request_ref' AS dep_b \gset
SELECT :'dep_a' <> :'dep_b' AS two_deposits;
SELECT (r ->> 'request_ref') = :'dep_a' AS same_deposit, r ->> 'replayed' AS replayed
FROM pg_wallet.deposit_request('K34-A', 20, 'sim34', phone => '0712000109',
	idempotency_key => 'dep-34') r;
SELECT errm($$SELECT pg_wallet.deposit_request('K34-B', 21, 'sim34', phone => '0712000109',
	idempotency_key => 'dep-34')$$);
SELECT f ->> 'transactionId' AS fund_a FROM pg_wallet.fund_wallet('K34-A', 30, 'card-34', 'fund-34',
	'sim34') f \gset
SELECT f ->> 'transactionId' AS fund_b FROM pg_wallet.fund_wallet('K34-B', 30, 'card-34', 'fund-34',
	'sim34') f \gset
SELECT :'fund_a' <> :'fund_b' AS two_deposits,
	(pg_wallet.fund_wallet('K34-A', 30, 'card-34', 'fund-34', 'sim34') ->> 'transactionId')
		= :'fund_a' AS a_retry_replays,
	(pg_wallet.fund_wallet('K34-B', 30, 'card-34', 'fund-34', 'sim34') ->> 'transactionId')
		= :'fund_b' AS b_retry_replays;
SELECT owner_id = :oa AS owner_a, count(*) AS deposits FROM pg_wallet.deposits
WHERE owner_id IN (:oa, :ob) GROUP BY owner_id ORDER BY owner_id = :oa DESC;

-- ---------------------------------------------------------------------------------------
-- sendFundsToMobile and sendFundsToLocalBank: the same reference for A and B
-- ---------------------------------------------------------------------------------------
SELECT pg_wallet.send_funds_to_mobile('K34-A', '712000109', 5, 'PAY-34', NULL, 'PTN-S34')
	->> 'transaction_id' AS mob_a \gset
SELECT pg_wallet.send_funds_to_mobile('K34-B', '712000109', 5, 'PAY-34', NULL, 'PTN-S34')
	->> 'transaction_id' AS mob_b \gset
SELECT :'mob_a' <> :'mob_b' AS two_payouts,
	(pg_wallet.send_funds_to_mobile('K34-A', '712000109', 5, 'PAY-34', NULL, 'PTN-S34')
		->> 'transaction_id') = :'mob_a' AS a_retry_replays,
	(pg_wallet.send_funds_to_mobile('K34-B', '712000109', 5, 'PAY-34', NULL, 'PTN-S34')
		->> 'transaction_id') = :'mob_b' AS b_retry_replays;
SELECT pg_wallet.send_funds_to_bank('K34-A', '015', '0123456709', 7, 'John Doe', 'PAY-34',
	'PTN-S34B') ->> 'transaction_id' AS bank_a \gset
SELECT pg_wallet.send_funds_to_bank('K34-B', '015', '0123456709', 7, 'John Doe', 'PAY-34',
	'PTN-S34B') ->> 'transaction_id' AS bank_b \gset
SELECT :'bank_a' <> :'bank_b' AS two_payouts,
	(pg_wallet.send_funds_to_bank('K34-A', '015', '0123456709', 7, 'John Doe', 'PAY-34',
		'PTN-S34B') ->> 'transaction_id') = :'bank_a' AS a_retry_replays;
-- A's reference names A's payouts only: B's retry never returns A's
SELECT w.request_ref = :'mob_a' AS is_a, w.owner_id = :oa AS owner_a, w.kind, w.idempotency_key,
	w.amount_minor
FROM pg_wallet.withdrawals w WHERE w.request_ref IN (:'mob_a', :'mob_b', :'bank_a', :'bank_b')
ORDER BY w.id;

-- ---------------------------------------------------------------------------------------
-- cashier withdraw_request: the same idempotency key for two principals of two owners
-- ---------------------------------------------------------------------------------------
SELECT pg_wallet.withdraw_request(:'pa', 3, 'KES', '0712000109',
	pg_wallet._issue_verification_token(:'pa', 'withdrawal', 'otp_email'), 'sim34',
	idempotency_key => 'wd-34') #>> '{data,request_ref}' AS wd_a \gset
SELECT pg_wallet.withdraw_request(:'pb', 3, 'KES', '0712000109',
	pg_wallet._issue_verification_token(:'pb', 'withdrawal', 'otp_email'), 'sim34',
	idempotency_key => 'wd-34') #>> '{data,request_ref}' AS wd_b \gset
SELECT :'wd_a' <> :'wd_b' AS two_withdrawals;
-- a retry needs no new verification token and replays
SELECT (r #>> '{data,request_ref}') = :'wd_a' AS same_withdrawal, r ->> 'replayed' AS replayed
FROM pg_wallet.withdraw_request(:'pa', 3, 'KES', '0712000109', NULL, 'sim34',
	idempotency_key => 'wd-34') r;
SELECT w.request_ref = :'wd_a' AS is_a, w.principal_id = CASE WHEN w.request_ref = :'wd_a'
	THEN :'pa'::uuid ELSE :'pb'::uuid END AS asked_by_its_principal
FROM pg_wallet.withdrawals w WHERE w.request_ref IN (:'wd_a', :'wd_b') ORDER BY w.id;

-- ---------------------------------------------------------------------------------------
-- sendFundsToSellapay: a ledger transfer; its key is the reference scoped by the sender
-- ---------------------------------------------------------------------------------------
SELECT s ->> 'replayed' AS replayed, s ->> 'transaction_id' AS p2p_a
FROM pg_wallet.send_funds_to_account('K34-A', 'K34-B', 4, 'P2P-34') s \gset
SELECT :'replayed' AS a_replayed;
SELECT s ->> 'replayed' AS b_replayed, s ->> 'transaction_id' AS p2p_b
FROM pg_wallet.send_funds_to_account('K34-B', 'K34-A', 4, 'P2P-34') s \gset
SELECT :'b_replayed' AS b_replayed, :'p2p_a' <> :'p2p_b' AS two_transfers;
SELECT (s ->> 'transaction_id') = :'p2p_a' AS same_transfer, s ->> 'replayed' AS replayed
FROM pg_wallet.send_funds_to_account('K34-A', 'K34-B', 4, 'P2P-34') s;
SELECT errm($$SELECT pg_wallet.send_funds_to_account('K34-A', 'K34-B', 5, 'P2P-34')$$)
	AS same_owner_other_request;
SELECT k.key, CASE k.scope WHEN :oa THEN '<A>' WHEN :ob THEN '<B>' END AS scope, k.kind
FROM pg_wallet.idempotency_keys k WHERE k.key = 'send:P2P-34' ORDER BY k.result_id;
SELECT bal('K34-A'), bal('K34-B');

-- ---------------------------------------------------------------------------------------
-- Events name their principal
-- ---------------------------------------------------------------------------------------
-- the transfers' events: each owner has one principal, so it is named
SELECT owner_id = :oa AS owner_a, event_type,
	principal_id = CASE WHEN owner_id = :oa THEN :'pa'::uuid ELSE :'pb'::uuid END AS its_principal,
	payload ->> 'from_account' AS from_account
FROM pg_wallet.events WHERE owner_id IN (:oa, :ob) ORDER BY id;
-- get_events() shows it (the last column, so existing readers are unchanged)
SELECT event_type, principal_id = :'pa' AS is_pa FROM pg_wallet.get_events(:oa);
SELECT attname FROM pg_attribute
WHERE attrelid = 'pg_wallet.event_info'::regclass AND attnum > 0 ORDER BY attnum;

-- an owner with two principals: null unless the event says who caused it
SELECT pg_wallet.create_owner('user', 'Household 34') AS oc \gset
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('user', :oc, 2)
RETURNING id AS pc1 \gset
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('user', :oc, 2)
RETURNING id AS pc2 \gset
-- and an owner without any
SELECT pg_wallet.create_owner('platform', 'Nobody 34') AS od \gset
SELECT pg_wallet.emit_event(:oc, 'fraud:risk_alert', '{"n": 1}') AS ec1 \gset
SELECT pg_wallet.emit_event(:oc, 'fraud:risk_alert', '{"n": 2}', :'pc2') AS ec2 \gset
SELECT pg_wallet.emit_event(:od, 'fraud:risk_alert', '{"n": 3}') AS ed1 \gset
SELECT payload ->> 'n' AS n, principal_id IS NULL AS no_principal,
	principal_id = :'pc2' AS is_pc2 FROM pg_wallet.get_events(:oc);
SELECT payload ->> 'n' AS n, principal_id IS NULL AS no_principal FROM pg_wallet.get_events(:od);
-- a principal of another owner is refused
SELECT replace(replace(err(format('SELECT pg_wallet.emit_event(%s, %L, %L, %L)', :oc,
	'fraud:risk_alert', '{}', :'pa')), :'pa', '<pa>'), :oc || '', '<oc>') AS other_owners;
-- a cashier withdrawal's events name the principal that asked for it, even among two
SELECT (pg_wallet.create_account(:oc, 'KES', 'WALLET', 'K34-C')).account_number;
SELECT status FROM pg_wallet.credit('K34-C', 50, 'SETTLE-PTN-S34-KES');
SELECT pg_wallet.withdraw_request(:'pc1', 3, 'KES', '0712000109',
	pg_wallet._issue_verification_token(:'pc1', 'withdrawal', 'otp_email'), 'sim34',
	timeout_s => 1) #>> '{data,request_ref}' AS wd_c \gset
SELECT pg_sleep(1.2);
-- the sweep skips a row the outbox worker has locked at that moment: sweep until it is done
SELECT wait_until(format('pg_wallet.expire_withdrawals() >= 0 AND (SELECT status FROM '
	'pg_wallet.withdrawals WHERE request_ref = %L) = %L', :'wd_c', 'failed')) AS expired;
SELECT status, error FROM pg_wallet.withdrawals WHERE request_ref = :'wd_c';
SELECT event_type, principal_id = :'pc1' AS is_pc1, payload ->> 'error' AS error
FROM pg_wallet.get_events(:oc, :ed1);
-- the NOTIFY payload: owner_id (the bridge's routing key) and principal_id
SELECT pg_wallet._event_notification(7, 42, 'deposit_completed', NULL);
SELECT replace(pg_wallet._event_notification(8, 42, 'transfer_completed', :'pa'), :'pa', '<pa>');
SELECT position('"owner_id": 42,' IN pg_wallet._event_notification(8, 42, 'transfer_completed',
	:'pa')) > 0 AS bridge_finds_owner_id;

SELECT ledger_ok();
\! python3 test/partner_sim.py stop build/partner_sim_34
