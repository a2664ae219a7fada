/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  Every pg_wallet.* setting (GUC), defined in this one place, once per
 *	  process, by _PG_init.
 *
 * Owns: the C variables behind the settings (declared in settings.h and
 * read where they are used), their names, defaults, bounds and contexts,
 * and the reservation of the "pg_wallet" prefix: once the library is
 * loaded, a misspelt pg_wallet.* name is an error, not a silent placeholder.
 *
 * Never: defines a setting lazily (at an entry point); defines a
 * PGC_POSTMASTER setting unless the library is being preloaded: PostgreSQL
 * refuses, with FATAL, to define one after start-up, which is when a
 * library that is not preloaded is loaded (by CREATE EXTENSION or a first
 * function call); test/t/002_partners_without_preload.pl runs that mode.
 *
 * Contexts: the identity settings are PGC_SUSET (superuser only: an API
 * role that could lengthen its own token lifetime, move the clock or turn
 * on the test hooks would defeat the checks they govern); the worker
 * settings are PGC_SIGHUP; the payment settings PGC_SUSET (an API role
 * that could widen its own dispute window would defeat it); the two that decide whether and where the workers
 * start are PGC_POSTMASTER. A value SET before the library loads is a
 * placeholder that the definition adopts, after checking that whoever set
 * it may set the parameter.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "settings.h"

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

char	   *wallet_worker_database = NULL;
bool		wallet_workers_enabled = true;
char	   *router_database = NULL;
int			router_recovery_interval_s = 5;

int			outbox_batch_size = 100;
int			outbox_max_in_flight = 200;
int			outbox_timeout_ms = 10000;
int			outbox_max_attempts = 8;
int			outbox_backoff_base_ms = 5000;
int			outbox_backoff_max_ms = 36000000;
int			outbox_poll_ms = 60000;
int			expiry_interval_s = 60;
int			expiry_batch_size = 1000;

int			dispute_window_days = 120;
int			dispute_response_days = 10;

/* Ten years either way: enough to expire anything, not enough to overflow. */
#define AUTH_OFFSET_MAX_S	(10 * 366 * 86400)

/* One integer setting without check or assign hooks. */
static void
define_int(const char *name, const char *desc, int *var, int boot, int min, int max,
		   GucContext context, int flags)
{
	DefineCustomIntVariable(name, desc, NULL, var, boot, min, max, context, flags,
							NULL, NULL, NULL);
}

