/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The one posting path. Every movement of money in pg_wallet is a
 *	  LedgerRequest posted here, alone or in a batch.
 *
 * A batch of requests is posted in a fixed number of statements whatever
 * its size:
 *	1. resolve every account number and lock, in id order, each account that
 *	   is debited (or whose hold is released) or that takes credits DIRECTly;
 *	   a DEFERRED account that is only credited is not locked;
 *	2. fold the pending credits (account_deltas) of locked DEFERRED accounts;
 *	3. look up the idempotency keys (after the locks: a retry racing its
 *	   original waits on the same account lock, then finds its result);
 *	4. check and apply every request in memory, in order;
 *	5. insert journals, insert entries (and the deltas of DEFERRED credits),
 *	   update the changed accounts.
 *
 * Locking rules: accounts are locked only in step 1, in ascending id order,
 * so two postings never deadlock on accounts. A DEFERRED account is never
 * locked by a credit, so a hot merchant account does not serialise payers.
 *
 * Invariants asserted on write (and again by verify_ledger()): each journal
 * sums to zero per currency; a debit that lowers an account's available
 * balance (balance - pending_debit) leaves it at or above minimum_balance
 * unless the account can_overdraw or the request is forced.
 *
 * Never: writes anything before all checks of a request passed; raises in
 * per-item mode for a refusal (it is recorded and reported instead).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "common/int.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"

#include "pg_wallet.h"

/* An account as seen by one batch: resolved, maybe locked, working state. */
typedef struct LedgerAccount
{
	char		account_number[WALLET_MAX_ACCOUNT_NUMBER + 1];	/* hash key */
	bool		found;
	bool		want_lock;		/* debited or released somewhere in the batch */
	bool		locked;
	bool		deferred;
	bool		dirty;
	int64		id;
	char		currency[4];
	int			exponent;
	char		status[16];
	int64		balance;
	int64		pending_debit;
	int64		minimum_balance;
	bool		can_overdraw;
	int64		version;
	uint8		chain[WALLET_HASH_LEN];
	int			chain_len;
} LedgerAccount;

/* Saved state of an account, to undo a refused request. */
typedef struct AccountUndo
{
	LedgerAccount *acct;
	int64		balance;
	int64		pending_debit;
	int64		version;
	uint8		chain[WALLET_HASH_LEN];
	int			chain_len;
	bool		dirty;
} AccountUndo;

/* A refusal: what would be raised. */
typedef struct Refusal
{
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
} Refusal;

/* A growable column of Datums for one unnest() parameter. */
typedef struct Column
{
	Oid			type;
	Datum	   *values;
	bool	   *nulls;
	int			n;
	int			cap;
} Column;

enum
{
	J_ID, J_TYPE, J_STATUS, J_KEY, J_RHASH, J_DESC, J_META, J_REVERSES,
	J_SQLSTATE, J_MESSAGE, J_HASH, J_CREATED, J_NCOLS
};
static const Oid journal_types[J_NCOLS] = {
	INT8OID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID, TEXTOID, JSONBOID, INT8OID,
	TEXTOID, TEXTOID, BYTEAOID, TIMESTAMPTZOID
};

enum
{
	E_JOURNAL, E_LEG, E_ACCOUNT, E_SIDE, E_AMOUNT, E_BALANCE, E_VERSION, E_DESC,
	E_CREATED, E_NCOLS
};
static const Oid entry_types[E_NCOLS] = {
	INT8OID, INT2OID, INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, TEXTOID,
	TIMESTAMPTZOID
};

/* An existing journal found under an idempotency key. */
typedef struct KeyedJournal
{
	char	   *key;
	int64		id;
	bool		posted;
	uint8		request_hash[WALLET_HASH_LEN];
	char		sqlstate[6];
	char	   *message;
	TimestampTz created_at;
} KeyedJournal;

typedef struct Batch
{
	HTAB	   *accounts;
	KeyedJournal *keyed;
	int			nkeyed;
	Column		jcols[J_NCOLS];
	Column		ecols[E_NCOLS];
	int			njournals_inserted;
	TimestampTz now;
} Batch;

static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr fold_plan = NULL;
static SPIPlanPtr keys_plan = NULL;
static SPIPlanPtr reversal_plan = NULL;
static SPIPlanPtr insert_journals_plan = NULL;
static SPIPlanPtr insert_entries_plan = NULL;
static SPIPlanPtr update_accounts_plan = NULL;

/* ---------------------------------------------------------------------
 * Columns and arrays
 * ---------------------------------------------------------------------
 */
static void
column_init(Column *col, Oid type)
{
	col->type = type;
	col->n = 0;
	col->cap = 16;
	col->values = palloc(sizeof(Datum) * col->cap);
	col->nulls = palloc(sizeof(bool) * col->cap);
}

static void
column_add(Column *col, Datum value, bool isnull)
{
	if (col->n == col->cap)
	{
		col->cap *= 2;
		col->values = repalloc(col->values, sizeof(Datum) * col->cap);
		col->nulls = repalloc(col->nulls, sizeof(bool) * col->cap);
	}
	col->values[col->n] = value;
	col->nulls[col->n] = isnull;
	col->n++;
}

static Datum
column_array(Column *col)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {col->n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(col->type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(col->values, col->nulls, 1, dims, lbs,
											  col->type, typlen, typbyval, typalign));
}

