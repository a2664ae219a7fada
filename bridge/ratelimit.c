/*
 * ratelimit.c — fixed-window request counters for the profiles' rate limits.
 *
 * Owns: a table of RATE_SLOTS counters allocated statically, keyed by a 64-bit FNV-1a hash
 * of (kind, who), fixed wall-clock windows (a minute for the routes' own limits; a second,
 * an hour and a day for limits the database reports per token, as Tribble's per KYC tier).
 * When the probe sequence of a key finds no counter free or expired, the request is refused
 * (fail closed) rather than unlimited. Also a table of the limits the database reported per
 * token (LIMIT_SLOTS, forgotten after LIMIT_TTL_S). Must never keep the token or address
 * itself: only its hash.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

#define RATE_SLOTS 8192
#define RATE_PROBES 16
#define RATE_WINDOW_S 60

#define LIMIT_SLOTS 4096
#define LIMIT_TTL_S 3600

typedef struct RateSlot
{
	uint64_t	key;
	long		window;			/* start of the window, epoch seconds; 0: free */
	int			count;
} RateSlot;

typedef struct LimitSlot
{
	uint64_t	key;
	long		expires;		/* epoch seconds; 0: free */
	int			limits[RATE_TIERED_WINDOWS];
} LimitSlot;

static RateSlot table[RATE_SLOTS];
static LimitSlot limit_table[LIMIT_SLOTS];
static const int tiered_window_s[RATE_TIERED_WINDOWS] = {1, 3600, 86400};

static uint64_t
fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* One fixed window of window_s seconds: 1 when the request may go on (and is counted). */
static int
take_window(const char *kind, const char *who, int limit, int window_s, int *remaining,
			long *reset_epoch)
{
	long		now = (long) time(NULL);
	long		window = now - now % window_s;
	uint64_t	key = fnv1a(fnv1a(fnv1a(0xcbf29ce484222325ULL, kind), who),
							window_s == 1 ? "s" : window_s == 60 ? "m" :
							window_s == 3600 ? "h" : "d");
	RateSlot   *slot = NULL;

	*reset_epoch = window + window_s;
	*remaining = 0;
	for (int i = 0; i < RATE_PROBES; i++)
	{
		RateSlot   *s = &table[(key + (uint64_t) i) % RATE_SLOTS];

		if (s->window == window && s->key == key)
		{
			slot = s;
			break;
		}
		if (!slot && s->window != window)
			slot = s;			/* free or expired: usable if the key is not found */
	}
	if (!slot)
		return 0;
	if (slot->window != window || slot->key != key)
	{
		slot->key = key;
		slot->window = window;
		slot->count = 0;
	}
	if (slot->count >= limit)
		return 0;
	slot->count++;
	*remaining = limit - slot->count;
	return 1;
}

/* 1 when the request may go on; sets the X-RateLimit-* values either way. */
int
ratelimit_take(const char *kind, const char *who, int limit, int *remaining, long *reset_epoch)
{
	return take_window(kind, who, limit, RATE_WINDOW_S, remaining, reset_epoch);
}

static LimitSlot *
limit_find(uint64_t key, int for_insert)
{
	long		now = (long) time(NULL);
	LimitSlot  *spare = NULL;

	for (int i = 0; i < RATE_PROBES; i++)
	{
		LimitSlot  *l = &limit_table[(key + (uint64_t) i) % LIMIT_SLOTS];

		if (l->expires > now && l->key == key)
			return l;
		if (!spare && l->expires <= now)
			spare = l;
	}
	return for_insert ? spare : NULL;
}

/*
 * Remember the limits the database reported for a token, "S/H/D" (per second, hour, day);
 * ignored unless three positive integers.
 */
void
ratelimit_limits_set(const char *kind, const char *who, const char *spec)
{
	int			v[RATE_TIERED_WINDOWS];
	char		tail;
	uint64_t	key = fnv1a(fnv1a(0xcbf29ce484222325ULL, kind), who);
	LimitSlot  *l;

	if (sscanf(spec, "%d/%d/%d%c", &v[0], &v[1], &v[2], &tail) != 3 ||
		v[0] <= 0 || v[1] <= 0 || v[2] <= 0)
		return;
	l = limit_find(key, 1);
	if (!l)
		return;					/* the table is full here: the token stays unlimited */
	l->key = key;
	l->expires = (long) time(NULL) + LIMIT_TTL_S;
	memcpy(l->limits, v, sizeof(v));
}

/*
 * Count a request against the limits reported for this token, if any: 1 when it may go
 * on. The X-RateLimit-* values are those of the day window, or of the window that refused.
 * A token whose limits are not known yet (its first request) is not counted.
 */
int
ratelimit_take_tiered(const char *kind, const char *who, int *limit, int *remaining,
					  long *reset_epoch)
{
	LimitSlot  *l = limit_find(fnv1a(fnv1a(0xcbf29ce484222325ULL, kind), who), 0);

	*limit = 0;
	if (!l)
		return 1;
	for (int w = 0; w < RATE_TIERED_WINDOWS; w++)
	{
		*limit = l->limits[w];
		if (!take_window(kind, who, l->limits[w], tiered_window_s[w], remaining, reset_epoch))
			return 0;
	}
	return 1;
}
