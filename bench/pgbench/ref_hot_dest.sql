-- (R) reference, hot destination: random users pay the one merchant RMER (same draw as
-- hot_dest_direct.sql). Every credit locks the merchant row.
\set a random(1, :accounts)
\set amt random(100, 10000)
SELECT ref.transfer('R' || :a, 'RMER', :amt * 0.01, gen_random_uuid()::text);
