-- pg_wallet 0.1.0 -> 0.2.0: the hand-written schema changes. The Makefile builds
-- sql/pg_wallet--0.1.0--0.2.0.sql from this file followed by every file that
-- sql/install.list names after "#@replay-on-upgrade" (the functions, all CREATE OR REPLACE,
-- then the grants), so function bodies and grants need nothing here.
--
-- What goes here (anything that a fresh CREATE EXTENSION does outside the replayed files):
--   - ALTER TABLE for a changed table (a new column goes at the END of its CREATE TABLE in
--     the tables file too: ADD COLUMN appends, and test/t/003_upgrade.pl compares column
--     order), new tables, sequences, types, indexes, triggers and seed rows (not their
--     pg_extension_config_dump(): the replayed sql/core/dump.sql registers every table);
--   - DROP FUNCTION for a function that was removed, or whose argument types, argument
--     names or defaults, or return type changed (CREATE OR REPLACE cannot change those;
--     the replay then creates the new one);
--   - COMMENT ON for a changed comment of a table, column, type or sequence.
-- The statements run once, in the transaction of ALTER EXTENSION; write names
-- schema-qualified, as the install script does.
--
-- The rule for the next version (docs/operations.md, "Upgrades"): when 0.2.0 is released,
-- commit the built sql/pg_wallet--0.2.0.sql and sql/pg_wallet--0.1.0--0.2.0.sql as they are
-- (released files are never edited again; stop ignoring them in .gitignore), set
-- EXTVERSION = 0.3.0 and UPGRADE_FROM = 0.2.0 in the Makefile and default_version in
-- pg_wallet.control, and start sql/upgrades/0.2.0--0.3.0.sql from this header. PostgreSQL
-- chains the steps (0.1.0 -> 0.2.0 -> 0.3.0); test/t/003_upgrade.pl upgrades from every
-- released install script and compares each with a fresh install.

