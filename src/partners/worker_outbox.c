/*-------------------------------------------------------------------------
 *
 * worker_outbox.c
 *	  The outbox worker: delivers the rows of pg_wallet.outbox over HTTP
 *	  with libcurl's multi interface, many at once, and records each
 *	  outcome through SQL.
 *
 * The loop (pg_net's model): claim a bounded batch of due rows in a short
 * transaction (they become SENDING with a lease), send them with no
 * transaction open, record the answers in another short transaction, sleep
 * on the latch until a committing backend wakes us or the next retry is
 * due. At start-up, rows left SENDING by a crash are put back to PENDING
 * (one worker runs per server, so a SENDING row at start-up is an orphan);
 * a lease that runs out does the same for a worker that hangs.
 *
 * How it sleeps: with nothing in flight, WaitLatch on its own latch, then
 * ResetLatch, then one claim (so a commit after the reset is seen by that
 * claim or wakes the next wait at once). The wait lasts until the next row
 * is due (_outbox_next_due_ms, NULL when nothing is pending: then
 * pg_wallet.outbox_poll_ms), rounded up, and at least OUTBOX_LOCKED_MS when
 * a due row is held by another transaction; a backend that committed new
 * rows sets the latch (outbox_config.c). So an idle worker runs one claim
 * per poll interval and nothing else; worker_status() counts its loops and
 * transactions. With requests in flight it turns every OUTBOX_RUN_WAIT_MS
 * on libcurl's poll instead, and claims only when woken or when room frees.
 *
 * Queued events (payments' transaction:completed) are moved into their
 * streams at the start of each claim. Every committing payment sets the
 * latch, so under a steady flow of payments each turn would move the events
 * of one or two, and the turn's fixed cost (its statements, its commit's
 * flush: about 1 ms here) would be paid per payment. After a turn that moved
 * events, the next claim therefore waits until EVENTS_GATHER_MS after it,
 * so a turn moves what arrived meanwhile: events reach their streams at most
 * that much later, and a first event after a quiet spell at once.
 *
 * Retry policy (this file decides it, SQL records it): 2xx delivered; 410
 * and other 4xx (but 408, 425, 429) failed for good; anything else (5xx,
 * 408, 425, 429, timeouts, refused connections) retried after
 * base * 2^(attempt-1) ms, capped, with equal jitter, at least Retry-After;
 * dead-lettered after pg_wallet.outbox_max_attempts attempts.
 *
 * Every request carries webhook-id (the row's message id, stable across
 * retries), webhook-timestamp, webhook-signature (when the partner has a
 * secret) and Idempotency-Key (the same message id), so a retry after an
 * unknown outcome (a crash, a timeout) is harmless at the partner.
 *
 * M-Pesa (Daraja) requests also carry "Authorization: Bearer <token>". The
 * token comes from GET {base_url}/oauth/v1/generate?grant_type=
 * client_credentials with Basic auth of the partner's consumer_key and
 * consumer_secret, and is kept in this process's memory only (never in a
 * table, a log line or an error) per partner, until expires_in less a
 * safety margin (60 s, or half of expires_in when that is at most 120 s).
 * The token request is made synchronously, with no transaction open, before
 * the partner's requests start; at most once per partner per claim when it
 * fails. Its outcome: refused (4xx but 408, 425, 429: wrong consumer key or
 * secret) fails the message for good without sending it; no answer or
 * another status is retried like a failed delivery. A 401 to a request sent
 * with a token drops that token and retries the message (an attempt), which
 * fetches a fresh one. The token cache is outbox_token.c's.
 *
 * Owns: the delivery loop. Never: interprets a response (the adapters'
 * SQL does), or logs a secret, a signature or a body.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/pg_wallet.h"
#include "partners/outbox.h"
#include "partners/worker.h"

#define OUTBOX_RUN_WAIT_MS		50		/* network wait per turn with requests in flight */
#define OUTBOX_NOT_READY_MS		2000	/* re-check for the extension this often */
#define OUTBOX_LOCKED_MS		200		/* look again for a due row another transaction holds */
#define OUTBOX_DONE_PER_TURN	256		/* results recorded per transaction */
#define EVENTS_SEQUENCE_BATCH	1000	/* queued events moved per turn */
#define EVENTS_GATHER_MS		10		/* after a turn that moved events, claim again no sooner */

