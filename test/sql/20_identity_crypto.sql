-- Authentication primitives against published test vectors: HOTP (RFC 4226), TOTP (RFC 6238),
-- HS256 JWS (RFC 7515 A.1), scrypt (RFC 7914), base64url and base32 (RFC 4648); then the
-- password hash format, the password policy, random tokens and the settings and clock.
-- Secrets, hashes and times are never printed: only their shape and the outcome.

-- err() with the DETAIL of the error, when there is one
CREATE OR REPLACE FUNCTION auth_err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(d, '') || ')', '');
END
$$;

-- ---------------------------------------------------------------------------------------
-- RFC 4226 appendix D: HOTP, secret "12345678901234567890", counters 0-9
-- ---------------------------------------------------------------------------------------
SELECT c AS counter, pg_wallet.hotp(convert_to('12345678901234567890', 'UTF8'), c) AS hotp,
	pg_wallet.hotp(convert_to('12345678901234567890', 'UTF8'), c) =
		(ARRAY['755224', '287082', '359152', '969429', '338314', '254676', '287922',
		       '162583', '399871', '520489'])[c + 1] AS matches_rfc
FROM generate_series(0, 9) c;
-- 7 and 8 digits, and the bounds
SELECT pg_wallet.hotp(convert_to('12345678901234567890', 'UTF8'), 0, 7),
	pg_wallet.hotp(convert_to('12345678901234567890', 'UTF8'), 0, 8);
SELECT auth_err($$SELECT pg_wallet.hotp('\x01', 0, 5)$$);
SELECT auth_err($$SELECT pg_wallet.hotp('\x01', 0, 9)$$);
SELECT auth_err($$SELECT pg_wallet.hotp('\x01', -1)$$);
SELECT auth_err($$SELECT pg_wallet.hotp('\x', 0)$$);
SELECT auth_err(format('SELECT pg_wallet.hotp(%L::bytea, 0)', '\x' || repeat('00', 65)));

-- ---------------------------------------------------------------------------------------
-- RFC 6238 appendix B: TOTP SHA-1, 30 s steps, 8 digits
-- ---------------------------------------------------------------------------------------
SELECT t AS unix_time, pg_wallet.totp_at(convert_to('12345678901234567890', 'UTF8'), t, 8) AS totp
FROM unnest(ARRAY[59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000]) t;
-- 6 digits (what users get) is the 8-digit code's last six
SELECT pg_wallet.totp_at(convert_to('12345678901234567890', 'UTF8'), 59) AS totp_6;
SELECT auth_err($$SELECT pg_wallet.totp_at('\x01', -1)$$);

-- _totp_match: the current step and one either side, each step once, 6 digits only.
-- Steps are computed from the auth clock in the same statement as the check.
CREATE TEMP TABLE totp_key AS SELECT pg_wallet._random_bytes(20) AS k;
SELECT d AS step_offset,
	coalesce(pg_wallet._totp_match(k, pg_wallet.totp_at(k,
		floor(extract(epoch FROM pg_wallet._auth_now()))::bigint + 30 * d), NULL)
		= floor(extract(epoch FROM pg_wallet._auth_now()) / 30)::bigint + d, false) AS accepted
FROM totp_key, generate_series(-3, 3) d
ORDER BY d;
-- a step already used (or an earlier one) is refused: no replay
SELECT pg_wallet._totp_match(k, code, step) IS NULL AS replay_refused,
	pg_wallet._totp_match(k, code, step - 1) IS NOT NULL AS later_step_accepted
FROM totp_key, LATERAL (
	SELECT pg_wallet.totp_at(k, floor(extract(epoch FROM pg_wallet._auth_now()))::bigint) AS code,
		floor(extract(epoch FROM pg_wallet._auth_now()) / 30)::bigint AS step) n;