static Datum
text_datum_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

static Datum
bytea_datum(const uint8 *bytes, int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), bytes, len);
	return PointerGetDatum(b);
}

/* ---------------------------------------------------------------------
 * Refusals
 * ---------------------------------------------------------------------
 */
static bool
refuse(Refusal *r, int sqlerrcode, char *message, char *detail)
{
	r->sqlerrcode = sqlerrcode;
	r->message = message;
	r->detail = detail;
	return false;
}

static void
raise_refusal(LedgerRequest *req, Refusal *r)
{
	if (req->item > 0)
		ereport(ERROR,
				(errcode(r->sqlerrcode),
				 errmsg("batch item %d: %s", req->item, r->message),
				 r->detail ? errdetail_internal("%s", r->detail) : 0,
				 errhint("Nothing in the batch was posted.")));
	ereport(ERROR,
			(errcode(r->sqlerrcode),
			 errmsg_internal("%s", r->message),
			 r->detail ? errdetail_internal("%s", r->detail) : 0));
}

/* ---------------------------------------------------------------------
 * Step 0: validation of what the caller sent
 * ---------------------------------------------------------------------
 */
static bool
validate_request(LedgerRequest *req, Refusal *r)
{
	if (req->nlegs < 2 || req->nlegs > WALLET_MAX_LEGS)
		return refuse(r, ERRCODE_INVALID_PARAMETER_VALUE,
					  psprintf("a journal needs between 2 and %d legs, not %d",
							   WALLET_MAX_LEGS, req->nlegs), NULL);
	for (int i = 0; i < req->nlegs; i++)
	{
		LedgerLeg  *leg = &req->legs[i];

		if (leg->account_number == NULL || leg->account_number[0] == '\0' ||
			strlen(leg->account_number) > WALLET_MAX_ACCOUNT_NUMBER)
			return refuse(r, ERRCODE_INVALID_PARAMETER_VALUE,
						  psprintf("leg %d: account number must be 1 to %d characters",
								   i + 1, WALLET_MAX_ACCOUNT_NUMBER), NULL);
		if (leg->amount_minor < 0 || (leg->amount_minor == 0 && leg->amount_text == NULL))
			return refuse(r, ERRCODE_WALLET_INVALID_AMOUNT,
						  psprintf("leg %d: amount must be positive", i + 1), NULL);
		if (leg->description && strlen(leg->description) > WALLET_MAX_TEXT_LEN)
			return refuse(r, ERRCODE_STRING_DATA_RIGHT_TRUNCATION,
						  psprintf("leg %d: description is longer than %d bytes",
								   i + 1, WALLET_MAX_TEXT_LEN), NULL);
	}
	if (req->release_account_number &&
		strlen(req->release_account_number) > WALLET_MAX_ACCOUNT_NUMBER)
		return refuse(r, ERRCODE_INVALID_PARAMETER_VALUE,
					  pstrdup("release account number is too long"), NULL);
	return true;
}

/* Checks that apply to the whole call; these always raise. */
static void
validate_batch(LedgerRequest *reqs, int nreqs)
{
	if (nreqs < 1 || nreqs > WALLET_MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a batch holds between 1 and %d requests, not %d",
						WALLET_MAX_BATCH, nreqs)));
	for (int i = 0; i < nreqs; i++)
	{
		LedgerRequest *req = &reqs[i];

		wallet_check_code(req->journal_type, "journal type");
		if (req->idempotency_key &&
			(req->idempotency_key[0] == '\0' ||
			 strlen(req->idempotency_key) > WALLET_MAX_KEY_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("idempotency key must be 1 to %d characters",
							WALLET_MAX_KEY_LEN)));
		if (req->description && strlen(req->description) > WALLET_MAX_TEXT_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
					 errmsg("description is longer than %d bytes", WALLET_MAX_TEXT_LEN)));
		if (req->metadata && VARSIZE(req->metadata) > WALLET_MAX_METADATA_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("metadata is larger than %d bytes", WALLET_MAX_METADATA_BYTES)));
		if (req->metadata && !JB_ROOT_IS_OBJECT(req->metadata))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("metadata must be a JSON object")));
		for (int j = 0; req->idempotency_key && j < i; j++)
			if (reqs[j].idempotency_key &&
				strcmp(reqs[j].idempotency_key, req->idempotency_key) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("idempotency key \"%s\" appears twice in the batch",
								req->idempotency_key)));
	}
}

/* ---------------------------------------------------------------------
 * Step 1 and 2: resolve, lock, fold
 * ---------------------------------------------------------------------
 */
static LedgerAccount *
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

static void
batch_init(Batch *b)
{
	HASHCTL		ctl;

	memset(b, 0, sizeof(Batch));
	b->now = GetCurrentTransactionStartTimestamp();
	for (int i = 0; i < J_NCOLS; i++)
		column_init(&b->jcols[i], journal_types[i]);
	for (int i = 0; i < E_NCOLS; i++)
		column_init(&b->ecols[i], entry_types[i]);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = WALLET_MAX_ACCOUNT_NUMBER + 1;
	ctl.entrysize = sizeof(LedgerAccount);
	ctl.hcxt = CurrentMemoryContext;
	b->accounts = hash_create("pg_wallet batch accounts", 64, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static void
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
				acct->want_lock = true;
		}
		if (reqs[i].release_account_number)
			batch_account(b, reqs[i].release_account_number, true)->want_lock = true;
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
}

