/*-------------------------------------------------------------------------
 *
 * payment_answer.c
 *	  What every payment path shows of a payment: its fraud score record, its
 *	  summary (the Tribble payment object of POST /transactions), the answer
 *	  of POST /transactions (the summary, replayed, error), and its
 *	  transaction:completed event. payment_create() calls them with the
 *	  values at hand; SQL (card payments, reviews, GET /transactions/:id)
 *	  through _payment_score, _payment_summary, _payment_answer and
 *	  _payment_events, with a payments row.
 *
 * Owns: the summary's and the event's shapes (tribble-rest-api.md,
 * "Create Transaction" and "transaction:completed"), which score record is
 * a payment's. Never: shows fraud factors or a failure's message to the
 * merchant (the summary has neither; error is the customer's answer only).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "core/pg_wallet.h"
#include "partners/events.h"
#include "payments/payments.h"
#include "rules/rules.h"

PG_FUNCTION_INFO_V1(wallet_payment_score);
PG_FUNCTION_INFO_V1(wallet_payment_summary);
PG_FUNCTION_INFO_V1(wallet_payment_answer);
PG_FUNCTION_INFO_V1(wallet_payment_events);

/* A payment's fraud score record, as the summary shows it. */
typedef struct PaymentScore
{
	bool		found;
	Datum		row;			/* pg_wallet.fraud_scores */
	int64		score;
	const char *risk_level;
	const char *decision;
} PaymentScore;

static SPIPlanPtr score_plan = NULL;

/* ---------------------------------------------------------------------
 * A payments row
 * ---------------------------------------------------------------------
 */

static Datum
row_field(TupleDesc desc, Datum *values, bool *nulls, const char *name, bool *isnull)
{
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
		{
			*isnull = nulls[i];
			return values[i];
		}
	elog(ERROR, "a payments row has no column %s", name);
	return (Datum) 0;
}