/* Identity and authentication: PGC_SUSET. */
static void
define_identity_settings(void)
{
	define_int("pg_wallet.jwt_lifetime_s",
			   "Lifetime of access tokens issued by login (Tribble: 86400).",
			   &auth_jwt_lifetime_s, 86400, 60, 30 * 86400, PGC_SUSET, GUC_UNIT_S);
	define_int("pg_wallet.api_token_lifetime_s",
			   "Lifetime of access tokens issued for an API key (Sellapay: 3600).",
			   &auth_api_token_lifetime_s, 3600, 60, 86400, PGC_SUSET, GUC_UNIT_S);
	define_int("pg_wallet.refresh_lifetime_s",
			   "Lifetime of a refresh token.",
			   &auth_refresh_lifetime_s, 30 * 86400, 300, 366 * 86400, PGC_SUSET, GUC_UNIT_S);
	define_int("pg_wallet.max_failed_logins",
			   "Failed logins in a row that lock a principal.",
			   &auth_max_failed_logins, 5, 1, 100, PGC_SUSET, 0);
	define_int("pg_wallet.lockout_s",
			   "How long a principal stays locked after too many failed logins.",
			   &auth_lockout_s, 900, 1, 86400, PGC_SUSET, GUC_UNIT_S);
	define_int("pg_wallet.otp_ttl_s",
			   "Lifetime of a one-time code sent by email, SMS or WhatsApp.",
			   &auth_otp_ttl_s, 180, 30, 3600, PGC_SUSET, GUC_UNIT_S);
	define_int("pg_wallet.otp_max_attempts",
			   "Wrong codes allowed against one OTP (or in a row against TOTP).",
			   &auth_otp_max_attempts, 5, 1, 10, PGC_SUSET, 0);
	define_int("pg_wallet.verification_ttl_s",
			   "Lifetime of a verification token (cashier spec: 300).",
			   &auth_verification_ttl_s, 300, 30, 3600, PGC_SUSET, GUC_UNIT_S);
	define_int("pg_wallet.test_now_offset_s",
			   "Tests only: seconds added to the authentication clock.",
			   &auth_test_now_offset_s, 0, -AUTH_OFFSET_MAX_S, AUTH_OFFSET_MAX_S,
			   PGC_SUSET, GUC_UNIT_S);
	DefineCustomBoolVariable("pg_wallet.enable_test_hooks",
							 "Tests only: allow the test hooks (e.g. reading a sent OTP).",
							 NULL, &auth_enable_test_hooks, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_wallet.totp_issuer",
							   "Issuer shown by authenticator apps for TOTP secrets.",
							   NULL, &auth_totp_issuer, "pg_wallet",
							   PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * Whether and where the workers start: PGC_POSTMASTER, so defined only
 * while the library is being preloaded (see the file header).
 */
static void
define_postmaster_settings(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable("pg_wallet.database",
							   "Database the pg_wallet background workers serve.",
							   NULL, &wallet_worker_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_wallet.workers_enabled",
							 "Start the outbox and expiry workers (needs a restart).",
							 NULL, &wallet_workers_enabled, true,
							 PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_wallet.router_database",
							   "Database of a scale-out router (pg_wallet_router) whose "
							   "cross-node transfers the recovery worker resolves; empty: none.",
							   NULL, &router_database, "",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

/* The outbox and expiry workers: PGC_SIGHUP, read again at the next reload. */
static void
define_worker_settings(void)
{
	define_int("pg_wallet.outbox_batch_size",
			   "Outbox rows claimed in one transaction.",
			   &outbox_batch_size, 100, 1, 1000, PGC_SIGHUP, 0);
	define_int("pg_wallet.outbox_max_in_flight",
			   "HTTP requests the outbox worker keeps in flight at once.",
			   &outbox_max_in_flight, 200, 1, OUTBOX_MAX_IN_FLIGHT_LIMIT, PGC_SIGHUP, 0);
	define_int("pg_wallet.outbox_timeout_ms",
			   "Time limit of one delivery attempt (a partner may set its own).",
			   &outbox_timeout_ms, 10000, 100, 300000, PGC_SIGHUP, GUC_UNIT_MS);
	define_int("pg_wallet.outbox_max_attempts",
			   "Attempts before an outbox row is dead-lettered.",
			   &outbox_max_attempts, 8, 1, 100, PGC_SIGHUP, 0);
	define_int("pg_wallet.outbox_backoff_base_ms",
			   "Delay before the first retry; doubled after each attempt.",
			   &outbox_backoff_base_ms, 5000, 10, 3600000, PGC_SIGHUP, GUC_UNIT_MS);
	define_int("pg_wallet.outbox_backoff_max_ms",
			   "Longest delay between two attempts.",
			   &outbox_backoff_max_ms, 36000000, 10, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS);
	define_int("pg_wallet.outbox_poll_ms",
			   "Longest sleep of the idle outbox worker (commits wake it at once).",
			   &outbox_poll_ms, 60000, 100, 3600000, PGC_SIGHUP, GUC_UNIT_MS);
	define_int("pg_wallet.expiry_interval_s",
			   "Seconds between two expiry sweeps; 0 disables the sweeps.",
			   &expiry_interval_s, 60, 0, 86400, PGC_SIGHUP, GUC_UNIT_S);
	define_int("pg_wallet.expiry_batch_size",
			   "Rows of each kind one expiry sweep handles at most.",
			   &expiry_batch_size, 1000, 1, 100000, PGC_SIGHUP, 0);
	define_int("pg_wallet.router_recovery_interval_s",
			   "Seconds between two recovery passes of the router's worker; 0 pauses it.",
			   &router_recovery_interval_s, 5, 0, 3600, PGC_SIGHUP, GUC_UNIT_S);
}

/* Payments (PGC_SUSET): read by sql/payments/disputes.sql with current_setting(). */
static void
define_payment_settings(void)
{
	define_int("pg_wallet.dispute_window_days",
			   "Days after a payment completed during which its customer may dispute it.",
			   &dispute_window_days, 120, 1, 540, PGC_SUSET, 0);
	define_int("pg_wallet.dispute_response_days",
			   "Days a merchant has to answer a dispute; it is resolved within three times that.",
			   &dispute_response_days, 10, 1, 60, PGC_SUSET, 0);
}

/*
 * Define every pg_wallet.* setting, then reserve the prefix. Called once,
 * by _PG_init.
 */
void
settings_define(void)
{
	define_identity_settings();
	define_postmaster_settings();
	define_worker_settings();
	define_payment_settings();
	MarkGUCPrefixReserved("pg_wallet");
}
