/*
 * sio_poll.c — the socket.io transport's HTTP long-polling requests (Engine.IO v4), for the
 * sessions of sio.c.
 *
 * Owns: one request of the polling transport (HttpSession.sio_req) from its headers to its
 * reply: the handshake (a GET without a sid opens a session), a poll (a GET with the sid,
 * held until there is something to send, lws's own request deadline lifted; one at a time),
 * packets (a POST: its body read under client.c's deadlines, at most maxPayload =
 * body_bytes_max, split at 0x1e and handed to sio.c one by one, answered "ok"), Engine.IO's
 * error replies 400 {"code","message"}, and answering a pending poll (the queue joined by
 * 0x1e, a noop 6 during the upgrade, the close packet 1).
 * Must never know another transport, never look inside a packet (sio.c and sio_socket.c
 * do), and never log a packet.
 * Locking: none; one lws service thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio_poll.h"

/* One HTTP request of the polling transport (HttpSession.sio_req). */
typedef enum
{
	REQ_BODY,					/* a POST's body is being read */
	REQ_WAIT,					/* a GET held until there is something to send */
	REQ_HEADERS,				/* reply ready: headers next */
	REQ_REPLY					/* headers written: body next */
} SioReqState;

typedef struct SioReq
{
	struct lws *wsi;
	SioSession *s;				/* a poll's session (NULL once it ended or was answered) */
	char		sid[SIO_SID_LEN + 1];	/* a POST's session, found again when its body is in */
	SioReqState state;
	int			status;
	int			close_after;
	const char *ctype;
	char	   *reply;			/* LWS_PRE + reply_len */
	size_t		reply_len;
	unsigned char hdr[LWS_PRE + 512];
} SioReq;

/* Ask a reply of a request to be written. */
static void
req_reply(SioReq *r, int status, const char *ctype, const char *body, size_t len)
{
	free(r->reply);
	r->reply = malloc(LWS_PRE + len + 1);
	if (!r->reply)
		len = 0, status = 500;
	else
		memcpy(r->reply + LWS_PRE, body, len);
	r->reply_len = r->reply ? len : 0;
	r->status = status;
	r->ctype = ctype;
	r->state = REQ_HEADERS;
	lws_callback_on_writable(r->wsi);
}

/* An Engine.IO error reply: 400 {"code","message"}, and the connection closed after it. */
static int
req_error(SioReq *r, int code, const char *message)
{
	char		body[128];
	int			n = snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"%s\"}", code,
							 message);

	metrics_refused("sio_protocol");
	r->close_after = 1;
	req_reply(r, 400, "application/json", body, (size_t) n);
	return 0;
}

/* The pending poll takes the queue: packets joined by 0x1e, within sio_out_max() bytes. */
void
sio_flush_poll(SioSession *s)
{
	SioReq	   *r = s->poll;
	size_t		len = 0, cap = sio_out_max();
	char	   *body;

	if (!r || r->state != REQ_WAIT || (!s->out_head && !s->closing))
		return;
	if (!(body = malloc(cap + 2)))
		return;
	while (s->out_head && len + s->out_head->len + (len ? 1 : 0) <= cap)
	{
		SioPacket  *p = s->out_head;

		if (len)
			body[len++] = '\x1e';
		memcpy(body + len, p->buf + LWS_PRE, p->len);
		len += p->len;
		s->out_head = p->next;
		s->out_count--;
		s->out_bytes -= p->len;
		free(p);
	}
	if (!s->out_head)
		s->out_tail = NULL;
	/*
	 * When a packet was queued the loop took at least one: none is larger
	 * than the bound (sio_send refuses it).
	 */
	if (s->closing && !s->out_head)
	{
		if (len)
			body[len++] = '\x1e';
		body[len++] = '1';		/* close */
	}
	s->poll = NULL;
	r->s = NULL;
	req_reply(r, 200, "text/plain; charset=UTF-8", body, len);
	free(body);
	if (s->closing && !s->ws && !s->out_head)
		sio_release(s);
}

