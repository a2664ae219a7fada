/*-------------------------------------------------------------------------
 *
 * pg_wallet.c
 *	  Module entry point of the pg_wallet extension.
 *
 * Owns: the module magic block and _PG_init (settings, later the workers).
 * Never: business logic.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "pg_wallet.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load. Nothing needs shared_preload_libraries yet: the posting core
 * runs entirely in the calling backend.
 */
void
_PG_init(void)
{
}
