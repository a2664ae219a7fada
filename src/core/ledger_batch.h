/*-------------------------------------------------------------------------
 *
 * ledger_batch.h
 *	  The posting core's working types, and nothing else: a batch, its
 *	  accounts, the columns of the rows it writes. Shared by ledger.c (the
 *	  orchestration) and the files below it, each of which declares its own
 *	  functions in its own header (ledger_store.h, ledger_lock.h,
 *	  ledger_write.h, ledger_apply.h, ledger_stripes.h), so that every arrow
 *	  between them points down. Nothing outside src/core includes it: rules
 *	  see accounts only through ledger_rules.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEDGER_BATCH_H
#define LEDGER_BATCH_H

#include "storage/itemptr.h"
#include "utils/hsearch.h"

#include "core/ledger_rules.h"

/* An account as seen by one batch: resolved, maybe locked, working state. */
typedef struct LedgerAccount
{
	char		account_number[WALLET_MAX_ACCOUNT_NUMBER + 1];	/* hash key */
	bool		found;
	bool		debited;		/* debited somewhere in the batch */
	bool		posted_to;		/* a leg (or agent) of a posting in the batch */
	bool		checked_only;	/* a hold's counterpart or agent: resolved and
								 * checked, never locked unless posted to */
	bool		want_lock;		/* must be locked whatever its mode (hold
								 * release, pending change, fold) */
	bool		locked;
	bool		deferred;
	bool		dirty;
	bool		late;			/* added after the lock pass (system accounts) */
	bool		is_system;		/* SYS-*: always ACTIVE, no status barrier */
	int			kyc_tier;		/* the owner's KYC tier (accounts.kyc_tier), or
								 * LEDGER_NO_TIER */
	int64		id;
	int64		owner_id;
	char		currency[4];
	int			exponent;
	char		status[16];
	int64		balance;
	int64		pending_debit;
	int64		minimum_balance;
	bool		can_overdraw;
	int64		version;
	uint8		chain[WALLET_HASH_LEN];
	int			chain_len;
	ItemPointerData tid;		/* the row version read (and locked, if locked) */
	/* striping (ledger_stripes.c): accounts.stripes, 0 when not striped */
	int			nstripes;
	bool		try_stripe;		/* a debit may take a stripe instead of the row */
	bool		consolidated;	/* locked with all its stripes: refilled on write */
	bool		has_stripe;		/* holds one stripe for its unlocked debits */
	int			stripe;			/* which (when has_stripe) */
	int64		stripe_taken;	/* its allowance when taken */
	int64		stripe_left;	/* what the batch has not debited of it yet */
	int64		stripe_version; /* its version when taken */
	ItemPointerData stripe_tid; /* its row version, locked (stripes_write) */
	int64	   *stripe_allowances;	/* consolidated: each stripe's, as locked */
	int64		stripe_hold;	/* locked, not consolidated: what its stripes may
								 * still debit beyond its balance, kept out of
								 * the funds check (allowances - unfolded deltas) */
} LedgerAccount;

/* Saved state of an account, to undo a refused request. */
typedef struct AccountUndo
{
	LedgerAccount *acct;
	int64		balance;
	int64		pending_debit;
	int64		version;
	uint8		chain[WALLET_HASH_LEN];
	int			chain_len;
	bool		dirty;
	int64		stripe_left;
} AccountUndo;

/* A refusal: what would be raised (ledger_rules.h). */
typedef LedgerRefusal Refusal;

enum
{
	J_ID, J_TYPE, J_STATUS, J_KEY, J_RHASH, J_DESC, J_META, J_REVERSES,
	J_SQLSTATE, J_MESSAGE, J_HASH, J_CREATED, J_FEE, J_COMMISSION, J_NCOLS
};

enum
{
	E_JOURNAL, E_LEG, E_ACCOUNT, E_SIDE, E_AMOUNT, E_BALANCE, E_VERSION, E_DESC,
	E_CREATED, E_NCOLS
};

enum
{
	K_SCOPE, K_KEY, K_RHASH, K_RESULT, K_NCOLS
};

/* An earlier request found under an idempotency key (with its journal, if any). */
typedef struct KeyedJournal
{
	int64		scope;
	char	   *key;
	bool		is_journal;		/* claimed by a posting, not by a hold, deposit... */
	int64		id;
	bool		posted;
	uint8		request_hash[WALLET_HASH_LEN];
	char		sqlstate[6];
	char	   *message;
	TimestampTz created_at;
	int64		fee_minor;
	int64		commission_minor;
	int			exponent;		/* of the first leg's currency */
	int64		review_hold_id; /* claimed by a request held for review: its hold */
	char		hold_status[10];	/* that hold's status */
} KeyedJournal;

/*
 * The passes of ledger_post_batch over a batch that debits a striped
 * account, each tried when the one before cannot post the batch:
 *	TAKE: debits of striped accounts take a stripe each (SKIP LOCKED), their
 *	      rows unlocked;
 *	ROW:  striped accounts' rows locked, their stripes not: a debit is
 *	      checked against what the stripes do not hold (stripe_hold); when
 *	      that is not enough, all the account's stripes are locked and taken
 *	      back (consolidated) and the request is checked again: the plain
 *	      design's answer;
 *	ALL:  as ROW, but the last pass: nothing falls back (no subtransaction).
 * ROW falls back to ALL only when an idempotency key was claimed by a
 * concurrent request, or an account was re-striped under it. Batches that
 * debit no known striped account take ALL directly.
 */
#define STRIPE_PASS_TAKE	0
#define STRIPE_PASS_ROW		1
#define STRIPE_PASS_ALL		2

typedef struct Batch
{
	HTAB	   *accounts;
	void	   *rules_state;	/* the registered rules' state for this batch */
	int64		config_generation;	/* rules_generation as the lock query saw it */
	KeyedJournal *keyed;
	int			nkeyed;
	Column		jcols[J_NCOLS];
	Column		ecols[E_NCOLS];
	Column		kcols[K_NCOLS]; /* the keys claimed by the batch's journals */
	int			njournals_inserted;
	TimestampTz now;
	int64		last_locked_id; /* lock order, asserted ascending */
	bool		checking;		/* a request is being checked: nothing may be recorded */
	Datum		empty_metadata; /* '{}', made once per batch for journals without metadata */
	int			stripe_pass;	/* STRIPE_PASS_* (ledger_stripes.h) */
	bool		stripe_miss;	/* this pass cannot post it: roll back, next pass */
	struct LedgerAccount *stripe_escalate;	/* to consolidate, then check again */
} Batch;


/*
 * An account the batch only checks (a hold's counterpart or agent): never
 * locked, whatever its mode (the lock rule's exception, for ledger_lock.c
 * and the 0.1.0 lock query alike).
 */
static inline bool
ledger_check_only(const LedgerAccount *acct)
{
	return acct->checked_only && !acct->posted_to && !acct->want_lock;
}

/* ledger_rules.c: what a plug-in rule may see of an account */
extern void ledger_account_view(const LedgerAccount *acct, LedgerAccountView *out);

#endif							/* LEDGER_BATCH_H */
