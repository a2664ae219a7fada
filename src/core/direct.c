/*-------------------------------------------------------------------------
 *
 * direct.c
 *	  Rows read, inserted, updated and locked through PostgreSQL's table
 *	  and index access methods, with no SQL statement, plan or executor run:
 *	  the posting path's hot tables (issue 20; ledger_lock.c, ledger_write.c,
 *	  rules/limits.c) and a payment's (issue 13; payments/). Per row, a
 *	  statement through SPI paid an executor start, a revalidation of its
 *	  saved plan and the re-compilation of every CHECK constraint of its
 *	  table, more CPU than the row itself.
 *
 * Owns: the rules such a write must keep by itself, written once: every
 * index entry of a row (unique ones checked as an INSERT checks them); NOT
 * NULL of every column; the CHECK constraints the caller does not enforce
 * in C (any CHECK not in its list, e.g. one added by hand later, runs
 * through PostgreSQL's ExecConstraints); refusing a table with an enabled
 * row-level trigger that would be skipped (foreign-key triggers excepted:
 * callers never write key columns); a lock with SELECT ... FOR UPDATE's
 * meaning (the latest version at READ COMMITTED, 40001 at REPEATABLE READ,
 * the table opened ROW SHARE: direct_read_for_update); a row found, else
 * created through the caller's INSERT ... ON CONFLICT DO NOTHING and found
 * again, then locked (direct_read_lock: the KYC counters, the fraud
 * statistics, the event streams).
 *
 * Never: knows a pg_wallet table (callers name them); updates a row its
 * transaction has not locked (direct_update requires TM_Ok); fires
 * statement-level triggers (the single-writer guard of ledger_guard.c
 * exists to refuse every OTHER writer).
 *
 * Locking: RowExclusiveLock on a table written, as INSERT and UPDATE take.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/direct.h"

Oid
direct_relid(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid("pg_wallet", false));

	if (!OidIsValid(relid))
		elog(ERROR, "relation pg_wallet.%s is missing", name);
	return relid;
}

/* The next value of sequence pg_wallet.<name> (journal ids, entry ids). */
int64
direct_nextval(const char *name)
{
	return nextval_internal(direct_relid(name), false);
}

static bool
name_in(const char *name, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

/* Refuse a table with an enabled row trigger for the event that this path would skip. */
static void
refuse_row_triggers(Relation rel, bool update)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL || !(update ? (td->trig_update_before_row || td->trig_update_after_row) :
						(td->trig_insert_before_row || td->trig_insert_after_row)))
		return;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (!TRIGGER_FOR_ROW(t->tgtype) || t->tgenabled == TRIGGER_DISABLED ||
			!(update ? TRIGGER_FOR_UPDATE(t->tgtype) : TRIGGER_FOR_INSERT(t->tgtype)) ||
			RI_FKey_trigger_type(t->tgfoid) != RI_TRIGGER_NONE)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table %s has row-level trigger \"%s\"; the posting core writes it "
						"directly and would not fire it",
						RelationGetRelationName(rel), t->tgname),
				 errhint("Drop or disable the trigger; read the ledger from events or "
						 "logical replication instead.")));
	}
}

/*
 * Open pg_wallet.<relname> for inserts (update false) or updates; the
 * caller enforces the CHECKs named in known_checks itself.
 */
void
direct_begin(DirectTable *t, const char *relname, const char *const *known_checks, bool update)
{
	TupleConstr *constr;

	memset(t, 0, sizeof(*t));
	t->rel = table_open(direct_relid(relname), RowExclusiveLock);
	refuse_row_triggers(t->rel, update);
	constr = RelationGetDescr(t->rel)->constr;
	for (int i = 0; constr != NULL && i < constr->num_check; i++)
		if (!name_in(constr->check[i].ccname, known_checks))
			t->unknown_checks = true;
	t->slot_desc = CreateTupleDescCopy(RelationGetDescr(t->rel));
	t->estate = CreateExecutorState();
	t->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(t->rri, t->rel, 0, NULL, 0);
	ExecOpenIndices(t->rri, false);
}

/* Flush what is left, close, and make what was written visible to what follows. */
void
direct_end(DirectTable *t)
{
	direct_flush(t);
	for (int i = 0; i < DIRECT_CHUNK && t->slots[i] != NULL; i++)
		ExecDropSingleTupleTableSlot(t->slots[i]);
	FreeTupleDesc(t->slot_desc);
	if (t->old)
		ExecDropSingleTupleTableSlot(t->old);
	if (t->new)
		ExecDropSingleTupleTableSlot(t->new);
	ExecCloseIndices(t->rri);
	FreeExecutorState(t->estate);
	table_close(t->rel, NoLock);
	CommandCounterIncrement();
}

