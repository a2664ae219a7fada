-- pgTAP: the shape of schema pg_wallet (tables, keys, money types, constraints, comments,
-- currency data). Run by scripts/test (stage pgtap) as the cluster's superuser, in a database
-- where CREATE EXTENSION pgtap and pg_wallet were run. Everything happens in one transaction
-- that is rolled back.
--
-- Counts are computed in SQL over the catalogs, so the assertions keep holding (or start to
-- fail for a good reason) when tables or functions are added.

BEGIN;
SELECT plan(64);

-- ---------------------------------------------------------------------------------------
-- The schema and its membership in the extension
-- ---------------------------------------------------------------------------------------
SELECT has_schema('pg_wallet', 'schema pg_wallet exists');

SELECT is(
	(SELECT count(*) FROM pg_depend d
	 WHERE d.classid = 'pg_namespace'::regclass
	   AND d.objid = 'pg_wallet'::regnamespace
	   AND d.refclassid = 'pg_extension'::regclass
	   AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'pg_wallet')
	   AND d.deptype = 'e'),
	1::bigint,
	'schema pg_wallet is a member of extension pg_wallet (DROP EXTENSION drops it)');

-- every table, sequence, view, function and standalone composite type in the schema is a
-- member of the extension (nothing left behind by hand, nothing outside pg_dump's view)
SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace
	   AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
	   AND NOT EXISTS (
		SELECT 1 FROM pg_depend d
		WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
		  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		  AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'pg_wallet'))),
	0::bigint,
	'every relation in pg_wallet belongs to the extension');

SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace
	   AND NOT EXISTS (
		SELECT 1 FROM pg_depend d
		WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
		  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		  AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'pg_wallet'))),
	0::bigint,
	'every function in pg_wallet belongs to the extension');

SELECT is(
	(SELECT count(*) FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
	 WHERE t.typnamespace = 'pg_wallet'::regnamespace AND c.relkind = 'c'
	   AND NOT EXISTS (
		SELECT 1 FROM pg_depend d
		WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
		  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		  AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'pg_wallet'))),
	0::bigint,
	'every composite type in pg_wallet belongs to the extension');

-- ---------------------------------------------------------------------------------------
-- Tables and primary keys
-- ---------------------------------------------------------------------------------------
SELECT has_table('pg_wallet', 'currencies', 'table pg_wallet.currencies exists');
SELECT has_table('pg_wallet', 'owners', 'table pg_wallet.owners exists');
SELECT has_table('pg_wallet', 'account_purposes', 'table pg_wallet.account_purposes exists');
SELECT has_table('pg_wallet', 'accounts', 'table pg_wallet.accounts exists');
SELECT has_table('pg_wallet', 'journals', 'table pg_wallet.journals exists');
SELECT has_table('pg_wallet', 'entries', 'table pg_wallet.entries exists');
SELECT has_table('pg_wallet', 'account_deltas', 'table pg_wallet.account_deltas exists');
SELECT has_table('pg_wallet', 'holds', 'table pg_wallet.holds exists');
SELECT has_table('pg_wallet', 'idempotency_keys', 'table pg_wallet.idempotency_keys exists');

SELECT has_pk('pg_wallet', 'currencies', 'pg_wallet.currencies has a primary key');
SELECT has_pk('pg_wallet', 'owners', 'pg_wallet.owners has a primary key');
SELECT has_pk('pg_wallet', 'account_purposes', 'pg_wallet.account_purposes has a primary key');
SELECT has_pk('pg_wallet', 'accounts', 'pg_wallet.accounts has a primary key');
SELECT has_pk('pg_wallet', 'journals', 'pg_wallet.journals has a primary key');
SELECT has_pk('pg_wallet', 'entries', 'pg_wallet.entries has a primary key');
SELECT has_pk('pg_wallet', 'holds', 'pg_wallet.holds has a primary key');
-- one claim per key and scope, whatever the key is for (src/core/idempotency.c)
SELECT col_is_pk('pg_wallet', 'idempotency_keys', ARRAY['scope', 'key'],
	'pg_wallet.idempotency_keys is keyed by (scope, key)');
SELECT is(
	(SELECT count(*) FROM pg_constraint k
	 WHERE k.connamespace = 'pg_wallet'::regnamespace AND k.contype = 'u'
	   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = k.conrelid
	               AND a.attnum = ANY (k.conkey) AND a.attname = 'idempotency_key')),
	0::bigint,
	'no table keeps a unique idempotency key of its own: idempotency_keys is the one claim');

SELECT has_pk('pg_wallet', 'account_deltas', 'pg_wallet.account_deltas has a primary key');

