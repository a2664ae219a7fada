/*-------------------------------------------------------------------------
 *
 * holds.c
 *	  Two-phase reservations: place a hold (funds leave the available
 *	  balance, pending_debit rises), then post it (a journal through the
 *	  posting core, fully or partly), void it, or let it expire.
 *
 * Locking: a hold row is locked before its account, and expiry takes holds
 * in account-id order with SKIP LOCKED, so hold operations and postings
 * never wait on each other in a cycle.
 *
 * Owns: the holds table. Never: writes balances or pending_debit itself: a
 * hold is placed and captured through ledger_post (the posting path's
 * checks and rules), and released by ledger_release_pending.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "core/direct.h"
#include "core/holds_internal.h"
#include "core/idempotency.h"
#include "core/ledger_rules.h"

PG_FUNCTION_INFO_V1(wallet_place_hold);
PG_FUNCTION_INFO_V1(wallet_post_hold);
PG_FUNCTION_INFO_V1(wallet_void_hold);
PG_FUNCTION_INFO_V1(wallet_expire_holds);


static SPIPlanPtr hold_lock_plan = NULL;
static SPIPlanPtr hold_lock_plan_010 = NULL;
static SPIPlanPtr hold_insert_plan = NULL;
static SPIPlanPtr hold_close_plan = NULL;
static SPIPlanPtr hold_info_plan = NULL;
static SPIPlanPtr hold_due_plan = NULL;

/* The hold_info composite of a hold, built in the caller's memory context. */
static Datum
hold_info_datum(int64 hold_id, bool replayed, TupleDesc tupdesc, MemoryContext caller)
{
	Oid			argtypes[2] = {INT8OID, BOOLOID};
	Datum		values[2] = {Int64GetDatum(hold_id), BoolGetDatum(replayed)};
	MemoryContext spi;
	HeapTuple	tup;

	wallet_plan(&hold_info_plan,
				"SELECT h.id, a.account_number, c.account_number, a.currency,"
				" pg_wallet.minor_to_numeric(h.amount, cur.exponent),"
				" pg_wallet.minor_to_numeric(h.posted_amount, cur.exponent),"
				" h.status, h.expires_at, h.journal_id,"
				" pg_wallet.receipt_code(j.id, j.created_at), $2, h.created_at, h.closed_at,"
				" pg_wallet.minor_to_numeric(h.fee_minor, cur.exponent)"
				" FROM pg_wallet.holds h"
				" JOIN pg_wallet.accounts a ON a.id = h.account_id"
				" JOIN pg_wallet.accounts c ON c.id = h.counterpart_account_id"
				" JOIN pg_wallet.currencies cur ON cur.code = a.currency"
				" LEFT JOIN pg_wallet.journals j ON j.id = h.journal_id"
				" WHERE h.id = $1",
				2, argtypes);
	if (SPI_execute_plan(hold_info_plan, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "hold %lld vanished", (long long) hold_id);
	spi = MemoryContextSwitchTo(caller);
	{
		Datum		vals[14];
		bool		nulls[14];

		Assert(SPI_tuptable->tupdesc->natts == 14);
		heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, vals, nulls);
		tup = heap_form_tuple(BlessTupleDesc(tupdesc), vals, nulls);
	}
	MemoryContextSwitchTo(spi);
	return HeapTupleGetDatum(tup);
}

/* Lock a hold and read it; error WL016 when it does not exist. */
void
lock_hold(int64 hold_id, HoldRow *h)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(hold_id)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	/* a 0.1.0 schema (before ALTER EXTENSION UPDATE) has no review column */
	bool		reviews = get_attnum(direct_relid("holds"), "review") != InvalidAttrNumber;
	SPIPlanPtr *plan = reviews ? &hold_lock_plan : &hold_lock_plan_010;

