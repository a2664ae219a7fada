/*
 * pool.c — the bridge's database connections, driven by the libwebsockets loop.
 *
 * Owns: pool_size request connections and one LISTEN connection; connecting them without
 * blocking (PQconnectStart, then PQconnectPoll on a short timer), adopting dup(PQsocket())
 * into the loop as a raw file descriptor (lws closes what it adopts, so it gets a copy, and
 * a reconnected connection is adopted again), sending one parameterised call per request (each
 * route's call prepared once per connection, then run by name; the request context as a
 * parameter of the same statement),
 * collecting the result, reconnecting with exponential backoff when the server goes away,
 * the queue of requests waiting for a free connection, and handing each notification heard on
 * the LISTEN connection to the handlers registered with pool_on_event.
 * A request's outcome goes to the callbacks its transport registered on the slot (SlotSink).
 * Must never know a transport (no http_* or ws_* call), never build SQL from request data
 * (the only SQL texts are fixed here; the function name comes from a compiled-in route
 * table), never block the loop, and never read a table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"

#define CONNECT_POLL_US 2000
#define CONNECT_TIMEOUT_US (10 * 1000000)
#define BACKOFF_MIN_MS 100
#define POOL_PREPARED_MAX 256	/* statements kept per connection: more than all routes */

typedef enum { PC_DOWN, PC_CONNECTING, PC_INIT, PC_IDLE, PC_BUSY } PcState;

typedef struct PoolConn
{
	lws_sorted_usec_list_t sul;	/* first: the timer callback casts back to the conn */
	int			index;
	int			is_listen;
	const char *conninfo;		/* conninfo, or its listen_conninfo entry */
	PcState		state;
	PGconn	   *pg;
	struct lws *raw;
	RequestSlot *slot;
	PGresult   *result;
	int			backoff_ms;
	uint64_t	connect_started_us;
	const char *preparing;		/* PC_BUSY on the preparation of this route function's call */
	int			n_prepared;
	const char *prepared[POOL_PREPARED_MAX];	/* route functions prepared on this link */
} PoolConn;

static struct lws_context *pool_ctx;
static struct lws_vhost *pool_vh;
static const BridgeConfig *pool_cfg;
static PoolConn *conns;
static int	n_conns;			/* pool_size, then one LISTEN connection per listen_conninfo entry */
static char listen_infos[POOL_LISTEN_MAX][sizeof(((BridgeConfig *) 0)->listen_conninfo)];
static RequestSlot *queue_head, *queue_tail;
static int	n_queued;
static int	stopping;
static PoolEventHandler event_handlers[POOL_EVENT_HANDLERS_MAX];
static int	n_event_handlers;

static void conn_timer(lws_sorted_usec_list_t *sul);
static void conn_prepared_done(PoolConn *c);
static void pool_dispatch(void);

