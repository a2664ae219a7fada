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
