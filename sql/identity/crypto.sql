-- Authentication primitives (C, src/auth_*.c): encodings, randomness, hashing, scrypt,
-- HS256 JWT, HOTP/TOTP, settings and clock. The public-looking names (hotp, totp_at,
-- hs256_sign, scrypt, base32_*, base64url_*) are tools and test-vector entry points; the
-- ones starting with _ are internal. None is granted to any role (core/grants.sql).

-- settings and clock (src/identity/auth_config.c)

CREATE OR REPLACE FUNCTION pg_wallet._auth_now()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'wallet_auth_now'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet._auth_now() IS
	'Internal: the authentication clock, now() plus pg_wallet.test_now_offset_s (a '
	'superuser-only setting, 0 outside tests). Every auth expiry is computed against it.';

CREATE OR REPLACE FUNCTION pg_wallet._auth_config()
RETURNS pg_wallet.auth_config
AS 'MODULE_PATHNAME', 'wallet_auth_config'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet._auth_config() IS
	'Internal: the pg_wallet.* authentication settings (lifetimes, lockout, OTP limits).';

CREATE OR REPLACE FUNCTION pg_wallet._require_test_hooks()
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_require_test_hooks'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._require_test_hooks() IS
	'Internal: raises 42501 unless a superuser set pg_wallet.enable_test_hooks = on.';

-- encodings (src/identity/auth_codec.c)