/* Server notices (a FATAL on restart, RAISE NOTICE) are not the bridge's to print. */
static void
notice_ignore(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

/* The first line of libpq's message: no SQL context reaches the log. */
static const char *
first_line(const char *msg, char *buf, size_t cap)
{
	size_t		n = strcspn(msg, "\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	return buf;
}
static void pool_dispatch(void);

static void
conn_schedule(PoolConn *c, uint64_t delay_us)
{
	lws_sul_schedule(pool_ctx, 0, &c->sul, conn_timer, (lws_usec_t) delay_us);
}

/* Forget the connection and try again after the backoff. */
static void
conn_broken(PoolConn *c, const char *why)
{
	RequestSlot *slot = c->slot;
	char		line[256];

	/* log the first failure of a series, not every retry of the backoff */
	if (c->state != PC_DOWN && (c->backoff_ms == 0 || c->state != PC_CONNECTING))
		log_msg("warning", "database connection %d%s lost: %s", c->index,
				c->is_listen ? " (LISTEN)" : "", first_line(why, line, sizeof(line)));
	c->slot = NULL;
	if (c->result)
		PQclear(c->result);
	c->result = NULL;
	if (c->raw)
	{
		lws_set_opaque_user_data(c->raw, NULL);
		lws_set_timeout(c->raw, 1, LWS_TO_KILL_ASYNC);
		c->raw = NULL;
	}
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->state = PC_DOWN;
	c->preparing = NULL;
	c->n_prepared = 0;			/* a new session has no prepared statements */
	if (slot)
	{
		slot->conn = NULL;
		slot->sink->on_error(slot, 503, "SERVICE_UNAVAILABLE", "database connection lost");
	}
	if (stopping)
		return;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (c->backoff_ms > pool_cfg->reconnect_max_ms)
		c->backoff_ms = pool_cfg->reconnect_max_ms;
	conn_schedule(c, (uint64_t) c->backoff_ms * 1000);
}

/* Send a query; 0 on success. The caller sets state. */
static int
conn_send(PoolConn *c, const char *sql, int n_params, const char *const *values)
{
	if (!PQsendQueryParams(c->pg, sql, n_params, NULL, values, NULL, NULL, 0))
		return -1;
	if (PQflush(c->pg) == 1)
		lws_callback_on_writable(c->raw);
	return 0;
}

/* The first query of a new connection: LISTEN, or the statement timeout. */
static void
conn_init(PoolConn *c)
{
	char		sql[160];

	if (c->is_listen)
	{
		char	   *ident = PQescapeIdentifier(c->pg, pool_cfg->listen_channel,
											   strlen(pool_cfg->listen_channel));

		if (!ident)
		{
			conn_broken(c, "cannot quote the LISTEN channel");
			return;
		}
		snprintf(sql, sizeof(sql), "LISTEN %s", ident);
		PQfreemem(ident);
	}
	else
		snprintf(sql, sizeof(sql), "SET statement_timeout = %d", pool_cfg->request_timeout_ms);
	c->state = PC_INIT;
	if (conn_send(c, sql, 0, NULL) != 0)
		conn_broken(c, PQerrorMessage(c->pg));
}

static void
conn_adopt(PoolConn *c)
{
	lws_sock_file_fd_type fd;

	fd.filefd = dup(PQsocket(c->pg));
	if (fd.filefd < 0 || PQsetnonblocking(c->pg, 1) != 0)
	{
		if (fd.filefd >= 0)
			close(fd.filefd);
		conn_broken(c, "cannot adopt the socket");
		return;
	}
	c->raw = lws_adopt_descriptor_vhost(pool_vh, LWS_ADOPT_RAW_FILE_DESC, fd,
										c->is_listen ? "pgw-listen" : "pgw-pool", NULL);
	if (!c->raw)
	{
		conn_broken(c, "lws refused the socket");
		return;
	}
	lws_set_opaque_user_data(c->raw, c);
	if (c->backoff_ms)
		log_msg("info", "database connection %d%s is back", c->index,
				c->is_listen ? " (LISTEN)" : "");
	c->backoff_ms = 0;
	conn_init(c);
}

/* Timer: start a connection, or advance one that is being made. */
static void
conn_timer(lws_sorted_usec_list_t *sul)
{
	PoolConn   *c = (PoolConn *) sul;

	if (stopping)
		return;
	if (c->state == PC_DOWN)
	{
		c->pg = PQconnectStart(c->conninfo);
		if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD)
		{
			c->state = PC_CONNECTING;	/* so conn_broken logs it */
			conn_broken(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
			return;
		}
		PQsetNoticeProcessor(c->pg, notice_ignore, NULL);
		c->state = PC_CONNECTING;
		c->connect_started_us = now_us();
		conn_schedule(c, CONNECT_POLL_US);
		return;
	}
	if (c->state != PC_CONNECTING)
		return;
	switch (PQconnectPoll(c->pg))
	{
		case PGRES_POLLING_OK:
			conn_adopt(c);
			return;
		case PGRES_POLLING_FAILED:
			conn_broken(c, PQerrorMessage(c->pg));
			return;
		default:
			if (now_us() - c->connect_started_us > CONNECT_TIMEOUT_US)
				conn_broken(c, "connect timed out");
			else
				conn_schedule(c, CONNECT_POLL_US);
	}
}

/* The query of a request finished: hand the result to the slot's transport. */
static void
conn_done(PoolConn *c)
{
	RequestSlot *slot = c->slot;
	PGresult   *res = c->result;

	c->slot = NULL;
	c->result = NULL;
	c->state = PC_IDLE;
	if (slot)
	{
		slot->conn = NULL;
		slot->sink->on_result(slot, res);
	}
	if (res)
		PQclear(res);
}

/* Readable: consume, drain notifications, collect results. -1 when the link is dead. */
static int
conn_readable(PoolConn *c)
{
	PGnotify   *n;
	PGresult   *res;

	if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD)
		return -1;
	while ((n = PQnotifies(c->pg)) != NULL)
	{
		metrics_event();
		for (int i = 0; i < n_event_handlers; i++)
			event_handlers[i] (n->extra);
		PQfreemem(n);
	}
	while (c->state == PC_BUSY || c->state == PC_INIT)
	{
		if (PQisBusy(c->pg))
			return 0;
		res = PQgetResult(c->pg);
		if (!res && c->preparing)
		{
			conn_prepared_done(c);	/* sends the call itself: results follow */
			continue;
		}
		if (!res)
		{
			if (c->state == PC_INIT)
				c->state = PC_IDLE;
			else
				conn_done(c);
			if (!c->is_listen)
				pool_dispatch();
			return 0;
		}
		if (c->state == PC_BUSY && !c->result)
			c->result = res;
		else
		{
			if (c->state == PC_INIT && PQresultStatus(res) != PGRES_COMMAND_OK)
				log_msg("error", "connection set-up failed: %s", PQresultErrorMessage(res));
			PQclear(res);
		}
	}
	return 0;
}

static int
pool_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			  size_t len)
{
	PoolConn   *c = lws_get_opaque_user_data(wsi);

	(void) user;
	(void) in;
	(void) len;
	switch (reason)
	{
		case LWS_CALLBACK_RAW_RX_FILE:
			if (c && c->raw == wsi && conn_readable(c) != 0)
				conn_broken(c, "the server closed the connection");
			break;
		case LWS_CALLBACK_RAW_WRITEABLE_FILE:
			if (c && c->raw == wsi)
			{
				int			r = PQflush(c->pg);

				if (r == 1)
					lws_callback_on_writable(wsi);
				else if (r < 0)
					conn_broken(c, PQerrorMessage(c->pg));
			}
			break;
		case LWS_CALLBACK_RAW_CLOSE_FILE:
			if (c && c->raw == wsi)
			{
				c->raw = NULL;
				conn_broken(c, "socket closed");
			}
			break;
		default:
			break;
	}
	return 0;
}

