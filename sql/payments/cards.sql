-- Card payments (issue 13): the functions over payments/cards_tables.sql. The money model is
-- written out in docs/card-payments.md; in short:
--
--   authorise  a hold on the customer's CARD_FUNDING account (can overdraw, balance 0) for the
--              amount, counterpart the merchant's account, fee type TRANSFER: the posting core
--              scores the customer (fraud) and counts the customer's KYC limits on it, as for
--              any hold; the request to the card partner (generic_json adapter) is queued in
--              the outbox in the same transaction. The payment is PROCESSING.
--   capture    the partner's signed success callback (or a "completed" answer): one
--              CARD_SETTLEMENT journal (the partner's settlement account debited, the funding
--              account credited, amount + fee), then the hold posted (HOLD_CAPTURE: funding
--              account -> merchant, the fee to fee income). Net: settlement -> merchant + fee;
--              the funding account is back to zero. SUCCESS, transaction:completed.
--   void       the partner's failure callback or refusal voids the hold, the holds expiry
--              expires it: nothing was posted. FAILED (WL094).
-- The trigger holds_card_payment (payments/cards_triggers.sql) moves the payment when its hold
-- ends, whoever ends it, as holds_review_payment does for payments held for fraud review.
--
-- Must never: store, send or log a card number (the partner gets the card's token, last 4
-- digits, brand and expiry); move money other than through the ledger core; capture a hold
-- without its settlement journal.

-- The customer's card funding account in a currency: one per owner and currency, made on
-- first use (the owner's row locked, so two first payments make one).
CREATE OR REPLACE FUNCTION pg_wallet._card_funding_account(owner_id bigint, currency text)
RETURNS pg_wallet.accounts
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.accounts;
	number text := format('CARD-%s-%s', owner_id, currency);
BEGIN
	FOR i IN 1..2 LOOP
		SELECT * INTO a FROM pg_wallet.accounts x
		WHERE x.owner_id = _card_funding_account.owner_id
			AND x.currency = _card_funding_account.currency
			AND x.purpose = 'CARD_FUNDING' AND NOT x.is_system
		ORDER BY x.id LIMIT 1;
		IF a.id IS NOT NULL THEN
			RETURN a;
		END IF;
		IF i = 1 THEN
			PERFORM 1 FROM pg_wallet.owners o WHERE o.id = _card_funding_account.owner_id
			FOR NO KEY UPDATE;
		END IF;
	END LOOP;
	PERFORM pg_wallet.create_account(owner_id, currency, 'CARD_FUNDING', number, 0, true,
		'DIRECT', 'Card payments');
	SELECT * INTO STRICT a FROM pg_wallet.accounts x WHERE x.account_number = number;
	RETURN a;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_funding_account(bigint, text) IS
	'Internal: the owner''s CARD_FUNDING account in the currency (CARD-<owner>-<currency>, '
	'can overdraw, the owner''s own: scored and KYC-limited), made on first use.';

-- The request to the card partner (generic_json): POST {base_url}/card-authorizations. The
-- card is named by its token (HMAC of the number under payment_card_keys), last 4 digits,
-- brand and expiry: never its number (a real processor keeps its own vault; docs/
-- card-payments.md). amount is what the card is charged: the payment and its fee.
CREATE OR REPLACE FUNCTION pg_wallet._adapter_card_request(ptn pg_wallet.partners,
	p pg_wallet.payments, cp pg_wallet.card_payments, card pg_wallet.payment_methods)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF ptn.adapter <> 'generic_json' THEN
		RAISE EXCEPTION 'partner % speaks %: card payments need a generic_json partner',
			ptn.id, ptn.adapter USING ERRCODE = 'WL061';
	END IF;
	RETURN jsonb_build_object('url', ptn.base_url || '/card-authorizations',
		'body', jsonb_strip_nulls(jsonb_build_object(
			'type', 'card.authorize',
			'reference', p.transaction_ref,
			'amount', pg_wallet.amount_format(cp.total_minor, p.currency)::text,
			'currency', p.currency,
			'card', jsonb_build_object('token', encode(card.card_token, 'hex'),
				'last4', card.last4, 'brand', card.brand,
				'expiry_month', card.expiry_month, 'expiry_year', card.expiry_year),
			'merchant_id', p.merchant_principal_id,
			'description', p.description,
			'callback_url', pg_wallet._partner_callback_url(ptn),
			'expires_at', pg_wallet._ts_iso(cp.expires_at))));
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_card_request(pg_wallet.partners, pg_wallet.payments,
	pg_wallet.card_payments, pg_wallet.payment_methods) IS
	'Internal: the URL and body of a card authorisation request (generic_json only: WL061): '
	'reference, amount charged (payment + fee), currency, card {token, last4, brand, '
	'expiry_month, expiry_year}, merchant_id, description, callback_url, expires_at. Never '
	'the card number.';

-- card_payment_create's checks that need no row (payment_create's and the expiry).
CREATE OR REPLACE FUNCTION pg_wallet._card_payment_check_args(amount numeric, currency text,
	reference text, description text, metadata jsonb, expires_in_s integer)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet._payment_check_args(amount, currency, reference, description, metadata);
	IF expires_in_s IS NULL OR expires_in_s NOT BETWEEN 1 AND 604800 THEN
		RAISE EXCEPTION 'expires_in_s must be between 1 and 604800'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_payment_check_args(numeric, text, text, text, jsonb,
	integer) IS
	'Internal: card_payment_create''s argument checks (payment_create''s, and the '
	'authorisation''s lifetime 1 s to 7 days).';

