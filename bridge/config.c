/*
 * config.c — configuration of pg_wallet_bridge: defaults, then a file, then the environment.
 *
 * Owns: the list of settings, their defaults and bounds, parsing "key = value" files and
 * PGW_BRIDGE_<KEY> environment variables, and --help. Must never read a setting from a
 * request, and must never print conninfo (it may carry a password).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

typedef enum { KIND_STR, KIND_INT, KIND_SIZE } Kind;

typedef struct Setting
{
	const char *key;
	Kind		kind;
	size_t		offset;
	size_t		size;			/* of a string field */
	long		min, max;
	const char *help;
} Setting;

#define S(k, f, h) \
	{k, KIND_STR, offsetof(BridgeConfig, f), sizeof(((BridgeConfig *) 0)->f), 0, 0, h}
#define I(k, f, lo, hi, h) {k, KIND_INT, offsetof(BridgeConfig, f), 0, lo, hi, h}
#define Z(k, f, lo, hi, h) {k, KIND_SIZE, offsetof(BridgeConfig, f), 0, lo, hi, h}

static const Setting settings[] = {
	S("listen_address", listen_address, "address to listen on (default 127.0.0.1)"),
	I("port", port, 1, 65535, "TCP port for HTTP and WebSocket (default 8080)"),
	S("conninfo", conninfo, "libpq connection string of the bridge's role"),
	S("listen_conninfo", listen_conninfo,
	  "the LISTEN connections', \";\" between them, when events come from elsewhere (one per "
	  "scale-out data node; conninfo)"),
	I("pool_size", pool_size, 1, 256, "database connections for requests (default 4)"),
	I("inflight_max", inflight_max, 1, 4096, "requests in flight before 503 (64)"),
	S("waas_base_path", waas_base_path, "Wallet-as-a-Service profile mount (/waas/api/v1)"),
	S("sellapay_base_path", sellapay_base_path, "Sellapay profile mount (/sellapay/api/v1)"),
	S("tribble_base_path", tribble_base_path, "Tribble profile mount (/tribble/api/v1)"),
	S("partners_base_path", partners_base_path, "partner callbacks mount (/partners)"),
	S("public_url", public_url,
	  "scheme://host[:port] clients reach the bridge at, for links (http[s]://address:port)"),
	Z("body_bytes_max", body_bytes_max, 64, 16777216, "largest request body (65536)"),
	I("header_bytes_max", header_bytes_max, 1024, 65535, "room for request headers (8192)"),
	I("json_depth_max", json_depth_max, 1, 64, "deepest JSON nesting accepted (16)"),
	I("json_fields_max", json_fields_max, 1, 100000, "most JSON members+elements (256)"),
	Z("response_bytes_max", response_bytes_max, 1024, 16777216, "largest reply (65536)"),
	I("request_timeout_ms", request_timeout_ms, 100, 600000, "per-request deadline (30000)"),
	I("shutdown_grace_ms", shutdown_grace_ms, 0, 600000, "SIGTERM: wait for in-flight (10000)"),
	I("reconnect_max_ms", reconnect_max_ms, 50, 600000, "longest reconnect backoff (5000)"),
	S("tls_cert", tls_cert, "PEM certificate: set with tls_key to serve HTTPS/WSS"),
	S("tls_key", tls_key, "PEM private key of tls_cert"),
	S("trusted_proxies", trusted_proxies,
	  "CIDR ranges of reverse proxies whose X-Forwarded-For names the client (none)"),
	S("listen_channel", listen_channel, "NOTIFY channel the LISTEN connection uses"),
	S("pid_file", pid_file, "write the process id here while running (default: none)"),
	S("docs_dir", docs_dir, "serve /docs/ (API documents) from this directory (docs/api)"),
	S("cashier_path", cashier_path, "the cashier WebSocket endpoint (/cashier/svc/ws)"),
	S("cashier_base_path", cashier_base_path,
	  "the cashier web sign-in's REST routes; keep cashier_path under it (/cashier/svc)"),
	S("cashier_page_dir", cashier_page_dir,
	  "serve the cashier web page at /cashier/ from this directory (bridge/cashier_page)"),
	I("ws_sessions_max", ws_sessions_max, 1, 4096, "WebSocket sessions at once (32)"),
	I("ws_idle_timeout_ms", ws_idle_timeout_ms, 1000, 3600000,
	  "close a WebSocket idle this long (60000)"),
	I("ws_rate_per_min", ws_rate_per_min, 1, 100000, "WebSocket messages per user/min (100)"),
	I("connections_max", connections_max, 4, 65536, "client connections at once (1024)"),
	I("connections_per_ip", connections_per_ip, 1, 65536,
	  "client connections at once from one address (64)"),
	I("inflight_per_ip", inflight_per_ip, 1, 4096,
	  "HTTP requests in flight from one address (16)"),
	I("body_timeout_ms", body_timeout_ms, 100, 600000,
	  "a request body must arrive within this (10000)"),
	I("body_min_rate", body_min_rate, 0, 100000000,
	  "bytes/s a request body must keep up after its first second (1024)"),
	I("ws_sessions_per_user", ws_sessions_per_user, 1, 4096,
	  "WebSocket sessions at once per user (4)"),
	I("ws_ping_interval_ms", ws_ping_interval_ms, 100, 3600000,
	  "ping a WebSocket silent this long (54000)"),
	I("preauth_rate_per_min", preauth_rate_per_min, 1, 1000000,
	  "requests per client address/min with no accepted token yet (120)"),
	I("login_rate_per_min", login_rate_per_min, 1, 1000000,
	  "logins and registrations per client address/min (30)"),
	I("password_concurrency_max", password_concurrency_max, 1, 256,
	  "logins and registrations in flight at once; more: 503 (2)"),
	I("sio_sessions_max", sio_sessions_max, 1, 65536, "socket.io sessions at once (1024)"),
	I("sio_ping_interval_ms", sio_ping_interval_ms, 100, 3600000,
	  "socket.io: the server pings every this long (25000)"),
	I("sio_ping_timeout_ms", sio_ping_timeout_ms, 100, 3600000,
	  "socket.io: a pong must come within this, or the session ends (20000)"),
};
#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static void
config_defaults(BridgeConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen_address, "127.0.0.1");
	cfg->port = 8080;
	strcpy(cfg->conninfo, "dbname=pgwallet");
	cfg->pool_size = 4;
	cfg->inflight_max = 64;
	strcpy(cfg->waas_base_path, "/waas/api/v1");
	strcpy(cfg->sellapay_base_path, "/sellapay/api/v1");
	strcpy(cfg->tribble_base_path, "/tribble/api/v1");
	strcpy(cfg->partners_base_path, "/partners");
	cfg->body_bytes_max = 65536;
	cfg->header_bytes_max = 8192;
	cfg->json_depth_max = 16;
	cfg->json_fields_max = 256;
	cfg->response_bytes_max = 65536;
	cfg->request_timeout_ms = 30000;
	cfg->shutdown_grace_ms = 10000;
	cfg->reconnect_max_ms = 5000;
	strcpy(cfg->listen_channel, "pg_wallet_events");
	strcpy(cfg->cashier_path, "/cashier/svc/ws");
	strcpy(cfg->cashier_base_path, "/cashier/svc");
	cfg->ws_sessions_max = 32;
	cfg->ws_idle_timeout_ms = 60000;
	cfg->ws_rate_per_min = 100;
	cfg->connections_max = 1024;
	cfg->connections_per_ip = 64;
	cfg->inflight_per_ip = 16;
	cfg->body_timeout_ms = 10000;
	cfg->body_min_rate = 1024;
	cfg->ws_sessions_per_user = 4;
	cfg->ws_ping_interval_ms = 54000;
	cfg->preauth_rate_per_min = 120;
	cfg->login_rate_per_min = 30;
	cfg->password_concurrency_max = 2;
	cfg->sio_sessions_max = 1024;
	cfg->sio_ping_interval_ms = 25000;
	cfg->sio_ping_timeout_ms = 20000;
}

