/*
 * peer.c — what each client address holds at once: open connections and HTTP requests in
 * flight, for the per-address caps (connections_per_ip, inflight_per_ip).
 *
 * Owns: a fixed table of connections_max entries (allocated once by peer_init), keyed by
 * the binary address (an IPv4-mapped IPv6 address counts as its IPv4 address) under a hash
 * seeded at random per process, so that nobody can choose addresses that collide. An entry
 * lives while it holds a connection or a request and is freed when both counts are zero, so
 * the table never holds more entries than there are open connections and requests (each
 * request belongs to a connection, or outlives it only until its query ends).
 * Must never keep an address after its last connection and request, never log an address,
 * and never call another file of the bridge (http.c counts, this file answers).
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "bridge.h"

struct Peer
{
	unsigned char addr[16];
	int			conns;
	int			inflight;
	int			used;
	int			next;			/* the chain of the bucket, or the free list: index or -1 */
};

static Peer *peers;
static int *buckets;
static int	n_peers;
static int	n_buckets;
static int	free_head = -1;
static uint64_t seed[2];

int
peer_init(const BridgeConfig *cfg)
{
	n_peers = cfg->connections_max + cfg->inflight_max;
	n_buckets = 1;
	while (n_buckets < n_peers)
		n_buckets <<= 1;
	peers = calloc((size_t) n_peers, sizeof(Peer));
	buckets = malloc(sizeof(int) * (size_t) n_buckets);
	if (!peers || !buckets)
		return -1;
	for (int i = 0; i < n_buckets; i++)
		buckets[i] = -1;
	for (int i = 0; i < n_peers; i++)
		peers[i].next = i + 1 < n_peers ? i + 1 : -1;
	free_head = 0;
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t) sizeof(seed))
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed[0] = (uint64_t) ts.tv_nsec * 0x9e3779b97f4a7c15ULL;
		seed[1] = (uint64_t) ts.tv_sec ^ (uint64_t) (uintptr_t) &ts;
	}
	return 0;
}

void
peer_free(void)
{
	free(peers);
	free(buckets);
	peers = NULL;
	buckets = NULL;
}

/* 16 bytes: an IPv6 address, or ::ffff:a.b.c.d for IPv4. 0 when not an IP address. */
int
peer_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET)
	{
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *) sa)->sin_addr, 4);
		return 1;
	}
	if (sa->sa_family == AF_INET6)
	{
		memcpy(key, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
		return 1;
	}
	return 0;
}

static uint64_t
mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
bucket_of(const unsigned char key[16])
{
	uint64_t	a, b;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	return (int) (mix(mix(a ^ seed[0]) ^ b ^ seed[1]) & (uint64_t) (n_buckets - 1));
}

static Peer *
peer_lookup(const unsigned char key[16], int add)
{
	int			b = bucket_of(key);
	int			i;

	for (i = buckets[b]; i >= 0; i = peers[i].next)
		if (!memcmp(peers[i].addr, key, 16))
			return &peers[i];
	if (!add || free_head < 0)
		return NULL;
	i = free_head;
	free_head = peers[i].next;
	memcpy(peers[i].addr, key, 16);
	peers[i].conns = peers[i].inflight = 0;
	peers[i].used = 1;
	peers[i].next = buckets[b];
	buckets[b] = i;
	return &peers[i];
}

/* Unlink an entry that holds nothing any more. */
static void
peer_drop(Peer *p)
{
	int			b, *link;

	if (p->conns > 0 || p->inflight > 0 || !p->used)
		return;
	b = bucket_of(p->addr);
	for (link = &buckets[b]; *link >= 0; link = &peers[*link].next)
		if (&peers[*link] == p)
		{
			*link = p->next;
			break;
		}
	p->used = 0;
	p->next = free_head;
	free_head = (int) (p - peers);
}

/* Connections open from this address now. */
int
peer_connections(const unsigned char key[16])
{
	Peer	   *p = peer_lookup(key, 0);

	return p ? p->conns : 0;
}

/* A connection from key opens; NULL when the table is full (refuse the connection). */
Peer *
peer_conn_open(const unsigned char key[16])
{
	Peer	   *p = peer_lookup(key, 1);

	if (p)
		p->conns++;
	return p;
}

void
peer_conn_close(Peer *p)
{
	if (!p)
		return;
	p->conns--;
	peer_drop(p);
}

/* A request of this address starts: 0 when it already has max in flight. */
int
peer_inflight_take(Peer *p, int max)
{
	if (!p)
		return 1;
	if (p->inflight >= max)
		return 0;
	p->inflight++;
	return 1;
}

void
peer_inflight_done(Peer *p)
{
	if (!p)
		return;
	p->inflight--;
	peer_drop(p);
}
