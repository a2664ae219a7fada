/*-------------------------------------------------------------------------
 *
 * auth_jwt.c
 *	  JSON Web Tokens signed with HS256 (RFC 7519, RFC 7515 compact form):
 *	  issue an access token, verify one.
 *
 * Owns: auth_hs256 (one-shot HMAC-SHA256), the token layout, the
 * verification of a token (auth_jwt_verify, for _jwt_verify and
 * authenticate()), the per-backend cache of verification keys, and the SQL
 * functions hs256_sign (test vectors), _jwt_issue and _jwt_verify.
 *
 * Never: accepts any algorithm but HS256 ("none", HS384, RS256, ... are
 * refused before any key is looked up); reads the claims before the
 * signature is verified; compares signatures with anything but
 * CRYPTO_memcmp; puts a token, a key or a signature in an error; decides
 * revocation (that is the SQL authenticate(), which owns the jti registry
 * and sessions).
 *
 * A token: base64url(header) "." base64url(payload) "." base64url(HMAC),
 *	header  {"alg":"HS256","typ":"JWT","kid":"<key id>"}
 *	payload {"iss":"pg_wallet","sub":"<principal uuid>","aud":"<profile>",
 *	         "role":"<role>","sid":"<session uuid>","jti":"<token uuid>",
 *	         "iat":<unix s>,"exp":<unix s>}
 * Keys live in pg_wallet.jwt_signing_keys (no role but the extension owner
 * can read it); the kid names the key, so retired keys keep verifying
 * until their tokens have expired.
 *
 * The key cache: authenticate() verifies with a key kept per backend (at
 * most JWT_KEY_CACHE of them, by kid) instead of looking it up first, and
 * proves the cached key still current in its one statement (the row of
 * that kid, still verifying at the auth clock, whose secret's SHA-256 is
 * the cached key's; auth_authenticate.c). When it is not, the caller drops
 * it (auth_jwt_forget_key) and verifies again from the table. A signature
 * that a cached key refuses is checked once more with the key read afresh.
 * _jwt_verify() never uses the cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/uuid.h"

#include "identity/auth.h"
#include "core/pg_wallet.h"

PG_FUNCTION_INFO_V1(wallet_hs256_sign);
PG_FUNCTION_INFO_V1(wallet_jwt_issue);
PG_FUNCTION_INFO_V1(wallet_jwt_verify);

#define JWT_KEY_MAX		64
#define JWT_ISSUER		"pg_wallet"

/* One top-level member of a JSON object: name, scalar value and its type. */
typedef struct JwtField
{
	char	   *name;
	char	   *value;			/* NULL when the value is an object or array */
	JsonTokenType type;
} JwtField;

/* Parse state: a flat view of one JSON object, bounded. */
typedef struct JwtObject
{
	JsonLexContext *lex;
	bool		is_object;
	bool		bad;			/* duplicate member or too many members */
	int			current;		/* index of the member being parsed, or -1 */
	int			nfields;
	JwtField	fields[AUTH_JWT_MAX_FIELDS];
} JwtObject;

static SPIPlanPtr key_plan = NULL;

/* One cached verification key (authenticate() only; see the file header). */
typedef struct JwtCachedKey
{
	bool		used;
	char		kid[AUTH_JWT_KID_MAX + 1];
	uint8		key[JWT_KEY_MAX];
	size_t		keylen;
	uint8		digest[AUTH_HS256_LEN];	/* SHA-256 of the key */
} JwtCachedKey;

#define JWT_KEY_CACHE	4
static JwtCachedKey key_cache[JWT_KEY_CACHE];
static int	key_cache_next = 0;

/* HMAC-SHA256 of data with key into out[32] (one-shot HMAC()). */
void
auth_hs256(const uint8 *key, size_t keylen, const char *data, size_t len, uint8 *out)
{
	unsigned int outlen = 0;

	if (HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) data, len,
			 out, &outlen) == NULL || outlen != AUTH_HS256_LEN)
		elog(ERROR, "HMAC-SHA256 failed");
}

/* Raise a malformed-token error with a detail saying what is wrong. */
static void
jwt_malformed(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_WALLET_TOKEN_MALFORMED),
			 errmsg("access token is malformed"),
			 errdetail_internal("%s", detail)));
}

