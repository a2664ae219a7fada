/*-------------------------------------------------------------------------
 *
 * fraud_preview.c
 *	  fraud_score_preview(): the score a debit of an account would get now,
 *	  with the current request context, by the same code as the posting
 *	  path (fraud.c), without posting, locking or recording anything.
 *	  _fraud_score_record(): the same score, recorded, for a request whose
 *	  refusal was raised and caught (a card payment's authorisation hold
 *	  refused by fraud: the caught error rolled back the posting path's
 *	  record, and "every decision writes the score record").
 *
 * Owns: nothing. Never: writes a table but fraud_scores, through
 * fraud_store.c (_fraud_score_record only); locks or updates statistics.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "core/pg_wallet.h"
#include "rules/fraud.h"

PG_FUNCTION_INFO_V1(wallet_fraud_score_preview);
PG_FUNCTION_INFO_V1(wallet_fraud_score_record);

static SPIPlanPtr account_plan = NULL;

/* The account's owner, currency, exponent, system flag and id; false when unknown. */
static bool
preview_account(const char *number, FraudStats *st, int *exponent, bool *is_system,
				int64 *id)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(number)};
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	wallet_plan(&account_plan,
				"SELECT owner_id, currency, exponent, is_system, id FROM pg_wallet.accounts"
				" WHERE account_number = $1", 1, argtypes);
	if (SPI_execute_plan(account_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "account read failed");
	if (SPI_processed == 0)
		return false;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	st->owner_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	text_to_cstring_buffer(DatumGetTextPP(SPI_getbinval(t, d, 2, &isnull)), st->currency, 4);
	*exponent = DatumGetInt16(SPI_getbinval(t, d, 3, &isnull));
	*is_system = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
	*id = DatumGetInt64(SPI_getbinval(t, d, 5, &isnull));
	return true;
}

/* The counterpart as the New Beneficiary factor sees it (FB_NONE when none or unknown). */
static FraudBeneficiary
preview_beneficiary(const FraudStats *st, const char *counterpart)
{
	FraudStats	cp;
	LedgerAccountView v;
	int			exponent;

	memset(&cp, 0, sizeof(cp));
	if (counterpart == NULL ||
		!preview_account(counterpart, &cp, &exponent, &v.is_system, &v.id))
		return FB_NONE;
	v.owner_id = cp.owner_id;
	return fraud_beneficiary(st->owner_id, &v);
}

/* A time as ISO 8601 UTC, to the second. */
static char *
iso_utc(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The rule that would decide, as fraud_apply matches it (denies first). */
static const char *
preview_rule(const FraudContext *ctx, const FraudStats *st, const char *counterpart,
			 bool *deny)
{
	FraudRule  *rules;
	char	   *accounts[1] = {(char *) counterpart};
	int			n = fraud_load_rules(ctx, (int64 *) &st->owner_id, 1, accounts,
									 counterpart ? 1 : 0, &rules);

	for (int i = 0; i < n; i++)
		if (rules[i].subject != 'U' || rules[i].owner_id == st->owner_id)
		{
			*deny = rules[i].deny;
			return psprintf("%s rule: %s", rules[i].deny ? "Deny" : "Allow",
							rules[i].reason);
		}
	return NULL;
}

/* A scored debit as the preview computes it. */
typedef struct Preview
{
	FraudSettings s;
	FraudStats	st;
	FraudScore	sc;
	int64		amount;
	bool		scored;			/* false: such a debit is not scored */
} Preview;

/*
 * Score a debit of account by amount (a numeric) to counterpart as the
 * posting path would now: the owner's statistics as they are, the request
 * context, the rules (a deny rule blocks, an allow rule allows). The
 * caller is connected to SPI.
 */
static void
preview_compute(const char *account, Datum amount, const char *counterpart, Preview *p)
{
	const FraudContext *ctx = fraud_context();
	int			exponent;
	bool		is_system;
	int64		account_id;
	bool		has_rep;
	int			ip_score = 0;
	char	   *ip_label = NULL;
	bool		deny = false;
	const char *rule;

	memset(p, 0, sizeof(*p));
	if (!preview_account(account, &p->st, &exponent, &is_system, &account_id))
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_ACCOUNT_NOT_FOUND),
				 errmsg("account %s does not exist", account)));
	p->amount = amount_from_numeric(amount, exponent, p->st.currency);
	if (p->amount <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_INVALID_AMOUNT),
				 errmsg("amount must be positive")));
	fraud_load_settings(&p->s, ledger_config_generation_now());
	if (!p->s.enabled || is_system || !fraud_owner_is_user(p->st.owner_id))
		return;
	p->scored = true;
	fraud_load_stats(&p->st, ctx);
	has_rep = p->s.any_ip_rep && fraud_ip_reputation(ctx, &ip_score, &ip_label);
	fraud_score(&p->s, &p->st, ctx, p->amount, exponent,
				preview_beneficiary(&p->st, counterpart), has_rep, ip_score, ip_label,
				GetCurrentTransactionStartTimestamp(), &p->sc);
	rule = p->s.any_rules ? preview_rule(ctx, &p->st, counterpart, &deny) : NULL;
	if (rule != NULL)
	{
		p->sc.decision = deny ? "BLOCK" : "ALLOW";
		p->sc.rule = (char *) rule;
	}
}

