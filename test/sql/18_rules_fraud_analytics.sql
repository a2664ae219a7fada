-- Fraud analytics (issue 12 phase 2, docs/fraud.md): pg_wallet.fraud_analytics over the score
-- records of a period, checked against figures computed by hand from eight records written
-- here in January 2020 (no other test writes scores then), its refusals (SQLSTATE, message,
-- the argument named) leaving everything as it was, and the Tribble endpoint's function:
-- admins only, query parameters validated and named (all in one transaction, rolled back);
-- last, the bridge's api_request_context.
BEGIN;
SET LOCAL TimeZone = 'UTC';
-- f(name, score): the factor scores of a record (fraud_factor_names() order); others score 0
CREATE FUNCTION fa_factors(VARIADIC f text[]) RETURNS smallint[] LANGUAGE sql AS $$
	SELECT array_agg(coalesce((SELECT split_part(x, ':', 2)::smallint FROM unnest(f) x
			WHERE split_part(x, ':', 1) = n), 0) ORDER BY o)
	FROM unnest(pg_wallet.fraud_factor_names()) WITH ORDINALITY AS t (n, o)
$$;
-- Eight records: six in January 2020 (UTC), one on each side of it.
--   Jan  1 10:00     10 LOW      ALLOW                 Amount 20
--   Jan  1 23:59:59  40 MEDIUM   ALLOW                 Amount 50, Device 80
--   Jan  2 00:00     85 CRITICAL BLOCK                 Device 80, Velocity 60, IP 100
--   Jan  6 12:00     65 HIGH     HOLD                  Velocity 100
--   Jan 15 08:00     35 MEDIUM   REQUIRE_VERIFICATION  Device 80
--   Jan 31 23:59:59   0 LOW      ALLOW                 none (an allow rule decided)
--   Dec 31 2019 23:59:59 and Feb 1 2020 00:00: 90 CRITICAL BLOCK, IP 100, outside
INSERT INTO pg_wallet.fraud_scores (owner_id, account_number, amount_minor, currency, score,
	risk_level, decision, factor_scores, confidence, model_version, created_at, factor_weights,
	factor_notes, rule)
VALUES
	(0, 'FA-1', 100, 'KES', 10, 'LOW', 'ALLOW', fa_factors('Amount Deviation:20'), 0.5, '1.0.0',
	 '2020-01-01 10:00:00+00', '{20,20,20,20,20,0,0,0}', '{}', NULL),
	(0, 'FA-1', 100, 'KES', 40, 'MEDIUM', 'ALLOW',
	 fa_factors('Amount Deviation:50', 'Device Mismatch:80'), 0.5, '1.0.0',
	 '2020-01-01 23:59:59+00', '{20,20,20,20,20,0,0,0}', '{}', NULL),
	(0, 'FA-1', 100, 'KES', 85, 'CRITICAL', 'BLOCK',
	 fa_factors('Device Mismatch:80', 'Velocity Check:60', 'IP Reputation:100'), 0.5, '1.0.0',
	 '2020-01-02 00:00:00+00', '{20,20,20,20,20,0,0,0}', '{}', NULL),
	(0, 'FA-1', 100, 'KES', 65, 'HIGH', 'HOLD', fa_factors('Velocity Check:100'), 0.5, '1.0.0',
	 '2020-01-06 12:00:00+00', '{20,20,20,20,20,0,0,0}', '{}', NULL),
	(0, 'FA-1', 100, 'KES', 35, 'MEDIUM', 'REQUIRE_VERIFICATION',
	 fa_factors('Device Mismatch:80'), 0.5, '1.0.0', '2020-01-15 08:00:00+00',
	 '{20,20,20,20,20,0,0,0}', '{}', NULL),
	(0, 'FA-1', 100, 'KES', 0, 'LOW', 'ALLOW', fa_factors(VARIADIC '{}'), 0.5, '1.0.0',
	 '2020-01-31 23:59:59+00', '{20,20,20,20,20,0,0,0}', '{}', 'allowed'),
	(0, 'FA-1', 100, 'KES', 90, 'CRITICAL', 'BLOCK', fa_factors('IP Reputation:100'), 0.5,
	 '1.0.0', '2019-12-31 23:59:59+00', '{20,20,20,20,20,0,0,0}', '{}', NULL),
	(0, 'FA-1', 100, 'KES', 90, 'CRITICAL', 'BLOCK', fa_factors('IP Reputation:100'), 0.5,
	 '1.0.0', '2020-02-01 00:00:00+00', '{20,20,20,20,20,0,0,0}', '{}', NULL);
