-- (a) uniform random pairs: one transfer between two distinct random user accounts.
-- Variables from bench/run: -D accounts=N (users are B1..BN).
\set a random(1, :accounts)
\set d random(1, :accounts - 1)
\set b (:a + :d - 1) % :accounts + 1
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('B' || :a, 'B' || :b, :amt * 0.01);
