-- Payment methods (issue 13; the Tribble spec's "Payment Methods"): cards kept as a token and
-- the few fields a person recognises, and bank accounts, masked. Tables only; the functions
-- are in payments/methods.sql.
--
-- A card's number is never stored: only card_token, HMAC-SHA256 of the number under the key
-- of payment_card_keys, its last 4 digits, brand and expiry. The CVV is checked for shape and
-- dropped: no column holds it. A keyed hash, not a random token, so that the same card saved
-- twice by one user is found (409); keyed, not a plain SHA-256, because a card number has
-- too few unknown digits (brand and last 4 known) to survive a dictionary of plain hashes.

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
