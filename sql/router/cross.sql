-- A transfer between accounts on two nodes: two-phase commit with the decision in the
-- router's log (pg_wallet_router.transfers), docs/scale-out.md.
--
--   1. the log: a COMMITTED row under the payer's (owner, key) is replayed (or WL003 for
--      another request); else the transfer's id is drawn (a sequence: nothing committed);
--   2. node A (the payer's), one round trip: BEGIN; transfer payer -> CLR-N<b>-<CUR> under
--      the caller's key (A's claim of the key waits for any other half holding it, so two
--      calls under one key never both post); read what the clearing account received;
--      PREPARE TRANSACTION pgw_x_<id>_<a>. A's answer "replayed" means an earlier call under
--      the key committed: ours is rolled back and the log's row answered;
--   3. node B (the payee's), one round trip: BEGIN; transfer CLR-N<a>-<CUR> -> payee of that
--      amount, under the key x:<its gid>; PREPARE TRANSACTION pgw_x_<id>_<b> (a gid per
--      half, with its node's number: two nodes may be databases of one cluster);
--   4. decide: the row COMMITTED, with the request and A's result, inserted through the
--      router's connection to itself and committed at once, unless recovery decided ABORTED
--      first under that id (it does for halves older than in_doubt_after with no row);
--   5. COMMIT PREPARED on A, then (only if that worked) on B. A failure here is recovery's
--      to finish, in the same order.
-- Any error before 4: both halves are rolled back and the error raised as the node raised
-- it; nothing is logged (presumed abort: a prepared half without a row is rolled back once
-- it is older than in_doubt_after). So a transfer costs five commits: two prepares, the
-- decision, two COMMIT PREPARED. Each node's journal balances on its own (the clearing
-- account takes the other side), so verify_ledger() holds per node; the clearing accounts of
-- a pair of nodes net to zero once every transfer is decided (pg_wallet_router.verify_clearing).
--
-- Locking: the payer's account (and A's claim of the key) is locked on A from step 2 until
-- A's half is committed or rolled back, by this call or by recovery: a router that dies
-- between 2 and 5 leaves it locked until recovery runs (in_doubt_after, docs/scale-out.md
-- "Failure analysis"); a retry under the same key meanwhile waits for it on A.
-- SQL sent to the nodes through dblink cannot be parameterised: every value in it is a
-- quote_literal (format %L) or an integer.

