-- Money rules administration: client services and fee schedules (the C code in src/rules/rules.c
-- applies them inside the posting path). Amounts that are not tied to one currency are given
-- as numerics and stored as *_e4 integers (10^-4 major units).

-- A currency-agnostic amount as e4, or an error naming the argument.
CREATE OR REPLACE FUNCTION pg_wallet._to_e4(amount numeric, what text)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF amount IS NULL THEN
		RETURN NULL;
	END IF;
	IF amount < 0 OR amount * 10000 <> trunc(amount * 10000) OR amount >= 100000000000000 THEN
		RAISE EXCEPTION '% must be a non-negative amount with at most 4 decimals', what
			USING ERRCODE = 'WL010';
	END IF;
	RETURN (amount * 10000)::bigint;
END
$$;
COMMENT ON FUNCTION pg_wallet._to_e4(numeric, text) IS
	'Internal: a currency-agnostic amount in units of 10^-4, or error WL010.';

-- Mark the fee schedules as changed: every backend reloads them on its next posting.
CREATE OR REPLACE FUNCTION pg_wallet._bump_rules_generation()
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	UPDATE pg_wallet.rules_generation
	SET generation = greatest(generation + 1,
	                          (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
$$;
COMMENT ON FUNCTION pg_wallet._bump_rules_generation() IS
	'Internal: invalidate every backend''s cached fee schedules.';

CREATE OR REPLACE FUNCTION pg_wallet.create_fee_schedule(
	transaction_type text,
	fee_kind text,
	fixed_fee numeric DEFAULT 0,
	rate numeric DEFAULT 0,
	currency text DEFAULT NULL,
	min_fee numeric DEFAULT NULL,
	max_fee numeric DEFAULT NULL,
	band_min numeric DEFAULT NULL,
	band_max numeric DEFAULT NULL,
	bearer text DEFAULT 'SENDER',
	sender_share numeric DEFAULT 1,
	commission_rate numeric DEFAULT 0,
	client_service_code text DEFAULT NULL,
	tiers jsonb DEFAULT NULL,
	valid_from timestamptz DEFAULT NULL,
	valid_to timestamptz DEFAULT NULL,
	description text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	service_id bigint;
	new_id bigint;
	tier jsonb;
BEGIN
	IF transaction_type IS NULL OR transaction_type NOT IN ('TRANSFER', 'WITHDRAWAL', 'DEPOSIT',
		'CONVERSION', 'PAYMENT', 'PAYOUT', 'BILL_PAYMENT', 'SUBSCRIPTION') THEN
		RAISE EXCEPTION 'transaction type "%" is not valid', transaction_type
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use TRANSFER, WITHDRAWAL, DEPOSIT, CONVERSION, PAYMENT, PAYOUT, '
			             'BILL_PAYMENT or SUBSCRIPTION.';
	END IF;
	IF fee_kind IS NULL OR fee_kind NOT IN ('FIXED', 'PERCENTAGE', 'TIERED') THEN
		RAISE EXCEPTION 'fee kind "%" is not valid', fee_kind
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use FIXED, PERCENTAGE or TIERED.';
	END IF;
	IF bearer IS NULL OR bearer NOT IN ('SENDER', 'RECEIVER', 'SPLIT') THEN
		RAISE EXCEPTION 'fee bearer "%" is not valid', bearer
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use SENDER, RECEIVER or SPLIT.';
	END IF;
	IF rate IS NULL OR rate < 0 OR rate > 1 OR rate * 100000000 <> trunc(rate * 100000000)
		OR commission_rate IS NULL OR commission_rate < 0 OR commission_rate > 1
		OR sender_share IS NULL OR sender_share < 0 OR sender_share > 1 THEN
		RAISE EXCEPTION 'rates and shares are fractions between 0 and 1 (rate 0.015 = 1.5%%)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF currency IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c
	                                        WHERE c.code = currency) THEN
		RAISE EXCEPTION 'unknown currency "%"', currency USING ERRCODE = 'WL015';
	END IF;
	IF client_service_code IS NOT NULL THEN
		SELECT s.id INTO service_id FROM pg_wallet.client_services s
		WHERE s.code = client_service_code;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'client service % does not exist', client_service_code
				USING ERRCODE = 'WL040';
		END IF;
	END IF;
	IF (fee_kind = 'TIERED') <> (tiers IS NOT NULL) THEN
		RAISE EXCEPTION 'tiers are given for, and only for, a TIERED schedule'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF tiers IS NOT NULL AND (jsonb_typeof(tiers) <> 'array' OR jsonb_array_length(tiers)
		NOT BETWEEN 1 AND 32) THEN
		RAISE EXCEPTION 'tiers must be an array of 1 to 32 {"up_to", "fixed", "rate"} objects'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF description IS NOT NULL AND length(description) > 500 THEN
		RAISE EXCEPTION 'description is longer than 500 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF min_fee > max_fee OR band_min > band_max OR valid_to <= valid_from THEN
		RAISE EXCEPTION 'min_fee, band_min and valid_from must not exceed their maximum'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO pg_wallet.fee_schedules (transaction_type, client_service_id, currency,
		band_min_e4, band_max_e4, fee_kind, fixed_e4, rate, min_fee_e4, max_fee_e4, bearer,
		sender_share, commission_rate, valid_from, valid_to, description)
	VALUES (transaction_type, service_id, currency,
		pg_wallet._to_e4(band_min, 'band_min'), pg_wallet._to_e4(band_max, 'band_max'),
		fee_kind, pg_wallet._to_e4(coalesce(fixed_fee, 0), 'fixed_fee'), rate,
		pg_wallet._to_e4(min_fee, 'min_fee'), pg_wallet._to_e4(max_fee, 'max_fee'), bearer,
		sender_share, commission_rate, coalesce(valid_from, '-infinity'), valid_to, description)
	RETURNING id INTO new_id;
	FOR tier IN SELECT value FROM jsonb_array_elements(coalesce(tiers, '[]'))
	LOOP
		IF jsonb_typeof(tier) <> 'object'
			OR jsonb_typeof(tier->'up_to') IS DISTINCT FROM 'number' THEN
			RAISE EXCEPTION 'each tier needs a numeric "up_to"'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF coalesce((tier->>'rate')::numeric, 0) NOT BETWEEN 0 AND 1 THEN
			RAISE EXCEPTION 'a tier rate is a fraction between 0 and 1'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		INSERT INTO pg_wallet.fee_tiers (schedule_id, up_to_e4, fixed_e4, rate)
		VALUES (new_id, pg_wallet._to_e4((tier->>'up_to')::numeric, 'up_to'),
			pg_wallet._to_e4(coalesce((tier->>'fixed')::numeric, 0), 'fixed'),
			coalesce((tier->>'rate')::numeric, 0));
	END LOOP;
	PERFORM pg_wallet._bump_rules_generation();
	RETURN new_id;
EXCEPTION
	WHEN check_violation THEN
		RAISE EXCEPTION 'fee schedule is not consistent: %', SQLERRM
			USING ERRCODE = 'invalid_parameter_value';
	WHEN unique_violation THEN
		RAISE EXCEPTION 'two tiers have the same "up_to"' USING ERRCODE = 'invalid_parameter_value';
END
$$;
COMMENT ON FUNCTION pg_wallet.create_fee_schedule(text, text, numeric, numeric, text, numeric,
	numeric, numeric, numeric, text, numeric, numeric, text, jsonb, timestamptz, timestamptz,
	text) IS
	'Add a fee schedule. fee = fixed_fee + amount x rate (rate is a fraction: 0.015 = 1.5%), '
	'rounded half up to the minor unit and clamped to [min_fee, max_fee]; TIERED takes fixed '
	'and rate from tiers [{"up_to", "fixed", "rate"}]. Amounts are in major units of the '
	'posting''s currency. The most specific active schedule applies.';

CREATE OR REPLACE FUNCTION pg_wallet.set_fee_schedule_active(schedule_id bigint, active boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE pg_wallet.fee_schedules SET is_active = coalesce(active, false)
	WHERE id = schedule_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'fee schedule % does not exist', schedule_id
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_wallet._bump_rules_generation();
	RETURN coalesce(active, false);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_fee_schedule_active(bigint, boolean) IS
	'Switch a fee schedule on or off (schedules are never deleted: history refers to them).';

CREATE OR REPLACE FUNCTION pg_wallet._client_service_json(s pg_wallet.client_services)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'client_service_id', s.id,
		'client_service_code', s.code,
		'client_owner_id', s.client_owner_id,
		'client_service_name', s.name,
		'service_code', s.service_code,
		'allow_credit', s.allow_credit,
		'allow_debit', s.allow_debit,
		'has_transaction_fee', f.id IS NOT NULL,
		'transaction_fee_type', f.fee_kind,
		'transaction_fee', CASE f.fee_kind
			WHEN 'FIXED' THEN pg_wallet.minor_to_numeric(f.fixed_e4, 4::smallint)
			WHEN 'PERCENTAGE' THEN trim_scale(f.rate * 100) END,
		'minimum_transaction_amount', pg_wallet.minor_to_numeric(s.minimum_amount_e4, 4::smallint),
		'maximum_transaction_amount', pg_wallet.minor_to_numeric(s.maximum_amount_e4, 4::smallint),
		'is_active', s.is_active,
		'created_at', s.created_at)
	FROM (SELECT 1) one
	LEFT JOIN LATERAL (SELECT * FROM pg_wallet.fee_schedules f
	                   WHERE f.client_service_id = s.id AND f.is_active
	                   ORDER BY f.id LIMIT 1) f ON true
$$;
COMMENT ON FUNCTION pg_wallet._client_service_json(pg_wallet.client_services) IS
	'Internal: a client service as the wallet-as-a-service API shows it.';

CREATE OR REPLACE FUNCTION pg_wallet.create_client_service(
	client_owner_id bigint,
	name text,
	service_code text,
	minimum_amount numeric,
	maximum_amount numeric,
	allow_credit boolean DEFAULT true,
	allow_debit boolean DEFAULT true,
	fee_kind text DEFAULT NULL,
	fee_value numeric DEFAULT 0,
	code text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	svc pg_wallet.client_services;
	new_code text := code;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = client_owner_id) THEN
		RAISE EXCEPTION 'owner % does not exist', coalesce(client_owner_id::text, 'NULL')
			USING ERRCODE = 'WL018';
	END IF;
	IF name IS NULL OR length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'client service name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF service_code IS NULL OR service_code !~ '^[A-Z][A-Z0-9_]{1,39}$' THEN
		RAISE EXCEPTION 'service code "%" is not valid', left(service_code, 50)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use 2 to 40 upper-case letters, digits or underscores.';
	END IF;
	IF NOT (coalesce(allow_credit, false) OR coalesce(allow_debit, false)) THEN
		RAISE EXCEPTION 'a client service must allow CREDIT, DEBIT or both'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF minimum_amount IS NULL OR maximum_amount IS NULL OR maximum_amount < minimum_amount THEN
		RAISE EXCEPTION 'minimum and maximum transaction amounts are required, minimum <= maximum'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF fee_kind IS NOT NULL AND fee_kind NOT IN ('FIXED', 'PERCENTAGE') THEN
		RAISE EXCEPTION 'transaction fee type "%" is not valid', fee_kind
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use FIXED or PERCENTAGE.';
	END IF;
	IF fee_kind = 'PERCENTAGE' AND (fee_value IS NULL OR fee_value < 0 OR fee_value > 100) THEN
		RAISE EXCEPTION 'a PERCENTAGE fee is between 0 and 100 (2.5 = 2.5%%)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF new_code IS NULL THEN
		new_code := left(service_code, 3) || upper(substr(md5(random()::text ||
		                                                      clock_timestamp()::text), 1, 7));
	ELSIF new_code !~ '^[A-Z0-9][A-Z0-9_]{2,39}$' THEN
		RAISE EXCEPTION 'client service code "%" is not valid', left(new_code, 50)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.client_services s WHERE s.code = new_code) THEN
		RAISE EXCEPTION 'client service code % already exists', new_code
			USING ERRCODE = 'unique_violation';
	END IF;
	INSERT INTO pg_wallet.client_services (code, client_owner_id, name, service_code,
		allow_credit, allow_debit, minimum_amount_e4, maximum_amount_e4)
	VALUES (new_code, client_owner_id, name, service_code, coalesce(allow_credit, false),
		coalesce(allow_debit, false), pg_wallet._to_e4(minimum_amount, 'minimum_amount'),
		pg_wallet._to_e4(maximum_amount, 'maximum_amount'))
	RETURNING * INTO svc;
	IF fee_kind IS NOT NULL AND coalesce(fee_value, 0) > 0 THEN
		-- a CREDIT's fee comes out of the credited amount; a DEBIT's or a transfer's is added
		PERFORM pg_wallet.create_fee_schedule(t.type, fee_kind,
			CASE fee_kind WHEN 'FIXED' THEN fee_value ELSE 0 END,
			CASE fee_kind WHEN 'PERCENTAGE' THEN fee_value / 100 ELSE 0 END,
			bearer => t.bearer, client_service_code => new_code,
			description => format('fee of client service %s', new_code))
		FROM (VALUES ('DEPOSIT', 'RECEIVER'), ('WITHDRAWAL', 'SENDER'),
		             ('TRANSFER', 'SENDER')) AS t(type, bearer);
	END IF;
	RETURN pg_wallet._client_service_json(svc);
END
$$;
COMMENT ON FUNCTION pg_wallet.create_client_service(bigint, text, text, numeric, numeric, boolean,
	boolean, text, numeric, text) IS
	'Create a client service (wallet-as-a-service): directions, amount limits and a FIXED fee '
	'(in the posting''s currency) or a PERCENTAGE fee (2.5 = 2.5%). The fee of a CREDIT is taken '
	'from the credited amount; that of a DEBIT or transfer is added to it.';

CREATE OR REPLACE FUNCTION pg_wallet.set_client_service_active(code text, active boolean)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	svc pg_wallet.client_services;
BEGIN
	UPDATE pg_wallet.client_services s SET is_active = coalesce(active, false), updated_at = now()
	WHERE s.code = set_client_service_active.code
	RETURNING * INTO svc;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'client service % does not exist', code USING ERRCODE = 'WL040';
	END IF;
	RETURN pg_wallet._client_service_json(svc);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_client_service_active(text, boolean) IS
	'Activate or deactivate a client service; postings under an inactive one are refused (WL041).';

CREATE OR REPLACE FUNCTION pg_wallet.get_client_service(code text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	svc pg_wallet.client_services;
BEGIN
	SELECT * INTO svc FROM pg_wallet.client_services s WHERE s.code = get_client_service.code;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'client service % does not exist', code USING ERRCODE = 'WL040';
	END IF;
	RETURN pg_wallet._client_service_json(svc);
END
$$;
COMMENT ON FUNCTION pg_wallet.get_client_service(text) IS 'A client service by code (WL040).';

CREATE OR REPLACE FUNCTION pg_wallet.list_client_services(client_owner_id bigint)
RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._client_service_json(s) FROM pg_wallet.client_services s
	WHERE s.client_owner_id = list_client_services.client_owner_id ORDER BY s.id
$$;
COMMENT ON FUNCTION pg_wallet.list_client_services(bigint) IS 'A client''s services.';

-- What a KYC tier may move in a currency (pg_wallet.kyc_tier_limits), in major units.
CREATE OR REPLACE FUNCTION pg_wallet.set_kyc_tier_limits(
	tier integer,
	currency text,
	per_transaction_max numeric,
	daily_max numeric,
	monthly_max numeric,
	transactions_per_day integer)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	per_tx bigint;
	daily bigint;
	monthly bigint;
BEGIN
	IF tier IS NULL OR tier NOT BETWEEN 0 AND 3 THEN
		RAISE EXCEPTION 'tier must be 0, 1, 2 or 3' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c
	               WHERE c.code = set_kyc_tier_limits.currency AND c.is_active) THEN
		RAISE EXCEPTION 'unknown currency %', coalesce(currency, 'NULL') USING ERRCODE = 'WL015';
	END IF;
	IF per_transaction_max IS NULL OR daily_max IS NULL OR monthly_max IS NULL
		OR transactions_per_day IS NULL OR per_transaction_max < 0 OR daily_max < 0
		OR monthly_max < 0 OR transactions_per_day < 0 THEN
		RAISE EXCEPTION 'every limit is required and none is negative'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- (amount_parse refuses more decimals than the currency has, and overflow: WL010)
	per_tx := pg_wallet.amount_parse(per_transaction_max, currency);
	daily := pg_wallet.amount_parse(daily_max, currency);
	monthly := pg_wallet.amount_parse(monthly_max, currency);
	IF NOT (per_tx <= daily AND daily <= monthly) THEN
		RAISE EXCEPTION 'limits must grow: per_transaction_max <= daily_max <= monthly_max'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO pg_wallet.kyc_tier_limits AS l (tier, currency, per_transaction_max_minor,
		daily_max_minor, monthly_max_minor, transactions_per_day)
	VALUES (set_kyc_tier_limits.tier, set_kyc_tier_limits.currency, per_tx, daily, monthly,
		set_kyc_tier_limits.transactions_per_day)
	ON CONFLICT ON CONSTRAINT kyc_tier_limits_pkey DO UPDATE
	SET per_transaction_max_minor = EXCLUDED.per_transaction_max_minor,
		daily_max_minor = EXCLUDED.daily_max_minor,
		monthly_max_minor = EXCLUDED.monthly_max_minor,
		transactions_per_day = EXCLUDED.transactions_per_day;
END
$$;
COMMENT ON FUNCTION pg_wallet.set_kyc_tier_limits(integer, text, numeric, numeric, numeric,
	integer) IS
	'Admin: what KYC tier 0-3 may move in a currency (major units: per transaction, per day, '
	'per month; transactions per day), replacing the tier''s limits in that currency; postings '
	'begun after the commit apply them.';
