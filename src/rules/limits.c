/*-------------------------------------------------------------------------
 *
 * limits.c
 *	  KYC tier limits, applied inside the posting path: per-transaction, daily
 *	  and monthly amounts and transactions per day, per currency, on money
 *	  leaving the accounts of an owner that has a KYC tier (the core hands
 *	  the tier over with each account, as data: accounts.kyc_tier, kept by
 *	  the identity layer).
 *	  Usage is kept in rolling counters (limit_usage, one row per owner and
 *	  currency holding its current UTC day and month) locked in key order and
 *	  written in the same transaction as the posting, so no check scans
 *	  history and two postings of one owner cannot together exceed a limit.
 *
 * Owns: limit_usage. Never: writes balances.
 *
 * Locking: usage rows are locked in (owner, currency) order, after the
 * batch's accounts. The common case (the row exists) reads, locks and
 * writes it through core/direct.c, without a statement (issue 20): one
 * index probe, one lock and one update per owner and currency, whatever
 * the periods (one row per period cost twice that). The owner's first
 * limited posting in the currency creates the row with one INSERT ... ON
 * CONFLICT DO NOTHING, in its place in the same order. A row of an earlier
 * day (month) starts that counter again at zero; a row already in a later
 * day than the posting's transaction (which began before midnight) keeps
 * its day, and the posting counts in it: never less than the truth.
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

/*
 * The distinct (owner, currency) of the batch, in lock order: sorted, then
 * the duplicates merged (a search per item was quadratic in a batch).
 */
static LimitKey *
limit_keys(Column *owners, Column *currencies, Column *tiers, int *n)
{
	LimitKey   *keys = palloc0(sizeof(LimitKey) * owners->n);

	for (int i = 0; i < owners->n; i++)
	{
		keys[i].owner_id = DatumGetInt64(owners->values[i]);
		text_to_cstring_buffer(DatumGetTextPP(currencies->values[i]), keys[i].currency,
							   sizeof(keys[i].currency));
		keys[i].tier = DatumGetInt16(tiers->values[i]);
	}
	qsort(keys, owners->n, sizeof(LimitKey), limit_key_cmp);
	*n = 0;
	for (int i = 0; i < owners->n; i++)
	{
		if (*n > 0 && limit_key_cmp(&keys[*n - 1], &keys[i]) == 0)
			keys[*n - 1].tier = Max(keys[*n - 1].tier, keys[i].tier);
		else
			keys[(*n)++] = keys[i];
	}
	return keys;
}

/* limit_usage's counters, in the order limits_write() sets them. */
#define USE_NCOLS 5
static const char *const use_columns[USE_NCOLS] = {
	"day_start", "day_amount_minor", "day_count", "month_start", "month_amount_minor"
};

/* The tables of one load_limits() call, opened once, their columns found once. */
typedef struct LimitsScan
{
	Relation	lim;			/* kyc_tier_limits and its primary key */
	Relation	lim_index;
	TupleTableSlot *lslot;
	DirectRead	use;			/* limit_usage through its primary key, for locks */
	AttrNumber	lim_att[4];		/* per transaction, daily, monthly, count per day */
	AttrNumber	use_att[USE_NCOLS];
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
	s->lslot = table_slot_create(s->lim, NULL);
	direct_attnums(s->lim, lim_columns, 4, s->lim_att);
	direct_read_for_update(&s->use, "limit_usage", "limit_usage_pkey");
	direct_attnums(s->use.rel, use_columns, USE_NCOLS, s->use_att);
}

