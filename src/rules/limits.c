/*-------------------------------------------------------------------------
 *
 * limits.c
 *	  KYC tier limits, applied inside the posting path: per-transaction, daily
 *	  and monthly amounts and transactions per day, per currency, on money
 *	  leaving the accounts of an owner that has a KYC tier (the core hands
 *	  the tier over with each account, as data: accounts.kyc_tier, kept by
 *	  the identity layer).
 *	  Usage is kept in rolling counters (limit_usage, one row per owner,
 *	  currency and UTC day or month) locked in key order and written in the
 *	  same transaction as the posting, so no check scans history and two
 *	  postings of one owner cannot together exceed a limit.
 *
 * Owns: limit_usage. Never: writes balances.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "rules/rules_internal.h"

static SPIPlanPtr limits_plan = NULL;
static SPIPlanPtr usage_plan = NULL;

/* ---------------------------------------------------------------------
 * KYC tier limits
 * ---------------------------------------------------------------------
 */

/*
 * Money leaving an owner's account counts against its limits; deposits do
 * not. The one place this rule is written (postings and holds call it).
 */
bool
limit_applies(const char *fee_type)
{
	return fee_type != NULL && strcmp(fee_type, "DEPOSIT") != 0;
}

/*
 * Lock and read the usage counters of the owners (with a KYC tier) whose
 * accounts the batch takes money from. Counters of a new day or month start
 * at zero. One statement; rows are created and locked in key order.
 */
