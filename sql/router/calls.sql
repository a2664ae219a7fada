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

CREATE FUNCTION pg_wallet_router.on_credit(node integer, account_number text, amount numeric,
	counterpart text, idempotency_key text, description text, metadata jsonb,
	client_service_code text, agent_account text, record_refusal boolean)
RETURNS pg_wallet.journal_result
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.credit(account_number, amount, counterpart, idempotency_key,
		description, metadata, client_service_code, agent_account, record_refusal);
$$;

CREATE FUNCTION pg_wallet_router.on_debit(node integer, account_number text, amount numeric,
	counterpart text, idempotency_key text, description text, metadata jsonb,
	client_service_code text, agent_account text, record_refusal boolean)
RETURNS pg_wallet.journal_result
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.debit(account_number, amount, counterpart, idempotency_key,
		description, metadata, client_service_code, agent_account, record_refusal);
$$;

CREATE FUNCTION pg_wallet_router.on_get_balance(node integer, account_number text)
RETURNS pg_wallet.balance_info
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.get_balance(account_number);
$$;

CREATE FUNCTION pg_wallet_router.on_get_account(node integer, account_number text)
RETURNS pg_wallet.account_info
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.get_account(account_number);
$$;

CREATE FUNCTION pg_wallet_router.on_get_statement(node integer, account_number text,
	from_time timestamptz, to_time timestamptz, max_entries integer) RETURNS jsonb
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT pg_wallet.get_statement(account_number, from_time, to_time, max_entries);
$$;

CREATE FUNCTION pg_wallet_router.on_list_entries(node integer, account_number text,
	from_time timestamptz, to_time timestamptz, page_size integer, after_entry_id bigint)
RETURNS SETOF pg_wallet.entry_info
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.list_entries(account_number, from_time, to_time, page_size,
		after_entry_id);
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

CREATE FUNCTION pg_wallet_router.on_get_hold(node integer, hold_id bigint)
RETURNS pg_wallet.hold_info
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.get_hold(hold_id);
$$;

CREATE FUNCTION pg_wallet_router.on_post_hold(node integer, hold_id bigint, amount numeric,
	idempotency_key text, description text) RETURNS pg_wallet.journal_result
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.post_hold(hold_id, amount, idempotency_key, description);
$$;

CREATE FUNCTION pg_wallet_router.on_void_hold(node integer, hold_id bigint, reason text)
RETURNS pg_wallet.hold_info
LANGUAGE plproxy AS $$
	CLUSTER 'pg_wallet';
	RUN ON node;
	SELECT * FROM pg_wallet.void_hold(hold_id, reason);
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
COMMENT ON FUNCTION pg_wallet_router.on_credit(integer, text, numeric, text, text, text, jsonb,
	text, text, boolean) IS 'pg_wallet.credit on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_debit(integer, text, numeric, text, text, text, jsonb,
	text, text, boolean) IS 'pg_wallet.debit on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_get_balance(integer, text) IS
	'pg_wallet.get_balance on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_get_account(integer, text) IS
	'pg_wallet.get_account on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_get_statement(integer, text, timestamptz, timestamptz,
	integer) IS 'pg_wallet.get_statement on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_list_entries(integer, text, timestamptz, timestamptz,
	integer, bigint) IS 'pg_wallet.list_entries on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_place_hold(integer, text, numeric, text, text,
	timestamptz, text, text, text) IS 'pg_wallet.place_hold on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_get_hold(integer, bigint) IS
	'pg_wallet.get_hold on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_post_hold(integer, bigint, numeric, text, text) IS
	'pg_wallet.post_hold on node node.';
COMMENT ON FUNCTION pg_wallet_router.on_void_hold(integer, bigint, text) IS
	'pg_wallet.void_hold on node node.';
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
