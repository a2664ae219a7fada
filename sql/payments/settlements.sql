-- Merchant settlement runs (issue 14): the functions over payments/settlements_tables.sql.
--
--   run      settlement_run(as_of, max_merchants), called by the operator's scheduler (or by
--            hand): the approved registered merchants due on as_of (daily ones every day,
--            weekly ones on Mondays) that have no run for that period, taken FOR UPDATE SKIP
--            LOCKED so that two runners never take the same merchant, at most max_merchants
--            per call, each settled in its own subtransaction:
--   settle   gross = the collections account's available balance less the SUCCESS payments
--            completed in the hold period; nothing below the merchant's minimum (SKIPPED).
--            Else the fee (settlement_fee_bp of gross, rounded half up) is one SETTLEMENT_FEE
--            journal to SYS-FEE-<CUR>, and the rest is paid to the merchant's bank account by
--            a withdrawal (withdrawals.sql's _payout_create: held, sent by the outbox to a
--            bank_transfer partner): PROCESSING. A failure (no partner, unknown bank code,
--            funds) rolls both back and records the run FAILED with why.
--   end      the trigger withdrawals_settlement (payments/settlements_triggers.sql): the
--            payout completed: COMPLETED; failed: FAILED, and the fee is given back.
-- Idempotent per merchant and period (settlements' unique key): a run killed at any point
-- either committed a merchant's settlement whole or left no trace of it, and the next call
-- takes the merchants still due (test/t/008_settlement_crash.pl).
--
-- Must never: pay a merchant twice for a period; pay out money still in its hold period; move
-- money other than through the ledger core.
--
-- Locking: the merchant's row (FOR UPDATE SKIP LOCKED), then what posting and the payout take.

-- What a settlement of the merchant would move now, counting as held the SUCCESS payments
-- completed at or after cutoff: the collections account, its available balance, the held
-- amount, gross, fee and net (minor units). Shared by the runs and the dashboard's outlook.
CREATE OR REPLACE FUNCTION pg_wallet._settlement_amounts(m pg_wallet.merchants,
	cutoff timestamptz, OUT account_number text, OUT available bigint, OUT held bigint,
	OUT gross bigint, OUT fee bigint, OUT net bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.accounts;
BEGIN
	SELECT * INTO a FROM pg_wallet.accounts x
	WHERE x.owner_id = m.owner_id AND x.currency = m.currency
		AND x.purpose = 'AVAILABLE_COLLECTIONS' AND NOT x.is_system
	ORDER BY x.id LIMIT 1;
	account_number := a.account_number;
	-- get_balance: a DEFERRED account's row alone misses its unfolded credits (a chargeback
	-- may have taken it below zero)
	available := coalesce(round((pg_wallet.get_balance(a.account_number)).available_balance
		* (10::numeric ^ a.exponent))::bigint, 0);
	SELECT coalesce(sum(p.amount_minor), 0)::bigint INTO held
	FROM pg_wallet.payments p
	WHERE p.merchant_owner_id = m.owner_id AND p.currency = m.currency
		AND p.status = 'SUCCESS' AND p.completed_at >= cutoff;
	gross := greatest(available - held, 0);
	fee := (gross * m.settlement_fee_bp + 5000) / 10000;
	net := gross - fee;
END
$$;
COMMENT ON FUNCTION pg_wallet._settlement_amounts(pg_wallet.merchants, timestamptz) IS
	'Internal: the merchant''s collections account, its available balance, the SUCCESS '
	'payments completed since cutoff (held), gross (available - held, at least 0), the '
	'settlement fee (half up) and net, in minor units.';

-- The period a merchant is due for on as_of: the day for a daily merchant, the day when it is
-- a Monday for a weekly one; NULL when not due.
CREATE OR REPLACE FUNCTION pg_wallet._settlement_period(m pg_wallet.merchants, as_of date)
RETURNS date
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE WHEN m.settlement_frequency = 'daily'
		OR extract(isodow FROM as_of) = 1 THEN as_of END;
END
$$;
COMMENT ON FUNCTION pg_wallet._settlement_period(pg_wallet.merchants, date) IS
	'Internal: the settlement period a merchant is due for on a day (daily: the day; weekly: '
	'Mondays), NULL when not due.';

-- Settle one merchant (its row locked) for a period; its run when it has one already.
CREATE OR REPLACE FUNCTION pg_wallet._settle_merchant(m pg_wallet.merchants, p_period date)
RETURNS pg_wallet.settlements
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.settlements;
	x record := pg_wallet._settlement_amounts(m, (p_period - m.settlement_hold_days)::timestamp
		AT TIME ZONE 'UTC');
	new_id bigint;
	ref text;
	jid bigint;
	w pg_wallet.withdrawals;
BEGIN
	SELECT * INTO s FROM pg_wallet.settlements y
	WHERE y.merchant_id = m.id AND y.period = p_period;
	IF s.id IS NOT NULL THEN
		RETURN s;
	END IF;
	new_id := nextval(pg_get_serial_sequence('pg_wallet.settlements', 'id'));
	ref := format('STL-%s-%s', to_char(p_period, 'YYYYMMDD'), pg_wallet._padded(new_id, 6));
	IF x.gross = 0 OR x.net = 0 OR x.gross < m.settlement_minimum_minor THEN
		INSERT INTO pg_wallet.settlements (id, settlement_ref, merchant_id, period, currency,
			available_minor, held_minor, gross_minor, fee_minor, net_minor, status, reason)
		OVERRIDING SYSTEM VALUE
		VALUES (new_id, ref, m.id, p_period, m.currency, x.available, x.held, x.gross, 0, 0,
			'SKIPPED', CASE WHEN x.gross = 0 OR x.net = 0 THEN 'nothing to settle'
				ELSE 'below the minimum amount' END)
		RETURNING * INTO s;
		RETURN s;
	END IF;
	BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.bank_codes b WHERE b.code = m.bank_code) THEN
			RAISE EXCEPTION 'Invalid bank details: unknown bank code "%"', m.bank_code
				USING ERRCODE = 'WL068';
		END IF;
		IF x.fee > 0 THEN
			jid := (pg_wallet.post_journal('SETTLEMENT_FEE', jsonb_build_array(
					jsonb_build_object('account', x.account_number, 'side', 'DR',
						'amount', pg_wallet.amount_format(x.fee, m.currency)),
					jsonb_build_object('account', 'SYS-FEE-' || m.currency, 'side', 'CR',
						'amount', pg_wallet.amount_format(x.fee, m.currency))),
				'settlement-fee:' || ref, 'Settlement fee ' || ref,
				jsonb_build_object('settlement', ref, 'merchant', m.id))).journal_id;
		END IF;
		w := pg_wallet._payout_create(x.account_number, pg_wallet.amount_format(x.net,
				m.currency), 'bank', m.bank_account_number, 'bank_transfer', NULL, NULL,
			m.bank_code, m.bank_account_holder, 'Settlement ' || ref, 'settlement:' || ref,
			'sql', 3 * 86400);
		INSERT INTO pg_wallet.settlements (id, settlement_ref, merchant_id, period, currency,
			available_minor, held_minor, gross_minor, fee_minor, net_minor, status,
			fee_journal_id, withdrawal_id)
		OVERRIDING SYSTEM VALUE
		VALUES (new_id, ref, m.id, p_period, m.currency, x.available, x.held, x.gross, x.fee,
			x.net, 'PROCESSING', jid, w.id)
		RETURNING * INTO s;
	EXCEPTION WHEN OTHERS THEN
		-- the fee and the payout are rolled back with the block: recorded FAILED, with why
		INSERT INTO pg_wallet.settlements (id, settlement_ref, merchant_id, period, currency,
			available_minor, held_minor, gross_minor, fee_minor, net_minor, status, reason,
			completed_at)
		OVERRIDING SYSTEM VALUE
		VALUES (new_id, ref, m.id, p_period, m.currency, x.available, x.held, x.gross, x.fee,
			x.net, 'FAILED', left(SQLSTATE || ': ' || SQLERRM, 500), now())
		RETURNING * INTO s;
	END;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._settle_merchant(pg_wallet.merchants, date) IS
	'Internal: settle a merchant (its row locked) for a period, once: SKIPPED below its '
	'minimum; else the SETTLEMENT_FEE journal and the payout of the rest to its bank account '
	'(PROCESSING), or FAILED with why when either cannot be made (both rolled back).';

