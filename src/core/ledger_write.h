/*-------------------------------------------------------------------------
 *
 * ledger_write.h
 *	  The posting core's writes, without SQL statements (ledger_write.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEDGER_WRITE_H
#define LEDGER_WRITE_H

#include "core/ledger_batch.h"

extern void write_journals(Batch *b);
extern void write_entries(Batch *b);
extern void write_accounts(Batch *b);

#endif							/* LEDGER_WRITE_H */
