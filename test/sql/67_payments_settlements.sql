-- Merchant settlement runs (issue 14, sql/payments/settlements.sql) through a bank_transfer
-- partner and the partner simulator (the bank account's last two digits choose what it does):
-- a run settles each approved merchant due that day once: the collections less the payments
-- still in their hold period, less the fee (a SETTLEMENT_FEE journal), paid out to its bank
-- account (PROCESSING, then COMPLETED on the partner's callback; a failed payout is FAILED and
-- gives the fee back); below the minimum or with nothing to settle it is SKIPPED; an unknown
-- bank code FAILS without moving money; a pending merchant is never due, a weekly one only on
-- Mondays; a second run finds nothing; the dashboard counts what was settled; who may list
-- the runs. The ledger stays balanced.

CREATE FUNCTION sm(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(t,
		'(STL|TXN)-[0-9]{8}-[0-9]+', '\1-<ref>', 'g'),
		'"?[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:]{8}Z)?"?', '<date>', 'g'),
		'WDL-REQ-[0-9]{8}-[0-9]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
		'<id>', 'g')
$$;
CREATE FUNCTION serr(stmt text) RETURNS text LANGUAGE sql AS $$ SELECT sm(err(stmt)) $$;
CREATE FUNCTION sbal(acct text) RETURNS numeric LANGUAGE sql AS $$
	SELECT balance FROM pg_wallet.get_balance(acct) $$;
CREATE FUNCTION settled(merchant uuid) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '20 seconds';
	s text;
BEGIN
	LOOP
		SELECT status || coalesce(' (' || reason || ')', '') INTO s
		FROM pg_wallet.settlements WHERE merchant_id = merchant;
		IF s NOT LIKE 'PROCESSING%' OR clock_timestamp() > deadline THEN
			RETURN s;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
CREATE OR REPLACE FUNCTION utc_today() RETURNS date LANGUAGE sql AS $$
	SELECT (now() AT TIME ZONE 'UTC')::date $$;

\setenv SIM_DB :DBNAME
\! python3 test/partner_sim.py start build/partner_sim_67
\set port `python3 test/partner_sim.py port build/partner_sim_67`
\set secret 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE='
SELECT id FROM pg_wallet.create_partner('Sim Bank 67', 'KE', 'bank_transfer', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-B67', ARRAY['KES'], 'https://bridge.example/cb',
	:'secret', partner_id => 'PTN-B67', priority => 0);

-- a customer C (a KES wallet), user U who registers five merchants, an admin approves them
-- and sets a 1% fee; user V registers one the admin does not approve:
--   ok      no hold, paid to a good account (..00)
--   held    1 day of hold: a payment of yesterday waits
--   minimum a minimum it does not reach
--   failing its payout fails at the partner (..01)
--   badbank a bank code the platform does not know
--   pending not approved: never due
SELECT principal_id AS c, owner_id AS c_owner FROM pg_wallet.register_user('stl-c@example.com',
	'Passw0rd-67', 'Cee', 'Payer', '+254700006701') \gset
SELECT principal_id AS u FROM pg_wallet.register_user('stl-u@example.com', 'Passw0rd-67',
	'You', 'Seller', '+254700006702') \gset
SELECT principal_id AS v FROM pg_wallet.register_user('stl-v@example.com', 'Passw0rd-67',
	'Vee', 'Other', '+254700006703') \gset
SELECT principal_id AS adm FROM pg_wallet.create_principal('admin', 'stl-adm@example.com',
	'Passw0rd-67') \gset
SELECT count(*) FROM (SELECT pg_wallet.create_account(:c_owner, 'KES', 'WALLET', 'S67-C')) x;
SELECT status FROM pg_wallet.credit('S67-C', 5000, 'SYS-SUSPENSE-KES');
CREATE TABLE m67 (name text PRIMARY KEY, id uuid, acct text);
INSERT INTO m67 (name, id)
SELECT x.name, (pg_wallet.merchant_register(x.who, 'Shop ' || x.name, 'sole_proprietor',
	'S6700' || x.n, 'retail', x.bank, x.account, 'You Seller') ->> 'merchantId')::uuid
FROM (VALUES (1, 'ok', '001', '1234567800', :'u'::uuid),
	(2, 'held', '001', '2234567800', :'u'), (3, 'minimum', '001', '3234567800', :'u'),
	(4, 'failing', '001', '4234567801', :'u'), (5, 'badbank', '044', '5234567800', :'u'),
	(6, 'pending', '001', '6234567800', :'v')) x (n, name, bank, account, who);
SELECT count(*) AS approved FROM m67, LATERAL pg_wallet.merchant_approve(:'adm', m67.id::text) a
WHERE m67.name <> 'pending';
UPDATE m67 SET acct = a.account_number FROM pg_wallet.merchants m
JOIN pg_wallet.accounts a ON a.owner_id = m.owner_id AND a.purpose = 'AVAILABLE_COLLECTIONS'
WHERE m.id = m67.id;
SELECT string_agg(m67.name || ' ' || (s -> 'settlementSettings')::text, '; '
	ORDER BY m67.name) AS settings