-- any table added later must have one too
SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace AND c.relkind IN ('r', 'p')
	   AND NOT EXISTS (SELECT 1 FROM pg_constraint k
	                   WHERE k.conrelid = c.oid AND k.contype = 'p')),
	0::bigint,
	'every table in pg_wallet has a primary key');

-- ---------------------------------------------------------------------------------------
-- Money is stored as bigint minor units
-- ---------------------------------------------------------------------------------------
SELECT col_type_is('pg_wallet', 'accounts', 'balance', 'bigint',
	'accounts.balance is bigint');
SELECT col_type_is('pg_wallet', 'accounts', 'pending_debit', 'bigint',
	'accounts.pending_debit is bigint');
SELECT col_type_is('pg_wallet', 'accounts', 'minimum_balance', 'bigint',
	'accounts.minimum_balance is bigint');
SELECT col_type_is('pg_wallet', 'entries', 'amount', 'bigint',
	'entries.amount is bigint');
SELECT col_type_is('pg_wallet', 'entries', 'balance_after', 'bigint',
	'entries.balance_after is bigint');
SELECT col_type_is('pg_wallet', 'holds', 'amount', 'bigint',
	'holds.amount is bigint');
SELECT col_type_is('pg_wallet', 'holds', 'posted_amount', 'bigint',
	'holds.posted_amount is bigint');
SELECT col_type_is('pg_wallet', 'account_deltas', 'amount', 'bigint',
	'account_deltas.amount is bigint');

SELECT is(
	(SELECT count(*) FROM information_schema.columns
	 WHERE table_schema = 'pg_wallet' AND data_type IN ('real', 'double precision', 'money')),
	0::bigint,
	'no table column in pg_wallet is real, double precision or money');

-- storage never holds money as numeric either: numeric is only the API's presentation type
-- (exact rates, shares and spreads are numerics: they are not amounts)
SELECT is(
	(SELECT count(*) FROM information_schema.columns c
	 JOIN information_schema.tables t
	   ON t.table_schema = c.table_schema AND t.table_name = c.table_name
	 WHERE c.table_schema = 'pg_wallet' AND t.table_type = 'BASE TABLE'
	   AND c.data_type = 'numeric'
	   AND c.column_name !~ '(rate|share|spread)$'
	   -- fraud statistics, not money: Welford's mean and M2 of amounts (fixed point) and a
	   -- score's confidence (issue 12)
	   AND (c.table_name, c.column_name) NOT IN (('fraud_owner_stats', 'mean_e4'),
	        ('fraud_owner_stats', 'm2_e8'), ('fraud_scores', 'confidence'))),
	0::bigint,
	'no table column in pg_wallet but a rate, share or spread is numeric');

-- the API's composite types and function signatures carry no binary floating point either
SELECT is(
	(SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
	   AND a.atttypid IN ('real'::regtype, 'double precision'::regtype, 'money'::regtype)),
	0::bigint,
	'no attribute of any relation or composite type in pg_wallet is real/double/money');

SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace
	   AND EXISTS (
		SELECT 1
		FROM unnest(p.proargtypes::oid[] || coalesce(p.proallargtypes, '{}') || p.prorettype) t
		WHERE t IN ('real'::regtype, 'double precision'::regtype, 'money'::regtype))),
	0::bigint,
	'no pg_wallet function takes or returns real, double precision or money');

-- ---------------------------------------------------------------------------------------
-- Unique constraints
-- ---------------------------------------------------------------------------------------
SELECT col_is_unique('pg_wallet', 'accounts', 'account_number',
	'accounts.account_number is unique');
-- a partial unique index (issue 20: no NULL entry per posting), not a UNIQUE constraint
SELECT ok(EXISTS (SELECT 1 FROM pg_index i
	WHERE i.indrelid = 'pg_wallet.journals'::regclass AND i.indisunique AND i.indisvalid
	  AND pg_get_indexdef(i.indexrelid) LIKE
	      '%USING btree (reverses_journal_id) WHERE (reverses_journal_id IS NOT NULL)'),
	'journals.reverses_journal_id is unique where set (a journal is reversed at most once)');
SELECT col_is_unique('pg_wallet', 'owners', 'external_ref',
	'owners.external_ref is unique');

-- ---------------------------------------------------------------------------------------
-- Check constraints, declared and enforced (as superuser: the check, not a privilege, refuses)
-- ---------------------------------------------------------------------------------------
SELECT col_has_check('pg_wallet', 'entries', 'amount', 'entries.amount has a check constraint');
SELECT col_has_check('pg_wallet', 'holds', 'amount', 'holds.amount has a check constraint');
SELECT col_has_check('pg_wallet', 'account_deltas', 'amount',
	'account_deltas.amount has a check constraint');
