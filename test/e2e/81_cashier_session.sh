# 81_cashier_session.sh — the cashier web page's session (issue 17; bridge/cookie.c,
# sql/api/cashier_session.sql): sign-in over REST with the password, then the TOTP code where
# enabled; the access token only in an HttpOnly cookie; the cashier socket opened with that
# cookie from the bridge's own origin, never from another; sign-out revokes the session and
# clears the cookie. Sourced by test/e2e/run.

CS=/cashier/svc
CS_WS=${URL/http/ws}$CS/ws
CS_JAR=$E2E_DIR/cs-cookie

# cs_post PATH BODY [CURL ARGS...]: POST under the cashier's base path; STATUS, body, headers
cs_post() {
	local p=$1 b=$2
	shift 2
	STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary "$b" "$@" "$URL$CS$p")
	[ -z "${E2E_RESPONSE_LOG-}" ] || record_response POST "$CS$p"
}
cs_session() { # [CURL ARGS...]: GET the session
	STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' "$@" \
		"$URL$CS/auth/session")
	[ -z "${E2E_RESPONSE_LOG-}" ] || record_response GET "$CS/auth/session"
}
# the value of the session cookie the last reply set ("" when none)
set_cookie() { header Set-Cookie; }
cookie_value() { set_cookie | sed -n 's/^pgw_cashier=\([^;]*\);.*/\1/p'; }
cs_socket() { # COOKIE_HEADER ORIGIN: what cashier_cookie.js saw
	(cd "$E2E_ROOT/test/e2e" && NODE_PATH=/usr/share/nodejs timeout 20 node cashier_cookie.js \
		"$CS_WS" "$1" "$2" 2>&1)
}

read -r CS_P CS_O CS_ACC <<<"$(wallet_user cs-81@example.com +254700000810)"
cs_post /auth/login '{"email": "cs-81@example.com", "password": "Wrong-pass1"}'
expect "cashier sign-in with a wrong password: 401 INVALID_CREDENTIALS, no cookie" 401 \
	'.type == "error"' '.data.code == "INVALID_CREDENTIALS"' '.data.message | length > 0'
check "... and no Set-Cookie" test -z "$(set_cookie)"
cs_post /auth/login '{"email": "cs-81@example.com"}'
expect "cashier sign-in without a password: 400 naming it" 400 '.data.code == "INVALID_REQUEST"'

cs_post /auth/login '{"email": "cs-81@example.com", "password": "Passw0rd-e2e"}' \
	-H "Origin: http://evil.example"
expect "cashier sign-in from a page of another site: 403 (login CSRF)" 403 \
	'.data.code == "FORBIDDEN"'
check "... and no Set-Cookie" test -z "$(set_cookie)"
cs_post /auth/login '{"email": "cs-81@example.com", "password": "Passw0rd-e2e"}' \
	-H "Origin: $URL"
expect "cashier sign-in: 200 with the user and the lifetime" 200 \
	'.user.email == "cs-81@example.com"' ".user.userId == \"$CS_P\"" '.expiresIn > 0'
check "... the token is in no field of the body" bash -c "! grep -q 'eyJ' '$E2E_DIR/body'"
CS_COOKIE=$(cookie_value)
SC=$(set_cookie)
check "... it is an HttpOnly, SameSite=Strict cookie of the cashier's path" bash -c \
	"[[ '$SC' == pgw_cashier=eyJ*'; Path=/cashier/svc; Max-Age='[0-9]*'; HttpOnly; SameSite=Strict' ]]"

check "the socket opens with the cookie from the bridge's own origin" \
	test "$(cs_socket "pgw_cashier=$CS_COOKIE" "$URL")" = connected
check "... and with the cookie among others, no Origin (not a browser)" \
	test "$(cs_socket "theme=dark; pgw_cashier=$CS_COOKIE; lang=sw" -)" = connected
check "... but not from a page of another origin (cross-site socket hijacking): 401" \
	test "$(cs_socket "pgw_cashier=$CS_COOKIE" "http://evil.example")" = "refused 401"
check "... nor without a cookie (401)" test "$(cs_socket - "$URL")" = "refused 401"
CS_OUT=$(cs_socket "pgw_cashier=${CS_COOKIE%?}x" "$URL")
check "... and a forged cookie is refused by the connect call ($CS_OUT)" \
	test "${CS_OUT%% *}" = error
check "... nor with a cookie that is not a token's characters" \
	test "$(cs_socket "pgw_cashier=a%0d%0aX:1" "$URL")" = "refused 401"

