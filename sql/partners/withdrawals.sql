-- Withdrawals and payouts (cashier withdraw_request; Sellapay sendFundsToMobile,
-- sendFundsToLocalBank, sendFundsToSellapay): the amount and its WITHDRAWAL fee are held
-- (place_hold with fee_type WITHDRAWAL, which also counts KYC limits and quotes the agent's
-- commission) in the transaction that queues the partner call; the partner's success posts
-- the hold (post_hold: one HOLD_CAPTURE journal, fee and commission included), its failure
-- or the deadline voids it (void_hold). Sending to another wallet is a plain transfer.

CREATE OR REPLACE FUNCTION pg_wallet._withdrawal_row(p_ref text, p_lock boolean DEFAULT false)
RETURNS pg_wallet.withdrawals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals;
BEGIN
	IF p_lock THEN
		SELECT * INTO w FROM pg_wallet.withdrawals x WHERE x.request_ref = p_ref FOR UPDATE;
	ELSE
		SELECT * INTO w FROM pg_wallet.withdrawals x WHERE x.request_ref = p_ref;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'transaction not found: no withdrawal %',
			coalesce(left(p_ref, 64), 'NULL') USING ERRCODE = 'WL063';
	END IF;
	RETURN w;
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_row(text, boolean) IS
	'Internal: a withdrawal by request_ref (locked when asked), or WL063.';

CREATE OR REPLACE FUNCTION pg_wallet._withdrawal_json(w pg_wallet.withdrawals)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'request_ref', w.request_ref,
		'amount', pg_wallet.amount_format(w.amount_minor, w.currency),
		'currency', w.currency,
		'destination', w.destination,
		'status', w.status,
		'withdrawal_type', CASE WHEN w.agent_id IS NULL THEN 'direct' ELSE 'agent_assisted' END,
		'agent_id', w.agent_id,
		'agent_name', g.name,
		'agent_account', (SELECT a.account_number FROM pg_wallet.accounts a
		                  WHERE a.owner_id = g.owner_id AND a.currency = w.currency
		                    AND a.purpose = 'COMMISSION_ACCOUNT' ORDER BY a.id LIMIT 1),
		'fee_amount', pg_wallet.amount_format(w.fee_minor, w.currency),
		'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
		'error', w.error,
		'created_at', extract(epoch FROM w.created_at)::bigint,
		'completed_at', pg_wallet._ts_iso(w.completed_at)))
	FROM (SELECT 1) one
	LEFT JOIN pg_wallet.agents g ON g.id = w.agent_id
	LEFT JOIN pg_wallet.journals j ON j.id = w.journal_id
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_json(pg_wallet.withdrawals) IS
	'Internal: a withdrawal as the cashier spec shows it.';

-- The shared path of every payout: checks, the hold, the row, the outbox message.
CREATE OR REPLACE FUNCTION pg_wallet._payout_create(
	p_account text, p_amount numeric, p_kind text, p_destination text, p_service text,
	p_partner_id text, p_agent_id text, p_bank_code text, p_account_name text,
	p_narrative text, p_idempotency_key text, p_channel text, p_timeout_s integer)
RETURNS pg_wallet.withdrawals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts := pg_wallet._account_row(p_account);
	amount_minor bigint := pg_wallet.amount_parse(p_amount, acct.currency);
	p pg_wallet.partners;
	agent_account text;
	h pg_wallet.hold_info;
	w pg_wallet.withdrawals;
	req jsonb;
	hash bytea;
	new_id bigint;
	ref text;
	deadline timestamptz := now() + make_interval(secs => p_timeout_s);
	avail numeric;
	earlier bigint;
