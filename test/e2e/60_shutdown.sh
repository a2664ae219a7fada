# shellcheck shell=bash
# test/e2e/60_shutdown.sh — SIGTERM with a request in flight and a WebSocket open: the request
# is answered, new connections are refused, the socket is closed with 1001, and the bridge
# exits 0. Last, since it stops the bridge.
W=/waas/api/v1

# an open cashier WebSocket: it must be closed with 1001 (going away)
NODE_PATH=/usr/share/nodejs timeout 30 node -e '
	const WebSocket = require("ws");
	const ws = new WebSocket(process.argv[1],
		{ headers: { Authorization: "Bearer " + process.argv[2] } });
	ws.on("message", (m) => { if (JSON.parse(m).type === "connected") console.log("connected"); });
	ws.on("close", (code) => { console.log("close " + code); process.exit(0); });
	ws.on("error", (e) => { console.log("error " + e.message); process.exit(1); });
' "${URL/http:/ws:}/cashier/svc/ws" "$CTOKEN_A" >"$E2E_DIR/ws_shutdown.out" 2>&1 &
WS_PID=$!
for _ in $(seq 50); do
	grep -q connected "$E2E_DIR/ws_shutdown.out" && break
	sleep 0.1
done
curl -s -o "$E2E_DIR/inflight.body" -w '%{http_code}' -X POST \
	-d '{"username": "tenant_a", "password": "Tenant-pass1"}' \
	"$URL$W/auth/login" >"$E2E_DIR/inflight.status" &
CURL_PID=$!
sleep 0.1 # the login (scrypt) is now running in the database
kill -TERM "$BRIDGE_PID"
sleep 0.05
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
check "no new request is served while draining" test "$STATUS" != 200
wait "$CURL_PID"
check "the in-flight request is answered 200" test "$(cat "$E2E_DIR/inflight.status")" = 200
rc=0
wait "$BRIDGE_PID" || rc=$?
BRIDGE_PID=
check "the bridge exits 0 after draining" test "$rc" = 0
wait "$WS_PID"
check "an open WebSocket is closed with 1001 on shutdown" grep -q '^close 1001' \
	"$E2E_DIR/ws_shutdown.out"
check "the bridge logged its shutdown" grep -q '"msg":"stopped"' "$E2E_DIR/bridge.log"
