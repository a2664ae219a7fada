-- Fraud scoring (issue 12, docs/fraud.md): the settings, the per-owner running statistics the
-- posting path scores against (so that no score scans history), known devices, IP
-- reputation ranges, allow/deny rules and one score record per scored request. Written only
-- by the posting path (src/rules/fraud*.c) and the fraud_* administration functions.

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
