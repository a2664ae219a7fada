/*
 * sio.c — the socket.io transport of the bridge, Engine.IO v4 part: sessions and their
 * transports at /socket.io/ (the HTTP long-polling requests are sio_poll.c's).
 *
 * Owns: the session table (sio_sessions_max entries, each a small record; queues and buffers
 * are allocated per packet and freed with the session), the handshake
 * 0{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}, a session's queue of
 * packets and which transport carries it (a pending poll of sio_poll.c, or the WebSocket),
 * the WebSocket transport (one packet per text frame),
 * the upgrade from polling (2probe/3probe on the new WebSocket, a noop 6 to the pending poll,
 * then 5), server pings every sio_ping_interval_ms and the end of a session whose pong does
 * not come back within sio_ping_timeout_ms (or whose socket.io CONNECT does not come within
 * their sum), the bounds (maxPayload = body_bytes_max per WebSocket message, SIO_OUT_MAX
 * queued packets, sio_sessions_max sessions, new sessions per client address under
 * preauth_rate_per_min), routing protocol 0's reasons of /socket.io/ (sio_claims) and
 * closing every session on shutdown.
 * Must never know another transport, never look inside a socket.io packet (sio_socket.c
 * does), and never log a packet.
 * Locking: none; one lws service thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sio.h"

#define SIO_SWEEP_US 200000

const BridgeConfig *sio_cfg;
static struct lws_context *sio_ctx;
static SioSession *sessions;
static int	n_sessions;
static int	n_used;
static lws_sorted_usec_list_t sweep_sul;
static const char sio_prefix[] = "/socket.io/";

static void sio_sweep(lws_sorted_usec_list_t *sul);

int
sio_init(struct lws_context *ctx, const BridgeConfig *cfg)
{
	sio_cfg = cfg;
	sio_ctx = ctx;
	n_sessions = cfg->sio_sessions_max;
	if (!(sessions = calloc((size_t) n_sessions, sizeof(SioSession))))
		return -1;
	sio_socket_init();
	if (pool_on_event(sio_socket_on_event) != 0)
		return -1;
	lws_sul_schedule(ctx, 0, &sweep_sul, sio_sweep, SIO_SWEEP_US);
	return 0;
}

/* Before the context is destroyed: the timer. */
void
sio_stop(void)
{
	if (sio_ctx)
		lws_sul_cancel(&sweep_sul);
	sio_ctx = NULL;
}

static void
sio_free_queue(SioSession *s)
{
	while (s->out_head)
	{
		SioPacket  *p = s->out_head;

		s->out_head = p->next;
		free(p);
	}
	s->out_tail = NULL;
	s->out_count = 0;
	s->out_bytes = 0;
}

/* The session is over and nothing refers to it any more: its memory goes. */
void
sio_release(SioSession *s)
{
	sio_socket_closed(s);
	sio_free_queue(s);
	free(s->rx);
	free(s->auth);
	memset(s, 0, sizeof(*s));
	n_used--;
}

/* After the context is destroyed (every socket closed): whatever is left. */
void
sio_free(void)
{
	for (int i = 0; sessions && i < n_sessions; i++)
		if (sessions[i].used)
			sio_release(&sessions[i]);
	free(sessions);
	sessions = NULL;
}

int
sio_open_count(void)
{
	return n_used;
}

SioSession *
sio_session_at(int i)
{
	return i >= 0 && i < n_sessions && sessions[i].used ? &sessions[i] : NULL;
}

int
sio_session_count(void)
{
	return n_sessions;
}

SioSession *
sio_find(const char *sid)
{
	if (!sid || strlen(sid) != SIO_SID_LEN)
		return NULL;
	for (int i = 0; i < n_sessions; i++)
		if (sessions[i].used && !strcmp(sessions[i].sid, sid))
			return &sessions[i];
	return NULL;
}

/* A new session, or NULL when the table is full or the address opens too many. */
SioSession *
sio_new(struct lws *wsi)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char rnd[SIO_SID_LEN];
	char		peer[128];
	int			remaining;
	long		reset;

	lws_get_peer_simple(wsi, peer, sizeof(peer));
	if (!ratelimit_take("sio_open", peer, sio_cfg->preauth_rate_per_min, &remaining, &reset))
	{
		metrics_refused("sio_sessions");
		return NULL;
	}
	for (int i = 0; i < n_sessions; i++)
		if (!sessions[i].used)
		{
			SioSession *s = &sessions[i];
			uint64_t	now = now_us();

			if (lws_get_random(sio_ctx, rnd, sizeof(rnd)) != sizeof(rnd))
				return NULL;
			memset(s, 0, sizeof(*s));
			for (int k = 0; k < SIO_SID_LEN; k++)
				s->sid[k] = alphabet[rnd[k] & 63];
			s->used = 1;
			s->created_us = now;
			s->next_ping_us = now + (uint64_t) sio_cfg->sio_ping_interval_ms * 1000;
			s->last_event_id = -1;
			n_used++;
			return s;
		}
	metrics_refused("sio_sessions");
	return NULL;
}

