/*-------------------------------------------------------------------------
 *
 * ledger_write.c
 *	  The writes of the posting core (step 5 of ledger.c): journals, entries,
 *	  account_deltas and the posting columns of accounts, written through the
 *	  table and index access methods directly, with no SQL statement, plan or
 *	  executor run.
 *
 * Why not INSERT ... SELECT unnest(...) through SPI (as until issue 20): for
 * one transfer, each such statement paid an executor start (plan-tree
 * initialisation), a revalidation of its saved plan and the re-compilation
 * of every CHECK constraint of its table (PostgreSQL builds them again for
 * every executor run) — more CPU than the rows themselves. Here a batch's
 * journals and entries go to the heap in one multi-insert per table (one
 * WAL record per page, not per row), each row into each index once.
 *
 * Owns: the shape of the rows (which Batch column goes to which table
 * column, looked up by name, so column order does not matter); the CHECK
 * constraints of these tables, as C (row_checks_*): a CHECK this file does
 * not know by name — one added later by hand or by an update script — is
 * still evaluated, by PostgreSQL's own ExecConstraints; NOT NULL of every
 * column; the index entries of the rows it writes (unique ones checked, as
 * an INSERT checks them).
 *
 * Never: decides what is written (ledger.c does); updates an account row it
 * has not locked (lock_accounts() holds the row lock; the update requires
 * the locked version, TM_Ok, or raises); skips a row-level trigger: a table
 * with an enabled row trigger this path would not fire is refused with an
 * error (foreign-key triggers excepted: the posting columns are no key).
 * Statement-level triggers (the single-writer guard of ledger_guard.c) do
 * not fire: they exist to refuse every OTHER writer.
 *
 * Locking: RowExclusiveLock on each table written, as INSERT and UPDATE
 * take; no row lock of its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/ledger_internal.h"

/* Rows per heap multi-insert call (each call also holds this many slots). */
#define WRITE_CHUNK 1000

/* The table columns of the Batch's journal (J_*) and entry (E_*) columns. */
static const char *const journal_columns[J_NCOLS] = {
	"id", "journal_type", "status", "idempotency_key", "request_hash", "description",
	"metadata", "reverses_journal_id", "refusal_sqlstate", "refusal_message", "hash",
	"created_at", "fee_minor", "commission_minor"
};
static const char *const entry_columns[E_NCOLS] = {
	"journal_id", "leg", "account_id", "side", "amount", "balance_after", "account_version",
	"description", "created_at"
};

/* The CHECK constraints that row_checks_* enforce, by name (sql/core/tables.sql). */
static const char *const journal_checks[] = {
	"journals_status_check", "journals_idempotency_key_check", "journals_description_check",
	"journals_refusal_sqlstate_check", "journals_fee_minor_check",
	"journals_commission_minor_check", "journals_check", "journals_check1", NULL
};
static const char *const entry_checks[] = {
	"entries_leg_check", "entries_side_check", "entries_amount_check",
	"entries_description_check", "entries_check", NULL
};
static const char *const delta_checks[] = {"account_deltas_amount_check", NULL};

/*
 * accounts: pending_debit is the only checked column a posting writes; the
 * other CHECKs (name, credit_mode, status, status_reason, metadata,
 * kyc_tier) are on columns copied unchanged from the row being updated,
 * which satisfied them.
 */
static const char *const account_checks[] = {
	"accounts_pending_debit_check", "accounts_name_check", "accounts_credit_mode_check",
	"accounts_status_check", "accounts_status_reason_check", "accounts_metadata_check",
	"accounts_kyc_tier_check", NULL
};

/* One table being written. */
typedef struct WriteTable
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	bool		unknown_checks; /* CHECKs not in the known list: ExecConstraints */
	TupleTableSlot *slots[WRITE_CHUNK];
	int			nslots;
	int			nwritten;
} WriteTable;

/* ---------------------------------------------------------------------
 * Tables
 * ---------------------------------------------------------------------
 */
