/*-------------------------------------------------------------------------
 *
 * fraud.c
 *	  Fraud scoring in the posting path: a member of the money rules
 *	  (rules.c calls fraud_prepare/apply/commit/write from its LedgerRules
 *	  callbacks), so every posting and hold that goes through the core is
 *	  scored and no caller can skip it. docs/fraud.md has the factors, the
 *	  formulas, the defaults and the decisions.
 *
 * Scored: a request whose first leg debits a non-system account of an
 * owner of kind 'user', unless it reverses a journal, is forced, or
 * captures a hold (the hold was scored when placed). Each factor scores
 * 0..100 against the owner's running statistics in the currency
 * (fraud_stats.c), never against history; the weighted mean is the score,
 * thresholds give the level and the decision, allow/deny rules override.
 *
 * Decisions: BLOCK refuses the request (WL047); HOLD asks the core to hold
 * it for review (req->review: the funds are reserved in a hold that an
 * admin posts or voids; a hold placement is blocked instead);
 * REQUIRE_VERIFICATION refuses it (WL048) unless the owner presented a
 * step-up verification in the same transaction (fraud_verified.c); ALLOW
 * lets it post. A posted or held request adds to the statistics. A score is recorded (and, for HIGH and
 * CRITICAL, announced to the alert sink the partners layer registers: a
 * fraud:risk_alert event) for each posted request, and for each refused
 * request whose refusal the core records
 * (per-item batches, record_refusal): a raised refusal rolls everything
 * back, its score record included.
 *
 * Owns: the scores (fraud_store.c writes them). Never: writes balances or
 * journals; calls a layer above the rules (events come through the sink);
 * the core never knows this file exists.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "core/pg_wallet.h"
#include "rules/fraud.h"
#include "rules/rules.h"


/* One scored request of the batch. */
typedef struct FraudEntry
{
	LedgerResult *res;			/* the core's result: journal id once written */
	FraudStats *stats;
	const char *account_number;
	const char *request_ref;
	int64		amount_minor;
	int			exponent;
	FraudBeneficiary ben;
	int64		beneficiary_id; /* the credited account, when ben is not FB_NONE */
	FraudScore	score;
	bool		posted;
	bool		refused;		/* refused by the decision (BLOCK, unverified) */
} FraudEntry;

typedef struct FraudState
{
	FraudSettings settings;
	FraudContext ctx;
	bool		has_ctx;
	TimestampTz now;
	int			nstats;
	FraudStats *stats;
	int			nrules;
	FraudRule  *rules;
	bool		has_ip_rep;
	int			ip_score;
	char	   *ip_label;
	int			nentries;
	FraudEntry *entries;
	FraudEntry *pending;		/* the entry of the request being applied */
	HTAB	   *paid;			/* BeneficiaryPaid: the pairs posted in the batch */
} FraudState;

/* An (owner, credited account) pair that a posting of the batch paid. */
typedef struct BeneficiaryPaid
{
	int64		owner_id;
	int64		account_id;
} BeneficiaryPaid;

/*
 * Score one request: each factor, the weighted mean (rounded half up), the
 * level, the decision (before rules) and the confidence: 40 % without
 * history rising to 100 % at min_samples earlier postings, less 10 points
 * for each of device, IP and location (country or coordinates) missing from
 * the context.
 */
void
fraud_score(const FraudSettings *s, const FraudStats *st, const FraudContext *ctx,
			int64 amount_minor, int exponent, FraudBeneficiary ben, bool has_ip_rep,
			int ip_score, const char *ip_label, TimestampTz now, FraudScore *out)
{
	int			weights[FF_COUNT] = {s->w_amount, s->w_device, s->w_velocity, s->w_geo,
	s->w_ip, s->w_beneficiary, s->w_credential, s->w_round};
	int64		sum = 0,
				wsum = 0;
	int64		conf;
	int32		lat,
				lon;

	memset(out, 0, sizeof(*out));
	fraud_factors(s, st, ctx, amount_minor, exponent, ben, has_ip_rep, ip_score, now,
				  out->factors);
	out->ip_label = has_ip_rep ? ip_label : NULL;
	for (int i = 0; i < FF_COUNT; i++)
	{
		out->factors[i].weight = weights[i];
		sum += (int64) out->factors[i].score * weights[i];
		wsum += weights[i];
	}
	out->score = wsum > 0 ? (int) ((sum * 2 + wsum) / (wsum * 2)) : 0;
	out->level = out->score >= s->critical_from ? "CRITICAL" :
		out->score >= s->high_from ? "HIGH" :
		out->score >= s->medium_from ? "MEDIUM" : "LOW";
	out->decision = out->score >= s->block_from ? "BLOCK" :
		out->score >= s->hold_from ? "HOLD" :
		out->score >= s->verify_from ? "REQUIRE_VERIFICATION" : "ALLOW";
	conf = 40 + 60 * Min(st->tx_count, (int64) s->min_samples) / s->min_samples;
	if (ctx == NULL || !ctx->has_device)
		conf -= 10;
	if (ctx == NULL || !ctx->has_ip)
		conf -= 10;
	if ((ctx == NULL || ctx->country[0] == '\0') && !fraud_context_location(ctx, &lat, &lon))
		conf -= 10;
	out->confidence_pct = (int) Max(conf, 10);
}

