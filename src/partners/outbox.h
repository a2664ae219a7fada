/*-------------------------------------------------------------------------
 *
 * outbox.h
 *	  Declarations of pg_wallet's partner path (the settings of the workers
 *	  are in settings.h): the shared state that lets a committing backend
 *	  wake the outbox worker, Standard Webhooks signing, the HTTP transport
 *	  (libcurl multi) and the worker entry points.
 *
 * Files: outbox_config.c (shared memory, wake at commit),
 * outbox_sign.c (HMAC-SHA256 signatures), outbox_http.c (libcurl multi, and
 * one synchronous GET for M-Pesa OAuth tokens),
 * worker_launcher.c, worker_outbox.c, worker_expiry.c (background workers).
 * The business rules of partners, deposits, payouts, callbacks and events
 * are SQL (sql/partners/); the C code here only moves bytes and time.
 *
 * Invariants:
 *	- a secret (partner credentials, webhook secret, signature, OAuth access
 *	  token) never appears in a log line, an error message or a detail;
 *	- every buffer is bounded (request and response bodies, headers);
 *	- no HTTP request is ever made while a transaction is open.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_WALLET_OUTBOX_H
#define PG_WALLET_OUTBOX_H

#include "postgres.h"

#include "settings.h"

/*
 * Wallet SQLSTATEs of partners, deposits, payouts, the outbox and events,
 * class WL, 060-079: generated from src/errors.tsv (docs/errors.md); SQL
 * raises them by their text ('WL060', ...).
 */
#include "wallet_errors.h"

/* Bounds of what crosses the wire. */
#define OUTBOX_MAX_BODY_BYTES		65536	/* request body sent */
#define OUTBOX_MAX_RESPONSE_BYTES	16384	/* response body kept */
#define OUTBOX_MAX_HEADERS			16		/* extra request headers */
#define OUTBOX_MAX_HEADER_BYTES		1024	/* one header line */
#define OUTBOX_MAX_URL_BYTES		1024
#define OUTBOX_MAX_SECRET_BYTES		64
#define OUTBOX_MAX_TOKEN_BYTES		512		/* an OAuth access token */
#define OUTBOX_MAX_AUTH_RESPONSE	4096	/* an OAuth token answer kept */

/* Whether the library was preloaded (set by _PG_init; outbox_config.c). */
extern bool wallet_preloaded;

/* Background worker kinds; each runs at most once (a slot in shared memory). */
#define WALLET_WORKER_OUTBOX	0
#define WALLET_WORKER_EXPIRY	1
#define WALLET_WORKER_KINDS		2
/* The launcher has no slot, but counts its activity like the others. */
#define WALLET_WORKER_LAUNCHER	2
#define WALLET_WORKER_COUNTED	3

/* outbox_config.c: the worker woken when the transaction that queued rows commits */
extern bool outbox_workers_available(void);
extern void outbox_wake_at_commit(void);

extern bool worker_slot_claim(int kind);
extern void worker_slot_release(int kind);
extern bool worker_slot_alive(int kind);
extern void outbox_shmem_init_hooks(void);
extern void outbox_set_worker_latch(bool mine);

/*
 * Activity counters in shared memory, shown by worker_status(): the turns of
 * a worker's main loop (an idle worker turns only when woken or when a
 * timeout it chose runs out) and the transactions it ran.
 */
extern void worker_count_loop(int kind);
extern void worker_count_transaction(int kind);

/* outbox_sign.c: the Standard Webhooks v1 signature of one message. */
extern char *outbox_signature(const uint8 *secret, int secret_len, const char *msg_id,
							  int64 timestamp_s, const char *body, int body_len);

/* outbox_http.c: requests in flight on one libcurl multi handle. */
typedef struct OutboxRequest
{
	int64		id;				/* outbox row */
	int			attempt;		/* the attempt number the claim gave */
	MemoryContext cxt;			/* everything of this request lives here */
	/* filled when done */
	bool		done;
	long		http_status;	/* 0: no HTTP answer */
	char	   *error;			/* transport error (timeout, refused), or NULL */
	char	   *response;		/* bounded, NUL-terminated */
	int			response_len;
	int			retry_after_s;	/* Retry-After header, -1 when absent */
	int64		elapsed_ms;
	/* M-Pesa (Daraja) OAuth, set by the worker before sending */
	bool		bearer;			/* sent with a cached Bearer token */
	bool		auth_refused;	/* the OAuth endpoint refused the credentials: not sent */
	char	   *auth_partner;	/* whose token (the cache key) */
	uint64		token_gen;		/* which token, so a 401 drops only that one */
} OutboxRequest;

typedef struct OutboxHttp OutboxHttp;

extern OutboxHttp *outbox_http_create(void);
extern void outbox_http_destroy(OutboxHttp *http);
extern bool outbox_http_add(OutboxHttp *http, OutboxRequest *req, const char *method,
							const char *url, char **headers, int nheaders,
							const char *body, int timeout_ms);
extern int	outbox_http_in_flight(OutboxHttp *http);
extern int	outbox_http_run(OutboxHttp *http, int wait_ms, OutboxRequest **done, int max_done);
extern bool outbox_http_fetch(const char *url, char **headers, int nheaders, int timeout_ms,
							  long *http_status, char *response, int response_size,
							  char *error, int error_size);

/* outbox_token.c: the M-Pesa OAuth tokens of the outbox worker */
extern const char *outbox_token_for(const char *partner, const char *auth_url,
									const char *auth_basic, int timeout_ms, uint64 turn,
									uint64 *gen, const char **error, bool *refused);
extern void outbox_token_rejected(OutboxRequest *req);

/* Worker entry points (registered by worker_launcher.c). */
extern PGDLLEXPORT void wallet_launcher_main(Datum arg);
extern PGDLLEXPORT void wallet_outbox_main(Datum arg);
extern PGDLLEXPORT void wallet_expiry_main(Datum arg);
extern void wallet_register_launcher(void);

#endif							/* PG_WALLET_OUTBOX_H */
