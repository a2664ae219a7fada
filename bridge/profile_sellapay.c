/*
 * profile_sellapay.c — the Sellapay profile (sellapay-api.md).
 *
 * Owns: its routes under sellapay_base_path (default /sellapay/api/v1), their rate limits
 * (authorize 10/min per client address, the others 100/min per token), X-Process-Time, the
 * HTTP statuses of the standard SQLSTATEs (the wallet's own codes are in src/errors.tsv) and
 * the error body {"error": "<title>", "message", "details": {}}. Must never validate a field
 * or decide an outcome: that is pg_wallet.api_sellapay_*() in sql/api/sellapay.sql.
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "wallet_errors.h"

static const Route sellapay_routes[] = {
	{LWSHUMETH_POST, "/authorize", "api_sellapay_authorize", 200, AUTH_API_KEY, 10, 1, 0, 0},
	{LWSHUMETH_GET, "/getBalance", "api_sellapay_get_balance", 200, AUTH_BEARER, 100, 0, 0, 0},
	{LWSHUMETH_POST, "/requestStkPush", "api_sellapay_request_stk_push", 200, AUTH_BEARER,
	100, 0, 0, 0},
	{LWSHUMETH_POST, "/sendFundsToMobile", "api_sellapay_send_funds_to_mobile", 200,
	AUTH_BEARER, 100, 0, 0, 0},
	{LWSHUMETH_POST, "/sendFundsToSellapay", "api_sellapay_send_funds_to_sellapay", 200,
	AUTH_BEARER, 100, 0, 0, 0},
	{LWSHUMETH_POST, "/sendFundsToLocalBank", "api_sellapay_send_funds_to_local_bank", 200,
	AUTH_BEARER, 100, 0, 0, 0},
};

/* the wallet's codes from src/errors.tsv, then the standard SQLSTATEs */
static const StatusMap sellapay_statuses[] = {
	PGW_WL_STATUSES_SELLAPAY
	{"22", 400}, {"54000", 400}, {"57014", 503},
};

static int
sellapay_status_for(const char *sqlstate)
{
	return profile_status(sellapay_statuses,
						  sizeof(sellapay_statuses) / sizeof(sellapay_statuses[0]), sqlstate);
}

/*
 * The "error" member of a refusal by its status: the spec's own titles where it shows an
 * error body (400, 401, 402), else the meaning its "HTTP Status Codes" table gives (404,
 * 500, 503), else the standard reason phrase (403 and the bridge's own refusals, which the
 * spec does not list).
 */
static const char *
title(int status)
{
	switch (status)
	{
		case 400:
			return "Validation error";
		case 401:
			return "Invalid or expired access token";
		case 402:
			return "Insufficient balance";
		case 403:
			return "Forbidden";
		case 404:
			return "Not Found";
		case 409:
			return "Conflict";
		case 411:
			return "Length Required";
		case 413:
			return "Payload Too Large";
		case 414:
			return "URI Too Long";
		case 429:
			return "Too Many Requests";
		case 503:
			return "Service Unavailable";
		default:
			return status >= 500 ? "Server Error" : "Bad Request";
	}
}

/* {"error": <title>, "message", "details": {["field",] ["reason"]}} */
static size_t
sellapay_render_error(char *dst, size_t cap, int status, const char *code,
					  const char *message, const char *detail, const char *field,
					  const char *request_id)
{
	char		esc[PGW_MESSAGE_MAX * 2], det[PGW_MESSAGE_MAX * 2], fld[PGW_FIELD_MAX * 2];
	int			n;

	(void) request_id;
	(void) code;
	if (status == 401)
	{
		/* the spec's words, and no reason: why a token failed is not the caller's to learn */
		message = "Please re-authorize to get a new token";
		detail = NULL;
	}
	if (json_escape(esc, sizeof(esc), message, strnlen(message, PGW_MESSAGE_MAX)) ==
		(size_t) -1)
		strcpy(esc, "error");
	if (!detail || json_escape(det, sizeof(det), detail, strnlen(detail, PGW_MESSAGE_MAX)) ==
		(size_t) -1)
		det[0] = '\0';
	if (!field || json_escape(fld, sizeof(fld), field, strlen(field)) == (size_t) -1)
		fld[0] = '\0';
	n = snprintf(dst, cap,
				 "{\"error\":\"%s\",\"message\":\"%s\",\"details\":{%s%s%s%s%s%s%s}}",
				 title(status), esc, fld[0] ? "\"field\":\"" : "", fld, fld[0] ? "\"" : "",
				 fld[0] && det[0] ? "," : "", det[0] ? "\"reason\":\"" : "", det,
				 det[0] ? "\"" : "");
	return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}

Profile		sellapay_profile = {
	"sellapay", NULL, sellapay_routes, sizeof(sellapay_routes) / sizeof(sellapay_routes[0]),
	sellapay_status_for, sellapay_render_error, 1
};
