/*
 * ws.c — WebSocket sessions of the bridge (the cashier profile's transport).
 *
 * Owns: accepting an upgrade only at cashier_path with an Authorization header, a fixed
 * table of sessions (buffers allocated at start-up), reassembling fragmented messages within
 * body_bytes_max, the first call (api_cashier_connect: the JWT is checked before anything
 * else, and a refusal closes the socket with 1008), one SQL call per message
 * (api_cashier_message) through the pool, pushing the owner's durable events (on NOTIFY for
 * the session's owner, api_cashier_events reads them one at a time after the session's
 * cursor; a client resumes with ?last_event_id=N, so one that was offline misses nothing),
 * the per-user message rate limit, a bounded queue
 * of outgoing frames, the inactivity timeout and closing every session on shutdown. Also the
 * stance on the wire: a refused upgrade gets an HTTP status with a JSON body (401
 * "unauthorized" without a usable Authorization header); at most ws_sessions_per_user
 * sessions per user (per token at the handshake, per owner once connected); the server pings
 * a session silent for ws_ping_interval_ms, and a pong, a message or a ping from the client
 * (lws answers it, then hands us a write we did not ask for) is activity; a binary frame
 * closes with 1003 and a message declaring more than body_bytes_max with 1009, at its first
 * bytes (lws tells the frame's remaining length). Each call
 * runs in a request slot that carries this transport's sink (the reply becomes a frame of the
 * session); notifications arrive through the handler registered with pool_on_event.
 * Must never know another transport, never look inside a message beyond checking it is
 * bounded JSON (the SQL function reads its type and data), and never log a frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

#define WS_OUT_MAX 4
#define WS_SWEEP_US 500000

typedef struct WsSession
{
	int			used;
	struct lws *wsi;
	char		token[PGW_TOKEN_MAX];
	int			ready;			/* the connect call succeeded */
	int			closing;		/* close once the queue is written */
	int			close_code;
	char	   *msg;			/* body_bytes_max */
	size_t		msg_len;
	int			msg_too_big;	/* message_append: a part did not fit */
	char	   *out[WS_OUT_MAX];	/* LWS_PRE + response_bytes_max each */
	size_t		out_len[WS_OUT_MAX];
	int			out_head, out_count;
	uint64_t	last_activity_us;
	int			want_write;		/* we asked lws for a writeable callback */
	int			ping_due;		/* send a ping at the next writeable */
	int			pinged;			/* a ping was sent since the last activity */
	ClientContext context;		/* from the handshake: $3 of every call (context.c) */
	long long	owner_id;		/* from the connect call */
	long long	last_event_id;	/* the events cursor; -1 until connected */
	int			fetching;		/* an events call is in flight */
	int			fetch_again;	/* notified meanwhile, or more events to read */
} WsSession;

static const BridgeConfig *ws_cfg;
static struct lws_context *ws_ctx;
static WsSession *sessions;
static int	n_sessions;
static int	n_open;
static lws_sorted_usec_list_t sweep_sul;

static void ws_sweep(lws_sorted_usec_list_t *sul);
static void ws_on_event(const char *payload);
static void ws_on_result(RequestSlot *s, PGresult *res);
static void ws_on_error(RequestSlot *s, int status, const char *code, const char *msg);

/* What the WebSocket transport registers on its slots: the pool hands outcomes to these. */
static const SlotSink ws_sink = {ws_on_result, ws_on_error, NULL};

/* Ask for a writeable callback, and remember that we did. */
static void
ws_wake(WsSession *ws)
{
	ws->want_write = 1;
	lws_callback_on_writable(ws->wsi);
}

/* The client showed it is there: a message, a pong, or a ping. */
static void
ws_active(WsSession *ws)
{
	ws->last_activity_us = now_us();
	ws->pinged = 0;
}

int
ws_init(struct lws_context *ctx, const BridgeConfig *cfg)
{
	ws_cfg = cfg;
	ws_ctx = ctx;
	n_sessions = cfg->ws_sessions_max;
	sessions = calloc((size_t) n_sessions, sizeof(WsSession));
	if (!sessions)
		return -1;
	for (int i = 0; i < n_sessions; i++)
	{
		sessions[i].msg = malloc(cfg->body_bytes_max + 1);
		if (!sessions[i].msg)
			return -1;
		for (int k = 0; k < WS_OUT_MAX; k++)
			if (!(sessions[i].out[k] = malloc(LWS_PRE + cfg->response_bytes_max)))
				return -1;
	}
	if (pool_on_event(ws_on_event) != 0)
		return -1;
	lws_sul_schedule(ctx, 0, &sweep_sul, ws_sweep, WS_SWEEP_US);
	return 0;
}

