/*-------------------------------------------------------------------------
 *
 * pg_wallet.h
 *	  Shared declarations of the pg_wallet extension: error codes, limits,
 *	  amounts, receipts, hashing and the posting core's request/result types.
 *
 * Invariants every file must keep (see DESIGN.md):
 *	- money is int64 minor units; no floating point anywhere near it;
 *	- only ledger.c writes balances, entries and journals;
 *	- every user-caused failure is an ereport with a wallet SQLSTATE below
 *	  or a standard one, never elog.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_WALLET_H
#define PG_WALLET_H

#include "postgres.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

/*
 * Wallet SQLSTATEs, class WL: ERRCODE_WALLET_<name>, generated from the one
 * list src/errors.tsv (docs/errors.md); never renumber one.
 */
#include "wallet_errors.h"

/* Limits: everything a caller sends is bounded. */
#define WALLET_MAX_LEGS				64		/* legs in one journal */
#define WALLET_MAX_BATCH			5000	/* transfers in one batch call */
#define WALLET_MAX_KEY_LEN			128		/* idempotency key */
#define WALLET_MAX_TEXT_LEN			500		/* descriptions, reasons */
#define WALLET_MAX_ACCOUNT_NUMBER	64
#define WALLET_MAX_METADATA_BYTES	8192	/* jsonb metadata, as text */
#define WALLET_MAX_EXPONENT			4

#define WALLET_HASH_LEN				32		/* SHA-256 */
#define WALLET_BARRIER_LOCK_KEY		0x57414C54	/* "WALT": advisory lock space */

/* amount.c */
extern const char *amount_parse_cstr(const char *s, int exponent, int64 *out);
extern const char *amount_numeric_cstr(Datum numeric, const char **problem);
extern int	currency_exponent(const char *currency);
extern int64 amount_parse_text(const char *text, int exponent, const char *currency);
extern int64 amount_from_numeric(Datum numeric, int exponent, const char *currency);
extern Datum amount_to_numeric(int64 amount_minor, int exponent);
extern char *amount_to_cstring(int64 amount_minor, int exponent);
extern const char *amount_arg_text(FunctionCallInfo fcinfo, int argno);

/* receipt.c */
extern char *receipt_encode(int64 journal_id, TimestampTz created_at);
extern int64 receipt_decode(const char *receipt, bool missing_ok);

/* Side of an entry. */
typedef enum LedgerSide
{
	SIDE_DEBIT,
	SIDE_CREDIT
} LedgerSide;

/* One leg of a journal as the caller asked for it. */
typedef struct LedgerLeg
{
	char	   *account_number;
	LedgerSide	side;
	int64		amount_minor;	/* > 0, or 0 when amount_text is to be parsed */
	const char *amount_text;	/* decimal text, parsed with the account's
								 * currency exponent during resolution */
	char	   *description;	/* may be NULL */
	/* filled by the core */
	int			account_index;	/* into LedgerAccount array */
} LedgerLeg;

/* One posting request. */
typedef struct LedgerRequest
{
	const char *journal_type;
	const char *idempotency_key;	/* NULL: no idempotency */
	/*
	 * The account the request acts for: its owner is the key's scope
	 * (idempotency.c). NULL: the first leg's account.
	 */
	const char *scope_account_number;
	const char *description;
	Jsonb	   *metadata;		/* NULL: {} */
	int64		reverses_journal_id;	/* 0: none */
	bool		force;			/* skip funds checks (admin reversal) */
	bool		record_refusal; /* store a refusal (under the key, if any), don't raise */
	/* a hold consumed by this posting: its amount leaves pending_debit */
	const char *release_account_number;
	int64		release_amount_minor;
	int			nlegs;
	LedgerLeg  *legs;
	int			item;			/* 1-based batch position, 0 for single posts */

	/*
	 * Money rules, for a simple request (leg 1 debits the source, leg 2
	 * credits the destination): the fee type charged (NULL: none), the
	 * client service the posting runs under and what it does to the
	 * client's account ('C' credit: the destination is the client's; 'D'
	 * debit: the source is), and the agent whose commission account takes
	 * its share of the fee.
	 */
	const char *fee_type;
	const char *client_service_code;
	char		service_direction;
	const char *agent_account_number;
	/*
	 * A hold being placed: the legs (and the rules' fee legs) are checked as
	 * a posting's are, then not posted: what they debit from the first leg's
	 * account is reserved (its pending_debit rises). No journal is written;
	 * the hold's idempotency key is the hold's.
	 */
	bool		reserve;

	/*
	 * Set by a rule's apply() (the core clears it first): hold the request
	 * for review instead of posting it. It is checked as a posting, then
	 * reserved like a hold (what it debits the first leg's account raises
	 * its pending_debit) and kept in a hold row (holds.review) that
	 * post_hold posts as the request itself and void_hold or expiry at
	 * review_expires_at (0: none) releases. Its key then names the hold.
	 */
	bool		review;
	TimestampTz review_expires_at;
	/* a fee the caller already put in the legs (a hold's capture) */
	int64		known_fee_minor;
	int64		known_commission_minor;
	/* filled by the core: the request's hash, computed once, and the key's scope */
	bool		hashed;
	uint8		request_hash[WALLET_HASH_LEN];
	int64		idempotency_scope;
} LedgerRequest;

