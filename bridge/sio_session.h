/*
 * sio_session.h — Engine.IO sessions (sio_session.c), the bottom of the socket.io transport:
 * the types shared by its files, sio.c (the WebSocket transport, the upgrade, pings),
 * sio_poll.c (the HTTP long-polling requests) and sio_socket.c (socket.io v5 on top:
 * namespaces, CONNECT with its auth payload, EVENT, ACK, the calls to
 * pg_wallet.api_tribble_socket_*, events pushed from the durable log), and the sessions'
 * functions. Must never be included by another transport: http.c and ws.c know nothing of
 * socket.io.
 */
#ifndef PGW_SIO_SESSION_H
#define PGW_SIO_SESSION_H

#include "bridge.h"

#define SIO_SID_LEN 20
#define SIO_OUT_MAX 64			/* queued Engine.IO packets per session; more closes it */
#define SIO_CALLS_MAX 4			/* calls of one session in flight (connect, events, messages) */

/* An Engine.IO packet waiting to be sent, with LWS_PRE bytes of headroom for lws_write. */
typedef struct SioPacket
{
	struct SioPacket *next;
	size_t		len;
	unsigned char buf[];		/* LWS_PRE + len + 1 */
} SioPacket;

struct SioReq;

/* One Engine.IO session (sid): its transport, its queue, and its socket.io socket. */
typedef struct SioSession
{
	int			used;
	char		sid[SIO_SID_LEN + 1];
	struct lws *ws;				/* its WebSocket: the transport, or an upgrade being probed */
	int			upgraded;		/* the transport is the WebSocket (direct, or after "5") */
	int			probe_reply;	/* "3probe" is due on ws */
	struct SioReq *poll;		/* the pending polling GET, when there is one */
	SioPacket  *out_head, *out_tail;
	int			out_count;
	size_t		out_bytes;
	char	   *rx;				/* a WebSocket message being reassembled */
	size_t		rx_len;
	uint64_t	created_us;
	uint64_t	next_ping_us;
	uint64_t	ping_sent_us;
	int			ping_pending;	/* a ping is out and its pong has not come back */
	int			closing;
	unsigned char peer_key[16];
	/* socket.io, namespace "/" (sio_socket.c) */
	int			nsp_state;		/* 0: not connected, 1: CONNECT call in flight, 2: connected */
	int			connect_queued;	/* the CONNECT waits for a free request slot */
	char	   *auth;			/* the CONNECT's auth object, as sent (checked JSON) */
	size_t		auth_len;
	long long	owner_id;		/* the user's owner: the per-user caps */
	long long	stream_owner_id;	/* the events stream it reads (an admin's: fraud alerts) */
	long long	last_event_id;
	int			fetching;
	int			fetch_again;
	int			calls;			/* its calls in flight */
} SioSession;

extern const BridgeConfig *sio_cfg;

/*
 * What a session tells the layers above it, registered by sio.c (sio_sessions_init): the
 * session is gone (socket.io forgets its socket), a socket.io message came, the pending poll
 * must take what is queued, or must answer this packet now.
 */
typedef struct SioHooks
{
	void		(*closed) (SioSession *s);
	int			(*message) (SioSession *s, const char *data, size_t len);
	void		(*flush_poll) (SioSession *s);
	void		(*answer_poll) (SioSession *s, const char *packet);
} SioHooks;

int			sio_sessions_init(struct lws_context *ctx, const BridgeConfig *cfg,
							  const SioHooks *hooks);
int			sio_send(SioSession *s, char type, const char *data, size_t len);
void		sio_end(SioSession *s);
SioSession *sio_find(const char *sid);
SioSession *sio_new(struct lws *wsi);
int			sio_open_packet(SioSession *s, int upgrades);
int			sio_packet(SioSession *s, const char *data, size_t len);
void		sio_release(SioSession *s);
void		sio_args(struct lws *wsi, char *transport, size_t tcap, char *sid, size_t scap,
					 int *eio);
size_t		sio_out_max(void);
SioSession *sio_session_at(int i);
int			sio_session_count(void);

#endif
