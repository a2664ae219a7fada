/*-------------------------------------------------------------------------
 *
 * holds_review.c
 *	  Requests held for review: a rule's apply() may ask (req->review) that
 *	  a posting be held instead of posted (fraud scoring's HOLD). The
 *	  posting path checks it as a posting and reserves what it would debit
 *	  the first leg's account; this file then keeps the request in a hold
 *	  row (holds.review, a jsonb of the caller's request) and claims the
 *	  request's idempotency key for the hold. post_hold posts such a hold
 *	  as the request itself (its own journal type, legs, fee and rules),
 *	  releasing the reservation in the same posting; void_hold and expiry
 *	  release it as any hold's.
 *
 * Locking: the rows are inserted by the batch that reserved them, after
 * its account locks; a review hold is posted under its row lock, then its
 * account's (holds.c's order).
 *
 * Owns: the review column of holds and its format. Never: decides what is
 * held (the rules do); posts anything but through ledger_post.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "core/holds_internal.h"
#include "core/idempotency.h"
#include "core/holds_review.h"
#include "core/ledger_rules.h"

static SPIPlanPtr review_insert_plan = NULL;
static SPIPlanPtr review_read_plan = NULL;
static SPIPlanPtr review_legs_plan = NULL;

static void
append_field(StringInfo buf, const char *key, const char *value)
{
	if (value == NULL)
		return;
	appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	escape_json(buf, value);
}

/* The caller's request (its first nlegs legs: not the rules' fee legs) as jsonb. */
static Datum
review_jsonb(const LedgerRequest *req, int nlegs)
{
	StringInfoData buf;
	char		dir[2] = {req->service_direction, '\0'};

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"type\": ");
	escape_json(&buf, req->journal_type);
	append_field(&buf, "description", req->description);
	append_field(&buf, "fee_type", req->fee_type);
	append_field(&buf, "client_service_code", req->client_service_code);
	append_field(&buf, "service_direction", req->service_direction ? dir : NULL);
	append_field(&buf, "agent", req->agent_account_number);
	append_field(&buf, "scope_account", req->scope_account_number);
	if (req->metadata != NULL)
		appendStringInfo(&buf, ", \"metadata\": %s",
						 JsonbToCString(NULL, &req->metadata->root, VARSIZE(req->metadata)));
	appendStringInfoString(&buf, ", \"legs\": [");
	for (int i = 0; i < nlegs; i++)
	{
		const LedgerLeg *leg = &req->legs[i];

		appendStringInfo(&buf, "%s{\"account\": ", i > 0 ? ", " : "");
		escape_json(&buf, leg->account_number);
		appendStringInfo(&buf, ", \"side\": \"%s\", \"amount_minor\": " INT64_FORMAT,
						 leg->side == SIDE_DEBIT ? "DR" : "CR", leg->amount_minor);
		append_field(&buf, "description", leg->description);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/* What a held request reserved: its debits of the first leg's account. */
static int64
review_reserved(const LedgerRequest *req)
{
	int64		reserved = 0;

	for (int i = 0; i < req->nlegs; i++)
		if (req->legs[i].side == SIDE_DEBIT &&
			strcmp(req->legs[i].account_number, req->legs[0].account_number) == 0)
			reserved += req->legs[i].amount_minor;
	return reserved;
}

/* Insert the hold row of one held request; returns its id. */
static int64
review_insert(const LedgerRequest *req, const LedgerResult *res)
{
	Oid			argtypes[10] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, BYTEAOID, TEXTOID,
	TIMESTAMPTZOID, INT8OID, BOOLOID, JSONBOID};
	Datum		values[10];
	char		nulls[10];
	int64		amount = req->legs[0].amount_minor;
	bool		isnull;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(req->legs[0].account_number);
	values[1] = CStringGetTextDatum(req->legs[1].account_number);
	values[2] = Int64GetDatum(amount);
	nulls[3] = nulls[4] = req->idempotency_key == NULL ? 'n' : ' ';
	if (req->idempotency_key != NULL)
	{
		bytea	   *rh = palloc(VARHDRSZ + WALLET_HASH_LEN);

		SET_VARSIZE(rh, VARHDRSZ + WALLET_HASH_LEN);
		memcpy(VARDATA(rh), req->request_hash, WALLET_HASH_LEN);
		values[3] = CStringGetTextDatum(req->idempotency_key);
		values[4] = PointerGetDatum(rh);
	}
	nulls[5] = req->description == NULL ? 'n' : ' ';
	if (req->description != NULL)
		values[5] = CStringGetTextDatum(req->description);
	values[6] = TimestampTzGetDatum(req->review_expires_at);
	nulls[6] = req->review_expires_at == 0 ? 'n' : ' ';
	values[7] = Int64GetDatum(review_reserved(req) - amount);
	values[8] = BoolGetDatum(res->limit_counted);
	values[9] = review_jsonb(req, res->review_nlegs);
	wallet_plan(&review_insert_plan,
				"INSERT INTO pg_wallet.holds (account_id, counterpart_account_id, amount,"
				" idempotency_key, request_hash, description, expires_at, fee_minor,"
				" limit_counted, review)"
				" SELECT a.id, c.id, $3, $4, $5, $6, $7, $8, $9, $10"
				" FROM pg_wallet.accounts a, pg_wallet.accounts c"
				" WHERE a.account_number = $1 AND c.account_number = $2 RETURNING id",
				10, argtypes);
	if (SPI_execute_plan(review_insert_plan, values, nulls, false, 0) !=
		SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "review hold insert failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
									   &isnull));
}

