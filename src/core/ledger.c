/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The one posting path. Every movement of money in pg_wallet is a
 *	  LedgerRequest posted here, alone or in a batch.
 *
 * A batch of requests is posted in a fixed number of statements whatever
 * its size:
 *	1. resolve every account number and lock, in id order, each account that
 *	   is debited (or whose hold is released) or that takes credits DIRECTly;
 *	   a DEFERRED account that is only credited is not locked;
 *	2. fold the pending credits (account_deltas) of locked DEFERRED accounts;
 *	3. look up the idempotency keys (after the locks: a retry racing its
 *	   original waits on the same account lock, then finds its result);
 *	4. check and apply every request in memory, in order;
 *	5. insert journals, insert entries (and the deltas of DEFERRED credits),
 *	   update the changed accounts.
 *
 * Locking rules: accounts are locked only in step 1, in ascending id order,
 * so two postings never deadlock on accounts. A DEFERRED account is never
 * locked by a credit, so a hot merchant account does not serialise payers.
 *
 * Invariants asserted on write (and again by verify_ledger()): each journal
 * sums to zero per currency; a debit that lowers an account's available
 * balance (balance - pending_debit) leaves it at or above minimum_balance
 * unless the account can_overdraw or the request is forced.
 *
 * Never: writes anything before all checks of a request passed; raises in
 * per-item mode for a refusal (it is recorded and reported instead).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"

#include "core/direct.h"
#include "core/idempotency.h"
#include "core/ledger_batch.h"
#include "core/ledger_apply.h"
#include "core/ledger_store.h"
#include "core/ledger_write.h"
#include "core/holds_review.h"
#include "core/ledger_stripes.h"

static SPIPlanPtr reversal_plan = NULL;

/* ---------------------------------------------------------------------
 * Refusals
 * ---------------------------------------------------------------------
 */
static void
raise_refusal(LedgerRequest *req, Refusal *r)
{
	if (req->item > 0)
		ereport(ERROR,
				(errcode(r->sqlerrcode),
				 errmsg("batch item %d: %s", req->item, r->message),
				 r->detail ? errdetail_internal("%s", r->detail) : 0,
				 errhint("Nothing in the batch was posted.")));
	ereport(ERROR,
			(errcode(r->sqlerrcode),
			 errmsg_internal("%s", r->message),
			 r->detail ? errdetail_internal("%s", r->detail) : 0));
}

/* ---------------------------------------------------------------------
 * Step 0: validation of what the caller sent
 * ---------------------------------------------------------------------
 */
static bool
validate_request(LedgerRequest *req, Refusal *r)
{
	if (req->nlegs < 2 || req->nlegs > WALLET_MAX_LEGS)
		return ledger_refuse(r, ERRCODE_INVALID_PARAMETER_VALUE,
					         psprintf("a journal needs between 2 and %d legs, not %d",
							          WALLET_MAX_LEGS, req->nlegs), NULL);
	for (int i = 0; i < req->nlegs; i++)
	{
		LedgerLeg  *leg = &req->legs[i];

		if (leg->account_number == NULL || leg->account_number[0] == '\0' ||
			strlen(leg->account_number) > WALLET_MAX_ACCOUNT_NUMBER)
			return ledger_refuse(r, ERRCODE_INVALID_PARAMETER_VALUE,
						         psprintf("leg %d: account number must be 1 to %d characters",
								          i + 1, WALLET_MAX_ACCOUNT_NUMBER), NULL);
		if (leg->amount_minor < 0 || (leg->amount_minor == 0 && leg->amount_text == NULL))
			return ledger_refuse(r, ERRCODE_WALLET_INVALID_AMOUNT,
						         psprintf("leg %d: amount must be positive", i + 1), NULL);
		if (leg->description && strlen(leg->description) > WALLET_MAX_TEXT_LEN)
			return ledger_refuse(r, ERRCODE_STRING_DATA_RIGHT_TRUNCATION,
						         psprintf("leg %d: description is longer than %d bytes",
								          i + 1, WALLET_MAX_TEXT_LEN), NULL);
	}
	if (req->reserve && (req->nlegs != 2 || req->idempotency_key != NULL ||
						 req->release_account_number != NULL))
		elog(ERROR, "a hold is placed with two legs, no release and no journal key");
	if (req->release_account_number &&
		strlen(req->release_account_number) > WALLET_MAX_ACCOUNT_NUMBER)
		return ledger_refuse(r, ERRCODE_INVALID_PARAMETER_VALUE,
					         pstrdup("release account number is too long"), NULL);
	return true;
}