/* The attribute number of a column, by name (column order never matters). */
AttrNumber
direct_attnum(Relation rel, const char *column)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), column) == 0)
			return i + 1;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table pg_wallet.%s has no column %s", RelationGetRelationName(rel),
					column),
			 errhint("Run ALTER EXTENSION pg_wallet UPDATE.")));
	return InvalidAttrNumber;
}

void
direct_attnums(Relation rel, const char *const *columns, int n, AttrNumber *out)
{
	for (int i = 0; i < n; i++)
		out[i] = direct_attnum(rel, columns[i]);
}

void
direct_set(TupleTableSlot *slot, AttrNumber attnum, Datum value, bool isnull)
{
	slot->tts_values[attnum - 1] = value;
	slot->tts_isnull[attnum - 1] = isnull;
}

/*
 * An empty slot (every column NULL) for the next row to insert; a full chunk
 * is flushed. The slots share a copy of the table's descriptor: a slot made
 * on the relation's own descriptor pins it in the resource owner, whose
 * array hashes a thousand pins of one pointer into one chain (quadratic in
 * a batch, 5 % of its CPU before this).
 */
TupleTableSlot *
direct_row(DirectTable *t)
{
	TupleTableSlot *slot;

	if (t->nslots == DIRECT_CHUNK)
		direct_flush(t);
	if (t->slots[t->nslots] == NULL)
		t->slots[t->nslots] = MakeSingleTupleTableSlot(t->slot_desc,
														table_slot_callbacks(t->rel));
	slot = t->slots[t->nslots++];
	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	return slot;
}

void
direct_violated(DirectTable *t, const char *constraint)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("new row for relation \"%s\" violates check constraint \"%s\"",
					RelationGetRelationName(t->rel), constraint)));
}

/* Characters of a text value, as length() counts them (for CHECKs written in C). */
int
direct_text_chars(Datum d)
{
	text	   *s = DatumGetTextPP(d);

	return pg_mbstrlen_with_len(VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s));
}

/* Whether a text value is exactly value. */
bool
direct_text_is(Datum d, const char *value)
{
	text	   *s = DatumGetTextPP(d);

	return VARSIZE_ANY_EXHDR(s) == strlen(value) &&
		memcmp(VARDATA_ANY(s), value, strlen(value)) == 0;
}

/* NOT NULL of every column, and the CHECKs the caller does not know. */
static void
check_row(DirectTable *t, TupleTableSlot *slot)
{
	TupleDesc	desc = RelationGetDescr(t->rel);

	for (int i = 0; i < desc->natts; i++)
		if (TupleDescAttr(desc, i)->attnotnull && slot->tts_isnull[i])
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("null value in column \"%s\" of relation \"%s\" violates not-null "
							"constraint", NameStr(TupleDescAttr(desc, i)->attname),
							RelationGetRelationName(t->rel))));
	if (t->unknown_checks)
		ExecConstraints(t->rri, slot, t->estate);
}

/* Insert the rows of the filled slots: one heap multi-insert, then their index entries. */
void
direct_flush(DirectTable *t)
{
	if (t->nslots == 0)
		return;
	for (int i = 0; i < t->nslots; i++)
	{
		ExecStoreVirtualTuple(t->slots[i]);
		check_row(t, t->slots[i]);
	}
	table_multi_insert(t->rel, t->slots, t->nslots, GetCurrentCommandId(true), 0, NULL);
	for (int i = 0; i < t->nslots; i++)
	{
		if (t->rri->ri_NumIndices > 0)
			ExecInsertIndexTuples(t->rri, t->slots[i], t->estate, false, false, NULL, NIL);
		ResetPerTupleExprContext(t->estate);
	}
	t->nwritten += t->nslots;
	t->nslots = 0;
}

/*
 * Update n columns of the row version at *tid, which this transaction has
 * locked; the other columns are copied. The caller has checked the new
 * values against the CHECKs it knows; *tid becomes the new version's.
 */
