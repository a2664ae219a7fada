-- (d) hot source: payouts from one funded float account (FLOAT_ACCOUNT, balance checked, no
-- overdraft) to random users. Every debit locks the float row.
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('FLOAT1', 'B' || :a, :amt * 0.01);
