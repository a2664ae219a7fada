-- API layer: the Wallet-as-a-Service profile (wallet-as-a-service-api.md), served by
-- pg_wallet_bridge at /waas/api/v1. One function per endpoint:
--   pg_wallet.api_waas_<op>(token text, args jsonb) RETURNS jsonb
-- args is the bridge's envelope {"request_id", "path": {"id"}, "query": {...}, "body": {...}}.
-- Each function authenticates the token first (login takes credentials in the body), checks
-- that everything it touches belongs to the caller's tenant, then calls the core. Errors are
-- raised with the core's SQLSTATEs; field validation is RETURNED (_waas_refusal) with the
-- SQLSTATE the bridge maps to a status and the body the client gets:
-- {"error": {"code": "INVALID_REQUEST", "message", "details": [{"field", "message"}]}}.
-- Clients never see a SQLSTATE: the bridge names a raised code by its public name
-- (src/errors.tsv; docs/bridge.md, "Error bodies"). Amounts have four decimals, as in the spec.
--
-- Tenancy: a WaaS principal (role client) is a tenant. The clients it registers are ledger
-- owners of kind client whose metadata carries waas.tenant_owner_id = the principal's
-- owner; their accounts and client services are the tenant's. Another tenant's client,
-- account, service or transaction is "not found" (no existence leak). Role admin sees all.
-- The rule is _owns and _owned_account in sql/api/common.sql, shared with every profile.

