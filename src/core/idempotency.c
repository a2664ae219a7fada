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
 * The posting path claims the keys of a whole batch in its own two
 * statements (ledger_store.c: load_keys, write_claims), with the message of
 * idem_conflict_message(); single requests (holds here, deposits and
 * withdrawals through _idempotency_find/_idempotency_record) use
 * idem_find() and idem_record().
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

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "core/idempotency.h"

PG_FUNCTION_INFO_V1(wallet_idempotency_find);
PG_FUNCTION_INFO_V1(wallet_idempotency_record);

static SPIPlanPtr find_plan = NULL;
static SPIPlanPtr record_plan = NULL;

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

int64
idem_find(int64 scope, const char *key, const char *kind, const uint8 *hash)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(scope), CStringGetTextDatum(key)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		stored;
	char	   *stored_kind;

	idem_require_schema();
	wallet_plan(&find_plan,
				"SELECT kind, request_hash, result_id FROM pg_wallet.idempotency_keys"
				" WHERE scope = $1 AND key = $2",
				2, argtypes);
	if (SPI_execute_plan(find_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "idempotency key look-up failed");
	if (SPI_processed == 0)
		return 0;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	stored_kind = SPI_getvalue(tup, desc, 1);
	stored = SPI_getbinval(tup, desc, 2, &isnull);
	if (strcmp(stored_kind, kind) != 0 || isnull ||
		VARSIZE_ANY_EXHDR(DatumGetByteaPP(stored)) != WALLET_HASH_LEN ||
		memcmp(VARDATA_ANY(DatumGetByteaPP(stored)), hash, WALLET_HASH_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_IDEMPOTENCY_CONFLICT),
				 errmsg("%s", idem_conflict_message(key)),
				 errdetail("%s", idem_conflict_detail())));
	return get_int64(tup, desc, 3);
}

void
idem_record(int64 scope, const char *key, const char *kind, const uint8 *hash,
			int64 result_id)
{
	Oid			argtypes[5] = {INT8OID, TEXTOID, TEXTOID, BYTEAOID, INT8OID};
	Datum		values[5];

	values[0] = Int64GetDatum(scope);
	values[1] = CStringGetTextDatum(key);
	values[2] = CStringGetTextDatum(kind);
	values[3] = bytea_datum(hash, WALLET_HASH_LEN);
	values[4] = Int64GetDatum(result_id);
	idem_require_schema();
	wallet_plan(&record_plan,
				"INSERT INTO pg_wallet.idempotency_keys"
				" (scope, key, kind, request_hash, result_id) VALUES ($1, $2, $3, $4, $5)"
				" ON CONFLICT (scope, key) DO NOTHING",
				5, argtypes);
	if (SPI_execute_plan(record_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "idempotency key claim failed");
	if (SPI_processed != 1)
		idem_raise_concurrent();
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
	SPI_connect();
	id = idem_find(scope, key, kind, hash);
	SPI_finish();
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
	SPI_connect();
	idem_record(scope, key, kind, hash, PG_GETARG_INT64(4));
	SPI_finish();
	PG_RETURN_VOID();
}
