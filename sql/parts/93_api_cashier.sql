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
-- get_account_balance, get_owner_summary, transfer, get_partners, deposit_request,
-- get_deposit_status, cancel_deposit, get_transaction_by_receipt, calculate_fee, ping; the
-- others of the spec (FX, history, statements, ledgers) answer "unsupported request type"
-- until their API functions exist.

CREATE FUNCTION pg_wallet._cashier_frame(kind text, message text, data jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('type', kind,
		'data', CASE WHEN kind = 'error' THEN jsonb_build_object('message', message)
		             ELSE jsonb_build_object('message', message, 'data', data) END,
		'timestamp', extract(epoch FROM now())::bigint)
$$;
COMMENT ON FUNCTION pg_wallet._cashier_frame(text, text, jsonb) IS
	'Internal: a cashier reply frame (success with message and data, or error).';

CREATE FUNCTION pg_wallet._cashier_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._api_caller(token, 'cashier', ARRAY['user', 'merchant', 'client', 'admin'])
$$;
COMMENT ON FUNCTION pg_wallet._cashier_me(text) IS
	'Internal: authenticate a cashier caller (a cashier token).';

-- An account of the caller; WL005 otherwise (another owner's account is "not found").
CREATE FUNCTION pg_wallet._cashier_account(me pg_wallet.auth_principal, account_number text)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.account_info;
BEGIN
	BEGIN
		a := pg_wallet.get_account(account_number);
	EXCEPTION WHEN SQLSTATE 'WL005' THEN
		a := NULL;
	END;
	IF a.account_id IS NULL OR a.owner_id <> me.owner_id THEN
		RAISE EXCEPTION 'account not found' USING ERRCODE = 'WL005';
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_account(pg_wallet.auth_principal, text) IS
	'Internal: one of the caller''s accounts, or WL005 "account not found".';

-- The first open WALLET of an owner in a currency; WL005 when it has none.
CREATE FUNCTION pg_wallet._cashier_wallet(owner_id bigint, currency text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	num text;
BEGIN
	SELECT a.account_number INTO num FROM pg_wallet.accounts a
	WHERE a.owner_id = _cashier_wallet.owner_id AND a.currency = upper(_cashier_wallet.currency)
		AND a.purpose = 'WALLET' AND a.status <> 'CLOSED'
	ORDER BY a.id LIMIT 1;
	IF num IS NULL THEN
		RAISE EXCEPTION 'no % wallet', upper(currency) USING ERRCODE = 'WL005';
	END IF;
	RETURN num;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_wallet(bigint, text) IS
	'Internal: an owner''s wallet in a currency, or WL005.';

CREATE FUNCTION pg_wallet.api_cashier_connect(token text, args jsonb)
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

CREATE FUNCTION pg_wallet.api_cashier_events(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._cashier_me(token);
	after_text text := args #>> '{body,after_event_id}';
	e pg_wallet.event_info;
	more boolean;
BEGIN
	IF after_text !~ '^[0-9]{1,18}$' THEN
		RAISE EXCEPTION 'after_event_id must be a non-negative integer'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO e FROM pg_wallet.get_events(me.owner_id, after_text::bigint, 1);
	IF e.event_id IS NULL THEN
		RETURN jsonb_build_object('_bridge', jsonb_build_object('silent', true));
	END IF;
	more := EXISTS (SELECT 1 FROM pg_wallet.get_events(me.owner_id, e.event_id, 1));
	RETURN jsonb_build_object('type', e.event_type, 'data', e.payload, 'event_id', e.event_id,
		'timestamp', extract(epoch FROM e.created_at)::bigint,
		'_bridge', jsonb_build_object('last_event_id', e.event_id, 'more', more));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_events(text, jsonb) IS
	'Cashier push: the caller''s next event after args.body.after_event_id as a frame '
	'{type, data, event_id, timestamp}, with "_bridge" (last_event_id, more) for the bridge; '
	'"_bridge": {"silent": true} when there is none. Events are durable: a client that '
	'reconnects with ?last_event_id=N misses nothing.';

-- Verification: requests and checks of OTP/TOTP codes. A refused check is RETURNED as an
-- error frame (not raised), so the attempt counter it wrote is kept.
CREATE FUNCTION pg_wallet._cashier_verify(token text, t text, d jsonb)
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

CREATE FUNCTION pg_wallet._cashier_dispatch(me pg_wallet.auth_principal, t text, d jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b pg_wallet.balance_info;
	a pg_wallet.account_info;
	q pg_wallet.fee_quote;
	accounts jsonb;
	src text;
	dst text;
	recipient bigint;
	sent jsonb;
	j jsonb;
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
		INTO accounts FROM pg_wallet.list_accounts(me.owner_id) x;
		RETURN pg_wallet._cashier_frame('success', 'accounts retrieved',
			jsonb_build_object('accounts', accounts, 'count', jsonb_array_length(accounts)));
	WHEN 'get_account_balance' THEN
		a := pg_wallet._cashier_account(me, d ->> 'account_number');
		b := pg_wallet.get_balance(a.account_number);
		RETURN pg_wallet._cashier_frame('success', 'balance retrieved', jsonb_build_object(
			'account_number', b.account_number, 'balance', b.balance,
			'available_balance', b.available_balance, 'pending_debit', b.pending_debit,
			'pending_credit', b.pending_credit, 'currency', b.currency,
			'last_transaction', pg_wallet._waas_time(b.last_transaction_at)));
	WHEN 'get_owner_summary' THEN
		RETURN pg_wallet._cashier_frame('success', 'owner summary retrieved',
			pg_wallet.get_owner_summary(me.owner_id, coalesce(d ->> 'currency', 'USD')));
	WHEN 'transfer' THEN
		IF d ->> 'to_user_id' IS NULL OR d ->> 'amount' IS NULL OR d ->> 'currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error',
				'to_user_id, amount and currency are required', NULL);
		END IF;
		SELECT p.owner_id INTO recipient FROM pg_wallet.principals p
		WHERE p.id::text = d ->> 'to_user_id' AND p.status = 'ACTIVE';
		IF recipient IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'recipient not found', NULL);
		END IF;
		src := pg_wallet._cashier_wallet(me.owner_id, d ->> 'currency');
		dst := pg_wallet._cashier_wallet(recipient, d ->> 'currency');
		-- the core's P2P transfer: posts and emits transfer_completed to both owners
		sent := pg_wallet.send_funds_to_account(src, dst, (d ->> 'amount')::numeric,
			CASE WHEN d ->> 'reference' IS NOT NULL
			     THEN format('c%s-%s', me.owner_id, left(d ->> 'reference', 80)) END,
			left(d ->> 'description', 200));
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
		RETURN pg_wallet._cashier_frame('success', 'withdrawal request created',
			pg_wallet.withdraw_request(me.principal_id, (d ->> 'amount')::numeric,
				upper(d ->> 'currency'), coalesce(d ->> 'destination', d ->> 'phone'),
				d ->> 'verification_token', coalesce(d ->> 'service', 'mpesa'),
				d ->> 'agent_id',
				CASE WHEN d ->> 'reference' IS NOT NULL
				     THEN format('c%s-%s', me.owner_id, left(d ->> 'reference', 80)) END,
				d ->> 'partner_id') - 'replayed');
	WHEN 'get_partners' THEN
		RETURN pg_wallet._cashier_frame('success', 'partners retrieved',
			pg_wallet.get_partners(coalesce(d ->> 'service', 'mpesa')));
	WHEN 'deposit_request' THEN
		IF d ->> 'amount' IS NULL OR d ->> 'currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'amount and currency are required', NULL);
		END IF;
		RETURN pg_wallet._cashier_frame('success', 'deposit request created',
			pg_wallet.deposit_request(pg_wallet._cashier_wallet(me.owner_id, d ->> 'currency'),
				(d ->> 'amount')::numeric, d ->> 'service', d ->> 'partner_id',
				d ->> 'payment_method', d ->> 'phone',
				CASE WHEN d ->> 'reference' IS NOT NULL
				     THEN format('c%s-%s', me.owner_id, left(d ->> 'reference', 80)) END,
				left(d ->> 'description', 200), 'cashier', 1800, upper(d ->> 'currency'))
			- 'replayed');
	WHEN 'get_deposit_status' THEN
		RETURN pg_wallet._cashier_frame('success', 'deposit status',
			pg_wallet.get_deposit_status(d ->> 'request_ref', me.owner_id));
	WHEN 'cancel_deposit' THEN
		RETURN pg_wallet._cashier_frame('success', 'deposit cancelled',
			pg_wallet.cancel_deposit(d ->> 'request_ref', me.owner_id));
	WHEN 'get_transaction_by_receipt' THEN
		accounts := pg_wallet.get_journal(d ->> 'receipt_code');
		-- another owner's transaction is "not found"
		IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(accounts -> 'entries') x
		               JOIN pg_wallet.accounts acc ON acc.account_number = x ->> 'account_number'
		               WHERE acc.owner_id = me.owner_id) THEN
			RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
		END IF;
		RETURN pg_wallet._cashier_frame('success', 'transaction details', accounts);
	WHEN 'calculate_fee' THEN
		q := pg_wallet.calculate_fee(upper(coalesce(d ->> 'transaction_type', '')),
			(d ->> 'amount')::numeric, upper(d ->> 'source_currency'));
		RETURN pg_wallet._cashier_frame('success', 'fee calculated', jsonb_build_object(
			'fee_type', coalesce(q.fee_type, 'FEE_TYPE_PLATFORM'), 'amount', q.fee,
			'currency', q.currency, 'applied_rate', q.applied_rate::text));
	ELSE
		RETURN pg_wallet._cashier_frame('error', 'unsupported request type', NULL);
	END CASE;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_dispatch(pg_wallet.auth_principal, text, jsonb) IS
	'Internal: one cashier request type to its reply frame.';

CREATE FUNCTION pg_wallet.api_cashier_message(token text, args jsonb)
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
	RETURN pg_wallet._cashier_dispatch(me, b ->> 'type', coalesce(b -> 'data', '{}'));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_message(text, jsonb) IS
	'Cashier message {"type", "data"}: the reply frame. Types: verification_request, '
	'verify_otp, verify_totp, withdraw_request, get_accounts, '
	'get_account_balance, get_owner_summary, transfer, get_partners, deposit_request, '
	'get_deposit_status, cancel_deposit, get_transaction_by_receipt, calculate_fee, ping.';
