/*
 * http.c — the HTTP transport of the bridge: one request from its headers to its reply.
 *
 * Owns: the HTTP side of a request slot (its sink: the pool's outcome becomes a reply written
 * on the connection), X-Request-ID, bounds on the path, the Authorization header, the body
 * and its JSON (depth, fields), routing to a profile, rate limits, the jsonb envelope passed
 * as $2 ({"request_id","path","query","body"}), the request context passed as $3 (the peer
 * address, User-Agent, X-Device-Id; never X-Forwarded-For), the reply headers (status,
 * X-Request-ID, X-Process-Time, X-RateLimit-*), /healthz and /metrics (the gauges it passes to metrics.c),
 * and the client connections: the per-address caps (peer.c counts), the open_sockets gauge,
 * a strict HTTP/1.1 reading of the framing headers (one Content-Length of digits only, no
 * Transfer-Encoding with it, no whitespace before the colon of a header we or lws read: 400
 * and close), and request bodies read into the connection under a total deadline and a
 * minimum rate before a request slot (and so a pool connection) is taken.
 * Must never know another transport (ws.c gets its lws reasons from main.c), never look
 * inside a body beyond checking it is bounded JSON, never decide an outcome (the SQL function
 * does), and never log headers or bodies.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

static const BridgeConfig *http_cfg;
int			http_shutting_down;

static void http_on_result(RequestSlot *s, PGresult *res);
static void http_error(RequestSlot *s, int status, const char *code, const char *msg);
static void http_on_release(RequestSlot *s);

/* What the HTTP transport registers on its slots: the pool hands outcomes to these. */
static const SlotSink http_sink = {http_on_result, http_error, http_on_release};

void
http_init(struct lws_context *ctx, const BridgeConfig *cfg)
{
	http_cfg = cfg;
	client_init(ctx, cfg);
	limits_init(cfg);
}

void
http_free(void)
{
	client_free();
}

/* The slot's request is over: the address has one request less in flight. */
static void
http_on_release(RequestSlot *s)
{
	peer_inflight_done(s->peer);
	s->peer = NULL;
}

/* X-Request-ID: the client's when it is short and plain, otherwise a new one (slot.c). */
static void
http_request_id(struct lws *wsi, RequestSlot *s)
{
	char		given[PGW_REQUEST_ID_MAX];

	slot_request_id(s, given, lws_hdr_custom_copy(wsi, given, sizeof(given), "x-request-id:",
												  13));
}

/* ReplySend of HTTP: put the reply in the slot and ask to write it. */
static void
http_send(RequestSlot *s, int status, const char *body, size_t len)
{
	if (!s->static_body)		/* a static file is sent from its cached copy */
		memcpy(s->reply + LWS_PRE, body, len);
	s->reply_len = len;
	s->status = status;
	s->state = SLOT_REPLY_HEADERS;
	if (s->client)
		lws_callback_on_writable(s->client);
	else
		slot_release(s);
}

/* An error of the bridge in the profile's shape (SlotSink.on_error of HTTP). */
static void
http_error(RequestSlot *s, int status, const char *code, const char *msg)
{
	reply_error(s, status, code, msg, NULL, http_send);
}

/* The pool's result for the slot (SlotSink.on_result of HTTP). */
static void
http_on_result(RequestSlot *s, PGresult *res)
{
	reply_result(s, res, http_send);
}

/* The envelope up to "body": (slot.c) with the query arguments; -1 when too many or long. */
static int
args_begin(struct lws *wsi, RequestSlot *s, const RouteParams *params)
{
	char		query[PGW_QUERY_ARGS_MAX][1024];
	int			count = 0;

	while (lws_hdr_copy_fragment(wsi, query[count < PGW_QUERY_ARGS_MAX ? count : 0],
								 sizeof(query[0]), WSI_TOKEN_HTTP_URI_ARGS, count) > 0)
		if (++count > PGW_QUERY_ARGS_MAX)
			return -1;
	return slot_args_begin(s, params, s->route->auth == AUTH_API_KEY, query, count);
}

