-- bench/run's `paytr` shape: the plain transfer a `pay` payment posts (a random user B1..BN to
-- the DEFERRED merchant MDEF, with the users' principals present, so the same KYC limits are
-- checked and the same fraud scoring runs), with its idempotency key: what `pay` is compared
-- with (issue 13: a payment >= 0.8 x a plain transfer).
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('B' || :a, 'MDEF', :amt * 0.01, 'bench-' || txid_current());
