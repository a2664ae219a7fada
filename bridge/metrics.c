/*
 * metrics.c — counters of the bridge and their Prometheus text rendering for /metrics.
 *
 * Owns: request counts by status class, a latency histogram, open sockets, events heard: the
 * counters that slot.c, the transports and pool.c increment. The gauges (pool, in flight)
 * come in a snapshot from whoever serves /metrics. Must never call another file of the
 * bridge (it receives counts, it asks for none), and never label a metric with anything
 * taken from a request (paths, ids, tokens): label sets are fixed, so the series count is
 * bounded.
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"

static const uint64_t bucket_us[] = {1000, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 5000000};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

static struct
{
	uint64_t	by_class[6];	/* index status / 100; 0 for anything odd */
	uint64_t	buckets[N_BUCKETS];
	uint64_t	count;
	uint64_t	sum_us;
	long		sockets;
	uint64_t	events;
	uint64_t	refused[8];
} m;

/* Why a connection, session or frame was refused: a fixed label set. */
static const char *const refusal_reasons[] = {
	"connections_max", "connections_per_ip", "slow_body", "ws_sessions_per_user",
	"ws_protocol", "sio_protocol", "sio_sessions", "other"
};
#define N_REFUSALS (sizeof(refusal_reasons) / sizeof(refusal_reasons[0]))

void
metrics_refused(const char *reason)
{
	size_t		i;

	for (i = 0; i < N_REFUSALS - 1; i++)
		if (!strcmp(reason, refusal_reasons[i]))
			break;
	m.refused[i]++;
}

void
metrics_request(int status, uint64_t duration_us)
{
	int			cls = status / 100;

	m.by_class[cls >= 1 && cls <= 5 ? cls : 0]++;
	for (size_t i = 0; i < N_BUCKETS; i++)
		if (duration_us <= bucket_us[i])
			m.buckets[i]++;
	m.count++;
	m.sum_us += duration_us;
}

void
metrics_socket(int delta)
{
	m.sockets += delta;
}

void
metrics_event(void)
{
	m.events++;
}

#define ADD(...) do { \
	int w_ = snprintf(buf + n, cap - n, __VA_ARGS__); \
	if (w_ < 0 || (size_t) w_ >= cap - n) return 0; \
	n += (size_t) w_; \
} while (0)

/* Render the counters and the gauges g into buf; the length, or 0 when cap is too small. */
size_t
metrics_render(char *buf, size_t cap, const MetricsGauges *g)
{
	size_t		n = 0;

	ADD("# HELP pgw_bridge_requests_total HTTP requests answered, by status class.\n"
		"# TYPE pgw_bridge_requests_total counter\n");
	for (int c = 1; c <= 5; c++)
		ADD("pgw_bridge_requests_total{code=\"%dxx\"} %llu\n", c,
			(unsigned long long) m.by_class[c]);
	ADD("# HELP pgw_bridge_request_duration_seconds Time from request to reply.\n"
		"# TYPE pgw_bridge_request_duration_seconds histogram\n");
	for (size_t i = 0; i < N_BUCKETS; i++)
		ADD("pgw_bridge_request_duration_seconds_bucket{le=\"%llu.%06llu\"} %llu\n",
			(unsigned long long) (bucket_us[i] / 1000000),
			(unsigned long long) (bucket_us[i] % 1000000), (unsigned long long) m.buckets[i]);
	ADD("pgw_bridge_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		"pgw_bridge_request_duration_seconds_sum %llu.%06llu\n"
		"pgw_bridge_request_duration_seconds_count %llu\n",
		(unsigned long long) m.count, (unsigned long long) (m.sum_us / 1000000),
		(unsigned long long) (m.sum_us % 1000000), (unsigned long long) m.count);
	ADD("# HELP pgw_bridge_pool_connections Database connections of the request pool.\n"
		"# TYPE pgw_bridge_pool_connections gauge\n"
		"pgw_bridge_pool_connections{state=\"configured\"} %d\n"
		"pgw_bridge_pool_connections{state=\"ready\"} %d\n"
		"pgw_bridge_pool_connections{state=\"busy\"} %d\n",
		g->pool_size, g->pool_ready, g->pool_busy);
	ADD("# HELP pgw_bridge_pool_queued Requests waiting for a database connection.\n"
		"# TYPE pgw_bridge_pool_queued gauge\npgw_bridge_pool_queued %d\n", g->pool_queued);
	ADD("# HELP pgw_bridge_inflight_requests Requests being served.\n"
		"# TYPE pgw_bridge_inflight_requests gauge\npgw_bridge_inflight_requests %d\n",
		g->inflight);
	ADD("# HELP pgw_bridge_open_sockets Client sockets open (HTTP and WebSocket).\n"
		"# TYPE pgw_bridge_open_sockets gauge\npgw_bridge_open_sockets %ld\n", m.sockets);
	ADD("# HELP pgw_bridge_events_total Notifications heard on the LISTEN connection.\n"
		"# TYPE pgw_bridge_events_total counter\npgw_bridge_events_total %llu\n",
		(unsigned long long) m.events);
	ADD("# HELP pgw_bridge_refused_total Connections, sessions and frames refused, by reason.\n"
		"# TYPE pgw_bridge_refused_total counter\n");
	for (size_t i = 0; i < N_REFUSALS; i++)
		ADD("pgw_bridge_refused_total{reason=\"%s\"} %llu\n", refusal_reasons[i],
			(unsigned long long) m.refused[i]);
	return n;
}
