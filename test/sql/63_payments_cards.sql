-- Card payments (issue 13, sql/payments/cards.sql): a user pays a merchant with a saved card
-- through a card partner (generic_json) and the partner simulator (test/partner_sim.py; the
-- last two digits of the card choose what it does). Authorisation (a hold on the customer's
-- card funding account, PROCESSING), capture by the partner's signed callback (SUCCESS, the
-- settlement journal and the capture, transaction:completed), a failure callback and the
-- partner's refusal (voided: FAILED), expiry (FAILED), duplicate callbacks (idempotent), a bad
-- signature, a wrong amount or currency and an unknown reference (refused, nothing changes),
-- another user's, a removed and an expired card (refused), an idempotent retry under the same
-- reference, fraud BLOCK and HOLD (FAILED), refunds back to the card through the partner
-- (completed, failed, refused, expired, replayed, refused callbacks), who sees it, and the
-- ledger balanced, every currency summing to zero.

-- references carry the date, principals and card ids are random: mask them
CREATE FUNCTION cm(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(t,
		'TXN-[0-9]{8}-[0-9]+', 'TXN-<ref>', 'g'),
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"', '"<ts>"', 'g'),
		'SIM-[0-9]+', 'SIM-<n>', 'g'), 'CARD-[0-9]+-', 'CARD-<owner>-', 'g')
$$;
CREATE FUNCTION cerr(stmt text) RETURNS text LANGUAGE sql AS $$ SELECT cm(err(stmt)) $$;
CREATE FUNCTION cwait(cond text, timeout_s numeric DEFAULT 20)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	ok boolean;
	deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
	LOOP
		EXECUTE 'SELECT (' || cond || ')' INTO ok;
		IF ok THEN RETURN true; END IF;
		IF clock_timestamp() > deadline THEN RETURN false; END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
-- a payment's status once it is no longer PROCESSING (or what it is after 20 s)
CREATE FUNCTION cstatus(ref text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM cwait(format('(SELECT status FROM pg_wallet.payments WHERE transaction_ref = %L)
		<> %L', ref, 'PROCESSING'));
	RETURN (SELECT status || coalesce(' ' || error_code || ' ' || error_message, '')
	        FROM pg_wallet.payments WHERE transaction_ref = ref);
END $$;
-- a card partner's callback, signed as the partner would sign it
CREATE FUNCTION card_callback(body jsonb, secret text,
	msg_id text DEFAULT 'cb_' || md5(random()::text))
RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.partner_callback('PTN-C63', body::text, jsonb_build_object(
		'Webhook-Id', msg_id,
		'Webhook-Timestamp', extract(epoch FROM now())::bigint::text,
		'Webhook-Signature', pg_wallet.webhook_signature(decode(substr(secret, 7), 'base64'),
			msg_id, extract(epoch FROM now())::bigint, body::text)))
$$;
CREATE FUNCTION cbal(acct text) RETURNS text LANGUAGE sql AS $$
	SELECT format('balance %s available %s', b.balance, b.available_balance)
	FROM pg_wallet.get_balance(acct) b
$$;

\setenv SIM_DB :DBNAME
\! python3 test/partner_sim.py start build/partner_sim_63
\set port `python3 test/partner_sim.py port build/partner_sim_63`
\set secret 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE='
\set forged 'whsec_Zm9yZ2VkIGZvcmdlZCBmb3JnZWQgZm9yZ2VkIQ=='

-- the card partner (service card, KES, first by priority), the parties: customer C, another
-- user D, merchant M (a KES collections account), an admin
SELECT id FROM pg_wallet.create_partner('Sim Cards', 'KE', 'card', 'generic_json',
	'http://127.0.0.1:' || :'port' || '/p/PTN-C63', ARRAY['KES'], 'https://bridge.example/cb',
	:'secret', partner_id => 'PTN-C63', priority => 0);
SELECT principal_id AS c, owner_id AS c_owner FROM pg_wallet.register_user('card-c@example.com',
	'Passw0rd-63', 'Cee', 'Card', '+254700006301') \gset
SELECT principal_id AS d, owner_id AS d_owner FROM pg_wallet.register_user('card-d@example.com',
	'Passw0rd-63', 'Dee', 'Card', '+254700006302') \gset
SELECT principal_id AS m, owner_id AS m_owner FROM pg_wallet.create_principal('merchant',
	'card-m@example.com', 'Passw0rd-63', 'Card', 'Merchant') \gset
SELECT principal_id AS adm FROM pg_wallet.create_principal('admin', 'card-admin@example.com',
	'Passw0rd-63') \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:c_owner, 'KES', 'WALLET', 'C63-C')
	UNION ALL SELECT pg_wallet.create_account(:m_owner, 'KES', 'AVAILABLE_COLLECTIONS', 'C63-M')
	UNION ALL SELECT pg_wallet.create_account(:m_owner, 'USD', 'AVAILABLE_COLLECTIONS',
		'C63-M-USD')) x;
SELECT settlement AS settle FROM (SELECT pg_wallet._settlement_account('PTN-C63', 'KES')
	AS settlement) x \gset
-- the saved cards: the last two digits choose the simulator's behaviour (00 success, 01
-- declined, 03 duplicate callbacks, 08 HTTP 400, 09 accepted and no callback)
\set year `date -u +%Y`
SELECT pg_wallet.payment_method_add_card(:c_owner, '4111000000000800', 'Cee Card', 12,
	:year + 3, '123') ->> 'paymentMethodId' AS card00 \gset
