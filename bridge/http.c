/*
 * http.c — the HTTP side of the bridge: one request from its headers to its reply.
 *
 * Owns: the request slots (all buffers allocated once by http_init), request ids, bounds on
 * the path, the Authorization header, the body and its JSON (depth, fields), routing to a
 * profile, the jsonb envelope passed as $2 ({"request_id","path","query","body"}), the reply
 * (status, X-Request-ID, JSON error body), /healthz and /metrics, and the per-request log
 * line and metrics. Must never look inside a body beyond checking it is bounded JSON, never
 * decide an outcome (the SQL function does), and never log headers or bodies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"

static const BridgeConfig *http_cfg;
static RequestSlot *slots;
static int	n_slots;
static int	n_inflight;
static uint64_t request_seq;
static uint64_t request_salt;
int			http_shutting_down;

int
http_init(const BridgeConfig *cfg)
{
	struct timespec ts;

	http_cfg = cfg;
	n_slots = cfg->inflight_max;
	slots = calloc((size_t) n_slots, sizeof(RequestSlot));
	if (!slots)
		return -1;
	for (int i = 0; i < n_slots; i++)
	{
		RequestSlot *s = &slots[i];

		/* the envelope: the body plus room for ids, path and query arguments */
		s->args_cap = cfg->body_bytes_max + PGW_PATH_MAX * 2 + PGW_QUERY_ARGS_MAX * 1100 + 512;
		s->body = malloc(cfg->body_bytes_max + 1);
		s->args = malloc(s->args_cap);
		s->reply = malloc(LWS_PRE + cfg->response_bytes_max);
		if (!s->body || !s->args || !s->reply)
			return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	request_salt = ((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) ts.tv_sec ^ (uint64_t) getpid();
	return 0;
}

void
http_free(void)
{
	for (int i = 0; slots && i < n_slots; i++)
	{
		free(slots[i].body);
		free(slots[i].args);
		free(slots[i].reply);
	}
	free(slots);
	slots = NULL;
}

int
http_inflight(void)
{
	return n_inflight;
}

RequestSlot *
http_slot_acquire(struct lws *wsi)
{
	for (int i = 0; i < n_slots; i++)
		if (slots[i].state == SLOT_FREE)
		{
			RequestSlot *s = &slots[i];

			s->wsi = wsi;
			s->is_ws = 0;
			s->ws = NULL;
			s->conn = NULL;
			s->next_queued = NULL;
			s->route = NULL;
			s->profile = NULL;
			s->rl_limit = 0;
			s->api_key[0] = '\0';
			s->api_secret[0] = '\0';
			s->body_len = 0;
			s->reply_len = 0;
			s->status = 0;
			s->close_after = 0;
			s->has_token = 0;
			s->sqlstate[0] = '\0';
			s->bridge_owner_id = 0;
			s->bridge_last_event_id = -1;
			s->bridge_more = 0;
			s->bridge_silent = 0;
			s->content_type = "application/json";
			s->started_us = now_us();
			s->state = SLOT_READING;
			n_inflight++;
			return s;
		}
	return NULL;
}

void
http_slot_release(RequestSlot *s)
{
	uint64_t	took = now_us() - s->started_us;

	log_request(s, took);
	metrics_request(s->status, took);
	s->state = SLOT_FREE;
	s->wsi = NULL;
	n_inflight--;
}

