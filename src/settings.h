/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  Every pg_wallet.* setting (GUC): the C variables behind them, read by
 *	  the code that uses them, and settings_define(), which defines them all
 *	  once from _PG_init (settings.c). docs/operations.md lists them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_WALLET_SETTINGS_H
#define PG_WALLET_SETTINGS_H

#include "postgres.h"

/* Identity and authentication (PGC_SUSET): read by src/identity/ and its SQL. */
extern int	auth_jwt_lifetime_s;
extern int	auth_api_token_lifetime_s;
extern int	auth_refresh_lifetime_s;
extern int	auth_max_failed_logins;
extern int	auth_lockout_s;
extern int	auth_otp_ttl_s;
extern int	auth_otp_max_attempts;
extern int	auth_verification_ttl_s;
extern int	auth_test_now_offset_s;
extern bool auth_enable_test_hooks;
extern char *auth_totp_issuer;

/* Background workers (PGC_POSTMASTER, defined only when preloaded): src/partners/. */
extern char *wallet_worker_database;
extern bool wallet_workers_enabled;
extern char *router_database;
extern int	router_recovery_interval_s;

/* Outbox and expiry workers (PGC_SIGHUP): src/partners/. */
extern int	outbox_batch_size;
extern int	outbox_max_in_flight;
#define OUTBOX_MAX_IN_FLIGHT_LIMIT	1000	/* the bound of pg_wallet.outbox_max_in_flight */
extern int	outbox_timeout_ms;
extern int	outbox_max_attempts;
extern int	outbox_backoff_base_ms;
extern int	outbox_backoff_max_ms;
extern int	outbox_poll_ms;
extern int	expiry_interval_s;
extern int	expiry_batch_size;

/* Payments (PGC_SUSET): read in SQL by sql/payments/disputes.sql. */
extern int	dispute_window_days;
extern int	dispute_response_days;

extern void settings_define(void);

#endif							/* PG_WALLET_SETTINGS_H */
