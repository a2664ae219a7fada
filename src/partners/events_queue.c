/*-------------------------------------------------------------------------
 *
 * events_queue.c
 *	  One event for several owners, each with the principal it is for: queued
 *	  (one event_queue row, the outbox worker woken at commit) when the
 *	  worker serves this database, else written into the streams at once,
 *	  owners in ascending id (sql/partners/events.sql, "Queued events"). The
 *	  payments layer calls it for every payment (transaction:completed); SQL
 *	  calls pg_wallet._events_enqueue(). And the sequencer the outbox worker
 *	  runs each turn (_events_sequence): the queued events moved into their
 *	  owners' streams by one statement (the events' INSERT, whose trigger
 *	  copies fraud alerts), whatever their number; the queue is read and
 *	  emptied and the streams locked and advanced through core/direct.c.
 *
 * Owns: where an enqueued event goes (_event_queue_here). Never: checks an
 * event (the callers made owners, principals and payload go together:
 * _event_check is for untrusted input); writes a stream itself (the
 * sequencer, _events_sequence, and _event_write do).
 * Locking: the direct path locks each owner's stream row (_event_stream_lock)
 * in ascending owner id; the queued path takes no lock. The sequencer: one at
 * a time (a transaction-level advisory lock; a second caller moves nothing),
 * then every stream it writes, in ascending owner id, before it draws their
 * events' ids (a stream's ids commit in order).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/sequence.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

#include "core/direct.h"
#include "core/pg_wallet.h"
#include "partners/events.h"
#include "partners/outbox.h"

PG_FUNCTION_INFO_V1(wallet_event_queue_here);
PG_FUNCTION_INFO_V1(wallet_events_enqueue);
PG_FUNCTION_INFO_V1(wallet_events_sequence);
PG_FUNCTION_INFO_V1(wallet_event_notification);
PG_FUNCTION_INFO_V1(wallet_event_type_ok);

#define MAX_OWNERS	16			/* owners of one enqueued event */
#define EVENT_MAX_PAYLOAD	8192	/* bytes of its payload as text */

static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr write_plan = NULL;
static SPIPlanPtr stream_create_plan = NULL;
static SPIPlanPtr events_insert_plan = NULL;

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
 * The shape of an event type, <domain>[:<name>]: what
 * ^[a-z][a-z_]{1,39}(:[a-z_]{1,40})?$ matches. The CHECK of events and
 * event_queue calls it (_event_type_ok), as queue_insert does.
 */
static bool
event_type_ok(const char *t)
{
	const char *p = t;
	int			n;

	if (*p < 'a' || *p > 'z')
		return false;
	for (p++, n = 0; (*p >= 'a' && *p <= 'z') || *p == '_'; p++)
		n++;
	if (n < 1 || n > 39)
		return false;
	if (*p == '\0')
		return true;
	if (*p++ != ':')
		return false;
	for (n = 0; (*p >= 'a' && *p <= 'z') || *p == '_'; p++)
		n++;
	return n >= 1 && n <= 40 && *p == '\0';
}

/*
 * _event_type_ok(event_type text) returns boolean: the CHECK of the event
 * type of events and event_queue (sql/partners/tables.sql), so the shape is
 * written once, here, for the SQL writers and the direct ones alike.
 */
