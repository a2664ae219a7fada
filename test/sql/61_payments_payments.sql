-- Payments and refunds (issue 13, sql/payments/payments.sql): a user pays a merchant from its
-- wallet (one TRANSFER through the ledger core), every refusal of payment_create, an
-- idempotent replay, a refused payment kept FAILED (and its replay), who sees a payment,
-- the list with its filters and sorting, refunds (partial, the rest, over-refund refused,
-- idempotent, who may refund), the totals, transaction:completed, a payment held for fraud
-- review that is released and one that is rejected, a blocked one, and the ledger balanced.

-- references carry the date and principals are random: mask them
CREATE FUNCTION pm(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(t,
		'(TXN|RFD)-[0-9]{8}-', '\1-<date>-', 'g'),
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"', '"<ts>"', 'g')
$$;
CREATE FUNCTION perr(stmt text) RETURNS text LANGUAGE sql AS $$ SELECT pm(err(stmt)) $$;
CREATE FUNCTION pbal(acct text) RETURNS numeric LANGUAGE sql AS $$
	SELECT balance FROM pg_wallet.get_balance(acct)
$$;

-- the parties: customer C (KES 1000.00 and an empty USD wallet), another user D, merchant M
-- (KES account), merchant N (USD only), merchant S (suspended), an admin
SELECT principal_id AS c, owner_id AS c_owner FROM pg_wallet.register_user('pay-c@example.com',
	'Passw0rd-61', 'Cee', 'Customer', '+254700006101') \gset
SELECT principal_id AS d, owner_id AS d_owner FROM pg_wallet.register_user('pay-d@example.com',
	'Passw0rd-61', 'Dee', 'Other', '+254700006102') \gset
SELECT principal_id AS m, owner_id AS m_owner FROM pg_wallet.create_principal('merchant',
	'pay-m@example.com', 'Passw0rd-61', 'Mer', 'Chant') \gset
SELECT principal_id AS n, owner_id AS n_owner FROM pg_wallet.create_principal('merchant',
	'pay-n@example.com', 'Passw0rd-61') \gset
SELECT principal_id AS s, owner_id AS s_owner FROM pg_wallet.create_principal('merchant',
	'pay-s@example.com', 'Passw0rd-61') \gset
SELECT principal_id AS adm FROM pg_wallet.create_principal('admin', 'pay-admin@example.com',
	'Passw0rd-61') \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:c_owner, 'KES', 'WALLET', 'P61-C')
	UNION ALL SELECT pg_wallet.create_account(:c_owner, 'USD', 'WALLET', 'P61-C-USD')
	UNION ALL SELECT pg_wallet.create_account(:d_owner, 'KES', 'WALLET', 'P61-D')
	UNION ALL SELECT pg_wallet.create_account(:m_owner, 'KES', 'WALLET', 'P61-M-WALLET')
	UNION ALL SELECT pg_wallet.create_account(:m_owner, 'KES', 'AVAILABLE_COLLECTIONS', 'P61-M')
	UNION ALL SELECT pg_wallet.create_account(:n_owner, 'USD', 'WALLET', 'P61-N')
	UNION ALL SELECT pg_wallet.create_account(:s_owner, 'KES', 'WALLET', 'P61-S')) x;
SELECT status FROM pg_wallet.credit('P61-C', 1000, 'SYS-SUSPENSE-KES');
SELECT (pg_wallet.set_principal_status(:'s', 'SUSPENDED', 'pay test')).status;

-- every refusal of payment_create, none of which moves money or leaves a row
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KESX')$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'XYZ')$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 0, 'KES')$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, -5, 'KES')$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, NULL, 'KES')$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 1.001, 'KES')$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES',
	description => repeat('x', 201))$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES',
	metadata => '[1]')$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES',
	metadata => jsonb_build_object('x', repeat('y', 2100)))$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES', '')$$, :'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES', repeat('r', 101))$$,
	:'c', :'m'));
