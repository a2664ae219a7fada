-- Tables. Nobody but the extension's functions writes to them (see core/grants.sql).
--
-- Sign convention: an account's balance is credits minus debits. A debit lowers it, a credit
-- raises it. Every journal's entries sum to zero per currency (credits = debits), so the sum
-- of all balances of one currency is always zero: money enters the platform by debiting a
-- partner/float account (which goes negative, or is pre-funded) and crediting a wallet.

CREATE TABLE pg_wallet.currencies (
	code text PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
	numeric_code smallint CHECK (numeric_code BETWEEN 0 AND 999),
	exponent smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	is_active boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE pg_wallet.currencies IS
	'ISO 4217 currencies with their minor-unit exponent (KES 2, JPY 0, BHD 3).';

CREATE TABLE pg_wallet.owners (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL
		CHECK (kind IN ('user', 'client', 'merchant', 'partner', 'agent', 'platform')),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	external_ref text UNIQUE CHECK (length(external_ref) BETWEEN 1 AND 100),
	metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet.owners IS
	'Who owns accounts: users, clients, merchants, partners, agents and the platform itself.';

CREATE TABLE pg_wallet.account_purposes (
	code text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,39}$'),
	description text NOT NULL
);
COMMENT ON TABLE pg_wallet.account_purposes IS
	'What an account is for (WALLET, FLOAT_ACCOUNT, FEE_INCOME, ...).';

INSERT INTO pg_wallet.account_purposes (code, description) VALUES
	('WALLET', 'a user''s or client''s spendable balance'),
	('FLOAT_ACCOUNT', 'a client''s float used to fund payouts'),
	('AVAILABLE_COLLECTIONS', 'collections available to a client or merchant'),
	('HYBRID_ACCOUNT', 'collections and payouts in one account'),
	('ACQUIRER_RESERVE', 'reserve held for an acquirer'),
	('ROLLING_RESERVE', 'rolling reserve withheld from settlements'),
	('COMMISSION_ACCOUNT', 'commission earned by an agent or client'),
	('COMMISSION_TAX_ACCOUNT', 'tax withheld on commissions'),
	('FEE_INCOME', 'the platform''s fee income'),
	('FX_POSITION', 'the platform''s position in one currency from conversions'),
	('SUSPENSE', 'funds awaiting classification, and rounding residue'),
	('SETTLEMENT', 'a partner''s settlement account: money entering or leaving the platform');

CREATE TABLE pg_wallet.accounts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- validated by create_account(); no CHECK here: every posting updates this row, and
	-- PostgreSQL evaluates all of a row's CHECK constraints on every update
	account_number text NOT NULL UNIQUE,
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	exponent smallint NOT NULL,	-- the currency's, copied so postings need no join
	purpose text NOT NULL REFERENCES pg_wallet.account_purposes (code),
	name text CHECK (length(name) BETWEEN 1 AND 200),
	minimum_balance bigint NOT NULL DEFAULT 0,
	can_overdraw boolean NOT NULL DEFAULT false,
	credit_mode text NOT NULL DEFAULT 'DIRECT' CHECK (credit_mode IN ('DIRECT', 'DEFERRED')),
	is_system boolean NOT NULL DEFAULT false,
	status text NOT NULL DEFAULT 'ACTIVE'
		CHECK (status IN ('ACTIVE', 'INACTIVE', 'LOCKED', 'CLOSED')),
	status_reason text CHECK (length(status_reason) <= 500),
	balance bigint NOT NULL DEFAULT 0,
	pending_debit bigint NOT NULL DEFAULT 0 CHECK (pending_debit >= 0),
	version bigint NOT NULL DEFAULT 0,
	chain_hash bytea NOT NULL DEFAULT '\x'::bytea,
	metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	kyc_tier smallint CHECK (kyc_tier BETWEEN 0 AND 9),
	stripes smallint NOT NULL DEFAULT 0	-- set by set_account_stripes() only (0..64)
) WITH (fillfactor = 80);	-- room on the page: a posting's UPDATE stays HOT (issue 20)
CREATE INDEX accounts_owner_idx ON pg_wallet.accounts (owner_id);
COMMENT ON TABLE pg_wallet.accounts IS
	'Ledger accounts. balance, pending_debit, version and chain_hash are written only by the '
	'posting core. A DEFERRED account takes credits (and, when it can_overdraw, debits) as '
	'rows of account_deltas (no row lock), folded into balance by its next locked debit or by '
	'fold_deltas().';
COMMENT ON COLUMN pg_wallet.accounts.balance IS
	'Minor units; credits minus debits, not counting unfolded account_deltas.';
COMMENT ON COLUMN pg_wallet.accounts.minimum_balance IS
	'Minor units; the floor for balance - pending_debit after a debit. Negative = overdraft limit.';
COMMENT ON COLUMN pg_wallet.accounts.is_system IS
	'The platform''s own SYS-* accounts: always ACTIVE (their status cannot change), so postings '
	'need no status barrier on them.';
