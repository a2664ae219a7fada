-- The factors of issue 12's second list (docs/fraud.md), each driven through the public
-- functions (transfer, debit, post_transfers, holds, set_request_context, change_password,
-- update_profile): New Beneficiary, Credential Change, Round Amount, and the coordinates of
-- the Geographic Anomaly factor; each checks the factor's score and explanation and that the
-- money posted (or not). Times that a factor measures are made exact by running the postings
-- in one transaction (one now()) or by setting the statistics' stamps in it: no timing
-- thresholds. Velocity ceilings are raised so that only the factor under test moves.
UPDATE pg_wallet.fraud_settings SET max_per_minute = 10000, max_per_hour = 10000;
SELECT pg_wallet.create_owner('user', 'Factors A') AS a \gset
SELECT pg_wallet.create_owner('user', 'Factors B') AS b \gset
SELECT pg_wallet.create_owner('user', 'Factors G') AS g \gset
SELECT pg_wallet.create_owner('merchant', 'Factors shop') AS m \gset
SELECT pg_wallet.create_owner('partner', 'Factors bank') AS bank \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:bank, 'KES', 'SETTLEMENT', 'FF-BANK', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:a, 'KES', 'WALLET', 'FF-A')
	UNION ALL SELECT pg_wallet.create_account(:a, 'KES', 'WALLET', 'FF-A2')
	UNION ALL SELECT pg_wallet.create_account(:b, 'KES', 'WALLET', 'FF-B')
	UNION ALL SELECT pg_wallet.create_account(:b, 'KES', 'WALLET', 'FF-B2')
	UNION ALL SELECT pg_wallet.create_account(:g, 'KES', 'WALLET', 'FF-G')
	UNION ALL SELECT pg_wallet.create_account(:m, 'KES', 'AVAILABLE_COLLECTIONS', 'FF-M')) x;
SELECT status FROM pg_wallet.credit('FF-A', 100000, 'FF-BANK');
SELECT status FROM pg_wallet.credit('FF-G', 100000, 'FF-BANK');

-- ff(owner, factor): one factor of the owner's last score record, as "score x weight: why"
CREATE FUNCTION ff(o bigint, n text) RETURNS text LANGUAGE sql AS $$
	SELECT format('%s x %s: %s', e ->> 'score', e ->> 'weight', e ->> 'explanation')
	FROM pg_wallet.fraud_scores s, jsonb_array_elements(pg_wallet.fraud_score_factors(s)) e
	WHERE s.id = (SELECT max(id) FROM pg_wallet.fraud_scores WHERE owner_id = o)
		AND e ->> 'name' = n
$$;
CREATE FUNCTION ff_preview(acct text, amount numeric, counterpart text, n text)
RETURNS text LANGUAGE sql AS $$
	SELECT format('%s x %s: %s', e ->> 'score', e ->> 'weight', e ->> 'explanation')
	FROM jsonb_array_elements(pg_wallet.fraud_score_preview(acct, amount, counterpart)
		-> 'riskFactors') e
	WHERE e ->> 'name' = n
$$;

-- every score lists the eight factors, in this order, with the default weights
SELECT status FROM pg_wallet.transfer('FF-A', 'FF-B', 10);
SELECT e ->> 'name' AS name, e ->> 'weight' AS weight
FROM pg_wallet.fraud_scores s, jsonb_array_elements(pg_wallet.fraud_score_factors(s)) e
WHERE s.id = (SELECT max(id) FROM pg_wallet.fraud_scores WHERE owner_id = :a);

-- New Beneficiary: the user's first payee scores 30 (every payee is new then), a payee paid
-- before 0, another new one 60; the user's own account and a system account are no payee
SELECT ff(:a, 'New Beneficiary') AS first_payee;
SELECT status FROM pg_wallet.transfer('FF-A', 'FF-B', 10);
SELECT ff(:a, 'New Beneficiary') AS paid_before;
SELECT status FROM pg_wallet.transfer('FF-A', 'FF-B2', 10);
SELECT ff(:a, 'New Beneficiary') AS another_account_of_b;
SELECT status FROM pg_wallet.transfer('FF-A', 'FF-A2', 10);
SELECT ff(:a, 'New Beneficiary') AS own_account;
-- one batch paying the merchant twice: the second item knows the first's payee
SELECT status, sqlstate FROM pg_wallet.post_transfers(
	'[{"from": "FF-A", "to": "FF-M", "amount": 5}, {"from": "FF-A", "to": "FF-M", "amount": 6}]');
