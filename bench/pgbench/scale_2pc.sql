-- bench/scale: what a prepared half costs a node: the transfer of (n) in a transaction that is
-- prepared, then committed (BEGIN, transfer, PREPARE TRANSACTION, COMMIT PREPARED), on node 0.
-- Variables from bench/scale: -D accounts=N.
\set a random(1, :accounts)
\set d random(1, :accounts - 1)
\set b (:a + :d - 1) % :accounts + 1
\set amt random(100, 10000)
BEGIN;
SELECT status FROM pg_wallet.transfer('S0x' || :a, 'S0x' || :b, :amt * 0.01);
PREPARE TRANSACTION 'bench_scale_:client_id';
COMMIT PREPARED 'bench_scale_:client_id';
