-- Airtime top-ups (issue 14, sql/payments/bills.sql) through an airtime partner (generic_json)
-- and the partner simulator (test/partner_sim.py; the phone number's last two digits choose
-- what it does). The operator's providers (range, denominations, the partner; refused when the
-- partner does not deliver airtime), the list users see; a top-up held on the wallet
-- (PROCESSING) and delivered (SUCCESS: the hold posted to the partner's settlement account),
-- failed, refused, delivered in the answer, and never confirmed (the hold expires: FAILED; a
-- late success is WL064); an idempotent retry; refused callbacks (wrong amount, unknown
-- reference); every refusal before anything is held (provider, amount, phone, role, funds);
-- the history with its filter and pages, each user's own. The ledger stays balanced.

CREATE FUNCTION bm(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(t,
		'BILL-[0-9]{8}-[0-9]+', 'BILL-<ref>', 'g'),
		'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"', '"<ts>"', 'g'),
		'SIM-[0-9]+', 'SIM-<n>', 'g')
$$;
CREATE FUNCTION berr(stmt text) RETURNS text LANGUAGE sql AS $$ SELECT bm(err(stmt)) $$;
-- a top-up's status once it is no longer PROCESSING (or what it is after 20 s)
CREATE FUNCTION bstatus(ref text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '20 seconds';
	s text;
BEGIN
	LOOP
		SELECT status || coalesce(' (' || error || ')', '') INTO s
		FROM pg_wallet.airtime_topups WHERE topup_ref = ref;
		IF s NOT LIKE 'PROCESSING%' OR clock_timestamp() > deadline THEN
			RETURN s;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
CREATE FUNCTION bwait(cond text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	ok boolean;
	deadline timestamptz := clock_timestamp() + interval '20 seconds';
BEGIN
	LOOP
		EXECUTE 'SELECT (' || cond || ')' INTO ok;
		IF ok OR clock_timestamp() > deadline THEN RETURN coalesce(ok, false); END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
CREATE FUNCTION air_callback(body jsonb, secret text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.partner_callback('PTN-A66', body::text, jsonb_build_object(
		'Webhook-Id', x.id,
		'Webhook-Timestamp', extract(epoch FROM now())::bigint::text,
		'Webhook-Signature', pg_wallet.webhook_signature(decode(substr(secret, 7), 'base64'),
			x.id, extract(epoch FROM now())::bigint, body::text)))
	FROM (SELECT 'cb_' || md5(random()::text) AS id) x
$$;
CREATE FUNCTION wbal(acct text) RETURNS text LANGUAGE sql AS $$
	SELECT format('balance %s available %s', b.balance, b.available_balance)
	FROM pg_wallet.get_balance(acct) b
$$;

\setenv SIM_DB :DBNAME
\! python3 test/partner_sim.py start build/partner_sim_66
\set port `python3 test/partner_sim.py port build/partner_sim_66`
\set secret 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE='

-- the airtime partner, a card partner (which cannot deliver airtime), the providers
SELECT id FROM pg_wallet.create_partner('Sim Airtime', 'KE', 'airtime', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-A66', ARRAY['KES'], 'https://bridge.example/cb',
	:'secret', partner_id => 'PTN-A66');
SELECT id FROM pg_wallet.create_partner('Sim Cards 66', 'KE', 'card', 'generic_json',
	'http://127.0.0.1:9/p/PTN-C66', ARRAY['KES'], partner_id => 'PTN-C66');
SELECT pg_wallet._settlement_account('PTN-A66', 'KES') AS settle \gset
SELECT bm(pg_wallet.airtime_provider_set('safaricom', 'Safaricom', 'KE', '254', 9, 'KES',
	10, 10000, 'PTN-A66', logo_url => 'https://cdn.example.com/providers/safaricom.png')::text);
SELECT bm(pg_wallet.airtime_provider_set('airtel-ke', 'Airtel Kenya', 'KE', '254', 9, 'KES',
	20, 1000, 'PTN-A66', ARRAY[1000, 20, 50, 100, 250, 500])::text);
SELECT pg_wallet.airtime_provider_set('telkom', 'Telkom Kenya', 'KE', '254', 9, 'KES', 10,
	500, 'PTN-A66', active => false) ->> 'providerId' AS inactive;
SELECT berr($$SELECT pg_wallet.airtime_provider_set('cardnet', 'Card Net', 'KE', '254', 9,
	'KES', 10, 100, 'PTN-C66')$$);
SELECT berr($$SELECT pg_wallet.airtime_provider_set('odd', 'Odd', 'KE', '254', 9, 'KES', 10,
	100, 'PTN-A66', ARRAY[5])$$);
SELECT berr($$SELECT pg_wallet.airtime_provider_set('Bad Id', 'Bad', 'KE', '254', 9, 'KES',
	10, 100, 'PTN-A66')$$);

-- the parties: users U (a KES wallet of 1000) and V, a merchant
SELECT principal_id AS u, owner_id AS u_owner FROM pg_wallet.register_user('air-u@example.com',
	'Passw0rd-66', 'You', 'Air', '+254700006601') \gset
SELECT principal_id AS v, owner_id AS v_owner FROM pg_wallet.register_user('air-v@example.com',
	'Passw0rd-66', 'Vee', 'Air', '+254700006602') \gset
SELECT principal_id AS m FROM pg_wallet.create_principal('merchant', 'air-m@example.com',
	'Passw0rd-66') \gset
SELECT count(*) FROM (SELECT pg_wallet.create_account(:u_owner, 'KES', 'WALLET', 'A66-U')
	UNION ALL SELECT pg_wallet.create_account(:v_owner, 'KES', 'WALLET', 'A66-V')) x;
SELECT status FROM pg_wallet.credit('A66-U', 1000, 'SYS-SUSPENSE-KES');

-- what users see: the active providers, by country and name
SELECT bm(pg_wallet.airtime_providers_list(:'u')::text);
SELECT jsonb_array_length(pg_wallet.airtime_providers_list(:'u', 'USD') -> 'providers')
	AS usd_providers;

-- refusals before anything is held: provider unknown or inactive, amount out of range or
-- not a denomination, a phone of another country or none, not a user, funds, a bad reference
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'mtn', '0712345600', 100)$$, :'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'telkom', '0712345600', 100)$$, :'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '0712345600', 5)$$, :'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'airtel-ke', '0712345600', 30)$$,
	:'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '+2348012345678', 100)$$,
	:'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', 'call me', 100)$$, :'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '08012345678', 100)$$,
	:'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '0712345600', 0)$$, :'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '0712345600', 100)$$,
	:'m'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '0712345600', 5000)$$,
	:'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '0712345600', 100, NULL,
	repeat('r', 101))$$, :'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '0712345600', 100,
	'A66-U')$$, :'v'));
