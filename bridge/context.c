/*
 * context.c — what fraud scoring may know of the client behind a connection: the client
 * address (the socket's peer, or what a trusted proxy forwards: proxy.c), User-Agent and
 * X-Device-Id, read once from the request's headers (an HTTP request's, or a WebSocket's
 * handshake) and kept within the bounds the database takes. slot.c renders it as the call's
 * $3 (slot_context). Both transports use it.
 *
 * Owns: those three values and their bounds. Must never read a forwarded address itself
 * (proxy.c decides whom to believe: a client must not choose the address it is scored by),
 * cut a value (too long is left out), or log any of them.
 */
#include <string.h>

#include "bridge.h"

void
context_read(struct lws *wsi, ClientContext *c)
{
	memset(c, 0, sizeof(*c));
	if (!lws_get_peer_simple(wsi, c->ip, sizeof(c->ip)))
		c->ip[0] = '\0';
	else
		proxy_client_address(wsi, c->ip, sizeof(c->ip));
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_USER_AGENT) > PGW_CONTEXT_USER_AGENT_MAX ||
		lws_hdr_copy(wsi, c->user_agent, sizeof(c->user_agent),
					 WSI_TOKEN_HTTP_USER_AGENT) < 0)
		c->user_agent[0] = '\0';
	if (lws_hdr_custom_length(wsi, "x-device-id:", 12) > PGW_CONTEXT_DEVICE_ID_MAX ||
		lws_hdr_custom_copy(wsi, c->device_id, sizeof(c->device_id), "x-device-id:", 12) < 0)
		c->device_id[0] = '\0';
}
