-- Disputes and chargebacks (issue 14, sql/payments/disputes.sql): a customer disputes a
-- payment (OPEN, with evidence files), the same request replays, a second is WL102; the
-- merchant cannot open one (WL103), a stranger sees nothing (WL088 / WL100); the dispute
-- window (WL101, pg_wallet.dispute_window_days), a payment refunded in full (WL105); evidence
-- from both parties (the merchant's is its response; after its deadline WL104; at most 50
-- pieces); dispute:created to both parties; an admin resolves: APPROVED charges back what
-- remains refundable (a CHARGEBACK journal, a refund row; even below the merchant's floor),
-- REJECTED moves nothing, a second resolution is WL104, the same one replays; the
-- merchant's profile and dashboard count disputes and chargebacks. The ledger stays balanced.

CREATE FUNCTION dm(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(t,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z', '<ts>',
		'g'),
		'(TXN|RFD|DSP)-[0-9]{8}-[0-9]+|EVD-[0-9]+', '<\1ref>', 'g')
$$;
CREATE FUNCTION derr(stmt text) RETURNS text LANGUAGE sql AS $$ SELECT dm(err(stmt)) $$;
CREATE FUNCTION kes(acct text) RETURNS numeric LANGUAGE sql AS $$
	SELECT available_balance FROM pg_wallet.get_balance(acct) $$;

-- the parties: customer C (and C2), user U who registers merchant M (approved by ADM),
-- stranger V
SELECT principal_id AS c, owner_id AS c_owner FROM pg_wallet.register_user(
	'disp-c@example.com', 'Passw0rd-65', 'Cee', 'Payer', '+254700006501') \gset
SELECT principal_id AS c2, owner_id AS c2_owner FROM pg_wallet.register_user(
	'disp-c2@example.com', 'Passw0rd-65', 'Cee', 'Two', '+254700006502') \gset
SELECT principal_id AS u FROM pg_wallet.register_user(
	'disp-u@example.com', 'Passw0rd-65', 'You', 'Seller', '+254700006503') \gset
SELECT principal_id AS v FROM pg_wallet.register_user(
	'disp-v@example.com', 'Passw0rd-65', 'Vee', 'Stranger', '+254700006504') \gset
SELECT principal_id AS adm FROM pg_wallet.create_principal('admin', 'disp-adm@example.com',
	'Passw0rd-65') \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:c_owner, 'KES', 'WALLET', 'D65-C')
	UNION ALL SELECT pg_wallet.create_account(:c2_owner, 'KES', 'WALLET', 'D65-C2')) x;
SELECT status FROM pg_wallet.credit('D65-C', 1000, 'SYS-SUSPENSE-KES');
SELECT status FROM pg_wallet.credit('D65-C2', 100, 'SYS-SUSPENSE-KES');
SELECT pg_wallet.merchant_register(:'u', 'Dispute Store', 'sole_proprietor', 'D6500000001',
	'retail', '044', '1234567890', 'You Seller') ->> 'merchantId' AS m \gset
SELECT pg_wallet.merchant_approve(:'adm', :'m') ->> 'kycStatus' AS approved;
SELECT a.account_number AS m_acct FROM pg_wallet.accounts a JOIN pg_wallet.merchants x
	ON x.owner_id = a.owner_id WHERE x.id = :'m' AND a.purpose = 'AVAILABLE_COLLECTIONS' \gset
SELECT pg_wallet.payment_create(:'c', :'m', 300, 'KES', 'd65-1') ->> 'transactionId' AS t1,
	pg_wallet.payment_create(:'c', :'m', 200, 'KES', 'd65-2') ->> 'transactionId' AS t2,
	pg_wallet.payment_create(:'c', :'m', 100, 'KES', 'd65-3') ->> 'transactionId' AS t3,
	pg_wallet.payment_create(:'c2', :'m', 50, 'KES', 'd65-4') ->> 'transactionId' AS t4 \gset
SELECT kes('D65-C') AS customer, kes(:'m_acct') AS merchant;

