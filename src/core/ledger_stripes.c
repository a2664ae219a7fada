/*-------------------------------------------------------------------------
 *
 * ledger_stripes.c
 *	  Striped accounts: a hot account that must not serialise its payers
 *	  (docs/operations.md, "Hot accounts"). An account with N stripes
 *	  (set_account_stripes()) has N rows in account_stripes, each holding a
 *	  debit allowance carved out of the account's available money. A debit
 *	  of the account takes one stripe that covers it (FOR UPDATE SKIP
 *	  LOCKED: it never waits), lowers the stripe's allowance and is recorded
 *	  as an account_deltas row, like a DEFERRED account's credit: the
 *	  account row is neither locked nor written. Its credits are deltas too.
 *
 * The invariant that keeps every debit within the floor, for an account
 * that cannot overdraw:
 *	balance + sum(deltas) - pending_debit - minimum_balance >= sum(allowances)
 * A stripe debit lowers a delta and an allowance by the same amount; a
 * credit raises the left side; otherwise only a posting that holds the
 * account row changes the allowances: a consolidation (which holds every
 * stripe too) or a top-up of free stripes with at most half of the slack.
 *
 * A debit that no stripe covers, and every posting that locks a striped
 * account for another reason (a hold placed or consumed), takes its row
 * and checks the debit against what the stripes do not hold (allowances
 * minus unfolded deltas: stripes_hold()). Only when that is not enough are
 * all its stripes locked, in stripe order (waiting for the stripe debits in
 * flight), its deltas folded again and the request checked again: the
 * account is then exactly as an unstriped one, and on write half its
 * available money is dealt out to the stripes again (the refill). A posting
 * that holds the row tops up the free stripes that ran low; the expiry
 * worker rebalances accounts whose stripes ran low (rebalance_stripes()).
 *
 * Owns: account_stripes' allowances (a stripe debit's through core/direct.c,
 * the refills and top-ups through ledger_guard_execute()), the backend's
 * list of accounts known to be striped, the stripe pass of
 * ledger_post_batch. Striping an account and the worker's rebalance are in
 * ledger_stripes_admin.c.
 *
 * Locking: a batch that debits a striped account this backend knows is
 * first posted in a subtransaction (TAKE pass), with the striped accounts'
 * rows left unlocked and one stripe taken per account with SKIP LOCKED after
 * the row locks and the rules' counters. If no stripe covers the batch's
 * debits (or a concurrent request claimed an idempotency key first), the
 * subtransaction is rolled back, releasing every lock it took, and the
 * batch is posted with the rows (ROW pass; then ALL, see ledger_batch.h).
 * Order: rows (ascending id), then the rules' counters, then stripes
 * (account, stripe); a stripe taker never waits after taking its stripe
 * within the posting, so the consolidation that waits for it cannot close
 * a cycle: no deadlock between postings.
 *
 * Never: refuses a debit for funds while it is on a stripe (it falls back);
 * leaves a reader a balance different from the unstriped design's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "core/direct.h"
#include "core/ledger_guard.h"
#include "wallet_errors.h"
#include "core/ledger_store.h"
#include "core/ledger_stripes.h"
#include "core/ledger_write.h"

#define KNOWN_MAX	4096		/* accounts this backend remembers as striped */

static SPIPlanPtr consolidate_plan = NULL;
static SPIPlanPtr hold_plan = NULL;
static SPIPlanPtr top_up_plan = NULL;
static SPIPlanPtr write_plan = NULL;

/* ---------------------------------------------------------------------
 * The accounts this backend saw striped (debits of them try stripes)
 * ---------------------------------------------------------------------
 */
static HTAB *known = NULL;

