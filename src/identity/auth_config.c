/*-------------------------------------------------------------------------
 *
 * auth_config.c
 *	  Settings of the authentication code (GUCs pg_wallet.*), its clock, and
 *	  the gate of the test-only hooks.
 *
 * Owns: the pg_wallet.* authentication GUCs, auth_now() (the one clock every
 * expiry decision of the auth code uses), the SQL functions _auth_now(),
 * _auth_config() and _require_test_hooks().
 *
 * Never: lets a non-superuser change a setting. Every setting is PGC_SUSET:
 * an API role that could lengthen its own token lifetime, move the clock or
 * turn on the test hooks would defeat the checks they govern.
 *
 * The GUCs are defined on first use by any auth entry point (and by
 * _PG_init, should it call auth_define_gucs()): a value SET before that is
 * a placeholder that the definition adopts, after checking that whoever set
 * it may set a PGC_SUSET parameter.
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
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "identity/auth.h"

PG_FUNCTION_INFO_V1(wallet_auth_now);
PG_FUNCTION_INFO_V1(wallet_auth_config);
PG_FUNCTION_INFO_V1(wallet_require_test_hooks);

int			auth_jwt_lifetime_s = 86400;
int			auth_api_token_lifetime_s = 3600;
int			auth_refresh_lifetime_s = 30 * 86400;
int			auth_max_failed_logins = 5;
int			auth_lockout_s = 900;
int			auth_otp_ttl_s = 180;
int			auth_otp_max_attempts = 5;
int			auth_verification_ttl_s = 300;
int			auth_test_now_offset_s = 0;
bool		auth_enable_test_hooks = false;
char	   *auth_totp_issuer = NULL;

static bool auth_gucs_defined = false;

/* Ten years either way: enough to expire anything, not enough to overflow. */
#define AUTH_OFFSET_MAX_S	(10 * 366 * 86400)

/* Define one PGC_SUSET integer setting in seconds. */
static void
define_seconds(const char *name, const char *desc, int *var, int boot, int min, int max)
{
	DefineCustomIntVariable(name, desc, NULL, var, boot, min, max,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}

/*
 * Define the authentication settings, once per backend. Idempotent; called
 * by every auth entry point before it reads a setting.
 */
void
auth_define_gucs(void)
{
	if (auth_gucs_defined)
		return;
	auth_gucs_defined = true;

	define_seconds("pg_wallet.jwt_lifetime_s",
				   "Lifetime of access tokens issued by login (Tribble: 86400).",
				   &auth_jwt_lifetime_s, 86400, 60, 30 * 86400);
	define_seconds("pg_wallet.api_token_lifetime_s",
				   "Lifetime of access tokens issued for an API key (Sellapay: 3600).",
				   &auth_api_token_lifetime_s, 3600, 60, 86400);
	define_seconds("pg_wallet.refresh_lifetime_s",
				   "Lifetime of a refresh token.",
				   &auth_refresh_lifetime_s, 30 * 86400, 300, 366 * 86400);
	DefineCustomIntVariable("pg_wallet.max_failed_logins",
							"Failed logins in a row that lock a principal.",
							NULL, &auth_max_failed_logins, 5, 1, 100,
							PGC_SUSET, 0, NULL, NULL, NULL);
	define_seconds("pg_wallet.lockout_s",
				   "How long a principal stays locked after too many failed logins.",
				   &auth_lockout_s, 900, 1, 86400);
	define_seconds("pg_wallet.otp_ttl_s",
				   "Lifetime of a one-time code sent by email, SMS or WhatsApp.",
				   &auth_otp_ttl_s, 180, 30, 3600);
	DefineCustomIntVariable("pg_wallet.otp_max_attempts",
							"Wrong codes allowed against one OTP (or in a row against TOTP).",
							NULL, &auth_otp_max_attempts, 5, 1, 10,
							PGC_SUSET, 0, NULL, NULL, NULL);
	define_seconds("pg_wallet.verification_ttl_s",
				   "Lifetime of a verification token (cashier spec: 300).",
				   &auth_verification_ttl_s, 300, 30, 3600);
	define_seconds("pg_wallet.test_now_offset_s",
				   "Tests only: seconds added to the authentication clock.",
				   &auth_test_now_offset_s, 0, -AUTH_OFFSET_MAX_S, AUTH_OFFSET_MAX_S);
	DefineCustomBoolVariable("pg_wallet.enable_test_hooks",
							 "Tests only: allow the test hooks (e.g. reading a sent OTP).",
							 NULL, &auth_enable_test_hooks, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_wallet.totp_issuer",
							   "Issuer shown by authenticator apps for TOTP secrets.",
							   NULL, &auth_totp_issuer, "pg_wallet",
							   PGC_SUSET, 0, NULL, NULL, NULL);
}

/* The authentication clock: transaction start plus the test offset. */
TimestampTz
auth_now(void)
{
	auth_define_gucs();
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

	auth_define_gucs();
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
	auth_define_gucs();
	if (!auth_enable_test_hooks)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("test hooks are disabled"),
				 errhint("A superuser can SET pg_wallet.enable_test_hooks = on in a test "
						 "session.")));
	PG_RETURN_VOID();
}
