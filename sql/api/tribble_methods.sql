-- API layer, Tribble profile: payment methods (tribble-rest-api.md, "Payment Methods"),
-- served by pg_wallet_bridge under /tribble/api/v1 like sql/api/tribble.sql:
--   POST   /payment-methods                   pg_wallet.api_tribble_payment_method_add
--   GET    /payment-methods                   pg_wallet.api_tribble_payment_methods
--   DELETE /payment-methods/:paymentMethodId  pg_wallet.api_tribble_payment_method_remove
-- Each authenticates a Tribble token first and acts on the caller's own methods only (the
-- payments layer's functions, sql/payments/methods.sql, given the caller's owner); another
-- user's method is 404 like an unknown one. Here only the JSON types of the body are checked;
-- every rule (Luhn, brand, expiry, CVV shape, bounds, the default flag) is the payments
-- layer's. Neither the card number nor the CVV is ever part of a reply or an error.

-- The body's fields that must be JSON strings: 22023 naming the first one missing or of
-- another type.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_strings(b jsonb, fields text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f text;
BEGIN
	FOREACH f IN ARRAY fields LOOP
		IF NOT b ? f OR jsonb_typeof(b -> f) = 'null' THEN
			RAISE EXCEPTION '% is required', f
				USING ERRCODE = 'invalid_parameter_value', COLUMN = f;
		END IF;
		IF jsonb_typeof(b -> f) <> 'string' THEN
			RAISE EXCEPTION '% must be a string', f
				USING ERRCODE = 'invalid_parameter_value', COLUMN = f;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_strings(jsonb, text[]) IS
	'Internal: Tribble request validation: each field present and a JSON string, or 22023 '
	'naming it.';

-- A body field that must be a whole JSON number (1 to 4 digits), as an integer; 22023 naming
-- it otherwise.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_small_int(b jsonb, field text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF jsonb_typeof(b -> field) IS DISTINCT FROM 'number' OR (b ->> field) !~ '^[0-9]{1,4}$' THEN
		RAISE EXCEPTION '% must be a whole number', field
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	RETURN (b ->> field)::integer;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_small_int(jsonb, text) IS
	'Internal: a Tribble body field that must be a whole number of 1 to 4 digits, or 22023 '
	'naming it.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_payment_method_add(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
	dflt boolean := false;
BEGIN
	PERFORM pg_wallet._tribble_require(b, '{}');	-- a JSON object
	PERFORM pg_wallet._tribble_strings(b, ARRAY['type']);
	IF b ->> 'type' NOT IN ('card', 'bank_account') THEN
		RAISE EXCEPTION 'type must be card or bank_account'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'type';
	END IF;
	IF b ? 'isDefault' THEN
		IF jsonb_typeof(b -> 'isDefault') <> 'boolean' THEN
			RAISE EXCEPTION 'isDefault must be true or false'
				USING ERRCODE = 'invalid_parameter_value', COLUMN = 'isDefault';
		END IF;
		dflt := (b -> 'isDefault')::boolean;
	END IF;
	IF b ->> 'type' = 'card' THEN
		PERFORM pg_wallet._tribble_strings(b, ARRAY['cardNumber', 'cardholderName', 'cvv']);
		RETURN pg_wallet.payment_method_add_card(me.owner_id, b ->> 'cardNumber',
				b ->> 'cardholderName', pg_wallet._tribble_small_int(b, 'expiryMonth'),
				pg_wallet._tribble_small_int(b, 'expiryYear'), b ->> 'cvv', dflt)
			|| jsonb_build_object('message', 'Card added successfully. Card has been tokenized.')
			|| pg_wallet._tribble_bridge(me);
	END IF;
	PERFORM pg_wallet._tribble_strings(b, ARRAY['bankName', 'accountNumber', 'accountHolder']);
	RETURN pg_wallet.payment_method_add_bank(me.owner_id, b ->> 'bankName',
			b ->> 'accountNumber', b ->> 'accountHolder', dflt)
		|| jsonb_build_object('message', 'Bank account added successfully.')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_payment_method_add(text, jsonb) IS
	'Tribble POST /payment-methods: a card {"type": "card", cardNumber, cardholderName, '
	'expiryMonth, expiryYear, cvv, isDefault} (payment_method_add_card: tokenised, the CVV '
	'checked and dropped) or a bank account {"type": "bank_account", bankName, accountNumber, '
	'accountHolder, isDefault} (payment_method_add_bank) of the caller. 400 for a malformed '
	'field, 422 when the card fails validation (WL081), 409 when already saved (WL082), 422 '
	'beyond 20 methods (WL083); each naming its field.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_payment_methods(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
BEGIN
	RETURN jsonb_build_object('paymentMethods', pg_wallet.payment_method_list(me.owner_id))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_payment_methods(text, jsonb) IS
	'Tribble GET /payment-methods: {"paymentMethods": [...]}, the caller''s active payment '
	'methods, oldest first (payment_method_list; at most 20, so no pagination).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_payment_method_remove(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	r jsonb := pg_wallet.payment_method_remove(me.owner_id, args #>> '{path,id}');
BEGIN
	RETURN jsonb_build_object('message', 'Payment method deleted successfully',
		'paymentMethodId', r -> 'paymentMethodId') || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_payment_method_remove(text, jsonb) IS
	'Tribble DELETE /payment-methods/:paymentMethodId: deactivate one of the caller''s '
	'payment methods (payment_method_remove); an unknown, removed or another user''s id is '
	'404 (WL080). Returns {"message", "paymentMethodId"}.';
