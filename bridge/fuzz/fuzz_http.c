/*
 * fuzz_http.c — libFuzzer target: the parts of an HTTP request that are the bridge's own
 * (not libwebsockets'): X-Request-ID, routing of the path, the Authorization header's
 * canonical token and its rate-limit key, the budgets of limits.c, the query arguments and
 * the body in the envelope, and the request context (slot.c). Input: lines "METHOD-BYTE
 * PATH", "X-Request-ID", "Authorization", then query arguments "k=v" one a line up to an
 * empty line, then the body. Whatever the input, a body that json_check accepts must make a
 * valid JSON envelope, the request context (the Authorization line as its User-Agent and
 * device id) must be valid JSON, and the canonical token must be what the database reads (no
 * blank at either end).
 */
#include "fuzz.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int			LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Checked once before fuzzing: SipHash-2-4's reference vectors (key 00..0f, messages 00..,
 * the paper's appendix), that a full table evicts rather than refuses (3 x 8,192 distinct
 * addresses each pass their first request), and that a counter still refuses past its limit
 * (within one window: a minute that ends between the calls starts the count again).
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char key[16], msg[64];
	char		who[32];
	int			remaining;
	long		reset, reset2, reset3;

	(void) argc;
	(void) argv;
	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char) i;
	memcpy(key, msg, sizeof(key));
	if (siphash24(key, msg, 0) != 0x726fdb47dd0e0e31ULL ||
		siphash24(key, msg, 15) != 0xa129ca6149be45e5ULL ||
		siphash24(key, msg, 63) != 0x958a324ceb064572ULL)
	{
		fprintf(stderr, "siphash24 does not give the reference vectors\n");
		abort();
	}
	for (int i = 0; i < 3 * 8192; i++)
	{
		snprintf(who, sizeof(who), "10.%d.%d.1", i / 256, i % 256);
		if (!ratelimit_take("selftest", who, 1, &remaining, &reset))
		{
			fprintf(stderr, "a new key was refused in a full table (%d)\n", i);
			abort();
		}
	}
	if (!ratelimit_take("selftest", "10.255.0.1", 2, &remaining, &reset) ||
		!ratelimit_take("selftest", "10.255.0.1", 2, &remaining, &reset2) ||
		(ratelimit_take("selftest", "10.255.0.1", 2, &remaining, &reset3) && reset == reset3))
	{
		fprintf(stderr, "a counter does not refuse past its limit\n");
		abort();
	}
	return 0;
}

/* The next line of the input (without its '\n') into dst, NUL-terminated and cut at cap. */
static size_t
next_line(const char **p, const char *end, char *dst, size_t cap)
{
	const char *nl = memchr(*p, '\n', (size_t) (end - *p));
	size_t		n = nl ? (size_t) (nl - *p) : (size_t) (end - *p);
	size_t		k = n < cap - 1 ? n : cap - 1;

	memcpy(dst, *p, k);
	dst[k] = '\0';
	*p += n + (nl ? 1 : 0);
	return n;
}

static void
check_token(RequestSlot *s, const char *auth)
{
	size_t		n;
	const char *t = ratelimit_canonical_token(auth, &n);

	if (n > 0 && (t[0] == ' ' || t[0] == '\t' || t[n - 1] == ' ' || t[n - 1] == '\t'))
		abort();
	if ((ratelimit_token_hash(auth) == 0) != (n == 0))
		abort();
	snprintf(s->token, sizeof(s->token), "%s", auth);
	s->has_token = auth[0] != '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char query[PGW_QUERY_ARGS_MAX][1024];
	static const int methods[] = {LWSHUMETH_GET, LWSHUMETH_POST, LWSHUMETH_DELETE};
	const char *p = (const char *) data, *end = p + size;
	char		line[PGW_TOKEN_MAX];
	RouteParams params;
	const char *subpath = NULL, *why = NULL;
	RequestSlot *s = &fuzz_slot;
	LimitRefusal refusal;
	int			n_query = 0, prefix;
	size_t		n;

	fuzz_setup();
	if (size < 1 || size > 32768)
		return 0;
	s->method = methods[(unsigned char) *p++ % 3];
	next_line(&p, end, s->path, sizeof(s->path));
	s->profile = profile_find(s->path, &subpath);
	s->route = s->profile ? profile_route(s->profile, s->method, subpath, &params) :
		NULL;
	n = next_line(&p, end, line, PGW_REQUEST_ID_MAX);
	slot_request_id(s, line, n < PGW_REQUEST_ID_MAX ? (int) n : -1);
	if (strlen(s->request_id) == 0 || strlen(s->request_id) >= PGW_REQUEST_ID_MAX)
		abort();
	next_line(&p, end, line, sizeof(line));
	check_token(s, line);
	/* the Authorization line as a User-Agent and X-Device-Id too: the context must be JSON */
	{
		ClientContext ctx = {"192.0.2.1", "", ""};

		snprintf(ctx.user_agent, sizeof(ctx.user_agent), "%s", line);
		snprintf(ctx.device_id, sizeof(ctx.device_id), "%s", line);
		slot_context(s, &ctx);
	}
	if (s->context[0])
		fuzz_assert_json("a request context", s->context, strlen(s->context));
	while (p < end && n_query < PGW_QUERY_ARGS_MAX &&
		   next_line(&p, end, query[n_query], sizeof(query[0])) > 0)
		n_query++;
	if (!s->route)
		return 0;
	s->api_key[0] = s->api_secret[0] = '\0';
	if (limits_check(s, "192.0.2.1", &refusal) && limits_submit(s, &refusal))
		limits_learn(s, 200, n_query ? query[0] : NULL, n_query > 1 ? query[1] : NULL);
	limits_release(s);
	prefix = slot_args_begin(s, &params, s->route->auth == AUTH_API_KEY, query, n_query);
	n = (size_t) (end - p);
	if (prefix < 0 || n > fuzz_cfg.body_bytes_max ||
		json_check(p, n, fuzz_cfg.json_depth_max, fuzz_cfg.json_fields_max, &why) != 0)
		return 0;
	{
		size_t		len = (size_t) prefix;

		if (s->route->raw_body)
		{
			/* a partner callback: the body as a string, the Authorization line as headers */
			const char *const names[] = {"webhook-id", "webhook-timestamp", "webhook-signature"};
			char	   *values[] = {line, line, line};

			slot_callback_headers(s, names, values, 3);
			fuzz_assert_json("a callback's headers", s->callback_headers,
							 strlen(s->callback_headers));
			if (slot_args_add_text(s, &len, p, n) || slot_args_add(s, &len, ",\"headers\":", 11) ||
				slot_args_add(s, &len, s->callback_headers, strlen(s->callback_headers)) ||
				slot_args_add(s, &len, "}", 1))
				return 0;
		}
		else if (slot_args_add(s, &len, p, n) || slot_args_add(s, &len, "}", 1))
			return 0;
		fuzz_assert_json("a request's envelope", s->args, len);
	}
	return 0;
}