static void
require_amount(FunctionCallInfo fcinfo, int arg)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount must not be null")));
}

/*
 * fraud_score_preview(account_number text, amount numeric, counterpart text)
 *	returns jsonb
 *
 * The risk-score response (tribble-rest-api.md) for a debit of the account,
 * transactionId null, plus "scored": false when such a debit is not scored
 * (a system account, an owner that is not a user, scoring disabled).
 */
Datum
wallet_fraud_score_preview(PG_FUNCTION_ARGS)
{
	char	   *account = text_arg_cstring(fcinfo, 0, "account_number",
										   WALLET_MAX_ACCOUNT_NUMBER, true);
	char	   *counterpart = text_arg_cstring(fcinfo, 2, "counterpart",
											   WALLET_MAX_ACCOUNT_NUMBER, false);
	MemoryContext caller = CurrentMemoryContext;
	Preview		p;
	StringInfoData b;
	Jsonb	   *factors;
	char	   *out;

	require_amount(fcinfo, 1);
	SPI_connect();
	preview_compute(account, PG_GETARG_DATUM(1), counterpart, &p);
	initStringInfo(&b);
	if (!p.scored)
		appendStringInfo(&b, "{\"transactionId\": null, \"scored\": false, "
						 "\"modelVersion\": \"%s\"}", p.s.model_version);
	else
	{
		factors = fraud_factors_jsonb(&p.sc, p.st.currency);
		appendStringInfo(&b, "{\"transactionId\": null, \"scored\": true, \"riskScore\": %d, "
						 "\"riskLevel\": \"%s\", \"decision\": \"%s\", \"confidence\": %d.%02d, "
						 "\"riskFactors\": %s, \"modelVersion\": \"%s\", \"calculatedAt\": ",
						 p.sc.score, p.sc.level, p.sc.decision, p.sc.confidence_pct / 100,
						 p.sc.confidence_pct % 100,
						 JsonbToCString(NULL, &factors->root, VARSIZE(factors)),
						 p.s.model_version);
		appendStringInfo(&b, "\"%s\"}", iso_utc(GetCurrentTransactionStartTimestamp()));
	}
	MemoryContextSwitchTo(caller);
	out = pstrdup(b.data);
	SPI_finish();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out)));
}

/*
 * _fraud_score_record(account_number text, amount numeric, counterpart text,
 *					   request_ref text, transaction_id text) returns bigint
 *
 * Record the score of a refused debit whose refusal was raised and caught
 * (so the posting path's own record was rolled back with it): computed as
 * the preview computes it, which is what the posting path computed, since
 * the refusal changed nothing; a HIGH or CRITICAL one is announced
 * (fraud:risk_alert, naming transaction_id). Returns the record's id, NULL
 * when such a debit is not scored. Internal: the caller vouches that the
 * request was refused.
 */
Datum
wallet_fraud_score_record(PG_FUNCTION_ARGS)
{
	char	   *account = text_arg_cstring(fcinfo, 0, "account_number",
										   WALLET_MAX_ACCOUNT_NUMBER, true);
	char	   *counterpart = text_arg_cstring(fcinfo, 2, "counterpart",
											   WALLET_MAX_ACCOUNT_NUMBER, false);
	char	   *request_ref = text_arg_cstring(fcinfo, 3, "request_ref", 128, false);
	char	   *transaction_id = text_arg_cstring(fcinfo, 4, "transaction_id", 64, false);
	Preview		p;
	FraudRecord r;
	int64		id;

	require_amount(fcinfo, 1);
	SPI_connect();
	preview_compute(account, PG_GETARG_DATUM(1), counterpart, &p);
	if (!p.scored)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	memset(&r, 0, sizeof(r));
	r.owner_id = p.st.owner_id;
	r.account_number = account;
	r.request_ref = request_ref;
	r.amount_minor = p.amount;
	r.currency = p.st.currency;
	r.score = &p.sc;
	r.model_version = p.s.model_version;
	r.context = fraud_context_jsonb(fraud_context());
	id = fraud_store_scores(&r, 1);
	if (fraud_alerting(&p.sc))
		fraud_announce(p.st.owner_id, transaction_id, 0, &p.sc);
	SPI_finish();
	PG_RETURN_INT64(id);
}
