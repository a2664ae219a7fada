-- pgTAP: privileges of pg_wallet (DESIGN.md, "Authentication lives in the database": the
-- bridge's role can only EXECUTE the API functions it is granted; it cannot read tables).
-- Run by scripts/test (stage pgtap) as the cluster's superuser; one transaction, rolled back,
-- so the roles created here never outlive the test.
--
-- wallet_app    : an application role, granted USAGE on the schema and EXECUTE on
--                 transfer() and get_balance() only, as 99_grants.sql tells a DBA to do
-- wallet_nobody : a role granted nothing (stands for PUBLIC)
--
-- pgTAP grants its own temporary tables to PUBLIC in plan(), so assertions can be made
-- while SET ROLE is in effect.

BEGIN;
SELECT plan(54);

CREATE ROLE wallet_app LOGIN;
CREATE ROLE wallet_nobody;
GRANT USAGE ON SCHEMA pg_wallet TO wallet_app;
GRANT EXECUTE ON FUNCTION pg_wallet.transfer(text, text, numeric, text, text, jsonb, text, text, boolean) TO wallet_app;
GRANT EXECUTE ON FUNCTION pg_wallet.get_balance(text) TO wallet_app;

-- Calls every function of pg_wallet except those in p_skip, with NULL arguments, as the
-- current role, and returns those that did NOT fail with insufficient_privilege (42501),
-- each with the SQLSTATE it got instead ('ok' when it ran). The arguments come from a
-- subquery that cannot be pulled up (OFFSET 0): with literal NULLs the planner folds a
-- STRICT function to NULL without ever initialising the call, so without checking EXECUTE.
-- Created by the superuser in pg_temp (executable by any role, gone with the session).
CREATE FUNCTION pg_temp.calls_not_refused(p_skip regprocedure[] DEFAULT '{}')
RETURNS text[]
LANGUAGE plpgsql
AS $$
DECLARE
	f record;
	bad text[] := '{}';
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure AS sig, p.proname,
			(SELECT string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY i)
			 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a (t, i)) AS nulls,
			(SELECT string_agg('a' || i, ', ' ORDER BY i)
			 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a (t, i)) AS names
		FROM pg_proc p
		WHERE p.pronamespace = 'pg_wallet'::regnamespace AND p.prokind = 'f'
		  AND p.oid <> ALL (p_skip)
		ORDER BY p.oid
	LOOP
		BEGIN
			IF f.nulls IS NULL THEN
				EXECUTE format('SELECT pg_wallet.%I()', f.proname);
			ELSE
				EXECUTE format('SELECT pg_wallet.%I(%s) FROM (SELECT %s OFFSET 0) AS a (%s)',
				               f.proname, f.names, f.nulls, f.names);
			END IF;
			bad := bad || (f.sig::text || ': ok');
		EXCEPTION
			WHEN insufficient_privilege THEN
				NULL;
			WHEN OTHERS THEN
				bad := bad || (f.sig::text || ': ' || SQLSTATE);
		END;
	END LOOP;
	RETURN bad;
END
$$;

-- Test data, made by the superuser through the API: a partner settlement account that may
-- overdraw, and two wallets; Alice is funded with 1000.00 KES.
SELECT pg_wallet.create_owner('partner', 'pgTAP bank') AS bank_id \gset
SELECT pg_wallet.create_owner('user', 'pgTAP Alice') AS alice_id \gset
SELECT pg_wallet.create_owner('user', 'pgTAP Bob') AS bob_id \gset
SELECT (pg_wallet.create_account(:bank_id, 'KES', 'SETTLEMENT', 'PGTAP-SETTLE-KES',
	can_overdraw => true)).account_id IS NOT NULL AS ok \gset
SELECT (pg_wallet.create_account(:alice_id, 'KES', 'WALLET', 'PGTAP-ALICE')).account_id
	IS NOT NULL AS ok \gset
SELECT (pg_wallet.create_account(:bob_id, 'KES', 'WALLET', 'PGTAP-BOB')).account_id
	IS NOT NULL AS ok \gset
SELECT (pg_wallet.credit('PGTAP-ALICE', 1000.00, 'PGTAP-SETTLE-KES', 'pgtap-fund-alice'))
	.receipt_code AS fund_receipt \gset

SELECT is((pg_wallet.get_balance('PGTAP-ALICE')).balance, 1000.00::numeric,
	'setup: Alice was funded with 1000.00 KES by the superuser');

