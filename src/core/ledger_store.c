/*-------------------------------------------------------------------------
 *
 * ledger_store.c
 *	  The statements of the posting core (see ledger.c for the rules): resolve
 *	  and lock accounts, fold deferred credits, look up idempotency keys, and
 *	  write journals, entries and account rows, each for a whole batch in one
 *	  statement over unnest()ed arrays.
 *
 * Locking rule owned here: accounts are locked only by lock_accounts(), in
 * one statement, in ascending id order.
 *
 * Never: decides whether a posting is allowed (ledger.c does).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "storage/itemptr.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "miscadmin.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "core/direct.h"
#include "core/ledger_guard.h"
#include "core/idempotency.h"
#include "core/ledger_store.h"
#include "core/ledger_lock.h"

const Oid	journal_types[J_NCOLS] = {
	INT8OID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID, TEXTOID, JSONBOID, INT8OID,
	TEXTOID, TEXTOID, BYTEAOID, TIMESTAMPTZOID, INT8OID, INT8OID
};
const Oid	claim_types[K_NCOLS] = {INT8OID, TEXTOID, BYTEAOID, INT8OID};

const Oid	entry_types[E_NCOLS] = {
	INT8OID, INT2OID, INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, TEXTOID,
	TIMESTAMPTZOID
};

static SPIPlanPtr lock_plan_010 = NULL;
static SPIPlanPtr fold_plan = NULL;
static SPIPlanPtr keys_plan = NULL;


/* ---------------------------------------------------------------------
 * Step 1 and 2: resolve, lock, fold
 * ---------------------------------------------------------------------
 */
LedgerAccount *
batch_account(Batch *b, const char *number, bool create)
{
	char		key[WALLET_MAX_ACCOUNT_NUMBER + 1];
	bool		found;
	LedgerAccount *acct;

	memset(key, 0, sizeof(key));
	strlcpy(key, number, sizeof(key));
	acct = hash_search(b->accounts, key, create ? HASH_ENTER : HASH_FIND, &found);
	if (create && !found)
	{
		memset(((char *) acct) + sizeof(acct->account_number), 0,
			   sizeof(LedgerAccount) - sizeof(acct->account_number));
	}
	return acct;
}

