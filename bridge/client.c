/*
 * client.c — the client connections of the HTTP transport (and of the WebSocket sessions
 * upgraded from them): from accept to the socket's destruction.
 *
 * Owns: the connection record (HttpConn, kept as the wsi's opaque user data, so it survives
 * the keep-alive requests and the protocol rebinds of an upgrade that free the per-session
 * data), refusing connections beyond connections_max and connections_per_ip at accept, the
 * open_sockets gauge (counted once per accepted socket, uncounted once at its destruction),
 * and the request body read into the connection under body_timeout_ms and body_min_rate
 * before the request takes a slot. Must never take a slot, talk to the database, look inside
 * a body, or log an address.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bridge.h"

#define BODY_SWEEP_US 100000
#define BODY_RATE_GRACE_US 1000000	/* the minimum rate applies after a body's first second */

static const BridgeConfig *client_cfg;
static struct lws_context *client_ctx;
static lws_sorted_usec_list_t body_sul;
static HttpConn *reading_head;
static int	n_conns;

void
client_init(struct lws_context *ctx, const BridgeConfig *cfg)
{
	client_cfg = cfg;
	client_ctx = ctx;
}

void
client_free(void)
{
	if (client_ctx)
		lws_sul_cancel(&body_sul);
}

/* The connection stops reading a body: out of the list, its buffer freed. */
void
client_read_end(HttpConn *c)
{
	if (c->reading)
	{
		if (c->prev)
			c->prev->next = c->next;
		else
			reading_head = c->next;
		if (c->next)
			c->next->prev = c->prev;
		c->prev = c->next = NULL;
		c->reading = 0;
	}
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_cap = c->body_expected = 0;
}

/*
 * Every 100 ms while bodies are being read: close a connection whose body is past
 * body_timeout_ms, or, after its first second, behind body_min_rate bytes a second. Nothing
 * but the connection is held meanwhile: no slot, no pool connection.
 */
static void
body_sweep(lws_sorted_usec_list_t *sul)
{
	uint64_t	now = now_us();
	HttpConn   *c = reading_head, *next;

	(void) sul;
	for (; c; c = next)
	{
		uint64_t	took = now - c->body_started_us;

		next = c->next;
		if (took > (uint64_t) client_cfg->body_timeout_ms * 1000 ||
			(took > BODY_RATE_GRACE_US && client_cfg->body_min_rate > 0 &&
			 c->body_len < (took - BODY_RATE_GRACE_US) / 1000 *
			 (uint64_t) client_cfg->body_min_rate / 1000))
		{
			log_msg("warning", "closed a connection whose request body was too slow "
					"(%zu of %zu bytes in %llu ms)", c->body_len, c->body_expected,
					(unsigned long long) (took / 1000));
			metrics_refused("slow_body");
			client_read_end(c);
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
		}
	}
	if (reading_head)
		lws_sul_schedule(client_ctx, 0, &body_sul, body_sweep, BODY_SWEEP_US);
}

void
client_read_begin(HttpConn *c, size_t expected)
{
	client_read_end(c);
	c->body_expected = expected;
	c->body_started_us = now_us();
	c->reading = 1;
	c->next = reading_head;
	if (reading_head)
		reading_head->prev = c;
	else
		lws_sul_schedule(client_ctx, 0, &body_sul, body_sweep, BODY_SWEEP_US);
	reading_head = c;
}

/* Append a piece of the body; -1 when out of memory or beyond Content-Length. */
int
client_read(HttpConn *c, const void *in, size_t len)
{
	if (c->body_len + len > c->body_expected)
		return -1;
	if (c->body_len + len > c->body_cap)
	{
		size_t		cap = c->body_cap ? c->body_cap * 2 : 4096;
		char	   *b;

		if (cap < c->body_len + len)
			cap = c->body_len + len;
		if (cap > c->body_expected)
			cap = c->body_expected;
		if (!(b = realloc(c->body, cap)))
			return -1;
		c->body = b;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, in, len);
	c->body_len += len;
	return 0;
}

/* A new TCP connection: refused beyond connections_max or connections_per_ip. */
int
client_filter(const struct lws_filter_network_conn_args *filt)
{
	unsigned char key[16];

	if (n_conns >= client_cfg->connections_max)
	{
		metrics_refused("connections_max");
		return 1;
	}
	if (peer_key((const struct sockaddr *) &filt->cli_addr, key) &&
		peer_connections(key) >= client_cfg->connections_per_ip)
	{
		metrics_refused("connections_per_ip");
		return 1;
	}
	return 0;
}

/* The connection is accepted: its record, counted in its address and the gauge. */
int
client_open(struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t	sl = sizeof(ss);
	unsigned char key[16];
	HttpConn   *c;

	if (lws_get_opaque_user_data(wsi))
		return 0;				/* counted already */
	if (!(c = calloc(1, sizeof(HttpConn))))
		return -1;
	c->wsi = wsi;
	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *) &ss, &sl) == 0 &&
		peer_key((struct sockaddr *) &ss, key) && !(c->peer = peer_conn_open(key)))
	{
		free(c);
		return -1;
	}
	lws_set_opaque_user_data(wsi, c);
	n_conns++;
	metrics_socket(1);
	return 0;
}

/* The socket is destroyed (HTTP or WebSocket): the one place a connection is uncounted. */
void
client_close(struct lws *wsi)
{
	HttpConn   *c = lws_get_opaque_user_data(wsi);

	if (!c)
		return;
	client_read_end(c);
	peer_conn_close(c->peer);
	lws_set_opaque_user_data(wsi, NULL);
	free(c);
	n_conns--;
	metrics_socket(-1);
}
