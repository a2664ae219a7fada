/*
 * ratelimit.c — fixed-window request counters, the tokens the database accepted, and the
 * count of requests doing password work.
 *
 * Owns: three static tables keyed by SipHash-2-4 (siphash.c) with a random key drawn once per
 * process (getrandom), so that no client can choose where its key lands:
 * - counters: fixed wall-clock windows (a minute for the routes' own limits and the per-address
 *   budgets; a second, an hour and a day for limits the database reports per principal, as
 *   Tribble's per KYC tier), keyed by (kind, who, window length);
 * - tokens: a canonical token (the Authorization header as the database reads it: blanks and
 *   one case-insensitive "Bearer " prefix stripped) to the key its requests are counted on
 *   once the database accepted it (the principal it resolved, or the token itself), with the
 *   limits the database reported for that principal;
 * - the number of requests doing password work in flight (login, register: scrypt).
 * A key is looked for in a bucket of RATE_PROBES entries; a new key takes a free or expired
 * entry, and when there is none it evicts the least recently used one (never refuses: a full
 * bucket cannot lock anyone out). Must never keep a token or an address: only keyed hashes.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/random.h>

#include "bridge.h"

#define RATE_SLOTS 8192
#define TOKEN_SLOTS 8192
#define RATE_PROBES 8
#define RATE_WINDOW_S 60
#define TOKEN_TTL_S 3600

typedef struct RateSlot
{
	uint64_t	key;
	long		window;			/* start of the window, epoch seconds; 0: free */
	long		used;			/* last use, epoch seconds: the eviction order */
	int			count;
} RateSlot;

typedef struct TokenSlot
{
	uint64_t	token;			/* keyed hash of the canonical token */
	uint64_t	who;			/* the key its requests are counted on */
	long		expires;		/* epoch seconds; 0: free */
	long		used;
	int			limits[RATE_TIERED_WINDOWS];	/* 0: none reported */
} TokenSlot;

static RateSlot table[RATE_SLOTS];
static TokenSlot token_table[TOKEN_SLOTS];
static const int tiered_window_s[RATE_TIERED_WINDOWS] = {1, 3600, 86400};
static unsigned char hash_key[16];
static int	hash_keyed;
static int	password_inflight;

/* The process's hash key: random, drawn on first use. */
static const unsigned char *
key_of_process(void)
{
	if (!hash_keyed)
	{
		size_t		got = 0;

		while (got < sizeof(hash_key))
		{
			ssize_t		n = getrandom(hash_key + got, sizeof(hash_key) - got, 0);

			if (n <= 0)
			{
				/* no entropy source at all: a clock-derived key is better than none */
				uint64_t	t = now_us();

				memcpy(hash_key, &t, sizeof(t));
				break;
			}
			got += (size_t) n;
		}
		hash_keyed = 1;
	}
	return hash_key;
}

/* Keyed hash of (tag, kind, who); never 0 (0 marks "none"). */
static uint64_t
hash3(const char *tag, const char *kind, const char *who, size_t who_len)
{
	unsigned char buf[PGW_TOKEN_MAX + 160];
	size_t		t = strnlen(tag, 16), k = strnlen(kind, 128), n = 0;
	uint64_t	h;

	if (who_len > PGW_TOKEN_MAX)
		who_len = PGW_TOKEN_MAX;
	memcpy(buf + n, tag, t);
	n += t;
	buf[n++] = '\0';
	memcpy(buf + n, kind, k);
	n += k;
	buf[n++] = '\0';
	memcpy(buf + n, who, who_len);
	n += who_len;
	h = siphash24(key_of_process(), buf, n);
	return h ? h : 1;
}

/*
 * The token in an Authorization header as the database reads it (jwt_strip_bearer in
 * src/identity/auth_jwt.c): leading blanks, one case-insensitive "bearer " and blanks after
 * it, trailing blanks. Sets *len; returns a pointer into header.
 */
const char *
ratelimit_canonical_token(const char *header, size_t *len)
{
	const char *s = header;
	size_t		n;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, "bearer ", 7) == 0)
		s += 7;
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*len = n;
	return s;
}

uint64_t
ratelimit_token_hash(const char *header)
{
	size_t		n;
	const char *t = ratelimit_canonical_token(header, &n);

	return n ? hash3("t", "", t, n) : 0;
}

uint64_t
ratelimit_hash(const char *kind, const char *who)
{
	return hash3("w", kind, who, strlen(who));
}

