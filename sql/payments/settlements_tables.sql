-- Merchant settlement runs (issue 14; the spec's "settlementSettings" and the dashboard's
-- "settlements"): tables only; the functions are in payments/settlements.sql.
--
-- A run pays a registered, approved merchant what its collections account holds beyond the
-- payments still in their hold period, less the settlement fee, to its bank account through a
-- partner of service bank_transfer. One run per merchant and period (the day, or the week's
-- Monday for a weekly merchant): the unique key is what makes a run idempotent and a crashed
-- one safe to start again.

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