void
ws_free(void)
{
	if (ws_ctx)
		lws_sul_cancel(&sweep_sul);
	for (int i = 0; sessions && i < n_sessions; i++)
	{
		free(sessions[i].msg);
		for (int k = 0; k < WS_OUT_MAX; k++)
			free(sessions[i].out[k]);
	}
	free(sessions);
	sessions = NULL;
}

int
ws_open_count(void)
{
	return n_open;
}

/* Queue a frame; a full queue closes the session (the client does not read). */
static void
ws_queue(WsSession *ws, const char *text, size_t len)
{
	int			k;

	if (ws->closing && ws->close_code)
		return;
	if (ws->out_count == WS_OUT_MAX || len > ws_cfg->response_bytes_max)
	{
		ws->closing = 1;
		ws->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
		ws_wake(ws);
		return;
	}
	k = (ws->out_head + ws->out_count) % WS_OUT_MAX;
	memcpy(ws->out[k] + LWS_PRE, text, len);
	ws->out_len[k] = len;
	ws->out_count++;
	ws_wake(ws);
}

static void
ws_error_frame(WsSession *ws, const char *message)
{
	char		frame[256];

	snprintf(frame, sizeof(frame),
			 "{\"type\":\"error\",\"data\":{\"message\":\"%s\"},\"timestamp\":%ld}", message,
			 (long) time(NULL));
	ws_queue(ws, frame, strlen(frame));
}

/* Start a call for the session: connect, one message, or an events read. */
static void
ws_call(WsSession *ws, const Route *route, const char *text, size_t len)
{
	RequestSlot *s = slot_acquire(&ws_sink, ws);

	if (!s)
	{
		ws_error_frame(ws, "server busy, retry later");
		if (route == &cashier_connect_route)
			ws->closing = 1;
		if (route == &cashier_events_route)
		{
			ws->fetching = 0;
			ws->fetch_again = 1;	/* retried when a frame is written or on NOTIFY */
		}
		return;
	}
	s->method = -1;
	s->route = route;
	s->profile = &cashier_profile;
	snprintf(s->path, sizeof(s->path), "%s", ws_cfg->cashier_path);
	snprintf(s->request_id, sizeof(s->request_id), "ws%014llx",
			 (unsigned long long) (now_us() & 0xffffffffffffULL));
	memcpy(s->token, ws->token, sizeof(s->token));
	s->has_token = 1;
	slot_context(s, &ws->context);
	memcpy(s->body, text, len);
	s->body_len = len;
	if (slot_args_envelope(s) != 0)
		ws_on_error(s, 413, "PAYLOAD_TOO_LARGE", "message too large");
	else if (pool_submit(s) != 0)
		ws_on_error(s, 503, "SERVICE_UNAVAILABLE", "database unavailable");
}

/* Read the next event after the cursor, unless a read is running or the queue is full. */
static void
ws_fetch(WsSession *ws)
{
	char		body[64];

	if (!ws->ready || ws->closing)
		return;
	if (ws->fetching || ws->out_count >= WS_OUT_MAX - 1)
	{
		ws->fetch_again = 1;
		return;
	}
	ws->fetching = 1;
	ws->fetch_again = 0;
	snprintf(body, sizeof(body), "{\"after_event_id\":%lld}", ws->last_event_id);
	ws_call(ws, &cashier_events_route, body, strlen(body));
}

/*
 * A notification on the LISTEN channel (PoolEventHandler): payload {"event_id", "owner_id",
 * "event_type"} from pg_wallet.emit_event. The sessions of that owner read their new events.
 */
static void
ws_on_event(const char *payload)
{
	const char *o = strstr(payload, "\"owner_id\":");
	long long	owner_id;

	if (!o)
		return;
	owner_id = strtoll(o + 11, NULL, 10);
	for (int i = 0; i < n_sessions; i++)
		if (sessions[i].used && sessions[i].ready && sessions[i].owner_id == owner_id)
			ws_fetch(&sessions[i]);
}