-- One implementation per rule (issue 9): the FX rate choice is _fx_rate, "this account belongs
-- to the caller" _owns/_owned_account, "the owner's default wallet" _owner_wallet.
DROP FUNCTION pg_wallet._fx_mid(text, text);
DROP FUNCTION pg_wallet._cashier_account(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._cashier_wallet(bigint, text);
DROP FUNCTION pg_wallet._waas_account(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._waas_owns(pg_wallet.auth_principal, bigint);
DROP FUNCTION pg_wallet._tribble_wallet(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._sp_account(pg_wallet.auth_principal);
DROP FUNCTION pg_wallet._wallet_of(bigint, text);

-- The KYC tier reaches the posting core as data (issue 9): accounts.kyc_tier, kept by the
-- identity layer's triggers (sql/identity/principals.sql, replayed with the functions).
ALTER TABLE pg_wallet.accounts ADD COLUMN kyc_tier smallint CHECK (kyc_tier BETWEEN 0 AND 9);
COMMENT ON COLUMN pg_wallet.accounts.kyc_tier IS
	'The KYC tier of the owner (the highest of its principals''), NULL when it has none: KYC '
	'limits apply to money leaving the account when it is set. Kept by the identity layer; the '
	'posting core reads it as data with the account''s lock.';
UPDATE pg_wallet.accounts a
SET kyc_tier = (SELECT max(p.kyc_tier) FROM pg_wallet.principals p WHERE p.owner_id = a.owner_id)
WHERE EXISTS (SELECT 1 FROM pg_wallet.principals p WHERE p.owner_id = a.owner_id);
COMMENT ON TABLE pg_wallet.rules_generation IS
	'One row: the stamp of the posting configuration (fee schedules, system accounts), bumped '
	'by every change to it; postings read it with their account locks.';

-- The single writer, enforced (issue 9): its trigger functions and triggers
-- (core/ledger_guard.sql, core/triggers.sql) are created by the replay.

-- The layout by layers moved the C files: the comment names the new path.
COMMENT ON TABLE pg_wallet.principal_passwords IS
	'Password hashes: scrypt$N$r$p$salt$hash (src/identity/auth_password.c). Never readable by an API '
	'role; never returned by a function.';

-- One idempotency claim (issue 9): every key is claimed in pg_wallet.idempotency_keys, scoped
-- by the owner of the account the request acts for; the per-table unique constraints go.
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
-- The keys 0.1.0 recorded. The API profiles scoped theirs by a prefix ("c<owner>-",
-- "t<owner>-", "send:<owner>:"), which becomes the scope; other journal keys take the owner
-- of the journal's first leg on a customer account (the account it acted for), or 0 when
-- there is none (a refusal recorded in 0.1.0 has no legs: its retry after the update is
-- treated as new). Where two of 0.1.0's keys of one owner now meet, the journal's wins.
WITH k AS (
	SELECT j.id, j.idempotency_key AS raw, j.request_hash, j.created_at,
		(SELECT a.owner_id FROM pg_wallet.entries e
		 JOIN pg_wallet.accounts a ON a.id = e.account_id
		 WHERE e.journal_id = j.id AND NOT a.is_system AND a.purpose <> 'SETTLEMENT'
		 ORDER BY e.leg LIMIT 1) AS leg_owner
	FROM pg_wallet.journals j WHERE j.idempotency_key IS NOT NULL
)
INSERT INTO pg_wallet.idempotency_keys (scope, key, kind, request_hash, result_id, created_at)
SELECT coalesce(substring(raw FROM '^[ct]([0-9]+)-')::bigint,
		substring(raw FROM '^send:([0-9]+):')::bigint, leg_owner, 0),
	CASE WHEN raw ~ '^[ct][0-9]+-.' THEN regexp_replace(raw, '^[ct][0-9]+-', '')
	     WHEN raw ~ '^send:[0-9]+:.' THEN regexp_replace(raw, '^send:[0-9]+:', 'send:')
	     ELSE raw END,
	'journal', request_hash, id, created_at
FROM k ORDER BY id
ON CONFLICT (scope, key) DO NOTHING;
INSERT INTO pg_wallet.idempotency_keys (scope, key, kind, request_hash, result_id, created_at)
SELECT a.owner_id, h.idempotency_key, 'hold', h.request_hash, h.id, h.created_at
FROM pg_wallet.holds h JOIN pg_wallet.accounts a ON a.id = h.account_id
WHERE h.idempotency_key IS NOT NULL ORDER BY h.id
ON CONFLICT (scope, key) DO NOTHING;
INSERT INTO pg_wallet.idempotency_keys (scope, key, kind, request_hash, result_id, created_at)
SELECT d.owner_id, regexp_replace(d.idempotency_key, '^[ct][0-9]+-(?=.)', ''), 'deposit',
	d.request_hash, d.id, d.created_at
FROM pg_wallet.deposits d WHERE d.idempotency_key IS NOT NULL ORDER BY d.id
ON CONFLICT (scope, key) DO NOTHING;
INSERT INTO pg_wallet.idempotency_keys (scope, key, kind, request_hash, result_id, created_at)
SELECT w.owner_id, regexp_replace(w.idempotency_key, '^[ct][0-9]+-(?=.)', ''), 'withdrawal',
	w.request_hash, w.id, w.created_at
FROM pg_wallet.withdrawals w WHERE w.idempotency_key IS NOT NULL ORDER BY w.id
ON CONFLICT (scope, key) DO NOTHING;
ALTER TABLE pg_wallet.journals DROP CONSTRAINT journals_idempotency_key_key;
ALTER TABLE pg_wallet.holds DROP CONSTRAINT holds_idempotency_key_key;
ALTER TABLE pg_wallet.deposits DROP CONSTRAINT deposits_owner_id_idempotency_key_key;
ALTER TABLE pg_wallet.withdrawals DROP CONSTRAINT withdrawals_owner_id_idempotency_key_key;
DROP FUNCTION pg_wallet._payout_replay(text, text);

-- The workers' activity counters (issue 11): worker_status() returns two more columns (loops,
-- transactions); the replay creates it again.
DROP FUNCTION pg_wallet.worker_status();

-- The posting path (issue 20): the reversal link is unique only where set (a partial index:
-- no NULL index entry per posting), and accounts keep 20 % of each page free so that a
-- posting's UPDATE stays a HOT update (existing pages get the room as they are rewritten).
ALTER TABLE pg_wallet.journals DROP CONSTRAINT journals_reverses_journal_id_key;
CREATE UNIQUE INDEX journals_reverses_journal_id_key ON pg_wallet.journals (reverses_journal_id)
	WHERE reverses_journal_id IS NOT NULL;
ALTER TABLE pg_wallet.accounts SET (fillfactor = 80);

-- Striped hot accounts (issue 20, docs/operations.md "Hot accounts"): the stripe count of an
-- account (last column, as in a fresh install) and the stripes' allowances.
ALTER TABLE pg_wallet.accounts ADD COLUMN stripes smallint NOT NULL DEFAULT 0;
COMMENT ON COLUMN pg_wallet.accounts.stripes IS
	'Number of rows of account_stripes (0: not striped). A striped account takes credits as '
	'account_deltas and checked debits from a stripe''s allowance, without its row lock '
	'(docs/operations.md, "Hot accounts"). Written by set_account_stripes() only.';
CREATE TABLE pg_wallet.account_stripes (
	account_id bigint NOT NULL,
	stripe smallint NOT NULL CHECK (stripe >= 0),
	allowance bigint NOT NULL DEFAULT 0 CHECK (allowance >= 0),
	version bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, stripe)
) WITH (fillfactor = 50);
COMMENT ON TABLE pg_wallet.account_stripes IS
	'Stripes of striped accounts: each holds a debit allowance (minor units) that a debit may '
	'take without the account''s row lock; version counts its writes. Consolidated and refilled '
	'by the plain path and by rebalance_stripes().';

-- Fraud scoring (issue 12): its tables, as sql/rules/fraud_tables.sql creates them.
CREATE TABLE pg_wallet.fraud_settings (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	-- the weight of each factor, in hundredths: the overall score is sum(score x weight) /
	-- sum(weight); the defaults of all eight sum to 100
	weight_amount smallint NOT NULL DEFAULT 20 CHECK (weight_amount BETWEEN 0 AND 100),
	weight_device smallint NOT NULL DEFAULT 15 CHECK (weight_device BETWEEN 0 AND 100),
	weight_velocity smallint NOT NULL DEFAULT 15 CHECK (weight_velocity BETWEEN 0 AND 100),
	weight_geo smallint NOT NULL DEFAULT 15 CHECK (weight_geo BETWEEN 0 AND 100),
	weight_ip smallint NOT NULL DEFAULT 15 CHECK (weight_ip BETWEEN 0 AND 100),
	-- risk levels: LOW below medium_from, then MEDIUM, HIGH, CRITICAL
	medium_from smallint NOT NULL DEFAULT 30,
	high_from smallint NOT NULL DEFAULT 60,
	critical_from smallint NOT NULL DEFAULT 80,
	-- decisions (docs/fraud.md), the first that applies: BLOCK from block_from, HOLD from
	-- hold_from, REQUIRE_VERIFICATION from verify_from, else ALLOW (101: never)
	block_from smallint NOT NULL DEFAULT 80 CHECK (block_from BETWEEN 1 AND 101),
	verify_from smallint NOT NULL DEFAULT 60 CHECK (verify_from BETWEEN 1 AND 101),
	-- HOLD from hold_from (between the two above by default): the request is held for an
	-- admin's review (fraud_review_release / _reject), at most review_hours, then released
	hold_from smallint NOT NULL DEFAULT 70 CHECK (hold_from BETWEEN 1 AND 101),
	review_hours integer NOT NULL DEFAULT 72 CHECK (review_hours BETWEEN 1 AND 720),
	-- velocity ceilings: postings of one owner in one currency per minute and per hour
	max_per_minute integer NOT NULL DEFAULT 5 CHECK (max_per_minute >= 1),
	max_per_hour integer NOT NULL DEFAULT 30 CHECK (max_per_hour >= 1),
	-- amount statistics: below this many samples the confidence is reduced
	min_samples integer NOT NULL DEFAULT 10 CHECK (min_samples BETWEEN 1 AND 100000),
	model_version text NOT NULL DEFAULT '1.0.0' CHECK (model_version ~ '^[0-9A-Za-z.+-]{1,20}$'),
	is_enabled boolean NOT NULL DEFAULT true,
	updated_at timestamptz NOT NULL DEFAULT now(),
	-- the weights of the factors of issue 12's second list (docs/fraud.md), in hundredths
	weight_beneficiary smallint NOT NULL DEFAULT 5
		CHECK (weight_beneficiary BETWEEN 0 AND 100),
	weight_credential smallint NOT NULL DEFAULT 10 CHECK (weight_credential BETWEEN 0 AND 100),
	weight_round smallint NOT NULL DEFAULT 5 CHECK (weight_round BETWEEN 0 AND 100),
	-- coordinates: a speed over this since the last located posting is impossible travel
	max_travel_kmh integer NOT NULL DEFAULT 900 CHECK (max_travel_kmh BETWEEN 1 AND 100000),
	-- credential change: the first scored posting this many hours after a password or phone
	-- change scores
	credential_window_hours integer NOT NULL DEFAULT 24
		CHECK (credential_window_hours BETWEEN 1 AND 720),
	-- round amount just under a limit: 1, 2 or 5 x 10^k major units, from round_from_major
	-- on, and an amount at most round_margin_bp hundredths of a per cent below it
	round_from_major bigint NOT NULL DEFAULT 1000
		CHECK (round_from_major BETWEEN 1 AND 1000000000000),
	round_margin_bp smallint NOT NULL DEFAULT 200 CHECK (round_margin_bp BETWEEN 1 AND 5000),
	CHECK (weight_amount + weight_device + weight_velocity + weight_geo + weight_ip
		+ weight_beneficiary + weight_credential + weight_round > 0),
	CHECK (0 < medium_from AND medium_from <= high_from AND high_from <= critical_from
		AND critical_from <= 100)
);
INSERT INTO pg_wallet.fraud_settings DEFAULT VALUES;
COMMENT ON TABLE pg_wallet.fraud_settings IS
	'The one row of fraud scoring settings: factor weights, risk level and decision '
	'thresholds, velocity ceilings, model version (docs/fraud.md).';

-- One row per owner and currency, locked in (owner, currency) order by the posting that
-- scores against it and written in its transaction. Amounts in minor units: mean_e4 is the
-- running mean x 10^4 and m2_e8 Welford's sum of squared deviations x 10^8 (exact numerics).
CREATE TABLE pg_wallet.fraud_owner_stats (
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	currency text NOT NULL,
	tx_count bigint NOT NULL DEFAULT 0 CHECK (tx_count >= 0),
	mean_e4 numeric NOT NULL DEFAULT 0 CHECK (mean_e4 >= 0),
	m2_e8 numeric NOT NULL DEFAULT 0 CHECK (m2_e8 >= 0),
	minute_start timestamptz NOT NULL DEFAULT '-infinity',
	minute_count integer NOT NULL DEFAULT 0 CHECK (minute_count >= 0),
	hour_start timestamptz NOT NULL DEFAULT '-infinity',
	hour_count integer NOT NULL DEFAULT 0 CHECK (hour_count >= 0),
	-- the last few distinct countries, most recent first
	countries text[] NOT NULL DEFAULT '{}' CHECK (cardinality(countries) <= 5),
	updated_at timestamptz NOT NULL DEFAULT now(),
	-- the last coordinates of a located posting, in millionths of a degree, and when
	-- (-infinity: none yet)
	last_lat_e6 integer NOT NULL DEFAULT 0 CHECK (last_lat_e6 BETWEEN -90000000 AND 90000000),
	last_lon_e6 integer NOT NULL DEFAULT 0
		CHECK (last_lon_e6 BETWEEN -180000000 AND 180000000),
	located_at timestamptz NOT NULL DEFAULT '-infinity',
	-- the owner's last password or phone change not yet followed by a scored posting
	-- (pg_wallet._fraud_note_credential_change; '' and -infinity: none)
	credential_change text NOT NULL DEFAULT ''
		CHECK (credential_change IN ('', 'password', 'phone')),
	credential_changed_at timestamptz NOT NULL DEFAULT '-infinity',
	PRIMARY KEY (owner_id, currency)
) WITH (fillfactor = 80);	-- room on the page: the posting's update stays HOT
COMMENT ON TABLE pg_wallet.fraud_owner_stats IS
	'Running statistics of an owner''s scored postings in one currency: count, mean and '
	'Welford M2 of amounts, velocity windows, usual countries. Never rebuilt from history.';

-- Devices an owner has posted from: a SHA-256 of the device id, never the id itself.
CREATE TABLE pg_wallet.fraud_known_devices (
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	device_hash bytea NOT NULL CHECK (length(device_hash) = 32),
	first_seen timestamptz NOT NULL DEFAULT now(),
	last_seen timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (owner_id, device_hash)
);
COMMENT ON TABLE pg_wallet.fraud_known_devices IS
	'Devices (SHA-256 of the device id) from which an owner''s postings were accepted.';

-- Accounts an owner has paid (the credited account of a posted scored posting): the New
-- Beneficiary factor probes it by primary key; written only when a new one is paid.
CREATE TABLE pg_wallet.fraud_known_beneficiaries (
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	account_id bigint NOT NULL,
	first_paid timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (owner_id, account_id)
);
COMMENT ON TABLE pg_wallet.fraud_known_beneficiaries IS
	'Accounts (by id) to which an owner''s scored postings have paid money.';

CREATE TABLE pg_wallet.fraud_ip_reputation (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ip_range cidr NOT NULL UNIQUE,
	score smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
	label text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fraud_ip_reputation_range_idx ON pg_wallet.fraud_ip_reputation
	USING gist (ip_range inet_ops);
COMMENT ON TABLE pg_wallet.fraud_ip_reputation IS
	'IP ranges with a reputation score (0 good, 100 bad); the most specific range containing '
	'the request''s address applies.';

-- Allow and deny rules: they override the score (a deny blocks, an allow allows; a deny wins
-- over an allow). subject USER: the owner; DEVICE: a device hash; IP: a range; MERCHANT: the
-- account credited.
CREATE TABLE pg_wallet.fraud_rules (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	action text NOT NULL CHECK (action IN ('ALLOW', 'DENY')),
	subject text NOT NULL CHECK (subject IN ('USER', 'DEVICE', 'IP', 'MERCHANT')),
	owner_id bigint REFERENCES pg_wallet.owners (id),
	device_hash bytea CHECK (length(device_hash) = 32),
	ip_range cidr,
	account_number text CHECK (length(account_number) BETWEEN 1 AND 64),
	reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
	is_active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((subject = 'USER') = (owner_id IS NOT NULL)),
	CHECK ((subject = 'DEVICE') = (device_hash IS NOT NULL)),
	CHECK ((subject = 'IP') = (ip_range IS NOT NULL)),
	CHECK ((subject = 'MERCHANT') = (account_number IS NOT NULL))
);
CREATE INDEX fraud_rules_owner_idx ON pg_wallet.fraud_rules (owner_id) WHERE is_active;
CREATE INDEX fraud_rules_device_idx ON pg_wallet.fraud_rules (device_hash) WHERE is_active;
CREATE INDEX fraud_rules_account_idx ON pg_wallet.fraud_rules (account_number) WHERE is_active;
CREATE INDEX fraud_rules_ip_idx ON pg_wallet.fraud_rules USING gist (ip_range inet_ops)
	WHERE is_active;
COMMENT ON TABLE pg_wallet.fraud_rules IS
	'Allow/deny lists per user, device, IP range or merchant account; they override the score.';

-- One row per scored request that was posted, held, or refused where the core records the
-- refusal (a refusal raised in an atomic call rolls back with everything else).
CREATE TABLE pg_wallet.fraud_scores (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	owner_id bigint NOT NULL,
	account_number text NOT NULL,
	journal_id bigint,			-- the posting, or the REFUSED journal of a recorded refusal
	request_ref text CHECK (length(request_ref) <= 128),	-- the idempotency key, if any
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL,
	score smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
	risk_level text NOT NULL CHECK (risk_level IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
	decision text NOT NULL
		CHECK (decision IN ('ALLOW', 'REQUIRE_VERIFICATION', 'HOLD', 'BLOCK')),
	-- the factors, in pg_wallet.fraud_factor_names() order: each one's score and weight
	-- (hundredths), and what each found (factor_notes: a note code and its numbers, in C's
	-- FraudNote terms); pg_wallet.fraud_score_factors() renders them as the spec's riskFactors
	-- with their explanations, which are not stored (issue 12: they were most of the row)
	factor_scores smallint[] NOT NULL,
	factor_weights smallint[] NOT NULL,
	factor_notes bigint[] NOT NULL,
	ip_label text,				-- IP Reputation: the label of the range the address is in
	rule text,					-- the allow/deny rule that decided, if any
	verification text,			-- REQUIRE_VERIFICATION met by a step-up of this method
	confidence numeric(3, 2) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
	model_version text NOT NULL,
	context jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	hold_id bigint				-- HOLD: the hold that keeps the request for review
);
CREATE INDEX fraud_scores_journal_idx ON pg_wallet.fraud_scores (journal_id)
	WHERE journal_id IS NOT NULL;
-- Periods (the admin analytics): rows come in time order, so a BRIN index serves a range at
-- a fraction of a B-tree's cost per insert (every scored posting inserts here).
CREATE INDEX fraud_scores_created_idx ON pg_wallet.fraud_scores USING brin (created_at);
CREATE INDEX fraud_scores_hold_idx ON pg_wallet.fraud_scores (hold_id) WHERE hold_id IS NOT NULL;
COMMENT ON TABLE pg_wallet.fraud_scores IS
	'The score of each scored request: score, level, decision, the factors (scores, weights '
	'and notes; pg_wallet.fraud_score_factors renders them), confidence, model version and '
	'the request context (device id hashed).';

-- Fraud decision HOLD (issue 12, docs/fraud.md): a request a rule holds for review is a hold
-- that keeps the request (holds.review) until post_hold posts it or void_hold releases it;
-- posting results say HELD and name the hold.
ALTER TABLE pg_wallet.holds ADD COLUMN review jsonb CHECK (jsonb_typeof(review) = 'object');
ALTER TYPE pg_wallet.journal_result ADD ATTRIBUTE hold_id bigint;
ALTER TYPE pg_wallet.batch_item_result ADD ATTRIBUTE hold_id bigint;

-- Payment methods (issue 13, sql/payments/methods_tables.sql): cards as a token, bank accounts.
-- The key of the card tokens: one row, made on first use (_payment_card_key), 32 random bytes.
-- Never rotated: a new key would make every stored token unmatchable.
CREATE TABLE pg_wallet.payment_card_keys (
	id smallint PRIMARY KEY CHECK (id = 1),
	secret bytea NOT NULL CHECK (octet_length(secret) = 32),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet.payment_card_keys IS
	'The HMAC-SHA256 key of card tokens (payment_methods.card_token): one row, made on first '
	'use, never rotated; readable by the extension owner only.';

-- One payment method of one owner (a Tribble user). Its public id is
-- 'card-<id>' or 'bank-<id>' (_payment_method_public_id). DELETE deactivates it (is_active
-- false, deactivated_at): rows are kept, so that what a payment named stays readable.
CREATE TABLE pg_wallet.payment_methods (
	id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	owner_id bigint NOT NULL REFERENCES pg_wallet.owners (id),
	kind text NOT NULL CHECK (kind IN ('card', 'bank_account')),
	-- a card: token, last 4 digits, brand, expiry, the cardholder's name
	card_token bytea CHECK (octet_length(card_token) = 32),
	last4 text CHECK (last4 ~ '^[0-9]{4}$'),
	brand text CHECK (brand IN ('VISA', 'MASTERCARD', 'AMEX', 'VERVE', 'DISCOVER')),
	expiry_month smallint CHECK (expiry_month BETWEEN 1 AND 12),
	expiry_year smallint CHECK (expiry_year BETWEEN 2000 AND 2099),
	cardholder_name text CHECK (length(cardholder_name) BETWEEN 1 AND 100),
	-- a bank account: the bank, the account number (shown masked) and its holder
	bank_name text CHECK (length(bank_name) BETWEEN 1 AND 100),
	account_number text CHECK (account_number ~ '^[0-9]{6,20}$'),
	account_holder text CHECK (length(account_holder) BETWEEN 1 AND 100),
	is_default boolean NOT NULL DEFAULT false,
	is_active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	deactivated_at timestamptz,
	CHECK ((kind = 'card') = (card_token IS NOT NULL AND last4 IS NOT NULL
		AND brand IS NOT NULL AND expiry_month IS NOT NULL AND expiry_year IS NOT NULL
		AND cardholder_name IS NOT NULL)),
	CHECK ((kind = 'bank_account') = (bank_name IS NOT NULL AND account_number IS NOT NULL
		AND account_holder IS NOT NULL)),
	CHECK (num_nulls(card_token, bank_name) = 1),
	CHECK (is_active = (deactivated_at IS NULL)),
	CHECK (is_active OR NOT is_default)
);
-- at most one default per owner; a card or a bank account saved once per owner while active
CREATE UNIQUE INDEX payment_methods_one_default ON pg_wallet.payment_methods (owner_id)
	WHERE is_default;
CREATE UNIQUE INDEX payment_methods_card_once ON pg_wallet.payment_methods (owner_id, card_token)
	WHERE is_active AND kind = 'card';
CREATE UNIQUE INDEX payment_methods_bank_once
	ON pg_wallet.payment_methods (owner_id, lower(bank_name), account_number)
	WHERE is_active AND kind = 'bank_account';
CREATE INDEX payment_methods_owner_idx ON pg_wallet.payment_methods (owner_id, created_at)
	WHERE is_active;
COMMENT ON TABLE pg_wallet.payment_methods IS
	'Payment methods of an owner: cards (a token, HMAC-SHA256 of the number under '
	'payment_card_keys; last 4 digits, brand, expiry, cardholder; never the number, never '
	'the CVV) and bank accounts (bank, number, holder). At most one default per owner; '
	'removal deactivates.';
-- Payments and refunds (issue 13): payments/payments_tables.sql.
-- A payment is one TRANSFER journal from the customer's wallet to the merchant's account,
-- posted at once through the ledger core (fees, KYC limits and fraud scoring as for any
-- transfer); a refund is one REFUND journal back from the merchant's account. These rows
-- keep what the API shows and what the ledger does not: who the parties are as the API names
-- them, the status, the client's reference, the refunded total.
--
-- No foreign key to accounts, owners, principals or currencies: every payment into one
-- merchant would take a KEY SHARE lock on the merchant's account and owner rows and on the
-- currency's row (a MultiXact on one hot row per payment, which the hot-destination shapes
-- of bench/run pay for). The functions write these columns from rows they have just read.
-- Refunds reference their payment: a refund holds the payment's row locked anyway.

CREATE TABLE pg_wallet.payments (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the API's transactionId: TXN-<yyyymmdd>-<id>
	transaction_ref text NOT NULL UNIQUE CHECK (length(transaction_ref) BETWEEN 1 AND 64),
	customer_owner_id bigint NOT NULL,
	customer_principal_id uuid NOT NULL,		-- the API's customerId
	merchant_owner_id bigint NOT NULL,
	merchant_principal_id uuid NOT NULL,		-- the API's merchantId
	-- the customer's wallet, debited (a card payment: its card funding account, cards.sql)
	account_id bigint NOT NULL,
	merchant_account_id bigint NOT NULL,		-- the merchant's account, credited
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	fee_minor bigint NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
	refunded_minor bigint NOT NULL DEFAULT 0,
	status text NOT NULL CHECK (status IN ('PROCESSING', 'SUCCESS', 'FAILED')),
	payment_method text NOT NULL DEFAULT 'wallet' CHECK (payment_method IN ('wallet', 'card')),
	description text CHECK (length(description) <= 200),
	metadata jsonb NOT NULL DEFAULT '{}'
		CHECK (jsonb_typeof(metadata) = 'object' AND octet_length(metadata::text) <= 2048),
	-- the client's reference (metadata.reference), the idempotency key of the payment
	reference text CHECK (length(reference) BETWEEN 1 AND 100),
	request_hash bytea NOT NULL,
	journal_id bigint,			-- the posting (SUCCESS), or the REFUSED journal (FAILED)
	-- held for fraud review, or a card payment's authorisation: the hold that reserves the funds
	hold_id bigint,
	-- a card payment whose authorisation fraud refused: its score, recorded after the refusal
	-- (cards.sql; a posting's or a hold's score is found by its journal or hold)
	fraud_score_id bigint,
	error_code text CHECK (error_code ~ '^[0-9A-Z]{5}$'),
	error_message text CHECK (length(error_message) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	completed_at timestamptz,
	CHECK (refunded_minor BETWEEN 0 AND amount_minor),
	CHECK (status <> 'SUCCESS' OR journal_id IS NOT NULL),
	CHECK ((status = 'FAILED') = (error_code IS NOT NULL))
);
-- GET /transactions: a customer's payments by time (newest first), and a merchant's
CREATE INDEX payments_customer_idx ON pg_wallet.payments
	(customer_owner_id, created_at DESC, id DESC);
-- (its INCLUDE columns let a merchant's analytics over a period read the index only:
-- merchants.sql, merchant_analytics)
CREATE INDEX payments_merchant_idx ON pg_wallet.payments
	(merchant_owner_id, created_at DESC, id DESC)
	INCLUDE (status, currency, amount_minor, customer_principal_id);
-- the release or rejection of a hold for fraud review finds its payment
CREATE INDEX payments_hold_idx ON pg_wallet.payments (hold_id) WHERE hold_id IS NOT NULL;
COMMENT ON TABLE pg_wallet.payments IS
	'Payments of a customer to a merchant from a wallet or a card (Tribble POST '
	'/transactions): the parties, amount and currency, status PROCESSING (held for fraud '
	'review; a card: until the partner answers), SUCCESS or '
	'FAILED, the posting or refused journal, the refunded total, the client''s reference.';

CREATE TABLE pg_wallet.refunds (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the API's refundId: RFD-<yyyymmdd>-<id>
	refund_ref text NOT NULL UNIQUE CHECK (length(refund_ref) BETWEEN 1 AND 64),
	payment_id bigint NOT NULL REFERENCES pg_wallet.payments (id),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	-- a card payment's refund is PENDING until its partner returns the money to the card
	status text NOT NULL DEFAULT 'COMPLETED' CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED')),
	reason text CHECK (length(reason) BETWEEN 1 AND 50),
	description text CHECK (length(description) <= 200),
	requested_by uuid NOT NULL,		-- the principal (the merchant or an admin)
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 100),
	request_hash bytea NOT NULL,
	journal_id bigint,				-- the REFUND journal (a card refund's: its HOLD_CAPTURE)
	error text CHECK (length(error) <= 500),	-- why a card refund FAILED
	created_at timestamptz NOT NULL DEFAULT now(),
	completed_at timestamptz DEFAULT now(),
	CHECK ((status = 'COMPLETED') = (journal_id IS NOT NULL)),
	CHECK ((status = 'COMPLETED') = (completed_at IS NOT NULL))
);
CREATE INDEX refunds_payment_idx ON pg_wallet.refunds (payment_id, id);
COMMENT ON TABLE pg_wallet.refunds IS
	'Refunds of a payment (Tribble POST /transactions/:id/refund): a wallet payment''s is one '
	'REFUND journal from the merchant''s account back to the customer''s wallet, posted at '
	'once; a card payment''s is PENDING (card_refunds) until its partner returns the money to '
	'the card, then COMPLETED or FAILED.';
-- Receipts (issue 13; the Tribble spec's "Receipts"): one signed receipt per posted journal,
-- issued when first asked for. Tables only; the functions are in payments/receipts.sql.

-- The keys receipts are signed with (HMAC-SHA256): one active, created on first use from
-- pg_strong_random; older ones kept so that their receipts still verify. Never leave the
-- SECURITY DEFINER functions (core/grants.sql revokes the schema's tables from PUBLIC).
CREATE TABLE pg_wallet.receipt_keys (
	id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	secret bytea NOT NULL CHECK (octet_length(secret) = 32),
	is_active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX receipt_keys_one_active ON pg_wallet.receipt_keys (is_active)
	WHERE is_active;
COMMENT ON TABLE pg_wallet.receipt_keys IS
	'Secrets receipts are signed with (HMAC-SHA256); one active. Rotate with '
	'pg_wallet.receipt_rotate_key(); old keys still verify their receipts.';

CREATE TABLE pg_wallet.receipts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the public id: "rcpt-" and 32 hex digits of pg_strong_random (not guessable)
	receipt_id text NOT NULL UNIQUE CHECK (receipt_id ~ '^rcpt-[0-9a-f]{32}$'),
	journal_id bigint NOT NULL UNIQUE,
	-- what the receipt says, as signed: its text form (jsonb's, which is canonical: keys
	-- ordered, one spacing) is the HMAC's input
	document jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object'),
	key_id integer NOT NULL REFERENCES pg_wallet.receipt_keys (id),
	signature text NOT NULL CHECK (signature ~ '^v1\.[0-9]+\.[A-Za-z0-9_-]{43}$'),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pg_wallet.receipts IS
	'One signed receipt per posted journal (issued on first request): the document as signed, '
	'its signature ("v1.<key id>.<base64url HMAC-SHA256 of its canonical text>"). Never updated.';

-- Card payments (payments/cards_tables.sql)
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

INSERT INTO pg_wallet.account_purposes (code, description) VALUES
	('CARD_FUNDING', 'a user''s card payments in flight: held at authorisation, funded by the '
		'card partner''s settlement at capture; zero when none is open');

-- the partners layer's outbox and callbacks reach card payments through this row
INSERT INTO pg_wallet.partner_subject_kinds (kind, callback_prefix, open_function,
	answer_function, callback_function)
VALUES ('card_auth', 'card', '_card_auth_open', '_card_payment_answered', '_card_callback');

CREATE TABLE pg_wallet.card_payments (
	payment_id bigint PRIMARY KEY REFERENCES pg_wallet.payments (id),
	payment_method_id uuid NOT NULL REFERENCES pg_wallet.payment_methods (id),
	partner_id text NOT NULL REFERENCES pg_wallet.partners (id),
	funding_account_id bigint NOT NULL,		-- the customer's CARD_FUNDING account
	hold_id bigint UNIQUE,					-- NULL when the authorisation was refused here
	-- what the card is charged: the payment's amount and its TRANSFER fee
	total_minor bigint NOT NULL CHECK (total_minor > 0),
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent_to_partner',
		'captured', 'failed', 'expired', 'refused')),
	partner_reference text CHECK (length(partner_reference) <= 128),	-- processorChargeId
	funding_journal_id bigint,			-- the CARD_SETTLEMENT journal of the capture
	error text CHECK (length(error) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	sent_at timestamptz,
	closed_at timestamptz,
	CHECK ((state = 'captured') = (funding_journal_id IS NOT NULL)),
	CHECK ((state = 'refused') = (hold_id IS NULL))
);
COMMENT ON TABLE pg_wallet.card_payments IS
	'The card side of a card payment: the saved card, the card partner, the customer''s card '
	'funding account and the authorisation hold on it (captured on the partner''s success '
	'callback, voided on its failure, expired by the holds expiry), the amount charged to the '
	'card (amount + TRANSFER fee), the partner''s charge id. Never a card number.';

-- the partners layer's outbox and callbacks reach card refunds through this row
INSERT INTO pg_wallet.partner_subject_kinds (kind, callback_prefix, open_function,
	answer_function, callback_function)
VALUES ('card_refund', 'card_refund', '_card_refund_open', '_card_refund_answered',
	'_card_refund_callback');

-- A refund of a card payment goes back to the card through the partner that charged it: the
-- refunded amount is held on the merchant's account (counterpart the partner's settlement
-- account) while the partner works, posted when it confirms, voided when it fails.
CREATE TABLE pg_wallet.card_refunds (
	refund_id bigint PRIMARY KEY REFERENCES pg_wallet.refunds (id),
	payment_id bigint NOT NULL REFERENCES pg_wallet.card_payments (payment_id),
	partner_id text NOT NULL REFERENCES pg_wallet.partners (id),
	hold_id bigint NOT NULL UNIQUE,			-- on the merchant's account
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent_to_partner',
		'completed', 'failed', 'expired')),
	partner_reference text CHECK (length(partner_reference) <= 128),
	expires_at timestamptz NOT NULL,
	sent_at timestamptz,
	closed_at timestamptz
);
COMMENT ON TABLE pg_wallet.card_refunds IS
	'The card side of a card payment''s refund: the partner that charged the card, the hold '
	'on the merchant''s account (posted to the partner''s settlement account on its success '
	'callback, voided on its failure, expired by the holds expiry), the partner''s refund id.';
-- Merchants (issue 14; tribble-rest-api.md "Merchants" and "Admin"): tables only; the functions
-- are in payments/merchants.sql.
--
-- A merchant is what payments pay (payments.sql's _payment_merchant): a principal of role
-- merchant on an owner of kind merchant. A merchant registered by a user (POST
-- /merchants/register) has a merchants row: the business, its bank account, its KYC review
-- (PENDING until an admin approves or rejects it: a merchant that is not APPROVED is not paid,
-- MERCHANT_INACTIVE), its settlement settings, and the user who registered it, who acts for it.
-- A merchant made by create_principal('merchant', ...) has no row: the operator vouched for
-- it, so nothing here gates it.

CREATE TABLE pg_wallet.merchants (
	-- the merchantId: the merchant's principal (role merchant, no credentials of its own)
	id uuid PRIMARY KEY REFERENCES pg_wallet.principals (id),
	owner_id bigint NOT NULL UNIQUE,		-- the merchant's owner (kind merchant)
	registered_by uuid NOT NULL REFERENCES pg_wallet.principals (id),	-- a user: acts for it
	business_name text NOT NULL CHECK (length(business_name) BETWEEN 2 AND 120),
	entity_type text NOT NULL CHECK (entity_type IN ('sole_proprietor', 'partnership',
		'limited_company', 'public_company', 'ngo', 'cooperative')),
	tax_id text NOT NULL UNIQUE CHECK (tax_id ~ '^[A-Z0-9-]{5,20}$'),
	industry text NOT NULL CHECK (industry ~ '^[a-z][a-z_]{1,39}$'),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),	-- its collections and settlement
	bank_code text NOT NULL CHECK (bank_code ~ '^[0-9]{3,6}$'),
	bank_account_number text NOT NULL CHECK (bank_account_number ~ '^[0-9]{6,20}$'),
	bank_account_holder text NOT NULL CHECK (length(bank_account_holder) BETWEEN 2 AND 100),
	bank_verified boolean NOT NULL DEFAULT false,	-- by the admin who approved the KYC
	risk_level text NOT NULL CHECK (risk_level IN ('low', 'medium', 'high')),
	kyc_status text NOT NULL DEFAULT 'PENDING'
		CHECK (kyc_status IN ('PENDING', 'APPROVED', 'REJECTED')),
	settlement_frequency text NOT NULL DEFAULT 'daily'
		CHECK (settlement_frequency IN ('daily', 'weekly')),
	settlement_minimum_minor bigint NOT NULL DEFAULT 0 CHECK (settlement_minimum_minor >= 0),
	-- the settlement fee in basis points (0.5 % = 50), set by admins
	settlement_fee_bp integer NOT NULL DEFAULT 50 CHECK (settlement_fee_bp BETWEEN 0 AND 1000),
	settlement_hold_days smallint NOT NULL DEFAULT 1
		CHECK (settlement_hold_days BETWEEN 0 AND 30),
	submitted_at timestamptz NOT NULL DEFAULT now(),
	reviewed_at timestamptz,
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((kyc_status = 'PENDING') = (reviewed_at IS NULL))
);
CREATE INDEX merchants_registered_by_idx ON pg_wallet.merchants (registered_by);
-- the admins' queue (GET /admin/merchants/pending-kyc), oldest first
CREATE INDEX merchants_pending_idx ON pg_wallet.merchants (submitted_at, id)
	WHERE kyc_status = 'PENDING';
COMMENT ON TABLE pg_wallet.merchants IS
	'Merchants registered by users (POST /merchants/register): the business (name, entity '
	'type, tax id, industry), its bank account (shown masked), its risk level, its KYC review '
	'(PENDING, APPROVED by an admin: paid from then on; REJECTED), its settlement settings '
	'and the user who registered it and acts for it.';

-- The admins' decisions on merchants' KYC: who, when, what, why (never updated or deleted).
CREATE TABLE pg_wallet.merchant_reviews (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	merchant_id uuid NOT NULL REFERENCES pg_wallet.merchants (id),
	decision text NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
	reviewed_by uuid NOT NULL REFERENCES pg_wallet.principals (id),
	reason text CHECK (reason ~ '^[a-z][a-z0-9_]{1,49}$'),	-- a rejection's reason code
	message text CHECK (length(message) BETWEEN 1 AND 500),	-- the notes, or why
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((decision = 'REJECTED') = (reason IS NOT NULL))
);
CREATE INDEX merchant_reviews_merchant_idx ON pg_wallet.merchant_reviews (merchant_id, id);
COMMENT ON TABLE pg_wallet.merchant_reviews IS
	'Audit trail of merchant KYC decisions (POST /admin/merchants/:id/approve and /reject): '
	'the admin, the decision, the reason code and message or notes, when.';

-- Disputes and chargebacks (payments/disputes_tables.sql).
CREATE TABLE pg_wallet.disputes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the API's disputeId: DSP-<yyyymmdd>-<id>
	dispute_ref text NOT NULL UNIQUE CHECK (length(dispute_ref) BETWEEN 1 AND 64),
	payment_id bigint NOT NULL UNIQUE REFERENCES pg_wallet.payments (id),
	opened_by uuid NOT NULL,			-- the customer's principal that opened it
	merchant_owner_id bigint NOT NULL,	-- the payment's (its merchant's analytics read it)
	reason text NOT NULL CHECK (reason IN ('product_not_received', 'product_not_as_described',
		'unauthorized', 'duplicate_charge', 'incorrect_amount', 'cancelled_subscription',
		'credit_not_processed', 'other')),
	description text CHECK (length(description) BETWEEN 1 AND 1000),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),	-- what was not refunded then
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'INVESTIGATING', 'RESOLVED')),
	request_hash bytea NOT NULL,		-- a retried opening with the same fields is a replay
	response_due_at timestamptz NOT NULL,	-- the merchant's response deadline
	due_at timestamptz NOT NULL,			-- the dispute's deadline (the spec's "deadline")
	investigation_started_at timestamptz,	-- the first evidence on file
	merchant_response text CHECK (length(merchant_response) BETWEEN 1 AND 1000),
	merchant_responded_at timestamptz,
	resolution text CHECK (resolution IN ('APPROVED', 'REJECTED')),
	resolution_notes text CHECK (length(resolution_notes) BETWEEN 1 AND 1000),
	resolved_by uuid,					-- the admin
	resolved_at timestamptz,
	refund_id bigint REFERENCES pg_wallet.refunds (id),	-- an APPROVED one's chargeback
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((status = 'RESOLVED') = (resolution IS NOT NULL)),
	CHECK ((status = 'RESOLVED') = (resolved_at IS NOT NULL AND resolved_by IS NOT NULL)),
	CHECK ((resolution = 'APPROVED') = (refund_id IS NOT NULL)),
	CHECK ((status = 'OPEN') = (investigation_started_at IS NULL)),
	CHECK (due_at > response_due_at AND response_due_at > created_at)
);
-- a merchant's disputes over a period (dashboard and analytics)
CREATE INDEX disputes_merchant_idx ON pg_wallet.disputes (merchant_owner_id, created_at);
COMMENT ON TABLE pg_wallet.disputes IS
	'Disputes of payments by their customers (Tribble POST /transactions/:id/dispute): the '
	'reason, the amount disputed, OPEN, INVESTIGATING (evidence on file) or RESOLVED, the '
	'merchant''s response and its deadline, the admin''s resolution (APPROVED: a chargeback, '
	'refund_id; REJECTED), who and when.';

