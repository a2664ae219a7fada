/*-------------------------------------------------------------------------
 *
 * outbox_token.c
 *	  The outbox worker's M-Pesa (Daraja) OAuth tokens: GET {base_url}/oauth/
 *	  v1/generate?grant_type=client_credentials with Basic auth of the
 *	  partner's consumer_key and consumer_secret, the answer's access_token
 *	  kept per partner until expires_in less a safety margin (60 s, or half of
 *	  expires_in when that is at most 120 s), dropped on a 401, on new
 *	  credentials, or when its entry is the least recently used of a full
 *	  cache.
 *
 * Owns: the token cache, in this process's memory only. Never: writes a
 * token to a table, a log line or an error; decides a row's fate (the
 * worker does, from what this file answers: refused or unreachable).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "partners/outbox.h"

/*
 * The M-Pesa OAuth token cache: one entry per partner, in this process's
 * memory only. Bounded: when full, the entry used least recently goes.
 */
#define TOKEN_CACHE_SIZE		64
#define TOKEN_PARTNER_BYTES		64
#define TOKEN_ERROR_BYTES		256

typedef struct DarajaToken
{
	bool		used;
	char		partner[TOKEN_PARTNER_BYTES];
	char		basic[OUTBOX_MAX_HEADER_BYTES];	/* the credentials it was issued for */
	char		token[OUTBOX_MAX_TOKEN_BYTES + 1];
	TimestampTz valid_until;	/* 0: no usable token */
	uint64		gen;			/* bumped at every fetch */
	TimestampTz last_used;
	uint64		failed_turn;	/* the send turn whose fetch failed, 0: none */
	bool		failed_refused;
	char		failed_error[TOKEN_ERROR_BYTES];
} DarajaToken;

static DarajaToken token_cache[TOKEN_CACHE_SIZE];
static uint64 token_gen_counter = 0;

/* Wipe one cache entry's token. */
static void
token_forget(DarajaToken *t)
{
	explicit_bzero(t->token, sizeof(t->token));
	t->valid_until = 0;
}

/* The cache entry of a partner, taken over (the least recently used) when absent. */
static DarajaToken *
token_entry(const char *partner)
{
	DarajaToken *victim = NULL;

	for (int i = 0; i < TOKEN_CACHE_SIZE; i++)
	{
		DarajaToken *t = &token_cache[i];

		if (t->used && strcmp(t->partner, partner) == 0)
			return t;
		if (victim == NULL || !t->used ||
			(victim->used && t->last_used < victim->last_used))
			victim = t;
	}
	token_forget(victim);
	explicit_bzero(victim->basic, sizeof(victim->basic));
	victim->used = true;
	strlcpy(victim->partner, partner, sizeof(victim->partner));
	victim->failed_turn = 0;
	return victim;
}

/*
 * Read access_token and expires_in from a Daraja OAuth answer. The token
 * must be a short run of visible ASCII (it goes into a header line); Daraja
 * sends expires_in as a string ("3599") or a number.
 */
static bool
token_parse(const char *json, char *token, int token_size, int *expires_in)
{
	const char *p = strstr(json, "\"access_token\"");
	const char *e;
	int			n = 0;

	if (p == NULL)
		return false;
	p += strlen("\"access_token\"");
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p++ != ':')
		return false;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p++ != '"')
		return false;
	while (p[n] != '"')
	{
		if (p[n] <= ' ' || p[n] > '~' || p[n] == '\\' || n >= token_size - 1)
			return false;
		n++;
	}
	if (n == 0)
		return false;
	memcpy(token, p, n);
	token[n] = '\0';
	*expires_in = 3599;			/* Daraja's; used when the answer has none */
	e = strstr(json, "\"expires_in\"");
	if (e != NULL)
	{
		char	   *end;
		long		v;

		e += strlen("\"expires_in\"");
		while (*e == ' ' || *e == '\t' || *e == ':' || *e == '"' || *e == '\r' || *e == '\n')
			e++;
		v = strtol(e, &end, 10);
		if (end != e)
			*expires_in = (int) Max(0, Min(v, 86400));
	}
	return true;
}

/*
 * Fetch a new token for t from the partner's OAuth endpoint (a synchronous
 * GET), in this send turn: true when t holds it, valid until expires_in less
 * the margin; false with t->failed_error and t->failed_refused saying why.
 */
