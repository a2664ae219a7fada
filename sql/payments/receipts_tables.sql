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