static void
scan_end(LimitsScan *s)
{
	direct_read_end(&s->use);
	ExecDropSingleTupleTableSlot(s->lslot);
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
	if (!direct_fetch(s->lim, s->lim_index, s->use.snap, keys, 2, s->lslot))
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

/*
 * What a tier may move in a currency, read once per batch: a batch's owners
 * share a handful of (tier, currency), each read before by an index probe per
 * owner.
 */
#define TIER_MEMO 8
typedef struct TierMemo
{
	int			tier;
	char		currency[4];
	bool		found;
	OwnerLimit	limits;
} TierMemo;

static bool
tier_limits(LimitsScan *s, TierMemo *memo, int *nmemo, LimitKey *k, OwnerLimit *ls)
{
	bool		found;

	for (int i = 0; i < *nmemo; i++)
		if (memo[i].tier == k->tier && strcmp(memo[i].currency, k->currency) == 0)
		{
			if (!memo[i].found)
				return false;
			*ls = memo[i].limits;
			ls->owner_id = k->owner_id;
			return true;
		}
	found = fetch_tier_limits(s, k, ls);
	if (*nmemo < TIER_MEMO)
	{
		memo[*nmemo].tier = k->tier;
		strlcpy(memo[*nmemo].currency, k->currency, sizeof(memo[*nmemo].currency));
		memo[*nmemo].found = found;
		if (found)
			memo[*nmemo].limits = *ls;
		(*nmemo)++;
	}
	return found;
}

/* The usage row direct_read_lock() creates: zero, in this day and month. */
typedef struct UsageKey
{
	LimitKey   *key;
	DateADT		day;
	DateADT		month;
} UsageKey;

/*
 * Create the owner's usage row in the currency (zero, this day and month),
 * unless another transaction just did (its insert is waited for, as ON
 * CONFLICT does).
 */
static void
create_usage(void *arg)
{
	UsageKey   *u = arg;
	Oid			argtypes[4] = {INT8OID, TEXTOID, DATEOID, DATEOID};
	Datum		values[4] = {Int64GetDatum(u->key->owner_id),
		CStringGetTextDatum(u->key->currency), DateADTGetDatum(u->day),
	DateADTGetDatum(u->month)};

	wallet_plan(&create_plan,
				"INSERT INTO pg_wallet.limit_usage (owner_id, currency, day_start, month_start)"
				" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, argtypes);
	if (SPI_execute_plan(create_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "limit usage row creation failed");
}

/*
 * Lock the owner's usage row (created first when it is the owner's first
 * limited posting in the currency) and read its counters into ls: a counter
 * of an earlier day or month than the posting's starts again at zero.
 */
static void
lock_usage(LimitsScan *s, LimitKey *k, DateADT day, DateADT month, OwnerLimit *ls)
{
	UsageKey	u = {k, day, month};
	ScanKeyData keys[2];
	TupleTableSlot *slot = s->use.slot;
	bool		isnull;

	direct_key(&keys[0], s->use.index, 1, F_INT8EQ, Int64GetDatum(k->owner_id));
	direct_key(&keys[1], s->use.index, 2, F_TEXTEQ, CStringGetTextDatum(k->currency));
	ls->tid = direct_read_lock(&s->use, keys, 2, create_usage, &u, "a limit usage row");
	ls->day_start = DatumGetDateADT(slot_getattr(slot, s->use_att[0], &isnull));
	ls->day_amount = DatumGetInt64(slot_getattr(slot, s->use_att[1], &isnull));
	ls->day_count = DatumGetInt32(slot_getattr(slot, s->use_att[2], &isnull));
	ls->month_start = DatumGetDateADT(slot_getattr(slot, s->use_att[3], &isnull));
	ls->month_amount = DatumGetInt64(slot_getattr(slot, s->use_att[4], &isnull));
	if (ls->day_start < day)
	{
		ls->day_start = day;
		ls->day_amount = 0;
		ls->day_count = 0;
	}
	if (ls->month_start < month)
	{
		ls->month_start = month;
		ls->month_amount = 0;
	}
}

/*
 * Lock and read the usage counters of the owners (with a KYC tier) whose
 * accounts the batch takes money from, in (owner, currency) order.
 */
void
load_limits(RulesState *st, Column *owners, Column *currencies, Column *tiers)
{
	LimitsScan	s;
	DateADT		day,
				month;
	LimitKey   *keys;
	int			nkeys;
	TierMemo	memo[TIER_MEMO];
	int			nmemo = 0;

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

		if (!tier_limits(&s, memo, &nmemo, &keys[i], ls))
			continue;			/* no limits for this tier and currency */
		lock_usage(&s, &keys[i], day, month, ls);
		st->nlimits++;
	}
	scan_end(&s);
}

/* An owner's limits in a currency: a binary search (load_limits() keeps key order). */
static OwnerLimit *
find_limit(RulesState *st, int64 owner_id, const char *currency)
{
	int			lo = 0,
				hi = st->nlimits - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		OwnerLimit *ls = &st->limits[mid];
		int			c = ls->owner_id != owner_id ? (ls->owner_id < owner_id ? -1 : 1) :
			strcmp(ls->currency, currency);

		if (c == 0)
			return ls;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
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
		"limit_usage_day_amount_minor_check", "limit_usage_day_count_check",
		"limit_usage_month_amount_minor_check", NULL
	};
	DirectTable t;
	AttrNumber	att[USE_NCOLS];
	bool		open = false;

	for (int i = 0; st != NULL && i < st->nlimits; i++)
	{
		OwnerLimit *ls = &st->limits[i];
		Datum		values[USE_NCOLS];

		if (!ls->dirty)
			continue;
		if (!open)
		{
			direct_begin(&t, "limit_usage", checks, true);
			direct_attnums(t.rel, use_columns, USE_NCOLS, att);
			open = true;
		}
		if (ls->day_amount < 0)
			direct_violated(&t, "limit_usage_day_amount_minor_check");
		if (ls->day_count < 0 || ls->day_count > PG_INT32_MAX)
			direct_violated(&t, "limit_usage_day_count_check");
		if (ls->month_amount < 0)
			direct_violated(&t, "limit_usage_month_amount_minor_check");
		values[0] = DateADTGetDatum(ls->day_start);
		values[1] = Int64GetDatum(ls->day_amount);
		values[2] = Int32GetDatum((int32) ls->day_count);
		values[3] = DateADTGetDatum(ls->month_start);
		values[4] = Int64GetDatum(ls->month_amount);
		direct_update(&t, &ls->tid, USE_NCOLS, att, values);
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
							  "  day_amount_minor = CASE WHEN u.day_start = d.day"
							  "    THEN greatest(u.day_amount_minor - $3, 0)"
							  "    ELSE u.day_amount_minor END,"
							  "  day_count = CASE WHEN u.day_start = d.day"
							  "    THEN greatest(u.day_count - 1, 0) ELSE u.day_count END,"
							  "  month_amount_minor = CASE WHEN u.month_start = d.month"
							  "    THEN greatest(u.month_amount_minor - $3, 0)"
							  "    ELSE u.month_amount_minor END"
							  " FROM (SELECT ($4 AT TIME ZONE 'UTC')::date AS day,"
							  "   date_trunc('month', $4 AT TIME ZONE 'UTC')::date AS month) d"
							  " WHERE u.owner_id = $1 AND u.currency = $2",
							  4, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "limit usage update failed");
}
