-- Reads: balances, entries, statements, journals. Plain SQL over the tables the posting core
-- writes. The balance of an account is always balance + its unfolded account_deltas.

-- PL/pgSQL, not SQL: a SQL function with SET search_path is never inlined, and PostgreSQL 15
-- parses and plans its body again on every call from another statement or PL/pgSQL; a
-- PL/pgSQL function keeps its plan per backend (issue 20: most of an API balance read).
CREATE OR REPLACE FUNCTION pg_wallet.get_balance(account_number text)
RETURNS pg_wallet.balance_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.balance_info;
BEGIN
	-- the sums in LATERAL subqueries: each is computed once (a scalar subquery used in two
	-- output columns would be planned and run twice)
	SELECT a.account_number, a.currency,
		pg_wallet.minor_to_numeric(a.balance + d.amount, a.exponent),
		pg_wallet.minor_to_numeric(a.balance + d.amount - a.pending_debit, a.exponent),
		pg_wallet.minor_to_numeric(a.pending_debit, a.exponent),
		pg_wallet.minor_to_numeric(h.amount, a.exponent),
		(SELECT e.created_at FROM pg_wallet.entries e WHERE e.account_id = a.id
		 ORDER BY e.created_at DESC, e.id DESC LIMIT 1)
	INTO r
	FROM pg_wallet.accounts a
	CROSS JOIN LATERAL (SELECT coalesce(sum(x.amount), 0)::bigint AS amount
		FROM pg_wallet.account_deltas x WHERE x.account_id = a.id) d
	CROSS JOIN LATERAL (SELECT coalesce(sum(x.amount), 0)::bigint AS amount
		FROM pg_wallet.holds x
		WHERE x.counterpart_account_id = a.id AND x.status = 'ACTIVE') h
	WHERE a.account_number = get_balance.account_number;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'account % does not exist', coalesce(get_balance.account_number, 'NULL')
			USING ERRCODE = 'WL005';
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_balance(text) IS
	'Balance, available balance (balance - pending_debit), pending debit (active holds on the '
	'account), pending credit (active holds paying into it) and last entry time.';

-- Entries of an account in (created_at, id) order with the running balance filled in for
-- credits a DEFERRED account took as deltas.
CREATE OR REPLACE FUNCTION pg_wallet._entries(
	p_account_id bigint,
	p_from timestamptz,
	p_to timestamptz,
	p_after_entry_id bigint,
	p_limit integer)
RETURNS SETOF pg_wallet.entry_info
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH a AS (
		SELECT a.*,
			a.balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
			                      WHERE d.account_id = a.id), 0)::bigint AS total
		FROM pg_wallet.accounts a
		WHERE a.id = p_account_id),
	cursor AS (SELECT e.created_at, e.id FROM pg_wallet.entries e
	           WHERE e.id = p_after_entry_id AND e.account_id = p_account_id),
	later AS (
		-- net of everything after the window start: balance before it = total - later
		SELECT coalesce(sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END), 0)::bigint
			AS net
		FROM pg_wallet.entries e
		WHERE e.account_id = p_account_id
		  AND (p_from IS NULL OR e.created_at >= p_from)
		  AND (p_after_entry_id IS NULL OR (e.created_at, e.id) >
		       (SELECT c.created_at, c.id FROM cursor c))),
	page AS (
		SELECT e.*, ((SELECT total FROM a) - (SELECT net FROM later)
			+ sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END)
			  OVER (ORDER BY e.created_at, e.id))::bigint AS running
		FROM pg_wallet.entries e
		WHERE e.account_id = p_account_id
		  AND (p_from IS NULL OR e.created_at >= p_from)
		  AND (p_to IS NULL OR e.created_at < p_to)
		  AND (p_after_entry_id IS NULL OR (e.created_at, e.id) >
		       (SELECT c.created_at, c.id FROM cursor c))
		ORDER BY e.created_at, e.id
		LIMIT p_limit)
	SELECT p.id, p.journal_id, pg_wallet.receipt_code(j.id, j.created_at), j.journal_type,
		a.account_number, a.currency, p.side,
		pg_wallet.minor_to_numeric(p.amount, a.exponent),
		pg_wallet.minor_to_numeric(coalesce(p.balance_after, p.running), a.exponent),
		coalesce(p.description, j.description), p.created_at
	FROM page p
	JOIN pg_wallet.journals j ON j.id = p.journal_id
	CROSS JOIN a
	ORDER BY p.created_at, p.id
$$;
COMMENT ON FUNCTION pg_wallet._entries(bigint, timestamptz, timestamptz, bigint, integer) IS
	'Internal: one page of an account''s entries with balance_after.';

CREATE OR REPLACE FUNCTION pg_wallet.list_entries(
	account_number text,
	from_time timestamptz DEFAULT NULL,
	to_time timestamptz DEFAULT NULL,
	page_size integer DEFAULT 50,
	after_entry_id bigint DEFAULT NULL)
RETURNS SETOF pg_wallet.entry_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts := pg_wallet._account_row(account_number);
BEGIN
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'page_size must be between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF from_time IS NOT NULL AND to_time IS NOT NULL AND to_time < from_time THEN
		RAISE EXCEPTION 'to_time is before from_time'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF after_entry_id IS NOT NULL AND NOT EXISTS (
		SELECT 1 FROM pg_wallet.entries e
		WHERE e.id = after_entry_id AND e.account_id = acct.id) THEN
		RAISE EXCEPTION 'entry % is not an entry of account %', after_entry_id, account_number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY SELECT * FROM pg_wallet._entries(acct.id, from_time, to_time,
	                                              after_entry_id, page_size);
