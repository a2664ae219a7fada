-- Logical backups contain the ledger (issue 19). Every table of the extension that holds data
-- and every sequence is registered with pg_extension_config_dump(), so that pg_dump writes
-- their rows and values (an extension's tables are otherwise dumped empty: CREATE EXTENSION
-- would recreate them). One place for every layer, after all tables and seed rows exist;
-- test/t/004_backup_dump.pl fails on a table or sequence of the extension that is neither
-- registered here nor named below as not dumped.
--
-- Not dumped: pg_wallet.rules_generation, the stamp of the per-backend posting caches (a time
-- in microseconds). A restored database keeps the new stamp its CREATE EXTENSION wrote, so no
-- cache can take it for an older configuration.
--
-- Seed rows (currencies, account purposes, the platform owner, the SYS-* accounts, KYC tier
-- limits, bank codes, Tribble rate limits) are dumped like every other row, with no filter:
-- they change after install (the system accounts' balances, versions and hash chains at every
-- fee or conversion; the limits tables are the operator's to adjust; a currency can be
-- deactivated), and a filter would drop those changes from the backup. A restore runs as a
-- superuser with session_replication_role = replica (docs/operations.md, "Backups"), which is
-- what the dumped rows need anyway: the single-writer triggers (core/triggers.sql) and the
-- identity triggers do not fire for rows that are copied back as they were. In that mode,
-- CREATE EXTENSION removes the seed rows it has just written, below, and the dump brings them
-- back, changed or not; the rows are never there twice. Outside that mode nothing below is
-- removed. This file is not replayed on upgrade (ALTER EXTENSION keeps every row); its
-- registrations are repeated in sql/upgrades/0.1.0--0.2.0.sql.

-- core
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.currencies', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.owners', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.owners_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.account_purposes', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.accounts_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.journal_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.journals', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.entries', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.entries_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.account_deltas', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.holds', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.holds_id_seq', '');
-- rules
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.client_services', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.client_services_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.fee_schedules', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.fee_schedules_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.fee_tiers', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.fx_rates', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.fx_rates_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.fx_quotes', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.fx_quotes_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.limit_usage', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.kyc_tier_limits', '');
-- identity (the secrets too: a backup without them locks every user and partner out, so a
-- dump file is as secret as the database; docs/operations.md)
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.principals', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.principal_passwords', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.api_credentials', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.api_credentials_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.totp_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.jwt_signing_keys', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.auth_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.access_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.refresh_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.otp_challenges', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.otp_challenges_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.verification_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.notification_outbox', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.notification_outbox_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.kyc_documents', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.kyc_documents_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.kyc_reviews', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.kyc_reviews_id_seq', '');
-- partners
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.partner_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.partners', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.partner_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.partner_accounts', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.agents', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.bank_codes', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.deposits', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.deposits_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.withdrawals', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.withdrawals_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.outbox_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.inbound_callbacks', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.inbound_callbacks_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.event_streams', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.events', '');
-- api
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.tribble_rate_limits', '');
SELECT pg_catalog.pg_extension_config_dump('pg_wallet.waas_account_number_seq', '');

-- Restoring (session_replication_role = replica, set by a superuser for the restore): leave
-- the seeded tables empty for the dump's rows. Children before parents, although foreign keys
-- are not checked in this mode either.
DO $restore$
BEGIN
	IF pg_catalog.current_setting('session_replication_role') = 'replica' THEN
		DELETE FROM pg_wallet.accounts;
		DELETE FROM pg_wallet.owners;
		DELETE FROM pg_wallet.kyc_tier_limits;
		DELETE FROM pg_wallet.tribble_rate_limits;
		DELETE FROM pg_wallet.bank_codes;
		DELETE FROM pg_wallet.account_purposes;
		DELETE FROM pg_wallet.currencies;
		RAISE NOTICE 'pg_wallet: session_replication_role is replica, so this is a restore: '
			'the seed rows are left to the dump';
	END IF;
END
$restore$;