/* A partner callback's signature headers (Standard Webhooks), kept in the slot (slot.c). */
static void
read_callback_headers(struct lws *wsi, RequestSlot *s)
{
	static const char *const names[] = {"webhook-id", "webhook-timestamp", "webhook-signature"};
	char		values[3][PGW_CALLBACK_HEADER_MAX + 1];
	char	   *v[3];

	for (int i = 0; i < 3; i++)
	{
		char		name[32];
		int			len;

		snprintf(name, sizeof(name), "%s:", names[i]);
		len = lws_hdr_custom_length(wsi, name, (int) strlen(name));
		values[i][0] = '\0';
		if (len > 0 && len <= PGW_CALLBACK_HEADER_MAX &&
			lws_hdr_custom_copy(wsi, values[i], sizeof(values[i]), name,
								(int) strlen(name)) != len)
			values[i][0] = '\0';
		v[i] = values[i];
	}
	slot_callback_headers(s, names, v, 3);
}

/*
 * A route's ":key" segment is a credential (Daraja's callback token): the path kept for the
 * log names it "(redacted)" from there on. Called once the route is found.
 */
static void
redact_key(RequestSlot *s, const RouteParams *params)
{
	char	   *at = NULL;

	for (char *p = s->path; params->key[0] && (p = strstr(p, params->key)) != NULL; p++)
		at = p;
	if (at)
		snprintf(at, sizeof(s->path) - (size_t) (at - s->path), "(redacted)");
}

/* The body is complete: check it, close the envelope, send it to the pool. */
static void
request_submit(RequestSlot *s, size_t prefix_len)
{
	const char *why = NULL;
	size_t		n = prefix_len;
	int			rc;
	LimitRefusal refusal;

	if (s->body_len == 0)
	{
		memcpy(s->body, "{}", 3);
		s->body_len = 2;
	}
	s->body[s->body_len] = '\0';
	if (json_check(s->body, s->body_len, http_cfg->json_depth_max, http_cfg->json_fields_max,
				   &why) != 0)
	{
		http_error(s, 400, "INVALID_JSON", why ? why : "malformed JSON");
		return;
	}
	if (s->route->raw_body ?
		(slot_args_add_text(s, &n, s->body, s->body_len) ||
		 slot_args_add(s, &n, ",\"headers\":", 11) ||
		 slot_args_add(s, &n, s->callback_headers, strlen(s->callback_headers))) :
		slot_args_add(s, &n, s->body, s->body_len))
	{
		http_error(s, 413, "PAYLOAD_TOO_LARGE", "request too large");
		return;
	}
	if (slot_args_add(s, &n, "}", 1))
	{
		http_error(s, 413, "PAYLOAD_TOO_LARGE", "request too large");
		return;
	}
	if (!limits_submit(s, &refusal))
	{
		reply_error(s, refusal.status, refusal.code, refusal.message, NULL, http_send);
		return;
	}
	rc = pool_submit(s);
	if (rc == -2)
		http_error(s, 503, "SERVICE_UNAVAILABLE", "database unavailable");
	else if (rc != 0)
		http_error(s, 503, "SERVICE_UNAVAILABLE", "too many requests in flight");
}

static void
reply_health(RequestSlot *s)
{
	char		body[160];
	int			ready = pool_ready();

	snprintf(body, sizeof(body), "{\"status\":\"%s\",\"pool_ready\":%d,\"pool_size\":%d}",
			 ready > 0 ? "ok" : "unavailable", ready, pool_size());
	reply_send(s, ready > 0 ? 200 : 503, body, strlen(body), http_send);
}

static void
reply_metrics(RequestSlot *s)
{
	MetricsGauges g = {pool_size(), pool_ready(), pool_busy(), pool_queued(), slot_inflight()};
	size_t		n = metrics_render(s->reply + LWS_PRE, s->reply_cap, &g);

	s->content_type = "text/plain; version=0.0.4";
	s->reply_len = n;
	s->status = n ? 200 : 500;
	s->state = SLOT_REPLY_HEADERS;
	lws_callback_on_writable(s->client);
}

/* The request's budgets (limits.c): 0 when refused, and the refusal is sent. */
static int
limits_pass(struct lws *wsi, RequestSlot *s)
{
	char		peer[128];
	LimitRefusal r;

	lws_get_peer_simple(wsi, peer, sizeof(peer));
	if (limits_check(s, peer, &r))
		return 1;
	reply_error(s, r.status, r.code, r.message, r.detail[0] ? r.detail : NULL, http_send);
	return 0;
}