/* Remember whether an account is striped (set_account_stripes changes it). */
void
stripes_known_set(const char *number, bool striped)
{
	char		key[WALLET_MAX_ACCOUNT_NUMBER + 1];

	if (known == NULL)
	{
		HASHCTL		ctl;

		if (!striped)
			return;
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = WALLET_MAX_ACCOUNT_NUMBER + 1;
		ctl.entrysize = WALLET_MAX_ACCOUNT_NUMBER + 1;
		ctl.hcxt = TopMemoryContext;
		known = hash_create("pg_wallet striped accounts", 16, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	memset(key, 0, sizeof(key));
	strlcpy(key, number, sizeof(key));
	if (!striped)
		(void) hash_search(known, key, HASH_REMOVE, NULL);
	else if (hash_get_num_entries(known) < KNOWN_MAX)
		(void) hash_search(known, key, HASH_ENTER, NULL);
}

static bool
known_striped(const char *number)
{
	char		key[WALLET_MAX_ACCOUNT_NUMBER + 1];

	if (known == NULL || strlen(number) > WALLET_MAX_ACCOUNT_NUMBER)
		return false;
	memset(key, 0, sizeof(key));
	strlcpy(key, number, sizeof(key));
	return hash_search(known, key, HASH_FIND, NULL) != NULL;
}

/* Whether a stripe pass is worth it: the batch debits a known striped account. */
bool
stripes_worth_trying(LedgerRequest *reqs, int nreqs)
{
	if (known == NULL)
		return false;
	for (int i = 0; i < nreqs; i++)
		for (int j = 0; j < reqs[i].nlegs; j++)
			if (reqs[i].legs[j].side == SIDE_DEBIT && reqs[i].legs[j].account_number &&
				known_striped(reqs[i].legs[j].account_number))
				return true;
	return false;
}

/* ---------------------------------------------------------------------
 * The stripe pass, in a subtransaction
 * ---------------------------------------------------------------------
 */

/*
 * Run pass(..., true) in a subtransaction. True: it posted, and the
 * subtransaction is kept. False: it fell back, and everything it did is
 * rolled back (its locks released, the rules' fee legs taken off the
 * requests) for a plain pass. An error rolls the subtransaction back and
 * is raised again.
 */
bool
stripes_attempt(LedgerRequest *reqs, int nreqs, bool atomic, LedgerResult *results,
				StripesPass pass, int stripe_pass)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	LedgerLeg **legs = palloc(sizeof(LedgerLeg *) * nreqs);
	int		   *nlegs = palloc(sizeof(int) * nreqs);
	volatile bool posted = false;
	volatile bool rolled_back = false;

	for (int i = 0; i < nreqs; i++)
	{
		legs[i] = reqs[i].legs;
		nlegs[i] = reqs[i].nlegs;
	}
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		posted = pass(reqs, nreqs, atomic, results, stripe_pass);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		/*
		 * A concurrent request claimed one of the keys first (write_claims):
		 * this pass took no row lock that would have waited for it, so the
		 * next pass, with the rows, finds its key and answers its result.
		 */
		if (edata->sqlerrcode != ERRCODE_WALLET_CONCURRENT_REQUEST)
			ReThrowError(edata);
		FreeErrorData(edata);
		rolled_back = true;
	}
	PG_END_TRY();
	if (!rolled_back)
	{
		if (posted)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	if (!posted)
		for (int i = 0; i < nreqs; i++)
		{
			reqs[i].legs = legs[i];
			reqs[i].nlegs = nlegs[i];
		}
	return posted;
}

/* Before the lock query: in a TAKE pass, debited accounts may use a stripe. */
void
stripes_mark(Batch *b)
{
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	if (b->stripe_pass != STRIPE_PASS_TAKE)
		return;
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		if (acct->debited && !acct->want_lock)
			acct->try_stripe = true;
}

/*
 * After the lock query: an account it returned unlocked although the lock
 * condition (LOCK_CONDITION in ledger_store.c) chose it had its striping
 * changed while the query waited for its row, and the row no longer met
 * the condition. A stripe pass falls back; a plain pass cannot lock it in
 * order any more and asks for a retry. Returns false when the stripe pass
 * must fall back.
 */
bool
stripes_check_missing(Batch *b)
{
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		bool		checked_only = acct->checked_only && !acct->posted_to && !acct->want_lock;

		if (!acct->found || acct->locked || checked_only || acct->late ||
			!((!acct->deferred && acct->nstripes == 0) || acct->want_lock ||
			  (acct->debited && !acct->can_overdraw &&
			   !(acct->try_stripe && acct->nstripes > 0))))
			continue;
		if (b->stripe_pass != STRIPE_PASS_ALL)
		{
			hash_seq_term(&seq);
			b->stripe_miss = true;
			return false;
		}
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("account %s was re-striped while the posting locked it",
						acct->account_number),
				 errhint("Retry the request.")));
	}
	return true;
}

