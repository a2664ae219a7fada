/*
 * bridge.h — the types shared by the files of pg_wallet_bridge.
 *
 * Owns: the configuration record, the request slot (one request in flight, with its buffers
 * allocated once at start-up, and the delivery callbacks of the transport that holds it), the
 * route record of a profile, and the prototypes each file exports. The layers (docs/bridge.md,
 * "Structure") are declared from the bottom up, slot.c, reply.c, pool.c, then the transports
 * http.c and ws.c: a file calls only the layers declared above its own and the leaves
 * (config, log, metrics, json, profiles, rate limits, messages), never a layer below it, and
 * the two transports never call each other. Must never hold business rules or secrets: the
 * bridge only moves bytes between sockets and one SQL function call per request.
 */
#ifndef PGW_BRIDGE_H
#define PGW_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include <libpq-fe.h>

#define PGW_REQUEST_ID_MAX 65   /* 64 characters and the terminator */
#define PGW_PATH_MAX 512
#define PGW_TOKEN_MAX 4096
#define PGW_SQLSTATE_LEN 6
#define PGW_FIELD_MAX 64
#define PGW_MESSAGE_MAX 512
#define PGW_QUERY_ARGS_MAX 16
/* the request context (slot_context): what pg_wallet.set_request_context accepts at most */
#define PGW_CONTEXT_IP_MAX 45
#define PGW_CONTEXT_USER_AGENT_MAX 256
#define PGW_CONTEXT_DEVICE_ID_MAX 200
#define PGW_CONTEXT_MAX 1200		/* the three, JSON-escaped, with their keys */
/* a partner callback's signature headers (http.c): each value's bound, and the JSON object */
#define PGW_CALLBACK_HEADER_MAX 1024
#define PGW_CALLBACK_HEADERS_MAX 6400	/* three values, each escaped at most twice as long */

/* Configuration: file, then environment, then defaults (config.c). */
typedef struct BridgeConfig
{
	char		listen_address[128];
	int			port;
	char		conninfo[1024];
	char		listen_conninfo[1024];	/* the LISTEN connections', ";" between them (one
										 * per scale-out data node); empty: conninfo */
	int			pool_size;
	int			inflight_max;
	char		waas_base_path[128];
	char		sellapay_base_path[128];
	char		tribble_base_path[128];
	char		partners_base_path[128];	/* where partners deliver callbacks */
	char		public_url[256];	/* how clients reach the bridge (links it hands out) */
	size_t		body_bytes_max;
	int			header_bytes_max;
	int			json_depth_max;
	int			json_fields_max;
	size_t		response_bytes_max;
	int			request_timeout_ms;
	int			shutdown_grace_ms;
	int			reconnect_max_ms;
	char		tls_cert[512];
	char		tls_key[512];
	char		trusted_proxies[512];	/* CIDR list whose X-Forwarded-For is believed */
	char		listen_channel[64];
	char		pid_file[512];
	char		docs_dir[512];	/* the files of /docs/ (static.c); "": not served */
	char		cashier_path[128];
	char		cashier_base_path[128];	/* the cashier's REST routes (web sign-in) */
	char		cashier_page_dir[512];	/* the files of /cashier/ (static.c); "": none */
	int			ws_sessions_max;
	int			ws_idle_timeout_ms;
	int			ws_rate_per_min;
	int			connections_max;	/* client connections at once (also the address table) */
	int			connections_per_ip;
	int			inflight_per_ip;
	int			body_timeout_ms;	/* a whole request body must arrive within this */
	int			body_min_rate;	/* bytes/s a body must keep up after its first second */
	int			ws_sessions_per_user;
	int			ws_ping_interval_ms;	/* ping a session silent this long */
	int			preauth_rate_per_min;
	int			login_rate_per_min;
	int			password_concurrency_max;
	int			sio_sessions_max;	/* socket.io (Engine.IO) sessions at once */
	int			sio_ping_interval_ms;
	int			sio_ping_timeout_ms;
	int			print_routes;	/* --routes: print the route tables and exit */
} BridgeConfig;

struct PoolConn;