/* X-Request-ID: the client's when it is short and plain, otherwise a new one. */
static void
request_id(struct lws *wsi, RequestSlot *s)
{
	char		given[PGW_REQUEST_ID_MAX];
	int			n = lws_hdr_custom_copy(wsi, given, sizeof(given), "x-request-id:", 13);

	if (n > 0 && n < PGW_REQUEST_ID_MAX && strspn(given, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == (size_t) n)
	{
		memcpy(s->request_id, given, (size_t) n + 1);
		return;
	}
	request_seq++;
	/* splitmix64 of a counter: unique per process, not guessable from the previous one */
	{
		uint64_t	z = request_salt + request_seq * 0x9e3779b97f4a7c15ULL;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		snprintf(s->request_id, sizeof(s->request_id), "%016llx", (unsigned long long) z);
	}
}

/* Put a reply in the slot and ask to write it. */
static void
slot_reply(RequestSlot *s, int status, const char *body, size_t len)
{
	if (len > http_cfg->response_bytes_max)
	{
		status = 500;
		body = "{\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"reply too large\"}}";
		len = strlen(body);
	}
	if (s->is_ws)
	{
		ws_deliver(s, status, body, len);
		s->status = status;
		http_slot_release(s);
		return;
	}
	memcpy(s->reply + LWS_PRE, body, len);
	s->reply_len = len;
	s->status = status;
	s->state = SLOT_REPLY_HEADERS;
	if (s->wsi)
		lws_callback_on_writable(s->wsi);
	else
		http_slot_release(s);
}

/* An error reply in the profile's shape (the WaaS shape outside any profile). */
static void
reply_error_detail(RequestSlot *s, int status, const char *code, const char *msg,
				   const char *detail)
{
	char		body[PGW_MESSAGE_MAX * 5];
	const Profile *p = s->profile ? s->profile : &waas_profile;
	size_t		n = p->render_error(body, sizeof(body), status, code, msg, detail,
												s->request_id);

	if (n == 0)
	{
		strcpy(body, "{\"error\":\"error\"}");
		n = strlen(body);
	}
	slot_reply(s, status, body, n);
}

void
http_reply_error(RequestSlot *s, int status, const char *code, const char *msg)
{
	reply_error_detail(s, status, code, msg, NULL);
}

/* The result of pg_wallet.<fn>(...): row (error code, error message, jsonb) or an error. */
void
http_reply_result(RequestSlot *s, PGresult *res)
{
	const char *state, *msg, *detail;
	int			status;

	if (s->is_ws ? !s->ws : !s->wsi)
	{
		s->status = 499;		/* client closed the connection before the reply */
		http_slot_release(s);
		return;
	}
	/*
	 * columns (pool.c): error code, error message, error body, the result without its
	 * "_bridge" object, and that object's owner_id, last_event_id, more, silent, rate
	 */
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		PQnfields(res) == 9)
	{
		/* limits the database reports for this token ("S/H/D"), kept for its next requests */
		if (!PQgetisnull(res, 0, 8) && s->route && s->route->rate_per_min == RATE_TIERED &&
			s->has_token)
			ratelimit_limits_set(s->profile->name, s->token, PQgetvalue(res, 0, 8));
		s->bridge_owner_id = PQgetisnull(res, 0, 4) ? 0 : strtoll(PQgetvalue(res, 0, 4), NULL, 10);
		s->bridge_last_event_id = PQgetisnull(res, 0, 5) ? -1 :
			strtoll(PQgetvalue(res, 0, 5), NULL, 10);
		s->bridge_more = !PQgetisnull(res, 0, 6) && !strcmp(PQgetvalue(res, 0, 6), "true");
		s->bridge_silent = !PQgetisnull(res, 0, 7) && !strcmp(PQgetvalue(res, 0, 7), "true");
		if (PQgetisnull(res, 0, 0))
		{
			slot_reply(s, s->route->success_status, PQgetvalue(res, 0, 3),
					   (size_t) PQgetlength(res, 0, 3));
			return;
		}
		/* a returned refusal: its own body, the result as is, or the profile's shape */
		snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", PQgetvalue(res, 0, 0));
		status = s->profile->status_for(s->sqlstate);
		if (!PQgetisnull(res, 0, 2))
			slot_reply(s, status, PQgetvalue(res, 0, 2), (size_t) PQgetlength(res, 0, 2));
		else if (s->profile == &waas_profile)
			slot_reply(s, status, PQgetvalue(res, 0, 3), (size_t) PQgetlength(res, 0, 3));
		else
			reply_error_detail(s, status, s->sqlstate, PQgetisnull(res, 0, 1) ? "refused" :
							   PQgetvalue(res, 0, 1), NULL);
		return;
	}
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state ? state : "XX000");
	status = s->profile->status_for(s->sqlstate);
	if (status >= 500 || !msg)
	{
		if (status < 500)
			status = 500;
		log_msg("error", "request %s: %s failed with %s", s->request_id, s->route->function,
				s->sqlstate);
		msg = status == 504 ? "the request took too long" : "internal error";
	}
	reply_error_detail(s, status, status == 504 ? "TIMEOUT" : s->sqlstate, msg,
					   status >= 500 ? NULL : detail);
}

/* Append to the envelope; -1 when it would not fit. */
static int
args_add(RequestSlot *s, size_t *n, const char *text, size_t len)
{
	if (*n + len + 1 > s->args_cap)
		return -1;
	memcpy(s->args + *n, text, len);
	*n += len;
	s->args[*n] = '\0';
	return 0;
}

