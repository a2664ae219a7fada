-- Bill payments (issue 14): airtime top-ups, the functions over payments/bills_tables.sql.
--
--   request   a user (role user) tops up a phone of a provider's country: the amount must be
--             in the provider's range and, when it lists denominations, one of them; the
--             amount and its BILL_PAYMENT fee are held on the user's wallet (fees, KYC limits
--             and fraud scoring as for any hold), counterpart the delivering partner's
--             settlement account; the request (POST {base_url}/airtime-topups) is queued in
--             the outbox in the same transaction. PROCESSING.
--   deliver   the partner's signed airtime.completed callback (or a "completed" answer) posts
--             the hold: SUCCESS.
--   fail      airtime.failed, a refusal, or no answer within an hour (the hold expires) voids
--             it: FAILED with the reason; nothing left the wallet.
-- The trigger holds_airtime_topup (payments/bills_triggers.sql) moves the top-up when its hold
-- ends, whoever ends it.
--
-- Must never: move money other than through the ledger core; take money for airtime the
-- partner did not confirm.
--
-- Locking: the top-up's row (FOR UPDATE), then its hold (the core's).

-- How long a top-up waits for its partner before its hold expires (FAILED).
CREATE OR REPLACE FUNCTION pg_wallet._airtime_ttl()
RETURNS interval
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN interval '1 hour';
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_ttl() IS
	'Internal: how long an airtime top-up''s hold waits for its partner (1 hour).';