/* Sessions of this owner that are connected (the per-user cap). */
static int
ws_owner_sessions(long long owner_id)
{
	int			n = 0;

	for (int i = 0; i < n_sessions; i++)
		if (sessions[i].used && sessions[i].ready && !sessions[i].closing &&
			sessions[i].owner_id == owner_id)
			n++;
	return n;
}

/* A reply for a call of the session. */
static void
ws_deliver(RequestSlot *s, int status, const char *body, size_t len)
{
	WsSession  *ws = s->client;

	if (!ws)
		return;					/* the socket closed meanwhile */
	if (s->route == &cashier_events_route)
	{
		ws->fetching = 0;
		if (status >= 400)
			return;				/* read again at the next NOTIFY */
		if (!s->bridge_silent)
			ws_queue(ws, body, len);
		if (s->bridge_last_event_id > ws->last_event_id)
			ws->last_event_id = s->bridge_last_event_id;
		if (s->bridge_more || ws->fetch_again)
			ws_fetch(ws);
		return;
	}
	if (s->route == &cashier_connect_route && status < 400 &&
		ws_owner_sessions(s->bridge_owner_id) >= ws_cfg->ws_sessions_per_user)
	{
		metrics_refused("ws_sessions_per_user");
		ws_error_frame(ws, "too many sessions for this user");
		ws->closing = 1;
		ws->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
		return;
	}
	ws_queue(ws, body, len);
	if (s->route == &cashier_connect_route)
	{
		if (status >= 400)
		{
			ws->closing = 1;
			ws->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
			return;
		}
		ws->ready = 1;
		ws->owner_id = s->bridge_owner_id;
		if (s->bridge_last_event_id >= 0)
			ws->last_event_id = s->bridge_last_event_id;
		ws_fetch(ws);			/* events missed since the cursor (a resumed session) */
	}
}

/* ReplySend of WebSocket: the reply is a frame of the session, and the call is over. */
static void
ws_send(RequestSlot *s, int status, const char *body, size_t len)
{
	ws_deliver(s, status, body, len);
	s->status = status;
	slot_release(s);
}

/* The pool's result for a call (SlotSink.on_result of WebSocket). */
static void
ws_on_result(RequestSlot *s, PGresult *res)
{
	reply_result(s, res, ws_send);
}

/* An error of the bridge for a call, as an error frame (SlotSink.on_error of WebSocket). */
static void
ws_on_error(RequestSlot *s, int status, const char *code, const char *msg)
{
	reply_error(s, status, code, msg, NULL, ws_send);
}

/* A complete message arrived. */
static void
ws_message(WsSession *ws)
{
	const char *why;
	int			remaining;
	long		reset;
	char		owner[24];

	if (!ws->ready)
	{
		ws_error_frame(ws, "not connected yet");
		return;
	}
	why = message_verdict(ws->msg, ws->msg_len, ws->msg_too_big, ws_cfg->json_depth_max,
						  ws_cfg->json_fields_max);
	if (why)
	{
		ws_error_frame(ws, why);
		return;
	}
	/* per user: the owner the connect call resolved, whatever socket or token it uses */
	snprintf(owner, sizeof(owner), "%lld", ws->owner_id);
	if (!ratelimit_take("cashier", owner, ws_cfg->ws_rate_per_min, &remaining, &reset))
	{
		ws_error_frame(ws, "rate limit exceeded: too many requests per minute");
		return;
	}
	ws_call(ws, &cashier_message_route, ws->msg, ws->msg_len);
}

static WsSession *
ws_open(struct lws *wsi)
{
	for (int i = 0; i < n_sessions; i++)
		if (!sessions[i].used)
		{
			WsSession  *ws = &sessions[i];

			ws->used = 1;
			ws->wsi = wsi;
			ws->ready = ws->closing = ws->close_code = 0;
			ws->msg_len = 0;
			ws->out_head = ws->out_count = 0;
			ws->last_activity_us = now_us();
			ws->want_write = ws->ping_due = ws->pinged = 0;
			ws->token[0] = '\0';
			ws->owner_id = 0;
			ws->last_event_id = -1;
			ws->fetching = ws->fetch_again = 0;
			n_open++;
			return ws;
		}
	return NULL;
}