-- the customer: a user that exists
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES')$$, :'m', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES')$$,
	'00000000-0000-4000-8000-000000000000', :'m'));
-- the merchant: a merchant principal's id (not a user's, not a made-up one), ACTIVE
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, 'merchant-001', 10, 'KES')$$, :'c'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES')$$, :'c',
	'00000000-0000-4000-8000-000000000000'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES')$$, :'c', :'d'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES')$$, :'c', :'s'));
-- an account in the currency on both sides
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES')$$, :'c', :'n'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'EUR')$$, :'c', :'m'));
-- a wallet named: the customer's own, in the currency
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES', wallet => 'P61-D')$$,
	:'c', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 10, 'KES',
	wallet => 'P61-C-USD')$$, :'c', :'m'));
SELECT count(*) AS payments, pbal('P61-C') AS c_balance FROM pg_wallet.payments;

-- a payment: SUCCESS at once, into the merchant's collections account, with its score
SELECT pg_wallet.payment_create(:'c', :'m', 100, 'KES', 'ref-1', 'Order 1',
	'{"orderId": "order-1", "reference": "ref-1"}') AS p1 \gset
SELECT pm(:'p1');
SELECT :'p1'::jsonb ->> 'transactionId' AS t1 \gset
SELECT (:'p1'::jsonb ->> 'customerId') = :'c' AS customer_is_c,
	(:'p1'::jsonb ->> 'merchantId') = :'m' AS merchant_is_m;
SELECT pbal('P61-C') AS c, pbal('P61-M') AS m_collections, pbal('P61-M-WALLET') AS m_wallet;
-- the journal is a TRANSFER naming the payment, posted through the core
SELECT j.journal_type, pm(j.metadata::text) AS metadata, p.fee_minor, p.status
FROM pg_wallet.payments p JOIN pg_wallet.journals j ON j.id = p.journal_id
WHERE p.transaction_ref = :'t1';
-- a retry under the same reference is the same payment, nothing moves again
SELECT pm(pg_wallet.payment_create(:'c', :'m', 100, 'KES', 'ref-1', 'Order 1',
	'{"orderId": "order-1", "reference": "ref-1"}')::text);
SELECT pbal('P61-C') AS c, count(*) AS payments FROM pg_wallet.payments;
-- another request under the reference is a conflict; another customer's reference is theirs
SELECT perr(format($$SELECT pg_wallet.payment_create(%L, %L, 101, 'KES', 'ref-1', 'Order 1',
	'{"orderId": "order-1", "reference": "ref-1"}')$$, :'c', :'m'));
SELECT kind FROM pg_wallet.idempotency_keys WHERE scope = :c_owner AND key = 'ref-1';