static void
usage(FILE *out)
{
	fprintf(out,
			"usage: pg_wallet_bridge [--config FILE] [--routes] [--help]\n\n"
			"Serves pg_wallet's API functions over HTTP (REST) and WebSocket on one port.\n"
			"Each request is one call of pg_wallet.<api function>($1 the token, $2 the\n"
			"request as jsonb, passed through pg_wallet.api_request_context with $3,\n"
			"the client's context for fraud scoring).\n\n"
			"Settings come from defaults, then FILE (lines \"key = value\", # comments),\n"
			"then environment variables PGW_BRIDGE_<KEY> (upper case), which win:\n\n");
	for (size_t i = 0; i < N_SETTINGS; i++)
		fprintf(out, "  %-20s %s\n", settings[i].key, settings[i].help);
	fprintf(out, "\nSignals: SIGTERM/SIGINT stop accepting, finish in-flight requests\n"
			"(up to shutdown_grace_ms) and exit.\n"
			"--routes prints every REST route (profile, method, path, SQL function,\n"
			"success status) with the configured base paths, and exits.\n"
			"Endpoints: /healthz, /metrics (Prometheus), <waas_base_path>/...,\n"
			"<sellapay_base_path>/..., <tribble_base_path>/..., <partners_base_path>/...,\n"
			"<cashier_base_path>/auth/..., <cashier_path> (WebSocket), /docs/, /cashier/\n");
}

/* Every profile's base path starts with "/" and no two are the same. */
static int
base_paths_ok(const BridgeConfig *cfg)
{
	const char *const paths[] = {cfg->waas_base_path, cfg->sellapay_base_path,
	cfg->tribble_base_path, cfg->partners_base_path, cfg->cashier_base_path};
	const size_t n = sizeof(paths) / sizeof(paths[0]);

	for (size_t i = 0; i < n; i++)
	{
		if (paths[i][0] != '/')
			return 0;
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(paths[i], paths[j]))
				return 0;
	}
	return 1;
}