typedef enum RouteAuth
{
	AUTH_NONE,					/* $1 is NULL (a login takes credentials in the body) */
	AUTH_BEARER,				/* $1 is the Authorization header */
	AUTH_API_KEY,				/* $1 is NULL; X-API-KEY/X-API-SECRET go in the envelope */
	AUTH_PASSWORD,				/* as AUTH_NONE, and the call does password work (scrypt):
								 * throttled per client address and in concurrency */
	AUTH_COOKIE					/* $1 is "Bearer " + the cashier session cookie of a
								 * same-origin request (the web page; cookie.c) */
} RouteAuth;

/* What a profile maps one method + path to. */
typedef struct Route
{
	int			method;			/* LWSHUMETH_* */
	const char *pattern;		/* path under the profile's base; ":id" matches one segment */
	const char *function;		/* pg_wallet.<function>($1, $2::jsonb) */
	int			success_status;
	RouteAuth	auth;
	int			rate_per_min;	/* 0: no limit */
	int			rate_by_ip;		/* 1: per client address; 0: per token */
	int			document;		/* 1: the result is a document to render (document.c) */
	int			raw_body;		/*
								 * 1: a partner's callback: the body goes as a JSON string,
								 * byte for byte (a signature covers it), with the signature
								 * headers as "headers"
								 */
} Route;

/* What a route's pattern captured: its ":id" and ":key" segments ("" when none). */
typedef struct RouteParams
{
	char		id[128];
	char		key[128];
} RouteParams;

/* A spec served under its own base path. */
typedef struct Profile
{
	const char *name;
	const char *base_path;		/* from the configuration */
	const Route *routes;
	size_t		n_routes;
	int			(*status_for) (const char *sqlstate);
	/*
	 * the error body of a raised SQLSTATE or a bridge refusal; field: the request field it
	 * names (the error's COLUMN), or NULL; returns its length
	 */
	size_t		(*render_error) (char *dst, size_t cap, int status, const char *code,
								 const char *message, const char *detail, const char *field,
								 const char *request_id);
	int			process_time_header;	/* X-Process-Time: 12ms */
} Profile;

#define PGW_CRED_MAX 257

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_READING,				/* receiving the body */
	SLOT_QUEUED,				/* waiting for a pool connection */
	SLOT_RUNNING,				/* query sent */
	SLOT_REPLY_HEADERS,			/* reply ready: headers next */
	SLOT_REPLY_BODY				/* headers written: body next */
} SlotState;

/*
 * What a transport (http.c, ws.c) registers on each slot it acquires: the pool hands the
 * slot's outcome to these and knows nothing else of the transport. Each ends the request:
 * the reply is sent (or the client is gone) and the slot is released, now or once written.
 */
struct RequestSlot;
typedef struct SlotSink
{
	/* the result of the SQL call; NULL when there is none (the connection failed) */
	void		(*on_result) (struct RequestSlot *slot, PGresult *res);
	/* a refusal of the bridge itself (database unavailable, connection lost) */
	void		(*on_error) (struct RequestSlot *slot, int status, const char *code,
							 const char *msg);
	/* optional: the slot is being released (the transport's own counts) */
	void		(*on_release) (struct RequestSlot *slot);
} SlotSink;

