-- HOLD (issue 12, docs/fraud.md "Decisions"): a score from hold_from (70) and below
-- block_from (80) holds a user's posting for review instead of posting it: the funds it would
-- debit are reserved in a hold (pending_debit), the result says HELD with the hold's id, a
-- retry under its key gets the same answer; an admin releases it (it posts as it was asked:
-- TRANSFER journal, fee, not scored again) or rejects it (the funds are available again, a
-- retry is refused). A hold placement that scores HOLD is blocked. The ledger stays balanced.

CREATE FUNCTION fh_err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(d, '') || ')',
		''), 'hold (id )?[0-9]+', 'hold \1N', 'g');
END
$$;
CREATE FUNCTION fh_bal(acct text) RETURNS text LANGUAGE sql AS $$
	SELECT format('balance %s available %s pending_debit %s', b.balance, b.available_balance,
		b.pending_debit) FROM pg_wallet.get_balance(acct) b
$$;
-- a transfer from a suspicious address (198.51.100.0/24: reputation 75)
CREATE FUNCTION fh_send(src text, dst text, amount numeric, k text)
RETURNS pg_wallet.journal_result LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_wallet.set_request_context('{"ip": "198.51.100.9"}');
	RETURN pg_wallet.transfer(src, dst, amount, k);
END
$$;

SELECT pg_wallet.create_owner('user', 'Hold H') AS h \gset
SELECT pg_wallet.create_owner('user', 'Hold J') AS j \gset
SELECT pg_wallet.create_owner('user', 'Hold K') AS k \gset
SELECT pg_wallet.create_owner('partner', 'Hold bank') AS bank \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:bank, 'KES', 'SETTLEMENT', 'FH-BANK', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:h, 'KES', 'WALLET', 'FH-H')
	UNION ALL SELECT pg_wallet.create_account(:j, 'KES', 'WALLET', 'FH-J')
	UNION ALL SELECT pg_wallet.create_account(:k, 'KES', 'WALLET', 'FH-K')) x;
SELECT status FROM pg_wallet.credit('FH-H', 1000, 'FH-BANK');

SELECT hold_from, review_hours, verify_from, block_from FROM pg_wallet.fraud_settings;
UPDATE pg_wallet.fraud_settings SET weight_amount = 0, weight_device = 0, weight_velocity = 0,
	weight_geo = 0, weight_ip = 100, weight_beneficiary = 0,
	weight_credential = 0, weight_round = 0, max_per_minute = 10000, max_per_hour = 10000;
INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
VALUES ('198.51.100.0/24', 75, 'known mule network');

-- held: nothing posts, the amount is reserved, the result names the hold
SELECT status, journal_id IS NULL AS no_journal, receipt_code IS NULL AS no_receipt, replayed,
	sqlstate, message ~ '^held for review \(hold [0-9]+\)$' AS message, hold_id IS NOT NULL AS hold
FROM fh_send('FH-H', 'FH-J', 100, 'fh-1');
SELECT id AS h1 FROM pg_wallet.holds WHERE idempotency_key = 'fh-1' \gset
SELECT fh_bal('FH-H') AS payer, fh_bal('FH-J') AS payee;
SELECT status, amount, review ->> 'type' AS type, jsonb_array_length(review -> 'legs') AS legs,
	expires_at - created_at AS review_window, journal_id IS NULL AS no_journal
FROM pg_wallet.holds WHERE id = :h1;
-- the record: decision HOLD, the hold's id, no journal yet; a HIGH alert that asks for action
SELECT score, risk_level, decision, journal_id IS NULL AS no_journal, hold_id = :h1 AS hold
FROM pg_wallet.fraud_scores WHERE owner_id = :h ORDER BY id DESC LIMIT 1;
SELECT payload ->> 'decision' AS decision, payload ->> 'requiresAction' AS requires_action,
	payload -> 'transactionId' AS transaction_id, (payload ->> 'holdId')::bigint = :h1 AS hold_id
