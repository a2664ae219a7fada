-- Merchants (issue 14, sql/payments/merchants.sql): a user registers a business as a
-- merchant (its own owner, principal and collections account; KYC PENDING), reads its
-- profile and sets its settlement; an admin lists the pending merchants, approves one and
-- rejects another (audited; once only). A merchant is paid only once approved
-- (MERCHANT_INACTIVE before, and after a rejection), and the user who registered it sees
-- and refunds its payments. Field checks, the 5-merchant limit, a duplicate tax id, the
-- settlement fee that only an admin changes, and who may see or do what. The ledger stays
-- balanced.

-- merchant ids are random, times are now: mask them
CREATE FUNCTION mm(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(t,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"', '"<ts>"', 'g'),
		'TXN-[0-9]{8}-[0-9]+|RFD-[0-9]{8}-[0-9]+', '<ref>', 'g')
$$;
CREATE FUNCTION merr(stmt text) RETURNS text LANGUAGE sql AS $$ SELECT mm(err(stmt)) $$;
CREATE FUNCTION reg(who uuid, name text, tax text, industry text DEFAULT 'retail',
	entity text DEFAULT 'sole_proprietor') RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.merchant_register(who, name, entity, tax, industry, '044', '1234567890',
		'John Doe')
$$;

SELECT principal_id AS u, owner_id AS u_owner FROM pg_wallet.register_user(
	'merch-u@example.com', 'Passw0rd-64', 'John', 'Doe', '+254700006401') \gset
SELECT principal_id AS v, owner_id AS v_owner FROM pg_wallet.register_user(
	'merch-v@example.com', 'Passw0rd-64', 'Vee', 'Doe', '+254700006402') \gset
SELECT principal_id AS c, owner_id AS c_owner FROM pg_wallet.register_user(
	'merch-c@example.com', 'Passw0rd-64', 'Cee', 'Payer', '+254700006403') \gset
SELECT principal_id AS adm FROM pg_wallet.create_principal('admin', 'merch-adm@example.com',
	'Passw0rd-64') \gset
SELECT principal_id AS old_m FROM pg_wallet.create_principal('merchant',
	'merch-old@example.com', 'Passw0rd-64') \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:u_owner, 'KES', 'WALLET', 'M64-U')
	UNION ALL SELECT pg_wallet.create_account(:c_owner, 'KES', 'WALLET', 'M64-C')) x;
SELECT status FROM pg_wallet.credit('M64-C', 1000, 'SYS-SUSPENSE-KES');

-- register: 201 PENDING with a risk level; its own owner, principal and collections account
SELECT reg(:'u', 'John''s Store', '12345678901') AS r1 \gset
SELECT mm(:'r1');
SELECT :'r1'::jsonb ->> 'merchantId' AS m1 \gset
SELECT o.kind, p.role, p.email IS NULL AS no_email, m.registered_by = :'u' AS by_u,
	(SELECT string_agg(a.purpose || ' ' || a.currency, ', ') FROM pg_wallet.accounts a
	 WHERE a.owner_id = m.owner_id) AS accounts
FROM pg_wallet.merchants m JOIN pg_wallet.principals p ON p.id = m.id
JOIN pg_wallet.owners o ON o.id = m.owner_id WHERE m.id = :'m1';
-- risk levels: a company is low, a watched industry high
SELECT reg(:'u', 'Big Ltd', 'P051234567X', 'manufacturing', 'limited_company') ->> 'riskLevel'
	AS company;
SELECT reg(:'u', 'Lucky Bets', 'P059876543Y', 'gambling', 'limited_company') ->> 'riskLevel'
	AS gambling;

-- refusals: each bad field named, a taxId already registered, not a user, the limit
SELECT merr(format($$SELECT pg_wallet.merchant_register(%L, 'X', 'sole_proprietor',
	'12345', 'retail', '044', '1234567890', 'John Doe')$$, :'u'));