BEGIN
	IF amount_minor <= 0 THEN
		RAISE EXCEPTION 'amount must be greater than zero' USING ERRCODE = 'WL010';
	END IF;
	IF length(p_narrative) > 200 OR length(p_account_name) > 100 THEN
		RAISE EXCEPTION 'narrative (200) or account_name (100) is too long'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF p_timeout_s IS NULL OR p_timeout_s NOT BETWEEN 1 AND 7 * 86400 THEN
		RAISE EXCEPTION 'timeout_s must be between 1 and 604800'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	hash := pg_wallet._payout_hash(acct.id, amount_minor, p_kind, p_destination, p_service,
		p_partner_id, p_agent_id, p_bank_code, p_account_name, p_narrative, p_channel);
	-- a retry gets the payout its key made (idempotency_keys: per owner of the account)
	earlier := pg_wallet._idempotency_find(acct.owner_id, p_idempotency_key, 'withdrawal',
		hash);
	IF earlier IS NOT NULL THEN
		SELECT * INTO STRICT w FROM pg_wallet.withdrawals x WHERE x.id = earlier;
		RETURN w;
	END IF;
	p := pg_wallet._select_partner(p_partner_id, p_service, acct.currency, true);
	IF p_agent_id IS NOT NULL THEN
		agent_account := (pg_wallet._agent_account(p_agent_id, acct.currency)).account_number;
	END IF;
	new_id := nextval(pg_get_serial_sequence('pg_wallet.withdrawals', 'id'));
	ref := format('WDL-REQ-%s-%s', to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'),
		pg_wallet._padded(new_id, 3));
	BEGIN
		h := pg_wallet.place_hold(acct.account_number, p_amount,
			pg_wallet._settlement_account(p.id, acct.currency), 'payout-hold:' || ref,
			deadline + interval '1 day', left('Withdrawal ' || ref, 500), 'WITHDRAWAL',
			agent_account);
	EXCEPTION WHEN SQLSTATE 'WL001' THEN
		avail := (pg_wallet.get_balance(acct.account_number)).available_balance;
		RAISE EXCEPTION 'insufficient balance: available % %', avail, acct.currency
			USING ERRCODE = 'WL001';
	END;
	INSERT INTO pg_wallet.withdrawals (id, request_ref, account_id, owner_id, partner_id,
		agent_id, channel, kind, amount_minor, currency, destination, bank_code, account_name,
		narrative, hold_id, idempotency_key, request_hash, deadline_at, fee_minor)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, ref, acct.id, acct.owner_id, p.id, p_agent_id, p_channel, p_kind,
		amount_minor, acct.currency, p_destination, p_bank_code, p_account_name, p_narrative,
		h.hold_id, p_idempotency_key, hash, deadline,
		pg_wallet.amount_parse(coalesce(h.fee, 0), acct.currency))
	RETURNING * INTO w;
	PERFORM pg_wallet._idempotency_record(acct.owner_id, p_idempotency_key, 'withdrawal', hash,
		w.id);
	req := pg_wallet._adapter_payout_request(p, w);
	PERFORM pg_wallet._outbox_enqueue(p.id, 'payout', w.request_ref, req ->> 'url', req -> 'body');
	RETURN w;
END
$$;
COMMENT ON FUNCTION pg_wallet._payout_create(text, numeric, text, text, text, text, text, text,
	text, text, text, text, integer) IS
	'Internal: validate a payout, hold amount + WITHDRAWAL fee (WL001 "insufficient balance: '
	'available X CUR"), record it and queue the partner call, all in the caller''s '
	'transaction.';

-- What a payout's idempotency key promises: the same payout.
CREATE OR REPLACE FUNCTION pg_wallet._payout_hash(p_account_id bigint, p_amount_minor bigint,
	p_kind text, p_destination text, p_service text, p_partner_id text, p_agent_id text,
	p_bank_code text, p_account_name text, p_narrative text, p_channel text)
RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT sha256(convert_to(concat_ws('|', p_account_id, p_amount_minor, p_kind, p_destination,
		p_service, p_partner_id, p_agent_id, p_bank_code, p_account_name, p_narrative,
		p_channel), 'UTF8'))
$$;
COMMENT ON FUNCTION pg_wallet._payout_hash(bigint, bigint, text, text, text, text, text, text,
	text, text, text) IS
	'Internal: the request hash of a payout, for its idempotency claim (_idempotency_find).';

CREATE OR REPLACE FUNCTION pg_wallet.withdraw_request(
	principal_id uuid,
	amount numeric,
	currency text,
	destination text,
	verification_token text,
	service text DEFAULT 'mpesa',
	agent_id text DEFAULT NULL,
	idempotency_key text DEFAULT NULL,
	partner_id text DEFAULT NULL,
	timeout_s integer DEFAULT 3600)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._principal_row(principal_id);
	acct text;
	a pg_wallet.accounts;
	w pg_wallet.withdrawals;
	v_dest text;
	earlier bigint;
