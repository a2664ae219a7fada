/*-------------------------------------------------------------------------
 *
 * outbox_sign.c
 *	  HMAC-SHA256 signatures of partner messages, in the Standard Webhooks
 *	  convention: the signed content is "{msg_id}.{timestamp}.{body}" and
 *	  the header value is "v1,<base64 of the HMAC>", several separated by
 *	  spaces during a key rotation.
 *
 * Owns: outbox_signature() (the worker signs every request with it) and
 * the SQL functions webhook_signature(), _webhook_signature_ok() (inbound
 * callbacks are verified with it, in constant time) and _hmac_sha256().
 *
 * Never: logs or reports a secret or a signature, or compares signatures
 * with memcmp (CRYPTO_memcmp only).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/base64.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "partners/outbox.h"

PG_FUNCTION_INFO_V1(wallet_webhook_signature);
PG_FUNCTION_INFO_V1(wallet_webhook_signature_ok);
PG_FUNCTION_INFO_V1(wallet_hmac_sha256);

#define SIG_MAX_HEADER_BYTES	2048	/* a webhook-signature header */
#define SIG_MAX_MSG_ID_BYTES	256
#define SIG_HMAC_LEN			32

/* HMAC-SHA256 of "{id}.{ts}.{body}" into out[32]. */
static void
signature_hmac(const uint8 *secret, int secret_len, const char *msg_id, int64 ts,
			   const char *body, int body_len, uint8 *out)
{
	char		prefix[SIG_MAX_MSG_ID_BYTES + 32];
	int			prefix_len;
	char	   *content;
	unsigned int out_len = 0;

	prefix_len = snprintf(prefix, sizeof(prefix), "%s.%lld.", msg_id, (long long) ts);
	if (prefix_len < 0 || prefix_len >= (int) sizeof(prefix))
		elog(ERROR, "webhook message id too long");
	content = palloc(prefix_len + body_len + 1);
	memcpy(content, prefix, prefix_len);
	memcpy(content + prefix_len, body, body_len);
	if (HMAC(EVP_sha256(), secret, secret_len, (unsigned char *) content,
			 prefix_len + body_len, out, &out_len) == NULL || out_len != SIG_HMAC_LEN)
		elog(ERROR, "HMAC-SHA256 failed");
	pfree(content);
}

/*
 * The header value "v1,<base64>" for one message, palloc'd. Used by the
 * outbox worker for every request it sends.
 */
char *
outbox_signature(const uint8 *secret, int secret_len, const char *msg_id, int64 timestamp_s,
				 const char *body, int body_len)
{
	uint8		digest[SIG_HMAC_LEN];
	char	   *out = palloc(3 + pg_b64_enc_len(SIG_HMAC_LEN) + 1);
	int			n;

	signature_hmac(secret, secret_len, msg_id, timestamp_s, body, body_len, digest);
	memcpy(out, "v1,", 3);
	n = pg_b64_encode((const char *) digest, SIG_HMAC_LEN, out + 3, pg_b64_enc_len(SIG_HMAC_LEN));
	if (n < 0)
		elog(ERROR, "base64 encoding failed");
	out[3 + n] = '\0';
	OPENSSL_cleanse(digest, sizeof(digest));
	return out;
}