static bool
name_in(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
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

static void
table_begin(WriteTable *t, const char *relname, const char *const *known_checks, bool update)
{
	Oid			relid = get_relname_relid(relname, get_namespace_oid("pg_wallet", false));
	TupleConstr *constr;

	if (!OidIsValid(relid))
		elog(ERROR, "table pg_wallet.%s is missing", relname);
	memset(t, 0, sizeof(*t));
	t->rel = table_open(relid, RowExclusiveLock);
	refuse_row_triggers(t->rel, update);
	constr = RelationGetDescr(t->rel)->constr;
	for (int i = 0; constr != NULL && i < constr->num_check; i++)
		if (!name_in(constr->check[i].ccname, known_checks))
			t->unknown_checks = true;
	t->estate = CreateExecutorState();
	t->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(t->rri, t->rel, 0, NULL, 0);
	ExecOpenIndices(t->rri, false);
}

static void
table_end(WriteTable *t)
{
	for (int i = 0; i < WRITE_CHUNK && t->slots[i] != NULL; i++)
		ExecDropSingleTupleTableSlot(t->slots[i]);
	ExecCloseIndices(t->rri);
	FreeExecutorState(t->estate);
	table_close(t->rel, NoLock);
	/* what was written is seen by the statements that follow */
	CommandCounterIncrement();
}

/* The attribute number of a column, by name. */
static AttrNumber
table_attnum(WriteTable *t, const char *column)
{
	TupleDesc	desc = RelationGetDescr(t->rel);

	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), column) == 0)
			return i + 1;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table pg_wallet.%s has no column %s", RelationGetRelationName(t->rel),
					column),
			 errhint("Run ALTER EXTENSION pg_wallet UPDATE.")));
	return InvalidAttrNumber;
}

/* The attribute numbers of n columns. */
static void
table_attnums(WriteTable *t, const char *const *columns, int n, AttrNumber *out)
{
	for (int i = 0; i < n; i++)
		out[i] = table_attnum(t, columns[i]);
}

/* An empty slot for the next row, every column NULL. */
static TupleTableSlot *
table_next_slot(WriteTable *t)
{
	TupleTableSlot *slot;

	if (t->slots[t->nslots] == NULL)
		t->slots[t->nslots] = table_slot_create(t->rel, NULL);
	slot = t->slots[t->nslots++];
	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	return slot;
}

static void
set_column(TupleTableSlot *slot, AttrNumber attnum, Datum value, bool isnull)
{
	slot->tts_values[attnum - 1] = value;
	slot->tts_isnull[attnum - 1] = isnull;
}

/* NOT NULL of every column, and the CHECKs this file does not know. */
static void
check_row(WriteTable *t, TupleTableSlot *slot)
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
static void
table_flush(WriteTable *t)
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

/* A slot for the next row, flushing a full chunk first. */
static TupleTableSlot *
table_row(WriteTable *t)
{
	if (t->nslots == WRITE_CHUNK)
		table_flush(t);
	return table_next_slot(t);
}

/* ---------------------------------------------------------------------
 * The CHECKs of sql/core/tables.sql, as C
 * ---------------------------------------------------------------------
 */
static void
violated(WriteTable *t, const char *constraint)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("new row for relation \"%s\" violates check constraint \"%s\"",
					RelationGetRelationName(t->rel), constraint)));
}

/* Characters of a text value, as length() counts them. */
static int
text_chars(Datum d)
{
	text	   *s = DatumGetTextPP(d);

	return pg_mbstrlen_with_len(VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s));
}

static bool
text_is(Datum d, const char *value)
{
	text	   *s = DatumGetTextPP(d);

	return VARSIZE_ANY_EXHDR(s) == strlen(value) &&
		memcmp(VARDATA_ANY(s), value, strlen(value)) == 0;
}

static void
row_checks_journal(WriteTable *t, const Datum *v, const bool *n)
{
	bool		posted = !n[J_STATUS] && text_is(v[J_STATUS], "POSTED");
	bool		refused = !n[J_STATUS] && text_is(v[J_STATUS], "REFUSED");

	if (!posted && !refused && !n[J_STATUS])
		violated(t, "journals_status_check");
	if (!n[J_KEY] && (text_chars(v[J_KEY]) < 1 || text_chars(v[J_KEY]) > 128))
		violated(t, "journals_idempotency_key_check");
	if (!n[J_DESC] && text_chars(v[J_DESC]) > 500)
		violated(t, "journals_description_check");
	if (!n[J_SQLSTATE] && text_chars(v[J_SQLSTATE]) != 5)
		violated(t, "journals_refusal_sqlstate_check");
	if (!n[J_FEE] && DatumGetInt64(v[J_FEE]) < 0)
		violated(t, "journals_fee_minor_check");
	if (!n[J_COMMISSION] && DatumGetInt64(v[J_COMMISSION]) < 0)
		violated(t, "journals_commission_minor_check");
	if (!n[J_STATUS] && posted != !n[J_HASH])
		violated(t, "journals_check");
	if (!n[J_STATUS] && refused != !n[J_SQLSTATE])
		violated(t, "journals_check1");
}

