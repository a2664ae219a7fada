/*-------------------------------------------------------------------------
 *
 * router.h
 *	  The scale-out router's recovery worker (router_worker.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_WALLET_ROUTER_H
#define PG_WALLET_ROUTER_H

#include "postgres.h"

extern PGDLLEXPORT void wallet_router_main(Datum arg);
extern void router_register_worker(void);

#endif							/* PG_WALLET_ROUTER_H */