static int
config_set(BridgeConfig *cfg, const char *key, const char *value, const char *where)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
	{
		const Setting *s = &settings[i];
		char	   *field = (char *) cfg + s->offset;
		char	   *end;
		long		v;

		if (strcmp(s->key, key) != 0)
			continue;
		if (s->kind == KIND_STR)
		{
			if (strlen(value) >= s->size)
			{
				fprintf(stderr, "%s: %s is longer than %zu bytes\n", where, key, s->size - 1);
				return -1;
			}
			strcpy(field, value);
			return 0;
		}
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < s->min || v > s->max)
		{
			fprintf(stderr, "%s: %s must be an integer from %ld to %ld\n",
					where, key, s->min, s->max);
			return -1;
		}
		if (s->kind == KIND_INT)
			*(int *) field = (int) v;
		else
			*(size_t *) field = (size_t) v;
		return 0;
	}
	fprintf(stderr, "%s: unknown setting \"%s\" (see --help)\n", where, key);
	return -1;
}

static char *
trim(char *s)
{
	char	   *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

static int
config_file(BridgeConfig *cfg, const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		line[2048];
	char		where[600];
	int			lineno = 0, rc = 0;

	if (!f)
	{
		fprintf(stderr, "cannot open config file %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f))
	{
		char	   *eq, *k;

		lineno++;
		k = trim(line);
		if (*k == '#' || *k == '\0')
			continue;
		eq = strchr(k, '=');
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (!eq)
		{
			fprintf(stderr, "%s: expected key = value\n", where);
			rc = -1;
			break;
		}
		*eq = '\0';
		rc = config_set(cfg, trim(k), trim(eq + 1), where);
	}
	fclose(f);
	return rc;
}

static int
config_env(BridgeConfig *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
	{
		char		name[64] = "PGW_BRIDGE_";
		size_t		n = strlen(name);
		const char *v;

		for (const char *k = settings[i].key; *k && n < sizeof(name) - 1; k++)
			name[n++] = (char) toupper((unsigned char) *k);
		name[n] = '\0';
		v = getenv(name);
		if (v && config_set(cfg, settings[i].key, v, name) != 0)
			return -1;
	}
	return 0;
}

/* 0: run; 1: --help printed; -1: error (message printed). --routes sets print_routes. */
int
config_load(BridgeConfig *cfg, int argc, char **argv)
{
	const char *file = NULL;

	config_defaults(cfg);
	for (int i = 1; i < argc; i++)
	{
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
		{
			usage(stdout);
			return 1;
		}
		if (!strcmp(argv[i], "--routes"))
			cfg->print_routes = 1;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[++i];
		else
		{
			usage(stderr);
			return -1;
		}
	}
	if (file && config_file(cfg, file) != 0)
		return -1;
	if (config_env(cfg) != 0)
		return -1;
	if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0'))
	{
		fprintf(stderr, "tls_cert and tls_key must be set together\n");
		return -1;
	}
	{
		unsigned char a[16];

		/* a numeric address: an interface name or host name could bind more than asked */
		if (inet_pton(AF_INET, cfg->listen_address, a) != 1 &&
			inet_pton(AF_INET6, cfg->listen_address, a) != 1)
		{
			fprintf(stderr, "listen_address must be a numeric IPv4 or IPv6 address\n");
			return -1;
		}
	}
	if (!base_paths_ok(cfg))
	{
		fprintf(stderr, "base paths must start with / and differ\n");
		return -1;
	}
	if (cfg->public_url[0] == '\0')
		snprintf(cfg->public_url, sizeof(cfg->public_url), "%s://%s%s%s:%d",
				 cfg->tls_cert[0] ? "https" : "http", strchr(cfg->listen_address, ':') ? "[" : "",
				 cfg->listen_address, strchr(cfg->listen_address, ':') ? "]" : "", cfg->port);
	if (strncmp(cfg->public_url, "http://", 7) != 0 && strncmp(cfg->public_url, "https://", 8) != 0)
	{
		fprintf(stderr, "public_url must start with http:// or https://\n");
		return -1;
	}
	for (const char *c = cfg->public_url; *c; c++)
		if (*c <= ' ' || *c == '"' || *c == '\\' || *c == 0x7f)
		{
			fprintf(stderr, "public_url must not hold spaces, quotes or backslashes\n");
			return -1;
		}
	cfg->public_url[strcspn(cfg->public_url, "?#")] = '\0';
	if (cfg->public_url[0] && cfg->public_url[strlen(cfg->public_url) - 1] == '/')
		cfg->public_url[strlen(cfg->public_url) - 1] = '\0';
	return proxy_configure(cfg->trusted_proxies);
}