static void
lock_accounts(Batch *b)
{
	Oid			argtypes[2] = {TEXTARRAYOID, BOOLARRAYOID};
	Datum		values[2];
	Column		numbers,
				wants;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	wallet_plan(&lock_plan,
				"WITH want AS (SELECT w.n, w.d FROM unnest($1::text[], $2::bool[]) AS w(n, d)),"
				" locked AS (SELECT a.id, a.account_number, a.currency, a.credit_mode, a.status,"
				"   a.balance, a.pending_debit, a.minimum_balance, a.can_overdraw, a.version,"
				"   a.chain_hash FROM pg_wallet.accounts a JOIN want w ON w.n = a.account_number"
				"   WHERE w.d OR a.credit_mode = 'DIRECT' ORDER BY a.id FOR UPDATE OF a)"
				" SELECT l.*, c.exponent, true FROM locked l"
				"   JOIN pg_wallet.currencies c ON c.code = l.currency"
				" UNION ALL"
				" SELECT a.id, a.account_number, a.currency, a.credit_mode, a.status,"
				"   a.balance, a.pending_debit, a.minimum_balance, a.can_overdraw, a.version,"
				"   a.chain_hash, c.exponent, false"
				"   FROM pg_wallet.accounts a JOIN want w ON w.n = a.account_number"
				"   JOIN pg_wallet.currencies c ON c.code = a.currency"
				"   WHERE NOT (w.d OR a.credit_mode = 'DIRECT')",
				2, argtypes);
	column_init(&numbers, TEXTOID);
	column_init(&wants, BOOLOID);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		column_add(&numbers, CStringGetTextDatum(acct->account_number), false);
		column_add(&wants, BoolGetDatum(acct->want_lock), false);
	}
	if (numbers.n == 0)
		return;
	values[0] = column_array(&numbers);
	values[1] = column_array(&wants);
	if (SPI_execute_plan(lock_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "account lock query failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		char	   *number = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);

		load_account_row(batch_account(b, number, false), tup, SPI_tuptable->tupdesc);
	}
}

/*
 * Fold pending credits of the locked DEFERRED accounts into their balance.
 * The delta rows are deleted in the same transaction that adds them to the
 * balance, so balance + sum(deltas) never changes.
 */
static void
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
		if (acct->found && acct->locked && acct->deferred)
			column_add(&ids, Int64GetDatum(acct->id), false);
	if (ids.n == 0)
		return;
	wallet_plan(&fold_plan,
				"WITH d AS (DELETE FROM pg_wallet.account_deltas"
				"   WHERE account_id = ANY($1) RETURNING account_id, amount)"
				" SELECT account_id, sum(amount)::bigint FROM d GROUP BY account_id",
				1, argtypes);
	values[0] = column_array(&ids);
	if (SPI_execute_plan(fold_plan, values, NULL, false, 0) != SPI_OK_SELECT)
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
static void
load_keys(Batch *b, LedgerRequest *reqs, int nreqs)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];
	Column		keys;

	column_init(&keys, TEXTOID);
	for (int i = 0; i < nreqs; i++)
		if (reqs[i].idempotency_key)
			column_add(&keys, CStringGetTextDatum(reqs[i].idempotency_key), false);
	b->nkeyed = 0;
	if (keys.n == 0)
		return;
	wallet_plan(&keys_plan,
				"SELECT idempotency_key, id, status = 'POSTED', request_hash,"
				" refusal_sqlstate, refusal_message, created_at"
				" FROM pg_wallet.journals WHERE idempotency_key = ANY($1)",
				1, argtypes);
	values[0] = column_array(&keys);
	if (SPI_execute_plan(keys_plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "idempotency key look-up failed");
	b->keyed = palloc0(sizeof(KeyedJournal) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		KeyedJournal *k = &b->keyed[b->nkeyed++];
		bool		isnull;
		Datum		d;

		k->key = SPI_getvalue(tup, desc, 1);
		k->id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		k->posted = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
			memcpy(k->request_hash, VARDATA_ANY(DatumGetByteaPP(d)), WALLET_HASH_LEN);
		if (!k->posted)
		{
			strlcpy(k->sqlstate, SPI_getvalue(tup, desc, 5), sizeof(k->sqlstate));
			k->message = SPI_getvalue(tup, desc, 6);
		}
		k->created_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 7, &isnull));
	}
}

static KeyedJournal *
find_keyed(Batch *b, const char *key)
{
	for (int i = 0; key && i < b->nkeyed; i++)
		if (strcmp(b->keyed[i].key, key) == 0)
			return &b->keyed[i];
	return NULL;
}

/* ---------------------------------------------------------------------
 * Step 4: check and apply one request in memory
 * ---------------------------------------------------------------------
 */