-- Evidence of a dispute: references to files kept elsewhere (a document store), never the
-- files themselves, with what they show; never updated or deleted.
CREATE TABLE pg_wallet.dispute_evidence (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the API's evidenceId: EVD-<id>
	evidence_ref text NOT NULL UNIQUE CHECK (length(evidence_ref) BETWEEN 1 AND 64),
	dispute_id bigint NOT NULL REFERENCES pg_wallet.disputes (id),
	submitted_by uuid NOT NULL,
	party text NOT NULL CHECK (party IN ('customer', 'merchant', 'admin')),
	type text NOT NULL CHECK (type IN ('proof_of_order', 'proof_of_delivery', 'receipt',
		'communication', 'refund_policy', 'photo', 'bank_statement', 'other')),
	file_id text CHECK (file_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),	-- NULL: a statement
	file_url text CHECK (file_url ~ '^https://[^[:space:]]+$' AND length(file_url) <= 500),
	file_size bigint CHECK (file_size BETWEEN 0 AND 26214400),	-- bytes, as declared
	description text CHECK (length(description) BETWEEN 1 AND 1000),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK (file_id IS NOT NULL OR description IS NOT NULL)
);
CREATE INDEX dispute_evidence_dispute_idx ON pg_wallet.dispute_evidence (dispute_id, id);
COMMENT ON TABLE pg_wallet.dispute_evidence IS
	'Evidence of a dispute (Tribble POST /disputes/:id/evidence, and the evidenceFiles of '
	'its opening): a file reference (id, https URL, declared size) or a statement, its type '
	'and description, the party that gave it, when.';