/* Checks that apply to the whole call; these always raise. */
static void
validate_batch(LedgerRequest *reqs, int nreqs)
{
	if (nreqs < 1 || nreqs > WALLET_MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a batch holds between 1 and %d requests, not %d",
						WALLET_MAX_BATCH, nreqs)));
	for (int i = 0; i < nreqs; i++)
	{
		LedgerRequest *req = &reqs[i];

		wallet_check_code(req->journal_type, "journal type");
		if (req->idempotency_key &&
			(req->idempotency_key[0] == '\0' ||
			 strlen(req->idempotency_key) > WALLET_MAX_KEY_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("idempotency key must be 1 to %d characters",
							WALLET_MAX_KEY_LEN)));
		if (req->description && strlen(req->description) > WALLET_MAX_TEXT_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
					 errmsg("description is longer than %d bytes", WALLET_MAX_TEXT_LEN)));
		if (req->metadata && VARSIZE(req->metadata) > WALLET_MAX_METADATA_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("metadata is larger than %d bytes", WALLET_MAX_METADATA_BYTES)));
		if (req->metadata && !JB_ROOT_IS_OBJECT(req->metadata))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("metadata must be a JSON object")));
		for (int j = 0; req->idempotency_key && j < i; j++)
			if (reqs[j].idempotency_key &&
				strcmp(reqs[j].idempotency_key, req->idempotency_key) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("idempotency key \"%s\" appears twice in the batch",
								req->idempotency_key)));
	}
}

/* ---------------------------------------------------------------------
 * Step 4: check one request (applied to the balances in ledger_apply.c)
 * ---------------------------------------------------------------------
 */

/* Two accounts of a request that must share a currency do not. */
static bool
refuse_currencies(LedgerAccount *a, LedgerAccount *b, Refusal *r)
{
	return ledger_refuse(r, ERRCODE_WALLET_CURRENCY_MISMATCH,
						 psprintf("accounts %s (%s) and %s (%s) have different currencies",
								  a->account_number, a->currency, b->account_number,
								  b->currency),
						 pstrdup("Use a conversion to move money between currencies."));
}

/* Resolve the legs' accounts and amounts; check statuses and balance. */
static bool
resolve_request(Batch *b, LedgerRequest *req, LedgerAccount **accts, Refusal *r)
{
	char		currencies[WALLET_MAX_LEGS][4];
	int64		sums[WALLET_MAX_LEGS];
	int			exponents[WALLET_MAX_LEGS];
	int			ncur = 0;

	for (int i = 0; i < req->nlegs; i++)
	{
		LedgerLeg  *leg = &req->legs[i];
		LedgerAccount *acct = batch_account(b, leg->account_number, false);
		int			c;

		if (acct == NULL || !acct->found)
			return ledger_refuse(r, ERRCODE_WALLET_ACCOUNT_NOT_FOUND,
						         psprintf("account %s does not exist", leg->account_number), NULL);
		if (leg->amount_minor == 0)
		{
			const char *problem = amount_parse_cstr(leg->amount_text, acct->exponent,
													&leg->amount_minor);

			if (problem == NULL && leg->amount_minor <= 0)
				problem = "must be positive";
			if (problem != NULL)
				return ledger_refuse(r, ERRCODE_WALLET_INVALID_AMOUNT,
							         psprintf("amount \"%s\" %s", leg->amount_text, problem),
							         psprintf("%s amounts have %d decimal places.",
									          acct->currency, acct->exponent));
		}
		accts[i] = acct;
		for (c = 0; c < ncur && strcmp(currencies[c], acct->currency) != 0; c++)
			;
		if (c == ncur)
		{
			strlcpy(currencies[ncur], acct->currency, 4);
			exponents[ncur] = acct->exponent;
			sums[ncur++] = 0;
		}
		if (pg_add_s64_overflow(sums[c], leg->side == SIDE_CREDIT ? leg->amount_minor :
								-leg->amount_minor, &sums[c]))
			return ledger_refuse(r, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
						         pstrdup("journal total is out of range"), NULL);
	}
	for (int c = 0; c < ncur; c++)
	{
		if (sums[c] == 0)
			continue;
		if (req->nlegs == 2 && ncur == 2)
			return refuse_currencies(accts[0], accts[1], r);
		return ledger_refuse(r, ERRCODE_WALLET_UNBALANCED,
					         psprintf("journal does not balance in %s: credits minus debits is %s",
							          currencies[c], amount_to_cstring(sums[c], exponents[c])),
					         pstrdup("Each currency's debits must equal its credits."));
	}
	return true;
}