#define HOLD_LOCK_SELECT \
	"SELECT h.id, a.account_number, c.account_number, a.currency, cur.exponent," \
	" h.amount, h.status, h.status = 'ACTIVE' AND h.expires_at <= now()," \
	" h.journal_id, h.fee_minor, h.commission_minor, g.account_number," \
	" h.limit_counted, a.owner_id, h.created_at, "
#define HOLD_LOCK_FROM \
	" FROM pg_wallet.holds h" \
	" JOIN pg_wallet.accounts a ON a.id = h.account_id" \
	" JOIN pg_wallet.accounts c ON c.id = h.counterpart_account_id" \
	" JOIN pg_wallet.currencies cur ON cur.code = a.currency" \
	" LEFT JOIN pg_wallet.accounts g ON g.id = h.agent_account_id" \
	" WHERE h.id = $1 FOR UPDATE OF h"
	wallet_plan(plan, reviews ? HOLD_LOCK_SELECT "h.review" HOLD_LOCK_FROM :
				HOLD_LOCK_SELECT "NULL::jsonb" HOLD_LOCK_FROM, 1, argtypes);
#undef HOLD_LOCK_SELECT
#undef HOLD_LOCK_FROM
	if (SPI_execute_plan(*plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "hold look-up failed");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_HOLD_NOT_FOUND),
				 errmsg("hold %lld does not exist", (long long) hold_id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	h->id = hold_id;
	h->account_number = SPI_getvalue(tup, desc, 2);
	h->counterpart_number = SPI_getvalue(tup, desc, 3);
	h->currency = SPI_getvalue(tup, desc, 4);
	h->exponent = DatumGetInt16(SPI_getbinval(tup, desc, 5, &isnull));
	h->amount = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	h->status = SPI_getvalue(tup, desc, 7);
	h->expired = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull)) && !isnull;
	h->journal_id = DatumGetInt64(SPI_getbinval(tup, desc, 9, &isnull));
	if (isnull)
		h->journal_id = 0;
	h->fee = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
	h->commission = DatumGetInt64(SPI_getbinval(tup, desc, 11, &isnull));
	h->agent_number = SPI_getvalue(tup, desc, 12);
	h->limit_counted = DatumGetBool(SPI_getbinval(tup, desc, 13, &isnull));
	h->owner_id = DatumGetInt64(SPI_getbinval(tup, desc, 14, &isnull));
	h->created_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 15, &isnull));
	h->review = SPI_getbinval(tup, desc, 16, &isnull);
	h->has_review = !isnull;
}

/*
 * Whether the journal that posted a hold was posted under this key. Read
 * after the hold's row lock, in a statement of its own, so that a posting
 * that committed while we waited for the lock is seen.
 */
static bool
hold_journal_key_is(int64 journal_id, const char *key)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(journal_id), CStringGetTextDatum(key)};

	if (SPI_execute_with_args("SELECT 1 FROM pg_wallet.journals"
							  " WHERE id = $1 AND idempotency_key = $2",
							  2, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "hold journal look-up failed");
	return SPI_processed == 1;
}

static void
hold_not_active(HoldRow *h)
{
	ereport(ERROR,
			(errcode(ERRCODE_WALLET_HOLD_NOT_ACTIVE),
			 errmsg("hold %lld is %s", (long long) h->id,
					h->expired ? "EXPIRED" : h->status),
			 errdetail("Only an ACTIVE hold before its expiry can be posted or voided.")));
}

