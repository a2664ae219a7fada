-- Deposits (cashier deposit_request / get_deposit_status / cancel_deposit, Sellapay
-- requestStkPush, Tribble wallets/fund): a deposits row and its outbox row in one
-- transaction; the partner's answer moves it to sent_to_partner; its callback completes it
-- (one CREDIT journal through the ledger core: partner settlement debited, wallet credited,
-- DEPOSIT fee) or fails it; the expiry sweep expires it. Every end is an event.

CREATE OR REPLACE FUNCTION pg_wallet._deposit_row(p_ref text, p_lock boolean DEFAULT false)
RETURNS pg_wallet.deposits
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits;
BEGIN
	IF p_lock THEN
		SELECT * INTO d FROM pg_wallet.deposits x WHERE x.request_ref = p_ref FOR UPDATE;
	ELSE
		SELECT * INTO d FROM pg_wallet.deposits x WHERE x.request_ref = p_ref;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'transaction not found: no deposit %', coalesce(left(p_ref, 64), 'NULL')
			USING ERRCODE = 'WL063';
	END IF;
	RETURN d;
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_row(text, boolean) IS
	'Internal: a deposit by request_ref (locked when asked), or WL063 "transaction not '
	'found".';

CREATE OR REPLACE FUNCTION pg_wallet._deposit_json(d pg_wallet.deposits)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'request_ref', d.request_ref,
		'partner_id', d.partner_id,
		'partner_name', p.name,
		'amount', pg_wallet.amount_format(d.amount_minor, d.currency),
		'currency', d.currency,
		'status', d.status,
		'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
		'journal_id', d.journal_id,
		'fee_amount', pg_wallet.amount_format(d.fee_minor, d.currency),
		'error', d.error,
		'created_at', pg_wallet._ts_iso(d.created_at),
		'expires_at', pg_wallet._ts_iso(d.expires_at),
		'completed_at', pg_wallet._ts_iso(d.completed_at)))
	FROM pg_wallet.partners p
	LEFT JOIN pg_wallet.journals j ON j.id = d.journal_id
	WHERE p.id = d.partner_id
$$;
COMMENT ON FUNCTION pg_wallet._deposit_json(pg_wallet.deposits) IS
	'Internal: a deposit as the cashier spec shows it.';

