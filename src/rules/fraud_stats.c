/*-------------------------------------------------------------------------
 *
 * fraud_stats.c
 *	  The tables fraud scoring reads and writes: its settings, the owners'
 *	  running statistics (fraud_owner_stats: count, mean and Welford M2 of
 *	  amounts, velocity windows, recent countries), known devices, IP
 *	  reputation ranges and allow/deny rules. Every read is an index probe
 *	  by key: the cost of a score does not grow with an owner's history.
 *
 * Owns: fraud_owner_stats and fraud_known_devices (written only here, in
 * the posting's transaction). Never: writes balances or journals.
 *
 * Locking: an owner's statistics row in one currency is locked (FOR
 * UPDATE) once per batch, in (owner, currency) order, after the accounts
 * and the KYC limit counters; it is created first (INSERT ... ON CONFLICT
 * DO NOTHING) by the owner's first scored posting in that currency. So two
 * concurrent postings of one owner take turns and neither loses the
 * other's update.
 *
 * Money stays exact: amounts are int64 minor units, the mean and M2 are
 * int128 fixed-point in C and numeric in the table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "core/pg_wallet.h"
#include "rules/fraud.h"

#define OWNER_CACHE_MAX 10000
#define INT128_CAP (((int128) 1) << 120)	/* M2 saturates here */

static SPIPlanPtr settings_plan = NULL;
static SPIPlanPtr kind_plan = NULL;
static SPIPlanPtr stats_lock_plan = NULL;
static SPIPlanPtr stats_read_plan = NULL;
static SPIPlanPtr stats_create_plan = NULL;
static SPIPlanPtr stats_write_plan = NULL;
static SPIPlanPtr device_plan = NULL;
static SPIPlanPtr device_write_plan = NULL;
static SPIPlanPtr rules_plan = NULL;
static SPIPlanPtr ip_plan = NULL;

/* ---------------------------------------------------------------------
 * int128 <-> numeric
 * ---------------------------------------------------------------------
 */
char *
int128_to_cstring(int128 v)
{
	char		buf[48];
	char	   *p = buf + sizeof(buf) - 1;
	bool		neg = v < 0;
	uint128		u = neg ? -(uint128) v : (uint128) v;

	*p = '\0';
	do
	{
		*--p = '0' + (int) (u % 10);
		u /= 10;
	} while (u != 0);
	if (neg)
		*--p = '-';
	return pstrdup(p);
}

/* A numeric's integral part as int128, saturated at +-INT128_CAP. */
int128
numeric_to_int128(Datum num)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out,
														DirectFunctionCall2(numeric_trunc, num,
																			Int32GetDatum(0))));
	bool		neg = *s == '-';
	int128		v = 0;

	for (char *p = s + (neg ? 1 : 0); *p >= '0' && *p <= '9'; p++)
	{
		v = v * 10 + (*p - '0');
		if (v >= INT128_CAP)
			return neg ? -INT128_CAP : INT128_CAP;
	}
	return neg ? -v : v;
}

static Datum
int128_numeric(int128 v)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(int128_to_cstring(v)),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* ---------------------------------------------------------------------
 * Settings and owners
 * ---------------------------------------------------------------------
 */