-- Four decimals, as the spec shows amounts ("96.0000").
-- (PL/pgSQL, as every helper on a call's path: see _owns in sql/api/common.sql.)
CREATE OR REPLACE FUNCTION pg_wallet._waas_amount(amount numeric)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN round(amount, 4)::text; END $$;
COMMENT ON FUNCTION pg_wallet._waas_amount(numeric) IS
	'Internal: an amount with four decimals as the WaaS API shows it.';

CREATE OR REPLACE FUNCTION pg_wallet._waas_time(t timestamptz)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'); END $$;
COMMENT ON FUNCTION pg_wallet._waas_time(timestamptz) IS 'Internal: ISO 8601 UTC time.';

-- A returned WaaS refusal: sqlstate gives the HTTP status (the bridge's map), the body has
-- the public code (the name src/errors.tsv gives a WL code, INVALID_REQUEST for bad input).
CREATE OR REPLACE FUNCTION pg_wallet._waas_refusal(sqlstate text, code text, message text,
	details jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('error', jsonb_build_object('code', sqlstate, 'message', message,
		'body', jsonb_build_object('error', jsonb_strip_nulls(jsonb_build_object('code', code,
			'message', message, 'details', details)))))
$$;
COMMENT ON FUNCTION pg_wallet._waas_refusal(text, text, text, jsonb) IS
	'Internal: a returned WaaS refusal: the SQLSTATE for the bridge''s status, the body '
	'{"error": {"code": <public code>, "message", "details"}} for the client.';

-- Validate body fields against a spec {"field": "type"} with types string, number, boolean,
-- object, date, flag (0 or 1); names in required must be present and non-null.
-- Returns the error jsonb, or NULL when the body is valid.
CREATE OR REPLACE FUNCTION pg_wallet._waas_validate(body jsonb, spec jsonb, required text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	details jsonb := '[]';
	k text;
	t text;
	v jsonb;
	ok boolean;
BEGIN
	IF body IS NULL OR jsonb_typeof(body) <> 'object' THEN
		RETURN pg_wallet._waas_refusal('22023', 'INVALID_REQUEST',
			'the body must be a JSON object');
	END IF;
	FOR k, t IN SELECT key, value #>> '{}' FROM jsonb_each(spec) LOOP
		v := body -> k;
		IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
			IF k = ANY (required) THEN
				details := details || jsonb_build_object('field', k, 'message', k || ' is required');
			END IF;
			CONTINUE;
		END IF;
		ok := CASE t
			WHEN 'string' THEN jsonb_typeof(v) = 'string' AND length(v #>> '{}') BETWEEN 1 AND 200
			WHEN 'number' THEN jsonb_typeof(v) = 'number'
				OR (jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^-?[0-9]{1,18}(\.[0-9]{1,18})?$')
			WHEN 'boolean' THEN jsonb_typeof(v) = 'boolean'
			WHEN 'object' THEN jsonb_typeof(v) = 'object' AND octet_length(v::text) <= 4096
			WHEN 'flag' THEN v IN ('0'::jsonb, '1'::jsonb, 'true'::jsonb, 'false'::jsonb)
			WHEN 'date' THEN jsonb_typeof(v) = 'string'
				AND (v #>> '{}') ~ ('^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?'
				                    '(Z|[+-]\d{2}(:?\d{2})?)?)?$')
			ELSE false END;
		IF NOT ok THEN
			details := details || jsonb_build_object('field', k,
				'message', format('%s must be a %s', k, CASE t WHEN 'flag' THEN '0 or 1'
					WHEN 'date' THEN 'ISO 8601 date' WHEN 'string' THEN 'string of 1 to 200 characters'
					ELSE t END));
		END IF;
	END LOOP;
	IF jsonb_array_length(details) = 0 THEN
		RETURN NULL;
	END IF;
	RETURN pg_wallet._waas_refusal('22023', 'INVALID_REQUEST', details -> 0 ->> 'message',
		details);
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_validate(jsonb, jsonb, text[]) IS
	'Internal: WaaS request validation; NULL or an error object listing every bad field.';

-- The caller: a WaaS principal (client) or an admin.
CREATE OR REPLACE FUNCTION pg_wallet._waas_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN pg_wallet._api_caller(token, 'waas', ARRAY['client', 'admin']); END $$;
COMMENT ON FUNCTION pg_wallet._waas_me(text) IS
	'Internal: authenticate a WaaS caller (roles client, admin; a waas token).';

-- A client owner of the caller's tenant, by client code; WL018 otherwise.
CREATE OR REPLACE FUNCTION pg_wallet._waas_client(me pg_wallet.auth_principal, client_code text)
RETURNS pg_wallet.owners
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o pg_wallet.owners;
BEGIN
	SELECT * INTO o FROM pg_wallet.owners x
	WHERE x.external_ref = 'waas:' || left(client_code, 40) AND x.kind = 'client'
		AND pg_wallet._owns(me, x.id);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'client % not found', left(client_code, 40) USING ERRCODE = 'WL018';
	END IF;
	RETURN o;
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_client(pg_wallet.auth_principal, text) IS
	'Internal: a client of the caller''s tenant by client code, or WL018.';

-- A client service of the caller's tenant (its JSON); WL040 otherwise.
CREATE OR REPLACE FUNCTION pg_wallet._waas_service(me pg_wallet.auth_principal, code text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s jsonb := pg_wallet.get_client_service(code);
BEGIN
	IF NOT pg_wallet._owns(me, (s ->> 'client_owner_id')::bigint) THEN
		RAISE EXCEPTION 'client service % does not exist', left(code, 40) USING ERRCODE = 'WL040';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_service(pg_wallet.auth_principal, text) IS
	'Internal: a client service of the caller''s tenant, or WL040.';

-- The tenant's settlement account in a currency: where CREDIT money comes from and DEBIT
-- money goes to (the other party). Made on first use.
CREATE OR REPLACE FUNCTION pg_wallet._waas_settlement(client_owner_id bigint, currency text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	num text := format('WAAS-SETTLE-%s-%s', client_owner_id, upper(currency));
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.account_number = num) THEN
		PERFORM pg_wallet.create_account(client_owner_id, upper(currency), 'SETTLEMENT', num,
			0, true, 'DEFERRED', 'WaaS settlement ' || upper(currency));
	END IF;
	RETURN num;
EXCEPTION WHEN unique_violation THEN
	RETURN num;				-- made by a concurrent first use
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_settlement(bigint, text) IS
	'Internal: the client''s settlement account in a currency (the other party of CREDIT '
	'and DEBIT), created on first use.';

-- One side of a posted journal as the spec shows a transaction.
CREATE OR REPLACE FUNCTION pg_wallet._waas_txn(
	journal jsonb, account_number text, other_account text, txn_type text, meta jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	net numeric := 0;
	cur numeric;
	currency text;
	leg_id text;
	e jsonb;
BEGIN
	FOR e IN SELECT x FROM jsonb_array_elements(journal -> 'entries') x
		WHERE x ->> 'account_number' = account_number ORDER BY (x ->> 'leg')::int
	LOOP
		-- the side's own id: its first (principal) entry, stable and unique per leg
		leg_id := coalesce(leg_id, e ->> 'entry_id');
		net := net + CASE e ->> 'side' WHEN 'CR' THEN 1 ELSE -1 END * (e ->> 'amount')::numeric;
		cur := (e ->> 'balance_after')::numeric;
		currency := e ->> 'currency';
	END LOOP;
	IF cur IS NULL THEN			-- a DEFERRED account: balance now
		cur := (pg_wallet.get_balance(account_number)).balance;
	END IF;
	RETURN jsonb_build_object(
		'transaction_id', leg_id,
		'account', account_number,
		'client_service', meta ->> 'client_service_code',
		'transaction_type', txn_type,
		'currency', currency,
		'transaction_amount', pg_wallet._waas_amount(abs(net)),
		'previous_balance', pg_wallet._waas_amount(cur - net),
		'current_balance', pg_wallet._waas_amount(cur),
		'other_party_account', other_account,
		'other_party_transaction_hash', 'N/A',
		'transaction_source', meta ->> 'transaction_source',
		'source_transaction_id', meta ->> 'source_transaction_id',
		'source_transaction_data', coalesce(meta -> 'source_transaction_data', '{}'),
		'transaction_narration', meta ->> 'transaction_narration',
		'transaction_date', pg_wallet._waas_time((journal #>> '{journal,created_at}')::timestamptz),
		'receipt_code', journal #>> '{journal,receipt_code}');
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_txn(jsonb, text, text, text, jsonb) IS
	'Internal: one account''s side of a journal in the WaaS transaction shape: its own '
	'transaction_id (the id of its first entry in the journal), net amount, previous and '
	'current balance, other party.';

-- ---------------------------------------------------------------------------------------
-- Endpoints
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet.api_waas_login(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b,
		'{"username": "string", "password": "string"}', ARRAY['username', 'password']);
	r pg_wallet.login_result;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	r := pg_wallet.login_client(b ->> 'username', b ->> 'password', 'waas');
	IF r.status <> 'OK' THEN
		-- returned, not raised: the failed-login count must be kept
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message, 'body', jsonb_build_object('error', jsonb_strip_nulls(
				jsonb_build_object('code', CASE r.sqlstate WHEN 'WL021' THEN 'PRINCIPAL_LOCKED'
				                                           ELSE 'INVALID_CREDENTIALS' END,
					'message', r.message, 'retry_after', r.retry_after_s)))));
	END IF;
	RETURN jsonb_build_object('access_token', r.access_token, 'token_type', r.token_type,
		'expires_in', r.expires_in, 'refresh_token', r.refresh_token);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_login(text, jsonb) IS
	'WaaS POST /auth/login: {username, password} to {access_token, token_type, expires_in, '
	'refresh_token}; refusals returned (WL020 401, WL021 403) with the body '
	'{"error": {"code": "INVALID_CREDENTIALS"|"PRINCIPAL_LOCKED", "message", "retry_after"}}.';

CREATE OR REPLACE FUNCTION pg_wallet.api_waas_create_client(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b, '{"client_name": "string", "client_email": "string",
		"client_phone_number": "string", "contact_person_name": "string",
		"contact_person_email": "string", "contact_person_msisdn": "string",
		"business_pin": "string", "physical_address": "string", "country": "string",
		"logo": "string", "description": "string", "is_active": "flag"}',
		ARRAY['client_name', 'client_email', 'client_phone_number', 'contact_person_name',
		      'contact_person_email', 'contact_person_msisdn', 'business_pin', 'country',
		      'is_active']);
	code text;
	profile jsonb;
	owner_id bigint;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF (b ->> 'client_email') !~ '^[^@\s]+@[^@\s]+$' THEN
		RETURN pg_wallet._waas_refusal('22023', 'INVALID_REQUEST',
			'client_email must be an email address',
			jsonb_build_array(jsonb_build_object('field', 'client_email',
				'message', 'client_email must be an email address')));
	END IF;
	code := upper(left(regexp_replace(b ->> 'client_name', '[^A-Za-z]', '', 'g') || 'CLI', 3))
		|| upper(left(pg_wallet.base32_encode(pg_wallet._random_bytes(5)), 7));
	profile := jsonb_strip_nulls(jsonb_build_object(
		'client_name', b ->> 'client_name', 'client_email', b ->> 'client_email',
		'client_phone_number', b ->> 'client_phone_number',
		'contact_person_name', b ->> 'contact_person_name',
		'contact_person_email', b ->> 'contact_person_email',
		'contact_person_msisdn', b ->> 'contact_person_msisdn',
		'business_pin', b ->> 'business_pin', 'physical_address', b ->> 'physical_address',
		'country', b ->> 'country', 'logo', b ->> 'logo', 'description', b ->> 'description',
		'is_active', CASE WHEN b -> 'is_active' IN ('1', 'true') THEN 1 ELSE 0 END,
		'client_code', code));
	owner_id := pg_wallet.create_owner('client', b ->> 'client_name', 'waas:' || code,
		jsonb_build_object('waas', profile || jsonb_build_object('tenant_owner_id', me.owner_id)));
	RETURN jsonb_build_object('client_id', owner_id::text) || profile;
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_create_client(text, jsonb) IS
	'WaaS POST /clients: register a client of the caller''s tenant; returns the profile with '
	'client_id and a unique client_code.';

CREATE OR REPLACE FUNCTION pg_wallet.api_waas_create_account(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b, '{"client_code": "string",
		"account_type_code": "string", "account_name": "string", "currency": "string",
		"minimum_balance": "number", "can_overdraw": "boolean", "status": "string",
		"status_description": "string"}',
		ARRAY['client_code', 'account_type_code', 'account_name', 'currency',
		      'minimum_balance', 'status']);
	client pg_wallet.owners;
	a pg_wallet.account_info;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF (b ->> 'status') NOT IN ('ACTIVE', 'INACTIVE') THEN
		RAISE EXCEPTION 'status must be ACTIVE or INACTIVE' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (b ->> 'account_type_code') IN ('FEE_INCOME', 'FX_POSITION', 'SUSPENSE', 'SETTLEMENT')
		OR NOT EXISTS (SELECT 1 FROM pg_wallet.account_purposes p
		               WHERE p.code = b ->> 'account_type_code') THEN
		RAISE EXCEPTION 'account_type_code "%" is not valid', left(b ->> 'account_type_code', 40)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use FLOAT_ACCOUNT, AVAILABLE_COLLECTIONS, HYBRID_ACCOUNT, '
			             'ACQUIRER_RESERVE, ROLLING_RESERVE, COMMISSION_ACCOUNT or '
			             'COMMISSION_TAX_ACCOUNT.';
	END IF;
	client := pg_wallet._waas_client(me, b ->> 'client_code');
	a := pg_wallet.create_account(client.id, upper(b ->> 'currency'), b ->> 'account_type_code',
		nextval('pg_wallet.waas_account_number_seq')::text,
		(b ->> 'minimum_balance')::numeric, coalesce((b ->> 'can_overdraw')::boolean, false),
		'DIRECT', b ->> 'account_name',
		jsonb_strip_nulls(jsonb_build_object('status_description', b ->> 'status_description')));
	IF b ->> 'status' = 'INACTIVE' THEN
		a := pg_wallet.set_account_status(a.account_number, 'INACTIVE', b ->> 'status_description');
	END IF;
	RETURN jsonb_build_object(
		'account_id', a.account_id::text, 'account_number', a.account_number,
		'account_name', a.name, 'client_code', b ->> 'client_code',
		'account_type_code', a.purpose, 'currency', a.currency,
		'minimum_balance', pg_wallet._waas_amount(a.minimum_balance),
		'can_overdraw', a.can_overdraw, 'status', a.status,
		'status_description', b ->> 'status_description',
		'created_at', pg_wallet._waas_time(a.created_at),
		'updated_at', pg_wallet._waas_time(a.updated_at));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_create_account(text, jsonb) IS
	'WaaS POST /accounts: open an account (wallet) for a client of the caller''s tenant.';

CREATE OR REPLACE FUNCTION pg_wallet.api_waas_create_client_service(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b, '{"client_code": "string",
		"client_service_name": "string", "service_code": "string",
		"has_transaction_fee": "boolean", "transaction_fee_type": "string",
		"transaction_fee": "number", "minimum_transaction_amount": "number",
		"maximum_transaction_amount": "number", "is_active": "flag"}',
		ARRAY['client_code', 'client_service_name', 'service_code', 'has_transaction_fee',
		      'minimum_transaction_amount', 'maximum_transaction_amount', 'is_active']);
	client pg_wallet.owners;
	has_fee boolean := (b ->> 'has_transaction_fee')::boolean;
	s jsonb;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF has_fee AND coalesce(b ->> 'transaction_fee_type', '') NOT IN ('FIXED', 'PERCENTAGE') THEN
		RAISE EXCEPTION 'transaction_fee_type must be FIXED or PERCENTAGE when '
			'has_transaction_fee is true' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	client := pg_wallet._waas_client(me, b ->> 'client_code');
	s := pg_wallet.create_client_service(client.id, b ->> 'client_service_name',
		b ->> 'service_code', (b ->> 'minimum_transaction_amount')::numeric,
		(b ->> 'maximum_transaction_amount')::numeric, true, true,
		CASE WHEN has_fee THEN b ->> 'transaction_fee_type' END,
		CASE WHEN has_fee THEN coalesce((b ->> 'transaction_fee')::numeric, 0) ELSE 0 END);
	IF b -> 'is_active' IN ('0', 'false') THEN
		s := pg_wallet.set_client_service_active(s ->> 'client_service_code', false);
	END IF;
	RETURN jsonb_build_object('client_service_id', s ->> 'client_service_id',
		'client_service_code', s ->> 'client_service_code', 'client_code', b ->> 'client_code',
		'client_service_name', s ->> 'client_service_name', 'service_code', s ->> 'service_code',
		'has_transaction_fee', has_fee,
		-- the spec's shape whatever was stored: a fee of 0 keeps its type, no fee is 0
		'transaction_fee_type', coalesce(s ->> 'transaction_fee_type',
			CASE WHEN has_fee THEN b ->> 'transaction_fee_type' END),
		'transaction_fee', CASE WHEN jsonb_typeof(s -> 'transaction_fee') = 'number'
			THEN s -> 'transaction_fee' ELSE '0' END,
		'minimum_transaction_amount', s -> 'minimum_transaction_amount',
		'maximum_transaction_amount', s -> 'maximum_transaction_amount',
		'is_active', CASE WHEN (s ->> 'is_active')::boolean THEN 1 ELSE 0 END);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_create_client_service(text, jsonb) IS
	'WaaS POST /client-services: a client service (limits, optional FIXED or PERCENTAGE fee).';

-- The transaction metadata kept on the journal and echoed back.
CREATE OR REPLACE FUNCTION pg_wallet._waas_meta(b jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_strip_nulls(jsonb_build_object(
		'client_service_code', b ->> 'client_service_code',
		'transaction_source', b ->> 'transaction_source',
		'source_transaction_id', b ->> 'source_transaction_id',
		'source_transaction_data', b -> 'source_transaction_data',
		'transaction_narration', b ->> 'transaction_narration',
		'transaction_date', b ->> 'transaction_date'));
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_meta(jsonb) IS 'Internal: WaaS fields kept on a journal.';

CREATE OR REPLACE FUNCTION pg_wallet.api_waas_transaction(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	command text := upper(args #>> '{query,command}');
	err jsonb := pg_wallet._waas_validate(b, '{"account_number": "string",
		"client_service_code": "string", "transaction_source": "string",
		"transaction_amount": "number", "source_transaction_id": "string",
		"source_transaction_data": "object", "transaction_narration": "string",
		"transaction_date": "date"}',
		ARRAY['account_number', 'client_service_code', 'transaction_source',
		      'transaction_amount', 'source_transaction_id', 'transaction_date']);
	a pg_wallet.account_info;
	other text;
	meta jsonb;
	r pg_wallet.journal_result;
BEGIN
	IF command IS NULL OR command NOT IN ('CREDIT', 'DEBIT') THEN
		RAISE EXCEPTION 'command must be CREDIT or DEBIT' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	a := pg_wallet._owned_account(me, b ->> 'account_number');
	PERFORM pg_wallet._waas_service(me, b ->> 'client_service_code');
	other := pg_wallet._waas_settlement(a.owner_id, a.currency);
	meta := pg_wallet._waas_meta(b);
	IF command = 'CREDIT' THEN
		r := pg_wallet.credit(a.account_number, (b ->> 'transaction_amount')::numeric, other,
			format('waas:%s:%s', me.owner_id, b ->> 'source_transaction_id'),
			b ->> 'transaction_narration', meta, b ->> 'client_service_code');
	ELSE
		r := pg_wallet.debit(a.account_number, (b ->> 'transaction_amount')::numeric, other,
			format('waas:%s:%s', me.owner_id, b ->> 'source_transaction_id'),
			b ->> 'transaction_narration', meta, b ->> 'client_service_code');
	END IF;
	RETURN pg_wallet._waas_txn(pg_wallet.get_journal(r.receipt_code), a.account_number, other,
		command, meta);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_transaction(text, jsonb) IS
	'WaaS POST /transactions?command=CREDIT|DEBIT: credit or debit a tenant account under a '
	'client service against the client''s settlement account; idempotent on '
	'source_transaction_id.';

CREATE OR REPLACE FUNCTION pg_wallet.api_waas_transfer(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b, '{"source_account_number": "string",
		"destination_account_number": "string", "client_service_code": "string",
		"transaction_amount": "number", "source_transaction_id": "string",
		"transaction_source": "string", "source_transaction_data": "object",
		"transaction_narration": "string", "transaction_date": "date"}',
		ARRAY['source_account_number', 'destination_account_number', 'client_service_code',
		      'transaction_amount', 'source_transaction_id', 'transaction_source',
		      'transaction_date']);
	src pg_wallet.account_info;
	dst pg_wallet.account_info;
	meta jsonb;
	r pg_wallet.journal_result;
	j jsonb;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	src := pg_wallet._owned_account(me, b ->> 'source_account_number');
	dst := pg_wallet._owned_account(me, b ->> 'destination_account_number');
	PERFORM pg_wallet._waas_service(me, b ->> 'client_service_code');
	meta := pg_wallet._waas_meta(b);
	r := pg_wallet.transfer(src.account_number, dst.account_number,
		(b ->> 'transaction_amount')::numeric,
		format('waas:%s:%s', me.owner_id, b ->> 'source_transaction_id'),
		b ->> 'transaction_narration', meta, b ->> 'client_service_code');
	j := pg_wallet.get_journal(r.receipt_code);
	RETURN jsonb_build_object(
		'source_transaction', pg_wallet._waas_txn(j, src.account_number, dst.account_number,
			'DEBIT', meta),
		'destination_transaction', pg_wallet._waas_txn(j, dst.account_number,
			src.account_number, 'CREDIT', meta));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_transfer(text, jsonb) IS
	'WaaS POST /account-transfers: move money between two tenant accounts under a client '
	'service; both sides with previous and current balances.';

CREATE OR REPLACE FUNCTION pg_wallet.api_waas_reverse(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	id_text text := args #>> '{path,id}';
	jr pg_wallet.journals;
	r pg_wallet.journal_result;
	j jsonb;
	src text;
	dst text;
	meta jsonb;
BEGIN
	IF upper(coalesce(args #>> '{query,command}', '')) <> 'REVERSE' THEN
		RAISE EXCEPTION 'command must be REVERSE' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- either side's transaction_id (an entry id) or the receipt code names the transaction
	IF id_text ~ '^[0-9]{1,18}$' THEN
		SELECT x.* INTO jr FROM pg_wallet.journals x
		JOIN pg_wallet.entries e ON e.journal_id = x.id
		WHERE e.id = id_text::bigint AND x.status = 'POSTED';
	ELSIF length(id_text) <= 64 AND id_text LIKE 'RCP-%' THEN
		SELECT x.* INTO jr FROM pg_wallet.journals x
		WHERE x.id = pg_wallet.journal_id_from_receipt(id_text) AND x.status = 'POSTED'
		  AND pg_wallet.receipt_code(x.id, x.created_at) = id_text;
	END IF;
	IF jr.id IS NULL THEN
		RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
	END IF;
	-- another tenant's transaction is not found: every account it touches must be ours
	IF EXISTS (
		SELECT 1 FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
		WHERE e.journal_id = jr.id AND a.purpose NOT IN ('FEE_INCOME', 'FX_POSITION', 'SUSPENSE')
			AND NOT pg_wallet._owns(me, a.owner_id)) THEN
		RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
	END IF;
	r := pg_wallet.reverse_journal(pg_wallet.receipt_code(jr.id, jr.created_at),
		format('waas-reverse:%s:%s', me.owner_id, jr.id), 'WaaS REVERSE');
	j := pg_wallet.get_journal(r.receipt_code);
	-- the principal legs: the largest debit and the largest credit that are not fees
	SELECT e ->> 'account_number' INTO src FROM jsonb_array_elements(j -> 'entries') e
	WHERE e ->> 'side' = 'DR' ORDER BY (e ->> 'amount')::numeric DESC, (e ->> 'leg')::int LIMIT 1;
	SELECT e ->> 'account_number' INTO dst FROM jsonb_array_elements(j -> 'entries') e
	WHERE e ->> 'side' = 'CR' ORDER BY (e ->> 'amount')::numeric DESC, (e ->> 'leg')::int LIMIT 1;
	meta := coalesce(jr.metadata, '{}') || jsonb_build_object('transaction_source', 'INTERNAL');
	RETURN jsonb_build_object(
		'source_transaction', pg_wallet._waas_txn(j, src, dst, 'DEBIT', meta),
		'destination_transaction', pg_wallet._waas_txn(j, dst, src, 'CREDIT', meta));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_reverse(text, jsonb) IS
	'WaaS POST /transactions/:id?command=REVERSE: reverse a tenant transaction once (WL006 '
	'when already reversed); :id is either side''s transaction_id or the receipt code; both '
	'sides of the reversal with their own transaction_id, previous and current balances.';

-- Not in the spec (it has no read endpoint): GET /accounts/:id/balance, the balance of a tenant
-- account, so that clients (and bench/bridge_run) can read one without posting.
CREATE OR REPLACE FUNCTION pg_wallet.api_waas_get_balance(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	a pg_wallet.account_info := pg_wallet._owned_account(me, args #>> '{path,id}');
	b pg_wallet.balance_info := pg_wallet.get_balance(a.account_number);
BEGIN
	RETURN jsonb_build_object('account_number', b.account_number, 'currency', b.currency,
		'balance', pg_wallet._waas_amount(b.balance),
		'available_balance', pg_wallet._waas_amount(b.available_balance),
		'pending_debit', pg_wallet._waas_amount(b.pending_debit),
		'pending_credit', pg_wallet._waas_amount(b.pending_credit),
		'status', a.status, 'last_transaction_at', pg_wallet._waas_time(b.last_transaction_at));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_get_balance(text, jsonb) IS
	'WaaS GET /accounts/:id/balance (an addition to the spec): a tenant account''s balance, '
	'available balance and pending amounts with four decimals; another tenant''s is WL005.';
