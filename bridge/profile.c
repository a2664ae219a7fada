/*
 * profile.c — what the profiles share: the list of mounted profiles, matching a path under
 * a profile's base path to a route, looking a SQLSTATE up in a status map, and the public
 * name of an error code (clients are never shown a SQLSTATE).
 *
 * Owns: the order in which base paths are tried, the public names of the standard SQLSTATE
 * classes. Must never know a profile's endpoints or statuses (they are in
 * profile_<name>.c); the WL codes' names and meanings are src/errors.tsv's.
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "wallet_errors.h"

typedef struct WlName
{
	const char *sqlstate;
	const char *name;
	const char *meaning;
} WlName;

static const WlName wl_names[] = {
	PGW_WL_NAMES
};

static const Profile *profiles[5];
static size_t n_profiles;

/*
 * Not "profile_init": libkrb5 (loaded by libpq for GSSAPI on TCP connections) calls its own
 * profile_init(), and an executable's function of that name interposes it.
 */
void
profiles_init(const BridgeConfig *cfg)
{
	waas_profile.base_path = cfg->waas_base_path;
	sellapay_profile.base_path = cfg->sellapay_base_path;
	tribble_profile.base_path = cfg->tribble_base_path;
	partners_profile.base_path = cfg->partners_base_path;
	cashier_profile.base_path = cfg->cashier_base_path;
	n_profiles = 0;
	profiles[n_profiles++] = &waas_profile;
	profiles[n_profiles++] = &sellapay_profile;
	profiles[n_profiles++] = &tribble_profile;
	profiles[n_profiles++] = &partners_profile;
	profiles[n_profiles++] = &cashier_profile;
}

/*
 * Every route, one per line: profile, method, base path + pattern, SQL function, success
 * status (pg_wallet_bridge --routes; test/contract/routes.js compares them with the OpenAPI
 * documents).
 */
void
profiles_print(FILE *out)
{
	static const char *const methods[] = {
		[LWSHUMETH_GET] = "GET", [LWSHUMETH_POST] = "POST", [LWSHUMETH_PUT] = "PUT",
		[LWSHUMETH_DELETE] = "DELETE", [LWSHUMETH_PATCH] = "PATCH",
	};
	const size_t n_methods = sizeof(methods) / sizeof(methods[0]);

	for (size_t i = 0; i < n_profiles; i++)
		for (size_t r = 0; r < profiles[i]->n_routes; r++)
		{
			const Route *rt = &profiles[i]->routes[r];
			const char *m = rt->method >= 0 && (size_t) rt->method < n_methods &&
				methods[rt->method] ? methods[rt->method] : "?";

			fprintf(out, "%s %s %s%s %s %d\n", profiles[i]->name, m, profiles[i]->base_path,
					rt->pattern, rt->function, rt->success_status);
		}
}

/*
 * The profile whose base path prefixes path (at a "/", or the whole path: the base path alone
 * is that profile's 404, in its shape), and the rest of the path.
 */
const Profile *
profile_find(const char *path, const char **subpath)
{
	for (size_t i = 0; i < n_profiles; i++)
	{
		size_t		n = strlen(profiles[i]->base_path);

		if (strncmp(path, profiles[i]->base_path, n) == 0 &&
			(path[n] == '/' || path[n] == '\0'))
		{
			*subpath = path + n;
			return profiles[i];
		}
	}
	return NULL;
}

/*
 * Match subpath against pattern; a ":id" or ":key" segment of the pattern matches one
 * non-empty segment of the path, copied into params (refused when it does not fit).
 */
static int
match(const char *pattern, const char *path, RouteParams *params)
{
	while (*pattern && *path)
	{
		if (*pattern == ':')
		{
			size_t		n = strcspn(path, "/");
			int			is_key = strncmp(pattern, ":key", 4) == 0;
			char	   *dst = is_key ? params->key : params->id;
			size_t		cap = is_key ? sizeof(params->key) : sizeof(params->id);

			if (n == 0 || n >= cap)
				return 0;
			memcpy(dst, path, n);
			dst[n] = '\0';
			path += n;
			pattern += strcspn(pattern, "/");
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	if (*path == '/' && path[1] == '\0')
		path++;					/* a trailing slash is the same path */
	return *pattern == '\0' && *path == '\0';
}

const Route *
profile_route(const Profile *p, int method, const char *subpath, RouteParams *params)
{
	for (size_t i = 0; i < p->n_routes; i++)
	{
		params->id[0] = params->key[0] = '\0';
		if (p->routes[i].method == method && match(p->routes[i].pattern, subpath, params))
			return &p->routes[i];
	}
	params->id[0] = params->key[0] = '\0';
	return NULL;
}

int
profile_status(const StatusMap *map, size_t n, const char *sqlstate)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(map[i].sqlstate, sqlstate, strlen(map[i].sqlstate)) == 0)
			return map[i].status;
	return 500;
}

/*
 * The public name of an error code: a WL code's name in src/errors.tsv (and *message
 * becomes its listed meaning, never the ledger's wording), a standard SQLSTATE's class
 * name, or the bridge's own code (NOT_FOUND, RATE_LIMITED, ...) as it is.
 */
const char *
profile_public_code(const char *code, const char **message)
{
	size_t		n = strlen(code);

	for (size_t i = 0; i < sizeof(wl_names) / sizeof(wl_names[0]); i++)
		if (strcmp(wl_names[i].sqlstate, code) == 0)
		{
			*message = wl_names[i].meaning;
			return wl_names[i].name;
		}
	if (n != 5 || strspn(code, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 5)
		return code;
	if (strncmp(code, "22", 2) == 0 || strcmp(code, "54000") == 0)
		return "INVALID_REQUEST";
	if (strcmp(code, "23505") == 0)
		return "CONFLICT";
	if (strcmp(code, "57014") == 0)
		return "TIMEOUT";
	return "INTERNAL_ERROR";
}
