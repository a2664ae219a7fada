-- bench/scale: one transfer between two random accounts of the whole cluster (any node), sent
-- to the router: with 3 nodes, 1 in 3 is on one node, 2 in 3 cross nodes.
-- Variables from bench/scale: -D accounts=N -D nodes=K.
\set na random(0, :nodes - 1)
\set nb random(0, :nodes - 1)
\set a random(1, :accounts)
\set d random(1, :accounts - 1)
\set b (:a + :d - 1) % :accounts + 1
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('S' || :na || 'x' || :a, 'S' || :nb || 'x' || :b, :amt * 0.01);
