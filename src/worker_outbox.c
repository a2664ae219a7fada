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

#include "outbox.h"
#include "worker.h"

#define OUTBOX_RUN_WAIT_MS		50		/* network wait per turn with requests in flight */
#define OUTBOX_NOT_READY_MS		2000	/* re-check for the extension this often */
#define OUTBOX_DONE_PER_TURN	256		/* results recorded per transaction */

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
} ClaimedRow;

/* What a claim transaction hands back to the loop. */
typedef struct ClaimBatch
{
	int			max_rows;
	int			nrows;
	ClaimedRow *rows;
	int64		next_due_ms;	/* -1: nothing pending */
} ClaimBatch;

/* What a record transaction gets. */
typedef struct RecordBatch
{
	OutboxRequest **done;
	int			ndone;
} RecordBatch;

static MemoryContext worker_cxt = NULL;

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
	MemoryContextSwitchTo(old);
}

/* Claim up to max_rows due rows and learn when the next one is due. */
static void
outbox_claim(void *arg)
{
	ClaimBatch *batch = (ClaimBatch *) arg;
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(batch->max_rows)};
	SPITupleTable *tuptable;
	uint64		n;

	batch->nrows = 0;
	if (batch->max_rows > 0)
	{
		if (SPI_execute_with_args("SELECT id, attempt, message_id, method, url, headers, body,"
								  " secret, timeout_ms FROM pg_wallet._outbox_claim($1)",
								  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "outbox claim failed");
		tuptable = SPI_tuptable;
		n = SPI_processed;
		for (uint64 i = 0; i < n && batch->nrows < batch->max_rows; i++)
			claim_copy(batch, tuptable->vals[i], tuptable->tupdesc);
	}
	batch->next_due_ms = worker_sql_int64("SELECT pg_wallet._outbox_next_due_ms()", 0,
										  NULL, NULL);
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

	if (s >= 200 && s < 300)
		return "delivered";
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

/* Start the claimed rows' requests. */
static void
outbox_send(OutboxHttp *http, ClaimBatch *batch, OutboxRequest **failed, int *nfailed)
{
	for (int i = 0; i < batch->nrows; i++)
	{
		ClaimedRow *row = &batch->rows[i];
		MemoryContext old = MemoryContextSwitchTo(row->req->cxt);

		if (!outbox_http_add(http, row->req, row->method, row->url, row->headers,
							 row->nheaders, row->body, row->timeout_ms))
			failed[(*nfailed)++] = row->req;
		/* the signed body and headers are no longer needed here */
		MemoryContextSwitchTo(old);
	}
}

/* Sleep until woken, until the next row is due, or for the poll interval. */
static bool
outbox_sleep(int64 next_due_ms)
{
	long		timeout = outbox_poll_ms;
	int			rc;

	if (next_due_ms >= 0 && next_due_ms < timeout)
		timeout = (long) next_due_ms;
	rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
				   Max(timeout, 1), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	return (rc & WL_LATCH_SET) != 0 || (rc & WL_TIMEOUT) != 0;
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
 * Main loop. A claim happens when woken (a commit queued rows), when the
 * next retry is due, and after every turn that freed room, bounded by
 * pg_wallet.outbox_batch_size and pg_wallet.outbox_max_in_flight.
 */
void
wallet_outbox_main(Datum arg)
{
	OutboxHttp *http;
	MemoryContext loop_cxt;
	bool		ready = false;
	bool		claim_now = true;
	int64		next_due_ms = -1;
	TimestampTz due_at = 0;

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
		if (!ready)
		{
			ready = worker_extension_ready() && worker_run(outbox_recover, NULL, "outbox recovery");
			if (!ready)
			{
				(void) outbox_sleep(OUTBOX_NOT_READY_MS);
				continue;
			}
			claim_now = true;
		}
		if (due_at != 0 && GetCurrentTimestamp() >= due_at)
			claim_now = true;
		if (claim_now && outbox_http_in_flight(http) < outbox_max_in_flight)
		{
			ClaimBatch	batch;
			OutboxRequest *failed[OUTBOX_MAX_IN_FLIGHT_LIMIT];
			int			nfailed = 0;

			batch.max_rows = Min(outbox_batch_size,
								 outbox_max_in_flight - outbox_http_in_flight(http));
			batch.rows = palloc0(sizeof(ClaimedRow) * Max(batch.max_rows, 1));
			if (!worker_run(outbox_claim, &batch, "outbox claim"))
			{
				ready = false;	/* the extension may be gone: check again */
				pfree(batch.rows);
				continue;
			}
			outbox_send(http, &batch, failed, &nfailed);
			outbox_record_all(failed, nfailed);
			if (nfailed > 0)
				batch.next_due_ms = 0;
			next_due_ms = batch.next_due_ms;
			due_at = next_due_ms >= 0 ?
				TimestampTzPlusMilliseconds(GetCurrentTimestamp(), next_due_ms) : 0;
			/* a full batch: more may be due at once */
			claim_now = batch.nrows == batch.max_rows && batch.nrows > 0;
			pfree(batch.rows);
		}
		if (outbox_http_in_flight(http) > 0)
			claim_now = outbox_turn(http) || claim_now;
		else if (!claim_now)
		{
			long		wait_ms = due_at == 0 ? -1 :
				Max(0, (long) ((due_at - GetCurrentTimestamp()) / 1000));

			(void) outbox_sleep(wait_ms);
			claim_now = true;
		}
	}
}
