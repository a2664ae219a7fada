/*-------------------------------------------------------------------------
 *
 * fraud_context.c
 *	  The request context of fraud scoring: what the caller knows of the
 *	  client behind a request (IP address, device id, user agent, country,
 *	  coordinates), set once per transaction with
 *	  pg_wallet.set_request_context(jsonb) before the money-moving call, and
 *	  read by the scoring of every posting of that transaction.
 *
 * Owns: the context, kept in backend memory (one fixed-size struct), valid
 * only in the local transaction that set it: an xact callback clears it at
 * commit and abort, and a reader checks that it belongs to the current
 * local transaction id as well. The device id itself is never kept: only
 * its SHA-256.
 *
 * Never: touches tables; trusts a field it has not bounded and validated.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/xact.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "core/pg_wallet.h"
#include "rules/fraud.h"

PG_FUNCTION_INFO_V1(wallet_set_request_context);
PG_FUNCTION_INFO_V1(wallet_request_context);

#define CONTEXT_MAX_BYTES 2048

static FraudContext context;
static bool context_set = false;
static LocalTransactionId context_lxid = InvalidLocalTransactionId;
static bool callback_registered = false;

static void
context_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		context_set = false;
		memset(&context, 0, sizeof(context));
	}
}

/* The current transaction's context, or NULL when none was set. */
const FraudContext *
fraud_context(void)
{
	if (!context_set || context_lxid != MyProc->lxid)
		return NULL;
	return &context;
}

/* A coordinate's decimal text (validated: at most 6 decimals) in millionths of a degree. */
static int32
coordinate_e6(const char *text)
{
	const char *p = text;
	bool		neg = *p == '-';
	int64		v = 0;
	int			decimals = -1;

	if (neg)
		p++;
	for (; *p && decimals < 6; p++)
	{
		if (*p == '.')
			decimals = 0;
		else
		{
			v = v * 10 + (*p - '0');
			if (decimals >= 0)
				decimals++;
		}
	}
	for (decimals = Max(decimals, 0); decimals < 6; decimals++)
		v *= 10;
	return (int32) (neg ? -v : v);
}

/*
 * The context's coordinates in millionths of a degree; false when it has
 * no context or not both of lat and lon.
 */
bool
fraud_context_location(const FraudContext *ctx, int32 *lat_e6, int32 *lon_e6)
{
	if (ctx == NULL || ctx->lat[0] == '\0' || ctx->lon[0] == '\0')
		return false;
	*lat_e6 = coordinate_e6(ctx->lat);
	*lon_e6 = coordinate_e6(ctx->lon);
	return true;
}

static void
bad_context(const char *key, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("request context: \"%s\" %s", key, what)));
}

/* A string field of at most max_len bytes, without control characters. */
static char *
context_string(JsonbValue *v, const char *key, int max_len)
{
	char	   *s;

	if (v->type != jbvString)
		bad_context(key, "must be a string");
	if (v->val.string.len < 1 || v->val.string.len > max_len)
		bad_context(key, psprintf("must be 1 to %d bytes long", max_len));
	s = pnstrdup(v->val.string.val, v->val.string.len);
	for (const char *p = s; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			bad_context(key, "must not contain control characters");
	return s;
}

/* A coordinate in [-limit, limit], as decimal text. */
static void
context_coordinate(JsonbValue *v, const char *key, int limit, char *out, size_t outlen)
{
	Datum		num;
	char	   *text;

	if (v->type != jbvNumeric)
		bad_context(key, "must be a number");
	num = NumericGetDatum(v->val.numeric);
	if (DatumGetBool(DirectFunctionCall2(numeric_gt, num,
										 DirectFunctionCall1(int4_numeric,
															 Int32GetDatum(limit)))) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, num,
										 DirectFunctionCall1(int4_numeric,
															 Int32GetDatum(-limit)))))
		bad_context(key, psprintf("must be between %d and %d", -limit, limit));
	num = DirectFunctionCall2(numeric_round, num, Int32GetDatum(6));
	text = DatumGetCString(DirectFunctionCall1(numeric_out, num));
	strlcpy(out, text, outlen);
}

static void
context_device(JsonbValue *v, FraudContext *c)
{
	char	   *id = context_string(v, "device_id", 200);
	pg_cryptohash_ctx *h = pg_cryptohash_create(PG_SHA256);

	if (h == NULL || pg_cryptohash_init(h) < 0 ||
		pg_cryptohash_update(h, (const uint8 *) id, strlen(id)) < 0 ||
		pg_cryptohash_final(h, c->device_hash, sizeof(c->device_hash)) < 0)
		elog(ERROR, "SHA-256 of the device id failed");
	pg_cryptohash_free(h);
	c->has_device = true;
}

