/*-------------------------------------------------------------------------
 *
 * ledger_store.h
 *	  The posting core's reads, locks and key claims (ledger_store.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEDGER_STORE_H
#define LEDGER_STORE_H

#include "core/ledger_batch.h"

extern const Oid journal_types[J_NCOLS];
extern const Oid entry_types[E_NCOLS];

extern void batch_init(Batch *b);
extern LedgerAccount *batch_account(Batch *b, const char *number, bool create);
extern void collect_accounts(Batch *b, LedgerRequest *reqs, int nreqs, bool *valid);
extern void lock_accounts(Batch *b);
extern void fold_deferred(Batch *b);
extern void load_keys(Batch *b, LedgerRequest *reqs, int nreqs);
extern KeyedJournal *find_keyed(Batch *b, int64 scope, const char *key);
extern void claim_key(Batch *b, LedgerRequest *req, int64 journal_id);
extern void write_claims(Batch *b);
extern void resolve_late_accounts(Batch *b);
extern void barrier_unlocked_accounts(Batch *b);

#endif							/* LEDGER_STORE_H */