FROM pg_wallet.events WHERE owner_id = :h AND event_type = 'fraud:risk_alert'
ORDER BY id DESC LIMIT 1;
-- a retry under the key gets the same hold; another request under it is a conflict
SELECT status, replayed, hold_id = :h1 AS same_hold FROM fh_send('FH-H', 'FH-J', 100, 'fh-1');
SELECT fh_err('SELECT fh_send(''FH-H'', ''FH-J'', 101, ''fh-1'')');
-- the payee is not known while the request is held
SELECT count(*) AS payee_known FROM pg_wallet.fraud_known_beneficiaries
WHERE owner_id = :h AND account_id = (SELECT id FROM pg_wallet.accounts
	WHERE account_number = 'FH-J');
-- the admins' queue
SELECT hold_id = :h1 AS h1, account_number, counterpart, amount, currency, request_type,
	request_ref, score, risk_level
FROM pg_wallet.fraud_reviews();
SELECT fh_err('SELECT pg_wallet.fraud_reviews(0)');

-- released: posted as asked (a TRANSFER journal), not scored again, the reservation gone
SELECT status, replayed, receipt_code LIKE 'RCP-%' AS receipt, hold_id
FROM pg_wallet.fraud_review_release(:h1) \gset rel_
SELECT :'rel_status' AS status, :'rel_receipt' AS receipt;
SELECT j.journal_type, j.status FROM pg_wallet.journals j
	JOIN pg_wallet.holds h ON h.journal_id = j.id WHERE h.id = :h1;
SELECT status, posted_amount FROM pg_wallet.holds WHERE id = :h1;
SELECT fh_bal('FH-H') AS payer, fh_bal('FH-J') AS payee;
SELECT count(*) AS records FROM pg_wallet.fraud_scores WHERE owner_id = :h;
-- money reached the payee: it is known now
SELECT count(*) AS payee_known FROM pg_wallet.fraud_known_beneficiaries
WHERE owner_id = :h AND account_id = (SELECT id FROM pg_wallet.accounts
	WHERE account_number = 'FH-J');
-- the release is a completed transfer: transfer_completed for the payer and the payee
SELECT owner_id = :h AS payer, payload ->> 'amount' AS amount,
	payload ->> 'receipt_code' = (SELECT pg_wallet.receipt_code(j.id, j.created_at)
		FROM pg_wallet.journals j JOIN pg_wallet.holds h ON h.journal_id = j.id
		WHERE h.id = :h1) AS receipt
FROM pg_wallet.events WHERE event_type = 'transfer_completed' AND owner_id IN (:h, :j)
ORDER BY owner_id;
-- a retry under the key now gets the posting; the risk score of the posting is the hold's
SELECT status, replayed, journal_id = (SELECT journal_id FROM pg_wallet.holds WHERE id = :h1)
	AS same_journal FROM fh_send('FH-H', 'FH-J', 100, 'fh-1');
SELECT r ->> 'decision' AS decision, r ->> 'riskScore' AS score,
	r ->> 'transactionId' = (SELECT pg_wallet.receipt_code(j.id, j.created_at)
		FROM pg_wallet.journals j JOIN pg_wallet.holds h ON h.journal_id = j.id
		WHERE h.id = :h1) AS transaction_id
FROM pg_wallet.fraud_risk_score((SELECT journal_id FROM pg_wallet.holds WHERE id = :h1)) r;
SELECT fh_err(format('SELECT pg_wallet.fraud_review_release(%s)', :h1));

-- rejected: the funds are available again; a retry of the request is refused
SELECT status, hold_id AS h2 FROM fh_send('FH-H', 'FH-J', 200, 'fh-2') \gset
SELECT :'status' AS status, fh_bal('FH-H') AS payer;
SELECT fh_err(format('SELECT pg_wallet.fraud_review_reject(%s, '' '')', :h2));
SELECT status FROM pg_wallet.fraud_review_reject(:h2, 'account takeover');
SELECT closed_reason FROM pg_wallet.holds WHERE id = :h2;
SELECT fh_bal('FH-H') AS payer, fh_bal('FH-J') AS payee;
SELECT count(*) AS events_of_rejection FROM pg_wallet.events
WHERE event_type = 'transfer_completed' AND owner_id IN (:h, :j)
	AND (payload ->> 'amount')::numeric = 200;
