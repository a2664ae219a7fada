-- Payment methods (issue 13): the functions over payments/methods_tables.sql.
--
-- Owns the rules of a payment method: a card's checks (digits, Luhn, brand from the number,
-- CVV shape, expiry), its token (HMAC-SHA256 of the number under payment_card_keys), a bank
-- account's checks and mask, one owner per method, one default per owner, at most 20 active
-- methods per owner, soft removal, and payment_method_check, the one rule that anything
-- charging a method (Tribble POST /wallets/fund, payments to come) calls.
-- Must never: store, return, log or raise with a card number or a CVV (no message, detail or
-- hint of this file holds a value it was given; a value is validated by pattern before any
-- cast that could echo it), or move money.
--
-- Shapes are the Tribble spec's (camelCase; refusals name the request field in COLUMN,
-- which the bridge shows as details.field): 22023 for a malformed field (400), WL081 when a
-- card fails validation (Luhn, brand, length, expiry: 422), WL082 for a card or bank account
-- the owner has saved already (409), WL083 beyond 20 active methods (422), WL080 for a
-- method that is unknown, removed or another owner's (404: one error for the three).
-- Brands: VISA (4; 13, 16 or 19 digits), MASTERCARD (51-55, 2221-2720; 16), AMEX (34, 37;
-- 15), VERVE (506099-506198, 650002-650027; 16, 18 or 19), DISCOVER (6011, 644-649, 65;
-- 16 to 19); any other number is refused (WL081).

CREATE OR REPLACE FUNCTION pg_wallet._payment_card_key()
RETURNS bytea
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k bytea;
BEGIN
	SELECT x.secret INTO k FROM pg_wallet.payment_card_keys x WHERE x.id = 1;
	IF k IS NULL THEN
		-- a concurrent first use inserts too: the primary key keeps one, we read it
		INSERT INTO pg_wallet.payment_card_keys (id, secret)
		VALUES (1, pg_wallet._random_bytes(32))
		ON CONFLICT (id) DO NOTHING;
		SELECT x.secret INTO STRICT k FROM pg_wallet.payment_card_keys x WHERE x.id = 1;
	END IF;
	RETURN k;
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_card_key() IS
	'Internal: the HMAC key of card tokens (payment_card_keys), 32 random bytes made on '
	'first use.';

