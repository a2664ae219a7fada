/*-------------------------------------------------------------------------
 *
 * fraud_stats.c
 *	  What fraud scoring reads: its settings (cached per backend with the
 *	  rules stamp), the owners' kinds, the running statistics of an owner in
 *	  a currency as numbers (fraud_owner_stats: count, mean and Welford M2
 *	  of amounts, velocity windows, recent countries, last coordinates, a
 *	  pending credential change) and their update, known devices and
 *	  beneficiaries, IP reputation ranges and allow/deny rules. Every read
 *	  is an index probe by key: the cost of a score does not grow with an
 *	  owner's history.
 *
 * Owns: fraud_known_devices and fraud_known_beneficiaries (written only
 * here, in the posting's transaction), the settings cache. Never: writes balances or journals;
 * locks or writes fraud_owner_stats (fraud_store.c does, in the posting
 * path).
 *
 * Money stays exact: amounts are int64 minor units, the mean and M2 are
 * int128 fixed-point in C and numeric in the table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "core/direct.h"
#include "core/owners.h"
#include "core/pg_wallet.h"
#include "rules/fraud.h"

#define OWNER_CACHE_MAX 10000
#define INT128_CAP (((int128) 1) << 120)	/* M2 saturates here */

static SPIPlanPtr settings_plan = NULL;
static SPIPlanPtr stats_read_plan = NULL;
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

Datum
int128_numeric(int128 v)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(int128_to_cstring(v)),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* ---------------------------------------------------------------------
 * Settings and owners
 * ---------------------------------------------------------------------
 */
/* This backend's copy of the settings, and the rules stamp it is for. */
static FraudSettings cached_settings;
static int64 cached_generation = -1;

/*
 * The settings, and whether any rule or IP reputation range exists (when
 * none does, a batch reads neither table). Cached per backend like the fee
 * schedules: reloaded only when the rules stamp (rules_generation, read
 * with the batch's account locks) moved; a statement trigger on each of the
 * three tables bumps it (sql/rules/triggers.sql).
 */
void
fraud_load_settings(FraudSettings *s, int64 generation)
{
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	if (generation == cached_generation)
	{
		*s = cached_settings;
		return;
	}
	memset(s, 0, sizeof(*s));
	/*
	 * Before ALTER EXTENSION ... UPDATE has created the fraud tables (the
	 * new library serves the old schema meanwhile), scoring is off; that
	 * state is not cached (creating the tables bumps no stamp).
	 */
	if (settings_plan == NULL &&
		!OidIsValid(get_relname_relid("fraud_settings",
									  get_namespace_oid("pg_wallet", false))))
		return;
	wallet_plan(&settings_plan,
				"SELECT s.is_enabled, s.weight_amount, s.weight_device, s.weight_velocity,"
				" s.weight_geo, s.weight_ip, s.medium_from, s.high_from, s.critical_from,"
				" s.block_from, s.max_per_minute, s.max_per_hour, s.min_samples,"
				" s.model_version, s.weight_beneficiary, s.weight_credential, s.weight_round,"
				" s.max_travel_kmh, s.credential_window_hours, s.round_from_major,"
				" s.round_margin_bp,"
				" EXISTS (SELECT FROM pg_wallet.fraud_rules r WHERE r.is_active),"
				" EXISTS (SELECT FROM pg_wallet.fraud_ip_reputation i),"
				" s.verify_from, s.hold_from, s.review_hours"
				" FROM pg_wallet.fraud_settings s WHERE s.id", 0, NULL);
	if (SPI_execute_plan(settings_plan, NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "fraud settings read failed");
	cached_generation = -1;
	if (SPI_processed > 0)
	{
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
		s->w_beneficiary = DatumGetInt16(SPI_getbinval(t, d, 15, &isnull));
		s->w_credential = DatumGetInt16(SPI_getbinval(t, d, 16, &isnull));
		s->w_round = DatumGetInt16(SPI_getbinval(t, d, 17, &isnull));
		s->max_travel_kmh = DatumGetInt32(SPI_getbinval(t, d, 18, &isnull));
		s->credential_window_h = DatumGetInt32(SPI_getbinval(t, d, 19, &isnull));
		s->round_from_major = DatumGetInt64(SPI_getbinval(t, d, 20, &isnull));
		s->round_margin_bp = DatumGetInt16(SPI_getbinval(t, d, 21, &isnull));
		s->any_rules = DatumGetBool(SPI_getbinval(t, d, 22, &isnull));
		s->any_ip_rep = DatumGetBool(SPI_getbinval(t, d, 23, &isnull));
		s->verify_from = DatumGetInt16(SPI_getbinval(t, d, 24, &isnull));
		s->hold_from = DatumGetInt16(SPI_getbinval(t, d, 25, &isnull));
		s->review_hours = DatumGetInt32(SPI_getbinval(t, d, 26, &isnull));
	}
	/* no settings row: scoring is off */
	cached_settings = *s;
	cached_generation = generation;
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
	is_user = owner_kind_is(owner_id, "user");
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
/*
 * Fill st from the values of its row's columns (FRAUD_STATS_NCOLS, in
 * fraud_store.c's stats_columns order): the one reading of a row, for the
 * lock of the posting path and the preview's plain read.
 */
void
fraud_stats_fill(FraudStats *st, const Datum *v)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	st->tx_count = DatumGetInt64(v[0]);
	st->mean_e4 = numeric_to_int128(v[1]);
	st->m2_e8 = numeric_to_int128(v[2]);
	st->minute_start = DatumGetTimestampTz(v[3]);
	st->minute_count = DatumGetInt32(v[4]);
	st->hour_start = DatumGetTimestampTz(v[5]);
	st->hour_count = DatumGetInt32(v[6]);
	st->ncountries = 0;
	deconstruct_array(DatumGetArrayTypeP(v[7]), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n && st->ncountries < FRAUD_MAX_COUNTRIES; i++)
		if (!nulls[i])
			text_to_cstring_buffer(DatumGetTextPP(elems[i]),
								   st->countries[st->ncountries++], 3);
	st->lat_e6 = DatumGetInt32(v[8]);
	st->lon_e6 = DatumGetInt32(v[9]);
	st->located_at = DatumGetTimestampTz(v[10]);
	text_to_cstring_buffer(DatumGetTextPP(v[11]), st->credential_change,
						   sizeof(st->credential_change));
	st->credential_changed_at = DatumGetTimestampTz(v[12]);
	st->exists = true;
}

/*
 * Read an owner's statistics in one currency as they are, without a lock
 * (the preview; the posting path locks them: fraud_store.c). A missing row
 * reads as no history.
 */
void
fraud_load_stats(FraudStats *st, const FraudContext *ctx)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(st->owner_id), CStringGetTextDatum(st->currency)};
	Datum		row[FRAUD_STATS_NCOLS];
	bool		isnull;

	st->exists = false;
	st->minute_start = st->hour_start = st->located_at = st->credential_changed_at = DT_NOBEGIN;
	wallet_plan(&stats_read_plan,
				"SELECT tx_count, mean_e4, m2_e8, minute_start, minute_count, hour_start,"
				" hour_count, countries, last_lat_e6, last_lon_e6, located_at,"
				" credential_change, credential_changed_at FROM pg_wallet.fraud_owner_stats"
				" WHERE owner_id = $1 AND currency = $2", 2, argtypes);
	if (SPI_execute_plan(stats_read_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "fraud statistics read failed");
	if (SPI_processed > 0)
	{
		for (int i = 0; i < FRAUD_STATS_NCOLS; i++)
			row[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1,
								   &isnull);
		fraud_stats_fill(st, row);
	}
	st->device_known = ctx != NULL && ctx->has_device && fraud_device_known(st, ctx);
}

