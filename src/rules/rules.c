/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  Money rules applied inside the posting path: client services (allowed
 *	  direction, ownership, amount limits) and fees (schedules matched by
 *	  transaction type, client service, currency and amount band). The same
 *	  code quotes a fee (calculate_fee) and charges it, so a quote always
 *	  equals the charge.
 *
 * Fee arithmetic is integer only. fee = fixed + round_half_up(amount x
 * rate), clamped to [min_fee, max_fee]. A SPLIT fee gives the sender
 * round_half_up(fee x sender_share) and the receiver the rest; an agent's
 * commission is round_half_up(fee x commission_rate) and the platform keeps
 * the rest. Every part is a whole minor unit and the parts add up to the
 * fee, so a fee never creates or loses a minor unit.
 *
 * Fee legs: the payer's account is debited its part, SYS-FEE-<currency>
 * (and the agent's commission account) credited. They join the request's
 * journal, so the journal still sums to zero.
 *
 * Owns: client_services and fee_schedules semantics. Never: writes tables.
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

#include "rules/rules_internal.h"


PG_FUNCTION_INFO_V1(wallet_calculate_fee);

static SPIPlanPtr services_plan = NULL;
static SPIPlanPtr schedules_plan = NULL;

/* ---------------------------------------------------------------------
 * Integer arithmetic
 * ---------------------------------------------------------------------
 */
int64
pow10_int(int n)
{
	int64		v = 1;

	while (n-- > 0)
		v *= 10;
	return v;
}

/* round_half_up(value x num / den) for value, num >= 0 and den > 0 */
int64
mul_div_half_up(int64 value, int64 num, int64 den)
{
	int128		p = (int128) value * num;

	return (int64) ((p + den / 2) / den);
}

/* An *_e4 amount in minor units of a currency (exact unless the currency has
 * fewer decimals, then rounded half up). */
int64
e4_to_minor(int64 e4, int exponent)
{
	return mul_div_half_up(e4, 1, pow10_int(WALLET_MAX_EXPONENT - exponent));
}

int128
minor_to_e4(int64 minor, int exponent)
{
	return (int128) minor * pow10_int(WALLET_MAX_EXPONENT - exponent);
}

static char *
e4_to_cstring(int64 e4)
{
	return amount_to_cstring(e4, WALLET_MAX_EXPONENT);
}

/* ---------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------
 */
int64
get_int64(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? -1 : DatumGetInt64(d);
}

static bool
get_bool(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

/* The elements of an int8[] column into out (at most MAX_TIERS). */
int
get_int64_array(HeapTuple tup, TupleDesc desc, int col, int64 *out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (isnull)
		return 0;
	deconstruct_array(DatumGetArrayTypeP(d), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n > MAX_TIERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a fee schedule has more than %d tiers", MAX_TIERS)));
	for (int i = 0; i < n; i++)
		out[i] = DatumGetInt64(elems[i]);
	return n;
}

static void
load_services(RulesState *st, Column *codes)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];

	st->nservices = 0;
	if (codes->n == 0)
		return;
	wallet_plan(&services_plan,
				"SELECT code, id, client_owner_id, allow_credit, allow_debit, is_active,"
				" minimum_amount_e4, maximum_amount_e4"
				" FROM pg_wallet.client_services WHERE code = ANY($1)",
				1, argtypes);
	values[0] = column_array(codes);
	if (SPI_execute_plan(services_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "client service look-up failed");
	st->services = palloc0(sizeof(ClientService) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		ClientService *cs = &st->services[st->nservices++];

		cs->code = SPI_getvalue(tup, desc, 1);
		cs->id = get_int64(tup, desc, 2);
		cs->client_owner_id = get_int64(tup, desc, 3);
		cs->allow_credit = get_bool(tup, desc, 4);
		cs->allow_debit = get_bool(tup, desc, 5);
		cs->active = get_bool(tup, desc, 6);
		cs->min_e4 = get_int64(tup, desc, 7);
		cs->max_e4 = get_int64(tup, desc, 8);
	}
}

/* One fee_schedules row into a FeeSchedule (strings in the current context). */
static void
load_schedule_row(FeeSchedule *fs, HeapTuple tup, TupleDesc desc)
{
	char	   *bearer;
	bool		isnull;

	fs->id = get_int64(tup, desc, 1);
	fs->type = SPI_getvalue(tup, desc, 2);
	fs->service_id = get_int64(tup, desc, 3);
	fs->currency = SPI_getvalue(tup, desc, 4);
	fs->band_min_e4 = get_int64(tup, desc, 5);
	fs->band_max_e4 = get_int64(tup, desc, 6);
	fs->kind = SPI_getvalue(tup, desc, 7)[0];
	fs->fixed_e4 = get_int64(tup, desc, 8);
	fs->rate_e8 = get_int64(tup, desc, 9);
	fs->min_fee_e4 = get_int64(tup, desc, 10);
	fs->max_fee_e4 = get_int64(tup, desc, 11);
	bearer = SPI_getvalue(tup, desc, 12);
	fs->bearer = strcmp(bearer, "SPLIT") == 0 ? 'P' : strcmp(bearer, "RECEIVER") == 0 ?
		'R' : 'S';
	fs->sender_share_e4 = get_int64(tup, desc, 13);
	fs->commission_e8 = get_int64(tup, desc, 14);
	fs->ntiers = get_int64_array(tup, desc, 15, fs->tier_up_to_e4);
	get_int64_array(tup, desc, 16, fs->tier_fixed_e4);
	get_int64_array(tup, desc, 17, fs->tier_rate_e8);
	fs->valid_from = DatumGetTimestampTz(SPI_getbinval(tup, desc, 18, &isnull));
	fs->valid_to = DatumGetTimestampTz(SPI_getbinval(tup, desc, 19, &isnull));
}

/* This backend's copy of the active fee schedules, and the stamp it is for. */
static FeeSchedule *cached_schedules = NULL;
static int	cached_nschedules = 0;
static int64 cached_generation = -1;

/* The stamp of the fee schedules now (for callers that took no account locks). */
int64
rules_generation_now(void)
{
	bool		isnull;

	if (SPI_execute("SELECT generation FROM pg_wallet.rules_generation", false, 1) !=
		SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "rules generation look-up failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
									   &isnull));
}

/*
 * The active fee schedules, most specific first: the matcher takes the first
 * that applies. Cached per backend and reloaded only when the stamp changed,
 * so a posting pays for no query when no schedule changed.
 */
void
load_schedules(RulesState *st, int64 generation)
{
	MemoryContext old;

	if (generation != cached_generation)
	{
		wallet_plan(&schedules_plan,
					"SELECT s.id, s.transaction_type, coalesce(s.client_service_id, 0),"
					" coalesce(s.currency, ''), s.band_min_e4, s.band_max_e4, s.fee_kind,"
					" s.fixed_e4, (s.rate * 100000000)::bigint, s.min_fee_e4, s.max_fee_e4,"
					" s.bearer, (s.sender_share * 10000)::bigint,"
					" (s.commission_rate * 100000000)::bigint,"
					" ARRAY(SELECT t.up_to_e4 FROM pg_wallet.fee_tiers t"
					"       WHERE t.schedule_id = s.id ORDER BY t.up_to_e4),"
					" ARRAY(SELECT t.fixed_e4 FROM pg_wallet.fee_tiers t"
					"       WHERE t.schedule_id = s.id ORDER BY t.up_to_e4),"
					" ARRAY(SELECT (t.rate * 100000000)::bigint FROM pg_wallet.fee_tiers t"
					"       WHERE t.schedule_id = s.id ORDER BY t.up_to_e4),"
					" s.valid_from, coalesce(s.valid_to, 'infinity')"
					" FROM pg_wallet.fee_schedules s WHERE s.is_active"
					" ORDER BY s.client_service_id IS NULL, s.currency IS NULL,"
					"   (s.band_min_e4 IS NULL AND s.band_max_e4 IS NULL), s.id",
					0, NULL);
		if (SPI_execute_plan(schedules_plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "fee schedule look-up failed");
		/* read in this call's memory, then keep a copy for the backend's life */
		cached_generation = -1;
		if (cached_schedules)
		{
			for (int i = 0; i < cached_nschedules; i++)
			{
				pfree(cached_schedules[i].type);
				pfree(cached_schedules[i].currency);
			}
			pfree(cached_schedules);
			cached_schedules = NULL;
		}
		cached_schedules = MemoryContextAllocZero(TopMemoryContext,
												  sizeof(FeeSchedule) * (SPI_processed + 1));
		cached_nschedules = 0;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			FeeSchedule *fs = &cached_schedules[cached_nschedules++];

			load_schedule_row(fs, SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
			old = MemoryContextSwitchTo(TopMemoryContext);
			fs->type = pstrdup(fs->type);
			fs->currency = pstrdup(fs->currency);
			MemoryContextSwitchTo(old);
		}
		cached_generation = generation;
	}
	st->schedules = cached_schedules;
	st->nschedules = cached_nschedules;
}

/* ---------------------------------------------------------------------
 * Fees
 * ---------------------------------------------------------------------
 */

/* The first (most specific) schedule that applies, or NULL. */
FeeSchedule *
fee_match(RulesState *st, const char *type, int64 service_id, const char *currency,
		  int64 amount_minor, int exponent)
{
	int128		amount_e4 = minor_to_e4(amount_minor, exponent);
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	for (int i = 0; i < st->nschedules; i++)
	{
		FeeSchedule *fs = &st->schedules[i];

		if (strcmp(fs->type, type) != 0 || fs->valid_from > now || fs->valid_to <= now ||
			(fs->service_id != 0 && fs->service_id != service_id) ||
			(fs->currency[0] != '\0' && strcmp(fs->currency, currency) != 0) ||
			(fs->band_min_e4 >= 0 && amount_e4 < fs->band_min_e4) ||
			(fs->band_max_e4 >= 0 && amount_e4 > fs->band_max_e4))
			continue;
		return fs;
	}
	return NULL;
}

/* The fee of one amount under one schedule, split between its payers. */
void
fee_compute(FeeSchedule *fs, int64 amount_minor, int exponent, bool with_agent, FeeQuote *q)
{
	int64		fixed_e4;
	int64		rate_e8;
	int64		fee;

	memset(q, 0, sizeof(*q));
	if (fs == NULL)
		return;
	fixed_e4 = fs->fixed_e4;
	rate_e8 = fs->rate_e8;
	if (fs->kind == 'T')
	{
		int128		amount_e4 = minor_to_e4(amount_minor, exponent);
		int			t = 0;

		while (t < fs->ntiers - 1 && amount_e4 > fs->tier_up_to_e4[t])
			t++;
		fixed_e4 = fs->ntiers > 0 ? fs->tier_fixed_e4[t] : 0;
		rate_e8 = fs->ntiers > 0 ? fs->tier_rate_e8[t] : 0;
	}
	else if (fs->kind == 'F')
		rate_e8 = 0;
	fee = e4_to_minor(fixed_e4, exponent) + mul_div_half_up(amount_minor, rate_e8, 100000000);
	if (fs->min_fee_e4 >= 0)
		fee = Max(fee, e4_to_minor(fs->min_fee_e4, exponent));
	if (fs->max_fee_e4 >= 0)
		fee = Min(fee, e4_to_minor(fs->max_fee_e4, exponent));
	q->schedule_id = fs->id;
	q->fee_minor = fee;
	q->rate_e8 = rate_e8;
	q->bearer = fs->bearer;
	q->sender_minor = fs->bearer == 'S' ? fee : fs->bearer == 'R' ? 0 :
		mul_div_half_up(fee, fs->sender_share_e4, 10000);
	q->receiver_minor = fee - q->sender_minor;
	q->commission_minor = with_agent ? mul_div_half_up(fee, fs->commission_e8, 100000000) : 0;
	Assert(q->sender_minor + q->receiver_minor == fee && q->commission_minor <= fee);
}

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
add_fee_accounts(Batch *b, RulesState *st, LedgerRequest *reqs, int nreqs, bool *valid)
{
	for (int i = 0; i < nreqs; i++)
	{
		LedgerAccount *src;
		char	   *number;
		bool		any = false;

		if (!valid[i] || reqs[i].fee_type == NULL)
			continue;
		src = batch_account(b, reqs[i].legs[0].account_number, false);
		if (src == NULL || !src->found)
			continue;
		for (int j = 0; j < st->nschedules && !any; j++)
			any = strcmp(st->schedules[j].type, reqs[i].fee_type) == 0 &&
				(st->schedules[j].currency[0] == '\0' ||
				 strcmp(st->schedules[j].currency, src->currency) == 0);
		number = fee_account_number(src->currency);
		if (any && batch_account(b, number, false) == NULL)
			batch_account(b, number, true)->late = true;
	}
}

/*
 * Once per batch, after the lock pass: load the client services and fee
 * schedules the batch names, and add the fee income accounts of the
 * currencies it charges fees in (they are resolved without a lock).
 */
void
rules_prepare(Batch *b, LedgerRequest *reqs, int nreqs, bool *valid)
{
	RulesState *st = palloc0(sizeof(RulesState));
	Column		codes,
				types,
				owners,
				currencies;

	b->rules = st;
	column_init(&codes, TEXTOID);
	column_init(&types, TEXTOID);
	column_init(&owners, INT8OID);
	column_init(&currencies, TEXTOID);
	for (int i = 0; i < nreqs; i++)
	{
		LedgerAccount *src;

		if (!valid[i] || (reqs[i].fee_type == NULL && reqs[i].client_service_code == NULL))
			continue;
		if (reqs[i].client_service_code)
			column_add(&codes, CStringGetTextDatum(reqs[i].client_service_code), false);
		if (reqs[i].fee_type == NULL)
			continue;
		column_add(&types, CStringGetTextDatum(reqs[i].fee_type), false);
		src = batch_account(b, reqs[i].legs[0].account_number, false);
		if (src != NULL && src->found && src->owner_has_tier && limit_applies(&reqs[i]))
		{
			column_add(&owners, Int64GetDatum(src->owner_id), false);
			column_add(&currencies, CStringGetTextDatum(src->currency), false);
		}
	}
	load_services(st, &codes);
	if (types.n > 0)
		load_schedules(st, b->rules_generation);
	load_limits(st, &owners, &currencies);
	add_fee_accounts(b, st, reqs, nreqs, valid);
}

static ClientService *
find_service(RulesState *st, const char *code)
{
	for (int i = 0; i < st->nservices; i++)
		if (strcmp(st->services[i].code, code) == 0)
			return &st->services[i];
	return NULL;
}

/* The client service's checks; *service_id is set for the fee match. */
static bool
check_service(RulesState *st, LedgerRequest *req, LedgerAccount **accts, int64 *service_id,
			  Refusal *r)
{
	ClientService *cs = find_service(st, req->client_service_code);
	bool		credit = req->service_direction == 'C';
	LedgerAccount *client_account = credit ? accts[1] : accts[0];
	int64		amount = req->legs[0].amount_minor;
	int128		amount_e4 = minor_to_e4(amount, client_account->exponent);

	if (cs == NULL)
		return refuse(r, ERRCODE_WALLET_SERVICE_NOT_FOUND,
					  psprintf("client service %s does not exist", req->client_service_code),
					  NULL);
	*service_id = cs->id;
	if (!cs->active)
		return refuse(r, ERRCODE_WALLET_SERVICE_REFUSED,
					  psprintf("client service %s is not active", cs->code), NULL);
	if (credit ? !cs->allow_credit : !cs->allow_debit)
		return refuse(r, ERRCODE_WALLET_SERVICE_REFUSED,
					  psprintf("client service %s does not allow %s transactions", cs->code,
							   credit ? "CREDIT" : "DEBIT"), NULL);
	if (client_account->owner_id != cs->client_owner_id)
		return refuse(r, ERRCODE_WALLET_SERVICE_REFUSED,
					  psprintf("account %s does not belong to the client of service %s",
							   client_account->account_number, cs->code), NULL);
	if (amount_e4 < cs->min_e4 || (cs->max_e4 >= 0 && amount_e4 > cs->max_e4))
		return refuse(r, ERRCODE_WALLET_SERVICE_AMOUNT,
					  psprintf("amount %s %s is outside the limits of client service %s",
							   amount_to_cstring(amount, client_account->exponent),
							   client_account->currency, cs->code),
					  psprintf("The service allows %s to %s.", e4_to_cstring(cs->min_e4),
							   cs->max_e4 >= 0 ? e4_to_cstring(cs->max_e4) : "any amount"));
	return true;
}

/* Append a leg to a request whose legs array has room; zero amounts are left out. */
void
ledger_add_leg(LedgerRequest *req, const char *account, LedgerSide side, int64 amount,
			   const char *description)
{
	LedgerLeg  *leg;

	if (amount <= 0)
		return;
	leg = &req->legs[req->nlegs++];
	memset(leg, 0, sizeof(*leg));
	leg->account_number = pstrdup(account);
	leg->side = side;
	leg->amount_minor = amount;
	leg->description = description ? pstrdup(description) : NULL;
}

/*
 * The legs of a fee, appended to its journal (room for four more legs):
 * each payer debited its part, SYS-FEE-<currency> credited the platform's
 * part and the agent its commission. They sum to zero with each other.
 */
void
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
 * Apply the rules to a resolved simple request: check its client service
 * and append its fee legs. The caller resolves the new legs.
 */
bool
rules_apply(Batch *b, LedgerRequest *req, LedgerAccount **accts, LedgerResult *res,
			Refusal *r)
{
	RulesState *st = b->rules;
	int64		service_id = 0;
	int64		amount;
	LedgerAccount *src;
	FeeQuote	q;
	LedgerLeg  *legs;

	if (req->fee_type == NULL && req->client_service_code == NULL)
		return true;
	if (req->nlegs < 2 || req->legs[0].side != SIDE_DEBIT || req->legs[1].side != SIDE_CREDIT)
		elog(ERROR, "money rules apply to a request whose first legs debit and credit");
	src = accts[0];
	amount = req->legs[0].amount_minor;
	res->exponent = src->exponent;
	st->pending_limit = NULL;
	if (req->client_service_code && !check_service(st, req, accts, &service_id, r))
		return false;
	if (req->fee_type == NULL)
		return true;
	if (limit_applies(req) && !check_limits(st, src, amount, r))
		return false;
	fee_compute(fee_match(st, req->fee_type, service_id, src->currency, amount, src->exponent),
				amount, src->exponent, req->agent_account_number != NULL, &q);
	if (q.fee_minor == 0)
		return true;
	if (req->nlegs > 2)
	{
		/* a conversion: leg 2 is the platform's FX position, so the sender pays */
		q.sender_minor = q.fee_minor;
		q.receiver_minor = 0;
	}
	if (q.receiver_minor > amount)
		return refuse(r, ERRCODE_WALLET_FEE_EXCEEDS_AMOUNT,
					  psprintf("fee %s %s exceeds the amount %s %s",
							   amount_to_cstring(q.receiver_minor, src->exponent), src->currency,
							   amount_to_cstring(amount, src->exponent), src->currency), NULL);
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
	load_schedules(&st, rules_generation_now());
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