SELECT pg_wallet._totp_match(k, c, NULL) IS NULL AS refused, c AS code
FROM totp_key, unnest(ARRAY['', '12345', '1234567', 'abcdef', '12 456', '１２３４５６']) c;
SELECT pg_wallet._totp_match(NULL, '123456', NULL) IS NULL AS null_secret,
	pg_wallet._totp_match(k, NULL, NULL) IS NULL AS null_code
FROM totp_key;

-- the otpauth:// URI (secret shown only for the RFC's public test secret)
SELECT pg_wallet._totp_uri(convert_to('12345678901234567890', 'UTF8'), 'pg_wallet',
	'alice@example.com');
SELECT pg_wallet._totp_uri(convert_to('12345678901234567890', 'UTF8'), 'My Bank & Co',
	'José Müller');
SELECT auth_err($$SELECT pg_wallet._totp_uri('\x01', '', 'a')$$);

-- ---------------------------------------------------------------------------------------
-- RFC 7515 appendix A.1: HS256. The header and payload have CRLF line breaks.
-- ---------------------------------------------------------------------------------------
SELECT pg_wallet.base64url_encode(convert_to(E'{"typ":"JWT",\r\n "alg":"HS256"}', 'UTF8'))
	AS header_b64;
SELECT pg_wallet.base64url_encode(convert_to(
	E'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}', 'UTF8'))
	AS payload_b64;
SELECT pg_wallet.hs256_sign(
	pg_wallet.base64url_decode('AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75'
	                           || 'aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow'),
	'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9'
	|| '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb2'
	|| '90Ijp0cnVlfQ')
	AS signature,
	'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' AS rfc_7515_a1;
-- one byte changed in the input, a different signature
SELECT pg_wallet.hs256_sign('\x00', 'a') <> pg_wallet.hs256_sign('\x00', 'b') AS differs,
	length(pg_wallet.hs256_sign('\x00', 'a')) AS signature_length;

-- ---------------------------------------------------------------------------------------
-- RFC 7914 section 12: scrypt
-- ---------------------------------------------------------------------------------------
SELECT encode(pg_wallet.scrypt('', '', 16, 1, 1, 64), 'hex') AS scrypt_empty;
SELECT encode(pg_wallet.scrypt(convert_to('password', 'UTF8'), convert_to('NaCl', 'UTF8'),
	1024, 8, 16, 64), 'hex') AS scrypt_password_nacl;
SELECT encode(pg_wallet.scrypt(convert_to('password', 'UTF8'), convert_to('NaCl', 'UTF8'),
	1024, 8, 16, 64), 'hex') LIKE 'fdbabe1c9d347200%' AS starts_fdbabe1c9d347200;
SELECT auth_err($$SELECT pg_wallet.scrypt('', '', 1000, 8, 1, 32)$$);	-- N not a power of 2
SELECT auth_err($$SELECT pg_wallet.scrypt('', '', 2097152, 8, 1, 32)$$);	-- N > 2^20
SELECT auth_err($$SELECT pg_wallet.scrypt('', '', 1024, 33, 1, 32)$$);
SELECT auth_err($$SELECT pg_wallet.scrypt('', '', 1024, 8, 17, 32)$$);
SELECT auth_err($$SELECT pg_wallet.scrypt('', '', 1024, 8, 1, 65)$$);
SELECT auth_err($$SELECT pg_wallet.scrypt('', '', 1048576, 32, 1, 32)$$);	-- 4 GiB: refused

-- ---------------------------------------------------------------------------------------
-- RFC 4648: base64url (section 5, no padding) and base32 (section 6)
-- ---------------------------------------------------------------------------------------
SELECT s, pg_wallet.base64url_encode(convert_to(s, 'UTF8')) AS base64url,
	pg_wallet.base32_encode(convert_to(s, 'UTF8')) AS base32
