/*
 * profile_waas.c — the Wallet-as-a-Service profile (wallet-as-a-service-api.md).
 *
 * Owns: which method and path (under waas_base_path, default /waas/api/v1) call which SQL
 * API function, the status of a success, the HTTP statuses of the standard SQLSTATEs (the
 * wallet's own codes are in src/errors.tsv) and the error body {"error": {"code",
 * "message"}} with public codes. Must never validate a field or decide an outcome: that is
 * pg_wallet.api_waas_*() in sql/api/waas.sql.
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "wallet_errors.h"

static const Route waas_routes[] = {
	{LWSHUMETH_POST, "/auth/login", "api_waas_login", 200, AUTH_PASSWORD, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/clients", "api_waas_create_client", 201, AUTH_BEARER, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/accounts", "api_waas_create_account", 201, AUTH_BEARER, 0, 0, 0, 0},
	{LWSHUMETH_GET, "/accounts/:id/balance", "api_waas_get_balance", 200, AUTH_BEARER, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/client-services", "api_waas_create_client_service", 201, AUTH_BEARER,
	0, 0, 0, 0},
	{LWSHUMETH_POST, "/transactions", "api_waas_transaction", 201, AUTH_BEARER, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/transactions/:id", "api_waas_reverse", 201, AUTH_BEARER, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/account-transfers", "api_waas_transfer", 201, AUTH_BEARER, 0, 0, 0, 0},
};

/* the wallet's codes from src/errors.tsv, then the standard SQLSTATEs */
static const StatusMap waas_statuses[] = {
	PGW_WL_STATUSES_WAAS
	{"23505", 409}, {"54000", 400}, {"57014", 504}, {"22", 400},
};

static int
waas_status_for(const char *sqlstate)
{
	return profile_status(waas_statuses, sizeof(waas_statuses) / sizeof(waas_statuses[0]),
						  sqlstate);
}

/*
 * {"error": {"code", "message"[, "details": [{"field", "message"}]]}}: the code's public name
 * (a WL code's name and listed meaning; INVALID_REQUEST, CONFLICT, ... for the standard
 * SQLSTATEs), never a SQLSTATE or the ledger's wording. The partners profile answers in this
 * shape too.
 */
size_t
waas_render_error(char *dst, size_t cap, int status, const char *code, const char *message,
				  const char *detail, const char *field, const char *request_id)
{
	char		esc[PGW_MESSAGE_MAX * 2], fld[PGW_FIELD_MAX * 2], cod[6 * 32 + 1];
	const char *pub, *meaning = message;
	int			n;

	(void) request_id;
	(void) status;
	(void) detail;
	pub = profile_public_code(code, &meaning);
	if (status < 500)
		message = meaning;		/* a 5xx keeps the bridge's "internal error" */
	if (json_escape(esc, sizeof(esc), message, strnlen(message, PGW_MESSAGE_MAX)) ==
		(size_t) -1)
		strcpy(esc, "error");
	/* escaped too: a code a function returns is text the bridge did not write (fuzz_router) */
	if (json_escape(cod, sizeof(cod), pub, strnlen(pub, 32)) == (size_t) -1)
		strcpy(cod, "INTERNAL_ERROR");
	if (!field || json_escape(fld, sizeof(fld), field, strlen(field)) == (size_t) -1)
		fld[0] = '\0';
	if (fld[0])
		n = snprintf(dst, cap, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\","
					 "\"details\":[{\"field\":\"%s\",\"message\":\"%s\"}]}}",
					 cod, esc, fld, esc);
	else
		n = snprintf(dst, cap, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", cod,
					 esc);
	return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}

Profile		waas_profile = {
	"waas", NULL, waas_routes, sizeof(waas_routes) / sizeof(waas_routes[0]),
	waas_status_for, waas_render_error, 0
};