-- Luhn (ISO/IEC 7812-1): from the right, every second digit doubled (less 9 above 9), the
-- sum a multiple of 10. digits: digits only (the callers' pattern check).
CREATE OR REPLACE FUNCTION pg_wallet._card_luhn_ok(digits text)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n integer := length(digits);
	s integer := 0;
	d integer;
BEGIN
	FOR i IN 1..n LOOP
		d := ascii(substr(digits, n - i + 1, 1)) - 48;
		IF i % 2 = 0 THEN
			d := d * 2;
			IF d > 9 THEN
				d := d - 9;
			END IF;
		END IF;
		s := s + d;
	END LOOP;
	RETURN n > 0 AND s % 10 = 0;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_luhn_ok(text) IS
	'Internal: true when a string of digits passes the Luhn check (ISO/IEC 7812-1).';

-- The brand of a card number by its leading digits (VERVE's Nigerian ranges first: 65xxxx is
-- DISCOVER's too), or NULL when no supported brand has that prefix.
CREATE OR REPLACE FUNCTION pg_wallet._card_brand(digits text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p6 integer;
BEGIN
	IF digits !~ '^[0-9]{6}' THEN
		RETURN NULL;
	END IF;
	p6 := left(digits, 6)::integer;
	RETURN CASE
		WHEN p6 BETWEEN 506099 AND 506198 OR p6 BETWEEN 650002 AND 650027 THEN 'VERVE'
		WHEN p6 / 10000 IN (34, 37) THEN 'AMEX'
		WHEN p6 / 100000 = 4 THEN 'VISA'
		WHEN p6 / 10000 BETWEEN 51 AND 55 OR p6 / 100 BETWEEN 2221 AND 2720 THEN 'MASTERCARD'
		WHEN p6 / 100 = 6011 OR p6 / 1000 BETWEEN 644 AND 649 OR p6 / 10000 = 65 THEN 'DISCOVER'
	END;
END
$$;
COMMENT ON FUNCTION pg_wallet._card_brand(text) IS
	'Internal: VISA, MASTERCARD, AMEX, VERVE or DISCOVER from a card number''s leading '
	'digits; NULL for any other.';

CREATE OR REPLACE FUNCTION pg_wallet._card_length_ok(brand text, n integer)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE brand
		WHEN 'VISA' THEN n IN (13, 16, 19)
		WHEN 'MASTERCARD' THEN n = 16
		WHEN 'AMEX' THEN n = 15
		WHEN 'VERVE' THEN n IN (16, 18, 19)
		WHEN 'DISCOVER' THEN n BETWEEN 16 AND 19
		ELSE false
	END
$$;
COMMENT ON FUNCTION pg_wallet._card_length_ok(text, integer) IS
	'Internal: whether a card number of n digits is a valid length for its brand.';

-- A person's or a bank's name: required, at most 100 characters once trimmed, no control
-- character; a person's (digits false) holds no digit either, so that no card number can be
-- saved in a name field. Returns the trimmed name, or 22023 naming the field.
CREATE OR REPLACE FUNCTION pg_wallet._payment_name(v text, field text, digits boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := btrim(v);
BEGIN
	IF t IS NULL OR t = '' THEN
		RAISE EXCEPTION '% is required', field
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	IF length(t) > 100 THEN
		RAISE EXCEPTION '% must be at most 100 characters', field
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	IF t ~ '[[:cntrl:]]' OR (NOT digits AND t ~ '[0-9]') THEN
		RAISE EXCEPTION '% must not contain %', field,
			CASE WHEN digits THEN 'control characters' ELSE 'digits or control characters' END
			USING ERRCODE = 'invalid_parameter_value', COLUMN = field;
	END IF;
	RETURN t;
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_name(text, text, boolean) IS
	'Internal: a trimmed name of 1 to 100 characters without control characters (and '
	'without digits unless allowed), or 22023 naming the field.';

CREATE OR REPLACE FUNCTION pg_wallet._payment_method_public_id(m pg_wallet.payment_methods)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE m.kind WHEN 'card' THEN 'card-' ELSE 'bank-' END || m.id::text;
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_method_public_id(pg_wallet.payment_methods) IS
	'Internal: a payment method''s paymentMethodId, card-<uuid> or bank-<uuid>.';

-- A payment method as the Tribble spec shows it: the list's item, or (detailed) the reply of
-- POST /payment-methods, which adds the cardholder's name and createdAt. Never the token.
CREATE OR REPLACE FUNCTION pg_wallet._payment_method_json(m pg_wallet.payment_methods,
	detailed boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r jsonb := jsonb_build_object('paymentMethodId', pg_wallet._payment_method_public_id(m),
		'type', m.kind, 'isDefault', m.is_default, 'isActive', m.is_active);
BEGIN
	IF m.kind = 'card' THEN
		r := r || jsonb_build_object('last4Digits', m.last4, 'brand', m.brand,
			'expiryMonth', m.expiry_month, 'expiryYear', m.expiry_year);
		IF detailed THEN
			r := r || jsonb_build_object('cardholderName', m.cardholder_name);
		END IF;
	ELSE
		r := r || jsonb_build_object('bankName', m.bank_name,
			'accountNumber', '****' || right(m.account_number, 4),
			'accountHolder', m.account_holder);
	END IF;
	IF detailed THEN
		r := r || jsonb_build_object('createdAt', pg_wallet._ts_iso(m.created_at));
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_method_json(pg_wallet.payment_methods, boolean) IS
	'Internal: a payment method in the Tribble spec''s shape (card: last4Digits, brand, '
	'expiry; bank_account: bankName, accountNumber masked ****1234, accountHolder); detailed adds '
	'cardholderName and createdAt. Never the token.';

-- One active payment method of the owner by its paymentMethodId (locked when asked), or WL080:
-- the same error, byte for byte, for a malformed id, an unknown one, a removed one and
-- another owner's, so that no caller learns whether another user's id exists.
CREATE OR REPLACE FUNCTION pg_wallet._payment_method_row(owner_id bigint, payment_method_id text,
	for_update boolean DEFAULT false)
RETURNS pg_wallet.payment_methods
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	parts text[];
	m pg_wallet.payment_methods;
BEGIN
	IF length(payment_method_id) <= 64 THEN
		parts := regexp_match(payment_method_id,
			'^(card|bank)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$');
	END IF;
	IF parts IS NOT NULL THEN
		IF for_update THEN
			SELECT * INTO m FROM pg_wallet.payment_methods x
			WHERE x.id = parts[2]::uuid AND x.owner_id = _payment_method_row.owner_id
				AND x.is_active FOR UPDATE;
		ELSE
			SELECT * INTO m FROM pg_wallet.payment_methods x
			WHERE x.id = parts[2]::uuid AND x.owner_id = _payment_method_row.owner_id
				AND x.is_active;
		END IF;
	END IF;
	IF m.id IS NULL OR (m.kind = 'card') <> (parts[1] = 'card') THEN
		RAISE EXCEPTION 'payment method not found'
			USING ERRCODE = 'WL080', COLUMN = 'paymentMethodId';
	END IF;
	RETURN m;
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_method_row(bigint, text, boolean) IS
	'Internal: one active payment method of the owner by paymentMethodId (locked when '
	'asked), or WL080 "payment method not found", the same for a malformed, unknown, removed '
	'or another owner''s id.';

-- Save a new method (its columns filled and checked by the caller): the owner's row is locked
-- first (one writer of an owner's methods at a time: the default flag, the duplicate check
-- and the count stay true), a duplicate is WL082, a 21st active method WL083; the first
-- active method, or one asked to be, becomes the default and the previous default is cleared.
CREATE OR REPLACE FUNCTION pg_wallet._payment_method_insert(m pg_wallet.payment_methods,
	make_default boolean)
RETURNS pg_wallet.payment_methods
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	dup pg_wallet.payment_methods;
	active integer;
BEGIN
	PERFORM 1 FROM pg_wallet.owners o WHERE o.id = m.owner_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'owner does not exist' USING ERRCODE = 'WL018';
	END IF;
	SELECT * INTO dup FROM pg_wallet.payment_methods x
	WHERE x.owner_id = m.owner_id AND x.is_active AND x.kind = m.kind
		AND (x.card_token = m.card_token
			OR (lower(x.bank_name) = lower(m.bank_name) AND x.account_number = m.account_number));
	IF dup.id IS NOT NULL THEN
		RAISE EXCEPTION '% already saved', CASE m.kind WHEN 'card' THEN 'card' ELSE
			'bank account' END
			USING ERRCODE = 'WL082',
			DETAIL = format('It is payment method %s.', pg_wallet._payment_method_public_id(dup));
	END IF;
	SELECT count(*) INTO active FROM pg_wallet.payment_methods x
	WHERE x.owner_id = m.owner_id AND x.is_active;
	IF active >= 20 THEN
		RAISE EXCEPTION 'too many payment methods: at most 20 active ones per user'
			USING ERRCODE = 'WL083', HINT = 'Remove one first (DELETE /payment-methods/:id).';
	END IF;
	IF make_default OR active = 0 THEN
		UPDATE pg_wallet.payment_methods x SET is_default = false
		WHERE x.owner_id = m.owner_id AND x.is_default;
	END IF;
	INSERT INTO pg_wallet.payment_methods (owner_id, kind, card_token, last4, brand,
		expiry_month, expiry_year, cardholder_name, bank_name, account_number, account_holder,
		is_default, created_at)
	VALUES (m.owner_id, m.kind, m.card_token, m.last4, m.brand, m.expiry_month,
		m.expiry_year, m.cardholder_name, m.bank_name, m.account_number, m.account_holder,
		make_default OR active = 0, clock_timestamp())
	RETURNING * INTO m;
	RETURN m;
END
$$;
COMMENT ON FUNCTION pg_wallet._payment_method_insert(pg_wallet.payment_methods, boolean) IS
	'Internal: insert a checked payment method under the owner''s row lock: WL082 when the '
	'owner has it active already, WL083 beyond 20 active; the first, or one asked to be, is '
	'the default (the previous default cleared).';

CREATE OR REPLACE FUNCTION pg_wallet.payment_method_add_card(
	owner_id bigint,
	card_number text,
	cardholder_name text,
	expiry_month integer,
	expiry_year integer,
	cvv text,
	is_default boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m pg_wallet.payment_methods;
	brand text;
	today date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
	-- shapes first (400), every message free of the values given
	IF card_number IS NULL OR card_number !~ '^[0-9]{12,19}$' THEN
		RAISE EXCEPTION 'cardNumber must be 12 to 19 digits'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'cardNumber';
	END IF;
	m.cardholder_name := pg_wallet._payment_name(cardholder_name, 'cardholderName', false);
	IF expiry_month IS NULL OR expiry_month NOT BETWEEN 1 AND 12 THEN
		RAISE EXCEPTION 'expiryMonth must be between 1 and 12'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'expiryMonth';
	END IF;
	IF expiry_year IS NULL OR expiry_year NOT BETWEEN 2000 AND 2099 THEN
		RAISE EXCEPTION 'expiryYear must be a four-digit year'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'expiryYear';
	END IF;
	brand := pg_wallet._card_brand(card_number);
	IF cvv IS NULL OR cvv !~ (CASE WHEN brand = 'AMEX' THEN '^[0-9]{4}$' ELSE '^[0-9]{3}$' END)
	THEN
		RAISE EXCEPTION 'cvv must be 3 digits (4 for AMEX)'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'cvv';
	END IF;
	-- then the card itself (422); the CVV is not used past its shape, and not kept
	IF NOT pg_wallet._card_luhn_ok(card_number) THEN
		RAISE EXCEPTION 'card validation failed: the card number is not valid (check digit)'
			USING ERRCODE = 'WL081', COLUMN = 'cardNumber';
	END IF;
	IF brand IS NULL THEN
		RAISE EXCEPTION 'card validation failed: card brand not supported'
			USING ERRCODE = 'WL081', COLUMN = 'cardNumber',
			DETAIL = 'Supported: VISA, MASTERCARD, AMEX, VERVE, DISCOVER.';
	END IF;
	IF NOT pg_wallet._card_length_ok(brand, length(card_number)) THEN
		RAISE EXCEPTION 'card validation failed: the number''s length does not match its brand'
			USING ERRCODE = 'WL081', COLUMN = 'cardNumber';
	END IF;
	-- a card is valid through the last day of its expiry month (UTC)
	IF make_date(expiry_year, expiry_month, 1) < date_trunc('month', today)::date THEN
		RAISE EXCEPTION 'card validation failed: the card has expired'
			USING ERRCODE = 'WL081', COLUMN = 'expiryYear';
	END IF;
	IF expiry_year > extract(year FROM today) + 20 THEN
		RAISE EXCEPTION 'card validation failed: the expiry is more than 20 years ahead'
			USING ERRCODE = 'WL081', COLUMN = 'expiryYear';
	END IF;
	m.owner_id := payment_method_add_card.owner_id;
	m.kind := 'card';
	m.card_token := pg_wallet._hmac_sha256(pg_wallet._payment_card_key(),
		convert_to('card:' || card_number, 'UTF8'));
	m.last4 := right(card_number, 4);
	m.brand := brand;
	m.expiry_month := expiry_month;
	m.expiry_year := expiry_year;
	m := pg_wallet._payment_method_insert(m, coalesce(is_default, false));
	RETURN pg_wallet._payment_method_json(m, true);
END
$$;
COMMENT ON FUNCTION pg_wallet.payment_method_add_card(bigint, text, text, integer, integer, text,
	boolean) IS
	'Save a card for an owner, tokenised: the number (12-19 digits) passes Luhn, has a '
	'supported brand (VISA, MASTERCARD, AMEX, VERVE, DISCOVER) and its length, the expiry is '
	'not past nor over 20 years ahead (WL081, 422), the CVV is 3 digits (4 for AMEX) and is '
	'never stored; kept: HMAC-SHA256 token, last 4 digits, brand, expiry, cardholder name '
	'(1-100, no digits). WL082 when the owner has the card already, WL083 beyond 20 '
	'methods. The first method, or is_default, becomes the default. Returns the Tribble '
	'shape. Call it with bind parameters: a failing statement''s text can reach the log.';

CREATE OR REPLACE FUNCTION pg_wallet.payment_method_add_bank(
	owner_id bigint,
	bank_name text,
	account_number text,
	account_holder text,
	is_default boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m pg_wallet.payment_methods;
BEGIN
	m.bank_name := pg_wallet._payment_name(bank_name, 'bankName', true);
	IF account_number IS NULL OR account_number !~ '^[0-9]{6,20}$' THEN
		RAISE EXCEPTION 'accountNumber must be 6 to 20 digits'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'accountNumber';
	END IF;
	m.account_holder := pg_wallet._payment_name(account_holder, 'accountHolder', false);
	m.owner_id := payment_method_add_bank.owner_id;
	m.kind := 'bank_account';
	m.account_number := account_number;
	m := pg_wallet._payment_method_insert(m, coalesce(is_default, false));
	RETURN pg_wallet._payment_method_json(m, true);
END
$$;
COMMENT ON FUNCTION pg_wallet.payment_method_add_bank(bigint, text, text, text, boolean) IS
	'Save a bank account for an owner: bank name (1-100), account number (6-20 digits, '
	'stored, shown masked ****1234), account holder (1-100, no digits); WL082 when the owner '
	'has it already (same bank name, any case, and number), WL083 beyond 20 methods. The '
	'first method, or is_default, becomes the default. Returns the Tribble shape.';

CREATE OR REPLACE FUNCTION pg_wallet.payment_method_list(owner_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN coalesce((SELECT jsonb_agg(pg_wallet._payment_method_json(m) ORDER BY m.created_at,
			m.id)
		FROM pg_wallet.payment_methods m
		WHERE m.owner_id = payment_method_list.owner_id AND m.is_active), '[]');
END
$$;
COMMENT ON FUNCTION pg_wallet.payment_method_list(bigint) IS
	'The owner''s active payment methods, oldest first, as the Tribble list shows them (a '
	'JSON array; at most 20).';

CREATE OR REPLACE FUNCTION pg_wallet.payment_method_remove(owner_id bigint,
	payment_method_id text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m pg_wallet.payment_methods;
BEGIN
	-- the owner's row first, as _payment_method_insert takes it (one lock order)
	PERFORM 1 FROM pg_wallet.owners o WHERE o.id = payment_method_remove.owner_id
	FOR NO KEY UPDATE;
	m := pg_wallet._payment_method_row(owner_id, payment_method_id, true);
	UPDATE pg_wallet.payment_methods x
	SET is_active = false, is_default = false, deactivated_at = now()
	WHERE x.id = m.id;
	-- the default removed: the oldest remaining method becomes the default
	IF m.is_default THEN
		UPDATE pg_wallet.payment_methods x SET is_default = true
		WHERE x.id = (SELECT y.id FROM pg_wallet.payment_methods y
			WHERE y.owner_id = m.owner_id AND y.is_active
			ORDER BY y.created_at, y.id LIMIT 1);
	END IF;
	RETURN jsonb_build_object('paymentMethodId', pg_wallet._payment_method_public_id(m));
END
$$;
COMMENT ON FUNCTION pg_wallet.payment_method_remove(bigint, text) IS
	'Remove (deactivate) one of the owner''s payment methods; WL080 for an unknown, removed '
	'or another owner''s id. When it was the default, the oldest remaining one becomes the '
	'default. Returns {"paymentMethodId"}.';

CREATE OR REPLACE FUNCTION pg_wallet.payment_method_check(owner_id bigint,
	payment_method_id text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m pg_wallet.payment_methods := pg_wallet._payment_method_row(owner_id, payment_method_id);
BEGIN
	IF m.kind = 'card' AND make_date(m.expiry_year, m.expiry_month, 1)
		< date_trunc('month', now() AT TIME ZONE 'UTC')::date THEN
		RAISE EXCEPTION 'card validation failed: the card has expired'
			USING ERRCODE = 'WL081', COLUMN = 'paymentMethodId';
	END IF;
	RETURN pg_wallet._payment_method_json(m);
END
$$;
COMMENT ON FUNCTION pg_wallet.payment_method_check(bigint, text) IS
	'The one rule before charging a payment method: it is the owner''s and active (WL080, '
	'the same for unknown, removed and another owner''s), and a card has not expired '
	'(WL081). Returns the method as the Tribble list shows it.';
