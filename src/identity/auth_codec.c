/*-------------------------------------------------------------------------
 *
 * auth_codec.c
 *	  The two text encodings of the authentication code: base64url without
 *	  padding (RFC 4648 §5; JWT segments, opaque tokens, password hashes)
 *	  and base32 (RFC 4648 §6; TOTP secrets, as authenticator apps expect).
 *
 * Owns: encoding and strict decoding, and the SQL functions
 * base64url_encode/decode and base32_encode/decode.
 *
 * Never: accepts a non-canonical encoding (stray characters, impossible
 * lengths, non-zero leftover bits), so one byte string has exactly one
 * encoding and a token cannot be altered without changing its text; never
 * echoes the input in an error (it may be a secret).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "identity/auth.h"

PG_FUNCTION_INFO_V1(wallet_base64url_encode);
PG_FUNCTION_INFO_V1(wallet_base64url_decode);
PG_FUNCTION_INFO_V1(wallet_base32_encode);
PG_FUNCTION_INFO_V1(wallet_base32_decode);

static const char b64url_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Value of a base64url character, or -1. */
static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Value of a base32 character (either case), or -1. */
static int
b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* base64url of len bytes, no padding, palloc'd and NUL-terminated. */
char *
auth_base64url_encode(const uint8 *data, size_t len)
{
	char	   *out = palloc((len + 2) / 3 * 4 + 1);
	char	   *p = out;
	uint32		acc = 0;
	int			bits = 0;

	for (size_t i = 0; i < len; i++)
	{
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 6)
		{
			bits -= 6;
			*p++ = b64url_alphabet[(acc >> bits) & 0x3F];
		}
	}
	if (bits > 0)
		*p++ = b64url_alphabet[(acc << (6 - bits)) & 0x3F];
	*p = '\0';
	return out;
}

/*
 * Decode unpadded base64url. False (and *out untouched) when s is not the
 * canonical encoding of some byte string.
 */
bool
auth_base64url_decode(const char *s, size_t slen, uint8 **out, size_t *outlen)
{
	uint8	   *buf;
	size_t		n = 0;
	uint32		acc = 0;
	int			bits = 0;

	if (slen % 4 == 1)
		return false;
	buf = palloc(slen * 3 / 4 + 1);
	for (size_t i = 0; i < slen; i++)
	{
		int			v = b64url_value(s[i]);

		if (v < 0)
		{
			pfree(buf);
			return false;
		}
		acc = (acc << 6) | (uint32) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			buf[n++] = (uint8) ((acc >> bits) & 0xFF);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)	/* leftover bits must be zero */
	{
		pfree(buf);
		return false;
	}
	*out = buf;
	*outlen = n;
	return true;
}

/* base32 of len bytes, upper case, no padding (as otpauth:// URIs use). */
char *
auth_base32_encode(const uint8 *data, size_t len)
{
	char	   *out = palloc((len + 4) / 5 * 8 + 1);
	char	   *p = out;
	uint32		acc = 0;
	int			bits = 0;

	for (size_t i = 0; i < len; i++)
	{
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5)
		{
			bits -= 5;
			*p++ = b32_alphabet[(acc >> bits) & 0x1F];
		}
	}
	if (bits > 0)
		*p++ = b32_alphabet[(acc << (5 - bits)) & 0x1F];
	*p = '\0';
	return out;
}

/*
 * Decode base32, either case, with or without '=' padding. False when s is
 * not a canonical encoding.
 */
bool
auth_base32_decode(const char *s, size_t slen, uint8 **out, size_t *outlen)
{
	uint8	   *buf;
	size_t		n = 0;
	uint64		acc = 0;
	int			bits = 0;
	size_t		rem;

	while (slen > 0 && s[slen - 1] == '=')
		slen--;
	rem = slen % 8;
	if (rem == 1 || rem == 3 || rem == 6)
		return false;
	buf = palloc(slen * 5 / 8 + 1);
	for (size_t i = 0; i < slen; i++)
	{
		int			v = b32_value(s[i]);

		if (v < 0)
		{
			pfree(buf);
			return false;
		}
		acc = (acc << 5) | (uint64) v;
		bits += 5;
		if (bits >= 8)
		{
			bits -= 8;
			buf[n++] = (uint8) ((acc >> bits) & 0xFF);
		}
	}
	if ((acc & ((UINT64CONST(1) << bits) - 1)) != 0)
	{
		pfree(buf);
		return false;
	}
	*out = buf;
	*outlen = n;
	return true;
}

/* A bytea argument, bounded. */
static bytea *
codec_bytea_arg(FunctionCallInfo fcinfo)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	if (VARSIZE_ANY_EXHDR(b) > AUTH_CODEC_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("input is longer than %d bytes", AUTH_CODEC_MAX_BYTES)));
	return b;
}

/* A text argument, bounded. */
static text *
codec_text_arg(FunctionCallInfo fcinfo)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	if (VARSIZE_ANY_EXHDR(t) > AUTH_CODEC_MAX_BYTES * 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("input is longer than %d bytes", AUTH_CODEC_MAX_BYTES * 2)));
	return t;
}

/* Build a bytea from a buffer. */
static bytea *
make_bytea(const uint8 *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return b;
}

/* pg_wallet.base64url_encode(bytea) RETURNS text */
Datum
wallet_base64url_encode(PG_FUNCTION_ARGS)
{
	bytea	   *b = codec_bytea_arg(fcinfo);

	PG_RETURN_TEXT_P(cstring_to_text(
									 auth_base64url_encode((uint8 *) VARDATA_ANY(b),
														   VARSIZE_ANY_EXHDR(b))));
}

/* pg_wallet.base64url_decode(text) RETURNS bytea; 22023 when not canonical */
Datum
wallet_base64url_decode(PG_FUNCTION_ARGS)
{
	text	   *t = codec_text_arg(fcinfo);
	uint8	   *out;
	size_t		outlen;

	if (!auth_base64url_decode(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &out, &outlen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("input is not valid unpadded base64url")));
	PG_RETURN_BYTEA_P(make_bytea(out, outlen));
}

/* pg_wallet.base32_encode(bytea) RETURNS text */
Datum
wallet_base32_encode(PG_FUNCTION_ARGS)
{
	bytea	   *b = codec_bytea_arg(fcinfo);

	PG_RETURN_TEXT_P(cstring_to_text(
									 auth_base32_encode((uint8 *) VARDATA_ANY(b),
														VARSIZE_ANY_EXHDR(b))));
}

/* pg_wallet.base32_decode(text) RETURNS bytea; 22023 when not canonical */
Datum
wallet_base32_decode(PG_FUNCTION_ARGS)
{
	text	   *t = codec_text_arg(fcinfo);
	uint8	   *out;
	size_t		outlen;

	if (!auth_base32_decode(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &out, &outlen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("input is not valid base32")));
	PG_RETURN_BYTEA_P(make_bytea(out, outlen));
}