/* After the lock query: remember which accounts are striped (debits of them try stripes). */
void
stripes_learn(Batch *b)
{
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		if (acct->found)
			stripes_known_set(acct->account_number, acct->nstripes > 0 && !acct->can_overdraw);
}

/*
 * Consolidate a locked striped account that checks funds (only), or every
 * one of the batch (NULL): lock all its stripes, in stripe order, waiting
 * for the stripe debits in flight (they never wait themselves), then fold
 * its deltas again: the fold now sees all of them, and with its stripes
 * taken back the account is exactly as an unstriped one (no hold).
 * stripes_write() deals half its available money out to the stripes again.
 */
void
stripes_consolidate(Batch *b, LedgerAccount *only)
{
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1];
	Column		ids;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	column_init(&ids, INT8OID);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		if (!acct->found || !acct->locked || acct->consolidated || acct->nstripes == 0 ||
			acct->can_overdraw || (only != NULL && acct != only))
			continue;
		column_add(&ids, Int64GetDatum(acct->id), false);
		acct->consolidated = true;
		acct->stripe_hold = 0;
		acct->stripe_allowances = palloc0(sizeof(int64) * WALLET_MAX_STRIPES);
	}
	if (ids.n == 0)
		return;
	wallet_plan(&consolidate_plan,
				"SELECT s.account_id, s.stripe, s.allowance FROM pg_wallet.account_stripes s"
				" WHERE s.account_id = ANY($1) ORDER BY s.account_id, s.stripe FOR UPDATE",
				1, argtypes);
	values[0] = column_array(&ids);
	if (SPI_execute_plan(consolidate_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stripe consolidation failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int64		id = get_int64(tup, desc, 1);
		bool		isnull;
		int			stripe = DatumGetInt16(SPI_getbinval(tup, desc, 2, &isnull));

		hash_seq_init(&seq, b->accounts);
		while ((acct = hash_seq_search(&seq)) != NULL)
			if (acct->consolidated && acct->id == id && stripe < WALLET_MAX_STRIPES)
				acct->stripe_allowances[stripe] = get_int64(tup, desc, 3);
	}
	fold_deferred(b);
}

/*
 * A striped account whose row a posting locked keeps its stripes unlocked
 * (until it is consolidated): what they may still debit without the row is held out
 * of its funds check. After the fold, in one snapshot: the stripes'
 * allowances minus the deltas not folded (stripe debits that committed
 * since, and credits). A stripe debit lowers both by the same amount, so
 * the hold is exact whatever commits meanwhile, or conservative.
 */
void
stripes_hold(Batch *b)
{
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1];
	Column		ids;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	column_init(&ids, INT8OID);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
		if (acct->found && acct->locked && acct->nstripes > 0 && !acct->can_overdraw &&
			!acct->consolidated)
			column_add(&ids, Int64GetDatum(acct->id), false);
	if (ids.n == 0)
		return;
	wallet_plan(&hold_plan,
				"SELECT w.id, ((SELECT coalesce(sum(s.allowance), 0)"
				"   FROM pg_wallet.account_stripes s WHERE s.account_id = w.id)"
				" - (SELECT coalesce(sum(d.amount), 0)"
				"   FROM pg_wallet.account_deltas d WHERE d.account_id = w.id))::bigint"
				" FROM unnest($1) AS w(id)",
				1, argtypes);
	values[0] = column_array(&ids);
	if (SPI_execute_plan(hold_plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stripe hold look-up failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		int64		id = get_int64(tup, SPI_tuptable->tupdesc, 1);
		int64		hold = get_int64(tup, SPI_tuptable->tupdesc, 2);

		hash_seq_init(&seq, b->accounts);
		while ((acct = hash_seq_search(&seq)) != NULL)
			if (acct->found && acct->id == id)
				acct->stripe_hold = hold;
	}
}