void
batch_init(Batch *b)
{
	HASHCTL		ctl;

	memset(b, 0, sizeof(Batch));
	b->now = GetCurrentTransactionStartTimestamp();
	for (int i = 0; i < J_NCOLS; i++)
		column_init(&b->jcols[i], journal_types[i]);
	for (int i = 0; i < E_NCOLS; i++)
		column_init(&b->ecols[i], entry_types[i]);
	for (int i = 0; i < K_NCOLS; i++)
		column_init(&b->kcols[i], claim_types[i]);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = WALLET_MAX_ACCOUNT_NUMBER + 1;
	ctl.entrysize = sizeof(LedgerAccount);
	ctl.hcxt = CurrentMemoryContext;
	b->accounts = hash_create("pg_wallet batch accounts", 64, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

void
collect_accounts(Batch *b, LedgerRequest *reqs, int nreqs, bool *valid)
{
	for (int i = 0; i < nreqs; i++)
	{
		if (!valid[i])
			continue;
		for (int j = 0; j < reqs[i].nlegs; j++)
		{
			LedgerAccount *acct = batch_account(b, reqs[i].legs[j].account_number, true);

			if (reqs[i].legs[j].side == SIDE_DEBIT)
				acct->debited = true;
			/* a hold's counterpart is only checked: it is not posted to yet */
			if (reqs[i].reserve && j > 0)
				acct->checked_only = true;
			else
				acct->posted_to = true;
		}
		if (reqs[i].release_account_number)
			batch_account(b, reqs[i].release_account_number, true)->want_lock = true;
		if (reqs[i].reserve)
			batch_account(b, reqs[i].legs[0].account_number, true)->want_lock = true;
		if (reqs[i].agent_account_number)
		{
			LedgerAccount *agent = batch_account(b, reqs[i].agent_account_number, true);

			if (reqs[i].reserve)
				agent->checked_only = true;
			else
				agent->posted_to = true;
		}
	}
}

static void
load_account_row(LedgerAccount *acct, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	bytea	   *chain;

	acct->found = true;
	acct->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	strlcpy(acct->currency, SPI_getvalue(tup, desc, 3), sizeof(acct->currency));
	acct->deferred = strcmp(SPI_getvalue(tup, desc, 4), "DEFERRED") == 0;
	strlcpy(acct->status, SPI_getvalue(tup, desc, 5), sizeof(acct->status));
	acct->balance = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	acct->pending_debit = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
	acct->minimum_balance = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
	acct->can_overdraw = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
	acct->version = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
	chain = DatumGetByteaPP(SPI_getbinval(tup, desc, 11, &isnull));
	acct->chain_len = Min(VARSIZE_ANY_EXHDR(chain), WALLET_HASH_LEN);
	memcpy(acct->chain, VARDATA_ANY(chain), acct->chain_len);
	acct->exponent = DatumGetInt16(SPI_getbinval(tup, desc, 12, &isnull));
	acct->locked = DatumGetBool(SPI_getbinval(tup, desc, 13, &isnull));
	acct->owner_id = DatumGetInt64(SPI_getbinval(tup, desc, 14, &isnull));
	acct->is_system = DatumGetBool(SPI_getbinval(tup, desc, 15, &isnull));
	acct->kyc_tier = DatumGetInt16(SPI_getbinval(tup, desc, 16, &isnull));
	if (isnull)
		acct->kyc_tier = LEDGER_NO_TIER;
	/* the row version locked: ledger_write.c updates exactly that one */
	acct->tid = *((ItemPointer) DatumGetPointer(SPI_getbinval(tup, desc, 18, &isnull)));
}

/*
 * Which accounts a posting locks: every DIRECT account, every account that
 * must be locked (hold release, pending change, fold), and every debited
 * account whose debits are checked for funds. A DEFERRED account that is
 * only credited, or that can_overdraw (no funds check), takes its legs as
 * deltas without a lock. A 0.1.0 schema has no striped accounts; from
 * 0.2.0 on, ledger_lock.c's needs_lock() adds them (ledger_stripes.c).
 */
#define LOCK_CONDITION \
	"(NOT w.r AND (a.credit_mode = 'DIRECT' OR w.l OR (w.d AND NOT a.can_overdraw)))"

/*
 * The lock query, with the expression that gives an account's KYC tier
 * (alias a). Run only on a 0.1.0 schema that has no kyc_tier column yet
 * (new binaries installed, ALTER EXTENSION pg_wallet UPDATE not run), with
 * the tier read as 0.1.0 read it, so limits hold in that window too. From
 * 0.2.0 on, ledger_lock.c does the same through the access methods: it is
 * the definition that file follows (LOCK_CONDITION, ascending ids).
 */
#define LOCK_SQL(TIER) \
	"WITH want AS (SELECT w.n, w.d, w.l, w.r" \
	"   FROM unnest($1::text[], $2::bool[], $3::bool[], $4::bool[])" \
	"     AS w(n, d, l, r))," \
	" locked AS (SELECT a.id, a.account_number, a.currency, a.credit_mode, a.status," \
	"   a.balance, a.pending_debit, a.minimum_balance, a.can_overdraw, a.version," \
	"   a.chain_hash, a.exponent, a.owner_id, a.is_system, " TIER " AS kyc_tier, a.ctid" \
	"   FROM pg_wallet.accounts a JOIN want w ON w.n = a.account_number" \
	"   WHERE " LOCK_CONDITION " ORDER BY a.id FOR UPDATE OF a)" \
	" SELECT l.id, l.account_number, l.currency, l.credit_mode, l.status, l.balance," \
	"   l.pending_debit, l.minimum_balance, l.can_overdraw, l.version, l.chain_hash," \
	"   l.exponent, true, l.owner_id, l.is_system, l.kyc_tier," \
	"   (SELECT r.generation FROM pg_wallet.rules_generation r), l.ctid" \
	" FROM locked l" \
	" UNION ALL" \
	" SELECT a.id, a.account_number, a.currency, a.credit_mode, a.status," \
	"   a.balance, a.pending_debit, a.minimum_balance, a.can_overdraw, a.version," \
	"   a.chain_hash, a.exponent, false, a.owner_id, a.is_system, " TIER "," \
	"   (SELECT r.generation FROM pg_wallet.rules_generation r), a.ctid" \
	"   FROM pg_wallet.accounts a JOIN want w ON w.n = a.account_number" \
	"   WHERE NOT (" LOCK_CONDITION ")"

/* 0.1.0 schema only (see LOCK_SQL): to be removed with 0.1.0 support. */
#define TIER_OF_OWNER_010 \
	"(SELECT max(p.kyc_tier) FROM pg_wallet.principals p WHERE p.owner_id = a.owner_id)"

/*
 * Whether accounts has its kyc_tier column (0.2.0 on) or the schema is
 * 0.1.0's. Once seen, the column stays: only a 0.1.0 schema is looked up
 * again, so the posting path pays the catalog look-up only until the update.
 */
static bool
schema_has_kyc_tier(void)
{
	static bool has_tier = false;
	Oid			rel;

	if (has_tier)
		return true;
	rel = get_relname_relid("accounts", get_namespace_oid("pg_wallet", false));
	has_tier = OidIsValid(rel) && get_attnum(rel, "kyc_tier") != InvalidAttrNumber;
	return has_tier;
}

void
lock_accounts(Batch *b)
{
	Oid			argtypes[4] = {TEXTARRAYOID, BOOLARRAYOID, BOOLARRAYOID, BOOLARRAYOID};
	Datum		values[4];
	Column		numbers,
				debits,
				wants,
				checks;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	bool		has_tier = schema_has_kyc_tier();

	if (has_tier)
	{
		lock_accounts_direct(b);	/* ledger_lock.c: the same, without a statement */
		return;
	}
	wallet_plan(&lock_plan_010, LOCK_SQL(TIER_OF_OWNER_010), 4, argtypes);
	column_init(&numbers, TEXTOID);
	column_init(&debits, BOOLOID);
	column_init(&wants, BOOLOID);
	column_init(&checks, BOOLOID);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		if (acct->found)
			continue;			/* resolved by an earlier call */
		column_add(&numbers, CStringGetTextDatum(acct->account_number), false);
		column_add(&debits, BoolGetDatum(acct->debited), false);
		column_add(&wants, BoolGetDatum(acct->want_lock), false);
		column_add(&checks, BoolGetDatum(ledger_check_only(acct)), false);
	}
	if (numbers.n == 0)
		return;
	values[0] = column_array(&numbers);
	values[1] = column_array(&debits);
	values[2] = column_array(&wants);
	values[3] = column_array(&checks);
	if (SPI_execute_plan(lock_plan_010, values, NULL, false, 0) !=
		SPI_OK_SELECT)
		elog(ERROR, "account lock query failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		char	   *number = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
		bool		isnull;

		acct = batch_account(b, number, false);
		load_account_row(acct, tup, SPI_tuptable->tupdesc);
		/* the locked rows come first, in the ascending id order they were locked in */
		Assert(!acct->locked || i == 0 || (b->last_locked_id < acct->id));
		if (acct->locked)
			b->last_locked_id = acct->id;
		b->config_generation = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 17,
														  &isnull));
	}
}

