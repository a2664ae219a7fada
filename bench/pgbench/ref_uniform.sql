-- (R) reference: the hand-written PL/pgSQL ledger of sql/ref_ledger.sql, uniform random pairs
-- (same draw as transfer_uniform.sql), each with a fresh idempotency key.
\set a random(1, :accounts)
\set d random(1, :accounts - 1)
\set b (:a + :d - 1) % :accounts + 1
\set amt random(100, 10000)
SELECT ref.transfer('R' || :a, 'R' || :b, :amt * 0.01, gen_random_uuid()::text);
