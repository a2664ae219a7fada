/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  Helpers shared by pg_wallet's background workers (worker_util.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_WALLET_WORKER_H
#define PG_WALLET_WORKER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"

extern void worker_start(int kind, const char *name);
extern void worker_reload_config(void);
extern bool worker_run(void (*fn) (void *), void *arg, const char *what);
extern bool worker_extension_ready(void);
extern bool worker_extension_installed(const char *name);
extern long worker_ms_until(TimestampTz last, int interval_s);
extern int64 worker_sql_int64(const char *sql, int nargs, Oid *argtypes, Datum *values);
extern int64 worker_plan_int64(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
							   Datum *values);

#endif							/* PG_WALLET_WORKER_H */
