/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  The money rules as one plug-in of the posting core (core/ledger_rules.h):
 *	  client services (services.c), fees (fees.c), KYC tier limits
 *	  (limits.c) and fraud scoring (fraud.c) applied to every posting and
 *	  hold, and calculate_fee, the
 *	  quote that runs the same code as the charge.
 *
 * Fee legs: the payer's account is debited its part, SYS-FEE-<currency>
 * (and the agent's commission account) credited. They join the request's
 * journal, so the journal still sums to zero.
 *
 * Owns: the order in which the rules apply. Never: writes balances or
 * journals (the core does), reads the core's working state (it gets copies).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "rules/fraud.h"
#include "rules/rules.h"
#include "rules/rules_internal.h"


PG_FUNCTION_INFO_V1(wallet_calculate_fee);

/* ---------------------------------------------------------------------
 * In the posting path
 * ---------------------------------------------------------------------
 */
static char *
fee_account_number(const char *currency)
{
	return psprintf("SYS-FEE-%s", currency);
}

/*
 * The fee income accounts the batch may credit: that of each request's
 * currency for which some schedule of its type exists. (Resolved after the
 * lock pass, without a lock: they are DEFERRED.)
 */
static void
add_fee_accounts(LedgerBatch *batch, RulesState *st, LedgerRequest *reqs, int nreqs,
				 const bool *valid)
{
	for (int i = 0; i < nreqs; i++)
	{
		LedgerAccountView src;
		bool		any = false;

		if (!valid[i] || reqs[i].fee_type == NULL ||
			!ledger_batch_account(batch, reqs[i].legs[0].account_number, &src))
			continue;
		for (int j = 0; j < st->nschedules && !any; j++)
			any = strcmp(st->schedules[j].type, reqs[i].fee_type) == 0 &&
				(st->schedules[j].currency[0] == '\0' ||
				 strcmp(st->schedules[j].currency, src.currency) == 0);
		if (any)
			ledger_batch_add_account(batch, fee_account_number(src.currency));
	}
}

/*
 * Once per batch, after the lock pass: load the client services and fee
 * schedules the batch names, lock the limit usage of the owners it takes
 * money from, and add the fee income accounts of the currencies it charges
 * fees in (they are resolved without a lock).
 */
static void *
rules_prepare(LedgerBatch *batch, LedgerRequest *reqs, int nreqs, const bool *valid)
{
	RulesState *st = palloc0(sizeof(RulesState));
	Column		codes,
				types,
				owners,
				currencies,
				tiers;

	column_init(&codes, TEXTOID);
	column_init(&types, TEXTOID);
	column_init(&owners, INT8OID);
	column_init(&currencies, TEXTOID);
	column_init(&tiers, INT2OID);
	for (int i = 0; i < nreqs; i++)
	{
		LedgerAccountView src;

		if (!valid[i] || (reqs[i].fee_type == NULL && reqs[i].client_service_code == NULL))
			continue;
		if (reqs[i].client_service_code)
			column_add(&codes, CStringGetTextDatum(reqs[i].client_service_code), false);
		if (reqs[i].fee_type == NULL)
			continue;
		column_add(&types, CStringGetTextDatum(reqs[i].fee_type), false);
		if (ledger_batch_account(batch, reqs[i].legs[0].account_number, &src) &&
			src.kyc_tier != LEDGER_NO_TIER && limit_applies(reqs[i].fee_type))
		{
			column_add(&owners, Int64GetDatum(src.owner_id), false);
			column_add(&currencies, CStringGetTextDatum(src.currency), false);
			column_add(&tiers, Int16GetDatum(src.kyc_tier), false);
		}
	}
	load_services(st, &codes);
	if (types.n > 0)
		load_schedules(st, ledger_batch_config_generation(batch));
	load_limits(st, &owners, &currencies, &tiers);
	add_fee_accounts(batch, st, reqs, nreqs, valid);
	st->fraud = fraud_prepare(batch, reqs, nreqs, valid);
	return st;
}

/*
 * The legs of a fee, appended to its journal (room for four more legs):
 * each payer debited its part, SYS-FEE-<currency> credited the platform's
 * part and the agent its commission. They sum to zero with each other.
 */
static void
rules_add_fee_legs(LedgerRequest *req, const char *currency, const char *sender,
				   int64 sender_fee, const char *receiver, int64 receiver_fee,
				   int64 commission, const char *agent)
{
	int64		fee = sender_fee + receiver_fee;

	Assert(commission >= 0 && commission <= fee && (commission == 0 || agent != NULL));
	ledger_add_leg(req, sender, SIDE_DEBIT, sender_fee, "fee");
	ledger_add_leg(req, receiver, SIDE_DEBIT, receiver_fee, "fee");
	ledger_add_leg(req, fee_account_number(currency), SIDE_CREDIT, fee - commission,
				   "fee income");
	if (agent != NULL)
		ledger_add_leg(req, agent, SIDE_CREDIT, commission, "agent commission");
}

/*
 * Apply the money rules to a resolved simple request: check its client
 * service and KYC limits and append its fee legs.
 */
static bool
money_apply(void *state, LedgerRequest *req, const LedgerAccountView *accts,
			LedgerResult *res, LedgerRefusal *r)
{
	RulesState *st = state;
	int64		service_id = 0;
	int64		amount;
	const LedgerAccountView *src;
	FeeQuote	q;
	LedgerLeg  *legs;

	st->pending_limit = NULL;
	if (req->fee_type == NULL && req->client_service_code == NULL)
		return true;
	if (req->nlegs < 2 || req->legs[0].side != SIDE_DEBIT || req->legs[1].side != SIDE_CREDIT)
		elog(ERROR, "money rules apply to a request whose first legs debit and credit");
	src = &accts[0];
	amount = req->legs[0].amount_minor;
	res->exponent = src->exponent;
	if (req->client_service_code && !check_service(st, req, accts, &service_id, r))
		return false;
	if (req->fee_type == NULL)
		return true;
	if (limit_applies(req->fee_type) &&
		!check_limits(st, src->owner_id, src->currency, src->exponent, amount, r))
		return false;
	res->limit_counted = st->pending_limit != NULL;
	fee_compute(fee_match(st, req->fee_type, service_id, src->currency, amount, src->exponent),
				amount, src->exponent, req->agent_account_number != NULL, &q);
	if (q.fee_minor == 0)
		return true;
	if (req->nlegs > 2 || req->reserve)
	{
		/*
		 * A conversion (leg 2 is the platform's FX position) or a hold (which
		 * reserves its fee): the sender pays, whatever the schedule's bearer.
		 */
		q.sender_minor = q.fee_minor;
		q.receiver_minor = 0;
	}
	if (q.receiver_minor > amount)
		return ledger_refuse(r, ERRCODE_WALLET_FEE_EXCEEDS_AMOUNT,
					         psprintf("fee %s %s exceeds the amount %s %s",
							          amount_to_cstring(q.receiver_minor, src->exponent),
									  src->currency, amount_to_cstring(amount, src->exponent),
									  src->currency), NULL);
	legs = palloc0(sizeof(LedgerLeg) * (req->nlegs + 4));
	memcpy(legs, req->legs, sizeof(LedgerLeg) * req->nlegs);
	req->legs = legs;
	rules_add_fee_legs(req, src->currency, legs[0].account_number, q.sender_minor,
					   legs[1].account_number, q.receiver_minor, q.commission_minor,
					   req->agent_account_number);
	res->fee_minor = q.fee_minor;
	res->commission_minor = q.commission_minor;
	return true;
}

/*
 * Apply the rules to a resolved request: the money rules, then fraud
 * scoring (which sees the request as the money rules let it through). The
 * caller resolves the new legs.
 */
static bool
rules_apply(void *state, LedgerRequest *req, const LedgerAccountView *accts,
			LedgerResult *res, LedgerRefusal *r)
{
	RulesState *st = state;

	return money_apply(state, req, accts, res, r) &&
		fraud_apply(st->fraud, req, accts, res, r);
}

static void
rules_commit(void *state)
{
	limits_commit(state);
	fraud_commit(((RulesState *) state)->fraud);
}

static void
rules_write(void *state)
{
	limits_write(state);
	if (state != NULL)
		fraud_write(((RulesState *) state)->fraud);
}

/* A capture's fee, reserved when its hold was placed: paid by the holder. */
static void
rules_hold_fee_legs(LedgerRequest *req, const char *currency, const char *holder,
					int64 fee_minor, int64 commission_minor, const char *agent)
{
	rules_add_fee_legs(req, currency, holder, fee_minor, NULL, 0, commission_minor, agent);
}

static const LedgerRules money_rules = {
	.prepare = rules_prepare,
	.apply = rules_apply,
	.commit = rules_commit,
	.write = rules_write,
	.hold_release = limits_hold_release,
	.hold_fee_legs = rules_hold_fee_legs,
};

/* Plug the money rules into the posting core (from _PG_init). */
void
rules_register(void)
{
	ledger_register_rules(&money_rules);
}

/* ---------------------------------------------------------------------
 * calculate_fee()
 * ---------------------------------------------------------------------
 */

/*
 * calculate_fee(transaction_type text, amount numeric, currency text,
 *				 client_service_code text, with_agent boolean) returns fee_quote
 *
 * Exactly what a posting of this amount would charge, by the same code.
 */
Datum
wallet_calculate_fee(PG_FUNCTION_ARGS)
{
	char	   *type = text_arg_cstring(fcinfo, 0, "transaction_type", 40, true);
	char	   *currency = text_arg_cstring(fcinfo, 2, "currency", 3, true);
	char	   *service = text_arg_cstring(fcinfo, 3, "client_service_code", 40, false);
	bool		with_agent = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	MemoryContext caller = CurrentMemoryContext;
	RulesState	st;
	Column		codes,
				types;
	TupleDesc	tupdesc;
	FeeQuote	q;
	int			exponent;
	int64		amount;
	int64		service_id = 0;
	Datum		values[9];
	bool		nulls[9] = {false};
	HeapTuple	tup;

	tupdesc = wallet_result_tupdesc(fcinfo);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount must not be null")));
	wallet_check_code(type, "transaction type");
	SPI_connect();
	exponent = currency_exponent(currency);
	amount = amount_from_numeric(PG_GETARG_DATUM(1), exponent, currency);
	if (amount <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount must be positive")));
	column_init(&codes, TEXTOID);
	column_init(&types, TEXTOID);
	column_add(&types, CStringGetTextDatum(type), false);
	if (service)
		column_add(&codes, CStringGetTextDatum(service), false);
	load_services(&st, &codes);
	load_schedules(&st, ledger_config_generation_now());
	if (service)
	{
		ClientService *cs = find_service(&st, service);

		if (cs == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_WALLET_SERVICE_NOT_FOUND),
					 errmsg("client service %s does not exist", service)));
		service_id = cs->id;
	}
	fee_compute(fee_match(&st, type, service_id, currency, amount, exponent),
				amount, exponent, with_agent, &q);
	MemoryContextSwitchTo(caller);
	values[0] = amount_to_numeric(q.fee_minor, exponent);
	values[1] = CStringGetTextDatum(currency);
	values[2] = DirectFunctionCall1(numeric_trim_scale, amount_to_numeric(q.rate_e8, 8));
	values[3] = CStringGetTextDatum("FEE_TYPE_PLATFORM");
	values[4] = CStringGetTextDatum(q.bearer == 'R' ? "RECEIVER" : q.bearer == 'P' ? "SPLIT" :
									"SENDER");
	values[5] = amount_to_numeric(q.sender_minor, exponent);
	values[6] = amount_to_numeric(q.receiver_minor, exponent);
	values[7] = amount_to_numeric(q.commission_minor, exponent);
	values[8] = Int64GetDatum(q.schedule_id);
	nulls[8] = q.schedule_id == 0;
	tup = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(tup));
}

