-- One call of the node API on one node (PL/Proxy, cluster pg_wallet, RUN ON the node number:
-- with modular mapping partition k is node k). Each runs in a transaction of its own on the
-- node, as a call over a connection of its own would; the node checks and raises as it does
-- for any caller, and PL/Proxy raises the node's SQLSTATE and message here.

CREATE FUNCTION pg_wallet_router.on_create_owner(node integer, kind text, name text,
	external_ref text, metadata jsonb) RETURNS bigint
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT pg_wallet.create_owner(kind, name, external_ref, metadata);
$$;

CREATE FUNCTION pg_wallet_router.on_create_account(node integer, owner_id bigint, currency text,
	purpose text, account_number text, minimum_balance numeric, can_overdraw boolean,
	credit_mode text, name text, metadata jsonb) RETURNS pg_wallet.account_info
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.create_account(owner_id, currency, purpose, account_number,
		minimum_balance, can_overdraw, credit_mode, name, metadata);
$$;

CREATE FUNCTION pg_wallet_router.on_transfer(node integer, from_account text, to_account text,
	amount numeric, idempotency_key text, description text, metadata jsonb,
	client_service_code text, agent_account text, record_refusal boolean)
RETURNS pg_wallet.journal_result
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.transfer(from_account, to_account, amount, idempotency_key,
		description, metadata, client_service_code, agent_account, record_refusal);
$$;

CREATE FUNCTION pg_wallet_router.on_place_hold(node integer, account_number text,
	amount numeric, counterpart text, idempotency_key text, expires_at timestamptz,
	description text, fee_type text, agent_account text) RETURNS pg_wallet.hold_info
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.place_hold(account_number, amount, counterpart, idempotency_key,
		expires_at, description, fee_type, agent_account);
$$;

CREATE FUNCTION pg_wallet_router.on_verify_ledger()
RETURNS SETOF pg_wallet.ledger_violation
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON ALL;
	SELECT * FROM pg_wallet.verify_ledger();
$$;

COMMENT ON FUNCTION pg_wallet_router.on_create_owner(integer, text, text, text, jsonb) IS
	'pg_wallet.create_owner on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_create_account(integer, bigint, text, text, text, numeric,
	boolean, text, text, jsonb) IS 'pg_wallet.create_account on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_transfer(integer, text, text, numeric, text, text, jsonb,
	text, text, boolean) IS 'pg_wallet.transfer on node node (both accounts there).';
COMMENT ON FUNCTION pg_wallet_router.on_place_hold(integer, text, numeric, text, text,
	timestamptz, text, text, text) IS 'pg_wallet.place_hold on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_verify_ledger() IS
	'pg_wallet.verify_ledger on every node, the violations of all of them.';

CREATE FUNCTION pg_wallet_router.on_post_transfers(node integer, transfers jsonb, atomic boolean)
RETURNS SETOF pg_wallet.batch_item_result
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.post_transfers(transfers, atomic);
$$;
COMMENT ON FUNCTION pg_wallet_router.on_post_transfers(integer, jsonb, boolean) IS
	'pg_wallet.post_transfers on node node (every account of the batch there).';

CREATE FUNCTION pg_wallet_router.on_fraud_add_rule(node integer, action text, subject text,
	subject_value text, reason text) RETURNS bigint
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT pg_wallet.fraud_add_rule(action, subject, subject_value, reason);
$$;
COMMENT ON FUNCTION pg_wallet_router.on_fraud_add_rule(integer, text, text, text, text) IS
	'pg_wallet.fraud_add_rule on node node (a USER rule, on its owner''s node).';

-- The platform's accounts of every node (fees, FX positions, suspense, clearing) with their
-- balances; node: the node's number, which its journal sequence holds (add_node).
CREATE FUNCTION pg_wallet_router.on_platform_accounts(OUT node integer, OUT account_number text,
	OUT currency text, OUT balance numeric) RETURNS SETOF record
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON ALL;
	SELECT (SELECT s.last_value % 64 FROM pg_wallet.journal_id_seq s)::integer AS node,
		b.account_number, b.currency, b.balance
	FROM pg_wallet.list_accounts((SELECT o.id FROM pg_wallet.owners o
	                              WHERE o.external_ref = 'pg_wallet:platform'), 1000) a
	CROSS JOIN LATERAL pg_wallet.get_balance(a.account_number) b;
$$;
COMMENT ON FUNCTION pg_wallet_router.on_platform_accounts() IS
	'The platform''s accounts of every node and their balances (for platform_report).';