-- refused by the ledger (over the KYC tier's limit): kept FAILED with the refusal, no money moves;
-- its retry gets the same refusal
SELECT pm(pg_wallet.payment_create(:'c', :'m', 5000, 'KES', 'ref-big')::text);
SELECT pm(pg_wallet.payment_create(:'c', :'m', 5000, 'KES', 'ref-big')::text);
SELECT status, error_code, journal_id IS NOT NULL AS refused_journal, completed_at IS NULL AS open
FROM pg_wallet.payments WHERE reference = 'ref-big';
SELECT pbal('P61-C') AS c, pbal('P61-M') AS m;
-- within the limit but more than the wallet holds: WL001
SELECT pm(pg_wallet.payment_create(:'c', :'m', 950, 'KES', 'ref-nsf')::text);
SELECT pbal('P61-C') AS c, pbal('P61-M') AS m;
-- from a wallet named by its number
SELECT (pg_wallet.payment_create(:'c', :'m', 50, 'KES', 'ref-2', wallet => 'P61-C')) ->> 'status';
SELECT pbal('P61-C') AS c, pbal('P61-M') AS m;

-- who sees a payment: its customer (with the score's factors), its merchant (without), no
-- one else (another user, an admin, an unknown id: the same 404)
SELECT pm((pg_wallet.payment_get(:'t1', :'c') #- '{fraudScore,riskFactors}')::text);
SELECT jsonb_array_length(pg_wallet.payment_get(:'t1', :'c') #> '{fraudScore,riskFactors}')
	AS customer_factors;
SELECT pg_wallet.payment_get(:'t1', :'m') #> '{fraudScore}' ? 'riskFactors' AS merchant_factors,
	pg_wallet.payment_get(:'t1', :'m') ->> 'status' AS merchant_sees;
SELECT perr(format($$SELECT pg_wallet.payment_get(%L, %L)$$, :'t1', :'d'));
SELECT perr(format($$SELECT pg_wallet.payment_get(%L, %L)$$, :'t1', :'adm'));
SELECT perr(format($$SELECT pg_wallet.payment_get('TXN-20250101-999999', %L)$$, :'c'));
SELECT perr(format($$SELECT pg_wallet.payment_get(%L, %L)$$, repeat('T', 65), :'c'));
-- a failed payment: its customer sees why, its merchant does not
SELECT pg_wallet.payment_get(t, :'c') ->> 'failureReason' AS customer_sees,
	pg_wallet.payment_get(t, :'m') ->> 'failureReason' AS merchant_sees
FROM (SELECT transaction_ref AS t FROM pg_wallet.payments WHERE reference = 'ref-big') x;

-- the lists: the customer's payments made, the merchant's received, newest first; filters,
-- sorting and pagination
SELECT pm(pg_wallet.payments_list(:'c')::text);
SELECT jsonb_path_query_array(pg_wallet.payments_list(:'m', page_size => 2), '$.transactions[*].status') AS merchant,
	pg_wallet.payments_list(:'m', page_size => 2) -> 'pagination' AS pagination;
SELECT pg_wallet.payments_list(:'d') AS other_user;
SELECT jsonb_path_query_array(pg_wallet.payments_list(:'c', 'SUCCESS'), '$.transactions[*].amount') AS success,
	jsonb_path_query_array(pg_wallet.payments_list(:'c', 'FAILED'), '$.transactions[*].amount') AS failed;
SELECT jsonb_path_query_array(pg_wallet.payments_list(:'c', sort_by => 'amount',
	sort_order => 'asc'), '$.transactions[*].amount') AS by_amount_asc,
	jsonb_path_query_array(pg_wallet.payments_list(:'c', page_size => 1, page_offset => 1),
		'$.transactions[*].amount') AS second;
SELECT pg_wallet.payments_list(:'c', from_time => now() + interval '1 day') -> 'pagination' AS future,
	pg_wallet.payments_list(:'c', to_time => now() - interval '1 day') -> 'pagination' AS past;
SELECT perr(format($$SELECT pg_wallet.payments_list(%L, 'DONE')$$, :'c'));
SELECT perr(format($$SELECT pg_wallet.payments_list(%L, page_size => 101)$$, :'c'));
SELECT perr(format($$SELECT pg_wallet.payments_list(%L, page_offset => -1)$$, :'c'));
SELECT perr(format($$SELECT pg_wallet.payments_list(%L, sort_by => 'merchant')$$, :'c'));
SELECT perr(format($$SELECT pg_wallet.payments_list(%L, sort_order => 'up')$$, :'c'));
-- the customer's list is served by its index
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM pg_wallet.payments p WHERE p.customer_owner_id = 1
	ORDER BY p.created_at DESC, p.id DESC LIMIT 20;
RESET enable_seqscan;

-- refunds: not the customer (403), not another user (404), bounded arguments
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 10)$$, :'t1', :'c'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 10)$$, :'t1', :'d'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 10)$$, :'t1', :'n'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 0)$$, :'t1', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 0.001)$$, :'t1', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 10, 'bad;reason')$$, :'t1', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 10,
	description => repeat('d', 201))$$, :'t1', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 10,
	idempotency_key => repeat('k', 101))$$, :'t1', :'m'));