CREATE OR REPLACE FUNCTION pg_wallet.deposit_request(
	account_number text,
	amount numeric,
	service text DEFAULT NULL,
	partner_id text DEFAULT NULL,
	payment_method text DEFAULT NULL,
	phone text DEFAULT NULL,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	channel text DEFAULT 'cashier',
	expires_in_s integer DEFAULT 1800,
	currency text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts := pg_wallet._account_row(account_number);
	amount_minor bigint;
	v_phone text := pg_wallet._normalize_phone(nullif(btrim(phone), ''));
	p pg_wallet.partners;
	d pg_wallet.deposits;
	req jsonb;
	hash bytea;
	new_id bigint;
	earlier bigint;
BEGIN
	IF currency IS NOT NULL AND currency <> acct.currency THEN
		RAISE EXCEPTION 'account % holds %, not %', acct.account_number, acct.currency,
			left(currency, 10) USING ERRCODE = 'WL009';
	END IF;
	amount_minor := pg_wallet.amount_parse(amount, acct.currency);
	IF amount_minor <= 0 THEN
		RAISE EXCEPTION 'amount must be greater than zero' USING ERRCODE = 'WL010';
	END IF;
	IF acct.status <> 'ACTIVE' OR acct.is_system OR acct.purpose = 'SETTLEMENT' THEN
		RAISE EXCEPTION 'account % cannot take deposits', acct.account_number
			USING ERRCODE = 'WL002', DETAIL = 'Deposits go to an ACTIVE wallet account.';
	END IF;
	IF channel IS NULL OR channel NOT IN ('cashier', 'sellapay', 'tribble', 'sql') THEN
		RAISE EXCEPTION 'channel must be cashier, sellapay, tribble or sql'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF expires_in_s IS NULL OR expires_in_s NOT BETWEEN 1 AND 86400 THEN
		RAISE EXCEPTION 'expires_in_s must be between 1 and 86400'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF length(payment_method) > 64 OR length(description) > 200
		OR length(idempotency_key) NOT BETWEEN 1 AND 128 THEN
		RAISE EXCEPTION 'payment_method (64), description (200) or idempotency_key (1-128) '
			'is too long' USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF service IS NULL AND partner_id IS NULL THEN
		RAISE EXCEPTION 'a deposit needs a service or a partner_id'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	hash := sha256(convert_to(concat_ws('|', acct.id, amount_minor, service, partner_id,
		payment_method, v_phone, description, channel), 'UTF8'));
	-- a retry gets the deposit its key made (idempotency_keys: per owner of the account)
	earlier := pg_wallet._idempotency_find(acct.owner_id, idempotency_key, 'deposit', hash);
	IF earlier IS NOT NULL THEN
		SELECT * INTO STRICT d FROM pg_wallet.deposits x WHERE x.id = earlier;
		RETURN pg_wallet._deposit_json(d) || jsonb_build_object('replayed', true);
	END IF;
	p := pg_wallet._select_partner(partner_id, service, acct.currency, false);
	new_id := nextval(pg_get_serial_sequence('pg_wallet.deposits', 'id'));
	INSERT INTO pg_wallet.deposits (id, request_ref, account_id, owner_id, partner_id, channel,
		amount_minor, currency, service, payment_method, phone, description, idempotency_key,
		request_hash, expires_at)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, format('DEP-REQ-%s-%s', to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'),
		pg_wallet._padded(new_id, 3)), acct.id, acct.owner_id, p.id, channel, amount_minor,
		acct.currency, p.service, payment_method, v_phone, description, idempotency_key, hash,
		now() + make_interval(secs => expires_in_s))
	RETURNING * INTO d;
	PERFORM pg_wallet._idempotency_record(acct.owner_id, idempotency_key, 'deposit', hash, d.id);
	req := pg_wallet._adapter_deposit_request(p, d);
	PERFORM pg_wallet._outbox_enqueue(p.id, 'deposit', d.request_ref, req ->> 'url', req -> 'body');
	RETURN pg_wallet._deposit_json(d) || jsonb_build_object('replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet.deposit_request(text, numeric, text, text, text, text, text, text,
	text, integer, text) IS
	'Cashier deposit_request: ask a partner (given, or the first active one of the service '
	'that works in the account''s currency: WL061/WL062) to collect an amount for a wallet '
	'account. The request is queued in the same transaction (outbox) and sent after commit; '
	'status pending, then sent_to_partner, completed, failed, cancelled or expired (at '
	'expires_at, default 30 minutes). Idempotent by key, per owner of the account (WL003 '
	'on a different request of the same owner; other owners'' keys do not collide). '
	'Returns request_ref, partner_id, partner_name, amount, currency, status, expires_at.';

CREATE OR REPLACE FUNCTION pg_wallet._deposit_events(d pg_wallet.deposits)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j pg_wallet.journals;
	b pg_wallet.balance_info;
	acct text := (SELECT a.account_number FROM pg_wallet.accounts a WHERE a.id = d.account_id);
	ts bigint := extract(epoch FROM now())::bigint;
	amount numeric := pg_wallet.amount_format(d.amount_minor, d.currency);