/* ---------------------------------------------------------------------
 * In the posting path
 * ---------------------------------------------------------------------
 */

/* Whether a request is scored (the account's kind aside): see the header. */
static bool
request_scored(const LedgerRequest *req)
{
	return req->nlegs >= 1 && req->legs[0].side == SIDE_DEBIT &&
		req->reverses_journal_id == 0 && !req->force &&
		req->release_account_number == NULL;
}

static int
stats_cmp(const void *a, const void *b)
{
	const FraudStats *x = a;
	const FraudStats *y = b;

	if (x->owner_id != y->owner_id)
		return x->owner_id < y->owner_id ? -1 : 1;
	return strcmp(x->currency, y->currency);
}

/* An owner's statistics in the batch: a binary search (stats are in lock order). */
static FraudStats *
find_stats(FraudState *fs, int64 owner_id, const char *currency)
{
	FraudStats	key;

	key.owner_id = owner_id;
	strlcpy(key.currency, currency, sizeof(key.currency));
	return bsearch(&key, fs->stats, fs->nstats, sizeof(FraudStats), stats_cmp);
}

/*
 * The distinct (user owner, currency) the batch debits, in lock order:
 * every scored request's, sorted, then the duplicates and the owners that
 * are not users dropped.
 */
static void
collect_owners(FraudState *fs, LedgerBatch *batch, LedgerRequest *reqs, int nreqs,
			   const bool *valid)
{
	int			n = 0;

	fs->stats = palloc0(sizeof(FraudStats) * Max(nreqs, 1));
	for (int i = 0; i < nreqs; i++)
	{
		LedgerAccountView src;

		if (!valid[i] || !request_scored(&reqs[i]) ||
			!ledger_batch_account(batch, reqs[i].legs[0].account_number, &src) ||
			src.is_system)
			continue;
		fs->stats[n].owner_id = src.owner_id;
		strlcpy(fs->stats[n].currency, src.currency, 4);
		fs->stats[n].is_user = true;
		n++;
	}
	qsort(fs->stats, n, sizeof(FraudStats), stats_cmp);
	for (int i = 0; i < n; i++)
	{
		if ((fs->nstats > 0 && stats_cmp(&fs->stats[fs->nstats - 1], &fs->stats[i]) == 0) ||
			!fraud_owner_is_user(fs->stats[i].owner_id))
			continue;
		if (fs->nstats != i)
			fs->stats[fs->nstats] = fs->stats[i];
		fs->nstats++;
	}
}

/*
 * Once per batch, after the accounts and the KYC counters are locked: read
 * the settings, lock the statistics of the user owners the batch debits
 * (in owner, currency order), and read the rules and the IP reputation
 * that may apply.
 */
void *
fraud_prepare(LedgerBatch *batch, LedgerRequest *reqs, int nreqs, const bool *valid)
{
	FraudState *fs = palloc0(sizeof(FraudState));
	const FraudContext *ctx = fraud_context();
	int64	   *owners;
	char	  **accounts;
	int			naccounts = 0;

	fraud_load_settings(&fs->settings, ledger_batch_config_generation(batch));
	if (!fs->settings.enabled)
		return fs;
	fs->has_ctx = ctx != NULL;
	if (ctx != NULL)
		fs->ctx = *ctx;
	fs->now = GetCurrentTransactionStartTimestamp();
	collect_owners(fs, batch, reqs, nreqs, valid);
	if (fs->nstats == 0)
		return fs;
	fraud_lock_stats(fs->stats, fs->nstats);
	for (int i = 0; i < fs->nstats; i++)
		fs->stats[i].device_known = fs->has_ctx && fs->ctx.has_device &&
			fraud_device_known(&fs->stats[i], &fs->ctx);
	owners = palloc(sizeof(int64) * fs->nstats);
	for (int i = 0; i < fs->nstats; i++)
		owners[i] = fs->stats[i].owner_id;
	accounts = palloc(sizeof(char *) * Max(nreqs, 1));
	for (int i = 0; i < nreqs; i++)
		if (valid[i] && reqs[i].nlegs >= 2 && reqs[i].legs[1].side == SIDE_CREDIT)
			accounts[naccounts++] = reqs[i].legs[1].account_number;
	if (fs->settings.any_rules)
		fs->nrules = fraud_load_rules(fs->has_ctx ? &fs->ctx : NULL, owners, fs->nstats,
									  accounts, naccounts, &fs->rules);
	fs->has_ip_rep = fs->settings.any_ip_rep &&
		fraud_ip_reputation(fs->has_ctx ? &fs->ctx : NULL, &fs->ip_score, &fs->ip_label);
	fs->entries = palloc0(sizeof(FraudEntry) * nreqs);
	return fs;
}

