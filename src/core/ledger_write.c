/*-------------------------------------------------------------------------
 *
 * ledger_write.c
 *	  The writes of the posting core (step 5 of ledger.c): journals, entries,
 *	  account_deltas and the posting columns of accounts, written through
 *	  core/direct.c (the table and index access methods), not through SQL
 *	  statements (issue 20). A batch's journals and entries go to the heap
 *	  in one multi-insert per table (one WAL record per page, not per row).
 *
 * Owns: the shape of those rows (which Batch column goes to which table
 * column, by name); their CHECK constraints as C (row_checks_*: the ones
 * named in the lists below; any other CHECK on these tables still runs,
 * through direct.c).
 *
 * Never: decides what is written (ledger.c does); updates an account that
 * lock_accounts() did not lock (direct_update requires the locked version).
 *
 * Locking: RowExclusiveLock on each table written (direct.c); no row lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "core/direct.h"
#include "core/ledger_write.h"

/* The table columns of the Batch's journal (J_*) and entry (E_*) columns. */
static const char *const journal_columns[J_NCOLS] = {
	"id", "journal_type", "status", "idempotency_key", "request_hash", "description",
	"metadata", "reverses_journal_id", "refusal_sqlstate", "refusal_message", "hash",
	"created_at", "fee_minor", "commission_minor"
};
static const char *const entry_columns[E_NCOLS] = {
	"journal_id", "leg", "account_id", "side", "amount", "balance_after", "account_version",
	"description", "created_at"
};

/* The CHECK constraints that row_checks_* enforce, by name (sql/core/tables.sql). */
static const char *const journal_checks[] = {
	"journals_status_check", "journals_idempotency_key_check", "journals_description_check",
	"journals_refusal_sqlstate_check", "journals_fee_minor_check",
	"journals_commission_minor_check", "journals_check", "journals_check1", NULL
};
static const char *const entry_checks[] = {
	"entries_leg_check", "entries_side_check", "entries_amount_check",
	"entries_description_check", "entries_check", NULL
};
static const char *const delta_checks[] = {"account_deltas_amount_check", NULL};

/*
 * accounts: pending_debit is the only checked column a posting writes; the
 * other CHECKs (name, credit_mode, status, status_reason, metadata,
 * kyc_tier) are on columns copied unchanged from the row being updated,
 * which satisfied them.
 */
static const char *const account_checks[] = {
	"accounts_pending_debit_check", "accounts_name_check", "accounts_credit_mode_check",
	"accounts_status_check", "accounts_status_reason_check", "accounts_metadata_check",
	"accounts_kyc_tier_check", NULL
};

/* ---------------------------------------------------------------------
 * The CHECKs of sql/core/tables.sql, as C
 * ---------------------------------------------------------------------
 */
static void
row_checks_journal(DirectTable *t, const Datum *v, const bool *n)
{
	bool		posted = !n[J_STATUS] && direct_text_is(v[J_STATUS], "POSTED");
	bool		refused = !n[J_STATUS] && direct_text_is(v[J_STATUS], "REFUSED");

	if (!posted && !refused && !n[J_STATUS])
		direct_violated(t, "journals_status_check");
	if (!n[J_KEY] && (direct_text_chars(v[J_KEY]) < 1 || direct_text_chars(v[J_KEY]) > 128))
		direct_violated(t, "journals_idempotency_key_check");
	if (!n[J_DESC] && direct_text_chars(v[J_DESC]) > 500)
		direct_violated(t, "journals_description_check");
	if (!n[J_SQLSTATE] && direct_text_chars(v[J_SQLSTATE]) != 5)
		direct_violated(t, "journals_refusal_sqlstate_check");
	if (!n[J_FEE] && DatumGetInt64(v[J_FEE]) < 0)
		direct_violated(t, "journals_fee_minor_check");
	if (!n[J_COMMISSION] && DatumGetInt64(v[J_COMMISSION]) < 0)
		direct_violated(t, "journals_commission_minor_check");
	if (!n[J_STATUS] && posted != !n[J_HASH])
		direct_violated(t, "journals_check");
	if (!n[J_STATUS] && refused != !n[J_SQLSTATE])
		direct_violated(t, "journals_check1");
}

static void
row_checks_entry(DirectTable *t, const Datum *v, const bool *n)
{
	if (!n[E_LEG] && DatumGetInt16(v[E_LEG]) < 1)
		direct_violated(t, "entries_leg_check");
	if (!n[E_SIDE] && !direct_text_is(v[E_SIDE], "DR") && !direct_text_is(v[E_SIDE], "CR"))
		direct_violated(t, "entries_side_check");
	if (!n[E_AMOUNT] && DatumGetInt64(v[E_AMOUNT]) <= 0)
		direct_violated(t, "entries_amount_check");
	if (!n[E_DESC] && direct_text_chars(v[E_DESC]) > 500)
		direct_violated(t, "entries_description_check");
	if (n[E_BALANCE] != n[E_VERSION])
		direct_violated(t, "entries_check");
}