void
load_limits(RulesState *st, Column *owners, Column *currencies, Column *tiers)
{
	Oid			argtypes[3] = {INT8ARRAYOID, TEXTARRAYOID, INT2ARRAYOID};
	Datum		values[3];

	st->nlimits = 0;
	if (owners->n == 0)
		return;
	wallet_plan(&limits_plan,
				"WITH req AS (SELECT r.owner_id, r.currency, max(r.tier) AS tier"
				"   FROM unnest($1::bigint[], $2::text[], $3::smallint[])"
				"     AS r(owner_id, currency, tier) GROUP BY 1, 2),"
				" lim AS (SELECT r.owner_id, r.currency, r.tier, l.per_transaction_max_minor,"
				"   l.daily_max_minor, l.monthly_max_minor, l.transactions_per_day"
				"   FROM req r"
				"   JOIN pg_wallet.kyc_tier_limits l"
				"     ON l.tier = r.tier AND l.currency = r.currency),"
				" periods AS (SELECT 'D'::\"char\" AS period,"
				"   (now() AT TIME ZONE 'UTC')::date AS start"
				"   UNION ALL SELECT 'M', date_trunc('month', now() AT TIME ZONE 'UTC')::date),"
				" up AS (INSERT INTO pg_wallet.limit_usage AS u (owner_id, currency, period,"
				"     period_start)"
				"   SELECT lim.owner_id, lim.currency, p.period, p.start FROM lim, periods p"
				"   ORDER BY 1, 2, 3"
				"   ON CONFLICT (owner_id, currency, period, period_start)"
				"   DO UPDATE SET amount_minor = u.amount_minor"
				"   RETURNING u.owner_id, u.currency, u.period, u.amount_minor, u.tx_count)"
				" SELECT lim.owner_id, lim.currency, lim.tier, lim.per_transaction_max_minor,"
				"   lim.daily_max_minor, lim.monthly_max_minor, lim.transactions_per_day,"
				"   d.amount_minor, d.tx_count, m.amount_minor"
				" FROM lim"
				" JOIN up d ON d.owner_id = lim.owner_id AND d.currency = lim.currency"
				"   AND d.period = 'D'"
				" JOIN up m ON m.owner_id = lim.owner_id AND m.currency = lim.currency"
				"   AND m.period = 'M'",
				3, argtypes);
	values[0] = column_array(owners);
	values[1] = column_array(currencies);
	values[2] = column_array(tiers);
	if (SPI_execute_plan(limits_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "limit usage look-up failed");
	st->limits = palloc0(sizeof(OwnerLimit) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		OwnerLimit *ls = &st->limits[st->nlimits++];
		bool		isnull;

		ls->owner_id = get_int64(tup, desc, 1);
		strlcpy(ls->currency, SPI_getvalue(tup, desc, 2), sizeof(ls->currency));
		ls->tier = DatumGetInt16(SPI_getbinval(tup, desc, 3, &isnull));
		ls->per_transaction_max = get_int64(tup, desc, 4);
		ls->daily_max = get_int64(tup, desc, 5);
		ls->monthly_max = get_int64(tup, desc, 6);
		ls->daily_count_max = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
		ls->day_amount = get_int64(tup, desc, 8);
		ls->day_count = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
		ls->month_amount = get_int64(tup, desc, 10);
	}
}

static OwnerLimit *
find_limit(RulesState *st, int64 owner_id, const char *currency)
{
	for (int i = 0; i < st->nlimits; i++)
		if (st->limits[i].owner_id == owner_id && strcmp(st->limits[i].currency, currency) == 0)
			return &st->limits[i];
	return NULL;
}

/* A refusal that names the limit, the amount used and what remains. */
static bool
limit_refusal(LedgerRefusal *r, OwnerLimit *ls, const char *which, int64 limit, int64 used,
			  int64 amount, int exponent)
{
	return ledger_refuse(r, ERRCODE_WALLET_LIMIT_EXCEEDED,
				         psprintf("%s limit exceeded: limit %s %s, used %s %s, remaining %s %s, "
						          "requested %s %s", which,
						          amount_to_cstring(limit, exponent), ls->currency,
						          amount_to_cstring(used, exponent), ls->currency,
						          amount_to_cstring(Max(limit - used, 0), exponent), ls->currency,
						          amount_to_cstring(amount, exponent), ls->currency),
				         psprintf("KYC tier %d limits apply; the day and month are UTC.",
									  ls->tier));
}

/* Check one request against its owner's limits; remember what it would add. */
bool
check_limits(RulesState *st, int64 owner_id, const char *currency, int exponent,
			 int64 amount, LedgerRefusal *r)
{
	OwnerLimit *ls = find_limit(st, owner_id, currency);
	int			e = exponent;

	if (ls == NULL)
		return true;
	if (amount > ls->per_transaction_max)
		return limit_refusal(r, ls, "per-transaction", ls->per_transaction_max, 0, amount, e);
	if (ls->day_count + 1 > ls->daily_count_max)
		return ledger_refuse(r, ERRCODE_WALLET_LIMIT_EXCEEDED,
					         psprintf("daily transaction count limit exceeded: "
									  "limit %lld, used %lld",
							          (long long) ls->daily_count_max, (long long) ls->day_count),
					         psprintf("KYC tier %d limits apply; the day is UTC.", ls->tier));
	if (ls->day_amount + amount > ls->daily_max)
		return limit_refusal(r, ls, "daily", ls->daily_max, ls->day_amount, amount, e);
	if (ls->month_amount + amount > ls->monthly_max)
		return limit_refusal(r, ls, "monthly", ls->monthly_max, ls->month_amount, amount, e);
	st->pending_limit = ls;
	st->pending_amount = amount;
	return true;
}

/* The request was posted: its amount now counts. */
void
limits_commit(RulesState *st)
{
	OwnerLimit *ls = st->pending_limit;

	if (ls == NULL)
		return;
	ls->day_amount += st->pending_amount;
	ls->month_amount += st->pending_amount;
	ls->day_count++;
	ls->dirty = true;
	st->pending_limit = NULL;
}

/* Write the counters the batch changed, in one statement. */
void
limits_write(RulesState *st)
{
	Oid			argtypes[5] = {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
	INT8ARRAYOID};
	Datum		values[5];
	Column		cols[5];

	if (st == NULL)
		return;
	column_init(&cols[0], INT8OID);
	column_init(&cols[1], TEXTOID);
	for (int i = 2; i < 5; i++)
		column_init(&cols[i], INT8OID);
	for (int i = 0; i < st->nlimits; i++)
	{
		OwnerLimit *ls = &st->limits[i];

		if (!ls->dirty)
			continue;
		column_add(&cols[0], Int64GetDatum(ls->owner_id), false);
		column_add(&cols[1], CStringGetTextDatum(ls->currency), false);
		column_add(&cols[2], Int64GetDatum(ls->day_amount), false);
		column_add(&cols[3], Int64GetDatum(ls->day_count), false);
		column_add(&cols[4], Int64GetDatum(ls->month_amount), false);
	}
	if (cols[0].n == 0)
		return;
	for (int i = 0; i < 5; i++)
		values[i] = column_array(&cols[i]);
	wallet_plan(&usage_plan,
				"UPDATE pg_wallet.limit_usage u SET"
				"  amount_minor = CASE u.period WHEN 'D' THEN v.day ELSE v.month END,"
				"  tx_count = CASE u.period WHEN 'D' THEN v.n ELSE u.tx_count + 0 END"
				" FROM unnest($1, $2, $3, $4, $5) AS v(owner_id, currency, day, n, month)"
				" WHERE u.owner_id = v.owner_id AND u.currency = v.currency"
				"   AND ((u.period = 'D' AND u.period_start = (now() AT TIME ZONE 'UTC')::date)"
				"     OR (u.period = 'M' AND u.period_start ="
				"         date_trunc('month', now() AT TIME ZONE 'UTC')::date))",
				5, argtypes);
	if (SPI_execute_plan(usage_plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "limit usage update failed");
}

/* ---------------------------------------------------------------------
 * Holds
 * ---------------------------------------------------------------------
 */

/*
 * Give a released hold's amount back to its owner's usage, for the day and
 * month it was counted in, if they are still current.
 */
void
limits_hold_release(int64 owner_id, const char *currency, int64 amount,
					TimestampTz placed_at)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID};
	Datum		values[4] = {Int64GetDatum(owner_id), CStringGetTextDatum(currency),
	Int64GetDatum(amount), TimestampTzGetDatum(placed_at)};

	if (SPI_execute_with_args("UPDATE pg_wallet.limit_usage u SET"
							  "  amount_minor = greatest(u.amount_minor - $3, 0),"
							  "  tx_count = CASE u.period WHEN 'D'"
							  "    THEN greatest(u.tx_count - 1, 0) ELSE u.tx_count END"
							  " WHERE u.owner_id = $1 AND u.currency = $2"
							  "   AND ((u.period = 'D' AND u.period_start ="
							  "         ($4 AT TIME ZONE 'UTC')::date)"
							  "     OR (u.period = 'M' AND u.period_start ="
							  "         date_trunc('month', $4 AT TIME ZONE 'UTC')::date))",
							  4, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "limit usage update failed");
}
