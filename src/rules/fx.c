/*-------------------------------------------------------------------------
 *
 * fx.c
 *	  Currency conversion: one journal with legs in both currencies, through
 *	  the platform's per-currency FX position accounts, so each currency sums
 *	  to zero on its own:
 *
 *		DR from_account        amount     (source currency)
 *		CR SYS-FX-<source>     amount
 *		DR SYS-FX-<dest>       converted  (destination currency)
 *		CR to_account          converted
 *	  plus the CONVERSION fee legs the money rules add (paid by the sender, in
 *	  the source currency).
 *
 * The rate: a locked quote (fx_quote) if given, else a rate id, else the
 * latest rate valid now for the pair, or the inverse of the latest rate of
 * the reverse pair: that choice is pg_wallet._fx_rate() (sql/rules/fx.sql),
 * called here as by get_fx_rate and get_owner_summary. The effective rate
 * is rate x (1 - spread). converted = floor(amount x effective rate), in the
 * destination's minor units: the fraction of a minor unit below it is the
 * platform's and stays in its FX position (that is where rounding residue
 * lives).
 *
 * Owns: fx_quotes semantics and the conversion's legs. Never: writes balances
 * itself, or chooses a rate other than through pg_wallet._fx_rate().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/pg_wallet.h"

PG_FUNCTION_INFO_V1(wallet_convert);

/* The rate a conversion uses and what it comes to. */
typedef struct FxPlan
{
	int64		rate_id;
	int64		quote_id;		/* 0: none */
	char	   *effective_rate; /* exact decimal text */
	int64		converted_minor;
	int			from_exponent;
	int			to_exponent;
} FxPlan;

static SPIPlanPtr rate_plan = NULL;
static SPIPlanPtr quote_plan = NULL;
static SPIPlanPtr quote_use_plan = NULL;
static SPIPlanPtr result_plan = NULL;

/*
 * The rate for from -> to: by id, or the latest valid one of the pair, or
 * the inverse of the reverse pair's; and the converted amount. NULL result:
 * no rate.
 */
static bool
fx_plan_rate(const char *from, const char *to, int64 rate_id, int64 amount_minor, FxPlan *p)
{
	Oid			argtypes[4] = {TEXTOID, TEXTOID, INT8OID, INT8OID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	/* the choice itself is pg_wallet._fx_rate() (sql/rules/fx.sql), as for every reader */
	wallet_plan(&rate_plan,
				"SELECT r.chosen_rate_id, trim_scale(r.effective_rate)::text,"
				"  floor($4 * r.effective_rate * 10::numeric ^ (ct.exponent - cf.exponent))::bigint,"
				"  cf.exponent, ct.exponent"
				" FROM pg_wallet._fx_rate($1, $2, now(), $3) r,"
				"   pg_wallet.currencies cf, pg_wallet.currencies ct"
				" WHERE cf.code = $1 AND ct.code = $2",
				4, argtypes);
	values[0] = CStringGetTextDatum(from);
	values[1] = CStringGetTextDatum(to);
	values[2] = Int64GetDatum(rate_id);
	nulls[2] = rate_id == 0 ? 'n' : ' ';
	values[3] = Int64GetDatum(amount_minor);
	if (SPI_execute_plan(rate_plan, values, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "fx rate look-up failed");
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	p->rate_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	p->effective_rate = SPI_getvalue(tup, desc, 2);
	p->converted_minor = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	p->from_exponent = DatumGetInt16(SPI_getbinval(tup, desc, 4, &isnull));
	p->to_exponent = DatumGetInt16(SPI_getbinval(tup, desc, 5, &isnull));
	return true;
}

/*
 * A locked quote: must be for this pair, unexpired and unused; locked until
 * the conversion commits so it is used once.
 */
static void
fx_plan_quote(const char *from, const char *to, int64 quote_id, int64 amount_minor, FxPlan *p)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, TEXTOID, INT8OID};
	Datum		values[4];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *problem;

	wallet_plan(&quote_plan,
				"SELECT q.rate_id, trim_scale(q.effective_rate)::text,"
				"  floor($4 * q.effective_rate * 10::numeric ^ (ct.exponent - cf.exponent))::bigint,"
				"  cf.exponent, ct.exponent, q.from_currency = $2 AND q.to_currency = $3,"
				"  q.expires_at > now(), q.used_journal_id IS NULL"
				" FROM pg_wallet.fx_quotes q"
				" JOIN pg_wallet.currencies cf ON cf.code = q.from_currency"
				" JOIN pg_wallet.currencies ct ON ct.code = q.to_currency"
				" WHERE q.id = $1 FOR UPDATE OF q",
				4, argtypes);
	values[0] = Int64GetDatum(quote_id);
	values[1] = CStringGetTextDatum(from);
	values[2] = CStringGetTextDatum(to);
	values[3] = Int64GetDatum(amount_minor);
	if (SPI_execute_plan(quote_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "fx quote look-up failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_FX_QUOTE_INVALID),
				 errmsg("fx quote %lld does not exist", (long long) quote_id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	problem = !DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull)) ? "is for another pair" :
		!DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull)) ? "has expired" :
		!DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull)) ? "was used already" : NULL;
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_FX_QUOTE_INVALID),
				 errmsg("fx quote %lld %s", (long long) quote_id, problem),
				 errhint("Ask for a new quote with fx_quote().")));
	p->quote_id = quote_id;
	p->rate_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	p->effective_rate = SPI_getvalue(tup, desc, 2);
	p->converted_minor = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	p->from_exponent = DatumGetInt16(SPI_getbinval(tup, desc, 4, &isnull));
	p->to_exponent = DatumGetInt16(SPI_getbinval(tup, desc, 5, &isnull));
}