SELECT wbal('A66-U') AS wallet, count(*) AS topups FROM pg_wallet.airtime_topups;

-- delivered: held (PROCESSING), then the partner's callback posts the hold (SUCCESS)
SELECT pg_wallet.airtime_topup(:'u', 'safaricom', '0712 345 600', 100, NULL, 'air-1') AS t1j
\gset
SELECT bm(:'t1j');
SELECT :'t1j'::jsonb ->> 'transactionId' AS t1 \gset
SELECT wbal('A66-U') AS held;
SELECT bstatus(:'t1');
SELECT wbal('A66-U') AS wallet, wbal(:'settle') AS settlement;
SELECT j.journal_type, t.state, t.partner_reference ~ '^SIM-' AS partner_ref
FROM pg_wallet.airtime_topups t JOIN pg_wallet.journals j ON j.id = t.journal_id
WHERE t.topup_ref = :'t1';
-- the same request again: the first top-up; the same reference for another: WL003
SELECT (pg_wallet.airtime_topup(:'u', 'safaricom', '0712 345 600', 100, NULL, 'air-1')
	->> 'transactionId') = :'t1' AS replayed;
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '0712345600', 200, NULL,
	'air-1')$$, :'u'));

-- the partner fails (01), refuses the request (08), delivers in its answer (10): nothing
-- leaves the wallet for the first two
SELECT pg_wallet.airtime_topup(:'u', 'airtel-ke', '+254712345601', 50) ->> 'transactionId'
	AS t2 \gset
SELECT pg_wallet.airtime_topup(:'u', 'airtel-ke', '254712345608', 20) ->> 'transactionId'
	AS t3 \gset