/* Resolve the legs' accounts and amounts; check statuses and balance. */
static bool
resolve_request(Batch *b, LedgerRequest *req, LedgerAccount **accts, Refusal *r)
{
	char		currencies[WALLET_MAX_LEGS][4];
	int64		sums[WALLET_MAX_LEGS];
	int			exponents[WALLET_MAX_LEGS];
	int			ncur = 0;

	for (int i = 0; i < req->nlegs; i++)
	{
		LedgerLeg  *leg = &req->legs[i];
		LedgerAccount *acct = batch_account(b, leg->account_number, false);
		int			c;

		if (acct == NULL || !acct->found)
			return refuse(r, ERRCODE_WALLET_ACCOUNT_NOT_FOUND,
						  psprintf("account %s does not exist", leg->account_number), NULL);
		if (leg->amount_minor == 0)
		{
			const char *problem = amount_parse_cstr(leg->amount_text, acct->exponent,
													&leg->amount_minor);

			if (problem == NULL && leg->amount_minor <= 0)
				problem = "must be positive";
			if (problem != NULL)
				return refuse(r, ERRCODE_WALLET_INVALID_AMOUNT,
							  psprintf("amount \"%s\" %s", leg->amount_text, problem),
							  psprintf("%s amounts have %d decimal places.",
									   acct->currency, acct->exponent));
		}
		accts[i] = acct;
		for (c = 0; c < ncur && strcmp(currencies[c], acct->currency) != 0; c++)
			;
		if (c == ncur)
		{
			strlcpy(currencies[ncur], acct->currency, 4);
			exponents[ncur] = acct->exponent;
			sums[ncur++] = 0;
		}
		if (pg_add_s64_overflow(sums[c], leg->side == SIDE_CREDIT ? leg->amount_minor :
								-leg->amount_minor, &sums[c]))
			return refuse(r, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
						  pstrdup("journal total is out of range"), NULL);
	}
	for (int c = 0; c < ncur; c++)
	{
		if (sums[c] == 0)
			continue;
		if (req->nlegs == 2 && ncur == 2)
			return refuse(r, ERRCODE_WALLET_CURRENCY_MISMATCH,
						  psprintf("accounts %s (%s) and %s (%s) have different currencies",
								   accts[0]->account_number, accts[0]->currency,
								   accts[1]->account_number, accts[1]->currency),
						  pstrdup("Use a conversion to move money between currencies."));
		return refuse(r, ERRCODE_WALLET_UNBALANCED,
					  psprintf("journal does not balance in %s: credits minus debits is %s",
							   currencies[c], amount_to_cstring(sums[c], exponents[c])),
					  pstrdup("Each currency's debits must equal its credits."));
	}
	return true;
}

static bool
check_statuses_one(LedgerAccount *acct, Refusal *r)
{
	if (strcmp(acct->status, "ACTIVE") != 0)
		return refuse(r, ERRCODE_WALLET_ACCOUNT_NOT_ACTIVE,
					  psprintf("account %s is %s", acct->account_number, acct->status),
					  pstrdup("Only ACTIVE accounts accept postings."));
	return true;
}

/* Only ACTIVE accounts take postings (checked after a replay: a retry gets
 * its first answer even if an account has been locked since). */
static bool
check_statuses(LedgerRequest *req, LedgerAccount **accts, Refusal *r)
{
	for (int i = 0; i < req->nlegs; i++)
		if (!check_statuses_one(accts[i], r))
			return false;
	return true;
}

/* Compare with an earlier request under the same key. */
static bool
check_replay(LedgerRequest *req, KeyedJournal *k, LedgerResult *res, Refusal *r)
{
	uint8		hash[WALLET_HASH_LEN];

	ledger_request_hash(req, hash);
	if (memcmp(hash, k->request_hash, WALLET_HASH_LEN) != 0)
		return refuse(r, ERRCODE_WALLET_IDEMPOTENCY_CONFLICT,
					  psprintf("idempotency key \"%s\" was already used for a different request",
							   req->idempotency_key),
					  pstrdup("A retry must repeat the original request exactly."));
	res->journal_id = k->id;
	res->created_at = k->created_at;
	res->replayed = true;
	res->posted = k->posted;
	if (!k->posted)
	{
		strlcpy(res->sqlstate, k->sqlstate, sizeof(res->sqlstate));
		res->message = k->message;
		return refuse(r, MAKE_SQLSTATE(k->sqlstate[0], k->sqlstate[1], k->sqlstate[2],
									   k->sqlstate[3], k->sqlstate[4]),
					  k->message,
					  psprintf("This is the recorded result of an earlier request with "
							   "idempotency key \"%s\".", req->idempotency_key));
	}
	return true;
}

/* A journal may be reversed once; the check runs after the account locks. */
static bool
check_reversal(LedgerRequest *req, Refusal *r)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	int64		existing;
	bool		isnull;
	TimestampTz reversed_at;
	TimestampTz original_at;

	if (req->reverses_journal_id == 0)
		return true;
	wallet_plan(&reversal_plan,
				"SELECT r.id, r.created_at, o.created_at FROM pg_wallet.journals r"
				" JOIN pg_wallet.journals o ON o.id = r.reverses_journal_id"
				" WHERE r.reverses_journal_id = $1",
				1, argtypes);
	values[0] = Int64GetDatum(req->reverses_journal_id);
	if (SPI_execute_plan(reversal_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reversal look-up failed");
	if (SPI_processed == 0)
		return true;
	existing = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										   1, &isnull));
	reversed_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 2, &isnull));
	original_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 3, &isnull));
	return refuse(r, ERRCODE_WALLET_ALREADY_REVERSED,
				  psprintf("journal %s is already reversed",
						   receipt_encode(req->reverses_journal_id, original_at)),
				  psprintf("It was reversed by %s.", receipt_encode(existing, reversed_at)));
}