void
direct_update(DirectTable *t, ItemPointer tid, int n, const AttrNumber *attnums,
			  const Datum *values)
{
	int			natts = RelationGetDescr(t->rel)->natts;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		update_indexes;
	TM_Result	result;

	if (t->old == NULL)
	{
		t->old = table_slot_create(t->rel, NULL);
		t->new = table_slot_create(t->rel, NULL);
	}
	if (!table_tuple_fetch_row_version(t->rel, tid, SnapshotAny, t->old))
		elog(ERROR, "row of %s to update is gone", RelationGetRelationName(t->rel));
	slot_getallattrs(t->old);
	ExecClearTuple(t->new);
	memcpy(t->new->tts_values, t->old->tts_values, sizeof(Datum) * natts);
	memcpy(t->new->tts_isnull, t->old->tts_isnull, sizeof(bool) * natts);
	for (int i = 0; i < n; i++)
		direct_set(t->new, attnums[i], values[i], false);
	ExecStoreVirtualTuple(t->new);
	check_row(t, t->new);
	result = table_tuple_update(t->rel, tid, t->new, GetCurrentCommandId(true),
								GetActiveSnapshot(), InvalidSnapshot, true, &tmfd, &lockmode,
								&update_indexes);
	if (result != TM_Ok)
		elog(ERROR, "update of a locked row of %s failed (%d)",
			 RelationGetRelationName(t->rel), (int) result);
	if (update_indexes && t->rri->ri_NumIndices > 0)
		ExecInsertIndexTuples(t->rri, t->new, t->estate, false, false, NULL, NIL);
	ResetPerTupleExprContext(t->estate);
	*tid = t->new->tts_tid;
}

/*
 * Lock the row version at *tid FOR UPDATE, waiting, as SELECT ... FOR
 * UPDATE does: at READ COMMITTED a row updated meanwhile is followed to its
 * latest version; at REPEATABLE READ and SERIALIZABLE that is a
 * serialization failure. On return true, slot holds the version locked
 * (and *tid is it); false: the row was deleted meanwhile.
 */
static bool
lock_row(Relation rel, ItemPointer tid, Snapshot snap, TupleTableSlot *slot,
		 LockWaitPolicy wait, const char *what)
{
	TM_FailureData tmfd;
	uint8		flags = IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION;
	TM_Result	result;

	result = table_tuple_lock(rel, tid, snap, slot, GetCurrentCommandId(true),
							  LockTupleExclusive, wait, flags, &tmfd);
	switch (result)
	{
		case TM_Ok:
			*tid = slot->tts_tid;
			return true;
		case TM_WouldBlock:
			return false;
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			return false;
		default:
			elog(ERROR, "could not lock %s (%d)", what, (int) result);
	}
	return false;
}

bool
direct_lock(Relation rel, ItemPointer tid, Snapshot snap, TupleTableSlot *slot,
			const char *what)
{
	return lock_row(rel, tid, snap, slot, LockWaitBlock, what);
}

/*
 * direct_lock, as FOR UPDATE SKIP LOCKED: false, without waiting, when
 * another transaction holds a lock on the row (or it was deleted).
 */
bool
direct_try_lock(Relation rel, ItemPointer tid, Snapshot snap, TupleTableSlot *slot,
				const char *what)
{
	return lock_row(rel, tid, snap, slot, LockWaitSkip, what);
}

/*
 * A key on column attno (1-based) of an index, with the index's collation:
 * strategy (BTEqualStrategyNumber, BTLessStrategyNumber, ...) and the
 * matching procedure.
 */
void
direct_key_op(ScanKey key, Relation index, int attno, StrategyNumber strategy,
			  RegProcedure proc, Datum value)
{
	ScanKeyEntryInitialize(key, 0, attno, strategy, InvalidOid,
						   index->rd_indcollation[attno - 1], proc, value);
}

/* An equality key on column attno (1-based) of an index. */
void
direct_key(ScanKey key, Relation index, int attno, RegProcedure eqproc, Datum value)
{
	direct_key_op(key, index, attno, BTEqualStrategyNumber, eqproc, value);
}

/*
 * The row visible in snap whose index columns equal keys (a unique index:
 * the first one), into slot; false when there is none.
 */
bool
direct_fetch(Relation rel, Relation index, Snapshot snap, ScanKey keys, int nkeys,
			 TupleTableSlot *slot)
{
	IndexScanDesc scan = index_beginscan(rel, index, snap, nkeys, 0);
	bool		found;

	index_rescan(scan, keys, nkeys, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	return found;
}

/*
 * Delete the row version at tid of a table opened by direct_begin(), as
 * simple_heap_delete() does: for a row no other transaction writes (a
 * concurrent update or delete is an error). A table with row-level DELETE
 * triggers is refused, as for the other writes.
 */
void
direct_delete(DirectTable *t, ItemPointer tid)
{
	TriggerDesc *td = t->rel->trigdesc;

	if (td != NULL && (td->trig_delete_before_row || td->trig_delete_after_row))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table %s has row-level delete triggers; the posting core deletes "
						"its rows directly and would not fire them",
						RelationGetRelationName(t->rel))));
	simple_table_tuple_delete(t->rel, tid, GetActiveSnapshot());
}

/* ---------------------------------------------------------------------
 * Reading: a table through one of its indexes
 * ---------------------------------------------------------------------
 */

