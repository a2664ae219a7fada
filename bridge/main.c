/*
 * main.c — pg_wallet_bridge: start-up, the event loop and graceful shutdown.
 *
 * Owns: reading the configuration, creating the one libwebsockets context and vhost (HTTP
 * and WebSocket on one port, optional TLS), starting the database pool, the service loop,
 * and SIGTERM/SIGINT: stop accepting (every new connection is refused at accept time, and
 * keep-alive connections are closed after their current reply), let in-flight requests
 * finish for up to shutdown_grace_ms, then close every socket and free everything.
 * Must never handle a request itself and never hold a secret beyond the conninfo it passes
 * to libpq.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"

static volatile sig_atomic_t signalled;
static int	interrupted;
static struct lws_context *context;
static BridgeConfig cfg;
static lws_sorted_usec_list_t drain_sul;
static uint64_t drain_started_us;

static void
on_signal(int sig)
{
	(void) sig;
	signalled = 1;
	if (context)
		lws_cancel_service(context);
}

/* Every 50 ms after SIGTERM: exit the loop once nothing is in flight or the grace is over. */
static void
drain_check(lws_sorted_usec_list_t *sul)
{
	(void) sul;
	if ((slot_inflight() == 0 && ws_open_count() == 0 && sio_open_count() == 0) ||
		now_us() - drain_started_us > (uint64_t) cfg.shutdown_grace_ms * 1000)
	{
		interrupted = 1;
		lws_cancel_service(context);
		return;
	}
	lws_sul_schedule(context, 0, &drain_sul, drain_check, 50000);
}

static void
shutdown_begin(void)
{
	if (http_shutting_down)
		return;
	http_shutting_down = 1;
	log_msg("info", "shutting down: %d request(s) in flight", slot_inflight());
	drain_started_us = now_us();
	ws_close_all();				/* 1001 going away, after their queued frames */
	sio_close_all();
	drain_check(&drain_sul);
}

/*
 * Protocol 0 carries HTTP and, after an upgrade, WebSocket: the WebSocket reasons go to
 * ws.c, every other one to http.c, so neither transport knows the other.
 */
static int
main_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			  size_t len)
{
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED && signalled)
		shutdown_begin();
	/* (lws_context_deprecate would close the listen socket, but crashes in 4.1.6) */
	if (reason == LWS_CALLBACK_FILTER_NETWORK_CONNECTION && http_shutting_down)
		return 1;				/* refuse new connections while draining */
	if (sio_claims(wsi, reason, user, in))	/* socket.io's requests and WebSockets */
		return sio_callback(wsi, reason, user, in, len);
	switch (reason)
	{
		case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		case LWS_CALLBACK_ESTABLISHED:
		case LWS_CALLBACK_RECEIVE:
		case LWS_CALLBACK_RECEIVE_PONG:
		case LWS_CALLBACK_SERVER_WRITEABLE:
		case LWS_CALLBACK_CLOSED:
			return ws_callback(wsi, reason, user, in, len);
		default:
			return http_protocol.callback(wsi, reason, user, in, len);
	}
}

/*
 * Listen exactly at listen_address (numeric, config.c checks). lws 4.1.6 with IPv6 enabled
 * binds an IPv6 socket and, for an IPv4 address, leaves the IPv6 address zero: the
 * dual-stack wildcard. So an IPv4 address gets an IPv4 socket, and an IPv6 one a socket
 * with IPV6_V6ONLY (even "::" is then IPv6 only).
 */
static void
listen_options(struct lws_context_creation_info *info)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, cfg.listen_address, a) == 1)
		info->options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	else
		info->options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY |
			LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
}

/*
 * The lws context (the global context) and its one vhost on cfg's address
 * and port, TLS when configured; NULL (logged, the context destroyed) when
 * it cannot listen. protocols: room for four, filled here.
 */
