/*-------------------------------------------------------------------------
 *
 * module.c
 *	  Module entry point of the pg_wallet extension.
 *
 * Owns: the module magic block and _PG_init (the money rules plugged into
 * the posting core, the partners' fraud alert sink plugged into the rules,
 * settings, shared memory and the background workers).
 * Never: business logic, or a setting defined anywhere but src/settings.c.
 *
 * Without shared_preload_libraries the ledger, identity and every SQL
 * function work as usual in the calling backend; only what needs a
 * background worker (queueing partner calls, whose delivery needs the
 * outbox worker) refuses, with a hint (WL073). Preloaded, _PG_init also
 * reserves the outbox's shared memory and registers the launcher, which
 * starts the outbox and expiry workers in pg_wallet.database; on a scale-out
 * router (pg_wallet.router_database set) it registers the recovery worker of
 * cross-node transfers (scale/router_worker.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "core/pg_wallet.h"
#include "partners/events.h"
#include "partners/outbox.h"
#include "rules/rules.h"
#include "scale/router.h"
#include "settings.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load. As pg_cron does: nothing under binary upgrade; settings
 * always (those that need a restart only when preloaded: settings.c);
 * shared memory and workers only when preloaded.
 */
void
_PG_init(void)
{
	rules_register();
	events_register();
	if (IsBinaryUpgrade)
		return;
	settings_define();
	if (!process_shared_preload_libraries_in_progress)
		return;
	wallet_preloaded = true;
	outbox_shmem_init_hooks();
	if (wallet_workers_enabled)
		wallet_register_launcher();
	if (router_database != NULL && router_database[0] != '\0')
		router_register_worker();
}
