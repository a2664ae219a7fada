/*-------------------------------------------------------------------------
 *
 * auth_password.c
 *	  Password hashing with scrypt (RFC 7914, OpenSSL EVP_PBE_scrypt), the
 *	  encoded hash format, constant-time verification, and the password
 *	  policy.
 *
 * Owns: the SQL functions scrypt (raw KDF, for test vectors),
 * _password_hash, _password_verify, _password_needs_rehash and
 * _password_check_strength.
 *
 * Never: puts a password, a salt or a hash in an error message; never
 * compares hashes with memcmp; never accepts scrypt parameters beyond the
 * bounds in auth.h (a forged stored hash must not be able to make a login
 * allocate gigabytes); never leaves a password or derived key in memory it
 * frees (OPENSSL_cleanse).
 *
 * Encoded hash: "scrypt$N$r$p$<salt>$<hash>", the salt (16 random bytes
 * from pg_strong_random) and the hash (32 bytes) in unpadded base64url, the
 * parameters in decimal. Parameters are in auth.h, with why they were
 * chosen.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "identity/auth.h"

PG_FUNCTION_INFO_V1(wallet_scrypt);
PG_FUNCTION_INFO_V1(wallet_password_hash);
PG_FUNCTION_INFO_V1(wallet_password_verify);
PG_FUNCTION_INFO_V1(wallet_password_needs_rehash);
PG_FUNCTION_INFO_V1(wallet_password_check_strength);

#define SCRYPT_PREFIX		"scrypt$"
#define ENCODED_MAX_LEN		256
#define RAW_PASSWORD_MAX	1024	/* scrypt() test function input */

/* A parsed encoded hash. */
typedef struct ScryptHash
{
	uint64		n;
	uint64		r;
	uint64		p;
	uint8	   *salt;
	size_t		saltlen;
	uint8	   *hash;
	size_t		hashlen;
} ScryptHash;

/* True when the parameters are within what this code agrees to compute. */
static bool
scrypt_params_ok(uint64 n, uint64 r, uint64 p, size_t outlen)
{
	return n >= 2 && n <= AUTH_SCRYPT_N_MAX && (n & (n - 1)) == 0 &&
		r >= 1 && r <= AUTH_SCRYPT_R_MAX && p >= 1 && p <= AUTH_SCRYPT_P_MAX &&
		outlen >= 1 && outlen <= AUTH_SCRYPT_OUT_MAX;
}

/*
 * scrypt into out[outlen]. Raises when OpenSSL refuses (e.g. the memory the
 * parameters need exceeds AUTH_SCRYPT_MAXMEM).
 */
static void
scrypt_derive(const uint8 *pass, size_t passlen, const uint8 *salt, size_t saltlen,
			  uint64 n, uint64 r, uint64 p, uint8 *out, size_t outlen)
{
	Assert(scrypt_params_ok(n, r, p, outlen));
	if (EVP_PBE_scrypt((const char *) pass, passlen, salt, saltlen, n, r, p,
					   AUTH_SCRYPT_MAXMEM, out, outlen) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("scrypt failed"),
				 errdetail("N=" UINT64_FORMAT ", r=" UINT64_FORMAT ", p=" UINT64_FORMAT
						   " may need more than %d MiB.", n, r, p,
						   (int) (AUTH_SCRYPT_MAXMEM / (1024 * 1024)))));
}

/* Parse a decimal field of the encoded form ending at '$'; false if bad. */
static bool
parse_uint_field(const char **pp, uint64 *out)
{
	const char *p = *pp;
	uint64		v = 0;
	int			ndigits = 0;

	while (*p >= '0' && *p <= '9' && ndigits < 10)
	{
		v = v * 10 + (uint64) (*p - '0');
		p++;
		ndigits++;
	}
	if (ndigits == 0 || *p != '$' || (ndigits > 1 && (*pp)[0] == '0'))
		return false;
	*out = v;
	*pp = p + 1;
	return true;
}

