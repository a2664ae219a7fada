-- Refunds of card payments (issue 13): the functions over card_refunds (payments/
-- cards_tables.sql). The money goes back to the card through the partner that charged it,
-- so a card refund is not posted at once as a wallet payment's is (payments.sql,
-- payment_refund, which calls _card_refund_start after its common checks):
--
--   request   the amount is held on the merchant's account (no fee), counterpart the
--             partner's settlement account; the payment's refunded total counts it at once
--             (the payment's row is locked, so refunds never exceed the payment, pending
--             ones included); the request to the partner (POST {base_url}/card-refunds) is
--             queued in the outbox in the same transaction. The refund is PENDING.
--   complete  the partner's signed card_refund.completed callback (or a "completed" answer)
--             posts the hold: merchant -> settlement, the money the partner owes us for the
--             card it charged is what it now pays back to the card. COMPLETED.
--   fail      card_refund.failed, a refusal, or the hold's expiry voids the hold; the
--             refunded total gives the amount back. FAILED, with the partner's reason.
-- The trigger holds_card_refund (payments/cards_triggers.sql) moves the refund when its hold
-- ends, whoever ends it.
--
-- Must never: send a card number (the partner gets the card's token and last 4 digits);
-- move money other than through the ledger core.

-- How long a card refund may wait for its partner before its hold expires (the refund then
-- FAILS and may be asked again): refunds "take 24-48 hours" in the spec; a week of margin.
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_ttl()
RETURNS interval
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT interval '7 days' $$;
COMMENT ON FUNCTION pg_wallet._card_refund_ttl() IS
	'Internal: how long a card refund''s hold waits for the partner (7 days).';

-- The request to the card partner: POST {base_url}/card-refunds, naming the charge (the
-- payment's transactionId and the partner's charge id) and the card by its token.
CREATE OR REPLACE FUNCTION pg_wallet._adapter_card_refund_request(ptn pg_wallet.partners,
	p pg_wallet.payments, cp pg_wallet.card_payments, r pg_wallet.refunds)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	card pg_wallet.payment_methods;
BEGIN
	SELECT * INTO STRICT card FROM pg_wallet.payment_methods m WHERE m.id = cp.payment_method_id;
	RETURN jsonb_build_object('url', ptn.base_url || '/card-refunds',
		'body', jsonb_strip_nulls(jsonb_build_object(
			'type', 'card_refund.request',
			'reference', r.refund_ref,
			'payment_reference', p.transaction_ref,
			'charge_reference', cp.partner_reference,
			'amount', pg_wallet.amount_format(r.amount_minor, r.currency)::text,
			'currency', r.currency,
			'card', jsonb_build_object('token', encode(card.card_token, 'hex'),
				'last4', card.last4, 'brand', card.brand),
			'reason', r.reason,
			'callback_url', pg_wallet._partner_callback_url(ptn))));
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_card_refund_request(pg_wallet.partners,
	pg_wallet.payments, pg_wallet.card_payments, pg_wallet.refunds) IS
	'Internal: the URL and body of a card refund request (generic_json): reference (the '
	'refundId), payment_reference, charge_reference (the partner''s charge id), amount, '
	'currency, card {token, last4, brand}, reason, callback_url. Never the card number.';

-- payment_refund's card branch, once the PENDING refund is recorded (the payment locked, every
-- common check passed): the amount held on the merchant's account, the card side, the request
-- to the partner that charged the card.
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_start(p pg_wallet.payments,
	r pg_wallet.refunds)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cp pg_wallet.card_payments;
	ptn pg_wallet.partners;
	h pg_wallet.hold_info;
	req jsonb;
BEGIN
	SELECT * INTO STRICT cp FROM pg_wallet.card_payments x WHERE x.payment_id = p.id;
	ptn := pg_wallet._partner_row(cp.partner_id);
	IF ptn.status <> 'active' THEN
		RAISE EXCEPTION 'card payment % cannot be refunded now: its card partner is %',
			p.transaction_ref, ptn.status USING ERRCODE = 'WL096',
			HINT = 'The refund must go back to the card through the partner that charged it.';
	END IF;
	h := pg_wallet.place_hold(
		(SELECT a.account_number FROM pg_wallet.accounts a WHERE a.id = p.merchant_account_id),
		pg_wallet.amount_format(r.amount_minor, p.currency),
		pg_wallet._settlement_account(cp.partner_id, p.currency),
		'card-refund-hold:' || r.refund_ref, now() + pg_wallet._card_refund_ttl(),
		left('Refund ' || r.refund_ref || ' of ' || p.transaction_ref || ' to the card', 500));
	INSERT INTO pg_wallet.card_refunds (refund_id, payment_id, partner_id, hold_id, expires_at)
	VALUES (r.id, p.id, cp.partner_id, h.hold_id, now() + pg_wallet._card_refund_ttl());
	req := pg_wallet._adapter_card_refund_request(ptn, p, cp, r);
	PERFORM pg_wallet._outbox_enqueue(ptn.id, 'card_refund', r.refund_ref, req ->> 'url',
		req -> 'body');
