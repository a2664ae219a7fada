-- The cluster: PL/Proxy's configuration read from pg_wallet_router.nodes, where an id or an
-- account number lives, and adding a node.

CREATE FUNCTION pg_wallet_router.slots() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT 64';
COMMENT ON FUNCTION pg_wallet_router.slots() IS
	'How many nodes a cluster can ever have: every id a node draws is congruent to its node '
	'number modulo this.';

CREATE FUNCTION plproxy.get_cluster_version(cluster_name text) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF cluster_name <> 'pg_wallet' THEN
		RAISE EXCEPTION 'unknown cluster %', cluster_name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN (SELECT config_version FROM pg_wallet_router.settings);
END $$;
COMMENT ON FUNCTION plproxy.get_cluster_version(text) IS
	'PL/Proxy: the version of cluster pg_wallet''s configuration (bumped by add_node).';

CREATE FUNCTION plproxy.get_cluster_partitions(cluster_name text) RETURNS SETOF text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF cluster_name <> 'pg_wallet' THEN
		RAISE EXCEPTION 'unknown cluster %', cluster_name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN QUERY SELECT n.connstr FROM pg_wallet_router.nodes n ORDER BY n.node;
END $$;
COMMENT ON FUNCTION plproxy.get_cluster_partitions(text) IS
	'PL/Proxy: the connection strings of the nodes, in node order (partition k is node k).';

CREATE FUNCTION plproxy.get_cluster_config(cluster_name text, OUT key text, OUT val text)
RETURNS SETOF record LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	-- any number of nodes (not a power of two): partition = hash % count, and the router
	-- passes the node number itself as the hash
	SELECT 'modular_mapping', '1' WHERE cluster_name = 'pg_wallet'
$$;
COMMENT ON FUNCTION plproxy.get_cluster_config(text) IS
	'PL/Proxy: modular mapping (RUN ON node runs on node number node).';

CREATE FUNCTION pg_wallet_router.node_of_id(id bigint) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer := (id % pg_wallet_router.slots())::integer;
BEGIN
	IF id IS NULL OR id <= 0 OR NOT EXISTS (SELECT 1 FROM pg_wallet_router.nodes WHERE node = n) THEN
		RETURN NULL;
	END IF;
	RETURN n;
END $$;
COMMENT ON FUNCTION pg_wallet_router.node_of_id(bigint) IS
	'The node that drew an id (owner, account, hold, journal), or NULL when no such node exists.';

CREATE FUNCTION pg_wallet_router.node_of_owner(owner_id bigint) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer := pg_wallet_router.node_of_id(owner_id);
BEGIN
	IF n IS NULL THEN
		RAISE EXCEPTION 'owner % does not exist', owner_id
			USING ERRCODE = 'WL018', HINT = 'Owner ids name their node; no node has this one.';
	END IF;
	RETURN n;
END $$;
COMMENT ON FUNCTION pg_wallet_router.node_of_owner(bigint) IS
	'The node of an owner (WL018 when no node can hold this id).';