-- refusals before anything is written: the merchant's own user (WL103), a stranger (WL088),
-- each bad field named
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other')$$, :'t1', :'u'));
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other')$$, :'t1', :'v'));
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'not_happy')$$, :'t1', :'c'));
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other', repeat('x', 1001))$$,
	:'t1', :'c'));
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other', NULL, '["../etc"]')$$,
	:'t1', :'c'));
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other', NULL,
	'[{"fileId": "f1", "url": "http://example.com/f1"}]')$$, :'t1', :'c'));
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other', NULL,
	'[{"fileId": "f1", "size": 99999999}]')$$, :'t1', :'c'));
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other', NULL,
	(SELECT jsonb_agg('f' || i) FROM generate_series(1, 11) i))$$, :'t1', :'c'));
SELECT count(*) AS no_dispute_yet FROM pg_wallet.disputes d
	JOIN pg_wallet.payments p ON p.id = d.payment_id WHERE p.transaction_ref = :'t1';

-- the customer opens one with evidence: OPEN (until evidence is added), for the whole amount
SELECT pg_wallet.dispute_open(:'t1', :'c', 'product_not_received',
	'I did not receive the ordered items', '["file-id-1", {"fileId": "file-id-2",
	"type": "photo", "size": 1024, "url": "https://cdn.example.com/f2.jpg"}]') AS d1j \gset
SELECT dm(:'d1j');
SELECT :'d1j'::jsonb ->> 'disputeId' AS d1 \gset
SELECT d.due_at - d.created_at AS deadline_in, d.response_due_at - d.created_at AS respond_in
FROM pg_wallet.disputes d WHERE d.dispute_ref = :'d1';
-- the same request replays it; another is WL102
SELECT (pg_wallet.dispute_open(:'t1', :'c', 'product_not_received',
	'I did not receive the ordered items', '["file-id-1", {"fileId": "file-id-2",
	"type": "photo", "size": 1024, "url": "https://cdn.example.com/f2.jpg"}]') ->> 'disputeId')
	= :'d1' AS same_dispute;
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'duplicate_charge')$$,
	:'t1', :'c'));
-- dispute:created to the customer, the merchant and the user who registered it
SELECT events_settled();
SELECT o.kind, e.payload ->> 'reason' AS reason, e.payload ->> 'amount' AS amount,
	e.payload ->> 'deadline' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' AS deadline_is_a_date
FROM pg_wallet.events e JOIN pg_wallet.owners o ON o.id = e.owner_id
WHERE e.event_type = 'dispute:created' AND e.payload ->> 'disputeId' = :'d1' ORDER BY o.kind;

-- the window: a payment that completed 121 days ago is DISPUTE_EXPIRED (WL101) unless the
-- window is wider
UPDATE pg_wallet.payments SET completed_at = now() - interval '121 days',
	created_at = now() - interval '121 days' WHERE transaction_ref = :'t3';
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other')$$, :'t3', :'c'));
SET pg_wallet.dispute_window_days = 200;
SELECT pg_wallet.dispute_open(:'t3', :'c', 'product_not_as_described') ->> 'disputeId' AS d3
\gset
RESET pg_wallet.dispute_window_days;
SELECT :'d3' <> '' AS wider_window_opens;
-- refunded in full: nothing to dispute (WL105)
SELECT pg_wallet.payment_refund(:'t4', :'u') ->> 'status' AS refunded;
SELECT derr(format($$SELECT pg_wallet.dispute_open(%L, %L, 'other')$$, :'t4', :'c2'));

-- who sees it: the customer, the merchant's user, an admin; not a stranger (WL100)
SELECT dm((pg_wallet.dispute_get(:'d1', :'c') - 'deadline' - 'createdAt')::text);
SELECT pg_wallet.dispute_get(:'d1', :'u') ->> 'status' AS merchant_sees,
	pg_wallet.dispute_get(:'d1', :'adm') ->> 'status' AS admin_sees;