CREATE OR REPLACE FUNCTION pg_wallet.settlement_run(as_of date DEFAULT NULL,
	max_merchants integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	day date := coalesce(as_of, (now() AT TIME ZONE 'UTC')::date);
	m pg_wallet.merchants;
	s pg_wallet.settlements;
	counts jsonb := '{"PROCESSING": 0, "SKIPPED": 0, "FAILED": 0, "COMPLETED": 0}';
BEGIN
	IF max_merchants IS NULL OR max_merchants NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'max_merchants must be 1 to 10000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF day > (now() AT TIME ZONE 'UTC')::date THEN
		RAISE EXCEPTION 'as_of % is in the future', to_char(day, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR m IN
		SELECT x.* FROM pg_wallet.merchants x
		WHERE x.kyc_status = 'APPROVED' AND pg_wallet._settlement_period(x, day) IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM pg_wallet.settlements y
			                WHERE y.merchant_id = x.id AND y.period = day)
		ORDER BY x.id
		LIMIT max_merchants
		FOR UPDATE OF x SKIP LOCKED
	LOOP
		s := pg_wallet._settle_merchant(m, day);
		counts := jsonb_set(counts, ARRAY[s.status],
			to_jsonb((counts ->> s.status)::integer + 1));
	END LOOP;
	RETURN jsonb_build_object('asOf', day, 'paid', counts -> 'PROCESSING',
		'skipped', counts -> 'SKIPPED', 'failed', counts -> 'FAILED',
		'remaining', (SELECT count(*) FROM pg_wallet.merchants x
			WHERE x.kyc_status = 'APPROVED' AND pg_wallet._settlement_period(x, day) IS NOT NULL
				AND NOT EXISTS (SELECT 1 FROM pg_wallet.settlements y
				                WHERE y.merchant_id = x.id AND y.period = day)));
END
$$;
COMMENT ON FUNCTION pg_wallet.settlement_run(date, integer) IS
	'Admin (the operator''s scheduler): settle up to max_merchants (1-10000) approved '
	'registered merchants due on as_of (default today, UTC; not in the future: daily ones '
	'every day, weekly ones on Mondays) that have no run for it, each once '
	'(_settle_merchant). Returns {asOf, paid, skipped, failed, remaining}: call again while '
	'remaining > 0. Safe to run concurrently and to start again after a crash.';

CREATE OR REPLACE FUNCTION pg_wallet._settlement_json(s pg_wallet.settlements)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('settlementId', s.settlement_ref, 'merchantId', s.merchant_id,
		'period', s.period, 'currency', s.currency,
		'grossAmount', pg_wallet.amount_format(s.gross_minor, s.currency),
		'heldAmount', pg_wallet.amount_format(s.held_minor, s.currency),
		'fee', pg_wallet.amount_format(s.fee_minor, s.currency),
		'netAmount', pg_wallet.amount_format(s.net_minor, s.currency),
		'status', s.status, 'reason', s.reason,
		'payoutId', (SELECT w.request_ref FROM pg_wallet.withdrawals w
			WHERE w.id = s.withdrawal_id),
		'createdAt', pg_wallet._ts_iso(s.created_at),
		'completedAt', pg_wallet._ts_iso(s.completed_at));
END
$$;
COMMENT ON FUNCTION pg_wallet._settlement_json(pg_wallet.settlements) IS
	'Internal: a settlement run {settlementId, merchantId, period, currency, grossAmount, '
	'heldAmount, fee, netAmount, status, reason, payoutId, createdAt, completedAt}.';

CREATE OR REPLACE FUNCTION pg_wallet.merchant_settlements(principal_id uuid, merchant_id text,
	p_limit integer DEFAULT 20, p_offset integer DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	mp pg_wallet.principals := pg_wallet._merchant_principal_for(principal_id, merchant_id);
BEGIN
	IF p_limit NOT BETWEEN 1 AND 100 OR p_offset NOT BETWEEN 0 AND 999999 THEN
		RAISE EXCEPTION 'limit must be 1 to 100 and offset 0 to 999999'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'limit';
	END IF;
	RETURN jsonb_build_object('merchantId', mp.id,
		'settlements', coalesce((SELECT jsonb_agg(pg_wallet._settlement_json(s)
				ORDER BY s.period DESC, s.id DESC)
			FROM (SELECT * FROM pg_wallet.settlements y WHERE y.merchant_id = mp.id
			      ORDER BY y.period DESC, y.id DESC LIMIT p_limit OFFSET p_offset) s), '[]'),
		'pagination', jsonb_build_object('total', (SELECT count(*)
				FROM pg_wallet.settlements y WHERE y.merchant_id = mp.id),
			'limit', p_limit, 'offset', p_offset));
END
$$;
COMMENT ON FUNCTION pg_wallet.merchant_settlements(uuid, text, integer, integer) IS
	'A merchant''s settlement runs, newest first, for who acts for it and admins (WL085 '
	'otherwise); pagination {total, limit (1-100), offset}.';

-- The trigger withdrawals_settlement (payments/settlements_triggers.sql): a settlement's
-- payout ended. Completed: COMPLETED; failed: FAILED and the fee given back (one
-- SETTLEMENT_FEE_REFUND journal), the money back in the collections for the next run.
CREATE OR REPLACE FUNCTION pg_wallet._settlement_payout_ended()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.settlements;
	acct text;
BEGIN
	SELECT * INTO s FROM pg_wallet.settlements y WHERE y.withdrawal_id = NEW.id FOR UPDATE;
	IF NOT FOUND OR s.status <> 'PROCESSING' THEN
		RETURN NULL;
	END IF;
	IF NEW.status = 'completed' THEN
		UPDATE pg_wallet.settlements y SET status = 'COMPLETED', completed_at = now()
		WHERE y.id = s.id;
		RETURN NULL;
	END IF;
	IF s.fee_minor > 0 THEN
		SELECT a.account_number INTO STRICT acct FROM pg_wallet.accounts a
		WHERE a.id = NEW.account_id;
		PERFORM pg_wallet.post_journal('SETTLEMENT_FEE_REFUND', jsonb_build_array(
				jsonb_build_object('account', 'SYS-FEE-' || s.currency, 'side', 'DR',
					'amount', pg_wallet.amount_format(s.fee_minor, s.currency)),
				jsonb_build_object('account', acct, 'side', 'CR',
					'amount', pg_wallet.amount_format(s.fee_minor, s.currency))),
			'settlement-fee-refund:' || s.settlement_ref,
			'Settlement fee given back: ' || s.settlement_ref,
			jsonb_build_object('settlement', s.settlement_ref));
	END IF;
	UPDATE pg_wallet.settlements y
	SET status = 'FAILED', completed_at = now(),
		reason = left('the payout failed: ' || coalesce(NEW.error, 'failed'), 500)
	WHERE y.id = s.id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._settlement_payout_ended() IS
	'Internal, trigger withdrawals_settlement: a settlement is COMPLETED when its payout '
	'completes, FAILED when it fails (its fee given back to the collections account).';
