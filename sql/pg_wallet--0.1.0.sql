-- pg_wallet install script, assembled by the Makefile from sql/parts/*.sql in name order.
-- Order: types, tables, functions, grants (STYLE.md rule 5).

\echo Use "CREATE EXTENSION pg_wallet" to load this file. \quit
-- The schema. PostgreSQL reserves the pg_ prefix for system schemas; the product's public
-- name is pg_wallet (DESIGN.md: pg_wallet.<api function>), so the script, which only a
-- superuser runs, lifts the reservation for this one statement. The schema is a member of
-- the extension: DROP EXTENSION pg_wallet drops it.
SET LOCAL allow_system_table_mods = on;
CREATE SCHEMA pg_wallet;
RESET allow_system_table_mods;
COMMENT ON SCHEMA pg_wallet IS 'pg_wallet: double-entry wallet and payments ledger';
-- Composite types returned by the API. Amounts are numeric with the currency's exponent as
-- scale; internally everything is int64 minor units.

CREATE TYPE pg_wallet.journal_result AS (
	journal_id bigint,
	receipt_code text,
	status text,            -- POSTED or REFUSED
	replayed boolean,       -- true when an idempotency key returned an earlier result
	sqlstate text,          -- set when REFUSED
	message text,           -- set when REFUSED
	created_at timestamptz,
	fee numeric,            -- fee charged by the money rules (POSTED)
	agent_commission numeric -- part of the fee credited to an agent (POSTED)
);

CREATE TYPE pg_wallet.fee_quote AS (
	fee numeric,
	currency text,
	applied_rate numeric,
	fee_type text,
	bearer text,            -- SENDER, RECEIVER or SPLIT
	sender_fee numeric,
	receiver_fee numeric,
	agent_commission numeric,
	schedule_id bigint      -- NULL: no schedule applies, no fee
);

CREATE TYPE pg_wallet.batch_item_result AS (
	item integer,           -- 1-based position in the batch
	status text,            -- POSTED, REFUSED or SKIPPED (atomic batch never returns these)
	journal_id bigint,
	receipt_code text,
	replayed boolean,
	sqlstate text,
	message text
);

CREATE TYPE pg_wallet.account_info AS (
	account_id bigint,
	account_number text,
	owner_id bigint,
	currency text,
	purpose text,
	name text,
	minimum_balance numeric,
	can_overdraw boolean,
	credit_mode text,
	status text,
	status_reason text,
	created_at timestamptz,
	updated_at timestamptz
);

CREATE TYPE pg_wallet.balance_info AS (
	account_number text,
	currency text,
	balance numeric,
	available_balance numeric,
	pending_debit numeric,
	pending_credit numeric,
	last_transaction_at timestamptz
);

CREATE TYPE pg_wallet.hold_info AS (
	hold_id bigint,
	account_number text,
	counterpart_account_number text,
	currency text,
	amount numeric,
	posted_amount numeric,
	status text,            -- ACTIVE, POSTED, VOIDED, EXPIRED
	expires_at timestamptz,
	journal_id bigint,
	receipt_code text,
	replayed boolean,
	created_at timestamptz,
	closed_at timestamptz,
	fee numeric             -- reserved with the amount, charged when the hold is posted
);

CREATE TYPE pg_wallet.entry_info AS (
	entry_id bigint,
	journal_id bigint,
	receipt_code text,
	journal_type text,
	account_number text,
	currency text,
	side text,              -- DR or CR
	amount numeric,
	balance_after numeric,  -- NULL for a not yet folded credit to a DEFERRED account
	description text,
	created_at timestamptz
);

CREATE TYPE pg_wallet.ledger_violation AS (
	check_name text,
	subject text,
	detail text
);

CREATE TYPE pg_wallet.conversion_result AS (
	journal_id bigint,
	receipt_code text,
	status text,
	replayed boolean,
	source_currency text,
	dest_currency text,
	source_amount numeric,
	converted_amount numeric,
	fx_rate numeric,        -- the effective rate applied: rate x (1 - spread)
	fx_rate_id bigint,
	fee numeric,            -- in the source currency, paid by the sender
	created_at timestamptz
);
-- Tables. Nobody but the extension's functions writes to them (see 99_grants.sql).
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
	updated_at timestamptz NOT NULL DEFAULT now()
);
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
COMMENT ON COLUMN pg_wallet.accounts.chain_hash IS
	'SHA-256 chained over every journal that changed this account (tamper evidence).';

-- Journal ids come from this sequence, drawn by the posting core before the insert so the
-- receipt code and the hash can be computed from the id.
CREATE SEQUENCE pg_wallet.journal_id_seq AS bigint;

CREATE TABLE pg_wallet.journals (
	id bigint PRIMARY KEY,
	journal_type text NOT NULL,	-- validated by the posting core (wallet_check_code)
	status text NOT NULL CHECK (status IN ('POSTED', 'REFUSED')),
	idempotency_key text UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 128),
	request_hash bytea,
	description text CHECK (length(description) <= 500),
	metadata jsonb NOT NULL DEFAULT '{}',
	reverses_journal_id bigint UNIQUE,
	refusal_sqlstate text CHECK (length(refusal_sqlstate) = 5),
	refusal_message text,
	hash bytea,
	created_at timestamptz NOT NULL DEFAULT now(),
	fee_minor bigint NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
	commission_minor bigint NOT NULL DEFAULT 0 CHECK (commission_minor >= 0),
	CHECK ((status = 'POSTED') = (hash IS NOT NULL)),
	CHECK ((status = 'REFUSED') = (refusal_sqlstate IS NOT NULL))
);
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
	idempotency_key text UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 128),
	request_hash bytea,
	description text CHECK (length(description) <= 500),
	expires_at timestamptz,
	journal_id bigint,
	closed_reason text CHECK (length(closed_reason) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	closed_at timestamptz,
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
-- Money rules: fee schedules, client services, FX rates and quotes. Amounts that are not tied
-- to one currency (a client service's limits, a fee schedule that applies to any currency)
-- are stored as *_e4: integers in units of 10^-4 of the currency's major unit, which every
-- ISO 4217 exponent (0..4) converts to exactly. Rates are exact numerics, never float.

CREATE TABLE pg_wallet.client_services (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_]{2,39}$'),
	client_owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	service_code text NOT NULL CHECK (service_code ~ '^[A-Z][A-Z0-9_]{1,39}$'),
	allow_credit boolean NOT NULL DEFAULT true,
	allow_debit boolean NOT NULL DEFAULT true,
	minimum_amount_e4 bigint NOT NULL DEFAULT 0 CHECK (minimum_amount_e4 >= 0),
	maximum_amount_e4 bigint CHECK (maximum_amount_e4 >= minimum_amount_e4),
	is_active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK (allow_credit OR allow_debit)
);
CREATE INDEX client_services_client_idx ON pg_wallet.client_services (client_owner_id);
COMMENT ON TABLE pg_wallet.client_services IS
	'Wallet-as-a-service client services: which directions a client may post, amount limits '
	'and (through fee_schedules) the fee. Every posting that names one is checked against it.';

CREATE TABLE pg_wallet.fee_schedules (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	transaction_type text NOT NULL CHECK (transaction_type IN ('TRANSFER', 'WITHDRAWAL',
		'DEPOSIT', 'CONVERSION', 'PAYMENT', 'PAYOUT', 'BILL_PAYMENT', 'SUBSCRIPTION')),
	client_service_id bigint REFERENCES pg_wallet.client_services (id),
	currency text REFERENCES pg_wallet.currencies (code),
	band_min_e4 bigint CHECK (band_min_e4 >= 0),
	band_max_e4 bigint CHECK (band_max_e4 >= coalesce(band_min_e4, 0)),
	fee_kind text NOT NULL CHECK (fee_kind IN ('FIXED', 'PERCENTAGE', 'TIERED')),
	fixed_e4 bigint NOT NULL DEFAULT 0 CHECK (fixed_e4 >= 0),
	rate numeric(12, 8) NOT NULL DEFAULT 0 CHECK (rate >= 0 AND rate <= 1),
	min_fee_e4 bigint CHECK (min_fee_e4 >= 0),
	max_fee_e4 bigint CHECK (max_fee_e4 >= coalesce(min_fee_e4, 0)),
	bearer text NOT NULL DEFAULT 'SENDER' CHECK (bearer IN ('SENDER', 'RECEIVER', 'SPLIT')),
	sender_share numeric(5, 4) NOT NULL DEFAULT 1 CHECK (sender_share >= 0 AND sender_share <= 1),
	commission_rate numeric(12, 8) NOT NULL DEFAULT 0
		CHECK (commission_rate >= 0 AND commission_rate <= 1),
	is_active boolean NOT NULL DEFAULT true,
	valid_from timestamptz NOT NULL DEFAULT '-infinity',
	valid_to timestamptz,
	description text CHECK (length(description) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX fee_schedules_type_idx ON pg_wallet.fee_schedules (transaction_type)
	WHERE is_active;
COMMENT ON TABLE pg_wallet.fee_schedules IS
	'Fees by transaction type, optionally per client service, currency and amount band. '
	'fee = fixed + round_half_up(amount x rate), then clamped to [min_fee, max_fee]; TIERED '
	'takes fixed and rate from the first tier whose up_to covers the amount. The most '
	'specific active schedule wins: client service, then currency, then band, then lowest id.';
COMMENT ON COLUMN pg_wallet.fee_schedules.commission_rate IS
	'Share of the fee credited to the agent''s commission account when an agent is named.';
COMMENT ON COLUMN pg_wallet.fee_schedules.sender_share IS
	'For bearer SPLIT: the share of the fee the sender pays (rounded half up); the receiver '
	'pays the rest.';

CREATE TABLE pg_wallet.fee_tiers (
	schedule_id bigint NOT NULL REFERENCES pg_wallet.fee_schedules (id),
	up_to_e4 bigint NOT NULL CHECK (up_to_e4 > 0),
	fixed_e4 bigint NOT NULL DEFAULT 0 CHECK (fixed_e4 >= 0),
	rate numeric(12, 8) NOT NULL DEFAULT 0 CHECK (rate >= 0 AND rate <= 1),
	PRIMARY KEY (schedule_id, up_to_e4)
);
COMMENT ON TABLE pg_wallet.fee_tiers IS
	'Bands of a TIERED fee schedule: amounts up to up_to_e4 (inclusive) pay fixed + rate.';

CREATE TABLE pg_wallet.fx_rates (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	base_currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	quote_currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	rate numeric(24, 12) NOT NULL CHECK (rate > 0),
	spread numeric(12, 8) NOT NULL DEFAULT 0 CHECK (spread >= 0 AND spread < 1),
	valid_from timestamptz NOT NULL DEFAULT now(),
	valid_to timestamptz,
	source text CHECK (length(source) <= 100),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK (base_currency <> quote_currency),
	CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX fx_rates_pair_idx ON pg_wallet.fx_rates (base_currency, quote_currency, valid_from);
COMMENT ON TABLE pg_wallet.fx_rates IS
	'1 base = rate quote (mid). A conversion pays rate x (1 - spread). The latest rate valid '
	'now is used unless a rate id or a locked quote is given; the inverse pair is used when '
	'only the other direction is quoted.';

CREATE TABLE pg_wallet.fx_quotes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	rate_id bigint NOT NULL REFERENCES pg_wallet.fx_rates (id),
	from_currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	to_currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	effective_rate numeric(24, 12) NOT NULL CHECK (effective_rate > 0),
	expires_at timestamptz NOT NULL,
	used_journal_id bigint,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet.fx_quotes IS
	'A rate locked for a short time (fx_quote()); convert() can use it once before it expires.';

-- Rolling usage counters for KYC tier limits (pg_wallet.kyc_tier_limits): one row per owner,
-- currency and period (D: a UTC day, M: a UTC month), updated in the same transaction as the
-- posting they count, so a limit is checked without scanning history. Rows are locked in
-- (owner, currency, period) order, so concurrent postings of one owner queue on them.
CREATE TABLE pg_wallet.limit_usage (
	owner_id bigint NOT NULL,
	currency text NOT NULL,
	period "char" NOT NULL CHECK (period IN ('D', 'M')),
	period_start date NOT NULL,
	amount_minor bigint NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
	tx_count integer NOT NULL DEFAULT 0 CHECK (tx_count >= 0),
	PRIMARY KEY (owner_id, currency, period, period_start)
);
COMMENT ON TABLE pg_wallet.limit_usage IS
	'What an owner moved out of its accounts per currency and UTC day or month, for the KYC '
	'tier limits. Written only by the posting core.';

-- A stamp that changes whenever a fee schedule changes: each backend caches the schedules and
-- reloads them only when the stamp it reads with its account locks differs from its cache's.
-- (A time in microseconds, so that a re-created extension never repeats an old stamp.)
CREATE TABLE pg_wallet.rules_generation (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	generation bigint NOT NULL
);
INSERT INTO pg_wallet.rules_generation (generation)
VALUES ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
COMMENT ON TABLE pg_wallet.rules_generation IS
	'One row: the stamp of the fee schedules, bumped by every change to them.';
-- Currency reference data: every current ISO 4217 currency with its minor-unit exponent.
--
-- Source: ISO 4217 List One (current currencies and funds) as published 2026-01-01 by its
-- maintenance agency, i.e. with amendments up to No. 180. exponent is the list's "minor unit"
-- column: an amount is stored as an integer count of 10^-exponent of the unit (USD 2, JPY 0,
-- BHD 3, CLF 4). numeric_code is the ISO 3-digit number (written without leading zeros).
--
-- What is included: every code that is the currency, or a fund/index unit, of a country or a
-- currency union. So the CFA francs XAF and XOF, the CFP franc XPF, the East Caribbean dollar
-- XCD and the Caribbean guilder XCG are here, and so are the country fund codes BOV, CHE, CHW,
-- CLF, COU, MXV, USN, UYI and UYW (ISO gives each a real minor unit). Left out are the X codes
-- that are nobody's money: precious metals (XAU, XAG, XPT, XPD), bond-market units (XBA, XBB,
-- XBC, XBD), supranational units of account (XDR, XSU, XUA, XAD), the testing code XTS and
-- XXX ("no currency").
--
-- Recent changes followed: ZWG (924) replaced ZWL in 2024; XCG (532, ANG's old number) replaced
-- ANG in 2025; SLE (925) replaced SLL; VED (926) exists beside VES (928); MRU and STN replaced
-- MRO and STD in 2018. Withdrawn codes are not inserted: ANG, BGN (Bulgaria adopted the euro
-- on 2026-01-01), CUC, HRK, SLL, ZWL. Add any of them with is_active = false if historical
-- balances ever need it.
--
-- Names are plain-ASCII English names, not ISO's official wording (e.g. 'Lao kip').

INSERT INTO pg_wallet.currencies (code, numeric_code, exponent, name) VALUES
	('AED', 784, 2, 'United Arab Emirates dirham'),
	('AFN', 971, 2, 'Afghan afghani'),
	('ALL',   8, 2, 'Albanian lek'),
	('AMD',  51, 2, 'Armenian dram'),
	('AOA', 973, 2, 'Angolan kwanza'),
	('ARS',  32, 2, 'Argentine peso'),
	('AUD',  36, 2, 'Australian dollar'),
	('AWG', 533, 2, 'Aruban florin'),
	('AZN', 944, 2, 'Azerbaijani manat'),
	('BAM', 977, 2, 'Bosnia and Herzegovina convertible mark'),
	('BBD',  52, 2, 'Barbados dollar'),
	('BDT',  50, 2, 'Bangladeshi taka'),
	('BHD',  48, 3, 'Bahraini dinar'),
	('BIF', 108, 0, 'Burundian franc'),
	('BMD',  60, 2, 'Bermudian dollar'),
	('BND',  96, 2, 'Brunei dollar'),
	('BOB',  68, 2, 'Bolivian boliviano'),
	('BOV', 984, 2, 'Bolivian Mvdol (funds code)'),
	('BRL', 986, 2, 'Brazilian real'),
	('BSD',  44, 2, 'Bahamian dollar'),
	('BTN',  64, 2, 'Bhutanese ngultrum'),
	('BWP',  72, 2, 'Botswana pula'),
	('BYN', 933, 2, 'Belarusian ruble'),
	('BZD',  84, 2, 'Belize dollar'),
	('CAD', 124, 2, 'Canadian dollar'),
	('CDF', 976, 2, 'Congolese franc'),
	('CHE', 947, 2, 'WIR euro (complementary currency)'),
	('CHF', 756, 2, 'Swiss franc'),
	('CHW', 948, 2, 'WIR franc (complementary currency)'),
	('CLF', 990, 4, 'Chilean Unidad de Fomento (funds code)'),
	('CLP', 152, 0, 'Chilean peso'),
	('CNY', 156, 2, 'Chinese yuan renminbi'),
	('COP', 170, 2, 'Colombian peso'),
	('COU', 970, 2, 'Colombian Unidad de Valor Real (funds code)'),
	('CRC', 188, 2, 'Costa Rican colon'),
	('CUP', 192, 2, 'Cuban peso'),
	('CVE', 132, 2, 'Cape Verdean escudo'),
	('CZK', 203, 2, 'Czech koruna'),
	('DJF', 262, 0, 'Djiboutian franc'),
	('DKK', 208, 2, 'Danish krone'),
	('DOP', 214, 2, 'Dominican peso'),
	('DZD',  12, 2, 'Algerian dinar'),
	('EGP', 818, 2, 'Egyptian pound'),
	('ERN', 232, 2, 'Eritrean nakfa'),
	('ETB', 230, 2, 'Ethiopian birr'),
	('EUR', 978, 2, 'Euro'),
	('FJD', 242, 2, 'Fiji dollar'),
	('FKP', 238, 2, 'Falkland Islands pound'),
	('GBP', 826, 2, 'Pound sterling'),
	('GEL', 981, 2, 'Georgian lari'),
	('GHS', 936, 2, 'Ghanaian cedi'),
	('GIP', 292, 2, 'Gibraltar pound'),
	('GMD', 270, 2, 'Gambian dalasi'),
	('GNF', 324, 0, 'Guinean franc'),
	('GTQ', 320, 2, 'Guatemalan quetzal'),
	('GYD', 328, 2, 'Guyanese dollar'),
	('HKD', 344, 2, 'Hong Kong dollar'),
	('HNL', 340, 2, 'Honduran lempira'),
	('HTG', 332, 2, 'Haitian gourde'),
	('HUF', 348, 2, 'Hungarian forint'),
	('IDR', 360, 2, 'Indonesian rupiah'),
	('ILS', 376, 2, 'Israeli new shekel'),
	('INR', 356, 2, 'Indian rupee'),
	('IQD', 368, 3, 'Iraqi dinar'),
	('IRR', 364, 2, 'Iranian rial'),
	('ISK', 352, 0, 'Icelandic krona'),
	('JMD', 388, 2, 'Jamaican dollar'),
	('JOD', 400, 3, 'Jordanian dinar'),
	('JPY', 392, 0, 'Japanese yen'),
	('KES', 404, 2, 'Kenyan shilling'),
	('KGS', 417, 2, 'Kyrgyzstani som'),
	('KHR', 116, 2, 'Cambodian riel'),
	('KMF', 174, 0, 'Comorian franc'),
	('KPW', 408, 2, 'North Korean won'),
	('KRW', 410, 0, 'South Korean won'),
	('KWD', 414, 3, 'Kuwaiti dinar'),
	('KYD', 136, 2, 'Cayman Islands dollar'),
	('KZT', 398, 2, 'Kazakhstani tenge'),
	('LAK', 418, 2, 'Lao kip'),
	('LBP', 422, 2, 'Lebanese pound'),
	('LKR', 144, 2, 'Sri Lankan rupee'),
	('LRD', 430, 2, 'Liberian dollar'),
	('LSL', 426, 2, 'Lesotho loti'),
	('LYD', 434, 3, 'Libyan dinar'),
	('MAD', 504, 2, 'Moroccan dirham'),
	('MDL', 498, 2, 'Moldovan leu'),
	('MGA', 969, 2, 'Malagasy ariary'),
	('MKD', 807, 2, 'Macedonian denar'),
	('MMK', 104, 2, 'Myanmar kyat'),
	('MNT', 496, 2, 'Mongolian togrog'),
	('MOP', 446, 2, 'Macanese pataca'),
	('MRU', 929, 2, 'Mauritanian ouguiya'),
	('MUR', 480, 2, 'Mauritian rupee'),
	('MVR', 462, 2, 'Maldivian rufiyaa'),
	('MWK', 454, 2, 'Malawian kwacha'),
	('MXN', 484, 2, 'Mexican peso'),
	('MXV', 979, 2, 'Mexican Unidad de Inversion (funds code)'),
	('MYR', 458, 2, 'Malaysian ringgit'),
	('MZN', 943, 2, 'Mozambican metical'),
	('NAD', 516, 2, 'Namibian dollar'),
	('NGN', 566, 2, 'Nigerian naira'),
	('NIO', 558, 2, 'Nicaraguan cordoba'),
	('NOK', 578, 2, 'Norwegian krone'),
	('NPR', 524, 2, 'Nepalese rupee'),
	('NZD', 554, 2, 'New Zealand dollar'),
	('OMR', 512, 3, 'Omani rial'),
	('PAB', 590, 2, 'Panamanian balboa'),
	('PEN', 604, 2, 'Peruvian sol'),
	('PGK', 598, 2, 'Papua New Guinean kina'),
	('PHP', 608, 2, 'Philippine peso'),
	('PKR', 586, 2, 'Pakistani rupee'),
	('PLN', 985, 2, 'Polish zloty'),
	('PYG', 600, 0, 'Paraguayan guarani'),
	('QAR', 634, 2, 'Qatari riyal'),
	('RON', 946, 2, 'Romanian leu'),
	('RSD', 941, 2, 'Serbian dinar'),
	('RUB', 643, 2, 'Russian ruble'),
	('RWF', 646, 0, 'Rwandan franc'),
	('SAR', 682, 2, 'Saudi riyal'),
	('SBD',  90, 2, 'Solomon Islands dollar'),
	('SCR', 690, 2, 'Seychelles rupee'),
	('SDG', 938, 2, 'Sudanese pound'),
	('SEK', 752, 2, 'Swedish krona'),
	('SGD', 702, 2, 'Singapore dollar'),
	('SHP', 654, 2, 'Saint Helena pound'),
	('SLE', 925, 2, 'Sierra Leonean leone'),
	('SOS', 706, 2, 'Somali shilling'),
	('SRD', 968, 2, 'Surinamese dollar'),
	('SSP', 728, 2, 'South Sudanese pound'),
	('STN', 930, 2, 'Sao Tome and Principe dobra'),
	('SVC', 222, 2, 'Salvadoran colon'),
	('SYP', 760, 2, 'Syrian pound'),
	('SZL', 748, 2, 'Swazi lilangeni'),
	('THB', 764, 2, 'Thai baht'),
	('TJS', 972, 2, 'Tajikistani somoni'),
	('TMT', 934, 2, 'Turkmenistan manat'),
	('TND', 788, 3, 'Tunisian dinar'),
	('TOP', 776, 2, 'Tongan pa''anga'),
	('TRY', 949, 2, 'Turkish lira'),
	('TTD', 780, 2, 'Trinidad and Tobago dollar'),
	('TWD', 901, 2, 'New Taiwan dollar'),
	('TZS', 834, 2, 'Tanzanian shilling'),
	('UAH', 980, 2, 'Ukrainian hryvnia'),
	('UGX', 800, 0, 'Ugandan shilling'),
	('USD', 840, 2, 'United States dollar'),
	('USN', 997, 2, 'United States dollar, next day (funds code)'),
	('UYI', 940, 0, 'Uruguay peso en unidades indexadas (funds code)'),
	('UYU', 858, 2, 'Uruguayan peso'),
	('UYW', 927, 4, 'Uruguayan unidad previsional'),
	('UZS', 860, 2, 'Uzbekistani sum'),
	('VED', 926, 2, 'Venezuelan digital bolivar'),
	('VES', 928, 2, 'Venezuelan sovereign bolivar'),
	('VND', 704, 0, 'Vietnamese dong'),
	('VUV', 548, 0, 'Vanuatu vatu'),
	('WST', 882, 2, 'Samoan tala'),
	('XAF', 950, 0, 'CFA franc BEAC'),
	('XCD', 951, 2, 'East Caribbean dollar'),
	('XCG', 532, 2, 'Caribbean guilder'),
	('XOF', 952, 0, 'CFA franc BCEAO'),
	('XPF', 953, 0, 'CFP franc'),
	('YER', 886, 2, 'Yemeni rial'),
	('ZAR', 710, 2, 'South African rand'),
	('ZMW', 967, 2, 'Zambian kwacha'),
	('ZWG', 924, 2, 'Zimbabwe gold');
-- The platform's own accounts, one of each per currency, named SYS-<KIND>-<CUR>:
--   SYS-FEE-<CUR>      FEE_INCOME   fees charged; DEFERRED (every fee-bearing posting credits it)
--   SYS-FX-<CUR>       FX_POSITION  the platform's position from conversions; DEFERRED and
--                                   can_overdraw (both legs of every conversion touch one)
--   SYS-SUSPENSE-<CUR> SUSPENSE     unclassified funds; DEFERRED and can_overdraw
-- They are created here for every currency, so no posting ever has to create one.

INSERT INTO pg_wallet.owners (kind, name, external_ref)
VALUES ('platform', 'pg_wallet platform', 'pg_wallet:platform');

INSERT INTO pg_wallet.accounts (account_number, owner_id, currency, exponent, purpose, name,
	can_overdraw, credit_mode, is_system)
SELECT format('SYS-%s-%s', k.tag, c.code), o.id, c.code, c.exponent, k.purpose,
	format('Platform %s %s', k.label, c.code), k.overdraw, 'DEFERRED', true
FROM pg_wallet.currencies c
CROSS JOIN (VALUES ('FEE', 'FEE_INCOME', 'fee income', false),
                   ('FX', 'FX_POSITION', 'FX position', true),
                   ('SUSPENSE', 'SUSPENSE', 'suspense', true)) AS k(tag, purpose, label, overdraw)
CROSS JOIN pg_wallet.owners o
WHERE o.external_ref = 'pg_wallet:platform'
ORDER BY c.code, k.tag;
-- Amounts and receipt codes (C, src/amount.c and src/receipt.c).

CREATE FUNCTION pg_wallet.amount_parse(amount text, currency text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_amount_parse_text'
LANGUAGE C STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.amount_parse(text, text) IS
	'Exact decimal text to minor units of the currency; more decimals than the currency has '
	'(other than trailing zeros), NaN, infinities and overflow are errors (SQLSTATE WL010).';

CREATE FUNCTION pg_wallet.amount_parse(amount numeric, currency text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_amount_parse_numeric'
LANGUAGE C STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.amount_parse(numeric, text) IS
	'Exact numeric to minor units of the currency; same rules as amount_parse(text, text).';

CREATE FUNCTION pg_wallet.amount_format(amount_minor bigint, currency text)
RETURNS numeric
AS 'MODULE_PATHNAME', 'wallet_amount_format'
LANGUAGE C STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.amount_format(bigint, text) IS
	'Minor units to an exact numeric with the currency''s exponent as scale (1050, KES -> 10.50).';

CREATE FUNCTION pg_wallet.receipt_code(journal_id bigint, created_at timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_receipt_code'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.receipt_code(bigint, timestamptz) IS
	'The receipt code (RCP-<year>-<18 digits>) of a journal, derived from its id.';

CREATE FUNCTION pg_wallet.journal_id_from_receipt(receipt_code text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_journal_id_from_receipt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.journal_id_from_receipt(text) IS
	'The journal id a receipt code decodes to, or NULL when malformed. Does not check that '
	'the journal exists; get_journal() does.';

CREATE FUNCTION pg_wallet.minor_to_numeric(amount_minor bigint, exponent smallint)
RETURNS numeric
AS 'MODULE_PATHNAME', 'wallet_minor_to_numeric'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.minor_to_numeric(bigint, smallint) IS
	'Minor units to an exact numeric with the given exponent as scale.';
-- Owners and accounts. Plain SQL: creating and describing accounts moves no money.

CREATE FUNCTION pg_wallet.create_owner(
	kind text,
	name text,
	external_ref text DEFAULT NULL,
	metadata jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF kind IS NULL OR kind NOT IN ('user', 'client', 'merchant', 'partner', 'agent', 'platform')
	THEN
		RAISE EXCEPTION 'owner kind "%" is not valid', kind
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use user, client, merchant, partner, agent or platform.';
	END IF;
	IF name IS NULL OR length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'owner name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF external_ref IS NOT NULL AND length(external_ref) NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'external_ref must be 1 to 100 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF metadata IS NULL OR jsonb_typeof(metadata) <> 'object'
		OR octet_length(metadata::text) > 8192 THEN
		RAISE EXCEPTION 'metadata must be a JSON object of at most 8192 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.external_ref = create_owner.external_ref)
	THEN
		RAISE EXCEPTION 'an owner with external_ref "%" already exists', external_ref
			USING ERRCODE = 'unique_violation';
	END IF;
	INSERT INTO pg_wallet.owners (kind, name, external_ref, metadata)
	VALUES (kind, name, external_ref, metadata)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet.create_owner(text, text, text, jsonb) IS
	'Create an owner (user, client, merchant, partner, agent, platform); returns its id.';

-- The account_info of one account acct.
CREATE FUNCTION pg_wallet._account_info(a pg_wallet.accounts)
RETURNS pg_wallet.account_info
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.id, a.account_number, a.owner_id, a.currency, a.purpose, a.name,
		pg_wallet.minor_to_numeric(a.minimum_balance, a.exponent), a.can_overdraw,
		a.credit_mode, a.status, a.status_reason, a.created_at, a.updated_at
$$;
COMMENT ON FUNCTION pg_wallet._account_info(pg_wallet.accounts) IS
	'Internal: an accounts row as account_info.';

CREATE FUNCTION pg_wallet._account_barrier(account_number text)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_account_barrier'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._account_barrier(text) IS
	'Internal: hold an account''s status barrier exclusively until commit, so no posting that '
	'skips the row lock is in flight while its status changes.';

-- The row of an account number, optionally locked, or WL005.
CREATE FUNCTION pg_wallet._account_row(p_account_number text, p_lock boolean DEFAULT false)
RETURNS pg_wallet.accounts
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts;
BEGIN
	IF p_lock THEN
		SELECT * INTO acct FROM pg_wallet.accounts WHERE account_number = p_account_number
			FOR UPDATE;
	ELSE
		SELECT * INTO acct FROM pg_wallet.accounts WHERE account_number = p_account_number;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'account % does not exist', coalesce(p_account_number, 'NULL')
			USING ERRCODE = 'WL005';
	END IF;
	RETURN acct;
END
$$;
COMMENT ON FUNCTION pg_wallet._account_row(text, boolean) IS
	'Internal: the accounts row of an account number (locked when asked), or error WL005.';

CREATE FUNCTION pg_wallet.create_account(
	owner_id bigint,
	currency text,
	purpose text DEFAULT 'WALLET',
	account_number text DEFAULT NULL,
	minimum_balance numeric DEFAULT 0,
	can_overdraw boolean DEFAULT false,
	credit_mode text DEFAULT 'DIRECT',
	name text DEFAULT NULL,
	metadata jsonb DEFAULT '{}')
RETURNS pg_wallet.account_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o pg_wallet.owners;
	new_id bigint;
	number text := account_number;
	acct pg_wallet.accounts;
BEGIN
	SELECT * INTO o FROM pg_wallet.owners WHERE id = owner_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'owner % does not exist', coalesce(owner_id::text, 'NULL')
			USING ERRCODE = 'WL018';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c
	               WHERE c.code = currency AND c.is_active) THEN
		RAISE EXCEPTION 'unknown currency "%"', currency
			USING ERRCODE = 'WL015',
			      HINT = 'Use an active ISO 4217 code listed in pg_wallet.currencies.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.account_purposes p WHERE p.code = purpose) THEN
		RAISE EXCEPTION 'account purpose "%" is not known', purpose
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'See pg_wallet.account_purposes.';
	END IF;
	IF credit_mode IS NULL OR credit_mode NOT IN ('DIRECT', 'DEFERRED') THEN
		RAISE EXCEPTION 'credit_mode must be DIRECT or DEFERRED'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF number IS NOT NULL AND number !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' THEN
		RAISE EXCEPTION 'account number "%" is not valid', left(number, 80)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use 1 to 64 letters, digits, dots, dashes or underscores.';
	END IF;
	IF name IS NOT NULL AND length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'account name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF metadata IS NULL OR jsonb_typeof(metadata) <> 'object'
		OR octet_length(metadata::text) > 8192 THEN
		RAISE EXCEPTION 'metadata must be a JSON object of at most 8192 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF number IS NOT NULL
		AND EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.account_number = number) THEN
		RAISE EXCEPTION 'account number % already exists', number
			USING ERRCODE = 'unique_violation';
	END IF;
	new_id := nextval(pg_get_serial_sequence('pg_wallet.accounts', 'id'));
	number := coalesce(number, format('ACC-%s-%s-%s', upper(o.kind), currency, new_id));
	INSERT INTO pg_wallet.accounts (id, account_number, owner_id, currency, exponent, purpose,
		name, minimum_balance, can_overdraw, credit_mode, metadata)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, number, owner_id, currency,
		(SELECT c.exponent FROM pg_wallet.currencies c WHERE c.code = currency), purpose, name,
		pg_wallet.amount_parse(coalesce(minimum_balance, 0), currency),
		coalesce(can_overdraw, false), credit_mode, metadata)
	RETURNING * INTO acct;
	RETURN pg_wallet._account_info(acct);
END
$$;
COMMENT ON FUNCTION pg_wallet.create_account(bigint, text, text, text, numeric, boolean, text,
	text, jsonb) IS
	'Open an account for an owner in one currency. account_number defaults to '
	'ACC-<KIND>-<CUR>-<id>. minimum_balance is the floor of balance - pending_debit after a '
	'debit (negative = overdraft limit); can_overdraw removes the floor. credit_mode DEFERRED '
	'takes credits without locking the account (for hot merchant/fee accounts).';

CREATE FUNCTION pg_wallet.get_account(account_number text)
RETURNS pg_wallet.account_info
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._account_info(pg_wallet._account_row(account_number))
$$;
COMMENT ON FUNCTION pg_wallet.get_account(text) IS
	'An account by number, or error WL005.';

CREATE FUNCTION pg_wallet.list_accounts(
	owner_id bigint,
	page_size integer DEFAULT 100,
	after_account_id bigint DEFAULT 0)
RETURNS SETOF pg_wallet.account_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'page_size must be between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		SELECT (pg_wallet._account_info(a)).*
		FROM pg_wallet.accounts a
		WHERE a.owner_id = list_accounts.owner_id AND a.id > coalesce(after_account_id, 0)
		ORDER BY a.id
		LIMIT page_size;
END
$$;
COMMENT ON FUNCTION pg_wallet.list_accounts(bigint, integer, bigint) IS
	'An owner''s accounts in id order, one page at a time (pass the last account_id seen).';

CREATE FUNCTION pg_wallet.set_account_status(
	account_number text,
	status text,
	reason text DEFAULT NULL)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts;
	unfolded bigint;
BEGIN
	IF status IS NULL OR status NOT IN ('ACTIVE', 'INACTIVE', 'LOCKED', 'CLOSED') THEN
		RAISE EXCEPTION 'account status "%" is not valid', status
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use ACTIVE, INACTIVE, LOCKED or CLOSED.';
	END IF;
	IF reason IS NOT NULL AND length(reason) > 500 THEN
		RAISE EXCEPTION 'reason is longer than 500 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	-- wait for postings that touch the account without its row lock (DEFERRED deltas)
	PERFORM pg_wallet._account_barrier(account_number);
	acct := pg_wallet._account_row(account_number, true);
	IF acct.is_system THEN
		RAISE EXCEPTION 'account % is a system account', account_number
			USING ERRCODE = 'WL002', DETAIL = 'The platform''s SYS-* accounts are always ACTIVE.';
	END IF;
	IF acct.status = 'CLOSED' AND status <> 'CLOSED' THEN
		RAISE EXCEPTION 'account % is CLOSED', account_number
			USING ERRCODE = 'WL002', DETAIL = 'A closed account cannot be reopened.';
	END IF;
	IF status = 'CLOSED' AND acct.status <> 'CLOSED' THEN
		SELECT coalesce(sum(d.amount), 0) INTO unfolded
		FROM pg_wallet.account_deltas d WHERE d.account_id = acct.id;
		IF acct.balance + unfolded <> 0 OR acct.pending_debit <> 0
			OR EXISTS (SELECT 1 FROM pg_wallet.holds h
			           WHERE h.counterpart_account_id = acct.id AND h.status = 'ACTIVE') THEN
			RAISE EXCEPTION 'account % cannot be closed: balance is %, pending debit is %',
				account_number,
				pg_wallet.amount_format(acct.balance + unfolded, acct.currency),
				pg_wallet.amount_format(acct.pending_debit, acct.currency)
				USING ERRCODE = 'WL011',
				      HINT = 'Move the balance out and settle or void its holds first.';
		END IF;
	END IF;
	UPDATE pg_wallet.accounts a
	SET status = set_account_status.status, status_reason = reason, updated_at = now()
	WHERE a.id = acct.id
	RETURNING * INTO acct;
	RETURN pg_wallet._account_info(acct);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_account_status(text, text, text) IS
	'Set an account ACTIVE, INACTIVE, LOCKED or CLOSED. Only ACTIVE accounts take postings; '
	'closing needs a zero balance and no active holds; CLOSED is final.';
-- The posting core (C, src/ledger.c): every movement of money goes through these.
-- All are SECURITY DEFINER: callers cannot write the tables, only call these.

CREATE FUNCTION pg_wallet.post_journal(
	journal_type text,
	legs jsonb,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	record_refusal boolean DEFAULT false)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_post_journal'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.post_journal(text, jsonb, text, text, jsonb, boolean) IS
	'Post a balanced multi-leg journal: legs = [{"account","side":"DR"|"CR","amount",'
	'"description"}], each currency summing to zero. With an idempotency key a retry returns '
	'the first result; record_refusal stores a refusal under the key and returns it (status '
	'REFUSED) instead of raising.';

CREATE FUNCTION pg_wallet.credit(
	account_number text,
	amount numeric,
	counterpart text,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	client_service_code text DEFAULT NULL,
	agent_account text DEFAULT NULL,
	record_refusal boolean DEFAULT false)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_credit'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.credit(text, numeric, text, text, text, jsonb, text, text, boolean) IS
	'Credit an account, debiting the counterpart account (journal type CREDIT, fee type '
	'DEPOSIT). With a client service, the account must be its client''s and the service must '
	'allow CREDIT; an agent account takes its commission share of the fee.';

CREATE FUNCTION pg_wallet.debit(
	account_number text,
	amount numeric,
	counterpart text,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	client_service_code text DEFAULT NULL,
	agent_account text DEFAULT NULL,
	record_refusal boolean DEFAULT false)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_debit'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.debit(text, numeric, text, text, text, jsonb, text, text, boolean) IS
	'Debit an account, crediting the counterpart account (journal type DEBIT, fee type '
	'WITHDRAWAL). With a client service, the account must be its client''s and the service '
	'must allow DEBIT; an agent account takes its commission share of the fee.';

CREATE FUNCTION pg_wallet.transfer(
	from_account text,
	to_account text,
	amount numeric,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	client_service_code text DEFAULT NULL,
	agent_account text DEFAULT NULL,
	record_refusal boolean DEFAULT false)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_transfer'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.transfer(text, text, numeric, text, text, jsonb, text, text, boolean) IS
	'Move an amount between two accounts of the same currency (journal type TRANSFER, fee type '
	'TRANSFER, charged as its fee schedule says). With a client service, the source must be '
	'its client''s and the service must allow DEBIT. record_refusal (with an idempotency key): '
	'a refusal is returned as status REFUSED and recorded under the key instead of raised, so '
	'every retry gets the same answer; the same holds for credit and debit.';

CREATE FUNCTION pg_wallet.post_transfers(transfers jsonb, atomic boolean DEFAULT true)
RETURNS SETOF pg_wallet.batch_item_result
AS 'MODULE_PATHNAME', 'wallet_post_transfers'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.post_transfers(jsonb, boolean) IS
	'Post up to 5000 transfers [{"from","to","amount","idempotency_key","description",'
	'"metadata"}] in one call and a fixed number of statements. atomic: all or nothing. '
	'Otherwise per item POSTED or REFUSED (refusals recorded under their keys).';

CREATE FUNCTION pg_wallet.calculate_fee(
	transaction_type text,
	amount numeric,
	currency text,
	client_service_code text DEFAULT NULL,
	with_agent boolean DEFAULT false)
RETURNS pg_wallet.fee_quote
AS 'MODULE_PATHNAME', 'wallet_calculate_fee'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.calculate_fee(text, numeric, text, text, boolean) IS
	'The fee a posting of this type and amount would charge, computed by the code that charges '
	'it: fee, applied_rate, who bears it, and the agent''s share when with_agent.';
-- Holds (C, src/holds.c): two-phase reservations.

CREATE FUNCTION pg_wallet.place_hold(
	account_number text,
	amount numeric,
	counterpart text,
	idempotency_key text DEFAULT NULL,
	expires_at timestamptz DEFAULT NULL,
	description text DEFAULT NULL,
	fee_type text DEFAULT NULL,
	agent_account text DEFAULT NULL)
RETURNS pg_wallet.hold_info
AS 'MODULE_PATHNAME', 'wallet_place_hold'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.place_hold(text, numeric, text, text, timestamptz, text, text,
	text) IS
	'Reserve an amount of an account''s available balance for a later posting to the '
	'counterpart (pending_debit rises). With a fee_type (e.g. WITHDRAWAL), its fee is quoted '
	'now, reserved too and charged when the hold is posted (an agent takes its commission '
	'share), and the amount counts against the owner''s KYC limits (given back when the hold is '
	'voided or expires the same day). Refused like a debit (WL001, WL002, WL044). Idempotent by '
	'key.';

CREATE FUNCTION pg_wallet.post_hold(
	hold_id bigint,
	amount numeric DEFAULT NULL,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_post_hold'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.post_hold(bigint, numeric, text, text) IS
	'Post an ACTIVE hold: one HOLD_CAPTURE journal moves the amount (default: all of it; less '
	'is a partial capture and the rest is released) and releases the reservation.';

CREATE FUNCTION pg_wallet.void_hold(hold_id bigint, reason text DEFAULT NULL)
RETURNS pg_wallet.hold_info
AS 'MODULE_PATHNAME', 'wallet_void_hold'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.void_hold(bigint, text) IS
	'Release an ACTIVE hold''s reservation (VOIDED). Voiding a VOIDED hold returns it again.';

CREATE FUNCTION pg_wallet.expire_holds(max_holds integer DEFAULT 1000)
RETURNS integer
AS 'MODULE_PATHNAME', 'wallet_expire_holds'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.expire_holds(integer) IS
	'Release up to max_holds ACTIVE holds past their expires_at (EXPIRED); returns how many.';

CREATE FUNCTION pg_wallet.get_hold(hold_id bigint)
RETURNS pg_wallet.hold_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result pg_wallet.hold_info;
BEGIN
	SELECT h.id, a.account_number, c.account_number, a.currency,
		pg_wallet.minor_to_numeric(h.amount, cur.exponent),
		pg_wallet.minor_to_numeric(h.posted_amount, cur.exponent),
		h.status, h.expires_at, h.journal_id,
		pg_wallet.receipt_code(j.id, j.created_at), false, h.created_at, h.closed_at,
		pg_wallet.minor_to_numeric(h.fee_minor, cur.exponent)
	INTO result
	FROM pg_wallet.holds h
	JOIN pg_wallet.accounts a ON a.id = h.account_id
	JOIN pg_wallet.accounts c ON c.id = h.counterpart_account_id
	JOIN pg_wallet.currencies cur ON cur.code = a.currency
	LEFT JOIN pg_wallet.journals j ON j.id = h.journal_id
	WHERE h.id = hold_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'hold % does not exist', hold_id USING ERRCODE = 'WL016';
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_hold(bigint) IS 'A hold by id, or error WL016.';

-- Reversals (C, src/reversal.c).

CREATE FUNCTION pg_wallet.reverse_journal(
	receipt_code text,
	idempotency_key text DEFAULT NULL,
	reason text DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_reverse_journal'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.reverse_journal(text, text, text) IS
	'Reverse a posted journal once with mirror entries (journal type REVERSAL). Refused when '
	'already reversed (WL006), when it is itself a reversal (WL007), or when an account would '
	'fall below its floor (WL001).';

CREATE FUNCTION pg_wallet.force_reverse_journal(
	receipt_code text,
	idempotency_key text DEFAULT NULL,
	reason text DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_force_reverse_journal'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.force_reverse_journal(text, text, text) IS
	'Admin only: reverse_journal without the funds check (an account may go below its floor).';

CREATE FUNCTION pg_wallet.fold_deltas(
	account_number text DEFAULT NULL,
	max_accounts integer DEFAULT 1000)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_fold_deltas'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.fold_deltas(text, integer) IS
	'Fold the pending credits of a DEFERRED account (or of up to max_accounts of them) into '
	'the stored balance. Balances read the same before and after.';
-- Reads: balances, entries, statements, journals. Plain SQL over the tables the posting core
-- writes. The balance of an account is always balance + its unfolded account_deltas.

CREATE FUNCTION pg_wallet.get_balance(account_number text)
RETURNS pg_wallet.balance_info
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	WITH a AS (SELECT * FROM pg_wallet._account_row(account_number)),
	t AS (
		SELECT a.*,
			a.balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
			                      WHERE d.account_id = a.id), 0)::bigint AS total,
			coalesce((SELECT sum(h.amount) FROM pg_wallet.holds h
			          WHERE h.counterpart_account_id = a.id AND h.status = 'ACTIVE'), 0)::bigint
				AS incoming
		FROM a)
	SELECT t.account_number, t.currency,
		pg_wallet.minor_to_numeric(t.total, t.exponent),
		pg_wallet.minor_to_numeric(t.total - t.pending_debit, t.exponent),
		pg_wallet.minor_to_numeric(t.pending_debit, t.exponent),
		pg_wallet.minor_to_numeric(t.incoming, t.exponent),
		(SELECT e.created_at FROM pg_wallet.entries e WHERE e.account_id = t.id
		 ORDER BY e.created_at DESC, e.id DESC LIMIT 1)
	FROM t
$$;
COMMENT ON FUNCTION pg_wallet.get_balance(text) IS
	'Balance, available balance (balance - pending_debit), pending debit (active holds on the '
	'account), pending credit (active holds paying into it) and last entry time.';

-- Entries of an account in (created_at, id) order with the running balance filled in for
-- credits a DEFERRED account took as deltas.
CREATE FUNCTION pg_wallet._entries(
	p_account_id bigint,
	p_from timestamptz,
	p_to timestamptz,
	p_after_entry_id bigint,
	p_limit integer)
RETURNS SETOF pg_wallet.entry_info
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH a AS (
		SELECT a.*,
			a.balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
			                      WHERE d.account_id = a.id), 0)::bigint AS total
		FROM pg_wallet.accounts a
		WHERE a.id = p_account_id),
	cursor AS (SELECT e.created_at, e.id FROM pg_wallet.entries e
	           WHERE e.id = p_after_entry_id AND e.account_id = p_account_id),
	later AS (
		-- net of everything after the window start: balance before it = total - later
		SELECT coalesce(sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END), 0)::bigint
			AS net
		FROM pg_wallet.entries e
		WHERE e.account_id = p_account_id
		  AND (p_from IS NULL OR e.created_at >= p_from)
		  AND (p_after_entry_id IS NULL OR (e.created_at, e.id) >
		       (SELECT c.created_at, c.id FROM cursor c))),
	page AS (
		SELECT e.*, ((SELECT total FROM a) - (SELECT net FROM later)
			+ sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END)
			  OVER (ORDER BY e.created_at, e.id))::bigint AS running
		FROM pg_wallet.entries e
		WHERE e.account_id = p_account_id
		  AND (p_from IS NULL OR e.created_at >= p_from)
		  AND (p_to IS NULL OR e.created_at < p_to)
		  AND (p_after_entry_id IS NULL OR (e.created_at, e.id) >
		       (SELECT c.created_at, c.id FROM cursor c))
		ORDER BY e.created_at, e.id
		LIMIT p_limit)
	SELECT p.id, p.journal_id, pg_wallet.receipt_code(j.id, j.created_at), j.journal_type,
		a.account_number, a.currency, p.side,
		pg_wallet.minor_to_numeric(p.amount, a.exponent),
		pg_wallet.minor_to_numeric(coalesce(p.balance_after, p.running), a.exponent),
		coalesce(p.description, j.description), p.created_at
	FROM page p
	JOIN pg_wallet.journals j ON j.id = p.journal_id
	CROSS JOIN a
	ORDER BY p.created_at, p.id
$$;
COMMENT ON FUNCTION pg_wallet._entries(bigint, timestamptz, timestamptz, bigint, integer) IS
	'Internal: one page of an account''s entries with balance_after.';

CREATE FUNCTION pg_wallet.list_entries(
	account_number text,
	from_time timestamptz DEFAULT NULL,
	to_time timestamptz DEFAULT NULL,
	page_size integer DEFAULT 50,
	after_entry_id bigint DEFAULT NULL)
RETURNS SETOF pg_wallet.entry_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts := pg_wallet._account_row(account_number);
BEGIN
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'page_size must be between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF from_time IS NOT NULL AND to_time IS NOT NULL AND to_time < from_time THEN
		RAISE EXCEPTION 'to_time is before from_time'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF after_entry_id IS NOT NULL AND NOT EXISTS (
		SELECT 1 FROM pg_wallet.entries e
		WHERE e.id = after_entry_id AND e.account_id = acct.id) THEN
		RAISE EXCEPTION 'entry % is not an entry of account %', after_entry_id, account_number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY SELECT * FROM pg_wallet._entries(acct.id, from_time, to_time,
	                                              after_entry_id, page_size);
END
$$;
COMMENT ON FUNCTION pg_wallet.list_entries(text, timestamptz, timestamptz, integer, bigint) IS
	'An account''s entries in time order, from_time inclusive, to_time exclusive, one page at a '
	'time: pass the last entry_id seen as after_entry_id for the next page.';

CREATE FUNCTION pg_wallet.get_statement(
	account_number text,
	from_time timestamptz,
	to_time timestamptz,
	max_entries integer DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts := pg_wallet._account_row(account_number);
	scale smallint;
	total bigint;
	after_net bigint;
	period_dr bigint;
	period_cr bigint;
	period_count bigint;
	closing bigint;
	lines jsonb;
BEGIN
	IF from_time IS NULL OR to_time IS NULL OR to_time < from_time THEN
		RAISE EXCEPTION 'a statement needs from_time <= to_time'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_entries IS NULL OR max_entries NOT BETWEEN 0 AND 10000 THEN
		RAISE EXCEPTION 'max_entries must be between 0 and 10000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	scale := acct.exponent;
	SELECT acct.balance + coalesce(sum(d.amount), 0) INTO total
	FROM pg_wallet.account_deltas d WHERE d.account_id = acct.id;
	SELECT coalesce(sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END), 0)
	INTO after_net
	FROM pg_wallet.entries e WHERE e.account_id = acct.id AND e.created_at >= to_time;
	SELECT coalesce(sum(e.amount) FILTER (WHERE e.side = 'DR'), 0),
	       coalesce(sum(e.amount) FILTER (WHERE e.side = 'CR'), 0), count(*)
	INTO period_dr, period_cr, period_count
	FROM pg_wallet.entries e
	WHERE e.account_id = acct.id AND e.created_at >= from_time AND e.created_at < to_time;
	closing := total - after_net;
	SELECT coalesce(jsonb_agg(jsonb_build_object(
		'id', x.entry_id, 'amount', x.amount, 'type',
		CASE x.side WHEN 'CR' THEN 'DR_CR_CREDIT' ELSE 'DR_CR_DEBIT' END,
		'currency', x.currency, 'balance_after', x.balance_after,
		'description', x.description, 'receipt_code', x.receipt_code,
		'journal_type', x.journal_type, 'created_at', x.created_at)
		ORDER BY x.created_at, x.entry_id), '[]')
	INTO lines
	FROM pg_wallet._entries(acct.id, from_time, to_time, NULL, max_entries) x;
	RETURN jsonb_build_object(
		'account_number', acct.account_number,
		'currency', acct.currency,
		'opening_balance', pg_wallet.minor_to_numeric(closing - period_cr + period_dr, scale),
		'closing_balance', pg_wallet.minor_to_numeric(closing, scale),
		'total_debits', pg_wallet.minor_to_numeric(period_dr, scale),
		'total_credits', pg_wallet.minor_to_numeric(period_cr, scale),
		'period_start', from_time,
		'period_end', to_time,
		'ledgers', lines,
		'transaction_count', period_count,
		'has_more', period_count > max_entries);
END
$$;
COMMENT ON FUNCTION pg_wallet.get_statement(text, timestamptz, timestamptz, integer) IS
	'Statement of an account for [from_time, to_time): opening and closing balance, total '
	'debits and credits, and up to max_entries entries with receipt codes (has_more says if '
	'there are more: page them with list_entries).';

CREATE FUNCTION pg_wallet.get_journal(receipt_code text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j pg_wallet.journals;
	result jsonb;
BEGIN
	SELECT * INTO j FROM pg_wallet.journals
	WHERE id = pg_wallet.journal_id_from_receipt(left(receipt_code, 64)) AND status = 'POSTED';
	IF NOT FOUND OR pg_wallet.receipt_code(j.id, j.created_at) <> receipt_code THEN
		RAISE EXCEPTION 'transaction not found'
			USING ERRCODE = 'WL014',
			      DETAIL = format('No journal has receipt code %s.', left(receipt_code, 64));
	END IF;
	SELECT jsonb_build_object(
		'journal', jsonb_build_object(
			'id', j.id,
			'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
			'journal_type', j.journal_type,
			'description', j.description,
			'metadata', j.metadata,
			'reverses', (SELECT pg_wallet.receipt_code(o.id, o.created_at)
			             FROM pg_wallet.journals o WHERE o.id = j.reverses_journal_id),
			'reversed_by', (SELECT pg_wallet.receipt_code(r.id, r.created_at)
			                FROM pg_wallet.journals r WHERE r.reverses_journal_id = j.id),
			'created_at', j.created_at),
		'entries', jsonb_agg(jsonb_build_object(
			'leg', e.leg,
			'account_number', a.account_number,
			'currency', a.currency,
			'side', e.side,
			'amount', pg_wallet.minor_to_numeric(e.amount, a.exponent),
			'balance_after', pg_wallet.minor_to_numeric(e.balance_after, a.exponent),
			'description', e.description) ORDER BY e.leg))
	INTO result
	FROM pg_wallet.entries e
	JOIN pg_wallet.accounts a ON a.id = e.account_id
	WHERE e.journal_id = j.id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_journal(text) IS
	'A journal and its entries by receipt code, or error WL014 "transaction not found".';
-- Money rules administration: client services and fee schedules (the C code in src/rules.c
-- applies them inside the posting path). Amounts that are not tied to one currency are given
-- as numerics and stored as *_e4 integers (10^-4 major units).

-- A currency-agnostic amount as e4, or an error naming the argument.
CREATE FUNCTION pg_wallet._to_e4(amount numeric, what text)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF amount IS NULL THEN
		RETURN NULL;
	END IF;
	IF amount < 0 OR amount * 10000 <> trunc(amount * 10000) OR amount >= 100000000000000 THEN
		RAISE EXCEPTION '% must be a non-negative amount with at most 4 decimals', what
			USING ERRCODE = 'WL010';
	END IF;
	RETURN (amount * 10000)::bigint;
END
$$;
COMMENT ON FUNCTION pg_wallet._to_e4(numeric, text) IS
	'Internal: a currency-agnostic amount in units of 10^-4, or error WL010.';

-- Mark the fee schedules as changed: every backend reloads them on its next posting.
CREATE FUNCTION pg_wallet._bump_rules_generation()
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	UPDATE pg_wallet.rules_generation
	SET generation = greatest(generation + 1,
	                          (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
$$;
COMMENT ON FUNCTION pg_wallet._bump_rules_generation() IS
	'Internal: invalidate every backend''s cached fee schedules.';

CREATE FUNCTION pg_wallet.create_fee_schedule(
	transaction_type text,
	fee_kind text,
	fixed_fee numeric DEFAULT 0,
	rate numeric DEFAULT 0,
	currency text DEFAULT NULL,
	min_fee numeric DEFAULT NULL,
	max_fee numeric DEFAULT NULL,
	band_min numeric DEFAULT NULL,
	band_max numeric DEFAULT NULL,
	bearer text DEFAULT 'SENDER',
	sender_share numeric DEFAULT 1,
	commission_rate numeric DEFAULT 0,
	client_service_code text DEFAULT NULL,
	tiers jsonb DEFAULT NULL,
	valid_from timestamptz DEFAULT NULL,
	valid_to timestamptz DEFAULT NULL,
	description text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	service_id bigint;
	new_id bigint;
	tier jsonb;
BEGIN
	IF transaction_type IS NULL OR transaction_type NOT IN ('TRANSFER', 'WITHDRAWAL', 'DEPOSIT',
		'CONVERSION', 'PAYMENT', 'PAYOUT', 'BILL_PAYMENT', 'SUBSCRIPTION') THEN
		RAISE EXCEPTION 'transaction type "%" is not valid', transaction_type
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use TRANSFER, WITHDRAWAL, DEPOSIT, CONVERSION, PAYMENT, PAYOUT, '
			             'BILL_PAYMENT or SUBSCRIPTION.';
	END IF;
	IF fee_kind IS NULL OR fee_kind NOT IN ('FIXED', 'PERCENTAGE', 'TIERED') THEN
		RAISE EXCEPTION 'fee kind "%" is not valid', fee_kind
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use FIXED, PERCENTAGE or TIERED.';
	END IF;
	IF bearer IS NULL OR bearer NOT IN ('SENDER', 'RECEIVER', 'SPLIT') THEN
		RAISE EXCEPTION 'fee bearer "%" is not valid', bearer
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use SENDER, RECEIVER or SPLIT.';
	END IF;
	IF rate IS NULL OR rate < 0 OR rate > 1 OR rate * 100000000 <> trunc(rate * 100000000)
		OR commission_rate IS NULL OR commission_rate < 0 OR commission_rate > 1
		OR sender_share IS NULL OR sender_share < 0 OR sender_share > 1 THEN
		RAISE EXCEPTION 'rates and shares are fractions between 0 and 1 (rate 0.015 = 1.5%%)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF currency IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c
	                                        WHERE c.code = currency) THEN
		RAISE EXCEPTION 'unknown currency "%"', currency USING ERRCODE = 'WL015';
	END IF;
	IF client_service_code IS NOT NULL THEN
		SELECT s.id INTO service_id FROM pg_wallet.client_services s
		WHERE s.code = client_service_code;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'client service % does not exist', client_service_code
				USING ERRCODE = 'WL040';
		END IF;
	END IF;
	IF (fee_kind = 'TIERED') <> (tiers IS NOT NULL) THEN
		RAISE EXCEPTION 'tiers are given for, and only for, a TIERED schedule'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF tiers IS NOT NULL AND (jsonb_typeof(tiers) <> 'array' OR jsonb_array_length(tiers)
		NOT BETWEEN 1 AND 32) THEN
		RAISE EXCEPTION 'tiers must be an array of 1 to 32 {"up_to", "fixed", "rate"} objects'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF description IS NOT NULL AND length(description) > 500 THEN
		RAISE EXCEPTION 'description is longer than 500 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF min_fee > max_fee OR band_min > band_max OR valid_to <= valid_from THEN
		RAISE EXCEPTION 'min_fee, band_min and valid_from must not exceed their maximum'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO pg_wallet.fee_schedules (transaction_type, client_service_id, currency,
		band_min_e4, band_max_e4, fee_kind, fixed_e4, rate, min_fee_e4, max_fee_e4, bearer,
		sender_share, commission_rate, valid_from, valid_to, description)
	VALUES (transaction_type, service_id, currency,
		pg_wallet._to_e4(band_min, 'band_min'), pg_wallet._to_e4(band_max, 'band_max'),
		fee_kind, pg_wallet._to_e4(coalesce(fixed_fee, 0), 'fixed_fee'), rate,
		pg_wallet._to_e4(min_fee, 'min_fee'), pg_wallet._to_e4(max_fee, 'max_fee'), bearer,
		sender_share, commission_rate, coalesce(valid_from, '-infinity'), valid_to, description)
	RETURNING id INTO new_id;
	FOR tier IN SELECT value FROM jsonb_array_elements(coalesce(tiers, '[]'))
	LOOP
		IF jsonb_typeof(tier) <> 'object'
			OR jsonb_typeof(tier->'up_to') IS DISTINCT FROM 'number' THEN
			RAISE EXCEPTION 'each tier needs a numeric "up_to"'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF coalesce((tier->>'rate')::numeric, 0) NOT BETWEEN 0 AND 1 THEN
			RAISE EXCEPTION 'a tier rate is a fraction between 0 and 1'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		INSERT INTO pg_wallet.fee_tiers (schedule_id, up_to_e4, fixed_e4, rate)
		VALUES (new_id, pg_wallet._to_e4((tier->>'up_to')::numeric, 'up_to'),
			pg_wallet._to_e4(coalesce((tier->>'fixed')::numeric, 0), 'fixed'),
			coalesce((tier->>'rate')::numeric, 0));
	END LOOP;
	PERFORM pg_wallet._bump_rules_generation();
	RETURN new_id;
EXCEPTION
	WHEN check_violation THEN
		RAISE EXCEPTION 'fee schedule is not consistent: %', SQLERRM
			USING ERRCODE = 'invalid_parameter_value';
	WHEN unique_violation THEN
		RAISE EXCEPTION 'two tiers have the same "up_to"' USING ERRCODE = 'invalid_parameter_value';
END
$$;
COMMENT ON FUNCTION pg_wallet.create_fee_schedule(text, text, numeric, numeric, text, numeric,
	numeric, numeric, numeric, text, numeric, numeric, text, jsonb, timestamptz, timestamptz,
	text) IS
	'Add a fee schedule. fee = fixed_fee + amount x rate (rate is a fraction: 0.015 = 1.5%), '
	'rounded half up to the minor unit and clamped to [min_fee, max_fee]; TIERED takes fixed '
	'and rate from tiers [{"up_to", "fixed", "rate"}]. Amounts are in major units of the '
	'posting''s currency. The most specific active schedule applies.';

CREATE FUNCTION pg_wallet.set_fee_schedule_active(schedule_id bigint, active boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE pg_wallet.fee_schedules SET is_active = coalesce(active, false)
	WHERE id = schedule_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'fee schedule % does not exist', schedule_id
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_wallet._bump_rules_generation();
	RETURN coalesce(active, false);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_fee_schedule_active(bigint, boolean) IS
	'Switch a fee schedule on or off (schedules are never deleted: history refers to them).';

CREATE FUNCTION pg_wallet._client_service_json(s pg_wallet.client_services)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'client_service_id', s.id,
		'client_service_code', s.code,
		'client_owner_id', s.client_owner_id,
		'client_service_name', s.name,
		'service_code', s.service_code,
		'allow_credit', s.allow_credit,
		'allow_debit', s.allow_debit,
		'has_transaction_fee', f.id IS NOT NULL,
		'transaction_fee_type', f.fee_kind,
		'transaction_fee', CASE f.fee_kind
			WHEN 'FIXED' THEN pg_wallet.minor_to_numeric(f.fixed_e4, 4::smallint)
			WHEN 'PERCENTAGE' THEN trim_scale(f.rate * 100) END,
		'minimum_transaction_amount', pg_wallet.minor_to_numeric(s.minimum_amount_e4, 4::smallint),
		'maximum_transaction_amount', pg_wallet.minor_to_numeric(s.maximum_amount_e4, 4::smallint),
		'is_active', s.is_active,
		'created_at', s.created_at)
	FROM (SELECT 1) one
	LEFT JOIN LATERAL (SELECT * FROM pg_wallet.fee_schedules f
	                   WHERE f.client_service_id = s.id AND f.is_active
	                   ORDER BY f.id LIMIT 1) f ON true
$$;
COMMENT ON FUNCTION pg_wallet._client_service_json(pg_wallet.client_services) IS
	'Internal: a client service as the wallet-as-a-service API shows it.';

CREATE FUNCTION pg_wallet.create_client_service(
	client_owner_id bigint,
	name text,
	service_code text,
	minimum_amount numeric,
	maximum_amount numeric,
	allow_credit boolean DEFAULT true,
	allow_debit boolean DEFAULT true,
	fee_kind text DEFAULT NULL,
	fee_value numeric DEFAULT 0,
	code text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	svc pg_wallet.client_services;
	new_code text := code;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = client_owner_id) THEN
		RAISE EXCEPTION 'owner % does not exist', coalesce(client_owner_id::text, 'NULL')
			USING ERRCODE = 'WL018';
	END IF;
	IF name IS NULL OR length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'client service name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF service_code IS NULL OR service_code !~ '^[A-Z][A-Z0-9_]{1,39}$' THEN
		RAISE EXCEPTION 'service code "%" is not valid', left(service_code, 50)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use 2 to 40 upper-case letters, digits or underscores.';
	END IF;
	IF NOT (coalesce(allow_credit, false) OR coalesce(allow_debit, false)) THEN
		RAISE EXCEPTION 'a client service must allow CREDIT, DEBIT or both'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF minimum_amount IS NULL OR maximum_amount IS NULL OR maximum_amount < minimum_amount THEN
		RAISE EXCEPTION 'minimum and maximum transaction amounts are required, minimum <= maximum'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF fee_kind IS NOT NULL AND fee_kind NOT IN ('FIXED', 'PERCENTAGE') THEN
		RAISE EXCEPTION 'transaction fee type "%" is not valid', fee_kind
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use FIXED or PERCENTAGE.';
	END IF;
	IF fee_kind = 'PERCENTAGE' AND (fee_value IS NULL OR fee_value < 0 OR fee_value > 100) THEN
		RAISE EXCEPTION 'a PERCENTAGE fee is between 0 and 100 (2.5 = 2.5%%)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF new_code IS NULL THEN
		new_code := left(service_code, 3) || upper(substr(md5(random()::text ||
		                                                      clock_timestamp()::text), 1, 7));
	ELSIF new_code !~ '^[A-Z0-9][A-Z0-9_]{2,39}$' THEN
		RAISE EXCEPTION 'client service code "%" is not valid', left(new_code, 50)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.client_services s WHERE s.code = new_code) THEN
		RAISE EXCEPTION 'client service code % already exists', new_code
			USING ERRCODE = 'unique_violation';
	END IF;
	INSERT INTO pg_wallet.client_services (code, client_owner_id, name, service_code,
		allow_credit, allow_debit, minimum_amount_e4, maximum_amount_e4)
	VALUES (new_code, client_owner_id, name, service_code, coalesce(allow_credit, false),
		coalesce(allow_debit, false), pg_wallet._to_e4(minimum_amount, 'minimum_amount'),
		pg_wallet._to_e4(maximum_amount, 'maximum_amount'))
	RETURNING * INTO svc;
	IF fee_kind IS NOT NULL AND coalesce(fee_value, 0) > 0 THEN
		-- a CREDIT's fee comes out of the credited amount; a DEBIT's or a transfer's is added
		PERFORM pg_wallet.create_fee_schedule(t.type, fee_kind,
			CASE fee_kind WHEN 'FIXED' THEN fee_value ELSE 0 END,
			CASE fee_kind WHEN 'PERCENTAGE' THEN fee_value / 100 ELSE 0 END,
			bearer => t.bearer, client_service_code => new_code,
			description => format('fee of client service %s', new_code))
		FROM (VALUES ('DEPOSIT', 'RECEIVER'), ('WITHDRAWAL', 'SENDER'),
		             ('TRANSFER', 'SENDER')) AS t(type, bearer);
	END IF;
	RETURN pg_wallet._client_service_json(svc);
END
$$;
COMMENT ON FUNCTION pg_wallet.create_client_service(bigint, text, text, numeric, numeric, boolean,
	boolean, text, numeric, text) IS
	'Create a client service (wallet-as-a-service): directions, amount limits and a FIXED fee '
	'(in the posting''s currency) or a PERCENTAGE fee (2.5 = 2.5%). The fee of a CREDIT is taken '
	'from the credited amount; that of a DEBIT or transfer is added to it.';

CREATE FUNCTION pg_wallet.set_client_service_active(code text, active boolean)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	svc pg_wallet.client_services;
BEGIN
	UPDATE pg_wallet.client_services s SET is_active = coalesce(active, false), updated_at = now()
	WHERE s.code = set_client_service_active.code
	RETURNING * INTO svc;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'client service % does not exist', code USING ERRCODE = 'WL040';
	END IF;
	RETURN pg_wallet._client_service_json(svc);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_client_service_active(text, boolean) IS
	'Activate or deactivate a client service; postings under an inactive one are refused (WL041).';

CREATE FUNCTION pg_wallet.get_client_service(code text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	svc pg_wallet.client_services;
BEGIN
	SELECT * INTO svc FROM pg_wallet.client_services s WHERE s.code = get_client_service.code;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'client service % does not exist', code USING ERRCODE = 'WL040';
	END IF;
	RETURN pg_wallet._client_service_json(svc);
END
$$;
COMMENT ON FUNCTION pg_wallet.get_client_service(text) IS 'A client service by code (WL040).';

CREATE FUNCTION pg_wallet.list_client_services(client_owner_id bigint)
RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._client_service_json(s) FROM pg_wallet.client_services s
	WHERE s.client_owner_id = list_client_services.client_owner_id ORDER BY s.id
$$;
COMMENT ON FUNCTION pg_wallet.list_client_services(bigint) IS 'A client''s services.';
-- FX: rates, locked quotes, conversion (C, src/fx.c) and the owner summary.

CREATE FUNCTION pg_wallet.set_fx_rate(
	base_currency text,
	quote_currency text,
	rate numeric,
	spread numeric DEFAULT 0,
	valid_from timestamptz DEFAULT NULL,
	valid_to timestamptz DEFAULT NULL,
	source text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF (SELECT count(*) FROM pg_wallet.currencies c
	    WHERE c.code IN (base_currency, quote_currency) AND c.is_active) <> 2
		OR base_currency = quote_currency THEN
		RAISE EXCEPTION 'an fx rate needs two different active currencies, not % and %',
			coalesce(base_currency, 'NULL'), coalesce(quote_currency, 'NULL')
			USING ERRCODE = 'WL015';
	END IF;
	IF rate IS NULL OR rate <= 0 OR rate >= 1000000000000 OR scale(rate) > 12 THEN
		RAISE EXCEPTION 'rate must be positive, below 10^12, with at most 12 decimals'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF spread IS NULL OR spread < 0 OR spread >= 1 OR scale(spread) > 8 THEN
		RAISE EXCEPTION 'spread is a fraction in [0, 1) with at most 8 decimals (0.005 = 0.5%%)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF valid_to IS NOT NULL AND valid_to <= coalesce(valid_from, now()) THEN
		RAISE EXCEPTION 'valid_to must be after valid_from'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF source IS NOT NULL AND length(source) > 100 THEN
		RAISE EXCEPTION 'source is longer than 100 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	INSERT INTO pg_wallet.fx_rates (base_currency, quote_currency, rate, spread, valid_from,
		valid_to, source)
	VALUES (base_currency, quote_currency, rate, spread, coalesce(valid_from, now()), valid_to,
		source)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet.set_fx_rate(text, text, numeric, numeric, timestamptz,
	timestamptz, text) IS
	'Publish a rate: 1 base = rate quote (exact decimal), spread a fraction taken from '
	'customers, valid from valid_from (default now) until valid_to (default open). The latest '
	'valid rate of a pair supersedes earlier ones; rates are never updated.';

-- The rate a conversion from -> to would use now, or an explicit rate id.
CREATE FUNCTION pg_wallet.get_fx_rate(from_currency text, to_currency text,
	rate_id bigint DEFAULT NULL)
RETURNS TABLE (fx_rate_id bigint, fx_rate numeric, mid_rate numeric, spread numeric,
	inverse boolean, valid_from timestamptz, valid_to timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN QUERY
		SELECT r.id,
			trim_scale(CASE WHEN r.base_currency = from_currency THEN r.rate
			                ELSE round(1 / r.rate, 16) END * (1 - r.spread)),
			trim_scale(CASE WHEN r.base_currency = from_currency THEN r.rate
			                ELSE round(1 / r.rate, 16) END),
			r.spread, r.base_currency <> from_currency, r.valid_from, r.valid_to
		FROM pg_wallet.fx_rates r
		WHERE ((r.base_currency = from_currency AND r.quote_currency = to_currency)
		    OR (r.base_currency = to_currency AND r.quote_currency = from_currency))
		  AND r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now())
		  AND (get_fx_rate.rate_id IS NULL OR r.id = get_fx_rate.rate_id)
		ORDER BY r.base_currency = from_currency DESC, r.valid_from DESC, r.id DESC
		LIMIT 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no fx rate for % to %', from_currency, to_currency
			USING ERRCODE = 'WL045', HINT = 'Set one with set_fx_rate().';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_fx_rate(text, text, bigint) IS
	'The rate a conversion from one currency to another uses now (the direct pair''s latest '
	'valid rate, else the inverse of the reverse pair''s): effective rate, mid rate, spread.';

CREATE FUNCTION pg_wallet.fx_quote(from_currency text, to_currency text,
	ttl_seconds integer DEFAULT 30)
RETURNS TABLE (quote_id bigint, fx_rate_id bigint, fx_rate numeric, expires_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	IF ttl_seconds IS NULL OR ttl_seconds NOT BETWEEN 1 AND 3600 THEN
		RAISE EXCEPTION 'ttl_seconds must be between 1 and 3600'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO r FROM pg_wallet.get_fx_rate(from_currency, to_currency);
	RETURN QUERY
		INSERT INTO pg_wallet.fx_quotes AS q (rate_id, from_currency, to_currency,
			effective_rate, expires_at)
		VALUES (r.fx_rate_id, from_currency, to_currency, r.fx_rate,
			now() + make_interval(secs => ttl_seconds))
		RETURNING q.id, q.rate_id, trim_scale(q.effective_rate), q.expires_at;
END
$$;
COMMENT ON FUNCTION pg_wallet.fx_quote(text, text, integer) IS
	'Lock the current effective rate for ttl_seconds: convert(..., quote_id => id) uses it once.';

CREATE FUNCTION pg_wallet.convert(
	from_account text,
	to_account text,
	amount numeric,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	rate_id bigint DEFAULT NULL,
	quote_id bigint DEFAULT NULL,
	metadata jsonb DEFAULT NULL)
RETURNS pg_wallet.conversion_result
AS 'MODULE_PATHNAME', 'wallet_convert'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.convert(text, text, numeric, text, text, bigint, bigint, jsonb) IS
	'Convert an amount from one account to an account in another currency (the owner''s own, '
	'or anyone''s: convert and transfer), in one FX_CONVERSION journal through SYS-FX-<cur> '
	'position accounts. converted = floor(amount x rate x (1 - spread)) in the destination''s '
	'minor units; the CONVERSION fee is charged to the sender in the source currency.';

-- The mid rate from -> to now (direct pair, else the inverse of the reverse pair), or NULL.
CREATE FUNCTION pg_wallet._fx_mid(from_currency text, to_currency text)
RETURNS numeric
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN r.base_currency = from_currency THEN r.rate ELSE round(1 / r.rate, 16) END
	FROM pg_wallet.fx_rates r
	WHERE ((r.base_currency = from_currency AND r.quote_currency = to_currency)
	    OR (r.base_currency = to_currency AND r.quote_currency = from_currency))
	  AND r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now())
	ORDER BY r.base_currency = from_currency DESC, r.valid_from DESC, r.id DESC
	LIMIT 1
$$;
COMMENT ON FUNCTION pg_wallet._fx_mid(text, text) IS
	'Internal: the current mid rate of a pair, or NULL when none is valid.';

CREATE FUNCTION pg_wallet.get_owner_summary(owner_id bigint,
	reference_currency text DEFAULT 'USD')
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref_exponent smallint;
	result jsonb;
BEGIN
	SELECT c.exponent INTO ref_exponent FROM pg_wallet.currencies c
	WHERE c.code = reference_currency;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown currency "%"', reference_currency USING ERRCODE = 'WL015';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = owner_id) THEN
		RAISE EXCEPTION 'owner % does not exist', owner_id USING ERRCODE = 'WL018';
	END IF;
	WITH b AS (
		SELECT a.id, a.account_number, a.currency, a.exponent,
			a.balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
			                      WHERE d.account_id = a.id), 0) AS total,
			a.pending_debit
		FROM pg_wallet.accounts a
		WHERE a.owner_id = get_owner_summary.owner_id AND a.status <> 'CLOSED'),
	valued AS (
		SELECT b.*, CASE WHEN b.currency = reference_currency THEN 1::numeric
			ELSE pg_wallet._fx_mid(b.currency, reference_currency) END AS mid
		FROM b)
	SELECT jsonb_build_object(
		'account_balances', coalesce(jsonb_agg(jsonb_build_object(
			'account_number', v.account_number,
			'currency', v.currency,
			'balance', pg_wallet.minor_to_numeric(v.total::bigint, v.exponent),
			'available_balance', pg_wallet.minor_to_numeric((v.total - v.pending_debit)::bigint,
			                                                v.exponent))
			ORDER BY v.id), '[]'),
		'total_balance', round(coalesce(sum(v.total / 10::numeric ^ v.exponent * v.mid), 0),
		                       ref_exponent),
		'total_balance_' || lower(reference_currency),
			round(coalesce(sum(v.total / 10::numeric ^ v.exponent * v.mid), 0), ref_exponent),
		'reference_currency', reference_currency,
		'unvalued_currencies', coalesce(jsonb_agg(DISTINCT v.currency)
			FILTER (WHERE v.mid IS NULL), '[]'),
		'total_accounts', count(*))
	INTO result
	FROM valued v;
	RETURN result;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_owner_summary(bigint, text) IS
	'An owner''s open accounts with balances and the total in a reference currency at current '
	'mid rates (rounded half up to the reference currency''s minor unit); currencies without a '
	'rate are listed in unvalued_currencies and left out of the total.';
-- verify_ledger(): proves the ledger's invariants and reports every violation. No rows means
-- the ledger is consistent. The sums are SQL; the hashes are recomputed in C (src/verify.c)
-- with the same code that wrote them.

CREATE FUNCTION pg_wallet._verify_hashes()
RETURNS SETOF pg_wallet.ledger_violation
AS 'MODULE_PATHNAME', 'wallet_verify_hashes'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._verify_hashes() IS
	'Internal: journal hashes and account chains recomputed from the entries.';

CREATE FUNCTION pg_wallet.verify_ledger()
RETURNS SETOF pg_wallet.ledger_violation
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	-- 1. every currency sums to zero over all entries
	(SELECT 'currency_balance', a.currency,
		format('credits minus debits is %s minor units',
		       sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END))
	 FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	 GROUP BY a.currency
	 HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0)
	UNION ALL
	-- 2. every journal sums to zero in each currency, and only POSTED journals have entries
	(SELECT 'journal_balance', format('journal %s', e.journal_id),
		format('%s credits minus debits is %s minor units', a.currency,
		       sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END))
	 FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	 GROUP BY e.journal_id, a.currency
	 HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0
	 LIMIT 1000)
	UNION ALL
	(SELECT 'journal_entries', format('journal %s', j.id),
		format('a %s journal has %s entries', j.status, count(e.id))
	 FROM pg_wallet.journals j LEFT JOIN pg_wallet.entries e ON e.journal_id = j.id
	 GROUP BY j.id, j.status
	 HAVING (j.status = 'POSTED') <> (count(e.id) >= 2)
	 LIMIT 1000)
	UNION ALL
	(SELECT 'entry_reference', format('entry %s', e.id), 'refers to a missing journal or account'
	 FROM pg_wallet.entries e
	 WHERE NOT EXISTS (SELECT 1 FROM pg_wallet.journals j WHERE j.id = e.journal_id)
	    OR NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.id = e.account_id)
	 LIMIT 1000)
	UNION ALL
	(SELECT 'hold_reference', format('hold %s', h.id), 'refers to a missing account'
	 FROM pg_wallet.holds h
	 WHERE NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.id = h.account_id)
	    OR NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.id = h.counterpart_account_id)
	 LIMIT 1000)
	UNION ALL
	(SELECT 'closed_account', a.account_number, 'a CLOSED account holds money or holds'
	 FROM pg_wallet.accounts a
	 WHERE a.status = 'CLOSED'
	   AND (a.balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
	                              WHERE d.account_id = a.id), 0) <> 0
	        OR a.pending_debit <> 0)
	 LIMIT 1000)
	UNION ALL
	-- 3. every account's balance (stored + unfolded credits) is the sum of its entries
	(SELECT 'account_balance', a.account_number,
		format('stored balance %s + unfolded %s differs from entries %s',
		       a.balance, coalesce(d.total, 0), coalesce(x.total, 0))
	 FROM pg_wallet.accounts a
	 LEFT JOIN (SELECT e.account_id,
	                   sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) AS total
	            FROM pg_wallet.entries e GROUP BY e.account_id) x ON x.account_id = a.id
	 LEFT JOIN (SELECT account_id, sum(amount) AS total
	            FROM pg_wallet.account_deltas GROUP BY account_id) d ON d.account_id = a.id
	 WHERE a.balance + coalesce(d.total, 0) <> coalesce(x.total, 0)
	 LIMIT 1000)
	UNION ALL
	-- 4. every unfolded delta is an entry of that account that was not applied
	(SELECT 'account_delta', format('entry %s', d.entry_id),
		'unfolded delta does not match an unapplied entry'
	 FROM pg_wallet.account_deltas d
	 LEFT JOIN pg_wallet.entries e ON e.id = d.entry_id
	 WHERE e.id IS NULL OR e.account_id <> d.account_id OR e.account_version IS NOT NULL
	    OR d.amount <> CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END
	 LIMIT 1000)
	UNION ALL
	-- 5. pending_debit is the sum of the account's ACTIVE holds
	(SELECT 'pending_debit', a.account_number,
		format('pending_debit %s differs from active holds %s', a.pending_debit,
		       coalesce(h.total, 0))
	 FROM pg_wallet.accounts a
	 LEFT JOIN (SELECT account_id, sum(amount + fee_minor) AS total FROM pg_wallet.holds
	            WHERE status = 'ACTIVE' GROUP BY account_id) h ON h.account_id = a.id
	 WHERE a.pending_debit <> coalesce(h.total, 0)
	 LIMIT 1000)
	UNION ALL
	-- 6. history was not rewritten: journal hashes and account chains
	SELECT * FROM pg_wallet._verify_hashes()
$$;
COMMENT ON FUNCTION pg_wallet.verify_ledger() IS
	'Check every invariant of the ledger and return one row per violation (none: consistent): '
	'currency and journal sums, account balances against entries, unfolded credits, pending '
	'debits against holds, journal hashes and per-account hash chains.';
-- Partners, deposits, payouts, the outbox and durable events (issue 5): types and tables.
-- Functions are in 72-79; the C code (signing, the workers, libcurl) in src/outbox*.c and
-- src/worker_*.c. No role but the extension owner can read these tables (90_grants.sql):
-- partner credentials and webhook secrets never leave the SECURITY DEFINER functions and the
-- outbox worker, and no function returns them.

-- ---------------------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------------------

-- A partner as get_partners() shows it (never a secret).
CREATE TYPE pg_wallet.partner_info AS (
	id text,
	name text,
	country text,
	service text,
	status text,
	adapter text,
	base_url text,
	currencies text[],
	can_deposit boolean,
	can_payout boolean,
	priority integer,
	created_at timestamptz
);

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
	CHECK ((status = 'completed') = (journal_id IS NOT NULL)),
	-- idempotency keys are the caller's, so they are scoped per owner: one merchant's
	-- reference never collides with another's
	UNIQUE (owner_id, idempotency_key)
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
	CHECK ((status = 'completed') = (journal_id IS NOT NULL)),
	UNIQUE (owner_id, idempotency_key)  -- per owner, as for deposits
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

CREATE TABLE pg_wallet.events (
	id bigint PRIMARY KEY,
	owner_id bigint NOT NULL,
	event_type text NOT NULL CHECK (event_type ~ '^[a-z][a-z_]{1,39}(:[a-z_]{1,40})?$'),
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
-- Durable events: a row per user-visible state change, in the transaction that makes the
-- change, then NOTIFY pg_wallet_events (payload {"event_id", "owner_id", "event_type",
-- "principal_id"}); the bridge LISTENs, routes by owner_id, reads the event and pushes it to
-- the owner's sockets; a client that reconnects asks for the events after the last id it
-- saw. principal_id names the principal the event is for (the one that caused it, else the
-- owner's only principal) and is null when neither is known.
--
-- Ordering: ids come from one sequence, drawn while the owner's event_streams row is locked
-- (until commit). Two transactions writing events of one owner therefore commit in id order,
-- so "after id N" never misses an event that commits later with a smaller id. Lock order:
-- events are written last in a transaction, owners in ascending id.

CREATE FUNCTION pg_wallet._ts_iso(ts timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;
COMMENT ON FUNCTION pg_wallet._ts_iso(timestamptz) IS
	'Internal: a timestamp as the specs show it, ISO 8601 UTC (2025-12-07T11:00:00Z).';

CREATE FUNCTION pg_wallet._event_types()
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY['deposit_completed', 'deposit_failed', 'withdrawal_completed',
		'withdrawal_failed', 'transfer_completed', 'transaction_completed',
		'transaction_failed', 'transaction:completed', 'subscription:charged',
		'dispute:created', 'fraud:risk_alert']
$$;
COMMENT ON FUNCTION pg_wallet._event_types() IS
	'Internal: the event types the specs push (cashier push events, Tribble socket.io '
	'events).';

-- The principal an event of an owner is for: the given one (it must be one of the owner's
-- principals), else the owner's only principal, else NULL (none, or several and no way to
-- tell which).
CREATE FUNCTION pg_wallet._event_principal(p_owner_id bigint, p_principal_id uuid)
RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ids uuid[];
BEGIN
	IF p_principal_id IS NOT NULL THEN
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.principals p
		               WHERE p.id = p_principal_id AND p.owner_id = p_owner_id) THEN
			RAISE EXCEPTION 'principal % is not a principal of owner %', p_principal_id,
				p_owner_id USING ERRCODE = 'WL035';
		END IF;
		RETURN p_principal_id;
	END IF;
	SELECT array_agg(p.id) INTO ids
	FROM (SELECT x.id FROM pg_wallet.principals x WHERE x.owner_id = p_owner_id LIMIT 2) p;
	RETURN CASE WHEN cardinality(ids) = 1 THEN ids[1] END;
END
$$;
COMMENT ON FUNCTION pg_wallet._event_principal(bigint, uuid) IS
	'Internal: the principal_id of an owner''s event: the principal that caused it when given '
	'(WL035 unless it is one of the owner''s), else the owner''s only principal, else NULL.';

-- The NOTIFY payload of an event. owner_id is what the bridge routes by (it looks for
-- "owner_id": in the text); principal_id is null when not known.
CREATE FUNCTION pg_wallet._event_notification(
	p_event_id bigint, p_owner_id bigint, p_event_type text, p_principal_id uuid)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('event_id', p_event_id, 'owner_id', p_owner_id,
		'event_type', p_event_type, 'principal_id', p_principal_id)::text
$$;
COMMENT ON FUNCTION pg_wallet._event_notification(bigint, bigint, text, uuid) IS
	'Internal: the pg_wallet_events NOTIFY payload, {"event_id", "owner_id", "event_type", '
	'"principal_id"} (principal_id null when not known).';

CREATE FUNCTION pg_wallet.emit_event(
	owner_id bigint,
	event_type text,
	payload jsonb,
	principal_id uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
	who uuid;
BEGIN
	IF event_type IS NULL OR NOT (event_type = ANY (pg_wallet._event_types())) THEN
		RAISE EXCEPTION 'unknown event type "%"', left(event_type, 50) USING ERRCODE = 'WL075',
			HINT = 'Use one of ' || array_to_string(pg_wallet._event_types(), ', ') || '.';
	END IF;
	IF payload IS NULL OR jsonb_typeof(payload) <> 'object' OR octet_length(payload::text) > 8192
	THEN
		RAISE EXCEPTION 'event payload must be a JSON object of at most 8192 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = emit_event.owner_id) THEN
		RAISE EXCEPTION 'owner % does not exist', coalesce(owner_id::text, 'NULL')
			USING ERRCODE = 'WL018';
	END IF;
	who := pg_wallet._event_principal(emit_event.owner_id, emit_event.principal_id);
	-- the owner's stream row, locked until commit, then the id
	INSERT INTO pg_wallet.event_streams AS s (owner_id, last_event_id, event_count)
	VALUES (emit_event.owner_id, 0, 0)
	ON CONFLICT ON CONSTRAINT event_streams_pkey DO UPDATE SET event_count = s.event_count;
	new_id := nextval('pg_wallet.event_id_seq');
	UPDATE pg_wallet.event_streams s SET last_event_id = new_id, event_count = s.event_count + 1
	WHERE s.owner_id = emit_event.owner_id;
	INSERT INTO pg_wallet.events (id, owner_id, event_type, payload, principal_id)
	VALUES (new_id, emit_event.owner_id, emit_event.event_type, emit_event.payload, who);
	-- owner_id stays the routing key (the bridge reads it); principal_id is null when unknown
	PERFORM pg_notify('pg_wallet_events', pg_wallet._event_notification(new_id,
		emit_event.owner_id, emit_event.event_type, who));
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet.emit_event(bigint, text, jsonb, uuid) IS
	'Record a user-visible event for an owner in the caller''s transaction and NOTIFY '
	'pg_wallet_events at commit ({"event_id", "owner_id", "event_type", "principal_id"}); '
	'returns its id. principal_id: the principal that caused it (WL035 unless it is one of '
	'the owner''s), by default the owner''s only principal, else null. Types: '
	'deposit_completed, deposit_failed, withdrawal_completed, withdrawal_failed, '
	'transfer_completed, transaction_completed, transaction_failed, transaction:completed, '
	'subscription:charged, dispute:created, fraud:risk_alert (WL075 otherwise). Call it last '
	'in a transaction.';

CREATE FUNCTION pg_wallet.get_events(
	owner_id bigint,
	after_event_id bigint DEFAULT 0,
	max_events integer DEFAULT 100)
RETURNS SETOF pg_wallet.event_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF max_events IS NULL OR max_events NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'max_events must be between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		SELECT e.id, e.owner_id, e.event_type, e.payload, e.created_at, e.principal_id
		FROM pg_wallet.events e
		WHERE e.owner_id = get_events.owner_id AND e.id > coalesce(after_event_id, 0)
		ORDER BY e.id
		LIMIT max_events;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_events(bigint, bigint, integer) IS
	'An owner''s events after an id, oldest first, at most max_events (1-1000), each with '
	'the principal it is for (or NULL): a client that reconnects passes the last event_id it '
	'saw and misses none.';
-- The transactional outbox: rows written in the transaction that decided the call, delivered
-- after its commit by the outbox worker (src/worker_outbox.c, libcurl multi). The worker
-- claims with _outbox_claim, sends with no transaction open, and records each answer with
-- _outbox_complete, which hands it to the adapter (75_adapters.sql). Operators inspect with
-- outbox_list/outbox_get and act with outbox_retry/outbox_cancel.

-- ---------------------------------------------------------------------------------------
-- C: signing and waking (src/outbox_sign.c, src/outbox_config.c)
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet.webhook_signature(
	secret bytea, message_id text, timestamp_s bigint, body text)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_webhook_signature'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.webhook_signature(bytea, text, bigint, text) IS
	'Standard Webhooks signature: "v1," and the base64 HMAC-SHA256 of '
	'"{message_id}.{timestamp_s}.{body}" under the secret (the bytes after "whsec_", '
	'base64-decoded).';

CREATE FUNCTION pg_wallet._webhook_signature_ok(
	secret bytea, message_id text, timestamp_s bigint, body text, signatures text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_webhook_signature_ok'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet._webhook_signature_ok(bytea, text, bigint, text, text) IS
	'Internal: whether one of the space-separated "v1,<base64>" values is the message''s '
	'signature (constant-time comparison).';

CREATE FUNCTION pg_wallet._hmac_sha256(key bytea, data bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_hmac_sha256'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet._hmac_sha256(bytea, bytea) IS 'Internal: HMAC-SHA256.';

CREATE FUNCTION pg_wallet._outbox_wake()
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_outbox_wake'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._outbox_wake() IS
	'Internal: wake the outbox worker when the calling transaction commits. WL073 when '
	'pg_wallet is not in shared_preload_libraries (no worker could ever deliver).';

CREATE FUNCTION pg_wallet.workers_available()
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_workers_available'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet.workers_available() IS
	'Whether pg_wallet was loaded by shared_preload_libraries, so that its outbox and expiry '
	'workers can run.';

-- ---------------------------------------------------------------------------------------
-- Writing and delivering
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet._outbox_enqueue(
	p_partner_id text, p_kind text, p_subject_ref text, p_url text, p_body jsonb,
	p_method text DEFAULT 'POST', p_headers jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	PERFORM pg_wallet._outbox_wake();
	IF p_body IS NOT NULL AND octet_length(p_body::text) > 65536 THEN
		RAISE EXCEPTION 'outbox body is longer than 65536 bytes'
			USING ERRCODE = 'program_limit_exceeded';
	END IF;
	INSERT INTO pg_wallet.outbox (message_id, partner_id, kind, subject_ref, method, url,
		headers, body)
	VALUES ('msg_' || replace(gen_random_uuid()::text, '-', ''), p_partner_id, p_kind,
		p_subject_ref, p_method, p_url, coalesce(p_headers, '{}'), p_body)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_enqueue(text, text, text, text, jsonb, text, jsonb) IS
	'Internal: queue an outbound call in the caller''s transaction; the worker is woken at '
	'commit. The body holds no secret (adapters add credentials when it is sent).';

CREATE FUNCTION pg_wallet._outbox_claim(max_rows integer)
RETURNS TABLE (id bigint, attempt integer, message_id text, method text, url text,
	headers text, body text, secret bytea, timeout_ms integer,
	auth_partner text, auth_url text, auth_basic text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox;
	p pg_wallet.partners;
	s pg_wallet.partner_secrets;
	rendered jsonb;
BEGIN
	FOR r IN
		SELECT * FROM pg_wallet.outbox o
		WHERE (o.status = 'PENDING' AND o.next_attempt_at <= clock_timestamp())
		   OR (o.status = 'SENDING' AND o.lease_until < clock_timestamp())
		ORDER BY o.next_attempt_at, o.id
		LIMIT least(greatest(max_rows, 0), 1000)
		FOR UPDATE SKIP LOCKED
	LOOP
		SELECT * INTO p FROM pg_wallet.partners x WHERE x.id = r.partner_id;
		SELECT * INTO s FROM pg_wallet.partner_secrets x WHERE x.partner_id = r.partner_id;
		rendered := pg_wallet._adapter_render(r, p, s);
		UPDATE pg_wallet.outbox o
		SET status = 'SENDING', attempts = o.attempts + 1, updated_at = now(),
			-- longer than any request may take (timeouts are at most 5 minutes)
			lease_until = clock_timestamp() + interval '6 minutes'
		WHERE o.id = r.id;
		id := r.id;
		attempt := r.attempts + 1;
		message_id := r.message_id;
		method := r.method;
		url := rendered ->> 'url';
		headers := rendered ->> 'headers';
		body := rendered ->> 'body';
		secret := s.webhook_secret;
		timeout_ms := p.timeout_ms;
		-- Daraja wants a Bearer token, which the worker obtains (and caches) with the
		-- partner's consumer key and secret; NULL auth_basic: they are not set
		auth_partner := NULL;
		auth_url := NULL;
		auth_basic := NULL;
		IF p.adapter = 'mpesa_daraja' THEN
			auth_partner := p.id;
			auth_url := p.base_url || '/oauth/v1/generate?grant_type=client_credentials';
			IF coalesce(s.credentials ->> 'consumer_key', '') <> ''
				AND coalesce(s.credentials ->> 'consumer_secret', '') <> '' THEN
				auth_basic := 'Basic ' || translate(encode(convert_to(
					(s.credentials ->> 'consumer_key') || ':' || (s.credentials ->> 'consumer_secret'),
					'UTF8'), 'base64'), E'\n', '');
			END IF;
		END IF;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_claim(integer) IS
	'Worker only: lock up to max_rows due rows (PENDING and due, or SENDING with a run-out '
	'lease) with SKIP LOCKED, mark them SENDING (attempts + 1, a lease) and return them '
	'rendered for sending, with the partner''s secret for the signature and, for an M-Pesa '
	'partner, its OAuth URL and Basic credentials (consumer_key:consumer_secret).';

CREATE FUNCTION pg_wallet._outbox_complete(
	p_id bigint, p_attempt integer, p_outcome text, p_http_status integer, p_response text,
	p_error text, p_retry_delay_ms integer, p_elapsed_ms integer)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox;
	why text;
BEGIN
	SELECT * INTO r FROM pg_wallet.outbox o WHERE o.id = p_id FOR UPDATE;
	IF NOT FOUND OR r.status <> 'SENDING' OR r.attempts <> p_attempt THEN
		RETURN;		-- cancelled, or re-claimed after the lease ran out: a stale answer
	END IF;
	UPDATE pg_wallet.outbox o
	SET status = CASE p_outcome WHEN 'delivered' THEN 'DELIVERED' WHEN 'failed' THEN 'FAILED'
	                            WHEN 'dead' THEN 'DEAD' ELSE 'PENDING' END,
		next_attempt_at = CASE WHEN p_outcome = 'retry'
			THEN clock_timestamp() + make_interval(secs => greatest(p_retry_delay_ms, 0) / 1000.0)
			ELSE o.next_attempt_at END,
		lease_until = NULL,
		last_http_status = p_http_status,
		last_error = left(p_error, 1000),
		last_response = left(p_response, 4000),
		last_elapsed_ms = p_elapsed_ms,
		delivered_at = CASE WHEN p_outcome = 'delivered' THEN now() END,
		updated_at = now()
	WHERE o.id = r.id;
	IF p_outcome = 'dead' THEN
		RAISE LOG 'pg_wallet outbox: message % (%) dead after % attempts', r.id, r.kind,
			p_attempt;
	END IF;
	IF p_outcome NOT IN ('delivered', 'failed') THEN
		RETURN;
	END IF;
	-- the worker's own reason when it has one (an M-Pesa OAuth refusal: nothing was sent)
	why := CASE WHEN p_outcome = 'failed'
		THEN coalesce(left(p_error, 500), format('partner refused the request (HTTP %s)',
			p_http_status)) END;
	BEGIN
		PERFORM pg_wallet._adapter_on_answer(r, p_outcome = 'delivered', p_response, why);
	EXCEPTION WHEN OTHERS THEN
		UPDATE pg_wallet.outbox o
		SET last_error = left('answer not understood: ' || SQLERRM, 1000)
		WHERE o.id = r.id;
	END;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_complete(bigint, integer, text, integer, text, text,
	integer, integer) IS
	'Worker only: record one attempt''s outcome (delivered, failed, retry after a delay, '
	'dead) and give a delivered or refused answer to the adapter. An answer for a row that '
	'is no longer SENDING under that attempt is ignored.';

CREATE FUNCTION pg_wallet._outbox_recover()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n integer;
BEGIN
	UPDATE pg_wallet.outbox o
	SET status = 'PENDING', next_attempt_at = now(), lease_until = NULL, updated_at = now()
	WHERE o.status = 'SENDING';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_recover() IS
	'Worker only, at start-up: rows left SENDING by a crashed worker are sent again (the '
	'partner dedupes them by their message id).';

CREATE FUNCTION pg_wallet._outbox_next_due_ms()
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT greatest(0, ceil(extract(epoch FROM (min(t) - clock_timestamp())) * 1000))::bigint
	FROM (SELECT min(o.next_attempt_at) AS t FROM pg_wallet.outbox o WHERE o.status = 'PENDING'
	      UNION ALL
	      SELECT min(o.lease_until) FROM pg_wallet.outbox o WHERE o.status = 'SENDING') x
$$;
COMMENT ON FUNCTION pg_wallet._outbox_next_due_ms() IS
	'Worker only: milliseconds until the next row is due (or a lease runs out); NULL when '
	'nothing is pending.';

-- ---------------------------------------------------------------------------------------
-- Inspection and operations
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet._outbox_info(o pg_wallet.outbox)
RETURNS pg_wallet.outbox_info
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT o.id, o.message_id, o.partner_id, o.kind, o.subject_ref, o.method, o.url, o.status,
		o.attempts, o.next_attempt_at, o.last_http_status, o.last_error, o.created_at,
		o.delivered_at
$$;
COMMENT ON FUNCTION pg_wallet._outbox_info(pg_wallet.outbox) IS
	'Internal: an outbox row as outbox_info.';

CREATE FUNCTION pg_wallet.outbox_list(
	status text DEFAULT NULL,
	partner_id text DEFAULT NULL,
	page_size integer DEFAULT 100,
	after_id bigint DEFAULT 0)
RETURNS SETOF pg_wallet.outbox_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'page_size must be between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		SELECT (pg_wallet._outbox_info(o)).*
		FROM pg_wallet.outbox o
		WHERE (outbox_list.status IS NULL OR o.status = upper(outbox_list.status))
		  AND (outbox_list.partner_id IS NULL OR o.partner_id = outbox_list.partner_id)
		  AND o.id > coalesce(after_id, 0)
		ORDER BY o.id
		LIMIT page_size;
END
$$;
COMMENT ON FUNCTION pg_wallet.outbox_list(text, text, integer, bigint) IS
	'Operator: outbox messages, optionally of one status (PENDING, SENDING, DELIVERED, '
	'FAILED, DEAD, CANCELLED) and partner, in id order, one page at a time.';

CREATE FUNCTION pg_wallet._outbox_row(p_id bigint)
RETURNS pg_wallet.outbox
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox;
BEGIN
	SELECT * INTO r FROM pg_wallet.outbox o WHERE o.id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'outbox message % does not exist', coalesce(p_id::text, 'NULL')
			USING ERRCODE = 'WL070';
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION pg_wallet._outbox_row(bigint) IS
	'Internal: an outbox row, locked, or WL070.';

CREATE FUNCTION pg_wallet.outbox_get(id bigint)
RETURNS pg_wallet.outbox_info
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._outbox_info(pg_wallet._outbox_row(id))
$$;
COMMENT ON FUNCTION pg_wallet.outbox_get(bigint) IS
	'Operator: one outbox message (never its secrets), or WL070.';

CREATE FUNCTION pg_wallet.outbox_retry(id bigint)
RETURNS pg_wallet.outbox_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox := pg_wallet._outbox_row(id);
BEGIN
	IF r.status NOT IN ('DEAD', 'CANCELLED') THEN
		RAISE EXCEPTION 'outbox message % is %', r.id, r.status USING ERRCODE = 'WL071',
			DETAIL = 'Only DEAD or CANCELLED messages can be sent again.';
	END IF;
	IF NOT pg_wallet._adapter_subject_open(r) THEN
		RAISE EXCEPTION 'outbox message % is about % which is already closed', r.id,
			r.subject_ref USING ERRCODE = 'WL071',
			DETAIL = 'Its deposit or payout ended; sending it again could move money twice.';
	END IF;
	PERFORM pg_wallet._outbox_wake();
	UPDATE pg_wallet.outbox o
	SET status = 'PENDING', attempts = 0, next_attempt_at = now(), updated_at = now()
	WHERE o.id = r.id
	RETURNING * INTO r;
	RETURN pg_wallet._outbox_info(r);
END
$$;
COMMENT ON FUNCTION pg_wallet.outbox_retry(bigint) IS
	'Operator: send a DEAD or CANCELLED message again (attempts start over, same message id '
	'so the partner can dedupe), while its deposit or payout is still open; WL071 otherwise.';

CREATE FUNCTION pg_wallet.outbox_cancel(id bigint)
RETURNS pg_wallet.outbox_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.outbox := pg_wallet._outbox_row(id);
BEGIN
	IF r.status IN ('DELIVERED', 'FAILED') THEN
		RAISE EXCEPTION 'outbox message % is %', r.id, r.status USING ERRCODE = 'WL071',
			DETAIL = 'A message the partner answered cannot be cancelled.';
	END IF;
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', lease_until = NULL, updated_at = now()
	WHERE o.id = r.id
	RETURNING * INTO r;
	RETURN pg_wallet._outbox_info(r);
END
$$;
COMMENT ON FUNCTION pg_wallet.outbox_cancel(bigint) IS
	'Operator: stop sending a PENDING, SENDING or DEAD message (CANCELLED; a request already '
	'in flight may still reach the partner). Its deposit or payout then ends at its deadline.';
-- Partners and agents: administration, the cashier's get_partners, and the choice of a
-- partner for a deposit or payout. Secrets are write-only: set here, read only by the outbox
-- claim in the worker (73_outbox.sql) and by callback verification (78_callbacks.sql).

CREATE FUNCTION pg_wallet._parse_webhook_secret(secret text)
RETURNS bytea
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	raw bytea;
BEGIN
	IF secret IS NULL OR octet_length(secret) > 200 OR secret !~ '^whsec_[A-Za-z0-9+/=]+$' THEN
		RAISE EXCEPTION 'a webhook secret must look like whsec_<base64>'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	BEGIN
		raw := decode(substr(secret, 7), 'base64');
	EXCEPTION WHEN OTHERS THEN
		RAISE EXCEPTION 'a webhook secret must look like whsec_<base64>'
			USING ERRCODE = 'invalid_parameter_value';
	END;
	IF octet_length(raw) NOT BETWEEN 16 AND 64 THEN
		RAISE EXCEPTION 'a webhook secret must hold 16 to 64 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN raw;
END
$$;
COMMENT ON FUNCTION pg_wallet._parse_webhook_secret(text) IS
	'Internal: the bytes of a Standard Webhooks secret "whsec_<base64>" (16 to 64 bytes); '
	'22023 otherwise, without echoing it.';

CREATE FUNCTION pg_wallet._partner_info(p pg_wallet.partners)
RETURNS pg_wallet.partner_info
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.id, p.name, p.country, p.service, p.status, p.adapter, p.base_url,
		ARRAY(SELECT pa.currency FROM pg_wallet.partner_accounts pa
		      WHERE pa.partner_id = p.id ORDER BY pa.currency),
		p.can_deposit, p.can_payout, p.priority, p.created_at
$$;
COMMENT ON FUNCTION pg_wallet._partner_info(pg_wallet.partners) IS
	'Internal: a partners row as partner_info (no secret).';

CREATE FUNCTION pg_wallet._partner_row(p_id text, p_lock boolean DEFAULT false)
RETURNS pg_wallet.partners
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners;
BEGIN
	IF p_lock THEN
		SELECT * INTO p FROM pg_wallet.partners x WHERE x.id = p_id FOR UPDATE;
	ELSE
		SELECT * INTO p FROM pg_wallet.partners x WHERE x.id = p_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'partner % does not exist', coalesce(left(p_id, 50), 'NULL')
			USING ERRCODE = 'WL060';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._partner_row(text, boolean) IS
	'Internal: a partner by id (locked when asked), or WL060.';

CREATE FUNCTION pg_wallet.add_partner_currency(partner_id text, currency text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id, true);
	acct pg_wallet.account_info;
	number text;
BEGIN
	SELECT a.account_number INTO number
	FROM pg_wallet.partner_accounts pa JOIN pg_wallet.accounts a ON a.id = pa.account_id
	WHERE pa.partner_id = p.id AND pa.currency = add_partner_currency.currency;
	IF FOUND THEN
		RETURN number;
	END IF;
	acct := pg_wallet.create_account(p.owner_id, currency, 'SETTLEMENT',
		format('SETTLE-%s-%s', p.id, currency), 0, true, 'DEFERRED',
		left(format('%s settlement %s', p.name, currency), 200));
	INSERT INTO pg_wallet.partner_accounts (partner_id, currency, account_id)
	VALUES (p.id, acct.currency, acct.account_id);
	RETURN acct.account_number;
END
$$;
COMMENT ON FUNCTION pg_wallet.add_partner_currency(text, text) IS
	'Admin: open (once) the partner''s settlement account in a currency, '
	'SETTLE-<partner>-<CUR>: purpose SETTLEMENT, can_overdraw, credit mode DEFERRED (never '
	'locked by deposits or payouts). Returns its account number.';

CREATE FUNCTION pg_wallet.create_partner(
	name text,
	country text,
	service text,
	adapter text,
	base_url text,
	currencies text[],
	callback_url text DEFAULT NULL,
	webhook_secret text DEFAULT NULL,
	credentials jsonb DEFAULT '{}',
	partner_id text DEFAULT NULL,
	can_deposit boolean DEFAULT true,
	can_payout boolean DEFAULT true,
	priority integer DEFAULT 100,
	timeout_ms integer DEFAULT NULL)
RETURNS pg_wallet.partner_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id text := coalesce(partner_id, 'PTN-' || nextval('pg_wallet.partner_id_seq'));
	secret bytea := CASE WHEN webhook_secret IS NULL THEN pg_wallet._random_bytes(32)
	                     ELSE pg_wallet._parse_webhook_secret(webhook_secret) END;
	p pg_wallet.partners;
	cur text;
BEGIN
	IF new_id !~ '^PTN-[A-Za-z0-9_-]{1,40}$' THEN
		RAISE EXCEPTION 'partner id must look like PTN-123' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.partners x WHERE x.id = new_id) THEN
		RAISE EXCEPTION 'partner % already exists', new_id USING ERRCODE = 'unique_violation';
	END IF;
	IF name IS NULL OR length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'partner name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF country IS NULL OR country !~ '^[A-Z]{2}$' THEN
		RAISE EXCEPTION 'country must be an ISO 3166 alpha-2 code such as KE'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF service IS NULL OR service !~ '^[a-z][a-z0-9_]{1,31}$' THEN
		RAISE EXCEPTION 'service must be a lower-case code such as mpesa or bank_transfer'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF adapter IS NULL OR adapter NOT IN ('generic_json', 'mpesa_daraja') THEN
		RAISE EXCEPTION 'adapter must be generic_json or mpesa_daraja'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF base_url IS NULL OR base_url !~ '^https?://[^[:space:]]+$' OR length(base_url) > 500 THEN
		RAISE EXCEPTION 'base_url must be an http or https URL of at most 500 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF callback_url IS NOT NULL
		AND (callback_url !~ '^https?://[^[:space:]]+$' OR length(callback_url) > 500) THEN
		RAISE EXCEPTION 'callback_url must be an http or https URL of at most 500 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF credentials IS NULL OR jsonb_typeof(credentials) <> 'object'
		OR octet_length(credentials::text) > 4096 THEN
		RAISE EXCEPTION 'credentials must be a JSON object of at most 4096 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF adapter = 'mpesa_daraja' AND NOT credentials ?& ARRAY['shortcode', 'passkey'] THEN
		RAISE EXCEPTION 'an M-Pesa partner needs credentials shortcode and passkey'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF currencies IS NULL OR cardinality(currencies) NOT BETWEEN 1 AND 20 THEN
		RAISE EXCEPTION 'a partner needs 1 to 20 currencies' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO pg_wallet.partners (id, owner_id, name, country, service, adapter, base_url,
		callback_url, can_deposit, can_payout, priority, timeout_ms)
	VALUES (new_id, pg_wallet.create_owner('partner', name, 'partner:' || new_id), name,
		country, service, adapter, rtrim(base_url, '/'), rtrim(callback_url, '/'),
		coalesce(can_deposit, true), coalesce(can_payout, true), coalesce(priority, 100),
		timeout_ms)
	RETURNING * INTO p;
	INSERT INTO pg_wallet.partner_secrets (partner_id, webhook_secret, credentials)
	VALUES (p.id, secret, credentials);
	FOREACH cur IN ARRAY currencies LOOP
		PERFORM pg_wallet.add_partner_currency(p.id, cur);
	END LOOP;
	RETURN pg_wallet._partner_info(p);
END
$$;
COMMENT ON FUNCTION pg_wallet.create_partner(text, text, text, text, text, text[], text, text,
	jsonb, text, boolean, boolean, integer, integer) IS
	'Admin: a partner (id PTN-<n> unless given) with its ledger owner and one settlement '
	'account per currency. adapter generic_json (signed JSON) or mpesa_daraja (credentials '
	'shortcode, passkey, consumer_key and consumer_secret for the OAuth Bearer token, and for '
	'payouts initiator_name, security_credential). '
	'webhook_secret "whsec_<base64>" (generated when NULL; see rotate_partner_secret). '
	'Secrets are stored write-only.';

CREATE FUNCTION pg_wallet.rotate_partner_secret(partner_id text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id, true);
	raw bytea := pg_wallet._random_bytes(32);
BEGIN
	UPDATE pg_wallet.partner_secrets s SET webhook_secret = raw, updated_at = now()
	WHERE s.partner_id = p.id;
	RETURN 'whsec_' || replace(encode(raw, 'base64'), E'\n', '');
END
$$;
COMMENT ON FUNCTION pg_wallet.rotate_partner_secret(text) IS
	'Admin: a new random webhook secret for a partner, returned once as whsec_<base64> to be '
	'given to the partner; the old one stops working at once.';

CREATE FUNCTION pg_wallet.set_partner_secrets(
	partner_id text,
	webhook_secret text DEFAULT NULL,
	credentials jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id, true);
BEGIN
	IF credentials IS NOT NULL AND (jsonb_typeof(credentials) <> 'object'
		OR octet_length(credentials::text) > 4096) THEN
		RAISE EXCEPTION 'credentials must be a JSON object of at most 4096 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE pg_wallet.partner_secrets s
	SET webhook_secret = CASE WHEN set_partner_secrets.webhook_secret IS NULL THEN s.webhook_secret
		ELSE pg_wallet._parse_webhook_secret(set_partner_secrets.webhook_secret) END,
		credentials = coalesce(set_partner_secrets.credentials, s.credentials),
		updated_at = now()
	WHERE s.partner_id = p.id;
END
$$;
COMMENT ON FUNCTION pg_wallet.set_partner_secrets(text, text, jsonb) IS
	'Admin: replace a partner''s webhook secret and/or credentials (NULL keeps the current '
	'one; credentials are replaced as a whole object, M-Pesa consumer_key and consumer_secret '
	'included). Nothing reads them back.';

CREATE FUNCTION pg_wallet.set_partner_status(partner_id text, status text)
RETURNS pg_wallet.partner_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id, true);
BEGIN
	IF status IS NULL OR status NOT IN ('active', 'inactive', 'suspended') THEN
		RAISE EXCEPTION 'partner status must be active, inactive or suspended'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE pg_wallet.partners x SET status = set_partner_status.status, updated_at = now()
	WHERE x.id = p.id
	RETURNING * INTO p;
	RETURN pg_wallet._partner_info(p);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_partner_status(text, text) IS
	'Admin: activate, deactivate or suspend a partner. Only active partners take new '
	'deposits and payouts; callbacks for requests already sent are still accepted.';

CREATE FUNCTION pg_wallet.list_partners(service text DEFAULT NULL)
RETURNS SETOF pg_wallet.partner_info
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT (pg_wallet._partner_info(p)).* FROM pg_wallet.partners p
	WHERE list_partners.service IS NULL OR p.service = list_partners.service
	ORDER BY p.priority, p.id
$$;
COMMENT ON FUNCTION pg_wallet.list_partners(text) IS
	'Admin: every partner (of a service), any status, in selection order.';

CREATE FUNCTION pg_wallet.get_partners(service text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	list jsonb;
BEGIN
	IF service IS NULL OR service !~ '^[a-z][a-z0-9_]{1,31}$' THEN
		RAISE EXCEPTION 'service must be a lower-case code such as mpesa or bank_transfer'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'name', p.name,
			'country', p.country, 'service', p.service, 'status', p.status)
			ORDER BY p.priority, p.id), '[]')
	INTO list
	FROM pg_wallet.partners p
	WHERE p.service = get_partners.service AND p.status = 'active';
	RETURN jsonb_build_object('partners', list, 'count', jsonb_array_length(list));
END
$$;
COMMENT ON FUNCTION pg_wallet.get_partners(text) IS
	'Cashier get_partners: the active partners of a service as {"partners": [{"id", "name", '
	'"country", "service", "status"}], "count"}, in selection order.';

CREATE FUNCTION pg_wallet._select_partner(
	p_partner_id text, p_service text, p_currency text, p_payout boolean)
RETURNS pg_wallet.partners
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners;
	what text := CASE WHEN p_payout THEN 'payouts' ELSE 'deposits' END;
BEGIN
	IF p_partner_id IS NOT NULL THEN
		p := pg_wallet._partner_row(p_partner_id);
		IF p.status <> 'active' THEN
			RAISE EXCEPTION 'partner % is %', p.id, p.status USING ERRCODE = 'WL061';
		END IF;
		IF p_service IS NOT NULL AND p.service <> p_service THEN
			RAISE EXCEPTION 'partner % does not offer %', p.id, left(p_service, 32)
				USING ERRCODE = 'WL061';
		END IF;
		IF (p_payout AND NOT p.can_payout) OR (NOT p_payout AND NOT p.can_deposit) THEN
			RAISE EXCEPTION 'partner % does not take %', p.id, what USING ERRCODE = 'WL061';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.partner_accounts pa
		               WHERE pa.partner_id = p.id AND pa.currency = p_currency) THEN
			RAISE EXCEPTION 'partner % does not work in %', p.id, p_currency
				USING ERRCODE = 'WL061';
		END IF;
		RETURN p;
	END IF;
	SELECT x.* INTO p
	FROM pg_wallet.partners x
	JOIN pg_wallet.partner_accounts pa ON pa.partner_id = x.id AND pa.currency = p_currency
	WHERE x.service = p_service AND x.status = 'active'
	  AND CASE WHEN p_payout THEN x.can_payout ELSE x.can_deposit END
	ORDER BY x.priority, x.id
	LIMIT 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no active partner offers % % in %', left(p_service, 32), what,
			p_currency USING ERRCODE = 'WL062';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._select_partner(text, text, text, boolean) IS
	'Internal: the partner given (it must be active and serve the service, direction and '
	'currency: WL061) or the first active one by priority that does (WL062 when none).';

CREATE FUNCTION pg_wallet._settlement_account(p_partner_id text, p_currency text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.account_number FROM pg_wallet.partner_accounts pa
	JOIN pg_wallet.accounts a ON a.id = pa.account_id
	WHERE pa.partner_id = p_partner_id AND pa.currency = p_currency
$$;
COMMENT ON FUNCTION pg_wallet._settlement_account(text, text) IS
	'Internal: a partner''s settlement account number in a currency.';

CREATE FUNCTION pg_wallet.create_agent(
	name text,
	currencies text[],
	agent_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id text;
	owner bigint;
	cur text;
	accounts jsonb := '{}';
BEGIN
	IF name IS NULL OR length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'agent name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF currencies IS NULL OR cardinality(currencies) NOT BETWEEN 1 AND 20 THEN
		RAISE EXCEPTION 'an agent needs 1 to 20 currencies' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	owner := pg_wallet.create_owner('agent', name);
	new_id := coalesce(agent_id, 'AGT-' || owner);
	IF new_id !~ '^AGT-[A-Za-z0-9_-]{1,40}$' THEN
		RAISE EXCEPTION 'agent id must look like AGT-123' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.agents a WHERE a.id = new_id) THEN
		RAISE EXCEPTION 'agent % already exists', new_id USING ERRCODE = 'unique_violation';
	END IF;
	INSERT INTO pg_wallet.agents (id, owner_id, name) VALUES (new_id, owner, name);
	FOREACH cur IN ARRAY currencies LOOP
		accounts := accounts || jsonb_build_object(cur,
			(pg_wallet.create_account(owner, cur, 'COMMISSION_ACCOUNT')).account_number);
	END LOOP;
	RETURN jsonb_build_object('agent_id', new_id, 'agent_name', name, 'owner_id', owner,
		'accounts', accounts);
END
$$;
COMMENT ON FUNCTION pg_wallet.create_agent(text, text[], text) IS
	'Admin: an agent (id AGT-<owner id> unless given) with a COMMISSION_ACCOUNT per currency '
	'(ACC-AGENT-<CUR>-<n>), which takes the agent''s share of withdrawal fees.';

CREATE FUNCTION pg_wallet._agent_account(p_agent_id text, p_currency text,
	OUT agent pg_wallet.agents, OUT account_number text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	SELECT * INTO agent FROM pg_wallet.agents a WHERE a.id = p_agent_id;
	IF NOT FOUND OR agent.status <> 'active' THEN
		RAISE EXCEPTION 'agent % does not exist or is not active', left(p_agent_id, 50)
			USING ERRCODE = 'WL069';
	END IF;
	SELECT a.account_number INTO account_number FROM pg_wallet.accounts a
	WHERE a.owner_id = agent.owner_id AND a.currency = p_currency
	  AND a.purpose = 'COMMISSION_ACCOUNT' AND a.status = 'ACTIVE'
	ORDER BY a.id LIMIT 1;
	IF account_number IS NULL THEN
		RAISE EXCEPTION 'agent % has no commission account in %', agent.id, p_currency
			USING ERRCODE = 'WL069';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._agent_account(text, text) IS
	'Internal: an active agent and its commission account in a currency, or WL069.';

CREATE FUNCTION pg_wallet.get_bank_codes()
RETURNS TABLE (code text, name text, country text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT b.code, b.name, b.country FROM pg_wallet.bank_codes b ORDER BY b.code $$;
COMMENT ON FUNCTION pg_wallet.get_bank_codes() IS
	'The banks bank payouts can reach (Sellapay codes: 001 KCB Group Limited, ...).';
-- Adapters: what a partner's requests look like and how its answers are read.
--
-- generic_json: POST {base_url}/deposits and {base_url}/payouts with a JSON body (see
--   docs/sql-api.md), signed with Standard Webhooks headers; the answer's "status"
--   ("accepted", "completed", "failed") and "partner_reference" are read.
-- mpesa_daraja: Safaricom Daraja shapes. STK push POST
--   {base_url}/mpesa/stkpush/v1/processrequest (Password = base64(shortcode + passkey +
--   timestamp)); B2C POST {base_url}/mpesa/b2c/v3/paymentrequest (OriginatorConversationID =
--   our request_ref, so a repeat is recognisable). Amounts are whole units.
--
-- Secrets (the password, the security credential, the callback URL token) are added by
-- _adapter_render when a row is sent, in the worker, so no stored body holds one.

CREATE FUNCTION pg_wallet._mpesa_phone(phone text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ltrim(phone, '+') $$;
COMMENT ON FUNCTION pg_wallet._mpesa_phone(text) IS
	'Internal: an E.164 phone as Daraja writes it (254712345678).';

CREATE FUNCTION pg_wallet._mpesa_whole_amount(p_amount_minor bigint, p_currency text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	exponent smallint := (SELECT c.exponent FROM pg_wallet.currencies c WHERE c.code = p_currency);
BEGIN
	IF p_amount_minor % (10 ^ exponent)::bigint <> 0 THEN
		RAISE EXCEPTION 'M-Pesa amounts are whole units: % % has a fraction',
			pg_wallet.amount_format(p_amount_minor, p_currency), p_currency
			USING ERRCODE = 'WL074';
	END IF;
	RETURN p_amount_minor / (10 ^ exponent)::bigint;
END
$$;
COMMENT ON FUNCTION pg_wallet._mpesa_whole_amount(bigint, text) IS
	'Internal: an amount in whole units for Daraja, or WL074 when it has a fraction.';

CREATE FUNCTION pg_wallet._mpesa_callback_url(p pg_wallet.partners, secret bytea)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('%s/mpesa/%s/%s', p.callback_url, p.id,
		encode(pg_wallet._hmac_sha256(secret, convert_to('mpesa-callback:' || p.id, 'UTF8')),
		       'hex'))
$$;
COMMENT ON FUNCTION pg_wallet._mpesa_callback_url(pg_wallet.partners, bytea) IS
	'Internal: the URL Daraja calls back: {callback_url}/mpesa/{partner}/{token}, the token '
	'an HMAC of the partner id under its webhook secret (Daraja signs nothing, so the '
	'unguessable URL is what authenticates a callback; the bridge passes the token as the '
	'x-callback-token header).';

CREATE FUNCTION pg_wallet._adapter_deposit_request(p pg_wallet.partners, d pg_wallet.deposits)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p.adapter = 'mpesa_daraja' THEN
		IF d.phone IS NULL THEN
			RAISE EXCEPTION 'an M-Pesa deposit needs the payer''s phone number'
				USING ERRCODE = 'WL068';
		END IF;
		RETURN jsonb_build_object('url', p.base_url || '/mpesa/stkpush/v1/processrequest',
			'body', jsonb_build_object(
				'TransactionType', 'CustomerPayBillOnline',
				'Amount', pg_wallet._mpesa_whole_amount(d.amount_minor, d.currency),
				'PartyA', pg_wallet._mpesa_phone(d.phone),
				'PhoneNumber', pg_wallet._mpesa_phone(d.phone),
				'AccountReference', 'DEP' || d.id,
				'TransactionDesc', left(coalesce(d.description, 'Deposit'), 13)));
	END IF;
	RETURN jsonb_build_object('url', p.base_url || '/deposits',
		'body', jsonb_strip_nulls(jsonb_build_object(
			'type', 'deposit.request',
			'reference', d.request_ref,
			'amount', pg_wallet.amount_format(d.amount_minor, d.currency)::text,
			'currency', d.currency,
			'phone', d.phone,
			'payment_method', d.payment_method,
			'description', d.description,
			'callback_url', p.callback_url,
			'expires_at', pg_wallet._ts_iso(d.expires_at))));
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_deposit_request(pg_wallet.partners, pg_wallet.deposits) IS
	'Internal: the URL and (secret-free) body of a deposit request in the partner''s shape.';

CREATE FUNCTION pg_wallet._adapter_payout_request(p pg_wallet.partners, w pg_wallet.withdrawals)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p.adapter = 'mpesa_daraja' THEN
		IF w.kind <> 'mobile' THEN
			RAISE EXCEPTION 'partner % pays out to phones only', p.id USING ERRCODE = 'WL068';
		END IF;
		RETURN jsonb_build_object('url', p.base_url || '/mpesa/b2c/v3/paymentrequest',
			'body', jsonb_build_object(
				'OriginatorConversationID', w.request_ref,
				'CommandID', 'BusinessPayment',
				'Amount', pg_wallet._mpesa_whole_amount(w.amount_minor, w.currency),
				'PartyB', pg_wallet._mpesa_phone(w.destination),
				'Remarks', left(coalesce(w.narrative, 'Withdrawal'), 100),
				'Occassion', w.request_ref));
	END IF;
	RETURN jsonb_build_object('url', p.base_url || '/payouts',
		'body', jsonb_strip_nulls(jsonb_build_object(
			'type', 'payout.request',
			'reference', w.request_ref,
			'amount', pg_wallet.amount_format(w.amount_minor, w.currency)::text,
			'currency', w.currency,
			'destination', CASE w.kind
				WHEN 'bank' THEN jsonb_build_object('kind', 'bank', 'bank_code', w.bank_code,
					'bank_name', (SELECT b.name FROM pg_wallet.bank_codes b WHERE b.code = w.bank_code),
					'account_number', w.destination, 'account_name', w.account_name)
				ELSE jsonb_build_object('kind', 'mobile', 'phone', w.destination) END,
			'narrative', w.narrative,
			'callback_url', p.callback_url)));
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_payout_request(pg_wallet.partners, pg_wallet.withdrawals) IS
	'Internal: the URL and (secret-free) body of a payout request in the partner''s shape.';

CREATE FUNCTION pg_wallet._adapter_render(
	r pg_wallet.outbox, p pg_wallet.partners, s pg_wallet.partner_secrets)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	body jsonb := r.body;
	headers text := 'Content-Type: application/json' || E'\n' || 'Accept: application/json';
	ts text;
	cred jsonb := coalesce(s.credentials, '{}');
	k text;
	v text;
BEGIN
	FOR k, v IN SELECT * FROM jsonb_each_text(r.headers) LOOP
		headers := headers || E'\n' || k || ': ' || v;
	END LOOP;
	IF p.adapter = 'mpesa_daraja' AND r.kind = 'deposit' THEN
		ts := to_char(clock_timestamp() AT TIME ZONE 'Africa/Nairobi', 'YYYYMMDDHH24MISS');
		body := body || jsonb_build_object(
			'BusinessShortCode', cred ->> 'shortcode',
			'PartyB', cred ->> 'shortcode',
			'Timestamp', ts,
			'Password', replace(encode(convert_to((cred ->> 'shortcode') || (cred ->> 'passkey')
			                                      || ts, 'UTF8'), 'base64'), E'\n', ''),
			'CallBackURL', pg_wallet._mpesa_callback_url(p, s.webhook_secret));
	ELSIF p.adapter = 'mpesa_daraja' AND r.kind = 'payout' THEN
		body := body || jsonb_build_object(
			'InitiatorName', cred ->> 'initiator_name',
			'SecurityCredential', cred ->> 'security_credential',
			'PartyA', cred ->> 'shortcode',
			'QueueTimeOutURL', pg_wallet._mpesa_callback_url(p, s.webhook_secret),
			'ResultURL', pg_wallet._mpesa_callback_url(p, s.webhook_secret));
	END IF;
	RETURN jsonb_build_object('url', r.url, 'headers', headers,
		'body', CASE WHEN body IS NULL THEN '' ELSE body::text END);
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_render(pg_wallet.outbox, pg_wallet.partners,
	pg_wallet.partner_secrets) IS
	'Internal, worker only: the request as sent: headers as "Name: value" lines, the body '
	'with the adapter''s secrets and send-time fields added (Daraja Timestamp, Password, '
	'SecurityCredential, callback URLs).';

CREATE FUNCTION pg_wallet._adapter_subject_open(r pg_wallet.outbox)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE r.kind
		WHEN 'deposit' THEN EXISTS (SELECT 1 FROM pg_wallet.deposits d
			WHERE d.request_ref = r.subject_ref AND d.status IN ('pending', 'sent_to_partner'))
		WHEN 'payout' THEN EXISTS (SELECT 1 FROM pg_wallet.withdrawals w
			WHERE w.request_ref = r.subject_ref AND w.status = 'processing')
		ELSE true END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_subject_open(pg_wallet.outbox) IS
	'Internal: whether the deposit or payout an outbox row is about is still open.';

-- The answer to a request, parsed: (state, partner_reference, partner_request_id, error)
-- where state is accepted, completed or failed.
CREATE FUNCTION pg_wallet._adapter_parse_answer(
	p pg_wallet.partners, ok boolean, response text, why text,
	OUT state text, OUT partner_reference text, OUT partner_request_id text, OUT error text)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb;
BEGIN
	IF NOT ok THEN
		state := 'failed';
		error := why;
		RETURN;
	END IF;
	BEGIN
		j := response::jsonb;
	EXCEPTION WHEN OTHERS THEN
		j := NULL;
	END;
	IF j IS NULL OR jsonb_typeof(j) <> 'object' THEN
		state := 'accepted';	-- a 2xx without a readable body: wait for the callback
		RETURN;
	END IF;
	IF p.adapter = 'mpesa_daraja' THEN
		state := CASE WHEN j ->> 'ResponseCode' = '0' THEN 'accepted' ELSE 'failed' END;
		partner_reference := left(coalesce(j ->> 'MerchantRequestID', j ->> 'ConversationID'), 128);
		partner_request_id := left(coalesce(j ->> 'CheckoutRequestID',
		                                    j ->> 'OriginatorConversationID'), 128);
		error := CASE WHEN state = 'failed' THEN left(coalesce(j ->> 'ResponseDescription',
			j ->> 'errorMessage', 'refused by M-Pesa'), 500) END;
		RETURN;
	END IF;
	state := CASE lower(j ->> 'status') WHEN 'completed' THEN 'completed'
		WHEN 'failed' THEN 'failed' ELSE 'accepted' END;
	partner_reference := left(j ->> 'partner_reference', 128);
	error := CASE WHEN state = 'failed' THEN left(coalesce(j ->> 'error', 'refused by partner'),
		500) END;
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_parse_answer(pg_wallet.partners, boolean, text, text) IS
	'Internal: read a partner''s answer to a request (accepted, completed or failed).';

CREATE FUNCTION pg_wallet._adapter_on_answer(
	r pg_wallet.outbox, ok boolean, response text, why text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(r.partner_id);
	a record := pg_wallet._adapter_parse_answer(p, ok, response, why);
BEGIN
	IF r.kind = 'deposit' THEN
		PERFORM pg_wallet._deposit_answered(r.subject_ref, a.state, a.partner_reference,
			a.partner_request_id, a.error);
	ELSIF r.kind = 'payout' THEN
		PERFORM pg_wallet._withdrawal_answered(r.subject_ref, a.state, a.partner_reference,
			a.partner_request_id, a.error);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._adapter_on_answer(pg_wallet.outbox, boolean, text, text) IS
	'Internal: hand a partner''s answer (or refusal) to the deposit or payout it is about.';
-- Deposits (cashier deposit_request / get_deposit_status / cancel_deposit, Sellapay
-- requestStkPush, Tribble wallets/fund): a deposits row and its outbox row in one
-- transaction; the partner's answer moves it to sent_to_partner; its callback completes it
-- (one CREDIT journal through the ledger core: partner settlement debited, wallet credited,
-- DEPOSIT fee) or fails it; the expiry sweep expires it. Every end is an event.

CREATE FUNCTION pg_wallet._deposit_row(p_ref text, p_lock boolean DEFAULT false)
RETURNS pg_wallet.deposits
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits;
BEGIN
	IF p_lock THEN
		SELECT * INTO d FROM pg_wallet.deposits x WHERE x.request_ref = p_ref FOR UPDATE;
	ELSE
		SELECT * INTO d FROM pg_wallet.deposits x WHERE x.request_ref = p_ref;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'transaction not found: no deposit %', coalesce(left(p_ref, 64), 'NULL')
			USING ERRCODE = 'WL063';
	END IF;
	RETURN d;
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_row(text, boolean) IS
	'Internal: a deposit by request_ref (locked when asked), or WL063 "transaction not '
	'found".';

CREATE FUNCTION pg_wallet._deposit_json(d pg_wallet.deposits)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'request_ref', d.request_ref,
		'partner_id', d.partner_id,
		'partner_name', p.name,
		'amount', pg_wallet.amount_format(d.amount_minor, d.currency),
		'currency', d.currency,
		'status', d.status,
		'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
		'journal_id', d.journal_id,
		'fee_amount', pg_wallet.amount_format(d.fee_minor, d.currency),
		'error', d.error,
		'created_at', pg_wallet._ts_iso(d.created_at),
		'expires_at', pg_wallet._ts_iso(d.expires_at),
		'completed_at', pg_wallet._ts_iso(d.completed_at)))
	FROM pg_wallet.partners p
	LEFT JOIN pg_wallet.journals j ON j.id = d.journal_id
	WHERE p.id = d.partner_id
$$;
COMMENT ON FUNCTION pg_wallet._deposit_json(pg_wallet.deposits) IS
	'Internal: a deposit as the cashier spec shows it.';

CREATE FUNCTION pg_wallet.deposit_request(
	account_number text,
	amount numeric,
	service text DEFAULT NULL,
	partner_id text DEFAULT NULL,
	payment_method text DEFAULT NULL,
	phone text DEFAULT NULL,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	channel text DEFAULT 'cashier',
	expires_in_s integer DEFAULT 1800,
	currency text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts := pg_wallet._account_row(account_number);
	amount_minor bigint;
	v_phone text := pg_wallet._normalize_phone(nullif(btrim(phone), ''));
	p pg_wallet.partners;
	d pg_wallet.deposits;
	req jsonb;
	hash bytea;
	new_id bigint;
BEGIN
	IF currency IS NOT NULL AND currency <> acct.currency THEN
		RAISE EXCEPTION 'account % holds %, not %', acct.account_number, acct.currency,
			left(currency, 10) USING ERRCODE = 'WL009';
	END IF;
	amount_minor := pg_wallet.amount_parse(amount, acct.currency);
	IF amount_minor <= 0 THEN
		RAISE EXCEPTION 'amount must be greater than zero' USING ERRCODE = 'WL010';
	END IF;
	IF acct.status <> 'ACTIVE' OR acct.is_system OR acct.purpose = 'SETTLEMENT' THEN
		RAISE EXCEPTION 'account % cannot take deposits', acct.account_number
			USING ERRCODE = 'WL002', DETAIL = 'Deposits go to an ACTIVE wallet account.';
	END IF;
	IF channel IS NULL OR channel NOT IN ('cashier', 'sellapay', 'tribble', 'sql') THEN
		RAISE EXCEPTION 'channel must be cashier, sellapay, tribble or sql'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF expires_in_s IS NULL OR expires_in_s NOT BETWEEN 1 AND 86400 THEN
		RAISE EXCEPTION 'expires_in_s must be between 1 and 86400'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF length(payment_method) > 64 OR length(description) > 200
		OR length(idempotency_key) NOT BETWEEN 1 AND 128 THEN
		RAISE EXCEPTION 'payment_method (64), description (200) or idempotency_key (1-128) '
			'is too long' USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF service IS NULL AND partner_id IS NULL THEN
		RAISE EXCEPTION 'a deposit needs a service or a partner_id'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	hash := sha256(convert_to(concat_ws('|', acct.id, amount_minor, service, partner_id,
		payment_method, v_phone, description, channel), 'UTF8'));
	IF idempotency_key IS NOT NULL THEN
		-- keys are per owner: another owner's key is not ours to replay or to refuse
		SELECT * INTO d FROM pg_wallet.deposits x
		WHERE x.owner_id = acct.owner_id AND x.idempotency_key = deposit_request.idempotency_key;
		IF FOUND THEN
			IF d.request_hash <> hash THEN
				RAISE EXCEPTION 'idempotency key "%" was already used for a different deposit',
					idempotency_key USING ERRCODE = 'WL003';
			END IF;
			RETURN pg_wallet._deposit_json(d) || jsonb_build_object('replayed', true);
		END IF;
	END IF;
	p := pg_wallet._select_partner(partner_id, service, acct.currency, false);
	new_id := nextval(pg_get_serial_sequence('pg_wallet.deposits', 'id'));
	INSERT INTO pg_wallet.deposits (id, request_ref, account_id, owner_id, partner_id, channel,
		amount_minor, currency, service, payment_method, phone, description, idempotency_key,
		request_hash, expires_at)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, format('DEP-REQ-%s-%s', to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'),
		lpad(new_id::text, 3, '0')), acct.id, acct.owner_id, p.id, channel, amount_minor,
		acct.currency, p.service, payment_method, v_phone, description, idempotency_key, hash,
		now() + make_interval(secs => expires_in_s))
	RETURNING * INTO d;
	req := pg_wallet._adapter_deposit_request(p, d);
	PERFORM pg_wallet._outbox_enqueue(p.id, 'deposit', d.request_ref, req ->> 'url', req -> 'body');
	RETURN pg_wallet._deposit_json(d) || jsonb_build_object('replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet.deposit_request(text, numeric, text, text, text, text, text, text,
	text, integer, text) IS
	'Cashier deposit_request: ask a partner (given, or the first active one of the service '
	'that works in the account''s currency: WL061/WL062) to collect an amount for a wallet '
	'account. The request is queued in the same transaction (outbox) and sent after commit; '
	'status pending, then sent_to_partner, completed, failed, cancelled or expired (at '
	'expires_at, default 30 minutes). Idempotent by key, per owner of the account (WL003 '
	'on a different request of the same owner; other owners'' keys do not collide). '
	'Returns request_ref, partner_id, partner_name, amount, currency, status, expires_at.';

CREATE FUNCTION pg_wallet._deposit_events(d pg_wallet.deposits)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j pg_wallet.journals;
	b pg_wallet.balance_info;
	acct text := (SELECT a.account_number FROM pg_wallet.accounts a WHERE a.id = d.account_id);
	ts bigint := extract(epoch FROM now())::bigint;
	amount numeric := pg_wallet.amount_format(d.amount_minor, d.currency);
BEGIN
	IF d.status = 'completed' THEN
		SELECT * INTO j FROM pg_wallet.journals x WHERE x.id = d.journal_id;
		b := pg_wallet.get_balance(acct);
		PERFORM pg_wallet.emit_event(d.owner_id, 'deposit_completed', jsonb_build_object(
			'transaction_ref', d.request_ref,
			'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
			'journal_id', j.id, 'amount', amount, 'currency', d.currency,
			'user_balance', b.balance,
			'fee_amount', pg_wallet.amount_format(d.fee_minor, d.currency),
			'payment_method', coalesce(d.payment_method, d.service),
			'completed_at', ts, 'timestamp', ts));
		PERFORM pg_wallet.emit_event(d.owner_id, 'transaction_completed', jsonb_build_object(
			'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
			'transaction_id', j.id, 'transaction_type', 'deposit', 'amount', amount,
			'currency', d.currency, 'balance_after', b.balance,
			'fee', pg_wallet.amount_format(d.fee_minor, d.currency), 'timestamp', ts));
		IF d.channel = 'tribble' THEN
			PERFORM pg_wallet.emit_event(d.owner_id, 'transaction:completed', jsonb_build_object(
				'transactionId', d.request_ref, 'amount', amount, 'status', 'SUCCESS',
				'timestamp', pg_wallet._ts_iso(now())));
		END IF;
	ELSE
		PERFORM pg_wallet.emit_event(d.owner_id, 'deposit_failed', jsonb_build_object(
			'transaction_ref', d.request_ref, 'amount', amount, 'currency', d.currency,
			'error_message', d.error, 'failed_at', ts, 'timestamp', ts));
		PERFORM pg_wallet.emit_event(d.owner_id, 'transaction_failed', jsonb_build_object(
			'receipt_code', NULL, 'transaction_id', NULL, 'transaction_type', 'deposit',
			'amount', amount, 'currency', d.currency, 'error', d.error, 'timestamp', ts));
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_events(pg_wallet.deposits) IS
	'Internal: the events of a deposit that ended: deposit_completed and '
	'transaction_completed (and Tribble transaction:completed), or deposit_failed and '
	'transaction_failed.';

CREATE FUNCTION pg_wallet._deposit_complete(p_ref text, p_partner_reference text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits := pg_wallet._deposit_row(p_ref, true);
	p pg_wallet.partners := pg_wallet._partner_row(d.partner_id);
	acct text := (SELECT a.account_number FROM pg_wallet.accounts a WHERE a.id = d.account_id);
	res pg_wallet.journal_result;
BEGIN
	IF d.status = 'completed' THEN
		RETURN jsonb_build_object('request_ref', d.request_ref, 'status', d.status,
			'replayed', true);
	END IF;
	IF d.status = 'failed' THEN
		RAISE EXCEPTION 'deposit % already failed; the partner now reports success', d.request_ref
			USING ERRCODE = 'WL064', HINT = 'Reconcile with the partner.';
	END IF;
	res := pg_wallet.credit(acct, pg_wallet.amount_format(d.amount_minor, d.currency),
		pg_wallet._settlement_account(p.id, d.currency), 'deposit:' || d.request_ref,
		left('Deposit from ' || p.name, 500),
		jsonb_strip_nulls(jsonb_build_object('request_ref', d.request_ref, 'partner_id', p.id,
			'partner_reference', p_partner_reference)));
	UPDATE pg_wallet.deposits x
	SET status = 'completed', journal_id = res.journal_id,
		fee_minor = pg_wallet.amount_parse(coalesce(res.fee, 0), d.currency),
		partner_reference = coalesce(left(p_partner_reference, 128), x.partner_reference),
		late = x.status IN ('cancelled', 'expired'), completed_at = now()
	WHERE x.id = d.id
	RETURNING * INTO d;
	PERFORM pg_wallet._deposit_events(d);
	RETURN jsonb_build_object('request_ref', d.request_ref, 'status', d.status,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_complete(text, text) IS
	'Internal: a partner''s success: post the CREDIT journal (idempotency key '
	'deposit:<request_ref>) and emit the events; again on a completed deposit: replayed. '
	'A cancelled or expired deposit is still credited (late): the money arrived. WL064 on a '
	'failed one.';

CREATE FUNCTION pg_wallet._deposit_fail(p_ref text, p_status text, p_error text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits := pg_wallet._deposit_row(p_ref, true);
BEGIN
	IF d.status = p_status OR (p_status = 'failed' AND d.status IN ('cancelled', 'expired')) THEN
		RETURN jsonb_build_object('request_ref', d.request_ref, 'status', d.status,
			'replayed', true);
	END IF;
	IF d.status = 'completed' THEN
		RAISE EXCEPTION 'deposit % is already completed', d.request_ref USING ERRCODE = 'WL064';
	END IF;
	UPDATE pg_wallet.deposits x
	SET status = p_status, error = left(coalesce(p_error, p_status), 500), failed_at = now()
	WHERE x.id = d.id
	RETURNING * INTO d;
	-- a request not yet sent must not be sent any more
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', updated_at = now()
	WHERE o.subject_ref = d.request_ref AND o.kind = 'deposit' AND o.status IN ('PENDING', 'DEAD');
	PERFORM pg_wallet._deposit_events(d);
	RETURN jsonb_build_object('request_ref', d.request_ref, 'status', d.status,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_fail(text, text, text) IS
	'Internal: end an open deposit as failed, cancelled or expired, cancel its unsent '
	'request and emit deposit_failed and transaction_failed. WL064 on a completed deposit.';

CREATE FUNCTION pg_wallet._deposit_answered(
	p_ref text, p_state text, p_partner_reference text, p_partner_request_id text,
	p_error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits := pg_wallet._deposit_row(p_ref, true);
BEGIN
	UPDATE pg_wallet.deposits x
	SET partner_reference = coalesce(x.partner_reference, p_partner_reference),
		partner_request_id = coalesce(x.partner_request_id, p_partner_request_id),
		status = CASE WHEN x.status = 'pending' AND p_state <> 'failed' THEN 'sent_to_partner'
		              ELSE x.status END,
		sent_at = coalesce(x.sent_at, now())
	WHERE x.id = d.id;
	IF p_state = 'completed' THEN
		PERFORM pg_wallet._deposit_complete(d.request_ref, p_partner_reference);
	ELSIF p_state = 'failed' AND d.status IN ('pending', 'sent_to_partner') THEN
		PERFORM pg_wallet._deposit_fail(d.request_ref, 'failed', p_error);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._deposit_answered(text, text, text, text, text) IS
	'Internal: the partner answered a deposit request: accepted (sent_to_partner, its '
	'references kept), completed at once, or refused (failed).';

CREATE FUNCTION pg_wallet.get_deposit_status(request_ref text, owner_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits;
BEGIN
	SELECT * INTO d FROM pg_wallet.deposits x WHERE x.request_ref = get_deposit_status.request_ref
	  AND (get_deposit_status.owner_id IS NULL OR x.owner_id = get_deposit_status.owner_id);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'transaction not found: no deposit %',
			coalesce(left(request_ref, 64), 'NULL') USING ERRCODE = 'WL063';
	END IF;
	RETURN pg_wallet._deposit_json(d);
END
$$;
COMMENT ON FUNCTION pg_wallet.get_deposit_status(text, bigint) IS
	'Cashier get_deposit_status: request_ref, status, amount, currency, receipt_code, '
	'journal_id, created_at, completed_at. With owner_id, another owner''s deposit is '
	'"transaction not found" (WL063).';

CREATE FUNCTION pg_wallet.cancel_deposit(request_ref text, owner_id bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d pg_wallet.deposits := pg_wallet._deposit_row(request_ref, true);
BEGIN
	IF cancel_deposit.owner_id IS NOT NULL AND d.owner_id <> cancel_deposit.owner_id THEN
		RAISE EXCEPTION 'transaction not found: no deposit %', left(request_ref, 64)
			USING ERRCODE = 'WL063';
	END IF;
	IF d.status = 'cancelled' THEN
		RETURN jsonb_build_object('message', 'deposit cancelled', 'replayed', true);
	END IF;
	IF d.status NOT IN ('pending', 'sent_to_partner') THEN
		RAISE EXCEPTION 'deposit % is % and cannot be cancelled', d.request_ref, d.status
			USING ERRCODE = 'WL064';
	END IF;
	PERFORM pg_wallet._deposit_fail(d.request_ref, 'cancelled', 'cancelled by user');
	RETURN jsonb_build_object('message', 'deposit cancelled', 'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet.cancel_deposit(text, bigint) IS
	'Cashier cancel_deposit: cancel a pending or sent_to_partner deposit (its request is not '
	'sent if it has not been yet); WL064 once completed, failed or expired. A partner''s '
	'success that still arrives is credited (late).';

CREATE FUNCTION pg_wallet.expire_deposits(max_deposits integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref text;
	n integer := 0;
BEGIN
	IF max_deposits IS NULL OR max_deposits NOT BETWEEN 1 AND 100000 THEN
		RAISE EXCEPTION 'max_deposits must be between 1 and 100000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR ref IN
		SELECT d.request_ref FROM pg_wallet.deposits d
		WHERE d.status IN ('pending', 'sent_to_partner') AND d.expires_at <= now()
		ORDER BY d.expires_at LIMIT max_deposits
		FOR UPDATE SKIP LOCKED
	LOOP
		PERFORM pg_wallet._deposit_fail(ref, 'expired', 'Payment timeout');
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet.expire_deposits(integer) IS
	'Expire up to max_deposits open deposits past expires_at (status expired, error '
	'"Payment timeout", events deposit_failed and transaction_failed); rows locked by '
	'another transaction are left for the next sweep. The expiry worker calls it.';

CREATE FUNCTION pg_wallet.request_stk_push(
	account_number text,
	phone text,
	amount numeric,
	reference text DEFAULT NULL,
	description text DEFAULT NULL,
	partner_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_phone text;
	r jsonb;
BEGIN
	IF phone IS NULL OR phone !~ '^[17][0-9]{8}$' THEN
		RAISE EXCEPTION 'Invalid phone number format' USING ERRCODE = 'WL068',
			DETAIL = 'Phone must start with 7 or 1, 9 digits, no country code.';
	END IF;
	IF length(reference) > 20 THEN
		RAISE EXCEPTION 'reference is longer than 20 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	v_phone := '+254' || phone;
	r := pg_wallet.deposit_request(account_number, amount,
		CASE WHEN partner_id IS NULL THEN 'mpesa' END, partner_id, 'mpesa', v_phone,
		CASE WHEN reference IS NOT NULL THEN 'stk:' || reference END, description, 'sellapay',
		1800, 'KES');
	RETURN jsonb_strip_nulls(jsonb_build_object('message', 'STK push initiated',
		'transaction_id', r ->> 'request_ref', 'phone', ltrim(v_phone, '+'),
		'amount', (r ->> 'amount')::numeric, 'status', 'pending', 'description', description,
		'replayed', (r ->> 'replayed')::boolean));
END
$$;
COMMENT ON FUNCTION pg_wallet.request_stk_push(text, text, numeric, text, text, text) IS
	'Sellapay requestStkPush: an M-Pesa STK push for a KES account; phone in local format '
	'(7xx or 1xx, 9 digits, WL068 "Invalid phone number format"); reference (20 chars) is '
	'the idempotency key, per owner of the account (another merchant''s reference never '
	'collides). Returns message, transaction_id, phone (2547...), amount, status.';

CREATE FUNCTION pg_wallet.fund_wallet(
	account_number text,
	amount numeric,
	payment_method_id text,
	idempotency_key text DEFAULT NULL,
	service text DEFAULT 'card')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r jsonb;
	q pg_wallet.fee_quote;
	b pg_wallet.balance_info;
BEGIN
	IF payment_method_id IS NULL OR length(payment_method_id) NOT BETWEEN 1 AND 64 THEN
		RAISE EXCEPTION 'paymentMethodId must be 1 to 64 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	r := pg_wallet.deposit_request(account_number, amount, service, NULL, payment_method_id,
		NULL, idempotency_key, NULL, 'tribble');
	b := pg_wallet.get_balance(account_number);
	q := pg_wallet.calculate_fee('DEPOSIT', amount, b.currency);
	RETURN jsonb_build_object('transactionId', r ->> 'request_ref',
		'walletId', account_number, 'amount', (r ->> 'amount')::numeric,
		'status', 'PROCESSING', 'transactionFee', coalesce(q.fee, 0),
		'totalAmount', (r ->> 'amount')::numeric + coalesce(q.fee, 0),
		'newBalance', b.balance, 'createdAt', r ->> 'created_at');
END
$$;
COMMENT ON FUNCTION pg_wallet.fund_wallet(text, numeric, text, text, text) IS
	'Tribble POST /wallets/fund: a deposit through a partner of the service (default card) '
	'with the payment method as reference; idempotency_key per owner of the account; '
	'PROCESSING until the partner''s callback (transaction:completed event).';
-- Withdrawals and payouts (cashier withdraw_request; Sellapay sendFundsToMobile,
-- sendFundsToLocalBank, sendFundsToSellapay): the amount and its WITHDRAWAL fee are held
-- (place_hold with fee_type WITHDRAWAL, which also counts KYC limits and quotes the agent's
-- commission) in the transaction that queues the partner call; the partner's success posts
-- the hold (post_hold: one HOLD_CAPTURE journal, fee and commission included), its failure
-- or the deadline voids it (void_hold). Sending to another wallet is a plain transfer.

CREATE FUNCTION pg_wallet._withdrawal_row(p_ref text, p_lock boolean DEFAULT false)
RETURNS pg_wallet.withdrawals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals;
BEGIN
	IF p_lock THEN
		SELECT * INTO w FROM pg_wallet.withdrawals x WHERE x.request_ref = p_ref FOR UPDATE;
	ELSE
		SELECT * INTO w FROM pg_wallet.withdrawals x WHERE x.request_ref = p_ref;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'transaction not found: no withdrawal %',
			coalesce(left(p_ref, 64), 'NULL') USING ERRCODE = 'WL063';
	END IF;
	RETURN w;
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_row(text, boolean) IS
	'Internal: a withdrawal by request_ref (locked when asked), or WL063.';

CREATE FUNCTION pg_wallet._withdrawal_json(w pg_wallet.withdrawals)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'request_ref', w.request_ref,
		'amount', pg_wallet.amount_format(w.amount_minor, w.currency),
		'currency', w.currency,
		'destination', w.destination,
		'status', w.status,
		'withdrawal_type', CASE WHEN w.agent_id IS NULL THEN 'direct' ELSE 'agent_assisted' END,
		'agent_id', w.agent_id,
		'agent_name', g.name,
		'agent_account', (SELECT a.account_number FROM pg_wallet.accounts a
		                  WHERE a.owner_id = g.owner_id AND a.currency = w.currency
		                    AND a.purpose = 'COMMISSION_ACCOUNT' ORDER BY a.id LIMIT 1),
		'fee_amount', pg_wallet.amount_format(w.fee_minor, w.currency),
		'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
		'error', w.error,
		'created_at', extract(epoch FROM w.created_at)::bigint,
		'completed_at', pg_wallet._ts_iso(w.completed_at)))
	FROM (SELECT 1) one
	LEFT JOIN pg_wallet.agents g ON g.id = w.agent_id
	LEFT JOIN pg_wallet.journals j ON j.id = w.journal_id
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_json(pg_wallet.withdrawals) IS
	'Internal: a withdrawal as the cashier spec shows it.';

CREATE FUNCTION pg_wallet._wallet_of(p_owner_id bigint, p_currency text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	number text;
BEGIN
	SELECT a.account_number INTO number FROM pg_wallet.accounts a
	WHERE a.owner_id = p_owner_id AND a.currency = p_currency AND a.purpose = 'WALLET'
	ORDER BY (a.status = 'ACTIVE') DESC, a.id LIMIT 1;
	IF number IS NULL THEN
		RAISE EXCEPTION 'account not found: no % wallet', left(p_currency, 10)
			USING ERRCODE = 'WL005';
	END IF;
	RETURN number;
END
$$;
COMMENT ON FUNCTION pg_wallet._wallet_of(bigint, text) IS
	'Internal: an owner''s WALLET account in a currency (the ACTIVE one with the lowest id), '
	'or WL005 "account not found".';

-- The shared path of every payout: checks, the hold, the row, the outbox message.
CREATE FUNCTION pg_wallet._payout_create(
	p_account text, p_amount numeric, p_kind text, p_destination text, p_service text,
	p_partner_id text, p_agent_id text, p_bank_code text, p_account_name text,
	p_narrative text, p_idempotency_key text, p_channel text, p_timeout_s integer)
RETURNS pg_wallet.withdrawals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts := pg_wallet._account_row(p_account);
	amount_minor bigint := pg_wallet.amount_parse(p_amount, acct.currency);
	p pg_wallet.partners;
	agent_account text;
	h pg_wallet.hold_info;
	w pg_wallet.withdrawals;
	req jsonb;
	hash bytea;
	new_id bigint;
	ref text;
	deadline timestamptz := now() + make_interval(secs => p_timeout_s);
	avail numeric;
BEGIN
	IF amount_minor <= 0 THEN
		RAISE EXCEPTION 'amount must be greater than zero' USING ERRCODE = 'WL010';
	END IF;
	IF length(p_narrative) > 200 OR length(p_account_name) > 100 THEN
		RAISE EXCEPTION 'narrative (200) or account_name (100) is too long'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF p_timeout_s IS NULL OR p_timeout_s NOT BETWEEN 1 AND 7 * 86400 THEN
		RAISE EXCEPTION 'timeout_s must be between 1 and 604800'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	hash := sha256(convert_to(concat_ws('|', acct.id, amount_minor, p_kind, p_destination,
		p_service, p_partner_id, p_agent_id, p_bank_code, p_account_name, p_narrative,
		p_channel), 'UTF8'));
	p := pg_wallet._select_partner(p_partner_id, p_service, acct.currency, true);
	IF p_agent_id IS NOT NULL THEN
		agent_account := (pg_wallet._agent_account(p_agent_id, acct.currency)).account_number;
	END IF;
	new_id := nextval(pg_get_serial_sequence('pg_wallet.withdrawals', 'id'));
	ref := format('WDL-REQ-%s-%s', to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'),
		lpad(new_id::text, 3, '0'));
	BEGIN
		h := pg_wallet.place_hold(acct.account_number, p_amount,
			pg_wallet._settlement_account(p.id, acct.currency), 'payout-hold:' || ref,
			deadline + interval '1 day', left('Withdrawal ' || ref, 500), 'WITHDRAWAL',
			agent_account);
	EXCEPTION WHEN SQLSTATE 'WL001' THEN
		avail := (pg_wallet.get_balance(acct.account_number)).available_balance;
		RAISE EXCEPTION 'insufficient balance: available % %', avail, acct.currency
			USING ERRCODE = 'WL001';
	END;
	INSERT INTO pg_wallet.withdrawals (id, request_ref, account_id, owner_id, partner_id,
		agent_id, channel, kind, amount_minor, currency, destination, bank_code, account_name,
		narrative, hold_id, idempotency_key, request_hash, deadline_at, fee_minor)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, ref, acct.id, acct.owner_id, p.id, p_agent_id, p_channel, p_kind,
		amount_minor, acct.currency, p_destination, p_bank_code, p_account_name, p_narrative,
		h.hold_id, p_idempotency_key, hash, deadline,
		pg_wallet.amount_parse(coalesce(h.fee, 0), acct.currency))
	RETURNING * INTO w;
	req := pg_wallet._adapter_payout_request(p, w);
	PERFORM pg_wallet._outbox_enqueue(p.id, 'payout', w.request_ref, req ->> 'url', req -> 'body');
	RETURN w;
END
$$;
COMMENT ON FUNCTION pg_wallet._payout_create(text, numeric, text, text, text, text, text, text,
	text, text, text, text, integer) IS
	'Internal: validate a payout, hold amount + WITHDRAWAL fee (WL001 "insufficient balance: '
	'available X CUR"), record it and queue the partner call, all in the caller''s '
	'transaction.';

-- A replay of a payout under the same idempotency key, or NULL.
CREATE FUNCTION pg_wallet._payout_replay(p_key text, p_account text)
RETURNS pg_wallet.withdrawals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals;
	acct pg_wallet.accounts;
BEGIN
	IF p_key IS NULL THEN
		RETURN NULL;
	END IF;
	IF length(p_key) > 128 THEN
		RAISE EXCEPTION 'idempotency_key is longer than 128 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	acct := pg_wallet._account_row(p_account);
	-- keys are per owner: another owner's key is neither replayed nor refused
	SELECT * INTO w FROM pg_wallet.withdrawals x
	WHERE x.owner_id = acct.owner_id AND x.idempotency_key = p_key;
	IF FOUND AND w.account_id <> acct.id THEN
		RAISE EXCEPTION 'idempotency key "%" was already used for a different withdrawal', p_key
			USING ERRCODE = 'WL003';
	END IF;
	RETURN w;
END
$$;
COMMENT ON FUNCTION pg_wallet._payout_replay(text, text) IS
	'Internal: the withdrawal the account''s owner earlier made under an idempotency key '
	'(keys are per owner; WL003 when it was for another account of the same owner).';

CREATE FUNCTION pg_wallet.withdraw_request(
	principal_id uuid,
	amount numeric,
	currency text,
	destination text,
	verification_token text,
	service text DEFAULT 'mpesa',
	agent_id text DEFAULT NULL,
	idempotency_key text DEFAULT NULL,
	partner_id text DEFAULT NULL,
	timeout_s integer DEFAULT 3600)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._principal_row(principal_id);
	acct text;
	w pg_wallet.withdrawals;
	v_dest text;
BEGIN
	IF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
		RAISE EXCEPTION 'unknown currency "%"', left(currency, 10) USING ERRCODE = 'WL015';
	END IF;
	acct := pg_wallet._wallet_of(p.owner_id, currency);
	w := pg_wallet._payout_replay(idempotency_key, acct);
	IF w.id IS NOT NULL THEN
		RETURN jsonb_build_object('message', 'withdrawal request created and being processed',
			'data', pg_wallet._withdrawal_json(w), 'replayed', true);
	END IF;
	-- the spec's order of refusals: token first, then the money
	PERFORM pg_wallet.consume_verification_token(p.id, 'withdrawal', verification_token);
	v_dest := pg_wallet._normalize_phone(destination);
	w := pg_wallet._payout_create(acct, amount, 'mobile', v_dest, coalesce(service, 'mpesa'),
		partner_id, agent_id, NULL, NULL, NULL, idempotency_key, 'cashier', timeout_s);
	-- who asked: its events name this principal
	UPDATE pg_wallet.withdrawals x SET principal_id = p.id WHERE x.id = w.id
	RETURNING * INTO w;
	RETURN jsonb_build_object('message', 'withdrawal request created and being processed',
		'data', pg_wallet._withdrawal_json(w), 'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet.withdraw_request(uuid, numeric, text, text, text, text, text, text,
	text, integer) IS
	'Cashier withdraw_request: a payout from the principal''s wallet in a currency to a '
	'phone. Consumes a verification token of purpose withdrawal (WL033 "verification_token '
	'is required. Please complete verification first.", WL028 "invalid or expired '
	'verification token. Please verify again."), then holds amount + fee (WL001 '
	'"insufficient balance: available 30.00 USD"). agent_id: agent-assisted, the agent''s '
	'commission account takes its share of the fee. status processing until the partner''s '
	'result (withdrawal_completed / withdrawal_failed events), or failed after timeout_s.';

CREATE FUNCTION pg_wallet.send_funds_to_mobile(
	account_number text,
	phone text,
	amount numeric,
	reference text DEFAULT NULL,
	narrative text DEFAULT NULL,
	partner_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals := pg_wallet._payout_replay(
		CASE WHEN reference IS NOT NULL THEN 'mobile:' || reference END, account_number);
BEGIN
	IF w.id IS NULL THEN
		IF phone IS NULL OR phone !~ '^[17][0-9]{8}$' THEN
			RAISE EXCEPTION 'Invalid phone number format' USING ERRCODE = 'WL068',
				DETAIL = 'Phone must start with 7 or 1, 9 digits, no country code.';
		END IF;
		w := pg_wallet._payout_create(account_number, amount, 'mobile', '+254' || phone,
			CASE WHEN partner_id IS NULL THEN 'mpesa' END,
			partner_id, NULL, NULL, NULL, narrative,
			CASE WHEN reference IS NOT NULL THEN 'mobile:' || reference END, 'sellapay', 3600);
	END IF;
	RETURN jsonb_build_object('message', 'Funds sent successfully',
		'transaction_id', w.request_ref, 'phone', ltrim(w.destination, '+'),
		'amount', pg_wallet.amount_format(w.amount_minor, w.currency),
		'status', CASE w.status WHEN 'processing' THEN 'pending' ELSE w.status END,
		'timestamp', extract(epoch FROM w.created_at)::bigint);
END
$$;
COMMENT ON FUNCTION pg_wallet.send_funds_to_mobile(text, text, numeric, text, text, text) IS
	'Sellapay sendFundsToMobile: an M-Pesa payout to a local phone (7xx/1xx, WL068) from an '
	'account; reference is the idempotency key (per owner of the account); WL001 '
	'"insufficient balance: available ..." (HTTP 402). status pending until the partner''s '
	'result.';

CREATE FUNCTION pg_wallet.send_funds_to_bank(
	account_number text,
	bank_code text,
	bank_account_number text,
	amount numeric,
	account_name text,
	reference text DEFAULT NULL,
	partner_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals := pg_wallet._payout_replay(
		CASE WHEN reference IS NOT NULL THEN 'bank:' || reference END, account_number);
	bank pg_wallet.bank_codes;
BEGIN
	IF w.id IS NULL THEN
		SELECT * INTO bank FROM pg_wallet.bank_codes b WHERE b.code = bank_code;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'Invalid bank details: unknown bank code "%"', left(bank_code, 10)
				USING ERRCODE = 'WL068', HINT = 'See pg_wallet.get_bank_codes().';
		END IF;
		IF bank_account_number IS NULL OR bank_account_number !~ '^[0-9]{6,20}$' THEN
			RAISE EXCEPTION 'Invalid bank details: account number must be 6 to 20 digits'
				USING ERRCODE = 'WL068';
		END IF;
		IF account_name IS NULL OR length(btrim(account_name)) NOT BETWEEN 1 AND 100
			OR account_name ~ '[[:cntrl:]]' THEN
			RAISE EXCEPTION 'Invalid bank details: account name must be 1 to 100 characters'
				USING ERRCODE = 'WL068';
		END IF;
		w := pg_wallet._payout_create(account_number, amount, 'bank', bank_account_number,
			'bank_transfer', partner_id, NULL, bank.code, btrim(account_name), NULL,
			CASE WHEN reference IS NOT NULL THEN 'bank:' || reference END, 'sellapay',
			3 * 86400);
	END IF;
	RETURN jsonb_build_object('message', 'Funds sent successfully',
		'transaction_id', w.request_ref,
		'bank', (SELECT b.name FROM pg_wallet.bank_codes b WHERE b.code = w.bank_code),
		'account_number', w.destination,
		'amount', pg_wallet.amount_format(w.amount_minor, w.currency),
		'status', CASE w.status WHEN 'processing' THEN 'pending' ELSE w.status END,
		'timestamp', extract(epoch FROM w.created_at)::bigint,
		'estimated_arrival', '2 hours');
END
$$;
COMMENT ON FUNCTION pg_wallet.send_funds_to_bank(text, text, text, numeric, text, text, text) IS
	'Sellapay sendFundsToLocalBank: a payout through a bank_transfer partner to an account at '
	'a bank of pg_wallet.bank_codes (WL068 "Invalid bank details" otherwise, HTTP 400); '
	'deadline 3 days; reference is the idempotency key (per owner of the account).';

CREATE FUNCTION pg_wallet.send_funds_to_account(
	account_number text,
	recipient_account text,
	amount numeric,
	reference text DEFAULT NULL,
	narrative text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	src pg_wallet.accounts := pg_wallet._account_row(account_number);
	dst pg_wallet.accounts;
	res pg_wallet.journal_result;
	avail numeric;
BEGIN
	SELECT * INTO dst FROM pg_wallet.accounts a WHERE a.account_number = recipient_account;
	IF NOT FOUND OR dst.is_system OR dst.purpose = 'SETTLEMENT' THEN
		RAISE EXCEPTION 'Recipient account doesn''t exist' USING ERRCODE = 'WL067';
	END IF;
	IF length(reference) > 100 OR length(narrative) > 200 THEN
		RAISE EXCEPTION 'reference (100) or narrative (200) is too long'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	BEGIN
		res := pg_wallet.transfer(src.account_number, dst.account_number, amount,
			-- the ledger's keys are global: scope the caller's reference by its owner
			CASE WHEN reference IS NOT NULL
			     THEN 'send:' || src.owner_id || ':' || reference END, narrative,
			jsonb_strip_nulls(jsonb_build_object('reference', reference)));
	EXCEPTION WHEN SQLSTATE 'WL001' THEN
		avail := (pg_wallet.get_balance(src.account_number)).available_balance;
		RAISE EXCEPTION 'insufficient balance: available % %', avail, src.currency
			USING ERRCODE = 'WL001';
	END;
	IF NOT res.replayed THEN
		PERFORM pg_wallet._transfer_events(res, src, dst,
			pg_wallet.amount_format(pg_wallet.amount_parse(amount, src.currency), src.currency));
	END IF;
	RETURN jsonb_build_object('message', 'Funds sent successfully',
		'transaction_id', res.receipt_code, 'recipient_account', dst.account_number,
		'amount', pg_wallet.amount_format(pg_wallet.amount_parse(amount, src.currency),
		                                  src.currency),
		'status', 'completed', 'timestamp', extract(epoch FROM res.created_at)::bigint,
		'replayed', res.replayed);
END
$$;
COMMENT ON FUNCTION pg_wallet.send_funds_to_account(text, text, numeric, text, text) IS
	'Sellapay sendFundsToSellapay: an internal transfer (TRANSFER journal, TRANSFER fee) to '
	'another wallet account; WL067 "Recipient account doesn''t exist" (HTTP 404), WL001 '
	'"insufficient balance: available ..." (402), WL009 across currencies. reference is the '
	'idempotency key, per owner of the sending account. transfer_completed events for both '
	'owners.';

CREATE FUNCTION pg_wallet._transfer_events(
	res pg_wallet.journal_result, src pg_wallet.accounts, dst pg_wallet.accounts,
	amount numeric)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	payload jsonb := jsonb_build_object('receipt_code', res.receipt_code,
		'transaction_id', res.journal_id, 'amount', amount, 'currency', src.currency,
		'from_account', src.account_number, 'to_account', dst.account_number,
		'fee', coalesce(res.fee, 0), 'timestamp', extract(epoch FROM res.created_at)::bigint);
	o bigint;
BEGIN
	-- owners in ascending id: the stream locks of one transaction are taken in order
	FOR o IN SELECT DISTINCT x FROM unnest(ARRAY[src.owner_id, dst.owner_id]) x ORDER BY x LOOP
		PERFORM pg_wallet.emit_event(o, 'transfer_completed', payload);
	END LOOP;
END
$$;
COMMENT ON FUNCTION pg_wallet._transfer_events(pg_wallet.journal_result, pg_wallet.accounts,
	pg_wallet.accounts, numeric) IS
	'Internal: transfer_completed for the sender and the recipient (owners in id order).';

CREATE FUNCTION pg_wallet._withdrawal_events(w pg_wallet.withdrawals)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j pg_wallet.journals;
	g pg_wallet.agents;
	b pg_wallet.balance_info;
	ts bigint := extract(epoch FROM now())::bigint;
	amount numeric := pg_wallet.amount_format(w.amount_minor, w.currency);
BEGIN
	b := pg_wallet.get_balance((SELECT a.account_number FROM pg_wallet.accounts a
	                            WHERE a.id = w.account_id));
	IF w.status = 'completed' THEN
		SELECT * INTO j FROM pg_wallet.journals x WHERE x.id = w.journal_id;
		SELECT * INTO g FROM pg_wallet.agents x WHERE x.id = w.agent_id;
		PERFORM pg_wallet.emit_event(w.owner_id, 'withdrawal_completed',
			jsonb_strip_nulls(jsonb_build_object('request_ref', w.request_ref,
				'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
				'balance_after', b.balance, 'agent_id', g.id, 'agent_name', g.name,
				'fee_amount', pg_wallet.amount_format(w.fee_minor, w.currency),
				'agent_commission', CASE WHEN g.id IS NOT NULL
					THEN pg_wallet.amount_format(w.commission_minor, w.currency) END)),
			w.principal_id);
		PERFORM pg_wallet.emit_event(w.owner_id, 'transaction_completed', jsonb_build_object(
			'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
			'transaction_id', j.id, 'transaction_type', 'withdrawal', 'amount', amount,
			'currency', w.currency, 'balance_after', b.balance,
			'fee', pg_wallet.amount_format(w.fee_minor, w.currency), 'timestamp', ts),
			w.principal_id);
	ELSE
		PERFORM pg_wallet.emit_event(w.owner_id, 'withdrawal_failed', jsonb_build_object(
			'request_ref', w.request_ref, 'error', w.error), w.principal_id);
		PERFORM pg_wallet.emit_event(w.owner_id, 'transaction_failed', jsonb_build_object(
			'receipt_code', NULL, 'transaction_id', NULL, 'transaction_type', 'withdrawal',
			'amount', amount, 'currency', w.currency, 'error', w.error, 'timestamp', ts),
			w.principal_id);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_events(pg_wallet.withdrawals) IS
	'Internal: withdrawal_completed (with agent, fee and commission when agent-assisted) and '
	'transaction_completed, or withdrawal_failed and transaction_failed; for the principal '
	'that asked for the withdrawal when known.';

CREATE FUNCTION pg_wallet._withdrawal_complete(p_ref text, p_partner_reference text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals := pg_wallet._withdrawal_row(p_ref, true);
	res pg_wallet.journal_result;
BEGIN
	IF w.status = 'completed' THEN
		RETURN jsonb_build_object('request_ref', w.request_ref, 'status', w.status,
			'replayed', true);
	END IF;
	IF w.status = 'failed' THEN
		RAISE EXCEPTION 'withdrawal % already failed (%); the partner now reports success',
			w.request_ref, w.error USING ERRCODE = 'WL064',
			HINT = 'The hold was released: reconcile with the partner.';
	END IF;
	res := pg_wallet.post_hold(w.hold_id, NULL, 'payout:' || w.request_ref,
		left('Withdrawal ' || w.request_ref, 500));
	UPDATE pg_wallet.withdrawals x
	SET status = 'completed', journal_id = res.journal_id,
		fee_minor = pg_wallet.amount_parse(coalesce(res.fee, 0), w.currency),
		commission_minor = pg_wallet.amount_parse(coalesce(res.agent_commission, 0), w.currency),
		partner_reference = coalesce(left(p_partner_reference, 128), x.partner_reference),
		completed_at = now()
	WHERE x.id = w.id
	RETURNING * INTO w;
	PERFORM pg_wallet._withdrawal_events(w);
	RETURN jsonb_build_object('request_ref', w.request_ref, 'status', w.status,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_complete(text, text) IS
	'Internal: a partner''s success: post the hold (HOLD_CAPTURE journal, fee and agent '
	'commission) and emit the events; again: replayed; WL064 when it already failed.';

CREATE FUNCTION pg_wallet._withdrawal_fail(p_ref text, p_error text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals := pg_wallet._withdrawal_row(p_ref, true);
	h pg_wallet.hold_info;
BEGIN
	IF w.status = 'failed' THEN
		RETURN jsonb_build_object('request_ref', w.request_ref, 'status', w.status,
			'replayed', true);
	END IF;
	IF w.status = 'completed' THEN
		RAISE EXCEPTION 'withdrawal % is already completed', w.request_ref USING ERRCODE = 'WL064';
	END IF;
	h := pg_wallet.get_hold(w.hold_id);
	IF h.status = 'ACTIVE' THEN
		PERFORM pg_wallet.void_hold(w.hold_id, left(coalesce(p_error, 'failed'), 500));
	END IF;
	UPDATE pg_wallet.withdrawals x
	SET status = 'failed', error = left(coalesce(p_error, 'failed'), 500), failed_at = now()
	WHERE x.id = w.id
	RETURNING * INTO w;
	UPDATE pg_wallet.outbox o SET status = 'CANCELLED', updated_at = now()
	WHERE o.subject_ref = w.request_ref AND o.kind = 'payout' AND o.status IN ('PENDING', 'DEAD');
	PERFORM pg_wallet._withdrawal_events(w);
	RETURN jsonb_build_object('request_ref', w.request_ref, 'status', w.status,
		'replayed', false);
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_fail(text, text) IS
	'Internal: a payout failed or timed out: void its hold (funds available again, KYC '
	'allowance given back), cancel its unsent request, emit the events. WL064 when it '
	'already completed.';

CREATE FUNCTION pg_wallet._withdrawal_answered(
	p_ref text, p_state text, p_partner_reference text, p_partner_request_id text,
	p_error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w pg_wallet.withdrawals := pg_wallet._withdrawal_row(p_ref, true);
BEGIN
	UPDATE pg_wallet.withdrawals x
	SET partner_reference = coalesce(x.partner_reference, p_partner_reference),
		partner_request_id = coalesce(x.partner_request_id, p_partner_request_id),
		accepted_at = CASE WHEN p_state <> 'failed' THEN coalesce(x.accepted_at, now()) END
	WHERE x.id = w.id;
	IF w.status <> 'processing' THEN
		RETURN;
	END IF;
	IF p_state = 'completed' THEN
		PERFORM pg_wallet._withdrawal_complete(w.request_ref, p_partner_reference);
	ELSIF p_state = 'failed' THEN
		PERFORM pg_wallet._withdrawal_fail(w.request_ref, p_error);
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._withdrawal_answered(text, text, text, text, text) IS
	'Internal: the partner answered a payout request: accepted (references kept), '
	'completed at once, or refused (failed, hold voided).';

CREATE FUNCTION pg_wallet.expire_withdrawals(max_withdrawals integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref text;
	n integer := 0;
BEGIN
	IF max_withdrawals IS NULL OR max_withdrawals NOT BETWEEN 1 AND 100000 THEN
		RAISE EXCEPTION 'max_withdrawals must be between 1 and 100000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR ref IN
		SELECT w.request_ref FROM pg_wallet.withdrawals w
		WHERE w.status = 'processing' AND w.deadline_at <= now()
		ORDER BY w.deadline_at LIMIT max_withdrawals
		FOR UPDATE SKIP LOCKED
	LOOP
		PERFORM pg_wallet._withdrawal_fail(ref, 'Transaction timeout');
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet.expire_withdrawals(integer) IS
	'Fail up to max_withdrawals payouts still processing past their deadline ("Transaction '
	'timeout"): the hold is voided and the events emitted. A success reported later is '
	'refused (WL064) for reconciliation. The expiry worker calls it.';

CREATE FUNCTION pg_wallet.get_history(
	owner_id bigint,
	kind text DEFAULT 'all',
	page_size integer DEFAULT 20,
	page_offset integer DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	deps jsonb;
	wds jsonb;
BEGIN
	IF kind IS NULL OR kind NOT IN ('all', 'deposits', 'withdrawals') THEN
		RAISE EXCEPTION 'type must be deposits, withdrawals or all'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 100
		OR page_offset IS NULL OR page_offset NOT BETWEEN 0 AND 100000 THEN
		RAISE EXCEPTION 'limit must be between 1 and 100 and offset between 0 and 100000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF kind IN ('all', 'deposits') THEN
		SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', d.id,
				'request_ref', d.request_ref,
				'amount', pg_wallet.amount_format(d.amount_minor, d.currency),
				'currency', d.currency, 'status', d.status,
				'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
				'created_at', pg_wallet._ts_iso(d.created_at),
				'completed_at', pg_wallet._ts_iso(d.completed_at))) ORDER BY d.id DESC), '[]')
		INTO deps
		FROM (SELECT * FROM pg_wallet.deposits x WHERE x.owner_id = get_history.owner_id
		      ORDER BY x.id DESC LIMIT page_size OFFSET page_offset) d
		LEFT JOIN pg_wallet.journals j ON j.id = d.journal_id;
	END IF;
	IF kind IN ('all', 'withdrawals') THEN
		SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('id', w.id,
				'request_ref', w.request_ref,
				'amount', pg_wallet.amount_format(w.amount_minor, w.currency),
				'currency', w.currency, 'destination', w.destination, 'status', w.status,
				'receipt_code', pg_wallet.receipt_code(j.id, j.created_at),
				'created_at', pg_wallet._ts_iso(w.created_at),
				'completed_at', pg_wallet._ts_iso(w.completed_at))) ORDER BY w.id DESC), '[]')
		INTO wds
		FROM (SELECT * FROM pg_wallet.withdrawals x WHERE x.owner_id = get_history.owner_id
		      ORDER BY x.id DESC LIMIT page_size OFFSET page_offset) w
		LEFT JOIN pg_wallet.journals j ON j.id = w.journal_id;
	END IF;
	RETURN jsonb_strip_nulls(jsonb_build_object('deposits', deps, 'withdrawals', wds));
END
$$;
COMMENT ON FUNCTION pg_wallet.get_history(bigint, text, integer, integer) IS
	'Cashier get_history: an owner''s deposits and/or withdrawals, newest first, limit 1-100 '
	'and offset, as {"deposits": [...], "withdrawals": [...]}.';
-- Inbound callbacks: one function per adapter. The bridge passes the raw body (exactly as
-- received: signatures cover bytes) and the headers (a JSON object; names are compared
-- case-insensitively). Each verifies the callback, is idempotent (a repeated callback
-- returns the first result and changes nothing), and names an unknown reference (WL063).
-- Errors never echo a secret, a signature or the body.

CREATE FUNCTION pg_wallet._callback_headers(headers jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF headers IS NULL OR jsonb_typeof(headers) <> 'object'
		OR octet_length(headers::text) > 16384 THEN
		RAISE EXCEPTION 'callback headers must be a JSON object of at most 16384 bytes'
			USING ERRCODE = 'WL066';
	END IF;
	RETURN (SELECT coalesce(jsonb_object_agg(lower(h.key), h.value), '{}')
	        FROM jsonb_each(headers) h);
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_headers(jsonb) IS
	'Internal: callback headers with lower-case names, bounded (WL066 otherwise).';

CREATE FUNCTION pg_wallet._callback_body(body text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j jsonb;
BEGIN
	BEGIN
		j := body::jsonb;
	EXCEPTION WHEN OTHERS THEN
		RAISE EXCEPTION 'malformed callback: the body is not JSON' USING ERRCODE = 'WL066';
	END;
	IF jsonb_typeof(j) <> 'object' THEN
		RAISE EXCEPTION 'malformed callback: the body is not a JSON object'
			USING ERRCODE = 'WL066';
	END IF;
	RETURN j;
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_body(text) IS
	'Internal: a callback body as a JSON object, or WL066 "malformed callback".';

-- The first result of a callback already handled, or NULL; WL066 when the same callback id
-- came with another body.
CREATE FUNCTION pg_wallet._callback_seen(p_partner_id text, p_callback_id text, p_hash bytea)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_wallet.inbound_callbacks;
BEGIN
	SELECT * INTO c FROM pg_wallet.inbound_callbacks x
	WHERE x.partner_id = p_partner_id AND x.callback_id = p_callback_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF c.body_hash <> p_hash THEN
		RAISE EXCEPTION 'callback % of partner % was already received with another body',
			left(p_callback_id, 100), p_partner_id USING ERRCODE = 'WL066';
	END IF;
	RETURN c.result || jsonb_build_object('replayed', true);
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_seen(text, text, bytea) IS
	'Internal: the stored result of a callback id seen before (same body), or NULL.';

CREATE FUNCTION pg_wallet._callback_record(
	p_partner_id text, p_callback_id text, p_hash bytea, p_subject text, p_result jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO pg_wallet.inbound_callbacks (partner_id, callback_id, body_hash, subject_ref,
		result)
	VALUES (p_partner_id, left(p_callback_id, 256), p_hash, p_subject, p_result - 'replayed')
	ON CONFLICT (partner_id, callback_id) DO NOTHING;
	RETURN p_result;
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_record(text, text, bytea, text, jsonb) IS
	'Internal: remember a handled callback by id (a concurrent twin that lost the race '
	'leaves the first record).';

-- The amount a callback reports must be the requested one.
CREATE FUNCTION pg_wallet._callback_amount_check(
	p_reported text, p_amount_minor bigint, p_currency text, p_ref text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	reported bigint;
BEGIN
	IF p_reported IS NULL THEN
		RETURN;
	END IF;
	BEGIN
		reported := pg_wallet.amount_parse(p_reported, p_currency);
	EXCEPTION WHEN OTHERS THEN
		RAISE EXCEPTION 'malformed callback: amount "%" is not valid', left(p_reported, 40)
			USING ERRCODE = 'WL066';
	END;
	IF reported <> p_amount_minor THEN
		RAISE EXCEPTION 'callback amount % % does not match % of %',
			pg_wallet.amount_format(reported, p_currency), p_currency,
			pg_wallet.amount_format(p_amount_minor, p_currency), p_ref USING ERRCODE = 'WL072';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._callback_amount_check(text, bigint, text, text) IS
	'Internal: WL072 when a callback reports another amount than the request''s.';

CREATE FUNCTION pg_wallet.partner_callback(partner_id text, body text, headers jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id);
	h jsonb := pg_wallet._callback_headers(headers);
	msg_id text := h ->> 'webhook-id';
	ts_text text := h ->> 'webhook-timestamp';
	sigs text := h ->> 'webhook-signature';
	secret bytea;
	hash bytea;
	j jsonb;
	kind text;
	ref text;
	result jsonb;
	d pg_wallet.deposits;
	w pg_wallet.withdrawals;
BEGIN
	IF p.adapter <> 'generic_json' THEN
		RAISE EXCEPTION 'partner % speaks %, not generic_json', p.id, p.adapter
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF body IS NULL OR octet_length(body) > 65536 THEN
		RAISE EXCEPTION 'callback body must be at most 65536 bytes' USING ERRCODE = 'WL066';
	END IF;
	IF msg_id IS NULL OR ts_text IS NULL OR sigs IS NULL
		OR length(msg_id) NOT BETWEEN 1 AND 256 OR ts_text !~ '^[0-9]{1,12}$' THEN
		RAISE EXCEPTION 'invalid callback signature: webhook-id, webhook-timestamp and '
			'webhook-signature are required' USING ERRCODE = 'WL065';
	END IF;
	IF abs(extract(epoch FROM now()) - ts_text::bigint) > 300 THEN
		RAISE EXCEPTION 'invalid callback signature: timestamp is more than 300 seconds away'
			USING ERRCODE = 'WL065';
	END IF;
	SELECT s.webhook_secret INTO secret FROM pg_wallet.partner_secrets s WHERE s.partner_id = p.id;
	IF NOT pg_wallet._webhook_signature_ok(secret, msg_id, ts_text::bigint, body, sigs) THEN
		RAISE EXCEPTION 'invalid callback signature' USING ERRCODE = 'WL065';
	END IF;
	hash := sha256(convert_to(body, 'UTF8'));
	result := pg_wallet._callback_seen(p.id, msg_id, hash);
	IF result IS NOT NULL THEN
		RETURN result;
	END IF;
	j := pg_wallet._callback_body(body);
	kind := j ->> 'type';
	ref := j ->> 'reference';
	IF kind IS NULL OR kind NOT IN ('deposit.completed', 'deposit.failed', 'payout.completed',
		'payout.failed') OR ref IS NULL OR length(ref) > 64 THEN
		RAISE EXCEPTION 'malformed callback: "type" must be deposit.completed, deposit.failed, '
			'payout.completed or payout.failed, with a "reference"' USING ERRCODE = 'WL066';
	END IF;
	IF kind LIKE 'deposit.%' THEN
		SELECT * INTO d FROM pg_wallet.deposits x WHERE x.request_ref = ref AND x.partner_id = p.id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown reference: partner % has no deposit %', p.id, ref
				USING ERRCODE = 'WL063';
		END IF;
		IF j ? 'currency' AND j ->> 'currency' IS DISTINCT FROM d.currency THEN
			RAISE EXCEPTION 'callback currency does not match deposit %', ref USING ERRCODE = 'WL072';
		END IF;
		PERFORM pg_wallet._callback_amount_check(j ->> 'amount', d.amount_minor, d.currency, ref);
		result := CASE kind WHEN 'deposit.completed'
			THEN pg_wallet._deposit_complete(ref, j ->> 'partner_reference')
			ELSE pg_wallet._deposit_fail(ref, 'failed',
			                             coalesce(j ->> 'error', 'Payment failed')) END;
	ELSE
		SELECT * INTO w FROM pg_wallet.withdrawals x WHERE x.request_ref = ref AND x.partner_id = p.id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown reference: partner % has no withdrawal %', p.id, ref
				USING ERRCODE = 'WL063';
		END IF;
		IF j ? 'currency' AND j ->> 'currency' IS DISTINCT FROM w.currency THEN
			RAISE EXCEPTION 'callback currency does not match withdrawal %', ref
				USING ERRCODE = 'WL072';
		END IF;
		PERFORM pg_wallet._callback_amount_check(j ->> 'amount', w.amount_minor, w.currency, ref);
		result := CASE kind WHEN 'payout.completed'
			THEN pg_wallet._withdrawal_complete(ref, j ->> 'partner_reference')
			ELSE pg_wallet._withdrawal_fail(ref, coalesce(j ->> 'error', 'Payout failed')) END;
	END IF;
	RETURN pg_wallet._callback_record(p.id, msg_id, hash, ref, result);
END
$$;
COMMENT ON FUNCTION pg_wallet.partner_callback(text, text, jsonb) IS
	'Callback of a generic_json partner: the raw body and the headers. Verifies the Standard '
	'Webhooks signature (webhook-id, webhook-timestamp within 300 s, webhook-signature '
	'v1 HMAC-SHA256 under the partner''s secret: WL065), reads {"type": deposit.completed | '
	'deposit.failed | payout.completed | payout.failed, "reference", "amount", "currency", '
	'"partner_reference", "error"} (WL066 malformed, WL063 unknown reference, WL072 amount '
	'mismatch) and completes or fails the deposit or payout. Idempotent by webhook-id and by '
	'state: a repeat returns {"status", "replayed": true} and changes nothing.';

-- One item of a Daraja CallbackMetadata / ResultParameters list, by name.
CREATE FUNCTION pg_wallet._mpesa_item(items jsonb, name text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT i ->> 'Value'
	FROM jsonb_array_elements(CASE WHEN jsonb_typeof(items) = 'array' THEN items ELSE '[]' END) i
	WHERE coalesce(i ->> 'Name', i ->> 'Key') = name
	LIMIT 1
$$;
COMMENT ON FUNCTION pg_wallet._mpesa_item(jsonb, text) IS
	'Internal: the Value of the item called name in a Daraja Item (Name/Value) or '
	'ResultParameter (Key/Value) list.';

CREATE FUNCTION pg_wallet.mpesa_callback(partner_id text, body text, headers jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id);
	h jsonb := pg_wallet._callback_headers(headers);
	given text := h ->> 'x-callback-token';
	secret bytea;
	expected text;
	hash bytea;
	j jsonb;
	cb jsonb;
	callback_id text;
	result jsonb;
	d pg_wallet.deposits;
	w pg_wallet.withdrawals;
BEGIN
	IF p.adapter <> 'mpesa_daraja' THEN
		RAISE EXCEPTION 'partner % speaks %, not mpesa_daraja', p.id, p.adapter
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF body IS NULL OR octet_length(body) > 65536 THEN
		RAISE EXCEPTION 'callback body must be at most 65536 bytes' USING ERRCODE = 'WL066';
	END IF;
	SELECT s.webhook_secret INTO secret FROM pg_wallet.partner_secrets s WHERE s.partner_id = p.id;
	expected := encode(pg_wallet._hmac_sha256(secret,
		convert_to('mpesa-callback:' || p.id, 'UTF8')), 'hex');
	IF given IS NULL OR length(given) <> 64
		OR NOT pg_wallet._ct_equal(convert_to(given, 'UTF8'), convert_to(expected, 'UTF8')) THEN
		RAISE EXCEPTION 'invalid callback signature: the callback URL token is wrong'
			USING ERRCODE = 'WL065';
	END IF;
	j := pg_wallet._callback_body(body);
	hash := sha256(convert_to(body, 'UTF8'));
	IF j #> '{Body,stkCallback}' IS NOT NULL THEN
		cb := j #> '{Body,stkCallback}';
		IF jsonb_typeof(cb) <> 'object' OR cb ->> 'CheckoutRequestID' IS NULL
			OR cb ->> 'ResultCode' IS NULL THEN
			RAISE EXCEPTION 'malformed callback: stkCallback needs CheckoutRequestID and ResultCode'
				USING ERRCODE = 'WL066';
		END IF;
		callback_id := 'stk:' || left(cb ->> 'CheckoutRequestID', 128);
		result := pg_wallet._callback_seen(p.id, callback_id, hash);
		IF result IS NOT NULL THEN
			RETURN result;
		END IF;
		SELECT * INTO d FROM pg_wallet.deposits x
		WHERE x.partner_id = p.id AND x.partner_request_id = cb ->> 'CheckoutRequestID';
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown reference: partner % has no STK push %', p.id,
				left(cb ->> 'CheckoutRequestID', 64) USING ERRCODE = 'WL063';
		END IF;
		IF cb ->> 'ResultCode' = '0' THEN
			PERFORM pg_wallet._callback_amount_check(
				pg_wallet._mpesa_item(cb #> '{CallbackMetadata,Item}', 'Amount'),
				d.amount_minor, d.currency, d.request_ref);
			result := pg_wallet._deposit_complete(d.request_ref,
				pg_wallet._mpesa_item(cb #> '{CallbackMetadata,Item}', 'MpesaReceiptNumber'));
		ELSE
			result := pg_wallet._deposit_fail(d.request_ref, 'failed',
				coalesce(left(cb ->> 'ResultDesc', 200), 'M-Pesa result ' || (cb ->> 'ResultCode')));
		END IF;
		RETURN pg_wallet._callback_record(p.id, callback_id, hash, d.request_ref, result);
	END IF;
	IF j -> 'Result' IS NOT NULL THEN
		cb := j -> 'Result';
		IF jsonb_typeof(cb) <> 'object' OR cb ->> 'OriginatorConversationID' IS NULL
			OR cb ->> 'ResultCode' IS NULL THEN
			RAISE EXCEPTION 'malformed callback: Result needs OriginatorConversationID and ResultCode'
				USING ERRCODE = 'WL066';
		END IF;
		callback_id := 'b2c:' || left(coalesce(cb ->> 'ConversationID',
		                                       cb ->> 'OriginatorConversationID'), 128);
		result := pg_wallet._callback_seen(p.id, callback_id, hash);
		IF result IS NOT NULL THEN
			RETURN result;
		END IF;
		SELECT * INTO w FROM pg_wallet.withdrawals x
		WHERE x.partner_id = p.id AND x.request_ref = cb ->> 'OriginatorConversationID';
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown reference: partner % has no payout %', p.id,
				left(cb ->> 'OriginatorConversationID', 64) USING ERRCODE = 'WL063';
		END IF;
		IF cb ->> 'ResultCode' = '0' THEN
			PERFORM pg_wallet._callback_amount_check(
				pg_wallet._mpesa_item(cb #> '{ResultParameters,ResultParameter}', 'TransactionAmount'),
				w.amount_minor, w.currency, w.request_ref);
			result := pg_wallet._withdrawal_complete(w.request_ref, cb ->> 'TransactionID');
		ELSE
			result := pg_wallet._withdrawal_fail(w.request_ref,
				coalesce(left(cb ->> 'ResultDesc', 200), 'M-Pesa result ' || (cb ->> 'ResultCode')));
		END IF;
		RETURN pg_wallet._callback_record(p.id, callback_id, hash, w.request_ref, result);
	END IF;
	RAISE EXCEPTION 'malformed callback: neither Body.stkCallback nor Result'
		USING ERRCODE = 'WL066';
END
$$;
COMMENT ON FUNCTION pg_wallet.mpesa_callback(text, text, jsonb) IS
	'Callback of an mpesa_daraja partner: an STK push callback {"Body": {"stkCallback": '
	'{CheckoutRequestID, ResultCode, ResultDesc, CallbackMetadata.Item[Amount, '
	'MpesaReceiptNumber, ...]}}} or a B2C result {"Result": {OriginatorConversationID, '
	'ConversationID, TransactionID, ResultCode, ResultDesc, ResultParameters}}. Daraja signs '
	'nothing: the callback URL carries a token (HMAC of the partner id under its secret) that '
	'the bridge passes as x-callback-token (WL065 when wrong). ResultCode 0 completes, any '
	'other fails (1032: cancelled by the user). Idempotent by CheckoutRequestID / '
	'ConversationID; WL063 for an unknown request, WL066 malformed, WL072 amount mismatch.';
-- The background workers (src/worker_*.c): a launcher connected to no database starts, in
-- the database named by pg_wallet.database, the outbox worker (delivers pg_wallet.outbox)
-- and the expiry worker (every pg_wallet.expiry_interval_s: expire_withdrawals,
-- expire_deposits, expire_holds, purge_expired_auth). They run only when pg_wallet is in
-- shared_preload_libraries.

CREATE FUNCTION pg_wallet.worker_status()
RETURNS TABLE (worker text, pid integer, state text, database text, backend_start timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.backend_type, a.pid, coalesce(a.state, 'running'), a.datname, a.backend_start
	FROM pg_catalog.pg_stat_activity a
	WHERE a.backend_type IN ('pg_wallet launcher', 'pg_wallet outbox', 'pg_wallet expiry')
	ORDER BY a.backend_type
$$;
COMMENT ON FUNCTION pg_wallet.worker_status() IS
	'Operator: the pg_wallet background workers that run (launcher, outbox, expiry) with '
	'their pid and database. None without shared_preload_libraries = ''pg_wallet''.';
-- Identity, authentication, verification and KYC: types and tables (issue 4).
-- Functions are in 81-85; the C code in src/auth_*.c. No role but the extension owner can
-- read these tables (99_grants.sql): password hashes, signing keys, token and code hashes,
-- TOTP secrets and the outbox never leave the SECURITY DEFINER functions.
--
-- Times that decide an expiry are taken from pg_wallet._auth_now() (now() plus the
-- superuser-only test offset pg_wallet.test_now_offset_s), so tests expire things without
-- sleeping.

-- ---------------------------------------------------------------------------------------
-- Types
-- ---------------------------------------------------------------------------------------

CREATE TYPE pg_wallet.auth_config AS (
	jwt_lifetime_s integer,
	api_token_lifetime_s integer,
	refresh_lifetime_s integer,
	max_failed_logins integer,
	lockout_s integer,
	otp_ttl_s integer,
	otp_max_attempts integer,
	verification_ttl_s integer,
	totp_issuer text
);

-- A principal as the API shows it (never a secret).
CREATE TYPE pg_wallet.principal_info AS (
	principal_id uuid,
	role text,
	status text,
	owner_id bigint,
	email text,
	username text,
	first_name text,
	last_name text,
	phone_number text,
	date_of_birth date,
	account_type text,
	kyc_status text,
	kyc_tier smallint,
	email_verified boolean,
	phone_verified boolean,
	totp_enabled boolean,
	created_at timestamptz,
	last_login_at timestamptz
);

-- What authenticate() returns: the caller, as its token proves it.
CREATE TYPE pg_wallet.auth_principal AS (
	principal_id uuid,
	role text,
	owner_id bigint,
	email text,
	username text,
	status text,
	kyc_status text,
	kyc_tier smallint,
	token_id uuid,          -- the jti
	session_id uuid,        -- the sid: logout and refresh-token reuse revoke it
	profile text,           -- the aud: tribble, waas, sellapay, cashier, ...
	token_expires_at timestamptz
);

-- The claims of a verified JWT (internal).
CREATE TYPE pg_wallet.jwt_claims AS (
	sub uuid,
	role text,
	aud text,
	sid uuid,
	jti uuid,
	kid text,
	issued_at timestamptz,
	expires_at timestamptz
);

-- A freshly signed JWT (internal).
CREATE TYPE pg_wallet.jwt_issued AS (
	token text,
	jti uuid,
	issued_at timestamptz,
	expires_at timestamptz
);

-- Result of login, login_client, authorize_api_key and refresh_session. A refused attempt
-- is returned (status REFUSED, sqlstate, message), not raised, so that the failed-attempt
-- counters and revocations it wrote are committed: a raised error would roll them back and
-- make brute force free.
CREATE TYPE pg_wallet.login_result AS (
	status text,            -- OK or REFUSED
	sqlstate text,          -- REFUSED: WL020, WL021, WL022, WL024, WL025
	message text,           -- REFUSED: what to tell the caller
	access_token text,
	refresh_token text,     -- NULL for API-key tokens
	token_type text,        -- Bearer
	expires_in integer,     -- seconds
	refresh_expires_in integer,
	token_id uuid,
	session_id uuid,
	principal_id uuid,
	role text,
	email text,
	first_name text,
	kyc_status text,
	kyc_tier smallint,
	retry_after_s integer   -- WL021 (locked): seconds until the lock ends
);

-- Result of an operation that checks a secret and counts failures (change_password,
-- totp_confirm, totp_disable): returned, not raised, for the same reason.
CREATE TYPE pg_wallet.auth_outcome AS (
	status text,
	sqlstate text,
	message text
);

-- A new API key and secret: shown once, stored only as SHA-256 hashes.
CREATE TYPE pg_wallet.api_credential_secret AS (
	credential_id bigint,
	principal_id uuid,
	api_key text,
	api_secret text,
	key_prefix text,
	created_at timestamptz
);

-- Answer of verification_request (cashier spec).
CREATE TYPE pg_wallet.verification_challenge AS (
	message text,
	method text,
	channel text,
	recipient text,         -- masked: us***@example.com, +2547****678
	purpose text,
	next_step text,         -- verify_otp or verify_totp
	expires_in integer
);

-- Answer of verify_otp / verify_totp (cashier spec); REFUSED answers are returned, not
-- raised, so that the attempt is counted.
CREATE TYPE pg_wallet.verification_result AS (
	status text,
	sqlstate text,
	message text,
	verification_token text,
	purpose text,
	method text,
	expires_in integer,
	attempts_remaining integer
);

CREATE TYPE pg_wallet.totp_enrollment AS (
	secret text,            -- base32, for manual entry
	otpauth_uri text,       -- for a QR code
	algorithm text,
	digits integer,
	period_s integer
);

-- ---------------------------------------------------------------------------------------
-- Principals and their secrets
-- ---------------------------------------------------------------------------------------

CREATE TABLE pg_wallet.principals (
	id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	role text NOT NULL CHECK (role IN ('user', 'merchant', 'client', 'admin', 'service')),
	status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED', 'CLOSED')),
	status_reason text CHECK (length(status_reason) <= 500),
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	email text UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
	username text UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{2,63}$'),
	first_name text CHECK (length(first_name) BETWEEN 1 AND 80),
	last_name text CHECK (length(last_name) BETWEEN 1 AND 80),
	phone_number text CHECK (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
	date_of_birth date,
	account_type text CHECK (account_type IN ('individual', 'business')),
	failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
	locked_until timestamptz,
	email_verified_at timestamptz,
	phone_verified_at timestamptz,
	last_login_at timestamptz,
	kyc_status text NOT NULL DEFAULT 'PENDING'
		CHECK (kyc_status IN ('PENDING', 'SUBMITTED', 'APPROVED', 'REJECTED')),
	kyc_tier smallint NOT NULL DEFAULT 0 CHECK (kyc_tier BETWEEN 0 AND 3),
	kyc_submitted_at timestamptz,
	kyc_approved_at timestamptz,
	kyc_rejected_at timestamptz,
	kyc_rejection_reason text CHECK (length(kyc_rejection_reason) <= 100),
	kyc_rejection_message text CHECK (length(kyc_rejection_message) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX principals_owner_idx ON pg_wallet.principals (owner_id);
COMMENT ON TABLE pg_wallet.principals IS
	'Who can authenticate: users (Tribble), merchants, WaaS clients, admins, services. Each '
	'is a ledger owner (owner_id). Email lower-cased, phone E.164. No secret is stored here.';

CREATE TABLE pg_wallet.principal_passwords (
	principal_id uuid PRIMARY KEY REFERENCES pg_wallet.principals (id),
	hash text NOT NULL CHECK (hash LIKE 'scrypt$%' AND length(hash) <= 256),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet.principal_passwords IS
	'Password hashes: scrypt$N$r$p$salt$hash (src/auth_password.c). Never readable by an API '
	'role; never returned by a function.';

CREATE TABLE pg_wallet.api_credentials (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	principal_id uuid NOT NULL REFERENCES pg_wallet.principals (id),
	key_hash bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
	secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
	key_prefix text NOT NULL CHECK (length(key_prefix) BETWEEN 4 AND 16),
	label text CHECK (length(label) <= 100),
	status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'REVOKED')),
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	revoked_at timestamptz
);
CREATE INDEX api_credentials_principal_idx ON pg_wallet.api_credentials (principal_id);
COMMENT ON TABLE pg_wallet.api_credentials IS
	'API key + secret pairs (Sellapay POST /authorize), stored as SHA-256 hashes only; '
	'key_prefix (the first characters of the key) identifies a key to people.';

CREATE TABLE pg_wallet.totp_secrets (
	principal_id uuid PRIMARY KEY REFERENCES pg_wallet.principals (id),
	secret bytea NOT NULL CHECK (octet_length(secret) BETWEEN 16 AND 64),
	confirmed_at timestamptz,
	last_step bigint,
	failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
	blocked_until timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet.totp_secrets IS
	'TOTP (RFC 6238) shared secrets. Enabled once confirmed_at is set; last_step refuses a '
	'code twice; failed_attempts/blocked_until stop guessing.';

-- ---------------------------------------------------------------------------------------
-- Tokens
-- ---------------------------------------------------------------------------------------

CREATE TABLE pg_wallet.jwt_signing_keys (
	kid text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{1,64}$'),
	secret bytea NOT NULL CHECK (octet_length(secret) BETWEEN 32 AND 64),
	status text NOT NULL CHECK (status IN ('ACTIVE', 'RETIRED')),
	created_at timestamptz NOT NULL DEFAULT now(),
	retired_at timestamptz,
	verify_until timestamptz,
	CHECK ((status = 'ACTIVE') = (retired_at IS NULL))
);
CREATE UNIQUE INDEX jwt_signing_keys_one_active ON pg_wallet.jwt_signing_keys (status)
	WHERE status = 'ACTIVE';
COMMENT ON TABLE pg_wallet.jwt_signing_keys IS
	'HS256 keys. One ACTIVE key signs; RETIRED keys verify until verify_until (the end of the '
	'longest lifetime of a token they signed). Made on first use; rotate_signing_key().';

CREATE TABLE pg_wallet.auth_sessions (
	id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	principal_id uuid NOT NULL REFERENCES pg_wallet.principals (id),
	kind text NOT NULL CHECK (kind IN ('password', 'api_key')),
	profile text NOT NULL CHECK (profile ~ '^[a-z0-9_-]{1,32}$'),
	api_credential_id bigint REFERENCES pg_wallet.api_credentials (id),
	created_at timestamptz NOT NULL,
	revoked_at timestamptz,
	revoke_reason text CHECK (length(revoke_reason) <= 200)
);
CREATE INDEX auth_sessions_principal_idx ON pg_wallet.auth_sessions (principal_id);
COMMENT ON TABLE pg_wallet.auth_sessions IS
	'One login (or API-key authorization) and everything issued from it: its access tokens '
	'and its refresh-token family. Revoking the session revokes them all.';

CREATE TABLE pg_wallet.access_tokens (
	jti uuid PRIMARY KEY,
	session_id uuid NOT NULL REFERENCES pg_wallet.auth_sessions (id),
	principal_id uuid NOT NULL REFERENCES pg_wallet.principals (id),
	issued_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz
);
CREATE INDEX access_tokens_session_idx ON pg_wallet.access_tokens (session_id);
CREATE INDEX access_tokens_expires_idx ON pg_wallet.access_tokens (expires_at);
COMMENT ON TABLE pg_wallet.access_tokens IS
	'Registry of issued JWTs by jti: a token whose jti is absent or revoked is refused. Rows '
	'are purged once expired (purge_expired_auth()).';

CREATE TABLE pg_wallet.refresh_tokens (
	token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
	session_id uuid NOT NULL REFERENCES pg_wallet.auth_sessions (id),
	principal_id uuid NOT NULL REFERENCES pg_wallet.principals (id),
	status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'USED', 'REVOKED')),
	issued_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON pg_wallet.refresh_tokens (session_id);
COMMENT ON TABLE pg_wallet.refresh_tokens IS
	'Refresh tokens by SHA-256. Single use: using one marks it USED and issues the next in '
	'the same session; presenting a USED one again revokes the whole session (theft).';

-- ---------------------------------------------------------------------------------------
-- Verification
-- ---------------------------------------------------------------------------------------

CREATE TABLE pg_wallet.otp_challenges (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	principal_id uuid NOT NULL REFERENCES pg_wallet.principals (id),
	purpose text NOT NULL CHECK (purpose ~ '^[a-z][a-z0-9_]{1,39}$'),
	method text NOT NULL CHECK (method IN ('otp_email', 'otp_sms', 'otp_whatsapp')),
	channel text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
	recipient_masked text NOT NULL,
	code_salt bytea NOT NULL CHECK (octet_length(code_salt) = 16),
	code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 10),
	status text NOT NULL DEFAULT 'PENDING'
		CHECK (status IN ('PENDING', 'VERIFIED', 'EXPIRED', 'EXHAUSTED', 'SUPERSEDED')),
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	verified_at timestamptz
);
CREATE INDEX otp_challenges_principal_idx
	ON pg_wallet.otp_challenges (principal_id, purpose, id);
COMMENT ON TABLE pg_wallet.otp_challenges IS
	'One-time codes sent by email/SMS/WhatsApp, stored as SHA-256(salt || code); 180 s and a '
	'few attempts each. A new request for the same purpose supersedes the pending one.';

CREATE TABLE pg_wallet.verification_tokens (
	token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
	principal_id uuid NOT NULL REFERENCES pg_wallet.principals (id),
	purpose text NOT NULL CHECK (purpose ~ '^[a-z][a-z0-9_]{1,39}$'),
	method text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at timestamptz
);
CREATE INDEX verification_tokens_principal_idx ON pg_wallet.verification_tokens (principal_id);
COMMENT ON TABLE pg_wallet.verification_tokens IS
	'Proofs of a successful OTP/TOTP verification, by SHA-256: bound to a principal and a '
	'purpose, valid 300 s, single use (consume_verification_token()).';

CREATE TABLE pg_wallet.notification_outbox (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	principal_id uuid REFERENCES pg_wallet.principals (id),
	channel text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
	recipient text NOT NULL CHECK (length(recipient) BETWEEN 1 AND 254),
	template text NOT NULL CHECK (template ~ '^[a-z][a-z0-9_]{1,63}$'),
	payload jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
	created_at timestamptz NOT NULL DEFAULT now(),
	status text NOT NULL DEFAULT 'PENDING' CHECK (status ~ '^[A-Z][A-Z_]{1,19}$')
);
CREATE INDEX notification_outbox_pending_idx ON pg_wallet.notification_outbox (id)
	WHERE status = 'PENDING';
COMMENT ON TABLE pg_wallet.notification_outbox IS
	'Messages to deliver by email, SMS or WhatsApp, written in the transaction that decided '
	'them; a delivery worker (later issue) sends them. An otp_code payload holds the code in '
	'clear until delivered: no API role can read this table.';

-- ---------------------------------------------------------------------------------------
-- KYC
-- ---------------------------------------------------------------------------------------

CREATE TABLE pg_wallet.kyc_documents (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	principal_id uuid NOT NULL REFERENCES pg_wallet.principals (id),
	document_type text NOT NULL CHECK (document_type IN ('national_id', 'passport',
		'drivers_license', 'proof_of_address', 'selfie', 'business_registration',
		'tax_certificate', 'bank_statement', 'other')),
	reference text NOT NULL CHECK (length(reference) BETWEEN 1 AND 500),
	sha256 bytea NOT NULL CHECK (octet_length(sha256) = 32),
	ocr jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(ocr) = 'object'),
	status text NOT NULL DEFAULT 'PENDING_REVIEW'
		CHECK (status IN ('PENDING_REVIEW', 'VERIFIED', 'REJECTED')),
	uploaded_at timestamptz NOT NULL,
	verified_at timestamptz,
	rejected_at timestamptz
);
CREATE INDEX kyc_documents_principal_idx ON pg_wallet.kyc_documents (principal_id, id);
COMMENT ON TABLE pg_wallet.kyc_documents IS
	'KYC document submissions: where the document is stored (reference) and its SHA-256, '
	'never the bytes.';

CREATE TABLE pg_wallet.kyc_reviews (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	principal_id uuid NOT NULL REFERENCES pg_wallet.principals (id),
	reviewer_id uuid REFERENCES pg_wallet.principals (id),
	decision text NOT NULL CHECK (decision IN ('APPROVE', 'REJECT')),
	tier smallint CHECK (tier BETWEEN 0 AND 3),
	reason text CHECK (length(reason) <= 100),
	message text CHECK (length(message) <= 500),
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kyc_reviews_principal_idx ON pg_wallet.kyc_reviews (principal_id);
COMMENT ON TABLE pg_wallet.kyc_reviews IS 'Audit trail of KYC decisions: who, what, why.';

CREATE TABLE pg_wallet.kyc_tier_limits (
	tier smallint NOT NULL CHECK (tier BETWEEN 0 AND 3),
	currency text NOT NULL REFERENCES pg_wallet.currencies (code),
	per_transaction_max_minor bigint NOT NULL CHECK (per_transaction_max_minor >= 0),
	daily_max_minor bigint NOT NULL CHECK (daily_max_minor >= 0),
	monthly_max_minor bigint NOT NULL CHECK (monthly_max_minor >= 0),
	transactions_per_day integer NOT NULL CHECK (transactions_per_day >= 0),
	PRIMARY KEY (tier, currency),
	CHECK (per_transaction_max_minor <= daily_max_minor AND daily_max_minor <= monthly_max_minor)
);
COMMENT ON TABLE pg_wallet.kyc_tier_limits IS
	'What each KYC tier may move, per currency, in minor units. Reported by kyc_status(); '
	'enforced by the posting rules.';

-- Defaults: tier 0 (unverified) small, tier 2 as the Tribble example (500,000 a day,
-- 5,000,000 a month, 50 transactions a day), in KES and USD. Operators adjust the rows.
INSERT INTO pg_wallet.kyc_tier_limits (tier, currency, per_transaction_max_minor,
	daily_max_minor, monthly_max_minor, transactions_per_day) VALUES
	(0, 'KES', 100000, 300000, 1000000, 5),
	(1, 'KES', 2000000, 5000000, 20000000, 20),
	(2, 'KES', 15000000, 50000000, 500000000, 50),
	(3, 'KES', 100000000, 500000000, 5000000000, 200),
	(0, 'USD', 1000, 3000, 10000, 5),
	(1, 'USD', 20000, 50000, 200000, 20),
	(2, 'USD', 150000, 500000, 5000000, 50),
	(3, 'USD', 1000000, 5000000, 50000000, 200);
-- Authentication primitives (C, src/auth_*.c): encodings, randomness, hashing, scrypt,
-- HS256 JWT, HOTP/TOTP, settings and clock. The public-looking names (hotp, totp_at,
-- hs256_sign, scrypt, base32_*, base64url_*) are tools and test-vector entry points; the
-- ones starting with _ are internal. None is granted to any role (99_grants.sql).

-- settings and clock (src/auth_config.c)

CREATE FUNCTION pg_wallet._auth_now()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'wallet_auth_now'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet._auth_now() IS
	'Internal: the authentication clock, now() plus pg_wallet.test_now_offset_s (a '
	'superuser-only setting, 0 outside tests). Every auth expiry is computed against it.';

CREATE FUNCTION pg_wallet._auth_config()
RETURNS pg_wallet.auth_config
AS 'MODULE_PATHNAME', 'wallet_auth_config'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet._auth_config() IS
	'Internal: the pg_wallet.* authentication settings (lifetimes, lockout, OTP limits).';

CREATE FUNCTION pg_wallet._require_test_hooks()
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_require_test_hooks'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._require_test_hooks() IS
	'Internal: raises 42501 unless a superuser set pg_wallet.enable_test_hooks = on.';

-- encodings (src/auth_codec.c)

CREATE FUNCTION pg_wallet.base64url_encode(data bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_base64url_encode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.base64url_encode(bytea) IS
	'base64url without padding (RFC 4648 section 5), as JWTs use it.';

CREATE FUNCTION pg_wallet.base64url_decode(data text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_base64url_decode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.base64url_decode(text) IS
	'Decode unpadded base64url; 22023 unless canonical.';

CREATE FUNCTION pg_wallet.base32_encode(data bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_base32_encode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.base32_encode(bytea) IS
	'base32 (RFC 4648 section 6), upper case, no padding: how TOTP secrets are shown.';

CREATE FUNCTION pg_wallet.base32_decode(data text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_base32_decode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.base32_decode(text) IS
	'Decode base32, either case, padding optional; 22023 unless canonical.';

-- randomness and hashes of secrets (src/auth_tokens.c)

CREATE FUNCTION pg_wallet._random_bytes(n integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_random_bytes'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pg_wallet._random_bytes(integer) IS
	'Internal: n bytes from pg_strong_random (1 to 1024).';

CREATE FUNCTION pg_wallet._random_token(prefix text, nbytes integer)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_random_token'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pg_wallet._random_token(text, integer) IS
	'Internal: prefix || base64url(nbytes strong random bytes), e.g. rt_<43 characters>.';

CREATE FUNCTION pg_wallet._random_digits(n integer)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_random_digits'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pg_wallet._random_digits(integer) IS
	'Internal: n uniformly random decimal digits (a one-time code), 4 to 10.';

CREATE FUNCTION pg_wallet._secret_hash(secret text, salt bytea DEFAULT '\x')
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_secret_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet._secret_hash(text, bytea) IS
	'Internal: SHA-256(salt || secret): how tokens, API keys/secrets and one-time codes are '
	'stored.';

CREATE FUNCTION pg_wallet._ct_equal(a bytea, b bytea)
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_ct_equal'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet._ct_equal(bytea, bytea) IS
	'Internal: constant-time equality (CRYPTO_memcmp) of two hashes.';

-- passwords (src/auth_password.c)

CREATE FUNCTION pg_wallet.scrypt(
	password bytea, salt bytea, n integer, r integer, p integer, length integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_scrypt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.scrypt(bytea, bytea, integer, integer, integer, integer) IS
	'The scrypt KDF (RFC 7914) through OpenSSL; N a power of 2 up to 2^20, r up to 32, p up '
	'to 16, length up to 64, at most 64 MiB of memory.';

CREATE FUNCTION pg_wallet._password_hash(password text)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_password_hash'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pg_wallet._password_hash(text) IS
	'Internal: scrypt$N$r$p$salt$hash of a password with a fresh 16-byte salt '
	'(N=16384, r=8, p=5).';

CREATE FUNCTION pg_wallet._password_verify(password text, encoded text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_password_verify'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._password_verify(text, text) IS
	'Internal: constant-time check of a password against an encoded hash. A NULL hash (no '
	'such principal) costs the same time and is false.';

CREATE FUNCTION pg_wallet._password_needs_rehash(encoded text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_password_needs_rehash'
LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION pg_wallet._password_needs_rehash(text) IS
	'Internal: true when a hash was made with other scrypt parameters than the current ones.';

CREATE FUNCTION pg_wallet._password_check_strength(password text)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_password_check_strength'
LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION pg_wallet._password_check_strength(text) IS
	'Internal: WL030 unless the password has 8+ characters, a letter and a digit, and at '
	'most 128 bytes.';

-- JWT (src/auth_jwt.c)

CREATE FUNCTION pg_wallet.hs256_sign(key bytea, signing_input text)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_hs256_sign'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.hs256_sign(bytea, text) IS
	'base64url(HMAC-SHA256(key, signing_input)): the JWS HS256 signature of '
	'base64url(header) || ''.'' || base64url(payload) (RFC 7515).';

CREATE FUNCTION pg_wallet._jwt_issue(
	sub uuid, role text, aud text, sid uuid, lifetime_s integer)
RETURNS pg_wallet.jwt_issued
AS 'MODULE_PATHNAME', 'wallet_jwt_issue'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._jwt_issue(uuid, text, text, uuid, integer) IS
	'Internal: an HS256 access token for a principal and session, signed with the active key '
	'(kid in the header), fresh jti, exp = iat + lifetime_s.';

CREATE FUNCTION pg_wallet._jwt_verify(token text)
RETURNS pg_wallet.jwt_claims
AS 'MODULE_PATHNAME', 'wallet_jwt_verify'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._jwt_verify(text) IS
	'Internal: the claims of a token that is HS256, signed by a current key and not expired; '
	'WL022 missing/malformed, WL023 algorithm/key/signature, WL024 expired. Revocation is '
	'checked by authenticate().';

-- HOTP / TOTP (src/auth_totp.c)

CREATE FUNCTION pg_wallet.hotp(secret bytea, counter bigint, digits integer DEFAULT 6)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_hotp'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.hotp(bytea, bigint, integer) IS
	'HOTP (RFC 4226): the code of a counter, 6 to 8 digits.';

CREATE FUNCTION pg_wallet.totp_at(secret bytea, unix_time bigint, digits integer DEFAULT 6)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_totp_at'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.totp_at(bytea, bigint, integer) IS
	'TOTP (RFC 6238, HMAC-SHA-1, 30 s steps from 0): the code at a Unix time.';

CREATE FUNCTION pg_wallet._totp_match(secret bytea, code text, after_step bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_totp_match'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet._totp_match(bytea, text, bigint) IS
	'Internal: the time step (now, or one either side) whose 6-digit code is code and that '
	'is later than after_step; NULL when none.';

CREATE FUNCTION pg_wallet._totp_uri(secret bytea, issuer text, account text)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_totp_uri'
LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION pg_wallet._totp_uri(bytea, text, text) IS
	'Internal: the otpauth://totp/ URI of a secret, for authenticator apps.';
-- Principals: validation, registration, creation by an operator, API credentials.
-- Error texts never contain a password, a token or a secret.

-- ---------------------------------------------------------------------------------------
-- Validation and masking
-- ---------------------------------------------------------------------------------------

-- An email address trimmed and lower-cased, or 22023. NULL stays NULL.
CREATE FUNCTION pg_wallet._normalize_email(email text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e text;
	local_part text;
	domain_part text;
BEGIN
	IF octet_length(email) > 320 THEN
		RAISE EXCEPTION 'email address is longer than 254 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	e := lower(btrim(email));
	local_part := substring(e FROM '^(.*)@[^@]*$');
	domain_part := substring(e FROM '@([^@]*)$');
	IF length(e) > 254 OR local_part IS NULL OR length(local_part) NOT BETWEEN 1 AND 64
		OR local_part !~ '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*$'
		OR domain_part !~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$'
	THEN
		RAISE EXCEPTION 'email address is not valid'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use an address such as user@example.com.';
	END IF;
	RETURN e;
END
$$;
COMMENT ON FUNCTION pg_wallet._normalize_email(text) IS
	'Internal: an email address trimmed and lower-cased; 22023 when it is not one.';

-- A phone number in E.164 (+<country><number>), or 22023. Kenyan local forms are
-- normalised: 0712345678, 712345678, 254712345678 (and 01xx / 1xx) become +2547... / +2541....
CREATE FUNCTION pg_wallet._normalize_phone(phone text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s text;
BEGIN
	IF octet_length(phone) > 32 THEN
		RAISE EXCEPTION 'phone number is longer than 32 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	s := regexp_replace(btrim(phone), '[ ().-]', '', 'g');
	s := CASE
		WHEN s ~ '^0[17][0-9]{8}$' THEN '+254' || substr(s, 2)
		WHEN s ~ '^[17][0-9]{8}$' THEN '+254' || s
		WHEN s ~ '^254[17][0-9]{8}$' THEN '+' || s
		WHEN s ~ '^00[1-9][0-9]{7,14}$' THEN '+' || substr(s, 3)
		ELSE s
	END;
	IF s !~ '^\+[1-9][0-9]{7,14}$' OR (s LIKE '+254%' AND s !~ '^\+254[17][0-9]{8}$') THEN
		RAISE EXCEPTION 'phone number is not valid'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use E.164 (+254712345678) or a Kenyan number (0712345678).';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._normalize_phone(text) IS
	'Internal: a phone number as E.164 (+254712345678); Kenyan local forms 07xx/01xx, 7xx/1xx '
	'and 2547xx/2541xx are normalised; 22023 otherwise.';

-- A required or optional person name, 1 to 80 characters after trimming.
CREATE FUNCTION pg_wallet._check_name(value text, what text, required boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF value IS NULL OR btrim(value) = '' THEN
		IF required THEN
			RAISE EXCEPTION '% is required', what USING ERRCODE = 'null_value_not_allowed';
		END IF;
		RETURN NULL;
	END IF;
	IF length(btrim(value)) > 80 OR value ~ '[[:cntrl:]]' THEN
		RAISE EXCEPTION '% must be 1 to 80 characters without control characters', what
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN btrim(value);
END
$$;
COMMENT ON FUNCTION pg_wallet._check_name(text, text, boolean) IS
	'Internal: a trimmed name of 1 to 80 characters, or 22004/22023.';

-- us***@example.com: two characters of the local part (one if it is that short).
CREATE FUNCTION pg_wallet._mask_email(email text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT left(split_part(email, '@', 1),
	            CASE WHEN length(split_part(email, '@', 1)) > 2 THEN 2 ELSE 1 END)
		|| '***@' || split_part(email, '@', 2)
$$;
COMMENT ON FUNCTION pg_wallet._mask_email(text) IS
	'Internal: an email address masked for display (us***@example.com).';

-- +2547****678: the first five and last three characters.
CREATE FUNCTION pg_wallet._mask_phone(phone text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT left(phone, 5) || '****' || right(phone, 3)
$$;
COMMENT ON FUNCTION pg_wallet._mask_phone(text) IS
	'Internal: a phone number masked for display (+2547****678).';

-- ---------------------------------------------------------------------------------------
-- Principals
-- ---------------------------------------------------------------------------------------

-- The API view of a principals row.
CREATE FUNCTION pg_wallet._principal_info(p pg_wallet.principals)
RETURNS pg_wallet.principal_info
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.id, p.role, p.status, p.owner_id, p.email, p.username, p.first_name,
		p.last_name, p.phone_number, p.date_of_birth, p.account_type, p.kyc_status,
		p.kyc_tier, p.email_verified_at IS NOT NULL, p.phone_verified_at IS NOT NULL,
		EXISTS (SELECT 1 FROM pg_wallet.totp_secrets t
		        WHERE t.principal_id = p.id AND t.confirmed_at IS NOT NULL),
		p.created_at, p.last_login_at
$$;
COMMENT ON FUNCTION pg_wallet._principal_info(pg_wallet.principals) IS
	'Internal: a principals row as principal_info (no secrets).';

-- The row of a principal, optionally locked, or WL035.
CREATE FUNCTION pg_wallet._principal_row(p_id uuid, p_lock boolean DEFAULT false)
RETURNS pg_wallet.principals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals;
BEGIN
	IF p_lock THEN
		SELECT * INTO p FROM pg_wallet.principals WHERE id = p_id FOR UPDATE;
	ELSE
		SELECT * INTO p FROM pg_wallet.principals WHERE id = p_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'principal % does not exist', coalesce(p_id::text, 'NULL')
			USING ERRCODE = 'WL035';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._principal_row(uuid, boolean) IS
	'Internal: the principals row of an id (locked when asked), or error WL035.';

-- Validate and create a principal, its ledger owner and its password hash.
CREATE FUNCTION pg_wallet._create_principal(
	p_role text, p_email text, p_username text, p_password text, p_first_name text,
	p_last_name text, p_phone text, p_date_of_birth date, p_account_type text,
	p_owner_id bigint)
RETURNS pg_wallet.principals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id uuid := gen_random_uuid();
	v_email text := pg_wallet._normalize_email(nullif(btrim(p_email), ''));
	v_username text := lower(btrim(nullif(p_username, '')));
	v_phone text := pg_wallet._normalize_phone(nullif(btrim(p_phone), ''));
	v_owner bigint := p_owner_id;
	v_first text := pg_wallet._check_name(p_first_name, 'first_name', false);
	v_last text := pg_wallet._check_name(p_last_name, 'last_name', false);
	p pg_wallet.principals;
BEGIN
	IF p_role IS NULL OR p_role NOT IN ('user', 'merchant', 'client', 'admin', 'service') THEN
		RAISE EXCEPTION 'role must be user, merchant, client, admin or service'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF v_username IS NOT NULL AND v_username !~ '^[a-z0-9][a-z0-9._@-]{2,63}$' THEN
		RAISE EXCEPTION 'username must be 3 to 64 letters, digits, ".", "_", "@" or "-"'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_password IS NOT NULL AND v_email IS NULL AND v_username IS NULL THEN
		RAISE EXCEPTION 'a principal with a password needs an email address or a username'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF p_password IS NOT NULL THEN
		PERFORM pg_wallet._password_check_strength(p_password);
	END IF;
	IF p_date_of_birth IS NOT NULL
		AND (p_date_of_birth > current_date OR p_date_of_birth < date '1900-01-01') THEN
		RAISE EXCEPTION 'date of birth must be between 1900-01-01 and today'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_account_type IS NOT NULL AND p_account_type NOT IN ('individual', 'business') THEN
		RAISE EXCEPTION 'account type must be individual or business'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.principals x WHERE x.email = v_email) THEN
		RAISE EXCEPTION 'email address is already registered'
			USING ERRCODE = 'unique_violation';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.principals x WHERE x.username = v_username) THEN
		RAISE EXCEPTION 'username is already taken' USING ERRCODE = 'unique_violation';
	END IF;
	IF v_owner IS NULL THEN
		v_owner := pg_wallet.create_owner(
			CASE p_role WHEN 'admin' THEN 'platform' WHEN 'service' THEN 'platform'
			            ELSE p_role END,
			left(coalesce(nullif(concat_ws(' ', v_first, v_last), ''), v_username, v_email,
			              p_role), 200),
			'principal:' || new_id);
	ELSIF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = v_owner) THEN
		RAISE EXCEPTION 'owner % does not exist', v_owner USING ERRCODE = 'WL018';
	END IF;
	INSERT INTO pg_wallet.principals (id, role, owner_id, email, username, first_name,
		last_name, phone_number, date_of_birth, account_type)
	VALUES (new_id, p_role, v_owner, v_email, v_username, v_first, v_last, v_phone,
		p_date_of_birth, p_account_type)
	RETURNING * INTO p;
	IF p_password IS NOT NULL THEN
		INSERT INTO pg_wallet.principal_passwords (principal_id, hash)
		VALUES (new_id, pg_wallet._password_hash(p_password));
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._create_principal(text, text, text, text, text, text, text, date,
	text, bigint) IS
	'Internal: validate and insert a principal with its ledger owner (created unless given) '
	'and its scrypt password hash.';

CREATE FUNCTION pg_wallet.register_user(
	email text,
	password text,
	first_name text,
	last_name text,
	phone_number text,
	date_of_birth date DEFAULT NULL,
	account_type text DEFAULT 'individual')
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF email IS NULL OR btrim(email) = '' THEN
		RAISE EXCEPTION 'email is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF password IS NULL THEN
		RAISE EXCEPTION 'password is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF phone_number IS NULL OR btrim(phone_number) = '' THEN
		RAISE EXCEPTION 'phone_number is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM pg_wallet._check_name(first_name, 'first_name', true);
	PERFORM pg_wallet._check_name(last_name, 'last_name', true);
	RETURN pg_wallet._principal_info(pg_wallet._create_principal('user', email, NULL, password,
		first_name, last_name, phone_number, date_of_birth,
		coalesce(account_type, 'individual'), NULL));
END
$$;
COMMENT ON FUNCTION pg_wallet.register_user(text, text, text, text, text, date, text) IS
	'Tribble POST /auth/register: a user (role user, KYC PENDING tier 0) with a ledger owner. '
	'Email lower-cased and unique (23505), phone E.164 (Kenyan local forms normalised), '
	'password 8+ characters with a letter and a digit (WL030).';

CREATE FUNCTION pg_wallet.create_principal(
	role text,
	email text DEFAULT NULL,
	password text DEFAULT NULL,
	first_name text DEFAULT NULL,
	last_name text DEFAULT NULL,
	phone_number text DEFAULT NULL,
	username text DEFAULT NULL,
	owner_id bigint DEFAULT NULL,
	date_of_birth date DEFAULT NULL,
	account_type text DEFAULT NULL)
RETURNS pg_wallet.principal_info
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._principal_info(pg_wallet._create_principal(role, email, username,
		password, first_name, last_name, phone_number, date_of_birth, account_type, owner_id))
$$;
COMMENT ON FUNCTION pg_wallet.create_principal(text, text, text, text, text, text, text, bigint,
	date, text) IS
	'Operator: create a principal of any role (a WaaS client with username and password, a '
	'merchant, an admin, a service). owner_id links it to an existing ledger owner; by '
	'default a new owner is created. Grant to operators only.';

CREATE FUNCTION pg_wallet.get_principal_by_id(principal_id uuid)
RETURNS pg_wallet.principal_info
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._principal_info(pg_wallet._principal_row(principal_id))
$$;
COMMENT ON FUNCTION pg_wallet.get_principal_by_id(uuid) IS
	'Operator: a principal by id (no secrets), or WL035.';

CREATE FUNCTION pg_wallet.set_principal_status(
	principal_id uuid,
	status text,
	reason text DEFAULT NULL)
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._principal_row(principal_id, true);
BEGIN
	IF status IS NULL OR status NOT IN ('ACTIVE', 'SUSPENDED', 'CLOSED') THEN
		RAISE EXCEPTION 'principal status must be ACTIVE, SUSPENDED or CLOSED'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF length(reason) > 500 THEN
		RAISE EXCEPTION 'reason is longer than 500 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF p.status = 'CLOSED' AND status <> 'CLOSED' THEN
		RAISE EXCEPTION 'principal % is closed', p.id
			USING ERRCODE = 'WL021', DETAIL = 'A closed principal cannot be reopened.';
	END IF;
	UPDATE pg_wallet.principals x
	SET status = set_principal_status.status, status_reason = reason,
		locked_until = CASE WHEN set_principal_status.status = 'ACTIVE' THEN NULL
		                    ELSE x.locked_until END,
		failed_logins = CASE WHEN set_principal_status.status = 'ACTIVE' THEN 0
		                     ELSE x.failed_logins END,
		updated_at = now()
	WHERE x.id = p.id
	RETURNING * INTO p;
	IF status <> 'ACTIVE' THEN
		PERFORM pg_wallet.revoke_sessions(p.id, 'principal ' || lower(status));
	END IF;
	RETURN pg_wallet._principal_info(p);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_principal_status(uuid, text, text) IS
	'Operator: ACTIVE (also clears a login lock), SUSPENDED or CLOSED (final). Suspending or '
	'closing revokes every session, so its tokens stop working at once.';

-- ---------------------------------------------------------------------------------------
-- API credentials (Sellapay X-API-KEY / X-API-SECRET)
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet.create_api_credential(principal_id uuid, label text DEFAULT NULL)
RETURNS pg_wallet.api_credential_secret
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._principal_row(principal_id, true);
	v_key text := pg_wallet._random_token('pk_', 24);
	v_secret text := pg_wallet._random_token('sk_', 32);
	c pg_wallet.api_credentials;
BEGIN
	IF p.status <> 'ACTIVE' THEN
		RAISE EXCEPTION 'principal % is %', p.id, lower(p.status) USING ERRCODE = 'WL021';
	END IF;
	IF length(label) > 100 THEN
		RAISE EXCEPTION 'label is longer than 100 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF (SELECT count(*) FROM pg_wallet.api_credentials a
	    WHERE a.principal_id = p.id AND a.status = 'ACTIVE') >= 10 THEN
		RAISE EXCEPTION 'principal % already has 10 active API credentials', p.id
			USING ERRCODE = 'program_limit_exceeded',
			      HINT = 'Revoke one with revoke_api_credential().';
	END IF;
	INSERT INTO pg_wallet.api_credentials (principal_id, key_hash, secret_hash, key_prefix, label)
	VALUES (p.id, pg_wallet._secret_hash(v_key), pg_wallet._secret_hash(v_secret),
		left(v_key, 11), label)
	RETURNING * INTO c;
	RETURN (c.id, p.id, v_key, v_secret, c.key_prefix, c.created_at)
		::pg_wallet.api_credential_secret;
END
$$;
COMMENT ON FUNCTION pg_wallet.create_api_credential(uuid, text) IS
	'Operator: a new API key (pk_...) and secret (sk_...) for a principal, returned once and '
	'stored only as SHA-256 hashes. At most 10 active per principal.';

CREATE FUNCTION pg_wallet.revoke_api_credential(credential_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s record;
BEGIN
	UPDATE pg_wallet.api_credentials c SET status = 'REVOKED', revoked_at = now()
	WHERE c.id = credential_id AND c.status = 'ACTIVE';
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	FOR s IN SELECT x.id FROM pg_wallet.auth_sessions x
	         WHERE x.api_credential_id = credential_id AND x.revoked_at IS NULL
	LOOP
		PERFORM pg_wallet._revoke_session(s.id, 'API credential revoked');
	END LOOP;
	RETURN true;
END
$$;
COMMENT ON FUNCTION pg_wallet.revoke_api_credential(bigint) IS
	'Operator: revoke an API credential and every token issued for it; false when it was not '
	'active.';
-- Sessions and tokens: signing keys, login (users, WaaS clients), API-key authorization
-- (Sellapay), refresh-token rotation, authenticate(), logout, password change.
--
-- Refusals that must leave a trace (failed-login counters and locks, refresh-token reuse
-- revoking a session) are RETURNED as status REFUSED with a SQLSTATE and a message, not
-- raised: a raised error would roll back the very write that defends against guessing.

-- ---------------------------------------------------------------------------------------
-- Signing keys
-- ---------------------------------------------------------------------------------------

-- The active HS256 key, made on first use. Called by _jwt_issue (C).
CREATE FUNCTION pg_wallet._jwt_signing_key()
RETURNS TABLE (key_id text, key_secret bytea)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	FOR attempt IN 1..2 LOOP
		RETURN QUERY SELECT k.kid, k.secret FROM pg_wallet.jwt_signing_keys k
			WHERE k.status = 'ACTIVE';
		IF FOUND THEN
			RETURN;
		END IF;
		-- a concurrent first use inserts too: the unique index keeps one, we read it
		INSERT INTO pg_wallet.jwt_signing_keys (kid, secret, status)
		VALUES ('k' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') || '-'
		        || pg_wallet.base64url_encode(pg_wallet._random_bytes(6)),
		        pg_wallet._random_bytes(32), 'ACTIVE')
		ON CONFLICT (status) WHERE status = 'ACTIVE' DO NOTHING;
	END LOOP;
	RAISE EXCEPTION 'no active JWT signing key could be made' USING ERRCODE = 'internal_error';
END
$$;
COMMENT ON FUNCTION pg_wallet._jwt_signing_key() IS
	'Internal: the active JWT signing key (kid, 32 random bytes), created on first use.';

CREATE FUNCTION pg_wallet.rotate_signing_key()
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	new_kid text;
BEGIN
	LOCK TABLE pg_wallet.jwt_signing_keys IN SHARE ROW EXCLUSIVE MODE;
	-- a retired key verifies the tokens it signed until the longest of them expires
	UPDATE pg_wallet.jwt_signing_keys k
	SET status = 'RETIRED', retired_at = t,
		verify_until = t + make_interval(secs => greatest(cfg.jwt_lifetime_s,
		                                                  cfg.api_token_lifetime_s) + 60)
	WHERE k.status = 'ACTIVE';
	new_kid := 'k' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') || '-'
		|| pg_wallet.base64url_encode(pg_wallet._random_bytes(6));
	INSERT INTO pg_wallet.jwt_signing_keys (kid, secret, status)
	VALUES (new_kid, pg_wallet._random_bytes(32), 'ACTIVE');
	RETURN new_kid;
END
$$;
COMMENT ON FUNCTION pg_wallet.rotate_signing_key() IS
	'Operator: make a new active JWT signing key and retire the current one; tokens signed '
	'by the old key keep verifying until they expire. Returns the new kid.';

-- ---------------------------------------------------------------------------------------
-- Issuing and revoking
-- ---------------------------------------------------------------------------------------

-- A REFUSED login_result.
CREATE FUNCTION pg_wallet._login_refused(
	p_sqlstate text, p_message text, p_retry_after_s integer DEFAULT NULL)
RETURNS pg_wallet.login_result
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ROW('REFUSED', p_sqlstate, p_message, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL, NULL, NULL, NULL, p_retry_after_s)::pg_wallet.login_result
$$;
COMMENT ON FUNCTION pg_wallet._login_refused(text, text, integer) IS
	'Internal: a login_result with status REFUSED.';

-- Sign an access token in a session, register its jti, and (for password sessions) add a
-- refresh token; the OK login_result.
CREATE FUNCTION pg_wallet._issue_tokens(
	p pg_wallet.principals, p_session_id uuid, p_profile text, p_lifetime_s integer,
	p_with_refresh boolean)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	jwt pg_wallet.jwt_issued;
	rt text;
BEGIN
	jwt := pg_wallet._jwt_issue(p.id, p.role, p_profile, p_session_id, p_lifetime_s);
	INSERT INTO pg_wallet.access_tokens (jti, session_id, principal_id, issued_at, expires_at)
	VALUES (jwt.jti, p_session_id, p.id, jwt.issued_at, jwt.expires_at);
	IF p_with_refresh THEN
		rt := pg_wallet._random_token('rt_', 32);
		INSERT INTO pg_wallet.refresh_tokens (token_hash, session_id, principal_id, issued_at,
			expires_at)
		VALUES (pg_wallet._secret_hash(rt), p_session_id, p.id, t,
			t + make_interval(secs => cfg.refresh_lifetime_s));
	END IF;
	RETURN ROW('OK', NULL, NULL, jwt.token, rt, 'Bearer', p_lifetime_s,
		CASE WHEN p_with_refresh THEN cfg.refresh_lifetime_s END, jwt.jti, p_session_id,
		p.id, p.role, p.email, p.first_name, p.kyc_status, p.kyc_tier,
		NULL)::pg_wallet.login_result;
END
$$;
COMMENT ON FUNCTION pg_wallet._issue_tokens(pg_wallet.principals, uuid, text, integer, boolean) IS
	'Internal: issue an access token (and a refresh token) in a session.';

-- Revoke a session: its access tokens and its refresh-token family.
CREATE FUNCTION pg_wallet._revoke_session(p_session_id uuid, p_reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := pg_wallet._auth_now();
BEGIN
	UPDATE pg_wallet.auth_sessions s SET revoked_at = t, revoke_reason = left(p_reason, 200)
	WHERE s.id = p_session_id AND s.revoked_at IS NULL;
	UPDATE pg_wallet.access_tokens a SET revoked_at = t
	WHERE a.session_id = p_session_id AND a.revoked_at IS NULL;
	UPDATE pg_wallet.refresh_tokens r SET status = 'REVOKED'
	WHERE r.session_id = p_session_id AND r.status = 'ACTIVE';
END
$$;
COMMENT ON FUNCTION pg_wallet._revoke_session(uuid, text) IS
	'Internal: revoke a session, every access token issued in it and its refresh tokens.';

CREATE FUNCTION pg_wallet.revoke_sessions(
	principal_id uuid,
	reason text DEFAULT 'revoked by an operator')
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s record;
	n integer := 0;
BEGIN
	PERFORM pg_wallet._principal_row(principal_id);
	FOR s IN SELECT x.id FROM pg_wallet.auth_sessions x
	         WHERE x.principal_id = revoke_sessions.principal_id AND x.revoked_at IS NULL
	         ORDER BY x.id
	LOOP
		PERFORM pg_wallet._revoke_session(s.id, reason);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet.revoke_sessions(uuid, text) IS
	'Operator: revoke every session (all tokens) of a principal; returns how many.';

-- ---------------------------------------------------------------------------------------
-- Login
-- ---------------------------------------------------------------------------------------

-- The password check shared by login and login_client, on a row locked FOR UPDATE (or
-- none: unknown principal, same cost). Counts failures, locks after max_failed_logins.
CREATE FUNCTION pg_wallet._password_login(
	p pg_wallet.principals, p_password text, p_profile text, p_invalid_message text)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	stored text;
	ok boolean;
	session_id uuid;
BEGIN
	IF p.id IS NOT NULL AND p.locked_until > t THEN
		RETURN pg_wallet._login_refused('WL021', 'account locked',
			ceil(extract(epoch FROM p.locked_until - t))::integer);
	END IF;
	SELECT h.hash INTO stored FROM pg_wallet.principal_passwords h WHERE h.principal_id = p.id;
	-- too long cannot match; a missing hash costs the same as a wrong password
	IF octet_length(p_password) > 128 THEN
		ok := false;
	ELSE
		ok := pg_wallet._password_verify(p_password, stored) AND stored IS NOT NULL;
	END IF;
	IF p.id IS NULL THEN
		RETURN pg_wallet._login_refused('WL020', p_invalid_message);
	END IF;
	IF NOT ok THEN
		IF p.failed_logins + 1 >= cfg.max_failed_logins THEN
			UPDATE pg_wallet.principals x SET failed_logins = 0, updated_at = now(),
				locked_until = t + make_interval(secs => cfg.lockout_s)
			WHERE x.id = p.id;
			RETURN pg_wallet._login_refused('WL021', 'account locked', cfg.lockout_s);
		END IF;
		UPDATE pg_wallet.principals x SET failed_logins = x.failed_logins + 1
		WHERE x.id = p.id;
		RETURN pg_wallet._login_refused('WL020', p_invalid_message);
	END IF;
	IF p.status <> 'ACTIVE' THEN
		RETURN pg_wallet._login_refused('WL021', 'account ' || lower(p.status));
	END IF;
	UPDATE pg_wallet.principals x SET failed_logins = 0, locked_until = NULL, last_login_at = t
	WHERE x.id = p.id
	RETURNING * INTO p;
	IF pg_wallet._password_needs_rehash(stored) THEN
		UPDATE pg_wallet.principal_passwords h
		SET hash = pg_wallet._password_hash(p_password), updated_at = now()
		WHERE h.principal_id = p.id;
	END IF;
	INSERT INTO pg_wallet.auth_sessions (principal_id, kind, profile, created_at)
	VALUES (p.id, 'password', p_profile, t)
	RETURNING id INTO session_id;
	RETURN pg_wallet._issue_tokens(p, session_id, p_profile, cfg.jwt_lifetime_s, true);
END
$$;
COMMENT ON FUNCTION pg_wallet._password_login(pg_wallet.principals, text, text, text) IS
	'Internal: check a password (constant time, counted, lockout) and open a session.';

-- The profile argument: a short lower-case name.
CREATE FUNCTION pg_wallet._check_profile(profile text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF profile IS NULL OR profile !~ '^[a-z0-9_-]{1,32}$' THEN
		RAISE EXCEPTION 'profile must be 1 to 32 lower-case letters, digits, "_" or "-"'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN profile;
END
$$;
COMMENT ON FUNCTION pg_wallet._check_profile(text) IS
	'Internal: validate an API profile name (tribble, waas, sellapay, cashier, ...).';

CREATE FUNCTION pg_wallet.login(email text, password text, profile text DEFAULT 'tribble')
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals;
BEGIN
	PERFORM pg_wallet._check_profile(profile);
	IF email IS NULL OR btrim(email) = '' OR password IS NULL OR password = '' THEN
		RAISE EXCEPTION 'email and password are required'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF octet_length(email) <= 320 THEN
		SELECT * INTO p FROM pg_wallet.principals x WHERE x.email = lower(btrim(login.email))
		FOR UPDATE;
	END IF;
	RETURN pg_wallet._password_login(p, password, profile, 'invalid email or password');
END
$$;
COMMENT ON FUNCTION pg_wallet.login(text, text, text) IS
	'Tribble POST /auth/login: email and password to an access token (HS256 JWT, '
	'pg_wallet.jwt_lifetime_s) and a refresh token. Refusals are returned (status REFUSED): '
	'WL020 invalid email or password (also for an unknown email, in the same time), WL021 '
	'account locked (after pg_wallet.max_failed_logins failures, for pg_wallet.lockout_s) or '
	'suspended/closed.';

CREATE FUNCTION pg_wallet.login_client(username text, password text, profile text DEFAULT 'waas')
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals;
BEGIN
	PERFORM pg_wallet._check_profile(profile);
	IF username IS NULL OR btrim(username) = '' OR password IS NULL OR password = '' THEN
		RAISE EXCEPTION 'username and password are required'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF octet_length(username) <= 64 THEN
		SELECT * INTO p FROM pg_wallet.principals x
		WHERE x.username = lower(btrim(login_client.username))
		FOR UPDATE;
	END IF;
	RETURN pg_wallet._password_login(p, password, profile, 'invalid username or password');
END
$$;
COMMENT ON FUNCTION pg_wallet.login_client(text, text, text) IS
	'WaaS POST /auth/login: username and password to tokens; same rules as login().';

CREATE FUNCTION pg_wallet.authorize_api_key(
	api_key text,
	api_secret text,
	profile text DEFAULT 'sellapay')
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	c pg_wallet.api_credentials;
	p pg_wallet.principals;
	session_id uuid;
BEGIN
	PERFORM pg_wallet._check_profile(profile);
	IF api_key IS NULL OR api_key = '' OR api_secret IS NULL OR api_secret = '' THEN
		RAISE EXCEPTION 'missing API key or secret code' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF octet_length(api_key) <= 256 AND octet_length(api_secret) <= 256 THEN
		SELECT * INTO c FROM pg_wallet.api_credentials a
		WHERE a.key_hash = pg_wallet._secret_hash(api_key)
		FOR UPDATE;
	END IF;
	IF c.id IS NULL OR c.status <> 'ACTIVE'
		OR NOT pg_wallet._ct_equal(c.secret_hash, pg_wallet._secret_hash(api_secret)) THEN
		RETURN pg_wallet._login_refused('WL020', 'invalid API key or secret code');
	END IF;
	p := pg_wallet._principal_row(c.principal_id);
	IF p.status <> 'ACTIVE' THEN
		RETURN pg_wallet._login_refused('WL021', 'account ' || lower(p.status));
	END IF;
	UPDATE pg_wallet.api_credentials a SET last_used_at = t WHERE a.id = c.id;
	INSERT INTO pg_wallet.auth_sessions (principal_id, kind, profile, api_credential_id,
		created_at)
	VALUES (p.id, 'api_key', profile, c.id, t)
	RETURNING id INTO session_id;
	RETURN pg_wallet._issue_tokens(p, session_id, profile, cfg.api_token_lifetime_s, false);
END
$$;
COMMENT ON FUNCTION pg_wallet.authorize_api_key(text, text, text) IS
	'Sellapay POST /authorize: X-API-KEY and X-API-SECRET to an access token '
	'(pg_wallet.api_token_lifetime_s, no refresh token). 22004 "missing API key or secret '
	'code"; REFUSED WL020 "invalid API key or secret code", WL021 suspended.';

CREATE FUNCTION pg_wallet.refresh_session(refresh_token text)
RETURNS pg_wallet.login_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	r pg_wallet.refresh_tokens;
	s pg_wallet.auth_sessions;
	p pg_wallet.principals;
BEGIN
	IF refresh_token IS NULL OR refresh_token = '' THEN
		RAISE EXCEPTION 'refresh token is missing' USING ERRCODE = 'WL022';
	END IF;
	IF refresh_token !~ '^rt_[A-Za-z0-9_-]{43}$' THEN
		RETURN pg_wallet._login_refused('WL022', 'refresh token is invalid');
	END IF;
	SELECT * INTO r FROM pg_wallet.refresh_tokens x
	WHERE x.token_hash = pg_wallet._secret_hash(refresh_token)
	FOR UPDATE;
	IF NOT FOUND THEN
		RETURN pg_wallet._login_refused('WL022', 'refresh token is invalid');
	END IF;
	SELECT * INTO s FROM pg_wallet.auth_sessions x WHERE x.id = r.session_id FOR UPDATE;
	IF r.status = 'USED' AND s.revoked_at IS NULL THEN
		-- a used token presented again: stolen, or the thief already used it. Revoke all.
		PERFORM pg_wallet._revoke_session(s.id, 'refresh token reused');
		RETURN pg_wallet._login_refused('WL025',
			'refresh token was already used; the session has been revoked');
	END IF;
	IF r.status <> 'ACTIVE' OR s.revoked_at IS NOT NULL THEN
		RETURN pg_wallet._login_refused('WL025', 'refresh token has been revoked');
	END IF;
	IF r.expires_at <= t THEN
		RETURN pg_wallet._login_refused('WL024', 'refresh token has expired');
	END IF;
	p := pg_wallet._principal_row(r.principal_id);
	IF p.status <> 'ACTIVE' THEN
		RETURN pg_wallet._login_refused('WL021', 'account ' || lower(p.status));
	END IF;
	UPDATE pg_wallet.refresh_tokens x SET status = 'USED', used_at = t
	WHERE x.token_hash = r.token_hash;
	RETURN pg_wallet._issue_tokens(p, s.id, s.profile, cfg.jwt_lifetime_s, true);
END
$$;
COMMENT ON FUNCTION pg_wallet.refresh_session(text) IS
	'Tribble POST /auth/refresh-token: a refresh token to a new access token and a new '
	'refresh token (rotation; the old one is used up). Presenting a used refresh token again '
	'revokes the whole session (WL025). REFUSED WL022 invalid, WL024 expired, WL025 revoked.';

-- ---------------------------------------------------------------------------------------
-- Authenticate: what every API function calls first
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet.authenticate(
	token text,
	allowed_roles text[] DEFAULT NULL,
	expected_audience text DEFAULT NULL)
RETURNS pg_wallet.auth_principal
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_wallet.jwt_claims := pg_wallet._jwt_verify(token);
	a record;
BEGIN
	SELECT t.session_id, t.revoked_at AS token_revoked, s.revoked_at AS session_revoked, p.*
	INTO a
	FROM pg_wallet.access_tokens t
	JOIN pg_wallet.auth_sessions s ON s.id = t.session_id
	JOIN pg_wallet.principals p ON p.id = t.principal_id
	WHERE t.jti = c.jti;
	IF NOT FOUND OR a.token_revoked IS NOT NULL OR a.session_revoked IS NOT NULL
		OR a.id <> c.sub OR a.session_id <> c.sid THEN
		RAISE EXCEPTION 'access token has been revoked' USING ERRCODE = 'WL025';
	END IF;
	IF a.status <> 'ACTIVE' THEN
		RAISE EXCEPTION 'account %', lower(a.status) USING ERRCODE = 'WL021';
	END IF;
	-- a token issued for another API (its aud, the profile that issued it) is refused
	-- before the role is looked at
	IF expected_audience IS NOT NULL AND c.aud IS DISTINCT FROM expected_audience THEN
		RAISE EXCEPTION 'access token was not issued for this API' USING ERRCODE = 'WL023',
			DETAIL = format('The token is for %s, not %s.', c.aud, left(expected_audience, 40));
	END IF;
	IF allowed_roles IS NOT NULL THEN
		IF cardinality(allowed_roles) > 8 THEN
			RAISE EXCEPTION 'allowed_roles has more than 8 elements'
				USING ERRCODE = 'program_limit_exceeded';
		END IF;
		IF NOT (a.role = ANY (allowed_roles)) THEN
			RAISE EXCEPTION 'forbidden: role % may not perform this operation', a.role
				USING ERRCODE = 'WL031',
				      DETAIL = format('Allowed roles: %s.', array_to_string(allowed_roles, ', '));
		END IF;
	END IF;
	RETURN ROW(a.id, a.role, a.owner_id, a.email, a.username, a.status, a.kyc_status,
		a.kyc_tier, c.jti, c.sid, c.aud, c.expires_at)::pg_wallet.auth_principal;
END
$$;
COMMENT ON FUNCTION pg_wallet.authenticate(text, text[], text) IS
	'Token (optionally "Bearer ...") to the calling principal, or the precise error: WL022 '
	'missing/malformed, WL023 algorithm not HS256/unknown key/bad signature, WL024 expired, '
	'WL025 revoked (logout, session revoked, unknown jti), WL021 account suspended/closed, '
	'WL023 "access token was not issued for this API" when expected_audience is given and '
	'the token''s aud (the profile that issued it) differs, WL031 role not in allowed_roles '
	'(checked last). NULL allowed_roles or expected_audience: no check. Every API function '
	'calls it first.';

CREATE FUNCTION pg_wallet.get_principal(token text)
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._principal_info(
		pg_wallet._principal_row((pg_wallet.authenticate(token)).principal_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.get_principal(text) IS
	'Tribble GET /users/profile: the calling principal (no secrets).';

CREATE FUNCTION pg_wallet.logout(token text, token_id uuid DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	target uuid;
BEGIN
	SELECT a.session_id INTO target FROM pg_wallet.access_tokens a
	WHERE a.jti = coalesce(token_id, me.token_id) AND a.principal_id = me.principal_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'token_id does not identify a token of the caller'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_wallet._revoke_session(target, 'logout');
	RETURN true;
END
$$;
COMMENT ON FUNCTION pg_wallet.logout(text, uuid) IS
	'Tribble POST /auth/logout: revoke the session of the token (or of the caller''s token '
	'token_id): its access tokens stop working (WL025) and its refresh tokens are revoked.';

CREATE FUNCTION pg_wallet.change_password(
	token text,
	current_password text,
	new_password text)
RETURNS pg_wallet.auth_outcome
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	p pg_wallet.principals := pg_wallet._principal_row(me.principal_id, true);
	stored text;
	ok boolean;
	s record;
BEGIN
	PERFORM pg_wallet._password_check_strength(new_password);
	IF p.locked_until > t THEN
		RETURN ('REFUSED', 'WL021', 'account locked')::pg_wallet.auth_outcome;
	END IF;
	SELECT h.hash INTO stored FROM pg_wallet.principal_passwords h WHERE h.principal_id = p.id;
	IF current_password IS NULL OR octet_length(current_password) > 128 THEN
		ok := false;
	ELSE
		ok := pg_wallet._password_verify(current_password, stored) AND stored IS NOT NULL;
	END IF;
	IF NOT ok THEN
		UPDATE pg_wallet.principals x
		SET failed_logins = CASE WHEN x.failed_logins + 1 >= cfg.max_failed_logins THEN 0
		                         ELSE x.failed_logins + 1 END,
			locked_until = CASE WHEN x.failed_logins + 1 >= cfg.max_failed_logins
			                    THEN t + make_interval(secs => cfg.lockout_s) END
		WHERE x.id = p.id;
		RETURN ('REFUSED', 'WL020', 'current password is incorrect')::pg_wallet.auth_outcome;
	END IF;
	UPDATE pg_wallet.principal_passwords h
	SET hash = pg_wallet._password_hash(new_password), updated_at = now()
	WHERE h.principal_id = p.id;
	UPDATE pg_wallet.principals x SET failed_logins = 0, updated_at = now() WHERE x.id = p.id;
	FOR s IN SELECT x.id FROM pg_wallet.auth_sessions x
	         WHERE x.principal_id = p.id AND x.revoked_at IS NULL AND x.id <> me.session_id
	LOOP
		PERFORM pg_wallet._revoke_session(s.id, 'password changed');
	END LOOP;
	RETURN ('OK', NULL, 'Password changed successfully')::pg_wallet.auth_outcome;
END
$$;
COMMENT ON FUNCTION pg_wallet.change_password(text, text, text) IS
	'Tribble POST /users/change-password: needs the current password (a wrong one counts as '
	'a failed login: REFUSED WL020, WL021 when locked); the new one must pass the policy '
	'(WL030). Every other session of the principal is revoked.';

CREATE FUNCTION pg_wallet.purge_expired_auth()
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := pg_wallet._auth_now();
	n bigint;
	total bigint := 0;
BEGIN
	DELETE FROM pg_wallet.access_tokens a WHERE a.expires_at < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.refresh_tokens r WHERE r.expires_at < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.verification_tokens v WHERE v.expires_at < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.otp_challenges o WHERE o.expires_at < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.auth_sessions s
	WHERE s.created_at < t - interval '1 day'
	  AND NOT EXISTS (SELECT 1 FROM pg_wallet.access_tokens a WHERE a.session_id = s.id)
	  AND NOT EXISTS (SELECT 1 FROM pg_wallet.refresh_tokens r WHERE r.session_id = s.id);
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	DELETE FROM pg_wallet.jwt_signing_keys k
	WHERE k.status = 'RETIRED' AND k.verify_until < t - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	RETURN total;
END
$$;
COMMENT ON FUNCTION pg_wallet.purge_expired_auth() IS
	'Operator or worker: delete tokens, codes, sessions and retired keys that expired more '
	'than a day ago; returns the number of rows deleted.';
-- Verification (cashier spec: verification_request, verify_otp, verify_totp): one-time
-- codes by email/SMS/WhatsApp, TOTP enrolment, and the short-lived single-use verification
-- tokens that sensitive operations (withdrawals) consume.
--
-- Wrong codes are RETURNED as status REFUSED (WL026/WL027) with the attempts left, not
-- raised, so that the attempt counter is committed. Messages are the spec's texts.

-- The purpose argument: what a verification is for (withdrawal, email_verification, ...).
CREATE FUNCTION pg_wallet._check_purpose(purpose text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF purpose IS NULL OR purpose !~ '^[a-z][a-z0-9_]{1,39}$' THEN
		RAISE EXCEPTION 'purpose must be 2 to 40 lower-case letters, digits or "_"'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'For example: withdrawal.';
	END IF;
	RETURN purpose;
END
$$;
COMMENT ON FUNCTION pg_wallet._check_purpose(text) IS
	'Internal: validate a verification purpose such as withdrawal.';

-- A new verification token for a principal and purpose; only its hash is stored.
CREATE FUNCTION pg_wallet._issue_verification_token(
	p_principal_id uuid, p_purpose text, p_method text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := pg_wallet._auth_now();
	vt text := pg_wallet._random_token('vt_', 32);
BEGIN
	INSERT INTO pg_wallet.verification_tokens (token_hash, principal_id, purpose, method,
		created_at, expires_at)
	VALUES (pg_wallet._secret_hash(vt), p_principal_id, p_purpose, p_method, t,
		t + make_interval(secs => (pg_wallet._auth_config()).verification_ttl_s));
	RETURN vt;
END
$$;
COMMENT ON FUNCTION pg_wallet._issue_verification_token(uuid, text, text) IS
	'Internal: a verification token (vt_...) bound to principal and purpose, valid '
	'pg_wallet.verification_ttl_s (300 s), stored as SHA-256.';

-- ---------------------------------------------------------------------------------------
-- One-time codes by email, SMS, WhatsApp; and the TOTP branch of verification_request
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet.verification_request(token text, method text, purpose text)
RETURNS pg_wallet.verification_challenge
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	p pg_wallet.principals;
	v_channel text;
	v_recipient text;
	v_masked text;
	v_code text;
	v_salt bytea;
	challenge_id bigint;
BEGIN
	PERFORM pg_wallet._check_purpose(purpose);
	IF method IS NULL OR method NOT IN ('totp', 'otp_email', 'otp_sms', 'otp_whatsapp') THEN
		RAISE EXCEPTION 'verification method must be totp, otp_email, otp_sms or otp_whatsapp'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF method = 'totp' THEN
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.totp_secrets s
		               WHERE s.principal_id = me.principal_id AND s.confirmed_at IS NOT NULL) THEN
			RAISE EXCEPTION '2FA is not enabled for your account. %',
				'Please use OTP verification instead.' USING ERRCODE = 'WL029';
		END IF;
		RETURN ('2FA enabled. Please provide your TOTP code', 'totp', NULL, NULL, purpose,
			'verify_totp', NULL)::pg_wallet.verification_challenge;
	END IF;
	p := pg_wallet._principal_row(me.principal_id, true);	-- one request at a time
	v_channel := CASE method WHEN 'otp_email' THEN 'email' WHEN 'otp_sms' THEN 'sms'
	                         ELSE 'whatsapp' END;
	v_recipient := CASE v_channel WHEN 'email' THEN p.email ELSE p.phone_number END;
	IF v_recipient IS NULL THEN
		RAISE EXCEPTION 'no % on file for this account',
			CASE v_channel WHEN 'email' THEN 'email address' ELSE 'phone number' END
			USING ERRCODE = 'WL036';
	END IF;
	IF (SELECT count(*) FROM pg_wallet.otp_challenges o
	    WHERE o.principal_id = p.id AND o.created_at > t - interval '10 minutes') >= 5 THEN
		RAISE EXCEPTION 'too many verification requests. Please try again later.'
			USING ERRCODE = 'WL037', DETAIL = 'At most 5 codes are sent in 10 minutes.';
	END IF;
	UPDATE pg_wallet.otp_challenges o SET status = 'SUPERSEDED'
	WHERE o.principal_id = p.id AND o.purpose = verification_request.purpose
	  AND o.status = 'PENDING';
	v_code := pg_wallet._random_digits(6);
	v_salt := pg_wallet._random_bytes(16);
	v_masked := CASE v_channel WHEN 'email' THEN pg_wallet._mask_email(v_recipient)
	                           ELSE pg_wallet._mask_phone(v_recipient) END;
	INSERT INTO pg_wallet.otp_challenges (principal_id, purpose, method, channel,
		recipient_masked, code_salt, code_hash, max_attempts, created_at, expires_at)
	VALUES (p.id, purpose, method, v_channel, v_masked, v_salt,
		pg_wallet._secret_hash(v_code, v_salt), cfg.otp_max_attempts, t,
		t + make_interval(secs => cfg.otp_ttl_s))
	RETURNING id INTO challenge_id;
	INSERT INTO pg_wallet.notification_outbox (principal_id, channel, recipient, template, payload)
	VALUES (p.id, v_channel, v_recipient, 'otp_code',
		jsonb_build_object('code', v_code, 'purpose', purpose, 'expires_in', cfg.otp_ttl_s,
		                   'challenge_id', challenge_id));
	RETURN (format('OTP sent to %s via %s', v_masked,
	               CASE v_channel WHEN 'email' THEN 'email' WHEN 'sms' THEN 'SMS'
	                              ELSE 'WhatsApp' END),
		method, v_channel, v_masked, purpose, 'verify_otp',
		cfg.otp_ttl_s)::pg_wallet.verification_challenge;
END
$$;
COMMENT ON FUNCTION pg_wallet.verification_request(text, text, text) IS
	'Cashier verification_request: method otp_email/otp_sms/otp_whatsapp sends a 6-digit code '
	'(a notification_outbox row; expires in pg_wallet.otp_ttl_s = 180 s; supersedes a pending '
	'one; at most 5 in 10 minutes, WL037) to the masked recipient; method totp answers '
	'next_step verify_totp, or WL029 "2FA is not enabled ..." when it is not.';

CREATE FUNCTION pg_wallet.verify_otp(token text, code text, purpose text)
RETURNS pg_wallet.verification_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	t timestamptz := pg_wallet._auth_now();
	ch pg_wallet.otp_challenges;
BEGIN
	PERFORM pg_wallet._check_purpose(purpose);
	SELECT * INTO ch FROM pg_wallet.otp_challenges o
	WHERE o.principal_id = me.principal_id AND o.purpose = verify_otp.purpose
	ORDER BY o.id DESC LIMIT 1
	FOR UPDATE;
	IF NOT FOUND OR ch.status IN ('VERIFIED', 'SUPERSEDED') THEN
		RETURN ('REFUSED', 'WL027', 'no pending OTP for this purpose. Please request a new one.',
			NULL, purpose, NULL, NULL, 0)::pg_wallet.verification_result;
	END IF;
	IF ch.status = 'EXHAUSTED' THEN
		RETURN ('REFUSED', 'WL027', 'too many invalid attempts. Please request a new OTP.',
			NULL, purpose, ch.method, NULL, 0)::pg_wallet.verification_result;
	END IF;
	IF ch.status = 'EXPIRED' OR ch.expires_at <= t THEN
		UPDATE pg_wallet.otp_challenges o SET status = 'EXPIRED' WHERE o.id = ch.id;
		RETURN ('REFUSED', 'WL027', 'OTP has expired. Please request a new one.',
			NULL, purpose, ch.method, NULL, 0)::pg_wallet.verification_result;
	END IF;
	IF code IS NULL OR octet_length(code) <> 6 OR code !~ '^[0-9]{6}$'
		OR NOT pg_wallet._ct_equal(pg_wallet._secret_hash(code, ch.code_salt), ch.code_hash) THEN
		UPDATE pg_wallet.otp_challenges o
		SET attempts = o.attempts + 1,
			status = CASE WHEN o.attempts + 1 >= o.max_attempts THEN 'EXHAUSTED' ELSE o.status END
		WHERE o.id = ch.id;
		RETURN ('REFUSED', 'WL026', 'invalid OTP code', NULL, purpose, ch.method, NULL,
			ch.max_attempts - ch.attempts - 1)::pg_wallet.verification_result;
	END IF;
	UPDATE pg_wallet.otp_challenges o SET status = 'VERIFIED', verified_at = t WHERE o.id = ch.id;
	IF purpose = 'email_verification' AND ch.channel = 'email' THEN
		UPDATE pg_wallet.principals x SET email_verified_at = t WHERE x.id = me.principal_id;
	ELSIF purpose = 'phone_verification' AND ch.channel IN ('sms', 'whatsapp') THEN
		UPDATE pg_wallet.principals x SET phone_verified_at = t WHERE x.id = me.principal_id;
	END IF;
	RETURN ('OK', NULL, 'verification successful',
		pg_wallet._issue_verification_token(me.principal_id, purpose, ch.method), purpose,
		ch.method, (pg_wallet._auth_config()).verification_ttl_s,
		NULL)::pg_wallet.verification_result;
END
$$;
COMMENT ON FUNCTION pg_wallet.verify_otp(text, text, text) IS
	'Cashier verify_otp: the code of the latest OTP for the purpose to a verification token '
	'(300 s, single use). REFUSED WL026 "invalid OTP code" (attempts_remaining), WL027 '
	'expired, attempts exhausted, or none pending. Purpose email_verification / '
	'phone_verification also marks the address verified.';

-- ---------------------------------------------------------------------------------------
-- TOTP (RFC 6238) two-factor authentication
-- ---------------------------------------------------------------------------------------

-- Check a TOTP code against a locked totp_secrets row: counts failures (blocking for
-- pg_wallet.lockout_s after otp_max_attempts in a row) and remembers the step used.
CREATE FUNCTION pg_wallet._totp_check(
	s pg_wallet.totp_secrets, p_code text,
	OUT outcome text, OUT attempts_remaining integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cfg pg_wallet.auth_config := pg_wallet._auth_config();
	t timestamptz := pg_wallet._auth_now();
	step bigint;
BEGIN
	IF s.blocked_until > t THEN
		outcome := 'BLOCKED';
		attempts_remaining := 0;
		RETURN;
	END IF;
	IF octet_length(p_code) = 6 THEN
		step := pg_wallet._totp_match(s.secret, p_code, s.last_step);
	END IF;
	IF step IS NULL THEN
		attempts_remaining := greatest(cfg.otp_max_attempts - s.failed_attempts - 1, 0);
		UPDATE pg_wallet.totp_secrets x
		SET failed_attempts = CASE WHEN attempts_remaining = 0 THEN 0
		                           ELSE x.failed_attempts + 1 END,
			blocked_until = CASE WHEN attempts_remaining = 0
			                     THEN t + make_interval(secs => cfg.lockout_s) END
		WHERE x.principal_id = s.principal_id;
		outcome := 'INVALID';
		RETURN;
	END IF;
	UPDATE pg_wallet.totp_secrets x
	SET last_step = step, failed_attempts = 0, blocked_until = NULL
	WHERE x.principal_id = s.principal_id;
	outcome := 'OK';
END
$$;
COMMENT ON FUNCTION pg_wallet._totp_check(pg_wallet.totp_secrets, text) IS
	'Internal: check a TOTP code (window +-1 step, each step once), counting failures.';

-- The caller's totp_secrets row, locked; NULL fields when there is none.
CREATE FUNCTION pg_wallet._totp_row(p_principal_id uuid)
RETURNS pg_wallet.totp_secrets
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.totp_secrets;
BEGIN
	SELECT * INTO s FROM pg_wallet.totp_secrets x WHERE x.principal_id = p_principal_id
	FOR UPDATE;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._totp_row(uuid) IS
	'Internal: the totp_secrets row of a principal, locked (all NULL when none).';

CREATE FUNCTION pg_wallet.verify_totp(token text, code text, purpose text)
RETURNS pg_wallet.verification_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	s pg_wallet.totp_secrets;
	r record;
BEGIN
	PERFORM pg_wallet._check_purpose(purpose);
	s := pg_wallet._totp_row(me.principal_id);
	IF s.confirmed_at IS NULL THEN
		RAISE EXCEPTION '2FA is not enabled for your account. Please use OTP verification instead.'
			USING ERRCODE = 'WL029';
	END IF;
	r := pg_wallet._totp_check(s, code);
	IF r.outcome = 'BLOCKED' THEN
		RETURN ('REFUSED', 'WL027', 'too many invalid TOTP codes. Please try again later.',
			NULL, purpose, 'totp', NULL, 0)::pg_wallet.verification_result;
	ELSIF r.outcome = 'INVALID' THEN
		RETURN ('REFUSED', 'WL026', 'invalid TOTP code', NULL, purpose, 'totp', NULL,
			r.attempts_remaining)::pg_wallet.verification_result;
	END IF;
	RETURN ('OK', NULL, 'verification successful',
		pg_wallet._issue_verification_token(me.principal_id, purpose, 'totp'), purpose, 'totp',
		(pg_wallet._auth_config()).verification_ttl_s, NULL)::pg_wallet.verification_result;
END
$$;
COMMENT ON FUNCTION pg_wallet.verify_totp(text, text, text) IS
	'Cashier verify_totp: a current TOTP code (6 digits, 30 s, +-1 step, each step once) to '
	'a verification token. WL029 "2FA is not enabled ..." without TOTP; REFUSED WL026 '
	'"invalid TOTP code", WL027 blocked after pg_wallet.otp_max_attempts wrong codes.';

CREATE FUNCTION pg_wallet.totp_enroll(token text)
RETURNS pg_wallet.totp_enrollment
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	p pg_wallet.principals := pg_wallet._principal_row(me.principal_id, true);
	s pg_wallet.totp_secrets := pg_wallet._totp_row(me.principal_id);
	v_secret bytea := pg_wallet._random_bytes(20);
BEGIN
	IF s.confirmed_at IS NOT NULL THEN
		RAISE EXCEPTION '2FA is already enabled' USING ERRCODE = 'WL034',
			HINT = 'Disable it with totp_disable() before enrolling a new secret.';
	END IF;
	INSERT INTO pg_wallet.totp_secrets (principal_id, secret, created_at)
	VALUES (p.id, v_secret, pg_wallet._auth_now())
	ON CONFLICT (principal_id) DO UPDATE
	SET secret = EXCLUDED.secret, confirmed_at = NULL, last_step = NULL, failed_attempts = 0,
		blocked_until = NULL, created_at = EXCLUDED.created_at;
	RETURN (pg_wallet.base32_encode(v_secret),
		pg_wallet._totp_uri(v_secret, (pg_wallet._auth_config()).totp_issuer,
		                    coalesce(p.email, p.username, p.id::text)),
		'SHA1', 6, 30)::pg_wallet.totp_enrollment;
END
$$;
COMMENT ON FUNCTION pg_wallet.totp_enroll(text) IS
	'Start TOTP enrolment: a new 160-bit secret (base32) and its otpauth:// URI; 2FA is '
	'enabled once totp_confirm() gets a valid code. WL034 when already enabled.';

CREATE FUNCTION pg_wallet.totp_confirm(token text, code text)
RETURNS pg_wallet.auth_outcome
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	s pg_wallet.totp_secrets := pg_wallet._totp_row(me.principal_id);
	r record;
BEGIN
	IF s.principal_id IS NULL THEN
		RAISE EXCEPTION 'no 2FA enrolment is pending' USING ERRCODE = 'WL029',
			HINT = 'Call totp_enroll() first.';
	END IF;
	IF s.confirmed_at IS NOT NULL THEN
		RAISE EXCEPTION '2FA is already enabled' USING ERRCODE = 'WL034';
	END IF;
	r := pg_wallet._totp_check(s, code);
	IF r.outcome = 'BLOCKED' THEN
		RETURN ('REFUSED', 'WL027', 'too many invalid TOTP codes. Please try again later.')
			::pg_wallet.auth_outcome;
	ELSIF r.outcome = 'INVALID' THEN
		RETURN ('REFUSED', 'WL026', 'invalid TOTP code')::pg_wallet.auth_outcome;
	END IF;
	UPDATE pg_wallet.totp_secrets x SET confirmed_at = pg_wallet._auth_now()
	WHERE x.principal_id = me.principal_id;
	RETURN ('OK', NULL, '2FA enabled')::pg_wallet.auth_outcome;
END
$$;
COMMENT ON FUNCTION pg_wallet.totp_confirm(text, text) IS
	'Finish TOTP enrolment with a code from the authenticator: enables 2FA. REFUSED WL026 '
	'invalid code, WL027 blocked; WL029 nothing pending, WL034 already enabled.';

CREATE FUNCTION pg_wallet.totp_disable(token text, code text)
RETURNS pg_wallet.auth_outcome
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	s pg_wallet.totp_secrets := pg_wallet._totp_row(me.principal_id);
	r record;
BEGIN
	IF s.confirmed_at IS NULL THEN
		RAISE EXCEPTION '2FA is not enabled for your account. Please use OTP verification instead.'
			USING ERRCODE = 'WL029';
	END IF;
	r := pg_wallet._totp_check(s, code);
	IF r.outcome = 'BLOCKED' THEN
		RETURN ('REFUSED', 'WL027', 'too many invalid TOTP codes. Please try again later.')
			::pg_wallet.auth_outcome;
	ELSIF r.outcome = 'INVALID' THEN
		RETURN ('REFUSED', 'WL026', 'invalid TOTP code')::pg_wallet.auth_outcome;
	END IF;
	DELETE FROM pg_wallet.totp_secrets x WHERE x.principal_id = me.principal_id;
	RETURN ('OK', NULL, '2FA disabled')::pg_wallet.auth_outcome;
END
$$;
COMMENT ON FUNCTION pg_wallet.totp_disable(text, text) IS
	'Turn TOTP off; needs a current code. REFUSED WL026/WL027; WL029 when not enabled.';

-- ---------------------------------------------------------------------------------------
-- Verification tokens, consumed by sensitive operations
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet.consume_verification_token(
	principal_id uuid,
	purpose text,
	verification_token text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := pg_wallet._auth_now();
	v pg_wallet.verification_tokens;
	problem text;
BEGIN
	IF verification_token IS NULL OR btrim(verification_token) = '' THEN
		RAISE EXCEPTION 'verification_token is required. Please complete verification first.'
			USING ERRCODE = 'WL033';
	END IF;
	IF octet_length(verification_token) <> 46
		OR verification_token !~ '^vt_[A-Za-z0-9_-]{43}$' THEN
		problem := 'The token is malformed.';
	ELSE
		SELECT * INTO v FROM pg_wallet.verification_tokens x
		WHERE x.token_hash = pg_wallet._secret_hash(verification_token)
		FOR UPDATE;
		problem := CASE
			WHEN v.token_hash IS NULL THEN 'No such token.'
			WHEN v.principal_id IS DISTINCT FROM consume_verification_token.principal_id
				THEN 'The token was issued to another principal.'
			WHEN v.purpose IS DISTINCT FROM consume_verification_token.purpose
				THEN 'The token was issued for another purpose.'
			WHEN v.used_at IS NOT NULL THEN 'The token was already used.'
			WHEN v.expires_at <= t THEN 'The token has expired.'
		END;
	END IF;
	IF problem IS NOT NULL THEN
		RAISE EXCEPTION 'invalid or expired verification token. Please verify again.'
			USING ERRCODE = 'WL028', DETAIL = problem;
	END IF;
	UPDATE pg_wallet.verification_tokens x SET used_at = t WHERE x.token_hash = v.token_hash;
	RETURN v.method;
END
$$;
COMMENT ON FUNCTION pg_wallet.consume_verification_token(uuid, text, text) IS
	'Use up a verification token in the caller''s transaction (a withdrawal calls it): WL033 '
	'"verification_token is required. Please complete verification first." when missing, '
	'WL028 "invalid or expired verification token. Please verify again." when unknown, '
	'expired, used, or bound to another principal or purpose. Returns the method that '
	'verified (otp_email, otp_sms, otp_whatsapp, totp).';

CREATE FUNCTION pg_wallet.test_otp_code(principal_id uuid, purpose text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet._require_test_hooks();
	RETURN (SELECT n.payload ->> 'code' FROM pg_wallet.notification_outbox n
	        WHERE n.principal_id = test_otp_code.principal_id AND n.template = 'otp_code'
	          AND n.payload ->> 'purpose' = test_otp_code.purpose
	        ORDER BY n.id DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION pg_wallet.test_otp_code(uuid, text) IS
	'Test hook: the last OTP code sent to a principal for a purpose. Raises 42501 unless a '
	'superuser set pg_wallet.enable_test_hooks = on; never grant it.';
-- KYC: status and tier per principal (PENDING, SUBMITTED, APPROVED, REJECTED; tier 0-3),
-- document submissions (a storage reference and a SHA-256, never the bytes), admin review,
-- and the tier's limits (pg_wallet.kyc_tier_limits, enforced by the posting rules).
-- jsonb answers use the Tribble spec's field names (/auth/kyc-status, /auth/submit-kyc,
-- /admin/.../approve|reject).

-- A timestamp as the specs show it: 2025-11-10T10:30:00Z.
CREATE FUNCTION pg_wallet._iso_time(ts timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;
COMMENT ON FUNCTION pg_wallet._iso_time(timestamptz) IS
	'Internal: a timestamp in ISO 8601 UTC with a Z (2025-11-10T10:30:00Z).';

CREATE FUNCTION pg_wallet.kyc_status_of(principal_id uuid, currency text DEFAULT 'KES')
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._principal_row(principal_id);
	docs jsonb;
	limits jsonb;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c WHERE c.code = currency) THEN
		RAISE EXCEPTION 'unknown currency "%"', left(currency, 10) USING ERRCODE = 'WL015';
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_object(
			'documentId', d.id, 'documentType', d.document_type, 'status', d.status,
			'uploadedAt', pg_wallet._iso_time(d.uploaded_at),
			'verifiedAt', pg_wallet._iso_time(d.verified_at),
			'rejectedAt', pg_wallet._iso_time(d.rejected_at)) ORDER BY d.id), '[]')
	INTO docs
	FROM (SELECT * FROM pg_wallet.kyc_documents x WHERE x.principal_id = p.id
	      ORDER BY x.id DESC LIMIT 50) d;
	SELECT jsonb_build_object('currency', l.currency,
			'perTransactionLimit', pg_wallet.amount_format(l.per_transaction_max_minor, l.currency),
			'dailyLimit', pg_wallet.amount_format(l.daily_max_minor, l.currency),
			'monthlyLimit', pg_wallet.amount_format(l.monthly_max_minor, l.currency),
			'transactionsPerDay', l.transactions_per_day)
	INTO limits
	FROM pg_wallet.kyc_tier_limits l
	WHERE l.tier = p.kyc_tier AND l.currency = kyc_status_of.currency;
	RETURN jsonb_strip_nulls(jsonb_build_object(
		'userId', p.id, 'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier,
		'submittedAt', pg_wallet._iso_time(p.kyc_submitted_at),
		'approvedAt', pg_wallet._iso_time(p.kyc_approved_at),
		'rejectedAt', pg_wallet._iso_time(p.kyc_rejected_at),
		'rejectionReason', p.kyc_rejection_reason,
		'rejectionMessage', p.kyc_rejection_message,
		'documents', docs, 'limits', limits));
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_status_of(uuid, text) IS
	'Operator: the KYC status of a principal as /auth/kyc-status shows it: kycStatus, kycTier, '
	'times, documents (the last 50), and the tier''s limits in a currency (from '
	'kyc_tier_limits; absent when none is defined).';

CREATE FUNCTION pg_wallet.kyc_status(token text, currency text DEFAULT 'KES')
RETURNS jsonb
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet.kyc_status_of((pg_wallet.authenticate(token)).principal_id, currency)
$$;
COMMENT ON FUNCTION pg_wallet.kyc_status(text, text) IS
	'Tribble GET /auth/kyc-status: the caller''s KYC status, documents and tier limits.';

CREATE FUNCTION pg_wallet.kyc_submit_document(
	token text,
	document_type text,
	reference text,
	sha256 text,
	ocr jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal :=
		pg_wallet.authenticate(token, ARRAY['user', 'merchant', 'client']);
	t timestamptz := pg_wallet._auth_now();
	p pg_wallet.principals := pg_wallet._principal_row(me.principal_id, true);
	digest bytea;
	doc pg_wallet.kyc_documents;
	replayed boolean := false;
BEGIN
	IF document_type IS NULL OR document_type NOT IN ('national_id', 'passport',
		'drivers_license', 'proof_of_address', 'selfie', 'business_registration',
		'tax_certificate', 'bank_statement', 'other') THEN
		RAISE EXCEPTION 'document type is not valid' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use national_id, passport, drivers_license, proof_of_address, selfie, '
			       'business_registration, tax_certificate, bank_statement or other.';
	END IF;
	IF reference IS NULL OR length(reference) NOT BETWEEN 1 AND 500 OR reference ~ '[[:cntrl:]]'
	THEN
		RAISE EXCEPTION 'document reference must be 1 to 500 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF sha256 IS NULL OR sha256 !~ '^[0-9a-fA-F]{64}$' THEN
		RAISE EXCEPTION 'sha256 must be 64 hexadecimal digits'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ocr IS NULL OR jsonb_typeof(ocr) <> 'object' OR octet_length(ocr::text) > 4096 THEN
		RAISE EXCEPTION 'ocr must be a JSON object of at most 4096 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	digest := decode(lower(sha256), 'hex');
	SELECT * INTO doc FROM pg_wallet.kyc_documents d
	WHERE d.principal_id = p.id AND d.sha256 = digest AND d.status = 'PENDING_REVIEW';
	IF FOUND THEN
		replayed := true;	-- the same document again while it waits: one submission
	ELSE
		IF (SELECT count(*) FROM pg_wallet.kyc_documents d WHERE d.principal_id = p.id) >= 50 THEN
			RAISE EXCEPTION 'at most 50 KYC documents can be submitted'
				USING ERRCODE = 'program_limit_exceeded';
		END IF;
		INSERT INTO pg_wallet.kyc_documents (principal_id, document_type, reference, sha256,
			ocr, uploaded_at)
		VALUES (p.id, document_type, reference, digest, ocr, t)
		RETURNING * INTO doc;
		UPDATE pg_wallet.principals x
		SET kyc_status = CASE WHEN x.kyc_status = 'APPROVED' THEN 'APPROVED' ELSE 'SUBMITTED' END,
			kyc_submitted_at = t, updated_at = now()
		WHERE x.id = p.id;
	END IF;
	RETURN jsonb_build_object(
		'submissionId', 'kyc-submission-' || doc.id,
		'documentId', doc.id,
		'documentType', doc.document_type,
		'status', 'SUBMITTED',
		'documentsSubmitted', (SELECT count(*) FROM pg_wallet.kyc_documents d
		                       WHERE d.principal_id = p.id AND d.status = 'PENDING_REVIEW'),
		'estimatedReviewTime', '2-3 days',
		'replayed', replayed,
		'message', 'KYC documents submitted successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_submit_document(text, text, text, text, jsonb) IS
	'Tribble POST /auth/submit-kyc: record a document (type, storage reference, SHA-256 hex, '
	'OCR fields) for review; KYC status becomes SUBMITTED (an APPROVED principal stays '
	'APPROVED while an upgrade is reviewed). The same pending document again is one '
	'submission (replayed). Roles user, merchant, client.';

CREATE FUNCTION pg_wallet.kyc_review(
	token text,
	principal_id uuid,
	decision text,
	tier integer DEFAULT NULL,
	reason text DEFAULT NULL,
	message text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	admin pg_wallet.auth_principal := pg_wallet.authenticate(token, ARRAY['admin']);
	t timestamptz := pg_wallet._auth_now();
	p pg_wallet.principals := pg_wallet._principal_row(principal_id, true);
	pending integer;
BEGIN
	IF decision IS NULL OR upper(decision) NOT IN ('APPROVE', 'REJECT') THEN
		RAISE EXCEPTION 'decision must be APPROVE or REJECT'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF admin.principal_id = p.id THEN
		RAISE EXCEPTION 'forbidden: an administrator cannot review their own KYC'
			USING ERRCODE = 'WL031';
	END IF;
	SELECT count(*) INTO pending FROM pg_wallet.kyc_documents d
	WHERE d.principal_id = p.id AND d.status = 'PENDING_REVIEW';
	IF pending = 0 THEN
		RAISE EXCEPTION 'no KYC documents of principal % are awaiting review', p.id
			USING ERRCODE = 'WL032';
	END IF;
	IF upper(decision) = 'APPROVE' THEN
		IF tier IS NULL OR tier NOT BETWEEN 1 AND 3 THEN
			RAISE EXCEPTION 'an approval needs a tier of 1, 2 or 3' USING ERRCODE = 'WL032';
		END IF;
		UPDATE pg_wallet.kyc_documents d SET status = 'VERIFIED', verified_at = t
		WHERE d.principal_id = p.id AND d.status = 'PENDING_REVIEW';
		UPDATE pg_wallet.principals x
		SET kyc_status = 'APPROVED', kyc_tier = tier, kyc_approved_at = t,
			kyc_rejected_at = NULL, kyc_rejection_reason = NULL, kyc_rejection_message = NULL,
			updated_at = now()
		WHERE x.id = p.id
		RETURNING * INTO p;
	ELSE
		IF reason IS NULL OR reason !~ '^[a-z][a-z0-9_]{1,99}$' THEN
			RAISE EXCEPTION 'a rejection needs a reason code such as invalid_documents'
				USING ERRCODE = 'WL032';
		END IF;
		IF length(message) > 500 THEN
			RAISE EXCEPTION 'message is longer than 500 characters'
				USING ERRCODE = 'string_data_right_truncation';
		END IF;
		UPDATE pg_wallet.kyc_documents d SET status = 'REJECTED', rejected_at = t
		WHERE d.principal_id = p.id AND d.status = 'PENDING_REVIEW';
		-- refusing an upgrade leaves an earlier approval (and its tier) in place
		UPDATE pg_wallet.principals x
		SET kyc_status = CASE WHEN x.kyc_status = 'APPROVED' THEN 'APPROVED' ELSE 'REJECTED' END,
			kyc_rejected_at = t, kyc_rejection_reason = reason,
			kyc_rejection_message = message, updated_at = now()
		WHERE x.id = p.id
		RETURNING * INTO p;
	END IF;
	INSERT INTO pg_wallet.kyc_reviews (principal_id, reviewer_id, decision, tier, reason, message)
	VALUES (p.id, admin.principal_id, upper(decision), p.kyc_tier, reason, message);
	RETURN jsonb_strip_nulls(jsonb_build_object(
		'userId', p.id, 'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier,
		'approvedAt', CASE WHEN upper(decision) = 'APPROVE' THEN pg_wallet._iso_time(t) END,
		'rejectedAt', CASE WHEN upper(decision) = 'REJECT' THEN pg_wallet._iso_time(t) END,
		'rejectionReason', CASE WHEN upper(decision) = 'REJECT' THEN reason END,
		'rejectionMessage', CASE WHEN upper(decision) = 'REJECT' THEN message END,
		'documentsReviewed', pending,
		'message', CASE WHEN upper(decision) = 'APPROVE' THEN 'KYC approved successfully'
		                ELSE 'KYC rejected. The user can resubmit.' END));
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_review(text, uuid, text, integer, text, text) IS
	'Admin (role admin): APPROVE with a tier 1-3 (documents VERIFIED, status APPROVED) or '
	'REJECT with a reason code and message (documents REJECTED; status REJECTED unless '
	'already APPROVED). WL032 when nothing awaits review; WL031 on one''s own KYC. Audited '
	'in kyc_reviews.';

CREATE FUNCTION pg_wallet.kyc_pending_reviews(
	token text,
	page_size integer DEFAULT 20,
	after_document_id bigint DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet.authenticate(token, ARRAY['admin']);
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'page_size must be between 1 and 100'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
			'documentId', d.id, 'userId', d.principal_id, 'role', p.role,
			'documentType', d.document_type, 'status', d.status,
			'uploadedAt', pg_wallet._iso_time(d.uploaded_at)) ORDER BY d.id), '[]')
		FROM (SELECT * FROM pg_wallet.kyc_documents x
		      WHERE x.status = 'PENDING_REVIEW' AND x.id > coalesce(after_document_id, 0)
		      ORDER BY x.id LIMIT page_size) d
		JOIN pg_wallet.principals p ON p.id = d.principal_id);
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_pending_reviews(text, integer, bigint) IS
	'Admin (role admin): documents awaiting review, oldest first, one page at a time (pass '
	'the last documentId seen).';
-- API layer: the Wallet-as-a-Service profile (wallet-as-a-service-api.md), served by
-- pg_wallet_bridge at /waas/api/v1. One function per endpoint:
--   pg_wallet.api_waas_<op>(token text, args jsonb) RETURNS jsonb
-- args is the bridge's envelope {"request_id", "path": {"id"}, "query": {...}, "body": {...}}.
-- Each function authenticates the token first (login takes credentials in the body), checks
-- that everything it touches belongs to the caller's tenant, then calls the core. Errors are
-- raised with the core's SQLSTATEs; field validation is RETURNED as
-- {"error": {"code": "22023", "message", "details": [{"field", "message"}]}}, which the bridge
-- maps like a raised error. Amounts are shown with four decimals, as the spec does.
--
-- Tenancy: a WaaS principal (role client) is a tenant. The clients it registers are ledger
-- owners of kind client whose metadata carries waas.tenant_owner_id = the principal's
-- owner; their accounts and client services are the tenant's. Another tenant's client,
-- account, service or transaction is "not found" (no existence leak). Role admin sees all.

CREATE SEQUENCE pg_wallet.waas_account_number_seq START 10000001;
COMMENT ON SEQUENCE pg_wallet.waas_account_number_seq IS
	'Account numbers of accounts opened through the WaaS API (10000001, ...).';

-- Four decimals, as the spec shows amounts ("96.0000").
CREATE FUNCTION pg_wallet._waas_amount(amount numeric)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT round(amount, 4)::text $$;
COMMENT ON FUNCTION pg_wallet._waas_amount(numeric) IS
	'Internal: an amount with four decimals as the WaaS API shows it.';

CREATE FUNCTION pg_wallet._waas_time(t timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
COMMENT ON FUNCTION pg_wallet._waas_time(timestamptz) IS 'Internal: ISO 8601 UTC time.';

-- Validate body fields against a spec {"field": "type"} with types string, number, boolean,
-- object, date, flag (0 or 1); names in required must be present and non-null.
-- Returns the error jsonb, or NULL when the body is valid.
CREATE FUNCTION pg_wallet._waas_validate(body jsonb, spec jsonb, required text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	details jsonb := '[]';
	k text;
	t text;
	v jsonb;
	ok boolean;
BEGIN
	IF body IS NULL OR jsonb_typeof(body) <> 'object' THEN
		RETURN jsonb_build_object('error', jsonb_build_object('code', '22023',
			'message', 'the body must be a JSON object'));
	END IF;
	FOR k, t IN SELECT key, value #>> '{}' FROM jsonb_each(spec) LOOP
		v := body -> k;
		IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
			IF k = ANY (required) THEN
				details := details || jsonb_build_object('field', k, 'message', k || ' is required');
			END IF;
			CONTINUE;
		END IF;
		ok := CASE t
			WHEN 'string' THEN jsonb_typeof(v) = 'string' AND length(v #>> '{}') BETWEEN 1 AND 200
			WHEN 'number' THEN jsonb_typeof(v) = 'number'
				OR (jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^-?[0-9]{1,18}(\.[0-9]{1,18})?$')
			WHEN 'boolean' THEN jsonb_typeof(v) = 'boolean'
			WHEN 'object' THEN jsonb_typeof(v) = 'object' AND octet_length(v::text) <= 4096
			WHEN 'flag' THEN v IN ('0'::jsonb, '1'::jsonb, 'true'::jsonb, 'false'::jsonb)
			WHEN 'date' THEN jsonb_typeof(v) = 'string'
				AND (v #>> '{}') ~ ('^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?'
				                    '(Z|[+-]\d{2}(:?\d{2})?)?)?$')
			ELSE false END;
		IF NOT ok THEN
			details := details || jsonb_build_object('field', k,
				'message', format('%s must be a %s', k, CASE t WHEN 'flag' THEN '0 or 1'
					WHEN 'date' THEN 'ISO 8601 date' WHEN 'string' THEN 'string of 1 to 200 characters'
					ELSE t END));
		END IF;
	END LOOP;
	IF jsonb_array_length(details) = 0 THEN
		RETURN NULL;
	END IF;
	RETURN jsonb_build_object('error', jsonb_build_object('code', '22023',
		'message', details -> 0 ->> 'message', 'details', details));
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_validate(jsonb, jsonb, text[]) IS
	'Internal: WaaS request validation; NULL or an error object listing every bad field.';

-- A token issued for another API profile (its aud) is refused: a Sellapay or Tribble token
-- is not a WaaS token. authenticate() checks the audience (WL023), then the role (WL031).
CREATE FUNCTION pg_wallet._api_caller(token text, profile text, roles text[])
RETURNS pg_wallet.auth_principal
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_wallet.authenticate(token, roles, profile) $$;
COMMENT ON FUNCTION pg_wallet._api_caller(text, text, text[]) IS
	'Internal: authenticate() for one API profile: the token''s audience must be that '
	'profile (WL023 otherwise, checked before the role: WL031).';

-- The caller: a WaaS principal (client) or an admin.
CREATE FUNCTION pg_wallet._waas_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_wallet._api_caller(token, 'waas', ARRAY['client', 'admin']) $$;
COMMENT ON FUNCTION pg_wallet._waas_me(text) IS
	'Internal: authenticate a WaaS caller (roles client, admin; a waas token).';

-- A client owner of the caller's tenant, by client code; WL018 otherwise.
CREATE FUNCTION pg_wallet._waas_client(me pg_wallet.auth_principal, client_code text)
RETURNS pg_wallet.owners
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o pg_wallet.owners;
BEGIN
	SELECT * INTO o FROM pg_wallet.owners x
	WHERE x.external_ref = 'waas:' || left(client_code, 40) AND x.kind = 'client'
		AND (me.role = 'admin'
		     OR (x.metadata #>> '{waas,tenant_owner_id}')::bigint = me.owner_id);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'client % not found', left(client_code, 40) USING ERRCODE = 'WL018';
	END IF;
	RETURN o;
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_client(pg_wallet.auth_principal, text) IS
	'Internal: a client of the caller''s tenant by client code, or WL018.';

-- Whether an owner belongs to the caller's tenant.
CREATE FUNCTION pg_wallet._waas_owns(me pg_wallet.auth_principal, owner_id bigint)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT me.role = 'admin' OR EXISTS (
		SELECT 1 FROM pg_wallet.owners o
		WHERE o.id = owner_id AND o.kind = 'client'
			AND (o.metadata #>> '{waas,tenant_owner_id}')::bigint = me.owner_id)
$$;
COMMENT ON FUNCTION pg_wallet._waas_owns(pg_wallet.auth_principal, bigint) IS
	'Internal: true when the owner is a client of the caller''s tenant.';

-- An account of the caller's tenant; WL005 otherwise (another tenant's is "not found").
CREATE FUNCTION pg_wallet._waas_account(me pg_wallet.auth_principal, account_number text)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.account_info;
BEGIN
	BEGIN
		a := pg_wallet.get_account(account_number);
	EXCEPTION WHEN SQLSTATE 'WL005' THEN
		a := NULL;
	END;
	IF a.account_id IS NULL OR NOT pg_wallet._waas_owns(me, a.owner_id) THEN
		RAISE EXCEPTION 'account % does not exist', left(account_number, 64)
			USING ERRCODE = 'WL005';
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_account(pg_wallet.auth_principal, text) IS
	'Internal: an account of the caller''s tenant, or WL005.';

-- A client service of the caller's tenant (its JSON); WL040 otherwise.
CREATE FUNCTION pg_wallet._waas_service(me pg_wallet.auth_principal, code text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s jsonb := pg_wallet.get_client_service(code);
BEGIN
	IF NOT pg_wallet._waas_owns(me, (s ->> 'client_owner_id')::bigint) THEN
		RAISE EXCEPTION 'client service % does not exist', left(code, 40) USING ERRCODE = 'WL040';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_service(pg_wallet.auth_principal, text) IS
	'Internal: a client service of the caller''s tenant, or WL040.';

-- The tenant's settlement account in a currency: where CREDIT money comes from and DEBIT
-- money goes to (the other party). Made on first use.
CREATE FUNCTION pg_wallet._waas_settlement(client_owner_id bigint, currency text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	num text := format('WAAS-SETTLE-%s-%s', client_owner_id, upper(currency));
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.account_number = num) THEN
		PERFORM pg_wallet.create_account(client_owner_id, upper(currency), 'SETTLEMENT', num,
			0, true, 'DEFERRED', 'WaaS settlement ' || upper(currency));
	END IF;
	RETURN num;
EXCEPTION WHEN unique_violation THEN
	RETURN num;				-- made by a concurrent first use
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_settlement(bigint, text) IS
	'Internal: the client''s settlement account in a currency (the other party of CREDIT '
	'and DEBIT), created on first use.';

-- One side of a posted journal as the spec shows a transaction.
CREATE FUNCTION pg_wallet._waas_txn(
	journal jsonb, account_number text, other_account text, txn_type text, meta jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	net numeric := 0;
	cur numeric;
	currency text;
	e jsonb;
BEGIN
	FOR e IN SELECT x FROM jsonb_array_elements(journal -> 'entries') x
		WHERE x ->> 'account_number' = account_number ORDER BY (x ->> 'leg')::int
	LOOP
		net := net + CASE e ->> 'side' WHEN 'CR' THEN 1 ELSE -1 END * (e ->> 'amount')::numeric;
		cur := (e ->> 'balance_after')::numeric;
		currency := e ->> 'currency';
	END LOOP;
	IF cur IS NULL THEN			-- a DEFERRED account: balance now
		cur := (pg_wallet.get_balance(account_number)).balance;
	END IF;
	RETURN jsonb_build_object(
		'transaction_id', (journal #>> '{journal,id}'),
		'account', account_number,
		'client_service', meta ->> 'client_service_code',
		'transaction_type', txn_type,
		'currency', currency,
		'transaction_amount', pg_wallet._waas_amount(abs(net)),
		'previous_balance', pg_wallet._waas_amount(cur - net),
		'current_balance', pg_wallet._waas_amount(cur),
		'other_party_account', other_account,
		'other_party_transaction_hash', 'N/A',
		'transaction_source', meta ->> 'transaction_source',
		'source_transaction_id', meta ->> 'source_transaction_id',
		'source_transaction_data', coalesce(meta -> 'source_transaction_data', '{}'),
		'transaction_narration', meta ->> 'transaction_narration',
		'transaction_date', pg_wallet._waas_time((journal #>> '{journal,created_at}')::timestamptz),
		'receipt_code', journal #>> '{journal,receipt_code}');
END
$$;
COMMENT ON FUNCTION pg_wallet._waas_txn(jsonb, text, text, text, jsonb) IS
	'Internal: one account''s side of a journal in the WaaS transaction shape (net amount, '
	'previous and current balance, other party).';

-- ---------------------------------------------------------------------------------------
-- Endpoints
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet.api_waas_login(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b,
		'{"username": "string", "password": "string"}', ARRAY['username', 'password']);
	r pg_wallet.login_result;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	r := pg_wallet.login_client(b ->> 'username', b ->> 'password', 'waas');
	IF r.status <> 'OK' THEN
		-- returned, not raised: the failed-login count must be kept
		RETURN jsonb_build_object('error', jsonb_strip_nulls(jsonb_build_object(
			'code', r.sqlstate, 'message', r.message, 'retry_after', r.retry_after_s)));
	END IF;
	RETURN jsonb_build_object('access_token', r.access_token, 'token_type', r.token_type,
		'expires_in', r.expires_in, 'refresh_token', r.refresh_token);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_login(text, jsonb) IS
	'WaaS POST /auth/login: {username, password} to {access_token, token_type, expires_in, '
	'refresh_token}; refusals returned as {"error": {"code": "WL020"|"WL021", ...}}.';

CREATE FUNCTION pg_wallet.api_waas_create_client(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b, '{"client_name": "string", "client_email": "string",
		"client_phone_number": "string", "contact_person_name": "string",
		"contact_person_email": "string", "contact_person_msisdn": "string",
		"business_pin": "string", "physical_address": "string", "country": "string",
		"logo": "string", "description": "string", "is_active": "flag"}',
		ARRAY['client_name', 'client_email', 'client_phone_number', 'contact_person_name',
		      'contact_person_email', 'contact_person_msisdn', 'business_pin', 'country',
		      'is_active']);
	code text;
	profile jsonb;
	owner_id bigint;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF (b ->> 'client_email') !~ '^[^@\s]+@[^@\s]+$' THEN
		RETURN jsonb_build_object('error', jsonb_build_object('code', '22023',
			'message', 'client_email must be an email address',
			'details', jsonb_build_array(jsonb_build_object('field', 'client_email',
				'message', 'client_email must be an email address'))));
	END IF;
	code := upper(left(regexp_replace(b ->> 'client_name', '[^A-Za-z]', '', 'g') || 'CLI', 3))
		|| upper(left(pg_wallet.base32_encode(pg_wallet._random_bytes(5)), 7));
	profile := jsonb_strip_nulls(jsonb_build_object(
		'client_name', b ->> 'client_name', 'client_email', b ->> 'client_email',
		'client_phone_number', b ->> 'client_phone_number',
		'contact_person_name', b ->> 'contact_person_name',
		'contact_person_email', b ->> 'contact_person_email',
		'contact_person_msisdn', b ->> 'contact_person_msisdn',
		'business_pin', b ->> 'business_pin', 'physical_address', b ->> 'physical_address',
		'country', b ->> 'country', 'logo', b ->> 'logo', 'description', b ->> 'description',
		'is_active', CASE WHEN b -> 'is_active' IN ('1', 'true') THEN 1 ELSE 0 END,
		'client_code', code));
	owner_id := pg_wallet.create_owner('client', b ->> 'client_name', 'waas:' || code,
		jsonb_build_object('waas', profile || jsonb_build_object('tenant_owner_id', me.owner_id)));
	RETURN jsonb_build_object('client_id', owner_id::text) || profile;
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_create_client(text, jsonb) IS
	'WaaS POST /clients: register a client of the caller''s tenant; returns the profile with '
	'client_id and a unique client_code.';

CREATE FUNCTION pg_wallet.api_waas_create_account(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b, '{"client_code": "string",
		"account_type_code": "string", "account_name": "string", "currency": "string",
		"minimum_balance": "number", "can_overdraw": "boolean", "status": "string",
		"status_description": "string"}',
		ARRAY['client_code', 'account_type_code', 'account_name', 'currency',
		      'minimum_balance', 'status']);
	client pg_wallet.owners;
	a pg_wallet.account_info;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF (b ->> 'status') NOT IN ('ACTIVE', 'INACTIVE') THEN
		RAISE EXCEPTION 'status must be ACTIVE or INACTIVE' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (b ->> 'account_type_code') IN ('FEE_INCOME', 'FX_POSITION', 'SUSPENSE', 'SETTLEMENT')
		OR NOT EXISTS (SELECT 1 FROM pg_wallet.account_purposes p
		               WHERE p.code = b ->> 'account_type_code') THEN
		RAISE EXCEPTION 'account_type_code "%" is not valid', left(b ->> 'account_type_code', 40)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use FLOAT_ACCOUNT, AVAILABLE_COLLECTIONS, HYBRID_ACCOUNT, '
			             'ACQUIRER_RESERVE, ROLLING_RESERVE, COMMISSION_ACCOUNT or '
			             'COMMISSION_TAX_ACCOUNT.';
	END IF;
	client := pg_wallet._waas_client(me, b ->> 'client_code');
	a := pg_wallet.create_account(client.id, upper(b ->> 'currency'), b ->> 'account_type_code',
		nextval('pg_wallet.waas_account_number_seq')::text,
		(b ->> 'minimum_balance')::numeric, coalesce((b ->> 'can_overdraw')::boolean, false),
		'DIRECT', b ->> 'account_name',
		jsonb_strip_nulls(jsonb_build_object('status_description', b ->> 'status_description')));
	IF b ->> 'status' = 'INACTIVE' THEN
		a := pg_wallet.set_account_status(a.account_number, 'INACTIVE', b ->> 'status_description');
	END IF;
	RETURN jsonb_build_object(
		'account_id', a.account_id::text, 'account_number', a.account_number,
		'account_name', a.name, 'client_code', b ->> 'client_code',
		'account_type_code', a.purpose, 'currency', a.currency,
		'minimum_balance', pg_wallet._waas_amount(a.minimum_balance),
		'can_overdraw', a.can_overdraw, 'status', a.status,
		'status_description', b ->> 'status_description',
		'created_at', pg_wallet._waas_time(a.created_at),
		'updated_at', pg_wallet._waas_time(a.updated_at));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_create_account(text, jsonb) IS
	'WaaS POST /accounts: open an account (wallet) for a client of the caller''s tenant.';

CREATE FUNCTION pg_wallet.api_waas_create_client_service(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b, '{"client_code": "string",
		"client_service_name": "string", "service_code": "string",
		"has_transaction_fee": "boolean", "transaction_fee_type": "string",
		"transaction_fee": "number", "minimum_transaction_amount": "number",
		"maximum_transaction_amount": "number", "is_active": "flag"}',
		ARRAY['client_code', 'client_service_name', 'service_code', 'has_transaction_fee',
		      'minimum_transaction_amount', 'maximum_transaction_amount', 'is_active']);
	client pg_wallet.owners;
	has_fee boolean := (b ->> 'has_transaction_fee')::boolean;
	s jsonb;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF has_fee AND coalesce(b ->> 'transaction_fee_type', '') NOT IN ('FIXED', 'PERCENTAGE') THEN
		RAISE EXCEPTION 'transaction_fee_type must be FIXED or PERCENTAGE when '
			'has_transaction_fee is true' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	client := pg_wallet._waas_client(me, b ->> 'client_code');
	s := pg_wallet.create_client_service(client.id, b ->> 'client_service_name',
		b ->> 'service_code', (b ->> 'minimum_transaction_amount')::numeric,
		(b ->> 'maximum_transaction_amount')::numeric, true, true,
		CASE WHEN has_fee THEN b ->> 'transaction_fee_type' END,
		CASE WHEN has_fee THEN coalesce((b ->> 'transaction_fee')::numeric, 0) ELSE 0 END);
	IF b -> 'is_active' IN ('0', 'false') THEN
		s := pg_wallet.set_client_service_active(s ->> 'client_service_code', false);
	END IF;
	RETURN jsonb_build_object('client_service_id', s ->> 'client_service_id',
		'client_service_code', s ->> 'client_service_code', 'client_code', b ->> 'client_code',
		'client_service_name', s ->> 'client_service_name', 'service_code', s ->> 'service_code',
		'has_transaction_fee', has_fee,
		'transaction_fee_type', s ->> 'transaction_fee_type',
		'transaction_fee', coalesce(s -> 'transaction_fee', '0'),
		'minimum_transaction_amount', s -> 'minimum_transaction_amount',
		'maximum_transaction_amount', s -> 'maximum_transaction_amount',
		'is_active', CASE WHEN (s ->> 'is_active')::boolean THEN 1 ELSE 0 END);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_create_client_service(text, jsonb) IS
	'WaaS POST /client-services: a client service (limits, optional FIXED or PERCENTAGE fee).';

-- The transaction metadata kept on the journal and echoed back.
CREATE FUNCTION pg_wallet._waas_meta(b jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'client_service_code', b ->> 'client_service_code',
		'transaction_source', b ->> 'transaction_source',
		'source_transaction_id', b ->> 'source_transaction_id',
		'source_transaction_data', b -> 'source_transaction_data',
		'transaction_narration', b ->> 'transaction_narration',
		'transaction_date', b ->> 'transaction_date'))
$$;
COMMENT ON FUNCTION pg_wallet._waas_meta(jsonb) IS 'Internal: WaaS fields kept on a journal.';

CREATE FUNCTION pg_wallet.api_waas_transaction(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	command text := upper(args #>> '{query,command}');
	err jsonb := pg_wallet._waas_validate(b, '{"account_number": "string",
		"client_service_code": "string", "transaction_source": "string",
		"transaction_amount": "number", "source_transaction_id": "string",
		"source_transaction_data": "object", "transaction_narration": "string",
		"transaction_date": "date"}',
		ARRAY['account_number', 'client_service_code', 'transaction_source',
		      'transaction_amount', 'source_transaction_id', 'transaction_date']);
	a pg_wallet.account_info;
	other text;
	meta jsonb;
	r pg_wallet.journal_result;
BEGIN
	IF command IS NULL OR command NOT IN ('CREDIT', 'DEBIT') THEN
		RAISE EXCEPTION 'command must be CREDIT or DEBIT' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	a := pg_wallet._waas_account(me, b ->> 'account_number');
	PERFORM pg_wallet._waas_service(me, b ->> 'client_service_code');
	other := pg_wallet._waas_settlement(a.owner_id, a.currency);
	meta := pg_wallet._waas_meta(b);
	IF command = 'CREDIT' THEN
		r := pg_wallet.credit(a.account_number, (b ->> 'transaction_amount')::numeric, other,
			format('waas:%s:%s', me.owner_id, b ->> 'source_transaction_id'),
			b ->> 'transaction_narration', meta, b ->> 'client_service_code');
	ELSE
		r := pg_wallet.debit(a.account_number, (b ->> 'transaction_amount')::numeric, other,
			format('waas:%s:%s', me.owner_id, b ->> 'source_transaction_id'),
			b ->> 'transaction_narration', meta, b ->> 'client_service_code');
	END IF;
	RETURN pg_wallet._waas_txn(pg_wallet.get_journal(r.receipt_code), a.account_number, other,
		command, meta);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_transaction(text, jsonb) IS
	'WaaS POST /transactions?command=CREDIT|DEBIT: credit or debit a tenant account under a '
	'client service against the client''s settlement account; idempotent on '
	'source_transaction_id.';

CREATE FUNCTION pg_wallet.api_waas_transfer(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._waas_validate(b, '{"source_account_number": "string",
		"destination_account_number": "string", "client_service_code": "string",
		"transaction_amount": "number", "source_transaction_id": "string",
		"transaction_source": "string", "source_transaction_data": "object",
		"transaction_narration": "string", "transaction_date": "date"}',
		ARRAY['source_account_number', 'destination_account_number', 'client_service_code',
		      'transaction_amount', 'source_transaction_id', 'transaction_source',
		      'transaction_date']);
	src pg_wallet.account_info;
	dst pg_wallet.account_info;
	meta jsonb;
	r pg_wallet.journal_result;
	j jsonb;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	src := pg_wallet._waas_account(me, b ->> 'source_account_number');
	dst := pg_wallet._waas_account(me, b ->> 'destination_account_number');
	PERFORM pg_wallet._waas_service(me, b ->> 'client_service_code');
	meta := pg_wallet._waas_meta(b);
	r := pg_wallet.transfer(src.account_number, dst.account_number,
		(b ->> 'transaction_amount')::numeric,
		format('waas:%s:%s', me.owner_id, b ->> 'source_transaction_id'),
		b ->> 'transaction_narration', meta, b ->> 'client_service_code');
	j := pg_wallet.get_journal(r.receipt_code);
	RETURN jsonb_build_object(
		'source_transaction', pg_wallet._waas_txn(j, src.account_number, dst.account_number,
			'DEBIT', meta),
		'destination_transaction', pg_wallet._waas_txn(j, dst.account_number,
			src.account_number, 'CREDIT', meta));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_transfer(text, jsonb) IS
	'WaaS POST /account-transfers: move money between two tenant accounts under a client '
	'service; both sides with previous and current balances.';

CREATE FUNCTION pg_wallet.api_waas_reverse(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	id_text text := args #>> '{path,id}';
	jr pg_wallet.journals;
	r pg_wallet.journal_result;
	j jsonb;
	src text;
	dst text;
	meta jsonb;
BEGIN
	IF upper(coalesce(args #>> '{query,command}', '')) <> 'REVERSE' THEN
		RAISE EXCEPTION 'command must be REVERSE' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF id_text IS NULL OR id_text !~ '^[0-9]{1,18}$' THEN
		RAISE EXCEPTION 'transaction % not found', left(id_text, 40) USING ERRCODE = 'WL014';
	END IF;
	SELECT * INTO jr FROM pg_wallet.journals x WHERE x.id = id_text::bigint AND x.status = 'POSTED';
	-- another tenant's transaction is not found: every account it touches must be ours
	IF NOT FOUND OR EXISTS (
		SELECT 1 FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
		WHERE e.journal_id = jr.id AND a.purpose NOT IN ('FEE_INCOME', 'FX_POSITION', 'SUSPENSE')
			AND NOT pg_wallet._waas_owns(me, a.owner_id)) THEN
		RAISE EXCEPTION 'transaction % not found', id_text USING ERRCODE = 'WL014';
	END IF;
	r := pg_wallet.reverse_journal(pg_wallet.receipt_code(jr.id, jr.created_at),
		format('waas-reverse:%s:%s', me.owner_id, jr.id), 'WaaS REVERSE');
	j := pg_wallet.get_journal(r.receipt_code);
	-- the principal legs: the largest debit and the largest credit that are not fees
	SELECT e ->> 'account_number' INTO src FROM jsonb_array_elements(j -> 'entries') e
	WHERE e ->> 'side' = 'DR' ORDER BY (e ->> 'amount')::numeric DESC, (e ->> 'leg')::int LIMIT 1;
	SELECT e ->> 'account_number' INTO dst FROM jsonb_array_elements(j -> 'entries') e
	WHERE e ->> 'side' = 'CR' ORDER BY (e ->> 'amount')::numeric DESC, (e ->> 'leg')::int LIMIT 1;
	meta := coalesce(jr.metadata, '{}') || jsonb_build_object('transaction_source', 'INTERNAL');
	RETURN jsonb_build_object(
		'source_transaction', pg_wallet._waas_txn(j, src, dst, 'DEBIT', meta),
		'destination_transaction', pg_wallet._waas_txn(j, dst, src, 'CREDIT', meta));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_reverse(text, jsonb) IS
	'WaaS POST /transactions/:id?command=REVERSE: reverse a tenant transaction once (WL006 '
	'when already reversed); both sides with previous and current balances.';

-- Not in the spec (it has no read endpoint): GET /accounts/:id/balance, the balance of a tenant
-- account, so that clients (and bench/bridge_run) can read one without posting.
CREATE FUNCTION pg_wallet.api_waas_get_balance(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._waas_me(token);
	a pg_wallet.account_info := pg_wallet._waas_account(me, args #>> '{path,id}');
	b pg_wallet.balance_info := pg_wallet.get_balance(a.account_number);
BEGIN
	RETURN jsonb_build_object('account_number', b.account_number, 'currency', b.currency,
		'balance', pg_wallet._waas_amount(b.balance),
		'available_balance', pg_wallet._waas_amount(b.available_balance),
		'pending_debit', pg_wallet._waas_amount(b.pending_debit),
		'pending_credit', pg_wallet._waas_amount(b.pending_credit),
		'status', a.status, 'last_transaction_at', pg_wallet._waas_time(b.last_transaction_at));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_waas_get_balance(text, jsonb) IS
	'WaaS GET /accounts/:id/balance (an addition to the spec): a tenant account''s balance, '
	'available balance and pending amounts with four decimals; another tenant''s is WL005.';
-- API layer: the Sellapay profile (sellapay-api.md), served by pg_wallet_bridge at
-- /sellapay/api/v1. One function per endpoint:
--   pg_wallet.api_sellapay_<op>(token text, args jsonb) RETURNS jsonb
-- args is the bridge's envelope {"request_id", "path", "query", "body"}, plus
-- "credentials": {"api_key", "api_secret"} for authorize (from X-API-KEY / X-API-SECRET).
-- Each function authenticates the token first (authorize checks the API key and secret),
-- then calls the core functions that speak Sellapay (request_stk_push, send_funds_to_*).
-- Refusals that have a documented body (400 validation, 401 authorize, 402 insufficient
-- balance) are RETURNED as {"error": {"code": SQLSTATE, "message", "body": <the body>}};
-- the bridge sends the body with the status of the code. Other errors are raised with the
-- core's SQLSTATEs and shaped by the bridge.
--
-- A Sellapay account is a principal (role merchant, client or user) with API credentials;
-- its "account" is its KES wallet, opened on the first authorize. Everything it moves is
-- its own: the core functions are only ever called with the caller's own account.

-- A returned 400 refusal in Sellapay's shape.
CREATE FUNCTION pg_wallet._sp_invalid(field text, reason text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('error', jsonb_build_object('code', '22023', 'message', reason,
		'body', jsonb_build_object('error', 'Validation error', 'message', reason,
			'details', jsonb_build_object('field', field, 'reason', reason))))
$$;
COMMENT ON FUNCTION pg_wallet._sp_invalid(text, text) IS
	'Internal: a Sellapay 400 "Validation error" refusal naming the field.';

-- Check the body: required fields present, amount a positive number, strings bounded.
-- NULL when valid, else the refusal.
CREATE FUNCTION pg_wallet._sp_check(b jsonb, required text[], optional text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f text;
	v jsonb;
BEGIN
	FOREACH f IN ARRAY required || optional LOOP
		v := b -> f;
		IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
			IF f = ANY (required) THEN
				RETURN pg_wallet._sp_invalid(f, f || ' is required');
			END IF;
		ELSIF f = 'amount' THEN
			IF NOT (jsonb_typeof(v) = 'number'
			        OR (jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^[0-9]{1,15}(\.[0-9]{1,6})?$'))
			THEN
				RETURN pg_wallet._sp_invalid(f, 'amount must be a number');
			END IF;
			IF (v #>> '{}')::numeric <= 0 THEN
				RETURN pg_wallet._sp_invalid(f, 'amount must be greater than 0');
			END IF;
		ELSIF jsonb_typeof(v) <> 'string' OR length(v #>> '{}') NOT BETWEEN 1 AND 200 THEN
			RETURN pg_wallet._sp_invalid(f, f || ' must be a string of 1 to 200 characters');
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._sp_check(jsonb, text[], text[]) IS
	'Internal: Sellapay body validation; NULL or a 400 refusal naming the first bad field.';

-- The caller's KES wallet (opened when missing).
CREATE FUNCTION pg_wallet._sp_account(me pg_wallet.auth_principal)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	num text;
BEGIN
	SELECT a.account_number INTO num FROM pg_wallet.accounts a
	WHERE a.owner_id = me.owner_id AND a.currency = 'KES' AND a.purpose = 'WALLET'
	ORDER BY a.id LIMIT 1;
	IF num IS NULL THEN
		num := (pg_wallet.create_account(me.owner_id, 'KES', 'WALLET')).account_number;
	END IF;
	RETURN num;
END
$$;
COMMENT ON FUNCTION pg_wallet._sp_account(pg_wallet.auth_principal) IS
	'Internal: the Sellapay account of a principal: its first KES wallet, opened on first use.';

CREATE FUNCTION pg_wallet._sp_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_wallet._api_caller(token, 'sellapay', ARRAY['merchant', 'client', 'user']) $$;
COMMENT ON FUNCTION pg_wallet._sp_me(text) IS
	'Internal: authenticate a Sellapay caller (roles merchant, client, user; a sellapay token).';

-- Run a money-moving core call; WL001 becomes the 402 body with required and available.
CREATE FUNCTION pg_wallet._sp_insufficient(account_number text, required numeric)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('error', jsonb_build_object('code', 'WL001',
		'message', 'Your account balance is too low',
		'body', jsonb_build_object('error', 'Insufficient balance',
			'message', 'Your account balance is too low', 'required', required,
			'available', (pg_wallet.get_balance(account_number)).available_balance)))
$$;
COMMENT ON FUNCTION pg_wallet._sp_insufficient(text, numeric) IS
	'Internal: the Sellapay 402 refusal (required, available).';

-- ---------------------------------------------------------------------------------------
-- Endpoints
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION pg_wallet.api_sellapay_authorize(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k text := args #>> '{credentials,api_key}';
	s text := args #>> '{credentials,api_secret}';
	r pg_wallet.login_result;
	me pg_wallet.auth_principal;
BEGIN
	IF coalesce(k, '') = '' OR coalesce(s, '') = '' THEN
		RETURN jsonb_build_object('error', jsonb_build_object('code', '22004',
			'message', 'Missing API key or secret code',
			'body', jsonb_build_object('error', 'Missing API key or secret code')));
	END IF;
	r := pg_wallet.authorize_api_key(k, s, 'sellapay');
	IF r.status <> 'OK' THEN
		-- returned, not raised: what authorize_api_key wrote must be kept
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message,
			'body', jsonb_build_object('error', 'Unauthorized',
				'message', 'Invalid API key or secret code')));
	END IF;
	me := pg_wallet._sp_me(r.access_token);
	RETURN jsonb_build_object('message', 'User authorized', 'account', pg_wallet._sp_account(me),
		'access_token', r.access_token, 'expires_in', r.expires_in);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_authorize(text, jsonb) IS
	'Sellapay POST /authorize: X-API-KEY and X-API-SECRET (in args.credentials) to '
	'{message, account, access_token, expires_in}; 400 missing, 401 invalid (returned).';

CREATE FUNCTION pg_wallet.api_sellapay_get_balance(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	primary_account text := pg_wallet._sp_account(me);
	balances jsonb;
BEGIN
	SELECT jsonb_object_agg(b.currency, b.available_balance ORDER BY b.currency) INTO balances
	FROM (SELECT DISTINCT ON (a.currency) a.account_number, a.currency
	      FROM pg_wallet.accounts a
	      WHERE a.owner_id = me.owner_id AND a.purpose = 'WALLET' AND a.status <> 'CLOSED'
	      ORDER BY a.currency, a.id) a
	CROSS JOIN LATERAL pg_wallet.get_balance(a.account_number) b;
	RETURN jsonb_build_object('message', 'Balance retrieved',
		'balance', coalesce(balances, '{}'), 'primary_currency',
		(SELECT a.currency FROM pg_wallet.accounts a WHERE a.account_number = primary_account),
		'timestamp', extract(epoch FROM now())::bigint);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_get_balance(text, jsonb) IS
	'Sellapay GET /getBalance: the available balance of each of the caller''s wallets by '
	'currency, primary_currency (KES), timestamp.';

CREATE FUNCTION pg_wallet.api_sellapay_request_stk_push(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._sp_check(b, ARRAY['phone', 'amount'],
		ARRAY['reference', 'description']);
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF (b ->> 'phone') !~ '^[17][0-9]{8}$' THEN
		RETURN pg_wallet._sp_invalid('phone', 'Phone must start with 7 or 1');
	END IF;
	IF length(b ->> 'reference') > 20 THEN
		RETURN pg_wallet._sp_invalid('reference', 'reference must be at most 20 characters');
	END IF;
	RETURN pg_wallet.request_stk_push(pg_wallet._sp_account(me), b ->> 'phone',
		(b ->> 'amount')::numeric, b ->> 'reference', b ->> 'description') - 'replayed';
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_request_stk_push(text, jsonb) IS
	'Sellapay POST /requestStkPush: an M-Pesa STK push into the caller''s KES wallet.';

CREATE FUNCTION pg_wallet.api_sellapay_send_funds_to_mobile(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._sp_check(b, ARRAY['phone', 'amount'],
		ARRAY['reference', 'narrative']);
	acct text;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	IF (b ->> 'phone') !~ '^[17][0-9]{8}$' THEN
		RETURN pg_wallet._sp_invalid('phone', 'Phone must start with 7 or 1');
	END IF;
	acct := pg_wallet._sp_account(me);
	RETURN pg_wallet.send_funds_to_mobile(acct, b ->> 'phone', (b ->> 'amount')::numeric,
		b ->> 'reference', b ->> 'narrative');
EXCEPTION WHEN SQLSTATE 'WL001' THEN
	RETURN pg_wallet._sp_insufficient(acct, (b ->> 'amount')::numeric);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_send_funds_to_mobile(text, jsonb) IS
	'Sellapay POST /sendFundsToMobile: an M-Pesa payout from the caller''s KES wallet; 402 '
	'with required and available when the balance is too low.';

CREATE FUNCTION pg_wallet.api_sellapay_send_funds_to_sellapay(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._sp_check(b, ARRAY['account', 'amount'],
		ARRAY['reference', 'narrative']);
	acct text;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	acct := pg_wallet._sp_account(me);
	IF b ->> 'account' = acct THEN
		RETURN pg_wallet._sp_invalid('account', 'cannot send funds to your own account');
	END IF;
	RETURN pg_wallet.send_funds_to_account(acct, b ->> 'account', (b ->> 'amount')::numeric,
		b ->> 'reference', b ->> 'narrative') - 'replayed';
EXCEPTION WHEN SQLSTATE 'WL001' THEN
	RETURN pg_wallet._sp_insufficient(acct, (b ->> 'amount')::numeric);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_send_funds_to_sellapay(text, jsonb) IS
	'Sellapay POST /sendFundsToSellapay: a transfer from the caller''s KES wallet to another '
	'Sellapay account; 404 unknown recipient (WL067), 402 insufficient balance.';

CREATE FUNCTION pg_wallet.api_sellapay_send_funds_to_local_bank(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._sp_me(token);
	b jsonb := args -> 'body';
	err jsonb := pg_wallet._sp_check(b,
		ARRAY['bank_code', 'account_number', 'amount', 'account_name'], ARRAY['reference']);
	acct text;
BEGIN
	IF err IS NOT NULL THEN
		RETURN err;
	END IF;
	acct := pg_wallet._sp_account(me);
	RETURN pg_wallet.send_funds_to_bank(acct, b ->> 'bank_code', b ->> 'account_number',
		(b ->> 'amount')::numeric, b ->> 'account_name', b ->> 'reference');
EXCEPTION WHEN SQLSTATE 'WL001' THEN
	RETURN pg_wallet._sp_insufficient(acct, (b ->> 'amount')::numeric);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_sellapay_send_funds_to_local_bank(text, jsonb) IS
	'Sellapay POST /sendFundsToLocalBank: a bank payout from the caller''s KES wallet; 400 '
	'invalid bank details (WL068), 402 insufficient balance.';
-- API layer: the cashier WebSocket profile (cashier-websocket-api.md), served by
-- pg_wallet_bridge at /cashier/svc/ws. Two functions:
--   pg_wallet.api_cashier_connect(token, args)  when a socket opens: the JWT of its
--       Authorization header is checked (a refusal closes the socket) and the "connected"
--       frame is returned;
--   pg_wallet.api_cashier_message(token, args)  for each message {"type", "data"} in
--       args.body: the whole reply frame, {"type": "success", "data": {"message", "data"},
--       "timestamp"}, or {"type": "error", ...}. Raised errors are framed by the bridge.
--   pg_wallet.api_cashier_events(token, args)   the caller's next durable event after
--       args.body.after_event_id, as a push frame (the bridge calls it when the owner is
--       NOTIFYed, and at connect for a client resuming with ?last_event_id=N).
-- A result may carry "_bridge": {owner_id, last_event_id, more, silent}: read by the bridge,
-- never sent. Only the caller's own accounts are read or moved. Request types so far:
-- verification_request, verify_otp, verify_totp, withdraw_request, get_accounts,
-- get_account_balance, get_owner_summary, transfer, convert_and_transfer, get_partners,
-- deposit_request, get_deposit_status, cancel_deposit, get_history, get_transaction_by_receipt,
-- get_account_statement, get_owner_statement, get_ledgers, calculate_fee, ping; any other
-- type answers "unsupported request type".

CREATE FUNCTION pg_wallet._cashier_frame(kind text, message text, data jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('type', kind,
		'data', CASE WHEN kind = 'error' THEN jsonb_build_object('message', message)
		             ELSE jsonb_build_object('message', message, 'data', data) END,
		'timestamp', extract(epoch FROM now())::bigint)
$$;
COMMENT ON FUNCTION pg_wallet._cashier_frame(text, text, jsonb) IS
	'Internal: a cashier reply frame (success with message and data, or error).';

CREATE FUNCTION pg_wallet._cashier_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._api_caller(token, 'cashier', ARRAY['user', 'merchant', 'client', 'admin'])
$$;
COMMENT ON FUNCTION pg_wallet._cashier_me(text) IS
	'Internal: authenticate a cashier caller (a cashier token).';

-- An account of the caller; WL005 otherwise (another owner's account is "not found").
CREATE FUNCTION pg_wallet._cashier_account(me pg_wallet.auth_principal, account_number text)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.account_info;
BEGIN
	BEGIN
		a := pg_wallet.get_account(account_number);
	EXCEPTION WHEN SQLSTATE 'WL005' THEN
		a := NULL;
	END;
	IF a.account_id IS NULL OR a.owner_id <> me.owner_id THEN
		RAISE EXCEPTION 'account not found' USING ERRCODE = 'WL005';
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_account(pg_wallet.auth_principal, text) IS
	'Internal: one of the caller''s accounts, or WL005 "account not found".';

-- The first open WALLET of an owner in a currency; WL005 when it has none.
CREATE FUNCTION pg_wallet._cashier_wallet(owner_id bigint, currency text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	num text;
BEGIN
	SELECT a.account_number INTO num FROM pg_wallet.accounts a
	WHERE a.owner_id = _cashier_wallet.owner_id AND a.currency = upper(_cashier_wallet.currency)
		AND a.purpose = 'WALLET' AND a.status <> 'CLOSED'
	ORDER BY a.id LIMIT 1;
	IF num IS NULL THEN
		RAISE EXCEPTION 'no % wallet', upper(currency) USING ERRCODE = 'WL005';
	END IF;
	RETURN num;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_wallet(bigint, text) IS
	'Internal: an owner''s wallet in a currency, or WL005.';

CREATE FUNCTION pg_wallet.api_cashier_connect(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._cashier_me(token);
	ts bigint := extract(epoch FROM now())::bigint;
	resume text := args #>> '{body,last_event_id}';
	cursor_id bigint;
BEGIN
	IF resume ~ '^[0-9]{1,18}$' THEN
		cursor_id := resume::bigint;
	ELSE
		-- a new session hears the events from now on
		cursor_id := coalesce((SELECT s.last_event_id FROM pg_wallet.event_streams s
		                       WHERE s.owner_id = me.owner_id), 0);
	END IF;
	RETURN jsonb_build_object('type', 'connected',
		'data', jsonb_build_object('user_id', me.principal_id::text, 'timestamp', ts,
			'last_event_id', cursor_id),
		'timestamp', ts,
		'_bridge', jsonb_build_object('owner_id', me.owner_id, 'last_event_id', cursor_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_connect(text, jsonb) IS
	'Cashier socket opened: check its JWT (cashier token) and return the "connected" frame, '
	'with the events cursor: the client''s last_event_id (resume) or the owner''s latest. '
	'"_bridge" (owner_id, last_event_id) is for the bridge and is not sent.';

CREATE FUNCTION pg_wallet.api_cashier_events(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._cashier_me(token);
	after_text text := args #>> '{body,after_event_id}';
	e pg_wallet.event_info;
	more boolean;
BEGIN
	IF after_text !~ '^[0-9]{1,18}$' THEN
		RAISE EXCEPTION 'after_event_id must be a non-negative integer'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO e FROM pg_wallet.get_events(me.owner_id, after_text::bigint, 1);
	IF e.event_id IS NULL THEN
		RETURN jsonb_build_object('_bridge', jsonb_build_object('silent', true));
	END IF;
	more := EXISTS (SELECT 1 FROM pg_wallet.get_events(me.owner_id, e.event_id, 1));
	RETURN jsonb_build_object('type', e.event_type, 'data', e.payload, 'event_id', e.event_id,
		'timestamp', extract(epoch FROM e.created_at)::bigint,
		'_bridge', jsonb_build_object('last_event_id', e.event_id, 'more', more));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_events(text, jsonb) IS
	'Cashier push: the caller''s next event after args.body.after_event_id as a frame '
	'{type, data, event_id, timestamp}, with "_bridge" (last_event_id, more) for the bridge; '
	'"_bridge": {"silent": true} when there is none. Events are durable: a client that '
	'reconnects with ?last_event_id=N misses nothing.';

-- Verification: requests and checks of OTP/TOTP codes. A refused check is RETURNED as an
-- error frame (not raised), so the attempt counter it wrote is kept.
CREATE FUNCTION pg_wallet._cashier_verify(token text, t text, d jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_wallet.verification_challenge;
	v pg_wallet.verification_result;
BEGIN
	IF t = 'verification_request' THEN
		c := pg_wallet.verification_request(token, d ->> 'method', d ->> 'purpose');
		RETURN pg_wallet._cashier_frame('success', c.message, jsonb_strip_nulls(
			to_jsonb(c) - 'message'));
	END IF;
	IF t = 'verify_otp' THEN
		v := pg_wallet.verify_otp(token, d ->> 'code', d ->> 'purpose');
	ELSE
		v := pg_wallet.verify_totp(token, d ->> 'code', d ->> 'purpose');
	END IF;
	IF v.status <> 'OK' THEN
		RETURN pg_wallet._cashier_frame('error', v.message, NULL);
	END IF;
	RETURN pg_wallet._cashier_frame('success', 'verification successful', jsonb_build_object(
		'verification_token', v.verification_token, 'purpose', v.purpose, 'method', v.method,
		'expires_in', v.expires_in,
		'message', 'Use this token for your next ' || v.purpose || ' request'));
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_verify(text, text, jsonb) IS
	'Internal: cashier verification_request, verify_otp and verify_totp frames.';

-- A time argument of a cashier request (ISO 8601), or dflt when absent; 22007 otherwise.
CREATE FUNCTION pg_wallet._cashier_time(v text, dflt timestamptz, name text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF v IS NULL THEN
		RETURN dflt;
	END IF;
	IF length(v) > 40 THEN
		RAISE EXCEPTION '% must be an ISO 8601 time', name
			USING ERRCODE = 'invalid_datetime_format';
	END IF;
	BEGIN
		RETURN v::timestamptz;
	EXCEPTION WHEN data_exception THEN
		RAISE EXCEPTION '% must be an ISO 8601 time', name
			USING ERRCODE = 'invalid_datetime_format';
	END;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_time(text, timestamptz, text) IS
	'Internal: a cashier time argument (ISO 8601), its default when absent, or 22007.';

-- An integer argument (limit, offset) within [lo, hi], or dflt when absent; 22023 otherwise.
CREATE FUNCTION pg_wallet._cashier_int(d jsonb, name text, dflt integer, lo integer, hi integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v text := d ->> name;
BEGIN
	IF v IS NULL THEN
		RETURN dflt;
	END IF;
	IF v !~ '^[0-9]{1,9}$' OR v::integer NOT BETWEEN lo AND hi THEN
		RAISE EXCEPTION '% must be an integer between % and %', name, lo, hi
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN v::integer;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_int(jsonb, text, integer, integer, integer) IS
	'Internal: a cashier integer argument within bounds, its default when absent, or 22023.';

-- A statement of one of the caller's accounts, shaped as the spec shows it.
CREATE FUNCTION pg_wallet._cashier_statement(account_number text, from_time timestamptz,
	to_time timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('account_number', s ->> 'account_number',
		'currency', s -> 'currency',
		'opening_balance', s -> 'opening_balance', 'closing_balance', s -> 'closing_balance',
		'total_debits', s -> 'total_debits', 'total_credits', s -> 'total_credits',
		'period_start', pg_wallet._ts_iso(from_time), 'period_end', pg_wallet._ts_iso(to_time),
		'ledgers', coalesce((SELECT jsonb_agg(jsonb_build_object('id', l -> 'id',
				'amount', l -> 'amount', 'type', l -> 'type', 'currency', l -> 'currency',
				'balance_after', l -> 'balance_after', 'description', l -> 'description',
				'receipt_code', l -> 'receipt_code',
				'created_at', pg_wallet._ts_iso((l ->> 'created_at')::timestamptz))
				ORDER BY o)
			FROM jsonb_array_elements(s -> 'ledgers') WITH ORDINALITY x(l, o)), '[]'),
		'transaction_count', s -> 'transaction_count', 'has_more', s -> 'has_more')
	FROM pg_wallet.get_statement(account_number, from_time, to_time, 1000) s
$$;
COMMENT ON FUNCTION pg_wallet._cashier_statement(text, timestamptz, timestamptz) IS
	'Internal: a cashier account statement (get_statement, times as ISO 8601 UTC).';

-- FX, history, statements and ledgers: the request types of the spec's later sections.
CREATE FUNCTION pg_wallet._cashier_reports(me pg_wallet.auth_principal, t text, d jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.account_info;
	c pg_wallet.conversion_result;
	recipient bigint;
	from_time timestamptz;
	to_time timestamptz;
	lim integer;
	off integer;
	total bigint;
	j jsonb;
BEGIN
	CASE t
	WHEN 'convert_and_transfer' THEN
		IF d ->> 'from_currency' IS NULL OR d ->> 'to_currency' IS NULL
			OR d ->> 'amount' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error',
				'from_currency, to_currency and amount are required', NULL);
		END IF;
		IF (d ->> 'amount')::numeric <= 0 THEN
			RETURN pg_wallet._cashier_frame('error', 'amount must be greater than zero', NULL);
		END IF;
		recipient := me.owner_id;
		IF d ->> 'to_user_id' IS NOT NULL THEN
			SELECT p.owner_id INTO recipient FROM pg_wallet.principals p
			WHERE p.id::text = d ->> 'to_user_id' AND p.status = 'ACTIVE';
			IF recipient IS NULL THEN
				RETURN pg_wallet._cashier_frame('error', 'recipient not found', NULL);
			END IF;
		END IF;
		c := pg_wallet.convert(pg_wallet._cashier_wallet(me.owner_id, d ->> 'from_currency'),
			pg_wallet._cashier_wallet(recipient, d ->> 'to_currency'),
			(d ->> 'amount')::numeric,
			CASE WHEN d ->> 'reference' IS NOT NULL
			     THEN format('c%s-%s', me.owner_id, left(d ->> 'reference', 80)) END,
			left(d ->> 'description', 200));
		RETURN pg_wallet._cashier_frame('success', 'conversion completed', jsonb_build_object(
			'receipt_code', c.receipt_code, 'journal_id', c.journal_id,
			'source_currency', c.source_currency, 'dest_currency', c.dest_currency,
			'source_amount', c.source_amount, 'converted_amount', c.converted_amount,
			'fx_rate', c.fx_rate::text, 'fx_rate_id', c.fx_rate_id, 'fee', c.fee,
			'created_at', pg_wallet._ts_iso(c.created_at)));
	WHEN 'get_history' THEN
		RETURN pg_wallet._cashier_frame('success', 'transaction history',
			pg_wallet.get_history(me.owner_id, coalesce(d ->> 'type', 'all'),
				pg_wallet._cashier_int(d, 'limit', 20, 1, 100),
				pg_wallet._cashier_int(d, 'offset', 0, 0, 100000)));
	WHEN 'get_account_statement' THEN
		a := pg_wallet._cashier_account(me, d ->> 'account_number');
		to_time := pg_wallet._cashier_time(d ->> 'to', now(), 'to');
		from_time := pg_wallet._cashier_time(d ->> 'from', to_time - interval '30 days', 'from');
		RETURN pg_wallet._cashier_frame('success', 'account statement',
			pg_wallet._cashier_statement(a.account_number, from_time, to_time));
	WHEN 'get_owner_statement' THEN
		to_time := pg_wallet._cashier_time(d ->> 'to', now(), 'to');
		from_time := pg_wallet._cashier_time(d ->> 'from', to_time - interval '30 days', 'from');
		SELECT jsonb_agg(pg_wallet._cashier_statement(x.account_number, from_time, to_time)
			- 'period_start' - 'period_end' ORDER BY x.account_id)
		INTO j FROM pg_wallet.list_accounts(me.owner_id) x WHERE x.status <> 'CLOSED';
		IF j IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'user has no accounts', NULL);
		END IF;
		RETURN pg_wallet._cashier_frame('success', 'owner statement', jsonb_build_object(
			'statements', j, 'count', jsonb_array_length(j),
			'period_start', pg_wallet._ts_iso(from_time),
			'period_end', pg_wallet._ts_iso(to_time)));
	WHEN 'get_ledgers' THEN
		a := pg_wallet._cashier_account(me, d ->> 'account_number');
		from_time := pg_wallet._cashier_time(d ->> 'from', NULL, 'from');
		to_time := pg_wallet._cashier_time(d ->> 'to', NULL, 'to');
		IF from_time IS NOT NULL AND to_time IS NOT NULL AND to_time < from_time THEN
			RETURN pg_wallet._cashier_frame('error', 'to is before from', NULL);
		END IF;
		lim := pg_wallet._cashier_int(d, 'limit', 50, 1, 1000);
		off := pg_wallet._cashier_int(d, 'offset', 0, 0, 100000);
		SELECT count(*) INTO total FROM pg_wallet.entries e
		WHERE e.account_id = a.account_id
		  AND (from_time IS NULL OR e.created_at >= from_time)
		  AND (to_time IS NULL OR e.created_at < to_time);
		SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.entry_id,
				'journal_id', x.journal_id, 'amount', x.amount,
				'type', CASE x.side WHEN 'CR' THEN 'DR_CR_CREDIT' ELSE 'DR_CR_DEBIT' END,
				'currency', x.currency, 'balance_after', x.balance_after,
				'description', x.description, 'receipt_code', x.receipt_code,
				'created_at', pg_wallet._ts_iso(x.created_at)) ORDER BY x.created_at, x.entry_id),
			'[]')
		INTO j
		FROM (SELECT * FROM pg_wallet._entries(a.account_id, from_time, to_time, NULL, lim + off)
		      ORDER BY created_at, entry_id OFFSET off) x;
		RETURN pg_wallet._cashier_frame('success', 'ledgers retrieved', jsonb_build_object(
			'ledgers', j, 'total', total, 'limit', lim, 'offset', off));
	ELSE
		RETURN pg_wallet._cashier_frame('error', 'unsupported request type', NULL);
	END CASE;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_reports(pg_wallet.auth_principal, text, jsonb) IS
	'Internal: cashier convert_and_transfer, get_history, get_account_statement, '
	'get_owner_statement and get_ledgers frames; "unsupported request type" for other types.';

CREATE FUNCTION pg_wallet._cashier_dispatch(me pg_wallet.auth_principal, t text, d jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b pg_wallet.balance_info;
	a pg_wallet.account_info;
	q pg_wallet.fee_quote;
	accounts jsonb;
	src text;
	dst text;
	recipient bigint;
	sent jsonb;
	j jsonb;
BEGIN
	CASE t
	WHEN 'ping' THEN
		RETURN jsonb_build_object('type', 'pong', 'timestamp', extract(epoch FROM now())::bigint);
	WHEN 'get_accounts' THEN
		SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.account_id,
			'account_number', x.account_number, 'currency', x.currency,
			'purpose', 'ACCOUNT_PURPOSE_' || x.purpose, 'account_type', 'ACCOUNT_TYPE_REAL',
			'is_active', x.status = 'ACTIVE', 'is_locked', x.status = 'LOCKED',
			'created_at', pg_wallet._waas_time(x.created_at)) ORDER BY x.account_id), '[]')
		INTO accounts FROM pg_wallet.list_accounts(me.owner_id) x;
		RETURN pg_wallet._cashier_frame('success', 'accounts retrieved',
			jsonb_build_object('accounts', accounts, 'count', jsonb_array_length(accounts)));
	WHEN 'get_account_balance' THEN
		a := pg_wallet._cashier_account(me, d ->> 'account_number');
		b := pg_wallet.get_balance(a.account_number);
		RETURN pg_wallet._cashier_frame('success', 'balance retrieved', jsonb_build_object(
			'account_number', b.account_number, 'balance', b.balance,
			'available_balance', b.available_balance, 'pending_debit', b.pending_debit,
			'pending_credit', b.pending_credit, 'currency', b.currency,
			'last_transaction', pg_wallet._waas_time(b.last_transaction_at)));
	WHEN 'get_owner_summary' THEN
		RETURN pg_wallet._cashier_frame('success', 'owner summary retrieved',
			pg_wallet.get_owner_summary(me.owner_id, coalesce(d ->> 'currency', 'USD')));
	WHEN 'transfer' THEN
		IF d ->> 'to_user_id' IS NULL OR d ->> 'amount' IS NULL OR d ->> 'currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error',
				'to_user_id, amount and currency are required', NULL);
		END IF;
		SELECT p.owner_id INTO recipient FROM pg_wallet.principals p
		WHERE p.id::text = d ->> 'to_user_id' AND p.status = 'ACTIVE';
		IF recipient IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'recipient not found', NULL);
		END IF;
		src := pg_wallet._cashier_wallet(me.owner_id, d ->> 'currency');
		dst := pg_wallet._cashier_wallet(recipient, d ->> 'currency');
		-- the core's P2P transfer: posts and emits transfer_completed to both owners
		sent := pg_wallet.send_funds_to_account(src, dst, (d ->> 'amount')::numeric,
			CASE WHEN d ->> 'reference' IS NOT NULL
			     THEN format('c%s-%s', me.owner_id, left(d ->> 'reference', 80)) END,
			left(d ->> 'description', 200));
		j := pg_wallet.get_journal(sent ->> 'transaction_id');
		RETURN pg_wallet._cashier_frame('success', 'transfer completed', jsonb_build_object(
			'receipt_code', sent ->> 'transaction_id', 'journal_id', j #> '{journal,id}',
			'amount', (sent ->> 'amount')::numeric,
			'fee', coalesce((SELECT sum((x ->> 'amount')::numeric)
			                 FROM jsonb_array_elements(j -> 'entries') x
			                 WHERE x ->> 'account_number' = src AND x ->> 'description' = 'fee'),
			                0),
			'agent_commission', 0,
			'created_at', j #>> '{journal,created_at}'));
	WHEN 'withdraw_request' THEN
		IF d ->> 'amount' IS NULL OR d ->> 'currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'amount and currency are required', NULL);
		END IF;
		-- withdraw_request answers {"message", "data"}: the spec's message and data
		j := pg_wallet.withdraw_request(me.principal_id, (d ->> 'amount')::numeric,
				upper(d ->> 'currency'), coalesce(d ->> 'destination', d ->> 'phone'),
				d ->> 'verification_token', coalesce(d ->> 'service', 'mpesa'),
				d ->> 'agent_id',
				CASE WHEN d ->> 'reference' IS NOT NULL
				     THEN format('c%s-%s', me.owner_id, left(d ->> 'reference', 80)) END,
				d ->> 'partner_id') - 'replayed';
		RETURN pg_wallet._cashier_frame('success',
			coalesce(j ->> 'message', 'withdrawal request created'), coalesce(j -> 'data', j));
	WHEN 'get_partners' THEN
		RETURN pg_wallet._cashier_frame('success', 'partners retrieved',
			pg_wallet.get_partners(coalesce(d ->> 'service', 'mpesa')));
	WHEN 'deposit_request' THEN
		IF d ->> 'amount' IS NULL OR d ->> 'currency' IS NULL THEN
			RETURN pg_wallet._cashier_frame('error', 'amount and currency are required', NULL);
		END IF;
		RETURN pg_wallet._cashier_frame('success', 'deposit request created',
			pg_wallet.deposit_request(pg_wallet._cashier_wallet(me.owner_id, d ->> 'currency'),
				(d ->> 'amount')::numeric, d ->> 'service', d ->> 'partner_id',
				d ->> 'payment_method', d ->> 'phone',
				CASE WHEN d ->> 'reference' IS NOT NULL
				     THEN format('c%s-%s', me.owner_id, left(d ->> 'reference', 80)) END,
				left(d ->> 'description', 200), 'cashier', 1800, upper(d ->> 'currency'))
			- 'replayed');
	WHEN 'get_deposit_status' THEN
		RETURN pg_wallet._cashier_frame('success', 'deposit status',
			pg_wallet.get_deposit_status(d ->> 'request_ref', me.owner_id));
	WHEN 'cancel_deposit' THEN
		RETURN pg_wallet._cashier_frame('success', 'deposit cancelled',
			pg_wallet.cancel_deposit(d ->> 'request_ref', me.owner_id));
	WHEN 'get_transaction_by_receipt' THEN
		accounts := pg_wallet.get_journal(d ->> 'receipt_code');
		-- another owner's transaction is "not found"
		IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(accounts -> 'entries') x
		               JOIN pg_wallet.accounts acc ON acc.account_number = x ->> 'account_number'
		               WHERE acc.owner_id = me.owner_id) THEN
			RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
		END IF;
		RETURN pg_wallet._cashier_frame('success', 'transaction details', accounts);
	WHEN 'calculate_fee' THEN
		q := pg_wallet.calculate_fee(upper(coalesce(d ->> 'transaction_type', '')),
			(d ->> 'amount')::numeric, upper(d ->> 'source_currency'));
		RETURN pg_wallet._cashier_frame('success', 'fee calculated', jsonb_build_object(
			'fee_type', coalesce(q.fee_type, 'FEE_TYPE_PLATFORM'), 'amount', q.fee,
			'currency', q.currency, 'applied_rate', q.applied_rate::text));
	ELSE
		RETURN pg_wallet._cashier_reports(me, t, d);
	END CASE;
END
$$;
COMMENT ON FUNCTION pg_wallet._cashier_dispatch(pg_wallet.auth_principal, text, jsonb) IS
	'Internal: one cashier request type to its reply frame.';

CREATE FUNCTION pg_wallet.api_cashier_message(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._cashier_me(token);
	b jsonb := args -> 'body';
BEGIN
	IF jsonb_typeof(b -> 'type') IS DISTINCT FROM 'string'
		OR (b ? 'data' AND jsonb_typeof(b -> 'data') <> 'object') THEN
		RETURN pg_wallet._cashier_frame('error', 'invalid request format', NULL);
	END IF;
	IF b ->> 'type' IN ('verification_request', 'verify_otp', 'verify_totp') THEN
		RETURN pg_wallet._cashier_verify(token, b ->> 'type', coalesce(b -> 'data', '{}'));
	END IF;
	RETURN pg_wallet._cashier_dispatch(me, b ->> 'type', coalesce(b -> 'data', '{}'));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_cashier_message(text, jsonb) IS
	'Cashier message {"type", "data"}: the reply frame. Types: verification_request, '
	'verify_otp, verify_totp, withdraw_request, get_accounts, '
	'get_account_balance, get_owner_summary, transfer, convert_and_transfer, get_partners, '
	'deposit_request, get_deposit_status, cancel_deposit, get_history, '
	'get_transaction_by_receipt, get_account_statement, get_owner_statement, get_ledgers, '
	'calculate_fee, ping.';
-- API layer: the Tribble REST profile (tribble-rest-api.md), served by pg_wallet_bridge at
-- /tribble/api/v1, for the endpoints whose functions exist so far. One function per endpoint:
--   pg_wallet.api_tribble_<op>(token text, args jsonb) RETURNS jsonb
-- args is the bridge's envelope {"request_id", "path": {"id"}, "query": {...}, "body": {...}}.
-- Each function authenticates the token first (a Tribble token: audience tribble; register,
-- login and refresh take no token), reaches only the caller's own wallets, and raises the
-- core's SQLSTATEs; the bridge renders them as {"statusCode", "errorCode", "message",
-- "details", "timestamp", "requestId"}. Field names are camelCase, times ISO 8601 UTC.
-- Rate limits per KYC tier (tribble_rate_limits): each authenticated function but logout adds
-- "_bridge": {"rate": "<per second>/<per hour>/<per day>"} for its caller's tier; the bridge
-- keeps that for the token and counts the token's next requests against it (429 beyond).

CREATE TABLE pg_wallet.tribble_rate_limits (
	kyc_tier smallint PRIMARY KEY CHECK (kyc_tier BETWEEN 0 AND 9),
	per_second integer NOT NULL CHECK (per_second > 0),
	per_hour integer NOT NULL CHECK (per_hour > 0),
	per_day integer NOT NULL CHECK (per_day > 0)
);
COMMENT ON TABLE pg_wallet.tribble_rate_limits IS
	'Tribble API requests allowed per user (token) and KYC tier, per second, hour and day '
	'(tribble-rest-api.md "Rate Limiting"); the bridge enforces what the API functions report.';
INSERT INTO pg_wallet.tribble_rate_limits VALUES
	(0, 1, 100, 1000), (1, 5, 500, 10000), (2, 10, 1000, 50000), (3, 20, 5000, 100000);

-- The "_bridge" object of a Tribble reply: the caller's rate limits (its tier's, else tier 0's).
CREATE FUNCTION pg_wallet._tribble_bridge(me pg_wallet.auth_principal)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('_bridge', jsonb_build_object('rate',
		format('%s/%s/%s', l.per_second, l.per_hour, l.per_day)))
	FROM pg_wallet.tribble_rate_limits l
	WHERE l.kyc_tier IN (coalesce(me.kyc_tier, 0), 0)
	ORDER BY l.kyc_tier = coalesce(me.kyc_tier, 0) DESC
	LIMIT 1
$$;
COMMENT ON FUNCTION pg_wallet._tribble_bridge(pg_wallet.auth_principal) IS
	'Internal: {"_bridge": {"rate": "s/h/d"}}, the caller''s KYC-tier rate limits, for the bridge.';

CREATE FUNCTION pg_wallet._tribble_me(token text)
RETURNS pg_wallet.auth_principal
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._api_caller(token, 'tribble', ARRAY['user', 'merchant', 'admin'])
$$;
COMMENT ON FUNCTION pg_wallet._tribble_me(text) IS
	'Internal: authenticate a Tribble caller (a token issued for the tribble audience).';

-- The body's required string fields, or 22023 naming the first missing one.
CREATE FUNCTION pg_wallet._tribble_require(b jsonb, fields text[])
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f text;
BEGIN
	IF b IS NULL OR jsonb_typeof(b) <> 'object' THEN
		RAISE EXCEPTION 'the body must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH f IN ARRAY fields LOOP
		IF jsonb_typeof(b -> f) IS DISTINCT FROM 'string' OR b ->> f = '' THEN
			RAISE EXCEPTION '% is required', f USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_require(jsonb, text[]) IS
	'Internal: Tribble request validation: each field a non-empty string, or 22023 naming it.';

-- One of the caller's wallets (an account it owns), or WL005 "wallet not found".
CREATE FUNCTION pg_wallet._tribble_wallet(me pg_wallet.auth_principal, wallet_id text)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.account_info;
BEGIN
	IF wallet_id IS NOT NULL AND length(wallet_id) <= 64 THEN
		BEGIN
			a := pg_wallet.get_account(wallet_id);
		EXCEPTION WHEN SQLSTATE 'WL005' THEN
			a := NULL;
		END;
	END IF;
	IF a.account_id IS NULL OR a.owner_id IS DISTINCT FROM me.owner_id THEN
		RAISE EXCEPTION 'wallet not found' USING ERRCODE = 'WL005';
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_wallet(pg_wallet.auth_principal, text) IS
	'Internal: one of the caller''s wallets, or WL005 (another user''s is "not found" too).';

CREATE FUNCTION pg_wallet.api_tribble_register(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	p pg_wallet.principal_info;
BEGIN
	PERFORM pg_wallet._tribble_require(b,
		ARRAY['email', 'password', 'firstName', 'lastName', 'phoneNumber']);
	IF b ->> 'email' !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' THEN
		RAISE EXCEPTION 'email is not a valid address' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF b ? 'dateOfBirth' AND coalesce(b ->> 'dateOfBirth', '') !~ '^\d{4}-\d{2}-\d{2}$' THEN
		RAISE EXCEPTION 'dateOfBirth must be YYYY-MM-DD' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	p := pg_wallet.register_user(b ->> 'email', b ->> 'password', b ->> 'firstName',
		b ->> 'lastName', b ->> 'phoneNumber', (b ->> 'dateOfBirth')::date,
		coalesce(b ->> 'accountType', 'individual'));
	RETURN jsonb_build_object('userId', p.principal_id, 'email', p.email,
		'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier,
		'createdAt', pg_wallet._ts_iso(p.created_at),
		'message', 'Registration successful. Please verify your email and complete KYC.');
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_register(text, jsonb) IS
	'Tribble POST /auth/register: a user (register_user) with KYC PENDING tier 0; 400 for a '
	'missing field, bad email or weak password (WL030), 409 when the email is taken (23505).';

CREATE FUNCTION pg_wallet.api_tribble_login(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	r pg_wallet.login_result;
	p pg_wallet.principal_info;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['email', 'password']);
	r := pg_wallet.login(b ->> 'email', b ->> 'password', 'tribble');
	IF r.status <> 'OK' THEN
		-- returned, not raised: the failed attempt login() counted must be kept
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message));
	END IF;
	p := pg_wallet.get_principal_by_id(r.principal_id);
	RETURN jsonb_build_object('accessToken', r.access_token, 'refreshToken', r.refresh_token,
		'expiresIn', r.expires_in,
		'user', jsonb_build_object('userId', p.principal_id, 'email', p.email,
			'firstName', p.first_name, 'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_login(text, jsonb) IS
	'Tribble POST /auth/login: a Tribble access and refresh token and the user; a refusal '
	'(401 WL020 bad credentials, 403 WL021 locked) is returned so that the attempt is counted.';

CREATE FUNCTION pg_wallet.api_tribble_refresh(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b jsonb := args -> 'body';
	r pg_wallet.login_result;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['refreshToken']);
	r := pg_wallet.refresh_session(b ->> 'refreshToken');
	IF r.status <> 'OK' THEN
		-- returned: a reuse detected by refresh_session revokes the family, and that stays
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message));
	END IF;
	RETURN jsonb_build_object('accessToken', r.access_token, 'refreshToken', r.refresh_token,
		'expiresIn', r.expires_in);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_refresh(text, jsonb) IS
	'Tribble POST /auth/refresh-token: a new access token and the rotated refresh token '
	'(refresh_session; a reused refresh token revokes the session family, 401).';

CREATE FUNCTION pg_wallet.api_tribble_logout(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	tid text := args #>> '{body,tokenId}';
BEGIN
	IF tid IS NOT NULL AND tid !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
	THEN
		RAISE EXCEPTION 'tokenId must be a token identifier (uuid)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_wallet.logout(token, tid::uuid);
	RETURN jsonb_build_object('message', 'Logged out successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_logout(text, jsonb) IS
	'Tribble POST /auth/logout: revoke the caller''s session (or the token tokenId names).';

CREATE FUNCTION pg_wallet.api_tribble_kyc_status(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
BEGIN
	RETURN pg_wallet.kyc_status_of(me.principal_id,
		upper(coalesce(args #>> '{query,currency}', 'KES'))) || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_kyc_status(text, jsonb) IS
	'Tribble GET /auth/kyc-status[?currency=KES]: the caller''s KYC status, documents and the '
	'tier''s limits in the currency.';

CREATE FUNCTION pg_wallet.api_tribble_me(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	p pg_wallet.principal_info := pg_wallet.get_principal_by_id(me.principal_id);
BEGIN
	RETURN jsonb_build_object('userId', p.principal_id, 'email', p.email,
		'firstName', p.first_name, 'lastName', p.last_name, 'phoneNumber', p.phone_number,
		'dateOfBirth', p.date_of_birth, 'accountType', p.account_type,
		'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier,
		'createdAt', pg_wallet._ts_iso(p.created_at),
		'lastLogin', pg_wallet._ts_iso(p.last_login_at), 'accountStatus', p.status)
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_me(text, jsonb) IS
	'Tribble GET /users/profile (also /users/me): the caller''s profile, no secrets.';

CREATE FUNCTION pg_wallet.api_tribble_wallets(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	q jsonb := coalesce(args -> 'query', '{}');
	lim integer;
	off integer;
	total bigint;
	items jsonb;
BEGIN
	IF coalesce(q ->> 'limit', '20') !~ '^[0-9]{1,3}$' OR coalesce(q ->> 'limit', '20')::integer
		NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'limit must be between 1 and 100' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF coalesce(q ->> 'offset', '0') !~ '^[0-9]{1,6}$' THEN
		RAISE EXCEPTION 'offset must be between 0 and 999999'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	lim := coalesce(q ->> 'limit', '20')::integer;
	off := coalesce(q ->> 'offset', '0')::integer;
	WITH mine AS (
		SELECT a.account_number, a.currency, a.status, a.account_id
		FROM pg_wallet.list_accounts(me.owner_id, 1000) a
		WHERE a.purpose = 'WALLET' AND a.status <> 'CLOSED'
		  AND (q ->> 'currency' IS NULL OR a.currency = upper(q ->> 'currency'))
		  AND (q ->> 'status' IS NULL OR a.status = upper(q ->> 'status')))
	SELECT (SELECT count(*) FROM mine),
		coalesce((SELECT jsonb_agg(jsonb_build_object('walletId', m.account_number,
				'currency', m.currency,
				'balance', (pg_wallet.get_balance(m.account_number)).balance,
				'status', m.status) ORDER BY m.account_id)
			FROM (SELECT * FROM mine ORDER BY account_id LIMIT lim OFFSET off) m), '[]')
	INTO total, items;
	RETURN jsonb_build_object('wallets', items, 'pagination', jsonb_build_object(
		'total', total, 'limit', lim, 'offset', off, 'hasMore', off + lim < total))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_wallets(text, jsonb) IS
	'Tribble GET /wallets[?currency&status&limit&offset]: the caller''s wallets with balances, '
	'and pagination {total, limit (1-100, default 20), offset, hasMore}.';

CREATE FUNCTION pg_wallet.api_tribble_wallet(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	a pg_wallet.account_info := pg_wallet._tribble_wallet(me, args #>> '{path,id}');
	last jsonb;
BEGIN
	SELECT jsonb_build_object('transactionId', pg_wallet.receipt_code(j.id, j.created_at),
		'amount', pg_wallet.amount_format(e.amount, a.currency),
		'type', CASE e.side WHEN 'CR' THEN 'CREDIT' ELSE 'DEBIT' END,
		'timestamp', pg_wallet._ts_iso(e.created_at))
	INTO last
	FROM pg_wallet.entries e JOIN pg_wallet.journals j ON j.id = e.journal_id
	WHERE e.account_id = a.account_id
	ORDER BY e.created_at DESC, e.id DESC LIMIT 1;
	RETURN jsonb_build_object('walletId', a.account_number, 'userId', me.principal_id,
		'balance', (pg_wallet.get_balance(a.account_number)).balance, 'currency', a.currency,
		'status', a.status, 'createdAt', pg_wallet._ts_iso(a.created_at),
		'lastTransaction', last) || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_wallet(text, jsonb) IS
	'Tribble GET /wallets/:walletId: one of the caller''s wallets with its balance and last '
	'transaction; another user''s wallet is 404.';

CREATE FUNCTION pg_wallet.api_tribble_fund(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
	a pg_wallet.account_info;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['walletId', 'paymentMethodId']);
	IF jsonb_typeof(b -> 'amount') IS DISTINCT FROM 'number' OR (b ->> 'amount')::numeric <= 0
	THEN
		RAISE EXCEPTION 'Amount must be greater than 0' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	a := pg_wallet._tribble_wallet(me, b ->> 'walletId');
	RETURN pg_wallet.fund_wallet(a.account_number, (b ->> 'amount')::numeric,
		b ->> 'paymentMethodId',
		CASE WHEN b ->> 'idempotencyKey' IS NOT NULL
		     THEN format('t%s-%s', me.owner_id, left(b ->> 'idempotencyKey', 80)) END)
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_fund(text, jsonb) IS
	'Tribble POST /wallets/fund: fund one of the caller''s wallets from a payment method '
	'(fund_wallet: a card deposit, PROCESSING until the partner''s callback).';
-- Privileges. The tables are the extension's alone: no role but the extension owner can
-- read or write them, so the SECURITY DEFINER functions are the only way to move money or
-- read the ledger. EXECUTE is revoked from PUBLIC on every function; a DBA grants the
-- functions an application role needs, e.g.
--   GRANT USAGE ON SCHEMA pg_wallet TO app;
--   GRANT EXECUTE ON FUNCTION pg_wallet.get_balance(text) TO app;
-- (docs/sql-api.md lists them by role).

REVOKE ALL ON ALL TABLES IN SCHEMA pg_wallet FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pg_wallet FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pg_wallet FROM PUBLIC;
REVOKE ALL ON SCHEMA pg_wallet FROM PUBLIC;
