/*
 * limits.c — which budget a request is counted on, before it reaches the database and once
 * the database said who sent it.
 *
 * Owns: the policy over ratelimit.c's counters:
 * - a route limited per client address (Sellapay's /authorize) counts on the address;
 * - a login or a registration (AUTH_PASSWORD: scrypt in the database) counts on the address
 *   (login_rate_per_min) and takes one of password_concurrency_max places, or is refused at
 *   once with 503 and Retry-After, so that logins cannot hold every pool connection;
 * - a route limited per token or per user counts, once the database has accepted the token
 *   (its canonical form: a re-spelt Authorization header is the same token), on the key the
 *   database resolved: the principal (Tribble, per user and KYC tier: a new login shares
 *   the user's budget) or the token (Sellapay: per token, as its spec says). Before that
 *   (a new, unknown or invalid token, or none) it counts on the client address
 *   (preauth_rate_per_min), and, once accepted, it is charged to the principal as well.
 * Must never keep a token or an address (ratelimit.c keeps keyed hashes only), and never
 * send anything (the transport renders a refusal).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

static const BridgeConfig *limits_cfg;

void
limits_init(const BridgeConfig *cfg)
{
	limits_cfg = cfg;
}

static int
refuse(RequestSlot *s, LimitRefusal *r, int status, const char *message)
{
	long		wait_s = s->rl_reset - (long) time(NULL);

	r->status = status;
	r->code = status == 429 ? "RATE_LIMITED" : "SERVICE_UNAVAILABLE";
	r->message = message;
	r->detail[0] = '\0';
	/* Tribble's 429 body says when to retry (retryAfter, resetAt: tribble_render_error reads
	 * the reset from the detail), whichever budget refused: its tiers or a per-address one */
	if (status == 429 && s->rl_reset > 0 && s->profile == &tribble_profile)
		snprintf(r->detail, sizeof(r->detail), "%ld", s->rl_reset);
	s->retry_after_s = status == 503 ? 1 : wait_s > 0 ? (int) wait_s : 1;
	s->close_after = 0;
	return 0;
}

/* Count on the client address under kind: 1 when the request may go on. */
static int
take_address(RequestSlot *s, const char *kind, const char *peer, int limit)
{
	s->rl_limit = limit;
	return ratelimit_take(kind, peer, limit, &s->rl_remaining, &s->rl_reset);
}

/* A route with a token: per user or token once accepted, per address before. */
static int
check_token(RequestSlot *s, const char *peer, LimitRefusal *r)
{
	uint64_t	who;

	s->rl_token = s->has_token ? ratelimit_token_hash(s->token) : 0;
	who = ratelimit_token_who(s->rl_token);
	if (!who)
	{
		s->rl_unknown = 1;
		if (!take_address(s, "preauth", peer, limits_cfg->preauth_rate_per_min))
			return refuse(s, r, 429, "Too many requests; retry after the reset time");
		s->rl_limit = 0;		/* the token's headers come once it is accepted */
		return 1;
	}
	if (s->route->rate_per_min == RATE_TIERED)
	{
		if (!ratelimit_take_tiered(s->profile->name, s->rl_token, 0, &s->rl_limit,
								   &s->rl_remaining, &s->rl_reset))
			return refuse(s, r, 429, "Too many requests. Please try again later.");
		return 1;
	}
	s->rl_limit = s->route->rate_per_min;
	if (!ratelimit_take_key(s->route->function, who, s->rl_limit, &s->rl_remaining,
							&s->rl_reset))
		return refuse(s, r, 429, "Too many requests; retry after the reset time");
	return 1;
}

/*
 * Count the request whose route and credentials are known: 1 when it may go on, 0 when it
 * is refused (refusal filled; the slot's X-RateLimit-* and Retry-After values are set).
 */
int
limits_check(RequestSlot *s, const char *peer, LimitRefusal *r)
{
	const Route *route = s->route;

	s->rl_limit = 0;
	s->rl_token = 0;
	s->rl_unknown = 0;
	s->retry_after_s = 0;
	if (route->auth == AUTH_PASSWORD)
	{
		if (!take_address(s, "password", peer, limits_cfg->login_rate_per_min))
			return refuse(s, r, 429, "Too many attempts; retry after the reset time");
		return 1;
	}
	if (route->rate_per_min == 0)
		return 1;
	if (route->rate_by_ip)
	{
		if (!take_address(s, route->function, peer, route->rate_per_min))
			return refuse(s, r, 429, "Too many requests; retry after the reset time");
		return 1;
	}
	return check_token(s, peer, r);
}

/*
 * The request is complete and goes to the pool: password work takes one of
 * password_concurrency_max places (given back when the slot is released), or is refused
 * at once. Taken here, not with the headers, so that a slow body holds no place.
 */
int
limits_submit(RequestSlot *s, LimitRefusal *r)
{
	if (s->route->auth != AUTH_PASSWORD || s->password_work)
		return 1;
	if (!ratelimit_password_begin(limits_cfg->password_concurrency_max))
		return refuse(s, r, 503, "Too many logins at once; retry shortly");
	s->password_work = 1;
	return 1;
}

/*
 * The database answered with status: a token it accepted is remembered with the principal
 * and the limits it reported (NULL when none), and a request let through before is charged.
 * A tiered route learns only from a reply naming the principal (with its limits).
 */
void
limits_learn(RequestSlot *s, int status, const char *principal, const char *rate)
{
	if (!s->route || !s->rl_token || s->route->rate_per_min == 0 || s->route->rate_by_ip)
		return;
	if (principal || rate)
		ratelimit_token_learn(s->rl_token, principal, rate);
	else if (s->route->rate_per_min != RATE_TIERED && status < 500 && status != 401 &&
			 s->rl_unknown)
		ratelimit_token_learn(s->rl_token, NULL, NULL);
	else
		return;
	if (!s->rl_unknown)
		return;
	s->rl_unknown = 0;
	if (s->route->rate_per_min == RATE_TIERED)
		ratelimit_take_tiered(s->profile->name, s->rl_token, 1, &s->rl_limit, &s->rl_remaining,
							  &s->rl_reset);
	else
	{
		s->rl_limit = s->route->rate_per_min;
		ratelimit_charge_key(s->route->function, ratelimit_token_who(s->rl_token), s->rl_limit,
							 &s->rl_remaining, &s->rl_reset);
	}
}

/* The request is over: give back its place in the password work. */
void
limits_release(RequestSlot *s)
{
	if (s->password_work)
		ratelimit_password_end();
	s->password_work = 0;
}
