/*-------------------------------------------------------------------------
 *
 * auth_totp.c
 *	  One-time passwords from a shared secret: HOTP (RFC 4226) and TOTP
 *	  (RFC 6238, HMAC-SHA-1, 30-second steps), and the otpauth:// URI that
 *	  authenticator apps scan.
 *
 * Owns: the SQL functions hotp, totp_at (test vectors and tools), _totp_match
 * (the check a login or verification uses: 6 digits, the current step and
 * one either side, never a step already used) and _totp_uri.
 *
 * Never: returns which step of the window matched in any other way than the
 * step number the caller stores to refuse replays; never compares codes
 * with strcmp; never puts a secret or a code in an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "identity/auth.h"

PG_FUNCTION_INFO_V1(wallet_hotp);
PG_FUNCTION_INFO_V1(wallet_totp_at);
PG_FUNCTION_INFO_V1(wallet_totp_match);
PG_FUNCTION_INFO_V1(wallet_totp_uri);

#define TOTP_USER_DIGITS	6
#define TOTP_WINDOW			1		/* steps accepted either side of now */
#define URI_PART_MAX		200

static const uint32 digits_pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
100000000};

/*
 * RFC 4226 §5.3: HMAC-SHA-1 of the 8-byte big-endian counter, dynamic
 * truncation to 31 bits, modulo 10^digits.
 */
static uint32
hotp_value(const uint8 *key, size_t keylen, uint64 counter, int digits)
{
	uint8		msg[8];
	uint8		mac[20];
	unsigned int maclen = 0;
	int			offset;
	uint32		bin;

	for (int i = 7; i >= 0; i--)
	{
		msg[i] = (uint8) (counter & 0xFF);
		counter >>= 8;
	}
	if (HMAC(EVP_sha1(), key, (int) keylen, msg, sizeof(msg), mac, &maclen) == NULL ||
		maclen != sizeof(mac))
		elog(ERROR, "HMAC-SHA1 failed");
	offset = mac[19] & 0x0F;
	bin = ((uint32) (mac[offset] & 0x7F) << 24) | ((uint32) mac[offset + 1] << 16) |
		((uint32) mac[offset + 2] << 8) | (uint32) mac[offset + 3];
	OPENSSL_cleanse(mac, sizeof(mac));
	return bin % digits_pow10[digits];
}

/* The code as exactly `digits` decimal digits into out (>= 9 bytes). */
static void
hotp_format(uint32 value, int digits, char *out)
{
	snprintf(out, 9 + 1, "%0*u", digits, value);
}

/* The secret argument, bounded; raises when empty or too long. */
static bytea *
otp_secret_arg(FunctionCallInfo fcinfo)
{
	bytea	   *key = PG_GETARG_BYTEA_PP(0);

	if (VARSIZE_ANY_EXHDR(key) < 1 || VARSIZE_ANY_EXHDR(key) > AUTH_TOTP_SECRET_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("OTP secret must be 1 to %d bytes", AUTH_TOTP_SECRET_MAX)));
	return key;
}

/* The digits argument: 6 to 8 (RFC 4226 §5.3). */
static int
otp_digits_arg(FunctionCallInfo fcinfo, int argno)
{
	int32		digits = PG_GETARG_INT32(argno);

	if (digits < 6 || digits > 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("OTP digits must be 6, 7 or 8")));
	return digits;
}

/* pg_wallet.hotp(secret bytea, counter bigint, digits integer) RETURNS text */
Datum
wallet_hotp(PG_FUNCTION_ARGS)
{
	bytea	   *key = otp_secret_arg(fcinfo);
	int64		counter = PG_GETARG_INT64(1);
	int			digits = otp_digits_arg(fcinfo, 2);
	char		code[10];

	if (counter < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("HOTP counter must not be negative")));
	hotp_format(hotp_value((uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
						   (uint64) counter, digits), digits, code);
	PG_RETURN_TEXT_P(cstring_to_text(code));
}

/*
 * pg_wallet.totp_at(secret bytea, unix_time bigint, digits integer) RETURNS
 * text: the TOTP code at a Unix time (30-second steps from T0 = 0).
 */