/* The currencies of the two accounts (error WL005 for a missing one). */
static void
fx_account_currencies(const char *from_account, const char *to_account, char **from,
					  char **to)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(from_account), CStringGetTextDatum(to_account)};

	*from = *to = NULL;
	if (SPI_execute_with_args("SELECT account_number, currency FROM pg_wallet.accounts"
							  " WHERE account_number IN ($1, $2)",
							  2, argtypes, values, NULL, false, 2) != SPI_OK_SELECT)
		elog(ERROR, "account look-up failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		char	   *number = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);

		if (strcmp(number, from_account) == 0)
			*from = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
		if (strcmp(number, to_account) == 0)
			*to = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
	}
	if (*from == NULL || *to == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_ACCOUNT_NOT_FOUND),
				 errmsg("account %s does not exist", *from == NULL ? from_account : to_account)));
	if (strcmp(*from, *to) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_CURRENCY_MISMATCH),
				 errmsg("accounts %s and %s are both in %s", from_account, to_account, *from),
				 errhint("Use transfer() within one currency.")));
}

static void
fx_leg(LedgerLeg *leg, char *account, LedgerSide side, int64 amount)
{
	leg->account_number = account;
	leg->side = side;
	leg->amount_minor = amount;
}

/*
 * What an idempotency key promises for a conversion: the caller's request,
 * not the legs (a retry after the rate moved is still the same request).
 */
static void
fx_request_hash(LedgerRequest *req, const char *from_account, const char *to_account,
				const char *amount_text, int64 rate_id, int64 quote_id)
{
	LedgerRequest h;
	LedgerLeg	legs[2];

	memset(&h, 0, sizeof(h));
	memset(legs, 0, sizeof(legs));
	h.journal_type = req->journal_type;
	h.description = req->description;
	h.metadata = req->metadata;
	h.reverses_journal_id = rate_id;
	h.release_amount_minor = quote_id;
	h.fee_type = req->fee_type;
	h.nlegs = 2;
	h.legs = legs;
	legs[0].account_number = (char *) from_account;
	legs[0].amount_text = amount_text;
	legs[1].account_number = (char *) to_account;
	legs[1].side = SIDE_CREDIT;
	legs[1].amount_text = amount_text;
	ledger_request_hash(&h, req->request_hash);
	req->hashed = true;
}

/* The caller's metadata with the rate the conversion used added to it. */
static Jsonb *
fx_metadata(Jsonb *caller_metadata, FxPlan *p)
{
	Datum		ours = DirectFunctionCall1(jsonb_in, CStringGetDatum(
		psprintf("{\"fx_rate\": \"%s\", \"fx_rate_id\": %lld, \"fx_quote_id\": %s}",
				 p->effective_rate, (long long) p->rate_id,
				 p->quote_id ? psprintf("%lld", (long long) p->quote_id) : "null")));

	if (caller_metadata == NULL)
		return DatumGetJsonbP(ours);
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(caller_metadata),
											  ours));
}

/*
 * The conversion_result of a conversion journal, read back from the journal
 * so that a replay reports the original amounts and rate.
 */
static Datum
fx_result(int64 journal_id, bool replayed, TupleDesc tupdesc, MemoryContext caller)
{
	Oid			argtypes[2] = {INT8OID, BOOLOID};
	Datum		values[2] = {Int64GetDatum(journal_id), BoolGetDatum(replayed)};
	Datum		vals[12];
	bool		nulls[12];
	MemoryContext spi;
	Datum		result;

	wallet_plan(&result_plan,
				"SELECT j.id, pg_wallet.receipt_code(j.id, j.created_at), 'POSTED', $2,"
				"  cf.code, ct.code, pg_wallet.minor_to_numeric(src.amount, cf.exponent),"
				"  pg_wallet.minor_to_numeric(dst.amount, ct.exponent),"
				"  (j.metadata->>'fx_rate')::numeric, (j.metadata->>'fx_rate_id')::bigint,"
				"  pg_wallet.minor_to_numeric(j.fee_minor, cf.exponent), j.created_at"
				" FROM pg_wallet.journals j"
				" JOIN pg_wallet.entries src ON src.journal_id = j.id AND src.leg = 1"
				" JOIN pg_wallet.entries dst ON dst.journal_id = j.id AND dst.leg = 4"
				" JOIN pg_wallet.accounts fa ON fa.id = src.account_id"
				" JOIN pg_wallet.accounts ta ON ta.id = dst.account_id"
				" JOIN pg_wallet.currencies cf ON cf.code = fa.currency"
				" JOIN pg_wallet.currencies ct ON ct.code = ta.currency"
				" WHERE j.id = $1",
				2, argtypes);
	if (SPI_execute_plan(result_plan, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "conversion journal %lld not found", (long long) journal_id);
	Assert(SPI_tuptable->tupdesc->natts == 12);
	heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, vals, nulls);
	spi = MemoryContextSwitchTo(caller);
	result = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), vals, nulls));
	MemoryContextSwitchTo(spi);
	return result;
}

