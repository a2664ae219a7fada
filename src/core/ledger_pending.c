/*-------------------------------------------------------------------------
 *
 * ledger_pending.c
 *	  The posting core's two writes that post no journal: giving back a
 *	  hold's reservation (void, expiry) and folding the pending credits of
 *	  DEFERRED accounts into their balances. Both lock accounts with the
 *	  posting path's own statement, in its order, and write them with its
 *	  own statement (ledger_store.c).
 *
 * Never: changes a balance's meaning: a fold moves deltas into the balance
 * in the same transaction that deletes them, so every read gives the same
 * answer before and after.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/hsearch.h"

#include "core/ledger_store.h"
#include "core/ledger_write.h"

/*
 * Give back a hold's reservation without posting it (void, expiry): the
 * account's pending_debit falls by the amount, its balance is untouched. The
 * account is locked as for a debit (and its deferred credits folded). A hold
 * is placed (reserve) and captured through ledger_post_batch.
 */
void
ledger_release_pending(const char *account_number, int64 amount_minor)
{
	Batch		b;
	LedgerAccount *acct;

	batch_init(&b);
	batch_account(&b, account_number, true)->want_lock = true;
	lock_accounts(&b);
	fold_deferred(&b);
	acct = batch_account(&b, account_number, false);
	if (!acct->found || !acct->locked)
		elog(ERROR, "account %s of a hold is missing", account_number);
	if (amount_minor <= 0 || amount_minor > acct->pending_debit)
		elog(ERROR, "release of %lld exceeds pending debit of account %s",
			 (long long) amount_minor, account_number);
	acct->pending_debit -= amount_minor;
	acct->dirty = true;
	write_accounts(&b);
}

/*
 * Fold the pending credits of DEFERRED accounts into their balances: the
 * named account, or every DEFERRED account that has any (up to max_accounts).
 * Returns the number of accounts folded. Reads give the same balance before
 * and after; a fold only keeps account_deltas short.
 */
int64
ledger_fold(const char *account_number, int max_accounts)
{
	Batch		b;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	int64		folded = 0;

	batch_init(&b);
	if (account_number != NULL)
		batch_account(&b, account_number, true)->want_lock = true;
	else
	{
		Oid			argtypes[1] = {INT4OID};
		Datum		values[1] = {Int32GetDatum(max_accounts)};

		if (SPI_execute_with_args("SELECT a.account_number FROM pg_wallet.accounts a"
								  " WHERE a.id IN (SELECT DISTINCT d.account_id"
								  "   FROM pg_wallet.account_deltas d) ORDER BY a.id LIMIT $1",
								  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "deferred account look-up failed");
		for (uint64 i = 0; i < SPI_processed; i++)
			batch_account(&b, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
						  true)->want_lock = true;
	}
	lock_accounts(&b);
	hash_seq_init(&seq, b.accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		if (!acct->found)
			ereport(ERROR,
					(errcode(ERRCODE_WALLET_ACCOUNT_NOT_FOUND),
					 errmsg("account %s does not exist", acct->account_number)));
	fold_deferred(&b);
	hash_seq_init(&seq, b.accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		folded += acct->dirty ? 1 : 0;
	write_accounts(&b);
	return folded;
}