/*
 * A locked striped account failed its funds check while its stripes were
 * held out of it: never a refusal yet. A TAKE pass falls back (to ROW); a
 * ROW or ALL pass consolidates it and checks the request again.
 */
void
stripes_funds_miss(Batch *b, LedgerAccount *acct)
{
	if (acct->nstripes == 0 || acct->consolidated || acct->can_overdraw || !acct->locked)
		return;
	if (b->stripe_pass == STRIPE_PASS_TAKE)
		b->stripe_miss = true;
	else
		b->stripe_escalate = acct;
}

/* What the batch's valid requests debit from an account before any rule. */
static int64
batch_debits(LedgerAccount *acct, LedgerRequest *reqs, int nreqs, const bool *valid)
{
	int64		need = 0;

	for (int i = 0; i < nreqs; i++)
	{
		if (!valid[i])
			continue;
		for (int j = 0; j < reqs[i].nlegs; j++)
		{
			LedgerLeg  *leg = &reqs[i].legs[j];
			int64		amount = leg->amount_minor;

			if (leg->side != SIDE_DEBIT || strcmp(leg->account_number, acct->account_number) != 0)
				continue;
			if (amount == 0 &&
				amount_parse_cstr(leg->amount_text, acct->exponent, &amount) != NULL)
				continue;		/* refused when checked */
			if (amount > 0 && pg_add_s64_overflow(need, amount, &need))
				need = PG_INT64_MAX;
		}
	}
	return Max(need, 1);
}

/*
 * Take a stripe of acct that covers need: its stripes from this backend's
 * own (the process id modulo the stripe count) upwards, then those below,
 * each locked as FOR UPDATE SKIP LOCKED (never waiting) and checked again
 * in the version locked. One index scan of account_stripes per range, no
 * statement (issue 20: the two statements of a stripe debit were a third
 * of its CPU). False when none is free and covers it.
 */
static bool
take_stripe(DirectRead *r, TupleTableSlot *locked, const AttrNumber *att,
			LedgerAccount *acct, int64 need)
{
	int16		start = (int16) (MyProcPid % acct->nstripes);
	bool		isnull;

	for (int range = 0; range < 2; range++)
	{
		ScanKeyData keys[2];

		direct_key(&keys[0], r->index, 1, F_INT8EQ, Int64GetDatum(acct->id));
		direct_key_op(&keys[1], r->index, 2,
					  range == 0 ? BTGreaterEqualStrategyNumber : BTLessStrategyNumber,
					  range == 0 ? F_INT2GE : F_INT2LT, Int16GetDatum(start));
		while (direct_read_next(r, keys, 2))
		{
			ItemPointerData tid = r->slot->tts_tid;

			if (DatumGetInt64(slot_getattr(r->slot, att[1], &isnull)) < need ||
				!direct_try_lock(r->rel, &tid, r->snap, locked, "a stripe") ||
				DatumGetInt64(slot_getattr(locked, att[1], &isnull)) < need)
				continue;
			acct->has_stripe = true;
			acct->stripe = DatumGetInt16(slot_getattr(locked, att[0], &isnull));
			acct->stripe_taken = acct->stripe_left =
				DatumGetInt64(slot_getattr(locked, att[1], &isnull));
			acct->stripe_version = DatumGetInt64(slot_getattr(locked, att[2], &isnull));
			acct->stripe_tid = tid;
			direct_read_stop(r);
			return true;
		}
		direct_read_stop(r);
	}
	return false;
}

