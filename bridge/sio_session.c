/*
 * sio_session.c — Engine.IO v4 sessions of the socket.io transport, below both of its
 * transports (the WebSocket of sio.c, the long-polling requests of sio_poll.c) and socket.io
 * (sio_socket.c): the session table, a session's queue of packets, the handshake packet, the
 * Engine.IO packets a client sends (close, pong, message, noop) and a request's query
 * arguments.
 *
 * Owns: the session table (sio_sessions_max entries, each a small record; queues and buffers
 * are allocated per packet and freed with the session), sids, the handshake
 * 0{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}, the queue's bounds
 * (SIO_OUT_MAX packets, sio_out_max() bytes each) and new sessions per client address under
 * preauth_rate_per_min. What it must tell the layers above (a session closed, a socket.io
 * message came, a pending poll must be answered) it tells through the hooks sio.c registers
 * (SioHooks), so no call points up.
 * Must never know a transport's protocol, never look inside a socket.io packet, and never
 * log a packet.
 * Locking: none; one lws service thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio_session.h"

const BridgeConfig *sio_cfg;
static struct lws_context *sio_ctx;
static const SioHooks *hooks;
static SioSession *sessions;
static int	n_sessions;
static int	n_used;

/* The table of sessions, and the hooks of the layers above. */
int
sio_sessions_init(struct lws_context *ctx, const BridgeConfig *cfg, const SioHooks *h)
{
	sio_cfg = cfg;
	sio_ctx = ctx;
	hooks = h;
	n_sessions = cfg->sio_sessions_max;
	if (!(sessions = calloc((size_t) n_sessions, sizeof(SioSession))))
		return -1;
	return 0;
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
	hooks->closed(s);
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
		hooks->flush_poll(s);
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
		hooks->answer_poll(s, "1");	/* close */
		return;
	}
	if (s->poll)
		hooks->flush_poll(s);	/* releases the session */
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
			return hooks->message(s, data + 1, len - 1);
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