SELECT derr(format($$SELECT pg_wallet.dispute_get(%L, %L)$$, :'d1', :'v'));
SELECT derr(format($$SELECT pg_wallet.dispute_get('DSP-20250101-999999', %L)$$, :'c'));

-- evidence: the merchant's statement is its response; the customer adds a file; a stranger
-- and an empty submission are refused
SELECT dm(pg_wallet.dispute_evidence_add(:'d1', :'u', '[]',
	'Tracking shows it was delivered on Monday')::text);
SELECT dm(pg_wallet.dispute_evidence_add(:'d1', :'c', '[{"fileId": "chat-log",
	"type": "communication", "size": 2048}]', 'Chat with the seller')::text);
SELECT derr(format($$SELECT pg_wallet.dispute_evidence_add(%L, %L, '["x"]')$$, :'d1', :'v'));
SELECT derr(format($$SELECT pg_wallet.dispute_evidence_add(%L, %L, '[]', ' ')$$, :'d1', :'c'));
SELECT derr(format($$SELECT pg_wallet.dispute_evidence_add(%L, %L, '{"a": 1}')$$, :'d1',
	:'c'));
SELECT (pg_wallet.dispute_get(:'d1', :'c') -> 'investigation') - 'startedAt'
	- 'merchantResponseDeadline' - 'merchantRespondedAt' AS investigation;
SELECT e.party, e.type, e.file_id, e.file_size, e.description
FROM pg_wallet.dispute_evidence e JOIN pg_wallet.disputes d ON d.id = e.dispute_id
WHERE d.dispute_ref = :'d1' ORDER BY e.id;
-- at most 50 pieces
SELECT count(*) FROM generate_series(1, 4) i, LATERAL pg_wallet.dispute_evidence_add(:'d1',
	:'c', (SELECT jsonb_agg('bulk-' || i || '-' || j) FROM generate_series(1, 10) j)) x;
SELECT pg_wallet.dispute_evidence_add(:'d1', :'c', '["fill-1", "fill-2", "fill-3", "fill-4",
	"fill-5", "fill-6"]') ->> 'totalEvidence' AS pieces;
SELECT derr(format($$SELECT pg_wallet.dispute_evidence_add(%L, %L, '["one-more"]')$$, :'d1',
	:'c'));
-- after the merchant's response deadline the merchant is refused, the customer is not
UPDATE pg_wallet.disputes SET created_at = now() - interval '11 days',
	response_due_at = now() - interval '1 day', due_at = now() + interval '19 days'
WHERE dispute_ref = :'d3';
SELECT derr(format($$SELECT pg_wallet.dispute_evidence_add(%L, %L, '[]', 'Late')$$, :'d3',
	:'u'));
SELECT pg_wallet.dispute_evidence_add(:'d3', :'c', '[]', 'Still broken') ->> 'status'
	AS customer_in_time;
SELECT pg_wallet.dispute_get(:'d3', :'c') #>> '{investigation,notes}' AS notes_after_deadline;

-- the merchant refunds part of the payment meanwhile: the chargeback is capped by what remains
SELECT pg_wallet.payment_refund(:'t1', :'u', 100) ->> 'status' AS partial_refund;

-- resolution: admins only (WL031), fields checked, more than remains (WL090)
SELECT derr(format($$SELECT pg_wallet.dispute_resolve(%L, %L, 'APPROVED')$$, :'d1', :'u'));
SELECT derr(format($$SELECT pg_wallet.dispute_resolve(%L, %L, 'MAYBE')$$, :'d1', :'adm'));
SELECT derr(format($$SELECT pg_wallet.dispute_resolve(%L, %L, 'REJECTED', 10)$$, :'d1',
	:'adm'));
SELECT derr(format($$SELECT pg_wallet.dispute_resolve(%L, %L, 'APPROVED', 0)$$, :'d1',
	:'adm'));
SELECT derr(format($$SELECT pg_wallet.dispute_resolve(%L, %L, 'APPROVED', 250)$$, :'d1',
	:'adm'));
SELECT derr(format($$SELECT pg_wallet.dispute_resolve(%L, %L, 'APPROVED', 1.001)$$, :'d1',
	:'adm'));