Datum
wallet_event_type_ok(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(event_type_ok(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/*
 * The queued event's row, written through core/direct.c (a SQL INSERT
 * compiled the table's four CHECKs at every execution): the CHECKs of
 * sql/partners/tables.sql named below are enforced here.
 */
static const char *const queue_checks[] = {
	"event_queue_check", "event_queue_event_type_check", "event_queue_owner_ids_check",
	"event_queue_payload_check", NULL
};

static void
queue_insert(int n, const int64 *owner_ids, const Datum *principal_ids,
			 const bool *principal_nulls, const char *event_type, Jsonb *payload)
{
	static const char *const columns[6] = {
		"id", "owner_ids", "principal_ids", "event_type", "payload", "created_at"
	};
	DirectTable t;
	AttrNumber	att[6];
	TupleTableSlot *slot;
	Datum		owners[MAX_OWNERS];
	int			dims[1] = {n};
	int			lbs[1] = {1};

	direct_begin(&t, "event_queue", queue_checks, false);
	direct_attnums(t.rel, columns, 6, att);
	if (!event_type_ok(event_type))
		direct_violated(&t, "event_queue_event_type_check");
	if (!JB_ROOT_IS_OBJECT(payload) ||
		strlen(JsonbToCString(NULL, &payload->root, VARSIZE(payload))) > EVENT_MAX_PAYLOAD)
		direct_violated(&t, "event_queue_payload_check");
	for (int i = 0; i < n; i++)
		owners[i] = Int64GetDatum(owner_ids[i]);	/* 1..MAX_OWNERS, none NULL */
	slot = direct_row(&t);
	direct_set(slot, att[0], Int64GetDatum(direct_nextval("event_queue_id_seq")), false);
	direct_set(slot, att[1], PointerGetDatum(construct_array(owners, n, INT8OID, 8, true,
															 TYPALIGN_DOUBLE)), false);
	direct_set(slot, att[2], PointerGetDatum(construct_md_array((Datum *) principal_ids,
																(bool *) principal_nulls, 1,
																dims, lbs, UUIDOID, UUID_LEN,
																false, TYPALIGN_CHAR)), false);
	direct_set(slot, att[3], CStringGetTextDatum(event_type), false);
	direct_set(slot, att[4], JsonbPGetDatum(payload), false);
	direct_set(slot, att[5], TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false);
	direct_end(&t);
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
		queue_insert(n, owner_ids, principal_ids, principal_nulls, event_type, payload);
		outbox_wake_at_commit();
		return;
	}
	events_write_now(n, owner_ids, principal_ids, principal_nulls, type,
					 JsonbPGetDatum(payload));
}

/*
 * The NOTIFY pg_wallet_events payload of an event: {"event_id", "owner_id",
 * "event_type", "principal_id"} (principal_id null when not known). The
 * bridge routes by "owner_id".
 */
char *
event_notification(int64 event_id, int64 owner_id, const char *event_type, Datum principal_id,
				   bool principal_null)
{
	JsonbParseState *st = NULL;
	Jsonb	   *j;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	jsonb_put_numeric(&st, "event_id", int64_to_numeric(event_id));
	jsonb_put_numeric(&st, "owner_id", int64_to_numeric(owner_id));
	jsonb_put_text(&st, "event_type", event_type);
	jsonb_put_text(&st, "principal_id", principal_null ? NULL
				   : DatumGetCString(DirectFunctionCall1(uuid_out, principal_id)));
	j = JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
	return JsonbToCString(NULL, &j->root, VARSIZE(j));
}

/* One queued event for one of its owners, as the sequencer takes it. */
typedef struct Taken
{
	int64		owner_id;
	int			seq;			/* its event's place in the queue */
	Datum		event_type;		/* text */
	Datum		payload;		/* jsonb */
	Datum		principal_id;	/* uuid */
	bool		principal_null;
} Taken;

static int
taken_cmp(const void *a, const void *b)
{
	const Taken *x = a;
	const Taken *y = b;

	if (x->owner_id != y->owner_id)
		return x->owner_id < y->owner_id ? -1 : 1;
	return x->seq - y->seq;
}

/* event_queue's columns the sequencer reads, in this order. */
static const char *const queue_columns[4] = {"owner_ids", "principal_ids", "event_type",
"payload"};

/* Append one Taken per owner of the queued row in r's slot to t; returns the new count. */
static int
take_row(DirectRead *r, const AttrNumber *att, int seq, Taken *t, int n)
{
	bool		isnull;
	ArrayType  *owners = DatumGetArrayTypePCopy(slot_getattr(r->slot, att[0], &isnull));
	ArrayType  *principals = DatumGetArrayTypePCopy(slot_getattr(r->slot, att[1], &isnull));
	Datum		type = PointerGetDatum(PG_DETOAST_DATUM_COPY(slot_getattr(r->slot, att[2],
																			 &isnull)));
	Datum		payload = PointerGetDatum(PG_DETOAST_DATUM_COPY(slot_getattr(r->slot, att[3],
																				&isnull)));
	Datum	   *ovals,
			   *pvals;
	bool	   *onulls,
			   *pnulls;
	int			no,
				np;

	deconstruct_array(owners, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ovals, &onulls, &no);
	deconstruct_array(principals, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &pvals, &pnulls, &np);
	if (np != no)
		elog(ERROR, "queued event with %d owners and %d principals", no, np);
	for (int i = 0; i < no; i++, n++)
	{
		t[n].owner_id = DatumGetInt64(ovals[i]);
		t[n].seq = seq;
		t[n].event_type = type;
		t[n].payload = payload;
		t[n].principal_id = pvals[i];
		t[n].principal_null = pnulls[i];
	}
	return n;
}

/*
 * Take up to max_events queued events, oldest first (an index scan of the
 * queue's primary key), each deleted without a row lock (the advisory lock
 * makes this the only sequencer): one Taken per (event, owner), by owner
 * then queue order. Returns how many events. No statement.
 */
static int
sequence_take(int max_events, Taken **out, int *ntaken)
{
	DirectRead	r;
	DirectTable del;
	AttrNumber	att[4];
	int			moved = 0,
				cap = 64;
	Taken	   *t = palloc0(sizeof(Taken) * cap);

	*ntaken = 0;
	direct_read_begin(&r, "event_queue", "event_queue_pkey");
	direct_attnums(r.rel, queue_columns, 4, att);
	direct_begin(&del, "event_queue", NULL, false);
	while (moved < max_events && direct_read_next(&r, NULL, 0))
	{
		ItemPointerData tid = r.slot->tts_tid;

		if (*ntaken + MAX_OWNERS > cap)
		{
			cap *= 2;
			t = repalloc(t, sizeof(Taken) * cap);
		}
		*ntaken = take_row(&r, att, moved, t, *ntaken);
		direct_delete(&del, &tid);
		moved++;
	}
	direct_end(&del);
	direct_read_end(&r);
	qsort(t, *ntaken, sizeof(Taken), taken_cmp);
	*out = t;
	return moved;
}

/* A stream of the taken events, locked: its row version and counters. */
typedef struct Stream
{
	int64		owner_id;
	ItemPointerData tid;
	int64		last_event_id;
	int64		event_count;
} Stream;

/* event_streams' counters, in this order. */
static const char *const stream_columns[2] = {"last_event_id", "event_count"};

/* Create an owner's stream (zero), unless another transaction just did (direct_read_lock). */
static void
create_stream(void *owner)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(*(int64 *) owner)};

	wallet_plan(&stream_create_plan,
				"INSERT INTO pg_wallet.event_streams (owner_id, last_event_id, event_count)"
				" VALUES ($1, 0, 0) ON CONFLICT ON CONSTRAINT event_streams_pkey DO NOTHING",
				1, argtypes);
	if (SPI_execute_plan(stream_create_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "event stream creation failed");
}

/*
 * Lock the streams of the taken events, one per owner in ascending id (the
 * order every writer of events locks them in): an index probe and a row
 * lock each, no statement (one to create a stream that does not exist yet).
 */
static Stream *
sequence_lock_streams(Column *owners)
{
	Stream	   *streams = palloc0(sizeof(Stream) * owners->n);
	DirectRead	r;
	AttrNumber	att[2];

	direct_read_for_update(&r, "event_streams", "event_streams_pkey");
	direct_attnums(r.rel, stream_columns, 2, att);
	for (int i = 0; i < owners->n; i++)
	{
		Stream	   *s = &streams[i];
		ScanKeyData key;
		bool		isnull;

		s->owner_id = DatumGetInt64(owners->values[i]);
		direct_key(&key, r.index, 1, F_INT8EQ, Int64GetDatum(s->owner_id));
		s->tid = direct_read_lock(&r, &key, 1, create_stream, &s->owner_id, "an event stream");
		s->last_event_id = DatumGetInt64(slot_getattr(r.slot, att[0], &isnull));
		s->event_count = DatumGetInt64(slot_getattr(r.slot, att[1], &isnull));
	}
	direct_read_end(&r);
	return streams;
}

/*
 * Advance each stream to the last id of its events in this turn and count
 * them: an update of the version locked (sequence_lock_streams), no
 * statement. t is in owner order, the streams too.
 */
static void
advance_streams(const Taken *t, const Datum *ids, int n, Stream *streams)
{
	DirectTable w;
	AttrNumber	att[2];
	int			k = 0;

	direct_begin(&w, "event_streams", NULL, true);
	direct_attnums(w.rel, stream_columns, 2, att);
	for (int i = 0, first = 0; i < n; i++)
	{
		Datum		values[2];

		if (i < n - 1 && t[i + 1].owner_id == t[i].owner_id)
			continue;			/* not the last event of its owner */
		Assert(streams[k].owner_id == t[i].owner_id);
		values[0] = ids[i];
		values[1] = Int64GetDatum(streams[k].event_count + (i - first + 1));
		direct_update(&w, &streams[k].tid, 2, att, values);
		k++;
		first = i + 1;
	}
	direct_end(&w);
}

/*
 * Write the n taken events, their streams locked: each its id (drawn now,
 * under its stream's lock) and its NOTIFY, all in one INSERT (its triggers
 * fire: the fraud alerts' copy), then every stream advanced.
 */
static void
sequence_write(const Taken *t, int n, Stream *streams)
{
	Column		owners, ids, types, payloads, principals;	/* the events */
	Oid			insert_types[5] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, JSONBARRAYOID,
	UUIDARRAYOID};
	Datum		values[5];
	Oid			seq = direct_relid("event_id_seq");

	column_init(&owners, INT8OID);
	column_init(&ids, INT8OID);
	column_init(&types, TEXTOID);
	column_init(&payloads, JSONBOID);
	column_init(&principals, UUIDOID);
	for (int i = 0; i < n; i++)
	{
		int64		id = nextval_internal(seq, false);

		column_add(&owners, Int64GetDatum(t[i].owner_id), false);
		column_add(&ids, Int64GetDatum(id), false);
		column_add(&types, t[i].event_type, false);
		column_add(&payloads, t[i].payload, false);
		column_add(&principals, t[i].principal_id, t[i].principal_null);
		Async_Notify("pg_wallet_events",
					 event_notification(id, t[i].owner_id, TextDatumGetCString(t[i].event_type),
										t[i].principal_id, t[i].principal_null));
	}
	values[0] = column_array(&ids);
	values[1] = column_array(&owners);
	values[2] = column_array(&types);
	values[3] = column_array(&payloads);
	values[4] = column_array(&principals);
	wallet_plan(&events_insert_plan,
				"INSERT INTO pg_wallet.events (id, owner_id, event_type, payload, principal_id)"
				" SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[],"
				" $5::uuid[])", 5, insert_types);
	if (SPI_execute_plan(events_insert_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "events insert failed");
	advance_streams(t, ids.values, n, streams);
}

/*
 * Move up to max_events queued events into their streams: one sequencer at
 * a time (a transaction-level advisory lock; another moves nothing), every
 * stream of the batch locked before its events' ids are drawn; one
 * statement (the events' INSERT) whatever the number. Connected to SPI; how
 * many events moved.
 */
static int
events_sequence(int max_events)
{
	Taken	   *t;
	int			n, moved;
	Column		streams;	/* one per owner, ascending */
	/* the key SQL's hashtextextended('pg_wallet._events_sequence', 0) gives */
	Datum		key = DirectFunctionCall2Coll(hashtextextended, DEFAULT_COLLATION_OID,
											  CStringGetTextDatum("pg_wallet._events_sequence"),
											  Int64GetDatum(0));

	if (!DatumGetBool(DirectFunctionCall1(pg_try_advisory_xact_lock_int8, key)))
		return 0;
	moved = sequence_take(max_events, &t, &n);
	if (n == 0)
		return moved;
	column_init(&streams, INT8OID);
	for (int i = 0; i < n; i++)
		if (i == 0 || t[i].owner_id != t[i - 1].owner_id)
			column_add(&streams, Int64GetDatum(t[i].owner_id), false);
	sequence_write(t, n, sequence_lock_streams(&streams));
	return moved;
}

/* _events_sequence(max_events integer) returns integer */
Datum
wallet_events_sequence(PG_FUNCTION_ARGS)
{
	int			max_events = PG_ARGISNULL(0) ? 0 : Max(PG_GETARG_INT32(0), 0);
	int			moved;

	SPI_connect();
	moved = events_sequence(max_events);
	SPI_finish();
	PG_RETURN_INT32(moved);
}

/* _event_notification(event_id bigint, owner_id bigint, event_type text, principal_id uuid) */
Datum
wallet_event_notification(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an event notification needs its id, owner and type")));
	PG_RETURN_TEXT_P(cstring_to_text(event_notification(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
														TextDatumGetCString(PG_GETARG_DATUM(2)),
														PG_ARGISNULL(3) ? (Datum) 0
														: PG_GETARG_DATUM(3),
														PG_ARGISNULL(3))));
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
