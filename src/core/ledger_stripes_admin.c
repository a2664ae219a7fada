/*-------------------------------------------------------------------------
 *
 * ledger_stripes_admin.c
 *	  Striping an account and the expiry worker's rebalance of striped
 *	  accounts (docs/operations.md, "Hot accounts"): set_account_stripes()
 *	  and rebalance_stripes(), over the posting core's stripe pass
 *	  (ledger_stripes.c).
 *
 * Owns: the number of an account's stripes (accounts.stripes and its
 * account_stripes rows: created, dropped, refilled here). Never: debits or
 * credits an account.
 *
 * Locking: as a posting that consolidates: the account's status barrier
 * (exclusive: postings without its row lock wait), then its row, then all
 * its stripes in stripe order, waiting for the stripe debits in flight.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"

#include "core/ledger_guard.h"
#include "wallet_errors.h"
#include "core/ledger_store.h"
#include "core/ledger_stripes.h"
#include "core/ledger_write.h"

PG_FUNCTION_INFO_V1(wallet_set_account_stripes);
PG_FUNCTION_INFO_V1(wallet_rebalance_stripes);

/* Lock one account as the plain path does, with its stripes; fold its deltas. */
static LedgerAccount *
lock_consolidated(Batch *b, const char *account_number)
{
	LedgerAccount *acct;

	batch_init(b);				/* an ALL pass: consolidated */
	acct = batch_account(b, account_number, true);
	acct->want_lock = true;
	lock_accounts(b);
	if (!acct->found)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_ACCOUNT_NOT_FOUND),
				 errmsg("account %s does not exist", account_number)));
	stripes_learn(b);
	stripes_consolidate(b, NULL);
	fold_deferred(b);			/* an unstriped account's deltas too */
	return acct;
}

/* Run one write statement on the stripes (or the account's stripe count). */
static void
stripes_exec(const char *sql, int64 account_id, int stripes)
{
	Oid			argtypes[2] = {INT8OID, INT2OID};
	Datum		values[2] = {Int64GetDatum(account_id), Int16GetDatum(stripes)};
	SPIPlanPtr	plan = SPI_prepare(sql, 2, argtypes);

	if (plan == NULL || ledger_guard_execute(plan, values, NULL, 0) < 0)
		elog(ERROR, "stripe statement failed: %s", sql);
	SPI_freeplan(plan);
}

/*
 * pg_wallet.set_account_stripes(account_number text, stripes integer)
 * RETURNS integer: give an account that many stripes (0: none, the plain
 * design). Waits for the postings in flight on it (its status barrier, its
 * row, its stripes), folds its deltas and deals its available money out to
 * the new stripes.
 */
Datum
wallet_set_account_stripes(PG_FUNCTION_ARGS)
{
	char	   *number = text_arg_cstring(fcinfo, 0, "account_number",
										  WALLET_MAX_ACCOUNT_NUMBER, true);
	int32		n = PG_ARGISNULL(1) ? -1 : PG_GETARG_INT32(1);
	Batch		b;
	LedgerAccount *acct;

	if (n < 0 || n > WALLET_MAX_STRIPES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("stripes must be between 0 and %d", WALLET_MAX_STRIPES)));
	SPI_connect();
	/* postings that debit or credit the account without its row hold this shared */
	ledger_account_barrier(number, true);
	acct = lock_consolidated(&b, number);
	if (acct->is_system)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_ACCOUNT_NOT_ACTIVE),
				 errmsg("account %s is a system account", number),
				 errdetail("System accounts are DEFERRED: they take credits without a lock.")));
	stripes_exec("DELETE FROM pg_wallet.account_stripes WHERE account_id = $1 AND stripe >= $2",
				 acct->id, n);
	stripes_exec("INSERT INTO pg_wallet.account_stripes (account_id, stripe)"
				 " SELECT $1, g FROM generate_series(0, $2 - 1) g ON CONFLICT DO NOTHING",
				 acct->id, n);
	stripes_exec("UPDATE pg_wallet.accounts SET stripes = $2, updated_at = now()"
				 " WHERE id = $1", acct->id, n);
	if (!acct->consolidated)
	{
		acct->stripe_allowances = palloc0(sizeof(int64) * WALLET_MAX_STRIPES);
		acct->consolidated = n > 0 && !acct->can_overdraw;
	}
	for (int i = n; i < WALLET_MAX_STRIPES; i++)
		acct->stripe_allowances[i] = 0;
	acct->nstripes = n;
	stripes_known_set(number, n > 0 && !acct->can_overdraw);
	write_accounts(&b);
	stripes_write(&b);
	SPI_finish();
	PG_RETURN_INT32(n);
}

/*
 * pg_wallet.rebalance_stripes(account_number text, max_accounts integer)
 * RETURNS bigint: consolidate and refill the named striped account, or up
 * to max_accounts of those whose smallest stripe holds less than half its
 * share of the refill (half the available money, dealt out evenly) (credits came in, or debits drained a
 * stripe). Returns how many were rebalanced. The expiry worker calls it.
 */
Datum
wallet_rebalance_stripes(PG_FUNCTION_ARGS)
{
	char	   *number = text_arg_cstring(fcinfo, 0, "account_number",
										  WALLET_MAX_ACCOUNT_NUMBER, false);
	int32		max_accounts = PG_ARGISNULL(1) ? 100 : PG_GETARG_INT32(1);
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(max_accounts)};
	List	   *numbers = NIL;
	ListCell   *lc;

	if (max_accounts < 1 || max_accounts > WALLET_MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_accounts must be between 1 and %d", WALLET_MAX_BATCH)));
	SPI_connect();
	if (number != NULL)
		numbers = list_make1(number);
	else
	{
		if (SPI_execute_with_args(
			"SELECT a.account_number FROM pg_wallet.accounts a"
			" JOIN (SELECT account_id, min(allowance) AS low FROM pg_wallet.account_stripes"
			"   GROUP BY account_id) s ON s.account_id = a.id"
			" WHERE a.stripes > 0 AND NOT a.can_overdraw"
			"   AND s.low::numeric * 4 * a.stripes < a.balance - a.pending_debit"
			"     - a.minimum_balance + coalesce((SELECT sum(d.amount)"
			"       FROM pg_wallet.account_deltas d WHERE d.account_id = a.id), 0)"
			" ORDER BY a.id LIMIT $1", 1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "striped account look-up failed");
		for (uint64 i = 0; i < SPI_processed; i++)
			numbers = lappend(numbers, SPI_getvalue(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1));
	}
	foreach(lc, numbers)
	{
		Batch		b;

		(void) lock_consolidated(&b, (const char *) lfirst(lc));
		write_accounts(&b);
		stripes_write(&b);
	}
	SPI_finish();
	PG_RETURN_INT64(list_length(numbers));
}