static bool
check_statuses_one(LedgerAccount *acct, Refusal *r)
{
	if (strcmp(acct->status, "ACTIVE") != 0)
		return ledger_refuse(r, ERRCODE_WALLET_ACCOUNT_NOT_ACTIVE,
					         psprintf("account %s is %s", acct->account_number, acct->status),
					         pstrdup("Only ACTIVE accounts accept postings."));
	return true;
}

/* Only ACTIVE accounts take postings (checked after a replay: a retry gets
 * its first answer even if an account has been locked since). */
static bool
check_statuses(LedgerRequest *req, LedgerAccount **accts, Refusal *r)
{
	for (int i = 0; i < req->nlegs; i++)
		if (!check_statuses_one(accts[i], r))
			return false;
	return true;
}

/* An agent named by a request exists, shares its currency and is ACTIVE. */
static bool
check_agent(Batch *b, LedgerRequest *req, LedgerAccount **accts, Refusal *r)
{
	LedgerAccount *agent;

	if (req->agent_account_number == NULL)
		return true;
	agent = batch_account(b, req->agent_account_number, false);
	if (agent == NULL || !agent->found)
		return ledger_refuse(r, ERRCODE_WALLET_ACCOUNT_NOT_FOUND,
							 psprintf("account %s does not exist", req->agent_account_number),
							 NULL);
	if (strcmp(agent->currency, accts[0]->currency) != 0)
		return refuse_currencies(accts[0], agent, r);
	return check_statuses_one(agent, r);
}

/* The request's hash, computed once, before the rules add any leg. */
static const uint8 *
request_hash_of(LedgerRequest *req)
{
	if (!req->hashed)
	{
		ledger_request_hash(req, req->request_hash);
		req->hashed = true;
	}
	return req->request_hash;
}

/*
 * The replay of a request that was held for review and is not posted: still
 * held (ACTIVE), or released without posting (VOIDED, EXPIRED): refused.
 */
static bool
replay_review(LedgerRequest *req, KeyedJournal *k, LedgerResult *res, Refusal *r)
{
	res->replayed = true;
	res->hold_id = k->review_hold_id;
	res->created_at = k->created_at;
	if (strcmp(k->hold_status, "ACTIVE") == 0)
	{
		res->held = true;
		res->message = psprintf("held for review (hold %lld)", (long long) k->review_hold_id);
		return true;
	}
	return ledger_refuse(r, ERRCODE_WALLET_HOLD_NOT_ACTIVE,
						 psprintf("the request was held for review and released without "
								  "posting (hold %lld is %s)",
								  (long long) k->review_hold_id, k->hold_status),
						 psprintf("This is the recorded result of an earlier request with "
								  "idempotency key \"%s\".", req->idempotency_key));
}

/* Compare with an earlier request under the same key. */
static bool
check_replay(LedgerRequest *req, KeyedJournal *k, LedgerResult *res, Refusal *r)
{
	if (!k->is_journal ||
		memcmp(request_hash_of(req), k->request_hash, WALLET_HASH_LEN) != 0)
		return ledger_refuse(r, ERRCODE_WALLET_IDEMPOTENCY_CONFLICT,
							 idem_conflict_message(req->idempotency_key),
							 pstrdup(idem_conflict_detail()));
	if (k->review_hold_id != 0 && strcmp(k->hold_status, "POSTED") != 0)
		return replay_review(req, k, res, r);
	res->journal_id = k->id;
	res->created_at = k->created_at;
	res->fee_minor = k->fee_minor;
	res->commission_minor = k->commission_minor;
	res->exponent = k->exponent;
	res->replayed = true;
	res->posted = k->posted;
	if (!k->posted)
	{
		strlcpy(res->sqlstate, k->sqlstate, sizeof(res->sqlstate));
		res->message = k->message;
		return ledger_refuse(r, MAKE_SQLSTATE(k->sqlstate[0], k->sqlstate[1], k->sqlstate[2],
									          k->sqlstate[3], k->sqlstate[4]),
					         k->message,
					         psprintf("This is the recorded result of an earlier request with "
							          "idempotency key \"%s\".", req->idempotency_key));
	}
	return true;
}