/* One request in flight. Buffers are allocated once, at start-up (slot.c). */
typedef struct RequestSlot
{
	SlotState	state;
	const SlotSink *sink;		/* the transport that holds the slot */
	void	   *client;			/* the transport's handle; NULL once the client went away */
	struct Peer *peer;			/* HTTP: the client address's counts (peer.c), or NULL */
	struct PoolConn *conn;		/* while SLOT_RUNNING */
	struct RequestSlot *next_queued;
	const Route *route;
	const Profile *profile;
	int			method;
	char		request_id[PGW_REQUEST_ID_MAX];
	char		path[PGW_PATH_MAX];
	char		token[PGW_TOKEN_MAX];
	int			has_token;
	char		api_key[PGW_CRED_MAX];
	char		api_secret[PGW_CRED_MAX];
	int			rl_limit;		/* 0: no rate-limit headers */
	int			rl_remaining;
	long		rl_reset;
	uint64_t	rl_token;		/* keyed hash of the canonical token; 0: none */
	int			rl_unknown;		/* let through before its token was accepted: counted later */
	int			password_work;	/* counted in the password work in flight */
	int			retry_after_s;	/* Retry-After of a refusal; 0: none */
	char	   *body;			/* body_bytes_max + 1 */
	size_t		body_len;
	char	   *args;			/* the jsonb argument: envelope around the body */
	size_t		args_cap;
	char		context[PGW_CONTEXT_MAX];	/* $3: the request context JSON; "": none */
	char		callback_headers[PGW_CALLBACK_HEADERS_MAX];	/* a raw-body route's "headers" */
	char	   *reply;			/* LWS_PRE headroom + reply_cap */
	size_t		reply_len;
	size_t		reply_cap;		/* response_bytes_max */
	int			status;
	int			close_after;	/* close the connection after the reply */
	const char *content_type;
	const char *static_body;	/* a static file's cached bytes (static.c), LWS_PRE before */
	char		set_cookie[PGW_TOKEN_MAX + 160];	/* a Set-Cookie value to send (cookie.c) */
	const char *static_csp;		/* its Content-Security-Policy */
	unsigned char headers[LWS_PRE + 1024 + PGW_TOKEN_MAX + 160];	/* room for a Set-Cookie */
	char		sqlstate[PGW_SQLSTATE_LEN];
	char		error_field[PGW_FIELD_MAX];	/* the raised error's COLUMN: a request field */
	uint64_t	started_us;
	/* what the SQL function told the bridge in its result's "_bridge" object */
	long long	bridge_owner_id;	/* 0: none */
	long long	bridge_stream_owner_id;	/* the events stream read, when not the owner's; 0: none */
	long long	bridge_last_event_id;	/* -1: none */
	int			bridge_more;
	int			bridge_silent;	/* nothing to send */
	long long	after_event_id;	/* events fetch: the cursor sent */
} RequestSlot;

/*
 * Per-connection data of protocol 0: the slot of an HTTP request, or the session of a
 * WebSocket after an upgrade (main.c sends each lws reason to http.c or ws.c).
 */
struct WsSession;
struct SioReq;
struct SioSession;
typedef struct HttpSession
{
	RequestSlot *slot;
	struct WsSession *ws;
	struct SioReq *sio_req;		/* socket.io: a polling request (sio.c) */
	struct SioSession *sio;		/* socket.io: the session of a WebSocket (sio.c) */
} HttpSession;

/* peer.c: connections and requests in flight per client address */
typedef struct Peer Peer;
struct sockaddr;
int			peer_init(const BridgeConfig *cfg);
void		peer_free(void);
int			peer_key(const struct sockaddr *sa, unsigned char key[16]);
int			peer_connections(const unsigned char key[16]);
Peer	   *peer_conn_open(const unsigned char key[16]);
void		peer_conn_close(Peer *p);
int			peer_inflight_take(Peer *p, int max);
void		peer_inflight_done(Peer *p);

/* config.c */
int			config_load(BridgeConfig *cfg, int argc, char **argv);

/* log.c */
void		log_request(const RequestSlot *slot, uint64_t duration_us);
void		log_msg(const char *level, const char *fmt, ...)
			__attribute__((format(printf, 2, 3)));
uint64_t	now_us(void);

/* metrics.c: counters the others increment; gauges come in a snapshot from the caller */
typedef struct MetricsGauges
{
	int			pool_size;
	int			pool_ready;
	int			pool_busy;
	int			pool_queued;
	int			inflight;
} MetricsGauges;
void		metrics_request(int status, uint64_t duration_us);
void		metrics_socket(int delta);
void		metrics_event(void);
void		metrics_refused(const char *reason);
size_t		metrics_render(char *buf, size_t cap, const MetricsGauges *gauges);

/* json.c */
int			json_check(const char *s, size_t len, int depth_max, int fields_max,
					   const char **error);
size_t		json_escape(char *dst, size_t cap, const char *src, size_t len);

/* message.c: a WebSocket message from its fragments */
void		message_append(char *buf, size_t *used, size_t cap, int *too_big, const void *in,
						   size_t len);
const char *message_verdict(const char *buf, size_t used, int too_big, int depth_max,
							int fields_max);

/* context.c: the client facts given to fraud scoring, read from a request's headers */
typedef struct ClientContext
{
	char		ip[64];			/* the socket's peer address; "": unknown */
	char		user_agent[PGW_CONTEXT_USER_AGENT_MAX + 1];	/* "": none or too long */
	char		device_id[PGW_CONTEXT_DEVICE_ID_MAX + 1];	/* X-Device-Id; "": none or too long */
} ClientContext;
void		context_read(struct lws *wsi, ClientContext *c);