SELECT merr(format($$SELECT pg_wallet.merchant_register(%L, 'Shop', 'llc', '12345',
	'retail', '044', '1234567890', 'John Doe')$$, :'u'));
SELECT merr(format($$SELECT pg_wallet.merchant_register(%L, 'Shop', 'sole_proprietor',
	'12 34', 'retail', '044', '1234567890', 'John Doe')$$, :'u'));
SELECT merr(format($$SELECT pg_wallet.merchant_register(%L, 'Shop', 'sole_proprietor',
	'12345', 'retail!', '044', '1234567890', 'John Doe')$$, :'u'));
SELECT merr(format($$SELECT pg_wallet.merchant_register(%L, 'Shop', 'sole_proprietor',
	'12345', 'retail', '44', '1234567890', 'John Doe')$$, :'u'));
SELECT merr(format($$SELECT pg_wallet.merchant_register(%L, 'Shop', 'sole_proprietor',
	'12345', 'retail', '044', '12-34', 'John Doe')$$, :'u'));
SELECT merr(format($$SELECT pg_wallet.merchant_register(%L, 'Shop', 'sole_proprietor',
	'12345', 'retail', '044', '1234567890', ' ')$$, :'u'));
SELECT merr(format($$SELECT pg_wallet.merchant_register(%L, 'Shop', 'sole_proprietor',
	'12345', 'retail', '044', '1234567890', 'John Doe', 'XYZ')$$, :'u'));
SELECT merr(format($$SELECT reg(%L, 'Copy Store', '12345678901')$$, :'v'));
SELECT merr(format($$SELECT reg(%L, 'Admin Store', 'A1234567')$$, :'adm'));
SELECT reg(:'u', 'Fourth', 'P0400000001') ->> 'kycStatus' AS fourth;
SELECT reg(:'u', 'Fifth', 'P0500000001') ->> 'kycStatus' AS fifth;
SELECT merr(format($$SELECT reg(%L, 'Sixth', 'P0600000001')$$, :'u'));
SELECT count(*) AS merchants_of_u FROM pg_wallet.merchants WHERE registered_by = :'u';

-- the profile: its user and admins see it (bank number masked), another user gets 404
SELECT mm((pg_wallet.merchant_get(:'u', :'m1') - 'createdAt')::text);
SELECT pg_wallet.merchant_get(:'adm', :'m1') ->> 'businessName' AS admin_sees;
SELECT merr(format($$SELECT pg_wallet.merchant_get(%L, %L)$$, :'v', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_get(%L, %L)$$, :'u', 'merchant-001'));
SELECT merr(format($$SELECT pg_wallet.merchant_get(%L, %L)$$, :'u', :'old_m'));

-- settlement: the merchant sets frequency, minimum and hold; not the fee (WL099) unless it
-- is the current one; an admin sets the fee; bad values named; another user 404
SELECT mm(pg_wallet.merchant_settlement_set(:'u', :'m1', 'weekly', 5000, 0.5, 2)::text);
SELECT merr(format($$SELECT pg_wallet.merchant_settlement_set(%L, %L, fee_percent => 0.25)$$,
	:'u', :'m1'));
SELECT pg_wallet.merchant_settlement_set(:'adm', :'m1', fee_percent => 0.75)
	-> 'settlementSettings' AS by_admin;
SELECT merr(format($$SELECT pg_wallet.merchant_settlement_set(%L, %L, 'monthly')$$, :'u', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_settlement_set(%L, %L, minimum_amount => -1)$$,
	:'u', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_settlement_set(%L, %L,
	minimum_amount => 1.001)$$, :'u', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_settlement_set(%L, %L, hold_days => 31)$$,
	:'u', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_settlement_set(%L, %L, fee_percent => 0.333)$$,
	:'adm', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_settlement_set(%L, %L, 'daily')$$, :'v', :'m1'));