/* The handshake packet: 0{"sid",...}. */
int
sio_open_packet(SioSession *s, int upgrades)
{
	char		open[256];
	int			n = snprintf(open, sizeof(open),
							 "{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%d,"
							 "\"pingTimeout\":%d,\"maxPayload\":%zu}", s->sid,
							 upgrades ? "\"websocket\"" : "", sio_cfg->sio_ping_interval_ms,
							 sio_cfg->sio_ping_timeout_ms, sio_cfg->body_bytes_max);

	return sio_send(s, '0', open, (size_t) n);
}

/*
 * The largest packet the server sends, and a poll reply's bound: a reply of the database
 * (response_bytes_max) with its framing, or maxPayload when that is larger.
 */
size_t
sio_out_max(void)
{
	size_t		reply = sio_cfg->response_bytes_max + 64;

	return reply > sio_cfg->body_bytes_max ? reply : sio_cfg->body_bytes_max;
}

/* Something is queued: wake the transport that carries it. */
static void
sio_wake(SioSession *s)
{
	if (s->upgraded && s->ws)
		lws_callback_on_writable(s->ws);
	else if (s->poll)
		sio_flush_poll(s);
}

/* Queue one Engine.IO packet (its type and data); -1 when the session cannot take it. */
int
sio_send(SioSession *s, char type, const char *data, size_t len)
{
	SioPacket  *p;

	if (s->closing)
		return -1;
	if (s->out_count >= SIO_OUT_MAX || len + 1 > sio_out_max() ||
		!(p = malloc(sizeof(SioPacket) + LWS_PRE + len + 2)))
	{
		sio_end(s);				/* the client does not read, or the packet cannot be sent */
		return -1;
	}
	p->next = NULL;
	p->len = len + 1;
	p->buf[LWS_PRE] = (unsigned char) type;
	memcpy(p->buf + LWS_PRE + 1, data, len);
	p->buf[LWS_PRE + 1 + len] = '\0';
	if (s->out_tail)
		s->out_tail->next = p;
	else
		s->out_head = p;
	s->out_tail = p;
	s->out_count++;
	s->out_bytes += p->len;
	sio_wake(s);
	return 0;
}

/*
 * End the session: a pending poll gets what is queued and a close packet, a WebSocket is
 * closed once its queue is written; the record goes when no transport holds it.
 */
void
sio_end(SioSession *s)
{
	if (s->closing)
		return;
	s->closing = 1;
	if (s->ws)
	{
		lws_callback_on_writable(s->ws);
		sio_poll_answer(s, "1");	/* close */
		return;
	}
	if (s->poll)
		sio_flush_poll(s);		/* releases the session */
	else
		sio_release(s);
}

void
sio_close_all(void)
{
	for (int i = 0; sessions && i < n_sessions; i++)
		if (sessions[i].used)
			sio_end(&sessions[i]);
}

/* One Engine.IO packet from the client, on whichever transport. -1: a bad packet. */
int
sio_packet(SioSession *s, const char *data, size_t len)
{
	if (len == 0)
		return -1;
	switch (data[0])
	{
		case '1':				/* close */
			sio_end(s);
			return 0;
		case '3':				/* pong */
			if (s->ping_pending)
			{
				s->ping_pending = 0;
				/* a ping every interval, however late the pong: the client's own deadline
				 * (interval + timeout after the last ping) is never near */
				s->next_ping_us = s->ping_sent_us +
					(uint64_t) sio_cfg->sio_ping_interval_ms * 1000;
			}
			return 0;
		case '4':				/* message: socket.io */
			return sio_socket_packet(s, data + 1, len - 1);
		case '6':				/* noop */
			return 0;
		default:
			return -1;
	}
}