/* The route's credentials: API key and secret, or the bearer token, bounded. 0 when refused. */
static int
read_credentials(struct lws *wsi, RequestSlot *s)
{
	if (s->route->auth == AUTH_API_KEY)
	{
		/*
		 * a key or secret longer than any issued is a wrong one: the database answers it as
		 * it answers every wrong key, in the profile's words, and counts the attempt
		 */
		if (lws_hdr_custom_length(wsi, "x-api-key:", 10) >= PGW_CRED_MAX ||
			lws_hdr_custom_length(wsi, "x-api-secret:", 13) >= PGW_CRED_MAX)
		{
			strcpy(s->api_key, "(too long)");
			strcpy(s->api_secret, "(too long)");
			return 1;
		}
		if (lws_hdr_custom_copy(wsi, s->api_key, sizeof(s->api_key), "x-api-key:", 10) < 0)
			s->api_key[0] = '\0';
		if (lws_hdr_custom_copy(wsi, s->api_secret, sizeof(s->api_secret), "x-api-secret:",
								13) < 0)
			s->api_secret[0] = '\0';
	}
	/* the web page's sign-in sets the cookie: only for a page of this bridge (login CSRF) */
	if (s->profile == &cashier_profile && !cookie_same_origin(wsi))
	{
		http_error(s, 403, "FORBIDDEN", "sign in from the cashier page of this server");
		return 0;
	}
	if (s->route->auth == AUTH_COOKIE)
	{
		/* the web page's session: its cookie, from a page of this bridge (cookie.c) */
		s->has_token = cookie_bearer(wsi, s->token, sizeof(s->token));
		return 1;
	}
	if (s->route->auth == AUTH_BEARER)
	{
		int			n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);

		if (n >= PGW_TOKEN_MAX)
		{
			http_error(s, 401, "WL022", "access token is malformed");
			return 0;
		}
		s->has_token = n > 0 &&
			lws_hdr_copy(wsi, s->token, sizeof(s->token), WSI_TOKEN_HTTP_AUTHORIZATION) >= 0;
		if (!s->has_token)
			s->token[0] = '\0';
	}
	return 1;
}

/*
 * Framing headers that a proxy in front and this server must read alike. lws 4.1.6 takes a
 * known header name followed by whitespace before the colon for an unknown header (so it
 * would ignore "Transfer-Encoding : chunked" that a proxy may honour); it has no way to list
 * unknown headers, so these are the names looked for, each with a space or a tab.
 */
static const char *const spaced_names[] = {
	"content-length :", "content-length\t:", "transfer-encoding :", "transfer-encoding\t:",
	"host :", "host\t:", "authorization :", "authorization\t:", "connection :",
	"connection\t:", "upgrade :", "upgrade\t:", "expect :", "expect\t:", "te :", "te\t:",
	"x-api-key :", "x-api-key\t:", "x-api-secret :", "x-api-secret\t:", "trailer :",
	"trailer\t:", "content-type :", "content-type\t:",
};

/*
 * The strict HTTP/1.1 stance on framing (RFC 9112 §6): NULL when the headers are fine, with
 * *content_length set (0 when absent); otherwise why the request is refused (400, close).
 */
static const char *
http_strict(struct lws *wsi, long *content_length)
{
	char		text[32];
	int			n;

	*content_length = 0;
	for (size_t i = 0; i < sizeof(spaced_names) / sizeof(spaced_names[0]); i++)
		if (lws_hdr_custom_length(wsi, spaced_names[i], (int) strlen(spaced_names[i])) >= 0)
			return "whitespace before a header colon";
	if (lws_hdr_copy_fragment(wsi, text, sizeof(text), WSI_TOKEN_HTTP_CONTENT_LENGTH, 1) >= 0 ||
		lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, 1) > 0)
		return "more than one Content-Length";
	n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	if (n > 0)
	{
		if (n > 18 || lws_hdr_copy(wsi, text, sizeof(text), WSI_TOKEN_HTTP_CONTENT_LENGTH) != n ||
			strspn(text, "0123456789") != (size_t) n)
			return "Content-Length is not a number";
		*content_length = strtol(text, NULL, 10);
		if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
			return "Transfer-Encoding with Content-Length";
	}
	return NULL;
}

/* The address's in-flight cap, the credentials and the rate limits: 0 when refused. */
static int
request_admit(struct lws *wsi, RequestSlot *s, HttpConn *c)
{
	if (!peer_inflight_take(c ? c->peer : NULL, http_cfg->inflight_per_ip))
	{
		http_error(s, 429, "RATE_LIMITED", "too many requests in flight from this address");
		return 0;
	}
	s->peer = c ? c->peer : NULL;
	if (!read_credentials(wsi, s))
		return 0;
	return limits_pass(wsi, s);
}

