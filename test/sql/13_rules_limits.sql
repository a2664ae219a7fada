-- KYC tier limits: per-transaction, daily and monthly amounts and transactions per day, per
-- currency, on money leaving an owner's accounts (deposits are not limited). Counters are
-- rolled in the same transaction as the posting; a refusal names the limit, the amount used
-- and what remains, and changes nothing.
-- (Principals are inserted directly here as setup; the identity functions create them.)
-- One counter row per owner and currency holds the current UTC day and month (usage below).
CREATE TEMP VIEW usage AS
SELECT owner_id, day_start = (now() AT TIME ZONE 'UTC')::date AS today, day_amount_minor,
       day_count, month_start = date_trunc('month', now() AT TIME ZONE 'UTC')::date AS this_month,
       month_amount_minor
FROM pg_wallet.limit_usage;

SELECT pg_wallet.create_owner('user', 'Limited') AS u \gset
SELECT pg_wallet.create_owner('user', 'Counter') AS c \gset
SELECT pg_wallet.create_owner('user', 'Unverified, no principal') AS free \gset
SELECT pg_wallet.create_owner('partner', 'Limit bank') AS bank \gset
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('user', :u, 0), ('user', :c, 0);
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:bank, 'KES', 'SETTLEMENT', 'LM-BANK', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'LM-A')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'LM-A2')
	UNION ALL SELECT pg_wallet.create_account(:c, 'KES', 'WALLET', 'LM-C')
	UNION ALL SELECT pg_wallet.create_account(:free, 'KES', 'WALLET', 'LM-FREE')) a;
SELECT tier, per_transaction_max_minor, daily_max_minor, monthly_max_minor, transactions_per_day
FROM pg_wallet.kyc_tier_limits WHERE tier = 0 AND currency = 'KES';

-- deposits are not limited
SELECT status FROM pg_wallet.credit('LM-A', 20000, 'LM-BANK');
SELECT status FROM pg_wallet.credit('LM-C', 100, 'LM-BANK');
SELECT status FROM pg_wallet.credit('LM-FREE', 20000, 'LM-BANK');

-- per transaction: 1,000.00 at tier 0
SELECT err($$SELECT pg_wallet.transfer('LM-A', 'LM-FREE', 1000.01)$$);
-- daily: 3,000.00, across the owner's accounts in that currency
SELECT status FROM pg_wallet.transfer('LM-A', 'LM-FREE', 1000);
SELECT status FROM pg_wallet.debit('LM-A', 1000, 'LM-BANK');
SELECT status FROM pg_wallet.transfer('LM-A', 'LM-A2', 999.99);
SELECT today, day_amount_minor, day_count, this_month, month_amount_minor FROM usage WHERE owner_id = :u;
SELECT err($$SELECT pg_wallet.transfer('LM-A2', 'LM-FREE', 0.02)$$);
SELECT status FROM pg_wallet.transfer('LM-A2', 'LM-FREE', 0.01);
SELECT err($$SELECT pg_wallet.transfer('LM-A', 'LM-FREE', 0.01)$$);
-- a refusal counts nothing
SELECT today, day_amount_minor, day_count, this_month, month_amount_minor FROM usage WHERE owner_id = :u;
-- an owner without a KYC tier is not limited
SELECT status FROM pg_wallet.transfer('LM-FREE', 'LM-A', 5000);

-- transactions per day: 5 at tier 0
SELECT count(*) FROM (SELECT pg_wallet.transfer('LM-C', 'LM-FREE', 1) FROM generate_series(1, 5)) t;
SELECT err($$SELECT pg_wallet.transfer('LM-C', 'LM-FREE', 1)$$);

-- the tier's limits take effect at once when the tier changes
UPDATE pg_wallet.principals SET kyc_tier = 1 WHERE owner_id = :c;
SELECT status FROM pg_wallet.transfer('LM-C', 'LM-FREE', 1);

-- monthly: earlier days of the month count (a counter is moved back to simulate them)
UPDATE pg_wallet.principals SET kyc_tier = 1 WHERE owner_id = :u;
UPDATE pg_wallet.limit_usage SET month_amount_minor = 19900000 WHERE owner_id = :u;
SELECT err($$SELECT pg_wallet.transfer('LM-A', 'LM-FREE', 1000.01)$$);
SELECT status FROM pg_wallet.transfer('LM-A', 'LM-FREE', 1000);
-- a new day: a row of an earlier day (moved back to simulate it) starts the day's counters
-- again at zero and keeps the month's
UPDATE pg_wallet.limit_usage SET day_start = day_start - 1, day_amount_minor = 99999999,
	day_count = 999, month_amount_minor = 500000 WHERE owner_id = :u;
SELECT status FROM pg_wallet.transfer('LM-A', 'LM-FREE', 10);
SELECT today, day_amount_minor, day_count, this_month, month_amount_minor FROM usage WHERE owner_id = :u;
-- a new month: the month's counter starts again too
UPDATE pg_wallet.limit_usage SET month_start = (month_start - interval '1 month')::date,
	month_amount_minor = 99999999 WHERE owner_id = :u;