BEGIN
	IF d.status = 'completed' THEN
		SELECT * INTO j FROM pg_wallet.journals x WHERE x.id = d.journal_id;
		b := pg_wallet.get_balance(acct);
		PERFORM pg_wallet.emit_event(d.owner_id, 'deposit_completed', jsonb_build_object(
			'transaction_ref', d.request_ref,
			'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
			'journal_id', j.id, 'amount', amount, 'currency', d.currency,
			'user_balance', b.balance,
			'fee_amount', pg_wallet.amount_format(d.fee_minor, d.currency),
			'payment_method', coalesce(d.payment_method, d.service),
			'completed_at', ts, 'timestamp', ts));
		PERFORM pg_wallet.emit_event(d.owner_id, 'transaction_completed', jsonb_build_object(
			'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
			'transaction_id', j.id, 'transaction_type', 'deposit', 'amount', amount,
			'currency', d.currency, 'balance_after', b.balance,
			'fee', pg_wallet.amount_format(d.fee_minor, d.currency), 'timestamp', ts));
		IF d.channel = 'tribble' THEN
			PERFORM pg_wallet.emit_event(d.owner_id, 'transaction:completed', jsonb_build_object(
				'transactionId', d.request_ref, 'amount', amount, 'status', 'SUCCESS',
				'timestamp', pg_wallet._ts_iso(now())));
		END IF;
	ELSE
		PERFORM pg_wallet.emit_event(d.owner_id, 'deposit_failed', jsonb_build_object(
			'transaction_ref', d.request_ref, 'amount', amount, 'currency', d.currency,
			'error_message', d.error, 'failed_at', ts, 'timestamp', ts));
		PERFORM pg_wallet.emit_event(d.owner_id, 'transaction_failed', jsonb_build_object(
			'receipt_code', NULL, 'transaction_id', NULL, 'transaction_type', 'deposit',
			'amount', amount, 'currency', d.currency, 'error', d.error, 'timestamp', ts));
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_events(pg_wallet.deposits) IS
	'Internal: the events of a deposit that ended: deposit_completed and '
	'transaction_completed (and Tribble transaction:completed), or deposit_failed and '
	'transaction_failed.';