-- The shape of an event type, <domain>[:<name>] in lower case (events and event_queue check
-- it): written once, in C (partners/events_queue.c), which the direct writes call too.
CREATE FUNCTION pg_wallet._event_type_ok(event_type text) RETURNS boolean
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'wallet_event_type_ok';
COMMENT ON FUNCTION pg_wallet._event_type_ok(text) IS
	'Internal: whether an event type has the shape <domain>[:<name>] (lower case, _ allowed; '
	'2 to 40 and 1 to 40 characters): the CHECK of events and event_queue.';

ALTER TABLE pg_wallet.events DROP CONSTRAINT events_event_type_check,
	ADD CONSTRAINT events_event_type_check CHECK (pg_wallet._event_type_ok(event_type));

-- Queued events (partners/events.sql): written in the transaction, sequenced by the worker.
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

-- Airtime top-ups (payments/bills_tables.sql).
-- the partners layer's outbox and callbacks reach top-ups through this row
INSERT INTO pg_wallet.partner_subject_kinds (kind, callback_prefix, open_function,
	answer_function, callback_function)
VALUES ('airtime_topup', 'airtime', '_airtime_topup_open', '_airtime_topup_answered',
	'_airtime_topup_callback');

CREATE TABLE pg_wallet.airtime_providers (
	id text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_-]{1,31}$'),	-- the API's providerId
	name text NOT NULL CHECK (length(name) BETWEEN 2 AND 80),
	country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
	dial_code text NOT NULL CHECK (dial_code ~ '^[1-9][0-9]{0,3}$'),	-- 234, 254
	-- the digits of a national number after the dial code (Kenya 9, Nigeria 10)
	phone_digits smallint NOT NULL CHECK (phone_digits BETWEEN 4 AND 13),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	min_minor bigint NOT NULL CHECK (min_minor > 0),
	max_minor bigint NOT NULL,
	-- the amounts sold (minor units), in order; NULL: any amount in the range
	denominations bigint[] CHECK (cardinality(denominations) BETWEEN 1 AND 20),
	partner_id text NOT NULL REFERENCES pg_wallet.partners (id),	-- service airtime
	logo_url text CHECK (logo_url ~ '^https://[^[:space:]]+$' AND length(logo_url) <= 300),
	active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK (max_minor >= min_minor)
);
COMMENT ON TABLE pg_wallet.airtime_providers IS
	'Mobile networks airtime is sold for (Tribble GET /bills/airtime/providers): name, '
	'country, dialling code and national number length, currency, amount range and denominations, the partner of '
	'service airtime that delivers, active.';

