/*-------------------------------------------------------------------------
 *
 * auth_authenticate.c
 *	  authenticate(): an access token to the calling principal, the first
 *	  thing every API function does, in one statement.
 *
 * Owns: the SQL functions authenticate() and _api_caller(), the order of
 * their checks and their errors (the same as the PL/pgSQL authenticate()
 * this replaces, which issue 20 measured at a third of an API read).
 *
 * Never: accepts a token before its signature verified (auth_jwt_verify
 * runs first, and nothing of the payload is read before it); trusts a cached
 * key that its statement has not proved current in the same snapshot;
 * decides anything from a claim that the registry contradicts; puts the
 * token, a key or a digest in an error.
 *
 * Locking: none (reads only; the statement sees the snapshot of the call).
 *
 * One call: auth_jwt_verify() checks the token (format, HS256, signature
 * with the cached key of its kid or the key read from the table, claims,
 * expiry); then one statement reads, by primary key, the jti's registry row
 * (access_tokens), its session (auth_sessions) and its principal, and
 * whether the verifying key is still current (its row, still verifying at
 * the auth clock, with the same SHA-256). A key that is no longer current
 * is dropped from the cache and the token verified once more against the
 * table, which refuses it (WL023) when the key is gone or retired.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/uuid.h"

#include "identity/auth.h"
#include "core/pg_wallet.h"

PG_FUNCTION_INFO_V1(wallet_authenticate);
PG_FUNCTION_INFO_V1(wallet_api_caller);

#define AUTH_MAX_ROLES	8

static SPIPlanPtr auth_plan = NULL;

/* Columns of the statement below, 1-based. */
enum
{
	COL_KEY_OK = 1,
	COL_FOUND,
	COL_REVOKED,				/* token or session revoked */
	COL_SESSION,
	COL_PRINCIPAL,
	COL_ROLE,
	COL_OWNER,
	COL_EMAIL,
	COL_USERNAME,
	COL_STATUS,
	COL_KYC_STATUS,
	COL_KYC_TIER
};

static const char auth_sql[] =
	"SELECT k.ok, t.jti IS NOT NULL, t.revoked_at IS NOT NULL OR s.revoked_at IS NOT NULL, "
	"  t.session_id, p.id, p.role, p.owner_id, p.email, p.username, p.status, p.kyc_status, "
	"  p.kyc_tier "
	"FROM (SELECT EXISTS (SELECT 1 FROM pg_wallet.jwt_signing_keys k "
	"      WHERE k.kid = $2 AND (k.verify_until IS NULL OR k.verify_until > $3) "
	"        AND pg_catalog.sha256(k.secret) = $4) AS ok) k "
	"LEFT JOIN (pg_wallet.access_tokens t "
	"  JOIN pg_wallet.auth_sessions s ON s.id = t.session_id "
	"  JOIN pg_wallet.principals p ON p.id = t.principal_id) ON t.jti = $1";

/* A column of the statement's one row (SPI_tuptable). */
static Datum
auth_col(int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/* Two uuid Datums are equal. */
static bool
uuid_same(Datum a, Datum b)
{
	return memcmp(DatumGetUUIDP(a), DatumGetUUIDP(b), UUID_LEN) == 0;
}

/*
 * Run the statement for verified claims. False when the key that verified
 * them is not current (the caller verifies again from the table); true with
 * the row in SPI_tuptable otherwise.
 */
static bool
auth_lookup(AuthClaims *c)
{
	Oid			argtypes[4] = {UUIDOID, TEXTOID, TIMESTAMPTZOID, BYTEAOID};
	Datum		values[4];
	bool		isnull;

	wallet_plan(&auth_plan, auth_sql, 4, argtypes);
	values[0] = c->jti;
	values[1] = CStringGetTextDatum(c->kid);
	values[2] = TimestampTzGetDatum(auth_now());
	values[3] = bytea_datum(c->key_digest, AUTH_HS256_LEN);
	if (SPI_execute_plan(auth_plan, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "token look-up failed");
	return DatumGetBool(auth_col(COL_KEY_OK, &isnull)) && !isnull;
}

/* The token's registry row says it is live, and says what its claims say. */
static void
auth_check_registry(AuthClaims *c)
{
	bool		found,
				revoked,
				n1,
				n2,
				n3;

	found = DatumGetBool(auth_col(COL_FOUND, &n1));
	revoked = DatumGetBool(auth_col(COL_REVOKED, &n2));
	if (!found || revoked ||
		!uuid_same(auth_col(COL_PRINCIPAL, &n3), c->sub) ||
		!uuid_same(auth_col(COL_SESSION, &n3), c->sid))
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_TOKEN_REVOKED),
				 errmsg("access token has been revoked")));
}

/* The principal is ACTIVE; WL021 "account <status>" otherwise. */
static void
auth_check_status(void)
{
	bool		isnull;
	char	   *status = TextDatumGetCString(auth_col(COL_STATUS, &isnull));

	if (strcmp(status, "ACTIVE") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_PRINCIPAL_LOCKED),
				 errmsg("account %s", asc_tolower(status, strlen(status)))));
}