static int
args_add_string(RequestSlot *s, size_t *n, const char *text)
{
	char		esc[2048];
	size_t		k = json_escape(esc, sizeof(esc), text, strlen(text));

	if (k == (size_t) -1)
		return -1;
	return args_add(s, n, "\"", 1) || args_add(s, n, esc, k) || args_add(s, n, "\"", 1);
}

/* {"request_id":"…","path":{"id":"…"},"query":{"k":"v",…},"body": — the body follows. */
static int
args_begin(struct lws *wsi, RequestSlot *s, const char *id)
{
	size_t		n = 0;
	char		frag[1024];
	int			count = 0;

	if (args_add(s, &n, "{\"request_id\":", 14) || args_add_string(s, &n, s->request_id) ||
		args_add(s, &n, ",\"path\":{", 9))
		return -1;
	if (id[0] && (args_add(s, &n, "\"id\":", 5) || args_add_string(s, &n, id)))
		return -1;
	if (args_add(s, &n, "}", 1))
		return -1;
	if (s->route->auth == AUTH_API_KEY)
	{
		if (args_add(s, &n, ",\"credentials\":{", 16))
			return -1;
		if (s->api_key[0] && (args_add(s, &n, "\"api_key\":", 10) ||
							  args_add_string(s, &n, s->api_key)))
			return -1;
		if (s->api_secret[0] && (args_add(s, &n, ",", s->api_key[0] ? 1 : 0) ||
								 args_add(s, &n, "\"api_secret\":", 13) ||
								 args_add_string(s, &n, s->api_secret)))
			return -1;
		if (args_add(s, &n, "}", 1))
			return -1;
	}
	if (args_add(s, &n, ",\"query\":{", 10))
		return -1;
	for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS,
										  i) > 0; i++)
	{
		char	   *eq = strchr(frag, '=');

		if (++count > PGW_QUERY_ARGS_MAX)
			return -1;
		if (eq)
			*eq = '\0';
		if ((count > 1 && args_add(s, &n, ",", 1)) || args_add_string(s, &n, frag) ||
			args_add(s, &n, ":", 1) || args_add_string(s, &n, eq ? eq + 1 : ""))
			return -1;
	}
	if (args_add(s, &n, "},\"body\":", 9))
		return -1;
	s->body_len = 0;
	return (int) n;
}

/* The envelope of a WebSocket message: {"request_id", "body": <the message>}. */
int
http_args_envelope(RequestSlot *s)
{
	size_t		n = 0;

	if (s->body_len == 0)
	{
		memcpy(s->body, "{}", 3);
		s->body_len = 2;
	}
	if (args_add(s, &n, "{\"request_id\":", 14) || args_add_string(s, &n, s->request_id) ||
		args_add(s, &n, ",\"body\":", 8) || args_add(s, &n, s->body, s->body_len) ||
		args_add(s, &n, "}", 1))
	{
		http_reply_error(s, 413, "PAYLOAD_TOO_LARGE", "message too large");
		return -1;
	}
	return 0;
}

void
http_forget_ws(struct WsSession *ws)
{
	for (int i = 0; i < n_slots; i++)
		if (slots[i].state != SLOT_FREE && slots[i].is_ws && slots[i].ws == ws)
			slots[i].ws = NULL;
}

/* The body is complete: check it, close the envelope, send it to the pool. */
static void
request_submit(RequestSlot *s, size_t prefix_len)
{
	const char *why = NULL;
	size_t		n = prefix_len;
	int			rc;

	if (s->body_len == 0)
	{
		memcpy(s->body, "{}", 3);
		s->body_len = 2;
	}
	s->body[s->body_len] = '\0';
	if (json_check(s->body, s->body_len, http_cfg->json_depth_max, http_cfg->json_fields_max,
				   &why) != 0)
	{
		http_reply_error(s, 400, "INVALID_JSON", why ? why : "malformed JSON");
		return;
	}
	if (args_add(s, &n, s->body, s->body_len) || args_add(s, &n, "}", 1))
	{
		http_reply_error(s, 413, "PAYLOAD_TOO_LARGE", "request too large");
		return;
	}
	rc = pool_submit(s);
	if (rc == -2)
		http_reply_error(s, 503, "SERVICE_UNAVAILABLE", "database unavailable");
	else if (rc != 0)
		http_reply_error(s, 503, "SERVICE_UNAVAILABLE", "too many requests in flight");
}

static void
reply_health(RequestSlot *s)
{
	char		body[160];
	int			ready = pool_ready();

	snprintf(body, sizeof(body), "{\"status\":\"%s\",\"pool_ready\":%d,\"pool_size\":%d}",
			 ready > 0 ? "ok" : "unavailable", ready, pool_size());
	slot_reply(s, ready > 0 ? 200 : 503, body, strlen(body));
}