/* One fixed window of window_s seconds: 1 when the request may go on (it is counted). */
static int
take_window(const char *kind, uint64_t who, int limit, int window_s, int force,
			int *remaining, long *reset_epoch)
{
	long		now = (long) time(NULL);
	long		window = now - now % window_s;
	char		whotext[24];
	uint64_t	key;
	RateSlot   *slot = NULL, *spare = NULL;

	snprintf(whotext, sizeof(whotext), "%016llx", (unsigned long long) who);
	key = hash3(window_s == 1 ? "s" : window_s == 60 ? "m" : window_s == 3600 ? "h" : "d",
				kind, whotext, strlen(whotext));
	*reset_epoch = window + window_s;
	for (int i = 0; i < RATE_PROBES; i++)
	{
		RateSlot   *s = &table[(key + (uint64_t) i) % RATE_SLOTS];

		if (s->window == window && s->key == key)
		{
			slot = s;
			break;
		}
		if (s->window != window)
		{
			if (!spare || spare->window == window)
				spare = s;		/* free or expired: the first choice for a new key */
		}
		else if (!spare || (spare->window == window && s->used < spare->used))
			spare = s;			/* otherwise the least recently used is evicted */
	}
	if (!slot)
	{
		slot = spare;
		slot->key = key;
		slot->window = window;
		slot->count = 0;
	}
	slot->used = now;
	if (slot->count >= limit && !force)
	{
		*remaining = 0;
		return 0;
	}
	slot->count++;
	*remaining = slot->count >= limit ? 0 : limit - slot->count;
	return 1;
}

/* Count a request of who (a keyed hash) against limit per minute: 1 when it may go on. */
int
ratelimit_take_key(const char *kind, uint64_t who, int limit, int *remaining, long *reset_epoch)
{
	return take_window(kind, who, limit, RATE_WINDOW_S, 0, remaining, reset_epoch);
}

/* Count a request that already went on (it is never refused). */
int
ratelimit_charge_key(const char *kind, uint64_t who, int limit, int *remaining,
					 long *reset_epoch)
{
	return take_window(kind, who, limit, RATE_WINDOW_S, 1, remaining, reset_epoch);
}

/* The same for a plain who (a client address, an owner id). */
int
ratelimit_take(const char *kind, const char *who, int limit, int *remaining, long *reset_epoch)
{
	return ratelimit_take_key(kind, ratelimit_hash(kind, who), limit, remaining, reset_epoch);
}

static TokenSlot *
token_find(uint64_t token, int for_insert)
{
	long		now = (long) time(NULL);
	TokenSlot  *spare = NULL;

	if (!token)
		return NULL;
	for (int i = 0; i < RATE_PROBES; i++)
	{
		TokenSlot  *l = &token_table[(token + (uint64_t) i) % TOKEN_SLOTS];

		if (l->expires > now && l->token == token)
			return l;
		if (!spare || (spare->expires > now && (l->expires <= now || l->used < spare->used)))
			spare = l;			/* a free or expired entry, else the least recently used */
	}
	return for_insert ? spare : NULL;
}

/*
 * The key the requests of this token are counted on, once the database accepted the token:
 * the principal it resolved (or the token itself); 0 while the token is unknown.
 */
uint64_t
ratelimit_token_who(uint64_t token)
{
	TokenSlot  *l = token_find(token, 0);

	if (!l)
		return 0;
	l->used = (long) time(NULL);
	return l->who;
}

/*
 * The database accepted this token: count its requests on principal (its text as the
 * database sent it) or, when NULL, on the token itself; rate is the limits it reported for
 * the principal ("S/H/D" per second, hour, day) or NULL. Returns the key.
 */
uint64_t
ratelimit_token_learn(uint64_t token, const char *principal, const char *rate)
{
	TokenSlot  *l = token_find(token, 0);
	long		now = (long) time(NULL);
	int			v[RATE_TIERED_WINDOWS];
	char		tail;

	if (!token)
		return 0;
	if (!l)
	{
		l = token_find(token, 1);
		l->token = token;
		memset(l->limits, 0, sizeof(l->limits));
	}
	l->who = principal && principal[0] ? hash3("p", "", principal, strlen(principal)) : token;
	l->expires = now + TOKEN_TTL_S;
	l->used = now;
	if (rate && sscanf(rate, "%d/%d/%d%c", &v[0], &v[1], &v[2], &tail) == 3 &&
		v[0] > 0 && v[1] > 0 && v[2] > 0)
		memcpy(l->limits, v, sizeof(v));
	return l->who;
}

/*
 * Count a request of a known token against the limits the database reported for its
 * principal: 1 when it may go on, or when no limits are known. With force it is counted
 * and never refused (a request that was let through before its principal was known). The
 * X-RateLimit-* values are those of the day window, or of the window that refused.
 */
int
ratelimit_take_tiered(const char *kind, uint64_t token, int force, int *limit,
					  int *remaining, long *reset_epoch)
{
	TokenSlot  *l = token_find(token, 0);

	*limit = 0;
	if (!l || l->limits[0] == 0)
		return 1;
	for (int w = 0; w < RATE_TIERED_WINDOWS; w++)
	{
		*limit = l->limits[w];
		if (!take_window(kind, l->who, l->limits[w], tiered_window_s[w], force, remaining,
						 reset_epoch))
			return 0;
	}
	return 1;
}

/* Password work (scrypt) in flight: 1 and counted when fewer than max run, else 0. */
int
ratelimit_password_begin(int max)
{
	if (password_inflight >= max)
		return 0;
	password_inflight++;
	return 1;
}

void
ratelimit_password_end(void)
{
	if (password_inflight > 0)
		password_inflight--;
}
