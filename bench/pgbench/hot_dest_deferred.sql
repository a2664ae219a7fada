-- (b) hot destination: every payment from a random user into one merchant account that is in
-- credit_mode DEFERRED (credits are appended as account_deltas, no lock on the merchant row).
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('B' || :a, 'MDEF', :amt * 0.01);
