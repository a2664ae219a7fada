-- Payment methods (issue 13, sql/payments/methods.sql, sql/api/tribble_methods.sql): cards
-- checked (digits, Luhn, brand from the number, its length, expiry, CVV shape) and kept as a
-- token with last 4 digits, brand and expiry; bank accounts checked and masked; one owner per
-- method (another owner's id is the unknown id's error, byte for byte), one default per
-- owner, at most 20 active, soft removal; payment_method_check before funding (Tribble
-- POST /wallets/fund); and the proof that no table holds a card number or a CVV in clear.

-- "SQLSTATE [field]: message (detail)" of a refusal (the field is the COLUMN the bridge shows
-- as details.field; uuids masked), or 'no error'
CREATE FUNCTION errf(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	col text;
	det text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS col = COLUMN_NAME, det = PG_EXCEPTION_DETAIL;
	RETURN regexp_replace(SQLSTATE || coalesce(' [' || nullif(col, '') || ']', '') || ': '
		|| SQLERRM || coalesce(' (' || nullif(det, '') || ')', ''),
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $$;
-- a reply with its random parts masked: ids (card-<uuid>, bank-<uuid>) and createdAt
CREATE FUNCTION pm_mask(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(j::text,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'"createdAt": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"', '"createdAt": "<ts>"', 'g')::jsonb
$$;
-- payment_method_add_card of owner o, as a refusal or 'no error'
CREATE FUNCTION card(o bigint, pan text, name text, m integer, y integer, cvv text,
	dflt boolean DEFAULT false) RETURNS text LANGUAGE sql AS $$
	SELECT errf(format('SELECT pg_wallet.payment_method_add_card(%s, %L, %L, %s, %s, %L, %L)',
		o, pan, name, coalesce(m::text, 'NULL'), coalesce(y::text, 'NULL'), cvv, dflt))
$$;
CREATE FUNCTION bank(o bigint, bank text, num text, holder text) RETURNS text LANGUAGE sql AS $$
	SELECT errf(format('SELECT pg_wallet.payment_method_add_bank(%s, %L, %L, %L)', o, bank,
		num, holder))
$$;

-- users U, V, W; U has a KES wallet (funding)
SELECT principal_id AS pu, owner_id AS ou FROM pg_wallet.register_user('pm.u@example.com',
	'Secret123', 'Pay', 'U', '0712999061') \gset
SELECT principal_id AS pv, owner_id AS ov FROM pg_wallet.register_user('pm.v@example.com',
	'Secret123', 'Pay', 'V', '0712999062') \gset
SELECT owner_id AS ow FROM pg_wallet.register_user('pm.w@example.com', 'Secret123', 'Pay', 'W',
	'0712999063') \gset
SELECT (pg_wallet.create_account(:ou, 'KES', 'WALLET', 'PM60-U')).account_number;
SELECT access_token AS tok_u FROM pg_wallet.login('pm.u@example.com', 'Secret123', 'tribble') \gset
SELECT access_token AS tok_v FROM pg_wallet.login('pm.v@example.com', 'Secret123', 'tribble') \gset
-- expiry dates relative to today (UTC): this month, last month, in 3 and in 21 years
SELECT extract(month FROM d)::int AS cm, extract(year FROM d)::int AS cy,
	extract(month FROM d - interval '1 month')::int AS lm,
	extract(year FROM d - interval '1 month')::int AS ly,
	extract(year FROM d)::int + 3 AS fy, extract(year FROM d)::int + 21 AS far
FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS d) x \gset

-- ---------------------------------------------------------------------------------------
-- Brands from the number, Luhn
-- ---------------------------------------------------------------------------------------
SELECT n, pg_wallet._card_brand(n) AS brand, pg_wallet._card_luhn_ok(n) AS luhn,
	pg_wallet._card_length_ok(pg_wallet._card_brand(n), length(n)) AS length_ok
FROM (VALUES ('4532015112830366'), ('4000000000006'), ('4111111111111111110'),
	('5555555555554444'), ('2223003122003222'), ('2721000000000000'), ('378282246310005'),
	('5060990000000008'), ('5061980000000000'), ('5061990000000007'), ('6500020000000000'),
	('6500271234567898'), ('6500280000000000'), ('6011111111111117'), ('6440000000000000'),
	('3530111333300000'), ('4532015112830367')) v(n);

-- ---------------------------------------------------------------------------------------
-- Every refusal of a card: 400 (22023) for a malformed field, 422 (WL081) for a card that
-- fails validation; no message holds the number or the CVV
-- ---------------------------------------------------------------------------------------
SELECT label, card(:ou, pan, name, m, y, cvv) AS result
FROM (VALUES
	(1, 'letters in the number', '4532O15112830366', 'Ada Lovelace', :fy, 12, '047'),
	(2, '11 digits', '45320151128', 'Ada Lovelace', :fy, 12, '047'),
	(3, '20 digits', '45320151128303660000', 'Ada Lovelace', :fy, 12, '047'),
	(4, 'spaces in the number', '4532 0151 1283 0366', 'Ada Lovelace', :fy, 12, '047'),
	(5, 'no number', NULL, 'Ada Lovelace', :fy, 12, '047'),
	(6, 'no cardholder', '4532015112830366', '  ', :fy, 12, '047'),
	(7, 'cardholder of 101', '4532015112830366', repeat('a', 101), :fy, 12, '047'),
	(8, 'digits in the name', '4532015112830366', '4532015112830366', :fy, 12, '047'),
	(9, 'control character', '4532015112830366', E'Ada\tLovelace', :fy, 12, '047'),
	(10, 'month 0', '4532015112830366', 'Ada Lovelace', :fy, 0, '047'),
	(11, 'month 13', '4532015112830366', 'Ada Lovelace', :fy, 13, '047'),
	(12, 'no month', '4532015112830366', 'Ada Lovelace', :fy, NULL, '047'),
	(13, 'year 25', '4532015112830366', 'Ada Lovelace', 25, 12, '047'),
	(14, 'CVV of 2', '4532015112830366', 'Ada Lovelace', :fy, 12, '04'),
	(15, 'CVV of 4 (VISA)', '4532015112830366', 'Ada Lovelace', :fy, 12, '0472'),
	(16, 'CVV of 3 (AMEX)', '378282246310005', 'Ada Lovelace', :fy, 12, '047'),
	(17, 'CVV not digits', '4532015112830366', 'Ada Lovelace', :fy, 12, '04a'),
	(18, 'no CVV', '4532015112830366', 'Ada Lovelace', :fy, 12, NULL),
	(19, 'Luhn failure', '4532015112830367', 'Ada Lovelace', :fy, 12, '047'),
	(20, 'unknown brand (JCB)', '3530111333300000', 'Ada Lovelace', :fy, 12, '047'),
	(21, 'VERVE range ends at 506198', '5061990000000007', 'Ada Lovelace', :fy, 12, '047'),
	(22, 'VISA of 15 digits', '400000000000006', 'Ada Lovelace', :fy, 12, '047'),
	(23, 'expired last month', '4532015112830366', 'Ada Lovelace', :ly, :lm, '047'),
	(24, 'over 20 years ahead', '4532015112830366', 'Ada Lovelace', :far, 1, '047'))
	v(n, label, pan, name, y, m, cvv)
ORDER BY n;
SELECT count(*) AS cards_saved_by_refusals FROM pg_wallet.payment_methods WHERE owner_id = :ou;

-- bank accounts
SELECT label, bank(:ou, b, num, holder) AS result
FROM (VALUES
	(1, 'no bank', '', '0123455678', 'Ada Lovelace'),
	(2, 'bank of 101', repeat('b', 101), '0123455678', 'Ada Lovelace'),
	(3, 'letters in the number', 'GTBank', '01234x5678', 'Ada Lovelace'),
	(4, '5 digits', 'GTBank', '12345', 'Ada Lovelace'),
	(5, '21 digits', 'GTBank', repeat('1', 21), 'Ada Lovelace'),
	(6, 'digits in the holder', 'GTBank', '0123455678', 'Ada 2'),
	(7, 'no holder', 'GTBank', '0123455678', NULL)) v(n, label, b, num, holder)
ORDER BY n;

-- ---------------------------------------------------------------------------------------
-- Saving: the first is the default, a new default clears the old one, one owner per method
-- ---------------------------------------------------------------------------------------
SELECT pm_mask(r) AS visa, r ->> 'paymentMethodId' AS visa_id
FROM pg_wallet.payment_method_add_card(:ou, '4532015112830366', ' Ada Lovelace ', 12, :fy,
	'047') r \gset
SELECT :'visa'::jsonb - 'expiryYear' AS visa,
	(:'visa'::jsonb ->> 'expiryYear')::int = :fy AS year_kept,
	:'visa_id' ~ '^card-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
	AS id_format;
-- a card of this month is still valid
SELECT pm_mask(r) - 'expiryYear' - 'expiryMonth' AS mastercard, r ->> 'paymentMethodId' AS mc_id
FROM pg_wallet.payment_method_add_card(:ou, '5555555555554444', 'Ada Lovelace', :cm, :cy,
	'012', true) r \gset
SELECT :'mastercard';
SELECT pm_mask(r) AS bank, r ->> 'paymentMethodId' AS bank_id
FROM pg_wallet.payment_method_add_bank(:ou, 'GTBank', '0123455678', 'Ada Lovelace') r \gset
SELECT :'bank';
SELECT pm_mask(r) - 'expiryYear' AS amex, r ->> 'paymentMethodId' AS amex_id
FROM pg_wallet.payment_method_add_card(:ou, '378282246310005', 'Ada Lovelace', 6, :fy,
	'0472') r \gset
SELECT :'amex';
SELECT pm_mask(pg_wallet.payment_method_add_card(:ou, '5060990000000008', 'Ada Lovelace', 1, :fy,
	'055')) ->> 'brand' AS verve_506099,
	pm_mask(pg_wallet.payment_method_add_card(:ou, '6500271234567898', 'Ada Lovelace', 1, :fy,
	'055')) ->> 'brand' AS verve_650027,
	pm_mask(pg_wallet.payment_method_add_card(:ou, '6011111111111117', 'Ada Lovelace', 1, :fy,
	'055')) ->> 'brand' AS discover;
-- the list: oldest first, the spec's fields only, one default (the MASTERCARD)
SELECT jsonb_pretty(pm_mask(pg_wallet.payment_method_list(:ou)) #- '{0,expiryYear}'
	#- '{1,expiryYear}' #- '{1,expiryMonth}' #- '{3,expiryYear}' #- '{4,expiryYear}'
	#- '{5,expiryYear}' #- '{6,expiryYear}');
SELECT count(*) FILTER (WHERE is_default) AS defaults, count(*) AS active
FROM pg_wallet.payment_methods WHERE owner_id = :ou AND is_active;
-- saved twice: 409 (WL082) naming the first; another owner may save the same card
SELECT card(:ou, '4532015112830366', 'Someone Else', 1, :fy, '099') AS same_card;
SELECT errf(format('SELECT pg_wallet.payment_method_add_bank(%s, %L, %L, %L)', :ou, 'gtbank',
	'0123455678', 'Ada L')) AS same_bank_any_case;
SELECT card(:ov, '4532015112830366', 'Vera V', 12, :fy, '047') AS v_same_card;
SELECT pm_mask(pg_wallet.payment_method_list(:ov)) #- '{0,expiryYear}' AS v_list;
SELECT count(DISTINCT card_token) AS tokens, count(*) AS cards
FROM pg_wallet.payment_methods WHERE last4 = '0366';

-- ---------------------------------------------------------------------------------------
-- payment_method_check, the rule before charging; another owner's id is an unknown one's
-- ---------------------------------------------------------------------------------------
SELECT pm_mask(pg_wallet.payment_method_check(:ou, :'visa_id')) - 'expiryYear' AS own_visa;
SELECT label, errf(format('SELECT pg_wallet.payment_method_check(%s, %L)', o, id)) AS result
FROM (VALUES
	(1, 'U''s card, asked by V', :ov, :'visa_id'),
	(2, 'unknown uuid', :ou, 'card-00000000-0000-4000-8000-000000000000'),
	(3, 'a card''s uuid as bank-', :ou, replace(:'visa_id', 'card-', 'bank-')),
	(4, 'malformed', :ou, 'card-001'),
	(5, '65 characters', :ou, repeat('x', 65)),
	(6, 'NULL', :ou, NULL)) v(n, label, o, id)
ORDER BY n;
SELECT count(DISTINCT errf(format('SELECT pg_wallet.payment_method_check(%s, %L)', o, id)))
	AS distinct_refusals
FROM (VALUES (:ov, :'visa_id'), (:ou, 'card-00000000-0000-4000-8000-000000000000'),
	(:ov, :'bank_id'), (:ou, 'nope')) v(o, id);
-- a card that has expired since it was saved cannot be charged
UPDATE pg_wallet.payment_methods SET expiry_year = :ly, expiry_month = :lm
WHERE id = substr(:'amex_id', 6)::uuid;
SELECT errf(format('SELECT pg_wallet.payment_method_check(%s, %L)', :ou, :'amex_id')) AS expired;

-- ---------------------------------------------------------------------------------------
-- Removal: soft, the owner's only; the default moves to the oldest remaining method
-- ---------------------------------------------------------------------------------------
SELECT errf(format('SELECT pg_wallet.payment_method_remove(%s, %L)', :ov, :'mc_id'))
	AS v_removes_u_s;
SELECT is_active FROM pg_wallet.payment_methods WHERE id = substr(:'mc_id', 6)::uuid;
SELECT pg_wallet.payment_method_remove(:ou, :'mc_id') = jsonb_build_object('paymentMethodId',
	:'mc_id') AS removed;
SELECT is_active, is_default, deactivated_at IS NOT NULL AS deactivated_at
FROM pg_wallet.payment_methods WHERE id = substr(:'mc_id', 6)::uuid;
SELECT pg_wallet._payment_method_public_id(m) = :'visa_id' AS visa_is_default_again
FROM pg_wallet.payment_methods m WHERE owner_id = :ou AND is_default;
SELECT errf(format('SELECT pg_wallet.payment_method_remove(%s, %L)', :ou, :'mc_id'))
	AS removed_twice;
SELECT errf(format('SELECT pg_wallet.payment_method_check(%s, %L)', :ou, :'mc_id'))
	AS check_removed;
SELECT jsonb_array_length(pg_wallet.payment_method_list(:ou)) AS listed,
	pg_wallet.payment_method_list(:ou) @> jsonb_build_array(jsonb_build_object('paymentMethodId',
	:'mc_id')) AS removed_listed;
-- saved again after removal: a new method
SELECT (pg_wallet.payment_method_add_card(:ou, '5555555555554444', 'Ada Lovelace', :cm, :cy,
	'012') ->> 'paymentMethodId') <> :'mc_id' AS new_id;
-- removing the only method leaves no default
SELECT pg_wallet.payment_method_remove(:ov, (pg_wallet.payment_method_list(:ov) -> 0 ->>
	'paymentMethodId')) IS NOT NULL AS v_removed;
SELECT count(*) FILTER (WHERE is_active) AS v_active, count(*) FILTER (WHERE is_default)
	AS v_defaults FROM pg_wallet.payment_methods WHERE owner_id = :ov;

-- at most 20 active methods per owner
SELECT count(pg_wallet.payment_method_add_bank(:ow, 'Bank ' || i, lpad(i::text, 10, '0'), 'Wes W'))
FROM generate_series(1, 20) i;
SELECT bank(:ow, 'Bank 21', '0000000021', 'Wes W') AS the_21st;
SELECT pg_wallet.payment_method_remove(:ow, pg_wallet.payment_method_list(:ow) -> 19 ->>
	'paymentMethodId') IS NOT NULL AS one_removed, bank(:ow, 'Bank 21', '0000000021', 'Wes W')
	AS then_the_21st;

-- ---------------------------------------------------------------------------------------
-- The Tribble API functions: JSON types, the caller's methods only
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION api_add(tok text, body jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT errf(format('SELECT pg_wallet.api_tribble_payment_method_add(%L, %L)', tok,
		jsonb_build_object('body', body)))
$$;
SELECT label, api_add(:'tok_u', body::jsonb) AS result
FROM (VALUES
	(1, 'no body', NULL),
	(2, 'no type', '{"cardNumber": "4532015112830366"}'),
	(3, 'type crypto', '{"type": "crypto"}'),
	(4, 'number as a JSON number', '{"type": "card", "cardNumber": 4532015112830366,
		"cardholderName": "A", "cvv": "047", "expiryMonth": 1, "expiryYear": 2040}'),
	(5, 'cvv as a JSON number', '{"type": "card", "cardNumber": "4532015112830366",
		"cardholderName": "A", "cvv": 47, "expiryMonth": 1, "expiryYear": 2040}'),
	(6, 'expiryMonth as a string', '{"type": "card", "cardNumber": "4532015112830366",
		"cardholderName": "A", "cvv": "047", "expiryMonth": "1", "expiryYear": 2040}'),
	(7, 'expiryYear 2040.5', '{"type": "card", "cardNumber": "4532015112830366",
		"cardholderName": "A", "cvv": "047", "expiryMonth": 1, "expiryYear": 2040.5}'),
	(8, 'isDefault "yes"', '{"type": "card", "isDefault": "yes"}'),
	(9, 'no accountHolder', '{"type": "bank_account", "bankName": "GTBank",
		"accountNumber": "0123455678"}')) v(n, label, body)
ORDER BY n;
SELECT pm_mask(r - '_bridge') - 'expiryYear' AS api_card, r ? '_bridge' AS reports_rate
FROM pg_wallet.api_tribble_payment_method_add(:'tok_v', jsonb_build_object('body',
	jsonb_build_object('type', 'card', 'cardNumber', '2223003122003222', 'cardholderName',
	'Vera V', 'expiryMonth', 3, 'expiryYear', :fy, 'cvv', '083', 'isDefault', false))) r;
SELECT pm_mask(r - '_bridge') AS api_bank
FROM pg_wallet.api_tribble_payment_method_add(:'tok_v', jsonb_build_object('body',
	jsonb_build_object('type', 'bank_account', 'bankName', 'Access Bank', 'accountNumber',
	'0987654321', 'accountHolder', 'Vera V', 'isDefault', true))) r;
SELECT jsonb_pretty(pm_mask(pg_wallet.api_tribble_payment_methods(:'tok_v', '{}') - '_bridge')
	#- '{paymentMethods,0,expiryYear}');
SELECT errf(format('SELECT pg_wallet.api_tribble_payment_method_remove(%L, %L)', :'tok_v',
	jsonb_build_object('path', jsonb_build_object('id', :'visa_id')))) AS v_deletes_u_s;
SELECT r - '_bridge' = jsonb_build_object('message', 'Payment method deleted successfully',
	'paymentMethodId', :'bank_id') AS u_deletes_own
FROM pg_wallet.api_tribble_payment_method_remove(:'tok_u', jsonb_build_object('path',
	jsonb_build_object('id', :'bank_id'))) r;

-- POST /wallets/fund takes only the caller's active, unexpired methods
CREATE FUNCTION fund(tok text, pm text) RETURNS text LANGUAGE sql AS $$
	SELECT errf(format('SELECT pg_wallet.api_tribble_fund(%L, %L)', tok, jsonb_build_object(
		'body', jsonb_build_object('walletId', 'PM60-U', 'amount', 10, 'paymentMethodId', pm))))
$$;
SELECT v.label, fund(:'tok_u', v.pm) AS result
FROM (VALUES (1, 'made up', 'card-001'),
	(2, 'unknown', 'card-00000000-0000-4000-8000-000000000000'),
	(3, 'V''s', (SELECT pg_wallet._payment_method_public_id(m) FROM pg_wallet.payment_methods m
		WHERE owner_id = :ov AND is_active LIMIT 1)),
	(4, 'removed', :'mc_id'), (5, 'expired', :'amex_id')) v(n, label, pm)
ORDER BY v.n;
BEGIN;
SELECT r ->> 'status' AS status, r ->> 'walletId' AS wallet, r -> 'amount' AS amount
FROM pg_wallet.api_tribble_fund(:'tok_u', jsonb_build_object('body', jsonb_build_object(
	'walletId', 'PM60-U', 'amount', 10, 'paymentMethodId', :'visa_id'))) r;
SELECT payment_method = :'visa_id' AS deposit_names_the_method FROM pg_wallet.deposits
WHERE account_id = (SELECT id FROM pg_wallet.accounts WHERE account_number = 'PM60-U');
ROLLBACK;

-- ---------------------------------------------------------------------------------------
-- No table holds a card number or a CVV in clear. Every card above was saved with its
-- number and CVV; every row of every table of the schema is searched, as text (the row's
-- text form: every column) for the numbers and for a CVV standing alone ("047" or "0472"
-- between anything but letters, digits and - _ . : + /, so that hex, uuids and times cannot
-- match by chance), and every bytea column for the numbers' bytes and a CVV as its whole value.
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION clear_card_data(pans text[], cvvs text[])
RETURNS TABLE (tables_searched bigint, rows_searched bigint, hits bigint, hit_tables text)
LANGUAGE plpgsql AS $$
DECLARE
	t regclass;
	col name;
	n bigint;
	total bigint;
	cvv_re text := '(^|[^0-9A-Za-z_.:+/-])(' || array_to_string(cvvs, '|')
		|| ')([^0-9A-Za-z_.:+/-]|$)';
BEGIN
	tables_searched := 0; rows_searched := 0; hits := 0;
	FOR t IN SELECT c.oid FROM pg_class c
		WHERE c.relnamespace = 'pg_wallet'::regnamespace AND c.relkind IN ('r', 'p')
		ORDER BY c.relname LOOP
		EXECUTE format('SELECT count(*), count(*) FILTER (WHERE x::text ~ $1 OR x::text LIKE ANY ($2)) '
			'FROM %s x', t) USING cvv_re,
			(SELECT array_agg('%' || p || '%') FROM unnest(pans) p) INTO total, n;
		FOR col IN SELECT a.attname FROM pg_attribute a WHERE a.attrelid = t AND a.attnum > 0
			AND NOT a.attisdropped AND a.atttypid = 'bytea'::regtype LOOP
			EXECUTE format('SELECT $3 + count(*) FROM %s x WHERE EXISTS (SELECT 1 FROM unnest($1) p '
				'WHERE position(convert_to(p, ''UTF8'') IN x.%I) > 0) OR x.%I = ANY ($2)', t, col, col)
				USING pans, (SELECT array_agg(convert_to(c, 'UTF8')) FROM unnest(cvvs) c), n INTO n;
		END LOOP;
		tables_searched := tables_searched + 1;
		rows_searched := rows_searched + total;
		hits := hits + n;
		IF n > 0 THEN
			hit_tables := concat_ws(', ', hit_tables, t::text);
		END IF;
	END LOOP;
	RETURN NEXT;
END $$;
-- the search finds what it looks for: a cardholder's name in the rows; the CVV pattern
-- matches a CVV standing alone, not inside times, uuids or hex
SELECT hits > 0 AS finds_a_name, hit_tables
FROM clear_card_data(ARRAY['Ada Lovelace'], ARRAY['zzqqzz']);
SELECT s ~ ('(^|[^0-9A-Za-z_.:+/-])(047|0472)([^0-9A-Za-z_.:+/-]|$)') AS matches, s
FROM (VALUES ('{"cvv": "047"}'), ('(1,0472,x)'), ('cvv 047 given'), ('12:04:7'),
	('2026-12-06 10:00:00.047+00'), ('card-0472abcd-0472-4000'), ('\x04720000'), ('0470')) v(s);
SELECT tables_searched > 40 AS many_tables, rows_searched > 1000 AS many_rows, hits, hit_tables
FROM clear_card_data(ARRAY['4532015112830366', '5555555555554444', '378282246310005',
	'5060990000000008', '6500271234567898', '6011111111111117', '2223003122003222',
	-- and the refused ones
	'4532015112830367', '3530111333300000', '5061990000000007', '400000000000006'],
	ARRAY['047', '0472', '012', '055', '099', '083']);
SELECT count(*) AS keys, bool_and(octet_length(secret) = 32) AS key_32_bytes
FROM pg_wallet.payment_card_keys;

SELECT ledger_ok();
