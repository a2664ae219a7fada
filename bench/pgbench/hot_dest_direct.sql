-- (c) hot destination into a DIRECT merchant account: every credit locks and updates the one
-- merchant row, so payers queue on it (what DEFERRED avoids).
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('B' || :a, 'MDIR', :amt * 0.01);
