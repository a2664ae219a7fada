/*-------------------------------------------------------------------------
 *
 * ledger_sql.c
 *	  SQL-callable entry points of the posting core: post_journal, credit,
 *	  debit, transfer and the batch call post_transfers.
 *
 * Owns: turning SQL arguments (text, numeric, jsonb) into LedgerRequests
 * and results into composites. Never: checks funds or writes tables itself;
 * that is ledger.c's alone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "core/pg_wallet.h"

PG_FUNCTION_INFO_V1(wallet_post_journal);
PG_FUNCTION_INFO_V1(wallet_post_journal_forced);
PG_FUNCTION_INFO_V1(wallet_credit);
PG_FUNCTION_INFO_V1(wallet_debit);
PG_FUNCTION_INFO_V1(wallet_transfer);
PG_FUNCTION_INFO_V1(wallet_post_transfers);
PG_FUNCTION_INFO_V1(wallet_fold_deltas);
PG_FUNCTION_INFO_V1(wallet_account_barrier);

/* ---------------------------------------------------------------------
 * jsonb helpers
 * ---------------------------------------------------------------------
 */
static JsonbValue *
json_key(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/* A string member, bounded; NULL when absent or JSON null. */
static char *
json_string(JsonbContainer *obj, const char *key, int max_len, const char *where)
{
	JsonbValue *v = json_key(obj, key);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" must be a string", where, key)));
	if (v->val.string.len > max_len)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s: \"%s\" is longer than %d bytes", where, key, max_len)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* An amount member: a JSON number or a decimal string, as exact text. */
static const char *
json_amount(JsonbContainer *obj, const char *key, const char *where)
{
	JsonbValue *v = json_key(obj, key);
	const char *problem;
	const char *text;

	if (v == NULL || v->type == jbvNull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" is required", where, key)));
	if (v->type == jbvString)
	{
		if (v->val.string.len > 40)
			ereport(ERROR,
					(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
					 errmsg("%s: amount is longer than 40 characters", where)));
		return pnstrdup(v->val.string.val, v->val.string.len);
	}
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("%s: amount must be a number or a decimal string", where)));
	text = amount_numeric_cstr(NumericGetDatum(v->val.numeric), &problem);
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("%s: amount %s", where, problem)));
	return text;
}

/* The elements of a jsonb array, each an object; bounded in number. */
static JsonbContainer **
json_objects(Jsonb *array, int max, int *n, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbContainer **out;

	if (!JB_ROOT_IS_ARRAY(array) || JB_ROOT_IS_SCALAR(array))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON array", what)));
	*n = JB_ROOT_COUNT(array);
	if (*n > max)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d elements; the limit is %d", what, *n, max)));
	out = palloc(sizeof(JsonbContainer *) * Max(*n, 1));
	*n = 0;
	it = JsonbIteratorInit(&array->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: element %d must be a JSON object", what, *n + 1)));
		out[(*n)++] = v.val.binary.data;
	}
	return out;
}

static LedgerSide
parse_side(const char *side, const char *where)
{
	if (side != NULL && (strcmp(side, "DR") == 0 || strcmp(side, "DEBIT") == 0))
		return SIDE_DEBIT;
	if (side != NULL && (strcmp(side, "CR") == 0 || strcmp(side, "CREDIT") == 0))
		return SIDE_CREDIT;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: \"side\" must be DR or CR", where)));
	return SIDE_DEBIT;
}

/* ---------------------------------------------------------------------
 * Requests
 * ---------------------------------------------------------------------
 */

/*
 * Fill the common fields of a request from (key, description, metadata,
 * client_service_code, agent_account, record_refusal) and the money rules
 * that apply.
 */