/* A POST's body: packets joined by 0x1e. */
static int
sio_post(SioReq *r, SioSession *s, const char *body, size_t len)
{
	size_t		start = 0;

	for (size_t i = 0; i <= len; i++)
		if (i == len || body[i] == '\x1e')
		{
			if (sio_packet(s, body + start, i - start) != 0)
			{
				if (s->used)
					sio_end(s);
				return req_error(r, 3, "Bad request");
			}
			if (!s->used || s->closing)
				break;			/* a close packet ended the session */
			start = i + 1;
		}
	req_reply(r, 200, "text/html", "ok", 2);
	return 0;
}

/*
 * Hold a poll until there is something to send: lws's own deadline for a request (a few
 * seconds) is lifted; the server's ping, every sio_ping_interval_ms, answers it at the latest.
 */
static void
sio_hold(SioReq *r, SioSession *s)
{
	lws_set_timeout(r->wsi, NO_PENDING_TIMEOUT, 0);
	s->poll = r;
	r->s = s;
	r->state = REQ_WAIT;
}

/*
 * The handshake (a GET without a sid): a new session, its open packet answering this first
 * poll; 503 when shutting down or when no session can be had.
 */
static int
sio_handshake(struct lws *wsi, SioReq *r, int method)
{
	SioSession *s;

	if (method != LWSHUMETH_GET)
		return req_error(r, 2, "Bad handshake method");
	if (http_shutting_down || !(s = sio_new(wsi)))
	{
		req_reply(r, 503, "application/json",
				  "{\"code\":3,\"message\":\"server busy, retry later\"}", 47);
		return 0;
	}
	sio_hold(r, s);
	sio_open_packet(s, 1);
	return 0;
}

/* A poll (a GET with the sid): held, and answered at once when there is something to send. */
static int
sio_poll_get(SioReq *r, SioSession *s)
{
	if (s->poll)
	{
		r->s = NULL;
		sio_end(s);			/* two polls at once: the client is confused or hostile */
		return req_error(r, 3, "Bad request");
	}
	sio_hold(r, s);
	sio_flush_poll(s);
	return 0;
}

/*
 * Packets (a POST with the sid): its Content-Length checked, then its body read into the
 * connection (client.c); the session is found again by its sid once the body is in.
 */
