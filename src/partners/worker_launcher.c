/*-------------------------------------------------------------------------
 *
 * worker_launcher.c
 *	  The pg_wallet launcher: a background worker connected to no database
 *	  that waits until the database named by pg_wallet.database exists,
 *	  then starts the outbox and expiry workers there and starts them again
 *	  whenever they stop.
 *
 * Why a launcher: a worker that connects to a database that does not exist
 * yet dies with a FATAL and is restarted in a loop by the postmaster. The
 * launcher reads pg_database (a shared catalog) instead, so a server whose
 * pg_wallet database is created later (or never) stays quiet.
 *
 * How it sleeps: on its latch. The postmaster sets it whenever one of the
 * workers it started starts or stops (bgw_notify_pid), so while both run it
 * only wakes for that (or after LAUNCHER_IDLE_MS, a safety net); it looks
 * every LAUNCHER_CHECK_MS only while the database does not exist or a
 * worker it did not start holds a slot (no notification comes for those),
 * and waits out the pause before restarting a worker that stopped.
 *
 * Owns: registering the launcher (from _PG_init) and the dynamic workers.
 * Never: connects to a database or touches pg_wallet's tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "partners/outbox.h"

#define LAUNCHER_CHECK_MS		1000	/* how often it looks while it must poll */
#define LAUNCHER_IDLE_MS		60000	/* longest sleep while its workers run */
#define LAUNCHER_RESTART_MS		5000	/* least delay before restarting one */

/* What the launcher knows about one of its workers. */
typedef struct LaunchedWorker
{
	int			kind;
	const char *function;
	const char *name;
	BackgroundWorkerHandle *handle;
	TimestampTz stopped_at;		/* 0: never seen stopped */
} LaunchedWorker;

/* Register the launcher; _PG_init calls this when preloaded. */
void
wallet_register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_wallet");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "wallet_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_wallet launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_wallet launcher");
	RegisterBackgroundWorker(&worker);
}

/* Whether the workers' database exists (a read of pg_database). */
static bool
launcher_database_exists(void)
{
	bool		exists = false;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	/* a plain heap scan, as autovacuum's launcher does: no relcache of a database */
	worker_count_transaction(WALLET_WORKER_LAUNCHER);
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!exists && HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		exists = strcmp(NameStr(db->datname), wallet_worker_database) == 0 &&
			db->datallowconn;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return exists;
}

/* Start one dynamic worker; it never restarts by itself: we do. */
static void
launcher_start(LaunchedWorker *w)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	worker.bgw_notify_pid = MyProcPid;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_wallet");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", w->function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", w->name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", w->name);
	if (!RegisterDynamicBackgroundWorker(&worker, &w->handle))
	{
		w->handle = NULL;
		ereport(WARNING,
				(errmsg("could not start the %s worker", w->name),
				 errhint("Raise max_worker_processes.")));
	}
}

/*
 * Start a worker that is not running, after a pause if it just stopped.
 * Returns how long the launcher may sleep before it must look at this
 * worker again; -1 when the postmaster's notification will wake it.
 */
static long
launcher_check(LaunchedWorker *w)
{
	pid_t		pid;
	TimestampTz now = GetCurrentTimestamp();

	if (w->handle != NULL &&
		GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED)
		return -1;
	if (w->handle != NULL)
	{
		pfree(w->handle);
		w->handle = NULL;
		w->stopped_at = now;
	}
	/* a worker started by an earlier launcher may still run: nobody tells us when it stops */
	if (worker_slot_alive(w->kind))
		return LAUNCHER_CHECK_MS;
	if (w->stopped_at != 0 &&
		!TimestampDifferenceExceeds(w->stopped_at, now, LAUNCHER_RESTART_MS))
		return (long) ((TimestampTzPlusMilliseconds(w->stopped_at, LAUNCHER_RESTART_MS) -
						now + 999) / 1000);
	launcher_start(w);
	return w->handle == NULL ? LAUNCHER_RESTART_MS : -1;
}

/*
 * The launcher's main loop: connect to no database, then check the workers
 * whenever the latch is set (a worker started or stopped, SIGHUP) or the
 * timeout the last check asked for runs out.
 */
void
wallet_launcher_main(Datum arg)
{
	LaunchedWorker workers[WALLET_WORKER_KINDS] = {
		{WALLET_WORKER_OUTBOX, "wallet_outbox_main", "pg_wallet outbox", NULL, 0},
		{WALLET_WORKER_EXPIRY, "wallet_expiry_main", "pg_wallet expiry", NULL, 0},
	};
	long		timeout = LAUNCHER_CHECK_MS;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pg_wallet launcher");

	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		worker_count_loop(WALLET_WORKER_LAUNCHER);
		timeout = LAUNCHER_CHECK_MS;
		if (!launcher_database_exists())
			continue;
		timeout = LAUNCHER_IDLE_MS;
		for (int i = 0; i < WALLET_WORKER_KINDS; i++)
		{
			long		next = launcher_check(&workers[i]);

			if (next >= 0 && next < timeout)
				timeout = Max(next, 1);
		}
	}
}