/* Parser callback: the top-level value is an object. */
static void
jf_object_start(void *state)
{
	JwtObject  *o = (JwtObject *) state;

	if (o->lex->lex_level == 0)
		o->is_object = true;
}

/* Parser callback: a member starts; record top-level ones. */
static void
jf_field_start(void *state, char *fname, bool isnull)
{
	JwtObject  *o = (JwtObject *) state;

	if (o->lex->lex_level != 1)
		return;
	for (int i = 0; i < o->nfields; i++)
		if (strcmp(o->fields[i].name, fname) == 0)
			o->bad = true;		/* duplicate names are ambiguous: refuse */
	if (o->nfields >= AUTH_JWT_MAX_FIELDS)
	{
		o->bad = true;
		return;
	}
	o->fields[o->nfields].name = fname;
	o->fields[o->nfields].value = NULL;
	o->fields[o->nfields].type = JSON_TOKEN_INVALID;
	o->current = o->nfields++;
}

/* Parser callback: a member ends. */
static void
jf_field_end(void *state, char *fname, bool isnull)
{
	JwtObject  *o = (JwtObject *) state;

	if (o->lex->lex_level == 1)
		o->current = -1;
}

/* Parser callback: a scalar; keep it when it is a top-level member's value. */
static void
jf_scalar(void *state, char *token, JsonTokenType tokentype)
{
	JwtObject  *o = (JwtObject *) state;

	if (o->lex->lex_level == 1 && o->current >= 0)
	{
		o->fields[o->current].value = token;
		o->fields[o->current].type = tokentype;
	}
}

/*
 * Parse len bytes as one JSON object into *o. False when they are not valid
 * UTF-8 JSON, not an object, or have duplicate or too many members.
 */
static bool
jwt_parse_object(char *json, size_t len, JwtObject *o)
{
	JsonSemAction sem = {0};

	memset(o, 0, sizeof(*o));
	o->current = -1;
	if (!pg_verify_mbstr(PG_UTF8, json, (int) len, true))
		return false;
	o->lex = makeJsonLexContextCstringLen(json, (int) len, PG_UTF8, true);
	sem.semstate = o;
	sem.object_start = jf_object_start;
	sem.object_field_start = jf_field_start;
	sem.object_field_end = jf_field_end;
	sem.scalar = jf_scalar;
	if (pg_parse_json(o->lex, &sem) != JSON_SUCCESS)
		return false;
	return o->is_object && !o->bad;
}

/* The string value of a member, or NULL when absent or not a string. */
static const char *
jwt_string(JwtObject *o, const char *name)
{
	for (int i = 0; i < o->nfields; i++)
		if (strcmp(o->fields[i].name, name) == 0)
			return o->fields[i].type == JSON_TOKEN_STRING ? o->fields[i].value : NULL;
	return NULL;
}

/* True when a member of that name exists, whatever its value. */
static bool
jwt_has(JwtObject *o, const char *name)
{
	for (int i = 0; i < o->nfields; i++)
		if (strcmp(o->fields[i].name, name) == 0)
			return true;
	return false;
}

/* The value of an integer member (digits only, <= 12 of them), or false. */
static bool
jwt_int(JwtObject *o, const char *name, int64 *out)
{
	for (int i = 0; i < o->nfields; i++)
	{
		const char *v = o->fields[i].value;
		int64		n = 0;
		int			len;

		if (strcmp(o->fields[i].name, name) != 0)
			continue;
		if (o->fields[i].type != JSON_TOKEN_NUMBER || v == NULL)
			return false;
		len = strlen(v);
		if (len < 1 || len > 12)
			return false;
		for (int k = 0; k < len; k++)
		{
			if (v[k] < '0' || v[k] > '9')
				return false;
			n = n * 10 + (v[k] - '0');
		}
		*out = n;
		return true;
	}
	return false;
}

/* A uuid Datum from a string member in canonical form, or false. */
static bool
jwt_uuid(JwtObject *o, const char *name, Datum *out)
{
	const char *v = jwt_string(o, name);

	if (v == NULL || strlen(v) != 36)
		return false;
	for (int i = 0; i < 36; i++)
	{
		bool		dash = (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? v[i] != '-' : !isxdigit((unsigned char) v[i]))
			return false;
	}
	*out = DirectFunctionCall1(uuid_in, CStringGetDatum(v));
	return true;
}

