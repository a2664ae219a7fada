-- Holds (C, src/core/holds.c): two-phase reservations.

CREATE OR REPLACE FUNCTION pg_wallet.place_hold(
	account_number text,
	amount numeric,
	counterpart text,
	idempotency_key text DEFAULT NULL,
	expires_at timestamptz DEFAULT NULL,
	description text DEFAULT NULL,
	fee_type text DEFAULT NULL,
	agent_account text DEFAULT NULL)
RETURNS pg_wallet.hold_info
AS 'MODULE_PATHNAME', 'wallet_place_hold'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.place_hold(text, numeric, text, text, timestamptz, text, text,
	text) IS
	'Reserve an amount of an account''s available balance for a later posting to the '
	'counterpart (pending_debit rises). With a fee_type (e.g. WITHDRAWAL), its fee is quoted '
	'now, reserved too and charged when the hold is posted (an agent takes its commission '
	'share), and the amount counts against the owner''s KYC limits (given back when the hold is '
	'voided or expires the same day). Refused like a debit (WL001, WL002, WL044). Idempotent by '
	'key.';

CREATE OR REPLACE FUNCTION pg_wallet.post_hold(
	hold_id bigint,
	amount numeric DEFAULT NULL,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_post_hold'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.post_hold(bigint, numeric, text, text) IS
	'Post an ACTIVE hold: one HOLD_CAPTURE journal moves the amount (default: all of it; less '
	'is a partial capture and the rest is released) and releases the reservation.';

CREATE OR REPLACE FUNCTION pg_wallet.void_hold(hold_id bigint, reason text DEFAULT NULL)
RETURNS pg_wallet.hold_info
AS 'MODULE_PATHNAME', 'wallet_void_hold'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.void_hold(bigint, text) IS
	'Release an ACTIVE hold''s reservation (VOIDED). Voiding a VOIDED hold returns it again.';

CREATE OR REPLACE FUNCTION pg_wallet.expire_holds(max_holds integer DEFAULT 1000)
RETURNS integer
AS 'MODULE_PATHNAME', 'wallet_expire_holds'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.expire_holds(integer) IS
	'Release up to max_holds ACTIVE holds past their expires_at (EXPIRED); returns how many.';

CREATE OR REPLACE FUNCTION pg_wallet.get_hold(hold_id bigint)
RETURNS pg_wallet.hold_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result pg_wallet.hold_info;
BEGIN
	SELECT h.id, a.account_number, c.account_number, a.currency,
		pg_wallet.minor_to_numeric(h.amount, cur.exponent),
		pg_wallet.minor_to_numeric(h.posted_amount, cur.exponent),
		h.status, h.expires_at, h.journal_id,
		pg_wallet.receipt_code(j.id, j.created_at), false, h.created_at, h.closed_at,
		pg_wallet.minor_to_numeric(h.fee_minor, cur.exponent)
	INTO result
	FROM pg_wallet.holds h
	JOIN pg_wallet.accounts a ON a.id = h.account_id
	JOIN pg_wallet.accounts c ON c.id = h.counterpart_account_id
	JOIN pg_wallet.currencies cur ON cur.code = a.currency
	LEFT JOIN pg_wallet.journals j ON j.id = h.journal_id
	WHERE h.id = hold_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'hold % does not exist', hold_id USING ERRCODE = 'WL016';
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_hold(bigint) IS 'A hold by id, or error WL016.';

-- Reversals (C, src/core/reversal.c).

CREATE OR REPLACE FUNCTION pg_wallet.reverse_journal(
	receipt_code text,
	idempotency_key text DEFAULT NULL,
	reason text DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_reverse_journal'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.reverse_journal(text, text, text) IS
	'Reverse a posted journal once with mirror entries (journal type REVERSAL). Refused when '
	'already reversed (WL006), when it is itself a reversal (WL007), or when an account would '
	'fall below its floor (WL001).';

CREATE OR REPLACE FUNCTION pg_wallet.force_reverse_journal(
	receipt_code text,
	idempotency_key text DEFAULT NULL,
	reason text DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_force_reverse_journal'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.force_reverse_journal(text, text, text) IS
	'Admin only: reverse_journal without the funds check (an account may go below its floor).';

CREATE OR REPLACE FUNCTION pg_wallet.fold_deltas(
	account_number text DEFAULT NULL,
	max_accounts integer DEFAULT 1000)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_fold_deltas'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.fold_deltas(text, integer) IS
	'Fold the pending deltas of a DEFERRED or striped account (or of up to max_accounts of '
	'them) into the stored balance. Balances read the same before and after.';

-- Striped hot accounts (src/core/ledger_stripes.c, docs/operations.md "Hot accounts").
CREATE OR REPLACE FUNCTION pg_wallet.set_account_stripes(
	account_number text,
	stripes integer)
RETURNS integer
AS 'MODULE_PATHNAME', 'wallet_set_account_stripes'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.set_account_stripes(text, integer) IS
	'Admin only: give an account 0 to 64 stripes (0: not striped). Its debits then take a '
	'stripe''s allowance with SKIP LOCKED instead of its row lock, and its credits are deltas; '
	'waits for the postings in flight, folds its deltas and deals half its available money out '
	'to the stripes. Balances, statements and verify_ledger() read the same.';

CREATE OR REPLACE FUNCTION pg_wallet.rebalance_stripes(
	account_number text DEFAULT NULL,
	max_accounts integer DEFAULT 100)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_rebalance_stripes'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.rebalance_stripes(text, integer) IS
	'Admin only (and the expiry worker): consolidate and refill the stripes of a striped '
	'account, or of up to max_accounts whose smallest stripe holds less than half its share '
	'of the refill (half the available money, dealt out evenly). Returns how many were '
	'rebalanced.';