/* account_stripes' columns that a stripe debit reads and writes, in this order. */
static const char *const stripe_columns[3] = {"stripe", "allowance", "version"};

/*
 * A stripe pass: take one stripe for each striped account the batch
 * debits without its row, one that covers the batch's debits of it (see
 * take_stripe). False (a fallback) when one of them has no such stripe free.
 */
bool
stripes_take(Batch *b, LedgerRequest *reqs, int nreqs, const bool *valid)
{
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	DirectRead	r;
	TupleTableSlot *locked = NULL;
	AttrNumber	att[3];
	bool		all = true;

	if (b->stripe_pass != STRIPE_PASS_TAKE)
		return true;
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		if (!acct->found || acct->locked || !acct->debited || acct->nstripes == 0 ||
			acct->can_overdraw)
			continue;
		if (locked == NULL)
		{
			direct_read_for_update(&r, "account_stripes", "account_stripes_pkey");
			locked = table_slot_create(r.rel, NULL);
			direct_attnums(r.rel, stripe_columns, 3, att);
		}
		if (!take_stripe(&r, locked, att, acct, batch_debits(acct, reqs, nreqs, valid)))
			all = false;
	}
	if (locked != NULL)
	{
		ExecDropSingleTupleTableSlot(locked);
		direct_read_end(&r);
	}
	if (!all)
		b->stripe_miss = true;
	return all;
}

/*
 * A debit of a striped account that is not locked, checked against its
 * stripe. False (with a placeholder refusal) and a fallback when the stripe
 * does not cover it: the plain pass decides with the whole account.
 */
bool
stripes_debit(Batch *b, LedgerAccount *acct, int64 amount, Refusal *r)
{
	if (!acct->has_stripe || acct->stripe_left < amount)
	{
		b->stripe_miss = true;
		return ledger_refuse(r, ERRCODE_WALLET_INSUFFICIENT_FUNDS,
							 psprintf("no stripe of account %s covers the debit",
									  acct->account_number), NULL);
	}
	acct->stripe_left -= amount;
	return true;
}

/*
 * The refill of a consolidated account: half its available money, dealt out
 * evenly. The other half stays with the row, so that a ROW pass (a debit no
 * free stripe covered) usually posts without waiting for any stripe.
 */
static int64
refill_share(LedgerAccount *acct, int stripe)
{
	int64		avail;

	if (acct->can_overdraw ||
		pg_sub_s64_overflow(acct->balance, acct->pending_debit, &avail) ||
		pg_sub_s64_overflow(avail, acct->minimum_balance, &avail) || avail <= 1)
		return 0;
	avail /= 2;
	return avail / acct->nstripes + (stripe == 0 ? avail % acct->nstripes : 0);
}

/*
 * A TAKE or ROW pass that locked a striped account's row (not its stripes)
 * tops up the stripes that ran low and are free (SKIP LOCKED: it never
 * waits): each gets share = what the account has above its floor and its
 * stripes' hold, after the batch, / (2 x stripes), if it holds less than
 * half that. At most half of what is free moves, so the invariant holds.
 */
