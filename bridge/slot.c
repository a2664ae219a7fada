/*
 * slot.c — the request slots: one request in flight, whatever transport brought it.
 *
 * Owns: the fixed table of slots (every buffer allocated once by slot_init), acquiring a slot
 * for a transport's sink and client handle and releasing it (with the request's log line and
 * its count in the metrics), forgetting a client that went away, generated request ids, and
 * the jsonb envelope passed as $2 (bounded appends; the plain {"request_id","body"} envelope
 * of a message transport), and the request context passed as $3 (the values a transport
 * read, each kept only when the database will take it). Must never know a transport (it
 * stores the sink a transport registers and calls nothing of it), never talk to the
 * database, and never look inside a body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"

static RequestSlot *slots;
static int	n_slots;
static int	n_inflight;
static uint64_t request_seq;
static uint64_t request_salt;
static const char *public_url = "";	/* the configuration's, for the envelope's "base" */

/* Allocate inflight_max slots and their buffers; -1 when out of memory (call slot_free). */
int
slot_init(const BridgeConfig *cfg)
{
	struct timespec ts;

	public_url = cfg->public_url;
	n_slots = cfg->inflight_max + PGW_SLOTS_RESERVED;
	slots = calloc((size_t) n_slots, sizeof(RequestSlot));
	if (!slots)
		return -1;
	for (int i = 0; i < n_slots; i++)
	{
		RequestSlot *s = &slots[i];

		/* the envelope: the body plus room for ids, base, path and query arguments */
		s->args_cap = cfg->body_bytes_max + PGW_PATH_MAX * 2 + PGW_QUERY_ARGS_MAX * 1100 + 1024;
		s->reply_cap = cfg->response_bytes_max;
		s->body = malloc(cfg->body_bytes_max + 1);
		s->args = malloc(s->args_cap);
		s->reply = malloc(LWS_PRE + s->reply_cap);
		if (!s->body || !s->args || !s->reply)
			return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	request_salt = ((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) ts.tv_sec ^ (uint64_t) getpid();
	return 0;
}

void
slot_free(void)
{
	for (int i = 0; slots && i < n_slots; i++)
	{
		free(slots[i].body);
		free(slots[i].args);
		free(slots[i].reply);
	}
	free(slots);
	slots = NULL;
}

int
slot_inflight(void)
{
	return n_inflight;
}

/* A free slot of [from, to), reset, for sink's client; NULL when none is free. */
static RequestSlot *
slot_take(const SlotSink *sink, void *client, int from, int to)
{
	for (int i = from; i < to; i++)
		if (slots[i].state == SLOT_FREE)
		{
			RequestSlot *s = &slots[i];

			s->sink = sink;
			s->client = client;
			s->peer = NULL;
			s->conn = NULL;
			s->next_queued = NULL;
			s->route = NULL;
			s->profile = NULL;
			s->rl_limit = 0;
			s->rl_token = 0;
			s->rl_unknown = 0;
			s->password_work = 0;
			s->retry_after_s = 0;
			s->api_key[0] = '\0';
			s->api_secret[0] = '\0';
			s->context[0] = '\0';
			s->body_len = 0;
			s->reply_len = 0;
			s->status = 0;
			s->close_after = 0;
			s->has_token = 0;
			s->sqlstate[0] = '\0';
			s->error_field[0] = '\0';
			s->bridge_owner_id = 0;
			s->bridge_stream_owner_id = 0;
			s->bridge_last_event_id = -1;
			s->bridge_more = 0;
			s->bridge_silent = 0;
			s->content_type = "application/json";
			s->static_body = NULL;
			s->set_cookie[0] = '\0';
			s->static_csp = NULL;
			s->started_us = now_us();
			s->state = SLOT_READING;
			n_inflight++;
			return s;
		}
	return NULL;
}

/* A slot for a request; NULL when inflight_max requests are in flight. */
RequestSlot *
slot_acquire(const SlotSink *sink, void *client)
{
	return slot_take(sink, client, 0, n_slots - PGW_SLOTS_RESERVED);
}

/* A slot for /healthz or /metrics: the reserved ones too, so traffic never starves them. */
RequestSlot *
slot_acquire_reserved(const SlotSink *sink, void *client)
{
	RequestSlot *s = slot_take(sink, client, n_slots - PGW_SLOTS_RESERVED, n_slots);

	return s ? s : slot_take(sink, client, 0, n_slots - PGW_SLOTS_RESERVED);
}

/* The request is over: log it, count it, free the slot. */
void
slot_release(RequestSlot *s)
{
	uint64_t	took = now_us() - s->started_us;

	if (s->sink && s->sink->on_release)
		s->sink->on_release(s);
	log_request(s, took);
	metrics_request(s->status, took);
	limits_release(s);
	s->state = SLOT_FREE;
	s->client = NULL;
	n_inflight--;
}

/* The client went away: its slots in flight keep running and drop their reply. */
void
slot_detach(const SlotSink *sink, const void *client)
{
	for (int i = 0; i < n_slots; i++)
		if (slots[i].state != SLOT_FREE && slots[i].sink == sink && slots[i].client == client)
			slots[i].client = NULL;
}

/* A new request id: unique per process, not guessable from the previous one. */
void
slot_new_request_id(RequestSlot *s)
{
	/* splitmix64 of a counter */
	uint64_t	z;

	request_seq++;
	z = request_salt + request_seq * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	snprintf(s->request_id, sizeof(s->request_id), "%016llx", (unsigned long long) z);
}

/* The client's request id (len bytes of given, -1: none) when 1-64 plain characters. */
void
slot_request_id(RequestSlot *s, const char *given, int len)
{
	if (len > 0 && len < PGW_REQUEST_ID_MAX && strspn(given, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == (size_t) len)
	{
		memcpy(s->request_id, given, (size_t) len);
		s->request_id[len] = '\0';
		return;
	}
	slot_new_request_id(s);
}

/* Append to the envelope; -1 when it would not fit. */
int
slot_args_add(RequestSlot *s, size_t *n, const char *text, size_t len)
{
	if (*n + len + 1 > s->args_cap)
		return -1;
	memcpy(s->args + *n, text, len);
	*n += len;
	s->args[*n] = '\0';
	return 0;
}

/* Append text as a JSON string; -1 when it would not fit. */
int
slot_args_add_string(RequestSlot *s, size_t *n, const char *text)
{
	char		esc[2048];
	size_t		k = json_escape(esc, sizeof(esc), text, strlen(text));

	if (k == (size_t) -1)
		return -1;
	return slot_args_add(s, n, "\"", 1) || slot_args_add(s, n, esc, k) ||
		slot_args_add(s, n, "\"", 1);
}

/* Append len bytes of text as a JSON string, escaped in place; -1 when it would not fit. */
int
slot_args_add_text(RequestSlot *s, size_t *n, const char *text, size_t len)
{
	size_t		k;

	if (slot_args_add(s, n, "\"", 1))
		return -1;
	k = json_escape(s->args + *n, s->args_cap - *n - 1, text, len);
	if (k == (size_t) -1)
		return -1;
	*n += k;
	return slot_args_add(s, n, "\"", 1);
}

/*
 * The envelope of a message: {"request_id", "base", "body": <the message>} (base: the public
 * URL of the profile, for links the API hands out); -1 when too large.
 */
int
slot_args_envelope(RequestSlot *s)
{
	size_t		n = 0;
	char		base[512];

	if (s->body_len == 0)
	{
		memcpy(s->body, "{}", 3);
		s->body_len = 2;
	}
	snprintf(base, sizeof(base), "%s%s", public_url,
			 s->profile && s->profile->base_path ? s->profile->base_path : "");
	if (slot_args_add(s, &n, "{\"request_id\":", 14) ||
		slot_args_add_string(s, &n, s->request_id) || slot_args_add(s, &n, ",\"base\":", 8) ||
		slot_args_add_string(s, &n, base) ||
		slot_args_add(s, &n, ",\"body\":", 8) || slot_args_add(s, &n, s->body, s->body_len) ||
		slot_args_add(s, &n, "}", 1))
		return -1;
	return 0;
}

/* "credentials":{"api_key","api_secret"} of the slot, each when given */
static int
args_credentials(RequestSlot *s, size_t *n)
{
	if (slot_args_add(s, n, ",\"credentials\":{", 16))
		return -1;
	if (s->api_key[0] && (slot_args_add(s, n, "\"api_key\":", 10) ||
						  slot_args_add_string(s, n, s->api_key)))
		return -1;
	if (s->api_secret[0] && (slot_args_add(s, n, ",", s->api_key[0] ? 1 : 0) ||
							 slot_args_add(s, n, "\"api_secret\":", 13) ||
							 slot_args_add_string(s, n, s->api_secret)))
		return -1;
	return slot_args_add(s, n, "}", 1);
}

/*
 * The envelope of a REST call up to its body: {"request_id":"…","base":"…",
 * "path":{"id":"…"[,"key":"…"]},["credentials":{…},]"query":{"k":"v",…},"body": — the body
 * and "}" follow (a raw-body route's: the body as a string, then "headers":{…}). base is the
 * public URL of the profile (public_url and its base path: links the API hands out). query
 * holds n_query "k=v" fragments (cut at the "="). Returns the length, or -1 when it does not
 * fit.
 */
int
slot_args_begin(RequestSlot *s, const RouteParams *params, int api_key, char query[][1024],
				int n_query)
{
	size_t		n = 0;
	char		base[512];

	snprintf(base, sizeof(base), "%s%s", public_url, s->profile ? s->profile->base_path : "");
	if (slot_args_add(s, &n, "{\"request_id\":", 14) ||
		slot_args_add_string(s, &n, s->request_id) || slot_args_add(s, &n, ",\"base\":", 8) ||
		slot_args_add_string(s, &n, base) || slot_args_add(s, &n, ",\"path\":{", 9))
		return -1;
	if (params->id[0] &&
		(slot_args_add(s, &n, "\"id\":", 5) || slot_args_add_string(s, &n, params->id)))
		return -1;
	if (params->key[0] &&
		(slot_args_add(s, &n, params->id[0] ? ",\"key\":" : "\"key\":", params->id[0] ? 7 : 6) ||
		 slot_args_add_string(s, &n, params->key)))
		return -1;
	if (slot_args_add(s, &n, "}", 1) || (api_key && args_credentials(s, &n)) ||
		slot_args_add(s, &n, ",\"query\":{", 10))
		return -1;
	for (int i = 0; i < n_query; i++)
	{
		char	   *eq = strchr(query[i], '=');

		if (eq)
			*eq = '\0';
		if ((i > 0 && slot_args_add(s, &n, ",", 1)) || slot_args_add_string(s, &n, query[i]) ||
			slot_args_add(s, &n, ":", 1) || slot_args_add_string(s, &n, eq ? eq + 1 : ""))
			return -1;
	}
	if (slot_args_add(s, &n, "},\"body\":", 9))
		return -1;
	return (int) n;
}

/* A context value the database will take: 1 to max bytes of printable ASCII. */
static int
context_value_ok(const char *v, size_t max)
{
	size_t		n = v ? strnlen(v, max + 1) : 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) v[i] < 0x20 || (unsigned char) v[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * The request context of fraud scoring, passed as the call's $3 (pool.c):
 * {"ip","user_agent","device_id"}, each value only when it is 1 to its bound of printable
 * ASCII (pg_wallet.set_request_context refuses control characters and longer values, and
 * the bridge does not guess at other bytes): a value that is not is left out, never cut.
 * Nothing at all leaves the context empty ($3 NULL).
 */
void
slot_context(RequestSlot *s, const ClientContext *c)
{
	const char *const keys[3] = {"ip", "user_agent", "device_id"};
	const char *const values[3] = {c->ip, c->user_agent, c->device_id};
	const size_t max[3] = {PGW_CONTEXT_IP_MAX, PGW_CONTEXT_USER_AGENT_MAX,
	PGW_CONTEXT_DEVICE_ID_MAX};
	char		esc[2 * PGW_CONTEXT_USER_AGENT_MAX + 1];
	size_t		n = 0;

	s->context[0] = '\0';
	for (int i = 0; i < 3; i++)
	{
		size_t		k;
		int			w;

		if (!context_value_ok(values[i], max[i]))
			continue;
		k = json_escape(esc, sizeof(esc), values[i], strlen(values[i]));
		if (k == (size_t) -1)
			continue;
		w = snprintf(s->context + n, sizeof(s->context) - n, "%c\"%s\":\"%s\"",
					 n ? ',' : '{', keys[i], esc);
		if (w < 0 || (size_t) w >= sizeof(s->context) - n - 1)
		{
			s->context[n] = '\0';	/* cannot happen: the buffer holds all three */
			continue;
		}
		n += (size_t) w;
	}
	if (n > 0)
	{
		s->context[n] = '}';
		s->context[n + 1] = '\0';
	}
}

/*
 * The signature headers of a partner's callback (a raw-body route), as the JSON object the
 * envelope carries after the body: each header given with 1 to PGW_CALLBACK_HEADER_MAX
 * printable ASCII characters, under its lower-case name; any other is left out (never cut),
 * and the database then says which one is missing.
 */
void
slot_callback_headers(RequestSlot *s, const char *const *names, char *const *values, int count)
{
	char		esc[2 * PGW_CALLBACK_HEADER_MAX + 1];
	size_t		n = 1;

	strcpy(s->callback_headers, "{");
	for (int i = 0; i < count; i++)
	{
		size_t		k;
		int			w;

		if (!context_value_ok(values[i], PGW_CALLBACK_HEADER_MAX))
			continue;
		k = json_escape(esc, sizeof(esc), values[i], strlen(values[i]));
		if (k == (size_t) -1)
			continue;
		w = snprintf(s->callback_headers + n, sizeof(s->callback_headers) - n,
					 "%s\"%s\":\"%s\"", n > 1 ? "," : "", names[i], esc);
		if (w < 0 || (size_t) w >= sizeof(s->callback_headers) - n - 1)
		{
			s->callback_headers[n] = '\0';	/* cannot happen: the buffer holds all three */
			continue;
		}
		n += (size_t) w;
	}
	strcpy(s->callback_headers + n, "}");
}