Datum
wallet_totp_at(PG_FUNCTION_ARGS)
{
	bytea	   *key = otp_secret_arg(fcinfo);
	int64		t = PG_GETARG_INT64(1);
	int			digits = otp_digits_arg(fcinfo, 2);
	char		code[10];

	if (t < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP time must not be before 1970")));
	hotp_format(hotp_value((uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
						   (uint64) (t / AUTH_TOTP_STEP_S), digits), digits, code);
	PG_RETURN_TEXT_P(cstring_to_text(code));
}

/*
 * pg_wallet._totp_match(secret bytea, code text, after_step bigint) RETURNS
 * bigint: the time step (now -1, 0 or +1) whose 6-digit code equals code,
 * provided it is later than after_step (the last step used: a code works
 * once); NULL otherwise. Every candidate step is computed and compared in
 * constant time, so the answer time does not depend on which one matched.
 */
Datum
wallet_totp_match(PG_FUNCTION_ARGS)
{
	bytea	   *key;
	text	   *code_t;
	int64		after = PG_ARGISNULL(2) ? -1 : PG_GETARG_INT64(2);
	int64		now_step = auth_now_unix() / AUTH_TOTP_STEP_S;
	int64		matched = -1;
	char		given[TOTP_USER_DIGITS];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	key = otp_secret_arg(fcinfo);
	code_t = PG_GETARG_TEXT_PP(1);
	if (VARSIZE_ANY_EXHDR(code_t) != TOTP_USER_DIGITS)
		PG_RETURN_NULL();
	memcpy(given, VARDATA_ANY(code_t), TOTP_USER_DIGITS);
	for (int i = 0; i < TOTP_USER_DIGITS; i++)
		if (given[i] < '0' || given[i] > '9')
			PG_RETURN_NULL();
	for (int64 step = now_step - TOTP_WINDOW; step <= now_step + TOTP_WINDOW; step++)
	{
		char		expect[10];
		bool		eq;

		hotp_format(hotp_value((uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
							   (uint64) step, TOTP_USER_DIGITS), TOTP_USER_DIGITS, expect);
		eq = CRYPTO_memcmp(expect, given, TOTP_USER_DIGITS) == 0;
		OPENSSL_cleanse(expect, sizeof(expect));
		if (eq && step > after && matched < 0)
			matched = step;
	}
	OPENSSL_cleanse(given, sizeof(given));
	if (matched < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(matched);
}

/* Append s percent-encoded (RFC 3986: all but unreserved characters). */
static void
append_uri_escaped(StringInfo buf, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			appendStringInfoChar(buf, (char) *p);
		else
			appendStringInfo(buf, "%%%02X", *p);
	}
}

/*
 * pg_wallet._totp_uri(secret bytea, issuer text, account text) RETURNS text:
 * otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>
 * &algorithm=SHA1&digits=6&period=30 (the Key Uri Format of authenticator
 * apps), issuer and account percent-encoded.
 */
Datum
wallet_totp_uri(PG_FUNCTION_ARGS)
{
	bytea	   *key = otp_secret_arg(fcinfo);
	char	   *issuer = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *account = text_to_cstring(PG_GETARG_TEXT_PP(2));
	StringInfoData buf;

	if (strlen(issuer) < 1 || strlen(issuer) > URI_PART_MAX ||
		strlen(account) < 1 || strlen(account) > URI_PART_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("TOTP issuer and account must be 1 to %d bytes", URI_PART_MAX)));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "otpauth://totp/");
	append_uri_escaped(&buf, issuer);
	appendStringInfoChar(&buf, ':');
	append_uri_escaped(&buf, account);
	appendStringInfo(&buf, "?secret=%s&issuer=",
					 auth_base32_encode((uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)));
	append_uri_escaped(&buf, issuer);
	appendStringInfo(&buf, "&algorithm=SHA1&digits=%d&period=%d",
					 TOTP_USER_DIGITS, AUTH_TOTP_STEP_S);
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
