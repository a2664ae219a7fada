/*-------------------------------------------------------------------------
 *
 * idempotency.h
 *	  The one idempotency claim of pg_wallet (src/core/idempotency.c).
 *
 * A key belongs to a scope: the owner of the account the request acts for.
 * The first request under (scope, key) records its kind, its hash and the
 * id of its result in pg_wallet.idempotency_keys; a retry with the same
 * kind and hash gets that result, anything else is refused (WL003).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WALLET_IDEMPOTENCY_H
#define WALLET_IDEMPOTENCY_H

#include "core/direct.h"
#include "core/pg_wallet.h"

/* The kinds of result a key can stand for (the table's CHECK lists them). */
#define IDEM_JOURNAL	"journal"
#define IDEM_HOLD		"hold"

/* The conflict's message and detail, written once for every claim path. */
extern char *idem_conflict_message(const char *key);
extern const char *idem_conflict_detail(void);

/* Refuses (55000) a keyed request on a 0.1.0 schema, before ALTER EXTENSION UPDATE. */
extern void idem_require_schema(void);

/* WL017: a concurrent request claimed the key first (retry: it replays). */
extern void idem_raise_concurrent(void) pg_attribute_noreturn();

/*
 * The result id of the earlier request under (scope, key), or 0 when the
 * key is new. Raises WL003 when the key was used for another kind of
 * request or a different one. No SQL: one probe of the primary key.
 */
extern int64 idem_find(int64 scope, const char *key, const char *kind, const uint8 *hash);

/*
 * Claim (scope, key) for a result (a direct insert, no SQL). Raises WL017
 * (retry) when a concurrent request claimed it first: the caller's
 * transaction then rolls back.
 */
extern void idem_record(int64 scope, const char *key, const char *kind, const uint8 *hash,
						int64 result_id);

/*
 * Claims written directly, for one request (idem_record) or a batch's
 * journals (ledger_store.c): idem_claims_begin, a row per claim, then
 * idem_write_claims, which raises WL017 instead of the unique violation when
 * a claim was made already (by a concurrent request that committed, or by
 * this transaction).
 */
#define IDEM_NCOLS	6
typedef struct IdemClaims
{
	DirectTable t;
	AttrNumber	att[IDEM_NCOLS];
} IdemClaims;

extern void idem_claims_begin(IdemClaims *c);
extern void idem_claim_row(IdemClaims *c, Datum scope, Datum key, Datum kind,
						   Datum request_hash, Datum result_id, TimestampTz now);
extern void idem_write_claims(IdemClaims *c);

#endif							/* WALLET_IDEMPOTENCY_H */
