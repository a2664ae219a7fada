# shellcheck shell=bash
# test/e2e/72_limits.sh — the bridge's budgets under attack, over real sockets (issue 10):
# a token re-spelt in the Authorization header shares its budget (finding 3; a new Tribble
# login sharing the user's budget is in 45_tribble); unauthenticated garbage from one address
# neither gets past its own budget nor locks out another address (finding 4); logins are
# throttled per address and in concurrency, and a read still answers meanwhile (finding 8).
# Each asserts the refusal and that /healthz still answers. Runs its own bridge with low
# limits (after 60_shutdown stopped the suite's); other loopback addresses (127.0.0.2-9) are
# other clients. Uses the Sellapay credentials and the WaaS tenant of 35_sellapay, 20_waas.
S=/sellapay/api/v1
W=/waas/api/v1
LIM=$E2E_DIR/limits
mkdir -p "$LIM"

bridge_stop >/dev/null 2>&1
if ! bridge_start PGW_BRIDGE_PREAUTH_RATE_PER_MIN=20 PGW_BRIDGE_LOGIN_RATE_PER_MIN=5 \
	PGW_BRIDGE_PASSWORD_CONCURRENCY_MAX=1; then
	not_ok "72_limits: the bridge with low limits starts"
fi

# status [CURL ARGS...]: the status code of one request
status() { curl -s -o "$LIM/body" -D "$LIM/headers" -w '%{http_code}' "$@"; }
healthy() { test "$(status "$URL/healthz")" = 200; }
# the windows are wall-clock minutes: the whole file runs early in one, so that no count
# straddles two (this waits; it measures nothing)
s=$(date +%-S)
[ "$s" -lt 15 ] || sleep $((61 - s))

# --- finding 3: a re-spelt token is the same token (Sellapay: 100/min per token) ---
STATUS=$(curl -s -X POST -H "X-API-KEY: $KEY_B" -H "X-API-SECRET: $SECRET_B" -d '{}' \
	-o "$LIM/body" -w '%{http_code}' "$URL$S/authorize")
