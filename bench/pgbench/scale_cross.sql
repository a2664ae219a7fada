-- bench/scale: one transfer between accounts on two different nodes, sent to the router (every
-- one a two-phase commit). Variables from bench/scale: -D accounts=N -D nodes=K (K >= 2).
\set na random(0, :nodes - 1)
\set s random(1, :nodes - 1)
\set nb (:na + :s) % :nodes
\set a random(1, :accounts)
\set b random(1, :accounts)
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('S' || :na || 'x' || :a, 'S' || :nb || 'x' || :b, :amt * 0.01);
