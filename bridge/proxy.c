/*
 * proxy.c — the reverse proxies whose X-Forwarded-For the bridge believes
 * (trusted_proxies), and the client address they forward, for fraud scoring only.
 *
 * Owns: the parsed list (at most PGW_PROXIES_MAX CIDR ranges, IPv4 kept as IPv4-mapped IPv6)
 * and the rule: only when the socket's peer is in a trusted range is X-Forwarded-For read,
 * from the right; each address that is itself a trusted proxy is skipped, and the first one
 * that is not is the client. A header that is too long, empty or holds anything but address
 * literals leaves the last good address (at worst the proxy's own). Must never read
 * Forwarded or X-Real-IP, believe a header from an untrusted peer, or log an address.
 * The per-address limits (peer.c, ratelimit.c) keep counting the socket's peer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

#define PGW_PROXIES_MAX 16
#define PGW_XFF_MAX 1024

typedef struct ProxyRange
{
	unsigned char addr[16];
	int			bits;			/* prefix length over the 128-bit form */
} ProxyRange;

static ProxyRange ranges[PGW_PROXIES_MAX];
static int	n_ranges;

/* An address literal as peer.c keys a socket's address (peer_key); 0 when it is none. */
static int
addr16(const char *text, unsigned char out[16], int *v4)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};

	*v4 = inet_pton(AF_INET6, text, &s6.sin6_addr) != 1;
	if (*v4 && inet_pton(AF_INET, text, &s4.sin_addr) != 1)
		return 0;
	return peer_key(*v4 ? (const struct sockaddr *) &s4 : (const struct sockaddr *) &s6, out);
}

static int
in_range(const ProxyRange *r, const unsigned char a[16])
{
	int			full = r->bits / 8, rest = r->bits % 8;

	if (memcmp(r->addr, a, full) != 0)
		return 0;
	return rest == 0 || ((r->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

/* Parse "CIDR, CIDR, ..." (an address alone is a /32 or /128); -1 with a message on error. */
int
proxy_configure(const char *list)
{
	char		buf[sizeof(((BridgeConfig *) 0)->trusted_proxies)];
	char	   *save = NULL;

	n_ranges = 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
	{
		char	   *slash = strchr(tok, '/');
		char	   *end = NULL;
		long		bits;
		int			v4;
		ProxyRange *r = &ranges[n_ranges];

		if (n_ranges == PGW_PROXIES_MAX)
		{
			fprintf(stderr, "trusted_proxies: at most %d ranges\n", PGW_PROXIES_MAX);
			return -1;
		}
		if (slash)
			*slash = '\0';
		if (!addr16(tok, r->addr, &v4))
		{
			fprintf(stderr, "trusted_proxies: \"%s\" is not an IPv4 or IPv6 address\n", tok);
			return -1;
		}
		bits = v4 ? 32 : 128;
		if (slash)
		{
			bits = strtol(slash + 1, &end, 10);
			if (end == slash + 1 || *end || bits < 0 || bits > (v4 ? 32 : 128))
			{
				fprintf(stderr, "trusted_proxies: bad prefix length in \"%s/%s\"\n", tok,
						slash + 1);
				return -1;
			}
		}
		r->bits = (int) bits + (v4 ? 96 : 0);
		n_ranges++;
	}
	return 0;
}

/* Whether the address literal is in a trusted range. */
static int
proxy_trusted(const char *ip)
{
	unsigned char a[16];
	int			v4;

	if (n_ranges == 0 || !addr16(ip, a, &v4))
		return 0;
	for (int i = 0; i < n_ranges; i++)
		if (in_range(&ranges[i], a))
			return 1;
	return 0;
}

/* One X-Forwarded-For element, trimmed, as a canonical literal in out; 0 when it is none. */
static int
element(char *s, char *out, size_t len)
{
	unsigned char a[16];
	int			v4;
	char	   *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	if (!addr16(s, a, &v4))
		return 0;
	return inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, out, (socklen_t) len) != NULL;
}

/*
 * The client address for fraud scoring: ip holds the socket's peer; when that is a trusted
 * proxy, it is replaced by the address X-Forwarded-For names (see the header).
 */
void
proxy_client_address(struct lws *wsi, char *ip, size_t len)
{
	char		xff[PGW_XFF_MAX + 1];
	char		addr[64];
	int			n;

	if (!proxy_trusted(ip))
		return;
	n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
	if (n <= 0 || n > PGW_XFF_MAX ||
		lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) < 0)
		return;
	for (;;)
	{
		char	   *comma = strrchr(xff, ',');
		char	   *last = comma ? comma + 1 : xff;

		if (!element(last, addr, sizeof(addr)) || strlen(addr) >= len)
			return;
		snprintf(ip, len, "%s", addr);
		if (!proxy_trusted(addr) || !comma)
			return;
		*comma = '\0';
	}
}
