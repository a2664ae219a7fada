/*-------------------------------------------------------------------------
 *
 * holds_internal.h
 *	  What holds.c and holds_review.c share: a locked hold row and the
 *	  operations that close it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef HOLDS_INTERNAL_H
#define HOLDS_INTERNAL_H

#include "core/pg_wallet.h"

/* A locked hold row with what its operations need. */
typedef struct HoldRow
{
	int64		id;
	char	   *account_number;
	char	   *counterpart_number;
	char	   *currency;
	int			exponent;
	int64		amount;
	char	   *status;
	bool		expired;		/* ACTIVE past expires_at */
	int64		journal_id;
	int64		fee;
	int64		commission;
	char	   *agent_number;	/* NULL: no agent */
	bool		limit_counted;
	int64		owner_id;
	TimestampTz created_at;
	bool		has_review;		/* kept for review: review is the request */
	Datum		review;			/* jsonb */
} HoldRow;

/* holds.c */
extern void lock_hold(int64 hold_id, HoldRow *h);
extern void close_hold(int64 hold_id, const char *status, int64 posted_amount,
					   int64 journal_id, const char *reason);
extern void hold_unreserve(HoldRow *h);

/* holds_review.c */
extern void hold_review_request(HoldRow *h, int64 amount_minor, LedgerRequest *req);

#endif							/* HOLDS_INTERNAL_H */
