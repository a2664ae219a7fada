/*-------------------------------------------------------------------------
 *
 * outbox_http.c
 *	  The outbox worker's HTTP transport: many requests in flight on one
 *	  libcurl multi handle, each with its own time limit, its response
 *	  body kept up to a bound, and its Retry-After header read.
 *
 * Also one synchronous GET on an easy handle of its own
 * (outbox_http_fetch), for the M-Pesa OAuth token the worker caches.
 *
 * Owns: the CURLM handle and its easy handles. Never: touches the
 * database, decides about retries (worker_outbox.c does), follows
 * redirects, or speaks anything but HTTP and HTTPS.
 *
 * Memory: every request lives in its own memory context, a child of the
 * context the transport was created in, deleted by the worker after it
 * recorded the result. libcurl allocates with malloc; every easy handle and
 * header list is freed when its request completes or the transport is
 * destroyed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"

#include "partners/outbox.h"

/* One easy handle and what belongs to it. */
typedef struct HttpSlot
{
	dlist_node	node;			/* in OutboxHttp.slots */
	CURL	   *easy;
	struct curl_slist *headers;
	OutboxRequest *req;
	char	   *body;			/* copy that lives as long as the transfer */
	StringInfoData response;
	bool		truncated;
	instr_time	started;
	char		errbuf[CURL_ERROR_SIZE];
} HttpSlot;

struct OutboxHttp
{
	CURLM	   *multi;
	int			in_flight;
	dlist_head	slots;			/* requests in flight */
};

/* Keep the response body, up to the bound. */
static size_t
http_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	HttpSlot   *slot = (HttpSlot *) userdata;
	size_t		n = size * nmemb;
	size_t		room = OUTBOX_MAX_RESPONSE_BYTES - slot->response.len;

	if (n > room)
	{
		slot->truncated = true;
		n = room;
	}
	if (n > 0)
		appendBinaryStringInfo(&slot->response, ptr, n);
	return size * nmemb;		/* consume all: a long answer is not an error */
}

/* Read Retry-After (seconds form only; a date is ignored). */
static size_t
http_header(char *buffer, size_t size, size_t nitems, void *userdata)
{
	HttpSlot   *slot = (HttpSlot *) userdata;
	size_t		n = size * nitems;
	const char *name = "retry-after:";

	if (n > strlen(name) && n < 64 && pg_strncasecmp(buffer, name, strlen(name)) == 0)
	{
		char		value[64];
		char	   *end;
		long		secs;

		memcpy(value, buffer + strlen(name), n - strlen(name));
		value[n - strlen(name)] = '\0';
		secs = strtol(value, &end, 10);
		if (end != value && secs >= 0 && secs <= 86400)
			slot->req->retry_after_s = (int) secs;
	}
	return n;
}

/* A new transport: one multi handle, bounded in connections. */
OutboxHttp *
outbox_http_create(void)
{
	OutboxHttp *http = palloc0(sizeof(OutboxHttp));

	dlist_init(&http->slots);
	http->multi = curl_multi_init();
	if (http->multi == NULL)
		elog(ERROR, "curl_multi_init failed");
	curl_multi_setopt(http->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) outbox_max_in_flight);
	curl_multi_setopt(http->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) outbox_max_in_flight);
	return http;
}

/* Free one slot's libcurl resources. */
static void
http_slot_release(OutboxHttp *http, HttpSlot *slot)
{
	curl_multi_remove_handle(http->multi, slot->easy);
	curl_easy_cleanup(slot->easy);
	curl_slist_free_all(slot->headers);
	slot->easy = NULL;
	slot->headers = NULL;
	dlist_delete(&slot->node);
}

/* Abandon every request in flight and free the transport. */
void
outbox_http_destroy(OutboxHttp *http)
{
	dlist_mutable_iter iter;

	if (http == NULL || http->multi == NULL)
		return;
	dlist_foreach_modify(iter, &http->slots)
		http_slot_release(http, dlist_container(HttpSlot, node, iter.cur));
	curl_multi_cleanup(http->multi);
	http->multi = NULL;
	http->in_flight = 0;
}

/*
 * Start one request. headers are full "Name: value" lines. Returns false
 * (and fills req->error) when libcurl refuses the request outright.
 */
bool
outbox_http_add(OutboxHttp *http, OutboxRequest *req, const char *method, const char *url,
				char **headers, int nheaders, const char *body, int timeout_ms)
{
	HttpSlot   *slot = palloc0(sizeof(HttpSlot));
	CURL	   *easy = curl_easy_init();

	if (easy == NULL)
	{
		req->error = pstrdup("could not create an HTTP handle");
		return false;
	}
	slot->easy = easy;
	slot->req = req;
	req->retry_after_s = -1;
	initStringInfo(&slot->response);
	for (int i = 0; i < nheaders && i < OUTBOX_MAX_HEADERS + 8; i++)
		slot->headers = curl_slist_append(slot->headers, headers[i]);
	/* no "Expect: 100-continue" round trip */
	slot->headers = curl_slist_append(slot->headers, "Expect:");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) Min(timeout_ms, 5000));
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, slot->headers);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pg_wallet-outbox/0.1");
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, slot);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, http_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, slot);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, slot->errbuf);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, slot);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	else
	{
		slot->body = pstrdup(body ? body : "");
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, slot->body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) strlen(slot->body));
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	}
	INSTR_TIME_SET_CURRENT(slot->started);
	if (curl_multi_add_handle(http->multi, easy) != CURLM_OK)
	{
		curl_easy_cleanup(easy);
		curl_slist_free_all(slot->headers);
		req->error = pstrdup("could not start the HTTP request");
		return false;
	}
	dlist_push_tail(&http->slots, &slot->node);
	http->in_flight++;
	return true;
}

