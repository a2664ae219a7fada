/*-------------------------------------------------------------------------
 *
 * idempotency.c
 *	  The one idempotency claim: every request that takes a key (a posting,
 *	  a hold, a deposit, a withdrawal, and every later domain) is looked up
 *	  and recorded here, in pg_wallet.idempotency_keys.
 *
 * The rule, written once: a key belongs to a scope, the owner of the
 * account the request acts for (so one merchant's reference never replays
 * or refuses another's); the first request under (scope, key) records its
 * kind, the hash of what it asked and the id of its result; a retry with the
 * same kind and hash gets that result (a refused journal's refusal
 * included); anything else under the key is refused with WL003.
 *
 * The posting path claims the keys of a whole batch in its own two steps
 * (ledger_store.c: load_keys, write_claims through idem_write_claims()),
 * with the message of idem_conflict_message(); single requests (holds,
 * payments, and deposits and withdrawals through
 * _idempotency_find/_idempotency_record) use idem_find() and idem_record():
 * a probe of the primary key and a direct insert, no SQL. Every claim is
 * written through idem_claims_begin/idem_claim_row/idem_write_claims.
 *
 * Owns: pg_wallet.idempotency_keys. Never: updates or deletes a claim.
 * Locking: none of its own. A claim is looked up after the request's
 * account lock where there is one, so a retry racing its original waits
 * and then finds it; two new requests racing under one key meet at the
 * primary key, and the second gets WL017 (retry, and the retry replays).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#include "core/direct.h"
#include "core/idempotency.h"

PG_FUNCTION_INFO_V1(wallet_idempotency_find);
PG_FUNCTION_INFO_V1(wallet_idempotency_record);


char *
idem_conflict_message(const char *key)
{
	return psprintf("idempotency key \"%s\" was already used for a different request", key);
}

const char *
idem_conflict_detail(void)
{
	return "A retry must repeat the original request exactly.";
}

/*
 * The claim table is 0.2.0's: new binaries on a 0.1.0 schema (before ALTER EXTENSION
 * UPDATE) refuse a keyed request clearly instead of failing on a missing relation; requests
 * without a key go on. Once seen, the table stays.
 */
void
idem_require_schema(void)
{
	static bool seen = false;

	if (seen)
		return;
	seen = OidIsValid(get_relname_relid("idempotency_keys",
										 get_namespace_oid("pg_wallet", false)));
	if (!seen)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("idempotency keys need the pg_wallet 0.2.0 schema"),
				 errhint("Run ALTER EXTENSION pg_wallet UPDATE.")));
}

void
idem_raise_concurrent(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_WALLET_CONCURRENT_REQUEST),
			 errmsg("a concurrent request with the same idempotency key committed first"),
			 errhint("Retry the request: the retry returns the first request's result.")));
}

/*
 * The claim's kind names the layer's kind of result: what the table's CHECK
 * (kind ~ '^[a-z][a-z_]{1,19}$') asks, checked here for the direct insert.
 */
static bool
kind_is_valid(const char *kind)
{
	size_t		n = strlen(kind);

	if (n < 2 || n > 20 || kind[0] < 'a' || kind[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if ((kind[i] < 'a' || kind[i] > 'z') && kind[i] != '_')
			return false;
	return true;
}

/*
 * One probe of the claims' primary key (no SQL), with a snapshot that sees
 * this transaction's earlier claims and, taken after the request's account
 * lock where there is one, a racing original's.
 */
int64
idem_find(int64 scope, const char *key, const char *kind, const uint8 *hash)
{
	DirectRead	r;
	ScanKeyData k[2];
	int64		result = 0;

	idem_require_schema();
	/* as the statement it replaced: this transaction's claims made through SPI are seen */
	CommandCounterIncrement();
	direct_read_begin(&r, "idempotency_keys", "idempotency_keys_pkey");
	direct_key(&k[0], r.index, 1, F_INT8EQ, Int64GetDatum(scope));
	direct_key(&k[1], r.index, 2, F_TEXTEQ, CStringGetTextDatum(key));
	if (direct_read_one(&r, k, 2))
	{
		bool		kind_null,
					hash_null,
					id_null;
		Datum		stored_kind = direct_read_col(&r, r.slot, "kind", &kind_null);
		Datum		stored = direct_read_col(&r, r.slot, "request_hash", &hash_null);
		Datum		id = direct_read_col(&r, r.slot, "result_id", &id_null);

		if (kind_null || !direct_text_is(stored_kind, kind) || hash_null ||
			VARSIZE_ANY_EXHDR(DatumGetByteaPP(stored)) != WALLET_HASH_LEN ||
			memcmp(VARDATA_ANY(DatumGetByteaPP(stored)), hash, WALLET_HASH_LEN) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_WALLET_IDEMPOTENCY_CONFLICT),
					 errmsg("%s", idem_conflict_message(key)),
					 errdetail("%s", idem_conflict_detail())));
		result = DatumGetInt64(id);
	}
	direct_read_end(&r);
	return result;
}

