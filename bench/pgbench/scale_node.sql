-- bench/scale: one transfer between two random accounts of node 0 (S0x1..S0xN), sent to node 0
-- itself or to the router (the same script: the router has the same function).
-- Variables from bench/scale: -D accounts=N.
\set a random(1, :accounts)
\set d random(1, :accounts - 1)
\set b (:a + :d - 1) % :accounts + 1
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('S0x' || :a, 'S0x' || :b, :amt * 0.01);