static void
save_undo(AccountUndo *undo, int *nundo, LedgerAccount *acct)
{
	for (int i = 0; i < *nundo; i++)
		if (undo[i].acct == acct)
			return;
	undo[*nundo].acct = acct;
	undo[*nundo].balance = acct->balance;
	undo[*nundo].pending_debit = acct->pending_debit;
	undo[*nundo].version = acct->version;
	undo[*nundo].dirty = acct->dirty;
	undo[*nundo].chain_len = acct->chain_len;
	memcpy(undo[*nundo].chain, acct->chain, WALLET_HASH_LEN);
	(*nundo)++;
}

static void
restore_undo(AccountUndo *undo, int nundo)
{
	for (int i = 0; i < nundo; i++)
	{
		LedgerAccount *acct = undo[i].acct;

		acct->balance = undo[i].balance;
		acct->pending_debit = undo[i].pending_debit;
		acct->version = undo[i].version;
		acct->dirty = undo[i].dirty;
		acct->chain_len = undo[i].chain_len;
		memcpy(acct->chain, undo[i].chain, WALLET_HASH_LEN);
	}
}

/*
 * Refuse when the request lowered an account's available balance below its
 * floor. `before` is the available balance before the request.
 */
static bool
check_funds(LedgerRequest *req, AccountUndo *undo, int nundo, Refusal *r)
{
	for (int i = 0; i < nundo; i++)
	{
		LedgerAccount *acct = undo[i].acct;
		int64		before = undo[i].balance - undo[i].pending_debit;
		int64		after = acct->balance - acct->pending_debit;

		if (after >= before || acct->can_overdraw || req->force)
			continue;
		if (after < acct->minimum_balance)
		{
			int64		spendable = Max(before - acct->minimum_balance, 0);

			return refuse(r, ERRCODE_WALLET_INSUFFICIENT_FUNDS,
						  psprintf("insufficient balance in account %s: available %s %s, "
								   "required %s %s", acct->account_number,
								   amount_to_cstring(spendable, acct->exponent), acct->currency,
								   amount_to_cstring(before - after, acct->exponent),
								   acct->currency),
						  psprintf("The account's minimum balance is %s %s.",
								   amount_to_cstring(acct->minimum_balance, acct->exponent),
								   acct->currency));
		}
	}
	return true;
}

/* Apply the legs to the working balances; fill balance_after per leg. */
static bool
apply_legs(LedgerRequest *req, LedgerAccount **accts, int64 *balance_after,
		   AccountUndo *undo, int *nundo, Refusal *r)
{
	for (int i = 0; i < req->nlegs; i++)
	{
		LedgerAccount *acct = accts[i];
		int64		amount = req->legs[i].amount_minor;

		if (!acct->locked)
		{
			Assert(req->legs[i].side == SIDE_CREDIT && acct->deferred);
			balance_after[i] = 0;
			continue;
		}
		save_undo(undo, nundo, acct);
		if (pg_add_s64_overflow(acct->balance,
								req->legs[i].side == SIDE_CREDIT ? amount : -amount,
								&acct->balance))
			return refuse(r, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
						  psprintf("balance of account %s would be out of range",
								   acct->account_number), NULL);
		balance_after[i] = acct->balance;
	}
	return true;
}

/* Release a consumed hold's reservation from pending_debit. */
static bool
apply_release(Batch *b, LedgerRequest *req, AccountUndo *undo, int *nundo, Refusal *r)
{
	LedgerAccount *acct;

	if (req->release_account_number == NULL)
		return true;
	acct = batch_account(b, req->release_account_number, false);
	if (acct == NULL || !acct->found || !acct->locked)
		return refuse(r, ERRCODE_WALLET_ACCOUNT_NOT_FOUND,
					  psprintf("account %s does not exist", req->release_account_number), NULL);
	/* the chain step needs an entry of this account in the journal */
	for (int i = 0; i < req->nlegs; i++)
		if (strcmp(req->legs[i].account_number, req->release_account_number) == 0)
			break;
		else if (i == req->nlegs - 1)
			elog(ERROR, "a hold release needs a leg on account %s",
				 req->release_account_number);
	save_undo(undo, nundo, acct);
	if (req->release_amount_minor <= 0 || req->release_amount_minor > acct->pending_debit)
		elog(ERROR, "hold release of %lld exceeds pending debit of account %s",
			 (long long) req->release_amount_minor, acct->account_number);
	acct->pending_debit -= req->release_amount_minor;
	acct->dirty = true;
	return true;
}

/* ---------------------------------------------------------------------
 * Step 4b: record what will be written
 * ---------------------------------------------------------------------
 */
static int64
next_journal_id(void)
{
	Oid			nsp = get_namespace_oid("pg_wallet", false);
	Oid			seq = get_relname_relid("journal_id_seq", nsp);

	if (!OidIsValid(seq))
		elog(ERROR, "sequence pg_wallet.journal_id_seq is missing");
	return nextval_internal(seq, false);
}

