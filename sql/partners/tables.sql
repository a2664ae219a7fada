-- Partners, deposits, payouts, the outbox and durable events (issue 5): types and tables.
-- Functions are in 72-79; the C code (signing, the workers, libcurl) in src/outbox*.c and
-- src/partners/worker_*.c. No role but the extension owner can read these tables (core/grants.sql):
-- partner credentials and webhook secrets never leave the SECURITY DEFINER functions and the
-- outbox worker, and no function returns them.

-- ---------------------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------------------

-- pg_wallet.partner_info, a partner as get_partners() shows it: sql/core/types.sql (the router
-- returns it too).

-- An event as get_events() returns it.
CREATE TYPE pg_wallet.event_info AS (
	event_id bigint,
	owner_id bigint,
	event_type text,
	payload jsonb,
	created_at timestamptz,
	principal_id uuid       -- see events.principal_id; NULL when not known
);

-- An outbox message as the inspection functions show it (the body holds no secret: they
-- are added when it is sent).
CREATE TYPE pg_wallet.outbox_info AS (
	id bigint,
	message_id text,
	partner_id text,
	kind text,
	subject_ref text,
	method text,
	url text,
	status text,
	attempts integer,
	next_attempt_at timestamptz,
	last_http_status integer,
	last_error text,
	created_at timestamptz,
	delivered_at timestamptz
);

-- ---------------------------------------------------------------------------------------
-- Partners and agents
-- ---------------------------------------------------------------------------------------

CREATE SEQUENCE pg_wallet.partner_id_seq AS bigint;

CREATE TABLE pg_wallet.partners (
	id text PRIMARY KEY CHECK (id ~ '^PTN-[A-Za-z0-9_-]{1,40}$'),
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
	service text NOT NULL CHECK (service ~ '^[a-z][a-z0-9_]{1,31}$'),
	status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'suspended')),
	adapter text NOT NULL CHECK (adapter IN ('generic_json', 'mpesa_daraja')),
	base_url text NOT NULL
		CHECK (base_url ~ '^https?://[^[:space:]]+$' AND length(base_url) <= 500),
	callback_url text CHECK (callback_url ~ '^https?://[^[:space:]]+$' AND length(callback_url) <= 500),
	can_deposit boolean NOT NULL DEFAULT true,
	can_payout boolean NOT NULL DEFAULT true,
	priority integer NOT NULL DEFAULT 100 CHECK (priority BETWEEN 0 AND 10000),
	timeout_ms integer CHECK (timeout_ms BETWEEN 100 AND 300000),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX partners_service_idx ON pg_wallet.partners (service, status, priority);
COMMENT ON TABLE pg_wallet.partners IS
	'Partners that move money in and out of the platform (M-Pesa, banks, card processors): '
	'an adapter kind (generic_json or mpesa_daraja), a base URL the outbox worker calls, the '
	'callback URL the partner is told to call back. Their secrets are in partner_secrets.';

CREATE TABLE pg_wallet.partner_secrets (
	partner_id text PRIMARY KEY REFERENCES pg_wallet.partners (id),
	webhook_secret bytea NOT NULL CHECK (octet_length(webhook_secret) BETWEEN 16 AND 64),
	credentials jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(credentials) = 'object'
		AND octet_length(credentials::text) <= 4096),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet.partner_secrets IS
	'Write-only secrets of a partner: the webhook secret (signs outbound requests and '
	'verifies inbound callbacks, Standard Webhooks; derives the M-Pesa callback URL token) and '
	'the adapter''s credentials (M-Pesa shortcode, passkey, initiator, security credential, '
	'and the consumer key and secret the outbox worker trades for an OAuth Bearer token). '
	'Read only by the outbox claim, in the worker; never returned by a function.';

CREATE TABLE pg_wallet.partner_accounts (
	partner_id text NOT NULL REFERENCES pg_wallet.partners (id),
	currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	account_id bigint NOT NULL UNIQUE REFERENCES pg_wallet.accounts (id),
	PRIMARY KEY (partner_id, currency)
);
COMMENT ON TABLE pg_wallet.partner_accounts IS
	'A partner''s settlement account per currency (purpose SETTLEMENT, can_overdraw, credit '
	'mode DEFERRED so that it is never a lock hot spot): debited by deposits, credited by '
	'payouts.';

