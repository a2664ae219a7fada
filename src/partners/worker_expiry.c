/*-------------------------------------------------------------------------
 *
 * worker_expiry.c
 *	  The expiry worker: every pg_wallet.expiry_interval_s seconds it times
 *	  out payouts, expires deposits and holds past their deadlines, bills the
 *	  subscriptions due (one attempt each per sweep), purges
 *	  expired authentication rows, refills the stripes of striped accounts
 *	  that ran low, and folds the pending deltas of DEFERRED (and striped)
 *	  accounts into their balances (so balance reads of a hot account that
 *	  is never debited stay cheap), each step in a transaction of its own and
 *	  through the SQL functions that own those rows (a voided hold is a ledger
 *	  event, never a row deletion).
 *
 * How it sleeps: on its latch until the next sweep is due (the end of the
 * last sweep plus the interval, rounded up); a wake-up before that (SIGHUP,
 * which may change the interval, or a stray SetLatch) only re-reads the
 * settings and sleeps again for what remains, so the worker sweeps and turns
 * once per interval. With the sweeps disabled (0) it waits for the latch
 * alone; until the extension exists it looks every EXPIRY_NOT_READY_MS.
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

#define EXPIRY_NOT_READY_MS		10000	/* look for the extension this often */

/* The sweeps, in order: payouts before holds, so a timed-out payout voids
 * its own hold (and tells its user) before the generic hold expiry could. */
static const char *const expiry_steps[] = {
	"SELECT pg_wallet.expire_withdrawals($1)::bigint",
	"SELECT pg_wallet.expire_deposits($1)::bigint",
	"SELECT pg_wallet.expire_holds($1)::bigint",
	"SELECT (pg_wallet.subscriptions_bill_due(least($1, 500)) ->> 'charged')::bigint",
	"SELECT pg_wallet.purge_expired_auth()::bigint WHERE $1 > 0",
	"SELECT pg_wallet.rebalance_stripes(NULL, least($1, 100))",
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

/* Sleep on the latch for timeout_ms (-1: until the latch is set). */
static void
expiry_sleep(long timeout_ms)
{
	int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

	if (timeout_ms >= 0)
		events |= WL_TIMEOUT;
	(void) WaitLatch(MyLatch, events, timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/*
 * Main loop: wait for the extension, then sweep every interval. The
 * interval is re-read on SIGHUP; 0 disables the sweeps.
 */
void
wallet_expiry_main(Datum arg)
{
	MemoryContext loop_cxt;
	TimestampTz last_sweep = 0;		/* the end of the last sweep; 0: none yet */

	worker_start(WALLET_WORKER_EXPIRY, "pg_wallet expiry");
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pg_wallet expiry loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long		sleep_ms = -1;	/* sweeps disabled: until the latch is set */

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		CHECK_FOR_INTERRUPTS();
		worker_reload_config();
		worker_count_loop(WALLET_WORKER_EXPIRY);
		if (expiry_interval_s > 0)
			sleep_ms = worker_ms_until(last_sweep, expiry_interval_s);
		if (sleep_ms == 0 && !worker_extension_ready())
			sleep_ms = EXPIRY_NOT_READY_MS;
		else if (sleep_ms == 0)
		{
			expiry_sweep();
			last_sweep = GetCurrentTimestamp();
			sleep_ms = expiry_interval_s * 1000L;
		}
		expiry_sleep(sleep_ms);
	}
}
