-- Fees: schedules matched by type, currency, band and client service; charged inside the
-- posting as extra legs to SYS-FEE-<currency> (and an agent's commission account), quoted by
-- the same code. Schedules here are in NGN so that no other suite sees them.

SELECT pg_wallet.create_owner('partner', 'Fee bank') AS bank \gset
SELECT pg_wallet.create_owner('user', 'Fee payer') AS u \gset
SELECT pg_wallet.create_owner('agent', 'Fee agent') AS ag \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:bank, 'NGN', 'SETTLEMENT', 'FE-BANK', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'NGN', 'WALLET', 'FE-A')
	UNION ALL SELECT pg_wallet.create_account(:u, 'NGN', 'WALLET', 'FE-B')
	UNION ALL SELECT pg_wallet.create_account(:ag, 'NGN', 'COMMISSION_ACCOUNT', 'FE-AGENT',
	                                          credit_mode => 'DEFERRED')) a;
SELECT status, fee, agent_commission FROM pg_wallet.credit('FE-A', 100000, 'FE-BANK');

-- no schedule: no fee
SELECT fee, applied_rate, schedule_id IS NULL AS no_schedule
FROM pg_wallet.calculate_fee('TRANSFER', 100, 'NGN');
SELECT status, fee FROM pg_wallet.transfer('FE-A', 'FE-B', 100);

-- a percentage fee with a minimum and a maximum: 1.5%, at least 10.00, at most 500.00
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'PERCENTAGE', rate => 0.015,
	currency => 'NGN', min_fee => 10, max_fee => 500) AS pct \gset
SELECT a.amount, q.fee, q.applied_rate, q.bearer, q.sender_fee, q.receiver_fee
FROM (VALUES (100::numeric), (1000), (1000.33), (1000.30), (20000), (50000)) a(amount),
	pg_wallet.calculate_fee('TRANSFER', a.amount, 'NGN') q;
-- the charge is the quote: the sender pays amount + fee, SYS-FEE-NGN gets the fee
SELECT bal('FE-A'), bal('FE-B'), bal('SYS-FEE-NGN');
SELECT status, fee FROM pg_wallet.transfer('FE-A', 'FE-B', 1000.33, 'fee-t1');
SELECT bal('FE-A'), bal('FE-B'), bal('SYS-FEE-NGN');
SELECT jsonb_path_query_array(j, '$.entries[*].account_number') AS accounts,
       jsonb_path_query_array(j, '$.entries[*].side') AS sides,
       jsonb_path_query_array(j, '$.entries[*].amount') AS amounts,
       jsonb_path_query_array(j, '$.entries[*].description') AS descriptions
FROM pg_wallet.get_journal((SELECT receipt_code FROM pg_wallet.transfer('FE-A', 'FE-B', 1000.33,
                                                                        'fee-t1'))) j;
-- a replay reports the same fee and charges nothing again
SELECT status, replayed, fee FROM pg_wallet.transfer('FE-A', 'FE-B', 1000.33, 'fee-t1');
SELECT bal('FE-A');
-- the fee counts in the funds check
SELECT err($$SELECT pg_wallet.transfer('FE-B', 'FE-A', (SELECT balance FROM pg_wallet.get_balance('FE-B')))$$);

-- rounding is half up on the minor unit, and never creates or loses one
SELECT pg_wallet.set_fee_schedule_active(:pct, false);
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'PERCENTAGE', rate => 0.015,
	currency => 'NGN') AS pct2 \gset
SELECT a.amount, q.fee FROM (VALUES (0.33), (0.34), (1.00), (0.99), (0.01)) a(amount),
	pg_wallet.calculate_fee('TRANSFER', a.amount, 'NGN') q;

-- quote == charge over many amounts: every posting's fee equals its quote, and the
-- sender's balance falls by exactly amount + fee
SELECT status FROM pg_wallet.credit('FE-A', 1000000, 'FE-BANK');
CREATE TEMP TABLE fee_runs AS
SELECT i, round((1 + (i * 7919) % 250000) / 100.0, 2) AS amount FROM generate_series(1, 300) i;
SELECT balance AS a_before FROM pg_wallet.get_balance('FE-A') \gset
SELECT balance AS fee_before FROM pg_wallet.get_balance('SYS-FEE-NGN') \gset
CREATE TEMP TABLE fee_posted AS
SELECT r.i, r.amount, (pg_wallet.transfer('FE-A', 'FE-B', r.amount)).fee AS fee
FROM fee_runs r ORDER BY r.i;
SELECT count(*) FILTER (WHERE q.fee <> t.fee) AS quote_differs,
       sum(t.amount + t.fee) = :a_before - (SELECT balance FROM pg_wallet.get_balance('FE-A'))
           AS sender_paid_amount_plus_fee,
       sum(t.fee) = (SELECT balance FROM pg_wallet.get_balance('SYS-FEE-NGN')) - :fee_before
           AS fee_account_got_fees,
       count(DISTINCT t.fee) > 100 AS many_distinct_fees
FROM fee_posted t
JOIN LATERAL pg_wallet.calculate_fee('TRANSFER', t.amount, 'NGN') q ON true;
SELECT pg_wallet.set_fee_schedule_active(:pct2, false);

-- fixed fees, bands and specificity: a band beats the plain schedule
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 25, currency => 'NGN')
	AS flat \gset
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 5, currency => 'NGN',
	band_max => 100) AS small \gset