void
fraud_load_settings(FraudSettings *s)
{
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	memset(s, 0, sizeof(*s));
	/*
	 * Before ALTER EXTENSION ... UPDATE has created the fraud tables (the
	 * new library serves the old schema meanwhile), scoring is off.
	 */
	if (settings_plan == NULL &&
		!OidIsValid(get_relname_relid("fraud_settings",
									  get_namespace_oid("pg_wallet", false))))
		return;
	wallet_plan(&settings_plan,
				"SELECT is_enabled, weight_amount, weight_device, weight_velocity, weight_geo,"
				" weight_ip, medium_from, high_from, critical_from, block_from,"
				" max_per_minute, max_per_hour, min_samples, model_version"
				" FROM pg_wallet.fraud_settings WHERE id", 0, NULL);
	if (SPI_execute_plan(settings_plan, NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "fraud settings read failed");
	if (SPI_processed == 0)
		return;					/* no settings row: scoring is off */
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	s->enabled = DatumGetBool(SPI_getbinval(t, d, 1, &isnull));
	s->w_amount = DatumGetInt16(SPI_getbinval(t, d, 2, &isnull));
	s->w_device = DatumGetInt16(SPI_getbinval(t, d, 3, &isnull));
	s->w_velocity = DatumGetInt16(SPI_getbinval(t, d, 4, &isnull));
	s->w_geo = DatumGetInt16(SPI_getbinval(t, d, 5, &isnull));
	s->w_ip = DatumGetInt16(SPI_getbinval(t, d, 6, &isnull));
	s->medium_from = DatumGetInt16(SPI_getbinval(t, d, 7, &isnull));
	s->high_from = DatumGetInt16(SPI_getbinval(t, d, 8, &isnull));
	s->critical_from = DatumGetInt16(SPI_getbinval(t, d, 9, &isnull));
	s->block_from = DatumGetInt16(SPI_getbinval(t, d, 10, &isnull));
	s->max_per_minute = DatumGetInt32(SPI_getbinval(t, d, 11, &isnull));
	s->max_per_hour = DatumGetInt32(SPI_getbinval(t, d, 12, &isnull));
	s->min_samples = DatumGetInt32(SPI_getbinval(t, d, 13, &isnull));
	strlcpy(s->model_version, TextDatumGetCString(SPI_getbinval(t, d, 14, &isnull)),
			sizeof(s->model_version));
}

typedef struct OwnerKindEntry
{
	int64		owner_id;
	bool		is_user;
} OwnerKindEntry;

static HTAB *owner_kinds = NULL;

/*
 * Whether an owner is a user (owners.kind = 'user'): only users' postings
 * are scored. An owner's kind never changes, so it is cached per backend
 * (at most OWNER_CACHE_MAX owners, then the cache starts again).
 */
bool
fraud_owner_is_user(int64 owner_id)
{
	OwnerKindEntry *e;
	bool		found;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(owner_id)};
	bool		isnull;
	bool		is_user;

	if (owner_kinds != NULL && hash_get_num_entries(owner_kinds) >= OWNER_CACHE_MAX)
	{
		hash_destroy(owner_kinds);
		owner_kinds = NULL;
	}
	if (owner_kinds == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(OwnerKindEntry);
		owner_kinds = hash_create("pg_wallet fraud owner kinds", 256, &ctl,
								  HASH_ELEM | HASH_BLOBS);
	}
	e = hash_search(owner_kinds, &owner_id, HASH_FIND, NULL);
	if (e != NULL)
		return e->is_user;
	wallet_plan(&kind_plan, "SELECT kind = 'user' FROM pg_wallet.owners WHERE id = $1",
				1, argtypes);
	if (SPI_execute_plan(kind_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "owner kind read failed");
	if (SPI_processed == 0)
		return false;
	is_user = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										 &isnull));
	e = hash_search(owner_kinds, &owner_id, HASH_ENTER, &found);
	e->is_user = is_user;
	return is_user;
}

/* ---------------------------------------------------------------------
 * Statistics
 * ---------------------------------------------------------------------
 */

/* Whether a window that started at start (-infinity: never) still holds now. */
bool
fraud_in_window(TimestampTz start, TimestampTz now, int64 length)
{
	return start <= now && start > now - length;
}
#define STATS_COLUMNS \
	"SELECT tx_count, mean_e4, m2_e8, minute_start, minute_count, hour_start, hour_count," \
	" countries FROM pg_wallet.fraud_owner_stats WHERE owner_id = $1 AND currency = $2"

