-- The router's tables. Ids of owners, accounts, holds and journals are unique across nodes:
-- add_node() makes every sequence of a node's pg_wallet schema draw the values congruent to the
-- node's number modulo 64 (pg_wallet_router.slots()), so an id names its node and needs no
-- directory. Account numbers are chosen by callers, so they have one: accounts.

CREATE TABLE pg_wallet_router.nodes (
	node integer PRIMARY KEY CHECK (node BETWEEN 0 AND 63),
	connstr text NOT NULL UNIQUE CHECK (length(connstr) BETWEEN 1 AND 1000),
	added_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet_router.nodes IS
	'The data nodes: node number (0-based, dense) and the libpq connection string the router '
	'uses for it. PL/Proxy''s cluster pg_wallet is read from here (plproxy.get_cluster_*).';

CREATE TABLE pg_wallet_router.settings (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	self_connstr text CHECK (length(self_connstr) <= 1000),
	config_version integer NOT NULL DEFAULT 1,
	in_doubt_after interval NOT NULL DEFAULT '10 seconds'
		CHECK (in_doubt_after BETWEEN '1 second' AND '1 hour')
);
INSERT INTO pg_wallet_router.settings DEFAULT VALUES;
COMMENT ON TABLE pg_wallet_router.settings IS
	'One row: how the router reaches itself (its decisions are committed through that '
	'connection, apart from the caller''s transaction), the version of the cluster '
	'configuration PL/Proxy caches, and how old an undecided cross-node transfer must be '
	'before recovery aborts it.';

CREATE TABLE pg_wallet_router.accounts (
	account_number text PRIMARY KEY,
	node integer NOT NULL REFERENCES pg_wallet_router.nodes (node),
	owner_id bigint NOT NULL,
	currency text NOT NULL
);
CREATE INDEX accounts_owner_idx ON pg_wallet_router.accounts (owner_id);
COMMENT ON TABLE pg_wallet_router.accounts IS
	'Directory of the accounts created through the router: which node holds each number. A '
	'number that is not here is a per-node account (SYS-..., the clearing accounts): it is '
	'taken on the node of the other party.';

-- The decision log of cross-node transfers (two-phase commit, docs/scale-out.md).
CREATE TABLE pg_wallet_router.transfers (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	owner_id bigint NOT NULL,		-- the payer's owner: the idempotency scope, as on a node
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
	from_account text NOT NULL,
	to_account text NOT NULL,
	amount numeric NOT NULL CHECK (amount > 0),
	description text,
	from_node integer NOT NULL,
	to_node integer NOT NULL,
	attempt integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
	state text NOT NULL DEFAULT 'PREPARING' CHECK (state IN ('PREPARING', 'COMMITTED', 'ABORTED')),
	result pg_wallet.journal_result,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((state = 'COMMITTED') = ((result).journal_id IS NOT NULL))
);
CREATE UNIQUE INDEX transfers_key_idx ON pg_wallet_router.transfers (owner_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
CREATE INDEX transfers_open_idx ON pg_wallet_router.transfers (updated_at)
	WHERE state = 'PREPARING';
COMMENT ON TABLE pg_wallet_router.transfers IS
	'One row per cross-node transfer: PREPARING while its two halves are prepared on their '
	'nodes, then COMMITTED (the decision: both halves commit) or ABORTED (neither does). Both '
	'halves are prepared as transaction pgw_x_<id>_<attempt>; a retry under the same key after '
	'an abort takes the next attempt.';

-- The decision log of configuration changes: an administration call (FX rates, fee schedules,
-- partners, fraud rules) applied on every node by two-phase commit (sql/router/config.sql).
CREATE TABLE pg_wallet_router.config_changes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	call text NOT NULL CHECK (call ~ '^[a-z][a-z0-9_]{0,62}$'),	-- the API function
	state text NOT NULL DEFAULT 'PREPARING' CHECK (state IN ('PREPARING', 'COMMITTED', 'ABORTED')),
	-- a call that creates a fee schedule or a fraud rule: the id each node gave it (element
	-- node + 1); the router answers node 0's, and translates it back for later calls
	kind text CHECK (kind IN ('fee_schedule', 'fraud_rule')),
	node_ids bigint[],
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK (node_ids IS NULL OR (state = 'COMMITTED' AND kind IS NOT NULL))
);
CREATE UNIQUE INDEX config_changes_id_idx ON pg_wallet_router.config_changes (kind, (node_ids[1]))
	WHERE kind IS NOT NULL;
CREATE INDEX config_changes_open_idx ON pg_wallet_router.config_changes (updated_at)
	WHERE state = 'PREPARING';
COMMENT ON TABLE pg_wallet_router.config_changes IS
	'One row per configuration change applied on every node: PREPARING while each node''s part '
	'is prepared (transaction pgw_c_<id>), then COMMITTED (every node commits it) or ABORTED '
	'(none does); for a fee schedule or fraud rule created, the id each node gave it.';

-- The core functions the router serves by routing alone: each is written by sync_api() from
-- node 0's signature, and runs on the node its expression (over the function's argument
-- names) gives. The functions with more to do than routing (transfer, create_owner,
-- create_account, place_hold, post_transfers, verify_ledger) are written in sql/router/api.sql.
CREATE TABLE pg_wallet_router.routes (
	function text PRIMARY KEY CHECK (function ~ '^[a-z][a-z0-9_]{0,62}$'),
	node_expr text NOT NULL CHECK (length(node_expr) <= 200)
);
INSERT INTO pg_wallet_router.routes (function, node_expr) VALUES
	('credit', 'pg_wallet_router.node_of_known_account(account_number)'),
	('debit', 'pg_wallet_router.node_of_known_account(account_number)'),
	('get_balance', 'pg_wallet_router.node_of_known_account(account_number)'),
	('get_account', 'pg_wallet_router.node_of_known_account(account_number)'),
	('get_statement', 'pg_wallet_router.node_of_known_account(account_number)'),
	('list_entries', 'pg_wallet_router.node_of_known_account(account_number)'),
	('get_hold', 'pg_wallet_router.node_of_hold(hold_id)'),
	('post_hold', 'pg_wallet_router.node_of_hold(hold_id)'),
	('void_hold', 'pg_wallet_router.node_of_hold(hold_id)'),
	-- configuration, the same on every node (sql/router/config.sql): read on node 0
	('get_fx_rate', '0'),
	('list_partners', '0'),
	('get_partners', '0');
COMMENT ON TABLE pg_wallet_router.routes IS
	'Core functions served by routing alone: where each runs (an expression over its argument '
	'names giving the node). sync_api() writes them.';
