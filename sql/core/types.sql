-- Composite types returned by the API. Amounts are numeric with the currency's exponent as
-- scale; internally everything is int64 minor units.

CREATE TYPE pg_wallet.journal_result AS (
	journal_id bigint,
	receipt_code text,
	status text,            -- POSTED, REFUSED or HELD (kept for review by a rule: hold_id)
	replayed boolean,       -- true when an idempotency key returned an earlier result
	sqlstate text,          -- set when REFUSED
	message text,           -- set when REFUSED or HELD
	created_at timestamptz,
	fee numeric,            -- fee charged by the money rules (POSTED)
	agent_commission numeric, -- part of the fee credited to an agent (POSTED)
	hold_id bigint          -- HELD: the hold that reserves the funds until the review
);

CREATE TYPE pg_wallet.fee_quote AS (
	fee numeric,
	currency text,
	applied_rate numeric,
	fee_type text,
	bearer text,            -- SENDER, RECEIVER or SPLIT
	sender_fee numeric,
	receiver_fee numeric,
	agent_commission numeric,
	schedule_id bigint      -- NULL: no schedule applies, no fee
);

CREATE TYPE pg_wallet.batch_item_result AS (
	item integer,           -- 1-based position in the batch
	status text,            -- POSTED, REFUSED, HELD or SKIPPED (atomic batch never returns these)
	journal_id bigint,
	receipt_code text,
	replayed boolean,
	sqlstate text,
	message text,
	hold_id bigint          -- HELD: the hold that reserves the funds until the review
);

CREATE TYPE pg_wallet.account_info AS (
	account_id bigint,
	account_number text,
	owner_id bigint,
	currency text,
	purpose text,
	name text,
	minimum_balance numeric,
	can_overdraw boolean,
	credit_mode text,
	status text,
	status_reason text,
	created_at timestamptz,
	updated_at timestamptz
);

CREATE TYPE pg_wallet.balance_info AS (
	account_number text,
	currency text,
	balance numeric,
	available_balance numeric,
	pending_debit numeric,
	pending_credit numeric,
	last_transaction_at timestamptz
);

CREATE TYPE pg_wallet.hold_info AS (
	hold_id bigint,
	account_number text,
	counterpart_account_number text,
	currency text,
	amount numeric,
	posted_amount numeric,
	status text,            -- ACTIVE, POSTED, VOIDED, EXPIRED
	expires_at timestamptz,
	journal_id bigint,
	receipt_code text,
	replayed boolean,
	created_at timestamptz,
	closed_at timestamptz,
	fee numeric             -- reserved with the amount, charged when the hold is posted
);

CREATE TYPE pg_wallet.entry_info AS (
	entry_id bigint,
	journal_id bigint,
	receipt_code text,
	journal_type text,
	account_number text,
	currency text,
	side text,              -- DR or CR
	amount numeric,
	balance_after numeric,  -- NULL for a not yet folded credit to a DEFERRED account
	description text,
	created_at timestamptz
);

CREATE TYPE pg_wallet.ledger_violation AS (
	check_name text,
	subject text,
	detail text
);

CREATE TYPE pg_wallet.conversion_result AS (
	journal_id bigint,
	receipt_code text,
	status text,
	replayed boolean,
	source_currency text,
	dest_currency text,
	source_amount numeric,
	converted_amount numeric,
	fx_rate numeric,        -- the effective rate applied: rate x (1 - spread)
	fx_rate_id bigint,
	fee numeric,            -- in the source currency, paid by the sender
	created_at timestamptz
);

-- A partner as get_partners() shows it (never a secret).
CREATE TYPE pg_wallet.partner_info AS (
	id text,
	name text,
	country text,
	service text,
	status text,
	adapter text,
	base_url text,
	currencies text[],
	can_deposit boolean,
	can_payout boolean,
	priority integer,
	created_at timestamptz
);
