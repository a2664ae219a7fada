-- Recovery of cross-node transfers after a crash (of the router, of a node, of the caller),
-- run by the router's recovery worker every pg_wallet.router_recovery_interval_s seconds and
-- by anyone (it is idempotent). For every prepared transaction pgw_x_<id>_<attempt> on every
-- reachable node: the decision COMMITTED of that attempt commits it; ABORTED, a later attempt,
-- or no row roll it back (presumed abort: a row is always committed before its halves are
-- prepared); a row still PREPARING longer than in_doubt_after is first decided ABORTED,
-- through the self connection (committed before any half is rolled back, so a late
-- coordinator can no longer decide COMMITTED), then rolled back. Rows PREPARING longer than
-- that with no half prepared anywhere are decided ABORTED too.

CREATE FUNCTION pg_wallet_router.recover(OUT node integer, OUT gid text, OUT action text)
RETURNS SETOF record
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n record;
	p record;
	t pg_wallet_router.transfers;
	decision text;
	parts text[];
	conn text;
	stale interval := (SELECT in_doubt_after FROM pg_wallet_router.settings);
	unreachable integer := 0;
BEGIN
	FOR n IN SELECT x.node FROM pg_wallet_router.nodes x ORDER BY x.node LOOP
		BEGIN
			conn := pg_wallet_router._node(n.node);
			FOR p IN SELECT * FROM public.dblink(conn,
					'SELECT gid FROM pg_prepared_xacts WHERE gid ~ ''^pgw_x_[0-9]+_[0-9]+$'' '
					'AND database = current_database()') AS q(gid text) LOOP
				parts := regexp_match(p.gid, '^pgw_x_([0-9]+)_([0-9]+)$');
				SELECT * INTO t FROM pg_wallet_router.transfers x WHERE x.id = parts[1]::bigint;
				IF t.id IS NULL OR t.attempt <> parts[2]::integer THEN
					decision := 'ABORTED';
				ELSIF t.state = 'PREPARING' THEN
					IF t.updated_at > now() - stale THEN
						CONTINUE;	-- its coordinator may still be at work
					END IF;
					decision := pg_wallet_router._self_decide(t.id, t.attempt, 'ABORTED', NULL);
				ELSE
					decision := t.state;
				END IF;
				IF decision NOT IN ('COMMITTED', 'ABORTED', 'SUPERSEDED') THEN
					CONTINUE;
				END IF;
				IF pg_wallet_router._finish(conn, p.gid, decision) THEN
					node := n.node;
					gid := p.gid;
					action := CASE decision WHEN 'COMMITTED' THEN 'COMMIT PREPARED'
					                        ELSE 'ROLLBACK PREPARED' END;
					RETURN NEXT;
				END IF;
			END LOOP;
		EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection OR connection_exception THEN
			PERFORM pg_wallet_router._drop('pgw_node_' || n.node);
			unreachable := unreachable + 1;
		END;
	END LOOP;
	IF unreachable > 0 THEN
		RETURN;	-- a half may be prepared on a node we could not see
	END IF;
	FOR t IN SELECT * FROM pg_wallet_router.transfers x
	         WHERE x.state = 'PREPARING' AND x.updated_at <= now() - stale LOOP
		decision := pg_wallet_router._self_decide(t.id, t.attempt, 'ABORTED', NULL);
		node := NULL;
		gid := format('pgw_x_%s_%s', t.id, t.attempt);
		action := 'ABORTED (nothing prepared)';
		RETURN NEXT;
	END LOOP;
END $$;
COMMENT ON FUNCTION pg_wallet_router.recover() IS
	'Resolve the prepared halves of cross-node transfers on every node by the decision log '
	'(presumed abort after in_doubt_after); one row per action taken.';

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
			'SELECT count(*) FROM pg_prepared_xacts WHERE gid ~ ''^pgw_x_'' '
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
		format('%s prepared half(s) of cross-node transfers not yet resolved', p.c)
	FROM prepared p WHERE p.c > 0
	UNION ALL
	SELECT 'router_undecided', format('transfer %s', t.id),
		format('%s since %s (attempt %s)', t.state, t.updated_at, t.attempt)
	FROM pg_wallet_router.transfers t, pg_wallet_router.settings s
	WHERE t.state = 'PREPARING' AND t.updated_at <= now() - s.in_doubt_after
$$;
COMMENT ON FUNCTION pg_wallet_router.verify_clearing() IS
	'The router''s ledger check: the clearing accounts of each pair of nodes net to zero per '
	'currency, no half of a cross-node transfer is left prepared, no transfer left undecided.';