/* ---------------------------------------------------------------------
 * The writes
 * ---------------------------------------------------------------------
 */
void
write_journals(Batch *b)
{
	DirectTable	t;
	AttrNumber	attnums[J_NCOLS];
	int			n = b->jcols[J_ID].n;

	if (n == 0)
		return;
	direct_begin(&t, "journals", journal_checks, false);
	direct_attnums(t.rel, journal_columns, J_NCOLS, attnums);
	for (int r = 0; r < n; r++)
	{
		TupleTableSlot *slot = direct_row(&t);
		Datum		v[J_NCOLS];
		bool		nulls[J_NCOLS];

		for (int c = 0; c < J_NCOLS; c++)
		{
			v[c] = b->jcols[c].values[r];
			nulls[c] = b->jcols[c].nulls[r];
			direct_set(slot, attnums[c], v[c], nulls[c]);
		}
		row_checks_journal(&t, v, nulls);
	}
	direct_end(&t);
}

/*
 * Entries, and for each entry that moved no locked balance (account_version
 * NULL: a DEFERRED account's credit, or debit when it can overdraw) its
 * signed delta row.
 */
void
write_entries(Batch *b)
{
	DirectTable	t;
	DirectTable	d;
	AttrNumber	attnums[E_NCOLS];
	AttrNumber	id_att,
				d_entry,
				d_account,
				d_amount;
	Column	   *c = b->ecols;
	int			n = c[E_JOURNAL].n;
	bool		deltas_open = false;

	if (n == 0)
		return;
	direct_begin(&t, "entries", entry_checks, false);
	direct_attnums(t.rel, entry_columns, E_NCOLS, attnums);
	id_att = direct_attnum(t.rel, "id");
	for (int r = 0; r < n; r++)
	{
		TupleTableSlot *slot = direct_row(&t);
		Datum		v[E_NCOLS];
		bool		nulls[E_NCOLS];
		int64		id = direct_nextval("entries_id_seq");	/* its identity */

		for (int k = 0; k < E_NCOLS; k++)
		{
			v[k] = c[k].values[r];
			nulls[k] = c[k].nulls[r];
			direct_set(slot, attnums[k], v[k], nulls[k]);
		}
		direct_set(slot, id_att, Int64GetDatum(id), false);
		row_checks_entry(&t, v, nulls);
		if (!nulls[E_VERSION])
			continue;
		if (!deltas_open)
		{
			direct_begin(&d, "account_deltas", delta_checks, false);
			d_entry = direct_attnum(d.rel, "entry_id");
			d_account = direct_attnum(d.rel, "account_id");
			d_amount = direct_attnum(d.rel, "amount");
			deltas_open = true;
		}
		slot = direct_row(&d);
		direct_set(slot, d_entry, Int64GetDatum(id), false);
		direct_set(slot, d_account, v[E_ACCOUNT], false);
		/* signed: a credit adds, a debit subtracts; amount > 0 was checked above */
		direct_set(slot, d_amount, Int64GetDatum(direct_text_is(v[E_SIDE], "CR") ?
												  DatumGetInt64(v[E_AMOUNT]) :
												  -DatumGetInt64(v[E_AMOUNT])), false);
	}
	direct_end(&t);
	if (deltas_open)
		direct_end(&d);
}

/* The posting columns of every changed (locked) account; the rest is copied. */
void
write_accounts(Batch *b)
{
	static const char *const columns[5] = {
		"balance", "pending_debit", "version", "chain_hash", "updated_at"
	};
	DirectTable t;
	AttrNumber	att[5];
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	bool		open = false;

	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[5];

		if (!acct->dirty)
			continue;
		Assert(acct->locked);
		if (!open)
		{
			direct_begin(&t, "accounts", account_checks, true);
			direct_attnums(t.rel, columns, 5, att);
			open = true;
		}
		if (acct->pending_debit < 0)
			direct_violated(&t, "accounts_pending_debit_check");
		values[0] = Int64GetDatum(acct->balance);
		values[1] = Int64GetDatum(acct->pending_debit);
		values[2] = Int64GetDatum(acct->version);
		values[3] = bytea_datum(acct->chain, acct->chain_len);
		values[4] = TimestampTzGetDatum(b->now);
		/* at the version lock_accounts() locked; a later posting of this transaction
		 * starts from the new one */
		direct_update(&t, &acct->tid, 5, att, values);
	}
	if (open)
		direct_end(&t);
}
