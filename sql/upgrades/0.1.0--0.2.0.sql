-- pg_wallet 0.1.0 -> 0.2.0: schema changes only (the function files are replayed after it).

-- One implementation per rule (issue 9): the FX rate choice is _fx_rate, "this account belongs
-- to the caller" _owns/_owned_account, "the owner's default wallet" _owner_wallet.
DROP FUNCTION pg_wallet._fx_mid(text, text);
DROP FUNCTION pg_wallet._cashier_account(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._cashier_wallet(bigint, text);
DROP FUNCTION pg_wallet._waas_account(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._waas_owns(pg_wallet.auth_principal, bigint);
DROP FUNCTION pg_wallet._tribble_wallet(pg_wallet.auth_principal, text);
DROP FUNCTION pg_wallet._sp_account(pg_wallet.auth_principal);
DROP FUNCTION pg_wallet._wallet_of(bigint, text);

-- The KYC tier reaches the posting core as data (issue 9): accounts.kyc_tier, kept by the
-- identity layer's triggers (sql/identity/principals.sql, replayed with the functions).
ALTER TABLE pg_wallet.accounts ADD COLUMN kyc_tier smallint CHECK (kyc_tier BETWEEN 0 AND 9);
COMMENT ON COLUMN pg_wallet.accounts.kyc_tier IS
	'The KYC tier of the owner (the highest of its principals''), NULL when it has none: KYC '
	'limits apply to money leaving the account when it is set. Kept by the identity layer; the '
	'posting core reads it as data with the account''s lock.';
UPDATE pg_wallet.accounts a
SET kyc_tier = (SELECT max(p.kyc_tier) FROM pg_wallet.principals p WHERE p.owner_id = a.owner_id)
WHERE EXISTS (SELECT 1 FROM pg_wallet.principals p WHERE p.owner_id = a.owner_id);
COMMENT ON TABLE pg_wallet.rules_generation IS
	'One row: the stamp of the posting configuration (fee schedules, system accounts), bumped '
	'by every change to it; postings read it with their account locks.';
