-- Shared helpers for the regress suites (the extension itself is created by pg_regress
-- --load-extension). err(sql) runs a statement and returns "SQLSTATE: message" of the error
-- it raises, or 'no error', so expected files show the exact SQLSTATE of every refusal.
CREATE FUNCTION err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- err_col(sql): the same, with the column the error names when it names one (the bridge
-- shows it as the error's field): "SQLSTATE: message (column)".
CREATE FUNCTION err_col(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	col text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS col = COLUMN_NAME;
	RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(col, '') || ')', '');
END
$$;
-- A balanced ledger check that prints one line: ok, or the violations.
CREATE FUNCTION ledger_ok() RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(check_name || ' ' || subject || ': ' || detail, '; '), 'ok')
	FROM pg_wallet.verify_ledger()
$$;

-- Balance, available and pending of an account as one line.
CREATE FUNCTION bal(acct text) RETURNS text LANGUAGE sql AS $$
	SELECT format('%s %s: balance %s available %s pending_debit %s pending_credit %s',
	              b.account_number, b.currency, b.balance, b.available_balance,
	              b.pending_debit, b.pending_credit)
	FROM pg_wallet.get_balance(acct) b
$$;

-- A payment's events are queued and moved into their streams by the outbox worker after
-- commit (partners/events.sql, "Queued events"): events_settled() moves what is left (the
-- worker may hold some rows: it waits for them) before a test reads the streams.
CREATE FUNCTION events_settled() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..1000 LOOP
		PERFORM pg_wallet._events_sequence();
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.event_queue) THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN false;
END $$;

SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_wallet';
SELECT ledger_ok();
