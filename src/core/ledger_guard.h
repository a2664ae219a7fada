/*-------------------------------------------------------------------------
 *
 * ledger_guard.h
 *	  The single writer of the ledger (ledger_guard.c): the posting store
 *	  runs its write statements through ledger_guard_execute(); the triggers
 *	  on the ledger tables refuse every other write.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_WALLET_LEDGER_GUARD_H
#define PG_WALLET_LEDGER_GUARD_H

#include "postgres.h"
#include "executor/spi.h"

/* SPI_execute_plan (read_only = false) with the ledger tables open to it. */
extern int	ledger_guard_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
								 long tcount);

#endif							/* PG_WALLET_LEDGER_GUARD_H */