SELECT s.amount_minor, (SELECT e ->> 'score'
	FROM jsonb_array_elements(pg_wallet.fraud_score_factors(s)) e
	WHERE e ->> 'name' = 'New Beneficiary') AS beneficiary
FROM pg_wallet.fraud_scores s WHERE s.owner_id = :a ORDER BY s.id DESC LIMIT 2;
-- a refused posting pays no one: its payee stays new (insufficient funds, per item)
SELECT pg_wallet.create_owner('user', 'Factors D') AS d \gset
SELECT (pg_wallet.create_account(:d, 'KES', 'WALLET', 'FF-D')).account_number;
SELECT status, sqlstate FROM pg_wallet.post_transfers(
	'[{"from": "FF-A", "to": "FF-D", "amount": 1000000, "idempotency_key": "ff-nsf-1"}]', false);
SELECT bal('FF-D');
SELECT ff_preview('FF-A', 10, 'FF-D', 'New Beneficiary') AS still_new,
	ff_preview('FF-A', 10, 'FF-B', 'New Beneficiary') AS known,
	ff_preview('FF-A', 10, NULL, 'New Beneficiary') AS no_counterpart;
-- a hold's payee is remembered when it is placed
SELECT hold_id IS NOT NULL AS held FROM pg_wallet.place_hold('FF-A', 20, 'FF-D', 'ff-hold-1');
SELECT ff(:a, 'New Beneficiary') AS hold_payee,
	ff_preview('FF-A', 10, 'FF-D', 'New Beneficiary') AS known_after_hold;
SELECT count(*) AS known_payees FROM pg_wallet.fraud_known_beneficiaries WHERE owner_id = :a;

-- Round Amount: just under 1, 2 or 5 x 10^k major units from 1000 on, by at most 2 %:
-- 100 one minor unit under, 50 at the margin
SELECT status FROM pg_wallet.transfer('FF-A', 'FF-B', 9950);
SELECT ff(:a, 'Round Amount') AS under_10000;
SELECT status FROM pg_wallet.debit('FF-A', 4990, 'FF-BANK');
SELECT ff(:a, 'Round Amount') AS withdrawal_under_5000;
SELECT status FROM pg_wallet.transfer('FF-A', 'FF-B', 999.99);
SELECT ff(:a, 'Round Amount') AS one_cent_under_1000;
SELECT status FROM pg_wallet.transfer('FF-A', 'FF-B', 10000);
SELECT ff(:a, 'Round Amount') AS round_itself;
SELECT ff_preview('FF-A', 19600, NULL, 'Round Amount') AS at_the_margin,
	ff_preview('FF-A', 19599.99, NULL, 'Round Amount') AS past_the_margin,
	ff_preview('FF-A', 99, NULL, 'Round Amount') AS under_round_from;
-- the settings move it: thresholds from 100 major units, a 5 % margin
UPDATE pg_wallet.fraud_settings SET round_from_major = 100, round_margin_bp = 500;
SELECT ff_preview('FF-A', 96, NULL, 'Round Amount') AS under_100;
UPDATE pg_wallet.fraud_settings SET round_from_major = 1000, round_margin_bp = 200;
SELECT err($$UPDATE pg_wallet.fraud_settings SET round_margin_bp = 0$$);
-- the score, weighted: the Round Amount's weight in the mean
SELECT status FROM pg_wallet.transfer('FF-A', 'FF-B', 1999.99);
SELECT score, risk_level, decision, ff(:a, 'Round Amount') AS round
FROM pg_wallet.fraud_scores WHERE owner_id = :a ORDER BY id DESC LIMIT 1;

