/*
 * ratelimit.c — fixed-window request counters for the profiles' rate limits.
 *
 * Owns: a table of RATE_SLOTS counters allocated statically, keyed by a 64-bit FNV-1a hash
 * of (kind, who), one window per wall-clock minute. When the probe sequence of a key finds
 * no counter free or expired, the request is refused (fail closed) rather than unlimited.
 * Must never keep the token or address itself: only its hash.
 */
#include <string.h>
#include <time.h>

#include "bridge.h"

#define RATE_SLOTS 8192
#define RATE_PROBES 16
#define RATE_WINDOW_S 60

typedef struct RateSlot
{
	uint64_t	key;
	long		window;			/* start of the minute, epoch seconds; 0: free */
	int			count;
} RateSlot;

static RateSlot table[RATE_SLOTS];

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

/* 1 when the request may go on; sets the X-RateLimit-* values either way. */
int
ratelimit_take(const char *kind, const char *who, int limit, int *remaining, long *reset_epoch)
{
	long		now = (long) time(NULL);
	long		window = now - now % RATE_WINDOW_S;
	uint64_t	key = fnv1a(fnv1a(0xcbf29ce484222325ULL, kind), who);
	RateSlot   *slot = NULL;

	*reset_epoch = window + RATE_WINDOW_S;
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
