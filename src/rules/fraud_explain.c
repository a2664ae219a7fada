/*-------------------------------------------------------------------------
 *
 * fraud_explain.c
 *	  The factors' names and one-line explanations. A factor notes what it
 *	  found as a FraudNote and up to four numbers (fraud_factors.c); a score
 *	  record keeps the notes as one bigint[] (fraud_scores.factor_notes:
 *	  each factor's note, then that note's numbers), and the explanation text
 *	  is rendered here only when a score is read: by the risk-score reads
 *	  (pg_wallet.fraud_score_factors), the preview and the alerts. Writing
 *	  the text with every scored posting was most of a score record's size
 *	  and a tenth of a scored transfer's CPU (issue 12, bench/README.md).
 *
 * Owns: the factor names, the note codes' arity, the explanation texts,
 * the riskFactors JSON. Never: reads or writes a table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "core/pg_wallet.h"
#include "rules/fraud.h"

PG_FUNCTION_INFO_V1(wallet_fraud_score_factors);
PG_FUNCTION_INFO_V1(wallet_fraud_factor_names);

const char *const fraud_factor_names[FF_COUNT] = {
	"Amount Deviation", "Device Mismatch", "Velocity Check", "Geographic Anomaly",
	"IP Reputation", "New Beneficiary", "Credential Change", "Round Amount"
};

/* How many numbers each note carries, in FraudNote order. */
static const int note_nargs[FN_COUNT] = {
	[FN_AMOUNT_HISTORY] = 1, [FN_AMOUNT_ABOVE] = 2, [FN_VELOCITY] = 4,
	[FN_GEO_COUNTRY] = 1, [FN_GEO_IMPOSSIBLE] = 3, [FN_GEO_DISTANCE] = 1,
	[FN_CREDENTIAL_NONE] = 1, [FN_CREDENTIAL_AFTER] = 2, [FN_ROUND_UNDER] = 3
};

int
fraud_note_nargs(FraudNote note)
{
	return note_nargs[note];
}

/* An amount of minor units as major units text ("12.50"). */
static char *
minor_text(int64 v, int exponent)
{
	int64		unit = 1;

	if (exponent <= 0)
		return psprintf("%lld", (long long) v);
	for (int i = 0; i < exponent; i++)
		unit *= 10;
	return psprintf("%lld.%0*lld", (long long) (v / unit), exponent, (long long) (v % unit));
}

/* The explanation of an amount, device or velocity note; NULL for another note. */
static char *
explain_amount_device(const FraudFactor *f)
{
	const int64 *a = f->args;

	switch (f->note)
	{
		case FN_AMOUNT_HISTORY:
			return psprintf("Not enough history: %lld earlier transactions", (long long) a[0]);
		case FN_AMOUNT_WITHIN:
			return pstrdup("Amount is within user average");
		case FN_AMOUNT_ABOVE:
			return psprintf("Amount is %lld.%lldx user average transaction "
							"(%lld.%02lld standard deviations above it)",
							(long long) (a[0] / 10), (long long) (a[0] % 10),
							(long long) (a[1] / 100), (long long) (a[1] % 100));
		case FN_DEVICE_NONE:
			return pstrdup("No device id in the request context");
		case FN_DEVICE_KNOWN:
			return pstrdup("Known device");
		case FN_DEVICE_FIRST:
			return pstrdup("First device seen for this user");
		case FN_DEVICE_NEW:
			return pstrdup("New device detected - first time from this device");
		case FN_VELOCITY:
			return psprintf("%lld transactions in the last minute, %lld in the last hour "
							"(ceilings %lld and %lld)%s", (long long) a[0], (long long) a[1],
							(long long) a[2], (long long) a[3],
							f->score >= 100 ? " - over the ceiling" :
							f->score >= 50 ? " - elevated but within limits" : "");
		default:
			return NULL;
	}
}

/* The explanation of a geographic note; NULL for another note. */
static char *
explain_geo(const FraudFactor *f)
{
	const int64 *a = f->args;

	switch (f->note)
	{
		case FN_GEO_NO_COUNTRY:
			return pstrdup("No country in the request context");
		case FN_GEO_NO_HISTORY:
			return pstrdup("No country history for this user yet");
		case FN_GEO_CONSISTENT:
			return pstrdup("Transaction location consistent with user profile");
		case FN_GEO_COUNTRY:
			return psprintf("Country %c%c is not among the user's recent countries",
							(char) ((a[0] >> 8) & 0x7f), (char) (a[0] & 0x7f));
		case FN_GEO_NO_COORDS:
			return pstrdup("No coordinates in the request context");
		case FN_GEO_NO_LOCATION:
			return pstrdup("No location history for this user yet");
		case FN_GEO_IMPOSSIBLE:
			return psprintf("Impossible travel: %lld km from the last located transaction "
							"%lld minutes earlier (over %lld km/h)", (long long) a[0],
							(long long) a[1], (long long) a[2]);
		case FN_GEO_DISTANCE:
			return psprintf(f->score > 0 ?
							"Location %lld km from the user's last known location" :
							"Location within %lld km of the user's last known location",
							(long long) a[0]);
		default:
			return NULL;
	}
}

