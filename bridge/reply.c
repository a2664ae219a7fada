/*
 * reply.c — the outcome of a request in its profile's shape, for any transport.
 *
 * Owns: reading the row the pool's one query returns (error code, error message, error body,
 * result, and the "_bridge" object: owner, event cursor, more, silent, rate, principal), the
 * HTTP status of a raised or returned SQLSTATE (the profile's map), the error body (the
 * profile's shape, the WaaS shape outside any profile), the bound on a reply's size, the 499
 * of a client that went away, and telling limits.c whom the database resolved (and its
 * limits). A transport passes the function that sends the shaped reply (ReplySend). Must
 * never send or write anything itself, never know a transport, and never decide an outcome
 * (the SQL function did).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

#define REPLY_TOO_LARGE \
	"{\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"reply too large\"}}"

/* Hand a reply to the transport, or a 500 when it exceeds response_bytes_max. */
void
reply_send(RequestSlot *s, int status, const char *body, size_t len, ReplySend send)
{
	if (len > s->reply_cap)
	{
		status = 500;
		body = REPLY_TOO_LARGE;
		len = strlen(body);
	}
	send(s, status, body, len);
}

/* An error reply in the profile's shape (the WaaS shape outside any profile). */
void
reply_error(RequestSlot *s, int status, const char *code, const char *msg, const char *detail,
			ReplySend send)
{
	char		body[PGW_MESSAGE_MAX * 5];
	const Profile *p = s->profile ? s->profile : &waas_profile;
	size_t		n = p->render_error(body, sizeof(body), status, code, msg, detail,
									s->error_field[0] ? s->error_field : NULL,
									s->request_id);

	if (n == 0)
	{
		strcpy(body, "{\"error\":\"error\"}");
		n = strlen(body);
	}
	reply_send(s, status, body, n, send);
}

/* The "_bridge" object's columns. */
static void
reply_bridge_fields(RequestSlot *s, PGresult *res)
{
	s->bridge_owner_id = PQgetisnull(res, 0, 4) ? 0 : strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	s->bridge_last_event_id = PQgetisnull(res, 0, 5) ? -1 :
		strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	s->bridge_more = !PQgetisnull(res, 0, 6) && !strcmp(PQgetvalue(res, 0, 6), "true");
	s->bridge_silent = !PQgetisnull(res, 0, 7) && !strcmp(PQgetvalue(res, 0, 7), "true");
	s->bridge_stream_owner_id = PQgetisnull(res, 0, 10) ? 0 :
		strtoll(PQgetvalue(res, 0, 10), NULL, 10);
	/* the cashier web sign-in's session cookie (cookie.c), from that profile's calls only */
	if (s->profile == &cashier_profile && !PQgetisnull(res, 0, 11) && !PQgetisnull(res, 0, 12))
		cookie_set(s, PQgetvalue(res, 0, 11), PQgetvalue(res, 0, 12));
}

/* A document route's result, rendered (document.c), or a 500 when it cannot be. */
static void
reply_document(RequestSlot *s, const char *json, size_t len, ReplySend send)
{
	char	   *out;
	size_t		n;
	const char *content_type;

	if (document_render(s, json, len, &out, &n, &content_type) < 0)
	{
		reply_error(s, 500, "INTERNAL_ERROR", "internal error", NULL, send);
		return;
	}
	s->content_type = content_type;
	reply_send(s, s->route->success_status, out, n, send);
	free(out);
}

/* A row came back: the result, or a returned refusal. */
static void
reply_row(RequestSlot *s, PGresult *res, ReplySend send)
{
	int			status;

	reply_bridge_fields(s, res);
	if (PQgetisnull(res, 0, 0))
	{
		/* the caller the database resolved and its limits ("S/H/D") count its next requests */
		limits_learn(s, s->route->success_status,
					 PQgetisnull(res, 0, 9) ? NULL : PQgetvalue(res, 0, 9),
					 PQgetisnull(res, 0, 8) ? NULL : PQgetvalue(res, 0, 8));
		if (s->route->document)
			reply_document(s, PQgetvalue(res, 0, 3), (size_t) PQgetlength(res, 0, 3), send);
		else
			reply_send(s, s->route->success_status, PQgetvalue(res, 0, 3),
					   (size_t) PQgetlength(res, 0, 3), send);
		return;
	}
	/* a returned refusal: its own body, the result as is, or the profile's shape */
	snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", PQgetvalue(res, 0, 0));
	status = s->profile->status_for(s->sqlstate);
	limits_learn(s, status, NULL, NULL);
	if (!PQgetisnull(res, 0, 2))
		reply_send(s, status, PQgetvalue(res, 0, 2), (size_t) PQgetlength(res, 0, 2), send);
	else if (s->profile == &waas_profile)
		reply_send(s, status, PQgetvalue(res, 0, 3), (size_t) PQgetlength(res, 0, 3), send);
	else
		reply_error(s, status, s->sqlstate, PQgetisnull(res, 0, 1) ? "refused" :
					PQgetvalue(res, 0, 1), NULL, send);
}

/* The result of pg_wallet.<fn>(...): row (error code, error message, jsonb) or an error. */
void
reply_result(RequestSlot *s, PGresult *res, ReplySend send)
{
	const char *state, *msg, *detail, *column;
	int			status;

	if (!s->client)
	{
		s->status = 499;		/* client closed the connection before the reply */
		slot_release(s);
		return;
	}
	/*
	 * columns (pool.c): error code, error message, error body, the result without its
	 * "_bridge" object, and that object's owner_id, last_event_id, more, silent, rate,
	 * principal, stream_owner_id, cookie, cookie_max_age
	 */
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		PQnfields(res) == 13)
	{
		reply_row(s, res, send);
		return;
	}
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state ? state : "XX000");
	status = s->profile->status_for(s->sqlstate);
	limits_learn(s, status, NULL, NULL);
	if (status >= 500 || !msg)
	{
		if (status < 500)
			status = 500;
		log_msg("error", "request %s: %s failed with %s", s->request_id, s->route->function,
				s->sqlstate);
		msg = status == 504 ? "the request took too long" : "internal error";
	}
	/* the API functions name the request field a refusal is about (RAISE ... COLUMN) */
	column = res ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) : NULL;
	if (status < 500 && column && strlen(column) < sizeof(s->error_field))
		strcpy(s->error_field, column);
	reply_error(s, status, status == 504 ? "TIMEOUT" : s->sqlstate, msg,
				status >= 500 ? NULL : detail, send);
}
