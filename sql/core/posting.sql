-- The posting core (C, src/core/ledger.c): every movement of money goes through these.
-- All are SECURITY DEFINER: callers cannot write the tables, only call these.

CREATE OR REPLACE FUNCTION pg_wallet.post_journal(
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

CREATE OR REPLACE FUNCTION pg_wallet._post_journal_forced(
	journal_type text,
	legs jsonb,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_post_journal_forced'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._post_journal_forced(text, jsonb, text, text, jsonb) IS
	'Internal, granted to no role: post_journal without the funds check (an account may go '
	'below its floor), for the extension''s own functions that decided it must post: a '
	'chargeback against a merchant (payments/disputes.sql).';

CREATE OR REPLACE FUNCTION pg_wallet.credit(
	account_number text,
	amount numeric,
	counterpart text,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	client_service_code text DEFAULT NULL,
	agent_account text DEFAULT NULL,
	record_refusal boolean DEFAULT false)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_credit'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.credit(text, numeric, text, text, text, jsonb, text, text, boolean) IS
	'Credit an account, debiting the counterpart account (journal type CREDIT, fee type '
	'DEPOSIT). With a client service, the account must be its client''s and the service must '
	'allow CREDIT; an agent account takes its commission share of the fee.';

CREATE OR REPLACE FUNCTION pg_wallet.debit(
	account_number text,
	amount numeric,
	counterpart text,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	client_service_code text DEFAULT NULL,
	agent_account text DEFAULT NULL,
	record_refusal boolean DEFAULT false)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_debit'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.debit(text, numeric, text, text, text, jsonb, text, text, boolean) IS
	'Debit an account, crediting the counterpart account (journal type DEBIT, fee type '
	'WITHDRAWAL). With a client service, the account must be its client''s and the service '
	'must allow DEBIT; an agent account takes its commission share of the fee.';

CREATE OR REPLACE FUNCTION pg_wallet.transfer(
	from_account text,
	to_account text,
	amount numeric,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	metadata jsonb DEFAULT NULL,
	client_service_code text DEFAULT NULL,
	agent_account text DEFAULT NULL,
	record_refusal boolean DEFAULT false)
RETURNS pg_wallet.journal_result
AS 'MODULE_PATHNAME', 'wallet_transfer'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.transfer(text, text, numeric, text, text, jsonb, text, text, boolean) IS
	'Move an amount between two accounts of the same currency (journal type TRANSFER, fee type '
	'TRANSFER, charged as its fee schedule says). With a client service, the source must be '
	'its client''s and the service must allow DEBIT. record_refusal (with an idempotency key): '
	'a refusal is returned as status REFUSED and recorded under the key instead of raised, so '
	'every retry gets the same answer; the same holds for credit and debit.';

CREATE OR REPLACE FUNCTION pg_wallet.post_transfers(transfers jsonb, atomic boolean DEFAULT true)
RETURNS SETOF pg_wallet.batch_item_result
AS 'MODULE_PATHNAME', 'wallet_post_transfers'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.post_transfers(jsonb, boolean) IS
	'Post up to 5000 transfers [{"from","to","amount","idempotency_key","description",'
	'"metadata"}] in one call and a fixed number of statements. atomic: all or nothing. '
	'Otherwise per item POSTED or REFUSED (refusals recorded under their keys).';

CREATE OR REPLACE FUNCTION pg_wallet.calculate_fee(
	transaction_type text,
	amount numeric,
	currency text,
	client_service_code text DEFAULT NULL,
	with_agent boolean DEFAULT false)
RETURNS pg_wallet.fee_quote
AS 'MODULE_PATHNAME', 'wallet_calculate_fee'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.calculate_fee(text, numeric, text, text, boolean) IS
	'The fee a posting of this type and amount would charge, computed by the code that charges '
	'it: fee, applied_rate, who bears it, and the agent''s share when with_agent.';
