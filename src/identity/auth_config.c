/*-------------------------------------------------------------------------
 *
 * auth_config.c
 *	  The clock of the authentication code, its settings as SQL sees them,
 *	  and the gate of the test-only hooks. The settings themselves
 *	  (pg_wallet.jwt_lifetime_s, ...) are defined in src/settings.c.
 *
 * Owns: auth_now() (the one clock every expiry decision of the auth code
 * uses), the SQL functions _auth_now(), _auth_config() and
 * _require_test_hooks().
 *
 * Never: defines or changes a setting.
 *
 * The clock: auth_now() is the transaction's start time plus
 * pg_wallet.test_now_offset_s (default 0). Tests move it forward to expire
 * tokens and codes without sleeping; nothing else should set it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "identity/auth.h"

PG_FUNCTION_INFO_V1(wallet_auth_now);
PG_FUNCTION_INFO_V1(wallet_auth_config);
PG_FUNCTION_INFO_V1(wallet_require_test_hooks);

/* The authentication clock: transaction start plus the test offset. */
TimestampTz
auth_now(void)
{
	return GetCurrentTransactionStartTimestamp() +
		(int64) auth_test_now_offset_s * USECS_PER_SEC;
}

/* A timestamp as Unix seconds (floor). */
int64
auth_timestamp_to_unix(TimestampTz ts)
{
	int64		secs = ts / USECS_PER_SEC;

	if (ts < 0 && ts % USECS_PER_SEC != 0)
		secs--;
	return secs + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* Unix seconds as a timestamp; the caller keeps unix_s within +-10^11. */
TimestampTz
auth_unix_to_timestamp(int64 unix_s)
{
	return (unix_s - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) *
		USECS_PER_SEC;
}

/* The authentication clock in Unix seconds. */
int64
auth_now_unix(void)
{
	return auth_timestamp_to_unix(auth_now());
}

/*
 * pg_wallet._auth_now() RETURNS timestamptz: the clock every expiry of the
 * auth SQL code is computed and checked against.
 */
Datum
wallet_auth_now(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(auth_now());
}

/*
 * pg_wallet._auth_config() RETURNS pg_wallet.auth_config: the settings, so
 * that SQL reads them through the defined (and privilege-checked) GUCs and
 * never through a placeholder.
 */
Datum
wallet_auth_config(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_auth_config must return a composite type");
	if (tupdesc->natts != 9)
		elog(ERROR, "pg_wallet.auth_config has %d attributes, expected 9", tupdesc->natts);
	values[0] = Int32GetDatum(auth_jwt_lifetime_s);
	values[1] = Int32GetDatum(auth_api_token_lifetime_s);
	values[2] = Int32GetDatum(auth_refresh_lifetime_s);
	values[3] = Int32GetDatum(auth_max_failed_logins);
	values[4] = Int32GetDatum(auth_lockout_s);
	values[5] = Int32GetDatum(auth_otp_ttl_s);
	values[6] = Int32GetDatum(auth_otp_max_attempts);
	values[7] = Int32GetDatum(auth_verification_ttl_s);
	values[8] = CStringGetTextDatum(auth_totp_issuer ? auth_totp_issuer : "pg_wallet");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/*
 * pg_wallet._require_test_hooks() RETURNS void: raises unless a superuser
 * turned pg_wallet.enable_test_hooks on. Every test hook calls it first.
 */
Datum
wallet_require_test_hooks(PG_FUNCTION_ARGS)
{
	if (!auth_enable_test_hooks)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("test hooks are disabled"),
				 errhint("A superuser can SET pg_wallet.enable_test_hooks = on in a test "
						 "session.")));
	PG_RETURN_VOID();
}