/* The token was issued for the expected audience (when one is given); WL023. */
static void
auth_check_audience(AuthClaims *c, text *expected)
{
	char	   *want;
	int			len;

	if (expected == NULL)
		return;
	want = text_to_cstring(expected);
	if (strcmp(c->aud, want) == 0)
		return;
	len = pg_mbcharcliplen(want, strlen(want), 40);
	want[len] = '\0';
	ereport(ERROR,
			(errcode(ERRCODE_WALLET_TOKEN_SIGNATURE),
			 errmsg("access token was not issued for this API"),
			 errdetail("The token is for %s, not %s.", c->aud, want)));
}

/*
 * The principal's role is one of allowed (when given, at most 8 elements;
 * NULL elements match nothing); WL031 otherwise.
 */
static void
auth_check_role(ArrayType *allowed)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	bool		isnull;
	char	   *role;
	StringInfoData list;

	if (allowed == NULL)
		return;
	if (ArrayGetNItems(ARR_NDIM(allowed), ARR_DIMS(allowed)) > AUTH_MAX_ROLES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("allowed_roles has more than %d elements", AUTH_MAX_ROLES)));
	role = TextDatumGetCString(auth_col(COL_ROLE, &isnull));
	deconstruct_array(allowed, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	initStringInfo(&list);
	for (int i = 0; i < n; i++)
	{
		char	   *r;

		if (nulls[i])
			continue;
		r = TextDatumGetCString(elems[i]);
		if (strcmp(r, role) == 0)
			return;
		appendStringInfo(&list, "%s%s", list.len > 0 ? ", " : "", r);
	}
	ereport(ERROR,
			(errcode(ERRCODE_WALLET_FORBIDDEN),
			 errmsg("forbidden: role %s may not perform this operation", role),
			 errdetail("Allowed roles: %s.", list.data)));
}

/* The auth_principal of the row and the claims, built in the caller's context. */
static Datum
auth_principal_datum(FunctionCallInfo fcinfo, AuthClaims *c, MemoryContext cxt)
{
	TupleDesc	tupdesc;
	Datum		values[12];
	bool		nulls[12] = {0};
	MemoryContext spicxt = MemoryContextSwitchTo(cxt);
	HeapTuple	tup;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE ||
		tupdesc->natts != 12)
		elog(ERROR, "authenticate must return pg_wallet.auth_principal");
	values[0] = auth_col(COL_PRINCIPAL, &nulls[0]);
	values[1] = auth_col(COL_ROLE, &nulls[1]);
	values[2] = auth_col(COL_OWNER, &nulls[2]);
	values[3] = auth_col(COL_EMAIL, &nulls[3]);
	values[4] = auth_col(COL_USERNAME, &nulls[4]);
	values[5] = auth_col(COL_STATUS, &nulls[5]);
	values[6] = auth_col(COL_KYC_STATUS, &nulls[6]);
	values[7] = auth_col(COL_KYC_TIER, &nulls[7]);
	values[8] = c->jti;
	values[9] = c->sid;
	values[10] = CStringGetTextDatum(c->aud);
	values[11] = TimestampTzGetDatum(auth_unix_to_timestamp(c->exp));
	tup = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
	MemoryContextSwitchTo(spicxt);
	return HeapTupleGetDatum(tup);
}

/* The whole check; the principal or an error. */
static Datum
auth_authenticate(FunctionCallInfo fcinfo, int token_arg, int roles_arg, int aud_arg)
{
	text	   *token = PG_ARGISNULL(token_arg) ? NULL : PG_GETARG_TEXT_PP(token_arg);
	ArrayType  *roles = PG_ARGISNULL(roles_arg) ? NULL : PG_GETARG_ARRAYTYPE_P(roles_arg);
	text	   *audience = PG_ARGISNULL(aud_arg) ? NULL : PG_GETARG_TEXT_PP(aud_arg);
	MemoryContext cxt = CurrentMemoryContext;
	AuthClaims	c;
	bool		key_ok = false;
	Datum		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int attempt = 0; attempt < 2 && !key_ok; attempt++)
	{
		auth_jwt_verify(token, true, &c);
		key_ok = auth_lookup(&c);
		if (!key_ok)
			auth_jwt_forget_key(c.kid);
	}
	if (!key_ok)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_TOKEN_SIGNATURE),
				 errmsg("access token signing key is unknown or retired")));
	auth_check_registry(&c);
	auth_check_status();
	auth_check_audience(&c, audience);
	auth_check_role(roles);
	result = auth_principal_datum(fcinfo, &c, cxt);
	SPI_finish();
	return result;
}

/*
 * pg_wallet.authenticate(token text, allowed_roles text[] DEFAULT NULL,
 * expected_audience text DEFAULT NULL) RETURNS pg_wallet.auth_principal.
 * Errors, in this order: WL022 missing or malformed, WL023 algorithm, key
 * or signature, WL024 expired, WL025 revoked (logout, session revoked,
 * unknown jti, claims the registry contradicts), WL021 principal not
 * ACTIVE, WL023 another audience, 54000 more than 8 roles, WL031 role.
 */
Datum
wallet_authenticate(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(auth_authenticate(fcinfo, 0, 1, 2));
}

/*
 * pg_wallet._api_caller(token text, profile text, roles text[]) RETURNS
 * pg_wallet.auth_principal: authenticate(token, roles, profile).
 */
Datum
wallet_api_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(auth_authenticate(fcinfo, 0, 2, 1));
}