-- Where an account lives, by what every node has under that number (RUN ON ALL), for the
-- accounts the router did not create (the bridge's API opens wallets on a node).
CREATE FUNCTION pg_wallet_router.on_account_owner(account_number text, OUT owner_id bigint,
	OUT currency text, OUT per_node boolean) RETURNS SETOF record
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON ALL;
	SELECT a.owner_id, a.currency, a.is_system OR a.account_number ~ '^CLR-N[0-9]+-' AS per_node
	FROM pg_wallet.accounts a WHERE a.account_number = account_number;
$$;
COMMENT ON FUNCTION pg_wallet_router.on_account_owner(text) IS
	'The owner and currency of an account number on every node that has it; per_node: a '
	'platform account that every node has under that number.';

CREATE FUNCTION pg_wallet_router.node_of_account(account_number text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer := (SELECT a.node FROM pg_wallet_router.accounts a
	              WHERE a.account_number = node_of_account.account_number);
	found_on integer;
	o record;
BEGIN
	IF n IS NOT NULL OR account_number IS NULL OR length(account_number) > 64 THEN
		RETURN n;
	END IF;
	SELECT count(*) AS c, min(x.owner_id) AS owner_id, min(x.currency) AS currency,
		bool_or(x.per_node) AS per_node
	INTO o FROM pg_wallet_router.on_account_owner(account_number) x;
	found_on := pg_wallet_router.node_of_id(o.owner_id);
	IF o.c <> 1 OR o.per_node OR found_on IS NULL THEN
		RETURN NULL;	-- unknown, or a per-node account: taken on the other party's node
	END IF;
	INSERT INTO pg_wallet_router.accounts (account_number, node, owner_id, currency)
	VALUES (account_number, found_on, o.owner_id, o.currency) ON CONFLICT DO NOTHING;
	RETURN found_on;
END $$;
COMMENT ON FUNCTION pg_wallet_router.node_of_account(text) IS
	'The node of an account: from the directory, else from the nodes (and then kept in the '
	'directory); NULL for a per-node account (SYS-..., clearing) or an unknown number.';

CREATE FUNCTION pg_wallet_router.node_connstr(node integer) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c text := (SELECT n.connstr FROM pg_wallet_router.nodes n WHERE n.node = $1);
BEGIN
	IF c IS NULL THEN
		RAISE EXCEPTION 'node % does not exist', node USING ERRCODE = 'undefined_object';
	END IF;
	RETURN c;
END $$;
COMMENT ON FUNCTION pg_wallet_router.node_connstr(integer) IS 'A node''s connection string.';

-- What add_node runs on the node (through dblink): every sequence of schema pg_wallet draws
-- the values congruent to the node number modulo slots(), above what it has drawn already.
CREATE FUNCTION pg_wallet_router._node_sequences_sql(node integer) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
	SELECT format($$
DO $do$
DECLARE
	s record;
	last bigint;
	next bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_wallet') THEN
		RAISE EXCEPTION 'pg_wallet is not installed in this database'
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	FOR s IN SELECT sq.schemaname, sq.sequencename, sq.increment_by
	         FROM pg_sequences sq WHERE sq.schemaname = 'pg_wallet' LOOP
		-- the relation itself: pg_sequences shows no last_value before the first nextval
		EXECUTE format('SELECT last_value FROM %%I.%%I', s.schemaname, s.sequencename) INTO last;
		IF s.increment_by = %2$s AND last %% %2$s = %1$s THEN
			CONTINUE;	-- already this node's
		END IF;
		next := (last / %2$s + 1) * %2$s + %1$s;
		EXECUTE format('ALTER SEQUENCE %%I.%%I INCREMENT BY %2$s MINVALUE 1 RESTART WITH %%s',
		               s.schemaname, s.sequencename, next);
	END LOOP;
END $do$
$$, node, pg_wallet_router.slots())
$f$;
COMMENT ON FUNCTION pg_wallet_router._node_sequences_sql(integer) IS
	'The statement that makes a node''s sequences draw its own ids (run by add_node).';

CREATE FUNCTION pg_wallet_router.add_node(node integer, connstr text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF node IS NULL OR node < 0 OR node >= pg_wallet_router.slots() THEN
		RAISE EXCEPTION 'node must be from 0 to %', pg_wallet_router.slots() - 1
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF node <> (SELECT count(*) FROM pg_wallet_router.nodes) THEN
		RAISE EXCEPTION 'nodes are numbered densely: the next one is %',
			(SELECT count(*) FROM pg_wallet_router.nodes)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Owners are placed by hash over the nodes that exist when they are created.';
	END IF;
	IF connstr IS NULL OR length(connstr) NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'connstr must be 1 to 1000 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM public.dblink_exec(connstr, pg_wallet_router._node_sequences_sql(node));
	INSERT INTO pg_wallet_router.nodes (node, connstr) VALUES (node, connstr);
	UPDATE pg_wallet_router.settings SET config_version = config_version + 1;
	IF node = 0 THEN
		PERFORM pg_wallet_router.sync_api();	-- the API as node 0 has it
	END IF;
	RETURN node;
END $$;
COMMENT ON FUNCTION pg_wallet_router.add_node(integer, text) IS
	'Add data node number node (the next one: 0, 1, 2, ...) reached at connstr: its pg_wallet '
	'sequences are set to draw ids congruent to node modulo slots(), then it takes new owners; '
	'node 0 also gives the router its API functions (sync_api).';

CREATE FUNCTION pg_wallet_router.configure(self_connstr text, in_doubt_after interval DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF self_connstr IS NULL OR length(self_connstr) NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'self_connstr must be 1 to 1000 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE pg_wallet_router.settings s
	SET self_connstr = configure.self_connstr,
	    in_doubt_after = coalesce(configure.in_doubt_after, s.in_doubt_after);
END $$;
COMMENT ON FUNCTION pg_wallet_router.configure(text, interval) IS
	'How the router connects to itself (its decision log is written through that connection) '
	'and after how long an undecided cross-node transfer is aborted by recovery.';