END
$$;
COMMENT ON FUNCTION pg_wallet._card_refund_start(pg_wallet.payments, pg_wallet.refunds) IS
	'Internal: start a recorded PENDING card refund (the payment locked, the checks done): a '
	'hold of the amount on the merchant''s account (WL001 when it cannot be held), the card '
	'side, the request to the partner that charged the card (WL096 when that partner is not '
	'active).';

-- A card refund the partner was sent, its payment and its card side, locked in the order
-- payment_refund takes them (the payment's row first), or WL063 for the partner.
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_lock(ref text, partner_id text,
	OUT r pg_wallet.refunds, OUT cr pg_wallet.card_refunds)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM 1 FROM pg_wallet.payments p
	WHERE p.id = (SELECT x.payment_id FROM pg_wallet.refunds x WHERE x.refund_ref = ref)
	FOR UPDATE;
	SELECT * INTO r FROM pg_wallet.refunds x WHERE x.refund_ref = ref FOR UPDATE;
	IF r.id IS NOT NULL THEN
		SELECT * INTO cr FROM pg_wallet.card_refunds x WHERE x.refund_id = r.id FOR UPDATE;
	END IF;
	IF cr.refund_id IS NULL OR cr.partner_id IS DISTINCT FROM _card_refund_lock.partner_id THEN
		RAISE EXCEPTION 'unknown reference: partner % has no card refund %', partner_id,
			left(ref, 64) USING ERRCODE = 'WL063';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_refund_lock(text, text) IS
	'Internal: a card refund and its card row, locked after its payment''s row; WL063 for a '
	'reference the partner was never sent.';

-- The partner returned the money to the card: the hold is posted (the trigger completes the
-- refund).
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_complete(ref text, partner_id text,
	partner_reference text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l record := pg_wallet._card_refund_lock(ref, partner_id);
	r pg_wallet.refunds := l.r;
	cr pg_wallet.card_refunds := l.cr;
BEGIN
	IF r.status = 'COMPLETED' THEN
		RETURN jsonb_build_object('refundId', r.refund_ref, 'status', r.status, 'replayed', true);
	END IF;
	IF r.status = 'FAILED' OR (SELECT h.expires_at <= now() FROM pg_wallet.holds h
	                           WHERE h.id = cr.hold_id) THEN
		RAISE EXCEPTION 'card refund % already failed or expired; the partner now reports success',
			r.refund_ref USING ERRCODE = 'WL064',
			HINT = 'The refund''s hold was voided or expired: reconcile with the partner.';
	END IF;
	UPDATE pg_wallet.card_refunds x
	SET partner_reference = coalesce(left(_card_refund_complete.partner_reference, 128),
		x.partner_reference)
	WHERE x.refund_id = r.id;
	PERFORM pg_wallet.post_hold(cr.hold_id, NULL, 'card-refund:' || ref,
		left('Refund ' || ref || ' to the card', 500));
	RETURN jsonb_build_object('refundId', r.refund_ref, 'status', 'COMPLETED', 'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._card_refund_complete(text, text, text) IS
	'Internal: the card partner refunded the card: the refund''s hold is posted (merchant -> '
	'the partner''s settlement account; COMPLETED); again: replayed; WL064 when it already '
	'failed or expired.';

-- The partner could not refund the card: the hold is voided (the trigger fails the refund).
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_fail(ref text, partner_id text, error text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l record := pg_wallet._card_refund_lock(ref, partner_id);
	r pg_wallet.refunds := l.r;
BEGIN
	IF r.status = 'FAILED' THEN
		RETURN jsonb_build_object('refundId', r.refund_ref, 'status', r.status, 'replayed', true);
	END IF;
	IF r.status = 'COMPLETED' THEN
		RAISE EXCEPTION 'card refund % is already completed; the partner now reports a failure',
			r.refund_ref USING ERRCODE = 'WL064', HINT = 'Reconcile with the partner.';
	END IF;
	UPDATE pg_wallet.refunds x SET error = left(coalesce(_card_refund_fail.error, 'failed'), 500)
	WHERE x.id = r.id;
	PERFORM pg_wallet.void_hold((l.cr).hold_id,
		left('card refund failed: ' || coalesce(error, 'failed'), 500));
	RETURN jsonb_build_object('refundId', r.refund_ref, 'status', 'FAILED', 'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._card_refund_fail(text, text, text) IS
	'Internal: the card partner could not refund the card: the refund''s hold is voided '
	'(FAILED, the amount refundable again); again: replayed; WL064 when it already completed.';

-- Whether a card refund still waits for its partner (partner_subject_kinds open_function of
-- kind card_refund: the outbox drops a request whose refund ended).
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_open(subject_ref text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM pg_wallet.refunds r
		WHERE r.refund_ref = subject_ref AND r.status = 'PENDING')
$$;
COMMENT ON FUNCTION pg_wallet._card_refund_open(text) IS
	'Internal (partner_subject_kinds, kind card_refund): whether the refund a request is '
	'about is still PENDING.';

-- The outbox worker's answer to the refund request (adapters.sql's _adapter_on_answer).
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_answered(ref text, partner_id text,
	state text, partner_reference text, error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l record := pg_wallet._card_refund_lock(ref, partner_id);
BEGIN
	UPDATE pg_wallet.card_refunds x
	SET partner_reference = coalesce(x.partner_reference,
			left(_card_refund_answered.partner_reference, 128)),
		state = CASE WHEN x.state = 'pending' AND _card_refund_answered.state <> 'failed'
		             THEN 'sent_to_partner' ELSE x.state END,
		sent_at = coalesce(x.sent_at, now())
	WHERE x.refund_id = (l.r).id;
	IF (l.r).status <> 'PENDING' THEN
		RETURN;
	END IF;
	IF state = 'completed' THEN
		PERFORM pg_wallet._card_refund_complete(ref, partner_id, partner_reference);
	ELSIF state = 'failed' THEN
		PERFORM pg_wallet._card_refund_fail(ref, partner_id, error);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_refund_answered(text, text, text, text, text) IS
	'Internal: the partner answered a card refund request: accepted (sent_to_partner, its '
	'refund id kept), completed at once or refused (FAILED).';

-- A generic_json partner's card_refund.completed / card_refund.failed callback (callbacks.sql's
-- partner_callback hands it over): the amount reported must be the refund's.
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_callback(ptn pg_wallet.partners, j jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref text := j ->> 'reference';
	l record := pg_wallet._card_refund_lock(ref, ptn.id);
BEGIN
	PERFORM pg_wallet._callback_money_check(j, (l.r).amount_minor, (l.r).currency,
		'card refund', ref);
	IF j ->> 'type' = 'card_refund.completed' THEN
		RETURN pg_wallet._card_refund_complete(ref, ptn.id, j ->> 'partner_reference');
	END IF;
	RETURN pg_wallet._card_refund_fail(ref, ptn.id,
		left(coalesce(j ->> 'error', 'Refund failed'), 200));
END
$$;
COMMENT ON FUNCTION pg_wallet._card_refund_callback(pg_wallet.partners, jsonb) IS
	'Internal: a verified card_refund.completed / card_refund.failed callback: WL063 unknown '
	'reference, WL072 another currency or amount than the refund''s; completes or fails it.';

-- The trigger holds_card_refund (payments/cards_triggers.sql): a card refund's hold ended.
-- Posted: COMPLETED (its HOLD_CAPTURE journal); voided or expired: FAILED, the amount
-- refundable again, and a request not yet sent is not sent any more.
CREATE OR REPLACE FUNCTION pg_wallet._card_refund_hold_ended()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cr pg_wallet.card_refunds;
	r pg_wallet.refunds;
BEGIN
	SELECT * INTO cr FROM pg_wallet.card_refunds x WHERE x.hold_id = NEW.id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM 1 FROM pg_wallet.payments p WHERE p.id = cr.payment_id FOR UPDATE;
	SELECT * INTO r FROM pg_wallet.refunds x WHERE x.id = cr.refund_id FOR UPDATE;
	IF r.status <> 'PENDING' THEN
		RETURN NULL;
	END IF;
	IF NEW.status = 'POSTED' THEN
		UPDATE pg_wallet.refunds x
		SET status = 'COMPLETED', journal_id = NEW.journal_id, completed_at = now()
		WHERE x.id = r.id;
		UPDATE pg_wallet.card_refunds x SET state = 'completed', closed_at = now()
		WHERE x.refund_id = r.id;
		RETURN NULL;
	END IF;
	UPDATE pg_wallet.refunds x
	SET status = 'FAILED', error = coalesce(x.error, CASE NEW.status
		WHEN 'EXPIRED' THEN 'the card partner did not confirm the refund in time'
		ELSE left(NEW.closed_reason, 500) END)
	WHERE x.id = r.id;
	UPDATE pg_wallet.card_refunds x
	SET state = CASE NEW.status WHEN 'EXPIRED' THEN 'expired' ELSE 'failed' END,
		closed_at = now()
	WHERE x.refund_id = r.id;
	UPDATE pg_wallet.payments x SET refunded_minor = x.refunded_minor - r.amount_minor
	WHERE x.id = cr.payment_id;
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', updated_at = now()
	WHERE o.subject_ref = r.refund_ref AND o.kind = 'card_refund'
		AND o.status IN ('PENDING', 'DEAD');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_refund_hold_ended() IS
	'Internal, trigger holds_card_refund: a card refund is COMPLETED when its hold is posted '
	'and FAILED (the amount refundable again) when it is voided or expires; its unsent '
	'request is cancelled.';