static bool
stats_select(FraudStats *st, bool lock)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(st->owner_id), CStringGetTextDatum(st->currency)};
	SPIPlanPtr	plan;
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	Datum		countries;

	if (lock)
		plan = wallet_plan(&stats_lock_plan, STATS_COLUMNS " FOR UPDATE", 2, argtypes);
	else
		plan = wallet_plan(&stats_read_plan, STATS_COLUMNS, 2, argtypes);
	if (SPI_execute_plan(plan, values, NULL, !lock, 1) != SPI_OK_SELECT)
		elog(ERROR, "fraud statistics read failed");
	if (SPI_processed == 0)
		return false;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	st->tx_count = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	st->mean_e4 = numeric_to_int128(SPI_getbinval(t, d, 2, &isnull));
	st->m2_e8 = numeric_to_int128(SPI_getbinval(t, d, 3, &isnull));
	st->minute_start = DatumGetTimestampTz(SPI_getbinval(t, d, 4, &isnull));
	st->minute_count = DatumGetInt32(SPI_getbinval(t, d, 5, &isnull));
	st->hour_start = DatumGetTimestampTz(SPI_getbinval(t, d, 6, &isnull));
	st->hour_count = DatumGetInt32(SPI_getbinval(t, d, 7, &isnull));
	countries = SPI_getbinval(t, d, 8, &isnull);
	st->ncountries = 0;
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(countries), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (int i = 0; i < n && st->ncountries < FRAUD_MAX_COUNTRIES; i++)
			if (!nulls[i])
				text_to_cstring_buffer(DatumGetTextPP(elems[i]),
									   st->countries[st->ncountries++], 3);
	}
	st->exists = true;
	return true;
}