SELECT fh_err('SELECT fh_send(''FH-H'', ''FH-J'', 200, ''fh-2'')');
-- a rejected transfer to a new payee: the payer is told it failed (not why), the payee never
-- becomes known
SELECT status, hold_id AS h3 FROM fh_send('FH-H', 'FH-K', 40, 'fh-3') \gset
SELECT :'status' AS status;
SELECT status FROM pg_wallet.fraud_review_reject(:h3, 'mule account');
SELECT payload - 'timestamp' - 'hold_id' AS failed, payload ->> 'hold_id' = :'h3' AS same_hold
FROM pg_wallet.events WHERE owner_id = :h AND event_type = 'transaction_failed'
ORDER BY id DESC LIMIT 1;
SELECT count(*) AS told_payee FROM pg_wallet.events WHERE owner_id = :k;
SELECT count(*) AS payee_known FROM pg_wallet.fraud_known_beneficiaries
WHERE owner_id = :h AND account_id = (SELECT id FROM pg_wallet.accounts
	WHERE account_number = 'FH-K');
-- a review window that passes fails the request too
SELECT status, hold_id AS h4 FROM fh_send('FH-H', 'FH-K', 45, 'fh-4') \gset
UPDATE pg_wallet.holds SET expires_at = now() - interval '1 second' WHERE id = :h4;
SELECT pg_wallet.expire_holds() >= 1 AS expired;
SELECT payload ->> 'error' AS error, payload ->> 'amount' AS amount
FROM pg_wallet.events WHERE owner_id = :h AND event_type = 'transaction_failed'
ORDER BY id DESC LIMIT 1;
SELECT fh_err(format('SELECT pg_wallet.fraud_review_reject(%s, ''again'')', :h2));
SELECT fh_err(format('SELECT pg_wallet.fraud_review_release(%s)', :h2));
SELECT fh_err('SELECT pg_wallet.fraud_review_release(999999999)');
-- an ordinary hold is not a review
SELECT hold_id AS plain FROM pg_wallet.place_hold('FH-H', 5, 'FH-J') \gset
SELECT fh_err(format('SELECT pg_wallet.fraud_review_release(%s)', :plain));
SELECT status FROM pg_wallet.void_hold(:plain);

-- a hold placement that scores HOLD cannot be held again: it is blocked
BEGIN;
SELECT pg_wallet.set_request_context('{"ip": "198.51.100.9"}');
SELECT fh_err('SELECT pg_wallet.place_hold(''FH-H'', 10, ''FH-J'')');
ROLLBACK;

-- batches: a held item says so, with its hold
BEGIN;
SELECT pg_wallet.set_request_context('{"ip": "198.51.100.9"}');
SELECT item, status, journal_id IS NULL AS no_journal, hold_id IS NOT NULL AS hold, message
	~ '^held for review' AS message
FROM pg_wallet.post_transfers('[{"from": "FH-H", "to": "FH-J", "amount": 30,
	"idempotency_key": "fh-b1"}]', false);
COMMIT;
SELECT fh_bal('FH-H') AS payer;
SELECT count(*) AS open_reviews FROM pg_wallet.fraud_reviews();
SELECT status FROM pg_wallet.fraud_review_release((SELECT hold_id FROM pg_wallet.fraud_reviews()));
SELECT fh_bal('FH-H') AS payer, fh_bal('FH-J') AS payee;

-- PUBLIC cannot administer reviews
SELECT has_function_privilege('public', 'pg_wallet.fraud_review_release(bigint)', 'EXECUTE')
	OR has_function_privilege('public', 'pg_wallet.fraud_review_reject(bigint, text)', 'EXECUTE')
	OR has_function_privilege('public', 'pg_wallet.fraud_reviews(integer, integer)', 'EXECUTE')
	AS public_can_review;

-- restore the defaults; the ledger is intact and each currency sums to zero
UPDATE pg_wallet.fraud_settings SET weight_amount = DEFAULT, weight_device = DEFAULT,
	weight_velocity = DEFAULT, weight_geo = DEFAULT, weight_ip = DEFAULT,
	weight_beneficiary = DEFAULT, weight_credential = DEFAULT, weight_round = DEFAULT;
DELETE FROM pg_wallet.fraud_ip_reputation WHERE ip_range = '198.51.100.0/24';
SELECT a.currency, sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END)
FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
GROUP BY a.currency HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0;
SELECT count(*) AS problems FROM pg_wallet.verify_ledger();