/*
 * Fold the deltas of the locked DEFERRED and striped accounts, and of every
 * account locked for a hold or a fold, into their balance. The delta rows
 * are deleted in the same transaction that adds them to the balance, so
 * balance + sum(deltas) never changes.
 */
void
fold_deferred(Batch *b)
{
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1];
	Column		ids;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	column_init(&ids, INT8OID);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		if (acct->found && acct->locked &&
			(acct->deferred || acct->nstripes > 0 || acct->want_lock))
			column_add(&ids, Int64GetDatum(acct->id), false);
	if (ids.n == 0)
		return;
	wallet_plan(&fold_plan,
				"WITH d AS (DELETE FROM pg_wallet.account_deltas"
				"   WHERE account_id = ANY($1) RETURNING account_id, amount)"
				" SELECT account_id, sum(amount)::bigint FROM d GROUP BY account_id",
				1, argtypes);
	values[0] = column_array(&ids);
	if (ledger_guard_execute(fold_plan, values, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "fold of deferred credits failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		int64		sum = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													  SPI_tuptable->tupdesc, 2, &isnull));

		hash_seq_init(&seq, b->accounts);
		while ((acct = hash_seq_search(&seq)) != NULL)
			if (acct->found && acct->id == id)
			{
				if (pg_add_s64_overflow(acct->balance, sum, &acct->balance))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("balance of account %s is out of range",
									acct->account_number)));
				acct->dirty = true;
			}
	}
}

