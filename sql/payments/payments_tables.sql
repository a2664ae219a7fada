-- Payments (issue 13; the Tribble spec's "Transactions", "Refunds", "Receipts"): a customer's
-- payment to a merchant, its refunds and its receipt. Tables only; the functions are in
-- payments/payments.sql.
--
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
