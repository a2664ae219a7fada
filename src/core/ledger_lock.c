/*-------------------------------------------------------------------------
 *
 * ledger_lock.c
 *	  Step 1 of the posting core (ledger.c): resolve a batch's account
 *	  numbers and lock, in ascending id order, the accounts that must be
 *	  locked — through the index and table access methods, with no SQL
 *	  statement, plan or executor run (issue 20: the lock query was the
 *	  largest cost of a transfer once the writes went direct).
 *
 * What it does is what the lock query of ledger_store.c (LOCK_SQL) does:
 * each number is looked up in accounts_account_number_key with a fresh
 * snapshot (READ COMMITTED: what has committed now; REPEATABLE READ and
 * SERIALIZABLE: the transaction's); the accounts that must be locked
 * (LOCK_CONDITION: DIRECT, or a lock was asked for, or debited with a
 * funds check) are sorted by id and locked one by one FOR UPDATE, waiting,
 * and read again at the version locked (a row updated meanwhile is
 * followed to its latest version, as SELECT ... FOR UPDATE does at READ
 * COMMITTED; at REPEATABLE READ such a row is a serialization failure, as
 * there); the others are read as the snapshot saw them. It also reads the
 * rules stamp (rules_generation) with the same snapshot.
 *
 * Locking: the only place, with LOCK_SQL for a 0.1.0 schema, that locks
 * account rows; always in ascending id order within one call, so postings
 * never deadlock on accounts (a later call of the same transaction locks
 * only accounts it did not hold, resolve_late_accounts() only ones that
 * need no lock).
 *
 * Never: decides what is allowed (ledger.c does); writes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/direct.h"
#include "core/ledger_lock.h"

/* The accounts columns read, by name (the order of LOCK_SQL's). */
enum
{
	A_ID, A_NUMBER, A_CURRENCY, A_MODE, A_STATUS, A_BALANCE, A_PENDING, A_MINIMUM,
	A_OVERDRAW, A_VERSION, A_CHAIN, A_EXPONENT, A_OWNER, A_SYSTEM, A_TIER, A_STRIPES,
	A_NCOLS
};
static const char *const account_columns[A_NCOLS] = {
	"id", "account_number", "currency", "credit_mode", "status", "balance", "pending_debit",
	"minimum_balance", "can_overdraw", "version", "chain_hash", "exponent", "owner_id",
	"is_system", "kyc_tier", "stripes"
};

/* An account of the batch found by the look-up, waiting for its lock. */
typedef struct Found
{
	LedgerAccount *acct;
	int64		id;
	ItemPointerData tid;
} Found;

static Datum
col(TupleTableSlot *slot, const AttrNumber *att, int c, bool *isnull)
{
	return slot_getattr(slot, att[c], isnull);
}

static void
copy_text(TupleTableSlot *slot, const AttrNumber *att, int c, char *out, int size)
{
	bool		isnull;
	text	   *t = DatumGetTextPP(col(slot, att, c, &isnull));

	text_to_cstring_buffer(t, out, size);
}

/* Fill an account from a row (as load_account_row() does from LOCK_SQL's). */
static void
load_account(LedgerAccount *acct, TupleTableSlot *slot, const AttrNumber *att, bool locked)
{
	bool		isnull;
	bytea	   *chain;
	char		mode[16];

	acct->found = true;
	acct->locked = locked;
	acct->id = DatumGetInt64(col(slot, att, A_ID, &isnull));
	copy_text(slot, att, A_CURRENCY, acct->currency, sizeof(acct->currency));
	copy_text(slot, att, A_MODE, mode, sizeof(mode));
	acct->deferred = strcmp(mode, "DEFERRED") == 0;
	copy_text(slot, att, A_STATUS, acct->status, sizeof(acct->status));
	acct->balance = DatumGetInt64(col(slot, att, A_BALANCE, &isnull));
	acct->pending_debit = DatumGetInt64(col(slot, att, A_PENDING, &isnull));
	acct->minimum_balance = DatumGetInt64(col(slot, att, A_MINIMUM, &isnull));
	acct->can_overdraw = DatumGetBool(col(slot, att, A_OVERDRAW, &isnull));
	acct->version = DatumGetInt64(col(slot, att, A_VERSION, &isnull));
	chain = DatumGetByteaPP(col(slot, att, A_CHAIN, &isnull));
	acct->chain_len = Min(VARSIZE_ANY_EXHDR(chain), WALLET_HASH_LEN);
	memcpy(acct->chain, VARDATA_ANY(chain), acct->chain_len);
	acct->exponent = DatumGetInt16(col(slot, att, A_EXPONENT, &isnull));
	acct->owner_id = DatumGetInt64(col(slot, att, A_OWNER, &isnull));
	acct->is_system = DatumGetBool(col(slot, att, A_SYSTEM, &isnull));
	acct->kyc_tier = DatumGetInt16(col(slot, att, A_TIER, &isnull));
	if (isnull)
		acct->kyc_tier = LEDGER_NO_TIER;
	acct->nstripes = DatumGetInt16(col(slot, att, A_STRIPES, &isnull));
	acct->tid = slot->tts_tid;
}