const struct lws_protocols pool_protocol = {"pgw-pool", pool_callback, 0, 0, 0, NULL, 0};
const struct lws_protocols listen_protocol = {"pgw-listen", pool_callback, 0, 0, 0, NULL, 0};

/*
 * The call of a route, as one fixed text: the function name is a compile-time constant of a
 * profile's route table. Its reply columns are what the transports read (slot.c). $3, the
 * request context (slot_context; NULL when none), goes to pg_wallet.api_request_context,
 * which sets it for fraud scoring and hands $2 on: as an argument of the route's function it
 * runs first, in the same statement and so the same transaction.
 */
static int
call_sql(const char *function, char *sql, size_t size)
{
	return snprintf(sql, size,
					"SELECT r #>> '{error,code}', r #>> '{error,message}', "
					"(r #> '{error,body}')::text, (r - '_bridge')::text, "
					"r #>> '{_bridge,owner_id}', r #>> '{_bridge,last_event_id}', "
					"r #>> '{_bridge,more}', r #>> '{_bridge,silent}', r #>> '{_bridge,rate}', "
					"r #>> '{_bridge,principal}', r #>> '{_bridge,stream_owner_id}', "
					"r #>> '{_bridge,cookie}', r #>> '{_bridge,cookie_max_age}' "
					"FROM pg_wallet.%s($1, pg_wallet.api_request_context($2::jsonb, $3::jsonb)) "
					"AS r", function) < (int) size ? 0 : -1;
}

/* The name of a route's prepared statement on every connection. */
static void
statement_name(const char *function, char *name, size_t size)
{
	snprintf(name, size, "pgw_%s", function);
}