SELECT pg_wallet.payment_method_add_card(:c_owner, '4111000000000701', 'Cee Card', 12,
	:year + 3, '123') ->> 'paymentMethodId' AS card01 \gset
SELECT pg_wallet.payment_method_add_card(:c_owner, '4111000000000503', 'Cee Card', 12,
	:year + 3, '123') ->> 'paymentMethodId' AS card03 \gset
SELECT pg_wallet.payment_method_add_card(:c_owner, '4111000000000008', 'Cee Card', 12,
	:year + 3, '123') ->> 'paymentMethodId' AS card08 \gset
SELECT pg_wallet.payment_method_add_card(:c_owner, '4111000000000909', 'Cee Card', 12,
	:year + 3, '123') ->> 'paymentMethodId' AS card09 \gset
SELECT pg_wallet.payment_method_add_card(:d_owner, '4111000000000610', 'Dee Card', 12,
	:year + 3, '123') ->> 'paymentMethodId' AS card_d \gset
SELECT pg_wallet.payment_method_add_bank(:c_owner, 'KCB', '1234567890', 'Cee Card')
	->> 'paymentMethodId' AS bank_c \gset

-- refusals before anything is held or sent: another user's card, a made-up one, a removed
-- one, an expired one (404 WL080 for the first three alike, WL081), a bank account (WL089),
-- no partner in the currency (WL062), the argument checks of payment_create
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 10, 'KES', %L)$$,
	:'c', :'m', :'card_d'));
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 10, 'KES', %L)$$,
	:'c', :'m', 'card-001'));
SELECT pg_wallet.payment_method_add_card(:c_owner, '4111000000000511', 'Cee Card', 12,
	:year + 3, '123') ->> 'paymentMethodId' AS card_gone \gset
SELECT pg_wallet.payment_method_remove(:c_owner, :'card_gone') ->> 'paymentMethodId'
	= :'card_gone' AS removed;
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 10, 'KES', %L)$$,
	:'c', :'m', :'card_gone'));
SELECT pg_wallet.payment_method_add_card(:c_owner, '4111000000000305', 'Cee Card', 12,
	:year + 3, '123') ->> 'paymentMethodId' AS card_old \gset
-- a card that has expired since it was saved (no interface makes time pass: the row is aged)
UPDATE pg_wallet.payment_methods SET expiry_year = 2020
WHERE id = substr(:'card_old', 6)::uuid;
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 10, 'KES', %L)$$,
	:'c', :'m', :'card_old'));
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 10, 'KES', %L)$$,
	:'c', :'m', :'bank_c'));
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 10, 'USD', %L)$$,
	:'c', :'m', :'card00'));
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 0, 'KES', %L)$$,
	:'c', :'m', :'card00'));
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 10, 'KES', %L,
	expires_in_s => 0)$$, :'c', :'m', :'card00'));
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 10, 'KES', %L)$$,
	:'m', :'m', :'card00'));
SELECT count(*) AS payments FROM pg_wallet.payments WHERE customer_owner_id = :c_owner;

-- authorise: PROCESSING at once, the amount (and its fee) held on the customer's card
-- funding account, the request queued for the partner (never the card number)
SELECT pg_wallet.card_payment_create(:'c', :'m', 100, 'KES', :'card00', 'card-ref-1',
	'Order 63-1', '{"orderId": "order-63-1", "reference": "card-ref-1"}') AS p1 \gset