FROM m67, LATERAL pg_wallet.merchant_settlement_set(:'adm', m67.id::text, 'daily',
	CASE m67.name WHEN 'minimum' THEN 5000 ELSE 0 END, 1,
	CASE m67.name WHEN 'held' THEN 1 ELSE 0 END) s
WHERE m67.name <> 'pending';
-- each approved merchant is paid 200 by C, two days ago (held: yesterday)
SELECT string_agg(m67.name || ' ' || (pg_wallet.payment_create(:'c', m67.id::text, 200, 'KES',
	's67-' || m67.name) ->> 'status'), ', ' ORDER BY m67.name) AS paid
FROM m67 WHERE m67.name <> 'pending';
UPDATE pg_wallet.payments p SET created_at = now() - x.back, completed_at = now() - x.back
FROM (SELECT m.owner_id, CASE m67.name WHEN 'held' THEN interval '1 day'
		ELSE interval '2 days' END AS back
	FROM m67 JOIN pg_wallet.merchants m ON m.id = m67.id) x
WHERE p.merchant_owner_id = x.owner_id;

-- who is due when: daily merchants every day, weekly ones on Mondays (2026-12-07 is one)
SELECT pg_wallet._settlement_period(m, date '2026-12-07') AS daily_monday,
	pg_wallet._settlement_period(m, date '2026-12-08') AS daily_tuesday,
	pg_wallet._settlement_period(jsonb_populate_record(m,
		'{"settlement_frequency": "weekly"}'), date '2026-12-07') AS weekly_monday,
	pg_wallet._settlement_period(jsonb_populate_record(m,
		'{"settlement_frequency": "weekly"}'), date '2026-12-08') AS weekly_tuesday
FROM pg_wallet.merchants m WHERE m.id = (SELECT id FROM m67 WHERE name = 'ok');

-- the run (it settles every merchant due, those of the earlier tests too): paid, skipped,
-- failed; the pending merchant is not due
SELECT pg_wallet.settlement_run(utc_today(), 100) ->> 'remaining' AS remaining;
SELECT m67.name, s.status, s.available_minor, s.held_minor, s.gross_minor, s.fee_minor,
	s.net_minor, s.reason
FROM m67 JOIN pg_wallet.settlements s ON s.merchant_id = m67.id ORDER BY m67.name;
-- the payouts end at the partner: completed (ok), failed (failing: its fee given back)
SELECT settled((SELECT id FROM m67 WHERE name = 'ok')) AS ok,
	settled((SELECT id FROM m67 WHERE name = 'failing')) AS failing;
SELECT m67.name, sbal(m67.acct) AS collections FROM m67 WHERE m67.name <> 'pending'
ORDER BY m67.name;
SELECT j.journal_type, count(*) FROM pg_wallet.journals j
WHERE j.journal_type LIKE 'SETTLEMENT%' AND j.metadata ->> 'merchant' IN (SELECT id::text FROM m67)
	OR j.journal_type = 'SETTLEMENT_FEE_REFUND' AND j.metadata ->> 'settlement' IN (
		SELECT s.settlement_ref FROM pg_wallet.settlements s JOIN m67 ON m67.id = s.merchant_id)
GROUP BY 1 ORDER BY 1;
SELECT w.kind, w.channel, w.bank_code, w.destination, w.status, w.amount_minor
FROM pg_wallet.settlements s JOIN pg_wallet.withdrawals w ON w.id = s.withdrawal_id
JOIN m67 ON m67.id = s.merchant_id ORDER BY w.destination;

-- once per merchant and period: the same run again finds nothing; a future day is refused
SELECT sm(pg_wallet.settlement_run(utc_today())::text) AS again;
SELECT count(*) AS runs FROM pg_wallet.settlements s JOIN m67 ON m67.id = s.merchant_id;
SELECT serr($$SELECT pg_wallet.settlement_run(utc_today() + 1)$$);
SELECT serr($$SELECT pg_wallet.settlement_run(utc_today(), 0)$$);

-- the dashboard shows what was settled; the runs are listed for who acts for the merchant
SELECT (pg_wallet.merchant_dashboard(:'u', (SELECT id FROM m67 WHERE name = 'ok')::text)
	-> 'settlements') - 'nextSettlementDate' AS dashboard;
SELECT sm((pg_wallet.merchant_settlements(:'u', (SELECT id FROM m67 WHERE name = 'ok')::text)
	#- '{settlements,0,createdAt}' #- '{settlements,0,completedAt}')::text) AS runs;
SELECT serr(format($$SELECT pg_wallet.merchant_settlements(%L, %L)$$, :'v',
	(SELECT id FROM m67 WHERE name = 'ok')));

\! python3 test/partner_sim.py stop build/partner_sim_67
SELECT ledger_ok();