/*
 * The plan of a conversion: the locked quote when one is given, else the
 * rate (error WL045 when there is none).
 */
static void
fx_choose_plan(const char *from, const char *to, int64 rate_id, int64 quote_id,
			   int64 amount_minor, FxPlan *plan)
{
	if (quote_id != 0)
		fx_plan_quote(from, to, quote_id, amount_minor, plan);
	else if (!fx_plan_rate(from, to, rate_id, amount_minor, plan))
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_FX_RATE_NOT_FOUND),
				 rate_id ? errmsg("fx rate %lld is not a valid %s/%s rate now",
								  (long long) rate_id, from, to) :
				 errmsg("no fx rate for %s to %s", from, to),
				 errhint("Set one with set_fx_rate().")));
}

/* The conversion's four legs, through the FX position accounts of both currencies. */
static void
fx_legs(LedgerRequest *req, char *from_account, char *to_account, const char *from,
		const char *to, int64 amount_minor, int64 converted_minor)
{
	req->nlegs = 4;
	req->legs = palloc0(sizeof(LedgerLeg) * 4);
	fx_leg(&req->legs[0], from_account, SIDE_DEBIT, amount_minor);
	fx_leg(&req->legs[1], psprintf("SYS-FX-%s", from), SIDE_CREDIT, amount_minor);
	fx_leg(&req->legs[2], psprintf("SYS-FX-%s", to), SIDE_DEBIT, converted_minor);
	fx_leg(&req->legs[3], to_account, SIDE_CREDIT, converted_minor);
}

/* Mark a locked quote used by the conversion's journal, so it is used once. */
static void
fx_quote_used(int64 quote_id, int64 journal_id)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(quote_id), Int64GetDatum(journal_id)};

	wallet_plan(&quote_use_plan,
				"UPDATE pg_wallet.fx_quotes SET used_journal_id = $2 WHERE id = $1",
				2, argtypes);
	if (SPI_execute_plan(quote_use_plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "fx quote update failed");
}

/*
 * convert(from_account text, to_account text, amount numeric,
 *		   idempotency_key text, description text, rate_id bigint,
 *		   quote_id bigint, metadata jsonb) returns conversion_result
 */
Datum
wallet_convert(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	TupleDesc	tupdesc;
	char	   *from_account = text_arg_cstring(fcinfo, 0, "from_account",
												WALLET_MAX_ACCOUNT_NUMBER, true);
	char	   *to_account = text_arg_cstring(fcinfo, 1, "to_account",
											  WALLET_MAX_ACCOUNT_NUMBER, true);
	int64		rate_id = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT64(5);
	int64		quote_id = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6);
	const char *amount_text;
	char	   *from,
			   *to;
	int64		amount_minor;
	FxPlan		plan;
	LedgerRequest req;
	LedgerResult res;
	Datum		result;

	tupdesc = wallet_result_tupdesc(fcinfo);
	amount_text = amount_arg_text(fcinfo, 2);
	memset(&req, 0, sizeof(req));
	memset(&plan, 0, sizeof(plan));
	req.journal_type = "FX_CONVERSION";
	req.fee_type = "CONVERSION";
	req.idempotency_key = text_arg_cstring(fcinfo, 3, "idempotency_key", WALLET_MAX_KEY_LEN,
										   false);
	req.description = text_arg_cstring(fcinfo, 4, "description", WALLET_MAX_TEXT_LEN, false);
	req.metadata = PG_ARGISNULL(7) ? NULL : PG_GETARG_JSONB_P(7);

	SPI_connect();
	fx_account_currencies(from_account, to_account, &from, &to);
	amount_minor = amount_parse_text(amount_text, currency_exponent(from), from);
	if (amount_minor <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount must be positive")));
	fx_choose_plan(from, to, rate_id, quote_id, amount_minor, &plan);
	if (plan.converted_minor <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount %s %s converts to less than one minor unit of %s",
						amount_text, from, to)));
	fx_request_hash(&req, from_account, to_account, amount_text, rate_id, quote_id);
	fx_legs(&req, from_account, to_account, from, to, amount_minor, plan.converted_minor);
	req.metadata = fx_metadata(req.metadata, &plan);
	ledger_post(&req, &res);
	if (plan.quote_id != 0 && !res.replayed)
		fx_quote_used(plan.quote_id, res.journal_id);

	result = fx_result(res.journal_id, res.replayed, tupdesc, caller);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