/* Whether the context's device is one the owner has posted from. */
bool
fraud_device_known(const FraudStats *st, const FraudContext *ctx)
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
 * Add one posted amount (minor units) to the statistics: Welford's update
 * of the mean and M2 in fixed point (mean x 10^4, M2 x 10^8), the velocity
 * windows, the recent countries and the last coordinates (from the
 * context); a pending credential change is consumed (the first posting
 * after it has been scored).
 */
void
fraud_stats_add(FraudStats *st, int64 amount_minor, const FraudContext *ctx, TimestampTz now)
{
	const char *country = ctx != NULL ? ctx->country : NULL;
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
	if (fraud_context_location(ctx, &st->lat_e6, &st->lon_e6))
		st->located_at = now;
	st->credential_change[0] = '\0';
	st->credential_changed_at = DT_NOBEGIN;
	st->dirty = true;
}

/* Remember the context's device as one the owner has posted from (now). */
void
fraud_remember_device(const FraudStats *st, const FraudContext *ctx, TimestampTz now)
{
	Oid			dargs[3] = {INT8OID, BYTEAOID, TIMESTAMPTZOID};
	Datum		dvalues[3];

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

/*
 * The credited account of a request as the New Beneficiary factor sees it:
 * none (no credited account, a system account or the owner's own), known
 * (a primary key probe of fraud_known_beneficiaries finds it, no SQL) or
 * new.
 */
FraudBeneficiary
fraud_beneficiary(int64 owner_id, const LedgerAccountView *credited)
{
	DirectRead	r;
	ScanKeyData keys[2];
	bool		known;

	if (credited == NULL || credited->is_system || credited->owner_id == owner_id)
		return FB_NONE;
	direct_read_begin(&r, "fraud_known_beneficiaries", "fraud_known_beneficiaries_pkey");
	direct_key(&keys[0], r.index, 1, F_INT8EQ, Int64GetDatum(owner_id));
	direct_key(&keys[1], r.index, 2, F_INT8EQ, Int64GetDatum(credited->id));
	known = direct_read_one(&r, keys, 2);
	direct_read_end(&r);
	return known ? FB_KNOWN : FB_NEW;
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