static void
request_common(LedgerRequest *req, FunctionCallInfo fcinfo, int first_arg,
			   const char *fee_type, char direction)
{
	req->idempotency_key = text_arg_cstring(fcinfo, first_arg, "idempotency_key",
											WALLET_MAX_KEY_LEN, false);
	req->description = text_arg_cstring(fcinfo, first_arg + 1, "description",
										 WALLET_MAX_TEXT_LEN, false);
	req->metadata = PG_ARGISNULL(first_arg + 2) ? NULL : PG_GETARG_JSONB_P(first_arg + 2);
	req->client_service_code = text_arg_cstring(fcinfo, first_arg + 3, "client_service_code",
												40, false);
	req->agent_account_number = text_arg_cstring(fcinfo, first_arg + 4, "agent_account",
												 WALLET_MAX_ACCOUNT_NUMBER, false);
	req->fee_type = fee_type;
	req->service_direction = direction;
	req->record_refusal = !PG_ARGISNULL(first_arg + 5) && PG_GETARG_BOOL(first_arg + 5);
	if (req->record_refusal && req->idempotency_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("record_refusal needs an idempotency key")));
}

/* A two-leg request: debit `from`, credit `to`. */
static void
request_two_legs(LedgerRequest *req, const char *type, char *from, char *to,
				 const char *amount_text)
{
	memset(req, 0, sizeof(*req));
	req->journal_type = type;
	req->nlegs = 2;
	req->legs = palloc0(sizeof(LedgerLeg) * 2);
	req->legs[0].account_number = from;
	req->legs[0].side = SIDE_DEBIT;
	req->legs[0].amount_text = amount_text;
	req->legs[1].account_number = to;
	req->legs[1].side = SIDE_CREDIT;
	req->legs[1].amount_text = amount_text;
	if (strcmp(from, to) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source and destination are the same account %s", from)));
}

/* Post one request and return its journal_result composite. */
static Datum
post_and_return(FunctionCallInfo fcinfo, LedgerRequest *req)
{
	TupleDesc	tupdesc;
	LedgerResult result;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi;
	Datum		d;

	tupdesc = wallet_result_tupdesc(fcinfo);
	SPI_connect();
	ledger_post(req, &result);
	spi = MemoryContextSwitchTo(caller);
	d = ledger_result_datum(&result, tupdesc);
	MemoryContextSwitchTo(spi);
	SPI_finish();
	return d;
}

/*
 * post_journal(journal_type text, legs jsonb, idempotency_key text,
 *				description text, metadata jsonb, record_refusal boolean)
 *	returns journal_result
 *
 * legs: [{"account": "ACC-1", "side": "DR", "amount": "10.50",
 *		   "description": "..."}, ...]
 */
static Datum
post_journal(FunctionCallInfo fcinfo, bool force)
{
	LedgerRequest req;
	JsonbContainer **objs;
	int			n;

	memset(&req, 0, sizeof(req));
	req.force = force;
	req.journal_type = text_arg_cstring(fcinfo, 0, "journal_type", 40, true);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("legs must not be null")));
	objs = json_objects(PG_GETARG_JSONB_P(1), WALLET_MAX_LEGS, &n, "legs");
	req.idempotency_key = text_arg_cstring(fcinfo, 2, "idempotency_key", WALLET_MAX_KEY_LEN,
										   false);
	req.description = text_arg_cstring(fcinfo, 3, "description", WALLET_MAX_TEXT_LEN, false);
	req.metadata = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	req.record_refusal = PG_NARGS() > 5 && !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
	req.nlegs = n;
	req.legs = palloc0(sizeof(LedgerLeg) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		char	   *where = psprintf("leg %d", i + 1);

		req.legs[i].account_number = json_string(objs[i], "account",
												 WALLET_MAX_ACCOUNT_NUMBER, where);
		req.legs[i].side = parse_side(json_string(objs[i], "side", 6, where), where);
		req.legs[i].amount_text = json_amount(objs[i], "amount", where);
		req.legs[i].description = json_string(objs[i], "description",
											  WALLET_MAX_TEXT_LEN, where);
	}
	if (req.record_refusal && req.idempotency_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("record_refusal needs an idempotency key")));
	return post_and_return(fcinfo, &req);
}

Datum
wallet_post_journal(PG_FUNCTION_ARGS)
{
	return post_journal(fcinfo, false);
}

/*
 * _post_journal_forced(journal_type, legs, idempotency_key, description,
 *						metadata) returns journal_result
 *
 * post_journal without the funds check: an account may go below its floor
 * (a chargeback against a merchant, payments/disputes.sql). Granted to no
 * role: only the extension's own SECURITY DEFINER functions call it, after
 * their checks.
 */