/*
 * The explanation of an IP, beneficiary, credential or round-amount note;
 * NULL for another note.
 */
static char *
explain_payment(const FraudFactor *f, const char *currency, const char *ip_label)
{
	const int64 *a = f->args;

	switch (f->note)
	{
		case FN_IP_NONE:
			return pstrdup("No IP address in the request context");
		case FN_IP_NO_ENTRY:
			return pstrdup("No reputation entry for the address");
		case FN_IP_LISTED:
			return psprintf("IP in a range listed as %s", ip_label ? ip_label : "?");
		case FN_BENEFICIARY_NONE:
			return pstrdup("No payee: the credited account is the user's own or a "
						   "system account");
		case FN_BENEFICIARY_KNOWN:
			return pstrdup("Known beneficiary - paid before");
		case FN_BENEFICIARY_FIRST:
			return pstrdup("First beneficiary of this user");
		case FN_BENEFICIARY_NEW:
			return pstrdup("New beneficiary - first payment to this account");
		case FN_CREDENTIAL_NONE:
			return psprintf("No password or phone change since the user's last "
							"transaction (window %lld hours)", (long long) a[0]);
		case FN_CREDENTIAL_AFTER:
			return psprintf("First transaction %lld minutes after a %s change",
							(long long) a[0], a[1] == 2 ? "phone" : "password");
		case FN_ROUND_NO:
			return pstrdup("Amount is not just under a round threshold");
		case FN_ROUND_UNDER:
			return psprintf("Amount is %s %s under %s %s, a round threshold",
							minor_text(a[0], (int) a[2]), currency,
							minor_text(a[1], (int) a[2]), currency);
		default:
			return NULL;
	}
}

/*
 * The explanation of one factor. The switch names every note (so that the
 * compiler flags a new one) and hands it to the helper for its kind.
 */
char *
fraud_explain(const FraudFactor *f, const char *currency, const char *ip_label)
{
	switch (f->note)
	{
		case FN_AMOUNT_HISTORY:
		case FN_AMOUNT_WITHIN:
		case FN_AMOUNT_ABOVE:
		case FN_DEVICE_NONE:
		case FN_DEVICE_KNOWN:
		case FN_DEVICE_FIRST:
		case FN_DEVICE_NEW:
		case FN_VELOCITY:
			return explain_amount_device(f);
		case FN_GEO_NO_COUNTRY:
		case FN_GEO_NO_HISTORY:
		case FN_GEO_CONSISTENT:
		case FN_GEO_COUNTRY:
		case FN_GEO_NO_COORDS:
		case FN_GEO_NO_LOCATION:
		case FN_GEO_IMPOSSIBLE:
		case FN_GEO_DISTANCE:
			return explain_geo(f);
		case FN_IP_NONE:
		case FN_IP_NO_ENTRY:
		case FN_IP_LISTED:
		case FN_BENEFICIARY_NONE:
		case FN_BENEFICIARY_KNOWN:
		case FN_BENEFICIARY_FIRST:
		case FN_BENEFICIARY_NEW:
		case FN_CREDENTIAL_NONE:
		case FN_CREDENTIAL_AFTER:
		case FN_ROUND_NO:
		case FN_ROUND_UNDER:
			return explain_payment(f, currency, ip_label);
		case FN_COUNT:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("fraud score record: unknown factor note %d", (int) f->note)));
	return NULL;
}

/* One key and its value into the object being built. */
static void
push_pair(JsonbParseState **ps, const char *key, JsonbValue *value)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(ps, WJB_KEY, &k);
	pushJsonbValue(ps, WJB_VALUE, value);
}