/* One query argument's value ("name=" given), or NULL. lws's own look-up finds only the first. */
static const char *
sio_arg(struct lws *wsi, const char *name, char *buf, size_t cap)
{
	size_t		nl = strlen(name);

	for (int i = 0; i < PGW_QUERY_ARGS_MAX; i++)
	{
		if (lws_hdr_copy_fragment(wsi, buf, (int) cap, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			return NULL;
		if (!strncmp(buf, name, nl))
			return buf + nl;
	}
	return NULL;
}

/* The query arguments of an Engine.IO request: EIO=4 (eio), the transport, the sid. */
void
sio_args(struct lws *wsi, char *transport, size_t tcap, char *sid, size_t scap, int *eio)
{
	char		v[80];
	const char *e = sio_arg(wsi, "EIO=", v, sizeof(v));

	*eio = e && !strcmp(e, "4");
	e = sio_arg(wsi, "transport=", v, sizeof(v));
	snprintf(transport, tcap, "%s", e ? e : "");
	e = sio_arg(wsi, "sid=", v, sizeof(v));
	snprintf(sid, scap, "%s", e ? e : "");
}

/*
 * A WebSocket handshake at /socket.io/: EIO=4, transport=websocket, and a sid only of a
 * polling session that has no WebSocket yet. Nonzero: refused (lws answers 4xx and closes).
 */
static int
sio_ws_filter(struct lws *wsi)
{
	char		transport[40], sid[64];
	int			eio;
	SioSession *s;

	sio_args(wsi, transport, sizeof(transport), sid, sizeof(sid), &eio);
	if (!eio || strcmp(transport, "websocket") != 0 || http_shutting_down)
	{
		metrics_refused("sio_protocol");
		return 1;
	}
	if (sid[0] && (!(s = sio_find(sid)) || s->ws || s->upgraded || s->closing))
	{
		metrics_refused("sio_protocol");
		return 1;
	}
	if (!sid[0] && n_used >= n_sessions)
	{
		metrics_refused("sio_sessions");
		return 1;
	}
	return 0;
}

static int
sio_ws_established(struct lws *wsi, HttpSession *pss)
{
	char		transport[40], sid[64];
	int			eio;
	SioSession *s;

	sio_args(wsi, transport, sizeof(transport), sid, sizeof(sid), &eio);
	if (sid[0])
	{
		if (!(s = sio_find(sid)) || s->ws || s->upgraded || s->closing)
			return -1;
		s->ws = wsi;			/* the upgrade: 2probe comes next */
		pss->sio = s;
		return 0;
	}
	if (!(s = sio_new(wsi)))
		return -1;
	s->ws = wsi;
	s->upgraded = 1;
	pss->sio = s;
	return sio_open_packet(s, 0) == 0 ? 0 : -1;
}

/* A whole WebSocket message: one Engine.IO packet, or a step of the upgrade. -1: close. */
static int
sio_ws_message(SioSession *s, const char *m, size_t len)
{
	if (!s->upgraded)
	{
		if (len == 6 && !memcmp(m, "2probe", 6))
		{
			s->probe_reply = 1;
			lws_callback_on_writable(s->ws);
			sio_poll_answer(s, "6");	/* a noop ends the pending poll: polling pauses */
			return 0;
		}
		if (len == 1 && m[0] == '5')
		{
			s->upgraded = 1;
			sio_poll_answer(s, "6");
			if (s->out_head)
				lws_callback_on_writable(s->ws);
			return 0;
		}
		return -1;
	}
	return sio_packet(s, m, len);
}

static int
sio_ws_receive(SioSession *s, struct lws *wsi, const void *in, size_t len)
{
	size_t		rest = lws_remaining_packet_payload(wsi);
	char	   *b;

	if (lws_frame_is_binary(wsi))
	{
		metrics_refused("sio_protocol");
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
						 (unsigned char *) "binary frames are not accepted", 30);
		return -1;
	}
	if (s->rx_len + len + rest > sio_cfg->body_bytes_max)
	{
		metrics_refused("sio_protocol");
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
						 (unsigned char *) "message too big", 15);
		return -1;
	}
	if (!(b = realloc(s->rx, s->rx_len + len + 1)))
		return -1;
	s->rx = b;
	memcpy(s->rx + s->rx_len, in, len);
	s->rx_len += len;
	if (!lws_is_final_fragment(wsi) || rest != 0)
		return 0;
	s->rx[s->rx_len] = '\0';
	len = s->rx_len;
	s->rx_len = 0;
	if (sio_ws_message(s, s->rx, len) != 0)
	{
		metrics_refused("sio_protocol");
		lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
						 (unsigned char *) "bad packet", 10);
		return -1;
	}
	return 0;
}

