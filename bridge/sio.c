/*
 * sio.c — the socket.io transport of the bridge, Engine.IO v4 part: its transports at
 * /socket.io/ over the sessions of sio_session.c (the HTTP long-polling requests are
 * sio_poll.c's), and the hooks by which those sessions reach the layers above them.
 *
 * Owns: which transport carries a session's queue (a pending poll of sio_poll.c, or the
 * WebSocket), the WebSocket transport (one packet per text frame),
 * the upgrade from polling (2probe/3probe on the new WebSocket, a noop 6 to the pending poll,
 * then 5), server pings every sio_ping_interval_ms and the end of a session whose pong does
 * not come back within sio_ping_timeout_ms (or whose socket.io CONNECT does not come within
 * their sum), the bound on a WebSocket message (maxPayload = body_bytes_max), routing
 * protocol 0's reasons of /socket.io/ (sio_claims) and the session sweep.
 * Must never know another transport, never look inside a socket.io packet (sio_socket.c
 * does), and never log a packet.
 * Locking: none; one lws service thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sio_poll.h"
#include "sio_socket.h"

#define SIO_SWEEP_US 200000

static struct lws_context *sio_ctx;
static lws_sorted_usec_list_t sweep_sul;
static const char sio_prefix[] = "/socket.io/";

static void sio_sweep(lws_sorted_usec_list_t *sul);

/* What the sessions tell the layers above them (sio_session.c calls none of them by name). */
static const SioHooks sio_hooks = {
	.closed = sio_socket_closed,
	.message = sio_socket_packet,
	.flush_poll = sio_flush_poll,
	.answer_poll = sio_poll_answer,
};

int
sio_init(struct lws_context *ctx, const BridgeConfig *cfg)
{
	sio_ctx = ctx;
	if (sio_sessions_init(ctx, cfg, &sio_hooks) != 0)
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
	if (!sid[0] && sio_open_count() >= sio_session_count())
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
	for (int i = 0; i < sio_session_count(); i++)
	{
		SioSession *s = sio_session_at(i);

		if (!s || s->closing)
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