/* One claimed row, in its request's memory context. */
typedef struct ClaimedRow
{
	OutboxRequest *req;
	char	   *method;
	char	   *url;
	char	   *headers[OUTBOX_MAX_HEADERS + 8];
	int			nheaders;
	char	   *body;
	int			timeout_ms;
	char	   *auth_partner;	/* M-Pesa: whose OAuth token (NULL: none needed) */
	char	   *auth_url;		/* M-Pesa: the token endpoint */
	char	   *auth_basic;		/* M-Pesa: "Basic <base64 key:secret>", NULL when unset */
} ClaimedRow;

/* What a claim transaction hands back to the loop. */
typedef struct ClaimBatch
{
	int			max_rows;
	int			nrows;
	ClaimedRow *rows;
	int64		next_due_ms;	/* -1: nothing pending */
	int64		sequenced;		/* queued events moved into their streams */
} ClaimBatch;

/* When the last claim that moved queued events ended (0: it moved none). */
static TimestampTz events_moved_at = 0;

/* What a record transaction gets. */
typedef struct RecordBatch
{
	OutboxRequest **done;
	int			ndone;
} RecordBatch;

static MemoryContext worker_cxt = NULL;

static uint64 send_turn = 0;		/* the send turns, for the token cache (outbox_token.c) */

/* Put back rows left SENDING by a previous life of the worker. */
static void
outbox_recover(void *arg)
{
	int64		n = worker_sql_int64("SELECT pg_wallet._outbox_recover()::bigint", 0, NULL, NULL);

	if (n > 0)
		ereport(LOG, (errmsg("pg_wallet outbox: %lld message(s) left in flight by a previous "
							 "worker will be sent again", (long long) n)));
}

/* Split the claim's "Name: value" lines into the row's header array. */
static void
claim_headers(ClaimedRow *row, const char *lines)
{
	char	   *copy = pstrdup(lines ? lines : "");
	char	   *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
		 line = strtok_r(NULL, "\n", &save))
	{
		if (row->nheaders >= OUTBOX_MAX_HEADERS || strlen(line) > OUTBOX_MAX_HEADER_BYTES)
			continue;
		row->headers[row->nheaders++] = line;
	}
}