static void
row_checks_entry(WriteTable *t, const Datum *v, const bool *n)
{
	if (!n[E_LEG] && DatumGetInt16(v[E_LEG]) < 1)
		violated(t, "entries_leg_check");
	if (!n[E_SIDE] && !text_is(v[E_SIDE], "DR") && !text_is(v[E_SIDE], "CR"))
		violated(t, "entries_side_check");
	if (!n[E_AMOUNT] && DatumGetInt64(v[E_AMOUNT]) <= 0)
		violated(t, "entries_amount_check");
	if (!n[E_DESC] && text_chars(v[E_DESC]) > 500)
		violated(t, "entries_description_check");
	if (n[E_BALANCE] != n[E_VERSION])
		violated(t, "entries_check");
}

/* ---------------------------------------------------------------------
 * The writes
 * ---------------------------------------------------------------------
 */
void
write_journals(Batch *b)
{
	WriteTable	t;
	AttrNumber	attnums[J_NCOLS];
	int			n = b->jcols[J_ID].n;

	if (n == 0)
		return;
	table_begin(&t, "journals", journal_checks, false);
	table_attnums(&t, journal_columns, J_NCOLS, attnums);
	for (int r = 0; r < n; r++)
	{
		TupleTableSlot *slot = table_row(&t);
		Datum		v[J_NCOLS];
		bool		nulls[J_NCOLS];

		for (int c = 0; c < J_NCOLS; c++)
		{
			v[c] = b->jcols[c].values[r];
			nulls[c] = b->jcols[c].nulls[r];
			set_column(slot, attnums[c], v[c], nulls[c]);
		}
		row_checks_journal(&t, v, nulls);
	}
	table_flush(&t);
	Assert(t.nwritten == n);
	table_end(&t);
}

/* The next id of entries' identity column. */
static int64
next_entry_id(void)
{
	static Oid	seq = InvalidOid;
	static Oid	seq_nsp = InvalidOid;
	Oid			nsp = get_namespace_oid("pg_wallet", false);

	/* the schema's oid changes when the extension is created again */
	if (!OidIsValid(seq) || seq_nsp != nsp)
	{
		seq = get_relname_relid("entries_id_seq", nsp);
		seq_nsp = nsp;
		if (!OidIsValid(seq))
			elog(ERROR, "sequence pg_wallet.entries_id_seq is missing");
	}
	return nextval_internal(seq, false);
}

/*
 * Entries, and for each entry that moved no locked balance (account_version
 * NULL: a DEFERRED account's credit, or debit when it can overdraw) its
 * signed delta row.
 */
