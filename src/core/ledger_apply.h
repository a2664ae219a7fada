/*-------------------------------------------------------------------------
 *
 * ledger_apply.h
 *	  Step 4 of a posting: one request applied in memory, with its undo
 *	  (ledger_apply.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEDGER_APPLY_H
#define LEDGER_APPLY_H

#include "core/ledger_batch.h"

extern void save_undo(AccountUndo *undo, int *nundo, LedgerAccount *acct);
extern void restore_undo(AccountUndo *undo, int nundo);
extern bool check_funds(Batch *b, LedgerRequest *req, AccountUndo *undo, int nundo,
						Refusal *r);
extern bool apply_legs(Batch *b, LedgerRequest *req, LedgerAccount **accts,
					   int64 *balance_after, AccountUndo *undo, int *nundo, Refusal *r);
extern bool apply_reserve(LedgerRequest *req, LedgerAccount **accts, AccountUndo *undo,
						  int *nundo, Refusal *r);
extern bool apply_release(Batch *b, LedgerRequest *req, AccountUndo *undo, int *nundo,
						  Refusal *r);

#endif							/* LEDGER_APPLY_H */
