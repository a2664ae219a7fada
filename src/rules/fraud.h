/*-------------------------------------------------------------------------
 *
 * fraud.h
 *	  Fraud scoring as a member of the money rules (rules.c calls it from its
 *	  LedgerRules callbacks): the request context (fraud_context.c), the
 *	  owners' running statistics (fraud_stats.c), the factors
 *	  (fraud_factors.c) and the scoring itself (fraud.c). docs/fraud.md
 *	  describes the factors and the decisions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FRAUD_H
#define FRAUD_H

#include "core/ledger_rules.h"
#include "utils/array.h"

#define FRAUD_MAX_COUNTRIES 5

/* What the caller said about the request (pg_wallet.set_request_context). */
typedef struct FraudContext
{
	bool		has_ip;
	char		ip[64];			/* canonical inet text */
	bool		has_device;
	uint8		device_hash[32];	/* SHA-256 of the device id */
	char		user_agent[257];
	char		country[3];		/* ISO 3166-1 alpha-2, or "" */
	char		lat[24];		/* decimal text, or "" */
	char		lon[24];
} FraudContext;

/* The settings row. */
typedef struct FraudSettings
{
	bool		enabled;
	int			w_amount,
				w_device,
				w_velocity,
				w_geo,
				w_ip,
				w_beneficiary,
				w_credential,
				w_round;
	int			medium_from,
				high_from,
				critical_from,
				block_from,
				verify_from,
				hold_from,
				review_hours;
	int			max_per_minute,
				max_per_hour,
				min_samples;
	int			max_travel_kmh;
	int			credential_window_h;
	int64		round_from_major;
	int			round_margin_bp;
	char		model_version[24];
	bool		any_rules;		/* an active allow/deny rule exists */
	bool		any_ip_rep;		/* an IP reputation range exists */
} FraudSettings;

/* An owner's statistics in one currency (fraud_owner_stats), as loaded. */
typedef struct FraudStats
{
	int64		owner_id;
	char		currency[4];
	bool		is_user;		/* only users' postings are scored */
	bool		exists;			/* the row exists (locked when posting) */
	ItemPointerData tid;
	int64		tx_count;
	int128		mean_e4;
	int128		m2_e8;
	TimestampTz minute_start;
	int			minute_count;
	TimestampTz hour_start;
	int			hour_count;
	int			ncountries;
	char		countries[FRAUD_MAX_COUNTRIES][3];
	int32		lat_e6;			/* the last located posting's coordinates */
	int32		lon_e6;
	TimestampTz located_at;		/* DT_NOBEGIN: none yet */
	char		credential_change[12];	/* "password", "phone" or "" */
	TimestampTz credential_changed_at;	/* DT_NOBEGIN: none pending */
	bool		device_known;	/* the context's device is known for the owner */
	bool		dirty;
} FraudStats;

typedef enum FraudFactorKind
{
	FF_AMOUNT,
	FF_DEVICE,
	FF_VELOCITY,
	FF_GEO,
	FF_IP,
	FF_BENEFICIARY,
	FF_CREDENTIAL,
	FF_ROUND,
	FF_COUNT
} FraudFactorKind;

/*
 * What a factor found, as a note and its numbers (fraud_explain.c renders
 * the one-line explanation from them, when a score is read): the record
 * keeps these few integers instead of the text (issue 12: the text was most
 * of a score record's size and of its cost in the posting path).
 */
typedef enum FraudNote
{
	FN_AMOUNT_HISTORY,			/* earlier postings */
	FN_AMOUNT_WITHIN,
	FN_AMOUNT_ABOVE,			/* ratio x10, standard deviations x100 */
	FN_DEVICE_NONE,
	FN_DEVICE_KNOWN,
	FN_DEVICE_FIRST,
	FN_DEVICE_NEW,
	FN_VELOCITY,				/* minute count, hour count, the two ceilings */
	FN_GEO_NO_COUNTRY,
	FN_GEO_NO_HISTORY,
	FN_GEO_CONSISTENT,
	FN_GEO_COUNTRY,				/* the country, two letters packed in one number */
	FN_GEO_NO_COORDS,
	FN_GEO_NO_LOCATION,
	FN_GEO_IMPOSSIBLE,			/* km, minutes, km/h ceiling */
	FN_GEO_DISTANCE,			/* km: far (score > 0) or within */
	FN_IP_NONE,
	FN_IP_NO_ENTRY,
	FN_IP_LISTED,				/* the label: FraudScore.ip_label */
	FN_BENEFICIARY_NONE,
	FN_BENEFICIARY_KNOWN,
	FN_BENEFICIARY_FIRST,
	FN_BENEFICIARY_NEW,
	FN_CREDENTIAL_NONE,			/* window hours */
	FN_CREDENTIAL_AFTER,		/* minutes, 1 password / 2 phone */
	FN_ROUND_NO,
	FN_ROUND_UNDER,				/* gap, threshold (minor units), exponent */
	FN_COUNT
} FraudNote;

#define FRAUD_NOTE_MAX_ARGS 4

typedef struct FraudFactor
{
	int			score;			/* 0..100 */
	int			weight;			/* hundredths */
	FraudNote	note;
	int64		args[FRAUD_NOTE_MAX_ARGS];
} FraudFactor;