/* One factor: {name, weight, score, explanation}. */
static void
push_factor(JsonbParseState **ps, const char *name, Numeric weight, int score,
			const char *explanation)
{
	JsonbValue	v;

	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	v.type = jbvString;
	v.val.string.val = (char *) name;
	v.val.string.len = strlen(name);
	push_pair(ps, "name", &v);
	v.type = jbvNumeric;
	v.val.numeric = weight;
	push_pair(ps, "weight", &v);
	v.val.numeric = int64_to_numeric(score);
	push_pair(ps, "score", &v);
	v.type = jbvString;
	v.val.string.val = (char *) explanation;
	v.val.string.len = strlen(explanation);
	push_pair(ps, "explanation", &v);
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

/*
 * The factors as the spec's riskFactors: [{name, weight (hundredths, as
 * 0.25), score, explanation}], plus a "Rule" entry (weight 0, score 0) when
 * an allow/deny rule decided and a "Verification" entry when a step-up
 * verification met REQUIRE_VERIFICATION.
 */
Jsonb *
fraud_factors_jsonb(const FraudScore *sc, const char *currency)
{
	JsonbParseState *ps = NULL;

	pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < FF_COUNT; i++)
		push_factor(&ps, fraud_factor_names[i],
					DatumGetNumeric(amount_to_numeric(sc->factors[i].weight, 2)),
					sc->factors[i].score,
					fraud_explain(&sc->factors[i], currency, sc->ip_label));
	if (sc->rule != NULL)
		push_factor(&ps, "Rule", int64_to_numeric(0), 0, sc->rule);
	if (sc->verification != NULL)
		push_factor(&ps, "Verification", int64_to_numeric(0), 0,
					psprintf("Step-up verification presented (%s)", sc->verification));
	return JsonbValueToJsonb(pushJsonbValue(&ps, WJB_END_ARRAY, NULL));
}

/* A record's smallint[] column as C values; n must be its length, without NULLs. */
static void
array_values(ArrayType *arr, int n, Datum **values)
{
	bool	   *nulls;
	int			count;

	deconstruct_array(arr, INT2OID, sizeof(int16), true, TYPALIGN_SHORT, values, &nulls,
					  &count);
	if (ARR_NDIM(arr) > 1 || count != n || array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("fraud score record: malformed factor arrays")));
}

/*
 * The notes of a score's factors as fraud_scores.factor_notes: each
 * factor's note, then its numbers.
 */
ArrayType *
fraud_notes_array(const FraudScore *sc)
{
	Datum		values[FF_COUNT * (1 + FRAUD_NOTE_MAX_ARGS)];
	int			n = 0;

	for (int i = 0; i < FF_COUNT; i++)
	{
		const FraudFactor *f = &sc->factors[i];

		values[n++] = Int64GetDatum(f->note);
		for (int k = 0; k < note_nargs[f->note]; k++)
			values[n++] = Int64GetDatum(f->args[k]);
	}
	return construct_array(values, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/*
 * pg_wallet.fraud_score_factors(scores, weights, notes, currency, ip_label,
 * rule, verification): a score record's riskFactors.
 */
Datum
wallet_fraud_score_factors(PG_FUNCTION_ARGS)
{
	FraudScore	sc;
	Datum	   *scores,
			   *weights,
			   *notes;
	bool	   *nulls;
	int			nnotes,
				k = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	memset(&sc, 0, sizeof(sc));
	array_values(PG_GETARG_ARRAYTYPE_P(0), FF_COUNT, &scores);
	array_values(PG_GETARG_ARRAYTYPE_P(1), FF_COUNT, &weights);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &notes, &nulls, &nnotes);
	for (int i = 0; i < FF_COUNT; i++)
	{
		FraudFactor *f = &sc.factors[i];
		int64		note = k < nnotes && !nulls[k] ? DatumGetInt64(notes[k]) : -1;

		if (note < 0 || note >= FN_COUNT || k + 1 + note_nargs[note] > nnotes)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("fraud score record: malformed factor notes")));
		f->score = DatumGetInt16(scores[i]);
		f->weight = DatumGetInt16(weights[i]);
		f->note = (FraudNote) note;
		k++;
		for (int j = 0; j < note_nargs[note]; j++, k++)
			f->args[j] = nulls[k] ? 0 : DatumGetInt64(notes[k]);
	}
	sc.ip_label = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	sc.rule = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	sc.verification = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
	PG_RETURN_JSONB_P(fraud_factors_jsonb(&sc, text_to_cstring(PG_GETARG_TEXT_PP(3))));
}

/* pg_wallet.fraud_factor_names(): the factors' names, in the records' order. */
Datum
wallet_fraud_factor_names(PG_FUNCTION_ARGS)
{
	Datum		values[FF_COUNT];

	for (int i = 0; i < FF_COUNT; i++)
		values[i] = CStringGetTextDatum(fraud_factor_names[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array_builtin(values, FF_COUNT, TEXTOID));
}