cs_session
expect "the session without a cookie: nobody" 200 '.user == null'
cs_session -H "Cookie: pgw_cashier=$CS_COOKIE"
expect "the session with the cookie: the user and the seconds left (a reload goes on)" 200 \
	".user.userId == \"$CS_P\"" '.expiresIn > 0'
cs_session -H "Cookie: pgw_cashier=$CS_COOKIE" -H "Origin: http://evil.example"
expect "... but not asked by a page of another site (403)" 403

# two factors: a user who enabled TOTP signs in with the password, then the code
read -r CS_P2 _ _ <<<"$(wallet_user cs-81b@example.com +254700000811)"
CS_B32=$(sql -c "SELECT secret FROM pg_wallet.totp_enroll((pg_wallet.login(
	'cs-81b@example.com', 'Passw0rd-e2e', 'cashier')).access_token)")
totp() { # SECONDS_FROM_NOW
	sql -c "SELECT pg_wallet.totp_at(pg_wallet.base32_decode('$CS_B32'),
		floor(extract(epoch FROM now()))::bigint + $1)"
}
sql -c "SELECT status FROM pg_wallet.totp_confirm((pg_wallet.login('cs-81b@example.com',
	'Passw0rd-e2e', 'cashier')).access_token, '$(totp 0)')" >/dev/null
cs_post /auth/login '{"email": "cs-81b@example.com", "password": "Passw0rd-e2e"}'
expect "with TOTP enabled, the password alone: 401 SECOND_FACTOR_REQUIRED, no cookie" 401 \
	'.data.code == "SECOND_FACTOR_REQUIRED"'
check "... and no Set-Cookie" test -z "$(set_cookie)"
cs_post /auth/login '{"email": "cs-81b@example.com", "password": "Wrong-pass1",
	"totpCode": "'"$(totp 30)"'"}'
expect "... a right code with a wrong password: 401 INVALID_CREDENTIALS" 401 \
	'.data.code == "INVALID_CREDENTIALS"'
WRONG=$(printf '%06d' $(((10#$(totp 30) + 500000) % 1000000)))
cs_post /auth/login '{"email": "cs-81b@example.com", "password": "Passw0rd-e2e",
	"totpCode": "'"$WRONG"'"}'
expect "... a wrong code: 401 INVALID_CODE" 401 '.data.code == "INVALID_CODE"'
cs_post /auth/login '{"email": "cs-81b@example.com", "password": "Passw0rd-e2e",
	"totpCode": "'"$(totp 30)"'"}'
expect "... the password and the code: 200, signed in" 200 ".user.userId == \"$CS_P2\""
check "... with the session cookie" test -n "$(cookie_value)"

# sign-out: the session is revoked, the cookie cleared
cs_post /auth/logout '{}'
expect "sign-out without the cookie: 401" 401 '.type == "error"'
cs_post /auth/logout '{}' -H "Cookie: pgw_cashier=$CS_COOKIE" -H "Origin: http://evil.example"
expect "sign-out from another origin: 403, the session untouched" 403
cs_post /auth/logout '{}' -H "Cookie: pgw_cashier=$CS_COOKIE" -H "Origin: $URL"
expect "sign-out with the cookie from the page: 200" 200 '.message == "signed out"'
check "... the cookie is cleared (Max-Age=0)" bash -c \
	"[[ '$(set_cookie)' == 'pgw_cashier=; Path=/cashier/svc; Max-Age=0; HttpOnly; SameSite=Strict' ]]"
cs_session -H "Cookie: pgw_cashier=$CS_COOKIE"
expect "... the revoked cookie signs nobody in" 200 '.user == null'
check "... and is cleared" bash -c "[[ '$(set_cookie)' == 'pgw_cashier=; '* ]]"
check "... and the old cookie opens no socket any more (the session is revoked)" \
	test "$(cs_socket "pgw_cashier=$CS_COOKIE" "$URL")" = "error TOKEN_REVOKED"
# a receipt page under the cashier's path (get_receipt's URLs; the page opens one: e2e 82)
STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' \
	"$URL$CS/receipts/rcpt-00000000000000000000000000000000.html?token=AAAAAAAAAAAAAAAAAAAAAA")
[ -z "${E2E_RESPONSE_LOG-}" ] ||
	record_response GET "$CS/receipts/rcpt-00000000000000000000000000000000.html"
expect "a receipt page with a wrong token: 404 in the cashier's error shape" 404 \
	'.type == "error"' '.data.code == "JOURNAL_NOT_FOUND"'
check "the ledger is consistent" test "$(sql -c 'SELECT count(*) FROM pg_wallet.verify_ledger()')" = 0