static void
add_journal_row(Batch *b, LedgerRequest *req, int64 id, const char *status,
				const uint8 *request_hash, Refusal *r, const uint8 *hash)
{
	Column	   *c = b->jcols;
	bool		isnull;
	Datum		d;

	column_add(&c[J_ID], Int64GetDatum(id), false);
	column_add(&c[J_TYPE], CStringGetTextDatum(req->journal_type), false);
	column_add(&c[J_STATUS], CStringGetTextDatum(status), false);
	d = text_datum_or_null(req->idempotency_key, &isnull);
	column_add(&c[J_KEY], d, isnull);
	column_add(&c[J_RHASH], request_hash ? bytea_datum(request_hash, WALLET_HASH_LEN) : 0,
			   request_hash == NULL);
	d = text_datum_or_null(req->description, &isnull);
	column_add(&c[J_DESC], d, isnull);
	column_add(&c[J_META], req->metadata ? JsonbPGetDatum(req->metadata) :
			   DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")), false);
	column_add(&c[J_REVERSES], Int64GetDatum(req->reverses_journal_id),
			   req->reverses_journal_id == 0);
	d = r ? CStringGetTextDatum(unpack_sql_state(r->sqlerrcode)) : 0;
	column_add(&c[J_SQLSTATE], d, r == NULL);
	d = r ? CStringGetTextDatum(r->message) : 0;
	column_add(&c[J_MESSAGE], d, r == NULL);
	column_add(&c[J_HASH], hash ? bytea_datum(hash, WALLET_HASH_LEN) : 0, hash == NULL);
	column_add(&c[J_CREATED], TimestampTzGetDatum(b->now), false);
}

/* Journal row, entries, and the chain step of every locked account. */
static int64
record_posting(Batch *b, LedgerRequest *req, LedgerAccount **accts, int64 *balance_after,
			   AccountUndo *undo, int nundo, const uint8 *request_hash)
{
	int64		id = next_journal_id();
	int64		ids[WALLET_MAX_LEGS];
	int64		amounts[WALLET_MAX_LEGS];
	bool		debits[WALLET_MAX_LEGS];
	uint8		jhash[WALLET_HASH_LEN];
	Column	   *c = b->ecols;

	for (int i = 0; i < req->nlegs; i++)
	{
		ids[i] = accts[i]->id;
		amounts[i] = req->legs[i].amount_minor;
		debits[i] = req->legs[i].side == SIDE_DEBIT;
	}
	ledger_journal_hash(id, req->journal_type, req->reverses_journal_id, req->nlegs,
						ids, debits, amounts, jhash);
	add_journal_row(b, req, id, "POSTED", request_hash, NULL, jhash);

	/* one chain step per locked account changed by the legs */
	for (int i = 0; i < nundo; i++)
	{
		LedgerAccount *acct = undo[i].acct;
		uint8		next[WALLET_HASH_LEN];

		acct->version++;
		ledger_chain_hash(acct->chain, acct->chain_len, jhash, acct->version,
						  acct->balance, next);
		memcpy(acct->chain, next, WALLET_HASH_LEN);
		acct->chain_len = WALLET_HASH_LEN;
		acct->dirty = true;
	}
	for (int i = 0; i < req->nlegs; i++)
	{
		bool		isnull;
		Datum		d;

		column_add(&c[E_JOURNAL], Int64GetDatum(id), false);
		column_add(&c[E_LEG], Int16GetDatum(i + 1), false);
		column_add(&c[E_ACCOUNT], Int64GetDatum(ids[i]), false);
		column_add(&c[E_SIDE], CStringGetTextDatum(debits[i] ? "DR" : "CR"), false);
		column_add(&c[E_AMOUNT], Int64GetDatum(amounts[i]), false);
		column_add(&c[E_BALANCE], Int64GetDatum(balance_after[i]), !accts[i]->locked);
		column_add(&c[E_VERSION], Int64GetDatum(accts[i]->version), !accts[i]->locked);
		d = text_datum_or_null(req->legs[i].description, &isnull);
		column_add(&c[E_DESC], d, isnull);
		column_add(&c[E_CREATED], TimestampTzGetDatum(b->now), false);
	}
	return id;
}

/*
 * Check and apply one request. Returns false with *r filled when refused;
 * the working state is then exactly as before.
 */
static bool
post_one(Batch *b, LedgerRequest *req, LedgerResult *res, Refusal *r)
{
	LedgerAccount *accts[WALLET_MAX_LEGS];
	int64		balance_after[WALLET_MAX_LEGS];
	AccountUndo undo[WALLET_MAX_LEGS + 1];
	int			nundo = 0;
	uint8		request_hash[WALLET_HASH_LEN];
	KeyedJournal *k = find_keyed(b, req->idempotency_key);

	if (k != NULL)
		return check_replay(req, k, res, r);
	if (!resolve_request(b, req, accts, r))
		return false;
	if (!check_statuses(req, accts, r) || !check_reversal(req, r))
		return false;
	if (!apply_legs(req, accts, balance_after, undo, &nundo, r) ||
		!apply_release(b, req, undo, &nundo, r) ||
		!check_funds(req, undo, nundo, r))
	{
		restore_undo(undo, nundo);
		return false;
	}
	ledger_request_hash(req, request_hash);
	res->journal_id = record_posting(b, req, accts, balance_after, undo, nundo,
									 request_hash);
	res->created_at = b->now;
	res->posted = true;
	return true;
}

/* ---------------------------------------------------------------------
 * Step 5: writes
 * ---------------------------------------------------------------------
 */
static void
write_journals(Batch *b)
{
	Oid			argtypes[J_NCOLS];
	Datum		values[J_NCOLS];

	if (b->jcols[J_ID].n == 0)
		return;
	for (int i = 0; i < J_NCOLS; i++)
	{
		argtypes[i] = get_array_type(journal_types[i]);
		values[i] = column_array(&b->jcols[i]);
	}
	wallet_plan(&insert_journals_plan,
				"INSERT INTO pg_wallet.journals (id, journal_type, status, idempotency_key,"
				" request_hash, description, metadata, reverses_journal_id, refusal_sqlstate,"
				" refusal_message, hash, created_at)"
				" SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
				" ON CONFLICT (idempotency_key) DO NOTHING",
				J_NCOLS, argtypes);
	if (SPI_execute_plan(insert_journals_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "journal insert failed");
	if (SPI_processed != (uint64) b->jcols[J_ID].n)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_CONCURRENT_REQUEST),
				 errmsg("a concurrent request with the same idempotency key committed first"),
				 errhint("Retry the request: the retry returns the first request's result.")));
}

