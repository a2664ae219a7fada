-- (R) reference, hot source: payouts from the one funded float RFLOAT (floor 0) to random
-- users (same draw as hot_source.sql). Every debit locks the float row.
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT ref.transfer('RFLOAT', 'R' || :a, :amt * 0.01, gen_random_uuid()::text);