-- ---------------------------------------------------------------------------------------
-- Catalog: no function is executable by PUBLIC, nor by a role granted nothing
-- ---------------------------------------------------------------------------------------
SELECT cmp_ok(
	(SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'pg_wallet'::regnamespace),
	'>', 0::bigint,
	'pg_wallet has functions (the counts below are not vacuous)');

SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace
	   AND has_function_privilege('public', p.oid, 'EXECUTE')),
	0::bigint,
	'PUBLIC cannot EXECUTE any pg_wallet function');

-- a NULL proacl means the default, which includes EXECUTE for PUBLIC
SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace
	   AND (p.proacl IS NULL
	        OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) x WHERE x.grantee = 0))),
	0::bigint,
	'no pg_wallet function has a default ACL or an ACL entry for PUBLIC');

SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace
	   AND has_function_privilege('wallet_nobody', p.oid, 'EXECUTE')),
	0::bigint,
	'wallet_nobody cannot EXECUTE any pg_wallet function');

SELECT is(has_schema_privilege('public', 'pg_wallet', 'USAGE'), false,
	'PUBLIC has no USAGE on schema pg_wallet');
SELECT is(has_schema_privilege('public', 'pg_wallet', 'CREATE'), false,
	'PUBLIC has no CREATE on schema pg_wallet');
SELECT is(has_schema_privilege('wallet_app', 'pg_wallet', 'CREATE'), false,
	'wallet_app has no CREATE on schema pg_wallet');

-- wallet_app can execute exactly what it was granted, nothing more
SELECT set_eq(
	$$SELECT p.oid::regprocedure::text FROM pg_proc p
	  WHERE p.pronamespace = 'pg_wallet'::regnamespace
	    AND has_function_privilege('wallet_app', p.oid, 'EXECUTE')$$,
	ARRAY['pg_wallet.transfer(text,text,numeric,text,text,jsonb,text,text,boolean)',
	      'pg_wallet.get_balance(text)'],
	'wallet_app can EXECUTE exactly transfer() and get_balance()');

-- ---------------------------------------------------------------------------------------
-- Catalog: no table or sequence is readable or writable by anyone but the owner
-- ---------------------------------------------------------------------------------------
SELECT cmp_ok(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace AND c.relkind IN ('r', 'p')),
	'>=', 8::bigint,
	'pg_wallet has its tables (the counts below are not vacuous)');

SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace
	   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
	   AND has_table_privilege('wallet_app', c.oid,
	                           'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')),
	0::bigint,
	'wallet_app has no privilege on any table of pg_wallet');

SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace
	   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
	   AND has_any_column_privilege('wallet_app', c.oid, 'SELECT, INSERT, UPDATE, REFERENCES')),
	0::bigint,
	'wallet_app has no column privilege on any table of pg_wallet');

SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace
	   AND CASE WHEN c.relkind = 'S'  -- CASE: the planner may test quals in any order
	            THEN has_sequence_privilege('wallet_app', c.oid, 'USAGE, SELECT, UPDATE')
	            ELSE false END),
	0::bigint,
	'wallet_app has no privilege on any sequence of pg_wallet');

SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace
	   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
	   AND (has_table_privilege('wallet_nobody', c.oid,
	                            'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
	        OR has_table_privilege('public', c.oid,
	                               'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'))),
	0::bigint,
	'neither wallet_nobody nor PUBLIC has a privilege on any table of pg_wallet');

SELECT is(
	(SELECT count(*) FROM pg_class c
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace
	   AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) x WHERE x.grantee = 0)),
	0::bigint,
	'no table, sequence or view of pg_wallet is granted to PUBLIC (pg_class.relacl)');

SELECT is(
	(SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	 WHERE c.relnamespace = 'pg_wallet'::regnamespace AND a.attacl IS NOT NULL),
	0::bigint,
	'no column of pg_wallet carries a column-level grant');

SELECT table_privs_are('pg_wallet', 'accounts', 'wallet_app', ARRAY[]::text[],
	'wallet_app has no privileges on pg_wallet.accounts');
SELECT table_privs_are('pg_wallet', 'journals', 'wallet_app', ARRAY[]::text[],
	'wallet_app has no privileges on pg_wallet.journals');
SELECT table_privs_are('pg_wallet', 'entries', 'wallet_app', ARRAY[]::text[],
	'wallet_app has no privileges on pg_wallet.entries');