/*
 * Open pg_wallet.<relname> and its index <indexname> for reading, with a
 * snapshot taken now: it sees what this transaction wrote in earlier
 * statements and through direct_end(), which advances the command counter;
 * a caller that has just written through SPI in the same statement calls
 * CommandCounterIncrement() first.
 */
static void
read_begin(DirectRead *r, const char *relname, const char *indexname, LOCKMODE mode)
{
	r->lockmode = mode;
	r->rel = table_open(direct_relid(relname), mode);
	r->index = index_open(direct_relid(indexname), AccessShareLock);
	r->snap = RegisterSnapshot(GetTransactionSnapshot());
	r->slot = table_slot_create(r->rel, NULL);
	r->scan = NULL;
}

void
direct_read_begin(DirectRead *r, const char *relname, const char *indexname)
{
	read_begin(r, relname, indexname, AccessShareLock);
}

/*
 * direct_read_begin for rows the caller then locks (direct_lock,
 * direct_try_lock, direct_read_lock): the table is opened with the lock
 * SELECT ... FOR UPDATE takes on it (ROW SHARE).
 */
void
direct_read_for_update(DirectRead *r, const char *relname, const char *indexname)
{
	read_begin(r, relname, indexname, RowShareLock);
}

/*
 * The row whose index columns equal keys (a unique index), locked as
 * direct_lock() locks, into r->slot (r opened by direct_read_for_update):
 * a row that does not exist yet is first created by create(arg), an INSERT
 * ... ON CONFLICT DO NOTHING through SPI that waits for a concurrent
 * creator as ON CONFLICT does, then found with a snapshot taken after it,
 * which sees the row whoever inserted it. Returns the locked version's tid.
 * what names the row in errors; a row deleted while this transaction
 * waited for it is a serialization failure (retry).
 */
ItemPointerData
direct_read_lock(DirectRead *r, ScanKey keys, int nkeys, void (*create) (void *arg),
				 void *arg, const char *what)
{
	ItemPointerData tid;

	if (!direct_read_one(r, keys, nkeys))
	{
		Snapshot	latest;
		bool		found;

		create(arg);
		CommandCounterIncrement();
		latest = RegisterSnapshot(GetLatestSnapshot());
		found = direct_fetch(r->rel, r->index, latest, keys, nkeys, r->slot);
		UnregisterSnapshot(latest);
		if (!found)
			elog(ERROR, "%s is missing after its creation", what);
	}
	tid = r->slot->tts_tid;
	if (!direct_lock(r->rel, &tid, r->snap, r->slot, what))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("%s was deleted while this transaction waited for it", what),
				 errhint("Retry the transaction.")));
	return tid;
}

/* The row whose index columns equal keys (a unique index), into r->slot. */
bool
direct_read_one(DirectRead *r, ScanKey keys, int nkeys)
{
	return direct_fetch(r->rel, r->index, r->snap, keys, nkeys, r->slot);
}

/*
 * direct_read_begin, then the row whose one-column unique index equals
 * value, into r->slot (false when there is none). The caller ends r.
 */
bool
direct_read_by_key(DirectRead *r, const char *relname, const char *indexname,
				   RegProcedure eqproc, Datum value)
{
	ScanKeyData k;

	direct_read_begin(r, relname, indexname);
	direct_key(&k, r->index, 1, eqproc, value);
	return direct_read_one(r, &k, 1);
}

/* Each row whose index columns equal keys in turn, into r->slot; false after the last. */
bool
direct_read_next(DirectRead *r, ScanKey keys, int nkeys)
{
	if (r->scan == NULL)
	{
		r->scan = index_beginscan(r->rel, r->index, r->snap, nkeys, 0);
		index_rescan(r->scan, keys, nkeys, NULL, 0);
	}
	return index_getnext_slot(r->scan, ForwardScanDirection, r->slot);
}

/* End direct_read_next's scan: the next call starts a new one, with its keys. */
void
direct_read_stop(DirectRead *r)
{
	if (r->scan != NULL)
		index_endscan(r->scan);
	r->scan = NULL;
}

/* A column of the row in slot (one of r's table's slots), by name. */
Datum
direct_read_col(DirectRead *r, TupleTableSlot *slot, const char *column, bool *isnull)
{
	return slot_getattr(slot, direct_attnum(r->rel, column), isnull);
}

void
direct_read_end(DirectRead *r)
{
	direct_read_stop(r);
	ExecDropSingleTupleTableSlot(r->slot);
	UnregisterSnapshot(r->snap);
	index_close(r->index, AccessShareLock);
	table_close(r->rel, r->lockmode == AccessShareLock ? AccessShareLock : NoLock);
}