typedef struct LedgerResult
{
	int64		journal_id;
	int64		fee_minor;		/* fee charged (posted requests) */
	int64		commission_minor;	/* part of it credited to the agent */
	int			exponent;		/* of the fee's currency */
	TimestampTz created_at;
	bool		posted;
	bool		replayed;
	bool		limit_counted;	/* the amount was added to the owner's limit usage */
	bool		held;			/* held for review (req->review): not posted */
	int64		hold_id;		/* held: the hold that keeps it */
	int			review_nlegs;	/* held: the caller's legs (before the rules' legs) */
	char		sqlstate[6];	/* refused: the SQLSTATE */
	char	   *message;		/* refused: the message */
} LedgerResult;

/* ledger_pending.c: the core's writes that post no journal */
extern int64 ledger_fold(const char *account_number, int max_accounts);
extern void ledger_release_pending(const char *account_number, int64 amount_minor);

/* ledger_store.c: the status barrier of an account posted to without its lock */
extern void ledger_account_barrier(const char *account_number, bool exclusive);

/* ledger.c: the one posting path */
extern void ledger_post_batch(LedgerRequest *reqs, int nreqs, bool atomic,
							  LedgerResult *results);
extern void ledger_post(LedgerRequest *req, LedgerResult *result);
extern Datum ledger_result_datum(LedgerResult *res, TupleDesc tupdesc);

/* ledger_rules.c: a request's legs */
extern void ledger_add_leg(LedgerRequest *req, const char *account, LedgerSide side,
						   int64 amount, const char *description);

/* ledger_hash.c */
extern void ledger_journal_hash(int64 journal_id, const char *journal_type,
								int64 reverses_journal_id, int nlegs,
								const int64 *account_ids, const bool *is_debit,
								const int64 *amounts, uint8 *out);
extern void ledger_chain_hash(const uint8 *prev, int prev_len, const uint8 *journal_hash,
							  int64 version, int64 balance_after, uint8 *out);
extern void ledger_request_hash(LedgerRequest *req, uint8 *out);

/* format.c: an API timestamp, 2025-12-07T11:00:00Z; members of a jsonb object */
extern char *timestamp_iso(TimestampTz ts);
extern void jsonb_put_key(JsonbParseState **st, const char *key);
extern void jsonb_put_text(JsonbParseState **st, const char *key, const char *value);
extern void jsonb_put_numeric(JsonbParseState **st, const char *key, Numeric value);
extern void jsonb_put_bool(JsonbParseState **st, const char *key, bool value);

/* spi_util.c */
extern SPIPlanPtr wallet_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern char *text_arg_cstring(FunctionCallInfo fcinfo, int argno, const char *what,
							  int max_len, bool required);
extern void wallet_check_code(const char *value, const char *what);
extern TupleDesc wallet_result_tupdesc(FunctionCallInfo fcinfo);

/* spi_util.c: growable columns of Datums, passed as unnest()ed array parameters */
/* A growable column of Datums for one unnest() parameter. */
typedef struct Column
{
	Oid			type;
	Datum	   *values;
	bool	   *nulls;
	int			n;
	int			cap;
} Column;

extern void column_init(Column *col, Oid type);
extern void column_add(Column *col, Datum value, bool isnull);
extern Datum column_array(Column *col);
extern Datum text_datum_or_null(const char *s, bool *isnull);
extern Datum bytea_datum(const uint8 *bytes, int len);
extern int64 get_int64(HeapTuple tup, TupleDesc desc, int col);
extern bool get_bool(HeapTuple tup, TupleDesc desc, int col);

#endif							/* PG_WALLET_H */