COMMENT ON COLUMN pg_wallet.accounts.can_overdraw IS
	'When true, debits are never refused for funds (system and partner accounts).';
COMMENT ON COLUMN pg_wallet.accounts.version IS
	'Number of journals that locked and changed this account; entries carry it.';
COMMENT ON COLUMN pg_wallet.accounts.kyc_tier IS
	'The KYC tier of the owner (the highest of its principals''), NULL when it has none: KYC '
	'limits apply to money leaving the account when it is set. Kept by the identity layer; the '
	'posting core reads it as data with the account''s lock.';
COMMENT ON COLUMN pg_wallet.accounts.chain_hash IS
	'SHA-256 chained over every journal that changed this account (tamper evidence).';
COMMENT ON COLUMN pg_wallet.accounts.stripes IS
	'Number of rows of account_stripes (0: not striped). A striped account takes credits as '
	'account_deltas and checked debits from a stripe''s allowance, without its row lock '
	'(docs/operations.md, "Hot accounts"). Written by set_account_stripes() only.';

-- Journal ids come from this sequence, drawn by the posting core before the insert so the
-- receipt code and the hash can be computed from the id.
CREATE SEQUENCE pg_wallet.journal_id_seq AS bigint;

CREATE TABLE pg_wallet.journals (
	id bigint PRIMARY KEY,
	journal_type text NOT NULL,	-- validated by the posting core (wallet_check_code)
	status text NOT NULL CHECK (status IN ('POSTED', 'REFUSED')),
	-- the caller's key, as given; claimed in idempotency_keys (scope: the owner)
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
	request_hash bytea,	-- of a keyed request (NULL without a key); the claim holds it too
	description text CHECK (length(description) <= 500),
	metadata jsonb NOT NULL DEFAULT '{}',
	reverses_journal_id bigint,	-- unique where set: journals_reverses_journal_id_key below
	refusal_sqlstate text CHECK (length(refusal_sqlstate) = 5),
	refusal_message text,
	hash bytea,
	created_at timestamptz NOT NULL DEFAULT now(),
	fee_minor bigint NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
	commission_minor bigint NOT NULL DEFAULT 0 CHECK (commission_minor >= 0),
	CHECK ((status = 'POSTED') = (hash IS NOT NULL)),
	CHECK ((status = 'REFUSED') = (refusal_sqlstate IS NOT NULL))
);
-- A journal is reversed at most once. Partial: almost every journal reverses nothing, and a
-- full index would take a NULL entry (and its WAL) for each posting (issue 20).
CREATE UNIQUE INDEX journals_reverses_journal_id_key ON pg_wallet.journals (reverses_journal_id)
	WHERE reverses_journal_id IS NOT NULL;
COMMENT ON TABLE pg_wallet.journals IS
	'One row per posting (balanced set of entries), or per refused request recorded under '
	'its idempotency key. Never updated or deleted. The receipt code is derived from the id.';

-- No foreign keys on entries and account_deltas: the posting core is their only writer and
-- verify_ledger() checks the references; an FK would take a KEY SHARE lock on the account row
-- for every entry, which turns hot accounts into multixact hot spots.
CREATE TABLE pg_wallet.entries (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	journal_id bigint NOT NULL,
	leg smallint NOT NULL CHECK (leg >= 1),
	account_id bigint NOT NULL,
	side text NOT NULL CHECK (side IN ('DR', 'CR')),
	amount bigint NOT NULL CHECK (amount > 0),
	balance_after bigint,
	account_version bigint,
	description text CHECK (length(description) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((balance_after IS NULL) = (account_version IS NULL))
);
CREATE INDEX entries_journal_idx ON pg_wallet.entries (journal_id);
CREATE INDEX entries_account_time_idx ON pg_wallet.entries (account_id, created_at, id);
COMMENT ON TABLE pg_wallet.entries IS
	'Journal legs. Never updated or deleted. balance_after and account_version are NULL for a '
	'credit taken by a DEFERRED account as a delta.';

CREATE TABLE pg_wallet.account_deltas (
	entry_id bigint PRIMARY KEY,
	account_id bigint NOT NULL,
	amount bigint NOT NULL CHECK (amount <> 0)	-- signed: credit +, debit -
);
CREATE INDEX account_deltas_account_idx ON pg_wallet.account_deltas (account_id);
COMMENT ON TABLE pg_wallet.account_deltas IS
	'Entries of DEFERRED accounts taken without a row lock (credits, and debits of accounts '
	'that can_overdraw), signed, not yet folded into accounts.balance. Rows are removed only '
	'by a fold, which adds them to the balance in the same transaction.';

-- Stripes of a hot account (issue 20, docs/operations.md "Hot accounts"): debit allowances
-- carved out of its available money, so that concurrent debits take different rows (SKIP
-- LOCKED) instead of the account's. For an account that cannot overdraw, always:
-- balance + sum(deltas) - pending_debit - minimum_balance >= sum(allowance)
-- (verify_ledger() checks it). Written by the posting core only (single-writer trigger).
CREATE TABLE pg_wallet.account_stripes (
	account_id bigint NOT NULL,
	stripe smallint NOT NULL CHECK (stripe >= 0),
	allowance bigint NOT NULL DEFAULT 0 CHECK (allowance >= 0),
	version bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, stripe)
) WITH (fillfactor = 50);	-- room on the page: every stripe debit's UPDATE stays HOT
COMMENT ON TABLE pg_wallet.account_stripes IS
	'Stripes of striped accounts: each holds a debit allowance (minor units) that a debit may '
	'take without the account''s row lock; version counts its writes. Consolidated and refilled '
	'by the plain path and by rebalance_stripes().';