/* ---------------------------------------------------------------------
 * Step 3: idempotency keys
 * ---------------------------------------------------------------------
 */
/* One row of the key look-up. */
static void
read_keyed(KeyedJournal *k, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		d;

	k->scope = get_int64(tup, desc, 1);
	k->key = SPI_getvalue(tup, desc, 2);
	k->is_journal = get_bool(tup, desc, 3);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	if (!isnull && VARSIZE_ANY_EXHDR(DatumGetByteaPP(d)) == WALLET_HASH_LEN)
		memcpy(k->request_hash, VARDATA_ANY(DatumGetByteaPP(d)), WALLET_HASH_LEN);
	d = SPI_getbinval(tup, desc, 9, &isnull);
	k->created_at = isnull ? 0 : DatumGetTimestampTz(d);
	d = SPI_getbinval(tup, desc, 13, &isnull);
	if (!isnull)
	{
		/* a request held for review: its hold, posted or not */
		k->review_hold_id = DatumGetInt64(d);
		strlcpy(k->hold_status, SPI_getvalue(tup, desc, 14), sizeof(k->hold_status));
	}
	d = SPI_getbinval(tup, desc, 5, &isnull);
	if (isnull)
		return;					/* not a journal (or not found): a conflict */
	k->id = DatumGetInt64(d);
	k->posted = get_bool(tup, desc, 6);
	if (!k->posted)
	{
		strlcpy(k->sqlstate, SPI_getvalue(tup, desc, 7), sizeof(k->sqlstate));
		k->message = SPI_getvalue(tup, desc, 8);
	}
	k->fee_minor = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
	k->commission_minor = DatumGetInt64(SPI_getbinval(tup, desc, 11, &isnull));
	d = SPI_getbinval(tup, desc, 12, &isnull);
	k->exponent = isnull ? 0 : DatumGetInt16(d);
}

/* The scope of a request's key: the owner of the account it acts for. */
static int64
request_scope(Batch *b, LedgerRequest *req)
{
	const char *number = req->scope_account_number;
	LedgerAccount *acct;

	if (number == NULL && req->nlegs > 0)
		number = req->legs[0].account_number;
	acct = number ? batch_account(b, number, false) : NULL;
	return acct != NULL && acct->found ? acct->owner_id : 0;
}

/*
 * Which of the batch's keys are claimed already: one probe of the claims'
 * primary key each, with a snapshot taken after the account locks (a retry
 * racing its original waited on the same lock, and now sees its claim).
 * Almost every key is new; keys found go to load_keyed().
 */
static void
probe_keys(Batch *b, LedgerRequest *reqs, int nreqs, Column *scopes, Column *keys)
{
	DirectRead	r;

	direct_read_begin(&r, "idempotency_keys", "idempotency_keys_pkey");
	for (int i = 0; i < nreqs; i++)
	{
		ScanKeyData k[2];
		Datum		key;

		if (reqs[i].idempotency_key == NULL)
			continue;
		reqs[i].idempotency_scope = request_scope(b, &reqs[i]);
		key = CStringGetTextDatum(reqs[i].idempotency_key);
		direct_key(&k[0], r.index, 1, F_INT8EQ, Int64GetDatum(reqs[i].idempotency_scope));
		direct_key(&k[1], r.index, 2, F_TEXTEQ, key);
		if (!direct_read_one(&r, k, 2))
			continue;
		column_add(scopes, Int64GetDatum(reqs[i].idempotency_scope), false);
		column_add(keys, key, false);
	}
	direct_read_end(&r);
}

/*
 * Find the claims of the batch's keys (idempotency.c's rule) and, for a
 * posting's claim, its journal: the probes, then one statement for the keys
 * found (retries).
 */
