# ALTER EXTENSION pg_wallet UPDATE from every released version gives the schema of a fresh
# install, and the ledger keeps working across it.
#
# For each version that has a released install script (sql/pg_wallet--<version>.sql, today
# 0.1.0): a database created with CREATE EXTENSION pg_wallet VERSION '<version>', holding
# rows of every kind that version makes (transfers with fees, an FX rate, holds open
# and captured, a reversal, a recorded refusal, DEFERRED deltas, a user who logged in), is
# updated with ALTER EXTENSION pg_wallet UPDATE (what scripts/start runs). A catalog
# description of the extension, written by SQL over pg_catalog, must then be the same line
# for line as that of a database with a fresh CREATE EXTENSION pg_wallet; a difference fails
# with the diff. The update keeps the data: every account's balance, pending debit, version
# and hash chain, the journals with their hashes, the entries, deltas and holds are as they
# were, verify_ledger() finds nothing, the user logs in. Then a transfer posts in the updated
# database, the balances are the expected ones and verify_ledger() still finds nothing.
#
# The description (no OIDs, so two databases compare): the extension (version, config
# tables); the schema; every function (identity and full arguments, result, language, kind,
# volatility, strictness, parallel safety, SECURITY DEFINER, cost, rows, proconfig, md5 of
# its source, ACL, comment); every table, sequence and view (kind, persistence, row level
# security, options, ACL, comment, columns in order with type, not null, default, identity,
# collation, ACL and comment, constraints, indexes, triggers and their enabled state,
# policies, rules, view definitions, sequence parameters); every type (composite attributes
# in order, enum labels in order, domain base and constraints, ACL, comment); the member
# objects of the extension (pg_depend, deptype 'e') and their initial privileges
# (pg_init_privs, what pg_dump restores).
use strict;
use warnings;

