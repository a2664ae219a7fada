/*-------------------------------------------------------------------------
 *
 * ledger_stripes.h
 *	  Striped accounts (ledger_stripes.c): the hooks the posting core calls,
 *	  private to src/core like ledger_batch.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEDGER_STRIPES_H
#define LEDGER_STRIPES_H

#include "core/ledger_batch.h"

#define WALLET_MAX_STRIPES	64		/* stripes of one account */

/* One pass of ledger_post_batch (ledger.c); false: roll it back, try the next. */
typedef bool (*StripesPass) (LedgerRequest *reqs, int nreqs, bool atomic,
							 LedgerResult *results, int stripe_pass);

extern bool stripes_worth_trying(LedgerRequest *reqs, int nreqs);
extern bool stripes_attempt(LedgerRequest *reqs, int nreqs, bool atomic,
							LedgerResult *results, StripesPass pass, int stripe_pass);
extern void stripes_mark(Batch *b);
extern bool stripes_check_missing(Batch *b);
extern void stripes_learn(Batch *b);
extern void stripes_consolidate(Batch *b, LedgerAccount *only);
extern void stripes_hold(Batch *b);
extern void stripes_funds_miss(Batch *b, LedgerAccount *acct);
extern bool stripes_take(Batch *b, LedgerRequest *reqs, int nreqs, const bool *valid);
extern bool stripes_debit(Batch *b, LedgerAccount *acct, int64 amount, Refusal *r);
extern void stripes_write(Batch *b);
extern void stripes_known_set(const char *number, bool striped);

#endif							/* LEDGER_STRIPES_H */
