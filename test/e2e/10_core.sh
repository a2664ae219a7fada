# shellcheck shell=bash
# test/e2e/10_core.sh — protocol concerns of the bridge: health, metrics, request ids, routing,
# bounds on bodies, JSON and headers, authentication failures. Sourced by test/e2e/run.
W=/waas/api/v1

req GET /healthz
expect "/healthz is 200 with the pool ready" 200 '.status == "ok"' '.pool_ready == 3'
check "every reply carries a generated X-Request-ID" \
	test "$(header x-request-id | grep -Ec '^[0-9a-f]{16}$')" = 1

STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' \
	-H 'X-Request-ID: my-trace.42' "$URL/healthz")
check "a plain client X-Request-ID is echoed" test "$(header x-request-id)" = my-trace.42
STATUS=$(curl -s -o "$E2E_DIR/body" -D "$E2E_DIR/headers" -w '%{http_code}' \
	-H 'X-Request-ID: bad id<script>' "$URL/healthz")
check "an unsafe client X-Request-ID is replaced" \
	test "$(header x-request-id | grep -Ec '^[0-9a-f]{16}$')" = 1

req GET /metrics
check "/metrics is Prometheus text" grep -q '^pgw_bridge_requests_total{code="2xx"} [1-9]' \
	"$E2E_DIR/body"
check "/metrics shows latencies, pool use and open sockets" bash -c \
	"grep -q '^pgw_bridge_request_duration_seconds_count ' '$E2E_DIR/body' &&
	 grep -q '^pgw_bridge_pool_connections{state=\"ready\"} 3' '$E2E_DIR/body' &&
	 grep -q '^pgw_bridge_open_sockets ' '$E2E_DIR/body'"

req GET /nowhere
expect "an unknown path is 404 with an error body" 404 '.error.code == "NOT_FOUND"'
req GET $W/clients
expect "a known path with the wrong method is 404" 404 '.error.code == "NOT_FOUND"'

req POST $W/auth/login '{"username": "tenant_a", "password": '
expect "malformed JSON is 400" 400 '.error.code == "INVALID_JSON"'
req POST $W/auth/login '[1, 2]'
expect "a body that is not an object is 400" 400 '.error.code == "INVALID_JSON"'
req POST $W/auth/login '{"a": 1} {"b": 2}'
expect "trailing data after the JSON is 400" 400 '.error.code == "INVALID_JSON"'
req POST $W/auth/login '{"a":[[[[[[[[[[1]]]]]]]]]]}'
expect "JSON nested deeper than json_depth_max is 400" 400 \
	'.error.message | test("deeply")'
req POST $W/auth/login "{$(seq -s, -f '"k%g": 1' 1 70)}"
expect "more JSON fields than json_fields_max is 400" 400 '.error.message | test("fields")'
req POST $W/auth/login "{\"username\": \"$(head -c 9000 /dev/zero | tr '\0' a)\"}"
expect "a body over body_bytes_max is 413" 413 '.error.code == "PAYLOAD_TOO_LARGE"'
STATUS=$(curl -s -o "$E2E_DIR/body" -w '%{http_code}' -X POST \
	-H "X-Big: $(head -c 20000 /dev/zero | tr '\0' b)" -d '{}' "$URL$W/clients")
check "headers over header_bytes_max are refused" test "$STATUS" != 200 -a "$STATUS" != 201
req GET /healthz
expect "the bridge still serves after refusals" 200

req POST $W/clients '{"client_name": "X"}'
expect "no token is 401 WL022" 401 '.error.code == "TOKEN_MALFORMED"'
req POST $W/clients '{"client_name": "X"}' 'not.a.jwt'
expect "a malformed token is 401" 401 '.error.code == "TOKEN_MALFORMED"'
FORGED='eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.c2lnbmF0dXJl'
req POST $W/clients '{"client_name": "X"}' "$FORGED"
expect "a forged token is 401" 401 \
	'.error.code | test("^TOKEN_(MALFORMED|SIGNATURE|EXPIRED|REVOKED)$")'
req POST $W/clients '{"client_name": "X"}' "$(head -c 5000 /dev/zero | tr '\0' t)"
expect "an oversize token is 401" 401 '.error.code == "TOKEN_MALFORMED"'
STATUS=$(curl -s -o "$E2E_DIR/body" -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' \
	--data-binary '{"username": "x"}' "$URL$W/auth/login")
expect "a chunked body (no Content-Length) is 411" 411 '.error.code == "LENGTH_REQUIRED"'
