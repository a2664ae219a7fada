/*-------------------------------------------------------------------------
 *
 * fraud_store.c
 *	  The rows fraud scoring writes in the posting path, through PostgreSQL's
 *	  table and index access methods (core/direct.c) instead of SQL: an
 *	  owner's statistics row in a currency, locked then updated, and the
 *	  score record of each scored request. Through SPI these three
 *	  statements took half of a scored transfer's time in the server, most
 *	  of it executor starts and the re-compilation of the tables' CHECKs
 *	  (issue 20; bench/README.md, "Fraud scoring").
 *
 * Owns: the CHECK constraints of fraud_owner_stats and fraud_scores for
 * these writes, in C (direct.c runs any CHECK not listed here through
 * ExecConstraints). Never: scores (fraud.c); reads the settings, rules or
 * known devices (fraud_stats.c).
 *
 * Locking: an owner's statistics row in one currency is locked (FOR
 * UPDATE's meaning, direct_lock) once per batch, in (owner, currency)
 * order, after the accounts and the KYC limit counters. The owner's first
 * scored posting in the currency creates it first (INSERT ... ON CONFLICT
 * DO NOTHING, which waits for a concurrent creator), then locks it. So two
 * postings of one owner take turns and neither loses the other's update.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "core/direct.h"
#include "core/pg_wallet.h"
#include "rules/fraud.h"

static SPIPlanPtr create_plan = NULL;

/* The statistics columns, in fraud_stats_fill()'s order, then updated_at. */
static const char *const stats_columns[FRAUD_STATS_NCOLS + 1] = {
	"tx_count", "mean_e4", "m2_e8", "minute_start", "minute_count", "hour_start",
	"hour_count", "countries", "last_lat_e6", "last_lon_e6", "located_at",
	"credential_change", "credential_changed_at", "updated_at"
};

/* Create the owner's row in the currency (zero), unless another transaction just did. */
static void
stats_create(void *arg)
{
	const FraudStats *st = arg;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(st->owner_id), CStringGetTextDatum(st->currency)};

	wallet_plan(&create_plan,
				"INSERT INTO pg_wallet.fraud_owner_stats (owner_id, currency)"
				" VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, argtypes);
	if (SPI_execute_plan(create_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "fraud statistics row creation failed");
}

/*
 * Lock and load the statistics of the batch's owners (stats sorted by
 * owner and currency, owner_id and currency set), each row created first
 * if need be (direct_read_lock).
 */
void
fraud_lock_stats(FraudStats *stats, int n)
{
	DirectRead	r;
	AttrNumber	att[FRAUD_STATS_NCOLS];

	if (n == 0)
		return;
	direct_read_for_update(&r, "fraud_owner_stats", "fraud_owner_stats_pkey");
	direct_attnums(r.rel, stats_columns, FRAUD_STATS_NCOLS, att);
	for (int i = 0; i < n; i++)
	{
		FraudStats *st = &stats[i];
		ScanKeyData keys[2];
		Datum		values[FRAUD_STATS_NCOLS];
		bool		isnull;

		direct_key(&keys[0], r.index, 1, F_INT8EQ, Int64GetDatum(st->owner_id));
		direct_key(&keys[1], r.index, 2, F_TEXTEQ, CStringGetTextDatum(st->currency));
		st->tid = direct_read_lock(&r, keys, 2, stats_create, st, "a fraud statistics row");
		for (int c = 0; c < FRAUD_STATS_NCOLS; c++)
			values[c] = slot_getattr(r.slot, att[c], &isnull);
		fraud_stats_fill(st, values);
	}
	direct_read_end(&r);
}

/*
 * Write the statistics the batch changed into the rows fraud_lock_stats()
 * locked. st->dirty stays set: the caller remembers the devices.
 */
void
fraud_store_stats(FraudStats *stats, int n, TimestampTz now)
{
	static const char *const checks[] = {
		"fraud_owner_stats_tx_count_check", "fraud_owner_stats_mean_e4_check",
		"fraud_owner_stats_m2_e8_check", "fraud_owner_stats_minute_count_check",
		"fraud_owner_stats_hour_count_check", "fraud_owner_stats_countries_check",
		"fraud_owner_stats_last_lat_e6_check", "fraud_owner_stats_last_lon_e6_check",
		"fraud_owner_stats_credential_change_check", NULL
	};
	DirectTable t;
	AttrNumber	att[FRAUD_STATS_NCOLS + 1];
	bool		open = false;

	for (int i = 0; i < n; i++)
	{
		FraudStats *st = &stats[i];
		Datum		values[FRAUD_STATS_NCOLS + 1];
		Datum		elems[FRAUD_MAX_COUNTRIES];

		if (!st->dirty)
			continue;
		if (!open)
		{
			direct_begin(&t, "fraud_owner_stats", checks, true);
			direct_attnums(t.rel, stats_columns, FRAUD_STATS_NCOLS + 1, att);
			open = true;
		}
		/* the CHECKs: what fraud_stats_add() computes never breaks them */
		if (st->tx_count < 0)
			direct_violated(&t, "fraud_owner_stats_tx_count_check");
		if (st->mean_e4 < 0)
			direct_violated(&t, "fraud_owner_stats_mean_e4_check");
		if (st->m2_e8 < 0)
			direct_violated(&t, "fraud_owner_stats_m2_e8_check");
		if (st->minute_count < 0)
			direct_violated(&t, "fraud_owner_stats_minute_count_check");
		if (st->hour_count < 0)
			direct_violated(&t, "fraud_owner_stats_hour_count_check");
		if (st->ncountries > FRAUD_MAX_COUNTRIES)
			direct_violated(&t, "fraud_owner_stats_countries_check");
		if (st->lat_e6 < -90000000 || st->lat_e6 > 90000000)
			direct_violated(&t, "fraud_owner_stats_last_lat_e6_check");
		if (st->lon_e6 < -180000000 || st->lon_e6 > 180000000)
			direct_violated(&t, "fraud_owner_stats_last_lon_e6_check");
		if (st->credential_change[0] != '\0' && strcmp(st->credential_change, "password") != 0 &&
			strcmp(st->credential_change, "phone") != 0)
			direct_violated(&t, "fraud_owner_stats_credential_change_check");
		for (int c = 0; c < st->ncountries; c++)
			elems[c] = CStringGetTextDatum(st->countries[c]);
		values[0] = Int64GetDatum(st->tx_count);
		values[1] = int128_numeric(st->mean_e4);
		values[2] = int128_numeric(st->m2_e8);
		values[3] = TimestampTzGetDatum(st->minute_start);
		values[4] = Int32GetDatum(st->minute_count);
		values[5] = TimestampTzGetDatum(st->hour_start);
		values[6] = Int32GetDatum(st->hour_count);
		values[7] = PointerGetDatum(construct_array(elems, st->ncountries, TEXTOID, -1, false,
													TYPALIGN_INT));
		values[8] = Int32GetDatum(st->lat_e6);
		values[9] = Int32GetDatum(st->lon_e6);
		values[10] = TimestampTzGetDatum(st->located_at);
		values[11] = CStringGetTextDatum(st->credential_change);
		values[12] = TimestampTzGetDatum(st->credential_changed_at);
		values[13] = TimestampTzGetDatum(now);
		direct_update(&t, &st->tid, FRAUD_STATS_NCOLS + 1, att, values);
	}
	if (open)
		direct_end(&t);
}

static bool
one_of(const char *value, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(value, *list) == 0)
			return true;
	return false;
}