static int
ws_writeable(WsSession *ws)
{
	if (!ws->want_write && !ws->ping_due)
		ws_active(ws);			/* not asked for: lws wrote a pong to a client's ping */
	ws->want_write = 0;
	if (ws->ping_due && !ws->closing)
	{
		/* with a payload: lws 4.1.6 tells the callback of no empty pong */
		unsigned char ping[LWS_PRE + 4] = {0};

		memcpy(ping + LWS_PRE, "pgw", 4);
		ws->ping_due = 0;
		if (lws_write(ws->wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
			return -1;
		if (ws->out_count > 0)
			ws_wake(ws);
		return 0;
	}
	if (ws->out_count > 0)
	{
		int			k = ws->out_head;

		if (lws_write(ws->wsi, (unsigned char *) ws->out[k] + LWS_PRE, ws->out_len[k],
					  LWS_WRITE_TEXT) < (int) ws->out_len[k])
			return -1;
		ws->out_head = (ws->out_head + 1) % WS_OUT_MAX;
		ws->out_count--;
		if (ws->fetch_again && !ws->fetching)
			ws_fetch(ws);		/* room in the queue again: read the next event */
		if (ws->out_count > 0 || ws->closing)
			ws_wake(ws);
		return 0;
	}
	if (ws->closing)
	{
		lws_close_reason(ws->wsi, ws->close_code ? (enum lws_close_status) ws->close_code :
						 LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	return 0;
}

/*
 * Ping sessions silent for ws_ping_interval_ms (once, until the client shows activity) and
 * close those silent for ws_idle_timeout_ms: no message, pong or ping.
 */
static void
ws_sweep(lws_sorted_usec_list_t *sul)
{
	uint64_t	now = now_us();
	char		why[96];

	(void) sul;
	snprintf(why, sizeof(why), "connection closed after %d seconds of inactivity",
			 ws_cfg->ws_idle_timeout_ms / 1000);
	for (int i = 0; i < n_sessions; i++)
	{
		WsSession  *ws = &sessions[i];

		if (ws->used && !ws->closing && !ws->pinged &&
			now - ws->last_activity_us > (uint64_t) ws_cfg->ws_ping_interval_ms * 1000)
		{
			ws->pinged = 1;
			ws->ping_due = 1;
			lws_callback_on_writable(ws->wsi);
		}
		if (ws->used && !ws->closing &&
			now - ws->last_activity_us > (uint64_t) ws_cfg->ws_idle_timeout_ms * 1000)
		{
			ws_error_frame(ws, why);
			ws->closing = 1;
			ws->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
			ws_wake(ws);
		}
	}
	lws_sul_schedule(ws_ctx, 0, &sweep_sul, ws_sweep, WS_SWEEP_US);
}

void
ws_close_all(void)
{
	for (int i = 0; i < n_sessions; i++)
		if (sessions[i].used && !sessions[i].closing)
		{
			sessions[i].closing = 1;
			sessions[i].close_code = LWS_CLOSE_STATUS_GOINGAWAY;
			ws_wake(&sessions[i]);
		}
}

/*
 * Refuse an upgrade with an HTTP status and the cashier's error body, then close (the
 * caller returns nonzero). The reply is small and written at once.
 */
static int
ws_refuse(struct lws *wsi, int status, const char *reason, const char *message)
{
	char		buf[LWS_PRE + 512], body[160];
	int			nb = snprintf(body, sizeof(body),
							  "{\"type\":\"error\",\"data\":{\"message\":\"%s\"},"
							  "\"timestamp\":%ld}", message, (long) time(NULL));
	int			n = snprintf(buf + LWS_PRE, sizeof(buf) - LWS_PRE,
							 "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
							 "content-length: %d\r\nconnection: close\r\n\r\n%s",
							 status, reason, nb, body);

	lws_write(wsi, (unsigned char *) buf + LWS_PRE, (size_t) n, LWS_WRITE_HTTP);
	return 1;
}

/* Sessions open with this Authorization header (the per-user cap before the connect call). */
static int
ws_token_sessions(const char *token)
{
	int			n = 0;

	for (int i = 0; i < n_sessions; i++)
		if (sessions[i].used && !sessions[i].closing && !strcmp(sessions[i].token, token))
			n++;
	return n;
}

/*
 * The handshake's credentials as an Authorization value in token (PGW_TOKEN_MAX): the
 * Authorization header, else the web page's session cookie of a same-origin page
 * (cookie.c). 0 when there is neither (or the header is too long).
 */
static int
ws_credentials(struct lws *wsi, char *token)
{
	int			n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);

	if (n > 0)
		return n < PGW_TOKEN_MAX &&
			lws_hdr_copy(wsi, token, PGW_TOKEN_MAX, WSI_TOKEN_HTTP_AUTHORIZATION) == n;
	return cookie_bearer(wsi, token, PGW_TOKEN_MAX);
}

/*
 * Upgrades only at cashier_path (404), with credentials (401 "unauthorized"), while the
 * token has fewer than ws_sessions_per_user sessions (429) and a session is free (503).
 */
static int
ws_filter(struct lws *wsi)
{
	char		path[PGW_PATH_MAX];
	char	   *token;
	int			busy;

	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 ||
		strcmp(path, ws_cfg->cashier_path) != 0)
		return ws_refuse(wsi, 404, "Not Found", "not found");
	if (!(token = malloc(PGW_TOKEN_MAX)))
		return 1;
	if (!ws_credentials(wsi, token))
	{
		free(token);
		return ws_refuse(wsi, 401, "Unauthorized", "unauthorized");
	}
	busy = ws_token_sessions(token) >= ws_cfg->ws_sessions_per_user;
	free(token);
	if (busy)
	{
		metrics_refused("ws_sessions_per_user");
		return ws_refuse(wsi, 429, "Too Many Requests", "too many sessions for this user");
	}
	if (n_open >= n_sessions)
		return ws_refuse(wsi, 503, "Service Unavailable", "server busy, retry later");
	return 0;
}

/*
 * A piece of a message. Binary frames close with 1003; a message that would pass
 * body_bytes_max (what arrived, plus what the frame still declares) closes with 1009 at
 * once, before the rest is read. -1: close.
 */
static int
ws_receive(WsSession *ws, struct lws *wsi, const void *in, size_t len)
{
	size_t		rest = lws_remaining_packet_payload(wsi);

	ws_active(ws);
	if (lws_frame_is_binary(wsi))
	{
		metrics_refused("ws_protocol");
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
						 (unsigned char *) "binary frames are not accepted", 30);
		return -1;
	}
	if (len > ws_cfg->body_bytes_max || rest > ws_cfg->body_bytes_max ||
		ws->msg_len + len + rest > ws_cfg->body_bytes_max)
	{
		metrics_refused("ws_protocol");
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
						 (unsigned char *) "message too big", 15);
		return -1;
	}
	message_append(ws->msg, &ws->msg_len, ws_cfg->body_bytes_max, &ws->msg_too_big, in, len);
	if (lws_is_final_fragment(wsi) && rest == 0)
	{
		ws_message(ws);
		ws->msg_len = 0;
		ws->msg_too_big = 0;
	}
	return 0;
}

