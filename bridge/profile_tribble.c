/*
 * profile_tribble.c — the Tribble REST profile (tribble-rest-api.md), the endpoints whose
 * functions exist so far: auth (register, login, refresh-token, logout, kyc-status,
 * submit-kyc), the user's profile (read, update, change-password), wallets (list, one),
 * wallets/fund, payment methods (add, list, remove), payments (pay, list, one) and their
 * refunds (refund, list), a transaction's fraud risk score, the admins' fraud analytics,
 * merchants (registration, profile, settlement, analytics, dashboard, KYC review), disputes
 * (open, evidence, read, resolution), airtime top-ups (providers, top-up, history),
 * subscriptions (plans, enrolment, pause, resume, cancel, lists, metrics) and receipts (a
 * transaction's signed receipt, and the receipt rendered for people: document.c).
 *
 * Owns: its routes under tribble_base_path (default /tribble/api/v1), the HTTP statuses of the
 * standard SQLSTATEs (the wallet's own codes and their errorCode are in src/errors.tsv) and
 * the error body {"statusCode", "errorCode", "message", "details": {"field", "message"},
 * "timestamp", "requestId"} (never a SQLSTATE), errorCode otherwise named after the status
 * as the spec's table does, and
 * the 429 body {"statusCode", "errorCode", "message", "retryAfter", "resetAt"}. The routes
 * with a token are limited per token by what the API functions report for the caller's KYC
 * tier (RATE_TIERED: "_bridge": {"rate": "S/H/D"}); the bridge holds no tier table.
 * Must never validate a field or decide an outcome: that is pg_wallet.api_tribble_*() in
 * sql/api/tribble.sql.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "wallet_errors.h"

static const Route tribble_routes[] = {
	{LWSHUMETH_POST, "/auth/register", "api_tribble_register", 201, AUTH_PASSWORD, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/auth/login", "api_tribble_login", 200, AUTH_PASSWORD, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/auth/refresh-token", "api_tribble_refresh", 200, AUTH_NONE, 0, 0, 0, 0},
	{LWSHUMETH_POST, "/auth/logout", "api_tribble_logout", 200, AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/auth/kyc-status", "api_tribble_kyc_status", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/auth/submit-kyc", "api_tribble_submit_kyc", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/users/profile", "api_tribble_me", 200, AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_PUT, "/users/profile", "api_tribble_update_profile", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/users/change-password", "api_tribble_change_password", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/users/me", "api_tribble_me", 200, AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/wallets", "api_tribble_wallets", 200, AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/wallets/fund", "api_tribble_fund", 201, AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/wallets/:id", "api_tribble_wallet", 200, AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/transactions", "api_tribble_pay", 201, AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/transactions", "api_tribble_transactions", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/transactions/:id", "api_tribble_transaction", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/transactions/:id/refund", "api_tribble_refund", 201, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/transactions/:id/refunds", "api_tribble_refunds", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/payment-methods", "api_tribble_payment_method_add", 201, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/payment-methods", "api_tribble_payment_methods", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_DELETE, "/payment-methods/:id", "api_tribble_payment_method_remove", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/transactions/:id/risk-score", "api_tribble_risk_score", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/admin/fraud/analytics", "api_tribble_admin_fraud_analytics", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/transactions/:id/receipt", "api_tribble_receipt", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/transactions/:id/receipt/generate", "api_tribble_receipt_generate", 201,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/merchants/register", "api_tribble_merchant_register", 201, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/merchants/:id", "api_tribble_merchant", 200, AUTH_BEARER, RATE_TIERED, 0,
	0, 0},
	{LWSHUMETH_POST, "/merchants/:id/settlement", "api_tribble_merchant_settlement", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/merchants/:id/analytics", "api_tribble_merchant_analytics", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/merchants/:id/dashboard", "api_tribble_merchant_dashboard", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/admin/merchants/pending-kyc", "api_tribble_admin_merchants_pending", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/admin/merchants/:id/approve", "api_tribble_admin_merchant_approve", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/admin/merchants/:id/reject", "api_tribble_admin_merchant_reject", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/transactions/:id/dispute", "api_tribble_dispute_open", 201, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/disputes/:id/evidence", "api_tribble_dispute_evidence", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/disputes/:id", "api_tribble_dispute", 200, AUTH_BEARER, RATE_TIERED, 0, 0,
	0},
	{LWSHUMETH_PUT, "/disputes/:id/resolution", "api_tribble_dispute_resolution", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/bills/airtime/providers", "api_tribble_airtime_providers", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/bills/airtime/topup", "api_tribble_airtime_topup", 201, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/bills/topups", "api_tribble_airtime_topups", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/subscription-plans", "api_tribble_plan_create", 201, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/subscription-plans/:id", "api_tribble_plan", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_POST, "/subscriptions", "api_tribble_subscribe", 201, AUTH_BEARER, RATE_TIERED,
	0, 0, 0},
	{LWSHUMETH_GET, "/subscriptions/:id", "api_tribble_subscription", 200, AUTH_BEARER,
	RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_PUT, "/subscriptions/:id/pause", "api_tribble_subscription_pause", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_PUT, "/subscriptions/:id/resume", "api_tribble_subscription_resume", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_PUT, "/subscriptions/:id/cancel", "api_tribble_subscription_cancel", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/customers/:id/subscriptions", "api_tribble_customer_subscriptions", 200,
	AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	{LWSHUMETH_GET, "/merchants/:id/subscription-metrics", "api_tribble_subscription_metrics",
	200, AUTH_BEARER, RATE_TIERED, 0, 0, 0},
	/* a receipt for people (HTML or PDF): the URL's token is the capability, no bearer */
	{LWSHUMETH_GET, "/receipts/:id", "api_tribble_receipt_file", 200, AUTH_NONE, 120, 1, 1, 0},
};