/*
 * The request's id, method and path, kept in the slot; 0 when the path is empty or too long
 * (414, sent). refusal: why http_strict refused the headers, or NULL.
 */
static int
request_path(struct lws *wsi, RequestSlot *s, const char *refusal, int *method)
{
	char	   *uri;
	int			uri_len;

	http_request_id(wsi, s);
	*method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
	s->method = *method;
	if (uri_len <= 0 || uri_len >= PGW_PATH_MAX)
	{
		snprintf(s->path, sizeof(s->path), "(too long)");
		s->close_after = refusal != NULL;
		http_error(s, 414, "URI_TOO_LONG", "path too long");
		return 0;
	}
	memcpy(s->path, uri, (size_t) uri_len);
	s->path[uri_len] = '\0';
	return 1;
}

/*
 * What the bridge answers itself, before any route: a refusal of the headers, /healthz,
 * /metrics and the static files. 1 when the reply is sent.
 */
static int
request_local(RequestSlot *s, const char *refusal, int method)
{
	if (refusal)
	{
		s->close_after = 1;		/* the rest of the stream cannot be trusted */
		http_error(s, 400, "BAD_REQUEST", refusal);
		return 1;
	}
	if (!strcmp(s->path, "/healthz") && method == LWSHUMETH_GET)
	{
		reply_health(s);
		return 1;
	}
	if (!strcmp(s->path, "/metrics") && method == LWSHUMETH_GET)
	{
		reply_metrics(s);
		return 1;
	}
	return static_reply(s, method, s->path, http_send);
}

/*
 * The profile's route for the request, then admission (request_admit), the request context
 * and a callback's signature headers. 0 when refused (the reply is sent).
 */
static int
request_route(struct lws *wsi, RequestSlot *s, HttpConn *c, int method, const char *subpath,
			  RouteParams *params)
{
	if (s->profile)
	{
		s->route = profile_route(s->profile, method, subpath, params);
		redact_key(s, params);
	}
	if (!s->route)
	{
		http_error(s, 404, "NOT_FOUND", "no such endpoint");
		return 0;
	}
	if (!request_admit(wsi, s, c))
		return 0;
	{
		ClientContext ctx;		/* the request context of fraud scoring (context.c) */

		context_read(wsi, &ctx);
		slot_context(s, &ctx);
	}
	if (s->route->raw_body)
		read_callback_headers(wsi, s);
	return 1;
}

/*
 * The envelope up to "body" and the bounds on the body's framing: the envelope's length, or
 * -1 when refused (the reply is sent).
 */
static int
request_prefix(struct lws *wsi, RequestSlot *s, const RouteParams *params,
			   long content_length)
{
	int			prefix = args_begin(wsi, s, params);

	if (prefix < 0)
	{
		http_error(s, 414, "URI_TOO_LONG", "too many or too long query arguments");
		return -1;
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
	{
		s->close_after = 1;		/* a chunked body is not read: send Content-Length */
		http_error(s, 411, "LENGTH_REQUIRED", "Content-Length is required");
		return -1;
	}
	if ((size_t) content_length > http_cfg->body_bytes_max)
	{
		s->close_after = 1;
		http_error(s, 413, "PAYLOAD_TOO_LARGE", "request body too large");
		return -1;
	}
	return prefix;
}

/*
 * The headers are in, and the body if there is one (body_ready): route, bound, answer or
 * send to the pool. refusal: why http_strict refused the headers, or NULL.
 */
static int
request_start(struct lws *wsi, RequestSlot *s, HttpConn *c, const char *refusal,
			  long content_length, int body_ready)
{
	int			method;
	RouteParams params = {"", ""};
	const char *subpath = NULL;
	int			prefix;

	if (!request_path(wsi, s, refusal, &method))
		return 0;
	if (http_shutting_down)
		s->close_after = 1;
	s->profile = profile_find(s->path, &subpath);
	if (request_local(s, refusal, method))
		return 0;
	if (!request_route(wsi, s, c, method, subpath, &params))
		return 0;
	prefix = request_prefix(wsi, s, &params, content_length);
	if (prefix < 0)
		return 0;
	if (!body_ready)
		s->body_len = 0;
	request_submit(s, (size_t) prefix);
	return 0;
}

static int
add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		   unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *) name,
									   (const unsigned char *) value, (int) strlen(value),
									   p, end);
}