/* Parse "scrypt$N$r$p$salt$hash"; false when it is not that, within bounds. */
static bool
scrypt_parse(const char *enc, size_t len, ScryptHash *h)
{
	const char *p = enc;
	const char *dollar;

	if (len > ENCODED_MAX_LEN || strncmp(enc, SCRYPT_PREFIX, strlen(SCRYPT_PREFIX)) != 0)
		return false;
	p += strlen(SCRYPT_PREFIX);
	if (!parse_uint_field(&p, &h->n) || !parse_uint_field(&p, &h->r) ||
		!parse_uint_field(&p, &h->p))
		return false;
	dollar = strchr(p, '$');
	if (dollar == NULL ||
		!auth_base64url_decode(p, dollar - p, &h->salt, &h->saltlen) ||
		!auth_base64url_decode(dollar + 1, strlen(dollar + 1), &h->hash, &h->hashlen))
		return false;
	return h->saltlen >= 8 && h->saltlen <= 64 && h->hashlen >= 16 &&
		scrypt_params_ok(h->n, h->r, h->p, h->hashlen);
}

/* The encoded hash of a password with a fresh random salt and the defaults. */
static char *
password_hash_cstr(const char *pw, size_t pwlen)
{
	uint8		salt[AUTH_SCRYPT_SALT_LEN];
	uint8		hash[AUTH_SCRYPT_HASH_LEN];
	char	   *out;

	auth_random(salt, sizeof(salt));
	scrypt_derive((const uint8 *) pw, pwlen, salt, sizeof(salt),
				  AUTH_SCRYPT_N, AUTH_SCRYPT_R, AUTH_SCRYPT_P, hash, sizeof(hash));
	out = psprintf("scrypt$%d$%d$%d$%s$%s", AUTH_SCRYPT_N, AUTH_SCRYPT_R, AUTH_SCRYPT_P,
				   auth_base64url_encode(salt, sizeof(salt)),
				   auth_base64url_encode(hash, sizeof(hash)));
	OPENSSL_cleanse(hash, sizeof(hash));
	return out;
}

/*
 * Check a password against an encoded hash in constant time. With no hash
 * (unknown user), spend the same work on a fixed salt and answer false, so
 * that the answer time does not tell whether the account exists.
 */
static bool
password_verify_cstr(const char *pw, size_t pwlen, const char *enc, size_t enclen)
{
	static const uint8 dummy_salt[AUTH_SCRYPT_SALT_LEN] = {0};
	uint8		derived[AUTH_SCRYPT_OUT_MAX];
	ScryptHash	h;
	bool		ok;

	if (enc == NULL)
	{
		scrypt_derive((const uint8 *) pw, pwlen, dummy_salt, sizeof(dummy_salt),
					  AUTH_SCRYPT_N, AUTH_SCRYPT_R, AUTH_SCRYPT_P,
					  derived, AUTH_SCRYPT_HASH_LEN);
		OPENSSL_cleanse(derived, sizeof(derived));
		return false;
	}
	if (!scrypt_parse(enc, enclen, &h))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored password hash is not in the scrypt format")));
	scrypt_derive((const uint8 *) pw, pwlen, h.salt, h.saltlen, h.n, h.r, h.p,
				  derived, h.hashlen);
	ok = auth_equal(derived, h.hashlen, h.hash, h.hashlen);
	OPENSSL_cleanse(derived, sizeof(derived));
	return ok;
}

/* A password argument, bounded (never echoed). */
static text *
password_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *t = PG_GETARG_TEXT_PP(argno);

	if (VARSIZE_ANY_EXHDR(t) > AUTH_PASSWORD_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_WEAK_PASSWORD),
				 errmsg("password is longer than %d bytes", AUTH_PASSWORD_MAX_BYTES)));
	return t;
}

/*
 * pg_wallet.scrypt(password bytea, salt bytea, n integer, r integer,
 * p integer, length integer) RETURNS bytea: the raw KDF, for test vectors
 * (RFC 7914 §12) and for callers that need their own format.
 */