static void
context_ip(JsonbValue *v, FraudContext *c)
{
	char	   *s = context_string(v, "ip", 45);
	Datum		d = DirectFunctionCall1(inet_in, CStringGetDatum(s));
	inet	   *addr = DatumGetInetPP(d);

	if (ip_bits(addr) != ip_maxbits(addr))
		bad_context("ip", "must be one address, not a network");
	strlcpy(c->ip, DatumGetCString(DirectFunctionCall1(inet_out, d)), sizeof(c->ip));
	c->has_ip = true;
}

/* Validate one key of the context into c. */
static void
context_field(const char *key, JsonbValue *v, FraudContext *c)
{
	if (strcmp(key, "ip") == 0)
		context_ip(v, c);
	else if (strcmp(key, "device_id") == 0)
		context_device(v, c);
	else if (strcmp(key, "user_agent") == 0)
		strlcpy(c->user_agent, context_string(v, key, 256), sizeof(c->user_agent));
	else if (strcmp(key, "country") == 0)
	{
		char	   *s = context_string(v, key, 2);

		if (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
			bad_context(key, "must be an ISO 3166-1 alpha-2 code (two capital letters)");
		strlcpy(c->country, s, sizeof(c->country));
	}
	else if (strcmp(key, "lat") == 0)
		context_coordinate(v, key, 90, c->lat, sizeof(c->lat));
	else if (strcmp(key, "lon") == 0)
		context_coordinate(v, key, 180, c->lon, sizeof(c->lon));
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request context: unknown key \"%s\"", key),
				 errhint("Known keys: ip, device_id, user_agent, country, lat, lon.")));
}

/*
 * set_request_context(context jsonb) returns void
 *
 * Validate the context and keep it for the rest of the transaction; NULL
 * or {} clears it. A second call replaces the first.
 */
Datum
wallet_set_request_context(PG_FUNCTION_ARGS)
{
	Jsonb	   *j;
	FraudContext c;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	memset(&c, 0, sizeof(c));
	if (!callback_registered)
	{
		RegisterXactCallback(context_xact_callback, NULL);
		callback_registered = true;
	}
	context_set = false;
	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	j = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request context must be a JSON object")));
	if (VARSIZE(j) > CONTEXT_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("request context must be at most %d bytes", CONTEXT_MAX_BYTES)));
	it = JsonbIteratorInit(&j->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, Min(v.val.string.len, 40));
		else if (tok == WJB_VALUE && v.type != jbvNull)
			context_field(key, &v, &c);
	}
	/* {} (or only nulls) clears it, as NULL does */
	if (!c.has_ip && !c.has_device && !c.user_agent[0] && !c.country[0] && !c.lat[0] &&
		!c.lon[0])
		PG_RETURN_VOID();
	context = c;
	context_lxid = MyProc->lxid;
	context_set = true;
	PG_RETURN_VOID();
}

/* The context as stored with a score: the device id as its SHA-256, in hex. */
Jsonb *
fraud_context_jsonb(const FraudContext *ctx)
{
	JsonbParseState *ps = NULL;
	JsonbValue	k,
				v;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
#define PUSH_STR(name, value) \
	do { \
		k.type = jbvString; k.val.string.val = (name); k.val.string.len = strlen(name); \
		pushJsonbValue(&ps, WJB_KEY, &k); \
		v.type = jbvString; v.val.string.val = (char *) (value); \
		v.val.string.len = strlen(value); \
		pushJsonbValue(&ps, WJB_VALUE, &v); \
	} while (0)
	if (ctx != NULL && ctx->has_ip)
		PUSH_STR("ip", ctx->ip);
	if (ctx != NULL && ctx->has_device)
	{
		char		hex[65];

		hex_encode((const char *) ctx->device_hash, 32, hex);
		hex[64] = '\0';
		PUSH_STR("device_sha256", hex);
	}
	if (ctx != NULL && ctx->user_agent[0])
		PUSH_STR("user_agent", ctx->user_agent);
	if (ctx != NULL && ctx->country[0])
		PUSH_STR("country", ctx->country);
	if (ctx != NULL && ctx->lat[0])
		PUSH_STR("lat", ctx->lat);
	if (ctx != NULL && ctx->lon[0])
		PUSH_STR("lon", ctx->lon);
#undef PUSH_STR
	return JsonbValueToJsonb(pushJsonbValue(&ps, WJB_END_OBJECT, NULL));
}

/* request_context() returns jsonb: the current transaction's context, as stored. */
Datum
wallet_request_context(PG_FUNCTION_ARGS)
{
	const FraudContext *ctx = fraud_context();

	if (ctx == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(fraud_context_jsonb(ctx));
}
