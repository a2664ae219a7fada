/*-------------------------------------------------------------------------
 *
 * reversal.c
 *	  Reversal of a posted journal: a new journal of mirror entries (every
 *	  debit becomes a credit of the same amount and vice versa), linked to
 *	  the original, posted through the posting core.
 *
 * Rules: a journal is reversed at most once (the core checks after taking
 * the account locks, and a unique index backs it); a reversal cannot be
 * reversed; a reversal that would take an account below its floor is
 * refused unless forced (force_reverse_journal, granted to admins only).
 *
 * Owns: building the mirror request. Never: writes tables itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "core/pg_wallet.h"

PG_FUNCTION_INFO_V1(wallet_reverse_journal);
PG_FUNCTION_INFO_V1(wallet_force_reverse_journal);

static SPIPlanPtr journal_plan = NULL;
static SPIPlanPtr legs_plan = NULL;

/* The id of the POSTED journal a receipt code names, or WL014. */
static int64
journal_by_receipt(const char *receipt, int64 *reverses)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	int64		id = receipt_decode(receipt, true);
	bool		isnull;
	HeapTuple	tup;

	wallet_plan(&journal_plan,
				"SELECT created_at, reverses_journal_id FROM pg_wallet.journals"
				" WHERE id = $1 AND status = 'POSTED'",
				1, argtypes);
	values[0] = Int64GetDatum(id);
	if (id > 0 && SPI_execute_plan(journal_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "journal look-up failed");
	if (id <= 0 || SPI_processed != 1)
		goto not_found;
	tup = SPI_tuptable->vals[0];
	if (strcmp(receipt_encode(id, DatumGetTimestampTz(SPI_getbinval(tup, SPI_tuptable->tupdesc,
																	  1, &isnull))),
			   receipt) != 0)
		goto not_found;
	*reverses = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull)
		*reverses = 0;
	return id;

not_found:
	ereport(ERROR,
			(errcode(ERRCODE_WALLET_JOURNAL_NOT_FOUND),
			 errmsg("transaction not found"),
			 errdetail("No posted journal has receipt code %s.", receipt)));
	return 0;
}

/* The mirror legs of journal `id`. */
static void
mirror_legs(int64 id, LedgerRequest *req)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};

	wallet_plan(&legs_plan,
				"SELECT a.account_number, e.side, e.amount, e.description"
				" FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id"
				" WHERE e.journal_id = $1 ORDER BY e.leg",
				1, argtypes);
	if (SPI_execute_plan(legs_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "journal legs look-up failed");
	if (SPI_processed < 2 || SPI_processed > WALLET_MAX_LEGS)
		elog(ERROR, "journal %lld has %llu entries", (long long) id,
			 (unsigned long long) SPI_processed);
	req->nlegs = (int) SPI_processed;
	req->legs = palloc0(sizeof(LedgerLeg) * req->nlegs);
	for (int i = 0; i < req->nlegs; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		req->legs[i].account_number = SPI_getvalue(tup, desc, 1);
		req->legs[i].side = strcmp(SPI_getvalue(tup, desc, 2), "DR") == 0 ?
			SIDE_CREDIT : SIDE_DEBIT;
		req->legs[i].amount_minor = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		req->legs[i].description = SPI_getvalue(tup, desc, 4);
	}
}

static Datum
reverse(FunctionCallInfo fcinfo, bool force)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spi;
	TupleDesc	tupdesc;
	LedgerRequest req;
	LedgerResult res;
	char	   *receipt = text_arg_cstring(fcinfo, 0, "receipt_code", 64, true);
	int64		id;
	int64		reverses;
	Datum		result;

	tupdesc = wallet_result_tupdesc(fcinfo);
	memset(&req, 0, sizeof(req));
	req.idempotency_key = text_arg_cstring(fcinfo, 1, "idempotency_key",
										   WALLET_MAX_KEY_LEN, false);
	req.description = text_arg_cstring(fcinfo, 2, "reason", WALLET_MAX_TEXT_LEN, false);
	req.journal_type = "REVERSAL";
	req.force = force;
	SPI_connect();
	id = journal_by_receipt(receipt, &reverses);
	if (reverses != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_NOT_REVERSIBLE),
				 errmsg("journal %s is a reversal and cannot be reversed", receipt),
				 errhint("Post a new journal to correct it.")));
	if (req.description == NULL)
		req.description = psprintf("Reversal of %s", receipt);
	req.reverses_journal_id = id;
	mirror_legs(id, &req);
	ledger_post(&req, &res);
	spi = MemoryContextSwitchTo(caller);
	result = ledger_result_datum(&res, tupdesc);
	MemoryContextSwitchTo(spi);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * reverse_journal(receipt_code text, idempotency_key text, reason text)
 *	returns journal_result
 */
Datum
wallet_reverse_journal(PG_FUNCTION_ARGS)
{
	return reverse(fcinfo, false);
}

/*
 * force_reverse_journal(...): the same, without funds checks. For admins:
 * EXECUTE is granted separately.
 */
Datum
wallet_force_reverse_journal(PG_FUNCTION_ARGS)
{
	return reverse(fcinfo, true);
}