static bool
device_known(FraudStats *st, const FraudContext *ctx)
{
	Oid			argtypes[2] = {INT8OID, BYTEAOID};
	Datum		values[2] = {Int64GetDatum(st->owner_id), bytea_datum(ctx->device_hash, 32)};

	wallet_plan(&device_plan,
				"SELECT 1 FROM pg_wallet.fraud_known_devices"
				" WHERE owner_id = $1 AND device_hash = $2", 2, argtypes);
	if (SPI_execute_plan(device_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "known device read failed");
	return SPI_processed > 0;
}

/*
 * Load an owner's statistics in one currency (st->owner_id, st->currency
 * set): locked when lock is set (the row is created first if need be),
 * else read as they are (a preview). A missing row reads as no history.
 */
void
fraud_load_stats(FraudStats *st, const FraudContext *ctx, bool lock)
{
	st->exists = false;
	st->minute_start = st->hour_start = DT_NOBEGIN;
	if (!stats_select(st, lock) && lock)
	{
		Oid			argtypes[2] = {INT8OID, TEXTOID};
		Datum		values[2] = {Int64GetDatum(st->owner_id),
		CStringGetTextDatum(st->currency)};

		wallet_plan(&stats_create_plan,
					"INSERT INTO pg_wallet.fraud_owner_stats (owner_id, currency)"
					" VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, argtypes);
		if (SPI_execute_plan(stats_create_plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "fraud statistics row creation failed");
		CommandCounterIncrement();
		if (!stats_select(st, true))
			elog(ERROR, "fraud statistics of owner %lld are missing after their creation",
				 (long long) st->owner_id);
	}
	st->device_known = ctx != NULL && ctx->has_device && device_known(st, ctx);
}

/*
 * Add one posted amount (minor units) to the statistics: Welford's update
 * of the mean and M2 in fixed point (mean x 10^4, M2 x 10^8), the velocity
 * windows and the recent countries.
 */
void
fraud_stats_add(FraudStats *st, int64 amount_minor, const char *country, TimestampTz now)
{
	int128		x = (int128) amount_minor * 10000;
	int128		delta = x - st->mean_e4;
	int128		delta2;
	int128		m2;
	int			i;

	st->tx_count++;
	st->mean_e4 += delta / st->tx_count;
	delta2 = x - st->mean_e4;
	if (__builtin_mul_overflow(delta, delta2, &m2) || m2 > INT128_CAP ||
		__builtin_add_overflow(st->m2_e8, m2, &m2) || m2 > INT128_CAP)
		m2 = INT128_CAP;
	st->m2_e8 = Max(m2, 0);
	if (!fraud_in_window(st->minute_start, now, USECS_PER_MINUTE))
	{
		st->minute_start = now;
		st->minute_count = 0;
	}
	if (!fraud_in_window(st->hour_start, now, USECS_PER_HOUR))
	{
		st->hour_start = now;
		st->hour_count = 0;
	}
	st->minute_count++;
	st->hour_count++;
	if (country != NULL && country[0])
	{
		/* most recent first; a country seen again moves to the front */
		for (i = 0; i < st->ncountries && strcmp(st->countries[i], country) != 0; i++)
			;
		if (i == st->ncountries)
		{
			/* a new one: the oldest leaves when the list is full */
			i = Min(st->ncountries, FRAUD_MAX_COUNTRIES - 1);
			st->ncountries = Min(st->ncountries + 1, FRAUD_MAX_COUNTRIES);
		}
		memmove(st->countries[1], st->countries[0], 3 * i);
		strlcpy(st->countries[0], country, 3);
	}
	st->dirty = true;
}

/* Write the statistics the batch changed (the row is locked) and the device seen. */
void
fraud_write_stats(FraudStats *st, const FraudContext *ctx, TimestampTz now)
{
	Oid			argtypes[10] = {INT8OID, TEXTOID, INT8OID, NUMERICOID, NUMERICOID,
	TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, INT4OID, TEXTARRAYOID};
	Datum		values[10];
	Oid			dargs[3] = {INT8OID, BYTEAOID, TIMESTAMPTZOID};
	Datum		dvalues[3];
	Datum		elems[FRAUD_MAX_COUNTRIES];

	if (!st->dirty)
		return;
	values[0] = Int64GetDatum(st->owner_id);
	values[1] = CStringGetTextDatum(st->currency);
	values[2] = Int64GetDatum(st->tx_count);
	values[3] = int128_numeric(st->mean_e4);
	values[4] = int128_numeric(st->m2_e8);
	values[5] = TimestampTzGetDatum(st->minute_start);
	values[6] = Int32GetDatum(st->minute_count);
	values[7] = TimestampTzGetDatum(st->hour_start);
	values[8] = Int32GetDatum(st->hour_count);
	for (int i = 0; i < st->ncountries; i++)
		elems[i] = CStringGetTextDatum(st->countries[i]);
	values[9] = PointerGetDatum(construct_array(elems, st->ncountries, TEXTOID, -1, false,
												TYPALIGN_INT));
	wallet_plan(&stats_write_plan,
				"UPDATE pg_wallet.fraud_owner_stats SET tx_count = $3, mean_e4 = $4,"
				" m2_e8 = $5, minute_start = $6, minute_count = $7, hour_start = $8,"
				" hour_count = $9, countries = $10, updated_at = now()"
				" WHERE owner_id = $1 AND currency = $2", 10, argtypes);
	if (SPI_execute_plan(stats_write_plan, values, NULL, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != 1)
		elog(ERROR, "fraud statistics update failed");
	st->dirty = false;
	if (ctx == NULL || !ctx->has_device)
		return;
	dvalues[0] = Int64GetDatum(st->owner_id);
	dvalues[1] = bytea_datum(ctx->device_hash, 32);
	dvalues[2] = TimestampTzGetDatum(now);
	wallet_plan(&device_write_plan,
				"INSERT INTO pg_wallet.fraud_known_devices AS d"
				" (owner_id, device_hash, first_seen, last_seen) VALUES ($1, $2, $3, $3)"
				" ON CONFLICT (owner_id, device_hash) DO UPDATE SET last_seen = $3", 3, dargs);
	if (SPI_execute_plan(device_write_plan, dvalues, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "known device write failed");
}

/* ---------------------------------------------------------------------
 * Rules and IP reputation
 * ---------------------------------------------------------------------
 */

/*
 * The active allow/deny rules that may apply to a batch: those of its
 * owners, of the accounts it credits, of the context's device and of the
 * ranges holding the context's address. One statement per batch.
 */
int
fraud_load_rules(const FraudContext *ctx, int64 *owners, int nowners, char **accounts,
				 int naccounts, FraudRule **out)
{
	Oid			argtypes[4] = {INT8ARRAYOID, TEXTARRAYOID, BYTEAOID, INETOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	Datum	   *o = palloc(sizeof(Datum) * Max(nowners, 1));
	Datum	   *a = palloc(sizeof(Datum) * Max(naccounts, 1));
	FraudRule  *rules;

	for (int i = 0; i < nowners; i++)
		o[i] = Int64GetDatum(owners[i]);
	for (int i = 0; i < naccounts; i++)
		a[i] = CStringGetTextDatum(accounts[i]);
	values[0] = PointerGetDatum(construct_array(o, nowners, INT8OID, 8, true, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(a, naccounts, TEXTOID, -1, false,
												TYPALIGN_INT));
	if (ctx != NULL && ctx->has_device)
		values[2] = bytea_datum(ctx->device_hash, 32);
	else
		nulls[2] = 'n';
	if (ctx != NULL && ctx->has_ip)
		values[3] = DirectFunctionCall1(inet_in, CStringGetDatum(ctx->ip));
	else
		nulls[3] = 'n';
	wallet_plan(&rules_plan,
				"SELECT action = 'DENY', subject, owner_id, account_number, reason"
				" FROM pg_wallet.fraud_rules WHERE is_active AND ("
				" (subject = 'USER' AND owner_id = ANY ($1))"
				" OR (subject = 'MERCHANT' AND account_number = ANY ($2))"
				" OR (subject = 'DEVICE' AND device_hash = $3)"
				" OR (subject = 'IP' AND ip_range >>= $4))"
				" ORDER BY action = 'DENY' DESC, id", 4, argtypes);
	if (SPI_execute_plan(rules_plan, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "fraud rules read failed");
	rules = palloc0(sizeof(FraudRule) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *subject;
		Datum		v;

		rules[i].deny = DatumGetBool(SPI_getbinval(t, d, 1, &isnull));
		subject = TextDatumGetCString(SPI_getbinval(t, d, 2, &isnull));
		rules[i].subject = subject[0];
		v = SPI_getbinval(t, d, 3, &isnull);
		rules[i].owner_id = isnull ? 0 : DatumGetInt64(v);
		v = SPI_getbinval(t, d, 4, &isnull);
		rules[i].account_number = isnull ? NULL : TextDatumGetCString(v);
		rules[i].reason = TextDatumGetCString(SPI_getbinval(t, d, 5, &isnull));
	}
	*out = rules;
	return (int) SPI_processed;
}

/* The reputation of the most specific range holding the context's address. */
bool
fraud_ip_reputation(const FraudContext *ctx, int *score, char **label)
{
	Oid			argtypes[1] = {INETOID};
	Datum		values[1];
	bool		isnull;

	if (ctx == NULL || !ctx->has_ip)
		return false;
	values[0] = DirectFunctionCall1(inet_in, CStringGetDatum(ctx->ip));
	wallet_plan(&ip_plan,
				"SELECT score, label FROM pg_wallet.fraud_ip_reputation"
				" WHERE ip_range >>= $1 ORDER BY masklen(ip_range) DESC, id LIMIT 1",
				1, argtypes);
	if (SPI_execute_plan(ip_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "IP reputation read failed");
	if (SPI_processed == 0)
		return false;
	*score = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										 &isnull));
	*label = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											   2, &isnull));
	return true;
}