BEGIN
	IF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
		RAISE EXCEPTION 'unknown currency "%"', left(currency, 10) USING ERRCODE = 'WL015';
	END IF;
	acct := pg_wallet._owner_wallet(p.owner_id, currency);
	v_dest := pg_wallet._normalize_phone(destination);
	-- a retry replays before its (consumed) verification token is checked again
	a := pg_wallet._account_row(acct);
	earlier := pg_wallet._idempotency_find(a.owner_id, idempotency_key, 'withdrawal',
		pg_wallet._payout_hash(a.id, pg_wallet.amount_parse(amount, a.currency), 'mobile',
			v_dest, coalesce(service, 'mpesa'), partner_id, agent_id, NULL, NULL, NULL,
			'cashier'));
	IF earlier IS NOT NULL THEN
		SELECT * INTO STRICT w FROM pg_wallet.withdrawals x WHERE x.id = earlier;
		RETURN jsonb_build_object('message', 'withdrawal request created and being processed',
			'data', pg_wallet._withdrawal_json(w), 'replayed', true);
	END IF;
	-- the spec's order of refusals: token first, then the money
	PERFORM pg_wallet.consume_verification_token(p.id, 'withdrawal', verification_token);
	w := pg_wallet._payout_create(acct, amount, 'mobile', v_dest, coalesce(service, 'mpesa'),
		partner_id, agent_id, NULL, NULL, NULL, idempotency_key, 'cashier', timeout_s);
	-- who asked: its events name this principal
	UPDATE pg_wallet.withdrawals x SET principal_id = p.id WHERE x.id = w.id
	RETURNING * INTO w;
	RETURN jsonb_build_object('message', 'withdrawal request created and being processed',
		'data', pg_wallet._withdrawal_json(w), 'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet.withdraw_request(uuid, numeric, text, text, text, text, text, text,
	text, integer) IS
	'Cashier withdraw_request: a payout from the principal''s wallet in a currency to a '
	'phone. Consumes a verification token of purpose withdrawal (WL033 "verification_token '
	'is required. Please complete verification first.", WL028 "invalid or expired '
	'verification token. Please verify again."), then holds amount + fee (WL001 '
	'"insufficient balance: available 30.00 USD"). agent_id: agent-assisted, the agent''s '
	'commission account takes its share of the fee. status processing until the partner''s '
	'result (withdrawal_completed / withdrawal_failed events), or failed after timeout_s.';