static void
stripes_top_up(Batch *b)
{
	Oid			argtypes[2] = {INT8ARRAYOID, INT8ARRAYOID};
	Datum		values[2];
	Column		ids,
				shares;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	column_init(&ids, INT8OID);
	column_init(&shares, INT8OID);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		int64		avail;

		if (!acct->found || !acct->locked || acct->consolidated || acct->nstripes == 0 ||
			acct->can_overdraw ||
			pg_sub_s64_overflow(acct->balance, acct->pending_debit, &avail) ||
			pg_sub_s64_overflow(avail, acct->minimum_balance, &avail) ||
			pg_sub_s64_overflow(avail, acct->stripe_hold, &avail) ||
			avail / (2 * acct->nstripes) < 2)
			continue;
		column_add(&ids, Int64GetDatum(acct->id), false);
		column_add(&shares, Int64GetDatum(avail / (2 * acct->nstripes)), false);
	}
	if (ids.n == 0)
		return;
	wallet_plan(&top_up_plan,
				"WITH t AS (SELECT s.account_id, s.stripe, w.share"
				"   FROM unnest($1, $2) AS w(id, share)"
				"   JOIN pg_wallet.account_stripes s ON s.account_id = w.id"
				"   WHERE s.allowance < w.share / 2 FOR UPDATE OF s SKIP LOCKED)"
				" UPDATE pg_wallet.account_stripes s SET allowance = s.allowance + t.share,"
				"   version = s.version + 1"
				" FROM t WHERE s.account_id = t.account_id AND s.stripe = t.stripe",
				2, argtypes);
	values[0] = column_array(&ids);
	values[1] = column_array(&shares);
	if (ledger_guard_execute(top_up_plan, values, NULL, 0) != SPI_OK_UPDATE)
		elog(ERROR, "stripe top-up failed");
}

/*
 * The stripes the batch debited: each written in the version it locked
 * (stripes_take), its allowance lowered and its version counted, without a
 * statement.
 */
static void
write_taken_stripes(Batch *b)
{
	static const char *const checks[] = {
		"account_stripes_allowance_check", "account_stripes_stripe_check", NULL
	};
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;
	DirectTable t;
	AttrNumber	att[2];
	bool		open = false;

	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[2];

		if (!acct->has_stripe || acct->stripe_left == acct->stripe_taken)
			continue;
		if (!open)
		{
			direct_begin(&t, "account_stripes", checks, true);
			direct_attnums(t.rel, &stripe_columns[1], 2, att);
			open = true;
		}
		if (acct->stripe_left < 0)
			direct_violated(&t, "account_stripes_allowance_check");
		values[0] = Int64GetDatum(acct->stripe_left);
		values[1] = Int64GetDatum(acct->stripe_version + 1);
		direct_update(&t, &acct->stripe_tid, 2, att, values);
	}
	if (open)
		direct_end(&t);
}

/*
 * Write the stripes: what the batch debited from the stripes it took, and
 * the refill of the consolidated accounts (only the rows that change; one
 * statement).
 */
void
stripes_write(Batch *b)
{
	Oid			argtypes[3] = {INT8ARRAYOID, INT2ARRAYOID, INT8ARRAYOID};
	Datum		values[3];
	Column		ids,
				stripes,
				allowances;
	HASH_SEQ_STATUS seq;
	LedgerAccount *acct;

	write_taken_stripes(b);
	column_init(&ids, INT8OID);
	column_init(&stripes, INT2OID);
	column_init(&allowances, INT8OID);
	hash_seq_init(&seq, b->accounts);
	while ((acct = hash_seq_search(&seq)) != NULL)
	{
		for (int i = 0; acct->consolidated && i < acct->nstripes; i++)
			if (refill_share(acct, i) != acct->stripe_allowances[i])
			{
				column_add(&ids, Int64GetDatum(acct->id), false);
				column_add(&stripes, Int16GetDatum(i), false);
				column_add(&allowances, Int64GetDatum(refill_share(acct, i)), false);
			}
	}
	if (ids.n > 0)
	{
		wallet_plan(&write_plan,
					"UPDATE pg_wallet.account_stripes s SET allowance = v.allowance,"
					" version = s.version + 1"
					" FROM unnest($1, $2, $3) AS v(id, stripe, allowance)"
					" WHERE s.account_id = v.id AND s.stripe = v.stripe",
					3, argtypes);
		values[0] = column_array(&ids);
		values[1] = column_array(&stripes);
		values[2] = column_array(&allowances);
		if (ledger_guard_execute(write_plan, values, NULL, 0) != SPI_OK_UPDATE ||
			SPI_processed != (uint64) ids.n)
			elog(ERROR, "stripe update failed");
	}
	stripes_top_up(b);
}