/*
 * Remember the new beneficiaries the batch paid: one heap multi-insert and its
 * index entries. Race-free without ON CONFLICT: each owner's statistics row is
 * locked for the batch (fraud_lock_stats), and the probe that found the
 * beneficiary new ran under that lock; the batch counts a beneficiary once.
 */
void
fraud_store_beneficiaries(const int64 *owners, const int64 *accounts, int n, TimestampTz now)
{
	static const char *const checks[] = {NULL};
	static const char *const columns[] = {"owner_id", "account_id", "first_paid"};
	DirectTable t;
	AttrNumber	att[lengthof(columns)];

	if (n == 0)
		return;
	direct_begin(&t, "fraud_known_beneficiaries", checks, false);
	direct_attnums(t.rel, columns, lengthof(columns), att);
	for (int i = 0; i < n; i++)
	{
		TupleTableSlot *slot = direct_row(&t);

		direct_set(slot, att[0], Int64GetDatum(owners[i]), false);
		direct_set(slot, att[1], Int64GetDatum(accounts[i]), false);
		direct_set(slot, att[2], TimestampTzGetDatum(now), false);
	}
	direct_end(&t);
}

/* FF_COUNT smallints as a smallint[]. */
static Datum
smallint_array(Datum *values)
{
	return PointerGetDatum(construct_array(values, FF_COUNT, INT2OID, sizeof(int16), true,
										   TYPALIGN_SHORT));
}

static Datum
text_or_null(const char *s)
{
	return s != NULL ? CStringGetTextDatum(s) : (Datum) 0;
}

static const char *const score_levels[] = {"LOW", "MEDIUM", "HIGH", "CRITICAL", NULL};
static const char *const score_decisions[] = {
	"ALLOW", "REQUIRE_VERIFICATION", "HOLD", "BLOCK", NULL
};