/* Requests started and not yet returned by outbox_http_run. */
int
outbox_http_in_flight(OutboxHttp *http)
{
	return http->in_flight;
}

/* Fill a finished request from its slot and release the slot. */
static void
http_finish(OutboxHttp *http, HttpSlot *slot, CURLcode code)
{
	OutboxRequest *req = slot->req;
	instr_time	elapsed;
	MemoryContext old = MemoryContextSwitchTo(req->cxt);

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, slot->started);
	req->elapsed_ms = (int64) INSTR_TIME_GET_MILLISEC(elapsed);
	req->done = true;
	if (code == CURLE_OK)
		curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &req->http_status);
	else
	{
		req->http_status = 0;
		req->error = psprintf("%s%s%s", curl_easy_strerror(code),
							  slot->errbuf[0] ? ": " : "", slot->errbuf);
	}
	req->response = slot->response.data;
	req->response_len = slot->response.len;
	http_slot_release(http, slot);
	http->in_flight--;
	MemoryContextSwitchTo(old);
}

/*
 * Drive the transfers, waiting up to wait_ms for network activity. Puts
 * up to max_done finished requests in done[] and returns how many.
 */
int
outbox_http_run(OutboxHttp *http, int wait_ms, OutboxRequest **done, int max_done)
{
	int			running = 0;
	int			ndone = 0;
	int			queued;
	CURLMsg    *msg;

	if (http->in_flight == 0)
		return 0;
	curl_multi_perform(http->multi, &running);
	if (running > 0 && wait_ms > 0)
	{
		curl_multi_poll(http->multi, NULL, 0, wait_ms, NULL);
		curl_multi_perform(http->multi, &running);
	}
	while (ndone < max_done && (msg = curl_multi_info_read(http->multi, &queued)) != NULL)
	{
		HttpSlot   *slot = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
		http_finish(http, slot, msg->data.result);
		done[ndone++] = slot->req;
	}
	return ndone;
}

/* A bounded buffer for outbox_http_fetch's response. */
typedef struct FetchBuffer
{
	char	   *data;
	int			size;			/* room, the NUL included */
	int			len;
} FetchBuffer;

static size_t
fetch_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	FetchBuffer *buf = (FetchBuffer *) userdata;
	size_t		n = size * nmemb;
	size_t		room = (size_t) (buf->size - 1 - buf->len);

	if (n > room)
		n = room;
	if (n > 0)
	{
		memcpy(buf->data + buf->len, ptr, n);
		buf->len += (int) n;
		buf->data[buf->len] = '\0';
	}
	return size * nmemb;		/* consume all: the rest is dropped */
}

/*
 * One GET, synchronously, on an easy handle of its own (the outbox
 * worker's M-Pesa OAuth token request: rare, and needed before the
 * requests it authorises can start). The response body is kept up to
 * response_size - 1 bytes, NUL-terminated. Returns false, with a
 * transport error in error[], when no HTTP answer came. Nothing here is
 * logged: the request carries credentials and the answer a token.
 */
bool
outbox_http_fetch(const char *url, char **headers, int nheaders, int timeout_ms,
				  long *http_status, char *response, int response_size,
				  char *error, int error_size)
{
	CURL	   *easy = curl_easy_init();
	struct curl_slist *list = NULL;
	char		errbuf[CURL_ERROR_SIZE];
	FetchBuffer buf = {response, response_size, 0};
	CURLcode	code;

	*http_status = 0;
	if (response_size > 0)
		response[0] = '\0';
	if (error_size > 0)
		error[0] = '\0';
	if (easy == NULL)
	{
		strlcpy(error, "could not create an HTTP handle", error_size);
		return false;
	}
	errbuf[0] = '\0';
	for (int i = 0; i < nheaders && i < OUTBOX_MAX_HEADERS; i++)
		list = curl_slist_append(list, headers[i]);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) Min(timeout_ms, 5000));
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pg_wallet-outbox/0.1");
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	code = curl_easy_perform(easy);
	if (code == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, http_status);
	else
		snprintf(error, error_size, "%s%s%s", curl_easy_strerror(code),
				 errbuf[0] ? ": " : "", errbuf);
	curl_easy_cleanup(easy);
	curl_slist_free_all(list);
	return code == CURLE_OK;
}