SELECT md5(string_agg(f::text, ',' ORDER BY f.id)) AS before FROM pg_wallet.fraud_scores f \gset
-- January: 6 records; blocked 1, declined 2 (HOLD, REQUIRE_VERIFICATION), fraudulent 3, rate
-- 3/6 = 50 %; average score 235/6 = 39.17; LOW 2, MEDIUM 2, HIGH 1, CRITICAL 1; Device 3 of 6
-- (50 %), Amount 2 (33.33 %), Velocity 2 (33.33 %), IP 1 (16.67 %); ties by name; no Rule.
SELECT jsonb_pretty(pg_wallet.fraud_analytics('2020-01-01 00:00+00', '2020-02-01 00:00+00'));
-- the bounds: start included, end excluded (a record at 23:59:59 of the day before is out)
SELECT r -> 'summary' ->> 'totalTransactions' AS jan_2_on,
	r -> 'riskLevelDistribution' AS levels
FROM pg_wallet.fraud_analytics('2020-01-02 00:00+00', '2020-01-06 12:00+00') r;
-- an empty period: zeros, no division by zero
SELECT pg_wallet.fraud_analytics('2021-01-01 00:00+00', '2021-01-02 00:00+00') - 'period';
-- weekly (ISO weeks from Monday, the first one starts on Monday 30 December): Jan 1-5 has 3
-- records (blocked 1: rate 33.33, average 135/3 = 45), then HOLD (100 %, 65), then
-- REQUIRE_VERIFICATION (100 %, 35), an empty week, and Jan 31 (0 %, 0)
SELECT x ->> 'period' AS week, x ->> 'totalTransactions' AS n,
	x ->> 'fraudulentTransactions' AS fraud, x ->> 'fraudRate' AS rate,
	x ->> 'averageFraudScore' AS avg, x ->> 'blockedTransactions' AS blocked,
	x ->> 'declinedTransactions' AS declined
FROM jsonb_array_elements(pg_wallet.fraud_analytics('2020-01-01 00:00+00',
	'2020-02-01 00:00+00', 'week') -> 'series') x;
-- daily: 31 days, empty ones included; Jan 1 has 2 records (average 25), Jan 2 one
SELECT jsonb_array_length(s) AS days, s -> 0 ->> 'period' AS first, s -> 30 ->> 'period' AS last,
	s -> 0 ->> 'averageFraudScore' AS jan1_avg, s -> 1 ->> 'totalTransactions' AS jan2,
	(SELECT sum((x ->> 'totalTransactions')::int) FROM jsonb_array_elements(s) x) AS total
FROM (SELECT pg_wallet.fraud_analytics('2020-01-01 00:00+00', '2020-02-01 00:00+00',
	'day') -> 'series' AS s) d;
-- monthly over three months: December 1, January 6, February 1
SELECT x ->> 'period' AS month, x ->> 'totalTransactions' AS n, x ->> 'fraudRate' AS rate
FROM jsonb_array_elements(pg_wallet.fraud_analytics('2019-12-01 00:00+00',
	'2020-03-01 00:00+00', 'month') -> 'series') x;
-- exactly one year is accepted
SELECT pg_wallet.fraud_analytics('2019-06-01 00:00+00', '2020-06-01 00:00+00')
	-> 'summary' ->> 'totalTransactions' AS one_year;
-- refusals: 22023 naming the argument
SELECT err_col($$SELECT pg_wallet.fraud_analytics(NULL, '2020-02-01')$$) AS no_start;
SELECT err_col($$SELECT pg_wallet.fraud_analytics('2020-01-01', 'infinity')$$) AS infinite_end;
SELECT err_col($$SELECT pg_wallet.fraud_analytics('2020-01-01', '2020-01-01')$$) AS empty;
SELECT err_col($$SELECT pg_wallet.fraud_analytics('2020-02-01', '2020-01-01')$$) AS backwards;
SELECT err_col($$SELECT pg_wallet.fraud_analytics('2019-06-01 00:00+00',
	'2020-06-01 00:00:01+00')$$) AS over_a_year;
SELECT err_col($$SELECT pg_wallet.fraud_analytics('2020-01-01', '2020-02-01', 'year')$$)
	AS bad_group;
SELECT md5(string_agg(f::text, ',' ORDER BY f.id)) = :'before' AS unchanged
FROM pg_wallet.fraud_scores f;
-- the period's condition can be read through the (BRIN) index on created_at (the planner is
-- told that a scan of the whole table is dear, as it is when the table is large)
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT f.score, f.decision FROM pg_wallet.fraud_scores f
WHERE f.created_at >= '2020-01-01 00:00+00' AND f.created_at < '2020-02-01 00:00+00';
RESET enable_seqscan;
-- the Tribble endpoint's function: admins only; whole UTC days, endDate included
SELECT principal_id AS fa_admin FROM pg_wallet.create_principal('admin',
	'fraud.admin@example.com', 'Secret123') \gset