/* fraud_scores' CHECKs, as the record's values meet them (the error each would raise). */
static void
check_record(DirectTable *t, const FraudRecord *r, Datum ref)
{
	const FraudScore *sc = r->score;

	if (r->amount_minor <= 0)
		direct_violated(t, "fraud_scores_amount_minor_check");
	if (sc->confidence_pct < 0 || sc->confidence_pct > 100)
		direct_violated(t, "fraud_scores_confidence_check");
	if (!one_of(sc->decision, score_decisions))
		direct_violated(t, "fraud_scores_decision_check");
	if (r->request_ref && direct_text_chars(ref) > 128)
		direct_violated(t, "fraud_scores_request_ref_check");
	if (!one_of(sc->level, score_levels))
		direct_violated(t, "fraud_scores_risk_level_check");
	if (sc->score < 0 || sc->score > 100)
		direct_violated(t, "fraud_scores_score_check");
}

/* The columns of one record (att: fraud_store_scores' columns, in their order). */
static void
set_record(TupleTableSlot *slot, const AttrNumber *att, const FraudRecord *r, Datum ref,
		   int64 id, TimestampTz now)
{
	const FraudScore *sc = r->score;
	Datum		scores[FF_COUNT],
				weights[FF_COUNT];

	direct_set(slot, att[0], Int64GetDatum(id), false);
	direct_set(slot, att[1], Int64GetDatum(r->owner_id), false);
	direct_set(slot, att[2], CStringGetTextDatum(r->account_number), false);
	direct_set(slot, att[3], Int64GetDatum(r->journal_id), r->journal_id == 0);
	direct_set(slot, att[4], ref, r->request_ref == NULL);
	direct_set(slot, att[5], Int64GetDatum(r->amount_minor), false);
	direct_set(slot, att[6], CStringGetTextDatum(r->currency), false);
	direct_set(slot, att[7], Int16GetDatum(sc->score), false);
	direct_set(slot, att[8], CStringGetTextDatum(sc->level), false);
	direct_set(slot, att[9], CStringGetTextDatum(sc->decision), false);
	for (int k = 0; k < FF_COUNT; k++)
	{
		scores[k] = Int16GetDatum(sc->factors[k].score);
		weights[k] = Int16GetDatum(sc->factors[k].weight);
	}
	direct_set(slot, att[10], smallint_array(scores), false);
	direct_set(slot, att[11], smallint_array(weights), false);
	direct_set(slot, att[12], PointerGetDatum(fraud_notes_array(sc)), false);
	direct_set(slot, att[13], text_or_null(sc->ip_label), sc->ip_label == NULL);
	direct_set(slot, att[14], text_or_null(sc->rule), sc->rule == NULL);
	direct_set(slot, att[15], text_or_null(sc->verification), sc->verification == NULL);
	direct_set(slot, att[16], amount_to_numeric(sc->confidence_pct, 2), false);
	direct_set(slot, att[17], CStringGetTextDatum(r->model_version), false);
	direct_set(slot, att[18], JsonbPGetDatum(r->context), false);
	direct_set(slot, att[19], TimestampTzGetDatum(now), false);
	direct_set(slot, att[20], Int64GetDatum(r->hold_id), r->hold_id == 0);
}

/*
 * Record the scores: one heap multi-insert and their index entries. The
 * factors go in as three small arrays (scores, weights, notes); their
 * explanations are rendered when read (fraud_explain.c). Returns the id of
 * the last record (0: none).
 */
int64
fraud_store_scores(const FraudRecord *recs, int n)
{
	static const char *const checks[] = {
		"fraud_scores_amount_minor_check", "fraud_scores_confidence_check",
		"fraud_scores_decision_check", "fraud_scores_request_ref_check",
		"fraud_scores_risk_level_check", "fraud_scores_score_check", NULL
	};
	static const char *const columns[] = {
		"id", "owner_id", "account_number", "journal_id", "request_ref", "amount_minor",
		"currency", "score", "risk_level", "decision", "factor_scores", "factor_weights",
		"factor_notes", "ip_label", "rule", "verification", "confidence",
		"model_version", "context", "created_at", "hold_id"
	};
	DirectTable t;
	AttrNumber	att[lengthof(columns)];
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	int64		id = 0;

	if (n == 0)
		return 0;
	direct_begin(&t, "fraud_scores", checks, false);
	direct_attnums(t.rel, columns, lengthof(columns), att);
	for (int i = 0; i < n; i++)
	{
		Datum		ref = recs[i].request_ref ? CStringGetTextDatum(recs[i].request_ref) : 0;
		TupleTableSlot *slot;

		check_record(&t, &recs[i], ref);
		slot = direct_row(&t);
		id = direct_nextval("fraud_scores_id_seq");
		set_record(slot, att, &recs[i], ref, id, now);
	}
	direct_end(&t);
	return id;
}