FROM unnest(ARRAY['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar']) s;
SELECT pg_wallet.base64url_encode('\xfbff'::bytea) AS url_safe_alphabet;
SELECT pg_wallet.base32_encode(convert_to('12345678901234567890', 'UTF8')) AS rfc6238_secret_b32;
-- round trips of every length 0..64 of random bytes
SELECT bool_and(pg_wallet.base64url_decode(pg_wallet.base64url_encode(b)) = b) AS b64url_ok,
	bool_and(pg_wallet.base32_decode(pg_wallet.base32_encode(b)) = b) AS b32_ok,
	bool_and(pg_wallet.base32_decode(lower(pg_wallet.base32_encode(b))) = b) AS b32_lower_ok,
	count(*) AS lengths
FROM (SELECT CASE WHEN n = 0 THEN '\x'::bytea ELSE pg_wallet._random_bytes(n) END AS b
      FROM generate_series(0, 64) n) r;
SELECT encode(pg_wallet.base32_decode('MZXW6YQ='), 'escape') AS padded_base32;
-- refused: wrong characters, impossible lengths, padding in base64url, non-zero leftover bits
SELECT s AS base64url_input, auth_err(format('SELECT pg_wallet.base64url_decode(%L)', s))
FROM unnest(ARRAY['Zg==', 'Z', 'Zh', 'Zm9v!', 'Zm9v+/', 'Zm 9v']) s;
SELECT s AS base32_input, auth_err(format('SELECT pg_wallet.base32_decode(%L)', s))
FROM unnest(ARRAY['M', 'MZX', 'MZXW6Y', 'MZ', 'MZXW1', 'MZXW6YQ=x']) s;

-- ---------------------------------------------------------------------------------------
-- Passwords: scrypt$N$r$p$salt$hash, constant-time verify, rehash detection, policy
-- ---------------------------------------------------------------------------------------
SELECT pg_wallet._password_hash('Correct horse 42') AS h1 \gset
SELECT pg_wallet._password_hash('Correct horse 42') AS h2 \gset
SELECT :'h1' ~ '^scrypt\$16384\$8\$5\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$' AS format_ok,
	:'h1' <> :'h2' AS salted,
	position('Correct' IN :'h1') = 0 AS no_plaintext;
SELECT pg_wallet._password_verify('Correct horse 42', :'h1') AS right_password,
	pg_wallet._password_verify('Correct horse 43', :'h1') AS wrong_password,
	pg_wallet._password_verify('', :'h1') AS empty_password,
	pg_wallet._password_verify(NULL, :'h1') AS null_password,
	pg_wallet._password_verify('Correct horse 42', NULL) AS no_stored_hash,
	pg_wallet._password_needs_rehash(:'h1') AS needs_rehash;
-- a hash made with older, weaker parameters still verifies, and is flagged for rehash
SELECT format('scrypt$1024$8$1$%s$%s',
	pg_wallet.base64url_encode('\x000102030405060708090a0b0c0d0e0f'),
	pg_wallet.base64url_encode(pg_wallet.scrypt(convert_to('Old pass 1', 'UTF8'),
		'\x000102030405060708090a0b0c0d0e0f', 1024, 8, 1, 32))) AS old_hash \gset
SELECT pg_wallet._password_verify('Old pass 1', :'old_hash') AS old_verifies,
	pg_wallet._password_verify('Old pass 2', :'old_hash') AS old_wrong,
	pg_wallet._password_needs_rehash(:'old_hash') AS old_needs_rehash;