/* Strip an optional "Bearer " prefix and surrounding blanks. */
static char *
jwt_strip_bearer(char *s)
{
	size_t		len;

	while (*s == ' ' || *s == '\t')
		s++;
	if (pg_strncasecmp(s, "bearer ", 7) == 0)
		s += 7;
	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/* Load a verification key by kid into key[]; its length, or 0 when none. */
static size_t
jwt_load_key(const char *kid, uint8 *key)
{
	Oid			argtypes[2] = {TEXTOID, TIMESTAMPTZOID};
	Datum		values[2];
	size_t		keylen = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	wallet_plan(&key_plan,
				"SELECT secret FROM pg_wallet.jwt_signing_keys "
				"WHERE kid = $1 AND (verify_until IS NULL OR verify_until > $2)",
				2, argtypes);
	values[0] = CStringGetTextDatum(kid);
	values[1] = TimestampTzGetDatum(auth_now());
	if (SPI_execute_plan(key_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "signing key look-up failed");
	if (SPI_processed == 1)
	{
		bool		isnull;
		bytea	   *b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1, &isnull));

		if (!isnull && VARSIZE_ANY_EXHDR(b) <= JWT_KEY_MAX)
		{
			keylen = VARSIZE_ANY_EXHDR(b);
			memcpy(key, VARDATA_ANY(b), keylen);
			OPENSSL_cleanse(VARDATA_ANY(b), keylen);
		}
	}
	SPI_finish();
	return keylen;
}

/*
 * Load the active signing key (made on first use) into key[] and its id
 * into kid[]; returns the key length.
 */
static size_t
jwt_active_key(char *kid, uint8 *key)
{
	size_t		keylen = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT key_id, key_secret FROM pg_wallet._jwt_signing_key()", false, 1) !=
		SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "no active JWT signing key");
	{
		bool		n1,
					n2;
		char	   *k = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1, &n1));
		bytea	   *b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 2, &n2));

		if (n1 || n2 || strlen(k) > AUTH_JWT_KID_MAX || VARSIZE_ANY_EXHDR(b) < 32 ||
			VARSIZE_ANY_EXHDR(b) > JWT_KEY_MAX)
			elog(ERROR, "active JWT signing key is not usable");
		strlcpy(kid, k, AUTH_JWT_KID_MAX + 1);
		keylen = VARSIZE_ANY_EXHDR(b);
		memcpy(key, VARDATA_ANY(b), keylen);
		OPENSSL_cleanse(VARDATA_ANY(b), keylen);
	}
	SPI_finish();
	return keylen;
}

/* A fresh random (version 4) UUID as text. */
static char *
jwt_new_uuid(void)
{
	uint8		u[16];

	auth_random(u, sizeof(u));
	u[6] = (u[6] & 0x0F) | 0x40;
	u[8] = (u[8] & 0x3F) | 0x80;
	return psprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
					"%02x%02x%02x%02x%02x%02x",
					u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
					u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* base64url(header).base64url(payload).base64url(HS256) as a new string. */
static char *
jwt_sign_compact(const char *header, const char *payload, const uint8 *key, size_t keylen)
{
	char	   *input = psprintf("%s.%s",
								 auth_base64url_encode((const uint8 *) header, strlen(header)),
								 auth_base64url_encode((const uint8 *) payload,
													   strlen(payload)));
	uint8		mac[AUTH_HS256_LEN];
	char	   *token;

	auth_hs256(key, keylen, input, strlen(input), mac);
	token = psprintf("%s.%s", input, auth_base64url_encode(mac, sizeof(mac)));
	return token;
}

/* A short identifier argument: 1..32 of [a-z0-9_-]; raises otherwise. */
static char *
jwt_ident_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *s;
	size_t		len;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	len = strlen(s);
	if (len < 1 || len > 32 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be 1 to 32 lower-case letters, digits, '_' or '-'", what)));
	return s;
}

/*
 * pg_wallet.hs256_sign(key bytea, signing_input text) RETURNS text: the
 * base64url HMAC-SHA256 of the signing input (RFC 7515 A.1 test vector).
 */
Datum
wallet_hs256_sign(PG_FUNCTION_ARGS)
{
	bytea	   *key = PG_GETARG_BYTEA_PP(0);
	text	   *input = PG_GETARG_TEXT_PP(1);
	uint8		mac[AUTH_HS256_LEN];

	if (VARSIZE_ANY_EXHDR(key) > 1024 || VARSIZE_ANY_EXHDR(input) > AUTH_JWT_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("key must be at most 1024 bytes and input at most %d bytes",
						AUTH_JWT_MAX_LEN)));
	auth_hs256((uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
			   VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input), mac);
	PG_RETURN_TEXT_P(cstring_to_text(auth_base64url_encode(mac, sizeof(mac))));
}