/* A journal may be reversed once; the check runs after the account locks. */
static bool
check_reversal(LedgerRequest *req, Refusal *r)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	int64		existing;
	bool		isnull;
	TimestampTz reversed_at;
	TimestampTz original_at;

	if (req->reverses_journal_id == 0)
		return true;
	wallet_plan(&reversal_plan,
				"SELECT r.id, r.created_at, o.created_at FROM pg_wallet.journals r"
				" JOIN pg_wallet.journals o ON o.id = r.reverses_journal_id"
				" WHERE r.reverses_journal_id = $1",
				1, argtypes);
	values[0] = Int64GetDatum(req->reverses_journal_id);
	if (SPI_execute_plan(reversal_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reversal look-up failed");
	if (SPI_processed == 0)
		return true;
	existing = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										   1, &isnull));
	reversed_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 2, &isnull));
	original_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 3, &isnull));
	return ledger_refuse(r, ERRCODE_WALLET_ALREADY_REVERSED,
				         psprintf("journal %s is already reversed",
						          receipt_encode(req->reverses_journal_id, original_at)),
				         psprintf("It was reversed by %s.", receipt_encode(existing, reversed_at)));
}

/* ---------------------------------------------------------------------
 * Step 4b: record what will be written
 * ---------------------------------------------------------------------
 */
static void
add_journal_row(Batch *b, LedgerRequest *req, int64 id, const char *status,
				const uint8 *request_hash, Refusal *r, const uint8 *hash, LedgerResult *res)
{
	Column	   *c = b->jcols;
	bool		isnull;
	Datum		d;

	column_add(&c[J_ID], Int64GetDatum(id), false);
	column_add(&c[J_TYPE], CStringGetTextDatum(req->journal_type), false);
	column_add(&c[J_STATUS], CStringGetTextDatum(status), false);
	d = text_datum_or_null(req->idempotency_key, &isnull);
	column_add(&c[J_KEY], d, isnull);
	column_add(&c[J_RHASH], request_hash ? bytea_datum(request_hash, WALLET_HASH_LEN) : 0,
			   request_hash == NULL);
	d = text_datum_or_null(req->description, &isnull);
	column_add(&c[J_DESC], d, isnull);
	if (req->metadata == NULL && b->empty_metadata == (Datum) 0)
		b->empty_metadata = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
	column_add(&c[J_META], req->metadata ? JsonbPGetDatum(req->metadata) : b->empty_metadata,
			   false);
	column_add(&c[J_REVERSES], Int64GetDatum(req->reverses_journal_id),
			   req->reverses_journal_id == 0);
	d = r ? CStringGetTextDatum(unpack_sql_state(r->sqlerrcode)) : 0;
	column_add(&c[J_SQLSTATE], d, r == NULL);
	d = r ? CStringGetTextDatum(r->message) : 0;
	column_add(&c[J_MESSAGE], d, r == NULL);
	column_add(&c[J_HASH], hash ? bytea_datum(hash, WALLET_HASH_LEN) : 0, hash == NULL);
	column_add(&c[J_CREATED], TimestampTzGetDatum(b->now), false);
	column_add(&c[J_FEE], Int64GetDatum(res->fee_minor), false);
	column_add(&c[J_COMMISSION], Int64GetDatum(res->commission_minor), false);
	claim_key(b, req, id);
}

#ifdef USE_ASSERT_CHECKING
/* The invariant of every journal, asserted again where it is written. */
static bool
journal_balances(LedgerRequest *req, LedgerAccount **accts)
{
	for (int i = 0; i < req->nlegs; i++)
	{
		int64		sum = 0;

		for (int j = 0; j < req->nlegs; j++)
			if (strcmp(accts[j]->currency, accts[i]->currency) == 0)
				sum += req->legs[j].side == SIDE_CREDIT ? req->legs[j].amount_minor :
					-req->legs[j].amount_minor;
		if (sum != 0)
			return false;
	}
	return true;
}
#endif