SELECT col_has_check('pg_wallet', 'accounts', 'pending_debit',
	'accounts.pending_debit has a check constraint');
SELECT col_has_check('pg_wallet', 'currencies', 'exponent',
	'currencies.exponent has a check constraint');

-- the single-writer triggers would refuse these inserts first (42501): the checks are tested
-- without them (the transaction is rolled back)
ALTER TABLE pg_wallet.entries DISABLE TRIGGER entries_single_writer;
ALTER TABLE pg_wallet.account_deltas DISABLE TRIGGER account_deltas_single_writer;
SELECT throws_ok(
	$$INSERT INTO pg_wallet.entries (journal_id, leg, account_id, side, amount)
	  VALUES (1, 1, 1, 'DR', 0)$$,
	'23514', NULL,
	'an entry with amount 0 violates a check constraint (23514)');
SELECT throws_ok(
	$$INSERT INTO pg_wallet.entries (journal_id, leg, account_id, side, amount)
	  VALUES (1, 1, 1, 'CR', -100)$$,
	'23514', NULL,
	'an entry with a negative amount violates a check constraint (23514)');
SELECT throws_ok(
	$$INSERT INTO pg_wallet.entries (journal_id, leg, account_id, side, amount)
	  VALUES (1, 1, 1, 'XX', 100)$$,
	'23514', NULL,
	'an entry whose side is not DR/CR violates a check constraint (23514)');
SELECT throws_ok(
	$$INSERT INTO pg_wallet.account_deltas (account_id, entry_id, amount) VALUES (1, 1, 0)$$,
	'23514', NULL,
	'an account delta with amount 0 violates a check constraint (23514)');
SELECT throws_ok(
	$$INSERT INTO pg_wallet.holds (account_id, counterpart_account_id, amount)
	  VALUES (1, 2, 0)$$,
	'23514', NULL,
	'a hold with amount 0 violates a check constraint (23514)');
SELECT throws_ok(
	$$INSERT INTO pg_wallet.currencies (code, exponent, name) VALUES ('QQQ', 5, 'five')$$,
	'23514', NULL,
	'a currency with exponent 5 violates a check constraint (23514)');
SELECT lives_ok(
	$$INSERT INTO pg_wallet.entries (journal_id, leg, account_id, side, amount)
	  VALUES (1, 1, 1, 'DR', 1)$$,
	'an entry with amount 1 passes the checks (the refusals above are the amount checks)');

-- ---------------------------------------------------------------------------------------
-- Comments
-- ---------------------------------------------------------------------------------------
SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace
	   AND obj_description(p.oid, 'pg_proc') IS NULL),
	0::bigint,
	'every function in pg_wallet has a COMMENT');

SELECT cmp_ok(
	(SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'pg_wallet'::regnamespace),
	'>', 0::bigint,
	'pg_wallet has functions (the comment count above is not vacuous)');

SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace AND c.relkind IN ('r', 'p')
	   AND obj_description(c.oid, 'pg_class') IS NULL),
	0::bigint,
	'every table in pg_wallet has a COMMENT');

SELECT isnt(obj_description('pg_wallet'::regnamespace, 'pg_namespace'), NULL,
	'schema pg_wallet has a COMMENT');

-- ---------------------------------------------------------------------------------------
-- Currency reference data
-- ---------------------------------------------------------------------------------------
SELECT is((SELECT exponent FROM pg_wallet.currencies WHERE code = 'KES'), 2::smallint,
	'KES has exponent 2');
SELECT is((SELECT exponent FROM pg_wallet.currencies WHERE code = 'JPY'), 0::smallint,
	'JPY has exponent 0');
SELECT is((SELECT exponent FROM pg_wallet.currencies WHERE code = 'BHD'), 3::smallint,
	'BHD has exponent 3');
SELECT is((SELECT exponent FROM pg_wallet.currencies WHERE code = 'USD'), 2::smallint,
	'USD has exponent 2');
SELECT is((SELECT exponent FROM pg_wallet.currencies WHERE code = 'CLF'), 4::smallint,
	'CLF has exponent 4');

SELECT is(
	(SELECT count(*) FROM pg_wallet.currencies
	 WHERE exponent IS NULL OR exponent NOT BETWEEN 0 AND 4),
	0::bigint,
	'no currency has an exponent outside 0..4');

SELECT is(
	(SELECT count(*) FROM pg_wallet.currencies WHERE code !~ '^[A-Z]{3}$'),
	0::bigint,
	'every currency code is three upper-case letters');

SELECT cmp_ok((SELECT count(*) FROM pg_wallet.currencies WHERE is_active), '>=', 150::bigint,
	'the ISO 4217 list is loaded (at least 150 active currencies)');

SELECT * FROM finish();
ROLLBACK;