Datum
wallet_post_journal_forced(PG_FUNCTION_ARGS)
{
	return post_journal(fcinfo, true);
}

/*
 * A posting between an account and its counterpart: the account is credited
 * (credit: a deposit) or debited (debit: a withdrawal), the counterpart the
 * other way.
 */
static Datum
post_with_counterpart(FunctionCallInfo fcinfo, bool credit)
{
	LedgerRequest req;
	char	   *account = text_arg_cstring(fcinfo, 0, "account_number",
										   WALLET_MAX_ACCOUNT_NUMBER, true);
	const char *amount = amount_arg_text(fcinfo, 1);
	char	   *counterpart = text_arg_cstring(fcinfo, 2, "counterpart",
											   WALLET_MAX_ACCOUNT_NUMBER, true);

	if (credit)
		request_two_legs(&req, "CREDIT", counterpart, account, amount);
	else
		request_two_legs(&req, "DEBIT", account, counterpart, amount);
	req.scope_account_number = account; /* the key is in the account owner's scope */
	request_common(&req, fcinfo, 3, credit ? "DEPOSIT" : "WITHDRAWAL", credit ? 'C' : 'D');
	return post_and_return(fcinfo, &req);
}

/*
 * credit(account_number text, amount numeric, counterpart text,
 *		  idempotency_key text, description text, metadata jsonb,
 *		  client_service_code text, agent_account text)
 *	Credit the account, debiting the counterpart (e.g. a partner's
 *	settlement account).
 */
Datum
wallet_credit(PG_FUNCTION_ARGS)
{
	return post_with_counterpart(fcinfo, true);
}

/*
 * debit(account_number text, amount numeric, counterpart text, ...)
 *	Debit the account, crediting the counterpart.
 */
Datum
wallet_debit(PG_FUNCTION_ARGS)
{
	return post_with_counterpart(fcinfo, false);
}

/*
 * transfer(from_account text, to_account text, amount numeric, ...)
 */
Datum
wallet_transfer(PG_FUNCTION_ARGS)
{
	LedgerRequest req;
	char	   *from = text_arg_cstring(fcinfo, 0, "from_account",
										WALLET_MAX_ACCOUNT_NUMBER, true);
	char	   *to = text_arg_cstring(fcinfo, 1, "to_account",
									  WALLET_MAX_ACCOUNT_NUMBER, true);
	const char *amount = amount_arg_text(fcinfo, 2);

	request_two_legs(&req, "TRANSFER", from, to, amount);
	request_common(&req, fcinfo, 3, "TRANSFER", 'D');
	return post_and_return(fcinfo, &req);
}

/*
 * One element of post_transfers' array as the request of batch item `item`;
 * its refusal is recorded only when not atomic and it has a key.
 */
static void
batch_item_request(LedgerRequest *req, JsonbContainer *obj, int item, bool atomic)
{
	char	   *where = psprintf("transfer %d", item);
	char	   *from = json_string(obj, "from", WALLET_MAX_ACCOUNT_NUMBER, where);
	char	   *to = json_string(obj, "to", WALLET_MAX_ACCOUNT_NUMBER, where);
	JsonbValue *meta = json_key(obj, "metadata");

	if (from == NULL || to == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"from\" and \"to\" are required", where)));
	request_two_legs(req, "TRANSFER", from, to, json_amount(obj, "amount", where));
	req->item = item;
	req->idempotency_key = json_string(obj, "idempotency_key", WALLET_MAX_KEY_LEN, where);
	/* a refusal is kept only under a key: a retry finds it there */
	req->record_refusal = !atomic && req->idempotency_key != NULL;
	req->description = json_string(obj, "description", WALLET_MAX_TEXT_LEN, where);
	req->client_service_code = json_string(obj, "client_service_code", 40, where);
	req->agent_account_number = json_string(obj, "agent_account",
											WALLET_MAX_ACCOUNT_NUMBER, where);
	req->fee_type = "TRANSFER";
	req->service_direction = 'D';
	if (meta != NULL && meta->type != jbvNull)
		req->metadata = JsonbValueToJsonb(meta);
}

