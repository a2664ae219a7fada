/*
 * fuzz_router.c — libFuzzer target: the router (bridge/profile.c) and each profile's status
 * map and error body (profile_*.c). Input: one byte choosing the method, then the path (up
 * to the first NUL; the rest is a SQLSTATE and a message). Every matched route must be one
 * of its profile's, its ":id" and ":key" bounded; every error body must be valid JSON.
 */
#include "fuzz.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int methods[] = {LWSHUMETH_GET, LWSHUMETH_POST, LWSHUMETH_PUT,
LWSHUMETH_DELETE, LWSHUMETH_PATCH, LWSHUMETH_OPTIONS};

static void
render_each(const char *code, const char *message, const char *detail)
{
	static const Profile *all[] = {&waas_profile, &sellapay_profile, &tribble_profile,
	&cashier_profile, &partners_profile};
	char		body[PGW_MESSAGE_MAX * 5];
	static const int statuses[] = {400, 401, 402, 404, 409, 429, 500, 503};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
	{
		int			status = all[i]->status_for(code);
		size_t		n;

		if (status < 400 || status > 599)
			abort();
		for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++)
		{
			/* the field a refusal names: none, or text the input chose */
			n = all[i]->render_error(body, sizeof(body), statuses[k], code, message, detail,
									 k % 2 ? detail : NULL, "0123456789abcdef");
			if (n >= sizeof(body))
				abort();
			if (n > 0)
				fuzz_assert_json("an error body", body, n);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		path[PGW_PATH_MAX], code[PGW_SQLSTATE_LEN], message[PGW_MESSAGE_MAX];
	RouteParams params;
	const char *subpath = NULL;
	const Profile *p;
	size_t		n, rest;

	fuzz_setup();
	if (size < 1)
		return 0;
	n = strnlen((const char *) data + 1, size - 1);
	if (n >= sizeof(path))
		return 0;
	memcpy(path, data + 1, n);
	path[n] = '\0';
	p = profile_find(path, &subpath);
	if (p)
	{
		const Route *r = profile_route(p, methods[data[0] % 6], subpath, &params);

		if (r && (r < p->routes || r >= p->routes + p->n_routes))
			abort();
		if (strlen(params.id) >= sizeof(params.id) || strlen(params.key) >= sizeof(params.key) ||
			(r == NULL && (params.id[0] || params.key[0])))
			abort();
	}
	/* after the path's NUL: a SQLSTATE (5 bytes) and a message */
	rest = size - 1 - n;
	if (rest < 1 + 5)
		return 0;
	memcpy(code, data + 2 + n, 5);
	code[5] = '\0';
	rest -= 6;
	if (rest >= sizeof(message))
		rest = sizeof(message) - 1;
	memcpy(message, data + 7 + n, rest);
	message[rest] = '\0';
	render_each(code, message, rest > 3 ? message + rest / 2 : NULL);
	return 0;
}
