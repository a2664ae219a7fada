-- The background workers (src/partners/worker_*.c): a launcher connected to no database starts, in
-- the database named by pg_wallet.database, the outbox worker (delivers pg_wallet.outbox)
-- and the expiry worker (every pg_wallet.expiry_interval_s: expire_withdrawals,
-- expire_deposits, expire_holds, purge_expired_auth). They run only when pg_wallet is in
-- shared_preload_libraries.

CREATE OR REPLACE FUNCTION pg_wallet._worker_activity(
	OUT worker text, OUT loops bigint, OUT transactions bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'wallet_worker_activity'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._worker_activity() IS
	'Internal: the counters of each worker since the server started (shared memory): the '
	'turns of its main loop and the transactions it ran. No rows without '
	'shared_preload_libraries = ''pg_wallet''.';

CREATE OR REPLACE FUNCTION pg_wallet.worker_status()
RETURNS TABLE (worker text, pid integer, state text, database text, backend_start timestamptz,
	loops bigint, transactions bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.backend_type, a.pid, coalesce(a.state, 'running'), a.datname, a.backend_start,
		c.loops, c.transactions
	FROM pg_catalog.pg_stat_activity a
	LEFT JOIN pg_wallet._worker_activity() c ON c.worker = a.backend_type
	WHERE a.backend_type IN ('pg_wallet launcher', 'pg_wallet outbox', 'pg_wallet expiry')
	ORDER BY a.backend_type
$$;
COMMENT ON FUNCTION pg_wallet.worker_status() IS
	'Operator: the pg_wallet background workers that run (launcher, outbox, expiry) with '
	'their pid and database, and how often each has turned its main loop and how many '
	'transactions it has run since the server started (an idle worker sleeps: these grow by '
	'a few a minute). None without shared_preload_libraries = ''pg_wallet''.';
