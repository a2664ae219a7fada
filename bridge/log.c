/*
 * log.c — the bridge's log: one JSON line per request on stderr, and operational messages.
 *
 * Owns: the log line format and the clock. Must never log a header value, a body, a token,
 * a password, an API secret, a card number or the conninfo: only the request id, method,
 * path (without its query string), status, SQLSTATE, function and duration.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void
iso_now(char *buf, size_t cap)
{
	struct timespec ts;
	struct tm	tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec / 1000000);
}

static const char *
method_name(int m)
{
	static const char *const names[] = {"GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE",
	"CONNECT", "HEAD"};

	return m >= 0 && m < (int) (sizeof(names) / sizeof(names[0])) ? names[m] :
		m == -1 ? "WS" : "OTHER";
}

void
log_request(const RequestSlot *slot, uint64_t duration_us)
{
	char		ts[96];
	char		path[PGW_PATH_MAX * 2];

	iso_now(ts, sizeof(ts));
	if (json_escape(path, sizeof(path), slot->path, strnlen(slot->path, PGW_PATH_MAX)) ==
		(size_t) -1)
		strcpy(path, "(too long)");
	fprintf(stderr,
			"{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\","
			"\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"sqlstate\":%s%s%s,"
			"\"function\":%s%s%s,\"duration_ms\":%.3f}\n",
			ts, slot->request_id, method_name(slot->method), path, slot->status,
			slot->sqlstate[0] ? "\"" : "", slot->sqlstate[0] ? slot->sqlstate : "null",
			slot->sqlstate[0] ? "\"" : "",
			slot->route ? "\"" : "", slot->route ? slot->route->function : "null",
			slot->route ? "\"" : "", (double) duration_us / 1000.0);
}

void
log_msg(const char *level, const char *fmt, ...)
{
	char		ts[96], msg[1024], esc[2100];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	iso_now(ts, sizeof(ts));
	if (json_escape(esc, sizeof(esc), msg, strlen(msg)) == (size_t) -1)
		strcpy(esc, "(message too long)");
	fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n", ts, level, esc);
}