CREATE TABLE pg_wallet.agents (
	id text PRIMARY KEY CHECK (id ~ '^AGT-[A-Za-z0-9_-]{1,40}$'),
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'suspended')),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet.agents IS
	'Agents that assist withdrawals and earn a commission share of the withdrawal fee, '
	'credited to their COMMISSION_ACCOUNT in the withdrawal''s currency.';

CREATE TABLE pg_wallet.bank_codes (
	code text PRIMARY KEY CHECK (code ~ '^[0-9]{3}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	country text NOT NULL DEFAULT 'KE' CHECK (country ~ '^[A-Z]{2}$')
);
COMMENT ON TABLE pg_wallet.bank_codes IS
	'Banks that bank payouts can reach (Sellapay sendFundsToLocalBank codes).';

INSERT INTO pg_wallet.bank_codes (code, name) VALUES
	('001', 'KCB Group Limited'),
	('002', 'Barclays Bank'),
	('006', 'Co-operative Bank'),
	('007', 'Standard Chartered'),
	('008', 'Citibank Kenya'),
	('011', 'Diamond Trust Bank'),
	('014', 'National Bank of Kenya'),
	('015', 'Equity Bank'),
	('031', 'Housing Finance'),
	('032', 'Consolidated Bank Kenya');

-- ---------------------------------------------------------------------------------------
-- Deposits and payouts
-- ---------------------------------------------------------------------------------------

CREATE TABLE pg_wallet.deposits (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	request_ref text NOT NULL UNIQUE CHECK (length(request_ref) BETWEEN 1 AND 64),
	account_id bigint NOT NULL REFERENCES pg_wallet.accounts (id),
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	partner_id text NOT NULL REFERENCES pg_wallet.partners (id),
	channel text NOT NULL CHECK (channel IN ('cashier', 'sellapay', 'tribble', 'sql')),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	service text NOT NULL,
	payment_method text CHECK (length(payment_method) <= 64),
	phone text CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
	description text CHECK (length(description) <= 200),
	status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent_to_partner',
		'completed', 'failed', 'cancelled', 'expired')),
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
	request_hash bytea NOT NULL,
	partner_reference text CHECK (length(partner_reference) <= 128),
	partner_request_id text CHECK (length(partner_request_id) <= 128),
	journal_id bigint,
	fee_minor bigint,
	error text CHECK (length(error) <= 500),
	late boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	sent_at timestamptz,
	completed_at timestamptz,
	failed_at timestamptz,
	-- idempotency_key: the caller's, claimed in idempotency_keys (scope: the owner, so one
	-- merchant's reference never collides with another's)
	CHECK ((status = 'completed') = (journal_id IS NOT NULL))
);
CREATE INDEX deposits_owner_idx ON pg_wallet.deposits (owner_id, id);
CREATE INDEX deposits_open_expiry_idx ON pg_wallet.deposits (expires_at)
	WHERE status IN ('pending', 'sent_to_partner');
CREATE INDEX deposits_partner_request_idx ON pg_wallet.deposits (partner_id, partner_request_id)
	WHERE partner_request_id IS NOT NULL;
COMMENT ON TABLE pg_wallet.deposits IS
	'Deposit requests: pending (outbox row queued) -> sent_to_partner (the partner accepted '
	'it) -> completed (a CREDIT journal: partner settlement debited, wallet credited, DEPOSIT '
	'fee) or failed, cancelled, expired. A partner''s success reported after cancellation or '
	'expiry still credits the wallet (late = true): the money did arrive.';