void
write_entries(Batch *b)
{
	WriteTable	t;
	WriteTable	d;
	AttrNumber	attnums[E_NCOLS];
	AttrNumber	id_att,
				d_entry,
				d_account,
				d_amount;
	Column	   *c = b->ecols;
	int			n = c[E_JOURNAL].n;
	bool		deltas_open = false;

	if (n == 0)
		return;
	table_begin(&t, "entries", entry_checks, false);
	table_attnums(&t, entry_columns, E_NCOLS, attnums);
	id_att = table_attnum(&t, "id");
	for (int r = 0; r < n; r++)
	{
		TupleTableSlot *slot = table_row(&t);
		Datum		v[E_NCOLS];
		bool		nulls[E_NCOLS];
		int64		id = next_entry_id();

		for (int k = 0; k < E_NCOLS; k++)
		{
			v[k] = c[k].values[r];
			nulls[k] = c[k].nulls[r];
			set_column(slot, attnums[k], v[k], nulls[k]);
		}
		set_column(slot, id_att, Int64GetDatum(id), false);
		row_checks_entry(&t, v, nulls);
		if (!nulls[E_VERSION])
			continue;
		if (!deltas_open)
		{
			table_begin(&d, "account_deltas", delta_checks, false);
			d_entry = table_attnum(&d, "entry_id");
			d_account = table_attnum(&d, "account_id");
			d_amount = table_attnum(&d, "amount");
			deltas_open = true;
		}
		slot = table_row(&d);
		set_column(slot, d_entry, Int64GetDatum(id), false);
		set_column(slot, d_account, v[E_ACCOUNT], false);
		/* signed: a credit adds, a debit subtracts; amount > 0 was checked above */
		set_column(slot, d_amount, Int64GetDatum(text_is(v[E_SIDE], "CR") ?
												  DatumGetInt64(v[E_AMOUNT]) :
												  -DatumGetInt64(v[E_AMOUNT])), false);
	}
	table_flush(&t);
	Assert(t.nwritten == n);
	table_end(&t);
	if (deltas_open)
	{
		table_flush(&d);
		table_end(&d);
	}
}

/* Update one locked account row: its posting columns, the rest copied. */
static void
update_account(WriteTable *t, TupleTableSlot *old, TupleTableSlot *new,
			   const AttrNumber *att, LedgerAccount *acct, TimestampTz now)
{
	TupleDesc	desc = RelationGetDescr(t->rel);
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		update_indexes;
	bool		isnull;
	TM_Result	result;

	if (!table_tuple_fetch_row_version(t->rel, &acct->tid, SnapshotAny, old) ||
		DatumGetInt64(slot_getattr(old, att[0], &isnull)) != acct->id)
		elog(ERROR, "account %s is not at the row version it was locked in",
			 acct->account_number);
	slot_getallattrs(old);
	ExecClearTuple(new);
	memcpy(new->tts_values, old->tts_values, sizeof(Datum) * desc->natts);
	memcpy(new->tts_isnull, old->tts_isnull, sizeof(bool) * desc->natts);
	if (acct->pending_debit < 0)
		violated(t, "accounts_pending_debit_check");
	set_column(new, att[1], Int64GetDatum(acct->balance), false);
	set_column(new, att[2], Int64GetDatum(acct->pending_debit), false);
	set_column(new, att[3], Int64GetDatum(acct->version), false);
	set_column(new, att[4], bytea_datum(acct->chain, acct->chain_len), false);
	set_column(new, att[5], TimestampTzGetDatum(now), false);
	ExecStoreVirtualTuple(new);
	if (t->unknown_checks)
		ExecConstraints(t->rri, new, t->estate);
	result = table_tuple_update(t->rel, &acct->tid, new, GetCurrentCommandId(true),
								GetActiveSnapshot(), InvalidSnapshot, true, &tmfd, &lockmode,
								&update_indexes);
	if (result != TM_Ok)
		elog(ERROR, "update of locked account %s failed (%d)", acct->account_number,
			 (int) result);
	if (update_indexes && t->rri->ri_NumIndices > 0)
		ExecInsertIndexTuples(t->rri, new, t->estate, false, false, NULL, NIL);
	ResetPerTupleExprContext(t->estate);
	acct->tid = new->tts_tid;	/* a later posting in this transaction starts there */
}

/* The posting columns of every changed (locked) account. */
void
write_accounts(Batch *b)
{
	static const char *const columns[6] = {
		"id", "balance", "pending_debit", "version", "chain_hash", "updated_at"
	};
	WriteTable	t;
	AttrNumber	att[6];
	TupleTableSlot *old;
	TupleTableSlot *new;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	bool		open = false;

	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		if (!acct->dirty)
			continue;
		Assert(acct->locked);
		if (!open)
		{
			table_begin(&t, "accounts", account_checks, true);
			table_attnums(&t, columns, 6, att);
			old = table_slot_create(t.rel, NULL);
			new = table_slot_create(t.rel, NULL);
			open = true;
		}
		update_account(&t, old, new, att, acct, b->now);
	}
	if (!open)
		return;
	ExecDropSingleTupleTableSlot(old);
	ExecDropSingleTupleTableSlot(new);
	table_end(&t);
}
