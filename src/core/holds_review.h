/*-------------------------------------------------------------------------
 *
 * holds_review.h
 *	  A hold row for each request the posting core held for review
 *	  (holds_review.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef HOLDS_REVIEW_H
#define HOLDS_REVIEW_H

#include "core/ledger_rules.h"

extern void holds_record_reviews(LedgerRequest *reqs, int nreqs, LedgerResult *results);

#endif							/* HOLDS_REVIEW_H */