SELECT status FROM pg_wallet.transfer('LM-A', 'LM-FREE', 10);
SELECT today, day_amount_minor, day_count, this_month, month_amount_minor FROM usage WHERE owner_id = :u;
-- a row already in a later day (written by a transaction that began after midnight, this one
-- before): the posting counts in that day, never less than the truth
UPDATE pg_wallet.limit_usage SET day_start = day_start + 1 WHERE owner_id = :u;
SELECT status FROM pg_wallet.transfer('LM-A', 'LM-FREE', 10);
SELECT day_start = (now() AT TIME ZONE 'UTC')::date + 1 AS tomorrow, day_amount_minor, day_count
FROM pg_wallet.limit_usage WHERE owner_id = :u;
UPDATE pg_wallet.limit_usage SET day_start = day_start - 1 WHERE owner_id = :u;

-- a batch counts its items as it goes; per item, the one over the limit is refused
UPDATE pg_wallet.principals SET kyc_tier = 0 WHERE owner_id = :c;
SELECT status FROM pg_wallet.credit('LM-C', 100, 'LM-BANK');
DELETE FROM pg_wallet.limit_usage WHERE owner_id = :c;
SELECT item, status, sqlstate FROM pg_wallet.post_transfers('[
	{"from": "LM-C", "to": "LM-FREE", "amount": 1},
	{"from": "LM-C", "to": "LM-FREE", "amount": 1},
	{"from": "LM-C", "to": "LM-FREE", "amount": 1},
	{"from": "LM-C", "to": "LM-FREE", "amount": 1},
	{"from": "LM-C", "to": "LM-FREE", "amount": 1},
	{"from": "LM-C", "to": "LM-FREE", "amount": 1}]', false);
SELECT today, day_amount_minor, day_count, this_month, month_amount_minor FROM usage WHERE owner_id = :c;

-- conversions count too (money leaves the source account)
SELECT account_number FROM pg_wallet.create_account(:c, 'USD', 'WALLET', 'LM-C-USD');
SELECT pg_wallet.set_fx_rate('KES', 'USD', 0.0077) IS NOT NULL AS rated;
SELECT err($$SELECT pg_wallet.convert('LM-C', 'LM-C-USD', 10)$$);

-- holds: a withdrawal hold reserves its fee too and counts against the limits when placed;
-- voiding it gives the amount back, posting it charges the quoted fee
SELECT pg_wallet.create_owner('user', 'Withdrawer') AS w \gset
SELECT pg_wallet.create_owner('agent', 'Cash agent') AS agent \gset
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('user', :w, 0);
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:w, 'KES', 'WALLET', 'LM-W')
	UNION ALL SELECT pg_wallet.create_account(:agent, 'KES', 'COMMISSION_ACCOUNT', 'LM-AGENT')) a;
SELECT status FROM pg_wallet.credit('LM-W', 5000, 'LM-BANK');
SELECT pg_wallet.create_fee_schedule('WITHDRAWAL', 'PERCENTAGE', rate => 0.02, currency => 'KES',
	min_fee => 5, commission_rate => 0.25) AS wfee \gset
SELECT hold_id AS h1, amount, fee, status FROM pg_wallet.place_hold('LM-W', 1000, 'LM-BANK',
	'wd-h1', NULL, 'cash out', 'WITHDRAWAL', 'LM-AGENT') \gset
SELECT :'amount' AS amount, :'fee' AS fee, :'status' AS status;
SELECT bal('LM-W');
SELECT today, day_amount_minor, day_count, this_month, month_amount_minor FROM usage WHERE owner_id = :w;
SELECT replayed, fee FROM pg_wallet.place_hold('LM-W', 1000, 'LM-BANK', 'wd-h1', NULL,
	'cash out', 'WITHDRAWAL', 'LM-AGENT');
SELECT err($$SELECT pg_wallet.place_hold('LM-W', 1000, 'LM-BANK', 'wd-h1', NULL, 'cash out',
	'WITHDRAWAL')$$);
SELECT err($$SELECT pg_wallet.place_hold('LM-W', 1000.01, 'LM-BANK', NULL, NULL, NULL,
	'WITHDRAWAL')$$);
SELECT hold_id AS h2 FROM pg_wallet.place_hold('LM-W', 1000, 'LM-BANK', NULL, NULL, NULL,
	'WITHDRAWAL') \gset
SELECT hold_id AS h3 FROM pg_wallet.place_hold('LM-W', 1000, 'LM-BANK', NULL, NULL, NULL,
	'WITHDRAWAL') \gset