/* X-Process-Time and the X-RateLimit-* headers, when the profile and route want them. */
static int
extra_headers(struct lws *wsi, RequestSlot *s, unsigned char **p, unsigned char *end)
{
	char		v[32];

	if (s->profile && s->profile->process_time_header)
	{
		snprintf(v, sizeof(v), "%llums",
				 (unsigned long long) ((now_us() - s->started_us) / 1000));
		if (add_header(wsi, "x-process-time:", v, p, end))
			return -1;
	}
	/* a static file (static.c): its own policy; no type sniffing */
	if (s->static_csp &&
		(add_header(wsi, "content-security-policy:", s->static_csp, p, end) ||
		 add_header(wsi, "x-content-type-options:", "nosniff", p, end)))
		return -1;
	/* a rendered document (document.c): no script, nothing fetched, no type sniffing */
	if (!s->static_csp && strncmp(s->content_type, "text/html", 9) == 0 &&
		(add_header(wsi, "content-security-policy:",
					"default-src 'none'; style-src 'unsafe-inline'", p, end) ||
		 add_header(wsi, "x-content-type-options:", "nosniff", p, end)))
		return -1;
	if (s->set_cookie[0] && add_header(wsi, "set-cookie:", s->set_cookie, p, end))
		return -1;
	if (s->retry_after_s > 0)
	{
		snprintf(v, sizeof(v), "%d", s->retry_after_s);
		if (add_header(wsi, "retry-after:", v, p, end))
			return -1;
	}
	if (s->rl_limit == 0)
		return 0;
	snprintf(v, sizeof(v), "%d", s->rl_limit);
	if (add_header(wsi, "x-ratelimit-limit:", v, p, end))
		return -1;
	snprintf(v, sizeof(v), "%d", s->rl_remaining);
	if (add_header(wsi, "x-ratelimit-remaining:", v, p, end))
		return -1;
	snprintf(v, sizeof(v), "%ld", s->rl_reset);
	return add_header(wsi, "x-ratelimit-reset:", v, p, end);
}

/*
 * libwebsockets 4.1 writes a reason phrase for 200 and the error statuses only, and leaves
 * "HTTP/1.1 201 " bare: complete a 201's status line ("201 Created", as the specs show it).
 * An HTTP/2 reply has no status line (":status" only) and is left alone.
 */
static int
reason_phrase(unsigned char *start, unsigned char **p, unsigned char *end, int status)
{
	static const char created[] = "Created";
	const size_t len = sizeof(created) - 1;
	unsigned char *eol = start + 13;	/* after "HTTP/1.1 201 " */

	if (status != 201 || *p - start < 15 || memcmp(start, "HTTP/1.", 7) != 0 ||
		memcmp(start + 8, " 201 \r\n", 7) != 0)
		return 0;
	if (end - *p < (ptrdiff_t) len)
		return -1;
	memmove(eol + len, eol, (size_t) (*p - eol));
	memcpy(eol, created, len);
	*p += len;
	return 0;
}

static int
write_reply(struct lws *wsi, RequestSlot *s)
{
	unsigned char *start = s->headers + LWS_PRE, *p = start;
	unsigned char *end = s->headers + sizeof(s->headers) - 1;

	if (s->state == SLOT_REPLY_HEADERS)
	{
		if (lws_add_http_common_headers(wsi, (unsigned int) s->status, s->content_type,
										(lws_filepos_t) s->reply_len, &p, end) ||
			reason_phrase(start, &p, end, s->status) ||
			lws_add_http_header_by_name(wsi, (const unsigned char *) "x-request-id:",
										(const unsigned char *) s->request_id,
										(int) strlen(s->request_id), &p, end) ||
			(s->close_after &&
			 lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
										  (const unsigned char *) "close", 5, &p, end)) ||
			extra_headers(wsi, s, &p, end) ||
			lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		s->state = SLOT_REPLY_BODY;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (s->state != SLOT_REPLY_BODY)
		return 0;
	if (lws_write(wsi, (unsigned char *) (s->static_body ? s->static_body : s->reply) + LWS_PRE,
				  s->reply_len, LWS_WRITE_HTTP_FINAL) != (int) s->reply_len)
		return -1;
	return 1;
}

/* A slot for the request; 503 (and close) when none is free. */
static RequestSlot *
http_slot(struct lws *wsi, HttpSession *pss, int reserved)
{
	RequestSlot *s = reserved ? slot_acquire_reserved(&http_sink, wsi) :
		slot_acquire(&http_sink, wsi);

	if (!s)
	{
		lws_return_http_status(wsi, 503, "too many requests in flight");
		return NULL;
	}
	pss->slot = s;
	return s;
}

/*
 * The headers are in. A POST with a body is read into the connection first (no slot yet);
 * anything else takes a slot now. /healthz and /metrics may take the reserved slots.
 */
static int
http_request(struct lws *wsi, HttpSession *pss, HttpConn *c)
{
	long		content_length;
	const char *refusal = http_strict(wsi, &content_length);
	char	   *uri;
	int			uri_len, method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
	int			ops = method == LWSHUMETH_GET && uri_len > 0 &&
		((uri_len == 8 && !strncmp(uri, "/healthz", 8)) ||
		 (uri_len == 8 && !strncmp(uri, "/metrics", 8)));
	RequestSlot *s;

	if (!refusal && (method == LWSHUMETH_POST || method == LWSHUMETH_PUT) &&
		content_length > 0 &&
		(size_t) content_length <= http_cfg->body_bytes_max &&
		lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) == 0)
	{
		client_read_begin(c, (size_t) content_length);
		return 0;
	}
	if (!(s = http_slot(wsi, pss, ops)))
		return -1;
	return request_start(wsi, s, c, refusal, content_length, 0);
}

