-- Recovery of cross-node transfers after a crash (of the router, of a node, of the caller),
-- run by the router's recovery worker every pg_wallet.router_recovery_interval_s seconds and
-- by anyone (it is idempotent). For every prepared transaction pgw_x_<id>_<node> on every
-- reachable node (a half; its node's number is in its name, as two nodes may be databases
-- of one cluster, where prepared transactions are named): the decision COMMITTED under that
-- id commits it, ABORTED rolls it back; with no decision, a half older than in_doubt_after
-- (by its node's clock) is presumed aborted: the decision ABORTED is committed first,
-- through the self connection (so its coordinator, if still at work, can no longer decide
-- COMMITTED), then the half is rolled back; a younger one is left to its coordinator. The
-- payee's half of a committed transfer is committed only once the payer's half is (this pass
-- or an earlier one): a credit is never visible before its debit. A configuration change's
-- parts (pgw_c_<id>_<node>, sql/router/config.sql) are resolved the same way by
-- pg_wallet_router.config_changes, in no particular order.

-- The decision for one prepared half of a transfer (pgw_x_<id>_<node>) or one node's part of
-- a configuration change (pgw_c_<id>_<node>, sql/router/config.sql), prepared age ago on its
-- node: COMMITTED or ABORTED, or NULL (not yet: its coordinator may still be at work). One with
-- no decision older than in_doubt_after is decided ABORTED first (presumed abort: committed
-- before anything is rolled back, and from then on its coordinator can no longer decide
-- COMMITTED).
CREATE FUNCTION pg_wallet_router._decision_for(gid text, age interval) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	parts text[] := regexp_match(gid, '^pgw_([xc])_([0-9]+)_[0-9]+$');
	decided_id bigint := parts[2]::bigint;
	s text;
BEGIN
	IF parts[1] = 'x' THEN
		SELECT x.state INTO s FROM pg_wallet_router.transfers x WHERE x.id = decided_id;
	ELSE
		SELECT x.state INTO s FROM pg_wallet_router.config_changes x WHERE x.id = decided_id;
	END IF;
	IF s IS NOT NULL THEN
		RETURN s;
	ELSIF age < (SELECT in_doubt_after FROM pg_wallet_router.settings) THEN
		RETURN NULL;
	ELSIF parts[1] = 'x' THEN
		RETURN pg_wallet_router._self_decide(decided_id, 'ABORTED', NULL, NULL);
	END IF;
	RETURN pg_wallet_router._cfg_self_decide(decided_id, 'ABORTED', NULL, NULL, NULL);
END $$;
COMMENT ON FUNCTION pg_wallet_router._decision_for(text, interval) IS
	'Recovery: what to do with a prepared half or part (deciding ABORTED for one undecided too '
	'long); NULL: leave it for now.';

CREATE FUNCTION pg_wallet_router.recover(OUT node integer, OUT gid text, OUT action text)
RETURNS SETOF record
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n record;
	h record;
	t pg_wallet_router.transfers;
	decision text;
	halves_node integer[] := '{}';
	halves_gid text[] := '{}';
	halves_age interval[] := '{}';
	halves_done boolean[] := '{}';
	reached integer[] := '{}';
	pass integer;
BEGIN
	FOR n IN SELECT x.node FROM pg_wallet_router.nodes x ORDER BY x.node LOOP
		BEGIN
			-- (each half's age by its own node's clock)
			FOR h IN SELECT q.gid, q.age FROM public.dblink(pg_wallet_router._node(n.node),
					'SELECT gid, now() - prepared FROM pg_prepared_xacts '
					'WHERE gid ~ ''^pgw_[xc]_[0-9]+_[0-9]+$'' '
					'AND database = current_database() ORDER BY gid') AS q(gid text, age interval) LOOP
				halves_node := halves_node || n.node;
				halves_gid := halves_gid || h.gid;
				halves_age := halves_age || h.age;
				halves_done := halves_done || false;
			END LOOP;
			reached := reached || n.node;
		EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection OR connection_exception THEN
			PERFORM pg_wallet_router._drop('pgw_node_' || n.node);
		END;
	END LOOP;
	-- pass 1: every half but the payee's half of a commit; pass 2: those, payer's half done
	FOR pass IN 1 .. 2 LOOP
		FOR i IN 1 .. coalesce(array_length(halves_gid, 1), 0) LOOP
			CONTINUE WHEN halves_done[i];
			decision := pg_wallet_router._decision_for(halves_gid[i], halves_age[i]);
			CONTINUE WHEN decision IS NULL;
			t := NULL;
			IF decision = 'COMMITTED' THEN	-- a transfer's: its nodes (the payer's first)
				SELECT * INTO t FROM pg_wallet_router.transfers x
				WHERE x.id = (regexp_match(halves_gid[i], '^pgw_x_([0-9]+)_[0-9]+$'))[1]::bigint;
			END IF;
			IF t.id IS NOT NULL AND halves_node[i] = t.to_node THEN
				-- the payer's half first: not while it is prepared, or on a node not reached
				CONTINUE WHEN pass = 1 OR NOT t.from_node = ANY (reached) OR EXISTS (
					SELECT 1 FROM unnest(halves_gid, halves_node, halves_done) AS o(g, nd, done)
					WHERE o.g = format('pgw_x_%s_%s', t.id, t.from_node) AND o.nd = t.from_node
					  AND NOT o.done);
			END IF;
			IF pg_wallet_router._finish(pg_wallet_router._node(halves_node[i]), halves_gid[i],
										decision) THEN
				halves_done[i] := true;
				node := halves_node[i];
				gid := halves_gid[i];
				action := CASE decision WHEN 'COMMITTED' THEN 'COMMIT PREPARED'
				                        ELSE 'ROLLBACK PREPARED' END;
				RETURN NEXT;
			END IF;
		END LOOP;
	END LOOP;