CREATE TABLE pg_wallet.airtime_topups (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- the API's transactionId: BILL-<yyyymmdd>-<id>
	topup_ref text NOT NULL UNIQUE CHECK (length(topup_ref) BETWEEN 1 AND 64),
	owner_id bigint NOT NULL,
	principal_id uuid NOT NULL,
	provider_id text NOT NULL REFERENCES pg_wallet.airtime_providers (id),
	phone_number text NOT NULL CHECK (length(phone_number) BETWEEN 1 AND 32),	-- as given
	phone_e164 text NOT NULL CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	fee_minor bigint NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
	account_id bigint NOT NULL,				-- the user's wallet
	partner_id text NOT NULL REFERENCES pg_wallet.partners (id),
	hold_id bigint NOT NULL UNIQUE,
	status text NOT NULL DEFAULT 'PROCESSING'
		CHECK (status IN ('PROCESSING', 'SUCCESS', 'FAILED')),
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent_to_partner',
		'completed', 'failed', 'expired')),
	reference text CHECK (length(reference) BETWEEN 1 AND 100),	-- the client's: idempotency
	request_hash bytea NOT NULL,
	partner_reference text CHECK (length(partner_reference) <= 128),
	journal_id bigint,				-- the hold's posting (SUCCESS)
	error text CHECK (length(error) <= 500),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	sent_at timestamptz,
	completed_at timestamptz,
	CHECK ((status = 'SUCCESS') = (journal_id IS NOT NULL)),
	CHECK ((status = 'PROCESSING') = (completed_at IS NULL))
);
-- GET /bills/topups: a user's top-ups, newest first
CREATE INDEX airtime_topups_owner_idx ON pg_wallet.airtime_topups
	(owner_id, created_at DESC, id DESC);