int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, HttpSession *pss, void *in,
			size_t len)
{
	WsSession  *ws = pss ? pss->ws : NULL;

	switch (reason)
	{
		case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
			return ws_filter(wsi);
		case LWS_CALLBACK_ESTABLISHED:
			ws = ws_open(wsi);
			if (!ws)
				return -1;
			pss->ws = ws;
			if (!ws_credentials(wsi, ws->token))
				return -1;
			context_read(wsi, &ws->context);
			{
				char		arg[32], body[64] = "{}";

				/* ?last_event_id=N: resume after the last event the client saw */
				const char *v = lws_get_urlarg_by_name(wsi, "last_event_id=", arg,
													   sizeof(arg));

				if (v && v[0] && strspn(v, "0123456789") == strlen(v) && strlen(v) < 19)
					snprintf(body, sizeof(body), "{\"last_event_id\":%s}", v);
				ws_call(ws, &cashier_connect_route, body, strlen(body));
			}
			return 0;
		case LWS_CALLBACK_RECEIVE:
			return ws ? ws_receive(ws, wsi, in, len) : -1;
		case LWS_CALLBACK_RECEIVE_PONG:
			if (ws)
				ws_active(ws);
			return 0;
		case LWS_CALLBACK_SERVER_WRITEABLE:
			return ws ? ws_writeable(ws) : -1;
		case LWS_CALLBACK_CLOSED:
			if (ws)
			{
				slot_detach(&ws_sink, ws);	/* calls in flight drop their reply */
				ws->used = 0;
				ws->wsi = NULL;
				pss->ws = NULL;
				n_open--;
			}
			return 0;
		default:
			return 0;
	}
}