void
load_keys(Batch *b, LedgerRequest *reqs, int nreqs)
{
	Oid			argtypes[2] = {INT8ARRAYOID, TEXTARRAYOID};
	Datum		values[2];
	Column		scopes;
	Column		keys;
	bool		any = false;

	b->nkeyed = 0;
	for (int i = 0; i < nreqs && !any; i++)
		any = reqs[i].idempotency_key != NULL;
	if (!any)
		return;
	idem_require_schema();
	column_init(&scopes, INT8OID);
	column_init(&keys, TEXTOID);
	probe_keys(b, reqs, nreqs, &scopes, &keys);
	if (keys.n == 0)
		return;
	wallet_plan(&keys_plan,
				"SELECT k.scope, k.key, k.kind = 'journal' OR h.id IS NOT NULL, k.request_hash,"
				" j.id, j.status = 'POSTED', j.refusal_sqlstate, j.refusal_message,"
				" coalesce(j.created_at, h.created_at),"
				" j.fee_minor, j.commission_minor, (SELECT c.exponent FROM pg_wallet.entries e"
				"   JOIN pg_wallet.accounts a ON a.id = e.account_id"
				"   JOIN pg_wallet.currencies c ON c.code = a.currency"
				"   WHERE e.journal_id = j.id ORDER BY e.leg LIMIT 1), h.id, h.status"
				" FROM unnest($1, $2) AS q(scope, key)"
				" JOIN pg_wallet.idempotency_keys k ON k.scope = q.scope AND k.key = q.key"
				/* a request held for review claimed its key for its hold */
				" LEFT JOIN pg_wallet.holds h ON k.kind = 'hold' AND h.id = k.result_id"
				"  AND h.review IS NOT NULL"
				" LEFT JOIN pg_wallet.journals j ON j.id = CASE k.kind"
				"  WHEN 'journal' THEN k.result_id WHEN 'hold' THEN h.journal_id END",
				2, argtypes);
	values[0] = column_array(&scopes);
	values[1] = column_array(&keys);
	if (SPI_execute_plan(keys_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "idempotency key look-up failed");
	b->keyed = palloc0(sizeof(KeyedJournal) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
		read_keyed(&b->keyed[b->nkeyed++], SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
}

KeyedJournal *
find_keyed(Batch *b, int64 scope, const char *key)
{
	for (int i = 0; key && i < b->nkeyed; i++)
		if (b->keyed[i].scope == scope && strcmp(b->keyed[i].key, key) == 0)
			return &b->keyed[i];
	return NULL;
}

/* Claim a request's key for the journal it records (written by write_claims). */
void
claim_key(Batch *b, LedgerRequest *req, int64 journal_id)
{
	if (req->idempotency_key == NULL)
		return;
	Assert(req->hashed);
	column_add(&b->kcols[K_SCOPE], Int64GetDatum(req->idempotency_scope), false);
	column_add(&b->kcols[K_KEY], CStringGetTextDatum(req->idempotency_key), false);
	column_add(&b->kcols[K_RHASH], bytea_datum(req->request_hash, WALLET_HASH_LEN), false);
	column_add(&b->kcols[K_RESULT], Int64GetDatum(journal_id), false);
}

/* ---------------------------------------------------------------------
 * Step 5: writes
 * ---------------------------------------------------------------------
 */
/*
 * Claim the keys of the batch's journals (idempotency.c): before the
 * journals, so that a request that lost a race to its key writes nothing
 * (idem_write_claims: WL017 when another request claimed the key first).
 */
void
write_claims(Batch *b)
{
	IdemClaims	c;
	Datum		kind;

	if (b->kcols[K_KEY].n == 0)
		return;
	idem_claims_begin(&c);
	kind = CStringGetTextDatum(IDEM_JOURNAL);
	for (int r = 0; r < b->kcols[K_KEY].n; r++)
		idem_claim_row(&c, b->kcols[K_SCOPE].values[r], b->kcols[K_KEY].values[r], kind,
					   b->kcols[K_RHASH].values[r], b->kcols[K_RESULT].values[r], b->now);
	idem_write_claims(&c);
}

/*
 * The status barrier of an account: a transaction-level advisory lock keyed
 * by the account number. Postings that touch an account without locking its
 * row (DEFERRED deltas) hold it shared; a status change holds it exclusive.
 * So an account cannot be closed, locked or deactivated while a delta to it
 * is in flight, and a delta never lands on an account whose status changed
 * under it. Keyed by number (immutable) so it can be taken before the row is
 * read; a hash collision only makes two accounts share a barrier.
 */
void
ledger_account_barrier(const char *account_number, bool exclusive)
{
	LOCKTAG		tag;
	uint32		key = DatumGetUInt32(hash_any((const unsigned char *) account_number,
											  strlen(account_number)));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, WALLET_BARRIER_LOCK_KEY, key, 2);
	(void) LockAcquire(&tag, exclusive ? ExclusiveLock : ShareLock, false, false);
}

/*
 * Take the shared barrier of every account the batch touches without a row
 * lock, then read their status again: a status change that committed
 * between the lock query's snapshot and the barrier is seen now (a
 * snapshot taken after the barriers). A primary key probe per account, no
 * statement, and only when such accounts exist.
 */
void
barrier_unlocked_accounts(Batch *b)
{
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	DirectRead	r;
	bool		open = false;

	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		if (acct->found && !acct->locked && !acct->is_system)
			ledger_account_barrier(acct->account_number, false);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		ScanKeyData key;
		bool		isnull;
		Datum		status;

		if (!acct->found || acct->locked || acct->is_system)
			continue;
		if (!open)
		{
			direct_read_begin(&r, "accounts", "accounts_pkey");
			open = true;
		}
		direct_key(&key, r.index, 1, F_INT8EQ, Int64GetDatum(acct->id));
		if (!direct_read_one(&r, &key, 1))
			continue;
		status = direct_read_col(&r, r.slot, "status", &isnull);
		text_to_cstring_buffer(DatumGetTextPP(status), acct->status, sizeof(acct->status));
	}
	if (open)
		direct_read_end(&r);
}

/*
 * This backend's copy of the system accounts it has resolved. They never
 * change (their status is fixed, their other attributes immutable), so the
 * copy is dropped only when the rules stamp changes, which a re-created
 * extension always does.
 */
static HTAB *sys_cache = NULL;
static int64 sys_cache_generation = -1;

static void
sys_cache_reset(int64 generation)
{
	HASHCTL		ctl;

	if (sys_cache != NULL && sys_cache_generation == generation)
		return;
	if (sys_cache != NULL)
		hash_destroy(sys_cache);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = WALLET_MAX_ACCOUNT_NUMBER + 1;
	ctl.entrysize = sizeof(LedgerAccount);
	sys_cache = hash_create("pg_wallet system accounts", 64, &ctl,
							HASH_ELEM | HASH_STRINGS);
	sys_cache_generation = generation;
}

/* Fill a late account from the cache; false when it is not cached. */
static bool
sys_cache_fill(LedgerAccount *acct, int64 generation)
{
	LedgerAccount *cached;

	sys_cache_reset(generation);
	cached = hash_search(sys_cache, acct->account_number, HASH_FIND, NULL);
	if (cached == NULL)
		return false;
	memcpy(acct, cached, sizeof(LedgerAccount));
	return true;
}

static void
sys_cache_add(LedgerAccount *acct, int64 generation)
{
	LedgerAccount *cached;

	sys_cache_reset(generation);
	cached = hash_search(sys_cache, acct->account_number, HASH_ENTER, NULL);
	memcpy(cached, acct, sizeof(LedgerAccount));
}

/*
 * Resolve accounts added after the lock pass (the system accounts fees are
 * credited to). They must not need a lock: a lock taken now would break the
 * ascending-id lock order. System accounts are DEFERRED and only credited,
 * so this never happens unless one was altered by hand.
 */
void
resolve_late_accounts(Batch *b)
{
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	bool		missing = false;

	/* system accounts never change: most are known to this backend already */
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		if (acct->late && !acct->found && !sys_cache_fill(acct, b->config_generation))
			missing = true;
	if (!missing)
		return;
	lock_accounts(b);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		if (!acct->late || !acct->found)
			continue;
		if (acct->locked)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("system account %s must take credits without a lock",
							acct->account_number),
					 errhint("Its credit_mode must be DEFERRED.")));
		if (acct->is_system)
			sys_cache_add(acct, b->config_generation);
	}
}