Datum
wallet_scrypt(PG_FUNCTION_ARGS)
{
	bytea	   *pw = PG_GETARG_BYTEA_PP(0);
	bytea	   *salt = PG_GETARG_BYTEA_PP(1);
	int32		n = PG_GETARG_INT32(2);
	int32		r = PG_GETARG_INT32(3);
	int32		p = PG_GETARG_INT32(4);
	int32		len = PG_GETARG_INT32(5);
	bytea	   *out;

	if (VARSIZE_ANY_EXHDR(pw) > RAW_PASSWORD_MAX || VARSIZE_ANY_EXHDR(salt) > 64)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("scrypt password must be at most %d bytes and salt at most 64 bytes",
						RAW_PASSWORD_MAX)));
	if (n < 0 || r < 0 || p < 0 || len < 0 ||
		!scrypt_params_ok((uint64) n, (uint64) r, (uint64) p, (size_t) len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scrypt parameters are out of range"),
				 errdetail("N must be a power of 2 up to %d, r 1 to %d, p 1 to %d, "
						   "length 1 to %d.", AUTH_SCRYPT_N_MAX, AUTH_SCRYPT_R_MAX,
						   AUTH_SCRYPT_P_MAX, AUTH_SCRYPT_OUT_MAX)));
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	scrypt_derive((uint8 *) VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw),
				  (uint8 *) VARDATA_ANY(salt), VARSIZE_ANY_EXHDR(salt),
				  n, r, p, (uint8 *) VARDATA(out), len);
	PG_RETURN_BYTEA_P(out);
}

/*
 * pg_wallet._password_hash(password text) RETURNS text: the encoded scrypt
 * hash with a fresh salt. Does not judge strength (see
 * _password_check_strength).
 */
Datum
wallet_password_hash(PG_FUNCTION_ARGS)
{
	text	   *pw = password_arg(fcinfo, 0);

	PG_RETURN_TEXT_P(cstring_to_text(password_hash_cstr(VARDATA_ANY(pw),
														VARSIZE_ANY_EXHDR(pw))));
}

/*
 * pg_wallet._password_verify(password text, encoded text) RETURNS boolean.
 * Not strict: a NULL hash (no such user) costs the same time and is false;
 * a NULL password is false.
 */
Datum
wallet_password_verify(PG_FUNCTION_ARGS)
{
	text	   *pw;
	text	   *enc = NULL;
	bool		ok;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	pw = password_arg(fcinfo, 0);
	if (!PG_ARGISNULL(1))
		enc = PG_GETARG_TEXT_PP(1);
	ok = password_verify_cstr(VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw),
							  enc ? text_to_cstring(enc) : NULL,
							  enc ? VARSIZE_ANY_EXHDR(enc) : 0);
	PG_RETURN_BOOL(ok);
}

/*
 * pg_wallet._password_needs_rehash(encoded text) RETURNS boolean: true when
 * the hash was made with other parameters than today's (login then stores
 * a new hash of the password it just verified).
 */
Datum
wallet_password_needs_rehash(PG_FUNCTION_ARGS)
{
	text	   *enc = PG_GETARG_TEXT_PP(0);
	ScryptHash	h;

	if (!scrypt_parse(text_to_cstring(enc), VARSIZE_ANY_EXHDR(enc), &h))
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(h.n != AUTH_SCRYPT_N || h.r != AUTH_SCRYPT_R || h.p != AUTH_SCRYPT_P ||
				   h.saltlen != AUTH_SCRYPT_SALT_LEN || h.hashlen != AUTH_SCRYPT_HASH_LEN);
}

/*
 * pg_wallet._password_check_strength(password text) RETURNS void: raises
 * WL030 unless the password has at least 8 characters, a letter (any
 * non-ASCII character counts as one) and a digit, in at most 128 bytes.
 */
Datum
wallet_password_check_strength(PG_FUNCTION_ARGS)
{
	text	   *pw;
	const char *s;
	int			len;
	bool		letter = false;
	bool		digit = false;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_WEAK_PASSWORD),
				 errmsg("password is required")));
	pw = password_arg(fcinfo, 0);
	s = VARDATA_ANY(pw);
	len = VARSIZE_ANY_EXHDR(pw);
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		letter |= (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c >= 0x80;
		digit |= (c >= '0' && c <= '9');
	}
	if (pg_mbstrlen_with_len(s, len) < AUTH_PASSWORD_MIN_CHARS || !letter || !digit)
		ereport(ERROR,
				(errcode(ERRCODE_WALLET_WEAK_PASSWORD),
				 errmsg("password is too weak"),
				 errdetail("A password needs at least %d characters, with at least one "
						   "letter and one digit.", AUTH_PASSWORD_MIN_CHARS)));
	PG_RETURN_VOID();
}
