-- Ledger fixture for bench/run (psql variables: accounts, user_funds, float_funds).
--   SETTLE   partner SETTLEMENT account, can_overdraw: the source of all money
--   B1..BN   user WALLET accounts, each funded with :user_funds by credit() from SETTLE
--   MDEF     merchant WALLET, credit_mode DEFERRED   (hot destination, shape b)
--   MDIR     merchant WALLET, credit_mode DIRECT     (hot destination, shape c)
--   FLOAT1   client FLOAT_ACCOUNT funded with :float_funds, no overdraft (hot source, shape d)
--   MDIRS    as MDIR, with 32 stripes (set_account_stripes: shape c')
--   FLOATS   as FLOAT1, with 32 stripes (shape d')
\set ON_ERROR_STOP on
SET client_min_messages = warning;

SELECT (pg_wallet.create_account(pg_wallet.create_owner('partner', 'bench settlement'),
	'KES', 'SETTLEMENT', 'SETTLE', can_overdraw => true)).account_number;
SELECT (pg_wallet.create_account(pg_wallet.create_owner('merchant', 'bench merchant deferred'),
	'KES', 'WALLET', 'MDEF', credit_mode => 'DEFERRED')).account_number;
SELECT (pg_wallet.create_account(pg_wallet.create_owner('merchant', 'bench merchant direct'),
	'KES', 'WALLET', 'MDIR', credit_mode => 'DIRECT')).account_number;
SELECT (pg_wallet.create_account(pg_wallet.create_owner('client', 'bench float'),
	'KES', 'FLOAT_ACCOUNT', 'FLOAT1')).account_number;
SELECT (pg_wallet.create_account(pg_wallet.create_owner('merchant', 'bench merchant striped'),
	'KES', 'WALLET', 'MDIRS', credit_mode => 'DIRECT')).account_number;
SELECT (pg_wallet.create_account(pg_wallet.create_owner('client', 'bench float striped'),
	'KES', 'FLOAT_ACCOUNT', 'FLOATS')).account_number;

-- one owner per user account, predictable account numbers B1..BN
SELECT count(pg_wallet.create_account(pg_wallet.create_owner('user', 'bench user ' || i),
	'KES', 'WALLET', 'B' || i))
FROM generate_series(1, :accounts) i;

-- funding: one credit() per account, in one transaction
SELECT count(*) FILTER (WHERE (r).status = 'POSTED') AS funded
FROM (SELECT pg_wallet.credit('B' || i, :user_funds, 'SETTLE', description => 'bench funding') r
      FROM generate_series(1, :accounts) i) s;
SELECT (pg_wallet.credit('FLOAT1', :float_funds, 'SETTLE', description => 'bench funding')).status;
SELECT (pg_wallet.credit('FLOATS', :float_funds, 'SETTLE', description => 'bench funding')).status;
SELECT pg_wallet.set_account_stripes('FLOATS', 32), pg_wallet.set_account_stripes('MDIRS', 32);

-- fraud scoring's steady state: every user has posted before, so its statistics row exists
-- (a user's first scored posting creates it, which a system in service has long done): 20
-- earlier postings, mean 50.00 KES, standard deviation 25.00 KES (M2 = 19 x 2500^2 minor
-- units^2), as the shapes' amounts (1.00-100.00 KES) roughly are
INSERT INTO pg_wallet.fraud_owner_stats (owner_id, currency, tx_count, mean_e4, m2_e8)
SELECT a.owner_id, 'KES', 20, 5000 * 10000, 19 * 2500 * 2500 * 100000000::numeric
FROM pg_wallet.accounts a WHERE a.account_number ~ '^B[0-9]+$';
VACUUM ANALYZE pg_wallet.fraud_owner_stats;
VACUUM ANALYZE pg_wallet.account_stripes;

VACUUM ANALYZE pg_wallet.accounts;
VACUUM ANALYZE pg_wallet.journals;
VACUUM ANALYZE pg_wallet.entries;
VACUUM ANALYZE pg_wallet.account_deltas;
VACUUM ANALYZE pg_wallet.owners;