SELECT pg_wallet.merchant_settlement_set(:'u', :'m1', minimum_amount => 0)
	-> 'settlementSettings' AS minimum_zero;

-- a PENDING merchant is not paid: MERCHANT_INACTIVE (WL086), no money moved
SELECT merr(format($$SELECT pg_wallet.payment_create(%L, %L, 100, 'KES', 'm64-pay-1')$$,
	:'c', :'m1')) AS pending;
SELECT bal('M64-C') AS customer;

-- the admins' queue: oldest first, paginated, with the user's KYC documents; admins only
SELECT mm(pg_wallet.merchants_pending_kyc(:'adm', 2, 0)::text);
SELECT jsonb_array_length(pg_wallet.merchants_pending_kyc(:'adm', 20, 0) -> 'merchants')
	AS pending, pg_wallet.merchants_pending_kyc(:'adm', 2, 4) -> 'pagination' AS page_3;
SELECT merr(format($$SELECT pg_wallet.merchants_pending_kyc(%L)$$, :'u'));
SELECT merr(format($$SELECT pg_wallet.merchants_pending_kyc(%L, 0)$$, :'adm'));

-- approve m1 (audited), reject the gambling one; a second decision is WL097; not by a user
SELECT mm(pg_wallet.merchant_approve(:'adm', :'m1', 'All documents verified.')::text);
SELECT m.id AS m_gamble FROM pg_wallet.merchants m WHERE m.business_name = 'Lucky Bets' \gset
SELECT mm(pg_wallet.merchant_reject(:'adm', :'m_gamble', 'invalid_documents',
	'Submitted documents do not match business requirements')::text);
SELECT merr(format($$SELECT pg_wallet.merchant_approve(%L, %L)$$, :'adm', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_approve(%L, %L)$$, :'adm', :'m_gamble'));
SELECT merr(format($$SELECT pg_wallet.merchant_reject(%L, %L, 'Bad Reason')$$, :'adm',
	(SELECT m.id FROM pg_wallet.merchants m WHERE m.business_name = 'Fourth')));
SELECT merr(format($$SELECT pg_wallet.merchant_approve(%L, %L)$$, :'u',
	(SELECT m.id FROM pg_wallet.merchants m WHERE m.business_name = 'Fourth')));
SELECT merr(format($$SELECT pg_wallet.merchant_approve(%L, %L, '')$$, :'adm',
	(SELECT m.id FROM pg_wallet.merchants m WHERE m.business_name = 'Fourth')));
SELECT m.business_name, r.decision, r.reviewed_by = :'adm' AS by_admin, r.reason, r.message
FROM pg_wallet.merchant_reviews r JOIN pg_wallet.merchants m ON m.id = r.merchant_id
ORDER BY r.id;
SELECT pg_wallet.merchant_get(:'u', :'m1') #> '{bankAccounts,0,isVerified}' AS bank_verified;

-- approved: paid; the user who registered it sees the payment and refunds it; rejected: not
-- paid
SELECT pg_wallet.payment_create(:'c', :'m1', 100, 'KES', 'm64-pay-2') AS p2 \gset
SELECT :'p2'::jsonb ->> 'status' AS approved_pays, :'p2'::jsonb ->> 'transactionId' AS t2 \gset
SELECT :'approved_pays';
SELECT pg_wallet.payment_get(:'t2', :'u') ->> 'status' AS registering_user_sees;
SELECT mm(pg_wallet.payment_refund(:'t2', :'u', 10) ->> 'status') AS registering_user_refunds;
SELECT merr(format($$SELECT pg_wallet.payment_get(%L, %L)$$, :'t2', :'v'));
SELECT merr(format($$SELECT pg_wallet.payment_refund(%L, %L, 1)$$, :'t2', :'v'));
SELECT merr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES', 'm64-pay-3')$$,
	:'c', :'m_gamble')) AS rejected;
SELECT pg_wallet.merchant_get(:'u', :'m1') -> 'metrics' AS metrics;
SELECT bal('M64-C') AS customer;

