/*-------------------------------------------------------------------------
 *
 * ledger_rules.h
 *	  The one interface through which rules above the core (client services,
 *	  fees, KYC limits, and later fraud scoring) take part in a posting. The
 *	  core knows nothing of them: a rule set registers a LedgerRules table of
 *	  callbacks at load time and sees accounts only as LedgerAccountView
 *	  copies, never the core's working state.
 *
 * The way of one batch through the callbacks:
 *	1. the core resolves and locks the batch's accounts;
 *	2. prepare(batch, ...) once: the rules read what they need (their own
 *	   tables, under their own locks) and may name more accounts to resolve
 *	   without a lock (ledger_batch_add_account: fee income accounts);
 *	3. for each request, after its own accounts are resolved: apply() may
 *	   refuse it or append legs (a fee); the core then checks funds, and
 *	   calls commit() when the request was posted;
 *	4. after the core wrote journals, entries and accounts: write() once.
 * A hold is placed through the same path (a request that reserves instead
 * of posting: apply() sees req->reserve). apply() may ask that a posting be
 * held for review instead (req->review: reserved like a hold, kept in a hold
 * row that post_hold posts as the request; holds_review.c). A hold
 * released without capture gives back what its placement counted
 * (hold_release); a capture's reserved fee becomes legs through
 * hold_fee_legs.
 *
 * Never: a callback writes a balance, an entry or a journal; the core never
 * calls a rule by name.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEDGER_RULES_H
#define LEDGER_RULES_H

#include "core/pg_wallet.h"

/* The KYC tier of an account whose owner has none: no limits apply. */
#define LEDGER_NO_TIER (-1)

/* What rules may know of an account: a read-only copy. */
typedef struct LedgerAccountView
{
	const char *account_number;
	int64		id;
	int64		owner_id;
	char		currency[4];
	int			exponent;
	int			kyc_tier;		/* the owner's KYC tier, or LEDGER_NO_TIER */
	bool		is_system;
} LedgerAccountView;

/* A refusal: what would be raised, or recorded under an idempotency key. */
typedef struct LedgerRefusal
{
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
} LedgerRefusal;

/* A batch being posted, as rules may see it (opaque). */
typedef struct Batch LedgerBatch;

typedef struct LedgerRules
{
	/* once per batch, after the lock pass; returns the rules' batch state */
	void	   *(*prepare) (LedgerBatch *batch, LedgerRequest *reqs, int nreqs,
							const bool *valid);
	/* one resolved request: refuse it (false, *r filled) or append legs */
	bool		(*apply) (void *state, LedgerRequest *req, const LedgerAccountView *accts,
						  LedgerResult *res, LedgerRefusal *r);
	/* the request last applied was posted */
	void		(*commit) (void *state);
	/* once per batch, after the core's writes */
	void		(*write) (void *state);
	/* a hold released without capture: give back what hold_place counted */
	void		(*hold_release) (int64 owner_id, const char *currency, int64 amount_minor,
								 TimestampTz placed_at);
	/* the legs of a hold's reserved fee, appended to its capture (4 legs of room) */
	void		(*hold_fee_legs) (LedgerRequest *req, const char *currency,
								  const char *holder, int64 fee_minor, int64 commission_minor,
								  const char *agent);
} LedgerRules;

/* ledger_rules.c: registration (from _PG_init) and what callbacks may ask */
extern void ledger_register_rules(const LedgerRules *rules);
extern const LedgerRules *ledger_rules(void);
extern bool ledger_refuse(LedgerRefusal *r, int sqlerrcode, char *message, char *detail);
extern bool ledger_batch_account(LedgerBatch *batch, const char *account_number,
								 LedgerAccountView *out);
extern void ledger_batch_add_account(LedgerBatch *batch, const char *account_number);
extern int64 ledger_batch_config_generation(LedgerBatch *batch);
extern int64 ledger_config_generation_now(void);

/* the rules' part of holds, for holds.c: no rules registered, no fee and no limits */
extern void ledger_rules_hold_release(int64 owner_id, const char *currency,
									  int64 amount_minor, TimestampTz placed_at);
extern void ledger_rules_hold_fee_legs(LedgerRequest *req, const char *currency,
									   const char *holder, int64 fee_minor,
									   int64 commission_minor, const char *agent);

#endif							/* LEDGER_RULES_H */