-- No foreign keys to accounts, for the same reason as entries: an FK check takes a KEY SHARE
-- lock on the counterpart's row, which waits for (and deadlocks with) postings holding it.
CREATE TABLE pg_wallet.holds (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id bigint NOT NULL,
	counterpart_account_id bigint NOT NULL,
	amount bigint NOT NULL CHECK (amount > 0),
	posted_amount bigint CHECK (posted_amount > 0 AND posted_amount <= amount),
	fee_type text,
	fee_minor bigint NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
	commission_minor bigint NOT NULL DEFAULT 0 CHECK (commission_minor <= fee_minor),
	agent_account_id bigint,
	limit_counted boolean NOT NULL DEFAULT false,
	status text NOT NULL DEFAULT 'ACTIVE'
		CHECK (status IN ('ACTIVE', 'POSTED', 'VOIDED', 'EXPIRED')),
	-- the caller's key, as given; claimed in idempotency_keys (scope: the owner)
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
	request_hash bytea,
	description text CHECK (length(description) <= 500),
	expires_at timestamptz,
	journal_id bigint,
	closed_reason text CHECK (length(closed_reason) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	closed_at timestamptz,
	-- a request a rule held for review instead of posting it (docs/fraud.md, HOLD): what
	-- post_hold posts; NULL for a hold placed with place_hold
	review jsonb CHECK (jsonb_typeof(review) = 'object'),
	CHECK ((status = 'POSTED') = (journal_id IS NOT NULL)),
	CHECK ((status = 'ACTIVE') = (closed_at IS NULL))
);
CREATE INDEX holds_active_expiry_idx ON pg_wallet.holds (expires_at) WHERE status = 'ACTIVE';
CREATE INDEX holds_active_account_idx ON pg_wallet.holds (account_id) WHERE status = 'ACTIVE';
CREATE INDEX holds_active_counterpart_idx ON pg_wallet.holds (counterpart_account_id)
	WHERE status = 'ACTIVE';
COMMENT ON TABLE pg_wallet.holds IS
	'Two-phase reservations: an ACTIVE hold adds amount + fee_minor to its account''s '
	'pending_debit (the fee of its fee_type, quoted when placed); it is later '
	'POSTED (a journal), VOIDED or EXPIRED. pending_credit of an account is derived from the '
	'ACTIVE holds that name it as counterpart.';

-- Idempotency keys: the one claim of every request that takes a key, whatever moves the
-- money (a journal, a hold, a deposit, a withdrawal, and every later domain). A key belongs
-- to a scope, the owner of the account the request acts for, so one owner's key never
-- replays or refuses another owner's request. The first request under a key records its
-- kind, the hash of what it asked and the id of its result; a retry with the same hash gets
-- that result (a refused journal included: its refusal is the result), anything else under
-- the key is refused with WL003. Written by src/core/idempotency.c only.
CREATE TABLE pg_wallet.idempotency_keys (
	scope bigint NOT NULL,
	key text NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
	-- the kind of request (journal, hold, deposit, withdrawal, payment, refund, airtime...):
	-- named by the layer that claims the key, so this one lists none of the layers above
	kind text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{1,19}$'),
	request_hash bytea,
	result_id bigint NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (scope, key)
);
COMMENT ON TABLE pg_wallet.idempotency_keys IS
	'The claim of every idempotency key: (scope = the owner of the account the request acts '
	'for, key) -> the kind of request, the hash of the request and the id of its result '
	'(journals.id, holds.id, deposits.id, withdrawals.id, payments.id, refunds.id, '
	'airtime_topups.id). Never updated or deleted.';

-- The stamp of the posting configuration: it changes whenever something that postings cache
-- per backend changes (fee schedules, system accounts). Each backend reloads its caches only
-- when the stamp it reads with its account locks differs from its caches'. Layers above the
-- core bump it (pg_wallet._bump_rules_generation()) when they change what they cache.
-- (A time in microseconds, so that a re-created extension never repeats an old stamp.)
CREATE TABLE pg_wallet.rules_generation (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	generation bigint NOT NULL
);
INSERT INTO pg_wallet.rules_generation (generation)
VALUES ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
COMMENT ON TABLE pg_wallet.rules_generation IS
	'One row: the stamp of the posting configuration (fee schedules, system accounts), bumped '
	'by every change to it; postings read it with their account locks.';
