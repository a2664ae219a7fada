/*-------------------------------------------------------------------------
 *
 * outbox_config.c
 *	  The small shared-memory area through which a committing backend wakes
 *	  the outbox worker, and the transaction callback that does it. (The
 *	  workers' settings are defined in src/settings.c.)
 *
 * Owns: OutboxShared, wallet_preloaded, _outbox_wake(),
 * workers_available() and the workers' activity counters
 * (_worker_activity(), read by worker_status()). Never: touches an outbox row (SQL does), or wakes
 * the worker before commit (a woken worker must find the committed row).
 *
 * Waking: pg_wallet._outbox_wake() only sets a backend-local flag; the
 * XactCallback sets the worker's latch at XACT_EVENT_COMMIT, so the worker
 * wakes exactly when the new rows become visible, never by polling. An
 * aborted transaction wakes nobody. The latch is found through the worker's
 * pgprocno published in shared memory and withdrawn when the worker exits; a
 * stale number (the worker is just exiting) sets some other process's latch,
 * which is a harmless spurious wake-up: every worker loop treats a wake-up
 * as a hint and sleeps again when nothing is due.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

#include "partners/outbox.h"

PG_FUNCTION_INFO_V1(wallet_outbox_wake);
PG_FUNCTION_INFO_V1(wallet_workers_available);
PG_FUNCTION_INFO_V1(wallet_worker_activity);

bool		wallet_preloaded = false;

/* What every backend and the workers share. */
typedef struct OutboxShared
{
	pg_atomic_uint32 outbox_procno_plus1;	/* 0: no outbox worker */
	pg_atomic_uint32 worker_pid[WALLET_WORKER_KINDS];	/* 0: none running */
	pg_atomic_uint64 loops[WALLET_WORKER_COUNTED];	/* since the server started */
	pg_atomic_uint64 transactions[WALLET_WORKER_COUNTED];
} OutboxShared;

/* The names of the counted workers (their backend_type), by kind. */
static const char *const worker_names[WALLET_WORKER_COUNTED] = {
	[WALLET_WORKER_OUTBOX] = "pg_wallet outbox",
	[WALLET_WORKER_EXPIRY] = "pg_wallet expiry",
	[WALLET_WORKER_LAUNCHER] = "pg_wallet launcher",
};

static OutboxShared *outbox_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool wake_at_commit = false;
static bool xact_callback_registered = false;

/* Ask for the shared area (PostgreSQL 15: only from shmem_request_hook). */
static void
outbox_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(OutboxShared)));
}