/* Journal row, entries, and the chain step of every locked account. */
static int64
record_posting(Batch *b, LedgerRequest *req, LedgerAccount **accts, int64 *balance_after,
			   AccountUndo *undo, int nundo, const uint8 *request_hash, LedgerResult *res)
{
	int64		id = direct_nextval("journal_id_seq");
	int64		ids[WALLET_MAX_LEGS];
	int64		amounts[WALLET_MAX_LEGS];
	bool		debits[WALLET_MAX_LEGS];
	uint8		jhash[WALLET_HASH_LEN];
	Column	   *c = b->ecols;

	Assert(!b->checking);
	Assert(journal_balances(req, accts));
	for (int i = 0; i < req->nlegs; i++)
	{
		ids[i] = accts[i]->id;
		amounts[i] = req->legs[i].amount_minor;
		debits[i] = req->legs[i].side == SIDE_DEBIT;
	}
	ledger_journal_hash(id, req->journal_type, req->reverses_journal_id, req->nlegs,
						ids, debits, amounts, jhash);
	add_journal_row(b, req, id, "POSTED", request_hash, NULL, jhash, res);

	/* one chain step per locked account changed by the legs */
	for (int i = 0; i < nundo; i++)
	{
		LedgerAccount *acct = undo[i].acct;
		uint8		next[WALLET_HASH_LEN];

		if (!acct->locked)
			continue;			/* a striped account's debit: a delta, no chain step */
		acct->version++;
		ledger_chain_hash(acct->chain, acct->chain_len, jhash, acct->version,
						  acct->balance, next);
		memcpy(acct->chain, next, WALLET_HASH_LEN);
		acct->chain_len = WALLET_HASH_LEN;
		acct->dirty = true;
	}
	for (int i = 0; i < req->nlegs; i++)
	{
		bool		isnull;
		Datum		d;

		column_add(&c[E_JOURNAL], Int64GetDatum(id), false);
		column_add(&c[E_LEG], Int16GetDatum(i + 1), false);
		column_add(&c[E_ACCOUNT], Int64GetDatum(ids[i]), false);
		column_add(&c[E_SIDE], CStringGetTextDatum(debits[i] ? "DR" : "CR"), false);
		column_add(&c[E_AMOUNT], Int64GetDatum(amounts[i]), false);
		column_add(&c[E_BALANCE], Int64GetDatum(balance_after[i]), !accts[i]->locked);
		column_add(&c[E_VERSION], Int64GetDatum(accts[i]->version), !accts[i]->locked);
		d = text_datum_or_null(req->legs[i].description, &isnull);
		column_add(&c[E_DESC], d, isnull);
		column_add(&c[E_CREATED], TimestampTzGetDatum(b->now), false);
	}
	return id;
}

/*
 * A request a rule asks to hold for review: a posting (not a hold, a
 * capture or a reversal) whose first account is locked (a hold's account
 * must be: a striped pass that takes a stripe instead cannot hold it).
 */
static bool
check_review(LedgerRequest *req, LedgerAccount **accts, int nlegs, LedgerResult *res,
			 Refusal *r)
{
	if (req->reserve || req->release_account_number != NULL || req->reverses_journal_id != 0 ||
		nlegs < 2 || req->legs[0].side != SIDE_DEBIT)
		elog(ERROR, "only a posting whose first leg debits can be held for review");
	if (!accts[0]->locked)
		return ledger_refuse(r, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
							 psprintf("the request cannot be held for review: account %s is "
									  "striped", accts[0]->account_number), NULL);
	res->review_nlegs = nlegs;
	return true;
}

/* The registered rules' checks and legs (a fee) for one resolved request. */
static bool
apply_rules(Batch *b, LedgerRequest *req, LedgerAccount **accts, LedgerResult *res,
			Refusal *r)
{
	LedgerAccountView views[WALLET_MAX_LEGS];

	if (b->rules_state == NULL)
		return true;
	for (int i = 0; i < req->nlegs; i++)
		ledger_account_view(accts[i], &views[i]);
	return ledger_rules()->apply(b->rules_state, req, views, res, r);
}

/*
 * Check one resolved request and apply it to the working balances. Returns
 * false with *r filled when refused; the working state is then exactly as
 * before.
 */