static int
sio_ws_writeable(SioSession *s)
{
	if (s->probe_reply)
	{
		unsigned char probe[LWS_PRE + 8];

		memcpy(probe + LWS_PRE, "3probe", 6);
		s->probe_reply = 0;
		if (lws_write(s->ws, probe + LWS_PRE, 6, LWS_WRITE_TEXT) < 6)
			return -1;
		if (s->upgraded && s->out_head)
			lws_callback_on_writable(s->ws);
		return 0;
	}
	if (s->upgraded && s->out_head)
	{
		SioPacket  *p = s->out_head;

		if (lws_write(s->ws, p->buf + LWS_PRE, p->len, LWS_WRITE_TEXT) < (int) p->len)
			return -1;
		s->out_head = p->next;
		if (!s->out_head)
			s->out_tail = NULL;
		s->out_count--;
		s->out_bytes -= p->len;
		free(p);
		if (s->out_head || s->closing)
			lws_callback_on_writable(s->ws);
		return 0;
	}
	if (s->closing)
	{
		lws_close_reason(s->ws, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	return 0;
}

static void
sio_ws_closed(HttpSession *pss)
{
	SioSession *s = pss->sio;

	pss->sio = NULL;
	if (!s)
		return;
	s->ws = NULL;
	free(s->rx);
	s->rx = NULL;
	s->rx_len = 0;
	if (s->upgraded || s->closing)
	{
		s->closing = 1;
		if (!s->poll)
			sio_release(s);
	}
	/* a failed probe: the session goes on polling */
}

/* Pings, missed pongs, a CONNECT that never came. */
static void
sio_sweep(lws_sorted_usec_list_t *sul)
{
	uint64_t	now = now_us();
	uint64_t	timeout = (uint64_t) sio_cfg->sio_ping_timeout_ms * 1000;
	uint64_t	interval = (uint64_t) sio_cfg->sio_ping_interval_ms * 1000;

	(void) sul;
	for (int i = 0; i < n_sessions; i++)
	{
		SioSession *s = &sessions[i];

		if (!s->used || s->closing)
			continue;
		if ((s->ping_pending && now - s->ping_sent_us > timeout) ||
			(s->nsp_state != 2 && s->owner_id == 0 && now - s->created_us > interval + timeout))
		{
			sio_end(s);
			continue;
		}
		if (!s->ping_pending && now >= s->next_ping_us)
		{
			s->ping_pending = 1;
			s->ping_sent_us = now;
			if (sio_send(s, '2', "", 0) != 0)
				continue;		/* the session ended */
		}
		sio_socket_tick(s);
	}
	if (sio_ctx)
		lws_sul_schedule(sio_ctx, 0, &sweep_sul, sio_sweep, SIO_SWEEP_US);
}

/* Whether a callback of protocol 0 is socket.io's (main.c routes it here). */
int
sio_claims(struct lws *wsi, enum lws_callback_reasons reason, HttpSession *pss, void *in)
{
	char		path[PGW_PATH_MAX];

	switch (reason)
	{
		case LWS_CALLBACK_HTTP:
			return in && !strncmp(in, sio_prefix, sizeof(sio_prefix) - 1);
		case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		case LWS_CALLBACK_ESTABLISHED:
			return lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) > 0 &&
				!strncmp(path, sio_prefix, sizeof(sio_prefix) - 1);
		case LWS_CALLBACK_HTTP_BODY:
		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		case LWS_CALLBACK_HTTP_WRITEABLE:
		case LWS_CALLBACK_CLOSED_HTTP:
			return pss && pss->sio_req;
		case LWS_CALLBACK_RECEIVE:
		case LWS_CALLBACK_RECEIVE_PONG:
		case LWS_CALLBACK_SERVER_WRITEABLE:
		case LWS_CALLBACK_CLOSED:
			return pss && pss->sio;
		default:
			return 0;
	}
}

int
sio_callback(struct lws *wsi, enum lws_callback_reasons reason, HttpSession *pss, void *in,
			 size_t len)
{
	switch (reason)
	{
		case LWS_CALLBACK_HTTP:
		case LWS_CALLBACK_HTTP_BODY:
		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		case LWS_CALLBACK_HTTP_WRITEABLE:
		case LWS_CALLBACK_CLOSED_HTTP:
			return sio_poll_callback(wsi, reason, pss, in, len);	/* sio_poll.c */
		case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
			return sio_ws_filter(wsi);
		case LWS_CALLBACK_ESTABLISHED:
			return pss ? sio_ws_established(wsi, pss) : -1;
		case LWS_CALLBACK_RECEIVE:
			return sio_ws_receive(pss->sio, wsi, in, len);
		case LWS_CALLBACK_SERVER_WRITEABLE:
			return sio_ws_writeable(pss->sio);
		case LWS_CALLBACK_CLOSED:
			sio_ws_closed(pss);
			return 0;
		default:
			return 0;
	}
}