CREATE TABLE pg_wallet.withdrawals (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	request_ref text NOT NULL UNIQUE CHECK (length(request_ref) BETWEEN 1 AND 64),
	account_id bigint NOT NULL REFERENCES pg_wallet.accounts (id),
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	partner_id text NOT NULL REFERENCES pg_wallet.partners (id),
	agent_id text REFERENCES pg_wallet.agents (id),
	channel text NOT NULL CHECK (channel IN ('cashier', 'sellapay', 'tribble', 'sql')),
	kind text NOT NULL CHECK (kind IN ('mobile', 'bank')),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	destination text NOT NULL CHECK (length(destination) BETWEEN 1 AND 64),
	bank_code text REFERENCES pg_wallet.bank_codes (code),
	account_name text CHECK (length(account_name) <= 100),
	narrative text CHECK (length(narrative) <= 200),
	hold_id bigint NOT NULL,
	principal_id uuid,  -- who asked for it, when known (cashier withdraw_request)
	status text NOT NULL DEFAULT 'processing'
		CHECK (status IN ('processing', 'completed', 'failed')),
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
	request_hash bytea NOT NULL,
	partner_reference text CHECK (length(partner_reference) <= 128),
	partner_request_id text CHECK (length(partner_request_id) <= 128),
	journal_id bigint,
	fee_minor bigint NOT NULL DEFAULT 0,
	commission_minor bigint NOT NULL DEFAULT 0,
	error text CHECK (length(error) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	deadline_at timestamptz NOT NULL,
	accepted_at timestamptz,
	completed_at timestamptz,
	failed_at timestamptz,
	-- idempotency_key: claimed in idempotency_keys, per owner as for deposits
	CHECK ((status = 'completed') = (journal_id IS NOT NULL))
);
CREATE INDEX withdrawals_owner_idx ON pg_wallet.withdrawals (owner_id, id);
CREATE INDEX withdrawals_open_deadline_idx ON pg_wallet.withdrawals (deadline_at)
	WHERE status = 'processing';
COMMENT ON TABLE pg_wallet.withdrawals IS
	'Payouts (to a phone, to a bank): the amount and its WITHDRAWAL fee are held at request '
	'time; the hold is posted on the partner''s success and voided on failure or when '
	'deadline_at passes without an answer.';

-- ---------------------------------------------------------------------------------------
-- The outbox
-- ---------------------------------------------------------------------------------------

CREATE TABLE pg_wallet.outbox (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id text NOT NULL UNIQUE CHECK (message_id ~ '^msg_[A-Za-z0-9_-]{1,60}$'),
	partner_id text REFERENCES pg_wallet.partners (id),
	kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{1,39}$'),
	subject_ref text CHECK (length(subject_ref) <= 64),
	method text NOT NULL DEFAULT 'POST' CHECK (method IN ('POST', 'PUT', 'GET')),
	url text NOT NULL CHECK (url ~ '^https?://[^[:space:]]+$' AND length(url) <= 1000),
	headers jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(headers) = 'object'),
	body jsonb,
	status text NOT NULL DEFAULT 'PENDING'
		CHECK (status IN ('PENDING', 'SENDING', 'DELIVERED', 'FAILED', 'DEAD', 'CANCELLED')),
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	lease_until timestamptz,
	last_http_status integer,
	last_error text CHECK (length(last_error) <= 1000),
	last_response text CHECK (length(last_response) <= 4000),
	last_elapsed_ms integer,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	delivered_at timestamptz
);
CREATE INDEX outbox_due_idx ON pg_wallet.outbox (next_attempt_at, id) WHERE status = 'PENDING';
CREATE INDEX outbox_sending_idx ON pg_wallet.outbox (lease_until) WHERE status = 'SENDING';
CREATE INDEX outbox_subject_idx ON pg_wallet.outbox (subject_ref);
COMMENT ON TABLE pg_wallet.outbox IS
	'Outbound HTTP calls, written in the transaction that decided them and delivered after '
	'its commit by the outbox worker: PENDING -> SENDING (claimed, leased) -> DELIVERED (2xx), '
	'FAILED (refused for good), DEAD (out of attempts) or back to PENDING for a retry; '
	'CANCELLED by an operator or when its subject ended. message_id is the Standard Webhooks '
	'webhook-id and the Idempotency-Key header, the same on every attempt.';

-- Outbox subjects of the layers above this one (payments' card authorisations): the layer
-- that owns a kind of request registers the three functions the partners layer calls for it
-- (by name, in schema pg_wallet), so this layer never names a function of a layer above it.
CREATE TABLE pg_wallet.partner_subject_kinds (
	-- the outbox rows' kind
	kind text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]{1,39}$'),
	-- the callbacks "<prefix>.completed" and "<prefix>.failed" are this kind's
	callback_prefix text NOT NULL UNIQUE CHECK (callback_prefix ~ '^[a-z][a-z_]{1,30}$'
		AND callback_prefix NOT IN ('deposit', 'payout')),
	-- (subject_ref text) -> boolean: whether the subject still waits for the partner
	open_function text NOT NULL CHECK (open_function ~ '^_[a-z][a-z0-9_]{1,62}$'),
	-- (subject_ref text, partner_id text, state text, partner_reference text, error text)
	answer_function text NOT NULL CHECK (answer_function ~ '^_[a-z][a-z0-9_]{1,62}$'),
	-- (pg_wallet.partners, jsonb callback body) -> jsonb result
	callback_function text NOT NULL CHECK (callback_function ~ '^_[a-z][a-z0-9_]{1,62}$')
);
COMMENT ON TABLE pg_wallet.partner_subject_kinds IS
	'Kinds of partner requests owned by a layer above partners: the functions the outbox '
	'adapters and partner_callback call for them (the subject still open, the answer to a '
	'request, a "<callback_prefix>.completed|failed" callback). Seeded by the owning layer.';