END
$$;
COMMENT ON FUNCTION pg_wallet.list_entries(text, timestamptz, timestamptz, integer, bigint) IS
	'An account''s entries in time order, from_time inclusive, to_time exclusive, one page at a '
	'time: pass the last entry_id seen as after_entry_id for the next page.';

CREATE OR REPLACE FUNCTION pg_wallet.get_statement(
	account_number text,
	from_time timestamptz,
	to_time timestamptz,
	max_entries integer DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts := pg_wallet._account_row(account_number);
	scale smallint;
	total bigint;
	after_net bigint;
	period_dr bigint;
	period_cr bigint;
	period_count bigint;
	closing bigint;
	lines jsonb;
BEGIN
	IF from_time IS NULL OR to_time IS NULL OR to_time < from_time THEN
		RAISE EXCEPTION 'a statement needs from_time <= to_time'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_entries IS NULL OR max_entries NOT BETWEEN 0 AND 10000 THEN
		RAISE EXCEPTION 'max_entries must be between 0 and 10000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	scale := acct.exponent;
	SELECT acct.balance + coalesce(sum(d.amount), 0) INTO total
	FROM pg_wallet.account_deltas d WHERE d.account_id = acct.id;
	SELECT coalesce(sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END), 0)
	INTO after_net
	FROM pg_wallet.entries e WHERE e.account_id = acct.id AND e.created_at >= to_time;
	SELECT coalesce(sum(e.amount) FILTER (WHERE e.side = 'DR'), 0),
	       coalesce(sum(e.amount) FILTER (WHERE e.side = 'CR'), 0), count(*)
	INTO period_dr, period_cr, period_count
	FROM pg_wallet.entries e
	WHERE e.account_id = acct.id AND e.created_at >= from_time AND e.created_at < to_time;
	closing := total - after_net;
	SELECT coalesce(jsonb_agg(jsonb_build_object(
		'id', x.entry_id, 'amount', x.amount, 'type',
		CASE x.side WHEN 'CR' THEN 'DR_CR_CREDIT' ELSE 'DR_CR_DEBIT' END,
		'currency', x.currency, 'balance_after', x.balance_after,
		'description', x.description, 'receipt_code', x.receipt_code,
		'journal_type', x.journal_type, 'created_at', x.created_at)
		ORDER BY x.created_at, x.entry_id), '[]')
	INTO lines
	FROM pg_wallet._entries(acct.id, from_time, to_time, NULL, max_entries) x;
	RETURN jsonb_build_object(
		'account_number', acct.account_number,
		'currency', acct.currency,
		'opening_balance', pg_wallet.minor_to_numeric(closing - period_cr + period_dr, scale),
		'closing_balance', pg_wallet.minor_to_numeric(closing, scale),
		'total_debits', pg_wallet.minor_to_numeric(period_dr, scale),
		'total_credits', pg_wallet.minor_to_numeric(period_cr, scale),
		'period_start', from_time,
		'period_end', to_time,
		'ledgers', lines,
		'transaction_count', period_count,
		'has_more', period_count > max_entries);
END
$$;
COMMENT ON FUNCTION pg_wallet.get_statement(text, timestamptz, timestamptz, integer) IS
	'Statement of an account for [from_time, to_time): opening and closing balance, total '
	'debits and credits, and up to max_entries entries with receipt codes (has_more says if '
	'there are more: page them with list_entries).';

CREATE OR REPLACE FUNCTION pg_wallet.get_journal(receipt_code text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j pg_wallet.journals;
	result jsonb;
BEGIN
	SELECT * INTO j FROM pg_wallet.journals
	WHERE id = pg_wallet.journal_id_from_receipt(left(receipt_code, 64)) AND status = 'POSTED';
	IF NOT FOUND OR pg_wallet.receipt_code(j.id, j.created_at) <> receipt_code THEN
		RAISE EXCEPTION 'transaction not found'
			USING ERRCODE = 'WL014',
			      DETAIL = format('No journal has receipt code %s.', left(receipt_code, 64));
	END IF;
	SELECT jsonb_build_object(
		'journal', jsonb_build_object(
			'id', j.id,
			'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
			'journal_type', j.journal_type,
			'description', j.description,
			'metadata', j.metadata,
			'reverses', (SELECT pg_wallet.receipt_code(o.id, o.created_at)
			             FROM pg_wallet.journals o WHERE o.id = j.reverses_journal_id),
			'reversed_by', (SELECT pg_wallet.receipt_code(r.id, r.created_at)
			                FROM pg_wallet.journals r WHERE r.reverses_journal_id = j.id),
			'created_at', j.created_at),
		'entries', jsonb_agg(jsonb_build_object(
			'entry_id', e.id,
			'leg', e.leg,
			'account_number', a.account_number,
			'currency', a.currency,
			'side', e.side,
			'amount', pg_wallet.minor_to_numeric(e.amount, a.exponent),
			'balance_after', pg_wallet.minor_to_numeric(e.balance_after, a.exponent),
			'description', e.description) ORDER BY e.leg))
	INTO result
	FROM pg_wallet.entries e
	JOIN pg_wallet.accounts a ON a.id = e.account_id
	WHERE e.journal_id = j.id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_journal(text) IS
	'A journal and its entries (entry_id, leg, account, side, amount, balance_after, '
	'description) by receipt code, or error WL014 "transaction not found".';