/*
 * LOCK_CONDITION of ledger_store.c, on a row as the snapshot saw it, with
 * striped accounts (ledger_stripes.c): a striped account takes its credits
 * as deltas whatever its credit_mode, and its checked debits from a stripe
 * instead of its row when the pass tries stripes (try_stripe).
 */
static bool
needs_lock(LedgerAccount *acct, TupleTableSlot *slot, const AttrNumber *att)
{
	bool		isnull;
	char		mode[16];
	bool		can_overdraw = DatumGetBool(col(slot, att, A_OVERDRAW, &isnull));
	bool		striped = DatumGetInt16(col(slot, att, A_STRIPES, &isnull)) > 0;

	if (ledger_check_only(acct))
		return false;
	copy_text(slot, att, A_MODE, mode, sizeof(mode));
	return (strcmp(mode, "DIRECT") == 0 && !striped) || acct->want_lock ||
		(acct->debited && !can_overdraw && !(acct->try_stripe && striped));
}

static int
found_cmp(const void *a, const void *b)
{
	int64		x = ((const Found *) a)->id;
	int64		y = ((const Found *) b)->id;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Lock one found account FOR UPDATE (waiting) and read it at the version locked. */
static void
lock_one(Relation rel, Snapshot snap, TupleTableSlot *slot, const AttrNumber *att, Found *f)
{
	/* accounts are never deleted (ledger_guard.c): gone would mean not found */
	if (direct_lock(rel, &f->tid, snap, slot, f->acct->account_number))
		load_account(f->acct, slot, att, true);
}

/* The rules stamp, one row, read with the look-up's snapshot. */
static int64
read_generation(Snapshot snap)
{
	Oid			relid = direct_relid("rules_generation");
	AttrNumber	att = get_attnum(relid, "generation");
	Relation	rel = table_open(relid, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	int64		generation = 0;
	bool		isnull;

	if (att == InvalidAttrNumber || !table_scan_getnextslot(scan, ForwardScanDirection, slot))
		elog(ERROR, "pg_wallet.rules_generation must hold one row with a generation");
	generation = DatumGetInt64(slot_getattr(slot, att, &isnull));
	if (isnull)
		generation = 0;
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	return generation;
}

/*
 * Resolve every account of the batch not resolved yet and lock those that
 * must be, in ascending id order.
 */
void
lock_accounts_direct(Batch *b)
{
	Relation	rel = table_open(direct_relid("accounts"), RowShareLock);
	Relation	index = index_open(direct_relid("accounts_account_number_key"), AccessShareLock);
	Snapshot	snap = RegisterSnapshot(GetTransactionSnapshot());
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan = index_beginscan(rel, index, snap, 1, 0);
	AttrNumber	att[A_NCOLS];
	Found	   *tolock = palloc(sizeof(Found) * hash_get_num_entries(b->accounts));
	int			nlock = 0;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	bool		isnull;

	direct_attnums(rel, account_columns, A_NCOLS, att);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		ScanKeyData key;

		if (acct->found)
			continue;			/* resolved by an earlier call */
		ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[0], F_TEXTEQ,
							   CStringGetTextDatum(acct->account_number));
		index_rescan(scan, &key, 1, NULL, 0);
		if (!index_getnext_slot(scan, ForwardScanDirection, slot))
			continue;			/* no such account: left not found */
		if (!needs_lock(acct, slot, att))
		{
			load_account(acct, slot, att, false);
			continue;
		}
		tolock[nlock].acct = acct;
		tolock[nlock].id = DatumGetInt64(slot_getattr(slot, att[A_ID], &isnull));
		tolock[nlock].tid = slot->tts_tid;
		nlock++;
	}
	index_endscan(scan);
	qsort(tolock, nlock, sizeof(Found), found_cmp);
	for (int i = 0; i < nlock; i++)
	{
		Assert(b->last_locked_id < tolock[i].id);
		lock_one(rel, snap, slot, att, &tolock[i]);
		b->last_locked_id = tolock[i].id;
	}
	b->config_generation = read_generation(snap);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	index_close(index, AccessShareLock);
	table_close(rel, NoLock);	/* the lock on the table is kept to the end, as always */
}