/* The rule that decides a request, if any: a deny before an allow. */
static FraudRule *
match_rule(FraudState *fs, int64 owner_id, const LedgerRequest *req)
{
	const char *credited = req->nlegs >= 2 && req->legs[1].side == SIDE_CREDIT ?
		req->legs[1].account_number : NULL;

	/* the rules come denies first */
	for (int i = 0; i < fs->nrules; i++)
	{
		FraudRule  *r = &fs->rules[i];

		if ((r->subject == 'U' && r->owner_id == owner_id) ||
			(r->subject == 'M' && credited != NULL &&
			 strcmp(r->account_number, credited) == 0) ||
			r->subject == 'D' || r->subject == 'I')
			return r;
	}
	return NULL;
}

static const char *
subject_name(char subject)
{
	return subject == 'U' ? "user" : subject == 'D' ? "device" : subject == 'I' ?
		"IP range" : "merchant";
}

/*
 * The refusals' details are what a client may see (the bridge shows them):
 * never the score, its level or a factor, which would let a client probe the
 * thresholds; the record keeps them for the admins.
 *
 * The decision in the money path: BLOCK refuses (WL047); HOLD holds the
 * request for review (a hold placement cannot be: it is blocked);
 * REQUIRE_VERIFICATION refuses (WL048) unless the owner presented a step-up
 * verification in this transaction (fraud_verified.c), which the record then
 * names; ALLOW posts.
 */
static bool
decide(FraudState *fs, FraudEntry *e, LedgerRequest *req, int64 owner_id,
	   const FraudRule *rule, LedgerRefusal *r)
{
	const char *method;
	const char *block_detail = rule != NULL ? "a fraud rule applies" :
		"the transaction's risk is too high";

	if (strcmp(e->score.decision, "HOLD") == 0)
	{
		/*
		 * Held for review: any posting but a hold placement (it reserves
		 * already) and an FX conversion (its rate is of the moment), which
		 * are blocked instead.
		 */
		if (!req->reserve && strcmp(req->journal_type, "FX_CONVERSION") != 0)
		{
			req->review = true;
			req->review_expires_at = fs->now +
				(int64) fs->settings.review_hours * USECS_PER_HOUR;
			return true;
		}
		block_detail = "the transaction's risk is too high to hold it for review";
	}
	else if (strcmp(e->score.decision, "BLOCK") != 0)
		block_detail = NULL;
	if (block_detail != NULL)
	{
		e->refused = true;
		return ledger_refuse(r, ERRCODE_WALLET_FRAUD_BLOCK,
							 pstrdup("transaction blocked by fraud detection"),
							 pstrdup(block_detail));
	}
	if (strcmp(e->score.decision, "REQUIRE_VERIFICATION") != 0)
		return true;
	method = fraud_verified_method(owner_id);
	if (method != NULL)
	{
		e->score.verification = pstrdup(method);
		return true;
	}
	e->refused = true;
	return ledger_refuse(r, ERRCODE_WALLET_FRAUD_VERIFICATION_REQUIRED,
						 pstrdup("verification required by fraud detection"),
						 pstrdup("verify (purpose payment) and present the verification "
								 "token with the request"));
}

/*
 * The request's credited account as the New Beneficiary factor sees it: an
 * index probe of the owner's known beneficiaries, unless a posting earlier
 * in the batch already paid it (fs->paid, filled by fraud_commit).
 */