static void
write_entries(Batch *b)
{
	Oid			argtypes[E_NCOLS];
	Datum		values[E_NCOLS];

	if (b->ecols[E_JOURNAL].n == 0)
		return;
	for (int i = 0; i < E_NCOLS; i++)
	{
		argtypes[i] = get_array_type(entry_types[i]);
		values[i] = column_array(&b->ecols[i]);
	}
	wallet_plan(&insert_entries_plan,
				"WITH e AS (INSERT INTO pg_wallet.entries (journal_id, leg, account_id, side,"
				"   amount, balance_after, account_version, description, created_at)"
				"   SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9)"
				"   RETURNING id, account_id, amount, account_version)"
				" INSERT INTO pg_wallet.account_deltas (account_id, entry_id, amount)"
				" SELECT account_id, id, amount FROM e WHERE account_version IS NULL",
				E_NCOLS, argtypes);
	if (SPI_execute_plan(insert_entries_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "entry insert failed");
}

static void
write_accounts(Batch *b)
{
	Oid			argtypes[5] = {INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
	get_array_type(BYTEAOID)};
	Datum		values[5];
	Column		cols[5];
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	for (int i = 0; i < 4; i++)
		column_init(&cols[i], INT8OID);
	column_init(&cols[4], BYTEAOID);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		if (!acct->dirty)
			continue;
		Assert(acct->locked);
		column_add(&cols[0], Int64GetDatum(acct->id), false);
		column_add(&cols[1], Int64GetDatum(acct->balance), false);
		column_add(&cols[2], Int64GetDatum(acct->pending_debit), false);
		column_add(&cols[3], Int64GetDatum(acct->version), false);
		column_add(&cols[4], bytea_datum(acct->chain, acct->chain_len), false);
	}
	if (cols[0].n == 0)
		return;
	for (int i = 0; i < 5; i++)
		values[i] = column_array(&cols[i]);
	wallet_plan(&update_accounts_plan,
				"UPDATE pg_wallet.accounts a SET balance = v.balance,"
				" pending_debit = v.pending_debit, version = v.version,"
				" chain_hash = v.chain_hash, updated_at = now()"
				" FROM unnest($1, $2, $3, $4, $5) AS v(id, balance, pending_debit, version,"
				" chain_hash) WHERE a.id = v.id",
				5, argtypes);
	if (SPI_execute_plan(update_accounts_plan, values, NULL, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != (uint64) cols[0].n)
		elog(ERROR, "account update failed");
}

/* ---------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------
 */

/* Record or raise a refusal of request i. */
static void
handle_refusal(Batch *b, LedgerRequest *req, bool atomic, LedgerResult *res, Refusal *r)
{
	if (atomic)
		raise_refusal(req, r);
	res->posted = false;
	strlcpy(res->sqlstate, unpack_sql_state(r->sqlerrcode), sizeof(res->sqlstate));
	res->message = r->message;
	if (res->replayed || req->idempotency_key == NULL || !req->record_refusal ||
		r->sqlerrcode == ERRCODE_WALLET_IDEMPOTENCY_CONFLICT)
		return;
	/* the first answer under this key is a refusal: keep it for retries */
	{
		uint8		request_hash[WALLET_HASH_LEN];

		ledger_request_hash(req, request_hash);
		res->journal_id = next_journal_id();
		res->created_at = b->now;
		add_journal_row(b, req, res->journal_id, "REFUSED", request_hash, r, NULL);
	}
}

/*
 * Post a batch. atomic: the first refusal raises and nothing is posted.
 * Otherwise each request is posted or refused on its own, refusals are
 * recorded under their idempotency keys (when record_refusal is set), and
 * results[i] says which. The caller is connected to SPI.
 */
void
ledger_post_batch(LedgerRequest *reqs, int nreqs, bool atomic, LedgerResult *results)
{
	Batch		b;
	bool	   *valid = palloc(sizeof(bool) * nreqs);
	Refusal    *refusals = palloc0(sizeof(Refusal) * nreqs);

	validate_batch(reqs, nreqs);
	batch_init(&b);
	for (int i = 0; i < nreqs; i++)
	{
		memset(&results[i], 0, sizeof(LedgerResult));
		valid[i] = validate_request(&reqs[i], &refusals[i]);
		if (!valid[i] && atomic)
			raise_refusal(&reqs[i], &refusals[i]);
	}
	collect_accounts(&b, reqs, nreqs, valid);
	lock_accounts(&b);
	fold_deferred(&b);
	load_keys(&b, reqs, nreqs);
	for (int i = 0; i < nreqs; i++)
	{
		if (valid[i] && post_one(&b, &reqs[i], &results[i], &refusals[i]))
			continue;
		handle_refusal(&b, &reqs[i], atomic, &results[i], &refusals[i]);
	}
	write_journals(&b);
	write_entries(&b);
	write_accounts(&b);
}

void
ledger_post(LedgerRequest *req, LedgerResult *result)
{
	ledger_post_batch(req, 1, !req->record_refusal, result);
}

/* A journal_result composite for a result. */
Datum
ledger_result_datum(LedgerResult *res, TupleDesc tupdesc)
{
	Datum		values[7];
	bool		nulls[7] = {false};

	values[0] = Int64GetDatum(res->journal_id);
	nulls[0] = res->journal_id == 0;
	if (res->posted)
		values[1] = CStringGetTextDatum(receipt_encode(res->journal_id, res->created_at));
	nulls[1] = !res->posted;
	values[2] = CStringGetTextDatum(res->posted ? "POSTED" : "REFUSED");
	values[3] = BoolGetDatum(res->replayed);
	values[4] = res->posted ? 0 : CStringGetTextDatum(res->sqlstate);
	nulls[4] = res->posted;
	values[5] = res->posted ? 0 : CStringGetTextDatum(res->message);
	nulls[5] = res->posted;
	values[6] = TimestampTzGetDatum(res->created_at);
	nulls[6] = res->created_at == 0;
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
}

/*
 * Reserve (reserve = true) or release an amount of an account's available
 * balance for a hold: pending_debit rises or falls, balance is untouched.
 * The account is locked as for a debit (and its deferred credits folded).
 * amount_text, when not NULL, is parsed with the account's currency; the
 * amount in minor units is returned and the account described in *info.
 * A reservation is refused like a debit: inactive account, or available
 * balance below the floor.
 */
int64
ledger_adjust_pending(const char *account_number, const char *amount_text,
					  int64 amount_minor, bool reserve, LedgerAccountInfo *info)
{
	Batch		b;
	LedgerAccount *acct;
	AccountUndo undo[1];
	int			nundo = 0;
	Refusal		r;
	LedgerRequest req;

	batch_init(&b);
	batch_account(&b, account_number, true)->want_lock = true;
	lock_accounts(&b);
	fold_deferred(&b);
	acct = batch_account(&b, account_number, false);
	memset(&req, 0, sizeof(req));
	if (!acct->found)
		raise_refusal(&req, (refuse(&r, ERRCODE_WALLET_ACCOUNT_NOT_FOUND,
									psprintf("account %s does not exist", account_number),
									NULL), &r));
	if (reserve && !check_statuses_one(acct, &r))
		raise_refusal(&req, &r);
	if (amount_text != NULL)
		amount_minor = amount_parse_text(amount_text, acct->exponent, acct->currency);
	if (amount_minor <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount must be positive")));
	save_undo(undo, &nundo, acct);
	if (reserve)
	{
		if (pg_add_s64_overflow(acct->pending_debit, amount_minor, &acct->pending_debit))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("pending debit of account %s is out of range", account_number)));
		if (!check_funds(&req, undo, nundo, &r))
			raise_refusal(&req, &r);
	}
	else
	{
		if (amount_minor > acct->pending_debit)
			elog(ERROR, "release of %lld exceeds pending debit of account %s",
				 (long long) amount_minor, account_number);
		acct->pending_debit -= amount_minor;
	}
	acct->dirty = true;
	write_accounts(&b);
	info->id = acct->id;
	strlcpy(info->currency, acct->currency, sizeof(info->currency));
	info->exponent = acct->exponent;
	return amount_minor;
}

