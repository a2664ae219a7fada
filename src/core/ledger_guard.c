/*-------------------------------------------------------------------------
 *
 * ledger_guard.c
 *	  The single writer of the ledger, enforced. Triggers on journals,
 *	  entries, account_deltas and accounts refuse every write that does not
 *	  come from the posting core, whoever runs it: a SECURITY DEFINER
 *	  function runs as the tables' owner and passes every privilege check,
 *	  but not these triggers.
 *
 * Owns: the backend-local flag "the posting core is writing", the trigger
 * functions _ledger_guard() (statement level: INSERT, UPDATE, DELETE and
 * TRUNCATE of the ledger tables, UPDATE of the ledger columns of accounts)
 * and _ledger_guard_new_account() (row level: an account opens with an
 * empty ledger), and ledger_guard_execute(), the one way the posting store
 * runs a write statement (the fold's DELETE). The posting's inserts and
 * account updates do not go through SQL at all (ledger_write.c writes
 * through the table access method), so these statement triggers never
 * fire for them: they refuse every other writer.
 *
 * Never: writes or reads a row of the ledger; decides whether a posting is
 * allowed; leaves the flag set after the statement it wraps, whether that
 * statement returns or raises.
 *
 * Cost: the guard of the posting path's tables fires once per statement,
 * not per row, so a posting of any size pays a few function calls. The
 * row-level check runs only when an account is opened.
 *
 * Locking: none. The flag lives in this backend only; nothing else can set
 * it. Whoever owns the tables can still disable the triggers (ALTER TABLE
 * ... DISABLE TRIGGER), deliberately and visibly: the tamper tests of
 * verify_ledger() do, and verify_ledger() catches what is written then.
 *
 * Restore: the triggers are ordinary ones (ENABLE ORIGIN), so they do not
 * fire at all in a session with session_replication_role = replica. That
 * is how a backup comes back: pg_restore run in that mode COPYs journals,
 * entries, deltas and accounts as they were dumped (docs/operations.md,
 * "Backups"; test/t/004_backup_dump.pl), and logical replication's apply
 * workers run in it too. It opens nothing to ordinary roles: only a
 * superuser may set that parameter (no function of pg_wallet sets it), and
 * a superuser could disable the triggers anyway. Making a trigger ENABLE
 * ALWAYS would refuse the restore, by design of that setting.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/rel.h"

#include "core/ledger_guard.h"

PG_FUNCTION_INFO_V1(wallet_ledger_guard);
PG_FUNCTION_INFO_V1(wallet_ledger_guard_new_account);

/* True only while ledger_guard_execute() runs a statement of the posting core. */
static bool ledger_guard_writing = false;

/*
 * Run one write statement of the posting core with the guard open. The
 * flag is restored on the way out, by return or by error, so an aborted
 * posting cannot leave the ledger open to the next statement.
 */
int
ledger_guard_execute(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount)
{
	bool		was_writing = ledger_guard_writing;
	volatile int rc = 0;

	ledger_guard_writing = true;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan, values, nulls, false, tcount);
	}
	PG_FINALLY();
	{
		ledger_guard_writing = was_writing;
	}
	PG_END_TRY();
	return rc;
}

/* The statement a trigger fired for, as SQL names it. */
static const char *
trigger_event_name(TriggerEvent event)
{
	if (TRIGGER_FIRED_BY_INSERT(event))
		return "INSERT";
	if (TRIGGER_FIRED_BY_UPDATE(event))
		return "UPDATE";
	if (TRIGGER_FIRED_BY_DELETE(event))
		return "DELETE";
	if (TRIGGER_FIRED_BY_TRUNCATE(event))
		return "TRUNCATE";
	return "write";
}

/* Raise the guard's refusal for a statement on the trigger's table. */
static void
refuse_write(TriggerData *trigdata, const char *what) pg_attribute_noreturn();

static void
refuse_write(TriggerData *trigdata, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on pg_wallet.%s is reserved to the posting core",
					what, RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Journals, entries, account deltas and the balances and hash chains "
					   "of accounts are written only by the posting functions; trigger "
					   "\"%s\" refused the statement.",
					   trigdata->tg_trigger->tgname),
			 errhint("Move money with the pg_wallet functions (transfer, credit, debit, "
					 "post_journal, holds, reversals); history is never rewritten.")));
}

/* Check that a trigger function was called as the kind of trigger it serves. */
static TriggerData *
guard_trigger_data(FunctionCallInfo fcinfo, bool for_row, const char *name)
{
	TriggerData *trigdata;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be called as a trigger", name)));
	trigdata = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		(TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) != 0) != for_row)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be fired BEFORE, FOR EACH %s", name,
						for_row ? "ROW" : "STATEMENT")));
	return trigdata;
}

/*
 * pg_wallet._ledger_guard() RETURNS trigger: BEFORE ... FOR EACH STATEMENT
 * on the ledger tables. Lets the statement run only inside
 * ledger_guard_execute().
 */
Datum
wallet_ledger_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = guard_trigger_data(fcinfo, false, "_ledger_guard");

	if (!ledger_guard_writing)
		refuse_write(trigdata, trigger_event_name(trigdata->tg_event));
	return PointerGetDatum(NULL);
}

/* The int8 column of a new account row, by name; 0 when NULL. */
static int64
account_int8(HeapTuple tuple, TupleDesc desc, const char *column)
{
	int			attnum = SPI_fnumber(desc, column);
	bool		isnull;
	Datum		value;

	if (attnum <= 0)
		elog(ERROR, "pg_wallet.accounts has no column \"%s\"", column);
	value = heap_getattr(tuple, attnum, desc, &isnull);
	return isnull ? 0 : DatumGetInt64(value);
}

/*
 * pg_wallet._ledger_guard_new_account() RETURNS trigger: BEFORE INSERT ...
 * FOR EACH ROW on accounts. Opening an account is allowed to everyone the
 * table's privileges allow, but it opens with an empty ledger: balance,
 * pending debit and version 0, an empty hash chain. Anything else would be
 * money that no journal explains.
 */
Datum
wallet_ledger_guard_new_account(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = guard_trigger_data(fcinfo, true, "_ledger_guard_new_account");
	HeapTuple	tuple = trigdata->tg_trigtuple;
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	int			chain_attnum = SPI_fnumber(desc, "chain_hash");
	bool		isnull;
	Datum		chain;

	if (!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_ledger_guard_new_account must be fired by INSERT")));
	if (chain_attnum <= 0)
		elog(ERROR, "pg_wallet.accounts has no column \"chain_hash\"");
	chain = heap_getattr(tuple, chain_attnum, desc, &isnull);
	if (!ledger_guard_writing &&
		(account_int8(tuple, desc, "balance") != 0 ||
		 account_int8(tuple, desc, "pending_debit") != 0 ||
		 account_int8(tuple, desc, "version") != 0 ||
		 (!isnull && VARSIZE_ANY_EXHDR(DatumGetByteaPP(chain)) != 0)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("a new account must open with an empty ledger"),
				 errdetail("balance, pending_debit and version must be 0 and chain_hash "
						   "empty; trigger \"%s\" refused the row.",
						   trigdata->tg_trigger->tgname),
				 errhint("Open the account with create_account(), then move money to it "
						 "with the posting functions.")));
	return PointerGetDatum(tuple);
}