/* The secret argument, bounded; error when empty or too long. */
static bytea *
secret_arg(FunctionCallInfo fcinfo, int argno)
{
	bytea	   *secret = PG_GETARG_BYTEA_PP(argno);
	int			len = VARSIZE_ANY_EXHDR(secret);

	if (len < 1 || len > OUTBOX_MAX_SECRET_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a webhook secret must be 1 to %d bytes", OUTBOX_MAX_SECRET_BYTES)));
	return secret;
}

/* The message id argument, bounded. */
static char *
msg_id_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *t = PG_GETARG_TEXT_PP(argno);

	if (VARSIZE_ANY_EXHDR(t) < 1 || VARSIZE_ANY_EXHDR(t) > SIG_MAX_MSG_ID_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a webhook message id must be 1 to %d bytes", SIG_MAX_MSG_ID_BYTES)));
	return text_to_cstring(t);
}

/*
 * webhook_signature(secret bytea, msg_id text, timestamp_s bigint,
 *					 body text) returns text
 *
 * "v1,<base64 HMAC-SHA256(secret, msg_id.timestamp.body)>".
 */
Datum
wallet_webhook_signature(PG_FUNCTION_ARGS)
{
	bytea	   *secret = secret_arg(fcinfo, 0);
	char	   *msg_id = msg_id_arg(fcinfo, 1);
	text	   *body = PG_GETARG_TEXT_PP(3);
	char	   *sig;

	if (VARSIZE_ANY_EXHDR(body) > 16 * OUTBOX_MAX_BODY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("webhook body is longer than %d bytes", 16 * OUTBOX_MAX_BODY_BYTES)));
	sig = outbox_signature((uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret), msg_id,
						   PG_GETARG_INT64(2), VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body));
	PG_RETURN_TEXT_P(cstring_to_text(sig));
}

/*
 * _webhook_signature_ok(secret bytea, msg_id text, timestamp_s bigint,
 *						 body text, signatures text) returns boolean
 *
 * Whether any "v1,<base64>" of the space-separated header value is the
 * message's signature. Every candidate is compared in constant time;
 * candidates of other versions or malformed ones are skipped.
 */
Datum
wallet_webhook_signature_ok(PG_FUNCTION_ARGS)
{
	bytea	   *secret = secret_arg(fcinfo, 0);
	char	   *msg_id = msg_id_arg(fcinfo, 1);
	text	   *body = PG_GETARG_TEXT_PP(3);
	text	   *header = PG_GETARG_TEXT_PP(4);
	uint8		expected[SIG_HMAC_LEN];
	char	   *list;
	char	   *save = NULL;
	bool		ok = false;

	if (VARSIZE_ANY_EXHDR(header) > SIG_MAX_HEADER_BYTES)
		PG_RETURN_BOOL(false);
	signature_hmac((uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret), msg_id,
				   PG_GETARG_INT64(2), VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), expected);
	list = text_to_cstring(header);
	for (char *tok = strtok_r(list, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
	{
		uint8		given[SIG_HMAC_LEN + 8];
		int			len = strlen(tok);
		int			n;

		if (len < 4 || strncmp(tok, "v1,", 3) != 0 ||
			pg_b64_dec_len(len - 3) > (int) sizeof(given))
			continue;
		n = pg_b64_decode(tok + 3, len - 3, (char *) given, sizeof(given));
		if (n == SIG_HMAC_LEN && CRYPTO_memcmp(given, expected, SIG_HMAC_LEN) == 0)
			ok = true;			/* no early exit: same work for every header */
	}
	OPENSSL_cleanse(expected, sizeof(expected));
	PG_RETURN_BOOL(ok);
}

/*
 * _hmac_sha256(key bytea, data bytea) returns bytea
 *
 * Plain HMAC-SHA256, for the adapters' derived secrets (a callback URL
 * token, say).
 */
Datum
wallet_hmac_sha256(PG_FUNCTION_ARGS)
{
	bytea	   *key = secret_arg(fcinfo, 0);
	bytea	   *data = PG_GETARG_BYTEA_PP(1);
	bytea	   *out = palloc(VARHDRSZ + SIG_HMAC_LEN);
	unsigned int out_len = 0;

	if (VARSIZE_ANY_EXHDR(data) > 16 * OUTBOX_MAX_BODY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("HMAC input is longer than %d bytes", 16 * OUTBOX_MAX_BODY_BYTES)));
	if (HMAC(EVP_sha256(), VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
			 (unsigned char *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
			 (unsigned char *) VARDATA(out), &out_len) == NULL || out_len != SIG_HMAC_LEN)
		elog(ERROR, "HMAC-SHA256 failed");
	SET_VARSIZE(out, VARHDRSZ + SIG_HMAC_LEN);
	PG_RETURN_BYTEA_P(out);
}