SELECT a.amount, q.fee, q.schedule_id = :small AS small_band
FROM (VALUES (50::numeric), (100), (100.01), (5000)) a(amount),
	pg_wallet.calculate_fee('TRANSFER', a.amount, 'NGN') q;
SELECT pg_wallet.set_fee_schedule_active(:flat, false), pg_wallet.set_fee_schedule_active(:small, false);

-- tiered: up to 1,000 pays 10; up to 10,000 pays 1%; above, 0.5% + 20
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'TIERED', currency => 'NGN', tiers =>
	'[{"up_to": 1000, "fixed": 10}, {"up_to": 10000, "rate": 0.01},
	  {"up_to": 100000000, "fixed": 20, "rate": 0.005}]') AS tiered \gset
SELECT a.amount, q.fee, q.applied_rate
FROM (VALUES (999::numeric), (1000), (1000.01), (10000), (10000.01), (200000)) a(amount),
	pg_wallet.calculate_fee('TRANSFER', a.amount, 'NGN') q;
SELECT pg_wallet.set_fee_schedule_active(:tiered, false);

-- who bears it: the receiver, or a split; an agent takes a share
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 10, currency => 'NGN',
	bearer => 'RECEIVER') AS recv \gset
SELECT bal('FE-A'), bal('FE-B');
SELECT status, fee FROM pg_wallet.transfer('FE-A', 'FE-B', 100);
SELECT bal('FE-A'), bal('FE-B');
SELECT err($$SELECT pg_wallet.transfer('FE-A', 'FE-B', 9.99)$$);
SELECT pg_wallet.set_fee_schedule_active(:recv, false);
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 0.05, currency => 'NGN',
	bearer => 'SPLIT', sender_share => 0.5, commission_rate => 0.3) AS split \gset
SELECT fee, bearer, sender_fee, receiver_fee, agent_commission
FROM pg_wallet.calculate_fee('TRANSFER', 100, 'NGN', with_agent => true);
SELECT bal('FE-A'), bal('FE-B'), bal('FE-AGENT'), bal('SYS-FEE-NGN');
SELECT status, fee, agent_commission
FROM pg_wallet.transfer('FE-A', 'FE-B', 100, agent_account => 'FE-AGENT');
SELECT bal('FE-A'), bal('FE-B'), bal('FE-AGENT'), bal('SYS-FEE-NGN');
SELECT pg_wallet.set_fee_schedule_active(:split, false);

-- deposits and withdrawals have their own fee types; batches charge fees too
SELECT pg_wallet.create_fee_schedule('DEPOSIT', 'FIXED', fixed_fee => 1, currency => 'NGN',
	bearer => 'RECEIVER') AS dep \gset
SELECT pg_wallet.create_fee_schedule('WITHDRAWAL', 'PERCENTAGE', rate => 0.01,
	currency => 'NGN') AS wd \gset
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 2, currency => 'NGN')
	AS tr \gset
SELECT status, fee FROM pg_wallet.credit('FE-B', 50, 'FE-BANK');
SELECT status, fee FROM pg_wallet.debit('FE-B', 50, 'FE-BANK');
SELECT item, status, sqlstate FROM pg_wallet.post_transfers('[
	{"from": "FE-A", "to": "FE-B", "amount": 10},
	{"from": "FE-B", "to": "FE-A", "amount": 10}]');
SELECT sum(fee_minor) AS batch_fees FROM pg_wallet.journals
WHERE id IN (SELECT max(id) - 1 FROM pg_wallet.journals UNION SELECT max(id) FROM pg_wallet.journals);
SELECT pg_wallet.set_fee_schedule_active(:dep, false), pg_wallet.set_fee_schedule_active(:wd, false),
       pg_wallet.set_fee_schedule_active(:tr, false);

-- a schedule outside its validity window does not apply
SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 3, currency => 'NGN',
	valid_from => now() + interval '1 day') AS later \gset
SELECT fee FROM pg_wallet.calculate_fee('TRANSFER', 100, 'NGN');

-- refusals
SELECT err($$SELECT pg_wallet.create_fee_schedule('LOAN', 'FIXED')$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'MAGIC')$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'PERCENTAGE', rate => 1.5)$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 0.00001)$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => -1)$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', bearer => 'NOBODY')$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', currency => 'XYZ')$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'TIERED')$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', tiers => '[]')$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'TIERED', tiers => '[{"fixed": 1}]')$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', min_fee => 5, max_fee => 1)$$);
SELECT err($$SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', client_service_code => 'NOPE')$$);
SELECT err($$SELECT pg_wallet.set_fee_schedule_active(999999, true)$$);
SELECT err($$SELECT pg_wallet.calculate_fee('TRANSFER', 0, 'NGN')$$);
SELECT err($$SELECT pg_wallet.calculate_fee('TRANSFER', 1.001, 'NGN')$$);
SELECT err($$SELECT pg_wallet.calculate_fee('TRANSFER', 1, 'XYZ')$$);
SELECT err($$SELECT pg_wallet.calculate_fee('TRANSFER', NULL, 'NGN')$$);
SELECT err($$SELECT pg_wallet.calculate_fee('transfer', 1, 'NGN')$$);
SELECT err($$SELECT pg_wallet.calculate_fee('TRANSFER', 1, 'NGN', 'NOPE')$$);

SELECT ledger_ok();
