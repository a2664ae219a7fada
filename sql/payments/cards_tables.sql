-- Card payments (issue 13; the Tribble spec's POST /transactions with a card paymentMethodId):
-- tables only; the functions are in payments/cards.sql, the money model in docs/sql-api.md
-- ("Card payments") and docs/card-payments.md.
--
-- A card payment is a payments row (payment_method 'card') plus one card_payments row that
-- keeps what the card partner needs and says: the saved card it charges, the partner, the
-- customer's card funding account and the hold on it, the amount charged to the card, the
-- partner's charge id. The card number never reaches these tables (payment_methods keeps a
-- keyed token, last 4 digits and brand only).

-- A customer's card funding account (one per owner and currency, made on first use): the
-- account a card authorisation holds and a capture debits, credited at the same time from the
-- card partner's settlement account, so its balance is zero whenever no authorisation is
-- open. It is the customer's own (non-system) account so that the posting core scores and
-- KYC-limits the customer on the hold, as for any debit of the customer's money.
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
