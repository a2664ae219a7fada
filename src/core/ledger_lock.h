/*-------------------------------------------------------------------------
 *
 * ledger_lock.h
 *	  lock_accounts() without a statement, 0.2.0 schema on (ledger_lock.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEDGER_LOCK_H
#define LEDGER_LOCK_H

#include "core/ledger_batch.h"

extern void lock_accounts_direct(Batch *b);

#endif							/* LEDGER_LOCK_H */
