-- The first step of a restore (issue 19, docs/operations.md "Backups"). pg_dump writes every
-- row of the extension's tables (sql/core/dump.sql registers them), the rows this script
-- seeds included (currencies, account purposes, the platform owner, the SYS-* accounts, KYC
-- tier limits, bank codes, Tribble rate limits, and what later layers seed), with no filter:
-- they change after install (the system accounts' balances, versions and hash chains at every
-- fee or conversion; the limits tables are the operator's to adjust; a currency can be made
-- inactive), and a filter would drop those changes from the backup.
--
-- A restore runs as a superuser with session_replication_role = replica, which is what the
-- dumped rows need anyway: the single-writer triggers (core/triggers.sql) and the identity
-- triggers do not fire for rows that are copied back as they were. In that mode, and only in
-- it, CREATE EXTENSION is the restore's first step, and it empties the tables it has just
-- filled with seed rows (at this point of the script they hold nothing else): the dump brings
-- every row back, changed or not, and none is there twice. All tables but the one that
-- core/dump.sql leaves out of the dump (rules_generation: it keeps its fresh stamp). Foreign
-- keys are not checked in that mode, so the order does not matter.
--
-- Not replayed on upgrade: ALTER EXTENSION keeps every row.
DO $restore$
DECLARE
	rel pg_catalog.regclass;
BEGIN
	IF pg_catalog.current_setting('session_replication_role') = 'replica' THEN
		FOR rel IN
			SELECT c.oid
			FROM pg_catalog.pg_depend d
			JOIN pg_catalog.pg_class c ON c.oid = d.objid
			WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
			  AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
			  AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e
			                    WHERE e.extname = 'pg_wallet')
			  AND d.deptype = 'e'
			  AND c.relkind IN ('r', 'p')
			  AND c.oid <> 'pg_wallet.rules_generation'::pg_catalog.regclass
		LOOP
			EXECUTE pg_catalog.format('DELETE FROM %s', rel);
		END LOOP;
		RAISE NOTICE 'pg_wallet: session_replication_role is replica, so this is a restore: '
			'the seed rows are left to the dump';
	END IF;
END
$restore$;
