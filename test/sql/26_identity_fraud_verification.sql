-- REQUIRE_VERIFICATION (issue 12, docs/fraud.md "Decisions"): a score from verify_from (60)
-- and below hold_from (70) refuses a user's debit with WL048 unless the user presented a
-- step-up verification in the same transaction: a verification token (purpose payment, or
-- the withdrawal's own) used up by consume_verification_token. The posted record keeps the
-- decision and names the verification; a refused one posts nothing; a verification never
-- carries over to another transaction or another user. Codes and tokens are never printed.

CREATE OR REPLACE FUNCTION fv_err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	d := CASE WHEN d LIKE 'Failing row%' THEN NULL ELSE d END;
	RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(d, '') || ')', '');
END
$$;
-- a verification token of the principal for the purpose (OTP by SMS, code read by the hook)
CREATE FUNCTION fv_token(tok text, principal uuid, purpose text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_wallet.verification_request(tok, 'otp_sms', purpose);
	RETURN (pg_wallet.verify_otp(tok, pg_wallet.test_otp_code(principal, purpose),
		purpose)).verification_token;
END
$$;
CREATE FUNCTION fv_last(o bigint) RETURNS text LANGUAGE sql AS $$
	SELECT format('%s %s %s journal %s', score, risk_level, decision,
		CASE WHEN journal_id IS NULL THEN 'none' ELSE 'set' END)
	FROM pg_wallet.fraud_scores WHERE owner_id = o ORDER BY id DESC LIMIT 1
$$;
CREATE FUNCTION fv_factor(o bigint, n text) RETURNS text LANGUAGE sql AS $$
	SELECT format('%s x %s: %s', e ->> 'score', e ->> 'weight', e ->> 'explanation')
	FROM pg_wallet.fraud_scores s, jsonb_array_elements(pg_wallet.fraud_score_factors(s)) e
	WHERE s.owner_id = o AND e ->> 'name' = n AND s.id = (SELECT max(id)
		FROM pg_wallet.fraud_scores WHERE owner_id = o)
$$;
SET pg_wallet.enable_test_hooks = on;

SELECT principal_id AS vic FROM pg_wallet.register_user('vic@fv.example.com', 'VicPass12',
	'Vic', 'Verify', '0722555001') \gset
SELECT access_token AS vtok FROM pg_wallet.login('vic@fv.example.com', 'VicPass12') \gset
SELECT principal_id AS wen FROM pg_wallet.register_user('wen@fv.example.com', 'WenPass12',
	'Wen', 'Verify', '0722555002') \gset
SELECT access_token AS wtok FROM pg_wallet.login('wen@fv.example.com', 'WenPass12') \gset
SELECT owner_id AS vo FROM pg_wallet.principals WHERE id = :'vic' \gset
SELECT owner_id AS wo FROM pg_wallet.principals WHERE id = :'wen' \gset
SELECT pg_wallet._owner_wallet(:vo, 'KES', true) AS va \gset
SELECT pg_wallet._owner_wallet(:wo, 'KES', true) AS wa \gset
SELECT pg_wallet.create_owner('partner', 'FV bank') AS bank \gset
SELECT account_number FROM pg_wallet.create_account(:bank, 'KES', 'SETTLEMENT', 'FV-BANK',
	can_overdraw => true);
SELECT status FROM pg_wallet.credit(:'va', 10000, 'FV-BANK');
SELECT status FROM pg_wallet.credit(:'wa', 10000, 'FV-BANK');

-- the default thresholds: REQUIRE_VERIFICATION from 60, BLOCK from 80
SELECT verify_from, block_from, high_from FROM pg_wallet.fraud_settings;
-- a score of 65 from the IP alone (HOLD is from 70): every weight but the IP's set to 0
UPDATE pg_wallet.fraud_settings SET weight_amount = 0, weight_device = 0, weight_velocity = 0,
	weight_geo = 0, weight_ip = 100, weight_beneficiary = 0,
	weight_credential = 0, weight_round = 0;
INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
VALUES ('198.51.100.0/24', 65, 'suspicious hosting');
CREATE FUNCTION fv_send(src text, dst text, amount numeric, ip text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_wallet.set_request_context(jsonb_build_object('ip', ip));
	RETURN (pg_wallet.transfer(src, dst, amount)).status;
END
$$;

-- the preview says what the posting will decide (the context lives for one transaction)
BEGIN;
SELECT pg_wallet.set_request_context('{"ip": "198.51.100.7"}');
SELECT p ->> 'riskScore' AS score, p ->> 'riskLevel' AS level, p ->> 'decision' AS decision
FROM pg_wallet.fraud_score_preview(:'va', 100) p;
COMMIT;
-- without a verification: WL048, nothing posts, no record (the refusal rolls back)
SELECT fv_err(format('SELECT fv_send(%L, %L, 100, ''198.51.100.7'')', :'va', :'wa'));
SELECT (pg_wallet.get_balance(:'va')).available_balance AS vic_balance,
	(SELECT count(*) FROM pg_wallet.fraud_scores WHERE owner_id = :vo) AS vic_records;
-- a clean address scores 0: ALLOW, no verification needed
SELECT fv_send(:'va', :'wa', 100, '192.0.2.1');
SELECT fv_last(:vo);

-- with a payment verification used up in the same transaction: posted, and the record keeps
-- the decision and names the verification
SELECT fv_token(:'vtok', :'vic', 'payment') AS vt \gset
BEGIN;
SELECT pg_wallet.consume_verification_token(:'vic', 'payment', :'vt') AS method;
SELECT fv_send(:'va', :'wa', 100, '198.51.100.7');
COMMIT;
SELECT fv_last(:vo);
SELECT fv_factor(:vo, 'Verification') AS verification, fv_factor(:vo, 'IP Reputation') AS ip;
SELECT (pg_wallet.get_balance(:'va')).available_balance AS vic_balance;
-- the verification does not outlive its transaction, and the token is used
SELECT fv_err(format('SELECT fv_send(%L, %L, 100, ''198.51.100.7'')', :'va', :'wa'));
SELECT fv_err(format('SELECT pg_wallet.consume_verification_token(%L, ''payment'', %L)',
	:'vic', :'vt'));
-- a refused call that used up a token gives it back: the whole transaction rolls back
SELECT fv_token(:'vtok', :'vic', 'payment') AS vt2 \gset
SELECT fv_err(format('SELECT pg_wallet.consume_verification_token(%L, ''payment'', %L), '
	'pg_wallet.transfer(%L, %L, 999999)', :'vic', :'vt2', :'va', :'wa'));
BEGIN;
SELECT pg_wallet.consume_verification_token(:'vic', 'payment', :'vt2') IS NOT NULL AS usable;
ROLLBACK;

-- another user's verification does not verify Vic: Wen's token verifies Wen only
SELECT fv_token(:'wtok', :'wen', 'payment') AS wvt \gset
BEGIN;
SELECT pg_wallet.consume_verification_token(:'wen', 'payment', :'wvt') IS NOT NULL AS wen_verified;
SELECT fv_err(format('SELECT fv_send(%L, %L, 100, ''198.51.100.7'')', :'va', :'wa'));
ROLLBACK;
-- nor does a token of Wen presented for Vic (bound to its principal: WL028)
SELECT fv_err(format('SELECT pg_wallet.consume_verification_token(%L, ''payment'', %L)',
	:'vic', :'wvt'));

-- a withdrawal's own verification (purpose withdrawal) meets the decision as well
SELECT fv_token(:'vtok', :'vic', 'withdrawal') AS wdt \gset
BEGIN;
SELECT pg_wallet.consume_verification_token(:'vic', 'withdrawal', :'wdt') AS method;
SELECT status FROM pg_wallet.debit(:'va', 50, 'FV-BANK');
ROLLBACK;

-- per-item batches record the refusal under its key, and its score with it
BEGIN;
SELECT pg_wallet.set_request_context('{"ip": "198.51.100.7"}');
SELECT item, status, sqlstate, message FROM pg_wallet.post_transfers(jsonb_build_array(
	jsonb_build_object('from', :'va', 'to', :'wa', 'amount', 10, 'idempotency_key', 'fv-b1')),
	false);
COMMIT;
SELECT fv_last(:vo);
SELECT (pg_wallet.get_balance(:'va')).available_balance AS vic_balance;

-- an allow rule overrides the score; verify_from 101 turns the decision off
SELECT pg_wallet.fraud_add_rule('ALLOW', 'USER', :'vo', 'trusted after review') AS rid \gset
SELECT fv_send(:'va', :'wa', 100, '198.51.100.7');
SELECT fv_last(:vo);
SELECT pg_wallet.fraud_disable_rule(:rid);
UPDATE pg_wallet.fraud_settings SET verify_from = 101;
SELECT fv_send(:'va', :'wa', 100, '198.51.100.7');
SELECT fv_last(:vo);
-- out of range thresholds are refused
SELECT fv_err('UPDATE pg_wallet.fraud_settings SET verify_from = 0');
SELECT fv_err('UPDATE pg_wallet.fraud_settings SET verify_from = 102');

-- the mark is the extension's alone: PUBLIC cannot execute it; it validates its input
SELECT has_function_privilege('public', 'pg_wallet._fraud_verified(bigint, text)', 'EXECUTE')
	AS public_can_mark;
SELECT fv_err('SELECT pg_wallet._fraud_verified(1, ''Bad Method'')');
SELECT fv_err('SELECT pg_wallet._fraud_verified(NULL, ''totp'')');

-- the ledger is intact: each currency sums to zero
UPDATE pg_wallet.fraud_settings SET verify_from = 60, weight_amount = DEFAULT, weight_device = DEFAULT,
	weight_velocity = DEFAULT, weight_geo = DEFAULT, weight_ip = DEFAULT,
	weight_beneficiary = DEFAULT, weight_credential = DEFAULT, weight_round = DEFAULT;
DELETE FROM pg_wallet.fraud_ip_reputation WHERE ip_range = '198.51.100.0/24';
SELECT a.currency, sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END)
FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
GROUP BY a.currency HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0;
SELECT count(*) AS problems FROM pg_wallet.verify_ledger();
RESET pg_wallet.enable_test_hooks;