-- stored hashes out of bounds or malformed are refused without being echoed
SELECT auth_err($$SELECT pg_wallet._password_verify('x',
	'scrypt$2097152$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$);
SELECT auth_err($$SELECT pg_wallet._password_verify('x', 'pbkdf2$1$2$3$AAAA$AAAA')$$);
SELECT auth_err($$SELECT pg_wallet._password_verify('x', 'scrypt$16384$8$5$!!$AAAA')$$);
SELECT auth_err($$SELECT pg_wallet._password_verify('x',
	'scrypt$016384$8$5$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$);
-- policy: 8+ characters, a letter and a digit, at most 128 bytes; the password is never echoed
SELECT left(p, 12) AS password, octet_length(p) AS bytes,
	auth_err(format('SELECT pg_wallet._password_check_strength(%L)', p))
FROM unnest(ARRAY['Secret12', 'short1', 'onlyletters', '1234567890', 'пароль123',
                  '        1a', repeat('a1', 64), repeat('a1', 64) || 'x']) p;
SELECT auth_err($$SELECT pg_wallet._password_check_strength(NULL)$$);
SELECT auth_err(format('SELECT pg_wallet._password_hash(%L)', repeat('x', 129)));

-- ---------------------------------------------------------------------------------------
-- Random tokens, codes, hashes of secrets, constant-time comparison
-- ---------------------------------------------------------------------------------------
SELECT pg_wallet._random_token('rt_', 32) ~ '^rt_[A-Za-z0-9_-]{43}$' AS refresh_shape,
	pg_wallet._random_token('pk_', 24) ~ '^pk_[A-Za-z0-9_-]{32}$' AS key_shape,
	pg_wallet._random_token('x', 16) <> pg_wallet._random_token('x', 16) AS distinct_tokens,
	octet_length(pg_wallet._random_bytes(32)) AS random_bytes;
SELECT bool_and(c ~ '^[0-9]{6}$') AS six_digits, count(DISTINCT c) > 900 AS varied
FROM (SELECT pg_wallet._random_digits(6) AS c FROM generate_series(1, 1000)) r;
-- every digit value appears in every position of 2000 codes
SELECT count(DISTINCT (i, substr(c, i, 1))) AS position_digit_pairs
FROM (SELECT pg_wallet._random_digits(6) AS c FROM generate_series(1, 2000)) r,
	generate_series(1, 6) i;
SELECT auth_err($$SELECT pg_wallet._random_digits(3)$$);
SELECT auth_err($$SELECT pg_wallet._random_token('rt_', 8)$$);
SELECT auth_err($$SELECT pg_wallet._random_token('a_much_too_long_prefix', 32)$$);
SELECT auth_err($$SELECT pg_wallet._random_bytes(0)$$);
SELECT auth_err($$SELECT pg_wallet._random_bytes(1025)$$);
SELECT pg_wallet._secret_hash('vt_abc') = sha256(convert_to('vt_abc', 'UTF8')) AS is_sha256,
	pg_wallet._secret_hash('123456', '\x0102') = sha256('\x0102'::bytea || convert_to('123456',
		'UTF8'))
		AS salted_sha256;
SELECT auth_err(format('SELECT pg_wallet._secret_hash(%L)', repeat('x', 257)));
SELECT pg_wallet._ct_equal('\x0102', '\x0102') AS same, pg_wallet._ct_equal('\x0102',
	'\x0103') AS differ,
	pg_wallet._ct_equal('\x0102', '\x010203') AS other_length;

-- ---------------------------------------------------------------------------------------
-- Settings and clock: defaults, superuser-only, the test offset moves only the auth clock
-- ---------------------------------------------------------------------------------------
SELECT * FROM pg_wallet._auth_config();
SELECT name, setting, unit, context FROM pg_settings
WHERE name IN ('pg_wallet.jwt_lifetime_s', 'pg_wallet.api_token_lifetime_s',
	'pg_wallet.refresh_lifetime_s', 'pg_wallet.max_failed_logins', 'pg_wallet.lockout_s',
	'pg_wallet.otp_ttl_s', 'pg_wallet.otp_max_attempts', 'pg_wallet.verification_ttl_s',
	'pg_wallet.test_now_offset_s', 'pg_wallet.enable_test_hooks', 'pg_wallet.totp_issuer')
ORDER BY name;
SELECT pg_wallet._auth_now() = now() AS clock_is_now;
SET pg_wallet.test_now_offset_s = 3600;
SELECT pg_wallet._auth_now() - now() AS offset;
RESET pg_wallet.test_now_offset_s;
SELECT auth_err($$SET pg_wallet.test_now_offset_s = 400000000$$);
SELECT auth_err($$SET pg_wallet.jwt_lifetime_s = 10$$);
SELECT auth_err($$SELECT pg_wallet._require_test_hooks()$$);
