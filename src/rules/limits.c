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
 * Locking: usage rows are locked in (owner, currency, period) order, after
 * the batch's accounts. The common case (both rows of the day and month
 * exist) reads, locks and writes them through core/direct.c, without a
 * statement (issue 20); the first posting of an owner in a new day or
 * month creates its row with one INSERT ... ON CONFLICT DO NOTHING, in
 * its place in the same order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "core/direct.h"
#include "rules/rules_internal.h"

static SPIPlanPtr create_plan = NULL;

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

/* The UTC day of now() and the first day of its month, as dates. */
static void
utc_periods(DateADT *day, DateADT *month)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	int64		days = now / USECS_PER_DAY;
	int			y,
				m,
				d;

	if (now < 0 && now % USECS_PER_DAY != 0)
		days--;
	*day = (DateADT) days;
	j2date(*day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	*month = date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

/* One owner and currency of the batch whose money leaves it, with the highest tier. */
typedef struct LimitKey
{
	int64		owner_id;
	char		currency[4];
	int			tier;
} LimitKey;

static int
limit_key_cmp(const void *a, const void *b)
{
	const LimitKey *x = a;
	const LimitKey *y = b;

	if (x->owner_id != y->owner_id)
		return x->owner_id < y->owner_id ? -1 : 1;
	return strcmp(x->currency, y->currency);
}

/* The distinct (owner, currency) of the batch, in lock order. */
static LimitKey *
limit_keys(Column *owners, Column *currencies, Column *tiers, int *n)
{
	LimitKey   *keys = palloc0(sizeof(LimitKey) * owners->n);

	*n = 0;
	for (int i = 0; i < owners->n; i++)
	{
		LimitKey	k;
		int			j;

		k.owner_id = DatumGetInt64(owners->values[i]);
		text_to_cstring_buffer(DatumGetTextPP(currencies->values[i]), k.currency,
							   sizeof(k.currency));
		k.tier = DatumGetInt16(tiers->values[i]);
		for (j = 0; j < *n && limit_key_cmp(&keys[j], &k) != 0; j++)
			;
		if (j == *n)
			keys[(*n)++] = k;
		else
			keys[j].tier = Max(keys[j].tier, k.tier);
	}
	qsort(keys, *n, sizeof(LimitKey), limit_key_cmp);
	return keys;
}

/* The tables of one load_limits() call, opened once, their columns found once. */
typedef struct LimitsScan
{
	Relation	lim;			/* kyc_tier_limits and its primary key */
	Relation	lim_index;
	Relation	use;			/* limit_usage and its primary key */
	Relation	use_index;
	Snapshot	snap;
	TupleTableSlot *lslot;
	TupleTableSlot *uslot;
	AttrNumber	lim_att[4];		/* per transaction, daily, monthly, count per day */
	AttrNumber	use_amount;
	AttrNumber	use_count;
} LimitsScan;

static void
scan_begin(LimitsScan *s)
{
	static const char *const lim_columns[4] = {
		"per_transaction_max_minor", "daily_max_minor", "monthly_max_minor",
		"transactions_per_day"
	};

	s->lim = table_open(direct_relid("kyc_tier_limits"), AccessShareLock);
	s->lim_index = index_open(direct_relid("kyc_tier_limits_pkey"), AccessShareLock);
	s->use = table_open(direct_relid("limit_usage"), RowShareLock);
	s->use_index = index_open(direct_relid("limit_usage_pkey"), AccessShareLock);
	s->snap = RegisterSnapshot(GetTransactionSnapshot());
	s->lslot = table_slot_create(s->lim, NULL);
	s->uslot = table_slot_create(s->use, NULL);
	direct_attnums(s->lim, lim_columns, 4, s->lim_att);
	s->use_amount = direct_attnum(s->use, "amount_minor");
	s->use_count = direct_attnum(s->use, "tx_count");
}

static void
scan_end(LimitsScan *s)
{
	ExecDropSingleTupleTableSlot(s->lslot);
	ExecDropSingleTupleTableSlot(s->uslot);
	UnregisterSnapshot(s->snap);
	index_close(s->use_index, AccessShareLock);
	table_close(s->use, NoLock);
	index_close(s->lim_index, AccessShareLock);
	table_close(s->lim, NoLock);
}

/* Read what a tier may move in a currency; false when no limit is set. */
static bool
fetch_tier_limits(LimitsScan *s, LimitKey *k, OwnerLimit *ls)
{
	ScanKeyData keys[2];
	bool		isnull;

	direct_key(&keys[0], s->lim_index, 1, F_INT2EQ, Int16GetDatum(k->tier));
	direct_key(&keys[1], s->lim_index, 2, F_TEXTEQ, CStringGetTextDatum(k->currency));
	if (!direct_fetch(s->lim, s->lim_index, s->snap, keys, 2, s->lslot))
		return false;
	ls->owner_id = k->owner_id;
	strlcpy(ls->currency, k->currency, sizeof(ls->currency));
	ls->tier = k->tier;
	ls->per_transaction_max = DatumGetInt64(slot_getattr(s->lslot, s->lim_att[0], &isnull));
	ls->daily_max = DatumGetInt64(slot_getattr(s->lslot, s->lim_att[1], &isnull));
	ls->monthly_max = DatumGetInt64(slot_getattr(s->lslot, s->lim_att[2], &isnull));
	ls->daily_count_max = DatumGetInt32(slot_getattr(s->lslot, s->lim_att[3], &isnull));
	return true;
}

/* Find the usage row of one period with snap; false when it does not exist yet. */
static bool
find_usage(LimitsScan *s, Snapshot snap, LimitKey *k, char period, DateADT start,
		   ItemPointer tid)
{
	ScanKeyData keys[4];

	direct_key(&keys[0], s->use_index, 1, F_INT8EQ, Int64GetDatum(k->owner_id));
	direct_key(&keys[1], s->use_index, 2, F_TEXTEQ, CStringGetTextDatum(k->currency));
	direct_key(&keys[2], s->use_index, 3, F_CHAREQ, CharGetDatum(period));
	direct_key(&keys[3], s->use_index, 4, F_DATE_EQ, DateADTGetDatum(start));
	if (!direct_fetch(s->use, s->use_index, snap, keys, 4, s->uslot))
		return false;
	*tid = s->uslot->tts_tid;
	return true;
}

/*
 * Create the usage row of a new day or month (zero), unless another
 * transaction just did (its insert is waited for, as ON CONFLICT does).
 */
static void
create_usage(LimitKey *k, char period, DateADT start)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, CHAROID, DATEOID};
	Datum		values[4] = {Int64GetDatum(k->owner_id), CStringGetTextDatum(k->currency),
	CharGetDatum(period), DateADTGetDatum(start)};

	wallet_plan(&create_plan,
				"INSERT INTO pg_wallet.limit_usage (owner_id, currency, period, period_start)"
				" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, argtypes);
	if (SPI_execute_plan(create_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "limit usage row creation failed");
	CommandCounterIncrement();
}

/*
 * Lock one period's usage row (created first when it is the period's first
 * posting) and read its counters.
 */
static void
lock_usage(LimitsScan *s, LimitKey *k, char period, DateADT start, ItemPointer tid,
		   int64 *amount, int64 *count)
{
	bool		isnull;

	if (!find_usage(s, s->snap, k, period, start, tid))
	{
		Snapshot	latest;
		bool		found;

		create_usage(k, period, start);
		latest = RegisterSnapshot(GetLatestSnapshot());
		found = find_usage(s, latest, k, period, start, tid);
		UnregisterSnapshot(latest);
		if (!found)
			elog(ERROR, "limit usage row of owner %lld is missing after its creation",
				 (long long) k->owner_id);
	}
	if (!direct_lock(s->use, tid, s->snap, s->uslot, "a limit usage row"))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("a limit usage row was deleted while this posting waited for it"),
				 errhint("Retry the transaction.")));
	*amount = DatumGetInt64(slot_getattr(s->uslot, s->use_amount, &isnull));
	if (count)
		*count = DatumGetInt32(slot_getattr(s->uslot, s->use_count, &isnull));
}