SELECT principal_id AS fa_user FROM pg_wallet.register_user('fraud.analyst@example.com',
	'Secret123', 'Fraud', 'Analyst', '0712999181') \gset
SELECT access_token AS tok_admin FROM pg_wallet.login('fraud.admin@example.com', 'Secret123',
	'tribble') \gset
SELECT access_token AS tok_user FROM pg_wallet.login('fraud.analyst@example.com', 'Secret123',
	'tribble') \gset
CREATE FUNCTION fa_api(tok text, q jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.api_tribble_admin_fraud_analytics(tok, jsonb_build_object('query', q))
		- '_bridge'
$$;
SELECT r -> 'period' AS period, r -> 'summary' AS summary, r ? 'series' AS series
FROM fa_api(:'tok_admin', '{"startDate": "2020-01-01", "endDate": "2020-01-31"}') r;
SELECT r -> 'period' AS period, r -> 'summary' ->> 'totalTransactions' AS n,
	jsonb_array_length(r -> 'series') AS days
FROM fa_api(:'tok_admin', '{"startDate": "2020-01-02", "endDate": "2020-01-06",
	"groupBy": "daily"}') r;
SELECT jsonb_array_length(fa_api(:'tok_admin', '{"startDate": "2020-01-01",
	"endDate": "2020-01-31", "groupBy": "weekly"}') -> 'series') AS weeks,
	jsonb_array_length(fa_api(:'tok_admin', '{"startDate": "2019-12-01",
	"endDate": "2020-02-29", "groupBy": "monthly"}') -> 'series') AS months;
-- the default period: the 30 days to today
SELECT r -> 'period' = jsonb_build_object(
		'startDate', to_char((now() AT TIME ZONE 'UTC')::date - 29, 'YYYY-MM-DD'),
		'endDate', to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')) AS last_30_days
FROM fa_api(:'tok_admin', '{}') r;
SELECT err_col(format('SELECT fa_api(%L, %L)', :'tok_user',
	'{"startDate": "2020-01-01", "endDate": "2020-01-31"}')) AS as_user;
SELECT err_col(format('SELECT fa_api(%L, %L)', 'not-a-token', '{}')) AS no_token;
SELECT err_col(format('SELECT fa_api(%L, %L)', :'tok_admin',
	'{"startDate": "2020-13-01", "endDate": "2020-01-31"}')) AS bad_month;
SELECT err_col(format('SELECT fa_api(%L, %L)', :'tok_admin',
	'{"startDate": "2020-02-30", "endDate": "2020-03-31"}')) AS no_such_day;
SELECT err_col(format('SELECT fa_api(%L, %L)', :'tok_admin',
	'{"startDate": "01/01/2020", "endDate": "2020-01-31"}')) AS not_iso;
SELECT err_col(format('SELECT fa_api(%L, %L)', :'tok_admin',
	'{"startDate": "2020-01-31", "endDate": "2020-01-01"}')) AS backwards;
SELECT err_col(format('SELECT fa_api(%L, %L)', :'tok_admin',
	'{"startDate": "2020-01-01", "endDate": "2021-01-01"}')) AS over_a_year;
SELECT err_col(format('SELECT fa_api(%L, %L)', :'tok_admin',
	'{"startDate": "2020-01-01", "endDate": "2020-12-31"}')) AS one_year;
SELECT err_col(format('SELECT fa_api(%L, %L)', :'tok_admin',
	'{"startDate": "2020-01-01", "endDate": "2020-01-31", "groupBy": "hourly"}'))
	AS bad_group;
SELECT md5(string_agg(f::text, ',' ORDER BY f.id)) = :'before' AS unchanged
FROM pg_wallet.fraud_scores f;
ROLLBACK;
-- The bridge's call: api_request_context(args, context) sets the context for the API
-- function of the same statement and hands args on; the next transaction has none.
SELECT pg_wallet.api_request_context('{"request_id": "r1"}',
		'{"ip": "192.0.2.7", "user_agent": "curl/8", "device_id": "dev-1"}') AS args,
	pg_wallet.request_context() - 'device_sha256' AS context,
	pg_wallet.request_context() ->> 'device_sha256' = encode(sha256('dev-1'), 'hex') AS hashed;
SELECT pg_wallet.request_context() IS NULL AS gone_after_commit;
SELECT pg_wallet.api_request_context('{}', NULL) AS args, pg_wallet.request_context() AS none;
SELECT err($$SELECT pg_wallet.api_request_context('{}', '{"ip": "not-an-address"}')$$)
	AS bad_ip;
