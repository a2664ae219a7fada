/*
 * profile_cashier.c — the cashier WebSocket profile (cashier-websocket-api.md).
 *
 * Owns: the calls a cashier session makes (api_cashier_connect when the socket opens,
 * api_cashier_message for each message, api_cashier_events to read the events after the
 * session's cursor when its owner is notified), the statuses of the standard SQLSTATEs (the
 * wallet's own codes are in src/errors.tsv; only 4xx versus 5xx matters: a refused connect
 * closes the socket) and the error frame
 * {"type": "error", "data": {"message"}, "timestamp"}. Must never read a message's type or
 * data: pg_wallet.api_cashier_*() in sql/api/cashier.sql does.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "wallet_errors.h"

const Route cashier_connect_route = {-1, "", "api_cashier_connect", 200, AUTH_BEARER, 0, 0, 0, 0};
const Route cashier_message_route = {-1, "", "api_cashier_message", 200, AUTH_BEARER, 0, 0, 0, 0};
const Route cashier_events_route = {-1, "", "api_cashier_events", 200, AUTH_BEARER, 0, 0, 0, 0};

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
	char		esc[PGW_MESSAGE_MAX * 2];
	int			n;

	(void) request_id;
	(void) status;
	(void) code;
	(void) detail;
	(void) field;
	if (json_escape(esc, sizeof(esc), message, strnlen(message, PGW_MESSAGE_MAX)) ==
		(size_t) -1)
		strcpy(esc, "error");
	n = snprintf(dst, cap, "{\"type\":\"error\",\"data\":{\"message\":\"%s\"},\"timestamp\":%ld}",
				 esc, (long) time(NULL));
	return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}

Profile		cashier_profile = {
	"cashier", NULL, NULL, 0, cashier_status_for, cashier_render_error, 0
};