-- ---------------------------------------------------------------------------------------
-- Inbound callbacks
-- ---------------------------------------------------------------------------------------

CREATE TABLE pg_wallet.inbound_callbacks (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	partner_id text NOT NULL REFERENCES pg_wallet.partners (id),
	callback_id text NOT NULL CHECK (length(callback_id) BETWEEN 1 AND 256),
	body_hash bytea NOT NULL,
	subject_ref text,
	result jsonb NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (partner_id, callback_id)
);
COMMENT ON TABLE pg_wallet.inbound_callbacks IS
	'Callbacks accepted from partners, by the partner''s callback id (webhook-id, or the '
	'M-Pesa CheckoutRequestID / ConversationID): a repeat returns the first result and '
	'changes nothing.';

-- ---------------------------------------------------------------------------------------
-- Durable events
-- ---------------------------------------------------------------------------------------

CREATE SEQUENCE pg_wallet.event_id_seq AS bigint;

CREATE TABLE pg_wallet.event_streams (
	owner_id bigint PRIMARY KEY,
	last_event_id bigint NOT NULL,
	event_count bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE pg_wallet.event_streams IS
	'One row per owner that has events. Writing an event locks its owner''s row until '
	'commit, so one owner''s events commit in id order and a reader that resumes after an '
	'id never skips one that commits later.';

-- The shape of an event type, <domain>[:<name>] in lower case (events and event_queue check
-- it): written once, in C (partners/events_queue.c), which the direct writes call too.
CREATE FUNCTION pg_wallet._event_type_ok(event_type text) RETURNS boolean
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'wallet_event_type_ok';
COMMENT ON FUNCTION pg_wallet._event_type_ok(text) IS
	'Internal: whether an event type has the shape <domain>[:<name>] (lower case, _ allowed; '
	'2 to 40 and 1 to 40 characters): the CHECK of events and event_queue.';

CREATE TABLE pg_wallet.events (
	id bigint PRIMARY KEY,
	owner_id bigint NOT NULL,
	event_type text NOT NULL CHECK (pg_wallet._event_type_ok(event_type)),
	payload jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'
		AND octet_length(payload::text) <= 8192),
	created_at timestamptz NOT NULL DEFAULT now(),
	-- the principal the event is for: the one that caused it when known, else the owner's
	-- only principal; NULL when neither (routing stays by owner_id)
	principal_id uuid
);
CREATE INDEX events_owner_idx ON pg_wallet.events (owner_id, id);
COMMENT ON TABLE pg_wallet.events IS
	'Durable user-visible events (the cashier spec''s push events, the Tribble socket.io '
	'events), written in the transaction of the state change they report and announced by '
	'NOTIFY pg_wallet_events; get_events() resumes a stream after an id.';

-- One row per event, however many owners it goes to (a payment's: the customer and the
-- merchant), so the payload is written once: what a payment writes is what bounds its rate.
CREATE TABLE pg_wallet.event_queue (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the owners whose streams get the event, each with the principal it is for (or null)
	owner_ids bigint[] NOT NULL CHECK (cardinality(owner_ids) BETWEEN 1 AND 16
		AND array_position(owner_ids, NULL) IS NULL),
	principal_ids uuid[] NOT NULL,
	event_type text NOT NULL CHECK (pg_wallet._event_type_ok(event_type)),
	payload jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'
		AND octet_length(payload::text) <= 8192),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK (cardinality(principal_ids) = cardinality(owner_ids))
);
COMMENT ON TABLE pg_wallet.event_queue IS
	'Events written in the transaction of their state change but not yet in their streams: '
	'the outbox worker moves them into events (for each owner an id under the stream''s '
	'lock, the NOTIFY) in batches, so a transaction that queues one takes no stream lock and '
	'sends no NOTIFY (partners/events.sql, "Queued events"). One row per event and its '
	'owners. Normally empty.';