/*
 * pg_wallet._jwt_issue(sub uuid, role text, aud text, sid uuid,
 * lifetime_s integer) RETURNS pg_wallet.jwt_issued: a signed access token
 * with a fresh jti, iat = the auth clock, exp = iat + lifetime_s, signed
 * with the active key. The caller registers the jti (access_tokens).
 */
Datum
wallet_jwt_issue(PG_FUNCTION_ARGS)
{
	char	   *role = jwt_ident_arg(fcinfo, 1, "role");
	char	   *aud = jwt_ident_arg(fcinfo, 2, "audience");
	int32		lifetime_s = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	char	   *sub,
			   *sid,
			   *jti = jwt_new_uuid();
	char		kid[AUTH_JWT_KID_MAX + 1];
	uint8		key[JWT_KEY_MAX];
	size_t		keylen;
	int64		iat = auth_now_unix();
	StringInfoData header,
				payload;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {0};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("subject and session must not be null")));
	if (lifetime_s < 60 || lifetime_s > 366 * 86400)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token lifetime must be between 60 seconds and 366 days")));
	sub = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));
	sid = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(3)));
	keylen = jwt_active_key(kid, key);

	initStringInfo(&header);
	appendStringInfoString(&header, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":");
	escape_json(&header, kid);
	appendStringInfoChar(&header, '}');
	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"role\":\"%s\","
					 "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":" INT64_FORMAT
					 ",\"exp\":" INT64_FORMAT "}",
					 JWT_ISSUER, sub, aud, role, sid, jti, iat, iat + lifetime_s);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE ||
		tupdesc->natts != 4)
		elog(ERROR, "_jwt_issue must return pg_wallet.jwt_issued");
	values[0] = CStringGetTextDatum(jwt_sign_compact(header.data, payload.data, key, keylen));
	OPENSSL_cleanse(key, sizeof(key));
	values[1] = DirectFunctionCall1(uuid_in, CStringGetDatum(jti));
	values[2] = TimestampTzGetDatum(auth_unix_to_timestamp(iat));
	values[3] = TimestampTzGetDatum(auth_unix_to_timestamp(iat + lifetime_s));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/*
 * Split a compact token into its three segments and decode header and
 * signature. Raises WL022 when the shape is wrong.
 */
static void
jwt_split(char *token, char **signing_input_end, char **payload_b64,
		  JwtObject *header, uint8 **sig, size_t *siglen)
{
	char	   *dot1 = strchr(token, '.');
	char	   *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	uint8	   *hdr;
	size_t		hdrlen;

	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL ||
		dot1 == token || dot2 == dot1 + 1)
		jwt_malformed("A token has three base64url segments separated by dots.");
	if (!auth_base64url_decode(token, dot1 - token, &hdr, &hdrlen) ||
		!auth_base64url_decode(dot2 + 1, strlen(dot2 + 1), sig, siglen))
		jwt_malformed("A segment is not unpadded base64url.");
	if (!jwt_parse_object((char *) hdr, hdrlen, header))
		jwt_malformed("The header is not a JSON object.");
	*signing_input_end = dot2;
	*payload_b64 = dot1 + 1;
}

/*
 * Check the header: HS256 only, typ JWT if present, no crit, a kid. Returns
 * the kid. Runs before any key is touched.
 */