-- a failed payment cannot be refunded
SELECT perr(format($$SELECT pg_wallet.payment_refund(t, %L) FROM (SELECT transaction_ref AS t
	FROM pg_wallet.payments WHERE reference = 'ref-big') x$$, :'m'));
-- partial by the merchant, replayed under its key, a conflict under it, then over the rest
SELECT pm(pg_wallet.payment_refund(:'t1', :'m', 30, 'partial_refund', 'Damaged item',
	'rk-1')::text);
SELECT pm(pg_wallet.payment_refund(:'t1', :'m', 30, 'partial_refund', 'Damaged item',
	'rk-1')::text);
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 31, 'partial_refund',
	'Damaged item', 'rk-1')$$, :'t1', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 70.01)$$, :'t1', :'m'));
SELECT pbal('P61-C') AS c, pbal('P61-M') AS m;
-- the rest, by an admin; then nothing is left
SELECT pm(pg_wallet.payment_refund(:'t1', :'adm', reason => 'requested_by_customer')::text);
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L)$$, :'t1', :'m'));
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 0.01)$$, :'t1', :'m'));
SELECT pbal('P61-C') AS c, pbal('P61-M') AS m;
-- REFUND journals, from the merchant's account to the customer's wallet, no fee
SELECT j.journal_type, j.fee_minor, e.side, a.account_number, e.amount
FROM pg_wallet.refunds r JOIN pg_wallet.journals j ON j.id = r.journal_id
JOIN pg_wallet.entries e ON e.journal_id = j.id JOIN pg_wallet.accounts a ON a.id = e.account_id
ORDER BY r.id, e.id;
-- the list with its totals, for the customer, the merchant and an admin; not another user
SELECT pm(pg_wallet.payment_refunds(:'t1', :'c')::text);
SELECT pg_wallet.payment_refunds(:'t1', :'m') -> 'summary' AS merchant,
	pg_wallet.payment_refunds(:'t1', :'adm') -> 'summary' AS admin;
SELECT perr(format($$SELECT pg_wallet.payment_refunds(%L, %L)$$, :'t1', :'d'));
-- the payment stays SUCCESS and shows what was refunded
SELECT pg_wallet.payment_get(:'t1', :'c') ->> 'status' AS status,
	pg_wallet.payment_get(:'t1', :'c') ->> 'refundedAmount' AS refunded;

-- transaction:completed to the customer and the merchant, once per successful payment:
-- queued in the payment's transaction, in the streams once moved
SELECT pg_wallet._event_queue_here() AS queued, events_settled();
-- inside a payment's transaction (rolled back here): both events queued, neither stream
-- written (no stream lock, no NOTIFY); a rollback takes them away with the payment
BEGIN;
SELECT pg_wallet.payment_create(:'c', :'m', 1, 'KES', 'ref-queued') ->> 'transactionId' AS tq
\gset
-- one queued row for the event and both its owners (the payload once)
SELECT count(*) AS queued, sum(cardinality(owner_ids)) AS owners,
	bool_and(owner_ids @> ARRAY[:c_owner, :m_owner]::bigint[]
		AND principal_ids @> ARRAY[:'c', :'m']::uuid[]) AS both_parties
FROM pg_wallet.event_queue WHERE payload ->> 'transactionId' = :'tq';
SELECT count(*) AS in_streams FROM pg_wallet.events
WHERE payload ->> 'transactionId' = :'tq';
ROLLBACK;
SELECT count(*) AS left_queued FROM pg_wallet.event_queue
WHERE payload ->> 'transactionId' = :'tq';
-- (several payments' events moved in one batch are written owner by owner: list them by
-- payment)
SELECT owner_id = :c_owner AS to_customer, pm(payload::text) AS payload
FROM pg_wallet.events WHERE event_type = 'transaction:completed'
	AND owner_id IN (:c_owner, :m_owner)
