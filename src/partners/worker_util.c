/*-------------------------------------------------------------------------
 *
 * worker_util.c
 *	  What the outbox and expiry workers share: starting up in the
 *	  pg_wallet database, running one unit of work in its own transaction
 *	  and surviving its errors, and waiting for the extension to exist.
 *
 * Owns: worker_start(), worker_run() (which counts the transactions shown by
 * worker_status()), worker_extension_ready(). Never:
 * business logic; an error of one unit of work is reported as a WARNING
 * and the worker goes on (it must never die in a loop on a bad row).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/pg_wallet.h"
#include "partners/outbox.h"
#include "partners/worker.h"

static int	worker_kind = -1;

/* Give the worker's slot back at exit (and the outbox worker's latch). */
static void
worker_exit(int code, Datum arg)
{
	if (DatumGetInt32(arg) == WALLET_WORKER_OUTBOX)
		outbox_set_worker_latch(false);
	worker_slot_release(DatumGetInt32(arg));
}

/*
 * Common start of a worker of a kind: signals, the one-instance slot (a
 * duplicate exits quietly) and the database connection.
 */
void
worker_start(int kind, const char *name)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (!worker_slot_claim(kind))
		proc_exit(0);
	worker_kind = kind;
	before_shmem_exit(worker_exit, Int32GetDatum(kind));
	BackgroundWorkerInitializeConnection(wallet_worker_database, NULL, 0);
	pgstat_report_appname(name);
}

/* Reload the configuration file when asked (SIGHUP). */
void
worker_reload_config(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * Run fn(arg) in a transaction of its own, connected to SPI with a
 * snapshot. Returns false when it raised an error, which is reported as a
 * WARNING (its message only: callers never put secrets in errors).
 */
bool
worker_run(void (*fn) (void *), void *arg, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	worker_count_transaction(worker_kind);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, what);
		fn(arg);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(WARNING,
				(errmsg("pg_wallet %s failed: %s", what, edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	pgstat_report_stat(true);
	return ok;
}

/* Whether the extension named by *arg is installed; the answer replaces the name. */
typedef struct ExtensionCheck
{
	const char *name;
	bool		installed;
} ExtensionCheck;

static void
extension_check(void *arg)
{
	ExtensionCheck *check = (ExtensionCheck *) arg;

	check->installed = OidIsValid(get_extension_oid(check->name, true));
}

/* Whether an extension is installed in the worker's database (a transaction of its own). */
bool
worker_extension_installed(const char *name)
{
	ExtensionCheck check = {name, false};

	return worker_run(extension_check, &check, "extension check") && check.installed;
}

/* Whether pg_wallet is installed (checked in a transaction of its own). */
bool
worker_extension_ready(void)
{
	return worker_extension_installed("pg_wallet");
}

/*
 * Milliseconds until a pass that runs every interval_s seconds is due again
 * after the one that ended at last (0: due now; also before the first pass).
 */
long
worker_ms_until(TimestampTz last, int interval_s)
{
	TimestampTz due,
				now = GetCurrentTimestamp();

	if (last == 0)
		return 0;
	due = TimestampTzPlusMilliseconds(last, interval_s * 1000L);
	return now < due ? (long) ((due - now + 999) / 1000) : 0;
}

/* The one bigint (or NULL: -1) of the statement SPI just ran. */
static int64
one_int64(const char *sql, int rc)
{
	bool		isnull;
	Datum		d;

	if (rc < 0 || SPI_processed != 1)
		elog(ERROR, "statement failed: %s", sql);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? -1 : DatumGetInt64(d);
}

/* Run one SQL statement that returns one bigint (or NULL: -1). */
int64
worker_sql_int64(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	return one_int64(sql, SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 1));
}

/*
 * The same through a plan saved in *plan on first use: for the statements
 * of every turn, parsed and planned once per worker, not once per turn.
 */
int64
worker_plan_int64(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	return one_int64(sql, SPI_execute_plan(wallet_plan(plan, sql, nargs, argtypes), values,
										   NULL, false, 1));
}