/* proxy.c: trusted reverse proxies and the client address they forward (fraud scoring) */
int			proxy_configure(const char *list);
void		proxy_client_address(struct lws *wsi, char *ip, size_t len);

/* slot.c: the request slots, request ids, the jsonb envelope */
int			slot_init(const BridgeConfig *cfg);
void		slot_free(void);
int			slot_inflight(void);
RequestSlot *slot_acquire(const SlotSink *sink, void *client);
RequestSlot *slot_acquire_reserved(const SlotSink *sink, void *client);
#define PGW_SLOTS_RESERVED 2	/* beyond inflight_max: /healthz and /metrics only */
void		slot_release(RequestSlot *slot);
void		slot_detach(const SlotSink *sink, const void *client);
void		slot_new_request_id(RequestSlot *slot);
void		slot_request_id(RequestSlot *slot, const char *given, int len);
int			slot_args_begin(RequestSlot *slot, const RouteParams *params, int api_key,
							char query[][1024], int n_query);
int			slot_args_add(RequestSlot *slot, size_t *n, const char *text, size_t len);
int			slot_args_add_string(RequestSlot *slot, size_t *n, const char *text);
int			slot_args_add_text(RequestSlot *slot, size_t *n, const char *text, size_t len);
int			slot_args_envelope(RequestSlot *slot);
void		slot_context(RequestSlot *slot, const ClientContext *c);
void		slot_callback_headers(RequestSlot *slot, const char *const *names,
								  char *const *values, int count);

/* reply.c: a slot's outcome in its profile's shape, handed to the transport's send */
typedef void (*ReplySend) (RequestSlot *slot, int status, const char *body, size_t len);
void		reply_send(RequestSlot *slot, int status, const char *body, size_t len,
					   ReplySend send);
void		reply_error(RequestSlot *slot, int status, const char *code, const char *msg,
						const char *detail, ReplySend send);
void		reply_result(RequestSlot *slot, PGresult *res, ReplySend send);

/* cookie.c: the cashier web page's session cookie */
#define PGW_COOKIE_NAME "pgw_cashier"
void		cookie_init(const BridgeConfig *cfg);
int			cookie_bearer(struct lws *wsi, char *token, size_t size);
int			cookie_same_origin(struct lws *wsi);
void		cookie_set(RequestSlot *slot, const char *value, const char *max_age);

/* static.c: the files of /docs/ under docs_dir */
void		static_init(const BridgeConfig *cfg);
void		static_free(void);
int			static_reply(RequestSlot *slot, int method, const char *path, ReplySend send);

/* document.c: a document route's result rendered as HTML or PDF */
int			document_render(RequestSlot *slot, const char *json, size_t len, char **out,
							size_t *n, const char **content_type);

/* pool.c: knows slots and their sinks, no transport */
typedef void (*PoolEventHandler) (const char *payload);
#define POOL_EVENT_HANDLERS_MAX 4
#define POOL_LISTEN_MAX 64		/* LISTEN connections: one per scale-out data node */
int			pool_start(struct lws_context *ctx, struct lws_vhost *vh, const BridgeConfig *cfg);
void		pool_stop(void);
int			pool_on_event(PoolEventHandler handler);
int			pool_submit(RequestSlot *slot);
void		pool_forget(RequestSlot *slot);
int			pool_size(void);
int			pool_busy(void);
int			pool_ready(void);
int			pool_queued(void);
extern const struct lws_protocols pool_protocol;
extern const struct lws_protocols listen_protocol;

/* client.c: client connections, their per-address caps and request bodies (http.c's) */
typedef struct HttpConn
{
	struct lws *wsi;
	Peer	   *peer;
	char	   *body;			/* grows up to the request's Content-Length */
	size_t		body_len;
	size_t		body_cap;
	size_t		body_expected;
	uint64_t	body_started_us;
	int			reading;		/* in the list of bodies being read */
	struct HttpConn *prev, *next;
} HttpConn;
struct lws_filter_network_conn_args;
void		client_init(struct lws_context *ctx, const BridgeConfig *cfg);
void		client_free(void);
int			client_filter(const struct lws_filter_network_conn_args *filt);
int			client_open(struct lws *wsi);
void		client_close(struct lws *wsi);
void		client_read_begin(HttpConn *c, size_t expected);
int			client_read(HttpConn *c, const void *in, size_t len);
void		client_read_end(HttpConn *c);

