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