static struct lws_vhost *
listen_vhost(struct lws_protocols *protocols)
{
	struct lws_context_creation_info info;
	struct lws_vhost *vh;

	protocols[0] = http_protocol;
	protocols[0].callback = main_callback;
	protocols[1] = pool_protocol;
	protocols[2] = listen_protocol;
	memset(&protocols[3], 0, sizeof(protocols[3]));

	memset(&info, 0, sizeof(info));
	info.port = cfg.port;
	info.iface = cfg.listen_address;
	info.protocols = protocols;
	info.max_http_header_data = (unsigned short) cfg.header_bytes_max;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8;
	listen_options(&info);
	info.vhost_name = "pg_wallet_bridge";
	if (cfg.tls_cert[0])
	{
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg.tls_cert;
		info.ssl_private_key_filepath = cfg.tls_key;
		info.alpn = "http/1.1";	/* no HTTP/2: one request per connection at a time */
	}
	context = lws_create_context(&info);
	vh = context ? lws_create_vhost(context, &info) : NULL;
	if (!vh)
	{
		log_msg("error", "cannot listen on %s:%d%s", cfg.listen_address, cfg.port,
				cfg.tls_cert[0] ? " with TLS" : "");
		if (context)
			lws_context_destroy(context);
		context = NULL;
	}
	return vh;
}

/* cfg's pid_file, when set: the bridge's pid (a warning when it cannot be written). */
static void
write_pid_file(void)
{
	FILE	   *f;

	if (!cfg.pid_file[0])
		return;
	f = fopen(cfg.pid_file, "w");
	if (f)
	{
		fprintf(f, "%ld\n", (long) getpid());
		fclose(f);
	}
	else
		log_msg("warning", "cannot write pid_file %s", cfg.pid_file);
}

/* Serve until a signal's drain ends (shutdown_begin), then stop everything, sockets first. */
static void
serve_then_stop(void)
{
	while (!interrupted)
	{
		if (lws_service(context, 0) < 0)
			break;
		if (signalled && !http_shutting_down)
			shutdown_begin();
	}

	lws_sul_cancel(&drain_sul);
	pool_stop();
	sio_stop();
	ws_free();
	http_free();
	lws_context_destroy(context);
	sio_free();					/* after every socket closed */
	static_free();
	slot_free();
	peer_free();
	if (cfg.pid_file[0])
		unlink(cfg.pid_file);
	log_msg("info", "stopped");
}

int
main(int argc, char **argv)
{
	struct lws_protocols protocols[4];
	struct lws_vhost *vh;
	int			rc = config_load(&cfg, argc, argv);

	if (rc != 0)
		return rc > 0 ? 0 : 2;
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	profiles_init(&cfg);
	if (cfg.print_routes)
	{
		profiles_print(stdout);
		return 0;
	}
	if (slot_init(&cfg) != 0 || peer_init(&cfg) != 0)
	{
		log_msg("error", "out of memory allocating %d request slots", cfg.inflight_max);
		slot_free();
		peer_free();
		return 1;
	}

	vh = listen_vhost(protocols);
	if (!vh)
	{
		slot_free();
		peer_free();
		return 1;
	}
	http_init(context, &cfg);
	static_init(&cfg);
	cookie_init(&cfg);
	if (ws_init(context, &cfg) != 0 || sio_init(context, &cfg) != 0 ||
		pool_start(context, vh, &cfg) != 0)
	{
		log_msg("error", "cannot start the database pool (out of memory, or listen_conninfo)");
		sio_stop();
		ws_free();
		http_free();
		lws_context_destroy(context);
		sio_free();
		slot_free();
		peer_free();
		return 1;
	}
	write_pid_file();
	log_msg("info", "listening on %s://%s:%d (pool %d, WaaS at %s, Sellapay at %s, Tribble at %s, "
			"partner callbacks at %s)",
			cfg.tls_cert[0] ? "https" : "http", cfg.listen_address, cfg.port, cfg.pool_size,
			cfg.waas_base_path, cfg.sellapay_base_path, cfg.tribble_base_path,
			cfg.partners_base_path);

	serve_then_stop();
	return 0;
}