/* http.c: the HTTP transport */
extern const struct lws_protocols http_protocol;
extern int	http_shutting_down;
void		http_init(struct lws_context *ctx, const BridgeConfig *cfg);
void		http_free(void);

/* ws.c: the WebSocket transport */
int			ws_init(struct lws_context *ctx, const BridgeConfig *cfg);
void		ws_free(void);
int			ws_callback(struct lws *wsi, enum lws_callback_reasons reason, HttpSession *pss,
						void *in, size_t len);
void		ws_close_all(void);
int			ws_open_count(void);

/* sio.c: the socket.io transport (Engine.IO v4, socket.io v5; sio_socket.c) */
int			sio_init(struct lws_context *ctx, const BridgeConfig *cfg);
void		sio_stop(void);
int			sio_claims(struct lws *wsi, enum lws_callback_reasons reason, HttpSession *pss,
					   void *in);
int			sio_callback(struct lws *wsi, enum lws_callback_reasons reason, HttpSession *pss,
						 void *in, size_t len);

/* sio_session.c: the Engine.IO sessions under it */
void		sio_free(void);
void		sio_close_all(void);
int			sio_open_count(void);

/* profile.c */
typedef struct StatusMap
{
	const char *sqlstate;		/* a full code, or a two-character class */
	int			status;
} StatusMap;
const Route *profile_route(const Profile *p, int method, const char *subpath,
						   RouteParams *params);
int			profile_status(const StatusMap *map, size_t n, const char *sqlstate);
const char *profile_public_code(const char *code, const char **message);
const Profile *profile_find(const char *path, const char **subpath);
void		profiles_init(const BridgeConfig *cfg);
void		profiles_print(FILE *out);

/* profile_waas.c, profile_sellapay.c, profile_tribble.c, profile_partners.c */
extern Profile waas_profile;
extern Profile sellapay_profile;
extern Profile tribble_profile;
const char *tribble_error_code(int status, const char *code);
extern Profile partners_profile;
size_t		waas_render_error(char *dst, size_t cap, int status, const char *code,
							  const char *message, const char *detail, const char *field,
							  const char *request_id);
extern Profile cashier_profile;
extern const Route cashier_connect_route;
extern const Route cashier_message_route;
extern const Route cashier_events_route;

/* siphash.c */
uint64_t	siphash24(const unsigned char key[16], const void *data, size_t len);

/* ratelimit.c: counters and tables keyed by a keyed hash, never by the text */
#define RATE_TIERED_WINDOWS 3	/* a second, an hour, a day */
#define RATE_TIERED (-1)		/* Route.rate_per_min: limits the database reports per user */
const char *ratelimit_canonical_token(const char *header, size_t *len);
uint64_t	ratelimit_token_hash(const char *header);
uint64_t	ratelimit_hash(const char *kind, const char *who);
int			ratelimit_take(const char *kind, const char *who, int limit, int *remaining,
						   long *reset_epoch);
int			ratelimit_take_key(const char *kind, uint64_t who, int limit, int *remaining,
							   long *reset_epoch);
int			ratelimit_charge_key(const char *kind, uint64_t who, int limit, int *remaining,
								 long *reset_epoch);
uint64_t	ratelimit_token_who(uint64_t token);
uint64_t	ratelimit_token_learn(uint64_t token, const char *principal, const char *rate);
int			ratelimit_take_tiered(const char *kind, uint64_t token, int force, int *limit,
								  int *remaining, long *reset_epoch);
int			ratelimit_password_begin(int max);
void		ratelimit_password_end(void);

/* limits.c: which budget a request is counted on (a transport asks, reply.c teaches) */
typedef struct LimitRefusal
{
	int			status;			/* 429 or 503 */
	const char *code;
	const char *message;
	char		detail[32];		/* the reset time (epoch seconds) for a tiered limit */
} LimitRefusal;
void		limits_init(const BridgeConfig *cfg);
int			limits_check(RequestSlot *slot, const char *peer, LimitRefusal *refusal);
int			limits_submit(RequestSlot *slot, LimitRefusal *refusal);
void		limits_learn(RequestSlot *slot, int status, const char *principal,
						 const char *rate);
void		limits_release(RequestSlot *slot);

#endif