SELECT table_privs_are('pg_wallet', 'holds', 'wallet_app', ARRAY[]::text[],
	'wallet_app has no privileges on pg_wallet.holds');
SELECT table_privs_are('pg_wallet', 'account_deltas', 'wallet_app', ARRAY[]::text[],
	'wallet_app has no privileges on pg_wallet.account_deltas');

-- ---------------------------------------------------------------------------------------
-- Catalog: SECURITY DEFINER functions cannot be steered by the caller's search_path
-- ---------------------------------------------------------------------------------------
SELECT cmp_ok(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace AND p.prosecdef),
	'>', 0::bigint,
	'pg_wallet has SECURITY DEFINER functions (the counts below are not vacuous)');

SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace AND p.prosecdef
	   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')),
	0::bigint,
	'every SECURITY DEFINER function in pg_wallet has a fixed search_path (proconfig)');

-- pg_temp must be named, and last: left out, it is searched first
SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace AND p.prosecdef
	   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
	                   WHERE c ~ '^search_path=.*pg_temp"?$')),
	0::bigint,
	'every SECURITY DEFINER function in pg_wallet puts pg_temp last in its search_path');

SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'pg_wallet'::regnamespace AND p.prosecdef
	   AND EXISTS (SELECT 1 FROM unnest(p.proconfig) c
	               WHERE c LIKE 'search_path=%' AND (c ~* '\mpublic\M' OR c LIKE '%$user%'))),
	0::bigint,
	'no SECURITY DEFINER function in pg_wallet searches public or $user');

-- ---------------------------------------------------------------------------------------
-- Behaviour: wallet_nobody (a role granted nothing) is refused everything
-- ---------------------------------------------------------------------------------------
SET ROLE wallet_nobody;

SELECT throws_ok($$SELECT pg_wallet.get_balance('PGTAP-ALICE')$$, '42501', NULL,
	'wallet_nobody: get_balance() is refused (42501)');
SELECT throws_ok(
	$$SELECT pg_wallet.transfer('PGTAP-ALICE', 'PGTAP-BOB', 1.00, 'pgtap-nobody')$$,
	'42501', NULL,
	'wallet_nobody: transfer() is refused (42501)');
SELECT throws_ok($$SELECT * FROM pg_wallet.accounts$$, '42501', NULL,
	'wallet_nobody: SELECT from pg_wallet.accounts is refused (42501)');
SELECT is(pg_temp.calls_not_refused(), '{}'::text[],
	'wallet_nobody: a call of every pg_wallet function is refused with 42501');

RESET ROLE;

-- ---------------------------------------------------------------------------------------
-- Behaviour: wallet_app cannot touch the tables
-- ---------------------------------------------------------------------------------------
SET ROLE wallet_app;

SELECT is(current_user::text, 'wallet_app', 'SET ROLE wallet_app is in effect');
SELECT throws_ok($$SELECT * FROM pg_wallet.accounts$$, '42501', 'permission denied for table accounts',
	'wallet_app: SELECT * FROM pg_wallet.accounts is refused (42501)');
SELECT throws_ok($$SELECT balance FROM pg_wallet.accounts WHERE account_number = 'PGTAP-ALICE'$$,
	'42501', 'permission denied for table accounts',
	'wallet_app: SELECT of one column of pg_wallet.accounts is refused (42501)');
SELECT throws_ok(
	$$UPDATE pg_wallet.accounts SET balance = balance + 1000000
	  WHERE account_number = 'PGTAP-BOB'$$,
	'42501', 'permission denied for table accounts',
	'wallet_app: UPDATE of pg_wallet.accounts is refused (42501)');
SELECT throws_ok(
	$$INSERT INTO pg_wallet.entries (journal_id, leg, account_id, side, amount)
	  VALUES (1, 1, 1, 'CR', 100)$$,
	'42501', 'permission denied for table entries',
	'wallet_app: INSERT into pg_wallet.entries is refused (42501)');
SELECT throws_ok($$DELETE FROM pg_wallet.journals$$, '42501', 'permission denied for table journals',
	'wallet_app: DELETE from pg_wallet.journals is refused (42501)');
SELECT throws_ok($$TRUNCATE pg_wallet.holds$$, '42501', 'permission denied for table holds',
	'wallet_app: TRUNCATE of pg_wallet.holds is refused (42501)');
SELECT throws_ok($$SELECT * FROM pg_wallet.entries$$, '42501', 'permission denied for table entries',
	'wallet_app: SELECT from pg_wallet.entries is refused (42501)');