/* the wallet's codes from src/errors.tsv, then the standard SQLSTATEs */
static const StatusMap tribble_statuses[] = {
	PGW_WL_STATUSES_TRIBBLE
	{"23505", 409}, {"22", 400}, {"54000", 400}, {"57014", 504},
};

/* A wallet code's errorCode from src/errors.tsv, given with the status it is answered with */
typedef struct TribbleCode
{
	const char *sqlstate;
	int			status;
	const char *error_code;
} TribbleCode;

static const TribbleCode tribble_codes[] = {
	PGW_WL_TRIBBLE_CODES
};

static int
tribble_status_for(const char *sqlstate)
{
	return profile_status(tribble_statuses,
						  sizeof(tribble_statuses) / sizeof(tribble_statuses[0]), sqlstate);
}

/*
 * The errorCode of a reply: the list's name for a wallet code answered with its own status,
 * else the spec's name for the status (standard SQLSTATEs, the bridge's own refusals). Also
 * socket.io's CONNECT_ERROR (sio_socket.c): one public name per refusal in both transports.
 */
const char *
tribble_error_code(int status, const char *code)
{
	for (size_t i = 0; i < sizeof(tribble_codes) / sizeof(tribble_codes[0]); i++)
		if (tribble_codes[i].status == status && strcmp(tribble_codes[i].sqlstate, code) == 0)
			return tribble_codes[i].error_code;
	switch (status)
	{
		case 400:
			return "INVALID_REQUEST";
		case 401:
			return "UNAUTHORIZED";
		case 402:
			return "INSUFFICIENT_FUNDS";
		case 403:
			return "FORBIDDEN";
		case 404:
			return "NOT_FOUND";
		case 405:
			return "METHOD_NOT_ALLOWED";
		case 409:
			return "CONFLICT";
		case 413:
			return "PAYLOAD_TOO_LARGE";
		case 422:
			return "UNPROCESSABLE_ENTITY";
		case 429:
			return "RATE_LIMITED";
		case 503:
			return "SERVICE_UNAVAILABLE";
		case 504:
			return "GATEWAY_TIMEOUT";
		default:
			return status >= 500 ? "INTERNAL_SERVER_ERROR" : "INVALID_REQUEST";
	}
}

static size_t
tribble_render_error(char *dst, size_t cap, int status, const char *code, const char *message,
					 const char *detail, const char *field, const char *request_id)
{
	char		msg[PGW_MESSAGE_MAX * 2];
	char		det[PGW_MESSAGE_MAX * 2];
	char		fld[PGW_FIELD_MAX * 2];
	char		rid[PGW_REQUEST_ID_MAX * 2];
	char		ts[32];
	time_t		now = time(NULL);
	struct tm	tm;
	int			n;

	if (json_escape(msg, sizeof(msg), message, strnlen(message, PGW_MESSAGE_MAX)) ==
		(size_t) -1)
		strcpy(msg, "error");
	if (!detail ||
		json_escape(det, sizeof(det), detail, strnlen(detail, PGW_MESSAGE_MAX)) == (size_t) -1)
		det[0] = '\0';
	if (!field || json_escape(fld, sizeof(fld), field, strlen(field)) == (size_t) -1)
		fld[0] = '\0';
	if (!request_id ||
		json_escape(rid, sizeof(rid), request_id, strnlen(request_id, PGW_REQUEST_ID_MAX)) ==
		(size_t) -1)
		rid[0] = '\0';
	if (status == 429 && detail)
	{
		/* detail: the reset time in epoch seconds (http.c, tiered_check) */
		time_t		reset = (time_t) strtol(detail, NULL, 10);

		if (reset < now)
			reset = now;
		gmtime_r(&reset, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(dst, cap,
					 "{\"statusCode\":429,\"errorCode\":\"RATE_LIMITED\",\"message\":\"%s\","
					 "\"retryAfter\":%ld,\"resetAt\":\"%s\",\"requestId\":\"%s\"}",
					 msg, (long) (reset - now > 0 ? reset - now : 1), ts, rid);
		return n > 0 && (size_t) n < cap ? (size_t) n : 0;
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* details as the spec's example: {"field", "message"}, the field when one is named */
	n = snprintf(dst, cap,
				 "{\"statusCode\":%d,\"errorCode\":\"%s\",\"message\":\"%s\","
				 "\"details\":{%s%s%s\"message\":\"%s\"%s%s%s},\"timestamp\":\"%s\","
				 "\"requestId\":\"%s\"}",
				 status, tribble_error_code(status, code), msg,
				 fld[0] ? "\"field\":\"" : "", fld, fld[0] ? "\"," : "", msg,
				 det[0] ? ",\"detail\":\"" : "", det, det[0] ? "\"" : "", ts, rid);
	return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}

Profile		tribble_profile = {
	"tribble", NULL, tribble_routes, sizeof(tribble_routes) / sizeof(tribble_routes[0]),
	tribble_status_for, tribble_render_error, 0
};
