-- (c') hot destination into a DIRECT merchant account with 32 stripes: its credits are
-- appended as deltas without its row lock (its debits would take a stripe), as for (b).
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('B' || :a, 'MDIRS', :amt * 0.01);