static void
reply_metrics(RequestSlot *s)
{
	size_t		n = metrics_render(s->reply + LWS_PRE, http_cfg->response_bytes_max);

	s->content_type = "text/plain; version=0.0.4";
	s->reply_len = n;
	s->status = n ? 200 : 500;
	s->state = SLOT_REPLY_HEADERS;
	lws_callback_on_writable(s->wsi);
}

/* The route's rate limit: per client address or per token (hashed). 0 when refused. */
static int
rate_check(struct lws *wsi, RequestSlot *s)
{
	char		who[128];
	const char *key = who;

	if (s->route->rate_by_ip)
		lws_get_peer_simple(wsi, who, sizeof(who));
	else
		key = s->has_token ? s->token : "";
	s->rl_limit = s->route->rate_per_min;
	if (ratelimit_take(s->route->function, key, s->rl_limit, &s->rl_remaining, &s->rl_reset))
		return 1;
	s->close_after = 0;
	http_reply_error(s, 429, "RATE_LIMITED", "Too many requests; retry after the reset time");
	return 0;
}

/* A route limited by what the database reported for the token (Tribble: per KYC tier). */
static int
tiered_check(RequestSlot *s)
{
	char		reset[32];

	if (ratelimit_take_tiered(s->profile->name, s->token, &s->rl_limit, &s->rl_remaining,
							  &s->rl_reset))
		return 1;
	s->close_after = 0;
	snprintf(reset, sizeof(reset), "%ld", s->rl_reset);
	/* the detail is the reset time (epoch seconds): the profile's 429 body shows it */
	reply_error_detail(s, 429, "RATE_LIMITED", "Too many requests. Please try again later.",
					   reset);
	return 0;
}