COMMENT ON TABLE pg_wallet.airtime_topups IS
	'Airtime top-ups (Tribble POST /bills/airtime/topup): the user, the provider and the '
	'phone number, the amount and fee held on the user''s wallet (hold_id) while the partner '
	'delivers, PROCESSING, SUCCESS (the hold posted) or FAILED (voided or expired, with why), '
	'the partner''s reference.';

-- Merchant settlement runs (payments/settlements_tables.sql).
CREATE TABLE pg_wallet.settlements (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- STL-<yyyymmdd>-<id>
	settlement_ref text NOT NULL UNIQUE CHECK (length(settlement_ref) BETWEEN 1 AND 64),
	merchant_id uuid NOT NULL REFERENCES pg_wallet.merchants (id),
	period date NOT NULL,			-- the day settled (weekly: its Monday)
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	available_minor bigint NOT NULL,	-- the collections' available balance then
	held_minor bigint NOT NULL CHECK (held_minor >= 0),	-- payments still in the hold period
	gross_minor bigint NOT NULL CHECK (gross_minor >= 0),	-- settled: available - held
	fee_minor bigint NOT NULL CHECK (fee_minor >= 0),
	net_minor bigint NOT NULL CHECK (net_minor >= 0),	-- paid out: gross - fee
	status text NOT NULL CHECK (status IN ('SKIPPED', 'PROCESSING', 'COMPLETED', 'FAILED')),
	reason text CHECK (length(reason) <= 500),	-- why SKIPPED or FAILED
	fee_journal_id bigint,			-- the SETTLEMENT_FEE journal
	withdrawal_id bigint UNIQUE REFERENCES pg_wallet.withdrawals (id),	-- the payout
	created_at timestamptz NOT NULL DEFAULT now(),
	completed_at timestamptz,
	UNIQUE (merchant_id, period),
	CHECK (gross_minor = fee_minor + net_minor OR status IN ('SKIPPED', 'FAILED')),
	CHECK ((status IN ('PROCESSING', 'COMPLETED')) = (withdrawal_id IS NOT NULL)
		OR status = 'FAILED')
);
COMMENT ON TABLE pg_wallet.settlements IS
	'Settlement runs (settlement_run): per merchant and period, what its collections held, '
	'what was still in the hold period, what was settled, the fee and the payout to its bank '
	'account (a withdrawal through a bank_transfer partner): SKIPPED (below the minimum, '
	'nothing to settle), PROCESSING (the payout with its partner), COMPLETED, FAILED (with '
	'why; the fee given back).';