/* The whole body is in: now a slot, and the request goes on. */
static int
http_body_complete(struct lws *wsi, HttpSession *pss, HttpConn *c)
{
	RequestSlot *s;
	size_t		n = c->body_len;

	if (!c->reading)
		return 0;
	if (n != c->body_expected)
		return -1;
	if (!(s = http_slot(wsi, pss, 0)))
	{
		client_read_end(c);
		return -1;
	}
	memcpy(s->body, c->body, n);
	s->body_len = n;
	client_read_end(c);
	return request_start(wsi, s, c, NULL, (long) n, 1);
}

/*
 * The connection can take more of the reply: write it. Once all of it is written the slot
 * is released, and the connection closes or waits for its next request.
 */
static int
http_writeable(struct lws *wsi, HttpSession *pss, RequestSlot *s)
{
	int			rc, close_after;

	if (!s)
		return 0;
	rc = write_reply(wsi, s);
	if (rc <= 0)
		return rc;
	close_after = s->close_after || http_shutting_down;
	pss->slot = NULL;
	slot_release(s);
	if (close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* The connection is gone: end a body being read, and let go of the slot if it has one. */
static void
http_closed(struct lws *wsi, HttpSession *pss, RequestSlot *s)
{
	HttpConn   *c;

	if ((c = lws_get_opaque_user_data(wsi)))
		client_read_end(c);
	if (s)
	{
		pss->slot = NULL;
		s->client = NULL;
		/* a running query keeps the slot: http_on_result releases it */
		if (s->state != SLOT_RUNNING)
		{
			pool_forget(s);
			s->status = s->status ? s->status : 499;
			slot_release(s);
		}
	}
}

static int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			  size_t len)
{
	HttpSession *pss = user;
	RequestSlot *s = pss ? pss->slot : NULL;
	HttpConn   *c;

	switch (reason)
	{
		case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
			return client_filter(user);
		case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
			return client_open(wsi);
		case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
			/* HTTP/1.1 and WebSocket only: an h2c upgrade is hung up */
			return in && !strcmp(in, "websocket") ? 0 : -1;
		case LWS_CALLBACK_WSI_DESTROY:
			client_close(wsi);
			return 0;
		case LWS_CALLBACK_HTTP:
			if (s || !pss)
				return -1;		/* a second request before the first was answered */
			if (!lws_get_opaque_user_data(wsi) && client_open(wsi) != 0)
				return -1;		/* (every accepted socket has its record already) */
			return http_request(wsi, pss, lws_get_opaque_user_data(wsi));
		case LWS_CALLBACK_HTTP_BODY:
			c = lws_get_opaque_user_data(wsi);
			if (!c || !c->reading || s)
				return 0;		/* a body after a refusal, or of a GET: dropped */
			if (client_read(c, in, len) != 0)
			{
				client_read_end(c);
				return -1;
			}
			return 0;
		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
			c = lws_get_opaque_user_data(wsi);
			if (!c || s)
				return 0;
			return http_body_complete(wsi, pss, c);
		case LWS_CALLBACK_HTTP_WRITEABLE:
			return http_writeable(wsi, pss, s);
		case LWS_CALLBACK_CLOSED_HTTP:
			http_closed(wsi, pss, s);
			break;
		default:
			break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols http_protocol = {
	"http", http_callback, sizeof(HttpSession), 0, 0, NULL, 0
};
