/*-------------------------------------------------------------------------
 *
 * ledger_rules.c
 *	  The core's side of the rules interface (ledger_rules.h): the one
 *	  registered rule set, what its callbacks may ask of a batch, and the
 *	  helpers that build a request's legs.
 *
 * Owns: the registration. Never: knows which rules exist, or hands a rule
 * anything but copies of the core's working state.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"

#include "core/ledger_batch.h"
#include "core/ledger_store.h"

static const LedgerRules *registered_rules = NULL;

/* Called once from _PG_init by the layer that brings the money rules. */
void
ledger_register_rules(const LedgerRules *rules)
{
	registered_rules = rules;
}

/* The registered rules, or NULL: then postings take no fee and no limits. */
const LedgerRules *
ledger_rules(void)
{
	return registered_rules;
}

bool
ledger_refuse(LedgerRefusal *r, int sqlerrcode, char *message, char *detail)
{
	r->sqlerrcode = sqlerrcode;
	r->message = message;
	r->detail = detail;
	return false;
}

/* The view of one working account. */
void
ledger_account_view(const LedgerAccount *acct, LedgerAccountView *out)
{
	out->account_number = acct->account_number;
	out->id = acct->id;
	out->owner_id = acct->owner_id;
	strlcpy(out->currency, acct->currency, sizeof(out->currency));
	out->exponent = acct->exponent;
	out->kyc_tier = acct->kyc_tier;
	out->is_system = acct->is_system;
}

/* A resolved account of the batch, by number: false when it does not exist. */
bool
ledger_batch_account(LedgerBatch *batch, const char *account_number, LedgerAccountView *out)
{
	LedgerAccount *acct = batch_account(batch, account_number, false);

	if (acct == NULL || !acct->found)
		return false;
	ledger_account_view(acct, out);
	return true;
}

/*
 * One more account the batch's requests may post to, resolved after the
 * lock pass without a lock (it must be DEFERRED: fee income accounts).
 */
void
ledger_batch_add_account(LedgerBatch *batch, const char *account_number)
{
	if (batch_account(batch, account_number, false) == NULL)
		batch_account(batch, account_number, true)->late = true;
}

/*
 * The stamp of the posting configuration as the lock query saw it: rules
 * that cache their tables per backend bump pg_wallet.rules_generation when
 * they change and reload when the stamp moved.
 */
int64
ledger_batch_config_generation(LedgerBatch *batch)
{
	return batch->config_generation;
}

/* The same stamp, for callers that post nothing (quotes). */
int64
ledger_config_generation_now(void)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute("SELECT generation FROM pg_wallet.rules_generation", true, 1) !=
		SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "pg_wallet.rules_generation must hold one row");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/* Append a leg to a request whose legs array has room; zero amounts are left out. */
void
ledger_add_leg(LedgerRequest *req, const char *account, LedgerSide side, int64 amount,
			   const char *description)
{
	LedgerLeg  *leg;

	if (amount <= 0)
		return;
	Assert(req->nlegs < WALLET_MAX_LEGS);
	leg = &req->legs[req->nlegs++];
	memset(leg, 0, sizeof(*leg));
	leg->account_number = pstrdup(account);
	leg->side = side;
	leg->amount_minor = amount;
	leg->description = description ? pstrdup(description) : NULL;
}

/* ---------------------------------------------------------------------
 * Holds: the rules' part, or nothing when no rules are registered
 * ---------------------------------------------------------------------
 */
void
ledger_rules_hold_release(int64 owner_id, const char *currency, int64 amount_minor,
						  TimestampTz placed_at)
{
	if (registered_rules != NULL)
		registered_rules->hold_release(owner_id, currency, amount_minor, placed_at);
}

void
ledger_rules_hold_fee_legs(LedgerRequest *req, const char *currency, const char *holder,
						   int64 fee_minor, int64 commission_minor, const char *agent)
{
	if (registered_rules != NULL && fee_minor > 0)
		registered_rules->hold_fee_legs(req, currency, holder, fee_minor, commission_minor,
										agent);
}