-- Credential Change: the first scored posting after a password change (same transaction:
-- 0 minutes later) scores 100; the next one 0
SELECT principal_id AS pu, owner_id AS u FROM pg_wallet.register_user('factors.u@example.com',
	'Secret123', 'Factors', 'U', '0712999181') \gset
SELECT (pg_wallet.create_account(:u, 'KES', 'WALLET', 'FF-U')).account_number;
SELECT status FROM pg_wallet.credit('FF-U', 1000, 'FF-BANK');
SELECT status FROM pg_wallet.transfer('FF-U', 'FF-B', 1);
SELECT ff(:u, 'Credential Change') AS before_any_change;
SELECT access_token AS tok_u FROM pg_wallet.login('factors.u@example.com', 'Secret123',
	'tribble') \gset
-- a wrong current password changes nothing
SELECT (pg_wallet.change_password(:'tok_u', 'Wrong1234', 'Secret456')).status;
SELECT credential_change FROM pg_wallet.fraud_owner_stats WHERE owner_id = :u;
BEGIN;
SELECT (pg_wallet.change_password(:'tok_u', 'Secret123', 'Secret456')).status;
SELECT credential_change, credential_changed_at = now() AS stamped_now
FROM pg_wallet.fraud_owner_stats WHERE owner_id = :u;
SELECT status FROM pg_wallet.transfer('FF-U', 'FF-B', 1);
SELECT ff(:u, 'Credential Change') AS right_after;
SELECT status FROM pg_wallet.transfer('FF-U', 'FF-B', 1);
SELECT ff(:u, 'Credential Change') AS second_posting;
COMMIT;
SELECT credential_change = '' AS cleared FROM pg_wallet.fraud_owner_stats WHERE owner_id = :u;
-- a phone change counts too, a profile update keeping the number does not; half-way
-- through the 24-hour window the score is 75, after it 0
SELECT access_token AS tok_u FROM pg_wallet.login('factors.u@example.com', 'Secret456',
	'tribble') \gset
SELECT (pg_wallet.update_profile(:'tok_u', 'Renamed')).first_name;
SELECT credential_change = '' AS name_only FROM pg_wallet.fraud_owner_stats WHERE owner_id = :u;
SELECT (pg_wallet.update_profile(:'tok_u', NULL, NULL, '0712999182')).phone_number;
BEGIN;
UPDATE pg_wallet.fraud_owner_stats SET credential_changed_at = now() - interval '12 hours'
WHERE owner_id = :u AND credential_change = 'phone';
SELECT status FROM pg_wallet.transfer('FF-U', 'FF-B', 1);
SELECT ff(:u, 'Credential Change') AS twelve_hours_later;
COMMIT;
BEGIN;
UPDATE pg_wallet.fraud_owner_stats SET credential_change = 'password',
	credential_changed_at = now() - interval '24 hours' WHERE owner_id = :u;
SELECT status FROM pg_wallet.transfer('FF-U', 'FF-B', 1);
SELECT ff(:u, 'Credential Change') AS after_the_window;
COMMIT;
-- a user who never posted: the change creates the statistics row of each currency it holds
SELECT owner_id AS v FROM pg_wallet.register_user('factors.v@example.com', 'Secret123',
	'Factors', 'V', '0712999183') \gset
SELECT (pg_wallet.create_account(:v, 'KES', 'WALLET', 'FF-V')).account_number;
SELECT (pg_wallet.create_account(:v, 'USD', 'WALLET', 'FF-V-USD')).account_number;
SELECT status FROM pg_wallet.credit('FF-V', 100, 'FF-BANK');
SELECT access_token AS tok_v FROM pg_wallet.login('factors.v@example.com', 'Secret123',
	'tribble') \gset
BEGIN;
SELECT (pg_wallet.change_password(:'tok_v', 'Secret123', 'Secret456')).status;
SELECT currency, tx_count, credential_change FROM pg_wallet.fraud_owner_stats
WHERE owner_id = :v ORDER BY currency;
SELECT status FROM pg_wallet.transfer('FF-V', 'FF-B', 1);
SELECT ff(:v, 'Credential Change') AS first_ever_posting;
COMMIT;
-- the rules' function is identity's to call: not PUBLIC's; a bad kind is refused
SELECT has_function_privilege('public', 'pg_wallet._fraud_note_credential_change(bigint, text)',
	'EXECUTE') AS public_may_call;