static int
conn_has_prepared(const PoolConn *c, const char *function)
{
	for (int i = 0; i < c->n_prepared; i++)
		if (strcmp(c->prepared[i], function) == 0)	/* routes may share a function */
			return 1;
	return 0;
}

/*
 * Send the call of c's slot: as its route's prepared statement when this connection has it
 * (parse, analysis and the plan are kept by the server), else as a one-off text.
 */
static void
conn_exec(PoolConn *c)
{
	RequestSlot *slot = c->slot;
	const char *values[3];
	char		name[96];
	char		sql[640];
	int			rc;

	values[0] = slot->has_token ? slot->token : NULL;
	values[1] = slot->args;
	values[2] = slot->context[0] ? slot->context : NULL;
	if (conn_has_prepared(c, slot->route->function))
	{
		statement_name(slot->route->function, name, sizeof(name));
		rc = PQsendQueryPrepared(c->pg, name, 3, values, NULL, NULL, 0) ? 0 : -1;
		if (rc == 0 && PQflush(c->pg) == 1)
			lws_callback_on_writable(c->raw);
	}
	else if (call_sql(slot->route->function, sql, sizeof(sql)) == 0)
		rc = conn_send(c, sql, 3, values);
	else
	{
		/* cannot happen: route names are short */
		c->slot = NULL;
		c->state = PC_IDLE;
		slot->conn = NULL;
		slot->sink->on_error(slot, 500, "INTERNAL_ERROR", "internal error");
		return;
	}
	if (rc != 0)
		conn_broken(c, PQerrorMessage(c->pg));
}

/*
 * The preparation sent by conn_run finished: remember it if it worked, then run the call (a
 * client gone meanwhile leaves the connection idle).
 */
static void
conn_prepared_done(PoolConn *c)
{
	PGresult   *res = c->result;

	c->result = NULL;
	/* a failure (no such function in this database) is the call's own error, below */
	if (res && PQresultStatus(res) == PGRES_COMMAND_OK)
		c->prepared[c->n_prepared++] = c->preparing;
	c->preparing = NULL;
	if (res)
		PQclear(res);
	if (c->slot)
		conn_exec(c);			/* unprepared, the one-off text: the call still runs */
	else
	{
		c->state = PC_IDLE;
		pool_dispatch();
	}
}