static const char *
jwt_check_header(JwtObject *header)
{
	const char *alg = jwt_string(header, "alg");
	const char *typ = jwt_string(header, "typ");
	const char *kid = jwt_string(header, "kid");

	if (alg == NULL || strcmp(alg, "HS256") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_TOKEN_SIGNATURE),
				 errmsg("access token algorithm is not accepted"),
				 errdetail("Only HS256 tokens are accepted.")));
	if ((jwt_has(header, "typ") && (typ == NULL || strcmp(typ, "JWT") != 0)) ||
		jwt_has(header, "crit"))
		jwt_malformed("The header has an unsupported typ or crit parameter.");
	if (kid == NULL || kid[0] == '\0' || strlen(kid) > AUTH_JWT_KID_MAX ||
		strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
		strlen(kid))
		jwt_malformed("The header has no valid key id (kid).");
	return kid;
}

/* The cached key of a kid, or NULL. */
static JwtCachedKey *
jwt_cached_key(const char *kid)
{
	for (int i = 0; i < JWT_KEY_CACHE; i++)
		if (key_cache[i].used && strcmp(key_cache[i].kid, kid) == 0)
			return &key_cache[i];
	return NULL;
}

/* Drop a cached key (wiped). */
void
auth_jwt_forget_key(const char *kid)
{
	JwtCachedKey *k = jwt_cached_key(kid);

	if (k != NULL)
	{
		OPENSSL_cleanse(k, sizeof(*k));
		k->used = false;
	}
}

/* Keep a key read from the table in the cache (round robin). */
static void
jwt_cache_key(const char *kid, const uint8 *key, size_t keylen, const uint8 *digest)
{
	JwtCachedKey *k = jwt_cached_key(kid);

	if (k == NULL)
	{
		k = &key_cache[key_cache_next];
		key_cache_next = (key_cache_next + 1) % JWT_KEY_CACHE;
	}
	OPENSSL_cleanse(k, sizeof(*k));
	strlcpy(k->kid, kid, sizeof(k->kid));
	memcpy(k->key, key, keylen);
	k->keylen = keylen;
	memcpy(k->digest, digest, AUTH_HS256_LEN);
	k->used = true;
}

/* Whether the HS256 of header.payload under key is sig (constant time). */
static bool
jwt_signature_ok(const uint8 *key, size_t keylen, const char *token, const char *input_end,
				 const uint8 *sig, size_t siglen)
{
	uint8		mac[AUTH_HS256_LEN];
	bool		ok;

	auth_hs256(key, keylen, token, input_end - token, mac);
	ok = auth_equal(mac, sizeof(mac), sig, siglen);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

/*
 * Verify the HS256 signature over header.payload; raises WL023. With
 * use_cache, a cached key of the kid is tried first and a key read from the
 * table is cached. digest receives the SHA-256 of the key that verified it.
 * True when that key came from the cache.
 */
static bool
jwt_check_signature(const char *kid, const char *token, const char *input_end,
					const uint8 *sig, size_t siglen, bool use_cache, uint8 *digest)
{
	JwtCachedKey *cached = use_cache ? jwt_cached_key(kid) : NULL;
	uint8		key[JWT_KEY_MAX];
	size_t		keylen;
	bool		ok;

	if (cached != NULL)
	{
		if (jwt_signature_ok(cached->key, cached->keylen, token, input_end, sig, siglen))
		{
			memcpy(digest, cached->digest, AUTH_HS256_LEN);
			return true;
		}
		/* refused by the cached key: the key of that kid may have changed */
		auth_jwt_forget_key(kid);
	}
	keylen = jwt_load_key(kid, key);
	if (keylen == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_TOKEN_SIGNATURE),
				 errmsg("access token signing key is unknown or retired")));
	ok = jwt_signature_ok(key, keylen, token, input_end, sig, siglen);
	auth_sha256(key, keylen, digest);
	if (ok && use_cache)
		jwt_cache_key(kid, key, keylen, digest);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_TOKEN_SIGNATURE),
				 errmsg("access token signature is invalid")));
	return false;
}

/*
 * Claims of a verified payload into *c. Raises WL022 when incomplete, WL024
 * when expired.
 */
