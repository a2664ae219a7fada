-- API layer, Tribble profile: receipts (tribble-rest-api.md "Receipts", docs/receipts.md).
-- GET /transactions/:transactionId/receipt gives a transaction's signed receipt (issued on
-- first request) and the URL a person opens it at; POST .../receipt/generate makes one in a
-- format, or emails its link through the outbox; GET /receipts/:file serves it as HTML or
-- PDF (bridge/document.c renders pg_wallet.receipt_layout) to whoever holds the URL's token.

-- The journal of one of the caller's transactions: a payment's transactionId (TXN-..., the
-- caller its customer or merchant, the payment SUCCESS) or a receipt code (the caller owns an
-- account the journal moved); another user's and an unknown one are the same 404 (WL014).
CREATE OR REPLACE FUNCTION pg_wallet._tribble_transaction_journal(
	me pg_wallet.auth_principal, transaction_id text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	jid bigint;
BEGIN
	-- a payment (TXN-...): its posting, for its customer and its merchant
	SELECT p.journal_id INTO jid FROM pg_wallet.payments p
	WHERE p.transaction_ref = transaction_id AND p.status = 'SUCCESS'
		AND (pg_wallet._owns(me, p.customer_owner_id) OR pg_wallet._owns(me, p.merchant_owner_id));
	IF jid IS NOT NULL THEN
		RETURN jid;
	END IF;
	IF length(transaction_id) <= 64 THEN
		jid := pg_wallet.journal_id_from_receipt(transaction_id);
	END IF;
	IF jid IS NULL OR NOT EXISTS (
			SELECT 1 FROM pg_wallet.journals j
			WHERE j.id = jid AND j.status = 'POSTED'
				AND pg_wallet.receipt_code(j.id, j.created_at) = transaction_id)
		OR NOT EXISTS (
			SELECT 1 FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
			WHERE e.journal_id = jid AND pg_wallet._owns(me, a.owner_id)) THEN
		RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
	END IF;
	RETURN jid;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_transaction_journal(pg_wallet.auth_principal, text) IS
	'Internal: the posted journal of a transaction of the caller''s (by receipt code, an '
	'account of the caller''s among its entries); WL014 otherwise.';

-- The format query or body field: pdf (the default), html or json; 22023 naming it else.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_receipt_format(v text, allowed text[])
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF v IS NULL THEN
		RETURN 'pdf';
	END IF;
	IF NOT v = ANY (allowed) THEN
		RAISE EXCEPTION 'format must be one of %', array_to_string(allowed, ', ')
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'format';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_receipt_format(text, text[]) IS
	'Internal: a receipt format among the allowed ones (pdf when absent), or 22023.';

CREATE OR REPLACE FUNCTION pg_wallet._tribble_receipt_json(
	r pg_wallet.receipts, transaction_id text, format text, base text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('receiptId', r.receipt_id, 'transactionId', transaction_id,
		'format', format,
		'url', pg_wallet.receipt_url(r, base, CASE format WHEN 'json' THEN 'html' ELSE format END),
		'digitalSignature', r.signature,
		'createdAt', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'expiresAt', to_char((r.created_at + interval '100 years') AT TIME ZONE 'UTC',
			'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
		|| CASE WHEN format = 'json' THEN jsonb_build_object('receipt', r.document)
			ELSE '{}' END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_receipt_json(pg_wallet.receipts, text, text, text) IS
	'Internal: the spec''s receipt response (the signed document too for format json).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_receipt(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	id text := args #>> '{path,id}';
	fmt text := pg_wallet._tribble_receipt_format(args #>> '{query,format}',
		ARRAY['pdf', 'html', 'json']);
	r pg_wallet.receipts := pg_wallet.receipt_issue(pg_wallet._tribble_transaction_journal(me, id));
BEGIN
	RETURN pg_wallet._tribble_receipt_json(r, id, fmt, args ->> 'base')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_receipt(text, jsonb) IS
	'Tribble GET /transactions/:transactionId/receipt?format=pdf|html|json: the signed receipt '
	'of one of the caller''s transactions (issued on first request) with the URL a person '
	'opens it at; json adds the signed document. 404 (WL014) for another user''s or an '
	'unknown transaction.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_receipt_generate(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	id text := args #>> '{path,id}';
	b jsonb := args -> 'body';
	fmt text;
	r pg_wallet.receipts;
	to_addr text;
	p pg_wallet.partners;
	link text;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['format']);
	fmt := pg_wallet._tribble_receipt_format(b ->> 'format', ARRAY['pdf', 'html', 'email']);
	IF fmt = 'email' THEN
		PERFORM pg_wallet._tribble_require(b, ARRAY['recipient']);
		to_addr := lower(b ->> 'recipient');
		IF length(to_addr) > 254 OR to_addr !~ '^[^@[:space:]<>",;]+@[^@[:space:]<>",;]+\.[a-z]{2,}$' THEN
			RAISE EXCEPTION 'recipient must be an email address'
				USING ERRCODE = 'invalid_parameter_value', COLUMN = 'recipient';
		END IF;
	END IF;
	r := pg_wallet.receipt_issue(pg_wallet._tribble_transaction_journal(me, id));
	IF fmt <> 'email' THEN
		RETURN jsonb_build_object('receiptId', r.receipt_id, 'format', fmt,
			'status', 'GENERATED', 'url', pg_wallet.receipt_url(r, args ->> 'base', fmt),
			'message', 'Receipt generated successfully') || pg_wallet._tribble_bridge(me);
	END IF;
	SELECT * INTO p FROM pg_wallet.partners x
	WHERE x.service = 'email' AND x.status = 'active' ORDER BY x.priority, x.id LIMIT 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'email delivery is not configured' USING ERRCODE = 'WL095';
	END IF;
	link := pg_wallet.receipt_url(r, args ->> 'base', 'html');
	PERFORM pg_wallet._outbox_enqueue(p.id, 'receipt_email', r.receipt_id,
		p.base_url || '/emails', jsonb_build_object('to', to_addr,
			'subject', 'Your receipt ' || r.receipt_id,
			'text', format(E'Your receipt for transaction %s: %s %s.\nOpen it at %s',
				r.document ->> 'transactionId', r.document ->> 'amount',
				r.document ->> 'currency', link),
			'receiptId', r.receipt_id, 'url', link));
	RETURN jsonb_build_object('receiptId', r.receipt_id, 'format', 'email', 'status', 'SENT',
		'recipient', to_addr,
		'sentAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'message', 'Receipt sent successfully') || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_receipt_generate(text, jsonb) IS
	'Tribble POST /transactions/:transactionId/receipt/generate {format: pdf|html|email, '
	'recipient}: the receipt''s URL in a format, or an email with its link queued in the '
	'outbox (the active partner of service email, POST <base_url>/emails) in this '
	'transaction: status SENT. 422 (WL095) when no email partner is configured.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_receipt_file(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet.receipt_layout(args #>> '{path,id}', args #>> '{query,token}');
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_receipt_file(text, jsonb) IS
	'Tribble GET /receipts/:file?token= (no bearer: the token is the capability): the '
	'receipt''s lines for the bridge to render as HTML or PDF; 404 (WL014) otherwise.';
