/*
 * profile_partners.c — the partners profile: where payment partners deliver their callbacks
 * over HTTP (docs/bridge.md, "Profile: partner callbacks").
 *
 * Owns: which method and path (under partners_base_path, default /partners) call which SQL
 * function, the rate of a partner's address, and that these routes are raw-body routes (the
 * body goes to the database byte for byte, with the signature headers: http.c). Statuses and
 * the error body are the WaaS profile's ({"error": {"code", "message"}}, src/errors.tsv's WaaS
 * column). Must never check a signature, a token or a body's meaning: that is
 * pg_wallet.partner_callback and pg_wallet.mpesa_callback (sql/partners/callbacks.sql), which
 * the same callbacks reach over SQL.
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "wallet_errors.h"

/*
 * No token: a callback carries its own proof (a Standard Webhooks signature, or Daraja's URL
 * token). Per address: a partner's servers are few and send in bursts.
 */
static const Route partners_routes[] = {
	{LWSHUMETH_POST, "/:id/callback", "api_partner_callback", 200, AUTH_NONE, 600, 1, 0, 1},
	{LWSHUMETH_POST, "/:id/mpesa/:key", "api_mpesa_callback", 200, AUTH_NONE, 600, 1, 0, 1},
};

static const StatusMap partners_statuses[] = {
	PGW_WL_STATUSES_WAAS
	{"23505", 409}, {"54000", 400}, {"57014", 504}, {"22", 400},
};

static int
partners_status_for(const char *sqlstate)
{
	return profile_status(partners_statuses,
						  sizeof(partners_statuses) / sizeof(partners_statuses[0]), sqlstate);
}

Profile		partners_profile = {
	"partners", NULL, partners_routes, sizeof(partners_routes) / sizeof(partners_routes[0]),
	partners_status_for, waas_render_error, 0
};