ORDER BY payload ->> 'transactionId', owner_id;
-- the worker advances each stream once per batch: the streams still count every event and
-- end at their last one
SELECT s.owner_id = :c_owner AS customer, s.event_count = count(e.id) AS counted,
	s.last_event_id = max(e.id) AS last
FROM pg_wallet.event_streams s JOIN pg_wallet.events e ON e.owner_id = s.owner_id
WHERE s.owner_id IN (:c_owner, :m_owner)
GROUP BY s.owner_id, s.event_count, s.last_event_id ORDER BY 1;

-- fraud review: a payment that scores HOLD is PROCESSING with its hold; released, it succeeds
-- (journal, event); another one rejected fails; one that scores BLOCK is FAILED at once
CREATE TEMP TABLE saved_fraud AS SELECT * FROM pg_wallet.fraud_settings;
UPDATE pg_wallet.fraud_settings SET weight_amount = 0, weight_device = 0, weight_velocity = 0,
	weight_geo = 0, weight_ip = 100, weight_beneficiary = 0,
	weight_credential = 0, weight_round = 0;
INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
VALUES ('100.64.61.0/24', 75, 'pay test hold'), ('100.64.62.0/24', 95, 'pay test block');
CREATE FUNCTION pay_from(ip text, amount numeric, ref text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_wallet.set_request_context(jsonb_build_object('ip', ip));
	RETURN pg_wallet.payment_create(current_setting('pay.c')::uuid, current_setting('pay.m'),
		amount, 'KES', ref);
END $$;
SET pay.c = :'c';
SET pay.m = :'m';
SELECT pay_from('100.64.61.5', 40, 'ref-hold-1') AS h1 \gset
SELECT pm(:'h1');
SELECT :'h1'::jsonb ->> 'transactionId' AS th1 \gset
SELECT hold_id AS hold1 FROM pg_wallet.payments WHERE transaction_ref = :'th1' \gset
SELECT (b).balance, (b).available_balance FROM (SELECT pg_wallet.get_balance('P61-C') b) x;
SELECT perr(format($$SELECT pg_wallet.payment_refund(%L, %L, 1)$$, :'th1', :'m'));
SELECT (pg_wallet.fraud_review_release(:hold1)).status;
SELECT status, journal_id IS NOT NULL AS journal, completed_at IS NOT NULL AS completed
FROM pg_wallet.payments WHERE transaction_ref = :'th1';
SELECT pg_wallet.payment_get(:'th1', :'c') #>> '{fraudScore,decision}' AS decision;
SELECT events_settled();
SELECT count(*) AS events FROM pg_wallet.events
WHERE event_type = 'transaction:completed' AND payload ->> 'transactionId' = :'th1';
SELECT pay_from('100.64.61.5', 20, 'ref-hold-2') ->> 'transactionId' AS th2 \gset
SELECT (pg_wallet.fraud_review_reject(hold_id, 'pay test')).status AS rejected
FROM pg_wallet.payments WHERE transaction_ref = :'th2';
SELECT status, error_code, error_message FROM pg_wallet.payments WHERE transaction_ref = :'th2';
SELECT pm(pay_from('100.64.62.7', 20, 'ref-block')::text);
SELECT pbal('P61-C') AS c, pbal('P61-M') AS m;
UPDATE pg_wallet.fraud_settings f SET (weight_amount, weight_device, weight_velocity,
	weight_geo, weight_ip, weight_beneficiary, weight_credential, weight_round) =
	(s.weight_amount, s.weight_device, s.weight_velocity, s.weight_geo, s.weight_ip,
	 s.weight_beneficiary, s.weight_credential, s.weight_round) FROM saved_fraud s;
DELETE FROM pg_wallet.fraud_ip_reputation WHERE label LIKE 'pay test %';

SELECT count(*) AS violations FROM pg_wallet.verify_ledger();