-- A named dblink connection, opened when this session has none of that name.
CREATE FUNCTION pg_wallet_router._connect(name text, connstr text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT name = ANY (coalesce(public.dblink_get_connections(), '{}')) THEN
		PERFORM public.dblink_connect(name, connstr);
	END IF;
	RETURN name;
END $$;
COMMENT ON FUNCTION pg_wallet_router._connect(text, text) IS
	'Open the named dblink connection unless this session has it (kept for the next call).';

-- Close a connection after an error on it (it may be dead, or in an aborted transaction).
CREATE FUNCTION pg_wallet_router._drop(name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF name = ANY (coalesce(public.dblink_get_connections(), '{}')) THEN
		PERFORM public.dblink_disconnect(name);
	END IF;
END $$;
COMMENT ON FUNCTION pg_wallet_router._drop(text) IS 'Close a named dblink connection if open.';

CREATE FUNCTION pg_wallet_router._self() RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c text := (SELECT self_connstr FROM pg_wallet_router.settings);
BEGIN
	IF c IS NULL THEN
		RAISE EXCEPTION 'the router does not know how to reach itself'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Call pg_wallet_router.configure(self_connstr).';
	END IF;
	RETURN pg_wallet_router._connect('pgw_self', c);
END $$;
COMMENT ON FUNCTION pg_wallet_router._self() IS
	'The connection to the router itself, through which decisions commit on their own.';

CREATE FUNCTION pg_wallet_router._node(node integer) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_wallet_router._connect('pgw_node_' || node, pg_wallet_router.node_connstr(node))
$$;
COMMENT ON FUNCTION pg_wallet_router._node(integer) IS 'The dblink connection to a node.';

-- Step 4, and recovery's abort: the decision under a transfer's id, unless one was made
-- already (the other party's, which stands); the state of the transfer after.
CREATE FUNCTION pg_wallet_router._decide(id bigint, decision text, request jsonb, result text)
RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	s text;
BEGIN
	INSERT INTO pg_wallet_router.transfers AS x (id, state, owner_id, idempotency_key,
		from_account, to_account, amount, description, from_node, to_node, result)
	VALUES (_decide.id, decision, (request ->> 'owner_id')::bigint, request ->> 'key',
		request ->> 'from', request ->> 'to', (request ->> 'amount')::numeric,
		request ->> 'description', (request ->> 'from_node')::integer,
		(request ->> 'to_node')::integer, _decide.result::pg_wallet.journal_result)
	ON CONFLICT ON CONSTRAINT transfers_pkey DO NOTHING
	RETURNING x.state INTO s;
	IF s IS NULL THEN
		SELECT x.state INTO s FROM pg_wallet_router.transfers x WHERE x.id = _decide.id;
	END IF;
	RETURN s;
END $$;
COMMENT ON FUNCTION pg_wallet_router._decide(bigint, text, jsonb, text) IS
	'Record the decision of a cross-node transfer unless it has one; its state after.';

-- _decide through the self connection: committed on its own, whatever the caller does after.
CREATE FUNCTION pg_wallet_router._self_decide(id bigint, decision text, request jsonb,
	result pg_wallet.journal_result) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT s FROM public.dblink(pg_wallet_router._self(),
		format('SELECT pg_wallet_router._decide(%s, %L, %L, %L)', id, decision, request,
			result::text)) AS t(s text)
$$;
COMMENT ON FUNCTION pg_wallet_router._self_decide(bigint, text, jsonb, pg_wallet.journal_result) IS
	'_decide, committed on its own through the router''s connection to itself.';

-- The answer the log holds for a payer's key: its COMMITTED transfer replayed (WL003 for
-- another request), or NULL when there is none.
CREATE FUNCTION pg_wallet_router._logged(owner_id bigint, idempotency_key text,
	from_account text, to_account text, amount numeric, description text)
RETURNS pg_wallet.journal_result
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t pg_wallet_router.transfers;
	r pg_wallet.journal_result;
BEGIN
	SELECT * INTO t FROM pg_wallet_router.transfers x
	WHERE x.owner_id = _logged.owner_id AND x.idempotency_key = _logged.idempotency_key
	  AND x.state = 'COMMITTED';
	IF t.id IS NULL THEN
		RETURN NULL;
	ELSIF t.from_account IS DISTINCT FROM _logged.from_account
		OR t.to_account IS DISTINCT FROM _logged.to_account OR t.amount <> _logged.amount
		OR t.description IS DISTINCT FROM _logged.description THEN
		RAISE EXCEPTION 'idempotency key already used for a different request'
			USING ERRCODE = 'WL003';
	END IF;
	r := t.result;
	r.replayed := true;
	RETURN r;
END $$;
COMMENT ON FUNCTION pg_wallet_router._logged(bigint, text, text, text, numeric, text) IS
	'Cross-node transfer: the committed transfer under a payer''s key, replayed (WL003 if the '
	'request differs), or NULL.';

-- Raise an error caught from a node again, as the node raised it (RAISE takes no NULL option).
CREATE FUNCTION pg_wallet_router._reraise(state text, message text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	detail := nullif(detail, '');
	hint := nullif(hint, '');
	IF detail IS NOT NULL AND hint IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, DETAIL = detail, HINT = hint;
	ELSIF detail IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, DETAIL = detail;
	ELSIF hint IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, HINT = hint;
	END IF;
	RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message;
END $$;
COMMENT ON FUNCTION pg_wallet_router._reraise(text, text, text, text) IS
	'Raise a caught error again with its SQLSTATE, message, detail and hint.';

-- Make sure a node has its clearing account for another node and a currency (autocommit, on
-- its own: a concurrent creation by another call is fine). Once seen, a session remembers it
-- (setting pg_wallet_router.clearing_seen) and asks no more.
CREATE FUNCTION pg_wallet_router._ensure_clearing(conn text, account_number text, currency text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	seen text := coalesce(current_setting('pg_wallet_router.clearing_seen', true), '');
	tag text := format('|%s@%s|', account_number, conn);
BEGIN
	IF strpos(seen, tag) > 0 THEN
		RETURN;
	END IF;
	BEGIN
		PERFORM * FROM public.dblink(conn, format(
			'SELECT count(*) FROM pg_wallet.create_account('
			'(SELECT o.id FROM pg_wallet.owners o WHERE o.external_ref = %L), %L, %L, %L, 0, '
			'true, %L, %L) WHERE NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a '
			'WHERE a.account_number = %L)',
			'pg_wallet:platform', currency, 'SETTLEMENT', account_number, 'DEFERRED',
			'Clearing with another node', account_number)) AS t(n bigint);
	EXCEPTION WHEN unique_violation THEN
		NULL;	-- created by a concurrent call
	END;
	PERFORM set_config('pg_wallet_router.clearing_seen', left(seen, 4000) || tag, false);
END $$;
COMMENT ON FUNCTION pg_wallet_router._ensure_clearing(text, text, text) IS
	'Create a clearing account (platform-owned, DEFERRED, may overdraw) on a node if missing.';

-- The payer's half in one round trip: BEGIN; the transfer; what the clearing account received
-- (a statement of its own: a statement does not see the rows of the function it calls); both
-- kept in a session setting, which outlives PREPARE TRANSACTION; PREPARE; the setting read
-- back. A failure before PREPARE leaves the connection in a failed transaction (the caller
-- rolls it back); prepared is known only when the answer came.
CREATE FUNCTION pg_wallet_router._payer_half(conn text, gid text, from_account text,
	clearing text, amount numeric, idempotency_key text, description text, metadata jsonb)
RETURNS TABLE (r pg_wallet.journal_result, credited numeric)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q record;
BEGIN
	-- (dblink gathers the rows of every statement into one result: each returns the same
	-- three columns, and the last one's row is tagged)
	SELECT t.r, t.credited INTO q FROM public.dblink(conn, format(
		'BEGIN; '
		'SELECT NULL, set_config(%1$L, (SELECT t::text FROM pg_wallet.transfer(%3$L, %4$L, '
		'%5$L::numeric, %6$L, %7$L, %8$L::jsonb) t), false), NULL; '
		'SELECT NULL, NULL, set_config(%2$L, (SELECT sum(e.amount * power(10::numeric, '
		'-a.exponent))::text FROM pg_wallet.entries e JOIN pg_wallet.accounts a '
		'ON a.id = e.account_id WHERE e.journal_id = '
		'(current_setting(%1$L)::pg_wallet.journal_result).journal_id '
		'AND a.account_number = %4$L AND e.side = %9$L), false); '
		'PREPARE TRANSACTION %10$L; '
		'SELECT %11$L, current_setting(%1$L), current_setting(%2$L)',
		'pg_wallet_router.half', 'pg_wallet_router.credited', from_account, clearing, amount,
		idempotency_key, description, metadata, 'CR', gid, 'prepared'))
		AS t(tag text, r text, credited text)
	WHERE t.tag = 'prepared';
	r := q.r::pg_wallet.journal_result;
	credited := nullif(q.credited, '')::numeric;
	IF r.status IS DISTINCT FROM 'POSTED' OR credited IS NULL THEN
		-- (held for a fraud review, say): not a transfer this protocol can finish
		PERFORM public.dblink_exec(conn, format('ROLLBACK PREPARED %L', gid));
		RAISE EXCEPTION '%', coalesce(r.message, 'the transfer was not posted')
			USING ERRCODE = coalesce(r.sqlstate, 'WL017');
	END IF;
	RETURN NEXT;
END $$;
COMMENT ON FUNCTION pg_wallet_router._payer_half(text, text, text, text, numeric, text, text,
	jsonb) IS 'Cross-node transfer, step 2 in one round trip: the payer''s half, prepared.';

-- The payee's half in one round trip: BEGIN; the transfer from the clearing account (whose
-- owner, the platform, is never scored and whose refusals are never recorded: the transfer
-- posts or raises); PREPARE TRANSACTION.
CREATE FUNCTION pg_wallet_router._payee_half(conn text, gid text, clearing text,
	to_account text, amount numeric, description text, metadata jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM public.dblink_exec(conn, format(
		'BEGIN; SELECT 1 FROM pg_wallet.transfer(%L, %L, %L::numeric, %L, %L, %L::jsonb); '
		'PREPARE TRANSACTION %L',
		clearing, to_account, amount, 'x:' || gid, description, metadata, gid));
END $$;
COMMENT ON FUNCTION pg_wallet_router._payee_half(text, text, text, text, numeric, text, jsonb) IS
	'Cross-node transfer, step 3 in one round trip: the payee''s half, prepared.';

-- Undo whatever this call began or prepared on a connection (errors ignored: a connection that
-- fails is closed; a prepared half left behind is recovery's).
CREATE FUNCTION pg_wallet_router._undo(conn text, gid text, prepared boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF conn IS NULL THEN
		RETURN;
	END IF;
	IF prepared THEN
		PERFORM public.dblink_exec(conn, format('ROLLBACK PREPARED %L', gid));
	ELSE
		PERFORM public.dblink_exec(conn, 'ROLLBACK');
	END IF;
EXCEPTION WHEN OTHERS THEN
	PERFORM pg_wallet_router._drop(conn);
END $$;
COMMENT ON FUNCTION pg_wallet_router._undo(text, text, boolean) IS
	'Roll back this call''s open or prepared half on a connection.';

-- Step 5 on one connection (errors ignored: the decision is COMMITTED, recovery finishes it).
CREATE FUNCTION pg_wallet_router._finish(conn text, gid text, decision text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM public.dblink_exec(conn, format('%s PREPARED %L',
		CASE decision WHEN 'COMMITTED' THEN 'COMMIT' ELSE 'ROLLBACK' END, gid));
	RETURN true;
EXCEPTION WHEN OTHERS THEN
	PERFORM pg_wallet_router._drop(conn);
	RETURN false;
END $$;
COMMENT ON FUNCTION pg_wallet_router._finish(text, text, text) IS
	'COMMIT or ROLLBACK PREPARED one half; false when that failed (recovery will do it).';

CREATE FUNCTION pg_wallet_router.cross_transfer(from_account text, to_account text,
	amount numeric, idempotency_key text, description text, metadata jsonb, from_node integer,
	to_node integer) RETURNS pg_wallet.journal_result
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	payer pg_wallet_router.accounts := (SELECT a FROM pg_wallet_router.accounts a
	                                    WHERE a.account_number = from_account);
	payee_currency text := (SELECT a.currency FROM pg_wallet_router.accounts a
	                        WHERE a.account_number = to_account);
	clr_a text := format('CLR-N%s-%s', to_node, payer.currency);	-- on A, for B
	clr_b text := format('CLR-N%s-%s', from_node, payer.currency);	-- on B, for A
	id bigint;
	gid_a text;
	gid_b text;
	ca text;
	cb text;
	ra pg_wallet.journal_result;
	half record;
	prepared_a boolean := false;
	prepared_b boolean := false;
	decision text;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	IF amount IS NULL OR amount <= 0 OR amount = 'NaN'::numeric THEN
		RAISE EXCEPTION 'amount must be positive' USING ERRCODE = 'WL010';
	END IF;
	IF payee_currency IS DISTINCT FROM payer.currency THEN
		RAISE EXCEPTION 'currency mismatch: % is %, % is %', from_account, payer.currency,
			to_account, payee_currency USING ERRCODE = 'WL009';
	END IF;
	ra := pg_wallet_router._logged(payer.owner_id, idempotency_key, from_account, to_account,
		amount, description);
	IF ra.journal_id IS NOT NULL THEN
		RETURN ra;
	END IF;
	id := nextval(pg_get_serial_sequence('pg_wallet_router.transfers', 'id'));
	-- one gid per half, the node's number in it: prepared transactions are named per cluster,
	-- and two nodes may be databases of one cluster
	gid_a := format('pgw_x_%s_%s', id, from_node);
	gid_b := format('pgw_x_%s_%s', id, to_node);
	BEGIN
		ca := pg_wallet_router._node(from_node);
		cb := pg_wallet_router._node(to_node);
		PERFORM pg_wallet_router._ensure_clearing(ca, clr_a, payer.currency);
		PERFORM pg_wallet_router._ensure_clearing(cb, clr_b, payer.currency);
		SELECT * INTO half FROM pg_wallet_router._payer_half(ca, gid_a, from_account, clr_a,
			amount, idempotency_key, description, metadata);
		ra := half.r;
		prepared_a := true;
		IF ra.replayed THEN
			-- an earlier call under this key committed (A's half commits after the decision)
			PERFORM pg_wallet_router._undo(ca, gid_a, true);
			prepared_a := false;
			ra := pg_wallet_router._logged(payer.owner_id, idempotency_key, from_account,
				to_account, amount, description);
			IF ra.journal_id IS NULL THEN
				RAISE EXCEPTION 'idempotency key already used for a different request'
					USING ERRCODE = 'WL003';
			END IF;
			RETURN ra;
		END IF;
		PERFORM pg_wallet_router._payee_half(cb, gid_b, clr_b, to_account, half.credited,
			description, metadata);
		prepared_b := true;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		PERFORM pg_wallet_router._undo(ca, gid_a, prepared_a);
		PERFORM pg_wallet_router._undo(cb, gid_b, prepared_b);
		PERFORM pg_wallet_router._reraise(e_state, e_msg, e_detail, e_hint);
	END;
	-- step 4. If the answer is lost, the decision may or may not have committed: the halves
	-- stay prepared and recovery resolves them by the log; the caller retries with its key.
	BEGIN
		decision := pg_wallet_router._self_decide(id, 'COMMITTED', jsonb_build_object(
			'owner_id', payer.owner_id, 'key', idempotency_key, 'from', from_account,
			'to', to_account, 'amount', amount, 'description', description,
			'from_node', from_node, 'to_node', to_node), ra);
	EXCEPTION WHEN OTHERS THEN
		PERFORM pg_wallet_router._drop('pgw_self');
		RAISE EXCEPTION 'the outcome of this transfer is not known yet: retry with the same key'
			USING ERRCODE = 'WL017',
			      HINT = 'Recovery commits or rolls back both halves by the router''s log.';
	END;
	IF decision IS DISTINCT FROM 'COMMITTED' THEN
		PERFORM pg_wallet_router._finish(ca, gid_a, 'ABORTED');
		PERFORM pg_wallet_router._finish(cb, gid_b, 'ABORTED');
		RAISE EXCEPTION 'the transfer took too long and was aborted by recovery: retry'
			USING ERRCODE = 'WL017';
	END IF;
	-- the payer's half first; if it cannot be committed now, the payee's waits for recovery,
	-- which commits them in the same order: a credit is never visible before its debit
	IF pg_wallet_router._finish(ca, gid_a, decision) THEN
		PERFORM pg_wallet_router._finish(cb, gid_b, decision);
	END IF;
	RETURN ra;
END $$;
COMMENT ON FUNCTION pg_wallet_router.cross_transfer(text, text, numeric, text, text, jsonb, integer,
	integer) IS
	'A transfer between accounts on two nodes, atomic by two-phase commit (pg_wallet.transfer '
	'calls it); the payer''s journal is the answer, replayed under the same key.';