static bool
check_one(Batch *b, LedgerRequest *req, LedgerAccount **accts, int64 *balance_after,
		  AccountUndo *undo, int *nundo, LedgerResult *res, Refusal *r)
{
	int			nlegs = req->nlegs;

	req->review = false;
	if (!resolve_request(b, req, accts, r))
		return false;
	res->exponent = accts[0]->exponent;
	res->fee_minor = req->known_fee_minor;
	res->commission_minor = req->known_commission_minor;
	if (!apply_rules(b, req, accts, res, r) ||
		(req->nlegs != nlegs && !resolve_request(b, req, accts, r)))
		return false;
	if (!check_statuses(req, accts, r) || !check_agent(b, req, accts, r) ||
		!check_reversal(req, r) || (req->review && !check_review(req, accts, nlegs, res, r)))
		return false;
	if (req->reserve || req->review ? !apply_reserve(req, accts, undo, nundo, r) :
		(!apply_legs(b, req, accts, balance_after, undo, nundo, r) ||
		 !apply_release(b, req, undo, nundo, r)))
	{
		restore_undo(undo, *nundo);
		return false;
	}
	if (!check_funds(b, req, undo, *nundo, r))
	{
		restore_undo(undo, *nundo);
		return false;
	}
	return true;
}

/*
 * Check and apply one request, then record what it writes. Returns false
 * with *r filled when refused (nothing recorded).
 */
static bool
post_one(Batch *b, LedgerRequest *req, LedgerResult *res, Refusal *r)
{
	LedgerAccount *accts[WALLET_MAX_LEGS];
	int64		balance_after[WALLET_MAX_LEGS];
	AccountUndo undo[WALLET_MAX_LEGS + 1];
	int			nundo = 0;
	KeyedJournal *k = find_keyed(b, req->idempotency_scope, req->idempotency_key);
	bool		ok;

	if (req->idempotency_key != NULL)
		request_hash_of(req);	/* of the caller's request, before rules add legs */
	if (k != NULL)
		return check_replay(req, k, res, r);
	b->checking = true;
	ok = check_one(b, req, accts, balance_after, undo, &nundo, res, r);
	b->checking = false;
	if (!ok)
		return false;
	if (!req->reserve && !req->review)
		res->journal_id = record_posting(b, req, accts, balance_after, undo, nundo,
										 req->idempotency_key ? request_hash_of(req) : NULL,
										 res);
	if (b->rules_state != NULL)
		ledger_rules()->commit(b->rules_state);
	res->created_at = b->now;
	res->posted = !req->review;
	res->held = req->review;
	return true;
}

/* ---------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------
 */

/* Record or raise a refusal of request i. */
static void
handle_refusal(Batch *b, LedgerRequest *req, bool atomic, LedgerResult *res, Refusal *r)
{
	if (atomic)
		raise_refusal(req, r);
	res->posted = false;
	strlcpy(res->sqlstate, unpack_sql_state(r->sqlerrcode), sizeof(res->sqlstate));
	res->message = r->message;
	if (res->replayed || !req->record_refusal ||
		r->sqlerrcode == ERRCODE_WALLET_IDEMPOTENCY_CONFLICT)
		return;
	/*
	 * The first answer under this key is a refusal: keep it for retries. A
	 * request without a key (a caller that keeps its own claim) has its
	 * refusal kept too, as the journal its score and its caller's row point at.
	 */
	Assert(!b->checking);
	res->journal_id = direct_nextval("journal_id_seq");
	res->created_at = b->now;
	res->fee_minor = res->commission_minor = 0;
	add_journal_row(b, req, res->journal_id, "REFUSED",
					req->idempotency_key ? request_hash_of(req) : NULL, r, NULL, res);
}

/*
 * One pass over a batch (ledger_post_batch); stripe_pass says how it treats
 * striped accounts (STRIPE_PASS_*, ledger_stripes.h). Returns false, having
 * written nothing, when the pass cannot post the batch (a stripe does not
 * cover a debit, or an idempotency key was claimed concurrently): the caller
 * rolls it back and runs the next pass. The last pass (ALL) never does.
 */
