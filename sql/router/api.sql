-- The pg_wallet API on the router: the names, signatures and answers of a node's, routed.
-- An owner goes to a node chosen by hash (of its external_ref when it has one, so a retry
-- lands where the first try did); an account to its owner's node; a call naming an account
-- to the node of that account; a call naming a hold to the node its id names; a transfer
-- between two nodes is pg_wallet_router.cross_transfer (two-phase commit). The functions that
-- only route (credit, debit, reads, holds by id) are written by sync_api() from
-- pg_wallet_router.routes; those here have more to do.

-- The node of the account a call names: WL005 when the number is unknown.
CREATE FUNCTION pg_wallet_router.node_of_known_account(account_number text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer := pg_wallet_router.node_of_account(account_number);
BEGIN
	IF n IS NULL THEN
		RAISE EXCEPTION 'account % does not exist', account_number USING ERRCODE = 'WL005';
	END IF;
	RETURN n;
END $$;
COMMENT ON FUNCTION pg_wallet_router.node_of_known_account(text) IS
	'The node of an account created through the router (WL005 for any other number).';

CREATE FUNCTION pg_wallet.create_owner(kind text, name text, external_ref text DEFAULT NULL,
	metadata jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	nodes integer := (SELECT count(*) FROM pg_wallet_router.nodes);
	node integer;
BEGIN
	IF nodes = 0 THEN
		RAISE EXCEPTION 'the router has no node' USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Add one with pg_wallet_router.add_node().';
	END IF;
	node := CASE WHEN external_ref IS NOT NULL THEN abs(hashtext(external_ref)::bigint) % nodes
	             ELSE floor(random() * nodes)::integer END;
	RETURN pg_wallet_router.on_create_owner(node, kind, name, external_ref, metadata);
END $$;
COMMENT ON FUNCTION pg_wallet.create_owner(text, text, text, jsonb) IS
	'Router: create an owner on the node its external_ref hashes to (any node without one).';

CREATE FUNCTION pg_wallet.create_account(owner_id bigint, currency text, purpose text DEFAULT 'WALLET',
	account_number text DEFAULT NULL, minimum_balance numeric DEFAULT 0,
	can_overdraw boolean DEFAULT false, credit_mode text DEFAULT 'DIRECT', name text DEFAULT NULL,
	metadata jsonb DEFAULT '{}') RETURNS pg_wallet.account_info
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	node integer := pg_wallet_router.node_of_owner(owner_id);
	r pg_wallet.account_info;
BEGIN
	IF account_number IS NOT NULL THEN
		-- claim the number cluster-wide first: a second router call with it waits, then fails
		BEGIN
			INSERT INTO pg_wallet_router.accounts (account_number, node, owner_id, currency)
			VALUES (account_number, node, owner_id, coalesce(currency, ''));
		EXCEPTION WHEN unique_violation THEN
			RAISE EXCEPTION 'account number % already exists', account_number
				USING ERRCODE = 'unique_violation';
		END;
	END IF;
	r := pg_wallet_router.on_create_account(node, owner_id, currency, purpose, account_number,
		minimum_balance, can_overdraw, credit_mode, name, metadata);
	INSERT INTO pg_wallet_router.accounts AS a (account_number, node, owner_id, currency)
	VALUES (r.account_number, node, r.owner_id, r.currency)
	ON CONFLICT ON CONSTRAINT accounts_pkey DO UPDATE SET currency = EXCLUDED.currency;
	RETURN r;
END $$;
COMMENT ON FUNCTION pg_wallet.create_account(bigint, text, text, text, numeric, boolean, text,
	text, jsonb) IS
	'Router: create the account on its owner''s node and enter its number in the directory.';

CREATE FUNCTION pg_wallet.transfer(from_account text, to_account text, amount numeric,
	idempotency_key text DEFAULT NULL, description text DEFAULT NULL, metadata jsonb DEFAULT NULL,
	client_service_code text DEFAULT NULL, agent_account text DEFAULT NULL,
	record_refusal boolean DEFAULT false) RETURNS pg_wallet.journal_result
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	nf integer := pg_wallet_router.node_of_account(from_account);
	nt integer := pg_wallet_router.node_of_account(to_account);
BEGIN
	IF nf IS NULL AND nt IS NULL THEN
		RAISE EXCEPTION 'account % does not exist', coalesce(from_account, to_account)
			USING ERRCODE = 'WL005';
	END IF;
	nf := coalesce(nf, nt);
	nt := coalesce(nt, nf);
	IF nf = nt THEN
		RETURN pg_wallet_router.on_transfer(nf, from_account, to_account, amount, idempotency_key,
			description, metadata, client_service_code, agent_account, record_refusal);
	END IF;
	IF client_service_code IS NOT NULL OR agent_account IS NOT NULL OR record_refusal THEN
		RAISE EXCEPTION 'a transfer between two nodes takes no client service, agent or recorded refusal'
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'docs/scale-out.md, "What a cross-node transfer does not do (yet)".';
	END IF;
	RETURN pg_wallet_router.cross_transfer(from_account, to_account, amount, idempotency_key,
		description, metadata, nf, nt);
END $$;
COMMENT ON FUNCTION pg_wallet.transfer(text, text, numeric, text, text, jsonb, text, text, boolean) IS
	'Router: a transfer on the node of both accounts, or between two nodes by two-phase commit '
	'(pg_wallet_router.cross_transfer).';

CREATE FUNCTION pg_wallet.place_hold(account_number text, amount numeric, counterpart text,
	idempotency_key text DEFAULT NULL, expires_at timestamptz DEFAULT NULL,
	description text DEFAULT NULL, fee_type text DEFAULT NULL, agent_account text DEFAULT NULL)
RETURNS pg_wallet.hold_info
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	node integer := pg_wallet_router.node_of_known_account(account_number);
	other integer := pg_wallet_router.node_of_account(counterpart);
BEGIN
	IF other IS NOT NULL AND other <> node THEN
		RAISE EXCEPTION 'a hold''s counterpart must be on the account''s node'
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'docs/scale-out.md, "What a cross-node transfer does not do (yet)".';
	END IF;
	RETURN pg_wallet_router.on_place_hold(node, account_number, amount, counterpart,
		idempotency_key, expires_at, description, fee_type, agent_account);
END $$;
COMMENT ON FUNCTION pg_wallet.place_hold(text, numeric, text, text, timestamptz, text, text, text) IS
	'Router: a hold on the account''s node (its counterpart on the same node).';

CREATE FUNCTION pg_wallet_router.node_of_hold(hold_id bigint) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer := pg_wallet_router.node_of_id(hold_id);
BEGIN
	IF n IS NULL THEN
		RAISE EXCEPTION 'hold % does not exist', hold_id USING ERRCODE = 'WL016';
	END IF;
	RETURN n;
END $$;
COMMENT ON FUNCTION pg_wallet_router.node_of_hold(bigint) IS
	'The node a hold id names (WL016 when none can hold it).';

CREATE FUNCTION pg_wallet.verify_ledger() RETURNS SETOF pg_wallet.ledger_violation
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM pg_wallet_router.on_verify_ledger()
	UNION ALL
	SELECT * FROM pg_wallet_router.verify_clearing()
$$;
COMMENT ON FUNCTION pg_wallet.verify_ledger() IS
	'Router: every node''s verify_ledger(), then the router''s own check that the clearing '
	'accounts of each pair of nodes net to zero and that no cross-node transfer is undecided '
	'or left prepared (pg_wallet_router.verify_clearing).';

CREATE FUNCTION pg_wallet.post_transfers(transfers jsonb, atomic boolean DEFAULT true)
RETURNS SETOF pg_wallet.batch_item_result
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	nodes integer[];
BEGIN
	IF transfers IS NULL OR jsonb_typeof(transfers) <> 'array' THEN
		RAISE EXCEPTION 'transfers must be a JSON array' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT array_agg(DISTINCT x.node) INTO nodes
	FROM (SELECT pg_wallet_router.node_of_account(n.account_number) AS node
	      FROM jsonb_array_elements(transfers) t
	      CROSS JOIN LATERAL (VALUES (t ->> 'from'), (t ->> 'to')) n(account_number)
	      WHERE jsonb_typeof(t) = 'object') x
	WHERE x.node IS NOT NULL;
	IF nodes IS NULL THEN
		RAISE EXCEPTION 'no account of the batch exists' USING ERRCODE = 'WL005';
	ELSIF cardinality(nodes) > 1 THEN
		RAISE EXCEPTION 'a batch must keep to the accounts of one node (these are on nodes %)',
			array_to_string(nodes, ', ')
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'Post one batch per node, or cross-node transfers one by one.';
	END IF;
	RETURN QUERY SELECT * FROM pg_wallet_router.on_post_transfers(nodes[1], transfers, atomic);
END $$;
COMMENT ON FUNCTION pg_wallet.post_transfers(jsonb, boolean) IS
	'Router: a batch on the node of all its accounts (a batch across nodes is refused, 0A000).';