use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# One line per fact, "<object> | <attribute> = <value>", sorted by the caller.
my $catalog_sql = <<'SQL';
WITH ext AS (SELECT * FROM pg_extension WHERE extname = 'pg_wallet'),
nsp AS (SELECT * FROM pg_namespace WHERE nspname = 'pg_wallet'),
fn AS (
	SELECT p.*, format('function %s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)) AS obj
	FROM pg_proc p JOIN nsp ON nsp.oid = p.pronamespace),
rel AS (
	SELECT c.*, format('%s %s',
		CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'S' THEN 'sequence'
			WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
			WHEN 'f' THEN 'foreign table' END, c.relname) AS obj
	FROM pg_class c JOIN nsp ON nsp.oid = c.relnamespace
	WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')),
typ AS (
	SELECT t.*, format('type %s', t.typname) AS obj
	FROM pg_type t JOIN nsp ON nsp.oid = t.typnamespace
	WHERE t.typtype IN ('c', 'e', 'd', 'r', 'b', 'm')
	  AND NOT (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) <> 'c')
	  AND NOT (t.typcategory = 'A' AND t.typelem <> 0)),
facts(obj, attr, val) AS (
	SELECT 'extension pg_wallet', v.attr, v.val FROM ext, LATERAL (VALUES
		('version', extversion),
		('schema', extnamespace::regnamespace::text),
		('relocatable', extrelocatable::text),
		('config tables', (SELECT string_agg(c::regclass::text || ' WHERE ' || coalesce(w, ''), ', '
			ORDER BY c::regclass::text)
			FROM unnest(extconfig, extcondition) AS u(c, w)))) AS v(attr, val)
	UNION ALL
	SELECT 'schema pg_wallet', v.attr, v.val FROM nsp, LATERAL (VALUES
		('owner', nspowner::regrole::text),
		('acl', nspacl::text),
		('comment', obj_description(nsp.oid, 'pg_namespace'))) AS v(attr, val)
	UNION ALL
	SELECT fn.obj, v.attr, v.val FROM fn, LATERAL (VALUES
		('arguments', pg_get_function_arguments(fn.oid)),
		('returns', pg_get_function_result(fn.oid)),
		('language', (SELECT lanname FROM pg_language WHERE oid = fn.prolang)),
		('kind', prokind::text),
		('volatility', provolatile::text),
		('strict', proisstrict::text),
		('parallel', proparallel::text),
		('leakproof', proleakproof::text),
		('security definer', prosecdef::text),
		('cost', procost::text),
		('rows', prorows::text),
		('config', proconfig::text),
		('source md5', md5(prosrc)),
		('sql body md5', md5(pg_get_function_sqlbody(fn.oid))),
		('binary', probin),
		('owner', proowner::regrole::text),
		('acl', proacl::text),
		('comment', obj_description(fn.oid, 'pg_proc'))) AS v(attr, val)
	UNION ALL
	SELECT rel.obj, v.attr, v.val FROM rel, LATERAL (VALUES
		('persistence', relpersistence::text),
		('row level security', relrowsecurity::text || ', forced ' || relforcerowsecurity::text),
		('replica identity', relreplident::text),
		('options', reloptions::text),
		('owner', relowner::regrole::text),
		('acl', relacl::text),
		('comment', obj_description(rel.oid, 'pg_class')),
		('view', CASE WHEN relkind IN ('v', 'm') THEN pg_get_viewdef(rel.oid) END)) AS v(attr, val)
	UNION ALL
	-- columns, numbered in their order (dropped columns left out)
	SELECT rel.obj, format('column %s %s', lpad(row_number() OVER (PARTITION BY a.attrelid
			ORDER BY a.attnum)::text, 3, '0'), a.attname), v.val
	FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
	  AND rel.relkind <> 'S'
	LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum,
	LATERAL (VALUES (concat_ws(' ', format_type(a.atttypid, a.atttypmod),
		CASE WHEN a.attnotnull THEN 'NOT NULL' END,
		'DEFAULT ' || pg_get_expr(d.adbin, d.adrelid),
		CASE a.attidentity WHEN 'a' THEN 'IDENTITY ALWAYS' WHEN 'd' THEN 'IDENTITY BY DEFAULT' END,
		CASE a.attgenerated WHEN 's' THEN 'GENERATED STORED' END,
		(SELECT 'COLLATE ' || collname FROM pg_collation
		 WHERE oid = a.attcollation AND a.attcollation <> 100),
		'ACL ' || a.attacl::text,
		'COMMENT ' || col_description(a.attrelid, a.attnum)))) AS v(val)
	UNION ALL
	SELECT rel.obj, 'constraint ' || co.conname,
		concat_ws(' ', pg_get_constraintdef(co.oid),
			'COMMENT ' || obj_description(co.oid, 'pg_constraint'))
	FROM rel JOIN pg_constraint co ON co.conrelid = rel.oid
	UNION ALL
	SELECT rel.obj, 'index ' || ic.relname, concat_ws(' ', pg_get_indexdef(i.indexrelid),
		CASE WHEN i.indisclustered THEN 'CLUSTERED' END,
		CASE WHEN i.indisreplident THEN 'REPLICA IDENTITY' END,
		'COMMENT ' || obj_description(i.indexrelid, 'pg_class'))
	FROM rel JOIN pg_index i ON i.indrelid = rel.oid JOIN pg_class ic ON ic.oid = i.indexrelid
	UNION ALL
	SELECT rel.obj, 'trigger ' || tg.tgname, concat_ws(' ', pg_get_triggerdef(tg.oid),
		'ENABLED ' || tg.tgenabled::text, 'COMMENT ' || obj_description(tg.oid, 'pg_trigger'))
	FROM rel JOIN pg_trigger tg ON tg.tgrelid = rel.oid AND NOT tg.tgisinternal
	UNION ALL
	SELECT rel.obj, 'policy ' || po.polname, concat_ws(' ', po.polcmd::text, po.polpermissive::text,
		po.polroles::regrole[]::text, pg_get_expr(po.polqual, po.polrelid),
		pg_get_expr(po.polwithcheck, po.polrelid))
	FROM rel JOIN pg_policy po ON po.polrelid = rel.oid
	UNION ALL
	SELECT rel.obj, 'rule ' || ru.rulename, pg_get_ruledef(ru.oid)
	FROM rel JOIN pg_rewrite ru ON ru.ev_class = rel.oid AND ru.rulename <> '_RETURN'
	UNION ALL
	SELECT rel.obj, 'sequence', format('%s start %s increment %s min %s max %s cache %s cycle %s',
		format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
		s.seqcache, s.seqcycle)
	FROM rel JOIN pg_sequence s ON s.seqrelid = rel.oid
	UNION ALL
	SELECT rel.obj, 'owned by', pg_describe_object(dep.refclassid, dep.refobjid, dep.refobjsubid)
	FROM rel JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = rel.oid
	  AND dep.deptype IN ('a', 'i') AND rel.relkind = 'S'
	UNION ALL
	SELECT typ.obj, v.attr, v.val FROM typ, LATERAL (VALUES
		('kind', typtype::text),
		('base', CASE WHEN typtype = 'd' THEN format_type(typbasetype, typtypmod) END),
		('not null', CASE WHEN typtype = 'd' THEN typnotnull::text END),
		('default', typdefault),
		('enum labels', (SELECT string_agg(enumlabel, ', ' ORDER BY enumsortorder)
			FROM pg_enum WHERE enumtypid = typ.oid)),
		('owner', typowner::regrole::text),
		('acl', typacl::text),
		('comment', obj_description(typ.oid, 'pg_type'))) AS v(attr, val)
	UNION ALL
	SELECT typ.obj, format('attribute %s %s', lpad(row_number() OVER (PARTITION BY a.attrelid
			ORDER BY a.attnum)::text, 3, '0'), a.attname),
		concat_ws(' ', format_type(a.atttypid, a.atttypmod),
			'COMMENT ' || col_description(a.attrelid, a.attnum))
	FROM typ JOIN pg_attribute a ON a.attrelid = typ.typrelid AND a.attnum > 0
	  AND NOT a.attisdropped
	UNION ALL
	SELECT typ.obj, 'constraint ' || co.conname, pg_get_constraintdef(co.oid)
	FROM typ JOIN pg_constraint co ON co.contypid = typ.oid
	UNION ALL
	SELECT 'member ' || pg_describe_object(dep.classid, dep.objid, dep.objsubid), 'of extension',
		'yes'
	FROM ext JOIN pg_depend dep ON dep.refclassid = 'pg_extension'::regclass
	  AND dep.refobjid = ext.oid AND dep.deptype = 'e'
	UNION ALL
	SELECT 'member ' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
		'initial privileges ' || ip.privtype::text, ip.initprivs::text
	FROM ext JOIN pg_depend dep ON dep.refclassid = 'pg_extension'::regclass
	  AND dep.refobjid = ext.oid AND dep.deptype = 'e'
	JOIN pg_init_privs ip ON ip.classoid = dep.classid AND ip.objoid = dep.objid)
SELECT line FROM facts,
	LATERAL (SELECT obj || ' | ' || attr || ' = ' || coalesce(val, '<null>') AS line) AS l
WHERE val IS NOT NULL OR attr IN ('acl', 'comment')
ORDER BY line COLLATE "C";
SQL

# What an update must keep: every account's balance, pending debit, version and hash chain,
# every journal with its hash, the entries, deltas and holds (md5 over the ordered rows).
my $ledger_sql = <<'SQL';
SELECT string_agg(format('%s %s %s %s %s', account_number, balance, pending_debit, version,
		encode(chain_hash, 'hex')), E'\n' ORDER BY account_number)
	FROM pg_wallet.accounts
UNION ALL
SELECT 'journals ' || count(*) || ' ' || md5(string_agg(format('%s %s %s %s %s', id, status,
		idempotency_key, encode(hash, 'hex'), reverses_journal_id), ',' ORDER BY id))
	FROM pg_wallet.journals
UNION ALL
SELECT 'entries ' || count(*) || ' ' || md5(string_agg(format('%s %s %s %s %s %s', id, journal_id,
		account_id, side, amount, balance_after), ',' ORDER BY id))
	FROM pg_wallet.entries
UNION ALL
SELECT 'deltas ' || count(*) || ' ' || coalesce(sum(amount), 0) FROM pg_wallet.account_deltas
UNION ALL
SELECT 'holds ' || string_agg(format('%s %s %s', id, status, amount), ',' ORDER BY id)
	FROM pg_wallet.holds
SQL

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
# preloaded, as in production: the workers serve the database updated from 0.1.0
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_wallet'
pg_wallet.database = 'from_0_1_0'
pg_wallet.expiry_interval_s = 0
});
$node->start;