-- The authorisation hold, in a subtransaction: its refusals that a card payment records as
-- FAILED (fraud BLOCK / HOLD WL047, REQUIRE_VERIFICATION WL048, KYC limit WL044, funding
-- account not ACTIVE WL002) come back as (err_code, err_message); anything else is raised.
CREATE OR REPLACE FUNCTION pg_wallet._card_hold_place(fund pg_wallet.accounts,
	dst pg_wallet.accounts, amount_minor bigint, ref text, expires_at timestamptz,
	description text, OUT h pg_wallet.hold_info, OUT err_code text, OUT err_message text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	h := pg_wallet.place_hold(fund.account_number,
		pg_wallet.amount_format(amount_minor, fund.currency), dst.account_number,
		'card-hold:' || ref, expires_at, description, 'TRANSFER');
EXCEPTION WHEN SQLSTATE 'WL047' OR SQLSTATE 'WL048' OR SQLSTATE 'WL044'
	OR SQLSTATE 'WL002' THEN
	GET STACKED DIAGNOSTICS err_code = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
	h := NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_hold_place(pg_wallet.accounts, pg_wallet.accounts, bigint,
	text, timestamptz, text) IS
	'Internal: place a card authorisation hold (fee type TRANSFER: fee, KYC limits, fraud '
	'scoring); a fraud, limit or account-status refusal is returned, not raised.';

-- The fraud score the posting core recorded for the authorisation hold names neither the hold
-- nor its key (a hold placement is scored before its row exists): link it to the hold, so
-- that the payment's fraudScore is found as a review hold's is (_payment_json reads
-- fraud_scores by hold_id, indexed). It is the newest record of the funding account that
-- names no journal and no hold, written in this transaction (created_at >= now() keeps the
-- look-up to the newest block ranges of the BRIN index); a concurrent placement on the same
-- account links its own before it commits.
CREATE OR REPLACE FUNCTION pg_wallet._card_hold_score_link(hold_id bigint, owner_id bigint,
	account_number text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE pg_wallet.fraud_scores f SET hold_id = _card_hold_score_link.hold_id
	WHERE f.id = (SELECT x.id FROM pg_wallet.fraud_scores x
		WHERE x.created_at >= now() AND x.owner_id = _card_hold_score_link.owner_id
			AND x.account_number = _card_hold_score_link.account_number
			AND x.hold_id IS NULL AND x.journal_id IS NULL
		ORDER BY x.id DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION pg_wallet._card_hold_score_link(bigint, bigint, text) IS
	'Internal: link the fraud score of a card authorisation hold, recorded in this '
	'transaction for the owner''s funding account, to the hold.';

-- A card payment as POST /transactions answers it (payment_create's shape).
CREATE OR REPLACE FUNCTION pg_wallet._card_payment_answer(p pg_wallet.payments,
	replayed boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._payment_answer(p, replayed) || jsonb_build_object('processorChargeId',
		(SELECT cp.partner_reference FROM pg_wallet.card_payments cp WHERE cp.payment_id = p.id));
END
$$;
COMMENT ON FUNCTION pg_wallet._card_payment_answer(pg_wallet.payments, boolean) IS
	'Internal: a card payment as card_payment_create returns it: payment_create''s shape and '
	'processorChargeId (the partner''s charge id, once known).';

CREATE OR REPLACE FUNCTION pg_wallet.card_payment_create(
	customer_id uuid,
	merchant_id text,
	amount numeric,
	currency text,
	payment_method_id text,
	reference text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	expires_in_s integer DEFAULT 900)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_wallet.principals;
	m pg_wallet.principals;
	card pg_wallet.payment_methods;
	dst pg_wallet.accounts;
	fund pg_wallet.accounts;
	ptn pg_wallet.partners;
	v_amount bigint;
	hash bytea;
	earlier bigint;
	new_id bigint;
	ref text;
	auth record;
	p pg_wallet.payments;
	cp pg_wallet.card_payments;
	req jsonb;
	score_id bigint;
BEGIN
	PERFORM pg_wallet._card_payment_check_args(amount, currency, reference, description,
		metadata, expires_in_s);
	v_amount := pg_wallet.amount_parse(amount, currency);
	c := pg_wallet._payment_customer(customer_id);
	-- the one rule of a chargeable method: the owner's, active, not expired (WL080, WL081)
	PERFORM pg_wallet.payment_method_check(c.owner_id, payment_method_id);
	card := pg_wallet._payment_method_row(c.owner_id, payment_method_id);
	IF card.kind <> 'card' THEN
		RAISE EXCEPTION 'a bank account cannot pay a merchant: pay from a wallet or a card'
			USING ERRCODE = 'WL089', COLUMN = 'paymentMethodId';
	END IF;
	m := pg_wallet._payment_merchant(merchant_id);
	dst := pg_wallet._payment_merchant_account(m.owner_id, currency);
	hash := sha256(convert_to(concat_ws('|', 'card-payment', card.id, m.id, v_amount, currency,
		description, metadata::text), 'UTF8'));
	-- the same claim as wallet payments (kind payment): one reference, one payment
	earlier := pg_wallet._idempotency_find(c.owner_id, reference, 'payment', hash);
	IF earlier IS NOT NULL THEN
		SELECT * INTO STRICT p FROM pg_wallet.payments x WHERE x.id = earlier;
		RETURN pg_wallet._card_payment_answer(p, true);
	END IF;
	ptn := pg_wallet._select_partner(NULL, 'card', currency, false);
	fund := pg_wallet._card_funding_account(c.owner_id, currency);
	SELECT x.id, x.ref INTO new_id, ref FROM pg_wallet._payment_new_ref() x;
	auth := pg_wallet._card_hold_place(fund, dst, v_amount, ref,
		now() + make_interval(secs => expires_in_s),
		left(coalesce(description, 'Card payment ' || ref), 500));
	IF auth.err_code IS NULL THEN
		PERFORM pg_wallet._card_hold_score_link((auth.h).hold_id, c.owner_id,
			fund.account_number);
	ELSIF auth.err_code IN ('WL047', 'WL048') THEN
		-- refused by fraud: the caught refusal took the score record with it; record it again
		score_id := pg_wallet._fraud_score_record(fund.account_number,
			pg_wallet.amount_format(v_amount, currency), dst.account_number, 'card-hold:' || ref,
			ref);
	END IF;
	INSERT INTO pg_wallet.payments (id, transaction_ref, customer_owner_id,
		customer_principal_id, merchant_owner_id, merchant_principal_id, account_id,
		merchant_account_id, amount_minor, currency, fee_minor, status, payment_method,
		description, metadata, reference, request_hash, hold_id, fraud_score_id, error_code,
		error_message)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, ref, c.owner_id, c.id, m.owner_id, m.id, fund.id, dst.id, v_amount,
		currency, coalesce(pg_wallet.amount_parse((auth.h).fee, currency), 0),
		CASE WHEN auth.err_code IS NULL THEN 'PROCESSING' ELSE 'FAILED' END, 'card',
		description, coalesce(metadata, '{}'), reference, hash, (auth.h).hold_id, score_id,
		auth.err_code, left(auth.err_message, 500))
	RETURNING * INTO p;
	INSERT INTO pg_wallet.card_payments (payment_id, payment_method_id, partner_id,
		funding_account_id, hold_id, total_minor, state, expires_at, closed_at, error)
	VALUES (p.id, card.id, ptn.id, fund.id, (auth.h).hold_id, v_amount + p.fee_minor,
		CASE WHEN auth.err_code IS NULL THEN 'pending' ELSE 'refused' END,
		now() + make_interval(secs => expires_in_s),
		CASE WHEN auth.err_code IS NOT NULL THEN now() END, left(auth.err_message, 500))
	RETURNING * INTO cp;
	PERFORM pg_wallet._idempotency_record(c.owner_id, reference, 'payment', hash, p.id);
	IF p.status = 'PROCESSING' THEN
		req := pg_wallet._adapter_card_request(ptn, p, cp, card);
		PERFORM pg_wallet._outbox_enqueue(ptn.id, 'card_auth', ref, req ->> 'url',
			req -> 'body');
	END IF;
	RETURN pg_wallet._card_payment_answer(p, false);
END
$$;
COMMENT ON FUNCTION pg_wallet.card_payment_create(uuid, text, numeric, text, text, text, text,
	jsonb, integer) IS
	'Tribble POST /transactions with a card: the customer (a user: WL031) pays the merchant '
	'(WL085, WL086, WL087) with one of its saved cards (payment_method_check: WL080 unknown, '
	'removed or another''s, WL081 expired; WL089 a bank account) through the first active '
	'partner of service card in the currency (WL062). Places the authorisation hold on the '
	'customer''s card funding account (fee type TRANSFER: fee, KYC limits, fraud scoring) and '
	'queues the request to the partner: status PROCESSING until the partner''s callback '
	'(SUCCESS, FAILED WL094) or expires_in_s (default 900: FAILED WL094). A fraud BLOCK or '
	'HOLD (WL047), REQUIRE_VERIFICATION (WL048), KYC limit (WL044) or a funding account not '
	'ACTIVE (WL002) is kept FAILED with "error" {code, message}. Idempotent on reference per '
	'customer (kind payment, shared with wallet payments; WL003). Returns payment_create''s '
	'shape and processorChargeId.';

-- A card payment and its card side by the payment's transactionId, both rows locked (the
-- payment's first, as the trigger and payment_refund take it), or WL063 for the partner.
CREATE OR REPLACE FUNCTION pg_wallet._card_payment_lock(ref text, partner_id text,
	OUT p pg_wallet.payments, OUT cp pg_wallet.card_payments)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	SELECT * INTO p FROM pg_wallet.payments x
	WHERE x.transaction_ref = ref AND x.payment_method = 'card' FOR UPDATE;
	IF p.id IS NOT NULL THEN
		SELECT * INTO cp FROM pg_wallet.card_payments x WHERE x.payment_id = p.id FOR UPDATE;
	END IF;
	IF cp.payment_id IS NULL OR cp.partner_id IS DISTINCT FROM _card_payment_lock.partner_id
		OR cp.hold_id IS NULL THEN
		RAISE EXCEPTION 'unknown reference: partner % has no card payment %', partner_id,
			left(ref, 64) USING ERRCODE = 'WL063';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_payment_lock(text, text) IS
	'Internal: a card payment sent to the partner and its card row, locked; WL063 for a '
	'reference the partner was never sent.';

-- Capture: the partner took the money from the card. The settlement journal funds the
-- customer's funding account from the partner's settlement account, then the hold is posted
-- to the merchant (the trigger makes the payment SUCCESS and emits transaction:completed).
CREATE OR REPLACE FUNCTION pg_wallet._card_payment_capture(ref text, partner_id text,
	partner_reference text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record := pg_wallet._card_payment_lock(ref, partner_id);
	p pg_wallet.payments := r.p;
	cp pg_wallet.card_payments := r.cp;
	fund text := (SELECT a.account_number FROM pg_wallet.accounts a
	              WHERE a.id = cp.funding_account_id);
	total numeric := pg_wallet.amount_format(cp.total_minor, p.currency);
	res pg_wallet.journal_result;
BEGIN
	IF p.status = 'SUCCESS' THEN
		RETURN jsonb_build_object('transactionId', p.transaction_ref, 'status', p.status,
			'replayed', true);
	END IF;
	IF p.status = 'FAILED' THEN
		RAISE EXCEPTION 'card payment % already failed; the partner now reports success',
			p.transaction_ref USING ERRCODE = 'WL064',
			HINT = 'The authorisation was voided or expired: reconcile with the partner.';
	END IF;
	-- past its expiry the hold can no longer be posted, whether or not the sweep has run
	IF (SELECT h.expires_at <= now() FROM pg_wallet.holds h WHERE h.id = cp.hold_id) THEN
		RAISE EXCEPTION 'card payment % expired; the partner now reports success',
			p.transaction_ref USING ERRCODE = 'WL064',
			HINT = 'The authorisation expired: reconcile with the partner.';
	END IF;
	res := pg_wallet.post_journal('CARD_SETTLEMENT', jsonb_build_array(
			jsonb_build_object('account', pg_wallet._settlement_account(cp.partner_id,
				p.currency), 'side', 'DR', 'amount', total),
			jsonb_build_object('account', fund, 'side', 'CR', 'amount', total)),
		'card-settle:' || ref, left('Card settlement of ' || ref, 500),
		jsonb_strip_nulls(jsonb_build_object('payment', ref, 'partner_id', cp.partner_id,
			'partner_reference', partner_reference)));
	UPDATE pg_wallet.card_payments x
	SET state = 'captured', funding_journal_id = res.journal_id, closed_at = now(),
		partner_reference = coalesce(left(_card_payment_capture.partner_reference, 128),
			x.partner_reference)
	WHERE x.payment_id = p.id;
	PERFORM pg_wallet.post_hold(cp.hold_id, NULL, 'card-capture:' || ref,
		left(coalesce(p.description, 'Card payment ' || ref), 500));
	RETURN jsonb_build_object('transactionId', p.transaction_ref, 'status', 'SUCCESS',
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._card_payment_capture(text, text, text) IS
	'Internal: the card partner captured a card payment: a CARD_SETTLEMENT journal '
	'(settlement -> the customer''s funding account, amount + fee), then the hold posted '
	'(HOLD_CAPTURE: funding account -> merchant, fee to fee income); again: replayed; WL064 '
	'when it already failed.';

-- The partner declined or refused: the hold is voided (the trigger makes the payment FAILED).
CREATE OR REPLACE FUNCTION pg_wallet._card_payment_fail(ref text, partner_id text, error text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record := pg_wallet._card_payment_lock(ref, partner_id);
	p pg_wallet.payments := r.p;
	cp pg_wallet.card_payments := r.cp;
BEGIN
	IF p.status = 'FAILED' THEN
		RETURN jsonb_build_object('transactionId', p.transaction_ref, 'status', p.status,
			'replayed', true);
	END IF;
	IF p.status = 'SUCCESS' THEN
		RAISE EXCEPTION 'card payment % is already captured; the partner now reports a failure',
			p.transaction_ref USING ERRCODE = 'WL064', HINT = 'Reconcile with the partner.';
	END IF;
	UPDATE pg_wallet.card_payments x
	SET error = left(coalesce(_card_payment_fail.error, 'declined'), 500)
	WHERE x.payment_id = p.id;
	PERFORM pg_wallet.void_hold(cp.hold_id,
		left('card declined: ' || coalesce(error, 'declined'), 500));
	RETURN jsonb_build_object('transactionId', p.transaction_ref, 'status', 'FAILED',
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._card_payment_fail(text, text, text) IS
	'Internal: the card partner declined a card payment: its hold is voided (FAILED, WL094); '
	'again: replayed; WL064 when it was already captured.';

-- Whether a card payment still waits for its authorisation (partner_subject_kinds
-- open_function of kind card_auth: the outbox drops a request whose payment ended).
CREATE OR REPLACE FUNCTION pg_wallet._card_auth_open(subject_ref text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM pg_wallet.payments p
		WHERE p.transaction_ref = subject_ref AND p.status = 'PROCESSING')
$$;
COMMENT ON FUNCTION pg_wallet._card_auth_open(text) IS
	'Internal (partner_subject_kinds, kind card_auth): whether the card payment an '
	'authorisation request is about is still PROCESSING.';

-- The outbox worker's answer to the authorisation request (adapters.sql's _adapter_on_answer).
CREATE OR REPLACE FUNCTION pg_wallet._card_payment_answered(ref text, partner_id text,
	state text, partner_reference text, error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record := pg_wallet._card_payment_lock(ref, partner_id);
BEGIN
	UPDATE pg_wallet.card_payments x
	SET partner_reference = coalesce(x.partner_reference,
			left(_card_payment_answered.partner_reference, 128)),
		state = CASE WHEN x.state = 'pending' AND _card_payment_answered.state <> 'failed'
		             THEN 'sent_to_partner' ELSE x.state END,
		sent_at = coalesce(x.sent_at, now())
	WHERE x.payment_id = (r.p).id;
	IF (r.p).status <> 'PROCESSING' THEN
		RETURN;
	END IF;
	IF state = 'completed' THEN
		PERFORM pg_wallet._card_payment_capture(ref, partner_id, partner_reference);
	ELSIF state = 'failed' THEN
		PERFORM pg_wallet._card_payment_fail(ref, partner_id, error);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_payment_answered(text, text, text, text, text) IS
	'Internal: the partner answered an authorisation request: accepted (sent_to_partner, its '
	'charge id kept), completed at once (captured) or refused (voided).';

-- A generic_json partner's card callback (callbacks.sql's partner_callback hands over
-- card.completed and card.failed): the amount reported must be what the card was charged.
CREATE OR REPLACE FUNCTION pg_wallet._card_callback(ptn pg_wallet.partners, j jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref text := j ->> 'reference';
	r record := pg_wallet._card_payment_lock(ref, ptn.id);
BEGIN
	PERFORM pg_wallet._callback_money_check(j, (r.cp).total_minor, (r.p).currency,
		'card payment', ref);
	IF j ->> 'type' = 'card.completed' THEN
		RETURN pg_wallet._card_payment_capture(ref, ptn.id, j ->> 'partner_reference');
	END IF;
	RETURN pg_wallet._card_payment_fail(ref, ptn.id,
		left(coalesce(j ->> 'error', 'Card declined'), 200));
END
$$;
COMMENT ON FUNCTION pg_wallet._card_callback(pg_wallet.partners, jsonb) IS
	'Internal: a verified card.completed / card.failed callback: WL063 unknown reference, '
	'WL072 another currency or amount than charged; captures or voids.';

-- The trigger holds_card_payment (payments/cards_triggers.sql): a card payment's hold ended.
-- Posted: SUCCESS (its HOLD_CAPTURE journal, its fee, transaction:completed); voided or
-- expired: FAILED WL094, and a request not yet sent is not sent any more.
CREATE OR REPLACE FUNCTION pg_wallet._card_payment_hold_ended()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cp pg_wallet.card_payments;
	p pg_wallet.payments;
BEGIN
	SELECT * INTO cp FROM pg_wallet.card_payments x WHERE x.hold_id = NEW.id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO p FROM pg_wallet.payments x WHERE x.id = cp.payment_id FOR UPDATE;
	IF p.status <> 'PROCESSING' THEN
		RETURN NULL;
	END IF;
	IF NEW.status = 'POSTED' THEN
		UPDATE pg_wallet.payments x
		SET status = 'SUCCESS', journal_id = NEW.journal_id, completed_at = now(),
			fee_minor = coalesce((SELECT j.fee_minor FROM pg_wallet.journals j
			                      WHERE j.id = NEW.journal_id), 0)
		WHERE x.id = p.id
		RETURNING * INTO p;
		PERFORM pg_wallet._payment_events(p);
		RETURN NULL;
	END IF;
	UPDATE pg_wallet.card_payments x
	SET state = CASE NEW.status WHEN 'EXPIRED' THEN 'expired' ELSE 'failed' END,
		closed_at = now(), error = coalesce(x.error, NEW.closed_reason)
	WHERE x.payment_id = p.id;
	UPDATE pg_wallet.payments x
	SET status = 'FAILED', error_code = 'WL094',
		error_message = CASE NEW.status
			WHEN 'EXPIRED' THEN 'card payment failed: the card partner did not confirm it in time'
			ELSE left('card payment failed: ' || coalesce(cp.error, NEW.closed_reason,
				'the authorisation was voided'), 500) END
	WHERE x.id = p.id;
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', updated_at = now()
	WHERE o.subject_ref = p.transaction_ref AND o.kind = 'card_auth'
		AND o.status IN ('PENDING', 'DEAD');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_payment_hold_ended() IS
	'Internal, trigger holds_card_payment: a card payment succeeds when its hold is posted '
	'(transaction:completed to both parties) and fails (WL094) when it is voided (declined) '
	'or expires; its unsent request is cancelled.';

-- What GET /transactions/:id adds for a card payment (the spec's example): paymentMethod
-- {type, last4Digits, brand}, processorChargeId and processorResponse {status, message}; {}
-- for a wallet payment. WL088 for a principal that is not a party, as payment_get.
CREATE OR REPLACE FUNCTION pg_wallet.card_payment_details(transaction_id text,
	principal_id uuid)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.payments := pg_wallet._payment_for(transaction_id, principal_id, false);
	cp pg_wallet.card_payments;
	m pg_wallet.payment_methods;
BEGIN
	SELECT * INTO cp FROM pg_wallet.card_payments x WHERE x.payment_id = p.id;
	IF NOT FOUND THEN
		RETURN '{}';
	END IF;
	SELECT * INTO STRICT m FROM pg_wallet.payment_methods x WHERE x.id = cp.payment_method_id;
	RETURN jsonb_build_object(
		'paymentMethod', jsonb_build_object('type', 'card', 'last4Digits', m.last4,
			'brand', m.brand),
		'processorChargeId', cp.partner_reference,
		'processorResponse', jsonb_build_object(
			'status', CASE p.status WHEN 'SUCCESS' THEN 'success' WHEN 'FAILED' THEN 'failed'
				ELSE 'pending' END,
			'message', CASE p.status
				WHEN 'SUCCESS' THEN 'Transaction completed successfully'
				WHEN 'FAILED' THEN 'Transaction failed'
				ELSE 'Awaiting the card processor' END));
END
$$;
COMMENT ON FUNCTION pg_wallet.card_payment_details(text, uuid) IS
	'A card payment''s card fields as GET /transactions/:id shows them: paymentMethod {type '
	'card, last4Digits, brand}, processorChargeId (the partner''s charge id), '
	'processorResponse {status success | failed | pending, message}; {} for a wallet payment; '
	'WL088 for anyone but its parties.';