SELECT err($$SELECT pg_wallet.place_hold('LM-W', 1, 'LM-BANK', NULL, NULL, NULL, 'WITHDRAWAL')$$);
SELECT bal('LM-W');
-- voiding gives the allowance back
SELECT status FROM pg_wallet.void_hold(:h3, 'partner failed');
SELECT today, day_amount_minor, day_count, this_month, month_amount_minor FROM usage WHERE owner_id = :w;
SELECT bal('LM-W');
-- posting charges the fee quoted at placement, with the agent's share
SELECT bal('LM-AGENT'), bal('SYS-FEE-KES');
SELECT status, fee FROM pg_wallet.post_hold(:h1);
SELECT bal('LM-W'), bal('LM-AGENT'), bal('SYS-FEE-KES');
SELECT jsonb_path_query_array(j, '$.entries[*].account_number') AS accounts,
       jsonb_path_query_array(j, '$.entries[*].amount') AS amounts
FROM pg_wallet.get_journal((SELECT receipt_code FROM pg_wallet.get_hold(:h1))) j;
SELECT status FROM pg_wallet.post_hold(:h2, 400);
SELECT bal('LM-W');
SELECT pg_wallet.set_fee_schedule_active(:wfee, false);

SELECT ledger_ok();

-- The tier reaches the posting core as data (accounts.kyc_tier), kept by identity's triggers:
-- an account opened before its owner had a principal takes the tier when one is created,
-- follows its changes, and loses it (no limits) when the principal goes.
SELECT pg_wallet.create_owner('user', 'Late principal') AS late \gset
SELECT count(*) FROM (SELECT pg_wallet.create_account(:late, 'KES', 'WALLET', 'LM-LATE')) a;
SELECT status FROM pg_wallet.credit('LM-LATE', 5000, 'LM-BANK');
SELECT kyc_tier FROM pg_wallet.accounts WHERE account_number = 'LM-LATE';
SELECT status FROM pg_wallet.transfer('LM-LATE', 'LM-FREE', 1500);
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('user', :late, 0);
SELECT kyc_tier FROM pg_wallet.accounts WHERE account_number = 'LM-LATE';
SELECT err($$SELECT pg_wallet.transfer('LM-LATE', 'LM-FREE', 1500)$$);
UPDATE pg_wallet.principals SET kyc_tier = 2 WHERE owner_id = :late;
SELECT kyc_tier FROM pg_wallet.accounts WHERE account_number = 'LM-LATE';
SELECT status FROM pg_wallet.transfer('LM-LATE', 'LM-FREE', 1500);
DELETE FROM pg_wallet.principals WHERE owner_id = :late;
SELECT kyc_tier FROM pg_wallet.accounts WHERE account_number = 'LM-LATE';
SELECT ledger_ok();

-- set_kyc_tier_limits: an administrator changes what a tier may move, in major units; the
-- next posting applies it. Bad input changes nothing.
SELECT pg_wallet.set_kyc_tier_limits(1, 'KES', 50, 80, 1000, 3);
SELECT tier, per_transaction_max_minor, daily_max_minor, monthly_max_minor, transactions_per_day
FROM pg_wallet.kyc_tier_limits WHERE tier = 1 AND currency = 'KES';
SELECT pg_wallet.create_owner('user', 'Tier one') AS t1 \gset
INSERT INTO pg_wallet.principals (role, owner_id, kyc_tier) VALUES ('user', :t1, 1);
SELECT count(*) FROM (SELECT pg_wallet.create_account(:t1, 'KES', 'WALLET', 'LM-T1')) a;
SELECT status FROM pg_wallet.credit('LM-T1', 500, 'LM-BANK');
SELECT err($$SELECT pg_wallet.transfer('LM-T1', 'LM-FREE', 50.01)$$);
SELECT status FROM pg_wallet.transfer('LM-T1', 'LM-FREE', 50);
SELECT err($$SELECT pg_wallet.transfer('LM-T1', 'LM-FREE', 30.01)$$);
SELECT bal('LM-T1');
SELECT err($$SELECT pg_wallet.set_kyc_tier_limits(1, 'KES', 100, 80, 1000, 3)$$);
SELECT err($$SELECT pg_wallet.set_kyc_tier_limits(4, 'KES', 1, 1, 1, 1)$$);
SELECT err($$SELECT pg_wallet.set_kyc_tier_limits(1, 'XYZ', 1, 1, 1, 1)$$);
SELECT err($$SELECT pg_wallet.set_kyc_tier_limits(1, 'KES', 0.001, 1, 1, 1)$$);
SELECT err($$SELECT pg_wallet.set_kyc_tier_limits(1, 'KES', 1, 1, 1, -1)$$);
SELECT err($$SELECT pg_wallet.set_kyc_tier_limits(1, 'KES', NULL, 1, 1, 1)$$);
SELECT per_transaction_max_minor, daily_max_minor, monthly_max_minor, transactions_per_day
FROM pg_wallet.kyc_tier_limits WHERE tier = 1 AND currency = 'KES';
-- (tier 1's defaults back for the tests after this one)
SELECT pg_wallet.set_kyc_tier_limits(1, 'KES', 20000, 50000, 200000, 20);
SELECT ledger_ok();
