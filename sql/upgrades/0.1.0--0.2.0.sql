-- pg_wallet 0.1.0 -> 0.2.0: schema changes only (the function files are replayed after it).

-- One implementation per rule (issue 9): the FX rate choice is _fx_rate.
DROP FUNCTION pg_wallet._fx_mid(text, text);