static const char *
row_text(TupleDesc desc, Datum *values, bool *nulls, const char *name)
{
	bool		isnull;
	Datum		d = row_field(desc, values, nulls, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static int64
row_int64(TupleDesc desc, Datum *values, bool *nulls, const char *name)
{
	bool		isnull;
	Datum		d = row_field(desc, values, nulls, name, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* A payments row (a composite Datum's header) as a PaymentView. */
void
payment_view_from_row(HeapTupleHeader row, PaymentView *p)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
											  HeapTupleHeaderGetTypMod(row));
	HeapTupleData tuple;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	bool		isnull;

	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	heap_deform_tuple(&tuple, desc, values, nulls);
	memset(p, 0, sizeof(*p));
	p->transaction_ref = row_text(desc, values, nulls, "transaction_ref");
	p->customer_owner_id = row_int64(desc, values, nulls, "customer_owner_id");
	p->customer_principal_id = row_field(desc, values, nulls, "customer_principal_id", &isnull);
	p->merchant_owner_id = row_int64(desc, values, nulls, "merchant_owner_id");
	p->merchant_principal_id = row_field(desc, values, nulls, "merchant_principal_id", &isnull);
	p->amount_minor = row_int64(desc, values, nulls, "amount_minor");
	p->currency = row_text(desc, values, nulls, "currency");
	p->status = row_text(desc, values, nulls, "status");
	p->journal_id = row_int64(desc, values, nulls, "journal_id");
	p->hold_id = row_int64(desc, values, nulls, "hold_id");
	p->fraud_score_id = row_int64(desc, values, nulls, "fraud_score_id");
	p->error_code = row_text(desc, values, nulls, "error_code");
	p->error_message = row_text(desc, values, nulls, "error_message");
	p->created_at = DatumGetTimestampTz(row_field(desc, values, nulls, "created_at", &isnull));
	p->completed_at = DatumGetTimestampTz(row_field(desc, values, nulls, "completed_at",
													&isnull));
	if (isnull)
		p->completed_at = 0;
	ReleaseTupleDesc(desc);
	if (p->transaction_ref == NULL || p->currency == NULL || p->status == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a payment needs its transactionId, currency and status")));
	p->exponent = currency_exponent(p->currency);
}

/* ---------------------------------------------------------------------
 * The score
 * ---------------------------------------------------------------------
 */

/*
 * The fraud score record of a payment: its review hold's (or its card
 * authorisation's), else its posting's or refusal's, else the one recorded
 * after a caught refusal (a card payment refused by fraud).
 */
static void
payment_score(const PaymentView *p, PaymentScore *s)
{
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3] = {Int64GetDatum(p->hold_id), Int64GetDatum(p->journal_id),
	Int64GetDatum(p->fraud_score_id)};
	char		nulls[3];
	HeapTuple	t;
	bool		isnull;

	memset(s, 0, sizeof(*s));
	if (p->hold_id == 0 && p->journal_id == 0 && p->fraud_score_id == 0)
		return;
	nulls[0] = p->hold_id ? ' ' : 'n';
	nulls[1] = p->journal_id ? ' ' : 'n';
	nulls[2] = p->fraud_score_id ? ' ' : 'n';
	/*
	 * OFFSET 0: the few rows of the key through its index, then the first;
	 * without it the planner walks the primary key in id order for the
	 * LIMIT 1, past every later score
	 */
	wallet_plan(&score_plan,
				"SELECT x, x.score, x.risk_level, x.decision FROM pg_wallet.fraud_scores x"
				" WHERE x.id = coalesce("
				" (SELECT f.id FROM (SELECT y.id FROM pg_wallet.fraud_scores y"
				"  WHERE y.hold_id = $1 OFFSET 0) f ORDER BY f.id LIMIT 1),"
				" (SELECT f.id FROM (SELECT y.id FROM pg_wallet.fraud_scores y"
				"  WHERE y.journal_id = $2 OFFSET 0) f ORDER BY f.id LIMIT 1),"
				" $3)", 3, argtypes);
	if (SPI_execute_plan(score_plan, values, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "payment score look-up failed");
	if (SPI_processed == 0)
		return;
	t = SPI_tuptable->vals[0];
	s->found = true;
	s->row = SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull);
	s->score = DatumGetInt16(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull));
	s->risk_level = SPI_getvalue(t, SPI_tuptable->tupdesc, 3);
	s->decision = SPI_getvalue(t, SPI_tuptable->tupdesc, 4);
}

/* ---------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------
 */

static void
put_uuid(JsonbParseState **st, const char *key, Datum uuid)
{
	jsonb_put_text(st, key, DatumGetCString(DirectFunctionCall1(uuid_out, uuid)));
}

static void
put_time(JsonbParseState **st, const char *key, TimestampTz ts)
{
	jsonb_put_text(st, key, ts == 0 ? NULL : timestamp_iso(ts));
}

/*
 * The summary's members, inside an object being built: transactionId,
 * amount, currency, customerId, merchantId, status, fraudScore {score,
 * riskLevel, decision} (null when the payment was not scored), createdAt,
 * completedAt.
 */
static void
push_summary(JsonbParseState **st, const PaymentView *p)
{
	PaymentScore s;

	/* a payment posted in this transaction: the score it just recorded */
	memset(&s, 0, sizeof(s));
	if (p->hold_id == 0 && p->fraud_score_id == 0)
	{
		int			score;

		s.found = rules_recorded_score(p->journal_id, &score, &s.risk_level, &s.decision);
		s.score = score;
	}
	if (!s.found)
		payment_score(p, &s);
	jsonb_put_text(st, "transactionId", p->transaction_ref);
	jsonb_put_numeric(st, "amount", DatumGetNumeric(amount_to_numeric(p->amount_minor,
																	   p->exponent)));
	jsonb_put_text(st, "currency", p->currency);
	put_uuid(st, "customerId", p->customer_principal_id);
	put_uuid(st, "merchantId", p->merchant_principal_id);
	jsonb_put_text(st, "status", p->status);
	if (s.found)
	{
		jsonb_put_key(st, "fraudScore");
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		jsonb_put_numeric(st, "score", int64_to_numeric(s.score));
		jsonb_put_text(st, "riskLevel", s.risk_level);
		jsonb_put_text(st, "decision", s.decision);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	else
		jsonb_put_text(st, "fraudScore", NULL);
	put_time(st, "createdAt", p->created_at);
	put_time(st, "completedAt", p->completed_at);
}

static Datum
object_end(JsonbParseState **st)
{
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(st, WJB_END_OBJECT, NULL)));
}

/*
 * POST /transactions' answer (wallet and card payments), first time or
 * replayed: the summary, replayed, and error {code, message} when it FAILED
 * (the customer's answer: only the customer creates a payment).
 */
Datum
payment_answer(const PaymentView *p, bool replayed)
{
	JsonbParseState *st = NULL;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_summary(&st, p);
	jsonb_put_bool(&st, "replayed", replayed);
	if (strcmp(p->status, "FAILED") == 0)
	{
		jsonb_put_key(&st, "error");
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		jsonb_put_text(&st, "code", p->error_code);
		jsonb_put_text(&st, "message", p->error_message);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	else
		jsonb_put_text(&st, "error", NULL);
	return object_end(&st);
}

/*
 * transaction:completed (the spec's "WebSocket Events") to the customer and
 * the merchant of a SUCCESS payment, each with its principal, queued
 * (partners/events_queue.c): {transactionId, amount, currency, status,
 * merchantId, customerId, timestamp}.
 */
void
payment_completed_event(const PaymentView *p)
{
	JsonbParseState *st = NULL;
	int64		owners[2] = {p->customer_owner_id, p->merchant_owner_id};
	Datum		principals[2] = {p->customer_principal_id, p->merchant_principal_id};
	bool		nulls[2] = {false, false};

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	jsonb_put_text(&st, "transactionId", p->transaction_ref);
	jsonb_put_numeric(&st, "amount", DatumGetNumeric(amount_to_numeric(p->amount_minor,
																		p->exponent)));
	jsonb_put_text(&st, "currency", p->currency);
	jsonb_put_text(&st, "status", p->status);
	put_uuid(&st, "merchantId", p->merchant_principal_id);
	put_uuid(&st, "customerId", p->customer_principal_id);
	put_time(&st, "timestamp", p->completed_at ? p->completed_at
			 : GetCurrentTransactionStartTimestamp());
	events_enqueue(2, owners, principals, nulls, "transaction:completed",
				   DatumGetJsonbP(object_end(&st)));
}

/* ---------------------------------------------------------------------
 * SQL entry points (each takes a pg_wallet.payments row)
 * ---------------------------------------------------------------------
 */

static void
view_arg(FunctionCallInfo fcinfo, PaymentView *p)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a payment must not be null")));
	payment_view_from_row(PG_GETARG_HEAPTUPLEHEADER(0), p);
}

/* _payment_score(p pg_wallet.payments) returns pg_wallet.fraud_scores (NULL: not scored) */
Datum
wallet_payment_score(PG_FUNCTION_ARGS)
{
	PaymentView p;
	PaymentScore s;
	Datum		row = (Datum) 0;

	SPI_connect();			/* (the view reads the currency's exponent) */
	view_arg(fcinfo, &p);
	payment_score(&p, &s);
	if (s.found)
		row = SPI_datumTransfer(s.row, false, -1);
	SPI_finish();
	if (!s.found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(row);
}

/* _payment_summary(p pg_wallet.payments) returns jsonb */
Datum
wallet_payment_summary(PG_FUNCTION_ARGS)
{
	PaymentView p;
	JsonbParseState *st = NULL;
	Datum		j;

	SPI_connect();			/* (the view reads the currency's exponent) */
	view_arg(fcinfo, &p);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_summary(&st, &p);
	j = SPI_datumTransfer(object_end(&st), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(j);
}

/* _payment_answer(p pg_wallet.payments, replayed boolean) returns jsonb */
Datum
wallet_payment_answer(PG_FUNCTION_ARGS)
{
	PaymentView p;
	Datum		j;

	SPI_connect();			/* (the view reads the currency's exponent) */
	view_arg(fcinfo, &p);
	j = SPI_datumTransfer(payment_answer(&p, !PG_ARGISNULL(1) && PG_GETARG_BOOL(1)), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(j);
}

/* _payment_events(p pg_wallet.payments) returns void */
Datum
wallet_payment_events(PG_FUNCTION_ARGS)
{
	PaymentView p;

	SPI_connect();			/* (the view reads the currency's exponent) */
	view_arg(fcinfo, &p);
	payment_completed_event(&p);
	SPI_finish();
	PG_RETURN_VOID();
}
