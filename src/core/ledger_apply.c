/*-------------------------------------------------------------------------
 *
 * ledger_apply.c
 *	  Step 4 of the posting core (ledger.c): one request's legs, hold
 *	  reservation or release applied to the batch's working balances in
 *	  memory, the funds check against each account's floor, and the undo
 *	  that puts the balances back when the request is refused.
 *
 * Owns: the working balances of LedgerAccount while a request is checked;
 * the rule "a debit that lowers the available balance leaves it at or
 * above minimum_balance unless the account can_overdraw or the request is
 * forced" (with a striped account's stripes held out of it).
 *
 * Never: writes a row or takes a lock (a striped account's debit is
 * checked against the stripe its pass already took, ledger_stripes.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"

#include "core/ledger_apply.h"
#include "core/ledger_store.h"
#include "core/ledger_stripes.h"

void
save_undo(AccountUndo *undo, int *nundo, LedgerAccount *acct)
{
	for (int i = 0; i < *nundo; i++)
		if (undo[i].acct == acct)
			return;
	undo[*nundo].acct = acct;
	undo[*nundo].balance = acct->balance;
	undo[*nundo].pending_debit = acct->pending_debit;
	undo[*nundo].version = acct->version;
	undo[*nundo].dirty = acct->dirty;
	undo[*nundo].stripe_left = acct->stripe_left;
	undo[*nundo].chain_len = acct->chain_len;
	memcpy(undo[*nundo].chain, acct->chain, WALLET_HASH_LEN);
	(*nundo)++;
}

void
restore_undo(AccountUndo *undo, int nundo)
{
	for (int i = 0; i < nundo; i++)
	{
		LedgerAccount *acct = undo[i].acct;

		acct->balance = undo[i].balance;
		acct->pending_debit = undo[i].pending_debit;
		acct->version = undo[i].version;
		acct->dirty = undo[i].dirty;
		acct->stripe_left = undo[i].stripe_left;
		acct->chain_len = undo[i].chain_len;
		memcpy(acct->chain, undo[i].chain, WALLET_HASH_LEN);
	}
}

/*
 * Refuse when the request lowered an account's available balance below its
 * floor. `before` is the available balance before the request.
 */
bool
check_funds(Batch *b, LedgerRequest *req, AccountUndo *undo, int nundo, Refusal *r)
{
	for (int i = 0; i < nundo; i++)
	{
		LedgerAccount *acct = undo[i].acct;
		int64		before = undo[i].balance - undo[i].pending_debit - acct->stripe_hold;
		int64		after = acct->balance - acct->pending_debit - acct->stripe_hold;

		if (after >= before || acct->can_overdraw || req->force)
			continue;
		if (after < acct->minimum_balance)
		{
			/* held out for its stripes: take them back and check again first */
			stripes_funds_miss(b, acct);
			int64		spendable = Max(before - acct->minimum_balance, 0);

			return ledger_refuse(r, ERRCODE_WALLET_INSUFFICIENT_FUNDS,
						         psprintf("insufficient balance in account %s: available %s %s, "
								          "required %s %s", acct->account_number,
								          amount_to_cstring(spendable, acct->exponent),
								          acct->currency,
								          amount_to_cstring(before - after, acct->exponent),
								          acct->currency),
						         psprintf("The account's minimum balance is %s %s.",
								          amount_to_cstring(acct->minimum_balance, acct->exponent),
								          acct->currency));
		}
	}
	return true;
}

/* Apply the legs to the working balances; fill balance_after per leg. */
bool
apply_legs(Batch *b, LedgerRequest *req, LedgerAccount **accts, int64 *balance_after,
		   AccountUndo *undo, int *nundo, Refusal *r)
{
	for (int i = 0; i < req->nlegs; i++)
	{
		LedgerAccount *acct = accts[i];
		int64		amount = req->legs[i].amount_minor;

		if (!acct->locked)
		{
			/*
			 * A delta: an unchecked credit or debit of a DEFERRED or striped
			 * account, or a debit of a striped one checked against its stripe.
			 */
			Assert(acct->deferred || acct->nstripes > 0);
			Assert(req->legs[i].side == SIDE_CREDIT || acct->can_overdraw ||
				   acct->nstripes > 0);
			balance_after[i] = 0;
			if (req->legs[i].side == SIDE_DEBIT && !acct->can_overdraw)
			{
				save_undo(undo, nundo, acct);
				if (!stripes_debit(b, acct, amount, r))
					return false;
			}
			continue;
		}
		save_undo(undo, nundo, acct);
		if (pg_add_s64_overflow(acct->balance,
								req->legs[i].side == SIDE_CREDIT ? amount : -amount,
								&acct->balance))
			return ledger_refuse(r, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
						         psprintf("balance of account %s would be out of range",
								          acct->account_number), NULL);
		balance_after[i] = acct->balance;
	}
	return true;
}

/* A hold being placed: reserve what the legs debit from its account. */
bool
apply_reserve(LedgerRequest *req, LedgerAccount **accts, AccountUndo *undo, int *nundo,
			  Refusal *r)
{
	LedgerAccount *holder = accts[0];
	int64		reserved = 0;

	if (!holder->locked)
		elog(ERROR, "the account of a hold must be locked");
	for (int i = 0; i < req->nlegs; i++)
		if (accts[i] == holder && req->legs[i].side == SIDE_DEBIT &&
			pg_add_s64_overflow(reserved, req->legs[i].amount_minor, &reserved))
			return ledger_refuse(r, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
								 pstrdup("hold amount is out of range"), NULL);
	save_undo(undo, nundo, holder);
	if (pg_add_s64_overflow(holder->pending_debit, reserved, &holder->pending_debit))
		return ledger_refuse(r, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
							 psprintf("pending debit of account %s is out of range",
									  holder->account_number), NULL);
	holder->dirty = true;
	return true;
}

/* Release a consumed hold's reservation from pending_debit. */
bool
apply_release(Batch *b, LedgerRequest *req, AccountUndo *undo, int *nundo, Refusal *r)
{
	LedgerAccount *acct;

	if (req->release_account_number == NULL)
		return true;
	acct = batch_account(b, req->release_account_number, false);
	if (acct == NULL || !acct->found || !acct->locked)
		return ledger_refuse(r, ERRCODE_WALLET_ACCOUNT_NOT_FOUND,
					         psprintf("account %s does not exist",
									  req->release_account_number), NULL);
	/* the chain step needs an entry of this account in the journal */
	for (int i = 0; i < req->nlegs; i++)
		if (strcmp(req->legs[i].account_number, req->release_account_number) == 0)
			break;
		else if (i == req->nlegs - 1)
			elog(ERROR, "a hold release needs a leg on account %s",
				 req->release_account_number);
	save_undo(undo, nundo, acct);
	if (req->release_amount_minor <= 0 || req->release_amount_minor > acct->pending_debit)
		elog(ERROR, "hold release of %lld exceeds pending debit of account %s",
			 (long long) req->release_amount_minor, acct->account_number);
	acct->pending_debit -= req->release_amount_minor;
	acct->dirty = true;
	return true;
}