/* Columns of a fraud_owner_stats row that fraud_stats_fill() reads, in its order. */
#define FRAUD_STATS_NCOLS 13

/* The credited account of a request, as the New Beneficiary factor sees it. */
typedef enum FraudBeneficiary
{
	FB_NONE,					/* no credited account of another owner (own, system) */
	FB_KNOWN,					/* paid before by the owner */
	FB_NEW						/* never paid by the owner */
} FraudBeneficiary;

/* One score. */
typedef struct FraudScore
{
	FraudFactor factors[FF_COUNT];
	int			score;
	const char *level;
	const char *decision;
	int			confidence_pct;
	const char *ip_label;		/* FN_IP_LISTED: the range's label */
	char	   *rule;			/* the allow/deny rule that decided, or NULL */
	char	   *verification;	/* REQUIRE_VERIFICATION met: the method, or NULL */
} FraudScore;

/* An allow/deny rule that may apply to the batch. */
typedef struct FraudRule
{
	bool		deny;
	char		subject;		/* U, D, I (matched when loaded), M */
	int64		owner_id;
	char	   *account_number;
	char	   *reason;
} FraudRule;

/* One score record to write (fraud_scores). */
typedef struct FraudRecord
{
	int64		owner_id;
	const char *account_number;
	int64		journal_id;		/* 0: none (NULL) */
	int64		hold_id;		/* HOLD: the hold that keeps the request (0: none) */
	const char *request_ref;
	int64		amount_minor;
	const char *currency;
	const FraudScore *score;
	const char *model_version;
	Jsonb	   *context;
} FraudRecord;

/* fraud_context.c */
extern const FraudContext *fraud_context(void);
extern Jsonb *fraud_context_jsonb(const FraudContext *ctx);

/* fraud_verified.c */
extern const char *fraud_verified_method(int64 owner_id);

/* fraud_stats.c */
extern void fraud_load_settings(FraudSettings *s, int64 generation);
extern bool fraud_owner_is_user(int64 owner_id);
extern void fraud_load_stats(FraudStats *st, const FraudContext *ctx);
extern void fraud_stats_fill(FraudStats *st, const Datum *values);
extern FraudBeneficiary fraud_beneficiary(int64 owner_id, const LedgerAccountView *credited);
extern bool fraud_context_location(const FraudContext *ctx, int32 *lat_e6, int32 *lon_e6);
extern bool fraud_device_known(const FraudStats *st, const FraudContext *ctx);
extern void fraud_remember_device(const FraudStats *st, const FraudContext *ctx,
								  TimestampTz now);
extern bool fraud_in_window(TimestampTz start, TimestampTz now, int64 length);
extern void fraud_stats_add(FraudStats *st, int64 amount_minor, const FraudContext *ctx,
							TimestampTz now);
extern int	fraud_load_rules(const FraudContext *ctx, int64 *owners, int nowners,
							 char **accounts, int naccounts, FraudRule **out);
extern bool fraud_ip_reputation(const FraudContext *ctx, int *score, char **label);
extern char *int128_to_cstring(int128 v);
extern int128 numeric_to_int128(Datum num);
extern Datum int128_numeric(int128 v);

/* fraud_store.c: the posting path's writes, through core/direct.c */
extern void fraud_lock_stats(FraudStats *stats, int n);
extern void fraud_store_stats(FraudStats *stats, int n, TimestampTz now);
extern int64 fraud_store_scores(const FraudRecord *recs, int n);
extern void fraud_store_beneficiaries(const int64 *owners, const int64 *accounts, int n,
									  TimestampTz now);

/* fraud.c: the rules' member */
extern void *fraud_prepare(LedgerBatch *batch, LedgerRequest *reqs, int nreqs,
						   const bool *valid);
extern bool fraud_apply(void *state, LedgerRequest *req, const LedgerAccountView *accts,
						LedgerResult *res, LedgerRefusal *r);
extern void fraud_commit(void *state);
extern void fraud_write(void *state);
extern bool fraud_alerting(const FraudScore *sc);
extern void fraud_announce(int64 owner_id, const char *transaction_id, int64 hold_id,
						   const FraudScore *sc);

/* fraud_factors.c: the factors of one request */
extern void fraud_factors(const FraudSettings *s, const FraudStats *st, const FraudContext *ctx,
						  int64 amount_minor, int exponent, FraudBeneficiary ben,
						  bool has_ip_rep, int ip_score, TimestampTz now, FraudFactor *out);

/* fraud.c: scoring, shared by the posting path and the preview */
extern void fraud_score(const FraudSettings *s, const FraudStats *st, const FraudContext *ctx,
						int64 amount_minor, int exponent, FraudBeneficiary ben,
						bool has_ip_rep, int ip_score, const char *ip_label, TimestampTz now,
						FraudScore *out);
extern Jsonb *fraud_factors_jsonb(const FraudScore *sc, const char *currency);

/* fraud_explain.c: the names and the explanations of the factors */
extern const char *const fraud_factor_names[FF_COUNT];
extern int	fraud_note_nargs(FraudNote note);
extern char *fraud_explain(const FraudFactor *f, const char *currency, const char *ip_label);
extern ArrayType *fraud_notes_array(const FraudScore *sc);

#endif							/* FRAUD_H */
