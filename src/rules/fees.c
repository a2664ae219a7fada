/*-------------------------------------------------------------------------
 *
 * fees.c
 *	  Fee schedules and fee arithmetic: the active schedules (cached per
 *	  backend behind the posting configuration stamp), the schedule that
 *	  applies to a transaction type, client service, currency and amount, and
 *	  what it comes to. The same code quotes a fee (calculate_fee) and charges
 *	  it (rules.c), so a quote always equals the charge.
 *
 * Fee arithmetic is integer only. fee = fixed + round_half_up(amount x
 * rate), clamped to [min_fee, max_fee]. A SPLIT fee gives the sender
 * round_half_up(fee x sender_share) and the receiver the rest; an agent's
 * commission is round_half_up(fee x commission_rate) and the platform keeps
 * the rest. Every part is a whole minor unit and the parts add up to the
 * fee, so a fee never creates or loses a minor unit.
 *
 * Owns: fee_schedules semantics. Never: writes tables.
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

char *
e4_to_cstring(int64 e4)
{
	return amount_to_cstring(e4, WALLET_MAX_EXPONENT);
}

/* ---------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------
 */
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
