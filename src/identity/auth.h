/*-------------------------------------------------------------------------
 *
 * auth.h
 *	  Declarations of the identity and authentication code of pg_wallet:
 *	  the clock (auth_config.c; the settings are in settings.h), encodings
 *	  (auth_codec.c), random tokens (auth_tokens.c), password hashing
 *	  (auth_password.c), JWT (auth_jwt.c) and HOTP/TOTP (auth_totp.c). The flows that use them
 *	  (login, refresh, verification, KYC) are SQL in sql/identity/.
 *
 * Invariants every auth file keeps:
 *	- a secret (password, token, key, OTP code, TOTP secret) never appears
 *	  in an error message, a detail, a hint or a log line;
 *	- every input is length-bounded before it is looked at;
 *	- secrets are compared in constant time (CRYPTO_memcmp) and wiped from
 *	  memory (OPENSSL_cleanse) once used;
 *	- randomness comes from pg_strong_random() only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_WALLET_AUTH_H
#define PG_WALLET_AUTH_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/timestamp.h"

#include "settings.h"

/*
 * Wallet SQLSTATEs of identity and authentication, class WL, 020-039:
 * generated from src/errors.tsv (docs/errors.md); SQL raises the same codes
 * by their text ('WL020', ...).
 */
#include "wallet_errors.h"

/*
 * Password hashing: scrypt (RFC 7914) through OpenSSL's EVP_PBE_scrypt.
 * N = 2^14, r = 8, p = 5 is one of OWASP's equivalent scrypt settings (the
 * same work as N = 2^17, r = 8, p = 1) with the smallest memory: 16 MiB per
 * hash instead of 128 MiB. A backend runs one hash at a time, so 16 MiB is
 * what a login costs a server that may run many backends; ~300 ms of CPU on
 * the 2-core reference machine. Stored hashes carry their own parameters
 * ("scrypt$N$r$p$salt$hash"), so changing these constants later keeps old
 * hashes verifiable, and login rehashes them.
 */
#define AUTH_SCRYPT_N				16384
#define AUTH_SCRYPT_R				8
#define AUTH_SCRYPT_P				5
#define AUTH_SCRYPT_SALT_LEN		16
#define AUTH_SCRYPT_HASH_LEN		32
/* bounds of parameters accepted from a stored hash or a test call */
#define AUTH_SCRYPT_N_MAX			(1 << 20)
#define AUTH_SCRYPT_R_MAX			32
#define AUTH_SCRYPT_P_MAX			16
#define AUTH_SCRYPT_OUT_MAX			64
/* OpenSSL's default maxmem is 32 MiB; 128*r*N*... must fit below this */
#define AUTH_SCRYPT_MAXMEM			((uint64) 64 * 1024 * 1024)

/* Password policy: 8+ characters with a letter and a digit, at most 128 bytes */
#define AUTH_PASSWORD_MIN_CHARS		8
#define AUTH_PASSWORD_MAX_BYTES		128

/* JWT */
#define AUTH_JWT_MAX_LEN			4096	/* a whole compact JWS */
#define AUTH_JWT_MAX_FIELDS			32		/* members of header or payload */
#define AUTH_JWT_KID_MAX			64
#define AUTH_JWT_CLOCK_SKEW_S		60		/* iat may be this far ahead */
#define AUTH_HS256_LEN				32

/* Opaque tokens and codes */
#define AUTH_TOKEN_MAX_LEN			256		/* any opaque token argument */
#define AUTH_RANDOM_MAX_BYTES		1024	/* one _random_bytes() call */
#define AUTH_OTP_MAX_DIGITS			10
#define AUTH_TOTP_STEP_S			30
#define AUTH_TOTP_SECRET_MAX		64		/* bytes of an HOTP/TOTP key */
#define AUTH_CODEC_MAX_BYTES		65536	/* any encode/decode input */

/* auth_config.c: the clock and the test-hook gate (the settings are in settings.h) */
extern TimestampTz auth_now(void);
extern int64 auth_now_unix(void);
extern int64 auth_timestamp_to_unix(TimestampTz ts);
extern TimestampTz auth_unix_to_timestamp(int64 unix_s);

/* auth_codec.c: base64url (RFC 4648 §5, no padding) and base32 (§6) */
extern char *auth_base64url_encode(const uint8 *data, size_t len);
extern bool auth_base64url_decode(const char *s, size_t slen, uint8 **out, size_t *outlen);
extern char *auth_base32_encode(const uint8 *data, size_t len);
extern bool auth_base32_decode(const char *s, size_t slen, uint8 **out, size_t *outlen);

/* auth_tokens.c: randomness, hashing and comparison of secrets */
extern void auth_random(void *buf, size_t len);
extern void auth_sha256(const uint8 *data, size_t len, uint8 *out);
extern bool auth_equal(const uint8 *a, size_t alen, const uint8 *b, size_t blen);

/* auth_jwt.c */
extern void auth_hs256(const uint8 *key, size_t keylen, const char *data, size_t len,
					   uint8 *out);

/* The claims of a verified access token (auth_jwt_verify). */
typedef struct AuthClaims
{
	Datum		sub;			/* uuid Datums */
	Datum		sid;
	Datum		jti;
	char		role[33];
	char		aud[33];
	char		kid[AUTH_JWT_KID_MAX + 1];
	int64		iat;			/* Unix seconds */
	int64		exp;
	uint8		key_digest[AUTH_HS256_LEN]; /* SHA-256 of the key that verified it */
} AuthClaims;

extern void auth_jwt_verify(text *token, bool use_cache, AuthClaims *claims);
extern void auth_jwt_forget_key(const char *kid);

#endif							/* PG_WALLET_AUTH_H */
