/*
 * cookie.c — the cashier web page's session (issue 17): a browser cannot put an
 * Authorization header on a WebSocket, so the page signs in over REST
 * (POST <cashier_base_path>/auth/login) and the bridge keeps the access token in an HttpOnly
 * cookie, which the page's script never reads and which authenticates the cashier socket and
 * the sign-out of the same origin.
 *
 * Owns: the cookie's name and attributes (HttpOnly, SameSite=Strict, Path the cashier's base
 * path, Secure behind TLS), what a cookie value may hold (a JWT's characters only: nothing
 * that could end a header), and the same-origin rule for a request that the cookie
 * authenticates (an Origin header, when a browser sends one, must be the bridge's own: a
 * page elsewhere cannot use a signed-in user's socket). Must never decide whether a token is
 * valid (the database does) nor log a cookie.
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"

static const BridgeConfig *cookie_cfg;

void
cookie_init(const BridgeConfig *cfg)
{
	cookie_cfg = cfg;
}

/* A JWT's characters (base64url and the dots): a value that holds anything else is refused. */
static int
token_chars(const char *v)
{
	return strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
		strlen(v);
}

/* The request came from a page of this bridge: no Origin (not a browser), or our own. */
int
cookie_same_origin(struct lws *wsi)
{
	const BridgeConfig *cfg = cookie_cfg;
	char		origin[256], host[256], own[300];
	int			n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);

	if (n <= 0)
		return 1;
	if (n >= (int) sizeof(origin) || lws_hdr_copy(wsi, origin, sizeof(origin),
												  WSI_TOKEN_ORIGIN) != n)
		return 0;
	if (cfg->public_url[0] && strcmp(origin, cfg->public_url) == 0)
		return 1;
	n = lws_hdr_total_length(wsi, WSI_TOKEN_HOST);
	if (n <= 0 || n >= (int) sizeof(host) ||
		lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) != n)
		return 0;
	snprintf(own, sizeof(own), "%s://%s", cfg->tls_cert[0] ? "https" : "http", host);
	return strcmp(origin, own) == 0;
}

/*
 * The session cookie of a same-origin request as an Authorization value ("Bearer <jwt>")
 * in token: 1, or 0 when there is none, it is malformed, or the request comes from
 * another origin.
 */
int
cookie_bearer(struct lws *wsi, char *token, size_t size)
{
	char		value[PGW_TOKEN_MAX];
	size_t		len = sizeof(value);

	if (size < sizeof("Bearer ") || lws_http_cookie_get(wsi, PGW_COOKIE_NAME, value, &len) ||
		len == 0 || !token_chars(value) || !cookie_same_origin(wsi) ||
		(size_t) snprintf(token, size, "Bearer %s", value) >= size)
	{
		if (size)
			token[0] = '\0';
		return 0;
	}
	return 1;
}

/*
 * The Set-Cookie of a cashier sign-in (value: the access token, max_age: its lifetime) or
 * sign-out (value "", max_age "0": the browser drops it). A value that is not a JWT's
 * characters, or a max_age that is not a number, sets nothing.
 */
void
cookie_set(RequestSlot *s, const char *value, const char *max_age)
{
	const BridgeConfig *cfg = cookie_cfg;
	int			secure = cfg->tls_cert[0] || strncmp(cfg->public_url, "https:", 6) == 0;

	s->set_cookie[0] = '\0';
	if (!value || !max_age || !token_chars(value) || !max_age[0] ||
		strspn(max_age, "0123456789") != strlen(max_age) || strlen(max_age) > 9)
		return;
	if ((size_t) snprintf(s->set_cookie, sizeof(s->set_cookie),
						  "%s=%s; Path=%s; Max-Age=%s; HttpOnly; SameSite=Strict%s",
						  PGW_COOKIE_NAME, value, cfg->cashier_base_path, max_age,
						  secure ? "; Secure" : "") >= sizeof(s->set_cookie))
		s->set_cookie[0] = '\0';
}
