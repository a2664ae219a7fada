-- Configuration on every node (docs/scale-out.md, "Configuration"). What a node reads to move
-- money the same way as every other node — FX rates, fee schedules, partners and their
-- secrets, fraud rules and settings, KYC tier limits — is set through the router with the
-- node API's own administration functions, same names and signatures, and applied on every
-- node as one change by two-phase commit with the decision in the router's log
-- (pg_wallet_router.config_changes), as a cross-node transfer is (sql/router/cross.sql):
--
--   1. the change's id drawn from the log's sequence (nothing written, nothing committed);
--   2. on each node in turn, one round trip: BEGIN; the administration call (node 0 first:
--      what the others need of its answer, a partner's id, is handed to them in the setting
--      pg_wallet_router.first);
--   3. PREPARE TRANSACTION pgw_c_<id>_<node> on each node (the node's number in the name:
--      two nodes may be databases of one cluster, where prepared transactions are named);
--   4. the decision COMMITTED (with the id each node gave a fee schedule or rule it created)
--      inserted under the id through the self connection, unless recovery decided ABORTED
--      first (presumed abort of parts left undecided longer than in_doubt_after);
--   5. COMMIT PREPARED on each node; a failure here is recovery's to finish.
--
-- A refusal on any node (a currency inactive there, a partner id taken) rolls every node's
-- part back and raises the node's error, logging nothing: the nodes never disagree. Recovery
-- (sql/router/recover.sql) resolves a prepared pgw_c_<id>_<node> by the log exactly as a
-- transfer's half.
-- Ids: a node draws the ids of what it creates from its own sequences (congruent to its
-- number modulo 64), so one fee schedule has a different id on each node; the router answers
-- node 0's and translates it for set_fee_schedule_active and fraud_disable_rule. A secret the
-- node would draw itself (a partner's webhook secret) is drawn once, on the router, and given
-- to every node. Every value in the SQL sent is a quote_literal (format %L) or an integer.

-- Step 4, and recovery's abort: the decision under a change's id, unless one was made
-- already (the other party's, which stands); the state of the change after.
CREATE FUNCTION pg_wallet_router._cfg_decide(change bigint, decision text, call text,
	kind text, node_ids bigint[]) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	s text;
BEGIN
	INSERT INTO pg_wallet_router.config_changes AS x (id, state, call, kind, node_ids)
	VALUES (change, decision, call, kind, node_ids)
	ON CONFLICT ON CONSTRAINT config_changes_pkey DO NOTHING
	RETURNING x.state INTO s;
	IF s IS NULL THEN
		SELECT x.state INTO s FROM pg_wallet_router.config_changes x WHERE x.id = change;
	END IF;
	RETURN s;
END $$;
COMMENT ON FUNCTION pg_wallet_router._cfg_decide(bigint, text, text, text, bigint[]) IS
	'Record the decision of a configuration change unless it has one; its state after.';

CREATE FUNCTION pg_wallet_router._cfg_self_decide(change bigint, decision text, call text,
	kind text, node_ids bigint[]) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT t.s FROM public.dblink(pg_wallet_router._self(),
		format('SELECT pg_wallet_router._cfg_decide(%s, %L, %L, %L, %L)', change, decision,
			call, kind, node_ids)) AS t(s text)
$$;
COMMENT ON FUNCTION pg_wallet_router._cfg_self_decide(bigint, text, text, text, bigint[]) IS
	'_cfg_decide, committed on its own through the router''s connection to itself.';

-- Step 2 on one node, one round trip: BEGIN, the answer node 0 gave (NULL on node 0), the
-- statement (one row, one text column); its value.
CREATE FUNCTION pg_wallet_router._cfg_run(node integer, first text, stmt text) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT t.v FROM public.dblink(pg_wallet_router._node(node), format(
		'BEGIN; SELECT NULL::text, set_config(%L, %L, true) WHERE %L; %s',
		'pg_wallet_router.first', coalesce(first, ''), first IS NOT NULL, stmt))
		AS t(v text, f text)
$$;
COMMENT ON FUNCTION pg_wallet_router._cfg_run(integer, text, text) IS
	'Configuration change, step 2 on one node: its transaction begun and the call made.';

-- The whole change: on node n, stmts[n + 1], or the array's last (one statement for every
-- node; node 0's and the others'; one per node), with node 0's answer in the setting
-- pg_wallet_router.first on the others; every part prepared, decided, committed. Each node's
-- answer, in node order. A statement returns two text columns: its value and NULL.
CREATE FUNCTION pg_wallet_router._cfg_apply(call text, kind text, stmts text[])
RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	change bigint;
	gid text;
	n integer;
	vals text[] := '{}';
	ran integer[] := '{}';
	prepared integer[] := '{}';
	decision text;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_wallet_router.nodes) THEN
		RAISE EXCEPTION 'the router has no node' USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Add one with pg_wallet_router.add_node().';
	END IF;
	change := nextval(pg_get_serial_sequence('pg_wallet_router.config_changes', 'id'));
	gid := 'pgw_c_' || change || '_';	-- and the node's number: two nodes may share a cluster
	BEGIN
		FOR n IN SELECT x.node FROM pg_wallet_router.nodes x ORDER BY x.node LOOP
			ran := ran || n;	-- first: a failed statement leaves its transaction open too
			vals := vals || pg_wallet_router._cfg_run(n, vals[1],
				stmts[least(n + 1, cardinality(stmts))]);
		END LOOP;
		FOREACH n IN ARRAY ran LOOP
			PERFORM public.dblink_exec(pg_wallet_router._node(n),
				format('PREPARE TRANSACTION %L', gid || n));
			prepared := prepared || n;
		END LOOP;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
		FOREACH n IN ARRAY ran LOOP	-- a part left prepared is recovery's (presumed abort)
			PERFORM pg_wallet_router._undo('pgw_node_' || n, gid || n, n = ANY (prepared));
		END LOOP;
		PERFORM pg_wallet_router._reraise(e_state, e_msg, e_detail, e_hint);
	END;
	BEGIN
		decision := pg_wallet_router._cfg_self_decide(change, 'COMMITTED', call, kind,
			CASE WHEN kind IS NOT NULL THEN vals::bigint[] END);
	EXCEPTION WHEN OTHERS THEN
		PERFORM pg_wallet_router._drop('pgw_self');
		RAISE EXCEPTION 'the outcome of configuration change % is not known yet', change
			USING ERRCODE = 'transaction_resolution_unknown',
			      HINT = 'Recovery commits or rolls it back on every node by the router''s log: '
			             'read the configuration back before making the change again.';
	END;
	IF decision IS DISTINCT FROM 'COMMITTED' THEN
		FOREACH n IN ARRAY prepared LOOP
			PERFORM pg_wallet_router._finish(pg_wallet_router._node(n), gid || n, 'ABORTED');
		END LOOP;
		RAISE EXCEPTION 'configuration change % took too long and was aborted by recovery', change
			USING ERRCODE = 'transaction_rollback', HINT = 'Make the change again.';
	END IF;
	FOREACH n IN ARRAY prepared LOOP
		PERFORM pg_wallet_router._finish(pg_wallet_router._node(n), gid || n, 'COMMITTED');
	END LOOP;
	RETURN vals;
