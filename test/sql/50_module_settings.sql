-- Every pg_wallet.* setting is defined in one place (src/settings.c) when the library loads,
-- and the pg_wallet prefix is reserved: the list below is all of them, and a name that is not
-- in it is an error rather than a placeholder that nothing reads.

SELECT name, setting, unit, context, vartype, min_val, max_val
FROM pg_settings WHERE name LIKE 'pg_wallet.%' ORDER BY name;

-- misspelt names are refused, by SET and by set_config()
SELECT err('SET pg_wallet.no_such_setting = 1');
SELECT err($$SELECT set_config('pg_wallet.jwt_lifetime', '60', false)$$);

-- contexts: the workers' settings are read from the configuration file, two need a restart
SELECT err('SET pg_wallet.outbox_batch_size = 5');
SELECT err($$SET pg_wallet.database = 'other'$$);

-- the identity settings are superuser-only
CREATE ROLE t50_app NOLOGIN;
SET ROLE t50_app;
SELECT err('SET pg_wallet.jwt_lifetime_s = 600');
SELECT err('SET pg_wallet.test_now_offset_s = 3600');
RESET ROLE;
DROP ROLE t50_app;
SET pg_wallet.jwt_lifetime_s = 600;
SHOW pg_wallet.jwt_lifetime_s;
RESET pg_wallet.jwt_lifetime_s;
