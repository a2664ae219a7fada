/*
 * message.c — a WebSocket text message from its fragments, and whether it may become a call.
 *
 * Owns: appending a fragment within a bound (a message that outgrows it is remembered as too
 * large and its bytes dropped), and the verdict on a complete message: bounded JSON or the
 * text of the error frame to answer. Kept apart from ws.c so that the fuzzer
 * (bridge/fuzz/fuzz_ws.c) can run it without a socket. Must never look inside a message
 * beyond json_check and never log it.
 */
#include <string.h>

#include "bridge.h"

/* Append one fragment of len bytes to buf (*used of cap); *too_big once it does not fit. */
void
message_append(char *buf, size_t *used, size_t cap, int *too_big, const void *in, size_t len)
{
	if (*too_big || len > cap - *used)
	{
		*too_big = 1;
		return;
	}
	memcpy(buf + *used, in, len);
	*used += len;
}

/* A complete message: NULL when it may be sent as a call, else the error frame's message. */
const char *
message_verdict(const char *buf, size_t used, int too_big, int depth_max, int fields_max)
{
	const char *why = NULL;

	if (too_big)
		return "message too large";
	if (json_check(buf, used, depth_max, fields_max, &why) != 0)
		return "invalid request format";
	return NULL;
}
