-- Bill payments (issue 14; tribble-rest-api.md "Bill Payments"): airtime top-ups. Tables
-- only; the functions are in payments/bills.sql.
--
-- The operator lists the mobile networks it sells airtime for (airtime_providers: amount
-- range, denominations, the partner of service airtime that delivers). A user's top-up holds
-- the amount (and its BILL_PAYMENT fee) on the user's wallet, counterpart the partner's
-- settlement account, and queues the request to the partner in the outbox; the partner's
-- signed callback posts the hold (SUCCESS) or voids it (FAILED), and a partner that never
-- answers lets the hold expire (FAILED): the money leaves the wallet only for airtime
-- delivered.

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
