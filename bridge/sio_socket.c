/*
 * sio_socket.c — the socket.io transport of the bridge, socket.io v5 part: the packets inside
 * Engine.IO messages, for the Tribble profile's events.
 *
 * Owns: reading a socket.io packet (type, namespace, ack id, JSON payload, each bounded);
 * namespace "/" only (another gets CONNECT_ERROR "Invalid namespace"); CONNECT with its auth
 * payload (a JSON object, kept as sent and passed whole to the SQL functions, which read the
 * token and the recovery offset), answered 40{"sid","pid"} or 44{"message","data"}; the
 * per-user session cap (ws_sessions_per_user, CONNECT_ERROR beyond); EVENT frames the client
 * emits (one call of api_tribble_socket_message each, under ws_rate_per_min per user, an ACK
 * 43<id>[...] when the client asked for one); pushing the events of the session's stream
 * (its user's owner's, or for an admin the fraud-alerts stream: the CONNECT's
 * _bridge.stream_owner_id): on NOTIFY for that owner, api_tribble_socket_events reads the
 * next one after the session's cursor and it is sent as 42["<event>",<data>,"<offset>"]. Binary packets and anything malformed
 * end the session. Each call runs in a request slot that carries this file's sink.
 * Must never look inside a payload beyond checking it is bounded JSON and taking the one
 * member its SQL function returned ("connect", "packet", "ack"), and never log a packet.
 * Locking: none; one lws service thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sio_socket.h"

#define SIO_ACK_NONE (-1LL)

static const Route sio_connect_route = {-1, "", "api_tribble_socket_connect", 200, AUTH_NONE,
0, 0, 0, 0};
static const Route sio_events_route = {-1, "", "api_tribble_socket_events", 200, AUTH_NONE,
0, 0, 0, 0};
static const Route sio_message_route = {-1, "", "api_tribble_socket_message", 200, AUTH_NONE,
0, 0, 0, 0};

static size_t sio_render_error(char *dst, size_t cap, int status, const char *code,
							   const char *message, const char *detail, const char *field,
							   const char *request_id);

/* Tribble's statuses (set at init); errors as a CONNECT_ERROR's {"message", "data"}. */
static Profile sio_profile = {"socket.io", NULL, NULL, 0, NULL, sio_render_error, 0};

static void sio_connect_call(SioSession *s);
static void sio_on_result(RequestSlot *s, PGresult *res);
static void sio_on_error(RequestSlot *s, int status, const char *code, const char *msg);

static const SlotSink sio_sink = {sio_on_result, sio_on_error, NULL};

void
sio_socket_init(void)
{
	sio_profile.status_for = tribble_profile.status_for;
}

static size_t
sio_render_error(char *dst, size_t cap, int status, const char *code, const char *message,
				 const char *detail, const char *field, const char *request_id)
{
	char		esc[PGW_MESSAGE_MAX * 2];
	const char *pub = tribble_error_code(status, code);	/* as a REST reply names it */
	int			n;

	(void) detail;
	(void) field;
	(void) request_id;
	if (json_escape(esc, sizeof(esc), message, strnlen(message, PGW_MESSAGE_MAX)) ==
		(size_t) -1)
		strcpy(esc, "error");
	n = snprintf(dst, cap, "{\"message\":\"%s\",\"data\":{\"statusCode\":%d,\"errorCode\":\"%s\"}}",
				 esc, status, pub);
	return n > 0 && (size_t) n < cap ? (size_t) n : 0;
}

/* The span of a top-level member's value in a JSON object the database wrote; NULL if none. */
const char *
sio_json_member(const char *j, size_t len, const char *name, size_t *vlen)
{
	size_t		nlen = strlen(name), i = 1;
	int			depth = 0, in_str = 0;
	const char *value = NULL;

	if (len < 2 || j[0] != '{')
		return NULL;
	for (; i < len; i++)
	{
		char		ch = j[i];

		if (in_str)
		{
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
			continue;
		}
		if (ch == '"')
		{
			if (depth == 0 && !value && i + nlen + 2 < len && !memcmp(j + i + 1, name, nlen) &&
				j[i + 1 + nlen] == '"')
			{
				size_t		k = i + nlen + 2;

				while (k < len && (j[k] == ' ' || j[k] == ':'))
					k++;
				value = j + k;
				i = k - 1;
				continue;
			}
			in_str = 1;
		}
		else if (ch == '{' || ch == '[')
			depth++;
		else if ((ch == '}' || ch == ']') && depth > 0)
			depth--;
		else if ((ch == ',' || ch == '}') && depth == 0 && value)
		{
			*vlen = (size_t) (j + i - value);
			return value;
		}
	}
	return NULL;
}