END $$;
COMMENT ON FUNCTION pg_wallet_router._cfg_apply(text, text, text[]) IS
	'A configuration change on every node by two-phase commit (node n runs stmts[n + 1] or '
	'the last); each node''s answer, in node order.';

-- The id each node gave a fee schedule or fraud rule the router answered as id (node 0's);
-- one that the router did not create is sent as it is to every node (each node then finds
-- it or refuses as it would).
CREATE FUNCTION pg_wallet_router._cfg_node_ids(kind text, id bigint) RETURNS bigint[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT coalesce(
		(SELECT x.node_ids FROM pg_wallet_router.config_changes x
		 WHERE x.kind = _cfg_node_ids.kind AND x.node_ids[1] = _cfg_node_ids.id),
		array_fill(_cfg_node_ids.id, ARRAY[(SELECT count(*)::integer
		                                     FROM pg_wallet_router.nodes)]))
$$;
COMMENT ON FUNCTION pg_wallet_router._cfg_node_ids(text, bigint) IS
	'The id of a fee schedule or fraud rule on each node, from the id the router answered.';

-- One statement per node from a call template taking the node's id as its %s.
CREATE FUNCTION pg_wallet_router._cfg_per_node(template text, ids bigint[]) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT array_agg(format(template, i) ORDER BY k) FROM unnest(ids) WITH ORDINALITY AS u (i, k)
$$;
COMMENT ON FUNCTION pg_wallet_router._cfg_per_node(text, bigint[]) IS
	'The statements of a change whose call names a different id on each node.';

-- A secret in the form a node's rotate_partner_secret gives (whsec_<base64 of 32 bytes>),
-- from the router's strong random source (gen_random_uuid: 244 random bits in two).
CREATE FUNCTION pg_wallet_router._new_webhook_secret() RETURNS text
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT 'whsec_' || replace(encode(decode(replace(gen_random_uuid()::text
		|| gen_random_uuid()::text, '-', ''), 'hex'), 'base64'), E'\n', '')
$$;
COMMENT ON FUNCTION pg_wallet_router._new_webhook_secret() IS
	'A new random webhook secret whsec_<base64>, drawn once for every node.';

-- ---------------------------------------------------------------------------------------
-- The administration API on the router
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet.set_fx_rate(base_currency text, quote_currency text, rate numeric,
	spread numeric DEFAULT 0, valid_from timestamptz DEFAULT NULL,
	valid_to timestamptz DEFAULT NULL, source text DEFAULT NULL) RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT (pg_wallet_router._cfg_apply('set_fx_rate', NULL, ARRAY[format(
		'SELECT pg_wallet.set_fx_rate(%L, %L, %L::numeric, %L::numeric, %L::timestamptz, '
		'%L::timestamptz, %L)::text, NULL', base_currency, quote_currency, rate, spread,
		coalesce(valid_from, now()), valid_to, source)]))[1]::bigint
$$;
COMMENT ON FUNCTION pg_wallet.set_fx_rate(text, text, numeric, numeric, timestamptz,
	timestamptz, text) IS
	'Router: set_fx_rate on every node as one change (valid_from, when NULL, is the router''s '
	'now() on all of them); node 0''s rate id.';

CREATE FUNCTION pg_wallet.create_fee_schedule(transaction_type text, fee_kind text,
	fixed_fee numeric DEFAULT 0, rate numeric DEFAULT 0, currency text DEFAULT NULL,
	min_fee numeric DEFAULT NULL, max_fee numeric DEFAULT NULL, band_min numeric DEFAULT NULL,
	band_max numeric DEFAULT NULL, bearer text DEFAULT 'SENDER', sender_share numeric DEFAULT 1,
	commission_rate numeric DEFAULT 0, client_service_code text DEFAULT NULL,
	tiers jsonb DEFAULT NULL, valid_from timestamptz DEFAULT NULL,
	valid_to timestamptz DEFAULT NULL, description text DEFAULT NULL) RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT (pg_wallet_router._cfg_apply('create_fee_schedule', 'fee_schedule', ARRAY[format(
		'SELECT pg_wallet.create_fee_schedule(%L, %L, %L::numeric, %L::numeric, %L, '
		'%L::numeric, %L::numeric, %L::numeric, %L::numeric, %L, %L::numeric, %L::numeric, '
		'%L, %L::jsonb, %L::timestamptz, %L::timestamptz, %L)::text, NULL',
		transaction_type, fee_kind, fixed_fee, rate, currency, min_fee, max_fee, band_min,
		band_max, bearer, sender_share, commission_rate, client_service_code, tiers,
		valid_from, valid_to, description)]))[1]::bigint
$$;
COMMENT ON FUNCTION pg_wallet.create_fee_schedule(text, text, numeric, numeric, text, numeric,
	numeric, numeric, numeric, text, numeric, numeric, text, jsonb, timestamptz, timestamptz,
	text) IS
	'Router: create_fee_schedule on every node as one change; node 0''s schedule id, which '
	'set_fee_schedule_active on the router translates to each node''s.';

CREATE FUNCTION pg_wallet.set_fee_schedule_active(schedule_id bigint, active boolean)
RETURNS boolean
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT (pg_wallet_router._cfg_apply('set_fee_schedule_active', NULL,
		pg_wallet_router._cfg_per_node(format(
			'SELECT pg_wallet.set_fee_schedule_active(%%s, %L)::text, NULL', active),
			pg_wallet_router._cfg_node_ids('fee_schedule', schedule_id))))[1]::boolean
$$;
COMMENT ON FUNCTION pg_wallet.set_fee_schedule_active(bigint, boolean) IS
	'Router: switch a fee schedule (the id create_fee_schedule answered) on or off on every '
	'node as one change.';

CREATE FUNCTION pg_wallet.create_partner(name text, country text, service text, adapter text,
	base_url text, currencies text[], callback_url text DEFAULT NULL,
	webhook_secret text DEFAULT NULL, credentials jsonb DEFAULT '{}', partner_id text DEFAULT NULL,
	can_deposit boolean DEFAULT true, can_payout boolean DEFAULT true,
	priority integer DEFAULT 100, timeout_ms integer DEFAULT NULL) RETURNS pg_wallet.partner_info
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	secret text := coalesce(webhook_secret, pg_wallet_router._new_webhook_secret());
	call text := 'SELECT p::text, NULL FROM pg_wallet.create_partner(%L, %L, %L, %L, %L, '
		'%L::text[], %L, %L, %L::jsonb, %s, %L::boolean, %L::boolean, %L::integer, '
		'%L::integer) p';
BEGIN
	-- node 0 draws the id (PTN-<n>) when none is given; the others take it from its answer
	RETURN (pg_wallet_router._cfg_apply('create_partner', NULL, ARRAY[
		format(call, name, country, service, adapter, base_url, currencies, callback_url,
			secret, credentials, quote_nullable(partner_id), can_deposit, can_payout, priority,
			timeout_ms),
		format(call, name, country, service, adapter, base_url, currencies, callback_url,
			secret, credentials,
			'(current_setting(''pg_wallet_router.first'')::pg_wallet.partner_info).id',
			can_deposit, can_payout, priority, timeout_ms)]))[1]::pg_wallet.partner_info;
END $$;
COMMENT ON FUNCTION pg_wallet.create_partner(text, text, text, text, text, text[], text, text,
	jsonb, text, boolean, boolean, integer, integer) IS
	'Router: create_partner on every node as one change, with one id (node 0''s PTN-<n> when '
	'none is given) and one webhook secret (drawn on the router when none is given: set it '
	'with set_partner_secrets or rotate_partner_secret, which answers it); node 0''s answer.';

CREATE FUNCTION pg_wallet.add_partner_currency(partner_id text, currency text) RETURNS text
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT (pg_wallet_router._cfg_apply('add_partner_currency', NULL, ARRAY[format(
		'SELECT pg_wallet.add_partner_currency(%L, %L), NULL', partner_id, currency)]))[1]
$$;
COMMENT ON FUNCTION pg_wallet.add_partner_currency(text, text) IS
	'Router: add_partner_currency on every node as one change; node 0''s answer.';

CREATE FUNCTION pg_wallet.set_partner_status(partner_id text, status text)
RETURNS pg_wallet.partner_info
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT (pg_wallet_router._cfg_apply('set_partner_status', NULL, ARRAY[format(
		'SELECT p::text, NULL FROM pg_wallet.set_partner_status(%L, %L) p', partner_id,
		status)]))[1]::pg_wallet.partner_info
$$;
COMMENT ON FUNCTION pg_wallet.set_partner_status(text, text) IS
	'Router: set_partner_status on every node as one change; node 0''s answer.';

CREATE FUNCTION pg_wallet.set_partner_secrets(partner_id text, webhook_secret text DEFAULT NULL,
	credentials jsonb DEFAULT NULL) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT FROM pg_wallet_router._cfg_apply('set_partner_secrets', NULL, ARRAY[format(
		'SELECT NULL::text, NULL FROM pg_wallet.set_partner_secrets(%L, %L, %L::jsonb)',
		partner_id, webhook_secret, credentials)])
$$;
COMMENT ON FUNCTION pg_wallet.set_partner_secrets(text, text, jsonb) IS
	'Router: set_partner_secrets on every node as one change (nodes verify the callbacks '
	'they receive, so every node must hold the same secret).';

CREATE FUNCTION pg_wallet.rotate_partner_secret(partner_id text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	secret text := pg_wallet_router._new_webhook_secret();
BEGIN
	PERFORM pg_wallet.set_partner_secrets(partner_id, secret);
	RETURN secret;
END $$;
COMMENT ON FUNCTION pg_wallet.rotate_partner_secret(text) IS
	'Router: a new random webhook secret for a partner, drawn on the router and set on every '
	'node as one change; returned once, as a node''s rotate_partner_secret does.';

CREATE FUNCTION pg_wallet.fraud_add_rule(action text, subject text, subject_value text,
	reason text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- a USER rule names an owner (its id names its node): made there, where it applies
	IF subject = 'USER' AND subject_value ~ '^[0-9]{1,18}$' THEN
		RETURN pg_wallet_router.on_fraud_add_rule(
			pg_wallet_router.node_of_owner(subject_value::bigint), action, subject,
			subject_value, reason);
	END IF;
	RETURN (pg_wallet_router._cfg_apply('fraud_add_rule', 'fraud_rule', ARRAY[format(
		'SELECT pg_wallet.fraud_add_rule(%L, %L, %L, %L)::text, NULL', action, subject,
		subject_value, reason)]))[1]::bigint;
END $$;
COMMENT ON FUNCTION pg_wallet.fraud_add_rule(text, text, text, text) IS
	'Router: fraud_add_rule on every node as one change (a payer on any node may meet the '
	'device, address range or merchant it names), node 0''s rule id, which '
	'fraud_disable_rule on the router translates to each node''s; a USER rule on its owner''s '
	'node only, that node''s id.';

CREATE FUNCTION pg_wallet.fraud_disable_rule(rule_id bigint) RETURNS boolean
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT bool_or(v::boolean) FROM unnest(pg_wallet_router._cfg_apply('fraud_disable_rule', NULL,
		pg_wallet_router._cfg_per_node('SELECT pg_wallet.fraud_disable_rule(%s)::text, NULL',
			pg_wallet_router._cfg_node_ids('fraud_rule', rule_id)))) AS u (v)
$$;
COMMENT ON FUNCTION pg_wallet.fraud_disable_rule(bigint) IS
	'Router: disable a fraud rule (the id fraud_add_rule answered) on every node as one '
	'change (a node without it changes nothing); whether any node had it active.';

CREATE FUNCTION pg_wallet.set_kyc_tier_limits(tier integer, currency text,
	per_transaction_max numeric, daily_max numeric, monthly_max numeric,
	transactions_per_day integer) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT FROM pg_wallet_router._cfg_apply('set_kyc_tier_limits', NULL, ARRAY[format(
		'SELECT NULL::text, NULL FROM pg_wallet.set_kyc_tier_limits(%L::integer, %L, '
		'%L::numeric, %L::numeric, %L::numeric, %L::integer)', tier, currency,
		per_transaction_max, daily_max, monthly_max, transactions_per_day)])
$$;
COMMENT ON FUNCTION pg_wallet.set_kyc_tier_limits(integer, text, numeric, numeric, numeric,
	integer) IS
	'Router: set_kyc_tier_limits on every node as one change (a tier moves the same on every '
	'node).';

CREATE FUNCTION pg_wallet.set_fraud_settings(settings jsonb) RETURNS jsonb
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
	SELECT (pg_wallet_router._cfg_apply('set_fraud_settings', NULL, ARRAY[format(
		'SELECT pg_wallet.set_fraud_settings(%L::jsonb)::text, NULL', settings)]))[1]::jsonb
$$;
COMMENT ON FUNCTION pg_wallet.set_fraud_settings(jsonb) IS
	'Router: set_fraud_settings on every node as one change (every payer scored alike); '
	'node 0''s settings after.';