/* Start the query of slot on c: its route's statement is prepared first on a new link. */
static void
conn_run(PoolConn *c, RequestSlot *slot)
{
	char		name[96];
	char		sql[640];

	c->slot = slot;
	c->state = PC_BUSY;
	slot->conn = c;
	slot->state = SLOT_RUNNING;
	if (conn_has_prepared(c, slot->route->function) || c->n_prepared >= POOL_PREPARED_MAX ||
		call_sql(slot->route->function, sql, sizeof(sql)) != 0)
	{
		conn_exec(c);
		return;
	}
	statement_name(slot->route->function, name, sizeof(name));
	c->preparing = slot->route->function;
	if (!PQsendPrepare(c->pg, name, sql, 3, NULL))
	{
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	if (PQflush(c->pg) == 1)
		lws_callback_on_writable(c->raw);
}

static void
pool_dispatch(void)
{
	for (int i = 0; i < pool_size() && queue_head; i++)
	{
		RequestSlot *slot;

		if (conns[i].state != PC_IDLE)
			continue;
		slot = queue_head;
		queue_head = slot->next_queued;
		if (!queue_head)
			queue_tail = NULL;
		slot->next_queued = NULL;
		n_queued--;
		conn_run(&conns[i], slot);
	}
}

/*
 * Register a handler of the notifications on listen_channel (payload as sent by
 * pg_wallet.emit_event); 0, or -1 when POOL_EVENT_HANDLERS_MAX are registered.
 */
int
pool_on_event(PoolEventHandler handler)
{
	if (n_event_handlers >= POOL_EVENT_HANDLERS_MAX)
		return -1;
	event_handlers[n_event_handlers++] = handler;
	return 0;
}

/* Queue a request. 0: queued or running; -1: queue full; -2: no database connection. */
int
pool_submit(RequestSlot *slot)
{
	if (pool_ready() == 0)
		return -2;
	if (n_queued >= pool_cfg->inflight_max)
		return -1;
	slot->state = SLOT_QUEUED;
	slot->next_queued = NULL;
	if (queue_tail)
		queue_tail->next_queued = slot;
	else
		queue_head = slot;
	queue_tail = slot;
	n_queued++;
	pool_dispatch();
	return 0;
}

/* The client of slot went away: drop it from the queue, or let its result be discarded. */
void
pool_forget(RequestSlot *slot)
{
	if (slot->state == SLOT_QUEUED)
	{
		RequestSlot **pp = &queue_head, *prev = NULL;

		while (*pp && *pp != slot)
		{
			prev = *pp;
			pp = &(*pp)->next_queued;
		}
		if (*pp)
		{
			*pp = slot->next_queued;
			if (queue_tail == slot)
				queue_tail = prev;
			n_queued--;
		}
		slot->next_queued = NULL;
	}
	if (slot->conn)
	{
		slot->conn->slot = NULL;
		slot->conn = NULL;
	}
}

/*
 * The LISTEN connections' libpq strings: listen_conninfo's entries separated
 * by ";" (one per scale-out data node: events are notified on the node that
 * writes them), or conninfo when it is empty. Their number, or -1 when there
 * are more than POOL_LISTEN_MAX.
 */
static int
listen_split(const BridgeConfig *cfg)
{
	const char *p = cfg->listen_conninfo;
	int			n = 0;

	if (p[0] == '\0')
	{
		snprintf(listen_infos[0], sizeof(listen_infos[0]), "%s", cfg->conninfo);
		return 1;
	}
	while (*p)
	{
		size_t		len = strcspn(p, ";");
		size_t		start = 0;

		while (start < len && isspace((unsigned char) p[start]))
			start++;
		if (len > start)
		{
			if (n == POOL_LISTEN_MAX)
				return -1;
			snprintf(listen_infos[n++], sizeof(listen_infos[0]), "%.*s",
					 (int) (len - start), p + start);
		}
		p += len;
		if (*p == ';')
			p++;
	}
	return n > 0 ? n : -1;
}

int
pool_start(struct lws_context *ctx, struct lws_vhost *vh, const BridgeConfig *cfg)
{
	int			n_listen = listen_split(cfg);

	if (n_listen < 0)
	{
		log_msg("error", "listen_conninfo: 1 to %d libpq strings separated by \";\"",
				POOL_LISTEN_MAX);
		return -1;
	}
	pool_ctx = ctx;
	pool_vh = vh;
	pool_cfg = cfg;
	n_conns = cfg->pool_size + n_listen;
	conns = calloc((size_t) n_conns, sizeof(PoolConn));
	if (!conns)
		return -1;
	for (int i = 0; i < n_conns; i++)
	{
		conns[i].index = i;
		conns[i].is_listen = (i >= cfg->pool_size);
		conns[i].conninfo = conns[i].is_listen ? listen_infos[i - cfg->pool_size]
			: cfg->conninfo;
		conns[i].state = PC_DOWN;
		conn_schedule(&conns[i], 1000);
	}
	return 0;
}

void
pool_stop(void)
{
	stopping = 1;
	for (int i = 0; i < n_conns; i++)
	{
		PoolConn   *c = &conns[i];

		lws_sul_cancel(&c->sul);
		if (c->raw)
			lws_set_opaque_user_data(c->raw, NULL);
		c->raw = NULL;
		if (c->result)
			PQclear(c->result);
		if (c->pg)
			PQfinish(c->pg);
		c->pg = NULL;
	}
	free(conns);
	conns = NULL;
	n_conns = 0;
}

int
pool_size(void)
{
	return n_conns > 0 ? pool_cfg->pool_size : 0;
}

static int
pool_count(PcState s)
{
	int			n = 0;

	for (int i = 0; i < pool_size(); i++)
		n += conns[i].state == s;
	return n;
}

int
pool_busy(void)
{
	return pool_count(PC_BUSY);
}

int
pool_ready(void)
{
	return pool_count(PC_IDLE) + pool_count(PC_BUSY);
}

int
pool_queued(void)
{
	return n_queued;
}