-- Subscriptions (payments/subscriptions_tables.sql).
CREATE TABLE pg_wallet.subscription_plans (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	plan_ref text NOT NULL UNIQUE CHECK (length(plan_ref) BETWEEN 1 AND 64),	-- PLN-<id>
	merchant_owner_id bigint NOT NULL,
	merchant_principal_id uuid NOT NULL,	-- the API's merchantId
	name text NOT NULL CHECK (length(name) BETWEEN 2 AND 100),
	description text CHECK (length(description) <= 500),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'yearly')),
	billing_interval smallint NOT NULL DEFAULT 1 CHECK (billing_interval BETWEEN 1 AND 365),
	trial_days smallint NOT NULL DEFAULT 0 CHECK (trial_days BETWEEN 0 AND 365),
	trial_amount_minor bigint NOT NULL DEFAULT 0 CHECK (trial_amount_minor >= 0),
	setup_fee_minor bigint NOT NULL DEFAULT 0 CHECK (setup_fee_minor >= 0),
	max_charges integer CHECK (max_charges > 0),	-- NULL: until cancelled
	plan_type text NOT NULL DEFAULT 'fixed' CHECK (plan_type IN ('fixed')),
	active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_plans_merchant_idx ON pg_wallet.subscription_plans
	(merchant_owner_id, id);
