-- The posting core (C, src/ledger.c): every movement of money goes through these.
-- All are SECURITY DEFINER: callers cannot write the tables, only call these.

CREATE FUNCTION pg_wallet.post_journal(
	journal_type text,
	legs jsonb,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	record_refusal boolean DEFAULT false)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_post_journal'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.post_journal(text, jsonb, text, text, jsonb, boolean) IS
	'Post a balanced multi-leg journal: legs = [{"account","side":"DR"|"CR","amount",'
	'"description"}], each currency summing to zero. With an idempotency key a retry returns '
	'the first result; record_refusal stores a refusal under the key and returns it (status '
	'REFUSED) instead of raising.';

CREATE FUNCTION pg_wallet.credit(
	account_number text,
	amount numeric,
	counterpart text,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_credit'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.credit(text, numeric, text, text, text, jsonb) IS
	'Credit an account, debiting the counterpart account (journal type CREDIT).';

CREATE FUNCTION pg_wallet.debit(
	account_number text,
	amount numeric,
	counterpart text,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_debit'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.debit(text, numeric, text, text, text, jsonb) IS
	'Debit an account, crediting the counterpart account (journal type DEBIT).';

CREATE FUNCTION pg_wallet.transfer(
	from_account text,
	to_account text,
	amount numeric,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_transfer'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.transfer(text, text, numeric, text, text, jsonb) IS
	'Move an amount between two accounts of the same currency (journal type TRANSFER).';

CREATE FUNCTION pg_wallet.post_transfers(transfers jsonb, atomic boolean DEFAULT true)
RETURNS SETOF pg_wallet.batch_item_result
AS 'MODULE_PATHNAME', 'wallet_post_transfers'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.post_transfers(jsonb, boolean) IS
	'Post up to 5000 transfers [{"from","to","amount","idempotency_key","description",'
	'"metadata"}] in one call and a fixed number of statements. atomic: all or nothing. '
	'Otherwise per item POSTED or REFUSED (refusals recorded under their keys).';