SELECT err($$SELECT pg_wallet._fraud_note_credential_change(1, 'email')$$);

-- Geographic Anomaly by coordinates: the distance from the last located posting, and the
-- speed it implies (over 900 km/h: impossible travel, 100); the higher of country and
-- coordinates
BEGIN;
SELECT pg_wallet.set_request_context('{"lat": -1.2921, "lon": 36.8219}');	-- Nairobi
SELECT status FROM pg_wallet.transfer('FF-G', 'FF-B', 10);
SELECT ff(:g, 'Geographic Anomaly') AS no_history;
SELECT pg_wallet.set_request_context('{"lat": -1.2000, "lon": 36.9000}');
SELECT status FROM pg_wallet.transfer('FF-G', 'FF-B', 10);
SELECT ff(:g, 'Geographic Anomaly') AS nearby;
SELECT pg_wallet.set_request_context('{"lat": 51.5074, "lon": -0.1278}');	-- London
SELECT status FROM pg_wallet.transfer('FF-G', 'FF-B', 10);
SELECT ff(:g, 'Geographic Anomaly') AS london_same_moment;
COMMIT;
SELECT last_lat_e6, last_lon_e6 FROM pg_wallet.fraud_owner_stats WHERE owner_id = :g;
-- London to Lagos ten hours later: 500 km/h, possible, and over 2000 km: 70; with a country
-- among the recent ones (KE, after one posting from it) the coordinates still win
BEGIN;
SELECT pg_wallet.set_request_context('{"country": "KE"}');
SELECT status FROM pg_wallet.transfer('FF-G', 'FF-B', 10);
UPDATE pg_wallet.fraud_owner_stats SET located_at = now() - interval '10 hours'
WHERE owner_id = :g;
SELECT pg_wallet.set_request_context('{"country": "KE", "lat": 6.5244, "lon": 3.3792}');
SELECT status FROM pg_wallet.transfer('FF-G', 'FF-B', 10);
SELECT ff(:g, 'Geographic Anomaly') AS lagos_ten_hours_later;
-- 526 km in half an hour is impossible travel
UPDATE pg_wallet.fraud_owner_stats SET located_at = now() - interval '30 minutes'
WHERE owner_id = :g;
SELECT pg_wallet.set_request_context('{"lat": 9.0765, "lon": 7.3986}');	-- Abuja
SELECT status FROM pg_wallet.transfer('FF-G', 'FF-B', 10);
SELECT ff(:g, 'Geographic Anomaly') AS abuja_half_an_hour_later;
-- coordinates alone count as a location for the confidence (device and IP missing: 0.20
-- off); lat without lon is no location
SELECT confidence FROM pg_wallet.fraud_scores WHERE owner_id = :g ORDER BY id DESC LIMIT 1;
SELECT pg_wallet.set_request_context('{"lat": 9.0765}');
SELECT ff_preview('FF-G', 10, NULL, 'Geographic Anomaly') AS lat_only;
COMMIT;
SELECT last_lat_e6, last_lon_e6 FROM pg_wallet.fraud_owner_stats WHERE owner_id = :g;

-- the analytics' top factors read the names from the records
SELECT array_agg(x ->> 'factor' ORDER BY x ->> 'factor') FILTER (WHERE x ->> 'factor' IN
	('New Beneficiary', 'Credential Change', 'Round Amount', 'Geographic Anomaly')) AS new_names
FROM jsonb_array_elements(pg_wallet.fraud_analytics(now() - interval '1 hour',
	now() + interval '1 hour') -> 'topFraudFactors') x;

SELECT bal('FF-A'), bal('FF-B'), bal('FF-U'), bal('FF-G');
SELECT ledger_ok();
-- each currency's entries sum to zero
SELECT a.currency, sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END)
FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
GROUP BY a.currency HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0;