my $default = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'pg_wallet'");
my @released = split /\n/, $node->safe_psql('postgres', qq{
	SELECT version FROM pg_available_extension_versions
	WHERE name = 'pg_wallet' AND version <> '$default' ORDER BY version});
ok((grep { $_ eq '0.1.0' } @released), "0.1.0 is among the released versions (@released)");

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION pg_wallet');
my $fresh = $node->safe_psql('fresh', $catalog_sql);
cmp_ok(scalar(split /\n/, $fresh), '>', 1000, 'the catalog description of a fresh install');

for my $version (@released)
{
	(my $db = "from_$version") =~ tr/./_/;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION pg_wallet VERSION '$version'");
	# accounts and postings made before the update
	$node->safe_psql($db, q{
		SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'A'), 'KES', 'WALLET', 'UA');
		SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'B'), 'KES', 'WALLET', 'UB');
		SELECT pg_wallet.create_account(pg_wallet.create_owner('partner', 'P'), 'KES',
			'SETTLEMENT', 'UP', can_overdraw => true);
		SELECT pg_wallet.credit('UA', 100, 'UP');
		SELECT pg_wallet.transfer('UA', 'UB', 30);
	});
	# and every other kind of row 0.1.0 makes (issue 19: an update keeps the data); no
	# conversion: this library's convert() needs the 0.2.0 functions (docs/operations.md)
	$node->safe_psql($db, q{
		SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'C'), 'KES', 'WALLET', 'UC');
		SELECT pg_wallet.create_account(o, 'USD', 'WALLET', 'UC-USD')
		FROM pg_wallet.create_owner('user', 'C USD') o;
		SELECT pg_wallet.create_account(pg_wallet.create_owner('partner', 'Q'), 'USD',
			'SETTLEMENT', 'UQ', can_overdraw => true);
		SELECT pg_wallet.create_account(pg_wallet.create_owner('merchant', 'M'), 'KES',
			'AVAILABLE_COLLECTIONS', 'UM', credit_mode => 'DEFERRED');
		SELECT pg_wallet.create_fee_schedule('TRANSFER', 'PERCENTAGE', rate => 0.02,
			currency => 'KES', min_fee => 1, band_min => 100);  -- not the small transfers below
		SELECT pg_wallet.set_fx_rate('USD', 'KES', 130, 0.01);
		SELECT pg_wallet.create_account(pg_wallet.create_owner('partner', 'R'), 'KES',
			'SETTLEMENT', 'UR', can_overdraw => true, credit_mode => 'DEFERRED');
		-- the keyed rows 0.1.0 made: this library claims keys only in the 0.2.0 schema
		-- (idempotency_keys), so the postings go in without and get 0.1.0's keys stamped on
		-- (0.1.0 has no single-writer triggers); the update must claim them
		CREATE TEMP TABLE keyed (id bigint, key text, hold boolean DEFAULT false);
		INSERT INTO keyed SELECT journal_id, 'c-fund' FROM pg_wallet.credit('UC', 1000, 'UR');
		INSERT INTO keyed SELECT journal_id, 'c-fund-usd' FROM pg_wallet.credit('UC-USD', 50, 'UQ');
		INSERT INTO keyed SELECT journal_id, 'c-fee' FROM pg_wallet.transfer('UC', 'UM', 120);
		INSERT INTO keyed SELECT hold_id, 'c-hold-open', true
		FROM pg_wallet.place_hold('UC', 40, 'UM', NULL, now() + interval '1 day');
		INSERT INTO keyed SELECT hold_id, 'c-hold', true FROM pg_wallet.place_hold('UC', 25, 'UM');
		SELECT pg_wallet.post_hold(id) FROM keyed WHERE key = 'c-hold';
		INSERT INTO keyed SELECT journal_id, 'c-rev' FROM pg_wallet.reverse_journal(
			(SELECT receipt_code FROM pg_wallet.transfer('UC', 'UM', 7)));
		-- a cashier key of 0.1.0: the owner in a prefix, which becomes the key's scope
		INSERT INTO keyed SELECT journal_id, format('c%s-order-9', a.owner_id)
		FROM pg_wallet.transfer('UC', 'UM', 9), pg_wallet.accounts a WHERE a.account_number = 'UC';
		-- a refusal recorded under its key
		INSERT INTO pg_wallet.journals (id, journal_type, status, idempotency_key, request_hash,
			refusal_sqlstate, refusal_message)
		VALUES (nextval('pg_wallet.journal_id_seq'), 'TRANSFER', 'REFUSED', 'c-refused',
			sha256('c-refused'), 'WL001', 'insufficient balance');
		UPDATE pg_wallet.journals j SET idempotency_key = k.key,
			request_hash = sha256(convert_to(k.key, 'UTF8'))
		FROM keyed k WHERE j.id = k.id AND NOT k.hold;
		UPDATE pg_wallet.holds h SET idempotency_key = k.key,
			request_hash = sha256(convert_to(k.key, 'UTF8'))
		FROM keyed k WHERE h.id = k.id AND k.hold;
		SELECT pg_wallet.register_user('c@example.com', 'Secret123', 'C', 'Upgrade', '+254712000003');
		SELECT status FROM pg_wallet.login('c@example.com', 'Secret123');
		-- KYC limit counters, one row per period in 0.1.0: C's today, this month and an
		-- earlier day; A's this month only
		INSERT INTO pg_wallet.limit_usage (owner_id, currency, period, period_start,
			amount_minor, tx_count)
		SELECT a.owner_id, 'KES', p.period, p.start, p.amount, p.n
		FROM pg_wallet.accounts a, (VALUES
			('UC', 'D', (now() AT TIME ZONE 'UTC')::date, 12000, 2),
			('UC', 'M', date_trunc('month', now() AT TIME ZONE 'UTC')::date, 50000, 0),
			('UC', 'D', (now() AT TIME ZONE 'UTC')::date - 40, 7000, 1),
			('UA', 'M', date_trunc('month', now() AT TIME ZONE 'UTC')::date, 3000, 0))
			AS p (account, period, start, amount, n)
		WHERE a.account_number = p.account;
	});
	is($node->safe_psql($db, 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
		"the populated $version ledger verifies before the update");
	my $ledger_before = $node->safe_psql($db, $ledger_sql);

	my ($rc, $out, $err) = $node->psql($db, 'ALTER EXTENSION pg_wallet UPDATE');
	is($rc, 0, "ALTER EXTENSION pg_wallet UPDATE from $version") or diag($err);
	is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'pg_wallet'"),
		$default, "the database updated from $version is at $default");

	my $updated = $node->safe_psql($db, $catalog_sql);
	my $diff = catalog_diff($fresh, $updated, $version);
	ok($diff eq '', "updated from $version: the catalog is that of a fresh install")
	  or diag("--- fresh install, +++ updated from $version:\n$diff");

	is($node->safe_psql($db, $ledger_sql), $ledger_before,
		"the update from $version keeps every row of the ledger, balance and hash chain");
	is($node->safe_psql($db, 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
		"verify_ledger() finds nothing right after the update from $version");
	is($node->safe_psql($db, q{
		SELECT string_agg(format('%s %s %s', k.kind, k.key,
			CASE k.scope WHEN 0 THEN 'none' ELSE o.name END), ', ' ORDER BY k.kind, k.key)
		FROM pg_wallet.idempotency_keys k LEFT JOIN pg_wallet.owners o ON o.id = k.scope}),
		'hold c-hold C, hold c-hold-open C, journal c-fee C, journal c-fund C, '
		. 'journal c-fund-usd C USD, journal c-refused none, journal c-rev C, journal order-9 C',
		"the update from $version claims 0.1.0's keys in their owners' scopes");
	is($node->safe_psql($db, q{
		SELECT string_agg(format('%s %s %s %s %s %s', o.name,
			u.day_start = (now() AT TIME ZONE 'UTC')::date, u.day_amount_minor, u.day_count,
			u.month_start = date_trunc('month', now() AT TIME ZONE 'UTC')::date,
			u.month_amount_minor), ', ' ORDER BY o.name)
		FROM pg_wallet.limit_usage u JOIN pg_wallet.owners o ON o.id = u.owner_id}),
		'A t 0 0 t 3000, C t 12000 2 t 50000',
		"the update from $version keeps the KYC counters of this day and month, one row each");
	my (undef, undef, $taken) = $node->psql($db,
		q{SELECT pg_wallet.transfer('UC', 'UM', 1, 'c-fee')});
	like($taken, qr/idempotency key "c-fee" was already used for a different request/,
		"a key 0.1.0 used stays taken after the update from $version");
	is($node->safe_psql($db, q{SELECT status FROM pg_wallet.login('c@example.com', 'Secret123')}),
		'OK', "a user registered on $version logs in after the update");

	my $status = $node->safe_psql($db, "SELECT status FROM pg_wallet.transfer('UB', 'UA', 12.5)");
	is($status, 'POSTED', "a transfer posts after the update from $version");
	is($node->safe_psql($db, q{
		SELECT string_agg(format('%s %s', n, (pg_wallet.get_balance(n)).balance), ', ' ORDER BY n)
		FROM unnest(ARRAY['UA', 'UB', 'UP']) AS n}),
		'UA 82.50, UB 17.50, UP -100.00', 'the balances are those of the four postings');
	is($node->safe_psql($db, 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
		"verify_ledger() finds nothing after the update from $version");
}

$node->stop;
done_testing();

# catalog_diff FRESH UPDATED VERSION: "diff -u" of the two descriptions, '' when equal
sub catalog_diff
{
	my ($a, $b, $version) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my ($fa, $fb) = (File::Spec->catfile($dir, 'fresh'), File::Spec->catfile($dir, "from_$version"));
	PostgreSQL::Test::Utils::append_to_file($fa, "$a\n");
	PostgreSQL::Test::Utils::append_to_file($fb, "$b\n");
	my ($stdout, $stderr) = PostgreSQL::Test::Utils::run_command(['diff', '-u', $fa, $fb]);
	return $stdout;
}
