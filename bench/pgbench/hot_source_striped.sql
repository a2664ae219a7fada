-- (d') hot source, striped: payouts from a funded float account (FLOAT_ACCOUNT, no overdraft)
-- with 32 stripes (set_account_stripes) to random users. Each debit takes a free stripe with
-- SKIP LOCKED instead of the float's row, so payers do not queue on it.
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT status FROM pg_wallet.transfer('FLOATS', 'B' || :a, :amt * 0.01);
