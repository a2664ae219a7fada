-- Adapters: what a partner's requests look like and how its answers are read.
--
-- generic_json: POST {base_url}/deposits and {base_url}/payouts with a JSON body (see
--   docs/sql-api.md), signed with Standard Webhooks headers; the answer's "status"
--   ("accepted", "completed", "failed") and "partner_reference" are read.
-- mpesa_daraja: Safaricom Daraja shapes. STK push POST
--   {base_url}/mpesa/stkpush/v1/processrequest (Password = base64(shortcode + passkey +
--   timestamp)); B2C POST {base_url}/mpesa/b2c/v3/paymentrequest (OriginatorConversationID =
--   our request_ref, so a repeat is recognisable). Amounts are whole units.
--
-- Secrets (the password, the security credential, the callback URL token) are added by
-- _adapter_render when a row is sent, in the worker, so no stored body holds one.

CREATE OR REPLACE FUNCTION pg_wallet._mpesa_phone(phone text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ltrim(phone, '+') $$;
COMMENT ON FUNCTION pg_wallet._mpesa_phone(text) IS
	'Internal: an E.164 phone as Daraja writes it (254712345678).';

CREATE OR REPLACE FUNCTION pg_wallet._mpesa_whole_amount(p_amount_minor bigint, p_currency text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	exponent smallint := (SELECT c.exponent FROM pg_wallet.currencies c WHERE c.code = p_currency);
BEGIN
	IF p_amount_minor % (10 ^ exponent)::bigint <> 0 THEN
		RAISE EXCEPTION 'M-Pesa amounts are whole units: % % has a fraction',
			pg_wallet.amount_format(p_amount_minor, p_currency), p_currency
			USING ERRCODE = 'WL074';
	END IF;
	RETURN p_amount_minor / (10 ^ exponent)::bigint;
END
$$;
COMMENT ON FUNCTION pg_wallet._mpesa_whole_amount(bigint, text) IS
	'Internal: an amount in whole units for Daraja, or WL074 when it has a fraction.';

CREATE OR REPLACE FUNCTION pg_wallet._partner_callback_url(p pg_wallet.partners)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.callback_url || '/' || p.id || '/callback'
$$;
COMMENT ON FUNCTION pg_wallet._partner_callback_url(pg_wallet.partners) IS
	'Internal: the URL a generic_json partner posts its signed callbacks to: '
	'{callback_url}/{partner}/callback, the bridge''s partners profile when callback_url is '
	'its public base (https://host/partners); NULL without a callback_url.';

CREATE OR REPLACE FUNCTION pg_wallet._mpesa_callback_url(p pg_wallet.partners, secret bytea)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('%s/%s/mpesa/%s', p.callback_url, p.id,
		encode(pg_wallet._hmac_sha256(secret, convert_to('mpesa-callback:' || p.id, 'UTF8')),
		       'hex'))
$$;
COMMENT ON FUNCTION pg_wallet._mpesa_callback_url(pg_wallet.partners, bytea) IS
	'Internal: the URL Daraja calls back: {callback_url}/{partner}/mpesa/{token}, the token '
	'an HMAC of the partner id under its webhook secret (Daraja signs nothing, so the '
	'unguessable URL is what authenticates a callback; the bridge''s partners profile passes '
	'the token as the x-callback-token header).';

CREATE OR REPLACE FUNCTION pg_wallet._adapter_deposit_request(p pg_wallet.partners, d pg_wallet.deposits)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p.adapter = 'mpesa_daraja' THEN
		IF d.phone IS NULL THEN
			RAISE EXCEPTION 'an M-Pesa deposit needs the payer''s phone number'
				USING ERRCODE = 'WL068';
		END IF;
		RETURN jsonb_build_object('url', p.base_url || '/mpesa/stkpush/v1/processrequest',
			'body', jsonb_build_object(
				'TransactionType', 'CustomerPayBillOnline',
				'Amount', pg_wallet._mpesa_whole_amount(d.amount_minor, d.currency),
				'PartyA', pg_wallet._mpesa_phone(d.phone),
				'PhoneNumber', pg_wallet._mpesa_phone(d.phone),
				'AccountReference', 'DEP' || d.id,
				'TransactionDesc', left(coalesce(d.description, 'Deposit'), 13)));
	END IF;
	RETURN jsonb_build_object('url', p.base_url || '/deposits',
		'body', jsonb_strip_nulls(jsonb_build_object(
			'type', 'deposit.request',
			'reference', d.request_ref,
			'amount', pg_wallet.amount_format(d.amount_minor, d.currency)::text,
			'currency', d.currency,
			'phone', d.phone,
			'payment_method', d.payment_method,
			'description', d.description,
			'callback_url', pg_wallet._partner_callback_url(p),
			'expires_at', pg_wallet._ts_iso(d.expires_at))));
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_deposit_request(pg_wallet.partners, pg_wallet.deposits) IS
	'Internal: the URL and (secret-free) body of a deposit request in the partner''s shape.';

CREATE OR REPLACE FUNCTION pg_wallet._adapter_payout_request(p pg_wallet.partners, w pg_wallet.withdrawals)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p.adapter = 'mpesa_daraja' THEN
		IF w.kind <> 'mobile' THEN
			RAISE EXCEPTION 'partner % pays out to phones only', p.id USING ERRCODE = 'WL068';
		END IF;
		RETURN jsonb_build_object('url', p.base_url || '/mpesa/b2c/v3/paymentrequest',
			'body', jsonb_build_object(
				'OriginatorConversationID', w.request_ref,
				'CommandID', 'BusinessPayment',
				'Amount', pg_wallet._mpesa_whole_amount(w.amount_minor, w.currency),
				'PartyB', pg_wallet._mpesa_phone(w.destination),
				'Remarks', left(coalesce(w.narrative, 'Withdrawal'), 100),
				'Occassion', w.request_ref));
	END IF;
	RETURN jsonb_build_object('url', p.base_url || '/payouts',
		'body', jsonb_strip_nulls(jsonb_build_object(
			'type', 'payout.request',
			'reference', w.request_ref,
			'amount', pg_wallet.amount_format(w.amount_minor, w.currency)::text,
			'currency', w.currency,
			'destination', CASE w.kind
				WHEN 'bank' THEN jsonb_build_object('kind', 'bank', 'bank_code', w.bank_code,
					'bank_name', (SELECT b.name FROM pg_wallet.bank_codes b WHERE b.code = w.bank_code),
					'account_number', w.destination, 'account_name', w.account_name)
				ELSE jsonb_build_object('kind', 'mobile', 'phone', w.destination) END,
			'narrative', w.narrative,
			'callback_url', pg_wallet._partner_callback_url(p))));
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_payout_request(pg_wallet.partners, pg_wallet.withdrawals) IS
	'Internal: the URL and (secret-free) body of a payout request in the partner''s shape.';

CREATE OR REPLACE FUNCTION pg_wallet._adapter_render(
	r pg_wallet.outbox, p pg_wallet.partners, s pg_wallet.partner_secrets)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	body jsonb := r.body;
	headers text := 'Content-Type: application/json' || E'\n' || 'Accept: application/json';
	ts text;
	cred jsonb := coalesce(s.credentials, '{}');
	k text;
	v text;
BEGIN
	FOR k, v IN SELECT * FROM jsonb_each_text(r.headers) LOOP
		headers := headers || E'\n' || k || ': ' || v;
	END LOOP;
	IF p.adapter = 'mpesa_daraja' AND r.kind = 'deposit' THEN
		ts := to_char(clock_timestamp() AT TIME ZONE 'Africa/Nairobi', 'YYYYMMDDHH24MISS');
		body := body || jsonb_build_object(
			'BusinessShortCode', cred ->> 'shortcode',
			'PartyB', cred ->> 'shortcode',
			'Timestamp', ts,
			'Password', replace(encode(convert_to((cred ->> 'shortcode') || (cred ->> 'passkey')
			                                      || ts, 'UTF8'), 'base64'), E'\n', ''),
			'CallBackURL', pg_wallet._mpesa_callback_url(p, s.webhook_secret));
	ELSIF p.adapter = 'mpesa_daraja' AND r.kind = 'payout' THEN
		body := body || jsonb_build_object(
			'InitiatorName', cred ->> 'initiator_name',
			'SecurityCredential', cred ->> 'security_credential',
			'PartyA', cred ->> 'shortcode',
			'QueueTimeOutURL', pg_wallet._mpesa_callback_url(p, s.webhook_secret),
			'ResultURL', pg_wallet._mpesa_callback_url(p, s.webhook_secret));
	END IF;
	RETURN jsonb_build_object('url', r.url, 'headers', headers,
		'body', CASE WHEN body IS NULL THEN '' ELSE body::text END);
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_render(pg_wallet.outbox, pg_wallet.partners,
	pg_wallet.partner_secrets) IS
	'Internal, worker only: the request as sent: headers as "Name: value" lines, the body '
	'with the adapter''s secrets and send-time fields added (Daraja Timestamp, Password, '
	'SecurityCredential, callback URLs).';

CREATE OR REPLACE FUNCTION pg_wallet._adapter_subject_open(r pg_wallet.outbox)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fn text;
	still_open boolean;
BEGIN
	IF r.kind = 'deposit' THEN
		RETURN EXISTS (SELECT 1 FROM pg_wallet.deposits d
			WHERE d.request_ref = r.subject_ref AND d.status IN ('pending', 'sent_to_partner'));
	ELSIF r.kind = 'payout' THEN
		RETURN EXISTS (SELECT 1 FROM pg_wallet.withdrawals w
			WHERE w.request_ref = r.subject_ref AND w.status = 'processing');
	END IF;
	-- a kind of a layer above (partner_subject_kinds): its own function says
	SELECT k.open_function INTO fn FROM pg_wallet.partner_subject_kinds k WHERE k.kind = r.kind;
	IF fn IS NULL THEN
		RETURN true;
	END IF;
	EXECUTE format('SELECT pg_wallet.%I($1)', fn) INTO still_open USING r.subject_ref;
	RETURN coalesce(still_open, false);
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_subject_open(pg_wallet.outbox) IS
	'Internal: whether the deposit, payout or registered subject (partner_subject_kinds: a '
	'card payment) an outbox row is about is still open.';

-- The answer to a request, parsed: (state, partner_reference, partner_request_id, error)
-- where state is accepted, completed or failed.
CREATE OR REPLACE FUNCTION pg_wallet._adapter_parse_answer(
	p pg_wallet.partners, ok boolean, response text, why text,
	OUT state text, OUT partner_reference text, OUT partner_request_id text, OUT error text)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb;
BEGIN
	IF NOT ok THEN
		state := 'failed';
		error := why;
		RETURN;
	END IF;
	BEGIN
		j := response::jsonb;
	EXCEPTION WHEN OTHERS THEN
		j := NULL;
	END;
	IF j IS NULL OR jsonb_typeof(j) <> 'object' THEN
		state := 'accepted';	-- a 2xx without a readable body: wait for the callback
		RETURN;
	END IF;
	IF p.adapter = 'mpesa_daraja' THEN
		state := CASE WHEN j ->> 'ResponseCode' = '0' THEN 'accepted' ELSE 'failed' END;
		partner_reference := left(coalesce(j ->> 'MerchantRequestID', j ->> 'ConversationID'), 128);
		partner_request_id := left(coalesce(j ->> 'CheckoutRequestID',
		                                    j ->> 'OriginatorConversationID'), 128);
		error := CASE WHEN state = 'failed' THEN left(coalesce(j ->> 'ResponseDescription',
			j ->> 'errorMessage', 'refused by M-Pesa'), 500) END;
		RETURN;
	END IF;
	state := CASE lower(j ->> 'status') WHEN 'completed' THEN 'completed'
		WHEN 'failed' THEN 'failed' ELSE 'accepted' END;
	partner_reference := left(j ->> 'partner_reference', 128);
	error := CASE WHEN state = 'failed' THEN left(coalesce(j ->> 'error', 'refused by partner'),
		500) END;
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_parse_answer(pg_wallet.partners, boolean, text, text) IS
	'Internal: read a partner''s answer to a request (accepted, completed or failed).';

CREATE OR REPLACE FUNCTION pg_wallet._adapter_on_answer(
	r pg_wallet.outbox, ok boolean, response text, why text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(r.partner_id);
	a record := pg_wallet._adapter_parse_answer(p, ok, response, why);
	fn text;
BEGIN
	IF r.kind = 'deposit' THEN
		PERFORM pg_wallet._deposit_answered(r.subject_ref, a.state, a.partner_reference,
			a.partner_request_id, a.error);
	ELSIF r.kind = 'payout' THEN
		PERFORM pg_wallet._withdrawal_answered(r.subject_ref, a.state, a.partner_reference,
			a.partner_request_id, a.error);
	ELSE
		-- a kind of a layer above (partner_subject_kinds: card payments)
		SELECT k.answer_function INTO fn FROM pg_wallet.partner_subject_kinds k
		WHERE k.kind = r.kind;
		IF fn IS NOT NULL THEN
			EXECUTE format('SELECT pg_wallet.%I($1, $2, $3, $4, $5)', fn)
			USING r.subject_ref, r.partner_id, a.state, a.partner_reference, a.error;
		END IF;
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_on_answer(pg_wallet.outbox, boolean, text, text) IS
	'Internal: hand a partner''s answer (or refusal) to the deposit, payout or registered '
	'subject (partner_subject_kinds: a card payment) it is about.';