/* Send a socket.io packet: "4" + type + [ack id] + payload. */
static int
sio_emit(SioSession *s, char type, long long ack, const char *payload, size_t len)
{
	char	   *buf = malloc(len + 32);
	int			n, rc;

	if (!buf)
		return -1;
	n = ack >= 0 ? snprintf(buf, 32, "%c%lld", type, ack) : snprintf(buf, 32, "%c", type);
	memcpy(buf + n, payload, len);
	rc = sio_send(s, '4', buf, (size_t) n + len);
	free(buf);
	return rc;
}

static void
sio_connect_error(SioSession *s, const char *message)
{
	char		body[256];
	int			n = snprintf(body, sizeof(body), "{\"message\":\"%s\"}", message);

	sio_emit(s, '4', SIO_ACK_NONE, body, (size_t) n);
}

/* A call of the session: connect, an events read, or a message. */
static int
sio_call(SioSession *s, const Route *route, const char *b1, size_t l1, const char *b2,
		 size_t l2, long long ack)
{
	RequestSlot *slot;
	size_t		need = l1 + l2 + 2;

	if (s->calls >= SIO_CALLS_MAX || !(slot = slot_acquire(&sio_sink, s)))
		return -1;
	if (need > sio_cfg->body_bytes_max)
	{
		slot_release(slot);
		return -1;
	}
	s->calls++;
	slot->method = -1;
	slot->route = route;
	slot->profile = &sio_profile;
	snprintf(slot->path, sizeof(slot->path), "/socket.io/");
	snprintf(slot->request_id, sizeof(slot->request_id), "sio%013llx",
			 (unsigned long long) (now_us() & 0xfffffffffffffULL));
	slot->has_token = 0;		/* the token is in the auth object of the body */
	slot->after_event_id = ack;	/* a message's ack id (-1: none) */
	memcpy(slot->body, b1, l1);
	memcpy(slot->body + l1, b2, l2);
	slot->body_len = l1 + l2;
	if (slot_args_envelope(slot) != 0)
		sio_on_error(slot, 413, "PAYLOAD_TOO_LARGE", "message too large");
	else if (pool_submit(slot) != 0)
		sio_on_error(slot, 503, "SERVICE_UNAVAILABLE", "database unavailable");
	return 0;
}

/* A call with body {"auth": <auth>, <rest>}. */
static int
sio_call_auth(SioSession *s, const Route *route, const char *rest, size_t rest_len,
			  long long ack)
{
	char	   *head = malloc(s->auth_len + 16);
	int			rc;

	if (!head)
		return -1;
	memcpy(head, "{\"auth\":", 8);
	memcpy(head + 8, s->auth, s->auth_len);
	head[8 + s->auth_len] = ',';
	rc = sio_call(s, route, head, s->auth_len + 9, rest, rest_len, ack);
	free(head);
	return rc;
}

/* Read the next event after the cursor, unless a read runs or the queue is nearly full. */
static void
sio_fetch(SioSession *s)
{
	char		rest[64];
	int			n;

	if (s->nsp_state != 2 || s->closing)
		return;
	if (s->fetching || s->out_count >= SIO_OUT_MAX / 2)
	{
		s->fetch_again = 1;
		return;
	}
	n = snprintf(rest, sizeof(rest), "\"after_event_id\":%lld}", s->last_event_id);
	s->fetching = 1;
	s->fetch_again = 0;
	if (sio_call_auth(s, &sio_events_route, rest, (size_t) n, SIO_ACK_NONE) != 0)
	{
		s->fetching = 0;
		s->fetch_again = 1;		/* retried on the next NOTIFY */
	}
}

/*
 * The session's timer tick (sio.c, every 200 ms): a CONNECT or a read that could not run (no
 * free slot, a full queue, the database away) runs now.
 */
void
sio_socket_tick(SioSession *s)
{
	if (s->nsp_state == 1 && s->connect_queued)
		sio_connect_call(s);
	else if (s->nsp_state == 2 && s->fetch_again && !s->fetching)
		sio_fetch(s);
}

/* NOTIFY on the events channel: the sockets reading that owner's stream read what is new. */
void
sio_socket_on_event(const char *payload)
{
	const char *o = strstr(payload, "\"owner_id\":");
	long long	owner_id;

	if (!o)
		return;
	owner_id = strtoll(o + 11, NULL, 10);
	for (int i = 0; i < sio_session_count(); i++)
	{
		SioSession *s = sio_session_at(i);

		if (s && s->nsp_state == 2 && s->stream_owner_id == owner_id)
			sio_fetch(s);
	}
}