CREATE OR REPLACE FUNCTION pg_wallet.base64url_encode(data bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_base64url_encode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.base64url_encode(bytea) IS
	'base64url without padding (RFC 4648 section 5), as JWTs use it.';

CREATE OR REPLACE FUNCTION pg_wallet.base64url_decode(data text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_base64url_decode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.base64url_decode(text) IS
	'Decode unpadded base64url; 22023 unless canonical.';

CREATE OR REPLACE FUNCTION pg_wallet.base32_encode(data bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_base32_encode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.base32_encode(bytea) IS
	'base32 (RFC 4648 section 6), upper case, no padding: how TOTP secrets are shown.';

CREATE OR REPLACE FUNCTION pg_wallet.base32_decode(data text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_base32_decode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.base32_decode(text) IS
	'Decode base32, either case, padding optional; 22023 unless canonical.';

-- randomness and hashes of secrets (src/identity/auth_tokens.c)

CREATE OR REPLACE FUNCTION pg_wallet._random_bytes(n integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_random_bytes'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pg_wallet._random_bytes(integer) IS
	'Internal: n bytes from pg_strong_random (1 to 1024).';

CREATE OR REPLACE FUNCTION pg_wallet._random_token(prefix text, nbytes integer)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_random_token'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pg_wallet._random_token(text, integer) IS
	'Internal: prefix || base64url(nbytes strong random bytes), e.g. rt_<43 characters>.';

CREATE OR REPLACE FUNCTION pg_wallet._random_digits(n integer)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_random_digits'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pg_wallet._random_digits(integer) IS
	'Internal: n uniformly random decimal digits (a one-time code), 4 to 10.';

CREATE OR REPLACE FUNCTION pg_wallet._secret_hash(secret text, salt bytea DEFAULT '\x')
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_secret_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet._secret_hash(text, bytea) IS
	'Internal: SHA-256(salt || secret): how tokens, API keys/secrets and one-time codes are '
	'stored.';

CREATE OR REPLACE FUNCTION pg_wallet._ct_equal(a bytea, b bytea)
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_ct_equal'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet._ct_equal(bytea, bytea) IS
	'Internal: constant-time equality (CRYPTO_memcmp) of two hashes.';

-- passwords (src/identity/auth_password.c)

CREATE OR REPLACE FUNCTION pg_wallet.scrypt(
	password bytea, salt bytea, n integer, r integer, p integer, length integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'wallet_scrypt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.scrypt(bytea, bytea, integer, integer, integer, integer) IS
	'The scrypt KDF (RFC 7914) through OpenSSL; N a power of 2 up to 2^20, r up to 32, p up '
	'to 16, length up to 64, at most 64 MiB of memory.';

CREATE OR REPLACE FUNCTION pg_wallet._password_hash(password text)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_password_hash'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION pg_wallet._password_hash(text) IS
	'Internal: scrypt$N$r$p$salt$hash of a password with a fresh 16-byte salt '
	'(N=16384, r=8, p=5).';

CREATE OR REPLACE FUNCTION pg_wallet._password_verify(password text, encoded text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_password_verify'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._password_verify(text, text) IS
	'Internal: constant-time check of a password against an encoded hash. A NULL hash (no '
	'such principal) costs the same time and is false.';

CREATE OR REPLACE FUNCTION pg_wallet._password_needs_rehash(encoded text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'wallet_password_needs_rehash'
LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION pg_wallet._password_needs_rehash(text) IS
	'Internal: true when a hash was made with other scrypt parameters than the current ones.';

CREATE OR REPLACE FUNCTION pg_wallet._password_check_strength(password text)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_password_check_strength'
LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION pg_wallet._password_check_strength(text) IS
	'Internal: WL030 unless the password has 8+ characters, a letter and a digit, and at '
	'most 128 bytes.';

-- JWT (src/identity/auth_jwt.c)

CREATE OR REPLACE FUNCTION pg_wallet.hs256_sign(key bytea, signing_input text)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_hs256_sign'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.hs256_sign(bytea, text) IS
	'base64url(HMAC-SHA256(key, signing_input)): the JWS HS256 signature of '
	'base64url(header) || ''.'' || base64url(payload) (RFC 7515).';

CREATE OR REPLACE FUNCTION pg_wallet._jwt_issue(
	sub uuid, role text, aud text, sid uuid, lifetime_s integer)
RETURNS pg_wallet.jwt_issued
AS 'MODULE_PATHNAME', 'wallet_jwt_issue'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._jwt_issue(uuid, text, text, uuid, integer) IS
	'Internal: an HS256 access token for a principal and session, signed with the active key '
	'(kid in the header), fresh jti, exp = iat + lifetime_s.';

CREATE OR REPLACE FUNCTION pg_wallet._jwt_verify(token text)
RETURNS pg_wallet.jwt_claims
AS 'MODULE_PATHNAME', 'wallet_jwt_verify'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._jwt_verify(text) IS
	'Internal: the claims of a token that is HS256, signed by a current key and not expired; '
	'WL022 missing/malformed, WL023 algorithm/key/signature, WL024 expired. Revocation is '
	'checked by authenticate().';

-- HOTP / TOTP (src/identity/auth_totp.c)

CREATE OR REPLACE FUNCTION pg_wallet.hotp(secret bytea, counter bigint, digits integer DEFAULT 6)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_hotp'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.hotp(bytea, bigint, integer) IS
	'HOTP (RFC 4226): the code of a counter, 6 to 8 digits.';

CREATE OR REPLACE FUNCTION pg_wallet.totp_at(secret bytea, unix_time bigint, digits integer DEFAULT 6)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_totp_at'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.totp_at(bytea, bigint, integer) IS
	'TOTP (RFC 6238, HMAC-SHA-1, 30 s steps from 0): the code at a Unix time.';

CREATE OR REPLACE FUNCTION pg_wallet._totp_match(secret bytea, code text, after_step bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_totp_match'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet._totp_match(bytea, text, bigint) IS
	'Internal: the time step (now, or one either side) whose 6-digit code is code and that '
	'is later than after_step; NULL when none.';

CREATE OR REPLACE FUNCTION pg_wallet._totp_uri(secret bytea, issuer text, account text)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_totp_uri'
LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION pg_wallet._totp_uri(bytea, text, text) IS
	'Internal: the otpauth://totp/ URI of a secret, for authenticator apps.';