/* Mark a hold closed: POSTED (with journal), VOIDED or EXPIRED. */
void
close_hold(int64 hold_id, const char *status, int64 posted_amount, int64 journal_id,
		   const char *reason)
{
	Oid			argtypes[5] = {INT8OID, TEXTOID, INT8OID, INT8OID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = Int64GetDatum(hold_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = Int64GetDatum(posted_amount);
	nulls[2] = posted_amount == 0 ? 'n' : ' ';
	values[3] = Int64GetDatum(journal_id);
	nulls[3] = journal_id == 0 ? 'n' : ' ';
	values[4] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
	nulls[4] = reason ? ' ' : 'n';
	wallet_plan(&hold_close_plan,
				"UPDATE pg_wallet.holds SET status = $2, posted_amount = $3, journal_id = $4,"
				" closed_reason = $5, closed_at = now() WHERE id = $1 AND status = 'ACTIVE'",
				5, argtypes);
	if (SPI_execute_plan(hold_close_plan, values, nulls, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != 1)
		elog(ERROR, "hold %lld could not be closed", (long long) hold_id);
}

/* What a place_hold request is about: its accounts and amount. */
typedef struct HoldPlan
{
	int64		account_id;
	int64		owner_id;		/* the scope of the hold's key */
	char	   *currency;
	int			exponent;
	int64		amount_minor;
	int64		agent_id;		/* 0: none */
	int64		fee;
	int64		commission;
	bool		counted;
} HoldPlan;

/*
 * The posting a hold stands for: the amount from the account to the
 * counterpart, under the hold's fee type and agent. It is placed (reserved)
 * through the posting path, and its key hashes it.
 */
static void
hold_request(LedgerRequest *req, const char *account, const char *counterpart,
			 int64 amount_minor, const char *fee_type, const char *agent)
{
	memset(req, 0, sizeof(*req));
	req->journal_type = "HOLD";
	req->fee_type = fee_type;
	req->agent_account_number = agent;
	req->legs = palloc0(sizeof(LedgerLeg) * 2);
	ledger_add_leg(req, account, SIDE_DEBIT, amount_minor, NULL);
	ledger_add_leg(req, counterpart, SIDE_CREDIT, amount_minor, NULL);
}

/* What a place_hold key promises: the same posting, expiry and description. */
static void
hold_key_hash(const LedgerRequest *req, const char *expires, const char *description,
			  uint8 *out)
{
	LedgerRequest keyed = *req;

	keyed.description = description;
	keyed.release_account_number = expires;
	ledger_request_hash(&keyed, out);
}

/*
 * What the hold row and its key need before the account is locked: the
 * account's id, owner, currency and exponent (the amount in minor units is
 * hashed, as keys of holds always were), and the agent's id. Everything
 * else about the accounts is checked by the posting path when the hold is
 * placed.
 */
static void
hold_resolve(const char *account, const char *agent, const char *amount_text, HoldPlan *p)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(account),
	CStringGetTextDatum(agent ? agent : account)};

	if (SPI_execute_with_args("SELECT a.account_number, a.currency, a.exponent, a.id,"
							  " a.owner_id"
							  " FROM pg_wallet.accounts a"
							  " WHERE a.account_number IN ($1, $2)",
							  2, argtypes, values, NULL, false, 2) != SPI_OK_SELECT)
		elog(ERROR, "hold account look-up failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *number = SPI_getvalue(tup, desc, 1);
		bool		isnull;

		if (strcmp(number, account) == 0)
		{
			p->currency = SPI_getvalue(tup, desc, 2);
			p->exponent = DatumGetInt16(SPI_getbinval(tup, desc, 3, &isnull));
			p->account_id = get_int64(tup, desc, 4);
			p->owner_id = get_int64(tup, desc, 5);
		}
		if (agent && strcmp(number, agent) == 0)
			p->agent_id = get_int64(tup, desc, 4);
	}
	if (p->currency == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_ACCOUNT_NOT_FOUND),
				 errmsg("account %s does not exist", account)));
	p->amount_minor = amount_parse_text(amount_text, p->exponent, p->currency);
}

/*
 * Reserve the amount and the rules' fee through the posting path: the
 * accounts are checked and the rules applied as for the posting the hold
 * stands for, then the account's pending_debit rises by what that posting
 * would have debited it. Raises a refusal.
 */
static void
hold_reserve(LedgerRequest *req, HoldPlan *p)
{
	LedgerResult res;

	req->reserve = true;
	ledger_post(req, &res);
	p->fee = res.fee_minor;
	p->commission = res.commission_minor;
	p->counted = res.limit_counted;
}