SELECT cm(:'p1');
SELECT :'p1'::jsonb ->> 'transactionId' AS t1 \gset
SELECT a.account_number AS fund, a.purpose, a.can_overdraw, a.is_system,
	a.owner_id = :c_owner AS customers
FROM pg_wallet.accounts a WHERE a.owner_id = :c_owner AND a.purpose = 'CARD_FUNDING' \gset
SELECT :'fund' = 'CARD-' || :c_owner || '-KES' AS fund_named, :'purpose', :'can_overdraw',
	:'is_system', :'customers';
SELECT h.status, h.amount, h.fee_minor, h.fee_type, h.expires_at > now() AS expires_later
FROM pg_wallet.holds h JOIN pg_wallet.payments p ON p.hold_id = h.id
WHERE p.transaction_ref = :'t1';
SELECT o.kind, o.url LIKE '%/p/PTN-C63/card-authorizations' AS url,
	cm((o.body - 'expires_at' - 'merchant_id' #- '{card,expiry_year}' #- '{card,token}')::text)
		AS body, o.body #>> '{card,token}' ~ '^[0-9a-f]{64}$' AS token_hex,
	o.body::text LIKE '%4111000000000800%' AS has_number
FROM pg_wallet.outbox o WHERE o.subject_ref = :'t1';
-- a retry under the same reference is the same payment; another request under it is refused
SELECT r ->> 'transactionId' = :'t1' AS same, r ->> 'replayed' AS replayed
FROM pg_wallet.card_payment_create(:'c', :'m', 100, 'KES', :'card00', 'card-ref-1',
	'Order 63-1', '{"orderId": "order-63-1", "reference": "card-ref-1"}') r;
SELECT cerr(format($$SELECT pg_wallet.card_payment_create(%L, %L, 101, 'KES', %L,
	'card-ref-1')$$, :'c', :'m', :'card00'));
SELECT cerr(format($$SELECT pg_wallet.payment_create(%L, %L, 100, 'KES', 'card-ref-1')$$,
	:'c', :'m'));

-- capture: the simulator accepts and calls back (card.completed, signed): SUCCESS; one
-- CARD_SETTLEMENT journal (settlement -> funding) and the hold's HOLD_CAPTURE (funding ->
-- merchant); the funding account is back to zero; transaction:completed to both parties
SELECT cstatus(:'t1');
SELECT j.journal_type, cm(j.metadata::text) AS metadata,
	cm((SELECT string_agg(a.account_number || ' ' || e.side || ' ' || e.amount, ', '
		ORDER BY e.side DESC, a.account_number)
	 FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	 WHERE e.journal_id = j.id)) AS entries
FROM pg_wallet.journals j
WHERE j.id IN (SELECT p.journal_id FROM pg_wallet.payments p WHERE p.transaction_ref = :'t1'
	UNION ALL SELECT cp.funding_journal_id FROM pg_wallet.card_payments cp
		JOIN pg_wallet.payments p ON p.id = cp.payment_id WHERE p.transaction_ref = :'t1')
ORDER BY j.id;
SELECT cbal(:'fund') AS fund, cbal('C63-M') AS merchant, cbal(:'settle') AS settlement;
SELECT cp.state, cp.partner_reference ~ '^SIM-' AS charge_id, p.fee_minor,
	cp.total_minor = p.amount_minor + p.fee_minor AS total_is_amount_and_fee
FROM pg_wallet.card_payments cp JOIN pg_wallet.payments p ON p.id = cp.payment_id
WHERE p.transaction_ref = :'t1';
SELECT events_settled();
SELECT owner_id = :c_owner AS to_customer, cm(payload::text) AS payload
FROM pg_wallet.events WHERE event_type = 'transaction:completed'
	AND payload ->> 'transactionId' = :'t1' ORDER BY id;
SELECT cm((pg_wallet.payment_get(:'t1', :'c') - 'createdAt' - 'completedAt' - 'fraudScore')::text)
	AS customer_view;
SELECT cm(pg_wallet.card_payment_details(:'t1', :'c')::text) AS card_details;
SELECT pg_wallet.card_payment_details(:'t1', :'m') -> 'paymentMethod' AS merchant_sees;
SELECT cerr(format($$SELECT pg_wallet.payment_get(%L, %L)$$, :'t1', :'d'));
SELECT cerr(format($$SELECT pg_wallet.card_payment_details(%L, %L)$$, :'t1', :'d'));
-- refunds go back to the card through the partner that charged it: PENDING at once (the
-- amount held on the merchant's account, counterpart the partner's settlement account, the
-- request queued), COMPLETED on the partner's card_refund.completed callback (the hold posted:
-- merchant -> settlement). The simulator's magic amounts: cents 01 fail, 08 refused, 09 no
-- callback; 00 follow the card (00: success)
CREATE FUNCTION rstatus(ref text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM cwait(format('(SELECT status FROM pg_wallet.refunds WHERE refund_ref = %L)
		<> %L', ref, 'PENDING'));
	RETURN (SELECT status || coalesce(' ' || error, '') FROM pg_wallet.refunds
	        WHERE refund_ref = ref);
END $$;
CREATE FUNCTION rm(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(cm(t), 'RFD-[0-9]{8}-[0-9]+', 'RFD-<ref>', 'g')
$$;
SELECT pg_wallet.payment_refund(:'t1', :'m', 30, 'partial_refund', 'Damaged item',
	'card-refund-1') AS rf1 \gset
SELECT rm((:'rf1'::jsonb - 'createdAt')::text);
SELECT :'rf1'::jsonb ->> 'refundId' AS r1 \gset
SELECT h.status, h.amount, h.fee_minor, a.account_number = 'C63-M' AS on_merchant,
	(SELECT b.account_number FROM pg_wallet.accounts b WHERE b.id = h.counterpart_account_id)
		= :'settle' AS to_settlement
FROM pg_wallet.card_refunds cr JOIN pg_wallet.holds h ON h.id = cr.hold_id
JOIN pg_wallet.accounts a ON a.id = h.account_id
JOIN pg_wallet.refunds r ON r.id = cr.refund_id WHERE r.refund_ref = :'r1';
SELECT o.kind, o.url LIKE '%/p/PTN-C63/card-refunds' AS url,
	rm((o.body #- '{card,token}')::text) AS body,
	o.body::text LIKE '%4111000000000800%' AS has_number
FROM pg_wallet.outbox o WHERE o.subject_ref = :'r1';
-- the same key again is the same refund; the pending 30 counts against what remains
SELECT r ->> 'refundId' = :'r1' AS same, r ->> 'replayed' AS replayed, r ->> 'remaining'
FROM pg_wallet.payment_refund(:'t1', :'m', 30, 'partial_refund', 'Damaged item',
	'card-refund-1') r;
SELECT rm(cerr(format($$SELECT pg_wallet.payment_refund(%L, %L, 80)$$, :'t1', :'m')));
SELECT rstatus(:'r1');
SELECT j.journal_type, cm((SELECT string_agg(a.account_number || ' ' || e.side || ' ' ||
		e.amount, ', ' ORDER BY e.side DESC, a.account_number)
	FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	WHERE e.journal_id = j.id)) AS entries, cr.state, cr.partner_reference ~ '^SIM-' AS ref
FROM pg_wallet.refunds r JOIN pg_wallet.journals j ON j.id = r.journal_id
JOIN pg_wallet.card_refunds cr ON cr.refund_id = r.id WHERE r.refund_ref = :'r1';
SELECT cbal('C63-M') AS merchant, cbal(:'settle') AS settlement;
SELECT rm((pg_wallet.payment_refunds(:'t1', :'c') #- '{refunds,0,createdAt}'
	#- '{refunds,0,completedAt}')::text) AS refunds;
SELECT pg_wallet.payment_get(:'t1', :'c') ->> 'refundedAmount' AS refunded;
-- the partner's callback again (same amount, another webhook-id): replayed; a failure now, a
-- wrong amount or currency, an unknown refund: refused, nothing changes
SELECT rm(card_callback(jsonb_build_object('type', 'card_refund.completed', 'reference', :'r1',
	'amount', '30.00', 'currency', 'KES'), :'secret')::text) AS again;
SELECT rm(cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card_refund.failed', 'reference', :'r1', 'amount', '30.00'), :'secret')));
SELECT rm(cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card_refund.completed', 'reference', :'r1', 'amount', '31.00'), :'secret')));
SELECT rm(cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card_refund.completed', 'reference', :'r1', 'amount', '30.00', 'currency', 'USD'),
	:'secret')));
SELECT rm(cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card_refund.completed', 'reference', 'RFD-20260101-999999', 'amount', '1.00'),
	:'secret')));
-- the partner fails (cents 01), refuses the request (08), or never confirms (09: the hold
-- expires): FAILED with the reason, the hold voided, the amount refundable again
SELECT pg_wallet.payment_refund(:'t1', :'m', 10.01) ->> 'refundId' AS r2 \gset
SELECT pg_wallet.payment_refund(:'t1', :'m', 10.08) ->> 'refundId' AS r3 \gset
SELECT pg_wallet.payment_refund(:'t1', :'m', 5.09) ->> 'refundId' AS r4 \gset
SELECT pg_wallet.payment_get(:'t1', :'m') ->> 'refundedAmount' AS refunded,
	(SELECT p.refunded_minor FROM pg_wallet.payments p WHERE p.transaction_ref = :'t1')
		AS reserved_minor;
SELECT rstatus(:'r2'), rstatus(:'r3');
SELECT cwait(format($$(SELECT cr.state FROM pg_wallet.card_refunds cr JOIN pg_wallet.refunds r
	ON r.id = cr.refund_id WHERE r.refund_ref = %L) = 'sent_to_partner'$$, :'r4')) AS sent;
UPDATE pg_wallet.holds SET expires_at = now() - interval '1 second'
WHERE id = (SELECT cr.hold_id FROM pg_wallet.card_refunds cr JOIN pg_wallet.refunds r
	ON r.id = cr.refund_id WHERE r.refund_ref = :'r4');
SELECT pg_wallet.expire_holds() >= 1 AS expired;
SELECT rstatus(:'r4');
SELECT r.refund_ref = :'r2' AS first, r.status, cr.state, h.status AS hold
FROM pg_wallet.refunds r JOIN pg_wallet.card_refunds cr ON cr.refund_id = r.id
JOIN pg_wallet.holds h ON h.id = cr.hold_id
WHERE r.refund_ref IN (:'r2', :'r3', :'r4') ORDER BY r.id;
SELECT rm(cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card_refund.completed', 'reference', :'r4', 'amount', '5.09'), :'secret')));
SELECT cbal('C63-M') AS merchant, cbal(:'settle') AS settlement,
	(SELECT p.refunded_minor FROM pg_wallet.payments p WHERE p.transaction_ref = :'t1')
		AS reserved_minor;
-- the customer cannot refund; a card partner that is not active cannot take a refund (WL096)
SELECT rm(cerr(format($$SELECT pg_wallet.payment_refund(%L, %L, 1)$$, :'t1', :'c')));
UPDATE pg_wallet.partners SET status = 'inactive' WHERE id = 'PTN-C63';
SELECT rm(cerr(format($$SELECT pg_wallet.payment_refund(%L, %L, 1)$$, :'t1', :'m')));
UPDATE pg_wallet.partners SET status = 'active' WHERE id = 'PTN-C63';

-- the partner declines (card.failed): the hold is voided, FAILED, nothing posted
SELECT pg_wallet.card_payment_create(:'c', :'m', 20, 'KES', :'card01') ->> 'transactionId'
	AS t2 \gset
SELECT cstatus(:'t2');
SELECT h.status AS hold, p.journal_id, cp.state, cbal(:'fund') AS fund
FROM pg_wallet.payments p JOIN pg_wallet.holds h ON h.id = p.hold_id
JOIN pg_wallet.card_payments cp ON cp.payment_id = p.id WHERE p.transaction_ref = :'t2';
SELECT count(*) AS events FROM pg_wallet.events
WHERE event_type = 'transaction:completed' AND payload ->> 'transactionId' = :'t2';
SELECT cm(pg_wallet.card_payment_details(:'t2', :'c') ->> 'processorResponse') AS response;

-- the partner refuses the request (HTTP 400): voided, FAILED
SELECT pg_wallet.card_payment_create(:'c', :'m', 21, 'KES', :'card08') ->> 'transactionId'
	AS t3 \gset
SELECT cstatus(:'t3');

-- the same callback three times (once under a new id): captured once
SELECT pg_wallet.card_payment_create(:'c', :'m', 22, 'KES', :'card03') ->> 'transactionId'
	AS t4 \gset
SELECT cstatus(:'t4');
\! python3 test/partner_sim.py wait build/partner_sim_63 callbacks 5 20
SELECT count(*) AS settlements FROM pg_wallet.journals
WHERE idempotency_key = 'card-settle:' || :'t4';

-- callbacks driven by hand (card 09: the partner accepts and stays silent)
SELECT pg_wallet.card_payment_create(:'c', :'m', 30, 'KES', :'card09') ->> 'transactionId'
	AS t5 \gset
SELECT cwait(format($$(SELECT cp.state FROM pg_wallet.card_payments cp
	JOIN pg_wallet.payments p ON p.id = cp.payment_id WHERE p.transaction_ref = %L)
	= 'sent_to_partner'$$, :'t5')) AS sent;
SELECT total_minor AS total5 FROM pg_wallet.card_payments cp JOIN pg_wallet.payments p
	ON p.id = cp.payment_id WHERE p.transaction_ref = :'t5' \gset
SELECT pg_wallet.amount_format(:total5, 'KES')::text AS amount5 \gset
-- a bad signature, a wrong amount, another currency, an unknown reference: refused
SELECT cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card.completed', 'reference', :'t5', 'amount', :'amount5', 'currency', 'KES'), :'forged'));
SELECT cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card.completed', 'reference', :'t5', 'amount', '1.00', 'currency', 'KES'), :'secret'));
SELECT cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card.completed', 'reference', :'t5', 'amount', :'amount5', 'currency', 'USD'), :'secret'));
SELECT cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card.completed', 'reference', 'TXN-19700101-000000', 'amount', :'amount5'), :'secret'));
SELECT status FROM pg_wallet.payments WHERE transaction_ref = :'t5';
-- the right one, then again (same id: the first result; a new id: the state's)
SELECT cm(card_callback(jsonb_build_object('type', 'card.completed', 'reference', :'t5',
	'amount', :'amount5', 'currency', 'KES', 'partner_reference', 'CH-63-5'), :'secret',
	'cb-63-5')::text);
SELECT cm(card_callback(jsonb_build_object('type', 'card.completed', 'reference', :'t5',
	'amount', :'amount5', 'currency', 'KES', 'partner_reference', 'CH-63-5'), :'secret',
	'cb-63-5')::text);
SELECT cm(card_callback(jsonb_build_object('type', 'card.completed', 'reference', :'t5',
	'amount', :'amount5', 'currency', 'KES', 'partner_reference', 'CH-63-5'), :'secret')::text);
-- a failure reported after the capture is a conflict
SELECT cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card.failed', 'reference', :'t5', 'amount', :'amount5', 'error', 'late'), :'secret'));
SELECT p.status, cp.partner_reference, count(j.id) AS settlements
FROM pg_wallet.payments p JOIN pg_wallet.card_payments cp ON cp.payment_id = p.id
LEFT JOIN pg_wallet.journals j ON j.idempotency_key = 'card-settle:' || p.transaction_ref
WHERE p.transaction_ref = :'t5' GROUP BY 1, 2;

-- expiry: an authorisation the partner never confirms expires with its hold (the holds
-- expiry worker's sweep): FAILED; a success reported later is a conflict
SELECT pg_wallet.card_payment_create(:'c', :'m', 40, 'KES', :'card09', expires_in_s => 1)
	->> 'transactionId' AS t6 \gset
SELECT cwait(format($$(SELECT cp.state FROM pg_wallet.card_payments cp
	JOIN pg_wallet.payments p ON p.id = cp.payment_id WHERE p.transaction_ref = %L)
	= 'sent_to_partner'$$, :'t6')) AS sent;
SELECT pg_sleep(1.2);
SELECT pg_wallet.expire_holds() >= 1 AS expired;
SELECT cstatus(:'t6');
SELECT cp.state, h.status AS hold, cbal(:'fund') AS fund
FROM pg_wallet.payments p JOIN pg_wallet.card_payments cp ON cp.payment_id = p.id
JOIN pg_wallet.holds h ON h.id = cp.hold_id WHERE p.transaction_ref = :'t6';
SELECT cerr(format($$SELECT card_callback(%L, %L)$$, jsonb_build_object('type',
	'card.completed', 'reference', :'t6', 'amount', '40.00'), :'secret'));

-- fraud scoring applies to the customer on the authorisation: a score that BLOCKs, and one
-- that would HOLD for review (a card authorisation cannot wait for a review: blocked too), are
-- kept FAILED WL047 with no hold and nothing sent; a retry gets the same refusal
CREATE TEMP TABLE saved_fraud AS SELECT * FROM pg_wallet.fraud_settings;
UPDATE pg_wallet.fraud_settings SET weight_amount = 0, weight_device = 0, weight_velocity = 0,
	weight_geo = 0, weight_ip = 100, weight_beneficiary = 0,
	weight_credential = 0, weight_round = 0;
INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
VALUES ('100.64.63.0/24', 95, 'card test block'), ('100.64.64.0/24', 75, 'card test hold');
CREATE FUNCTION card_from(ip text, amount numeric, ref text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_wallet.set_request_context(jsonb_build_object('ip', ip));
	RETURN pg_wallet.card_payment_create(current_setting('card.c')::uuid,
		current_setting('card.m'), amount, 'KES', current_setting('card.card'), ref);
END $$;
SET card.c = :'c';
SET card.m = :'m';
SET card.card = :'card00';
SELECT cm(card_from('100.64.63.9', 50, 'card-block')::text);
SELECT cm(card_from('100.64.63.9', 50, 'card-block')::text) AS retry;
SELECT cm(card_from('100.64.64.9', 50, 'card-hold')::text);
SELECT p.status, p.error_code, p.hold_id, cp.state, cp.hold_id AS card_hold,
	(SELECT count(*) FROM pg_wallet.outbox o WHERE o.subject_ref = p.transaction_ref) AS sent
FROM pg_wallet.payments p JOIN pg_wallet.card_payments cp ON cp.payment_id = p.id
WHERE p.reference IN ('card-block', 'card-hold') ORDER BY p.id;
-- every decision writes its score record: a refused authorisation's was rolled back with the
-- caught refusal, so it is recorded again (once: the retry replays), the payment names it,
-- its fraudScore and risk score show it, and its fraud:risk_alert names the payment
SELECT p.reference, s.score, s.risk_level, s.decision,
	s.request_ref = 'card-hold:' || p.transaction_ref AS keyed, s.journal_id, s.hold_id,
	pg_wallet.payment_get(p.transaction_ref, :'c') #>> '{fraudScore,decision}' AS shown,
	(SELECT count(*) FROM pg_wallet.fraud_scores x
	 WHERE x.request_ref = 'card-hold:' || p.transaction_ref) AS records
FROM pg_wallet.payments p JOIN pg_wallet.fraud_scores s ON s.id = p.fraud_score_id
WHERE p.reference IN ('card-block', 'card-hold') ORDER BY p.id;
SELECT p.reference, e.payload ->> 'riskLevel' AS level, e.payload ->> 'decision' AS decision,
	e.principal_id = :'c' AS to_customer
FROM pg_wallet.payments p JOIN pg_wallet.events e ON e.event_type = 'fraud:risk_alert'
	AND e.owner_id = p.customer_owner_id AND e.payload ->> 'transactionId' = p.transaction_ref
WHERE p.reference IN ('card-block', 'card-hold') ORDER BY p.id;
-- an allowed card payment carries its score (the hold's record: the customer's)
SELECT cm(card_from('100.64.65.9', 50, 'card-allow')::text) AS allowed;
UPDATE pg_wallet.fraud_settings f SET (weight_amount, weight_device, weight_velocity,
	weight_geo, weight_ip, weight_beneficiary, weight_credential, weight_round) =
	(s.weight_amount, s.weight_device, s.weight_velocity, s.weight_geo, s.weight_ip,
	 s.weight_beneficiary, s.weight_credential, s.weight_round) FROM saved_fraud s;
DELETE FROM pg_wallet.fraud_ip_reputation WHERE label LIKE 'card test %';
SELECT cstatus(p.transaction_ref) FROM pg_wallet.payments p WHERE p.reference = 'card-allow';

-- the cashier lists the customer's wallets, not the card funding account
SELECT access_token AS ctok FROM pg_wallet.login('card-c@example.com', 'Passw0rd-63',
	'cashier') \gset
SELECT x ->> 'account_number' AS cashier_accounts
FROM jsonb_array_elements(pg_wallet.api_cashier_message(:'ctok', jsonb_build_object('body',
	jsonb_build_object('type', 'get_accounts', 'data', '{}'::jsonb))) #> '{data,data,accounts}') x;

-- the list shows card payments like any other
SELECT status, count(*) FROM pg_wallet.payments
WHERE customer_owner_id = :c_owner AND payment_method = 'card' GROUP BY 1 ORDER BY 1;

-- subscriptions paid by card (payments/subscriptions.sql): each charge is a card payment,
-- PENDING until the partner answers; captured (card 00): SUCCEEDED, the schedule moves on;
-- declined (card 01): RETRYING on the dunning schedule (C's tier counts more payments a day)
UPDATE pg_wallet.principals SET kyc_tier = 3 WHERE owner_id = :c_owner;
SELECT pg_wallet.subscription_plan_create(:'m', NULL, 'Card box', 12, 'KES', 'daily')
	->> 'planId' AS card_plan \gset
SELECT pg_wallet.subscription_plan_create(:'m', NULL, 'Card box 2', 13, 'KES', 'daily')
	->> 'planId' AS card_plan2 \gset
SELECT pg_wallet.subscription_create(:'c', :'card_plan', :'card00') ->> 'subscriptionId'
	AS card_sub \gset
SELECT pg_wallet.subscription_create(:'c', :'card_plan2', :'card01') ->> 'subscriptionId'
	AS card_sub2 \gset
SELECT cerr(format($$SELECT pg_wallet.subscription_create(%L, %L, %L)$$, :'d', :'card_plan',
	:'card00')) AS not_his_card;
SELECT pg_wallet.subscriptions_bill_due(10) - 'today' AS billed;
SELECT cwait(format($$NOT EXISTS (SELECT 1 FROM pg_wallet.subscription_charges x
	JOIN pg_wallet.subscriptions s ON s.id = x.subscription_id
	WHERE s.subscription_ref IN (%L, %L) AND x.status = 'PENDING')$$, :'card_sub',
	:'card_sub2')) AS answered;
SELECT s.subscription_ref = :'card_sub' AS captured_one, x.status, x.attempt_count,
	x.next_attempt_date - x.scheduled_date AS retry_in, x.error, s.status AS subscription,
	s.charge_count, s.next_charge_date - x.scheduled_date AS next_in
FROM pg_wallet.subscription_charges x JOIN pg_wallet.subscriptions s
	ON s.id = x.subscription_id
WHERE s.subscription_ref IN (:'card_sub', :'card_sub2') ORDER BY s.id;
SELECT pg_wallet.subscription_cancel(:'c', :'card_sub') ->> 'status' AS first,
	pg_wallet.subscription_cancel(:'c', :'card_sub2') ->> 'status' AS second;

-- what the simulator saw and did (never a card number: it refuses one)
\! python3 test/partner_sim.py wait build/partner_sim_63 callbacks 8 20
\! python3 test/partner_sim.py requests build/partner_sim_63 | grep 'PTN-C63'
\! python3 test/partner_sim.py callbacks build/partner_sim_63 | grep 'PTN-C63'
\! python3 test/partner_sim.py stop build/partner_sim_63

-- a disputed card payment charged back (payments/disputes.sql): the merchant is debited and
-- the card partner's settlement account credited (the card network takes the money back from
-- the acquirer); the funding account is not touched, no request goes to the partner
SELECT cbal('C63-M') AS merchant_before, cbal(:'settle') AS settlement_before,
	(SELECT count(*) FROM pg_wallet.outbox o WHERE o.partner_id = 'PTN-C63') AS sent_before;
SELECT pg_wallet.dispute_open(:'t5', :'c', 'unauthorized') ->> 'disputeId' AS d5 \gset
SELECT pg_wallet.dispute_resolve(:'d5', :'adm', 'APPROVED') ->> 'refundAmount' AS charged_back;
SELECT cbal('C63-M') AS merchant_after, cbal(:'settle') AS settlement_after, cbal(:'fund') AS fund,
	(SELECT count(*) FROM pg_wallet.outbox o WHERE o.partner_id = 'PTN-C63') AS sent_after;
SELECT pg_wallet.payment_get(:'t5', :'c') ->> 'refundedAmount' AS refunded;

-- the ledger: verified, every currency sums to zero, the funding account is empty
SELECT cbal(:'fund') AS fund;
SELECT count(*) AS violations FROM pg_wallet.verify_ledger();
SELECT a.currency, sum((pg_wallet.get_balance(a.account_number)).balance) AS total
FROM pg_wallet.accounts a GROUP BY a.currency HAVING sum((pg_wallet.get_balance(
	a.account_number)).balance) <> 0;
