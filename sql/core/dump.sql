-- Logical backups contain the ledger (issue 19). Every table and sequence of the extension is
-- registered with pg_extension_config_dump(), so that pg_dump writes their rows and values
-- (an extension's tables are otherwise dumped empty: CREATE EXTENSION recreates them). The
-- function names no table but one, so whatever any layer adds is in the backups without
-- anyone remembering to. It runs after every layer's tables exist, and again on every upgrade
-- (registering a table again only replaces its empty filter), so an updated database
-- registers the tables the update added too. A table that must not be dumped is named here,
-- in core/restore.sql and in docs/operations.md ("Backups"); test/t/004_backup_dump.pl fails
-- on any other table or sequence left out.
--
-- Not dumped: pg_wallet.rules_generation, the stamp of the per-backend posting caches (a time
-- in microseconds). A restored database keeps the new stamp its CREATE EXTENSION wrote, so no
-- cache can take it for an older configuration.
--
-- No filter: the seed rows are dumped too; core/restore.sql says why and how a restore
-- avoids having them twice.
--
-- One call per statement (each call rewrites the extension's catalog row, which a second
-- call in the same statement could not see), hence the loop.
CREATE OR REPLACE FUNCTION pg_wallet._dump_register()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel regclass;
	n integer := 0;
BEGIN
	FOR rel IN
		SELECT c.oid
		FROM pg_depend d
		JOIN pg_class c ON c.oid = d.objid
		WHERE d.classid = 'pg_class'::regclass
		  AND d.refclassid = 'pg_extension'::regclass
		  AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'pg_wallet')
		  AND d.deptype = 'e'
		  AND c.relkind IN ('r', 'p', 'S')
		  AND c.oid <> 'pg_wallet.rules_generation'::regclass
		ORDER BY c.relname
	LOOP
		PERFORM pg_extension_config_dump(rel, '');
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pg_wallet._dump_register() IS
	'Internal, for the install and update scripts only: registers every table and sequence of '
	'the extension but rules_generation with pg_extension_config_dump(), so that pg_dump '
	'writes their rows; returns how many.';

SELECT pg_wallet._dump_register();
