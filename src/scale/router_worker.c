/*-------------------------------------------------------------------------
 *
 * router_worker.c
 *	  The recovery worker of a scale-out router (docs/scale-out.md): in the
 *	  database named by pg_wallet.router_database, every
 *	  pg_wallet.router_recovery_interval_s seconds, it calls
 *	  pg_wallet_router.recover(), which resolves the prepared halves of
 *	  cross-node transfers (and the parts of configuration changes) on
 *	  every node by the router's decision logs, presuming abort for those
 *	  left undecided longer than in_doubt_after.
 *
 * How it sleeps: on its latch, as the expiry worker does: until the next
 * pass is due (SIGHUP re-reads the interval; 0 pauses it); until the
 * extension pg_wallet_router exists it looks every ROUTER_NOT_READY_MS.
 * A pass that fails (a node down) is a WARNING; the next one tries again.
 *
 * Owns: the schedule of the recovery passes. Never: decides a transfer
 * (recover() does, in SQL, by the log) or connects to a node itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "partners/worker.h"
#include "scale/router.h"
#include "settings.h"

#define ROUTER_NOT_READY_MS		10000	/* look for the extension this often */

/* One recovery pass; what it did is in pg_wallet_router.recover()'s rows (logged). */
static void
router_recover(void *arg)
{
	uint64		acted;

	if (SPI_execute("SELECT * FROM pg_wallet_router.recover()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_wallet_router.recover() failed");
	acted = SPI_processed;
	for (uint64 i = 0; i < acted; i++)
	{
		char	   *node = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *gid = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *action = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		ereport(LOG,
				(errmsg("pg_wallet router recovery: %s %s on node %s", action,
						gid ? gid : "?", node ? node : "-")));
	}
}

/* Register the worker; _PG_init calls this when preloaded with a router database set. */
void
router_register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;	/* also while the database does not exist yet */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_wallet");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "wallet_router_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_wallet router recovery");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_wallet router recovery");
	RegisterBackgroundWorker(&worker);
}

/* Main loop: wait for the extension, then a recovery pass every interval. */
void
wallet_router_main(Datum arg)
{
	MemoryContext loop_cxt;
	TimestampTz last_pass = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(router_database, NULL, 0);
	pgstat_report_appname("pg_wallet router recovery");
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pg_wallet router loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long		sleep_ms = -1;	/* paused: until the latch is set */
		int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		CHECK_FOR_INTERRUPTS();
		worker_reload_config();
		if (router_recovery_interval_s > 0)
			sleep_ms = worker_ms_until(last_pass, router_recovery_interval_s);
		if (sleep_ms == 0 && !worker_extension_installed("pg_wallet_router"))
			sleep_ms = ROUTER_NOT_READY_MS;
		else if (sleep_ms == 0)
		{
			(void) worker_run(router_recover, NULL, "router recovery");
			last_pass = GetCurrentTimestamp();
			sleep_ms = router_recovery_interval_s * 1000L;
		}
		if (sleep_ms >= 0)
			events |= WL_TIMEOUT;
		(void) WaitLatch(MyLatch, events, sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
