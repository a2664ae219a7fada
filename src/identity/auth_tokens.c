/*-------------------------------------------------------------------------
 *
 * auth_tokens.c
 *	  Random secrets and how they are kept: opaque tokens (refresh tokens,
 *	  verification tokens, API keys and secrets), one-time codes, their
 *	  SHA-256 hashes, and constant-time comparison.
 *
 * Owns: auth_random (pg_strong_random or an error), auth_sha256,
 * auth_equal, and the SQL functions _random_bytes, _random_token,
 * _random_digits, _secret_hash, _ct_equal.
 *
 * Never: stores or returns a secret's hash that is not SHA-256 over the
 * whole secret; never uses a non-cryptographic generator (random(),
 * pg_prng); never compares secrets or their hashes with memcmp/strcmp.
 *
 * The tables keep only SHA-256 hashes of opaque tokens: a token carries at
 * least 128 bits of randomness, so a fast hash is enough (nothing to
 * brute-force), and a lookup by hash is a plain index probe. One-time codes
 * have only 10^6 values; their hash is salted per challenge and they die
 * after 180 s and a handful of attempts, which is what protects them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "identity/auth.h"

PG_FUNCTION_INFO_V1(wallet_random_bytes);
PG_FUNCTION_INFO_V1(wallet_random_token);
PG_FUNCTION_INFO_V1(wallet_random_digits);
PG_FUNCTION_INFO_V1(wallet_secret_hash);
PG_FUNCTION_INFO_V1(wallet_ct_equal);

#define TOKEN_PREFIX_MAX	16
#define TOKEN_BYTES_MIN		16
#define TOKEN_BYTES_MAX		64

/* Fill buf with cryptographically strong random bytes, or raise. */
void
auth_random(void *buf, size_t len)
{
	if (!pg_strong_random(buf, len))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
}

/* SHA-256 of len bytes into out[32]. */
void
auth_sha256(const uint8 *data, size_t len, uint8 *out)
{
	unsigned int outlen = 0;

	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1 ||
		outlen != 32)
		elog(ERROR, "SHA-256 failed");
}

/*
 * Constant-time equality of two byte strings. Lengths are not secret (every
 * hash compared here has a fixed length), so a length mismatch returns at
 * once.
 */
bool
auth_equal(const uint8 *a, size_t alen, const uint8 *b, size_t blen)
{
	if (alen != blen)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

/* A bytea holding len bytes of buf. */
static bytea *
bytes_to_bytea(const uint8 *buf, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), buf, len);
	return b;
}

/* pg_wallet._random_bytes(n integer) RETURNS bytea: n strong random bytes */
Datum
wallet_random_bytes(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	bytea	   *b;

	if (n < 1 || n > AUTH_RANDOM_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("random byte count must be between 1 and %d", AUTH_RANDOM_MAX_BYTES)));
	b = palloc(VARHDRSZ + n);
	SET_VARSIZE(b, VARHDRSZ + n);
	auth_random(VARDATA(b), n);
	PG_RETURN_BYTEA_P(b);
}

/*
 * pg_wallet._random_token(prefix text, nbytes integer) RETURNS text: prefix
 * followed by the base64url of nbytes random bytes ("rt_" + 43 characters
 * for 32 bytes). The prefix lets secret scanners and people tell tokens
 * apart; it carries no secret.
 */
Datum
wallet_random_token(PG_FUNCTION_ARGS)
{
	text	   *prefix = PG_GETARG_TEXT_PP(0);
	int32		nbytes = PG_GETARG_INT32(1);
	size_t		plen = VARSIZE_ANY_EXHDR(prefix);
	uint8		raw[TOKEN_BYTES_MAX];
	char	   *enc;
	char	   *out;

	if (plen > TOKEN_PREFIX_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token prefix is longer than %d bytes", TOKEN_PREFIX_MAX)));
	if (nbytes < TOKEN_BYTES_MIN || nbytes > TOKEN_BYTES_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token size must be between %d and %d bytes",
						TOKEN_BYTES_MIN, TOKEN_BYTES_MAX)));
	auth_random(raw, nbytes);
	enc = auth_base64url_encode(raw, nbytes);
	OPENSSL_cleanse(raw, sizeof(raw));
	out = psprintf("%.*s%s", (int) plen, VARDATA_ANY(prefix), enc);
	OPENSSL_cleanse(enc, strlen(enc));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/*
 * pg_wallet._random_digits(n integer) RETURNS text: n uniformly random
 * decimal digits (a one-time code). Each digit comes from one random byte;
 * bytes >= 250 are redrawn so that every digit is equally likely.
 */
Datum
wallet_random_digits(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	char		digits[AUTH_OTP_MAX_DIGITS + 1];
	uint8		pool[64];
	int			used = sizeof(pool);
	int			filled = 0;

	if (n < 4 || n > AUTH_OTP_MAX_DIGITS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("code length must be between 4 and %d digits", AUTH_OTP_MAX_DIGITS)));
	/* bounded: each byte is accepted with probability 250/256 */
	for (int guard = 0; filled < n && guard < 64; guard++)
	{
		if (used == (int) sizeof(pool))
		{
			auth_random(pool, sizeof(pool));
			used = 0;
		}
		if (pool[used] < 250)
			digits[filled++] = '0' + pool[used] % 10;
		used++;
	}
	if (filled < n)
		elog(ERROR, "random digit generation did not converge");
	digits[n] = '\0';
	OPENSSL_cleanse(pool, sizeof(pool));
	PG_RETURN_TEXT_P(cstring_to_text(digits));
}

/*
 * pg_wallet._secret_hash(secret text, salt bytea) RETURNS bytea:
 * SHA-256(salt || secret). salt is empty for opaque tokens, random per
 * challenge for one-time codes.
 */
Datum
wallet_secret_hash(PG_FUNCTION_ARGS)
{
	text	   *secret = PG_GETARG_TEXT_PP(0);
	bytea	   *salt = PG_GETARG_BYTEA_PP(1);
	size_t		slen = VARSIZE_ANY_EXHDR(secret);
	size_t		saltlen = VARSIZE_ANY_EXHDR(salt);
	uint8	   *buf;
	uint8		hash[32];

	if (slen > AUTH_TOKEN_MAX_LEN || saltlen > 64)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("secret is longer than %d bytes", AUTH_TOKEN_MAX_LEN)));
	buf = palloc(saltlen + slen + 1);
	memcpy(buf, VARDATA_ANY(salt), saltlen);
	memcpy(buf + saltlen, VARDATA_ANY(secret), slen);
	auth_sha256(buf, saltlen + slen, hash);
	OPENSSL_cleanse(buf, saltlen + slen);
	PG_RETURN_BYTEA_P(bytes_to_bytea(hash, sizeof(hash)));
}

/* pg_wallet._ct_equal(a bytea, b bytea) RETURNS boolean: constant time */
Datum
wallet_ct_equal(PG_FUNCTION_ARGS)
{
	bytea	   *a = PG_GETARG_BYTEA_PP(0);
	bytea	   *b = PG_GETARG_BYTEA_PP(1);

	PG_RETURN_BOOL(auth_equal((uint8 *) VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
							  (uint8 *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)));
}