/* Sign a claimed row: Standard Webhooks headers and the idempotency key. */
static void
claim_sign(ClaimedRow *row, const char *msg_id, bytea *secret)
{
	int64		ts = (int64) (GetCurrentTimestamp() / USECS_PER_SEC) +
		(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	row->headers[row->nheaders++] = psprintf("webhook-id: %s", msg_id);
	row->headers[row->nheaders++] = psprintf("webhook-timestamp: %lld", (long long) ts);
	row->headers[row->nheaders++] = psprintf("Idempotency-Key: %s", msg_id);
	if (secret != NULL && VARSIZE_ANY_EXHDR(secret) > 0)
		row->headers[row->nheaders++] =
			psprintf("webhook-signature: %s",
					 outbox_signature((uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret),
									  msg_id, ts, row->body, strlen(row->body)));
}

/* Copy one claimed tuple into a request context of its own. */
static void
claim_copy(ClaimBatch *batch, HeapTuple tup, TupleDesc desc)
{
	ClaimedRow *row = &batch->rows[batch->nrows++];
	MemoryContext cxt = AllocSetContextCreate(worker_cxt, "pg_wallet outbox request",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	bool		isnull;
	bool		no_secret;
	Datum		secret;

	row->req = palloc0(sizeof(OutboxRequest));
	row->req->cxt = cxt;
	row->req->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	row->req->attempt = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	row->method = SPI_getvalue(tup, desc, 4);
	row->url = SPI_getvalue(tup, desc, 5);
	claim_headers(row, SPI_getvalue(tup, desc, 6));
	row->body = SPI_getvalue(tup, desc, 7);
	if (row->body == NULL)
		row->body = pstrdup("");
	secret = SPI_getbinval(tup, desc, 8, &no_secret);
	row->timeout_ms = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	if (isnull || row->timeout_ms <= 0)
		row->timeout_ms = outbox_timeout_ms;
	claim_sign(row, SPI_getvalue(tup, desc, 3),
			   no_secret ? NULL : DatumGetByteaPCopy(secret));
	row->auth_partner = SPI_getvalue(tup, desc, 10);
	row->auth_url = SPI_getvalue(tup, desc, 11);
	row->auth_basic = SPI_getvalue(tup, desc, 12);
	MemoryContextSwitchTo(old);
}

/*
 * The statements of every claim turn, planned once per worker (the plan
 * cache re-plans them after DDL: an ALTER EXTENSION UPDATE); whether the
 * event queue exists, asked until it does and again after a failed turn.
 */
static SPIPlanPtr sequence_plan = NULL;
static SPIPlanPtr claim_plan = NULL;
static SPIPlanPtr next_due_plan = NULL;
static bool queue_present = false;

/*
 * Claim up to max_rows due rows and learn when the next one is due. First, in
 * the same short transaction, move a batch of queued events into their
 * streams (partners/events.sql, "Queued events"): the backends that queued
 * them woke this worker at commit; a full batch means more are waiting, so
 * the next turn comes at once.
 */
static void
outbox_claim(void *arg)
{
	ClaimBatch *batch = (ClaimBatch *) arg;
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(batch->max_rows)};
	SPITupleTable *tuptable;
	uint64		n;
	int64		sequenced = 0;

	/* an extension not yet updated to 0.2.0 has no queue (asked until it has one) */
	if (!queue_present)
		queue_present =
			worker_sql_int64("SELECT CASE WHEN to_regprocedure("
							 "'pg_wallet._events_sequence(integer)')"
							 " IS NULL THEN 0 ELSE 1 END::int8", 0, NULL, NULL) == 1;
	if (queue_present)
		sequenced = worker_plan_int64(&sequence_plan, "SELECT pg_wallet._events_sequence("
									  CppAsString2(EVENTS_SEQUENCE_BATCH) ")::bigint",
									  0, NULL, NULL);
	batch->nrows = 0;
	if (batch->max_rows > 0)
	{
		wallet_plan(&claim_plan,
					"SELECT id, attempt, message_id, method, url, headers, body,"
					" secret, timeout_ms, auth_partner, auth_url, auth_basic"
					" FROM pg_wallet._outbox_claim($1)", 1, argtypes);
		if (SPI_execute_plan(claim_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "outbox claim failed");
		tuptable = SPI_tuptable;
		n = SPI_processed;
		for (uint64 i = 0; i < n && batch->nrows < batch->max_rows; i++)
			claim_copy(batch, tuptable->vals[i], tuptable->tupdesc);
	}
	batch->next_due_ms = worker_plan_int64(&next_due_plan,
										   "SELECT pg_wallet._outbox_next_due_ms()", 0,
										   NULL, NULL);
	batch->sequenced = sequenced;
	if (sequenced >= EVENTS_SEQUENCE_BATCH)
		batch->next_due_ms = 0;
}

/* The delay before the next attempt: exponential, capped, equal jitter. */
static int
outbox_retry_delay_ms(int attempt, int retry_after_s)
{
	double		delay = (double) outbox_backoff_base_ms;

	for (int i = 1; i < attempt && delay < outbox_backoff_max_ms; i++)
		delay *= 2;
	if (delay > outbox_backoff_max_ms)
		delay = outbox_backoff_max_ms;
	delay = delay / 2 + pg_prng_double(&pg_global_prng_state) * (delay / 2);
	if (retry_after_s >= 0 && retry_after_s * 1000.0 > delay)
		delay = Min(retry_after_s * 1000.0, (double) outbox_backoff_max_ms);
	return (int) delay;
}

/* What became of one attempt: delivered, failed, retry or dead. */
static const char *
outbox_outcome(OutboxRequest *req)
{
	long		s = req->http_status;

	if (req->auth_refused)
		return "failed";		/* the OAuth endpoint refused the credentials: not sent */
	if (s >= 200 && s < 300)
		return "delivered";
	if (req->bearer && s == 401)
		return req->attempt >= outbox_max_attempts ? "dead" : "retry";
	if (s >= 400 && s < 500 && s != 408 && s != 425 && s != 429)
		return "failed";
	if (req->attempt >= outbox_max_attempts)
		return "dead";
	return "retry";
}

/* The response body as text the database accepts (valid UTF-8, no NUL). */
static const char *
outbox_response_text(OutboxRequest *req)
{
	if (req->response == NULL || req->response_len == 0)
		return "";
	if (memchr(req->response, '\0', req->response_len) != NULL ||
		!pg_verifymbstr(req->response, req->response_len, true))
		return psprintf("(binary response of %d bytes)", req->response_len);
	return req->response;
}

/* Record every finished request of this turn. */
static void
outbox_record(void *arg)
{
	RecordBatch *batch = (RecordBatch *) arg;
	Oid			argtypes[8] = {INT8OID, INT4OID, TEXTOID, INT4OID, TEXTOID, TEXTOID,
	INT4OID, INT4OID};

	for (int i = 0; i < batch->ndone; i++)
	{
		OutboxRequest *req = batch->done[i];
		const char *outcome = outbox_outcome(req);
		Datum		values[8];
		char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

		values[0] = Int64GetDatum(req->id);
		values[1] = Int32GetDatum(req->attempt);
		values[2] = CStringGetTextDatum(outcome);
		values[3] = Int32GetDatum((int32) req->http_status);
		nulls[3] = req->http_status == 0 ? 'n' : ' ';
		values[4] = CStringGetTextDatum(outbox_response_text(req));
		nulls[4] = req->response_len == 0 ? 'n' : ' ';
		values[5] = req->error ? CStringGetTextDatum(req->error) : (Datum) 0;
		nulls[5] = req->error ? ' ' : 'n';
		values[6] = Int32GetDatum(strcmp(outcome, "retry") == 0 ?
								  outbox_retry_delay_ms(req->attempt, req->retry_after_s) : 0);
		values[7] = Int32GetDatum((int32) Min(req->elapsed_ms, PG_INT32_MAX));
		if (SPI_execute_with_args("SELECT pg_wallet._outbox_complete($1, $2, $3, $4, $5, $6,"
								  " $7, $8)", 8, argtypes, values, nulls, false, 0) < 0)
			elog(ERROR, "outbox result of message %lld not recorded", (long long) req->id);
	}
}

/* Record results: all in one transaction, or one by one when that fails. */
static void
outbox_record_all(OutboxRequest **done, int ndone)
{
	RecordBatch batch = {done, ndone};

	if (ndone == 0)
		return;
	for (int i = 0; i < ndone; i++)
		if (done[i]->bearer && done[i]->http_status == 401)
			outbox_token_rejected(done[i]);
	if (!worker_run(outbox_record, &batch, "outbox record") && ndone > 1)
	{
		/* one bad row must not lose the others' results */
		for (int i = 0; i < ndone; i++)
		{
			RecordBatch one = {&done[i], 1};

			(void) worker_run(outbox_record, &one, "outbox record");
		}
	}
	for (int i = 0; i < ndone; i++)
		MemoryContextDelete(done[i]->cxt);
}

/* Add the M-Pesa Bearer token to a row; false (req->error set) when none. */
static bool
outbox_authorize(ClaimedRow *row)
{
	uint64		gen = 0;
	const char *error = NULL;
	bool		refused = false;
	const char *token = outbox_token_for(row->auth_partner, row->auth_url, row->auth_basic,
										 row->timeout_ms, send_turn, &gen, &error, &refused);

	if (token == NULL)
	{
		row->req->error = pstrdup(error);
		row->req->auth_refused = refused;
		return false;
	}
	row->headers[row->nheaders++] = psprintf("Authorization: Bearer %s", token);
	row->req->bearer = true;
	row->req->token_gen = gen;
	row->req->auth_partner = pstrdup(row->auth_partner);
	return true;
}

/* Start the claimed rows' requests. */
static void
outbox_send(OutboxHttp *http, ClaimBatch *batch, OutboxRequest **failed, int *nfailed)
{
	send_turn++;
	for (int i = 0; i < batch->nrows; i++)
	{
		ClaimedRow *row = &batch->rows[i];
		MemoryContext old = MemoryContextSwitchTo(row->req->cxt);

		if (row->auth_partner != NULL && !outbox_authorize(row))
			failed[(*nfailed)++] = row->req;
		else if (!outbox_http_add(http, row->req, row->method, row->url, row->headers,
							 row->nheaders, row->body, row->timeout_ms))
			failed[(*nfailed)++] = row->req;
		/* the signed body and headers are no longer needed here */
		MemoryContextSwitchTo(old);
	}
}

/*
 * Sleep on the latch until a committing backend sets it or timeout_ms runs
 * out (-1: nothing is due, sleep for the poll interval). The latch is reset
 * after waking and before the caller claims, so a commit that lands after
 * the reset is seen by that claim or sets the latch for the next sleep.
 */
static void
outbox_sleep(long timeout_ms)
{
	long		timeout = outbox_poll_ms;

	if (timeout_ms >= 0 && timeout_ms < timeout)
		timeout = timeout_ms;
	if (timeout <= 0)
		return;					/* due now: no sleep (the caller claims) */
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/* Milliseconds until due_at, rounded up (so a sleep never ends early); -1: never. */
static long
outbox_ms_until(TimestampTz due_at)
{
	TimestampTz now = GetCurrentTimestamp();

	if (due_at == 0)
		return -1;
	if (due_at <= now)
		return 0;
	return (long) Min((due_at - now + 999) / 1000, (int64) INT_MAX);
}

/*
 * When to claim next, from what a claim saw. A row due now that the claim
 * did not take (the batch was not full) is held by another transaction
 * (SKIP LOCKED): look again after OUTBOX_LOCKED_MS, not at once, or the
 * worker would spin on it. A recorded failure may have made a retry due:
 * claim again at once to learn when.
 */
static TimestampTz
outbox_next_claim(const ClaimBatch *batch, int nfailed)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		ms = batch->next_due_ms;

	if (nfailed > 0)
		return now;
	if (ms < 0)
		return 0;
	if (ms == 0 && batch->nrows < batch->max_rows)
		ms = OUTBOX_LOCKED_MS;
	return TimestampTzPlusMilliseconds(now, ms);
}

/*
 * One turn with requests in flight: drive the network for a moment and
 * record what finished. Returns whether to claim again: the latch was set
 * meanwhile, or results were recorded (a retry may now be the next due).
 */
static bool
outbox_turn(OutboxHttp *http)
{
	OutboxRequest *done[OUTBOX_DONE_PER_TURN];
	int			ndone = outbox_http_run(http, OUTBOX_RUN_WAIT_MS, done, OUTBOX_DONE_PER_TURN);
	/* a recorded retry changes when the next row is due: claim (and look) again */
	bool		woken = ndone > 0;

	outbox_record_all(done, ndone);
	if (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 0,
				  PG_WAIT_EXTENSION) & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		woken = true;
	}
	return woken;
}

/*
 * Before a claim: if the last one moved queued events, wait (without the
 * latch, which every committing payment sets) until EVENTS_GATHER_MS after
 * it, so this one moves what arrived meanwhile.
 */
static void
events_gather(void)
{
	long		ms;

	if (events_moved_at == 0)
		return;
	ms = outbox_ms_until(TimestampTzPlusMilliseconds(events_moved_at, EVENTS_GATHER_MS));
	if (ms > 0)
		(void) WaitLatch(NULL, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
	CHECK_FOR_INTERRUPTS();
}

/*
 * Claim what room allows, start sending it, and set when to claim next
 * (*claim_now: at once, the batch was full; *due_at otherwise). False when
 * the claim failed.
 */
static bool
outbox_claim_send(OutboxHttp *http, bool *claim_now, TimestampTz *due_at)
{
	ClaimBatch	batch;
	OutboxRequest *failed[OUTBOX_MAX_IN_FLIGHT_LIMIT];
	int			nfailed = 0;

	events_gather();
	batch.max_rows = Min(outbox_batch_size, outbox_max_in_flight - outbox_http_in_flight(http));
	batch.rows = palloc0(sizeof(ClaimedRow) * Max(batch.max_rows, 1));
	batch.sequenced = 0;
	if (!worker_run(outbox_claim, &batch, "outbox claim"))
	{
		queue_present = false;
		pfree(batch.rows);
		return false;
	}
	/* a full batch of events: more are waiting, no gathering */
	events_moved_at = batch.sequenced > 0 && batch.sequenced < EVENTS_SEQUENCE_BATCH ?
		GetCurrentTimestamp() : 0;
	outbox_send(http, &batch, failed, &nfailed);
	outbox_record_all(failed, nfailed);
	*due_at = outbox_next_claim(&batch, nfailed);
	/* a full batch: more may be due at once */
	*claim_now = batch.nrows == batch.max_rows && batch.nrows > 0;
	pfree(batch.rows);
	return true;
}

/*
 * Main loop. A claim happens when woken (a commit queued rows), when the
 * next retry is due, and after every turn that freed room, bounded by
 * pg_wallet.outbox_batch_size and pg_wallet.outbox_max_in_flight. With
 * nothing in flight and nothing due it sleeps on the latch (outbox_sleep):
 * an idle worker turns once per pg_wallet.outbox_poll_ms.
 */
void
wallet_outbox_main(Datum arg)
{
	OutboxHttp *http;
	MemoryContext loop_cxt;
	bool		ready = false;
	bool		recovered = false;
	bool		claim_now = true;
	TimestampTz due_at = 0;		/* when to claim next; 0: nothing due */

	worker_start(WALLET_WORKER_OUTBOX, "pg_wallet outbox");
	worker_cxt = AllocSetContextCreate(TopMemoryContext, "pg_wallet outbox",
									   ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(worker_cxt);
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		elog(ERROR, "curl_global_init failed");
	http = outbox_http_create();
	outbox_set_worker_latch(true);
	loop_cxt = AllocSetContextCreate(worker_cxt, "pg_wallet outbox loop",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		CHECK_FOR_INTERRUPTS();
		worker_reload_config();
		worker_count_loop(WALLET_WORKER_OUTBOX);
		if (!ready)
		{
			/* orphans exist only at start-up: never recover rows this worker has in flight */
			ready = worker_extension_ready();
			if (ready && !recovered)
				ready = recovered = worker_run(outbox_recover, NULL, "outbox recovery");
			if (!ready)
			{
				outbox_sleep(OUTBOX_NOT_READY_MS);
				continue;
			}
			claim_now = true;
		}
		if (due_at != 0 && GetCurrentTimestamp() >= due_at)
			claim_now = true;
		if (claim_now && outbox_http_in_flight(http) < outbox_max_in_flight &&
			!outbox_claim_send(http, &claim_now, &due_at))
		{
			/* the extension may be gone, or a row cannot be rendered: not in a loop */
			ready = false;
			outbox_sleep(OUTBOX_NOT_READY_MS);
			continue;
		}
		if (outbox_http_in_flight(http) > 0)
			claim_now = outbox_turn(http) || claim_now;
		else if (!claim_now)
		{
			outbox_sleep(outbox_ms_until(due_at));
			claim_now = true;
		}
	}
}