CREATE OR REPLACE FUNCTION pg_wallet.send_funds_to_mobile(
	account_number text,
	phone text,
	amount numeric,
	reference text DEFAULT NULL,
	narrative text DEFAULT NULL,
	partner_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals;	-- _payout_create replays a retry under the reference
BEGIN
	BEGIN
		IF phone IS NULL OR phone !~ '^[17][0-9]{8}$' THEN
			RAISE EXCEPTION 'Invalid phone number format' USING ERRCODE = 'WL068',
				DETAIL = 'Phone must start with 7 or 1, 9 digits, no country code.';
		END IF;
		w := pg_wallet._payout_create(account_number, amount, 'mobile', '+254' || phone,
			CASE WHEN partner_id IS NULL THEN 'mpesa' END,
			partner_id, NULL, NULL, NULL, narrative,
			CASE WHEN reference IS NOT NULL THEN 'mobile:' || reference END, 'sellapay', 3600);
	END;
	RETURN jsonb_build_object('message', 'Funds sent successfully',
		'transaction_id', w.request_ref, 'phone', ltrim(w.destination, '+'),
		'amount', pg_wallet.amount_format(w.amount_minor, w.currency),
		'status', CASE w.status WHEN 'processing' THEN 'pending' ELSE w.status END,
		'timestamp', extract(epoch FROM w.created_at)::bigint);
END
$$;
COMMENT ON FUNCTION pg_wallet.send_funds_to_mobile(text, text, numeric, text, text, text) IS
	'Sellapay sendFundsToMobile: an M-Pesa payout to a local phone (7xx/1xx, WL068) from an '
	'account; reference is the idempotency key (per owner of the account); WL001 '
	'"insufficient balance: available ..." (HTTP 402). status pending until the partner''s '
	'result.';

CREATE OR REPLACE FUNCTION pg_wallet.send_funds_to_bank(
	account_number text,
	bank_code text,
	bank_account_number text,
	amount numeric,
	account_name text,
	reference text DEFAULT NULL,
	partner_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals;	-- _payout_create replays a retry under the reference
	bank pg_wallet.bank_codes;
BEGIN
	BEGIN
		SELECT * INTO bank FROM pg_wallet.bank_codes b WHERE b.code = bank_code;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'Invalid bank details: unknown bank code "%"', left(bank_code, 10)
				USING ERRCODE = 'WL068', HINT = 'See pg_wallet.get_bank_codes().';
		END IF;
		IF bank_account_number IS NULL OR bank_account_number !~ '^[0-9]{6,20}$' THEN
			RAISE EXCEPTION 'Invalid bank details: account number must be 6 to 20 digits'
				USING ERRCODE = 'WL068';
		END IF;
		IF account_name IS NULL OR length(btrim(account_name)) NOT BETWEEN 1 AND 100
			OR account_name ~ '[[:cntrl:]]' THEN
			RAISE EXCEPTION 'Invalid bank details: account name must be 1 to 100 characters'
				USING ERRCODE = 'WL068';
		END IF;
		w := pg_wallet._payout_create(account_number, amount, 'bank', bank_account_number,
			'bank_transfer', partner_id, NULL, bank.code, btrim(account_name), NULL,
			CASE WHEN reference IS NOT NULL THEN 'bank:' || reference END, 'sellapay',
			3 * 86400);
	END;
	RETURN jsonb_build_object('message', 'Funds sent successfully',
		'transaction_id', w.request_ref,
		'bank', (SELECT b.name FROM pg_wallet.bank_codes b WHERE b.code = w.bank_code),
		'account_number', w.destination,
		'amount', pg_wallet.amount_format(w.amount_minor, w.currency),
		'status', CASE w.status WHEN 'processing' THEN 'pending' ELSE w.status END,
		'timestamp', extract(epoch FROM w.created_at)::bigint,
		'estimated_arrival', '2 hours');
END
$$;
COMMENT ON FUNCTION pg_wallet.send_funds_to_bank(text, text, text, numeric, text, text, text) IS
	'Sellapay sendFundsToLocalBank: a payout through a bank_transfer partner to an account at '
	'a bank of pg_wallet.bank_codes (WL068 "Invalid bank details" otherwise, HTTP 400); '
	'deadline 3 days; reference is the idempotency key (per owner of the account).';

CREATE OR REPLACE FUNCTION pg_wallet.send_funds_to_account(
	account_number text,
	recipient_account text,
	amount numeric,
	reference text DEFAULT NULL,
	narrative text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	src pg_wallet.accounts := pg_wallet._account_row(account_number);
	dst pg_wallet.accounts;
	res pg_wallet.journal_result;
	avail numeric;
	sent numeric;			-- the amount as the currency writes it
BEGIN
	SELECT * INTO dst FROM pg_wallet.accounts a WHERE a.account_number = recipient_account;
	-- one refusal, byte for byte, for an account that cannot receive this transfer: unknown,
	-- a system or settlement account, not ACTIVE, or in another currency; the caller learns
	-- nothing of another account's status or currency (docs/bridge.md, deviations)
	IF NOT FOUND OR dst.is_system OR dst.purpose = 'SETTLEMENT' OR dst.status <> 'ACTIVE'
		OR dst.currency <> src.currency THEN
		RAISE EXCEPTION 'Recipient account doesn''t exist' USING ERRCODE = 'WL067';
	END IF;
	IF length(reference) > 100 OR length(narrative) > 200 THEN
		RAISE EXCEPTION 'reference (100) or narrative (200) is too long'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	BEGIN
		res := pg_wallet.transfer(src.account_number, dst.account_number, amount,
			-- keys are per owner of the sending account (idempotency_keys)
			CASE WHEN reference IS NOT NULL THEN 'send:' || reference END, narrative,
			jsonb_strip_nulls(jsonb_build_object('reference', reference)));
	EXCEPTION WHEN SQLSTATE 'WL001' THEN
		avail := (pg_wallet.get_balance(src.account_number)).available_balance;
		RAISE EXCEPTION 'insufficient balance: available % %', avail, src.currency
			USING ERRCODE = 'WL001';
	WHEN SQLSTATE 'WL002' THEN
		-- the recipient's status changed since it was read: the same refusal as above; the
		-- sender's own account may be named
		IF (pg_wallet._account_row(src.account_number)).status <> 'ACTIVE' THEN
			RAISE EXCEPTION 'your account % is not active', src.account_number
				USING ERRCODE = 'WL002';
		END IF;
		RAISE EXCEPTION 'Recipient account doesn''t exist' USING ERRCODE = 'WL067';
	END;
	sent := pg_wallet.amount_format(pg_wallet.amount_parse(amount, src.currency), src.currency);
	IF res.status = 'HELD' THEN
		-- fraud scoring holds it for review (docs/fraud.md): the funds are reserved, nothing
		-- is sent yet, no event
		RETURN jsonb_build_object('message', 'Funds held for review',
			'transaction_id', NULL, 'hold_id', res.hold_id,
			'recipient_account', dst.account_number, 'amount', sent,
			'status', 'pending', 'timestamp', extract(epoch FROM res.created_at)::bigint,
			'replayed', res.replayed);
	END IF;
	IF NOT res.replayed THEN
		PERFORM pg_wallet._transfer_events(res, src, dst, sent);
	END IF;
	RETURN jsonb_build_object('message', 'Funds sent successfully',
		'transaction_id', res.receipt_code, 'recipient_account', dst.account_number,
		'amount', sent,
		'status', 'completed', 'timestamp', extract(epoch FROM res.created_at)::bigint,
		'replayed', res.replayed);
END
$$;
COMMENT ON FUNCTION pg_wallet.send_funds_to_account(text, text, numeric, text, text) IS
	'Sellapay sendFundsToSellapay: an internal transfer (TRANSFER journal, TRANSFER fee) to '
	'another wallet account; WL067 "Recipient account doesn''t exist" (HTTP 404) also for a '
	'recipient that is not ACTIVE or holds another currency (nothing of it is told), WL001 '
	'"insufficient balance: available ..." (402). reference is the '
	'idempotency key, per owner of the sending account. transfer_completed events for both '
	'owners. Held for fraud review: status pending, hold_id, no transaction_id, no event.';

CREATE OR REPLACE FUNCTION pg_wallet._transfer_events(
	res pg_wallet.journal_result, src pg_wallet.accounts, dst pg_wallet.accounts,
	amount numeric)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	payload jsonb := jsonb_build_object('receipt_code', res.receipt_code,
		'transaction_id', res.journal_id, 'amount', amount, 'currency', src.currency,
		'from_account', src.account_number, 'to_account', dst.account_number,
		'fee', coalesce(res.fee, 0), 'timestamp', extract(epoch FROM res.created_at)::bigint);
	o bigint;
BEGIN
	-- owners in ascending id: the stream locks of one transaction are taken in order
	FOR o IN SELECT DISTINCT x FROM unnest(ARRAY[src.owner_id, dst.owner_id]) x ORDER BY x LOOP
		PERFORM pg_wallet.emit_event(o, 'transfer_completed', payload);
	END LOOP;
END
$$;
COMMENT ON FUNCTION pg_wallet._transfer_events(pg_wallet.journal_result, pg_wallet.accounts,
	pg_wallet.accounts, numeric) IS
	'Internal: transfer_completed for the sender and the recipient (owners in id order).';

-- The trigger holds_review_released_events (partners/triggers.sql): a transfer held for fraud
-- review and released completes now.
CREATE OR REPLACE FUNCTION pg_wallet._review_released_events()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	src pg_wallet.accounts;
	dst pg_wallet.accounts;
	j pg_wallet.journals;
BEGIN
	SELECT * INTO src FROM pg_wallet.accounts a WHERE a.id = NEW.account_id;
	SELECT * INTO dst FROM pg_wallet.accounts a WHERE a.id = NEW.counterpart_account_id;
	SELECT * INTO j FROM pg_wallet.journals x WHERE x.id = NEW.journal_id;
	PERFORM pg_wallet._transfer_events(
		(j.id, pg_wallet.receipt_code(j.id, j.created_at), 'POSTED', false, NULL, NULL,
			j.created_at, pg_wallet.amount_format(j.fee_minor, src.currency), NULL,
			NULL)::pg_wallet.journal_result,
		src, dst, pg_wallet.amount_format(NEW.amount, src.currency));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._review_released_events() IS
	'Internal: trigger of holds: transfer_completed for both owners when a transfer held for '
	'fraud review is posted.';

-- The trigger holds_review_closed_events (partners/triggers.sql): a request held for fraud
-- review that an admin rejected, or whose review window passed, failed: the payer gets
-- transaction_failed (the cashier spec's generic failure event) naming the hold that the
-- pending answer gave. The payee was never told of it. The admin's reason stays internal.
CREATE OR REPLACE FUNCTION pg_wallet._review_closed_events()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	src pg_wallet.accounts;
	ts bigint := extract(epoch FROM now())::bigint;
BEGIN
	SELECT * INTO src FROM pg_wallet.accounts a WHERE a.id = NEW.account_id;
	PERFORM pg_wallet.emit_event(src.owner_id, 'transaction_failed', jsonb_build_object(
		'receipt_code', NULL, 'transaction_id', NULL,
		'transaction_type', lower(NEW.review ->> 'type'), 'hold_id', NEW.id,
		'amount', pg_wallet.amount_format(NEW.amount, src.currency),
		'currency', src.currency,
		'error', CASE NEW.status WHEN 'EXPIRED'
			THEN 'the transaction was not approved within its review period'
			ELSE 'the transaction was rejected after review' END,
		'timestamp', ts));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._review_closed_events() IS
	'Internal: trigger of holds: transaction_failed for the payer when a request held for '
	'fraud review is voided (rejected) or expires.';

CREATE OR REPLACE FUNCTION pg_wallet._withdrawal_events(w pg_wallet.withdrawals)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j pg_wallet.journals;
	g pg_wallet.agents;
	b pg_wallet.balance_info;
	ts bigint := extract(epoch FROM now())::bigint;
	amount numeric := pg_wallet.amount_format(w.amount_minor, w.currency);
BEGIN
	b := pg_wallet.get_balance((SELECT a.account_number FROM pg_wallet.accounts a
	                            WHERE a.id = w.account_id));
	IF w.status = 'completed' THEN
		SELECT * INTO j FROM pg_wallet.journals x WHERE x.id = w.journal_id;
		SELECT * INTO g FROM pg_wallet.agents x WHERE x.id = w.agent_id;
		PERFORM pg_wallet.emit_event(w.owner_id, 'withdrawal_completed',
			jsonb_strip_nulls(jsonb_build_object('request_ref', w.request_ref,
				'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
				'balance_after', b.balance, 'agent_id', g.id, 'agent_name', g.name,
				'fee_amount', pg_wallet.amount_format(w.fee_minor, w.currency),
				'agent_commission', CASE WHEN g.id IS NOT NULL
					THEN pg_wallet.amount_format(w.commission_minor, w.currency) END)),
			w.principal_id);
		PERFORM pg_wallet.emit_event(w.owner_id, 'transaction_completed', jsonb_build_object(
			'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
			'transaction_id', j.id, 'transaction_type', 'withdrawal', 'amount', amount,
			'currency', w.currency, 'balance_after', b.balance,
			'fee', pg_wallet.amount_format(w.fee_minor, w.currency), 'timestamp', ts),
			w.principal_id);
	ELSE
		PERFORM pg_wallet.emit_event(w.owner_id, 'withdrawal_failed', jsonb_build_object(
			'request_ref', w.request_ref, 'error', w.error), w.principal_id);
		PERFORM pg_wallet.emit_event(w.owner_id, 'transaction_failed', jsonb_build_object(
			'receipt_code', NULL, 'transaction_id', NULL, 'transaction_type', 'withdrawal',
			'amount', amount, 'currency', w.currency, 'error', w.error, 'timestamp', ts),
			w.principal_id);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_events(pg_wallet.withdrawals) IS
	'Internal: withdrawal_completed (with agent, fee and commission when agent-assisted) and '
	'transaction_completed, or withdrawal_failed and transaction_failed; for the principal '
	'that asked for the withdrawal when known.';

CREATE OR REPLACE FUNCTION pg_wallet._withdrawal_complete(p_ref text, p_partner_reference text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals := pg_wallet._withdrawal_row(p_ref, true);
	res pg_wallet.journal_result;
BEGIN
	IF w.status = 'completed' THEN
		RETURN jsonb_build_object('request_ref', w.request_ref, 'status', w.status,
			'replayed', true);
	END IF;
	IF w.status = 'failed' THEN
		RAISE EXCEPTION 'withdrawal % already failed (%); the partner now reports success',
			w.request_ref, w.error USING ERRCODE = 'WL064',
			HINT = 'The hold was released: reconcile with the partner.';
	END IF;
	res := pg_wallet.post_hold(w.hold_id, NULL, 'payout:' || w.request_ref,
		left('Withdrawal ' || w.request_ref, 500));
	UPDATE pg_wallet.withdrawals x
	SET status = 'completed', journal_id = res.journal_id,
		fee_minor = pg_wallet.amount_parse(coalesce(res.fee, 0), w.currency),
		commission_minor = pg_wallet.amount_parse(coalesce(res.agent_commission, 0), w.currency),
		partner_reference = coalesce(left(p_partner_reference, 128), x.partner_reference),
		completed_at = now()
	WHERE x.id = w.id
	RETURNING * INTO w;
	PERFORM pg_wallet._withdrawal_events(w);
	RETURN jsonb_build_object('request_ref', w.request_ref, 'status', w.status,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_complete(text, text) IS
	'Internal: a partner''s success: post the hold (HOLD_CAPTURE journal, fee and agent '
	'commission) and emit the events; again: replayed; WL064 when it already failed.';

CREATE OR REPLACE FUNCTION pg_wallet._withdrawal_fail(p_ref text, p_error text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals := pg_wallet._withdrawal_row(p_ref, true);
	h pg_wallet.hold_info;
BEGIN
	IF w.status = 'failed' THEN
		RETURN jsonb_build_object('request_ref', w.request_ref, 'status', w.status,
			'replayed', true);
	END IF;
	IF w.status = 'completed' THEN
		RAISE EXCEPTION 'withdrawal % is already completed', w.request_ref USING ERRCODE = 'WL064';
	END IF;
	h := pg_wallet.get_hold(w.hold_id);
	IF h.status = 'ACTIVE' THEN
		PERFORM pg_wallet.void_hold(w.hold_id, left(coalesce(p_error, 'failed'), 500));
	END IF;
	UPDATE pg_wallet.withdrawals x
	SET status = 'failed', error = left(coalesce(p_error, 'failed'), 500), failed_at = now()
	WHERE x.id = w.id
	RETURNING * INTO w;
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', updated_at = now()
	WHERE o.subject_ref = w.request_ref AND o.kind = 'payout' AND o.status IN ('PENDING', 'DEAD');
	PERFORM pg_wallet._withdrawal_events(w);
	RETURN jsonb_build_object('request_ref', w.request_ref, 'status', w.status,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_fail(text, text) IS
	'Internal: a payout failed or timed out: void its hold (funds available again, KYC '
	'allowance given back), cancel its unsent request, emit the events. WL064 when it '
	'already completed.';

CREATE OR REPLACE FUNCTION pg_wallet._withdrawal_answered(
	p_ref text, p_state text, p_partner_reference text, p_partner_request_id text,
	p_error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals := pg_wallet._withdrawal_row(p_ref, true);
BEGIN
	UPDATE pg_wallet.withdrawals x
	SET partner_reference = coalesce(x.partner_reference, p_partner_reference),
		partner_request_id = coalesce(x.partner_request_id, p_partner_request_id),
		accepted_at = CASE WHEN p_state <> 'failed' THEN coalesce(x.accepted_at, now()) END
	WHERE x.id = w.id;
	IF w.status <> 'processing' THEN
		RETURN;
	END IF;
	IF p_state = 'completed' THEN
		PERFORM pg_wallet._withdrawal_complete(w.request_ref, p_partner_reference);
	ELSIF p_state = 'failed' THEN
		PERFORM pg_wallet._withdrawal_fail(w.request_ref, p_error);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_answered(text, text, text, text, text) IS
	'Internal: the partner answered a payout request: accepted (references kept), '
	'completed at once, or refused (failed, hold voided).';

CREATE OR REPLACE FUNCTION pg_wallet.expire_withdrawals(max_withdrawals integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref text;
	n integer := 0;
BEGIN
	IF max_withdrawals IS NULL OR max_withdrawals NOT BETWEEN 1 AND 100000 THEN
		RAISE EXCEPTION 'max_withdrawals must be between 1 and 100000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR ref IN
		SELECT w.request_ref FROM pg_wallet.withdrawals w
		WHERE w.status = 'processing' AND w.deadline_at <= now()
		ORDER BY w.deadline_at LIMIT max_withdrawals
		FOR UPDATE SKIP LOCKED
	LOOP
		PERFORM pg_wallet._withdrawal_fail(ref, 'Transaction timeout');
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet.expire_withdrawals(integer) IS
	'Fail up to max_withdrawals payouts still processing past their deadline ("Transaction '
	'timeout"): the hold is voided and the events emitted. A success reported later is '
	'refused (WL064) for reconciliation. The expiry worker calls it.';

CREATE OR REPLACE FUNCTION pg_wallet.get_history(
	owner_id bigint,
	kind text DEFAULT 'all',
	page_size integer DEFAULT 20,
	page_offset integer DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	deps jsonb;
	wds jsonb;
BEGIN
	IF kind IS NULL OR kind NOT IN ('all', 'deposits', 'withdrawals') THEN
		RAISE EXCEPTION 'type must be deposits, withdrawals or all'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 100
		OR page_offset IS NULL OR page_offset NOT BETWEEN 0 AND 100000 THEN
		RAISE EXCEPTION 'limit must be between 1 and 100 and offset between 0 and 100000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF kind IN ('all', 'deposits') THEN
		SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', d.id,
				'request_ref', d.request_ref,
				'amount', pg_wallet.amount_format(d.amount_minor, d.currency),
				'currency', d.currency, 'status', d.status,
				'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
				'created_at', pg_wallet._ts_iso(d.created_at),
				'completed_at', pg_wallet._ts_iso(d.completed_at))) ORDER BY d.id DESC), '[]')
		INTO deps
		FROM (SELECT * FROM pg_wallet.deposits x WHERE x.owner_id = get_history.owner_id
		      ORDER BY x.id DESC LIMIT page_size OFFSET page_offset) d
		LEFT JOIN pg_wallet.journals j ON j.id = d.journal_id;
	END IF;
	IF kind IN ('all', 'withdrawals') THEN
		SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', w.id,
				'request_ref', w.request_ref,
				'amount', pg_wallet.amount_format(w.amount_minor, w.currency),
				'currency', w.currency, 'destination', w.destination, 'status', w.status,
				'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
				'created_at', pg_wallet._ts_iso(w.created_at),
				'completed_at', pg_wallet._ts_iso(w.completed_at))) ORDER BY w.id DESC), '[]')
		INTO wds
		FROM (SELECT * FROM pg_wallet.withdrawals x WHERE x.owner_id = get_history.owner_id
		      ORDER BY x.id DESC LIMIT page_size OFFSET page_offset) w
		LEFT JOIN pg_wallet.journals j ON j.id = w.journal_id;
	END IF;
	RETURN jsonb_strip_nulls(jsonb_build_object('deposits', deps, 'withdrawals', wds));
END
$$;
COMMENT ON FUNCTION pg_wallet.get_history(bigint, text, integer, integer) IS
	'Cashier get_history: an owner''s deposits and/or withdrawals, newest first, limit 1-100 '
	'and offset, as {"deposits": [...], "withdrawals": [...]}.';