COMMENT ON TABLE pg_wallet.subscription_plans IS
	'Subscription plans of merchants (Tribble POST /subscription-plans): amount and currency, '
	'billing frequency and interval, trial days and amount, setup fee, maximum charges, '
	'active.';

CREATE TABLE pg_wallet.subscriptions (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subscription_ref text NOT NULL UNIQUE CHECK (length(subscription_ref) BETWEEN 1 AND 64),
	plan_id bigint NOT NULL REFERENCES pg_wallet.subscription_plans (id),
	customer_owner_id bigint NOT NULL,
	customer_principal_id uuid NOT NULL,	-- the API's customerId
	wallet_account_id bigint,				-- the wallet charged, or:
	payment_method_id uuid REFERENCES pg_wallet.payment_methods (id),	-- the card charged
	-- the day the schedule is counted from: the first charge (after the trial), so that a
	-- monthly plan anchored on the 31st charges on the last day of shorter months
	anchor_date date NOT NULL,
	start_date date NOT NULL,
	trial_end_date date,					-- NULL: no trial
	next_charge_date date,				-- NULL once it ended
	-- the period next_charge_date is: anchor_date plus this many intervals
	period_index integer NOT NULL DEFAULT 0 CHECK (period_index >= 0),
	next_attempt_date date,				-- PAST_DUE: the dunning schedule's next attempt
	charge_count integer NOT NULL DEFAULT 0,	-- periods charged (the setup fee aside)
	status text NOT NULL DEFAULT 'ACTIVE'
		CHECK (status IN ('ACTIVE', 'PAST_DUE', 'PAUSED', 'CANCELLED', 'COMPLETED')),
	auto_renew boolean NOT NULL DEFAULT true,
	paused_at timestamptz,
	pause_reason text CHECK (length(pause_reason) <= 200),
	cancelled_at timestamptz,
	cancel_reason text CHECK (length(cancel_reason) <= 200),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((status IN ('CANCELLED', 'COMPLETED')) = (next_charge_date IS NULL)),
	CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL)),
	CHECK ((wallet_account_id IS NULL) <> (payment_method_id IS NULL))
);
-- one live subscription of a customer to a plan (SUBSCRIPTION_ACTIVE otherwise)
CREATE UNIQUE INDEX subscriptions_live_idx ON pg_wallet.subscriptions
	(customer_owner_id, plan_id) WHERE status IN ('ACTIVE', 'PAST_DUE', 'PAUSED');
-- the billing run: what is due
CREATE INDEX subscriptions_due_idx ON pg_wallet.subscriptions (next_charge_date, id)
	WHERE status IN ('ACTIVE', 'PAST_DUE');
CREATE INDEX subscriptions_customer_idx ON pg_wallet.subscriptions (customer_owner_id, id);
COMMENT ON TABLE pg_wallet.subscriptions IS
	'Customers'' subscriptions to plans (Tribble POST /subscriptions): the wallet or card '
	'charged, the '
	'anchor day of the schedule, trial end, next charge date, charges made, ACTIVE, PAST_DUE '
	'(a charge failed, retried), PAUSED, CANCELLED (with why), COMPLETED (max charges).';

CREATE TABLE pg_wallet.subscription_charges (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	charge_ref text NOT NULL UNIQUE CHECK (length(charge_ref) BETWEEN 1 AND 64),
	subscription_id bigint NOT NULL REFERENCES pg_wallet.subscriptions (id),
	-- the billing period: its scheduled date (the setup fee: the start date, kind setup)
	scheduled_date date NOT NULL,
	kind text NOT NULL DEFAULT 'period' CHECK (kind IN ('setup', 'trial', 'period')),
	amount_minor bigint NOT NULL CHECK (amount_minor > 0),
	currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	-- PENDING: its payment is held for fraud review (the review decides)
	status text NOT NULL CHECK (status IN ('SUCCEEDED', 'PENDING', 'FAILED', 'RETRYING')),
	attempt_count smallint NOT NULL DEFAULT 1 CHECK (attempt_count BETWEEN 1 AND 10),
	next_attempt_date date,				-- RETRYING: the dunning schedule's next day
	payment_id bigint REFERENCES pg_wallet.payments (id),	-- the succeeding payment
	error text CHECK (length(error) <= 500),
	charged_at timestamptz,				-- the actual charge
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (subscription_id, kind, scheduled_date),	-- one charge per period
	CHECK ((status IN ('SUCCEEDED', 'PENDING')) = (payment_id IS NOT NULL)),
	CHECK ((status = 'RETRYING') = (next_attempt_date IS NOT NULL))
);
-- a payment held for fraud review finds the charge it pays when the review ends it
CREATE INDEX subscription_charges_payment_idx ON pg_wallet.subscription_charges (payment_id)
	WHERE status = 'PENDING';
COMMENT ON TABLE pg_wallet.subscription_charges IS
	'One charge per subscription and billing period (and its setup fee): the scheduled date, '
	'the amount, SUCCEEDED (its payment), RETRYING (the next attempt''s day on the dunning '
	'schedule) or FAILED (given up: the subscription cancelled), the attempts, why.';

-- KYC limit counters (issue 20): one row per owner and currency holding the current UTC day
-- and month, instead of one row per period, so a posting finds, locks and writes one row. The
-- counters of the current day and month carry over; those of earlier periods no longer count.
ALTER TABLE pg_wallet.limit_usage
	ADD COLUMN day_start date,
	ADD COLUMN day_amount_minor bigint NOT NULL DEFAULT 0 CHECK (day_amount_minor >= 0),
	ADD COLUMN day_count integer NOT NULL DEFAULT 0 CHECK (day_count >= 0),
	ADD COLUMN month_start date,
	ADD COLUMN month_amount_minor bigint NOT NULL DEFAULT 0 CHECK (month_amount_minor >= 0);
DELETE FROM pg_wallet.limit_usage
WHERE period_start <> CASE period WHEN 'D' THEN (now() AT TIME ZONE 'UTC')::date
                      ELSE date_trunc('month', now() AT TIME ZONE 'UTC')::date END;
-- the day's row takes the month's counter, then the month's row goes
UPDATE pg_wallet.limit_usage u
SET day_start = u.period_start, day_amount_minor = u.amount_minor, day_count = u.tx_count,
    month_start = date_trunc('month', now() AT TIME ZONE 'UTC')::date,
    month_amount_minor = coalesce((SELECT m.amount_minor FROM pg_wallet.limit_usage m
                                   WHERE m.owner_id = u.owner_id AND m.currency = u.currency
                                     AND m.period = 'M'), 0)
WHERE u.period = 'D';
DELETE FROM pg_wallet.limit_usage m
WHERE m.period = 'M' AND EXISTS (SELECT FROM pg_wallet.limit_usage d
                                 WHERE d.owner_id = m.owner_id AND d.currency = m.currency
                                   AND d.period = 'D');
-- a month's row without a row for today: nothing used today yet
UPDATE pg_wallet.limit_usage
SET day_start = (now() AT TIME ZONE 'UTC')::date, month_start = period_start,
    month_amount_minor = amount_minor
WHERE period = 'M';
ALTER TABLE pg_wallet.limit_usage
	DROP CONSTRAINT limit_usage_pkey,
	DROP COLUMN period,
	DROP COLUMN period_start,
	DROP COLUMN amount_minor,
	DROP COLUMN tx_count,
	ALTER COLUMN day_start SET NOT NULL,
	ALTER COLUMN month_start SET NOT NULL,
	ADD PRIMARY KEY (owner_id, currency);
COMMENT ON TABLE pg_wallet.limit_usage IS
	'What an owner moved out of its accounts per currency in the current UTC day and month, '
	'for the KYC tier limits. Written only by the posting core.';