TOK=$(jq -r .access_token "$LIM/body")
urls=()
for _ in $(seq 100); do urls+=(-o /dev/null "$URL$S/getBalance"); done
codes=$(curl -s -H "Authorization: Bearer $TOK" -w '%{http_code}\n' "${urls[@]}" |
	sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
check "100 getBalance in a minute with one token pass ($codes)" test "$codes" = "200:100 "
n429=0
for spelling in "bearer $TOK" "BEARER   $TOK  " "$TOK" "bEaReR $TOK" "  Bearer $TOK"; do
	[ "$(status -H "Authorization: $spelling" "$URL$S/getBalance")" = 429 ] && n429=$((n429 + 1))
done
check "the same token spelt 5 other ways is still limited (429 each; $n429)" test "$n429" = 5
check "a 429 of the token carries Retry-After" grep -qi '^retry-after: [0-9]' "$LIM/headers"
check "/healthz answers after the token's budget is spent" healthy

# --- finding 4: garbage from one address is limited there and locks out no one else ---
# a fresh token of this address, accepted before the garbage (its first request counted on
# the address, like TOK's: 2 of the address's 20)
STATUS=$(curl -s -X POST -H "X-API-KEY: $KEY_A" -H "X-API-SECRET: $SECRET_A" -d '{}' \
	-o "$LIM/body" -w '%{http_code}' "$URL$S/authorize")
TOK3=$(jq -r .access_token "$LIM/body")
c=$(status -H "Authorization: Bearer $TOK3" "$URL$S/getBalance")
check "a new token's first request is served (200)" test "$c" = 200
codes=""
for i in $(seq 40); do
	codes+="$(status -H "Authorization: Bearer garbage.$i.$RANDOM" "$URL$S/getBalance") "
done
check "garbage tokens from one address: 401 for 18, then 429 past its 20 a minute" \
	test "$codes" = "$(printf '401 %.0s' $(seq 18))$(printf '429 %.0s' $(seq 22))"
c=$(status -H "Authorization: Bearer $TOK3" "$URL$S/getBalance")
check "an accepted token counts on its own budget, not its address's garbage (200)" \
	test "$c" = 200
c=$(status --interface 127.0.0.2 -X POST -H "X-API-KEY: $KEY_A" -H "X-API-SECRET: $SECRET_A" \
	-d '{}' "$URL$S/authorize")
check "another address authorizes at once (200)" test "$c" = 200
TOK2=$(jq -r .access_token "$LIM/body")
c=$(status --interface 127.0.0.2 -H "Authorization: Bearer $TOK2" "$URL$S/getBalance")
check "another address's new token is served (200)" test "$c" = 200
for i in $(seq 12); do
	status --interface 127.0.0.3 -X POST -H "X-API-KEY: k$i" -H "X-API-SECRET: s$i" -d '{}' \
		"$URL$S/authorize" >/dev/null
done
c=$(status --interface 127.0.0.3 -X POST -H "X-API-KEY: $KEY_A" -H "X-API-SECRET: $SECRET_A" \
	-d '{}' "$URL$S/authorize")
check "12 bad authorizes: that address's 11th and later are 429" test "$c" = 429
c=$(status --interface 127.0.0.4 -X POST -H "X-API-KEY: $KEY_A" -H "X-API-SECRET: $SECRET_A" \
	-d '{}' "$URL$S/authorize")
check "while a fourth address's first authorize is 200" test "$c" = 200
check "/healthz answers after the garbage" healthy

# --- finding 8: logins per address, and in concurrency ---
codes=""
for i in $(seq 7); do
	codes+="$(status --interface 127.0.0.5 -X POST \
		-d "{\"username\": \"spray-$i\", \"password\": \"Guess-$i\"}" "$URL$W/auth/login") "
done
check "password spraying from one address: 5 tries a minute, then 429" \
	test "$codes" = "401 401 401 401 401 429 429 "
check "a login's 429 carries Retry-After" grep -qi '^retry-after: [0-9]' "$LIM/headers"
c=$(status --interface 127.0.0.5 -X POST -d '{"email": "spray@example.com", "password": "G-8"}' \
	"$URL/tribble/api/v1/auth/login")
if [ "$c" = 429 ] && jq -e '.statusCode == 429 and .errorCode == "RATE_LIMITED" and
	.retryAfter > 0 and (.resetAt | test("^[0-9-]{10}T[0-9:]{8}Z$"))' "$LIM/body" >/dev/null
then ok "... Tribble's login from that address too: 429 in the spec's shape (retryAfter, resetAt)"
else not_ok "... Tribble's login from that address too: 429 in the spec's shape" "status $c"; fi
c=$(status --interface 127.0.0.6 -X POST -d '{"username": "tenant_a", "password": "Tenant-pass1"}' \
	"$URL$W/auth/login")
check "another address logs in (200)" test "$c" = 200
WT=$(jq -r .access_token "$LIM/body")

# 6 logins at once from 6 addresses (within their own limits): one runs scrypt, the others
# are refused at once with 503 and Retry-After; a read meanwhile is answered
pids=()
for i in 2 3 4 7 8 9; do
	curl -s -o /dev/null -D "$LIM/login.$i.headers" -w '%{http_code}\n' --interface "127.0.0.$i" \
		-X POST -d '{"username": "tenant_a", "password": "Tenant-pass1"}' "$URL$W/auth/login" \
		>"$LIM/login.$i" &
	pids+=($!)
done
c=$(status -H "Authorization: Bearer $WT" "$URL$W/accounts/none/balance")
wait "${pids[@]}"
all=$(cat "$LIM"/login.[0-9] | tr '\n' ' ')
check "concurrent logins: each 200 or 503 ($all)" bash -c \
	"! cat '$LIM'/login.[0-9] | grep -qv -e '^200$' -e '^503$'"
check "concurrent logins past password_concurrency_max get 503" \
	grep -qx 503 "$LIM"/login.[0-9]
check "a login's 503 carries Retry-After" bash -c \
	"grep -li '^retry-after: 1' '$LIM'/login.*.headers | grep -q ."
check "a read during the login storm is answered (404 for no such account, not 503)" \
	test "$c" = 404
check "/healthz answers after the logins" healthy