static bool
token_fetch(DarajaToken *t, const char *auth_url, const char *auth_basic, int timeout_ms,
			uint64 turn, TimestampTz now)
{
	char	   *headers[2];
	char		response[OUTBOX_MAX_AUTH_RESPONSE];
	char		transport[TOKEN_ERROR_BYTES];
	long		status;
	int			expires_in;
	int			margin;
	bool		ok = false;

	headers[0] = psprintf("Authorization: %s", auth_basic);
	headers[1] = "Accept: application/json";
	t->failed_turn = turn;
	t->failed_refused = false;
	if (!outbox_http_fetch(auth_url, headers, 2, timeout_ms, &status,
						   response, sizeof(response), transport, sizeof(transport)))
		snprintf(t->failed_error, sizeof(t->failed_error),
				 "M-Pesa OAuth token request failed: %s", transport);
	else if (status >= 400 && status < 500 && status != 408 && status != 425 && status != 429)
	{
		t->failed_refused = true;
		snprintf(t->failed_error, sizeof(t->failed_error),
				 "M-Pesa OAuth refused the partner's consumer_key and consumer_secret "
				 "(HTTP %ld); the request was not sent", status);
	}
	else if (status < 200 || status >= 300)
		snprintf(t->failed_error, sizeof(t->failed_error),
				 "M-Pesa OAuth token request failed (HTTP %ld)", status);
	else if (!token_parse(response, t->token, sizeof(t->token), &expires_in))
	{
		token_forget(t);
		snprintf(t->failed_error, sizeof(t->failed_error),
				 "M-Pesa OAuth answer has no usable access_token");
	}
	else
	{
		margin = expires_in > 120 ? 60 : (expires_in + 1) / 2;
		t->valid_until = TimestampTzPlusMilliseconds(now, (int64) (expires_in - margin) * 1000);
		t->gen = ++token_gen_counter;
		t->failed_turn = 0;
		ok = true;
	}
	explicit_bzero(response, sizeof(response));
	explicit_bzero(headers[0], strlen(headers[0]));
	pfree(headers[0]);
	return ok;
}

/*
 * A Bearer token for a partner's M-Pesa row (auth_basic: "Basic <base64
 * key:secret>", NULL when unset): the cached one while valid, else a new one
 * from the partner's OAuth endpoint (a synchronous GET, no transaction open),
 * asked at most once per send turn when it fails. NULL when none could be had: then *error says why (never a secret)
 * and *refused whether the credentials were refused (the row fails for
 * good) rather than unreachable (it is retried).
 */
const char *
outbox_token_for(const char *partner, const char *auth_url, const char *auth_basic,
				 int timeout_ms, uint64 turn, uint64 *gen, const char **error, bool *refused)
{
	DarajaToken *t;
	TimestampTz now = GetCurrentTimestamp();

	*refused = false;
	/* checked before the cache: a partner without credentials takes no entry of it */
	if (auth_basic == NULL || strlen(auth_basic) >= sizeof(t->basic))
	{
		*refused = true;
		*error = auth_basic == NULL ?
			"M-Pesa partner has no consumer_key and consumer_secret for the OAuth token "
			"(set them in its credentials with set_partner_secrets)" :
			"M-Pesa partner's consumer_key and consumer_secret are too long";
		return NULL;
	}
	t = token_entry(partner);
	t->last_used = now;
	if (strcmp(t->basic, auth_basic) != 0)
	{
		/* new credentials (set_partner_secrets): the old token is theirs no more */
		token_forget(t);
		t->failed_turn = 0;
		strlcpy(t->basic, auth_basic, sizeof(t->basic));
	}
	if (t->valid_until > now)
	{
		*gen = t->gen;
		return t->token;
	}
	if (t->failed_turn == turn)
	{
		/* already failed in this turn: do not ask again for every row */
		*refused = t->failed_refused;
		*error = t->failed_error;
		return NULL;
	}
	token_forget(t);
	if (token_fetch(t, auth_url, auth_basic, timeout_ms, turn, now))
	{
		*gen = t->gen;
		/* an expires_in at or below the margin: used for this row only, never cached */
		return t->token;
	}
	*refused = t->failed_refused;
	*error = t->failed_error;
	return NULL;
}

/* A 401 to a request sent with a token: drop that token (not a newer one). */
void
outbox_token_rejected(OutboxRequest *req)
{
	MemoryContext old;

	for (int i = 0; i < TOKEN_CACHE_SIZE; i++)
	{
		DarajaToken *t = &token_cache[i];

		if (t->used && strcmp(t->partner, req->auth_partner) == 0 && t->gen == req->token_gen)
			token_forget(t);
	}
	old = MemoryContextSwitchTo(req->cxt);
	req->error = pstrdup("M-Pesa rejected the OAuth access token (HTTP 401); the next "
						 "attempt fetches a new one");
	MemoryContextSwitchTo(old);
}
