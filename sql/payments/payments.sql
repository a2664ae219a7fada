-- Payments, refunds and receipts (issue 13): the functions over payments/payments_tables.sql.
--
-- A payment: a customer (a principal of role user) pays a merchant (a principal of role
-- merchant whose owner is of kind merchant) from one of its wallets. It posts at once, as one
-- pg_wallet.transfer() from the customer's wallet to the merchant's account, so fees (fee
-- type TRANSFER), KYC tier limits and fraud scoring apply exactly as to any transfer; the
-- journal is a TRANSFER whose metadata names the payment ({"payment": "TXN-..."}). The
-- posting records its refusal (record_refusal): a refused payment is kept as FAILED with its
-- refused journal (and the fraud score recorded for it), so a retry under the same reference
-- gets the same refusal. A payment held for fraud review is PROCESSING until the review ends
-- (the trigger holds_review_payment, payments/triggers.sql): SUCCESS when the hold is posted,
-- FAILED when it is rejected or expires. A SUCCESS payment emits transaction:completed to the
-- customer and the merchant.
--
-- A refund: the payment's merchant (or an admin) gives back part or all of what remains
-- refundable, as one REFUND journal from the merchant's account to the customer's wallet
-- (post_journal: no fee, no KYC limit; a merchant's debit is not scored). The payment's row
-- is locked first, so concurrent refunds never together exceed the payment. The customer's
-- fee on the payment, if a fee schedule charged one, is not given back.
--
-- Idempotency: the one claim (core/idempotency.sql), kind payment under the customer's owner
-- (key: the client's reference, metadata.reference in the API), kind refund under the
-- merchant's owner (the owner of the account a refund debits).
--
-- Must never: move money other than through the ledger core, or show one party's balances,
-- ledger messages or fraud factors to the other.

-- A merchantId: the id of a principal of role merchant whose owner is of kind merchant, or
-- WL085; WL086 when that principal is not ACTIVE or, registered, its KYC is not APPROVED.
CREATE OR REPLACE FUNCTION pg_wallet._payment_merchant(merchant_id text)
RETURNS pg_wallet.principals
AS 'MODULE_PATHNAME', 'wallet_payment_merchant'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_merchant(text) IS
	'Internal: the merchant principal a merchantId names (role merchant, owner of kind '
	'merchant), or WL085 "merchant not found"; WL086 when it is not ACTIVE, or is a '
	'registered merchant whose KYC is not APPROVED.';

-- The account a merchant is paid into in a currency: its AVAILABLE_COLLECTIONS account, else
-- its HYBRID_ACCOUNT, else its WALLET (not CLOSED, ACTIVE first, oldest first), or WL087.
CREATE OR REPLACE FUNCTION pg_wallet._payment_merchant_account(owner_id bigint, currency text)
RETURNS pg_wallet.accounts
AS 'MODULE_PATHNAME', 'wallet_payment_merchant_account'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_merchant_account(bigint, text) IS
	'Internal: the merchant''s account that payments in a currency credit (collections, then '
	'hybrid, then wallet; not CLOSED, ACTIVE first), or WL087.';

-- The fraud score record of a payment: its posting's or refusal's, else its review hold's
-- (or its card authorisation's), else the one recorded after a caught refusal (a card payment
-- refused by fraud).
CREATE OR REPLACE FUNCTION pg_wallet._payment_score(p pg_wallet.payments)
RETURNS pg_wallet.fraud_scores
AS 'MODULE_PATHNAME', 'wallet_payment_score'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_score(pg_wallet.payments) IS
	'Internal: the fraud score recorded for a payment (the held request''s, else the '
	'posting''s or the refusal''s, else the one recorded after a card authorisation''s caught '
	'refusal); NULL when it was not scored.';

-- A payment as POST /transactions shows it (payments/payment_answer.c): transactionId, amount,
-- currency, customerId, merchantId, status, fraudScore {score, riskLevel, decision},
-- createdAt, completedAt: what both parties may see.
CREATE OR REPLACE FUNCTION pg_wallet._payment_summary(p pg_wallet.payments)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'wallet_payment_summary'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_summary(pg_wallet.payments) IS
	'Internal: a payment in the Tribble shape of POST /transactions (transactionId, amount, '
	'currency, customerId, merchantId, status, fraudScore {score, riskLevel, decision} or '
	'null, createdAt, completedAt).';

-- A payment as POST /transactions answers it; detailed, as GET /transactions/:id shows it to
-- a party (customer: true when the viewer is the customer: the fraud factors and a failure's
-- message are the customer's only).
CREATE OR REPLACE FUNCTION pg_wallet._payment_json(p pg_wallet.payments, detailed boolean,
	customer boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	summary jsonb := pg_wallet._payment_summary(p);
	s pg_wallet.fraud_scores;
BEGIN
	IF NOT detailed THEN
		RETURN summary;
	END IF;
	IF customer AND summary->'fraudScore' <> 'null' THEN
		s := pg_wallet._payment_score(p);
		summary := jsonb_set(summary, '{fraudScore,riskFactors}',
			pg_wallet.fraud_score_factors(s));
	END IF;
	RETURN summary || jsonb_build_object(
		'description', p.description, 'metadata', p.metadata,
		'paymentMethod', jsonb_build_object('type', p.payment_method),
		'refundedAmount', pg_wallet.amount_format(pg_wallet._payment_refunded(p), p.currency),
		'failureReason', CASE WHEN customer THEN p.error_message END,
		'receipt', (SELECT jsonb_build_object('receiptId', r.receipt_id)
			FROM pg_wallet.receipts r WHERE r.journal_id = p.journal_id AND p.status = 'SUCCESS'));
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_json(pg_wallet.payments, boolean, boolean) IS
	'Internal: a payment in the Tribble shape: POST /transactions''s (detailed false) or GET '
	'/transactions/:id''s; riskFactors and failureReason only for the customer.';

-- transaction:completed (the spec's "WebSocket Events") to the customer and the merchant,
-- queued (partners/events.sql, "Queued events"): every payment into one merchant would
-- otherwise wait on the merchant's stream row and on the notify lock until it commits.
CREATE OR REPLACE FUNCTION pg_wallet._payment_events(p pg_wallet.payments)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_payment_events'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_events(pg_wallet.payments) IS
	'Internal: transaction:completed {transactionId, amount, currency, status, merchantId, '
	'customerId, timestamp} to the customer and the merchant of a SUCCESS payment.';

-- The customer's wallet a payment is taken from: the one named (one of the customer's
-- WALLET accounts, else WL005; in the payment's currency, else WL009), else the customer's
-- default wallet in the currency (WL087 when there is none).
CREATE OR REPLACE FUNCTION pg_wallet._payment_customer_wallet(owner_id bigint, currency text,
	wallet text)
RETURNS pg_wallet.accounts
AS 'MODULE_PATHNAME', 'wallet_payment_customer_wallet'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_customer_wallet(bigint, text, text) IS
	'Internal: the customer''s wallet a payment debits: the one named (WL005 unless it is '
	'the customer''s, WL009 in another currency) or its default one in the currency (WL087 '
	'when it has none).';

-- The checks of payment_create's arguments that need no row (22023 / 22001 naming the field).
CREATE OR REPLACE FUNCTION pg_wallet._payment_check_args(amount numeric, currency text,
	reference text, description text, metadata jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_payment_check_args'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_check_args(numeric, text, text, text, jsonb) IS
	'Internal: payment_create''s argument checks (currency, amount > 0, description 200, '
	'metadata an object of 2048 bytes, reference 1-100), naming the field.';

-- The payer of a payment: a principal of role user (WL031 otherwise).
CREATE OR REPLACE FUNCTION pg_wallet._payment_customer(customer_id uuid)
RETURNS pg_wallet.principals
AS 'MODULE_PATHNAME', 'wallet_payment_customer'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_customer(uuid) IS
	'Internal: the principal that pays (wallet and card payments): role user, else WL031.';

-- The public id of a payments-layer row: <prefix>-<yyyymmdd (UTC)>-<id, 6 digits at least>
-- (TXN payments, RFD refunds, BILL top-ups, DSP disputes): the one place the shape is written.
CREATE OR REPLACE FUNCTION pg_wallet._dated_ref(prefix text, id bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_dated_ref'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._dated_ref(text, bigint) IS
	'Internal: <prefix>-<yyyymmdd>-<id> (6 digits at least), the public id of a payment, '
	'refund, top-up or dispute.';

-- A new payment's id and its transactionId, TXN-<yyyymmdd>-<id>.
CREATE OR REPLACE FUNCTION pg_wallet._payment_new_ref(OUT id bigint, OUT ref text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	id := nextval('pg_wallet.payments_id_seq');	-- the identity's sequence (no catalog look-up)
	ref := pg_wallet._dated_ref('TXN', id);
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_new_ref() IS
	'Internal: the id of a new payment (drawn from its identity) and its transactionId.';

-- A new refund's id and its refundId, RFD-<yyyymmdd>-<id> (merchants' refunds and
-- chargebacks alike).
CREATE OR REPLACE FUNCTION pg_wallet._refund_new_ref(OUT id bigint, OUT ref text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	id := nextval(pg_get_serial_sequence('pg_wallet.refunds', 'id'));
	ref := pg_wallet._dated_ref('RFD', id);
END
$$;
COMMENT ON FUNCTION pg_wallet._refund_new_ref() IS
	'Internal: the id of a new refund (drawn from its identity) and its refundId.';

-- A payment as POST /transactions answers it, first time or replayed: the FAILED one with
-- "error" {code, message}.
CREATE OR REPLACE FUNCTION pg_wallet._payment_answer(p pg_wallet.payments, replayed boolean)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'wallet_payment_answer'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._payment_answer(pg_wallet.payments, boolean) IS
	'Internal: POST /transactions'' answer (wallet and card payments): the payment, replayed, '
	'and error {code, message} when it FAILED.';

CREATE OR REPLACE FUNCTION pg_wallet.payment_create(
	customer_id uuid,
	merchant_id text,
	amount numeric,
	currency text,
	reference text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	wallet text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'wallet_payment_create'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.payment_create(uuid, text, numeric, text, text, text, jsonb, text)
	IS
	'Tribble POST /transactions: the customer (a principal of role user; WL031 otherwise) '
	'pays the merchant merchant_id (a merchant principal''s id: WL085, WL086) from its wallet '
	'(the one named, or its default one in the currency: WL087) into the merchant''s account '
	'in the currency (WL087). One TRANSFER posting with its refusal recorded: status SUCCESS, '
	'PROCESSING when held for fraud review, or FAILED with "error" {code, message} (the '
	'ledger''s refusal: WL001, WL044, WL047, ...). Idempotent on reference per customer (kind '
	'payment; WL003 for another request under it). Returns transactionId, amount, currency, '
	'customerId, merchantId, status, fraudScore {score, riskLevel, decision}, createdAt, '
	'completedAt, replayed; emits transaction:completed to both parties on SUCCESS.';

-- A party's view of a payment: the row (locked when asked) when the principal is its
-- customer's or merchant's (an admin too, with admins), else WL088 for anyone else: an
-- unknown payment and another's are the same error.
CREATE OR REPLACE FUNCTION pg_wallet._payment_for(transaction_id text, principal_id uuid,
	admins boolean, p_lock boolean DEFAULT false)
RETURNS pg_wallet.payments
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	p pg_wallet.payments;
BEGIN
	IF length(transaction_id) <= 64 THEN
		SELECT * INTO p FROM pg_wallet.payments x WHERE x.transaction_ref = transaction_id;
	END IF;
	IF p.id IS NULL OR NOT (me.owner_id = p.customer_owner_id
		OR pg_wallet._merchant_agent(me, p.merchant_owner_id)
		OR (admins AND me.role = 'admin')) THEN
		RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL088';
	END IF;
	IF p_lock THEN
		SELECT * INTO STRICT p FROM pg_wallet.payments x WHERE x.id = p.id FOR UPDATE;
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_for(text, uuid, boolean, boolean) IS
	'Internal: a payment its customer or its merchant (a principal of the merchant''s owner, or '
	'the user who registered it; with admins, an admin) may see, locked when asked; WL088 '
	'"transaction not found" for an unknown one and another''s alike.';

CREATE OR REPLACE FUNCTION pg_wallet.payment_get(transaction_id text, principal_id uuid)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.payments := pg_wallet._payment_for(transaction_id, principal_id, false);
BEGIN
	RETURN pg_wallet._payment_json(p, true, p.customer_principal_id = principal_id
		OR p.customer_owner_id = (SELECT x.owner_id FROM pg_wallet.principals x
		                          WHERE x.id = principal_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.payment_get(text, uuid) IS
	'Tribble GET /transactions/:transactionId: a payment seen by its customer or its merchant '
	'(WL088 for anyone else): transactionId, amount, currency, customerId, merchantId, status, '
	'description, metadata, fraudScore {score, riskLevel, decision, riskFactors (the '
	'customer only)}, paymentMethod {type}, refundedAmount, failureReason (the customer '
	'only), receipt ({receiptId} once GET /transactions/:id/receipt issued it, else null), '
	'createdAt, completedAt.';

CREATE OR REPLACE FUNCTION pg_wallet.payments_list(
	principal_id uuid,
	status text DEFAULT NULL,
	from_time timestamptz DEFAULT NULL,
	to_time timestamptz DEFAULT NULL,
	page_size integer DEFAULT 20,
	page_offset integer DEFAULT 0,
	sort_by text DEFAULT 'createdAt',
	sort_order text DEFAULT 'desc')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	party text := CASE me.role WHEN 'merchant' THEN 'merchant_owner_id'
		ELSE 'customer_owner_id' END;
	total bigint;
	items jsonb;
BEGIN
	IF status IS NOT NULL AND status NOT IN ('PROCESSING', 'SUCCESS', 'FAILED') THEN
		RAISE EXCEPTION 'status must be PROCESSING, SUCCESS or FAILED'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'status';
	END IF;
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'limit must be between 1 and 100'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'limit';
	END IF;
	IF page_offset IS NULL OR page_offset NOT BETWEEN 0 AND 1000000 THEN
		RAISE EXCEPTION 'offset must be between 0 and 1000000'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'offset';
	END IF;
	IF sort_by IS NULL OR sort_by NOT IN ('createdAt', 'amount') THEN
		RAISE EXCEPTION 'sortBy must be createdAt or amount'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'sortBy';
	END IF;
	IF sort_order IS NULL OR sort_order NOT IN ('asc', 'desc') THEN
		RAISE EXCEPTION 'sortOrder must be asc or desc'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'sortOrder';
	END IF;
	-- the party's column and the order are chosen from fixed words above, never from input
	EXECUTE format($q$
		SELECT (SELECT count(*) FROM pg_wallet.payments p WHERE %1$s),
			coalesce((SELECT jsonb_agg(jsonb_build_object('transactionId', x.transaction_ref,
					'amount', pg_wallet.amount_format(x.amount_minor, x.currency),
					'currency', x.currency, 'customerId', x.customer_principal_id,
					'merchantId', x.merchant_principal_id, 'status', x.status,
					'createdAt', pg_wallet._ts_iso(x.created_at))
					ORDER BY x.%2$s %3$s, x.id %3$s)
				FROM (SELECT * FROM pg_wallet.payments p WHERE %1$s
				      ORDER BY p.%2$s %3$s, p.id %3$s LIMIT $5 OFFSET $6) x), '[]')$q$,
		format('p.%I = $1 AND ($2::text IS NULL OR p.status = $2)
			AND ($3::timestamptz IS NULL OR p.created_at >= $3)
			AND ($4::timestamptz IS NULL OR p.created_at < $4)', party),
		CASE sort_by WHEN 'amount' THEN 'amount_minor' ELSE 'created_at' END, sort_order)
	INTO total, items
	USING me.owner_id, status, from_time, to_time, page_size, page_offset;
	RETURN jsonb_build_object('transactions', items, 'pagination', jsonb_build_object(
		'total', total, 'limit', page_size, 'offset', page_offset,
		'hasMore', page_offset + page_size < total));
END
$$;
COMMENT ON FUNCTION pg_wallet.payments_list(uuid, text, timestamptz, timestamptz, integer,
	integer, text, text) IS
	'Tribble GET /transactions: the payments of a principal (a merchant: those it received; '
	'anyone else: those it made), filtered by status (PROCESSING, SUCCESS, FAILED) and '
	'[from_time, to_time), sorted by createdAt (default) or amount, desc (default) or asc, '
	'page_size 1-100 (default 20) from page_offset: {transactions [{transactionId, amount, '
	'currency, customerId, merchantId, status, createdAt}], pagination {total, limit, offset, '
	'hasMore}}.';

-- What a payment's completed refunds returned (its refunded_minor also counts the card refunds
-- still PENDING: they are reserved against the payment until they end).
CREATE OR REPLACE FUNCTION pg_wallet._payment_refunded(p pg_wallet.payments)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p.refunded_minor = 0 THEN
		RETURN 0;
	END IF;
	RETURN (SELECT coalesce(sum(r.amount_minor), 0)::bigint FROM pg_wallet.refunds r
	        WHERE r.payment_id = p.id AND r.status = 'COMPLETED');
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_refunded(pg_wallet.payments) IS
	'Internal: the total of a payment''s COMPLETED refunds, in minor units.';

CREATE OR REPLACE FUNCTION pg_wallet._refund_json(r pg_wallet.refunds, p pg_wallet.payments)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('refundId', r.refund_ref, 'transactionId', p.transaction_ref,
		'amount', pg_wallet.amount_format(r.amount_minor, r.currency), 'currency', r.currency,
		'status', r.status, 'reason', r.reason, 'description', r.description,
		'createdAt', pg_wallet._ts_iso(r.created_at),
		'completedAt', pg_wallet._ts_iso(r.completed_at))
		|| CASE WHEN r.error IS NOT NULL THEN jsonb_build_object('failureReason', r.error)
		   ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION pg_wallet._refund_json(pg_wallet.refunds, pg_wallet.payments) IS
	'Internal: a refund in the Tribble shape (failureReason: why a card refund FAILED).';

-- What POST /transactions/:id/refund says of a refund it made (the spec''s "message").
CREATE OR REPLACE FUNCTION pg_wallet._refund_answer(r pg_wallet.refunds, p pg_wallet.payments,
	replayed boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._refund_json(r, p) || jsonb_build_object('replayed', replayed,
		'remaining', pg_wallet.amount_format(p.amount_minor - p.refunded_minor, p.currency),
		'message', CASE r.status
			WHEN 'PENDING' THEN 'Refund initiated. Processing time: 24-48 hours'
			WHEN 'COMPLETED' THEN 'Refund completed'
			ELSE 'Refund failed' END);
END
$$;
COMMENT ON FUNCTION pg_wallet._refund_answer(pg_wallet.refunds, pg_wallet.payments, boolean) IS
	'Internal: payment_refund''s answer: the refund, replayed, remaining (not yet refunded '
	'nor pending) and a message.';

-- payment_refund's argument checks that need no row (22023 / 22001 naming the field).
CREATE OR REPLACE FUNCTION pg_wallet._refund_check_args(amount numeric, reason text,
	description text, idempotency_key text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF amount IS NOT NULL AND amount <= 0 THEN
		RAISE EXCEPTION 'Amount must be greater than 0' USING ERRCODE = 'WL010', COLUMN = 'amount';
	END IF;
	IF reason IS NOT NULL AND reason !~ '^[A-Za-z0-9_ -]{1,50}$' THEN
		RAISE EXCEPTION 'reason must be 1 to 50 letters, digits, spaces, "_" or "-"'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'reason';
	END IF;
	IF length(description) > 200 THEN
		RAISE EXCEPTION 'description must be at most 200 characters'
			USING ERRCODE = 'string_data_right_truncation', COLUMN = 'description';
	END IF;
	IF length(idempotency_key) NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'idempotencyKey must be 1 to 100 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'idempotencyKey';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._refund_check_args(numeric, text, text, text) IS
	'Internal: payment_refund''s argument checks (amount > 0, reason, description 200, key '
	'1-100), naming the field.';

-- payment_refund's wallet branch (the payment locked, the checks done): one REFUND journal
-- from the merchant's account back to the customer's wallet; its id.
CREATE OR REPLACE FUNCTION pg_wallet._wallet_refund_journal(p pg_wallet.payments,
	amount_minor bigint, refund_ref text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	amount numeric := pg_wallet.amount_format(amount_minor, p.currency);
BEGIN
	RETURN (pg_wallet.post_journal('REFUND', jsonb_build_array(
			jsonb_build_object('account', (SELECT a.account_number FROM pg_wallet.accounts a
				WHERE a.id = p.merchant_account_id), 'side', 'DR', 'amount', amount),
			jsonb_build_object('account', (SELECT a.account_number FROM pg_wallet.accounts a
				WHERE a.id = p.account_id), 'side', 'CR', 'amount', amount)),
		'refund:' || refund_ref, left('Refund ' || refund_ref || ' of ' || p.transaction_ref, 500),
		jsonb_build_object('payment', p.transaction_ref, 'refund', refund_ref))).journal_id;
END
$$;
COMMENT ON FUNCTION pg_wallet._wallet_refund_journal(pg_wallet.payments, bigint, text) IS
	'Internal: post a wallet payment''s refund (the payment locked, the checks done): one '
	'REFUND journal merchant -> the customer''s wallet (WL001 when the merchant''s account '
	'cannot pay it); its id.';

CREATE OR REPLACE FUNCTION pg_wallet.payment_refund(
	transaction_id text,
	principal_id uuid,
	amount numeric DEFAULT NULL,
	reason text DEFAULT NULL,
	description text DEFAULT NULL,
	idempotency_key text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals;
	p pg_wallet.payments;
	r pg_wallet.refunds;
	hash bytea;
	earlier bigint;
	v_amount bigint;
	remaining bigint;
	new_id bigint;
	ref text;
	jid bigint;		-- a wallet refund's REFUND journal
BEGIN
	PERFORM pg_wallet._refund_check_args(amount, reason, description, idempotency_key);
	me := pg_wallet._principal_row(principal_id);
	p := pg_wallet._payment_for(transaction_id, principal_id, true);
	IF me.role <> 'admin' AND NOT pg_wallet._merchant_agent(me, p.merchant_owner_id) THEN
		RAISE EXCEPTION 'only the payment''s merchant or an admin may refund it'
			USING ERRCODE = 'WL092';
	END IF;
	-- the payment's row, locked until commit: refunds of one payment run one at a time, so
	-- each reads the refunded total the previous one left
	p := pg_wallet._payment_for(transaction_id, principal_id, true, true);
	hash := sha256(convert_to(concat_ws('|', 'refund', p.id, coalesce(amount::text, 'rest'),
		reason, description), 'UTF8'));
	earlier := pg_wallet._idempotency_find(p.merchant_owner_id, idempotency_key, 'refund', hash);
	IF earlier IS NOT NULL THEN
		SELECT * INTO STRICT r FROM pg_wallet.refunds x WHERE x.id = earlier;
		RETURN pg_wallet._refund_answer(r, p, true);
	END IF;
	IF p.status <> 'SUCCESS' THEN
		RAISE EXCEPTION 'payment % is % and cannot be refunded', p.transaction_ref, p.status
			USING ERRCODE = 'WL091';
	END IF;
	remaining := p.amount_minor - p.refunded_minor;
	v_amount := coalesce(pg_wallet.amount_parse(amount, p.currency), remaining);
	IF remaining = 0 THEN
		RAISE EXCEPTION 'payment % is refunded in full', p.transaction_ref
			USING ERRCODE = 'WL090';
	END IF;
	IF v_amount > remaining THEN
		RAISE EXCEPTION 'refund of % % exceeds the % % that remains refundable',
			pg_wallet.amount_format(v_amount, p.currency), p.currency,
			pg_wallet.amount_format(remaining, p.currency), p.currency
			USING ERRCODE = 'WL090', COLUMN = 'amount';
	END IF;
	SELECT x.id, x.ref INTO new_id, ref FROM pg_wallet._refund_new_ref() x;
	-- a wallet payment's refund posts at once; a card payment's goes back to the card through
	-- its partner, PENDING until the partner confirms (card_refunds.sql)
	IF p.payment_method <> 'card' THEN
		jid := pg_wallet._wallet_refund_journal(p, v_amount, ref);
	END IF;
	INSERT INTO pg_wallet.refunds (id, refund_ref, payment_id, amount_minor, currency, status,
		reason, description, requested_by, idempotency_key, request_hash, journal_id,
		completed_at)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, ref, p.id, v_amount, p.currency,
		CASE WHEN jid IS NULL THEN 'PENDING' ELSE 'COMPLETED' END, reason, description, me.id,
		idempotency_key, hash, jid, CASE WHEN jid IS NOT NULL THEN now() END)
	RETURNING * INTO r;
	IF p.payment_method = 'card' THEN
		PERFORM pg_wallet._card_refund_start(p, r);
	END IF;
	UPDATE pg_wallet.payments x SET refunded_minor = x.refunded_minor + v_amount
	WHERE x.id = p.id
	RETURNING * INTO p;
	PERFORM pg_wallet._idempotency_record(p.merchant_owner_id, idempotency_key, 'refund', hash,
		r.id);
	RETURN pg_wallet._refund_answer(r, p, false);
END
$$;
COMMENT ON FUNCTION pg_wallet.payment_refund(text, uuid, numeric, text, text, text) IS
	'Tribble POST /transactions/:transactionId/refund: the payment''s merchant (any principal '
	'of its owner) or an admin refunds amount (default: all that remains) of a SUCCESS payment '
	'(WL091 otherwise). A wallet payment''s refund is one REFUND journal from the merchant''s '
	'account to the customer''s wallet, COMPLETED at once; a card payment''s goes back to the '
	'card through the partner that charged it, PENDING (the amount held on the merchant''s '
	'account) until the partner confirms (COMPLETED) or fails (FAILED: refundable again); '
	'WL096 when that partner is not active (payments/card_refunds.sql). No fee; the payment''s '
	'own fee is not given back; WL001 when the merchant''s account cannot pay or hold it. '
	'Never more in total than the payment, pending refunds included (WL090): the payment''s '
	'row is locked. The customer may not (WL092); anyone else sees no such payment (WL088). '
	'Idempotent on idempotency_key per merchant (kind refund). Returns refundId, '
	'transactionId, amount, currency, status, reason, description, createdAt, completedAt, '
	'remaining, replayed, message.';

CREATE OR REPLACE FUNCTION pg_wallet.payment_refunds(transaction_id text, principal_id uuid)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.payments := pg_wallet._payment_for(transaction_id, principal_id, true);
BEGIN
	RETURN jsonb_build_object('transactionId', p.transaction_ref,
		'refunds', coalesce((SELECT jsonb_agg(pg_wallet._refund_json(r, p) - 'transactionId'
				ORDER BY r.id)
			FROM pg_wallet.refunds r WHERE r.payment_id = p.id), '[]'),
		'summary', jsonb_build_object(
			'totalRefunded', pg_wallet.amount_format(pg_wallet._payment_refunded(p), p.currency),
			'refundCount', (SELECT count(*) FROM pg_wallet.refunds r WHERE r.payment_id = p.id),
			'remaining', pg_wallet.amount_format(p.amount_minor - p.refunded_minor,
				p.currency)));
END
$$;
COMMENT ON FUNCTION pg_wallet.payment_refunds(text, uuid) IS
	'Tribble GET /transactions/:transactionId/refunds: the refunds of a payment, oldest first '
	'(PENDING, COMPLETED or FAILED), and summary {totalRefunded (the COMPLETED ones), '
	'refundCount, remaining (neither refunded nor pending)}; for its customer, its merchant '
	'and admins (WL088 for anyone else).';

-- The trigger holds_review_payment (payments/triggers.sql): the review of a payment held for
-- fraud review ended. Posted: the payment succeeded (its journal, its fee, its events);
-- voided or expired: it failed. A payment that is no longer PROCESSING is left as it is.
CREATE OR REPLACE FUNCTION pg_wallet._payment_review_ended()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.payments;
BEGIN
	SELECT * INTO p FROM pg_wallet.payments x WHERE x.hold_id = NEW.id FOR UPDATE;
	IF NOT FOUND OR p.status <> 'PROCESSING' THEN
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
	ELSE
		UPDATE pg_wallet.payments x
		SET status = 'FAILED', error_code = 'WL047',
			error_message = format('held for fraud review and not released (%s)',
				lower(NEW.status))
		WHERE x.id = p.id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_review_ended() IS
	'Internal, trigger holds_review_payment: a payment held for fraud review succeeds when '
	'its hold is posted (transaction:completed to both parties) and fails (WL047) when it is '
	'voided or expires.';