static void
jwt_check_claims(JwtObject *claims, const char *kid, AuthClaims *c)
{
	const char *role = jwt_string(claims, "role");
	const char *aud = jwt_string(claims, "aud");
	const char *iss = jwt_string(claims, "iss");
	int64		now = auth_now_unix();

	if (iss == NULL || strcmp(iss, JWT_ISSUER) != 0 || role == NULL || aud == NULL ||
		strlen(role) > 32 || strlen(aud) > 32 ||
		!jwt_uuid(claims, "sub", &c->sub) || !jwt_uuid(claims, "sid", &c->sid) ||
		!jwt_uuid(claims, "jti", &c->jti) ||
		!jwt_int(claims, "iat", &c->iat) || !jwt_int(claims, "exp", &c->exp) ||
		c->exp <= c->iat)
		jwt_malformed("The claims iss, sub, aud, role, sid, jti, iat and exp are required.");
	if (c->iat > now + AUTH_JWT_CLOCK_SKEW_S)
		jwt_malformed("The token was issued in the future.");
	if (now >= c->exp)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_TOKEN_EXPIRED),
				 errmsg("access token has expired")));
	strlcpy(c->role, role, sizeof(c->role));
	strlcpy(c->aud, aud, sizeof(c->aud));
	strlcpy(c->kid, kid, sizeof(c->kid));
}

/*
 * Verify a token (an optional "Bearer " prefix, at most AUTH_JWT_MAX_LEN
 * bytes; NULL is missing) into *c: well-formed, HS256, signed by a current
 * key, not expired. WL022 missing or malformed, WL023 algorithm, key or
 * signature, WL024 expired. Revocation is the caller's. With use_cache the
 * key may come from the per-backend cache, and the caller must prove it
 * current (c->key_digest; see the file header).
 */
void
auth_jwt_verify(text *token_text, bool use_cache, AuthClaims *c)
{
	char	   *token;
	char	   *input_end;
	char	   *payload_b64;
	JwtObject	header;
	JwtObject  *claims = palloc(sizeof(JwtObject));
	uint8	   *sig,
			   *payload;
	size_t		siglen,
				payloadlen;
	const char *kid;
	bool		cached;
	int64		exp;

	memset(c, 0, sizeof(*c));
	if (token_text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_TOKEN_MALFORMED),
				 errmsg("access token is missing")));
	if (VARSIZE_ANY_EXHDR(token_text) > AUTH_JWT_MAX_LEN)
		jwt_malformed("The token is too long.");
	token = jwt_strip_bearer(text_to_cstring(token_text));
	if (token[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_TOKEN_MALFORMED),
				 errmsg("access token is missing")));
	jwt_split(token, &input_end, &payload_b64, &header, &sig, &siglen);
	kid = jwt_check_header(&header);
	cached = jwt_check_signature(kid, token, input_end, sig, siglen, use_cache,
								 c->key_digest);

	/* from here on the content is ours: signed by one of our keys */
	if (!auth_base64url_decode(payload_b64, input_end - payload_b64, &payload, &payloadlen) ||
		!jwt_parse_object((char *) payload, payloadlen, claims))
		jwt_malformed("The payload is not a JSON object.");
	/*
	 * An expired token verified by a cached key: the key is checked against
	 * the table first, so that a key retired or gone is still the reason
	 * given (WL023) before the expiry (WL024), as without the cache.
	 */
	if (cached && jwt_int(claims, "exp", &exp) && auth_now_unix() >= exp)
	{
		auth_jwt_forget_key(kid);
		jwt_check_signature(kid, token, input_end, sig, siglen, use_cache, c->key_digest);
	}
	jwt_check_claims(claims, kid, c);
	pfree(claims);
}

/*
 * pg_wallet._jwt_verify(token text) RETURNS pg_wallet.jwt_claims: the
 * claims of a well-formed HS256 token whose signature verifies with a
 * current key and which has not expired; WL022 missing or malformed, WL023
 * algorithm, key or signature, WL024 expired. Revocation is the caller's.
 * Accepts an optional "Bearer " prefix.
 */
Datum
wallet_jwt_verify(PG_FUNCTION_ARGS)
{
	AuthClaims	c;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {0};

	auth_jwt_verify(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), false, &c);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE ||
		tupdesc->natts != 8)
		elog(ERROR, "_jwt_verify must return pg_wallet.jwt_claims");
	values[0] = c.sub;
	values[1] = CStringGetTextDatum(c.role);
	values[2] = CStringGetTextDatum(c.aud);
	values[3] = c.sid;
	values[4] = c.jti;
	values[5] = CStringGetTextDatum(c.kid);
	values[6] = TimestampTzGetDatum(auth_unix_to_timestamp(c.iat));
	values[7] = TimestampTzGetDatum(auth_unix_to_timestamp(c.exp));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