static void
beneficiary(FraudState *fs, FraudEntry *e, const LedgerRequest *req,
			const LedgerAccountView *accts)
{
	const LedgerAccountView *credited = req->nlegs >= 2 && req->legs[1].side == SIDE_CREDIT ?
		&accts[1] : NULL;
	BeneficiaryPaid key;

	e->ben = fraud_beneficiary(e->stats->owner_id, credited);
	if (e->ben == FB_NONE)
		return;
	e->beneficiary_id = credited->id;
	key.owner_id = e->stats->owner_id;
	key.account_id = e->beneficiary_id;
	if (e->ben == FB_NEW && fs->paid != NULL &&
		hash_search(fs->paid, &key, HASH_FIND, NULL) != NULL)
		e->ben = FB_KNOWN;
}

/* A posted entry's beneficiary counts as known for the rest of the batch. */
static void
remember_paid(FraudState *fs, const FraudEntry *e)
{
	BeneficiaryPaid key;

	if (e->ben == FB_NONE)
		return;
	if (fs->paid == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(BeneficiaryPaid);
		ctl.entrysize = sizeof(BeneficiaryPaid);
		ctl.hcxt = GetMemoryChunkContext(fs);
		fs->paid = hash_create("pg_wallet fraud beneficiaries paid", 64, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	key.owner_id = e->stats->owner_id;
	key.account_id = e->beneficiary_id;
	(void) hash_search(fs->paid, &key, HASH_ENTER, NULL);
}

/*
 * Score one resolved request and decide (decide()). The score is kept for
 * write(), whatever the core then does.
 */
bool
fraud_apply(void *state, LedgerRequest *req, const LedgerAccountView *accts,
			LedgerResult *res, LedgerRefusal *r)
{
	FraudState *fs = state;
	FraudStats *st;
	FraudEntry *e;
	FraudRule  *rule;

	if (fs == NULL)
		return true;
	fs->pending = NULL;
	if (fs->nstats == 0 || !request_scored(req) || accts[0].is_system ||
		(st = find_stats(fs, accts[0].owner_id, accts[0].currency)) == NULL)
		return true;
	e = &fs->entries[fs->nentries++];
	e->res = res;
	e->stats = st;
	e->account_number = req->legs[0].account_number;
	e->request_ref = req->idempotency_key;
	e->amount_minor = req->legs[0].amount_minor;
	e->exponent = accts[0].exponent;
	beneficiary(fs, e, req, accts);
	fraud_score(&fs->settings, st, fs->has_ctx ? &fs->ctx : NULL, e->amount_minor,
				e->exponent, e->ben, fs->has_ip_rep, fs->ip_score, fs->ip_label, fs->now,
				&e->score);
	rule = match_rule(fs, accts[0].owner_id, req);
	if (rule != NULL)
	{
		e->score.decision = rule->deny ? "BLOCK" : "ALLOW";
		e->score.rule = psprintf("%s %s rule: %s", rule->deny ? "Deny" : "Allow",
								 subject_name(rule->subject), rule->reason);
	}
	if (!decide(fs, e, req, accts[0].owner_id, rule, r))
		return false;
	fs->pending = e;
	return true;
}

/* The request last applied was posted: it counts in its owner's statistics. */
void
fraud_commit(void *state)
{
	FraudState *fs = state;
	FraudEntry *e = fs != NULL ? fs->pending : NULL;

	if (e == NULL)
		return;
	e->posted = true;
	remember_paid(fs, e);
	fraud_stats_add(e->stats, e->amount_minor, fs->has_ctx ? &fs->ctx : NULL, fs->now);
	if (fs->has_ctx && fs->ctx.has_device)
		e->stats->device_known = true;
	fs->pending = NULL;
}

static FraudAlertSink alert_sink = NULL;

void
rules_set_fraud_alert_sink(FraudAlertSink sink)
{
	alert_sink = sink;
}

/* Whether a recorded score is announced: HIGH and CRITICAL ones. */
bool
fraud_alerting(const FraudScore *sc)
{
	return strcmp(sc->level, "HIGH") == 0 || strcmp(sc->level, "CRITICAL") == 0;
}

/*
 * Announce a recorded score (fraud_alerting) through the registered sink,
 * naming its transaction (NULL: none) or the hold keeping it (0: none).
 */
void
fraud_announce(int64 owner_id, const char *transaction_id, int64 hold_id,
			   const FraudScore *sc)
{
	FraudAlert	a;

	if (alert_sink == NULL)
		return;
	a.owner_id = owner_id;
	a.transaction_id = transaction_id;
	a.hold_id = hold_id;
	a.score = sc->score;
	a.level = sc->level;
	a.decision = sc->decision;
	alert_sink(&a);
}

/* Announce a posting's recorded score, named by its journal's receipt code. */
static void
announce(FraudEntry *e)
{
	int64		journal_id = e->res->journal_id;

	fraud_announce(e->stats->owner_id,
				   journal_id != 0 ? receipt_encode(journal_id, e->res->created_at) : NULL,
				   e->res->hold_id, &e->score);
}

/* Whether an entry's score is recorded: posted, or refused with its refusal recorded. */
static bool
entry_recorded(const FraudEntry *e)
{
	return e->posted || (e->refused && e->res->journal_id != 0);
}

/* The beneficiaries the batch's posted (or held) requests paid for the first time. */
static void
store_beneficiaries(FraudState *fs)
{
	int64	   *owners = palloc(sizeof(int64) * Max(fs->nentries, 1));
	int64	   *accounts = palloc(sizeof(int64) * Max(fs->nentries, 1));
	int			n = 0;

	/* a held request's payee becomes known when the hold is posted (_fraud_hold_posted) */
	for (int i = 0; i < fs->nentries; i++)
		if (fs->entries[i].posted && fs->entries[i].ben == FB_NEW &&
			fs->entries[i].res->hold_id == 0)
		{
			owners[n] = fs->entries[i].stats->owner_id;
			accounts[n++] = fs->entries[i].beneficiary_id;
		}
	fraud_store_beneficiaries(owners, accounts, n, fs->now);
}

/*
 * The score this transaction last recorded for a posted journal (a posting
 * held for review is left out: its record is the hold's). The strings are
 * copied: the batch's memory is gone when a caller asks.
 */
static struct
{
	LocalTransactionId lxid;
	int64		journal_id;
	int			score;
	char		level[16];
	char		decision[24];
}			last_recorded;

static void
remember_recorded(const FraudRecord *r)
{
	if (r->journal_id == 0 || r->hold_id != 0)
		return;
	last_recorded.lxid = MyProc->lxid;
	last_recorded.journal_id = r->journal_id;
	last_recorded.score = r->score->score;
	strlcpy(last_recorded.level, r->score->level, sizeof(last_recorded.level));
	strlcpy(last_recorded.decision, r->score->decision, sizeof(last_recorded.decision));
}

bool
rules_recorded_score(int64 journal_id, int *score, const char **level, const char **decision)
{
	if (journal_id == 0 || last_recorded.lxid != MyProc->lxid ||
		last_recorded.journal_id != journal_id)
		return false;
	*score = last_recorded.score;
	*level = last_recorded.level;
	*decision = last_recorded.decision;
	return true;
}

/*
 * Once per batch, after the core's writes: the statistics of the owners
 * whose postings were posted (and the devices they posted from), the score
 * of each posted request and of each blocked one whose refusal was
 * recorded, the new beneficiaries paid, then each HIGH and CRITICAL one is
 * announced.
 */
void
fraud_write(void *state)
{
	FraudState *fs = state;
	Jsonb	   *context;
	FraudRecord *recs;
	int			nrecs = 0;

	if (fs == NULL || fs->nstats == 0)
		return;
	fraud_store_stats(fs->stats, fs->nstats, fs->now);
	for (int i = 0; i < fs->nstats; i++)
	{
		if (fs->stats[i].dirty && fs->has_ctx && fs->ctx.has_device)
			fraud_remember_device(&fs->stats[i], &fs->ctx, fs->now);
		fs->stats[i].dirty = false;
	}
	context = fraud_context_jsonb(fs->has_ctx ? &fs->ctx : NULL);
	recs = palloc(sizeof(FraudRecord) * Max(fs->nentries, 1));
	for (int i = 0; i < fs->nentries; i++)
	{
		FraudEntry *e = &fs->entries[i];
		FraudRecord *r = &recs[nrecs];

		if (!entry_recorded(e))
			continue;
		r->owner_id = e->stats->owner_id;
		r->account_number = e->account_number;
		r->journal_id = e->res->journal_id;
		r->hold_id = e->res->hold_id;
		r->request_ref = e->request_ref;
		r->amount_minor = e->amount_minor;
		r->currency = e->stats->currency;
		r->score = &e->score;
		r->model_version = fs->settings.model_version;
		r->context = context;
		nrecs++;
	}
	fraud_store_scores(recs, nrecs);
	if (nrecs > 0)
		remember_recorded(&recs[nrecs - 1]);
	store_beneficiaries(fs);
	for (int i = 0; i < fs->nentries; i++)
	{
		FraudEntry *e = &fs->entries[i];

		if (entry_recorded(e) && fraud_alerting(&e->score))
			announce(e);
	}
}
