-- Identity, authentication, verification and KYC: types and tables (issue 4).
-- Functions are in sql/identity/*.sql; the C code in src/identity/auth_*.c. No role but the extension owner can
-- read these tables (core/grants.sql): password hashes, signing keys, token and code hashes,
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
	'Password hashes: scrypt$N$r$p$salt$hash (src/identity/auth_password.c). Never readable by an API '
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

