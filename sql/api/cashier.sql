-- API layer: the cashier WebSocket profile (cashier-websocket-api.md), served by
-- pg_wallet_bridge at /cashier/svc/ws. Two functions:
--   pg_wallet.api_cashier_connect(token, args)  when a socket opens: the JWT of its
--       Authorization header is checked (a refusal closes the socket) and the "connected"
--       frame is returned;
--   pg_wallet.api_cashier_message(token, args)  for each message {"type", "data"} in
--       args.body: the whole reply frame, {"type": "success", "data": {"message", "data"},
--       "timestamp"}, or {"type": "error", ...}. Raised errors are framed by the bridge.
--   pg_wallet.api_cashier_events(token, args)   the caller's next durable event after
--       args.body.after_event_id, as a push frame (the bridge calls it when the owner is
--       NOTIFYed, and at connect for a client resuming with ?last_event_id=N).
-- A result may carry "_bridge": {owner_id, last_event_id, more, silent}: read by the bridge,
-- never sent. Only the caller's own accounts are read or moved. Request types so far:
-- verification_request, verify_otp, verify_totp, withdraw_request, get_accounts,
-- get_account_balance, get_owner_summary, transfer, convert_and_transfer, get_partners,
-- deposit_request, get_deposit_status, cancel_deposit, get_history, get_transaction_by_receipt,
-- get_account_statement, get_owner_statement, get_ledgers, calculate_fee, ping; any other
-- type answers "unsupported request type".