CREATE OR REPLACE FUNCTION pg_wallet._deposit_complete(p_ref text, p_partner_reference text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits := pg_wallet._deposit_row(p_ref, true);
	p pg_wallet.partners := pg_wallet._partner_row(d.partner_id);
	acct text := (SELECT a.account_number FROM pg_wallet.accounts a WHERE a.id = d.account_id);
	res pg_wallet.journal_result;
BEGIN
	IF d.status = 'completed' THEN
		RETURN jsonb_build_object('request_ref', d.request_ref, 'status', d.status,
			'replayed', true);
	END IF;
	IF d.status = 'failed' THEN
		RAISE EXCEPTION 'deposit % already failed; the partner now reports success', d.request_ref
			USING ERRCODE = 'WL064', HINT = 'Reconcile with the partner.';
	END IF;
	res := pg_wallet.credit(acct, pg_wallet.amount_format(d.amount_minor, d.currency),
		pg_wallet._settlement_account(p.id, d.currency), 'deposit:' || d.request_ref,
		left('Deposit from ' || p.name, 500),
		jsonb_strip_nulls(jsonb_build_object('request_ref', d.request_ref, 'partner_id', p.id,
			'partner_reference', p_partner_reference)));
	UPDATE pg_wallet.deposits x
	SET status = 'completed', journal_id = res.journal_id,
		fee_minor = pg_wallet.amount_parse(coalesce(res.fee, 0), d.currency),
		partner_reference = coalesce(left(p_partner_reference, 128), x.partner_reference),
		late = x.status IN ('cancelled', 'expired'), completed_at = now()
	WHERE x.id = d.id
	RETURNING * INTO d;
	PERFORM pg_wallet._deposit_events(d);
	RETURN jsonb_build_object('request_ref', d.request_ref, 'status', d.status,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_complete(text, text) IS
	'Internal: a partner''s success: post the CREDIT journal (idempotency key '
	'deposit:<request_ref>) and emit the events; again on a completed deposit: replayed. '
	'A cancelled or expired deposit is still credited (late): the money arrived. WL064 on a '
	'failed one.';

CREATE OR REPLACE FUNCTION pg_wallet._deposit_fail(p_ref text, p_status text, p_error text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits := pg_wallet._deposit_row(p_ref, true);
BEGIN
	IF d.status = p_status OR (p_status = 'failed' AND d.status IN ('cancelled', 'expired')) THEN
		RETURN jsonb_build_object('request_ref', d.request_ref, 'status', d.status,
			'replayed', true);
	END IF;
	IF d.status = 'completed' THEN
		RAISE EXCEPTION 'deposit % is already completed', d.request_ref USING ERRCODE = 'WL064';
	END IF;
	UPDATE pg_wallet.deposits x
	SET status = p_status, error = left(coalesce(p_error, p_status), 500), failed_at = now()
	WHERE x.id = d.id
	RETURNING * INTO d;
	-- a request not yet sent must not be sent any more
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', updated_at = now()
	WHERE o.subject_ref = d.request_ref AND o.kind = 'deposit' AND o.status IN ('PENDING', 'DEAD');
	PERFORM pg_wallet._deposit_events(d);
	RETURN jsonb_build_object('request_ref', d.request_ref, 'status', d.status,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_fail(text, text, text) IS
	'Internal: end an open deposit as failed, cancelled or expired, cancel its unsent '
	'request and emit deposit_failed and transaction_failed. WL064 on a completed deposit.';

CREATE OR REPLACE FUNCTION pg_wallet._deposit_answered(
	p_ref text, p_state text, p_partner_reference text, p_partner_request_id text,
	p_error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits := pg_wallet._deposit_row(p_ref, true);
BEGIN
	UPDATE pg_wallet.deposits x
	SET partner_reference = coalesce(x.partner_reference, p_partner_reference),
		partner_request_id = coalesce(x.partner_request_id, p_partner_request_id),
		status = CASE WHEN x.status = 'pending' AND p_state <> 'failed' THEN 'sent_to_partner'
		              ELSE x.status END,
		sent_at = coalesce(x.sent_at, now())
	WHERE x.id = d.id;
	IF p_state = 'completed' THEN
		PERFORM pg_wallet._deposit_complete(d.request_ref, p_partner_reference);
	ELSIF p_state = 'failed' AND d.status IN ('pending', 'sent_to_partner') THEN
		PERFORM pg_wallet._deposit_fail(d.request_ref, 'failed', p_error);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_answered(text, text, text, text, text) IS
	'Internal: the partner answered a deposit request: accepted (sent_to_partner, its '
	'references kept), completed at once, or refused (failed).';

CREATE OR REPLACE FUNCTION pg_wallet.get_deposit_status(request_ref text, owner_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits;
BEGIN
	SELECT * INTO d FROM pg_wallet.deposits x WHERE x.request_ref = get_deposit_status.request_ref
	  AND (get_deposit_status.owner_id IS NULL OR x.owner_id = get_deposit_status.owner_id);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'transaction not found: no deposit %',
			coalesce(left(request_ref, 64), 'NULL') USING ERRCODE = 'WL063';
	END IF;
	RETURN pg_wallet._deposit_json(d);
END
$$;
COMMENT ON FUNCTION pg_wallet.get_deposit_status(text, bigint) IS
	'Cashier get_deposit_status: request_ref, status, amount, currency, receipt_code, '
	'journal_id, created_at, completed_at. With owner_id, another owner''s deposit is '
	'"transaction not found" (WL063).';

CREATE OR REPLACE FUNCTION pg_wallet.cancel_deposit(request_ref text, owner_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits := pg_wallet._deposit_row(request_ref, true);
BEGIN
	IF cancel_deposit.owner_id IS NOT NULL AND d.owner_id <> cancel_deposit.owner_id THEN
		RAISE EXCEPTION 'transaction not found: no deposit %', left(request_ref, 64)
			USING ERRCODE = 'WL063';
	END IF;
	IF d.status = 'cancelled' THEN
		RETURN jsonb_build_object('message', 'deposit cancelled', 'replayed', true);
	END IF;
	IF d.status NOT IN ('pending', 'sent_to_partner') THEN
		RAISE EXCEPTION 'deposit % is % and cannot be cancelled', d.request_ref, d.status
			USING ERRCODE = 'WL064';
	END IF;
	PERFORM pg_wallet._deposit_fail(d.request_ref, 'cancelled', 'cancelled by user');
	RETURN jsonb_build_object('message', 'deposit cancelled', 'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet.cancel_deposit(text, bigint) IS
	'Cashier cancel_deposit: cancel a pending or sent_to_partner deposit (its request is not '
	'sent if it has not been yet); WL064 once completed, failed or expired. A partner''s '
	'success that still arrives is credited (late).';

CREATE OR REPLACE FUNCTION pg_wallet.expire_deposits(max_deposits integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref text;
	n integer := 0;
BEGIN
	IF max_deposits IS NULL OR max_deposits NOT BETWEEN 1 AND 100000 THEN
		RAISE EXCEPTION 'max_deposits must be between 1 and 100000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR ref IN
		SELECT d.request_ref FROM pg_wallet.deposits d
		WHERE d.status IN ('pending', 'sent_to_partner') AND d.expires_at <= now()
		ORDER BY d.expires_at LIMIT max_deposits
		FOR UPDATE SKIP LOCKED
	LOOP
		PERFORM pg_wallet._deposit_fail(ref, 'expired', 'Payment timeout');
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet.expire_deposits(integer) IS
	'Expire up to max_deposits open deposits past expires_at (status expired, error '
	'"Payment timeout", events deposit_failed and transaction_failed); rows locked by '
	'another transaction are left for the next sweep. The expiry worker calls it.';

CREATE OR REPLACE FUNCTION pg_wallet.request_stk_push(
	account_number text,
	phone text,
	amount numeric,
	reference text DEFAULT NULL,
	description text DEFAULT NULL,
	partner_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_phone text;
	r jsonb;
BEGIN
	IF phone IS NULL OR phone !~ '^[17][0-9]{8}$' THEN
		RAISE EXCEPTION 'Invalid phone number format' USING ERRCODE = 'WL068',
			DETAIL = 'Phone must start with 7 or 1, 9 digits, no country code.';
	END IF;
	IF length(reference) > 20 THEN
		RAISE EXCEPTION 'reference is longer than 20 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	v_phone := '+254' || phone;
	r := pg_wallet.deposit_request(account_number, amount,
		CASE WHEN partner_id IS NULL THEN 'mpesa' END, partner_id, 'mpesa', v_phone,
		CASE WHEN reference IS NOT NULL THEN 'stk:' || reference END, description, 'sellapay',
		1800, 'KES');
	RETURN jsonb_strip_nulls(jsonb_build_object('message', 'STK push initiated',
		'transaction_id', r ->> 'request_ref', 'phone', ltrim(v_phone, '+'),
		'amount', (r ->> 'amount')::numeric, 'status', 'pending', 'description', description,
		'replayed', (r ->> 'replayed')::boolean));
END
$$;
COMMENT ON FUNCTION pg_wallet.request_stk_push(text, text, numeric, text, text, text) IS
	'Sellapay requestStkPush: an M-Pesa STK push for a KES account; phone in local format '
	'(7xx or 1xx, 9 digits, WL068 "Invalid phone number format"); reference (20 chars) is '
	'the idempotency key, per owner of the account (another merchant''s reference never '
	'collides). Returns message, transaction_id, phone (2547...), amount, status.';

CREATE OR REPLACE FUNCTION pg_wallet.fund_wallet(
	account_number text,
	amount numeric,
	payment_method_id text,
	idempotency_key text DEFAULT NULL,
	service text DEFAULT 'card')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r jsonb;
	q pg_wallet.fee_quote;
	b pg_wallet.balance_info;
BEGIN
	IF payment_method_id IS NULL OR length(payment_method_id) NOT BETWEEN 1 AND 64 THEN
		RAISE EXCEPTION 'paymentMethodId must be 1 to 64 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	r := pg_wallet.deposit_request(account_number, amount, service, NULL, payment_method_id,
		NULL, idempotency_key, NULL, 'tribble');
	b := pg_wallet.get_balance(account_number);
	q := pg_wallet.calculate_fee('DEPOSIT', amount, b.currency);
	RETURN jsonb_build_object('transactionId', r ->> 'request_ref',
		'walletId', account_number, 'amount', (r ->> 'amount')::numeric,
		'status', 'PROCESSING', 'transactionFee', coalesce(q.fee, 0),
		'totalAmount', (r ->> 'amount')::numeric + coalesce(q.fee, 0),
		'newBalance', b.balance, 'createdAt', r ->> 'created_at');
END
$$;
COMMENT ON FUNCTION pg_wallet.fund_wallet(text, numeric, text, text, text) IS
	'Tribble POST /wallets/fund: a deposit through a partner of the service (default card) '
	'with the payment method as reference; idempotency_key per owner of the account; '
	'PROCESSING until the partner''s callback (transaction:completed event).';
