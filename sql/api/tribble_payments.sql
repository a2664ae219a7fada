-- API layer, Tribble profile: payments and refunds (tribble-rest-api.md, "Transactions" and
-- "Refunds"), served by pg_wallet_bridge under /tribble/api/v1 like sql/api/tribble.sql:
--   POST /transactions                         pg_wallet.api_tribble_pay
--   GET  /transactions                         pg_wallet.api_tribble_transactions
--   GET  /transactions/:transactionId          pg_wallet.api_tribble_transaction
--   POST /transactions/:transactionId/refund   pg_wallet.api_tribble_refund
--   GET  /transactions/:transactionId/refunds  pg_wallet.api_tribble_refunds
-- Each authenticates a Tribble token first, validates the request's shape (400 naming the
-- field), calls the payments layer (sql/payments/payments.sql) for the caller and reports the
-- caller's rate limits in "_bridge". merchantId is the merchant principal's id, customerId the
-- user's (its userId). A paymentMethodId card-<id> pays with a saved card
-- (sql/payments/cards.sql); "wallet" or a walletId from a wallet; anything else is 422 WL089.

-- A query parameter that is a count: its default when absent, else digits within [lo, hi],
-- else 22023 naming it.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_query_int(q jsonb, name text, dflt integer,
	lo integer, hi integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT q ? name THEN
		RETURN dflt;
	END IF;
	IF coalesce(q ->> name, '') ~ '^[0-9]{1,7}$' AND (q ->> name)::integer BETWEEN lo AND hi
	THEN
		RETURN (q ->> name)::integer;
	END IF;
	RAISE EXCEPTION '% must be a number from % to %', name, lo, hi
		USING ERRCODE = 'invalid_parameter_value', COLUMN = name;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_query_int(jsonb, text, integer, integer, integer) IS
	'Internal: a Tribble count query parameter (digits within [lo, hi]) or its default; 22023 '
	'naming the parameter otherwise.';

-- An optional string field of a body: NULL when absent or null, else a string of 1 to max
-- characters, else 22023 naming it.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_opt_string(b jsonb, name text, max integer)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF b -> name IS NULL OR jsonb_typeof(b -> name) = 'null' THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(b -> name) <> 'string' OR length(b ->> name) NOT BETWEEN 1 AND max THEN
		RAISE EXCEPTION '% must be a string of 1 to % characters', name, max
			USING ERRCODE = 'invalid_parameter_value', COLUMN = name;
	END IF;
	RETURN b ->> name;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_opt_string(jsonb, text, integer) IS
	'Internal: an optional string body field of 1 to max characters (NULL when absent), or '
	'22023 naming it.';

-- An optional amount of a body: NULL when absent (only when not required), else a JSON number
-- greater than 0, else 22023 naming it.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_amount(b jsonb, required boolean)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT required AND (b -> 'amount' IS NULL OR jsonb_typeof(b -> 'amount') = 'null') THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(b -> 'amount') IS DISTINCT FROM 'number' OR (b ->> 'amount')::numeric <= 0
	THEN
		RAISE EXCEPTION 'Amount must be greater than 0'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'amount';
	END IF;
	RETURN (b ->> 'amount')::numeric;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_amount(jsonb, boolean) IS
	'Internal: the body''s amount, a JSON number > 0 (NULL when absent and not required), or '
	'22023 naming it.';

-- An amount with more decimals than its currency has (trailing zeros aside): 22023 naming
-- the amount field, before the core refuses it without knowing which field it came from.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_amount_decimals(amount numeric, currency text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e smallint := (SELECT c.exponent FROM pg_wallet.currencies c WHERE c.code = currency);
BEGIN
	IF e IS NOT NULL AND scale(trim_scale(amount)) > e THEN
		RAISE EXCEPTION 'amount has more decimals than % allows (%)', currency, e
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'amount';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_amount_decimals(numeric, text) IS
	'Internal: 22023 naming the amount field when it has more decimals than its currency.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_pay(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['user']);
	b jsonb := args -> 'body';
	amount numeric;
	method text;
	wallet text;
	meta jsonb;
	r jsonb;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['currency', 'merchantId']);
	amount := pg_wallet._tribble_amount(b, true);
	PERFORM pg_wallet._tribble_amount_decimals(amount, b ->> 'currency');
	IF jsonb_typeof(b -> 'customerId') IS DISTINCT FROM 'null' AND b ? 'customerId'
		AND lower(b ->> 'customerId') IS DISTINCT FROM me.principal_id::text THEN
		RAISE EXCEPTION 'customerId must be your own userId (or be left out)'
			USING ERRCODE = 'WL093', COLUMN = 'customerId';
	END IF;
	method := pg_wallet._tribble_opt_string(b, 'paymentMethodId', 64);
	IF method IS NOT NULL AND method <> 'wallet' AND method !~ '^(card|bank)-' THEN
		-- one of the caller's wallets by its walletId; card-<id> and bank-<id> are saved
		-- payment methods (card_payment_create: a card pays, a bank account cannot)
		wallet := (SELECT a.account_number FROM pg_wallet.accounts a
		           WHERE a.account_number = method AND a.owner_id = me.owner_id
		             AND a.purpose = 'WALLET');
		IF wallet IS NULL THEN
			RAISE EXCEPTION 'payment method not available: pay from a wallet (leave '
				'paymentMethodId out, or give "wallet" or one of your walletIds) or a saved card'
				USING ERRCODE = 'WL089', COLUMN = 'paymentMethodId';
		END IF;
	END IF;
	PERFORM pg_wallet._tribble_opt_string(b, 'description', 200);
	meta := b -> 'metadata';
	IF jsonb_typeof(meta) = 'null' THEN
		meta := NULL;
	END IF;
	IF meta IS NOT NULL AND (jsonb_typeof(meta) <> 'object' OR octet_length(meta::text) > 2048)
	THEN
		RAISE EXCEPTION 'metadata must be a JSON object of at most 2048 bytes'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'metadata';
	END IF;
	PERFORM pg_wallet._tribble_opt_string(meta, 'reference', 100);
	IF method ~ '^(card|bank)-' THEN
		r := pg_wallet.card_payment_create(me.principal_id, b ->> 'merchantId', amount,
			b ->> 'currency', method, meta ->> 'reference', b ->> 'description', meta);
	ELSE
		r := pg_wallet.payment_create(me.principal_id, b ->> 'merchantId', amount,
			b ->> 'currency', meta ->> 'reference', b ->> 'description', meta, wallet);
	END IF;
	IF r ->> 'status' = 'FAILED' THEN
		-- returned, not raised: the failed payment and its claim stay, so a retry under the
		-- same reference gets the same answer
		RETURN jsonb_build_object('error', r -> 'error') || pg_wallet._tribble_bridge(me);
	END IF;
	RETURN (r - 'error' - 'replayed' - 'completedAt') || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_pay(text, jsonb) IS
	'Tribble POST /transactions: a user pays a merchant from a wallet (payment_create) or '
	'a saved card (card_payment_create): {amount, currency, merchantId (the merchant '
	'principal''s id), customerId (the caller or absent: WL093), paymentMethodId ("wallet", '
	'a walletId of the caller, a card-<id> of the caller (404 WL080 otherwise), or absent; a '
	'bank account or anything else is 422 WL089), description (200), metadata (object, 2048 '
	'bytes; metadata.reference is the idempotency key)}. 201 {transactionId, amount, '
	'currency, customerId, merchantId, status SUCCESS, or PROCESSING (held for fraud review; '
	'a card: until the partner''s callback), fraudScore {score, riskLevel, decision}, '
	'createdAt, processorChargeId (a card)}; a refused payment is returned as its error (402 '
	'WL001, 403 WL047, ...) and kept FAILED.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_transaction(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	p jsonb := pg_wallet.payment_get(args #>> '{path,id}', me.principal_id)
		|| pg_wallet.card_payment_details(args #>> '{path,id}', me.principal_id);
	r pg_wallet.receipts;
BEGIN
	-- an issued receipt, as the spec shows it: its id and the URL a person opens it at
	IF p #>> '{receipt,receiptId}' IS NOT NULL THEN
		SELECT * INTO r FROM pg_wallet.receipts x WHERE x.receipt_id = p #>> '{receipt,receiptId}';
		p := jsonb_set(p, '{receipt,url}', to_jsonb(pg_wallet.receipt_url(r, args ->> 'base',
			'pdf')));
	END IF;
	RETURN p || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_transaction(text, jsonb) IS
	'Tribble GET /transactions/:transactionId: one of the caller''s payments, made or '
	'received (payment_get), with its receipt {receiptId, url} once issued; another''s or an '
	'unknown one is 404 (WL088).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_transactions(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	q jsonb := coalesce(args -> 'query', '{}');
	d_start date := pg_wallet._tribble_query_date(q, 'startDate', NULL);
	d_end date := pg_wallet._tribble_query_date(q, 'endDate', NULL);
BEGIN
	IF d_end < d_start THEN
		RAISE EXCEPTION 'endDate must not be before startDate'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'endDate';
	END IF;
	-- whole UTC days: [startDate 00:00, the day after endDate 00:00)
	RETURN pg_wallet.payments_list(me.principal_id, q ->> 'status',
		d_start::timestamp AT TIME ZONE 'UTC', (d_end + 1)::timestamp AT TIME ZONE 'UTC',
		pg_wallet._tribble_query_int(q, 'limit', 20, 1, 100),
		pg_wallet._tribble_query_int(q, 'offset', 0, 0, 1000000),
		coalesce(q ->> 'sortBy', 'createdAt'), coalesce(q ->> 'sortOrder', 'desc'))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_transactions(text, jsonb) IS
	'Tribble GET /transactions[?status&startDate&endDate&limit&offset&sortBy&sortOrder]: the '
	'caller''s payments (a merchant''s: received) over whole UTC days (endDate included), '
	'limit 1-100 (default 20), sortBy createdAt (default) or amount, sortOrder desc (default) '
	'or asc: {transactions, pagination {total, limit, offset, hasMore}}; 400 naming a bad '
	'parameter.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_refund(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := coalesce(args -> 'body', '{}');
	r jsonb;
BEGIN
	PERFORM pg_wallet._tribble_require(b, '{}');	-- a JSON object
	r := pg_wallet.payment_refund(args #>> '{path,id}', me.principal_id,
		pg_wallet._tribble_amount(b, false), pg_wallet._tribble_opt_string(b, 'reason', 50),
		pg_wallet._tribble_opt_string(b, 'description', 200),
		pg_wallet._tribble_opt_string(b, 'idempotencyKey', 100));
	RETURN (r - 'replayed') || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_refund(text, jsonb) IS
	'Tribble POST /transactions/:transactionId/refund: {amount (default: all that remains), '
	'reason (50), description (200), idempotencyKey (100)} by the payment''s merchant or an '
	'admin (payment_refund; the customer: 403 WL092; anyone else: 404 WL088). 201 '
	'{refundId, transactionId, amount, currency, status (COMPLETED for a wallet payment; '
	'PENDING for a card payment, whose partner returns the money to the card), reason, '
	'description, createdAt, completedAt, remaining, message}; 422 WL090 beyond what remains, '
	'WL091 for a payment that did not succeed, WL096 when the card''s partner is not active.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_refunds(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
BEGIN
	RETURN pg_wallet.payment_refunds(args #>> '{path,id}', me.principal_id)
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_refunds(text, jsonb) IS
	'Tribble GET /transactions/:transactionId/refunds: the refunds of a payment of the caller '
	'(customer or merchant; admins too) with summary {totalRefunded, refundCount, remaining}; '
	'404 (WL088) otherwise.';