/* Insert the hold row and claim its key (WL017 when a concurrent twin won). */
static int64
hold_insert(HoldPlan *p, const char *counterpart, const char *key, const uint8 *request_hash,
			const char *description, FunctionCallInfo fcinfo, const char *fee_type)
{
	Oid			argtypes[12] = {INT8OID, TEXTOID, INT8OID, TEXTOID, BYTEAOID, TEXTOID,
	TIMESTAMPTZOID, TEXTOID, INT8OID, INT8OID, INT8OID, BOOLOID};
	Datum		values[12];
	char		nulls[12];
	bytea	   *rh = palloc(VARHDRSZ + WALLET_HASH_LEN);
	bool		isnull;
	int64		id;

	memset(nulls, ' ', sizeof(nulls));
	SET_VARSIZE(rh, VARHDRSZ + WALLET_HASH_LEN);
	memcpy(VARDATA(rh), request_hash, WALLET_HASH_LEN);
	values[0] = Int64GetDatum(p->account_id);
	values[1] = CStringGetTextDatum(counterpart);
	values[2] = Int64GetDatum(p->amount_minor);
	values[3] = key ? CStringGetTextDatum(key) : (Datum) 0;
	nulls[3] = key ? ' ' : 'n';
	values[4] = PointerGetDatum(rh);
	values[5] = description ? CStringGetTextDatum(description) : (Datum) 0;
	nulls[5] = description ? ' ' : 'n';
	values[6] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	nulls[6] = PG_ARGISNULL(4) ? 'n' : ' ';
	values[7] = fee_type ? CStringGetTextDatum(fee_type) : (Datum) 0;
	nulls[7] = fee_type ? ' ' : 'n';
	values[8] = Int64GetDatum(p->fee);
	values[9] = Int64GetDatum(p->commission);
	values[10] = Int64GetDatum(p->agent_id);
	nulls[10] = p->agent_id ? ' ' : 'n';
	values[11] = BoolGetDatum(p->counted);
	wallet_plan(&hold_insert_plan,
				"INSERT INTO pg_wallet.holds (account_id, counterpart_account_id, amount,"
				" idempotency_key, request_hash, description, expires_at, fee_type, fee_minor,"
				" commission_minor, agent_account_id, limit_counted)"
				" SELECT $1, c.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12"
				" FROM pg_wallet.accounts c WHERE c.account_number = $2 RETURNING id",
				12, argtypes);
	if (SPI_execute_plan(hold_insert_plan, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "hold insert failed");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (key != NULL)
		idem_record(p->owner_id, key, IDEM_HOLD, request_hash, id);
	return id;
}

/*
 * place_hold(account_number text, amount numeric, counterpart text,
 *			  idempotency_key text, expires_at timestamptz, description text,
 *			  fee_type text, agent_account text) returns hold_info
 *
 * Reserves the amount (and the fee of fee_type) on the account, for a later
 * posting to the counterpart. expires_at NULL: no deadline.
 */
Datum
wallet_place_hold(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	TupleDesc	tupdesc;
	char	   *account = text_arg_cstring(fcinfo, 0, "account_number",
										   WALLET_MAX_ACCOUNT_NUMBER, true);
	char	   *counterpart = text_arg_cstring(fcinfo, 2, "counterpart",
											   WALLET_MAX_ACCOUNT_NUMBER, true);
	char	   *key = text_arg_cstring(fcinfo, 3, "idempotency_key", WALLET_MAX_KEY_LEN, false);
	char	   *description = text_arg_cstring(fcinfo, 5, "description",
											   WALLET_MAX_TEXT_LEN, false);
	char	   *fee_type = text_arg_cstring(fcinfo, 6, "fee_type", 40, false);
	char	   *agent = text_arg_cstring(fcinfo, 7, "agent_account",
										 WALLET_MAX_ACCOUNT_NUMBER, false);
	const char *amount_text;
	char	   *expires = NULL;
	LedgerRequest req;
	HoldPlan	plan;
	int64		hold_id;
	uint8		request_hash[WALLET_HASH_LEN];
	Datum		result;

	tupdesc = wallet_result_tupdesc(fcinfo);
	amount_text = amount_arg_text(fcinfo, 1);
	if (strcmp(account, counterpart) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a hold's counterpart must be another account than %s", account)));
	if (fee_type)
		wallet_check_code(fee_type, "fee type");
	if (!PG_ARGISNULL(4))
	{
		TimestampTz ts = PG_GETARG_TIMESTAMPTZ(4);

		if (ts <= GetCurrentTransactionStartTimestamp())
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expires_at must be in the future")));
		expires = DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(ts)));
	}

	SPI_connect();
	memset(&plan, 0, sizeof(plan));
	hold_resolve(account, agent, amount_text, &plan);
	if (plan.amount_minor <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount must be positive")));
	hold_request(&req, account, counterpart, plan.amount_minor, fee_type, agent);
	hold_key_hash(&req, expires, description, request_hash);
	/* lock the account before the key look-up: a racing retry then finds the hold */
	ledger_fold(account, 1);
	hold_id = key ? idem_find(plan.owner_id, key, IDEM_HOLD, request_hash) : 0;
	if (hold_id == 0)
	{
		hold_reserve(&req, &plan);
		hold_id = hold_insert(&plan, counterpart, key, request_hash, description, fcinfo,
							  fee_type);
		result = hold_info_datum(hold_id, false, tupdesc, caller);
	}
	else
		result = hold_info_datum(hold_id, true, tupdesc, caller);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* Release a hold's reservation and give its counted amount back. */
void
hold_unreserve(HoldRow *h)
{
	ledger_release_pending(h->account_number, h->amount + h->fee);
	if (h->limit_counted)
		ledger_rules_hold_release(h->owner_id, h->currency, h->amount, h->created_at);
}

/*
 * post_hold(hold_id bigint, amount numeric, idempotency_key text,
 *			 description text) returns journal_result
 *
 * Posts the hold: debits the account and credits the counterpart by the
 * amount (default: the whole hold; less is a partial capture, the rest is
 * released), in one journal of type HOLD_CAPTURE that also releases the
 * hold's reservation.
 */
Datum
wallet_post_hold(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi;
	TupleDesc	tupdesc;
	HoldRow		h;
	LedgerRequest req;
	LedgerResult res;
	int64		amount_minor;
	char	   *key = text_arg_cstring(fcinfo, 2, "idempotency_key", WALLET_MAX_KEY_LEN, false);
	Datum		result;

	tupdesc = wallet_result_tupdesc(fcinfo);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("hold_id must not be null")));
	SPI_connect();
	lock_hold(PG_GETARG_INT64(0), &h);
	if (PG_ARGISNULL(1))
		amount_minor = h.amount;
	else
		amount_minor = amount_from_numeric(PG_GETARG_DATUM(1), h.exponent, h.currency);
	if (amount_minor <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount must be positive")));
	if (amount_minor > h.amount)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_HOLD_EXCEEDED),
				 errmsg("amount %s %s exceeds hold %lld of %s %s",
						amount_to_cstring(amount_minor, h.exponent), h.currency,
						(long long) h.id, amount_to_cstring(h.amount, h.exponent), h.currency)));
	/* a retry of the posting that closed this hold gets its result */
	if (strcmp(h.status, "POSTED") == 0 && key != NULL &&
		hold_journal_key_is(h.journal_id, key))
		;
	else if (strcmp(h.status, "ACTIVE") != 0 || h.expired)
		hold_not_active(&h);

	if (h.has_review)
		hold_review_request(&h, amount_minor, &req);
	else
	{
		memset(&req, 0, sizeof(req));
		req.journal_type = "HOLD_CAPTURE";
		req.release_account_number = h.account_number;
		req.release_amount_minor = h.amount + h.fee;
		req.legs = palloc0(sizeof(LedgerLeg) * 5);
		ledger_add_leg(&req, h.account_number, SIDE_DEBIT, amount_minor, NULL);
		ledger_add_leg(&req, h.counterpart_number, SIDE_CREDIT, amount_minor, NULL);
		/* the fee quoted when the hold was placed, paid by the holder */
		ledger_rules_hold_fee_legs(&req, h.currency, h.account_number, h.fee, h.commission,
								   h.agent_number);
		req.known_fee_minor = h.fee;
		req.known_commission_minor = h.commission;
	}
	req.idempotency_key = key;
	if (!PG_ARGISNULL(3) || !h.has_review)
		req.description = text_arg_cstring(fcinfo, 3, "description", WALLET_MAX_TEXT_LEN,
										   false);
	ledger_post(&req, &res);
	if (!res.replayed)
		close_hold(h.id, "POSTED", amount_minor, res.journal_id, NULL);
	spi = MemoryContextSwitchTo(caller);
	result = ledger_result_datum(&res, tupdesc);
	MemoryContextSwitchTo(spi);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * void_hold(hold_id bigint, reason text) returns hold_info
 *
 * Releases an ACTIVE hold's reservation. Voiding a VOIDED hold again
 * returns it unchanged (replayed = true).
 */