/* The headers are in: route, bound, and either answer or wait for the body. */
static int
request_start(struct lws *wsi, RequestSlot *s)
{
	char	   *uri;
	int			uri_len, method;
	char		id[128] = "";
	char		len_text[32];
	long		content_length = 0;
	const char *subpath = NULL;
	int			prefix;

	request_id(wsi, s);
	method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
	s->method = method;
	if (uri_len <= 0 || uri_len >= PGW_PATH_MAX)
	{
		snprintf(s->path, sizeof(s->path), "(too long)");
		http_reply_error(s, 414, "URI_TOO_LONG", "path too long");
		return 0;
	}
	memcpy(s->path, uri, (size_t) uri_len);
	s->path[uri_len] = '\0';
	if (http_shutting_down)
		s->close_after = 1;
	if (!strcmp(s->path, "/healthz") && method == LWSHUMETH_GET)
	{
		reply_health(s);
		return 0;
	}
	if (!strcmp(s->path, "/metrics") && method == LWSHUMETH_GET)
	{
		reply_metrics(s);
		return 0;
	}
	s->profile = profile_find(s->path, &subpath);
	if (s->profile)
		s->route = profile_route(s->profile, method, subpath, id, sizeof(id));
	if (!s->route)
	{
		http_reply_error(s, 404, "NOT_FOUND", "no such endpoint");
		return 0;
	}
	if (s->route->auth == AUTH_API_KEY)
	{
		if (lws_hdr_custom_length(wsi, "x-api-key:", 10) >= PGW_CRED_MAX ||
			lws_hdr_custom_length(wsi, "x-api-secret:", 13) >= PGW_CRED_MAX)
		{
			http_reply_error(s, 401, "WL020", "Invalid API key or secret code");
			return 0;
		}
		if (lws_hdr_custom_copy(wsi, s->api_key, sizeof(s->api_key), "x-api-key:", 10) < 0)
			s->api_key[0] = '\0';
		if (lws_hdr_custom_copy(wsi, s->api_secret, sizeof(s->api_secret), "x-api-secret:",
								13) < 0)
			s->api_secret[0] = '\0';
	}
	if (s->route->auth == AUTH_BEARER)
	{
		int			n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);

		if (n >= PGW_TOKEN_MAX)
		{
			http_reply_error(s, 401, "WL022", "access token is malformed");
			return 0;
		}
		s->has_token = n > 0 &&
			lws_hdr_copy(wsi, s->token, sizeof(s->token), WSI_TOKEN_HTTP_AUTHORIZATION) >= 0;
		if (!s->has_token)
			s->token[0] = '\0';
	}
	if (s->route->rate_per_min > 0 && !rate_check(wsi, s))
		return 0;
	if (s->route->rate_per_min == RATE_TIERED && s->has_token && !tiered_check(s))
		return 0;
	prefix = args_begin(wsi, s, id);
	if (prefix < 0)
	{
		http_reply_error(s, 414, "URI_TOO_LONG", "too many or too long query arguments");
		return 0;
	}
	s->reply_len = (size_t) prefix;	/* remember the envelope prefix until the reply */
	if (method == LWSHUMETH_POST &&
		lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
	{
		s->close_after = 1;		/* a chunked body is not read: send Content-Length */
		http_reply_error(s, 411, "LENGTH_REQUIRED", "Content-Length is required");
		return 0;
	}
	if (lws_hdr_copy(wsi, len_text, sizeof(len_text), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		content_length = strtol(len_text, NULL, 10);
	if (content_length < 0 || (size_t) content_length > http_cfg->body_bytes_max)
	{
		s->close_after = 1;
		http_reply_error(s, 413, "PAYLOAD_TOO_LARGE", "request body too large");
		return 0;
	}
	if (method != LWSHUMETH_POST || content_length == 0)
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
	if (s->rl_limit == 0)
		return 0;
	snprintf(v, sizeof(v), "%d", s->rl_limit);
	if (add_header(wsi, "x-ratelimit-limit:", v, p, end))
		return -1;
	snprintf(v, sizeof(v), "%d", s->rl_remaining);
	if (add_header(wsi, "x-ratelimit-remaining:", v, p, end))
		return -1;
	snprintf(v, sizeof(v), "%ld", s->rl_reset);
	if (add_header(wsi, "x-ratelimit-reset:", v, p, end))
		return -1;
	if (s->status == 429)
	{
		long		wait_s = s->rl_reset - (long) time(NULL);

		snprintf(v, sizeof(v), "%ld", wait_s > 0 ? wait_s : 1);
		if (add_header(wsi, "retry-after:", v, p, end))
			return -1;
	}
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
	if (lws_write(wsi, (unsigned char *) s->reply + LWS_PRE, s->reply_len,
				  LWS_WRITE_HTTP_FINAL) != (int) s->reply_len)
		return -1;
	return 1;
}

static int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			  size_t len)
{
	HttpSession *pss = user;
	RequestSlot *s = pss ? pss->slot : NULL;
	int			rc, close_after;

	switch (reason)
	{
		case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		case LWS_CALLBACK_ESTABLISHED:
		case LWS_CALLBACK_RECEIVE:
		case LWS_CALLBACK_RECEIVE_PONG:
		case LWS_CALLBACK_SERVER_WRITEABLE:
		case LWS_CALLBACK_CLOSED:
			return ws_callback(wsi, reason, pss, in, len);
		case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
			metrics_socket(1);
			break;
		case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
			metrics_socket(-1);
			break;
		case LWS_CALLBACK_HTTP:
			if (s)
				return -1;		/* a second request before the first was answered */
			s = http_slot_acquire(wsi);
			if (!s)
			{
				lws_return_http_status(wsi, 503, "too many requests in flight");
				return -1;
			}
			pss->slot = s;
			return request_start(wsi, s);
		case LWS_CALLBACK_HTTP_BODY:
			if (!s || s->state != SLOT_READING)
				return 0;
			if (s->body_len + len > http_cfg->body_bytes_max)
			{
				s->close_after = 1;
				http_reply_error(s, 413, "PAYLOAD_TOO_LARGE", "request body too large");
				return 0;
			}
			memcpy(s->body + s->body_len, in, len);
			s->body_len += len;
			return 0;
		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
			if (s && s->state == SLOT_READING)
				request_submit(s, s->reply_len);
			return 0;
		case LWS_CALLBACK_HTTP_WRITEABLE:
			if (!s)
				return 0;
			rc = write_reply(wsi, s);
			if (rc <= 0)
				return rc;
			close_after = s->close_after || http_shutting_down;
			pss->slot = NULL;
			http_slot_release(s);
			if (close_after)
				return -1;
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		case LWS_CALLBACK_CLOSED_HTTP:
			if (s)
			{
				pss->slot = NULL;
				s->wsi = NULL;
				/* a running query keeps the slot: http_reply_result releases it */
				if (s->state != SLOT_RUNNING)
				{
					pool_forget(s);
					s->status = s->status ? s->status : 499;
					http_slot_release(s);
				}
			}
			break;
		default:
			break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols http_protocol = {
	"http", http_callback, sizeof(HttpSession), 0, 0, NULL, 0
};