/* The batch_item_result row of batch item `item`, into the result set. */
static void
batch_item_result(ReturnSetInfo *rsinfo, LedgerResult *res, int item)
{
	Datum		values[8];
	bool		nulls[8] = {false};

	values[0] = Int32GetDatum(item);
	values[1] = CStringGetTextDatum(res->held ? "HELD" : res->posted ? "POSTED" :
									"REFUSED");
	values[2] = Int64GetDatum(res->journal_id);
	nulls[2] = res->journal_id == 0;
	nulls[3] = !res->posted;
	if (res->posted)
		values[3] = CStringGetTextDatum(receipt_encode(res->journal_id, res->created_at));
	values[4] = BoolGetDatum(res->replayed);
	nulls[5] = res->posted || res->held;
	nulls[6] = res->posted || res->message == NULL;
	if (!nulls[5])
		values[5] = CStringGetTextDatum(res->sqlstate);
	if (!nulls[6])
		values[6] = CStringGetTextDatum(res->message);
	/* (a 0.1.0 schema's batch_item_result has no hold_id: the store stops at natts) */
	values[7] = Int64GetDatum(res->hold_id);
	nulls[7] = res->hold_id == 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * post_transfers(transfers jsonb, atomic boolean) returns setof batch_item_result
 *
 * transfers: [{"from": "...", "to": "...", "amount": 10.5,
 *				"idempotency_key": "...", "description": "...",
 *				"metadata": {...}}, ...]
 * atomic (default): all or nothing, the first refusal raises naming its
 * item. Otherwise every item is posted or refused on its own; refusals of
 * items with an idempotency key are recorded, so a retry gets the same answer.
 */
Datum
wallet_post_transfers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	JsonbContainer **objs;
	LedgerRequest *reqs;
	LedgerResult *results;
	bool		atomic = PG_ARGISNULL(1) || PG_GETARG_BOOL(1);
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("transfers must not be null")));
	InitMaterializedSRF(fcinfo, 0);
	objs = json_objects(PG_GETARG_JSONB_P(0), WALLET_MAX_BATCH, &n, "transfers");
	if (n == 0)
		return (Datum) 0;
	reqs = palloc0(sizeof(LedgerRequest) * n);
	results = palloc0(sizeof(LedgerResult) * n);
	for (int i = 0; i < n; i++)
		batch_item_request(&reqs[i], objs[i], i + 1, atomic);
	SPI_connect();
	ledger_post_batch(reqs, n, atomic, results);
	for (int i = 0; i < n; i++)
		batch_item_result(rsinfo, &results[i], i + 1);
	SPI_finish();
	return (Datum) 0;
}

/*
 * fold_deltas(account_number text, max_accounts integer) returns bigint
 *
 * Folds the pending credits of one DEFERRED account (or, with NULL, of up
 * to max_accounts DEFERRED accounts that have any) into their balances.
 */
Datum
wallet_fold_deltas(PG_FUNCTION_ARGS)
{
	char	   *account = text_arg_cstring(fcinfo, 0, "account_number",
										   WALLET_MAX_ACCOUNT_NUMBER, false);
	int32		max_accounts = PG_ARGISNULL(1) ? 1000 : PG_GETARG_INT32(1);
	int64		folded;

	if (max_accounts < 1 || max_accounts > WALLET_MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_accounts must be between 1 and %d", WALLET_MAX_BATCH)));
	SPI_connect();
	folded = ledger_fold(account, max_accounts);
	SPI_finish();
	PG_RETURN_INT64(folded);
}

/*
 * _account_barrier(account_number text): take an account's status barrier
 * exclusively until the end of the transaction (see ledger_store.c). Every
 * status change does, first.
 */
Datum
wallet_account_barrier(PG_FUNCTION_ARGS)
{
	char	   *account = text_arg_cstring(fcinfo, 0, "account_number",
										   WALLET_MAX_ACCOUNT_NUMBER, true);

	ledger_account_barrier(account, true);
	PG_RETURN_VOID();
}
