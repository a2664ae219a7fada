-- The bridge's API on the router: every pg_wallet.api_<name>(token text, args jsonb) of the
-- nodes gets a router function of the same name and signature (sync_api() writes them from
-- node 0's catalogue, so a new API function needs no router release), which runs it on the
-- node api_node() names and raises a node's error as the node raised it.
--
-- Routing an API call: with one node, node 0. Otherwise by its token when it is a JWT: the
-- principal its sub claim names (the node verifies the token; the router only reads the claim
-- to find the node), looked up once per principal (RUN ON ALL) and kept in
-- pg_wallet_router.principals; without a token (sign-in, registration) by the login identifier
-- of the body (email, username or phone, lower-cased): registration puts a principal on the
-- node its email hashes to, so its sign-in finds it there.

CREATE TABLE pg_wallet_router.principals (
	id uuid PRIMARY KEY,
	node integer NOT NULL REFERENCES pg_wallet_router.nodes (node)
);
COMMENT ON TABLE pg_wallet_router.principals IS
	'Which node holds a principal, learnt from the nodes the first time a token names it.';

CREATE FUNCTION pg_wallet_router.on_principal_owner(principal uuid) RETURNS SETOF bigint
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON ALL;
	SELECT p.owner_id FROM pg_wallet.principals p WHERE p.id = principal;
$$;
COMMENT ON FUNCTION pg_wallet_router.on_principal_owner(uuid) IS
	'The owner of a principal, from whichever node holds it (its id names the node).';

-- The owner of the principal an opaque credential belongs to (a refresh token, an API key),
-- from whichever node holds it: the hashes the nodes keep, never the credential itself.
CREATE FUNCTION pg_wallet_router.on_credential_owner(refresh_token text, api_key text)
RETURNS SETOF bigint
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON ALL;
	SELECT p.owner_id FROM pg_wallet.principals p
	WHERE p.id IN (SELECT r.principal_id FROM pg_wallet.refresh_tokens r
	               WHERE r.token_hash = pg_wallet._secret_hash(refresh_token)
	               UNION ALL
	               SELECT a.principal_id FROM pg_wallet.api_credentials a
	               WHERE a.key_hash = pg_wallet._secret_hash(api_key));
$$;
COMMENT ON FUNCTION pg_wallet_router.on_credential_owner(text, text) IS
	'The owner of the principal a refresh token or an API key belongs to, from whichever node '
	'holds its hash (its id names the node).';

-- The node that holds a partner's request, from whichever node holds it: its outbox message
-- (subject_ref: a deposit's, payout's or card charge's reference, a B2C payout's
-- OriginatorConversationID) or, for a Daraja STK push, the deposit with the partner's own
-- CheckoutRequestID. Ids name their node.
CREATE FUNCTION pg_wallet_router.on_partner_request(p_partner text, p_ref text, p_request text)
RETURNS SETOF bigint
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON ALL;
	SELECT o.id FROM pg_wallet.outbox o WHERE o.partner_id = p_partner AND o.subject_ref = p_ref
	UNION ALL
	SELECT d.id FROM pg_wallet.deposits d
	WHERE d.partner_id = p_partner AND d.partner_request_id = p_request;
$$;
COMMENT ON FUNCTION pg_wallet_router.on_partner_request(text, text, text) IS
	'The ids of a partner''s request on whichever node holds it (its outbox message by '
	'reference, or a Daraja deposit by CheckoutRequestID): the id names the node.';

-- The node of a partner's callback (api_partner_callback, api_mpesa_callback): the one that
-- holds the request its body answers (a generic callback's "reference", a B2C result's
-- OriginatorConversationID, an STK callback's CheckoutRequestID); node 0 when none does (or
-- the body is not JSON), which refuses it as one node would (WL063 unknown reference, WL066).
-- The body is parsed only to route: the node verifies the signature over its bytes.
CREATE FUNCTION pg_wallet_router.partner_callback_node(args jsonb) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	partner text := args #>> '{path,id}';
	body text := CASE WHEN jsonb_typeof(args -> 'body') = 'string' THEN args ->> 'body' END;
	j jsonb;
	ref text;
	request text;
	id bigint;
BEGIN
	IF partner IS NULL OR length(partner) > 64 OR octet_length(body) > 65536 THEN
		RETURN 0;
	END IF;
	BEGIN
		j := body::jsonb;
	EXCEPTION WHEN OTHERS THEN
		RETURN 0;	-- not JSON: node 0 refuses it (WL066) as any node would
	END;
	IF jsonb_typeof(j) <> 'object' THEN
		RETURN 0;
	END IF;
	ref := coalesce(j ->> 'reference', j #>> '{Result,OriginatorConversationID}');
	request := j #>> '{Body,stkCallback,CheckoutRequestID}';
	IF length(ref) > 128 THEN
		ref := NULL;
	END IF;
	IF length(request) > 128 THEN
		request := NULL;
	END IF;
	IF ref IS NULL AND request IS NULL THEN
		RETURN 0;
	END IF;
	SELECT min(o) INTO id FROM pg_wallet_router.on_partner_request(partner, ref, request) o;
	RETURN coalesce(pg_wallet_router.node_of_id(id), 0);
END $$;
COMMENT ON FUNCTION pg_wallet_router.partner_callback_node(jsonb) IS
	'The node that holds the partner request a callback answers (by its reference, B2C '
	'OriginatorConversationID or STK CheckoutRequestID); 0 when none does.';

-- The sub claim of a JWT (not verified: the node does that), or NULL.
CREATE FUNCTION pg_wallet_router.jwt_subject(token text) RETURNS uuid
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	part text := split_part(token, '.', 2);
	sub text;
BEGIN
	IF token IS NULL OR length(token) > 8192
	   OR token !~ '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' THEN
		RETURN NULL;
	END IF;
	part := translate(part, '-_', '+/');
	part := rpad(part, ((length(part) + 3) / 4) * 4, '=');
	sub := convert_from(decode(part, 'base64'), 'UTF8')::jsonb ->> 'sub';
	RETURN CASE WHEN sub ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN sub::uuid END;
EXCEPTION WHEN OTHERS THEN
	RETURN NULL;	-- not a JWT after all: routed like a call without one
END $$;
COMMENT ON FUNCTION pg_wallet_router.jwt_subject(text) IS
	'The principal a JWT names in its sub claim, unverified (for routing only); NULL otherwise.';

CREATE FUNCTION pg_wallet_router.api_node(name text, token text, args jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	nodes integer := (SELECT count(*) FROM pg_wallet_router.nodes);
	sub uuid;
	n integer;
	owner bigint;
	ident text;
	refresh text;
	api_key text;
BEGIN
	IF nodes = 1 THEN
		RETURN 0;
	END IF;
	-- the token of the call, else the one a socket.io client's auth object carries
	-- ({"token": "Bearer <jwt>"}: body itself at CONNECT, body.auth when its events are read:
	-- api_tribble_socket_connect, api_tribble_socket_events)
	sub := pg_wallet_router.jwt_subject(coalesce(token,
		regexp_replace(coalesce(args #>> '{body,token}', args #>> '{body,auth,token}'),
			'^[Bb][Ee][Aa][Rr][Ee][Rr] +', '')));
	IF sub IS NOT NULL THEN
		n := (SELECT p.node FROM pg_wallet_router.principals p WHERE p.id = sub);
		IF n IS NULL THEN
			SELECT min(o) INTO owner FROM pg_wallet_router.on_principal_owner(sub) o;
			n := pg_wallet_router.node_of_id(owner);
			IF n IS NOT NULL THEN
				INSERT INTO pg_wallet_router.principals (id, node) VALUES (sub, n)
				ON CONFLICT DO NOTHING;
			END IF;
		END IF;
		RETURN coalesce(n, 0);	-- an unknown principal: any node refuses its token alike
	END IF;
	ident := lower(coalesce(args #>> '{body,email}', args #>> '{body,username}',
		args #>> '{body,phoneNumber}', args #>> '{body,phone}'));
	IF ident IS NOT NULL THEN
		RETURN abs(hashtext(ident)::bigint) % nodes;
	END IF;
	-- an opaque credential (Tribble's refresh token, a Sellapay API key): the node that holds
	-- it; one nobody holds goes to node 0, which refuses it as any node would
	refresh := args #>> '{body,refreshToken}';
	api_key := args #>> '{credentials,api_key}';
	IF refresh !~ '^rt_[A-Za-z0-9_-]{43}$' THEN
		refresh := NULL;
	END IF;
	IF octet_length(api_key) NOT BETWEEN 1 AND 256 THEN
		api_key := NULL;
	END IF;
	IF refresh IS NOT NULL OR api_key IS NOT NULL THEN
		SELECT min(o) INTO owner FROM pg_wallet_router.on_credential_owner(refresh, api_key) o;
		RETURN coalesce(pg_wallet_router.node_of_id(owner), 0);
	END IF;
	-- a partner's callback: the node that holds the request it answers
	IF name IN ('api_partner_callback', 'api_mpesa_callback') THEN
		RETURN pg_wallet_router.partner_callback_node(args);
	END IF;
	RAISE EXCEPTION '% cannot be routed: it names no principal and no login identifier', name
		USING ERRCODE = 'feature_not_supported',
		      HINT = 'docs/scale-out.md, "What the router serves".';
END $$;
COMMENT ON FUNCTION pg_wallet_router.api_node(text, text, jsonb) IS
	'The node that serves an API call: by the principal its JWT names (the token argument, '
	'else a socket.io client''s auth object: body.token, body.auth.token), else by the login '
	'identifier of its body (email, username, phone), else by the node that holds its refresh '
	'token (body.refreshToken) or API key (credentials.api_key), else, for a partner''s '
	'callback, by the node that holds the request it answers; 0 with one node.';

-- The bridge sets the request context (client address, user agent, device) of the statement
-- that calls an API function with api_request_context(args, context): on a node it is set in
-- that transaction, which on the router is not the node's. So the router's keeps it in args,
-- and the router's API functions set it on the node in the statement that calls the node's.
CREATE FUNCTION pg_wallet.api_request_context(args jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN context IS NULL OR jsonb_typeof(args) <> 'object' THEN args
	            ELSE args || jsonb_build_object('_router_context', context) END
$$;
COMMENT ON FUNCTION pg_wallet.api_request_context(jsonb, jsonb) IS
	'Router: args with the request context, which the router''s API function sets on the node '
	'(pg_wallet.api_request_context there) in the statement that calls the node''s function.';

-- Raise again an error that PL/Proxy brought back from a node, without PL/Proxy's prefixes
-- ("function(n): [db] REMOTE ERROR: ", "Remote detail: ", "Remote hint: "), and with the
-- column that the node's pg_wallet.api_remote_call put in the hint.
CREATE FUNCTION pg_wallet_router._reraise_remote(state text, message text, detail text,
	hint text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	col text;
BEGIN
	message := regexp_replace(message, '^[^ ]*\([0-9]+\): \[[^]]*\] REMOTE ERROR: ', '');
	detail := nullif(regexp_replace(detail, '^Remote detail: ', ''), '');
	hint := regexp_replace(hint, '^Remote hint: ', '');
	col := (regexp_match(hint, '\[pg_wallet column: ([^]]+)\]$'))[1];
	hint := nullif(rtrim(regexp_replace(hint, '\s*\[pg_wallet column: [^]]+\]$', '')), '');
	IF col IS NULL THEN
		PERFORM pg_wallet_router._reraise(state, message, detail, hint);
	ELSIF detail IS NOT NULL AND hint IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, DETAIL = detail, HINT = hint,
			COLUMN = col;
	ELSIF detail IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, DETAIL = detail, COLUMN = col;
	ELSIF hint IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, HINT = hint, COLUMN = col;
	END IF;
	RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message, COLUMN = col;
END $$;
COMMENT ON FUNCTION pg_wallet_router._reraise_remote(text, text, text, text) IS
	'Raise a node''s error again as the node raised it (PL/Proxy''s prefixes removed, the '
	'column restored).';

-- One routed core function (pg_wallet_router.routes): its PL/Proxy call on a node and the
-- router function of node 0's signature that calls it on the node the route names.
CREATE FUNCTION pg_wallet_router._write_route(name text, node_expr text, args text,
	identity_args text, arg_names text, result text, returns_set boolean, composite boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	EXECUTE format($g$
		CREATE OR REPLACE FUNCTION pg_wallet_router.on_%1$s(node integer, %2$s) RETURNS %3$s
		LANGUAGE plproxy AS $p$
			CLUSTER 'pg_wallet';
			RUN ON node;
			SELECT %4$s pg_wallet.%1$s(%5$s);
		$p$$g$, name, identity_args, result,
		CASE WHEN composite OR returns_set THEN '* FROM' ELSE '' END, arg_names);
	EXECUTE format($g$
		CREATE OR REPLACE FUNCTION pg_wallet.%1$s(%2$s) RETURNS %3$s
		LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $p$
		DECLARE
			e_detail text;
			e_hint text;
		BEGIN
			%4$s pg_wallet_router.on_%1$s(%5$s, %6$s);
			%7$s
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
			PERFORM pg_wallet_router._reraise_remote(SQLSTATE, SQLERRM, e_detail, e_hint);
		END $p$$g$, name, args, result,
		CASE WHEN returns_set THEN 'RETURN QUERY SELECT * FROM' ELSE 'RETURN' END,
		node_expr, arg_names, CASE WHEN returns_set THEN 'RETURN;' ELSE '' END);
	EXECUTE format('COMMENT ON FUNCTION pg_wallet_router.on_%s(integer, %s) IS %L', name,
		identity_args, format('pg_wallet.%s on node node (written by sync_api).', name));
	EXECUTE format('COMMENT ON FUNCTION pg_wallet.%s(%s) IS %L', name, identity_args,
		format('Router: pg_wallet.%s on the node %s names (written by sync_api from '
			'pg_wallet_router.routes).', name, node_expr));
	EXECUTE format('REVOKE EXECUTE ON FUNCTION pg_wallet.%s(%s) FROM PUBLIC', name, identity_args);
	EXECUTE format('REVOKE EXECUTE ON FUNCTION pg_wallet_router.on_%s(integer, %s) FROM PUBLIC',
		name, identity_args);
END $fn$;
COMMENT ON FUNCTION pg_wallet_router._write_route(text, text, text, text, text, text, boolean,
	boolean) IS 'sync_api: write one routed core function and its PL/Proxy call.';

CREATE FUNCTION pg_wallet_router.sync_api() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	f record;
	r record;
	made integer := 0;
BEGIN
	FOR r IN SELECT x.function, x.node_expr, q.* FROM pg_wallet_router.routes x
	         CROSS JOIN LATERAL public.dblink(pg_wallet_router._node(0), format(
				'SELECT pg_get_function_arguments(p.oid), pg_get_function_identity_arguments(p.oid), '
				'array_to_string(p.proargnames[1:p.pronargs], '', ''), '
				'pg_get_function_result(p.oid), p.proretset, t.typtype = ''c'' '
				'FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace '
				'JOIN pg_type t ON t.oid = p.prorettype '
				'WHERE n.nspname = ''pg_wallet'' AND p.proname = %L', x.function))
				AS q(args text, identity_args text, arg_names text, result text,
				     returns_set boolean, composite boolean)
	         ORDER BY x.function LOOP
		PERFORM pg_wallet_router._write_route(r.function, r.node_expr, r.args, r.identity_args,
			r.arg_names, r.result, r.returns_set, r.composite);
		made := made + 1;
	END LOOP;
	FOR f IN SELECT q.name FROM public.dblink(pg_wallet_router._node(0),
			'SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace '
			'WHERE n.nspname = ''pg_wallet'' AND p.proname ~ ''^api_[a-z0-9_]+$'' '
			'AND pg_get_function_identity_arguments(p.oid) = ''token text, args jsonb'' '
			'AND p.prorettype = ''jsonb''::regtype ORDER BY 1') AS q(name text) LOOP
		EXECUTE format($g$
			CREATE OR REPLACE FUNCTION pg_wallet_router.on_%1$s(node integer, token text,
				args jsonb) RETURNS jsonb
			LANGUAGE plproxy AS $p$
				CLUSTER 'pg_wallet';
				RUN ON node;
				SELECT pg_wallet.api_remote_call(%1$L, token, pg_wallet.api_request_context(
					args - '_router_context', args -> '_router_context'));
			$p$$g$, f.name);
		EXECUTE format($g$
			CREATE OR REPLACE FUNCTION pg_wallet.%1$s(token text, args jsonb) RETURNS jsonb
			LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $p$
			DECLARE
				e_state text;
				e_msg text;
				e_detail text;
				e_hint text;
			BEGIN
				RETURN pg_wallet_router.on_%1$s(pg_wallet_router.api_node(%1$L, token, args),
					token, args);
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
					e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
				PERFORM pg_wallet_router._reraise_remote(e_state, e_msg, e_detail, e_hint);
				RETURN NULL;
			END $p$$g$, f.name);
		EXECUTE format('COMMENT ON FUNCTION pg_wallet_router.on_%1$s(integer, text, jsonb) IS %2$L',
			f.name, format('pg_wallet.%s on node node (written by sync_api).', f.name));
		EXECUTE format('COMMENT ON FUNCTION pg_wallet.%1$s(text, jsonb) IS %2$L', f.name,
			format('Router: pg_wallet.%s on the node api_node() names (written by sync_api).',
				f.name));
		EXECUTE format('REVOKE EXECUTE ON FUNCTION pg_wallet.%s(text, jsonb), '
			'pg_wallet_router.on_%s(integer, text, jsonb) FROM PUBLIC', f.name, f.name);
		made := made + 1;
	END LOOP;
	RETURN made;
END $fn$;
COMMENT ON FUNCTION pg_wallet_router.sync_api() IS
	'Write the router''s routed core functions (pg_wallet_router.routes) and its pg_wallet.api_* '
	'functions (every (token text, args jsonb) -> jsonb one) from node 0''s signatures: run '
	'after add_node and after an upgrade of the nodes. Returns how many.';

CREATE FUNCTION pg_wallet_router.grant_api(role name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	f regprocedure;
BEGIN
	EXECUTE format('GRANT USAGE ON SCHEMA pg_wallet, pg_wallet_router, plproxy TO %I', role);
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	         WHERE (n.nspname = 'pg_wallet' AND p.proname ~ '^api_')
	            OR (n.nspname = 'pg_wallet_router' AND (p.proname ~ '^on_api_' OR p.proname IN
	                ('api_node', 'jwt_subject', '_reraise', '_reraise_remote'))) LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, role);
	END LOOP;
END $$;
COMMENT ON FUNCTION pg_wallet_router.grant_api(name) IS
	'Let a role (the bridge''s) call the router''s API functions and what they call; run it '
	'again after sync_api(). The role must exist on the nodes with the same grants there '
	'(bridge/bridge_role.sql): PL/Proxy connects as the calling role.';