static int
sio_owner_sockets(long long owner_id)
{
	int			n = 0;

	for (int i = 0; i < sio_session_count(); i++)
	{
		SioSession *s = sio_session_at(i);

		if (s && !s->closing && s->nsp_state == 2 && s->owner_id == owner_id)
			n++;
	}
	return n;
}

/* The reply of a call, in the session's terms. */
static void
sio_deliver(RequestSlot *slot, int status, const char *body, size_t len)
{
	SioSession *s = slot->client;
	const char *v;
	size_t		vlen = 0;

	if (!s || s->closing)
		return;
	if (slot->route == &sio_events_route)
	{
		s->fetching = 0;
		if (status >= 400)
		{
			if (status >= 500)
				s->fetch_again = 1;	/* the database was away: read again (sio_socket_tick) */
			if (status == 401 || status == 403)
			{
				sio_emit(s, '1', SIO_ACK_NONE, "", 0);	/* the token ended: disconnect */
				s->nsp_state = 0;
			}
			return;
		}
		if (!slot->bridge_silent && (v = sio_json_member(body, len, "packet", &vlen)) &&
			sio_emit(s, '2', SIO_ACK_NONE, v, vlen) != 0)
			return;
		if (slot->bridge_last_event_id > s->last_event_id)
			s->last_event_id = slot->bridge_last_event_id;
		if (slot->bridge_more || s->fetch_again)
			sio_fetch(s);
		return;
	}
	if (slot->route == &sio_message_route)
	{
		if (slot->after_event_id < 0)
			return;
		if (status < 400 && (v = sio_json_member(body, len, "ack", &vlen)))
			sio_emit(s, '3', slot->after_event_id, v, vlen);
		else
			sio_emit(s, '3', slot->after_event_id, "[{\"error\":\"refused\"}]", 21);
		return;
	}
	/* the CONNECT */
	if (status >= 400)
	{
		s->nsp_state = 0;
		sio_emit(s, '4', SIO_ACK_NONE, body, len);
		return;
	}
	if (sio_owner_sockets(slot->bridge_owner_id) >= sio_cfg->ws_sessions_per_user)
	{
		s->nsp_state = 0;
		metrics_refused("ws_sessions_per_user");
		sio_connect_error(s, "too many sessions for this user");
		return;
	}
	if (!(v = sio_json_member(body, len, "connect", &vlen)))
	{
		s->nsp_state = 0;
		sio_connect_error(s, "internal error");
		return;
	}
	s->nsp_state = 2;
	s->owner_id = slot->bridge_owner_id;
	s->stream_owner_id = slot->bridge_stream_owner_id ? slot->bridge_stream_owner_id :
		slot->bridge_owner_id;
	s->last_event_id = slot->bridge_last_event_id >= 0 ? slot->bridge_last_event_id : 0;
	if (sio_emit(s, '0', SIO_ACK_NONE, v, vlen) == 0)
		sio_fetch(s);			/* what was missed since the offset */
}

/* ReplySend of socket.io: the reply becomes packets of the session; the call is over. */
static void
sio_reply(RequestSlot *slot, int status, const char *body, size_t len)
{
	SioSession *s = slot->client;

	if (s)
		s->calls--;
	sio_deliver(slot, status, body, len);
	slot->status = status;
	slot_release(slot);
}

static void
sio_on_result(RequestSlot *slot, PGresult *res)
{
	SioSession *s = slot->client;

	if (!s)
	{
		slot->status = 499;
		slot_release(slot);
		return;
	}
	reply_result(slot, res, sio_reply);
}

static void
sio_on_error(RequestSlot *slot, int status, const char *code, const char *msg)
{
	if (!slot->client)
	{
		slot->status = status;
		slot_release(slot);
		return;
	}
	reply_error(slot, status, code, msg, NULL, sio_reply);
}

/* The session ends: its calls in flight drop their replies. */
void
sio_socket_closed(SioSession *s)
{
	slot_detach(&sio_sink, s);
}

/*
 * The CONNECT's call; when every request slot is taken (a crowd reconnecting at once) it
 * waits and is tried again on the timer, within the session's connect deadline (sio.c).
 */
static void
sio_connect_call(SioSession *s)
{
	s->connect_queued = sio_call(s, &sio_connect_route, "{", 1, s->auth + 1, s->auth_len - 1,
								 SIO_ACK_NONE) != 0;
}