-- analytics over the period: a second customer, a payment that fails (kept FAILED), by day,
-- by week; the top customers; bad parameters named; another user 404 (days are UTC days)
CREATE FUNCTION utc_today() RETURNS date LANGUAGE sql AS $$
	SELECT (now() AT TIME ZONE 'UTC')::date $$;
SELECT principal_id AS c2, owner_id AS c2_owner FROM pg_wallet.register_user(
	'merch-c2@example.com', 'Passw0rd-64', 'Cee', 'Two', '+254700006404') \gset
SELECT count(*) FROM (SELECT pg_wallet.create_account(:c2_owner, 'KES', 'WALLET', 'M64-C2')) x;
SELECT status FROM pg_wallet.credit('M64-C2', 500, 'SYS-SUSPENSE-KES');
SELECT pg_wallet.payment_create(:'c2', :'m1', 250, 'KES', 'm64-pay-5') ->> 'status' AS second,
	pg_wallet.payment_create(:'c2', :'m1', 5000, 'KES', 'm64-pay-6') ->> 'status' AS too_much;
SELECT mm((pg_wallet.merchant_analytics(:'u', :'m1', utc_today() - 1, utc_today())
	- 'dailyMetrics' - 'period')::text) AS analytics;
SELECT jsonb_array_length(a -> 'dailyMetrics') AS days,
	a #> '{dailyMetrics,0,transactionCount}' AS today_count,
	a #> '{dailyMetrics,0,successRate}' AS today_rate
FROM pg_wallet.merchant_analytics(:'adm', :'m1', utc_today(), utc_today(), 'weekly') a;
SELECT pg_wallet.merchant_analytics(:'u', :'m1', utc_today() - 30, utc_today() - 1)
	-> 'summary' AS empty_period;
SELECT merr(format($$SELECT pg_wallet.merchant_analytics(%L, %L, utc_today(), utc_today(),
	'hourly')$$, :'u', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_analytics(%L, %L, utc_today() - 400,
	utc_today())$$, :'u', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_analytics(%L, %L, utc_today(),
	utc_today() - 1)$$, :'u', :'m1'));
SELECT merr(format($$SELECT pg_wallet.merchant_analytics(%L, %L, utc_today(),
	utc_today())$$, :'v', :'m1'));

-- the dashboard: the month so far (metrics, the refund, what the next settlement would pay
-- after the hold period, the top products), for its user and admins; another user 404
SELECT mm((pg_wallet.merchant_dashboard(:'u', :'m1') - 'period'
	#- '{settlements,nextSettlementDate}')::text) AS dashboard;
SELECT pg_wallet.merchant_settlement_set(:'u', :'m1', 'daily', 0, hold_days => 0)
	-> 'settlementSettings' AS no_hold;
SELECT (pg_wallet.merchant_dashboard(:'adm', :'m1') -> 'settlements') - 'nextSettlementDate'
	AS settlements_without_hold;
SELECT merr(format($$SELECT pg_wallet.merchant_dashboard(%L, %L)$$, :'v', :'m1'));
SELECT x -> 'settlements' AS operator_settlements, x #> '{metrics,totalVolume}' AS volume
FROM pg_wallet.merchant_dashboard(:'old_m', :'old_m') x;

-- a merchant made by the operator is paid as before (no KYC gate)
SELECT count(*) FROM (SELECT pg_wallet.create_account(p.owner_id, 'KES',
	'AVAILABLE_COLLECTIONS') FROM pg_wallet.principals p WHERE p.id = :'old_m') x;
SELECT pg_wallet.payment_create(:'c', :'old_m', 5, 'KES', 'm64-pay-4') ->> 'status' AS operator_merchant;
SELECT pg_wallet.merchant_analytics(:'old_m', :'old_m', utc_today(), utc_today())
	#> '{summary,totalVolume}' AS its_own_analytics;

SELECT ledger_ok();