/*
 * After a batch's writes: a hold row for each request held for review (not
 * a replay), and its key claimed for the hold.
 */
void
holds_record_reviews(LedgerRequest *reqs, int nreqs, LedgerResult *results)
{
	for (int i = 0; i < nreqs; i++)
	{
		LedgerResult *res = &results[i];

		if (!res->held || res->replayed || res->hold_id != 0)
			continue;
		res->hold_id = review_insert(&reqs[i], res);
		res->message = psprintf("held for review (hold %lld)", (long long) res->hold_id);
		if (reqs[i].idempotency_key != NULL)
			idem_record(reqs[i].idempotency_scope, reqs[i].idempotency_key, IDEM_HOLD,
						reqs[i].request_hash, res->hold_id);
	}
}

static char *
text_or_null(HeapTuple tup, TupleDesc desc, int col)
{
	return SPI_getvalue(tup, desc, col);	/* NULL for SQL NULL */
}

/*
 * The request a review hold keeps, to be posted whole: the caller's legs
 * and money rules, releasing the hold's reservation in the same posting
 * (so it is not scored again: it captures a hold). The amount the placement
 * counted against the owner's limits is given back first: the posting
 * counts it again.
 */
void
hold_review_request(HoldRow *h, int64 amount_minor, LedgerRequest *req)
{
	Oid			argtypes[1] = {JSONBOID};
	Datum		values[1] = {h->review};
	HeapTuple	tup;
	TupleDesc	desc;
	char	   *dir;
	bool		isnull;
	Datum		meta;

	if (amount_minor != h->amount)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hold %lld keeps a request for review: it is posted whole",
						(long long) h->id)));
	memset(req, 0, sizeof(*req));
	wallet_plan(&review_read_plan,
				"SELECT $1 ->> 'type', $1 ->> 'description', $1 -> 'metadata',"
				" $1 ->> 'fee_type', $1 ->> 'client_service_code', $1 ->> 'service_direction',"
				" $1 ->> 'agent', $1 ->> 'scope_account'", 1, argtypes);
	if (SPI_execute_plan(review_read_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "review hold read failed");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	req->journal_type = text_or_null(tup, desc, 1);
	req->description = text_or_null(tup, desc, 2);
	meta = SPI_getbinval(tup, desc, 3, &isnull);
	req->metadata = isnull ? NULL : DatumGetJsonbPCopy(meta);
	req->fee_type = text_or_null(tup, desc, 4);
	req->client_service_code = text_or_null(tup, desc, 5);
	dir = text_or_null(tup, desc, 6);
	req->service_direction = dir != NULL ? dir[0] : '\0';
	req->agent_account_number = text_or_null(tup, desc, 7);
	req->scope_account_number = text_or_null(tup, desc, 8);

	wallet_plan(&review_legs_plan,
				"SELECT l ->> 'account', l ->> 'side' = 'DR', (l ->> 'amount_minor')::bigint,"
				" l ->> 'description'"
				" FROM jsonb_array_elements($1 -> 'legs') WITH ORDINALITY AS x(l, n)"
				" ORDER BY n", 1, argtypes);
	if (SPI_execute_plan(review_legs_plan, values, NULL, true, 0) != SPI_OK_SELECT ||
		SPI_processed < 2 || SPI_processed > WALLET_MAX_LEGS)
		elog(ERROR, "review hold %lld has no valid legs", (long long) h->id);
	req->legs = palloc0(sizeof(LedgerLeg) * (SPI_processed + 4));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		tup = SPI_tuptable->vals[i];
		desc = SPI_tuptable->tupdesc;
		ledger_add_leg(req, SPI_getvalue(tup, desc, 1),
					   DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull)) ? SIDE_DEBIT :
					   SIDE_CREDIT, get_int64(tup, desc, 3), SPI_getvalue(tup, desc, 4));
	}
	req->release_account_number = h->account_number;
	req->release_amount_minor = h->amount + h->fee;
	if (h->limit_counted)
		ledger_rules_hold_release(h->owner_id, h->currency, h->amount, h->created_at);
}