/* Create or attach the shared area. */
static void
outbox_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	outbox_shared = ShmemInitStruct("pg_wallet outbox", sizeof(OutboxShared), &found);
	if (!found)
	{
		pg_atomic_init_u32(&outbox_shared->outbox_procno_plus1, 0);
		for (int i = 0; i < WALLET_WORKER_KINDS; i++)
			pg_atomic_init_u32(&outbox_shared->worker_pid[i], 0);
		for (int i = 0; i < WALLET_WORKER_COUNTED; i++)
		{
			pg_atomic_init_u64(&outbox_shared->loops[i], 0);
			pg_atomic_init_u64(&outbox_shared->transactions[i], 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Install the shared-memory hooks; called by _PG_init when preloaded. */
void
outbox_shmem_init_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = outbox_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = outbox_shmem_startup;
}

/*
 * Publish (mine = true) or withdraw the calling outbox worker's latch. At
 * most one outbox worker runs; the last to publish wins, and a withdrawal
 * clears only the caller's own number.
 */
void
outbox_set_worker_latch(bool mine)
{
	uint32		own = (uint32) MyProc->pgprocno + 1;

	if (outbox_shared == NULL)
		return;
	if (mine)
		pg_atomic_write_u32(&outbox_shared->outbox_procno_plus1, own);
	else
		(void) pg_atomic_compare_exchange_u32(&outbox_shared->outbox_procno_plus1, &own, 0);
}

/* Count one turn of a worker's main loop. */
void
worker_count_loop(int kind)
{
	if (outbox_shared != NULL && kind >= 0 && kind < WALLET_WORKER_COUNTED)
		pg_atomic_fetch_add_u64(&outbox_shared->loops[kind], 1);
}

/* Count one transaction a worker ran. */
void
worker_count_transaction(int kind)
{
	if (outbox_shared != NULL && kind >= 0 && kind < WALLET_WORKER_COUNTED)
		pg_atomic_fetch_add_u64(&outbox_shared->transactions[kind], 1);
}

/* Whether a process of this pid still exists. */
static bool
pid_alive(uint32 pid)
{
	return pid != 0 && (kill((pid_t) pid, 0) == 0 || errno == EPERM);
}

/*
 * Take the slot of a worker kind for the calling process: false when
 * another live process holds it (a duplicate must exit). The slot is
 * released by worker_slot_release, or found dead by the next claimant.
 */
bool
worker_slot_claim(int kind)
{
	uint32		mine = (uint32) MyProcPid;
	uint32		held;

	if (outbox_shared == NULL)
		return false;
	for (;;)
	{
		held = pg_atomic_read_u32(&outbox_shared->worker_pid[kind]);
		if (held != 0 && held != mine && pid_alive(held))
			return false;
		if (pg_atomic_compare_exchange_u32(&outbox_shared->worker_pid[kind], &held, mine))
			return true;
	}
}

/* Give the slot back (at exit). */
void
worker_slot_release(int kind)
{
	uint32		mine = (uint32) MyProcPid;

	if (outbox_shared != NULL)
		pg_atomic_compare_exchange_u32(&outbox_shared->worker_pid[kind], &mine, 0);
}

/* Whether a live process holds the slot. */
bool
worker_slot_alive(int kind)
{
	return outbox_shared != NULL &&
		pid_alive(pg_atomic_read_u32(&outbox_shared->worker_pid[kind]));
}

/* At commit, wake the outbox worker if this transaction queued rows. */
static void
outbox_xact_callback(XactEvent event, void *arg)
{
	uint32		procno_plus1;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_at_commit && outbox_shared != NULL)
			{
				procno_plus1 = pg_atomic_read_u32(&outbox_shared->outbox_procno_plus1);
				if (procno_plus1 > 0 && procno_plus1 <= ProcGlobal->allProcCount)
					SetLatch(&ProcGlobal->allProcs[procno_plus1 - 1].procLatch);
			}
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction commits elsewhere: the worker's poll finds it */
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

/*
 * Wake the outbox worker when this transaction commits (a caller that
 * queued rows for it). Refuses (WL073) when the library was not preloaded,
 * because then no worker exists and the row would never be delivered.
 */
void
outbox_wake_at_commit(void)
{
	if (!outbox_workers_available())
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_WORKERS_UNAVAILABLE),
				 errmsg("the pg_wallet outbox worker is not available"),
				 errdetail("Partner calls are delivered by a background worker, which runs "
						   "only when pg_wallet is loaded at server start."),
				 errhint("Add pg_wallet to shared_preload_libraries and restart the server.")));
	if (!xact_callback_registered)
	{
		RegisterXactCallback(outbox_xact_callback, NULL);
		xact_callback_registered = true;
	}
	wake_at_commit = true;
}

/* Whether the library was preloaded, so that the workers can run. */
bool
outbox_workers_available(void)
{
	return wallet_preloaded && outbox_shared != NULL;
}

/* _outbox_wake() returns void: outbox_wake_at_commit(), for the SQL that queues rows. */
Datum
wallet_outbox_wake(PG_FUNCTION_ARGS)
{
	outbox_wake_at_commit();
	PG_RETURN_VOID();
}

/* workers_available() returns boolean */
Datum
wallet_workers_available(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(outbox_workers_available());
}

/*
 * _worker_activity() returns setof (worker text, loops bigint,
 * transactions bigint): the activity counters of each worker since the
 * server started (no rows when the library was not preloaded).
 */
Datum
wallet_worker_activity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (!wallet_preloaded || outbox_shared == NULL)
		PG_RETURN_VOID();
	for (int i = 0; i < WALLET_WORKER_COUNTED; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(worker_names[i]);
		values[1] = Int64GetDatum((int64) pg_atomic_read_u64(&outbox_shared->loops[i]));
		values[2] = Int64GetDatum((int64) pg_atomic_read_u64(&outbox_shared->transactions[i]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