SELECT status FROM pg_wallet.disputes WHERE dispute_ref = :'d1';
-- APPROVED: the chargeback of the 200 that remain, a CHARGEBACK journal, a refund row
SELECT kes('D65-C') AS customer_before, kes(:'m_acct') AS merchant_before;
SELECT dm((pg_wallet.dispute_resolve(:'d1', :'adm', 'APPROVED', NULL,
	'Evidence shows the product was not delivered') - 'resolvedAt')::text);
SELECT kes('D65-C') AS customer_after, kes(:'m_acct') AS merchant_after;
SELECT j.journal_type, j.status, e.side,
	CASE a.account_number WHEN :'m_acct' THEN 'the merchant' ELSE a.account_number END AS account,
	e.amount
FROM pg_wallet.refunds r JOIN pg_wallet.journals j ON j.id = r.journal_id
JOIN pg_wallet.entries e ON e.journal_id = j.id JOIN pg_wallet.accounts a ON a.id = e.account_id
JOIN pg_wallet.disputes d ON d.refund_id = r.id
WHERE d.dispute_ref = :'d1' ORDER BY e.side;
SELECT x ->> 'refundedAmount' AS refunded, x -> 'status' AS status
FROM pg_wallet.payment_get(:'t1', :'c') x;
SELECT dm(pg_wallet.payment_refunds(:'t1', :'u') ->> 'summary');
SELECT derr(format($$SELECT pg_wallet.payment_refund(%L, %L, 1)$$, :'t1', :'u'));
-- the same resolution replays; another is WL104; no more evidence (WL104)
SELECT pg_wallet.dispute_resolve(:'d1', :'adm', 'APPROVED', NULL,
	'Evidence shows the product was not delivered') ->> 'replayed' AS replayed;
SELECT derr(format($$SELECT pg_wallet.dispute_resolve(%L, %L, 'REJECTED')$$, :'d1', :'adm'));
SELECT derr(format($$SELECT pg_wallet.dispute_evidence_add(%L, %L, '["late"]')$$, :'d1',
	:'c'));

-- a chargeback goes through even when it takes the merchant below its floor
SELECT pg_wallet.dispute_open(:'t2', :'c', 'duplicate_charge') ->> 'disputeId' AS d2 \gset
SELECT status FROM pg_wallet.debit(:'m_acct', kes(:'m_acct'), 'SYS-SUSPENSE-KES');
SELECT kes(:'m_acct') AS merchant_drained;
SELECT pg_wallet.dispute_resolve(:'d2', :'adm', 'APPROVED', 150) ->> 'refundAmount'
	AS charged_back;
SELECT kes(:'m_acct') AS merchant_negative, kes('D65-C') AS customer;
-- a plain refund cannot overdraw it (WL001)
SELECT replace(derr(format($$SELECT pg_wallet.payment_refund(%L, %L, 10)$$, :'t2', :'u')),
	:'m_acct', '<merchant>') AS refused;

-- REJECTED moves nothing
SELECT kes('D65-C') AS customer_before;
SELECT dm((pg_wallet.dispute_resolve(:'d3', :'adm', 'REJECTED', NULL, 'Delivered as shown')
	- 'resolvedAt')::text);
SELECT kes('D65-C') AS customer_after;

-- the merchant's profile and dashboard (the last 30 days) count them: 3 disputes, 2
-- chargebacks, of 4 payments (3 in the period)
SELECT pg_wallet.merchant_get(:'u', :'m') -> 'metrics' AS metrics;
SELECT x #> '{metrics,disputeCount}' AS disputes, x #> '{metrics,chargebackCount}' AS chargebacks,
	x #> '{metrics,chargebackRate}' AS rate, x #> '{metrics,refundCount}' AS refunds,
	x #> '{metrics,refundAmount}' AS refunded
FROM pg_wallet.merchant_dashboard(:'u', :'m', (now() AT TIME ZONE 'UTC')::date - 30) x;

SELECT ledger_ok();
