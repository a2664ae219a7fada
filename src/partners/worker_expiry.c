/*-------------------------------------------------------------------------
 *
 * worker_expiry.c
 *	  The expiry worker: every pg_wallet.expiry_interval_s seconds it times
 *	  out payouts, expires deposits and holds past their deadlines, purges
 *	  expired authentication rows, and folds the pending deltas of DEFERRED
 *	  accounts into their balances (so balance reads of a hot account that
 *	  is never debited stay cheap), each step in a transaction of its own and
 *	  through the SQL functions that own those rows (a voided hold is a ledger
 *	  event, never a row deletion).
 *
 * Owns: the schedule of the sweeps. Never: decides what is expired (the
 * SQL functions do) or writes a row itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "partners/outbox.h"
#include "partners/worker.h"

#define EXPIRY_DISABLED_POLL_MS	10000	/* re-read the settings this often */

/* The sweeps, in order: payouts before holds, so a timed-out payout voids
 * its own hold (and tells its user) before the generic hold expiry could. */
static const char *const expiry_steps[] = {
	"SELECT pg_wallet.expire_withdrawals($1)::bigint",
	"SELECT pg_wallet.expire_deposits($1)::bigint",
	"SELECT pg_wallet.expire_holds($1)::bigint",
	"SELECT pg_wallet.purge_expired_auth()::bigint WHERE $1 > 0",
	"SELECT pg_wallet.fold_deltas(NULL, least($1, 5000))",
};

/* One step: its statement with the batch size. */
static void
expiry_step(void *arg)
{
	const char *sql = (const char *) arg;
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(expiry_batch_size)};

	if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 1) < 0)
		elog(ERROR, "expiry step failed");
}

/* One sweep: every step, each in its own transaction. */
static void
expiry_sweep(void)
{
	for (int i = 0; i < lengthof(expiry_steps); i++)
	{
		CHECK_FOR_INTERRUPTS();
		(void) worker_run(expiry_step, (void *) expiry_steps[i], "expiry sweep");
	}
}

/*
 * Main loop: wait for the extension, then sweep every interval. The
 * interval is re-read on SIGHUP; 0 disables the sweeps.
 */
void
wallet_expiry_main(Datum arg)
{
	MemoryContext loop_cxt;

	worker_start(WALLET_WORKER_EXPIRY, "pg_wallet expiry");
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pg_wallet expiry loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long		sleep_ms;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		worker_reload_config();
		if (expiry_interval_s > 0 && worker_extension_ready())
		{
			expiry_sweep();
			sleep_ms = expiry_interval_s * 1000L;
		}
		else
			sleep_ms = EXPIRY_DISABLED_POLL_MS;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