Datum
wallet_void_hold(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	TupleDesc	tupdesc;
	HoldRow		h;
	char	   *reason = text_arg_cstring(fcinfo, 1, "reason", WALLET_MAX_TEXT_LEN, false);
	bool		replayed = false;
	Datum		result;

	tupdesc = wallet_result_tupdesc(fcinfo);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("hold_id must not be null")));
	SPI_connect();
	lock_hold(PG_GETARG_INT64(0), &h);
	if (strcmp(h.status, "VOIDED") == 0)
		replayed = true;
	else if (strcmp(h.status, "ACTIVE") != 0)
		hold_not_active(&h);
	else
	{
		hold_unreserve(&h);
		close_hold(h.id, "VOIDED", 0, 0, reason);
	}
	result = hold_info_datum(h.id, replayed, tupdesc, caller);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * expire_holds(max_holds integer) returns integer
 *
 * Releases up to max_holds ACTIVE holds whose expires_at has passed and
 * marks them EXPIRED; returns how many. Holds locked by another
 * transaction are skipped (the next sweep takes them). Holds are taken in
 * account-id order, the order postings lock accounts in.
 */
Datum
wallet_expire_holds(PG_FUNCTION_ARGS)
{
	int32		max_holds = PG_ARGISNULL(0) ? 1000 : PG_GETARG_INT32(0);
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1];
	SPITupleTable *due;
	uint64		ndue;

	if (max_holds < 1 || max_holds > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_holds must be between 1 and 100000")));
	SPI_connect();
	wallet_plan(&hold_due_plan,
				"SELECT h.id FROM pg_wallet.holds h"
				" WHERE h.status = 'ACTIVE' AND h.expires_at <= now()"
				" ORDER BY h.account_id, h.id LIMIT $1 FOR UPDATE OF h SKIP LOCKED",
				1, argtypes);
	values[0] = Int32GetDatum(max_holds);
	if (SPI_execute_plan(hold_due_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "expired hold look-up failed");
	due = SPI_tuptable;
	ndue = SPI_processed;
	for (uint64 i = 0; i < ndue; i++)
	{
		bool		isnull;
		HoldRow		h;

		/* already locked by this transaction: read it whole */
		lock_hold(DatumGetInt64(SPI_getbinval(due->vals[i], due->tupdesc, 1, &isnull)), &h);
		hold_unreserve(&h);
		close_hold(h.id, "EXPIRED", 0, 0, "expired");
	}
	SPI_finish();
	PG_RETURN_INT32((int32) ndue);
}