-- ---------------------------------------------------------------------------------------
-- Providers
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet.airtime_provider_set(
	provider_id text,
	name text,
	country text,
	dial_code text,
	phone_digits integer,
	currency text,
	min_amount numeric,
	max_amount numeric,
	partner_id text,
	denominations numeric[] DEFAULT NULL,
	logo_url text DEFAULT NULL,
	active boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ptn pg_wallet.partners := pg_wallet._partner_row(partner_id);
	lo bigint;
	hi bigint;
	dens bigint[];
BEGIN
	IF provider_id IS NULL OR provider_id !~ '^[a-z][a-z0-9_-]{1,31}$' THEN
		RAISE EXCEPTION 'provider_id must be 2 to 32 lower-case letters, digits, "_" or "-"'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'providerId';
	END IF;
	IF name IS NULL OR length(btrim(name)) NOT BETWEEN 2 AND 80 OR country !~ '^[A-Z]{2}$'
		OR dial_code !~ '^[1-9][0-9]{0,3}$' OR phone_digits NOT BETWEEN 4 AND 13
		OR logo_url !~ '^https://[^[:space:]]+$' OR length(logo_url) > 300 THEN
		RAISE EXCEPTION 'name (2-80), country (ISO 3166 alpha-2), dial_code (1-4 digits), '
			'phone_digits (4-13) and logo_url (https, 300) must be valid'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ptn.service IS DISTINCT FROM 'airtime' OR NOT ptn.can_payout THEN
		RAISE EXCEPTION 'partner % does not deliver airtime (service airtime, payouts)', ptn.id
			USING ERRCODE = 'WL061';
	END IF;
	lo := pg_wallet.amount_parse(min_amount, currency);
	hi := pg_wallet.amount_parse(max_amount, currency);
	SELECT array_agg(pg_wallet.amount_parse(d, currency) ORDER BY d) INTO dens
	FROM unnest(denominations) d;
	IF lo <= 0 OR hi < lo OR EXISTS (SELECT 1 FROM unnest(dens) d WHERE d NOT BETWEEN lo AND hi)
	THEN
		RAISE EXCEPTION 'the range must be 0 < min <= max and hold every denomination'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'amountRange';
	END IF;
	INSERT INTO pg_wallet.airtime_providers AS x (id, name, country, dial_code, phone_digits,
		currency, min_minor, max_minor, denominations, partner_id, logo_url, active)
	VALUES (provider_id, btrim(name), country, dial_code, phone_digits, currency, lo, hi, dens,
		ptn.id, logo_url, coalesce(active, true))
	ON CONFLICT (id) DO UPDATE
	SET name = EXCLUDED.name, country = EXCLUDED.country, dial_code = EXCLUDED.dial_code,
		phone_digits = EXCLUDED.phone_digits,
		currency = EXCLUDED.currency, min_minor = EXCLUDED.min_minor,
		max_minor = EXCLUDED.max_minor, denominations = EXCLUDED.denominations,
		partner_id = EXCLUDED.partner_id, logo_url = EXCLUDED.logo_url,
		active = EXCLUDED.active, updated_at = now();
	RETURN pg_wallet._airtime_provider_json((SELECT x FROM pg_wallet.airtime_providers x
		WHERE x.id = provider_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.airtime_provider_set(text, text, text, text, integer, text,
	numeric, numeric, text, numeric[], text, boolean) IS
	'Admin: add or change an airtime provider: id, name, country (ISO 3166 alpha-2), dialling '
	'code, digits of a national number after it (Kenya 9), currency, amount range, the '
	'partner that delivers (service airtime, payouts: WL061 otherwise), denominations (within '
	'the range; NULL: any amount), logo URL (https), active. Returns the provider as GET '
	'/bills/airtime/providers shows it.';

CREATE OR REPLACE FUNCTION pg_wallet._airtime_provider_json(v pg_wallet.airtime_providers)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('providerId', v.id, 'name', v.name, 'logo', v.logo_url,
			'country', v.country, 'currency', v.currency,
			'amountRange', jsonb_build_object(
				'min', pg_wallet.amount_format(v.min_minor, v.currency),
				'max', pg_wallet.amount_format(v.max_minor, v.currency)))
		|| CASE WHEN v.denominations IS NOT NULL THEN jsonb_build_object('denominations',
			(SELECT jsonb_agg(pg_wallet.amount_format(d, v.currency) ORDER BY d)
			 FROM unnest(v.denominations) d)) ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_provider_json(pg_wallet.airtime_providers) IS
	'Internal: a provider in the Tribble shape {providerId, name, logo, country, currency, '
	'amountRange {min, max}, denominations (when it lists them)}.';

CREATE OR REPLACE FUNCTION pg_wallet.airtime_providers_list(principal_id uuid,
	p_currency text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet._principal_row(principal_id);
	IF p_currency IS NOT NULL AND p_currency !~ '^[A-Z]{3}$' THEN
		RAISE EXCEPTION 'currency must be an ISO 4217 code'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'currency';
	END IF;
	RETURN jsonb_build_object('providers', coalesce((SELECT jsonb_agg(
			pg_wallet._airtime_provider_json(v) ORDER BY v.country, v.name, v.id)
		FROM pg_wallet.airtime_providers v
		WHERE v.active AND (p_currency IS NULL OR v.currency = p_currency)), '[]'));
END
$$;
COMMENT ON FUNCTION pg_wallet.airtime_providers_list(uuid, text) IS
	'Tribble GET /bills/airtime/providers: the active providers (of a currency), by country '
	'and name, for any signed-in principal.';

-- ---------------------------------------------------------------------------------------
-- Top-ups
-- ---------------------------------------------------------------------------------------

-- A phone number of the provider's country as E.164: international (+<dial code><n digits>,
-- or 00...), the dial code without +, or the national form 0<n digits>; WL038 otherwise.
CREATE OR REPLACE FUNCTION pg_wallet._airtime_phone(phone text, dial_code text, digits integer)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s text := regexp_replace(btrim(phone), '[ ().-]', '', 'g');
BEGIN
	IF phone IS NULL OR length(phone) > 32 THEN
		s := '';
	END IF;
	s := CASE
		WHEN s ~ '^00[1-9]' THEN '+' || substr(s, 3)
		WHEN s ~ '^0[1-9][0-9]*$' THEN '+' || dial_code || substr(s, 2)
		WHEN s ~ '^[1-9][0-9]*$' THEN '+' || s
		ELSE s END;
	IF s !~ ('^\+' || dial_code || '[1-9][0-9]{' || (digits - 1) || '}$') THEN
		RAISE EXCEPTION 'phoneNumber is not a phone number of the provider''s country (+%)',
			dial_code USING ERRCODE = 'WL038', COLUMN = 'phoneNumber';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_phone(text, text, integer) IS
	'Internal: a top-up''s phone number as E.164 in the provider''s country: +dial code and '
	'digits national digits (national 0..., 00..., or the dial code without +), WL038 '
	'otherwise.';

CREATE OR REPLACE FUNCTION pg_wallet._airtime_topup_json(t pg_wallet.airtime_topups)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('transactionId', t.topup_ref, 'type', 'airtime_topup',
		'provider', t.provider_id, 'phoneNumber', t.phone_number,
		'phoneNumberE164', t.phone_e164,
		'amount', pg_wallet.amount_format(t.amount_minor, t.currency), 'currency', t.currency,
		'fee', pg_wallet.amount_format(t.fee_minor, t.currency), 'status', t.status,
		'reference', t.partner_reference, 'clientReference', t.reference,
		'failureReason', t.error, 'createdAt', pg_wallet._ts_iso(t.created_at),
		'completedAt', pg_wallet._ts_iso(t.completed_at));
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_topup_json(pg_wallet.airtime_topups) IS
	'Internal: a top-up in the Tribble shape (reference: the partner''s; clientReference: '
	'the caller''s).';

-- The request to the partner: POST {base_url}/airtime-topups.
CREATE OR REPLACE FUNCTION pg_wallet._adapter_airtime_request(ptn pg_wallet.partners,
	t pg_wallet.airtime_topups)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('url', ptn.base_url || '/airtime-topups',
		'body', jsonb_strip_nulls(jsonb_build_object('type', 'airtime_topup.request',
			'reference', t.topup_ref, 'provider', t.provider_id, 'phone', t.phone_e164,
			'amount', pg_wallet.amount_format(t.amount_minor, t.currency)::text,
			'currency', t.currency, 'callback_url', pg_wallet._partner_callback_url(ptn))));
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_airtime_request(pg_wallet.partners,
	pg_wallet.airtime_topups) IS
	'Internal: the URL and body of an airtime top-up request (generic_json): reference (the '
	'transactionId), provider, phone (E.164), amount, currency, callback_url.';

-- airtime_topup's checks of the amount against the provider (22023 naming amount).
CREATE OR REPLACE FUNCTION pg_wallet._airtime_amount(v pg_wallet.airtime_providers,
	amount numeric)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	minor bigint;
BEGIN
	IF amount IS NULL OR amount <= 0 THEN
		RAISE EXCEPTION 'Amount must be greater than 0' USING ERRCODE = 'WL010', COLUMN = 'amount';
	END IF;
	minor := pg_wallet.amount_parse(amount, v.currency);
	IF minor NOT BETWEEN v.min_minor AND v.max_minor THEN
		RAISE EXCEPTION 'amount must be between % and % %',
			pg_wallet.amount_format(v.min_minor, v.currency),
			pg_wallet.amount_format(v.max_minor, v.currency), v.currency
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'amount';
	END IF;
	IF v.denominations IS NOT NULL AND NOT (minor = ANY (v.denominations)) THEN
		RAISE EXCEPTION '% sells only %', v.name, (SELECT string_agg(
				pg_wallet.amount_format(d, v.currency)::text, ', ' ORDER BY d)
			FROM unnest(v.denominations) d) || ' ' || v.currency
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'amount';
	END IF;
	RETURN minor;
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_amount(pg_wallet.airtime_providers, numeric) IS
	'Internal: a top-up''s amount in minor units: > 0 (WL010), within the provider''s range '
	'and one of its denominations when it lists them (22023 naming amount).';

CREATE OR REPLACE FUNCTION pg_wallet.airtime_topup(
	principal_id uuid,
	provider_id text,
	phone_number text,
	amount numeric,
	wallet text DEFAULT NULL,
	reference text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	v pg_wallet.airtime_providers;
	ptn pg_wallet.partners;
	w pg_wallet.accounts;
	minor bigint;
	e164 text;
	hash bytea;
	earlier bigint;
	accepted CONSTANT text :=
		'Airtime top-up accepted. The phone is credited when the network confirms.';
	new_id bigint := nextval(pg_get_serial_sequence('pg_wallet.airtime_topups', 'id'));
	ref text := pg_wallet._dated_ref('BILL', new_id);
	h pg_wallet.hold_info;
	t pg_wallet.airtime_topups;
	req jsonb;
BEGIN
	IF me.role <> 'user' THEN
		RAISE EXCEPTION 'only a user buys airtime' USING ERRCODE = 'WL031';
	END IF;
	IF length(reference) NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'reference must be 1 to 100 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'reference';
	END IF;
	IF length(provider_id) <= 32 THEN
		SELECT * INTO v FROM pg_wallet.airtime_providers x WHERE x.id = provider_id;
	END IF;
	IF v.id IS NULL THEN
		RAISE EXCEPTION 'airtime provider not found' USING ERRCODE = 'WL106',
			COLUMN = 'providerId';
	END IF;
	IF NOT v.active THEN
		RAISE EXCEPTION 'airtime provider % is not available', v.id USING ERRCODE = 'WL107',
			COLUMN = 'providerId';
	END IF;
	minor := pg_wallet._airtime_amount(v, amount);
	e164 := pg_wallet._airtime_phone(phone_number, v.dial_code, v.phone_digits);
	w := pg_wallet._payment_customer_wallet(me.owner_id, v.currency, wallet);
	hash := sha256(convert_to(concat_ws('|', 'airtime', v.id, e164, minor, w.id), 'UTF8'));
	earlier := pg_wallet._idempotency_find(me.owner_id, reference, 'airtime', hash);
	IF earlier IS NOT NULL THEN
		SELECT * INTO STRICT t FROM pg_wallet.airtime_topups x WHERE x.id = earlier;
		RETURN pg_wallet._airtime_topup_json(t) || jsonb_build_object('replayed', true,
			'message', accepted);
	END IF;
	ptn := pg_wallet._select_partner(v.partner_id, 'airtime', v.currency, true);
	h := pg_wallet.place_hold(w.account_number, pg_wallet.amount_format(minor, v.currency),
		pg_wallet._settlement_account(ptn.id, v.currency), 'airtime-hold:' || ref,
		now() + pg_wallet._airtime_ttl(),
		left(format('Airtime %s %s for %s', v.name, ref, e164), 500), 'BILL_PAYMENT');
	INSERT INTO pg_wallet.airtime_topups (id, topup_ref, owner_id, principal_id, provider_id,
		phone_number, phone_e164, amount_minor, currency, fee_minor, account_id, partner_id,
		hold_id, reference, request_hash, expires_at)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, ref, me.owner_id, me.id, v.id, btrim(phone_number), e164, minor,
		v.currency, coalesce(pg_wallet.amount_parse(h.fee, v.currency), 0), w.id, ptn.id,
		h.hold_id, reference, hash, now() + pg_wallet._airtime_ttl())
	RETURNING * INTO t;
	PERFORM pg_wallet._idempotency_record(me.owner_id, reference, 'airtime', hash, t.id);
	req := pg_wallet._adapter_airtime_request(ptn, t);
	PERFORM pg_wallet._outbox_enqueue(ptn.id, 'airtime_topup', ref, req ->> 'url', req -> 'body');
	RETURN pg_wallet._airtime_topup_json(t) || jsonb_build_object('replayed', false,
		'message', accepted);
END
$$;
COMMENT ON FUNCTION pg_wallet.airtime_topup(uuid, text, text, numeric, text, text) IS
	'Tribble POST /bills/airtime/topup: a user (WL031) buys airtime from a provider (WL106 '
	'unknown, WL107 inactive) for a phone of its country (WL038) and an amount in its range '
	'and denominations (22023), paid from the user''s wallet in the provider''s currency (the '
	'one named, else the default: WL087, WL005, WL009). The amount and its BILL_PAYMENT fee '
	'are held (WL001, WL044, WL047 as for any hold) and the request queued to the provider''s '
	'partner: PROCESSING until it confirms (SUCCESS: the hold posted) or fails, refuses or '
	'stays silent for an hour (FAILED: voided). Idempotent on reference per user (kind '
	'airtime; WL003). Returns transactionId, type, provider, phoneNumber, phoneNumberE164, '
	'amount, currency, fee, status, reference (the partner''s), clientReference, '
	'failureReason, createdAt, completedAt, replayed, message.';

CREATE OR REPLACE FUNCTION pg_wallet.airtime_topups_list(principal_id uuid,
	p_status text DEFAULT NULL, p_limit integer DEFAULT 20, p_offset integer DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
BEGIN
	IF p_status IS NOT NULL AND p_status NOT IN ('PROCESSING', 'SUCCESS', 'FAILED') THEN
		RAISE EXCEPTION 'status must be PROCESSING, SUCCESS or FAILED'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'status';
	END IF;
	IF p_limit NOT BETWEEN 1 AND 100 OR p_offset NOT BETWEEN 0 AND 999999 THEN
		RAISE EXCEPTION 'limit must be 1 to 100 and offset 0 to 999999'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'limit';
	END IF;
	RETURN jsonb_build_object('topups', coalesce((SELECT jsonb_agg(
				pg_wallet._airtime_topup_json(t) ORDER BY t.created_at DESC, t.id DESC)
			FROM (SELECT * FROM pg_wallet.airtime_topups x
			      WHERE x.owner_id = me.owner_id AND (p_status IS NULL OR x.status = p_status)
			      ORDER BY x.created_at DESC, x.id DESC LIMIT p_limit OFFSET p_offset) t), '[]'),
		'pagination', jsonb_build_object('total', (SELECT count(*)
				FROM pg_wallet.airtime_topups x
				WHERE x.owner_id = me.owner_id AND (p_status IS NULL OR x.status = p_status)),
			'limit', p_limit, 'offset', p_offset));
END
$$;
COMMENT ON FUNCTION pg_wallet.airtime_topups_list(uuid, text, integer, integer) IS
	'Tribble GET /bills/topups: the caller''s (its owner''s) top-ups, newest first, of a '
	'status or all; pagination {total, limit (1-100), offset}.';

-- ---------------------------------------------------------------------------------------
-- The partner's side
-- ---------------------------------------------------------------------------------------

-- A top-up the partner was sent, locked, or WL063 for the partner.
CREATE OR REPLACE FUNCTION pg_wallet._airtime_topup_lock(ref text, p_partner_id text)
RETURNS pg_wallet.airtime_topups
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t pg_wallet.airtime_topups;
BEGIN
	SELECT * INTO t FROM pg_wallet.airtime_topups x WHERE x.topup_ref = ref FOR UPDATE;
	IF t.id IS NULL OR t.partner_id IS DISTINCT FROM p_partner_id THEN
		RAISE EXCEPTION 'unknown reference: partner % has no airtime top-up %', p_partner_id,
			left(ref, 64) USING ERRCODE = 'WL063';
	END IF;
	RETURN t;
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_topup_lock(text, text) IS
	'Internal: an airtime top-up, locked; WL063 for a reference the partner was never sent.';

-- The partner delivered: the hold is posted (the trigger completes the top-up); or it could
-- not: the hold is voided (the trigger fails it). Again: replayed; the other outcome after
-- one: WL064.
CREATE OR REPLACE FUNCTION pg_wallet._airtime_topup_end(ref text, p_partner_id text,
	delivered boolean, p_partner_reference text, p_error text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t pg_wallet.airtime_topups := pg_wallet._airtime_topup_lock(ref, p_partner_id);
	outcome text := CASE WHEN delivered THEN 'SUCCESS' ELSE 'FAILED' END;
BEGIN
	IF t.status = outcome THEN
		RETURN jsonb_build_object('transactionId', t.topup_ref, 'status', t.status,
			'replayed', true);
	END IF;
	IF t.status <> 'PROCESSING' OR (delivered AND (SELECT h.expires_at <= now()
		FROM pg_wallet.holds h WHERE h.id = t.hold_id)) THEN
		RAISE EXCEPTION 'airtime top-up % is already %; the partner now reports %', t.topup_ref,
			CASE t.status WHEN 'SUCCESS' THEN 'delivered' WHEN 'FAILED' THEN 'failed'
				ELSE 'expired' END,
			CASE WHEN delivered THEN 'delivery' ELSE 'a failure' END USING ERRCODE = 'WL064',
			HINT = 'Reconcile with the partner.';
	END IF;
	UPDATE pg_wallet.airtime_topups x
	SET partner_reference = coalesce(left(p_partner_reference, 128), x.partner_reference),
		error = CASE WHEN delivered THEN x.error
			ELSE left(coalesce(p_error, 'failed'), 500) END
	WHERE x.id = t.id;
	IF delivered THEN
		PERFORM pg_wallet.post_hold(t.hold_id, NULL, 'airtime:' || ref,
			left('Airtime top-up ' || ref, 500));
	ELSE
		PERFORM pg_wallet.void_hold(t.hold_id,
			left('airtime top-up failed: ' || coalesce(p_error, 'failed'), 500));
	END IF;
	RETURN jsonb_build_object('transactionId', t.topup_ref, 'status', outcome,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_topup_end(text, text, boolean, text, text) IS
	'Internal: the partner delivered the airtime (the hold posted: SUCCESS) or could not (the '
	'hold voided: FAILED, with why); the same outcome again: replayed; WL064 for the other '
	'one, or a delivery after the hold expired.';

-- Whether a top-up still waits for its partner (partner_subject_kinds open_function).
CREATE OR REPLACE FUNCTION pg_wallet._airtime_topup_open(subject_ref text)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN EXISTS (SELECT 1 FROM pg_wallet.airtime_topups t
		WHERE t.topup_ref = subject_ref AND t.status = 'PROCESSING');
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_topup_open(text) IS
	'Internal (partner_subject_kinds, kind airtime_topup): whether the top-up a request is '
	'about is still PROCESSING.';

-- The outbox worker's answer to the request (adapters.sql's _adapter_on_answer).
CREATE OR REPLACE FUNCTION pg_wallet._airtime_topup_answered(ref text, p_partner_id text,
	p_state text, p_partner_reference text, p_error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t pg_wallet.airtime_topups := pg_wallet._airtime_topup_lock(ref, p_partner_id);
BEGIN
	UPDATE pg_wallet.airtime_topups x
	SET partner_reference = coalesce(x.partner_reference, left(p_partner_reference, 128)),
		state = CASE WHEN x.state = 'pending' AND p_state <> 'failed'
		             THEN 'sent_to_partner' ELSE x.state END,
		sent_at = coalesce(x.sent_at, now())
	WHERE x.id = t.id;
	IF t.status = 'PROCESSING' AND p_state IN ('completed', 'failed') THEN
		PERFORM pg_wallet._airtime_topup_end(ref, p_partner_id, p_state = 'completed',
			p_partner_reference, p_error);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_topup_answered(text, text, text, text, text) IS
	'Internal: the partner answered a top-up request: accepted (sent_to_partner, its '
	'reference kept), delivered at once (SUCCESS) or refused (FAILED).';

-- A generic_json partner's airtime.completed / airtime.failed callback (partner_callback hands
-- it over): the amount reported must be the top-up's.
CREATE OR REPLACE FUNCTION pg_wallet._airtime_topup_callback(ptn pg_wallet.partners, j jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t pg_wallet.airtime_topups := pg_wallet._airtime_topup_lock(j ->> 'reference', ptn.id);
BEGIN
	PERFORM pg_wallet._callback_money_check(j, t.amount_minor, t.currency, 'airtime top-up',
		t.topup_ref);
	RETURN pg_wallet._airtime_topup_end(t.topup_ref, ptn.id, j ->> 'type' = 'airtime.completed',
		j ->> 'partner_reference', left(coalesce(j ->> 'error', 'Top-up failed'), 200));
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_topup_callback(pg_wallet.partners, jsonb) IS
	'Internal: a verified airtime.completed / airtime.failed callback: WL063 unknown reference, '
	'WL072 another currency or amount than the top-up''s; delivers or fails it.';

-- The trigger holds_airtime_topup (payments/bills_triggers.sql): a top-up's hold ended.
-- Posted: SUCCESS; voided or expired: FAILED, and a request not yet sent is not sent.
CREATE OR REPLACE FUNCTION pg_wallet._airtime_topup_hold_ended()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t pg_wallet.airtime_topups;
BEGIN
	SELECT * INTO t FROM pg_wallet.airtime_topups x WHERE x.hold_id = NEW.id FOR UPDATE;
	IF NOT FOUND OR t.status <> 'PROCESSING' THEN
		RETURN NULL;
	END IF;
	IF NEW.status = 'POSTED' THEN
		UPDATE pg_wallet.airtime_topups x
		SET status = 'SUCCESS', state = 'completed', journal_id = NEW.journal_id,
			completed_at = now()
		WHERE x.id = t.id;
		RETURN NULL;
	END IF;
	UPDATE pg_wallet.airtime_topups x
	SET status = 'FAILED', completed_at = now(),
		state = CASE NEW.status WHEN 'EXPIRED' THEN 'expired' ELSE 'failed' END,
		error = coalesce(x.error, CASE NEW.status
			WHEN 'EXPIRED' THEN 'the network did not confirm the top-up in time'
			ELSE left(NEW.closed_reason, 500) END)
	WHERE x.id = t.id;
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', updated_at = now()
	WHERE o.subject_ref = t.topup_ref AND o.kind = 'airtime_topup'
		AND o.status IN ('PENDING', 'DEAD');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._airtime_topup_hold_ended() IS
	'Internal, trigger holds_airtime_topup: a top-up is SUCCESS when its hold is posted and '
	'FAILED when it is voided or expires; its unsent request is cancelled.';