END $$;
COMMENT ON FUNCTION pg_wallet_router.recover() IS
	'Resolve the prepared halves of cross-node transfers and the prepared parts of '
	'configuration changes on every node by the decision logs (presumed abort after '
	'in_doubt_after; a payee''s half after its payer''s); one row per action taken.';

CREATE FUNCTION pg_wallet_router.verify_clearing() RETURNS SETOF pg_wallet.ledger_violation
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	WITH clearing AS (
		SELECT x.node, (regexp_match(q.account_number, '^CLR-N([0-9]+)-'))[1]::integer AS other,
			q.currency, q.balance
		FROM pg_wallet_router.nodes x
		CROSS JOIN LATERAL public.dblink(pg_wallet_router._node(x.node),
			'SELECT b.account_number, b.currency, b.balance FROM pg_wallet.accounts a '
			'CROSS JOIN LATERAL pg_wallet.get_balance(a.account_number) b '
			'WHERE a.account_number ~ ''^CLR-N[0-9]+-''')
			AS q(account_number text, currency text, balance numeric)
	), prepared AS (
		SELECT x.node, q.c
		FROM pg_wallet_router.nodes x
		CROSS JOIN LATERAL public.dblink(pg_wallet_router._node(x.node),
			'SELECT count(*) FROM pg_prepared_xacts WHERE gid ~ ''^pgw_[xc]_'' '
			'AND database = current_database()') AS q(c bigint)
	)
	SELECT 'router_clearing_net'::text, format('nodes %s and %s, %s', a.node, a.other, a.currency),
		format('CLR-N%s on node %s is %s, CLR-N%s on node %s is %s: they must net to zero',
			a.other, a.node, a.balance, a.node, a.other, coalesce(b.balance, 0))
	FROM clearing a
	LEFT JOIN clearing b ON b.node = a.other AND b.other = a.node AND b.currency = a.currency
	WHERE a.balance + coalesce(b.balance, 0) <> 0 AND (b.node IS NULL OR a.node < a.other)
	UNION ALL
	SELECT 'router_prepared', format('node %s', p.node),
		format('%s prepared half(s) of cross-node transfers or configuration changes not yet '
			'resolved', p.c)
	FROM prepared p WHERE p.c > 0

$$;
COMMENT ON FUNCTION pg_wallet_router.verify_clearing() IS
	'The router''s ledger check: the clearing accounts of each pair of nodes net to zero per '
	'currency, no half of a cross-node transfer (or part of a configuration change) is left '
	'prepared (so none is left undecided).';

CREATE FUNCTION pg_wallet_router.platform_report(OUT account text, OUT currency text,
	OUT by_node jsonb, OUT total numeric) RETURNS SETOF record
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	-- the clearing accounts of all pairs together: what crossed nodes, which must net to zero
	SELECT CASE WHEN p.account_number ~ '^CLR-N[0-9]+-' THEN 'CLR-*-' || p.currency
	            ELSE p.account_number END,
		p.currency,
		jsonb_object_agg(p.node || ':' || p.account_number, p.balance ORDER BY p.node),
		sum(p.balance)
	FROM pg_wallet_router.on_platform_accounts() p
	GROUP BY 1, 2
	ORDER BY 2, 1
$$;
COMMENT ON FUNCTION pg_wallet_router.platform_report() IS
	'The platform''s accounts consolidated over the nodes: fee income, FX positions, suspense '
	'and settlement per currency, each node''s balance and the total; the clearing accounts of '
	'a currency as one line whose total must be zero.';
