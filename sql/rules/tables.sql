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

-- Rolling KYC limit counters: one row per owner and currency, holding what the owner moved
-- out of its accounts in the current UTC day (amount and count) and month (amount), updated
-- in the same transaction as the posting they count, so a limit is checked without scanning
-- history and a posting locks and writes one row, not one per period. A posting in a later
-- day or month than the row's starts its counter again at zero (src/rules/limits.c). Rows are
-- locked in (owner, currency) order, so concurrent postings of one owner queue on them.
CREATE TABLE pg_wallet.limit_usage (
	owner_id bigint NOT NULL,
	currency text NOT NULL,
	day_start date NOT NULL,
	day_amount_minor bigint NOT NULL DEFAULT 0 CHECK (day_amount_minor >= 0),
	day_count integer NOT NULL DEFAULT 0 CHECK (day_count >= 0),
	month_start date NOT NULL,
	month_amount_minor bigint NOT NULL DEFAULT 0 CHECK (month_amount_minor >= 0),
	PRIMARY KEY (owner_id, currency)
);
COMMENT ON TABLE pg_wallet.limit_usage IS
	'What an owner moved out of its accounts per currency in the current UTC day and month, '
	'for the KYC tier limits. Written only by the posting core.';

-- KYC tier limits: what each tier may move. The tier of an account's owner reaches the
-- posting core as data (accounts.kyc_tier, kept by the identity layer); limits.c reads
-- these rows by tier.
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