/*
 * Open the claims for writing: rows go in with idem_claim_row(), then
 * idem_write_claims() writes them. The key's CHECK is kept by
 * idem_claim_row(); the kind's by the caller (an IDEM_* constant, or
 * idem_record()'s check).
 */
void
idem_claims_begin(IdemClaims *c)
{
	static const char *const checks[] = {
		"idempotency_keys_key_check", "idempotency_keys_kind_check", NULL
	};
	static const char *const columns[IDEM_NCOLS] = {
		"scope", "key", "kind", "request_hash", "result_id", "created_at"
	};

	direct_begin(&c->t, "idempotency_keys", checks, false);
	direct_attnums(c->t.rel, columns, IDEM_NCOLS, c->att);
}

/* One claim: (scope, key) -> kind, request hash, result id, claimed at now. */
void
idem_claim_row(IdemClaims *c, Datum scope, Datum key, Datum kind, Datum request_hash,
			   Datum result_id, TimestampTz now)
{
	TupleTableSlot *slot;
	int			chars = direct_text_chars(key);

	if (chars < 1 || chars > WALLET_MAX_KEY_LEN)
		direct_violated(&c->t, "idempotency_keys_key_check");
	slot = direct_row(&c->t);
	direct_set(slot, c->att[0], scope, false);
	direct_set(slot, c->att[1], key, false);
	direct_set(slot, c->att[2], kind, false);
	direct_set(slot, c->att[3], request_hash, false);
	direct_set(slot, c->att[4], result_id, false);
	direct_set(slot, c->att[5], TimestampTzGetDatum(now), false);
}

/*
 * Write the claims. A claim that meets another transaction's (same scope
 * and key) waits for it, as INSERT ... ON CONFLICT does; if that one
 * committed (or this transaction made the claim already), the request is
 * refused with WL017 (the client's retry then returns the first request's
 * result).
 */
void
idem_write_claims(IdemClaims *c)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		direct_end(&c->t);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		if (e->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
			PG_RE_THROW();
		/* the transaction aborts either way: this error replaces that one */
		FlushErrorState();
		idem_raise_concurrent();
	}
	PG_END_TRY();
}

/* One claim, inserted directly (no SQL). */
void
idem_record(int64 scope, const char *key, const char *kind, const uint8 *hash,
			int64 result_id)
{
	IdemClaims	c;

	idem_require_schema();
	idem_claims_begin(&c);
	if (!kind_is_valid(kind))
		direct_violated(&c.t, "idempotency_keys_kind_check");
	idem_claim_row(&c, Int64GetDatum(scope), CStringGetTextDatum(key), CStringGetTextDatum(kind),
				   bytea_datum(hash, WALLET_HASH_LEN), Int64GetDatum(result_id),
				   GetCurrentTransactionStartTimestamp());
	idem_write_claims(&c);
}

/* The arguments of the SQL entry points: (scope, key, kind, request_hash). */
static void
claim_args(FunctionCallInfo fcinfo, int64 *scope, char **key, char **kind, uint8 *hash)
{
	bytea	   *h;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an idempotency claim needs a scope and a request hash")));
	*scope = PG_GETARG_INT64(0);
	*key = text_arg_cstring(fcinfo, 1, "idempotency_key", WALLET_MAX_KEY_LEN, true);
	*kind = text_arg_cstring(fcinfo, 2, "kind", 20, true);
	h = PG_GETARG_BYTEA_PP(3);
	if (VARSIZE_ANY_EXHDR(h) != WALLET_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a request hash is %d bytes", WALLET_HASH_LEN)));
	memcpy(hash, VARDATA_ANY(h), WALLET_HASH_LEN);
}

/*
 * _idempotency_find(scope bigint, key text, kind text, request_hash bytea)
 * returns bigint: the earlier result's id, NULL for a new key (NULL key:
 * NULL); WL003 on a conflict.
 */
Datum
wallet_idempotency_find(PG_FUNCTION_ARGS)
{
	int64		scope;
	char	   *key;
	char	   *kind;
	uint8		hash[WALLET_HASH_LEN];
	int64		id;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	claim_args(fcinfo, &scope, &key, &kind, hash);
	id = idem_find(scope, key, kind, hash);
	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}

/*
 * _idempotency_record(scope bigint, key text, kind text, request_hash bytea,
 * result_id bigint): claim the key for a result (NULL key: nothing).
 */
Datum
wallet_idempotency_record(PG_FUNCTION_ARGS)
{
	int64		scope;
	char	   *key;
	char	   *kind;
	uint8		hash[WALLET_HASH_LEN];

	if (PG_ARGISNULL(1))
		PG_RETURN_VOID();
	claim_args(fcinfo, &scope, &key, &kind, hash);
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an idempotency claim needs a result id")));
	idem_record(scope, key, kind, hash, PG_GETARG_INT64(4));
	PG_RETURN_VOID();
}