static int
sio_post_begin(struct lws *wsi, SioReq *r, SioSession *s, HttpConn *c)
{
	char		text[24];
	int			n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	long		cl;

	if (n <= 0 || n > 18 || lws_hdr_copy(wsi, text, sizeof(text),
										 WSI_TOKEN_HTTP_CONTENT_LENGTH) != n ||
		strspn(text, "0123456789") != (size_t) n ||
		lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
		return req_error(r, 3, "Bad request");
	cl = strtol(text, NULL, 10);
	if (cl <= 0 || (size_t) cl > sio_cfg->body_bytes_max)
	{
		metrics_refused("sio_protocol");
		r->close_after = 1;
		req_reply(r, 413, "application/json",
				  "{\"code\":3,\"message\":\"payload too large\"}", 40);
		return 0;
	}
	r->state = REQ_BODY;
	r->s = NULL;
	memcpy(r->sid, s->sid, sizeof(r->sid));
	client_read_begin(c, (size_t) cl);
	return 0;
}

/* A request of the polling transport: the handshake, a poll (GET) or packets (POST). */
static int
sio_http(struct lws *wsi, HttpSession *pss)
{
	char		transport[40], sid[64], *uri;
	int			eio, uri_len, method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
	SioReq	   *r = calloc(1, sizeof(SioReq));
	SioSession *s;
	HttpConn   *c = lws_get_opaque_user_data(wsi);

	if (!r)
		return -1;
	r->wsi = wsi;
	pss->sio_req = r;
	sio_args(wsi, transport, sizeof(transport), sid, sizeof(sid), &eio);
	if (!eio)
		return req_error(r, 5, "Unsupported protocol version");
	if (strcmp(transport, "polling") != 0)
		return req_error(r, 0, "Transport unknown");
	if (!sid[0])
		return sio_handshake(wsi, r, method);
	if (!(s = sio_find(sid)) || s->closing)
		return req_error(r, 1, "Session ID unknown");
	if (s->upgraded)
		return req_error(r, 3, "Bad request");	/* the session moved to its WebSocket */
	r->s = s;
	if (method == LWSHUMETH_GET)
		return sio_poll_get(r, s);
	if (method != LWSHUMETH_POST || !c)
		return req_error(r, 3, "Bad request");
	return sio_post_begin(wsi, r, s, c);
}

static int
sio_http_body_done(struct lws *wsi, SioReq *r)
{
	HttpConn   *c = lws_get_opaque_user_data(wsi);
	SioSession *s;
	int			rc;

	if (!c || r->state != REQ_BODY)
		return 0;
	if (!(s = sio_find(r->sid)) || s->closing || s->upgraded ||
		c->body_len != c->body_expected)
	{
		client_read_end(c);
		return req_error(r, 1, "Session ID unknown");
	}
	rc = sio_post(r, s, c->body, c->body_len);
	client_read_end(c);
	return rc;
}

static int
sio_http_write(struct lws *wsi, HttpSession *pss, SioReq *r)
{
	unsigned char *start = r->hdr + LWS_PRE, *p = start, *end = r->hdr + sizeof(r->hdr) - 1;
	int			close_after;

	if (r->state == REQ_HEADERS)
	{
		if (lws_add_http_common_headers(wsi, (unsigned int) r->status, r->ctype,
										(lws_filepos_t) r->reply_len, &p, end) ||
			(r->close_after &&
			 lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
										  (const unsigned char *) "close", 5, &p, end)) ||
			lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		r->state = REQ_REPLY;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (r->state != REQ_REPLY)
		return 0;
	if (r->reply_len && lws_write(wsi, (unsigned char *) r->reply + LWS_PRE, r->reply_len,
								  LWS_WRITE_HTTP_FINAL) != (int) r->reply_len)
		return -1;
	close_after = r->close_after || http_shutting_down;
	free(r->reply);
	free(r);
	pss->sio_req = NULL;
	if (close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* The request's connection is gone (or its reply written): forget it. */
static void
sio_http_closed(struct lws *wsi, HttpSession *pss)
{
	SioReq	   *r = pss->sio_req;
	HttpConn   *c = lws_get_opaque_user_data(wsi);

	if (c)
		client_read_end(c);
	if (!r)
		return;
	if (r->s && r->s->poll == r)
		r->s->poll = NULL;		/* the session waits for the next poll (or its ping timeout) */
	free(r->reply);
	free(r);
	pss->sio_req = NULL;
}


/* Answer the pending poll, if there is one, with one packet ("6" noop, "1" close). */
void
sio_poll_answer(SioSession *s, const char *packet)
{
	SioReq	   *r = s->poll;

	if (!r)
		return;
	s->poll = NULL;
	r->s = NULL;
	req_reply(r, 200, "text/plain; charset=UTF-8", packet, strlen(packet));
}

/* The HTTP reasons of a polling request (sio.c routes them here). */
int
sio_poll_callback(struct lws *wsi, enum lws_callback_reasons reason, HttpSession *pss,
				  void *in, size_t len)
{
	HttpConn   *c;

	switch (reason)
	{
		case LWS_CALLBACK_HTTP:
			if (!pss || pss->sio_req || pss->slot)
				return -1;
			return sio_http(wsi, pss);
		case LWS_CALLBACK_HTTP_BODY:
			c = lws_get_opaque_user_data(wsi);
			if (!c || !c->reading || pss->sio_req->state != REQ_BODY)
				return 0;
			return client_read(c, in, len) == 0 ? 0 : -1;
		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
			return sio_http_body_done(wsi, pss->sio_req);
		case LWS_CALLBACK_HTTP_WRITEABLE:
			return sio_http_write(wsi, pss, pss->sio_req);
		case LWS_CALLBACK_CLOSED_HTTP:
			sio_http_closed(wsi, pss);
			return 0;
		default:
			return 0;
	}
}
