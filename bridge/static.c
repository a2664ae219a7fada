/*
 * static.c — the files for people that the bridge serves as they are (issue 17): the API
 * documents and their renderers under /docs/, from the directory of the docs_dir setting
 * (the repository's docs/api, whose package.json brings the renderers from npm), and the
 * cashier web page under /cashier/, from cashier_page_dir (bridge/cashier_page).
 *
 * Owns: the fixed table of URLs and the files behind them (no path from a request ever names
 * a file: a URL not in the table is 404), their content types and Content-Security-Policy,
 * and the copies kept in memory (read once, on first request, freed at exit). Must never
 * serve anything outside the table, nor a file whose directory setting is unset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

/* The renderers run scripts and styles of the page's own origin; nothing else is fetched. */
#define CSP_PAGE "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " \
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:"
/* AsyncAPI's component compiles its schemas with Ajv (new Function): its page alone may eval */
#define CSP_EVAL "default-src 'none'; script-src 'self' 'unsafe-eval'; " \
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " \
	"connect-src 'self'"
#define CSP_DATA "default-src 'none'"
/* the cashier page: its own script and style; requests and the socket to this bridge only */
#define CSP_CASHIER "default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; " \
	"base-uri 'none'"

typedef struct StaticFile
{
	const char *url;			/* the whole path, e.g. /docs/openapi/waas.json */
	int			page;			/* 0: under docs_dir; 1: under cashier_page_dir */
	const char *file;
	const char *content_type;
	const char *csp;
} StaticFile;

static const StaticFile static_files[] = {
	{"/docs/", 0, "index.html", "text/html; charset=utf-8", CSP_PAGE},
	{"/docs/openapi.html", 0, "openapi.html", "text/html; charset=utf-8", CSP_PAGE},
	{"/docs/asyncapi.html", 0, "asyncapi.html", "text/html; charset=utf-8", CSP_EVAL},
	{"/docs/docs.js", 0, "docs.js", "text/javascript; charset=utf-8", CSP_DATA},
	{"/docs/docs.css", 0, "docs.css", "text/css; charset=utf-8", CSP_DATA},
	{"/docs/openapi/waas.json", 0, "openapi/waas.json", "application/json", CSP_DATA},
	{"/docs/openapi/sellapay.json", 0, "openapi/sellapay.json", "application/json", CSP_DATA},
	{"/docs/openapi/tribble.json", 0, "openapi/tribble.json", "application/json", CSP_DATA},
	{"/docs/openapi/partners.json", 0, "openapi/partners.json", "application/json", CSP_DATA},
	{"/docs/openapi/cashier.json", 0, "openapi/cashier.json", "application/json", CSP_DATA},
	{"/docs/asyncapi/cashier.json", 0, "asyncapi/cashier.json", "application/json", CSP_DATA},
	{"/docs/asyncapi/socketio.json", 0, "asyncapi/socketio.json", "application/json", CSP_DATA},
	{"/docs/vendor/redoc.js", 0, "node_modules/redoc/bundles/redoc.standalone.js",
	"text/javascript; charset=utf-8", CSP_DATA},
	{"/docs/vendor/asyncapi.js", 0,
		"node_modules/@asyncapi/react-component/browser/standalone/index.js",
	"text/javascript; charset=utf-8", CSP_DATA},
	{"/docs/vendor/asyncapi.css", 0,
		"node_modules/@asyncapi/react-component/styles/default.min.css",
	"text/css; charset=utf-8", CSP_DATA},
	{"/cashier/", 1, "index.html", "text/html; charset=utf-8", CSP_CASHIER},
	{"/cashier/cashier.js", 1, "cashier.js", "text/javascript; charset=utf-8", CSP_DATA},
	{"/cashier/cashier.css", 1, "cashier.css", "text/css; charset=utf-8", CSP_DATA},
};

#define N_STATIC (sizeof(static_files) / sizeof(static_files[0]))
#define STATIC_BYTES_MAX (16 * 1024 * 1024)

/* each file's bytes after LWS_PRE bytes of headroom (lws_write wants it), once read */
static char *cache[N_STATIC];
static size_t cache_len[N_STATIC];
static const BridgeConfig *static_cfg;

void
static_init(const BridgeConfig *cfg)
{
	static_cfg = cfg;
}

void
static_free(void)
{
	for (size_t i = 0; i < N_STATIC; i++)
	{
		free(cache[i]);
		cache[i] = NULL;
	}
}

/* Read file i into the cache: 0, or -1 (missing, unreadable, too large). */
static int
load(size_t i)
{
	char		path[1024];
	FILE	   *f;
	long		n;
	char	   *buf;
	const char *dir = static_files[i].page ? static_cfg->cashier_page_dir :
		static_cfg->docs_dir;

	if (!dir[0] || (size_t) snprintf(path, sizeof(path), "%s/%s", dir,
									 static_files[i].file) >= sizeof(path) ||
		!(f = fopen(path, "rb")))
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > STATIC_BYTES_MAX ||
		fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc(LWS_PRE + (size_t) n + 1)))
	{
		fclose(f);
		return -1;
	}
	if (fread(buf + LWS_PRE, 1, (size_t) n, f) != (size_t) n)
	{
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	cache[i] = buf;
	cache_len[i] = (size_t) n;
	return 0;
}

/*
 * The file behind path, when path is one of the table's and docs_dir is set: 1 and the slot
 * holds the reply (200, or 404 when the file is not installed); 0 when path is not static.
 */
int
static_reply(RequestSlot *s, int method, const char *path, ReplySend send)
{
	if (!static_cfg || method != LWSHUMETH_GET)
		return 0;
	for (size_t i = 0; i < N_STATIC; i++)
	{
		if (strcmp(path, static_files[i].url) != 0 ||
			!(static_files[i].page ? static_cfg->cashier_page_dir : static_cfg->docs_dir)[0])
			continue;
		if (!cache[i] && load(i) != 0)
		{
			reply_error(s, 404, "NOT_FOUND", "not installed on this server",
						"run npm ci in docs/api", send);
			return 1;
		}
		s->content_type = static_files[i].content_type;
		s->static_body = cache[i];
		s->static_csp = static_files[i].csp;
		send(s, 200, NULL, cache_len[i]);
		return 1;
	}
	return 0;
}
