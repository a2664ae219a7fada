/*
 * profile_cashier.c — the cashier WebSocket profile (cashier-websocket-api.md).
 *
 * Owns: the calls a cashier session makes (api_cashier_connect when the socket opens,
 * api_cashier_message for each message, api_cashier_events to read the events after the
 * session's cursor when its owner is notified), the statuses of the standard SQLSTATEs (the
 * wallet's own codes are in src/errors.tsv; only 4xx versus 5xx matters: a refused connect
 * closes the socket) and the error frame
 * {"type": "error", "data": {"message", "code"}, "timestamp"}; and the REST routes of the
 * cashier web page's sign-in and sign-out under cashier_base_path (its session cookie:
 * cookie.c). Must never read a message's type or data: pg_wallet.api_cashier_*() in
 * sql/api/cashier.sql and cashier_session.sql do.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "wallet_errors.h"

const Route cashier_connect_route = {-1, "", "api_cashier_connect", 200, AUTH_BEARER, 0, 0, 0, 0};
const Route cashier_message_route = {-1, "", "api_cashier_message", 200, AUTH_BEARER, 0, 0, 0, 0};
const Route cashier_events_route = {-1, "", "api_cashier_events", 200, AUTH_BEARER, 0, 0, 0, 0};

/* the web page's session (sql/api/cashier_session.sql) */
static const Route cashier_routes[] = {
	{LWSHUMETH_POST, "/auth/login", "api_cashier_login", 200, AUTH_PASSWORD, 0, 0, 0, 0},
	{LWSHUMETH_GET, "/auth/session", "api_cashier_session", 200, AUTH_COOKIE, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/auth/logout", "api_cashier_logout", 200, AUTH_COOKIE, 0, 0, 0, 0},
	/* a receipt for people (get_receipt's URLs), as Tribble's: the URL's token is the key */
	{LWSHUMETH_GET, "/receipts/:id", "api_tribble_receipt_file", 200, AUTH_NONE, 120, 1, 1, 0},
};

/* the wallet's codes from src/errors.tsv, then the standard SQLSTATE classes */
static const StatusMap cashier_statuses[] = {
	PGW_WL_STATUSES_CASHIER
	{"22", 400}, {"23", 409}, {"54", 400}, {"57014", 504},
};

static int
cashier_status_for(const char *sqlstate)
{
	return profile_status(cashier_statuses,
						  sizeof(cashier_statuses) / sizeof(cashier_statuses[0]), sqlstate);
}

static size_t
cashier_render_error(char *dst, size_t cap, int status, const char *code, const char *message,
					 const char *detail, const char *field, const char *request_id)
{
	char		esc[PGW_MESSAGE_MAX * 2], pub[PGW_FIELD_MAX * 2];
	const char *meaning = NULL;
	/* the refusal's public name: a machine-readable reason beside the spec's message */
	const char *name = profile_public_code(code, &meaning);
	int			n;

	(void) request_id;
	(void) status;
	(void) detail;
	(void) field;
	if (json_escape(esc, sizeof(esc), message, strnlen(message, PGW_MESSAGE_MAX)) ==
		(size_t) -1)
		strcpy(esc, "error");
	/* a name is a SQLSTATE's or the bridge's own, but escape it like any text */
	if (json_escape(pub, sizeof(pub), name, strnlen(name, PGW_FIELD_MAX - 1)) == (size_t) -1)
		strcpy(pub, "ERROR");
	n = snprintf(dst, cap,
				 "{\"type\":\"error\",\"data\":{\"message\":\"%s\",\"code\":\"%s\"},"
				 "\"timestamp\":%ld}", esc, pub, (long) time(NULL));
	return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}

Profile		cashier_profile = {
	"cashier", NULL, cashier_routes, sizeof(cashier_routes) / sizeof(cashier_routes[0]),
	cashier_status_for, cashier_render_error, 0
};
