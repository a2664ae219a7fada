-- Inbound callbacks: one function per adapter. The bridge passes the raw body (exactly as
-- received: signatures cover bytes) and the headers (a JSON object; names are compared
-- case-insensitively). Each verifies the callback, is idempotent (a repeated callback
-- returns the first result and changes nothing), and names an unknown reference (WL063).
-- Errors never echo a secret, a signature or the body.

CREATE OR REPLACE FUNCTION pg_wallet._callback_headers(headers jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF headers IS NULL OR jsonb_typeof(headers) <> 'object'
		OR octet_length(headers::text) > 16384 THEN
		RAISE EXCEPTION 'callback headers must be a JSON object of at most 16384 bytes'
			USING ERRCODE = 'WL066';
	END IF;
	RETURN (SELECT coalesce(jsonb_object_agg(lower(h.key), h.value), '{}')
	        FROM jsonb_each(headers) h);
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_headers(jsonb) IS
	'Internal: callback headers with lower-case names, bounded (WL066 otherwise).';

CREATE OR REPLACE FUNCTION pg_wallet._callback_body(body text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb;
BEGIN
	BEGIN
		j := body::jsonb;
	EXCEPTION WHEN OTHERS THEN
		RAISE EXCEPTION 'malformed callback: the body is not JSON' USING ERRCODE = 'WL066';
	END;
	IF jsonb_typeof(j) <> 'object' THEN
		RAISE EXCEPTION 'malformed callback: the body is not a JSON object'
			USING ERRCODE = 'WL066';
	END IF;
	RETURN j;
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_body(text) IS
	'Internal: a callback body as a JSON object, or WL066 "malformed callback".';

-- The first result of a callback already handled, or NULL; WL066 when the same callback id
-- came with another body.
CREATE OR REPLACE FUNCTION pg_wallet._callback_seen(p_partner_id text, p_callback_id text, p_hash bytea)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_wallet.inbound_callbacks;
BEGIN
	SELECT * INTO c FROM pg_wallet.inbound_callbacks x
	WHERE x.partner_id = p_partner_id AND x.callback_id = p_callback_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF c.body_hash <> p_hash THEN
		RAISE EXCEPTION 'callback % of partner % was already received with another body',
			left(p_callback_id, 100), p_partner_id USING ERRCODE = 'WL066';
	END IF;
	RETURN c.result || jsonb_build_object('replayed', true);
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_seen(text, text, bytea) IS
	'Internal: the stored result of a callback id seen before (same body), or NULL.';

CREATE OR REPLACE FUNCTION pg_wallet._callback_record(
	p_partner_id text, p_callback_id text, p_hash bytea, p_subject text, p_result jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO pg_wallet.inbound_callbacks (partner_id, callback_id, body_hash, subject_ref,
		result)
	VALUES (p_partner_id, left(p_callback_id, 256), p_hash, p_subject, p_result - 'replayed')
	ON CONFLICT (partner_id, callback_id) DO NOTHING;
	RETURN p_result;
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_record(text, text, bytea, text, jsonb) IS
	'Internal: remember a handled callback by id (a concurrent twin that lost the race '
	'leaves the first record).';

-- The amount a callback reports must be the requested one.
CREATE OR REPLACE FUNCTION pg_wallet._callback_amount_check(
	p_reported text, p_amount_minor bigint, p_currency text, p_ref text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	reported bigint;
BEGIN
	IF p_reported IS NULL THEN
		RETURN;
	END IF;
	BEGIN
		reported := pg_wallet.amount_parse(p_reported, p_currency);
	EXCEPTION WHEN OTHERS THEN
		RAISE EXCEPTION 'malformed callback: amount "%" is not valid', left(p_reported, 40)
			USING ERRCODE = 'WL066';
	END;
	IF reported <> p_amount_minor THEN
		RAISE EXCEPTION 'callback amount % % does not match % of %',
			pg_wallet.amount_format(reported, p_currency), p_currency,
			pg_wallet.amount_format(p_amount_minor, p_currency), p_ref USING ERRCODE = 'WL072';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_amount_check(text, bigint, text, text) IS
	'Internal: WL072 when a callback reports another amount than the request''s.';

-- The money a generic callback body reports ("currency", "amount", each optional) must be
-- the request's: WL072 otherwise. what names the subject in the message (deposit, withdrawal,
-- or a layer above's: card payment, card refund).
CREATE OR REPLACE FUNCTION pg_wallet._callback_money_check(j jsonb, p_amount_minor bigint,
	p_currency text, what text, ref text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF j ? 'currency' AND j ->> 'currency' IS DISTINCT FROM p_currency THEN
		RAISE EXCEPTION 'callback currency does not match % %', what, ref
			USING ERRCODE = 'WL072';
	END IF;
	PERFORM pg_wallet._callback_amount_check(j ->> 'amount', p_amount_minor, p_currency, ref);
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_money_check(jsonb, bigint, text, text, text) IS
	'Internal: WL072 when a generic callback reports another currency or amount than the '
	'request''s (either may be absent).';

CREATE OR REPLACE FUNCTION pg_wallet.partner_callback(partner_id text, body text, headers jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id);
	h jsonb := pg_wallet._callback_headers(headers);
	msg_id text := h ->> 'webhook-id';
	ts_text text := h ->> 'webhook-timestamp';
	sigs text := h ->> 'webhook-signature';
	secret bytea;
	hash bytea;
	j jsonb;
	kind text;
	ref text;
	result jsonb;
	fn text;
	callback_type text;		-- kind, under a name no column has
	d pg_wallet.deposits;
	w pg_wallet.withdrawals;
BEGIN
	IF p.adapter <> 'generic_json' THEN
		RAISE EXCEPTION 'partner % speaks %, not generic_json', p.id, p.adapter
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF body IS NULL OR octet_length(body) > 65536 THEN
		RAISE EXCEPTION 'callback body must be at most 65536 bytes' USING ERRCODE = 'WL066';
	END IF;
	IF msg_id IS NULL OR ts_text IS NULL OR sigs IS NULL
		OR length(msg_id) NOT BETWEEN 1 AND 256 OR ts_text !~ '^[0-9]{1,12}$' THEN
		RAISE EXCEPTION 'invalid callback signature: webhook-id, webhook-timestamp and '
			'webhook-signature are required' USING ERRCODE = 'WL065';
	END IF;
	IF abs(extract(epoch FROM now()) - ts_text::bigint) > 300 THEN
		RAISE EXCEPTION 'invalid callback signature: timestamp is more than 300 seconds away'
			USING ERRCODE = 'WL065';
	END IF;
	SELECT s.webhook_secret INTO secret FROM pg_wallet.partner_secrets s WHERE s.partner_id = p.id;
	IF NOT pg_wallet._webhook_signature_ok(secret, msg_id, ts_text::bigint, body, sigs) THEN
		RAISE EXCEPTION 'invalid callback signature' USING ERRCODE = 'WL065';
	END IF;
	hash := sha256(convert_to(body, 'UTF8'));
	result := pg_wallet._callback_seen(p.id, msg_id, hash);
	IF result IS NOT NULL THEN
		RETURN result;
	END IF;
	j := pg_wallet._callback_body(body);
	kind := j ->> 'type';
	ref := j ->> 'reference';
	-- a kind of a layer above (partner_subject_kinds: card.completed, card.failed)
	callback_type := kind;
	SELECT k.callback_function INTO fn FROM pg_wallet.partner_subject_kinds k
	WHERE callback_type IN (k.callback_prefix || '.completed', k.callback_prefix || '.failed');
	IF fn IS NOT NULL AND length(ref) <= 64 THEN
		EXECUTE format('SELECT pg_wallet.%I($1, $2)', fn) INTO result USING p, j;
		RETURN pg_wallet._callback_record(p.id, msg_id, hash, ref, result);
	END IF;
	IF kind IS NULL OR kind NOT IN ('deposit.completed', 'deposit.failed', 'payout.completed',
		'payout.failed') OR ref IS NULL OR length(ref) > 64 THEN
		RAISE EXCEPTION 'malformed callback: "type" must be deposit.completed, deposit.failed, '
			'payout.completed, payout.failed, card.completed or card.failed, with a '
			'"reference"' USING ERRCODE = 'WL066';
	END IF;
	IF kind LIKE 'deposit.%' THEN
		SELECT * INTO d FROM pg_wallet.deposits x WHERE x.request_ref = ref AND x.partner_id = p.id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown reference: partner % has no deposit %', p.id, ref
				USING ERRCODE = 'WL063';
		END IF;
		PERFORM pg_wallet._callback_money_check(j, d.amount_minor, d.currency, 'deposit', ref);
		result := CASE kind WHEN 'deposit.completed'
			THEN pg_wallet._deposit_complete(ref, j ->> 'partner_reference')
			ELSE pg_wallet._deposit_fail(ref, 'failed',
			                             coalesce(j ->> 'error', 'Payment failed')) END;
	ELSE
		SELECT * INTO w FROM pg_wallet.withdrawals x WHERE x.request_ref = ref AND x.partner_id = p.id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown reference: partner % has no withdrawal %', p.id, ref
				USING ERRCODE = 'WL063';
		END IF;
		PERFORM pg_wallet._callback_money_check(j, w.amount_minor, w.currency, 'withdrawal', ref);
		result := CASE kind WHEN 'payout.completed'
			THEN pg_wallet._withdrawal_complete(ref, j ->> 'partner_reference')
			ELSE pg_wallet._withdrawal_fail(ref, coalesce(j ->> 'error', 'Payout failed')) END;
	END IF;
	RETURN pg_wallet._callback_record(p.id, msg_id, hash, ref, result);
END
$$;
COMMENT ON FUNCTION pg_wallet.partner_callback(text, text, jsonb) IS
	'Callback of a generic_json partner: the raw body and the headers. Verifies the Standard '
	'Webhooks signature (webhook-id, webhook-timestamp within 300 s, webhook-signature '
	'v1 HMAC-SHA256 under the partner''s secret: WL065), reads {"type": deposit.completed | '
	'deposit.failed | payout.completed | payout.failed | card.completed | card.failed, '
	'"reference", "amount", "currency", "partner_reference", "error"} (WL066 malformed, WL063 '
	'unknown reference, WL072 amount mismatch) and completes or fails the deposit, payout or '
	'card payment (its transactionId; amount: what the card was charged). Idempotent by '
	'webhook-id and by '
	'state: a repeat returns {"status", "replayed": true} and changes nothing.';

-- One item of a Daraja CallbackMetadata / ResultParameters list, by name.
CREATE OR REPLACE FUNCTION pg_wallet._mpesa_item(items jsonb, name text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT i ->> 'Value'
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(items) = 'array' THEN items ELSE '[]' END) i
	WHERE coalesce(i ->> 'Name', i ->> 'Key') = name
	LIMIT 1
$$;
COMMENT ON FUNCTION pg_wallet._mpesa_item(jsonb, text) IS
	'Internal: the Value of the item called name in a Daraja Item (Name/Value) or '
	'ResultParameter (Key/Value) list.';

CREATE OR REPLACE FUNCTION pg_wallet.mpesa_callback(partner_id text, body text, headers jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id);
	h jsonb := pg_wallet._callback_headers(headers);
	given text := h ->> 'x-callback-token';
	secret bytea;
	expected text;
	hash bytea;
	j jsonb;
	cb jsonb;
	callback_id text;
	result jsonb;
	d pg_wallet.deposits;
	w pg_wallet.withdrawals;
BEGIN
	IF p.adapter <> 'mpesa_daraja' THEN
		RAISE EXCEPTION 'partner % speaks %, not mpesa_daraja', p.id, p.adapter
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF body IS NULL OR octet_length(body) > 65536 THEN
		RAISE EXCEPTION 'callback body must be at most 65536 bytes' USING ERRCODE = 'WL066';
	END IF;
	SELECT s.webhook_secret INTO secret FROM pg_wallet.partner_secrets s WHERE s.partner_id = p.id;
	expected := encode(pg_wallet._hmac_sha256(secret,
		convert_to('mpesa-callback:' || p.id, 'UTF8')), 'hex');
	IF given IS NULL OR length(given) <> 64
		OR NOT pg_wallet._ct_equal(convert_to(given, 'UTF8'), convert_to(expected, 'UTF8')) THEN
		RAISE EXCEPTION 'invalid callback signature: the callback URL token is wrong'
			USING ERRCODE = 'WL065';
	END IF;
	j := pg_wallet._callback_body(body);
	hash := sha256(convert_to(body, 'UTF8'));
	IF j #> '{Body,stkCallback}' IS NOT NULL THEN
		cb := j #> '{Body,stkCallback}';
		IF jsonb_typeof(cb) <> 'object' OR cb ->> 'CheckoutRequestID' IS NULL
			OR cb ->> 'ResultCode' IS NULL THEN
			RAISE EXCEPTION 'malformed callback: stkCallback needs CheckoutRequestID and ResultCode'
				USING ERRCODE = 'WL066';
		END IF;
		callback_id := 'stk:' || left(cb ->> 'CheckoutRequestID', 128);
		result := pg_wallet._callback_seen(p.id, callback_id, hash);
		IF result IS NOT NULL THEN
			RETURN result;
		END IF;
		SELECT * INTO d FROM pg_wallet.deposits x
		WHERE x.partner_id = p.id AND x.partner_request_id = cb ->> 'CheckoutRequestID';
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown reference: partner % has no STK push %', p.id,
				left(cb ->> 'CheckoutRequestID', 64) USING ERRCODE = 'WL063';
		END IF;
		IF cb ->> 'ResultCode' = '0' THEN
			PERFORM pg_wallet._callback_amount_check(
				pg_wallet._mpesa_item(cb #> '{CallbackMetadata,Item}', 'Amount'),
				d.amount_minor, d.currency, d.request_ref);
			result := pg_wallet._deposit_complete(d.request_ref,
				pg_wallet._mpesa_item(cb #> '{CallbackMetadata,Item}', 'MpesaReceiptNumber'));
		ELSE
			result := pg_wallet._deposit_fail(d.request_ref, 'failed',
				coalesce(left(cb ->> 'ResultDesc', 200), 'M-Pesa result ' || (cb ->> 'ResultCode')));
		END IF;
		RETURN pg_wallet._callback_record(p.id, callback_id, hash, d.request_ref, result);
	END IF;
	IF j -> 'Result' IS NOT NULL THEN
		cb := j -> 'Result';
		IF jsonb_typeof(cb) <> 'object' OR cb ->> 'OriginatorConversationID' IS NULL
			OR cb ->> 'ResultCode' IS NULL THEN
			RAISE EXCEPTION 'malformed callback: Result needs OriginatorConversationID and ResultCode'
				USING ERRCODE = 'WL066';
		END IF;
		callback_id := 'b2c:' || left(coalesce(cb ->> 'ConversationID',
		                                       cb ->> 'OriginatorConversationID'), 128);
		result := pg_wallet._callback_seen(p.id, callback_id, hash);
		IF result IS NOT NULL THEN
			RETURN result;
		END IF;
		SELECT * INTO w FROM pg_wallet.withdrawals x
		WHERE x.partner_id = p.id AND x.request_ref = cb ->> 'OriginatorConversationID';
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown reference: partner % has no payout %', p.id,
				left(cb ->> 'OriginatorConversationID', 64) USING ERRCODE = 'WL063';
		END IF;
		IF cb ->> 'ResultCode' = '0' THEN
			PERFORM pg_wallet._callback_amount_check(
				pg_wallet._mpesa_item(cb #> '{ResultParameters,ResultParameter}', 'TransactionAmount'),
				w.amount_minor, w.currency, w.request_ref);
			result := pg_wallet._withdrawal_complete(w.request_ref, cb ->> 'TransactionID');
		ELSE
			result := pg_wallet._withdrawal_fail(w.request_ref,
				coalesce(left(cb ->> 'ResultDesc', 200), 'M-Pesa result ' || (cb ->> 'ResultCode')));
		END IF;
		RETURN pg_wallet._callback_record(p.id, callback_id, hash, w.request_ref, result);
	END IF;
	RAISE EXCEPTION 'malformed callback: neither Body.stkCallback nor Result'
		USING ERRCODE = 'WL066';
END
$$;
COMMENT ON FUNCTION pg_wallet.mpesa_callback(text, text, jsonb) IS
	'Callback of an mpesa_daraja partner: an STK push callback {"Body": {"stkCallback": '
	'{CheckoutRequestID, ResultCode, ResultDesc, CallbackMetadata.Item[Amount, '
	'MpesaReceiptNumber, ...]}}} or a B2C result {"Result": {OriginatorConversationID, '
	'ConversationID, TransactionID, ResultCode, ResultDesc, ResultParameters}}. Daraja signs '
	'nothing: the callback URL carries a token (HMAC of the partner id under its secret) that '
	'the bridge passes as x-callback-token (WL065 when wrong). ResultCode 0 completes, any '
	'other fails (1032: cancelled by the user). Idempotent by CheckoutRequestID / '
	'ConversationID; WL063 for an unknown request, WL066 malformed, WL072 amount mismatch.';