/*
 * Fold the pending credits of DEFERRED accounts into their balances: the
 * named account, or every DEFERRED account that has any (up to max_accounts).
 * Returns the number of accounts folded. Reads give the same balance before
 * and after; a fold only keeps account_deltas short.
 */
int64
ledger_fold(const char *account_number, int max_accounts)
{
	Batch		b;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	int64		folded = 0;

	batch_init(&b);
	if (account_number != NULL)
		batch_account(&b, account_number, true)->want_lock = true;
	else
	{
		Oid			argtypes[1] = {INT4OID};
		Datum		values[1] = {Int32GetDatum(max_accounts)};

		if (SPI_execute_with_args("SELECT a.account_number FROM pg_wallet.accounts a"
								  " WHERE a.id IN (SELECT DISTINCT d.account_id"
								  "   FROM pg_wallet.account_deltas d) ORDER BY a.id LIMIT $1",
								  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "deferred account look-up failed");
		for (uint64 i = 0; i < SPI_processed; i++)
			batch_account(&b, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
						  true)->want_lock = true;
	}
	lock_accounts(&b);
	hash_seq_init(&seq, b.accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		if (!acct->found)
			ereport(ERROR,
					(errcode(ERRCODE_WALLET_ACCOUNT_NOT_FOUND),
					 errmsg("account %s does not exist", acct->account_number)));
	fold_deferred(&b);
	hash_seq_init(&seq, b.accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		folded += acct->dirty ? 1 : 0;
	write_accounts(&b);
	return folded;
}