SELECT pg_wallet.airtime_topup(:'u', 'safaricom', '0712345610', 30) ->> 'transactionId'
	AS t4 \gset
SELECT bstatus(:'t2') AS failed, bstatus(:'t3') AS refused, bstatus(:'t4') AS in_answer;
SELECT wbal('A66-U') AS wallet;

-- the partner accepts and stays silent (09): PROCESSING until the hold expires (FAILED); a
-- success reported later is a conflict
SELECT pg_wallet.airtime_topup(:'u', 'safaricom', '0712345609', 40) ->> 'transactionId'
	AS t5 \gset
SELECT bwait(format($$(SELECT state FROM pg_wallet.airtime_topups WHERE topup_ref = %L)
	= 'sent_to_partner'$$, :'t5')) AS sent;
SELECT state, status FROM pg_wallet.airtime_topups WHERE topup_ref = :'t5';
UPDATE pg_wallet.holds SET expires_at = now() - interval '1 second'
WHERE id = (SELECT hold_id FROM pg_wallet.airtime_topups WHERE topup_ref = :'t5');
SELECT pg_wallet.expire_holds() >= 1 AS expired;
SELECT bstatus(:'t5');
SELECT berr(format($$SELECT air_callback(%L, %L)$$, jsonb_build_object('type',
	'airtime.completed', 'reference', :'t5', 'amount', '40.00', 'currency', 'KES'), :'secret'));
-- callbacks by hand: a wrong amount, an unknown reference, the delivered one again
SELECT pg_wallet.airtime_topup(:'u', 'safaricom', '0712345609', 60) ->> 'transactionId'
	AS t6 \gset
SELECT berr(format($$SELECT air_callback(%L, %L)$$, jsonb_build_object('type',
	'airtime.completed', 'reference', :'t6', 'amount', '6.00', 'currency', 'KES'), :'secret'));
SELECT berr(format($$SELECT air_callback(%L, %L)$$, jsonb_build_object('type',
	'airtime.completed', 'reference', 'BILL-20250101-999999', 'amount', '6.00'), :'secret'));
SELECT bm(air_callback(jsonb_build_object('type', 'airtime.completed', 'reference', :'t6',
	'amount', '60.00', 'currency', 'KES'), :'secret')::text);
SELECT bm(air_callback(jsonb_build_object('type', 'airtime.completed', 'reference', :'t6',
	'amount', '60.00', 'currency', 'KES'), :'secret')::text) AS again;
SELECT berr(format($$SELECT air_callback(%L, %L)$$, jsonb_build_object('type',
	'airtime.failed', 'reference', :'t6', 'amount', '60.00'), :'secret'));
SELECT wbal('A66-U') AS wallet, wbal(:'settle') AS settlement;
-- more than the wallet holds (within the KYC limit): WL001, nothing held
SELECT berr(format($$SELECT pg_wallet.airtime_topup(%L, 'safaricom', '0712345600', 1000)$$,
	:'u'));

-- the history: newest first, a status filter, pages; another user sees none of it
SELECT string_agg(x ->> 'amount' || ' ' || (x ->> 'status'), ', ') AS topups
FROM jsonb_array_elements(pg_wallet.airtime_topups_list(:'u') -> 'topups') x;
SELECT pg_wallet.airtime_topups_list(:'u', 'FAILED') -> 'pagination' AS failed_page,
	pg_wallet.airtime_topups_list(:'u', NULL, 2, 4) -> 'pagination' AS last_page,
	jsonb_array_length(pg_wallet.airtime_topups_list(:'u', NULL, 2, 4) -> 'topups') AS on_it;
SELECT pg_wallet.airtime_topups_list(:'v') AS other_user;
SELECT berr(format($$SELECT pg_wallet.airtime_topups_list(%L, 'DONE')$$, :'u'));
SELECT berr(format($$SELECT pg_wallet.airtime_topups_list(%L, NULL, 0)$$, :'u'));

\! python3 test/partner_sim.py wait build/partner_sim_66 callbacks 2 20
\! python3 test/partner_sim.py requests build/partner_sim_66 | grep 'PTN-A66'
\! python3 test/partner_sim.py stop build/partner_sim_66

SELECT ledger_ok();