/* A CONNECT: its auth object is kept and checked by the database. */
static int
sio_connect(SioSession *s, const char *nsp, const char *payload, size_t len)
{
	const char *why = NULL;

	if (strcmp(nsp, "/") != 0)
	{
		char		body[SIO_NSP_MAX + 64];
		int			n = snprintf(body, sizeof(body), "4%s,{\"message\":\"Invalid namespace\"}",
								 nsp);

		return sio_send(s, '4', body, (size_t) n) == 0 ? 0 : 0;
	}
	if (s->nsp_state != 0)
		return -1;				/* a second CONNECT */
	if (len == 0)
		payload = "{}", len = 2;
	if (payload[0] != '{' || len > PGW_TOKEN_MAX + 1024 ||
		json_check(payload, len, sio_cfg->json_depth_max, sio_cfg->json_fields_max, &why) != 0)
	{
		sio_connect_error(s, "the auth payload must be a JSON object");
		return 0;
	}
	free(s->auth);
	if (!(s->auth = malloc(len + 1)))
		return -1;
	memcpy(s->auth, payload, len);
	s->auth[len] = '\0';
	s->auth_len = len;
	s->nsp_state = 1;
	sio_connect_call(s);
	return 0;
}

/* An EVENT the client emitted: its SQL function answers, and acknowledges if asked. */
static int
sio_event(SioSession *s, long long ack, const char *payload, size_t len)
{
	const char *why = NULL;
	char		owner[24], *body, *tail;
	int			remaining;
	long		reset;

	if (s->nsp_state != 2)
		return 0;				/* not connected: dropped, as socket.io does */
	if (len == 0 || payload[0] != '[' || !(body = malloc(len + 16)))
		return -1;
	/* {"event":[...]}: checked as bounded JSON, then the call's body after the auth */
	memcpy(body, "{\"event\":", 9);
	memcpy(body + 9, payload, len);
	body[9 + len] = '}';
	if (json_check(body, len + 10, sio_cfg->json_depth_max, sio_cfg->json_fields_max,
				   &why) != 0)
	{
		free(body);
		return -1;
	}
	tail = body + 1;
	snprintf(owner, sizeof(owner), "%lld", s->owner_id);
	if (!ratelimit_take("sio", owner, sio_cfg->ws_rate_per_min, &remaining, &reset))
	{
		if (ack >= 0)
			sio_emit(s, '3', ack, "[{\"error\":\"rate limit exceeded\"}]", 33);
	}
	else if (sio_call_auth(s, &sio_message_route, tail, len + 9, ack) != 0 && ack >= 0)
		sio_emit(s, '3', ack, "[{\"error\":\"server busy, retry later\"}]", 38);
	free(body);
	return 0;
}

/*
 * The parts of a socket.io packet (the data of an Engine.IO message):
 * <type>[<nsp>,][<ack id>][<payload>], the namespace at most SIO_NSP_MAX bytes and the ack
 * id at most 9 digits. -1: malformed.
 */
int
sio_parse(const char *d, size_t len, SioParsed *p)
{
	size_t		i = 1;

	strcpy(p->nsp, "/");
	p->ack = SIO_ACK_NONE;
	if (len == 0 || d[0] < '0' || d[0] > '6')
		return -1;
	p->type = d[0];
	if (i < len && d[i] == '/')
	{
		size_t		start = i;

		while (i < len && d[i] != ',' && i - start < SIO_NSP_MAX)
			i++;
		if (i >= len || d[i] != ',')
			return -1;
		memcpy(p->nsp, d + start, i - start);
		p->nsp[i - start] = '\0';
		i++;
	}
	if (i < len && d[i] >= '0' && d[i] <= '9')
	{
		size_t		start = i;

		while (i < len && d[i] >= '0' && d[i] <= '9')
			i++;
		if (i - start > 9)
			return -1;
		p->ack = 0;
		for (size_t k = start; k < i; k++)
			p->ack = p->ack * 10 + (d[k] - '0');
	}
	p->payload = d + i;
	p->payload_len = len - i;
	return 0;
}

/* A socket.io packet. -1: malformed, binary, or not for a server: the session ends. */
int
sio_socket_packet(SioSession *s, const char *d, size_t len)
{
	SioParsed	p;

	if (sio_parse(d, len, &p) != 0)
		return -1;
	switch (p.type)
	{
		case '0':
			return p.ack >= 0 ? -1 : sio_connect(s, p.nsp, p.payload, p.payload_len);
		case '1':
			if (!strcmp(p.nsp, "/"))
				s->nsp_state = 0;
			return 0;
		case '2':
			if (strcmp(p.nsp, "/") != 0)
				return 0;
			return sio_event(s, p.ack, p.payload, p.payload_len);
		case '3':
			return 0;			/* the server asks for no acknowledgement */
		default:
			return -1;			/* CONNECT_ERROR from a client, binary packets */
	}
}
