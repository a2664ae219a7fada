/*-------------------------------------------------------------------------
 *
 * events_queue.c
 *	  One event for several owners, each with the principal it is for: queued
 *	  (one event_queue row, the outbox worker woken at commit) when the
 *	  worker serves this database, else written into the streams at once,
 *	  owners in ascending id (sql/partners/events.sql, "Queued events"). The
 *	  payments layer calls it for every payment (transaction:completed); SQL
 *	  calls pg_wallet._events_enqueue().
 *
 * Owns: where an enqueued event goes (_event_queue_here). Never: checks an
 * event (the callers made owners, principals and payload go together:
 * _event_check is for untrusted input); writes a stream itself (the
 * sequencer, _events_sequence, and _event_write do).
 * Locking: the direct path locks each owner's stream row (_event_stream_lock)
 * in ascending owner id; the queued path takes no lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/uuid.h"

#include "core/pg_wallet.h"
#include "partners/events.h"
#include "partners/outbox.h"

PG_FUNCTION_INFO_V1(wallet_event_queue_here);
PG_FUNCTION_INFO_V1(wallet_events_enqueue);

#define MAX_OWNERS	16			/* owners of one enqueued event */

static SPIPlanPtr queue_plan = NULL;
static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr write_plan = NULL;

/*
 * Whether queued events are moved into their streams here: pg_wallet
 * preloaded, its workers enabled and serving this database.
 */
bool
events_queue_here(void)
{
	char	   *db;

	if (!outbox_workers_available() || !wallet_workers_enabled ||
		wallet_worker_database == NULL)
		return false;
	db = get_database_name(MyDatabaseId);
	return db != NULL && strcmp(db, wallet_worker_database) == 0;
}

/* The direct path: each owner's stream locked in ascending owner id, then written. */
static void
events_write_now(int n, const int64 *owner_ids, const Datum *principal_ids,
				 const bool *principal_nulls, Datum type, Datum payload)
{
	Oid			lock_types[1] = {INT8OID};
	Oid			write_types[4] = {INT8OID, TEXTOID, JSONBOID, UUIDOID};
	bool		done[MAX_OWNERS] = {false};

	wallet_plan(&lock_plan, "SELECT pg_wallet._event_stream_lock($1)", 1, lock_types);
	wallet_plan(&write_plan, "SELECT pg_wallet._event_write($1, $2, $3, $4)", 4, write_types);
	for (int k = 0; k < n; k++)
	{
		int			next = -1;
		Datum		values[4];
		char		nulls[4] = {' ', ' ', ' ', ' '};

		for (int i = 0; i < n; i++)
			if (!done[i] && (next < 0 || owner_ids[i] < owner_ids[next]))
				next = i;
		done[next] = true;
		values[0] = Int64GetDatum(owner_ids[next]);
		if (SPI_execute_plan(lock_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "event stream lock failed");
		values[1] = type;
		values[2] = payload;
		values[3] = principal_ids[next];
		nulls[3] = principal_nulls[next] ? 'n' : ' ';
		if (SPI_execute_plan(write_plan, values, nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "event write failed");
	}
}

/*
 * One event (a type of _event_types(), an object payload) for each of n
 * owners with its principal (uuid Datums; principal_nulls[i] when none).
 * Connected to SPI.
 */
void
events_enqueue(int n, const int64 *owner_ids, const Datum *principal_ids,
			   const bool *principal_nulls, const char *event_type, Jsonb *payload)
{
	Datum		type = CStringGetTextDatum(event_type);

	if (n < 1 || n > MAX_OWNERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an event is enqueued for 1 to %d owners", MAX_OWNERS)));
	if (events_queue_here())
	{
		Oid			argtypes[4] = {INT8ARRAYOID, UUIDARRAYOID, TEXTOID, JSONBOID};
		Datum		values[4];
		Datum		owners[MAX_OWNERS];
		int			dims[1] = {n};
		int			lbs[1] = {1};

		for (int i = 0; i < n; i++)
			owners[i] = Int64GetDatum(owner_ids[i]);
		values[0] = PointerGetDatum(construct_array(owners, n, INT8OID, 8, true,
													TYPALIGN_DOUBLE));
		values[1] = PointerGetDatum(construct_md_array((Datum *) principal_ids,
													   (bool *) principal_nulls, 1, dims,
													   lbs, UUIDOID, UUID_LEN, false,
													   TYPALIGN_CHAR));
		values[2] = type;
		values[3] = JsonbPGetDatum(payload);
		wallet_plan(&queue_plan,
					"INSERT INTO pg_wallet.event_queue (owner_ids, principal_ids, event_type,"
					" payload) VALUES ($1, $2, $3, $4)", 4, argtypes);
		if (SPI_execute_plan(queue_plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "event queue insert failed");
		outbox_wake_at_commit();
		return;
	}
	events_write_now(n, owner_ids, principal_ids, principal_nulls, type,
					 JsonbPGetDatum(payload));
}

/* _event_queue_here() returns boolean */
Datum
wallet_event_queue_here(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(events_queue_here());
}

/*
 * _events_enqueue(owner_ids bigint[], event_type text, payload jsonb,
 *				   principal_ids uuid[]) returns void
 */
Datum
wallet_events_enqueue(PG_FUNCTION_ARGS)
{
	Datum	   *owners, *principals;
	bool	   *owner_nulls, *principal_nulls;
	int			n, np;
	int64		owner_ids[MAX_OWNERS];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an enqueued event needs its owners, type, payload and principals")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), INT8OID, 8, true, TYPALIGN_DOUBLE,
					  &owners, &owner_nulls, &n);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
					  &principals, &principal_nulls, &np);
	if (n != np || n < 1 || n > MAX_OWNERS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an enqueued event names 1 to %d owners, each with its principal",
						MAX_OWNERS)));
	for (int i = 0; i < n; i++)
	{
		if (owner_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("an enqueued event's owner must not be null")));
		owner_ids[i] = DatumGetInt64(owners[i]);
	}
	SPI_connect();
	events_enqueue(n, owner_ids, principals, principal_nulls,
				   TextDatumGetCString(PG_GETARG_DATUM(1)), PG_GETARG_JSONB_P(2));
	SPI_finish();
	PG_RETURN_VOID();
}