/*
 * Lock and read the usage counters of the owners (with a KYC tier) whose
 * accounts the batch takes money from, in (owner, currency, period) order:
 * the day's row, then the month's. Counters of a new day or month start at
 * zero.
 */
void
load_limits(RulesState *st, Column *owners, Column *currencies, Column *tiers)
{
	LimitsScan	s;
	DateADT		day,
				month;
	LimitKey   *keys;
	int			nkeys;

	st->nlimits = 0;
	if (owners->n == 0)
		return;
	keys = limit_keys(owners, currencies, tiers, &nkeys);
	st->limits = palloc0(sizeof(OwnerLimit) * (nkeys + 1));
	scan_begin(&s);
	utc_periods(&day, &month);
	for (int i = 0; i < nkeys; i++)
	{
		OwnerLimit *ls = &st->limits[st->nlimits];

		if (!fetch_tier_limits(&s, &keys[i], ls))
			continue;			/* no limits for this tier and currency */
		lock_usage(&s, &keys[i], 'D', day, &ls->day_tid, &ls->day_amount, &ls->day_count);
		lock_usage(&s, &keys[i], 'M', month, &ls->month_tid, &ls->month_amount, NULL);
		st->nlimits++;
	}
	scan_end(&s);
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

/* Write the counters the batch changed, in the rows load_limits() locked. */
void
limits_write(RulesState *st)
{
	static const char *const checks[] = {
		"limit_usage_period_check", "limit_usage_amount_minor_check",
		"limit_usage_tx_count_check", NULL
	};
	DirectTable t;
	AttrNumber	att[2];
	bool		open = false;

	for (int i = 0; st != NULL && i < st->nlimits; i++)
	{
		OwnerLimit *ls = &st->limits[i];
		Datum		values[2];

		if (!ls->dirty)
			continue;
		if (!open)
		{
			direct_begin(&t, "limit_usage", checks, true);
			att[0] = direct_attnum(t.rel, "amount_minor");
			att[1] = direct_attnum(t.rel, "tx_count");
			open = true;
		}
		if (ls->day_amount < 0 || ls->month_amount < 0)
			direct_violated(&t, "limit_usage_amount_minor_check");
		if (ls->day_count < 0 || ls->day_count > PG_INT32_MAX)
			direct_violated(&t, "limit_usage_tx_count_check");
		values[0] = Int64GetDatum(ls->day_amount);
		values[1] = Int32GetDatum((int32) ls->day_count);
		direct_update(&t, &ls->day_tid, 2, att, values);
		values[0] = Int64GetDatum(ls->month_amount);
		direct_update(&t, &ls->month_tid, 1, att, values);
	}
	if (open)
		direct_end(&t);
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