SELECT throws_ok($$SELECT nextval('pg_wallet.journal_id_seq')$$, '42501', 'permission denied for sequence journal_id_seq',
	'wallet_app: nextval of pg_wallet.journal_id_seq is refused (42501)');

-- ---------------------------------------------------------------------------------------
-- Behaviour: wallet_app cannot call what it was not granted
-- ---------------------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT pg_wallet.force_reverse_journal(%L, 'pgtap-force')$$,
	                    :'fund_receipt'),
	'42501', 'permission denied for function force_reverse_journal',
	'wallet_app: force_reverse_journal() is refused (42501)');
SELECT throws_ok(
	$$SELECT pg_wallet.post_journal('ADJUSTMENT',
		'[{"account": "PGTAP-SETTLE-KES", "side": "DR", "amount": "500.00"},
		  {"account": "PGTAP-BOB", "side": "CR", "amount": "500.00"}]')$$,
	'42501', 'permission denied for function post_journal',
	'wallet_app: post_journal() is refused (42501)');
SELECT throws_ok(format($$SELECT pg_wallet.create_account(%s, 'KES')$$, :bob_id),
	'42501', 'permission denied for function create_account',
	'wallet_app: create_account() is refused (42501)');
SELECT throws_ok($$SELECT pg_wallet.credit('PGTAP-BOB', 500.00, 'PGTAP-SETTLE-KES')$$,
	'42501', 'permission denied for function credit',
	'wallet_app: credit() is refused (42501)');
SELECT throws_ok(format($$SELECT pg_wallet.reverse_journal(%L)$$, :'fund_receipt'),
	'42501', 'permission denied for function reverse_journal',
	'wallet_app: reverse_journal() is refused (42501)');
SELECT throws_ok($$SELECT pg_wallet.verify_ledger()$$, '42501', 'permission denied for function verify_ledger',
	'wallet_app: verify_ledger() is refused (42501)');
SELECT throws_ok($$SELECT pg_wallet._account_row('PGTAP-ALICE')$$, '42501', 'permission denied for function _account_row',
	'wallet_app: the internal _account_row() is refused (42501)');
SELECT is(
	pg_temp.calls_not_refused(ARRAY['pg_wallet.transfer(text,text,numeric,text,text,jsonb,text,text,boolean)',
	                                'pg_wallet.get_balance(text)']::regprocedure[]),
	'{}'::text[],
	'wallet_app: a call of every pg_wallet function but transfer/get_balance is refused with 42501');

-- ---------------------------------------------------------------------------------------
-- Behaviour: wallet_app can call transfer() and get_balance(), and transfer moves money
-- ---------------------------------------------------------------------------------------
-- FROM, not (transfer(...)).*, which would call transfer() once per result column
SELECT * FROM pg_wallet.transfer('PGTAP-ALICE', 'PGTAP-BOB', 250.50, 'pgtap-app-t1',
	'pgTAP transfer by wallet_app') \gset t1_

SELECT is(:'t1_status'::text, 'POSTED', 'wallet_app: transfer() of 250.50 KES is POSTED');
SELECT is(:'t1_replayed'::boolean, false, 'wallet_app: the first transfer() is not a replay');
SELECT is((pg_wallet.get_balance('PGTAP-BOB')).balance, 250.50::numeric,
	'wallet_app: get_balance() shows Bob received 250.50');
SELECT is(
	(pg_wallet.transfer('PGTAP-ALICE', 'PGTAP-BOB', 250.50, 'pgtap-app-t1',
	                    'pgTAP transfer by wallet_app')).receipt_code,
	:'t1_receipt_code',
	'wallet_app: a retry under the same idempotency key returns the first receipt');

RESET ROLE;

SELECT is(current_user::text, session_user::text, 'RESET ROLE: back to the superuser');
SELECT is((pg_wallet.get_balance('PGTAP-ALICE')).balance, 749.50::numeric,
	'after wallet_app''s transfer: Alice has 749.50 (1000.00 - 250.50, the retry moved nothing)');
SELECT is((pg_wallet.get_balance('PGTAP-BOB')).balance, 250.50::numeric,
	'after wallet_app''s transfer: Bob has 250.50');
SELECT is((SELECT count(*) FROM pg_wallet.verify_ledger()), 0::bigint,
	'verify_ledger() finds no violation after wallet_app''s transfer');

SELECT * FROM finish();
ROLLBACK;