CREATE OR REPLACE FUNCTION pg_wallet._cashier_frame(kind text, message text, data jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- PL/pgSQL keeps this plan per backend (a SQL function's is re-made per call)
	RETURN jsonb_build_object('type', kind,
		'data', CASE WHEN kind = 'error' THEN jsonb_build_object('message', message)
		             ELSE jsonb_build_object('message', message, 'data', data) END,
		'timestamp', extract(epoch FROM now())::bigint);
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_frame(text, text, jsonb) IS
	'Internal: a cashier reply frame (success with message and data, or error).';

CREATE OR REPLACE FUNCTION pg_wallet._cashier_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._api_caller(token, 'cashier', ARRAY['user', 'merchant', 'client', 'admin']);
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_me(text) IS
	'Internal: authenticate a cashier caller (a cashier token).';

CREATE OR REPLACE FUNCTION pg_wallet.api_cashier_connect(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._cashier_me(token);
	ts bigint := extract(epoch FROM now())::bigint;
	resume text := args #>> '{body,last_event_id}';
	cursor_id bigint;
BEGIN
	IF resume ~ '^[0-9]{1,18}$' THEN
		cursor_id := resume::bigint;
	ELSE
		-- a new session hears the events from now on
		cursor_id := coalesce((SELECT s.last_event_id FROM pg_wallet.event_streams s
		                       WHERE s.owner_id = me.owner_id), 0);
	END IF;
	RETURN jsonb_build_object('type', 'connected',
		'data', jsonb_build_object('user_id', me.principal_id::text, 'timestamp', ts,
			'last_event_id', cursor_id),
		'timestamp', ts,
		'_bridge', jsonb_build_object('owner_id', me.owner_id, 'last_event_id', cursor_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_connect(text, jsonb) IS
	'Cashier socket opened: check its JWT (cashier token) and return the "connected" frame, '
	'with the events cursor: the client''s last_event_id (resume) or the owner''s latest. '
	'"_bridge" (owner_id, last_event_id) is for the bridge and is not sent.';

CREATE OR REPLACE FUNCTION pg_wallet.api_cashier_events(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._cashier_me(token);
	after_text text := args #>> '{body,after_event_id}';
	e pg_wallet.event_info;
	more boolean;
	cashier_types CONSTANT text[] := ARRAY['deposit_completed', 'deposit_failed',
		'withdrawal_completed', 'withdrawal_failed', 'transfer_completed',
		'transaction_completed', 'transaction_failed'];
BEGIN
	IF after_text !~ '^[0-9]{1,18}$' THEN
		RAISE EXCEPTION 'after_event_id must be a non-negative integer'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the spec's seven push events only: the owner's stream also holds Tribble's events
	-- (socket.io) and account:password_changed, which no cashier socket is sent
	SELECT x.id, x.owner_id, x.event_type, x.payload, x.created_at, x.principal_id INTO e
	FROM pg_wallet.events x
	WHERE x.owner_id = me.owner_id AND x.id > after_text::bigint
		AND x.event_type = ANY (cashier_types)
	ORDER BY x.id LIMIT 1;
	IF e.event_id IS NULL THEN
		RETURN jsonb_build_object('_bridge', jsonb_build_object('silent', true));
	END IF;
	more := EXISTS (SELECT 1 FROM pg_wallet.events x WHERE x.owner_id = me.owner_id
		AND x.id > e.event_id AND x.event_type = ANY (cashier_types));
	RETURN jsonb_build_object('type', e.event_type, 'data', e.payload, 'event_id', e.event_id,
		'timestamp', extract(epoch FROM e.created_at)::bigint,
		'_bridge', jsonb_build_object('last_event_id', e.event_id, 'more', more));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_events(text, jsonb) IS
	'Cashier push: the caller''s next cashier event (the spec''s seven types) after '
	'args.body.after_event_id as a frame '
	'{type, data, event_id, timestamp}, with "_bridge" (last_event_id, more) for the bridge; '
	'"_bridge": {"silent": true} when there is none. Events are durable: a client that '
	'reconnects with ?last_event_id=N misses nothing.';

-- Verification: requests and checks of OTP/TOTP codes. A refused check is RETURNED as an
-- error frame (not raised), so the attempt counter it wrote is kept.
CREATE OR REPLACE FUNCTION pg_wallet._cashier_verify(token text, t text, d jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_wallet.verification_challenge;
	v pg_wallet.verification_result;
BEGIN
	IF t = 'verification_request' THEN
		c := pg_wallet.verification_request(token, d ->> 'method', d ->> 'purpose');
		RETURN pg_wallet._cashier_frame('success', c.message, jsonb_strip_nulls(
			to_jsonb(c) - 'message'));
	END IF;
	IF t = 'verify_otp' THEN
		v := pg_wallet.verify_otp(token, d ->> 'code', d ->> 'purpose');
	ELSE
		v := pg_wallet.verify_totp(token, d ->> 'code', d ->> 'purpose');
	END IF;
	IF v.status <> 'OK' THEN
		RETURN pg_wallet._cashier_frame('error', v.message, NULL);
	END IF;
	RETURN pg_wallet._cashier_frame('success', 'verification successful', jsonb_build_object(
		'verification_token', v.verification_token, 'purpose', v.purpose, 'method', v.method,
		'expires_in', v.expires_in,
		'message', 'Use this token for your next ' || v.purpose || ' request'));
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_verify(text, text, jsonb) IS
	'Internal: cashier verification_request, verify_otp and verify_totp frames.';

-- A time argument of a cashier request (ISO 8601), or dflt when absent; 22007 otherwise.
CREATE OR REPLACE FUNCTION pg_wallet._cashier_time(v text, dflt timestamptz, name text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF v IS NULL THEN
		RETURN dflt;
	END IF;
	IF length(v) > 40 THEN
		RAISE EXCEPTION '% must be an ISO 8601 time', name
			USING ERRCODE = 'invalid_datetime_format';
	END IF;
	BEGIN
		RETURN v::timestamptz;
	EXCEPTION WHEN data_exception THEN
		RAISE EXCEPTION '% must be an ISO 8601 time', name
			USING ERRCODE = 'invalid_datetime_format';
	END;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_time(text, timestamptz, text) IS
	'Internal: a cashier time argument (ISO 8601), its default when absent, or 22007.';

-- An integer argument (limit, offset) within [lo, hi], or dflt when absent; 22023 otherwise.
CREATE OR REPLACE FUNCTION pg_wallet._cashier_int(d jsonb, name text, dflt integer, lo integer, hi integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v text := d ->> name;
BEGIN
	IF v IS NULL THEN
		RETURN dflt;
	END IF;
	IF v !~ '^[0-9]{1,9}$' OR v::integer NOT BETWEEN lo AND hi THEN
		RAISE EXCEPTION '% must be an integer between % and %', name, lo, hi
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN v::integer;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_int(jsonb, text, integer, integer, integer) IS
	'Internal: a cashier integer argument within bounds, its default when absent, or 22023.';

-- The amount of a money request: NULL when it is a positive number, else the error frame
-- in the spec's words ("amount must be greater than zero", its error table).
CREATE OR REPLACE FUNCTION pg_wallet._cashier_amount_error(d jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN d -> 'amount' IS NULL OR jsonb_typeof(d -> 'amount') = 'null'
			THEN pg_wallet._cashier_frame('error', 'amount is required', NULL)
		WHEN NOT (jsonb_typeof(d -> 'amount') = 'number'
		          OR (jsonb_typeof(d -> 'amount') = 'string'
		              AND (d ->> 'amount') ~ '^-?[0-9]{1,18}(\.[0-9]{1,18})?$'))
			THEN pg_wallet._cashier_frame('error', 'amount must be a number', NULL)
		WHEN (d ->> 'amount')::numeric <= 0
			THEN pg_wallet._cashier_frame('error', 'amount must be greater than zero', NULL)
	END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_amount_error(jsonb) IS
	'Internal: NULL when d.amount is a positive number, else the cashier error frame '
	'("amount is required", "amount must be a number", "amount must be greater than zero").';

-- get_transaction_by_receipt in the spec's shape: journal {id, transaction_type, description,
-- created_at}, ledgers[] {account_number, amount, currency, type DR_CR_DEBIT|DR_CR_CREDIT,
-- balance_after, description} (every leg, fee legs included) and fees[] (platform fee and
-- agent commission by currency). A caller sees balance_after only on the legs of its own
-- accounts: a counterparty's leg (another user, a partner, the fee account) comes without
-- it, so that a receipt never tells one party another's balance. A journal that touches
-- none of the caller's accounts is "transaction not found", as an unknown receipt.
CREATE OR REPLACE FUNCTION pg_wallet._cashier_receipt(me pg_wallet.auth_principal,
	receipt_code text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g jsonb := pg_wallet.get_journal(receipt_code);
	ledgers jsonb;
	fees jsonb;
	mine_any boolean;
BEGIN
	SELECT jsonb_agg(CASE WHEN s.mine THEN s.l ELSE s.l - 'balance_after' END ORDER BY s.leg),
		bool_or(s.mine),
		coalesce(jsonb_agg(jsonb_build_object('type', s.fee_type, 'amount', s.l -> 'amount',
			'currency', s.l -> 'currency') ORDER BY s.leg) FILTER (WHERE s.fee_type IS NOT NULL),
			'[]')
	INTO ledgers, mine_any, fees
	FROM (SELECT (x ->> 'leg')::int AS leg, pg_wallet._owns(me, a.owner_id) AS mine,
			CASE WHEN x ->> 'side' = 'CR' AND a.purpose = 'FEE_INCOME' THEN 'FEE_TYPE_PLATFORM'
			     WHEN x ->> 'side' = 'CR' AND x ->> 'description' = 'agent commission'
			     THEN 'FEE_TYPE_AGENT_COMMISSION' END AS fee_type,
			jsonb_build_object('account_number', x -> 'account_number',
				'amount', x -> 'amount', 'currency', x -> 'currency',
				'type', CASE x ->> 'side' WHEN 'CR' THEN 'DR_CR_CREDIT' ELSE 'DR_CR_DEBIT' END,
				'balance_after', x -> 'balance_after', 'description', x -> 'description') AS l
		FROM jsonb_array_elements(g -> 'entries') x
		JOIN pg_wallet.accounts a ON a.account_number = x ->> 'account_number') s;
	IF NOT coalesce(mine_any, false) THEN
		RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
	END IF;
	RETURN pg_wallet._cashier_frame('success', 'transaction details', jsonb_build_object(
		'journal', jsonb_build_object('id', g #> '{journal,id}',
			'receipt_code', g #> '{journal,receipt_code}',
			'transaction_type', 'TRANSACTION_TYPE_' || (g #>> '{journal,journal_type}'),
			'description', g #> '{journal,description}',
			'created_at', pg_wallet._ts_iso((g #>> '{journal,created_at}')::timestamptz)),
		'ledgers', ledgers, 'fees', fees));
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_receipt(pg_wallet.auth_principal, text) IS
	'Internal: cashier get_transaction_by_receipt (journal, ledgers, fees); balance_after only '
	'on the caller''s own legs; WL014 when no leg is the caller''s.';

-- get_receipt (not in the spec: the cashier web page's receipt links): the signed receipt of
-- one of the caller's transactions by its receipt code (issued on first request, as Tribble's
-- GET /transactions/:id/receipt does) and the URLs a person opens it at, HTML and PDF, under
-- the bridge's cashier base path (base: the call's envelope).
CREATE OR REPLACE FUNCTION pg_wallet._cashier_receipt_link(me pg_wallet.auth_principal,
	d jsonb, base text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.receipts;
BEGIN
	IF jsonb_typeof(d -> 'receipt_code') IS DISTINCT FROM 'string'
		OR length(d ->> 'receipt_code') > 64 THEN
		RAISE EXCEPTION 'receipt_code is required (a string)'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'receipt_code';
	END IF;
	r := pg_wallet.receipt_issue(pg_wallet._tribble_transaction_journal(me,
		d ->> 'receipt_code'));
	RETURN pg_wallet._cashier_frame('success', 'receipt', jsonb_build_object(
		'receipt_id', r.receipt_id, 'receipt_code', d ->> 'receipt_code',
		'url', pg_wallet.receipt_url(r, base, 'html'),
		'pdf_url', pg_wallet.receipt_url(r, base, 'pdf')));
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_receipt_link(pg_wallet.auth_principal, jsonb, text) IS
	'Internal: cashier get_receipt {receipt_code}: the receipt (issued once) and its HTML and '
	'PDF URLs under base; WL014 when the transaction is not one of the caller''s.';

-- calculate_fee: transaction_type transfer, withdrawal or conversion (target_currency
-- required), a positive amount, the fee the posting would charge in source_currency.
-- A money-moving message may carry a verification token (purpose payment): used up here, in
-- the message's transaction, it meets a fraud decision of REQUIRE_VERIFICATION (WL048,
-- docs/fraud.md) for the caller's postings. Not sent: nothing happens.
CREATE OR REPLACE FUNCTION pg_wallet._cashier_step_up(me pg_wallet.auth_principal, d jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF d ? 'verification_token' THEN
		IF jsonb_typeof(d -> 'verification_token') IS DISTINCT FROM 'string' THEN
			RAISE EXCEPTION 'verification_token must be a string'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM pg_wallet.consume_verification_token(me.principal_id, 'payment',
			d ->> 'verification_token');
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_step_up(pg_wallet.auth_principal, jsonb) IS
	'Internal: cashier transfer / convert_and_transfer: use up the message''s optional '
	'verification_token (purpose payment; WL028 when invalid) so that a fraud decision of '
	'REQUIRE_VERIFICATION lets the posting through.';

CREATE OR REPLACE FUNCTION pg_wallet._cashier_fee(d jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := lower(d ->> 'transaction_type');
	q pg_wallet.fee_quote;
	err jsonb := pg_wallet._cashier_amount_error(d);
BEGIN
	IF t IS NULL OR t NOT IN ('transfer', 'withdrawal', 'conversion') THEN
		RETURN pg_wallet._cashier_frame('error',
			'transaction_type must be transfer, withdrawal or conversion', NULL);
	END IF;
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF d ->> 'source_currency' IS NULL THEN
		RETURN pg_wallet._cashier_frame('error', 'source_currency is required', NULL);
	END IF;
	IF t = 'conversion' THEN
		IF d ->> 'target_currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'target_currency is required for conversion',
				NULL);
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c
		               WHERE c.code = upper(left(d ->> 'target_currency', 3))
		                 AND length(d ->> 'target_currency') = 3 AND c.is_active) THEN
			RETURN pg_wallet._cashier_frame('error', 'unknown target_currency', NULL);
		END IF;
	END IF;
	q := pg_wallet.calculate_fee(upper(t), (d ->> 'amount')::numeric,
		upper(d ->> 'source_currency'));
	RETURN pg_wallet._cashier_frame('success', 'fee calculated', jsonb_build_object(
		'fee_type', coalesce(q.fee_type, 'FEE_TYPE_PLATFORM'), 'amount', q.fee,
		'currency', q.currency, 'applied_rate', q.applied_rate::text));
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_fee(jsonb) IS
	'Internal: cashier calculate_fee: type transfer|withdrawal|conversion (target_currency '
	'required for conversion), a positive amount; the quote of calculate_fee().';

-- A statement of one of the caller's accounts, shaped as the spec shows it.
CREATE OR REPLACE FUNCTION pg_wallet._cashier_statement(account_number text, from_time timestamptz,
	to_time timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('account_number', s ->> 'account_number',
		'currency', s -> 'currency',
		'opening_balance', s -> 'opening_balance', 'closing_balance', s -> 'closing_balance',
		'total_debits', s -> 'total_debits', 'total_credits', s -> 'total_credits',
		'period_start', pg_wallet._ts_iso(from_time), 'period_end', pg_wallet._ts_iso(to_time),
		'ledgers', coalesce((SELECT jsonb_agg(jsonb_build_object('id', l -> 'id',
				'amount', l -> 'amount', 'type', l -> 'type', 'currency', l -> 'currency',
				'balance_after', l -> 'balance_after', 'description', l -> 'description',
				'receipt_code', l -> 'receipt_code',
				'created_at', pg_wallet._ts_iso((l ->> 'created_at')::timestamptz))
				ORDER BY o)
			FROM jsonb_array_elements(s -> 'ledgers') WITH ORDINALITY x(l, o)), '[]'),
		'transaction_count', s -> 'transaction_count', 'has_more', s -> 'has_more')
	FROM pg_wallet.get_statement(account_number, from_time, to_time, 1000) s
$$;
COMMENT ON FUNCTION pg_wallet._cashier_statement(text, timestamptz, timestamptz) IS
	'Internal: a cashier account statement (get_statement, times as ISO 8601 UTC).';

-- FX, history, statements and ledgers: the request types of the spec's later sections.
CREATE OR REPLACE FUNCTION pg_wallet._cashier_reports(me pg_wallet.auth_principal, t text, d jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.account_info;
	b pg_wallet.balance_info;
	c pg_wallet.conversion_result;
	src text;
	recipient bigint;
	from_time timestamptz;
	to_time timestamptz;
	lim integer;
	off integer;
	total bigint;
	j jsonb;
BEGIN
	CASE t
	WHEN 'convert_and_transfer' THEN
		IF d ->> 'from_currency' IS NULL OR d ->> 'to_currency' IS NULL
			OR d ->> 'amount' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error',
				'from_currency, to_currency and amount are required', NULL);
		END IF;
		IF pg_wallet._cashier_amount_error(d) IS NOT NULL THEN
			RETURN pg_wallet._cashier_amount_error(d);
		END IF;
		recipient := me.owner_id;
		IF d ->> 'to_user_id' IS NOT NULL THEN
			SELECT p.owner_id INTO recipient FROM pg_wallet.principals p
			WHERE p.id::text = d ->> 'to_user_id' AND p.status = 'ACTIVE';
			IF recipient IS NULL THEN
				RETURN pg_wallet._cashier_frame('error', 'recipient not found', NULL);
			END IF;
		END IF;
		src := pg_wallet._owner_wallet(me.owner_id, d ->> 'from_currency');
		PERFORM pg_wallet._cashier_step_up(me, d);
		BEGIN
			c := pg_wallet.convert(src, pg_wallet._owner_wallet(recipient, d ->> 'to_currency'),
				(d ->> 'amount')::numeric,
				d ->> 'reference',
				left(d ->> 'description', 200));
		EXCEPTION WHEN SQLSTATE 'WL001' THEN
			-- the form transfer and withdraw_request use (the spec's error example)
			b := pg_wallet.get_balance(src);
			RETURN pg_wallet._cashier_frame('error', format('insufficient balance: available %s %s',
				b.available_balance, b.currency), NULL);
		END;
		RETURN pg_wallet._cashier_frame('success', 'conversion completed', jsonb_build_object(
			'receipt_code', c.receipt_code, 'journal_id', c.journal_id,
			'source_currency', c.source_currency, 'dest_currency', c.dest_currency,
			'source_amount', c.source_amount, 'converted_amount', c.converted_amount,
			'fx_rate', c.fx_rate::text, 'fx_rate_id', c.fx_rate_id, 'fee', c.fee,
			'created_at', pg_wallet._ts_iso(c.created_at)));
	WHEN 'get_history' THEN
		RETURN pg_wallet._cashier_frame('success', 'transaction history',
			pg_wallet.get_history(me.owner_id, coalesce(d ->> 'type', 'all'),
				pg_wallet._cashier_int(d, 'limit', 20, 1, 100),
				pg_wallet._cashier_int(d, 'offset', 0, 0, 100000)));
	WHEN 'get_account_statement' THEN
		a := pg_wallet._owned_account(me, d ->> 'account_number');
		to_time := pg_wallet._cashier_time(d ->> 'to', now(), 'to');
		from_time := pg_wallet._cashier_time(d ->> 'from', to_time - interval '30 days', 'from');
		RETURN pg_wallet._cashier_frame('success', 'account statement',
			pg_wallet._cashier_statement(a.account_number, from_time, to_time));
	WHEN 'get_owner_statement' THEN
		to_time := pg_wallet._cashier_time(d ->> 'to', now(), 'to');
		from_time := pg_wallet._cashier_time(d ->> 'from', to_time - interval '30 days', 'from');
		SELECT jsonb_agg(pg_wallet._cashier_statement(x.account_number, from_time, to_time)
			- 'period_start' - 'period_end' ORDER BY x.account_id)
		INTO j FROM pg_wallet.list_accounts(me.owner_id) x
		WHERE x.status <> 'CLOSED' AND x.purpose <> 'CARD_FUNDING';
		IF j IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'user has no accounts', NULL);
		END IF;
		RETURN pg_wallet._cashier_frame('success', 'owner statement', jsonb_build_object(
			'statements', j, 'count', jsonb_array_length(j),
			'period_start', pg_wallet._ts_iso(from_time),
			'period_end', pg_wallet._ts_iso(to_time)));
	WHEN 'get_ledgers' THEN
		a := pg_wallet._owned_account(me, d ->> 'account_number');
		from_time := pg_wallet._cashier_time(d ->> 'from', NULL, 'from');
		to_time := pg_wallet._cashier_time(d ->> 'to', NULL, 'to');
		IF from_time IS NOT NULL AND to_time IS NOT NULL AND to_time < from_time THEN
			RETURN pg_wallet._cashier_frame('error', 'to is before from', NULL);
		END IF;
		lim := pg_wallet._cashier_int(d, 'limit', 50, 1, 1000);
		off := pg_wallet._cashier_int(d, 'offset', 0, 0, 100000);
		SELECT count(*) INTO total FROM pg_wallet.entries e
		WHERE e.account_id = a.account_id
		  AND (from_time IS NULL OR e.created_at >= from_time)
		  AND (to_time IS NULL OR e.created_at < to_time);
		SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.entry_id,
				'journal_id', x.journal_id, 'amount', x.amount,
				'type', CASE x.side WHEN 'CR' THEN 'DR_CR_CREDIT' ELSE 'DR_CR_DEBIT' END,
				'currency', x.currency, 'balance_after', x.balance_after,
				'description', x.description, 'receipt_code', x.receipt_code,
				'created_at', pg_wallet._ts_iso(x.created_at)) ORDER BY x.created_at, x.entry_id),
			'[]')
		INTO j
		FROM (SELECT * FROM pg_wallet._entries(a.account_id, from_time, to_time, NULL, lim + off)
		      ORDER BY created_at, entry_id OFFSET off) x;
		RETURN pg_wallet._cashier_frame('success', 'ledgers retrieved', jsonb_build_object(
			'ledgers', j, 'total', total, 'limit', lim, 'offset', off));
	ELSE
		RETURN pg_wallet._cashier_frame('error', 'unsupported request type', NULL);
	END CASE;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_reports(pg_wallet.auth_principal, text, jsonb) IS
	'Internal: cashier convert_and_transfer, get_history, get_account_statement, '
	'get_owner_statement and get_ledgers frames; "unsupported request type" for other types.';

-- The caller's accounts, balances, partners, deposits, receipts and fees.
CREATE OR REPLACE FUNCTION pg_wallet._cashier_reads(me pg_wallet.auth_principal, t text, d jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b pg_wallet.balance_info;
	a pg_wallet.account_info;
	accounts jsonb;
BEGIN
	CASE t
	WHEN 'ping' THEN
		RETURN jsonb_build_object('type', 'pong', 'timestamp', extract(epoch FROM now())::bigint);
	WHEN 'get_accounts' THEN
		SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.account_id,
			'account_number', x.account_number, 'currency', x.currency,
			'purpose', 'ACCOUNT_PURPOSE_' || x.purpose, 'account_type', 'ACCOUNT_TYPE_REAL',
			'is_active', x.status = 'ACTIVE', 'is_locked', x.status = 'LOCKED',
			'created_at', pg_wallet._waas_time(x.created_at)) ORDER BY x.account_id), '[]')
		INTO accounts FROM pg_wallet.list_accounts(me.owner_id) x
		-- a card funding account (payments/cards.sql) holds no money at rest: not a wallet
		WHERE x.purpose <> 'CARD_FUNDING';
		RETURN pg_wallet._cashier_frame('success', 'accounts retrieved',
			jsonb_build_object('accounts', accounts, 'count', jsonb_array_length(accounts)));
	WHEN 'get_account_balance' THEN
		a := pg_wallet._owned_account(me, d ->> 'account_number');
		b := pg_wallet.get_balance(a.account_number);
		RETURN pg_wallet._cashier_frame('success', 'balance retrieved', jsonb_build_object(
			'account_number', b.account_number, 'balance', b.balance,
			'available_balance', b.available_balance, 'pending_debit', b.pending_debit,
			'pending_credit', b.pending_credit, 'currency', b.currency,
			'last_transaction', pg_wallet._waas_time(b.last_transaction_at)));
	WHEN 'get_owner_summary' THEN
		RETURN pg_wallet._cashier_frame('success', 'owner summary',
			pg_wallet.get_owner_summary(me.owner_id, coalesce(d ->> 'currency', 'USD')));
	WHEN 'get_partners' THEN
		RETURN pg_wallet._cashier_frame('success', 'partners retrieved',
			pg_wallet.get_partners(coalesce(d ->> 'service', 'mpesa')));
	WHEN 'get_deposit_status' THEN
		RETURN pg_wallet._cashier_frame('success', 'deposit status',
			pg_wallet.get_deposit_status(d ->> 'request_ref', me.owner_id));
	WHEN 'cancel_deposit' THEN
		PERFORM pg_wallet.cancel_deposit(d ->> 'request_ref', me.owner_id);
		RETURN pg_wallet._cashier_frame('success', 'deposit cancelled', 'null');
	WHEN 'get_transaction_by_receipt' THEN
		RETURN pg_wallet._cashier_receipt(me, d ->> 'receipt_code');
	WHEN 'calculate_fee' THEN
		RETURN pg_wallet._cashier_fee(d);
	ELSE
		RETURN pg_wallet._cashier_reports(me, t, d);
	END CASE;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_reads(pg_wallet.auth_principal, text, jsonb) IS
	'Internal: cashier ping, get_accounts, get_account_balance, get_owner_summary, '
	'get_partners, get_deposit_status, cancel_deposit, get_transaction_by_receipt and '
	'calculate_fee frames; the later sections'' types go to _cashier_reports.';

CREATE OR REPLACE FUNCTION pg_wallet._cashier_dispatch(me pg_wallet.auth_principal, t text, d jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	src text;
	dst text;
	recipient bigint;
	sent jsonb;
	j jsonb;
BEGIN
	CASE t
	WHEN 'transfer' THEN
		IF d ->> 'to_user_id' IS NULL OR d ->> 'amount' IS NULL OR d ->> 'currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error',
				'to_user_id, amount and currency are required', NULL);
		END IF;
		IF pg_wallet._cashier_amount_error(d) IS NOT NULL THEN
			RETURN pg_wallet._cashier_amount_error(d);
		END IF;
		SELECT p.owner_id INTO recipient FROM pg_wallet.principals p
		WHERE p.id::text = d ->> 'to_user_id' AND p.status = 'ACTIVE';
		IF recipient IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'recipient not found', NULL);
		END IF;
		src := pg_wallet._owner_wallet(me.owner_id, d ->> 'currency');
		dst := pg_wallet._owner_wallet(recipient, d ->> 'currency');
		PERFORM pg_wallet._cashier_step_up(me, d);
		-- the core's P2P transfer: posts and emits transfer_completed to both owners
		sent := pg_wallet.send_funds_to_account(src, dst, (d ->> 'amount')::numeric,
			d ->> 'reference',
			left(d ->> 'description', 200));
		IF sent ->> 'status' = 'pending' THEN
			-- held for fraud review (docs/fraud.md): reserved, not sent
			RETURN pg_wallet._cashier_frame('success', 'transfer held for review',
				jsonb_build_object('status', 'held_for_review', 'hold_id', sent -> 'hold_id',
					'amount', (sent ->> 'amount')::numeric));
		END IF;
		j := pg_wallet.get_journal(sent ->> 'transaction_id');
		RETURN pg_wallet._cashier_frame('success', 'transfer completed', jsonb_build_object(
			'receipt_code', sent ->> 'transaction_id', 'journal_id', j #> '{journal,id}',
			'amount', (sent ->> 'amount')::numeric,
			'fee', coalesce((SELECT sum((x ->> 'amount')::numeric)
			                 FROM jsonb_array_elements(j -> 'entries') x
			                 WHERE x ->> 'account_number' = src AND x ->> 'description' = 'fee'),
			                0),
			'agent_commission', 0,
			'created_at', j #>> '{journal,created_at}'));
	WHEN 'withdraw_request' THEN
		IF d ->> 'amount' IS NULL OR d ->> 'currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'amount and currency are required', NULL);
		END IF;
		IF pg_wallet._cashier_amount_error(d) IS NOT NULL THEN
			RETURN pg_wallet._cashier_amount_error(d);
		END IF;
		-- withdraw_request answers {"message", "data"}: the spec's message and data
		j := pg_wallet.withdraw_request(me.principal_id, (d ->> 'amount')::numeric,
				upper(d ->> 'currency'), coalesce(d ->> 'destination', d ->> 'phone'),
				d ->> 'verification_token', coalesce(d ->> 'service', 'mpesa'),
				d ->> 'agent_id',
				d ->> 'reference',
				d ->> 'partner_id') - 'replayed';
		RETURN pg_wallet._cashier_frame('success',
			coalesce(j ->> 'message', 'withdrawal request created'), coalesce(j -> 'data', j));
	WHEN 'deposit_request' THEN
		IF d ->> 'amount' IS NULL OR d ->> 'currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'amount and currency are required', NULL);
		END IF;
		IF pg_wallet._cashier_amount_error(d) IS NOT NULL THEN
			RETURN pg_wallet._cashier_amount_error(d);
		END IF;
		j := pg_wallet.deposit_request(pg_wallet._owner_wallet(me.owner_id, d ->> 'currency'),
				(d ->> 'amount')::numeric, d ->> 'service', d ->> 'partner_id',
				d ->> 'payment_method', d ->> 'phone',
				d ->> 'reference',
				left(d ->> 'description', 200), 'cashier', 1800, upper(d ->> 'currency'))
			- 'replayed';
		-- the spec's status of a new request: its partner call is queued in this transaction
		-- (the outbox delivers it after the commit); docs/bridge.md, deviations
		IF j ->> 'status' = 'pending' THEN
			j := j || '{"status": "sent_to_partner"}';
		END IF;
		RETURN pg_wallet._cashier_frame('success', 'deposit request created', j);
	ELSE
		RETURN pg_wallet._cashier_reads(me, t, d);
	END CASE;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_dispatch(pg_wallet.auth_principal, text, jsonb) IS
	'Internal: one cashier request type to its reply frame: transfer, withdraw_request and '
	'deposit_request here, the reads in _cashier_reads.';

CREATE OR REPLACE FUNCTION pg_wallet.api_cashier_message(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._cashier_me(token);
	b jsonb := args -> 'body';
BEGIN
	IF jsonb_typeof(b -> 'type') IS DISTINCT FROM 'string'
		OR (b ? 'data' AND jsonb_typeof(b -> 'data') <> 'object') THEN
		RETURN pg_wallet._cashier_frame('error', 'invalid request format', NULL);
	END IF;
	IF b ->> 'type' IN ('verification_request', 'verify_otp', 'verify_totp') THEN
		RETURN pg_wallet._cashier_verify(token, b ->> 'type', coalesce(b -> 'data', '{}'));
	END IF;
	IF b ->> 'type' = 'get_receipt' THEN
		RETURN pg_wallet._cashier_receipt_link(me, coalesce(b -> 'data', '{}'), args ->> 'base');
	END IF;
	RETURN pg_wallet._cashier_dispatch(me, b ->> 'type', coalesce(b -> 'data', '{}'));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_message(text, jsonb) IS
	'Cashier message {"type", "data"}: the reply frame. Types: verification_request, '
	'verify_otp, verify_totp, withdraw_request, get_accounts, '
	'get_account_balance, get_owner_summary, transfer, convert_and_transfer, get_partners, '
	'deposit_request, get_deposit_status, cancel_deposit, get_history, '
	'get_transaction_by_receipt, get_account_statement, get_owner_statement, get_ledgers, '
	'calculate_fee, ping; and get_receipt (not in the spec: a receipt''s URLs).';