static bool
post_batch_pass(LedgerRequest *reqs, int nreqs, bool atomic, LedgerResult *results,
				int stripe_pass)
{
	Batch		b;
	bool	   *valid = palloc(sizeof(bool) * nreqs);
	Refusal    *refusals = palloc0(sizeof(Refusal) * nreqs);

	batch_init(&b);
	b.stripe_pass = stripe_pass;
	for (int i = 0; i < nreqs; i++)
	{
		memset(&results[i], 0, sizeof(LedgerResult));
		valid[i] = validate_request(&reqs[i], &refusals[i]);
		if (!valid[i] && atomic)
			raise_refusal(&reqs[i], &refusals[i]);
	}
	collect_accounts(&b, reqs, nreqs, valid);
	stripes_mark(&b);
	lock_accounts(&b);
	if (!stripes_check_missing(&b))
		return false;
	stripes_learn(&b);
	if (ledger_rules() != NULL)
		b.rules_state = ledger_rules()->prepare(&b, reqs, nreqs, valid);
	resolve_late_accounts(&b);
	barrier_unlocked_accounts(&b);
	fold_deferred(&b);
	stripes_hold(&b);
	if (!stripes_take(&b, reqs, nreqs, valid))
		return false;
	load_keys(&b, reqs, nreqs);
	for (int i = 0; i < nreqs; i++)
	{
		LedgerLeg  *legs = reqs[i].legs;
		int			nlegs = reqs[i].nlegs;

		if (valid[i] && post_one(&b, &reqs[i], &results[i], &refusals[i]))
			continue;
		if (b.stripe_miss)
			return false;
		if (b.stripe_escalate != NULL)
		{
			/* its stripes were held out of a funds check: take them back, check again */
			stripes_consolidate(&b, b.stripe_escalate);
			b.stripe_escalate = NULL;
			reqs[i].legs = legs;	/* without the legs the rules added */
			reqs[i].nlegs = nlegs;
			if (post_one(&b, &reqs[i], &results[i], &refusals[i]))
				continue;
		}
		handle_refusal(&b, &reqs[i], atomic, &results[i], &refusals[i]);
	}
	write_claims(&b);			/* a key claimed concurrently: WL017 (see stripes_attempt) */
	write_journals(&b);
	write_entries(&b);
	write_accounts(&b);
	stripes_write(&b);
	holds_record_reviews(reqs, nreqs, results);
	if (b.rules_state != NULL)
		ledger_rules()->write(b.rules_state);
	return true;
}

/*
 * Post a batch. atomic: the first refusal raises and nothing is posted.
 * Otherwise each request is posted or refused on its own, refusals are
 * recorded (when record_refusal is set: under their idempotency keys, if
 * any), and results[i] says which. The caller is connected to SPI.
 *
 * A batch that debits a striped account is first tried over stripes, then
 * with the account's row, each in a subtransaction (ledger_stripes.c) that
 * is rolled back (locks included) when the pass cannot post the batch; the
 * last pass is the plain design.
 */
void
ledger_post_batch(LedgerRequest *reqs, int nreqs, bool atomic, LedgerResult *results)
{
	int			pass;

	validate_batch(reqs, nreqs);
	pass = stripes_worth_trying(reqs, nreqs) ? STRIPE_PASS_TAKE : STRIPE_PASS_ALL;
	for (; pass < STRIPE_PASS_ALL; pass++)
		if (stripes_attempt(reqs, nreqs, atomic, results, post_batch_pass, pass))
			return;
	(void) post_batch_pass(reqs, nreqs, atomic, results, STRIPE_PASS_ALL);
}

void
ledger_post(LedgerRequest *req, LedgerResult *result)
{
	ledger_post_batch(req, 1, !req->record_refusal, result);
}

/* A journal_result composite for a result. */
Datum
ledger_result_datum(LedgerResult *res, TupleDesc tupdesc)
{
	Datum		values[10];
	bool		nulls[10] = {false};
	const char *status = res->held ? "HELD" : res->posted ? "POSTED" : "REFUSED";

	values[0] = Int64GetDatum(res->journal_id);
	nulls[0] = res->journal_id == 0;
	if (res->posted)
		values[1] = CStringGetTextDatum(receipt_encode(res->journal_id, res->created_at));
	nulls[1] = !res->posted;
	values[2] = CStringGetTextDatum(status);
	values[3] = BoolGetDatum(res->replayed);
	nulls[4] = res->posted || res->held;
	if (!nulls[4])
		values[4] = CStringGetTextDatum(res->sqlstate);
	nulls[5] = res->posted || res->message == NULL;
	if (!nulls[5])
		values[5] = CStringGetTextDatum(res->message);
	values[6] = TimestampTzGetDatum(res->created_at);
	nulls[6] = res->created_at == 0;
	values[7] = res->posted ? amount_to_numeric(res->fee_minor, res->exponent) : 0;
	nulls[7] = !res->posted;
	values[8] = res->posted ? amount_to_numeric(res->commission_minor, res->exponent) : 0;
	nulls[8] = !res->posted;
	/* (a 0.1.0 schema's journal_result has no hold_id: heap_form_tuple stops at natts) */
	values[9] = Int64GetDatum(res->hold_id);
	nulls[9] = res->hold_id == 0;
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
}
